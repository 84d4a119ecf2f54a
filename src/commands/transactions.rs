//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! MULTI makes [`super::execute`] queue commands instead of running them; EXEC runs the queue
//! inside the same call, so every write of a transaction happens in one reactor turn (one
//! persistence batch, nothing interleaved). WATCH records keys in the keyspace, which marks
//! the watching clients whenever one of those keys changes (`DbMut::modified`); EXEC then
//! fails with a null reply.

use super::table::{CommandSpec, Flags};
use super::{resolve, Args, ClientState, CmdError, CmdResult, Ctx};
use crate::store::Keyspace;

/// A transaction being queued.
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    /// The queued requests, arguments copied.
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command could not be queued (unknown, wrong arity, refused): EXEC will refuse.
    pub failed: bool,
    /// A queued command may change data or publish: CLIENT PAUSE WRITE holds the EXEC.
    pub writes: bool,
    /// A queued command may use more memory (`denyoom`): over `maxmemory`, EXEC is refused.
    pub uses_memory: bool,
    /// Bytes held by the queued arguments (CLIENT LIST multi-mem).
    pub memory: usize,
}

/// True for commands that are queued inside MULTI rather than run (all but the
/// transaction-control ones, QUIT and RESET).
pub fn queues(spec: &CommandSpec) -> bool {
    !spec.flags.contains(Flags::NOT_QUEUED)
}

/// Queues a command inside MULTI, or refuses one that may not run in a transaction.
pub fn queue(ctx: &mut Ctx, spec: &CommandSpec, argv: &[&[u8]]) {
    if spec.flags.contains(Flags::NO_MULTI) {
        ctx.server.stats.total_error_replies += 1;
        if let Some(tx) = ctx.client.multi.as_mut() {
            tx.failed = true;
        }
        ctx.out
            .error("ERR Command not allowed inside a transaction");
        return;
    }
    if let Some(tx) = ctx.client.multi.as_mut() {
        let args: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
        // What the queue really holds: the argument bytes and the vectors holding them.
        tx.memory += args.iter().map(Vec::capacity).sum::<usize>()
            + (args.len() + 1) * std::mem::size_of::<Vec<u8>>();
        tx.writes |= crate::commands::may_write(ctx.server, spec, argv);
        tx.uses_memory |= spec.flags.contains(Flags::DENYOOM);
        tx.queued.push(args);
    }
    ctx.out.simple("QUEUED");
}

/// Forgets every watched key of `client`. O(watched keys).
pub fn unwatch_all(ks: &mut Keyspace, client: &mut ClientState) {
    for (db, key) in std::mem::take(&mut client.watched) {
        ks.unwatch(db, &key, client.id);
    }
    ks.clear_watch_state(client.id);
}

/// Ends a transaction without running it: the queue and the watched keys are dropped.
pub fn discard_state(ctx: &mut Ctx) {
    ctx.client.multi = None;
    unwatch_all(ctx.ks, ctx.client);
}

pub fn multi(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Transaction::default());
    ctx.out.ok();
    Ok(())
}

pub fn discard(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    discard_state(ctx);
    ctx.out.ok();
    Ok(())
}

pub fn exec(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let Some(tx) = ctx.client.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    if tx.failed {
        unwatch_all(ctx.ks, ctx.client);
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let broken = ctx.ks.watch_broken(ctx.client.id, &ctx.client.watched);
    unwatch_all(ctx.ks, ctx.client);
    if broken {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(tx.queued.len());
    ctx.client.in_multi = true;
    for request in &tx.queued {
        let argv: Vec<&[u8]> = request.iter().map(Vec::as_slice).collect();
        match resolve(&argv) {
            Ok(spec) => match super::acl::exec_refusal(ctx, spec, &argv) {
                Some(text) => {
                    super::stats::record_error_reply(ctx.server, &text);
                    ctx.out.error(&text);
                }
                None => super::call(ctx, spec, &argv),
            },
            // Queued commands were resolved when queued; the table cannot change since.
            Err(e) => ctx.out.error(e.reply_bytes()),
        }
    }
    ctx.client.in_multi = false;
    Ok(())
}

pub fn watch(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for key in args.rest() {
        let already = ctx
            .client
            .watched
            .iter()
            .any(|(d, k)| *d == db && &**k == *key);
        if !already {
            ctx.ks.watch(db, key, ctx.client.id);
            ctx.client.watched.push((db, (*key).into()));
        }
    }
    ctx.out.ok();
    Ok(())
}

pub fn unwatch(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    unwatch_all(ctx.ks, ctx.client);
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn queued_commands_run_at_exec() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["multi"], "+OK\r\n"),
            (&["multi"], "-ERR MULTI calls can not be nested\r\n"),
            (&["set", "a", "1"], "+QUEUED\r\n"),
            (&["incr", "a"], "+QUEUED\r\n"),
            (&["get", "a"], "+QUEUED\r\n"),
            (&["exec"], "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n"),
            (&["exec"], "-ERR EXEC without MULTI\r\n"),
            (&["discard"], "-ERR DISCARD without MULTI\r\n"),
        ]);
    }

    #[test]
    fn queueing_errors_abort_and_runtime_errors_do_not() {
        let mut h = Harness::new();
        h.run(&["multi"]);
        h.run(&["set", "a", "x"]);
        h.assert_replies(&[
            (
                &["nosuch"],
                "-ERR unknown command 'nosuch', with args beginning with: \r\n",
            ),
            (
                &["exec"],
                "-EXECABORT Transaction discarded because of previous errors.\r\n",
            ),
            (&["get", "a"], "$-1\r\n"),
        ]);
        h.run(&["multi"]);
        h.run(&["set", "a", "x"]);
        h.run(&["incr", "a"]);
        assert_eq!(
            h.text(&["exec"]),
            "*2\r\n+OK\r\n-ERR value is not an integer or out of range\r\n"
        );
        h.run(&["multi"]);
        h.assert_replies(&[
            (&["shutdown"], "-ERR Command not allowed inside a transaction\r\n"),
            (&["exec", "x"], "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"),
            (&["exec"], "-ERR EXEC without MULTI\r\n"),
        ]);
    }

    #[test]
    fn watch_fails_exec_after_a_change() {
        let mut h = Harness::new();
        h.run(&["set", "k", "1"]);
        assert_eq!(h.text(&["watch", "k"]), "+OK\r\n");
        // Another client would do this; the keyspace does not care who writes.
        h.ks.db(0).remove(b"k");
        h.run(&["multi"]);
        assert_eq!(
            h.text(&["watch", "k"]),
            "-ERR WATCH inside MULTI is not allowed\r\n"
        );
        h.run(&["ping"]);
        assert_eq!(h.text(&["exec"]), "*-1\r\n");
        // The watch ended with EXEC.
        h.run(&["multi"]);
        h.run(&["ping"]);
        assert_eq!(h.text(&["exec"]), "*1\r\n+PONG\r\n");
        h.run(&["watch", "k"]);
        h.run(&["unwatch"]);
        h.run(&["set", "k", "2"]);
        h.run(&["multi"]);
        assert_eq!(h.text(&["exec"]), "*0\r\n");
    }

    #[test]
    fn flush_breaks_watches_of_existing_keys_only() {
        let mut h = Harness::new();
        h.run(&["watch", "missing"]);
        h.run(&["flushall"]);
        h.run(&["multi"]);
        assert_eq!(h.text(&["exec"]), "*0\r\n");
        h.run(&["set", "k", "v"]);
        h.run(&["watch", "k"]);
        h.run(&["flushdb"]);
        h.run(&["multi"]);
        assert_eq!(h.text(&["exec"]), "*-1\r\n");
    }

    #[test]
    fn watched_key_expiring_breaks_exec() {
        let mut h = Harness::new();
        h.run(&["set", "k", "v", "px", "100"]);
        h.run(&["watch", "k"]);
        h.ks.set_clock(1_000_000 + 200);
        h.run(&["multi"]);
        assert_eq!(h.text(&["exec"]), "*-1\r\n");
        // Already expired when watched: its deletion is no change.
        h.run(&["set", "e", "v", "px", "100"]);
        h.ks.set_clock(1_000_000 + 400);
        h.run(&["watch", "e"]);
        h.run(&["get", "e"]);
        h.run(&["multi"]);
        assert_eq!(h.text(&["exec"]), "*0\r\n");
    }
}
