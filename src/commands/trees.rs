//! TREE commands: an ordered map under one key (an order-statistics AVL tree, see
//! `store::tree`), with byte-wise or NUMERIC key order, rank/select and range queries.
//!
//! Reply shapes: a single entry is a two-element array `[key, value]` or a null array when
//! there is none; lists of entries are flat `key, value, ...` arrays in RESP2 and arrays of
//! `[key, value]` pairs in RESP3 (as ZRANGE's `WITHSCORES`); TREE.RANK is an integer or a
//! null bulk string, as ZRANK.

use super::args::{int_arg, is_keyword};
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::ostree::TraversalOrder;
use crate::store::tree::{Entry, TreeOrdering};

/// Writes `[key, value]`, or a null array for no entry.
fn write_entry(out: &mut ReplyBuf, entry: Option<Entry>) {
    match entry {
        Some((key, value)) => {
            out.array(2);
            out.bulk(key);
            out.bulk(value);
        }
        None => out.null_array(),
    }
}

/// Writes entries: flat in RESP2, `[key, value]` pairs in RESP3.
fn write_entries<'a>(out: &mut ReplyBuf, entries: impl ExactSizeIterator<Item = Entry<'a>>) {
    let resp3 = out.is_resp3();
    out.array(if resp3 {
        entries.len()
    } else {
        entries.len() * 2
    });
    for (key, value) in entries {
        if resp3 {
            out.array(2);
        }
        out.bulk(key);
        out.bulk(value);
    }
}

/// A LIMIT count as ZRANGEBYLEX reads it: negative means no limit.
fn limit_count(arg: &[u8]) -> Result<Option<usize>, CmdError> {
    Ok(usize::try_from(int_arg(arg)?).ok())
}

/// TREE.CREATE key [NUMERIC]
pub fn create(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let ordering = if args.eat("NUMERIC") {
        TreeOrdering::Numeric
    } else {
        TreeOrdering::Bytes
    };
    args.finish()?;
    if !ctx.db().tree_create(key, ordering)? {
        return Err(CmdError::msg("ERR key already exists"));
    }
    ctx.out.ok();
    ctx.notify(KeyspaceEvents::MODULE, "tree.create", key);
    Ok(())
}

/// TREE.SET key k v [k v ...]
pub fn set(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let pairs = args.pairs()?;
    let added = ctx.db().tree_set(key, &pairs)?;
    ctx.out.int(added as i64);
    // Like HSET: reported even when every value was already there.
    ctx.notify(KeyspaceEvents::MODULE, "tree.set", key);
    Ok(())
}

/// TREE.GET key k
pub fn get(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, k) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    match db.tree_get(key, k)? {
        Some(value) => ctx.out.bulk(value),
        None => ctx.out.null(),
    }
    Ok(())
}

/// TREE.DEL key k [k ...]
pub fn del(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let keys = args.rest();
    let deleted = ctx.db().tree_del(key, keys)?;
    ctx.out.int(deleted as i64);
    if deleted > 0 {
        ctx.notify(KeyspaceEvents::MODULE, "tree.del", key);
    }
    Ok(())
}

/// TREE.POPMIN key [count] / TREE.POPMAX key [count]: the entries taken, as TREE.RANGE
/// replies; a negative count is refused as ZPOPMIN refuses it.
fn pop(ctx: &mut Ctx, args: &mut Args, largest: bool) -> CmdResult {
    let key = args.bytes()?;
    let count = match args.remaining() {
        0 => 1,
        _ => usize::try_from(args.int()?)
            .map_err(|_| CmdError::msg("ERR value is out of range, must be positive"))?,
    };
    args.finish()?;
    let popped = ctx.db().tree_pop(key, count, largest)?;
    write_entries(ctx.out, popped.iter().map(|(k, v)| (&k[..], &v[..])));
    if !popped.is_empty() {
        let event = if largest {
            "tree.popmax"
        } else {
            "tree.popmin"
        };
        ctx.notify(KeyspaceEvents::MODULE, event, key);
    }
    Ok(())
}

pub fn popmin(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    pop(ctx, args, false)
}

pub fn popmax(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    pop(ctx, args, true)
}

/// TREE.EXISTS key k
pub fn exists(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, k) = (args.bytes()?, args.bytes()?);
    let found = ctx.db().tree_exists(key, k)?;
    ctx.out.int(i64::from(found));
    Ok(())
}

/// TREE.LEN key
pub fn len(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let len = ctx.db().tree_len(key)?;
    ctx.out.int(len as i64);
    Ok(())
}

/// TREE.MIN key
pub fn min(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    write_entry(ctx.out, db.tree_extreme(key, false)?);
    Ok(())
}

/// TREE.MAX key
pub fn max(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    write_entry(ctx.out, db.tree_extreme(key, true)?);
    Ok(())
}

/// TREE.FLOOR key k
pub fn floor(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, k) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    write_entry(ctx.out, db.tree_nearest(key, k, false)?);
    Ok(())
}

/// TREE.CEIL key k
pub fn ceil(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, k) = (args.bytes()?, args.bytes()?);
    let mut db = ctx.ks.db(ctx.client.db);
    write_entry(ctx.out, db.tree_nearest(key, k, true)?);
    Ok(())
}

/// TREE.RANK key k [REV]
pub fn rank(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, k) = (args.bytes()?, args.bytes()?);
    let rev = args.eat("REV");
    args.finish()?;
    match ctx.db().tree_rank(key, k, rev)? {
        Some(rank) => ctx.out.int(rank as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// TREE.AT key index
pub fn at(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let index = args.int()?;
    let mut db = ctx.ks.db(ctx.client.db);
    write_entry(ctx.out, db.tree_at(key, index)?);
    Ok(())
}

/// TREE.RANGE key min max [LIMIT offset count] [REV]
pub fn range(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (key, min, max) = (args.bytes()?, args.bytes()?, args.bytes()?);
    let mut rev = false;
    // A negative offset selects nothing, as in ZRANGEBYLEX.
    let mut offset: Option<usize> = Some(0);
    let mut count = None;
    while let Some(arg) = args.peek() {
        if is_keyword(arg, "REV") {
            args.bytes()?;
            rev = true;
        } else if is_keyword(arg, "LIMIT") && args.remaining() >= 3 {
            args.bytes()?;
            offset = usize::try_from(args.int()?).ok();
            count = limit_count(args.bytes()?)?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut db = ctx.ks.db(ctx.client.db);
    let found = db.tree_range(key, min, max, rev, offset.unwrap_or(usize::MAX), count)?;
    match found {
        Some(entries) => write_entries(ctx.out, entries),
        None => ctx.out.array(0),
    }
    Ok(())
}

/// TREE.HEIGHT key
pub fn height(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let height = ctx.db().tree_height(key)?;
    ctx.out.int(height as i64);
    Ok(())
}

/// TREE.TRAVERSE key INORDER|PREORDER|POSTORDER|LEVELORDER [LIMIT count]
pub fn traverse(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let order = args.bytes()?;
    let order = if is_keyword(order, "INORDER") {
        TraversalOrder::InOrder
    } else if is_keyword(order, "PREORDER") {
        TraversalOrder::PreOrder
    } else if is_keyword(order, "POSTORDER") {
        TraversalOrder::PostOrder
    } else if is_keyword(order, "LEVELORDER") {
        TraversalOrder::LevelOrder
    } else {
        return Err(CmdError::Syntax);
    };
    let mut limit = None;
    if args.eat("LIMIT") {
        limit = limit_count(args.bytes()?)?;
    }
    args.finish()?;
    let mut db = ctx.ks.db(ctx.client.db);
    let walked = db.tree_traverse(key, order, limit)?;
    write_entries(ctx.out, walked.into_iter());
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    fn filled(numeric: bool) -> Harness {
        let mut h = Harness::new();
        if numeric {
            assert_eq!(h.text(&["tree.create", "t", "NUMERIC"]), "+OK\r\n");
        }
        assert_eq!(
            h.text(&["tree.set", "t", "2", "b", "10", "j", "1", "a", "3", "c"]),
            ":4\r\n"
        );
        h
    }

    #[test]
    fn byte_order_queries() {
        let mut h = filled(false);
        h.assert_replies(&[
            (&["type", "t"], "+tree\r\n"),
            (&["tree.get", "t", "10"], "$1\r\nj\r\n"),
            (&["tree.get", "t", "9"], "$-1\r\n"),
            (&["tree.min", "t"], "*2\r\n$1\r\n1\r\n$1\r\na\r\n"),
            (&["tree.max", "t"], "*2\r\n$1\r\n3\r\n$1\r\nc\r\n"),
            (&["tree.rank", "t", "10"], ":1\r\n"),
            (&["tree.rank", "t", "10", "REV"], ":2\r\n"),
            (&["tree.rank", "t", "9"], "$-1\r\n"),
            (&["tree.at", "t", "-1"], "*2\r\n$1\r\n3\r\n$1\r\nc\r\n"),
            (&["tree.at", "t", "4"], "*-1\r\n"),
            (&["tree.floor", "t", "15"], "*2\r\n$2\r\n10\r\n$1\r\nj\r\n"),
            (&["tree.ceil", "t", "4"], "*-1\r\n"),
            (
                &["tree.range", "t", "(1", "[2", "REV"],
                "*4\r\n$1\r\n2\r\n$1\r\nb\r\n$2\r\n10\r\n$1\r\nj\r\n",
            ),
            (
                &["tree.range", "t", "-", "+", "LIMIT", "1", "1"],
                "*2\r\n$2\r\n10\r\n$1\r\nj\r\n",
            ),
            (&["tree.height", "t"], ":3\r\n"),
            (&["tree.del", "t", "1", "2", "3", "10", "x"], ":4\r\n"),
            (&["tree.len", "t"], ":0\r\n"),
        ]);
        assert_eq!(h.text(&["exists", "t"]), ":1\r\n", "an empty tree stays");
    }

    #[test]
    fn numeric_order_and_errors() {
        let mut h = filled(true);
        h.assert_replies(&[
            (&["tree.max", "t"], "*2\r\n$2\r\n10\r\n$1\r\nj\r\n"),
            (
                &["tree.range", "t", "(2", "+inf"],
                "*4\r\n$1\r\n3\r\n$1\r\nc\r\n$2\r\n10\r\n$1\r\nj\r\n",
            ),
            (
                &["tree.set", "t", "x", "1"],
                "-ERR value is not a valid float\r\n",
            ),
            (
                &["tree.range", "t", "[a", "+"],
                "-ERR min or max is not a float\r\n",
            ),
            (
                &["tree.set", "t", "1"],
                "-ERR wrong number of arguments for 'tree.set' command\r\n",
            ),
            (&["tree.create", "t"], "-ERR key already exists\r\n"),
            (&["tree.traverse", "t", "sideways"], "-ERR syntax error\r\n"),
            (
                &["tree.traverse", "t", "levelorder", "LIMIT", "1"],
                "*2\r\n$1\r\n2\r\n$1\r\nb\r\n",
            ),
        ]);
    }
}
