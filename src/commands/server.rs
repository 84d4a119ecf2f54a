//! Connection and server commands: PING, HELLO, CLIENT, INFO, CONFIG, COMMAND, SHUTDOWN ...

use super::args::is_keyword;
use super::reply::help_reply;
use super::table::{BeginSearch, CommandSpec, FindKeys, Flags, KeyFlags, KeySpec, COMMANDS};
use super::{
    pubsub, transactions, Args, ClientState, CmdError, CmdResult, ConnStats, Ctx, Pause, ReplyMode,
    Shutdown,
};
use crate::config::ConfigError;
use crate::protocol::{Protover, ReplyBuf};
use std::fmt::Write as _;

/// The Redis version reported to clients, which check it to decide what they may use.
pub const REDIS_VERSION: &str = "7.0.15";

pub fn ping(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if ctx.client.is_subscriber() && !ctx.out.is_resp3() {
        // RESP2 subscribers can only receive arrays, so PING answers in one.
        if args.remaining() > 1 {
            return Err(args.wrong_arity());
        }
        let message = if args.is_empty() {
            &b""[..]
        } else {
            args.bytes()?
        };
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(message);
        return Ok(());
    }
    match args.remaining() {
        0 => ctx.out.simple("PONG"),
        1 => ctx.out.bulk(args.bytes()?),
        _ => {
            return Err(args.wrong_arity())
        }
    }
    Ok(())
}

pub fn echo(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let message = args.bytes()?;
    ctx.out.bulk(message);
    Ok(())
}

pub fn quit(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.client.close_after_reply = true;
    ctx.out.ok();
    Ok(())
}

pub fn select(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let index = args.int()?;
    if index < 0 || index as usize >= ctx.ks.db_count() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.client.db = index as usize;
    ctx.out.ok();
    Ok(())
}

/// Redis refuses client names with spaces or non-printable characters.
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// Compares a password with the configured one in time that does not depend on where they
/// differ (only on the configured password's length), so a network observer cannot guess it
/// a byte at a time.
fn password_matches(expected: &[u8], given: &[u8]) -> bool {
    let mut diff = u8::from(expected.len() != given.len());
    for (i, &byte) in expected.iter().enumerate() {
        diff |= byte ^ given.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

/// Checks credentials against the only user there is, `default` (whose password is
/// `requirepass`; without one any password is accepted, as for Redis's `nopass` user) and
/// marks the connection authenticated. A failure leaves the connection as it was.
fn authenticate(ctx: &mut Ctx, user: &[u8], password: &[u8]) -> CmdResult {
    let valid = user == b"default"
        && ctx
            .server
            .config
            .requirepass
            .as_ref()
            .is_none_or(|expected| password_matches(expected.as_bytes(), password));
    if !valid {
        return Err(CmdError::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    ctx.client.authenticated = true;
    Ok(())
}

pub fn auth(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if args.remaining() > 2 {
        return Err(CmdError::Syntax);
    }
    let (user, password) = if args.remaining() == 1 {
        if ctx.server.config.requirepass.is_none() {
            return Err(CmdError::msg(
                "ERR AUTH <password> called without any password configured for the default \
                 user. Are you sure your configuration is correct?",
            ));
        }
        (&b"default"[..], args.bytes()?)
    } else {
        (args.bytes()?, args.bytes()?)
    };
    authenticate(ctx, user, password)?;
    ctx.out.ok();
    Ok(())
}

pub fn hello(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mut proto = ctx.out.proto();
    if let Some(version) = args.peek() {
        args.bytes()?;
        let version = super::args::int_arg(version)
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        proto = match version {
            2 => Protover::Resp2,
            3 => Protover::Resp3,
            _ => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
        };
    }
    let mut name = None;
    let mut credentials = None;
    while !args.is_empty() {
        if args.remaining() >= 3 && args.eat("auth") {
            credentials = Some((args.bytes()?, args.bytes()?));
        } else if args.remaining() >= 2 && args.eat("setname") {
            let candidate = args.bytes()?;
            if !valid_client_name(candidate) {
                return Err(CmdError::msg(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            name = Some(candidate);
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(args.peek().unwrap_or_default())
            )));
        }
    }
    if let Some((user, password)) = credentials {
        authenticate(ctx, user, password)?;
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
             the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = name {
        ctx.client.name = (!name.is_empty()).then(|| name.to_vec());
    }
    ctx.out.set_proto(proto);
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(if proto == Protover::Resp3 { 3 } else { 2 });
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
}

pub fn client_id(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

pub fn client_setname(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let name = args.bytes()?;
    if !valid_client_name(name) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    ctx.client.name = (!name.is_empty()).then(|| name.to_vec());
    ctx.out.ok();
    Ok(())
}

pub fn client_getname(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    match &ctx.client.name {
        Some(name) => ctx.out.bulk(name),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn client_setinfo(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (attr, value) = (args.bytes()?, args.bytes()?);
    let is_name = is_keyword(attr, "lib-name");
    if !is_name && !is_keyword(attr, "lib-ver") {
        return Err(CmdError::msg(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    }
    if !valid_client_name(value) {
        return Err(CmdError::msg(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            if is_name { "lib-name" } else { "lib-ver" }
        )));
    }
    let slot = if is_name {
        &mut ctx.client.lib_name
    } else {
        &mut ctx.client.lib_ver
    };
    *slot = (!value.is_empty()).then(|| value.to_vec());
    ctx.out.ok();
    Ok(())
}

/// CLIENT LIST / CLIENT KILL client types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    /// Replicas and masters: never present here.
    Replication,
    PubSub,
}

impl ClientType {
    fn parse(name: &[u8]) -> Result<ClientType, CmdError> {
        if is_keyword(name, "normal") {
            Ok(ClientType::Normal)
        } else if is_keyword(name, "pubsub") {
            Ok(ClientType::PubSub)
        } else if ["master", "replica", "slave"]
            .iter()
            .any(|k| is_keyword(name, k))
        {
            Ok(ClientType::Replication)
        } else {
            Err(CmdError::msg(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(name)
            )))
        }
    }

    /// A client's type as Redis classifies it (MONITOR clients count as normal).
    fn of(client: &ClientState) -> ClientType {
        if client.is_subscriber() {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }
}

/// Redis's size of the fixed reply buffer: output beyond it is reported as a list.
const REPLY_CHUNK_BYTES: usize = 16 * 1024;

/// One CLIENT LIST line, with Redis 7.0's field names and order.
pub fn client_line(client: &ClientState, stats: ConnStats, now_ms: u64) -> String {
    let mut flags = String::new();
    if client.monitor {
        flags.push('O');
    }
    if client.is_subscriber() {
        flags.push('P');
    }
    if client.multi.is_some() {
        flags.push('x');
    }
    if stats.blocked {
        flags.push('b');
    }
    if client.close_after_reply {
        flags.push('c');
    }
    if client.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let (multi, multi_mem) = match &client.multi {
        Some(tx) => (tx.queued.len() as i64, tx.memory),
        None => (-1, 0),
    };
    let buffered = stats.output_bytes.min(REPLY_CHUNK_BYTES);
    let listed = stats.output_bytes - buffered;
    let name = client
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let mut line = String::new();
    let _ = write!(
        line,
        "id={} addr={} laddr={} fd={} name={name} age={} idle={} flags={flags} db={} sub={} \
         psub={} ssub={} multi={multi} qbuf={} qbuf-free={} argv-mem=0 multi-mem={multi_mem} \
         rbs={} rbp=0 obl={buffered} oll={} omem={listed} tot-mem={} events={} cmd={} \
         user=default redir=-1 resp={}",
        client.id,
        client.addr,
        client.laddr,
        client.fd,
        now_ms.saturating_sub(client.created_ms) / 1000,
        now_ms.saturating_sub(client.last_interaction_ms) / 1000,
        client.db,
        client.subscriptions[0],
        client.subscriptions[1],
        client.subscriptions[2],
        stats.query_buffer,
        stats.query_buffer_free,
        stats.query_buffer + stats.query_buffer_free,
        listed.div_ceil(REPLY_CHUNK_BYTES),
        stats.query_buffer + stats.query_buffer_free + stats.output_bytes + multi_mem,
        if stats.writable { "rw" } else { "r" },
        if client.last_command.is_empty() {
            "NULL"
        } else {
            client.last_command
        },
        stats.resp,
    );
    line
}

fn current_stats(ctx: &Ctx) -> ConnStats {
    ConnStats {
        output_bytes: ctx.out.len(),
        resp: if ctx.out.is_resp3() { 3 } else { 2 },
        ..Default::default()
    }
}

pub fn client_list(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut kind: Option<ClientType> = None;
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat("type") {
            kind = Some(ClientType::parse(args.bytes()?)?);
        } else if args.remaining() >= 2 && args.eat("id") {
            let mut wanted = Vec::new();
            for arg in args.rest() {
                let id = super::args::int_arg(arg)
                    .ok()
                    .filter(|&id| id > 0)
                    .ok_or_else(|| CmdError::msg("ERR Invalid client ID"))?;
                wanted.push(id as u64);
            }
            ids = Some(wanted);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let now = ctx.ks.now_ms();
    let mut lines: Vec<(u64, String)> = Vec::new();
    let keep = |client: &ClientState| {
        ids.as_ref().is_none_or(|ids| ids.contains(&client.id))
            && kind.is_none_or(|k| k == ClientType::of(client))
    };
    ctx.clients.visit(&mut |client, stats| {
        if keep(client) {
            lines.push((client.id, client_line(client, stats, now)));
        }
    });
    if keep(ctx.client) {
        lines.push((
            ctx.client.id,
            client_line(ctx.client, current_stats(ctx), now),
        ));
    }
    lines.sort_by_key(|(id, _)| *id);
    let mut text = String::new();
    for (_, line) in lines {
        text.push_str(&line);
        text.push('\n');
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

pub fn client_info(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let mut line = client_line(ctx.client, current_stats(ctx), ctx.ks.now_ms());
    line.push('\n');
    ctx.out.verbatim(line.as_bytes());
    Ok(())
}

/// CLIENT KILL filters (all given ones must match).
#[derive(Default)]
struct KillFilter<'a> {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    skip_me: bool,
}

impl KillFilter<'_> {
    fn matches(&self, client: &ClientState) -> bool {
        self.id.is_none_or(|id| id == client.id)
            && self.kind.is_none_or(|k| k == ClientType::of(client))
            && self.addr.is_none_or(|a| a == client.addr.as_bytes())
            && self.laddr.is_none_or(|a| a == client.laddr.as_bytes())
    }
}

pub fn client_kill(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let rest = args.rest();
    if rest.len() == 1 {
        // The old form: CLIENT KILL addr:port, exactly one client, +OK or an error.
        let filter = KillFilter {
            addr: Some(rest[0]),
            ..Default::default()
        };
        return match kill_matching(ctx, &filter) {
            0 => Err(CmdError::msg("ERR No such client")),
            _ => {
                ctx.out.ok();
                Ok(())
            }
        };
    }
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut filter = KillFilter {
        skip_me: true,
        ..Default::default()
    };
    for pair in rest.chunks_exact(2) {
        let (option, value) = (pair[0], pair[1]);
        if is_keyword(option, "id") {
            let id = super::args::int_arg(value)
                .ok()
                .filter(|&id| id > 0)
                .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?;
            filter.id = Some(id as u64);
        } else if is_keyword(option, "type") {
            filter.kind = Some(ClientType::parse(value)?);
        } else if is_keyword(option, "addr") {
            filter.addr = Some(value);
        } else if is_keyword(option, "laddr") {
            filter.laddr = Some(value);
        } else if is_keyword(option, "user") {
            if value != b"default" {
                return Err(CmdError::msg(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(value)
                )));
            }
        } else if is_keyword(option, "skipme") {
            filter.skip_me = if is_keyword(value, "yes") {
                true
            } else if is_keyword(value, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let killed = kill_matching(ctx, &filter);
    ctx.out.int(killed as i64);
    Ok(())
}

/// Asks the network layer to close every other client `filter` matches, and closes this one
/// after its reply if it matches and may be killed. Returns how many were killed.
fn kill_matching(ctx: &mut Ctx, filter: &KillFilter) -> usize {
    let mut victims = Vec::new();
    ctx.clients.visit(&mut |client, _| {
        if filter.matches(client) {
            victims.push(client.id);
        }
    });
    let mut killed = victims.len();
    ctx.server.outbox.kills.extend(victims);
    if filter.matches(ctx.client) && !filter.skip_me {
        ctx.client.close_after_reply = true;
        killed += 1;
    }
    killed
}

pub fn client_pause(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let timeout = super::args::int_arg(args.bytes()?)
        .map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let mut all = true;
    if !args.is_empty() {
        let mode = args.bytes()?;
        if is_keyword(mode, "write") {
            all = false;
        } else if !is_keyword(mode, "all") {
            return Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL"));
        }
    }
    if !args.is_empty() {
        return Err(args.subcommand_syntax_error());
    }
    let now = ctx.ks.now_ms();
    let until_ms = now.saturating_add(timeout as u64);
    // A pause in force is only ever extended and made stricter, as in Redis.
    let pause = match ctx.server.pause_in_force(now) {
        Some(current) => Pause {
            until_ms: current.until_ms.max(until_ms),
            all: current.all || all,
        },
        None => Pause { until_ms, all },
    };
    ctx.server.pause = Some(pause);
    ctx.out.ok();
    Ok(())
}

pub fn client_unpause(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.server.pause = None;
    ctx.out.ok();
    Ok(())
}

pub fn client_reply(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mode = args.bytes()?;
    if is_keyword(mode, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if is_keyword(mode, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if is_keyword(mode, "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

pub fn client_no_evict(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mode = args.bytes()?;
    if is_keyword(mode, "on") {
        ctx.client.no_evict = true;
    } else if is_keyword(mode, "off") {
        ctx.client.no_evict = false;
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

pub fn client_unblock(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if args.remaining() > 2 {
        return Err(args.subcommand_syntax_error());
    }
    let id = args.int()?;
    let mut with_error = false;
    if !args.is_empty() {
        let reason = args.bytes()?;
        if is_keyword(reason, "error") {
            with_error = true;
        } else if !is_keyword(reason, "timeout") {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    }
    let mut blocked = false;
    ctx.clients.visit(&mut |client, stats| {
        if client.id as i64 == id && stats.blocked {
            blocked = true;
        }
    });
    if blocked {
        ctx.server.outbox.unblocks.push((id as u64, with_error));
    }
    ctx.out.int(blocked as i64);
    Ok(())
}

pub fn client_getredir(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    // Client-side caching is not supported, so nothing is ever redirected.
    ctx.out.int(-1);
    Ok(())
}

pub fn monitor(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    if ctx.client.in_multi {
        return Err(CmdError::msg(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    // Already monitoring: Redis ignores the call without a reply.
    if !ctx.client.monitor {
        ctx.client.monitor = true;
        ctx.server.monitors.push(ctx.client.id);
        ctx.out.ok();
    }
    Ok(())
}

/// Streams a command that just ran to every MONITOR client, in Redis's format:
/// `+<unix secs>.<micros> [<db> <addr>] "arg" "arg"...`, arguments escaped as Redis's
/// `sdscatrepr` does and passwords redacted.
pub fn feed_monitors(ctx: &mut Ctx, spec: &CommandSpec, argv: &[&[u8]]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        ctx.client.db,
        ctx.client.addr
    )
    .into_bytes();
    for (i, arg) in argv.iter().enumerate() {
        line.push(b' ');
        if super::stats::is_redacted(spec, argv, i) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            quote_repr(arg, &mut line);
        }
    }
    line.extend_from_slice(b"\r\n");
    let me = ctx.client.id;
    for &id in &ctx.server.monitors {
        if id == me {
            ctx.out.raw(&line);
        } else {
            ctx.server.outbox.deliver(id, &line, false);
        }
    }
}

/// Quotes bytes as Redis's `sdscatrepr`: `"`, then printable ASCII as is, `\\ \" \n \r \t
/// \a \b` escaped, anything else as `\xHH`, then `"`.
fn quote_repr(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = std::io::Write::write_fmt(out, format_args!("\\x{b:02x}"));
            }
        }
    }
    out.push(b'"');
}

pub fn reset(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    transactions::discard_state(ctx);
    pubsub::unsubscribe_all_silently(ctx);
    if ctx.client.monitor {
        let me = ctx.client.id;
        ctx.server.monitors.retain(|&id| id != me);
        ctx.client.monitor = false;
    }
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.no_evict = false;
    ctx.client.db = 0;
    ctx.client.name = None;
    ctx.client.authenticated = ctx.server.config.requirepass.is_none();
    ctx.out.set_proto(Protover::Resp2);
    ctx.out.simple("RESET");
    Ok(())
}

pub fn client_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    );
    Ok(())
}

fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "K", "M", "G", "T"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else {
        format!("{value:.2}{}", UNITS[unit])
    }
}

/// Resident set size of this process, where the platform tells it cheaply.
fn rss_bytes() -> u64 {
    #[cfg(target_os = "linux")]
    {
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
            if let Some(pages) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
            {
                return pages * 4096;
            }
        }
    }
    0
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "keyspace",
];

/// Every section, in the order INFO prints them (`all`, `everything`).
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "keyspace",
];

fn info_section(ctx: &mut Ctx, section: &str, out: &mut String) {
    let now = ctx.ks.now_ms();
    let cfg = &ctx.server.config;
    match section {
        "server" => {
            let uptime = now.saturating_sub(ctx.server.started_ms) / 1000;
            let multiplexing = if cfg!(windows) {
                "iocp"
            } else if cfg!(target_os = "linux") {
                "epoll"
            } else {
                "kqueue"
            };
            let _ = write!(
                out,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\nreddish_version:{}\r\nredis_git_sha1:00000000\r\n\
                 redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:{}\r\n\
                 multiplexing_api:{multiplexing}\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n\
                 server_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\n\
                 configured_hz:{}\r\nexecutable:{}\r\nconfig_file:{}\r\n",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH,
                usize::BITS,
                std::process::id(),
                ctx.server.run_id,
                ctx.server.tcp_port,
                now * 1000,
                uptime / 86400,
                cfg.hz,
                cfg.hz,
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                cfg.config_file.clone().unwrap_or_default(),
            );
        }
        "clients" => {
            let _ = write!(
                out,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n\
                 client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\n\
                 tracking_clients:0\r\nclients_in_timeout_table:{}\r\n",
                ctx.server.stats.connected_clients,
                cfg.maxclients,
                ctx.server.stats.blocked_clients,
                ctx.server.stats.blocked_clients
            );
        }
        "memory" => {
            let used = (ctx.server.used_memory)() as u64;
            let rss = rss_bytes();
            let _ = write!(
                out,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
                 used_memory_rss_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n\
                 mem_fragmentation_ratio:{:.2}\r\nmem_allocator:libc\r\n",
                human_bytes(used),
                human_bytes(rss),
                cfg.maxmemory,
                human_bytes(cfg.maxmemory),
                cfg.maxmemory_policy,
                if used > 0 { rss as f64 / used as f64 } else { 0.0 },
            );
        }
        "persistence" => super::persistence::info_section(ctx, out),
        "stats" => {
            let s = &ctx.server.stats;
            let k = &ctx.ks.stats;
            let _ = write!(
                out,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
                 instantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\n\
                 rejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\n\
                 keyspace_misses:{}\r\npubsub_channels:0\r\npubsub_patterns:0\r\ntotal_error_replies:{}\r\n",
                s.total_connections_received,
                s.total_commands_processed,
                ctx.server.ops_per_sec,
                s.total_net_input_bytes,
                s.total_net_output_bytes,
                s.rejected_connections,
                k.expired_keys,
                k.keyspace_hits,
                k.keyspace_misses,
                s.total_error_replies,
            );
        }
        "replication" => {
            out.push_str(
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n",
            );
        }
        "cpu" => {
            out.push_str("# CPU\r\n");
        }
        "commandstats" => ctx.server.command_stats.write_commandstats(out),
        "errorstats" => ctx.server.command_stats.write_errorstats(out),
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for (index, (keys, expires)) in ctx.ks.sizes().into_iter().enumerate() {
                if keys > 0 {
                    let _ = write!(out, "db{index}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        _ => {}
    }
}

pub fn info(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let requested: Vec<String> = args
        .rest()
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = requested.iter().any(|s| s == "all" || s == "everything");
    let default = requested.is_empty() || requested.iter().any(|s| s == "default");
    let sections: Vec<&str> = ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| {
            all || (default && DEFAULT_SECTIONS.contains(s)) || requested.iter().any(|r| r == s)
        })
        .collect();
    let mut text = String::new();
    for section in sections {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        info_section(ctx, section, &mut text);
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

pub fn config_get(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let patterns = args.rest();
    let found = ctx.server.config.get_matching(patterns);
    ctx.out.map(found.len());
    for (name, value) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

pub fn config_set(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let pairs: Vec<(String, String)> = args
        .pairs()?
        .into_iter()
        .map(|(name, value)| {
            (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    match ctx.server.config.set_many(&refs) {
        Ok(()) => {
            super::sync_key_event_kinds(ctx.ks, &ctx.server.config);
            ctx.out.ok();
            Ok(())
        }
        Err((_, e @ ConfigError::Unknown(_))) => Err(CmdError::msg(format!("ERR {e}"))),
        Err((name, e)) => Err(CmdError::msg(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
        ))),
    }
}

pub fn config_resetstat(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let connected = ctx.server.stats.connected_clients;
    ctx.server.stats = Default::default();
    ctx.server.stats.connected_clients = connected;
    ctx.server.command_stats = Default::default();
    ctx.ks.stats = Default::default();
    ctx.out.ok();
    Ok(())
}

pub fn config_rewrite(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let Some(path) = ctx.server.config.config_file.clone() else {
        return Err(CmdError::msg(
            "ERR The server is running without a config file",
        ));
    };
    let mut text = String::from("# Written by CONFIG REWRITE\n");
    for (name, value) in ctx.server.config.get_matching(&[b"*"]) {
        let _ = writeln!(
            text,
            "{name} \"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        );
    }
    std::fs::write(&path, text)
        .map_err(|e| CmdError::msg(format!("ERR Rewriting config file: {e}")))?;
    ctx.out.ok();
    Ok(())
}

pub fn config_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

fn command_info_entry(ctx: &mut Ctx, spec: &CommandSpec) {
    ctx.out.array(10);
    ctx.out.bulk(spec.full_name.as_bytes());
    ctx.out.int(spec.arity as i64);
    let flags: Vec<&str> = spec.flags.names().collect();
    ctx.out.set(flags.len());
    for flag in flags {
        ctx.out.simple(flag);
    }
    ctx.out.int(spec.first_key as i64);
    ctx.out.int(spec.last_key as i64);
    ctx.out.int(spec.key_step as i64);
    let cats = spec.acl_categories();
    ctx.out.set(cats.len());
    for cat in cats {
        ctx.out.simple(&cat);
    }
    // Tips: none. Key specifications and subcommands are sets in RESP3, as Redis 7.0 sends
    // them.
    ctx.out.set(0);
    ctx.out.set(spec.key_specs.len());
    for key_spec in spec.key_specs {
        key_spec_entry(ctx.out, key_spec);
    }
    ctx.out.set(spec.subcommands.len());
    for sub in spec.subcommands {
        command_info_entry(ctx, sub);
    }
}

/// A set of key-spec flag names (COMMAND INFO, COMMAND GETKEYSANDFLAGS).
fn key_flags_reply(out: &mut ReplyBuf, flags: KeyFlags) {
    let names: Vec<&str> = flags.names().collect();
    out.set(names.len());
    for name in names {
        out.simple(name);
    }
}

/// One key specification in COMMAND INFO: a map of notes (if any), flags, begin_search and
/// find_keys, each search a map of its type and its parameters.
fn key_spec_entry(out: &mut ReplyBuf, spec: &KeySpec) {
    out.map(3 + usize::from(!spec.notes.is_empty()));
    if !spec.notes.is_empty() {
        out.bulk(b"notes");
        out.bulk(spec.notes.as_bytes());
    }
    out.bulk(b"flags");
    key_flags_reply(out, spec.flags);
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match spec.begin {
        BeginSearch::Index(index) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(index as i64);
        }
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(start_from as i64);
        }
        BeginSearch::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match spec.find {
        FindKeys::Range {
            last_key,
            step,
            limit,
        } => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            for (name, value) in [("lastkey", last_key), ("keystep", step), ("limit", limit)] {
                out.bulk(name.as_bytes());
                out.int(value as i64);
            }
        }
        FindKeys::KeyNum {
            num_index,
            first_key,
            step,
        } => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            for (name, value) in [
                ("keynumidx", num_index),
                ("firstkey", first_key),
                ("keystep", step),
            ] {
                out.bulk(name.as_bytes());
                out.int(value as i64);
            }
        }
        FindKeys::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

fn command_docs_entry(ctx: &mut Ctx, spec: &CommandSpec) {
    let has_subs = !spec.subcommands.is_empty();
    let mut args = super::docs::parse_syntax(spec.syntax);
    super::docs::link_key_specs(&mut args, spec.key_specs.len());
    ctx.out
        .map(4 + usize::from(has_subs) + usize::from(!args.is_empty()));
    ctx.out.bulk(b"summary");
    ctx.out.bulk(spec.summary.as_bytes());
    ctx.out.bulk(b"since");
    ctx.out.bulk(b"1.0.0");
    ctx.out.bulk(b"group");
    ctx.out.bulk(spec.group.as_bytes());
    ctx.out.bulk(b"complexity");
    ctx.out.bulk(spec.complexity.as_bytes());
    if !args.is_empty() {
        ctx.out.bulk(b"arguments");
        super::docs::write_args(ctx.out, &args);
    }
    if has_subs {
        ctx.out.bulk(b"subcommands");
        ctx.out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            ctx.out.bulk(sub.full_name.as_bytes());
            command_docs_entry(ctx, sub);
        }
    }
}

/// The commands named in `names` (or all), unknown names skipped or kept as `None`.
fn named_specs(names: &[&[u8]]) -> Vec<Option<&'static CommandSpec>> {
    if names.is_empty() {
        return COMMANDS.iter().map(Some).collect();
    }
    names
        .iter()
        .map(|name| {
            let text = String::from_utf8_lossy(name).to_ascii_lowercase();
            match text.split_once('|') {
                Some((parent, sub)) => {
                    super::lookup(parent.as_bytes()).and_then(|p| p.subcommand(sub.as_bytes()))
                }
                None => super::lookup(name),
            }
        })
        .collect()
}

pub fn command(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.array(COMMANDS.len());
    for spec in COMMANDS {
        command_info_entry(ctx, spec);
    }
    Ok(())
}

pub fn command_count(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.int(COMMANDS.len() as i64);
    Ok(())
}

pub fn command_info(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let specs = named_specs(args.rest());
    ctx.out.array(specs.len());
    for spec in specs {
        match spec {
            Some(spec) => command_info_entry(ctx, spec),
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

pub fn command_docs(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let specs: Vec<&CommandSpec> = named_specs(args.rest()).into_iter().flatten().collect();
    ctx.out.map(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.full_name.as_bytes());
        command_docs_entry(ctx, spec);
    }
    Ok(())
}

pub fn command_list(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mut pattern: Option<&[u8]> = None;
    let mut category: Option<String> = None;
    if !args.is_empty() {
        if !args.eat("filterby") || args.remaining() != 2 {
            return Err(CmdError::Syntax);
        }
        if args.eat("pattern") {
            pattern = Some(args.bytes()?);
        } else if args.eat("aclcat") {
            category = Some(format!(
                "@{}",
                String::from_utf8_lossy(args.bytes()?).to_ascii_lowercase()
            ));
        } else if args.eat("module") {
            args.bytes()?;
            ctx.out.array(0);
            return Ok(());
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut names = Vec::new();
    for spec in COMMANDS {
        for candidate in std::iter::once(spec).chain(spec.subcommands.iter()) {
            let keep = pattern.is_none_or(|p| {
                crate::store::glob::matches_nocase(p, candidate.full_name.as_bytes())
            }) && category
                .as_ref()
                .is_none_or(|c| candidate.acl_categories().contains(c));
            if keep {
                names.push(candidate.full_name);
            }
        }
    }
    ctx.out.array(names.len());
    for name in names {
        ctx.out.bulk(name.as_bytes());
    }
    Ok(())
}

/// The command COMMAND GETKEYS asks about, found as Redis's `lookupCommand` does: the
/// subcommand when the command has subcommands and more than its name is given.
fn getkeys_target(argv: &[&[u8]]) -> Option<&'static CommandSpec> {
    let spec = super::lookup(argv.first()?)?;
    match argv.get(1) {
        Some(sub) if !spec.subcommands.is_empty() => spec.subcommand(sub),
        _ => Some(spec),
    }
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS, with Redis 7.0's checks in its order.
fn getkeys_reply(ctx: &mut Ctx, args: &mut Args, with_flags: bool) -> CmdResult {
    let argv = args.rest();
    let spec =
        getkeys_target(argv).ok_or_else(|| CmdError::msg("ERR Invalid command specified"))?;
    if !spec.has_keys() {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    let argc = argv.len() as i64;
    let arity = spec.arity as i64;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys = spec.keys_with_flags(argv);
    if keys.is_empty() && !spec.flags.contains(Flags::NO_MANDATORY_KEYS) {
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    ctx.out.array(keys.len());
    for (at, flags) in keys {
        let key = argv.get(at).copied().unwrap_or_default();
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(key);
            key_flags_reply(ctx.out, flags);
        } else {
            ctx.out.bulk(key);
        }
    }
    Ok(())
}

pub fn command_getkeys(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    getkeys_reply(ctx, args, false)
}

pub fn command_getkeysandflags(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    getkeys_reply(ctx, args, true)
}

pub fn command_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

pub fn dbsize(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let size = ctx.db().len();
    ctx.out.int(size as i64);
    Ok(())
}

fn flush_mode(args: &mut Args) -> CmdResult {
    if !args.is_empty() && !args.eat("async") && !args.eat("sync") {
        return Err(CmdError::Syntax);
    }
    args.finish()
}

pub fn flushdb(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    flush_mode(args)?;
    ctx.db().flush();
    ctx.out.ok();
    Ok(())
}

pub fn flushall(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    flush_mode(args)?;
    ctx.ks.flush_all();
    ctx.out.ok();
    Ok(())
}

pub fn swapdb(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let index = |arg: &[u8], which: &str| {
        super::args::int_arg(arg)
            .ok()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| CmdError::msg(format!("ERR invalid {which} DB index")))
    };
    let first = index(args.bytes()?, "first")?;
    let second = index(args.bytes()?, "second")?;
    let (Ok(first), Ok(second)) = (usize::try_from(first), usize::try_from(second)) else {
        return Err(CmdError::msg("ERR DB index is out of range"));
    };
    if !ctx.ks.swap_dbs(first, second) {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.out.ok();
    Ok(())
}

/// WAIT: there are never replicas, so no write can be acknowledged by any: the reply is 0,
/// given at once (Redis, asked for more replicas than it has, would first wait out the
/// timeout, or forever with 0).
pub fn wait(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    // Redis 7.0 reads the timeout with these checks only (no overflow check in milliseconds).
    args.int()?;
    let timeout = super::args::int_arg(args.bytes()?)
        .map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    ctx.out.int(0);
    Ok(())
}

/// ROLE: always a master with no replicas and replication offset 0.
pub fn role(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}

/// MEMORY USAGE: our own estimate of the key's footprint (see `store::footprint`).
pub fn memory_usage(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut samples = 5usize;
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat("samples") {
            let n = args.int()?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            samples = n as usize;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    match ctx.db().lookup_write(key) {
        Some(value) => {
            let bytes = crate::store::footprint::usage(key, value, samples);
            ctx.out.int(bytes as i64);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// MEMORY STATS: the figures Reddish has (allocator totals, keys, client buffers, rough
/// table overheads), under Redis's names.
pub fn memory_stats(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let allocated = (ctx.server.used_memory)() as u64;
    let peak = ctx.server.peak_memory.max(allocated);
    let rss = rss_bytes();
    let mut clients_normal = current_stats(ctx).output_bytes as u64;
    ctx.clients.visit(&mut |_, stats| {
        clients_normal +=
            (stats.query_buffer + stats.query_buffer_free + stats.output_bytes) as u64;
    });
    let slot = crate::store::footprint::usage(
        b"",
        &crate::store::Value::Str(Default::default(), Default::default()),
        0,
    ) as u64;
    let expire_slot = (std::mem::size_of::<crate::store::Key>() + 8 + 9) as u64;
    let dbs: Vec<(usize, u64, u64)> = ctx
        .ks
        .sizes()
        .into_iter()
        .enumerate()
        .filter(|(_, (keys, _))| *keys > 0)
        .map(|(index, (keys, expires))| (index, keys as u64 * slot, expires as u64 * expire_slot))
        .collect();
    let keys: u64 = ctx.ks.sizes().iter().map(|(k, _)| *k as u64).sum();
    let overhead: u64 = clients_normal + dbs.iter().map(|(_, m, e)| m + e).sum::<u64>();
    let dataset = allocated.saturating_sub(overhead);
    let percent = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    };
    ctx.out.map(14 + dbs.len());
    let int = |ctx: &mut Ctx, name: &str, value: u64| {
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(value as i64);
    };
    int(ctx, "peak.allocated", peak);
    int(ctx, "total.allocated", allocated);
    int(ctx, "replication.backlog", 0);
    int(ctx, "clients.slaves", 0);
    int(ctx, "clients.normal", clients_normal);
    int(ctx, "aof.buffer", 0);
    for (index, main, expires) in &dbs {
        ctx.out.bulk(format!("db.{index}").as_bytes());
        ctx.out.map(2);
        int(ctx, "overhead.hashtable.main", *main);
        int(ctx, "overhead.hashtable.expires", *expires);
    }
    int(ctx, "overhead.total", overhead);
    int(ctx, "keys.count", keys);
    int(
        ctx,
        "keys.bytes-per-key",
        allocated.checked_div(keys).unwrap_or(0),
    );
    int(ctx, "dataset.bytes", dataset);
    ctx.out.bulk(b"dataset.percentage");
    ctx.out.double(percent(dataset, allocated));
    ctx.out.bulk(b"peak.percentage");
    ctx.out.double(percent(allocated, peak));
    ctx.out.bulk(b"fragmentation");
    ctx.out.double(if allocated == 0 {
        0.0
    } else {
        rss as f64 / allocated as f64
    });
    int(ctx, "fragmentation.bytes", rss.saturating_sub(allocated));
    Ok(())
}

/// MEMORY DOCTOR: only the emptiness check of Redis's report is made here.
pub fn memory_doctor(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let text: &[u8] = if (ctx.server.used_memory)() < 5 << 20 {
        b"Hi Sam, this instance is empty or is using very little memory, my issues detector \
          can't be used in these conditions. Please, leave for your mission on Earth and fill \
          it with some data. The new Sam and I will be back to our programming as soon as I \
          finished rebooting.\n"
    } else {
        b"Hi Sam, I can't find any memory issue in your instance. I can only account for what \
          occurs on this base.\n"
    };
    ctx.out.verbatim(text);
    Ok(())
}

/// MEMORY MALLOC-STATS: the system allocator reports nothing, as Redis says for libc malloc.
pub fn memory_malloc_stats(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out
        .verbatim(b"Stats not supported for the current allocator");
    Ok(())
}

pub fn memory_purge(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

pub fn memory_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

pub fn time(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

pub fn shutdown(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mut mode = Shutdown::Save;
    for arg in args.rest() {
        if is_keyword(arg, "nosave") {
            mode = Shutdown::NoSave;
        } else if is_keyword(arg, "save") {
            mode = Shutdown::Save;
        } else if is_keyword(arg, "abort") {
            return Err(CmdError::msg("ERR No shutdown in progress."));
        } else if !is_keyword(arg, "now") && !is_keyword(arg, "force") {
            return Err(CmdError::Syntax);
        }
    }
    ctx.server.shutdown = Some(mode);
    ctx.client.close_after_reply = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn hello_negotiates_and_refuses_unknown_versions() {
        let mut h = Harness::new();
        assert_eq!(
            h.text(&["hello", "4"]),
            "-NOPROTO unsupported protocol version\r\n"
        );
        assert_eq!(
            h.text(&["hello", "x"]),
            "-ERR Protocol version is not an integer or out of range\r\n"
        );
        let reply = h.text(&["hello", "2", "SETNAME", "me"]);
        assert!(
            reply.starts_with("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
            "{reply}"
        );
        assert_eq!(h.text(&["client", "getname"]), "$2\r\nme\r\n");
    }

    #[test]
    fn config_get_set_errors_match_redis() {
        let mut h = Harness::new();
        assert_eq!(
            h.text(&["config", "set", "maxmemory", "abc"]),
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"
        );
        assert_eq!(
            h.text(&["config", "set", "foo", "1"]),
            "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
        );
        assert_eq!(h.text(&["config", "set", "maxmemory", "10mb"]), "+OK\r\n");
        assert_eq!(
            h.text(&["config", "get", "maxmemory"]),
            "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
        );
        assert_eq!(
            h.text(&["config", "get", "save", "appendonly"]),
            "*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        );
    }

    #[test]
    fn command_introspection_comes_from_the_table() {
        let mut h = Harness::new();
        let count = h.text(&["command", "count"]);
        assert_eq!(
            count,
            format!(":{}\r\n", crate::commands::table::COMMANDS.len())
        );
        let info = h.text(&["command", "info", "get", "nosuch"]);
        assert!(
            info.starts_with("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n"),
            "{info}"
        );
        assert!(info.ends_with("*-1\r\n"));
        assert_eq!(
            h.text(&["command", "getkeys", "mset", "a", "1", "b", "2"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            h.text(&["command", "getkeysandflags", "zunionstore", "d", "1", "a"]),
            "*2\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n\
             *2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n"
        );
        for (args, error) in [
            (
                &["command", "getkeys", "nosuch", "a"][..],
                "Invalid command specified",
            ),
            (
                &["command", "getkeys", "client", "nosuch"],
                "Invalid command specified",
            ),
            (
                &["command", "getkeys", "ping", "a"],
                "The command has no key arguments",
            ),
            (
                &["command", "getkeys", "get", "a", "b"],
                "Invalid number of arguments specified for command",
            ),
            (
                &["command", "getkeys", "zunion", "0", "a"],
                "Invalid arguments specified for command",
            ),
        ] {
            assert_eq!(h.text(args), format!("-ERR {error}\r\n"), "{args:?}");
        }
        let docs = h.text(&["command", "docs", "set"]);
        assert!(
            docs.contains("summary") && docs.contains("$5\r\ntoken\r\n$2\r\nEX\r\n"),
            "{docs}"
        );
    }

    #[test]
    fn select_and_flush() {
        let mut h = Harness::new();
        assert_eq!(
            h.text(&["select", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            h.text(&["select", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        h.run(&["set", "a", "1"]);
        assert_eq!(h.text(&["dbsize"]), ":1\r\n");
        assert_eq!(h.text(&["flushdb", "bogus"]), "-ERR syntax error\r\n");
        assert_eq!(h.text(&["flushdb"]), "+OK\r\n");
        assert_eq!(h.text(&["dbsize"]), ":0\r\n");
    }
}
