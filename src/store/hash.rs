//! Hash values: the structure and the operations behind the hash commands.
//!
//! Two encodings, chosen by the same rules as Redis 7.0 so OBJECT ENCODING agrees with it:
//!
//! - `listpack`: a hash of at most `hash-max-listpack-entries` pairs whose fields and values
//!   are all at most `hash-max-listpack-value` bytes ([`PackLimits`], 512 and 64 by default)
//!   is one byte buffer of length-prefixed fields and values in insertion order, scanned
//!   linearly (O(n)), like Redis's listpack. A replaced value keeps its place, so
//!   HGETALL/HSCAN orders match Redis's for these hashes.
//! - `hashtable`: anything else is an [`IndexedTable`] of [`PairSlot`]s, one slot per pair
//!   (both strings inline when they fit in 37 bytes together): O(1) lookups, random picks and
//!   position-based SCAN cursors.
//!
//! As in Redis, a hash never converts back to `listpack`.

use super::keyspace::DbMut;
use super::limits::{PackLimits, LISTPACK_MAX_BYTES};
use super::long_double::LongDouble;
use super::set::{IndexedTable, TableEntry};
use super::value::Value;
use super::{StoreError, StoreResult};
use crate::number::parse_i64;
use rand::Rng;
use std::fmt;

// ---------------------------------------------------------------------------------------------
// PackedPairs
// ---------------------------------------------------------------------------------------------

/// Pairs in one exact-size buffer: a 4-byte pair count, then per pair `[field len][field]
/// [value len][value]`, each length a LEB128 varint (one byte up to 127). The buffer stays
/// under [`LISTPACK_MAX_BYTES`], so the count fits. An empty hash has no allocation.
#[derive(Clone, Default, PartialEq, Eq)]
struct PackedPairs {
    buf: Box<[u8]>,
}

/// Where a pair sits in a [`PackedPairs`] buffer.
struct PairLoc {
    start: usize,
    /// Where the value's length starts.
    value_len_at: usize,
    end: usize,
}

/// Pairs of a [`PackedPairs`] with their locations, in order.
struct PackedIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Reads the varint at `buf[*pos..]` and moves `*pos` past it; `None` if it runs off the end.
fn read_varint(buf: &[u8], pos: &mut usize) -> Option<usize> {
    let mut value = 0usize;
    let mut shift = 0;
    loop {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= ((byte & 0x7f) as usize).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

fn push_varint(buf: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        buf.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// Bytes the varint of `value` takes.
fn varint_len(value: usize) -> usize {
    (usize::BITS - value.leading_zeros()).div_ceil(7).max(1) as usize
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (&'a [u8], &'a [u8], PairLoc);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let mut pos = start;
        let field_len = read_varint(self.buf, &mut pos)?;
        let field = self.buf.get(pos..pos.checked_add(field_len)?)?;
        let value_len_at = pos + field_len;
        pos = value_len_at;
        let value_len = read_varint(self.buf, &mut pos)?;
        let value = self.buf.get(pos..pos.checked_add(value_len)?)?;
        self.pos = pos + value_len;
        let loc = PairLoc {
            start,
            value_len_at,
            end: self.pos,
        };
        Some((field, value, loc))
    }
}

/// Bytes of the pair count at the start of a [`PackedPairs`] buffer.
const COUNT_BYTES: usize = 4;

/// Stores `count` in a buffer's count bytes (it fits: the buffer is under 1 GB).
fn write_count(buf: &mut [u8], count: usize) {
    if let Some(bytes) = buf.get_mut(..COUNT_BYTES) {
        bytes.copy_from_slice(&(count as u32).to_le_bytes());
    }
}

impl PackedPairs {
    /// O(1).
    fn len(&self) -> usize {
        match *self.buf {
            [a, b, c, d, ..] => u32::from_le_bytes([a, b, c, d]) as usize,
            _ => 0,
        }
    }

    /// Bytes the buffer takes.
    fn bytes(&self) -> usize {
        self.buf.len()
    }

    fn iter(&self) -> PackedIter<'_> {
        PackedIter {
            buf: &self.buf,
            pos: COUNT_BYTES,
        }
    }

    fn find(&self, field: &[u8]) -> Option<(&[u8], PairLoc)> {
        self.iter()
            .find(|(f, _, _)| *f == field)
            .map(|(_, value, loc)| (value, loc))
    }

    /// Sets `field` (new pairs go last; a replaced value keeps its place). True if the field
    /// is new. O(n).
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        // (where the value's length sits, where the pair ends) when the field exists
        let found = self.find(field).map(|(_, loc)| (loc.value_len_at, loc.end));
        let old: &[u8] = if self.buf.is_empty() {
            &[0; COUNT_BYTES]
        } else {
            &self.buf
        };
        let mut buf = Vec::with_capacity(
            old.len()
                + varint_len(field.len())
                + field.len()
                + varint_len(value.len())
                + value.len(),
        );
        let new = match found {
            Some((value_len_at, end)) => {
                buf.extend_from_slice(old.get(..value_len_at).unwrap_or_default());
                push_varint(&mut buf, value.len());
                buf.extend_from_slice(value);
                buf.extend_from_slice(old.get(end..).unwrap_or_default());
                false
            }
            None => {
                buf.extend_from_slice(old);
                push_varint(&mut buf, field.len());
                buf.extend_from_slice(field);
                push_varint(&mut buf, value.len());
                buf.extend_from_slice(value);
                write_count(&mut buf, self.len() + 1);
                true
            }
        };
        self.buf = buf.into_boxed_slice();
        new
    }

    /// Removes `field`; false if absent. O(n).
    fn remove(&mut self, field: &[u8]) -> bool {
        let Some((_, loc)) = self.find(field) else {
            return false;
        };
        let count = self.len() - 1;
        if count == 0 {
            self.buf = Box::default();
            return true;
        }
        let mut buf = Vec::with_capacity(self.buf.len() - (loc.end - loc.start));
        buf.extend_from_slice(self.buf.get(..loc.start).unwrap_or_default());
        write_count(&mut buf, count);
        buf.extend_from_slice(self.buf.get(loc.end..).unwrap_or_default());
        self.buf = buf.into_boxed_slice();
        true
    }
}

// ---------------------------------------------------------------------------------------------
// PairSlot
// ---------------------------------------------------------------------------------------------

/// Field and value bytes a [`PairSlot`] holds without an allocation.
const PAIR_INLINE: usize = 37;

/// One field/value pair of a table in 40 bytes: both strings inline when they fit in 37
/// bytes together, otherwise one allocation holding the field then the value.
#[derive(Clone)]
pub struct PairSlot(PairRepr);

#[derive(Clone)]
enum PairRepr {
    Inline {
        field_len: u8,
        value_len: u8,
        bytes: [u8; PAIR_INLINE],
    },
    Heap {
        field_len: usize,
        bytes: Box<[u8]>,
    },
}

impl PairSlot {
    /// O(field + value).
    pub fn new(field: &[u8], value: &[u8]) -> Self {
        let total = field.len() + value.len();
        if total <= PAIR_INLINE {
            let mut bytes = [0u8; PAIR_INLINE];
            bytes[..field.len()].copy_from_slice(field);
            bytes[field.len()..total].copy_from_slice(value);
            PairSlot(PairRepr::Inline {
                field_len: field.len() as u8,
                value_len: value.len() as u8,
                bytes,
            })
        } else {
            let mut bytes = Vec::with_capacity(total);
            bytes.extend_from_slice(field);
            bytes.extend_from_slice(value);
            PairSlot(PairRepr::Heap {
                field_len: field.len(),
                bytes: bytes.into_boxed_slice(),
            })
        }
    }

    pub fn field(&self) -> &[u8] {
        match &self.0 {
            PairRepr::Inline {
                field_len, bytes, ..
            } => bytes.get(..*field_len as usize).unwrap_or_default(),
            PairRepr::Heap { field_len, bytes } => bytes.get(..*field_len).unwrap_or_default(),
        }
    }

    pub fn value(&self) -> &[u8] {
        match &self.0 {
            PairRepr::Inline {
                field_len,
                value_len,
                bytes,
            } => {
                let start = *field_len as usize;
                bytes
                    .get(start..start + *value_len as usize)
                    .unwrap_or_default()
            }
            PairRepr::Heap { field_len, bytes } => bytes.get(*field_len..).unwrap_or_default(),
        }
    }
}

impl TableEntry for PairSlot {
    fn key(&self) -> &[u8] {
        self.field()
    }
}

impl fmt::Debug for PairSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}: {:?}",
            String::from_utf8_lossy(self.field()),
            String::from_utf8_lossy(self.value())
        )
    }
}

// ---------------------------------------------------------------------------------------------
// HashValue
// ---------------------------------------------------------------------------------------------

/// A hash value (see the module documentation for its two encodings).
#[derive(Clone, Default)]
pub struct HashValue {
    repr: HashRepr,
}

#[derive(Clone)]
enum HashRepr {
    Packed(PackedPairs),
    Table(Box<IndexedTable<PairSlot>>),
}

impl Default for HashRepr {
    fn default() -> Self {
        HashRepr::Packed(PackedPairs::default())
    }
}

/// Iterator over a hash's (field, value) pairs, in its order.
pub struct HashIter<'a>(HashIterRepr<'a>);

enum HashIterRepr<'a> {
    Packed(PackedIter<'a>),
    Table(std::slice::Iter<'a, PairSlot>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            HashIterRepr::Packed(iter) => iter.next().map(|(f, v, _)| (f, v)),
            HashIterRepr::Table(iter) => iter.next().map(|slot| (slot.field(), slot.value())),
        }
    }
}

/// Whether a pair may join the `listpack` `packed`, as Redis's `hashTypeSet` and
/// `lpSafeToAdd` decide.
fn fits_packed(packed: &PackedPairs, field: &[u8], value: &[u8], limits: PackLimits) -> bool {
    field.len() <= limits.max_value
        && value.len() <= limits.max_value
        && packed.bytes() + field.len() + value.len() <= LISTPACK_MAX_BYTES
}

impl HashValue {
    /// A hash of `pairs` (a repeated field keeps its last value), encoded as Redis would
    /// build it by HSET.
    pub fn from_pairs<'p>(
        pairs: impl IntoIterator<Item = (&'p [u8], &'p [u8])>,
        limits: PackLimits,
    ) -> StoreResult<Self> {
        let mut hash = HashValue::default();
        for (field, value) in pairs {
            hash.set(field, value, limits)?;
        }
        Ok(hash)
    }

    /// Number of pairs. O(1).
    pub fn len(&self) -> usize {
        match &self.repr {
            HashRepr::Packed(packed) => packed.len(),
            HashRepr::Table(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports, as Redis 7.0 would for the same history.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            HashRepr::Packed(_) => "listpack",
            HashRepr::Table(_) => "hashtable",
        }
    }

    /// The value of `field`. O(n) for a listpack, O(1) for a table.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            HashRepr::Packed(packed) => packed.find(field).map(|(value, _)| value),
            HashRepr::Table(table) => table.get(field).map(PairSlot::value),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Every pair, in the hash's order.
    pub fn iter(&self) -> HashIter<'_> {
        match &self.repr {
            HashRepr::Packed(packed) => HashIter(HashIterRepr::Packed(packed.iter())),
            HashRepr::Table(table) => HashIter(HashIterRepr::Table(table.entries().iter())),
        }
    }

    /// Every pair, indexable: borrowed from a table, collected from a listpack. O(1) for a
    /// table, O(n) for a listpack.
    pub fn pairs(&self) -> PairList<'_> {
        match &self.repr {
            HashRepr::Packed(packed) => {
                PairList::Collected(packed.iter().map(|(f, v, _)| (f, v)).collect())
            }
            HashRepr::Table(table) => PairList::Table(table.entries()),
        }
    }

    /// Sets `field` to `value`; true if the field is new. A listpack converts to a table
    /// first when the pair is too long for `limits`, and after growing past its entries
    /// limit. O(n) for a listpack, amortized O(1) for a table.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: PackLimits) -> StoreResult<bool> {
        if let HashRepr::Packed(packed) = &mut self.repr {
            if fits_packed(packed, field, value, limits) {
                let new = packed.set(field, value);
                if packed.len() > limits.max_entries {
                    self.convert_to_table()?;
                }
                return Ok(new);
            }
            self.convert_to_table()?;
        }
        match &mut self.repr {
            HashRepr::Table(table) => match table.get_mut(field) {
                Some(slot) => {
                    *slot = PairSlot::new(field, value);
                    Ok(false)
                }
                None => {
                    table.push_new(PairSlot::new(field, value))?;
                    Ok(true)
                }
            },
            HashRepr::Packed(_) => Ok(false),
        }
    }

    /// Removes `field`; false if absent. O(n) for a listpack, O(1) for a table.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            HashRepr::Packed(packed) => packed.remove(field),
            HashRepr::Table(table) => table.remove(field).is_some(),
        }
    }

    /// Adds `delta` to the integer in `field` (0 when absent). O(1) plus the set.
    pub fn incr_by(&mut self, field: &[u8], delta: i64, limits: PackLimits) -> StoreResult<i64> {
        let current = match self.get(field) {
            Some(text) => parse_i64(text)
                .ok_or_else(|| StoreError::Invalid("hash value is not an integer".into()))?,
            None => 0,
        };
        let next = current.checked_add(delta).ok_or(StoreError::Overflow)?;
        self.set(field, itoa::Buffer::new().format(next).as_bytes(), limits)?;
        Ok(next)
    }

    /// Adds `delta` to the number in `field` (0 when absent) in `long double` precision, as
    /// Redis, and stores it in INCRBYFLOAT's text form, which is returned. O(1) plus the set.
    pub fn incr_by_float(
        &mut self,
        field: &[u8],
        delta: &LongDouble,
        limits: PackLimits,
    ) -> StoreResult<String> {
        let current = match self.get(field) {
            Some(text) => LongDouble::parse(text)
                .ok_or_else(|| StoreError::Invalid("hash value is not a float".into()))?,
            None => LongDouble::parse(b"0").ok_or(StoreError::NotFloat)?,
        };
        let next = current.add(delta);
        if !next.is_finite() {
            return Err(StoreError::NanOrInfinity);
        }
        let text = next.to_human_string();
        self.set(field, text.as_bytes(), limits)?;
        Ok(text)
    }

    /// One HSCAN step: a listpack is returned whole with cursor 0 (as Redis does for its
    /// compact encodings); a table visits up to `count` positions below `cursor` (0 = start)
    /// and returns the next cursor, 0 when done. O(count).
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        match &self.repr {
            HashRepr::Packed(packed) => {
                packed.iter().for_each(|(f, v, _)| visit(f, v));
                0
            }
            HashRepr::Table(table) => super::scan_positions(table.len(), cursor, count, |pos| {
                if let Some(slot) = table.at(pos) {
                    visit(slot.field(), slot.value());
                }
            }),
        }
    }

    /// HSET's first step (Redis's `hashTypeTryConversion`): a listpack converts before any
    /// pair is set when one of the command's fields or values is too long for it, or all of
    /// them together would overflow it. O(pairs).
    fn convert_if_too_long(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        limits: PackLimits,
    ) -> StoreResult<()> {
        let HashRepr::Packed(packed) = &self.repr else {
            return Ok(());
        };
        let mut total = 0usize;
        for (field, value) in pairs {
            if field.len() > limits.max_value || value.len() > limits.max_value {
                return self.convert_to_table();
            }
            total = total.saturating_add(field.len() + value.len());
        }
        if packed.bytes().saturating_add(total) > LISTPACK_MAX_BYTES {
            return self.convert_to_table();
        }
        Ok(())
    }

    fn convert_to_table(&mut self) -> StoreResult<()> {
        if let HashRepr::Packed(packed) = &self.repr {
            let mut table = IndexedTable::with_capacity(packed.len() + 1);
            for (field, value, _) in packed.iter() {
                table.push_new(PairSlot::new(field, value))?;
            }
            self.repr = HashRepr::Table(Box::new(table));
        }
        Ok(())
    }
}

/// A hash's pairs as an indexable list (see [`HashValue::pairs`]).
pub enum PairList<'a> {
    Collected(Vec<(&'a [u8], &'a [u8])>),
    Table(&'a [PairSlot]),
}

impl<'a> PairList<'a> {
    pub fn len(&self) -> usize {
        match self {
            PairList::Collected(pairs) => pairs.len(),
            PairList::Table(slots) => slots.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pair at `pos`. O(1).
    pub fn get(&self, pos: usize) -> Option<(&'a [u8], &'a [u8])> {
        match self {
            PairList::Collected(pairs) => pairs.get(pos).copied(),
            PairList::Table(slots) => slots.get(pos).map(|s| (s.field(), s.value())),
        }
    }

    /// A uniformly random pair. O(1).
    pub fn random(&self, rng: &mut impl Rng) -> Option<(&'a [u8], &'a [u8])> {
        match self.len() {
            0 => None,
            len => self.get(rng.gen_range(0..len)),
        }
    }
}

impl PartialEq for HashValue {
    /// Same pairs, whatever the encodings and orders.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl fmt::Debug for HashValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Keyspace operations
// ---------------------------------------------------------------------------------------------

impl DbMut<'_> {
    /// The hash at `key`, for reading (counts a keyspace hit or miss). O(1).
    pub fn hash_value(&mut self, key: &[u8]) -> StoreResult<Option<&HashValue>> {
        self.read_typed(key, Value::as_hash)
    }

    /// Runs `change` on the hash at `key`, creating it when missing. `change` returns its
    /// result and whether it changed the hash; a change is recorded (and an emptied hash
    /// deleted), and a hash created for a change that failed is removed again.
    fn change_hash<R>(
        &mut self,
        key: &[u8],
        change: impl FnOnce(&mut HashValue) -> StoreResult<(R, bool)>,
    ) -> StoreResult<R> {
        let hash = self.write_typed_or_create(key, Value::as_hash_mut, Value::new_hash)?;
        match change(hash) {
            Ok((result, changed)) => {
                if changed {
                    self.after_write(key);
                } else {
                    self.remove_if_empty(key);
                }
                Ok(result)
            }
            Err(e) => {
                self.remove_if_empty(key);
                Err(e)
            }
        }
    }

    /// HSET/HMSET: sets each pair, creating the hash. Returns how many fields were new.
    /// O(pairs) for a table, O(pairs * n) for a listpack.
    pub fn hset(&mut self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> StoreResult<usize> {
        let limits = self.limits.hash;
        self.change_hash(key, |hash| {
            hash.convert_if_too_long(pairs, limits)?;
            let mut added = 0;
            for (field, value) in pairs {
                added += hash.set(field, value, limits)? as usize;
            }
            Ok((added, !pairs.is_empty()))
        })
    }

    /// HSETNX: sets `field` only if absent; true if it did. O(1) for a table.
    pub fn hsetnx(&mut self, key: &[u8], field: &[u8], value: &[u8]) -> StoreResult<bool> {
        let limits = self.limits.hash;
        self.change_hash(key, |hash| {
            if hash.contains(field) {
                return Ok((false, false));
            }
            hash.set(field, value, limits)?;
            Ok((true, true))
        })
    }

    /// HDEL: removes `fields`, deleting the hash once empty. Returns how many were there.
    pub fn hdel(&mut self, key: &[u8], fields: &[&[u8]]) -> StoreResult<usize> {
        self.remove_each(key, Value::as_hash_mut, fields, HashValue::remove)
    }

    /// HINCRBY. O(1) for a table.
    pub fn hincrby(&mut self, key: &[u8], field: &[u8], delta: i64) -> StoreResult<i64> {
        let limits = self.limits.hash;
        self.change_hash(key, |hash| Ok((hash.incr_by(field, delta, limits)?, true)))
    }

    /// HINCRBYFLOAT: returns the stored text. O(1) for a table.
    pub fn hincrbyfloat(
        &mut self,
        key: &[u8],
        field: &[u8],
        delta: &LongDouble,
    ) -> StoreResult<String> {
        let limits = self.limits.hash;
        self.change_hash(key, |hash| {
            Ok((hash.incr_by_float(field, delta, limits)?, true))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EncodingLimits;

    const L: PackLimits = EncodingLimits::DEFAULT.hash;

    #[test]
    fn configured_limits_decide_the_encoding() {
        let roomy = PackLimits {
            max_entries: 1_000_000,
            max_value: 1_000_000,
        };
        let mut hash = HashValue::default();
        let big = vec![b'x'; 70_000];
        hash.set(b"big", &big, roomy).unwrap();
        hash.set(&big, b"v", roomy).unwrap();
        hash.set(b"small", b"1", roomy).unwrap();
        assert_eq!(hash.encoding(), "listpack");
        assert_eq!(hash.get(b"big"), Some(&big[..]));
        assert_eq!(hash.get(&big), Some(&b"v"[..]));
        hash.set(b"big", b"short now", roomy).unwrap();
        assert_eq!(hash.len(), 3);
        assert_eq!(hash.get(b"big"), Some(&b"short now"[..]));
        assert!(hash.remove(&big));
        assert_eq!(hash.iter().count(), 2);

        let none = PackLimits {
            max_entries: 0,
            max_value: 64,
        };
        let mut hash = HashValue::default();
        hash.set(b"a", b"1", none).unwrap();
        assert_eq!(
            hash.encoding(),
            "hashtable",
            "the first pair is past 0 entries"
        );

        let tight = PackLimits {
            max_entries: 512,
            max_value: 8,
        };
        let mut hash = HashValue::default();
        assert_eq!(
            hash.incr_by_float(b"f", &ld("0.000005"), tight).as_deref(),
            Ok("0.000005")
        );
        assert_eq!(hash.encoding(), "listpack");
        hash.incr_by_float(b"f", &ld("0.0000005"), tight).unwrap();
        assert_eq!(hash.encoding(), "hashtable", "a value of 9 bytes");
    }

    #[test]
    fn hset_converts_before_setting_when_any_argument_is_too_long() {
        let mut ks = crate::store::Keyspace::new(1);
        ks.set_encoding_limits(EncodingLimits::new(
            PackLimits {
                max_entries: 512,
                max_value: 4,
            },
            EncodingLimits::DEFAULT.zset,
            512,
        ));
        let mut db = ks.db(0);
        db.hset(b"h", &[(b"a", b"1"), (b"b", b"longer")]).unwrap();
        let hash = db.hash_value(b"h").unwrap().unwrap();
        assert_eq!(hash.encoding(), "hashtable");
        db.hset(b"k", &[(b"a", b"1"), (b"b", b"2")]).unwrap();
        assert_eq!(db.hash_value(b"k").unwrap().unwrap().encoding(), "listpack");
    }
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::HashMap;

    fn to_map(hash: &HashValue) -> HashMap<Vec<u8>, Vec<u8>> {
        hash.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()
    }

    #[test]
    fn layouts_stay_small() {
        assert_eq!(std::mem::size_of::<PairSlot>(), 40);
        assert_eq!(std::mem::size_of::<HashValue>(), 16);
        for (f, v) in [
            (0, 0),
            (16, 16),
            (1, 36),
            (20, 17),
            (20, 18),
            (100, 3),
            (0, 200),
        ] {
            let field = vec![b'f'; f];
            let value = vec![b'v'; v];
            let slot = PairSlot::new(&field, &value);
            assert_eq!((slot.field(), slot.value()), (&field[..], &value[..]));
        }
    }

    #[test]
    fn packed_keeps_order_and_replaces_in_place() {
        let mut hash = HashValue::default();
        assert!(hash.set(b"a", b"1", L).unwrap());
        assert!(hash.set(b"b", b"2", L).unwrap());
        assert!(hash.set(b"c", b"3", L).unwrap());
        assert!(!hash.set(b"b", b"twenty", L).unwrap());
        assert_eq!(hash.encoding(), "listpack");
        let order: Vec<_> = hash.iter().collect();
        assert_eq!(
            order,
            vec![
                (&b"a"[..], &b"1"[..]),
                (&b"b"[..], &b"twenty"[..]),
                (&b"c"[..], &b"3"[..])
            ]
        );
        assert!(hash.remove(b"a") && !hash.remove(b"a"));
        assert_eq!(hash.len(), 2);
        assert_eq!(hash.get(b"c"), Some(&b"3"[..]));
        assert!(hash.remove(b"b") && hash.remove(b"c"));
        assert!(hash.is_empty());
        assert!(hash.set(b"", b"", L).unwrap());
        assert_eq!(hash.get(b""), Some(&b""[..]));
    }

    #[test]
    fn conversions_follow_redis_thresholds() {
        let long = vec![b'x'; L.max_value + 1];
        let edge = vec![b'x'; L.max_value];
        let mut hash = HashValue::default();
        hash.set(&edge, &edge, L).unwrap();
        assert_eq!(hash.encoding(), "listpack");
        hash.set(b"f", &long, L).unwrap();
        assert_eq!(hash.encoding(), "hashtable");
        // Never back, even when the long value goes.
        hash.remove(b"f");
        assert_eq!(hash.encoding(), "hashtable");

        let mut hash = HashValue::default();
        hash.set(&long, b"1", L).unwrap();
        assert_eq!(hash.encoding(), "hashtable");

        let mut hash = HashValue::default();
        for i in 0..L.max_entries {
            hash.set(format!("f{i}").as_bytes(), b"v", L).unwrap();
        }
        assert_eq!(hash.encoding(), "listpack");
        hash.set(b"f0", b"again", L).unwrap();
        assert_eq!(hash.encoding(), "listpack");
        hash.set(b"one more", b"v", L).unwrap();
        assert_eq!(
            (hash.len(), hash.encoding()),
            (L.max_entries + 1, "hashtable")
        );
        assert_eq!(hash.get(b"f0"), Some(&b"again"[..]));

        let mut hash = HashValue::default();
        hash.incr_by(&long, 1, L).unwrap();
        assert_eq!(hash.encoding(), "hashtable");
    }

    fn ld(text: &str) -> LongDouble {
        LongDouble::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn counters() {
        let mut hash = HashValue::default();
        assert_eq!(hash.incr_by(b"n", 5, L), Ok(5));
        assert_eq!(hash.incr_by(b"n", i64::MAX, L), Err(StoreError::Overflow));
        assert_eq!(hash.incr_by(b"n", -10, L), Ok(-5));
        assert_eq!(
            hash.incr_by_float(b"n", &ld("0.5"), L).as_deref(),
            Ok("-4.5")
        );
        assert_eq!(
            hash.incr_by(b"n", 1, L),
            Err(StoreError::Invalid("hash value is not an integer".into()))
        );
        hash.set(b"s", b"abc", L).unwrap();
        assert_eq!(
            hash.incr_by_float(b"s", &ld("1"), L),
            Err(StoreError::Invalid("hash value is not a float".into()))
        );
        hash.set(b"big", b"1e4932", L).unwrap();
        assert_eq!(
            hash.incr_by_float(b"big", &ld("1e4932"), L),
            Err(StoreError::NanOrInfinity)
        );
        assert_eq!(
            hash.incr_by_float(b"f", &ld("5.0e3"), L).as_deref(),
            Ok("5000")
        );
        assert_eq!(
            hash.incr_by_float(b"f", &ld("0.1"), L).as_deref(),
            Ok("5000.10000000000000009")
        );
    }

    /// Random operations against a HashMap model, with sizes drawn to cross both conversion
    /// thresholds; the listpack's insertion order is checked against an ordered model too.
    #[test]
    fn randomized_against_model() {
        let mut rng = SmallRng::seed_from_u64(0x4a5);
        for round in 0..12 {
            let mut hash = HashValue::default();
            let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            let fields = if round % 3 == 0 { 40 } else { 2000 };
            let long_odds = if round % 2 == 0 { 0.0 } else { 0.01 };
            for step in 0..2000 {
                let field = format!("field:{}", rng.gen_range(0..fields)).into_bytes();
                let value_len = if rng.gen_bool(long_odds) {
                    65
                } else {
                    rng.gen_range(0..30)
                };
                let value = vec![b'a' + rng.gen_range(0..26u8); value_len];
                match rng.gen_range(0..10) {
                    0..=5 => {
                        let new = hash.set(&field, &value, L).unwrap();
                        assert_eq!(new, model.insert(field.clone(), value).is_none());
                        if new {
                            order.push(field.clone());
                        }
                    }
                    6..=8 => {
                        assert_eq!(hash.remove(&field), model.remove(&field).is_some());
                        order.retain(|f| *f != field);
                    }
                    _ => {
                        let delta = rng.gen_range(-5..5);
                        let current = model.get(&field).map(|v| parse_i64(v));
                        match (hash.incr_by(&field, delta, L), current) {
                            (Ok(n), None) => {
                                assert_eq!(n, delta);
                                model.insert(field.clone(), n.to_string().into_bytes());
                                order.push(field.clone());
                            }
                            (Ok(n), Some(Some(old))) => {
                                assert_eq!(n, old + delta);
                                model.insert(field.clone(), n.to_string().into_bytes());
                            }
                            (Err(_), Some(None)) => {}
                            other => panic!("incr mismatch: {other:?}"),
                        }
                    }
                }
                assert_eq!(hash.len(), model.len(), "round {round} step {step}");
                assert_eq!(hash.get(&field), model.get(&field).map(|v| &v[..]));
                if step % 150 == 0 {
                    assert_eq!(to_map(&hash), model);
                    if hash.encoding() == "listpack" {
                        let fields: Vec<Vec<u8>> = hash.iter().map(|(f, _)| f.to_vec()).collect();
                        assert_eq!(fields, order);
                        assert!(model.len() <= L.max_entries);
                    }
                    let pairs = hash.pairs();
                    assert_eq!(pairs.len(), model.len());
                    if let Some((f, v)) = pairs.random(&mut rng) {
                        assert_eq!(model.get(f).map(|x| &x[..]), Some(v));
                    }
                    let rebuilt = HashValue::from_pairs(hash.iter(), L).unwrap();
                    assert_eq!(rebuilt, hash);
                }
            }
        }
    }

    #[test]
    fn scan_covers_table_and_packed() {
        let mut hash = HashValue::default();
        for i in 0..200 {
            hash.set(format!("f{i}").as_bytes(), b"v", L).unwrap();
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = hash.scan(cursor, 9, |f, _| {
                seen.insert(f.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 200);
        let small = HashValue::from_pairs([(&b"a"[..], &b"1"[..])], L).unwrap();
        let mut got = Vec::new();
        assert_eq!(
            small.scan(55, 1, |f, v| got.push((f.to_vec(), v.to_vec()))),
            0
        );
        assert_eq!(got, vec![(b"a".to_vec(), b"1".to_vec())]);
    }
}
