//! The reactor's side of persistence: what to write for each changed key, and when to hand a
//! batch to the writer.
//!
//! The store records which keys changed (coalesced: a key written many times is recorded
//! once). A batch is built only when the writer is idle, so the reactor follows MongoDB's pace
//! and hot keys keep coalescing while it is busy. At a *take* the store's record and the
//! journal's are emptied: flushes and watched keys (large values with an operation log) are
//! written in the next batch, because their log entries describe exactly that moment; the other
//! keys go to a backlog, written in batches sized to the writer's measured pace from their
//! value at that later time (a snapshot, so reading it later is always right). A database the
//! store reports as changed as a whole (most of its keys changed) is walked with the SCAN
//! cursor instead, a batch at a time. The next take happens when the backlog is empty. Nothing here ever waits on MongoDB, except SAVE and
//! shutdown, which are meant to.

use super::document::{
    self, chunk_document, delete_db_statement, delete_generation_statement, delete_statement,
    encode_value, expiry_statement, functions_statement, is_large, key_document,
    log_meta_statement, move_instruction, op_documents, upsert_statement, IdRef, Meta,
    INLINE_BYTES, MAX_KEY_BYTES, MAX_SEQ,
};
use super::writer::{Batch, Coll, FromWriter, Kind, Phase, ToWriter};
use crate::clock::unix_ms;
use crate::commands::journal::JournalInterval;
use crate::commands::persistence::PersistenceStatus;
use crate::commands::Server;
use crate::store::{FastMap, FastSet, Key, Keyspace};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// An operation log may grow to the size of its snapshot (at least this much) before the
/// value is snapshotted again: each command's cost stays proportional to its own size, and a
/// rewrite of a value of N bytes happens only after N bytes of commands (amortized O(1)).
pub const LOG_MIN_BYTES: u64 = 4 * 1024 * 1024;
/// Operation-log documents per generation before a new snapshot (well under [`MAX_SEQ`]).
const LOG_MAX_DOCS: u64 = MAX_SEQ / 4;
/// Bounds of a backlog batch: keys (adapted to the writer's pace) and bytes.
const BATCH_KEYS_MIN: usize = 100;
const BATCH_KEYS_MAX: usize = 20_000;
const BATCH_BYTES: usize = 16 * 1024 * 1024;
/// A backlog batch should take the writer about this long.
const BATCH_TARGET: Duration = Duration::from_millis(500);

/// A watched key's state in MongoDB: its current generation and operation log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persisted {
    pub gen: i64,
    pub nops: u32,
    pub base_bytes: u64,
    pub log_bytes: u64,
}

struct InFlight {
    id: u64,
    keys: usize,
    /// The keys it writes, while the cold tier tracks which values MongoDB holds.
    written: Vec<(usize, Key)>,
    sent: Instant,
    /// Oldest change in the batch (Unix ms).
    since_ms: u64,
    /// Set when this batch is the last of a take: once it lands, everything changed before
    /// that take is in MongoDB (LASTSAVE).
    completes_take_ms: Option<u64>,
    /// The keys it stores under a new name (cold keys renamed): their values cannot be read
    /// back until it lands.
    renamed: Vec<(usize, Key)>,
}

/// Everything the reactor keeps for persistence.
pub struct Core {
    to_writer: Sender<ToWriter>,
    from_writer: Receiver<FromWriter>,
    /// Watched keys: the values kept in MongoDB as a generation plus an operation log.
    persisted: FastMap<(usize, Key), Persisted>,
    next_gen: i64,
    backlog: VecDeque<(usize, Key)>,
    /// Databases whose every key is to be written (most of their keys changed), with the
    /// SCAN cursor reached: walked a batch at a time, so no copy of all their keys is made.
    scans: VecDeque<(usize, u64)>,
    /// Oldest change among the backlog's keys, and when they were taken (Unix ms).
    backlog_since_ms: u64,
    backlog_take_ms: u64,
    /// When the store first had unrecorded changes since the last take (Unix ms).
    dirty_since_ms: Option<u64>,
    in_flight: Option<InFlight>,
    next_batch_id: u64,
    /// The hand-off deadline the writer was asked to wake the reactor at.
    wake_requested: Option<u64>,
    batch_keys: usize,
    /// BGSAVE asked for the next take now.
    force: bool,
    writer_exited: bool,
    warned: FastSet<String>,
    /// The figures INFO and LASTSAVE show.
    status: PersistenceStatus,
    /// Since when (Unix ms) writes fail, and how many attempts failed: the recovery is logged
    /// once, when a batch lands again.
    failing: Option<(u64, u64)>,
    /// The version of the function libraries last handed to the writer: when the server's
    /// moves past it, the next batch writes them all.
    stored_functions: u64,
    /// What the cold tier needs to know: which values MongoDB does not hold yet.
    clean: CleanTracking,
    /// The keys the batch being built stores under a new name (see [`InFlight::renamed`]).
    renaming: Vec<(usize, Key)>,
}

/// Which keys' current values MongoDB does not hold yet beyond the store's own record of
/// changes: those in the backlog and those in the batch in flight. Kept only while
/// `maxmemory-tiering` is on (a hash insert and remove per key written); until a moment when
/// nothing was pending after it started, no value counts as held.
#[derive(Default)]
struct CleanTracking {
    on: bool,
    /// Tracking covers every pending key (it was on when they were taken).
    complete: bool,
    /// Per database, the keys in the backlog or in flight.
    pending: Vec<FastSet<Key>>,
    /// Keys written into the batch being built.
    building: Vec<(usize, Key)>,
}

impl CleanTracking {
    fn note_pending(&mut self, db: usize, key: &[u8]) {
        if !self.on {
            return;
        }
        if self.pending.len() <= db {
            self.pending.resize_with(db + 1, FastSet::default);
        }
        if let Some(keys) = self.pending.get_mut(db) {
            keys.get_or_insert_with(key, |k| k.into());
        }
    }

    fn note_written(&mut self, db: usize, key: &[u8]) {
        if self.on {
            self.note_pending(db, key);
            self.building.push((db, Key::from(key)));
        }
    }

    fn landed(&mut self, written: Vec<(usize, Key)>) {
        for (db, key) in written {
            if let Some(keys) = self.pending.get_mut(db) {
                keys.remove(&key[..]);
            }
        }
    }

    fn is_pending(&self, db: usize, key: &[u8]) -> bool {
        self.pending.get(db).is_some_and(|keys| keys.contains(key))
    }
}

impl Core {
    pub fn new(
        to_writer: Sender<ToWriter>,
        from_writer: Receiver<FromWriter>,
        persisted: FastMap<(usize, Key), Persisted>,
        next_gen: i64,
        status: PersistenceStatus,
        stored_functions: u64,
    ) -> Self {
        Core {
            to_writer,
            from_writer,
            persisted,
            next_gen: next_gen.max(1),
            backlog: VecDeque::new(),
            scans: VecDeque::new(),
            backlog_since_ms: 0,
            backlog_take_ms: 0,
            dirty_since_ms: None,
            in_flight: None,
            next_batch_id: 1,
            wake_requested: None,
            batch_keys: 1000,
            force: false,
            writer_exited: false,
            warned: FastSet::default(),
            status,
            failing: None,
            stored_functions,
            clean: CleanTracking::default(),
            renaming: Vec::new(),
        }
    }

    /// Whether cold `key` of database `db` was renamed and MongoDB does not hold it under
    /// that name yet (the move is in the batch in flight). O(keys renamed in it).
    pub fn renaming(&self, db: usize, key: &[u8]) -> bool {
        self.in_flight.as_ref().is_some_and(|flight| {
            flight
                .renamed
                .iter()
                .any(|(d, k)| *d == db && &k[..] == key)
        })
    }

    /// True if MongoDB holds the current value of `key`, as far as persistence knows: it is
    /// neither waiting in the backlog nor in flight, and no walk of its database is pending.
    /// The store's record of changes is the caller's to check. False while the cold tier's
    /// tracking is off or incomplete. O(1) but for the databases being walked.
    pub fn holds_value(&self, db: usize, key: &[u8]) -> bool {
        self.clean.on
            && self.clean.complete
            && !self.writer_exited
            && !self.clean.is_pending(db, key)
            && !self.scans.iter().any(|(d, _)| *d == db)
    }

    /// Starts or stops tracking which values MongoDB holds (`maxmemory-tiering`), and marks
    /// the tracking complete once nothing taken before it started is pending.
    fn sync_clean_tracking(&mut self, on: bool) {
        if on != self.clean.on {
            self.clean = CleanTracking {
                on,
                ..Default::default()
            };
        }
        if on && !self.clean.complete && self.backlog_is_empty() && self.in_flight.is_none() {
            self.clean.complete = true;
        }
    }

    /// The version of the function libraries last handed to the writer.
    pub fn stored_functions(&self) -> u64 {
        self.stored_functions
    }

    /// Whether the function libraries changed since they were last handed to the writer.
    fn functions_changed(&self, server: &Server) -> bool {
        server.scripting.libraries.version() != self.stored_functions
    }

    /// Puts every function library into `batch` if they changed since the last hand-off.
    fn write_functions(&mut self, server: &Server, batch: &mut Batch) {
        if !self.functions_changed(server) {
            return;
        }
        let libraries = &server.scripting.libraries;
        batch.push(
            Phase::Keys,
            Coll::Functions,
            Kind::Update,
            functions_statement(&libraries.codes()),
        );
        self.stored_functions = libraries.version();
    }

    /// The figures INFO and LASTSAVE show.
    pub fn status(&self) -> &PersistenceStatus {
        &self.status
    }

    /// Queues the deletion of keys (expired ones found at start-up).
    pub fn queue_deletions(&mut self, keys: Vec<(usize, Key)>) {
        if keys.is_empty() {
            return;
        }
        let now = unix_ms();
        self.backlog.extend(keys);
        self.backlog_since_ms = now;
        self.backlog_take_ms = now;
    }

    /// Watched keys (for the journal at start-up).
    pub fn persisted_keys(&self) -> impl Iterator<Item = &(usize, Key)> {
        self.persisted.keys()
    }

    fn warn_once(&mut self, what: String) {
        if !self.warned.contains(&what) {
            log::warn!("{what}");
            self.warned.insert(what);
        }
    }

    /// Handles the writer's reports without blocking.
    pub fn drain(&mut self, ks: &Keyspace) {
        while let Ok(event) = self.from_writer.try_recv() {
            self.handle(event);
        }
        self.update_status(ks);
    }

    fn handle(&mut self, event: FromWriter) {
        let status = &mut self.status;
        match event {
            FromWriter::Landed { id, keys, dropped } => {
                let Some(mut flight) = self.in_flight.take_if(|f| f.id == id) else {
                    return;
                };
                self.clean.landed(std::mem::take(&mut flight.written));
                let elapsed = flight.sent.elapsed();
                let now = unix_ms();
                if let Some((since, attempts)) = self.failing.take() {
                    log::info!(
                        "MongoDB at {}: writes succeed again, after {attempts} failed attempts over {} s",
                        status.target,
                        now.saturating_sub(since).div_ceil(1000)
                    );
                }
                status.connected = true;
                status.last_flush_ok = true;
                status.last_flush_ms = now;
                status.keys_written += keys as u64;
                status.batches_written += 1;
                status.dropped_items += dropped;
                if let Some(take_ms) = flight.completes_take_ms {
                    status.last_save_unix = take_ms / 1000;
                    status.bgsave_in_progress = false;
                }
                // Size the next backlog batch to take about BATCH_TARGET at the pace measured.
                if flight.keys >= BATCH_KEYS_MIN {
                    let per_sec = flight.keys as f64 / elapsed.as_secs_f64().max(0.001);
                    let target = (per_sec * BATCH_TARGET.as_secs_f64()) as usize;
                    self.batch_keys = target.clamp(BATCH_KEYS_MIN, BATCH_KEYS_MAX);
                }
                log::debug!(
                    "persisted batch {id}: {keys} keys in {} ms",
                    elapsed.as_millis()
                );
            }
            FromWriter::Failed {
                id,
                error,
                unreachable,
            } => {
                if status.last_flush_ok || status.last_error != error {
                    log::warn!("MongoDB write of batch {id} failed, retrying: {error}");
                }
                let now = unix_ms();
                let (_, attempts) = self.failing.get_or_insert((now, 0));
                *attempts += 1;
                status.flush_errors += 1;
                status.last_flush_ok = false;
                status.last_error = error;
                status.last_error_ms = now;
                if unreachable {
                    status.connected = false;
                }
            }
            FromWriter::Exited => {
                self.writer_exited = true;
                self.in_flight = None;
            }
        }
    }

    fn update_status(&mut self, ks: &Keyspace) {
        self.status.backlog_keys = self.backlog_len();
        self.status.in_flight_keys = self.in_flight.as_ref().map_or(0, |f| f.keys as u64);
        let mut oldest = u64::MAX;
        if let Some(flight) = &self.in_flight {
            oldest = oldest.min(flight.since_ms);
        }
        if !self.backlog_is_empty() {
            oldest = oldest.min(self.backlog_since_ms);
        }
        if let Some(since) = self.dirty_since_ms {
            oldest = oldest.min(since);
        }
        self.status.oldest_unsaved_ms = if oldest == u64::MAX { 0 } else { oldest };
        if oldest == u64::MAX && ks.pending_changes() == 0 && !self.force {
            self.status.bgsave_in_progress = false;
        }
    }

    /// Asks for the next take at once (the cold tier ran short of values it may drop).
    pub fn request_flush(&mut self) {
        self.force = true;
    }

    /// Asks for the next take at once (BGSAVE).
    pub fn request_force(&mut self) {
        self.force = true;
        self.status.bgsave_in_progress = true;
    }

    /// Hands a batch to the writer if it is idle and one is due. Called before every sleep of
    /// the reactor; cheap when there is nothing to do.
    pub fn pump(&mut self, ks: &mut Keyspace, server: &mut Server) {
        // The reactor set the keyspace's clock at the start of this turn.
        let now = ks.now_ms();
        self.sync_clean_tracking(server.config.maxmemory_tiering);
        let pending = ks.pending_changes();
        // A change's wait starts now even if a batch is in flight (for the lag and the
        // interval).
        if pending > 0 && self.dirty_since_ms.is_none() {
            self.dirty_since_ms = Some(now);
        }
        self.drain(ks);
        if self.in_flight.is_some() || self.writer_exited {
            return;
        }
        let mut batch = Batch::new(self.next_batch_id);
        // Function libraries change rarely and alone: written at once, not after the interval.
        self.write_functions(server, &mut batch);
        let mut completes_take = None;
        let mut since = self.backlog_since_ms;
        if self.backlog_is_empty() {
            if pending == 0 {
                self.force = false;
                if !batch.is_empty() {
                    self.send(batch, now, Some(now));
                }
                self.update_status(ks);
                return;
            }
            let dirty_since = self.dirty_since_ms.unwrap_or(now);
            let due = dirty_since.saturating_add(server.config.persist_interval_ms);
            if !self.force && now < due {
                self.request_wake(due);
                if !batch.is_empty() {
                    self.send(batch, now, None);
                }
                return;
            }
            self.force = false;
            self.take(ks, server, &mut batch);
            since = dirty_since;
            self.backlog_since_ms = dirty_since;
            self.backlog_take_ms = now;
            if self.backlog_is_empty() {
                completes_take = Some(now);
            }
        }
        if !self.backlog_is_empty() {
            self.fill_from_backlog(ks, server, &mut batch);
            if self.backlog_is_empty() {
                completes_take = Some(self.backlog_take_ms);
            }
        }
        if batch.is_empty() {
            if let Some(take_ms) = completes_take {
                self.status.last_save_unix = take_ms / 1000;
            }
            self.update_status(ks);
            return;
        }
        self.send(batch, since, completes_take);
        self.update_status(ks);
    }

    fn request_wake(&mut self, due_ms: u64) {
        if self.wake_requested == Some(due_ms) {
            return;
        }
        self.wake_requested = Some(due_ms);
        let at = Instant::now() + Duration::from_millis(due_ms.saturating_sub(unix_ms()));
        // A full or closed channel only delays the hand-off to the reactor's next timed turn.
        let _ = self.to_writer.try_send(ToWriter::WakeAt(at));
    }

    fn send(&mut self, batch: Batch, since_ms: u64, completes_take_ms: Option<u64>) {
        let id = batch.id;
        let keys = batch.keys;
        self.next_batch_id += 1;
        match self.to_writer.try_send(ToWriter::Batch(batch)) {
            Ok(()) => {
                self.in_flight = Some(InFlight {
                    id,
                    keys,
                    written: std::mem::take(&mut self.clean.building),
                    sent: Instant::now(),
                    since_ms,
                    completes_take_ms,
                    renamed: std::mem::take(&mut self.renaming),
                });
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                // The writer is gone (it exits only when told to): nothing can be saved now.
                self.warn_once(
                    "the MongoDB writer thread is not running: changes are no longer persisted"
                        .into(),
                );
                self.writer_exited = true;
            }
        }
    }

    /// Empties the store's and the journal's records: flushes and watched keys go into
    /// `batch`, the other keys to the backlog.
    fn take(&mut self, ks: &mut Keyspace, server: &mut Server, batch: &mut Batch) {
        let mut interval = match server.journal.as_mut() {
            Some(journal) => journal.take_interval(),
            None => JournalInterval::default(),
        };
        let changes = ks.take_changes();
        self.dirty_since_ms = None;
        self.wake_requested = None;
        for db in changes.flushed {
            for coll in [Coll::Keys, Coll::Chunks, Coll::Ops] {
                batch.push(Phase::Flush, coll, Kind::Delete, delete_db_statement(db));
            }
            let gone: Vec<(usize, Key)> = self
                .persisted
                .keys()
                .filter(|(d, _)| db.is_none_or(|flushed| *d == flushed))
                .cloned()
                .collect();
            for slot in gone {
                self.persisted.remove(&slot);
                if let Some(journal) = server.journal.as_mut() {
                    journal.unwatch(&slot.1);
                }
            }
        }
        self.move_cold(server, batch, changes.cold_moves);
        for slot in changes.keys {
            if !self.persisted.is_empty() && self.persisted.contains_key(&slot) {
                self.write_watched(ks, server, &mut interval, batch, slot);
            } else {
                self.clean.note_pending(slot.0, &slot.1);
                self.backlog.push_back(slot);
            }
        }
        for db in changes.whole {
            // Its watched keys changed only if the journal saw them change; the scan below
            // leaves them alone.
            let watched: Vec<(usize, Key)> = self
                .persisted
                .keys()
                .filter(|(d, key)| *d == db && interval.is_touched(db, key))
                .cloned()
                .collect();
            for slot in watched {
                self.write_watched(ks, server, &mut interval, batch, slot);
            }
            let start = ks.db(db).len() as u64;
            if start > 0 {
                self.scans.push_back((db, start));
            }
        }
    }

    /// RENAMEs of cold keys, in the order they ran: each destination's stored documents are
    /// to be those its value was stored in before this batch (in a chain a -> b -> c, a's),
    /// which the writer copies (see [`Kind::Move`]). The moves come before every key write
    /// of the take (phase `Data`): the keys' own writes (the source's deletion, the
    /// destination's current expiry or newer value) then apply on top, in this batch or a
    /// later one. A watched source's generation goes with it; a watched destination's old one
    /// is removed. O(moves^2), moves being few.
    fn move_cold(&mut self, server: &mut Server, batch: &mut Batch, moves: Vec<(usize, Key, Key)>) {
        // (database, destination, the name its value is stored under before this batch)
        let mut sources: Vec<(usize, Key, Key)> = Vec::new();
        for (db, from, to) in moves {
            let stored_as = match sources.iter().position(|(d, k, _)| *d == db && *k == from) {
                Some(at) => sources.swap_remove(at).2,
                None => from.clone(),
            };
            sources.retain(|(d, k, _)| !(*d == db && *k == to));
            if let Some(old) = self.persisted.remove(&(db, to.clone())) {
                for coll in [Coll::Chunks, Coll::Ops] {
                    batch.push(
                        Phase::Cleanup,
                        coll,
                        Kind::Delete,
                        delete_generation_statement(old.gen),
                    );
                }
                if let Some(journal) = server.journal.as_mut() {
                    journal.unwatch(&to);
                }
            }
            if let Some(state) = self.persisted.remove(&(db, from.clone())) {
                self.persisted.insert((db, to.clone()), state);
                if let Some(journal) = server.journal.as_mut() {
                    journal.unwatch(&from);
                    journal.watch(db, &to);
                }
            }
            sources.push((db, to, stored_as));
        }
        for (db, to, stored_as) in sources {
            if to != stored_as {
                batch.push(
                    Phase::Data,
                    Coll::Keys,
                    Kind::Move,
                    move_instruction(db, &stored_as, &to),
                );
                self.renaming.push((db, to));
            }
        }
    }

    /// Writes backlog keys into `batch`, up to the batch bounds.
    fn fill_from_backlog(&mut self, ks: &mut Keyspace, server: &mut Server, batch: &mut Batch) {
        let limit = self.batch_keys;
        while batch.keys < limit && batch.bytes() < BATCH_BYTES {
            if let Some(slot) = self.backlog.pop_front() {
                // Backlog keys are not watched, except expired ones queued at start-up.
                let watched = self.persisted.get(&slot).copied();
                self.write_current(ks, server, batch, slot.0, &slot.1, watched);
                continue;
            }
            let Some((db, cursor)) = self.scans.pop_front() else {
                break;
            };
            let mut keys = Vec::new();
            let next = ks
                .db(db)
                .scan(cursor, limit - batch.keys, |key, _| keys.push(key.clone()));
            for key in keys {
                // Watched keys were written at the take, from the journal.
                let slot = (db, key);
                if !self.persisted.contains_key(&slot) {
                    self.write_current(ks, server, batch, slot.0, &slot.1, None);
                }
            }
            if next != 0 {
                self.scans.push_front((db, next));
            }
        }
    }

    fn backlog_is_empty(&self) -> bool {
        self.backlog.is_empty() && self.scans.is_empty()
    }

    /// Keys waiting in the backlog (a database walk counts the positions it has left). O(dbs).
    fn backlog_len(&self) -> u64 {
        self.backlog.len() as u64 + self.scans.iter().map(|(_, cursor)| cursor).sum::<u64>()
    }

    /// A watched key: append its journaled commands to its operation log when they explain
    /// every change and the log is not due for compaction; otherwise a new snapshot.
    fn write_watched(
        &mut self,
        ks: &mut Keyspace,
        server: &mut Server,
        interval: &mut JournalInterval,
        batch: &mut Batch,
        slot: (usize, Key),
    ) {
        let Some(state) = self.persisted.get(&slot).copied() else {
            return;
        };
        let (db, key) = slot;
        let clean = interval.take_clean(db, &key);
        let mut dbm = ks.db(db);
        let exp = dbm.expire_at(&key);
        let appendable = match dbm.lookup_write(&key) {
            None => false,
            Some(value) => is_large(value),
        };
        if let (true, Some(ops)) = (appendable, clean) {
            self.clean.note_written(db, &key);
            if ops.count == 0 {
                // Only the expiry changed.
                batch.push(
                    Phase::Keys,
                    Coll::Keys,
                    Kind::Update,
                    log_meta_statement(db, &key, state.nops, exp),
                );
                batch.keys += 1;
                return;
            }
            let commands = ops.commands();
            let (docs, size) = op_documents(db, state.gen, state.nops as u64, &commands);
            let nops = state.nops as u64 + docs.len() as u64;
            let log_bytes = state.log_bytes + size as u64;
            if nops <= LOG_MAX_DOCS && log_bytes <= state.base_bytes.max(LOG_MIN_BYTES) {
                for doc in docs {
                    batch.push(
                        Phase::Data,
                        Coll::Ops,
                        Kind::Update,
                        upsert_statement(IdRef::Int(doc_id(&doc)), &doc),
                    );
                }
                batch.push(
                    Phase::Keys,
                    Coll::Keys,
                    Kind::Update,
                    log_meta_statement(db, &key, nops as u32, exp),
                );
                batch.keys += 1;
                self.status.log_appends += 1;
                self.persisted.insert(
                    (db, key),
                    Persisted {
                        nops: nops as u32,
                        log_bytes,
                        ..state
                    },
                );
                return;
            }
        }
        self.write_current(ks, server, batch, db, &key, Some(state));
    }

    /// Writes `key`'s current value as a snapshot (or its deletion). `watched` is its state
    /// if it is a watched key.
    fn write_current(
        &mut self,
        ks: &mut Keyspace,
        server: &mut Server,
        batch: &mut Batch,
        db: usize,
        key: &[u8],
        watched: Option<Persisted>,
    ) {
        let kid = document::key_id(db, key);
        self.clean.note_written(db, key);
        let mut dbm = ks.db(db);
        let exp = dbm.expire_at(key);
        let Some(value) = dbm.lookup_write(key) else {
            batch.push(
                Phase::Keys,
                Coll::Keys,
                Kind::Delete,
                delete_statement(IdRef::Binary(&kid)),
            );
            batch.keys += 1;
            if let Some(state) = watched {
                self.forget(server, db, key, state.gen, batch);
            }
            return;
        };
        if value.is_cold() {
            // Its value is MongoDB's already (only clean values are dropped): only the
            // expiry may have changed.
            batch.push(
                Phase::Keys,
                Coll::Keys,
                Kind::Update,
                expiry_statement(db, key, exp),
            );
            batch.keys += 1;
            return;
        }
        if key.len() > MAX_KEY_BYTES {
            self.warn_once(format!(
                "a key of {} bytes is longer than the {} bytes persistence supports; it lives in memory only",
                key.len(),
                MAX_KEY_BYTES
            ));
            return;
        }
        let large = is_large(value);
        let encoded = encode_value(value);
        let inline = encoded.bytes <= INLINE_BYTES && encoded.chunks.len() == 1;
        let gen = if large || !inline { self.new_gen() } else { 0 };
        let chunks = if inline {
            0
        } else {
            encoded.chunks.len() as u32
        };
        if !inline {
            for (index, items) in encoded.chunks.iter().enumerate() {
                let doc = chunk_document(db, gen, index as u64, items);
                batch.push(
                    Phase::Data,
                    Coll::Chunks,
                    Kind::Update,
                    upsert_statement(IdRef::Int(document::seq_id(gen, index as u64)), &doc),
                );
            }
        }
        let meta = Meta {
            db,
            key,
            type_name: encoded.type_name,
            exp,
            gen,
            chunks,
            nops: 0,
            bytes: encoded.bytes as u64,
        };
        let doc = key_document(
            &meta,
            encoded.header.as_deref(),
            if inline {
                encoded.chunks.first().map(Vec::as_slice)
            } else {
                None
            },
        );
        batch.push(
            Phase::Keys,
            Coll::Keys,
            Kind::Update,
            upsert_statement(IdRef::Binary(&kid), &doc),
        );
        batch.keys += 1;
        if gen != 0 {
            self.status.snapshots_written += 1;
        }
        if let Some(old) = watched {
            for coll in [Coll::Chunks, Coll::Ops] {
                batch.push(
                    Phase::Cleanup,
                    coll,
                    Kind::Delete,
                    delete_generation_statement(old.gen),
                );
            }
        }
        if gen != 0 {
            self.persisted.insert(
                (db, Key::from(key)),
                Persisted {
                    gen,
                    nops: 0,
                    base_bytes: encoded.bytes as u64,
                    log_bytes: 0,
                },
            );
            if watched.is_none() {
                if let Some(journal) = server.journal.as_mut() {
                    journal.watch(db, key);
                }
            }
        } else if watched.is_some() {
            self.persisted.remove(&(db, Key::from(key)));
            if let Some(journal) = server.journal.as_mut() {
                journal.unwatch(key);
            }
        }
    }

    /// Removes a watched key's generation after its deletion.
    fn forget(&mut self, server: &mut Server, db: usize, key: &[u8], gen: i64, batch: &mut Batch) {
        for coll in [Coll::Chunks, Coll::Ops] {
            batch.push(
                Phase::Cleanup,
                coll,
                Kind::Delete,
                delete_generation_statement(gen),
            );
        }
        self.persisted.remove(&(db, Key::from(key)));
        if let Some(journal) = server.journal.as_mut() {
            journal.unwatch(key);
        }
    }

    fn new_gen(&mut self) -> i64 {
        let gen = self.next_gen;
        self.next_gen += 1;
        gen
    }

    /// Hands over every pending change and waits until MongoDB acknowledged all of them, at
    /// most `timeout`. Blocks the reactor (SAVE, shutdown).
    pub fn save_blocking(
        &mut self,
        ks: &mut Keyspace,
        server: &mut Server,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            while self.in_flight.is_some() {
                if self.writer_exited {
                    return Err("the MongoDB writer is not running".into());
                }
                let left = deadline.saturating_duration_since(Instant::now());
                match self.from_writer.recv_timeout(left) {
                    Ok(event) => self.handle(event),
                    Err(RecvTimeoutError::Timeout) => {
                        self.update_status(ks);
                        let last = &self.status.last_error;
                        return Err(format!(
                            "MongoDB did not acknowledge every change within {} s{}",
                            timeout.as_secs(),
                            if last.is_empty() {
                                String::new()
                            } else {
                                format!(" (last error: {last})")
                            }
                        ));
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        self.writer_exited = true;
                        return Err("the MongoDB writer is not running".into());
                    }
                }
            }
            if self.writer_exited {
                return Err("the MongoDB writer is not running".into());
            }
            if self.backlog_is_empty()
                && ks.pending_changes() == 0
                && !self.functions_changed(server)
            {
                self.update_status(ks);
                return Ok(());
            }
            self.force = true;
            self.pump(ks, server);
            if self.in_flight.is_none()
                && self.backlog_is_empty()
                && ks.pending_changes() == 0
                && !self.functions_changed(server)
            {
                return Ok(());
            }
        }
    }

    /// Tells the writer to stop and waits (bounded) until it did.
    pub fn stop_writer(&mut self, wait: Duration) {
        let _ = self.to_writer.send(ToWriter::Stop);
        let deadline = Instant::now() + wait;
        if !self.writer_exited {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.from_writer.recv_timeout(left) {
                    Ok(FromWriter::Exited) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        self.writer_exited = true;
    }

    /// Changes not yet acknowledged: store, backlog and in flight.
    pub fn unsaved(&self, ks: &Keyspace) -> usize {
        let backlog = self.backlog_len();
        ks.pending_changes() + backlog as usize + self.in_flight.as_ref().map_or(0, |f| f.keys)
    }
}

/// The `_id` of a document built by [`op_documents`] (its first field).
fn doc_id(doc: &[u8]) -> i64 {
    // Layout: size (4), type 0x12 (1), "_id\0" (4), then the int64.
    doc.get(9..17)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(i64::from_le_bytes)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_document_ids_are_read_back() {
        let commands = vec![vec![&b"append"[..], b"k", b"x"]];
        let (docs, _) = op_documents(0, 7, 3, &commands);
        assert_eq!(doc_id(&docs[0]), document::seq_id(7, 3));
    }
}
