//! Set values: the structure and the operations behind the set commands.
//!
//! Two encodings, chosen by the same rules as Redis 7.0 so OBJECT ENCODING agrees with it:
//!
//! - `intset`: a set whose members are all integers (in Redis's strict `string2ll` form) and
//!   that has at most `set-max-intset-entries` of them (512 by default) is a sorted array of
//!   integers packed at the narrowest width (2, 4 or 8 bytes) that holds them all. Lookups are
//!   binary searches, changes move the tail (O(n)), and iteration is in ascending order, as
//!   Redis's.
//! - `hashtable`: anything else is an [`IndexedTable`] of [`SmallBytes`] members: positions
//!   give O(1) random picks (SPOP, SRANDMEMBER) and SCAN cursors that keep Redis's guarantee.
//!
//! The table and the inline byte string live here and are shared with hashes
//! ([`super::hash`]), which store field/value pairs in the same table.
//!
//! A set only converts back from `hashtable` to `intset` where Redis builds a new set: the
//! result of SINTERSTORE/SUNIONSTORE/SDIFFSTORE, and an SPOP that takes most of the set
//! ([`SetValue::pop_many`]).

use super::keyspace::DbMut;
use super::value::Value;
use super::{Hasher, StoreError, StoreResult};
use crate::number::parse_i64;
use hashbrown::HashTable;
use rand::Rng;
use std::fmt;
use std::hash::BuildHasher;

/// SPOP rebuilds the set from the members it keeps when it takes more than this many times
/// as many as it leaves (Redis's `SPOP_MOVE_STRATEGY_MUL`); the rebuilt set may be an intset.
const SPOP_REBUILD_FACTOR: usize = 5;

// ---------------------------------------------------------------------------------------------
// SmallBytes
// ---------------------------------------------------------------------------------------------

/// Bytes kept inside a [`SmallBytes`] without an allocation.
const INLINE_BYTES: usize = 22;

/// A byte string in 24 bytes: up to 22 bytes inline, longer ones on the heap. Most members
/// and fields are short, so a table slot usually holds the whole string and a member costs no
/// allocation (and no allocator overhead) of its own.
#[derive(Clone)]
pub struct SmallBytes(SmallRepr);

#[derive(Clone)]
enum SmallRepr {
    Inline { len: u8, bytes: [u8; INLINE_BYTES] },
    Heap(Box<[u8]>),
}

impl SmallBytes {
    /// A copy of `bytes`. O(len).
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_BYTES {
            let mut inline = [0u8; INLINE_BYTES];
            inline[..bytes.len()].copy_from_slice(bytes);
            SmallBytes(SmallRepr::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            })
        } else {
            SmallBytes(SmallRepr::Heap(bytes.into()))
        }
    }

    /// The decimal text of `value`. O(1).
    pub fn from_int(value: i64) -> Self {
        SmallBytes::new(itoa::Buffer::new().format(value).as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            SmallRepr::Inline { len, bytes } => bytes.get(..*len as usize).unwrap_or_default(),
            SmallRepr::Heap(bytes) => bytes,
        }
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SmallBytes {}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

// ---------------------------------------------------------------------------------------------
// IndexedTable
// ---------------------------------------------------------------------------------------------

/// An element of an [`IndexedTable`]: something with a byte-string key.
pub trait TableEntry {
    fn key(&self) -> &[u8];
}

impl TableEntry for SmallBytes {
    fn key(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// An insertion-indexed hash table of entries keyed by bytes: the entries sit densely in a
/// vector (so position `i` is O(1): random picks and SCAN cursors) and a hash index of 4-byte
/// positions finds them by key. Per entry that is the entry itself plus about 10 bytes of
/// index at 1M entries, against 8 (hash) + 8 (index) + 1 of a general `IndexMap`.
///
/// Removal moves the last entry into the hole, so a SCAN walking positions downwards returns
/// every entry present for the whole scan (an entry may come twice, as Redis allows).
#[derive(Clone, Default)]
pub struct IndexedTable<E> {
    entries: Vec<E>,
    /// Positions into `entries`, hashed by the key of the entry they point at.
    index: HashTable<u32>,
    hasher: Hasher,
}

/// The error for a table that cannot grow (over 4G entries, or allocation refused).
fn too_large() -> StoreError {
    StoreError::Invalid("collection is too large".into())
}

impl<E: TableEntry> IndexedTable<E> {
    /// An empty table with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        IndexedTable {
            entries: Vec::with_capacity(capacity),
            index: HashTable::with_capacity(capacity),
            hasher: Hasher::default(),
        }
    }

    /// Number of entries. O(1).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The position of the entry with `key`. O(1).
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(self.hash(key), |&pos| {
                entries.get(pos as usize).is_some_and(|e| e.key() == key)
            })
            .map(|&pos| pos as usize)
    }

    /// The entry with `key`. O(1).
    pub fn get(&self, key: &[u8]) -> Option<&E> {
        self.position(key).and_then(|pos| self.entries.get(pos))
    }

    /// The entry with `key`, to change in place; the change must keep the key. O(1).
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut E> {
        let pos = self.position(key)?;
        self.entries.get_mut(pos)
    }

    /// The entry at `pos` (insertion order, disturbed by removals). O(1).
    pub fn at(&self, pos: usize) -> Option<&E> {
        self.entries.get(pos)
    }

    /// Every entry, by position. O(1).
    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    /// Appends `entry`, whose key must not be in the table yet. Amortized O(1).
    pub fn push_new(&mut self, entry: E) -> StoreResult<()> {
        let pos = u32::try_from(self.entries.len())
            .ok()
            .filter(|&pos| pos < u32::MAX)
            .ok_or_else(too_large)?;
        let hash = self.hash(entry.key());
        let (entries, hasher) = (&self.entries, &self.hasher);
        let rehash = |&pos: &u32| entry_hash(entries, hasher, pos);
        self.index.try_reserve(1, rehash).map_err(|_| too_large())?;
        self.entries.try_reserve(1).map_err(|_| too_large())?;
        self.entries.push(entry);
        let (entries, hasher) = (&self.entries, &self.hasher);
        // Room was reserved above, so this never reallocates.
        self.index
            .insert_unique(hash, pos, |&pos| entry_hash(entries, hasher, pos));
        Ok(())
    }

    /// Removes and returns the entry with `key`. O(1), amortized over shrinking.
    pub fn remove(&mut self, key: &[u8]) -> Option<E> {
        let pos = self.position(key)?;
        self.swap_remove_at(pos)
    }

    /// Removes the entry at `pos`, moving the last entry into its place. O(1), amortized
    /// over shrinking.
    pub fn swap_remove_at(&mut self, pos: usize) -> Option<E> {
        let hash = self.hash(self.entries.get(pos)?.key());
        if let Ok(slot) = self.index.find_entry(hash, |&p| p as usize == pos) {
            slot.remove();
        }
        let last = self.entries.len() - 1;
        if pos != last {
            if let Some(moved) = self.entries.get(last) {
                let hash = self.hash(moved.key());
                if let Some(slot) = self.index.find_mut(hash, |&p| p as usize == last) {
                    *slot = pos as u32;
                }
            }
        }
        let removed = self.entries.swap_remove(pos);
        self.shrink_if_sparse();
        Some(removed)
    }

    /// Keeps only the entries `keep` approves, in their order. O(n).
    pub fn retain(&mut self, keep: impl FnMut(&E) -> bool) {
        self.entries.retain(keep);
        self.rebuild_index();
    }

    /// Gives memory back once a table is mostly empty (Redis shrinks dicts under 10% full);
    /// halving the gap each time keeps the cost amortized O(1) per removal.
    fn shrink_if_sparse(&mut self) {
        let len = self.entries.len();
        if self.entries.capacity() > 64 && len * 8 < self.entries.capacity() {
            self.entries.shrink_to(len * 2);
            let (entries, hasher) = (&self.entries, &self.hasher);
            self.index
                .shrink_to(len * 2, |&pos| entry_hash(entries, hasher, pos));
        }
    }

    fn rebuild_index(&mut self) {
        self.index = HashTable::with_capacity(self.entries.len());
        let (entries, hasher) = (&self.entries, &self.hasher);
        for (pos, entry) in entries.iter().enumerate() {
            let hash = hasher.hash_one(entry.key());
            // Capacity was allocated for every entry above, so no rehash happens.
            self.index
                .insert_unique(hash, pos as u32, |&pos| entry_hash(entries, hasher, pos));
        }
    }
}

/// The hash of the key of the entry at `pos` (for moving index slots while the table grows).
fn entry_hash<E: TableEntry>(entries: &[E], hasher: &Hasher, pos: u32) -> u64 {
    entries
        .get(pos as usize)
        .map_or(0, |entry| hasher.hash_one(entry.key()))
}

impl<E: fmt::Debug> fmt::Debug for IndexedTable<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// IntSet
// ---------------------------------------------------------------------------------------------

/// Sorted distinct integers in one allocation: a width byte (2, 4 or 8), then the values
/// little-endian at that width, the narrowest that holds them all (as Redis's intset). An
/// empty set has no allocation.
#[derive(Clone, Default, PartialEq, Eq)]
struct IntSet {
    buf: Box<[u8]>,
}

/// The narrowest width, in bytes, that holds `value`.
fn int_width(value: i64) -> usize {
    if i16::try_from(value).is_ok() {
        2
    } else if i32::try_from(value).is_ok() {
        4
    } else {
        8
    }
}

impl IntSet {
    fn width(&self) -> usize {
        self.buf.first().map_or(2, |&w| w as usize)
    }

    /// O(1).
    fn len(&self) -> usize {
        self.buf.len().saturating_sub(1) / self.width()
    }

    /// The value at `pos` (ascending order). O(1).
    fn get(&self, pos: usize) -> Option<i64> {
        let width = self.width();
        let start = 1 + pos * width;
        let bytes = self.buf.get(start..start + width)?;
        Some(match width {
            2 => i16::from_le_bytes(bytes.try_into().ok()?) as i64,
            4 => i32::from_le_bytes(bytes.try_into().ok()?) as i64,
            _ => i64::from_le_bytes(bytes.try_into().ok()?),
        })
    }

    /// `Ok(position)` of `value`, or `Err(where it would go)`. O(log n).
    fn search(&self, value: i64) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.get(mid) {
                Some(v) if v < value => low = mid + 1,
                Some(v) if v > value => high = mid,
                Some(_) => return Ok(mid),
                None => break,
            }
        }
        Err(low)
    }

    fn contains(&self, value: i64) -> bool {
        self.search(value).is_ok()
    }

    fn iter(&self) -> impl Iterator<Item = i64> + Clone + '_ {
        (0..self.len()).map_while(|pos| self.get(pos))
    }

    /// Encodes ascending distinct `values` at the narrowest width. O(n).
    fn from_sorted(values: impl Iterator<Item = i64> + Clone) -> IntSet {
        let width = values.clone().map(int_width).max().unwrap_or(2);
        let mut buf = Vec::with_capacity(1 + values.size_hint().0 * width);
        buf.push(width as u8);
        for value in values {
            push_int(&mut buf, value, width);
        }
        if buf.len() == 1 {
            return IntSet::default();
        }
        IntSet {
            buf: buf.into_boxed_slice(),
        }
    }

    /// Adds `value`; false if present. O(n): the tail moves, as in Redis.
    fn insert(&mut self, value: i64) -> bool {
        let Err(at) = self.search(value) else {
            return false;
        };
        let values = self
            .iter()
            .take(at)
            .chain(std::iter::once(value))
            .chain(self.iter().skip(at));
        *self = IntSet::from_sorted(values);
        true
    }

    /// Adds ascending distinct `values`, none present, in one new buffer. O(n + values).
    fn insert_sorted_absent(&mut self, values: &[i64]) {
        let mut merged = Vec::with_capacity(self.len() + values.len());
        let mut new = values.iter().copied().peekable();
        for old in self.iter() {
            while let Some(value) = new.next_if(|&v| v < old) {
                merged.push(value);
            }
            merged.push(old);
        }
        merged.extend(new);
        *self = IntSet::from_sorted(merged.iter().copied());
    }

    /// Removes the value at `pos`. O(n).
    fn remove_at(&mut self, pos: usize) -> Option<i64> {
        let value = self.get(pos)?;
        let width = self.width();
        let start = 1 + pos * width;
        let mut buf = Vec::with_capacity(self.buf.len() - width);
        buf.extend_from_slice(self.buf.get(..start).unwrap_or_default());
        buf.extend_from_slice(self.buf.get(start + width..).unwrap_or_default());
        self.buf = if buf.len() > 1 {
            buf.into_boxed_slice()
        } else {
            Box::default()
        };
        Some(value)
    }

    fn remove(&mut self, value: i64) -> bool {
        match self.search(value) {
            Ok(pos) => self.remove_at(pos).is_some(),
            Err(_) => false,
        }
    }
}

fn push_int(buf: &mut Vec<u8>, value: i64, width: usize) {
    match width {
        2 => buf.extend_from_slice(&(value as i16).to_le_bytes()),
        4 => buf.extend_from_slice(&(value as i32).to_le_bytes()),
        _ => buf.extend_from_slice(&value.to_le_bytes()),
    }
}

// ---------------------------------------------------------------------------------------------
// SetValue
// ---------------------------------------------------------------------------------------------

/// A member as stored: an integer of an intset, or bytes of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes (an integer as its decimal text), without allocating.
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(value) => f(itoa::Buffer::new().format(value).as_bytes()),
            Member::Bytes(bytes) => f(bytes),
        }
    }

    pub fn to_small(self) -> SmallBytes {
        match self {
            Member::Int(value) => SmallBytes::from_int(value),
            Member::Bytes(bytes) => SmallBytes::new(bytes),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(|bytes| bytes.to_vec())
    }
}

/// A set value (see the module documentation for its two encodings).
#[derive(Clone, Default)]
pub struct SetValue {
    repr: SetRepr,
}

#[derive(Clone)]
enum SetRepr {
    Ints(IntSet),
    Table(Box<IndexedTable<SmallBytes>>),
}

impl Default for SetRepr {
    fn default() -> Self {
        SetRepr::Ints(IntSet::default())
    }
}

/// Iterator over a set's members, in its order (ascending for an intset).
pub struct SetIter<'a> {
    set: &'a SetValue,
    pos: usize,
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        let member = self.set.member_at(self.pos)?;
        self.pos += 1;
        Some(member)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.set.len().saturating_sub(self.pos);
        (left, Some(left))
    }
}

impl SetValue {
    /// A set of `members` (duplicates collapse), encoded as Redis would build it.
    pub fn from_members<'m>(
        members: impl IntoIterator<Item = &'m [u8]>,
        max_intset: usize,
    ) -> StoreResult<Self> {
        let mut set = SetValue::default();
        for member in members {
            set.add(member, max_intset)?;
        }
        Ok(set)
    }

    /// Number of members. O(1).
    pub fn len(&self) -> usize {
        match &self.repr {
            SetRepr::Ints(ints) => ints.len(),
            SetRepr::Table(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports, as Redis 7.0 would for the same history.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            SetRepr::Ints(_) => "intset",
            SetRepr::Table(_) => "hashtable",
        }
    }

    /// Whether `member` is in the set. O(log n) for an intset, O(1) otherwise.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            SetRepr::Ints(ints) => parse_i64(member).is_some_and(|v| ints.contains(v)),
            SetRepr::Table(table) => table.position(member).is_some(),
        }
    }

    /// The member at `pos` in iteration order. O(1).
    pub fn member_at(&self, pos: usize) -> Option<Member<'_>> {
        match &self.repr {
            SetRepr::Ints(ints) => ints.get(pos).map(Member::Int),
            SetRepr::Table(table) => table.at(pos).map(|m| Member::Bytes(m.as_bytes())),
        }
    }

    /// Every member, in the set's order. O(1) per member.
    pub fn iter(&self) -> SetIter<'_> {
        SetIter { set: self, pos: 0 }
    }

    /// A uniformly random member. O(1).
    pub fn random_member(&self, rng: &mut impl Rng) -> Option<Member<'_>> {
        match self.len() {
            0 => None,
            len => self.member_at(rng.gen_range(0..len)),
        }
    }

    /// Adds `member`; false if it was already there. Converts an intset to a table when the
    /// member is not an integer or the set would grow past `max_intset` members. O(n) for an
    /// intset, amortized O(1) for a table.
    pub fn add(&mut self, member: &[u8], max_intset: usize) -> StoreResult<bool> {
        if let SetRepr::Ints(ints) = &mut self.repr {
            match parse_i64(member) {
                Some(value) if ints.contains(value) => return Ok(false),
                Some(value) if ints.len() < max_intset => return Ok(ints.insert(value)),
                _ => self.convert_to_table()?,
            }
        }
        match &mut self.repr {
            SetRepr::Table(table) => {
                if table.position(member).is_some() {
                    return Ok(false);
                }
                table.push_new(SmallBytes::new(member))?;
                Ok(true)
            }
            SetRepr::Ints(_) => Ok(false),
        }
    }

    /// Adds `members` (SADD): how many were new, and the error that stopped the adding, if
    /// one did. Integers joining an intset that stays one are merged into one new buffer, as
    /// many a SADD brings several: one allocation instead of one per member.
    pub fn add_many(&mut self, members: &[&[u8]], max_intset: usize) -> (usize, StoreResult<()>) {
        if let SetRepr::Ints(ints) = &mut self.repr {
            if members.len() > 1 {
                let parsed: Option<Vec<i64>> = members.iter().map(|m| parse_i64(m)).collect();
                if let Some(mut values) = parsed {
                    values.sort_unstable();
                    values.dedup();
                    values.retain(|&v| !ints.contains(v));
                    if ints.len() + values.len() <= max_intset {
                        if !values.is_empty() {
                            ints.insert_sorted_absent(&values);
                        }
                        return (values.len(), Ok(()));
                    }
                }
            }
        }
        let mut added = 0;
        for member in members {
            match self.add(member, max_intset) {
                Ok(true) => added += 1,
                Ok(false) => {}
                Err(e) => return (added, Err(e)),
            }
        }
        (added, Ok(()))
    }

    /// Adds a member taken from another set (no integer re-parsing for intset members).
    pub fn add_member(&mut self, member: Member<'_>, max_intset: usize) -> StoreResult<bool> {
        match (&mut self.repr, member) {
            (SetRepr::Ints(ints), Member::Int(value)) if ints.len() < max_intset => {
                Ok(ints.insert(value))
            }
            _ => member.with_bytes(|bytes| self.add(bytes, max_intset)),
        }
    }

    /// Removes `member`; false if it was not there. O(n) for an intset, O(1) for a table.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            SetRepr::Ints(ints) => parse_i64(member).is_some_and(|v| ints.remove(v)),
            SetRepr::Table(table) => table.remove(member).is_some(),
        }
    }

    /// Removes and returns a uniformly random member. O(1) for a table, O(n) for an intset.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<SmallBytes> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        let pos = rng.gen_range(0..len);
        match &mut self.repr {
            SetRepr::Ints(ints) => ints.remove_at(pos).map(SmallBytes::from_int),
            SetRepr::Table(table) => table.swap_remove_at(pos),
        }
    }

    /// Removes and returns `count` distinct random members (`count` < len). When the set
    /// keeps less than a fifth of what it gives, Redis rebuilds it from the members it keeps,
    /// which makes an intset again of a table left with only integers; so does this.
    /// O(count) for a table, O(count * n) for an intset.
    pub fn pop_many(
        &mut self,
        count: usize,
        rng: &mut impl Rng,
        max_intset: usize,
    ) -> Vec<SmallBytes> {
        let remaining = self.len().saturating_sub(count);
        let popped: Vec<SmallBytes> = (0..count).map_while(|_| self.pop_random(rng)).collect();
        if remaining * SPOP_REBUILD_FACTOR <= count {
            self.compact(max_intset);
        }
        popped
    }

    /// Keeps only the members `keep` approves. O(n).
    pub fn retain(&mut self, mut keep: impl FnMut(Member<'_>) -> bool) {
        match &mut self.repr {
            SetRepr::Ints(ints) => {
                let kept: Vec<i64> = ints.iter().filter(|&v| keep(Member::Int(v))).collect();
                *ints = IntSet::from_sorted(kept.iter().copied());
            }
            SetRepr::Table(table) => table.retain(|m| keep(Member::Bytes(m.as_bytes()))),
        }
    }

    /// Re-encodes a table that holds only integers, at most `max_intset`, as an intset: the
    /// encoding Redis gives a set it builds anew from these members. O(n log n).
    pub fn compact(&mut self, max_intset: usize) {
        let SetRepr::Table(table) = &self.repr else {
            return;
        };
        if table.len() > max_intset {
            return;
        }
        let ints: Option<Vec<i64>> = table
            .entries()
            .iter()
            .map(|m| parse_i64(m.as_bytes()))
            .collect();
        if let Some(mut ints) = ints {
            ints.sort_unstable();
            self.repr = SetRepr::Ints(IntSet::from_sorted(ints.iter().copied()));
        }
    }

    fn convert_to_table(&mut self) -> StoreResult<()> {
        if let SetRepr::Ints(ints) = &self.repr {
            let mut table = IndexedTable::with_capacity(ints.len() + 1);
            for value in ints.iter() {
                table.push_new(SmallBytes::from_int(value))?;
            }
            self.repr = SetRepr::Table(Box::new(table));
        }
        Ok(())
    }

    /// One SSCAN step: an intset is returned whole with cursor 0 (as Redis does for its
    /// compact encodings); a table visits up to `count` positions below `cursor` (0 = start)
    /// and returns the next cursor, 0 when done. O(count).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(Member<'a>)) -> u64 {
        match &self.repr {
            SetRepr::Ints(ints) => {
                ints.iter().for_each(|v| visit(Member::Int(v)));
                0
            }
            SetRepr::Table(table) => super::scan_positions(table.len(), cursor, count, |pos| {
                if let Some(member) = table.at(pos) {
                    visit(Member::Bytes(member.as_bytes()));
                }
            }),
        }
    }
}

impl PartialEq for SetValue {
    /// Same members, whatever the encodings and orders.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| m.with_bytes(|b| other.contains(b)))
    }
}

impl fmt::Debug for SetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|m| m.to_small()))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Keyspace operations
// ---------------------------------------------------------------------------------------------

/// Which set-algebra command is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Diff,
}

impl DbMut<'_> {
    /// The set at `key`, for reading (counts a keyspace hit or miss). O(1).
    pub fn set_value(&mut self, key: &[u8]) -> StoreResult<Option<&SetValue>> {
        self.read_typed(key, Value::as_set)
    }

    /// SADD: adds `members`, creating the set. Returns how many were new. O(members).
    pub fn sadd(&mut self, key: &[u8], members: &[&[u8]]) -> StoreResult<usize> {
        let max_intset = self.limits.set_max_intset_entries();
        let set = self.write_typed_or_create(key, Value::as_set_mut, Value::new_set)?;
        let (added, result) = set.add_many(members, max_intset);
        if added > 0 {
            self.after_write(key);
        } else {
            self.remove_if_empty(key);
        }
        result.map(|()| added)
    }

    /// SREM: removes `members`, deleting the set once empty. Returns how many were there.
    /// O(members).
    pub fn srem(&mut self, key: &[u8], members: &[&[u8]]) -> StoreResult<usize> {
        self.remove_each(key, Value::as_set_mut, members, SetValue::remove)
    }

    /// SMOVE: moves `member` from `src` to `dst` (created if missing). Both must be sets
    /// when they exist (a missing `src` answers false before `dst` is looked at, as Redis).
    /// O(1) for tables.
    pub fn smove(&mut self, src: &[u8], dst: &[u8], member: &[u8]) -> StoreResult<bool> {
        if self.write_typed(src, Value::as_set_mut)?.is_none() {
            return Ok(false);
        }
        self.write_typed(dst, Value::as_set_mut)?;
        if src == dst {
            return Ok(self
                .write_typed(src, Value::as_set_mut)?
                .is_some_and(|set| set.contains(member)));
        }
        let removed = self
            .write_typed(src, Value::as_set_mut)?
            .is_some_and(|set| set.remove(member));
        if !removed {
            return Ok(false);
        }
        self.after_write(src);
        let max_intset = self.limits.set_max_intset_entries();
        let set = self.write_typed_or_create(dst, Value::as_set_mut, Value::new_set)?;
        // A destination that already had the member is unchanged: WATCH and persistence
        // must not see a write there, as in Redis.
        if set.add(member, max_intset)? {
            self.after_write(dst);
        }
        Ok(true)
    }

    /// SPOP without a count: removes a random member. O(1) for a table.
    pub fn spop(&mut self, key: &[u8], rng: &mut impl Rng) -> StoreResult<Option<SmallBytes>> {
        let Some(set) = self.write_typed(key, Value::as_set_mut)? else {
            return Ok(None);
        };
        let popped = set.pop_random(rng);
        self.after_write(key);
        Ok(popped)
    }

    /// SPOP with a count: removes up to `count` distinct random members (all of them, in the
    /// set's order, when `count` >= len; the key is deleted then). O(count).
    pub fn spop_count(
        &mut self,
        key: &[u8],
        count: usize,
        rng: &mut impl Rng,
    ) -> StoreResult<Vec<SmallBytes>> {
        let max_intset = self.limits.set_max_intset_entries();
        let Some(set) = self.write_typed(key, Value::as_set_mut)? else {
            return Ok(Vec::new());
        };
        if count == 0 {
            return Ok(Vec::new());
        }
        let popped = if count >= set.len() {
            let all = set.iter().map(Member::to_small).collect();
            *set = SetValue::default();
            all
        } else {
            set.pop_many(count, rng, max_intset)
        };
        self.after_write(key);
        Ok(popped)
    }

    /// Looks up every key of a multi-key set command: WRONGTYPE if any exists with another
    /// type; otherwise each key's size (`None` = missing). `count_stats` counts keyspace
    /// hits/misses (the reading variants do, the *STORE variants do not, as in Redis).
    fn set_sizes(&mut self, keys: &[&[u8]], count_stats: bool) -> StoreResult<Vec<Option<usize>>> {
        keys.iter()
            .map(|key| {
                if count_stats {
                    Ok(self.read_typed(key, Value::as_set)?.map(SetValue::len))
                } else {
                    Ok(self.write_typed(key, Value::as_set_mut)?.map(|s| s.len()))
                }
            })
            .collect()
    }

    /// The set at `key` for a second pass, without counting the lookup again.
    fn set_again(&mut self, key: &[u8]) -> Option<&SetValue> {
        self.lookup_write(key).and_then(|v| v.as_set())
    }

    /// SINTER/SINTERCARD/SINTERSTORE: the members common to every key's set, in the order of
    /// the smallest set (a missing key is an empty set). WRONGTYPE if any key holds another
    /// type. O(N * M): N the smallest set's size, M the number of keys.
    pub fn sinter(&mut self, keys: &[&[u8]], count_stats: bool) -> StoreResult<Vec<SmallBytes>> {
        let sizes = self.set_sizes(keys, count_stats)?;
        let Some(sizes) = sizes.into_iter().collect::<Option<Vec<usize>>>() else {
            return Ok(Vec::new());
        };
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_key(|&i| sizes[i]);
        let Some((&smallest, others)) = order.split_first() else {
            return Ok(Vec::new());
        };
        let mut common: Vec<SmallBytes> = match self.set_again(keys[smallest]) {
            Some(set) => set.iter().map(Member::to_small).collect(),
            None => return Ok(Vec::new()),
        };
        for &other in others {
            if common.is_empty() {
                break;
            }
            match self.set_again(keys[other]) {
                Some(set) => common.retain(|m| set.contains(m.as_bytes())),
                None => common.clear(),
            }
        }
        Ok(common)
    }

    /// SUNION/SDIFF and their STORE variants: the result as a new set, encoded as Redis
    /// builds it (an intset when it can be). WRONGTYPE if any key holds another type.
    /// O(total members) for a union; O(N * M) for a difference (N the first set's size).
    pub fn sunion_diff(
        &mut self,
        keys: &[&[u8]],
        op: SetOp,
        count_stats: bool,
    ) -> StoreResult<SetValue> {
        self.set_sizes(keys, count_stats)?;
        let max_intset = self.limits.set_max_intset_entries();
        let mut result = SetValue::default();
        match op {
            SetOp::Union => {
                for key in keys {
                    if let Some(set) = self.set_again(key) {
                        for member in set.iter() {
                            result.add_member(member, max_intset)?;
                        }
                    }
                }
            }
            SetOp::Diff => {
                let Some((first, others)) = keys.split_first() else {
                    return Ok(result);
                };
                let mut left: Vec<SmallBytes> = match self.set_again(first) {
                    Some(set) => set.iter().map(Member::to_small).collect(),
                    None => return Ok(result),
                };
                for key in others {
                    if left.is_empty() {
                        break;
                    }
                    if let Some(set) = self.set_again(key) {
                        left.retain(|m| !set.contains(m.as_bytes()));
                    }
                }
                for member in &left {
                    result.add(member.as_bytes(), max_intset)?;
                }
            }
        }
        Ok(result)
    }

    /// Stores `set` at `dst` for the *STORE commands, replacing whatever was there (and its
    /// expiry); an empty result deletes `dst`. Returns the stored size.
    pub fn store_set(&mut self, dst: &[u8], mut set: SetValue) -> usize {
        let len = set.len();
        if len == 0 {
            self.remove(dst);
        } else {
            set.compact(self.limits.set_max_intset_entries());
            self.insert(dst, Value::Set(set), None);
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis's default `set-max-intset-entries`.
    const MAX_INTSET_ENTRIES: usize = 512;

    #[test]
    fn the_intset_limit_is_a_parameter() {
        let mut set = SetValue::default();
        set.add(b"1", 0).unwrap();
        assert_eq!(
            set.encoding(),
            "hashtable",
            "past 0 members at the first one"
        );
        let mut set = SetValue::from_members([&b"1"[..], b"2"], 2).unwrap();
        assert_eq!(set.encoding(), "intset");
        set.add(b"3", 2).unwrap();
        assert_eq!(set.encoding(), "hashtable");
        set.remove(b"3");
        set.compact(1);
        assert_eq!(
            set.encoding(),
            "hashtable",
            "2 members are past a limit of 1"
        );
        set.compact(2);
        assert_eq!(set.encoding(), "intset");
    }
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    fn members(set: &SetValue) -> BTreeSet<Vec<u8>> {
        set.iter().map(Member::to_vec).collect()
    }

    #[test]
    fn small_bytes_inline_and_heap() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        for len in [0, 1, 21, 22, 23, 100] {
            let bytes: Vec<u8> = (0..len as u8).collect();
            assert_eq!(SmallBytes::new(&bytes).as_bytes(), &bytes[..]);
        }
        assert_eq!(SmallBytes::from_int(-42).as_bytes(), b"-42");
    }

    #[test]
    fn intset_widths_upgrade_and_stay_sorted() {
        let mut ints = IntSet::default();
        assert_eq!(ints.len(), 0);
        for v in [5, -3, 70_000, i64::MIN, 2, i64::MAX, 0] {
            assert!(ints.insert(v));
        }
        assert!(!ints.insert(5));
        assert_eq!(ints.width(), 8);
        let all: Vec<i64> = ints.iter().collect();
        assert_eq!(all, vec![i64::MIN, -3, 0, 2, 5, 70_000, i64::MAX]);
        assert!(ints.remove(i64::MIN) && !ints.remove(i64::MIN));
        assert_eq!(ints.get(0), Some(-3));
        let small = IntSet::from_sorted([1i64, 2, 3].into_iter());
        assert_eq!(small.width(), 2);
        assert_eq!(small.buf.len(), 7);
        let mid = IntSet::from_sorted([1i64, 40_000].into_iter());
        assert_eq!(mid.width(), 4);
    }

    #[test]
    fn encodings_follow_redis_rules() {
        let mut set = SetValue::default();
        assert!(set.add(b"1", MAX_INTSET_ENTRIES).unwrap());
        assert_eq!(set.encoding(), "intset");
        // Not integers in string2ll's form: a leading zero, a plus sign.
        let mut other = SetValue::from_members([&b"01"[..]], MAX_INTSET_ENTRIES).unwrap();
        assert_eq!(other.encoding(), "hashtable");
        assert!(other.add(b"+1", MAX_INTSET_ENTRIES).unwrap());
        for i in 2..=512 {
            set.add(i.to_string().as_bytes(), MAX_INTSET_ENTRIES)
                .unwrap();
        }
        assert_eq!((set.len(), set.encoding()), (512, "intset"));
        set.add(b"513", MAX_INTSET_ENTRIES).unwrap();
        assert_eq!((set.len(), set.encoding()), (513, "hashtable"));
        // Removing never converts back...
        set.remove(b"513");
        assert_eq!(set.encoding(), "hashtable");
        // ...but building anew does.
        set.compact(MAX_INTSET_ENTRIES);
        assert_eq!(set.encoding(), "intset");
        let order: Vec<i64> = set
            .iter()
            .map(|m| match m {
                Member::Int(v) => v,
                Member::Bytes(_) => -1,
            })
            .collect();
        assert_eq!(order, (1..=512).collect::<Vec<_>>());
    }

    #[test]
    fn spop_rebuild_makes_an_intset_again() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut set = SetValue::from_members(
            (1..=600)
                .map(|i| i.to_string().into_bytes())
                .collect::<Vec<_>>()
                .iter()
                .map(|v| &v[..]),
            MAX_INTSET_ENTRIES,
        )
        .unwrap();
        assert_eq!(set.encoding(), "hashtable");
        // Keeps 113 of 513 (more than a fifth of 400): popped one by one, no rebuild.
        let popped = set.pop_many(87, &mut rng, MAX_INTSET_ENTRIES);
        assert_eq!(popped.len(), 87);
        assert_eq!((set.len(), set.encoding()), (513, "hashtable"));
        let popped = set.pop_many(400, &mut rng, MAX_INTSET_ENTRIES);
        assert_eq!((set.len(), set.encoding()), (113, "hashtable"));
        assert_eq!(popped.len(), 400);
        let popped = set.pop_many(100, &mut rng, MAX_INTSET_ENTRIES);
        assert_eq!((set.len(), set.encoding()), (13, "intset"));
        let distinct: BTreeSet<_> = popped.iter().map(|m| m.as_bytes().to_vec()).collect();
        assert_eq!(distinct.len(), 100);
    }

    /// Random operations against a BTreeSet model, with members drawn so that both encodings
    /// and the conversions between them are exercised.
    #[test]
    fn randomized_against_model() {
        let mut rng = SmallRng::seed_from_u64(0x5e7);
        for round in 0..40 {
            let mut set = SetValue::default();
            let mut model: BTreeSet<Vec<u8>> = BTreeSet::new();
            let int_only = round % 2 == 0;
            let range = if round % 4 < 2 { 700 } else { 60 };
            for step in 0..3000 {
                let member = if int_only || rng.gen_bool(0.9) {
                    (rng.gen_range(0..range) as i64 - 100)
                        .to_string()
                        .into_bytes()
                } else {
                    format!("m{}", rng.gen_range(0..range)).into_bytes()
                };
                match rng.gen_range(0..10) {
                    0..=4 => {
                        assert_eq!(
                            set.add(&member, MAX_INTSET_ENTRIES).unwrap(),
                            model.insert(member.clone())
                        )
                    }
                    5..=7 => assert_eq!(set.remove(&member), model.remove(&member)),
                    8 => {
                        if let Some(popped) = set.pop_random(&mut rng) {
                            assert!(model.remove(popped.as_bytes()));
                        }
                    }
                    _ => {
                        let count = rng.gen_range(0..=set.len());
                        if count < set.len() {
                            for popped in set.pop_many(count, &mut rng, MAX_INTSET_ENTRIES) {
                                assert!(model.remove(popped.as_bytes()));
                            }
                        }
                    }
                }
                assert_eq!(set.len(), model.len(), "round {round} step {step}");
                assert_eq!(set.contains(&member), model.contains(&member));
                if step % 97 == 0 {
                    assert_eq!(members(&set), model);
                    let all_ints = model.iter().all(|m| parse_i64(m).is_some());
                    if set.encoding() == "intset" {
                        assert!(all_ints && model.len() <= MAX_INTSET_ENTRIES);
                    }
                    let mut rebuilt = set.clone();
                    rebuilt.compact(MAX_INTSET_ENTRIES);
                    assert_eq!(rebuilt, set);
                    let compact_expected = all_ints && model.len() <= MAX_INTSET_ENTRIES;
                    assert_eq!(rebuilt.encoding() == "intset", compact_expected);
                }
            }
        }
    }

    #[test]
    fn scan_returns_every_stable_member_despite_removals() {
        let names: Vec<Vec<u8>> = (0..300).map(|i| format!("m{i}").into_bytes()).collect();
        let mut set =
            SetValue::from_members(names.iter().map(|v| &v[..]), MAX_INTSET_ENTRIES).unwrap();
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = set.scan(cursor, 7, |m| {
                seen.insert(m.to_vec());
            });
            // Remove odd-numbered members between steps; even ones stay throughout.
            set.remove(format!("m{}", round * 2 + 1).as_bytes());
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..300).step_by(2) {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
        }
    }

    #[test]
    fn table_shrinks_after_mass_removal() {
        let names: Vec<Vec<u8>> = (0..10_000).map(|i| format!("m{i}").into_bytes()).collect();
        let mut set =
            SetValue::from_members(names.iter().map(|v| &v[..]), MAX_INTSET_ENTRIES).unwrap();
        for name in &names[..9_990] {
            assert!(set.remove(name));
        }
        let SetRepr::Table(table) = &set.repr else {
            panic!("expected a table");
        };
        assert!(table.entries.capacity() < 1_000);
        for name in &names[9_990..] {
            assert!(set.contains(name));
        }
    }
}
