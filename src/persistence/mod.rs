//! Write-behind persistence to MongoDB. The only place `mongodb` and `bson` appear.
//!
//! - [`load`] at start-up: connect (retrying up to [`load::STARTUP_TIMEOUT`]), read every key
//!   into a new keyspace, drop the expired ones.
//! - [`spawn`]: start the writer thread (it owns the client) and install into the server the
//!   journal and the one handle ([`Persistence`]) through which the reactor thread reaches
//!   persistence, without a lock: before each sleep it hands a batch of changed keys to the
//!   writer when the writer is idle and a change has waited `persist-interval-ms`; on wake it
//!   reads the writer's reports; it serves SAVE and BGSAVE, keeps the figures INFO shows, and
//!   on shutdown it flushes.
//!
//! The document model and its reasons are in `docs/persistence.md`; [`document`] holds the
//! encodings, [`handoff`] the reactor's side, [`writer`] the thread.

pub mod document;
mod handoff;
mod load;
mod loader;
mod reason;
mod writer;

use crate::clock::unix_ms;
use crate::commands::journal::Journal;
use crate::commands::persistence::{Persistence, PersistenceStatus};
use crate::commands::{Server, Shutdown};
use crate::config::Config;
use crate::store::{EncodingLimits, FastMap, Key, Keyspace, Value};
use crossbeam_channel::{Receiver, Sender};
use handoff::Core;
use loader::{LoadOutcome, LoadReply, LoadRequest, Loader, ToLoader};
use std::sync::{Arc, OnceLock};
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

    /// The stored function libraries' code (empty once taken), for the server to load
    /// before [`spawn`]: what is loaded then counts as stored.
    pub fn take_function_codes(&mut self) -> Vec<Vec<u8>> {
        self.connected
            .as_mut()
            .map(|connected| std::mem::take(&mut connected.function_codes))
            .unwrap_or_default()
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

/// The persistence layer's one handle, installed into [`Server::persistence`]: the
/// reactor's side of the write-behind (see [`handoff`]) and the way the writer wakes the
/// reactor. Dropping it does not stop the writer; [`Persistence::shutdown`] does.
struct WriteBehind {
    core: Core,
    wake: WakeSlot,
    /// The cold tier's reader thread: requests, replies, and the reads under way (by key,
    /// with the epoch asked for), so clients waiting on one key share one read.
    to_loader: Sender<ToLoader>,
    from_loader: Receiver<LoadReply>,
    loading: FastMap<(usize, Key), u32>,
    /// Reads of keys renamed while cold, held until MongoDB stores them under the new name.
    deferred: Vec<LoadRequest>,
}

/// Starts the writer thread and installs persistence into `server` (the handle, the journal).
/// Leaves `server` without persistence when it is off.
pub fn spawn(loaded: &mut Loaded, server: &mut Server) -> Result<(), PersistenceError> {
    let Some(connected) = loaded.connected.take() else {
        server.persistence = None;
        return Ok(());
    };
    let wake: WakeSlot = Arc::new(OnceLock::new());
    let stored_functions = server.scripting.libraries.version();
    let (write_behind, journal) = start(
        connected,
        wake,
        PersistenceStatus::default(),
        stored_functions,
        &server.config,
    )?;
    if server.config.maxmemory_tiering {
        log::info!(
            "Tiering: maxmemory-tiering is on; over maxmemory, values MongoDB holds leave memory and are loaded back when needed"
        );
    }
    server.journal = Some(journal);
    server.persistence = Some(Box::new(write_behind));
    Ok(())
}

/// Starts a writer thread for what a load found: the reactor's side of it and the journal
/// watching its large values. `wake` is how the writer wakes the reactor; `previous` carries
/// the running totals of an earlier writer (after DEBUG RELOAD) into the new figures;
/// `stored_functions` is the version of the function libraries MongoDB holds.
fn start(
    connected: load::Connected,
    wake: WakeSlot,
    previous: PersistenceStatus,
    stored_functions: u64,
    config: &Config,
) -> Result<(WriteBehind, Journal), PersistenceError> {
    let (to_loader, loader_requests) = crossbeam_channel::unbounded();
    let (loader_replies, from_loader) = crossbeam_channel::unbounded();
    let loader = Loader {
        db: connected.db.clone(),
        requests: loader_requests,
        replies: loader_replies,
        wake: wake.clone(),
        config: config.clone(),
    };
    std::thread::Builder::new()
        .name("mongodb-loader".into())
        .spawn(move || loader.run())
        .map_err(|e| PersistenceError::Thread(e.to_string()))?;
    let (to_writer, from_reactor) = crossbeam_channel::bounded(64);
    let (to_reactor, from_writer) = crossbeam_channel::unbounded();
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
    let status = PersistenceStatus {
        enabled: true,
        target: connected.target,
        database: connected.database,
        connected: true,
        loaded_keys: connected.loaded_keys,
        load_ms: connected.load_ms,
        last_flush_ok: true,
        last_save_unix: unix_ms() / 1000,
        flush_errors: previous.flush_errors,
        dropped_items: previous.dropped_items,
        keys_written: previous.keys_written,
        batches_written: previous.batches_written,
        snapshots_written: previous.snapshots_written,
        log_appends: previous.log_appends,
        ..Default::default()
    };
    let mut core = Core::new(
        to_writer,
        from_writer,
        connected.persisted,
        connected.next_gen,
        status,
        stored_functions,
    );
    let mut journal = Journal::new();
    for (db, key) in core.persisted_keys() {
        journal.watch(*db, key);
    }
    journal.take_interval();
    core.queue_deletions(connected.expired);
    // The client lives on in the writer's database handle.
    drop(connected.client);
    Ok((
        WriteBehind {
            core,
            wake,
            to_loader,
            from_loader,
            loading: FastMap::default(),
            deferred: Vec::new(),
        },
        journal,
    ))
}

impl Persistence for WriteBehind {
    fn status(&self) -> &PersistenceStatus {
        self.core.status()
    }

    fn set_wake(&mut self, wake: Box<dyn Fn() + Send + Sync>) {
        let _ = self.wake.set(wake);
    }

    fn before_sleep(&mut self, ks: &mut Keyspace, server: &mut Server) {
        self.core.pump(ks, server);
        self.send_deferred(ks);
    }

    fn on_wake(&mut self, ks: &mut Keyspace, server: &mut Server) {
        self.core.drain(ks);
        self.send_deferred(ks);
        self.put_back_loaded(ks, server);
    }

    fn holds_value(&self, db: usize, key: &[u8]) -> bool {
        self.core.holds_value(db, key)
    }

    fn request_load(
        &mut self,
        ks: &Keyspace,
        db: usize,
        key: &[u8],
        epoch: u32,
        timeout: Duration,
    ) {
        let slot = (db, Key::from(key));
        if self.loading.get(&slot) == Some(&epoch) {
            return;
        }
        let request = LoadRequest {
            db,
            key: slot.1.clone(),
            epoch,
            give_up: std::time::Instant::now() + timeout,
        };
        if self.is_moving(ks, db, key) {
            // Its value is still stored under its old name: read it once the move landed,
            // and have the move handed over now rather than at the next interval.
            self.deferred.push(request);
            self.loading.insert(slot, epoch);
            self.core.request_flush();
            return;
        }
        if self.to_loader.send(ToLoader::Load(request)).is_ok() {
            self.loading.insert(slot, epoch);
        }
    }

    fn request_flush(&mut self) {
        self.core.request_flush();
    }

    fn shutdown(&mut self, ks: &mut Keyspace, server: &mut Server, mode: Shutdown) {
        let _ = self.to_loader.send(ToLoader::Stop);
        let core = &mut self.core;
        core.drain(ks);
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

    fn save(
        &mut self,
        ks: &mut Keyspace,
        server: &mut Server,
        timeout: Duration,
    ) -> Result<(), String> {
        self.core.save_blocking(ks, server, timeout)
    }

    fn bgsave(&mut self, ks: &mut Keyspace, _server: &mut Server) -> Result<(), String> {
        self.core.drain(ks);
        self.core.request_force();
        Ok(())
    }

    /// Saves, stops the writer, loads everything back through the start-up path and starts a
    /// new writer on what that load found, so the reactor's record of stored values is the
    /// one a fresh start would have.
    fn reload(&mut self, ks: &mut Keyspace, server: &mut Server) -> Result<(), String> {
        self.core.save_blocking(ks, server, SHUTDOWN_TIMEOUT)?;
        let uri = server
            .config
            .mongodb_uri
            .clone()
            .ok_or("no mongodb-uri is configured")?;
        self.core.stop_writer(Duration::from_secs(5));
        let (loaded, connected) = match load::load_all(&server.config, &uri) {
            Ok(loaded) => loaded,
            Err(e) => {
                // The data in memory is intact and saved; keep serving it and writing it.
                self.restart_writer(server, &uri);
                return Err(e.to_string());
            }
        };
        let (write_behind, journal) = start(
            connected,
            self.wake.clone(),
            self.core.status().clone(),
            self.core.stored_functions(),
            &server.config,
        )
        .map_err(|e| e.to_string())?;
        let _ = self.to_loader.send(ToLoader::Stop);
        *self = write_behind;
        server.journal = Some(journal);
        for flushed in ks.replace_data(loaded) {
            server.free_flushed(flushed, true);
        }
        Ok(())
    }
}

impl WriteBehind {
    /// Whether cold `key` was renamed and MongoDB does not hold it under its new name yet.
    fn is_moving(&self, ks: &Keyspace, db: usize, key: &[u8]) -> bool {
        ks.cold_move_pending(db, key) || self.core.renaming(db, key)
    }

    /// Sends the held reads whose keys MongoDB now stores under their names. O(held).
    fn send_deferred(&mut self, ks: &Keyspace) {
        if self.deferred.is_empty() {
            return;
        }
        for request in std::mem::take(&mut self.deferred) {
            if self.is_moving(ks, request.db, &request.key) {
                self.deferred.push(request);
                continue;
            }
            let slot = (request.db, request.key.clone());
            if self.to_loader.send(ToLoader::Load(request)).is_err() {
                self.loading.remove(&slot);
            }
        }
    }

    /// Puts back the cold values the reader thread sent, which puts their keys in line for
    /// the clients waiting on them (the reactor serves them next). A value for a key deleted,
    /// rewritten or dropped again meanwhile is thrown away, its waiters put in line all the
    /// same (they run again, and wait again only for a value still cold).
    fn put_back_loaded(&mut self, ks: &mut Keyspace, server: &mut Server) {
        while let Ok(reply) = self.from_loader.try_recv() {
            let LoadReply {
                db,
                key,
                epoch,
                outcome,
                took,
            } = reply;
            let slot = (db, key);
            if self.loading.get(&slot) == Some(&epoch) {
                self.loading.remove(&slot);
            }
            let (db, key) = slot;
            match outcome {
                LoadOutcome::Value(value) => {
                    if ks.restore_value(db, &key, epoch, value) {
                        server.tiering.record_load(took);
                    } else {
                        ks.wake_waiters(db, &key);
                    }
                }
                LoadOutcome::Missing => {
                    if ks.forget_lost_cold(db, &key, epoch) {
                        server.tiering.load_errors += 1;
                        log::error!(
                            "cold key '{}' of database {db} has no document in MongoDB: dropped",
                            String::from_utf8_lossy(&key)
                        );
                    } else {
                        // The key was deleted or rewritten meanwhile (its deletion may have
                        // reached MongoDB before the read): its waiters run again, as when
                        // a value comes back too late.
                        ks.wake_waiters(db, &key);
                    }
                }
                LoadOutcome::Failed(error) => {
                    server.tiering.load_errors += 1;
                    log::warn!(
                        "loading cold key '{}' of database {db} failed: {error}",
                        String::from_utf8_lossy(&key)
                    );
                }
            }
        }
    }

    /// After a failed reload: a new writer on the keys as they are stored now (the load that
    /// failed read nothing into memory), so changes keep reaching the database.
    fn restart_writer(&mut self, server: &mut Server, uri: &str) {
        match load::load_all(&server.config, uri) {
            Ok((_, connected)) => {
                let stored_functions = self.core.stored_functions();
                match start(
                    connected,
                    self.wake.clone(),
                    self.core.status().clone(),
                    stored_functions,
                    &server.config,
                ) {
                    Ok((write_behind, journal)) => {
                        let _ = self.to_loader.send(ToLoader::Stop);
                        *self = write_behind;
                        server.journal = Some(journal);
                    }
                    Err(e) => log::error!("cannot restart the MongoDB writer: {e}"),
                }
            }
            Err(e) => log::error!("cannot restart the MongoDB writer: {e}"),
        }
    }
}

/// Passes a value through the document encoding a key is stored in and builds it again from
/// it, in the encodings `limits` choose: DEBUG RELOAD without persistence, so a reload shows
/// what the encoding keeps.
pub fn round_trip(value: &Value, limits: &EncodingLimits) -> Result<Value, String> {
    let encoded = document::encode_value(value);
    let chunks = encoded
        .chunks
        .iter()
        .enumerate()
        .map(|(index, items)| {
            mongodb::bson::RawDocumentBuf::from_bytes(document::chunk_document(
                0,
                0,
                index as u64,
                items,
            ))
            .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let arrays = chunks
        .iter()
        .map(|chunk| document::chunk_items(chunk).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    let header = encoded
        .header
        .as_deref()
        .map(mongodb::bson::RawDocument::from_bytes)
        .transpose()
        .map_err(|e| e.to_string())?;
    document::decode_value(
        encoded.type_name,
        header,
        &mut document::ItemReader::new(arrays),
        limits,
    )
    .map_err(|e| e.to_string())
}
