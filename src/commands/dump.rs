//! DUMP and RESTORE: a value to Redis's serialized form and back (see [`crate::store::rdb`]).

use super::args::{int_arg, is_keyword};
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::store::rdb::{self, PayloadError};
use crate::store::stream_log::NodeLimits;

/// How stream nodes are laid out when values are serialized (`stream-node-max-*`).
pub(crate) fn stream_limits(ctx: &Ctx) -> NodeLimits {
    NodeLimits {
        max_entries: ctx.server.config.stream_node_max_entries,
        max_bytes: ctx.server.config.stream_node_max_bytes,
    }
}

/// DUMP key: the value's RDB encoding, RDB version and CRC-64; nil for a missing key.
pub fn dump(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let limits = stream_limits(ctx);
    let payload = ctx
        .db()
        .lookup_read(key)
        .map(|value| rdb::dump_payload(value, limits));
    match payload {
        Some(payload) => ctx.out.bulk(&payload),
        None => ctx.out.null(),
    }
    Ok(())
}

/// What RESTORE's options asked for.
struct RestoreOptions {
    replace: bool,
    absolute_ttl: bool,
    idle_seconds: Option<u64>,
    freq: Option<u8>,
}

fn restore_options(args: &[&[u8]]) -> Result<RestoreOptions, CmdError> {
    let mut options = RestoreOptions {
        replace: false,
        absolute_ttl: false,
        idle_seconds: None,
        freq: None,
    };
    let mut at = 0;
    while at < args.len() {
        let arg = args[at];
        let has_value = at + 1 < args.len();
        if is_keyword(arg, "replace") {
            options.replace = true;
        } else if is_keyword(arg, "absttl") {
            options.absolute_ttl = true;
        } else if is_keyword(arg, "idletime") && has_value && options.freq.is_none() {
            let idle = int_arg(args[at + 1])?;
            if idle < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            options.idle_seconds = Some(idle as u64);
            at += 1;
        } else if is_keyword(arg, "freq") && has_value && options.idle_seconds.is_none() {
            let freq = int_arg(args[at + 1])?;
            let freq = u8::try_from(freq)
                .map_err(|_| CmdError::msg("ERR Invalid FREQ value, must be >= 0 and <= 255"))?;
            options.freq = Some(freq);
            at += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        at += 1;
    }
    Ok(options)
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], checked in Redis's
/// order: options, an existing key, the TTL, the payload's footer, then its value.
pub fn restore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let ttl_arg = args.bytes()?;
    let payload = args.bytes()?;
    let options = restore_options(args.rest())?;
    if !options.replace && ctx.db().exists(key) {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = int_arg(ttl_arg)?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let limits = ctx.db().limits();
    let value = match rdb::parse_payload(payload, &limits) {
        Ok(value) => value,
        Err(PayloadError::VersionOrChecksum) => {
            return Err(CmdError::msg(
                "ERR DUMP payload version or checksum are wrong",
            ))
        }
        Err(PayloadError::BadFormat(_)) => return Err(CmdError::msg("ERR Bad data format")),
    };
    let now = ctx.db().now_ms();
    let expire_at = match (ttl, options.absolute_ttl) {
        (0, _) => None,
        (ttl, true) => Some(ttl as u64),
        (ttl, false) => Some(now.saturating_add(ttl as u64)),
    };
    if expire_at.is_some_and(|when| when <= now) {
        // Already expired: the key is only deleted (when REPLACE found one), as in Redis.
        if options.replace && ctx.db().remove(key) {
            ctx.notify(KeyspaceEvents::GENERIC, "del", key);
        }
        ctx.out.ok();
        return Ok(());
    }
    let mut db = ctx.db();
    db.insert(key, value, expire_at);
    db.set_access_hint(key, options.idle_seconds, options.freq);
    ctx.notify(KeyspaceEvents::GENERIC, "restore", key);
    ctx.out.ok();
    Ok(())
}
