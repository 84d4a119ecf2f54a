//! REPLCONF, SYNC and PSYNC, for snapshots only. Reddish has no replicas, but `redis-cli
//! --rdb FILE` (and `--functions-rdb`) back a server up by asking for one RDB snapshot:
//! `REPLCONF rdb-only 1`, then SYNC, then the file as one bulk, after which Redis closes the
//! link. A SYNC without `rdb-only` is a replica asking to follow the server, and is refused:
//! serving it the file alone would leave it believing it is in sync.

use crate::commands::args::{int_arg, is_keyword};
use crate::commands::dump::stream_limits;
use crate::commands::{Args, CmdError, CmdResult, Ctx, ReplyMode};
use crate::store::keyspace::ColdKeys;
use crate::store::rdb::file::FileWriter;

/// What REPLCONF asked of this connection's next SYNC, and the snapshot it is sending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotState {
    /// `rdb-only 1`: the snapshot alone, then the link closes.
    pub rdb_only: bool,
    /// `rdb-filter-only` was given: only what its filters name goes into the file.
    pub filtered: bool,
    /// `rdb-filter-only functions`: the function libraries go into a filtered file.
    pub functions: bool,
    /// `capa eof`: the replica reads a file sent without its length first. Redis serves a
    /// filtered file only to such a replica (Reddish sends the length anyway).
    pub capa_eof: bool,
    /// The connection is sending a snapshot (and closes once it is written).
    pub sending: bool,
    /// Bytes its reply buffer holds for the snapshot, as counted in
    /// `Server::snapshot_memory` (the network layer brings it up to date as the file goes out).
    pub queued: usize,
}

/// Longest `ip-address` a replica may announce (Redis's `NET_HOST_STR_LEN`, 256, with its
/// terminating zero).
const MAX_ANNOUNCED_HOST: usize = 255;

/// REPLCONF option value [option value ...]: options are applied in order, and the first bad
/// one answers with its error, the ones before it staying applied, as in Redis.
pub fn replconf(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let pairs = args.rest();
    if !pairs.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    for pair in pairs.chunks(2) {
        let (option, value) = (pair[0], pair[1]);
        if is_keyword(option, "listening-port") {
            int_arg(value)?;
        } else if is_keyword(option, "ip-address") {
            if value.len() > MAX_ANNOUNCED_HOST {
                return Err(CmdError::msg(format!(
                    "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    value.len()
                )));
            }
        } else if is_keyword(option, "capa") {
            // Capabilities not understood are ignored, as in Redis.
            if is_keyword(value, "eof") {
                ctx.client.snapshot.capa_eof = true;
            }
        } else if is_keyword(option, "ack") || is_keyword(option, "getack") {
            // Sent between a replica and its master only; Redis answers nothing.
            return Ok(());
        } else if is_keyword(option, "rdb-only") {
            let rdb_only = int_arg(value)?;
            if !(0..=1).contains(&rdb_only) {
                return Err(CmdError::msg(
                    "ERR value is out of range, value must between 0 and 1",
                ));
            }
            ctx.client.snapshot.rdb_only = rdb_only == 1;
        } else if is_keyword(option, "rdb-filter-only") {
            let filters = crate::protocol::split_args(value)
                .ok_or_else(|| CmdError::msg("ERR Missing rdb-filter-only values"))?;
            ctx.client.snapshot.filtered = true;
            ctx.client.snapshot.functions = false;
            for filter in filters {
                if !is_keyword(&filter, "functions") {
                    return Err(CmdError::concat(&[
                        b"ERR Unsupported rdb-filter-only option: ",
                        &filter,
                    ]));
                }
                ctx.client.snapshot.functions = true;
            }
        } else {
            return Err(CmdError::concat(&[
                b"ERR Unrecognized REPLCONF option: ",
                option,
            ]));
        }
    }
    ctx.out.ok();
    Ok(())
}

/// REPLICAOF host port | NO ONE, and its old name SLAVEOF. This server is always a master:
/// NO ONE answers OK, as Redis answers it on a master. Following another server is refused
/// after Redis's own check of the port, with an error that says why.
pub fn replicaof(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let host = args.bytes()?;
    let port = args.bytes()?;
    if is_keyword(host, "no") && is_keyword(port, "one") {
        ctx.out.ok();
        return Ok(());
    }
    let port = int_arg(port)
        .ok()
        .filter(|port| (0..=65535).contains(port))
        .ok_or_else(|| CmdError::msg("ERR Invalid master port"))?;
    Err(CmdError::msg(format!(
        "ERR Reddish has no replication: it cannot follow {}:{port} (only REPLICAOF NO ONE is accepted)",
        String::from_utf8_lossy(host)
    )))
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]: the arguments are checked
/// as Redis checks them, then refused as Redis refuses a master with no replicas, which this
/// server always is.
pub fn failover(_ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.rest();
    if let [only] = argv {
        if is_keyword(only, "abort") {
            return Err(CmdError::msg("ERR No failover in progress."));
        }
    }
    let (mut timeout, mut to, mut force) = (0, false, false);
    let mut at = 0;
    while at < argv.len() {
        let arg = argv[at];
        if is_keyword(arg, "timeout") && at + 1 < argv.len() && timeout == 0 {
            timeout = int_arg(argv[at + 1])?;
            if timeout <= 0 {
                return Err(CmdError::msg("ERR FAILOVER timeout must be greater than 0"));
            }
            at += 2;
        } else if is_keyword(arg, "to") && at + 2 < argv.len() && !to {
            int_arg(argv[at + 2])?;
            to = true;
            at += 3;
        } else if is_keyword(arg, "force") && !force {
            force = true;
            at += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Err(CmdError::msg("ERR FAILOVER requires connected replicas."))
}

/// SYNC: the snapshot as `$<length>\r\n<file>` (no CRLF after it, as Redis sends it).
pub fn sync(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    send_snapshot(ctx, None)
}

/// PSYNC replicationid offset: no partial resynchronization is possible, so `+FULLRESYNC`
/// with this server's replication id and offset 0, then the snapshot as SYNC sends it.
pub fn psync(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.rest();
    // Redis checks this first: a failover request is for a replica to take over from its
    // master, and this server is always a master.
    if argv.len() > 2 && is_keyword(argv[2], "failover") {
        return Err(CmdError::msg(
            "ERR PSYNC FAILOVER can't be sent to a master.",
        ));
    }
    send_snapshot(ctx, Some(argv[1]))
}

/// Room left before the file for `+FULLRESYNC <40 hex> 0\r\n` (56 bytes) and `$<len>\r\n`
/// (at most 23).
const FRAMING_ROOM: usize = 96;

/// The checks in Redis's order, then the file; `psync_offset` is PSYNC's offset argument.
fn send_snapshot(ctx: &mut Ctx, psync_offset: Option<&[u8]>) -> CmdResult {
    if ctx.client.monitor {
        // Redis ignores SYNC from a MONITOR client, without a reply.
        return Ok(());
    }
    if !ctx.out.is_empty() {
        return Err(CmdError::msg(
            "ERR SYNC and PSYNC are invalid with pending output",
        ));
    }
    let request = ctx.client.snapshot;
    if request.filtered && !request.capa_eof {
        return Err(CmdError::msg(
            "ERR Filtered replica requires EOF capability",
        ));
    }
    if let Some(offset) = psync_offset {
        // Checked as Redis checks it, though a snapshot has no use for it.
        int_arg(offset)?;
    }
    if !request.rdb_only {
        return Err(CmdError::msg(
            "ERR Reddish has no replication: SYNC and PSYNC send only a snapshot, after REPLCONF rdb-only 1 (as redis-cli --rdb sends)",
        ));
    }
    let mut file = FileWriter::with_front_room(FRAMING_ROOM, stream_limits(ctx));
    let ctime = (crate::clock::unix_ms() / 1000).to_string();
    let used_memory = (ctx.server.used_memory)().to_string();
    let repl_id = ctx.server.repl_id.clone();
    for (name, value) in [
        (
            "redis-ver",
            crate::commands::server::REDIS_VERSION.as_bytes(),
        ),
        ("redis-bits", b"64".as_slice()),
        ("ctime", ctime.as_bytes()),
        ("used-mem", used_memory.as_bytes()),
        ("repl-stream-db", b"0".as_slice()),
        ("repl-id", repl_id.as_bytes()),
        ("repl-offset", b"0".as_slice()),
        ("aof-base", b"0".as_slice()),
    ] {
        file.aux(name, value);
    }
    if !request.filtered || request.functions {
        for code in ctx.server.scripting.libraries.codes() {
            file.function(&code);
        }
    }
    if !request.filtered {
        if let Err(ColdKeys(cold)) = ctx.ks.write_rdb(&mut file) {
            return Err(CmdError::msg(format!(
                "ERR {cold} keys are cold (their values live only in MongoDB under maxmemory-tiering): no snapshot can hold them"
            )));
        }
    }
    let mut framed = file.finish();
    let mut framing = String::new();
    if psync_offset.is_some() {
        framing.push_str(&format!("+FULLRESYNC {repl_id} 0\r\n"));
    }
    framing.push_str(&format!("${}\r\n", framed.len() - FRAMING_ROOM));
    let start = FRAMING_ROOM - framing.len();
    framed[start..FRAMING_ROOM].copy_from_slice(framing.as_bytes());
    ctx.server.stats.sync_full += 1;
    // Redis writes the file to the socket itself, outside the client's reply list: it is
    // sent whatever CLIENT REPLY says, and is not counted against maxmemory, client
    // eviction, the output buffer limits or the idle timeout (the network layer exempts a
    // `sending` connection from the last three, and closes it when the transfer stalls for
    // `repl-timeout`, as Redis closes a stalled replica).
    ctx.client.snapshot.sending = true;
    ctx.client.snapshot.queued = framed.capacity();
    ctx.server.snapshot_memory += framed.capacity() as u64;
    if ctx.client.reply_mode != ReplyMode::On {
        ctx.client.replied_with_push = true;
    }
    ctx.out.append_vec(framed, start);
    // As Redis after an rdb-only transfer: the link is done.
    ctx.client.close_after_reply = true;
    Ok(())
}
