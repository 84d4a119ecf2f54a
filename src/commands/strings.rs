//! String commands.

use super::args::is_keyword;
use super::args::Pair;
use super::table::KeyFlags;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::store::keyspace::Ttl;
use crate::store::string::{ExpiryChange, LcsQuery, LcsResult, SetCondition, SetOptions};
use crate::store::StoreError;

/// Keyspace events after a SET-like write: `set`, then `expire` when an expiry was given.
#[inline(always)]
fn notify_set(ctx: &mut Ctx, key: &[u8], expire_at: Option<u64>) {
    ctx.notify(KeyspaceEvents::STRING, "set", key);
    if expire_at.is_some() {
        ctx.notify(KeyspaceEvents::GENERIC, "expire", key);
    }
}

/// Which command is parsing expiry options (they accept different ones).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpiryCommand {
    Set,
    GetEx,
}

/// Parsed SET/GETEX options.
#[derive(Default)]
struct ExtendedOptions<'a> {
    set: SetOptions,
    persist: bool,
    /// The expiry argument, read by [`ExtendedOptions::resolve_expiry`]: SET checks it before
    /// anything else, GETEX only once the key is found to be a string, as Redis does.
    expiry: Option<ExpiryArg<'a>>,
}

/// An EX/PX/EXAT/PXAT argument, not yet checked.
struct ExpiryArg<'a> {
    arg: &'a [u8],
    unit_ms: i64,
    absolute: bool,
}

impl ExtendedOptions<'_> {
    /// Sets `set.expire_at` from the expiry argument, with Redis's checks and errors.
    fn resolve_expiry(&mut self, ctx: &Ctx, command: &str) -> Result<(), CmdError> {
        if let Some(expiry) = &self.expiry {
            let now = ctx.ks.now_ms();
            self.set.expire_at = Some(expire_at_ms(
                expiry.arg,
                expiry.unit_ms,
                expiry.absolute,
                now,
                command,
            )?);
        }
        Ok(())
    }
}

/// Converts an expire argument into absolute Unix ms, with Redis's checks and texts.
pub(crate) fn expire_at_ms(
    arg: &[u8],
    unit_ms: i64,
    absolute: bool,
    now_ms: u64,
    command: &str,
) -> Result<u64, CmdError> {
    let value = super::args::int_arg(arg)?;
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{command}' command"));
    if value <= 0 || (unit_ms == 1000 && value > i64::MAX / 1000) {
        return Err(invalid());
    }
    let ms = value * unit_ms;
    let at = if absolute {
        ms
    } else {
        ms.checked_add(now_ms as i64).ok_or_else(invalid)?
    };
    Ok(at as u64)
}

/// Reads SET's or GETEX's options, checking their syntax; the expiry's value is checked by
/// [`ExtendedOptions::resolve_expiry`].
fn parse_extended<'a>(
    args: &mut Args<'a>,
    command: ExpiryCommand,
) -> Result<ExtendedOptions<'a>, CmdError> {
    #[derive(PartialEq)]
    enum Unit {
        None,
        Ex,
        Px,
        ExAt,
        PxAt,
    }
    let mut opts = ExtendedOptions::default();
    let mut unit = Unit::None;
    let mut expire_arg: &[u8] = b"";
    let is_set = command == ExpiryCommand::Set;
    while let Some(opt) = args.peek() {
        args.bytes()?;
        let has_next = args.peek().is_some();
        let cond = opts.set.condition;
        let no_expiry = unit == Unit::None;
        if is_set && is_keyword(opt, "nx") && cond != SetCondition::IfPresent {
            opts.set.condition = SetCondition::IfAbsent;
        } else if is_set && is_keyword(opt, "xx") && cond != SetCondition::IfAbsent {
            opts.set.condition = SetCondition::IfPresent;
        } else if is_set && is_keyword(opt, "get") {
            opts.set.get = true;
        } else if is_set && is_keyword(opt, "keepttl") && no_expiry {
            opts.set.keep_ttl = true;
        } else if !is_set && is_keyword(opt, "persist") && no_expiry {
            opts.persist = true;
        } else if has_next && !opts.set.keep_ttl && !opts.persist {
            let wanted = if is_keyword(opt, "ex") {
                Unit::Ex
            } else if is_keyword(opt, "px") {
                Unit::Px
            } else if is_keyword(opt, "exat") {
                Unit::ExAt
            } else if is_keyword(opt, "pxat") {
                Unit::PxAt
            } else {
                return Err(CmdError::Syntax);
            };
            if unit != Unit::None && unit != wanted {
                return Err(CmdError::Syntax);
            }
            unit = wanted;
            expire_arg = args.bytes()?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (unit_ms, absolute) = match unit {
        Unit::None => return Ok(opts),
        Unit::Ex => (1000, false),
        Unit::Px => (1, false),
        Unit::ExAt => (1000, true),
        Unit::PxAt => (1, true),
    };
    opts.expiry = Some(ExpiryArg {
        arg: expire_arg,
        unit_ms,
        absolute,
    });
    Ok(opts)
}

pub fn get(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    match ctx.ks.db(ctx.client.db).get_string(key)? {
        Some(value) => ctx.out.bulk(value),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn set(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let value = args.bytes()?;
    let mut opts = parse_extended(args, ExpiryCommand::Set)?;
    opts.resolve_expiry(ctx, "set")?;
    if opts.set.get {
        // Read first, as Redis's GET part reads it (a keyspace hit or miss, `keymiss`).
        ctx.db().note_read(key, true);
    }
    let outcome = ctx.db().set_string(key, value, opts.set)?;
    // Redis's order: with GET the old value is the reply before the events; without, the
    // events come first.
    if opts.set.get {
        match outcome.previous {
            Some(previous) => ctx.out.bulk(&previous),
            None => ctx.out.null(),
        }
    }
    if outcome.written {
        notify_set(ctx, key, opts.set.expire_at);
    }
    if !opts.set.get {
        if outcome.written {
            ctx.out.ok();
        } else {
            ctx.out.null();
        }
    }
    Ok(())
}

pub fn setnx(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, value) = (args.bytes()?, args.bytes()?);
    let opts = SetOptions {
        condition: SetCondition::IfAbsent,
        ..Default::default()
    };
    let outcome = ctx.db().set_string(key, value, opts)?;
    if outcome.written {
        notify_set(ctx, key, None);
    }
    ctx.out.int(outcome.written as i64);
    Ok(())
}

fn set_with_expiry(ctx: &mut Ctx, args: &mut Args, unit_ms: i64, name: &str) -> CmdResult {
    let key = args.bytes()?;
    let expire_at = expire_at_ms(args.bytes()?, unit_ms, false, ctx.ks.now_ms(), name)?;
    let value = args.bytes()?;
    let opts = SetOptions {
        expire_at: Some(expire_at),
        ..Default::default()
    };
    ctx.db().set_string(key, value, opts)?;
    notify_set(ctx, key, opts.expire_at);
    ctx.out.ok();
    Ok(())
}

pub fn setex(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    set_with_expiry(ctx, args, 1000, "setex")
}

pub fn psetex(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    set_with_expiry(ctx, args, 1, "psetex")
}

pub fn getset(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, value) = (args.bytes()?, args.bytes()?);
    let opts = SetOptions {
        get: true,
        ..Default::default()
    };
    // Read first, as Redis's GET part reads it (a keyspace hit or miss, `keymiss`).
    ctx.db().note_read(key, true);
    let previous = ctx.db().set_string(key, value, opts)?.previous;
    match previous {
        Some(previous) => ctx.out.bulk(&previous),
        None => ctx.out.null(),
    }
    notify_set(ctx, key, None);
    Ok(())
}

pub fn getdel(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    // Read first, as Redis's GET part reads it (a keyspace hit or miss).
    ctx.db().note_read(key, true);
    match ctx.db().get_del(key)? {
        Some(value) => {
            ctx.out.bulk(&value);
            ctx.notify(KeyspaceEvents::GENERIC, "del", key);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn getex(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut opts = parse_extended(args, ExpiryCommand::GetEx)?;
    if opts.expiry.is_some() {
        // Redis looks the key up before it reads the expiry: a missing key answers nil and a
        // key of another type WRONGTYPE, whatever the expiry says.
        let is_string = ctx
            .db()
            .peek(key)
            .map(|value| value.type_name() == "string");
        if is_string != Some(true) {
            // Counted as the read it is (a miss, or a hit on the wrong type).
            ctx.db().lookup_read(key);
            return match is_string {
                None => {
                    ctx.out.null();
                    Ok(())
                }
                _ => Err(CmdError::Store(StoreError::WrongType)),
            };
        }
        opts.resolve_expiry(ctx, "getex")?;
    }
    let change = match (opts.set.expire_at, opts.persist) {
        (Some(at), _) => ExpiryChange::At(at),
        (None, true) => ExpiryChange::Persist,
        (None, false) => ExpiryChange::Keep,
    };
    // PERSIST reports an event only when there was an expiry to remove.
    let had_ttl = change == ExpiryChange::Persist
        && ctx
            .server
            .config
            .notify_keyspace_events
            .wants(KeyspaceEvents::GENERIC)
        && matches!(ctx.db().ttl(key), Ttl::At(_));
    match ctx.db().get_ex(key, change)? {
        Some(value) => {
            // The value is the reply before the events, as in Redis.
            ctx.out.bulk(&value);
            match change {
                ExpiryChange::Keep => {}
                ExpiryChange::Persist if had_ttl => {
                    ctx.notify(KeyspaceEvents::GENERIC, "persist", key)
                }
                ExpiryChange::Persist => {}
                ExpiryChange::At(at) if at <= ctx.ks.now_ms() => {
                    ctx.notify(KeyspaceEvents::GENERIC, "del", key)
                }
                ExpiryChange::At(_) => ctx.notify(KeyspaceEvents::GENERIC, "expire", key),
            }
        }
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn mget(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let keys = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    ctx.out.array(keys.len());
    for key in keys {
        // A key of another type reads as nil in MGET.
        match db.get_string(key) {
            Ok(Some(value)) => ctx.out.bulk(value),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

/// Stores each pair then reports it, so a key's `new` and `set` events stay together.
fn store_pairs(ctx: &mut Ctx, pairs: &[Pair]) {
    for pair in pairs {
        ctx.db().mset(std::slice::from_ref(pair), false);
        ctx.notify(KeyspaceEvents::STRING, "set", pair.0);
    }
}

pub fn mset(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let pairs = args.pairs()?;
    store_pairs(ctx, &pairs);
    ctx.out.ok();
    Ok(())
}

pub fn msetnx(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let pairs = args.pairs()?;
    let stored = !pairs.iter().any(|(key, _)| ctx.db().exists(key));
    if stored {
        store_pairs(ctx, &pairs);
    }
    ctx.out.int(stored as i64);
    Ok(())
}

/// The longest string APPEND and SETRANGE may make: `proto-max-bulk-len`, as in Redis.
fn max_string_len(ctx: &Ctx) -> usize {
    usize::try_from(ctx.server.config.proto_max_bulk_len).unwrap_or(usize::MAX)
}

pub fn append(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, value) = (args.bytes()?, args.bytes()?);
    let max_len = max_string_len(ctx);
    let len = ctx.db().append(key, value, max_len)?;
    ctx.notify(KeyspaceEvents::STRING, "append", key);
    ctx.out.int(len as i64);
    Ok(())
}

pub fn strlen(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let len = ctx.db().strlen(key)?;
    ctx.out.int(len as i64);
    Ok(())
}

fn incr_reply(ctx: &mut Ctx, key: &[u8], delta: i64) -> CmdResult {
    let value = ctx.db().incr_by(key, delta)?;
    ctx.notify(KeyspaceEvents::STRING, "incrby", key);
    ctx.out.int(value);
    Ok(())
}

pub fn incr(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    incr_reply(ctx, key, 1)
}

pub fn decr(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    incr_reply(ctx, key, -1)
}

pub fn incrby(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let delta = args.int()?;
    incr_reply(ctx, key, delta)
}

pub fn decrby(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let delta = args.int()?;
    let delta = delta
        .checked_neg()
        .ok_or_else(|| CmdError::msg("ERR decrement would overflow"))?;
    incr_reply(ctx, key, delta)
}

pub fn incrbyfloat(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, delta) = (args.bytes()?, args.bytes()?);
    let text = ctx.db().incr_by_float(key, delta)?;
    ctx.notify(KeyspaceEvents::STRING, "incrbyfloat", key);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

pub fn getrange(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let (start, end) = (args.int()?, args.int()?);
    let range = ctx.db().get_range(key, start, end)?;
    ctx.out.bulk(&range);
    Ok(())
}

pub fn setrange(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let offset = args.int()?;
    let value = args.bytes()?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let max_len = max_string_len(ctx);
    let len = ctx.db().set_range(key, offset as usize, value, max_len)?;
    if !value.is_empty() {
        ctx.notify(KeyspaceEvents::STRING, "setrange", key);
    }
    ctx.out.int(len as i64);
    Ok(())
}

/// LCS reports another type in its own words, not as WRONGTYPE.
fn lcs_error(e: StoreError) -> CmdError {
    match e {
        StoreError::WrongType => CmdError::msg("ERR The specified keys must contain string values"),
        e => e.into(),
    }
}

/// LCS's options: what to compute, and whether IDX shows each run's length.
fn lcs_options(args: &mut Args) -> Result<(LcsQuery, bool), CmdError> {
    let (mut len, mut idx, mut with_match_len, mut min_match_len) = (false, false, false, 0);
    while let Some(opt) = args.peek() {
        args.bytes()?;
        if is_keyword(opt, "idx") {
            idx = true;
        } else if is_keyword(opt, "len") {
            len = true;
        } else if is_keyword(opt, "withmatchlen") {
            with_match_len = true;
        } else if is_keyword(opt, "minmatchlen") && !args.is_empty() {
            min_match_len = args.int()?.max(0) as u64;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if len && idx {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let query = if idx {
        LcsQuery::Idx { min_match_len }
    } else if len {
        LcsQuery::Len
    } else {
        LcsQuery::Sequence
    };
    Ok((query, with_match_len))
}

pub fn lcs(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key_a, key_b) = (args.bytes()?, args.bytes()?);
    // Redis looks both keys up before reading the options: a type error comes first.
    let (query, with_match_len) = match lcs_options(args) {
        Ok(options) => options,
        Err(e) => {
            let mut db = ctx.db();
            db.get_string(key_a).map_err(lcs_error)?;
            db.get_string(key_b).map_err(lcs_error)?;
            return Err(e);
        }
    };
    let max_table = ctx.server.config.proto_max_bulk_len;
    let result = ctx
        .db()
        .lcs(key_a, key_b, query, max_table)
        .map_err(lcs_error)?;
    match result {
        LcsResult::Sequence(sequence) => ctx.out.bulk(&sequence),
        LcsResult::Len(len) => ctx.out.int(i64::from(len)),
        LcsResult::Idx { matches, len } => {
            ctx.out.map(2);
            ctx.out.bulk(b"matches");
            ctx.out.array(matches.len());
            for run in matches {
                ctx.out.array(2 + usize::from(with_match_len));
                for (start, end) in [run.a, run.b] {
                    ctx.out.array(2);
                    ctx.out.int(i64::from(start));
                    ctx.out.int(i64::from(end));
                }
                if with_match_len {
                    ctx.out.int(i64::from(run.len));
                }
            }
            ctx.out.bulk(b"len");
            ctx.out.int(i64::from(len));
        }
    }
    Ok(())
}

/// SET's key finder (its flags depend on GET): read-write when GET is among the options,
/// else a plain overwrite.
pub fn set_keys(argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
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

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn set_options_and_errors() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["set", "k", "v", "NX"], "+OK\r\n"),
            (&["set", "k", "w", "NX"], "$-1\r\n"),
            (&["set", "k", "w", "XX", "GET"], "$1\r\nv\r\n"),
            (&["set", "k", "w", "NX", "XX"], "-ERR syntax error\r\n"),
            (
                &["set", "k", "w", "EX", "10", "PX", "5"],
                "-ERR syntax error\r\n",
            ),
            (
                &["set", "k", "w", "KEEPTTL", "EX", "5"],
                "-ERR syntax error\r\n",
            ),
            (
                &["set", "k", "w", "EX", "0"],
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                &["set", "k", "w", "EX", "x"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (&["set", "k", "w", "EX", "100"], "+OK\r\n"),
            (&["ttl", "k"], ":100\r\n"),
            (&["set", "k", "x", "KEEPTTL"], "+OK\r\n"),
            (&["ttl", "k"], ":100\r\n"),
            (&["set", "k", "y"], "+OK\r\n"),
            (&["ttl", "k"], ":-1\r\n"),
        ]);
    }

    #[test]
    fn past_absolute_expiry_deletes() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["set", "k", "v", "PXAT", "1"], "+OK\r\n"),
            (&["exists", "k"], ":0\r\n"),
            (&["dbsize"], ":0\r\n"),
        ]);
    }

    #[test]
    fn counters() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["incr", "n"], ":1\r\n"),
            (&["incrby", "n", "-11"], ":-10\r\n"),
            (
                &["decrby", "n", "-9223372036854775808"],
                "-ERR decrement would overflow\r\n",
            ),
            (&["incrbyfloat", "n", "0.5"], "$4\r\n-9.5\r\n"),
            (
                &["incr", "n"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                &["incrbyfloat", "n", "abc"],
                "-ERR value is not a valid float\r\n",
            ),
        ]);
    }

    #[test]
    fn lcs_replies_and_errors() {
        let mut h = Harness::new();
        h.text(&["mset", "a", "ohmytext", "b", "mynewtext"]);
        h.assert_replies(&[
            (&["lcs", "a", "b"], "$6\r\nmytext\r\n"),
            (&["lcs", "a", "b", "LEN"], ":6\r\n"),
            (&["lcs", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"], "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"),
            (&["lcs", "a", "b", "LEN", "IDX"], "-ERR If you want both the length and indexes, please just use IDX.\r\n"),
        ]);
        h.text(&["lpush", "l", "x"]);
        h.assert_replies(&[
            (
                &["lcs", "a", "l", "bogus"],
                "-ERR The specified keys must contain string values\r\n",
            ),
            (&["lcs", "a", "b", "MINMATCHLEN"], "-ERR syntax error\r\n"),
            (&["substr", "a", "2", "3"], "$2\r\nmy\r\n"),
        ]);
    }

    #[test]
    fn ranges() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["set", "s", "Hello World"], "+OK\r\n"),
            (&["getrange", "s", "-5", "-1"], "$5\r\nWorld\r\n"),
            (&["getrange", "s", "5", "1"], "$0\r\n\r\n"),
            (&["setrange", "s", "6", "Redis"], ":11\r\n"),
            (
                &["setrange", "s", "-1", "x"],
                "-ERR offset is out of range\r\n",
            ),
            (
                &["mset", "a", "1", "b"],
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            (&["msetnx", "a", "1", "s", "2"], ":0\r\n"),
            (
                &["mget", "s", "a", "nope"],
                "*3\r\n$11\r\nHello Redis\r\n$-1\r\n$-1\r\n",
            ),
        ]);
    }
}
