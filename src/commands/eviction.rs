//! Keeping memory under `maxmemory`: evictions before commands, Redis's `performEvictions`.
//!
//! Before every command while `maxmemory` is set (and after `CONFIG SET maxmemory`), if the
//! memory counted against the limit is over it, keys are evicted by `maxmemory-policy` (the
//! choice is [`crate::store::evict`]'s) until the estimated bytes freed cover the excess. One
//! round runs for at most the time `maxmemory-eviction-tenacity` allows (500 µs at the default
//! 10; 100: no limit); a round cut short leaves eviction running, and the reactor goes on with
//! it on its next loop turns instead of sleeping, so the reactor never stalls on it. When
//! nothing may be evicted (`noeviction`, or a `volatile-*` policy with no key that has an
//! expiry), commands that may use memory are refused with `-OOM`.
//!
//! What is counted: the allocator's live bytes (INFO `used_memory`), less what Redis would not
//! count either (`mem_not_counted_for_evict`): here the journal of element-level writes kept for
//! the next hand-off to MongoDB, the counterpart of Redis's AOF buffer. The batches in flight to
//! the MongoDB writer thread are counted: they are bounded and short-lived.
//!
//! Less too: the slots of evicted keys whose value lived in the slot (a short string), while
//! no key has taken them. Evicting such a key frees no allocator memory, only its slot; were
//! the slot counted as used, whatever else held memory over the limit (a client's query
//! buffer) would have every command evict as much again, until the tables were half empty.
//! Counted as free, they cost about the excess in keys, as in Redis; when memory stays over
//! the limit by them, they are given back (see [`perform`]).
//!
//! What a round frees is estimated from each evicted key's [`footprint`] rather than measured,
//! as Redis measures it around the deletion only: the bookkeeping an eviction causes (tracking
//! invalidations, the change record) must not count against it, or invalidation messages would
//! feed more evictions. Large values go to the lazyfree thread.

use super::latency::{self, LatencyEvent};
use super::Server;
use crate::store::evict::{EvictionPolicy, EvictionPool};
use crate::store::{footprint, Keyspace};
use std::time::{Duration, Instant};

/// Entries of a large value measured to estimate its size (as MEMORY USAGE's default).
const FOOTPRINT_SAMPLES: usize = 5;

/// How a round of evictions ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is under the limit (or the limit is off, or evictions are not allowed now).
    Ok,
    /// Over the limit still, but the round ran out of time: the reactor goes on with it.
    Running,
    /// Over the limit and nothing more may be evicted: commands that may use memory are refused.
    Fail,
}

/// The state evictions keep between rounds.
#[derive(Debug)]
pub struct EvictionState {
    pool: EvictionPool,
    /// `maxmemory-policy`, as last set (see [`EvictionState::set_policy`]).
    policy: EvictionPolicy,
    /// A round ran out of time with memory still over the limit.
    running: bool,
    /// Since when memory has been over the limit, while it is (INFO
    /// `current_eviction_exceeded_time`).
    over_since: Option<Instant>,
    /// Time spent over the limit in earlier spells (INFO `total_eviction_exceeded_time`).
    total_over: Duration,
    /// Bytes of the slots of evicted keys whose value lived in the slot (see the module
    /// documentation); at most the tables' vacant slots when read.
    slot_credit: u64,
    /// When vacant slots may next be given back, on the keyspace's clock (see [`perform`]).
    next_give_back_ms: u64,
}

impl Default for EvictionState {
    fn default() -> Self {
        EvictionState {
            pool: EvictionPool::default(),
            policy: EvictionPolicy::NoEviction,
            running: false,
            over_since: None,
            total_over: Duration::ZERO,
            slot_credit: 0,
            next_give_back_ms: 0,
        }
    }
}

impl EvictionState {
    /// Applies `maxmemory-policy` (at start and after CONFIG SET); a new policy forgets the
    /// candidates, whose scores meant something else.
    pub fn set_policy(&mut self, name: &str) {
        let policy = EvictionPolicy::from_name(name).unwrap_or(EvictionPolicy::NoEviction);
        if policy != self.policy {
            self.pool.clear();
            self.policy = policy;
        }
    }

    /// True while a round ran out of time with memory still over the limit: the reactor must
    /// call [`continue_evicting`] instead of sleeping.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// How long memory has been over the limit in this spell, in milliseconds.
    pub fn current_exceeded_ms(&self) -> u64 {
        self.over_since
            .map_or(0, |since| since.elapsed().as_millis() as u64)
    }

    /// How long memory has been over the limit in all, in milliseconds.
    pub fn total_exceeded_ms(&self) -> u64 {
        (self.total_over.as_millis() as u64) + self.current_exceeded_ms()
    }

    /// Forgets the time spent over the limit (CONFIG RESETSTAT).
    pub fn reset_stats(&mut self) {
        self.total_over = Duration::ZERO;
        if self.over_since.is_some() {
            self.over_since = Some(Instant::now());
        }
    }

    fn over_limit(&mut self) {
        self.over_since.get_or_insert_with(Instant::now);
    }

    fn under_limit(&mut self) {
        if let Some(since) = self.over_since.take() {
            self.total_over += since.elapsed();
        }
    }
}

/// Bytes held against `maxmemory` now (see the module documentation): what the allocator
/// holds, less what is not counted and less the slots that evicted keys held alone and that
/// are still vacant. O(databases) while there are such slots, else O(1).
pub fn counted_memory(ks: &Keyspace, server: &Server) -> u64 {
    held_memory(server).saturating_sub(slot_credit(ks, server))
}

/// The bytes of the slots evicted keys held alone that no key has taken since: the credit
/// recorded, at most the tables' vacant slots (keys added take vacant slots first; the
/// credit is brought down to them when memory is over the limit). O(databases) while there
/// is a credit, else O(1).
fn slot_credit(ks: &Keyspace, server: &Server) -> u64 {
    match server.eviction.slot_credit {
        0 => 0,
        credit => credit.min(ks.vacant_slot_bytes() as u64),
    }
}

/// True if memory counted against `maxmemory` is over it (O(1) while what the allocator
/// holds is under it).
pub fn over_limit(ks: &Keyspace, server: &Server) -> bool {
    let maxmemory = server.config.maxmemory;
    maxmemory != 0 && held_memory(server) > maxmemory && counted_memory(ks, server) > maxmemory
}

/// The allocator's live bytes less what is not counted: what a table's growth adds to, as
/// the vacant slots of other tables are no room for it. O(1).
fn held_memory(server: &Server) -> u64 {
    ((server.used_memory)() as u64).saturating_sub(not_counted_memory(server))
}

/// Bytes left out of the count (INFO `mem_not_counted_for_evict`).
pub fn not_counted_memory(server: &Server) -> u64 {
    server.journal.as_ref().map_or(0, |j| j.bytes() as u64) + server.snapshot_memory
}

/// How long one round may run, from `maxmemory-eviction-tenacity` (Redis's curve: 50 µs per
/// step up to 10, then 15% more per step); `None`: no limit (100).
fn round_time_limit(tenacity: u64) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * tenacity)),
        11..=99 => Some(Duration::from_secs_f64(
            500e-6 * 1.15f64.powi(tenacity as i32 - 10),
        )),
        _ => None,
    }
}

/// One round of evictions, as Redis's `performEvictions`: returns whether memory is under
/// the limit, still over it with the round out of time, or over it with nothing to evict.
/// `db` is the database of the command about to run: when a new key would make one of its
/// tables grow past the limit, the table grows by what is left under the limit if that pays
/// for a smaller step (see [`Keyspace::grow_within`]), and otherwise one of its keys is
/// evicted to make room (see [`Keyspace::growth_on_insert`]). O(1) while under the limit,
/// except when a full table grows.
pub fn perform(ks: &mut Keyspace, server: &mut Server, db: Option<usize>) -> Outcome {
    let maxmemory = server.config.maxmemory;
    // Like Redis, the dataset stays as it is while clients are paused.
    if maxmemory == 0 || server.pause_in_force(ks.now_ms()).is_some() {
        server.eviction.running = false;
        server.eviction.under_limit();
        return Outcome::Ok;
    }
    let mut held = held_memory(server);
    if held <= maxmemory {
        // Nothing is over the limit for the slots to stand for: they are room for keys,
        // like any other.
        server.eviction.slot_credit = 0;
    } else if server.eviction.slot_credit > 0 {
        server.eviction.slot_credit = slot_credit(ks, server);
        let due = ks.now_ms() >= server.eviction.next_give_back_ms;
        if server.eviction.slot_credit > 0 && due {
            // The vacant slots stand for what is over the limit, as a deletion's freed
            // memory would: given back, they are freed. That rebuilds the tables, in
            // O(keys), and the tables regrow as keys come, at about the same cost: the
            // next time waits two hundred times as long as this took, while the slots keep
            // standing for the excess.
            let started = Instant::now();
            ks.give_back_vacant_slots();
            server.eviction.slot_credit = 0;
            let wait_ms = u64::try_from(started.elapsed().as_micros() / 5).unwrap_or(u64::MAX);
            server.eviction.next_give_back_ms = ks.now_ms().saturating_add(wait_ms);
            held = held_memory(server);
        }
    }
    // Dropping values frees no table slot (cold keys keep theirs): making room in a full
    // table is left to eviction without the cold tier.
    let tiering = server.config.maxmemory_tiering && server.persistence.is_some();
    let must_grow = |ks: &Keyspace, held: u64| {
        !tiering
            && db.is_some_and(|db| {
                let growth = ks.growth_on_insert(db) as u64;
                growth > 0 && held + growth > maxmemory
            })
    };
    if held <= maxmemory && must_grow(ks, held) {
        // A full table grows by what is left under the limit, when that is enough for a
        // smaller step than usual, rather than a key being evicted while under the limit.
        let allocated = server.used_memory;
        if db.is_some_and(|db| ks.grow_within(db, (maxmemory - held) as usize, allocated)) {
            held = held_memory(server);
        }
    }
    // The credit is nothing under the limit, and was brought down to the vacant slots above
    // over it (a growth that went over it started under it).
    let used = if held > maxmemory {
        held.saturating_sub(server.eviction.slot_credit)
    } else {
        held
    };
    if used <= maxmemory && !must_grow(ks, held) {
        server.eviction.running = false;
        server.eviction.under_limit();
        return Outcome::Ok;
    }
    if used > maxmemory {
        server.eviction.over_limit();
    } else {
        // Only making room in a full table: memory itself is not over the limit.
        server.eviction.under_limit();
    }
    let policy = server.eviction.policy;
    let to_free = used.saturating_sub(maxmemory);
    let samples = usize::try_from(server.config.maxmemory_samples).unwrap_or(usize::MAX);
    let time_limit = round_time_limit(server.config.maxmemory_eviction_tenacity);
    // A clock read costs about as much as an eviction, and at the limit a round often evicts
    // one key: a round is timed from its 16th eviction (where its limit is first checked),
    // and from its start only while the latency monitor is on.
    let started = (server.config.latency_monitor_threshold != 0).then(Instant::now);
    let mut timed_from = started;
    let mut freed = 0u64;
    let mut evicted = 0u64;
    let mut outcome = Outcome::Ok;
    loop {
        // Over the limit: evict anywhere; under it but with a table about to grow past it:
        // make room in that table.
        let only_db = if freed < to_free {
            None
        } else if must_grow(ks, held_memory(server)) {
            db
        } else {
            break;
        };
        let chosen = if tiering {
            choose_droppable(ks, server, policy, samples, only_db)
        } else {
            server
                .eviction
                .pool
                .choose(ks, policy, samples, only_db, &mut server.rng)
        };
        let Some(value) = chosen.and_then(|(db, key)| {
            if tiering {
                let epoch = server.tiering.next_epoch();
                let value = ks.drop_value(db, &key, epoch)?;
                let bytes = footprint::value_usage(&value, FOOTPRINT_SAMPLES) as u64;
                server.tiering.values_dropped += 1;
                server.tiering.bytes_dropped += bytes;
                freed += bytes;
                return Some(value);
            }
            let value = ks.evict(db, &key)?;
            let bytes = footprint::usage(&key, &value, FOOTPRINT_SAMPLES) as u64;
            // A key evicted to make room in a full table leaves the slot the new key takes.
            if only_db.is_none() && bytes == footprint::slot_usage() as u64 {
                server.eviction.slot_credit += bytes;
            }
            freed += bytes;
            Some(value)
        }) else {
            // Nothing to make room with under the limit: the table grows rather than the
            // command being refused while memory is not over the limit (yet).
            if freed >= to_free {
                break;
            }
            if tiering {
                // What is over the limit is cold keys' records and values not in MongoDB
                // yet: have those written (they can be dropped then), and go over the limit
                // meanwhile rather than refuse commands or delete data.
                if ks.total_cold_keys() < total_keys(ks) {
                    server.tiering.flushes_requested += 1;
                    super::persistence::request_flush(server);
                }
                break;
            }
            outcome = Outcome::Fail;
            break;
        };
        server.free_value(value);
        evicted += 1;
        let out_of_time = |timed_from: &mut Option<Instant>, limit: Duration| {
            let now = Instant::now();
            now.duration_since(*timed_from.get_or_insert(now)) >= limit
        };
        if evicted.is_multiple_of(16)
            && time_limit.is_some_and(|limit| out_of_time(&mut timed_from, limit))
        {
            outcome = Outcome::Running;
            break;
        }
    }
    if outcome == Outcome::Fail
        && server
            .lazyfree
            .as_ref()
            .is_some_and(|lazy| lazy.pending() > 0)
    {
        // What the lazyfree thread is still freeing may be enough: a short wait, as Redis.
        std::thread::sleep(time_limit.unwrap_or(Duration::from_millis(1)));
        if !over_limit(ks, server) {
            outcome = Outcome::Ok;
        }
    }
    if let Some(started) = started.filter(|_| evicted > 0) {
        let elapsed = started.elapsed();
        let usec = elapsed.as_secs() * 1_000_000 + u64::from(elapsed.subsec_micros());
        latency::sample_if_slow(server, LatencyEvent::EvictionCycle, usec);
    }
    server.eviction.running = outcome == Outcome::Running;
    outcome
}

/// The next value the cold tier drops, by the policy's ranking: a hot value that holds heap
/// memory and that MongoDB holds as it is (not changed since the last hand-off, not waiting
/// to be written, not being written).
fn choose_droppable(
    ks: &mut Keyspace,
    server: &mut Server,
    policy: EvictionPolicy,
    samples: usize,
    only_db: Option<usize>,
) -> Option<(usize, crate::store::Key)> {
    let Server {
        eviction,
        persistence,
        rng,
        ..
    } = server;
    let persistence = persistence.as_deref();
    let mut clean = |ks: &Keyspace, db: usize, key: &[u8]| {
        ks.stored_value(db, key)
            .is_some_and(|value| footprint::value_usage(value, 1) > 0)
            && !ks.is_dirty(db, key)
            && !ks.is_waited(db, key)
            && persistence.is_some_and(|handle| handle.holds_value(db, key))
    };
    eviction
        .pool
        .choose_where(ks, policy, samples, only_db, rng, Some(&mut clean))
}

/// Keys in all databases. O(databases).
fn total_keys(ks: &Keyspace) -> usize {
    ks.sizes().iter().map(|(keys, _)| keys).sum()
}

/// Goes on with evictions a round left running (the reactor calls this on each loop turn
/// while [`EvictionState::is_running`]), and publishes their keyspace events.
pub fn continue_evicting(ks: &mut Keyspace, server: &mut Server) {
    perform(ks, server, None);
    if ks.has_key_events() {
        super::pubsub::publish_background_key_events(ks, server);
    }
}

/// After `CONFIG SET maxmemory`: warns when the new limit is below what is used, and evicts
/// toward it at once, as Redis does.
pub fn after_maxmemory_set(ks: &mut Keyspace, server: &mut Server) {
    let maxmemory = server.config.maxmemory;
    if maxmemory == 0 {
        return;
    }
    // The limit is to lower what is held: tables keep no room for keys that may not come.
    if held_memory(server) > maxmemory {
        ks.give_back_vacant_slots();
        server.eviction.slot_credit = 0;
    }
    let used = counted_memory(ks, server);
    if maxmemory < used {
        log::warn!(
            "WARNING: the new maxmemory value set via CONFIG SET ({maxmemory}) is smaller than \
             the current memory usage ({used}). This will result in key eviction and/or the \
             inability to accept new write commands depending on the maxmemory-policy."
        );
    }
    perform(ks, server, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_sets_the_time_of_a_round_as_redis() {
        assert_eq!(round_time_limit(0), Some(Duration::ZERO));
        assert_eq!(round_time_limit(10), Some(Duration::from_micros(500)));
        let eleven = round_time_limit(11).unwrap();
        assert!(eleven > Duration::from_micros(574) && eleven < Duration::from_micros(576));
        let ninety_nine = round_time_limit(99).unwrap();
        assert!(ninety_nine > Duration::from_secs(120), "{ninety_nine:?}");
        assert_eq!(round_time_limit(100), None);
    }
}
