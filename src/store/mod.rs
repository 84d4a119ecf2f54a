//! The data: typed values, the keyspace with expiry and change tracking, and one module of
//! operations per type. Pure: no sockets, threads, database or protocol; time comes in from
//! the caller ([`Keyspace::set_clock`]), and clients are known only by id.
//!
//! One naming rule for the files: `<type>.rs` holds a type's value and its [`DbMut`]
//! operations (the bookkeeping: fetch, create, record the change, delete what emptied); a
//! hand-written structure a value is built on has its own file named for the structure
//! ([`ostree`] under TREE and sorted sets, [`sorted_set`] under ZSET, [`stream_log`] under
//! streams); `graph/search.rs` holds
//! the GRAPH searches. Helpers shared by several types live here ([`index_range`],
//! [`scan_positions`]).

/// Implements `PartialEq`, `Eq` and `PartialOrd` from a type's own `Ord`, for keys ordered
/// otherwise than field by field, so that equality always agrees with the order.
macro_rules! order_by_cmp {
    ($($t:ty),+ $(,)?) => {$(
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }

        impl Eq for $t {}

        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
    )+};
}
pub(crate) use order_by_cmp;

pub mod access;
pub mod bitmap;
pub mod evict;
pub mod footprint;
pub mod geo;
pub mod geohash;
pub mod glob;
pub mod graph;
pub mod hash;
pub mod hyperloglog;
pub mod keyspace;
pub mod limits;
pub mod list;
pub mod long_double;
pub mod ostree;
pub mod pile;
pub mod posmap;
pub mod pubsub;
pub mod rdb;
pub mod set;
pub mod sort;
pub mod sorted_set;
pub mod stream;
pub mod stream_log;
pub mod string;
pub mod tree;
pub mod value;
pub mod zset;

pub use keyspace::{
    DataCopy, Db, DbMut, FlushedData, Key, KeyEvent, KeyEventKind, Keyspace, KeyspaceStats, Touched,
};
pub use limits::{EncodingLimits, PackLimits};
pub use value::{Value, LAZYFREE_THRESHOLD};

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

/// A copy of `bytes` with no spare capacity. `SmallVec`'s `From<&[u8]>` grows by powers of two,
/// which would leave a 9 KB value in a 16 KB allocation (a third of the memory of a data set of
/// mixed-size values, measured); new string values are built with this instead.
pub fn exact_bytes(bytes: &[u8]) -> ShortBytes {
    ShortBytes::from_slice(bytes)
}
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

/// What a negative stop reaching before the first element means to [`index_range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopBeforeFirst {
    /// The range is empty (LRANGE, LTRIM, ZRANGE, ZREMRANGEBYRANK).
    Empty,
    /// The stop clamps to the first element, unless both ends are negative and cross
    /// (GETRANGE).
    First,
}

/// Turns Redis-style `start`/`stop` indexes (inclusive, negative counting from the end) into
/// the positions they select in a sequence of `len`, clamped to it; `None` when the range is
/// empty. One rule for every command that takes an index range. O(1).
pub fn index_range(
    start: i64,
    stop: i64,
    len: usize,
    before_first: StopBeforeFirst,
) -> Option<std::ops::Range<usize>> {
    let len = i64::try_from(len).ok()?;
    let clamp_stop = before_first == StopBeforeFirst::First;
    if clamp_stop && start < 0 && stop < 0 && start > stop {
        return None;
    }
    // `len + index` cannot overflow: `len` is non-negative and `index` negative.
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { len + stop } else { stop };
    let stop = if clamp_stop { stop.max(0) } else { stop };
    if start > stop || start >= len {
        return None;
    }
    // Both are within 0..len here.
    Some(start as usize..stop.min(len - 1) as usize + 1)
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Largest string value (Redis's default `proto-max-bulk-len`, 512 MB).
pub const MAX_STRING_LEN: usize = 512 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(start: i64, stop: i64, len: usize) -> Option<std::ops::Range<usize>> {
        index_range(start, stop, len, StopBeforeFirst::Empty)
    }

    fn substring(start: i64, stop: i64, len: usize) -> Option<std::ops::Range<usize>> {
        index_range(start, stop, len, StopBeforeFirst::First)
    }

    #[test]
    fn element_ranges_normalize_like_lrange_and_zrange() {
        assert_eq!(elements(0, -1, 5), Some(0..5));
        assert_eq!(elements(-2, -1, 5), Some(3..5));
        assert_eq!(elements(-100, 100, 5), Some(0..5));
        assert_eq!(elements(3, 1, 5), None);
        assert_eq!(elements(5, 10, 5), None);
        assert_eq!(elements(0, -6, 5), None);
        assert_eq!(elements(0, 0, 0), None);
        assert_eq!(elements(i64::MIN, i64::MAX, 3), Some(0..3));
    }

    #[test]
    fn substring_ranges_clamp_a_stop_before_the_first_byte() {
        assert_eq!(substring(0, -100, 5), Some(0..1));
        assert_eq!(substring(-100, -100, 5), Some(0..1));
        assert_eq!(substring(-3, -5, 5), None);
        assert_eq!(substring(-100, -200, 5), None);
        assert_eq!(substring(2, 100, 5), Some(2..5));
        assert_eq!(substring(5, 10, 5), None);
        assert_eq!(substring(0, -1, 0), None);
        assert_eq!(substring(i64::MIN, i64::MAX, 3), Some(0..3));
    }
}
