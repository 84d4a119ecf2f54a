//! Randomized differential test: seeded random sequences of commands of every collection type
//! (strings, bitmaps, lists, hashes, sets, sorted sets, streams with explicit IDs) and the key
//! commands, over a small key space, sent
//! to Reddish and to a real redis-server 7.0; every reply is compared.
//!
//! How replies are compared: byte for byte, except unordered replies (KEYS, SMEMBERS, HKEYS,
//! ... compared as sorted multisets, of pairs for HGETALL), SCAN-family commands (iterated to
//! the end, the element sets compared), replies with random content (RANDOMKEY, ZRANDMEMBER
//! with a small count, ...: same type and length) and time-dependent ones (TTL: same type).
//! Random commands that change data (SPOP) are only generated where the result is certain.
//! The protocol is switched between RESP2 and RESP3 now and then (HELLO).
//!
//! After a mismatch the keys the command named are deleted on both servers, so one difference
//! is counted once instead of spreading. The test fails when any reply differed, after printing
//! a summary (commands run and mismatches per command) and the first mismatches in full.
//!
//! A family whose commands Reddish does not have yet (checked with COMMAND INFO) is left out,
//! and the summary says so.
//!
//! Environment:
//! - `REDDISH_RANDOM_COMMANDS`: how many commands to run (default 10,000, a few seconds).
//!   For a longer run: `REDDISH_RANDOM_COMMANDS=1000000 cargo test --release --test
//!   random_differential -- --nocapture`.
//! - `REDDISH_RANDOM_SEED`: the RNG seed (default fixed, so a failure reproduces); the seed
//!   used is printed.
//! - `REDDISH_RANDOM_TRACE=1`: print every command with both replies.

mod common;

use common::{encode_command, escape, reply_len, RawConn, RedisServer, Server};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const DEFAULT_COMMANDS: usize = 10_000;
const DEFAULT_SEED: u64 = 0x5eed_2026;
/// Mismatches printed in full.
const SHOWN_MISMATCHES: usize = 20;

/// How the replies to one command are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compare {
    Exact,
    /// Top-level elements as a sorted multiset.
    Sorted,
    /// Top-level elements as a sorted multiset of (field, value) pairs: flat pairs in RESP2,
    /// maps and nested pairs in RESP3.
    Pairs,
    /// The element sets of a full SCAN-family iteration (pairs for HSCAN/ZSCAN).
    Scan,
    /// Same reply type and, for aggregates, the same length.
    Shape,
    /// Same reply type.
    TypeOnly,
    /// Nothing (HELLO: server details differ).
    Ignore,
}

/// One generated command.
struct Command {
    args: Vec<String>,
    compare: Compare,
}

fn cmd(compare: Compare, args: &[&str]) -> Command {
    Command {
        args: args.iter().map(|a| a.to_string()).collect(),
        compare,
    }
}

/// The command families; each is generated only if Reddish has its commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Strings,
    Bitmaps,
    Keys,
    Lists,
    Hashes,
    Sets,
    ZSets,
    Streams,
}

impl Family {
    const ALL: [Family; 8] = [
        Family::Strings,
        Family::Bitmaps,
        Family::Keys,
        Family::Lists,
        Family::Hashes,
        Family::Sets,
        Family::ZSets,
        Family::Streams,
    ];

    /// A command that must exist for the family to be generated.
    fn probe(self) -> &'static str {
        match self {
            Family::Strings => "set",
            Family::Bitmaps => "bitfield",
            Family::Keys => "del",
            Family::Lists => "lpush",
            Family::Hashes => "hset",
            Family::Sets => "sadd",
            Family::ZSets => "zadd",
            Family::Streams => "xadd",
        }
    }

    /// Relative frequency.
    fn weight(self) -> u32 {
        match self {
            Family::Strings => 12,
            Family::Bitmaps => 16,
            Family::Keys => 14,
            Family::Lists => 16,
            Family::Hashes => 14,
            Family::Sets => 14,
            Family::ZSets => 30,
            Family::Streams => 14,
        }
    }
}

/// The random source and the small value domains commands draw from.
struct Gen {
    rng: SmallRng,
}

const KEYS: [&str; 6] = ["k0", "k1", "k2", "k3", "k4", "k5"];
const MEMBERS: [&str; 12] = ["a", "b", "c", "d", "e", "f", "g", "1", "2", "10", "-3", ""];
const VALUES: [&str; 10] = ["v", "hello", "1", "10", "-5", "3.5", "", "abc", "0", "x y"];
const SCORES: [&str; 16] = [
    "0", "1", "2", "3", "-1", "1.5", "2.5", "-0", "10", "0.1", "inf", "-inf", "+inf", "100", "1e3",
    "abc",
];
/// String values for bit commands: bytes with high bits set (UTF-8 of non-ASCII characters),
/// runs of 0x00 and 0xFF-like bytes, digits (stored as integers by SET).
const BIT_VALUES: [&str; 12] = [
    "\u{ff}",
    "\u{0}\u{0}\u{1}",
    "\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}",
    "ohmytext",
    "mynewtext",
    "12345",
    "",
    "a",
    "\u{10ffff}\u{0}\u{80}",
    "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc",
    "\u{1}",
    "foobar",
];
/// BITFIELD widths: every byte boundary and its neighbours, and the extremes.
const FIELD_BITS: [u32; 16] = [1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 63, 64];
/// BITFIELD values: small ones and the limits of common widths and of i64.
const FIELD_VALUES: [&str; 16] = [
    "0",
    "1",
    "-1",
    "2",
    "-3",
    "7",
    "100",
    "-100",
    "127",
    "-128",
    "255",
    "256",
    "65535",
    "9223372036854775807",
    "-9223372036854775808",
    "4611686018427387904",
];
const INTS: [&str; 12] = [
    "0", "1", "2", "3", "-1", "-2", "5", "10", "-10", "100", "x", "1.5",
];

impl Gen {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.choose(&mut self.rng).copied().unwrap_or("")
    }

    fn key(&mut self) -> &'static str {
        self.pick(&KEYS)
    }

    /// A member: mostly one of a few, rarely longer than the listpack limit.
    fn member(&mut self) -> String {
        if self.rng.gen_ratio(1, 200) {
            "m".repeat(65)
        } else {
            self.pick(&MEMBERS).to_string()
        }
    }

    /// A sorted-set member: never over the listpack limit, because Redis's lex ranges over
    /// a skiplist with mixed scores depend on its random node levels.
    fn zmember(&mut self) -> String {
        self.pick(&MEMBERS).to_string()
    }

    fn value(&mut self) -> &'static str {
        self.pick(&VALUES)
    }

    fn score(&mut self) -> &'static str {
        // Valid scores far more often than invalid ones.
        if self.rng.gen_ratio(1, 40) {
            "abc"
        } else {
            self.pick(&SCORES[..SCORES.len() - 1])
        }
    }

    fn int(&mut self) -> &'static str {
        if self.rng.gen_ratio(1, 30) {
            self.pick(&INTS)
        } else {
            self.pick(&INTS[..INTS.len() - 2])
        }
    }

    fn index(&mut self) -> String {
        self.rng.gen_range(-8..9).to_string()
    }

    fn chance(&mut self, one_in: u32) -> bool {
        self.rng.gen_ratio(1, one_in)
    }

    fn score_bound(&mut self) -> String {
        let score = self.pick(&["0", "1", "2", "3", "-1", "1.5", "10", "-inf", "+inf", "inf"]);
        if self.chance(60) {
            return self.pick(&["x", "(", "nan", ""]).to_string();
        }
        if self.chance(3) {
            format!("({score}")
        } else {
            score.to_string()
        }
    }

    fn lex_bound(&mut self) -> String {
        if self.chance(60) {
            return self.pick(&["a", "", "x["]).to_string();
        }
        match self.rng.gen_range(0..6) {
            0 => "-".into(),
            1 => "+".into(),
            2 | 3 => format!("[{}", self.pick(&MEMBERS)),
            _ => format!("({}", self.pick(&MEMBERS)),
        }
    }

    fn keys(&mut self, max: usize) -> Vec<String> {
        let n = self.rng.gen_range(1..=max);
        (0..n).map(|_| self.key().to_string()).collect()
    }

    /// `LIMIT offset count` arguments, sometimes.
    fn limit(&mut self) -> Vec<String> {
        if self.chance(3) {
            vec![
                "LIMIT".into(),
                self.rng.gen_range(-1..4).to_string(),
                self.rng.gen_range(-1..5).to_string(),
            ]
        } else {
            Vec::new()
        }
    }

    fn command(&mut self, family: Family) -> Command {
        match family {
            Family::Strings => self.string_command(),
            Family::Bitmaps => self.bitmap_command(),
            Family::Keys => self.key_command(),
            Family::Lists => self.list_command(),
            Family::Hashes => self.hash_command(),
            Family::Sets => self.set_command(),
            Family::ZSets => self.zset_command(),
            Family::Streams => self.stream_command(),
        }
    }

    /// A stream ID from a small domain (so adds, deletes and ranges meet), or a bound.
    fn stream_id(&mut self) -> String {
        let ms = self.rng.gen_range(1..=6);
        match self.rng.gen_range(0..6) {
            0 => ms.to_string(),
            _ => format!("{ms}-{}", self.rng.gen_range(0..3)),
        }
    }

    fn stream_bound(&mut self) -> String {
        match self.rng.gen_range(0..8) {
            0 => "-".into(),
            1 => "+".into(),
            2 => format!("({}", self.stream_id()),
            _ => self.stream_id(),
        }
    }

    /// Stream commands with explicit IDs only (`*` would differ): entries, trims (exact, and
    /// `~`, which both servers apply by nodes of 100), reads and consumer groups. Replies with
    /// times (idle, seen time) are not generated.
    fn stream_command(&mut self) -> Command {
        let k = self.key();
        let id = self.stream_id();
        let v = self.value();
        let group = self.pick(&["g1", "g2"]);
        let consumer = self.pick(&["alice", "bob"]);
        let count = self.pick(&["1", "2", "5", "0", "-1"]);
        use Compare::*;
        match self.rng.gen_range(0..24) {
            0..=4 => {
                let f = self.pick(&["f", "g", "name"]);
                if self.chance(3) {
                    cmd(Exact, &["XADD", k, &id, f, v, "other", v])
                } else {
                    cmd(Exact, &["XADD", k, &id, f, v])
                }
            }
            5 => {
                let n = self.pick(&["0", "1", "3"]);
                let how = self.pick(&["MAXLEN", "MINID"]);
                let threshold = if how == "MAXLEN" {
                    n.to_string()
                } else {
                    self.stream_id()
                };
                let exact = self.pick(&["=", "~"]);
                cmd(Exact, &["XADD", k, how, exact, &threshold, &id, "f", v])
            }
            6 => cmd(Exact, &["XADD", k, "NOMKSTREAM", &id, "f", v]),
            7 => {
                let id2 = self.stream_id();
                cmd(Exact, &["XDEL", k, &id, &id2])
            }
            8 => cmd(Exact, &["XLEN", k]),
            9 => {
                let (a, b) = (self.stream_bound(), self.stream_bound());
                cmd(Exact, &["XRANGE", k, &a, &b, "COUNT", count])
            }
            10 => {
                let (a, b) = (self.stream_bound(), self.stream_bound());
                cmd(Exact, &["XREVRANGE", k, &a, &b])
            }
            11 => {
                let n = self.pick(&["0", "1", "2", "4"]);
                if self.chance(2) {
                    cmd(Exact, &["XTRIM", k, "MAXLEN", n])
                } else {
                    cmd(Exact, &["XTRIM", k, "MINID", &id])
                }
            }
            12 => {
                let k2 = self.key();
                let id2 = self.stream_id();
                cmd(
                    Exact,
                    &["XREAD", "COUNT", count, "STREAMS", k, k2, &id, &id2],
                )
            }
            13 => {
                let start = self.pick(&["0", "$"]);
                cmd(Exact, &["XGROUP", "CREATE", k, group, start, "MKSTREAM"])
            }
            14..=15 => cmd(
                Exact,
                &[
                    "XREADGROUP",
                    "GROUP",
                    group,
                    consumer,
                    "COUNT",
                    count,
                    "STREAMS",
                    k,
                    ">",
                ],
            ),
            16 => cmd(
                Exact,
                &["XREADGROUP", "GROUP", group, consumer, "STREAMS", k, "0"],
            ),
            17 => cmd(Exact, &["XACK", k, group, &id]),
            18 => cmd(Exact, &["XPENDING", k, group]),
            19 => cmd(Exact, &["XINFO", "GROUPS", k]),
            20 => cmd(Exact, &["XCLAIM", k, group, consumer, "0", &id, "JUSTID"]),
            21 => cmd(
                Exact,
                &[
                    "XAUTOCLAIM",
                    k,
                    group,
                    consumer,
                    "0",
                    "0",
                    "COUNT",
                    "2",
                    "JUSTID",
                ],
            ),
            22 => cmd(Exact, &["XGROUP", "SETID", k, group, &id]),
            _ => cmd(Exact, &["XSETID", k, &id]),
        }
    }

    fn string_command(&mut self) -> Command {
        let k = self.key();
        let v = self.value();
        use Compare::Exact;
        match self.rng.gen_range(0..17) {
            0 => {
                let mut c = cmd(Exact, &["SET", k, v]);
                if self.chance(4) {
                    c.args.push(self.pick(&["NX", "XX"]).into());
                }
                if self.chance(4) {
                    c.args.push("GET".into());
                }
                if self.chance(5) {
                    c.args.extend(["EX".to_string(), "1000".to_string()]);
                } else if self.chance(6) {
                    c.args.push("KEEPTTL".into());
                }
                c
            }
            1 => cmd(Exact, &["GET", k]),
            2 => cmd(Exact, &["APPEND", k, v]),
            3 => cmd(Exact, &["INCR", k]),
            4 => cmd(Exact, &["DECR", k]),
            5 => {
                let n = self.int();
                cmd(Exact, &["INCRBY", k, n])
            }
            6 => {
                let n = self.int();
                cmd(Exact, &["DECRBY", k, n])
            }
            7 => {
                let f = self.pick(&["1.5", "-0.25", "10", "0.1", "abc", "1e3"]);
                cmd(Exact, &["INCRBYFLOAT", k, f])
            }
            8 => cmd(Exact, &["STRLEN", k]),
            9 => {
                let (s, e) = (self.index(), self.index());
                cmd(Exact, &["GETRANGE", k, &s, &e])
            }
            10 => {
                let off = self.rng.gen_range(0..8).to_string();
                cmd(Exact, &["SETRANGE", k, &off, v])
            }
            11 => {
                let mut c = cmd(Exact, &["MGET"]);
                c.args.extend(self.keys(3));
                c
            }
            12 => {
                let (k2, v2) = (self.key(), self.value());
                let name = self.pick(&["MSET", "MSETNX"]);
                cmd(Exact, &[name, k, v, k2, v2])
            }
            13 => cmd(Exact, &["GETDEL", k]),
            14 => cmd(Exact, &["GETSET", k, v]),
            15 => cmd(Exact, &["SETNX", k, v]),
            _ => {
                let opt = self.pick(&["PERSIST", "EX", ""]);
                match opt {
                    "EX" => cmd(Exact, &["GETEX", k, "EX", "1000"]),
                    "" => cmd(Exact, &["GETEX", k]),
                    _ => cmd(Exact, &["GETEX", k, opt]),
                }
            }
        }
    }

    /// A bit offset: mostly within the first bytes, sometimes further, rarely invalid.
    fn bit_offset(&mut self) -> String {
        if self.chance(60) {
            return self.pick(&["-1", "x", "4294967296", "1.5"]).to_string();
        }
        if self.chance(8) {
            self.rng.gen_range(48..400).to_string()
        } else {
            self.rng.gen_range(0..48).to_string()
        }
    }

    /// A BITFIELD type: valid widths of both signs, rarely an invalid one.
    fn field_type(&mut self) -> String {
        if self.chance(80) {
            return self.pick(&["u64", "i65", "u0", "x8", "I8"]).to_string();
        }
        let bits = FIELD_BITS[self.rng.gen_range(0..FIELD_BITS.len())];
        if bits == 64 || self.chance(2) {
            format!("i{bits}")
        } else {
            format!("u{bits}")
        }
    }

    /// A BITFIELD offset: plain bits or `#N` fields.
    fn field_offset(&mut self) -> String {
        if self.chance(80) {
            return self.pick(&["-1", "#-1", "y"]).to_string();
        }
        if self.chance(4) {
            format!("#{}", self.rng.gen_range(0..6))
        } else {
            self.rng.gen_range(0..70).to_string()
        }
    }

    /// An optional `start end [BYTE|BIT]` (BITCOUNT) or `start [end [BYTE|BIT]]` (BITPOS).
    fn bit_range(&mut self, c: &mut Command, end_optional: bool) {
        if self.chance(3) {
            return;
        }
        let bound = |g: &mut Self| {
            if g.chance(2) {
                g.index()
            } else {
                g.rng.gen_range(-80..80).to_string()
            }
        };
        c.args.push(bound(self));
        if end_optional && self.chance(4) {
            return;
        }
        c.args.push(bound(self));
        if self.chance(2) {
            let unit = if self.chance(40) {
                "BITS"
            } else {
                self.pick(&["BIT", "BYTE", "bit"])
            };
            c.args.push(unit.into());
        }
    }

    fn bitmap_command(&mut self) -> Command {
        let k = self.key();
        let k2 = self.key();
        use Compare::Exact;
        match self.rng.gen_range(0..22) {
            0..=2 => {
                let off = self.bit_offset();
                let bit = if self.chance(50) {
                    "2"
                } else {
                    self.pick(&["0", "1"])
                };
                cmd(Exact, &["SETBIT", k, &off, bit])
            }
            3 | 4 => {
                let off = self.bit_offset();
                cmd(Exact, &["GETBIT", k, &off])
            }
            5 | 6 => {
                let mut c = cmd(Exact, &["BITCOUNT", k]);
                self.bit_range(&mut c, false);
                c
            }
            7 | 8 => {
                let bit = if self.chance(50) {
                    "-1"
                } else {
                    self.pick(&["0", "1"])
                };
                let mut c = cmd(Exact, &["BITPOS", k, bit]);
                self.bit_range(&mut c, true);
                c
            }
            9 | 10 => {
                let op = self.pick(&["AND", "OR", "XOR", "NOT", "and", "xor"]);
                let mut c = cmd(Exact, &["BITOP", op, k, k2]);
                if !op.eq_ignore_ascii_case("not") || self.chance(30) {
                    c.args.extend(self.keys(2));
                }
                c
            }
            11..=13 => {
                let mut c = cmd(Exact, &["BITFIELD", k]);
                for _ in 0..self.rng.gen_range(1..5) {
                    let (ty, off) = (self.field_type(), self.field_offset());
                    match self.rng.gen_range(0..5) {
                        0 => c.args.extend(["GET".into(), ty, off]),
                        1 | 2 => {
                            let value = self.pick(&FIELD_VALUES).to_string();
                            c.args.extend(["SET".into(), ty, off, value]);
                        }
                        3 => {
                            let value = self.pick(&FIELD_VALUES).to_string();
                            c.args.extend(["INCRBY".into(), ty, off, value]);
                        }
                        _ => {
                            let mode = self.pick(&["WRAP", "SAT", "FAIL", "sat"]);
                            c.args.extend(["OVERFLOW".into(), mode.into()]);
                        }
                    }
                }
                c
            }
            14 => {
                let mut c = cmd(Exact, &["BITFIELD_RO", k]);
                for _ in 0..self.rng.gen_range(0..3) {
                    let (ty, off) = (self.field_type(), self.field_offset());
                    c.args.extend(["GET".into(), ty, off]);
                }
                if self.chance(20) {
                    c.args
                        .extend(["SET".into(), "u8".into(), "0".into(), "1".into()]);
                }
                c
            }
            15 => {
                let mut c = cmd(Exact, &["LCS", k, k2]);
                match self.rng.gen_range(0..5) {
                    0 => c.args.push("LEN".into()),
                    1 | 2 => {
                        c.args.push("IDX".into());
                        if self.chance(2) {
                            c.args.extend([
                                "MINMATCHLEN".into(),
                                self.pick(&["0", "1", "2", "4"]).into(),
                            ]);
                        }
                        if self.chance(2) {
                            c.args.push("WITHMATCHLEN".into());
                        }
                    }
                    _ => {}
                }
                c
            }
            16 => {
                let (s, e) = (self.index(), self.index());
                cmd(Exact, &["SUBSTR", k, &s, &e])
            }
            17 | 18 => {
                let v = self.pick(&BIT_VALUES);
                cmd(Exact, &["SET", k, v])
            }
            19 => {
                let v = self.pick(&BIT_VALUES);
                if self.chance(2) {
                    cmd(Exact, &["APPEND", k, v])
                } else {
                    let off = self.rng.gen_range(0..12).to_string();
                    cmd(Exact, &["SETRANGE", k, &off, v])
                }
            }
            20 => {
                let (s, e) = (self.index(), self.index());
                cmd(Exact, &["GETRANGE", k, &s, &e])
            }
            _ => cmd(Exact, &["GET", k]),
        }
    }

    fn key_command(&mut self) -> Command {
        let k = self.key();
        let k2 = self.key();
        use Compare::*;
        match self.rng.gen_range(0..19) {
            0 => {
                let mut c = cmd(Exact, &[self.pick(&["DEL", "UNLINK"])]);
                c.args.extend(self.keys(2));
                c
            }
            1 => {
                let mut c = cmd(Exact, &[self.pick(&["EXISTS", "TOUCH"])]);
                c.args.extend(self.keys(3));
                c
            }
            2 | 3 => cmd(Exact, &["TYPE", k]),
            4 => cmd(Exact, &["RENAME", k, k2]),
            5 => cmd(Exact, &["RENAMENX", k, k2]),
            6 => {
                if self.chance(2) {
                    cmd(Exact, &["COPY", k, k2, "REPLACE"])
                } else {
                    cmd(Exact, &["COPY", k, k2])
                }
            }
            7 => {
                let secs = self.pick(&["1000", "2000", "-1", "0"]);
                if self.chance(4) {
                    let cond = self.pick(&["NX", "XX", "GT", "LT"]);
                    cmd(Exact, &["EXPIRE", k, secs, cond])
                } else {
                    cmd(Exact, &["EXPIRE", k, secs])
                }
            }
            8 => cmd(Exact, &["PERSIST", k]),
            9 => cmd(TypeOnly, &[self.pick(&["TTL", "PTTL", "EXPIRETIME"]), k]),
            10 => cmd(Sorted, &["KEYS", self.pick(&["*", "k[0-2]", "k?", "x*"])]),
            11 => cmd(Exact, &["DBSIZE"]),
            12 => cmd(TypeOnly, &["RANDOMKEY"]),
            13 => {
                if self.chance(2) {
                    cmd(Scan, &["SCAN", "0", "COUNT", "2"])
                } else {
                    cmd(Scan, &["SCAN", "0", "MATCH", "k[1-3]"])
                }
            }
            14..=16 => cmd(Exact, &["OBJECT", "ENCODING", k]),
            17 => {
                let ty = self.pick(&["string", "list", "hash", "set", "zset"]);
                cmd(Scan, &["SCAN", "0", "TYPE", ty])
            }
            _ => {
                let proto = self.pick(&["2", "3"]);
                cmd(Ignore, &["HELLO", proto])
            }
        }
    }

    fn list_command(&mut self) -> Command {
        let k = self.key();
        let k2 = self.key();
        let m = self.member();
        let m2 = self.member();
        use Compare::*;
        match self.rng.gen_range(0..22) {
            0..=2 => {
                let name = self.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]);
                let mut c = cmd(Exact, &[name, k, &m]);
                if self.chance(2) {
                    c.args.push(m2);
                }
                c
            }
            3 | 4 => {
                let name = self.pick(&["LPOP", "RPOP"]);
                if self.chance(3) {
                    let n = self.int();
                    cmd(Exact, &[name, k, n])
                } else {
                    cmd(Exact, &[name, k])
                }
            }
            5 => cmd(Exact, &["LLEN", k]),
            6 | 7 => {
                let (s, e) = (self.index(), self.index());
                cmd(Exact, &["LRANGE", k, &s, &e])
            }
            8 => {
                let i = self.index();
                cmd(Exact, &["LINDEX", k, &i])
            }
            9 => {
                let i = self.index();
                cmd(Exact, &["LSET", k, &i, &m])
            }
            10 => {
                let side = self.pick(&["BEFORE", "AFTER"]);
                cmd(Exact, &["LINSERT", k, side, &m, &m2])
            }
            11 => {
                let n = self.pick(&["0", "1", "-1", "2", "-2"]);
                cmd(Exact, &["LREM", k, n, &m])
            }
            12 => {
                let (s, e) = (self.index(), self.index());
                cmd(Exact, &["LTRIM", k, &s, &e])
            }
            13 => {
                let mut c = cmd(Exact, &["LPOS", k, &m]);
                if self.chance(2) {
                    c.args
                        .extend(["RANK".into(), self.pick(&["1", "-1", "2", "0"]).into()]);
                }
                if self.chance(2) {
                    c.args
                        .extend(["COUNT".into(), self.pick(&["0", "1", "2"]).into()]);
                }
                c
            }
            14 => cmd(Exact, &["RPOPLPUSH", k, k2]),
            15 => {
                let (from, to) = (self.pick(&["LEFT", "RIGHT"]), self.pick(&["LEFT", "RIGHT"]));
                cmd(Exact, &["LMOVE", k, k2, from, to])
            }
            16 => {
                let name = self.pick(&["BLPOP", "BRPOP"]);
                cmd(Exact, &[name, k, k2, "0.01"])
            }
            17 => {
                let (from, to) = (self.pick(&["LEFT", "RIGHT"]), self.pick(&["LEFT", "RIGHT"]));
                cmd(Exact, &["BLMOVE", k, k2, from, to, "0.01"])
            }
            18 => {
                let side = self.pick(&["LEFT", "RIGHT"]);
                let n = self.pick(&["1", "2", "5"]);
                cmd(Exact, &["LMPOP", "2", k, k2, side, "COUNT", n])
            }
            _ => {
                let (s, e) = (self.index(), self.index());
                cmd(Exact, &["LRANGE", k, &s, &e])
            }
        }
    }

    fn hash_command(&mut self) -> Command {
        let k = self.key();
        let f = self.member();
        let f2 = self.member();
        let v = self.value();
        use Compare::*;
        match self.rng.gen_range(0..20) {
            0..=2 => {
                let v2 = self.value();
                if self.chance(2) {
                    cmd(Exact, &["HSET", k, &f, v, &f2, v2])
                } else {
                    cmd(Exact, &["HSET", k, &f, v])
                }
            }
            3 => cmd(Exact, &["HGET", k, &f]),
            4 => cmd(Exact, &["HMGET", k, &f, &f2]),
            5 => cmd(Exact, &["HDEL", k, &f, &f2]),
            6 => cmd(Exact, &["HLEN", k]),
            7 => cmd(Exact, &["HEXISTS", k, &f]),
            8 => cmd(Pairs, &["HGETALL", k]),
            9 => cmd(Sorted, &[self.pick(&["HKEYS", "HVALS"]), k]),
            10 => {
                let n = self.int();
                cmd(Exact, &["HINCRBY", k, &f, n])
            }
            11 => {
                let n = self.pick(&["1.5", "-2", "0.1", "x"]);
                cmd(Exact, &["HINCRBYFLOAT", k, &f, n])
            }
            12 => cmd(Exact, &["HSETNX", k, &f, v]),
            13 => cmd(Exact, &["HSTRLEN", k, &f]),
            14 => cmd(Exact, &["HMSET", k, &f, v]),
            15 => {
                if self.chance(2) {
                    cmd(Sorted, &["HRANDFIELD", k, "50"])
                } else {
                    cmd(Pairs, &["HRANDFIELD", k, "50", "WITHVALUES"])
                }
            }
            16 => {
                let n = self.pick(&["-3", "2", "1"]);
                cmd(Shape, &["HRANDFIELD", k, n])
            }
            17 => cmd(Shape, &["HRANDFIELD", k]),
            _ => cmd(Scan, &["HSCAN", k, "0"]),
        }
    }

    fn set_command(&mut self) -> Command {
        let k = self.key();
        let k2 = self.key();
        let m = self.member();
        let m2 = self.member();
        use Compare::*;
        match self.rng.gen_range(0..20) {
            0..=3 => {
                if self.chance(2) {
                    cmd(Exact, &["SADD", k, &m, &m2])
                } else {
                    cmd(Exact, &["SADD", k, &m])
                }
            }
            4 => cmd(Exact, &["SREM", k, &m, &m2]),
            5 => cmd(Sorted, &["SMEMBERS", k]),
            6 => cmd(Exact, &["SISMEMBER", k, &m]),
            7 => cmd(Exact, &["SMISMEMBER", k, &m, &m2]),
            8 => cmd(Exact, &["SCARD", k]),
            9 => cmd(Sorted, &["SPOP", k, "50"]),
            10 => cmd(Sorted, &["SRANDMEMBER", k, "50"]),
            11 => {
                let n = self.pick(&["-3", "2", "1"]);
                cmd(Shape, &["SRANDMEMBER", k, n])
            }
            12 => cmd(Exact, &["SMOVE", k, k2, &m]),
            13 | 14 => {
                let mut c = cmd(Sorted, &[self.pick(&["SINTER", "SUNION", "SDIFF"])]);
                c.args.extend(self.keys(3));
                c
            }
            15 | 16 => {
                let name = self.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
                let mut c = cmd(Exact, &[name, k]);
                c.args.extend(self.keys(3));
                c
            }
            17 => {
                let mut c = cmd(Exact, &["SINTERCARD", "2", k, k2]);
                if self.chance(2) {
                    c.args
                        .extend(["LIMIT".into(), self.pick(&["0", "1", "2"]).into()]);
                }
                c
            }
            18 => cmd(Shape, &["SRANDMEMBER", k]),
            _ => cmd(Scan, &["SSCAN", k, "0"]),
        }
    }

    fn zset_command(&mut self) -> Command {
        let k = self.key();
        let k2 = self.key();
        let m = self.zmember();
        let m2 = self.zmember();
        use Compare::*;
        match self.rng.gen_range(0..38) {
            0..=5 => {
                let mut c = cmd(Exact, &["ZADD", k]);
                for flag in ["NX", "XX", "GT", "LT", "CH", "INCR"] {
                    if self.chance(9) {
                        c.args.push(flag.into());
                    }
                }
                let pairs = if self.chance(3) { 2 } else { 1 };
                for _ in 0..pairs {
                    c.args.push(self.score().into());
                    c.args.push(self.zmember());
                }
                c
            }
            6 => {
                let s = self.score();
                cmd(Exact, &["ZINCRBY", k, s, &m])
            }
            7 => cmd(Exact, &["ZREM", k, &m, &m2]),
            8 => cmd(Exact, &["ZCARD", k]),
            9 => cmd(Exact, &["ZSCORE", k, &m]),
            10 => cmd(Exact, &["ZMSCORE", k, &m, &m2]),
            11 => cmd(Exact, &[self.pick(&["ZRANK", "ZREVRANK"]), k, &m]),
            12 | 13 => {
                let (s, e) = (self.index(), self.index());
                let mut c = cmd(Exact, &[self.pick(&["ZRANGE", "ZREVRANGE"]), k, &s, &e]);
                if self.chance(2) {
                    c.args.push("WITHSCORES".into());
                }
                c
            }
            14 | 15 => {
                let (min, max) = (self.score_bound(), self.score_bound());
                let mut c = cmd(Exact, &["ZRANGE", k, &min, &max, "BYSCORE"]);
                if self.chance(2) {
                    c.args.push("REV".into());
                }
                c.args.extend(self.limit());
                if self.chance(2) {
                    c.args.push("WITHSCORES".into());
                }
                c
            }
            16 => {
                let (min, max) = (self.lex_bound(), self.lex_bound());
                let mut c = cmd(Exact, &["ZRANGE", k, &min, &max, "BYLEX"]);
                if self.chance(2) {
                    c.args.push("REV".into());
                }
                c.args.extend(self.limit());
                c
            }
            17 => {
                let (min, max) = (self.score_bound(), self.score_bound());
                let name = self.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]);
                let mut c = cmd(Exact, &[name, k, &min, &max]);
                if self.chance(2) {
                    c.args.push("WITHSCORES".into());
                }
                c.args.extend(self.limit());
                c
            }
            18 => {
                let (min, max) = (self.lex_bound(), self.lex_bound());
                let name = self.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]);
                let mut c = cmd(Exact, &[name, k, &min, &max]);
                c.args.extend(self.limit());
                c
            }
            19 => {
                let mut c = if self.chance(2) {
                    let (s, e) = (self.index(), self.index());
                    cmd(Exact, &["ZRANGESTORE", k2, k, &s, &e])
                } else {
                    let (min, max) = (self.score_bound(), self.score_bound());
                    cmd(Exact, &["ZRANGESTORE", k2, k, &min, &max, "BYSCORE"])
                };
                c.args.extend(self.limit());
                c
            }
            20 => {
                let (min, max) = (self.score_bound(), self.score_bound());
                cmd(Exact, &["ZCOUNT", k, &min, &max])
            }
            21 => {
                let (min, max) = (self.lex_bound(), self.lex_bound());
                cmd(Exact, &["ZLEXCOUNT", k, &min, &max])
            }
            22 | 23 => {
                let name = self.pick(&["ZPOPMIN", "ZPOPMAX"]);
                if self.chance(2) {
                    let n = self.pick(&["0", "1", "2", "5", "-1"]);
                    cmd(Exact, &[name, k, n])
                } else {
                    cmd(Exact, &[name, k])
                }
            }
            24 => {
                let name = self.pick(&["BZPOPMIN", "BZPOPMAX"]);
                cmd(Exact, &[name, k, k2, "0.01"])
            }
            25 => {
                let (s, e) = (self.index(), self.index());
                cmd(Exact, &["ZREMRANGEBYRANK", k, &s, &e])
            }
            26 => {
                let (min, max) = (self.score_bound(), self.score_bound());
                cmd(Exact, &["ZREMRANGEBYSCORE", k, &min, &max])
            }
            27 => {
                let (min, max) = (self.lex_bound(), self.lex_bound());
                cmd(Exact, &["ZREMRANGEBYLEX", k, &min, &max])
            }
            28..=31 => {
                let name = self.pick(&[
                    "ZUNION",
                    "ZINTER",
                    "ZDIFF",
                    "ZUNIONSTORE",
                    "ZINTERSTORE",
                    "ZDIFFSTORE",
                ]);
                let store = name.ends_with("STORE");
                let diff = name.starts_with("ZDIFF");
                let keys = self.keys(3);
                let mut c = cmd(Exact, &[name]);
                if store {
                    c.args.push(self.key().into());
                }
                c.args.push(keys.len().to_string());
                c.args.extend(keys.iter().cloned());
                if !diff && self.chance(3) {
                    c.args.push("WEIGHTS".into());
                    for _ in &keys {
                        c.args
                            .push(self.pick(&["1", "2", "-1", "0.5", "0", "inf"]).into());
                    }
                }
                if !diff && self.chance(3) {
                    c.args.push("AGGREGATE".into());
                    c.args.push(self.pick(&["SUM", "MIN", "MAX"]).into());
                }
                if !store && self.chance(2) {
                    c.args.push("WITHSCORES".into());
                }
                c
            }
            32 => {
                let mut c = cmd(Exact, &["ZSCAN", k, "0"]);
                if self.chance(3) {
                    c.args
                        .extend(["MATCH".into(), self.pick(&["*", "[a-c]", "1*"]).into()]);
                }
                c
            }
            33 => {
                // A count at least the set's size is deterministic (the whole set, highest
                // first); a smaller or negative one is random.
                if self.chance(2) {
                    cmd(Exact, &["ZRANDMEMBER", k, "200", "WITHSCORES"])
                } else {
                    let n = self.pick(&["-3", "2", "1", "-1"]);
                    cmd(Shape, &["ZRANDMEMBER", k, n, "WITHSCORES"])
                }
            }
            34 => cmd(Shape, &["ZRANDMEMBER", k]),
            35 => {
                let side = self.pick(&["MIN", "MAX"]);
                let n = self.pick(&["1", "2", "5"]);
                match self.rng.gen_range(0..3) {
                    0 => cmd(Exact, &["ZMPOP", "2", k, k2, side, "COUNT", n]),
                    1 => cmd(Exact, &["ZMPOP", "1", k, side]),
                    _ => cmd(Exact, &["BZMPOP", "0.01", "2", k, k2, side, "COUNT", n]),
                }
            }
            36 => {
                let limit = self.pick(&["0", "1", "2"]);
                cmd(Exact, &["ZINTERCARD", "2", k, k2, "LIMIT", limit])
            }
            _ => cmd(Exact, &["OBJECT", "ENCODING", k]),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reply comparison
// ---------------------------------------------------------------------------------------------

/// The elements of an aggregate reply (each one complete reply), or `None` for a scalar.
fn elements(reply: &[u8]) -> Option<(u8, Vec<&[u8]>)> {
    let kind = *reply.first()?;
    if !matches!(kind, b'*' | b'%' | b'~' | b'>') {
        return None;
    }
    let header_end = reply.windows(2).position(|w| w == b"\r\n")? + 2;
    let mut items = Vec::new();
    let mut pos = header_end;
    while pos < reply.len() {
        let len = reply_len(&reply[pos..]).ok()??;
        items.push(&reply[pos..pos + len]);
        pos += len;
    }
    Some((kind, items))
}

/// `reply` normalised for `compare`.
fn normalise(reply: &[u8], compare: Compare) -> Vec<u8> {
    let sorted = |width: usize| -> Vec<u8> {
        let Some((kind, items)) = elements(reply) else {
            return reply.to_vec();
        };
        let mut groups: Vec<Vec<u8>> = items.chunks(width).map(|g| g.concat()).collect();
        groups.sort();
        let mut out = vec![kind];
        out.extend(format!("{} sorted\r\n", groups.len()).as_bytes());
        groups.into_iter().for_each(|g| out.extend(g));
        out
    };
    match compare {
        Compare::Exact | Compare::Scan => reply.to_vec(),
        Compare::Sorted => sorted(1),
        Compare::Pairs => match reply.first() {
            // RESP2 flat pairs; RESP3 maps and arrays of pairs are one element per pair.
            Some(b'*') if elements(reply).is_some_and(|(_, i)| i.iter().all(|e| e[0] != b'*')) => {
                sorted(2)
            }
            Some(b'%') => sorted(2),
            _ => sorted(1),
        },
        Compare::Shape => match elements(reply) {
            Some((kind, items)) => format!("{} of {}", kind as char, items.len()).into_bytes(),
            None => reply[..1].to_vec(),
        },
        Compare::TypeOnly => reply[..1].to_vec(),
        Compare::Ignore => Vec::new(),
    }
}

/// Runs a SCAN-family command from cursor 0 to the end; the sorted, de-duplicated elements
/// (pairs for HSCAN/ZSCAN), or the reply itself when it is not a scan page.
fn scan_all(conn: &mut RawConn, args: &[String]) -> Result<Vec<u8>, String> {
    let cursor_at = if args[0].eq_ignore_ascii_case("scan") {
        1
    } else {
        2
    };
    let width = if matches!(args[0].to_ascii_lowercase().as_str(), "hscan" | "zscan") {
        2
    } else {
        1
    };
    let mut args = args.to_vec();
    let mut found: Vec<Vec<u8>> = Vec::new();
    for _ in 0..10_000 {
        conn.send(&encode_command(&args));
        let reply = conn.read_reply_within(Duration::from_secs(5))?;
        let Some((_, page)) = elements(&reply) else {
            return Ok(reply);
        };
        let [cursor, items] = page.as_slice() else {
            return Ok(reply);
        };
        let Some((_, items)) = elements(items) else {
            return Ok(reply);
        };
        found.extend(items.chunks(width).map(|c| c.concat()));
        let cursor = cursor
            .split(|&b| b == b'\n')
            .nth(1)
            .map(|c| String::from_utf8_lossy(c).trim_end().to_string())
            .unwrap_or_default();
        if cursor == "0" {
            found.sort();
            found.dedup();
            let mut out = format!("{} scanned\r\n", found.len()).into_bytes();
            found.into_iter().for_each(|f| out.extend(f));
            return Ok(out);
        }
        args[cursor_at] = cursor;
    }
    Err("scan did not end within 10,000 calls".into())
}

/// One server's side of the run.
struct Side {
    _server: Server,
    conn: RawConn,
}

impl Side {
    fn new(server: Server) -> Side {
        let mut conn = server.raw();
        conn.set_timeout(Duration::from_secs(10));
        Side {
            _server: server,
            conn,
        }
    }

    fn reply(&mut self, command: &Command) -> Result<Vec<u8>, String> {
        if command.compare == Compare::Scan {
            return scan_all(&mut self.conn, &command.args);
        }
        self.conn.read_reply_within(Duration::from_secs(10))
    }
}

/// Whether Reddish has the command `name` (COMMAND INFO replies a nil element otherwise).
fn has_command(conn: &mut RawConn, name: &str) -> bool {
    let reply = conn.cmd(&["COMMAND", "INFO", name]);
    !reply.starts_with(b"*1\r\n*-1")
        && !reply.starts_with(b"*1\r\n_")
        && reply.starts_with(b"*1\r\n*")
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

#[derive(Default)]
struct Tally {
    run: usize,
    mismatched: usize,
}

#[test]
fn random_commands_match_redis() {
    let total = env_number("REDDISH_RANDOM_COMMANDS", DEFAULT_COMMANDS as u64) as usize;
    let seed = env_number("REDDISH_RANDOM_SEED", DEFAULT_SEED);
    let trace = std::env::var_os("REDDISH_RANDOM_TRACE").is_some();
    let mut reddish = Side::new(Server::start());
    let mut redis = Side::new(RedisServer::start());

    let families: Vec<Family> = Family::ALL
        .into_iter()
        .filter(|f| has_command(&mut reddish.conn, f.probe()))
        .collect();
    let missing: Vec<Family> = Family::ALL
        .into_iter()
        .filter(|f| !families.contains(f))
        .collect();
    let weights: u32 = families.iter().map(|f| f.weight()).sum();

    let mut gen = Gen {
        rng: SmallRng::seed_from_u64(seed),
    };
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut shown = Vec::new();
    let mut mismatches = 0;
    let started = Instant::now();
    for i in 0..total {
        let mut draw = gen.rng.gen_range(0..weights.max(1));
        let family = families
            .iter()
            .copied()
            .find(|f| {
                let hit = draw < f.weight();
                draw = draw.saturating_sub(f.weight());
                hit
            })
            .unwrap_or(Family::Keys);
        let command = gen.command(family);
        let bytes = encode_command(&command.args);
        if command.compare != Compare::Scan {
            reddish.conn.send(&bytes);
            redis.conn.send(&bytes);
        }
        let expected = redis
            .reply(&command)
            .unwrap_or_else(|e| panic!("redis-server gave no reply to {:?}: {e}", command.args));
        let actual = reddish
            .reply(&command)
            .unwrap_or_else(|e| format!("<{e}>").into_bytes());
        let name = command.args[0].to_ascii_uppercase();
        let tally = tallies.entry(name).or_default();
        tally.run += 1;
        let same = normalise(&expected, command.compare) == normalise(&actual, command.compare);
        if trace {
            eprintln!(
                "#{i} {:?}\n    redis:   {}\n    reddish: {}",
                command.args,
                escape(&expected),
                escape(&actual)
            );
        }
        if same {
            continue;
        }
        mismatches += 1;
        tally.mismatched += 1;
        if shown.len() < SHOWN_MISMATCHES {
            shown.push(format!(
                "#{i} {:?} ({:?})\n    redis:   {}\n    reddish: {}",
                command.args,
                command.compare,
                escape(&expected),
                escape(&actual)
            ));
        }
        // Re-converge: forget the keys this command named, on both sides.
        let mut del = vec!["DEL".to_string()];
        del.extend(
            command
                .args
                .iter()
                .filter(|a| KEYS.contains(&a.as_str()))
                .cloned(),
        );
        if del.len() > 1 {
            let _ = reddish.conn.cmd(&del);
            let _ = redis.conn.cmd(&del);
        }
    }
    let elapsed = started.elapsed();

    let mut summary = format!(
        "{total} random commands (seed {seed:#x}) in {elapsed:.1?}: {mismatches} mismatches\n\
         families: {families:?}\n"
    );
    if !missing.is_empty() {
        summary.push_str(&format!(
            "NOT GENERATED (Reddish lacks their commands): {missing:?}\n"
        ));
    }
    for (name, tally) in &tallies {
        summary.push_str(&format!(
            "  {name:<18} {:>6} run {:>5} mismatched\n",
            tally.run, tally.mismatched
        ));
    }
    eprintln!("{summary}");
    assert!(
        mismatches == 0,
        "{mismatches} replies differed; first ones:\n{}\n{summary}",
        shown.join("\n")
    );
}
