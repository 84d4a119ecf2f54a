//! The command table: the one place a command is named, with its arity (Redis's rule: N means
//! exactly N arguments including the name, -N at least N), flags, key positions, handler and
//! documentation. COMMAND, COMMAND DOCS and the README's command list come from it.

use super::{
    bitmaps, hashes, keys, lists, persistence, pubsub, server, sets, sort, stats, strings,
    transactions, zsets, Args, CmdResult, Ctx,
};
use crate::store::pile::{Fifo, Lifo};
use crate::store::FastMap;
use std::sync::OnceLock;

/// A command handler.
pub type Handler = fn(&mut Ctx, &mut Args) -> CmdResult;

/// Command flags, as COMMAND INFO names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(u32);

impl Flags {
    pub const NONE: Flags = Flags(0);
    pub const WRITE: Flags = Flags(1);
    pub const READONLY: Flags = Flags(1 << 1);
    pub const DENYOOM: Flags = Flags(1 << 2);
    pub const ADMIN: Flags = Flags(1 << 3);
    pub const PUBSUB: Flags = Flags(1 << 4);
    pub const NOSCRIPT: Flags = Flags(1 << 5);
    pub const BLOCKING: Flags = Flags(1 << 6);
    pub const LOADING: Flags = Flags(1 << 7);
    pub const STALE: Flags = Flags(1 << 8);
    pub const FAST: Flags = Flags(1 << 9);
    pub const NO_AUTH: Flags = Flags(1 << 10);
    pub const NO_MULTI: Flags = Flags(1 << 11);
    pub const ALLOW_BUSY: Flags = Flags(1 << 12);
    pub const SKIP_MONITOR: Flags = Flags(1 << 13);
    pub const SKIP_SLOWLOG: Flags = Flags(1 << 14);
    pub const MAY_REPLICATE: Flags = Flags(1 << 15);
    pub const NO_MANDATORY_KEYS: Flags = Flags(1 << 16);
    pub const NO_ASYNC_LOADING: Flags = Flags(1 << 17);
    /// Not written in rows: derived from the key specs, as Redis does (see
    /// [`CommandSpec::with_key_specs`]).
    pub const MOVABLEKEYS: Flags = Flags(1 << 18);

    /// In the order Redis lists them.
    const NAMES: &'static [(Flags, &'static str)] = &[
        (Flags::WRITE, "write"),
        (Flags::READONLY, "readonly"),
        (Flags::DENYOOM, "denyoom"),
        (Flags::ADMIN, "admin"),
        (Flags::PUBSUB, "pubsub"),
        (Flags::NOSCRIPT, "noscript"),
        (Flags::BLOCKING, "blocking"),
        (Flags::LOADING, "loading"),
        (Flags::STALE, "stale"),
        (Flags::SKIP_MONITOR, "skip_monitor"),
        (Flags::SKIP_SLOWLOG, "skip_slowlog"),
        (Flags::FAST, "fast"),
        (Flags::NO_AUTH, "no_auth"),
        (Flags::MAY_REPLICATE, "may_replicate"),
        (Flags::NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (Flags::NO_ASYNC_LOADING, "no_async_loading"),
        (Flags::NO_MULTI, "no_multi"),
        (Flags::MOVABLEKEYS, "movablekeys"),
        (Flags::ALLOW_BUSY, "allow_busy"),
    ];

    /// Union of two flag sets.
    pub const fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Flag names for COMMAND INFO.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Flags::NAMES
            .iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, name)| *name)
    }
}

/// How a command uses one of its keys, as COMMAND GETKEYSANDFLAGS and COMMAND INFO name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFlags(u16);

impl KeyFlags {
    pub const NONE: KeyFlags = KeyFlags(0);
    /// Reads the value.
    pub const RO: KeyFlags = KeyFlags(1);
    /// Reads and modifies the value.
    pub const RW: KeyFlags = KeyFlags(1 << 1);
    /// Overwrites the value without reading it.
    pub const OW: KeyFlags = KeyFlags(1 << 2);
    /// Deletes the key.
    pub const RM: KeyFlags = KeyFlags(1 << 3);
    /// Returns, copies or uses the user data of the value.
    pub const ACCESS: KeyFlags = KeyFlags(1 << 4);
    /// Updates data in the value (or sets a new value).
    pub const UPDATE: KeyFlags = KeyFlags(1 << 5);
    /// Only adds data to the value.
    pub const INSERT: KeyFlags = KeyFlags(1 << 6);
    /// Only removes data from the value.
    pub const DELETE: KeyFlags = KeyFlags(1 << 7);
    /// A name in the key namespace that is not a key (a shard channel).
    pub const NOT_KEY: KeyFlags = KeyFlags(1 << 8);
    /// The spec may miss keys: the command's own key finder decides.
    pub const INCOMPLETE: KeyFlags = KeyFlags(1 << 9);
    /// The flags depend on the arguments: the command's own key finder decides.
    pub const VARIABLE_FLAGS: KeyFlags = KeyFlags(1 << 10);

    const NAMES: &'static [(KeyFlags, &'static str)] = &[
        (KeyFlags::RO, "RO"),
        (KeyFlags::RW, "RW"),
        (KeyFlags::OW, "OW"),
        (KeyFlags::RM, "RM"),
        (KeyFlags::ACCESS, "access"),
        (KeyFlags::UPDATE, "update"),
        (KeyFlags::INSERT, "insert"),
        (KeyFlags::DELETE, "delete"),
        (KeyFlags::NOT_KEY, "not_key"),
        (KeyFlags::INCOMPLETE, "incomplete"),
        (KeyFlags::VARIABLE_FLAGS, "variable_flags"),
    ];

    /// Union of two flag sets.
    pub const fn with(self, other: KeyFlags) -> KeyFlags {
        KeyFlags(self.0 | other.0)
    }

    pub const fn contains(self, other: KeyFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Flag names, in the order Redis lists them.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        KeyFlags::NAMES
            .iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, name)| *name)
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
    (@flags $($flag:ident)+) => { KeyFlags::NONE$(.with(KeyFlags::$flag))+ };
    ($($flag:ident)+ : $index:literal) => {
        KeySpec::range(ks!(@flags $($flag)+), $index, 0, 1, 0)
    };
    ($($flag:ident)+ : $index:literal, range $last:literal $step:literal) => {
        KeySpec::range(ks!(@flags $($flag)+), $index, $last, $step, 0)
    };
    ($($flag:ident)+ : $index:literal, range $last:literal $step:literal limit $limit:literal) => {
        KeySpec::range(ks!(@flags $($flag)+), $index, $last, $step, $limit)
    };
    ($($flag:ident)+ : $index:literal, keynum $num:literal $first:literal $step:literal) => {
        KeySpec::keynum(ks!(@flags $($flag)+), $index, $num, $first, $step)
    };
    ($($flag:ident)+ : keyword $keyword:literal $from:literal, range $last:literal $step:literal) => {
        KeySpec::keyword(
            ks!(@flags $($flag)+),
            $keyword,
            $from,
            FindKeys::Range { last_key: $last, step: $step, limit: 0 },
        )
    };
    ($($flag:ident)+ : unknown) => {
        KeySpec::unknown(ks!(@flags $($flag)+))
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
    /// Lower-case name (`get`, or `setname` for a subcommand).
    pub name: &'static str,
    /// `get`, or `client|setname` for a subcommand: the name errors and COMMAND use.
    pub full_name: &'static str,
    pub arity: i32,
    pub flags: Flags,
    /// Legacy key positions as COMMAND INFO reports them: first, last (negative counts from
    /// the end), step; 0 = none that a fixed range can describe. Derived from `key_specs`
    /// when a row gives them.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// Where the keys are and how they are used (Redis 7 key specifications).
    pub key_specs: &'static [KeySpec],
    /// The command's own key finder, used when its specs cannot answer (as Redis's
    /// `getkeys_proc`).
    pub getkeys: Option<GetKeys>,
    /// ACL categories besides those the flags imply (`@write`, `@fast`, ...), without the `@`;
    /// `None` means the group's own category.
    pub acl: Option<&'static [&'static str]>,
    /// COMMAND DOCS group (`string`, `generic`, `tree`, ...).
    pub group: &'static str,
    /// Arguments after the name, in Redis's documentation syntax.
    pub syntax: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [CommandSpec],
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
            || (self.key_specs.is_empty() && self.first_key > 0)
    }

    /// (position in `argv`, flags) of each key, found as Redis 7.0 does: from the key specs
    /// when they are complete and their flags fixed, else by the command's own key finder, else
    /// (rows without specs) by the legacy range. Empty when the arguments do not hold the keys
    /// they should. O(arguments).
    pub fn keys_with_flags(&self, argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
        let mut keys = Vec::new();
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
                .try_for_each(|spec| spec.find_keys(argv, &mut keys));
            if found.is_ok() {
                return keys;
            }
            keys.clear();
        }
        if let Some(getkeys) = self.getkeys {
            return getkeys(argv);
        }
        if let Some(keys) = self.numkeys_fallback(argv) {
            return keys;
        }
        if self.key_specs.is_empty() && self.first_key > 0 {
            return self.legacy_keys(argv);
        }
        Vec::new()
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

    /// Keys by the legacy range alone (rows without key specs); none when the arguments end
    /// before the range does.
    fn legacy_keys(&self, argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
        let argc = argv.len() as i64;
        let first = self.first_key as i64;
        let last = if self.last_key < 0 {
            argc + self.last_key as i64
        } else {
            self.last_key as i64
        };
        let step = self.key_step.max(1) as usize;
        if last >= argc {
            return Vec::new();
        }
        (first..=last)
            .step_by(step)
            .map(|at| (at as usize, KeyFlags::NONE))
            .collect()
    }

    /// The row with its legacy key range and `movablekeys` flag derived from its key specs,
    /// as Redis derives them (rows that give a legacy range instead are left as they are).
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
            ("read", has("read") || flag(Flags::READONLY)),
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

/// C's `atoi`: optional blanks and sign, then digits up to the first non-digit; 0 if none.
fn atoi(arg: &[u8]) -> i64 {
    let text = arg.trim_ascii_start();
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        value = value.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
    }
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    // Redis keeps the result in a C int.
    value as i32 as i64
}

/// Builds a row: `cmd!(name, arity, [FLAGS], keys, group, handler, syntax, summary,
/// complexity)` and optionally, in this order, `subs = TABLE` (subcommands), `getkeys = FN`
/// (the command's own key finder, see [`GetKeys`]) and `acl = ["cat", ...]` (ACL categories
/// when they are not just the group's). `keys` is a list of key specs, `[ks!(...), ...]`
/// (`[]`: no keys), from which the legacy key range and `movablekeys` are derived; a legacy
/// `(first, last, step)` is still accepted (keys without flags).
macro_rules! cmd {
    ($name:literal, $arity:expr, [$($flag:ident),*], $keys:tt, $group:literal,
     $handler:path, $syntax:literal, $summary:literal, $complexity:literal
     $(, subs = $subs:expr)? $(, getkeys = $getkeys:path)? $(, acl = [$($acl:literal),*])?) => {
        cmd!(@row $name, $name, $arity, [$($flag),*], $keys, $group, $handler, $syntax,
             $summary, $complexity, cmd!(@subs $($subs)?), cmd!(@getkeys $($getkeys)?),
             cmd!(@acl $([$($acl),*])?))
    };
    (@row $name:expr, $full_name:expr, $arity:expr, [$($flag:ident),*], ($f:expr, $l:expr, $s:expr),
     $group:literal, $handler:path, $syntax:literal, $summary:literal, $complexity:literal,
     $subs:expr, $getkeys:expr, $acl:expr) => {
        CommandSpec {
            name: $name,
            full_name: $full_name,
            arity: $arity,
            flags: Flags::NONE$(.with(Flags::$flag))*,
            first_key: $f,
            last_key: $l,
            key_step: $s,
            key_specs: &[],
            getkeys: $getkeys,
            acl: $acl,
            group: $group,
            syntax: $syntax,
            summary: $summary,
            complexity: $complexity,
            handler: $handler,
            subcommands: $subs,
        }
    };
    (@row $name:expr, $full_name:expr, $arity:expr, [$($flag:ident),*], [$($spec:expr),* $(,)?],
     $group:literal, $handler:path, $syntax:literal, $summary:literal, $complexity:literal,
     $subs:expr, $getkeys:expr, $acl:expr) => {
        CommandSpec {
            name: $name,
            full_name: $full_name,
            arity: $arity,
            flags: Flags::NONE$(.with(Flags::$flag))*,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            key_specs: &[$($spec),*],
            getkeys: $getkeys,
            acl: $acl,
            group: $group,
            syntax: $syntax,
            summary: $summary,
            complexity: $complexity,
            handler: $handler,
            subcommands: $subs,
        }
        .with_key_specs()
    };
    (@subs) => { &[] };
    (@subs $subs:expr) => { $subs };
    (@getkeys) => { None };
    (@getkeys $getkeys:path) => { Some($getkeys) };
    (@acl) => { None };
    (@acl [$($acl:literal),*]) => { Some(&[$($acl),*]) };
}

/// Builds a subcommand row: like [`cmd!`] with the parent's name first (no `subs`).
macro_rules! sub {
    ($parent:literal, $name:literal, $arity:expr, [$($flag:ident),*], $keys:tt,
     $group:literal, $handler:path, $syntax:literal, $summary:literal, $complexity:literal
     $(, getkeys = $getkeys:path)? $(, acl = [$($acl:literal),*])? $(,)?) => {
        cmd!(@row $name, concat!($parent, "|", $name), $arity, [$($flag),*], $keys, $group,
             $handler, $syntax, $summary, $complexity, &[], cmd!(@getkeys $($getkeys)?),
             cmd!(@acl $([$($acl),*])?))
    };
}

static CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "client",
        "id",
        2,
        [NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_id,
        "",
        "Returns the unique client ID of the connection.",
        "O(1)"
    ),
    sub!(
        "client",
        "setname",
        3,
        [NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_setname,
        "connection-name",
        "Sets the connection name.",
        "O(1)"
    ),
    sub!(
        "client",
        "getname",
        2,
        [NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_getname,
        "",
        "Returns the name of the connection.",
        "O(1)"
    ),
    sub!(
        "client",
        "setinfo",
        4,
        [NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_setinfo,
        "LIB-NAME libname | LIB-VER libver",
        "Sets information specific to the client or connection.",
        "O(1)"
    ),
    sub!(
        "client",
        "list",
        -2,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_list,
        "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]",
        "Lists open connections.",
        "O(N) where N is the number of client connections"
    ),
    sub!(
        "client",
        "info",
        2,
        [NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_info,
        "",
        "Returns information about the connection.",
        "O(1)"
    ),
    sub!(
        "client",
        "kill",
        -3,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_kill,
        "ip:port | [ID client-id] [TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES|NO]",
        "Terminates open connections.",
        "O(N) where N is the number of client connections"
    ),
    sub!(
        "client",
        "pause",
        -3,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_pause,
        "timeout [WRITE|ALL]",
        "Suspends commands processing for a while: all of them, or only those that may write.",
        "O(1)"
    ),
    sub!(
        "client",
        "unpause",
        2,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_unpause,
        "",
        "Ends a pause started by CLIENT PAUSE.",
        "O(N) Where N is the number of paused clients"
    ),
    sub!(
        "client",
        "reply",
        3,
        [NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_reply,
        "ON|OFF|SKIP",
        "Chooses whether the server replies to this connection's commands.",
        "O(1)"
    ),
    sub!(
        "client",
        "no-evict",
        3,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_no_evict,
        "ON|OFF",
        "Sets whether the connection is exempt from client eviction.",
        "O(1)"
    ),
    sub!(
        "client",
        "unblock",
        -3,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_unblock,
        "client-id [TIMEOUT|ERROR]",
        "Releases a client waiting in a blocking command, as a timeout or with an error.",
        "O(log N) where N is the number of client connections"
    ),
    sub!(
        "client",
        "getredir",
        2,
        [NOSCRIPT, LOADING, STALE],
        [],
        "connection",
        server::client_getredir,
        "",
        "Returns the client id tracking notifications are redirected to (-1: none).",
        "O(1)"
    ),
    sub!(
        "client",
        "help",
        2,
        [LOADING, STALE],
        [],
        "connection",
        server::client_help,
        "",
        "Returns helpful text about the different subcommands.",
        "O(1)"
    ),
];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "pubsub",
        "channels",
        -2,
        [PUBSUB, LOADING, STALE],
        [],
        "pubsub",
        pubsub::pubsub_channels,
        "[pattern]",
        "Lists the channels that have subscribers, optionally those matching a pattern.",
        "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"
    ),
    sub!(
        "pubsub",
        "numsub",
        -2,
        [PUBSUB, LOADING, STALE],
        [],
        "pubsub",
        pubsub::pubsub_numsub,
        "[channel [channel ...]]",
        "Counts the subscribers of channels, pattern subscriptions not included.",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels"
    ),
    sub!(
        "pubsub",
        "numpat",
        2,
        [PUBSUB, LOADING, STALE],
        [],
        "pubsub",
        pubsub::pubsub_numpat,
        "",
        "Counts the distinct patterns clients are subscribed to.",
        "O(1)"
    ),
    sub!(
        "pubsub",
        "shardchannels",
        -2,
        [PUBSUB, LOADING, STALE],
        [],
        "pubsub",
        pubsub::pubsub_shardchannels,
        "[pattern]",
        "Lists the shard channels that have subscribers, optionally those matching a pattern.",
        "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."
    ),
    sub!(
        "pubsub",
        "shardnumsub",
        -2,
        [PUBSUB, LOADING, STALE],
        [],
        "pubsub",
        pubsub::pubsub_shardnumsub,
        "[shardchannel [shardchannel ...]]",
        "Counts the subscribers of shard channels.",
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"
    ),
    sub!(
        "pubsub",
        "help",
        2,
        [LOADING, STALE],
        [],
        "pubsub",
        pubsub::pubsub_help,
        "",
        "Returns helpful text about the different subcommands.",
        "O(1)",
        acl = []
    ),
];

static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "config",
        "get",
        -3,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        server::config_get,
        "parameter [parameter ...]",
        "Returns the effective values of configuration parameters.",
        "O(N) when N is the number of configuration parameters provided"
    ),
    sub!(
        "config",
        "set",
        -4,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        server::config_set,
        "parameter value [parameter value ...]",
        "Sets configuration parameters in-flight.",
        "O(N) when N is the number of configuration parameters provided"
    ),
    sub!(
        "config",
        "resetstat",
        2,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        server::config_resetstat,
        "",
        "Resets the server's statistics.",
        "O(1)"
    ),
    sub!(
        "config",
        "rewrite",
        2,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        server::config_rewrite,
        "",
        "Persists the effective configuration to file.",
        "O(1)"
    ),
    sub!(
        "config",
        "help",
        2,
        [LOADING, STALE],
        [],
        "server",
        server::config_help,
        "",
        "Returns helpful text about the different subcommands.",
        "O(1)"
    ),
];

static COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "command",
        "count",
        2,
        [LOADING, STALE],
        [],
        "server",
        server::command_count,
        "",
        "Returns a count of commands.",
        "O(1)",
        acl = ["connection"]
    ),
    sub!(
        "command",
        "info",
        -2,
        [LOADING, STALE],
        [],
        "server",
        server::command_info,
        "[command-name [command-name ...]]",
        "Returns information about one, multiple or all commands.",
        "O(N) where N is the number of commands to look up",
        acl = ["connection"]
    ),
    sub!(
        "command",
        "docs",
        -2,
        [LOADING, STALE],
        [],
        "server",
        server::command_docs,
        "[command-name [command-name ...]]",
        "Returns documentary information about one, multiple or all commands.",
        "O(N) where N is the number of commands to look up",
        acl = ["connection"]
    ),
    sub!(
        "command",
        "list",
        -2,
        [LOADING, STALE],
        [],
        "server",
        server::command_list,
        "[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]",
        "Returns a list of command names.",
        "O(N) where N is the total number of Redis commands",
        acl = ["connection"]
    ),
    sub!(
        "command",
        "getkeys",
        -4,
        [LOADING, STALE],
        [],
        "server",
        server::command_getkeys,
        "command [arg [arg ...]]",
        "Extracts the key names from an arbitrary command.",
        "O(N) where N is the number of arguments to the command",
        acl = ["connection"]
    ),
    sub!(
        "command",
        "getkeysandflags",
        -4,
        [LOADING, STALE],
        [],
        "server",
        server::command_getkeysandflags,
        "command [arg [arg ...]]",
        "Extracts the key names and their access flags from an arbitrary command.",
        "O(N) where N is the number of arguments to the command",
        acl = ["connection"]
    ),
    sub!(
        "command",
        "help",
        2,
        [LOADING, STALE],
        [],
        "server",
        server::command_help,
        "",
        "Returns helpful text about the different subcommands.",
        "O(1)",
        acl = ["connection"]
    ),
];

static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "object",
        "encoding",
        3,
        [READONLY],
        [ks!(RO: 2)],
        "generic",
        keys::object_encoding,
        "key",
        "Returns the internal encoding of a Redis object.",
        "O(1)"
    ),
    sub!(
        "object",
        "refcount",
        3,
        [READONLY],
        [ks!(RO: 2)],
        "generic",
        keys::object_refcount,
        "key",
        "Returns the reference count of a value of a key.",
        "O(1)"
    ),
    sub!(
        "object",
        "help",
        2,
        [LOADING, STALE],
        [],
        "generic",
        keys::object_help,
        "",
        "Returns helpful text about the different subcommands.",
        "O(1)"
    ),
];

/// SET's key finder (its flags depend on GET): read-write when GET is among the options,
/// else a plain overwrite.
fn set_keys(argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
    // Redis compares C strings, so an argument is read up to its first NUL.
    let is_get = |arg: &&[u8]| {
        let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
        arg[..end].eq_ignore_ascii_case(b"get")
    };
    let flags = if argv.iter().skip(3).any(is_get) {
        KeyFlags::RW.with(KeyFlags::ACCESS).with(KeyFlags::UPDATE)
    } else {
        KeyFlags::OW.with(KeyFlags::UPDATE)
    };
    vec![(1, flags)]
}

/// SORT's key finder: the sorted key, and the destination of the last STORE. Options are
/// skipped with Redis's counts (LIMIT 2, GET 1, BY 1); STORE's argument is not skipped, as
/// Redis does not skip it either.
fn sort_keys(argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
    let mut keys = vec![(1, KeyFlags::RO.with(KeyFlags::ACCESS))];
    let mut store = None;
    let mut at = 2;
    while at < argv.len() {
        let arg = argv[at];
        if arg.eq_ignore_ascii_case(b"limit") {
            at += 2;
        } else if arg.eq_ignore_ascii_case(b"get") || arg.eq_ignore_ascii_case(b"by") {
            at += 1;
        } else if arg.eq_ignore_ascii_case(b"store") && at + 1 < argv.len() {
            store = Some(at + 1);
        }
        at += 1;
    }
    if let Some(at) = store {
        keys.push((at, KeyFlags::OW.with(KeyFlags::UPDATE)));
    }
    keys
}

/// SORT_RO's key finder: only the sorted key (its BY and GET keys cannot be known).
fn sort_ro_keys(_argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
    vec![(1, KeyFlags::RO.with(KeyFlags::ACCESS))]
}

/// BITFIELD's key finder: read-only while every operation is a complete GET or OVERFLOW,
/// else read-write (SET, INCRBY, or anything malformed), as Redis decides it.
fn bitfield_keys(argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
    let mut read_only = true;
    let mut at = 2;
    while at < argv.len() {
        let remaining = argv.len() - at - 1;
        let op = argv[at];
        if op.eq_ignore_ascii_case(b"get") && remaining >= 2 {
            at += 3;
        } else if op.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
            at += 2;
        } else {
            // SET and INCRBY write; anything else is a syntax error, taken as a write.
            read_only = false;
            break;
        }
    }
    let flags = if read_only {
        KeyFlags::RO.with(KeyFlags::ACCESS)
    } else {
        KeyFlags::RW.with(KeyFlags::ACCESS).with(KeyFlags::UPDATE)
    };
    vec![(1, flags)]
}
static SLOWLOG_SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "slowlog",
        "get",
        -2,
        [ADMIN, LOADING, STALE],
        [],
        "server",
        stats::slowlog_get,
        "[count]",
        "Returns the newest entries of the slow log (10 by default, all with -1).",
        "O(N) where N is the number of entries returned"
    ),
    sub!(
        "slowlog",
        "len",
        2,
        [ADMIN, LOADING, STALE],
        [],
        "server",
        stats::slowlog_len,
        "",
        "Returns the number of entries in the slow log.",
        "O(1)"
    ),
    sub!(
        "slowlog",
        "reset",
        2,
        [ADMIN, LOADING, STALE],
        [],
        "server",
        stats::slowlog_reset,
        "",
        "Empties the slow log.",
        "O(N) where N is the number of entries in the slowlog"
    ),
    sub!(
        "slowlog",
        "help",
        2,
        [LOADING, STALE],
        [],
        "server",
        stats::slowlog_help,
        "",
        "Returns helpful text about the different subcommands.",
        "O(1)"
    ),
];

static LATENCY_SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "latency",
        "doctor",
        2,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        stats::latency_doctor,
        "",
        "Returns a human-readable report of the latency events recorded.",
        "O(1)"
    ),
    sub!(
        "latency",
        "graph",
        3,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        stats::latency_graph,
        "event",
        "Returns a latency graph of an event.",
        "O(1)"
    ),
    sub!(
        "latency",
        "history",
        3,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        stats::latency_history,
        "event",
        "Returns the latency samples recorded for an event.",
        "O(1)"
    ),
    sub!(
        "latency",
        "latest",
        2,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        stats::latency_latest,
        "",
        "Returns the latest latency sample of every event.",
        "O(1)"
    ),
    sub!(
        "latency",
        "reset",
        -2,
        [ADMIN, NOSCRIPT, LOADING, STALE],
        [],
        "server",
        stats::latency_reset,
        "[event [event ...]]",
        "Forgets the latency samples of some events, or of all of them.",
        "O(1)"
    ),
    sub!(
        "latency",
        "help",
        2,
        [LOADING, STALE],
        [],
        "server",
        stats::latency_help,
        "",
        "Returns helpful text about the different subcommands.",
        "O(1)"
    ),
];

static MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "memory",
        "doctor",
        2,
        [],
        [],
        "server",
        server::memory_doctor,
        "",
        "Returns a report of memory problems found.",
        "O(1)"
    ),
    sub!(
        "memory",
        "malloc-stats",
        2,
        [],
        [],
        "server",
        server::memory_malloc_stats,
        "",
        "Returns the memory allocator's statistics.",
        "Depends on how much memory is allocated, could be slow"
    ),
    sub!(
        "memory",
        "purge",
        2,
        [],
        [],
        "server",
        server::memory_purge,
        "",
        "Asks the allocator to release memory.",
        "Depends on how much memory is allocated, could be slow"
    ),
    sub!(
        "memory",
        "stats",
        2,
        [],
        [],
        "server",
        server::memory_stats,
        "",
        "Returns figures about the server's memory use.",
        "O(1)"
    ),
    sub!(
        "memory",
        "usage",
        -3,
        [READONLY],
        [ks!(RO: 2)],
        "server",
        server::memory_usage,
        "key [SAMPLES count]",
        "Estimates the bytes a key and its value occupy, measuring up to count nested entries (0: all).",
        "O(N) where N is the number of samples."
    ),
    sub!(
        "memory",
        "help",
        2,
        [LOADING, STALE],
        [],
        "server",
        server::memory_help,
        "",
        "Returns helpful text about the different subcommands.",
        "O(1)"
    ),
];

/// Every command. Families are grouped; within a family, Redis's documentation order.
pub static COMMANDS: &[CommandSpec] = &[
    // connection
    cmd!("ping", -1, [FAST], [], "connection", server::ping, "[message]", "Returns the server's liveliness response.", "O(1)"),
    cmd!("echo", 2, [LOADING, STALE, FAST], [], "connection", server::echo, "message", "Returns the given string.", "O(1)"),
    cmd!("quit", -1, [NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY], [], "connection", server::quit, "", "Closes the connection.", "O(1)"),
    cmd!("select", 2, [LOADING, STALE, FAST], [], "connection", server::select, "index", "Changes the selected database.", "O(1)"),
    cmd!("hello", -1, [NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY], [], "connection", server::hello, "[protover [AUTH username password] [SETNAME clientname]]", "Handshakes with the Redis server.", "O(1)"),
    cmd!("client", -2, [], [], "connection", server::container, "subcommand [arguments]", "A container for client connection commands.", "Depends on subcommand.", subs = CLIENT_SUBCOMMANDS),
    cmd!("auth", -2, [NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY], [], "connection", server::auth, "[username] password", "Authenticates the connection (as the default user, whose password is requirepass).", "O(N) where N is the number of passwords defined for the user"),
    cmd!("reset", 1, [NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY], [], "connection", server::reset, "", "Resets the connection: leaves MULTI, pub/sub and MONITOR, and returns to RESP2, database 0, no name.", "O(1)"),
    // server
    cmd!("info", -1, [LOADING, STALE], [], "server", server::info, "[section [section ...]]", "Returns information and statistics about the server.", "O(1)", acl = ["dangerous"]),
    cmd!("config", -2, [], [], "server", server::container, "subcommand [arguments]", "A container for server configuration commands.", "Depends on subcommand.", subs = CONFIG_SUBCOMMANDS),
    cmd!("command", -1, [LOADING, STALE], [], "server", server::command, "[subcommand [arguments]]", "Returns detailed information about all commands.", "O(N) where N is the total number of Redis commands", subs = COMMAND_SUBCOMMANDS, acl = ["connection"]),
    cmd!("dbsize", 1, [READONLY, FAST], [], "server", server::dbsize, "", "Returns the number of keys in the database.", "O(1)", acl = ["keyspace"]),
    cmd!("flushdb", -1, [WRITE], [], "server", server::flushdb, "[ASYNC|SYNC]", "Removes all keys from the current database.", "O(N) where N is the number of keys in the selected database", acl = ["keyspace", "dangerous"]),
    cmd!("flushall", -1, [WRITE], [], "server", server::flushall, "[ASYNC|SYNC]", "Removes all keys from all databases.", "O(N) where N is the total number of keys in all databases", acl = ["keyspace", "dangerous"]),
    cmd!("time", 1, [LOADING, STALE, FAST], [], "server", server::time, "", "Returns the server time.", "O(1)"),
    cmd!("monitor", 1, [ADMIN, NOSCRIPT, LOADING, STALE], [], "server", server::monitor, "", "Streams every command the server runs, as it runs it.", "O(1)"),
    cmd!("shutdown", -1, [ADMIN, NOSCRIPT, LOADING, STALE, NO_MULTI, ALLOW_BUSY], [], "server", server::shutdown, "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]", "Synchronously saves the database(s) to disk and shuts down the server.", "O(N) when saving, where N is the total number of keys in all databases"),
    cmd!("swapdb", 3, [WRITE, FAST], [], "server", server::swapdb, "index1 index2", "Swaps the contents of two databases; clients stay on their database numbers.", "O(N) where N is the count of clients watching or blocking on keys from both databases.", acl = ["keyspace", "dangerous"]),
    cmd!("role", 1, [NOSCRIPT, LOADING, STALE, FAST], [], "server", server::role, "", "Returns the replication role: always a master without replicas.", "O(1)", acl = ["admin", "dangerous"]),
    cmd!("wait", 3, [NOSCRIPT], [], "generic", server::wait, "numreplicas timeout", "Returns how many replicas acknowledged this connection's writes: always 0, at once.", "O(1)", acl = ["connection"]),
    cmd!("slowlog", -2, [], [], "server", server::container, "subcommand [arguments]", "A container for slow log commands.", "Depends on subcommand.", subs = SLOWLOG_SUBCOMMANDS),
    cmd!("latency", -2, [], [], "server", server::container, "subcommand [arguments]", "A container for latency diagnostics commands.", "Depends on subcommand.", subs = LATENCY_SUBCOMMANDS),
    cmd!("memory", -2, [], [], "server", server::container, "subcommand [arguments]", "A container for memory diagnostics commands.", "Depends on subcommand.", subs = MEMORY_SUBCOMMANDS),
    // strings
    cmd!("get", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "string", strings::get, "key", "Returns the string value of a key.", "O(1)"),
    cmd!("set", -3, [WRITE, DENYOOM], [ks!(RW ACCESS UPDATE VARIABLE_FLAGS: 1).notes("RW and ACCESS due to the optional `GET` argument")], "string", strings::set, "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "O(1)", getkeys = set_keys),
    cmd!("setnx", 3, [WRITE, DENYOOM, FAST], [ks!(OW INSERT: 1)], "string", strings::setnx, "key value", "Set the string value of a key only when the key doesn't exist.", "O(1)"),
    cmd!("setex", 4, [WRITE, DENYOOM], [ks!(OW UPDATE: 1)], "string", strings::setex, "key seconds value", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "O(1)"),
    cmd!("psetex", 4, [WRITE, DENYOOM], [ks!(OW UPDATE: 1)], "string", strings::psetex, "key milliseconds value", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "O(1)"),
    cmd!("getset", 3, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "string", strings::getset, "key value", "Returns the previous string value of a key after setting it to a new value.", "O(1)"),
    cmd!("getdel", 2, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1)], "string", strings::getdel, "key", "Returns the string value of a key after deleting the key.", "O(1)"),
    cmd!("getex", -2, [WRITE, FAST], [ks!(RW ACCESS UPDATE: 1).notes("RW and UPDATE because it changes the TTL")], "string", strings::getex, "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]", "Returns the string value of a key after setting its expiration time.", "O(1)"),
    cmd!("mget", -2, [READONLY, FAST], [ks!(RO ACCESS: 1, range -1 1)], "string", strings::mget, "key [key ...]", "Atomically returns the string values of one or more keys.", "O(N) where N is the number of keys to retrieve."),
    cmd!("mset", -3, [WRITE, DENYOOM], [ks!(OW UPDATE: 1, range -1 2)], "string", strings::mset, "key value [key value ...]", "Atomically creates or modifies the string values of one or more keys.", "O(N) where N is the number of keys to set."),
    cmd!("msetnx", -3, [WRITE, DENYOOM], [ks!(OW INSERT: 1, range -1 2)], "string", strings::msetnx, "key value [key value ...]", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "O(N) where N is the number of keys to set."),
    cmd!("append", 3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "string", strings::append, "key value", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "O(1)"),
    cmd!("strlen", 2, [READONLY, FAST], [ks!(RO: 1)], "string", strings::strlen, "key", "Returns the length of a string value.", "O(1)"),
    cmd!("incr", 2, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "string", strings::incr, "key", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    cmd!("decr", 2, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "string", strings::decr, "key", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    cmd!("incrby", 3, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "string", strings::incrby, "key increment", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    cmd!("decrby", 3, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "string", strings::decrby, "key decrement", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    cmd!("incrbyfloat", 3, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "string", strings::incrbyfloat, "key increment", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    cmd!("getrange", 4, [READONLY], [ks!(RO ACCESS: 1)], "string", strings::getrange, "key start end", "Returns a substring of the string stored at a key.", "O(N) where N is the length of the returned string."),
    cmd!("setrange", 4, [WRITE, DENYOOM], [ks!(RW UPDATE: 1)], "string", strings::setrange, "key offset value", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "O(1), not counting the time taken to copy the new string in place."),
    cmd!("substr", 4, [READONLY], [ks!(RO ACCESS: 1)], "string", strings::getrange, "key start end", "Returns part of a string value, like GETRANGE (its former name).", "O(N) where N is the length of the returned string."),
    cmd!("lcs", -3, [READONLY], [ks!(RO ACCESS: 1, range 1 1)], "string", strings::lcs, "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]", "Finds the longest common subsequence of two string values, or its length, or where its runs lie.", "O(N*M) where N and M are the lengths of s1 and s2, respectively"),
    // bitmaps
    cmd!("setbit", 4, [WRITE, DENYOOM], [ks!(RW ACCESS UPDATE: 1)], "bitmap", bitmaps::setbit, "key offset value", "Sets or clears one bit of a string value, growing it with zero bytes as needed; returns the bit's previous value.", "O(1)"),
    cmd!("getbit", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "bitmap", bitmaps::getbit, "key offset", "Returns one bit of a string value (0 past its end or for a missing key).", "O(1)"),
    cmd!("bitcount", -2, [READONLY], [ks!(RO ACCESS: 1)], "bitmap", bitmaps::bitcount, "key [start end [BYTE|BIT]]", "Counts the set bits of a string value, or of a range of its bytes or bits.", "O(N)"),
    cmd!("bitpos", -3, [READONLY], [ks!(RO ACCESS: 1)], "bitmap", bitmaps::bitpos, "key bit [start [end [BYTE|BIT]]]", "Returns the position of the first set or clear bit of a string value, optionally within a range of bytes or bits.", "O(N)"),
    cmd!("bitop", -4, [WRITE, DENYOOM], [ks!(OW UPDATE: 2), ks!(RO ACCESS: 3, range -1 1)], "bitmap", bitmaps::bitop, "AND|OR|XOR|NOT destination key [key ...]", "Stores the bitwise AND, OR, XOR or NOT of string values in a key; returns the result's length.", "O(N)"),
    cmd!("bitfield", -2, [WRITE, DENYOOM], [ks!(RW ACCESS UPDATE VARIABLE_FLAGS: 1).notes("This command allows both access and modification of the key")], "bitmap", bitmaps::bitfield, "key [GET encoding offset] [OVERFLOW WRAP|SAT|FAIL] [SET encoding offset value] [INCRBY encoding offset increment]", "Reads, writes and increments integers of any width from 1 to 64 bits at any bit offset of a string value.", "O(1) for each subcommand specified", getkeys = bitfield_keys),
    cmd!("bitfield_ro", -2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "bitmap", bitmaps::bitfield_ro, "key [GET encoding offset ...]", "Reads integers at bit offsets of a string value, like BITFIELD with GET only.", "O(1) for each subcommand specified"),
    // keys
    cmd!("del", -2, [WRITE], [ks!(RM DELETE: 1, range -1 1)], "generic", keys::del, "key [key ...]", "Deletes one or more keys.", "O(N) where N is the number of keys that will be removed."),
    cmd!("unlink", -2, [WRITE, FAST], [ks!(RM DELETE: 1, range -1 1)], "generic", keys::del, "key [key ...]", "Asynchronously deletes one or more keys.", "O(1) for each key removed regardless of its size."),
    cmd!("exists", -2, [READONLY, FAST], [ks!(RO: 1, range -1 1)], "generic", keys::exists, "key [key ...]", "Determines whether one or more keys exist.", "O(N) where N is the number of keys to check."),
    cmd!("type", 2, [READONLY, FAST], [ks!(RO: 1)], "generic", keys::type_, "key", "Determines the type of value stored at a key.", "O(1)"),
    cmd!("keys", 2, [READONLY], [], "generic", keys::keys, "pattern", "Returns all key names that match a pattern.", "O(N) with N being the number of keys in the database", acl = ["keyspace", "dangerous"]),
    cmd!("scan", -2, [READONLY], [], "generic", keys::scan, "cursor [MATCH pattern] [COUNT count] [TYPE type]", "Iterates over the key names in the database.", "O(1) for every call. O(N) for a complete iteration."),
    cmd!("rename", 3, [WRITE], [ks!(RW ACCESS DELETE: 1), ks!(OW UPDATE: 2)], "generic", keys::rename, "key newkey", "Renames a key and overwrites the destination.", "O(1)"),
    cmd!("renamenx", 3, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1), ks!(OW INSERT: 2)], "generic", keys::renamenx, "key newkey", "Renames a key only when the target key name doesn't exist.", "O(1)"),
    cmd!("copy", -3, [WRITE, DENYOOM], [ks!(RO ACCESS: 1), ks!(OW UPDATE: 2)], "generic", keys::copy, "source destination [DB destination-db] [REPLACE]", "Copies the value of a key to a new key.", "O(N) worst case for collections, where N is the number of nested items."),
    cmd!("move", 3, [WRITE, FAST], [ks!(RW ACCESS UPDATE: 1)], "generic", keys::move_, "key db", "Moves a key to another database.", "O(1)"),
    cmd!("expire", -3, [WRITE, FAST], [ks!(RW UPDATE: 1)], "generic", keys::expire, "key seconds [NX|XX|GT|LT]", "Sets the expiration time of a key in seconds.", "O(1)"),
    cmd!("pexpire", -3, [WRITE, FAST], [ks!(RW UPDATE: 1)], "generic", keys::pexpire, "key milliseconds [NX|XX|GT|LT]", "Sets the expiration time of a key in milliseconds.", "O(1)"),
    cmd!("expireat", -3, [WRITE, FAST], [ks!(RW UPDATE: 1)], "generic", keys::expireat, "key unix-time-seconds [NX|XX|GT|LT]", "Sets the expiration time of a key to a Unix timestamp.", "O(1)"),
    cmd!("pexpireat", -3, [WRITE, FAST], [ks!(RW UPDATE: 1)], "generic", keys::pexpireat, "key unix-time-milliseconds [NX|XX|GT|LT]", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "O(1)"),
    cmd!("ttl", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "generic", keys::ttl, "key", "Returns the expiration time in seconds of a key.", "O(1)"),
    cmd!("pttl", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "generic", keys::pttl, "key", "Returns the expiration time in milliseconds of a key.", "O(1)"),
    cmd!("expiretime", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "generic", keys::expiretime, "key", "Returns the expiration time of a key as a Unix timestamp.", "O(1)"),
    cmd!("pexpiretime", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "generic", keys::pexpiretime, "key", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "O(1)"),
    cmd!("persist", 2, [WRITE, FAST], [ks!(RW UPDATE: 1)], "generic", keys::persist, "key", "Removes the expiration time of a key.", "O(1)"),
    cmd!("randomkey", 1, [READONLY], [], "generic", keys::randomkey, "", "Returns a random key name from the database.", "O(1)"),
    cmd!("touch", -2, [READONLY, FAST], [ks!(RO: 1, range -1 1)], "generic", keys::touch, "key [key ...]", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "O(N) where N is the number of keys that will be touched."),
    cmd!("object", -2, [], [], "generic", server::container, "subcommand [arguments]", "A container for object introspection commands.", "Depends on subcommand.", subs = OBJECT_SUBCOMMANDS),
    cmd!("sort", -2, [WRITE, DENYOOM], [ks!(RO ACCESS: 1), ks!(RO ACCESS: unknown).notes("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"), ks!(OW UPDATE: unknown).notes("For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array")], "generic", sort::sort, "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA] [STORE destination]", "Returns the elements of a list, set or sorted set in order, by themselves or by the values of other keys; STORE saves them in a list.", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", getkeys = sort_keys, acl = ["set", "sortedset", "list", "dangerous"]),
    cmd!("sort_ro", -2, [READONLY], [ks!(RO ACCESS: 1), ks!(RO ACCESS: unknown).notes("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort")], "generic", sort::sort_ro, "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA]", "Like SORT without STORE, for read-only replicas and scripts.", "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", getkeys = sort_ro_keys, acl = ["set", "sortedset", "list", "dangerous"]),
    cmd!("lpush", -3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "list", lists::lpush, "key element [element ...]", "Adds elements at the head of a list, creating the list if needed.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    cmd!("rpush", -3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "list", lists::rpush, "key element [element ...]", "Adds elements at the tail of a list, creating the list if needed.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    cmd!("lpushx", -3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "list", lists::lpushx, "key element [element ...]", "Adds elements at the head of a list only when the list exists.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    cmd!("rpushx", -3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "list", lists::rpushx, "key element [element ...]", "Adds elements at the tail of a list only when the list exists.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    cmd!("lpop", -2, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1)], "list", lists::lpop, "key [count]", "Removes and returns the first elements of a list; the key goes when the list empties.", "O(N) where N is the number of elements returned"),
    cmd!("rpop", -2, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1)], "list", lists::rpop, "key [count]", "Removes and returns the last elements of a list; the key goes when the list empties.", "O(N) where N is the number of elements returned"),
    cmd!("llen", 2, [READONLY, FAST], [ks!(RO: 1)], "list", lists::llen, "key", "Returns the number of elements in a list.", "O(1)"),
    cmd!("lrange", 4, [READONLY], [ks!(RO ACCESS: 1)], "list", lists::lrange, "key start stop", "Returns the elements of a list between two indexes, inclusive.", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
    cmd!("lindex", 3, [READONLY], [ks!(RO ACCESS: 1)], "list", lists::lindex, "key index", "Returns the element at an index of a list (negative indexes count from the tail).", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."),
    cmd!("lset", 4, [WRITE, DENYOOM], [ks!(RW UPDATE: 1)], "list", lists::lset, "key index element", "Replaces the element at an index of a list.", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."),
    cmd!("linsert", 5, [WRITE, DENYOOM], [ks!(RW INSERT: 1)], "list", lists::linsert, "key BEFORE|AFTER pivot element", "Inserts an element before or after the first occurrence of another element in a list.", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."),
    cmd!("lrem", 4, [WRITE], [ks!(RW DELETE: 1)], "list", lists::lrem, "key count element", "Removes occurrences of an element from a list, from the head or the tail.", "O(N+M) where N is the length of the list and M is the number of elements removed."),
    cmd!("ltrim", 4, [WRITE], [ks!(RW DELETE: 1)], "list", lists::ltrim, "key start stop", "Keeps only the elements of a list between two indexes, removing the rest.", "O(N) where N is the number of elements to be removed by the operation."),
    cmd!("lpos", -3, [READONLY], [ks!(RO ACCESS: 1)], "list", lists::lpos, "key element [RANK rank] [COUNT num-matches] [MAXLEN len]", "Returns the indexes of the elements of a list equal to a given one.", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."),
    cmd!("lmove", 5, [WRITE, DENYOOM], [ks!(RW ACCESS DELETE: 1), ks!(RW INSERT: 2)], "list", lists::lmove, "source destination LEFT|RIGHT LEFT|RIGHT", "Pops an element from one end of a list and pushes it onto an end of another (or the same) list, returning it.", "O(1)"),
    cmd!("rpoplpush", 3, [WRITE, DENYOOM], [ks!(RW ACCESS DELETE: 1), ks!(RW INSERT: 2)], "list", lists::rpoplpush, "source destination", "Pops the last element of a list and pushes it at the head of another (or the same) list, returning it.", "O(1)"),
    cmd!("lmpop", -4, [WRITE], [ks!(RW ACCESS DELETE: 1, keynum 0 1 1)], "list", lists::lmpop, "numkeys key [key ...] LEFT|RIGHT [COUNT count]", "Pops elements from the first non-empty list among several keys.", "O(N+M) where N is the number of provided keys and M is the number of elements returned."),
    cmd!("blpop", -3, [WRITE, NOSCRIPT, BLOCKING], [ks!(RW ACCESS DELETE: 1, range -2 1)], "list", lists::blpop, "key [key ...] timeout", "Pops the first element of the first non-empty list among several keys, waiting for one when all are empty.", "O(N) where N is the number of provided keys."),
    cmd!("brpop", -3, [WRITE, NOSCRIPT, BLOCKING], [ks!(RW ACCESS DELETE: 1, range -2 1)], "list", lists::brpop, "key [key ...] timeout", "Pops the last element of the first non-empty list among several keys, waiting for one when all are empty.", "O(N) where N is the number of provided keys."),
    cmd!("blmove", 6, [WRITE, DENYOOM, NOSCRIPT, BLOCKING], [ks!(RW ACCESS DELETE: 1), ks!(RW INSERT: 2)], "list", lists::blmove, "source destination LEFT|RIGHT LEFT|RIGHT timeout", "Moves an element from one list to another like LMOVE, waiting for the source to receive one when it is empty.", "O(1)"),
    cmd!("brpoplpush", 4, [WRITE, DENYOOM, NOSCRIPT, BLOCKING], [ks!(RW ACCESS DELETE: 1), ks!(RW INSERT: 2)], "list", lists::brpoplpush, "source destination timeout", "Moves the last element of a list to the head of another like RPOPLPUSH, waiting for the source to receive one when it is empty.", "O(1)"),
    cmd!("blmpop", -5, [WRITE, BLOCKING], [ks!(RW ACCESS DELETE: 2, keynum 0 1 1)], "list", lists::blmpop, "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]", "Pops elements from the first non-empty list among several keys like LMPOP, waiting for one when all are empty.", "O(N+M) where N is the number of provided keys and M is the number of elements returned."),
    // lists (rows above this line)

    cmd!("hset", -4, [WRITE, DENYOOM, FAST], [ks!(RW UPDATE: 1)], "hash", hashes::hset, "key field value [field value ...]", "Sets one or more fields of a hash, creating the hash if needed.", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs."),
    cmd!("hsetnx", 4, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "hash", hashes::hsetnx, "key field value", "Sets a hash field only when it does not exist yet.", "O(1)"),
    cmd!("hget", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "hash", hashes::hget, "key field", "Returns the value of one hash field.", "O(1)"),
    cmd!("hmget", -3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "hash", hashes::hmget, "key field [field ...]", "Returns the values of several hash fields, nil for missing ones.", "O(N) where N is the number of fields being requested."),
    cmd!("hmset", -4, [WRITE, DENYOOM, FAST], [ks!(RW UPDATE: 1)], "hash", hashes::hmset, "key field value [field value ...]", "Sets several hash fields and replies OK (superseded by HSET).", "O(N) where N is the number of fields being set."),
    cmd!("hdel", -3, [WRITE, FAST], [ks!(RW DELETE: 1)], "hash", hashes::hdel, "key field [field ...]", "Removes fields from a hash; the hash goes when its last field does.", "O(N) where N is the number of fields to be removed."),
    cmd!("hexists", 3, [READONLY, FAST], [ks!(RO: 1)], "hash", hashes::hexists, "key field", "Tells whether a hash has a field.", "O(1)"),
    cmd!("hlen", 2, [READONLY, FAST], [ks!(RO: 1)], "hash", hashes::hlen, "key", "Returns how many fields a hash has.", "O(1)"),
    cmd!("hkeys", 2, [READONLY], [ks!(RO ACCESS: 1)], "hash", hashes::hkeys, "key", "Returns every field of a hash.", "O(N) where N is the size of the hash."),
    cmd!("hvals", 2, [READONLY], [ks!(RO ACCESS: 1)], "hash", hashes::hvals, "key", "Returns every value of a hash.", "O(N) where N is the size of the hash."),
    cmd!("hgetall", 2, [READONLY], [ks!(RO ACCESS: 1)], "hash", hashes::hgetall, "key", "Returns every field and value of a hash.", "O(N) where N is the size of the hash."),
    cmd!("hincrby", 4, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "hash", hashes::hincrby, "key field increment", "Adds an integer to a hash field's integer value, starting from 0.", "O(1)"),
    cmd!("hincrbyfloat", 4, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "hash", hashes::hincrbyfloat, "key field increment", "Adds a floating point number to a hash field's number, starting from 0.", "O(1)"),
    cmd!("hstrlen", 3, [READONLY, FAST], [ks!(RO: 1)], "hash", hashes::hstrlen, "key field", "Returns the length in bytes of a hash field's value.", "O(1)"),
    cmd!("hrandfield", -2, [READONLY], [ks!(RO ACCESS: 1)], "hash", hashes::hrandfield, "key [count [WITHVALUES]]", "Returns random fields of a hash, optionally with their values.", "O(N) where N is the number of fields returned"),
    cmd!("hscan", -3, [READONLY], [ks!(RO ACCESS: 1)], "hash", hashes::hscan, "key cursor [MATCH pattern] [COUNT count]", "Iterates over the fields and values of a hash with a cursor.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    // hashes (rows above this line)

    cmd!("sadd", -3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "set", sets::sadd, "key member [member ...]", "Adds members to a set, creating the set if needed.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    cmd!("srem", -3, [WRITE, FAST], [ks!(RW DELETE: 1)], "set", sets::srem, "key member [member ...]", "Removes members from a set; the set goes when its last member does.", "O(N) where N is the number of members to be removed."),
    cmd!("smembers", 2, [READONLY], [ks!(RO ACCESS: 1)], "set", sets::smembers, "key", "Returns every member of a set.", "O(N) where N is the set cardinality."),
    cmd!("sismember", 3, [READONLY, FAST], [ks!(RO: 1)], "set", sets::sismember, "key member", "Tells whether a value is a member of a set.", "O(1)"),
    cmd!("smismember", -3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "set", sets::smismember, "key member [member ...]", "Tells, for each of several values, whether it is a member of a set.", "O(N) where N is the number of elements being checked for membership"),
    cmd!("scard", 2, [READONLY, FAST], [ks!(RO: 1)], "set", sets::scard, "key", "Returns how many members a set has.", "O(1)"),
    cmd!("spop", -2, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1)], "set", sets::spop, "key [count]", "Removes and returns random members of a set.", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count."),
    cmd!("srandmember", -2, [READONLY], [ks!(RO ACCESS: 1)], "set", sets::srandmember, "key [count]", "Returns random members of a set without removing them.", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."),
    cmd!("smove", 4, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1), ks!(RW INSERT: 2)], "set", sets::smove, "source destination member", "Moves a member from one set to another.", "O(1)"),
    cmd!("sinter", -2, [READONLY], [ks!(RO ACCESS: 1, range -1 1)], "set", sets::sinter, "key [key ...]", "Returns the members common to several sets.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    cmd!("sintercard", -3, [READONLY], [ks!(RO ACCESS: 1, keynum 0 1 1)], "set", sets::sintercard, "numkeys key [key ...] [LIMIT limit]", "Counts the members common to several sets, optionally stopping at a limit.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    cmd!("sunion", -2, [READONLY], [ks!(RO ACCESS: 1, range -1 1)], "set", sets::sunion, "key [key ...]", "Returns the members of any of several sets.", "O(N) where N is the total number of elements in all given sets."),
    cmd!("sdiff", -2, [READONLY], [ks!(RO ACCESS: 1, range -1 1)], "set", sets::sdiff, "key [key ...]", "Returns the members of the first set that no other set has.", "O(N) where N is the total number of elements in all given sets."),
    cmd!("sinterstore", -3, [WRITE, DENYOOM], [ks!(RW UPDATE: 1), ks!(RO ACCESS: 2, range -1 1)], "set", sets::sinterstore, "destination key [key ...]", "Stores the intersection of several sets in a key, replacing it.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    cmd!("sunionstore", -3, [WRITE, DENYOOM], [ks!(OW UPDATE: 1), ks!(RO ACCESS: 2, range -1 1)], "set", sets::sunionstore, "destination key [key ...]", "Stores the union of several sets in a key, replacing it.", "O(N) where N is the total number of elements in all given sets."),
    cmd!("sdiffstore", -3, [WRITE, DENYOOM], [ks!(OW UPDATE: 1), ks!(RO ACCESS: 2, range -1 1)], "set", sets::sdiffstore, "destination key [key ...]", "Stores the difference of several sets in a key, replacing it.", "O(N) where N is the total number of elements in all given sets."),
    cmd!("sscan", -3, [READONLY], [ks!(RO ACCESS: 1)], "set", sets::sscan, "key cursor [MATCH pattern] [COUNT count]", "Iterates over the members of a set with a cursor.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    // sets (rows above this line)

    cmd!("zadd", -4, [WRITE, DENYOOM, FAST], [ks!(RW UPDATE: 1)], "sorted-set", zsets::zadd, "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]", "Adds members with scores to a sorted set, or updates the scores of existing ones; creates the key if needed.", "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    cmd!("zincrby", 4, [WRITE, DENYOOM, FAST], [ks!(RW ACCESS UPDATE: 1)], "sorted-set", zsets::zincrby, "key increment member", "Adds a number to the score of a member (a new member starts from 0).", "O(log(N)) where N is the number of elements in the sorted set."),
    cmd!("zrem", -3, [WRITE, FAST], [ks!(RW DELETE: 1)], "sorted-set", zsets::zrem, "key member [member ...]", "Removes members from a sorted set; the key goes when the last member does.", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
    cmd!("zcard", 2, [READONLY, FAST], [ks!(RO: 1)], "sorted-set", zsets::zcard, "key", "Returns how many members a sorted set has.", "O(1)"),
    cmd!("zscore", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zscore, "key member", "Returns the score of a member of a sorted set.", "O(1)"),
    cmd!("zmscore", -3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zmscore, "key member [member ...]", "Returns the scores of several members of a sorted set.", "O(N) where N is the number of members being requested."),
    cmd!("zrank", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrank, "key member", "Returns the position of a member in a sorted set, lowest score first.", "O(log(N))"),
    cmd!("zrevrank", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrevrank, "key member", "Returns the position of a member in a sorted set, highest score first.", "O(log(N))"),
    cmd!("zrange", -4, [READONLY], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrange, "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]", "Returns members of a sorted set selected by position, score or lexicographic range.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    cmd!("zrangestore", -5, [WRITE, DENYOOM], [ks!(OW UPDATE: 1), ks!(RO ACCESS: 2)], "sorted-set", zsets::zrangestore, "dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]", "Stores a range of a sorted set in another key.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
    cmd!("zrevrange", -4, [READONLY], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrevrange, "key start stop [WITHSCORES]", "Returns members of a sorted set by position, highest score first.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    cmd!("zrangebyscore", -4, [READONLY], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrangebyscore, "key min max [WITHSCORES] [LIMIT offset count]", "Returns members of a sorted set whose scores are in a range.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    cmd!("zrevrangebyscore", -4, [READONLY], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrevrangebyscore, "key max min [WITHSCORES] [LIMIT offset count]", "Returns members of a sorted set whose scores are in a range, highest first.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    cmd!("zrangebylex", -4, [READONLY], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrangebylex, "key min max [LIMIT offset count]", "Returns members of a sorted set in a lexicographic range.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    cmd!("zrevrangebylex", -4, [READONLY], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrevrangebylex, "key max min [LIMIT offset count]", "Returns members of a sorted set in a lexicographic range, in reverse order.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    cmd!("zcount", 4, [READONLY, FAST], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zcount, "key min max", "Counts the members of a sorted set whose scores are in a range.", "O(log(N)) with N being the number of elements in the sorted set."),
    cmd!("zlexcount", 4, [READONLY, FAST], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zlexcount, "key min max", "Counts the members of a sorted set in a lexicographic range.", "O(log(N)) with N being the number of elements in the sorted set."),
    cmd!("zpopmin", -2, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1)], "sorted-set", zsets::zpopmin, "key [count]", "Removes and returns the members with the lowest scores.", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    cmd!("zpopmax", -2, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1)], "sorted-set", zsets::zpopmax, "key [count]", "Removes and returns the members with the highest scores.", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    cmd!("bzpopmin", -3, [WRITE, NOSCRIPT, BLOCKING, FAST], [ks!(RW ACCESS DELETE: 1, range -2 1)], "sorted-set", zsets::bzpopmin, "key [key ...] timeout", "Removes and returns the lowest-scored member of the first non-empty sorted set, waiting for one if there is none.", "O(log(N)) with N being the number of elements in the sorted set."),
    cmd!("bzpopmax", -3, [WRITE, NOSCRIPT, BLOCKING, FAST], [ks!(RW ACCESS DELETE: 1, range -2 1)], "sorted-set", zsets::bzpopmax, "key [key ...] timeout", "Removes and returns the highest-scored member of the first non-empty sorted set, waiting for one if there is none.", "O(log(N)) with N being the number of elements in the sorted set."),
    cmd!("zmpop", -4, [WRITE], [ks!(RW ACCESS DELETE: 1, keynum 0 1 1)], "sorted-set", zsets::zmpop, "numkeys key [key ...] MIN|MAX [COUNT count]", "Removes and returns up to count members with the lowest or highest scores from the first non-empty sorted set.", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    cmd!("bzmpop", -5, [WRITE, BLOCKING], [ks!(RW ACCESS DELETE: 2, keynum 0 1 1)], "sorted-set", zsets::bzmpop, "timeout numkeys key [key ...] MIN|MAX [COUNT count]", "Like ZMPOP, waiting for a member when every sorted set is empty or missing.", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    cmd!("zremrangebyrank", 4, [WRITE], [ks!(RW DELETE: 1)], "sorted-set", zsets::zremrangebyrank, "key start stop", "Removes the members of a sorted set in a range of positions.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    cmd!("zremrangebyscore", 4, [WRITE], [ks!(RW DELETE: 1)], "sorted-set", zsets::zremrangebyscore, "key min max", "Removes the members of a sorted set whose scores are in a range.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    cmd!("zremrangebylex", 4, [WRITE], [ks!(RW DELETE: 1)], "sorted-set", zsets::zremrangebylex, "key min max", "Removes the members of a sorted set in a lexicographic range.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    cmd!("zunionstore", -4, [WRITE, DENYOOM], [ks!(OW UPDATE: 1), ks!(RO ACCESS: 2, keynum 0 1 1)], "sorted-set", zsets::zunionstore, "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]", "Stores the union of sorted sets (or sets) in a key.", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    cmd!("zinterstore", -4, [WRITE, DENYOOM], [ks!(OW UPDATE: 1), ks!(RO ACCESS: 2, keynum 0 1 1)], "sorted-set", zsets::zinterstore, "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]", "Stores the intersection of sorted sets (or sets) in a key.", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    cmd!("zdiffstore", -4, [WRITE, DENYOOM], [ks!(OW UPDATE: 1), ks!(RO ACCESS: 2, keynum 0 1 1)], "sorted-set", zsets::zdiffstore, "destination numkeys key [key ...]", "Stores the members of the first sorted set that are in none of the others.", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    cmd!("zunion", -3, [READONLY], [ks!(RO ACCESS: 1, keynum 0 1 1)], "sorted-set", zsets::zunion, "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]", "Returns the union of sorted sets (or sets).", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    cmd!("zinter", -3, [READONLY], [ks!(RO ACCESS: 1, keynum 0 1 1)], "sorted-set", zsets::zinter, "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]", "Returns the intersection of sorted sets (or sets).", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    cmd!("zdiff", -3, [READONLY], [ks!(RO ACCESS: 1, keynum 0 1 1)], "sorted-set", zsets::zdiff, "numkeys key [key ...] [WITHSCORES]", "Returns the members of the first sorted set that are in none of the others.", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    cmd!("zintercard", -3, [READONLY], [ks!(RO ACCESS: 1, keynum 0 1 1)], "sorted-set", zsets::zintercard, "numkeys key [key ...] [LIMIT limit]", "Counts the members in the intersection of sorted sets (or sets), stopping at a limit if given.", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
    cmd!("zscan", -3, [READONLY], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zscan, "key cursor [MATCH pattern] [COUNT count]", "Iterates over the members and scores of a sorted set.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    cmd!("zrandmember", -2, [READONLY], [ks!(RO ACCESS: 1)], "sorted-set", zsets::zrandmember, "key [count [WITHSCORES]]", "Returns random members of a sorted set (distinct for a positive count, possibly repeated for a negative one).", "O(N) where N is the number of members returned"),
    // sorted sets (rows above this line)

    cmd!("tree.create", -2, [WRITE, DENYOOM, FAST], [ks!(OW INSERT: 1)], "tree", super::trees::create, "key [NUMERIC]", "Creates an empty tree ordered byte-wise, or by number with NUMERIC. Fails if the key exists.", "O(1)"),
    cmd!("tree.set", -4, [WRITE, DENYOOM], [ks!(RW UPDATE: 1)], "tree", super::trees::set, "key field value [field value ...]", "Sets keys of a tree to values, creating a byte-ordered tree if the key does not exist.", "O(M log N) where M is the number of pairs and N the size of the tree."),
    cmd!("tree.get", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "tree", super::trees::get, "key field", "Returns the value of a key in a tree.", "O(log N) where N is the size of the tree."),
    cmd!("tree.del", -3, [WRITE, FAST], [ks!(RW DELETE: 1)], "tree", super::trees::del, "key field [field ...]", "Removes keys from a tree. The tree stays when it becomes empty.", "O(M log N) where M is the number of keys removed and N the size of the tree."),
    cmd!("tree.exists", 3, [READONLY, FAST], [ks!(RO: 1)], "tree", super::trees::exists, "key field", "Determines whether a key exists in a tree.", "O(log N) where N is the size of the tree."),
    cmd!("tree.len", 2, [READONLY, FAST], [ks!(RO: 1)], "tree", super::trees::len, "key", "Returns the number of entries in a tree.", "O(1)"),
    cmd!("tree.min", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "tree", super::trees::min, "key", "Returns the entry with the smallest key of a tree.", "O(log N) where N is the size of the tree."),
    cmd!("tree.max", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "tree", super::trees::max, "key", "Returns the entry with the largest key of a tree.", "O(log N) where N is the size of the tree."),
    cmd!("tree.floor", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "tree", super::trees::floor, "key field", "Returns the entry with the greatest key less than or equal to the one given.", "O(log N) where N is the size of the tree."),
    cmd!("tree.ceil", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "tree", super::trees::ceil, "key field", "Returns the entry with the least key greater than or equal to the one given.", "O(log N) where N is the size of the tree."),
    cmd!("tree.rank", -3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "tree", super::trees::rank, "key field [REV]", "Returns the 0-based position of a key in key order, or from the largest key with REV.", "O(log N) where N is the size of the tree."),
    cmd!("tree.at", 3, [READONLY, FAST], [ks!(RO ACCESS: 1)], "tree", super::trees::at, "key index", "Returns the entry at a position in key order; negative positions count from the end.", "O(log N) where N is the size of the tree."),
    cmd!("tree.range", -4, [READONLY], [ks!(RO ACCESS: 1)], "tree", super::trees::range, "key min max [LIMIT offset count] [REV]", "Returns the entries between two key bounds, ascending or with REV descending.", "O(log N + M) where N is the size of the tree and M the number of entries returned."),
    cmd!("tree.height", 2, [READONLY, FAST], [ks!(RO: 1)], "tree", super::trees::height, "key", "Returns the height of the balanced tree holding the entries.", "O(1)"),
    cmd!("tree.traverse", -3, [READONLY], [ks!(RO ACCESS: 1)], "tree", super::trees::traverse, "key INORDER|PREORDER|POSTORDER|LEVELORDER [LIMIT count]", "Returns entries in a walk of the tree's shape: in-order, pre-order, post-order or level by level.", "O(M + log N) where M is the number of entries returned and N the size of the tree."),
    // tree (rows above this line)

    cmd!("graph.create", -2, [WRITE, DENYOOM, FAST], [ks!(OW INSERT: 1)], "graph", super::graphs::create, "key [UNDIRECTED]", "Creates an empty graph, directed unless UNDIRECTED is given. Fails if the key exists.", "O(1)"),
    cmd!("graph.addnode", -3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "graph", super::graphs::addnode, "key node [node ...]", "Adds nodes to a graph, creating a directed graph if the key does not exist.", "O(N) where N is the number of nodes given."),
    cmd!("graph.delnode", -3, [WRITE], [ks!(RW DELETE: 1)], "graph", super::graphs::delnode, "key node [node ...]", "Removes nodes and every edge touching them from a graph.", "O(D) where D is the total degree of the removed nodes."),
    cmd!("graph.addedge", -4, [WRITE, DENYOOM, FAST], [ks!(RW UPDATE: 1)], "graph", super::graphs::addedge, "key from to [WEIGHT weight]", "Adds an edge or updates its weight, creating missing nodes and, if the key does not exist, a directed graph.", "O(1)"),
    cmd!("graph.deledge", 4, [WRITE, FAST], [ks!(RW DELETE: 1)], "graph", super::graphs::deledge, "key from to", "Removes an edge from a graph; its nodes stay.", "O(1)"),
    cmd!("graph.hasedge", 4, [READONLY, FAST], [ks!(RO: 1)], "graph", super::graphs::hasedge, "key from to", "Determines whether an edge exists in a graph.", "O(1)"),
    cmd!("graph.neighbors", -3, [READONLY], [ks!(RO ACCESS: 1)], "graph", super::graphs::neighbors, "key node [OUT|IN|BOTH] [WITHWEIGHTS]", "Returns the neighbours of a node sorted by name, optionally with the edge weights.", "O(D log D) where D is the degree of the node."),
    cmd!("graph.degree", -3, [READONLY, FAST], [ks!(RO: 1)], "graph", super::graphs::degree, "key node [OUT|IN|BOTH]", "Returns the number of edges leaving, entering or touching a node.", "O(1)"),
    cmd!("graph.nodes", 2, [READONLY], [ks!(RO ACCESS: 1)], "graph", super::graphs::nodes, "key", "Returns every node of a graph, sorted by name.", "O(V log V) where V is the number of nodes."),
    cmd!("graph.edges", 2, [READONLY], [ks!(RO ACCESS: 1)], "graph", super::graphs::edges, "key", "Returns every edge of a graph with its weight, sorted by endpoints.", "O(E log E) where E is the number of edges."),
    cmd!("graph.bfs", -3, [READONLY], [ks!(RO ACCESS: 1)], "graph", super::graphs::bfs, "key node [MAXDEPTH depth] [WITHDEPTH]", "Returns the nodes reachable from a node in breadth-first order, optionally with their depth.", "O(V + E log D) where V and E are the nodes and edges visited and D the largest degree."),
    cmd!("graph.dfs", 3, [READONLY], [ks!(RO ACCESS: 1)], "graph", super::graphs::dfs, "key node", "Returns the nodes reachable from a node in depth-first pre-order.", "O(V + E log D) where V and E are the nodes and edges visited and D the largest degree."),
    cmd!("graph.shortestpath", 4, [READONLY], [ks!(RO ACCESS: 1)], "graph", super::graphs::shortestpath, "key from to", "Returns the cheapest path between two nodes and its cost, or null when there is none.", "O((V + E) log V) where V and E are the nodes and edges of the graph."),
    cmd!("graph.components", 2, [READONLY], [ks!(RO ACCESS: 1)], "graph", super::graphs::components, "key", "Returns the connected components of a graph (weakly connected when directed).", "O(V log V + E) where V and E are the nodes and edges of the graph."),
    cmd!("graph.toposort", 2, [READONLY], [ks!(RO ACCESS: 1)], "graph", super::graphs::toposort, "key", "Returns the nodes of a directed graph in topological order, smallest name first among the nodes ready.", "O((V + E) log V) where V and E are the nodes and edges of the graph."),
    // graph (rows above this line)

    cmd!("queue.push", -3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "queue", super::piles::push::<Fifo>, "key element [element ...]", "Appends elements at the tail of a queue, creating it if the key does not exist.", "O(1) for each element added, so O(N) to add N elements."),
    cmd!("queue.pop", -2, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1)], "queue", super::piles::pop::<Fifo>, "key [count]", "Removes and returns elements from the head of a queue, oldest first. Deletes the queue when it becomes empty.", "O(N) where N is the number of elements returned."),
    cmd!("queue.peek", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "queue", super::piles::peek::<Fifo>, "key", "Returns the element at the head of a queue without removing it.", "O(1)"),
    cmd!("queue.len", 2, [READONLY, FAST], [ks!(RO: 1)], "queue", super::piles::len::<Fifo>, "key", "Returns the number of elements in a queue.", "O(1)"),
    cmd!("queue.bpop", -3, [WRITE, BLOCKING], [ks!(RW ACCESS DELETE: 1, range -2 1)], "queue", super::queues::bpop, "key [key ...] timeout", "Removes and returns the head of the first non-empty queue, or blocks until one is available or the timeout passes.", "O(N) where N is the number of keys."),
    // queue (rows above this line)

    cmd!("stack.push", -3, [WRITE, DENYOOM, FAST], [ks!(RW INSERT: 1)], "stack", super::piles::push::<Lifo>, "key element [element ...]", "Pushes elements on top of a stack, creating it if the key does not exist.", "O(1) for each element added, so O(N) to add N elements."),
    cmd!("stack.pop", -2, [WRITE, FAST], [ks!(RW ACCESS DELETE: 1)], "stack", super::piles::pop::<Lifo>, "key [count]", "Removes and returns elements from the top of a stack, top first. Deletes the stack when it becomes empty.", "O(N) where N is the number of elements returned."),
    cmd!("stack.peek", 2, [READONLY, FAST], [ks!(RO ACCESS: 1)], "stack", super::piles::peek::<Lifo>, "key", "Returns the element on top of a stack without removing it.", "O(1)"),
    cmd!("stack.len", 2, [READONLY, FAST], [ks!(RO: 1)], "stack", super::piles::len::<Lifo>, "key", "Returns the number of elements in a stack.", "O(1)"),
    // stack (rows above this line)

    cmd!("subscribe", -2, [PUBSUB, NOSCRIPT, LOADING, STALE], [], "pubsub", pubsub::subscribe, "channel [channel ...]", "Listens for messages published to the given channels.", "O(N) where N is the number of channels to subscribe to."),
    cmd!("unsubscribe", -1, [PUBSUB, NOSCRIPT, LOADING, STALE], [], "pubsub", pubsub::unsubscribe, "[channel [channel ...]]", "Stops listening to messages posted to channels (all of them when none is given).", "O(N) where N is the number of clients already subscribed to a channel."),
    cmd!("psubscribe", -2, [PUBSUB, NOSCRIPT, LOADING, STALE], [], "pubsub", pubsub::psubscribe, "pattern [pattern ...]", "Listens for messages published to channels whose names match glob patterns.", "O(N) where N is the number of patterns to subscribe to."),
    cmd!("punsubscribe", -1, [PUBSUB, NOSCRIPT, LOADING, STALE], [], "pubsub", pubsub::punsubscribe, "[pattern [pattern ...]]", "Stops listening to messages published to channels matching patterns (all of them when none is given).", "O(N) where N is the number of patterns to unsubscribe."),
    cmd!("publish", 3, [PUBSUB, LOADING, STALE, FAST], [], "pubsub", pubsub::publish_cmd, "channel message", "Posts a message to a channel; replies with the number of receivers.", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
    cmd!("pubsub", -2, [], [], "pubsub", server::container, "subcommand [arguments]", "A container for Pub/Sub introspection commands.", "Depends on subcommand.", subs = PUBSUB_SUBCOMMANDS),
    cmd!("ssubscribe", -2, [PUBSUB, NOSCRIPT, LOADING, STALE], [ks!(NOT_KEY: 1, range -1 1)], "pubsub", pubsub::ssubscribe, "shardchannel [shardchannel ...]", "Listens for messages published to shard channels.", "O(N) where N is the number of shard channels to subscribe to."),
    cmd!("sunsubscribe", -1, [PUBSUB, NOSCRIPT, LOADING, STALE], [ks!(NOT_KEY: 1, range -1 1)], "pubsub", pubsub::sunsubscribe, "[shardchannel [shardchannel ...]]", "Stops listening to shard channels (all of them when none is given).", "O(N) where N is the number of clients already subscribed to a shard channel."),
    cmd!("spublish", 3, [PUBSUB, LOADING, STALE, FAST], [ks!(NOT_KEY: 1)], "pubsub", pubsub::spublish, "shardchannel message", "Posts a message to a shard channel.", "O(N) where N is the number of clients subscribed to the receiving shard channel."),
    // pub/sub (rows above this line)

    cmd!("multi", 1, [NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY], [], "transactions", transactions::multi, "", "Starts a transaction: later commands are queued until EXEC.", "O(1)"),
    cmd!("exec", 1, [NOSCRIPT, LOADING, STALE, SKIP_SLOWLOG], [], "transactions", transactions::exec, "", "Runs every command queued since MULTI, as one atomic step.", "Depends on commands in the transaction"),
    cmd!("discard", 1, [NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY], [], "transactions", transactions::discard, "", "Drops the commands queued since MULTI.", "O(N), when N is the number of queued commands"),
    cmd!("watch", -2, [NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY], [ks!(RO: 1, range -1 1)], "transactions", transactions::watch, "key [key ...]", "Makes the next EXEC fail if any of these keys changes first.", "O(1) for every key."),
    cmd!("unwatch", 1, [NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY], [], "transactions", transactions::unwatch, "", "Forgets every key WATCHed by this connection.", "O(1)"),
    // transactions (rows above this line)

    cmd!("save", 1, [ADMIN, NOSCRIPT, NO_ASYNC_LOADING, NO_MULTI], [], "server", persistence::save, "", "Synchronously writes every pending change to MongoDB; blocks the server until it is acknowledged.", "O(N) where N is the number of changed keys not yet acknowledged"),
    cmd!("bgsave", -1, [ADMIN, NOSCRIPT, NO_ASYNC_LOADING], [], "server", persistence::bgsave, "[SCHEDULE]", "Hands every pending change to the MongoDB writer now, without waiting for it.", "O(1)"),
    cmd!("lastsave", 1, [LOADING, STALE, FAST], [], "server", persistence::lastsave, "", "Returns the Unix timestamp of the latest moment whose changes are all in MongoDB.", "O(1)", acl = ["admin", "dangerous"]),
    // persistence (rows above this line)
];

/// Finds a command by name, case-insensitively. O(1).
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static INDEX: OnceLock<FastMap<&'static [u8], &'static CommandSpec>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        COMMANDS
            .iter()
            .map(|spec| (spec.name.as_bytes(), spec))
            .collect()
    });
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    index.get(&lower[..name.len()]).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_and_arity_is_sane() {
        let mut seen = std::collections::HashSet::new();
        for spec in COMMANDS {
            assert!(seen.insert(spec.name), "duplicate {}", spec.name);
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(spec.arity != 0, "{} has arity 0", spec.name);
            assert!(spec.name.len() <= 32);
            for sub in spec.subcommands {
                assert!(sub.full_name.starts_with(spec.name));
                assert!(sub.arity.unsigned_abs() >= 2);
            }
        }
    }

    #[test]
    fn key_positions_extract_keys() {
        let mset = lookup(b"MSET").unwrap();
        let argv: Vec<&[u8]> = vec![b"mset", b"a", b"1", b"b", b"2"];
        assert_eq!(mset.keys(&argv), vec![&b"a"[..], b"b"]);
        let del = lookup(b"del").unwrap();
        assert_eq!(del.keys(&argv), vec![&b"a"[..], b"1", b"b", b"2"]);
        assert!(lookup(b"nosuchcommand").is_none());
    }

    const RO_ACCESS: KeyFlags = KeyFlags::RO.with(KeyFlags::ACCESS);
    const OW_UPDATE: KeyFlags = KeyFlags::OW.with(KeyFlags::UPDATE);

    fn argv(text: &str) -> Vec<&[u8]> {
        text.split_whitespace().map(str::as_bytes).collect()
    }

    #[test]
    fn legacy_ranges_and_movable_keys_derive_from_key_specs_as_in_redis() {
        let range = |index, last, step| KeySpec::range(RO_ACCESS, index, last, step, 0);
        let keynum = KeySpec::keynum(RO_ACCESS, 2, 0, 1, 1);
        assert_eq!(legacy_range(&[]), (0, 0, 0, false));
        assert_eq!(legacy_range(&[range(1, -1, 2)]), (1, -1, 2, false));
        assert_eq!(
            legacy_range(&[range(1, 0, 1), range(2, -1, 1)]),
            (1, -1, 1, false)
        );
        assert_eq!(legacy_range(&[range(1, 0, 1), keynum]), (1, 1, 1, true));
        assert_eq!(legacy_range(&[keynum]), (0, 0, 0, true));
        // Not consecutive, or not of step 1: left out, and the keys can move.
        assert_eq!(
            legacy_range(&[range(1, 0, 1), range(3, 0, 1)]),
            (1, 1, 1, true)
        );
        let incomplete = KeySpec::range(KeyFlags::RW.with(KeyFlags::INCOMPLETE), 1, 0, 1, 0);
        assert_eq!(legacy_range(&[incomplete]), (1, 1, 1, true));
        for name in ["zunionstore", "blmpop", "sintercard"] {
            let spec = lookup(name.as_bytes()).unwrap();
            assert!(spec.flags.contains(Flags::MOVABLEKEYS), "{name}");
        }
        assert!(!lookup(b"get").unwrap().flags.contains(Flags::MOVABLEKEYS));
    }

    #[test]
    fn numkeys_keys_come_from_the_spec_or_from_the_atoi_fallback() {
        let zunionstore = lookup(b"zunionstore").unwrap();
        assert_eq!(
            zunionstore.keys_with_flags(&argv("zunionstore d 2 a b WEIGHTS 1 2")),
            vec![(1, OW_UPDATE), (3, RO_ACCESS), (4, RO_ACCESS)]
        );
        // A count string2ll rejects but atoi reads: Redis's fallback, destination last.
        assert_eq!(
            zunionstore.keys_with_flags(&argv("zunionstore d 2x a b")),
            vec![
                (3, KeyFlags::NONE),
                (4, KeyFlags::NONE),
                (1, KeyFlags::NONE)
            ]
        );
        for bad in [
            "zunionstore d 0 a",
            "zunionstore d 3 a b",
            "zunionstore d -1 a",
        ] {
            assert!(zunionstore.keys_with_flags(&argv(bad)).is_empty(), "{bad}");
        }
        let blmpop = lookup(b"blmpop").unwrap();
        assert_eq!(blmpop.keys(&argv("blmpop 0 2 a b LEFT")), argv("a b"));
        assert!(lookup(b"set").unwrap().has_keys());
        assert!(!lookup(b"ssubscribe").unwrap().has_keys());
        assert!(!lookup(b"ping").unwrap().has_keys());
    }

    #[test]
    fn set_flags_depend_on_get() {
        let set = lookup(b"set").unwrap();
        assert_eq!(set.keys_with_flags(&argv("set k v")), vec![(1, OW_UPDATE)]);
        let read_write = KeyFlags::RW.with(KeyFlags::ACCESS).with(KeyFlags::UPDATE);
        assert_eq!(
            set.keys_with_flags(&argv("set k v ex 1 GeT")),
            vec![(1, read_write)]
        );
        assert_eq!(
            set.keys_with_flags(&argv("set k get")),
            vec![(1, OW_UPDATE)]
        );
    }

    #[test]
    fn bitfield_is_read_only_while_it_only_gets() {
        let bitfield = lookup(b"bitfield").unwrap();
        let read_write = KeyFlags::RW.with(KeyFlags::ACCESS).with(KeyFlags::UPDATE);
        for (text, flags) in [
            ("bitfield k", RO_ACCESS),
            ("bitfield k GET u8 0 overflow SAT", RO_ACCESS),
            ("bitfield k GET u8", read_write),
            ("bitfield k SET u8 0 1", read_write),
            ("bitfield k foo", read_write),
        ] {
            assert_eq!(
                bitfield.keys_with_flags(&argv(text)),
                vec![(1, flags)],
                "{text}"
            );
        }
    }

    #[test]
    fn keyword_specs_search_like_redis() {
        let store = |from| {
            KeySpec::keyword(
                OW_UPDATE,
                "STORE",
                from,
                FindKeys::Range {
                    last_key: 0,
                    step: 1,
                    limit: 0,
                },
            )
        };
        let find = |spec: KeySpec, text: &str| {
            let mut keys = Vec::new();
            spec.find_keys(&argv(text), &mut keys).map(|_| keys)
        };
        assert_eq!(find(store(2), "cmd k store d"), Ok(vec![(3, OW_UPDATE)]));
        assert_eq!(find(store(-2), "cmd k STORE d"), Ok(vec![(3, OW_UPDATE)]));
        // The last argument is not searched forwards (no key could follow it).
        assert_eq!(find(store(1), "cmd k STORE"), Ok(vec![]));
        assert_eq!(find(store(2), "cmd STORE d x"), Ok(vec![]));
        assert_eq!(find(KeySpec::unknown(RO_ACCESS), "cmd k"), Err(()));
    }

    #[test]
    fn atoi_reads_like_c() {
        for (text, value) in [
            ("2", 2),
            (" 2x", 2),
            ("+3", 3),
            ("-1", -1),
            ("x", 0),
            ("", 0),
        ] {
            assert_eq!(atoi(text.as_bytes()), value, "{text:?}");
        }
        assert_eq!(atoi(b"4294967297"), 1, "kept in a C int");
    }

    #[test]
    fn acl_categories_follow_flags_group_and_overrides() {
        let cats = |name: &str| lookup(name.as_bytes()).unwrap().acl_categories().join(" ");
        assert_eq!(cats("get"), "@read @string @fast");
        assert_eq!(cats("blpop"), "@write @list @slow @blocking");
        assert_eq!(cats("keys"), "@keyspace @read @slow @dangerous");
        assert_eq!(cats("client"), "@slow");
        assert_eq!(cats("queue.push"), "@write @fast @queue");
    }
}
