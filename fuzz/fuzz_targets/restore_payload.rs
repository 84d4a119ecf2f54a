//! RESTORE's payload decoding on arbitrary bytes: the input is the payload's body, framed
//! with a valid version and CRC-64 so that the value reader itself is exercised. Whatever it
//! accepts must dump and read back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reddish::store::rdb::{dump_payload, parse_payload, CRC64, RDB_VERSION};
use reddish::store::stream_log::NodeLimits;
use reddish::store::EncodingLimits;

fuzz_target!(|body: &[u8]| {
    let mut payload = body.to_vec();
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    let limits = EncodingLimits::default();
    if let Ok(value) = parse_payload(&payload, &limits) {
        let again = dump_payload(&value, NodeLimits::default());
        let reread = parse_payload(&again, &limits).expect("a dumped value reads back");
        assert_eq!(reread, value);
    }
});
