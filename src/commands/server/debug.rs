//! DEBUG: Redis's testing and introspection command, one row with its own subcommand parsing
//! (as Redis has it), answering with Redis's reply formats. What Reddish has no counterpart for
//! (AOF files, cluster links, crashing on purpose) is accepted where Redis's own test
//! suite needs it to be, and otherwise answered with Redis's unknown-subcommand error.
//!
//! The settings DEBUG changes live in [`DebugState`], which the reactor reads (active expiry,
//! the paused cron) and the rest only reports.

use crate::commands::args::{int_arg, is_keyword};
use crate::commands::reply::help_reply;
use crate::commands::{persistence, Args, CmdError, CmdResult, Ctx, ReplyBufferPolicy};
use crate::memory::{self, Mallctl};
use crate::number::atoi;
use crate::store::glob;
use crate::store::{Key, ShortBytes, Value};
use rand::Rng;
use sha1_smol::Sha1;
use std::fmt::Write as _;

/// The server settings DEBUG changes, all off the hot path: the reactor reads two of them
/// once per timed run, the others are only stored and reported.
#[derive(Debug, Clone)]
pub struct DebugState {
    /// SET-ACTIVE-EXPIRE: the timed expiry cycle runs (keys still expire when touched).
    pub active_expire: bool,
    /// PAUSE-CRON: the timed work (expiry, client timeouts, rate samples) is skipped.
    pub cron_paused: bool,
    /// QUICKLIST-PACKED-THRESHOLD, in bytes: list elements this large would be stored in
    /// nodes of their own in Redis. Lists here have no nodes, so it is only kept.
    pub quicklist_packed_threshold: u64,
    /// SET-DISABLE-DENY-SCRIPTS and SET-SKIP-CHECKSUM-VALIDATION: kept for the scripting
    /// and DUMP/RESTORE code to consult.
    pub disable_deny_scripts: bool,
    pub skip_checksum_validation: bool,
}

/// Redis's default: 1 GB packed threshold.
const DEFAULT_PACKED_THRESHOLD: u64 = 1 << 30;

impl Default for DebugState {
    fn default() -> Self {
        DebugState {
            active_expire: true,
            cron_paused: false,
            quicklist_packed_threshold: DEFAULT_PACKED_THRESHOLD,
            disable_deny_scripts: false,
            skip_checksum_validation: false,
        }
    }
}

/// DEBUG <subcommand> [arguments]. A `protected` command: the funnel refuses it unless
/// `enable-debug-command` allows this connection.
pub fn debug(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.argv();
    let sub = args.bytes()?;
    let rest = args.rest();
    let name = String::from_utf8_lossy(sub).to_ascii_lowercase();
    match (name.as_str(), rest) {
        ("help", []) => help(ctx),
        ("sleep", [seconds]) => sleep(ctx, seconds),
        ("set-active-expire", [on]) => {
            ctx.server.debug.active_expire = atoi(on) != 0;
            ctx.out.ok();
        }
        ("pause-cron", [on]) => {
            ctx.server.debug.cron_paused = atoi(on) != 0;
            ctx.out.ok();
        }
        ("set-disable-deny-scripts", [on]) => {
            ctx.server.debug.disable_deny_scripts = atoi(on) != 0;
            ctx.out.ok();
        }
        ("set-skip-checksum-validation", [on]) => {
            ctx.server.debug.skip_checksum_validation = atoi(on) != 0;
            ctx.out.ok();
        }
        ("aof-flush-sleep", [_]) | ("leak", [_]) => ctx.out.ok(),
        ("quicklist-packed-threshold", [size]) => packed_threshold(ctx, size)?,
        ("replybuffer", [setting, value]) => reply_buffer(ctx, args, setting, value)?,
        ("log", [message]) => {
            log::warn!("DEBUG LOG: {}", String::from_utf8_lossy(message));
            ctx.out.ok();
        }
        ("error", [text]) => {
            // Sent as given (CR and LF become spaces), without an `ERR` prefix added, and
            // not counted as an error reply, as Redis does.
            ctx.out.error(text);
        }
        ("object", [key]) => object(ctx, key)?,
        ("digest", []) => {
            let cold = ctx.ks.total_cold_keys();
            if cold > 0 {
                // Loading every value could need more memory than there is.
                return Err(CmdError::msg(format!(
                    "ERR DEBUG DIGEST needs every value, and the values of {cold} keys are \
                     cold (kept in MongoDB only, maxmemory-tiering): use DEBUG DIGEST-VALUE \
                     on the keys to compare"
                )));
            }
            let digest = dataset_digest(ctx);
            ctx.out.simple(hex(&digest));
        }
        ("digest-value", keys) => {
            let db = ctx.client.db;
            if ctx.ks.cold_keys(db) != 0 {
                let mut cold: Vec<Key> = Vec::new();
                for key in keys {
                    let live = ctx.ks.db(db).exists(key);
                    if live
                        && ctx.ks.cold_epoch(db, key).is_some()
                        && !cold.iter().any(|k| &k[..] == *key)
                    {
                        cold.push((*key).into());
                    }
                }
                if !cold.is_empty() {
                    return crate::commands::tiering::wait_for_values(ctx, cold);
                }
            }
            ctx.out.array(keys.len());
            for key in keys {
                let mut db = ctx.db();
                let expiry = db.expire_at(key);
                let digest = db
                    .stored(key)
                    .map_or([0; 20], |value| value_digest(value, expiry));
                ctx.out.simple(hex(&digest));
            }
        }
        ("protocol", [kind]) => protocol(ctx, kind)?,
        ("reload", options) => reload(ctx, options)?,
        ("loadaof", []) => {
            reload_keyspace(ctx, "the AOF files")?;
            log::info!("Append Only File loaded by DEBUG LOADAOF");
            ctx.out.ok();
        }
        ("populate", [count]) => populate(ctx, count, b"key", None)?,
        ("populate", [count, prefix]) => populate(ctx, count, prefix, None)?,
        ("populate", [count, prefix, size]) => populate(ctx, count, prefix, Some(size))?,
        ("change-repl-id", []) => {
            log::info!("Changing replication IDs after receiving DEBUG change-repl-id");
            let rng = &mut ctx.server.rng;
            ctx.server.repl_id = (0..40)
                .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
                .collect();
            ctx.out.ok();
        }
        ("stringmatch-test", []) => {
            stringmatch_fuzz(&mut ctx.server.rng);
            ctx.out
                .simple("Apparently Redis did not crash: test passed");
        }
        ("htstats", [db]) => htstats(ctx, db)?,
        ("htstats-key", [key]) => htstats_key(ctx, key)?,
        ("listpack", [key]) => structure(ctx, key, "listpack")?,
        ("quicklist", [key]) | ("quicklist", [key, _]) => structure(ctx, key, "quicklist")?,
        ("structsize", []) => {
            let sizes = format!(
                "bits:{} robj:{} dictentry:{} ",
                usize::BITS,
                std::mem::size_of::<Value>(),
                std::mem::size_of::<(Key, Value)>()
            );
            ctx.out.bulk(sizes.as_bytes());
        }
        ("mallctl", [name, rest @ ..]) if memory::has_mallctl() => mallctl(ctx, name, rest)?,
        ("mallctl-str", [name, rest @ ..]) if memory::has_mallctl() => {
            mallctl_str(ctx, name, rest)?
        }
        ("config-rewrite-force-all", []) => super::config::rewrite_config_file(ctx, true)?,
        ("client-eviction", []) => return Err(CmdError::msg("ERR maxmemory-clients is disabled.")),
        _ => return Err(Args::new(argv, 1).subcommand_syntax_error()),
    }
    Ok(())
}

/// MALLCTL <name> [<value>]: reads jemalloc's integer control, or writes it and answers the
/// value before (OK for a write-only control).
fn mallctl(ctx: &mut Ctx, name: &[u8], rest: &[&[u8]]) -> CmdResult {
    let value = rest.first().map(|v| int_arg(v)).transpose()?;
    match memory::mallctl_int(name, value) {
        Ok(Mallctl::Value(old)) => ctx.out.int(old),
        Ok(Mallctl::Written) => ctx.out.ok(),
        Err(e) => return Err(CmdError::msg(format!("ERR {e}"))),
    }
    Ok(())
}

/// MALLCTL-STR <name> [<value>]: as MALLCTL for a string control; the value `VOID` calls a
/// control that takes none (`thread.tcache.flush`).
fn mallctl_str(ctx: &mut Ctx, name: &[u8], rest: &[&[u8]]) -> CmdResult {
    match memory::mallctl_str(name, rest.first().copied()) {
        Ok(Mallctl::Value(old)) => ctx.out.bulk(old.as_bytes()),
        Ok(Mallctl::Written) => ctx.out.ok(),
        Err(e) => return Err(CmdError::msg(format!("ERR {e}"))),
    }
    Ok(())
}

/// C's `strtod` as DEBUG SLEEP reads its argument: the longest leading number, 0 if none.
fn strtod(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start();
    (1..=text.len())
        .rev()
        .filter(|&end| text.is_char_boundary(end))
        .find_map(|end| text[..end].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// SLEEP: blocks the whole server for that many seconds (decimals allowed), as Redis does:
/// tests use it to make the server busy.
fn sleep(ctx: &mut Ctx, seconds: &[u8]) {
    let seconds = strtod(seconds);
    if seconds.is_finite() && seconds > 0.0 {
        // Bounded so that an absurd argument cannot overflow the duration.
        std::thread::sleep(std::time::Duration::from_secs_f64(seconds.min(1e9)));
    }
    ctx.out.ok();
}

fn packed_threshold(ctx: &mut Ctx, size: &[u8]) -> CmdResult {
    // Redis takes up to 4 GB minus 1 MB; 0 restores the default.
    const MAX: u64 = (1 << 32) - (1 << 20);
    let size = std::str::from_utf8(size)
        .ok()
        .and_then(crate::config::parse_memory)
        .filter(|&size| size <= MAX)
        .ok_or_else(|| {
            CmdError::msg("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
        })?;
    ctx.server.debug.quicklist_packed_threshold = if size == 0 {
        DEFAULT_PACKED_THRESHOLD
    } else {
        size
    };
    ctx.out.ok();
    Ok(())
}

/// REPLYBUFFER: how the reactor resizes idle connections' reply buffers.
fn reply_buffer(ctx: &mut Ctx, args: &Args, setting: &[u8], value: &[u8]) -> CmdResult {
    let policy = &mut ctx.server.reply_buffer_policy;
    if is_keyword(setting, "peak-reset-time") {
        policy.peak_reset_ms = if is_keyword(value, "never") {
            -1
        } else if is_keyword(value, "reset") {
            ReplyBufferPolicy::DEFAULT_PEAK_RESET_MS
        } else {
            int_arg(value)?
        };
    } else if is_keyword(setting, "resizing") {
        policy.resizing = atoi(value) != 0;
    } else {
        return Err(args.subcommand_syntax_error());
    }
    ctx.out.ok();
    Ok(())
}

fn help(ctx: &mut Ctx) {
    let mut lines = HELP.to_vec();
    if memory::has_mallctl() {
        let at = lines
            .iter()
            .position(|l| *l == "OBJECT <key>")
            .unwrap_or(lines.len());
        lines.splice(at..at, MALLCTL_HELP.iter().copied());
    }
    help_reply(
        ctx,
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &lines,
    );
}

/// DEBUG HELP's lines for the allocator's controls, shown where jemalloc has them.
const MALLCTL_HELP: &[&str] = &[
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
];

const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
];

/// PROTOCOL <type>: a sample reply of each RESP3 type, downgraded in RESP2 as Redis does.
fn protocol(ctx: &mut Ctx, kind: &[u8]) -> CmdResult {
    let kind = String::from_utf8_lossy(kind).to_ascii_lowercase();
    let out = &mut *ctx.out;
    match kind.as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        // Redis's sample value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        "double" => out.double(3.141),
        "bignum" => out.bignum(b"1234567999999999999999999999999999999"),
        "null" => out.null(),
        "array" => {
            out.array(3);
            (0..3).for_each(|i| out.int(i));
        }
        "set" => {
            out.set(3);
            (0..3).for_each(|i| out.int(i));
        }
        "map" => {
            out.map(3);
            for i in 0..3 {
                out.int(i);
                out.boolean(i == 1);
            }
        }
        "attrib" => {
            if out.is_resp3() {
                out.attribute(1);
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            // An attribute is not a reply: a real one follows it.
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !out.is_resp3() {
                return Err(CmdError::msg("ERR RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            // A push is out of band: a real reply follows, for clients waiting for one.
            out.bulk(b"Some real reply following the push reply");
        }
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        "verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::msg(
                "ERR Wrong protocol type name. Please use one of the following: \
                 string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

/// OBJECT <key>: Redis's line about a stored value (logically expired ones too). Reddish
/// keeps no access clock per value, so `lru` is the current LRU clock and the idle time 0;
/// `serializedlength` is the size of the value's stored encoding as Redis would count it.
fn object(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let lru = (ctx.ks.now_ms() / 1000) & ((1 << 24) - 1);
    let list_limits = list_limits(ctx);
    let shares_integers = crate::commands::keys::shares_integers(&ctx.server.config);
    let db = ctx.db();
    let value = db
        .stored(key)
        .ok_or_else(|| CmdError::msg("ERR no such key"))?;
    let mut line = format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{lru} lru_seconds_idle:0",
        value as *const Value,
        crate::commands::keys::refcount(value, shares_integers),
        value.encoding(),
        serialized_length(value)
    );
    if let Value::List(list) = value {
        let (fill, compress) = list_limits;
        let (nodes, bytes) = quicklist_shape(list.iter(), fill);
        let _ = write!(
            line,
            " ql_nodes:{nodes} ql_avg_node:{:.2} ql_listpack_max:{fill} ql_compressed:{} \
             ql_uncompressed_size:{bytes}",
            list.len() as f64 / nodes.max(1) as f64,
            (compress != 0) as u8
        );
    }
    ctx.out.simple(&line);
    Ok(())
}

/// `list-max-listpack-size` and `list-compress-depth`, as configured.
fn list_limits(ctx: &Ctx) -> (i64, i64) {
    let read = |name: &str, default: i64| {
        ctx.server
            .config
            .get_matching(&[name.as_bytes()])
            .first()
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(default)
    };
    (
        read("list-max-listpack-size", -2),
        read("list-compress-depth", 0),
    )
}

/// Bytes one element takes in a listpack: encoding header, data, back-length.
fn listpack_entry_bytes(len: usize) -> usize {
    let header = match len {
        0..=63 => 1,
        64..=4095 => 2,
        _ => 5,
    };
    let entry = header + len;
    let back = match entry {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    };
    entry + back
}

/// How Redis would cut a list into quicklist nodes with fill `fill` (a count when positive,
/// else a size class of 4 KB to 64 KB): (nodes, total listpack bytes).
fn quicklist_shape<'a>(elements: impl Iterator<Item = &'a [u8]>, fill: i64) -> (usize, usize) {
    const HEADER: usize = 7;
    let max_bytes = match fill {
        f if f >= 0 => usize::MAX,
        -1 => 4096,
        -2 => 8192,
        -3 => 16_384,
        -4 => 32_768,
        _ => 65_536,
    };
    let max_count = if fill > 0 { fill as usize } else { usize::MAX };
    let (mut nodes, mut total, mut node_bytes, mut node_count) = (0usize, 0usize, 0usize, 0usize);
    for element in elements {
        let bytes = listpack_entry_bytes(element.len());
        if nodes == 0 || node_count >= max_count || node_bytes + bytes > max_bytes {
            nodes += 1;
            total += node_bytes;
            node_bytes = HEADER;
            node_count = 0;
        }
        node_bytes += bytes;
        node_count += 1;
    }
    (nodes, total + node_bytes)
}

/// The length Redis's RDB format would give a value: a length prefix per string, integers
/// stored in binary. An estimate for the layouts Reddish has no RDB twin of.
fn serialized_length(value: &Value) -> usize {
    fn string(bytes: &[u8]) -> usize {
        if bytes.len() <= 11 {
            if let Some(n) = crate::number::parse_i64(bytes) {
                return match n {
                    -128..=127 => 2,
                    -32_768..=32_767 => 3,
                    -2_147_483_648..=2_147_483_647 => 5,
                    _ => 1 + bytes.len(),
                };
            }
        }
        let prefix = match bytes.len() {
            0..=63 => 1,
            64..=16_383 => 2,
            _ => 5,
        };
        prefix + bytes.len()
    }
    match value {
        Value::Str(bytes, _) => string(bytes),
        Value::List(list) => 1 + list.iter().map(string).sum::<usize>(),
        Value::Hash(hash) => {
            1 + hash
                .iter()
                .map(|(f, v)| string(f) + string(v))
                .sum::<usize>()
        }
        Value::Set(set) => {
            let mut total = 1;
            for member in set.iter() {
                member.with_bytes(|bytes| total += string(bytes));
            }
            total
        }
        Value::ZSet(zset) => 1 + zset.set().iter().map(|(m, _)| string(m) + 8).sum::<usize>(),
        Value::Tree(tree) => {
            1 + tree
                .iter()
                .map(|(k, v)| string(k) + string(v))
                .sum::<usize>()
        }
        Value::Queue(queue) => 1 + queue.iter().map(string).sum::<usize>(),
        Value::Stack(stack) => 1 + stack.iter().map(string).sum::<usize>(),
        Value::Graph(graph) => 1 + 16 * (graph.node_count() + graph.edge_count()),
        Value::Stream(stream) => {
            1 + stream
                .entries()
                .iter()
                .map(|e| {
                    16 + e
                        .fields
                        .iter()
                        .map(|(f, v)| string(f) + string(v))
                        .sum::<usize>()
                })
                .sum::<usize>()
        }
        // A cold value is not in memory: its serialized length is not known here.
        Value::Cold(_) => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Digests, as Redis computes them (SHA1 mixes): equal for equal data whatever the order of keys,
// set members and hash fields, different when a key, a value, a type or an expiry differs.
// ---------------------------------------------------------------------------------------------

fn sha1(bytes: &[u8]) -> [u8; 20] {
    Sha1::from(bytes).digest().bytes()
}

/// Order-insensitive: `digest ^= SHA1(data)`.
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(data)) {
        *d ^= h;
    }
}

/// Order-sensitive: `digest = SHA1(digest ^ SHA1(data))`.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(&digest[..]);
}

/// Redis's type numbers (string 0, list 1, set 2, zset 3, hash 4); Reddish's own types take
/// numbers Redis does not use.
fn type_code(value: &Value) -> u32 {
    match value {
        Value::Str(..) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Tree(_) => 100,
        Value::Graph(_) => 101,
        Value::Queue(_) => 102,
        Value::Stack(_) => 103,
        Value::Stream(_) => 6,
        Value::Cold(_) => 200,
    }
}

/// The digest of one value and whether it has an expiry (DIGEST-VALUE; the key is not part
/// of it). O(size of the value).
fn value_digest(value: &Value, expiry: Option<u64>) -> [u8; 20] {
    let mut digest = [0u8; 20];
    mix_value(&mut digest, value);
    if expiry.is_some() {
        xor_digest(&mut digest, b"!!expire!!");
    }
    digest
}

/// A pair digest for unordered pairs (hash fields, sorted set members): mixed inside, then
/// xored into `digest` as any unordered element is.
fn xor_pair(digest: &mut [u8; 20], first: &[u8], second: &[u8]) {
    let mut pair = [0u8; 20];
    mix_digest(&mut pair, first);
    mix_digest(&mut pair, second);
    xor_digest(digest, &pair);
}

fn mix_value(digest: &mut [u8; 20], value: &Value) {
    mix_digest(digest, &type_code(value).to_be_bytes());
    match value {
        // Only its type is in memory (a digest of a keyspace with cold keys is not
        // comparable with one where they are hot).
        Value::Cold(cold) => mix_digest(digest, cold.type_name().as_bytes()),
        Value::Str(bytes, _) => mix_digest(digest, bytes),
        Value::List(list) => list.iter().for_each(|e| mix_digest(digest, e)),
        Value::Set(set) => {
            for member in set.iter() {
                member.with_bytes(|bytes| xor_digest(digest, bytes));
            }
        }
        Value::ZSet(zset) => {
            let mut score_text = String::new();
            for (member, score) in zset.set().iter() {
                score_text.clear();
                crate::number::format_double(score, &mut score_text);
                xor_pair(digest, member, score_text.as_bytes());
            }
        }
        Value::Hash(hash) => hash.iter().for_each(|(f, v)| xor_pair(digest, f, v)),
        Value::Tree(tree) => {
            mix_digest(digest, &[tree.ordering() as u8]);
            tree.iter().for_each(|(k, v)| {
                mix_digest(digest, k);
                mix_digest(digest, v);
            });
        }
        Value::Queue(queue) => queue.iter().for_each(|e| mix_digest(digest, e)),
        Value::Stack(stack) => stack.iter().for_each(|e| mix_digest(digest, e)),
        Value::Graph(graph) => {
            // Nodes and edges as their stored encoding lists them, order-insensitively.
            for (from, to, weight) in graph.iter_edges() {
                let mut edge = [0u8; 20];
                mix_digest(&mut edge, from);
                mix_digest(&mut edge, to);
                mix_digest(&mut edge, &weight.to_bits().to_be_bytes());
                xor_digest(digest, &edge);
            }
            for node in graph.iter_nodes() {
                xor_digest(digest, node);
            }
            mix_digest(digest, &[graph.is_directed() as u8]);
        }
        Value::Stream(stream) => {
            for entry in stream.entries().iter() {
                mix_digest(digest, entry.id.to_string().as_bytes());
                for (field, value) in entry.fields.iter() {
                    mix_digest(digest, field);
                    mix_digest(digest, value);
                }
            }
            let counters = stream.counters();
            mix_digest(digest, counters.last_id.to_string().as_bytes());
            for (name, group) in stream.groups() {
                mix_digest(digest, name);
                mix_digest(digest, group.last_id.to_string().as_bytes());
                for id in group.pel.keys() {
                    mix_digest(digest, id.to_string().as_bytes());
                }
            }
        }
    }
}

/// DIGEST: every database's keys (logically expired ones too, as Redis), all zeros for an
/// empty keyspace. O(data).
fn dataset_digest(ctx: &mut Ctx) -> [u8; 20] {
    let mut total = [0u8; 20];
    for index in 0..ctx.ks.db_count() {
        let db = ctx.ks.db(index);
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut total, &(index as u32).to_be_bytes());
        db.for_each_stored(|key, value, expiry| {
            let mut pair = [0u8; 20];
            mix_digest(&mut pair, key);
            mix_value(&mut pair, value);
            if expiry.is_some() {
                xor_digest(&mut pair, b"!!expire!!");
            }
            xor_digest(&mut total, &pair);
        });
    }
    total
}

fn hex(digest: &[u8; 20]) -> String {
    digest.iter().fold(String::with_capacity(40), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

// ---------------------------------------------------------------------------------------------
// RELOAD, LOADAOF, POPULATE
// ---------------------------------------------------------------------------------------------

/// RELOAD [MERGE|NOFLUSH|NOSAVE ...]: the keyspace goes through persistence and back. The
/// options are checked as Redis checks them; each reload here is a full save and load of the
/// keys. Function libraries go as Redis's RDB carries them: NOSAVE loads the ones the last
/// save kept, NOFLUSH keeps the loaded ones, and then only MERGE lets a saved library replace
/// a loaded one of the same name.
fn reload(ctx: &mut Ctx, options: &[&[u8]]) -> CmdResult {
    let (mut save, mut flush, mut merge) = (true, true, false);
    for option in options {
        if is_keyword(option, "merge") {
            merge = true;
        } else if is_keyword(option, "noflush") {
            flush = false;
        } else if is_keyword(option, "nosave") {
            save = false;
        } else {
            return Err(CmdError::msg(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    // Functions come before the keys in an RDB file: a library that cannot load stops the
    // load before any key is read.
    crate::commands::scripting::functions::reload_libraries(ctx.server, save, flush, merge)
        .map_err(|e| {
            log::warn!(
                "DEBUG RELOAD failed loading the functions: {}",
                e.reply_text()
            );
            CmdError::msg("ERR Error trying to load the RDB dump, check server logs.")
        })?;
    reload_keyspace(ctx, "the RDB dump")?;
    log::info!("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

/// With persistence on: every pending change is written, then the keyspace is loaded back
/// from the database as at start-up. With it off: every value is passed through the encoding
/// persistence stores it in and rebuilt from it, so a reload still shows what survives it.
fn reload_keyspace(ctx: &mut Ctx, what: &str) -> CmdResult {
    let result = if ctx.server.persistence.is_some() {
        persistence::reload(ctx.ks, ctx.server)
    } else {
        let (round_trip, limits) = (ctx.server.round_trip, ctx.server.config.encoding_limits());
        ctx.ks.rebuild_values(|value| round_trip(value, &limits))
    };
    result.map_err(|reason| {
        log::warn!("DEBUG reload failed: {reason}");
        CmdError::msg(format!(
            "ERR Error trying to load {what}, check server logs."
        ))
    })
}

/// POPULATE count [prefix] [size]: string keys `prefix:N` holding `value:N` (cut or padded
/// with zero bytes to `size`), skipping keys that exist. O(count).
fn populate(ctx: &mut Ctx, count: &[u8], prefix: &[u8], size: Option<&[u8]>) -> CmdResult {
    // Redis gives this one error for a negative number and for no number at all.
    let positive = |arg: &[u8]| -> Result<u64, CmdError> {
        int_arg(arg)
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))
    };
    let count = positive(count)?;
    let size = size.map(positive).transpose()?;
    let mut db = ctx.db();
    let mut key = Vec::with_capacity(prefix.len() + 21);
    for n in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        let _ = write!(KeyText(&mut key), ":{n}");
        if db.exists(&key) {
            continue;
        }
        let mut value = format!("value:{n}").into_bytes();
        if let Some(size) = size.filter(|&s| s > 0) {
            value.resize(size.min(crate::store::MAX_STRING_LEN as u64) as usize, 0);
        }
        db.insert(
            &key,
            Value::Str(ShortBytes::from_vec(value), Default::default()),
            None,
        );
    }
    ctx.out.ok();
    Ok(())
}

/// Lets `write!` append text to a byte buffer.
struct KeyText<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for KeyText<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Structure reports
// ---------------------------------------------------------------------------------------------

/// Redis's `dictGetStats` header lines for a table of `len` entries: its size is the power of
/// two Redis's table would have grown to.
fn table_stats(out: &mut String, len: usize) {
    out.push_str("Hash table 0 stats (main hash table):\n");
    if len == 0 {
        out.push_str("No stats available for empty dictionaries\n");
        return;
    }
    let size = len.next_power_of_two().max(4);
    let _ = write!(out, " table size: {size}\n number of elements: {len}\n");
}

/// HTSTATS <db>: the key and expiry tables of one database.
fn htstats(ctx: &mut Ctx, db: &[u8]) -> CmdResult {
    let index = int_arg(db)?;
    let sizes = ctx.ks.sizes();
    let Some(&(keys, expires)) = usize::try_from(index).ok().and_then(|i| sizes.get(i)) else {
        return Err(CmdError::msg("ERR Out of range database"));
    };
    let mut text = String::from("[Dictionary HT]\n");
    table_stats(&mut text, keys);
    text.push_str("[Expires HT]\n");
    table_stats(&mut text, expires);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// HTSTATS-KEY <key>: the table of a hash, set or sorted set that has one.
fn htstats_key(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let mut db = ctx.db();
    let value = db
        .lookup_write(key)
        .ok_or_else(|| CmdError::msg("ERR no such key"))?;
    let len = match value {
        Value::Hash(hash) if hash.encoding() == "hashtable" => hash.len(),
        Value::Set(set) if set.encoding() == "hashtable" => set.len(),
        Value::ZSet(zset) if zset.encoding() == "skiplist" => zset.len(),
        _ => {
            return Err(CmdError::msg(
                "ERR The value stored at the specified key is not represented using an hash \
                 table",
            ))
        }
    };
    let mut text = String::new();
    table_stats(&mut text, len);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// LISTPACK / QUICKLIST <key>: Redis prints the structure on its standard output; here it
/// goes to the log, as one line of the encoding and size.
fn structure(ctx: &mut Ctx, key: &[u8], encoding: &str) -> CmdResult {
    let mut db = ctx.db();
    let value = db
        .lookup_write(key)
        .ok_or_else(|| CmdError::msg("ERR no such key"))?;
    if value.encoding() != encoding {
        return Err(CmdError::msg(match encoding {
            "listpack" => "ERR Not a listpack encoded object.",
            _ => "ERR Not a quicklist encoded object.",
        }));
    }
    log::info!(
        "{encoding} of key '{}': {} elements",
        String::from_utf8_lossy(key),
        value.free_effort()
    );
    ctx.out.simple(match encoding {
        "listpack" => "Listpack structure printed on stdout",
        _ => "Quicklist structure printed on stdout",
    });
    Ok(())
}

/// STRINGMATCH-TEST: random patterns against random strings through the glob matcher, which
/// must neither panic nor run away, as Redis's fuzz test of `stringmatchlen`.
fn stringmatch_fuzz(rng: &mut impl Rng) {
    const ALPHABET: &[u8] = b"*?[]^-\\abc";
    let mut pattern = Vec::with_capacity(32);
    let mut text = Vec::with_capacity(32);
    for _ in 0..100_000 {
        pattern.clear();
        text.clear();
        for _ in 0..rng.gen_range(0..32) {
            pattern.push(ALPHABET[rng.gen_range(0..ALPHABET.len())]);
        }
        for _ in 0..rng.gen_range(0..32) {
            text.push(rng.gen());
        }
        std::hint::black_box(glob::matches(&pattern, &text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testing::Harness;
    use crate::config::Protection;

    fn harness() -> Harness {
        let mut h = Harness::new();
        h.server.config.enable_debug_command = Protection::Yes;
        h.client.addr = "127.0.0.1:5000".into();
        h
    }

    #[test]
    fn refused_unless_enabled() {
        let mut h = Harness::new();
        h.client.addr = "127.0.0.1:5000".into();
        let text = h.text(&["debug", "help"]);
        assert!(
            text.starts_with("-ERR DEBUG command not allowed."),
            "{text}"
        );
        h.server.config.enable_debug_command = Protection::Local;
        assert!(h.text(&["debug", "help"]).starts_with("*"));
        h.client.addr = "10.1.2.3:5000".into();
        assert!(h
            .text(&["debug", "help"])
            .starts_with("-ERR DEBUG command not allowed."));
        h.client.addr = "[::1]:5000".into();
        assert!(h.text(&["debug", "help"]).starts_with("*"));
    }

    #[test]
    fn switches_and_errors() {
        let mut h = harness();
        h.assert_replies(&[
            (&["debug", "set-active-expire", "0"], "+OK\r\n"),
            (&["debug", "pause-cron", "1"], "+OK\r\n"),
            (&["debug", "quicklist-packed-threshold", "1b"], "+OK\r\n"),
            (
                &["debug", "quicklist-packed-threshold", "5gb"],
                "-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n",
            ),
            (
                &["debug", "nosuch"],
                "-ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.\r\n",
            ),
            (
                &["debug", "replybuffer", "bogus", "1"],
                "-ERR unknown subcommand or wrong number of arguments for 'replybuffer'. Try DEBUG HELP.\r\n",
            ),
            (&["debug", "error", "FOO bar\r\nx"], "-FOO bar  x\r\n"),
            (&["debug", "object", "nokey"], "-ERR no such key\r\n"),
            (
                &["debug", "reload", "bogus"],
                "-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n",
            ),
            (&["debug", "populate", "-1"], "-ERR value is out of range, must be positive\r\n"),
        ]);
        assert!(!h.server.debug.active_expire);
        assert!(h.server.debug.cron_paused);
        assert_eq!(h.server.debug.quicklist_packed_threshold, 1);
        h.run(&["debug", "quicklist-packed-threshold", "0"]);
        assert_eq!(h.server.debug.quicklist_packed_threshold, 1 << 30);
        assert_eq!(strtod(b"0.05x"), 0.05);
        assert_eq!(strtod(b"abc"), 0.0);
    }

    #[test]
    fn digests_ignore_order_and_see_every_difference() {
        let mut h = harness();
        let empty = "+0000000000000000000000000000000000000000\r\n";
        assert_eq!(h.text(&["debug", "digest"]), empty);
        h.run(&["sadd", "s", "a", "b", "c"]);
        h.run(&["hset", "h", "f", "1", "g", "2"]);
        h.run(&["rpush", "l", "x", "y"]);
        let first = h.text(&["debug", "digest"]);
        h.run(&["flushall"]);
        h.run(&["rpush", "l", "x", "y"]);
        h.run(&["hset", "h", "g", "2", "f", "1"]);
        h.run(&["sadd", "s", "c", "a", "b"]);
        assert_eq!(h.text(&["debug", "digest"]), first);
        h.run(&["expire", "l", "100"]);
        let with_expiry = h.text(&["debug", "digest"]);
        assert_ne!(with_expiry, first);
        h.run(&["persist", "l"]);
        h.run(&["lset", "l", "0", "y"]);
        assert_ne!(h.text(&["debug", "digest"]), first);
        let values = h.text(&["debug", "digest-value", "s", "nokey"]);
        assert!(
            values.ends_with("+0000000000000000000000000000000000000000\r\n"),
            "{values}"
        );
        h.run(&["sadd", "s2", "b", "c", "a"]);
        let s = h.text(&["debug", "digest-value", "s"]);
        assert_eq!(s, h.text(&["debug", "digest-value", "s2"]));
    }

    #[test]
    fn reload_without_persistence_keeps_values_and_expiries() {
        let mut h = harness();
        h.run(&["set", "n", "12"]);
        h.run(&["zadd", "z", "1.5", "a", "-inf", "b"]);
        h.run(&["expire", "z", "100"]);
        let before = h.text(&["debug", "digest"]);
        assert_eq!(h.text(&["debug", "reload"]), "+OK\r\n");
        assert_eq!(h.text(&["debug", "loadaof"]), "+OK\r\n");
        assert_eq!(h.text(&["debug", "digest"]), before);
        assert_eq!(h.text(&["object", "encoding", "n"]), "$3\r\nint\r\n");
    }

    #[test]
    fn object_line_has_redis_fields() {
        let mut h = harness();
        h.run(&["rpush", "l", "a", "b", "c"]);
        let line = h.text(&["debug", "object", "l"]);
        assert!(line.starts_with("+Value at:0x"), "{line}");
        assert!(
            line.contains(" refcount:1 encoding:quicklist serializedlength:7 lru:"),
            "{line}"
        );
        assert!(
            line.ends_with(
                " lru_seconds_idle:0 ql_nodes:1 ql_avg_node:3.00 ql_listpack_max:-2 \
                 ql_compressed:0 ql_uncompressed_size:16\r\n"
            ),
            "{line}"
        );
    }

    #[test]
    fn protocol_types_in_both_protocols() {
        let mut h = harness();
        h.assert_replies(&[
            (
                &["debug", "protocol", "bignum"],
                "$37\r\n1234567999999999999999999999999999999\r\n",
            ),
            (
                &["debug", "protocol", "attrib"],
                "$39\r\nSome real reply following the attribute\r\n",
            ),
            (
                &["debug", "protocol", "push"],
                "-ERR RESP2 is not supported by this command\r\n",
            ),
            (
                &["debug", "protocol", "map"],
                "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
            ),
        ]);
        h.run(&["hello", "3"]);
        h.assert_replies(&[
            (&["debug", "protocol", "bignum"], "(1234567999999999999999999999999999999\r\n"),
            (
                &["debug", "protocol", "attrib"],
                "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n",
            ),
            (&["debug", "protocol", "true"], "#t\r\n"),
            (&["debug", "protocol", "double"], ",3.141\r\n"),
            (&["debug", "protocol", "verbatim"], "=29\r\ntxt:This is a verbatim\nstring\r\n"),
        ]);
    }

    #[test]
    fn populate_creates_missing_keys_only() {
        let mut h = harness();
        h.run(&["set", "key:1", "mine"]);
        assert_eq!(h.text(&["debug", "populate", "3"]), "+OK\r\n");
        h.assert_replies(&[
            (&["dbsize"], ":3\r\n"),
            (&["get", "key:0"], "$7\r\nvalue:0\r\n"),
            (&["get", "key:1"], "$4\r\nmine\r\n"),
        ]);
        h.run(&["debug", "populate", "1", "p", "10"]);
        assert_eq!(h.text(&["get", "p:0"]), "$10\r\nvalue:0\0\0\0\r\n");
    }

    #[test]
    fn quicklist_shape_follows_the_fill_setting() {
        let small = vec![&b"a"[..]; 3];
        assert_eq!(quicklist_shape(small.into_iter(), -2), (1, 16));
        let many = vec![&b"x"[..]; 10];
        assert_eq!(quicklist_shape(many.into_iter(), 4).0, 3);
    }
}
