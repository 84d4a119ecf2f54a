//! List commands. Each handler parses and checks its arguments in the order Redis does (so
//! the same error wins when several apply), calls one list operation of the store
//! (`store/list.rs`), then replies and reports the keyspace events from its typed result.

use super::args::{int_arg, is_keyword};
use super::blocking::{self, TimeoutReply};
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::list::{End, Inserted, ListValue, Moved, Popped, PoppedFrom, PositionQuery};

/// Redis's event name for a push at `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Front => "lpush",
        End::Back => "rpush",
    }
}

/// Redis's event name for a pop from `end`: also the name of the command the journal states
/// for it.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Front => "lpop",
        End::Back => "rpop",
    }
}

/// Reports `event` on `key`, then `del` when the change left the list empty (the store
/// removed it).
fn notify_removal(ctx: &mut Ctx, event: &str, key: &[u8], emptied: bool) {
    ctx.notify(KeyspaceEvents::LIST, event, key);
    if emptied {
        ctx.notify(KeyspaceEvents::GENERIC, "del", key);
    }
}

/// `LEFT` or `RIGHT` (any case); a syntax error otherwise.
fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if is_keyword(arg, "left") {
        Ok(End::Front)
    } else if is_keyword(arg, "right") {
        Ok(End::Back)
    } else {
        Err(CmdError::Syntax)
    }
}

/// An integer that must be > 0 (or >= 0 when `zero_ok`), with the caller's error text for
/// anything else, non-numbers included (Redis's `getPositiveLong`/`getRangeLong` style).
fn positive_arg(arg: &[u8], zero_ok: bool, error: &'static str) -> Result<usize, CmdError> {
    match int_arg(arg) {
        Ok(n) if n > 0 || (zero_ok && n == 0) => Ok(n as usize),
        _ => Err(CmdError::msg(error)),
    }
}

/// Replies the elements of a pop as an array.
fn reply_elements(out: &mut ReplyBuf, popped: &Popped) {
    out.array(popped.elements.len());
    for elem in &popped.elements {
        out.bulk(elem);
    }
}

/// Reports a pop from `key` (and `del` when it emptied the list).
fn notify_pop(ctx: &mut Ctx, key: &[u8], popped: &Popped) {
    notify_removal(ctx, pop_event(popped.end), key, popped.emptied);
}

fn push_generic(ctx: &mut Ctx, args: &mut Args, end: End, only_if_exists: bool) -> CmdResult {
    let key = args.bytes()?;
    let elems = args.rest();
    let pushed = ctx.db().list_push(key, elems, end, only_if_exists)?;
    match pushed {
        Some(len) => {
            ctx.out.int(len as i64);
            ctx.notify(KeyspaceEvents::LIST, push_event(end), key);
        }
        None => ctx.out.int(0),
    }
    Ok(())
}

pub fn lpush(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    push_generic(ctx, args, End::Front, false)
}

pub fn rpush(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    push_generic(ctx, args, End::Back, false)
}

pub fn lpushx(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    push_generic(ctx, args, End::Front, true)
}

pub fn rpushx(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    push_generic(ctx, args, End::Back, true)
}

fn pop_generic(ctx: &mut Ctx, args: &mut Args, end: End) -> CmdResult {
    let key = args.bytes()?;
    if args.remaining() > 1 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.client.last_command
        )));
    }
    let count = match args.peek() {
        Some(arg) => Some(positive_arg(
            arg,
            true,
            "ERR value is out of range, must be positive",
        )?),
        None => None,
    };
    let popped = ctx.db().list_pop(key, end, count.unwrap_or(1))?;
    let Some(popped) = popped else {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    match count {
        Some(_) => reply_elements(ctx.out, &popped),
        None => match popped.elements.first() {
            Some(elem) => ctx.out.bulk(elem),
            None => ctx.out.null(),
        },
    }
    if !popped.elements.is_empty() {
        notify_pop(ctx, key, &popped);
    }
    Ok(())
}

pub fn lpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    pop_generic(ctx, args, End::Front)
}

pub fn rpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    pop_generic(ctx, args, End::Back)
}

pub fn llen(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let len = ctx.db().list_value(key)?.map_or(0, ListValue::len);
    ctx.out.int(len as i64);
    Ok(())
}

pub fn lrange(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let (start, stop) = (args.int()?, args.int()?);
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.list_value(key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let elems = list.slice(start, stop);
    ctx.out.array(elems.len());
    for elem in elems {
        ctx.out.bulk(elem);
    }
    Ok(())
}

pub fn lindex(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, index) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.list_value(key)? else {
        ctx.out.null();
        return Ok(());
    };
    // Read only once the list is found: Redis reports WRONGTYPE or a missing key first.
    let index = int_arg(index)?;
    match list.at(index) {
        Some(elem) => ctx.out.bulk(elem),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn lset(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, index, elem) = (args.bytes()?, args.bytes()?, args.bytes()?);
    ctx.db().list_set(key, index, elem)?;
    ctx.out.ok();
    ctx.notify(KeyspaceEvents::LIST, "lset", key);
    Ok(())
}

pub fn linsert(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, place) = (args.bytes()?, args.bytes()?);
    let (pivot, elem) = (args.bytes()?, args.bytes()?);
    let after = if is_keyword(place, "after") {
        true
    } else if is_keyword(place, "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let inserted = ctx.db().list_insert(key, pivot, elem, after)?;
    match inserted {
        Inserted::NoList => ctx.out.int(0),
        Inserted::NoPivot => ctx.out.int(-1),
        Inserted::Len(len) => {
            ctx.notify(KeyspaceEvents::LIST, "linsert", key);
            ctx.out.int(len as i64);
        }
    }
    Ok(())
}

pub fn lrem(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let count = args.int()?;
    let elem = args.bytes()?;
    let removed = ctx.db().list_remove(key, count, elem)?;
    if removed.count > 0 {
        notify_removal(ctx, "lrem", key, removed.emptied);
    }
    ctx.out.int(removed.count as i64);
    Ok(())
}

pub fn ltrim(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let (start, stop) = (args.int()?, args.int()?);
    let trimmed = ctx.db().list_trim(key, start, stop)?;
    // Redis reports `ltrim` on every existing list, whether or not anything was cut.
    if let Some(emptied) = trimmed {
        notify_removal(ctx, "ltrim", key, emptied);
    }
    ctx.out.ok();
    Ok(())
}

pub fn lpos(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, elem) = (args.bytes()?, args.bytes()?);
    let mut query = PositionQuery {
        rank: 1,
        count: None,
        max_len: 0,
    };
    while let Some(opt) = args.peek() {
        args.bytes()?;
        let has_value = !args.is_empty();
        if is_keyword(opt, "rank") && has_value {
            query.rank = args.int()?;
            if query.rank == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is_keyword(opt, "count") && has_value {
            query.count = Some(positive_arg(
                args.bytes()?,
                true,
                "ERR COUNT can't be negative",
            )?);
        } else if is_keyword(opt, "maxlen") && has_value {
            query.max_len = positive_arg(args.bytes()?, true, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // A missing list has no matches.
    let found = ctx
        .db()
        .list_value(key)?
        .map_or_else(Vec::new, |list| list.positions(elem, query));
    match query.count {
        Some(_) => {
            ctx.out.array(found.len());
            for index in found {
                ctx.out.int(index as i64);
            }
        }
        None => match found.first() {
            Some(&index) => ctx.out.int(index as i64),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

/// Moves one element from `from` of `src` to `to` of `dst`, replies with it as a bulk and
/// reports the events. `None` (nothing written) when `src` holds no list.
fn move_element(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Moved>, CmdError> {
    let Some(moved) = ctx.db().list_move(src, dst, from, to)? else {
        return Ok(None);
    };
    ctx.journal_as(pop_event(moved.from).as_bytes(), src, []);
    ctx.journal_as(push_event(moved.to).as_bytes(), dst, [&moved.element[..]]);
    // Redis's order: the push on the destination, the reply, then the pop (and `del`) on the
    // source (a RESP3 client subscribed to its own events sees them around the reply so).
    ctx.notify(KeyspaceEvents::LIST, push_event(moved.to), dst);
    ctx.out.bulk(&moved.element);
    notify_removal(ctx, pop_event(moved.from), src, moved.source_emptied);
    Ok(Some(moved))
}

pub fn lmove(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (src, dst) = (args.bytes()?, args.bytes()?);
    let from = parse_end(args.bytes()?)?;
    let to = parse_end(args.bytes()?)?;
    if move_element(ctx, src, dst, from, to)?.is_none() {
        ctx.out.null();
    }
    Ok(())
}

pub fn rpoplpush(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (src, dst) = (args.bytes()?, args.bytes()?);
    if move_element(ctx, src, dst, End::Back, End::Front)?.is_none() {
        ctx.out.null();
    }
    Ok(())
}

/// How a pop from the first non-empty of several keys replies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MultiPopReply {
    /// BLPOP/BRPOP: `[key, element]`.
    KeyAndElement,
    /// LMPOP/BLMPOP: `[key, [elements...]]`, up to `count` elements.
    KeyAndElements(usize),
}

/// Pops from the first key (in order) holding a non-empty list, replies and reports the
/// events; `None` (nothing written) when none does. A key of another type met before that is
/// WRONGTYPE.
fn pop_first_nonempty<'k>(
    ctx: &mut Ctx,
    keys: &[&'k [u8]],
    end: End,
    reply: MultiPopReply,
) -> Result<Option<PoppedFrom<'k>>, CmdError> {
    let count = match reply {
        MultiPopReply::KeyAndElement => 1,
        MultiPopReply::KeyAndElements(count) => count,
    };
    let Some(served) = ctx.db().list_pop_first(keys, end, count)? else {
        return Ok(None);
    };
    ctx.out.array(2);
    ctx.out.bulk(served.key);
    match reply {
        MultiPopReply::KeyAndElement => {
            if let Some(elem) = served.popped.elements.first() {
                ctx.out.bulk(elem);
            }
        }
        MultiPopReply::KeyAndElements(_) => reply_elements(ctx.out, &served.popped),
    }
    let mut count = itoa::Buffer::new();
    let count = count.format(served.popped.elements.len());
    ctx.journal_as(pop_event(end).as_bytes(), served.key, [count.as_bytes()]);
    notify_pop(ctx, served.key, &served.popped);
    Ok(Some(served))
}

/// The arguments of LMPOP/BLMPOP after the timeout: keys, end, count.
struct MultiPopArgs<'a> {
    keys: &'a [&'a [u8]],
    end: End,
    count: usize,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` with Redis's checks and texts.
fn parse_multi_pop<'a>(args: &mut Args<'a>) -> Result<MultiPopArgs<'a>, CmdError> {
    let numkeys = positive_arg(args.bytes()?, false, "ERR numkeys should be greater than 0")?;
    let rest = args.rest();
    if numkeys >= rest.len() {
        return Err(CmdError::Syntax);
    }
    let (keys, rest) = rest.split_at(numkeys);
    let end = parse_end(rest[0])?;
    let mut count = None;
    let mut options = rest[1..].iter();
    while let Some(opt) = options.next() {
        match options.as_slice().first() {
            Some(value) if count.is_none() && is_keyword(opt, "count") => {
                count = Some(positive_arg(
                    value,
                    false,
                    "ERR count should be greater than 0",
                )?);
                options.next();
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    Ok(MultiPopArgs {
        keys,
        end,
        count: count.unwrap_or(1),
    })
}

pub fn lmpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let parsed = parse_multi_pop(args)?;
    let reply = MultiPopReply::KeyAndElements(parsed.count);
    if pop_first_nonempty(ctx, parsed.keys, parsed.end, reply)?.is_none() {
        ctx.out.null_array();
    }
    Ok(())
}

/// BLPOP/BRPOP: `key [key ...] timeout`.
fn blocking_pop(ctx: &mut Ctx, args: &mut Args, end: End) -> CmdResult {
    let Some((timeout, keys)) = args.rest().split_last() else {
        return Err(CmdError::Syntax);
    };
    let deadline = blocking::parse_timeout(timeout)?;
    let serving = blocking::serving_keys(ctx, keys);
    if pop_first_nonempty(ctx, serving, end, MultiPopReply::KeyAndElement)?.is_none() {
        blocking::block(ctx, keys, deadline, TimeoutReply::NullArray);
    }
    Ok(())
}

pub fn blpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    blocking_pop(ctx, args, End::Front)
}

pub fn brpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    blocking_pop(ctx, args, End::Back)
}

/// BLMOVE/BRPOPLPUSH once the arguments are parsed. Redis 7.0 replies a null *array* when
/// the wait times out, but a null *bulk* when the source is empty inside MULTI.
fn blocking_move(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    (from, to): (End, End),
    deadline: Option<u64>,
) -> CmdResult {
    if move_element(ctx, src, dst, from, to)?.is_none() {
        if ctx.client.in_multi {
            ctx.out.null();
        } else {
            blocking::block(ctx, &[src], deadline, TimeoutReply::NullArray);
        }
    }
    Ok(())
}

pub fn blmove(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (src, dst) = (args.bytes()?, args.bytes()?);
    let from = parse_end(args.bytes()?)?;
    let to = parse_end(args.bytes()?)?;
    let deadline = blocking::parse_timeout(args.bytes()?)?;
    blocking_move(ctx, src, dst, (from, to), deadline)
}

pub fn brpoplpush(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (src, dst) = (args.bytes()?, args.bytes()?);
    let deadline = blocking::parse_timeout(args.bytes()?)?;
    blocking_move(ctx, src, dst, (End::Back, End::Front), deadline)
}

/// BLMPOP: `timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`; the timeout is checked
/// after the rest, as Redis does.
pub fn blmpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let timeout = args.bytes()?;
    let parsed = parse_multi_pop(args)?;
    let deadline = blocking::parse_timeout(timeout)?;
    let reply = MultiPopReply::KeyAndElements(parsed.count);
    let serving = blocking::serving_keys(ctx, parsed.keys);
    if pop_first_nonempty(ctx, serving, parsed.end, reply)?.is_none() {
        blocking::block(ctx, parsed.keys, deadline, TimeoutReply::NullArray);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    fn list(h: &mut Harness, key: &str) -> String {
        h.text(&["lrange", key, "0", "-1"])
    }

    #[test]
    fn push_and_pop_reply_like_redis() {
        let mut h = Harness::new();
        assert_eq!(h.text(&["rpush", "l", "a", "b", "c"]), ":3\r\n");
        assert_eq!(h.text(&["lpush", "l", "z"]), ":4\r\n");
        assert_eq!(h.text(&["lpushx", "nokey", "a"]), ":0\r\n");
        assert_eq!(h.text(&["rpushx", "l", "d"]), ":5\r\n");
        assert_eq!(h.text(&["lpop", "l"]), "$1\r\nz\r\n");
        assert_eq!(h.text(&["rpop", "l", "2"]), "*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
        assert_eq!(h.text(&["lpop", "l", "0"]), "*0\r\n");
        assert_eq!(
            h.text(&["lpop", "l", "-1"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(h.text(&["lpop", "nokey", "2"]), "*-1\r\n");
        assert_eq!(h.text(&["lpop", "nokey"]), "$-1\r\n");
        assert_eq!(
            h.text(&["lpop", "l", "1", "2"]),
            "-ERR wrong number of arguments for 'lpop' command\r\n"
        );
        assert_eq!(h.text(&["lpop", "l", "10"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(h.text(&["exists", "l"]), ":0\r\n");
    }

    #[test]
    fn wrong_type_and_argument_errors() {
        let mut h = Harness::new();
        h.text(&["set", "s", "v"]);
        for cmd in [
            &["lpush", "s", "a"][..],
            &["rpushx", "s", "a"],
            &["lpop", "s"],
            &["llen", "s"],
            &["lrange", "s", "0", "1"],
            &["lindex", "s", "x"],
            &["lset", "s", "x", "a"],
            &["lrem", "s", "1", "a"],
            &["ltrim", "s", "0", "1"],
            &["lpos", "s", "a"],
            &["lmove", "s", "d", "left", "left"],
            &["lmpop", "1", "s", "left"],
        ] {
            assert_eq!(h.text(cmd), WRONGTYPE, "{cmd:?}");
        }
        assert_eq!(
            h.text(&["lrange", "s", "x", "1"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(h.text(&["lset", "nokey", "0", "a"]), "-ERR no such key\r\n");
        assert_eq!(
            h.text(&["linsert", "s", "middle", "a", "b"]),
            "-ERR syntax error\r\n"
        );
    }

    #[test]
    fn index_set_insert_remove_trim() {
        let mut h = Harness::new();
        h.text(&["rpush", "l", "1", "2", "3", "4", "5"]);
        assert_eq!(h.text(&["lindex", "l", "-1"]), "$1\r\n5\r\n");
        assert_eq!(h.text(&["lindex", "l", "5"]), "$-1\r\n");
        assert_eq!(h.text(&["lset", "l", "-5", "one"]), "+OK\r\n");
        assert_eq!(
            h.text(&["lset", "l", "5", "x"]),
            "-ERR index out of range\r\n"
        );
        assert_eq!(h.text(&["linsert", "l", "AFTER", "3", "x"]), ":6\r\n");
        assert_eq!(h.text(&["linsert", "l", "before", "zz", "x"]), ":-1\r\n");
        assert_eq!(h.text(&["lrem", "l", "0", "x"]), ":1\r\n");
        assert_eq!(h.text(&["ltrim", "l", "1", "-2"]), "+OK\r\n");
        assert_eq!(list(&mut h, "l"), "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n");
        assert_eq!(h.text(&["ltrim", "l", "5", "1"]), "+OK\r\n");
        assert_eq!(h.text(&["exists", "l"]), ":0\r\n");
    }

    #[test]
    fn lpos_options() {
        let mut h = Harness::new();
        h.text(&["rpush", "l", "a", "b", "a", "c", "a"]);
        assert_eq!(h.text(&["lpos", "l", "a"]), ":0\r\n");
        assert_eq!(h.text(&["lpos", "l", "a", "rank", "-1"]), ":4\r\n");
        assert_eq!(
            h.text(&["lpos", "l", "a", "rank", "2", "count", "0"]),
            "*2\r\n:2\r\n:4\r\n"
        );
        assert_eq!(
            h.text(&["lpos", "l", "a", "count", "0", "maxlen", "2"]),
            "*1\r\n:0\r\n"
        );
        assert_eq!(h.text(&["lpos", "l", "z", "count", "1"]), "*0\r\n");
        assert_eq!(h.text(&["lpos", "l", "z"]), "$-1\r\n");
        assert_eq!(
            h.text(&["lpos", "l", "a", "count", "x"]),
            "-ERR COUNT can't be negative\r\n"
        );
        assert_eq!(h.text(&["lpos", "l", "a", "rank"]), "-ERR syntax error\r\n");
    }

    #[test]
    fn blocking_forms_answer_at_once_when_they_can() {
        let mut h = Harness::new();
        h.text(&["rpush", "l", "a", "b", "c", "d"]);
        h.text(&["set", "s", "v"]);
        assert_eq!(
            h.text(&["blpop", "nokey", "l", "0"]),
            "*2\r\n$1\r\nl\r\n$1\r\na\r\n"
        );
        assert_eq!(
            h.text(&["brpop", "l", "s", "0"]),
            "*2\r\n$1\r\nl\r\n$1\r\nd\r\n"
        );
        assert_eq!(h.text(&["blpop", "s", "l", "0"]), WRONGTYPE);
        assert_eq!(
            h.text(&["blmove", "l", "d", "right", "left", "0"]),
            "$1\r\nc\r\n"
        );
        assert_eq!(h.text(&["brpoplpush", "d", "d", "0"]), "$1\r\nc\r\n");
        assert_eq!(
            h.text(&["blmpop", "0", "2", "nokey", "l", "left", "count", "3"]),
            "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            h.text(&["blpop", "l", "-1"]),
            "-ERR timeout is negative\r\n"
        );
        assert_eq!(
            h.text(&["blmpop", "x", "0", "l", "left"]),
            "-ERR numkeys should be greater than 0\r\n"
        );
        assert_eq!(
            h.text(&["blmove", "l", "d", "left", "up", "x"]),
            "-ERR syntax error\r\n"
        );
    }

    #[test]
    fn blocking_forms_block_when_nothing_is_there() {
        let mut h = Harness::new();
        for cmd in [
            &["blpop", "a", "b", "0"][..],
            &["brpop", "a", "1.5"],
            &["blmove", "a", "d", "left", "left", "0"],
            &["brpoplpush", "a", "d", "0"],
            &["blmpop", "0.1", "1", "a", "right"],
        ] {
            assert_eq!(h.text(cmd), "", "{cmd:?}");
            assert!(h.client.block.take().is_some(), "{cmd:?}");
        }
        h.client.in_multi = true;
        assert_eq!(h.text(&["blpop", "a", "0"]), "*-1\r\n");
        assert_eq!(
            h.text(&["blmove", "a", "d", "left", "left", "0"]),
            "$-1\r\n"
        );
        assert_eq!(h.text(&["brpoplpush", "a", "d", "0"]), "$-1\r\n");
        assert_eq!(h.text(&["blmpop", "0", "1", "a", "left"]), "*-1\r\n");
    }

    #[test]
    fn moves_and_multi_pops() {
        let mut h = Harness::new();
        h.text(&["rpush", "l", "a", "b", "c"]);
        assert_eq!(h.text(&["lmove", "l", "d", "left", "right"]), "$1\r\na\r\n");
        assert_eq!(h.text(&["lmove", "l", "l", "left", "right"]), "$1\r\nb\r\n");
        assert_eq!(list(&mut h, "l"), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
        assert_eq!(h.text(&["rpoplpush", "nokey", "d"]), "$-1\r\n");
        assert_eq!(h.text(&["rpoplpush", "l", "d"]), "$1\r\nb\r\n");
        assert_eq!(list(&mut h, "d"), "*2\r\n$1\r\nb\r\n$1\r\na\r\n");
        assert_eq!(
            h.text(&["lmpop", "2", "nokey", "d", "right", "count", "5"]),
            "*2\r\n$1\r\nd\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(h.text(&["lmpop", "1", "d", "left"]), "*-1\r\n");
        assert_eq!(
            h.text(&["lmpop", "0", "d", "left"]),
            "-ERR numkeys should be greater than 0\r\n"
        );
        assert_eq!(
            h.text(&["lmpop", "2", "d", "left"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            h.text(&["lmpop", "1", "d", "left", "count", "0"]),
            "-ERR count should be greater than 0\r\n"
        );
        assert_eq!(
            h.text(&["lmpop", "1", "d", "left", "count", "1", "count", "1"]),
            "-ERR syntax error\r\n"
        );
    }
}
