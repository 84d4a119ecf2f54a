//! Persistence as the commands see it: SAVE, BGSAVE, LASTSAVE, the INFO `persistence`
//! section, the journal of element-level writes, and the replay of that journal at start-up.
//!
//! Nothing here knows what the backend is. The persistence layer fills [`PersistenceStatus`],
//! serves save requests through [`Saver`], and reads the [`Journal`].
//!
//! # Why a journal
//! The store only records *which* keys changed. For a large collection that is not enough:
//! persisting "list `q` changed" would mean rewriting the whole list after every LPUSH. So for
//! the large values the persistence layer watches, the commands that changed them are recorded
//! here (their arguments, like an append-only file), and persistence appends those to the value's
//! operation log instead of rewriting it. A command can be recorded only when replaying its
//! arguments on the key's previous value gives exactly its new value: it must change only the
//! key named by its first argument and be deterministic ([`OP_COMMANDS`]). Anything else that
//! changes a watched key *taints* it, and persistence then writes a full snapshot of it.

use super::{execute, Args, ClientState, CmdError, CmdResult, CommandSpec, Ctx, NoClients, Server};
use crate::protocol::{Protover, ReplyBuf};
use crate::store::{FastMap, FastSet, Key, Keyspace};
use std::fmt::Write as _;
use std::time::Duration;

/// Persistence figures for INFO and LASTSAVE; written by the persistence layer.
#[derive(Debug, Clone, Default)]
pub struct PersistenceStatus {
    /// Persistence is configured (`mongodb-uri` set).
    pub enabled: bool,
    /// Where data goes, credentials removed (`mongodb://host:port`).
    pub target: String,
    pub database: String,
    /// The writer reached the database on its last attempt.
    pub connected: bool,
    /// Keys loaded at start-up, and how long the load took.
    pub loaded_keys: u64,
    pub load_ms: u64,
    /// Changed keys taken from the store but not yet handed to the writer.
    pub backlog_keys: u64,
    /// Keys in the batch the writer is working on.
    pub in_flight_keys: u64,
    /// Unix ms of the oldest change not yet acknowledged by the database (0 = none).
    pub oldest_unsaved_ms: u64,
    /// Unix ms when the last batch was acknowledged (0 = never).
    pub last_flush_ms: u64,
    /// Whether the last write attempt succeeded.
    pub last_flush_ok: bool,
    /// The last write error, empty when none happened yet.
    pub last_error: String,
    /// Failed write attempts (each is retried).
    pub flush_errors: u64,
    /// Items given up after repeated per-item write errors.
    pub dropped_items: u64,
    /// Keys written (snapshots, appended operations and deletions) since start.
    pub keys_written: u64,
    /// Batches acknowledged since start.
    pub batches_written: u64,
    /// Snapshots of watched (large) values and operation-log appends since start.
    pub snapshots_written: u64,
    pub log_appends: u64,
    /// Unix seconds of the latest moment everything changed before it was acknowledged
    /// (LASTSAVE); start-up time after a load.
    pub last_save_unix: u64,
    /// BGSAVE asked for a flush that has not landed yet.
    pub bgsave_in_progress: bool,
}

/// Serves SAVE and BGSAVE; implemented by the persistence layer.
pub trait Saver: Send {
    /// Hands every pending change to the backend and blocks until it is acknowledged, at most
    /// `timeout`. Err carries the reason, for the error reply.
    fn save(
        &mut self,
        ks: &mut Keyspace,
        server: &mut Server,
        timeout: Duration,
    ) -> Result<(), String>;
    /// Hands every pending change over as soon as the writer can take it, without waiting.
    fn bgsave(&mut self, ks: &mut Keyspace, server: &mut Server) -> Result<(), String>;
}

/// How long SAVE may block before it reports an error (the changes stay pending).
pub const SAVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Commands whose arguments, replayed on the key's previous value, give its new value; they
/// change only the key in their first argument. Blocking pops count only with one key
/// (see [`classify`]).
pub const OP_COMMANDS: &[&str] = &[
    // strings: small edits to a large string
    "append",
    "setrange",
    "setbit",
    // lists
    "lpush",
    "rpush",
    "lpushx",
    "rpushx",
    "lpop",
    "rpop",
    "lset",
    "linsert",
    "lrem",
    "ltrim",
    // hashes
    "hset",
    "hmset",
    "hsetnx",
    "hdel",
    "hincrby",
    "hincrbyfloat",
    // sets
    "sadd",
    "srem",
    // sorted sets
    "zadd",
    "zrem",
    "zincrby",
    "zpopmin",
    "zpopmax",
    "zremrangebyrank",
    "zremrangebyscore",
    "zremrangebylex",
    // native types
    "tree.set",
    "tree.del",
    "graph.addnode",
    "graph.delnode",
    "graph.addedge",
    "graph.deledge",
    "queue.push",
    "queue.pop",
    "stack.push",
    "stack.pop",
];

/// Blocking pops that are an [`OP_COMMANDS`] entry when given exactly one key.
const SINGLE_KEY_BLOCKING_POPS: &[&str] = &["blpop", "brpop", "bzpopmin", "bzpopmax", "queue.bpop"];

/// Commands that change only the expiry of the key in their first argument.
pub const TTL_COMMANDS: &[&str] = &[
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "persist",
    "getex",
];

/// Largest journal, in bytes of recorded arguments, kept between hand-offs: past it every
/// journaled key is snapshotted instead, so memory stays bounded while the backend is slow.
pub const JOURNAL_LIMIT: usize = 64 * 1024 * 1024;
/// A single command larger than this is not journaled (its key is snapshotted instead): an
/// operation-log document must stay well under the 16 MB document limit.
pub const JOURNAL_MAX_OP: usize = 4 * 1024 * 1024;

/// How a command relates to the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpClass {
    /// Replayable edit of the key in `argv[1]`.
    Op,
    /// Changes only the expiry of `argv[1]` (persisted from the key's current expiry).
    Ttl,
    /// Anything else: keys it changes must be snapshotted.
    Other,
}

/// Classifies a command for the journal.
pub fn classify(spec: &CommandSpec, argc: usize) -> OpClass {
    let name = spec.full_name;
    if OP_COMMANDS.contains(&name) || (SINGLE_KEY_BLOCKING_POPS.contains(&name) && argc == 3) {
        OpClass::Op
    } else if TTL_COMMANDS.contains(&name) {
        OpClass::Ttl
    } else {
        OpClass::Other
    }
}

/// The recorded commands of one key since the last hand-off.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyOps {
    /// Packed argument vectors: per command `argc: u32 LE`, then per argument `len: u32 LE`
    /// and the bytes. Decode with [`KeyOps::commands`].
    pub packed: Vec<u8>,
    pub count: usize,
}

impl KeyOps {
    fn push(&mut self, argv: &[&[u8]]) {
        self.packed
            .extend_from_slice(&(argv.len() as u32).to_le_bytes());
        for arg in argv {
            self.packed
                .extend_from_slice(&(arg.len() as u32).to_le_bytes());
            self.packed.extend_from_slice(arg);
        }
        self.count += 1;
    }

    /// The recorded commands, oldest first. O(total bytes).
    pub fn commands(&self) -> Vec<Vec<&[u8]>> {
        let mut out = Vec::with_capacity(self.count);
        let mut rest = &self.packed[..];
        let take_u32 = |rest: &mut &[u8]| -> Option<usize> {
            let (head, tail) = rest.split_first_chunk::<4>()?;
            *rest = tail;
            Some(u32::from_le_bytes(*head) as usize)
        };
        while !rest.is_empty() {
            let Some(argc) = take_u32(&mut rest) else {
                break;
            };
            let mut argv = Vec::with_capacity(argc);
            for _ in 0..argc {
                let Some(len) = take_u32(&mut rest) else {
                    return out;
                };
                if rest.len() < len {
                    return out;
                }
                let (arg, tail) = rest.split_at(len);
                argv.push(arg);
                rest = tail;
            }
            out.push(argv);
        }
        out
    }
}

/// What the journal recorded between two hand-offs.
#[derive(Debug, Default)]
pub struct JournalInterval {
    /// Keys whose every change is explained by their recorded commands (possibly none, e.g.
    /// only an expiry changed).
    pub entries: FastMap<(usize, Key), KeyOps>,
    /// Key names changed by something that was not recorded, in any database.
    pub tainted: FastSet<Key>,
    /// Every watched key must be snapshotted (the journal overflowed, or a command changed keys
    /// it does not name).
    pub tainted_all: bool,
}

impl JournalInterval {
    /// The recorded commands of `key`, if they explain all its changes.
    pub fn take_clean(&mut self, db: usize, key: &[u8]) -> Option<KeyOps> {
        let ops = self.entries.remove(&(db, Key::from(key)))?;
        if self.tainted_all || self.tainted.contains(key) {
            return None;
        }
        Some(ops)
    }
}

/// Records the commands that change watched keys (see the module documentation).
#[derive(Debug, Default)]
pub struct Journal {
    /// Watched key names (in any database) and in how many databases each is watched.
    watched: FastMap<Key, u32>,
    interval: JournalInterval,
    bytes: usize,
    /// Writes attributed to commands so far; nested runs (EXEC) subtract what their inner
    /// commands already accounted for.
    explained: u64,
}

impl Journal {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when some key is watched: only then do commands pay for journaling.
    pub fn is_watching(&self) -> bool {
        !self.watched.is_empty()
    }

    /// Starts recording changes of `key` in `db`, as of now: the backend holds its current value.
    /// O(1).
    pub fn watch(&mut self, db: usize, key: &[u8]) {
        *self.watched.entry(Key::from(key)).or_insert(0) += 1;
        self.interval
            .entries
            .insert((db, Key::from(key)), KeyOps::default());
    }

    /// Stops recording changes of `key` in `db`. O(1).
    pub fn unwatch(&mut self, key: &[u8]) {
        if let Some(count) = self.watched.get_mut(key) {
            *count -= 1;
            if *count == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// Forgets every watched key (the backend is gone or was emptied). O(watched).
    pub fn unwatch_all(&mut self) {
        self.watched.clear();
        self.interval = JournalInterval::default();
        self.bytes = 0;
    }

    /// Takes what was recorded since the last call. O(1).
    pub fn take_interval(&mut self) -> JournalInterval {
        self.bytes = 0;
        std::mem::take(&mut self.interval)
    }

    /// Bytes of recorded arguments held now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn is_watched(&self, key: &[u8]) -> bool {
        self.watched.contains_key(key)
    }

    fn record(&mut self, db: usize, argv: &[&[u8]]) {
        if self.interval.tainted_all {
            return;
        }
        let Some(&key) = argv.get(1) else {
            return;
        };
        let size: usize = argv.iter().map(|a| a.len() + 4).sum::<usize>() + 4;
        if size > JOURNAL_MAX_OP {
            self.taint(key);
            return;
        }
        if self.bytes + size > JOURNAL_LIMIT {
            self.taint_all();
            return;
        }
        self.bytes += size;
        self.interval
            .entries
            .entry((db, Key::from(key)))
            .or_default()
            .push(argv);
    }

    /// Notes that `key` in `db` changed in a way its current state describes (its expiry).
    fn touch(&mut self, db: usize, key: &[u8]) {
        self.interval
            .entries
            .entry((db, Key::from(key)))
            .or_default();
    }

    fn taint(&mut self, key: &[u8]) {
        if !self.interval.tainted.contains(key) {
            self.interval.tainted.insert(Key::from(key));
        }
    }

    fn taint_all(&mut self) {
        self.interval.tainted_all = true;
        // The recorded arguments can no longer be used: free them now.
        for ops in self.interval.entries.values_mut() {
            *ops = KeyOps::default();
        }
        self.bytes = 0;
    }
}

/// Runs a command while keys are watched, recording what it did to them. Called by
/// [`execute`] instead of the handler when [`Journal::is_watching`].
pub(crate) fn run_journaled(
    ctx: &mut Ctx,
    spec: &'static CommandSpec,
    argv: &[&[u8]],
) -> CmdResult {
    let class = classify(spec, argv.len());
    let db = ctx.client.db;
    let key = argv.get(1).copied().unwrap_or_default();
    let (watched, explained_before) = match ctx.server.journal.as_ref() {
        Some(journal) => (
            class != OpClass::Other && journal.is_watched(key),
            journal.explained,
        ),
        None => (false, 0),
    };
    // A watched key that is missing (or expires right now) gets a new value from nothing:
    // replaying on top of the old one would be wrong, so it is snapshotted.
    let existed = !watched || ctx.ks.db(db).exists(key);
    let writes_before = ctx.ks.write_count();
    let result = (spec.handler)(ctx, &mut Args::new(argv, spec.arg_start()));
    let writes = ctx.ks.write_count().saturating_sub(writes_before);
    let Some(journal) = ctx.server.journal.as_mut() else {
        return result;
    };
    let inner = journal.explained.saturating_sub(explained_before);
    let own = writes.saturating_sub(inner);
    if own == 0 {
        return result;
    }
    journal.explained += own;
    match class {
        OpClass::Op | OpClass::Ttl if !watched => {}
        OpClass::Op if existed => journal.record(db, argv),
        OpClass::Ttl if existed => journal.touch(db, key),
        OpClass::Op | OpClass::Ttl => journal.taint(key),
        OpClass::Other => {
            // Any argument may be a key it changed (RENAME's target, MOVE's key in another
            // database, SORT's STORE destination...): taint every watched name it mentions.
            for arg in &argv[1..] {
                if journal.is_watched(arg) {
                    journal.taint(arg);
                }
            }
            // A command naming no keys changed keys it does not name (SWAPDB, FLUSHALL,
            // EXEC running handlers directly).
            if spec.first_key <= 0 {
                journal.taint_all();
            }
        }
    }
    result
}

/// Runs one recorded command against `ks` in database `db` at start-up (the journal's replay).
/// The reply is discarded; an error reply is returned as Err.
pub fn replay(
    ks: &mut Keyspace,
    server: &mut Server,
    db: usize,
    argv: &[&[u8]],
) -> Result<(), String> {
    if argv.is_empty() {
        return Err("empty command".into());
    }
    let mut client = ClientState {
        db,
        ..Default::default()
    };
    let mut out = ReplyBuf::new(Protover::Resp2);
    let mut ctx = Ctx {
        ks,
        server,
        client: &mut client,
        clients: &NoClients,
        out: &mut out,
    };
    execute(&mut ctx, argv);
    let reply = out.bytes();
    if reply.first() == Some(&b'-') {
        let text = String::from_utf8_lossy(&reply[1..]);
        return Err(text.trim_end().to_string());
    }
    Ok(())
}

fn persistence_off() -> CmdError {
    CmdError::msg("ERR persistence is off: no mongodb-uri is configured, data lives in memory only")
}

/// SAVE: returns once every change made so far is acknowledged by the database. Blocks the
/// server meanwhile, as Redis's SAVE does.
pub fn save(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    args.finish()?;
    let Some(mut saver) = ctx.server.saver.take() else {
        return Err(persistence_off());
    };
    let result = saver.save(ctx.ks, ctx.server, SAVE_TIMEOUT);
    ctx.server.saver = Some(saver);
    match result {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(reason) => Err(CmdError::msg(format!("ERR {reason}"))),
    }
}

/// BGSAVE [SCHEDULE]: hands every pending change to the writer now, without waiting.
pub fn bgsave(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let schedule = args.eat("schedule");
    args.finish()?;
    let Some(mut saver) = ctx.server.saver.take() else {
        return Err(persistence_off());
    };
    let result = saver.bgsave(ctx.ks, ctx.server);
    ctx.server.saver = Some(saver);
    match result {
        Ok(()) if schedule => ctx.out.simple("Background saving scheduled"),
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(reason) => return Err(CmdError::msg(format!("ERR {reason}"))),
    }
    Ok(())
}

/// LASTSAVE: Unix time of the latest moment whose changes are all in the database.
pub fn lastsave(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    args.finish()?;
    let status = &ctx.server.persistence;
    let when = if status.enabled {
        status.last_save_unix
    } else {
        ctx.server.started_ms / 1000
    };
    ctx.out.int(when as i64);
    Ok(())
}

/// The INFO `persistence` section: Redis's fields (for tools that read them) and the MongoDB
/// write-behind figures.
pub fn info_section(ctx: &mut Ctx, out: &mut String) {
    let now = ctx.ks.now_ms();
    let pending_store = ctx.ks.pending_changes() as u64;
    let s = &ctx.server.persistence;
    let pending = if s.enabled {
        pending_store + s.backlog_keys
    } else {
        ctx.ks.write_count()
    };
    let lag_ms = if s.oldest_unsaved_ms > 0 {
        now.saturating_sub(s.oldest_unsaved_ms)
    } else {
        0
    };
    let connection = if !s.enabled {
        "disabled"
    } else if s.connected {
        "connected"
    } else {
        "disconnected"
    };
    let last_status = if s.last_flush_ok || s.last_error.is_empty() {
        "ok"
    } else {
        "err"
    };
    let _ = write!(
        out,
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:{pending}\r\n\
         rdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{last_status}\r\n\
         aof_enabled:0\r\naof_rewrite_in_progress:0\r\nmongodb_enabled:{}\r\nmongodb_target:{}\r\n\
         mongodb_database:{}\r\nmongodb_connection:{connection}\r\nmongodb_loaded_keys:{}\r\n\
         mongodb_load_time_ms:{}\r\nmongodb_pending_keys:{pending}\r\nmongodb_in_flight_keys:{}\r\n\
         mongodb_lag_ms:{lag_ms}\r\nmongodb_last_flush_time:{}\r\nmongodb_last_flush_status:{last_status}\r\n\
         mongodb_last_error:{}\r\nmongodb_flush_errors:{}\r\nmongodb_dropped_items:{}\r\n\
         mongodb_keys_written:{}\r\nmongodb_batches_written:{}\r\nmongodb_snapshots_written:{}\r\n\
         mongodb_log_appends:{}\r\n",
        s.bgsave_in_progress as u8,
        if s.enabled {
            s.last_save_unix
        } else {
            ctx.server.started_ms / 1000
        },
        s.enabled as u8,
        s.target,
        s.database,
        s.loaded_keys,
        s.load_ms,
        s.in_flight_keys,
        s.last_flush_ms / 1000,
        // INFO lines end at CR/LF: keep an error message on one line.
        s.last_error.replace(['\r', '\n'], " "),
        s.flush_errors,
        s.dropped_items,
        s.keys_written,
        s.batches_written,
        s.snapshots_written,
        s.log_appends,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::Harness;

    #[test]
    fn save_commands_without_persistence() {
        let mut h = Harness::new();
        let off =
            "-ERR persistence is off: no mongodb-uri is configured, data lives in memory only\r\n";
        assert_eq!(h.text(&["save"]), off);
        assert_eq!(h.text(&["bgsave"]), off);
        assert_eq!(h.text(&["bgsave", "nonsense"]), "-ERR syntax error\r\n");
        assert_eq!(h.text(&["lastsave"]), ":1000\r\n");
        assert_eq!(
            h.text(&["save", "x"]),
            "-ERR wrong number of arguments for 'save' command\r\n"
        );
    }

    #[test]
    fn info_reports_persistence_disabled() {
        let mut h = Harness::new();
        let info = h.text(&["info", "persistence"]);
        assert!(info.contains("mongodb_enabled:0\r\n"), "{info}");
        assert!(info.contains("mongodb_connection:disabled\r\n"), "{info}");
        assert!(info.contains("loading:0\r\n"), "{info}");
    }

    #[test]
    fn packed_commands_round_trip() {
        let mut ops = KeyOps::default();
        ops.push(&[b"LPUSH", b"k", b"a\r\n\0"]);
        ops.push(&[b"RPOP", b"k"]);
        let commands = ops.commands();
        assert_eq!(
            commands,
            vec![
                vec![&b"LPUSH"[..], b"k", b"a\r\n\0"],
                vec![&b"RPOP"[..], b"k"]
            ]
        );
    }

    fn watching_harness() -> Harness {
        let mut h = Harness::new();
        h.server.journal = Some(Journal::new());
        h
    }

    #[test]
    fn journal_records_only_watched_keys_and_taints_other_writes() {
        let mut h = watching_harness();
        h.text(&["append", "big", "base"]);
        h.text(&["set", "other", "1"]);
        let journal = h.server.journal.as_mut().unwrap();
        journal.watch(0, b"big");
        h.text(&["append", "big", "+1"]);
        h.text(&["append", "small", "x"]);
        h.text(&["expire", "big", "100"]);
        h.text(&["get", "big"]);
        let mut interval = h.server.journal.as_mut().unwrap().take_interval();
        assert!(!interval.tainted_all);
        let ops = interval.take_clean(0, b"big").unwrap();
        assert_eq!(ops.commands(), vec![vec![&b"append"[..], b"big", b"+1"]]);
        assert!(
            interval.entries.is_empty(),
            "only the watched key is journaled"
        );

        // SET is not replayable: the key is tainted and will be snapshotted.
        h.text(&["append", "big", "+2"]);
        h.text(&["set", "big", "replaced"]);
        let mut interval = h.server.journal.as_mut().unwrap().take_interval();
        assert!(interval.take_clean(0, b"big").is_none());

        // RENAME onto a watched name taints it through its second argument.
        h.text(&["append", "big", "+3"]);
        h.text(&["rename", "other", "big"]);
        let mut interval = h.server.journal.as_mut().unwrap().take_interval();
        assert!(interval.take_clean(0, b"big").is_none());
    }

    #[test]
    fn journal_taints_keys_recreated_from_nothing_and_keyless_writes() {
        let mut h = watching_harness();
        h.text(&["append", "big", "base"]);
        h.server.journal.as_mut().unwrap().watch(0, b"big");
        h.text(&["del", "big"]);
        h.text(&["append", "big", "new"]);
        let mut interval = h.server.journal.as_mut().unwrap().take_interval();
        assert!(interval.take_clean(0, b"big").is_none());

        h.text(&["append", "big", "x"]);
        h.text(&["flushall"]);
        let interval = h.server.journal.as_mut().unwrap().take_interval();
        assert!(interval.tainted_all);
    }

    #[test]
    fn failed_or_noop_commands_record_nothing() {
        let mut h = watching_harness();
        h.text(&["append", "big", "base"]);
        h.server.journal.as_mut().unwrap().watch(0, b"big");
        h.text(&["setrange", "big", "-1", "x"]);
        h.text(&["expire", "big", "notanumber"]);
        let mut interval = h.server.journal.as_mut().unwrap().take_interval();
        assert_eq!(interval.take_clean(0, b"big"), Some(KeyOps::default()));
    }

    #[test]
    fn journal_memory_is_bounded() {
        let mut journal = Journal::new();
        journal.watch(0, b"k");
        let arg = vec![b'x'; 1024 * 1024];
        for _ in 0..(JOURNAL_LIMIT / arg.len() + 2) {
            journal.record(0, &[b"append", b"k", &arg]);
        }
        assert!(journal.bytes() <= JOURNAL_LIMIT);
        let mut interval = journal.take_interval();
        assert!(interval.tainted_all);
        assert!(interval.take_clean(0, b"k").is_none());
    }

    #[test]
    fn replay_runs_commands_and_reports_errors() {
        let mut h = Harness::new();
        let mut server = Server::new(crate::config::Config::default(), 0);
        replay(&mut h.ks, &mut server, 3, &[b"append", b"k", b"ab"]).unwrap();
        replay(&mut h.ks, &mut server, 3, &[b"append", b"k", b"cd"]).unwrap();
        assert_eq!(h.ks.db(3).get_string(b"k"), Ok(Some(&b"abcd"[..])));
        assert!(replay(&mut h.ks, &mut server, 3, &[b"nosuch"]).is_err());
    }
}
