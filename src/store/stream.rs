//! `StreamValue`: Redis's stream type (the X* commands): an append-only log of entries with
//! `ms-seq` IDs (kept compactly in [`super::stream_log`]), the counters Redis 7.0 keeps beside
//! it (last generated ID, first ID, largest deleted ID, entries ever added), and its consumer
//! groups, each with its consumers and pending-entry list (PEL).
//!
//! The group operations are written after Redis's `t_stream.c`: the same ID rules, the same
//! `entries-read`/lag bookkeeping (exact while no deletion lies ahead of a group, estimated or
//! unknown after), the same claiming rules.

use std::collections::{BTreeMap, BTreeSet};

use super::keyspace::DbMut;
use super::stream_log::{EntryLog, NodeLimits, TrimTo};
use super::value::Value;
use super::{StoreError, StoreResult};

pub use super::stream_log::{Entry, Fields, StreamId};

/// Why a stream operation refused: a type error, or Redis's reply text (with its prefix,
/// `ERR` or `NOGROUP`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    Store(StoreError),
    Refused(String),
}

impl From<StoreError> for StreamError {
    fn from(e: StoreError) -> Self {
        StreamError::Store(e)
    }
}

fn refused<T>(text: &str) -> Result<T, StreamError> {
    Err(StreamError::Refused(text.to_string()))
}

/// How XADD picks the new entry's ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewId {
    /// `*`: from the clock, above the last ID.
    Auto,
    /// `ms-*`: the given milliseconds, the next free sequence number.
    Ms(u64),
    /// `ms-seq`.
    Exact(StreamId),
}

/// A trimming request (XADD's MAXLEN/MINID options, XTRIM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trim {
    pub to: TrimTo,
    /// `~`: only whole nodes go.
    pub approx: bool,
    /// Most entries removed (0 = no limit).
    pub limit: u64,
}

/// One pending (delivered, not acknowledged) entry of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub consumer: Box<[u8]>,
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consumer {
    /// Unix ms the consumer was last seen (created, read or claimed).
    pub seen_time: u64,
    /// IDs of its pending entries.
    pub pending: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// The last entry delivered to the group.
    pub last_id: StreamId,
    /// How many entries the group read, `None` when unknown (Redis's -1).
    pub entries_read: Option<u64>,
    pub pel: BTreeMap<StreamId, Pending>,
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

impl Group {
    /// Creates `name` if missing (seen now) or refreshes its seen time; true when created.
    /// O(log consumers).
    fn touch_consumer(&mut self, name: &[u8], now: u64) -> bool {
        match self.consumers.get_mut(name) {
            Some(consumer) => {
                consumer.seen_time = now;
                false
            }
            None => {
                self.consumers.insert(
                    name.into(),
                    Consumer {
                        seen_time: now,
                        pending: BTreeSet::new(),
                    },
                );
                true
            }
        }
    }

    /// Gives pending entry `id` to `consumer` (creating the entry if needed). O(log n).
    fn assign(&mut self, id: StreamId, consumer: &[u8], time: u64, count: Option<u64>) {
        let previous = self.pel.get(&id).map(|p| p.consumer.clone());
        if let Some(previous) = previous.as_deref() {
            if previous != consumer {
                if let Some(c) = self.consumers.get_mut(previous) {
                    c.pending.remove(&id);
                }
            }
        }
        let entry = self.pel.entry(id).or_insert_with(|| Pending {
            consumer: consumer.into(),
            delivery_time: time,
            delivery_count: 0,
        });
        entry.consumer = consumer.into();
        entry.delivery_time = time;
        if let Some(count) = count {
            entry.delivery_count = count;
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pending.insert(id);
        }
    }

    /// Drops pending entry `id`; true if it was pending. O(log n).
    fn ack(&mut self, id: StreamId) -> bool {
        let Some(pending) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&pending.consumer) {
            c.pending.remove(&id);
        }
        true
    }
}

/// The stream-wide counters of Redis 7.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// The largest ID ever generated (or set with XSETID).
    pub last_id: StreamId,
    /// The first live entry's ID, 0-0 when empty.
    pub first_id: StreamId,
    /// The largest ID deleted by XDEL (or set with XSETID).
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
}

/// A stream: entries, counters and consumer groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamValue {
    log: EntryLog,
    counters: Counters,
    groups: BTreeMap<Box<[u8]>, Group>,
}

/// Whether a deleted entry may lie at or after `start`: Redis's `streamRangeHasTombstones`
/// with no end. O(1).
fn has_tombstones_from(c: &Counters, len: u64, start: StreamId) -> bool {
    if len == 0 || c.max_deleted_id.is_zero() {
        return false;
    }
    if c.first_id > c.max_deleted_id {
        return false;
    }
    start <= c.max_deleted_id
}

/// How many entries come up to `id` since the stream began, when it can be known: Redis's
/// `streamEstimateDistanceFromFirstEverEntry`. O(1).
fn entries_up_to(c: &Counters, len: u64, id: StreamId) -> Option<u64> {
    if c.entries_added == 0 {
        return Some(0);
    }
    if len == 0 && id <= c.last_id {
        return Some(c.entries_added);
    }
    if id == c.last_id {
        return Some(c.entries_added);
    }
    if id > c.last_id {
        return None;
    }
    if c.max_deleted_id.is_zero() || c.max_deleted_id < c.first_id {
        if id < c.first_id {
            return Some(c.entries_added - len);
        }
        if id == c.first_id {
            return Some(c.entries_added - len + 1);
        }
    }
    None
}

impl StreamValue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Live entries. O(1).
    pub fn len(&self) -> u64 {
        self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub fn entries(&self) -> &EntryLog {
        &self.log
    }

    pub fn groups(&self) -> &BTreeMap<Box<[u8]>, Group> {
        &self.groups
    }

    pub fn group(&self, name: &[u8]) -> Option<&Group> {
        self.groups.get(name)
    }

    /// ID of the last live entry. O(node).
    pub fn last_valid_id(&self) -> Option<StreamId> {
        self.log.last().map(|e| e.id)
    }

    /// The ID XADD would give. O(1).
    pub fn next_id(&self, spec: NewId, now_ms: u64) -> Result<StreamId, StreamError> {
        let last = self.counters.last_id;
        if last == StreamId::MAX {
            return refused(
                "ERR The stream has exhausted the last possible ID, unable to add more items",
            );
        }
        let id = match spec {
            NewId::Auto if now_ms > last.ms => Some(StreamId::new(now_ms, 0)),
            NewId::Auto => last.next(),
            NewId::Ms(ms) if ms == last.ms => last.seq.checked_add(1).map(|s| StreamId::new(ms, s)),
            NewId::Ms(ms) => Some(StreamId::new(ms, 0)),
            NewId::Exact(id) => Some(id),
        };
        match id {
            Some(id) if id > last => Ok(id),
            _ => refused(
                "ERR The ID specified in XADD is equal or smaller than the target stream top item",
            ),
        }
    }

    /// Appends an entry with an ID from [`Self::next_id`]. O(log nodes + entry).
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], limits: NodeLimits) {
        self.log.append(id, pairs, limits);
        self.counters.entries_added += 1;
        self.counters.last_id = id;
        if self.log.len() == 1 {
            self.counters.first_id = id;
        }
    }

    fn refresh_first_id(&mut self) {
        self.counters.first_id = self.log.first().map_or(StreamId::MIN, |e| e.id);
    }

    /// Trims as XTRIM does; returns how many entries went. O(removed nodes + node).
    pub fn trim(&mut self, trim: Trim) -> u64 {
        let removed = self.log.trim(trim.to, trim.approx, trim.limit);
        if removed > 0 {
            self.refresh_first_id();
        }
        removed
    }

    /// Deletes entries (XDEL); returns how many existed. O(ids * (log nodes + node)).
    pub fn delete(&mut self, ids: &[StreamId]) -> usize {
        let mut deleted = 0;
        let mut first = false;
        for &id in ids {
            if self.log.delete(id) {
                first |= id == self.counters.first_id;
                if id > self.counters.max_deleted_id {
                    self.counters.max_deleted_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 && (first || self.log.is_empty()) {
            self.refresh_first_id();
        }
        deleted
    }

    /// XSETID. O(node).
    pub fn set_id(
        &mut self,
        id: StreamId,
        entries_added: Option<u64>,
        max_deleted: Option<StreamId>,
    ) -> Result<(), StreamError> {
        if !self.log.is_empty() {
            if self.last_valid_id().is_some_and(|max| id < max) {
                return refused(
                    "ERR The ID specified in XSETID is smaller than the target stream top item",
                );
            }
            if entries_added.is_some_and(|added| self.log.len() > added) {
                return refused("ERR The entries_added specified in XSETID is smaller than the target stream length");
            }
        }
        self.counters.last_id = id;
        if let Some(added) = entries_added {
            self.counters.entries_added = added;
        }
        if let Some(max) = max_deleted.filter(|m| !m.is_zero()) {
            self.counters.max_deleted_id = max;
        }
        Ok(())
    }

    /// Sets every counter at once (loading a persisted stream).
    pub fn restore_counters(&mut self, counters: Counters) {
        self.counters = counters;
    }

    /// Puts a group back as persisted.
    pub fn restore_group(&mut self, name: &[u8], group: Group) {
        self.groups.insert(name.into(), group);
    }

    /// XGROUP CREATE: false if the group exists. O(log groups).
    pub fn create_group(
        &mut self,
        name: &[u8],
        last_id: StreamId,
        entries_read: Option<u64>,
    ) -> bool {
        if self.groups.contains_key(name) {
            return false;
        }
        self.groups.insert(
            name.into(),
            Group {
                last_id,
                entries_read,
                ..Group::default()
            },
        );
        true
    }

    pub fn group_mut(&mut self, name: &[u8]) -> Option<&mut Group> {
        self.groups.get_mut(name)
    }

    /// XGROUP DESTROY. O(group).
    pub fn destroy_group(&mut self, name: &[u8]) -> bool {
        self.groups.remove(name).is_some()
    }

    /// XGROUP CREATECONSUMER: `None` without the group, else whether it was created.
    pub fn create_consumer(&mut self, group: &[u8], consumer: &[u8], now: u64) -> Option<bool> {
        let group = self.groups.get_mut(group)?;
        if group.consumers.contains_key(consumer) {
            return Some(false);
        }
        Some(group.touch_consumer(consumer, now))
    }

    /// XGROUP DELCONSUMER: `None` without the consumer, else how many entries it had pending
    /// (they leave the group's PEL too).
    pub fn delete_consumer(&mut self, group: &[u8], consumer: &[u8]) -> Option<usize> {
        let group = self.groups.get_mut(group)?;
        let gone = group.consumers.remove(consumer)?;
        for id in &gone.pending {
            group.pel.remove(id);
        }
        Some(gone.pending.len())
    }

    /// The group's lag (entries not yet delivered), `None` when it cannot be known. O(1).
    /// Signed, as Redis computes it: a group whose read counter was set past the entries added
    /// (`XGROUP SETID ... ENTRIESREAD`) has a negative lag.
    pub fn lag(&self, group: &Group) -> Option<i64> {
        let (c, len) = (&self.counters, self.log.len());
        if c.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = group.entries_read {
            if !has_tombstones_from(c, len, group.last_id) {
                return Some(signed_lag(c.entries_added, read));
            }
        }
        entries_up_to(c, len, group.last_id).map(|read| signed_lag(c.entries_added, read))
    }

    /// XREADGROUP with `>`: delivers up to `count` (0 = all) entries after the group's last
    /// ID to `consumer`, moving the group's last ID and read counter, and (unless `noack`)
    /// adding them to the PELs. `emit` receives each entry. `None` without the group.
    /// O(log nodes + delivered * log PEL).
    pub fn deliver_new(
        &mut self,
        group_name: &[u8],
        consumer: &[u8],
        count: usize,
        noack: bool,
        now: u64,
        mut emit: impl FnMut(&Entry),
    ) -> Option<usize> {
        let (counters, len) = (self.counters, self.log.len());
        let group = self.groups.get_mut(group_name)?;
        let Some(start) = group.last_id.next() else {
            return Some(0);
        };
        let mut delivered = 0;
        for entry in self.log.range(start, StreamId::MAX, false) {
            let id = entry.id;
            if id > group.last_id {
                if group.entries_read.is_some() && !has_tombstones_from(&counters, len, id) {
                    group.entries_read = group.entries_read.map(|n| n + 1);
                } else if counters.entries_added > 0 {
                    group.entries_read = entries_up_to(&counters, len, id);
                }
                group.last_id = id;
            }
            emit(&entry);
            if !noack {
                group.assign(id, consumer, now, Some(1));
            }
            delivered += 1;
            if count > 0 && delivered == count {
                break;
            }
        }
        Some(delivered)
    }

    /// XREADGROUP with an ID: the consumer's pending entries from `start`, up to `count`
    /// (0 = all); each still in the stream counts one more delivery. `emit` gets the ID and
    /// the entry, `None` for one deleted since. O(log PEL + returned).
    pub fn deliver_history(
        &mut self,
        group_name: &[u8],
        consumer: &[u8],
        start: StreamId,
        count: usize,
        now: u64,
        mut emit: impl FnMut(StreamId, Option<&Entry>),
    ) -> usize {
        let Some(group) = self.groups.get_mut(group_name) else {
            return 0;
        };
        let Some(owner) = group.consumers.get(consumer) else {
            return 0;
        };
        let ids: Vec<StreamId> = owner
            .pending
            .range(start..)
            .take(if count == 0 { usize::MAX } else { count })
            .copied()
            .collect();
        for &id in &ids {
            match self.log.get(id) {
                Some(entry) => {
                    emit(id, Some(&entry));
                    if let Some(p) = group.pel.get_mut(&id) {
                        p.delivery_time = now;
                        p.delivery_count += 1;
                    }
                }
                None => emit(id, None),
            }
        }
        ids.len()
    }

    /// Ensures `consumer` exists in `group` and marks it seen; true when created.
    pub fn touch_consumer(&mut self, group: &[u8], consumer: &[u8], now: u64) -> bool {
        self.groups
            .get_mut(group)
            .is_some_and(|g| g.touch_consumer(consumer, now))
    }

    /// XACK: how many of `ids` were pending in the group. O(ids log PEL).
    pub fn ack(&mut self, group: &[u8], ids: &[StreamId]) -> usize {
        let Some(group) = self.groups.get_mut(group) else {
            return 0;
        };
        ids.iter().filter(|&&id| group.ack(id)).count()
    }

    /// XCLAIM: see [`Claim`]. Returns the claimed IDs (in argument order) and whether the
    /// consumer was created. O(ids log PEL).
    pub fn claim(&mut self, group_name: &[u8], claim: &Claim, now: u64) -> (Vec<StreamId>, bool) {
        let mut claimed = Vec::new();
        let mut created = false;
        let log = &self.log;
        let Some(group) = self.groups.get_mut(group_name) else {
            return (claimed, created);
        };
        if let Some(last) = claim.last_id {
            if last > group.last_id {
                group.last_id = last;
            }
        }
        let mut have_consumer = false;
        for &id in &claim.ids {
            let pending = group.pel.get(&id);
            if log.get(id).is_none() {
                if pending.is_some() {
                    group.ack(id);
                }
                continue;
            }
            let known = pending.is_some();
            if !known && !claim.force {
                continue;
            }
            if let Some(p) = pending {
                if claim.min_idle > 0 && now.saturating_sub(p.delivery_time) < claim.min_idle {
                    continue;
                }
            }
            if !have_consumer {
                created = group.touch_consumer(&claim.consumer, now);
                have_consumer = true;
            }
            // A pending entry FORCE creates starts at one delivery, as Redis's new NACK does,
            // before the claim counts its own.
            let previous_count = group.pel.get(&id).map_or(1, |p| p.delivery_count);
            let count = match claim.retry_count {
                Some(n) => n,
                None if !claim.just_id => previous_count + 1,
                None => previous_count,
            };
            group.assign(id, &claim.consumer, claim.delivery_time, Some(count));
            claimed.push(id);
        }
        (claimed, created)
    }

    /// XAUTOCLAIM: claims up to `count` entries idle at least `min_idle` from `start`, looking
    /// at no more than 10 x `count` PEL entries; drops pending entries whose entry is gone.
    /// Returns (claimed, cursor for the next call (0-0 at the end), deleted IDs, consumer
    /// created). O(count log PEL).
    pub fn auto_claim(
        &mut self,
        group_name: &[u8],
        request: &AutoClaim,
        now: u64,
    ) -> (Vec<StreamId>, StreamId, Vec<StreamId>, bool) {
        let mut claimed = Vec::new();
        let mut deleted = Vec::new();
        let mut created = false;
        let log = &self.log;
        let Some(group) = self.groups.get_mut(group_name) else {
            return (claimed, StreamId::MIN, deleted, created);
        };
        let mut attempts = request.count.saturating_mul(10);
        let mut left = request.count;
        let mut cursor = Some(request.start);
        let mut have_consumer = false;
        let mut next = StreamId::MIN;
        while let Some((&id, pending)) = cursor.and_then(|c| group.pel.range(c..).next()) {
            if attempts == 0 || left == 0 {
                next = id;
                break;
            }
            attempts -= 1;
            let idle = now.saturating_sub(pending.delivery_time);
            let delivered = pending.delivery_count;
            cursor = id.next();
            if log.get(id).is_none() {
                group.ack(id);
                deleted.push(id);
                left -= 1;
            } else if request.min_idle == 0 || idle >= request.min_idle {
                if !have_consumer {
                    created = group.touch_consumer(request.consumer, now);
                    have_consumer = true;
                }
                let count = if request.just_id {
                    delivered
                } else {
                    delivered + 1
                };
                group.assign(id, request.consumer, now, Some(count));
                claimed.push(id);
                left -= 1;
            }
        }
        (claimed, next, deleted, created)
    }

    /// Allocations freeing this stream releases, as Redis's `lazyfreeGetFreeEffort` counts
    /// them: its nodes, plus per group one and the first group's PEL size. O(1).
    pub fn free_effort(&self) -> usize {
        let pel = self.groups.values().next().map_or(0, |g| g.pel.len());
        self.log.node_count() + self.groups.len() * (1 + pel)
    }

    /// Bytes held beyond the value's box. O(nodes + groups' entries).
    pub fn memory_usage(&self) -> usize {
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                name.len()
                    + std::mem::size_of::<Group>()
                    + g.pel.values().map(|p| 48 + p.consumer.len()).sum::<usize>()
                    + g.consumers
                        .iter()
                        .map(|(n, c)| n.len() + 48 + c.pending.len() * 24)
                        .sum::<usize>()
            })
            .sum();
        self.log.memory_usage() + groups
    }
}

/// What XAUTOCLAIM asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoClaim<'a> {
    pub consumer: &'a [u8],
    /// Only entries idle this long (ms) are claimed.
    pub min_idle: u64,
    pub start: StreamId,
    /// Most entries claimed (or found deleted).
    pub count: u64,
    /// Claim without counting a delivery, and reply with IDs only.
    pub just_id: bool,
}

/// What XCLAIM asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub consumer: Box<[u8]>,
    pub min_idle: u64,
    pub ids: Vec<StreamId>,
    /// Delivery time to record (Unix ms).
    pub delivery_time: u64,
    pub retry_count: Option<u64>,
    pub force: bool,
    pub just_id: bool,
    pub last_id: Option<StreamId>,
}

// ---- keyspace operations behind the X* commands ----
//
// A stream lives on when emptied (it keeps its counters and groups), until DEL.

impl DbMut<'_> {
    /// The stream at `key` for reading. O(1).
    pub fn stream_read(&mut self, key: &[u8]) -> StoreResult<Option<&StreamValue>> {
        self.read_typed(key, Value::as_stream)
    }

    /// The stream at `key` for a change; the caller calls [`Self::stream_changed`] after.
    /// O(1).
    pub fn stream_write(&mut self, key: &[u8]) -> StoreResult<Option<&mut StreamValue>> {
        self.write_typed(key, Value::as_stream_mut)
    }

    /// Records a change made through [`Self::stream_write`].
    pub fn stream_changed(&mut self, key: &[u8]) {
        self.modified(key);
    }

    /// Records a change of a stream's consumer groups or last ID made through
    /// [`Self::stream_write`]: persisted, but not a modified key (WATCH and client-side
    /// caching do not see it), as in Redis.
    pub fn stream_groups_changed(&mut self, key: &[u8]) {
        self.state_changed(key);
    }

    /// XADD: appends an entry (creating the stream unless `no_create`), then trims; returns
    /// the new ID and how many entries the trim removed, `None` when the key is missing and
    /// `no_create`. Wakes the clients waiting on the key. O(log nodes + entry + trim).
    pub fn stream_add(
        &mut self,
        key: &[u8],
        spec: NewId,
        pairs: &[&[u8]],
        no_create: bool,
        trim: Option<Trim>,
        limits: NodeLimits,
    ) -> Result<Option<(StreamId, u64)>, StreamError> {
        let now = self.now_ms();
        let id = match self.stream_write(key)? {
            Some(stream) => stream.next_id(spec, now)?,
            None if no_create => return Ok(None),
            None => StreamValue::new().next_id(spec, now)?,
        };
        let stream = self.write_typed_or_create(key, Value::as_stream_mut, Value::new_stream)?;
        stream.append(id, pairs, limits);
        let trimmed = trim.map_or(0, |t| stream.trim(t));
        self.modified(key);
        self.signal_ready(key, "stream");
        Ok(Some((id, trimmed)))
    }

    /// XGROUP CREATE ... MKSTREAM on a missing key: an empty stream. O(1).
    pub fn stream_create_empty(&mut self, key: &[u8]) {
        if !self.exists(key) {
            self.insert(key, Value::new_stream(), None);
        }
    }
}

/// `added - read` as Redis's signed `long long` subtraction gives it.
fn signed_lag(added: u64, read: u64) -> i64 {
    (added as i64).wrapping_sub(read as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(ids: &[(u64, u64)]) -> StreamValue {
        let mut s = StreamValue::new();
        for &(ms, seq) in ids {
            s.append(StreamId::new(ms, seq), &[b"f", b"v"], NodeLimits::default());
        }
        s
    }

    #[test]
    fn ids_are_generated_as_redis_does() {
        let s = stream_of(&[(5, 3)]);
        assert_eq!(s.next_id(NewId::Auto, 4), Ok(StreamId::new(5, 4)));
        assert_eq!(s.next_id(NewId::Auto, 9), Ok(StreamId::new(9, 0)));
        assert_eq!(s.next_id(NewId::Ms(5), 0), Ok(StreamId::new(5, 4)));
        assert_eq!(s.next_id(NewId::Ms(7), 0), Ok(StreamId::new(7, 0)));
        assert!(s.next_id(NewId::Ms(4), 0).is_err());
        assert!(s.next_id(NewId::Exact(StreamId::new(5, 3)), 0).is_err());
    }

    #[test]
    fn lag_and_entries_read_follow_deliveries_and_deletions() {
        let mut s = stream_of(&[(1, 0), (2, 0), (3, 0), (4, 0)]);
        assert!(s.create_group(b"g", StreamId::MIN, None));
        let lag = |s: &StreamValue| s.lag(s.group(b"g").unwrap());
        assert_eq!(lag(&s), Some(4));
        let mut seen = Vec::new();
        s.deliver_new(b"g", b"c", 2, false, 100, |e| seen.push(e.id));
        assert_eq!(seen, [StreamId::new(1, 0), StreamId::new(2, 0)]);
        assert_eq!(s.group(b"g").unwrap().entries_read, Some(2));
        assert_eq!(lag(&s), Some(2));
        assert_eq!(s.delete(&[StreamId::new(3, 0)]), 1);
        assert_eq!(lag(&s), None);
        s.deliver_new(b"g", b"c", 0, false, 100, |_| {});
        // As in Redis: a counter still valid does not notice a deletion it passed over.
        assert_eq!(s.group(b"g").unwrap().entries_read, Some(3));
        assert_eq!(lag(&s), Some(1));
        assert_eq!(s.group(b"g").unwrap().pel.len(), 3);
    }

    #[test]
    fn claims_move_pending_entries_between_consumers() {
        let mut s = stream_of(&[(1, 0), (2, 0)]);
        s.create_group(b"g", StreamId::MIN, None);
        s.touch_consumer(b"g", b"a", 0);
        s.deliver_new(b"g", b"a", 0, false, 0, |_| {});
        let claim = Claim {
            consumer: b"b"[..].into(),
            min_idle: 10,
            ids: vec![StreamId::new(1, 0), StreamId::new(9, 0)],
            delivery_time: 20,
            retry_count: None,
            force: false,
            just_id: false,
            last_id: None,
        };
        let (claimed, created) = s.claim(b"g", &claim, 20);
        assert_eq!(claimed, [StreamId::new(1, 0)]);
        assert!(created);
        let g = s.group(b"g").unwrap();
        assert_eq!(g.pel[&StreamId::new(1, 0)].delivery_count, 2);
        assert_eq!(g.consumers[&b"a"[..]].pending.len(), 1);
        let request = AutoClaim {
            consumer: b"c",
            min_idle: 0,
            start: StreamId::MIN,
            count: 1,
            just_id: true,
        };
        let (claimed, cursor, deleted, _) = s.auto_claim(b"g", &request, 30);
        assert_eq!(claimed, [StreamId::new(1, 0)]);
        assert_eq!(cursor, StreamId::new(2, 0));
        assert!(deleted.is_empty());
    }
}
