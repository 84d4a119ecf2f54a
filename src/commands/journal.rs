//! The journal of element-level writes, and its replay at start-up.
//!
//! The store only records *which* keys changed. For a large collection that is not enough:
//! persisting "list `q` changed" would mean rewriting the whole list after every LPUSH. So for
//! the large values the persistence layer watches, what each command did to them is recorded
//! here as commands (like an append-only file), and persistence appends those to the value's
//! operation log instead of rewriting it.
//!
//! What a command did is the command's own business, declared in its table row
//! ([`JournalClass`]): its arguments replay as sent (`LPUSH`), or its handler states the effect
//! with [`Ctx::journal_as`] (`SPOP` -> `SREM` of what it took, `BLPOP` -> `LPOP` of the key that
//! served, as Redis's `rewriteClientCommandVector`), or it changed only the expiry, or its keys
//! must be snapshotted. Nothing here parses replies or guesses. Commands run by `EXEC` (and
//! later by scripts) go through [`super::call`] and so through the same path.

use super::{resolve, Args, ClientState, CmdError, CmdResult, CommandSpec, Ctx, NoClients, Server};
use crate::protocol::{Protover, ReplyBuf};
use crate::store::{FastMap, FastSet, Key, Keyspace};
use smallvec::SmallVec;

/// Largest journal, in bytes of recorded arguments, kept between hand-offs: past it every
/// journaled key is snapshotted instead, so memory stays bounded while the backend is slow.
pub const JOURNAL_LIMIT: usize = 64 * 1024 * 1024;
/// A single command larger than this is not journaled (its key is snapshotted instead): an
/// operation-log document must stay well under the 16 MB document limit.
pub const JOURNAL_MAX_OP: usize = 4 * 1024 * 1024;

/// How a command's writes reach the journal: a column of the command table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalClass {
    /// A row that declares nothing: only rows not flagged `write` (a table test checks it).
    /// Whatever such a command changes anyway (a key it found expired) is snapshotted.
    Undeclared,
    /// Replaying its arguments on the key's previous value gives its new value; it changes only
    /// the key in its first argument. `Merge` says how two in a row combine. When its handler
    /// states its effect ([`Ctx::journal_as`]) that is recorded instead: XADD with `*` states
    /// the ID it generated, a trim with `~` the exact length it left.
    Replay(Merge),
    /// It picks at random or among several keys, so its arguments cannot be replayed: the
    /// handler states what it did with [`Ctx::journal_as`], as replayable commands.
    States,
    /// It changes only the expiry of the key in its first argument (persisted from the key's
    /// current expiry, not replayed).
    Expiry,
    /// Anything else: every watched key it names (or, naming no key, every watched key) is
    /// snapshotted. A key whose value is cold (in MongoDB only) has nothing to snapshot: RENAME
    /// of one, the only such write that needs no value, is recorded by the store as a move
    /// ([`crate::store::Keyspace::cold_move_pending`]), and persistence moves the stored
    /// documents, operation log included (replayed under the new name, [`replay_as`]).
    Taints,
    /// It changes the function libraries, not keys (FUNCTION LOAD, DELETE, FLUSH, RESTORE):
    /// persistence writes every library again when their version moved
    /// ([`crate::commands::scripting::functions::Libraries::version`]), as Redis keeps them
    /// whole in its RDB file.
    Functions,
}

/// How two recordings of one command in a row on one key combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// They stay two commands.
    No,
    /// `LPUSH k a` + `LPUSH k b` = `LPUSH k a b`: the second's arguments after the key are
    /// appended to the first's.
    Args,
    /// `APPEND k a` + `APPEND k b` = `APPEND k ab`: the last argument grows.
    LastArg,
}

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
    /// Records `argv`, merged into the previous command as `merge` allows. Returns the bytes
    /// added.
    fn push(&mut self, argv: &[&[u8]], merge: Merge) -> usize {
        let before = self.packed.len();
        if merge == Merge::No || !self.merge(argv, merge) {
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

    /// Merges `argv` into the last command if it is the same command. O(len).
    fn merge(&mut self, argv: &[&[u8]], merge: Merge) -> bool {
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
        if merge == Merge::Args {
            let argc = argc + argv.len() - 2;
            self.packed[self.last..self.last + 4].copy_from_slice(&(argc as u32).to_le_bytes());
            for arg in &argv[2..] {
                self.packed
                    .extend_from_slice(&(arg.len() as u32).to_le_bytes());
                self.packed.extend_from_slice(arg);
            }
            return true;
        }
        if argc == 3 && argv.len() == 3 {
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
    /// Effects stated by running handlers ([`Ctx::journal_as`]) on watched keys, not yet
    /// recorded: a nested run (EXEC) takes only those stated after it started.
    stated: Vec<Vec<Vec<u8>>>,
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

    /// Holds an effect a handler stated, if it concerns a watched key: `head` is the command
    /// (and subcommand) before the key, `args` what follows it. O(effect) then, O(1) otherwise.
    pub fn state<'a>(
        &mut self,
        head: &[&[u8]],
        key: &[u8],
        args: impl IntoIterator<Item = &'a [u8]>,
    ) {
        if !self.is_watched(key) {
            return;
        }
        let mut effect: Vec<Vec<u8>> = head.iter().map(|part| part.to_vec()).collect();
        effect.push(key.to_vec());
        effect.extend(args.into_iter().map(<[u8]>::to_vec));
        self.stated.push(effect);
    }

    /// Records `argv`, a command that changed only `key` (one of its arguments).
    fn record(&mut self, db: usize, key: &[u8], argv: &[&[u8]], merge: Merge) {
        if self.interval.tainted_all {
            return;
        }
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
            .push(argv, merge);
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

    pub(crate) fn taint_all(&mut self) {
        self.interval.tainted_all = true;
        // The recorded arguments can no longer be used: free them now.
        for ops in self.interval.entries.values_mut() {
            *ops = KeyOps::default();
        }
        self.bytes = 0;
    }
}

/// Runs a command while keys are watched, recording what it did to them as its table row
/// says ([`JournalClass`]). Called by [`super::call`] instead of the handler when
/// [`Journal::is_watching`].
pub(crate) fn run_journaled(
    ctx: &mut Ctx,
    spec: &'static CommandSpec,
    argv: &[&[u8]],
) -> CmdResult {
    let class = spec.journal;
    let db = ctx.client.db;
    let Some(journal) = ctx.server.journal.as_ref() else {
        return (spec.handler)(ctx, &mut Args::new(argv, spec.arg_start()));
    };
    let explained_before = journal.explained;
    let stated_before = journal.stated.len();
    // The watched keys the command may edit, and whether each exists now: a watched key that
    // is missing (or expires right now) gets a new value from nothing, and replaying on top of
    // the old one would be wrong, so it is snapshotted instead.
    // A subcommand's key comes after its name (XGROUP CREATE key).
    let key_at = key_position(spec);
    let candidates: &[&[u8]] = match class {
        JournalClass::Replay(_) | JournalClass::Expiry => {
            argv.get(key_at..key_at + 1).unwrap_or_default()
        }
        JournalClass::States => argv.get(1..).unwrap_or_default(),
        JournalClass::Undeclared | JournalClass::Taints | JournalClass::Functions => &[],
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
    let writes_before = ctx.ks.write_count();
    let result = (spec.handler)(ctx, &mut Args::new(argv, spec.arg_start()));
    let writes = ctx.ks.write_count().saturating_sub(writes_before);
    let Some(journal) = ctx.server.journal.as_mut() else {
        return result;
    };
    let stated: Vec<Vec<Vec<u8>>> = journal.stated.drain(stated_before..).collect();
    let inner = journal.explained.saturating_sub(explained_before);
    let own = writes.saturating_sub(inner);
    if own == 0 {
        return result;
    }
    journal.explained += own;
    let existed_before = |key: &[u8]| watched.iter().position(|w| *w == key).map(|i| existed[i]);
    let class = match class {
        JournalClass::Replay(_) if !stated.is_empty() => JournalClass::States,
        other => other,
    };
    match class {
        JournalClass::Replay(merge) => {
            let key = argv.get(key_at).copied().unwrap_or_default();
            match existed_before(key) {
                None => {}
                Some(true) => journal.record(db, key, argv, merge),
                Some(false) => journal.taint(key),
            }
        }
        JournalClass::Expiry => {
            let key = argv.get(key_at).copied().unwrap_or_default();
            match existed_before(key) {
                None => {}
                Some(true) => journal.touch(db, key),
                Some(false) => journal.taint(key),
            }
        }
        JournalClass::States if stated.is_empty() => {
            // It wrote but stated nothing about a watched key: safe only as a snapshot.
            for key in &watched {
                journal.taint(key);
            }
        }
        JournalClass::States => {
            for effect in &stated {
                let parts: SmallVec<[&[u8]; 8]> = effect.iter().map(Vec::as_slice).collect();
                let replayable = resolve(&parts).ok().and_then(|spec| {
                    match (parts.get(key_position(spec)), spec.journal) {
                        (Some(&key), JournalClass::Replay(merge)) => Some((key, merge)),
                        _ => None,
                    }
                });
                let Some((key, merge)) = replayable else {
                    // A handler stated something that does not replay: a bug, kept safe by
                    // snapshotting every watched key the effect names.
                    for part in parts.iter().skip(1) {
                        if journal.is_watched(part) {
                            journal.taint(part);
                        }
                    }
                    continue;
                };
                match existed_before(key) {
                    Some(true) => journal.record(db, key, &parts, merge),
                    Some(false) | None => journal.taint(key),
                }
            }
        }
        // No key changed; persistence sees the libraries' version move.
        JournalClass::Functions => {}
        JournalClass::Undeclared | JournalClass::Taints => {
            // Any argument may be a key it changed (RENAME's target, MOVE's key in another
            // database, SORT's STORE destination...): taint every watched name it mentions.
            for arg in &argv[1..] {
                if journal.is_watched(arg) {
                    journal.taint(arg);
                }
            }
            // A command naming no keys changed keys it does not name (SWAPDB, FLUSHALL).
            if spec.first_key <= 0 {
                journal.taint_all();
            }
        }
    }
    result
}

/// Where the key of a replayable row is in its argument vector: first after the command
/// name, or after the subcommand's.
fn key_position(spec: &CommandSpec) -> usize {
    spec.first_key.max(1) as usize
}

/// Runs `argv`, a recorded command of the key now stored as `key`, against `ks` in database
/// `db`, with `key` in its key position: a RENAME of a cold key moves its operation log to the
/// new name unchanged, so the commands recorded before it name the old one. Every recorded
/// command changes only that one key (see [`JournalClass::Replay`]).
pub fn replay_as(
    ks: &mut Keyspace,
    server: &mut Server,
    db: usize,
    key: &[u8],
    argv: &[&[u8]],
) -> Result<(), CmdError> {
    let at = key_position(resolve(argv)?);
    match argv.get(at) {
        Some(&named) if named != key => {
            let mut renamed: SmallVec<[&[u8]; 8]> = argv.iter().copied().collect();
            renamed[at] = key;
            replay(ks, server, db, &renamed)
        }
        _ => replay(ks, server, db, argv),
    }
}

/// Runs one recorded command against `ks` in database `db` at start-up (the journal's replay),
/// returning the handler's own result; the reply is discarded.
pub fn replay(
    ks: &mut Keyspace,
    server: &mut Server,
    db: usize,
    argv: &[&[u8]],
) -> Result<(), CmdError> {
    let spec = resolve(argv)?;
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
    (spec.handler)(&mut ctx, &mut Args::new(argv, spec.arg_start()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::Harness;

    #[test]
    fn packed_commands_round_trip() {
        let mut ops = KeyOps::default();
        ops.push(&[b"LPUSH", b"k", b"a\r\n\0"], Merge::Args);
        ops.push(&[b"RPOP", b"k"], Merge::No);
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
        ops.push(&[b"LPUSH", b"k", b"a"], Merge::Args);
        ops.push(&[b"lpush", b"k", b"b", b"c"], Merge::Args);
        ops.push(&[b"RPOP", b"k"], Merge::No);
        ops.push(&[b"RPOP", b"k"], Merge::No);
        ops.push(&[b"APPEND", b"s", b"x"], Merge::LastArg);
        ops.push(&[b"APPEND", b"s", b"yz"], Merge::LastArg);
        ops.push(&[b"APPEND", b"s", b""], Merge::LastArg);
        ops.push(&[b"HSET", b"h", b"f", b"1"], Merge::Args);
        ops.push(&[b"HSET", b"h", b"f", b"2"], Merge::Args);
        let expected: Vec<Vec<&[u8]>> = vec![
            vec![b"LPUSH", b"k", b"a", b"b", b"c"],
            vec![b"RPOP", b"k"],
            vec![b"RPOP", b"k"],
            vec![b"APPEND", b"s", b"xyz"],
            vec![b"HSET", b"h", b"f", b"1", b"f", b"2"],
        ];
        assert_eq!(ops.commands(), expected);
        assert_eq!(ops.count, 5);
    }

    /// Two servers that ran `setup`: the first journals `watched` from then on, the second
    /// is the copy its journal is replayed on.
    fn live_and_copy(setup: &[&[&str]], watched: &[&str]) -> (Harness, Harness) {
        let (mut live, mut copy) = (watching_harness(), Harness::new());
        for command in setup {
            live.text(command);
            copy.text(command);
        }
        let journal = live.server.journal.as_mut().unwrap();
        for key in watched {
            journal.watch(0, key.as_bytes());
        }
        (live, copy)
    }

    fn watching_harness() -> Harness {
        let mut h = Harness::new();
        h.server.journal = Some(Journal::new());
        h
    }

    /// Every key the property test watches, one or two of each journaled type.
    const WATCHED: &[&str] = &[
        "L", "L2", "S", "S2", "Z", "Z2", "H", "STR", "T", "G", "Q", "K",
    ];

    /// One command of the property test: a template picked by `pick`, its members and numbers
    /// chosen by `a` and `b`.
    fn random_command(pick: usize, a: u8, b: u8) -> Vec<String> {
        let m = |x: u8| ["a", "b", "c", "d", "e", "f"][x as usize % 6].to_string();
        let n = |x: u8| (x % 5).to_string();
        let key = |x: u8| WATCHED[x as usize % WATCHED.len()].to_string();
        let text = match pick % 62 {
            0 => format!("lpush L {}", m(a)),
            1 => format!("rpush L {} {}", m(a), m(b)),
            2 => format!("lpushx L2 {}", m(a)),
            3 => format!("rpushx L {}", m(a)),
            4 => "lpop L".to_string(),
            5 => format!("rpop L {}", n(a)),
            6 => format!("lset L {} {}", n(a), m(b)),
            7 => format!("linsert L BEFORE {} {}", m(a), m(b)),
            8 => format!("lrem L {} {}", n(a), m(b)),
            9 => format!("ltrim L 0 {}", n(a) + "0"),
            10 => "lmove L L2 LEFT RIGHT".to_string(),
            11 => "rpoplpush L2 L".to_string(),
            12 => "blmove L L2 RIGHT LEFT 0".to_string(),
            13 => format!("lmpop 2 L L2 LEFT COUNT {}", 1 + a % 3),
            14 => "blmpop 0 2 L2 L RIGHT".to_string(),
            15 => "blpop L L2 0".to_string(),
            16 => "brpop L2 L 0".to_string(),
            17 => "brpoplpush L L2 0".to_string(),
            18 => format!(
                "lmove L L LEFT {}",
                if a.is_multiple_of(2) { "LEFT" } else { "RIGHT" }
            ),
            19 => format!("sadd S {} {}", m(a), m(b)),
            20 => format!("srem S {}", m(a)),
            21 => "spop S".to_string(),
            22 => format!("spop S {}", n(a)),
            23 => format!("smove S S2 {}", m(a)),
            24 => format!("sadd S2 {}", m(a)),
            25 => format!("zadd Z {} {}", n(a), m(b)),
            26 => format!("zadd Z INCR {} {}", n(a), m(b)),
            27 => format!("zincrby Z -{} {}", n(a), m(b)),
            28 => format!("zrem Z {}", m(a)),
            29 => format!("zpopmin Z {}", n(a)),
            30 => "zpopmax Z".to_string(),
            31 => format!("zmpop 2 Z Z2 MIN COUNT {}", 1 + a % 3),
            32 => "bzmpop 0 2 Z2 Z MAX".to_string(),
            33 => "bzpopmin Z Z2 0".to_string(),
            34 => "bzpopmax Z2 Z 0".to_string(),
            35 => format!("zremrangebyscore Z 0 {}", n(a)),
            36 => format!("zremrangebyrank Z 0 {}", n(a)),
            37 => format!("zremrangebylex Z - [{}", m(a)),
            38 => format!("zadd Z2 {} {}", n(a), m(b)),
            39 => format!("hset H {} {}", m(a), m(b)),
            40 => format!("hsetnx H {} {}", m(a), n(b)),
            41 => format!("hdel H {}", m(a)),
            42 => format!("hincrby H n{} {}", n(a), n(b)),
            43 => format!("hincrbyfloat H f{} 0.5", n(a)),
            44 => format!("append STR {}", m(a)),
            45 => format!("setrange STR {} {}", n(a), m(b)),
            46 => format!("setbit STR {} 1", u32::from(a) % 40),
            47 => format!("bitfield STR SET u8 {} {}", u32::from(a) % 40, b),
            48 => format!("tree.set T {} {}", m(a), m(b)),
            49 => match a % 3 {
                0 => format!("tree.del T {}", m(b)),
                1 => format!("tree.popmin T {}", n(b)),
                _ => format!("tree.popmax T {}", n(b)),
            },
            50 => format!("graph.addnode G {}", m(a)),
            51 => format!("graph.delnode G {}", m(a)),
            52 => format!("graph.addedge G {} {} WEIGHT {}", m(a), m(b), n(a)),
            53 => format!("graph.deledge G {} {}", m(a), m(b)),
            54 => format!("queue.push Q {} {}", m(a), m(b)),
            55 => format!("queue.pop Q {}", n(a)),
            56 => "queue.bpop Q 0".to_string(),
            57 => format!("stack.push K {}", m(a)),
            58 => format!("stack.pop K {}", n(a)),
            // Writes that are not journaled as commands: their keys are snapshotted.
            59 => match a % 5 {
                0 => format!("del {}", key(b)),
                1 => format!("set STR {}", m(b)),
                2 => "rename L2 L".to_string(),
                3 => "sunionstore S S S2".to_string(),
                _ => format!("expire {} 100", key(b)),
            },
            60 => format!("persist {}", key(b)),
            _ => "multi".to_string(),
        };
        text.split(' ').map(str::to_string).collect()
    }

    /// What a key holds, read through commands in an order-independent form (and, for the
    /// pile types, which have no read-all command, the value itself).
    fn key_state(h: &mut Harness, key: &str) -> String {
        let kind = h.text(&["type", key]);
        let mut read = |argv: &[&str]| {
            let mut lines: Vec<String> = h.text(argv).split("\r\n").map(str::to_string).collect();
            lines.sort();
            lines.join("|")
        };
        let body = match kind.as_str() {
            "+list\r\n" => h.text(&["lrange", key, "0", "-1"]),
            "+set\r\n" => read(&["smembers", key]),
            "+zset\r\n" => h.text(&["zrange", key, "0", "-1", "withscores"]),
            "+hash\r\n" => read(&["hgetall", key]),
            "+string\r\n" => h.text(&["get", key]),
            "+tree\r\n" => h.text(&["tree.range", key, "-", "+"]),
            "+graph\r\n" => h.text(&["graph.nodes", key]) + &h.text(&["graph.edges", key]),
            _ => format!("{:?}", h.ks.db(0).lookup_read(key.as_bytes())),
        };
        kind + &body
    }

    /// Runs `commands` on a server whose journal watches every key of [`WATCHED`], handing off
    /// after each command as persistence would: a key whose changes the journal explains gets
    /// them replayed on a copy, any other changed key is copied whole (a snapshot). Every key
    /// must then read the same on both, and the share of changes explained by the journal is
    /// returned.
    fn replay_matches_live(commands: &[(usize, u8, u8)]) -> (usize, usize) {
        let setup: &[&[&str]] = &[
            &["rpush", "L", "a", "b", "c", "d", "a", "b"],
            &["rpush", "L2", "x", "y"],
            &["sadd", "S", "a", "b", "c", "d", "e"],
            &["sadd", "S2", "z"],
            &["zadd", "Z", "1", "a", "2", "b", "3", "c", "4", "d"],
            &["zadd", "Z2", "1", "z"],
            &["hset", "H", "a", "1", "n1", "5"],
            &["set", "STR", "hello"],
            &["tree.set", "T", "a", "1", "b", "2"],
            &["graph.addedge", "G", "a", "b"],
            &["queue.push", "Q", "a", "b", "c"],
            &["stack.push", "K", "a", "b", "c"],
        ];
        let (mut live, mut copy) = live_and_copy(setup, WATCHED);
        let mut server = Server::new(crate::config::Config::default(), 0);
        let (mut replayed, mut snapshots) = (0, 0);
        let mut queued = 0;
        for &(pick, a, b) in commands {
            let argv = random_command(pick, a, b);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            live.text(&argv);
            // A pop that found nothing waits: forget it (nothing was written).
            live.client.block = None;
            if argv[0] == "multi" {
                queued = 2;
                continue;
            }
            if queued > 0 {
                queued -= 1;
                if queued > 0 {
                    continue;
                }
                live.text(&["exec"]);
            }
            let mut interval = live.server.journal.as_mut().unwrap().take_interval();
            for key in WATCHED {
                if !interval.is_touched(0, key.as_bytes()) {
                    continue;
                }
                match interval.take_clean(0, key.as_bytes()) {
                    Some(ops) => {
                        replayed += 1;
                        for argv in ops.commands() {
                            replay(&mut copy.ks, &mut server, 0, &argv).unwrap();
                        }
                    }
                    None => {
                        snapshots += 1;
                        let value = live.ks.db(0).lookup_read(key.as_bytes()).cloned();
                        let mut db = copy.ks.db(0);
                        db.remove(key.as_bytes());
                        if let Some(value) = value {
                            db.insert(key.as_bytes(), value, None);
                        }
                    }
                }
            }
            for key in WATCHED {
                assert_eq!(
                    key_state(&mut copy, key),
                    key_state(&mut live, key),
                    "{key} after {argv:?}"
                );
            }
        }
        (replayed, snapshots)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        #[test]
        fn random_commands_replay_to_the_live_values(
            commands in proptest::collection::vec((0usize..62, 0u8..=255, 0u8..=255), 1..120)
        ) {
            replay_matches_live(&commands);
        }
    }

    #[test]
    fn every_journaled_command_replays_in_a_fixed_run() {
        // Each template once, then again with other arguments: most changes must be explained
        // by the journal rather than by snapshots.
        let commands: Vec<(usize, u8, u8)> = (0..62)
            .chain(0..62)
            .enumerate()
            .map(|(i, pick)| (pick, (i * 7) as u8, (i * 13 + 1) as u8))
            .filter(|&(pick, ..)| pick < 59)
            .collect();
        let (replayed, snapshots) = replay_matches_live(&commands);
        assert!(
            replayed > 5 * snapshots,
            "{replayed} replayed, {snapshots} snapshots"
        );
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
            journal.record(0, b"k", &[b"append", b"k", &arg], Merge::LastArg);
        }
        assert!(journal.bytes() <= JOURNAL_LIMIT);
        let mut interval = journal.take_interval();
        assert!(interval.tainted_all);
        assert!(interval.take_clean(0, b"k").is_none());
    }

    #[test]
    fn random_and_multi_key_pops_are_journaled_as_they_state() {
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
        let (mut live, mut copy) = live_and_copy(setup, watched);
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
    fn stream_commands_replay_to_the_same_streams() {
        let adds: Vec<[String; 5]> = (1..300)
            .map(|i| {
                [
                    "xadd".into(),
                    "s".into(),
                    format!("{i}-1"),
                    "f".into(),
                    format!("v{i}"),
                ]
            })
            .collect();
        let adds: Vec<Vec<&str>> = adds
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let steps: Vec<&[&str]> = adds.iter().map(Vec::as_slice).collect();
        assert_replay_equivalent(
            &steps,
            &["s"],
            &[
                &["xadd", "s", "*", "a", "1"],
                &["xadd", "s", "99999999999999-*", "a", "2"],
                &["xadd", "s", "MAXLEN", "~", "150", "*", "b", "3"],
                &["xdel", "s", "120-1", "121-1"],
                &["xtrim", "s", "MINID", "~", "200"],
                &["xtrim", "s", "MAXLEN", "120"],
                &["xsetid", "s", "999999999999999-5"],
            ],
            &[&["xrange", "s", "-", "+"], &["xlen", "s"]],
        );
    }

    #[test]
    fn consumer_group_commands_replay_to_the_same_groups() {
        let mut setup: Vec<Vec<String>> = (1..=12)
            .map(|i| {
                vec![
                    "xadd".into(),
                    "s".into(),
                    format!("{i}-1"),
                    "f".into(),
                    i.to_string(),
                ]
            })
            .collect();
        setup.push(vec![
            "xgroup".into(),
            "create".into(),
            "s".into(),
            "g".into(),
            "0".into(),
        ]);
        let setup: Vec<Vec<&str>> = setup
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let setup: Vec<&[&str]> = setup.iter().map(Vec::as_slice).collect();
        assert_replay_equivalent(
            &setup,
            &["s"],
            &[
                &[
                    "xreadgroup",
                    "GROUP",
                    "g",
                    "alice",
                    "COUNT",
                    "3",
                    "STREAMS",
                    "s",
                    ">",
                ],
                &[
                    "xreadgroup",
                    "GROUP",
                    "g",
                    "bob",
                    "COUNT",
                    "2",
                    "STREAMS",
                    "s",
                    ">",
                ],
                // History: counts one more delivery of alice's entries.
                &["xreadgroup", "GROUP", "g", "alice", "STREAMS", "s", "0"],
                &["xreadgroup", "GROUP", "g", "zed", "STREAMS", "s", "0"],
                &["xdel", "s", "2-1"],
                &[
                    "xclaim",
                    "s",
                    "g",
                    "bob",
                    "0",
                    "1-1",
                    "2-1",
                    "3-1",
                    "RETRYCOUNT",
                    "7",
                ],
                &["xautoclaim", "s", "g", "carol", "0", "0", "COUNT", "2"],
                &[
                    "xreadgroup",
                    "GROUP",
                    "g",
                    "dave",
                    "NOACK",
                    "COUNT",
                    "2",
                    "STREAMS",
                    "s",
                    ">",
                ],
                &["xgroup", "createconsumer", "s", "g", "erin"],
                &["xgroup", "delconsumer", "s", "g", "bob"],
                &["xgroup", "create", "s", "g2", "$"],
                &[
                    "xclaim", "s", "g2", "frank", "0", "9-1", "FORCE", "LASTID", "11-1",
                ],
                &["xgroup", "create", "s", "g3", "0", "ENTRIESREAD", "3"],
                &["xgroup", "setid", "s", "g3", "4-1"],
                &[
                    "xreadgroup",
                    "GROUP",
                    "g3",
                    "x",
                    "COUNT",
                    "1",
                    "STREAMS",
                    "s",
                    ">",
                ],
                &["xgroup", "destroy", "s", "g2"],
                &["xack", "s", "g", "9-1", "10-1"],
                &["xreadgroup", "GROUP", "g", "carol", "STREAMS", "s", ">"],
            ],
            &[
                &["xinfo", "stream", "s", "FULL"],
                &["xinfo", "groups", "s"],
                &["xpending", "s", "g", "-", "+", "100"],
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
