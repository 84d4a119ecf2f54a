//! What start-up reads back from MongoDB, on arbitrary bytes: a key document followed by its
//! chunk and operation-log documents (BSON, back to back), decoded into a value as the loader
//! does, then the logged commands replayed on it through the journal's replay. Errors are
//! expected; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reddish::commands::{journal, Server};
use reddish::config::Config;
use reddish::persistence::document::decode_stored;
use reddish::store::{EncodingLimits, Keyspace};

fuzz_target!(|data: &[u8]| {
    let Ok((value, ops)) = decode_stored(data, &EncodingLimits::default()) else {
        return;
    };
    let mut ks = Keyspace::new(1);
    ks.set_clock(1_000_000);
    let mut server = Server::new(Config::default(), 1_000_000);
    ks.db(0).insert(b"key", value, None);
    for argv in &ops {
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        if !args.is_empty() {
            let _ = journal::replay(&mut ks, &mut server, 0, &args);
        }
    }
});
