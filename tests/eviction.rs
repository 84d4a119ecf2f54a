//! maxmemory and eviction through real connections: the settings and the OOM refusals against a
//! real redis-server 7.0 (exact replies), and, for each policy, which keys go when memory is
//! limited (asserted with margins far from what a wrong policy would give, so they cannot flake):
//! volatile policies leave keys without a TTL alone, volatile-ttl takes the soonest-expiring,
//! allkeys-lru keeps recently read keys, allkeys-lfu frequently read ones; memory stays near the
//! limit; evictions are reported as `evicted` events and break WATCH.

mod common;

use common::{differential, RawConn, Server};
use std::thread::sleep;
use std::time::Duration;

/// An INFO field, as a number.
fn info_field(conn: &mut RawConn, name: &str) -> u64 {
    let info = String::from_utf8(conn.cmd(&["INFO"])).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

/// A value of about 1 KB, so that each key holds memory of its own.
fn kilobyte() -> String {
    "v".repeat(1000)
}

/// Sends `count` commands made by `command`, pipelined 50 at a time (a larger pipeline would
/// hold megabytes of input, which counts against the limit too), and reads every reply; returns
/// how many were errors.
fn pipeline(conn: &mut RawConn, count: usize, command: impl Fn(usize) -> Vec<String>) -> usize {
    let mut errors = 0;
    for start in (0..count).step_by(50) {
        let end = (start + 50).min(count);
        let mut bytes = Vec::new();
        for i in start..end {
            bytes.extend(common::encode_command(&command(i)));
        }
        conn.send(&bytes);
        errors += (start..end)
            .filter(|_| conn.read_reply().starts_with(b"-"))
            .count();
    }
    errors
}

/// How many of the keys `name(i)` for `i` in `range` exist.
fn surviving(
    conn: &mut RawConn,
    range: std::ops::Range<usize>,
    name: impl Fn(usize) -> String,
) -> usize {
    range
        .filter(|&i| conn.cmd(&["EXISTS".to_string(), name(i)]) == b":1\r\n")
        .count()
}

/// Sets the limit to what is used now plus `headroom` bytes, under `policy`.
fn limit_memory(conn: &mut RawConn, policy: &str, headroom: u64) -> u64 {
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]),
        b"+OK\r\n"
    );
    let limit = info_field(conn, "used_memory") + headroom;
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
        b"+OK\r\n"
    );
    limit
}

/// After the writes, memory is near the limit: within the growth of one key table and the
/// connections' buffers, which a pipeline of 1 KB writes fills (Redis's own test allows 4 KB
/// with single writes).
#[track_caller]
fn assert_near_limit(conn: &mut RawConn, limit: u64) {
    let used = info_field(conn, "used_memory");
    assert!(used < limit + 256 * 1024, "used {used}, limit {limit}");
    assert!(info_field(conn, "evicted_keys") > 0);
}

#[test]
fn settings_and_their_errors_match_redis() {
    differential(
        r#"
        CONFIG GET maxmemory-samples
        CONFIG GET maxmemory-eviction-tenacity
        CONFIG GET lfu-log-factor
        CONFIG GET lfu-decay-time
        CONFIG SET maxmemory-samples 0
        CONFIG SET maxmemory-samples 64
        CONFIG GET maxmemory-samples
        CONFIG SET maxmemory-eviction-tenacity 101
        CONFIG SET maxmemory-eviction-tenacity 100
        CONFIG GET maxmemory-eviction-tenacity
        CONFIG SET lfu-log-factor -1
        CONFIG SET lfu-log-factor 0
        CONFIG SET lfu-decay-time -1
        CONFIG SET lfu-decay-time 5
        CONFIG GET lfu-log-factor
        CONFIG GET lfu-decay-time
        CONFIG SET maxmemory-policy allkeys-fifo
        CONFIG SET maxmemory-policy VOLATILE-TTL
        CONFIG GET maxmemory-policy
        CONFIG SET maxmemory 1gb
        CONFIG GET maxmemory
        "#,
    );
}

#[test]
fn noeviction_refuses_what_may_use_memory_and_serves_the_rest() {
    differential(
        r#"
        SET k v
        RPUSH list a b
        CONFIG SET maxmemory 1
        SET a b
        SETNX k w
        RPUSH list c
        APPEND k more
        GET k
        LRANGE list 0 -1
        EXISTS k
        DEL list
        EXPIRE k 100
        PING
        MULTI
        GET k
        EXEC
        CONFIG SET maxmemory 0
        SET a b
        GET a
        "#,
    );
}

#[test]
fn volatile_policies_without_keys_to_evict_refuse_like_noeviction() {
    differential(
        r#"
        CONFIG SET maxmemory-policy volatile-lru
        SET plain v
        CONFIG SET maxmemory 1
        SET a b
        INCR counter
        GET plain
        EXISTS plain
        CONFIG SET maxmemory 0
        DBSIZE
        "#,
    );
}

#[test]
fn an_evicted_key_is_notified_and_breaks_watch() {
    differential(
        r#"
        CONFIG SET notify-keyspace-events Ee
        CONFIG SET maxmemory-policy allkeys-lru
        SET foo bar
        @conn 1
        PSUBSCRIBE *
        @conn 0
        WATCH foo
        CONFIG SET maxmemory 1
        CONFIG SET maxmemory 0
        MULTI
        SET foo again
        EXEC
        EXISTS foo
        @conn 1
        PING
        "#,
    );
}

#[test]
fn allkeys_lru_keeps_the_keys_read_recently() {
    let server = Server::start();
    let mut conn = server.raw();
    let value = kilobyte();
    pipeline(&mut conn, 2000, |i| {
        vec!["SET".into(), format!("old:{i}"), value.clone()]
    });
    // The LRU clock ticks every 16 ms: the reads below stamp the hot keys later than the rest.
    sleep(Duration::from_millis(100));
    pipeline(&mut conn, 200, |i| vec!["GET".into(), format!("old:{i}")]);
    sleep(Duration::from_millis(100));
    let limit = limit_memory(&mut conn, "allkeys-lru", 256 * 1024);
    let errors = pipeline(&mut conn, 1000, |i| {
        vec!["SET".into(), format!("new:{i}"), value.clone()]
    });
    assert_eq!(errors, 0);
    assert_near_limit(&mut conn, limit);
    // About 750 of the 1800 cold keys had to go; random eviction would take about 60 of the
    // 200 hot ones, true LRU none.
    let hot = surviving(&mut conn, 0..200, |i| format!("old:{i}"));
    assert!(hot >= 190, "{hot} of 200 recently read keys survived");
    let cold = surviving(&mut conn, 200..2000, |i| format!("old:{i}"));
    assert!(cold < 1500, "{cold} of 1800 cold keys survived");
}

#[test]
fn allkeys_lfu_keeps_the_keys_read_often() {
    let server = Server::start();
    let mut conn = server.raw();
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]),
        b"+OK\r\n"
    );
    let value = kilobyte();
    pipeline(&mut conn, 2000, |i| {
        vec!["SET".into(), format!("old:{i}"), value.clone()]
    });
    // Hot keys are read 30 times: their counter grows past the 5 new keys start at.
    pipeline(&mut conn, 200 * 30, |i| {
        vec!["GET".into(), format!("old:{}", i % 200)]
    });
    let limit = limit_memory(&mut conn, "allkeys-lfu", 256 * 1024);
    let errors = pipeline(&mut conn, 1000, |i| {
        vec!["SET".into(), format!("new:{i}"), value.clone()]
    });
    assert_eq!(errors, 0);
    assert_near_limit(&mut conn, limit);
    let hot = surviving(&mut conn, 0..200, |i| format!("old:{i}"));
    assert!(hot >= 190, "{hot} of 200 frequently read keys survived");
    assert_eq!(
        conn.cmd(&["OBJECT", "FREQ", "old:0"]).first(),
        Some(&b':'),
        "OBJECT FREQ answers under an LFU policy"
    );
}

#[test]
fn volatile_ttl_takes_the_soonest_expiring_keys() {
    let server = Server::start();
    let mut conn = server.raw();
    let value = kilobyte();
    pipeline(&mut conn, 1000, |i| {
        vec![
            "SET".into(),
            format!("soon:{i}"),
            value.clone(),
            "EX".into(),
            format!("{}", 1000 + i),
        ]
    });
    pipeline(&mut conn, 1000, |i| {
        vec![
            "SET".into(),
            format!("late:{i}"),
            value.clone(),
            "EX".into(),
            format!("{}", 100_000 + i),
        ]
    });
    pipeline(&mut conn, 500, |i| {
        vec!["SET".into(), format!("plain:{i}"), value.clone()]
    });
    let limit = limit_memory(&mut conn, "volatile-ttl", 256 * 1024);
    let errors = pipeline(&mut conn, 600, |i| {
        vec![
            "SET".into(),
            format!("new:{i}"),
            value.clone(),
            "EX".into(),
            "200000".into(),
        ]
    });
    assert_eq!(errors, 0);
    assert_near_limit(&mut conn, limit);
    assert_eq!(surviving(&mut conn, 0..500, |i| format!("plain:{i}")), 500);
    let late = surviving(&mut conn, 0..1000, |i| format!("late:{i}"));
    assert!(late >= 980, "{late} of 1000 late-expiring keys survived");
    let soon = surviving(&mut conn, 0..1000, |i| format!("soon:{i}"));
    assert!(soon <= 700, "{soon} of 1000 soon-expiring keys survived");
}

#[test]
fn volatile_policies_leave_keys_without_ttl_alone() {
    for policy in ["volatile-lru", "volatile-lfu", "volatile-random"] {
        let server = Server::start();
        let mut conn = server.raw();
        let value = kilobyte();
        pipeline(&mut conn, 1000, |i| {
            vec!["SET".into(), format!("plain:{i}"), value.clone()]
        });
        pipeline(&mut conn, 1000, |i| {
            vec![
                "SET".into(),
                format!("temp:{i}"),
                value.clone(),
                "EX".into(),
                "10000".into(),
            ]
        });
        let limit = limit_memory(&mut conn, policy, 256 * 1024);
        let errors = pipeline(&mut conn, 600, |i| {
            vec![
                "SET".into(),
                format!("new:{i}"),
                value.clone(),
                "EX".into(),
                "10000".into(),
            ]
        });
        assert_eq!(errors, 0, "{policy}");
        assert_near_limit(&mut conn, limit);
        let plain = surviving(&mut conn, 0..1000, |i| format!("plain:{i}"));
        assert_eq!(plain, 1000, "{policy}");
        // Once the volatile keys are gone, writes are refused.
        let errors = pipeline(&mut conn, 3000, |i| {
            vec!["SET".into(), format!("more:{i}"), value.clone()]
        });
        assert!(errors > 0, "{policy}");
        assert_eq!(
            surviving(&mut conn, 0..1000, |i| format!("plain:{i}")),
            1000
        );
        assert_eq!(
            conn.cmd(&["GET", "plain:0"]).len(),
            value.len() + 9,
            "{policy}"
        );
    }
}

#[test]
fn allkeys_random_keeps_memory_under_the_limit() {
    let server = Server::start();
    let mut conn = server.raw();
    let value = kilobyte();
    pipeline(&mut conn, 2000, |i| {
        vec!["SET".into(), format!("old:{i}"), value.clone()]
    });
    let limit = limit_memory(&mut conn, "allkeys-random", 256 * 1024);
    let errors = pipeline(&mut conn, 3000, |i| {
        vec!["SET".into(), format!("new:{i}"), value.clone()]
    });
    assert_eq!(errors, 0);
    assert_near_limit(&mut conn, limit);
    // Random choice takes old and new keys alike.
    let old = surviving(&mut conn, 0..2000, |i| format!("old:{i}"));
    let new = surviving(&mut conn, 0..3000, |i| format!("new:{i}"));
    assert!(
        old > 0 && new > 0 && old < 2000 && new < 3000,
        "{old} old, {new} new"
    );
}

/// Sends `count` SETs of new keys `key:<i>` from `first` with 16-byte values, which live in
/// the key table's slots, in one write (about 50 KB of input for 1000), and reads the replies.
fn set_small_keys(conn: &mut RawConn, first: usize, count: usize) {
    let mut bytes = Vec::new();
    for i in first..first + count {
        bytes.extend(common::encode_command(&[
            "SET".to_string(),
            format!("key:{i:010}"),
            format!("v{i:015}"),
        ]));
    }
    conn.send(&bytes);
    for _ in 0..count {
        assert_eq!(conn.read_reply(), b"+OK\r\n");
    }
}

/// Sets the limit `headroom` bytes over what is used, under `allkeys-lru`, and adds small
/// keys (see [`set_small_keys`]) until one is evicted; returns how many were added.
fn fill_to_the_limit(conn: &mut RawConn, headroom: u64) -> usize {
    limit_memory(conn, "allkeys-lru", headroom);
    let mut next = 0;
    while info_field(conn, "evicted_keys") == 0 {
        set_small_keys(conn, next, 1000);
        next += 1000;
        assert!(next < 1_000_000, "no eviction after {next} keys");
    }
    next
}

/// DBSIZE, as a number.
fn dbsize(conn: &mut RawConn) -> u64 {
    let reply = String::from_utf8(conn.cmd(&["DBSIZE"])).unwrap();
    reply.trim_start_matches(':').trim().parse().unwrap()
}

#[test]
fn a_client_buffer_over_the_limit_evicts_keys_in_their_slots_once() {
    // Evicting a key whose value lives in its slot frees no allocator memory, only the slot,
    // which the next key takes. While something else (here a client's unfinished command)
    // held memory over the limit, every command evicted as much again, until the table was
    // half empty.
    let server = Server::start();
    let mut conn = server.raw();
    let mut next = fill_to_the_limit(&mut conn, 4 * 1024 * 1024);
    let before = dbsize(&mut conn);
    let mut holder = server.raw();
    let held = 256 * 1024;
    holder.send(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", held + 1).as_bytes());
    holder.send(&vec![b'x'; held]);
    // The server has read the unfinished command when the client's input shows it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while info_field(&mut conn, "mem_clients_normal") < held as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "the input was not read"
        );
        sleep(Duration::from_millis(10));
    }
    // Small batches, so that this connection's own input adds little to the excess.
    for _ in 0..10 {
        set_small_keys(&mut conn, next, 200);
        next += 200;
    }
    // About the buffer's worth of keys (a slot is under 100 bytes: some thousands, under a
    // tenth of the keys) and one per key added; evicting until the table was half empty
    // would leave half.
    let after = dbsize(&mut conn);
    assert!(after * 10 > before * 8, "{after} keys left of {before}");
    assert!(before - after > 1000, "{after} keys left of {before}");
    // Once the command is complete and its key deleted, memory is back under the limit (the
    // vacant slots no longer stand for anything).
    holder.send(b"x\r\n");
    assert_eq!(holder.read_reply(), b"+OK\r\n");
    drop(holder);
    assert_eq!(conn.cmd(&["DEL", "big"]), b":1\r\n");
    let limit = info_field(&mut conn, "maxmemory");
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let mut used = info_field(&mut conn, "used_memory");
    while used > limit + 4096 && std::time::Instant::now() < deadline {
        sleep(Duration::from_millis(50));
        used = info_field(&mut conn, "used_memory");
    }
    assert!(used <= limit + 4096, "used {used}, limit {limit}");
}

#[test]
fn random_new_keys_at_the_limit_keep_the_data_set() {
    // One key out per key in, for as long as it lasts: each removal used to leave a marked
    // slot in the key table's index, and once those used up its room, eviction took keys
    // until one freed its slot outright, more than one per key added (the data set drained
    // to a tenth of what fits).
    let server = Server::start();
    let mut conn = server.raw();
    let mut next = fill_to_the_limit(&mut conn, 2 * 1024 * 1024);
    let peak = dbsize(&mut conn);
    let mut least = peak;
    for _ in 0..peak * 5 / 1000 {
        set_small_keys(&mut conn, next, 1000);
        next += 1000;
        least = least.min(dbsize(&mut conn));
    }
    assert!(
        least * 10 > peak * 9,
        "{least} keys at the least, of {peak}"
    );
}

#[test]
fn lowering_maxmemory_evicts_at_once() {
    let server = Server::start();
    let mut conn = server.raw();
    let value = kilobyte();
    pipeline(&mut conn, 3000, |i| {
        vec!["SET".into(), format!("k:{i}"), value.clone()]
    });
    let used = info_field(&mut conn, "used_memory");
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        b"+OK\r\n"
    );
    let limit = used - 1024 * 1024;
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
        b"+OK\r\n"
    );
    // One INFO reply, so that no eviction falls between the two figures.
    let info = String::from_utf8(conn.cmd(&["INFO"])).unwrap();
    let field = |prefix: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in INFO"))
    };
    let evicted = field("evicted_keys:");
    // About 1 MB of 1 KB values: some hundreds, not the whole data set.
    assert!((500..2500).contains(&evicted), "{evicted}");
    assert_eq!(field("db0:keys="), 3000 - evicted);
    assert!(info_field(&mut conn, "used_memory") <= limit + 64 * 1024);
    assert!(info_field(&mut conn, "total_eviction_exceeded_time") < 60_000);
}

#[test]
fn evicted_keys_are_deleted_in_mongodb() {
    let Some(uri) = common::mongodb_uri() else {
        return;
    };
    let name = common::unique_name("eviction");
    let mut server = Server::start_with(&["--mongodb-uri", &uri, "--mongodb-database", &name]);
    let mut conn = server.raw();
    let value = kilobyte();
    pipeline(&mut conn, 500, |i| {
        vec!["SET".into(), format!("k:{i}"), value.clone()]
    });
    conn.set_timeout(Duration::from_secs(120));
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    let used = info_field(&mut conn, "used_memory");
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]),
        b"+OK\r\n"
    );
    let limit = (used - 200 * 1024).to_string();
    assert_eq!(
        conn.cmd(&["CONFIG", "SET", "maxmemory", &limit]),
        b"+OK\r\n"
    );
    assert_eq!(conn.cmd(&["CONFIG", "SET", "maxmemory", "0"]), b"+OK\r\n");
    let evicted = info_field(&mut conn, "evicted_keys");
    assert!(evicted > 0);
    let keys = conn.cmd(&["DBSIZE"]);
    assert_eq!(keys, format!(":{}\r\n", 500 - evicted).into_bytes());
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    server.restart();
    let mut conn = server.raw();
    assert_eq!(
        conn.cmd(&["DBSIZE"]),
        keys,
        "evicted keys stay deleted in MongoDB"
    );
    if let Ok(client) = mongodb::sync::Client::with_uri_str(&uri) {
        let _ = client.database(&name).drop().run();
    }
}
