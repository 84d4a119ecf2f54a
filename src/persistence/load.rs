//! Start-up: connect (retrying for a while), then load every key before the server serves.

use super::document::{
    chunk_items, decode_value, function_codes, gen_of, op_commands, parse_key_document, seq_id,
    ItemReader, StoredKey, FUNCTIONS_ID,
};
use super::handoff::Persisted;
use super::reason::brief;
use super::PersistenceError;
use crate::clock::unix_ms;
use crate::commands::Server;
use crate::config::Config;
use crate::store::{FastMap, FastSet, Key, Keyspace, Value};
use mongodb::bson::{doc, RawDocumentBuf};
use mongodb::options::{ClientOptions, WriteConcern};
use mongodb::sync::{Client, Database};
use std::time::{Duration, Instant};

/// How long start-up keeps trying to reach MongoDB before giving up.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The driver's connect timeout (also its heartbeats' socket timeout), unless the URI sets
/// its own: long enough that a busy MongoDB, slow to answer, is not taken for a lost one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an operation waits for a reachable server, unless the URI sets its own. The
/// driver learns within milliseconds that a server refuses connections, but an operation
/// still waits this long before it fails: short, so that each start-up attempt is reported at
/// once and the writer's first failed write tells INFO the connection is lost. A slow first
/// handshake is not cut short by it: the same client keeps connecting across attempts.
const SELECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// Start-up attempts are this far apart.
const ATTEMPT_INTERVAL: Duration = Duration::from_secs(1);
/// How often a large load logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What start-up found in MongoDB, for the writer and the reactor.
pub struct Connected {
    pub client: Client,
    pub db: Database,
    /// The URI's write concern (`w`, `journal`, `wtimeoutMS`), if it sets one.
    pub write_concern: Option<WriteConcern>,
    /// Watched keys (stored as a generation with chunks or an operation log).
    pub persisted: FastMap<(usize, Key), Persisted>,
    /// Keys dropped because they had expired; their documents are deleted by the first batches.
    pub expired: Vec<(usize, Key)>,
    pub next_gen: i64,
    pub loaded_keys: u64,
    pub load_ms: u64,
    pub target: String,
    pub database: String,
    /// The function libraries' code, for the server to load before it serves.
    pub function_codes: Vec<Vec<u8>>,
}

/// The URI without credentials or options, for logs and INFO.
pub fn redact(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("mongodb", uri));
    let rest = rest.split(['/', '?']).next().unwrap_or_default();
    let hosts = match rest.rsplit_once('@') {
        Some((user_info, hosts)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{user}:***@{hosts}")
        }
        None => rest.to_string(),
    };
    format!("{scheme}://{hosts}")
}

/// A client for the URI, and the write concern it sets, if any.
type Opened = (Client, Option<WriteConcern>);

/// Parses the URI and reaches the server, retrying until [`STARTUP_TIMEOUT`]. Each failed
/// attempt is logged as soon as it fails, with the driver's reason in brief.
fn connect(uri: &str, target: &str) -> Result<Opened, PersistenceError> {
    let started = Instant::now();
    let mut opened = None;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let attempt_started = Instant::now();
        let error = match reach(uri, &mut opened) {
            Ok(connected) => {
                if attempt > 1 {
                    log::info!("MongoDB at {target} is reachable now (attempt {attempt})");
                }
                return Ok(connected);
            }
            Err(ConnectError::Invalid(message)) => {
                return Err(PersistenceError::InvalidUri(message));
            }
            Err(ConnectError::Unreachable(reason)) => reason,
        };
        let elapsed = started.elapsed();
        if elapsed >= STARTUP_TIMEOUT {
            return Err(PersistenceError::Unreachable {
                target: target.to_string(),
                seconds: STARTUP_TIMEOUT.as_secs(),
                error,
            });
        }
        log::warn!(
            "MongoDB at {target} is not reachable (attempt {attempt}): {error}; retrying for {} s more",
            (STARTUP_TIMEOUT - elapsed).as_secs()
        );
        let pause = ATTEMPT_INTERVAL.saturating_sub(attempt_started.elapsed());
        std::thread::sleep(pause.min(STARTUP_TIMEOUT - elapsed));
    }
}

enum ConnectError {
    Invalid(String),
    Unreachable(String),
}

/// One attempt: makes the client if there is none yet (kept in `opened` for the next attempt,
/// so the driver's connecting goes on), then pings the server.
fn reach(uri: &str, opened: &mut Option<Opened>) -> Result<Opened, ConnectError> {
    let (client, write_concern) = match opened.take() {
        Some(existing) => existing,
        None => open(uri)?,
    };
    let ping = client.database("admin").run_command(doc! {"ping": 1}).run();
    match ping {
        Ok(_) => Ok((client, write_concern)),
        Err(e) => {
            *opened = Some((client, write_concern));
            Err(ConnectError::Unreachable(brief(&e)))
        }
    }
}

/// Parses the URI (an SRV URI looks its hosts up) and makes a client, which connects in the
/// background.
fn open(uri: &str) -> Result<Opened, ConnectError> {
    let mut options = ClientOptions::parse(uri).run().map_err(|e| {
        use mongodb::error::ErrorKind;
        match *e.kind {
            ErrorKind::DnsResolve { .. } | ErrorKind::Io(_) => ConnectError::Unreachable(brief(&e)),
            _ => ConnectError::Invalid(e.to_string()),
        }
    })?;
    options
        .app_name
        .get_or_insert_with(|| "reddish".to_string());
    options
        .server_selection_timeout
        .get_or_insert(SELECTION_TIMEOUT);
    options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
    let write_concern = options
        .write_concern
        .as_ref()
        .filter(|wc| wc.w.is_some() || wc.journal.is_some() || wc.w_timeout.is_some())
        .cloned();
    let client = Client::with_options(options).map_err(|e| ConnectError::Invalid(e.to_string()))?;
    Ok((client, write_concern))
}

/// A failure while reading, with its context.
fn read_error(what: &str, e: mongodb::error::Error) -> PersistenceError {
    PersistenceError::Load(format!("{what}: {}", brief(&e)))
}

/// Reads the documents of one generation in `coll` (`chunks` or `ops`), `count` of them, in
/// order.
fn read_generation(
    db: &Database,
    coll: &str,
    gen: i64,
    count: u32,
) -> Result<Vec<RawDocumentBuf>, PersistenceError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let cursor = db
        .collection::<RawDocumentBuf>(coll)
        .find(doc! {"_id": {"$gte": seq_id(gen, 0), "$lt": seq_id(gen, count as u64)}})
        .sort(doc! {"_id": 1})
        .run()
        .map_err(|e| read_error(coll, e))?;
    let mut docs = Vec::with_capacity(count as usize);
    for doc in cursor {
        docs.push(doc.map_err(|e| read_error(coll, e))?);
    }
    Ok(docs)
}

/// Builds the value of a stored key, replaying its operation log. Err describes a damaged key.
fn build_value(
    db: &Database,
    stored: &StoredKey,
    ks: &mut Keyspace,
    server: &mut Server,
    now: u64,
    expiry: Option<u64>,
) -> Result<u64, String> {
    let meta = &stored.meta;
    let chunks = read_generation(db, "chunks", meta.gen, meta.chunks).map_err(|e| e.to_string())?;
    let arrays = if meta.chunks == 0 {
        match stored.items {
            Some(items) => vec![items],
            None => return Err("no items".into()),
        }
    } else {
        if chunks.len() != meta.chunks as usize {
            return Err(format!("{} of {} chunks found", chunks.len(), meta.chunks));
        }
        let mut arrays = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            arrays.push(chunk_items(chunk).map_err(|e| e.to_string())?);
        }
        arrays
    };
    let limits = server.config.encoding_limits();
    let value = decode_value(
        meta.type_name,
        stored.header,
        &mut ItemReader::new(arrays),
        &limits,
    )
    .map_err(|e| e.to_string())?;
    drop(chunks);
    ks.set_clock(now);
    ks.db(meta.db).insert(meta.key, value, expiry);
    replay_log(db, stored, ks, server)
}

/// Builds the value of a stored key as [`build_value`] does, in `scratch` (a keyspace of the
/// caller's own, left empty), and returns it: the cold tier's load, whose expiry is the one in
/// memory, not MongoDB's (an EXPIRE or PERSIST of the cold key may not be written yet).
pub fn build_value_of(
    db: &Database,
    stored: &StoredKey,
    scratch: &mut Keyspace,
    server: &mut Server,
) -> Result<Value, String> {
    let meta = &stored.meta;
    if meta.db >= scratch.db_count() {
        return Err(format!("database {} is not configured", meta.db));
    }
    build_value(db, stored, scratch, server, unix_ms(), None)?;
    let taken = scratch.db(meta.db).take(meta.key);
    scratch.take_changes();
    taken
        .map(|(value, _)| value)
        .ok_or_else(|| "its operation log deletes it".to_string())
}

/// Replays the operation log of a stored key onto its value in `ks`; returns the log's
/// bytes.
fn replay_log(
    db: &Database,
    stored: &StoredKey,
    ks: &mut Keyspace,
    server: &mut Server,
) -> Result<u64, String> {
    let meta = &stored.meta;
    let mut log_bytes = 0u64;
    if meta.nops > 0 {
        let ops = read_generation(db, "ops", meta.gen, meta.nops).map_err(|e| e.to_string())?;
        if ops.len() != meta.nops as usize {
            return Err(format!(
                "{} of {} operation documents found",
                ops.len(),
                meta.nops
            ));
        }
        for doc in &ops {
            log_bytes += doc.as_bytes().len() as u64;
            for argv in op_commands(doc).map_err(|e| e.to_string())? {
                if let Err(e) =
                    crate::commands::journal::replay_as(ks, server, meta.db, meta.key, &argv)
                {
                    log::warn!(
                        "replaying {} on key '{}': {e}",
                        String::from_utf8_lossy(argv.first().copied().unwrap_or_default()),
                        String::from_utf8_lossy(meta.key)
                    );
                }
            }
        }
    }
    Ok(log_bytes)
}

/// Loads every key of the configured database into a new keyspace. Keys already expired are
/// dropped (and deleted from MongoDB by the first batches).
pub fn load_all(config: &Config, uri: &str) -> Result<(Keyspace, Connected), PersistenceError> {
    let target = redact(uri);
    let database = config.mongodb_database.clone();
    let (client, write_concern) = connect(uri, &target)?;
    let db = client.database(&database);
    let started = Instant::now();
    let now = unix_ms();
    let mut ks = Keyspace::new(config.databases);
    ks.set_clock(now);
    // Values are built, and their logs replayed, in the configured encodings.
    ks.set_encoding_limits(config.encoding_limits());
    // Replay runs commands, which need a server of their own (nothing of it is kept).
    let mut server = Server::new(config.clone(), now);
    let mut persisted = FastMap::default();
    let mut expired = Vec::new();
    let mut live_gens: FastSet<i64> = FastSet::default();
    let mut max_gen = 0i64;
    let mut loaded = 0u64;
    let mut damaged = 0u64;
    let mut next_progress = started + PROGRESS_EVERY;
    // With the cold tier, values past `maxmemory` are not loaded.
    let tiering = config.maxmemory_tiering && config.maxmemory != 0;
    let mut cold = 0u64;
    let cursor = db
        .collection::<RawDocumentBuf>("keys")
        .find(doc! {})
        .batch_size(2000)
        .run()
        .map_err(|e| read_error("reading keys", e))?;
    for doc in cursor {
        let doc = doc.map_err(|e| read_error("reading keys", e))?;
        let stored = match parse_key_document(&doc) {
            Ok(stored) => stored,
            Err(e) => {
                damaged += 1;
                log::error!("skipping a damaged document in 'keys': {e}");
                continue;
            }
        };
        let meta = &stored.meta;
        max_gen = max_gen.max(meta.gen);
        if meta.db >= ks.db_count() {
            damaged += 1;
            log::error!(
                "skipping key '{}' of database {}: only {} databases are configured",
                String::from_utf8_lossy(meta.key),
                meta.db,
                ks.db_count()
            );
            continue;
        }
        if meta.gen != 0 {
            live_gens.insert(meta.gen);
        }
        let slot = (meta.db, Key::from(meta.key));
        if meta.exp.is_some_and(|exp| exp <= now) {
            if meta.gen != 0 {
                persisted.insert(
                    slot.clone(),
                    Persisted {
                        gen: meta.gen,
                        nops: meta.nops,
                        base_bytes: meta.bytes,
                        log_bytes: 0,
                    },
                );
            }
            expired.push(slot);
            continue;
        }
        if tiering && crate::memory::allocated() as u64 > config.maxmemory {
            // Memory is full: the rest stays in MongoDB, cold, loaded when a command needs it.
            ks.insert_cold(meta.db, meta.key, meta.type_name, meta.exp);
            cold += 1;
            loaded += 1;
            if meta.gen != 0 {
                persisted.insert(
                    slot,
                    Persisted {
                        gen: meta.gen,
                        nops: meta.nops,
                        base_bytes: meta.bytes,
                        log_bytes: 0,
                    },
                );
            }
            continue;
        }
        match build_value(&db, &stored, &mut ks, &mut server, now, meta.exp) {
            Ok(log_bytes) => {
                loaded += 1;
                if meta.gen != 0 {
                    persisted.insert(
                        slot,
                        Persisted {
                            gen: meta.gen,
                            nops: meta.nops,
                            base_bytes: meta.bytes,
                            log_bytes,
                        },
                    );
                }
            }
            Err(e) => {
                damaged += 1;
                log::error!(
                    "skipping key '{}' of database {}: {e}",
                    String::from_utf8_lossy(meta.key),
                    meta.db
                );
            }
        }
        if Instant::now() >= next_progress {
            log::info!(
                "Loading from MongoDB: {loaded} keys loaded, {:.1} s elapsed",
                started.elapsed().as_secs_f64()
            );
            next_progress = Instant::now() + PROGRESS_EVERY;
        }
    }
    let function_codes = read_function_codes(&db)?;
    let orphans = sweep_orphans(&db, &live_gens, &mut max_gen);
    let load_ms = started.elapsed().as_millis() as u64;
    if tiering {
        log::info!(
            "Tiering: maxmemory-tiering is on; {cold} of the {loaded} keys found stay cold in MongoDB"
        );
    }
    log::info!(
        "Loaded {loaded} keys from MongoDB database '{database}' in {:.3} s ({} expired keys dropped, {damaged} damaged keys skipped, {orphans} stale generations removed)",
        load_ms as f64 / 1000.0,
        expired.len()
    );
    ks.track_changes();
    Ok((
        ks,
        Connected {
            client,
            db,
            write_concern,
            persisted,
            expired,
            next_gen: max_gen + 1,
            loaded_keys: loaded,
            load_ms,
            target,
            database,
            function_codes,
        },
    ))
}

/// The function libraries' code stored by [`super::document::functions_statement`]; none
/// when nothing was stored yet.
fn read_function_codes(db: &Database) -> Result<Vec<Vec<u8>>, PersistenceError> {
    let stored = db
        .collection::<RawDocumentBuf>("functions")
        .find_one(doc! {"_id": FUNCTIONS_ID})
        .run()
        .map_err(|e| read_error("reading functions", e))?;
    let Some(stored) = stored else {
        return Ok(Vec::new());
    };
    function_codes(&stored)
        .map_err(|e| PersistenceError::Load(format!("the functions document is damaged: {e}")))
}

/// Deletes chunks and operation logs of generations no key refers to (left by a crash between
/// writing a new generation and deleting the old one). Returns how many generations went.
fn sweep_orphans(db: &Database, live: &FastSet<i64>, max_gen: &mut i64) -> usize {
    let mut removed = 0;
    for coll in ["chunks", "ops"] {
        let cursor = match db
            .collection::<RawDocumentBuf>(coll)
            .find(doc! {})
            .projection(doc! {"_id": 1})
            .run()
        {
            Ok(cursor) => cursor,
            Err(e) => {
                log::warn!(
                    "could not look for stale documents in '{coll}': {}",
                    brief(&e)
                );
                continue;
            }
        };
        let mut stale: FastSet<i64> = FastSet::default();
        for doc in cursor.flatten() {
            if let Ok(id) = doc.get_i64("_id") {
                let gen = gen_of(id);
                *max_gen = (*max_gen).max(gen);
                if !live.contains(&gen) {
                    stale.insert(gen);
                }
            }
        }
        for gen in stale {
            let result = db
                .run_command(doc! {
                    "delete": coll,
                    "deletes": [{"q": {"_id": {"$gte": seq_id(gen, 0), "$lt": seq_id(gen + 1, 0)}}, "limit": 0}],
                })
                .run();
            match result {
                Ok(_) => removed += 1,
                Err(e) => log::warn!(
                    "could not delete stale generation {gen} of '{coll}': {}",
                    brief(&e)
                ),
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_lose_their_secrets_in_logs() {
        assert_eq!(
            redact("mongodb://127.0.0.1:27017"),
            "mongodb://127.0.0.1:27017"
        );
        assert_eq!(
            redact("mongodb://bob:s3cret@db1:1,db2:2/admin?tls=true&x=y"),
            "mongodb://bob:***@db1:1,db2:2"
        );
        assert_eq!(
            redact("mongodb+srv://u:p@cluster.example"),
            "mongodb+srv://u:***@cluster.example"
        );
    }
}
