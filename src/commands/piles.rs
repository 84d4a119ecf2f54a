//! QUEUE and STACK commands (`TYPE.PUSH`, `.POP`, `.PEEK`, `.LEN`): one generic handler per
//! verb over the pile type ([`crate::store::pile`]), whose order decides which end POP and
//! PEEK take from.
//!
//! Replies follow the list commands they resemble: PUSH as RPUSH, POP as LPOP (queue) or
//! RPOP (stack), with and without a count.

use super::args::int_arg;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;
use crate::store::pile::TakeOrder;

/// The keyspace events (and command names) of a pile type's writes: the FIFO pile is the
/// queue, the LIFO one the stack.
fn events<O: TakeOrder>() -> (&'static str, &'static str) {
    if O::OLDEST_FIRST {
        ("queue.push", "queue.pop")
    } else {
        ("stack.push", "stack.pop")
    }
}

/// Reports a pop from a queue or stack, then `del` when it emptied the key (the store
/// removed it), as a list pop does.
pub(crate) fn notify_pop(ctx: &mut Ctx, event: &str, key: &[u8]) {
    ctx.notify(KeyspaceEvents::MODULE, event, key);
    if !ctx.db().exists(key) {
        ctx.notify(KeyspaceEvents::GENERIC, "del", key);
    }
}

/// Reads the optional count of a POP command as LPOP does: a negative or non-integer count is
/// `ERR value is out of range, must be positive`; more arguments are an arity error.
pub(crate) fn parse_pop_count(args: &mut Args) -> Result<Option<usize>, CmdError> {
    if args.remaining() > 1 {
        return Err(args.wrong_arity());
    }
    let Some(arg) = args.peek() else {
        return Ok(None);
    };
    args.bytes()?;
    match int_arg(arg) {
        Ok(count) if count >= 0 => Ok(Some(usize::try_from(count).unwrap_or(usize::MAX))),
        _ => Err(CmdError::msg("ERR value is out of range, must be positive")),
    }
}

/// Writes a POP reply: without a count the single element or a null bulk; with a count an
/// array (possibly empty) or, for a missing key, a null array.
pub(crate) fn write_popped(
    out: &mut ReplyBuf,
    count: Option<usize>,
    popped: Option<Vec<Box<[u8]>>>,
) {
    match (count, popped) {
        (None, Some(items)) => match items.first() {
            Some(item) => out.bulk(item),
            None => out.null(),
        },
        (None, None) => out.null(),
        (Some(_), Some(items)) => {
            out.array(items.len());
            for item in &items {
                out.bulk(item);
            }
        }
        (Some(_), None) => out.null_array(),
    }
}

/// QUEUE.PUSH / STACK.PUSH key element [element ...]
pub fn push<O: TakeOrder>(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let items = args.rest();
    let len = ctx.db().pile_push::<O>(key, items)?;
    ctx.out.int(len as i64);
    ctx.notify(KeyspaceEvents::MODULE, events::<O>().0, key);
    Ok(())
}

/// QUEUE.POP / STACK.POP key [count]
pub fn pop<O: TakeOrder>(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let count = parse_pop_count(args)?;
    let popped = ctx.db().pile_pop::<O>(key, count.unwrap_or(1))?;
    let any = popped.as_ref().is_some_and(|items| !items.is_empty());
    write_popped(ctx.out, count, popped);
    if any {
        notify_pop(ctx, events::<O>().1, key);
    }
    Ok(())
}

/// QUEUE.PEEK / STACK.PEEK key
pub fn peek<O: TakeOrder>(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    match db.pile_peek::<O>(key)? {
        Some(item) => ctx.out.bulk(item),
        None => ctx.out.null(),
    }
    Ok(())
}

/// QUEUE.LEN / STACK.LEN key
pub fn len<O: TakeOrder>(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let len = ctx.db().pile_len::<O>(key)?;
    ctx.out.int(len as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn queue_push_pop_peek_len() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["queue.push", "q", "a", "b", "c"], ":3\r\n"),
            (&["QUEUE.PUSH", "q", "d"], ":4\r\n"),
            (&["queue.peek", "q"], "$1\r\na\r\n"),
            (&["queue.len", "q"], ":4\r\n"),
            (&["queue.pop", "q"], "$1\r\na\r\n"),
            (&["queue.pop", "q", "2"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (&["queue.pop", "q", "0"], "*0\r\n"),
            (&["queue.pop", "q", "9"], "*1\r\n$1\r\nd\r\n"),
            (&["exists", "q"], ":0\r\n"),
            (&["queue.pop", "q"], "$-1\r\n"),
            (&["queue.pop", "q", "2"], "*-1\r\n"),
            (&["queue.peek", "q"], "$-1\r\n"),
            (&["queue.len", "q"], ":0\r\n"),
        ]);
    }

    #[test]
    fn queue_errors() {
        let mut h = Harness::new();
        h.text(&["set", "s", "v"]);
        for cmd in [
            &["queue.push", "s", "x"][..],
            &["queue.pop", "s"],
            &["queue.peek", "s"],
            &["queue.len", "s"],
            &["queue.bpop", "s", "0"],
        ] {
            assert_eq!(h.text(cmd), WRONGTYPE, "{cmd:?}");
        }
        let out_of_range = "-ERR value is out of range, must be positive\r\n";
        h.assert_replies(&[
            (&["queue.pop", "q", "-1"], out_of_range),
            (&["queue.pop", "q", "x"], out_of_range),
            (
                &["queue.pop", "q", "1", "2"],
                "-ERR wrong number of arguments for 'queue.pop' command\r\n",
            ),
            (
                &["queue.push", "q"],
                "-ERR wrong number of arguments for 'queue.push' command\r\n",
            ),
            (
                &["queue.bpop", "q", "x"],
                "-ERR timeout is not a float or out of range\r\n",
            ),
            (&["queue.bpop", "q", "-1"], "-ERR timeout is negative\r\n"),
        ]);
    }

    #[test]
    fn stack_push_pop_peek_len() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["stack.push", "s", "a", "b", "c"], ":3\r\n"),
            (&["STACK.PUSH", "s", "d"], ":4\r\n"),
            (&["stack.peek", "s"], "$1\r\nd\r\n"),
            (&["stack.len", "s"], ":4\r\n"),
            (&["stack.pop", "s"], "$1\r\nd\r\n"),
            (&["stack.pop", "s", "2"], "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
            (&["stack.pop", "s", "0"], "*0\r\n"),
            (&["stack.pop", "s", "9"], "*1\r\n$1\r\na\r\n"),
            (&["exists", "s"], ":0\r\n"),
            (&["stack.pop", "s"], "$-1\r\n"),
            (&["stack.pop", "s", "2"], "*-1\r\n"),
            (&["stack.peek", "s"], "$-1\r\n"),
            (&["stack.len", "s"], ":0\r\n"),
        ]);
    }

    #[test]
    fn stack_errors() {
        let mut h = Harness::new();
        h.text(&["queue.push", "q", "v"]);
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for cmd in [
            &["stack.push", "q", "x"][..],
            &["stack.pop", "q"],
            &["stack.peek", "q"],
            &["stack.len", "q"],
        ] {
            assert_eq!(h.text(cmd), wrongtype, "{cmd:?}");
        }
        assert_eq!(
            h.text(&["stack.pop", "s", "-5"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            h.text(&["stack.pop", "s", "1", "x"]),
            "-ERR wrong number of arguments for 'stack.pop' command\r\n"
        );
    }
}
