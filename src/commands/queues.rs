//! QUEUE commands: a FIFO queue under one key (QUEUE.PUSH at the tail, QUEUE.POP from the
//! head), with a blocking pop served by the shared machinery in [`super::blocking`].
//!
//! Replies follow the list commands they resemble: QUEUE.PUSH as RPUSH, QUEUE.POP as LPOP
//! (with and without a count), QUEUE.BPOP as BLPOP.

use super::args::int_arg;
use super::blocking::{block, parse_timeout, serving_keys, TimeoutReply};
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::protocol::ReplyBuf;

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
pub(crate) fn parse_pop_count(args: &mut Args, command: &str) -> Result<Option<usize>, CmdError> {
    if args.remaining() > 1 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{command}' command"
        )));
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

/// QUEUE.PUSH key element [element ...]
pub fn push(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let items = args.rest();
    let len = ctx.db().queue_push(key, items)?;
    ctx.out.int(len as i64);
    ctx.notify(KeyspaceEvents::MODULE, "queue.push", key);
    Ok(())
}

/// QUEUE.POP key [count]
pub fn pop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let count = parse_pop_count(args, "queue.pop")?;
    let popped = ctx.db().queue_pop(key, count.unwrap_or(1))?;
    let any = popped.as_ref().is_some_and(|items| !items.is_empty());
    write_popped(ctx.out, count, popped);
    if any {
        notify_pop(ctx, "queue.pop", key);
    }
    Ok(())
}

/// QUEUE.PEEK key
pub fn peek(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    match db.queue_peek(key)? {
        Some(item) => ctx.out.bulk(item),
        None => ctx.out.null(),
    }
    Ok(())
}

/// QUEUE.LEN key
pub fn len(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let len = ctx.db().queue_len(key)?;
    ctx.out.int(len as i64);
    Ok(())
}

/// QUEUE.BPOP key [key ...] timeout
pub fn bpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.rest();
    let Some((timeout, keys)) = argv.split_last() else {
        return Err(CmdError::Syntax);
    };
    let deadline = parse_timeout(ctx, timeout)?;
    let serving = serving_keys(ctx, keys);
    match ctx.db().queue_pop_first(serving)? {
        Some((at, item)) => {
            ctx.out.array(2);
            let key = serving.get(at).copied().unwrap_or_default();
            ctx.out.bulk(key);
            ctx.out.bulk(&item);
            notify_pop(ctx, "queue.pop", key);
        }
        None => block(ctx, keys, deadline, TimeoutReply::NullArray),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    #[test]
    fn push_pop_peek_len() {
        let mut h = Harness::new();
        assert_eq!(h.text(&["queue.push", "q", "a", "b", "c"]), ":3\r\n");
        assert_eq!(h.text(&["QUEUE.PUSH", "q", "d"]), ":4\r\n");
        assert_eq!(h.text(&["queue.peek", "q"]), "$1\r\na\r\n");
        assert_eq!(h.text(&["queue.len", "q"]), ":4\r\n");
        assert_eq!(h.text(&["queue.pop", "q"]), "$1\r\na\r\n");
        assert_eq!(
            h.text(&["queue.pop", "q", "2"]),
            "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
        );
        assert_eq!(h.text(&["queue.pop", "q", "0"]), "*0\r\n");
        assert_eq!(h.text(&["queue.pop", "q", "9"]), "*1\r\n$1\r\nd\r\n");
        assert_eq!(h.text(&["exists", "q"]), ":0\r\n");
        assert_eq!(h.text(&["queue.pop", "q"]), "$-1\r\n");
        assert_eq!(h.text(&["queue.pop", "q", "2"]), "*-1\r\n");
        assert_eq!(h.text(&["queue.peek", "q"]), "$-1\r\n");
        assert_eq!(h.text(&["queue.len", "q"]), ":0\r\n");
    }

    #[test]
    fn errors() {
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
        assert_eq!(h.text(&["queue.pop", "q", "-1"]), out_of_range);
        assert_eq!(h.text(&["queue.pop", "q", "x"]), out_of_range);
        assert_eq!(
            h.text(&["queue.pop", "q", "1", "2"]),
            "-ERR wrong number of arguments for 'queue.pop' command\r\n"
        );
        assert_eq!(
            h.text(&["queue.push", "q"]),
            "-ERR wrong number of arguments for 'queue.push' command\r\n"
        );
        assert_eq!(
            h.text(&["queue.bpop", "q", "x"]),
            "-ERR timeout is not a float or out of range\r\n"
        );
        assert_eq!(
            h.text(&["queue.bpop", "q", "-1"]),
            "-ERR timeout is negative\r\n"
        );
    }

    #[test]
    fn bpop_takes_from_the_first_non_empty_queue_or_blocks() {
        let mut h = Harness::new();
        h.text(&["queue.push", "q2", "x", "y"]);
        assert_eq!(
            h.text(&["queue.bpop", "q1", "q2", "0"]),
            "*2\r\n$2\r\nq2\r\n$1\r\nx\r\n"
        );
        assert_eq!(h.text(&["queue.bpop", "q1", "1"]), "");
        let request = h.client.block.take().expect("blocked");
        let keys: Vec<&[u8]> = request.keys.iter().map(|k| &k[..]).collect();
        assert_eq!(keys, vec![&b"q1"[..]]);
        assert_eq!(request.deadline, Some(1_001_000));
    }
}
