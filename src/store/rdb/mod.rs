//! Redis's serialization format (RDB version 10, as Redis 7.0 writes it): the value encoding
//! behind `DUMP`/`RESTORE` and the RDB files `--import-rdb` loads.
//!
//! - [`write`]: values to bytes, as redis-server 7.0 writes them (listpacks, intsets,
//!   quicklists, stream nodes, LZF for long strings), so a DUMP of a small value is the same
//!   bytes Redis produces; TREE, GRAPH, QUEUE and STACK get type ids of their own
//!   ([`TYPE_TREE`]..), which Redis refuses cleanly ("Bad data format");
//! - [`read`]: bytes to values, for every type and encoding Redis 7.0 reads, the older
//!   ziplist, zipmap and quicklist ones included;
//! - [`file`]: whole RDB files (databases, expiries, aux fields), from any `Read`.
//!
//! The input is untrusted: every length is checked against the bytes that remain before
//! anything is allocated, counts never size an allocation unchecked, and duplicate members or
//! fields are errors, never panics.

pub mod file;
pub mod lzf;
pub mod read;
pub mod write;

use crc::{Crc, Table, CRC_64_REDIS};

/// The RDB version Redis 7.0 writes (and the newest a DUMP payload may carry).
pub const RDB_VERSION: u16 = 10;

/// The opcode of a function library (its code follows as a string), in RDB files and
/// FUNCTION DUMP payloads.
pub const OP_FUNCTION2: u8 = 0xF5;
/// The function opcode of Redis 7.0's release candidates, a format no longer read.
pub const OP_FUNCTION: u8 = 0xF6;

/// Object types, as `rdb.h` numbers them.
pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_MODULE: u8 = 6;
pub const TYPE_MODULE_2: u8 = 7;
pub const TYPE_HASH_ZIPMAP: u8 = 9;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Redis 7.2's (RDB 11): read from files only.
pub const TYPE_SET_LISTPACK: u8 = 20;
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// Reddish's own types. Far from Redis's numbers (which grow from 21) and below the file
/// opcodes (0xF5 and up); Redis answers "Bad data format" to any of them.
pub const TYPE_TREE: u8 = 0xE0;
pub const TYPE_GRAPH: u8 = 0xE1;
pub const TYPE_QUEUE: u8 = 0xE2;
pub const TYPE_STACK: u8 = 0xE3;

/// The CRC-64 Redis checks DUMP payloads and RDB files with (Jones polynomial, reflected).
/// Sliced by 16 (a 32 KB table): RDB files and snapshots are checksummed whole, and the
/// byte-at-a-time table took most of the time of building a snapshot.
pub static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// Why bytes could not be read as RDB data, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte offset {offset}")]
pub struct RdbError {
    /// Offset of the byte being read when the problem was found.
    pub offset: u64,
    pub what: String,
}

pub type RdbResult<T> = Result<T, RdbError>;

/// A DUMP payload of `value`: its RDB encoding, the RDB version and the CRC-64 of both, as
/// Redis's `createDumpPayload`. O(size of the value).
pub fn dump_payload(value: &super::Value, limits: super::stream_log::NodeLimits) -> Vec<u8> {
    let mut out = Vec::new();
    write::value(&mut out, value, limits);
    seal_payload(&mut out);
    out
}

/// Ends a payload (DUMP's, FUNCTION DUMP's): appends the RDB version and the CRC-64 of
/// everything before it. O(len).
pub fn seal_payload(out: &mut Vec<u8>) {
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Checks a payload's footer as Redis's `verifyDumpPayload`: at least the 10 footer bytes, an
/// RDB version not newer than ours, and a CRC-64 that matches (unlike RDB files, payloads
/// have no "no checksum" value). O(payload).
pub fn verify_payload(payload: &[u8]) -> Result<(), PayloadError> {
    if payload.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let footer = &payload[payload.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut crc_bytes = [0u8; 8];
    crc_bytes.copy_from_slice(&footer[2..]);
    let stated = u64::from_le_bytes(crc_bytes);
    if stated != CRC64.checksum(&payload[..payload.len() - 8]) {
        return Err(PayloadError::VersionOrChecksum);
    }
    Ok(())
}

/// Why a RESTORE payload was refused; each maps to one of Redis's replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// Too short, a newer RDB version, or a checksum that does not match.
    VersionOrChecksum,
    /// The value itself cannot be read.
    BadFormat(RdbError),
}

/// Reads a DUMP payload: checks its footer ([`verify_payload`]), then decodes the value.
/// O(payload).
pub fn parse_payload(
    payload: &[u8],
    limits: &super::EncodingLimits,
) -> Result<super::Value, PayloadError> {
    verify_payload(payload)?;
    // As Redis, the value is read from the whole payload: a length that runs into the footer
    // is read as it would be there, and bytes left over are not an error.
    let mut reader = read::Reader::new(payload, payload.len() as u64);
    let ty = reader.u8().map_err(PayloadError::BadFormat)?;
    reader.value(ty, limits).map_err(PayloadError::BadFormat)
}
