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
    pub bind: Vec<String>,
    pub port: u16,
    pub databases: usize,
    /// Close a client idle this many seconds (0 = never).
    pub timeout: u64,
    /// TCP keepalive period in seconds (0 = off).
    pub tcp_keepalive: u64,
    pub tcp_backlog: i32,
    pub maxclients: u64,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    /// `maxmemory-clients`: what all client connections together may hold before the
    /// largest are closed.
    pub maxmemory_clients: ClientMemoryLimit,
    /// Background task frequency (active expiry, timeouts), per second.
    pub hz: u64,
    /// Zero-timeout polls made while busy before blocking in the poller (0 = always block):
    /// trades CPU for latency, see README.
    pub busy_poll: u64,
    pub loglevel: String,
    pub proto_max_bulk_len: u64,
    /// Kept for clients that read it (redis-benchmark); snapshots are not made.
    pub save: String,
    pub appendonly: bool,
    pub notify_keyspace_events: KeyspaceEvents,
    pub output_limit_normal: OutputLimit,
    pub output_limit_replica: OutputLimit,
    pub output_limit_pubsub: OutputLimit,
    pub mongodb_uri: Option<String>,
    pub mongodb_database: String,
    /// Longest time a change waits before it is handed to the MongoDB writer.
    pub persist_interval_ms: u64,
    /// The file the configuration was read from, if any (CONFIG REWRITE is not supported).
    pub config_file: Option<String>,
    /// The default user's password: when set, a connection must AUTH before anything but
    /// AUTH, HELLO ... AUTH, QUIT and RESET.
    pub requirepass: Option<String>,
    /// Commands taking at least this many microseconds go to the SLOWLOG (-1 = none, 0 =
    /// every command).
    pub slowlog_log_slower_than: i64,
    /// Entries the SLOWLOG keeps (the oldest go first).
    pub slowlog_max_len: u64,
    /// Values set for the parameters Reddish does not act on, by name; one not set here has
    /// Redis's default.
    pub inert: BTreeMap<&'static str, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: vec!["127.0.0.1".into()],
            port: 6379,
            databases: 16,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            maxclients: 10000,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_clients: ClientMemoryLimit::Bytes(0),
            hz: 10,
            busy_poll: 1000,
            loglevel: "notice".into(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            save: String::new(),
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
            persist_interval_ms: 100,
            config_file: None,
            requirepass: None,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
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
    Text,
}

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
        Kind::Memory(min, max) => {
            let bytes = parse_mem_arg(text)?;
            let in_range = i64::try_from(bytes).is_ok_and(|b| (min..=max).contains(&b));
            if in_range {
                Ok(bytes.to_string())
            } else {
                Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ))
            }
        }
        Kind::Enum(words) => parse_enum(text, words),
        Kind::Text => Ok(text.to_string()),
    }
}

fn parse_int<T: TryFrom<i128> + Into<i128> + Copy>(
    text: &str,
    min: T,
    max: T,
) -> Result<T, String> {
    let value: i128 = text
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
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

fn set_save(c: &mut Config, text: &str) -> Result<(), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if !words.len().is_multiple_of(2) || words.iter().any(|w| w.parse::<u64>().is_err()) {
        return Err("Invalid save parameters".into());
    }
    c.save = words.join(" ");
    Ok(())
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
        v.split_whitespace().map(String::from).collect()),
    param!("port", true, |c| c.port.to_string(), |c, v| c.port =
        parse_int(v, 0, 65535)?),
    param!("databases", false, |c| c.databases.to_string(), |c, v| c
        .databases =
        parse_int(v, 1u32, i32::MAX as u32)? as usize),
    param!("timeout", true, |c| c.timeout.to_string(), |c, v| c
        .timeout =
        parse_int(v, 0, i32::MAX as u64)?),
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
    param!(
        "proto-max-bulk-len",
        true,
        |c| c.proto_max_bulk_len.to_string(),
        |c, v| c.proto_max_bulk_len = parse_mem_arg(v)?.max(1024 * 1024)
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
];

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
    inert!("activedefrag", None, true, Kind::Bool, "no"),
    inert!("activerehashing", None, true, Kind::Bool, "yes"),
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
    inert!("client-query-buffer-limit", None, true, Kind::Memory(1024 * 1024, i64::MAX), "1073741824"),
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
    inert!("dir", None, true, Kind::Text, "./"),
    inert!("disable-thp", None, false, Kind::Bool, "yes"),
    inert!("dynamic-hz", None, true, Kind::Bool, "yes"),
    inert!("enable-debug-command", None, false, Kind::Enum(&["no", "yes", "local"]), "no"),
    inert!("enable-module-command", None, false, Kind::Enum(&["no", "yes", "local"]), "no"),
    inert!("enable-protected-configs", None, false, Kind::Enum(&["no", "yes", "local"]), "no"),
    inert!("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), true, Kind::Int(0, i64::MAX), "512"),
    inert!("hash-max-listpack-value", Some("hash-max-ziplist-value"), true, Kind::Memory(0, i64::MAX), "64"),
    inert!("hll-sparse-max-bytes", None, true, Kind::Memory(0, i64::MAX), "3000"),
    inert!("ignore-warnings", None, true, Kind::Text, ""),
    inert!("io-threads", None, false, Kind::Int(1, 128), "1"),
    inert!("io-threads-do-reads", None, false, Kind::Bool, "no"),
    inert!("jemalloc-bg-thread", None, true, Kind::Bool, "yes"),
    inert!("latency-monitor-threshold", None, true, Kind::Int(0, i64::MAX), "0"),
    inert!("latency-tracking", None, true, Kind::Bool, "yes"),
    inert!("latency-tracking-info-percentiles", None, true, Kind::Text, "50 99 99.9"),
    inert!("lazyfree-lazy-eviction", None, true, Kind::Bool, "no"),
    inert!("lazyfree-lazy-expire", None, true, Kind::Bool, "no"),
    inert!("lazyfree-lazy-server-del", None, true, Kind::Bool, "no"),
    inert!("lazyfree-lazy-user-del", None, true, Kind::Bool, "no"),
    inert!("lazyfree-lazy-user-flush", None, true, Kind::Bool, "no"),
    inert!("lfu-decay-time", None, true, Kind::Int(0, i32::MAX as i64), "1"),
    inert!("lfu-log-factor", None, true, Kind::Int(0, i32::MAX as i64), "10"),
    inert!("list-compress-depth", None, true, Kind::Int(0, i32::MAX as i64), "0"),
    inert!("list-max-listpack-size", Some("list-max-ziplist-size"), true, Kind::Int(i32::MIN as i64, i32::MAX as i64), "-2"),
    inert!("logfile", None, false, Kind::Text, ""),
    inert!("masterauth", None, true, Kind::Text, ""),
    inert!("masteruser", None, true, Kind::Text, ""),
    inert!("maxmemory-eviction-tenacity", None, true, Kind::Int(0, 100), "10"),
    inert!("maxmemory-samples", None, true, Kind::Int(1, i32::MAX as i64), "5"),
    inert!("min-replicas-max-lag", Some("min-slaves-max-lag"), true, Kind::Int(0, i32::MAX as i64), "10"),
    inert!("min-replicas-to-write", Some("min-slaves-to-write"), true, Kind::Int(0, i32::MAX as i64), "0"),
    inert!("no-appendfsync-on-rewrite", None, true, Kind::Bool, "no"),
    inert!("oom-score-adj", None, true, Kind::Enum(&["no", "yes", "relative", "absolute"]), "no"),
    inert!("oom-score-adj-values", None, true, Kind::Text, "0 200 800"),
    inert!("pidfile", None, false, Kind::Text, ""),
    inert!("proc-title-template", None, true, Kind::Text, "{title} {listen-addr} {server-mode}"),
    inert!("propagation-error-behavior", None, true, Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), "ignore"),
    inert!("protected-mode", None, true, Kind::Bool, "yes"),
    inert!("rdb-del-sync-files", None, true, Kind::Bool, "no"),
    inert!("rdb-save-incremental-fsync", None, true, Kind::Bool, "yes"),
    inert!("rdbchecksum", None, false, Kind::Bool, "yes"),
    inert!("rdbcompression", None, true, Kind::Bool, "yes"),
    inert!("repl-backlog-size", None, true, Kind::Memory(1, i64::MAX), "1048576"),
    inert!("repl-backlog-ttl", None, true, Kind::Text, "3600"),
    inert!("repl-disable-tcp-nodelay", None, true, Kind::Bool, "no"),
    inert!("repl-diskless-load", None, true, Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled"),
    inert!("repl-diskless-sync", None, true, Kind::Bool, "yes"),
    inert!("repl-diskless-sync-delay", None, true, Kind::Int(0, i32::MAX as i64), "5"),
    inert!("repl-diskless-sync-max-replicas", None, true, Kind::Int(0, i32::MAX as i64), "0"),
    inert!("repl-ping-replica-period", Some("repl-ping-slave-period"), true, Kind::Int(1, i32::MAX as i64), "10"),
    inert!("repl-timeout", None, true, Kind::Int(1, i32::MAX as i64), "60"),
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
    inert!("set-max-intset-entries", None, true, Kind::Int(0, i64::MAX), "512"),
    inert!("set-proc-title", None, false, Kind::Bool, "yes"),
    inert!("shutdown-on-sigint", None, true, Kind::Enum(&["default", "save", "nosave", "now", "force"]), "default"),
    inert!("shutdown-on-sigterm", None, true, Kind::Enum(&["default", "save", "nosave", "now", "force"]), "default"),
    inert!("shutdown-timeout", None, true, Kind::Int(0, i32::MAX as i64), "10"),
    inert!("socket-mark-id", None, false, Kind::Int(0, u32::MAX as i64), "0"),
    inert!("stop-writes-on-bgsave-error", None, true, Kind::Bool, "yes"),
    inert!("stream-node-max-bytes", None, true, Kind::Memory(0, i64::MAX), "4096"),
    inert!("stream-node-max-entries", None, true, Kind::Int(0, i64::MAX), "100"),
    inert!("supervised", None, false, Kind::Enum(&["upstart", "systemd", "auto", "no"]), "no"),
    inert!("syslog-enabled", None, false, Kind::Bool, "no"),
    inert!("syslog-facility", None, false, Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), "local0"),
    inert!("syslog-ident", None, false, Kind::Text, "redis"),
    inert!("tls-auth-clients", None, true, Kind::Enum(&["no", "yes", "optional"]), "yes"),
    inert!("tls-ca-cert-dir", None, true, Kind::Text, ""),
    inert!("tls-ca-cert-file", None, true, Kind::Text, ""),
    inert!("tls-cert-file", None, true, Kind::Text, ""),
    inert!("tls-ciphers", None, true, Kind::Text, ""),
    inert!("tls-ciphersuites", None, true, Kind::Text, ""),
    inert!("tls-client-cert-file", None, true, Kind::Text, ""),
    inert!("tls-client-key-file", None, true, Kind::Text, ""),
    inert!("tls-client-key-file-pass", None, true, Kind::Text, ""),
    inert!("tls-cluster", None, true, Kind::Bool, "no"),
    inert!("tls-dh-params-file", None, true, Kind::Text, ""),
    inert!("tls-key-file", None, true, Kind::Text, ""),
    inert!("tls-key-file-pass", None, true, Kind::Text, ""),
    inert!("tls-port", None, true, Kind::Int(0, 65535), "0"),
    inert!("tls-prefer-server-ciphers", None, true, Kind::Bool, "no"),
    inert!("tls-protocols", None, true, Kind::Text, ""),
    inert!("tls-replication", None, true, Kind::Bool, "no"),
    inert!("tls-session-cache-size", None, true, Kind::Int(0, i32::MAX as i64), "20480"),
    inert!("tls-session-cache-timeout", None, true, Kind::Int(0, i32::MAX as i64), "300"),
    inert!("tls-session-caching", None, true, Kind::Bool, "yes"),
    inert!("tracking-table-max-keys", None, true, Kind::Int(0, i64::MAX), "1000000"),
    inert!("unixsocket", None, false, Kind::Text, ""),
    inert!("unixsocketperm", None, false, Kind::Text, "0"),
    inert!("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), true, Kind::Int(0, i64::MAX), "128"),
    inert!("zset-max-listpack-value", Some("zset-max-ziplist-value"), true, Kind::Memory(0, i64::MAX), "64"),
];

/// Every parameter, in the order CONFIG GET * lists them.
fn all_params() -> impl Iterator<Item = &'static Param> {
    PARAMS.iter().chain(INERT_PARAMS)
}

fn find_param(name: &str) -> Option<&'static Param> {
    all_params().find(|p| p.names().any(|n| n.eq_ignore_ascii_case(name)))
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
            config.config_file = Some(first.clone());
            rest = &args[1..];
        }
        let mut lines = String::new();
        for arg in rest {
            if let Some(name) = arg.strip_prefix("--") {
                lines.push('\n');
                lines.push_str(name);
            } else {
                lines.push(' ');
                lines.push_str(&quote(arg));
            }
        }
        config.apply_text(&lines)?;
        Ok(config)
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
            let param = find_param(name).ok_or_else(|| {
                format!(
                    "line {}: bad directive or wrong number of arguments: '{name}'",
                    number + 1
                )
            })?;
            param
                .apply(self, &values.join(" "))
                .map_err(|e| format!("line {}: '{name}': {e}", number + 1))?;
        }
        Ok(())
    }

    /// CONFIG GET: (name, value) of every parameter matching one of the glob `patterns`.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        all_params()
            .flat_map(|p| p.names().map(move |name| (p, name)))
            .filter(|(_, name)| {
                patterns
                    .iter()
                    .any(|pat| crate::store::glob::matches_nocase(pat, name.as_bytes()))
            })
            .map(|(p, name)| (name, p.value(self)))
            .collect()
    }

    /// CONFIG SET of several pairs, all or nothing.
    pub fn set_many(&mut self, pairs: &[(&str, &str)]) -> Result<(), (String, ConfigError)> {
        let mut next = self.clone();
        for (name, value) in pairs {
            let param = find_param(name)
                .ok_or_else(|| (name.to_string(), ConfigError::Unknown(name.to_string())))?;
            if !param.mutable {
                return Err((param.name.to_string(), ConfigError::Immutable));
            }
            param
                .apply(&mut next, value)
                .map_err(|e| (param.name.to_string(), ConfigError::Invalid(e)))?;
        }
        *self = next;
        Ok(())
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

/// Quotes a command-line value so the config parser reads it back as one word.
fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && !arg.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        return arg.to_string();
    }
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
        // maxmemory, -policy, and Redis's -clients, -eviction-tenacity and -samples.
        assert_eq!(got.len(), 5);
        assert_eq!(
            c.set_many(&[("maxmemory", "2mb"), ("hz", "1000000")]),
            Ok(())
        );
        assert_eq!((c.maxmemory, c.hz), (2 << 20, 500));
        assert_eq!(
            c.set_many(&[("databases", "3")]),
            Err(("databases".into(), ConfigError::Immutable))
        );
        let err = c
            .set_many(&[("maxmemory", "1mb"), ("timeout", "-1")])
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
        assert_eq!(c.set_many(&[("hash-max-listpack-value", "1kb")]), Ok(()));
        assert_eq!(c.get_matching(&[b"hash-max-ziplist-value"])[0].1, "1024");
        assert_eq!(
            c.set_many(&[("activerehashing", "maybe")]),
            Err((
                "activerehashing".into(),
                ConfigError::Invalid("argument must be 'yes' or 'no'".into())
            ))
        );
        assert_eq!(
            c.set_many(&[("daemonize", "yes")]),
            Err(("daemonize".into(), ConfigError::Immutable))
        );
        assert_eq!(
            c.set_many(&[("no-such-parameter", "1")]),
            Err((
                "no-such-parameter".into(),
                ConfigError::Unknown("no-such-parameter".into())
            ))
        );
        assert!(c.apply_text("no-such-parameter 1").is_err());
    }

    /// Reddish's own parameters, which Redis does not have.
    const REDDISH_ONLY: &[&str] = &[
        "busy-poll",
        "mongodb-uri",
        "mongodb-database",
        "persist-interval-ms",
    ];

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
        c.set_many(&[("maxmemory-clients", "3mb")]).unwrap();
        assert_eq!(c.client_eviction_limit(), 3 << 20);
        c.set_many(&[("maxmemory-clients", "1")]).unwrap();
        assert_eq!(c.client_eviction_limit(), 128 * 1024, "never below 128 KB");
        c.set_many(&[("maxmemory-clients", "7%")]).unwrap();
        assert_eq!(c.get_matching(&[b"maxmemory-clients"])[0].1, "7%");
        assert_eq!(
            c.client_eviction_limit(),
            0,
            "a share of no maxmemory is no limit"
        );
        c.set_many(&[("maxmemory", "6mb")]).unwrap();
        assert_eq!(c.client_eviction_limit(), 440401);
        let refused = |value: &str| {
            let mut c = Config::default();
            match c.set_many(&[("maxmemory-clients", value)]) {
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
}
