//! Persistence as the commands and the reactor see it: SAVE, BGSAVE, LASTSAVE, the INFO
//! `persistence` section, and the one handle through which the reactor thread reaches the
//! persistence layer. Nothing here knows what the backend is: the persistence layer installs a
//! [`Persistence`] into [`Server::persistence`], which serves the reactor's hand-offs and save
//! requests and keeps the [`PersistenceStatus`]. What each command did to the values
//! persistence watches is recorded by [`super::journal`].

use super::{Args, CmdError, CmdResult, Ctx, Server, Shutdown};
use crate::store::Keyspace;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

/// Persistence figures for INFO and LASTSAVE; written by the persistence layer.
#[derive(Debug, Clone, Default)]
pub struct PersistenceStatus {
    /// Persistence is configured (`mongodb-uri` set).
    pub enabled: bool,
    /// Where data goes, credentials removed (`mongodb://host:port`).
    pub target: String,
    pub database: String,
    /// The writer reached the database on its last attempt.
    pub connected: bool,
    /// Keys loaded at start-up, and how long the load took.
    pub loaded_keys: u64,
    pub load_ms: u64,
    /// Changed keys taken from the store but not yet handed to the writer.
    pub backlog_keys: u64,
    /// Keys in the batch the writer is working on.
    pub in_flight_keys: u64,
    /// Unix ms of the oldest change not yet acknowledged by the database (0 = none).
    pub oldest_unsaved_ms: u64,
    /// Unix ms when the last batch was acknowledged (0 = never).
    pub last_flush_ms: u64,
    /// Whether the last write attempt succeeded.
    pub last_flush_ok: bool,
    /// The last write error, empty when none happened yet; it stays after a recovery, so
    /// [`PersistenceStatus::last_error_ms`] tells whether it is news.
    pub last_error: String,
    /// Unix ms of the last write error (0 = never).
    pub last_error_ms: u64,
    /// Failed write attempts (each is retried).
    pub flush_errors: u64,
    /// Items given up after repeated per-item write errors.
    pub dropped_items: u64,
    /// Keys written (snapshots, appended operations and deletions) since start.
    pub keys_written: u64,
    /// Batches acknowledged since start.
    pub batches_written: u64,
    /// Snapshots of watched (large) values and operation-log appends since start.
    pub snapshots_written: u64,
    pub log_appends: u64,
    /// Unix seconds of the latest moment everything changed before it was acknowledged
    /// (LASTSAVE); start-up time after a load.
    pub last_save_unix: u64,
    /// BGSAVE asked for a flush that has not landed yet.
    pub bgsave_in_progress: bool,
}

/// The persistence layer as the server sees it, installed once into [`Server::persistence`].
/// Everything runs on the reactor thread, so the handle needs no lock; whatever it shares
/// with threads of its own is its business.
pub trait Persistence: Send {
    /// The figures for INFO and LASTSAVE.
    fn status(&self) -> &PersistenceStatus;
    /// Gives the backend's threads the way to wake the reactor (a closure from the network
    /// layer); until then they cannot.
    fn set_wake(&mut self, wake: Box<dyn Fn() + Send + Sync>);
    /// Before the reactor sleeps, after replies were written: hand changes over if due.
    /// Cheap when there is nothing to do: it runs every turn.
    fn before_sleep(&mut self, ks: &mut Keyspace, server: &mut Server);
    /// After another thread woke the reactor: read what the backend reported.
    fn on_wake(&mut self, ks: &mut Keyspace, server: &mut Server);
    /// Once, when the server stops; returns when whatever must finish has finished.
    fn shutdown(&mut self, ks: &mut Keyspace, server: &mut Server, mode: Shutdown);
    /// Hands every pending change to the backend and blocks until it is acknowledged, at most
    /// `timeout`. Err carries the reason, for the error reply.
    fn save(
        &mut self,
        ks: &mut Keyspace,
        server: &mut Server,
        timeout: Duration,
    ) -> Result<(), String>;
    /// Hands every pending change over as soon as the backend can take it, without waiting.
    fn bgsave(&mut self, ks: &mut Keyspace, server: &mut Server) -> Result<(), String>;
    /// Writes every pending change, then replaces the keyspace's data with what the backend
    /// holds, read back as at start-up (DEBUG RELOAD). Blocks meanwhile. Err carries the
    /// reason; the keyspace is unchanged unless the load succeeded.
    fn reload(&mut self, ks: &mut Keyspace, server: &mut Server) -> Result<(), String>;
    /// True if the backend holds the current value of `key` of database `db`: nothing of it
    /// is waiting to be written or being written (the store's own record of changes is the
    /// caller's to check). The cold tier drops only such values. False by default.
    fn holds_value(&self, _db: usize, _key: &[u8]) -> bool {
        false
    }
    /// Starts reading the value of cold `key` (dropped at `epoch`) unless a read of it is
    /// under way; it is put back into the keyspace when it arrives (see
    /// [`Keyspace::restore_value`]). A key renamed while cold is read once MongoDB holds it
    /// under its new name. Gives up after `timeout`.
    fn request_load(
        &mut self,
        _ks: &Keyspace,
        _db: usize,
        _key: &[u8],
        _epoch: u32,
        _timeout: Duration,
    ) {
    }
    /// Hands changes over as soon as the backend can take them (the cold tier ran short of
    /// values it may drop).
    fn request_flush(&mut self) {}
}

/// See [`Persistence::holds_value`]; false when persistence is off.
pub fn holds_value(server: &Server, db: usize, key: &[u8]) -> bool {
    server
        .persistence
        .as_ref()
        .is_some_and(|handle| handle.holds_value(db, key))
}

/// See [`Persistence::request_load`]; nothing when persistence is off.
pub fn request_load(
    ks: &mut Keyspace,
    server: &mut Server,
    db: usize,
    key: &[u8],
    epoch: u32,
    timeout: Duration,
) {
    with_persistence(ks, server, |handle, ks, _| {
        handle.request_load(ks, db, key, epoch, timeout)
    });
}

/// See [`Persistence::request_flush`].
pub fn request_flush(server: &mut Server) {
    if let Some(handle) = server.persistence.as_mut() {
        handle.request_flush();
    }
}

/// Runs `act` on the installed persistence with the keyspace and the rest of the server at
/// hand; `None` when persistence is off. The handle is out of `server` meanwhile (it is put
/// back before returning), which is what lets `act` borrow both.
fn with_persistence<R>(
    ks: &mut Keyspace,
    server: &mut Server,
    act: impl FnOnce(&mut dyn Persistence, &mut Keyspace, &mut Server) -> R,
) -> Option<R> {
    let mut handle = server.persistence.take()?;
    let result = act(handle.as_mut(), ks, server);
    server.persistence = Some(handle);
    Some(result)
}

/// The reactor, before it sleeps: see [`Persistence::before_sleep`].
pub fn before_sleep(ks: &mut Keyspace, server: &mut Server) {
    with_persistence(ks, server, |handle, ks, server| {
        handle.before_sleep(ks, server)
    });
}

/// The reactor, when another thread woke it: see [`Persistence::on_wake`].
pub fn on_wake(ks: &mut Keyspace, server: &mut Server) {
    with_persistence(ks, server, |handle, ks, server| handle.on_wake(ks, server));
}

/// The reactor, when the server stops: see [`Persistence::shutdown`].
pub fn shutdown(ks: &mut Keyspace, server: &mut Server, mode: Shutdown) {
    with_persistence(ks, server, |handle, ks, server| {
        handle.shutdown(ks, server, mode)
    });
}

/// DEBUG RELOAD with persistence on: see [`Persistence::reload`]. Err when it is off.
pub fn reload(ks: &mut Keyspace, server: &mut Server) -> Result<(), String> {
    with_persistence(ks, server, |handle, ks, server| handle.reload(ks, server))
        .unwrap_or_else(|| Err("persistence is off".into()))
}

/// The persistence figures; all zero and `enabled: false` when persistence is off.
pub fn status(server: &Server) -> Cow<'_, PersistenceStatus> {
    match &server.persistence {
        Some(handle) => Cow::Borrowed(handle.status()),
        None => Cow::Owned(PersistenceStatus::default()),
    }
}

/// How long SAVE may block before it reports an error (the changes stay pending).
pub const SAVE_TIMEOUT: Duration = Duration::from_secs(60);

fn persistence_off() -> CmdError {
    CmdError::msg("ERR persistence is off: no mongodb-uri is configured, data lives in memory only")
}

/// SAVE: returns once every change made so far is acknowledged by the database. Blocks the
/// server meanwhile, as Redis's SAVE does.
pub fn save(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    args.finish()?;
    let result = with_persistence(ctx.ks, ctx.server, |handle, ks, server| {
        handle.save(ks, server, SAVE_TIMEOUT)
    });
    match result.ok_or_else(persistence_off)? {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(reason) => Err(CmdError::msg(format!("ERR {reason}"))),
    }
}

/// BGSAVE [SCHEDULE]: hands every pending change to the writer now, without waiting.
pub fn bgsave(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let schedule = args.eat("schedule");
    args.finish()?;
    let result = with_persistence(ctx.ks, ctx.server, |handle, ks, server| {
        handle.bgsave(ks, server)
    });
    match result.ok_or_else(persistence_off)? {
        Ok(()) if schedule => ctx.out.simple("Background saving scheduled"),
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(reason) => return Err(CmdError::msg(format!("ERR {reason}"))),
    }
    Ok(())
}

/// BGREWRITEAOF: there is no append-only file to rewrite; the MongoDB documents are already
/// one per key, which is what a rewrite would make of a log. Refused with an error that says
/// so, rather than a reply that claims a rewrite started.
pub fn bgrewriteaof(_ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    Err(CmdError::msg(
        "ERR Reddish writes no append only file: its data persists to MongoDB, one document per key (BGSAVE hands the pending changes to the writer)",
    ))
}

/// LASTSAVE: Unix time of the latest moment whose changes are all in the database.
pub fn lastsave(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    args.finish()?;
    let status = status(ctx.server);
    let when = if status.enabled {
        status.last_save_unix
    } else {
        ctx.server.started_ms / 1000
    };
    ctx.out.int(when as i64);
    Ok(())
}

/// The INFO `persistence` section: Redis's fields (for tools that read them) and the MongoDB
/// write-behind figures.
pub fn info_section(ctx: &mut Ctx, out: &mut String) {
    let now = ctx.ks.now_ms();
    let pending_store = ctx.ks.pending_changes() as u64;
    let s = status(ctx.server);
    let pending = pending_store + s.backlog_keys;
    let unsaved = if s.enabled {
        pending + s.in_flight_keys
    } else {
        ctx.ks.write_count()
    };
    let lag_ms = if s.oldest_unsaved_ms > 0 {
        now.saturating_sub(s.oldest_unsaved_ms)
    } else {
        0
    };
    let connection = if !s.enabled {
        "disabled"
    } else if s.connected {
        "connected"
    } else {
        "disconnected"
    };
    let last_status = if s.last_flush_ok || s.last_error.is_empty() {
        "ok"
    } else {
        "err"
    };
    let _ = write!(
        out,
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n\
         current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n\
         current_save_keys_total:0\r\nrdb_changes_since_last_save:{unsaved}\r\n\
         rdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{last_status}\r\n\
         rdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\n\
         rdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:{}\r\n\
         aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n\
         aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\n\
         aof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\n\
         aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n\
         mongodb_enabled:{}\r\nmongodb_target:{}\r\n\
         mongodb_database:{}\r\nmongodb_connection:{connection}\r\nmongodb_loaded_keys:{}\r\n\
         mongodb_load_time_ms:{}\r\nmongodb_pending_keys:{pending}\r\nmongodb_in_flight_keys:{}\r\n\
         mongodb_lag_ms:{lag_ms}\r\nmongodb_last_flush_time:{}\r\nmongodb_last_flush_status:{last_status}\r\n\
         mongodb_last_error:{}\r\nmongodb_last_error_time:{}\r\nmongodb_flush_errors:{}\r\nmongodb_dropped_items:{}\r\n\
         mongodb_keys_written:{}\r\nmongodb_batches_written:{}\r\nmongodb_snapshots_written:{}\r\n\
         mongodb_log_appends:{}\r\n",
        s.bgsave_in_progress as u8,
        if s.enabled {
            s.last_save_unix
        } else {
            ctx.server.started_ms / 1000
        },
        s.loaded_keys,
        s.enabled as u8,
        s.target,
        s.database,
        s.loaded_keys,
        s.load_ms,
        s.in_flight_keys,
        s.last_flush_ms / 1000,
        // INFO lines end at CR/LF: keep an error message on one line.
        s.last_error.replace(['\r', '\n'], " "),
        s.last_error_ms / 1000,
        s.flush_errors,
        s.dropped_items,
        s.keys_written,
        s.batches_written,
        s.snapshots_written,
        s.log_appends,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::Harness;
    use std::sync::{Arc, Mutex};

    /// A backend that records what reached it (shared with the test, which keeps a view of it
    /// after installing it into the server).
    struct Recorder {
        calls: Arc<Mutex<Vec<&'static str>>>,
        status: PersistenceStatus,
    }

    impl Recorder {
        fn note(&self, call: &'static str) {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(call);
            }
        }
    }

    impl Persistence for Recorder {
        fn status(&self) -> &PersistenceStatus {
            &self.status
        }
        fn set_wake(&mut self, _wake: Box<dyn Fn() + Send + Sync>) {
            self.note("set_wake");
        }
        fn before_sleep(&mut self, _ks: &mut Keyspace, server: &mut Server) {
            // The handle is lent out: the server does not hold it meanwhile.
            assert!(server.persistence.is_none());
            self.note("before_sleep");
        }
        fn on_wake(&mut self, _ks: &mut Keyspace, _server: &mut Server) {
            self.note("on_wake");
        }
        fn shutdown(&mut self, _ks: &mut Keyspace, _server: &mut Server, mode: Shutdown) {
            self.note(match mode {
                Shutdown::Save => "shutdown save",
                Shutdown::NoSave => "shutdown nosave",
            });
        }
        fn save(
            &mut self,
            _ks: &mut Keyspace,
            _server: &mut Server,
            timeout: Duration,
        ) -> Result<(), String> {
            self.note("save");
            Err(format!("no backend within {} s", timeout.as_secs()))
        }
        fn bgsave(&mut self, _ks: &mut Keyspace, _server: &mut Server) -> Result<(), String> {
            self.note("bgsave");
            Ok(())
        }
        fn reload(&mut self, _ks: &mut Keyspace, _server: &mut Server) -> Result<(), String> {
            self.note("reload");
            Err("no backend".into())
        }
    }

    #[test]
    fn the_one_handle_serves_the_reactor_and_the_commands() {
        let mut h = Harness::new();
        let calls = Arc::new(Mutex::new(Vec::new()));
        h.server.persistence = Some(Box::new(Recorder {
            calls: calls.clone(),
            status: PersistenceStatus {
                enabled: true,
                connected: true,
                last_save_unix: 77,
                last_error: "I/O error".into(),
                last_error_ms: 5_000,
                ..Default::default()
            },
        }));
        before_sleep(&mut h.ks, &mut h.server);
        on_wake(&mut h.ks, &mut h.server);
        assert_eq!(
            h.text(&["save"]),
            "-ERR no backend within 60 s\r\n",
            "the reason of a failed SAVE is the reply"
        );
        assert_eq!(h.text(&["bgsave"]), "+Background saving started\r\n");
        h.server.config.enable_debug_command = crate::config::Protection::Yes;
        assert_eq!(
            h.text(&["debug", "reload"]),
            "-ERR Error trying to load the RDB dump, check server logs.\r\n",
            "a failed reload is reported as Redis reports one"
        );
        assert_eq!(h.text(&["lastsave"]), ":77\r\n");
        let info = h.text(&["info", "persistence"]);
        assert!(info.contains("mongodb_connection:connected\r\n"), "{info}");
        assert!(
            info.contains("mongodb_last_error:I/O error\r\nmongodb_last_error_time:5\r\n"),
            "{info}"
        );
        shutdown(&mut h.ks, &mut h.server, Shutdown::NoSave);
        assert!(h.server.persistence.is_some(), "the handle is put back");
        let calls = calls.lock().map(|c| c.clone()).unwrap_or_default();
        assert_eq!(
            calls,
            [
                "before_sleep",
                "on_wake",
                "save",
                "bgsave",
                "reload",
                "shutdown nosave"
            ]
        );
    }

    #[test]
    fn save_commands_without_persistence() {
        let mut h = Harness::new();
        let off =
            "-ERR persistence is off: no mongodb-uri is configured, data lives in memory only\r\n";
        assert_eq!(h.text(&["save"]), off);
        assert_eq!(h.text(&["bgsave"]), off);
        assert_eq!(h.text(&["bgsave", "nonsense"]), "-ERR syntax error\r\n");
        assert_eq!(h.text(&["lastsave"]), ":1000\r\n");
        assert_eq!(
            h.text(&["save", "x"]),
            "-ERR wrong number of arguments for 'save' command\r\n"
        );
    }

    #[test]
    fn info_reports_persistence_disabled() {
        let mut h = Harness::new();
        let info = h.text(&["info", "persistence"]);
        assert!(info.contains("mongodb_enabled:0\r\n"), "{info}");
        assert!(info.contains("mongodb_connection:disabled\r\n"), "{info}");
        assert!(
            info.contains("mongodb_last_error:\r\nmongodb_last_error_time:0\r\n"),
            "{info}"
        );
        assert!(info.contains("loading:0\r\n"), "{info}");
    }
}
