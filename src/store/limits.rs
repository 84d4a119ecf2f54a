//! The thresholds at which a value leaves its compact encoding, as Redis's
//! `hash-max-listpack-*`, `zset-max-listpack-*` and `set-max-intset-entries` set them.
//!
//! The keyspace holds one [`EncodingLimits`]; the commands layer replaces it when the
//! configuration changes, and each write reads the numbers it needs (a field load), so the
//! store never sees the configuration itself.

/// Limits of one listpack-encoded type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLimits {
    /// Most entries (pairs of a hash, members of a sorted set) the compact encoding holds.
    pub max_entries: usize,
    /// Longest field, value or member, in bytes, the compact encoding holds.
    pub max_value: usize,
}

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`: a listpack never grows past 1 GB, whatever the limits
/// say; an insertion that would make it larger converts the value first.
pub const LISTPACK_MAX_BYTES: usize = 1 << 30;

/// Redis caps `set-max-intset-entries` at 2^30 members ("intset internals").
const INTSET_MAX_ENTRIES: usize = 1 << 30;

/// Every encoding threshold the store applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingLimits {
    pub hash: PackLimits,
    pub zset: PackLimits,
    set_max_intset_entries: usize,
}

impl EncodingLimits {
    /// Redis 7.0's defaults: hashes 512 pairs of 64 bytes, sorted sets 128 members of 64
    /// bytes, intsets 512 members.
    pub const DEFAULT: EncodingLimits = EncodingLimits {
        hash: PackLimits {
            max_entries: 512,
            max_value: 64,
        },
        zset: PackLimits {
            max_entries: 128,
            max_value: 64,
        },
        set_max_intset_entries: 512,
    };

    /// Limits from the configured numbers (values beyond what the structures allow are
    /// capped as Redis caps them).
    pub fn new(hash: PackLimits, zset: PackLimits, set_max_intset_entries: usize) -> Self {
        EncodingLimits {
            hash,
            zset,
            set_max_intset_entries: set_max_intset_entries.min(INTSET_MAX_ENTRIES),
        }
    }

    /// Most members an intset holds.
    #[inline]
    pub fn set_max_intset_entries(&self) -> usize {
        self.set_max_intset_entries
    }
}

impl Default for EncodingLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
