//! The journal of element-level writes, and its replay at start-up.
//!
//! The store only records *which* keys changed. For a large collection that is not enough:
//! persisting "list `q` changed" would mean rewriting the whole list after every LPUSH. So for
//! the large values the persistence layer watches, the commands that changed them are recorded
//! here (their arguments, like an append-only file), and persistence appends those to the value's
//! operation log instead of rewriting it. A command can be recorded only when replaying its
//! arguments on the key's previous value gives exactly its new value: it must change only the
//! key named by its first argument and be deterministic ([`OP_COMMANDS`]). Anything else that
//! changes a watched key *taints* it, and persistence then writes a full snapshot of it.

use super::{execute, Args, ClientState, CmdResult, CommandSpec, Ctx, NoClients, Server};
use crate::protocol::{Protover, ReplyBuf};
use crate::store::{FastMap, FastSet, Key, Keyspace};
use smallvec::SmallVec;
use std::sync::OnceLock;

/// Commands whose arguments, replayed on the key's previous value, give its new value; they
/// change only the key in their first argument.
pub const OP_COMMANDS: &[&str] = &[
    // strings: small edits to a large string
    "append",
    "setrange",
    "setbit",
    "bitfield",
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
    /// Picks at random or among several keys: journaled as what its reply shows it did
    /// ([`REWRITTEN_COMMANDS`]).
    Rewrite,
    /// Anything else: keys it changes must be snapshotted.
    Other,
}

/// Classifies a command for the journal. O(1): a table built once.
pub fn classify(spec: &CommandSpec) -> OpClass {
    static CLASSES: OnceLock<FastMap<&'static str, OpClass>> = OnceLock::new();
    let classes = CLASSES.get_or_init(|| {
        let mut map = FastMap::default();
        for name in OP_COMMANDS {
            map.insert(*name, OpClass::Op);
        }
        for name in REWRITTEN_COMMANDS {
            map.insert(*name, OpClass::Rewrite);
        }
        for name in TTL_COMMANDS {
            map.insert(*name, OpClass::Ttl);
        }
        map
    });
    classes
        .get(spec.full_name)
        .copied()
        .unwrap_or(OpClass::Other)
}

/// Commands that, recorded twice in a row on one key, equal one command with the second's
/// arguments appended (`LPUSH k a` + `LPUSH k b` = `LPUSH k a b`): merging them keeps the log
/// about as compact as the data it adds.
const MERGE_ARGS: &[&str] = &[
    "lpush",
    "rpush",
    "sadd",
    "srem",
    "hset",
    "hmset",
    "hdel",
    "zrem",
    "queue.push",
    "stack.push",
    "tree.set",
    "tree.del",
    "graph.addnode",
    "graph.delnode",
];

/// Largest merged command: past it a new one starts (a log document must stay small).
const MERGE_MAX: usize = 1024 * 1024;

/// The recorded commands of one key since the last hand-off.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyOps {
    /// Packed argument vectors: per command `argc: u32 LE`, then per argument `len: u32 LE`
    /// and the bytes. Decode with [`KeyOps::commands`].
    pub packed: Vec<u8>,
    pub count: usize,
    /// Offset of the last command in `packed`.
    last: usize,
}

impl KeyOps {
    /// Records `argv`, merged into the previous command when that is equivalent. Returns the
    /// bytes added.
    fn push(&mut self, argv: &[&[u8]]) -> usize {
        let before = self.packed.len();
        if !self.merge(argv) {
            self.last = self.packed.len();
            self.packed
                .extend_from_slice(&(argv.len() as u32).to_le_bytes());
            for arg in argv {
                self.packed
                    .extend_from_slice(&(arg.len() as u32).to_le_bytes());
                self.packed.extend_from_slice(arg);
            }
            self.count += 1;
        }
        self.packed.len() - before
    }

    /// Merges `argv` into the last command if it is the same mergeable command. O(len).
    fn merge(&mut self, argv: &[&[u8]]) -> bool {
        let (Some(name), true) = (argv.first(), self.count > 0) else {
            return false;
        };
        let added: usize = argv.iter().skip(2).map(|a| a.len() + 4).sum();
        if self.packed.len() - self.last + added > MERGE_MAX {
            return false;
        }
        let last = &self.packed[self.last..];
        let field = |at: usize| -> Option<usize> {
            let bytes = last.get(at..at + 4)?;
            Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
        };
        let (Some(argc), Some(name_len)) = (field(0), field(4)) else {
            return false;
        };
        let Some(last_name) = last.get(8..8 + name_len) else {
            return false;
        };
        if !last_name.eq_ignore_ascii_case(name) {
            return false;
        }
        let lower = name.to_ascii_lowercase();
        let Ok(lower) = std::str::from_utf8(&lower) else {
            return false;
        };
        if MERGE_ARGS.contains(&lower) {
            let argc = argc + argv.len() - 2;
            self.packed[self.last..self.last + 4].copy_from_slice(&(argc as u32).to_le_bytes());
            for arg in &argv[2..] {
                self.packed
                    .extend_from_slice(&(arg.len() as u32).to_le_bytes());
                self.packed.extend_from_slice(arg);
            }
            return true;
        }
        // APPEND k a + APPEND k b = APPEND k ab: grow the last argument.
        if lower == "append" && argc == 3 && argv.len() == 3 {
            let value_len_at = self.packed.len() - self.value_len_from_end();
            let Some(old) = self
                .packed
                .get(value_len_at..value_len_at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
            else {
                return false;
            };
            let grown = u32::from_le_bytes(old) as usize + argv[2].len();
            self.packed[value_len_at..value_len_at + 4]
                .copy_from_slice(&(grown as u32).to_le_bytes());
            self.packed.extend_from_slice(argv[2]);
            return true;
        }
        false
    }

    /// Distance from the end of `packed` back to the length field of the last command's last
    /// argument.
    fn value_len_from_end(&self) -> usize {
        let mut at = self.last + 4;
        let mut last_field = at;
        while at + 4 <= self.packed.len() {
            last_field = at;
            let len = self.packed[at..at + 4]
                .try_into()
                .map(u32::from_le_bytes)
                .unwrap_or(0) as usize;
            at += 4 + len;
        }
        self.packed.len() - last_field
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
    /// Whether `key` changed according to the journal (recorded, or tainted).
    pub fn is_touched(&self, db: usize, key: &[u8]) -> bool {
        self.tainted_all
            || self.tainted.contains(key)
            || self.entries.contains_key(&(db, Key::from(key)))
    }

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
        self.bytes += self
            .interval
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
    let class = classify(spec);
    let db = ctx.client.db;
    let Some(journal) = ctx.server.journal.as_ref() else {
        return (spec.handler)(ctx, &mut Args::new(argv, spec.arg_start()));
    };
    let explained_before = journal.explained;
    // The watched keys the command may edit, and whether each exists now: a watched key that
    // is missing (or expires right now) gets a new value from nothing, and replaying on top of
    // the old one would be wrong, so it is snapshotted instead.
    let candidates: &[&[u8]] = match class {
        OpClass::Op | OpClass::Ttl => argv.get(1..2).unwrap_or_default(),
        OpClass::Rewrite => argv.get(1..).unwrap_or_default(),
        OpClass::Other => &[],
    };
    let watched: SmallVec<[&[u8]; 4]> = candidates
        .iter()
        .copied()
        .filter(|key| journal.is_watched(key))
        .collect();
    let existed: SmallVec<[bool; 4]> = watched
        .iter()
        .map(|key| ctx.ks.db(db).exists(key))
        .collect();
    let reply_start = ctx.out.len();
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
    let existed_before = |key: &[u8]| watched.iter().position(|w| *w == key).map(|i| existed[i]);
    match class {
        OpClass::Op | OpClass::Ttl => {
            let key = argv.get(1).copied().unwrap_or_default();
            match (existed_before(key), class) {
                (None, _) => {}
                (Some(true), OpClass::Op) => journal.record(db, argv),
                (Some(true), _) => journal.touch(db, key),
                (Some(false), _) => journal.taint(key),
            }
        }
        OpClass::Rewrite => {
            if watched.is_empty() {
                return result;
            }
            let reply = ctx.out.bytes().get(reply_start..).unwrap_or_default();
            match rewrite(spec.full_name, argv, reply) {
                Some(commands) => {
                    for command in commands {
                        let parts: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
                        let key = parts.get(1).copied().unwrap_or_default();
                        match existed_before(key) {
                            None => {}
                            Some(true) => journal.record(db, &parts),
                            Some(false) => journal.taint(key),
                        }
                    }
                }
                None => {
                    for key in &watched {
                        journal.taint(key);
                    }
                }
            }
        }
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

/// Commands journaled as the replayable commands their reply shows they amount to (as Redis
/// propagates SPOP as SREM and BLPOP as LPOP): they pick at random or among several keys, so
/// their own arguments cannot be replayed.
pub const REWRITTEN_COMMANDS: &[&str] = &[
    "spop",
    "smove",
    "blpop",
    "brpop",
    "bzpopmin",
    "bzpopmax",
    "queue.bpop",
    "lmove",
    "blmove",
    "rpoplpush",
    "brpoplpush",
    "lmpop",
    "blmpop",
    "zmpop",
    "bzmpop",
];

/// A parsed reply, as much as [`rewrite`] needs.
#[derive(Debug, PartialEq)]
enum Reply<'a> {
    Bulk(&'a [u8]),
    Int(i64),
    Null,
    Array(Vec<Reply<'a>>),
    Other,
}

/// Parses one RESP2/RESP3 reply; returns it and the bytes after it.
fn parse_reply(bytes: &[u8]) -> Option<(Reply<'_>, &[u8])> {
    let (&kind, rest) = bytes.split_first()?;
    let end = memchr::memchr(b'\r', rest)?;
    let line = &rest[..end];
    let after = rest.get(end + 2..)?;
    let number = || -> Option<i64> { std::str::from_utf8(line).ok()?.parse().ok() };
    match kind {
        b'$' => {
            let len = number()?;
            if len < 0 {
                return Some((Reply::Null, after));
            }
            let len = len as usize;
            let data = after.get(..len)?;
            Some((Reply::Bulk(data), after.get(len + 2..)?))
        }
        b':' => Some((Reply::Int(number()?), after)),
        b'_' => Some((Reply::Null, after)),
        b'*' | b'~' | b'>' => {
            let count = number()?;
            if count < 0 {
                return Some((Reply::Null, after));
            }
            let mut items = Vec::with_capacity(count.min(1024) as usize);
            let mut rest = after;
            for _ in 0..count {
                let (item, next) = parse_reply(rest)?;
                items.push(item);
                rest = next;
            }
            Some((Reply::Array(items), rest))
        }
        b'+' | b'-' | b',' | b'#' | b'(' => Some((Reply::Other, after)),
        _ => None,
    }
}

fn bulk<'a>(reply: &Reply<'a>) -> Option<&'a [u8]> {
    match reply {
        Reply::Bulk(bytes) => Some(bytes),
        _ => None,
    }
}

/// Whether the LEFT/RIGHT argument `arg` says LEFT.
fn is_left(arg: Option<&&[u8]>) -> Option<bool> {
    let arg = arg?;
    if arg.eq_ignore_ascii_case(b"left") {
        Some(true)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Some(false)
    } else {
        None
    }
}

fn pop_name(left: bool) -> &'static [u8] {
    if left {
        b"LPOP"
    } else {
        b"RPOP"
    }
}

/// The replayable commands (each naming its key second) a command of [`REWRITTEN_COMMANDS`]
/// amounts to, read from its reply. `None` when the reply is not understood.
fn rewrite(name: &str, argv: &[&[u8]], reply: &[u8]) -> Option<Vec<Vec<Vec<u8>>>> {
    let (reply, _) = parse_reply(reply)?;
    let owned = |parts: &[&[u8]]| parts.iter().map(|p| p.to_vec()).collect::<Vec<Vec<u8>>>();
    if matches!(reply, Reply::Null) {
        return Some(Vec::new());
    }
    let key_arg = |i: usize| argv.get(i).copied();
    match name {
        "spop" => {
            let key = key_arg(1)?;
            let members: Vec<&[u8]> = match &reply {
                Reply::Bulk(member) => vec![member],
                Reply::Array(items) => items.iter().map(bulk).collect::<Option<_>>()?,
                _ => return None,
            };
            if members.is_empty() {
                return Some(Vec::new());
            }
            let mut srem: Vec<&[u8]> = vec![b"SREM", key];
            srem.extend(members);
            Some(vec![owned(&srem)])
        }
        "smove" => {
            let (src, dst, member) = (key_arg(1)?, key_arg(2)?, key_arg(3)?);
            match reply {
                Reply::Int(1) => Some(vec![
                    owned(&[b"SREM", src, member]),
                    owned(&[b"SADD", dst, member]),
                ]),
                Reply::Int(_) => Some(Vec::new()),
                _ => None,
            }
        }
        "blpop" | "brpop" | "queue.bpop" | "bzpopmin" | "bzpopmax" => {
            let Reply::Array(items) = &reply else {
                return None;
            };
            let key = bulk(items.first()?)?;
            let command: Vec<&[u8]> = match name {
                "blpop" => vec![b"LPOP", key],
                "brpop" => vec![b"RPOP", key],
                "queue.bpop" => vec![b"QUEUE.POP", key],
                _ => vec![b"ZREM", key, bulk(items.get(1)?)?],
            };
            Some(vec![owned(&command)])
        }
        "lmove" | "blmove" | "rpoplpush" | "brpoplpush" => {
            let element = bulk(&reply)?;
            let (src, dst) = (key_arg(1)?, key_arg(2)?);
            let (from_left, to_left) = match name {
                "lmove" | "blmove" => (is_left(argv.get(3))?, is_left(argv.get(4))?),
                _ => (false, true),
            };
            let push: &[u8] = if to_left { b"LPUSH" } else { b"RPUSH" };
            Some(vec![
                owned(&[pop_name(from_left), src]),
                owned(&[push, dst, element]),
            ])
        }
        "lmpop" | "blmpop" => {
            let Reply::Array(items) = &reply else {
                return None;
            };
            let key = bulk(items.first()?)?;
            let Reply::Array(elements) = items.get(1)? else {
                return None;
            };
            let left = argv.iter().find_map(|a| is_left(Some(a)))?;
            let count = elements.len().to_string();
            Some(vec![owned(&[pop_name(left), key, count.as_bytes()])])
        }
        "zmpop" | "bzmpop" => {
            let Reply::Array(items) = &reply else {
                return None;
            };
            let key = bulk(items.first()?)?;
            let Reply::Array(entries) = items.get(1)? else {
                return None;
            };
            let mut zrem: Vec<&[u8]> = vec![b"ZREM", key];
            for entry in entries {
                let Reply::Array(pair) = entry else {
                    return None;
                };
                zrem.push(bulk(pair.first()?)?);
            }
            Some(vec![owned(&zrem)])
        }
        _ => None,
    }
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
        authenticated: true,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::Harness;

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

    #[test]
    fn consecutive_commands_merge() {
        let mut ops = KeyOps::default();
        ops.push(&[b"LPUSH", b"k", b"a"]);
        ops.push(&[b"lpush", b"k", b"b", b"c"]);
        ops.push(&[b"RPOP", b"k"]);
        ops.push(&[b"APPEND", b"s", b"x"]);
        ops.push(&[b"APPEND", b"s", b"yz"]);
        ops.push(&[b"APPEND", b"s", b""]);
        ops.push(&[b"HSET", b"h", b"f", b"1"]);
        ops.push(&[b"HSET", b"h", b"f", b"2"]);
        let expected: Vec<Vec<&[u8]>> = vec![
            vec![b"LPUSH", b"k", b"a", b"b", b"c"],
            vec![b"RPOP", b"k"],
            vec![b"APPEND", b"s", b"xyz"],
            vec![b"HSET", b"h", b"f", b"1", b"f", b"2"],
        ];
        assert_eq!(ops.commands(), expected);
        assert_eq!(ops.count, 4);
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
    fn replies_parse_into_the_commands_they_imply() {
        let cmd = |parts: &[&str]| {
            parts
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect::<Vec<_>>()
        };
        let argv =
            |parts: &[&'static str]| parts.iter().map(|p| p.as_bytes()).collect::<Vec<&[u8]>>();
        assert_eq!(
            rewrite("spop", &argv(&["spop", "s"]), b"$1\r\na\r\n"),
            Some(vec![cmd(&["SREM", "s", "a"])])
        );
        assert_eq!(
            rewrite(
                "spop",
                &argv(&["spop", "s", "2"]),
                b"~2\r\n$1\r\na\r\n$2\r\nb\n\r\n"
            ),
            Some(vec![cmd(&["SREM", "s", "a", "b\n"])])
        );
        assert_eq!(
            rewrite("spop", &argv(&["spop", "s", "2"]), b"*0\r\n"),
            Some(vec![])
        );
        assert_eq!(
            rewrite("spop", &argv(&["spop", "s"]), b"_\r\n"),
            Some(vec![])
        );
        assert_eq!(
            rewrite("smove", &argv(&["smove", "a", "b", "m"]), b":1\r\n"),
            Some(vec![cmd(&["SREM", "a", "m"]), cmd(&["SADD", "b", "m"])])
        );
        assert_eq!(
            rewrite(
                "blpop",
                &argv(&["blpop", "x", "y", "0"]),
                b"*2\r\n$1\r\ny\r\n$1\r\ne\r\n"
            ),
            Some(vec![cmd(&["LPOP", "y"])])
        );
        assert_eq!(
            rewrite(
                "bzpopmin",
                &argv(&["bzpopmin", "z", "0"]),
                b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n"
            ),
            Some(vec![cmd(&["ZREM", "z", "m"])])
        );
        assert_eq!(
            rewrite(
                "lmove",
                &argv(&["lmove", "a", "b", "RIGHT", "left"]),
                b"$1\r\ne\r\n"
            ),
            Some(vec![cmd(&["RPOP", "a"]), cmd(&["LPUSH", "b", "e"])])
        );
        assert_eq!(
            rewrite(
                "lmpop",
                &argv(&["lmpop", "2", "a", "b", "RIGHT", "COUNT", "5"]),
                b"*2\r\n$1\r\nb\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
            ),
            Some(vec![cmd(&["RPOP", "b", "2"])])
        );
        assert_eq!(
            rewrite(
                "zmpop",
                &argv(&["zmpop", "1", "z", "MIN"]),
                b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nm\r\n$1\r\n1\r\n"
            ),
            Some(vec![cmd(&["ZREM", "z", "m"])])
        );
        assert_eq!(rewrite("spop", &argv(&["spop", "s"]), b"$5\r\nab"), None);
    }

    #[test]
    fn random_and_multi_key_pops_are_journaled_by_their_reply() {
        let mut h = watching_harness();
        let members: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
        let mut sadd = vec!["sadd", "s"];
        sadd.extend(members.iter().map(String::as_str));
        h.text(&sadd);
        h.text(&["queue.push", "q", "a", "b"]);
        let journal = h.server.journal.as_mut().unwrap();
        journal.watch(0, b"s");
        journal.watch(0, b"q");
        let popped = h.text(&["spop", "s"]);
        let member = popped.split("\r\n").nth(1).unwrap().to_string();
        let moved = if member == "m7" { "m8" } else { "m7" };
        h.text(&["smove", "s", "other", moved]);
        h.text(&["queue.bpop", "nothing", "q", "0"]);
        let mut interval = h.server.journal.as_mut().unwrap().take_interval();
        let ops = interval.take_clean(0, b"s").unwrap();
        // Consecutive SREMs merge into one.
        let expected: Vec<Vec<&[u8]>> =
            vec![vec![b"SREM", b"s", member.as_bytes(), moved.as_bytes()]];
        assert_eq!(ops.commands(), expected);
        let ops = interval.take_clean(0, b"q").unwrap();
        assert_eq!(ops.commands(), vec![vec![&b"QUEUE.POP"[..], b"q"]]);
    }

    /// Runs `setup` on two servers, then `script` on the first while `watched` keys are
    /// journaled; replays only the journal on the second and requires every watched key to
    /// read the same on both.
    fn assert_replay_equivalent(
        setup: &[&[&str]],
        watched: &[&str],
        script: &[&[&str]],
        reads: &[&[&str]],
    ) {
        let mut live = watching_harness();
        let mut copy = Harness::new();
        for command in setup {
            live.text(command);
            copy.text(command);
        }
        for key in watched {
            live.server
                .journal
                .as_mut()
                .unwrap()
                .watch(0, key.as_bytes());
        }
        for command in script {
            live.text(command);
        }
        let mut interval = live.server.journal.as_mut().unwrap().take_interval();
        let mut server = Server::new(crate::config::Config::default(), 0);
        for key in watched {
            let ops = interval
                .take_clean(0, key.as_bytes())
                .unwrap_or_else(|| panic!("{key} was not journaled cleanly"));
            for argv in ops.commands() {
                replay(&mut copy.ks, &mut server, 0, &argv).unwrap();
            }
        }
        for read in reads {
            assert_eq!(live.text(read), copy.text(read), "{read:?}");
        }
    }

    #[test]
    fn list_commands_replay_to_the_same_lists() {
        assert_replay_equivalent(
            &[
                &["rpush", "a", "1", "2", "3", "4", "5", "6", "7", "8"],
                &["rpush", "b", "x", "y", "z", "w"],
            ],
            &["a", "b"],
            &[
                &["lpush", "a", "0"],
                &["rpop", "a", "2"],
                &["lmove", "a", "b", "LEFT", "RIGHT"],
                &["rpoplpush", "b", "a"],
                &["lmove", "a", "a", "RIGHT", "LEFT"],
                &["blmove", "b", "a", "RIGHT", "RIGHT", "0"],
                &["lmpop", "2", "nothing", "a", "RIGHT", "COUNT", "2"],
                &["blmpop", "0", "2", "b", "a", "LEFT"],
                &["blpop", "nothing", "a", "0"],
                &["brpop", "b", "a", "0"],
                &["brpoplpush", "a", "b", "0"],
                &["lset", "a", "0", "set"],
                &["linsert", "a", "BEFORE", "set", "ins"],
                &["lrem", "b", "0", "x"],
                &["ltrim", "a", "0", "5"],
                &["expire", "a", "100"],
            ],
            // The expiry is not replayed: the key document carries it.
            &[&["lrange", "a", "0", "-1"], &["lrange", "b", "0", "-1"]],
        );
    }

    #[test]
    fn sorted_set_and_set_commands_replay_to_the_same_values() {
        let members: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
        let mut sadd = vec!["sadd", "s"];
        sadd.extend(members.iter().map(String::as_str));
        let mut zadd = vec!["zadd", "z"];
        let scores: Vec<String> = (0..40).map(|i| (i % 7).to_string()).collect();
        for (m, sc) in members.iter().zip(&scores) {
            zadd.push(sc);
            zadd.push(m);
        }
        assert_replay_equivalent(
            &[&sadd, &zadd, &["zadd", "z2", "1", "a"]],
            &["s", "z", "z2"],
            &[
                &["spop", "s"],
                &["spop", "s", "5"],
                &["smove", "s", "s2", "m20"],
                &["srem", "s", "m1"],
                &["zadd", "z", "INCR", "2.5", "m3"],
                &["zincrby", "z", "-1", "m4"],
                &["zpopmin", "z", "2"],
                &["zpopmax", "z"],
                &["zmpop", "2", "z2", "z", "MAX", "COUNT", "3"],
                &["bzmpop", "0", "1", "z", "MIN"],
                &["bzpopmin", "nothing", "z", "0"],
                &["bzpopmax", "z2", "z", "0"],
                &["zremrangebyscore", "z", "5", "6"],
                &["zrem", "z", "m9"],
            ],
            &[
                &["smembers", "s"],
                &["zrange", "z", "0", "-1", "WITHSCORES"],
                &["exists", "z2"],
            ],
        );
    }

    #[test]
    fn hash_and_native_commands_replay_to_the_same_values() {
        assert_replay_equivalent(
            &[
                &["hset", "h", "a", "1", "b", "2"],
                &["tree.set", "t", "k1", "v1"],
                &["graph.addedge", "g", "a", "b"],
                &["queue.push", "q", "1", "2", "3"],
                &["stack.push", "st", "1", "2", "3"],
                &["append", "str", "base"],
            ],
            &["h", "t", "g", "q", "st", "str"],
            &[
                &["hset", "h", "c", "3"],
                &["hincrbyfloat", "h", "a", "0.1"],
                &["hincrby", "h", "b", "5"],
                &["hdel", "h", "c"],
                &["tree.set", "t", "k2", "v2"],
                &["tree.del", "t", "k1"],
                &["graph.addnode", "g", "c"],
                &["graph.addedge", "g", "c", "a", "WEIGHT", "2"],
                &["graph.deledge", "g", "a", "b"],
                &["queue.push", "q", "4"],
                &["queue.pop", "q", "2"],
                &["queue.bpop", "none", "q", "0"],
                &["stack.pop", "st"],
                &["stack.push", "st", "9"],
                &["setrange", "str", "2", "XY"],
                &["append", "str", "!"],
            ],
            &[
                &["hgetall", "h"],
                &["tree.range", "t", "-", "+"],
                &["graph.edges", "g"],
                &["graph.nodes", "g"],
                &["queue.pop", "q", "10"],
                &["stack.pop", "st", "10"],
                &["get", "str"],
            ],
        );
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
