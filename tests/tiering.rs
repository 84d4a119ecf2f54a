//! The cold tier (`maxmemory-tiering`): data sets larger than `maxmemory`, the values that do
//! not fit kept only in MongoDB and loaded back when a command needs them. Against a real
//! MongoDB-protocol server (`MONGODB_URI`, SecantusDB under scripts/test.sh); each test uses a
//! database of its own. The randomized test compares every reply with a real redis-server,
//! which holds everything in memory.

mod common;

use common::{encode_command, mongodb_uri, unique_name, Compare, Differential, RawConn, Server};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A Reddish with the cold tier on, persisting to database `name` of `uri`.
fn start(uri: &str, name: &str, extra: &[&str]) -> Server {
    let mut args = vec![
        "--mongodb-uri",
        uri,
        "--mongodb-database",
        name,
        "--maxmemory-policy",
        "allkeys-lru",
        "--maxmemory-tiering",
        "yes",
        "--persist-interval-ms",
        "20",
    ];
    args.extend_from_slice(extra);
    Server::start_with(&args)
}

fn info_field(conn: &mut RawConn, section: &str, name: &str) -> u64 {
    let reply = conn.cmd(&["INFO", section]);
    let text = String::from_utf8_lossy(&reply);
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has no number {name}: {text}"))
}

fn bulk(value: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", value.len()).into_bytes();
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    out
}

/// Bytes of each string value the tests write: large enough that the server's own memory
/// (persistence's buffers, tables) is small beside the data.
const VALUE_BYTES: usize = 16_000;

/// The value of string key `i` (large enough that dropping it frees memory).
fn value_of(i: usize) -> String {
    format!("{i}:{}", "v".repeat(VALUE_BYTES))
}

/// Writes `count` string keys `k:0..` and waits until MongoDB holds them all. Returns the
/// bytes of their values (see [`squeeze`]).
fn fill(conn: &mut RawConn, count: usize) -> u64 {
    let mut data = 0;
    for i in 0..count {
        data += value_of(i).len() as u64;
        assert_eq!(
            conn.cmd(&["SET", &format!("k:{i}"), &value_of(i)]),
            b"+OK\r\n"
        );
    }
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    data
}

/// Lowers `maxmemory` so that only a fifth of the `data` bytes of values fit, which drops
/// values at once.
fn squeeze(conn: &mut RawConn, data: u64) -> u64 {
    let used = info_field(conn, "memory", "used_memory");
    let limit = used.saturating_sub(data * 4 / 5);
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
        b"+OK\r\n"
    );
    // Values are dropped in rounds of bounded time: the reactor goes on between commands.
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(conn, "memory", "used_memory") > limit + SLACK {
        assert!(Instant::now() < deadline, "memory stays over {limit}");
        sleep(Duration::from_millis(10));
    }
    limit
}

/// How far over `maxmemory` memory may be measured: what a command allocates while it runs.
const SLACK: u64 = 64 * 1024;

fn is_cold(conn: &mut RawConn, key: &str) -> bool {
    conn.cmd(&["OBJECT", "ENCODING", key]) == b"$4\r\ncold\r\n"
}

/// The first of `k:0..count` that is cold.
fn a_cold_key(conn: &mut RawConn, count: usize, skip: usize) -> (usize, String) {
    (0..count)
        .map(|i| (i, format!("k:{i}")))
        .filter(|(_, key)| is_cold(conn, key))
        .nth(skip)
        .expect("no cold key")
}

/// At least `want` of keys `k:0..count` that are cold, in order: `maxmemory` is lowered
/// further while fewer are (what [`squeeze`] measured may have held buffers freed since).
/// Values are dropped only once MongoDB holds them, which takes longer while other tests
/// load the same MongoDB server: the limit goes down every half second, for up to 10 s.
fn cold_keys(conn: &mut RawConn, count: usize, want: usize) -> Vec<(usize, String)> {
    for round in 0..200 {
        let cold: Vec<(usize, String)> = (0..count)
            .map(|i| (i, format!("k:{i}")))
            .filter(|(_, key)| is_cold(conn, key))
            .collect();
        if cold.len() >= want {
            return cold;
        }
        if round % 10 == 0 {
            let limit = info_field(conn, "memory", "maxmemory");
            let lower = limit.saturating_sub((want * VALUE_BYTES) as u64).max(1);
            assert_eq!(
                conn.cmd(&["CONFIG", "SET", "maxmemory", &lower.to_string()]),
                b"+OK\r\n"
            );
        }
        sleep(Duration::from_millis(50));
    }
    panic!("fewer than {want} cold keys");
}

#[test]
fn tiering_needs_mongodb() {
    let server = Server::start();
    let mut conn = server.raw();
    assert_eq!(
        conn.cmd(&["CONFIG", "GET", "maxmemory-tiering"]),
        b"*2\r\n$17\r\nmaxmemory-tiering\r\n$2\r\nno\r\n"
    );
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory-tiering", "yes"]),
        &b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-tiering') - \
           maxmemory-tiering needs mongodb-uri: cold values are kept in MongoDB only\r\n"[..]
    );
    assert_eq!(
        conn.cmd(&["CONFIG", "GET", "tiering-load-timeout-ms"]),
        b"*2\r\n$23\r\ntiering-load-timeout-ms\r\n$5\r\n10000\r\n"
    );
    let reply = conn.cmd(&["INFO", "tiering"]);
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.contains("tiering_enabled:0\r\ncold_keys:0\r\n"),
        "{text}"
    );
    // Not part of plain INFO.
    let plain = conn.cmd(&["INFO"]);
    assert!(!String::from_utf8_lossy(&plain).contains("# Tiering"));
}

#[test]
fn cold_keys_answer_without_loading_and_load_when_needed() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_basic");
    let server = start(&uri, &name, &[]);
    let mut conn = server.raw();
    let count = 400;
    let data = fill(&mut conn, count);
    assert_eq!(conn.cmd(&["EXPIRE", "k:7", "1000"]), b":1\r\n");
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    let limit = squeeze(&mut conn, data);
    let cold = info_field(&mut conn, "tiering", "cold_keys");
    assert!(cold > count as u64 / 2, "cold keys: {cold}");
    assert!(info_field(&mut conn, "memory", "used_memory") <= limit + SLACK);
    assert_eq!(conn.cmd(&["DBSIZE"]), format!(":{count}\r\n").into_bytes());
    let (i, key) = a_cold_key(&mut conn, count, 0);
    // Answered from the cold record: still cold after.
    assert_eq!(conn.cmd(&["EXISTS", &key]), b":1\r\n");
    assert_eq!(conn.cmd(&["TYPE", &key]), b"+string\r\n");
    assert_eq!(conn.cmd(&["TTL", &key]), b":-1\r\n");
    assert_eq!(conn.cmd(&["TOUCH", &key]), b":1\r\n");
    assert_eq!(conn.cmd(&["OBJECT", "FREQ", &key]).first(), Some(&b'-'));
    assert_eq!(conn.cmd(&["OBJECT", "IDLETIME", &key]), b":0\r\n");
    let reply = conn.cmd(&["SCAN", "0", "COUNT", "10000", "TYPE", "string"]);
    assert!(String::from_utf8_lossy(&reply).contains(&format!("\r\n{key}\r\n")));
    assert!(is_cold(&mut conn, &key));
    assert_eq!(info_field(&mut conn, "tiering", "cold_loads"), 0);
    // Needing the value loads it.
    assert_eq!(conn.cmd(&["GET", &key]), bulk(value_of(i).as_bytes()));
    assert!(!is_cold(&mut conn, &key));
    assert_eq!(info_field(&mut conn, "tiering", "cold_loads"), 1);
    // A write on a cold value loads it first and keeps it whole.
    let (j, other) = a_cold_key(&mut conn, count, 0);
    let appended = format!("{}!", value_of(j));
    assert_eq!(
        conn.cmd(&["APPEND", &other, "!"]),
        format!(":{}\r\n", appended.len()).into_bytes()
    );
    assert_eq!(conn.cmd(&["GET", &other]), bulk(appended.as_bytes()));
    // The key with an expiry keeps it while cold.
    if is_cold(&mut conn, "k:7") {
        let ttl = conn.cmd(&["TTL", "k:7"]);
        assert!(ttl.starts_with(b":99") || ttl == b":1000\r\n", "{ttl:?}");
    }
    assert_eq!(conn.cmd(&["GET", "k:7"]), bulk(value_of(7).as_bytes()));
    let reply = conn.cmd(&["INFO", "tiering"]);
    let text = String::from_utf8_lossy(&reply);
    assert!(text.contains("tiering_enabled:1\r\n"), "{text}");
    assert!(text.contains("cold_record_bytes:"), "{text}");
}

#[test]
fn many_clients_on_one_cold_key_share_one_read() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_share");
    let server = start(&uri, &name, &[]);
    let mut conn = server.raw();
    let count = 300;
    let data = fill(&mut conn, count);
    // Connected before the limit is set: their buffers count against it.
    let mut clients: Vec<RawConn> = (0..20).map(|_| server.raw()).collect();
    for client in clients.iter_mut() {
        assert_eq!(client.cmd(&["PING"]), b"+PONG\r\n");
    }
    squeeze(&mut conn, data);
    let (i, key) = a_cold_key(&mut conn, count, 0);
    let loads = info_field(&mut conn, "tiering", "cold_loads");
    let request = common::encode_command(&["GET", key.as_str()]);
    for client in clients.iter_mut() {
        client.send(&request);
    }
    for client in clients.iter_mut() {
        assert_eq!(client.read_reply(), bulk(value_of(i).as_bytes()));
    }
    assert_eq!(info_field(&mut conn, "tiering", "cold_loads"), loads + 1);
    // A hot key is served while a cold one loads: pipelined behind nothing.
    let (c, cold) = a_cold_key(&mut conn, count, 0);
    let mut waiting = server.raw();
    waiting.send(&common::encode_command(&["STRLEN", cold.as_str()]));
    assert_eq!(conn.cmd(&["SET", "hot", "1"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["GET", "hot"]), b"$1\r\n1\r\n");
    assert_eq!(
        waiting.read_reply(),
        format!(":{}\r\n", value_of(c).len()).into_bytes()
    );
}

#[test]
fn transactions_and_scripts_load_every_key_they_name() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_atomic");
    let server = start(&uri, &name, &[]);
    let mut conn = server.raw();
    let count = 300;
    let data = fill(&mut conn, count);
    squeeze(&mut conn, data);
    let (i, a) = a_cold_key(&mut conn, count, 0);
    let (j, b) = a_cold_key(&mut conn, count, 1);
    assert_eq!(conn.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["GET", &a]), b"+QUEUED\r\n");
    assert_eq!(conn.cmd(&["SET", "hot", "x"]), b"+QUEUED\r\n");
    assert_eq!(conn.cmd(&["STRLEN", &b]), b"+QUEUED\r\n");
    let mut expected = b"*3\r\n".to_vec();
    expected.extend(bulk(value_of(i).as_bytes()));
    expected.extend_from_slice(b"+OK\r\n");
    expected.extend(format!(":{}\r\n", value_of(j).len()).into_bytes());
    assert_eq!(conn.cmd(&["EXEC"]), expected);
    // A script's declared keys are loaded before it runs.
    let (k, c) = a_cold_key(&mut conn, count, 0);
    assert_eq!(
        conn.cmd(&["EVAL", "return redis.call('GET', KEYS[1])", "1", &c]),
        bulk(value_of(k).as_bytes())
    );
    // An undeclared cold key is refused by name; its load starts, so a retry succeeds.
    let (m, d) = a_cold_key(&mut conn, count, 0);
    let script = format!("return redis.call('STRLEN', '{d}')");
    let refused = conn.cmd(&["EVAL", &script, "0"]);
    let text = String::from_utf8_lossy(&refused);
    assert!(
        text.starts_with(&format!(
            "-ERR the value of key '{d}' is cold (kept in MongoDB only) and the script did \
             not declare the key: pass every key a script touches in KEYS"
        )),
        "{text}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_cold(&mut conn, &d) && Instant::now() < deadline {
        sleep(Duration::from_millis(10));
    }
    assert_eq!(
        conn.cmd(&["EVAL", &script, "0"]),
        format!(":{}\r\n", value_of(m).len()).into_bytes()
    );
}

#[test]
fn delete_rename_and_expiry_of_cold_keys() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_keys");
    let mut server = start(&uri, &name, &[]);
    let mut conn = server.raw();
    let count = 300;
    let data = fill(&mut conn, count);
    squeeze(&mut conn, data);
    let cold = cold_keys(&mut conn, count, 12);
    let loads = info_field(&mut conn, "tiering", "cold_loads");
    let mut cold = cold.into_iter();
    let mut next_cold = || cold.next().expect("another cold key");
    let (_, gone) = next_cold();
    assert_eq!(conn.cmd(&["DEL", &gone]), b":1\r\n");
    assert_eq!(conn.cmd(&["EXISTS", &gone]), b":0\r\n");
    let (_, unlinked) = next_cold();
    assert_eq!(conn.cmd(&["UNLINK", &unlinked]), b":1\r\n");
    // Expiry: on time, without a load.
    let (_, short) = next_cold();
    assert_eq!(conn.cmd(&["PEXPIRE", &short, "100"]), b":1\r\n");
    let (_, lazily) = next_cold();
    assert_eq!(conn.cmd(&["PEXPIRE", &lazily, "100"]), b":1\r\n");
    let (kept_i, kept) = next_cold();
    let (r, from) = next_cold();
    assert_eq!(conn.cmd(&["EXPIRE", &kept, "100"]), b":1\r\n");
    assert_eq!(conn.cmd(&["PERSIST", &kept]), b":1\r\n");
    assert_eq!(info_field(&mut conn, "tiering", "cold_loads"), loads);
    sleep(Duration::from_millis(400));
    assert_eq!(conn.cmd(&["GET", &lazily]), b"$-1\r\n");
    assert_eq!(conn.cmd(&["EXISTS", &short]), b":0\r\n");
    assert_eq!(conn.cmd(&["TTL", &kept]), b":-1\r\n");
    assert_eq!(info_field(&mut conn, "tiering", "cold_loads"), loads);
    // RENAME moves the value under its new name.
    assert!(is_cold(&mut conn, &from));
    assert_eq!(conn.cmd(&["RENAME", &from, "renamed"]), b"+OK\r\n");
    assert!(is_cold(&mut conn, "renamed"));
    assert_eq!(conn.cmd(&["GET", "renamed"]), bulk(value_of(r).as_bytes()));
    assert_eq!(conn.cmd(&["EXISTS", &from]), b":0\r\n");
    // All of it reached MongoDB: a restart (tiering on) finds the same keys.
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    server.restart();
    let mut conn = server.raw();
    assert_eq!(
        conn.cmd(&["DBSIZE"]),
        format!(":{}\r\n", count - 4).into_bytes()
    );
    for key in [&gone, &unlinked, &short, &lazily, &from] {
        assert_eq!(conn.cmd(&["EXISTS", key.as_str()]), b":0\r\n", "{key}");
    }
    assert_eq!(conn.cmd(&["TTL", &kept]), b":-1\r\n");
    assert_eq!(conn.cmd(&["GET", &kept]), bulk(value_of(kept_i).as_bytes()));
    assert_eq!(conn.cmd(&["GET", "renamed"]), bulk(value_of(r).as_bytes()));
}

#[test]
fn rename_of_cold_keys_moves_them_without_loading() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_rename");
    let mut server = start(&uri, &name, &[]);
    let mut conn = server.raw();
    let count = 300;
    let data = fill(&mut conn, count);
    squeeze(&mut conn, data);
    let cold = cold_keys(&mut conn, count, 12);
    let loads = info_field(&mut conn, "tiering", "cold_loads");
    let mut cold = cold.into_iter();
    let mut next_cold = || cold.next().expect("another cold key");
    let (a_i, a) = next_cold();
    let (b_i, b) = next_cold();
    let (_, c) = next_cold();
    let (d_i, d) = next_cold();
    let (_, e) = next_cold();
    let (f_i, f) = next_cold();
    let (g_i, g) = next_cold();
    let (h_i, h) = next_cold();
    let (i_i, i) = next_cold();
    let (j_i, j) = next_cold();
    // Its expiry goes with it.
    assert_eq!(conn.cmd(&["EXPIRE", &a, "1000"]), b":1\r\n");
    assert_eq!(conn.cmd(&["RENAME", &a, "moved:a"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["RENAMENX", &b, &c]), b":0\r\n");
    assert_eq!(conn.cmd(&["RENAMENX", &b, "moved:b"]), b":1\r\n");
    // Onto an existing cold key and onto a hot one: the old values are gone.
    assert_eq!(conn.cmd(&["RENAME", &d, &e]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["SET", "hot", "old"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["RENAME", &f, "hot"]), b"+OK\r\n");
    // A chain and a swap, before any of it reaches MongoDB.
    assert_eq!(conn.cmd(&["RENAME", &g, "chain:1"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["RENAME", "chain:1", "chain:2"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["RENAME", &h, "swap"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["RENAME", &i, &h]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["RENAME", "swap", &i]), b"+OK\r\n");
    // The old name is written again at once: the moved value is not that one.
    assert_eq!(conn.cmd(&["RENAME", &j, "moved:j"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["SET", &j, "new"]), b"+OK\r\n");
    for key in [
        "moved:a",
        "moved:b",
        e.as_str(),
        "hot",
        "chain:2",
        h.as_str(),
        i.as_str(),
    ] {
        assert!(is_cold(&mut conn, key), "{key}");
    }
    for key in [&a, &b, &d, &f, &g, "chain:1", "swap"] {
        assert_eq!(conn.cmd(&["EXISTS", key]), b":0\r\n", "{key}");
    }
    let ttl = conn.cmd(&["TTL", "moved:a"]);
    assert!(ttl.starts_with(b":99") || ttl == b":1000\r\n", "{ttl:?}");
    assert_eq!(conn.cmd(&["TTL", "moved:b"]), b":-1\r\n");
    assert_eq!(
        conn.cmd(&["DBSIZE"]),
        format!(":{}\r\n", count).into_bytes()
    );
    assert_eq!(info_field(&mut conn, "tiering", "cold_loads"), loads);
    assert_eq!(
        conn.cmd(&["SWAPDB", "0", "1"]),
        &b"-ERR SWAPDB cannot swap databases holding cold keys (values kept in MongoDB only, \
           maxmemory-tiering)\r\n"[..]
    );
    // Read at once (the moves may not have reached MongoDB yet) and after a restart.
    let expected = [
        ("moved:b", value_of(b_i)),
        ("moved:j", value_of(j_i)),
        (e.as_str(), value_of(d_i)),
        (h.as_str(), value_of(i_i)),
        (j.as_str(), "new".to_string()),
    ];
    for (key, value) in &expected {
        assert_eq!(conn.cmd(&["GET", key]), bulk(value.as_bytes()), "{key}");
    }
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    server.restart();
    let mut conn = server.raw();
    assert_eq!(
        conn.cmd(&["DBSIZE"]),
        format!(":{}\r\n", count).into_bytes()
    );
    let after_restart = [
        ("moved:a", value_of(a_i)),
        ("hot", value_of(f_i)),
        ("chain:2", value_of(g_i)),
        (i.as_str(), value_of(h_i)),
    ];
    for (key, value) in expected.iter().chain(&after_restart) {
        assert_eq!(conn.cmd(&["GET", key]), bulk(value.as_bytes()), "{key}");
    }
    let ttl = conn.cmd(&["TTL", "moved:a"]);
    assert!(ttl.starts_with(b":99") || ttl == b":1000\r\n", "{ttl:?}");
    for key in [&a, &b, &d, &f, &g, "chain:1", "swap"] {
        assert_eq!(conn.cmd(&["EXISTS", key]), b":0\r\n", "{key}");
    }
}

/// The elements of large list `i` (an operation log keeps its later changes).
fn list_of(i: usize) -> Vec<String> {
    (0..300)
        .map(|n| format!("{i}:{n}:{}", "e".repeat(100)))
        .collect()
}

fn lrange_reply(items: &[String]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    for item in items {
        out.extend_from_slice(&bulk(item.as_bytes()));
    }
    out
}

#[test]
fn rename_of_cold_large_values_moves_their_operation_log() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_rename_log");
    let mut server = start(&uri, &name, &[]);
    let mut conn = server.raw();
    let lists = 20;
    let mut expected: Vec<Vec<String>> = Vec::new();
    let mut data = 0;
    for i in 0..lists {
        let mut items = list_of(i);
        let key = format!("list:{i}");
        let mut args = vec!["RPUSH", key.as_str()];
        args.extend(items.iter().map(String::as_str));
        assert_eq!(conn.cmd(&args), b":300\r\n");
        data += items.iter().map(String::len).sum::<usize>() as u64;
        assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
        // Appended to the stored value's operation log, not rewritten.
        assert_eq!(conn.cmd(&["RPUSH", &key, "last"]), b":301\r\n");
        items.push("last".to_string());
        expected.push(items);
    }
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    data += fill(&mut conn, 200);
    squeeze(&mut conn, data);
    let cold: Vec<usize> = (0..lists)
        .filter(|i| is_cold(&mut conn, &format!("list:{i}")))
        .collect();
    assert!(cold.len() >= 3, "cold lists: {cold:?}");
    let loads = info_field(&mut conn, "tiering", "cold_loads");
    let (a, b, c) = (cold[0], cold[1], cold[2]);
    let (la, lb, lc) = (
        format!("list:{a}"),
        format!("list:{b}"),
        format!("list:{c}"),
    );
    assert_eq!(conn.cmd(&["RENAME", &la, "moved"]), b"+OK\r\n");
    // Onto another stored large value, whose own log goes away.
    assert_eq!(conn.cmd(&["RENAME", &lb, &lc]), b"+OK\r\n");
    assert_eq!(info_field(&mut conn, "tiering", "cold_loads"), loads);
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    assert_eq!(
        conn.cmd(&["LRANGE", "moved", "0", "-1"]),
        lrange_reply(&expected[a])
    );
    // Loaded, changed, and stored again under the new name.
    assert_eq!(conn.cmd(&["RPUSH", "moved", "after"]), b":302\r\n");
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    server.restart();
    let mut conn = server.raw();
    let mut moved = expected[a].clone();
    moved.push("after".to_string());
    assert_eq!(
        conn.cmd(&["LRANGE", "moved", "0", "-1"]),
        lrange_reply(&moved)
    );
    assert_eq!(
        conn.cmd(&["LRANGE", &lc, "0", "-1"]),
        lrange_reply(&expected[b])
    );
    for key in [&la, &lb] {
        assert_eq!(conn.cmd(&["EXISTS", key]), b":0\r\n", "{key}");
    }
}

#[test]
fn sort_patterns_and_digests_load_the_cold_values_they_read() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_sort");
    let server = start(&uri, &name, &["--enable-debug-command", "yes"]);
    let mut conn = server.raw();
    let count = 300;
    let data = fill(&mut conn, count);
    squeeze(&mut conn, data);
    let cold: Vec<usize> = cold_keys(&mut conn, count, 16)
        .into_iter()
        .map(|(i, _)| i)
        .take(16)
        .collect();
    let ids = |slice: &[usize]| -> Vec<String> { slice.iter().map(usize::to_string).collect() };
    let push = |conn: &mut RawConn, key: &str, ids: &[String]| {
        let mut args = vec!["RPUSH", key];
        args.extend(ids.iter().map(String::as_str));
        assert_eq!(conn.cmd(&args), format!(":{}\r\n", ids.len()).into_bytes());
    };
    let (got, by, queued, digested) = (&cold[..5], &cold[5..10], &cold[10..15], cold[15]);
    push(&mut conn, "got", &ids(got));
    push(&mut conn, "by", &ids(by));
    push(&mut conn, "queued", &ids(queued));
    let loads = info_field(&mut conn, "tiering", "cold_loads");
    // GET: every value, in the list's order.
    let mut expected = format!("*{}\r\n", got.len()).into_bytes();
    for &i in got {
        expected.extend_from_slice(&bulk(value_of(i).as_bytes()));
    }
    assert_eq!(
        conn.cmd(&["SORT", "got", "BY", "nosort", "GET", "k:*"]),
        expected
    );
    assert!(info_field(&mut conn, "tiering", "cold_loads") >= loads + 5);
    // BY: ordered by the cold values.
    let mut order = by.to_vec();
    order.sort_by_key(|&i| value_of(i));
    let mut expected = format!("*{}\r\n", order.len()).into_bytes();
    for i in order {
        expected.extend_from_slice(&bulk(i.to_string().as_bytes()));
    }
    assert_eq!(conn.cmd(&["SORT", "by", "BY", "k:*", "ALPHA"]), expected);
    // Inside a transaction nothing waits: a clear error, and the values are being loaded.
    let first = queued
        .iter()
        .map(|i| format!("k:{i}"))
        .min()
        .expect("queued keys");
    assert_eq!(conn.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(
        conn.cmd(&["SORT", "queued", "BY", "nosort", "GET", "k:*"]),
        b"+QUEUED\r\n"
    );
    assert_eq!(
        conn.cmd(&["EXEC"]),
        format!(
            "*1\r\n-TRYAGAIN the value of key '{first}' is cold (kept in MongoDB only) and the \
             command reads it without naming it as a key: it is being loaded, run the command \
             again\r\n"
        )
        .into_bytes()
    );
    // DEBUG DIGEST would need every value; DIGEST-VALUE loads the ones it names.
    let reply = String::from_utf8_lossy(&conn.cmd(&["DEBUG", "DIGEST"])).to_string();
    assert!(
        reply.starts_with("-ERR DEBUG DIGEST needs every value, and the values of ")
            && reply.ends_with(
                " keys are cold (kept in MongoDB only, maxmemory-tiering): use DEBUG \
                 DIGEST-VALUE on the keys to compare\r\n"
            ),
        "{reply}"
    );
    let key = format!("k:{digested}");
    assert!(is_cold(&mut conn, &key));
    let digest = conn.cmd(&["DEBUG", "DIGEST-VALUE", &key]);
    assert_eq!(conn.cmd(&["SET", "copy", &value_of(digested)]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["DEBUG", "DIGEST-VALUE", "copy"]), digest);
    assert_eq!(digest.len(), "*1\r\n+\r\n".len() + 40, "{digest:?}");
}

#[test]
fn waiting_on_a_cold_key_deleted_meanwhile_ends_at_once() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_deleted");
    let server = start(&uri, &name, &["--tiering-load-timeout-ms", "5000"]);
    let mut conn = server.raw();
    let count = 300;
    let data = fill(&mut conn, count);
    squeeze(&mut conn, data);
    let cold = cold_keys(&mut conn, count, 10);
    let mut waiter = server.raw();
    for (i, key) in cold.iter().take(10) {
        // The load and the deletion race: either way the reply comes long before the
        // timeout, the value if the load won, nothing if the deletion did.
        let started = Instant::now();
        waiter.send(&encode_command(&["GET", key.as_str()]));
        assert_eq!(conn.cmd(&["DEL", key.as_str()]), b":1\r\n");
        let reply = waiter
            .read_reply_within(Duration::from_secs(4))
            .expect("a reply before the timeout");
        assert!(
            reply == b"$-1\r\n" || reply == bulk(value_of(*i).as_bytes()),
            "{:?}",
            String::from_utf8_lossy(&reply)
        );
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}

#[test]
fn a_restart_leaves_what_does_not_fit_cold() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_restart");
    let mut server = start(&uri, &name, &[]);
    let mut conn = server.raw();
    let count = 1000;
    // The restart's limit is the empty server's memory plus a fifth of the data: what the
    // first server used while full also held persistence's buffers, which a restart has not.
    let empty = info_field(&mut conn, "memory", "used_memory");
    let data = fill(&mut conn, count);
    squeeze(&mut conn, data);
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    drop(conn);
    server.terminate();
    let limit = empty + data / 5;
    let limit_arg = limit.to_string();
    let mut server = start(&uri, &name, &["--maxmemory", &limit_arg]);
    let mut conn = server.raw();
    assert_eq!(conn.cmd(&["DBSIZE"]), format!(":{count}\r\n").into_bytes());
    let cold = info_field(&mut conn, "tiering", "cold_keys");
    assert!(
        cold > count as u64 / 2,
        "cold keys after a restart: {cold} (maxmemory {limit}, data {data})\n{}",
        server.logs()
    );
    assert!(
        server.logs().contains("stay cold in MongoDB"),
        "{}",
        server.logs()
    );
    for i in (0..count).step_by(97) {
        assert_eq!(
            conn.cmd(&["GET", &format!("k:{i}")]),
            bulk(value_of(i).as_bytes())
        );
    }
    server.terminate();
}

/// Writes string keys `mem:from..to` of 10,000 bytes in pipelined batches, waiting after each
/// batch (up to 5 s) until memory is back under `limit`, as write-behind lands and values
/// are dropped.
fn write_through_limit(conn: &mut RawConn, from: usize, to: usize, limit: u64) {
    let value = "m".repeat(10_000);
    for start in (from..to).step_by(100) {
        let end = (start + 100).min(to);
        for i in start..end {
            conn.send(&encode_command(&["SET", &format!("mem:{i}"), &value]));
        }
        for _ in start..end {
            assert_eq!(conn.read_reply(), b"+OK\r\n");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while info_field(conn, "memory", "used_memory") > limit + SLACK && Instant::now() < deadline
        {
            sleep(Duration::from_millis(10));
        }
    }
    // The timed work gives freed pages back at most once a second.
    sleep(Duration::from_millis(1500));
}

/// What the resident size may hold beyond the memory budget and the cold records, which does
/// not grow with the data: the MongoDB threads' stacks and connection buffers, heap pages
/// partly in use, free pages not given back yet (jemalloc's decay, or the timed trim's margin
/// of at least 1 MB).
const RESIDENT_FIXED: u64 = 3 << 20;

/// Resident memory beyond the empty server, and the cold keys' records at that point.
fn resident_growth(conn: &mut RawConn, empty_rss: u64) -> (u64, u64) {
    let rss = info_field(conn, "memory", "used_memory_rss");
    let records = info_field(conn, "tiering", "cold_keys")
        * (info_field(conn, "tiering", "cold_record_bytes") + 16);
    (rss.saturating_sub(empty_rss), records)
}

#[test]
fn resident_memory_stays_bounded_as_the_data_grows() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_rss");
    let server = start(&uri, &name, &["--persist-interval-ms", "10"]);
    let mut conn = server.raw();
    let empty_rss = info_field(&mut conn, "memory", "used_memory_rss");
    assert!(empty_rss > 0, "INFO used_memory_rss is not measured here");
    let budget = 4u64 << 20;
    let limit = info_field(&mut conn, "memory", "used_memory") + budget;
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
        b"+OK\r\n"
    );
    // 10 times the budget, then 30 times: the resident size must not follow the data (3.3-5.0
    // MB of growth in all measured with a 4 MB budget and 1.1 MB of records, under glibc's
    // malloc and jemalloc; 13-26 MB when every thread had its own malloc arena and trims
    // waited for 16 MB of free pages).
    write_through_limit(&mut conn, 0, 4_000, limit);
    let (first, first_records) = resident_growth(&mut conn, empty_rss);
    write_through_limit(&mut conn, 4_000, 12_000, limit);
    let (second, records) = resident_growth(&mut conn, empty_rss);
    eprintln!(
        "resident growth: {first} after 40 MB, {second} after 120 MB (cold records {records})"
    );
    assert!(info_field(&mut conn, "tiering", "cold_keys") > 10_000);
    assert!(
        second <= budget + records + RESIDENT_FIXED,
        "resident growth {second} after 120 MB written: over the budget {budget} + cold records \
         {records} + {RESIDENT_FIXED}"
    );
    assert!(
        second <= first + (records - first_records.min(records)) + (4 << 20),
        "resident growth went from {first} (40 MB written) to {second} (120 MB written)"
    );
    // Every key is still there, the cold ones loaded back from MongoDB.
    assert_eq!(conn.cmd(&["DBSIZE"]), b":12000\r\n");
    assert_eq!(conn.cmd(&["STRLEN", "mem:17"]), b":10000\r\n");
}

// ---------------------------------------------------------------------------------------------
// MongoDB stopped and started again
// ---------------------------------------------------------------------------------------------

/// A tiering server (loads timing out after `load_timeout_ms`) on a SecantusDB of its own,
/// which a test can stop, holding `count` keys of which some are cold; and a connection.
fn cold_server_on_own_mongodb(
    name: &str,
    load_timeout_ms: u64,
    count: usize,
) -> (common::SecantusDb, Server, RawConn) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique_name("tier_secantus"));
    let mongod = common::SecantusDb::start(&dir, 0);
    let uri = format!(
        "mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=500",
        mongod.port
    );
    let timeout = load_timeout_ms.to_string();
    let server = start(
        &uri,
        &unique_name(name),
        &["--tiering-load-timeout-ms", &timeout],
    );
    let mut conn = server.raw();
    let data = fill(&mut conn, count);
    squeeze(&mut conn, data);
    (mongod, server, conn)
}

#[test]
fn mongodb_stopped_cold_reads_fail_cleanly_and_hot_keys_are_served() {
    if mongodb_uri().is_none() {
        return;
    }
    let count = 300;
    let (mut mongod, mut server, mut conn) = cold_server_on_own_mongodb("tier_outage", 1500, count);
    let (i, key) = a_cold_key(&mut conn, count, 0);
    let (j, other) = a_cold_key(&mut conn, count, 1);
    let hot = (0..count)
        .map(|n| format!("k:{n}"))
        .find(|k| !is_cold(&mut conn, k))
        .expect("a hot key");
    mongod.kill();
    let mut waiting = server.raw();
    waiting.send(&common::encode_command(&["GET", key.as_str()]));
    // Hot keys are served meanwhile, writes too (a value not yet in MongoDB stays hot).
    let started = Instant::now();
    assert_eq!(conn.cmd(&["SET", "during", "outage"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["GET", "during"]), b"$6\r\noutage\r\n");
    assert_eq!(conn.cmd(&["EXISTS", &hot]), b":1\r\n");
    assert!(started.elapsed() < Duration::from_millis(500));
    let reply = waiting
        .read_reply_within(Duration::from_secs(10))
        .expect("a reply within the timeout");
    assert_eq!(
        reply,
        format!("-TRYAGAIN cold value of key '{key}' unavailable: MongoDB unreachable\r\n")
            .into_bytes()
    );
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert!(is_cold(&mut conn, &key));
    mongod.restart();
    // Back: the same key loads (once the driver sees MongoDB again), and the write made
    // during the outage is kept.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = conn.cmd(&["GET", &key]);
        if reply == bulk(value_of(i).as_bytes()) {
            break;
        }
        assert!(reply.starts_with(b"-TRYAGAIN"), "{reply:?}");
        assert!(Instant::now() < deadline, "MongoDB did not come back");
    }
    assert_eq!(conn.cmd(&["GET", &other]), bulk(value_of(j).as_bytes()));
    assert!(info_field(&mut conn, "tiering", "cold_load_errors") >= 1);
    // SIGTERM flushes: a restart finds the write made during the outage.
    drop(conn);
    drop(waiting);
    server.restart();
    let mut conn = server.raw();
    assert_eq!(conn.cmd(&["GET", "during"]), b"$6\r\noutage\r\n");
    assert_eq!(conn.cmd(&["GET", &key]), bulk(value_of(i).as_bytes()));
}

// ---------------------------------------------------------------------------------------------
// Randomized differential: 5x more data than memory
// ---------------------------------------------------------------------------------------------

/// Commands run by the randomized test (`REDDISH_TIERING_COMMANDS` overrides).
const RANDOM_COMMANDS: usize = 4000;

/// A client waiting for a cold value whose load cannot finish (MongoDB stopped) is answered
/// as soon as another client deletes the key, not when the load times out.
#[test]
fn deleting_a_cold_key_ends_the_wait_for_its_load_at_once() {
    if mongodb_uri().is_none() {
        return;
    }
    let count = 300;
    let (mut mongod, server, mut conn) =
        cold_server_on_own_mongodb("tier_delete_wait", 10_000, count);
    let (_, key) = a_cold_key(&mut conn, count, 0);
    let (_, other) = a_cold_key(&mut conn, count, 1);
    mongod.kill();
    let mut waiting = server.raw();
    waiting.send(&common::encode_command(&["GET", key.as_str()]));
    // The GET is waiting for its load (no reply yet).
    assert!(waiting
        .read_reply_within(Duration::from_millis(300))
        .is_err());
    let started = Instant::now();
    assert_eq!(conn.cmd(&["DEL", key.as_str()]), b":1\r\n");
    let reply = waiting
        .read_reply_within(Duration::from_secs(3))
        .expect("a reply once the key is deleted");
    assert_eq!(reply, b"$-1\r\n");
    assert!(started.elapsed() < Duration::from_secs(3));
    // UNLINK too, for a client waiting in an MGET.
    waiting.send(&common::encode_command(&[
        "MGET",
        other.as_str(),
        "missing",
    ]));
    assert!(waiting
        .read_reply_within(Duration::from_millis(300))
        .is_err());
    assert_eq!(conn.cmd(&["UNLINK", other.as_str()]), b":1\r\n");
    let reply = waiting
        .read_reply_within(Duration::from_secs(3))
        .expect("a reply once the key is unlinked");
    assert_eq!(reply, b"*2\r\n$-1\r\n$-1\r\n");
}

#[test]
fn random_commands_over_five_times_maxmemory_match_redis() {
    let Some(uri) = mongodb_uri() else { return };
    let name = unique_name("tier_random");
    let mut d = Differential::with_reddish_args(&[
        "--mongodb-uri",
        &uri,
        "--mongodb-database",
        &name,
        "--maxmemory-policy",
        "allkeys-lru",
        "--maxmemory-tiering",
        "yes",
        "--persist-interval-ms",
        "10",
    ]);
    let mut conn = d.reddish.raw();
    let empty_rss = info_field(&mut conn, "memory", "used_memory_rss");
    let empty_used = info_field(&mut conn, "memory", "used_memory");
    assert!(empty_rss > 0, "INFO used_memory_rss is not measured here");
    let mut data = 0u64;
    // Another seed gives another run: REDDISH_TIERING_SEED.
    let seed = std::env::var("REDDISH_TIERING_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x7ee2_2026);
    let mut rng = SmallRng::seed_from_u64(seed);
    let keys = 300usize;
    let big = |rng: &mut SmallRng| -> String {
        let n = rng.gen_range(8000..32000);
        format!("{}{}", rng.gen_range(0..1000), "x".repeat(n))
    };
    // Every type, with expiries on some keys.
    for i in 0..keys {
        let key = format!("key:{i}");
        let (x, y) = (big(&mut rng), big(&mut rng));
        data += (x.len() + y.len()) as u64;
        match i % 5 {
            0 => d.check(Compare::Exact, &["SET", &key, &format!("{x}{y}")]),
            1 => d.check(Compare::Exact, &["RPUSH", &key, &x, &y, "a"]),
            2 => d.check(Compare::Exact, &["HSET", &key, "f1", &x, "f2", &y]),
            3 => d.check(Compare::Exact, &["SADD", &key, &x, &y, "c"]),
            _ => d.check(Compare::Exact, &["ZADD", &key, "1", &x, "2", &y]),
        }
        if i % 7 == 0 {
            d.check(Compare::Exact, &["EXPIRE", &key, "10000"]);
        }
    }
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    let limit = squeeze(&mut conn, data);
    let commands = std::env::var("REDDISH_TIERING_COMMANDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(RANDOM_COMMANDS);
    for _ in 0..commands {
        let key = format!("key:{}", rng.gen_range(0..keys + 20));
        let k = key.as_str();
        let value = big(&mut rng);
        let v = value.as_str();
        match rng.gen_range(0..27) {
            0 => d.check(Compare::Exact, &["GET", k]),
            1 => d.check(Compare::Exact, &["SET", k, v]),
            2 => d.check(Compare::Exact, &["APPEND", k, "tail"]),
            3 => d.check(Compare::Exact, &["STRLEN", k]),
            4 => d.check(Compare::Exact, &["LRANGE", k, "0", "-1"]),
            5 => d.check(Compare::Exact, &["RPUSH", k, v]),
            6 => d.check(Compare::Exact, &["LPOP", k]),
            7 => d.check(Compare::Pairs, &["HGETALL", k]),
            8 => d.check(Compare::Exact, &["HSET", k, "f3", v]),
            9 => d.check(Compare::Sorted, &["SMEMBERS", k]),
            10 => d.check(Compare::Exact, &["SADD", k, v]),
            11 => d.check(Compare::Exact, &["ZRANGE", k, "0", "-1", "WITHSCORES"]),
            12 => d.check(Compare::Exact, &["ZADD", k, "3", v]),
            13 => d.check(Compare::Exact, &["TYPE", k]),
            14 => d.check(Compare::Exact, &["EXISTS", k]),
            15 => d.check(Compare::Exact, &["DEL", k]),
            16 => d.check(Compare::Exact, &["EXPIRE", k, "10000"]),
            17 => d.check(Compare::Exact, &["PERSIST", k]),
            18 => d.check(Compare::TypeOnly, &["TTL", k]),
            19 => d.check(Compare::Exact, &["DBSIZE"]),
            20 => {
                let other = format!("key:{}", rng.gen_range(0..keys));
                d.check(Compare::Exact, &["RENAME", k, &other])
            }
            21 => d.check(Compare::Exact, &["LLEN", k]),
            26 => {
                let other = format!("key:{}", rng.gen_range(0..keys + 20));
                d.check(Compare::Exact, &["RENAMENX", k, &other])
            }
            22 => d.check(Compare::Exact, &["SCARD", k]),
            23 => d.check(Compare::Exact, &["HLEN", k]),
            24 => d.check(Compare::Exact, &["ZCARD", k]),
            _ => {
                let other = format!("key:{}", rng.gen_range(0..keys));
                d.check(Compare::Exact, &["MGET", k, &other])
            }
        }
    }
    // Every key ends up equal: compared by type and content.
    compare_every_key(&mut d, &mut conn, keys + 20);
    assert!(info_field(&mut conn, "tiering", "cold_loads") > 0);
    assert!(info_field(&mut conn, "tiering", "values_dropped") > 0);
    // Memory stays within the limit plus what is not yet in MongoDB.
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["PING"]), b"+PONG\r\n");
    let used = info_field(&mut conn, "memory", "used_memory");
    assert!(used <= limit + SLACK, "used {used} over limit {limit}");
    // So does the resident size: the budget the limit leaves the data, the cold records, and
    // what does not grow with the data. Measured over seeds 0-6 with 4,000 commands: 0.9-1.0
    // MB beyond budget and records under jemalloc, 1.1-1.3 MB under glibc's malloc (with
    // 30,000 commands too), with 12 MB of data loaded (all of it resident before the squeeze).
    sleep(Duration::from_millis(1500));
    let (growth, records) = resident_growth(&mut conn, empty_rss);
    let budget = limit.saturating_sub(empty_used);
    eprintln!("resident growth {growth}: budget {budget}, cold records {records}, data {data}");
    assert!(
        growth <= budget + records + RESIDENT_FIXED,
        "resident growth {growth}: over the budget {budget} + cold records {records} + \
         {RESIDENT_FIXED}"
    );
    // And MongoDB holds the same: a restart finds every key (renamed ones under their new
    // names) with its value.
    drop(conn);
    d.restart_reddish();
    let mut conn = d.reddish.raw();
    compare_every_key(&mut d, &mut conn, keys + 20);
}

/// Compares keys `key:0..count` of both servers by type and content, and their names.
fn compare_every_key(d: &mut Differential, conn: &mut RawConn, count: usize) {
    for i in 0..count {
        let key = format!("key:{i}");
        d.check(Compare::Exact, &["TYPE", &key]);
        let kind = conn.cmd(&["TYPE", &key]);
        match &kind[..] {
            b"+string\r\n" => d.check(Compare::Exact, &["GET", &key]),
            b"+list\r\n" => d.check(Compare::Exact, &["LRANGE", &key, "0", "-1"]),
            b"+hash\r\n" => d.check(Compare::Pairs, &["HGETALL", &key]),
            b"+set\r\n" => d.check(Compare::Sorted, &["SMEMBERS", &key]),
            b"+zset\r\n" => d.check(Compare::Exact, &["ZRANGE", &key, "0", "-1", "WITHSCORES"]),
            _ => d.check(Compare::Exact, &["EXISTS", &key]),
        }
    }
    d.check(Compare::Sorted, &["KEYS", "*"]);
}
