//! MIGRATE: keys moved (or copied) to another Redis-speaking server as RESTORE commands
//! carrying DUMP payloads, over a connection kept per target (see [`RemoteLinks`]).
//!
//! As in Redis, the command runs synchronously on the reactor's thread, waiting for the
//! target's replies up to the given timeout: that wait is MIGRATE's documented behaviour, and
//! it is what guarantees that no other command changes a key between its serialization and its
//! deletion here. Every wait on the target is bounded by the timeout.

use super::args::is_keyword;
use super::table::KeyFlags;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::number::parse_i64;
use crate::protocol::{Protover, ReplyBuf};
use crate::store::rdb;
use crate::store::stream_log::NodeLimits;
use std::time::Duration;

/// Why talking to a target server failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The timeout ran out first.
    TimedOut,
    /// The connection was closed or broke.
    Failed,
}

/// Why no connection to a target server could be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectError {
    /// The host and port name no address.
    NoAddress,
    /// Connecting failed or timed out. Redis does not notice this until it writes (its
    /// blocking connect reports success either way), so MIGRATE reports it as a write error.
    Unreachable(LinkError),
}

/// One connection to a target server, kept between MIGRATEs.
pub trait RemoteLink {
    /// The database the last successful MIGRATE selected on it (`None`: unknown, so the next
    /// one sends SELECT).
    fn selected_db(&self) -> Option<i64>;
    fn set_selected_db(&mut self, db: Option<i64>);
    /// Writes all of `bytes`, each 64 KB chunk within `timeout` (as Redis writes them).
    fn send(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), LinkError>;
    /// Reads one reply line, without its line end, within `timeout`.
    fn read_line(&mut self, timeout: Duration) -> Result<Vec<u8>, LinkError>;
}

/// The cached connections to target servers, by host and port (Redis's
/// `migrate_cached_sockets`); the network layer installs the real ones, this layer knows no
/// sockets.
pub trait RemoteLinks {
    /// The cached connection to `host`:`port`, or a new one connected within `timeout`.
    /// `now_ms` marks its last use.
    fn link(
        &mut self,
        host: &[u8],
        port: &[u8],
        timeout: Duration,
        now_ms: u64,
    ) -> Result<&mut dyn RemoteLink, ConnectError>;
    /// Closes the connection to `host`:`port`, if one is cached.
    fn close(&mut self, host: &[u8], port: &[u8]);
    /// How many connections are cached (INFO `migrate_cached_sockets`).
    fn cached(&self) -> usize;
    /// Closes the connections unused for more than [`CACHE_IDLE_MS`] at `now_ms`.
    fn close_idle(&mut self, now_ms: u64);
}

/// How long a cached connection may stay unused before it is closed (Redis's
/// `MIGRATE_SOCKET_CACHE_TTL`, 10 seconds).
pub const CACHE_IDLE_MS: u64 = 10_000;

/// What MIGRATE's arguments asked for.
struct MigrateRequest<'a> {
    host: &'a [u8],
    port: &'a [u8],
    db: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    /// AUTH's password, and AUTH2's user with it.
    username: Option<&'a [u8]>,
    password: Option<&'a [u8]>,
    keys: &'a [&'a [u8]],
}

/// Reads MIGRATE's arguments (`argv` with the name at 0) in Redis's order: options first
/// (KEYS takes every argument after it), then the timeout and the database.
fn parse<'a>(argv: &'a [&'a [u8]]) -> Result<MigrateRequest<'a>, CmdError> {
    // The table's arity (-6) guarantees the fixed arguments.
    let [_, host, port, key, db, timeout, options @ ..] = argv else {
        return Err(CmdError::msg(
            "ERR wrong number of arguments for 'migrate' command",
        ));
    };
    let mut request = MigrateRequest {
        host,
        port,
        db: 0,
        timeout: Duration::ZERO,
        copy: false,
        replace: false,
        username: None,
        password: None,
        keys: std::slice::from_ref(&argv[3]),
    };
    let mut at = 0;
    while at < options.len() {
        let option = options[at];
        let more = options.len() - at - 1;
        if is_keyword(option, "copy") {
            request.copy = true;
        } else if is_keyword(option, "replace") {
            request.replace = true;
        } else if is_keyword(option, "auth") {
            if more < 1 {
                return Err(CmdError::Syntax);
            }
            request.password = Some(options[at + 1]);
            at += 1;
        } else if is_keyword(option, "auth2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            request.username = Some(options[at + 1]);
            request.password = Some(options[at + 2]);
            at += 2;
        } else if is_keyword(option, "keys") {
            if !key.is_empty() {
                return Err(CmdError::msg(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the \
                     empty string",
                ));
            }
            request.keys = &options[at + 1..];
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        at += 1;
    }
    let timeout = parse_i64(timeout).ok_or(CmdError::NotInteger)?;
    request.db = parse_i64(db).ok_or(CmdError::NotInteger)?;
    // As Redis: a timeout of 0 or less means one second.
    let timeout_ms = if timeout <= 0 { 1000 } else { timeout as u64 };
    request.timeout = Duration::from_millis(timeout_ms);
    Ok(request)
}

/// Which of MIGRATE's arguments are secrets: AUTH's password, AUTH2's user and password.
pub fn migrate_redacted(argv: &[&[u8]], index: usize) -> bool {
    let mut at = 6;
    while at < argv.len() {
        if is_keyword(argv[at], "keys") {
            return false;
        }
        let secrets = if is_keyword(argv[at], "auth") {
            1
        } else if is_keyword(argv[at], "auth2") {
            2
        } else {
            0
        };
        if index > at && index <= at + secrets {
            return true;
        }
        at += 1 + secrets;
    }
    false
}

/// MIGRATE's keys, found as Redis's `migrateGetKeys` finds them: the key argument, or with
/// KEYS (and an empty key argument) every argument after it, skipping the values of AUTH and
/// AUTH2 on the way.
pub fn migrate_keys(argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
    let flags = KeyFlags::RW.with(KeyFlags::ACCESS).with(KeyFlags::DELETE);
    let mut first = 3;
    let mut count = 1;
    let mut at = 6;
    while at < argv.len() {
        let arg = argv[at];
        if is_keyword(arg, "keys") {
            if !argv[3].is_empty() {
                return Vec::new();
            }
            first = at + 1;
            count = argv.len() - first;
            break;
        }
        if is_keyword(arg, "auth") {
            at += 1;
        } else if is_keyword(arg, "auth2") {
            at += 2;
        }
        at += 1;
    }
    if first + count > argv.len() {
        return Vec::new();
    }
    (first..first + count).map(|at| (at, flags)).collect()
}

/// Why one attempt at the transfer failed before the target's answers could be judged.
struct SocketFailure {
    /// The timeout ran out (Redis does not retry then).
    timed_out: bool,
    /// It failed while writing (the error says "writing", else "reading").
    writing: bool,
    /// The target answered some RESTOREs before the failure (and those keys are already
    /// deleted here), so the transfer must not be tried again.
    some_done: bool,
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password |
/// AUTH2 username password] [KEYS key [key ...]]: each live key's DUMP payload sent as a
/// RESTORE (after AUTH and SELECT when needed), the local key deleted once the target
/// acknowledged it unless COPY. O(N) in the keys' sizes, plus the round trip.
pub fn migrate(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let request = parse(args.argv())?;
    // Keys missing now are left out; when none is here there is nothing to do (often they
    // expired meanwhile), which is not an error.
    let present: Vec<&[u8]> = {
        let mut db = ctx.db();
        request
            .keys
            .iter()
            .copied()
            .filter(|key| db.lookup_read(key).is_some())
            .collect()
    };
    if present.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    // A broken cached connection is common (the target restarted or closed it): one more
    // attempt on a fresh connection, as Redis makes, unless it timed out or keys were moved.
    let mut may_retry = true;
    loop {
        match transfer(ctx, &request, &present) {
            Ok(result) => return result,
            Err(failure) => {
                if let Some(remotes) = ctx.server.remotes.as_mut() {
                    remotes.close(request.host, request.port);
                }
                if may_retry && !failure.timed_out && !failure.some_done {
                    may_retry = false;
                    continue;
                }
                let what = if failure.writing {
                    "writing"
                } else {
                    "reading"
                };
                return Err(CmdError::msg(format!(
                    "IOERR error or timeout {what} to target instance"
                )));
            }
        }
    }
}

/// One attempt at MIGRATE's transfer: `Ok` with the command's result when the target's
/// replies were read (or it could not connect), `Err` on a failure of the connection.
fn transfer(
    ctx: &mut Ctx,
    request: &MigrateRequest,
    present: &[&[u8]],
) -> Result<CmdResult, SocketFailure> {
    let now_ms = ctx.db().now_ms();
    let limits = NodeLimits {
        max_entries: ctx.server.config.stream_node_max_entries,
        max_bytes: ctx.server.config.stream_node_max_bytes,
    };
    let Some(remotes) = ctx.server.remotes.as_mut() else {
        return Ok(Err(connect_error()));
    };
    let link = match remotes.link(request.host, request.port, request.timeout, now_ms) {
        Ok(link) => link,
        Err(ConnectError::NoAddress) => return Ok(Err(connect_error())),
        Err(ConnectError::Unreachable(error)) => {
            return Err(SocketFailure {
                timed_out: error == LinkError::TimedOut,
                writing: true,
                some_done: false,
            })
        }
    };
    let mut out = ReplyBuf::new(Protover::Resp2);
    if let Some(password) = request.password {
        out.array(if request.username.is_some() { 3 } else { 2 });
        out.bulk(b"AUTH");
        if let Some(username) = request.username {
            out.bulk(username);
        }
        out.bulk(password);
    }
    let select = link.selected_db() != Some(request.db);
    if select {
        out.array(2);
        out.bulk(b"SELECT");
        out.bulk_int(request.db);
    }
    let mut sent: Vec<&[u8]> = Vec::with_capacity(present.len());
    let mut db = ctx.ks.db(ctx.client.db);
    for &key in present {
        // Serializing earlier keys took time: a key may have expired since it was found.
        let ttl = match db.expire_at(key) {
            Some(at) if at < now_ms => continue,
            Some(at) => (at - now_ms).max(1) as i64,
            None => 0,
        };
        let Some(value) = db.peek(key) else {
            continue;
        };
        let payload = rdb::dump_payload(value, limits);
        out.array(if request.replace { 5 } else { 4 });
        out.bulk(b"RESTORE");
        out.bulk(key);
        out.bulk_int(ttl);
        out.bulk(&payload);
        if request.replace {
            out.bulk(b"REPLACE");
        }
        sent.push(key);
    }
    link.send(out.bytes(), request.timeout)
        .map_err(|error| SocketFailure {
            timed_out: error == LinkError::TimedOut,
            writing: true,
            some_done: false,
        })?;
    let read_failure = |error: LinkError, some_done: bool| SocketFailure {
        timed_out: error == LinkError::TimedOut,
        writing: false,
        some_done,
    };
    let auth_reply = match request.password {
        Some(_) => Some(
            link.read_line(request.timeout)
                .map_err(|e| read_failure(e, false))?,
        ),
        None => None,
    };
    let select_reply = match select {
        true => Some(
            link.read_line(request.timeout)
                .map_err(|e| read_failure(e, false))?,
        ),
        false => None,
    };
    let earlier_error = [&auth_reply, &select_reply]
        .into_iter()
        .flatten()
        .find(|line| line.first() == Some(&b'-'))
        .cloned();
    let mut target_error: Option<Vec<u8>> = None;
    let mut acknowledged: Vec<&[u8]> = Vec::new();
    let mut socket_error = None;
    let mut replies_read = 0;
    for &key in &sent {
        let line = match link.read_line(request.timeout) {
            Ok(line) => {
                replies_read += 1;
                line
            }
            Err(error) => {
                socket_error = Some(error);
                break;
            }
        };
        if earlier_error.is_some() || line.first() == Some(&b'-') {
            if target_error.is_none() {
                target_error = Some(earlier_error.clone().unwrap_or(line));
            }
        } else if !request.copy {
            acknowledged.push(key);
        }
    }
    if target_error.is_some() {
        // The target's state is unknown after an error: SELECT again next time.
        link.set_selected_db(None);
    } else if socket_error.is_none() {
        link.set_selected_db(Some(request.db));
    }
    for key in &acknowledged {
        if ctx.db().remove(key) {
            ctx.notify(KeyspaceEvents::GENERIC, "del", key);
        }
    }
    if let Some(line) = target_error {
        let text = String::from_utf8_lossy(line.get(1..).unwrap_or_default());
        return Ok(Err(CmdError::msg(format!(
            "ERR Target instance replied with error: {text}"
        ))));
    }
    if let Some(error) = socket_error {
        return Err(read_failure(error, replies_read > 0));
    }
    ctx.out.ok();
    Ok(Ok(()))
}

fn connect_error() -> CmdError {
    CmdError::msg("IOERR error or timeout connecting to the client")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(text: &str) -> Vec<Vec<u8>> {
        text.split(' ')
            .map(|word| {
                if word == "\"\"" {
                    Vec::new()
                } else {
                    word.as_bytes().to_vec()
                }
            })
            .collect()
    }

    fn keys_of(text: &str) -> Vec<usize> {
        let owned = argv(text);
        let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        migrate_keys(&argv).into_iter().map(|(at, _)| at).collect()
    }

    fn redacted(text: &str) -> Vec<usize> {
        let owned = argv(text);
        let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        (0..argv.len())
            .filter(|&at| migrate_redacted(&argv, at))
            .collect()
    }

    #[test]
    fn keys_are_found_as_redis_finds_them() {
        assert_eq!(keys_of("MIGRATE h p k 0 500"), vec![3]);
        assert_eq!(keys_of("MIGRATE h p \"\" 0 500 KEYS a b"), vec![7, 8]);
        assert_eq!(keys_of("MIGRATE h p \"\" 0 500 AUTH KEYS KEYS rw"), vec![9]);
        assert_eq!(
            keys_of("MIGRATE h p \"\" 0 500 AUTH2 USER KEYS KEYS rw"),
            vec![10]
        );
        assert_eq!(keys_of("MIGRATE h p k 0 500 KEYS a"), Vec::<usize>::new());
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redacted("MIGRATE h p k 0 500 AUTH pw"), vec![7]);
        assert_eq!(redacted("MIGRATE h p k 0 500 COPY AUTH2 u pw"), vec![8, 9]);
        assert_eq!(
            redacted("MIGRATE h p \"\" 0 500 KEYS auth x"),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn options_parse_in_redis_order() {
        let owned = argv("MIGRATE h p k x 500 BOGUS");
        let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        assert_eq!(parse(&args).err(), Some(CmdError::Syntax));
        let owned = argv("MIGRATE h p k x 500 AUTH");
        let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        assert_eq!(parse(&args).err(), Some(CmdError::Syntax));
        let owned = argv("MIGRATE h p k x 500");
        let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        assert_eq!(parse(&args).err(), Some(CmdError::NotInteger));
        let owned = argv("MIGRATE h p k 3 0 COPY REPLACE");
        let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let request = parse(&args).ok();
        assert_eq!(
            request.map(|r| (r.db, r.timeout, r.copy, r.replace)),
            Some((3, Duration::from_millis(1000), true, true))
        );
    }
}
