//! Administration: MONITOR, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, WAIT, ROLE, MEMORY, TIME,
//! SHUTDOWN.

use super::client::client_buffer_bytes;
use crate::commands::args::is_keyword;
use crate::commands::reply::help_reply;
use crate::commands::table::CommandSpec;
use crate::commands::{Args, CmdError, CmdResult, Ctx, Shutdown};
use crate::process::rss_bytes;

pub fn monitor(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    if ctx.client.in_multi {
        return Err(CmdError::msg(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    // Already monitoring: Redis ignores the call without a reply.
    if !ctx.client.monitor {
        ctx.client.monitor = true;
        ctx.server.monitors.push(ctx.client.id);
        ctx.out.ok();
    }
    Ok(())
}

/// Streams a command that just ran to every MONITOR client, in Redis's format:
/// `+<unix secs>.<micros> [<db> <addr>] "arg" "arg"...`, arguments escaped as Redis's
/// `sdscatrepr` does and passwords redacted.
pub fn feed_monitors(ctx: &mut Ctx, spec: &CommandSpec, argv: &[&[u8]]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        ctx.client.db,
        if ctx.client.in_script {
            "lua"
        } else {
            &ctx.client.addr
        }
    )
    .into_bytes();
    for (i, arg) in argv.iter().enumerate() {
        line.push(b' ');
        if crate::commands::stats::is_redacted(spec, argv, i) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            quote_repr(arg, &mut line);
        }
    }
    line.extend_from_slice(b"\r\n");
    let me = ctx.client.id;
    for &id in &ctx.server.monitors {
        if id == me {
            ctx.out.raw(&line);
        } else {
            ctx.server.outbox.deliver(id, &line, false);
        }
    }
}

/// Quotes bytes as Redis's `sdscatrepr`: `"`, then printable ASCII as is, `\\ \" \n \r \t
/// \a \b` escaped, anything else as `\xHH`, then `"`.
fn quote_repr(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = std::io::Write::write_fmt(out, format_args!("\\x{b:02x}"));
            }
        }
    }
    out.push(b'"');
}

pub fn dbsize(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let size = ctx.db().len();
    ctx.out.int(size as i64);
    Ok(())
}

/// `[ASYNC|SYNC]`: whether the flushed data is freed off the reactor thread.
fn flush_async(args: &mut Args) -> Result<bool, CmdError> {
    let asynchronously = args.eat("async");
    if !asynchronously && !args.is_empty() && !args.eat("sync") {
        return Err(CmdError::Syntax);
    }
    args.finish()?;
    Ok(asynchronously)
}

pub fn flushdb(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let asynchronously = flush_async(args)?;
    let flushed = ctx.db().flush();
    ctx.server.free_flushed(flushed, asynchronously);
    ctx.out.ok();
    Ok(())
}

pub fn flushall(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let asynchronously = flush_async(args)?;
    for flushed in ctx.ks.flush_all() {
        ctx.server.free_flushed(flushed, asynchronously);
    }
    ctx.out.ok();
    Ok(())
}

pub fn swapdb(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let index = |arg: &[u8], which: &str| {
        crate::commands::args::int_arg(arg)
            .ok()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| CmdError::msg(format!("ERR invalid {which} DB index")))
    };
    let first = index(args.bytes()?, "first")?;
    let second = index(args.bytes()?, "second")?;
    let (Ok(first), Ok(second)) = (usize::try_from(first), usize::try_from(second)) else {
        return Err(CmdError::msg("ERR DB index is out of range"));
    };
    // MongoDB stores a cold value under its database's number, and persistence rewrites
    // swapped databases from memory, where a cold key has no value to write.
    if first != second && ctx.ks.cold_keys(first) + ctx.ks.cold_keys(second) > 0 {
        return Err(CmdError::msg(
            "ERR SWAPDB cannot swap databases holding cold keys (values kept in MongoDB only, \
             maxmemory-tiering)",
        ));
    }
    if !ctx.ks.swap_dbs(first, second) {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.out.ok();
    Ok(())
}

/// WAIT: there are never replicas, so no write can be acknowledged by any: the reply is 0,
/// given at once (Redis, asked for more replicas than it has, would first wait out the
/// timeout, or forever with 0).
/// READONLY and READWRITE: cluster commands, refused as by a Redis with cluster support
/// disabled (Reddish runs as a single node). They exist so that ACL rules can name them.
pub fn cluster_disabled(_ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    Err(CmdError::msg(
        "ERR This instance has cluster support disabled",
    ))
}

pub fn wait(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    // Redis 7.0 reads the timeout with these checks only (no overflow check in milliseconds).
    args.int()?;
    let timeout = crate::commands::args::int_arg(args.bytes()?)
        .map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    ctx.out.int(0);
    Ok(())
}

/// ROLE: always a master with no replicas and replication offset 0.
pub fn role(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}

/// MEMORY USAGE: our own estimate of the key's footprint (see `store::footprint`).
pub fn memory_usage(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let mut samples = 5usize;
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat("samples") {
            let n = args.int()?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            samples = n as usize;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    match ctx.db().lookup_write(key) {
        Some(value) => {
            let bytes = crate::store::footprint::usage(key, value, samples);
            ctx.out.int(bytes as i64);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// What Redis counts as overhead rather than data (MEMORY STATS, INFO's
/// `used_memory_overhead` and `used_memory_dataset`): the memory in use at start, client
/// buffers, and each database's table slots for its keys and expiries.
pub(super) struct MemoryOverhead {
    pub startup: u64,
    pub clients_normal: u64,
    /// (database, bytes for its keys' slots, bytes for its expiries' slots), non-empty ones.
    pub dbs: Vec<(usize, u64, u64)>,
    pub keys: u64,
    pub total: u64,
}

impl MemoryOverhead {
    pub fn of(ctx: &Ctx) -> MemoryOverhead {
        let slot = crate::store::footprint::usage(
            b"",
            &crate::store::Value::Str(Default::default(), Default::default()),
            0,
        ) as u64;
        let expire_slot = (std::mem::size_of::<crate::store::Key>() + 8 + 9) as u64;
        let sizes = ctx.ks.sizes();
        let dbs: Vec<(usize, u64, u64)> = sizes
            .iter()
            .enumerate()
            .filter(|(_, (keys, _))| *keys > 0)
            .map(|(index, (keys, expires))| {
                (index, *keys as u64 * slot, *expires as u64 * expire_slot)
            })
            .collect();
        let startup = ctx.server.startup_memory;
        let clients_normal = client_buffer_bytes(ctx);
        let total = startup + clients_normal + dbs.iter().map(|(_, m, e)| m + e).sum::<u64>();
        MemoryOverhead {
            startup,
            clients_normal,
            dbs,
            keys: sizes.iter().map(|(k, _)| *k as u64).sum(),
            total,
        }
    }

    /// The data's bytes and their share of what was allocated since start, in percent, as
    /// Redis computes `dataset.percentage`.
    pub fn dataset(&self, allocated: u64) -> (u64, f64) {
        let dataset = allocated.saturating_sub(self.total);
        let net = allocated.saturating_sub(self.startup).max(1);
        (dataset, dataset as f64 * 100.0 / net as f64)
    }
}

/// MEMORY STATS: Redis 7.0's fields, in its order, with the figures Reddish has (the
/// allocator's as INFO gives them).
pub fn memory_stats(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let allocated = (ctx.server.used_memory)() as u64;
    let peak = ctx.server.peak_memory.max(allocated);
    let rss = rss_bytes();
    let overhead = MemoryOverhead::of(ctx);
    let (dataset, dataset_percent) = overhead.dataset(allocated);
    let functions = ctx.server.scripting.libraries.library_count() as u64;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    ctx.out.map(27 + overhead.dbs.len());
    let int = |ctx: &mut Ctx, name: &str, value: i64| {
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(value);
    };
    let double = |ctx: &mut Ctx, name: &str, value: f64| {
        ctx.out.bulk(name.as_bytes());
        ctx.out.double(value);
    };
    int(ctx, "peak.allocated", peak as i64);
    int(ctx, "total.allocated", allocated as i64);
    int(ctx, "startup.allocated", overhead.startup as i64);
    int(ctx, "replication.backlog", 0);
    int(ctx, "clients.slaves", 0);
    int(ctx, "clients.normal", overhead.clients_normal as i64);
    int(ctx, "cluster.links", 0);
    int(ctx, "aof.buffer", 0);
    int(ctx, "lua.caches", 0);
    int(ctx, "functions.caches", functions as i64);
    for (index, main, expires) in &overhead.dbs {
        ctx.out.bulk(format!("db.{index}").as_bytes());
        ctx.out.map(3);
        int(ctx, "overhead.hashtable.main", *main as i64);
        int(ctx, "overhead.hashtable.expires", *expires as i64);
        int(ctx, "overhead.hashtable.slot-to-keys", 0);
    }
    int(ctx, "overhead.total", overhead.total as i64);
    int(ctx, "keys.count", overhead.keys as i64);
    let net = allocated.saturating_sub(overhead.startup);
    int(
        ctx,
        "keys.bytes-per-key",
        net.checked_div(overhead.keys).unwrap_or(0) as i64,
    );
    int(ctx, "dataset.bytes", dataset as i64);
    double(ctx, "dataset.percentage", dataset_percent);
    double(ctx, "peak.percentage", ratio(allocated * 100, peak));
    let figures = crate::memory::allocator_figures(allocated, rss);
    let (active, resident) = (figures.active, figures.resident);
    int(ctx, "allocator.allocated", figures.allocated as i64);
    int(ctx, "allocator.active", active as i64);
    int(ctx, "allocator.resident", resident as i64);
    double(
        ctx,
        "allocator-fragmentation.ratio",
        ratio(active, figures.allocated),
    );
    int(
        ctx,
        "allocator-fragmentation.bytes",
        active as i64 - figures.allocated as i64,
    );
    double(ctx, "allocator-rss.ratio", ratio(resident, active));
    int(ctx, "allocator-rss.bytes", resident as i64 - active as i64);
    double(ctx, "rss-overhead.ratio", ratio(rss, resident));
    int(ctx, "rss-overhead.bytes", rss as i64 - resident as i64);
    double(ctx, "fragmentation", ratio(rss, allocated));
    int(ctx, "fragmentation.bytes", rss as i64 - allocated as i64);
    Ok(())
}

/// MEMORY DOCTOR: only the emptiness check of Redis's report is made here.
pub fn memory_doctor(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let text: &[u8] = if (ctx.server.used_memory)() < 5 << 20 {
        b"Hi Sam, this instance is empty or is using very little memory, my issues detector \
          can't be used in these conditions. Please, leave for your mission on Earth and fill \
          it with some data. The new Sam and I will be back to our programming as soon as I \
          finished rebooting.\n"
    } else {
        b"Hi Sam, I can't find any memory issue in your instance. I can only account for what \
          occurs on this base.\n"
    };
    ctx.out.verbatim(text);
    Ok(())
}

/// MEMORY MALLOC-STATS: jemalloc's report; the system allocator gives none, in Redis's
/// words for libc malloc.
pub fn memory_malloc_stats(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    match crate::memory::malloc_stats() {
        Some(report) => ctx.out.verbatim(report.as_bytes()),
        None => ctx
            .out
            .bulk(b"Stats not supported for the current allocator"),
    }
    Ok(())
}

/// MEMORY PURGE: jemalloc's unused pages go back to the system, as Redis asks jemalloc (and
/// glibc's, which serve the C libraries or, without jemalloc, everything).
pub fn memory_purge(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    if crate::memory::has_mallctl() && !crate::memory::purge() {
        return Err(CmdError::msg("ERR Error purging dirty pages"));
    }
    crate::process::release_free_memory();
    ctx.out.ok();
    Ok(())
}

pub fn memory_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

pub fn time(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

pub fn shutdown(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let (mut nosave, mut save, mut abort, mut other) = (false, false, false, false);
    for arg in args.rest() {
        if is_keyword(arg, "nosave") {
            nosave = true;
        } else if is_keyword(arg, "save") {
            save = true;
        } else if is_keyword(arg, "abort") {
            abort = true;
        } else if is_keyword(arg, "now") || is_keyword(arg, "force") {
            other = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // Redis's rule: ABORT stands alone, and SAVE and NOSAVE exclude each other.
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // Only a signal's shutdown waits for the cron: SHUTDOWN itself stops at once.
        if !ctx.server.shutdown_asap {
            return Err(CmdError::msg("ERR No shutdown in progress."));
        }
        ctx.server.shutdown_asap = false;
        log::warn!("Shutdown manually aborted.");
        ctx.out.ok();
        return Ok(());
    }
    // A script running past busy-reply-threshold can only be ended with its writes lost.
    if let Some(busy) = ctx.server.scripting.busy.as_ref().filter(|_| !nosave) {
        return Err(CmdError::msg(busy.refusal()));
    }
    let mode = if nosave {
        Shutdown::NoSave
    } else {
        Shutdown::Save
    };
    ctx.server.shutdown = Some(mode);
    ctx.client.close_after_reply = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn select_and_flush() {
        let mut h = Harness::new();
        assert_eq!(
            h.text(&["select", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            h.text(&["select", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        h.run(&["set", "a", "1"]);
        h.assert_replies(&[
            (&["dbsize"], ":1\r\n"),
            (&["flushdb", "bogus"], "-ERR syntax error\r\n"),
            (&["flushdb"], "+OK\r\n"),
            (&["dbsize"], ":0\r\n"),
        ]);
    }
}
