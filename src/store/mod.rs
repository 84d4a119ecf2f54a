//! The data: typed values, the keyspace with expiry and change tracking, and one module of
//! operations per type. Pure: no sockets, threads, database or protocol; time comes in from
//! the caller ([`Keyspace::set_clock`]), and clients are known only by id.

pub mod bitmap;
pub mod footprint;
pub mod glob;
pub mod graph;
pub mod hash;
pub mod keyspace;
pub mod list;
pub mod long_double;
pub mod ostree;
pub mod pile;
pub mod pubsub;
pub mod set;
pub mod sort;
pub mod string;
pub mod tree;
pub mod value;
pub mod zset;
pub mod zset_ops;

pub use keyspace::{Db, DbMut, Key, KeyEvent, KeyEventKind, Keyspace, KeyspaceStats};
pub use value::Value;

/// The project's hasher: fast and randomly seeded per process (docs/performance.md: it took
/// 27% off the instructions per request that SipHash needed).
pub type Hasher = foldhash::fast::RandomState;
/// Hash map with the project's hasher.
pub type FastMap<K, V> = hashbrown::HashMap<K, V, Hasher>;
/// Hash set with the project's hasher.
pub type FastSet<K> = hashbrown::HashSet<K, Hasher>;
/// Growable binary-safe bytes kept inline up to 16 bytes (the common short key or value needs
/// no allocation of its own: 24 bytes in all), on the heap beyond. String values grow in place
/// (APPEND, SETRANGE), which is why this is not `set::SmallBytes` (22 bytes inline, but
/// immutable once built: right for set members and hash fields).
pub type ShortBytes = smallvec::SmallVec<[u8; 16]>;
/// Insertion-indexed hash map: O(1) random access by position, for SCAN cursors and sampling.
pub type IndexedMap<K, V> = indexmap::IndexMap<K, V, Hasher>;

/// Why a store operation failed. `commands` maps each to Redis's exact error reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("value is not an integer or out of range")]
    NotInteger,
    #[error("value is not a valid float")]
    NotFloat,
    #[error("increment or decrement would overflow")]
    Overflow,
    #[error("increment would produce NaN or Infinity")]
    NanOrInfinity,
    #[error("no such key")]
    NoSuchKey,
    #[error("index out of range")]
    IndexOutOfRange,
    #[error("string exceeds maximum allowed size")]
    StringTooLong,
    #[error("source and destination objects are the same")]
    SameObject,
    #[error("{0}")]
    Invalid(String),
}

/// One step of a SCAN-family walk over positions `0..len` of an insertion-indexed table:
/// visits up to `count` positions below `cursor` (0 = start), downwards, and returns the next
/// cursor (0 = done). Walking downwards keeps SCAN's guarantee when removals move the last
/// entry into a hole; a cursor beyond any position handed out (garbage) ends the walk, as Redis
/// does for a cursor past its table. O(count).
pub fn scan_positions(len: usize, cursor: u64, count: usize, mut visit: impl FnMut(usize)) -> u64 {
    if cursor >= 1 << 62 {
        return 0;
    }
    let len = len as u64;
    let mut pos = if cursor == 0 || cursor > len {
        len
    } else {
        cursor
    };
    let mut steps = 0;
    while pos > 0 && steps < count.max(1) {
        pos -= 1;
        steps += 1;
        visit(pos as usize);
    }
    pos
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Largest string value (Redis's default `proto-max-bulk-len`, 512 MB).
pub const MAX_STRING_LEN: usize = 512 * 1024 * 1024;
