//! Blocking commands' shared machinery (BLPOP, BRPOP, BLMOVE, BZPOPMIN, QUEUE.BPOP, ...).
//!
//! A handler first tries its operation; when there is nothing to take it calls [`block`]. The
//! reactor then parks the client on the keys. When one of them is created with the awaited
//! type, it joins a line of ready keys; the reactor takes them in the order they became ready
//! and, for each, runs the same command again for the clients waiting on that key,
//! longest-waiting first, while the key lasts. On such a run the command takes only from that
//! key ([`serving_keys`]), as Redis serves a client from the key that was signalled rather than
//! from the first of its keys holding data, and never trips over its other keys' types. A run
//! that blocks again keeps its place in line and its original deadline. So every blocking
//! command needs only its non-blocking logic, and none of them re-implements waiting.

use super::{CmdError, Ctx};
use crate::protocol::ReplyBuf;
use crate::store::long_double::LongDouble;
use crate::store::Key;

/// What a blocked command replies when its deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReply {
    /// BLPOP, BRPOP, BLMPOP, BZPOPMIN, ...: a null array.
    NullArray,
    /// A command waiting for cold values (see [`super::tiering`]): `-TRYAGAIN`, naming the
    /// key (the reactor writes it with [`super::tiering::timeout_text`]).
    ColdValue,
}

/// A client's request to wait, picked up by the reactor after the handler returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRequest {
    pub db: usize,
    pub keys: Vec<Key>,
    /// Absolute Unix ms; `None` waits forever.
    pub deadline: Option<u64>,
    pub on_timeout: TimeoutReply,
    /// The command to run again when a key is ready, when it is not the one sent (XREAD
    /// resolves `$` to the ID the stream had when it blocked).
    pub rerun: Option<Vec<Vec<u8>>>,
}

/// Parses a blocking timeout in seconds (fractions allowed, 0 = forever) into an absolute
/// deadline in Unix ms, as Redis 7.0 does: read like a `long double` (so `0x10` is 16 s,
/// and `1e-400` is a millisecond), rounded up to the next millisecond, and, because Redis
/// converts with a C cast, anything beyond the 64-bit range (`inf`, `1e300`) is "negative".
pub fn parse_timeout(arg: &[u8]) -> Result<Option<u64>, CmdError> {
    Ok(deadline_after(timeout_ms(arg)?))
}

/// The milliseconds of a blocking timeout in seconds (see [`parse_timeout`]).
fn timeout_ms(arg: &[u8]) -> Result<u64, CmdError> {
    let ms = LongDouble::parse(arg)
        .ok_or_else(|| CmdError::msg("ERR timeout is not a float or out of range"))?
        .ceil_thousandfold();
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok(ms as u64)
}

/// The deadline `ms` milliseconds from now; `None` (forever) for 0, and for a deadline past
/// the 64-bit range: Redis's sum wraps there, and its timeout table never reaches it. From
/// the clock itself, not the time cached for the event loop's pass (which may be behind by
/// the time the pass has taken), as Redis 7.0 reads `mstime()`: with the reactor timing out
/// only once the clock is past the deadline, a client waits at least `ms`.
pub fn deadline_after(ms: u64) -> Option<u64> {
    deadline_at(crate::clock::unix_ms(), ms)
}

fn deadline_at(now_ms: u64, ms: u64) -> Option<u64> {
    if ms == 0 {
        return None;
    }
    ms.checked_add(now_ms)
        .filter(|&deadline| deadline <= i64::MAX as u64)
}

/// The value type a blocking command waits for, from its group in the command table. A waited
/// key rewritten with another type (`SET q x`) keeps its clients waiting, as in Redis, rather
/// than waking them into a WRONGTYPE error.
pub fn awaited_type(command: &[u8]) -> Option<&'static str> {
    match super::lookup(command)?.group {
        "list" => Some("list"),
        "sorted-set" => Some("zset"),
        "queue" => Some("queue"),
        "stack" => Some("stack"),
        "stream" => Some("stream"),
        _ => None,
    }
}

/// The keys a blocking command may take from on this run: all of `keys` on its first run, and
/// only the key that became ready when the reactor runs it again for that key. O(keys).
pub fn serving_keys<'k, 'a>(ctx: &Ctx, keys: &'k [&'a [u8]]) -> &'k [&'a [u8]] {
    let Some(served) = ctx.client.served_key.as_deref() else {
        return keys;
    };
    match keys.iter().position(|key| *key == served) {
        Some(at) => &keys[at..=at],
        // Not one of its keys: nothing is served on this run.
        None => &[],
    }
}

/// Writes the reply a blocked command gives when its deadline passes.
pub fn write_timeout_reply(out: &mut ReplyBuf, on_timeout: TimeoutReply) {
    match on_timeout {
        TimeoutReply::NullArray => out.null_array(),
        TimeoutReply::ColdValue => out.error(super::tiering::unavailable_text(b"")),
    }
}

/// Blocks the client on `keys` of its database until one of them is written or `deadline`
/// passes. Inside a transaction nothing may wait, so the timeout reply is given at once, as
/// Redis does. The handler writes nothing else when it calls this.
pub fn block(ctx: &mut Ctx, keys: &[&[u8]], deadline: Option<u64>, on_timeout: TimeoutReply) {
    block_with(ctx, keys, deadline, on_timeout, None);
}

/// Like [`block`], running `rerun` instead of the command sent when a key is ready.
pub fn block_as(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    deadline: Option<u64>,
    on_timeout: TimeoutReply,
    rerun: Vec<Vec<u8>>,
) {
    block_with(ctx, keys, deadline, on_timeout, Some(rerun));
}

fn block_with(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    deadline: Option<u64>,
    on_timeout: TimeoutReply,
    rerun: Option<Vec<Vec<u8>>>,
) {
    if ctx.client.in_multi {
        write_timeout_reply(ctx.out, on_timeout);
        return;
    }
    let mut unique: Vec<Key> = Vec::with_capacity(keys.len());
    for key in keys {
        if !unique.iter().any(|k| &**k == *key) {
            unique.push((*key).into());
        }
    }
    ctx.client.block = Some(BlockRequest {
        db: ctx.client.db,
        keys: unique,
        deadline,
        on_timeout,
        rerun,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{ClientState, NoClients, Server};
    use crate::config::Config;
    use crate::protocol::{Protover, ReplyBuf};
    use crate::store::Keyspace;

    fn with_ctx<T>(f: impl FnOnce(&mut Ctx) -> T) -> T {
        let mut ks = Keyspace::new(1);
        ks.set_clock(10_000);
        let mut server = Server::new(Config::default(), 0);
        let mut client = ClientState::default();
        let mut out = ReplyBuf::new(Protover::Resp2);
        let mut ctx = Ctx {
            ks: &mut ks,
            server: &mut server,
            client: &mut client,
            clients: &NoClients,
            out: &mut out,
        };
        f(&mut ctx)
    }

    #[test]
    fn timeouts_parse_like_redis() {
        // Deadlines from a fixed clock at 10 s.
        let parse = |arg: &[u8]| timeout_ms(arg).map(|ms| deadline_at(10_000, ms));
        assert_eq!(parse(b"0"), Ok(None));
        assert_eq!(parse(b"0.0001"), Ok(Some(10_001)));
        assert_eq!(parse(b"1.5"), Ok(Some(11_500)));
        assert_eq!(parse(b"-1"), Err(CmdError::msg("ERR timeout is negative")));
        assert_eq!(
            parse(b"abc"),
            Err(CmdError::msg("ERR timeout is not a float or out of range"))
        );
        assert_eq!(parse(b"0x1"), Ok(Some(11_000)));
        assert_eq!(parse(b"-0.0001"), Ok(None));
        assert_eq!(parse(b"1e-400"), Ok(Some(10_001)));
        assert_eq!(parse(b"5e-324"), Ok(Some(10_001)));
        // Exact in 64 mantissa bits, and a deadline past the 64-bit range: forever.
        assert_eq!(parse(b"9223372036854775"), Ok(None));
        assert_eq!(parse(b"9223372036854775.807"), Ok(None));
        for huge in [
            &b"1e300"[..],
            b"inf",
            b"1e400",
            b"9223372036854776",
            b"9223372036854775.9",
        ] {
            assert_eq!(parse(huge), Err(CmdError::msg("ERR timeout is negative")));
        }
    }

    #[test]
    fn a_run_for_a_ready_key_serves_from_that_key_only() {
        with_ctx(|ctx| {
            let keys: [&[u8]; 3] = [b"a", b"b", b"c"];
            assert_eq!(serving_keys(ctx, &keys), &keys[..]);
            ctx.client.served_key = Some(Key::from(&b"b"[..]));
            assert_eq!(serving_keys(ctx, &keys), &[&b"b"[..]]);
            ctx.client.served_key = Some(Key::from(&b"z"[..]));
            assert!(serving_keys(ctx, &keys).is_empty());
        });
    }

    #[test]
    fn block_records_unique_keys_or_answers_inside_multi() {
        with_ctx(|ctx| {
            block(ctx, &[b"a", b"b", b"a"], None, TimeoutReply::NullArray);
            let req = ctx.client.block.take().unwrap();
            assert_eq!(req.keys.len(), 2);
            ctx.client.in_multi = true;
            block(ctx, &[b"a"], None, TimeoutReply::NullArray);
            assert!(ctx.client.block.is_none());
            assert_eq!(ctx.out.bytes(), b"*-1\r\n");
        });
    }
}
