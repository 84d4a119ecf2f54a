//! Random argument vectors over every command of the table, run against an in-memory keyspace
//! through the funnel connections use ([`reddish::commands::execute`]), with no sockets.
//! Input bytes choose the commands and their arguments: names from the table, arguments from
//! a vocabulary of keys, members, numbers at the edges, the keywords of the command's own
//! syntax, or raw bytes. Nothing may panic, and every reply must be whole RESP.
//!
//! A few commands are left out, each for a reason below: they stop or stall the process,
//! write files, or allocate what their arguments say by design (DEBUG POPULATE).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reddish::commands::standalone::Standalone;
use reddish::commands::table::COMMANDS;
use reddish::commands::CommandSpec;
use reddish::config::Config;
use std::sync::OnceLock;

/// Commands (full names) not run, and why.
const LEFT_OUT: &[(&str, &str)] = &[
    ("debug", "DEBUG SLEEP stalls, DEBUG SEGFAULT and POPULATE do what they say"),
    ("shutdown", "ends the process"),
    ("config|set", "can point dir, logfile and aclfile at real files"),
    ("config|rewrite", "writes the configuration file"),
    ("acl|save", "writes the ACL file"),
    ("save", "writes to persistence"),
    ("bgsave", "writes to persistence"),
    ("pfselftest", "a fixed self-test taking a second, no input to vary"),
];

/// Arguments that mean something to many commands.
const VOCABULARY: &[&str] = &[
    "k1", "k2", "k3", "{k}1", "{k}2", "a", "b", "c", "field", "member", "0", "1", "2", "3",
    "-1", "-2", "10", "-10", "100", "0-1", "1-1", "$", "*", ">", "+", "-", "(1", "[a", "(a",
    "+inf", "-inf", "inf", "nan", "1.5", "-0.5", "1e3", "9223372036854775807",
    "-9223372036854775808", "18446744073709551616", "4294967296", "", "*a*", "h?llo",
    "return 1", "return redis.call('set', KEYS[1], ARGV[1])", "return {1, 2, {3, 'x'}}",
    "return redis.pcall('incr', KEYS[1])", "return redis.call('lpush', KEYS[1], 'x', 'y')",
    "#!lua name=lib\nredis.register_function('f', function(k, a) return 1 end)",
    "u8", "i16", "#1", "13.361389", "38.115556", "km", "m", "0.5", "\u{0}", "\u{ff}",
];

/// One command of the table (or subcommand) and the keywords its syntax names.
struct Target {
    name: Vec<&'static str>,
    keywords: Vec<String>,
}

fn targets() -> &'static [Target] {
    static TARGETS: OnceLock<Vec<Target>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let mut out = Vec::new();
        let mut add = |spec: &'static CommandSpec, name: Vec<&'static str>| {
            if LEFT_OUT.iter().any(|(left, _)| *left == spec.full_name) {
                return;
            }
            let keywords = spec
                .syntax
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .filter(|w| w.len() > 1 && w.chars().all(|c| !c.is_ascii_lowercase()))
                .filter(|w| w.chars().any(|c| c.is_ascii_uppercase()))
                .map(str::to_string)
                .collect();
            out.push(Target { name, keywords });
        };
        for spec in COMMANDS {
            if spec.subcommands.is_empty() {
                add(spec, vec![spec.name]);
            } else {
                for sub in spec.subcommands {
                    add(sub, vec![spec.name, sub.name]);
                }
            }
        }
        out
    })
}

/// Reads the input as a stream of choices.
struct Choices<'a>(&'a [u8]);

impl<'a> Choices<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn raw(&mut self, len: usize) -> &'a [u8] {
        let len = len.min(self.0.len());
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        taken
    }
}

/// Length of the RESP reply at the start of `bytes`, if it is one whole reply.
fn reply_len(bytes: &[u8]) -> Option<usize> {
    let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
    // Simple strings and errors are bytes (an error may quote what a client sent); only a
    // length must be text.
    let line = String::from_utf8_lossy(&bytes[1..line_end]);
    let after = line_end + 2;
    match *bytes.first()? {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let len: i64 = line.parse().ok()?;
            if len < 0 {
                return Some(after);
            }
            let end = after + len as usize;
            (bytes.get(end..end + 2)? == b"\r\n").then_some(end + 2)
        }
        kind @ (b'*' | b'%' | b'~' | b'>' | b'|') => {
            let count: i64 = line.parse().ok()?;
            let count = if matches!(kind, b'%' | b'|') { count * 2 } else { count.max(0) };
            let mut at = after;
            for _ in 0..count {
                at += reply_len(&bytes[at..])?;
            }
            if kind == b'|' {
                at += reply_len(&bytes[at..])?;
            }
            Some(at)
        }
        _ => None,
    }
}

fn assert_whole_replies(mut bytes: &[u8], argv: &[Vec<u8>]) {
    while !bytes.is_empty() {
        let Some(len) = reply_len(bytes) else {
            panic!("not RESP after {argv:?}: {:?}", String::from_utf8_lossy(bytes));
        };
        bytes = &bytes[len..];
    }
}

fuzz_target!(|data: &[u8]| {
    let targets = targets();
    let mut choices = Choices(data);
    let mut server = Standalone::new(Config::default(), 1_000_000);
    while let (Some(high), Some(low)) = (choices.byte(), choices.byte()) {
        let target = &targets[usize::from(u16::from_le_bytes([low, high])) % targets.len()];
        let mut argv: Vec<Vec<u8>> = target.name.iter().map(|n| n.as_bytes().to_vec()).collect();
        let count = choices.byte().unwrap_or(0) % 10;
        for _ in 0..count {
            let Some(pick) = choices.byte() else { break };
            let arg = match pick {
                0..=159 => VOCABULARY[usize::from(pick) % VOCABULARY.len()].as_bytes().to_vec(),
                160..=239 if !target.keywords.is_empty() => {
                    target.keywords[usize::from(pick) % target.keywords.len()]
                        .as_bytes()
                        .to_vec()
                }
                _ => {
                    let len = usize::from(choices.byte().unwrap_or(0) % 16);
                    choices.raw(len).to_vec()
                }
            };
            argv.push(arg);
        }
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let reply = server.run(&args);
        assert_whole_replies(reply, &argv);
    }
});
