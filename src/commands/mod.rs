//! Commands: the command table, argument parsing, and one handler module per family.
//!
//! A handler parses and checks all its arguments first, calls one store operation, then
//! writes the reply. Errors travel as [`CmdError`] and become Redis's exact error replies here,
//! the only place store errors are turned into protocol.

pub mod acl;
pub mod args;
pub mod bitmaps;
pub mod blocking;
pub mod docs;
pub mod dump;
pub mod eviction;
pub mod geo;
pub mod graphs;
pub mod hashes;
pub mod hyperloglog;
pub mod journal;
pub mod keys;
pub mod latency;
pub mod lists;
pub mod migrate;
pub mod persistence;
pub mod piles;
pub mod pubsub;
pub mod queues;
pub mod reply;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod standalone;
pub mod stats;
pub mod streams;
pub mod strings;
pub mod table;
pub mod tiering;
pub mod tracking;
pub mod transactions;
pub mod trees;
pub mod zsets;

use crate::config::Config;
use crate::protocol::ReplyBuf;
use crate::store::access::AccessPolicy;
use crate::store::pubsub::PubSub;
use crate::store::{DbMut, Key, Keyspace, StoreError};
pub use args::Args;
pub use pubsub::{Delivery, Outbox};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::borrow::Cow;
pub use table::{lookup, CommandSpec, Flags};
pub use transactions::Transaction;

/// Why a command failed; becomes an error reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CmdError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// A complete error text, code included.
    #[error("{0}")]
    Msg(Cow<'static, str>),
    /// A complete error text holding bytes a client sent, which need not be UTF-8 (an
    /// unknown command's name, a script's error): Redis's error replies are binary-safe.
    #[error("{}", String::from_utf8_lossy(.0))]
    Bytes(Vec<u8>),
    /// An error reply already in the error statistics: a script's error that came from a
    /// command it called, counted when that command failed (the command that replies with it
    /// still counts as a failed call).
    #[error("{}", String::from_utf8_lossy(.0))]
    Counted(Vec<u8>),
}

impl CmdError {
    /// An error with a complete text (`ERR ...`, `WRONGTYPE ...`).
    pub fn msg(text: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Msg(text.into())
    }

    /// An error whose text joins `parts`, some of them bytes a client sent (a key, an option),
    /// kept as sent: Redis's error replies are binary-safe.
    pub fn concat(parts: &[&[u8]]) -> Self {
        CmdError::Bytes(parts.concat())
    }

    /// The error reply's bytes, as Redis sends them.
    pub fn reply_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            CmdError::Bytes(bytes) | CmdError::Counted(bytes) => Cow::Borrowed(bytes),
            other => match other.reply_text() {
                Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            },
        }
    }

    /// The error reply text, as Redis words it (bytes that are not UTF-8 shown as U+FFFD: for
    /// logs; the reply itself is [`CmdError::reply_bytes`]).
    pub fn reply_text(&self) -> Cow<'_, str> {
        match self {
            CmdError::Store(e) => Cow::Borrowed(match e {
                StoreError::WrongType => {
                    "WRONGTYPE Operation against a key holding the wrong kind of value"
                }
                StoreError::NotInteger => "ERR value is not an integer or out of range",
                StoreError::NotFloat => "ERR value is not a valid float",
                StoreError::Overflow => "ERR increment or decrement would overflow",
                StoreError::NanOrInfinity => "ERR increment would produce NaN or Infinity",
                StoreError::NoSuchKey => "ERR no such key",
                StoreError::IndexOutOfRange => "ERR index out of range",
                StoreError::StringTooLong => {
                    "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
                }
                StoreError::SameObject => "ERR source and destination objects are the same",
                StoreError::Invalid(text) => return Cow::Owned(format!("ERR {text}")),
            }),
            CmdError::Syntax => Cow::Borrowed("ERR syntax error"),
            CmdError::NotInteger => Cow::Borrowed("ERR value is not an integer or out of range"),
            CmdError::NotFloat => Cow::Borrowed("ERR value is not a valid float"),
            CmdError::Msg(text) => Cow::Borrowed(text),
            CmdError::Bytes(bytes) | CmdError::Counted(bytes) => String::from_utf8_lossy(bytes),
        }
    }
}

/// What a handler returns.
pub type CmdResult = Result<(), CmdError>;

/// Per-connection state the commands see and change.
#[derive(Debug, Clone, Default)]
pub struct ClientState {
    /// Unique, never reused (CLIENT ID).
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// Passed AUTH (or connected while no `requirepass` was set): only then may it run
    /// commands while a password is required. False by default, so a connection someone forgot
    /// to set up is refused rather than let in.
    pub authenticated: bool,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    /// Connected through the Unix socket (CLIENT LIST flag `U`).
    pub unix_socket: bool,
    pub created_ms: u64,
    pub last_interaction_ms: u64,
    /// Full name of the last command run (`client|list`).
    pub last_command: &'static str,
    /// Close the connection once pending replies are written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Set by a blocking command that found nothing to take; the reactor parks the client.
    pub block: Option<blocking::BlockRequest>,
    /// Set by the reactor while it runs a parked command again: the key that became ready,
    /// the only one the command may take from on that run (see [`blocking::serving_keys`]).
    pub served_key: Option<Key>,
    /// Commands run as part of a transaction: blocking commands must not wait.
    pub in_multi: bool,
    /// The client a script's commands run as.
    pub in_script: bool,
    /// Set by MULTI: the commands queued for EXEC. `None` outside a transaction.
    pub multi: Option<Transaction>,
    /// Keys this client WATCHes, as (database, key).
    pub watched: Vec<(usize, Key)>,
    /// Channel, pattern and shard-channel subscriptions (CLIENT LIST sub, psub, ssub). Any
    /// of them puts a RESP2 connection in the pub/sub context.
    pub subscriptions: [u32; 3],
    /// MONITOR was called: every command run by anyone is streamed to this client.
    pub monitor: bool,
    /// CLIENT REPLY.
    pub reply_mode: ReplyMode,
    /// The running command replied with pub/sub pushes ((UN)SUBSCRIBE confirmations) or an
    /// RDB snapshot (SYNC), which Redis delivers even under CLIENT REPLY OFF or SKIP. Only set
    /// while the mode is not On.
    pub replied_with_push: bool,
    /// Where the running command's reply starts in the reply buffer, past the keyspace pushes
    /// put ahead of it: the events the store records during a command's lookups (`expired`,
    /// `new`, `keymiss`) go there, before the reply, as Redis sends them during the lookup.
    pub reply_start: usize,
    /// Bytes of this client's BCAST tracking prefixes (kept by CLIENT TRACKING), so that
    /// client eviction sees them as Redis does.
    pub tracking_prefix_memory: usize,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
    /// The ACL user the connection runs as (the default user until AUTH): a snapshot,
    /// brought up to date when [`Self::acl_epoch`] falls behind the server's (see [`acl`]).
    pub user: acl::UserRef,
    /// The [`acl::Acl::epoch`] `user` was taken at; 0 (never current) until set.
    pub acl_epoch: u64,
    /// `user` may run anything on any key and channel: no check needed.
    pub acl_unrestricted: bool,
    /// The last command this client ran without subcommands: clients tend to repeat
    /// commands, and one name comparison is cheaper than a table lookup.
    pub last_spec: Option<&'static CommandSpec>,
    /// SCRIPT DEBUG YES or SYNC: this client's next EVAL runs in a Lua debugging session.
    pub lua_debug: Option<scripting::DebugMode>,
    /// What REPLCONF asked of this connection's SYNC (`redis-cli --rdb`).
    pub snapshot: server::replication::SnapshotState,
}

/// Bytes one pub/sub subscription costs a client, estimated as Redis does: the entry in the
/// client's own set and its id in the channel's set.
const SUBSCRIPTION_BYTES: usize = 2 * (std::mem::size_of::<Key>() + 2 * std::mem::size_of::<u64>());

/// Bytes one WATCHed key costs a client beyond its entry in [`ClientState::watched`]: the
/// keyspace's record of the watcher.
const WATCH_BYTES: usize = std::mem::size_of::<Key>() + 2 * std::mem::size_of::<u64>();

impl ClientState {
    /// Bytes this state holds beyond the connection's buffers: the MULTI queue, watched keys,
    /// subscriptions, names. O(1): kept figures and capacities, no walk.
    pub fn memory(&self) -> usize {
        let names = [&self.name, &self.lib_name, &self.lib_ver]
            .iter()
            .map(|n| n.as_ref().map_or(0, Vec::capacity))
            .sum::<usize>();
        let subscriptions = self
            .subscriptions
            .iter()
            .map(|&n| n as usize)
            .sum::<usize>();
        self.multi_memory()
            + names
            + self.addr.capacity()
            + self.laddr.capacity()
            + subscriptions * SUBSCRIPTION_BYTES
            + self.tracking_prefix_memory
    }

    /// Bytes held for MULTI and WATCH (CLIENT LIST `multi-mem`, as Redis counts it).
    pub fn multi_memory(&self) -> usize {
        let queued = self.multi.as_ref().map_or(0, |tx| tx.memory);
        let watched = self.watched.capacity() * std::mem::size_of::<(usize, Key)>()
            + self.watched.len() * WATCH_BYTES;
        queued + watched
    }

    /// True while the client has any pub/sub subscription.
    #[inline]
    pub fn is_subscriber(&self) -> bool {
        self.subscriptions != [0; 3]
    }
}

/// CLIENT REPLY: whether replies are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    #[default]
    On,
    /// No replies until CLIENT REPLY ON.
    Off,
    /// CLIENT REPLY SKIP was just run: the next command's reply is dropped.
    SkipNext,
    /// This command's reply is dropped.
    Skip,
}

/// CLIENT PAUSE in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// Unix ms when the pause ends by itself.
    pub until_ms: u64,
    /// ALL (every command waits) rather than WRITE (only commands that may change data).
    pub all: bool,
}

/// Buffer figures of a connection, supplied by the network layer for CLIENT LIST / INFO and
/// client eviction, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnStats {
    /// Received input not yet consumed (`qbuf`), the header of a big argument still arriving
    /// left out, as Redis leaves it out.
    pub query_buffer: usize,
    /// Room left in the query buffer (`qbuf-free`).
    pub query_buffer_free: usize,
    /// Arguments held for a command, outside the query buffer or parsed from it ahead of the
    /// command being run (`argv-mem`: a parked command's copy, a request still arriving).
    pub argv_memory: usize,
    /// Pending output.
    pub output_bytes: usize,
    /// Bytes allocated for the output.
    pub output_capacity: usize,
    /// The reply buffer's size and the peak of its use since the last reset (`rbs`, `rbp`):
    /// output beyond it counts as Redis's reply list (`oll`, `omem`).
    pub reply_buffer_size: usize,
    pub reply_buffer_peak: usize,
    /// Everything else the connection holds: the query buffer, the decoder, parked
    /// arguments, the connection itself (with `output_capacity` and
    /// [`ClientState::memory`], CLIENT LIST `tot-mem`).
    pub memory: usize,
    pub resp: u8,
    /// Parked by a blocking command.
    pub blocked: bool,
    /// Waiting for the socket to take more output.
    pub writable: bool,
}

/// What Redis's reply blocks hold: 16 KB asked for, which its allocator (jemalloc) rounds up
/// to a 20 KB size class, all of it used.
const REPLY_BLOCK_BYTES: usize = 20 * 1024 - 16;

/// Of `pending` output bytes, those Redis would hold in its reply list rather than its
/// `reply_buffer`-sized buffer, counted in whole blocks as Redis counts them: what
/// `client-output-buffer-limit` limits and CLIENT LIST reports as `omem` (`oll` blocks).
pub fn listed_output(pending: usize, reply_buffer: usize) -> usize {
    output_blocks(pending, reply_buffer) * REPLY_BLOCK_BYTES
}

/// The number of reply blocks of [`listed_output`] (CLIENT LIST `oll`).
pub fn output_blocks(pending: usize, reply_buffer: usize) -> usize {
    pending
        .saturating_sub(reply_buffer)
        .div_ceil(REPLY_BLOCK_BYTES)
}

/// Read access to the other connections (the running one is in [`Ctx::client`]).
pub trait ClientDirectory {
    /// Calls `visit` for every other connection, in id order.
    fn visit(&self, visit: &mut dyn FnMut(&ClientState, ConnStats));

    /// Calls `look` with the other connection with id `id` if it is open, and tells whether
    /// it is. O(1).
    fn find(&self, id: u64, look: &mut dyn FnMut(&ClientState, ConnStats)) -> bool;
    /// The running connection's figures the network layer holds (its query buffer, reply
    /// buffer size); the output fields are left for the caller to fill from [`Ctx::out`].
    fn running(&self) -> ConnStats {
        ConnStats::default()
    }

    /// Serves the other connections once while a script runs past `busy-reply-threshold`:
    /// accepts new ones and runs the commands allowed then (SCRIPT KILL, SHUTDOWN NOSAVE ...),
    /// answering the rest with `-BUSY` (see [`run_request`]), as Redis's
    /// `processEventsWhileBlocked`. `first` on the first round of a script. Without a
    /// network (tests, replay), nothing to serve.
    fn serve_while_busy(&self, _ks: &mut Keyspace, _server: &mut Server, _first: bool) {}

    /// A Lua debugging session's output (SCRIPT DEBUG): writes all of `out` to the running
    /// connection, holding the whole server until the socket took it (or a send timeout
    /// passed), as Redis's synchronous sessions do, and empties `out`. False when the
    /// connection failed. Without a connection, false.
    fn debugger_send(&self, _out: &mut ReplyBuf) -> bool {
        false
    }

    /// A Lua debugging session's input: waits, holding the whole server, until the running
    /// connection sends more, and appends it to `input`. False when the connection closed or
    /// failed (the session then goes on without its client, as Redis's does).
    fn debugger_receive(&self, _input: &mut Vec<u8>) -> bool {
        false
    }
}

/// A directory with no other clients (tests, and commands run outside a connection).
pub struct NoClients;

impl ClientDirectory for NoClients {
    fn visit(&self, _visit: &mut dyn FnMut(&ClientState, ConnStats)) {}

    fn find(&self, _id: u64, _look: &mut dyn FnMut(&ClientState, ConnStats)) -> bool {
        false
    }
}

/// Server-wide counters for INFO.
#[derive(Debug, Default, Clone)]
pub struct ServerStats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    /// Full synchronizations served: here, RDB snapshots sent to `redis-cli --rdb`.
    pub sync_full: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub connected_clients: u64,
    pub blocked_clients: u64,
    /// Connections whose next command waits for CLIENT PAUSE to end (Redis counts them in
    /// INFO blocked_clients too).
    pub paused_clients: u64,
    pub total_error_replies: u64,
    /// Read and write events served on client sockets (INFO `total_reads_processed`,
    /// `total_writes_processed`).
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    /// Time spent in active expiry, in microseconds (INFO `expire_cycle_cpu_milliseconds`).
    pub expire_cycle_usec: u64,
    /// Clients closed because all clients together used more than `maxmemory-clients`.
    pub evicted_clients: u64,
    /// Reply buffers the reactor made smaller or larger to fit their recent peak.
    pub reply_buffer_shrinks: u64,
    pub reply_buffer_expands: u64,
}

/// How the reactor sizes idle connections' reply buffers (Redis's `DEBUG REPLYBUFFER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyBufferPolicy {
    /// Milliseconds after which a connection's reply buffer peak is measured anew (-1: never),
    /// so a connection that went quiet gets a smaller buffer.
    pub peak_reset_ms: i64,
    /// Reply buffers are resized at all.
    pub resizing: bool,
}

impl ReplyBufferPolicy {
    /// Redis's default peak reset time.
    pub const DEFAULT_PEAK_RESET_MS: i64 = 5000;
}

impl Default for ReplyBufferPolicy {
    fn default() -> Self {
        ReplyBufferPolicy {
            peak_reset_ms: Self::DEFAULT_PEAK_RESET_MS,
            resizing: true,
        }
    }
}

/// One sample of the counters behind INFO's instantaneous rates.
#[derive(Debug, Clone, Copy)]
struct RateSample {
    at_ms: u64,
    commands: u64,
    input_bytes: u64,
    output_bytes: u64,
}

/// Per-second rates over the recent samples (INFO `instantaneous_*`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rates {
    pub ops_per_sec: u64,
    pub input_kbps: f64,
    pub output_kbps: f64,
}

/// How a shutdown was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Flush pending changes to persistence first.
    Save,
    NoSave,
}

/// The server's TCP listeners as the commands see them: `CONFIG SET bind/port` moves them. The
/// network layer installs the real ones; this layer knows no sockets.
pub trait Listeners {
    /// Listens on `binds` (Redis's `bind` words) at `port` (0: none) instead of the current
    /// addresses. On error, the reason (the system's words), and the old listeners still
    /// listen. Open connections are not touched either way.
    fn listen(&mut self, binds: &[String], port: u16, backlog: i32) -> Result<(), String>;
}

/// Server-wide state commands read and change.
pub struct Server {
    pub config: Config,
    pub stats: ServerStats,
    /// Unix ms at start-up.
    pub started_ms: u64,
    /// 40 hex characters identifying this run (INFO run_id).
    pub run_id: String,
    /// 40 hex characters naming this server's replication history (INFO master_replid).
    pub repl_id: String,
    pub tcp_port: u16,
    /// Set by SHUTDOWN (and signals); the reactor stops when it sees it.
    pub shutdown: Option<Shutdown>,
    /// A stop signal arrived: the next cron run starts the shutdown, as Redis's
    /// `shutdown_asap`, so SHUTDOWN ABORT can still cancel it (with the cron paused, say).
    pub shutdown_asap: bool,
    pub rng: SmallRng,
    /// Bytes allocated by the process, if a counting allocator reports them.
    pub used_memory: fn() -> usize,
    /// What `used_memory` read before any data was loaded (INFO `used_memory_startup`).
    pub startup_memory: u64,
    /// Commands and bytes per second over the last samples (INFO instantaneous_*).
    pub rates: Rates,
    /// Who is subscribed to what.
    pub pubsub: PubSub,
    /// Messages and requests for other connections, drained by the network layer after each
    /// command.
    pub outbox: Outbox,
    /// Ids of the clients in MONITOR mode.
    pub monitors: Vec<u64>,
    /// CLIENT PAUSE in force, if any (it may have run out; see [`Server::pause_in_force`]).
    pub pause: Option<Pause>,
    /// The counters at each recent sample, oldest first.
    rate_samples: std::collections::VecDeque<RateSample>,
    /// The persistence layer's one handle (hand-offs, SAVE/BGSAVE, the figures for INFO);
    /// `None` when persistence is off. Reach it through [`persistence::status`] and the
    /// other functions of that module, which lend it out with the rest of the server.
    pub persistence: Option<Box<dyn persistence::Persistence>>,
    /// Records the commands that change the large values persistence watches; `None` when
    /// persistence is off.
    pub journal: Option<journal::Journal>,
    /// Per-command and per-error counters (INFO commandstats, errorstats).
    pub command_stats: stats::CommandStats,
    /// SLOWLOG entries.
    pub slowlog: stats::Slowlog,
    /// The latency monitor's events (LATENCY LATEST, HISTORY ...).
    pub latency: latency::LatencyMonitor,
    /// Most bytes allocated seen by the timed samples (MEMORY STATS `peak.allocated`).
    pub peak_memory: u64,
    /// The thread that frees large values (UNLINK, FLUSHDB ASYNC); `None` frees them inline.
    pub lazyfree: Option<crate::lazyfree::LazyFree>,
    /// What DEBUG switched: active expiry, the paused cron, and settings only reported.
    pub debug: server::debug::DebugState,
    /// Passes a value through the encoding persistence stores values in and back (DEBUG
    /// RELOAD while persistence is off); installed by `main.rs`, a plain copy until then.
    pub round_trip: fn(
        &crate::store::Value,
        &crate::store::EncodingLimits,
    ) -> Result<crate::store::Value, String>,
    /// The TCP listeners; `None` where nothing listens (tests that run commands directly).
    pub listeners: Option<Box<dyn Listeners>>,
    /// MIGRATE's cached connections to other servers; `None` where there is no network
    /// (tests, fuzzing), and then MIGRATE cannot connect.
    pub remotes: Option<Box<dyn migrate::RemoteLinks>>,
    /// Client-side caching: who tracks what, and the invalidations to send.
    pub tracking: tracking::Tracking,
    /// How reply buffers are resized (set by DEBUG REPLYBUFFER).
    pub reply_buffer_policy: ReplyBufferPolicy,
    /// Evictions for `maxmemory`: the candidate pool and the time spent over the limit.
    pub eviction: eviction::EvictionState,
    /// The Lua state, EVAL's script cache and the function libraries.
    pub scripting: scripting::Scripting,
    /// ACL users and log.
    pub acl: acl::Acl,
    /// The cold tier's figures (`maxmemory-tiering`).
    pub tiering: tiering::TieringState,
    /// Bytes of RDB snapshots queued to connections (`redis-cli --rdb`) and not yet freed:
    /// kept out of `maxmemory`, as Redis keeps replicas' buffers out.
    pub snapshot_memory: u64,
}

impl Server {
    pub fn new(config: Config, now_ms: u64) -> Self {
        let mut rng = SmallRng::from_entropy();
        let mut hex_id = || -> String {
            (0..40)
                .map(|_| char::from_digit(rand::Rng::gen_range(&mut rng, 0..16), 16).unwrap_or('0'))
                .collect()
        };
        let (run_id, repl_id) = (hex_id(), hex_id());
        let mut server = Server {
            tcp_port: config.port,
            config,
            stats: ServerStats::default(),
            started_ms: now_ms,
            run_id,
            repl_id,
            shutdown: None,
            shutdown_asap: false,
            rng,
            used_memory: || 0,
            startup_memory: 0,
            rates: Rates::default(),
            rate_samples: Default::default(),
            pubsub: PubSub::new(),
            outbox: Outbox::default(),
            monitors: Vec::new(),
            pause: None,
            persistence: None,
            journal: None,
            command_stats: Default::default(),
            slowlog: Default::default(),
            latency: Default::default(),
            peak_memory: 0,
            lazyfree: None,
            debug: Default::default(),
            round_trip: |value, _| Ok(value.clone()),
            listeners: None,
            remotes: None,
            tracking: Default::default(),
            reply_buffer_policy: ReplyBufferPolicy::default(),
            eviction: Default::default(),
            scripting: Default::default(),
            acl: acl::Acl::new(),
            tiering: Default::default(),
            snapshot_memory: 0,
        };
        server.eviction.set_policy(&server.config.maxmemory_policy);
        if let Some(password) = server.config.requirepass.clone() {
            server.acl.set_default_password(Some(password.as_bytes()));
        }
        server
    }

    /// Frees a deleted value: on the lazyfree thread when it is large enough to stall the
    /// reactor (see [`crate::store::LAZYFREE_THRESHOLD`]), else here. O(1) then.
    pub fn free_value(&self, value: crate::store::Value) {
        match &self.lazyfree {
            Some(lazy) if value.free_effort() > crate::store::LAZYFREE_THRESHOLD => {
                lazy.free(value, 1)
            }
            _ => drop(value),
        }
    }

    /// Frees what a flush took: on the lazyfree thread when `asynchronously` (FLUSHDB
    /// ASYNC), else here.
    pub fn free_flushed(&self, flushed: crate::store::FlushedData, asynchronously: bool) {
        match &self.lazyfree {
            Some(lazy) if asynchronously && !flushed.is_empty() => {
                let keys = flushed.len() as u64;
                lazy.free(flushed, keys)
            }
            _ => drop(flushed),
        }
    }

    /// The CLIENT PAUSE in force at `now_ms`, if any.
    pub fn pause_in_force(&self, now_ms: u64) -> Option<Pause> {
        self.pause.filter(|p| now_ms < p.until_ms)
    }

    /// Records a sample of the command and byte counters (at most one per 100 ms) and updates
    /// the rates over the last 16; called from the reactor's timed work.
    pub fn sample_ops(&mut self, now_ms: u64) {
        const WINDOW: usize = 16;
        if self
            .rate_samples
            .back()
            .is_some_and(|last| now_ms < last.at_ms + 100)
        {
            return;
        }
        self.rate_samples.push_back(RateSample {
            at_ms: now_ms,
            commands: self.stats.total_commands_processed,
            input_bytes: self.stats.total_net_input_bytes,
            output_bytes: self.stats.total_net_output_bytes,
        });
        self.peak_memory = self.peak_memory.max((self.used_memory)() as u64);
        if self.rate_samples.len() > WINDOW {
            self.rate_samples.pop_front();
        }
        if let (Some(first), Some(last)) = (self.rate_samples.front(), self.rate_samples.back()) {
            let ms = last.at_ms.saturating_sub(first.at_ms);
            let per_second = (last.commands.saturating_sub(first.commands) * 1000).checked_div(ms);
            if let Some(ops_per_sec) = per_second {
                let kbps = |from: u64, to: u64| {
                    to.saturating_sub(from) as f64 * 1000.0 / ms as f64 / 1024.0
                };
                self.rates = Rates {
                    ops_per_sec,
                    input_kbps: kbps(first.input_bytes, last.input_bytes),
                    output_kbps: kbps(first.output_bytes, last.output_bytes),
                };
            }
        }
    }
}

/// Everything a handler may touch while one command runs.
pub struct Ctx<'a> {
    pub ks: &'a mut Keyspace,
    pub server: &'a mut Server,
    pub client: &'a mut ClientState,
    pub clients: &'a dyn ClientDirectory,
    pub out: &'a mut ReplyBuf,
}

impl Ctx<'_> {
    /// The client's selected database.
    pub fn db(&mut self) -> DbMut<'_> {
        self.ks.db(self.client.db)
    }

    /// Reports a keyspace event for `key` of the client's database: handlers call this after
    /// every change, with the class of the command's type and Redis's event name, e.g.
    /// `ctx.notify(KeyspaceEvents::LIST, "lpush", key)`, `ctx.notify(KeyspaceEvents::GENERIC,
    /// "del", key)`. The native types use [`crate::config::KeyspaceEvents::MODULE`] with event
    /// names prefixed by the type (`tree.set`, `graph.addedge`, `queue.push`, `stack.pop`).
    /// Costs one test while notifications are off (the default).
    #[inline]
    pub fn notify(&mut self, class: u16, event: &str, key: &[u8]) {
        if self.server.config.notify_keyspace_events.wants(class) {
            let db = self.client.db;
            pubsub::notify_keyspace_event(self, class, event, key, db);
        }
    }

    /// States what this command did to `key`, as a command whose replay on the key's previous
    /// value gives its new value: `ctx.journal_as(b"SREM", key, popped)` after SPOP. Handlers
    /// whose table row says [`journal::JournalClass::States`] call it for every key they change
    /// (see [`journal`]). Costs one test while persistence watches no key.
    #[inline]
    pub fn journal_as<'a>(
        &mut self,
        command: &[u8],
        key: &[u8],
        args: impl IntoIterator<Item = &'a [u8]>,
    ) {
        if let Some(journal) = self.server.journal.as_mut() {
            if journal.is_watching() {
                journal.state(&[command], key, args);
            }
        }
    }

    /// [`Self::journal_as`] for a subcommand (`XGROUP SETID key ...`).
    pub fn journal_as_sub<'a>(
        &mut self,
        command: &[u8],
        subcommand: &[u8],
        key: &[u8],
        args: impl IntoIterator<Item = &'a [u8]>,
    ) {
        if let Some(journal) = self.server.journal.as_mut() {
            if journal.is_watching() {
                journal.state(&[command, subcommand], key, args);
            }
        }
    }

    /// Like [`Self::notify`] for a key of another database (MOVE, COPY ... DB).
    pub fn notify_in_db(&mut self, class: u16, event: &str, key: &[u8], db: usize) {
        if self.server.config.notify_keyspace_events.wants(class) {
            pubsub::notify_keyspace_event(self, class, event, key, db);
        }
    }
}

/// The handler of container commands (CLIENT, CONFIG, OBJECT ...): they are resolved to their
/// subcommands before a handler runs, so this only answers a container called in a form the
/// table lets through with no subcommand.
pub fn container(_ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    Err(args.wrong_arity())
}

/// Runs one request: looks the command up, checks arity and whether the connection's state
/// allows it (pub/sub context, MULTI queueing), calls the handler, and turns an error into its
/// reply. `argv` is never empty (empty requests are skipped by the caller).
#[inline]
pub fn execute(ctx: &mut Ctx, argv: &[&[u8]]) {
    if ctx.server.tracking.is_on() {
        tracking::execute_tracked(ctx, argv);
    } else {
        run_request(ctx, argv);
    }
}

/// [`execute`] without client-side caching's work around it.
#[inline]
fn run_request(ctx: &mut Ctx, argv: &[&[u8]]) {
    let reply_start = ctx.out.len();
    let cached = ctx.client.last_spec.filter(|spec| {
        spec.name.as_bytes().eq_ignore_ascii_case(argv[0]) && check_arity(spec, argv).is_ok()
    });
    let resolved = match cached {
        Some(spec) => Ok(spec),
        None => resolve(argv),
    };
    if let Ok(spec) = resolved {
        // Only a command named by its first argument: a subcommand (CONFIG SET, whose full
        // name is longer than its name) shares its name with a command (SET) the cache check
        // would take it for.
        if spec.subcommands.is_empty() && spec.full_name.len() == spec.name.len() {
            ctx.client.last_spec = Some(spec);
        }
    }
    match resolved {
        Ok(spec) => {
            ctx.client.last_command = spec.full_name;
            if spec.flags.contains(Flags::PROTECTED) && !protection_allows(ctx, spec) {
                let text = protected_refusal(spec);
                reject(ctx, Some(spec), false, &text);
            } else if !ctx.client.authenticated
                && !spec.flags.contains(Flags::NO_AUTH)
                && ctx.server.acl.auth_required()
            {
                reject(ctx, Some(spec), false, "NOAUTH Authentication required.");
            } else if let Some(text) = acl::refusal(ctx, spec, argv) {
                reject(
                    ctx,
                    Some(spec),
                    spec.flags.contains(Flags::RUNS_QUEUED),
                    &text,
                );
            } else if ctx.server.config.maxmemory != 0
                && ctx.server.scripting.busy.is_none()
                && refused_for_memory(ctx, spec)
            {
                reject(
                    ctx,
                    Some(spec),
                    spec.flags.contains(Flags::RUNS_QUEUED),
                    "OOM command not allowed when used memory > 'maxmemory'.",
                );
            } else if ctx.client.is_subscriber()
                && !ctx.out.is_resp3()
                && !pubsub::allowed_in_context(spec)
            {
                reject(
                    ctx,
                    Some(spec),
                    spec.flags.contains(Flags::RUNS_QUEUED),
                    format!(
                        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / \
                         QUIT / RESET are allowed in this context",
                        spec.full_name
                    ),
                );
            } else if let Some(busy) = ctx
                .server
                .scripting
                .busy
                .as_ref()
                .filter(|_| !spec.flags.contains(Flags::ALLOW_BUSY))
            {
                // A script runs past busy-reply-threshold (this runs between its steps).
                let text = busy.refusal();
                reject(
                    ctx,
                    Some(spec),
                    spec.flags.contains(Flags::RUNS_QUEUED),
                    text,
                );
            } else if ctx.client.multi.is_some() && transactions::queues(spec) {
                transactions::queue(ctx, spec, argv);
            } else if ctx.ks.cold_keys(ctx.client.db) != 0
                && !ctx.client.in_script
                && tiering::must_load(ctx, spec, argv)
            {
                // Parked until the cold values it needs are back; it runs again then.
            } else {
                call(ctx, spec, argv);
            }
        }
        Err(e) => {
            let spec = named_spec(argv);
            // CLIENT LIST's `cmd=` names what was asked, as far as it was found (Redis sets it
            // at lookup: `NULL` for an unknown command or subcommand).
            ctx.client.last_command = spec.map_or("", |spec| spec.full_name);
            let is_exec = spec.is_some_and(|spec| spec.flags.contains(Flags::RUNS_QUEUED));
            reject(ctx, spec, is_exec, e.reply_bytes());
        }
    }
    if ctx.ks.has_key_events() {
        // Events of a command refused before it ran (a lookup in the checks).
        ctx.client.reply_start = reply_start;
        pubsub::publish_key_events(ctx);
    }
    if ctx.client.reply_mode != ReplyMode::On {
        apply_reply_mode(ctx, reply_start);
    }
}

/// Whether this connection may run `spec`, a `protected` command (DEBUG or a MODULE
/// subcommand), by the option that guards it.
fn protection_allows(ctx: &Ctx, spec: &CommandSpec) -> bool {
    let config = &ctx.server.config;
    let protection = if spec.full_name.starts_with("module|") {
        config.enable_module_command
    } else {
        config.enable_debug_command
    };
    protection.allows(&ctx.client.addr)
}

/// Redis's refusal of a protected command, naming its command and option.
fn protected_refusal(spec: &CommandSpec) -> String {
    let (command, option) = if spec.full_name.starts_with("module|") {
        ("MODULE", "enable-module-command")
    } else {
        ("DEBUG", "enable-debug-command")
    };
    format!(
        "ERR {command} command not allowed. If the {option} option is set to \"local\", you \
         can run it from a local connection, otherwise you need to set this option in the \
         configuration file, and then restart the server."
    )
}

/// Evicts keys while memory is over `maxmemory` (see [`eviction`]), then tells whether `spec`
/// must be refused: when nothing more may be evicted, by Redis's rule, a command that may use
/// memory (`denyoom`), an EXEC with one queued, and inside MULTI anything but EXEC, DISCARD,
/// QUIT and RESET (queuing itself uses memory). Called only while `maxmemory` is set.
fn refused_for_memory(ctx: &mut Ctx, spec: &CommandSpec) -> bool {
    // Only a command that may use memory makes room for a new key.
    let db = spec.flags.contains(Flags::DENYOOM).then_some(ctx.client.db);
    let outcome = eviction::perform(ctx.ks, ctx.server, db);
    if ctx.server.tracking.is_on() && ctx.ks.has_touched() {
        tracking::before_command(ctx);
    }
    if outcome != eviction::Outcome::Fail {
        return false;
    }
    let in_multi = ctx.client.multi.as_ref();
    spec.flags.contains(Flags::DENYOOM)
        || (spec.flags.contains(Flags::RUNS_QUEUED) && in_multi.is_some_and(|tx| tx.uses_memory))
        || (in_multi.is_some() && !matches!(spec.name, "exec" | "discard" | "quit" | "reset"))
}

/// Runs a resolved command: the handler, its error reply, and the MONITOR feed. EXEC calls
/// this for each queued command.
// Inlined: it is the body of every command's execution (measured: +30 instructions per
// request as a call).
#[inline(always)]
pub fn call(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) {
    ctx.server.stats.total_commands_processed += 1;
    // A command a script or EXEC runs has its own reply, in the buffer it writes to.
    let outer_reply_start = std::mem::replace(&mut ctx.client.reply_start, ctx.out.len());
    let started = std::time::Instant::now();
    // While persistence watches large values, what each command did to them is journaled.
    let result = if ctx.server.journal.as_ref().is_some_and(|j| j.is_watching()) {
        journal::run_journaled(ctx, spec, argv)
    } else {
        (spec.handler)(ctx, &mut Args::new(argv, spec.arg_start()))
    };
    let elapsed = started.elapsed();
    // Not `as_micros`: that goes through u128 arithmetic on every command.
    let usec = elapsed.as_secs() * 1_000_000 + u64::from(elapsed.subsec_micros());
    stats::after_call(ctx, spec, argv, usec, result.is_err());
    if let Err(e) = result {
        let text = e.reply_bytes();
        if !matches!(e, CmdError::Counted(_)) {
            stats::record_error_reply(ctx.server, &text);
        }
        ctx.out.error(&text);
    }
    // Scripts (SKIP_MONITOR) are shown before the commands they run, by their handler.
    if !ctx.server.monitors.is_empty()
        && !spec.flags.contains(Flags::ADMIN)
        && !spec.flags.contains(Flags::SKIP_MONITOR)
    {
        server::admin::feed_monitors(ctx, spec, argv);
    }
    if ctx.server.tracking.is_on() {
        tracking::after_call(ctx, spec, argv);
    }
    if ctx.ks.has_key_events() {
        pubsub::publish_key_events(ctx);
    }
    ctx.client.reply_start = outer_reply_start;
}

/// The command (or subcommand) `argv` names, whatever its arity: whom a refusal is
/// counted against. Only used on the error path.
pub(crate) fn named_spec(argv: &[&[u8]]) -> Option<&'static CommandSpec> {
    let spec = lookup(argv.first()?)?;
    if spec.subcommands.is_empty() || argv.len() < 2 {
        Some(spec)
    } else {
        spec.subcommand(argv[1])
    }
}

/// A command refused before it ran: inside MULTI this dooms the transaction, and a refused
/// EXEC discards it with Redis's EXECABORT wording. Counted against `spec` when known.
fn reject(
    ctx: &mut Ctx,
    spec: Option<&'static CommandSpec>,
    is_exec: bool,
    text: impl AsRef<[u8]>,
) {
    let text = text.as_ref();
    ctx.server.stats.total_error_replies += 1;
    if let Some(spec) = spec {
        ctx.server.command_stats.record_rejection(spec);
    }
    if is_exec {
        transactions::discard_state(ctx);
        let reason = text.strip_prefix(b"ERR ").unwrap_or(text);
        let mut text = b"EXECABORT Transaction discarded because of: ".to_vec();
        text.extend_from_slice(reason);
        ctx.server.command_stats.record_error(&text);
        ctx.out.error(&text);
        return;
    }
    ctx.server.command_stats.record_error(text);
    if let Some(tx) = ctx.client.multi.as_mut() {
        tx.failed = true;
    }
    ctx.out.error(text);
}

/// CLIENT REPLY OFF / SKIP: drops what this command wrote, and moves SKIP along.
fn apply_reply_mode(ctx: &mut Ctx, reply_start: usize) {
    let keep = std::mem::take(&mut ctx.client.replied_with_push);
    match ctx.client.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off => {
            if !keep {
                ctx.out.truncate(reply_start);
            }
        }
        ReplyMode::Skip => {
            if !keep {
                ctx.out.truncate(reply_start);
            }
            ctx.client.reply_mode = ReplyMode::On;
        }
        ReplyMode::SkipNext => ctx.client.reply_mode = ReplyMode::Skip,
    }
}

/// True if CLIENT PAUSE makes this request wait now: every request under ALL; under WRITE,
/// commands that may change data or publish (and an EXEC with such a command queued), as
/// Redis does. Costs nothing while no pause is in force.
pub fn must_wait(server: &Server, client: &ClientState, argv: &[&[u8]], now_ms: u64) -> bool {
    let Some(pause) = server.pause_in_force(now_ms) else {
        return false;
    };
    if pause.all {
        return true;
    }
    match resolve(argv) {
        Ok(spec) => {
            may_write(server, spec, argv)
                || (spec.flags.contains(Flags::RUNS_QUEUED)
                    && client.multi.as_ref().is_some_and(|tx| tx.writes))
        }
        Err(_) => false,
    }
}

/// True if `argv` (a command of `spec`) may change data or publish, so CLIENT PAUSE WRITE
/// holds it back: its row's flags say so, or, for a script, the script's flags do.
pub fn may_write(server: &Server, spec: &CommandSpec, argv: &[&[u8]]) -> bool {
    if spec.flags.contains(Flags::RUNS_SCRIPT) {
        return scripting::may_write(server, spec, argv);
    }
    spec.paused_by_write_pause()
}

/// Forgets everything a closed connection left behind: subscriptions, watched keys, MONITOR,
/// tracking.
pub fn client_closed(ks: &mut Keyspace, server: &mut Server, client: &mut ClientState) {
    server.snapshot_memory -= std::mem::take(&mut client.snapshot.queued) as u64;
    server.pubsub.remove_client(client.id);
    server.tracking.turn_off(ks, client.id);
    transactions::unwatch_all(ks, client);
    if client.monitor {
        server.monitors.retain(|&id| id != client.id);
    }
}

/// Tells the keyspace the settings it works by: which key events to record (from
/// `notify-keyspace-events`) and how to record key accesses (from `maxmemory-policy`). Called
/// at start and after every CONFIG SET.
pub fn sync_key_event_kinds(ks: &mut Keyspace, config: &Config) {
    pubsub::sync_key_event_kinds(ks, config);
    ks.set_access_policy(access_policy(config));
}

/// How key accesses are recorded under `config`: Redis's LFU counter under an LFU policy
/// (with `lfu-log-factor` and `lfu-decay-time`), the last access second otherwise.
fn access_policy(config: &Config) -> AccessPolicy {
    if !config.maxmemory_policy.ends_with("-lfu") {
        return AccessPolicy::Lru;
    }
    // Both are at most i32::MAX (the configuration checks it).
    AccessPolicy::Lfu {
        log_factor: config.lfu_log_factor.min(u64::from(u32::MAX)) as u32,
        decay_minutes: config.lfu_decay_time.min(u64::from(u32::MAX)) as u32,
    }
}

/// Hands the store the settings it applies (key events to record, encoding thresholds):
/// at start and after every CONFIG SET.
pub fn sync_store_settings(ks: &mut Keyspace, config: &Config) {
    sync_key_event_kinds(ks, config);
    ks.set_tight_growth(config.maxmemory != 0);
    ks.set_encoding_limits(config.encoding_limits());
}

/// Finds the command (and subcommand) for `argv` and checks its arity.
pub fn resolve(argv: &[&[u8]]) -> Result<&'static CommandSpec, CmdError> {
    let name = argv.first().copied().unwrap_or_default();
    let Some(spec) = lookup(name) else {
        return Err(unknown_command(argv));
    };
    let spec = if spec.subcommands.is_empty() || argv.len() < 2 {
        spec
    } else {
        match spec.subcommand(argv[1]) {
            Some(sub) => sub,
            None => {
                let mut text = b"ERR unknown subcommand '".to_vec();
                text.extend_from_slice(truncated(argv[1], 128));
                text.extend_from_slice(b"'. Try ");
                text.extend_from_slice(spec.name.to_ascii_uppercase().as_bytes());
                text.extend_from_slice(b" HELP.");
                return Err(CmdError::Bytes(text));
            }
        }
    };
    check_arity(spec, argv)?;
    Ok(spec)
}

/// Redis's arity rule: N means exactly N arguments (name included), -N at least N.
fn check_arity(spec: &CommandSpec, argv: &[&[u8]]) -> Result<(), CmdError> {
    let argc = argv.len() as i64;
    let arity = spec.arity as i64;
    if (arity > 0 && argc != arity) || argc < -arity {
        return Err(args::wrong_arity(spec.full_name));
    }
    Ok(())
}

/// At most `max` bytes of `bytes`, stopping at a NUL as C's `%.*s` in Redis's errors does.
fn truncated(bytes: &[u8], max: usize) -> &[u8] {
    let end = memchr::memchr(0, bytes).unwrap_or(bytes.len()).min(max);
    &bytes[..end]
}

/// Redis's unknown-command error, with up to 128 bytes of the first arguments.
fn unknown_command(argv: &[&[u8]]) -> CmdError {
    let mut shown = Vec::new();
    for arg in argv.iter().skip(1) {
        if shown.len() >= 128 {
            break;
        }
        let room = 128 - shown.len();
        shown.push(b'\'');
        shown.extend_from_slice(truncated(arg, room));
        shown.extend_from_slice(b"' ");
    }
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(truncated(argv.first().copied().unwrap_or_default(), 128));
    text.extend_from_slice(b"', with args beginning with: ");
    text.extend_from_slice(&shown);
    CmdError::Bytes(text)
}

/// Builds a context for running commands outside the network layer (unit tests).
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::protocol::Protover;

    /// A keyspace, server and client to run commands against.
    pub struct Harness {
        pub ks: Keyspace,
        pub server: Server,
        pub client: ClientState,
        /// The protocol the connection speaks (HELLO changes it).
        pub proto: Protover,
    }

    impl Harness {
        pub fn new() -> Self {
            let mut ks = Keyspace::new(16);
            ks.set_clock(1_000_000);
            Harness {
                ks,
                server: Server::new(Config::default(), 1_000_000),
                client: ClientState {
                    authenticated: true,
                    ..Default::default()
                },
                proto: Protover::Resp2,
            }
        }

        /// Runs one command and returns its raw reply bytes.
        pub fn run(&mut self, argv: &[&str]) -> Vec<u8> {
            let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            let mut out = ReplyBuf::new(self.proto);
            let mut ctx = Ctx {
                ks: &mut self.ks,
                server: &mut self.server,
                client: &mut self.client,
                clients: &NoClients,
                out: &mut out,
            };
            execute(&mut ctx, &argv);
            self.proto = out.proto();
            out.bytes().to_vec()
        }

        /// Runs one command and returns its reply as text.
        pub fn text(&mut self, argv: &[&str]) -> String {
            String::from_utf8_lossy(&self.run(argv)).into_owned()
        }

        /// Runs each command in turn and checks its reply text.
        pub fn assert_replies(&mut self, cases: &[(&[&str], &str)]) {
            for (argv, expected) in cases {
                assert_eq!(self.text(argv), *expected, "{argv:?}");
            }
        }
    }

    #[test]
    fn unknown_and_arity_errors_match_redis() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (
                &["foo", "a", "b"],
                "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
            ),
            (
                &["GET"],
                "-ERR wrong number of arguments for 'get' command\r\n",
            ),
            (
                &["config", "nosuch"],
                "-ERR unknown subcommand 'nosuch'. Try CONFIG HELP.\r\n",
            ),
            (
                &["config", "get"],
                "-ERR wrong number of arguments for 'config|get' command\r\n",
            ),
            (&["PiNg"], "+PONG\r\n"),
        ]);
    }

    #[test]
    fn a_subcommand_is_not_taken_for_the_command_of_its_name() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["config", "set", "appendonly", "yes"], "+OK\r\n"),
            (&["set", "foo", "bar", "EX", "100"], "+OK\r\n"),
            (
                &["config", "get", "appendonly"],
                "*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n",
            ),
            (&["get", "foo"], "$3\r\nbar\r\n"),
        ]);
    }
}
