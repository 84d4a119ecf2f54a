//! What the server measures about the commands it runs: calls, time, rejections and failures
//! per command (INFO commandstats), error replies by code (INFO errorstats), and the SLOWLOG.
//!
//! Every figure comes from one clock reading before and one after each command ([`call`]),
//! plus counters indexed by the command's id in the command table, so the cost per command is
//! two `Instant::now()` and a few additions. The same measurement feeds the per-command
//! latency histograms and the latency monitor ([`super::latency`]).
//!
//! [`call`]: super::call

use super::latency::{self, LatencyHistogram};
use super::reply::help_reply;
use super::table::{row_count, CommandSpec, Flags, COMMANDS};
use super::{Args, CmdError, CmdResult, Ctx};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

/// Counters of one command (or subcommand), as INFO commandstats reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandCounters {
    /// Times the command ran.
    pub calls: u64,
    /// Microseconds spent running it.
    pub usec: u64,
    /// Times it was refused before running (arity, NOAUTH, pub/sub context...).
    pub rejected_calls: u64,
    /// Times it ran and replied with an error.
    pub failed_calls: u64,
}

/// Redis stops counting new error codes past this many distinct ones, so a client sending
/// made-up error prefixes cannot grow the table without bound.
const MAX_ERROR_CODES: usize = 128;

/// Per-command counters and error counts; CONFIG RESETSTAT clears them.
#[derive(Debug, Clone)]
pub struct CommandStats {
    /// Indexed by [`CommandSpec::id`].
    commands: Vec<CommandCounters>,
    /// Error replies by code (`ERR`, `WRONGTYPE` ...), in code order as INFO lists them.
    /// The codes are bytes: a script's error can start with any (Redis's replies are
    /// binary-safe).
    errors: BTreeMap<Box<[u8]>, u64>,
    /// Run-time histograms (`latency-tracking`), indexed by [`CommandSpec::id`]; each is
    /// allocated when its command first runs with tracking on.
    histograms: Vec<Option<Box<LatencyHistogram>>>,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats {
            commands: vec![CommandCounters::default(); row_count()],
            errors: BTreeMap::new(),
            histograms: vec![None; row_count()],
        }
    }
}

impl CommandStats {
    /// Counts one run of `spec` that took `usec` microseconds. O(1).
    #[inline]
    pub fn record_call(&mut self, spec: &'static CommandSpec, usec: u64, failed: bool) {
        if let Some(counters) = self.commands.get_mut(spec.id) {
            counters.calls += 1;
            counters.usec += usec;
            counters.failed_calls += u64::from(failed);
        }
    }

    /// Adds a run of `spec` that took `usec` microseconds to its latency histogram. O(1); the
    /// first run of a command allocates its histogram.
    #[inline]
    pub fn record_latency(&mut self, spec: &'static CommandSpec, usec: u64) {
        let Some(slot) = self.histograms.get_mut(spec.id) else {
            return;
        };
        slot.get_or_insert_with(Box::default).record_usec(usec);
    }

    /// The latency histogram of `spec`, if it ran while tracking was on.
    pub fn histogram(&self, spec: &'static CommandSpec) -> Option<&LatencyHistogram> {
        self.histograms.get(spec.id)?.as_deref()
    }

    /// Counts a refusal of `spec` before it ran. O(1).
    pub fn record_rejection(&mut self, spec: &'static CommandSpec) {
        if let Some(counters) = self.commands.get_mut(spec.id) {
            counters.rejected_calls += 1;
        }
    }

    /// Counts an error reply by its code: the first word of the text when a space comes
    /// within Redis's 32-byte window (the `-` included), else `ERR`. O(log codes).
    pub fn record_error(&mut self, text: impl AsRef<[u8]>) {
        let text = text.as_ref();
        let window = &text[..text.len().min(31)];
        // The reply turns CR and LF into spaces (see `ReplyBuf::error`); so does the count,
        // or a code would carry a line break into INFO.
        let code = match memchr::memchr3(b' ', b'\r', b'\n', window) {
            Some(end) => &text[..end],
            None => b"ERR",
        };
        if let Some(count) = self.errors.get_mut(code) {
            *count += 1;
        } else if self.errors.len() < MAX_ERROR_CODES {
            self.errors.insert(code.into(), 1);
        }
    }

    /// The counters of `spec`.
    pub fn counters(&self, spec: &'static CommandSpec) -> CommandCounters {
        self.commands.get(spec.id).copied().unwrap_or_default()
    }

    /// Appends the INFO `commandstats` section: one line per command that was called,
    /// refused or failed at least once.
    pub fn write_commandstats(&self, out: &mut String) {
        out.push_str("# Commandstats\r\n");
        let all = COMMANDS
            .iter()
            .flat_map(|spec| std::iter::once(spec).chain(spec.subcommands.iter()));
        for spec in all {
            let c = self.counters(spec);
            if c == CommandCounters::default() {
                continue;
            }
            let per_call = if c.calls == 0 {
                0.0
            } else {
                c.usec as f64 / c.calls as f64
            };
            let _ = write!(
                out,
                "cmdstat_{}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                spec.full_name, c.calls, c.usec, c.rejected_calls, c.failed_calls
            );
        }
    }

    /// Appends the INFO `errorstats` section (bytes: an error code need not be UTF-8).
    pub fn write_errorstats(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"# Errorstats\r\n");
        for (code, count) in &self.errors {
            out.extend_from_slice(b"errorstat_");
            out.extend_from_slice(code);
            out.extend_from_slice(b":count=");
            out.extend_from_slice(itoa::Buffer::new().format(*count).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Whether argument `index` of a command must not be shown (SLOWLOG, MONITOR), as the
/// command's row says.
pub fn is_redacted(spec: &CommandSpec, argv: &[&[u8]], index: usize) -> bool {
    spec.redact.is_some_and(|redact| redact(argv, index))
}

/// Most arguments a SLOWLOG entry keeps; the last kept slot says how many more there were.
const SLOWLOG_MAX_ARGC: usize = 32;
/// Longest argument a SLOWLOG entry keeps whole.
const SLOWLOG_MAX_ARG_BYTES: usize = 128;

/// One SLOWLOG entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowlogEntry {
    pub id: u64,
    /// Unix seconds when the command ran.
    pub time: u64,
    pub usec: u64,
    /// The arguments as Redis keeps them: at most 32, each at most 128 bytes plus a note of
    /// what was cut, secrets redacted.
    pub argv: Vec<Vec<u8>>,
    pub addr: String,
    pub name: Vec<u8>,
}

/// The SLOWLOG: the latest commands that took at least `slowlog-log-slower-than` µs.
#[derive(Debug, Default)]
pub struct Slowlog {
    /// Newest first.
    entries: VecDeque<SlowlogEntry>,
    next_id: u64,
}

impl Slowlog {
    /// Adds an entry for a command run (trimmed as Redis trims it), dropping the oldest
    /// entries beyond `max_len`. O(arguments kept).
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        spec: &CommandSpec,
        argv: &[&[u8]],
        usec: u64,
        time: u64,
        addr: &str,
        name: Option<&[u8]>,
        max_len: u64,
    ) {
        let shown = if argv.len() > SLOWLOG_MAX_ARGC {
            SLOWLOG_MAX_ARGC - 1
        } else {
            argv.len()
        };
        let mut kept: Vec<Vec<u8>> = Vec::with_capacity(shown + 1);
        for (index, arg) in argv.iter().enumerate().take(shown) {
            if is_redacted(spec, argv, index) {
                kept.push(b"(redacted)".to_vec());
            } else if arg.len() > SLOWLOG_MAX_ARG_BYTES {
                let mut cut = arg[..SLOWLOG_MAX_ARG_BYTES].to_vec();
                let note = format!("... ({} more bytes)", arg.len() - SLOWLOG_MAX_ARG_BYTES);
                cut.extend_from_slice(note.as_bytes());
                kept.push(cut);
            } else {
                kept.push(arg.to_vec());
            }
        }
        if shown < argv.len() {
            kept.push(format!("... ({} more arguments)", argv.len() - shown).into_bytes());
        }
        self.entries.push_front(SlowlogEntry {
            id: self.next_id,
            time,
            usec,
            argv: kept,
            addr: addr.to_string(),
            name: name.unwrap_or_default().to_vec(),
        });
        self.next_id += 1;
        self.entries.truncate(max_len as usize);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties the log; ids keep counting, as in Redis.
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Entries, newest first.
    pub fn entries(&self) -> impl Iterator<Item = &SlowlogEntry> {
        self.entries.iter()
    }
}

/// Called after every command run with how long it took: counts it, adds it to its latency
/// histogram and, when slow enough, to the latency monitor and the SLOWLOG. Costs a few
/// additions, a histogram increment and two comparisons unless something is logged.
// Inlined into `call` as `call` is into `execute`: out of line, the call itself cost more
// than the histogram increment (measured under callgrind).
#[inline(always)]
pub fn after_call(
    ctx: &mut Ctx,
    spec: &'static CommandSpec,
    argv: &[&[u8]],
    usec: u64,
    failed: bool,
) {
    // As in Redis, even the run that only found it must block is a latency event.
    latency::sample_command_if_slow(ctx.server, spec, usec);
    // A command that blocked is counted when it is served (its run is repeated then).
    if ctx.client.block.is_some() {
        return;
    }
    ctx.server.command_stats.record_call(spec, usec, failed);
    if ctx.server.config.latency_tracking {
        ctx.server.command_stats.record_latency(spec, usec);
    }
    let threshold = ctx.server.config.slowlog_log_slower_than;
    if threshold >= 0 && usec >= threshold as u64 && !spec.flags.contains(Flags::SKIP_SLOWLOG) {
        log_slow(ctx, spec, argv, usec);
    }
}

/// A blocked command answered without running again: counted as one call, as Redis counts
/// it when it unblocks the client. Redis 7.0 counts a CLIENT UNBLOCK (either form) as a
/// failed call and a timeout as a successful one; `failed` says which.
pub fn record_unblocked(server: &mut super::Server, argv: &[Vec<u8>], failed: bool) {
    let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    if let Some(spec) = super::named_spec(&argv) {
        server.command_stats.record_call(spec, 0, failed);
        if server.config.latency_tracking {
            server.command_stats.record_latency(spec, 0);
        }
    }
}

/// Counts an error reply in INFO stats and errorstats.
pub fn record_error_reply(server: &mut super::Server, text: impl AsRef<[u8]>) {
    server.stats.total_error_replies += 1;
    server.command_stats.record_error(text);
}

#[cold]
fn log_slow(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]], usec: u64) {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let max_len = ctx.server.config.slowlog_max_len;
    ctx.server.slowlog.push(
        spec,
        argv,
        usec,
        time,
        &ctx.client.addr,
        ctx.client.name.as_deref(),
        max_len,
    );
}

pub fn slowlog_get(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mut count = 10usize;
    if !args.is_empty() {
        if args.remaining() > 1 {
            return Err(args.subcommand_syntax_error());
        }
        let wanted = super::args::int_arg(args.bytes()?)
            .ok()
            .filter(|&n| n >= -1)
            .ok_or_else(|| CmdError::msg("ERR count should be greater than or equal to -1"))?;
        count = if wanted == -1 {
            usize::MAX
        } else {
            wanted as usize
        };
    }
    let shown = count.min(ctx.server.slowlog.len());
    ctx.out.array(shown);
    for entry in ctx.server.slowlog.entries.iter().take(shown) {
        ctx.out.array(6);
        ctx.out.int(entry.id as i64);
        ctx.out.int(entry.time as i64);
        ctx.out.int(entry.usec as i64);
        ctx.out.array(entry.argv.len());
        for arg in &entry.argv {
            ctx.out.bulk(arg);
        }
        ctx.out.bulk(entry.addr.as_bytes());
        ctx.out.bulk(&entry.name);
    }
    Ok(())
}

pub fn slowlog_len(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.int(ctx.server.slowlog.len() as i64);
    Ok(())
}

pub fn slowlog_reset(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.server.slowlog.reset();
    ctx.out.ok();
    Ok(())
}

pub fn slowlog_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::lookup;
    use crate::commands::testing::Harness;

    #[test]
    fn error_codes_are_the_first_word() {
        let mut stats = CommandStats::default();
        stats.record_error("ERR syntax error");
        stats.record_error("WRONGTYPE Operation against a key");
        stats.record_error("ERR x");
        stats.record_error("NOSPACEINTHEFIRSTTHIRTYTWOBYTESATALL x");
        stats.record_error(b"\xff\xfeBAD oops");
        stats.record_error(b"ERR\r\ninjected:count=9 x");
        let mut out = Vec::new();
        stats.write_errorstats(&mut out);
        assert_eq!(
            out,
            b"# Errorstats\r\nerrorstat_ERR:count=4\r\nerrorstat_WRONGTYPE:count=1\r\n\
              errorstat_\xff\xfeBAD:count=1\r\n"
        );
    }

    #[test]
    fn slowlog_trims_arguments_like_redis() {
        let mut log = Slowlog::default();
        let long = vec![b'x'; 200];
        let mut argv: Vec<&[u8]> = vec![b"RPUSH", b"l"];
        let numbers: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        argv.extend(numbers.iter().map(|n| n.as_bytes()));
        argv[5] = &long;
        let spec = lookup(b"rpush").unwrap();
        log.push(spec, &argv, 7, 100, "1.2.3.4:5", None, 2);
        let entry = log.entries().next().unwrap();
        assert_eq!(entry.argv.len(), 32);
        assert_eq!(entry.argv[31], b"... (11 more arguments)");
        assert_eq!(entry.argv[5].len(), 128 + "... (72 more bytes)".len());
        assert!(entry.argv[5].ends_with(b"... (72 more bytes)"));
        for id in 0..3 {
            log.push(spec, &argv[..2], id, 100, "a", Some(b"n"), 2);
        }
        assert_eq!(log.len(), 2);
        assert_eq!(log.entries().next().unwrap().id, 3);
    }

    #[test]
    fn secrets_are_redacted() {
        let auth = lookup(b"auth").unwrap();
        let argv: Vec<&[u8]> = vec![b"AUTH", b"u", b"p"];
        assert!(!is_redacted(auth, &argv, 0));
        assert!(is_redacted(auth, &argv, 1) && is_redacted(auth, &argv, 2));
        let hello = lookup(b"hello").unwrap();
        let argv: Vec<&[u8]> = vec![b"HELLO", b"3", b"AUTH", b"auth", b"pw", b"SETNAME", b"x"];
        let hidden: Vec<usize> = (0..argv.len())
            .filter(|&i| is_redacted(hello, &argv, i))
            .collect();
        assert_eq!(hidden, vec![3, 4]);
        let set = lookup(b"config").unwrap().subcommand(b"set").unwrap();
        let argv: Vec<&[u8]> = vec![b"CONFIG", b"SET", b"requirepass", b"pw", b"hz", b"5"];
        let hidden: Vec<usize> = (0..argv.len())
            .filter(|&i| is_redacted(set, &argv, i))
            .collect();
        assert_eq!(hidden, vec![3]);
    }

    #[test]
    fn slowlog_commands_reply_as_redis() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["slowlog", "len"], ":0\r\n"),
            (&["slowlog", "get", "-2"], "-ERR count should be greater than or equal to -1\r\n"),
            (&["slowlog", "get", "1", "2"], "-ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.\r\n"),
        ]);
        h.run(&["config", "set", "slowlog-log-slower-than", "0"]);
        h.run(&["set", "k", "v"]);
        let reply = h.text(&["slowlog", "get", "1"]);
        assert!(
            reply.starts_with("*1\r\n*6\r\n:1\r\n:") && reply.contains("*3\r\n$3\r\nset\r\n"),
            "{reply}"
        );
        assert_eq!(h.text(&["slowlog", "reset"]), "+OK\r\n");
        assert_eq!(
            h.text(&["slowlog", "len"]),
            ":1\r\n",
            "RESET itself is logged"
        );
    }

    #[test]
    fn commandstats_count_calls_failures_and_rejections() {
        let mut h = Harness::new();
        h.run(&["set", "k", "v"]);
        h.run(&["get", "k"]);
        h.run(&["get"]);
        h.run(&["lpush", "k", "x"]);
        let info = h.text(&["info", "commandstats"]);
        assert!(
            info.contains("cmdstat_get:calls=1,usec=")
                && info.contains(",rejected_calls=1,failed_calls=0\r\n"),
            "{info}"
        );
        assert!(info.contains("cmdstat_lpush:calls=1,"), "{info}");
        assert!(
            info.contains(",rejected_calls=0,failed_calls=1\r\n"),
            "{info}"
        );
        let errors = h.text(&["info", "errorstats"]);
        assert!(
            errors.contains("errorstat_ERR:count=1\r\nerrorstat_WRONGTYPE:count=1\r\n"),
            "{errors}"
        );
        h.run(&["config", "resetstat"]);
        let info = h.text(&["info", "commandstats"]);
        assert!(!info.contains("cmdstat_get"), "{info}");
        assert!(info.contains("cmdstat_config|resetstat:calls=1"), "{info}");
    }
}
