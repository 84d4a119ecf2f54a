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

    /// Pushes a, b, c then d to a pile of type `kind` and checks each reply; `taken` is the
    /// order the pile gives them back.
    fn push_pop_peek_len(kind: &str, taken: [&str; 4]) {
        let mut h = Harness::new();
        let command = |name: &str| format!("{kind}.{name}");
        let (push, pop, peek, len) = (
            command("push"),
            command("pop"),
            command("peek"),
            command("len"),
        );
        let upper_push = push.to_ascii_uppercase();
        let bulk = |item: &str| format!("$1\r\n{item}\r\n");
        let first = bulk(taken[0]);
        let next_two = format!("*2\r\n{}{}", bulk(taken[1]), bulk(taken[2]));
        let last = format!("*1\r\n{}", bulk(taken[3]));
        h.assert_replies(&[
            (&[&push, "p", "a", "b", "c"], ":3\r\n"),
            (&[&upper_push, "p", "d"], ":4\r\n"),
            (&[&peek, "p"], &first),
            (&[&len, "p"], ":4\r\n"),
            (&[&pop, "p"], &first),
            (&[&pop, "p", "2"], &next_two),
            (&[&pop, "p", "0"], "*0\r\n"),
            (&[&pop, "p", "9"], &last),
            (&["exists", "p"], ":0\r\n"),
            (&[&pop, "p"], "$-1\r\n"),
            (&[&pop, "p", "2"], "*-1\r\n"),
            (&[&peek, "p"], "$-1\r\n"),
            (&[&len, "p"], ":0\r\n"),
        ]);
    }

    #[test]
    fn queue_push_pop_peek_len() {
        push_pop_peek_len("queue", ["a", "b", "c", "d"]);
    }

    #[test]
    fn stack_push_pop_peek_len() {
        push_pop_peek_len("stack", ["d", "c", "b", "a"]);
    }

    /// Checks that every command of a pile type refuses a key `other` holds and reports
    /// count errors as Redis's LPOP does.
    fn pile_errors(kind: &str, other_push: &str) {
        let mut h = Harness::new();
        h.text(&[other_push, "k", "v"]);
        for name in ["push", "pop", "peek", "len"] {
            let command = format!("{kind}.{name}");
            let argv: &[&str] = if name == "push" {
                &[&command, "k", "x"]
            } else {
                &[&command, "k"]
            };
            assert_eq!(h.text(argv), WRONGTYPE, "{argv:?}");
        }
        let pop = format!("{kind}.pop");
        let push = format!("{kind}.push");
        let out_of_range = "-ERR value is out of range, must be positive\r\n";
        let pop_arity = format!("-ERR wrong number of arguments for '{pop}' command\r\n");
        let push_arity = format!("-ERR wrong number of arguments for '{push}' command\r\n");
        h.assert_replies(&[
            (&[&pop, "p", "-1"], out_of_range),
            (&[&pop, "p", "x"], out_of_range),
            (&[&pop, "p", "1", "2"], &pop_arity),
            (&[&push, "p"], &push_arity),
        ]);
    }

    #[test]
    fn queue_errors() {
        pile_errors("queue", "set");
        let mut h = Harness::new();
        h.text(&["set", "s", "v"]);
        h.assert_replies(&[
            (&["queue.bpop", "s", "0"], WRONGTYPE),
            (
                &["queue.bpop", "q", "x"],
                "-ERR timeout is not a float or out of range\r\n",
            ),
            (&["queue.bpop", "q", "-1"], "-ERR timeout is negative\r\n"),
        ]);
    }

    #[test]
    fn stack_errors() {
        pile_errors("stack", "queue.push");
    }
}
