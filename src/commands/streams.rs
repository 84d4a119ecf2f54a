//! Stream commands (X*): Redis 7.0's syntax, replies and error texts. The data and the group
//! bookkeeping are in `store::stream`; here the arguments are parsed, the store is called and
//! the reply written.
//!
//! Journal: XADD states itself with the ID it generated (and, when it trimmed, an exact
//! `XTRIM key MAXLEN = n`), so `*` and `~` replay as what they did; XTRIM states an exact
//! trim too; XDEL, XACK, XSETID and the XGROUP subcommands replay as sent. Commands that
//! stamp times on groups (XREADGROUP, XCLAIM, XAUTOCLAIM) state the group state they left, as
//! Redis propagates them to replicas: an `XCLAIM ... TIME t RETRYCOUNT n FORCE JUSTID` per
//! entry given to a consumer, `XACK` for entries dropped, `XGROUP SETID` for a moved read
//! position (see [`journal_group_change`]). So a long stream is never rewritten for them.

use super::args::{int_arg, is_keyword};
use super::blocking::{self, TimeoutReply};
use super::reply::help_reply;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::number::parse_i64;
use crate::protocol::{Aggregate, ReplyBuf};
use crate::store::stream::{
    AutoClaim, Claim, Entry, NewId, StreamError, StreamId, StreamValue, Trim,
};
use crate::store::stream_log::{NodeLimits, TrimTo};
use crate::store::StoreError;

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

impl From<StreamError> for CmdError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::Store(e) => CmdError::Store(e),
            StreamError::Refused(text) => CmdError::msg(text),
        }
    }
}

fn invalid_id() -> CmdError {
    CmdError::msg(INVALID_ID)
}

/// An unsigned number as Redis's `string2ull` reads one: a strict integer that is not
/// negative, or digits up to `u64::MAX`.
fn parse_u64(text: &[u8]) -> Option<u64> {
    if let Some(n) = parse_i64(text) {
        return u64::try_from(n).ok();
    }
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Redis's `streamGenericParseIDOrReply`: `ms-seq`, or `ms` with `missing_seq`; `-` and `+`
/// unless `strict`.
fn parse_id(arg: &[u8], missing_seq: u64, strict: bool) -> Result<StreamId, CmdError> {
    if arg.len() > 127 {
        return Err(invalid_id());
    }
    match arg {
        b"-" if !strict => return Ok(StreamId::MIN),
        b"+" if !strict => return Ok(StreamId::MAX),
        b"-" | b"+" => return Err(invalid_id()),
        _ => {}
    }
    let (ms, seq) = match arg.iter().position(|&b| b == b'-') {
        Some(at) => (&arg[..at], Some(&arg[at + 1..])),
        None => (arg, None),
    };
    let ms = parse_u64(ms).ok_or_else(invalid_id)?;
    let seq = match seq {
        Some(seq) => parse_u64(seq).ok_or_else(invalid_id)?,
        None => missing_seq,
    };
    Ok(StreamId::new(ms, seq))
}

fn parse_strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id(arg, 0, true)
}

/// XADD's ID argument: `ms-seq`, `ms` (sequence 0) or `ms-*`.
fn parse_new_id(arg: &[u8]) -> Result<NewId, CmdError> {
    if let Some(ms) = arg.strip_suffix(b"-*") {
        if arg.len() <= 127 && !ms.is_empty() {
            return parse_u64(ms).map(NewId::Ms).ok_or_else(invalid_id);
        }
    }
    parse_strict_id(arg).map(NewId::Exact)
}

/// A range bound (XRANGE, XPENDING, XAUTOCLAIM): `(` makes it exclusive. The start moves up
/// past an exclusive bound, the end down.
fn parse_bound(arg: &[u8], is_start: bool) -> Result<StreamId, CmdError> {
    let missing_seq = if is_start { 0 } else { u64::MAX };
    if arg.len() > 1 && arg[0] == b'(' {
        let id = parse_id(&arg[1..], missing_seq, true)?;
        let moved = if is_start { id.next() } else { id.prev() };
        return moved.ok_or_else(|| {
            CmdError::msg(if is_start {
                "ERR invalid start ID for the interval"
            } else {
                "ERR invalid end ID for the interval"
            })
        });
    }
    parse_id(arg, missing_seq, false)
}

fn write_id(out: &mut ReplyBuf, id: StreamId) {
    let mut buf = itoa::Buffer::new();
    let mut text = Vec::with_capacity(24);
    text.extend_from_slice(buf.format(id.ms).as_bytes());
    text.push(b'-');
    text.extend_from_slice(buf.format(id.seq).as_bytes());
    out.bulk(&text);
}

/// `[id, [field, value, ...]]`.
fn write_entry(out: &mut ReplyBuf, entry: &Entry) {
    out.array(2);
    write_id(out, entry.id);
    out.array(entry.fields.len() * 2);
    for (field, value) in entry.fields.iter() {
        out.bulk(field);
        out.bulk(value);
    }
}

fn node_limits(ctx: &Ctx) -> NodeLimits {
    NodeLimits {
        max_entries: ctx.server.config.stream_node_max_entries,
        max_bytes: ctx.server.config.stream_node_max_bytes,
    }
}

fn nogroup_in(key: &[u8], group: &[u8], suffix: &str) -> CmdError {
    CmdError::concat(&[
        b"NOGROUP No such key '",
        key,
        b"' or consumer group '",
        group,
        b"'",
        suffix.as_bytes(),
    ])
}

fn nogroup_for(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::concat(&[
        b"NOGROUP No such consumer group '",
        group,
        b"' for key name '",
        key,
        b"'",
    ])
}

/// XADD's and XTRIM's options, parsed as Redis's `streamParseAddOrTrimArgsOrReply`.
struct AddTrimArgs {
    trim: Option<Trim>,
    no_create: bool,
    /// XADD: the ID and the index (in the arguments after the key) of the first field.
    id: NewId,
    fields_at: usize,
}

fn parse_add_trim(ctx: &Ctx, rest: &[&[u8]], xadd: bool) -> Result<AddTrimArgs, CmdError> {
    let mut trim: Option<(TrimTo, bool)> = None;
    let mut limit: Option<u64> = None;
    let mut no_create = false;
    let mut id = NewId::Auto;
    let mut i = 0;
    let incompatible = || {
        CmdError::msg(
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        )
    };
    while i < rest.len() {
        let more = rest.len() - 1 - i;
        let opt = rest[i];
        if xadd && opt == b"*" {
            break;
        } else if is_keyword(opt, "MAXLEN") && more > 0 {
            if trim.is_some() {
                return Err(incompatible());
            }
            let approx = trim_operator(rest, &mut i, more);
            let max = int_arg(rest[i + 1])?;
            if max < 0 {
                return Err(CmdError::msg("ERR The MAXLEN argument must be >= 0."));
            }
            trim = Some((TrimTo::MaxLen(max as u64), approx));
            i += 2;
        } else if is_keyword(opt, "MINID") && more > 0 {
            if trim.is_some() {
                return Err(incompatible());
            }
            let approx = trim_operator(rest, &mut i, more);
            let min = parse_strict_id(rest[i + 1])?;
            trim = Some((TrimTo::MinId(min), approx));
            i += 2;
        } else if is_keyword(opt, "LIMIT") && more > 0 {
            let n = int_arg(rest[i + 1])?;
            if n < 0 {
                return Err(CmdError::msg("ERR The LIMIT argument must be >= 0."));
            }
            limit = Some(n as u64);
            i += 2;
        } else if xadd && is_keyword(opt, "NOMKSTREAM") {
            no_create = true;
            i += 1;
        } else if xadd {
            id = parse_new_id(opt)?;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if limit.is_some_and(|n| n > 0) && trim.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && trim.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    // A LIMIT given (even 0, with no strategy) needs `~`, as Redis checks it.
    if limit.is_some() && !trim.is_some_and(|(_, approx)| approx) {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ));
    }
    let trim = match trim {
        Some((to, approx)) => {
            let limit = match limit {
                Some(n) => n,
                None if approx => {
                    let per_node = ctx.server.config.stream_node_max_entries;
                    match per_node.saturating_mul(100) {
                        0 => 10_000,
                        n => n.min(1_000_000),
                    }
                }
                None => 0,
            };
            Some(Trim { to, approx, limit })
        }
        None => None,
    };
    Ok(AddTrimArgs {
        trim,
        no_create,
        id,
        fields_at: i + 1,
    })
}

/// True while persistence records effects: only then is an effect worth spelling out.
fn journaling(ctx: &Ctx) -> bool {
    ctx.server
        .journal
        .as_ref()
        .is_some_and(|journal| journal.is_watching())
}

/// States an exact trim to the stream's current length, so a replay removes what this one did
/// (`~` depends on how entries fall into nodes, which a reload does not keep).
fn journal_trim(ctx: &mut Ctx, key: &[u8]) {
    if !journaling(ctx) {
        return;
    }
    let len = match ctx.db().stream_read(key) {
        Ok(Some(stream)) => stream.len(),
        _ => return,
    };
    let len = len.to_string();
    ctx.journal_as(b"XTRIM", key, [&b"MAXLEN"[..], b"=", len.as_bytes()]);
}

/// A group's read position (last delivered ID, entries read), to tell whether a command
/// moved it.
type ReadPosition = (StreamId, Option<u64>);

fn read_position(ctx: &mut Ctx, key: &[u8], group: &[u8]) -> Option<ReadPosition> {
    let mut db = ctx.ks.db(ctx.client.db);
    let stream = db.stream_read(key).ok()??;
    let group = stream.group(group)?;
    Some((group.last_id, group.entries_read))
}

/// States for the journal what a group command did to `group` of the stream at `key`, as
/// commands that set that state exactly whatever the clock says when they replay:
/// `consumer` known to exist (`XGROUP CREATECONSUMER`, which changes nothing when it does),
/// each of `pending` as its PEL entry now stands (an XCLAIM with its owner, delivery time and
/// count), `acked` dropped from the PEL (XACK), and the read position if it moved from
/// `before` (XGROUP SETID with ENTRIESREAD, or without it when unknown, as Redis's `-1`).
/// O(pending log PEL).
fn journal_group_change(
    ctx: &mut Ctx,
    key: &[u8],
    group: &[u8],
    consumer: Option<&[u8]>,
    pending: &[StreamId],
    acked: &[StreamId],
    before: Option<ReadPosition>,
) {
    // Per entry: owner, ID, delivery time, delivery count.
    let mut claims: Vec<[Vec<u8>; 4]> = Vec::with_capacity(pending.len());
    let mut consumer_exists = false;
    let mut after = None;
    {
        let mut db = ctx.ks.db(ctx.client.db);
        let Ok(Some(stream)) = db.stream_read(key) else {
            return;
        };
        let Some(state) = stream.group(group) else {
            return;
        };
        for id in pending {
            if let Some(entry) = state.pel.get(id) {
                claims.push([
                    entry.consumer.to_vec(),
                    id.to_bytes(),
                    entry.delivery_time.to_string().into_bytes(),
                    entry.delivery_count.to_string().into_bytes(),
                ]);
            }
        }
        if let Some(name) = consumer {
            consumer_exists = state.consumers.contains_key(name);
        }
        let now = (state.last_id, state.entries_read);
        if before != Some(now) {
            after = Some(now);
        }
    }
    if let (Some(name), true) = (consumer, consumer_exists) {
        ctx.journal_as_sub(b"XGROUP", b"CREATECONSUMER", key, [group, name]);
    }
    for [owner, id, time, count] in &claims {
        ctx.journal_as(
            b"XCLAIM",
            key,
            [
                group,
                owner,
                b"0",
                id,
                b"TIME",
                time,
                b"RETRYCOUNT",
                count,
                b"FORCE",
                b"JUSTID",
            ],
        );
    }
    if !acked.is_empty() {
        let ids: Vec<Vec<u8>> = acked.iter().map(|id| id.to_bytes()).collect();
        ctx.journal_as(
            b"XACK",
            key,
            std::iter::once(group).chain(ids.iter().map(Vec::as_slice)),
        );
    }
    if let Some((last_id, entries_read)) = after {
        let last_id = last_id.to_bytes();
        let read = entries_read.map(|n| n.to_string().into_bytes());
        let mut args: Vec<&[u8]> = vec![group, &last_id];
        if let Some(read) = &read {
            args.extend([&b"ENTRIESREAD"[..], read]);
        }
        ctx.journal_as_sub(b"XGROUP", b"SETID", key, args);
    }
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...`
pub fn xadd(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let rest = args.rest();
    let parsed = parse_add_trim(ctx, rest, true)?;
    let pairs = rest.get(parsed.fields_at..).unwrap_or_default();
    if pairs.len() < 2 || pairs.len() % 2 == 1 {
        return Err(args.wrong_arity());
    }
    if parsed.id == NewId::Exact(StreamId::MIN) {
        return Err(CmdError::msg(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let limits = node_limits(ctx);
    let added =
        ctx.db()
            .stream_add(key, parsed.id, pairs, parsed.no_create, parsed.trim, limits)?;
    let Some((id, trimmed)) = added else {
        ctx.out.null();
        return Ok(());
    };
    write_id(ctx.out, id);
    ctx.notify(KeyspaceEvents::STREAM, "xadd", key);
    if journaling(ctx) {
        let id_text = id.to_bytes();
        ctx.journal_as(
            b"XADD",
            key,
            std::iter::once(&id_text[..]).chain(pairs.iter().copied()),
        );
    }
    if trimmed > 0 {
        ctx.notify(KeyspaceEvents::STREAM, "xtrim", key);
        journal_trim(ctx, key);
    }
    Ok(())
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
pub fn xtrim(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let rest = args.rest();
    let parsed = parse_add_trim(ctx, rest, false)?;
    let Some(trim) = parsed.trim else {
        return Err(CmdError::Syntax);
    };
    let mut db = ctx.db();
    let removed = match db.stream_write(key)? {
        Some(stream) => stream.trim(trim),
        None => 0,
    };
    if removed > 0 {
        db.stream_changed(key);
    }
    if removed > 0 {
        ctx.notify(KeyspaceEvents::STREAM, "xtrim", key);
        journal_trim(ctx, key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// `XRANGE key start end [COUNT count] / XREVRANGE key end start [COUNT count]`
fn range(ctx: &mut Ctx, args: &mut Args, rev: bool) -> CmdResult {
    let key = args.bytes()?;
    let (first, second) = (args.bytes()?, args.bytes()?);
    let (start_arg, end_arg) = if rev {
        (second, first)
    } else {
        (first, second)
    };
    let start = parse_bound(start_arg, true)?;
    let end = parse_bound(end_arg, false)?;
    let mut count: Option<usize> = None;
    while !args.is_empty() {
        if args.eat("COUNT") && !args.is_empty() {
            let n = args.int()?;
            count = Some(usize::try_from(n).unwrap_or(0));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(stream) = db.stream_read(key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    if count == Some(0) {
        ctx.out.null_array();
        return Ok(());
    }
    let entries: Vec<Entry> = stream
        .entries()
        .range(start, end, rev)
        .take(count.unwrap_or(usize::MAX))
        .collect();
    ctx.out.array(entries.len());
    for entry in &entries {
        write_entry(ctx.out, entry);
    }
    Ok(())
}

pub fn xrange(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    range(ctx, args, false)
}

pub fn xrevrange(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    range(ctx, args, true)
}

/// XLEN key
pub fn xlen(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let len = ctx.db().stream_read(key)?.map_or(0, StreamValue::len);
    ctx.out.int(len as i64);
    Ok(())
}

/// `XDEL key id [id ...]`
pub fn xdel(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let rest = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    if db.stream_write(key)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = rest
        .iter()
        .map(|arg| parse_strict_id(arg))
        .collect::<Result<Vec<_>, _>>()?;
    let deleted = match db.stream_write(key)? {
        Some(stream) => stream.delete(&ids),
        None => 0,
    };
    if deleted > 0 {
        db.stream_changed(key);
    }
    ctx.out.int(deleted as i64);
    if deleted > 0 {
        ctx.notify(KeyspaceEvents::STREAM, "xdel", key);
    }
    Ok(())
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
pub fn xsetid(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let id = parse_strict_id(args.bytes()?)?;
    let mut entries_added = None;
    let mut max_deleted = None;
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat("ENTRIESADDED") {
            let n = args.int()?;
            if n < 0 {
                return Err(CmdError::msg("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if args.remaining() >= 2 && args.eat("MAXDELETEDID") {
            let max = parse_strict_id(args.bytes()?)?;
            if id < max {
                return Err(CmdError::msg(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            max_deleted = Some(max);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.db();
    let Some(stream) = db.stream_write(key)? else {
        return Err(CmdError::Store(StoreError::NoSuchKey));
    };
    stream.set_id(id, entries_added, max_deleted)?;
    db.stream_groups_changed(key);
    ctx.out.ok();
    ctx.notify(KeyspaceEvents::STREAM, "xsetid", key);
    Ok(())
}

/// Parses XREAD/XREADGROUP's BLOCK milliseconds into a deadline (`None`: forever).
fn parse_block_ms(arg: &[u8]) -> Result<Option<u64>, CmdError> {
    let ms = parse_i64(arg)
        .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok(super::blocking::deadline_after(ms as u64))
}

/// Where a read starts for one stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReadFrom {
    /// Entries after this ID.
    After(StreamId),
    /// `>`: entries not yet delivered to the group.
    Undelivered,
}

/// `XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]`
pub fn xread(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    read(ctx, args, false)
}

/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key ... id ...`
pub fn xreadgroup(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    read(ctx, args, true)
}

fn read(ctx: &mut Ctx, args: &mut Args, with_group: bool) -> CmdResult {
    let argv = args.argv();
    let mut deadline: Option<Option<u64>> = None;
    let mut count: usize = 0;
    let mut noack = false;
    let mut group: Option<(&[u8], &[u8])> = None;
    let mut streams_at = 0;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let opt = argv[i];
        if is_keyword(opt, "BLOCK") && more > 0 {
            i += 1;
            deadline = Some(parse_block_ms(argv[i])?);
            if ctx.client.in_script {
                return Err(CmdError::concat(&[
                    b"ERR ",
                    argv[0],
                    b" command is not allowed with BLOCK option from scripts",
                ]));
            }
        } else if is_keyword(opt, "COUNT") && more > 0 {
            i += 1;
            count = usize::try_from(int_arg(argv[i])?).unwrap_or(0);
        } else if is_keyword(opt, "STREAMS") && more > 0 {
            streams_at = i + 1;
            if !(argv.len() - streams_at).is_multiple_of(2) {
                return Err(CmdError::msg("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."));
            }
            break;
        } else if is_keyword(opt, "GROUP") && more >= 2 {
            if !with_group {
                return Err(CmdError::msg(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((argv[i + 1], argv[i + 2]));
            i += 2;
        } else if is_keyword(opt, "NOACK") {
            if !with_group {
                return Err(CmdError::msg(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if streams_at == 0 {
        return Err(CmdError::Syntax);
    }
    if with_group && group.is_none() {
        return Err(CmdError::msg("ERR Missing GROUP option for XREADGROUP"));
    }
    let n = (argv.len() - streams_at) / 2;
    let keys = &argv[streams_at..streams_at + n];
    let id_args = &argv[streams_at + n..];
    // A run for a key that became ready serves only that key (see `blocking`).
    let rerun = ctx.client.served_key.is_some();
    let serving = blocking::serving_keys(ctx, keys);
    let mut from = Vec::with_capacity(n);
    let mut resolved: Vec<Option<StreamId>> = vec![None; n];
    for (at, (&key, &id_arg)) in keys.iter().zip(id_args).enumerate() {
        if rerun && !serving.contains(&key) {
            from.push(None);
            continue;
        }
        let mut db = ctx.ks.db(ctx.client.db);
        let stream = match db.stream_read(key) {
            Ok(stream) => stream,
            Err(StoreError::WrongType) if rerun && with_group => {
                return Err(CmdError::msg("UNBLOCKED the stream key no longer exists"));
            }
            Err(e) => return Err(e.into()),
        };
        if let Some((group_name, _)) = group {
            if stream.and_then(|s| s.group(group_name)).is_none() {
                if rerun {
                    return Err(CmdError::msg(if stream.is_none() {
                        "UNBLOCKED the stream key no longer exists"
                    } else {
                        "NOGROUP the consumer group this client was blocked on no longer exists"
                    }));
                }
                return Err(nogroup_in(
                    key,
                    group_name,
                    " in XREADGROUP with GROUP option",
                ));
            }
        }
        let start = if id_arg == b"$" {
            if with_group {
                return Err(CmdError::msg("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            let last = stream.map_or(StreamId::MIN, |s| s.counters().last_id);
            resolved[at] = Some(last);
            ReadFrom::After(last)
        } else if id_arg == b">" {
            if !with_group {
                return Err(CmdError::msg("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
            }
            ReadFrom::Undelivered
        } else {
            ReadFrom::After(parse_strict_id(id_arg)?)
        };
        from.push(Some(start));
    }
    if !rerun {
        // Redis looks every key up a second time to serve the read: a second keyspace hit or
        // miss (and `keymiss` event) per key, as INFO and subscribers see there.
        let mut db = ctx.ks.db(ctx.client.db);
        for key in keys {
            db.note_read(key, true);
        }
    }
    if rerun && count == 0 {
        // As Redis: a served blocked read without COUNT takes at most this many.
        count = 1000;
    }
    let now = ctx.ks.now_ms();
    let journal = with_group && journaling(ctx);
    let top = ctx.out.defer();
    let mut served = 0;
    for (at, &key) in keys.iter().enumerate() {
        let Some(start) = from[at] else {
            continue;
        };
        let position = match group {
            Some((group_name, _)) if journal => read_position(ctx, key, group_name),
            _ => None,
        };
        let mut db = ctx.ks.db(ctx.client.db);
        let Some(stream) = db.stream_write(key)? else {
            continue;
        };
        let Some((group_name, consumer)) = group else {
            let ReadFrom::After(after) = start else {
                continue;
            };
            let newer = if rerun {
                stream.counters().last_id > after
            } else {
                !stream.is_empty() && stream.last_valid_id().is_some_and(|last| last > after)
            };
            let Some(first) = after.next().filter(|_| newer) else {
                continue;
            };
            served += 1;
            if !ctx.out.is_resp3() {
                ctx.out.array(2);
            }
            ctx.out.bulk(key);
            let entries: Vec<Entry> = stream
                .entries()
                .range(first, StreamId::MAX, false)
                .take(if count == 0 { usize::MAX } else { count })
                .collect();
            ctx.out.array(entries.len());
            for entry in &entries {
                write_entry(ctx.out, entry);
            }
            continue;
        };
        let history = match start {
            ReadFrom::After(id) => Some(id),
            ReadFrom::Undelivered => None,
        };
        if history.is_none() {
            let last_delivered = stream
                .group(group_name)
                .map_or(StreamId::MAX, |g| g.last_id);
            let newer = if rerun {
                stream.counters().last_id > last_delivered
            } else {
                !stream.is_empty()
                    && stream
                        .last_valid_id()
                        .is_some_and(|last| last > last_delivered)
            };
            if !newer {
                continue;
            }
        }
        served += 1;
        if !ctx.out.is_resp3() {
            ctx.out.array(2);
        }
        ctx.out.bulk(key);
        let created = stream.touch_consumer(group_name, consumer, now);
        let list = ctx.out.defer();
        let out = &mut *ctx.out;
        // The entries whose PEL entry this read set, for the journal.
        let mut delivered: Vec<StreamId> = Vec::new();
        let written = match history {
            Some(after) => {
                let start = after.next().unwrap_or(StreamId::MAX);
                stream.deliver_history(group_name, consumer, start, count, now, |id, entry| {
                    match entry {
                        Some(entry) => {
                            write_entry(out, entry);
                            if journal {
                                delivered.push(id);
                            }
                        }
                        None => {
                            out.array(2);
                            write_id(out, id);
                            out.null_array();
                        }
                    }
                })
            }
            None => stream
                .deliver_new(group_name, consumer, count, noack, now, |entry| {
                    write_entry(out, entry);
                    if journal && !noack {
                        delivered.push(entry.id);
                    }
                })
                .unwrap_or(0),
        };
        ctx.out.fill_deferred(list, Aggregate::Array, written);
        db.stream_groups_changed(key);
        if journal {
            journal_group_change(
                ctx,
                key,
                group_name,
                Some(consumer),
                &delivered,
                &[],
                position,
            );
        }
        if created {
            ctx.notify(KeyspaceEvents::STREAM, "xgroup-createconsumer", key);
        }
    }
    if served > 0 {
        let kind = if ctx.out.is_resp3() {
            Aggregate::Map
        } else {
            Aggregate::Array
        };
        ctx.out.fill_deferred(top, kind, served);
        return Ok(());
    }
    match deadline {
        Some(deadline) => {
            // `$` is resolved now: a run when the key is ready reads after the ID it had.
            let rerun_argv: Vec<Vec<u8>> = argv
                .iter()
                .enumerate()
                .map(|(i, arg)| match i.checked_sub(streams_at + n) {
                    Some(at) => match resolved.get(at).copied().flatten() {
                        Some(id) => id.to_bytes(),
                        None => arg.to_vec(),
                    },
                    None => arg.to_vec(),
                })
                .collect();
            blocking::block_as(ctx, keys, deadline, TimeoutReply::NullArray, rerun_argv);
        }
        None => ctx.out.null_array(),
    }
    Ok(())
}

/// The stream at `key` for a group subcommand: the key must exist (or `mkstream`).
fn group_stream_exists(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CmdError> {
    Ok(ctx.db().stream_write(key)?.is_some())
}

const XGROUP_NEEDS_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// Options after XGROUP CREATE's and SETID's ID.
fn group_options(args: &mut Args, create: bool) -> Result<(bool, Option<u64>), CmdError> {
    let mut mkstream = false;
    let mut entries_read = None;
    while !args.is_empty() {
        if create && args.eat("MKSTREAM") {
            mkstream = true;
        } else if args.remaining() >= 2 && args.eat("ENTRIESREAD") {
            let n = args.int()?;
            if n < 0 && n != -1 {
                return Err(CmdError::msg(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            entries_read = u64::try_from(n).ok();
        } else {
            return Err(args.subcommand_syntax_error());
        }
    }
    Ok((mkstream, entries_read))
}

/// `XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]`
pub fn xgroup_create(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, name, id_arg) = (args.bytes()?, args.bytes()?, args.bytes()?);
    if args.remaining() > 3 {
        return Err(args.subcommand_syntax_error());
    }
    let (mkstream, entries_read) = group_options(args, true)?;
    let exists = group_stream_exists(ctx, key)?;
    if !exists && !mkstream {
        return Err(CmdError::msg(XGROUP_NEEDS_KEY));
    }
    let mut db = ctx.db();
    let id = if id_arg == b"$" {
        // Looked up for writing, as Redis's XGROUP does: no keyspace hit or miss.
        db.stream_write(key)?
            .map_or(StreamId::MIN, |s| s.counters().last_id)
    } else {
        parse_strict_id(id_arg)?
    };
    if !exists {
        db.stream_create_empty(key);
    }
    let created = db
        .stream_write(key)?
        .is_some_and(|s| s.create_group(name, id, entries_read));
    if !created {
        return Err(CmdError::msg(
            "BUSYGROUP Consumer Group name already exists",
        ));
    }
    db.stream_groups_changed(key);
    ctx.out.ok();
    ctx.notify(KeyspaceEvents::STREAM, "xgroup-create", key);
    Ok(())
}

/// Looks up the stream and group of XGROUP SETID/CREATECONSUMER/DELCONSUMER.
fn existing_group(ctx: &mut Ctx, key: &[u8], name: &[u8]) -> CmdResult {
    match ctx.db().stream_write(key)? {
        None => Err(CmdError::msg(XGROUP_NEEDS_KEY)),
        Some(stream) if stream.group(name).is_none() => Err(nogroup_for(key, name)),
        Some(_) => Ok(()),
    }
}

/// `XGROUP SETID key group id|$ [ENTRIESREAD n]`
pub fn xgroup_setid(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, name, id_arg) = (args.bytes()?, args.bytes()?, args.bytes()?);
    if args.remaining() != 0 && args.remaining() != 2 {
        return Err(args.subcommand_syntax_error());
    }
    let (_, entries_read) = group_options(args, false)?;
    existing_group(ctx, key, name)?;
    let mut db = ctx.db();
    let Some(stream) = db.stream_write(key)? else {
        return Err(CmdError::msg(XGROUP_NEEDS_KEY));
    };
    let id = if id_arg == b"$" {
        stream.counters().last_id
    } else {
        parse_id(id_arg, 0, false)?
    };
    if let Some(group) = stream.group_mut(name) {
        group.last_id = id;
        group.entries_read = entries_read;
    }
    db.stream_groups_changed(key);
    ctx.out.ok();
    ctx.notify(KeyspaceEvents::STREAM, "xgroup-setid", key);
    Ok(())
}

/// XGROUP DESTROY key group
pub fn xgroup_destroy(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, name) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.db();
    let Some(stream) = db.stream_write(key)? else {
        return Err(CmdError::msg(XGROUP_NEEDS_KEY));
    };
    if !stream.destroy_group(name) {
        ctx.out.int(0);
        return Ok(());
    }
    db.stream_groups_changed(key);
    // Clients blocked in XREADGROUP on this group learn that it is gone.
    db.signal_ready(key, "stream");
    ctx.out.int(1);
    ctx.notify(KeyspaceEvents::STREAM, "xgroup-destroy", key);
    Ok(())
}

/// XGROUP CREATECONSUMER key group consumer
pub fn xgroup_createconsumer(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, name, consumer) = (args.bytes()?, args.bytes()?, args.bytes()?);
    existing_group(ctx, key, name)?;
    let mut db = ctx.db();
    let now = db.now_ms();
    let created = db
        .stream_write(key)?
        .and_then(|s| s.create_consumer(name, consumer, now))
        .unwrap_or(false);
    if created {
        db.stream_groups_changed(key);
    }
    if created {
        ctx.notify(KeyspaceEvents::STREAM, "xgroup-createconsumer", key);
    }
    ctx.out.int(created as i64);
    Ok(())
}

/// XGROUP DELCONSUMER key group consumer
pub fn xgroup_delconsumer(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, name, consumer) = (args.bytes()?, args.bytes()?, args.bytes()?);
    existing_group(ctx, key, name)?;
    let mut db = ctx.db();
    let pending = db
        .stream_write(key)?
        .and_then(|s| s.delete_consumer(name, consumer));
    if pending.is_some() {
        db.stream_groups_changed(key);
    }
    if pending.is_some() {
        ctx.notify(KeyspaceEvents::STREAM, "xgroup-delconsumer", key);
    }
    ctx.out.int(pending.unwrap_or(0) as i64);
    Ok(())
}

/// XGROUP HELP
pub fn xgroup_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

/// `XACK key group id [id ...]`
pub fn xack(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, name) = (args.bytes()?, args.bytes()?);
    let rest = args.rest();
    let mut db = ctx.ks.db(ctx.client.db);
    let has_group = db
        .stream_read(key)?
        .is_some_and(|s| s.group(name).is_some());
    if !has_group {
        ctx.out.int(0);
        return Ok(());
    }
    let ids = rest
        .iter()
        .map(|arg| parse_strict_id(arg))
        .collect::<Result<Vec<_>, _>>()?;
    let acked = db.stream_write(key)?.map_or(0, |s| s.ack(name, &ids));
    if acked > 0 {
        db.stream_groups_changed(key);
    }
    ctx.out.int(acked as i64);
    Ok(())
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
pub fn xpending(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.argv();
    let argc = argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let (key, name) = (argv[1], argv[2]);
    let mut extended = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0i64;
        if is_keyword(argv[3], "IDLE") {
            min_idle = int_arg(argv[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = usize::try_from(int_arg(argv[at + 2])?).unwrap_or(0);
        let start = parse_bound(argv[at], true)?;
        let end = parse_bound(argv[at + 1], false)?;
        let consumer = argv.get(at + 3).copied();
        if at + 4 < argc {
            return Err(CmdError::Syntax);
        }
        extended = Some((min_idle, start, end, count, consumer));
    }
    let now = ctx.ks.now_ms();
    let mut db = ctx.ks.db(ctx.client.db);
    let stream = db.stream_read(key)?;
    let Some(group) = stream.and_then(|s| s.group(name)) else {
        return Err(nogroup_in(key, name, ""));
    };
    let out = &mut *ctx.out;
    let Some((min_idle, start, end, count, consumer)) = extended else {
        out.array(4);
        out.int(group.pel.len() as i64);
        match (group.pel.first_key_value(), group.pel.last_key_value()) {
            (Some((first, _)), Some((last, _))) => {
                write_id(out, *first);
                write_id(out, *last);
                let owners: Vec<_> = group
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pending.is_empty())
                    .collect();
                out.array(owners.len());
                for (cname, c) in owners {
                    out.array(2);
                    out.bulk(cname);
                    out.bulk_int(c.pending.len() as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    };
    let ids: Vec<StreamId> = match consumer {
        Some(cname) => match group.consumers.get(cname) {
            Some(c) if start <= end => c.pending.range(start..=end).copied().collect(),
            Some(_) => Vec::new(),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None if start <= end => group.pel.range(start..=end).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let rows: Vec<_> = ids
        .iter()
        .filter_map(|id| group.pel.get(id).map(|p| (*id, p)))
        .filter(|(_, p)| min_idle <= 0 || (now as i64 - p.delivery_time as i64) >= min_idle)
        .take(count)
        .collect();
    out.array(rows.len());
    for (id, p) in rows {
        out.array(4);
        write_id(out, id);
        out.bulk(&p.consumer);
        out.int((now as i64 - p.delivery_time as i64).max(0));
        out.int(p.delivery_count as i64);
    }
    Ok(())
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms]`
/// `[RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]`
pub fn xclaim(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.argv();
    let (key, name, consumer) = (argv[1], argv[2], argv[3]);
    let mut db = ctx.ks.db(ctx.client.db);
    let has_group = db
        .stream_read(key)?
        .is_some_and(|s| s.group(name).is_some());
    if !has_group {
        return Err(nogroup_in(key, name, ""));
    }
    let min_idle = parse_i64(argv[4])
        .ok_or_else(|| CmdError::msg("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0) as u64;
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_id(argv[j], 0, true) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = db.now_ms();
    let mut delivery_time: Option<i64> = None;
    let mut claim = Claim {
        consumer: consumer.into(),
        min_idle,
        ids,
        delivery_time: now,
        retry_count: None,
        force: false,
        just_id: false,
        last_id: None,
    };
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        let number = |arg: &[u8], what: &str| {
            parse_i64(arg).ok_or_else(|| {
                CmdError::msg(format!("ERR Invalid {what} option argument for XCLAIM"))
            })
        };
        if is_keyword(opt, "FORCE") {
            claim.force = true;
        } else if is_keyword(opt, "JUSTID") {
            claim.just_id = true;
        } else if is_keyword(opt, "IDLE") && more > 0 {
            j += 1;
            delivery_time = Some(now as i64 - number(argv[j], "IDLE")?);
        } else if is_keyword(opt, "TIME") && more > 0 {
            j += 1;
            delivery_time = Some(number(argv[j], "TIME")?);
        } else if is_keyword(opt, "RETRYCOUNT") && more > 0 {
            j += 1;
            // A negative count is as if none were given, as Redis keeps -1 for "not given".
            claim.retry_count = u64::try_from(number(argv[j], "RETRYCOUNT")?).ok();
        } else if is_keyword(opt, "LASTID") && more > 0 {
            j += 1;
            claim.last_id = Some(parse_strict_id(argv[j])?);
        } else {
            return Err(CmdError::concat(&[
                b"ERR Unrecognized XCLAIM option '",
                opt,
                b"'",
            ]));
        }
        j += 1;
    }
    claim.delivery_time = match delivery_time {
        Some(t) if t >= 0 && t <= now as i64 => t as u64,
        _ => now,
    };
    let journal = journaling(ctx);
    let position = if journal {
        read_position(ctx, key, name)
    } else {
        None
    };
    let mut db = ctx.ks.db(ctx.client.db);
    let Some(stream) = db.stream_write(key)? else {
        return Err(nogroup_in(key, name, ""));
    };
    // Pending entries whose stream entry is gone (the claim drops them), and whether LASTID
    // moves the group: with what it claims, all a claim can change.
    let (dropped, moves): (Vec<StreamId>, bool) = match stream.group(name) {
        Some(group) => (
            claim
                .ids
                .iter()
                .copied()
                .filter(|id| group.pel.contains_key(id) && stream.entries().get(*id).is_none())
                .collect(),
            claim.last_id.is_some_and(|last| last > group.last_id),
        ),
        None => (Vec::new(), false),
    };
    let (claimed, created) = stream.claim(name, &claim, now);
    let out = &mut *ctx.out;
    out.array(claimed.len());
    for id in &claimed {
        if claim.just_id {
            write_id(out, *id);
        } else if let Some(entry) = stream.entries().get(*id) {
            write_entry(out, &entry);
        } else {
            out.null_array();
        }
    }
    if claimed.is_empty() && dropped.is_empty() && !moves {
        return Ok(());
    }
    db.stream_groups_changed(key);
    if journal {
        journal_group_change(ctx, key, name, None, &claimed, &dropped, position);
    }
    if created {
        ctx.notify(KeyspaceEvents::STREAM, "xgroup-createconsumer", key);
    }
    Ok(())
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`
pub fn xautoclaim(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.argv();
    let (key, name, consumer) = (argv[1], argv[2], argv[3]);
    let min_idle = parse_i64(argv[4])
        .ok_or_else(|| CmdError::msg("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0) as u64;
    let start = parse_bound(argv[5], true)?;
    let mut count: u64 = 100;
    let mut just_id = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if is_keyword(argv[j], "COUNT") && more > 0 {
            let max = i64::MAX / 16;
            count = parse_i64(argv[j + 1])
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| CmdError::msg("ERR COUNT must be > 0"))? as u64;
            j += 1;
        } else if is_keyword(argv[j], "JUSTID") {
            just_id = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let now = ctx.ks.now_ms();
    let mut db = ctx.ks.db(ctx.client.db);
    let has_group = db
        .stream_read(key)?
        .is_some_and(|s| s.group(name).is_some());
    if !has_group {
        return Err(nogroup_in(key, name, ""));
    }
    let Some(stream) = db.stream_write(key)? else {
        return Err(nogroup_in(key, name, ""));
    };
    let request = AutoClaim {
        consumer,
        min_idle,
        start,
        count,
        just_id,
    };
    let (claimed, cursor, deleted, created) = stream.auto_claim(name, &request, now);
    let out = &mut *ctx.out;
    out.array(3);
    write_id(out, cursor);
    out.array(claimed.len());
    for id in &claimed {
        if just_id {
            write_id(out, *id);
        } else if let Some(entry) = stream.entries().get(*id) {
            write_entry(out, &entry);
        } else {
            out.null_array();
        }
    }
    out.array(deleted.len());
    for id in &deleted {
        write_id(out, *id);
    }
    if claimed.is_empty() && deleted.is_empty() {
        return Ok(());
    }
    db.stream_groups_changed(key);
    if journaling(ctx) {
        journal_group_change(ctx, key, name, None, &claimed, &deleted, None);
    }
    if created {
        ctx.notify(KeyspaceEvents::STREAM, "xgroup-createconsumer", key);
    }
    Ok(())
}

/// The stream of an XINFO subcommand: "no such key" when missing.
fn info_stream<'a>(
    db: &'a mut crate::store::DbMut<'_>,
    key: &[u8],
) -> Result<&'a StreamValue, CmdError> {
    db.stream_read(key)?
        .ok_or(CmdError::Store(StoreError::NoSuchKey))
}

fn write_lag(out: &mut ReplyBuf, lag: Option<i64>) {
    match lag {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

fn write_entries_read(out: &mut ReplyBuf, read: Option<u64>) {
    match read {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
}

/// `XINFO STREAM key [FULL [COUNT count]]`
pub fn xinfo_stream(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let opts = args.rest();
    let mut full = false;
    let mut count: usize = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !is_keyword(opts[0], "FULL") {
            return Err(args.subcommand_syntax_error());
        }
        full = true;
        if opts.len() == 3 {
            if !is_keyword(opts[1], "COUNT") {
                return Err(args.subcommand_syntax_error());
            }
            let n = int_arg(opts[2])?;
            count = if n < 0 { 10 } else { n as usize };
        }
    }
    let mut db = ctx.ks.db(ctx.client.db);
    let stream = info_stream(&mut db, key)?;
    let out = &mut *ctx.out;
    let c = stream.counters();
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(stream.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(stream.entries().node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    // Redis counts the nodes of its radix tree; each key of ours stands for about two.
    out.int((stream.entries().node_count() * 2).max(1) as i64);
    out.bulk(b"last-generated-id");
    write_id(out, c.last_id);
    out.bulk(b"max-deleted-entry-id");
    write_id(out, c.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(c.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    write_id(out, c.first_id);
    let limit = if count == 0 { usize::MAX } else { count };
    if !full {
        out.bulk(b"groups");
        out.int(stream.groups().len() as i64);
        out.bulk(b"first-entry");
        match stream.entries().first() {
            Some(entry) => write_entry(out, &entry),
            None => out.null(),
        }
        out.bulk(b"last-entry");
        match stream.entries().last() {
            Some(entry) => write_entry(out, &entry),
            None => out.null(),
        }
        return Ok(());
    }
    out.bulk(b"entries");
    let entries: Vec<Entry> = stream.entries().iter().take(limit).collect();
    out.array(entries.len());
    for entry in &entries {
        write_entry(out, entry);
    }
    out.bulk(b"groups");
    out.array(stream.groups().len());
    for (name, group) in stream.groups() {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        write_id(out, group.last_id);
        out.bulk(b"entries-read");
        write_entries_read(out, group.entries_read);
        out.bulk(b"lag");
        write_lag(out, stream.lag(group));
        out.bulk(b"pel-count");
        out.int(group.pel.len() as i64);
        out.bulk(b"pending");
        let pel: Vec<_> = group.pel.iter().take(limit).collect();
        out.array(pel.len());
        for (id, p) in pel {
            out.array(4);
            write_id(out, *id);
            out.bulk(&p.consumer);
            out.int(p.delivery_time as i64);
            out.int(p.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(group.consumers.len());
        for (cname, consumer) in &group.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(consumer.seen_time as i64);
            out.bulk(b"pel-count");
            out.int(consumer.pending.len() as i64);
            out.bulk(b"pending");
            let ids: Vec<_> = consumer.pending.iter().take(limit).collect();
            out.array(ids.len());
            for id in ids {
                out.array(3);
                write_id(out, *id);
                let p = group.pel.get(id);
                out.int(p.map_or(0, |p| p.delivery_time) as i64);
                out.int(p.map_or(0, |p| p.delivery_count) as i64);
            }
        }
    }
    Ok(())
}

/// XINFO GROUPS key
pub fn xinfo_groups(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    let stream = info_stream(&mut db, key)?;
    let out = &mut *ctx.out;
    out.array(stream.groups().len());
    for (name, group) in stream.groups() {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(group.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(group.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        write_id(out, group.last_id);
        out.bulk(b"entries-read");
        write_entries_read(out, group.entries_read);
        out.bulk(b"lag");
        write_lag(out, stream.lag(group));
    }
    Ok(())
}

/// XINFO CONSUMERS key group
pub fn xinfo_consumers(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, name) = (args.bytes()?, args.bytes()?);
    let now = ctx.ks.now_ms();
    let mut db = ctx.ks.db(ctx.client.db);
    let stream = info_stream(&mut db, key)?;
    let Some(group) = stream.group(name) else {
        return Err(nogroup_for(key, name));
    };
    let out = &mut *ctx.out;
    out.array(group.consumers.len());
    for (cname, consumer) in &group.consumers {
        out.map(3);
        out.bulk(b"name");
        out.bulk(cname);
        out.bulk(b"pending");
        out.int(consumer.pending.len() as i64);
        out.bulk(b"idle");
        out.int((now as i64 - consumer.seen_time as i64).max(0));
    }
    Ok(())
}

/// XINFO HELP
pub fn xinfo_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}

/// Key finder for XREAD and XREADGROUP: the keys are the first half of what follows STREAMS.
pub fn read_keys(argv: &[&[u8]]) -> Vec<(usize, crate::commands::table::KeyFlags)> {
    use crate::commands::table::KeyFlags;
    // Both read their keys, as Redis's key specs say (XREADGROUP too).
    let flags = KeyFlags::RO.with(KeyFlags::ACCESS);
    let Some(at) = argv
        .iter()
        .skip(1)
        .position(|a| a.eq_ignore_ascii_case(b"STREAMS"))
        .map(|p| p + 2)
    else {
        return Vec::new();
    };
    let rest = argv.len().saturating_sub(at);
    if rest == 0 || rest % 2 != 0 {
        return Vec::new();
    }
    (at..at + rest / 2).map(|i| (i, flags)).collect()
}

/// After MAXLEN or MINID at `rest[*i]`: an optional `~` (approximate: true) or `=`, stepped
/// over, when the threshold still follows it (`more` arguments come after the keyword).
fn trim_operator(rest: &[&[u8]], i: &mut usize, more: usize) -> bool {
    let operator = rest[*i + 1];
    if more >= 2 && (operator == b"~" || operator == b"=") {
        *i += 1;
        return operator == b"~";
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis_reads_them() {
        assert_eq!(parse_id(b"5", 0, true).unwrap(), StreamId::new(5, 0));
        assert_eq!(
            parse_id(b"5", u64::MAX, true).unwrap(),
            StreamId::new(5, u64::MAX)
        );
        assert_eq!(parse_id(b"5-7", 0, true).unwrap(), StreamId::new(5, 7));
        assert_eq!(parse_id(b"-", 0, false).unwrap(), StreamId::MIN);
        assert_eq!(parse_id(b"+", 0, false).unwrap(), StreamId::MAX);
        assert!(parse_id(b"-", 0, true).is_err());
        assert!(parse_id(b"1-x", 0, true).is_err());
        assert!(parse_id(b"-1", 0, true).is_err());
        assert_eq!(
            parse_id(b"18446744073709551615-1", 0, true).unwrap(),
            StreamId::new(u64::MAX, 1)
        );
        assert_eq!(parse_new_id(b"7-*").unwrap(), NewId::Ms(7));
        assert_eq!(parse_bound(b"(5-0", true).unwrap(), StreamId::new(5, 1));
        assert_eq!(
            parse_bound(b"(5-0", false).unwrap(),
            StreamId::new(4, u64::MAX)
        );
        assert!(parse_bound(b"(0-0", false).is_err());
    }
}
