//! The insertion-indexed hash map behind each database's keys and expiries: entries in a
//! vector (positions give RANDOMKEY, sampling and SCAN cursors, see [`super::keyspace`]) and a
//! hash index of positions.
//!
//! Written here rather than taken from `indexmap` because its index must grow incrementally,
//! as Redis's dict rehashes incrementally: `indexmap` rebuilds the whole index when it grows,
//! which stalled every client for 150 ms at 3.7 million keys (and twice that at twice the
//! keys). Here a growing index is replaced by a larger one, and the positions move over a
//! few buckets at a time, on each write and from the server's cron, while lookups consult
//! both. Growth asked for with [`PosMap::reserve_exact`] (the planned growth under
//! `maxmemory`, which must know what it allocates when) stays immediate, as do shrinking and
//! [`PosMap::rebuild_index`].

use super::{Hasher, Key};
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Buckets of the old index moved by each write while the index grows: about 14 positions
/// (an index is at most 7/8 full), a few hundred nanoseconds, so a growth ends after
/// 1/16 as many writes as the old index has buckets.
const STEP_BUCKETS: usize = 16;

/// One entry: its key's hash (kept, so the index moves without hashing keys again), key and
/// value.
#[derive(Debug, Clone)]
pub struct Slot<V> {
    hash: u64,
    key: Key,
    value: V,
}

/// Keys to values, each at a position from 0 to `len - 1`; removing a key moves the last
/// entry into its position.
#[derive(Clone)]
pub struct PosMap<V> {
    entries: Vec<Slot<V>>,
    /// Positions by hash. While the index grows, it is the new, larger one.
    index: HashTable<usize>,
    /// While the index grows, the one it replaces: its positions move to `index` from bucket
    /// `next_bucket` on. Empty (and unallocated) otherwise. Every position is in exactly one
    /// of the two.
    old: HashTable<usize>,
    next_bucket: usize,
    hasher: Hasher,
}

impl<V> Default for PosMap<V> {
    fn default() -> Self {
        PosMap {
            entries: Vec::new(),
            index: HashTable::new(),
            old: HashTable::new(),
            next_bucket: 0,
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

/// Entries an index of `buckets` buckets holds (hashbrown's load factor: 7 in 8, and one
/// bucket free below 8).
fn bucket_capacity(buckets: usize) -> usize {
    if buckets < 8 {
        buckets.saturating_sub(1)
    } else {
        buckets / 8 * 7
    }
}

impl<V> PosMap<V> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries the map holds before it must allocate: the vector's room, and the index's
    /// (the positions still in the old index take room in the new one as they move).
    pub fn capacity(&self) -> usize {
        self.entries.capacity().min(self.index.capacity())
    }

    /// True while positions are moving from an old index to a larger one.
    pub fn is_growing(&self) -> bool {
        !self.old.is_empty()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The position of `key` with hash `hash`. O(1); while the index grows, a miss probes
    /// both indexes.
    #[inline]
    fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        let eq = |&pos: &usize| entries[pos].key.as_slice() == key;
        match self.index.find(hash, eq) {
            Some(&pos) => Some(pos),
            None if !self.old.is_empty() => self.old.find(hash, eq).copied(),
            None => None,
        }
    }

    /// The index slot (in whichever index holds it) that says `pos`, for entry hash `hash`.
    fn slot_of(&mut self, hash: u64, pos: usize) -> Option<&mut usize> {
        let in_index = self.index.find_mut(hash, |&p| p == pos);
        match in_index {
            Some(slot) => Some(slot),
            None => self.old.find_mut(hash, |&p| p == pos),
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
    /// after moves a few of its positions (see [`STEP_BUCKETS`]).
    pub fn insert(&mut self, key: Key, value: V) -> Option<V> {
        let hash = self.hash(&key);
        if let Some(pos) = self.find(hash, &key) {
            return Some(std::mem::replace(&mut self.entries[pos].value, value));
        }
        self.make_room_for_one();
        let pos = self.entries.len();
        self.entries.push(Slot { hash, key, value });
        let entries = &self.entries;
        self.index.insert_unique(hash, pos, |&p| entries[p].hash);
        self.grow_step(STEP_BUCKETS);
        None
    }

    /// Room in the index for one more position, starting a growth when there is none. An
    /// index left with no room by removals' marks (hashbrown's tombstones) while at most half
    /// full is rebuilt at its size; otherwise it doubles, as hashbrown would.
    fn make_room_for_one(&mut self) {
        if self.len() < self.index.capacity() {
            return;
        }
        // A growth still under way when the next one is due (a burst of writes that
        // outran it): it ends now.
        self.finish_growing();
        if self.len() < self.index.capacity() {
            return;
        }
        let full = bucket_capacity(self.index.num_buckets());
        let target = if self.len() < full / 2 {
            full
        } else {
            (self.len() + 1).max(full + 1)
        };
        self.old = std::mem::replace(&mut self.index, HashTable::with_capacity(target));
        self.next_bucket = 0;
        if self.old.is_empty() {
            // Nothing to move (all its keys were removed): its memory goes at once.
            self.old = HashTable::new();
        }
    }

    /// Moves the positions of up to `buckets` buckets of the old index to the new one; frees
    /// the old index once it is empty. O(buckets).
    pub fn grow_step(&mut self, buckets: usize) {
        if self.old.is_empty() {
            // Emptied by removals rather than moves: its memory goes now.
            if self.old.num_buckets() > 1 {
                self.old = HashTable::new();
                self.next_bucket = 0;
            }
            return;
        }
        let end = (self.next_bucket + buckets).min(self.old.num_buckets());
        let entries = &self.entries;
        for bucket in self.next_bucket..end {
            if let Ok(slot) = self.old.get_bucket_entry(bucket) {
                let (pos, _) = slot.remove();
                self.index
                    .insert_unique(entries[pos].hash, pos, |&p| entries[p].hash);
            }
        }
        self.next_bucket = end;
        if self.old.is_empty() {
            self.old = HashTable::new();
            self.next_bucket = 0;
        }
    }

    /// Ends a growth under way at once. O(positions left to move).
    pub fn finish_growing(&mut self) {
        if !self.old.is_empty() {
            self.grow_step(usize::MAX - self.next_bucket);
        }
    }

    /// Room for `additional` more entries, allocated now (the vector exactly, the index to
    /// its next size). O(len) when the index moves.
    pub fn reserve_exact(&mut self, additional: usize) {
        self.finish_growing();
        self.entries.reserve_exact(additional);
        let entries = &self.entries;
        self.index.reserve(additional, |&p| entries[p].hash);
    }

    /// Gives back room beyond `min` entries (or the length, if larger). O(len).
    pub fn shrink_to(&mut self, min: usize) {
        self.finish_growing();
        self.entries.shrink_to(min);
        let entries = &self.entries;
        self.index.shrink_to(min, |&p| entries[p].hash);
    }

    /// Rebuilds the index where it is, without the marks removals left (which take room
    /// until then), allocating nothing. O(len).
    pub fn rebuild_index(&mut self) {
        self.finish_growing();
        self.index.clear();
        let entries = &self.entries;
        for (pos, slot) in entries.iter().enumerate() {
            self.index
                .insert_unique(slot.hash, pos, |&p| entries[p].hash);
        }
    }

    /// Removes `key`; the last entry takes its position. Returns the position, key and value.
    /// O(1).
    pub fn swap_remove_full(&mut self, key: &[u8]) -> Option<(usize, Key, V)> {
        let hash = self.hash(key);
        let entries = &self.entries;
        let eq = |&pos: &usize| entries[pos].key.as_slice() == key;
        let pos = match self.index.find_entry(hash, eq) {
            Ok(found) => found.remove().0,
            Err(_) => self.old.find_entry(hash, eq).ok()?.remove().0,
        };
        let last = self.entries.len() - 1;
        if pos != last {
            let last_hash = self.entries[last].hash;
            if let Some(slot) = self.slot_of(last_hash, last) {
                *slot = pos;
            }
        }
        let slot = self.entries.swap_remove(pos);
        self.grow_step(STEP_BUCKETS);
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

    /// Every key is found at the position its entry holds, and no other key is found.
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
        assert_eq!(
            map.index.len() + map.old.len(),
            count,
            "every position indexed once"
        );
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
                // The write that started the growth moved at most 16 buckets' positions
                // (the new key went straight to the new index), not all of them.
                let moved = map.len() - 1 - map.old.len();
                assert!(
                    moved <= STEP_BUCKETS,
                    "{moved} of {} moved at once",
                    map.len()
                );
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
    fn removals_and_lookups_during_a_growth_keep_every_key() {
        let (mut map, added) = growing_map(50_001);
        // Remove every third key while the growth goes on: positions in both indexes move.
        let mut removed = std::collections::HashSet::new();
        for n in (0..added).step_by(3) {
            let (pos, k, value) = map.swap_remove_full(&key(n)).expect("present");
            assert_eq!((k, value), (key(n), n));
            assert!(pos <= map.len());
            removed.insert(n);
        }
        assert!(!map.is_growing(), "the removals moved the rest");
        check(&map, (0..added).filter(|n| !removed.contains(n)));
        assert_eq!(map.swap_remove(&key(0)), None);
    }

    #[test]
    fn an_old_index_emptied_by_removals_is_freed() {
        let (mut map, n) = growing_map(1000);
        // Remove exactly the keys the old index still holds: no write moves them.
        let left: Vec<usize> = map.old.iter().copied().collect();
        let keys: Vec<Key> = left
            .iter()
            .map(|&pos| map.entries[pos].key.clone())
            .collect();
        for key in &keys {
            map.swap_remove(key);
        }
        assert!(!map.is_growing());
        assert_eq!(map.old.num_buckets(), 1, "the emptied old index was freed");
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
    fn reserving_shrinking_and_rebuilding_are_immediate() {
        let mut map = PosMap::default();
        for n in 0..10_000 {
            map.insert(key(n), n);
        }
        map.reserve_exact(50_000);
        assert!(!map.is_growing());
        assert!(map.capacity() >= 60_000);
        for n in 0..9_000 {
            map.swap_remove(&key(n));
        }
        map.shrink_to(2_000);
        assert!(
            map.capacity() < 60_000 && map.capacity() >= 2_000,
            "{}",
            map.capacity()
        );
        map.rebuild_index();
        check(&map, 9_000..10_000);
    }

    #[test]
    fn an_index_full_of_removal_marks_is_rebuilt_at_its_size() {
        let mut map = PosMap::default();
        for n in 0..1_000 {
            map.insert(key(n), n);
        }
        map.finish_growing();
        let buckets = map.index.num_buckets();
        // Churn: each key added replaces one removed, at a small size.
        for n in 1_000..200_000 {
            map.swap_remove(&key(n - 1_000));
            map.insert(key(n), n);
        }
        map.finish_growing();
        assert!(
            map.index.num_buckets() <= 2 * buckets,
            "churn at a steady size grew the index from {buckets} to {} buckets",
            map.index.num_buckets()
        );
        check(&map, 199_000..200_000);
    }
}
