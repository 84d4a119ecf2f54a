//! Which key serves a client blocked on several keys, and which of several waiting clients is
//! served, when one transaction or command makes more than one waited key ready.
//!
//! Redis 7.0 keeps the keys that became ready in the order they were signalled (a key is
//! signalled when it is created with a type some client blocks on) and, for each key in turn,
//! serves that key's waiting clients longest-waiting first, each from THAT key, until the key
//! is gone. A client whose other keys hold the wrong type is still served from the ready key.
//! The list and sorted-set scenarios run against a real redis-server too and must agree byte
//! for byte; the QUEUE scenarios follow the same rule with no Redis equivalent.

mod common;

use common::{assert_bytes, escape, RawConn, RedisServer, Server};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a reply is awaited from a client that may rightly still be blocked.
const STILL_BLOCKED_WAIT: Duration = Duration::from_millis(250);

/// The number of blocked clients `INFO clients` reports.
fn blocked_clients(conn: &mut RawConn) -> usize {
    let info = conn.cmd(&["INFO", "clients"]);
    let info = String::from_utf8_lossy(&info);
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no blocked_clients in INFO: {info}"))
}

/// Waits (bounded) until the server reports `count` blocked clients.
fn wait_blocked(conn: &mut RawConn, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked_clients(conn) != count {
        assert!(
            Instant::now() < deadline,
            "never saw {count} blocked clients"
        );
        sleep(Duration::from_millis(5));
    }
}

/// Runs a scenario on `server` and returns every observed reply, escaped. Lines:
///
/// ```text
/// block N CMD ARGS...   connection N (1..) sends CMD and is waited on until it blocks
/// read N                the reply of connection N, or "(blocked)" if none comes soon
/// CMD ARGS...           connection 0 runs CMD; its reply is recorded
/// ```
fn run(server: &Server, script: &str) -> Vec<String> {
    let mut conns: Vec<RawConn> = Vec::new();
    let mut replies = Vec::new();
    let conn = |conns: &mut Vec<RawConn>, n: usize| -> usize {
        while conns.len() <= n {
            conns.push(server.raw());
        }
        n
    };
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "block" => {
                let n = conn(&mut conns, words[1].parse().expect("connection number"));
                conn(&mut conns, 0);
                let before = blocked_clients(&mut conns[0]);
                conns[n].send(&common::encode_command(&words[2..]));
                wait_blocked(&mut conns[0], before + 1);
            }
            "read" => {
                let n = conn(&mut conns, words[1].parse().expect("connection number"));
                let reply = conns[n].read_reply_within(STILL_BLOCKED_WAIT);
                replies.push(format!(
                    "{line} -> {}",
                    reply.map_or_else(|_| "(blocked)".to_string(), |r| escape(&r))
                ));
            }
            _ => {
                conn(&mut conns, 0);
                let reply = conns[0].cmd(&words);
                replies.push(format!("{line} -> {}", escape(&reply)));
            }
        }
    }
    replies
}

/// Runs `script` on a real redis-server and on Reddish and asserts the same replies; returns
/// them for scenario-specific checks.
#[track_caller]
fn both(script: &str) -> Vec<String> {
    let expected = run(&RedisServer::start(), script);
    let actual = run(&Server::start(), script);
    assert_eq!(actual, expected, "reddish (left) vs redis-server (right)");
    actual
}

/// The recorded reply of the line that starts with `prefix`.
fn reply_of<'a>(replies: &'a [String], prefix: &str) -> &'a str {
    replies
        .iter()
        .find(|r| r.starts_with(prefix))
        .and_then(|r| r.split(" -> ").nth(1))
        .unwrap_or_else(|| panic!("no reply for {prefix:?} in {replies:#?}"))
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

#[test]
fn blpop_is_served_from_the_key_a_transaction_made_ready_first() {
    let replies = both(
        "block 1 BLPOP k1 k2 0
         MULTI
         LPUSH k2 a
         LPUSH k1 b
         EXEC
         read 1
         LRANGE k1 0 -1
         EXISTS k2",
    );
    assert_eq!(
        reply_of(&replies, "read 1"),
        escape(b"*2\r\n$2\r\nk2\r\n$1\r\na\r\n")
    );
}

#[test]
fn brpop_and_blmpop_are_served_from_the_first_ready_key() {
    both(
        "block 1 BRPOP k1 k2 0
         block 2 BLMPOP 0 3 k3 k1 k2 RIGHT COUNT 5
         MULTI
         RPUSH k2 a b c
         RPUSH k3 x
         RPUSH k1 d e
         EXEC
         read 1
         read 2
         LRANGE k1 0 -1
         LRANGE k2 0 -1
         LRANGE k3 0 -1",
    );
}

#[test]
fn each_ready_key_serves_its_longest_waiting_client() {
    // k2 is ready first: the two clients waiting on it are served from it in arrival order
    // while it lasts; then k1 serves whoever still waits on it.
    both(
        "block 1 BLPOP k1 k2 0
         block 2 BLPOP k2 k1 0
         block 3 BLPOP k1 0
         MULTI
         RPUSH k2 a
         RPUSH k1 b c
         EXEC
         read 1
         read 2
         read 3
         LRANGE k1 0 -1",
    );
}

#[test]
fn a_client_served_by_one_key_leaves_the_others_for_later_waiters() {
    both(
        "block 1 BLPOP k1 k2 0
         block 2 BLPOP k1 0
         MULTI
         LPUSH k2 a
         LPUSH k1 b
         EXEC
         read 1
         read 2
         EXISTS k1 k2",
    );
    both(
        "block 1 BLPOP k2 k1 0
         block 2 BLMOVE k1 d LEFT RIGHT 0
         MULTI
         RPUSH k1 x
         RPUSH k2 y
         EXEC
         read 1
         read 2
         LRANGE k2 0 -1
         RPUSH k1 z
         read 2
         LRANGE d 0 -1",
    );
}

#[test]
fn a_ready_key_deleted_before_the_transaction_ends_serves_nobody() {
    both(
        "block 1 BLPOP k2 k1 0
         MULTI
         LPUSH k2 a
         LPUSH k1 b
         DEL k2
         EXEC
         read 1
         EXISTS k1 k2",
    );
}

#[test]
fn only_keys_created_with_a_waited_type_count_as_ready() {
    // k1 is first created as a string (not a signal), then as a list after k2.
    both(
        "block 1 BLPOP k1 k2 0
         MULTI
         SET k1 x
         LPUSH k2 b
         DEL k1
         LPUSH k1 a
         EXEC
         read 1
         LRANGE k1 0 -1",
    );
    // A key that already exists is not signalled again by more pushes.
    both(
        "block 1 BLPOP k1 k2 0
         MULTI
         RPUSH k2 a
         RPUSH k1 b
         RPUSH k2 c
         EXEC
         read 1
         LRANGE k2 0 -1",
    );
}

#[test]
fn keys_created_by_rename_copy_and_move_are_ready_in_order() {
    both(
        "RPUSH src1 x
         RPUSH src2 y
         block 1 BLPOP k1 k2 k3 0
         MULTI
         RENAME src1 k3
         COPY src2 k2
         RPUSH k1 z
         EXEC
         read 1
         EXISTS k1 k2 k3",
    );
    both(
        "SELECT 1
         RPUSH k2 x
         SELECT 0
         block 1 BLPOP k1 k2 0
         MULTI
         SELECT 1
         MOVE k2 0
         SELECT 0
         RPUSH k1 y
         EXEC
         read 1",
    );
}

#[test]
fn blpop_skips_a_first_key_that_holds_another_type() {
    both(
        "block 1 BLPOP k1 k2 0
         SET k1 x
         read 1
         LPUSH k2 a
         read 1
         TYPE k1",
    );
    both(
        "block 1 BLMPOP 0 2 k1 k2 LEFT
         MULTI
         SADD k1 m
         RPUSH k2 a b
         EXEC
         read 1
         LRANGE k2 0 -1",
    );
}

#[test]
fn a_blocked_move_is_served_from_its_source_into_a_new_ready_key() {
    // The element BLMOVE pushes into d makes d ready after the keys already signalled.
    both(
        "block 1 BLMOVE s d LEFT RIGHT 0
         block 2 BLPOP x d 0
         MULTI
         RPUSH s a
         RPUSH x b
         EXEC
         read 1
         read 2
         LRANGE d 0 -1
         EXISTS x",
    );
}

// ---------------------------------------------------------------------------------------------
// Sorted sets
// ---------------------------------------------------------------------------------------------

#[test]
fn bzpopmin_and_bzpopmax_are_served_from_the_first_ready_key() {
    let replies = both(
        "block 1 BZPOPMIN z1 z2 0
         block 2 BZPOPMAX z1 z2 0
         MULTI
         ZADD z2 1 a 2 b
         ZADD z1 3 c
         EXEC
         read 1
         read 2
         ZRANGE z1 0 -1 WITHSCORES",
    );
    assert_eq!(
        reply_of(&replies, "read 1"),
        escape(b"*3\r\n$2\r\nz2\r\n$1\r\na\r\n$1\r\n1\r\n")
    );
}

#[test]
fn bzmpop_is_served_from_the_first_ready_key() {
    both(
        "block 1 BZMPOP 0 2 z1 z2 MIN COUNT 5
         MULTI
         ZADD z2 1 a 2 c
         ZADD z1 1 b
         EXEC
         read 1
         ZRANGE z1 0 -1",
    );
}

#[test]
fn sorted_set_waiters_skip_keys_of_another_type() {
    both(
        "block 1 BZPOPMIN k1 k2 0
         MULTI
         RPUSH k2 x
         ZADD k1 1 a
         EXEC
         read 1
         TYPE k2",
    );
    both(
        "block 1 BZPOPMAX k1 k2 0
         SET k1 x
         ZADD k2 5 m
         read 1",
    );
    both(
        "block 1 BZMPOP 0 2 k1 k2 MAX
         block 2 BLPOP k1 k2 0
         MULTI
         ZADD k1 1 a
         RPUSH k2 b
         EXEC
         read 1
         read 2",
    );
}

// ---------------------------------------------------------------------------------------------
// Native blocking commands (no Redis equivalent): the same rule
// ---------------------------------------------------------------------------------------------

#[test]
fn queue_bpop_is_served_from_the_key_a_transaction_made_ready_first() {
    let replies = run(
        &Server::start(),
        "block 1 QUEUE.BPOP q1 q2 0
         block 2 QUEUE.BPOP q1 0
         MULTI
         QUEUE.PUSH q2 a
         QUEUE.PUSH q1 b
         EXEC
         read 1
         read 2",
    );
    assert_eq!(
        reply_of(&replies, "read 1"),
        escape(b"*2\r\n$2\r\nq2\r\n$1\r\na\r\n")
    );
    assert_eq!(
        reply_of(&replies, "read 2"),
        escape(b"*2\r\n$2\r\nq1\r\n$1\r\nb\r\n")
    );
}

#[test]
fn queue_bpop_skips_a_first_key_that_holds_another_type() {
    let server = Server::start();
    let replies = run(
        &server,
        "block 1 QUEUE.BPOP q1 q2 0
         SET q1 x
         read 1
         QUEUE.PUSH q2 a
         read 1",
    );
    assert_eq!(reply_of(&replies, "read 1"), "(blocked)");
    assert_eq!(
        replies[3],
        format!("read 1 -> {}", escape(b"*2\r\n$2\r\nq2\r\n$1\r\na\r\n"))
    );
    let mut conn = server.raw();
    assert_bytes(&conn.cmd(&["TYPE", "q1"]), b"+string\r\n");
}

#[test]
fn only_creation_makes_a_key_ready_not_overwriting_another_type() {
    // Redis 7.0 signals a key when it is added, not when a value of another type is
    // overwritten in place (ZUNIONSTORE, ZRANGESTORE over a string): such a waiter keeps
    // waiting. RENAME and COPY ... REPLACE delete the destination first, so they do signal.
    for script in [
        "ZADD src 1 a
         block 1 BZPOPMIN z 0
         SET z x
         ZUNIONSTORE z 1 src
         read 1
         ZADD z 2 b
         read 1",
        "ZADD src 1 a
         block 1 BZPOPMIN z 0
         SET z x
         ZRANGESTORE z src 0 -1
         read 1",
        "RPUSH src c b a
         block 1 BLPOP l 0
         SET l x
         COPY src l REPLACE
         read 1",
        "RPUSH src c b a
         block 1 BLPOP l 0
         SET l x
         RENAME src l
         read 1",
    ] {
        both(script);
    }
}

/// A blocked client waits at least its timeout, as Redis guarantees by timing a client out
/// only once the clock is past its deadline: never a millisecond early, whichever moment of a
/// millisecond the command arrived in (phpredis's suite checks `XREADGROUP ... BLOCK 100`
/// takes at least 100 ms).
#[test]
fn blocked_clients_wait_at_least_their_timeout() {
    let server = Server::start();
    let mut conn = server.raw();
    let cases: [(&[&str], Duration); 3] = [
        (&["BLPOP", "nolist", "0.011"], Duration::from_millis(11)),
        (&["BZPOPMIN", "nozset", "0.007"], Duration::from_millis(7)),
        (
            &["XREAD", "BLOCK", "13", "STREAMS", "nostream", "$"],
            Duration::from_millis(13),
        ),
    ];
    for (args, timeout) in cases {
        // Many tries, so that commands land at every moment of a millisecond.
        for _ in 0..15 {
            let started = Instant::now();
            let reply = conn.cmd(args);
            let waited = started.elapsed();
            assert!(
                reply.starts_with(b"*-1") || reply.starts_with(b"_"),
                "{}",
                escape(&reply)
            );
            assert!(
                waited >= timeout,
                "{args:?} answered after {waited:?}, before its timeout"
            );
        }
    }
}
