//! Configuration: one table of parameters serves the redis.conf-style file, the
//! `--name value` command-line flags and CONFIG GET/SET.
//!
//! The command line is not parsed with a general argument parser on purpose: like
//! redis-server, `reddish [file] --port 6380 --save ""` turns each `--name args...` into a
//! config line, so flags and file lines are the same thing and cannot drift apart.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Eviction policies Redis accepts for `maxmemory-policy`.
pub const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

const LOG_LEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];

/// Redis's save points when no `save` line is given (Reddish keeps them only to report them).
const DEFAULT_SAVE: &str = "3600 1 300 100 60 10000";

use crate::store::{EncodingLimits, PackLimits};
/// Redis 7.0's default `bind`: all IPv4 addresses, and all IPv6 ones where the system has IPv6.
pub const DEFAULT_BIND: &[&str] = &["*", "-::*"];

/// Most addresses `bind` takes (Redis's `CONFIG_BINDADDR_MAX`).
const MAX_BIND_ADDRESSES: usize = 16;

/// Output buffer limits of one client class (`client-output-buffer-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: u64,
}

/// Keyspace notification classes (`notify-keyspace-events`), one bit per class letter.
///
/// The native types (TREE, GRAPH, QUEUE, STACK) report under `d`, the class Redis gives to
/// module-defined types, since that is what they are to a Redis client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyspaceEvents(pub u16);

impl KeyspaceEvents {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u16 = 1;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u16 = 1 << 1;
    /// `g`: DEL, EXPIRE, RENAME, ... (type-independent commands).
    pub const GENERIC: u16 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u16 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u16 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u16 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u16 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u16 = 1 << 7;
    /// `x`: a key deleted because it expired.
    pub const EXPIRED: u16 = 1 << 8;
    /// `e`: a key evicted for maxmemory.
    pub const EVICTED: u16 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u16 = 1 << 10;
    /// `m`: a key looked up and not found.
    pub const KEY_MISS: u16 = 1 << 11;
    /// `d`: module types; here the native TREE, GRAPH, QUEUE and STACK commands.
    pub const MODULE: u16 = 1 << 12;
    /// `n`: a key created.
    pub const NEW: u16 = 1 << 13;
    /// `A`: `g$lshzxetd`.
    pub const ALL: u16 = Self::GENERIC
        | Self::STRING
        | Self::LIST
        | Self::SET
        | Self::HASH
        | Self::ZSET
        | Self::EXPIRED
        | Self::EVICTED
        | Self::STREAM
        | Self::MODULE;

    /// Class letters in the order Redis prints them.
    const LETTERS: &'static [(char, u16)] = &[
        ('g', Self::GENERIC),
        ('$', Self::STRING),
        ('l', Self::LIST),
        ('s', Self::SET),
        ('h', Self::HASH),
        ('z', Self::ZSET),
        ('x', Self::EXPIRED),
        ('e', Self::EVICTED),
        ('t', Self::STREAM),
        ('d', Self::MODULE),
        ('n', Self::NEW),
    ];

    /// Parses class letters as Redis does; `None` on an unknown letter.
    pub fn parse(text: &str) -> Option<KeyspaceEvents> {
        let mut flags = 0;
        for c in text.chars() {
            flags |= match c {
                'A' => Self::ALL,
                'K' => Self::KEYSPACE,
                'E' => Self::KEYEVENT,
                'm' => Self::KEY_MISS,
                _ => Self::LETTERS.iter().find(|(l, _)| *l == c)?.1,
            };
        }
        Some(KeyspaceEvents(flags))
    }

    /// True if any class in `classes` is on and so is at least one of `K` and `E`.
    #[inline]
    pub fn wants(self, classes: u16) -> bool {
        self.0 & classes != 0 && self.0 & (Self::KEYSPACE | Self::KEYEVENT) != 0
    }
}

impl std::fmt::Display for KeyspaceEvents {
    /// Redis's canonical spelling: `A` for all classes (which then hides `n`), else the
    /// letters in a fixed order; then `K`, `E`, `m`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flags = self.0;
        if flags & Self::ALL == Self::ALL {
            f.write_str("A")?;
        } else {
            for (letter, bit) in Self::LETTERS {
                if flags & bit != 0 {
                    write!(f, "{letter}")?;
                }
            }
        }
        for (letter, bit) in [
            ('K', Self::KEYSPACE),
            ('E', Self::KEYEVENT),
            ('m', Self::KEY_MISS),
        ] {
            if flags & bit != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// `maxmemory-clients`: bytes, or a percentage of `maxmemory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMemoryLimit {
    Bytes(u64),
    Percent(u64),
}

impl ClientMemoryLimit {
    fn parse(text: &str) -> Result<ClientMemoryLimit, String> {
        if let Some(bytes) = parse_memory(text) {
            return Ok(ClientMemoryLimit::Bytes(bytes));
        }
        match text.strip_suffix('%').map(str::parse::<u64>) {
            Some(Ok(percent)) if percent <= 100 => Ok(ClientMemoryLimit::Percent(percent)),
            Some(Ok(_)) => Err("percentage argument must be less or equal to 100".into()),
            _ => Err("argument must be a memory or percent value".into()),
        }
    }
}

impl std::fmt::Display for ClientMemoryLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientMemoryLimit::Bytes(bytes) => write!(f, "{bytes}"),
            ClientMemoryLimit::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `rename-command` directives, in file order: (old name, new name; empty = disabled).
    /// Only a configuration file or the command line sets them, as in Redis.
    pub rename_commands: Vec<(String, String)>,
    /// `user` directives, in file order: the user name then its ACL rules (see
    /// [`crate::commands::acl`]). Only a configuration file or the command line sets them.
    pub users: Vec<Vec<String>>,
    /// Addresses to listen on, as Redis writes them (`*` all IPv4, `::*` all IPv6, a `-`
    /// prefix for one whose absence on this machine is not an error); none: no TCP listener.
    pub bind: Vec<String>,
    /// The TCP port (0: no TCP listener).
    pub port: u16,
    /// The Unix socket to listen on, if any (Unix only).
    pub unixsocket: Option<String>,
    /// The TLS port, on the same `bind` addresses (0: no TLS listener).
    pub tls_port: u16,
    /// PEM files of the server's certificate chain and private key.
    pub tls_cert_file: String,
    pub tls_key_file: String,
    /// The private key's passphrase: encrypted keys are refused at start-up, as rustls
    /// reads plain PKCS#8/PKCS#1/SEC1 keys only.
    pub tls_key_file_pass: String,
    /// The CAs client certificates must be signed by: a PEM file and/or a directory of them.
    pub tls_ca_cert_file: String,
    pub tls_ca_cert_dir: String,
    /// `tls-auth-clients`: `yes` (a client certificate is required), `no` or `optional`.
    pub tls_auth_clients: String,
    /// `tls-protocols`: Redis's names, space separated (empty: TLSv1.2 and TLSv1.3).
    pub tls_protocols: String,
    /// `tls-ciphersuites`: TLS 1.3 suite names, colon separated (empty: rustls's defaults).
    pub tls_ciphersuites: String,
    /// The Unix socket's permission bits (0: left as the umask makes them).
    pub unixsocketperm: u32,
    /// Refuse TCP connections from other machines while the default user has no password.
    pub protected_mode: bool,
    pub databases: usize,
    /// Close a client idle this many seconds (0 = never).
    pub timeout: u64,
    /// Close a snapshot transfer (`redis-cli --rdb`) that wrote nothing for this many
    /// seconds, as Redis closes a stalled replica.
    pub repl_timeout: u64,
    /// TCP keepalive period in seconds (0 = off).
    pub tcp_keepalive: u64,
    pub tcp_backlog: i32,
    pub maxclients: u64,
    pub maxmemory: u64,
    /// `stream-node-max-bytes` and `stream-node-max-entries`: when a stream starts a new node
    /// (0 = no limit).
    pub stream_node_max_bytes: u64,
    pub stream_node_max_entries: u64,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog that would grow past this many bytes
    /// (header included) becomes dense.
    pub hll_sparse_max_bytes: u64,
    pub maxmemory_policy: String,
    /// Keys sampled per database for each eviction choice.
    pub maxmemory_samples: u64,
    /// How long one round of eviction may run (0-100; 100: until done): see
    /// `commands::eviction`.
    pub maxmemory_eviction_tenacity: u64,
    /// `maxmemory-tiering`: over `maxmemory`, values MongoDB holds are dropped from memory
    /// (their keys stay, cold) instead of keys being evicted; they are loaded back when a
    /// command needs them. Needs `mongodb-uri` (see [`Config::check_tiering`]).
    pub maxmemory_tiering: bool,
    /// `tiering-load-timeout-ms`: how long a command waits for a cold value before it gets
    /// `-TRYAGAIN` (MongoDB unreachable or slow).
    pub tiering_load_timeout_ms: u64,
    /// How slowly the LFU counter grows (`lfu-log-factor`).
    pub lfu_log_factor: u64,
    /// Minutes without access for the LFU counter to lose one (`lfu-decay-time`; 0: never).
    pub lfu_decay_time: u64,
    /// `maxmemory-clients`: what all client connections together may hold before the
    /// largest are closed.
    pub maxmemory_clients: ClientMemoryLimit,
    /// Background task frequency (active expiry, timeouts), per second.
    pub hz: u64,
    /// Zero-timeout polls made while busy before blocking in the poller (0 = always block):
    /// trades CPU for latency, see README.
    pub busy_poll: u64,
    pub loglevel: String,
    /// Where the log goes: a file appended to, or standard output when empty (Redis's
    /// default, which supervisors and Redis's test harness read).
    pub logfile: String,
    pub proto_max_bulk_len: u64,
    /// `client-query-buffer-limit`: a client whose unprocessed input grows past it is closed.
    pub client_query_buffer_limit: u64,
    /// Kept for clients that read it (redis-benchmark); snapshots are not made.
    pub save: String,
    pub appendonly: bool,
    pub notify_keyspace_events: KeyspaceEvents,
    pub output_limit_normal: OutputLimit,
    pub output_limit_replica: OutputLimit,
    pub output_limit_pubsub: OutputLimit,
    pub mongodb_uri: Option<String>,
    pub mongodb_database: String,
    /// A Redis RDB file to load at start (`import-rdb`), empty for none.
    pub import_rdb: String,
    /// Longest time a change waits before it is handed to the MongoDB writer.
    pub persist_interval_ms: u64,
    /// The file the configuration was read from, if any, as an absolute path (the working
    /// directory moves to `dir`; CONFIG REWRITE writes back to this file).
    pub config_file: Option<String>,
    /// The working directory (`dir`), absolute: relative file names (`logfile`, `aclfile`,
    /// `import-rdb`, TLS files) are read from here, as Redis reads them after its `chdir`.
    pub dir: String,
    /// The default user's password: when set, a connection must AUTH before anything but
    /// AUTH, HELLO ... AUTH, QUIT and RESET.
    pub requirepass: Option<String>,
    /// Commands taking at least this many microseconds go to the SLOWLOG (-1 = none, 0 =
    /// every command).
    pub slowlog_log_slower_than: i64,
    /// Entries the SLOWLOG keeps (the oldest go first).
    pub slowlog_max_len: u64,
    /// Events (a command, an expiry cycle) taking at least this many milliseconds are
    /// recorded by the latency monitor (LATENCY LATEST, HISTORY...); 0 records none.
    pub latency_monitor_threshold: u64,
    /// Keep a latency histogram per command (LATENCY HISTOGRAM, INFO latencystats).
    pub latency_tracking: bool,
    /// The percentiles INFO latencystats reports, each in [0, 100].
    pub latency_tracking_info_percentiles: Vec<f64>,
    /// Who may run DEBUG (`enable-debug-command`): nobody, everybody, or local connections.
    pub enable_debug_command: Protection,
    /// Whether the cron moves a growing key table's index forward (`activerehashing`);
    /// writes move it either way.
    pub active_rehashing: bool,
    /// jemalloc's background thread gives freed pages back (`jemalloc-bg-thread`).
    pub jemalloc_bg_thread: bool,
    /// Who may run MODULE LOAD, LOADEX and UNLOAD (`enable-module-command`).
    pub enable_module_command: Protection,
    /// Who may CONFIG SET the protected parameters (`enable-protected-configs`).
    pub enable_protected_configs: Protection,
    /// `hash-max-listpack-entries` and `-value`.
    pub hash_limits: PackLimits,
    /// `zset-max-listpack-entries` and `-value`.
    pub zset_limits: PackLimits,
    pub set_max_intset_entries: u64,
    /// `oom-score-adj`: whether and how Reddish sets its process's OOM score.
    pub oom_score_adj: OomScoreAdj,
    /// `oom-score-adj-values`: the scores for a primary, a replica and a background child.
    pub oom_score_adj_values: [i32; 3],
    /// True once a `save` line was read while loading the file and flags: the first one
    /// replaces Redis's default save points, the next ones add to them.
    save_loaded: bool,
    /// Most keys client-side caching remembers readers of (0 = no bound).
    pub tracking_table_max_keys: u64,
    /// Values set for the parameters Reddish does not act on, by name; one not set here has
    /// Redis's default.
    pub inert: BTreeMap<&'static str, String>,
}

/// Who may use a protected feature (`enable-debug-command`, `enable-module-command`,
/// `enable-protected-configs`), as
/// Redis words it: `no`,
/// `yes`, or `local` (connections from the loopback interface only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protection {
    #[default]
    No,
    Yes,
    Local,
}

impl Protection {
    const NAMES: &'static [&'static str] = &["no", "yes", "local"];

    pub fn name(self) -> &'static str {
        match self {
            Protection::No => "no",
            Protection::Yes => "yes",
            Protection::Local => "local",
        }
    }

    fn parse(text: &str) -> Result<Protection, String> {
        Ok(match parse_enum(text, Self::NAMES)?.as_str() {
            "yes" => Protection::Yes,
            "local" => Protection::Local,
            _ => Protection::No,
        })
    }

    /// True if a connection from `peer` (its `ip:port`, or a Unix socket's path) may use the
    /// feature: with `local`, only one from a loopback address or a Unix socket, as Redis's
    /// `islocalClient`.
    pub fn allows(self, peer: &str) -> bool {
        match self {
            Protection::No => false,
            Protection::Yes => true,
            Protection::Local => match peer.parse::<std::net::SocketAddr>() {
                Ok(addr) => addr.ip().is_loopback(),
                Err(_) => true,
            },
        }
    }
}

/// `oom-score-adj`: how `oom-score-adj-values` apply to the process's OOM score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OomScoreAdj {
    /// The score is left alone (and restored, if Reddish had changed it).
    #[default]
    No,
    /// The value is added to the score the process started with (`yes` is the same).
    Relative,
    /// The value is the score.
    Absolute,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rename_commands: Vec::new(),
            users: Vec::new(),
            bind: DEFAULT_BIND.iter().map(|a| a.to_string()).collect(),
            port: 6379,
            unixsocket: None,
            tls_port: 0,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_key_file_pass: String::new(),
            tls_ca_cert_file: String::new(),
            tls_ca_cert_dir: String::new(),
            tls_auth_clients: "yes".to_string(),
            tls_protocols: String::new(),
            tls_ciphersuites: String::new(),
            unixsocketperm: 0,
            protected_mode: true,
            databases: 16,
            timeout: 0,
            repl_timeout: 60,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            maxclients: 10000,
            maxmemory: 0,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            hll_sparse_max_bytes: 3000,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            maxmemory_tiering: false,
            tiering_load_timeout_ms: 10_000,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            maxmemory_clients: ClientMemoryLimit::Bytes(0),
            hz: 10,
            busy_poll: 1000,
            loglevel: "notice".into(),
            logfile: String::new(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            save: DEFAULT_SAVE.into(),
            appendonly: false,
            notify_keyspace_events: KeyspaceEvents::default(),
            output_limit_normal: OutputLimit::default(),
            output_limit_replica: OutputLimit {
                hard_bytes: 256 << 20,
                soft_bytes: 64 << 20,
                soft_seconds: 60,
            },
            output_limit_pubsub: OutputLimit {
                hard_bytes: 32 << 20,
                soft_bytes: 8 << 20,
                soft_seconds: 60,
            },
            mongodb_uri: None,
            mongodb_database: "reddish".into(),
            import_rdb: String::new(),
            persist_interval_ms: 100,
            config_file: None,
            dir: std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            requirepass: None,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            enable_debug_command: Protection::No,
            enable_module_command: Protection::No,
            active_rehashing: true,
            jemalloc_bg_thread: true,
            enable_protected_configs: Protection::No,
            hash_limits: EncodingLimits::DEFAULT.hash,
            zset_limits: EncodingLimits::DEFAULT.zset,
            set_max_intset_entries: EncodingLimits::DEFAULT.set_max_intset_entries() as u64,
            oom_score_adj: OomScoreAdj::No,
            oom_score_adj_values: [0, 200, 800],
            save_loaded: false,
            tracking_table_max_keys: 1_000_000,
            inert: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Bytes all client connections together may hold before the largest are closed (0: no
    /// limit). As in Redis, never less than 128 KB, so a bad setting cannot cut every
    /// connection off.
    pub fn client_eviction_limit(&self) -> u64 {
        let limit = match self.maxmemory_clients {
            ClientMemoryLimit::Bytes(bytes) => bytes,
            ClientMemoryLimit::Percent(percent) => {
                (self.maxmemory as f64 * percent as f64 / 100.0) as u64
            }
        };
        if limit == 0 {
            0
        } else {
            limit.max(128 * 1024)
        }
    }
}

/// Why a parameter could not be set; `Display` is the reason part of Redis's error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Unknown option or number of arguments for CONFIG SET - '{0}'")]
    Unknown(String),
    #[error("{0}")]
    Invalid(String),
    #[error("can't set immutable config")]
    Immutable,
    #[error("can't set protected config")]
    Protected,
    #[error("duplicate parameter")]
    Duplicate,
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// What values a parameter Reddish does not act on accepts, as Redis checks them, so that a
/// value Redis would refuse is refused here too.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    /// An integer between the bounds, inclusive.
    Int(i64, i64),
    /// A memory amount (`1kb`, `2mb`, ...) in bytes between the bounds, inclusive.
    Memory(i64, i64),
    /// One of these words, in any case.
    Enum(&'static [&'static str]),
    /// `shutdown-on-sigterm`/`-sigint`: `default`, or any of `save`/`nosave`, `now`, `force`.
    ShutdownFlags,
    /// A memory amount, or a percentage (`50%`) of at most 100.
    MemoryOrPercent,
    Text,
    /// A switch for a feature this build does not have, as Redis built without it: `no` is
    /// accepted, `yes` refused with this reason.
    Unbuilt(&'static str),
}

/// Redis's reason, word for word, when built without its own patched jemalloc (Debian's
/// redis-server, or a libc build): Reddish has no active defragmentation either.
const ACTIVE_DEFRAG_UNBUILT: &str = "Active defragmentation cannot be enabled: it requires a \
    Redis server compiled with a modified Jemalloc like the one shipped by default with the \
    Redis source distribution";

/// Where a parameter's value lives.
enum Slot {
    /// A field of `Config` that the server acts on.
    Field { get: Getter, set: Setter },
    /// A Redis parameter accepted so that a redis.conf written for Redis loads unchanged:
    /// its value is only stored and reported (see `Config::inert`).
    Inert { kind: Kind, default: &'static str },
}

/// One configuration parameter.
pub struct Param {
    pub name: &'static str,
    /// The old name Redis still accepts and lists beside `name` (`slave-...` for `replica-...`).
    pub alias: Option<&'static str>,
    /// Settable with CONFIG SET at run time.
    pub mutable: bool,
    slot: Slot,
}

impl Param {
    /// True if Reddish behaves differently with another value of this parameter.
    pub fn has_effect(&self) -> bool {
        matches!(self.slot, Slot::Field { .. })
    }

    fn value(&self, config: &Config) -> String {
        match self.slot {
            Slot::Field { get, .. } => get(config),
            Slot::Inert { default, .. } => config
                .inert
                .get(self.name)
                .cloned()
                .unwrap_or_else(|| default.to_string()),
        }
    }

    fn apply(&self, config: &mut Config, text: &str) -> Result<(), String> {
        match self.slot {
            Slot::Field { set, .. } => set(config, text),
            Slot::Inert { kind, .. } => {
                let value = check_inert(kind, text)?;
                config.inert.insert(self.name, value);
                Ok(())
            }
        }
    }

    /// The value the parameter has when nothing sets it.
    fn default_value(&self) -> String {
        match self.slot {
            Slot::Field { get, .. } => get(&Config::default()),
            Slot::Inert { default, .. } => default.to_string(),
        }
    }

    /// The names CONFIG GET lists this parameter under.
    fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.alias)
    }
}

/// Checks a value of a parameter Reddish does not act on and returns it as CONFIG GET shows it.
fn check_inert(kind: Kind, text: &str) -> Result<String, String> {
    match kind {
        Kind::Bool => parse_yes_no(text).map(|on| if on { "yes" } else { "no" }.to_string()),
        Kind::Int(min, max) => parse_int(text, min, max).map(|n| n.to_string()),
        Kind::Memory(min, max) => parse_memory_in(text, min, max).map(|b| b.to_string()),
        Kind::Enum(words) => parse_enum(text, words),
        Kind::ShutdownFlags => parse_shutdown_flags(text),
        Kind::MemoryOrPercent => parse_memory_or_percent(text),
        Kind::Text => Ok(text.to_string()),
        Kind::Unbuilt(reason) => match parse_yes_no(text)? {
            true => Err(reason.to_string()),
            false => Ok("no".to_string()),
        },
    }
}

fn parse_int<T: TryFrom<i128> + Into<i128> + Copy>(
    text: &str,
    min: T,
    max: T,
) -> Result<T, String> {
    // Read as Redis's `string2ll`: a number beyond 64 bits cannot be parsed at all.
    let value = i128::from(
        crate::number::parse_i64(text.as_bytes())
            .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?,
    );
    let (lo, hi) = (min.into(), max.into());
    if value < lo || value > hi {
        return Err(format!("argument must be between {lo} and {hi} inclusive"));
    }
    T::try_from(value).map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

/// Parses a memory amount as Redis's `memtoull`: `100`, `1k` (1000), `1kb` (1024), `mb`, `gb`.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let (digits, unit) = lower.split_at(
        lower
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(lower.len()),
    );
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

/// A memory amount between `min` and `max` bytes, inclusive.
fn parse_memory_in(text: &str, min: i64, max: i64) -> Result<u64, String> {
    let bytes = parse_mem_arg(text)?;
    if i64::try_from(bytes).is_ok_and(|b| (min..=max).contains(&b)) {
        Ok(bytes)
    } else {
        Err(format!(
            "argument must be between {min} and {max} inclusive"
        ))
    }
}

/// A memory amount or a percentage, as Redis's `maxmemory-clients` takes them.
fn parse_memory_or_percent(text: &str) -> Result<String, String> {
    if let Some(bytes) = parse_memory(text) {
        return parse_memory_in(&bytes.to_string(), 0, i64::MAX).map(|b| b.to_string());
    }
    let percent = text
        .strip_suffix('%')
        .filter(|digits| !digits.is_empty())
        .and_then(|digits| digits.parse::<i64>().ok())
        .filter(|&p| p >= 0)
        .ok_or_else(|| "argument must be a memory or percent value".to_string())?;
    if percent > 100 {
        return Err("percentage argument must be less or equal to 100".into());
    }
    Ok(format!("{percent}%"))
}

/// The words of `shutdown-on-sigterm`/`-sigint`, in the order Redis prints them.
const SHUTDOWN_FLAGS: &[&str] = &["save", "nosave", "now", "force"];

/// Checks `shutdown-on-sig*` flags as Redis does and returns them as CONFIG GET shows them.
fn parse_shutdown_flags(text: &str) -> Result<String, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut on = [false; 4];
    for word in &words {
        if word.eq_ignore_ascii_case("default") {
            continue;
        }
        match SHUTDOWN_FLAGS
            .iter()
            .position(|f| f.eq_ignore_ascii_case(word))
        {
            Some(at) => on[at] = true,
            None => return Err(SHUTDOWN_FLAGS_ERROR.into()),
        }
    }
    if words.is_empty() {
        return Err(SHUTDOWN_FLAGS_ERROR.into());
    }
    if on[0] && on[1] {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
    }
    let names: Vec<&str> = SHUTDOWN_FLAGS
        .iter()
        .zip(on)
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
    Ok(if names.is_empty() {
        "default".into()
    } else {
        names.join(" ")
    })
}

const SHUTDOWN_FLAGS_ERROR: &str =
    "argument(s) must be one of the following: default, save, nosave, now, force";

fn parse_oom_score_adj(text: &str) -> Result<OomScoreAdj, String> {
    match parse_enum(text, &["no", "yes", "relative", "absolute"])?.as_str() {
        "no" => Ok(OomScoreAdj::No),
        "absolute" => Ok(OomScoreAdj::Absolute),
        _ => Ok(OomScoreAdj::Relative),
    }
}

fn format_oom_score_adj(mode: OomScoreAdj) -> String {
    // Redis prints the first name of the value: `relative` reads back as `yes`.
    match mode {
        OomScoreAdj::No => "no",
        OomScoreAdj::Relative => "yes",
        OomScoreAdj::Absolute => "absolute",
    }
    .into()
}

fn parse_oom_score_adj_values(text: &str) -> Result<[i32; 3], String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [a, b, c] = words[..] else {
        return Err("wrong number of arguments".into());
    };
    let mut values = [0; 3];
    for (slot, word) in values.iter_mut().zip([a, b, c]) {
        *slot = word
            .parse::<i32>()
            .ok()
            .filter(|v| (-2000..=2000).contains(v))
            .ok_or_else(|| {
                "Invalid oom-score-adj-values, elements must be between -2000 and 2000.".to_string()
            })?;
    }
    Ok(values)
}

/// A configured count as a `usize`, saturating where `usize` is narrower.
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn parse_mem_arg(text: &str) -> Result<u64, String> {
    parse_memory(text).ok_or_else(|| "argument must be a memory value".to_string())
}

fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn parse_enum(text: &str, allowed: &[&str]) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    if allowed.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!(
            "argument(s) must be one of the following: {}",
            allowed.join(", ")
        ))
    }
}

fn format_output_limits(c: &Config) -> String {
    let mut out = String::new();
    for (class, l) in [
        ("normal", c.output_limit_normal),
        ("slave", c.output_limit_replica),
        ("pubsub", c.output_limit_pubsub),
    ] {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(
            out,
            "{class} {} {} {}",
            l.hard_bytes, l.soft_bytes, l.soft_seconds
        );
    }
    out
}

fn set_output_limits(c: &mut Config, text: &str) -> Result<(), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut next = c.clone();
    for chunk in words.chunks(4) {
        let hard = parse_memory(chunk[1]);
        let soft = parse_memory(chunk[2]);
        let secs = chunk[3].parse::<u64>().ok();
        let (Some(hard_bytes), Some(soft_bytes), Some(soft_seconds)) = (hard, soft, secs) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        let limit = OutputLimit {
            hard_bytes,
            soft_bytes,
            soft_seconds,
        };
        match chunk[0].to_ascii_lowercase().as_str() {
            "normal" => next.output_limit_normal = limit,
            "slave" | "replica" => next.output_limit_replica = limit,
            "pubsub" => next.output_limit_pubsub = limit,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        }
    }
    *c = next;
    Ok(())
}

/// Checks save points (`seconds changes ...`, seconds at least 1) as Redis does; `""` is none.
fn parse_save(text: &str) -> Result<Vec<&str>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let valid = words.len().is_multiple_of(2)
        && words.iter().enumerate().all(|(i, w)| {
            w.parse::<i64>()
                .is_ok_and(|n| if i % 2 == 0 { n >= 1 } else { n >= 0 })
        });
    if valid {
        Ok(words)
    } else {
        Err("Invalid save parameters".into())
    }
}

/// CONFIG SET save: the new points replace the old ones.
fn set_save(c: &mut Config, text: &str) -> Result<(), String> {
    c.save = parse_save(text)?.join(" ");
    Ok(())
}

/// A `save` line of the file or flags: the first one replaces Redis's defaults, the next ones
/// add points, and `save ""` removes them all (Redis's rules for its config file).
fn load_save(c: &mut Config, text: &str) -> Result<(), String> {
    let words = parse_save(text)?;
    if !c.save_loaded || words.is_empty() {
        c.save.clear();
        c.save_loaded = true;
    }
    if !words.is_empty() {
        if !c.save.is_empty() {
            c.save.push(' ');
        }
        c.save.push_str(&words.join(" "));
    }
    Ok(())
}

/// Parses `latency-tracking-info-percentiles`: numbers separated by single spaces, as Redis
/// splits them, each between 0 and 100; an empty value asks for none.
fn parse_percentiles(text: &str) -> Result<Vec<f64>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(' ')
        .map(|word| {
            let percentile = crate::number::parse_f64(word.as_bytes())
                .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
            if !(0.0..=100.0).contains(&percentile) {
                return Err(
                    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
                );
            }
            Ok(percentile)
        })
        .collect::<Result<_, _>>()
        .map_err(String::from)
}

/// The percentiles as CONFIG GET shows them: C's `%f` with the trailing zeros trimmed
/// (`99.9`, `50`).
fn format_percentiles(percentiles: &[f64]) -> String {
    let words: Vec<String> = percentiles.iter().map(|&p| trimmed_percentile(p)).collect();
    words.join(" ")
}

/// A percentile written as Redis writes it in CONFIG GET and INFO: six decimals, then the
/// trailing zeros and a bare point removed.
pub fn trimmed_percentile(percentile: f64) -> String {
    let text = format!("{percentile:.6}");
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_string()
}

/// `bind`: up to 16 addresses; none (`""`) means no TCP listener.
fn parse_bind(text: &str) -> Result<Vec<String>, String> {
    let addrs: Vec<String> = text.split_whitespace().map(String::from).collect();
    if addrs.len() > MAX_BIND_ADDRESSES {
        return Err("Too many bind addresses specified.".into());
    }
    Ok(addrs)
}

/// Permission bits written in octal, as `unixsocketperm` takes them.
fn parse_octal_mode(text: &str) -> Result<u32, String> {
    match u32::from_str_radix(text, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        Ok(_) => Err("argument must be between 0 and 777 inclusive".into()),
        Err(_) => Err("argument couldn't be parsed into an integer".into()),
    }
}

fn set_notify(c: &mut Config, text: &str) -> Result<(), String> {
    c.notify_keyspace_events = KeyspaceEvents::parse(text)
        .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string())?;
    Ok(())
}

macro_rules! param {
    ($name:literal, $mutable:expr, |$c:ident| $get:expr, |$sc:ident, $v:ident| $set:expr) => {
        Param {
            name: $name,
            alias: None,
            mutable: $mutable,
            slot: Slot::Field {
                get: |$c: &Config| $get,
                set: |$sc: &mut Config, $v: &str| {
                    $set;
                    #[allow(unreachable_code)]
                    Ok(())
                },
            },
        }
    };
}

/// A parameter the server acts on that Redis also knows by an older name.
macro_rules! param_alias {
    ($name:literal, $alias:literal, |$c:ident| $get:expr, |$sc:ident, $v:ident| $set:expr) => {
        Param {
            alias: Some($alias),
            ..param!($name, true, |$c| $get, |$sc, $v| $set)
        }
    };
}

/// A Redis 7.0 parameter Reddish accepts and reports but does not act on; the default is the
/// value Redis 7.0 reports in CONFIG GET.
macro_rules! inert {
    ($name:literal, $alias:expr, $mutable:expr, $kind:expr, $default:literal) => {
        Param {
            name: $name,
            alias: $alias,
            mutable: $mutable,
            slot: Slot::Inert {
                kind: $kind,
                default: $default,
            },
        }
    };
}

/// The parameters Reddish acts on (Redis's and Reddish's own), in the order CONFIG GET *
/// lists them, before `INERT_PARAMS`.
pub static PARAMS: &[Param] = &[
    param!("bind", true, |c| c.bind.join(" "), |c, v| c.bind =
        parse_bind(v)?),
    param!("port", true, |c| c.port.to_string(), |c, v| c.port =
        parse_int(v, 0, 65535)?),
    param!(
        "unixsocket",
        false,
        |c| c.unixsocket.clone().unwrap_or_default(),
        |c, v| c.unixsocket = (!v.is_empty()).then(|| v.to_string())
    ),
    // The listeners of tls-port are bound once at start-up; CONFIG SET of the other TLS
    // settings applies to the connections accepted after it (the reactor builds the TLS
    // context anew, keeping the old one if the new settings do not make one).
    param!("tls-port", false, |c| c.tls_port.to_string(), |c, v| c
        .tls_port =
        parse_int(v, 0, 65535)?),
    param!(
        "tls-cert-file",
        true,
        |c| c.tls_cert_file.clone(),
        |c, v| c.tls_cert_file = v.to_string()
    ),
    param!("tls-key-file", true, |c| c.tls_key_file.clone(), |c, v| {
        c.tls_key_file = v.to_string()
    }),
    param!(
        "tls-key-file-pass",
        true,
        |c| c.tls_key_file_pass.clone(),
        |c, v| c.tls_key_file_pass = v.to_string()
    ),
    param!(
        "tls-ca-cert-file",
        true,
        |c| c.tls_ca_cert_file.clone(),
        |c, v| c.tls_ca_cert_file = v.to_string()
    ),
    param!(
        "tls-ca-cert-dir",
        true,
        |c| c.tls_ca_cert_dir.clone(),
        |c, v| c.tls_ca_cert_dir = v.to_string()
    ),
    param!(
        "tls-auth-clients",
        true,
        |c| c.tls_auth_clients.clone(),
        |c, v| c.tls_auth_clients = parse_enum(v, &["no", "yes", "optional"])?
    ),
    param!(
        "tls-protocols",
        true,
        |c| c.tls_protocols.clone(),
        |c, v| c.tls_protocols = v.to_string()
    ),
    param!(
        "tls-ciphersuites",
        true,
        |c| c.tls_ciphersuites.clone(),
        |c, v| c.tls_ciphersuites = v.to_string()
    ),
    param!(
        "unixsocketperm",
        false,
        |c| format!("{:o}", c.unixsocketperm),
        |c, v| c.unixsocketperm = parse_octal_mode(v)?
    ),
    param!(
        "protected-mode",
        true,
        |c| if c.protected_mode { "yes" } else { "no" }.to_string(),
        |c, v| c.protected_mode = parse_yes_no(v)?
    ),
    param!("databases", false, |c| c.databases.to_string(), |c, v| c
        .databases =
        parse_int(v, 1u32, i32::MAX as u32)? as usize),
    param!("timeout", true, |c| c.timeout.to_string(), |c, v| c
        .timeout =
        parse_int(v, 0, i32::MAX as u64)?),
    param!(
        "repl-timeout",
        true,
        |c| c.repl_timeout.to_string(),
        |c, v| c.repl_timeout = parse_int(v, 1, i32::MAX as u64)?
    ),
    param!(
        "tcp-keepalive",
        true,
        |c| c.tcp_keepalive.to_string(),
        |c, v| c.tcp_keepalive = parse_int(v, 0, i32::MAX as u64)?
    ),
    param!(
        "tcp-backlog",
        false,
        |c| c.tcp_backlog.to_string(),
        |c, v| c.tcp_backlog = parse_int(v, 0, i32::MAX)?
    ),
    param!("maxclients", true, |c| c.maxclients.to_string(), |c, v| c
        .maxclients =
        parse_int(v, 1, u32::MAX as u64)?),
    param!(
        "stream-node-max-bytes",
        true,
        |c| c.stream_node_max_bytes.to_string(),
        |c, v| c.stream_node_max_bytes = parse_mem_arg(v)?
    ),
    param!(
        "stream-node-max-entries",
        true,
        |c| c.stream_node_max_entries.to_string(),
        |c, v| c.stream_node_max_entries = parse_int(v, 0, i64::MAX as u64)?
    ),
    param!(
        "hll-sparse-max-bytes",
        true,
        |c| c.hll_sparse_max_bytes.to_string(),
        |c, v| c.hll_sparse_max_bytes = parse_memory_in(v, 0, i64::MAX)?
    ),
    param!("maxmemory", true, |c| c.maxmemory.to_string(), |c, v| c
        .maxmemory =
        parse_mem_arg(v)?),
    param!(
        "maxmemory-policy",
        true,
        |c| c.maxmemory_policy.clone(),
        |c, v| c.maxmemory_policy = parse_enum(v, MAXMEMORY_POLICIES)?
    ),
    param!(
        "maxmemory-samples",
        true,
        |c| c.maxmemory_samples.to_string(),
        |c, v| c.maxmemory_samples = parse_int(v, 1, i32::MAX as u64)?
    ),
    param!(
        "maxmemory-eviction-tenacity",
        true,
        |c| c.maxmemory_eviction_tenacity.to_string(),
        |c, v| c.maxmemory_eviction_tenacity = parse_int(v, 0, 100)?
    ),
    param!(
        "maxmemory-tiering",
        true,
        |c| if c.maxmemory_tiering { "yes" } else { "no" }.to_string(),
        |c, v| c.maxmemory_tiering = parse_yes_no(v)?
    ),
    param!(
        "tiering-load-timeout-ms",
        true,
        |c| c.tiering_load_timeout_ms.to_string(),
        |c, v| c.tiering_load_timeout_ms = parse_int(v, 1, 3_600_000)?
    ),
    param!(
        "lfu-decay-time",
        true,
        |c| c.lfu_decay_time.to_string(),
        |c, v| c.lfu_decay_time = parse_int(v, 0, i32::MAX as u64)?
    ),
    param!(
        "lfu-log-factor",
        true,
        |c| c.lfu_log_factor.to_string(),
        |c, v| c.lfu_log_factor = parse_int(v, 0, i32::MAX as u64)?
    ),
    param!(
        "maxmemory-clients",
        true,
        |c| c.maxmemory_clients.to_string(),
        |c, v| c.maxmemory_clients = ClientMemoryLimit::parse(v)?
    ),
    param!("hz", true, |c| c.hz.to_string(), |c, v| c.hz =
        parse_int(v, 0, i32::MAX as u64)?.clamp(1, 500)),
    param!("busy-poll", true, |c| c.busy_poll.to_string(), |c, v| c
        .busy_poll =
        parse_int(v, 0, 1_000_000)?),
    param!("loglevel", true, |c| c.loglevel.clone(), |c, v| c
        .loglevel =
        parse_enum(v, LOG_LEVELS)?),
    param!("logfile", false, |c| c.logfile.clone(), |c, v| c.logfile =
        v.to_string()),
    param!("dir", true, |c| c.dir.clone(), |c, v| c.dir =
        crate::process::resolve_dir(std::path::Path::new(&c.dir), v)
            .map_err(|e| crate::process::os_error_text(&e))?
            .display()
            .to_string()),
    param!(
        "proto-max-bulk-len",
        true,
        |c| c.proto_max_bulk_len.to_string(),
        |c, v| c.proto_max_bulk_len = parse_memory_in(v, 1024 * 1024, i64::MAX)?
    ),
    param!(
        "client-query-buffer-limit",
        true,
        |c| c.client_query_buffer_limit.to_string(),
        |c, v| c.client_query_buffer_limit = parse_memory_in(v, 1024 * 1024, i64::MAX)?
    ),
    param!("save", true, |c| c.save.clone(), |c, v| set_save(c, v)?),
    param!(
        "appendonly",
        true,
        |c| if c.appendonly { "yes" } else { "no" }.to_string(),
        |c, v| c.appendonly = parse_yes_no(v)?
    ),
    param!(
        "notify-keyspace-events",
        true,
        |c| c.notify_keyspace_events.to_string(),
        |c, v| set_notify(c, v)?
    ),
    param!(
        "client-output-buffer-limit",
        true,
        |c| format_output_limits(c),
        |c, v| set_output_limits(c, v)?
    ),
    param!(
        "mongodb-uri",
        false,
        |c| c.mongodb_uri.clone().unwrap_or_default(),
        |c, v| c.mongodb_uri = (!v.is_empty()).then(|| v.to_string())
    ),
    param!("import-rdb", false, |c| c.import_rdb.clone(), |c, v| c
        .import_rdb =
        v.to_string()),
    param!(
        "mongodb-database",
        false,
        |c| c.mongodb_database.clone(),
        |c, v| c.mongodb_database = v.to_string()
    ),
    param!(
        "persist-interval-ms",
        true,
        |c| c.persist_interval_ms.to_string(),
        |c, v| c.persist_interval_ms = parse_int(v, 1, 3_600_000)?
    ),
    param!(
        "requirepass",
        true,
        |c| c.requirepass.clone().unwrap_or_default(),
        |c, v| c.requirepass = (!v.is_empty()).then(|| v.to_string())
    ),
    param!(
        "slowlog-log-slower-than",
        true,
        |c| c.slowlog_log_slower_than.to_string(),
        |c, v| c.slowlog_log_slower_than = parse_int(v, -1, i64::MAX)?
    ),
    param!(
        "slowlog-max-len",
        true,
        |c| c.slowlog_max_len.to_string(),
        |c, v| c.slowlog_max_len = parse_int(v, 0, i64::MAX as u64)?
    ),
    param!(
        "latency-monitor-threshold",
        true,
        |c| c.latency_monitor_threshold.to_string(),
        |c, v| c.latency_monitor_threshold = parse_int(v, 0, i64::MAX as u64)?
    ),
    param!(
        "latency-tracking",
        true,
        |c| if c.latency_tracking { "yes" } else { "no" }.to_string(),
        |c, v| c.latency_tracking = parse_yes_no(v)?
    ),
    param!(
        "latency-tracking-info-percentiles",
        true,
        |c| format_percentiles(&c.latency_tracking_info_percentiles),
        |c, v| c.latency_tracking_info_percentiles = parse_percentiles(v)?
    ),
    param!(
        "enable-debug-command",
        false,
        |c| c.enable_debug_command.name().to_string(),
        |c, v| c.enable_debug_command = Protection::parse(v)?
    ),
    param!(
        "activerehashing",
        true,
        |c| if c.active_rehashing { "yes" } else { "no" }.to_string(),
        |c, v| c.active_rehashing = parse_yes_no(v)?
    ),
    param!(
        "jemalloc-bg-thread",
        true,
        |c| if c.jemalloc_bg_thread { "yes" } else { "no" }.to_string(),
        |c, v| c.jemalloc_bg_thread = parse_yes_no(v)?
    ),
    param!(
        "enable-module-command",
        false,
        |c| c.enable_module_command.name().to_string(),
        |c, v| c.enable_module_command = Protection::parse(v)?
    ),
    param!(
        "enable-protected-configs",
        false,
        |c| c.enable_protected_configs.name().to_string(),
        |c, v| c.enable_protected_configs = Protection::parse(v)?
    ),
    param_alias!(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        |c| c.hash_limits.max_entries.to_string(),
        |c, v| c.hash_limits.max_entries = to_usize(parse_int(v, 0, i64::MAX as u64)?)
    ),
    param_alias!(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        |c| c.hash_limits.max_value.to_string(),
        |c, v| c.hash_limits.max_value = to_usize(parse_memory_in(v, 0, i64::MAX)?)
    ),
    param!(
        "set-max-intset-entries",
        true,
        |c| c.set_max_intset_entries.to_string(),
        |c, v| c.set_max_intset_entries = parse_int(v, 0, i64::MAX as u64)?
    ),
    param_alias!(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        |c| c.zset_limits.max_entries.to_string(),
        |c, v| c.zset_limits.max_entries = to_usize(parse_int(v, 0, i64::MAX as u64)?)
    ),
    param_alias!(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        |c| c.zset_limits.max_value.to_string(),
        |c, v| c.zset_limits.max_value = to_usize(parse_memory_in(v, 0, i64::MAX)?)
    ),
    param!(
        "oom-score-adj",
        true,
        |c| format_oom_score_adj(c.oom_score_adj),
        |c, v| c.oom_score_adj = parse_oom_score_adj(v)?
    ),
    param!(
        "oom-score-adj-values",
        true,
        |c| c.oom_score_adj_values.map(|v| v.to_string()).join(" "),
        |c, v| c.oom_score_adj_values = parse_oom_score_adj_values(v)?
    ),
    param!(
        "tracking-table-max-keys",
        true,
        |c| c.tracking_table_max_keys.to_string(),
        |c, v| c.tracking_table_max_keys = parse_int(v, 0, i64::MAX as u64)?
    ),
];

/// Redis 7.0's hidden parameters: CONFIG GET answers them by their exact name, and `CONFIG
/// GET *` does not list them. Reddish does not act on them.
#[rustfmt::skip]
pub static HIDDEN_PARAMS: &[Param] = &[
    inert!("key-load-delay", None, true, Kind::Int(i32::MIN as i64, i32::MAX as i64), "0"),
    inert!("loading-process-events-interval-bytes", None, true, Kind::Int(1024, i32::MAX as i64), "2097152"),
    inert!("lua-enable-deprecated-api", None, false, Kind::Bool, "no"),
    inert!("rdb-key-save-delay", None, true, Kind::Int(i32::MIN as i64, i32::MAX as i64), "0"),
    inert!("use-exit-on-panic", None, true, Kind::Bool, "no"),
    inert!("watchdog-period", None, true, Kind::Int(0, i32::MAX as i64), "0"),
];

/// Reddish's own parameters, which Redis does not have. Setting one that cannot change at run
/// time to the value it already has succeeds (a no-op), so that tools which write back every
/// value `CONFIG GET *` returns, as Redis's own test suite does, work unchanged.
pub const REDDISH_PARAMS: &[&str] = &[
    "busy-poll",
    "import-rdb",
    "maxmemory-tiering",
    "mongodb-uri",
    "mongodb-database",
    "persist-interval-ms",
    "tiering-load-timeout-ms",
];

/// Parameters CONFIG SET changes only as `enable-protected-configs` allows.
const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// The rest of the parameters Redis 7.0 lists in CONFIG GET *, by name, one a line.
#[rustfmt::skip]
pub static INERT_PARAMS: &[Param] = &[
    inert!("acl-pubsub-default", None, true, Kind::Enum(&["allchannels", "resetchannels"]), "resetchannels"),
    inert!("aclfile", None, false, Kind::Text, ""),
    inert!("acllog-max-len", None, true, Kind::Int(0, i64::MAX), "128"),
    inert!("active-defrag-cycle-max", None, true, Kind::Int(1, 99), "25"),
    inert!("active-defrag-cycle-min", None, true, Kind::Int(1, 99), "1"),
    inert!("active-defrag-ignore-bytes", None, true, Kind::Memory(1, i64::MAX), "104857600"),
    inert!("active-defrag-max-scan-fields", None, true, Kind::Int(1, i64::MAX), "1000"),
    inert!("active-defrag-threshold-lower", None, true, Kind::Int(0, 1000), "10"),
    inert!("active-defrag-threshold-upper", None, true, Kind::Int(0, 1000), "100"),
    inert!("active-expire-effort", None, true, Kind::Int(1, 10), "1"),
    inert!("activedefrag", None, true, Kind::Unbuilt(ACTIVE_DEFRAG_UNBUILT), "no"),
    inert!("always-show-logo", None, false, Kind::Bool, "no"),
    inert!("aof-disable-auto-gc", None, true, Kind::Bool, "no"),
    inert!("aof-load-truncated", None, true, Kind::Bool, "yes"),
    inert!("aof-rewrite-incremental-fsync", None, true, Kind::Bool, "yes"),
    inert!("aof-timestamp-enabled", None, true, Kind::Bool, "no"),
    inert!("aof-use-rdb-preamble", None, true, Kind::Bool, "yes"),
    inert!("aof_rewrite_cpulist", None, false, Kind::Text, ""),
    inert!("appenddirname", None, false, Kind::Text, "appendonlydir"),
    inert!("appendfilename", None, false, Kind::Text, "appendonly.aof"),
    inert!("appendfsync", None, true, Kind::Enum(&["everysec", "always", "no"]), "everysec"),
    inert!("auto-aof-rewrite-min-size", None, true, Kind::Memory(0, i64::MAX), "67108864"),
    inert!("auto-aof-rewrite-percentage", None, true, Kind::Int(0, i32::MAX as i64), "100"),
    inert!("bgsave_cpulist", None, false, Kind::Text, ""),
    inert!("bind-source-addr", None, true, Kind::Text, ""),
    inert!("bio_cpulist", None, false, Kind::Text, ""),
    inert!("busy-reply-threshold", Some("lua-time-limit"), true, Kind::Int(0, i64::MAX), "5000"),

    inert!("cluster-allow-pubsubshard-when-down", None, true, Kind::Bool, "yes"),
    inert!("cluster-allow-reads-when-down", None, true, Kind::Bool, "no"),
    inert!("cluster-allow-replica-migration", None, true, Kind::Bool, "yes"),
    inert!("cluster-announce-bus-port", None, true, Kind::Int(0, 65535), "0"),
    inert!("cluster-announce-hostname", None, true, Kind::Text, ""),
    inert!("cluster-announce-ip", None, true, Kind::Text, ""),
    inert!("cluster-announce-port", None, true, Kind::Int(0, 65535), "0"),
    inert!("cluster-announce-tls-port", None, true, Kind::Int(0, 65535), "0"),
    inert!("cluster-config-file", None, false, Kind::Text, "nodes.conf"),
    inert!("cluster-enabled", None, false, Kind::Bool, "no"),
    inert!("cluster-link-sendbuf-limit", None, true, Kind::Memory(0, i64::MAX), "0"),
    inert!("cluster-migration-barrier", None, true, Kind::Int(0, i32::MAX as i64), "1"),
    inert!("cluster-node-timeout", None, true, Kind::Int(0, i64::MAX), "15000"),
    inert!("cluster-port", None, false, Kind::Int(0, 65535), "0"),
    inert!("cluster-preferred-endpoint-type", None, true, Kind::Enum(&["ip", "hostname", "unknown-endpoint"]), "ip"),
    inert!("cluster-replica-no-failover", Some("cluster-slave-no-failover"), true, Kind::Bool, "no"),
    inert!("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), true, Kind::Int(0, i32::MAX as i64), "10"),
    inert!("cluster-require-full-coverage", None, true, Kind::Bool, "yes"),
    inert!("crash-log-enabled", None, true, Kind::Bool, "yes"),
    inert!("crash-memcheck-enabled", None, true, Kind::Bool, "yes"),
    inert!("daemonize", None, false, Kind::Bool, "no"),
    inert!("dbfilename", None, true, Kind::Text, "dump.rdb"),
    inert!("disable-thp", None, false, Kind::Bool, "yes"),
    inert!("dynamic-hz", None, true, Kind::Bool, "yes"),
    inert!("ignore-warnings", None, true, Kind::Text, ""),
    inert!("io-threads", None, false, Kind::Int(1, 128), "1"),
    inert!("io-threads-do-reads", None, false, Kind::Bool, "no"),
    inert!("lazyfree-lazy-eviction", None, true, Kind::Bool, "no"),
    inert!("lazyfree-lazy-expire", None, true, Kind::Bool, "no"),
    inert!("lazyfree-lazy-server-del", None, true, Kind::Bool, "no"),
    inert!("lazyfree-lazy-user-del", None, true, Kind::Bool, "no"),
    inert!("lazyfree-lazy-user-flush", None, true, Kind::Bool, "no"),
    inert!("list-compress-depth", None, true, Kind::Int(0, i32::MAX as i64), "0"),
    inert!("list-max-listpack-size", Some("list-max-ziplist-size"), true, Kind::Int(i32::MIN as i64, i32::MAX as i64), "-2"),
    inert!("masterauth", None, true, Kind::Text, ""),
    inert!("masteruser", None, true, Kind::Text, ""),
    inert!("min-replicas-max-lag", Some("min-slaves-max-lag"), true, Kind::Int(0, i32::MAX as i64), "10"),
    inert!("min-replicas-to-write", Some("min-slaves-to-write"), true, Kind::Int(0, i32::MAX as i64), "0"),
    inert!("no-appendfsync-on-rewrite", None, true, Kind::Bool, "no"),
    inert!("pidfile", None, false, Kind::Text, ""),
    inert!("proc-title-template", None, true, Kind::Text, "{title} {listen-addr} {server-mode}"),
    inert!("propagation-error-behavior", None, true, Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), "ignore"),
    inert!("rdb-del-sync-files", None, true, Kind::Bool, "no"),
    inert!("rdb-save-incremental-fsync", None, true, Kind::Bool, "yes"),
    inert!("rdbchecksum", None, false, Kind::Bool, "yes"),
    inert!("rdbcompression", None, true, Kind::Bool, "yes"),
    inert!("repl-backlog-size", None, true, Kind::Memory(1, i64::MAX), "1048576"),
    inert!("repl-backlog-ttl", None, true, Kind::Int(0, i64::MAX), "3600"),
    inert!("repl-disable-tcp-nodelay", None, true, Kind::Bool, "no"),
    inert!("repl-diskless-load", None, true, Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled"),
    inert!("repl-diskless-sync", None, true, Kind::Bool, "yes"),
    inert!("repl-diskless-sync-delay", None, true, Kind::Int(0, i32::MAX as i64), "5"),
    inert!("repl-diskless-sync-max-replicas", None, true, Kind::Int(0, i32::MAX as i64), "0"),
    inert!("repl-ping-replica-period", Some("repl-ping-slave-period"), true, Kind::Int(1, i32::MAX as i64), "10"),
    inert!("replica-announce-ip", Some("slave-announce-ip"), true, Kind::Text, ""),
    inert!("replica-announce-port", Some("slave-announce-port"), true, Kind::Int(0, 65535), "0"),
    inert!("replica-announced", None, true, Kind::Bool, "yes"),
    inert!("replica-ignore-disk-write-errors", None, true, Kind::Bool, "no"),
    inert!("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), true, Kind::Bool, "yes"),
    inert!("replica-lazy-flush", Some("slave-lazy-flush"), true, Kind::Bool, "no"),
    inert!("replica-priority", Some("slave-priority"), true, Kind::Int(0, i32::MAX as i64), "100"),
    inert!("replica-read-only", Some("slave-read-only"), true, Kind::Bool, "yes"),
    inert!("replica-serve-stale-data", Some("slave-serve-stale-data"), true, Kind::Bool, "yes"),
    inert!("replicaof", Some("slaveof"), false, Kind::Text, ""),
    inert!("sanitize-dump-payload", None, true, Kind::Enum(&["no", "yes", "clients"]), "no"),
    inert!("server_cpulist", None, false, Kind::Text, ""),
    inert!("set-proc-title", None, false, Kind::Bool, "yes"),
    inert!("shutdown-on-sigint", None, true, Kind::ShutdownFlags, "default"),
    inert!("shutdown-on-sigterm", None, true, Kind::ShutdownFlags, "default"),
    inert!("shutdown-timeout", None, true, Kind::Int(0, i32::MAX as i64), "10"),
    inert!("socket-mark-id", None, false, Kind::Int(0, u32::MAX as i64), "0"),
    inert!("stop-writes-on-bgsave-error", None, true, Kind::Bool, "yes"),
    inert!("supervised", None, false, Kind::Enum(&["upstart", "systemd", "auto", "no"]), "no"),
    inert!("syslog-enabled", None, false, Kind::Bool, "no"),
    inert!("syslog-facility", None, false, Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), "local0"),
    inert!("syslog-ident", None, false, Kind::Text, "redis"),
    inert!("tls-ciphers", None, true, Kind::Text, ""),
    inert!("tls-client-cert-file", None, true, Kind::Text, ""),
    inert!("tls-client-key-file", None, true, Kind::Text, ""),
    inert!("tls-client-key-file-pass", None, true, Kind::Text, ""),
    inert!("tls-cluster", None, true, Kind::Bool, "no"),
    inert!("tls-dh-params-file", None, true, Kind::Text, ""),
    inert!("tls-prefer-server-ciphers", None, true, Kind::Bool, "no"),
    inert!("tls-replication", None, true, Kind::Bool, "no"),
    inert!("tls-session-cache-size", None, true, Kind::Int(0, i32::MAX as i64), "20480"),
    inert!("tls-session-cache-timeout", None, true, Kind::Int(0, i32::MAX as i64), "300"),
    inert!("tls-session-caching", None, true, Kind::Bool, "yes"),
];

/// Turns command-line flags into config-file text, one directive per line, by Redis's rules:
/// `--name` starts a directive and the arguments after it are its values, quoted; an argument
/// holding a name and its value ("--port 6380") is a whole directive, and after a bare `--name`
/// the next argument is its value even when it starts with `--`; `--save` followed by another
/// flag or nothing means `save ""`.
fn args_to_config_text(args: &[String]) -> String {
    let mut text = String::new();
    // Whether the directive being built already has a value, so that `--x` starts a new one.
    let mut has_value = true;
    for (i, arg) in args.iter().enumerate() {
        match arg.strip_prefix("--") {
            Some(directive) if has_value => {
                text.push('\n');
                text.push_str(directive);
                text.push(' ');
                let bare_name = split_words(arg).is_some_and(|words| words.len() == 1);
                has_value = !bare_name;
                if bare_name && directive.eq_ignore_ascii_case("save") {
                    let next_is_flag = args.get(i + 1).is_none_or(|next| next.starts_with("--"));
                    if next_is_flag {
                        text.push_str("\"\"");
                        has_value = true;
                    }
                }
            }
            _ => {
                text.push_str(&quote(arg));
                text.push(' ');
                has_value = true;
            }
        }
    }
    text
}

/// Parameters a config line may give several values (the others take exactly one).
const MULTI_ARG: &[&str] = &[
    "bind",
    "save",
    "client-output-buffer-limit",
    "oom-score-adj-values",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
    "latency-tracking-info-percentiles",
];

/// Checks how many values a config line gives `param`, as Redis's config loader does.
fn check_arg_count(param: &Param, values: &[String]) -> Result<(), String> {
    if param.name == "replicaof" {
        // `replicaof <host> <port>`, or `replicaof no one`.
        let [_, port] = values else {
            return Err("wrong number of arguments".into());
        };
        let no_one = values
            .iter()
            .map(|v| v.to_ascii_lowercase())
            .eq(["no", "one"]);
        if !no_one && port.parse::<u16>().is_err() {
            return Err("Invalid master port".into());
        }
        return Ok(());
    }
    if !MULTI_ARG.contains(&param.name) && values.len() != 1 {
        return Err("wrong number of arguments".into());
    }
    Ok(())
}

/// Every parameter, in the order CONFIG GET * lists them.
fn all_params() -> impl Iterator<Item = &'static Param> {
    PARAMS.iter().chain(INERT_PARAMS)
}

/// The parameter `name` (or its alias) designates, hidden ones included.
fn find_param(name: &str) -> Option<&'static Param> {
    all_params()
        .chain(HIDDEN_PARAMS)
        .find(|p| p.names().any(|n| n.eq_ignore_ascii_case(name)))
}

impl Config {
    /// Builds the configuration from command-line arguments (without the program name):
    /// an optional config file first, then `--name value ...` flags, applied after the file.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config::default();
        let mut rest = args;
        if let Some(first) = args.first().filter(|a| !a.starts_with("--")) {
            let text = std::fs::read_to_string(first)
                .map_err(|e| format!("can't open config file '{first}': {e}"))?;
            config.apply_text(&text)?;
            // Absolute, as Redis keeps it: the working directory moves to `dir` at start.
            let path = std::path::absolute(first)
                .map_or_else(|_| first.clone(), |p| p.display().to_string());
            config.config_file = Some(path);
            rest = &args[1..];
        }
        config.apply_text(&args_to_config_text(rest))?;
        config.check_tiering()?;
        Ok(config)
    }

    /// Refuses `maxmemory-tiering yes` without `mongodb-uri`: cold values live only in
    /// MongoDB. Checked once every setting is read, so their order does not matter.
    pub fn check_tiering(&self) -> Result<(), String> {
        if self.maxmemory_tiering && self.mongodb_uri.is_none() {
            return Err(
                "maxmemory-tiering needs mongodb-uri: cold values are kept in MongoDB \
                        only"
                    .into(),
            );
        }
        Ok(())
    }

    /// Applies redis.conf-style text: one `name value...` per line, `#` comments.
    pub fn apply_text(&mut self, text: &str) -> Result<(), String> {
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split_words(line)
                .ok_or_else(|| format!("line {}: unbalanced quotes in '{line}'", number + 1))?;
            let Some((name, values)) = words.split_first() else {
                continue;
            };
            if name.eq_ignore_ascii_case("rename-command") {
                let [old, new] = values else {
                    return Err(format!(
                        "line {}: '{line}': wrong number of arguments",
                        number + 1
                    ));
                };
                self.rename_commands.push((old.clone(), new.clone()));
                continue;
            }
            if name.eq_ignore_ascii_case("user") {
                if values.is_empty() {
                    return Err(format!(
                        "line {}: '{line}': wrong number of arguments",
                        number + 1
                    ));
                }
                let words = values.to_vec();
                if self.users.iter().any(|u| u.first() == words.first()) {
                    return Err(format!(
                        "line {}: '{line}': Duplicate user found. A user can only be defined \
                         once in config files",
                        number + 1
                    ));
                }
                self.users.push(words);
                continue;
            }
            let param = find_param(name).ok_or_else(|| {
                format!(
                    "line {}: bad directive or wrong number of arguments: '{name}'",
                    number + 1
                )
            })?;
            let value = values.join(" ");
            let applied = if let Err(e) = check_arg_count(param, values) {
                Err(e)
            } else if param.name == "save" {
                load_save(self, &value)
            } else {
                param.apply(self, &value)
            };
            applied.map_err(|e| format!("line {}: '{line}': {e}", number + 1))?;
        }
        Ok(())
    }

    /// CONFIG GET: (name, value) of every parameter matching one of the glob `patterns`.
    /// A pattern without glob characters names one parameter exactly, and may name a hidden
    /// one; a glob never matches a hidden parameter (Redis's rules).
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let is_glob = |pat: &[u8]| pat.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        let visible = all_params()
            .flat_map(|p| p.names().map(move |name| (p, name)))
            .filter(|(_, name)| {
                patterns
                    .iter()
                    .any(|pat| crate::store::glob::matches_nocase(pat, name.as_bytes()))
            });
        let hidden = HIDDEN_PARAMS
            .iter()
            .flat_map(|p| p.names().map(move |name| (p, name)))
            .filter(|(_, name)| {
                patterns
                    .iter()
                    .any(|pat| !is_glob(pat) && pat.eq_ignore_ascii_case(name.as_bytes()))
            });
        visible
            .chain(hidden)
            .map(|(p, name)| (name, p.value(self)))
            .collect()
    }

    /// CONFIG SET of several pairs, all or nothing, checked in Redis's order: every name
    /// first, the first refused one failing the call (unknown, immutable, protected unless
    /// `allow_protected`, or the same name twice: the error names the argument as given),
    /// then every value (the error names the parameter as CONFIG GET lists it).
    pub fn set_many(
        &mut self,
        pairs: &[(&str, &str)],
        allow_protected: bool,
    ) -> Result<(), (String, ConfigError)> {
        let mut params: Vec<&'static Param> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let Some(param) = find_param(name) else {
                return Err((name.to_string(), ConfigError::Unknown(name.to_string())));
            };
            let unchanged_own = REDDISH_PARAMS.contains(&param.name) && param.value(self) == *value;
            let refused = if !param.mutable && !unchanged_own {
                Some(ConfigError::Immutable)
            } else if !allow_protected && PROTECTED.contains(&param.name) {
                Some(ConfigError::Protected)
            } else if pairs[..params.len()]
                .iter()
                .any(|(earlier, _)| earlier.eq_ignore_ascii_case(name))
            {
                // Redis holds an alias as a parameter of its own: a name and its alias in one
                // call are both set, in order, and only a repeated name is refused.
                Some(ConfigError::Duplicate)
            } else {
                None
            };
            if let Some(error) = refused {
                return Err((name.to_string(), error));
            }
            params.push(param);
        }
        let mut next = self.clone();
        for (param, (name, value)) in params.iter().zip(pairs) {
            if !param.mutable {
                continue;
            }
            // Named as listed: the alias, when the call used it (Redis lists it on its own).
            let listed = param
                .names()
                .find(|n| n.eq_ignore_ascii_case(name))
                .unwrap_or(param.name);
            param
                .apply(&mut next, value)
                .map_err(|e| (listed.to_string(), ConfigError::Invalid(e)))?;
        }
        next.check_tiering()
            .map_err(|e| ("maxmemory-tiering".to_string(), ConfigError::Invalid(e)))?;
        *self = next;
        Ok(())
    }

    /// The most verbose log records `loglevel` lets through: `debug` everything, `verbose`
    /// the per-connection records too, `notice` the ordinary ones, `warning` only warnings.
    pub fn log_filter(&self) -> log::LevelFilter {
        match self.loglevel.as_str() {
            "debug" => log::LevelFilter::Trace,
            "verbose" => log::LevelFilter::Debug,
            "warning" => log::LevelFilter::Warn,
            _ => log::LevelFilter::Info,
        }
    }

    /// The OOM score the process should have (a primary's value: Reddish has no replicas
    /// and forks no children).
    pub fn oom_score_target(&self) -> crate::process::OomScore {
        use crate::process::OomScore;
        let value = self.oom_score_adj_values[0];
        match self.oom_score_adj {
            OomScoreAdj::No => OomScore::Unmanaged,
            OomScoreAdj::Relative => OomScore::Relative(value),
            OomScoreAdj::Absolute => OomScore::Absolute(value),
        }
    }

    /// The encoding thresholds the store applies.
    pub fn encoding_limits(&self) -> EncodingLimits {
        EncodingLimits::new(
            self.hash_limits,
            self.zset_limits,
            to_usize(self.set_max_intset_entries),
        )
    }

    /// CONFIG REWRITE: `old` (the file's text) with Redis's rules: comments, unknown lines and
    /// the order stay; a parameter the file sets is rewritten in place (its later lines drop
    /// out); one the file does not set is appended only if it differs from its default; `bind`
    /// at its default is not written at all.
    pub fn rewrite(&self, old: &str) -> String {
        self.rewrite_lines(old, false)
    }

    /// [`Config::rewrite`] that writes every parameter, defaults too (Redis's `DEBUG
    /// CONFIG-REWRITE-FORCE-ALL`), but `bind` at its default, which Redis never writes.
    pub fn rewrite_every_parameter(&self, old: &str) -> String {
        self.rewrite_lines(old, true)
    }

    fn rewrite_lines(&self, old: &str, force_all: bool) -> String {
        let mut lines: Vec<Option<String>> = Vec::new();
        let mut at: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        for line in old.lines() {
            if line.trim() == REWRITE_MARKER {
                continue;
            }
            let name = split_words(line.trim())
                .and_then(|words| words.into_iter().next())
                .filter(|_| !line.trim_start().starts_with('#'))
                .and_then(|name| find_param(&name));
            if let Some(param) = name {
                at.entry(param.name).or_default().push(lines.len());
            }
            lines.push(Some(line.to_string()));
        }
        let mut appended = Vec::new();
        for param in all_params() {
            let value = param.value(self);
            // `dir` has no default in Redis (it is wherever the server started), so Redis
            // always writes it.
            let is_default = param.name != "dir" && value == param.default_value();
            // `bind` at its default is not written; nor is `replicaof` of a server that is no
            // replica (an empty value would not load), as in Redis.
            let unwritten = (param.name == "bind" && is_default)
                || (param.name == "replicaof" && value.is_empty());
            let new_line = (!unwritten)
                .then(|| format!("{} {}", param.name, rewrite_value(param.name, &value)));
            match (at.get(param.name), new_line) {
                (Some(found), new_line) => {
                    for (i, &index) in found.iter().enumerate() {
                        lines[index] = if i == 0 { new_line.clone() } else { None };
                    }
                }
                (None, Some(new_line)) if force_all || !is_default => appended.push(new_line),
                (None, _) => {}
            }
        }
        let mut text: String = lines
            .into_iter()
            .flatten()
            .map(|line| line + "\n")
            .collect();
        if !appended.is_empty() {
            text.push_str(REWRITE_MARKER);
            text.push('\n');
            for line in appended {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    }

    /// The listen addresses as `host:port` strings.
    pub fn listen_addrs(&self) -> Vec<String> {
        self.bind
            .iter()
            .map(|host| {
                let host = host.trim_start_matches('-');
                if host.contains(':') {
                    format!("[{host}]:{}", self.port)
                } else {
                    format!("{host}:{}", self.port)
                }
            })
            .collect()
    }
}

/// The line Redis puts before the parameters CONFIG REWRITE appends.
const REWRITE_MARKER: &str = "# Generated by CONFIG REWRITE";

/// Parameters whose value is a list of words, written one word each (Redis 7.0 refuses
/// `save "3600 1"` as one argument).
const LIST_PARAMS: &[&str] = &[
    "bind",
    "save",
    "client-output-buffer-limit",
    "oom-score-adj-values",
];

/// A value as CONFIG REWRITE writes it, quoted only where the config parser needs it.
fn rewrite_value(name: &str, value: &str) -> String {
    let word = |word: &str| {
        let plain = !word.is_empty()
            && !word.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
        if plain {
            word.to_string()
        } else {
            quote(word)
        }
    };
    if LIST_PARAMS.contains(&name) && !value.trim().is_empty() {
        value
            .split_whitespace()
            .map(word)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        word(value)
    }
}

/// Quotes a command-line value so the config parser reads it back as one word: always, as
/// Redis does, so an error about the line shows each value quoted (`port "6379" "6380"`).
fn quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits a config line into words with Redis's quoting rules.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut decoder = crate::protocol::RequestDecoder::new(usize::MAX);
    let mut input = line.as_bytes().to_vec();
    input.push(b'\n');
    decoder.decode(&input).ok()??;
    let words = decoder
        .spans()
        .iter()
        .map(|&(s, e)| String::from_utf8_lossy(&decoder.inline_bytes()[s..e]).into_owned())
        .collect();
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_file_rewritten_with_every_parameter_loads_back_the_same() {
        let config = Config::default();
        let text = config.rewrite_every_parameter("");
        let mut back = Config::default();
        back.apply_text(&text).unwrap();
        assert_eq!(back.get_matching(&[b"*"]), config.get_matching(&[b"*"]));
    }

    #[test]
    fn command_line_follows_redis_rules_for_dashes_and_joined_values() {
        let c = Config::from_args(&args(&[
            "--maxmemory '700mb'",
            "--maxmemory-policy 'volatile-lru'",
        ]))
        .unwrap();
        assert_eq!(c.get_matching(&[b"maxmemory"])[0].1, "734003200");
        assert_eq!(c.get_matching(&[b"maxmemory-policy"])[0].1, "volatile-lru");
        let c = Config::from_args(&args(&[
            "--proc-title-template",
            "--my--title--template",
            "--loglevel",
            "verbose",
        ]))
        .unwrap();
        assert_eq!(
            c.get_matching(&[b"proc-title-template"])[0].1,
            "--my--title--template"
        );
        assert_eq!(c.get_matching(&[b"loglevel"])[0].1, "verbose");
        for line in [
            &["--save", "--loglevel", "verbose"][..],
            &["--loglevel", "verbose", "--save"],
            &["--save", "", "--loglevel", "verbose"],
        ] {
            let c = Config::from_args(&args(line)).unwrap();
            assert_eq!(c.get_matching(&[b"save"])[0].1, "", "{line:?}");
            assert_eq!(c.get_matching(&[b"loglevel"])[0].1, "verbose", "{line:?}");
        }
    }

    #[test]
    fn config_lines_take_as_many_values_as_redis_allows() {
        let err = |list: &[&str]| Config::from_args(&args(list)).unwrap_err();
        assert_eq!(
            err(&["--port"]),
            "line 2: 'port': wrong number of arguments"
        );
        assert_eq!(
            err(&["--port", "6379", "6380"]),
            "line 2: 'port \"6379\" \"6380\"': wrong number of arguments"
        );
        assert_eq!(
            err(&["--replicaof", "127.0.0.1", "abc"]),
            "line 2: 'replicaof \"127.0.0.1\" \"abc\"': Invalid master port"
        );
        let c = Config::from_args(&args(&["--save", "100", "1", "--bind", "::1", "127.0.0.1"]))
            .unwrap();
        assert_eq!((c.save.as_str(), c.bind.len()), ("100 1", 2));
    }

    #[test]
    fn flags_override_defaults() {
        let c = Config::from_args(&args(&[
            "--port", "6380", "--bind", "0.0.0.0", "::1", "--save", "",
        ]))
        .unwrap();
        assert_eq!(c.port, 6380);
        assert_eq!(c.bind, vec!["0.0.0.0", "::1"]);
        assert_eq!(c.save, "");
        assert_eq!(c.listen_addrs(), vec!["0.0.0.0:6380", "[::1]:6380"]);
    }

    #[test]
    fn config_file_then_flags() {
        let dir = std::env::temp_dir().join(format!("reddish-conf-{}", std::process::id()));
        std::fs::write(&dir, "# comment\nport 7000\nmaxmemory 1mb\nhz 20\n").unwrap();
        let c = Config::from_args(&args(&[dir.to_str().unwrap(), "--hz", "30"])).unwrap();
        std::fs::remove_file(&dir).ok();
        assert_eq!((c.port, c.maxmemory, c.hz), (7000, 1024 * 1024, 30));
    }

    #[test]
    fn bad_lines_are_reported() {
        assert!(Config::from_args(&args(&["--nosuch", "1"])).is_err());
        assert!(Config::from_args(&args(&["--port", "abc"])).is_err());
    }

    #[test]
    fn config_get_and_set_follow_redis() {
        let mut c = Config::default();
        let got = c.get_matching(&[b"maxmemory*"]);
        assert_eq!(got[0], ("maxmemory", "0".to_string()));
        // maxmemory, -policy, Redis's -clients, -eviction-tenacity and -samples, and
        // Reddish's -tiering.
        assert_eq!(got.len(), 6);
        assert!(got.contains(&("maxmemory-tiering", "no".to_string())));
        // The cold tier needs MongoDB.
        assert_eq!(
            c.set_many(&[("maxmemory-tiering", "yes")], true),
            Err((
                "maxmemory-tiering".into(),
                ConfigError::Invalid(
                    "maxmemory-tiering needs mongodb-uri: cold values are kept in MongoDB only"
                        .into()
                )
            ))
        );
        assert!(!c.maxmemory_tiering);
        assert_eq!(
            c.set_many(&[("maxmemory", "2mb"), ("hz", "1000000")], true),
            Ok(())
        );
        assert_eq!((c.maxmemory, c.hz), (2 << 20, 500));
        assert_eq!(
            c.set_many(&[("databases", "3")], true),
            Err(("databases".into(), ConfigError::Immutable))
        );
        let err = c
            .set_many(&[("maxmemory", "1mb"), ("timeout", "-1")], true)
            .unwrap_err();
        assert_eq!(
            err.1.to_string(),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(c.maxmemory, 2 << 20, "a failed CONFIG SET changes nothing");
    }

    #[test]
    fn every_redis_parameter_is_known() {
        // Redis 7.0 lists 192 names in CONFIG GET *, its old aliases included.
        let redis_names = all_params()
            .flat_map(|p| p.names())
            .filter(|n| !REDDISH_ONLY.contains(n))
            .count();
        assert_eq!(redis_names, 192);
        let mut c = Config::default();
        c.apply_text("slave-serve-stale-data no\nlogfile ''\nlatency-monitor-threshold 1\n")
            .unwrap();
        let got = c.get_matching(&[b"logfile", b"*serve-stale-data"]);
        assert_eq!(
            got,
            vec![
                ("logfile", String::new()),
                ("replica-serve-stale-data", "no".to_string()),
                ("slave-serve-stale-data", "no".to_string()),
            ]
        );
        assert_eq!(
            c.get_matching(&[b"hash-max-ziplist-entries"]),
            vec![("hash-max-ziplist-entries", "512".to_string())]
        );
        assert_eq!(
            c.set_many(&[("hash-max-listpack-value", "1kb")], true),
            Ok(())
        );
        assert_eq!(c.get_matching(&[b"hash-max-ziplist-value"])[0].1, "1024");
        assert_eq!(
            c.set_many(&[("activerehashing", "maybe")], true),
            Err((
                "activerehashing".into(),
                ConfigError::Invalid("argument must be 'yes' or 'no'".into())
            ))
        );
        assert_eq!(
            c.set_many(&[("daemonize", "yes")], true),
            Err(("daemonize".into(), ConfigError::Immutable))
        );
        assert_eq!(
            c.set_many(&[("no-such-parameter", "1")], true),
            Err((
                "no-such-parameter".into(),
                ConfigError::Unknown("no-such-parameter".into())
            ))
        );
        assert!(c.apply_text("no-such-parameter 1").is_err());
    }

    const REDDISH_ONLY: &[&str] = REDDISH_PARAMS;

    #[test]
    fn encoding_parameters_reach_the_limits() {
        let mut c = Config::default();
        assert_eq!(c.encoding_limits(), EncodingLimits::DEFAULT);
        c.set_many(
            &[
                ("hash-max-ziplist-entries", "3"),
                ("hash-max-listpack-value", "1kb"),
                ("zset-max-ziplist-entries", "0"),
                ("zset-max-listpack-value", "10"),
                ("set-max-intset-entries", "99999999999"),
            ],
            true,
        )
        .unwrap();
        let limits = c.encoding_limits();
        assert_eq!((limits.hash.max_entries, limits.hash.max_value), (3, 1024));
        assert_eq!((limits.zset.max_entries, limits.zset.max_value), (0, 10));
        assert_eq!(
            limits.set_max_intset_entries(),
            1 << 30,
            "capped as Redis caps it"
        );
        assert_eq!(
            c.get_matching(&[b"set-max-intset-entries"])[0].1,
            "99999999999",
            "CONFIG GET shows the value as set"
        );
    }

    #[test]
    fn hidden_parameters_answer_only_their_exact_name() {
        let c = Config::default();
        assert_eq!(
            c.get_matching(&[b"key-load-delay"]),
            vec![("key-load-delay", "0".to_string())]
        );
        assert!(c
            .get_matching(&[b"*"])
            .iter()
            .all(|(n, _)| *n != "key-load-delay"));
        assert!(c.get_matching(&[b"key-load-dela?"]).is_empty());
    }

    #[test]
    fn save_lines_follow_redis_file_rules() {
        let load = |text: &str| {
            let mut c = Config::default();
            c.apply_text(text).map(|()| c.save)
        };
        assert_eq!(load("port 1").as_deref(), Ok("3600 1 300 100 60 10000"));
        assert_eq!(load("save 900 1").as_deref(), Ok("900 1"));
        assert_eq!(
            load("save 900 1\nsave 100 100").as_deref(),
            Ok("900 1 100 100")
        );
        assert_eq!(load("save 900 1\nsave \"\"").as_deref(), Ok(""));
        assert!(load("save 0 1").is_err(), "seconds must be at least 1");
        let mut c = Config::default();
        c.set_many(&[("save", "100 10")], true).unwrap();
        c.set_many(&[("save", "200 20")], true).unwrap();
        assert_eq!(c.save, "200 20", "CONFIG SET replaces");
    }

    #[test]
    fn flag_and_score_parameters_check_values_as_redis() {
        let mut c = Config::default();
        let get = |c: &Config, name: &str| c.get_matching(&[name.as_bytes()])[0].1.clone();
        c.set_many(&[("shutdown-on-sigint", "NOSAVE force now")], true)
            .unwrap();
        assert_eq!(get(&c, "shutdown-on-sigint"), "nosave now force");
        c.set_many(&[("shutdown-on-sigint", "default")], true)
            .unwrap();
        assert_eq!(get(&c, "shutdown-on-sigint"), "default");
        let err = c
            .set_many(&[("shutdown-on-sigterm", "save nosave")], true)
            .unwrap_err();
        assert_eq!(
            err.1.to_string(),
            "shutdown options SAVE and NOSAVE can't be used simultaneously"
        );
        c.set_many(&[("oom-score-adj-values", "1 2 3")], true)
            .unwrap();
        assert_eq!(get(&c, "oom-score-adj-values"), "1 2 3");
        let err = c
            .set_many(&[("oom-score-adj-values", "-2001 0 0")], true)
            .unwrap_err();
        assert_eq!(
            err.1.to_string(),
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
        );
        c.set_many(&[("oom-score-adj", "relative")], true).unwrap();
        assert_eq!(get(&c, "oom-score-adj"), "yes");
        c.set_many(&[("maxmemory-clients", "50%")], true).unwrap();
        assert_eq!(get(&c, "maxmemory-clients"), "50%");
        let err = c
            .set_many(&[("maxmemory-clients", "200%")], true)
            .unwrap_err();
        assert_eq!(
            err.1.to_string(),
            "percentage argument must be less or equal to 100"
        );
        assert_eq!(
            c.set_many(&[("mongodb-uri", "")], true),
            Ok(()),
            "an immutable own parameter accepts its current value"
        );
        assert_eq!(
            c.set_many(&[("mongodb-uri", "mongodb://x")], true),
            Err(("mongodb-uri".into(), ConfigError::Immutable))
        );
    }

    #[test]
    fn keyspace_events_print_as_redis() {
        let shown = |text: &str| KeyspaceEvents::parse(text).map(|e| e.to_string());
        assert_eq!(shown("KEA").as_deref(), Some("AKE"));
        assert_eq!(shown("Kgx$").as_deref(), Some("g$xK"));
        assert_eq!(shown("AKEn").as_deref(), Some("AKE"));
        assert_eq!(shown("nmdtxKl").as_deref(), Some("lxtdnKm"));
        assert_eq!(shown("g$lshzxetd").as_deref(), Some("A"));
        assert_eq!(shown("").as_deref(), Some(""));
        assert_eq!(shown("q"), None);
        let events = KeyspaceEvents::parse("g$").unwrap();
        assert!(!events.wants(KeyspaceEvents::STRING), "neither K nor E");
        let events = KeyspaceEvents::parse("E$").unwrap();
        assert!(events.wants(KeyspaceEvents::STRING));
        assert!(!events.wants(KeyspaceEvents::GENERIC));
    }

    #[test]
    fn maxmemory_clients_is_bytes_or_a_share_of_maxmemory() {
        let mut c = Config::default();
        assert_eq!(c.client_eviction_limit(), 0, "off by default");
        c.set_many(&[("maxmemory-clients", "3mb")], true).unwrap();
        assert_eq!(c.client_eviction_limit(), 3 << 20);
        c.set_many(&[("maxmemory-clients", "1")], true).unwrap();
        assert_eq!(c.client_eviction_limit(), 128 * 1024, "never below 128 KB");
        c.set_many(&[("maxmemory-clients", "7%")], true).unwrap();
        assert_eq!(c.get_matching(&[b"maxmemory-clients"])[0].1, "7%");
        assert_eq!(
            c.client_eviction_limit(),
            0,
            "a share of no maxmemory is no limit"
        );
        c.set_many(&[("maxmemory", "6mb")], true).unwrap();
        assert_eq!(c.client_eviction_limit(), 440401);
        let refused = |value: &str| {
            let mut c = Config::default();
            match c.set_many(&[("maxmemory-clients", value)], true) {
                Err((_, ConfigError::Invalid(text))) => text,
                other => panic!("{value}: {other:?}"),
            }
        };
        assert_eq!(
            refused("101%"),
            "percentage argument must be less or equal to 100"
        );
        assert_eq!(refused("abc"), "argument must be a memory or percent value");
        assert_eq!(refused("-5%"), "argument must be a memory or percent value");
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("3gb"), Some(3 << 30));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn rewrite_keeps_the_file_and_adds_only_what_differs_from_defaults() {
        let old = "# my settings\nport 7000\nbind 127.0.0.1\nbind ::1\nrename-command FOO BAR\n";
        let mut c = Config::default();
        c.apply_text("port 7001\nmaxmemory 1mb\n").unwrap();
        let text = c.rewrite(old);
        // `dir` is always written, as Redis writes it.
        let dir = c.dir.clone();
        assert_eq!(
            text,
            format!(
                "# my settings\nport 7001\nrename-command FOO BAR\n\
                 # Generated by CONFIG REWRITE\nmaxmemory 1048576\ndir {dir}\n"
            )
        );
        // Lines appended before are rewritten in place; new ones go after one marker again.
        c.apply_text("bind \"\"\nsave \"3600 1 300 100\"\nmaxmemory 2mb\n")
            .unwrap();
        let again = c.rewrite(&text);
        assert_eq!(
            again,
            format!(
                "# my settings\nport 7001\nrename-command FOO BAR\nmaxmemory 2097152\n\
                 dir {dir}\n# Generated by CONFIG REWRITE\nbind \"\"\nsave 3600 1 300 100\n"
            )
        );
        let every = Config::default().rewrite_every_parameter("");
        assert!(every.contains("\nprotected-mode yes\n"), "{every}");
        assert!(!every.contains("\nbind "), "{every}");
        let mut loaded = Config::default();
        loaded
            .apply_text(&again.replace("rename-command FOO BAR\n", ""))
            .unwrap();
        assert_eq!(loaded.bind, Vec::<String>::new());
        assert_eq!((loaded.port, loaded.maxmemory), (7001, 2 << 20));
    }

    #[test]
    fn listener_parameters_check_their_values() {
        let mut c = Config::default();
        assert_eq!(c.bind, vec!["*", "-::*"]);
        let too_many = vec!["127.0.0.1"; 17].join(" ");
        assert_eq!(
            c.set_many(&[("bind", &too_many)], true),
            Err((
                "bind".into(),
                ConfigError::Invalid("Too many bind addresses specified.".into())
            ))
        );
        assert!(c
            .apply_text("unixsocketperm 755\nprotected-mode no\n")
            .is_ok());
        assert_eq!((c.unixsocketperm, c.protected_mode), (0o755, false));
        assert!(c.apply_text("unixsocketperm 800\n").is_err());
        assert_eq!(c.get_matching(&[b"unixsocketperm"])[0].1, "755");
    }
}
