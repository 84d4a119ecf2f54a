//! The RDB file reader on arbitrary bytes: it must end in a value or an error, never a panic
//! or an allocation sized by an unchecked length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reddish::store::rdb::file::read_file;
use reddish::store::EncodingLimits;

fuzz_target!(|input: &[u8]| {
    // Most inputs get a valid header, so that the fuzzer spends its time past it.
    let data: Vec<u8> = if input.first() == Some(&b'R') {
        input.to_vec()
    } else {
        [b"REDIS0010".as_slice(), input].concat()
    };
    let data = &data[..];
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
