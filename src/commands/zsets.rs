//! Sorted-set commands (ZADD, ZRANGE, ZUNIONSTORE, BZPOPMIN, ...), with Redis 7.0's argument
//! rules, error texts and reply shapes (RESP3: scores as doubles, WITHSCORES as [member,
//! score] pairs).

use super::args::{int_arg, is_keyword};
use super::args::{parse_cursor, parse_scan_options};
use super::blocking::{block, parse_timeout, serving_keys, TimeoutReply};
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::glob;
use crate::store::sorted_set::{parse_lex_bound, parse_score, parse_score_bound, ZSetError};
use crate::store::zset::{Aggregate, SetOp, ZAddFlags, ZRange, ZRangeSpec};

/// The error Redis gives for a bad ZRANGEBYSCORE-style bound.
fn score_bound_error(_: ZSetError) -> CmdError {
    CmdError::msg("ERR min or max is not a float")
}

/// The error Redis gives for a bad ZRANGEBYLEX-style bound.
fn lex_bound_error(_: ZSetError) -> CmdError {
    CmdError::msg("ERR min or max not valid string range item")
}

/// Parses a score range (`min max` in ZCOUNT order).
fn score_range(min: &[u8], max: &[u8]) -> Result<ZRange, CmdError> {
    Ok(ZRange::Score {
        min: parse_score_bound(min).map_err(score_bound_error)?,
        max: parse_score_bound(max).map_err(score_bound_error)?,
    })
}

/// Parses a lex range (`min max` in ZLEXCOUNT order).
fn lex_range(min: &[u8], max: &[u8]) -> Result<ZRange, CmdError> {
    Ok(ZRange::Lex {
        min: parse_lex_bound(min).map_err(lex_bound_error)?,
        max: parse_lex_bound(max).map_err(lex_bound_error)?,
    })
}

/// Writes (member, score) pairs: members only, or with scores flat (RESP2) or as
/// [member, score] pairs (RESP3, and `nested` replies in RESP2 never).
fn reply_pairs(out: &mut ReplyBuf, items: &[(&[u8], f64)], withscores: bool, nested: bool) {
    if withscores && !nested {
        out.array(items.len() * 2);
    } else {
        out.array(items.len());
    }
    for &(member, score) in items {
        if withscores && nested {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            out.double(score);
        }
    }
}

/// Like [`reply_pairs`] for owned pairs.
fn reply_owned_pairs(
    out: &mut ReplyBuf,
    items: &[(Box<[u8]>, f64)],
    withscores: bool,
    nested: bool,
) {
    let borrowed: Vec<(&[u8], f64)> = items.iter().map(|(m, s)| (&**m, *s)).collect();
    reply_pairs(out, &borrowed, withscores, nested);
}

/// Reports `event` on `key`, then `del` when the change left the sorted set empty (the store
/// removed it).
fn notify_removal(ctx: &mut Ctx, event: &str, key: &[u8]) {
    ctx.notify(KeyspaceEvents::ZSET, event, key);
    if !ctx.db().exists(key) {
        ctx.notify(KeyspaceEvents::GENERIC, "del", key);
    }
}

/// Reports a *STORE into `dst`: `event` when a sorted set was stored, `del` when the empty
/// result removed an existing key, nothing otherwise (as Redis).
fn notify_store(ctx: &mut Ctx, event: &str, dst: &[u8], stored: usize, existed: bool) {
    if stored > 0 {
        ctx.notify(KeyspaceEvents::ZSET, event, dst);
    } else if existed {
        ctx.notify(KeyspaceEvents::GENERIC, "del", dst);
    }
}

/// The event of a pop from the low or high end.
fn pop_event(max: bool) -> &'static str {
    if max {
        "zpopmax"
    } else {
        "zpopmin"
    }
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM
// ---------------------------------------------------------------------------------------------

pub fn zadd(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut flags = ZAddFlags::default();
    let mut ch = false;
    while let Some(opt) = args.peek() {
        if is_keyword(opt, "nx") {
            flags.nx = true;
        } else if is_keyword(opt, "xx") {
            flags.xx = true;
        } else if is_keyword(opt, "ch") {
            ch = true;
        } else if is_keyword(opt, "incr") {
            flags.incr = true;
        } else if is_keyword(opt, "gt") {
            flags.gt = true;
        } else if is_keyword(opt, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        args.bytes()?;
    }
    let rest = args.rest();
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && rest.len() > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let pairs = rest
        .chunks_exact(2)
        .map(|pair| {
            Ok((
                parse_score(pair[0]).map_err(|_| CmdError::NotFloat)?,
                pair[1],
            ))
        })
        .collect::<Result<Vec<(f64, &[u8])>, CmdError>>()?;
    let outcome = ctx.db().zadd(key, flags, &pairs)?;
    if flags.incr {
        if outcome.processed > 0 {
            ctx.out.double(outcome.score);
        } else {
            ctx.out.null();
        }
    } else if ch {
        ctx.out.int((outcome.added + outcome.updated) as i64);
    } else {
        ctx.out.int(outcome.added as i64);
    }
    if outcome.added + outcome.updated > 0 {
        let event = if flags.incr { "zincr" } else { "zadd" };
        ctx.notify(KeyspaceEvents::ZSET, event, key);
    }
    Ok(())
}

pub fn zincrby(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let increment = parse_score(args.bytes()?).map_err(|_| CmdError::NotFloat)?;
    let member = args.bytes()?;
    let flags = ZAddFlags {
        incr: true,
        ..Default::default()
    };
    let outcome = ctx.db().zadd(key, flags, &[(increment, member)])?;
    ctx.out.double(outcome.score);
    if outcome.added + outcome.updated > 0 {
        ctx.notify(KeyspaceEvents::ZSET, "zincr", key);
    }
    Ok(())
}

pub fn zrem(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let members = args.rest();
    let removed = ctx.db().zrem(key, members)?;
    if removed > 0 {
        notify_removal(ctx, "zrem", key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Point reads
// ---------------------------------------------------------------------------------------------

pub fn zcard(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let len = ctx.db().zset(key)?.map_or(0, |z| z.len());
    ctx.out.int(len as i64);
    Ok(())
}

pub fn zscore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, member) = (args.bytes()?, args.bytes()?);
    match ctx.db().zset(key)?.and_then(|z| z.set().score(member)) {
        Some(score) => ctx.out.double(score),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn zmscore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let members = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    let zset = db.zset(key)?;
    ctx.out.array(members.len());
    for member in members {
        match zset.and_then(|z| z.set().score(member)) {
            Some(score) => ctx.out.double(score),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn rank_generic(ctx: &mut Ctx, args: &mut Args, rev: bool) -> CmdResult {
    let (key, member) = (args.bytes()?, args.bytes()?);
    let rank = ctx.db().zset(key)?.and_then(|z| {
        if rev {
            z.set().rev_rank(member)
        } else {
            z.set().rank(member)
        }
    });
    match rank {
        Some(rank) => ctx.out.int(rank as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn zrank(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    rank_generic(ctx, args, false)
}

pub fn zrevrank(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    rank_generic(ctx, args, true)
}

pub fn zcount(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let ZRange::Score { min, max } = score_range(args.bytes()?, args.bytes()?)? else {
        return Err(CmdError::Syntax);
    };
    let count = ctx
        .db()
        .zset(key)?
        .map_or(0, |z| z.set().count_by_score(&min, &max));
    ctx.out.int(count as i64);
    Ok(())
}

pub fn zlexcount(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let ZRange::Lex { min, max } = lex_range(args.bytes()?, args.bytes()?)? else {
        return Err(CmdError::Syntax);
    };
    let count = ctx
        .db()
        .zset(key)?
        .map_or(0, |z| z.set().count_by_lex(&min, &max));
    ctx.out.int(count as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANGE and its variants
// ---------------------------------------------------------------------------------------------

/// The range kind a ZRANGE variant fixes, or `Auto` when options choose it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed ZRANGE-family request.
struct RangeRequest<'a> {
    key: &'a [u8],
    spec: ZRangeSpec,
    withscores: bool,
}

/// Parses `key min max [options]` as Redis's `zrangeGenericCommand`: options first (in
/// order, each error as met), then the conflicts, then the range itself. `kind` and
/// `reverse` are what the command fixes (`Auto`/`None` let options choose).
fn parse_range<'a>(
    args: &mut Args<'a>,
    store: bool,
    kind: RangeKind,
    reverse: Option<bool>,
) -> Result<RangeRequest<'a>, CmdError> {
    let key = args.bytes()?;
    let (mut min, mut max) = (args.bytes()?, args.bytes()?);
    let mut kind_chosen = kind;
    let mut rev = reverse;
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    while let Some(opt) = args.peek() {
        args.bytes()?;
        if !store && is_keyword(opt, "withscores") {
            withscores = true;
        } else if is_keyword(opt, "limit") && args.remaining() >= 2 {
            offset = args.int()?;
            limit = args.int()?;
        } else if rev.is_none() && is_keyword(opt, "rev") {
            rev = Some(true);
        } else if kind_chosen == RangeKind::Auto && is_keyword(opt, "bylex") {
            kind_chosen = RangeKind::Lex;
        } else if kind_chosen == RangeKind::Auto && is_keyword(opt, "byscore") {
            kind_chosen = RangeKind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let rev = rev.unwrap_or(false);
    let kind = match kind_chosen {
        RangeKind::Auto => RangeKind::Rank,
        other => other,
    };
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && kind != RangeKind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let range = match kind {
        RangeKind::Score => score_range(min, max)?,
        RangeKind::Lex => lex_range(min, max)?,
        _ => ZRange::Rank {
            start: int_arg(min)?,
            stop: int_arg(max)?,
        },
    };
    Ok(RangeRequest {
        key,
        spec: ZRangeSpec {
            range,
            rev,
            offset,
            limit,
        },
        withscores,
    })
}

fn range_generic(
    ctx: &mut Ctx,
    args: &mut Args,
    kind: RangeKind,
    reverse: Option<bool>,
) -> CmdResult {
    let request = parse_range(args, false, kind, reverse)?;
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(zset) = db.zset(request.key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let items: Vec<(&[u8], f64)> = request.spec.iter(zset.set()).collect();
    let nested = ctx.out.is_resp3();
    reply_pairs(ctx.out, &items, request.withscores, nested);
    Ok(())
}

pub fn zrange(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    range_generic(ctx, args, RangeKind::Auto, None)
}

pub fn zrevrange(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    range_generic(ctx, args, RangeKind::Rank, Some(true))
}

pub fn zrangebyscore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    range_generic(ctx, args, RangeKind::Score, Some(false))
}

pub fn zrevrangebyscore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    range_generic(ctx, args, RangeKind::Score, Some(true))
}

pub fn zrangebylex(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    range_generic(ctx, args, RangeKind::Lex, Some(false))
}

pub fn zrevrangebylex(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    range_generic(ctx, args, RangeKind::Lex, Some(true))
}

pub fn zrangestore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let dst = args.bytes()?;
    let request = parse_range(args, true, RangeKind::Auto, None)?;
    let existed = ctx.db().exists(dst);
    let stored = ctx.db().zrangestore(dst, request.key, &request.spec)?;
    ctx.out.int(stored as i64);
    notify_store(ctx, "zrangestore", dst, stored, existed);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Removal by range, pops
// ---------------------------------------------------------------------------------------------

pub fn zremrangebyrank(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let range = ZRange::Rank {
        start: args.int()?,
        stop: args.int()?,
    };
    remove_range(ctx, key, &range, "zremrangebyrank")
}

pub fn zremrangebyscore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let range = score_range(args.bytes()?, args.bytes()?)?;
    remove_range(ctx, key, &range, "zremrangebyscore")
}

pub fn zremrangebylex(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let range = lex_range(args.bytes()?, args.bytes()?)?;
    remove_range(ctx, key, &range, "zremrangebylex")
}

/// ZREMRANGEBY*: removes `range` from `key`, replies with the count and reports `event`.
fn remove_range(ctx: &mut Ctx, key: &[u8], range: &ZRange, event: &str) -> CmdResult {
    let removed = ctx.db().zremrange(key, range)?;
    if removed > 0 {
        notify_removal(ctx, event, key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn pop_generic(ctx: &mut Ctx, args: &mut Args, max: bool) -> CmdResult {
    let key = args.bytes()?;
    if args.remaining() > 1 {
        return Err(CmdError::Syntax);
    }
    let count = match args.peek() {
        Some(arg) => Some(
            int_arg(arg)
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))?,
        ),
        None => None,
    };
    let popped = ctx.db().zpop(&[key], max, count.unwrap_or(1))?;
    let items = popped.map(|(_, items)| items).unwrap_or_default();
    let nested = ctx.out.is_resp3() && count.is_some();
    reply_owned_pairs(ctx.out, &items, true, nested);
    if !items.is_empty() {
        notify_removal(ctx, pop_event(max), key);
    }
    Ok(())
}

pub fn zpopmin(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    pop_generic(ctx, args, false)
}

pub fn zpopmax(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    pop_generic(ctx, args, true)
}

/// BZPOPMIN / BZPOPMAX: pops from the first non-empty key, or blocks until one is written
/// (the shared machinery runs this again then).
fn blocking_pop(ctx: &mut Ctx, args: &mut Args, max: bool) -> CmdResult {
    let argv = args.rest();
    let Some((timeout, keys)) = argv.split_last() else {
        return Err(CmdError::Syntax);
    };
    let deadline = parse_timeout(timeout)?;
    let serving = serving_keys(ctx, keys);
    match ctx.db().zpop(serving, max, 1)? {
        Some((index, items)) => {
            ctx.out.array(1 + items.len() * 2);
            ctx.out.bulk(serving[index]);
            for (member, score) in &items {
                ctx.out.bulk(member);
                ctx.out.double(*score);
            }
            let key = serving[index];
            ctx.journal_as(b"ZREM", key, items.iter().map(|(member, _)| &member[..]));
            notify_removal(ctx, pop_event(max), key);
        }
        None => block(ctx, keys, deadline, TimeoutReply::NullArray),
    }
    Ok(())
}

pub fn bzpopmin(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    blocking_pop(ctx, args, false)
}

pub fn bzpopmax(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    blocking_pop(ctx, args, true)
}

/// ZMPOP / BZMPOP: `[timeout] numkeys key [key ...] MIN|MAX [COUNT count]`, checked in
/// Redis's order (numkeys, direction, COUNT, then the timeout).
fn mpop_generic(ctx: &mut Ctx, args: &mut Args, blocking: bool) -> CmdResult {
    let timeout = if blocking { Some(args.bytes()?) } else { None };
    let numkeys = int_arg(args.bytes()?)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let rest = args.rest();
    if numkeys >= rest.len() {
        return Err(CmdError::Syntax);
    }
    let (keys, tail) = rest.split_at(numkeys);
    let max = match tail.first() {
        Some(side) if is_keyword(side, "min") => false,
        Some(side) if is_keyword(side, "max") => true,
        _ => return Err(CmdError::Syntax),
    };
    let mut count = None;
    let mut options = &tail[1..];
    while let Some((&opt, more)) = options.split_first() {
        if count.is_none() && !more.is_empty() && is_keyword(opt, "count") {
            count = Some(
                int_arg(more[0])
                    .ok()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| CmdError::msg("ERR count should be greater than 0"))?,
            );
            options = &more[1..];
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let deadline = match timeout {
        Some(arg) => parse_timeout(arg)?,
        None => None,
    };
    let serving = serving_keys(ctx, keys);
    match ctx.db().zpop(serving, max, count.unwrap_or(1))? {
        Some((index, items)) => {
            ctx.out.array(2);
            let key = serving[index];
            ctx.out.bulk(key);
            reply_owned_pairs(ctx.out, &items, true, true);
            ctx.journal_as(b"ZREM", key, items.iter().map(|(member, _)| &member[..]));
            notify_removal(ctx, pop_event(max), key);
        }
        None if blocking => block(ctx, keys, deadline, TimeoutReply::NullArray),
        None => ctx.out.null_array(),
    }
    Ok(())
}

pub fn zmpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    mpop_generic(ctx, args, false)
}

pub fn bzmpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    mpop_generic(ctx, args, true)
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF and their STORE forms
// ---------------------------------------------------------------------------------------------

/// Which form of a set operation is parsed (they accept different options).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOpForm {
    /// ZUNION, ZINTER, ZDIFF: WITHSCORES allowed.
    Reply,
    /// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE.
    Store,
    /// ZINTERCARD: only LIMIT.
    Cardinality,
}

/// A parsed set-operation request.
struct SetOpRequest<'a> {
    keys: &'a [&'a [u8]],
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT (0 = none).
    limit: usize,
}

/// Parses `numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]` as Redis's
/// `zunionInterDiffGenericCommand`: the keys' types are checked before the options.
fn parse_setop<'a>(
    ctx: &mut Ctx,
    args: &mut Args<'a>,
    op: SetOp,
    form: SetOpForm,
    name: &str,
) -> Result<SetOpRequest<'a>, CmdError> {
    let weighted = op != SetOp::Diff && form != SetOpForm::Cardinality;
    let numkeys = args.int()?;
    if numkeys < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let rest = args.rest();
    let numkeys = match usize::try_from(numkeys) {
        Ok(n) if n <= rest.len() => n,
        _ => return Err(CmdError::Syntax),
    };
    let (keys, mut options) = rest.split_at(numkeys);
    {
        let mut db = ctx.db();
        for key in keys {
            db.zset_input_type_check(key)?;
        }
    }
    let mut request = SetOpRequest {
        keys,
        weights: Vec::new(),
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    while let Some((&opt, tail)) = options.split_first() {
        if weighted && tail.len() >= numkeys && is_keyword(opt, "weights") {
            request.weights = tail[..numkeys]
                .iter()
                .map(|w| {
                    parse_score(w).map_err(|_| CmdError::msg("ERR weight value is not a float"))
                })
                .collect::<Result<_, _>>()?;
            options = &tail[numkeys..];
        } else if weighted && !tail.is_empty() && is_keyword(opt, "aggregate") {
            request.aggregate = if is_keyword(tail[0], "sum") {
                Aggregate::Sum
            } else if is_keyword(tail[0], "min") {
                Aggregate::Min
            } else if is_keyword(tail[0], "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            options = &tail[1..];
        } else if form == SetOpForm::Reply && is_keyword(opt, "withscores") {
            request.withscores = true;
            options = tail;
        } else if form == SetOpForm::Cardinality && !tail.is_empty() && is_keyword(opt, "limit") {
            request.limit = int_arg(tail[0])
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?;
            options = &tail[1..];
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(request)
}

fn setop_store(ctx: &mut Ctx, args: &mut Args, op: SetOp, name: &str) -> CmdResult {
    let dst = args.bytes()?;
    let request = parse_setop(ctx, args, op, SetOpForm::Store, name)?;
    let existed = ctx.db().exists(dst);
    let stored =
        ctx.db()
            .zsetop_store(dst, op, request.keys, &request.weights, request.aggregate)?;
    ctx.out.int(stored as i64);
    notify_store(ctx, name, dst, stored, existed);
    Ok(())
}

fn setop_reply(ctx: &mut Ctx, args: &mut Args, op: SetOp, name: &str) -> CmdResult {
    let request = parse_setop(ctx, args, op, SetOpForm::Reply, name)?;
    let result = ctx
        .db()
        .zsetop(op, request.keys, &request.weights, request.aggregate)?;
    let nested = ctx.out.is_resp3();
    reply_owned_pairs(ctx.out, &result, request.withscores, nested);
    Ok(())
}

pub fn zunionstore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    setop_store(ctx, args, SetOp::Union, "zunionstore")
}

pub fn zinterstore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    setop_store(ctx, args, SetOp::Inter, "zinterstore")
}

pub fn zdiffstore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    setop_store(ctx, args, SetOp::Diff, "zdiffstore")
}

pub fn zunion(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    setop_reply(ctx, args, SetOp::Union, "zunion")
}

pub fn zinter(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    setop_reply(ctx, args, SetOp::Inter, "zinter")
}

pub fn zdiff(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    setop_reply(ctx, args, SetOp::Diff, "zdiff")
}

pub fn zintercard(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let request = parse_setop(
        ctx,
        args,
        SetOp::Inter,
        SetOpForm::Cardinality,
        "zintercard",
    )?;
    let result = ctx
        .db()
        .zsetop(SetOp::Inter, request.keys, &[], Aggregate::Sum)?;
    let count = match request.limit {
        0 => result.len(),
        limit => result.len().min(limit),
    };
    ctx.out.int(count as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZSCAN, ZRANDMEMBER
// ---------------------------------------------------------------------------------------------

pub fn zscan(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let cursor = parse_cursor(args.bytes()?)?;
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(zset) = db.zset(key)? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let opts = parse_scan_options(args, false)?;
    let (next, page) = zset.scan(cursor, opts.count);
    let page: Vec<(&[u8], f64)> = page
        .into_iter()
        .filter(|(member, _)| opts.pattern.is_none_or(|p| glob::matches(p, member)))
        .collect();
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(page.len() * 2);
    let mut text = String::new();
    for (member, score) in page {
        ctx.out.bulk(member);
        text.clear();
        zset.scan_score_text(score, &mut text);
        ctx.out.bulk(text.as_bytes());
    }
    Ok(())
}

pub fn zrandmember(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let Some(count_arg) = args.peek() else {
        let mut db = ctx.ks.db(ctx.client.db);
        match db
            .zset(key)?
            .and_then(|z| z.random_member(&mut ctx.server.rng))
        {
            Some((member, _)) => ctx.out.bulk(member),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let count = int_arg(count_arg)?;
    if count == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    args.bytes()?;
    let withscores = match args.rest() {
        [] => false,
        [opt] if is_keyword(opt, "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(zset) = db.zset(key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let nested = ctx.out.is_resp3();
    let rng = &mut ctx.server.rng;
    let n = count.unsigned_abs();
    if count < 0 || n == 1 {
        // Repetitions allowed: streamed, since the count is not bounded by the set's size.
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if withscores && !nested {
            ctx.out.array(n.saturating_mul(2));
        } else {
            ctx.out.array(n);
        }
        for _ in 0..n {
            let Some((member, score)) = zset.random_member(rng) else {
                break;
            };
            if withscores && nested {
                ctx.out.array(2);
            }
            ctx.out.bulk(member);
            if withscores {
                ctx.out.double(score);
            }
        }
        return Ok(());
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    let items: Vec<(&[u8], f64)> = if n >= zset.len() {
        // The whole set, highest first: Redis walks it from the tail here.
        zset.set().iter().rev().collect()
    } else {
        zset.set().random_distinct(n, rng)
    };
    reply_pairs(ctx.out, &items, withscores, nested);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn zadd_flags_and_errors() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["zadd", "z", "1", "a", "2", "b"], ":2\r\n"),
            (&["zadd", "z", "ch", "5", "a", "2", "b", "3", "c"], ":2\r\n"),
            (&["zadd", "z", "xx", "9", "new"], ":0\r\n"),
            (&["zadd", "z", "nx", "incr", "1", "a"], "$-1\r\n"),
            (&["zadd", "z", "gt", "incr", "-1", "a"], "$-1\r\n"),
            (&["zadd", "z", "incr", "1.5", "a"], "$3\r\n6.5\r\n"),
            (
                &["zadd", "z", "nx", "xx", "1", "a"],
                "-ERR XX and NX options at the same time are not compatible\r\n",
            ),
            (
                &["zadd", "z", "gt", "lt", "1", "a"],
                "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
            ),
            (
                &["zadd", "z", "incr", "1", "a", "2", "b"],
                "-ERR INCR option supports a single increment-element pair\r\n",
            ),
            (&["zadd", "z", "nx", "1"], "-ERR syntax error\r\n"),
            (
                &["zadd", "z", "1", "a", "x", "b"],
                "-ERR value is not a valid float\r\n",
            ),
        ]);
        h.run(&["zadd", "inf", "inf", "a"]);
        assert_eq!(
            h.text(&["zincrby", "inf", "-inf", "a"]),
            "-ERR resulting score is not a number (NaN)\r\n"
        );
        h.run(&["set", "s", "v"]);
        assert_eq!(
            h.text(&["zadd", "s", "1", "a"]),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
    }

    #[test]
    fn reads_and_ranges() {
        let mut h = Harness::new();
        h.run(&["zadd", "z", "1", "a", "2", "b", "3", "c"]);
        h.assert_replies(&[
            (&["zcard", "z"], ":3\r\n"),
            (&["zscore", "z", "b"], "$1\r\n2\r\n"),
            (&["zmscore", "z", "a", "no"], "*2\r\n$1\r\n1\r\n$-1\r\n"),
            (&["zrevrank", "z", "a"], ":2\r\n"),
            (&["zrange", "z", "(1", "+inf", "byscore", "withscores"], "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
            (&["zrange", "z", "+inf", "-inf", "byscore", "rev", "limit", "1", "1"], "*1\r\n$1\r\nb\r\n"),
            (&["zrange", "z", "0", "-1", "limit", "1", "1"], "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"),
            (&["zrangebyscore", "z", "x", "1"], "-ERR min or max is not a float\r\n"),
            (&["zcount", "z", "2", "inf"], ":2\r\n"),
            (&["zlexcount", "z", "[b", "+"], ":2\r\n"),
            (&["zlexcount", "z", "b", "+"], "-ERR min or max not valid string range item\r\n"),
            (&["zrangestore", "d", "z", "0", "1"], ":2\r\n"),
            (&["zrangestore", "d", "z", "5", "9"], ":0\r\n"),
            (&["exists", "d"], ":0\r\n"),
        ]);
    }

    #[test]
    fn pops_removals_and_deletion_when_empty() {
        let mut h = Harness::new();
        h.run(&["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
        h.assert_replies(&[
            (&["zpopmin", "z"], "*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
            (&["zpopmax", "z", "0"], "*0\r\n"),
            (
                &["zpopmax", "z", "-1"],
                "-ERR value is out of range, must be positive\r\n",
            ),
            (&["zremrangebyrank", "z", "0", "0"], ":1\r\n"),
            (&["zremrangebyscore", "z", "-inf", "(4"], ":1\r\n"),
            (&["zremrangebylex", "z", "-", "+"], ":1\r\n"),
            (&["exists", "z"], ":0\r\n"),
            (&["bzpopmin", "z", "-1"], "-ERR timeout is negative\r\n"),
        ]);
    }

    #[test]
    fn set_operations_and_their_errors() {
        let mut h = Harness::new();
        h.run(&["zadd", "a", "1", "x", "2", "y"]);
        h.run(&["zadd", "b", "3", "y"]);
        h.assert_replies(&[
            (
                &["zunion", "2", "a", "b", "withscores"],
                "*4\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n5\r\n",
            ),
            (
                &[
                    "zinterstore",
                    "d",
                    "2",
                    "a",
                    "b",
                    "weights",
                    "2",
                    "1",
                    "aggregate",
                    "min",
                ],
                ":1\r\n",
            ),
            (&["zscore", "d", "y"], "$1\r\n3\r\n"),
            (&["zdiff", "2", "a", "b"], "*1\r\n$1\r\nx\r\n"),
            (
                &["zunion", "0", "a"],
                "-ERR at least 1 input key is needed for 'zunion' command\r\n",
            ),
            (&["zunion", "3", "a"], "-ERR syntax error\r\n"),
            (
                &["zdiff", "1", "a", "weights", "1"],
                "-ERR syntax error\r\n",
            ),
            (
                &["zinter", "1", "a", "weights", "w"],
                "-ERR weight value is not a float\r\n",
            ),
            (
                &["zunionstore", "d", "1", "a", "withscores"],
                "-ERR syntax error\r\n",
            ),
        ]);
    }

    #[test]
    fn scan_and_random_members() {
        let mut h = Harness::new();
        h.run(&["zadd", "z", "1", "a", "2.5", "b"]);
        h.assert_replies(&[
            (
                &["zscan", "z", "0", "match", "a*"],
                "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
            ),
            (
                &["zscan", "nokey", "0", "count", "0"],
                "*2\r\n$1\r\n0\r\n*0\r\n",
            ),
            (&["zscan", "z", "0", "count", "0"], "-ERR syntax error\r\n"),
            (
                &["zrandmember", "z", "5", "withscores"],
                "*4\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\na\r\n$1\r\n1\r\n",
            ),
        ]);
        assert!(h.text(&["zrandmember", "z", "-5"]).starts_with("*5\r\n"));
        assert_eq!(
            h.text(&["zrandmember", "z", "1", "x"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(h.text(&["zrandmember", "nokey"]), "$-1\r\n");
    }
}
