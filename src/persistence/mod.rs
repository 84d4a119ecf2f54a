//! Write-behind persistence to MongoDB. The only place `mongodb` and `bson` appear.
//!
//! - [`load`] at start-up: connect (retrying up to [`load::STARTUP_TIMEOUT`]), read every key
//!   into a new keyspace, drop the expired ones.
//! - [`spawn`]: start the writer thread (it owns the client) and give the server its status,
//!   its SAVE/BGSAVE handler and the journal.
//! - [`Persistence`] plugs into the reactor as its [`LoopHooks`]: before each sleep it hands a
//!   batch of changed keys to the writer when the writer is idle and a change has waited
//!   `persist-interval-ms`; on wake it reads the writer's reports; on shutdown it flushes.
//!
//! The document model and its reasons are in `docs/persistence.md`; [`document`] holds the
//! encodings, [`handoff`] the reactor's side, [`writer`] the thread.

pub mod document;
mod handoff;
mod load;
mod writer;

use crate::commands::journal::Journal;
use crate::commands::persistence::{PersistenceStatus, Saver};
use crate::commands::{Server, Shutdown};
use crate::config::Config;
use crate::clock::unix_ms;
use crate::network::LoopHooks;
use crate::store::Keyspace;
use handoff::Core;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use writer::{WakeSlot, Writer};

pub use load::{redact, STARTUP_TIMEOUT};

/// How long a graceful shutdown waits for MongoDB to acknowledge the last changes.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// Why persistence could not start.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("invalid mongodb-uri: {0}")]
    InvalidUri(String),
    #[error("cannot reach MongoDB at {target} (gave up after {seconds} s): {error}")]
    Unreachable {
        target: String,
        seconds: u64,
        error: String,
    },
    #[error("loading from MongoDB failed: {0}")]
    Load(String),
    #[error("cannot start the MongoDB writer thread: {0}")]
    Thread(String),
}

/// The result of [`load`]: the keyspace to serve, and what the writer needs.
pub struct Loaded {
    keyspace: Option<Keyspace>,
    connected: Option<load::Connected>,
    databases: usize,
}

impl Loaded {
    /// The loaded keyspace (an empty one if already taken).
    pub fn take_keyspace(&mut self) -> Keyspace {
        self.keyspace
            .take()
            .unwrap_or_else(|| Keyspace::new(self.databases))
    }

    /// Whether persistence is configured.
    pub fn is_enabled(&self) -> bool {
        self.connected.is_some()
    }
}

/// Loads every key from MongoDB when `mongodb-uri` is set; otherwise an empty keyspace.
/// Blocks until done: the server serves only after it.
pub fn load(config: &Config) -> Result<Loaded, PersistenceError> {
    let Some(uri) = config.mongodb_uri.as_deref() else {
        return Ok(Loaded {
            keyspace: Some(Keyspace::new(config.databases)),
            connected: None,
            databases: config.databases,
        });
    };
    log::info!(
        "Persistence: MongoDB at {}, database '{}'; changes are handed to the writer within {} ms",
        redact(uri),
        config.mongodb_database,
        config.persist_interval_ms
    );
    let (keyspace, connected) = load::load_all(config, uri)?;
    Ok(Loaded {
        keyspace: Some(keyspace),
        connected: Some(connected),
        databases: config.databases,
    })
}

/// The persistence handle: the reactor's hooks. Dropping it does not stop the writer; the
/// reactor's shutdown hook does.
pub struct Persistence {
    core: Arc<Mutex<Core>>,
    wake: WakeSlot,
}

fn lock(core: &Mutex<Core>) -> MutexGuard<'_, Core> {
    // A panic while holding the lock cannot leave Core half-updated in a way that matters
    // more than stopping persistence would.
    core.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the writer thread and installs persistence into `server` (status, SAVE/BGSAVE,
/// journal). `None` when persistence is off.
pub fn spawn(
    loaded: &mut Loaded,
    server: &mut Server,
) -> Result<Option<Persistence>, PersistenceError> {
    let Some(connected) = loaded.connected.take() else {
        server.persistence = PersistenceStatus::default();
        return Ok(None);
    };
    let (to_writer, from_reactor) = crossbeam_channel::bounded(64);
    let (to_reactor, from_writer) = crossbeam_channel::unbounded();
    let wake: WakeSlot = Arc::new(OnceLock::new());
    let writer = Writer::new(
        connected.db.clone(),
        connected.write_concern.clone(),
        from_reactor,
        to_reactor,
        wake.clone(),
    );
    std::thread::Builder::new()
        .name("mongodb-writer".into())
        .spawn(move || writer.run())
        .map_err(|e| PersistenceError::Thread(e.to_string()))?;
    let mut core = Core::new(
        to_writer,
        from_writer,
        connected.persisted,
        connected.next_gen,
    );
    let mut journal = Journal::new();
    for (db, key) in core.persisted_keys() {
        journal.watch(*db, key);
    }
    journal.take_interval();
    core.queue_deletions(connected.expired);
    server.journal = Some(journal);
    server.persistence = PersistenceStatus {
        enabled: true,
        target: connected.target,
        database: connected.database,
        connected: true,
        loaded_keys: connected.loaded_keys,
        load_ms: connected.load_ms,
        last_flush_ok: true,
        last_save_unix: unix_ms() / 1000,
        ..Default::default()
    };
    let core = Arc::new(Mutex::new(core));
    server.saver = Some(Box::new(SaveHandle { core: core.clone() }));
    // The client lives on in the writer's database handle.
    drop(connected.client);
    Ok(Some(Persistence { core, wake }))
}

impl Persistence {
    /// Gives the writer the way to wake the reactor (from the network layer's wake handle).
    pub fn set_wake(&self, wake: impl Fn() + Send + Sync + 'static) {
        let _ = self.wake.set(Box::new(wake));
    }
}

impl LoopHooks for Persistence {
    fn before_sleep(&mut self, ks: &mut Keyspace, server: &mut Server) {
        lock(&self.core).pump(ks, server);
    }

    fn on_wake(&mut self, ks: &mut Keyspace, server: &mut Server) {
        lock(&self.core).drain(ks, server);
    }

    fn on_shutdown(&mut self, ks: &mut Keyspace, server: &mut Server, mode: Shutdown) {
        let mut core = lock(&self.core);
        core.drain(ks, server);
        let unsaved = core.unsaved(ks);
        match mode {
            Shutdown::Save => {
                if unsaved > 0 {
                    log::info!("Saving {unsaved} changed keys to MongoDB before exiting...");
                }
                match core.save_blocking(ks, server, SHUTDOWN_TIMEOUT) {
                    Ok(()) => log::info!("Every change is in MongoDB."),
                    Err(e) => {
                        log::error!("{} changed keys are NOT in MongoDB: {e}", core.unsaved(ks))
                    }
                }
                core.stop_writer(Duration::from_secs(5));
            }
            Shutdown::NoSave => {
                if unsaved > 0 {
                    log::warn!("SHUTDOWN NOSAVE: {unsaved} changed keys are not saved to MongoDB");
                }
                core.stop_writer(Duration::from_secs(1));
            }
        }
    }
}

/// SAVE and BGSAVE, served by the same state as the hooks.
struct SaveHandle {
    core: Arc<Mutex<Core>>,
}

impl Saver for SaveHandle {
    fn save(
        &mut self,
        ks: &mut Keyspace,
        server: &mut Server,
        timeout: Duration,
    ) -> Result<(), String> {
        lock(&self.core).save_blocking(ks, server, timeout)
    }

    fn bgsave(&mut self, ks: &mut Keyspace, server: &mut Server) -> Result<(), String> {
        let mut core = lock(&self.core);
        core.drain(ks, server);
        core.request_force(server);
        Ok(())
    }
}
