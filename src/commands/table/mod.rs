//! The command table: the one place a command is named, with its arity (Redis's rule: N means
//! exactly N arguments including the name, -N at least N), flags, key positions, handler and
//! documentation. COMMAND, COMMAND DOCS and the README's command list come from it. This file
//! is the schema (flags, key specs, the row macros, lookup); the rows are in [`rows`].

use super::journal::JournalClass;
use super::{Args, CmdResult, Ctx};
use crate::number::atoi;
use crate::store::FastMap;
use std::sync::OnceLock;

/// A command handler.
pub type Handler = fn(&mut Ctx, &mut Args) -> CmdResult;

/// Declares a bit-flag type: its constants, union, containment, and the names COMMAND
/// lists, in the order declared. A flag declared without a name is internal: no reply shows it.
macro_rules! bit_flags {
    ($(#[$meta:meta])* $Type:ident($Bits:ty) {
        $($(#[$doc:meta])* $Flag:ident = $bit:literal $(, $name:literal)?;)*
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $Type($Bits);

        impl $Type {
            pub const NONE: $Type = $Type(0);
            $($(#[$doc])* pub const $Flag: $Type = $Type(1 << $bit);)*

            /// The named flags, in the order replies list them.
            const NAMES: &'static [($Type, &'static str)] = &[$($(($Type::$Flag, $name),)?)*];

            /// Union of two flag sets.
            pub const fn with(self, other: $Type) -> $Type {
                $Type(self.0 | other.0)
            }

            pub const fn contains(self, other: $Type) -> bool {
                self.0 & other.0 == other.0
            }

            /// Flag names for replies, in the order Redis lists them. O(flags).
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                $Type::NAMES
                    .iter()
                    .filter(move |(flag, _)| self.contains(*flag))
                    .map(|(_, name)| *name)
            }
        }
    };
}

bit_flags! {
    /// Command flags, as COMMAND INFO names them (in Redis's order).
    Flags(u32) {
        WRITE = 0, "write";
        READONLY = 1, "readonly";
        DENYOOM = 2, "denyoom";
        ADMIN = 3, "admin";
        PUBSUB = 4, "pubsub";
        NOSCRIPT = 5, "noscript";
        BLOCKING = 6, "blocking";
        LOADING = 7, "loading";
        STALE = 8, "stale";
        SKIP_MONITOR = 9, "skip_monitor";
        SKIP_SLOWLOG = 10, "skip_slowlog";
        /// Runs on a cluster node for a client redirected by -ASK (RESTORE-ASKING).
        ASKING = 24, "asking";
        FAST = 11, "fast";
        NO_AUTH = 12, "no_auth";
        /// Not named: Redis 7.0's COMMAND INFO does not list it. A read that may still change
        /// data (PFCOUNT caches its estimate in the value), so CLIENT PAUSE WRITE holds it
        /// back as it holds writes.
        MAY_REPLICATE = 13;
        NO_MANDATORY_KEYS = 14, "no_mandatory_keys";
        NO_ASYNC_LOADING = 15, "no_async_loading";
        NO_MULTI = 16, "no_multi";
        /// Not written in rows: derived from the key specs, as Redis does (see
        /// [`CommandSpec::with_key_specs`]).
        MOVABLEKEYS = 17, "movablekeys";
        ALLOW_BUSY = 18, "allow_busy";
        /// Internal: sends messages to other clients (PUBLISH, SPUBLISH), so CLIENT PAUSE
        /// WRITE holds it back as it holds writes, as Redis does.
        PUBLISHES = 19;
        /// Internal: runs the commands queued since MULTI (EXEC). A refusal discards the
        /// transaction, and CLIENT PAUSE WRITE holds it back when a queued command writes.
        RUNS_QUEUED = 20;
        /// Internal: runs at once inside MULTI instead of being queued (the transaction
        /// commands themselves, QUIT, RESET).
        NOT_QUEUED = 21;
        /// Internal: a RESP2 connection in the pub/sub context may run it.
        SUBSCRIBER_ALLOWED = 22;
        /// Internal: runs a script (EVAL, EVALSHA, FCALL) that may write unless its flags say
        /// `no-writes`: CLIENT PAUSE WRITE and MULTI ask the script, as Redis's
        /// `evalGetCommandFlags` does (see [`crate::commands::may_write`]).
        RUNS_SCRIPT = 23;
        /// Internal: refused before it runs unless its `enable-*-command` option allows
        /// the connection (DEBUG, MODULE LOAD...), as Redis's `protected` commands are.
        PROTECTED = 25;
    }
}

bit_flags! {
    /// How a command uses one of its keys, as COMMAND GETKEYSANDFLAGS and COMMAND INFO name
    /// it.
    KeyFlags(u16) {
        /// Reads the value.
        RO = 0, "RO";
        /// Reads and modifies the value.
        RW = 1, "RW";
        /// Overwrites the value without reading it.
        OW = 2, "OW";
        /// Deletes the key.
        RM = 3, "RM";
        /// Returns, copies or uses the user data of the value.
        ACCESS = 4, "access";
        /// Updates data in the value (or sets a new value).
        UPDATE = 5, "update";
        /// Only adds data to the value.
        INSERT = 6, "insert";
        /// Only removes data from the value.
        DELETE = 7, "delete";
        /// A name in the key namespace that is not a key (a shard channel).
        NOT_KEY = 8, "not_key";
        /// The spec may miss keys: the command's own key finder decides.
        INCOMPLETE = 9, "incomplete";
        /// The flags depend on the arguments: the command's own key finder decides.
        VARIABLE_FLAGS = 10, "variable_flags";
    }
}

/// Where the search for a key spec's keys starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginSearch {
    /// At this argument index (the name is 0).
    Index(i32),
    /// Just after the first `keyword` found from argument `start_from` (a negative start
    /// searches backwards from the end).
    Keyword {
        keyword: &'static str,
        start_from: i32,
    },
    /// Nowhere a table can say: the command's own key finder decides.
    Unknown,
}

/// Which arguments from the start are keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindKeys {
    /// From the start to `last_key` (relative to the start when >= 0, else counted from the
    /// end of the arguments), every `step`-th; with `limit` > 1 and `last_key` -1, only the
    /// first 1/limit of the remaining arguments.
    Range {
        last_key: i32,
        step: i32,
        limit: i32,
    },
    /// The argument at `num_index` (relative to the start) gives the number of keys, which
    /// begin `first_key` arguments after the start, every `step`-th.
    KeyNum {
        num_index: i32,
        first_key: i32,
        step: i32,
    },
    Unknown,
}

/// One Redis 7 key specification: where some of a command's keys are and how it uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub flags: KeyFlags,
    pub begin: BeginSearch,
    pub find: FindKeys,
    /// Explanation COMMAND INFO shows, if any.
    pub notes: &'static str,
}

impl KeySpec {
    /// Keys from argument `index` to `last_key` (see [`FindKeys::Range`]).
    pub const fn range(flags: KeyFlags, index: i32, last_key: i32, step: i32, limit: i32) -> Self {
        KeySpec {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Range {
                last_key,
                step,
                limit,
            },
            notes: "",
        }
    }

    /// Keys counted by a numkeys argument (see [`FindKeys::KeyNum`]).
    pub const fn keynum(
        flags: KeyFlags,
        index: i32,
        num_index: i32,
        first_key: i32,
        step: i32,
    ) -> Self {
        KeySpec {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::KeyNum {
                num_index,
                first_key,
                step,
            },
            notes: "",
        }
    }

    /// Keys after a keyword (see [`BeginSearch::Keyword`]), found by `find`.
    pub const fn keyword(
        flags: KeyFlags,
        keyword: &'static str,
        start_from: i32,
        find: FindKeys,
    ) -> Self {
        KeySpec {
            flags,
            begin: BeginSearch::Keyword {
                keyword,
                start_from,
            },
            find,
            notes: "",
        }
    }

    /// Keys only the command's own key finder can locate.
    pub const fn unknown(flags: KeyFlags) -> Self {
        KeySpec {
            flags,
            begin: BeginSearch::Unknown,
            find: FindKeys::Unknown,
            notes: "",
        }
    }

    /// The same spec with an explanation for COMMAND INFO.
    pub const fn notes(self, notes: &'static str) -> Self {
        KeySpec { notes, ..self }
    }

    /// The keys of `argv` (name at 0) this spec finds, appended to `out` as (position,
    /// flags); `Err` when the arguments do not fit the spec (Redis's "invalid spec": a missing
    /// or malformed numkeys, or keys past the end). A keyword that is absent finds nothing.
    fn find_keys(&self, argv: &[&[u8]], out: &mut Vec<(usize, KeyFlags)>) -> Result<(), ()> {
        let argc = argv.len() as i64;
        let first = match self.begin {
            BeginSearch::Index(index) => index as i64,
            BeginSearch::Keyword {
                keyword,
                start_from,
            } => {
                // Searched up to, not including, the last argument (forwards) or argument 1
                // (backwards), as Redis does.
                let (start, end) = if start_from > 0 {
                    (start_from as i64, argc - 1)
                } else {
                    (argc + start_from as i64, 1)
                };
                let mut at = start;
                let mut found = None;
                while at != end && (1..argc).contains(&at) {
                    if argv[at as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
                        found = Some(at + 1);
                        break;
                    }
                    at += if start <= end { 1 } else { -1 };
                }
                match found {
                    Some(first) => first,
                    None => return Ok(()),
                }
            }
            BeginSearch::Unknown => return Err(()),
        };
        let (first, last, step) = match self.find {
            FindKeys::Range {
                last_key,
                step,
                limit,
            } => {
                let last = if last_key >= 0 {
                    first + last_key as i64
                } else if limit <= 1 {
                    argc + last_key as i64
                } else {
                    first + (argc - first) / limit as i64 + last_key as i64
                };
                (first, last, step)
            }
            FindKeys::KeyNum {
                num_index,
                first_key,
                step,
            } => {
                let at = first + num_index as i64;
                let count = usize::try_from(at)
                    .ok()
                    .and_then(|at| argv.get(at))
                    .and_then(|arg| crate::number::parse_i64(arg))
                    .filter(|&n| n >= 0)
                    .ok_or(())?;
                let first = first + first_key as i64;
                (first, first.saturating_add(count) - 1, step)
            }
            FindKeys::Unknown => return Err(()),
        };
        if last >= argc || last < first || first >= argc {
            return Err(());
        }
        let mut at = first;
        while at <= last {
            out.push((at as usize, self.flags));
            at += step.max(1) as i64;
        }
        if self.flags.contains(KeyFlags::INCOMPLETE) {
            return Err(());
        }
        Ok(())
    }
}

/// A command's own key finder, for keys its specs cannot locate or flag exactly: (position
/// in `argv`, flags) of each key; empty when the arguments hold no valid keys.
pub type GetKeys = fn(argv: &[&[u8]]) -> Vec<(usize, KeyFlags)>;

/// Which arguments of a command must not be shown (SLOWLOG, MONITOR): true for argument
/// `index` of `argv` (name at 0) when it holds a secret.
pub type Redactor = fn(argv: &[&[u8]], index: usize) -> bool;

/// Builds one [`KeySpec`] in a table row: key flags, then where the keys are:
///
/// ```text
/// ks!(RO ACCESS: 1)                        argument 1
/// ks!(RM DELETE: 1, range -1 1)            from 1 to the last argument, step 1
/// ks!(OW UPDATE: 1, range -1 2)            from 1 to the end, every second one
/// ks!(RO ACCESS: 1, keynum 0 1 1)          argument 1 + 0 is numkeys, keys from 1 + 1
/// ks!(RO ACCESS: keyword "STORE" 2, range 0 1)   the argument after STORE (searched from 2)
/// ks!(RO ACCESS: unknown)                  only the command's key finder knows
/// ```
macro_rules! ks {
    (@flags $($flag:ident)+) => { $crate::commands::table::KeyFlags::NONE$(.with($crate::commands::table::KeyFlags::$flag))+ };
    ($($flag:ident)+ : $index:literal) => {
        $crate::commands::table::KeySpec::range(ks!(@flags $($flag)+), $index, 0, 1, 0)
    };
    ($($flag:ident)+ : $index:literal, range $last:literal $step:literal) => {
        $crate::commands::table::KeySpec::range(ks!(@flags $($flag)+), $index, $last, $step, 0)
    };
    ($($flag:ident)+ : $index:literal, range $last:literal $step:literal limit $limit:literal) => {
        $crate::commands::table::KeySpec::range(ks!(@flags $($flag)+), $index, $last, $step, $limit)
    };
    ($($flag:ident)+ : $index:literal, keynum $num:literal $first:literal $step:literal) => {
        $crate::commands::table::KeySpec::keynum(ks!(@flags $($flag)+), $index, $num, $first, $step)
    };
    ($($flag:ident)+ : keyword $keyword:literal $from:literal, range $last:literal $step:literal) => {
        $crate::commands::table::KeySpec::keyword(
            ks!(@flags $($flag)+),
            $keyword,
            $from,
            $crate::commands::table::FindKeys::Range { last_key: $last, step: $step, limit: 0 },
        )
    };
    ($($flag:ident)+ : unknown) => {
        $crate::commands::table::KeySpec::unknown(ks!(@flags $($flag)+))
    };
}

/// Redis's legacy (first, last, step) for a set of key specs, and whether keys can move
/// (`movablekeys`): a single plain spec is the range itself; otherwise consecutive plain specs
/// of step 1 merge, and any other spec makes the keys movable. O(specs).
const fn legacy_range(specs: &[KeySpec]) -> (i32, i32, i32, bool) {
    if specs.is_empty() {
        return (0, 0, 0, false);
    }
    if specs.len() == 1 {
        if let (BeginSearch::Index(index), FindKeys::Range { last_key, step, .. }) =
            (specs[0].begin, specs[0].find)
        {
            let last = if last_key >= 0 {
                index + last_key
            } else {
                last_key
            };
            let incomplete = specs[0].flags.contains(KeyFlags::INCOMPLETE);
            return (index, last, step, incomplete);
        }
    }
    let mut movable = false;
    let mut first = i32::MAX;
    // Compared unsigned, as Redis does, so a negative (from the end) last key wins.
    let mut last: u32 = 0;
    let mut prev_last: u32 = 0;
    let mut i = 0;
    while i < specs.len() {
        let spec = &specs[i];
        i += 1;
        let (BeginSearch::Index(index), FindKeys::Range { last_key, step, .. }) =
            (spec.begin, spec.find)
        else {
            movable = true;
            continue;
        };
        if step != 1 || (prev_last != 0 && prev_last != (index - 1) as u32) {
            movable = true;
            continue;
        }
        if spec.flags.contains(KeyFlags::INCOMPLETE) {
            movable = true;
        }
        if index < first {
            first = index;
        }
        let absolute = if last_key >= 0 {
            last_key + index
        } else {
            last_key
        };
        if absolute as u32 > last {
            last = absolute as u32;
        }
        prev_last = last;
    }
    if first == i32::MAX {
        return (0, 0, 0, true);
    }
    (first, last as i32, 1, movable)
}

/// One command (or subcommand) and everything known about it.
pub struct CommandSpec {
    /// This row's own number, dense from 0 over every command and subcommand (counters are
    /// kept by it); given by [`numbered`] as the table is built.
    pub id: usize,
    /// Lower-case name (`get`, or `setname` for a subcommand).
    pub name: &'static str,
    /// `get`, or `client|setname` for a subcommand: the name errors and COMMAND use.
    pub full_name: &'static str,
    pub arity: i32,
    pub flags: Flags,
    /// Legacy key positions as COMMAND INFO reports them: first, last (negative counts from
    /// the end), step; 0 = none that a fixed range can describe. Derived from `key_specs`.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// Where the keys are and how they are used (Redis 7 key specifications).
    pub key_specs: &'static [KeySpec],
    /// The command's own key finder, used when its specs cannot answer (as Redis's
    /// `getkeys_proc`).
    pub getkeys: Option<GetKeys>,
    /// Tells which arguments hold secrets, for commands that take any.
    pub redact: Option<Redactor>,
    /// ACL categories besides those the flags imply (`@write`, `@fast`, ...), without the `@`;
    /// `None` means the group's own category.
    pub acl: Option<&'static [&'static str]>,
    /// COMMAND DOCS group (`string`, `generic`, `tree`, ...).
    pub group: &'static str,
    /// Arguments after the name, in Redis's documentation syntax.
    pub syntax: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// Redis's command tips, as COMMAND INFO lists them: `nondeterministic_output`,
    /// `request_policy:all_shards`, ... (what a cluster client routes and merges by).
    pub tips: &'static [&'static str],
    pub handler: Handler,
    pub subcommands: &'static [CommandSpec],
    /// How its writes reach persistence's journal (replayed as sent, stated by the handler,
    /// only the expiry, or snapshotted). Every row flagged `write` declares one.
    pub journal: JournalClass,
}

impl std::fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.full_name)
    }
}

impl CommandSpec {
    /// Index of the first argument the handler reads (after the name and subcommand).
    pub fn arg_start(&self) -> usize {
        if self.full_name.contains('|') {
            2
        } else {
            1
        }
    }

    /// True if CLIENT PAUSE WRITE holds this command back: it may change data or it sends
    /// messages to other clients, as Redis decides.
    pub fn paused_by_write_pause(&self) -> bool {
        self.flags.contains(Flags::WRITE)
            || self.flags.contains(Flags::PUBLISHES)
            || self.flags.contains(Flags::MAY_REPLICATE)
    }

    /// The subcommand named `name` (case-insensitive).
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// The key arguments of `argv` (name at 0, subcommand at 1), as COMMAND GETKEYS lists
    /// them.
    pub fn keys<'a>(&self, argv: &[&'a [u8]]) -> Vec<&'a [u8]> {
        self.keys_with_flags(argv)
            .into_iter()
            .filter_map(|(at, _)| argv.get(at).copied())
            .collect()
    }

    /// True if the command has key arguments at all (COMMAND GETKEYS refuses it otherwise).
    pub fn has_keys(&self) -> bool {
        self.getkeys.is_some()
            || self
                .key_specs
                .iter()
                .any(|spec| !spec.flags.contains(KeyFlags::NOT_KEY))
    }

    /// (position in `argv`, flags) of each key, found as Redis 7.0 does: from the key specs
    /// when they are complete and their flags fixed, else by the command's own key finder, else
    /// by Redis's numkeys fallback. Empty when the arguments do not hold the keys they should.
    /// O(arguments).
    pub fn keys_with_flags(&self, argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
        let mut keys = Vec::new();
        self.keys_with_flags_into(argv, &mut keys);
        keys
    }

    /// [`Self::keys_with_flags`] into `keys` (cleared first), so a caller on every command's
    /// path (the cold tier) reuses one buffer instead of allocating.
    pub fn keys_with_flags_into(&self, argv: &[&[u8]], keys: &mut Vec<(usize, KeyFlags)>) {
        keys.clear();
        let real_specs = self
            .key_specs
            .iter()
            .any(|spec| !spec.flags.contains(KeyFlags::NOT_KEY));
        let variable = self
            .key_specs
            .iter()
            .any(|spec| spec.flags.contains(KeyFlags::VARIABLE_FLAGS));
        if real_specs && !variable {
            let found = self
                .key_specs
                .iter()
                .filter(|spec| !spec.flags.contains(KeyFlags::NOT_KEY))
                .try_for_each(|spec| spec.find_keys(argv, keys));
            if found.is_ok() {
                return;
            }
            keys.clear();
        }
        if let Some(getkeys) = self.getkeys {
            keys.extend(getkeys(argv));
        } else if let Some(found) = self.numkeys_fallback(argv) {
            keys.extend(found);
        }
    }

    /// For a command whose keys are counted by a numkeys argument, Redis's fallback key
    /// finder when the spec rejects the arguments: numkeys read like C's `atoi` (so `2x` counts
    /// as 2), no key at all when it is below 1 or more than the arguments left, the
    /// destination (a fixed key before numkeys) listed last, and no flags. `None` for other
    /// commands.
    fn numkeys_fallback(&self, argv: &[&[u8]]) -> Option<Vec<(usize, KeyFlags)>> {
        let mut store = None;
        let mut counted = None;
        for spec in self.key_specs {
            match (spec.begin, spec.find) {
                (
                    BeginSearch::Index(index),
                    FindKeys::KeyNum {
                        num_index,
                        first_key,
                        step,
                    },
                ) => counted = Some((index + num_index, index + first_key, step)),
                (BeginSearch::Index(index), FindKeys::Range { last_key: 0, .. }) => {
                    store = Some(index)
                }
                _ => {}
            }
        }
        let (count_at, first, step) = counted?;
        let argc = argv.len() as i64;
        let count = usize::try_from(count_at)
            .ok()
            .and_then(|at| argv.get(at))
            .map_or(0, |arg| atoi(arg));
        let step = step.max(1) as i64;
        if count < 1 || count > (argc - first as i64) / step {
            return Some(Vec::new());
        }
        let mut keys: Vec<(usize, KeyFlags)> = (0..count)
            .map(|i| ((first as i64 + i * step) as usize, KeyFlags::NONE))
            .collect();
        if let Some(store) = store {
            keys.push((store as usize, KeyFlags::NONE));
        }
        Some(keys)
    }

    /// The row with its legacy key range and `movablekeys` flag derived from its key specs,
    /// as Redis derives them.
    pub const fn with_key_specs(mut self) -> Self {
        if self.key_specs.is_empty() {
            return self;
        }
        let (first, last, step, movable) = legacy_range(self.key_specs);
        self.first_key = first;
        self.last_key = last;
        self.key_step = step;
        if movable {
            self.flags = self.flags.with(Flags::MOVABLEKEYS);
        }
        self
    }

    /// ACL categories, in Redis's order: those the flags imply, the row's own (its group's
    /// by default), `@slow` for whatever is not `@fast`.
    pub fn acl_categories(&self) -> Vec<String> {
        let own: &[&str] = match self.acl {
            Some(own) => own,
            None if !self.subcommands.is_empty() => &[],
            None => match self.group {
                "generic" => &["keyspace"],
                "sorted-set" => &["sortedset"],
                "transactions" => &["transaction"],
                // Groups with no category of their own.
                "server" | "cluster" | "sentinel" => &[],
                // `string`, `list`, `bitmap`, `geo`, ..., and our own types.
                _ => std::slice::from_ref(&self.group),
            },
        };
        let has = |name: &str| own.contains(&name);
        let flag = |f: Flags| self.flags.contains(f);
        let fast = flag(Flags::FAST) || has("fast");
        let implied: [(&str, bool); 21] = [
            ("keyspace", has("keyspace")),
            // As Redis: read-only scripting commands (EVAL_RO) are not `@read`.
            (
                "read",
                has("read") || (flag(Flags::READONLY) && self.group != "scripting"),
            ),
            ("write", has("write") || flag(Flags::WRITE)),
            ("set", has("set")),
            ("sortedset", has("sortedset")),
            ("list", has("list")),
            ("hash", has("hash")),
            ("string", has("string")),
            ("bitmap", has("bitmap")),
            ("hyperloglog", has("hyperloglog")),
            ("geo", has("geo")),
            ("stream", has("stream")),
            ("pubsub", has("pubsub") || flag(Flags::PUBSUB)),
            ("admin", has("admin") || flag(Flags::ADMIN)),
            ("fast", fast),
            ("slow", !fast),
            ("blocking", has("blocking") || flag(Flags::BLOCKING)),
            ("dangerous", has("dangerous") || flag(Flags::ADMIN)),
            ("connection", has("connection")),
            ("transaction", has("transaction")),
            ("scripting", has("scripting")),
        ];
        let mut cats: Vec<String> = implied
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| format!("@{name}"))
            .collect();
        // Categories of our own types come after Redis's.
        for name in own {
            if !implied.iter().any(|(known, _)| known == name) {
                cats.push(format!("@{name}"));
            }
        }
        cats
    }
}

/// Builds a row, one line per command:
///
/// ```text
/// cmd!(name, arity, [FLAGS], [key specs], group, handler, syntax, summary, complexity,
///      column = value, ...)
/// ```
///
/// A subcommand's name is written with its container's: `"client" | "kill"`. Key specs are
/// `ks!(...)` items (`[]`: no keys), from which the legacy key range and `movablekeys` are
/// derived. Optional named columns follow, in any order: `subs = TABLE` (subcommands),
/// `getkeys = FN` (the command's own key finder, see [`GetKeys`]), `redact = FN` (which
/// arguments are secrets, see [`Redactor`]), `acl = ["cat", ...]`
/// (ACL categories when they are not just the group's) and `journal = CLASS` (how its writes
/// are journaled, see [`JournalClass`]: `Replay(Merge::Args)`, `States`, `Expiry`, `Taints`...;
/// every `write` row has one). A new column is one more field
/// default below and one more `@column` arm.
macro_rules! cmd {
    ($container:literal | $name:literal, $($columns:tt)*) => {
        cmd!(@row $name, concat!($container, "|", $name), $($columns)*)
    };
    ($name:literal, $($columns:tt)*) => {
        cmd!(@row $name, $name, $($columns)*)
    };
    (@row $name:literal, $full_name:expr, $arity:expr, [$($flag:ident),*],
     [$($spec:expr),* $(,)?], $group:literal, $handler:path, $syntax:literal,
     $summary:literal, $complexity:literal $(, $column:ident = $value:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut row = $crate::commands::table::CommandSpec {
            id: 0,
            name: $name,
            full_name: $full_name,
            arity: $arity,
            flags: $crate::commands::table::Flags::NONE
                $(.with($crate::commands::table::Flags::$flag))*,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            key_specs: &[$($spec),*],
            getkeys: None,
            redact: None,
            acl: None,
            group: $group,
            syntax: $syntax,
            summary: $summary,
            complexity: $complexity,
            tips: &[],
            handler: $handler,
            subcommands: &[],
            journal: $crate::commands::journal::JournalClass::Undeclared,
        };
        $(cmd!(@column row, $column, $value);)*
        row.with_key_specs()
    }};
    (@column $row:ident, subs, $value:expr) => { $row.subcommands = $value; };
    (@column $row:ident, getkeys, $value:expr) => { $row.getkeys = Some($value); };
    (@column $row:ident, redact, $value:expr) => { $row.redact = Some($value); };
    (@column $row:ident, acl, $value:expr) => { $row.acl = Some(&$value); };
    (@column $row:ident, journal, $value:expr) => { $row.journal = $value; };
    (@column $row:ident, tips, $value:expr) => { $row.tips = &$value; };
}

/// `rows` numbered from `first`, in order: how every row gets its [`CommandSpec::id`].
const fn numbered<const N: usize>(first: usize, mut rows: [CommandSpec; N]) -> [CommandSpec; N] {
    let mut at = 0;
    while at < N {
        rows[at].id = first + at;
        at += 1;
    }
    rows
}

/// The id after the last of `table`'s: where the next table's numbering starts.
const fn next_id(table: &[CommandSpec]) -> usize {
    match table.last() {
        Some(last) => last.id + 1,
        None => 0,
    }
}

#[rustfmt::skip]
mod rows;

pub use rows::COMMANDS;

/// How many rows the table has, commands and subcommands together: one more than the
/// largest id. O(1).
pub fn row_count() -> usize {
    next_id(COMMANDS)
}

/// The names commands are called by (lower case), fixed for the life of the process: the
/// table's own names, with the configuration's `rename-command` directives applied.
type NameIndex = FastMap<Box<[u8]>, &'static CommandSpec>;

static INDEX: OnceLock<NameIndex> = OnceLock::new();

fn table_names() -> NameIndex {
    COMMANDS
        .iter()
        .map(|spec| (spec.name.as_bytes().into(), spec))
        .collect()
}

/// Applies `rename-command` directives (old name, new name; an empty new name disables the
/// command), in order. Must run before the first [`lookup`]: as in Redis, names are set once,
/// at start-up. The error names the first directive that cannot be applied.
pub fn rename_commands(renames: &[(String, String)]) -> Result<(), String> {
    if renames.is_empty() {
        return Ok(());
    }
    let mut index = table_names();
    for (old, new) in renames {
        let Some(spec) = index.remove(old.to_ascii_lowercase().as_bytes()) else {
            return Err(format!("No such command in rename-command: '{old}'"));
        };
        if new.is_empty() {
            continue;
        }
        let new = new.to_ascii_lowercase().into_bytes().into_boxed_slice();
        if index.contains_key(&new) {
            return Err(format!(
                "Target command name already exists in rename-command: '{}'",
                String::from_utf8_lossy(&new)
            ));
        }
        index.insert(new, spec);
    }
    INDEX
        .set(index)
        .map_err(|_| "rename-command after commands were looked up".to_string())
}

/// Finds a command by name, case-insensitively. O(1).
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let index = INDEX.get_or_init(table_names);
    // Names up to 32 bytes (all of the table's) are lowered on the stack; only a longer name,
    // which a rename may give, costs an allocation.
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return index.get(&name.to_ascii_lowercase()[..]).copied();
    }
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    index.get(&lower[..name.len()]).copied()
}

#[cfg(test)]
mod tests;
