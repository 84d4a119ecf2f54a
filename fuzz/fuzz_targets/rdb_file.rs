//! The RDB file reader on arbitrary bytes: it must end in a value or an error, never a panic
//! or an allocation sized by an unchecked length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reddish::store::rdb::file::read_file;
use reddish::store::EncodingLimits;

fuzz_target!(|data: &[u8]| {
    let mut keys = 0usize;
    let _ = read_file(
        data,
        data.len() as u64,
        16,
        &EncodingLimits::default(),
        |_, _| {
            keys += 1;
            Ok(())
        },
        |_| {},
    );
});
