//! The writer thread: owns the MongoDB client, writes each batch with batched `update`
//! (upserts) and `delete` commands (MongoDB 4.4+; not the 8.0-only client `bulkWrite`), checks
//! per-item write errors, and retries a failed batch with backoff until it lands. It reports
//! to the reactor over a channel and wakes it.

use super::document::{
    delete_statement, key_id, moved_key_document, parse_move_instruction, upsert_statement, Bson,
    IdRef,
};
use super::reason::{bounded, brief};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary};
use mongodb::bson::{Document, RawDocumentBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Wakes the reactor (given by the network layer as a plain closure).
pub type WakeFn = Box<dyn Fn() + Send + Sync>;
/// Set once the reactor exists; the writer may start before it.
pub type WakeSlot = Arc<OnceLock<WakeFn>>;

/// Largest command document sent (MongoDB accepts 16 MB plus headroom).
const COMMAND_BYTES: usize = 12 * 1024 * 1024;
/// Most statements in one command (MongoDB's `maxWriteBatchSize` is 100,000).
const COMMAND_STATEMENTS: usize = 10_000;
/// Backoff between attempts of a failing batch: doubles from the first to the last.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// An item rejected by the server this many times in a row (a per-item write error, not a
/// connection problem) is given up, logged and counted, so one bad document cannot stop
/// persistence forever.
const ITEM_ATTEMPTS: u32 = 5;

/// The collections Reddish writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coll {
    Keys,
    Chunks,
    Ops,
    /// One document, `{_id: "writer", batch, at}`: the last batch written.
    Status,
    /// One document, `{_id: "libraries", codes: [...]}`: every function library's code.
    Functions,
}

impl Coll {
    pub fn name(self) -> &'static str {
        match self {
            Coll::Keys => "keys",
            Coll::Chunks => "chunks",
            Coll::Ops => "ops",
            Coll::Status => "status",
            Coll::Functions => "functions",
        }
    }
}

/// Whether a statement belongs in an `update` or a `delete` command, or is a move the
/// writer turns into such statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Update,
    Delete,
    /// A stored key to store under another name (RENAME of a cold key), from
    /// [`super::document::move_instruction`]. The writer reads every source document of the
    /// command first and only then writes: the moves of one batch name each destination once
    /// and read what earlier batches stored (a chain a -> b -> c arrives as a -> c), so a
    /// swap of two names works. The statements it reads into replace it, so a batch written
    /// again after a failure writes the same documents, whatever it wrote to the sources.
    Move,
}

/// One write statement (an element of `updates` or `deletes`), already encoded.
#[derive(Debug)]
pub struct Stmt {
    pub coll: Coll,
    pub kind: Kind,
    pub bytes: Vec<u8>,
}

/// The order statements must be applied in: flushes first (every key written after a flush
/// was written after it), then chunks and operation logs of new generations, then the key
/// documents that make them current, then the removal of generations no longer referenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Flush = 0,
    Data = 1,
    Keys = 2,
    Cleanup = 3,
}

const PHASES: usize = 4;

/// Everything one hand-off writes.
#[derive(Debug, Default)]
pub struct Batch {
    pub id: u64,
    /// Keys this batch persists (for the figures).
    pub keys: usize,
    phases: [Vec<Stmt>; PHASES],
    bytes: usize,
}

impl Batch {
    pub fn new(id: u64) -> Self {
        Batch {
            id,
            ..Default::default()
        }
    }

    pub fn push(&mut self, phase: Phase, coll: Coll, kind: Kind, bytes: Vec<u8>) {
        self.bytes += bytes.len();
        self.phases[phase as usize].push(Stmt { coll, kind, bytes });
    }

    /// Encoded size of all statements.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.phases.iter().all(Vec::is_empty)
    }

    /// Statements grouped into commands, in application order.
    fn into_commands(self) -> Vec<Command> {
        let mut commands = Vec::new();
        for phase in self.phases {
            // Within a phase statements are independent: group them by collection and kind.
            let mut groups: Vec<Command> = Vec::new();
            for stmt in phase {
                let group = match groups
                    .iter_mut()
                    .rev()
                    .find(|c| c.coll == stmt.coll && c.kind == stmt.kind)
                {
                    // Moves stay together: they must all be read before any is written.
                    Some(group)
                        if stmt.kind == Kind::Move
                            || (group.bytes + stmt.bytes.len() <= COMMAND_BYTES
                                && group.stmts.len() < COMMAND_STATEMENTS) =>
                    {
                        group
                    }
                    _ => {
                        groups.push(Command {
                            coll: stmt.coll,
                            kind: stmt.kind,
                            stmts: Vec::new(),
                            bytes: 0,
                        });
                        match groups.last_mut() {
                            Some(group) => group,
                            None => continue,
                        }
                    }
                };
                group.bytes += stmt.bytes.len();
                group.stmts.push(stmt.bytes);
            }
            commands.extend(groups);
        }
        commands
    }
}

/// One `update` or `delete` command.
struct Command {
    coll: Coll,
    kind: Kind,
    stmts: Vec<Vec<u8>>,
    bytes: usize,
}

impl Command {
    fn document(&self, write_concern: Option<&[u8]>) -> Result<RawDocumentBuf, String> {
        let mut doc = Bson::new();
        let (verb, list) = match self.kind {
            Kind::Update => ("update", "updates"),
            Kind::Delete => ("delete", "deletes"),
            Kind::Move => return Err("a move was sent unread".into()),
        };
        doc.str(Some(verb), self.coll.name());
        doc.begin_array(Some(list));
        for stmt in &self.stmts {
            doc.doc(None, stmt);
        }
        doc.end();
        doc.bool(Some("ordered"), true);
        if let Some(wc) = write_concern {
            doc.doc(Some("writeConcern"), wc);
        }
        RawDocumentBuf::from_bytes(doc.finish()).map_err(|e| format!("building a command: {e}"))
    }
}

/// Messages to the writer.
pub enum ToWriter {
    Batch(Batch),
    /// Wake the reactor at this instant (its next hand-off is due then).
    WakeAt(Instant),
    Stop,
}

/// Reports from the writer.
#[derive(Debug)]
pub enum FromWriter {
    /// Batch `id` is acknowledged by MongoDB.
    Landed {
        id: u64,
        keys: usize,
        /// Statements given up after repeated per-item errors.
        dropped: u64,
    },
    /// An attempt at batch `id` failed; it will be retried.
    Failed {
        id: u64,
        error: String,
        /// The server was not reachable (as opposed to rejecting a statement).
        unreachable: bool,
    },
    /// The writer stopped.
    Exited,
}

/// Why an attempt failed.
enum Failure {
    /// Statement `index` of the command was rejected.
    Item {
        index: usize,
        message: String,
    },
    Other {
        message: String,
        unreachable: bool,
    },
}

/// The writer's side of the channels, and its client.
pub struct Writer {
    pub db: mongodb::sync::Database,
    /// Write concern sent with every command: the URI's, if it sets one.
    pub write_concern: Option<Vec<u8>>,
    /// Write concern of the journaled write that ends each batch, `None` when the URI chose
    /// journaling itself (see [`Writer::new`]).
    pub barrier_concern: Option<Vec<u8>>,
    pub from_reactor: Receiver<ToWriter>,
    pub to_reactor: Sender<FromWriter>,
    pub wake: WakeSlot,
}

impl Writer {
    /// A writer on `db`. An acknowledged write (`w:1`, MongoDB's default) can still be lost
    /// if MongoDB crashes before its journal reaches the disk; `j:true` on every statement
    /// makes each wait for the disk. Instead each batch ends with one small journaled write:
    /// the journal is sequential, so once that write is durable every earlier write of the
    /// batch is too, and the batch counts as landed only then. A URI that sets `journal`
    /// itself gets exactly what it asked for on every command, without the extra write.
    pub fn new(
        db: mongodb::sync::Database,
        uri_concern: Option<mongodb::options::WriteConcern>,
        from_reactor: Receiver<ToWriter>,
        to_reactor: Sender<FromWriter>,
        wake: WakeSlot,
    ) -> Writer {
        let encode = |wc: &mongodb::options::WriteConcern| mongodb::bson::to_vec(wc).ok();
        let write_concern = uri_concern.as_ref().and_then(encode);
        let barrier_concern = match &uri_concern {
            Some(wc) if wc.journal.is_some() => None,
            other => {
                let mut wc = other.clone().unwrap_or_default();
                wc.journal = Some(true);
                encode(&wc)
            }
        };
        Writer {
            db,
            write_concern,
            barrier_concern,
            from_reactor,
            to_reactor,
            wake,
        }
    }

    fn wake(&self) {
        if let Some(wake) = self.wake.get() {
            wake();
        }
    }

    fn report(&self, event: FromWriter) {
        // The reactor gone means the process is exiting: nothing to report to.
        let _ = self.to_reactor.send(event);
        self.wake();
    }

    /// The thread's body: serves messages until Stop or until the reactor hangs up.
    pub fn run(self) {
        let mut wake_at: Option<Instant> = None;
        loop {
            let message = match wake_at {
                Some(at) => match self.from_reactor.recv_deadline(at) {
                    Ok(message) => Some(message),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match self.from_reactor.recv() {
                    Ok(message) => Some(message),
                    Err(_) => break,
                },
            };
            match message {
                None => {
                    wake_at = None;
                    self.wake();
                }
                Some(ToWriter::WakeAt(at)) => wake_at = Some(at),
                Some(ToWriter::Batch(batch)) => {
                    if !self.write(batch) {
                        break;
                    }
                }
                Some(ToWriter::Stop) => break,
            }
        }
        self.report(FromWriter::Exited);
    }

    /// Writes a batch until it lands. False when told to stop meanwhile.
    fn write(&self, batch: Batch) -> bool {
        let id = batch.id;
        let keys = batch.keys;
        let mut commands = batch.into_commands();
        let mut next = 0;
        let mut backoff = BACKOFF_FIRST;
        let mut dropped = 0u64;
        // (command, statement, consecutive rejections) of the statement failing lately.
        let mut rejected: Option<(usize, usize, u32)> = None;
        // The barrier (see `new`) comes last; if it fails, the whole batch is written again
        // (every statement is idempotent), since what came before may not be durable.
        if let Some(barrier) = self.barrier_command(id) {
            commands.push(barrier);
        }
        let has_barrier = self.barrier_concern.is_some();
        while next < commands.len() {
            let command = &mut commands[next];
            if command.stmts.is_empty() {
                next += 1;
                continue;
            }
            let attempt = if command.kind == Kind::Move {
                match self.read_moves(command) {
                    Ok(statements) => {
                        commands.splice(next..=next, statements);
                        continue;
                    }
                    Err(failure) => Err(failure),
                }
            } else {
                self.execute(command)
            };
            match attempt {
                Ok(()) => {
                    next += 1;
                    backoff = BACKOFF_FIRST;
                    continue;
                }
                Err(Failure::Item { index, message }) => {
                    let count = match rejected {
                        Some((c, s, n)) if c == next && s == index => n + 1,
                        _ => 1,
                    };
                    rejected = Some((next, index, count));
                    if count >= ITEM_ATTEMPTS && index < command.stmts.len() {
                        log::error!(
                            "MongoDB rejected a {} statement on '{}' {count} times, giving it up: {message}",
                            match command.kind {
                                Kind::Update => "update",
                                Kind::Delete => "delete",
                                Kind::Move => "move",
                            },
                            command.coll.name()
                        );
                        command.stmts.remove(index);
                        dropped += 1;
                        rejected = None;
                        continue;
                    }
                    self.report(FromWriter::Failed {
                        id,
                        error: message,
                        unreachable: false,
                    });
                }
                Err(Failure::Other {
                    message,
                    unreachable,
                }) => {
                    // The barrier is the last command.
                    if has_barrier && next + 1 == commands.len() {
                        next = 0;
                    }
                    self.report(FromWriter::Failed {
                        id,
                        error: message,
                        unreachable,
                    });
                }
            }
            // Wait before the next attempt, but obey Stop at once.
            match self.from_reactor.recv_timeout(backoff) {
                Ok(ToWriter::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        // Freed before the reactor hears of it: once SAVE (or a test) sees the batch landed,
        // `used_memory` no longer holds its documents, which would otherwise be counted
        // against `maxmemory` for an instant after they stopped mattering.
        drop(commands);
        self.report(FromWriter::Landed { id, keys, dropped });
        true
    }

    /// The journaled write that ends a batch: records the last batch written.
    fn barrier_command(&self, id: u64) -> Option<Command> {
        self.barrier_concern.as_ref()?;
        let mut doc = Bson::new();
        doc.str(Some("_id"), "writer")
            .i64(Some("batch"), id as i64)
            .i64(Some("at"), crate::clock::unix_ms() as i64);
        let doc = doc.finish();
        let mut stmt = Bson::new();
        stmt.begin_doc(Some("q")).str(Some("_id"), "writer").end();
        stmt.doc(Some("u"), &doc).bool(Some("upsert"), true);
        let stmt = stmt.finish();
        Some(Command {
            coll: Coll::Status,
            kind: Kind::Update,
            bytes: stmt.len(),
            stmts: vec![stmt],
        })
    }

    /// Reads the source document of every move in `command` and returns the commands that
    /// store each under its new name (see [`Kind::Move`]). A source MongoDB does not have
    /// (its value was lost) leaves its destination without a document, so that loading it
    /// reports the loss rather than an older value.
    fn read_moves(&self, command: &Command) -> Result<Vec<Command>, Failure> {
        let keys = self.db.collection::<RawDocumentBuf>("keys");
        let mut moves = Vec::with_capacity(command.stmts.len());
        for instruction in &command.stmts {
            let moved = RawDocumentBuf::from_bytes(instruction.clone())
                .map_err(|e| e.to_string())
                .and_then(|doc| {
                    parse_move_instruction(&doc)
                        .map(|(db, from, to)| (db, from.to_vec(), to.to_vec()))
                        .map_err(|e| e.to_string())
                });
            match moved {
                Ok(moved) => moves.push(moved),
                Err(e) => log::error!("a damaged move instruction was given up: {e}"),
            }
        }
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for (db, from, to) in &moves {
            let (db, from, to) = (*db, from, to);
            // The source goes with the move (unless another move fills it), so that MongoDB
            // never holds the value under both names.
            if !moves.iter().any(|(d, _, other)| *d == db && other == from) {
                deletes.push(delete_statement(IdRef::Binary(&key_id(db, from))));
            }
            let id = Binary {
                subtype: BinarySubtype::Generic,
                bytes: key_id(db, from),
            };
            let found = keys
                .find_one(doc! {"_id": id})
                .run()
                .map_err(|e| Failure::Other {
                    unreachable: is_unreachable(&e),
                    message: brief(&e),
                })?;
            let to_id = key_id(db, to);
            match found
                .as_deref()
                .map(|stored| moved_key_document(stored, to))
            {
                Some(Ok(document)) => {
                    upserts.push(upsert_statement(IdRef::Binary(&to_id), &document));
                }
                Some(Err(e)) => {
                    log::error!(
                        "renaming key '{}' of database {db}: its document is damaged ({e})",
                        String::from_utf8_lossy(from)
                    );
                    deletes.push(delete_statement(IdRef::Binary(&to_id)));
                }
                None => {
                    log::error!(
                        "renaming key '{}' of database {db}: MongoDB has no document for it",
                        String::from_utf8_lossy(from)
                    );
                    deletes.push(delete_statement(IdRef::Binary(&to_id)));
                }
            }
        }
        let mut batch = Batch::default();
        for upsert in upserts {
            batch.push(Phase::Data, command.coll, Kind::Update, upsert);
        }
        for delete in deletes {
            batch.push(Phase::Data, command.coll, Kind::Delete, delete);
        }
        Ok(batch.into_commands())
    }

    fn execute(&self, command: &Command) -> Result<(), Failure> {
        let concern = match command.coll {
            Coll::Status => self.barrier_concern.as_deref(),
            _ => self.write_concern.as_deref(),
        };
        let doc = command
            .document(concern)
            .map_err(|message| Failure::Other {
                message,
                unreachable: false,
            })?;
        let reply = self
            .db
            .run_raw_command(doc)
            .run()
            .map_err(|e| Failure::Other {
                unreachable: is_unreachable(&e),
                message: brief(&e),
            })?;
        check_reply(&reply)
    }
}

/// Codes of a server that is shutting down (InterruptedAtShutdown, ShutdownInProgress): it
/// will not be reachable in a moment.
const SHUTDOWN_CODES: [i32; 2] = [11600, 91];

/// Connection-level errors, as opposed to the server refusing a command.
fn is_unreachable(error: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    match &*error.kind {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => true,
        ErrorKind::Command(command) => SHUTDOWN_CODES.contains(&command.code),
        _ => false,
    }
}

/// Checks an `update`/`delete` reply for per-item and write-concern errors.
fn check_reply(reply: &Document) -> Result<(), Failure> {
    if let Ok(errors) = reply.get_array("writeErrors") {
        if let Some(first) = errors.iter().find_map(|e| e.as_document()) {
            let index = match first.get("index") {
                Some(mongodb::bson::Bson::Int32(i)) => *i as usize,
                Some(mongodb::bson::Bson::Int64(i)) => *i as usize,
                _ => 0,
            };
            let code = first.get_i32("code").unwrap_or(0);
            let text = first.get_str("errmsg").unwrap_or("no message");
            return Err(Failure::Item {
                index,
                message: bounded(&format!("write error {code}: {text}")),
            });
        }
    }
    if let Ok(error) = reply.get_document("writeConcernError") {
        let text = error.get_str("errmsg").unwrap_or("no message");
        return Err(Failure::Other {
            message: bounded(&format!("write concern error: {text}")),
            unreachable: false,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_follow_phases_and_size_limits() {
        let mut batch = Batch::new(1);
        batch.push(Phase::Cleanup, Coll::Chunks, Kind::Delete, vec![1]);
        batch.push(Phase::Keys, Coll::Keys, Kind::Update, vec![2]);
        batch.push(Phase::Flush, Coll::Keys, Kind::Delete, vec![3]);
        batch.push(Phase::Keys, Coll::Keys, Kind::Delete, vec![4]);
        batch.push(Phase::Keys, Coll::Keys, Kind::Update, vec![5]);
        for _ in 0..4 {
            batch.push(
                Phase::Data,
                Coll::Chunks,
                Kind::Update,
                vec![0; COMMAND_BYTES / 3],
            );
        }
        let commands = batch.into_commands();
        let shape: Vec<(Coll, Kind, usize)> = commands
            .iter()
            .map(|c| (c.coll, c.kind, c.stmts.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Coll::Keys, Kind::Delete, 1),
                (Coll::Chunks, Kind::Update, 3),
                (Coll::Chunks, Kind::Update, 1),
                (Coll::Keys, Kind::Update, 2),
                (Coll::Keys, Kind::Delete, 1),
                (Coll::Chunks, Kind::Delete, 1),
            ]
        );
        assert_eq!(commands[3].stmts, vec![vec![2], vec![5]]);
    }

    #[test]
    fn moves_stay_in_one_command() {
        let mut batch = Batch::new(1);
        for _ in 0..COMMAND_STATEMENTS + 5 {
            batch.push(Phase::Data, Coll::Keys, Kind::Move, vec![1]);
        }
        batch.push(Phase::Keys, Coll::Keys, Kind::Update, vec![2]);
        let shape: Vec<(Coll, Kind, usize)> = batch
            .into_commands()
            .iter()
            .map(|c| (c.coll, c.kind, c.stmts.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Coll::Keys, Kind::Move, COMMAND_STATEMENTS + 5),
                (Coll::Keys, Kind::Update, 1),
            ]
        );
    }

    #[test]
    fn replies_with_write_errors_fail() {
        assert!(check_reply(&doc! {"ok": 1.0, "n": 3}).is_ok());
        let reply = doc! {"ok": 1.0, "writeErrors": [{"index": 2, "code": 2, "errmsg": "bad"}]};
        match check_reply(&reply) {
            Err(Failure::Item { index, message }) => {
                assert_eq!(index, 2);
                assert_eq!(message, "write error 2: bad");
            }
            _ => panic!("expected an item failure"),
        }
        let reply = doc! {"ok": 1.0, "writeConcernError": {"code": 64, "errmsg": "timeout"}};
        assert!(matches!(check_reply(&reply), Err(Failure::Other { .. })));
    }
}
