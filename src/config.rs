//! Configuration: one table of parameters serves the redis.conf-style file, the
//! `--name value` command-line flags and CONFIG GET/SET.
//!
//! The command line is not parsed with a general argument parser on purpose: like
//! redis-server, `reddish [file] --port 6380 --save ""` turns each `--name args...` into a
//! config line, so flags and file lines are the same thing and cannot drift apart.

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

/// One configuration parameter.
pub struct Param {
    pub name: &'static str,
    /// Settable with CONFIG SET at run time.
    pub mutable: bool,
    get: Getter,
    set: Setter,
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
            mutable: $mutable,
            get: |$c: &Config| $get,
            set: |$sc: &mut Config, $v: &str| {
                $set;
                #[allow(unreachable_code)]
                Ok(())
            },
        }
    };
}

/// Every parameter, in the order CONFIG GET * lists them.
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

fn find_param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
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
            (param.set)(self, &values.join(" "))
                .map_err(|e| format!("line {}: '{name}': {e}", number + 1))?;
        }
        Ok(())
    }

    /// CONFIG GET: (name, value) of every parameter matching one of the glob `patterns`.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        PARAMS
            .iter()
            .filter(|p| {
                patterns
                    .iter()
                    .any(|pat| crate::store::glob::matches_nocase(pat, p.name.as_bytes()))
            })
            .map(|p| (p.name, (p.get)(self)))
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
            (param.set)(&mut next, value)
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
        assert_eq!(got.len(), 2);
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
    fn memory_units() {
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("3gb"), Some(3 << 30));
        assert_eq!(parse_memory("x"), None);
    }
}
