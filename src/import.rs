//! `--import-rdb FILE`: loads a Redis RDB file into the keyspace before the server serves.
//!
//! The file is read front to back (never whole into memory) by [`crate::store::rdb::file`];
//! each key goes into its database with its expiry and LRU/LFU hint, keys already expired are
//! dropped, as Redis drops them when it loads. With persistence on, the keyspace records the
//! imported keys as changed, so the writer stores them in MongoDB once it starts. Any problem
//! stops the import with an error naming the byte offset: the caller then exits before
//! serving or persisting anything, so a bad file is never half-loaded silently.

use crate::store::rdb::file::{read_file, Entry, Skipped};
use crate::store::{EncodingLimits, Keyspace};
use std::fs::File;
use std::io::BufReader;
use std::time::{Duration, Instant};

/// How often a progress line is logged during a long import.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub keys: u64,
    pub expired: u64,
    pub replaced: u64,
    pub bytes: u64,
    /// The code of the function libraries in the file, in file order, for the caller to load
    /// (the keyspace holds no functions).
    pub functions: Vec<Vec<u8>>,
}

/// Loads the RDB file at `path` into `keyspace` (whose clock must be set), building values in
/// the encodings `limits` choose. O(file size).
pub fn import_rdb(
    path: &str,
    keyspace: &mut Keyspace,
    limits: &EncodingLimits,
) -> Result<ImportSummary, String> {
    let file = File::open(path).map_err(|e| format!("cannot open RDB file '{path}': {e}"))?;
    let total = file
        .metadata()
        .map_err(|e| format!("cannot read RDB file '{path}': {e}"))?
        .len();
    log::info!("Importing RDB file '{path}' ({total} bytes)");
    let started = Instant::now();
    let mut next_progress = started + PROGRESS_EVERY;
    let mut summary = ImportSummary {
        bytes: total,
        ..ImportSummary::default()
    };
    let databases = keyspace.db_count();
    let now = keyspace.now_ms();
    let mut module_aux = 0u64;
    let mut functions = Vec::new();
    let result = read_file(
        BufReader::with_capacity(1 << 20, file),
        total,
        databases,
        limits,
        |entry: Entry, offset| {
            if entry.expire_ms.is_some_and(|when| when <= now) {
                summary.expired += 1;
            } else {
                let mut db = keyspace.db(entry.db);
                if db.exists(&entry.key) {
                    summary.replaced += 1;
                }
                db.insert(&entry.key, entry.value, entry.expire_ms);
                db.set_access_hint(&entry.key, entry.idle_seconds, entry.freq);
                summary.keys += 1;
            }
            if Instant::now() >= next_progress {
                log::info!(
                    "Importing '{path}': {:.0}% ({offset} of {total} bytes), {} keys, {:.1} s",
                    offset as f64 * 100.0 / total.max(1) as f64,
                    summary.keys,
                    started.elapsed().as_secs_f64()
                );
                next_progress = Instant::now() + PROGRESS_EVERY;
            }
            Ok(())
        },
        |skipped| match skipped {
            Skipped::Aux { name, value } => log::debug!(
                "RDB aux field {}: {}",
                String::from_utf8_lossy(&name),
                String::from_utf8_lossy(&value)
            ),
            Skipped::ModuleAux => module_aux += 1,
            Skipped::Function { code } => functions.push(code),
            Skipped::EmptyKey { key } => log::warn!(
                "skipping key '{}': its value is empty",
                String::from_utf8_lossy(&key)
            ),
        },
    );
    result.map_err(|e| format!("RDB file '{path}' refused: {e}"))?;
    summary.functions = functions;
    if module_aux > 0 {
        log::warn!("'{path}' holds {module_aux} modules' aux data: skipped");
    }
    log::info!(
        "Imported {} keys and {} function libraries from '{path}' in {:.3} s ({} already expired and dropped, {} replaced keys that were loaded before)",
        summary.keys,
        summary.functions.len(),
        started.elapsed().as_secs_f64(),
        summary.expired,
        summary.replaced
    );
    Ok(summary)
}
