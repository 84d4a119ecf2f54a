//! Hash commands.

use super::args::{parse_cursor, parse_scan_options, random_count_arg};
use super::reply::empty_scan;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::glob;
use crate::store::hash::HashValue;
use crate::store::long_double::LongDouble;

pub fn hset(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let pairs = args.pairs()?;
    let added = ctx.db().hset(key, &pairs)?;
    ctx.out.int(added as i64);
    ctx.notify(KeyspaceEvents::HASH, "hset", key);
    Ok(())
}

pub fn hmset(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let pairs = args.pairs()?;
    ctx.db().hset(key, &pairs)?;
    ctx.out.ok();
    ctx.notify(KeyspaceEvents::HASH, "hset", key);
    Ok(())
}

pub fn hsetnx(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, field, value) = (args.bytes()?, args.bytes()?, args.bytes()?);
    let set = ctx.db().hsetnx(key, field, value)?;
    ctx.out.int(set as i64);
    if set {
        ctx.notify(KeyspaceEvents::HASH, "hset", key);
    }
    Ok(())
}

pub fn hget(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, field) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    match db.hash_value(key)?.and_then(|h| h.get(field)) {
        Some(value) => ctx.out.bulk(value),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn hmget(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let fields = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    let hash = db.hash_value(key)?;
    ctx.out.array(fields.len());
    for field in fields {
        match hash.and_then(|h| h.get(field)) {
            Some(value) => ctx.out.bulk(value),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

pub fn hdel(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let fields = args.rest();
    let removed = ctx.db().hdel(key, fields)?;
    if removed > 0 {
        ctx.notify(KeyspaceEvents::HASH, "hdel", key);
        // The store removes a hash left empty.
        if !ctx.db().exists(key) {
            ctx.notify(KeyspaceEvents::GENERIC, "del", key);
        }
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// Replies an integer computed from the hash at the first argument (0-like when missing).
fn hash_int(
    ctx: &mut Ctx,
    key: &[u8],
    reply: impl FnOnce(Option<&HashValue>) -> usize,
) -> CmdResult {
    let mut db = ctx.ks.db(ctx.client.db);
    let value = reply(db.hash_value(key)?);
    ctx.out.int(value as i64);
    Ok(())
}

pub fn hexists(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, field) = (args.bytes()?, args.bytes()?);
    hash_int(ctx, key, |h| h.is_some_and(|h| h.contains(field)) as usize)
}

pub fn hlen(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    hash_int(ctx, key, |h| h.map_or(0, HashValue::len))
}

pub fn hstrlen(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, field) = (args.bytes()?, args.bytes()?);
    hash_int(ctx, key, |h| {
        h.and_then(|h| h.get(field)).map_or(0, |v| v.len())
    })
}

/// What HKEYS/HVALS/HGETALL reply for each pair.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PairParts {
    Fields,
    Values,
    Both,
}

fn hgetall_generic(ctx: &mut Ctx, args: &mut Args, parts: PairParts) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    let hash = db.hash_value(key)?;
    let len = hash.map_or(0, HashValue::len);
    if parts == PairParts::Both {
        ctx.out.map(len);
    } else {
        ctx.out.array(len);
    }
    for (field, value) in hash.into_iter().flat_map(HashValue::iter) {
        if parts != PairParts::Values {
            ctx.out.bulk(field);
        }
        if parts != PairParts::Fields {
            ctx.out.bulk(value);
        }
    }
    Ok(())
}

pub fn hkeys(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    hgetall_generic(ctx, args, PairParts::Fields)
}

pub fn hvals(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    hgetall_generic(ctx, args, PairParts::Values)
}

pub fn hgetall(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    hgetall_generic(ctx, args, PairParts::Both)
}

pub fn hincrby(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, field) = (args.bytes()?, args.bytes()?);
    let delta = args.int()?;
    let value = ctx.db().hincrby(key, field, delta)?;
    ctx.out.int(value);
    ctx.notify(KeyspaceEvents::HASH, "hincrby", key);
    Ok(())
}

pub fn hincrbyfloat(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, field) = (args.bytes()?, args.bytes()?);
    let delta = LongDouble::parse(args.bytes()?).ok_or(CmdError::NotFloat)?;
    if !delta.is_finite() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let text = ctx.db().hincrbyfloat(key, field, &delta)?;
    ctx.out.bulk(text.as_bytes());
    ctx.notify(KeyspaceEvents::HASH, "hincrbyfloat", key);
    Ok(())
}

pub fn hrandfield(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let Some(count_arg) = args.peek() else {
        let mut db = ctx.ks.db(ctx.client.db);
        let pick = db
            .hash_value(key)?
            .and_then(|h| h.pairs().random(&mut ctx.server.rng));
        match pick {
            Some((field, _)) => ctx.out.bulk(field),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    args.bytes()?;
    let count = random_count_arg(count_arg)?;
    let with_values = match args.remaining() {
        0 => false,
        1 if args.eat("withvalues") => true,
        _ => return Err(CmdError::Syntax),
    };
    // Redis bounds the count here so that count * 2 reply elements cannot overflow.
    if with_values && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(hash) = db.hash_value(key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    write_random_pairs(ctx.out, &mut ctx.server.rng, hash, count, with_values);
    Ok(())
}

/// HRANDFIELD with a count: a negative count picks with repetition, a positive one picks
/// distinct fields (the whole hash, in its order, when the count reaches its size).
/// O(|count|), plus O(n) to index a listpack (n <= 128).
fn write_random_pairs(
    out: &mut ReplyBuf,
    rng: &mut impl rand::Rng,
    hash: &HashValue,
    count: i64,
    with_values: bool,
) {
    let pairs = hash.pairs();
    let size = pairs.len();
    let resp3 = out.is_resp3();
    let header = |out: &mut ReplyBuf, n: usize| {
        out.array(if with_values && !resp3 { n * 2 } else { n });
    };
    let write = |out: &mut ReplyBuf, (field, value): (&[u8], &[u8])| {
        if with_values && resp3 {
            out.array(2);
        }
        out.bulk(field);
        if with_values {
            out.bulk(value);
        }
    };
    let picks = count.unsigned_abs() as usize;
    if count == 0 || size == 0 {
        out.array(0);
    } else if count < 0 || count == 1 {
        header(out, picks);
        for _ in 0..picks {
            if let Some(pair) = pairs.random(rng) {
                write(out, pair);
            }
        }
    } else if picks >= size {
        header(out, size);
        (0..size)
            .filter_map(|i| pairs.get(i))
            .for_each(|p| write(out, p));
    } else {
        header(out, picks);
        for pos in rand::seq::index::sample(rng, size, picks) {
            if let Some(pair) = pairs.get(pos) {
                write(out, pair);
            }
        }
    }
}

pub fn hscan(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let cursor = parse_cursor(args.bytes()?)?;
    // Redis answers a missing key or a wrong type before it looks at the options.
    let opts = parse_scan_options(args, false);
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(hash) = db.hash_value(key)? else {
        empty_scan(ctx.out);
        return Ok(());
    };
    let opts = opts?;
    let mut found = Vec::new();
    let next = hash.scan(cursor, opts.count, |field, value| {
        if opts.pattern.is_none_or(|p| glob::matches(p, field)) {
            found.push((field, value));
        }
    });
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(found.len() * 2);
    for (field, value) in found {
        ctx.out.bulk(field);
        ctx.out.bulk(value);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::commands::testing::Harness;
    use std::collections::{HashMap, HashSet};

    /// The bulk strings of a RESP2 reply, in order.
    pub(crate) fn bulks(reply: &str) -> Vec<String> {
        let mut lines = reply.split("\r\n");
        let mut out = Vec::new();
        while let Some(line) = lines.next() {
            if line.starts_with('$') && line != "$-1" {
                out.push(lines.next().unwrap_or_default().to_string());
            }
        }
        out
    }

    #[test]
    fn set_get_delete_and_errors() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["hset", "h", "a", "1", "b", "2"], ":2\r\n"),
            (&["hset", "h", "a", "x", "c", "3"], ":1\r\n"),
            (&["hset", "h", "a", "1", "b"], "-ERR wrong number of arguments for 'hset' command\r\n"),
            (&["hmset", "h", "a"], "-ERR wrong number of arguments for 'hmset' command\r\n"),
            (&["hmset", "h", "d", "4"], "+OK\r\n"),
            (&["hget", "h", "a"], "$1\r\nx\r\n"),
            (&["hget", "h", "zz"], "$-1\r\n"),
            (&["hmget", "h", "a", "zz", "d"], "*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n4\r\n"),
            (&["hgetall", "h"], "*8\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n"),
        ]);
        assert_eq!(bulks(&h.text(&["hkeys", "h"])), ["a", "b", "c", "d"]);
        assert_eq!(bulks(&h.text(&["hvals", "h"])), ["x", "2", "3", "4"]);
        h.assert_replies(&[
            (&["hlen", "h"], ":4\r\n"),
            (&["hstrlen", "h", "a"], ":1\r\n"),
            (&["hexists", "h", "b"], ":1\r\n"),
            (&["hsetnx", "h", "b", "9"], ":0\r\n"),
            (&["hsetnx", "h", "e", "5"], ":1\r\n"),
            (&["hdel", "h", "a", "b", "zz"], ":2\r\n"),
            (&["object", "encoding", "h"], "$8\r\nlistpack\r\n"),
            (&["hdel", "h", "c", "d", "e"], ":3\r\n"),
            (&["exists", "h"], ":0\r\n"),
            (&["hgetall", "h"], "*0\r\n"),
        ]);
        h.run(&["set", "s", "v"]);
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for cmd in [
            &["hset", "s", "a", "1"][..],
            &["hget", "s", "a"],
            &["hmget", "s", "a"],
            &["hdel", "s", "a"],
            &["hlen", "s"],
            &["hgetall", "s"],
            &["hincrby", "s", "a", "1"],
            &["hrandfield", "s"],
            &["hscan", "s", "0"],
        ] {
            assert_eq!(h.text(cmd), wrongtype, "{cmd:?}");
        }
    }

    #[test]
    fn counters_and_their_errors() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["hincrby", "h", "n", "5"], ":5\r\n"),
            (
                &["hincrby", "h", "n", "x"],
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                &["hincrby", "h", "n", "9223372036854775807"],
                "-ERR increment or decrement would overflow\r\n",
            ),
            (&["hincrbyfloat", "h", "n", "1.5"], "$3\r\n6.5\r\n"),
            (
                &["hincrby", "h", "n", "1"],
                "-ERR hash value is not an integer\r\n",
            ),
            (
                &["hincrbyfloat", "h", "n", "inf"],
                "-ERR value is NaN or Infinity\r\n",
            ),
            (
                &["hincrbyfloat", "h", "n", "nan"],
                "-ERR value is not a valid float\r\n",
            ),
        ]);
        h.run(&["hset", "h", "s", "abc"]);
        assert_eq!(
            h.text(&["hincrbyfloat", "h", "s", "1"]),
            "-ERR hash value is not a float\r\n"
        );
        // A failed increment on a missing key leaves no empty hash behind.
        assert_eq!(
            h.text(&["hincrbyfloat", "new", "f", "inf"]),
            "-ERR value is NaN or Infinity\r\n"
        );
        assert_eq!(h.text(&["exists", "new"]), ":0\r\n");
    }

    #[test]
    fn randfield_counts_and_distinctness() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["hrandfield", "h"], "$-1\r\n"),
            (&["hrandfield", "h", "3"], "*0\r\n"),
            (&["hrandfield", "h", "-9223372036854775808"], "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"),
            (&["hrandfield", "h", "9223372036854775807", "withvalues"], "-ERR value is out of range\r\n"),
            (&["hrandfield", "h", "1", "withvalue"], "-ERR syntax error\r\n"),
        ]);
        for (size, label) in [(5, "listpack"), (600, "hashtable")] {
            let mut model = HashMap::new();
            for i in 0..size {
                let (f, v) = (format!("f{i}"), format!("v{i}"));
                h.run(&["hset", label, &f, &v]);
                model.insert(f, v);
            }
            let enc = h.text(&["object", "encoding", label]);
            assert!(enc.contains(label), "{enc}");
            for count in [1i64, 3, 4, 5, 6, 200, 599, 600, 1000, -1, -3, -700] {
                let reply = h.text(&["hrandfield", label, &count.to_string(), "withvalues"]);
                let items = bulks(&reply);
                let picks = if count > 0 {
                    (count as usize).min(size)
                } else {
                    count.unsigned_abs() as usize
                };
                assert_eq!(items.len(), picks * 2, "{label} {count}");
                let mut fields = HashSet::new();
                for pair in items.chunks(2) {
                    assert_eq!(model.get(&pair[0]), Some(&pair[1]));
                    fields.insert(pair[0].clone());
                }
                if count > 0 {
                    assert_eq!(fields.len(), picks, "distinct for {count}");
                }
                let plain = bulks(&h.text(&["hrandfield", label, &count.to_string()]));
                assert_eq!(plain.len(), picks);
                assert!(plain.iter().all(|f| model.contains_key(f)));
            }
            let one = bulks(&h.text(&["hrandfield", label]));
            assert!(one.len() == 1 && model.contains_key(&one[0]));
        }
        // The whole listpack comes back in order when the count covers it.
        assert_eq!(
            bulks(&h.text(&["hrandfield", "listpack", "10"])),
            ["f0", "f1", "f2", "f3", "f4"]
        );
    }

    #[test]
    fn hscan_small_whole_and_large_by_cursor() {
        let mut h = Harness::new();
        assert_eq!(h.text(&["hscan", "h", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        // Options are only parsed for an existing hash, as in Redis.
        assert_eq!(
            h.text(&["hscan", "h", "0", "count", "0"]),
            "*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(h.text(&["hscan", "h", "x"]), "-ERR invalid cursor\r\n");
        h.run(&["hset", "h", "a1", "1", "b", "2", "a2", "3"]);
        assert_eq!(
            h.text(&["hscan", "h", "77", "match", "a*", "count", "1"]),
            "*2\r\n$1\r\n0\r\n*4\r\n$2\r\na1\r\n$1\r\n1\r\n$2\r\na2\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            h.text(&["hscan", "h", "0", "type", "hash"]),
            "-ERR syntax error\r\n"
        );
        for i in 0..500 {
            h.run(&["hset", "big", &format!("f{i}"), &i.to_string()]);
        }
        let mut cursor = "0".to_string();
        let mut seen = HashMap::new();
        for _ in 0..1000 {
            let reply = h.text(&["hscan", "big", &cursor, "count", "20", "match", "f1*"]);
            let items = bulks(&reply);
            cursor = items[0].clone();
            for pair in items[1..].chunks(2) {
                seen.insert(pair[0].clone(), pair[1].clone());
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 111);
        assert_eq!(seen.get("f123").map(String::as_str), Some("123"));
    }
}
