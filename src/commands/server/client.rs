//! CLIENT and its subcommands: names, CLIENT LIST lines, KILL, PAUSE, REPLY, UNBLOCK (the
//! tracking ones are in [`crate::commands::tracking`]).

use crate::commands::args::is_keyword;
use crate::commands::reply::help_reply;
use crate::commands::tracking::Tracking;
use crate::commands::{
    listed_output, output_blocks, Args, ClientState, CmdError, CmdResult, ConnStats, Ctx, Pause,
    ReplyMode,
};
use std::fmt::Write as _;

/// Redis refuses client names with spaces or non-printable characters.
pub(super) fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
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
        return Err(CmdError::concat(&[
            b"ERR Unrecognized option '",
            attr,
            b"'",
        ]));
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
            Err(CmdError::concat(&[
                b"ERR Unknown client type '",
                name,
                b"'",
            ]))
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

/// One CLIENT LIST line, with Redis 7.0's field names and order.
pub fn client_line(
    client: &ClientState,
    stats: ConnStats,
    tracking: &Tracking,
    now_ms: u64,
) -> String {
    let (tracking_flags, redirect) = tracking.list_fields(client.id);
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
    flags.push_str(tracking_flags);
    if client.close_after_reply {
        flags.push('c');
    }
    if client.unix_socket {
        flags.push('U');
    }
    if client.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let multi = client
        .multi
        .as_ref()
        .map_or(-1, |tx| tx.queued.len() as i64);
    let buffered = stats.output_bytes.min(stats.reply_buffer_size);
    let blocks = output_blocks(stats.output_bytes, stats.reply_buffer_size);
    let name = client
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let mut line = String::new();
    let _ = write!(
        line,
        "id={} addr={} laddr={} fd={} name={name} age={} idle={} flags={flags} db={} sub={} \
         psub={} ssub={} multi={multi} qbuf={} qbuf-free={} argv-mem={} multi-mem={} \
         rbs={} rbp={} obl={buffered} oll={blocks} omem={} tot-mem={} events={} cmd={} \
         user={} redir={redirect} resp={}",
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
        stats.argv_memory,
        client.multi_memory(),
        stats.reply_buffer_size,
        stats.reply_buffer_peak,
        listed_output(stats.output_bytes, stats.reply_buffer_size),
        total_memory(client, &stats),
        if stats.writable { "rw" } else { "r" },
        if client.last_command.is_empty() {
            "NULL"
        } else {
            client.last_command
        },
        String::from_utf8_lossy(&client.user.name),
        stats.resp,
    );
    line
}

/// The CLIENT LIST line of the running connection (ACL LOG's `client-info`).
pub fn running_client_line(ctx: &Ctx) -> String {
    let stats = current_stats(ctx, &[]);
    client_line(ctx.client, stats, &ctx.server.tracking, ctx.ks.now_ms())
}

/// Everything a client holds (CLIENT LIST `tot-mem`).
fn total_memory(client: &ClientState, stats: &ConnStats) -> usize {
    stats.memory + stats.output_capacity + client.memory()
}

/// The running client's figures: the network layer's, with the output as it is now and the
/// running command's arguments (which Redis counts in `argv-mem`; here they lie in the query
/// buffer, already counted in `tot-mem`).
pub(super) fn current_stats(ctx: &Ctx, argv: &[&[u8]]) -> ConnStats {
    ConnStats {
        argv_memory: argv.iter().map(|a| a.len()).sum(),
        output_bytes: ctx.out.len(),
        output_capacity: ctx.out.capacity(),
        resp: if ctx.out.is_resp3() { 3 } else { 2 },
        ..ctx.clients.running()
    }
}

/// Bytes held by every client connection, this one's included (INFO `mem_clients_normal`,
/// MEMORY STATS `clients.normal`). O(clients).
pub(super) fn client_buffer_bytes(ctx: &Ctx) -> u64 {
    let mut bytes = total_memory(ctx.client, &current_stats(ctx, &[])) as u64;
    ctx.clients.visit(&mut |client, stats| {
        bytes += total_memory(client, &stats) as u64;
    });
    bytes
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
                let id = crate::commands::args::int_arg(arg)
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
    let tracking = &ctx.server.tracking;
    ctx.clients.visit(&mut |client, stats| {
        if keep(client) {
            lines.push((client.id, client_line(client, stats, tracking, now)));
        }
    });
    if keep(ctx.client) {
        let line = client_line(ctx.client, current_stats(ctx, args.argv()), tracking, now);
        lines.push((ctx.client.id, line));
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

pub fn client_info(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let stats = current_stats(ctx, args.argv());
    let mut line = client_line(ctx.client, stats, &ctx.server.tracking, ctx.ks.now_ms());
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
    /// The uid of the user whose connections to kill.
    user: Option<u64>,
    skip_me: bool,
}

impl KillFilter<'_> {
    fn matches(&self, client: &ClientState) -> bool {
        self.id.is_none_or(|id| id == client.id)
            && self.kind.is_none_or(|k| k == ClientType::of(client))
            && self.addr.is_none_or(|a| a == client.addr.as_bytes())
            && self.laddr.is_none_or(|a| a == client.laddr.as_bytes())
            && self.user.is_none_or(|uid| uid == client.user.uid)
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
            let id = crate::commands::args::int_arg(value)
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
            let Some(user) = ctx.server.acl.user(value) else {
                return Err(CmdError::concat(&[b"ERR No such user '", value, b"'"]));
            };
            filter.user = Some(user.uid);
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
    let timeout = crate::commands::args::int_arg(args.bytes()?)
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
    ctx.ks.keep_expired_keys(false);
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
