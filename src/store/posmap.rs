//! The insertion-indexed hash map behind each database's keys and expiries: entries in a
//! vector (positions give RANDOMKEY, sampling and SCAN cursors, see [`super::keyspace`]) and a
//! chained hash index of positions.
//!
//! Written here rather than taken from `indexmap` or built on `hashbrown` for two reasons:
//! - its index must change size incrementally, as Redis's dict rehashes incrementally:
//!   `indexmap` rebuilds the whole index when it grows, which stalled every client for 150 ms
//!   at 3.7 million keys (and twice that at twice the keys);
//! - removals must leave no marks: an open-addressing index (hashbrown's) marks a removed
//!   slot as a tombstone, which is room again only after an O(len) rebuild, and a cache at
//!   `maxmemory`, removing one key for each it adds, needed that rebuild every `len / 8`
//!   writes (a 40 ms stall at 2 million keys, every 250,000 writes).
//!
//! So the index is Redis's own shape: buckets of chains, the links kept in the entries
//! themselves beside the hash (4 bytes each, where the hash's upper half used to be), and
//! 4 bytes per bucket: from 4 to 8 bytes of index per key, against 10 to 20 for hashbrown's.
//! A growing (or reserved) index is replaced by one of the new size and the chains move over
//! a few buckets at a time, on each write and from the server's cron; where a key's chain is
//! follows from its hash, so a lookup still reads one chain.

use super::{Hasher, Key};
use std::hash::BuildHasher;

/// Buckets of the old index moved by each write while the index changes size: about 16
/// positions (the old index is full when a growth starts), a microsecond or two, so a growth
/// ends after 1/16 as many writes as the old index has buckets.
const STEP_BUCKETS: usize = 16;

/// Bytes of one bucket of an index.
pub const BUCKET_BYTES: usize = std::mem::size_of::<Link>();

/// The smallest index, in buckets.
const MIN_BUCKETS: usize = 4;

/// A position plus one, 0 meaning none: an index of zeroes is empty, so a new index comes
/// zeroed from the allocator (`vec![0; n]` asks for zeroed memory, which for a large index
/// is fresh pages, touched as they fill) rather than written bucket by bucket. Four bytes, so
/// a map holds at most `u32::MAX - 1` entries, as Redis documents 2^32 keys per instance as
/// its limit (and a database that large would need hundreds of gigabytes).
type Link = u32;

fn link(pos: usize) -> Link {
    debug_assert!(pos < Link::MAX as usize);
    (pos + 1) as Link
}

/// One entry: its key's hash (kept, so the index moves without hashing keys again), the link
/// to the next entry of its chain, key and value.
#[derive(Debug, Clone)]
pub struct Slot<V> {
    hash: u32,
    next: Link,
    key: Key,
    value: V,
}

/// Keys to values, each at a position from 0 to `len - 1`; removing a key moves the last
/// entry into its position.
#[derive(Clone)]
pub struct PosMap<V> {
    entries: Vec<Slot<V>>,
    /// Heads of the chains, by hash modulo its length (a power of two, or 0 while the map
    /// has never held an entry). While the index changes size, it is the new one.
    buckets: Vec<Link>,
    /// While the index changes size, the one it replaces: its chains from bucket
    /// `next_bucket` on are still to move to `buckets` (those before it are empty). Empty
    /// (and unallocated) otherwise. A key's chain is in `old` if its bucket there is not yet
    /// moved, else in `buckets`.
    old: Vec<Link>,
    next_bucket: usize,
    /// Entries whose chains are in `old`: once none are left, it is freed.
    in_old: usize,
    hasher: Hasher,
}

impl<V> Default for PosMap<V> {
    fn default() -> Self {
        PosMap {
            entries: Vec::new(),
            buckets: Vec::new(),
            old: Vec::new(),
            next_bucket: 0,
            in_old: 0,
            hasher: Hasher::default(),
        }
    }
}

impl<V> std::fmt::Debug for PosMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PosMap")
            .field("len", &self.entries.len())
            .field("capacity", &self.capacity())
            .field("growing", &self.is_growing())
            .finish()
    }
}

/// How full an index may get, in eighths of an entry per bucket, when the map is told to
/// overfill it (under `maxmemory`): 13/8, as Redis's dict, refused a growth over the limit,
/// chains up to a load of 1.618 before it grows anyway. Growing at one entry per bucket
/// would cost a new index (8 bytes per key) for the next key; chains a little longer cost
/// next to nothing.
pub const OVERFILL_EIGHTHS: usize = 13;

/// Entries an index of `buckets` buckets holds before it grows: one per bucket, or with
/// `overfill` [`OVERFILL_EIGHTHS`] eighths.
pub fn index_room(buckets: usize, overfill: bool) -> usize {
    if overfill {
        (buckets * OVERFILL_EIGHTHS / 8).max(buckets)
    } else {
        buckets
    }
}

/// Buckets an index holding `len` entries has: a power of two, one bucket per entry at
/// least (Redis's dict grows at the same load).
pub fn buckets_for(len: usize) -> usize {
    len.max(MIN_BUCKETS).next_power_of_two()
}

/// Where a chain's head is: in the old index or the current one, and at which bucket.
#[derive(Clone, Copy)]
enum Head {
    Old(usize),
    New(usize),
}

impl<V> PosMap<V> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries the map holds before it must allocate: the vector's room, and the index's
    /// (one entry per bucket).
    pub fn capacity(&self) -> usize {
        self.room(false)
    }

    /// [`Self::capacity`], or with `overfill` the room when the index may hold up to
    /// [`OVERFILL_EIGHTHS`] eighths of an entry per bucket before it must grow.
    pub fn room(&self, overfill: bool) -> usize {
        self.entries
            .capacity()
            .min(index_room(self.buckets.len(), overfill))
    }

    /// Buckets of the index (the new one while the index changes size).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Buckets of the index, and of the old one while the index changes size: what the
    /// index allocates is `BUCKET_BYTES` times that.
    pub fn index_buckets(&self) -> usize {
        self.buckets.len() + self.old.len()
    }

    /// True while chains are moving from an old index to one of another size.
    pub fn is_growing(&self) -> bool {
        !self.old.is_empty()
    }

    fn hash(&self, key: &[u8]) -> u32 {
        let hash = self.hasher.hash_one(key);
        (hash ^ (hash >> 32)) as u32
    }

    /// The head of the chain of entries with hash `hash`.
    #[inline]
    fn head(&self, hash: u32) -> Option<Head> {
        if !self.old.is_empty() {
            let bucket = hash as usize & (self.old.len() - 1);
            if bucket >= self.next_bucket {
                return Some(Head::Old(bucket));
            }
        }
        if self.buckets.is_empty() {
            return None;
        }
        Some(Head::New(hash as usize & (self.buckets.len() - 1)))
    }

    fn head_link(&self, head: Head) -> Link {
        match head {
            Head::Old(bucket) => self.old[bucket],
            Head::New(bucket) => self.buckets[bucket],
        }
    }

    fn head_link_mut(&mut self, head: Head) -> &mut Link {
        match head {
            Head::Old(bucket) => &mut self.old[bucket],
            Head::New(bucket) => &mut self.buckets[bucket],
        }
    }

    /// The position of `key` with hash `hash`. O(1): one chain, of one entry on average.
    #[inline]
    fn find(&self, hash: u32, key: &[u8]) -> Option<usize> {
        let mut next = self.head_link(self.head(hash)?);
        while next != 0 {
            let pos = next as usize - 1;
            let slot = &self.entries[pos];
            if slot.hash == hash && slot.key.as_slice() == key {
                return Some(pos);
            }
            next = slot.next;
        }
        None
    }

    /// Takes position `pos` out of the chain of hash `hash`, which holds it. O(chain).
    fn unlink(&mut self, hash: u32, pos: usize) {
        let Some(head) = self.head(hash) else {
            return;
        };
        let after = self.entries[pos].next;
        self.repoint(head, pos, after);
        if matches!(head, Head::Old(_)) {
            self.in_old -= 1;
        }
    }

    /// Makes the link to position `from` in its chain say `to`. O(chain).
    fn relink(&mut self, from: usize, to: usize) {
        if let Some(head) = self.head(self.entries[from].hash) {
            self.repoint(head, from, link(to));
        }
    }

    /// Makes the link that points at position `pos` in the chain at `head` (the head itself,
    /// or its predecessor's `next`) say `value`. O(chain).
    fn repoint(&mut self, head: Head, pos: usize, value: Link) {
        let target = link(pos);
        let mut next = self.head_link(head);
        if next == target {
            *self.head_link_mut(head) = value;
            return;
        }
        while next != 0 {
            let prev = next as usize - 1;
            next = self.entries[prev].next;
            if next == target {
                self.entries[prev].next = value;
                return;
            }
        }
    }

    #[inline]
    pub fn get_index_of(&self, key: &[u8]) -> Option<usize> {
        self.find(self.hash(key), key)
    }

    #[inline]
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get_index_of(key).is_some()
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let pos = self.get_index_of(key)?;
        Some(&self.entries[pos].value)
    }

    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let pos = self.get_index_of(key)?;
        Some(&mut self.entries[pos].value)
    }

    /// The position, key and value of `key`, for writing the value.
    #[inline]
    pub fn get_full_mut(&mut self, key: &[u8]) -> Option<(usize, &Key, &mut V)> {
        let pos = self.get_index_of(key)?;
        let slot = &mut self.entries[pos];
        Some((pos, &slot.key, &mut slot.value))
    }

    /// The key and value at position `pos`.
    #[inline]
    pub fn get_index(&self, pos: usize) -> Option<(&Key, &V)> {
        self.entries.get(pos).map(|slot| (&slot.key, &slot.value))
    }

    /// Keys and values in position order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Key, &V)> + ExactSizeIterator {
        self.entries.iter().map(|slot| (&slot.key, &slot.value))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Key> + ExactSizeIterator {
        self.entries.iter().map(|slot| &slot.key)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|slot| &mut slot.value)
    }

    /// Sets `key` to `value`; returns the value it replaced. A new key takes the next
    /// position. O(1) amortized: when the index is full, it starts growing, and each write
    /// after moves a few of its chains (see [`STEP_BUCKETS`]).
    pub fn insert(&mut self, key: Key, value: V) -> Option<V> {
        self.insert_with(key, value, false)
    }

    /// [`Self::insert`], the index growing only past [`Self::room`] with `overfill`.
    pub fn insert_with(&mut self, key: Key, value: V, overfill: bool) -> Option<V> {
        let hash = self.hash(&key);
        if let Some(pos) = self.find(hash, &key) {
            return Some(std::mem::replace(&mut self.entries[pos].value, value));
        }
        self.make_room_for_one(overfill);
        let pos = self.entries.len();
        let head = self.head(hash).expect("the index has buckets");
        let next = std::mem::replace(self.head_link_mut(head), link(pos));
        if matches!(head, Head::Old(_)) {
            self.in_old += 1;
        }
        self.entries.push(Slot {
            hash,
            next,
            key,
            value,
        });
        self.grow_step(STEP_BUCKETS);
        None
    }

    /// Room in the index for one more entry, starting a growth to twice its buckets when
    /// there is none (see [`Self::room`] for `overfill`).
    fn make_room_for_one(&mut self, overfill: bool) {
        if !self.buckets.is_empty() && self.len() < index_room(self.buckets.len(), overfill) {
            return;
        }
        self.resize_index(buckets_for(self.len() + 1).max(2 * self.buckets.len()));
    }

    /// Starts moving the chains to an index of `buckets` buckets, first ending a move still
    /// under way (a burst of writes that outran it). O(1) but for that.
    fn resize_index(&mut self, buckets: usize) {
        self.finish_growing();
        if buckets == self.buckets.len() {
            return;
        }
        let old = std::mem::replace(&mut self.buckets, vec![0; buckets]);
        if !self.entries.is_empty() {
            self.old = old;
            self.next_bucket = 0;
            self.in_old = self.entries.len();
        }
    }

    /// Moves the chains of up to `buckets` buckets of the old index to the new one; frees
    /// the old index once no entry is left in it. O(buckets + entries moved).
    pub fn grow_step(&mut self, buckets: usize) {
        if self.in_old == 0 {
            if !self.old.is_empty() {
                // Emptied by removals, or moved: its memory goes now.
                self.old = Vec::new();
                self.next_bucket = 0;
            }
            return;
        }
        let end = self.next_bucket.saturating_add(buckets).min(self.old.len());
        let mask = self.buckets.len() - 1;
        for bucket in self.next_bucket..end {
            let mut next = std::mem::take(&mut self.old[bucket]);
            while next != 0 {
                let pos = next as usize - 1;
                let slot = &mut self.entries[pos];
                next = slot.next;
                let to = slot.hash as usize & mask;
                slot.next = std::mem::replace(&mut self.buckets[to], link(pos));
                self.in_old -= 1;
            }
        }
        self.next_bucket = end;
        if self.in_old == 0 {
            self.old = Vec::new();
            self.next_bucket = 0;
        }
    }

    /// Ends a change of the index's size under way at once. O(entries left to move).
    pub fn finish_growing(&mut self) {
        if !self.old.is_empty() {
            self.grow_step(usize::MAX);
        }
    }

    /// Room for `additional` more entries, allocated now: the vector exactly, and when the
    /// index's room (see [`Self::room`] for `overfill`) is short, a new index of the power of
    /// two that holds them, its chains then moving over the writes that follow (and the
    /// cron) as in a growth. O(len) only when the vector moves (a realloc).
    pub fn reserve_exact(&mut self, additional: usize, overfill: bool) {
        self.entries.reserve_exact(additional);
        let wanted = self.len().saturating_add(additional);
        if wanted > index_room(self.buckets.len(), overfill) {
            let buckets = buckets_for(wanted).max(2 * self.buckets.len());
            self.resize_index(buckets);
        }
    }

    /// Gives back room beyond `min` entries (or the length, if larger), at once: eviction
    /// gives room back to get under `maxmemory` now. O(len).
    pub fn shrink_to(&mut self, min: usize) {
        let keep = min.max(self.len());
        self.entries.shrink_to(keep);
        if keep == 0 {
            self.finish_growing();
            self.buckets = Vec::new();
            return;
        }
        let buckets = buckets_for(keep);
        if buckets < self.buckets.len() {
            self.resize_index(buckets);
            self.finish_growing();
        }
    }

    /// Gives back what a [`Self::reserve_exact`] took, at once: the vector to `len` entries'
    /// room and the index to `buckets` buckets (what they were before it). O(len).
    pub fn undo_reserve(&mut self, len: usize, buckets: usize) {
        self.entries.shrink_to(len.max(self.len()));
        if buckets != self.buckets.len() && buckets >= MIN_BUCKETS {
            self.resize_index(buckets);
            self.finish_growing();
        }
    }

    /// Removes `key`; the last entry takes its position. Returns the position, key and value.
    /// O(1).
    pub fn swap_remove_full(&mut self, key: &[u8]) -> Option<(usize, Key, V)> {
        let removed = self.remove_without_step(key)?;
        self.grow_step(STEP_BUCKETS);
        Some(removed)
    }

    /// [`Self::swap_remove_full`] without moving any chain of a growth under way.
    fn remove_without_step(&mut self, key: &[u8]) -> Option<(usize, Key, V)> {
        let hash = self.hash(key);
        let pos = self.find(hash, key)?;
        self.unlink(hash, pos);
        let last = self.entries.len() - 1;
        if pos != last {
            self.relink(last, pos);
        }
        let slot = self.entries.swap_remove(pos);
        Some((pos, slot.key, slot.value))
    }

    /// Removes `key` as [`Self::swap_remove_full`] does; returns its value.
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<V> {
        self.swap_remove_full(key).map(|(_, _, value)| value)
    }
}

impl<V> IntoIterator for PosMap<V> {
    type Item = (Key, V);
    type IntoIter = std::iter::Map<std::vec::IntoIter<Slot<V>>, fn(Slot<V>) -> (Key, V)>;

    /// Keys and values in position order.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter().map(|slot| (slot.key, slot.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> Key {
        Key::from_slice(format!("key:{n}").as_bytes())
    }

    /// A map of keys `key(0)`, `key(1)`... just past the first growth that starts with at
    /// least `min_len` keys, that growth still under way; and how many keys it holds.
    fn growing_map(min_len: usize) -> (PosMap<usize>, usize) {
        let mut map = PosMap::default();
        let mut n = 0;
        while !map.is_growing() || map.len() < min_len {
            map.insert(key(n), n);
            n += 1;
        }
        (map, n)
    }

    /// The positions in the chains of `buckets`, from bucket `from` on.
    fn chained(map: &PosMap<usize>, buckets: &[Link], from: usize) -> Vec<usize> {
        let mut positions = Vec::new();
        for &head in &buckets[from..] {
            let mut next = head;
            while next != 0 {
                positions.push(next as usize - 1);
                next = map.entries[next as usize - 1].next;
            }
        }
        positions
    }

    /// Every key is found at the position its entry holds, no other key is found, and every
    /// position is in exactly one chain.
    fn check(map: &PosMap<usize>, present: impl Iterator<Item = usize>) {
        let mut count = 0;
        for n in present {
            let pos = map
                .get_index_of(&key(n))
                .unwrap_or_else(|| panic!("key {n} lost"));
            assert_eq!(map.get_index(pos).map(|(_, &v)| v), Some(n));
            count += 1;
        }
        assert_eq!(map.len(), count);
        let in_old = chained(map, &map.old, map.next_bucket);
        assert_eq!(in_old.len(), map.in_old);
        assert!(map.old[..map.next_bucket.min(map.old.len())]
            .iter()
            .all(|&head| head == 0));
        let mut all = chained(map, &map.buckets, 0);
        all.extend(in_old);
        all.sort_unstable();
        assert_eq!(all, (0..count).collect::<Vec<_>>(), "every position once");
    }

    #[test]
    fn a_full_index_grows_over_the_writes_that_follow() {
        let mut map = PosMap::default();
        let mut grew = 0;
        for n in 0..100_000 {
            let was_growing = map.is_growing();
            assert_eq!(map.insert(key(n), n), None);
            if map.is_growing() && !was_growing {
                grew += 1;
                // The write that started the growth moved 16 buckets' chains, not all of
                // them.
                let moved = map.len() - 1 - map.in_old;
                assert!(moved <= 64, "{moved} of {} moved at once", map.len());
            }
        }
        assert!(grew >= 10, "the index grew {grew} times");
        check(&map, 0..100_000);
        // Replacing keeps positions.
        assert_eq!(map.insert(key(7), 700), Some(7));
        assert_eq!(map.insert(key(7), 7), Some(700));
        check(&map, 0..100_000);
    }

    #[test]
    fn chains_stay_short() {
        let mut map = PosMap::default();
        for n in 0..(1 << 17) {
            map.insert(key(n), n);
        }
        map.finish_growing();
        assert_eq!(map.buckets.len(), 1 << 17);
        let longest = map
            .buckets
            .iter()
            .map(|&head| {
                let mut length = 0;
                let mut next = head;
                while next != 0 {
                    length += 1;
                    next = map.entries[next as usize - 1].next;
                }
                length
            })
            .max();
        // One entry per bucket on average: a uniform hash makes a chain of 12 unlikely
        // (about 1 in 10^9 per bucket).
        assert!(longest.is_some_and(|l| l < 12), "longest chain {longest:?}");
    }

    #[test]
    fn removals_and_lookups_during_a_growth_keep_every_key() {
        let (mut map, added) = growing_map(50_001);
        // Remove every third key while the growth goes on: positions in both indexes move.
        let mut removed = std::collections::HashSet::new();
        for n in (0..added).step_by(3) {
            let (pos, k, value) = map.swap_remove_full(&key(n)).expect("present");
            assert_eq!((k, value), (key(n), n));
            assert!(pos <= map.len());
            removed.insert(n);
            if n % 999 == 0 {
                check(&map, (0..added).filter(|n| !removed.contains(n)));
            }
        }
        assert!(!map.is_growing(), "the removals moved the rest");
        check(&map, (0..added).filter(|n| !removed.contains(n)));
        assert_eq!(map.swap_remove(&key(0)), None);
    }

    #[test]
    fn an_old_index_emptied_by_removals_is_freed() {
        let (mut map, n) = growing_map(1000);
        // Remove exactly the keys the old index still holds, the last by a write, the others
        // without moving any chain: the removals, not the moves, empty it.
        let keys: Vec<Key> = chained(&map, &map.old, map.next_bucket)
            .into_iter()
            .map(|pos| map.entries[pos].key.clone())
            .collect();
        let (last, rest) = keys.split_last().expect("keys in the old index");
        let next_bucket = map.next_bucket;
        for key in rest {
            map.remove_without_step(key);
        }
        assert_eq!(map.next_bucket, next_bucket, "nothing moved");
        assert!(map.is_growing() && map.in_old == 1);
        map.swap_remove(last);
        assert!(!map.is_growing());
        assert_eq!(map.old.capacity(), 0, "the emptied old index was freed");
        check(&map, (0..n).filter(|&k| !keys.contains(&key(k))));
    }

    #[test]
    fn the_cron_finishes_a_growth_without_writes() {
        let (mut map, n) = growing_map(1000);
        while map.is_growing() {
            map.grow_step(100);
        }
        check(&map, 0..n);
    }

    #[test]
    fn a_reserve_moves_over_the_writes_and_a_shrink_is_immediate() {
        let mut map = PosMap::default();
        for n in 0..10_000 {
            map.insert(key(n), n);
        }
        map.finish_growing();
        map.reserve_exact(50_000, false);
        assert!(map.is_growing(), "the chains move later");
        assert!(map.capacity() >= 60_000);
        check(&map, 0..10_000);
        for n in 0..9_000 {
            map.swap_remove(&key(n));
        }
        map.shrink_to(2_000);
        assert!(!map.is_growing());
        assert!(
            map.capacity() < 60_000 && map.capacity() >= 2_000,
            "{}",
            map.capacity()
        );
        check(&map, 9_000..10_000);
        for n in 9_000..10_000 {
            map.swap_remove(&key(n));
        }
        map.shrink_to(0);
        assert_eq!((map.capacity(), map.index_buckets()), (0, 0));
        map.insert(key(1), 1);
        check(&map, 1..2);
    }

    #[test]
    fn an_overfilled_index_grows_at_13_entries_per_8_buckets_and_an_undone_reserve_is_given_back() {
        let mut map = PosMap::default();
        for n in 0..1024 {
            map.insert_with(key(n), n, true);
        }
        map.finish_growing();
        assert_eq!(map.bucket_count(), 1024);
        for n in 1024..1664 {
            map.insert_with(key(n), n, true);
        }
        assert_eq!(map.bucket_count(), 1024, "overfilled to 13/8");
        map.insert_with(key(1664), 1664, true);
        assert_eq!(map.bucket_count(), 2048);
        check(&map, 0..1665);
        assert_eq!(index_room(4, true), 6);
        // A reserve past the room, undone: the vector and the index are what they were.
        map.finish_growing();
        let (len, buckets) = (map.len(), map.bucket_count());
        map.reserve_exact(len, true);
        assert_eq!(map.bucket_count(), 4096);
        map.undo_reserve(len, buckets);
        assert_eq!(
            (map.bucket_count(), map.is_growing(), map.entries.capacity()),
            (buckets, false, len)
        );
        check(&map, 0..1665);
    }

    #[test]
    fn writes_during_a_shrinking_move_keep_every_key() {
        let mut map = PosMap::default();
        for n in 0..20_000 {
            map.insert(key(n), n);
        }
        map.finish_growing();
        for n in 0..18_000 {
            map.swap_remove(&key(n));
        }
        // A move to a smaller index, left under way: several old buckets feed each new one.
        map.resize_index(buckets_for(4_000));
        assert!(map.is_growing());
        for n in 20_000..21_000 {
            map.insert(key(n), n);
            map.swap_remove(&key(n - 2_000));
        }
        check(&map, 19_000..21_000);
        map.finish_growing();
        check(&map, 19_000..21_000);
    }

    #[test]
    fn churn_at_a_steady_size_keeps_the_index_at_its_size() {
        let mut map = PosMap::default();
        for n in 0..1_000 {
            map.insert(key(n), n);
        }
        map.finish_growing();
        let buckets = map.buckets.len();
        // Each key added replaces one removed.
        for n in 1_000..200_000 {
            map.swap_remove(&key(n - 1_000));
            map.insert(key(n), n);
        }
        assert_eq!(map.buckets.len(), buckets);
        assert!(!map.is_growing());
        check(&map, 199_000..200_000);
    }
}
