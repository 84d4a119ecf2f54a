//! Set commands.

use super::args::int_arg;
use super::args::{parse_cursor, parse_scan_options, random_count_arg};
use super::reply::empty_scan;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::glob;
use crate::store::set::{Member, SetOp, SetValue, SmallBytes};
use crate::store::Value;

fn reply_member(out: &mut ReplyBuf, member: Member<'_>) {
    match member {
        Member::Int(value) => out.bulk_int(value),
        Member::Bytes(bytes) => out.bulk(bytes),
    }
}

/// Replies a whole set as a set (an array in RESP2), in its order.
fn reply_set(out: &mut ReplyBuf, set: &SetValue) {
    out.set(set.len());
    set.iter().for_each(|m| reply_member(out, m));
}

fn reply_owned(out: &mut ReplyBuf, members: &[SmallBytes]) {
    out.set(members.len());
    members.iter().for_each(|m| out.bulk(m.as_bytes()));
}

/// Reports `event` on `key`, then `del` when the change left the set empty (the store
/// removed it).
fn notify_removal(ctx: &mut Ctx, event: &str, key: &[u8]) {
    ctx.notify(KeyspaceEvents::SET, event, key);
    notify_if_deleted(ctx, key);
}

/// `del` when the removal left the set empty (the store removed it).
fn notify_if_deleted(ctx: &mut Ctx, key: &[u8]) {
    if !ctx.db().exists(key) {
        ctx.notify(KeyspaceEvents::GENERIC, "del", key);
    }
}

/// Reports a *STORE into `dst`: `event` when a set was stored, `del` when the empty result
/// removed an existing key, nothing otherwise (as Redis).
fn notify_store(ctx: &mut Ctx, class: u16, event: &str, dst: &[u8], stored: usize, existed: bool) {
    if stored > 0 {
        ctx.notify(class, event, dst);
    } else if existed {
        ctx.notify(KeyspaceEvents::GENERIC, "del", dst);
    }
}

pub fn sadd(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let added = ctx.db().sadd(key, args.rest())?;
    if added > 0 {
        ctx.notify(KeyspaceEvents::SET, "sadd", key);
    }
    ctx.out.int(added as i64);
    Ok(())
}

pub fn srem(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let removed = ctx.db().srem(key, args.rest())?;
    if removed > 0 {
        notify_removal(ctx, "srem", key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

pub fn smembers(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    match db.set_value(key)? {
        Some(set) => reply_set(ctx.out, set),
        None => ctx.out.set(0),
    }
    Ok(())
}

pub fn sismember(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, member) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    let found = db.set_value(key)?.is_some_and(|s| s.contains(member));
    ctx.out.int(found as i64);
    Ok(())
}

pub fn smismember(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let members = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    let set = db.set_value(key)?;
    ctx.out.array(members.len());
    for member in members {
        ctx.out.int(set.is_some_and(|s| s.contains(member)) as i64);
    }
    Ok(())
}

pub fn scard(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    let len = db.set_value(key)?.map_or(0, SetValue::len);
    ctx.out.int(len as i64);
    Ok(())
}

pub fn spop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    match args.remaining() {
        0 => {
            let popped = ctx.ks.db(ctx.client.db).spop(key, &mut ctx.server.rng)?;
            match popped {
                Some(member) => {
                    ctx.journal_as(b"SREM", key, [member.as_bytes()]);
                    // Redis's order: `spop`, the reply, then `del` if the set emptied.
                    ctx.notify(KeyspaceEvents::SET, "spop", key);
                    ctx.out.bulk(member.as_bytes());
                    notify_if_deleted(ctx, key);
                }
                None => ctx.out.null(),
            }
        }
        1 => {
            let count = args
                .int()
                .ok()
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))?;
            let popped =
                ctx.ks
                    .db(ctx.client.db)
                    .spop_count(key, count as usize, &mut ctx.server.rng)?;
            if popped.is_empty() {
                reply_owned(ctx.out, &popped);
            } else {
                ctx.journal_as(b"SREM", key, popped.iter().map(|m| m.as_bytes()));
                ctx.notify(KeyspaceEvents::SET, "spop", key);
                reply_owned(ctx.out, &popped);
                notify_if_deleted(ctx, key);
            }
        }
        _ => return Err(CmdError::Syntax),
    }
    Ok(())
}

pub fn srandmember(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let count = match args.remaining() {
        0 => None,
        1 => Some(random_count_arg(args.bytes()?)?),
        _ => return Err(CmdError::Syntax),
    };
    let mut db = ctx.ks.db(ctx.client.db);
    let set = db.set_value(key)?;
    let rng = &mut ctx.server.rng;
    let Some(count) = count else {
        match set.and_then(|s| s.random_member(rng)) {
            Some(member) => reply_member(ctx.out, member),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let Some(set) = set else {
        ctx.out.array(0);
        return Ok(());
    };
    // A negative count picks with repetition, a positive one distinct members (the whole
    // set, in its order, when the count reaches its size). O(|count|).
    let picks = count.unsigned_abs() as usize;
    let size = set.len();
    if count == 0 || size == 0 {
        ctx.out.array(0);
    } else if count < 0 || count == 1 {
        ctx.out.array(picks);
        for _ in 0..picks {
            if let Some(member) = set.random_member(rng) {
                reply_member(ctx.out, member);
            }
        }
    } else if picks >= size {
        ctx.out.array(size);
        set.iter().for_each(|m| reply_member(ctx.out, m));
    } else {
        ctx.out.array(picks);
        for pos in rand::seq::index::sample(rng, size, picks) {
            if let Some(member) = set.member_at(pos) {
                reply_member(ctx.out, member);
            }
        }
    }
    Ok(())
}

pub fn smove(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (src, dst, member) = (args.bytes()?, args.bytes()?, args.bytes()?);
    // Whether the destination gains a member decides Redis's `sadd` event; a type error here
    // is left for SMOVE itself to report in its order.
    let dst_had_member = ctx
        .db()
        .write_typed(dst, Value::as_set_mut)
        .ok()
        .flatten()
        .is_some_and(|set| set.contains(member));
    let moved = ctx.db().smove(src, dst, member)?;
    if moved {
        ctx.journal_as(b"SREM", src, [member]);
        ctx.journal_as(b"SADD", dst, [member]);
    }
    if moved && src != dst {
        notify_removal(ctx, "srem", src);
        if !dst_had_member {
            ctx.notify(KeyspaceEvents::SET, "sadd", dst);
        }
    }
    ctx.out.int(moved as i64);
    Ok(())
}

pub fn sinter(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let keys = args.rest();
    let common = ctx.db().sinter(keys, true)?;
    reply_owned(ctx.out, &common);
    Ok(())
}

pub fn sintercard(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let numkeys = args
        .int()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    if numkeys as u64 > args.remaining() as u64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let (keys, options) = args.rest().split_at(numkeys as usize);
    let mut limit = 0;
    let mut i = 0;
    while i < options.len() {
        match options.get(i + 1) {
            Some(value) if super::args::is_keyword(options[i], "limit") => {
                limit = int_arg(value)
                    .ok()
                    .filter(|&n| n >= 0)
                    .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?;
                i += 2;
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let common = ctx.db().sinter(keys, true)?.len();
    let count = if limit > 0 {
        common.min(limit as usize)
    } else {
        common
    };
    ctx.out.int(count as i64);
    Ok(())
}

fn sunion_diff(ctx: &mut Ctx, args: &mut Args, op: SetOp) -> CmdResult {
    let keys = args.rest();
    let result = ctx.db().sunion_diff(keys, op, true)?;
    reply_set(ctx.out, &result);
    Ok(())
}

pub fn sunion(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    sunion_diff(ctx, args, SetOp::Union)
}

pub fn sdiff(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    sunion_diff(ctx, args, SetOp::Diff)
}

pub fn sinterstore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let dst = args.bytes()?;
    let keys = args.rest();
    let mut db = ctx.db();
    let common = db.sinter(keys, true)?;
    let max_intset = db.limits().set_max_intset_entries();
    let result = SetValue::from_members(common.iter().map(SmallBytes::as_bytes), max_intset)?;
    let existed = db.exists(dst);
    let stored = db.store_set(dst, result);
    ctx.out.int(stored as i64);
    notify_store(
        ctx,
        KeyspaceEvents::SET,
        "sinterstore",
        dst,
        stored,
        existed,
    );
    Ok(())
}

fn store_union_diff(ctx: &mut Ctx, args: &mut Args, op: SetOp) -> CmdResult {
    let dst = args.bytes()?;
    let keys = args.rest();
    let mut db = ctx.db();
    let result = db.sunion_diff(keys, op, true)?;
    let existed = db.exists(dst);
    let stored = db.store_set(dst, result);
    ctx.out.int(stored as i64);
    let event = match op {
        SetOp::Union => "sunionstore",
        SetOp::Diff => "sdiffstore",
    };
    notify_store(ctx, KeyspaceEvents::SET, event, dst, stored, existed);
    Ok(())
}

pub fn sunionstore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    store_union_diff(ctx, args, SetOp::Union)
}

pub fn sdiffstore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    store_union_diff(ctx, args, SetOp::Diff)
}

pub fn sscan(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let cursor = parse_cursor(args.bytes()?)?;
    // Redis answers a missing key or a wrong type before it looks at the options.
    let opts = parse_scan_options(args, false);
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(set) = db.set_value(key)? else {
        empty_scan(ctx.out);
        return Ok(());
    };
    let opts = opts?;
    let mut found = Vec::new();
    let next = set.scan(cursor, opts.count, |member| {
        let matched = opts
            .pattern
            .is_none_or(|p| member.with_bytes(|m| glob::matches(p, m)));
        if matched {
            found.push(member);
        }
    });
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len());
    found.into_iter().for_each(|m| reply_member(ctx.out, m));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::hashes::tests::bulks;
    use crate::commands::testing::Harness;
    use std::collections::HashSet;

    #[test]
    fn members_encodings_and_errors() {
        let mut h = Harness::new();
        assert_eq!(h.text(&["sadd", "s", "3", "1", "2", "1"]), ":3\r\n");
        assert_eq!(h.text(&["object", "encoding", "s"]), "$6\r\nintset\r\n");
        assert_eq!(bulks(&h.text(&["smembers", "s"])), ["1", "2", "3"]);
        h.assert_replies(&[
            (&["sadd", "s", "a"], ":1\r\n"),
            (&["object", "encoding", "s"], "$9\r\nhashtable\r\n"),
            (&["srem", "s", "a", "zz"], ":1\r\n"),
            (&["object", "encoding", "s"], "$9\r\nhashtable\r\n"),
            (&["sismember", "s", "2"], ":1\r\n"),
            (
                &["smismember", "s", "1", "9", "3"],
                "*3\r\n:1\r\n:0\r\n:1\r\n",
            ),
            (&["scard", "s"], ":3\r\n"),
            (&["srem", "s", "1", "2", "3"], ":3\r\n"),
            (&["exists", "s"], ":0\r\n"),
            (&["smembers", "s"], "*0\r\n"),
        ]);
        h.run(&["set", "str", "v"]);
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for cmd in [
            &["sadd", "str", "a"][..],
            &["srem", "str", "a"],
            &["smembers", "str"],
            &["spop", "str"],
            &["srandmember", "str", "2"],
            &["sinter", "nokey", "str"],
            &["sunion", "str"],
            &["sdiff", "nokey", "str"],
            &["sintercard", "2", "nokey", "str"],
            &["smove", "str", "x", "a"],
            &["sscan", "str", "0"],
        ] {
            assert_eq!(h.text(cmd), wrongtype, "{cmd:?}");
        }
    }

    #[test]
    fn spop_and_srandmember_counts() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["spop", "s"], "$-1\r\n"),
            (&["spop", "s", "3"], "*0\r\n"),
            (
                &["spop", "s", "-1"],
                "-ERR value is out of range, must be positive\r\n",
            ),
            (&["spop", "s", "1", "2"], "-ERR syntax error\r\n"),
            (
                &["srandmember", "s", "x"],
                "-ERR value is not an integer or out of range\r\n",
            ),
        ]);
        for (name, prefix) in [("ints", ""), ("strs", "m")] {
            let members: Vec<String> = (0..100).map(|i| format!("{prefix}{i}")).collect();
            let mut argv = vec!["sadd", name];
            argv.extend(members.iter().map(String::as_str));
            h.run(&argv);
            let all: HashSet<String> = members.iter().cloned().collect();
            for count in [1i64, 10, 99, 100, 150, -1, -250] {
                let got = bulks(&h.text(&["srandmember", name, &count.to_string()]));
                let expected = if count > 0 {
                    (count as usize).min(100)
                } else {
                    count.unsigned_abs() as usize
                };
                assert_eq!(got.len(), expected);
                assert!(got.iter().all(|m| all.contains(m)));
                if count > 0 {
                    assert_eq!(got.iter().collect::<HashSet<_>>().len(), expected);
                }
            }
            let mut left = all.clone();
            for count in [1usize, 10, 50] {
                let got = bulks(&h.text(&["spop", name, &count.to_string()]));
                assert_eq!(got.len(), count);
                for m in &got {
                    assert!(left.remove(m), "{m} popped twice or unknown");
                }
            }
            let one = bulks(&h.text(&["spop", name]));
            assert!(left.remove(&one[0]));
            assert_eq!(h.text(&["scard", name]), format!(":{}\r\n", left.len()));
            let rest = bulks(&h.text(&["spop", name, "1000"]));
            assert_eq!(rest.into_iter().collect::<HashSet<_>>(), left);
            assert_eq!(h.text(&["exists", name]), ":0\r\n");
        }
    }

    #[test]
    fn algebra_and_store() {
        let mut h = Harness::new();
        h.run(&["sadd", "a", "1", "2", "3", "x"]);
        h.run(&["sadd", "b", "2", "3", "4", "x"]);
        h.run(&["sadd", "c", "3", "x", "y"]);
        let sorted = |reply: String| {
            let mut items = bulks(&reply);
            items.sort();
            items
        };
        assert_eq!(sorted(h.text(&["sinter", "a", "b", "c"])), ["3", "x"]);
        assert_eq!(h.text(&["sinter", "a", "nokey"]), "*0\r\n");
        assert_eq!(
            sorted(h.text(&["sunion", "a", "c", "nokey"])),
            ["1", "2", "3", "x", "y"]
        );
        assert_eq!(sorted(h.text(&["sdiff", "a", "b"])), ["1"]);
        h.assert_replies(&[
            (&["sintercard", "3", "a", "b", "c"], ":2\r\n"),
            (&["sintercard", "2", "a", "b", "LIMIT", "1"], ":1\r\n"),
            (
                &["sintercard", "0", "a"],
                "-ERR numkeys should be greater than 0\r\n",
            ),
            (
                &["sintercard", "3", "a", "b"],
                "-ERR Number of keys can't be greater than number of args\r\n",
            ),
            (
                &["sintercard", "1", "a", "LIMIT", "-1"],
                "-ERR LIMIT can't be negative\r\n",
            ),
            (&["sintercard", "1", "a", "LIMIT"], "-ERR syntax error\r\n"),
        ]);
        // Stored results replace any type and expiry, and take the encoding Redis gives them.
        h.run(&["set", "dst", "v", "EX", "100"]);
        h.assert_replies(&[
            (&["sinterstore", "dst", "a", "b"], ":3\r\n"),
            (&["ttl", "dst"], ":-1\r\n"),
            (&["object", "encoding", "dst"], "$9\r\nhashtable\r\n"),
            (&["sdiffstore", "dst", "a", "c"], ":2\r\n"),
            (&["object", "encoding", "dst"], "$6\r\nintset\r\n"),
        ]);
        assert_eq!(bulks(&h.text(&["smembers", "dst"])), ["1", "2"]);
        h.assert_replies(&[
            (&["sunionstore", "dst", "nokey"], ":0\r\n"),
            (&["exists", "dst"], ":0\r\n"),
            (&["smove", "a", "n", "1"], ":1\r\n"),
            (&["object", "encoding", "n"], "$6\r\nintset\r\n"),
            (&["smove", "a", "n", "1"], ":0\r\n"),
            (&["smove", "a", "a", "2"], ":1\r\n"),
            (&["smove", "nokey", "a", "2"], ":0\r\n"),
        ]);
        h.run(&["srem", "a", "3", "x"]);
        assert_eq!(h.text(&["smove", "a", "n", "2"]), ":1\r\n");
        assert_eq!(h.text(&["exists", "a"]), ":0\r\n");
        assert_eq!(bulks(&h.text(&["smembers", "n"])), ["1", "2"]);
    }

    #[test]
    fn sscan_small_whole_and_large_by_cursor() {
        let mut h = Harness::new();
        assert_eq!(h.text(&["sscan", "s", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        h.run(&["sadd", "s", "30", "10", "20"]);
        assert_eq!(
            h.text(&["sscan", "s", "5", "match", "*0", "count", "1"]),
            "*2\r\n$1\r\n0\r\n*3\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n"
        );
        assert_eq!(
            h.text(&["sscan", "s", "0", "count", "0"]),
            "-ERR syntax error\r\n"
        );
        for i in 0..1000 {
            h.run(&["sadd", "big", &format!("m{i}")]);
        }
        let mut cursor = "0".to_string();
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let items = bulks(&h.text(&["sscan", "big", &cursor, "count", "33"]));
            cursor = items[0].clone();
            seen.extend(items[1..].iter().cloned());
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }
}
