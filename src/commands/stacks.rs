//! STACK commands: a LIFO stack under one key (STACK.PUSH on top, STACK.POP from the top).
//!
//! Replies follow the list commands they resemble: STACK.PUSH as RPUSH, STACK.POP as RPOP
//! (with and without a count).

use super::queues::{notify_pop, parse_pop_count, write_popped};
use super::{Args, CmdResult, Ctx};
use crate::config::KeyspaceEvents;

/// STACK.PUSH key element [element ...]
pub fn push(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let items = args.rest();
    let len = ctx.db().stack_push(key, items)?;
    ctx.out.int(len as i64);
    ctx.notify(KeyspaceEvents::MODULE, "stack.push", key);
    Ok(())
}

/// STACK.POP key [count]
pub fn pop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let count = parse_pop_count(args, "stack.pop")?;
    let popped = ctx.db().stack_pop(key, count.unwrap_or(1))?;
    let any = popped.as_ref().is_some_and(|items| !items.is_empty());
    write_popped(ctx.out, count, popped);
    if any {
        notify_pop(ctx, "stack.pop", key);
    }
    Ok(())
}

/// STACK.PEEK key
pub fn peek(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut db = ctx.ks.db(ctx.client.db);
    match db.stack_peek(key)? {
        Some(item) => ctx.out.bulk(item),
        None => ctx.out.null(),
    }
    Ok(())
}

/// STACK.LEN key
pub fn len(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let len = ctx.db().stack_len(key)?;
    ctx.out.int(len as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn push_pop_peek_len() {
        let mut h = Harness::new();
        assert_eq!(h.text(&["stack.push", "s", "a", "b", "c"]), ":3\r\n");
        assert_eq!(h.text(&["STACK.PUSH", "s", "d"]), ":4\r\n");
        assert_eq!(h.text(&["stack.peek", "s"]), "$1\r\nd\r\n");
        assert_eq!(h.text(&["stack.len", "s"]), ":4\r\n");
        assert_eq!(h.text(&["stack.pop", "s"]), "$1\r\nd\r\n");
        assert_eq!(
            h.text(&["stack.pop", "s", "2"]),
            "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
        );
        assert_eq!(h.text(&["stack.pop", "s", "0"]), "*0\r\n");
        assert_eq!(h.text(&["stack.pop", "s", "9"]), "*1\r\n$1\r\na\r\n");
        assert_eq!(h.text(&["exists", "s"]), ":0\r\n");
        assert_eq!(h.text(&["stack.pop", "s"]), "$-1\r\n");
        assert_eq!(h.text(&["stack.pop", "s", "2"]), "*-1\r\n");
        assert_eq!(h.text(&["stack.peek", "s"]), "$-1\r\n");
        assert_eq!(h.text(&["stack.len", "s"]), ":0\r\n");
    }

    #[test]
    fn errors() {
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
