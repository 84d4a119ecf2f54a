//! The command table against Redis 7.0.15's, for every command both servers have (the
//! intersection of their COMMAND LIST, subcommands included):
//!
//! - COMMAND INFO: arity, flags, first key, last key, step, ACL categories, tips and key
//!   specifications, byte for byte in RESP2 and RESP3;
//! - COMMAND DOCS: the key specification each key argument links to (`key_spec_index`), in
//!   argument order (the rest of the documentation is Reddish's own wording);
//! - COMMAND GETKEYS and COMMAND GETKEYSANDFLAGS, byte for byte, on argument vectors built
//!   from redis-server's own COMMAND DOCS for the command (its required arguments only, and
//!   every argument with repeated ones twice), plus hand-picked edge cases (numkeys that is
//!   zero, too large, negative or only C-`atoi`-readable, wrong arities, unknown commands and
//!   subcommands, keyless commands).

mod common;

use common::reply::{self, Reply};
use common::{escape, reply_len, RawConn, RedisServer, Server};

/// The raw bytes of each top-level element of one aggregate reply (a map's keys and values
/// alternate).
fn elements(buf: &[u8]) -> Vec<&[u8]> {
    let line_end = buf
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("aggregate header");
    let header = std::str::from_utf8(&buf[1..line_end]).expect("header");
    let mut count: usize = header.parse().unwrap_or(0);
    if buf[0] == b'%' {
        count *= 2;
    }
    let mut pos = line_end + 2;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let len = reply_len(&buf[pos..])
            .expect("RESP")
            .expect("complete element");
        out.push(&buf[pos..pos + len]);
        pos += len;
    }
    out
}

/// Two connections to one server: RESP2 and RESP3.
struct Conns {
    resp2: RawConn,
    resp3: RawConn,
}

impl Conns {
    fn open(server: &Server) -> Conns {
        let resp2 = server.raw();
        let mut resp3 = server.raw();
        let hello = resp3.cmd(&["HELLO", "3"]);
        assert!(hello.starts_with(b"%"), "HELLO 3: {}", escape(&hello));
        Conns { resp2, resp3 }
    }
}

/// Every command and subcommand name a server lists, lower-case.
fn command_list(conn: &mut RawConn) -> Vec<String> {
    let (_, items) = reply::items(reply::call(conn, &["COMMAND", "LIST"]));
    items
        .iter()
        .map(|name| reply::text(name).to_ascii_lowercase())
        .collect()
}

/// Looks up `key` in a map reply (RESP2 flattened or RESP3).
fn field<'a>(map: &'a Reply, key: &str) -> Option<&'a Reply> {
    let Reply::Aggregate(_, items) = map else {
        return None;
    };
    items
        .chunks(2)
        .find(|pair| matches!(&pair[0], Reply::Bulk(k) if k == key.as_bytes()))
        .map(|pair| &pair[1])
}

fn field_text(map: &Reply, key: &str) -> Option<String> {
    match field(map, key)? {
        Reply::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Reply::Other(s) => Some(s.clone()),
        _ => None,
    }
}

fn has_flag(arg: &Reply, flag: &str) -> bool {
    match field(arg, "flags") {
        Some(Reply::Aggregate(_, flags)) => flags.iter().any(|f| {
            matches!(f, Reply::Other(s) if s == flag)
                || matches!(f, Reply::Bulk(b) if b == flag.as_bytes())
        }),
        _ => false,
    }
}

/// Appends an argument vector for the documented `args`: the required ones only, or (`full`)
/// every one with repeatable ones twice; a `numkeys` counts the keys that follow it.
fn build_args(args: &[Reply], full: bool, next_key: &mut usize, out: &mut Vec<String>) {
    let repeats = if full { 2 } else { 1 };
    for arg in args {
        if has_flag(arg, "optional") && !full {
            continue;
        }
        let times = if has_flag(arg, "multiple") {
            repeats
        } else {
            1
        };
        let token = field_text(arg, "token");
        let kind = field_text(arg, "type").unwrap_or_default();
        let name = field_text(arg, "name").unwrap_or_default();
        for i in 0..times {
            if let Some(token) = &token {
                if i == 0 || has_flag(arg, "multiple_token") {
                    out.push(token.clone());
                }
            }
            match kind.as_str() {
                "key" => {
                    out.push(format!("key{next_key}"));
                    *next_key += 1;
                }
                "integer" if name == "numkeys" => out.push(repeats.to_string()),
                "integer" | "double" | "unix-time" => out.push("1".into()),
                "pattern" => out.push("*".into()),
                "pure-token" => {}
                "oneof" => {
                    if let Some(Reply::Aggregate(_, choices)) = field(arg, "arguments") {
                        build_args(&choices[..1], true, next_key, out);
                    }
                }
                "block" => {
                    if let Some(Reply::Aggregate(_, children)) = field(arg, "arguments") {
                        build_args(children, full, next_key, out);
                    }
                }
                _ => out.push("value".into()),
            }
        }
    }
}

/// The argument vectors (command name first, subcommand second) GETKEYS is tried on for a
/// command, from redis-server's COMMAND DOCS of it.
fn sample_argvs(redis: &mut RawConn, name: &str) -> Vec<Vec<String>> {
    let docs = reply::call(redis, &["COMMAND", "DOCS", name]);
    let Reply::Aggregate(_, pair) = &docs else {
        panic!("COMMAND DOCS {name}: {docs:?}");
    };
    let doc = pair.get(1).unwrap_or_else(|| panic!("no docs for {name}"));
    let args = match field(doc, "arguments") {
        Some(Reply::Aggregate(_, args)) => args.clone(),
        _ => Vec::new(),
    };
    let prefix: Vec<String> = name.split('|').map(str::to_string).collect();
    [false, true]
        .iter()
        .map(|&full| {
            let mut argv = prefix.clone();
            build_args(&args, full, &mut 1, &mut argv);
            argv
        })
        .collect()
}

/// The `key_spec_index` of every key argument in a command's documentation, in order.
fn key_links(conn: &mut RawConn, name: &str) -> Vec<Option<i64>> {
    fn walk(args: &[Reply], out: &mut Vec<Option<i64>>) {
        for arg in args {
            if field_text(arg, "type").as_deref() == Some("key") {
                out.push(match field(arg, "key_spec_index") {
                    Some(Reply::Int(index)) => Some(*index),
                    _ => None,
                });
            }
            if let Some(Reply::Aggregate(_, children)) = field(arg, "arguments") {
                walk(children, out);
            }
        }
    }
    let docs = reply::call(conn, &["COMMAND", "DOCS", name]);
    let mut links = Vec::new();
    if let Reply::Aggregate(_, pair) = &docs {
        if let Some(Reply::Aggregate(_, args)) = pair.get(1).and_then(|doc| field(doc, "arguments"))
        {
            walk(args, &mut links);
        }
    }
    links
}

/// Edge cases for key extraction, whatever each server answers.
const GETKEYS_EDGE_CASES: &[&str] = &[
    "ZUNION 0 a",
    "ZUNION 3 a b",
    "ZUNION -1 a b",
    "ZUNION 2x a b",
    "ZUNION 02 a b",
    "ZUNION +2 a b",
    "ZUNION abc a b",
    "ZUNIONSTORE d 2 a b WEIGHTS 1 2 AGGREGATE MAX",
    "ZUNIONSTORE d 2x a b",
    "ZUNIONSTORE d 0 a",
    "ZUNIONSTORE d 5 a",
    "ZINTERSTORE d 1 a",
    "ZDIFFSTORE d 2 a b",
    "ZINTERCARD 2 a b LIMIT 1",
    "ZDIFF 1 a WITHSCORES",
    "SINTERCARD 1 a",
    "SINTERCARD 3 a b",
    "SINTERCARD 1x a b",
    "LMPOP 2 a b LEFT COUNT 3",
    "LMPOP 1 a",
    "LMPOP 2 a LEFT",
    "BLMPOP 0 1 a LEFT",
    "BLMPOP 0 2x a b RIGHT",
    "BZMPOP 1.5 2 a b MAX COUNT 2",
    "BZMPOP 0 0 a MIN",
    "ZMPOP 3 a b c MIN",
    "ZMPOP 9999999999999999999 a b MIN",
    "SET k v",
    "SET k v GET",
    "SET k v get EX 10",
    "SET k v NX",
    "BITFIELD k GET u8 0",
    "BITFIELD k GET u8",
    "BITFIELD k OVERFLOW WRAP GET u8 0",
    "BITFIELD k overflow",
    "BITFIELD k get u8 0 incrby u8 0 1",
    "BITFIELD k FOO",
    "BITFIELD_RO k GET u8 0",
    "BITOP AND d a b c",
    "LCS a b LEN",
    "MSET a 1 b",
    "MSET a 1 b 2 c 3",
    "DEL a",
    "DEL a b c d",
    "BLPOP a 0",
    "BLPOP a b c 0",
    "RENAME a a",
    "GET a b",
    "GET",
    "get A",
    "FOO a",
    "PING",
    "PING x",
    "CLIENT LIST",
    "CLIENT FOO",
    "CLIENT",
    "OBJECT ENCODING",
    "OBJECT ENCODING a b",
    "OBJECT FOO a",
    "object Encoding a",
    "SSUBSCRIBE a b",
    "SPUBLISH a m",
    "WATCH a b",
    "EXISTS a",
    "COMMAND GETKEYS",
    "COMMAND INFO",
    "QUIT",
];

#[test]
fn command_info_and_getkeys_match_redis_for_every_shared_command() {
    let redis_server = RedisServer::start();
    let reddish_server = Server::start();
    let mut redis = Conns::open(&redis_server);
    let mut reddish = Conns::open(&reddish_server);
    let ours = command_list(&mut reddish.resp2);
    let mut shared: Vec<String> = command_list(&mut redis.resp2)
        .into_iter()
        .filter(|name| ours.contains(name))
        .collect();
    shared.sort();
    assert!(shared.len() > 150, "only {} shared commands", shared.len());

    let mut mismatches = Vec::new();
    let mut compared = 0;
    // COMMAND INFO, element by element (0 name, 1 arity, 2 flags, 3-5 keys, 6 ACL
    // categories, 7 tips, 8 key specs, 9 subcommands).
    for name in &shared {
        for (proto, expected, actual) in [
            (
                2,
                redis.resp2.cmd(&["COMMAND", "INFO", name]),
                reddish.resp2.cmd(&["COMMAND", "INFO", name]),
            ),
            (
                3,
                redis.resp3.cmd(&["COMMAND", "INFO", name]),
                reddish.resp3.cmd(&["COMMAND", "INFO", name]),
            ),
        ] {
            let expected = elements(elements(&expected)[0]);
            let actual = elements(elements(&actual)[0]);
            for (index, what) in [
                (1, "arity"),
                (2, "flags"),
                (3, "first key"),
                (4, "last key"),
                (5, "step"),
                (6, "ACL categories"),
                (7, "tips"),
                (8, "key specs"),
            ] {
                compared += 1;
                if expected.get(index) != actual.get(index) {
                    mismatches.push(format!(
                        "COMMAND INFO {name} (RESP{proto}) {what}:\n    redis:   {}\n    reddish: {}",
                        escape(expected.get(index).copied().unwrap_or_default()),
                        escape(actual.get(index).copied().unwrap_or_default())
                    ));
                }
            }
        }
    }

    for name in &shared {
        let expected = key_links(&mut redis.resp2, name);
        let actual = key_links(&mut reddish.resp2, name);
        compared += 1;
        if expected != actual {
            mismatches.push(format!(
                "COMMAND DOCS {name} key_spec_index of the key arguments:\n    redis:   {expected:?}\n    reddish: {actual:?}"
            ));
        }
    }

    // COMMAND GETKEYS / GETKEYSANDFLAGS on argument vectors from the docs, and edge cases.
    let mut argvs: Vec<Vec<String>> = Vec::new();
    for name in &shared {
        argvs.extend(sample_argvs(&mut redis.resp2, name));
    }
    argvs.extend(
        GETKEYS_EDGE_CASES
            .iter()
            .map(|case| case.split_whitespace().map(str::to_string).collect()),
    );
    for argv in &argvs {
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let mut cmd = vec!["COMMAND".to_string(), sub.to_string()];
            cmd.extend(argv.iter().cloned());
            for (proto, expected, actual) in [
                (2, redis.resp2.cmd(&cmd), reddish.resp2.cmd(&cmd)),
                (3, redis.resp3.cmd(&cmd), reddish.resp3.cmd(&cmd)),
            ] {
                compared += 1;
                if expected != actual {
                    mismatches.push(format!(
                        "{} (RESP{proto}):\n    redis:   {}\n    reddish: {}",
                        cmd.join(" "),
                        escape(&expected),
                        escape(&actual)
                    ));
                }
            }
        }
    }
    eprintln!(
        "{} shared commands, {} argument vectors, {compared} comparisons",
        shared.len(),
        argvs.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Every command and subcommand of Redis 7.0's COMMAND LIST is in Reddish's table: none
/// answers "unknown command" (those Reddish cannot carry out refuse with an error that says
/// why, as tested with each).
#[test]
fn every_redis_command_is_in_the_table() {
    let redis_server = RedisServer::start();
    let reddish_server = Server::start();
    let ours = command_list(&mut reddish_server.raw());
    let theirs = command_list(&mut redis_server.raw());
    assert!(theirs.len() > 200, "only {} Redis commands", theirs.len());
    let missing: Vec<&String> = theirs.iter().filter(|name| !ours.contains(name)).collect();
    assert!(missing.is_empty(), "not in Reddish's table: {missing:?}");
}

#[test]
fn command_help_matches_redis() {
    let redis_server = RedisServer::start();
    let reddish_server = Server::start();
    let expected = redis_server.raw().cmd(&["COMMAND", "HELP"]);
    let actual = reddish_server.raw().cmd(&["COMMAND", "HELP"]);
    assert_eq!(escape(&actual), escape(&expected));
}
