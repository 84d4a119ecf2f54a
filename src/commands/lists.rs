//! List commands. Each handler parses and checks its arguments in the order Redis does (so
//! the same error wins when several apply), then touches the list once and replies.

use super::args::{int_arg, is_keyword};
use super::blocking::{self, TimeoutReply};
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::list::{End, ListValue};
use crate::store::{StoreError, Value};

/// Redis's event name for a push at `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Front => "lpush",
        End::Back => "rpush",
    }
}

/// Redis's event name for a pop from `end`.
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

/// Resolves a possibly negative index against `len`; None when out of range.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let index = if index < 0 { len + index } else { index };
    (0..len).contains(&index).then_some(index as usize)
}

/// Redis's start/stop normalisation for LRANGE and LTRIM: the inclusive range to keep, or
/// None when it is empty.
fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

fn push_generic(ctx: &mut Ctx, args: &mut Args, end: End, only_if_exists: bool) -> CmdResult {
    let key = args.bytes()?;
    let elems = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    let list = if only_if_exists {
        match db.write_typed(key, Value::as_list_mut)? {
            Some(list) => list,
            None => {
                ctx.out.int(0);
                return Ok(());
            }
        }
    } else {
        db.write_typed_or_create(key, Value::as_list_mut, Value::new_list)?
    };
    for elem in elems {
        list.push(elem, end);
    }
    let len = list.len();
    db.after_write(key);
    ctx.out.int(len as i64);
    ctx.notify(KeyspaceEvents::LIST, push_event(end), key);
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

/// Pops up to `count` elements from `end` of `list` as an array reply.
fn reply_popped(out: &mut ReplyBuf, list: &mut ListValue, end: End, count: usize) {
    let n = count.min(list.len());
    out.array(n);
    for _ in 0..n {
        list.pop_with(end, |elem| out.bulk(elem));
    }
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
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.write_typed(key, Value::as_list_mut)? else {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    match count {
        Some(0) => {
            ctx.out.array(0);
            return Ok(());
        }
        Some(count) => reply_popped(ctx.out, list, end, count),
        None => {
            if list.pop_with(end, |elem| ctx.out.bulk(elem)).is_none() {
                ctx.out.null();
            }
        }
    }
    let emptied = list.is_empty();
    db.after_write(key);
    notify_removal(ctx, pop_event(end), key, emptied);
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
    let len = ctx
        .ks
        .db(ctx.client.db)
        .read_typed(key, Value::as_list)?
        .map_or(0, ListValue::len);
    ctx.out.int(len as i64);
    Ok(())
}

pub fn lrange(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let (start, stop) = (args.int()?, args.int()?);
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.read_typed(key, Value::as_list)? else {
        ctx.out.array(0);
        return Ok(());
    };
    match resolve_range(start, stop, list.len()) {
        None => ctx.out.array(0),
        Some((start, stop)) => {
            ctx.out.array(stop - start + 1);
            for elem in list.range(start, stop) {
                ctx.out.bulk(elem);
            }
        }
    }
    Ok(())
}

pub fn lindex(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, index) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.read_typed(key, Value::as_list)? else {
        ctx.out.null();
        return Ok(());
    };
    let index = int_arg(index)?;
    match resolve_index(index, list.len()).and_then(|i| list.get(i)) {
        Some(elem) => ctx.out.bulk(elem),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn lset(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, index, elem) = (args.bytes()?, args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.write_typed(key, Value::as_list_mut)? else {
        return Err(StoreError::NoSuchKey.into());
    };
    let index = int_arg(index)?;
    let replaced = resolve_index(index, list.len()).is_some_and(|i| list.set(i, elem));
    if !replaced {
        return Err(StoreError::IndexOutOfRange.into());
    }
    db.after_write(key);
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
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.write_typed(key, Value::as_list_mut)? else {
        ctx.out.int(0);
        return Ok(());
    };
    if !list.insert(pivot, elem, after) {
        ctx.out.int(-1);
        return Ok(());
    }
    let len = list.len();
    db.after_write(key);
    ctx.out.int(len as i64);
    ctx.notify(KeyspaceEvents::LIST, "linsert", key);
    Ok(())
}

pub fn lrem(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let count = args.int()?;
    let elem = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.write_typed(key, Value::as_list_mut)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let from = if count < 0 { End::Back } else { End::Front };
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = list.remove_matching(elem, limit, from);
    let emptied = list.is_empty();
    if removed > 0 {
        db.after_write(key);
    }
    ctx.out.int(removed as i64);
    if removed > 0 {
        notify_removal(ctx, "lrem", key, emptied);
    }
    Ok(())
}

pub fn ltrim(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let (start, stop) = (args.int()?, args.int()?);
    let mut db = ctx.ks.db(ctx.client.db);
    // Redis reports `ltrim` on every existing list, whether or not anything was cut.
    let mut trimmed = None;
    if let Some(list) = db.write_typed(key, Value::as_list_mut)? {
        match resolve_range(start, stop, list.len()) {
            Some((start, stop)) => list.retain_range(start, stop),
            None => list.clear(),
        }
        trimmed = Some(list.is_empty());
        db.after_write(key);
    }
    ctx.out.ok();
    if let Some(emptied) = trimmed {
        notify_removal(ctx, "ltrim", key, emptied);
    }
    Ok(())
}

pub fn lpos(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, elem) = (args.bytes()?, args.bytes()?);
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen: usize = 0;
    while let Some(opt) = args.peek() {
        args.bytes()?;
        let has_value = !args.is_empty();
        if is_keyword(opt, "rank") && has_value {
            rank = args.int()?;
            if rank == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is_keyword(opt, "count") && has_value {
            count = Some(positive_arg(
                args.bytes()?,
                true,
                "ERR COUNT can't be negative",
            )?);
        } else if is_keyword(opt, "maxlen") && has_value {
            maxlen = positive_arg(args.bytes()?, true, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(list) = db.read_typed(key, Value::as_list)? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let from_tail = rank < 0;
    // Redis negates the rank in a C long: i64::MIN stays negative, so every match counts
    // from the first one on and COUNT never stops the scan. Reproduced for exactness.
    let (skip, count) = if rank == i64::MIN {
        (0, count.map(|_| 0))
    } else {
        ((rank.unsigned_abs() - 1) as usize, count)
    };
    let len = list.len();
    let scan_limit = if maxlen == 0 { len } else { maxlen.min(len) };
    let mut found = Vec::new();
    let wanted = match count {
        None | Some(0) => usize::MAX,
        Some(n) => n,
    };
    let mut matches = 0usize;
    let mut visit = |i: usize, candidate: &[u8]| -> bool {
        if candidate == elem {
            matches += 1;
            if matches > skip {
                found.push(if from_tail { len - 1 - i } else { i });
                if count.is_none() || found.len() >= wanted {
                    return false;
                }
            }
        }
        true
    };
    if from_tail {
        for (i, candidate) in list.iter().rev().take(scan_limit).enumerate() {
            if !visit(i, candidate) {
                break;
            }
        }
    } else {
        for (i, candidate) in list.iter().take(scan_limit).enumerate() {
            if !visit(i, candidate) {
                break;
            }
        }
    }
    match count {
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

/// Moves one element from `from` of `src` to `to` of `dst` and replies with it as a bulk.
/// `Ok(false)` (nothing written) when `src` does not exist. Types are checked in Redis's
/// order: the source, then the destination, before anything moves.
pub(crate) fn move_element(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<bool, CmdError> {
    let mut db = ctx.ks.db(ctx.client.db);
    if db.write_typed(src, Value::as_list_mut)?.is_none() {
        return Ok(false);
    }
    if src == dst {
        let mut moved = false;
        if let Some(list) = db.write_typed(src, Value::as_list_mut)? {
            if let Some(elem) = list.pop(from) {
                list.push(&elem, to);
                ctx.out.bulk(&elem);
                moved = true;
            }
        }
        db.after_write(src);
        if moved {
            ctx.notify(KeyspaceEvents::LIST, push_event(to), dst);
            ctx.notify(KeyspaceEvents::LIST, pop_event(from), src);
        }
        return Ok(true);
    }
    db.write_typed(dst, Value::as_list_mut)?;
    let Some((elem, emptied)) = db
        .write_typed(src, Value::as_list_mut)?
        .and_then(|list| list.pop(from).map(|elem| (elem, list.is_empty())))
    else {
        return Ok(false);
    };
    db.after_write(src);
    db.write_typed_or_create(dst, Value::as_list_mut, Value::new_list)?
        .push(&elem, to);
    db.after_write(dst);
    ctx.out.bulk(&elem);
    // Redis's order: the push on the destination, then the pop (and `del`) on the source.
    ctx.notify(KeyspaceEvents::LIST, push_event(to), dst);
    notify_removal(ctx, pop_event(from), src, emptied);
    Ok(true)
}

pub fn lmove(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (src, dst) = (args.bytes()?, args.bytes()?);
    let from = parse_end(args.bytes()?)?;
    let to = parse_end(args.bytes()?)?;
    if !move_element(ctx, src, dst, from, to)? {
        ctx.out.null();
    }
    Ok(())
}

pub fn rpoplpush(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (src, dst) = (args.bytes()?, args.bytes()?);
    if !move_element(ctx, src, dst, End::Back, End::Front)? {
        ctx.out.null();
    }
    Ok(())
}

/// How a pop from the first non-empty of several keys replies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MultiPopReply {
    /// BLPOP/BRPOP: `[key, element]`.
    KeyAndElement,
    /// LMPOP/BLMPOP: `[key, [elements...]]`, up to `count` elements.
    KeyAndElements(usize),
}

/// Pops from the first key (in order) holding a non-empty list and replies; `Ok(false)`
/// (nothing written) when none does. A key of another type met before that is WRONGTYPE.
pub(crate) fn pop_first_nonempty(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    end: End,
    reply: MultiPopReply,
) -> Result<bool, CmdError> {
    let mut db = ctx.ks.db(ctx.client.db);
    for &key in keys {
        let Some(list) = db.write_typed(key, Value::as_list_mut)? else {
            continue;
        };
        if list.is_empty() {
            continue;
        }
        ctx.out.array(2);
        ctx.out.bulk(key);
        match reply {
            MultiPopReply::KeyAndElement => {
                list.pop_with(end, |elem| ctx.out.bulk(elem));
            }
            MultiPopReply::KeyAndElements(count) => reply_popped(ctx.out, list, end, count),
        }
        let emptied = list.is_empty();
        db.after_write(key);
        notify_removal(ctx, pop_event(end), key, emptied);
        return Ok(true);
    }
    Ok(false)
}

/// The arguments of LMPOP/BLMPOP after the timeout: keys, end, count.
pub(crate) struct MultiPopArgs<'a> {
    pub keys: &'a [&'a [u8]],
    pub end: End,
    pub count: usize,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` with Redis's checks and texts.
pub(crate) fn parse_multi_pop<'a>(args: &mut Args<'a>) -> Result<MultiPopArgs<'a>, CmdError> {
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
    if !pop_first_nonempty(ctx, parsed.keys, parsed.end, reply)? {
        ctx.out.null_array();
    }
    Ok(())
}

/// BLPOP/BRPOP: `key [key ...] timeout`.
fn blocking_pop(ctx: &mut Ctx, args: &mut Args, end: End) -> CmdResult {
    let Some((timeout, keys)) = args.rest().split_last() else {
        return Err(CmdError::Syntax);
    };
    let deadline = blocking::parse_timeout(ctx, timeout)?;
    let serving = blocking::serving_keys(ctx, keys);
    if !pop_first_nonempty(ctx, serving, end, MultiPopReply::KeyAndElement)? {
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
    if !move_element(ctx, src, dst, from, to)? {
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
    let deadline = blocking::parse_timeout(ctx, args.bytes()?)?;
    blocking_move(ctx, src, dst, (from, to), deadline)
}

pub fn brpoplpush(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (src, dst) = (args.bytes()?, args.bytes()?);
    let deadline = blocking::parse_timeout(ctx, args.bytes()?)?;
    blocking_move(ctx, src, dst, (End::Back, End::Front), deadline)
}

/// BLMPOP: `timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`; the timeout is checked
/// after the rest, as Redis does.
pub fn blmpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let timeout = args.bytes()?;
    let parsed = parse_multi_pop(args)?;
    let deadline = blocking::parse_timeout(ctx, timeout)?;
    let reply = MultiPopReply::KeyAndElements(parsed.count);
    let serving = blocking::serving_keys(ctx, parsed.keys);
    if !pop_first_nonempty(ctx, serving, parsed.end, reply)? {
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
