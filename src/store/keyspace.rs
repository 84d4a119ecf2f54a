//! Databases, keys, expiry and the record of what changed.
//!
//! Each database keeps its keys in an insertion-indexed hash map. Positions give O(1)
//! RANDOMKEY and expiry sampling, and a SCAN cursor that walks positions downwards keeps
//! Redis's guarantee (every key present for the whole scan is returned): deletion moves only
//! the last entry, which a descending walk has already visited or has yet to visit either way.

use super::access::{AccessClock, AccessPolicy};
use super::evict::{EvictionPool, Ranking, Sampling};
use super::limits::EncodingLimits;
use super::posmap::{buckets_for, index_room, PosMap, Slot, BUCKET_BYTES};
use super::value::{ColdValue, Value};
use super::{FastMap, FastSet, StoreError, StoreResult};
use rand::Rng;
use std::collections::VecDeque;

/// A key: binary-safe bytes, stored inline up to 16 bytes.
pub type Key = super::ShortBytes;

/// The keys of one database with their values and, at the same positions, their access words
/// (see [`super::access`]): 4 bytes per key, read and written by position, so recording an
/// access needs no second hash lookup, and eviction can sample positions and find both. Only
/// this type's methods change the map, which keeps the two in step; reads go through `Deref`.
#[derive(Debug, Default)]
struct Entries {
    map: PosMap<Value>,
    access: Vec<u32>,
    /// How many of the values are cold records ([`Value::Cold`]): while none is, commands
    /// need not look for cold keys.
    cold: usize,
    /// Keys and expiries added to the database since its tables were made, for spacing out
    /// undone growths (see [`Keyspace::grow_within`]). Kept here, beside `rebuilt_at`,
    /// because the tables move together (SWAPDB, FLUSHDB, loading).
    additions: u64,
    /// What `additions` was when [`Keyspace::grow_within`] last had to undo a growth.
    rebuilt_at: Option<u64>,
    /// Redis's `avg_ttl` estimate of the time to live left to keys with an expiry, in
    /// milliseconds (see [`Keyspace::expire_cycle`]); 0 while none has been sampled. Kept
    /// with the tables, as Redis swaps it with them (SWAPDB) and a flush resets it.
    avg_ttl: u64,
}

impl std::ops::Deref for Entries {
    type Target = PosMap<Value>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl Entries {
    /// Adds `key`, which must be absent, with access word `word`. O(1) amortized. With
    /// `tight_growth`, a full table grows by an eighth instead of doubling.
    fn insert_new(&mut self, key: &[u8], value: Value, word: u32, tight_growth: bool) {
        if tight_growth && self.map.len() >= self.map.room(true) {
            self.reserve_exact(tight_step(self.map.len()), true);
        }
        self.cold += usize::from(value.is_cold());
        self.count_addition();
        self.map.insert_with(key.into(), value, tight_growth);
        // The words grow when the map does, to the map's room: growing on their own schedule
        // (doubling when full) would allocate where `growth_on_insert` sees the map with room,
        // and push memory past `maxmemory` unaccounted.
        let room = self.map.room(tight_growth);
        if self.access.capacity() < room {
            self.access.reserve_exact(room - self.access.len());
        }
        self.access.push(word);
    }

    /// Counts a key or an expiry added to the database (see `additions`).
    fn count_addition(&mut self) {
        self.additions = self.additions.wrapping_add(1);
    }

    /// True while an undone growth (an O(len) shrink) is too recent to try another: once per
    /// 8 * `len` additions at most (see [`Keyspace::grow_within`]).
    fn rebuilt_lately(&self) -> bool {
        let len = self.map.len() as u64;
        self.rebuilt_at
            .is_some_and(|at| self.additions.wrapping_sub(at) < 8 * len)
    }

    /// Room for `step` more entries, and their access words. O(len) only when a vector
    /// moves (see [`PosMap::reserve_exact`]).
    fn reserve_exact(&mut self, step: usize, overfill: bool) {
        self.map.reserve_exact(step, overfill);
        self.access.reserve_exact(step);
    }

    /// Gives back the room beyond `keep` entries (and their access words). O(len).
    fn shrink_to(&mut self, keep: usize) {
        self.map.shrink_to(keep);
        self.access.shrink_to(keep);
    }

    /// Removes `key`; the last entry takes its position, as in the map. O(1).
    fn swap_remove(&mut self, key: &[u8]) -> Option<Value> {
        let (index, _, value) = self.map.swap_remove_full(key)?;
        self.access.swap_remove(index);
        self.cold -= usize::from(value.is_cold());
        Some(value)
    }

    /// The value of `key`, for writing, and its access word. O(1).
    #[inline]
    fn get_with_access_mut(&mut self, key: &[u8]) -> Option<(&mut Value, &mut u32)> {
        let (index, _, value) = self.map.get_full_mut(key)?;
        let word = self.access.get_mut(index)?;
        Some((value, word))
    }

    /// Every value held in memory, for replacing in place (keys and positions stay; cold
    /// records are left out). O(1) per step.
    fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.map.values_mut().filter(|value| !value.is_cold())
    }

    /// Replaces the value at `key` with `value`, keeping the count of cold records; returns
    /// the value it held. O(1).
    fn replace(&mut self, key: &[u8], value: Value) -> Option<Value> {
        let slot = self.map.get_mut(key)?;
        let new_cold = value.is_cold();
        let old = std::mem::replace(slot, value);
        self.cold = self.cold + usize::from(new_cold) - usize::from(old.is_cold());
        Some(old)
    }

    /// The map, the access words dropped.
    fn into_map(self) -> PosMap<Value> {
        self.map
    }
}

/// How many slots a full table grows by under `maxmemory` (an eighth, at least 16): the
/// table's growth is what a key about to be added may cost, and a doubling would cost as much
/// as the table itself (see [`Keyspace::growth_on_insert`]). Still geometric, so O(1)
/// amortized.
fn tight_step(len: usize) -> usize {
    (len / 8).max(MIN_STEP)
}

/// The fewest slots a table grows by: fewer would move a large table for every few keys.
const MIN_STEP: usize = 16;

/// The fewest slots a table of `len` entries grows by when it grows by less than its usual
/// step: a 64th, so that moving the table costs O(1) per key added, amortized.
fn min_step(len: usize) -> usize {
    (len / 64).max(MIN_STEP)
}

/// A table's index: its buckets, and the entries it holds before it grows (see
/// [`PosMap::room`]).
#[derive(Clone, Copy)]
struct IndexSize {
    buckets: usize,
    room: usize,
}

impl IndexSize {
    fn of<V>(map: &PosMap<V>, overfill: bool) -> IndexSize {
        let buckets = map.bucket_count();
        IndexSize {
            buckets,
            room: index_room(buckets, overfill),
        }
    }

    /// Bytes of the index that replaces this one when it grows (twice the buckets),
    /// allocated whole while the old one's chains move over to it (see
    /// [`PosMap::reserve_exact`]).
    fn grown_bytes(self) -> usize {
        2 * self.buckets * BUCKET_BYTES
    }
}

/// Bytes a table of `len` entries with index `index` allocates to grow by `step` slots of
/// `slot` bytes: the slots, and a new index when they do not fit in this one.
fn growth_cost(len: usize, index: IndexSize, step: usize, slot: usize) -> usize {
    let grown = if len + step > index.room {
        index
            .grown_bytes()
            .max(buckets_for(len + step) * BUCKET_BYTES)
    } else {
        0
    };
    step * slot + grown
}

/// The largest step, from [`min_step`] (or `max` when smaller) to `max` slots, whose growth
/// `budget` bytes pay for, if any, for a table of `len` entries and index `index`.
fn affordable_step(
    len: usize,
    index: IndexSize,
    max: usize,
    slot: usize,
    budget: usize,
) -> Option<usize> {
    // A table this small costs too little to plan for.
    if len < MIN_STEP {
        return None;
    }
    let in_index = index.room.saturating_sub(len).min(max).min(budget / slot);
    // A step past the room takes an index of twice the buckets, as long as it stays within
    // them (what `growth_cost` charges).
    let with_index = budget
        .checked_sub(index.grown_bytes())
        .map(|left| {
            (left / slot)
                .min(max)
                .min((2 * index.buckets).saturating_sub(len))
        })
        .filter(|&step| len + step > index.room)
        .unwrap_or(0);
    Some(in_index.max(with_index)).filter(|&step| step > 0 && step >= min_step(len).min(max))
}

/// One numbered database.
#[derive(Debug, Default)]
pub struct Db {
    entries: Entries,
    /// Absolute expiry times in Unix milliseconds, for keys that have one.
    expires: PosMap<u64>,
    /// Keys some blocked client waits on, with how many clients wait.
    waited: FastMap<Key, u32>,
    /// Keys some client WATCHes: (client id, the key was already logically expired when it
    /// was watched).
    watched: FastMap<Key, Vec<(u64, bool)>>,
}

/// The keys and expiries a flush took out of a database: freeing them is the caller's
/// choice of thread.
#[derive(Debug, Default)]
pub struct FlushedData {
    entries: PosMap<Value>,
    // Held only to be freed with the rest.
    #[allow(dead_code)]
    expires: PosMap<u64>,
}

impl FlushedData {
    /// How many keys it holds. O(1).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Every database's keys, values and expiries as [`Keyspace::copy_data`] found them.
#[derive(Debug, Default)]
pub struct DataCopy {
    dbs: Vec<(PosMap<Value>, PosMap<u64>)>,
}

/// Why [`Keyspace::write_rdb`] wrote nothing: this many values live only in MongoDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdKeys(pub usize);

/// Counters reported by INFO stats.
#[derive(Debug, Default, Clone)]
pub struct KeyspaceStats {
    pub expired_keys: u64,
    /// Keys evicted for `maxmemory`.
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
}

/// What changed since the persistence layer last looked: the store records, it does not act.
#[derive(Debug, Default)]
pub struct ChangeLog {
    /// Writes since start (Redis's `server.dirty`).
    pub writes: u64,
    /// Keys to persist per database, when tracking is on; a key written many times is
    /// recorded once. In a database marked in `whole`, only deleted keys.
    dirty: Option<Vec<FastSet<Key>>>,
    /// Databases where most keys changed since the last hand-off: every key counts as
    /// changed, and only deletions are still recorded one by one. Recording each write costs a
    /// lookup in a set as large as the changes; when nearly every key changes (bulk loads,
    /// writes over random keys) that is wasted, since persistence will visit them all anyway.
    whole: Vec<bool>,
    /// Databases flushed since the last hand-off, in order (`None` = all of them).
    flushed: Vec<Option<usize>>,
    /// Cold records RENAME moved since the last hand-off, in order: (database, from, to).
    /// The value is MongoDB's only, so persistence moves the stored documents too.
    cold_moves: Vec<(usize, Key, Key)>,
    /// Waited-on keys made ready and not yet served, in the order they were signalled (each
    /// at most once while it is in line), as Redis's `ready_keys`.
    ready: VecDeque<(usize, Key)>,
    /// How many waits there are per awaited type (`None`: any type), across databases: a key
    /// created with a type nobody waits for is not signalled, as in Redis.
    waited_types: Vec<(Option<&'static str>, u32)>,
    /// Clients whose watched keys changed since they watched them: their EXEC fails.
    cas_dirty: FastSet<u64>,
    /// Which [`KeyEventKind`]s to record (a bit per kind; 0 = record nothing).
    event_kinds: u8,
    /// Key events recorded for keyspace notifications, oldest first.
    key_events: Vec<KeyEvent>,
    /// Changes client-side caching must hear of, oldest first, while the server asks for
    /// them (see [`Keyspace::record_touched`]); `None` records nothing.
    touched: Option<Vec<Touched>>,
}

/// A change that invalidates what clients may have cached (client-side caching). Keys are
/// recorded without their database: clients cache keys by name, as in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// The key changed or was deleted; `expired` when its expiry passed (no command of any
    /// client changed it).
    Key { key: Key, expired: bool },
    /// A database, or all of them, was flushed.
    Flush,
}

/// Something that happened to a key inside the store, outside any command's own logic, that
/// keyspace notifications report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEventKind {
    /// Deleted because its expiry passed (lazily or by the active cycle).
    Expired = 1,
    /// Created (did not exist before).
    New = 2,
    /// Looked up for reading and not found.
    Miss = 4,
    /// Deleted to bring memory under `maxmemory`.
    Evicted = 8,
}

/// One recorded key event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    pub db: usize,
    pub kind: KeyEventKind,
    pub key: Key,
}

/// Changes handed to persistence in one batch.
#[derive(Debug, Default)]
pub struct ChangeBatch {
    pub flushed: Vec<Option<usize>>,
    pub keys: Vec<(usize, Key)>,
    /// Databases every key of which counts as changed (`keys` then holds only their deleted
    /// keys).
    pub whole: Vec<usize>,
    /// Cold records renamed, in order: (database, from, to). Their stored documents are to be
    /// moved before any later write of either key.
    pub cold_moves: Vec<(usize, Key, Key)>,
}

impl ChangeLog {
    /// Puts waited-on `key` of database `db`, now holding a value of `type_name`, in line to
    /// be served if some client waits for that type and it is not in line already. O(keys in
    /// line).
    fn signal(&mut self, db: usize, key: &[u8], type_name: &'static str) {
        let awaited = self
            .waited_types
            .iter()
            .any(|(t, _)| t.is_none_or(|t| t == type_name));
        if awaited && !self.ready.iter().any(|(d, k)| *d == db && &**k == key) {
            self.ready.push_back((db, key.into()));
        }
    }
}

/// A database switches to recording only deletions (see `ChangeLog::whole`) once this many of
/// its keys, and more than half of them, changed since the last hand-off.
pub const WHOLE_DB_MIN_KEYS: usize = 10_000;

/// All databases, the clock they expire by, and the change record.
#[derive(Debug)]
pub struct Keyspace {
    dbs: Vec<Db>,
    now_ms: u64,
    access: AccessClock,
    pub stats: KeyspaceStats,
    changes: ChangeLog,
    /// When values leave their compact encodings (set from the configuration).
    limits: EncodingLimits,
    /// While set, expired keys read as missing but stay stored (see
    /// [`Keyspace::keep_expired_keys`]).
    keep_expired: bool,
    /// Full tables grow by small steps (set while `maxmemory` is on).
    tight_growth: bool,
}

/// A database opened for one command: the database plus what every operation must update.
pub struct DbMut<'a> {
    pub index: usize,
    db: &'a mut Db,
    now_ms: u64,
    access: &'a mut AccessClock,
    stats: &'a mut KeyspaceStats,
    changes: &'a mut ChangeLog,
    pub(super) limits: &'a EncodingLimits,
    keep_expired: bool,
    tight_growth: bool,
}

/// Expiry state of a key, as TTL/PTTL/EXPIRETIME report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    Missing,
    Persistent,
    /// Absolute Unix milliseconds.
    At(u64),
}

impl Keyspace {
    /// `count` empty databases.
    pub fn new(count: usize) -> Self {
        Keyspace {
            dbs: (0..count.max(1)).map(|_| Db::default()).collect(),
            now_ms: 0,
            access: AccessClock::default(),
            stats: KeyspaceStats::default(),
            changes: ChangeLog::default(),
            limits: EncodingLimits::default(),
            keep_expired: false,
            tight_growth: false,
        }
    }

    /// Makes full tables grow by small steps rather than double (while `maxmemory` is on:
    /// see [`Self::growth_on_insert`]). O(1).
    pub fn set_tight_growth(&mut self, on: bool) {
        self.tight_growth = on;
    }

    /// The encoding thresholds writes apply from now on (values already converted stay so,
    /// as in Redis). O(1).
    pub fn set_encoding_limits(&mut self, limits: EncodingLimits) {
        self.limits = limits;
    }

    pub fn encoding_limits(&self) -> EncodingLimits {
        self.limits
    }

    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Sets the time used for expiry decisions; the caller reads the clock once per batch.
    pub fn set_clock(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.access.set_now_ms(now_ms);
    }

    /// Sets how key accesses are recorded (from `maxmemory-policy`); words already stored
    /// are reinterpreted, as in Redis.
    pub fn set_access_policy(&mut self, policy: AccessPolicy) {
        self.access.policy = policy;
    }

    pub fn access_policy(&self) -> AccessPolicy {
        self.access.policy
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Opens database `index` for one operation. Panics never: an out-of-range index is a
    /// caller bug and is clamped to the last database.
    pub fn db(&mut self, index: usize) -> DbMut<'_> {
        let index = index.min(self.dbs.len() - 1);
        DbMut {
            index,
            db: &mut self.dbs[index],
            now_ms: self.now_ms,
            access: &mut self.access,
            stats: &mut self.stats,
            changes: &mut self.changes,
            limits: &self.limits,
            keep_expired: self.keep_expired,
            tight_growth: self.tight_growth,
        }
    }

    /// While `keep` holds, a key whose expiry has passed reads as missing but is not deleted,
    /// as Redis does while CLIENT PAUSE holds writes: deleting it would be a write, which
    /// the pause promises not to make (a replica or the MongoDB copy stays as it was).
    pub fn keep_expired_keys(&mut self, keep: bool) {
        self.keep_expired = keep;
    }

    /// Starts recording dirty keys for persistence.
    pub fn track_changes(&mut self) {
        let dbs = self.dbs.len();
        self.changes
            .dirty
            .get_or_insert_with(|| (0..dbs).map(|_| FastSet::default()).collect());
        self.changes.whole = vec![false; dbs];
    }

    /// Records that one more client waits on `key` of database `db` for a value of type
    /// `awaited` (a [`Value::type_name`]; `None`: any type). O(1).
    pub fn add_waiter(&mut self, db: usize, key: &[u8], awaited: Option<&'static str>) {
        if let Some(db) = self.dbs.get_mut(db) {
            *db.waited.entry(key.into()).or_insert(0) += 1;
            let types = &mut self.changes.waited_types;
            match types.iter_mut().find(|(t, _)| *t == awaited) {
                Some((_, count)) => *count += 1,
                None => types.push((awaited, 1)),
            }
        }
    }

    /// Records that a client stopped waiting on `key` (with the `awaited` type it was added
    /// with). O(1).
    pub fn remove_waiter(&mut self, db: usize, key: &[u8], awaited: Option<&'static str>) {
        if let Some(db) = self.dbs.get_mut(db) {
            if let Some(count) = db.waited.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    db.waited.remove(key);
                }
                let types = &mut self.changes.waited_types;
                if let Some(at) = types.iter().position(|(t, _)| *t == awaited) {
                    types[at].1 -= 1;
                    if types[at].1 == 0 {
                        types.swap_remove(at);
                    }
                }
            }
        }
    }

    /// True if a waited-on key is ready to be served.
    pub fn has_ready(&self) -> bool {
        !self.changes.ready.is_empty()
    }

    /// The next ready key to serve, oldest signal first. A key can be signalled again once it
    /// was taken, so serving one key may queue more behind the rest. O(1).
    pub fn pop_ready(&mut self) -> Option<(usize, Key)> {
        self.changes.ready.pop_front()
    }

    /// Chooses which key events are recorded for [`Self::take_key_events`] (a bitwise OR of
    /// [`KeyEventKind`] values). O(1).
    pub fn set_key_event_kinds(&mut self, kinds: u8) {
        self.changes.event_kinds = kinds;
        if kinds == 0 {
            self.changes.key_events.clear();
        }
    }

    /// True if key events were recorded since the last [`Self::take_key_events`]. O(1).
    #[inline]
    pub fn has_key_events(&self) -> bool {
        !self.changes.key_events.is_empty()
    }

    /// The key events recorded since the last call, oldest first.
    pub fn take_key_events(&mut self) -> Vec<KeyEvent> {
        std::mem::take(&mut self.changes.key_events)
    }

    /// Starts (`on`) or stops recording the [`Touched`] changes; stopping forgets those not
    /// taken yet. O(1).
    pub fn record_touched(&mut self, on: bool) {
        match (on, self.changes.touched.is_some()) {
            (true, false) => self.changes.touched = Some(Vec::new()),
            (false, true) => self.changes.touched = None,
            _ => {}
        }
    }

    /// True if [`Touched`] changes were recorded since the last [`Self::take_touched`]. O(1).
    #[inline]
    pub fn has_touched(&self) -> bool {
        self.changes.touched.as_ref().is_some_and(|t| !t.is_empty())
    }

    /// Swaps the changes recorded since the last call into `into` (which should be empty:
    /// its buffer is kept for the next ones, so recording does not allocate anew). O(1).
    pub fn take_touched(&mut self, into: &mut Vec<Touched>) {
        if let Some(touched) = self.changes.touched.as_mut() {
            std::mem::swap(touched, into);
        }
    }

    /// Records that `client` WATCHes `key` of database `db`. O(watchers of the key).
    pub fn watch(&mut self, db: usize, key: &[u8], client: u64) {
        let now = self.now_ms;
        let Some(db) = self.dbs.get_mut(db) else {
            return;
        };
        let expired =
            db.entries.contains_key(key) && db.expires.get(key).is_some_and(|&when| when <= now);
        let watchers = db.watched.entry(key.into()).or_default();
        if !watchers.iter().any(|&(id, _)| id == client) {
            watchers.push((client, expired));
        }
    }

    /// Forgets that `client` WATCHes `key` of database `db`. O(watchers of the key).
    pub fn unwatch(&mut self, db: usize, key: &[u8], client: u64) {
        if let Some(db) = self.dbs.get_mut(db) {
            if let Some(watchers) = db.watched.get_mut(key) {
                watchers.retain(|&(id, _)| id != client);
                if watchers.is_empty() {
                    db.watched.remove(key);
                }
            }
        }
    }

    /// True if a key `client` watched (all of them are in `keys`) changed since, or expired
    /// since: its EXEC must fail. O(keys).
    pub fn watch_broken(&self, client: u64, keys: &[(usize, Key)]) -> bool {
        if self.changes.cas_dirty.contains(&client) {
            return true;
        }
        keys.iter().any(|(db, key)| {
            let Some(db) = self.dbs.get(*db) else {
                return false;
            };
            let expired_when_watched = db
                .watched
                .get(key)
                .and_then(|w| w.iter().find(|&&(id, _)| id == client))
                .is_some_and(|&(_, expired)| expired);
            !expired_when_watched
                && db.entries.contains_key(key)
                && db.expires.get(key).is_some_and(|&when| when <= self.now_ms)
        })
    }

    /// Forgets whether `client`'s watched keys changed (after EXEC, UNWATCH, disconnect). O(1).
    pub fn clear_watch_state(&mut self, client: u64) {
        if !self.changes.cas_dirty.is_empty() {
            self.changes.cas_dirty.remove(&client);
        }
    }

    /// Writes since start.
    pub fn write_count(&self) -> u64 {
        self.changes.writes
    }

    /// Number of keys waiting to be persisted.
    pub fn pending_changes(&self) -> usize {
        let keys: usize = self.changes.dirty.iter().flatten().map(|d| d.len()).sum();
        let whole: usize = self
            .changes
            .whole
            .iter()
            .zip(&self.dbs)
            .filter(|(whole, _)| **whole)
            .map(|(_, db)| db.entries.len())
            .sum();
        keys + whole + self.changes.flushed.len()
    }

    /// Takes everything recorded since the last call. O(dirty keys).
    pub fn take_changes(&mut self) -> ChangeBatch {
        let mut keys = Vec::new();
        for (db, dirty) in self.changes.dirty.iter_mut().flatten().enumerate() {
            keys.extend(dirty.drain().map(|key| (db, key)));
        }
        let whole = (0..self.changes.whole.len())
            .filter(|&db| std::mem::take(&mut self.changes.whole[db]))
            .collect();
        ChangeBatch {
            flushed: std::mem::take(&mut self.changes.flushed),
            keys,
            whole,
            cold_moves: std::mem::take(&mut self.changes.cold_moves),
        }
    }

    /// Whether cold `key` of database `db` was renamed into place since the last hand-off:
    /// MongoDB holds its value under its old name until persistence moves it. O(moves).
    pub fn cold_move_pending(&self, db: usize, key: &[u8]) -> bool {
        self.changes
            .cold_moves
            .iter()
            .any(|(d, _, to)| *d == db && &to[..] == key)
    }

    /// Redis's estimate of the time to live left to the keys with an expiry of database `db`,
    /// in milliseconds: INFO's `avg_ttl` (see [`Self::expire_cycle`]). O(1).
    pub fn avg_ttl(&self, db: usize) -> u64 {
        self.dbs.get(db).map_or(0, |db| db.entries.avg_ttl)
    }

    /// (keys, keys with an expiry) per database.
    pub fn sizes(&self) -> Vec<(usize, usize)> {
        self.dbs
            .iter()
            .map(|d| (d.entries.len(), d.expires.len()))
            .collect()
    }

    /// Empties every database; returns what they held (see [`DbMut::flush`]).
    pub fn flush_all(&mut self) -> Vec<FlushedData> {
        let mut flushed = Vec::with_capacity(self.dbs.len());
        for i in 0..self.dbs.len() {
            let mut db = self.db(i);
            db.touch_all_watched();
            db.signal_waited_streams();
            flushed.push(db.clear_data());
        }
        self.changes.writes += 1;
        if let Some(touched) = self.changes.touched.as_mut() {
            touched.push(Touched::Flush);
        }
        if let Some(dirty) = self.changes.dirty.as_mut() {
            dirty.iter_mut().for_each(|d| d.clear());
            self.changes.whole.iter_mut().for_each(|w| *w = false);
            self.changes.flushed.clear();
            self.changes.flushed.push(None);
        }
        flushed
    }

    /// Swaps the keys (with their expiries) of databases `a` and `b`, as SWAPDB. Clients keep
    /// waiting on and watching the same database numbers, so: a watched key present on either
    /// side counts as changed (except a key that was already expired when watched and still
    /// is, or is now gone, as in Redis); waited-on keys that now hold a value are reported
    /// ready; and persistence learns that both databases changed as a whole (each is recorded
    /// as flushed and then as changed in every key). False when an index is out of range.
    /// O(keys watched or waited on in the two databases).
    pub fn swap_dbs(&mut self, a: usize, b: usize) -> bool {
        if a >= self.dbs.len() || b >= self.dbs.len() {
            return false;
        }
        if a == b {
            return true;
        }
        let now = self.now_ms;
        let (low, high) = (a.min(b), a.max(b));
        let (left, right) = self.dbs.split_at_mut(high);
        let (first, second) = (&mut left[low], &mut right[0]);
        touch_watched_on_swap(first, second, now, &mut self.changes.cas_dirty);
        touch_watched_on_swap(second, first, now, &mut self.changes.cas_dirty);
        // Streams waited on that the swap takes away: XREADGROUP waiters are told.
        let streams_before = |db: &Db| -> Vec<Key> {
            db.waited
                .keys()
                .filter(|key| matches!(db.entries.get(&key[..]), Some(Value::Stream(_))))
                .cloned()
                .collect()
        };
        let lost = [streams_before(first), streams_before(second)];
        std::mem::swap(&mut first.entries, &mut second.entries);
        std::mem::swap(&mut first.expires, &mut second.expires);
        for (index, lost) in [a.min(b), a.max(b)].into_iter().zip(lost) {
            let db = &self.dbs[index];
            for key in db.waited.keys() {
                if let Some(value) = db.entries.get(key) {
                    self.changes.signal(index, key, value.type_name());
                }
            }
            for key in lost {
                if !matches!(db.entries.get(&key[..]), Some(Value::Stream(_))) {
                    self.changes.signal(index, &key, "stream");
                }
            }
        }
        self.changes.writes += 1;
        if let Some(dirty) = self.changes.dirty.as_mut() {
            for index in [a, b] {
                if let Some(keys) = dirty.get_mut(index) {
                    keys.clear();
                }
                if let Some(whole) = self.changes.whole.get_mut(index) {
                    *whole = true;
                }
                self.changes.flushed.push(Some(index));
            }
        }
        true
    }

    /// Moves `key` from one database to another; false when it is missing in `from` or
    /// already exists in `to`.
    pub fn move_key(&mut self, from: usize, to: usize, key: &[u8]) -> bool {
        if from == to || self.db(to).exists(key) {
            return false;
        }
        let mut src = self.db(from);
        let Some((value, ttl)) = src.take(key) else {
            return false;
        };
        let mut dst = self.db(to);
        dst.insert(key, value, ttl);
        true
    }

    /// Copies `key` of database `from` to `dest` in database `to`. False when the source is
    /// missing or the destination exists and `replace` is not set.
    pub fn copy_key(
        &mut self,
        from: usize,
        key: &[u8],
        to: usize,
        dest: &[u8],
        replace: bool,
    ) -> bool {
        let mut src = self.db(from);
        let Some(value) = src.lookup_write(key).cloned() else {
            return false;
        };
        let ttl = src.expire_at(key);
        let mut dst = self.db(to);
        if dst.exists(dest) {
            if !replace {
                return false;
            }
            dst.remove(dest);
        }
        dst.insert(dest, value, ttl);
        true
    }

    /// Replaces every database's keys and expiries with those of `loaded` (DEBUG RELOAD with
    /// persistence on: the keyspace read back from the database, which already holds all of
    /// it). Clients watching a key that existed are marked, as a flush marks them; waited-on
    /// keys that now hold a value are put in line; the record of changes for persistence is
    /// emptied, since what is in memory is now what is stored. Returns what the databases held,
    /// for the caller to free. O(keys watched or waited on), plus the drop of the old data.
    pub fn replace_data(&mut self, mut loaded: Keyspace) -> Vec<FlushedData> {
        let mut old = Vec::with_capacity(self.dbs.len());
        for index in 0..self.dbs.len() {
            let mut db = self.db(index);
            db.touch_all_watched();
            old.push(db.clear_data());
            if let Some(source) = loaded.dbs.get_mut(index) {
                let db = &mut self.dbs[index];
                db.entries = std::mem::take(&mut source.entries);
                db.expires = std::mem::take(&mut source.expires);
                for key in db.waited.keys() {
                    if let Some(value) = db.entries.get(key) {
                        self.changes.signal(index, key, value.type_name());
                    }
                }
            }
        }
        self.changes.writes += 1;
        if let Some(dirty) = self.changes.dirty.as_mut() {
            dirty.iter_mut().for_each(|d| d.clear());
            self.changes.whole.iter_mut().for_each(|w| *w = false);
            self.changes.flushed.clear();
        }
        old
    }

    /// A copy of every database's keys, values and expiries, to put back later with
    /// [`Self::restore_data`]: the Lua debugger's `SCRIPT DEBUG YES` session, which Redis runs
    /// in a forked child whose writes vanish with it. O(keys) time and memory.
    pub fn copy_data(&self) -> DataCopy {
        DataCopy {
            dbs: self
                .dbs
                .iter()
                .map(|db| (db.entries.map.clone(), db.expires.clone()))
                .collect(),
        }
    }

    /// Puts back what `copy` held: keys made since are deleted, keys changed or deleted since
    /// get their value and expiry back, each through the usual bookkeeping (persistence, WATCH,
    /// waiting clients), and keys left as they were are not touched. Returns how many keys it
    /// changed. O(keys now + keys copied).
    pub fn restore_data(&mut self, copy: DataCopy) -> usize {
        let mut changed = 0;
        for (index, (entries, expires)) in copy.dbs.into_iter().enumerate() {
            if index >= self.dbs.len() {
                break;
            }
            let made: Vec<Key> = self.dbs[index]
                .entries
                .keys()
                .filter(|key| !entries.contains_key(&key[..]))
                .cloned()
                .collect();
            let mut db = self.db(index);
            for key in made {
                db.take(&key);
                changed += 1;
            }
            for (key, value) in entries {
                let ttl = expires.get(&key[..]).copied();
                let same = db.db.entries.get(&key[..]) == Some(&value)
                    && db.db.expires.get(&key[..]).copied() == ttl;
                if !same {
                    db.insert(&key, value, ttl);
                    changed += 1;
                }
            }
        }
        changed
    }

    /// Replaces every stored value (logically expired ones too) by what `rebuild` makes of
    /// it, stopping at its first error; keys, expiries and the change record are untouched.
    /// DEBUG RELOAD without persistence uses it to pass each value through the stored
    /// encoding. O(keys) calls of `rebuild`.
    pub fn rebuild_values<E>(
        &mut self,
        mut rebuild: impl FnMut(&Value) -> Result<Value, E>,
    ) -> Result<(), E> {
        for db in &mut self.dbs {
            for value in db.entries.values_mut() {
                *value = rebuild(value)?;
            }
        }
        Ok(())
    }

    /// Gives back most of the room of tables left under a tenth full by deletions, as
    /// Redis's cron resizes such dicts: removals free no table memory, so after deleting
    /// most keys `used_memory` would stay where it was. The table keeps room for as many
    /// keys again, so that a few more do not make it grow at once. O(databases), and O(len)
    /// for a table that shrinks (under a tenth of its room).
    pub fn shrink_sparse_tables(&mut self) {
        let sparse =
            |len: usize, capacity: usize| capacity >= SHRINK_MIN_CAPACITY && len * 10 < capacity;
        for store in &mut self.dbs {
            let len = store.entries.len();
            if sparse(len, store.entries.map.capacity()) {
                store.entries.shrink_to(len * 2);
            }
            let len = store.expires.len();
            if sparse(len, store.expires.capacity()) {
                store.expires.shrink_to(len * 2);
            }
        }
    }

    /// Moves growing indexes forward (see [`PosMap::grow_step`]) until `deadline`, as Redis's
    /// cron rehashes its dicts a millisecond at a time: without writes, nothing else would
    /// end a growth, and lookups meanwhile probe two indexes. Returns whether one is still
    /// growing. O(work done).
    pub fn grow_indexes_until(&mut self, deadline: std::time::Instant) -> bool {
        const BUCKETS: usize = 1024;
        for store in &mut self.dbs {
            while store.entries.map.is_growing() || store.expires.is_growing() {
                if std::time::Instant::now() >= deadline {
                    return true;
                }
                store.entries.map.grow_step(BUCKETS);
                store.expires.grow_step(BUCKETS);
            }
        }
        false
    }

    /// One active-expiry pass in the style of Redis's `activeExpireCycle`: sample keys with an
    /// expiry in each database, delete the expired ones, and repeat while more than a quarter
    /// of a sample was expired, until `budget` samples have been looked at. Returns how many
    /// keys were deleted. Each sample also updates the database's `avg_ttl` as Redis's does:
    /// the time to live left to the sampled keys not yet expired, averaged, weighs 2% against
    /// 98% for the estimate before (the first sample sets it); no key with an expiry sets it
    /// to 0.
    pub fn expire_cycle(&mut self, rng: &mut impl Rng, budget: usize) -> usize {
        const SAMPLE: usize = 20;
        let mut deleted = 0;
        let mut looked = 0;
        for index in 0..self.dbs.len() {
            loop {
                let mut db = self.db(index);
                let volatile = db.db.expires.len();
                if volatile == 0 {
                    db.db.entries.avg_ttl = 0;
                }
                if volatile == 0 || looked >= budget {
                    break;
                }
                let (mut ttl_sum, mut ttl_samples) = (0u64, 0u64);
                let mut expired_here = 0;
                for _ in 0..SAMPLE.min(volatile) {
                    let len = db.db.expires.len();
                    if len == 0 {
                        break;
                    }
                    let pos = rng.gen_range(0..len);
                    let Some((key, &when)) = db.db.expires.get_index(pos) else {
                        break;
                    };
                    if when <= db.now_ms {
                        let key = key.clone();
                        db.delete_expired(&key);
                        expired_here += 1;
                    } else {
                        ttl_sum = ttl_sum.saturating_add(when - db.now_ms);
                        ttl_samples += 1;
                    }
                }
                if let Some(sampled) = ttl_sum.checked_div(ttl_samples) {
                    let avg_ttl = &mut db.db.entries.avg_ttl;
                    if *avg_ttl == 0 {
                        *avg_ttl = sampled;
                    }
                    *avg_ttl = (*avg_ttl / 50) * 49 + sampled / 50;
                }
                looked += SAMPLE;
                deleted += expired_here;
                if expired_here * 4 <= SAMPLE.min(volatile) {
                    break;
                }
            }
        }
        deleted
    }
}

impl Keyspace {
    /// A random key of database `db` that may be evicted (only one with an expiry when
    /// `volatile`), for the random policies. O(1).
    pub fn random_evictable(&self, db: usize, volatile: bool, rng: &mut impl Rng) -> Option<Key> {
        let db = self.dbs.get(db)?;
        let len = if volatile {
            db.expires.len()
        } else {
            db.entries.len()
        };
        if len == 0 {
            return None;
        }
        let pos = rng.gen_range(0..len);
        let key = if volatile {
            db.expires.get_index(pos)?.0
        } else {
            db.entries.get_index(pos)?.0
        };
        Some(key.clone())
    }

    /// Samples up to `samples` keys of database `db` at random positions (among keys with an
    /// expiry when `volatile`) and offers each to `pool` with its score by `ranking`. Returns
    /// how many were sampled. O(samples), plus a lookup per sample when `volatile`.
    pub(super) fn sample_for_eviction(
        &self,
        db: usize,
        sampling: Sampling,
        ranking: Ranking,
        samples: usize,
        rng: &mut impl Rng,
        pool: &mut EvictionPool,
    ) -> usize {
        let Sampling {
            volatile,
            skip_cold,
        } = sampling;
        let Some(store) = self.dbs.get(db) else {
            return 0;
        };
        let len = if volatile {
            store.expires.len()
        } else {
            store.entries.len()
        };
        let count = samples.min(len);
        // Cold keys are passed over (their values are gone already): with most keys cold,
        // more positions are tried to find `count` hot ones.
        let attempts = if skip_cold { count * 16 } else { count };
        let mut found = 0;
        for _ in 0..attempts {
            if found == count {
                break;
            }
            let pos = rng.gen_range(0..len);
            let (key, index) = if volatile {
                let Some((key, _)) = store.expires.get_index(pos) else {
                    continue;
                };
                let Some(index) = store.entries.get_index_of(key) else {
                    continue;
                };
                (key, index)
            } else {
                let Some((key, _)) = store.entries.get_index(pos) else {
                    continue;
                };
                (key, pos)
            };
            if skip_cold
                && store
                    .entries
                    .get_index(index)
                    .is_some_and(|(_, value)| value.is_cold())
            {
                continue;
            }
            found += 1;
            let word = store.entries.access.get(index).copied().unwrap_or(0);
            let score = match ranking {
                Ranking::Idle => self.access.idle_ticks(word),
                Ranking::Rarity => 255 - u64::from(self.access.frequency(word).min(255)),
                Ranking::Expiry => {
                    let when = if volatile {
                        store.expires.get_index(pos).map(|(_, &when)| when)
                    } else {
                        store.expires.get(key).copied()
                    };
                    u64::MAX - when.unwrap_or(u64::MAX)
                }
            };
            pool.offer(score, db, key);
        }
        count
    }

    /// True if `key` of database `db` is present (and has an expiry when `volatile`): a pool
    /// candidate still worth evicting. O(1).
    pub(super) fn is_evictable(&self, db: usize, key: &[u8], volatile: bool) -> bool {
        self.dbs.get(db).is_some_and(|store| {
            if volatile {
                store.expires.contains_key(key)
            } else {
                store.entries.contains_key(key)
            }
        })
    }

    /// Bytes the tables of database `db` would allocate for one more key now: nothing while
    /// they have room; when one is full, its usual growth (an eighth under `maxmemory`, else
    /// doubling). Eviction makes room in a full table instead of letting it double past
    /// `maxmemory`, as Redis refuses to expand a dict over the limit: evicting a key frees its
    /// slot, not the table's memory. O(1).
    pub fn growth_on_insert(&self, db: usize) -> usize {
        let Some(store) = self.dbs.get(db) else {
            return 0;
        };
        let step = |len: usize| self.max_step(len);
        let mut bytes = 0;
        let entries = &store.entries;
        let overfill = self.tight_growth;
        if is_full(entries.len(), entries.map.room(overfill)) {
            let len = entries.len();
            let index = IndexSize::of(&entries.map, overfill);
            bytes += growth_cost(len, index, step(len), ENTRY_WITH_ACCESS_BYTES);
        }
        if is_full(store.expires.len(), store.expires.room(overfill)) {
            let len = store.expires.len();
            let index = IndexSize::of(&store.expires, overfill);
            bytes += growth_cost(len, index, step(len), EXPIRY_SLOT_BYTES);
        }
        bytes
    }

    /// Bytes of the tables' vacant slots, which the next keys and expiries take without
    /// allocating. Evicting a key whose value lives in its slot frees no allocator memory,
    /// only the slot: eviction counts the slots it left so as free, up to these (see
    /// `commands::eviction`). O(databases).
    pub fn vacant_slot_bytes(&self) -> usize {
        let vacant = |len: usize, capacity: usize, slot: usize| {
            capacity.saturating_sub(len) * (slot + BUCKET_BYTES)
        };
        self.dbs
            .iter()
            .map(|store| {
                vacant(
                    store.entries.len(),
                    store.entries.map.room(self.tight_growth),
                    ENTRY_WITH_ACCESS_BYTES,
                ) + vacant(
                    store.expires.len(),
                    store.expires.room(self.tight_growth),
                    EXPIRY_SLOT_BYTES,
                )
            })
            .sum()
    }

    /// Gives back every table's vacant slots, when they hold memory over `maxmemory`: after
    /// the limit was lowered below what is used, or when the slots evicted keys left stand
    /// for an excess that lasts (see `commands::eviction`). O(keys) when a table has room to
    /// give back.
    pub fn give_back_vacant_slots(&mut self) {
        for store in &mut self.dbs {
            if store.entries.map.room(self.tight_growth) > store.entries.len() {
                let keep = store.entries.len();
                store.entries.shrink_to(keep);
            }
            if store.expires.room(self.tight_growth) > store.expires.len() {
                store.expires.shrink_to(store.expires.len());
            }
        }
    }

    /// Grows the full tables of database `db` by as many slots as `budget` bytes pay for,
    /// fewer than their usual step if need be, so that a key can be added without going past
    /// `maxmemory` and without evicting while memory is under it: a table's usual step can
    /// cost more than is left, and each key added to a table with room costs next to nothing,
    /// so evicting to make room would go on for every new key (under a `volatile-*` policy,
    /// until no key with an expiry is left). `allocated` reads the allocator's live bytes:
    /// what a growth costs is measured as well as planned (see below); allocations by other
    /// threads meanwhile can only make it look dearer, and then the table is not grown this
    /// time. Returns false, with the tables no larger than they were, when the budget pays
    /// for no step. O(1) when a table grows (its index then moves over the writes that
    /// follow, see [`PosMap::reserve_exact`]), but for the realloc of its entries.
    pub fn grow_within(&mut self, db: usize, budget: usize, allocated: fn() -> usize) -> bool {
        let Some(store) = self.dbs.get(db) else {
            return false;
        };
        // Undoing a growth that cost more than planned (below) costs O(len): once per
        // 8 * `len` additions at most.
        if store.entries.rebuilt_lately() {
            return false;
        }
        let entries_len = store.entries.len();
        let expires_len = store.expires.len();
        let overfill = self.tight_growth;
        let entries_index = IndexSize::of(&store.entries.map, overfill);
        let expires_index = IndexSize::of(&store.expires, overfill);
        let step_for = |left: &mut usize,
                        full: bool,
                        len: usize,
                        index: IndexSize,
                        slot: usize|
         -> Option<usize> {
            if !full {
                return Some(0);
            }
            let step = affordable_step(len, index, self.max_step(len), slot, *left)?;
            *left = left.checked_sub(growth_cost(len, index, step, slot))?;
            Some(step)
        };
        let full_entries = is_full(entries_len, store.entries.map.room(overfill));
        let full_expires = is_full(expires_len, store.expires.room(overfill));
        // Where every key has an expiry both tables fill at once: the key table's step
        // leaves the expiry table its smallest one.
        let expires_least = if full_expires {
            let least = min_step(expires_len).min(self.max_step(expires_len));
            growth_cost(expires_len, expires_index, least, EXPIRY_SLOT_BYTES)
        } else {
            0
        };
        let Some(mut left) = budget.checked_sub(expires_least) else {
            return false;
        };
        let Some(entries_step) = step_for(
            &mut left,
            full_entries,
            entries_len,
            entries_index,
            ENTRY_WITH_ACCESS_BYTES,
        ) else {
            return false;
        };
        left += expires_least;
        let Some(expires_step) = step_for(
            &mut left,
            full_expires,
            expires_len,
            expires_index,
            EXPIRY_SLOT_BYTES,
        ) else {
            return false;
        };
        let store = &mut self.dbs[db];
        let before = allocated();
        if entries_step > 0 {
            store.entries.reserve_exact(entries_step, overfill);
        }
        if expires_step > 0 {
            store.expires.reserve_exact(expires_step, overfill);
        }
        if allocated().saturating_sub(before) <= budget {
            return true;
        }
        // Back to the tables as they were, index included (an overfilled index holds more
        // entries than its buckets, so shrinking to the entries would keep the new one).
        if entries_step > 0 {
            store
                .entries
                .map
                .undo_reserve(entries_len, entries_index.buckets);
            store.entries.access.shrink_to(entries_len);
        }
        if expires_step > 0 {
            store
                .expires
                .undo_reserve(expires_len, expires_index.buckets);
        }
        store.entries.rebuilt_at = Some(store.entries.additions);
        false
    }

    /// The most slots a full table of `len` entries grows by.
    fn max_step(&self, len: usize) -> usize {
        if self.tight_growth {
            tight_step(len)
        } else {
            len
        }
    }

    /// Evicts `key` of database `db`: deleted exactly as by DEL (WATCH fails, client-side
    /// caches are invalidated, persistence deletes it), counted in `evicted_keys` and reported
    /// as an `evicted` key event. Returns the value for the caller to free. O(1).
    pub fn evict(&mut self, db: usize, key: &[u8]) -> Option<Value> {
        if db >= self.dbs.len() {
            return None;
        }
        let mut dbm = self.db(db);
        let Db {
            entries, expires, ..
        } = &mut *dbm.db;
        let value = entries.swap_remove(key)?;
        if !expires.is_empty() {
            expires.swap_remove(key);
        }
        dbm.stats.evicted_keys += 1;
        dbm.record_event(KeyEventKind::Evicted, key);
        dbm.record_change(key, false);
        dbm.db.shrink_if_sparse();
        Some(value)
    }
}

/// The cold tier (`maxmemory-tiering`): values dropped from memory while MongoDB holds them,
/// and put back when a command needs them. A cold key stays in its database with its expiry
/// and access word, so every command that needs no value (EXISTS, TYPE, TTL, DEL, SCAN ...)
/// answers from it, and it expires on time like any key.
impl Keyspace {
    /// Cold keys in database `db`. O(1).
    #[inline]
    pub fn cold_keys(&self, db: usize) -> usize {
        self.dbs.get(db).map_or(0, |db| db.entries.cold)
    }

    /// Cold keys in all databases. O(databases).
    pub fn total_cold_keys(&self) -> usize {
        self.dbs.iter().map(|db| db.entries.cold).sum()
    }

    /// Writes every database's keys, values and expiries into `file`, as Redis's `rdbSaveDb`
    /// (keys whose expiry has passed included: whoever loads the file drops them). Refused,
    /// with their count, while some values are cold: they live only in MongoDB, and the
    /// reactor does not wait for it. O(keys + data).
    pub fn write_rdb(&self, file: &mut super::rdb::file::FileWriter) -> Result<(), ColdKeys> {
        let cold = self.total_cold_keys();
        if cold > 0 {
            return Err(ColdKeys(cold));
        }
        for (index, db) in self.dbs.iter().enumerate() {
            if db.entries.is_empty() {
                continue;
            }
            file.database(index, db.entries.len(), db.expires.len());
            let has_expires = !db.expires.is_empty();
            for (key, value) in db.entries.iter() {
                let expiry = if has_expires {
                    db.expires.get(key).copied()
                } else {
                    None
                };
                file.entry(key, value, expiry);
            }
        }
        Ok(())
    }

    /// The epoch `key` of database `db` was dropped at, if it is cold (expired or not).
    /// O(1).
    pub fn cold_epoch(&self, db: usize, key: &[u8]) -> Option<u32> {
        match self.dbs.get(db)?.entries.get(key)? {
            Value::Cold(cold) => Some(cold.epoch),
            _ => None,
        }
    }

    /// True if some blocked client waits on `key` of database `db` (a command waiting for
    /// cold values waits on their keys: the cold tier does not drop them meanwhile). O(1).
    pub fn is_waited(&self, db: usize, key: &[u8]) -> bool {
        self.dbs
            .get(db)
            .is_some_and(|db| db.waited.contains_key(key))
    }

    /// The value stored at `key` of database `db`, expired or not, without counting an
    /// access. O(1).
    pub fn stored_value(&self, db: usize, key: &[u8]) -> Option<&Value> {
        self.dbs.get(db)?.entries.get(key)
    }

    /// True if `key` of database `db` changed since persistence last took the changes (its
    /// value in memory may be newer than MongoDB's). O(1).
    pub fn is_dirty(&self, db: usize, key: &[u8]) -> bool {
        let Some(dirty) = self.changes.dirty.as_ref().and_then(|d| d.get(db)) else {
            return false;
        };
        self.changes.whole.get(db).copied().unwrap_or(false) || dirty.contains(key)
    }

    /// Drops the value of `key` from memory, leaving a cold record of epoch `epoch`, and
    /// returns the value for the caller to free. Not a change: no write is counted, no watcher
    /// or cache is told, persistence writes nothing (MongoDB already holds the value).
    /// `None` when the key is missing or already cold. O(1).
    pub fn drop_value(&mut self, db: usize, key: &[u8], epoch: u32) -> Option<Value> {
        let entries = &mut self.dbs.get_mut(db)?.entries;
        let type_name = match entries.get(key)? {
            Value::Cold(_) => return None,
            value => value.type_name(),
        };
        entries.replace(key, Value::Cold(ColdValue::new(type_name, epoch)))
    }

    /// Puts back the value of cold `key` read from MongoDB, if the key is still the cold
    /// record of `epoch` (it may have been deleted, rewritten or dropped again meanwhile), and
    /// puts the key in line for the clients waiting on it. Not a change, as
    /// [`Self::drop_value`]; an access, so the value is not the first one dropped again before
    /// the command that asked for it runs. True if the value was put back. O(1).
    pub fn restore_value(&mut self, db: usize, key: &[u8], epoch: u32, value: Value) -> bool {
        if self.cold_epoch(db, key) != Some(epoch) || value.is_cold() {
            return false;
        }
        let type_name = value.type_name();
        let Some(store) = self.dbs.get_mut(db) else {
            return false;
        };
        store.entries.replace(key, value);
        if let Some(index) = store.entries.get_index_of(key) {
            if let Some(word) = store.entries.access.get_mut(index) {
                *word = self.access.touched(*word);
            }
        }
        if store.waited.contains_key(key) {
            self.changes.signal(db, key, type_name);
        }
        true
    }

    /// Puts `key` of database `db` in line for the clients waiting on it, if any: a value
    /// read back for it was thrown away (the key was deleted, rewritten or renamed meanwhile),
    /// and whoever waited for it runs again rather than until its timeout. O(1).
    pub fn wake_waiters(&mut self, db: usize, key: &[u8]) {
        if self
            .dbs
            .get(db)
            .is_some_and(|store| store.waited.contains_key(key))
        {
            self.changes.signal(db, key, "none");
        }
    }

    /// Removes cold `key` of epoch `epoch` whose value MongoDB no longer has (found missing
    /// on load), as a deletion persistence then also applies. True if it was removed. O(1).
    pub fn forget_lost_cold(&mut self, db: usize, key: &[u8], epoch: u32) -> bool {
        if self.cold_epoch(db, key) != Some(epoch) {
            return false;
        }
        let mut dbm = self.db(db);
        dbm.db.entries.swap_remove(key);
        if !dbm.db.expires.is_empty() {
            dbm.db.expires.swap_remove(key);
        }
        if dbm.db.waited.contains_key(key) {
            dbm.changes.signal(db, key, "none");
        }
        dbm.record_change(key, false);
        true
    }

    /// Adds `key` to database `db` as a cold record of a value of `type_name` with expiry
    /// `ttl` (a start-up that found more data in MongoDB than `maxmemory` holds). Not a
    /// change. O(1) amortized.
    pub fn insert_cold(&mut self, db: usize, key: &[u8], type_name: &str, ttl: Option<u64>) {
        let word = self.access.fresh();
        let tight = self.tight_growth;
        let Some(store) = self.dbs.get_mut(db) else {
            return;
        };
        let cold = Value::Cold(ColdValue::new(type_name, 0));
        if store.entries.replace(key, cold).is_none() {
            let cold = Value::Cold(ColdValue::new(type_name, 0));
            store.entries.insert_new(key, cold, word, tight);
        }
        match ttl {
            Some(when) => {
                let expires = &mut store.expires;
                if tight && !expires.contains_key(key) && expires.len() >= expires.room(true) {
                    expires.reserve_exact(tight_step(expires.len()), true);
                }
                expires.insert_with(key.into(), when, tight);
            }
            None => {
                store.expires.swap_remove(key);
            }
        }
    }
}

/// Bytes of one entry of a database's key table: the key and value headers, the stored hash
/// and its chain's link (its index bucket is [`BUCKET_BYTES`]).
const ENTRY_SLOT_BYTES: usize = std::mem::size_of::<Slot<Value>>();
/// Bytes of one slot of the main table with its access word.
const ENTRY_WITH_ACCESS_BYTES: usize = ENTRY_SLOT_BYTES + std::mem::size_of::<u32>();
/// A table with no room left for one more entry (an empty one grows at no cost worth
/// counting).
fn is_full(len: usize, capacity: usize) -> bool {
    len > 0 && len >= capacity
}
/// Bytes of one entry of a database's expiry table.
const EXPIRY_SLOT_BYTES: usize = std::mem::size_of::<Slot<u64>>();
/// Tables smaller than this are never shrunk.
const SHRINK_MIN_CAPACITY: usize = 128;

impl Db {
    /// Gives memory back when eviction left a table under half full: evicting a key frees its
    /// slot, not the table's memory, so without this, memory would only go down once nearly
    /// every key was gone. Amortized O(1) per removal: a shrink of n slots follows at least
    /// n / 2 removals.
    fn shrink_if_sparse(&mut self) {
        let sparse =
            |len: usize, capacity: usize| capacity >= SHRINK_MIN_CAPACITY && len * 2 < capacity;
        let entries = &mut self.entries;
        if sparse(entries.len(), entries.map.capacity()) {
            let keep = entries.len();
            entries.shrink_to(keep);
        }
        if sparse(self.expires.len(), self.expires.capacity()) {
            self.expires.shrink_to(self.expires.len());
        }
    }
}

/// Before `emptied` takes the keys of `replaced`: marks the clients watching a key of
/// `emptied` that exists on either side, with Redis's treatment of keys that were already
/// expired when watched (their flag follows what the key becomes). O(watched keys).
fn touch_watched_on_swap(emptied: &mut Db, replaced: &Db, now: u64, cas_dirty: &mut FastSet<u64>) {
    let Db {
        entries, watched, ..
    } = emptied;
    for (key, watchers) in watched.iter_mut() {
        let in_emptied = entries.contains_key(key);
        let in_replaced = replaced.entries.contains_key(key);
        if !in_emptied && !in_replaced {
            continue;
        }
        let replaced_expired =
            in_replaced && replaced.expires.get(key).is_some_and(|&when| when <= now);
        for (id, expired) in watchers.iter_mut() {
            if *expired {
                if !in_replaced {
                    // An expired key now gone: logically unchanged.
                    *expired = false;
                    continue;
                }
                if replaced_expired {
                    continue;
                }
            } else if !in_emptied && replaced_expired {
                // A missing key replaced by an expired one: still logically missing.
                *expired = true;
                continue;
            }
            cas_dirty.insert(*id);
        }
    }
}

impl DbMut<'_> {
    /// The encoding thresholds in force, for a value a command builds before storing it.
    pub fn limits(&self) -> EncodingLimits {
        *self.limits
    }
}

impl DbMut<'_> {
    /// Number of keys (including expired ones not yet collected, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.db.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.db.entries.is_empty()
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// True if `key`'s expiry has passed: the key then reads as missing. Deletes it, unless
    /// expired keys are being kept (see [`Keyspace::keep_expired_keys`]). O(1).
    fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        if self.db.expires.is_empty() {
            return false;
        }
        match self.db.expires.get(key) {
            Some(&when) if when <= self.now_ms => {
                if !self.keep_expired {
                    self.delete_expired(key);
                }
                true
            }
            _ => false,
        }
    }

    fn delete_expired(&mut self, key: &[u8]) {
        self.db.expires.swap_remove(key);
        self.db.entries.swap_remove(key);
        self.stats.expired_keys += 1;
        self.record_event(KeyEventKind::Expired, key);
        self.record_change(key, true);
    }

    /// Records a key event if that kind is switched on. O(1).
    fn record_event(&mut self, kind: KeyEventKind, key: &[u8]) {
        if self.changes.event_kinds & kind as u8 != 0 {
            self.changes.key_events.push(KeyEvent {
                db: self.index,
                kind,
                key: key.into(),
            });
        }
    }

    /// Marks every client watching a key that changed. A key that was already expired when
    /// watched and is now gone is logically unchanged, as in Redis. O(watchers of the key).
    fn touch_watched(&mut self, key: &[u8]) {
        let present = self.db.entries.contains_key(key);
        if let Some(watchers) = self.db.watched.get_mut(key) {
            for (id, expired) in watchers.iter_mut() {
                if *expired && !present {
                    *expired = false;
                } else {
                    self.changes.cas_dirty.insert(*id);
                }
            }
        }
    }

    /// Before a flush: every client watching a key that exists is marked, except one that
    /// watched it already expired (it is now gone, logically unchanged, as in Redis). O(watched
    /// keys).
    fn touch_all_watched(&mut self) {
        if self.db.watched.is_empty() {
            return;
        }
        for (key, watchers) in self.db.watched.iter_mut() {
            if !self.db.entries.contains_key(key) {
                continue;
            }
            for (id, expired) in watchers.iter_mut() {
                if *expired {
                    *expired = false;
                } else {
                    self.changes.cas_dirty.insert(*id);
                }
            }
        }
    }

    /// The live value at `key` for a read: counts a keyspace hit or miss. O(1).
    #[inline]
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&Value> {
        let index = if self.expire_if_needed(key) {
            None
        } else {
            self.db.entries.get_index_of(key)
        };
        match index {
            Some(index) => {
                self.stats.keyspace_hits += 1;
                self.touch_at(index);
                self.db.entries.get_index(index).map(|(_, value)| value)
            }
            None => {
                self.missed(key);
                None
            }
        }
    }

    /// Counts a look at `key` as Redis's read lookup counts it, without counting it as a use
    /// of the key (Redis's `LOOKUP_NOTOUCH`): a keyspace hit, or a miss with its `keymiss`
    /// event when `notify_miss` (OBJECT's lookups notify nothing). EXISTS, TTL, TYPE and
    /// OBJECT look at keys this way. Returns whether the key is live. O(1).
    pub fn note_read(&mut self, key: &[u8], notify_miss: bool) -> bool {
        let live = !self.expire_if_needed(key) && self.db.entries.contains_key(key);
        if live {
            self.stats.keyspace_hits += 1;
        } else if notify_miss {
            self.missed(key);
        } else {
            self.stats.keyspace_misses += 1;
        }
        live
    }

    /// Counts a read of a missing key. Out of line: it keeps [`Self::lookup_read`] small
    /// enough to be inlined into every read.
    #[cold]
    fn missed(&mut self, key: &[u8]) {
        self.stats.keyspace_misses += 1;
        self.record_event(KeyEventKind::Miss, key);
    }

    /// The live value at `key` for a write (no hit/miss accounting). The caller must call
    /// [`Self::modified`] if it changes the value. O(1).
    #[inline]
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Value> {
        if self.expire_if_needed(key) {
            return None;
        }
        let (value, word) = self.db.entries.get_with_access_mut(key)?;
        *word = self.access.touched(*word);
        Some(value)
    }

    /// The live value at `key` without counting an access (Redis's `LOOKUP_NOTOUCH`: TYPE,
    /// OBJECT, the source of a check). No hit/miss accounting. O(1).
    pub fn peek(&mut self, key: &[u8]) -> Option<&Value> {
        if self.expire_if_needed(key) {
            return None;
        }
        self.db.entries.get(key)
    }

    /// Records an access to the entry at `index`. O(1).
    #[inline]
    fn touch_at(&mut self, index: usize) {
        if let Some(word) = self.db.entries.access.get_mut(index) {
            *word = self.access.touched(*word);
        }
    }

    /// Records an access to `key` (TOUCH); true if it holds a live value. O(1).
    pub fn touch(&mut self, key: &[u8]) -> bool {
        if self.expire_if_needed(key) {
            return false;
        }
        match self.db.entries.get_index_of(key) {
            Some(index) => {
                self.touch_at(index);
                true
            }
            None => false,
        }
    }

    /// The access word of a live `key` (see [`super::access`]), without counting an access.
    /// O(1).
    pub fn access_word(&mut self, key: &[u8]) -> Option<u32> {
        if self.expire_if_needed(key) {
            return None;
        }
        let index = self.db.entries.get_index_of(key)?;
        self.db.entries.access.get(index).copied()
    }

    /// Sets what `key`'s access word says (RESTORE's IDLETIME and FREQ, as Redis's
    /// `objectSetLRUOrLFU`): under an LFU policy its counter to `freq`, under any other its
    /// idle time to `idle_seconds`; the one that does not apply to the policy is ignored.
    /// O(1).
    pub fn set_access_hint(&mut self, key: &[u8], idle_seconds: Option<u64>, freq: Option<u8>) {
        let word = match self.access.policy {
            AccessPolicy::Lfu { .. } => freq.map(|f| self.access.word_with_counter(f)),
            AccessPolicy::Lru => idle_seconds.map(|s| self.access.word_idle_for(s)),
        };
        let Some(word) = word else { return };
        if let Some(index) = self.db.entries.get_index_of(key) {
            if let Some(slot) = self.db.entries.access.get_mut(index) {
                *slot = word;
            }
        }
    }

    /// Seconds since `key` was last accessed (OBJECT IDLETIME). O(1).
    pub fn idle_seconds(&mut self, key: &[u8]) -> Option<u64> {
        let word = self.access_word(key)?;
        Some(self.access.idle_seconds(word))
    }

    /// `key`'s LFU access counter, decayed to now (OBJECT FREQ). O(1).
    pub fn access_frequency(&mut self, key: &[u8]) -> Option<u32> {
        let word = self.access_word(key)?;
        Some(self.access.frequency(word))
    }

    /// True if `key` holds a live value. O(1).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        !self.expire_if_needed(key) && self.db.entries.contains_key(key)
    }

    /// Puts `key` in line to be served though it was not just created: a stream signals on
    /// every append (its waiters wait for entries after an ID, not for the key to exist), and
    /// when a group is destroyed, as in Redis (see `signal_if_waited`).
    pub fn signal_ready(&mut self, key: &[u8], type_name: &'static str) {
        self.signal_if_waited(key, type_name);
    }

    /// Before a flush: every waited-on stream is put in line, so XREADGROUP waiters learn it
    /// is gone. O(waited keys).
    fn signal_waited_streams(&mut self) {
        if self.db.waited.is_empty() {
            return;
        }
        let streams: Vec<Key> = self
            .db
            .waited
            .keys()
            .filter(|key| matches!(self.db.entries.get(&key[..]), Some(Value::Stream(_))))
            .cloned()
            .collect();
        for key in streams {
            self.signal_if_waited(&key, "stream");
        }
    }

    /// A stream that is deleted or replaced puts its key in line too, so that clients blocked
    /// in XREADGROUP on it learn that it is gone, as in Redis. One test while nobody waits.
    #[inline]
    fn signal_stream_gone(&mut self, key: &[u8], was_stream: bool) {
        if was_stream {
            self.signal_if_waited(key, "stream");
        }
    }

    /// Puts a key just created with a value of `type_name` in line to be served, if clients
    /// wait on it and some client waits for that type. As in Redis, only creation signals
    /// (streams aside, see [`Self::signal_ready`]): a key that already existed had no data its
    /// waiters could take (they would not be waiting), and a key already in line is not queued
    /// twice. O(1) plus the keys in line.
    fn signal_if_waited(&mut self, key: &[u8], type_name: &'static str) {
        if self.db.waited.is_empty() || !self.db.waited.contains_key(key) {
            return;
        }
        self.changes.signal(self.index, key, type_name);
    }

    /// Records that `key` changed: counts a write and marks it for persistence.
    #[inline]
    pub fn modified(&mut self, key: &[u8]) {
        self.record_change(key, false);
    }

    /// Records a change of what `key` holds that is not its data, for persistence only: WATCH
    /// and client-side caching do not see it, as Redis does not signal a consumer group's
    /// changes (XGROUP, XREADGROUP, XACK, XCLAIM, XSETID) as a modified key.
    pub fn state_changed(&mut self, key: &[u8]) {
        self.changes.writes += 1;
        self.note_dirty(key);
    }

    /// Records a change of `key`, by a command or (`expired`) because its expiry passed.
    fn record_change(&mut self, key: &[u8], expired: bool) {
        self.changes.writes += 1;
        if let Some(touched) = self.changes.touched.as_mut() {
            touched.push(Touched::Key {
                key: key.into(),
                expired,
            });
        }
        if !self.db.watched.is_empty() {
            self.touch_watched(key);
        }
        self.note_dirty(key);
    }

    /// Marks `key` for persistence's next hand-off, when persistence is on.
    fn note_dirty(&mut self, key: &[u8]) {
        if let Some(dirty) = self
            .changes
            .dirty
            .as_mut()
            .and_then(|d| d.get_mut(self.index))
        {
            let whole = self.changes.whole.get_mut(self.index);
            match whole {
                Some(true) => {
                    // Every key counts as changed: only a deletion needs recording.
                    if !self.db.entries.contains_key(key) {
                        dirty.get_or_insert_with(key, |k| k.into());
                    }
                }
                Some(whole) => {
                    // One probe, and the key is copied only when it is new.
                    dirty.get_or_insert_with(key, |k| k.into());
                    if dirty.len() >= WHOLE_DB_MIN_KEYS && dirty.len() * 2 > self.db.entries.len() {
                        let entries = &self.db.entries;
                        dirty.retain(|k| !entries.contains_key(&k[..]));
                        *whole = true;
                    }
                }
                None => {
                    dirty.get_or_insert_with(key, |k| k.into());
                }
            }
        }
    }

    /// Stores `value` at `key` with expiry `ttl` (absolute ms), replacing any value. O(1).
    /// An expiry already past deletes the key instead, as Redis does.
    pub fn insert(&mut self, key: &[u8], value: Value, ttl: Option<u64>) {
        // A key that is there but logically expired expires first, with its event, as
        // Redis's write lookup expires it before the overwrite (MSET, BITOP, SORT STORE...).
        self.expire_if_needed(key);
        if ttl.is_some_and(|when| when <= self.now_ms) {
            self.db.entries.swap_remove(key);
            self.db.expires.swap_remove(key);
            self.modified(key);
            return;
        }
        match self.db.entries.get_with_access_mut(key) {
            Some((slot, word)) => {
                let was_stream = matches!(slot, Value::Stream(_)) && !self.db.waited.is_empty();
                let was_cold = slot.is_cold();
                *slot = value;
                *word = self.access.touched(*word);
                if was_cold {
                    self.db.entries.cold -= 1;
                }
                self.signal_stream_gone(key, was_stream);
            }
            None => {
                let type_name = value.type_name();
                self.db
                    .entries
                    .insert_new(key, value, self.access.fresh(), self.tight_growth);
                self.record_event(KeyEventKind::New, key);
                self.signal_if_waited(key, type_name);
            }
        }
        self.replace_ttl(key, ttl);
        self.modified(key);
    }

    /// Sets or clears the expiry of an existing key without counting a write. O(1).
    pub(crate) fn replace_ttl(&mut self, key: &[u8], ttl: Option<u64>) {
        match ttl {
            Some(when) => self.set_expire_raw(key, when),
            None => {
                if !self.db.expires.is_empty() {
                    self.db.expires.swap_remove(key);
                }
            }
        }
    }

    /// Stores `value` at `key`, keeping an existing expiry when `keep_ttl`.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        let ttl = if keep_ttl { self.expire_at(key) } else { None };
        self.insert(key, value, ttl);
    }

    /// Removes `key`; true if it existed (and was live). O(1).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.take(key).is_some()
    }

    /// Removes `key` and returns its value and expiry. O(1).
    pub fn take(&mut self, key: &[u8]) -> Option<(Value, Option<u64>)> {
        if self.expire_if_needed(key) {
            return None;
        }
        let value = self.db.entries.swap_remove(key)?;
        let was_stream = matches!(value, Value::Stream(_)) && !self.db.waited.is_empty();
        self.signal_stream_gone(key, was_stream);
        if value.is_cold() && self.db.waited.contains_key(key) {
            // Clients waiting for the cold value's load run again now and find the key gone,
            // rather than when (or if) the load comes back: as after a RENAME of a cold key.
            self.changes.signal(self.index, key, "none");
        }
        let ttl = if self.db.expires.is_empty() {
            None
        } else {
            self.db.expires.swap_remove(key)
        };
        self.modified(key);
        Some((value, ttl))
    }

    /// Removes a collection that a command left empty. O(1).
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        if self
            .db
            .entries
            .get(key)
            .is_some_and(Value::is_empty_collection)
        {
            self.db.entries.swap_remove(key);
            self.db.expires.swap_remove(key);
        }
    }

    /// The value at `key` for reading, checked with `extract` to be of one type (WRONGTYPE
    /// otherwise); counts a hit or miss. O(1).
    pub fn read_typed<T>(
        &mut self,
        key: &[u8],
        extract: fn(&Value) -> Option<&T>,
    ) -> StoreResult<Option<&T>> {
        match self.lookup_read(key) {
            None => Ok(None),
            Some(value) => extract(value).map(Some).ok_or(StoreError::WrongType),
        }
    }

    /// The value at `key` for writing, checked with `extract` to be of one type. The caller
    /// calls [`Self::after_write`] once it changed it. O(1).
    pub fn write_typed<T>(
        &mut self,
        key: &[u8],
        extract: fn(&mut Value) -> Option<&mut T>,
    ) -> StoreResult<Option<&mut T>> {
        match self.lookup_write(key) {
            None => Ok(None),
            Some(value) => extract(value).map(Some).ok_or(StoreError::WrongType),
        }
    }

    /// Like [`Self::write_typed`], creating the value with `create` when the key is missing.
    /// A created key keeps its fresh access word: Redis creates it after the lookup that
    /// missed, so it counts no access (under LFU it starts at `LFU_INIT_VAL`, as after SET).
    pub fn write_typed_or_create<T>(
        &mut self,
        key: &[u8],
        extract: fn(&mut Value) -> Option<&mut T>,
        create: fn() -> Value,
    ) -> StoreResult<&mut T> {
        if !self.exists(key) {
            let value = create();
            let type_name = value.type_name();
            self.db
                .entries
                .insert_new(key, value, self.access.fresh(), self.tight_growth);
            self.record_event(KeyEventKind::New, key);
            self.signal_if_waited(key, type_name);
            return match self.db.entries.get_with_access_mut(key) {
                Some((value, _)) => extract(value).ok_or(StoreError::WrongType),
                None => Err(StoreError::NoSuchKey),
            };
        }
        match self.lookup_write(key) {
            Some(value) => extract(value).ok_or(StoreError::WrongType),
            None => Err(StoreError::NoSuchKey),
        }
    }

    /// Removes each of `items` from the collection of one type at `key` with `remove` (true
    /// when the item was there); when any was, records the change and deletes a collection
    /// left empty. Returns how many were removed. O(items) removals.
    pub fn remove_each<T>(
        &mut self,
        key: &[u8],
        extract: fn(&mut Value) -> Option<&mut T>,
        items: &[&[u8]],
        mut remove: impl FnMut(&mut T, &[u8]) -> bool,
    ) -> StoreResult<usize> {
        let Some(collection) = self.write_typed(key, extract)? else {
            return Ok(0);
        };
        let removed = items.iter().filter(|item| remove(collection, item)).count();
        if removed > 0 {
            self.after_write(key);
        }
        Ok(removed)
    }

    /// Records a change made through [`Self::write_typed`]: counts the write, marks the key
    /// for persistence, and deletes a collection left empty. O(1).
    pub fn after_write(&mut self, key: &[u8]) {
        self.modified(key);
        self.remove_if_empty(key);
    }

    /// Absolute expiry of a live key, if it has one. O(1).
    pub fn expire_at(&mut self, key: &[u8]) -> Option<u64> {
        if self.db.expires.is_empty() {
            return None;
        }
        self.db.expires.get(key).copied()
    }

    /// Expiry state of `key`, for TTL and friends. O(1).
    pub fn ttl(&mut self, key: &[u8]) -> Ttl {
        if !self.exists(key) {
            return Ttl::Missing;
        }
        match self.expire_at(key) {
            Some(when) => Ttl::At(when),
            None => Ttl::Persistent,
        }
    }

    fn set_expire_raw(&mut self, key: &[u8], when: u64) {
        match self.db.expires.get_mut(key) {
            Some(slot) => *slot = when,
            None => {
                let expires = &mut self.db.expires;
                if self.tight_growth && expires.len() >= expires.room(true) {
                    expires.reserve_exact(tight_step(expires.len()), true);
                }
                expires.insert_with(key.into(), when, self.tight_growth);
                self.db.entries.count_addition();
            }
        }
    }

    /// Sets the expiry of an existing live key to absolute `when` ms; a time already past
    /// deletes the key, as Redis does. Returns false when the key is missing. O(1).
    pub fn set_expire(&mut self, key: &[u8], when: u64) -> bool {
        if !self.exists(key) {
            return false;
        }
        if when <= self.now_ms {
            self.db.entries.swap_remove(key);
            self.db.expires.swap_remove(key);
            self.modified(key);
        } else {
            self.set_expire_raw(key, when);
            self.modified(key);
        }
        true
    }

    /// Removes the expiry of `key`; true if it had one. O(1).
    pub fn persist(&mut self, key: &[u8]) -> bool {
        if !self.exists(key) {
            return false;
        }
        let had = self.db.expires.swap_remove(key).is_some();
        if had {
            self.modified(key);
        }
        had
    }

    /// Renames `from` to `to` (overwriting `to` unless `only_if_absent`), moving the expiry.
    /// `Ok(false)` when `only_if_absent` and `to` exists. O(1).
    ///
    /// A cold source moves as its cold record, never loaded: it gets epoch `cold_epoch` (a
    /// fresh one, so a load of the destination's old value still under way is not taken for
    /// it), the move is recorded for persistence, and clients waiting for either key's value
    /// are put in line to run again (what they waited for is gone).
    pub fn rename(
        &mut self,
        from: &[u8],
        to: &[u8],
        only_if_absent: bool,
        cold_epoch: u32,
    ) -> StoreResult<bool> {
        if !self.exists(from) {
            return Err(StoreError::NoSuchKey);
        }
        if from == to {
            return Ok(!only_if_absent);
        }
        if only_if_absent && self.exists(to) {
            return Ok(false);
        }
        let Some((mut value, ttl)) = self.take(from) else {
            return Err(StoreError::NoSuchKey);
        };
        if let Value::Cold(cold) = &mut value {
            cold.epoch = cold_epoch;
            self.changes
                .cold_moves
                .push((self.index, from.into(), to.into()));
            for key in [from, to] {
                if self.db.waited.contains_key(key) {
                    self.changes.signal(self.index, key, "none");
                }
            }
        }
        self.remove(to);
        self.insert(to, value, ttl);
        Ok(true)
    }

    /// A random live key, if any. Expected O(1): expired picks are collected and retried.
    pub fn random_key(&mut self, rng: &mut impl Rng) -> Option<Key> {
        for _ in 0..100 {
            let len = self.db.entries.len();
            if len == 0 {
                return None;
            }
            let (key, _) = self.db.entries.get_index(rng.gen_range(0..len))?;
            let key = key.clone();
            if !self.expire_if_needed(&key) {
                return Some(key);
            }
        }
        // Mostly expired keys: return any key, as Redis does after too many tries.
        self.db.entries.get_index(0).map(|(k, _)| k.clone())
    }

    /// One SCAN step: visits up to `count` positions below `cursor` (0 = start), calling
    /// `visit` for each live key, and returns the next cursor (0 = done). O(count).
    pub fn scan(&mut self, cursor: u64, count: usize, mut visit: impl FnMut(&Key, &Value)) -> u64 {
        let (entries, expires, now) = (&self.db.entries, &self.db.expires, self.now_ms);
        super::scan_positions(entries.len(), cursor, count, |pos| {
            if let Some((key, value)) = entries.get_index(pos) {
                if expires.get(key).is_none_or(|&when| when > now) {
                    visit(key, value);
                }
            }
        })
    }

    /// Calls `visit` for every live key. O(n).
    pub fn for_each(&self, mut visit: impl FnMut(&Key, &Value)) {
        for (key, value) in self.db.entries.iter() {
            let expired = self
                .db
                .expires
                .get(key)
                .is_some_and(|&when| when <= self.now_ms);
            if !expired {
                visit(key, value);
            }
        }
    }

    /// The value stored at `key` even when it is logically expired, without deleting it or
    /// counting a hit, miss or access (DEBUG OBJECT and DIGEST-VALUE look at what is stored).
    /// O(1).
    pub fn stored(&self, key: &[u8]) -> Option<&Value> {
        self.db.entries.get(key)
    }

    /// Calls `visit` for every stored key, logically expired ones included, with its expiry.
    /// O(n).
    pub fn for_each_stored(&self, mut visit: impl FnMut(&Key, &Value, Option<u64>)) {
        let has_expires = !self.db.expires.is_empty();
        for (key, value) in self.db.entries.iter() {
            let expiry = if has_expires {
                self.db.expires.get(key).copied()
            } else {
                None
            };
            visit(key, value, expiry);
        }
    }

    /// Drops every key, keeping the record of which keys clients wait on.
    fn clear_data(&mut self) -> FlushedData {
        FlushedData {
            entries: std::mem::take(&mut self.db.entries).into_map(),
            expires: std::mem::take(&mut self.db.expires),
        }
    }

    /// Empties this database; returns what it held, for the caller to free where it likes
    /// (FLUSHDB ASYNC frees it off the reactor thread; dropping it frees it here).
    pub fn flush(&mut self) -> FlushedData {
        self.touch_all_watched();
        self.signal_waited_streams();
        let flushed = self.clear_data();
        self.changes.writes += 1;
        if let Some(touched) = self.changes.touched.as_mut() {
            touched.push(Touched::Flush);
        }
        if let Some(dirty) = self
            .changes
            .dirty
            .as_mut()
            .and_then(|d| d.get_mut(self.index))
        {
            dirty.clear();
            if let Some(whole) = self.changes.whole.get_mut(self.index) {
                *whole = false;
            }
            self.changes.flushed.push(Some(self.index));
        }
        flushed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn s(v: &str) -> Value {
        Value::Str(v.as_bytes().into(), Default::default())
    }

    #[test]
    fn restore_data_puts_back_only_what_changed() {
        let mut ks = Keyspace::new(2);
        ks.set_clock(1_000);
        ks.track_changes();
        ks.db(0).insert(b"same", s("1"), None);
        ks.db(0).insert(b"changed", s("2"), Some(9_000));
        ks.db(1).insert(b"deleted", s("3"), None);
        ks.take_changes();
        let copy = ks.copy_data();
        ks.db(0).insert(b"changed", s("x"), None);
        ks.db(0).insert(b"made", s("y"), None);
        ks.db(1).remove(b"deleted");
        ks.take_changes();
        assert_eq!(ks.restore_data(copy), 3);
        let mut db = ks.db(0);
        assert_eq!(db.lookup_read(b"same"), Some(&s("1")));
        assert_eq!(db.lookup_read(b"changed"), Some(&s("2")));
        assert_eq!(db.expire_at(b"changed"), Some(9_000));
        assert!(!db.exists(b"made"));
        assert_eq!(ks.db(1).lookup_read(b"deleted"), Some(&s("3")));
        // Persistence hears of the three keys put back, not of the one left alone.
        let mut keys: Vec<(usize, Vec<u8>)> = ks
            .take_changes()
            .keys
            .into_iter()
            .map(|(db, key)| (db, key.to_vec()))
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                (0, b"changed".to_vec()),
                (0, b"made".to_vec()),
                (1, b"deleted".to_vec())
            ]
        );
    }

    #[test]
    fn lazy_expiry_hides_and_deletes() {
        let mut ks = Keyspace::new(16);
        ks.set_clock(1_000);
        let mut db = ks.db(0);
        db.insert(b"k", s("v"), Some(2_000));
        assert!(db.exists(b"k"));
        ks.set_clock(2_000);
        let mut db = ks.db(0);
        assert!(!db.exists(b"k"));
        assert_eq!(db.len(), 0);
        assert_eq!(ks.stats.expired_keys, 1);
    }

    #[test]
    fn kept_expired_keys_read_as_missing_until_released() {
        let mut ks = Keyspace::new(16);
        ks.set_clock(1_000);
        ks.db(0).insert(b"k", s("v"), Some(2_000));
        ks.set_clock(2_000);
        ks.keep_expired_keys(true);
        let mut db = ks.db(0);
        assert!(db.lookup_read(b"k").is_none());
        assert!(db.peek(b"k").is_none());
        assert!(!db.exists(b"k"));
        assert!(!db.touch(b"k"));
        assert_eq!(db.len(), 1, "the key is still stored");
        assert_eq!(ks.stats.expired_keys, 0);
        ks.keep_expired_keys(false);
        assert!(!ks.db(0).exists(b"k"));
        assert_eq!(ks.db(0).len(), 0);
        assert_eq!(ks.stats.expired_keys, 1);
    }

    #[test]
    fn active_cycle_frees_keys_never_read_again() {
        let mut ks = Keyspace::new(1);
        ks.set_clock(0);
        for i in 0..1000 {
            ks.db(0)
                .insert(format!("k{i}").as_bytes(), s("v"), Some(10 + (i % 2)));
        }
        ks.db(0).insert(b"stay", s("v"), None);
        ks.set_clock(100);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let mut total = 0;
        for _ in 0..100 {
            total += ks.expire_cycle(&mut rng, 1_000);
        }
        assert_eq!(total, 1000);
        assert_eq!(ks.db(0).len(), 1);
    }

    #[test]
    fn scan_returns_every_stable_key_despite_deletes() {
        let mut ks = Keyspace::new(1);
        for i in 0..500 {
            ks.db(0).insert(format!("k{i}").as_bytes(), s("v"), None);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let mut db = ks.db(0);
            cursor = db.scan(cursor, 10, |k, _| {
                seen.insert(k.clone());
            });
            // Delete some keys (odd-numbered, never the even ones) between steps.
            ks.db(0).remove(format!("k{}", round * 2 + 1).as_bytes());
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..500).step_by(2) {
            assert!(seen.contains(format!("k{i}").as_bytes()), "k{i} missed");
        }
    }

    #[test]
    fn a_key_added_where_growth_on_insert_sees_room_allocates_no_table() {
        for tight in [false, true] {
            let mut ks = Keyspace::new(1);
            ks.set_tight_growth(tight);
            for i in 0..20_000 {
                // An empty table's first allocation is not counted as growth.
                let room = i > 0 && ks.growth_on_insert(0) == 0;
                let entries = &ks.dbs[0].entries;
                let before = (entries.map.capacity(), entries.access.capacity());
                ks.db(0).insert(format!("k{i}").as_bytes(), s("v"), None);
                let entries = &ks.dbs[0].entries;
                let after = (entries.map.capacity(), entries.access.capacity());
                if room {
                    assert_eq!(before, after, "key {i}, tight growth {tight}");
                }
                assert!(entries.access.capacity() >= entries.map.capacity());
            }
        }
    }

    /// A keyspace with tight growth whose key table is full, with `len` keys or more.
    fn full_table(len: usize) -> Keyspace {
        let mut ks = Keyspace::new(1);
        ks.set_tight_growth(true);
        let mut i = 0;
        while i < len || ks.growth_on_insert(0) == 0 {
            ks.db(0).insert(format!("k{i}").as_bytes(), s("v"), None);
            i += 1;
        }
        ks
    }

    #[test]
    fn evictions_leave_vacant_slots_until_they_are_given_back() {
        let mut ks = full_table(1000);
        assert_eq!(ks.vacant_slot_bytes(), 0);
        for i in 0..100 {
            assert!(ks.evict(0, format!("k{i}").as_bytes()).is_some());
        }
        let slot = ENTRY_WITH_ACCESS_BYTES + BUCKET_BYTES;
        // Each removal frees its slot (no index slot is left marked).
        assert_eq!(ks.vacant_slot_bytes(), 100 * slot);
        let len = ks.dbs[0].entries.len();
        ks.give_back_vacant_slots();
        assert_eq!(ks.dbs[0].entries.map.capacity(), len);
        assert_eq!(ks.vacant_slot_bytes(), 0);
        // A key takes a vacant slot before the table grows.
        ks.evict(0, b"k100");
        assert!(ks.vacant_slot_bytes() > 0);
        ks.db(0).insert(b"new", s("v"), None);
        assert_eq!(ks.vacant_slot_bytes(), 0);
    }

    #[test]
    fn tables_under_a_tenth_full_shrink_keeping_their_order() {
        let mut ks = Keyspace::new(1);
        for i in 0..2000 {
            let expiry = (i % 2 == 0).then_some(u64::MAX - 1);
            ks.db(0).insert(format!("k{i}").as_bytes(), s("v"), expiry);
        }
        // A tenth or more left: nothing moves.
        for i in 0..1500 {
            ks.db(0).remove(format!("k{i}").as_bytes());
        }
        let capacity = ks.dbs[0].entries.map.capacity();
        ks.shrink_sparse_tables();
        assert_eq!(ks.dbs[0].entries.map.capacity(), capacity);
        for i in 1500..1900 {
            ks.db(0).remove(format!("k{i}").as_bytes());
        }
        let order: Vec<Key> = ks.dbs[0].entries.keys().cloned().collect();
        ks.shrink_sparse_tables();
        let db = &ks.dbs[0];
        assert!(db.entries.map.capacity() < capacity / 4);
        assert!(db.expires.capacity() < capacity / 8);
        assert!(db.entries.map.capacity() >= 200 && db.entries.access.len() == 100);
        assert_eq!(db.entries.keys().cloned().collect::<Vec<_>>(), order);
        assert_eq!(db.expires.len(), 50);
    }

    #[test]
    fn evicting_to_make_room_takes_one_key_per_key_added() {
        // With and without expiries (keys with one fill both tables).
        for volatile in [false, true] {
            let expiry = volatile.then_some(u64::MAX - 1);
            let mut ks = Keyspace::new(1);
            ks.set_tight_growth(true);
            let mut i = 0;
            while i < 5000 || ks.growth_on_insert(0) == 0 {
                ks.db(0).insert(format!("k{i}").as_bytes(), s("v"), expiry);
                i += 1;
            }
            let len = ks.dbs[0].entries.len();
            let (mut evicted, mut seed) = (0usize, 12345u64);
            let added = 20 * len;
            for i in 0..added {
                // What eviction does for a key about to go into a full table.
                while ks.growth_on_insert(0) > 0 {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let at = (seed >> 33) as usize % ks.dbs[0].entries.len();
                    let key = ks.dbs[0].entries.get_index(at).unwrap().0.clone();
                    ks.evict(0, &key).unwrap();
                    evicted += 1;
                }
                ks.db(0)
                    .insert(format!("new{i}").as_bytes(), s("v"), expiry);
                // A word the key's position must keep.
                let entries = &mut ks.dbs[0].entries;
                let at = entries.get_index_of(format!("new{i}").as_bytes()).unwrap();
                entries.access[at] = i as u32;
            }
            let db = &ks.dbs[0];
            assert!(
                evicted <= added + len / 10,
                "{evicted} evicted for {added} added (expiries: {volatile})"
            );
            assert!(db.entries.len() + len / 10 >= len);
            assert_eq!(db.entries.access.len(), db.entries.len());
            for (at, (key, _)) in db.entries.iter().enumerate() {
                if let Some(i) = std::str::from_utf8(key).unwrap().strip_prefix("new") {
                    assert_eq!(db.entries.access[at], i.parse::<u32>().unwrap(), "{i}");
                }
            }
            assert_eq!(
                db.expires.len(),
                if volatile { db.entries.len() } else { 0 }
            );
            assert!(db
                .expires
                .keys()
                .all(|key| db.entries.contains_key(&key[..])));
        }
    }

    #[test]
    fn a_full_table_grows_by_the_slots_the_budget_pays_for() {
        let mut ks = full_table(1000);
        let len = ks.dbs[0].entries.len();
        let nothing_measured = || 0;
        // Fewer slots than the smallest step: nothing grows.
        let budget = (min_step(len) - 1) * ENTRY_WITH_ACCESS_BYTES;
        assert!(!ks.grow_within(0, budget, nothing_measured));
        assert_eq!(ks.dbs[0].entries.map.room(true), len);
        // Forty slots' worth, less than the usual step of an eighth: room for 16 to 40 keys.
        assert!(tight_step(len) > 40);
        let budget = 40 * ENTRY_WITH_ACCESS_BYTES;
        assert!(ks.grow_within(0, budget, nothing_measured));
        let capacity = ks.dbs[0].entries.map.room(true);
        assert!(
            (len + min_step(len)..=len + 40).contains(&capacity),
            "{len} -> {capacity}"
        );
        assert_eq!(ks.growth_on_insert(0), 0);
    }

    #[test]
    fn keys_with_expiries_grow_both_full_tables_within_the_budget() {
        let mut ks = Keyspace::new(1);
        ks.set_tight_growth(true);
        let both_full = |ks: &Keyspace| {
            let db = &ks.dbs[0];
            is_full(db.entries.len(), db.entries.map.room(true))
                && is_full(db.expires.len(), db.expires.room(true))
        };
        let mut i = 0;
        while i < 1000 || !both_full(&ks) {
            assert!(i < 100_000, "the two tables never filled at once");
            ks.db(0)
                .insert(format!("k{i}").as_bytes(), s("v"), Some(u64::MAX / 2));
            i += 1;
        }
        let len = ks.dbs[0].entries.len();
        // Enough for both tables' smallest steps and more, not for the usual eighth.
        let budget = 40 * ENTRY_WITH_ACCESS_BYTES + min_step(len) * EXPIRY_SLOT_BYTES;
        assert!(ks.grow_within(0, budget, || 0));
        let db = &ks.dbs[0];
        assert!(db.entries.map.room(true) >= len + min_step(len));
        assert!(db.expires.room(true) >= len + min_step(len));
        assert_eq!(ks.growth_on_insert(0), 0);
    }

    #[test]
    fn a_growth_measured_over_its_budget_is_undone() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Every reading is a megabyte more than the one before: each growth costs too much.
        static READINGS: AtomicUsize = AtomicUsize::new(0);
        let growing = || READINGS.fetch_add(1 << 20, Ordering::Relaxed);
        let mut ks = full_table(1000);
        let len = ks.dbs[0].entries.len();
        let budget = 40 * ENTRY_WITH_ACCESS_BYTES;
        assert!(!ks.grow_within(0, budget, growing));
        assert_eq!(ks.dbs[0].entries.map.room(true), len);
        assert!(ks.growth_on_insert(0) > 0);
        // The keys are all still there.
        assert_eq!(ks.dbs[0].entries.len(), len);
        assert!(ks.db(0).exists(b"k0"));
        // No new attempt (undoing costs O(len)) before 8 * `len` more keys were added.
        assert!(!ks.grow_within(0, budget, || 0));
        assert_eq!(ks.dbs[0].entries.map.room(true), len);
    }

    /// An undone growth that took a new index gives the index back too: an overfilled index
    /// holds more entries than it has buckets.
    #[test]
    fn an_undone_growth_past_the_index_room_gives_the_index_back() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static READINGS: AtomicUsize = AtomicUsize::new(0);
        let growing = || READINGS.fetch_add(1 << 30, Ordering::Relaxed);
        let mut ks = Keyspace::new(1);
        ks.set_tight_growth(true);
        // Fill until the planned step must take a new index.
        let mut i = 0;
        loop {
            let entries = &ks.dbs[0].entries;
            let index = IndexSize::of(&entries.map, true);
            if i > 1000
                && ks.growth_on_insert(0) > 0
                && entries.len() + tight_step(entries.len()) > index.room
            {
                break;
            }
            ks.db(0).insert(format!("k{i}").as_bytes(), s("v"), None);
            i += 1;
        }
        let map = &ks.dbs[0].entries.map;
        let before = (map.bucket_count(), map.room(true), map.len());
        assert!(!ks.grow_within(0, 1 << 20, growing));
        let map = &ks.dbs[0].entries.map;
        assert_eq!((map.bucket_count(), map.room(true), map.len()), before);
        assert!(!map.is_growing());
    }

    #[test]
    fn access_words_follow_their_keys_through_removals() {
        let mut ks = Keyspace::new(1);
        ks.set_clock(10_000);
        for i in 0..100 {
            ks.db(0).insert(format!("k{i}").as_bytes(), s("v"), None);
        }
        ks.set_clock(20_000);
        // Reads and writes stamp the key; the type check, TTL and EXISTS do not.
        assert!(ks.db(0).lookup_read(b"k5").is_some());
        assert!(ks.db(0).lookup_write(b"k6").is_some());
        assert!(ks.db(0).touch(b"k7"));
        assert!(ks.db(0).peek(b"k8").is_some());
        assert!(ks.db(0).exists(b"k9"));
        assert_eq!(ks.db(0).ttl(b"k9"), Ttl::Persistent);
        // Removing the first keys moves the last ones into their positions.
        for i in 0..5 {
            assert!(ks.db(0).remove(format!("k{i}").as_bytes()));
        }
        ks.set_clock(25_000);
        let mut db = ks.db(0);
        assert_eq!(db.db.entries.access.len(), db.len());
        for (key, idle) in [
            ("k5", 5),
            ("k6", 5),
            ("k7", 5),
            ("k8", 15),
            ("k9", 15),
            ("k99", 15),
        ] {
            assert_eq!(db.idle_seconds(key.as_bytes()), Some(idle), "{key}");
        }
        assert_eq!(db.idle_seconds(b"k0"), None);
        // Overwriting is an access too.
        db.insert(b"k99", s("w"), None);
        assert_eq!(db.idle_seconds(b"k99"), Some(0));
    }

    #[test]
    fn dirty_keys_coalesce_and_flush_resets_them() {
        let mut ks = Keyspace::new(2);
        ks.track_changes();
        for _ in 0..10 {
            ks.db(0).insert(b"a", s("1"), None);
        }
        ks.db(1).insert(b"b", s("1"), None);
        assert_eq!(ks.pending_changes(), 2);
        ks.db(1).flush();
        let batch = ks.take_changes();
        assert_eq!(batch.keys, vec![(0, Key::from(&b"a"[..]))]);
        assert_eq!(batch.flushed, vec![Some(1)]);
        assert_eq!(ks.pending_changes(), 0);
    }

    #[test]
    fn most_keys_changed_marks_the_whole_database() {
        let mut ks = Keyspace::new(2);
        for i in 0..(WHOLE_DB_MIN_KEYS / 2) {
            ks.db(0).insert(format!("old{i}").as_bytes(), s("v"), None);
        }
        ks.track_changes();
        for i in 0..(WHOLE_DB_MIN_KEYS * 2) {
            ks.db(0).insert(format!("k{i}").as_bytes(), s("v"), None);
        }
        ks.db(0).remove(b"k1");
        ks.db(0).remove(b"old1");
        ks.db(1).insert(b"other", s("v"), None);
        let size = ks.db(0).len();
        assert_eq!(ks.pending_changes(), size + 3);
        let batch = ks.take_changes();
        assert_eq!(batch.whole, vec![0]);
        let mut keys: Vec<(usize, Key)> = batch.keys;
        keys.sort();
        assert_eq!(
            keys,
            vec![
                (0, Key::from(&b"k1"[..])),
                (0, Key::from(&b"old1"[..])),
                (1, Key::from(&b"other"[..]))
            ]
        );
        assert_eq!(ks.pending_changes(), 0);
        ks.db(0).insert(b"k2", s("w"), None);
        assert_eq!(ks.take_changes().whole, Vec::<usize>::new());
    }

    #[test]
    fn creations_of_waited_keys_are_signalled_in_order_once() {
        let mut ks = Keyspace::new(2);
        ks.add_waiter(1, b"q", Some("list"));
        ks.add_waiter(1, b"r", Some("list"));
        ks.db(0).insert(b"q", Value::new_list(), None);
        assert!(!ks.has_ready(), "another database's key of the same name");
        ks.db(1).insert(b"q", s("x"), None);
        assert!(!ks.has_ready(), "a type nobody waits for");
        ks.db(1).remove(b"q");
        let created = ks
            .db(1)
            .write_typed_or_create(b"r", Value::as_list_mut, Value::new_list)
            .is_ok();
        assert!(created);
        ks.db(1).insert(b"q", Value::new_list(), None);
        ks.db(1).remove(b"r");
        ks.db(1).insert(b"r", Value::new_list(), None);
        ks.db(1).insert(b"q", Value::new_list(), None);
        assert_eq!(ks.pop_ready(), Some((1, Key::from(&b"r"[..]))));
        // Taken out of line, a key can be signalled again.
        ks.db(1).remove(b"r");
        ks.db(1).insert(b"r", Value::new_list(), None);
        assert_eq!(ks.pop_ready(), Some((1, Key::from(&b"q"[..]))));
        assert_eq!(ks.pop_ready(), Some((1, Key::from(&b"r"[..]))));
        assert_eq!(ks.pop_ready(), None);
        ks.remove_waiter(1, b"q", Some("list"));
        ks.db(1).remove(b"q");
        ks.db(1).insert(b"q", Value::new_list(), None);
        assert!(!ks.has_ready());
        ks.add_waiter(1, b"q", None);
        ks.db(1).remove(b"q");
        ks.db(1).insert(b"q", s("x"), None);
        assert!(ks.has_ready(), "a waiter for any type");
    }

    #[test]
    fn watched_keys_that_expire_break_exec_but_stale_ones_do_not() {
        let mut ks = Keyspace::new(1);
        let key = |k: &[u8]| [(0, Key::from(k))];
        ks.set_clock(1_000);
        // Live when watched, expired by EXEC: the transaction fails.
        ks.db(0).insert(b"live", s("1"), Some(1_100));
        ks.watch(0, b"live", 1);
        ks.set_clock(1_200);
        assert!(ks.watch_broken(1, &key(b"live")));
        // Already expired when watched: deleting it lazily or flushing it changes nothing.
        for (client, stale) in [(2, &b"gone"[..]), (3, &b"flushed"[..])] {
            ks.db(0).insert(stale, s("1"), Some(1_201));
            ks.set_clock(1_300);
            ks.watch(0, stale, client);
            if client == 2 {
                assert!(!ks.db(0).exists(stale));
            } else {
                ks.db(0).flush();
            }
            assert!(!ks.watch_broken(client, &key(stale)), "{client}");
            ks.set_clock(1_200);
        }
        // A live watched key flushed away does break it.
        ks.db(0).insert(b"x", s("1"), None);
        ks.watch(0, b"x", 4);
        ks.db(0).flush();
        assert!(ks.watch_broken(4, &key(b"x")));
    }

    #[test]
    fn swap_dbs_moves_data_not_watchers_or_waiters() {
        let mut ks = Keyspace::new(3);
        ks.set_clock(1_000);
        ks.track_changes();
        ks.db(0).insert(b"a", s("1"), Some(5_000));
        ks.db(1).insert(b"b", s("2"), None);
        ks.db(2).insert(b"c", s("3"), None);
        ks.take_changes();
        ks.watch(0, b"b", 7);
        ks.watch(1, b"zz", 8);
        ks.add_waiter(0, b"b", None);
        assert!(ks.swap_dbs(0, 1));
        assert_eq!(ks.db(1).ttl(b"a"), Ttl::At(5_000));
        assert!(ks.db(0).exists(b"b") && !ks.db(0).exists(b"a"));
        assert!(ks.watch_broken(7, &[(0, Key::from(&b"b"[..]))]));
        assert!(!ks.watch_broken(8, &[(1, Key::from(&b"zz"[..]))]));
        assert_eq!(ks.pop_ready(), Some((0, Key::from(&b"b"[..]))));
        assert_eq!(ks.pop_ready(), None);
        let batch = ks.take_changes();
        assert_eq!(batch.flushed, vec![Some(0), Some(1)]);
        assert_eq!(batch.whole, vec![0, 1]);
        assert!(batch.keys.is_empty());
        assert!(!ks.swap_dbs(0, 3));
        assert!(ks.swap_dbs(2, 2));
    }

    #[test]
    fn touched_changes_are_recorded_only_while_asked_for() {
        let mut ks = Keyspace::new(2);
        ks.set_clock(1_000);
        ks.db(0).insert(b"a", s("1"), None);
        assert!(!ks.has_touched());
        ks.record_touched(true);
        ks.db(0).insert(b"a", s("2"), Some(1_500));
        ks.db(1).remove(b"missing");
        ks.db(1).insert(b"b", s("1"), None);
        ks.set_clock(2_000);
        assert!(!ks.db(0).exists(b"a"));
        ks.db(1).flush();
        let mut touched = Vec::new();
        ks.take_touched(&mut touched);
        let key = |k: &[u8], expired| Touched::Key {
            key: k.into(),
            expired,
        };
        assert_eq!(
            touched,
            vec![
                key(b"a", false),
                key(b"b", false),
                key(b"a", true),
                Touched::Flush
            ]
        );
        assert!(!ks.has_touched());
        ks.record_touched(false);
        ks.db(0).insert(b"c", s("1"), None);
        assert!(!ks.has_touched());
    }

    #[test]
    fn waiters_of_a_key_whose_load_was_thrown_away_are_woken() {
        let mut ks = Keyspace::new(2);
        ks.wake_waiters(1, b"gone");
        assert_eq!(ks.pop_ready(), None, "nobody waits");
        ks.add_waiter(1, b"gone", None);
        ks.wake_waiters(0, b"gone");
        assert_eq!(ks.pop_ready(), None, "another database");
        ks.wake_waiters(1, b"gone");
        assert_eq!(ks.pop_ready(), Some((1, Key::from(&b"gone"[..]))));
    }

    #[test]
    fn renamed_cold_records_move_with_a_fresh_epoch_and_are_recorded() {
        let mut ks = Keyspace::new(2);
        ks.set_clock(1_000);
        ks.track_changes();
        ks.db(1).insert(b"a", s("value of a"), Some(9_000));
        ks.db(1).insert(b"b", s("value of b"), None);
        ks.db(1).insert(b"hot", s("hot"), None);
        ks.take_changes();
        ks.drop_value(1, b"a", 7);
        ks.drop_value(1, b"b", 8);
        // Onto a cold key: one cold key is left, under the new name, with a's expiry.
        assert_eq!(ks.db(1).rename(b"a", b"b", false, 20), Ok(true));
        assert_eq!(ks.cold_keys(1), 1);
        assert_eq!(ks.cold_epoch(1, b"b"), Some(20));
        assert_eq!(ks.db(1).ttl(b"b"), Ttl::At(9_000));
        assert!(!ks.db(1).exists(b"a"));
        assert!(ks.cold_move_pending(1, b"b"));
        assert!(!ks.cold_move_pending(0, b"b"));
        // A load of b's old value is not taken for a's.
        assert!(!ks.restore_value(1, b"b", 8, s("value of b")));
        // A hot rename is not a move.
        assert_eq!(ks.db(1).rename(b"hot", b"warm", false, 21), Ok(true));
        assert_eq!(ks.db(1).rename(b"b", b"c", true, 22), Ok(true));
        let changes = ks.take_changes();
        let moves: Vec<(usize, &[u8], &[u8])> = changes
            .cold_moves
            .iter()
            .map(|(db, from, to)| (*db, &from[..], &to[..]))
            .collect();
        assert_eq!(
            moves,
            vec![(1, &b"a"[..], &b"b"[..]), (1, &b"b"[..], &b"c"[..])]
        );
        assert!(!ks.cold_move_pending(1, b"c"));
        assert!(ks.restore_value(1, b"c", 22, s("value of a")));
    }

    #[test]
    fn dropped_values_leave_cold_records_that_come_back_by_epoch() {
        let mut ks = Keyspace::new(2);
        ks.set_clock(1_000);
        ks.track_changes();
        ks.db(1).insert(b"a", s("value of a"), Some(9_000));
        ks.db(1).insert(b"b", Value::new_list(), None);
        ks.take_changes();
        let writes = ks.write_count();
        assert_eq!(ks.drop_value(1, b"a", 7), Some(s("value of a")));
        assert_eq!(ks.drop_value(1, b"a", 8), None, "already cold");
        assert_eq!(ks.drop_value(1, b"zz", 8), None);
        assert_eq!(
            (ks.cold_keys(1), ks.cold_keys(0), ks.total_cold_keys()),
            (1, 0, 1)
        );
        // Not a change: nothing for persistence, no write counted.
        assert_eq!(ks.pending_changes(), 0);
        assert_eq!(ks.write_count(), writes);
        // The key answers without its value.
        let mut db = ks.db(1);
        assert!(db.exists(b"a"));
        assert_eq!(db.ttl(b"a"), Ttl::At(9_000));
        assert_eq!(db.peek(b"a").map(Value::type_name), Some("string"));
        assert_eq!(db.peek(b"a").map(Value::encoding), Some("cold"));
        assert_eq!(ks.cold_epoch(1, b"a"), Some(7));
        // A load answering another epoch is thrown away.
        assert!(!ks.restore_value(1, b"a", 6, s("stale")));
        assert!(ks.restore_value(1, b"a", 7, s("value of a")));
        assert_eq!(ks.cold_keys(1), 0);
        assert_eq!(ks.db(1).lookup_read(b"a"), Some(&s("value of a")));
        assert!(!ks.restore_value(1, b"a", 7, s("again")), "no longer cold");
        // Deleting, overwriting and expiring cold keys keep the count.
        ks.drop_value(1, b"a", 9);
        ks.drop_value(1, b"b", 10);
        assert_eq!(ks.cold_keys(1), 2);
        ks.db(1).insert(b"b", s("new"), None);
        assert_eq!(ks.cold_keys(1), 1);
        ks.set_clock(9_000);
        assert!(!ks.db(1).exists(b"a"));
        assert_eq!(ks.cold_keys(1), 0);
        assert_eq!(ks.stats.expired_keys, 1);
        ks.db(1).insert(b"c", s("v"), None);
        ks.drop_value(1, b"c", 11);
        ks.db(1).flush();
        assert_eq!(ks.total_cold_keys(), 0);
    }

    #[test]
    fn cold_records_are_made_at_start_and_forgotten_when_lost() {
        let mut ks = Keyspace::new(1);
        ks.set_clock(1_000);
        ks.track_changes();
        ks.insert_cold(0, b"q", "queue", Some(5_000));
        assert_eq!(ks.cold_keys(0), 1);
        assert_eq!(ks.db(0).ttl(b"q"), Ttl::At(5_000));
        assert_eq!(ks.db(0).peek(b"q").map(Value::type_name), Some("queue"));
        assert_eq!(ks.pending_changes(), 0);
        assert!(!ks.forget_lost_cold(0, b"q", 3));
        assert!(ks.forget_lost_cold(0, b"q", 0));
        assert!(!ks.db(0).exists(b"q"));
        assert_eq!(ks.cold_keys(0), 0);
        assert_eq!(ks.pending_changes(), 1, "its document is deleted too");
    }

    #[test]
    fn rename_moves_value_and_ttl() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        db.insert(b"a", s("1"), Some(5_000));
        assert_eq!(db.rename(b"a", b"b", false, 0), Ok(true));
        assert_eq!(db.ttl(b"b"), Ttl::At(5_000));
        assert_eq!(db.ttl(b"a"), Ttl::Missing);
        assert_eq!(db.rename(b"zz", b"b", false, 0), Err(StoreError::NoSuchKey));
    }

    #[test]
    fn move_and_copy_between_databases() {
        let mut ks = Keyspace::new(2);
        ks.db(0).insert(b"a", s("1"), None);
        assert!(ks.copy_key(0, b"a", 1, b"c", false));
        assert!(!ks.copy_key(0, b"a", 1, b"c", false));
        assert!(ks.move_key(0, 1, b"a"));
        assert!(!ks.db(0).exists(b"a"));
        assert!(ks.db(1).exists(b"a") && ks.db(1).exists(b"c"));
    }
}
