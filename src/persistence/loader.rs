//! The cold tier's reader: a thread of its own that reads the values of cold keys back from
//! MongoDB when commands need them (see `commands::tiering`). The reactor sends a request per
//! key and never waits; the reply comes back on a channel and the reactor is woken to put the
//! value back. A thread apart from the writer, so a load never queues behind a large batch of
//! writes. While MongoDB is unreachable a read is retried until the request's deadline, then
//! reported failed (the waiting clients get `-TRYAGAIN` at the same deadline).

use super::document::{key_id, parse_key_document};
use super::load::build_value_of;
use super::reason::brief;
use super::writer::WakeSlot;
use crate::clock::unix_ms;
use crate::commands::Server;
use crate::config::Config;
use crate::store::{Key, Keyspace, Value};
use crossbeam_channel::{Receiver, Sender};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, RawDocumentBuf};
use mongodb::sync::Database;
use std::time::{Duration, Instant};

/// Pause between attempts of a read that failed because MongoDB could not be reached.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A value to read.
pub struct LoadRequest {
    pub db: usize,
    pub key: Key,
    /// The epoch of the drop it answers (see `store::value::ColdValue`).
    pub epoch: u32,
    /// When to stop retrying.
    pub give_up: Instant,
}

pub enum ToLoader {
    Load(LoadRequest),
    Stop,
}

/// What a read found.
pub enum LoadOutcome {
    Value(Value),
    /// MongoDB has no document for the key.
    Missing,
    /// The read failed (the reason, for the log).
    Failed(String),
}

pub struct LoadReply {
    pub db: usize,
    pub key: Key,
    pub epoch: u32,
    pub outcome: LoadOutcome,
    /// From the request's arrival to the reply.
    pub took: Duration,
}

pub struct Loader {
    pub db: Database,
    pub requests: Receiver<ToLoader>,
    pub replies: Sender<LoadReply>,
    pub wake: WakeSlot,
    pub config: Config,
}

impl Loader {
    /// Serves requests until told to stop or the reactor's side is gone.
    pub fn run(self) {
        // Values are built, and operation logs replayed, in a keyspace and server of this
        // thread's own, in the configured encodings.
        let mut scratch = Keyspace::new(self.config.databases);
        scratch.set_encoding_limits(self.config.encoding_limits());
        let mut server = Server::new(self.config.clone(), unix_ms());
        while let Ok(ToLoader::Load(request)) = self.requests.recv() {
            let started = Instant::now();
            let outcome = self.read(&request, &mut scratch, &mut server);
            let reply = LoadReply {
                db: request.db,
                key: request.key,
                epoch: request.epoch,
                outcome,
                took: started.elapsed(),
            };
            if self.replies.send(reply).is_err() {
                return;
            }
            if let Some(wake) = self.wake.get() {
                wake();
            }
        }
    }

    /// Reads one value, retrying while MongoDB cannot be reached and the deadline allows.
    fn read(
        &self,
        request: &LoadRequest,
        scratch: &mut Keyspace,
        server: &mut Server,
    ) -> LoadOutcome {
        let id = Binary {
            subtype: BinarySubtype::Generic,
            bytes: key_id(request.db, &request.key),
        };
        let keys = self.db.collection::<RawDocumentBuf>("keys");
        loop {
            let found = keys.find_one(doc! {"_id": id.clone()}).run();
            let doc = match found {
                Ok(Some(doc)) => doc,
                Ok(None) => return LoadOutcome::Missing,
                Err(e) => {
                    if Instant::now() + RETRY_PAUSE >= request.give_up {
                        return LoadOutcome::Failed(format!("MongoDB unreachable: {}", brief(&e)));
                    }
                    std::thread::sleep(RETRY_PAUSE);
                    continue;
                }
            };
            let stored = match parse_key_document(&doc) {
                Ok(stored) => stored,
                Err(e) => return LoadOutcome::Failed(format!("damaged document: {e}")),
            };
            return match build_value_of(&self.db, &stored, scratch, server) {
                Ok(value) => LoadOutcome::Value(value),
                Err(e) => LoadOutcome::Failed(e),
            };
        }
    }
}
