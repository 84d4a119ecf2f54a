//! Generic key commands: existence, deletion, renaming, expiry, iteration.

use super::args::{int_arg, is_keyword, parse_cursor, parse_scan_options};
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::store::access::AccessPolicy;
use crate::store::keyspace::Ttl;
use crate::store::{glob, StoreError};

/// DEL and UNLINK: removes the keys; UNLINK (`lazily`) frees large values off the reactor
/// thread.
fn delete(ctx: &mut Ctx, args: &mut Args, lazily: bool) -> CmdResult {
    let mut removed = 0;
    for key in args.rest() {
        let Some((value, _)) = ctx.db().take(key) else {
            continue;
        };
        if lazily {
            ctx.server.free_value(value);
        }
        removed += 1;
        ctx.notify(KeyspaceEvents::GENERIC, "del", key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

pub fn del(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    delete(ctx, args, false)
}

pub fn unlink(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    delete(ctx, args, true)
}

pub fn exists(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let keys = args.rest();
    let mut db = ctx.db();
    let found = keys.iter().filter(|k| db.note_read(k, true)).count();
    ctx.out.int(found as i64);
    Ok(())
}

pub fn touch(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let keys = args.rest();
    let mut db = ctx.db();
    // Counted as reads, as Redis's TOUCH reads each key.
    let found = keys
        .iter()
        .filter(|k| db.note_read(k, true) && db.touch(k))
        .count();
    ctx.out.int(found as i64);
    Ok(())
}

pub fn type_(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    // Looking at the type is not a use of the key (Redis's LOOKUP_NOTOUCH), but it is counted
    // as a read.
    let mut db = ctx.db();
    let live = db.note_read(key, true);
    let name = if live {
        db.peek(key).map_or("none", |v| v.type_name())
    } else {
        "none"
    };
    ctx.out.simple(name);
    Ok(())
}

pub fn keys(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let pattern = args.bytes()?;
    let mut found = Vec::new();
    let match_all = pattern == b"*";
    ctx.db().for_each(|key, _| {
        if match_all || glob::matches(pattern, key) {
            found.push(key.clone());
        }
    });
    ctx.out.array(found.len());
    for key in &found {
        ctx.out.bulk(key);
    }
    Ok(())
}

pub fn scan(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let cursor = parse_cursor(args.bytes()?)?;
    let opts = parse_scan_options(args, true)?;
    let mut found = Vec::new();
    let next = ctx.db().scan(cursor, opts.count, |key, value| {
        let type_ok = opts
            .type_name
            .is_none_or(|t| t.eq_ignore_ascii_case(value.type_name().as_bytes()));
        let match_ok = opts.pattern.is_none_or(|p| glob::matches(p, key));
        if type_ok && match_ok {
            found.push(key.clone());
        }
    });
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len());
    for key in &found {
        ctx.out.bulk(key);
    }
    Ok(())
}

pub fn rename(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (from, to) = (args.bytes()?, args.bytes()?);
    let cold_epoch = ctx.server.tiering.next_epoch();
    ctx.db().rename(from, to, false, cold_epoch)?;
    notify_rename(ctx, from, to);
    ctx.out.ok();
    Ok(())
}

pub fn renamenx(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (from, to) = (args.bytes()?, args.bytes()?);
    let cold_epoch = ctx.server.tiering.next_epoch();
    let renamed = ctx.db().rename(from, to, true, cold_epoch)?;
    if renamed {
        notify_rename(ctx, from, to);
    }
    ctx.out.int(renamed as i64);
    Ok(())
}

/// RENAME's events; renaming a key to itself changes nothing and reports nothing.
fn notify_rename(ctx: &mut Ctx, from: &[u8], to: &[u8]) {
    if from != to {
        ctx.notify(KeyspaceEvents::GENERIC, "rename_from", from);
        ctx.notify(KeyspaceEvents::GENERIC, "rename_to", to);
    }
}

/// Parses a database index argument against the configured count.
fn db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, CmdError> {
    let index = int_arg(arg)?;
    if index < 0 || index as usize >= ctx.ks.db_count() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    Ok(index as usize)
}

pub fn copy(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (from, to) = (args.bytes()?, args.bytes()?);
    let mut dest_db = ctx.client.db;
    let mut replace = false;
    while !args.is_empty() {
        if args.eat("replace") {
            replace = true;
        } else if args.remaining() >= 2 && args.eat("db") {
            dest_db = db_index(ctx, args.bytes()?)?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if dest_db == ctx.client.db && from == to {
        return Err(StoreError::SameObject.into());
    }
    // The source is read as Redis reads it (a keyspace hit or miss).
    ctx.db().note_read(from, true);
    let copied = ctx.ks.copy_key(ctx.client.db, from, dest_db, to, replace);
    if copied {
        ctx.notify_in_db(KeyspaceEvents::GENERIC, "copy_to", to, dest_db);
    }
    ctx.out.int(copied as i64);
    Ok(())
}

pub fn move_(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let dest = db_index(ctx, args.bytes()?)?;
    if dest == ctx.client.db {
        return Err(StoreError::SameObject.into());
    }
    let moved = ctx.ks.move_key(ctx.client.db, dest, key);
    if moved {
        ctx.notify(KeyspaceEvents::GENERIC, "move_from", key);
        ctx.notify_in_db(KeyspaceEvents::GENERIC, "move_to", key, dest);
    }
    ctx.out.int(moved as i64);
    Ok(())
}

/// EXPIRE-family conditions.
#[derive(Default)]
struct ExpireCondition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_condition(args: &mut Args) -> Result<ExpireCondition, CmdError> {
    let mut cond = ExpireCondition::default();
    for arg in args.rest() {
        if is_keyword(arg, "nx") {
            cond.nx = true;
        } else if is_keyword(arg, "xx") {
            cond.xx = true;
        } else if is_keyword(arg, "gt") {
            cond.gt = true;
        } else if is_keyword(arg, "lt") {
            cond.lt = true;
        } else {
            return Err(CmdError::concat(&[b"ERR Unsupported option ", arg]));
        }
    }
    if cond.nx && (cond.xx || cond.gt || cond.lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if cond.gt && cond.lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(cond)
}

fn expire_generic(
    ctx: &mut Ctx,
    args: &mut Args,
    unit_ms: i64,
    absolute: bool,
    name: &str,
) -> CmdResult {
    let key = args.bytes()?;
    let when = args.bytes()?;
    // Redis checks the flags before the time.
    let cond = parse_expire_condition(args)?;
    let when = crate::commands::args::int_arg(when)?;
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{name}' command"));
    if unit_ms == 1000 && !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
        return Err(invalid());
    }
    let mut at = when * unit_ms;
    if !absolute {
        at = at.checked_add(ctx.ks.now_ms() as i64).ok_or_else(invalid)?;
    }
    let mut db = ctx.db();
    // Redis's write lookup, which counts an access (OBJECT FREQ, IDLETIME) whatever the
    // condition then decides.
    db.touch(key);
    let current = match db.ttl(key) {
        Ttl::Missing => {
            ctx.out.int(0);
            return Ok(());
        }
        Ttl::Persistent => None,
        Ttl::At(t) => Some(t as i64),
    };
    let allowed = match current {
        Some(t) => !(cond.nx || (cond.gt && at <= t) || (cond.lt && at >= t)),
        None => !cond.xx && !cond.gt,
    };
    if !allowed {
        ctx.out.int(0);
        return Ok(());
    }
    let at = at.max(0) as u64;
    db.set_expire(key, at);
    // An expiry already past deletes the key, reported as a deletion before the reply; a new
    // expiry is reported after it (Redis's order).
    if at <= ctx.ks.now_ms() {
        ctx.notify(KeyspaceEvents::GENERIC, "del", key);
        ctx.out.int(1);
    } else {
        ctx.out.int(1);
        ctx.notify(KeyspaceEvents::GENERIC, "expire", key);
    }
    Ok(())
}

pub fn expire(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    expire_generic(ctx, args, 1000, false, "expire")
}

pub fn pexpire(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    expire_generic(ctx, args, 1, false, "pexpire")
}

pub fn expireat(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    expire_generic(ctx, args, 1000, true, "expireat")
}

pub fn pexpireat(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    expire_generic(ctx, args, 1, true, "pexpireat")
}

/// Replies a TTL-family answer: -2 missing, -1 persistent, else `value(at, now)`.
fn ttl_reply(ctx: &mut Ctx, args: &mut Args, value: fn(u64, u64) -> i64) -> CmdResult {
    let key = args.bytes()?;
    let now = ctx.ks.now_ms();
    // Counted as a read that is not a use of the key, as Redis counts it.
    ctx.db().note_read(key, true);
    let reply = match ctx.db().ttl(key) {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        Ttl::At(at) => value(at, now),
    };
    ctx.out.int(reply);
    Ok(())
}

pub fn ttl(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    ttl_reply(ctx, args, |at, now| {
        (at.saturating_sub(now) as i64 + 500) / 1000
    })
}

pub fn pttl(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    ttl_reply(ctx, args, |at, now| at.saturating_sub(now) as i64)
}

/// EXPIRETIME: the expiry in seconds, rounded to the nearest second as Redis rounds TTL.
pub fn expiretime(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    ttl_reply(ctx, args, |at, _| (at.saturating_add(500) / 1000) as i64)
}

pub fn pexpiretime(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    ttl_reply(ctx, args, |at, _| at as i64)
}

pub fn persist(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.db();
    // Redis's write lookup counts an access.
    db.touch(key);
    let removed = db.persist(key);
    if removed {
        ctx.notify(KeyspaceEvents::GENERIC, "persist", key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

pub fn randomkey(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let db = ctx.client.db;
    match ctx.ks.db(db).random_key(&mut ctx.server.rng) {
        Some(key) => ctx.out.bulk(&key),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn object_encoding(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    // Counted as a read, with no event, as Redis's OBJECT looks keys up.
    ctx.db().note_read(key, false);
    match ctx.db().peek(key).map(|v| v.encoding()) {
        Some(encoding) => ctx.out.bulk(encoding.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn object_refcount(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    // Counted as a read, with no event, as Redis's OBJECT looks keys up.
    ctx.db().note_read(key, false);
    let shares_integers = shares_integers(&ctx.server.config);
    // OBJECT does not count as an access (peek), as in Redis.
    let count = ctx
        .db()
        .peek(key)
        .map(|value| refcount(value, shares_integers));
    match count {
        Some(count) => ctx.out.int(count),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn object_idletime(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    // Counted as a read, with no event, as Redis's OBJECT looks keys up.
    ctx.db().note_read(key, false);
    let lfu = matches!(ctx.ks.access_policy(), AccessPolicy::Lfu { .. });
    match ctx.db().idle_seconds(key) {
        None => ctx.out.null(),
        Some(_) if lfu => {
            return Err(CmdError::msg(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note \
                 that when switching between policies at runtime LRU and LFU data will take \
                 some time to adjust.",
            ))
        }
        Some(idle) => ctx.out.int(idle as i64),
    }
    Ok(())
}

pub fn object_freq(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    // Counted as a read, with no event, as Redis's OBJECT looks keys up.
    ctx.db().note_read(key, false);
    let lfu = matches!(ctx.ks.access_policy(), AccessPolicy::Lfu { .. });
    match ctx.db().access_frequency(key) {
        None => ctx.out.null(),
        Some(_) if !lfu => {
            return Err(CmdError::msg(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
                 Please note that when switching between policies at runtime LRU and LFU data \
                 will take some time to adjust.",
            ))
        }
        Some(frequency) => ctx.out.int(i64::from(frequency)),
    }
    Ok(())
}

/// Whether Redis would share integer objects under this configuration: not when an LRU or
/// LFU policy needs each value's own access clock.
pub fn shares_integers(config: &crate::config::Config) -> bool {
    config.maxmemory == 0
        || !(config.maxmemory_policy.contains("lru") || config.maxmemory_policy.contains("lfu"))
}

/// OBJECT REFCOUNT as Redis reports it: values are never shared between keys here, so one
/// reference, except that Redis's shared small integers report `i32::MAX`.
pub fn refcount(value: &crate::store::Value, shares_integers: bool) -> i64 {
    if shares_integers && value.is_shared_integer() {
        i32::MAX as i64
    } else {
        1
    }
}

pub fn object_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    super::reply::help_reply(
        ctx,
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn expire_conditions_follow_redis() {
        let mut h = Harness::new();
        h.run(&["set", "k", "v"]);
        h.assert_replies(&[
            (&["expire", "k", "100", "XX"], ":0\r\n"),
            (&["expire", "k", "100", "GT"], ":0\r\n"),
            (&["expire", "k", "100", "NX"], ":1\r\n"),
            (&["expire", "k", "50", "GT"], ":0\r\n"),
            (&["expire", "k", "50", "LT"], ":1\r\n"),
            (&["ttl", "k"], ":50\r\n"),
            (
                &["expire", "k", "5", "NX", "GT"],
                "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
            ),
            (
                &["expire", "k", "5", "foo"],
                "-ERR Unsupported option foo\r\n",
            ),
            (&["expire", "k", "-1"], ":1\r\n"),
            (&["exists", "k"], ":0\r\n"),
            (&["ttl", "k"], ":-2\r\n"),
        ]);
    }

    #[test]
    fn rename_copy_move() {
        let mut h = Harness::new();
        assert_eq!(h.text(&["rename", "a", "b"]), "-ERR no such key\r\n");
        h.run(&["set", "a", "1"]);
        h.assert_replies(&[
            (
                &["copy", "a", "a"],
                "-ERR source and destination objects are the same\r\n",
            ),
            (
                &["copy", "a", "b", "DB", "16"],
                "-ERR DB index is out of range\r\n",
            ),
            (&["copy", "a", "b", "DB", "1"], ":1\r\n"),
            (&["move", "a", "1"], ":1\r\n"),
            (&["select", "1"], "+OK\r\n"),
            (&["mget", "a", "b"], "*2\r\n$1\r\n1\r\n$1\r\n1\r\n"),
            (&["renamenx", "a", "b"], ":0\r\n"),
            (&["type", "a"], "+string\r\n"),
            (&["type", "zz"], "+none\r\n"),
        ]);
    }

    #[test]
    fn scan_visits_every_key_once_without_changes() {
        let mut h = Harness::new();
        for i in 0..100 {
            h.run(&["set", &format!("key:{i}"), "v"]);
        }
        let mut cursor = "0".to_string();
        let mut seen = 0;
        loop {
            let reply = h.text(&["scan", &cursor, "MATCH", "key:1*", "COUNT", "7"]);
            let lines: Vec<&str> = reply.split("\r\n").collect();
            cursor = lines[2].to_string();
            seen += lines.iter().filter(|l| l.starts_with("key:1")).count();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen, 11);
        assert_eq!(h.text(&["scan", "x"]), "-ERR invalid cursor\r\n");
        assert_eq!(
            h.text(&["scan", "0", "COUNT", "0"]),
            "-ERR syntax error\r\n"
        );
    }
}
