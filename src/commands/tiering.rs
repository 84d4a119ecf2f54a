//! The cold tier as commands see it (`maxmemory-tiering`): data sets larger than memory, with
//! MongoDB holding the values memory has no room for.
//!
//! Over `maxmemory`, eviction ([`super::eviction`]) drops values MongoDB already holds instead
//! of deleting keys: the key stays as a cold record ([`crate::store::value::ColdValue`]: its
//! type and drop epoch, with its expiry and access word where every key keeps them). Before a
//! command runs, [`must_load`] looks at the keys it names (its key specs; every queued
//! command's for EXEC; a script's declared `KEYS`): if one is cold and the command needs its
//! value, the persistence layer is asked to read it and the client is parked as a blocked
//! client is, on those keys, until the value is back ([`crate::store::Keyspace::restore_value`]
//! puts the key in line) or `tiering-load-timeout-ms` passes (`-TRYAGAIN`). The command then
//! runs again from the start, so MULTI and scripts stay atomic: everything they name is in
//! memory when they run. Clients waiting on one key share one read. Commands that need no
//! value ([`answers_without_value`]) run at once on the cold record.
//!
//! What it costs while off, or while no key of the client's database is cold: one load and
//! compare per command.

use super::blocking::{BlockRequest, TimeoutReply};
use super::{CmdError, CmdResult, CommandSpec, Ctx, Flags, Server};
use crate::store::{Key, Keyspace};
use std::fmt::Write as _;
use std::time::Duration;

/// Load latencies kept for the INFO percentiles (the most recent ones).
const LATENCY_SAMPLES: usize = 1024;

/// The cold tier's figures (INFO `tiering`) and the epoch counter of drops.
#[derive(Debug, Default)]
pub struct TieringState {
    /// Values dropped from memory since start.
    pub values_dropped: u64,
    /// Bytes of values dropped since start (estimated as eviction estimates them).
    pub bytes_dropped: u64,
    /// Values read back from MongoDB and put back.
    pub loads: u64,
    /// Reads that failed (MongoDB unreachable past the timeout, a damaged document).
    pub load_errors: u64,
    /// Commands that waited for a cold value.
    pub waits: u64,
    /// Commands answered `-TRYAGAIN` because a value did not arrive in time.
    pub timeouts: u64,
    /// Times eviction found no clean value to drop and asked persistence to flush.
    pub flushes_requested: u64,
    /// The most recent load latencies in microseconds (a ring), and the next slot.
    latencies: Vec<u32>,
    next_latency: usize,
    /// The longest load since start, in microseconds.
    pub max_latency_us: u64,
    /// The epoch the next drop gets (wraps; 0 is left to cold keys made at start-up).
    next_epoch: u32,
    /// The key positions of the command being checked, kept to be reused.
    key_positions: Vec<(usize, crate::commands::table::KeyFlags)>,
}

impl TieringState {
    /// A new epoch for a drop.
    pub fn next_epoch(&mut self) -> u32 {
        self.next_epoch = self.next_epoch.wrapping_add(1).max(1);
        self.next_epoch
    }

    /// Records a completed load of `latency`.
    pub fn record_load(&mut self, latency: Duration) {
        let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.loads += 1;
        self.max_latency_us = self.max_latency_us.max(u64::from(us));
        if self.latencies.len() < LATENCY_SAMPLES {
            self.latencies.push(us);
        } else if let Some(slot) = self.latencies.get_mut(self.next_latency) {
            *slot = us;
        }
        self.next_latency = (self.next_latency + 1) % LATENCY_SAMPLES;
    }

    /// The `percentile` (0-100) of the recent load latencies, in microseconds. O(samples log
    /// samples).
    fn percentile_us(&self, percentile: f64) -> u64 {
        if self.latencies.is_empty() {
            return 0;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let rank = ((percentile / 100.0) * sorted.len() as f64).ceil() as usize;
        let at = rank.clamp(1, sorted.len()) - 1;
        sorted.get(at).map_or(0, |&us| u64::from(us))
    }
}

/// True for commands that answer from the cold record itself, never needing the value:
/// existence, type, expiry, deletion, renaming (persistence moves the stored value; see
/// [`crate::store::Keyspace::cold_move_pending`]), access metadata and the keyspace walks.
pub fn answers_without_value(spec: &CommandSpec) -> bool {
    matches!(
        spec.full_name,
        "exists"
            | "type"
            | "ttl"
            | "pttl"
            | "expiretime"
            | "pexpiretime"
            | "expire"
            | "pexpire"
            | "expireat"
            | "pexpireat"
            | "persist"
            | "del"
            | "unlink"
            | "touch"
            | "rename"
            | "renamenx"
            | "dbsize"
            | "keys"
            | "scan"
            | "randomkey"
            | "object|idletime"
            | "object|freq"
            | "object|encoding"
    )
}

/// The error a command gets when the value of cold `key` did not arrive in time.
pub fn unavailable_text(key: &[u8]) -> String {
    format!(
        "TRYAGAIN cold value of key '{}' unavailable: MongoDB unreachable",
        String::from_utf8_lossy(key)
    )
}

/// The cold keys among those `spec` names in `argv` (every queued command's for EXEC), live
/// ones only (an expired cold key is deleted here, as any lookup would), each once. Empty
/// when the command needs no value. O(keys named), with no allocation unless a key is cold:
/// this runs before every command while any key is cold.
fn cold_keys_named(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> Vec<Key> {
    let db = ctx.client.db;
    let mut cold: Vec<Key> = Vec::new();
    let mut positions = std::mem::take(&mut ctx.server.tiering.key_positions);
    let mut note = |ks: &mut Keyspace, spec: &CommandSpec, argv: &[&[u8]]| {
        spec.keys_with_flags_into(argv, &mut positions);
        for &(at, _) in positions.iter() {
            let Some(&key) = argv.get(at) else { continue };
            if ks.cold_epoch(db, key).is_some()
                && !answers_without_value(spec)
                && ks.db(db).exists(key)
                && !cold.iter().any(|k| &**k == key)
            {
                cold.push(key.into());
            }
        }
    };
    if spec.flags.contains(Flags::RUNS_QUEUED) {
        if let Some(tx) = ctx.client.multi.as_ref() {
            for request in &tx.queued {
                let argv: Vec<&[u8]> = request.iter().map(Vec::as_slice).collect();
                if let Ok(spec) = super::resolve(&argv) {
                    note(ctx.ks, spec, &argv);
                }
            }
        }
    } else {
        note(ctx.ks, spec, argv);
    }
    ctx.server.tiering.key_positions = positions;
    cold
}

/// Before `spec` runs (called only while some key of the client's database is cold): if it
/// needs the value of a cold key it names, asks persistence to load every such value and
/// parks the client until they are back; true then, and the command must not run now (the
/// reactor runs it again from the start). O(keys named).
pub fn must_load(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> bool {
    let cold = cold_keys_named(ctx, spec, argv);
    if cold.is_empty() {
        return false;
    }
    let db = ctx.client.db;
    request_loads(ctx.ks, ctx.server, db, &cold);
    ctx.server.tiering.waits += 1;
    let deadline = ctx.ks.now_ms() + ctx.server.config.tiering_load_timeout_ms;
    ctx.client.block = Some(BlockRequest {
        db,
        keys: cold,
        deadline: Some(deadline),
        on_timeout: TimeoutReply::ColdValue,
        rerun: None,
    });
    true
}

/// For a command that found while running that it needs the values of cold `keys` it does
/// not name (SORT's `BY` and `GET` patterns, DEBUG DIGEST-VALUE), before it changed or
/// answered anything: asks for them and parks the client as [`must_load`] does, so the
/// command runs again from the start once they are back. Inside a transaction or a script
/// nothing may wait: an error naming the key, the loads started so that a retry may find
/// the values in memory. O(keys).
pub fn wait_for_values(ctx: &mut Ctx, keys: Vec<Key>) -> CmdResult {
    let db = ctx.client.db;
    request_loads(ctx.ks, ctx.server, db, &keys);
    if ctx.client.in_multi || ctx.client.in_script {
        let key = keys.first().map_or(&b""[..], |k| &k[..]);
        return Err(CmdError::concat(&[
            b"TRYAGAIN the value of key '",
            key,
            b"' is cold (kept in MongoDB only) and the command reads it without naming it as \
              a key: it is being loaded, run the command again",
        ]));
    }
    ctx.server.tiering.waits += 1;
    let deadline = ctx.ks.now_ms() + ctx.server.config.tiering_load_timeout_ms;
    ctx.client.block = Some(BlockRequest {
        db,
        keys,
        deadline: Some(deadline),
        on_timeout: TimeoutReply::ColdValue,
        rerun: None,
    });
    Ok(())
}

/// Asks persistence to read the values of cold `keys` of database `db` (a key already being
/// read is not read twice). O(keys).
fn request_loads(ks: &mut Keyspace, server: &mut Server, db: usize, keys: &[Key]) {
    let timeout = Duration::from_millis(server.config.tiering_load_timeout_ms);
    for key in keys {
        if let Some(epoch) = ks.cold_epoch(db, key) {
            super::persistence::request_load(ks, server, db, key, epoch, timeout);
        }
    }
}

/// For a command a script runs: an error naming a cold key it needs and the script did not
/// declare in `KEYS` (declared keys were loaded before the script started; an undeclared one
/// cannot be waited for inside it). Its load is started, so a retry may find it in memory.
/// `None` when nothing it needs is cold. O(keys named).
pub fn script_refusal(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> Option<String> {
    let cold = cold_keys_named(ctx, spec, argv);
    let key = cold.first()?;
    let db = ctx.client.db;
    request_loads(ctx.ks, ctx.server, db, &cold);
    Some(format!(
        "ERR the value of key '{}' is cold (kept in MongoDB only) and the script did not \
         declare the key: pass every key a script touches in KEYS, so it is loaded before the \
         script runs",
        String::from_utf8_lossy(key)
    ))
}

/// The reply a client parked for cold values gets when they did not arrive in time: names
/// the first of its keys still cold.
pub fn timeout_text(ks: &Keyspace, request: &BlockRequest) -> String {
    let key = request
        .keys
        .iter()
        .find(|key| ks.cold_epoch(request.db, key).is_some())
        .or(request.keys.first());
    unavailable_text(key.map_or(&b""[..], |k| &k[..]))
}

/// Bytes a cold key costs beyond its name: its entry in the key table (key and value
/// headers, the stored hash, its index slot) and its access word.
pub const COLD_RECORD_BYTES: usize = std::mem::size_of::<Key>()
    + std::mem::size_of::<crate::store::Value>()
    + std::mem::size_of::<usize>()
    + std::mem::size_of::<usize>()
    + 1
    + std::mem::size_of::<u32>();

/// INFO `tiering`.
pub fn info_section(ctx: &mut Ctx, out: &mut String) {
    let t = &ctx.server.tiering;
    let cold_keys = ctx.ks.total_cold_keys();
    let _ = write!(
        out,
        "# Tiering\r\ntiering_enabled:{}\r\ncold_keys:{cold_keys}\r\ncold_record_bytes:{}\r\n\
         cold_keys_bytes:{}\r\nvalues_dropped:{}\r\nbytes_dropped:{}\r\ncold_loads:{}\r\n\
         cold_load_errors:{}\r\ncold_waits:{}\r\ncold_timeouts:{}\r\n\
         cold_load_latency_p50_us:{}\r\ncold_load_latency_p99_us:{}\r\n\
         cold_load_latency_max_us:{}\r\nflushes_requested:{}\r\n",
        u8::from(ctx.server.config.maxmemory_tiering),
        COLD_RECORD_BYTES,
        cold_keys * COLD_RECORD_BYTES,
        t.values_dropped,
        t.bytes_dropped,
        t.loads,
        t.load_errors,
        t.waits,
        t.timeouts,
        t.percentile_us(50.0),
        t.percentile_us(99.0),
        t.max_latency_us,
        t.flushes_requested,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_latency_percentiles_come_from_recent_loads() {
        let mut t = TieringState::default();
        assert_eq!(t.percentile_us(50.0), 0);
        for ms in 1..=100u64 {
            t.record_load(Duration::from_micros(ms * 10));
        }
        assert_eq!(t.percentile_us(50.0), 500);
        assert_eq!(t.percentile_us(99.0), 990);
        assert_eq!(t.max_latency_us, 1000);
        assert_eq!(t.loads, 100);
        for _ in 0..LATENCY_SAMPLES {
            t.record_load(Duration::from_micros(7));
        }
        assert_eq!(t.percentile_us(99.0), 7);
        assert_eq!(t.max_latency_us, 1000);
    }

    #[test]
    fn epochs_never_repeat_zero() {
        let mut t = TieringState {
            next_epoch: u32::MAX - 1,
            ..Default::default()
        };
        assert_eq!(t.next_epoch(), u32::MAX);
        assert_eq!(t.next_epoch(), 1);
    }

    #[test]
    fn the_timeout_error_names_the_key() {
        assert_eq!(
            unavailable_text(b"k"),
            "TRYAGAIN cold value of key 'k' unavailable: MongoDB unreachable"
        );
    }
}
