//! List commands against a real redis-server: differential scripts (replies compared byte for
//! byte, error paths included), generated scripts over lists that span many chunks, and
//! blocking scenarios run on both servers with their replies compared.
//!
//! Not covered yet: blocking commands inside MULTI (MULTI does not exist yet; the unit tests
//! check the immediate replies through the client's `in_multi` flag).

mod common;

use common::{assert_bytes, differential, Compare, Differential, RedisServer, Server};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::thread::sleep;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Differential scripts
// ---------------------------------------------------------------------------------------------

#[test]
fn push_pop_and_length() {
    differential(
        r#"
        RPUSH l a b c
        LPUSH l z y
        LRANGE l 0 -1
        LLEN l
        LLEN nokey
        LPUSHX nokey a
        RPUSHX nokey a
        EXISTS nokey
        LPUSHX l x1 x2
        RPUSHX l y1
        LRANGE l 0 -1
        LPOP l
        RPOP l
        LPOP l 2
        RPOP l 2
        LPOP l 0
        RPOP l 0
        LPOP l -1
        RPOP l -5
        LPOP l x
        LPOP l 1.5
        LPOP l 99999999999999999999
        LPOP l 1 2
        LPOP nokey
        RPOP nokey
        LPOP nokey 0
        LPOP nokey 3
        RPOP nokey 3
        LPOP l 100
        EXISTS l
        RPUSH l "" "bin\x00\r\n" "a b"
        LRANGE l 0 -1
        RPOP l 10
        LPUSH
        LPUSH l
        RPUSHX l
        LLEN
        LLEN a b
        RPUSH n 1 2 3 -4 9223372036854775807 18446744073709551616 1.5 007
        LRANGE n 0 -1
        TYPE n
        OBJECT ENCODING n
        "#,
    );
}

#[test]
fn range_index_and_set() {
    differential(
        r#"
        RPUSH l 0 1 2 3 4 5 6 7 8 9
        LRANGE l 0 -1
        LRANGE l 2 4
        LRANGE l -3 -1
        LRANGE l -100 100
        LRANGE l 5 2
        LRANGE l 10 20
        LRANGE l -1 -2
        LRANGE l 0 0
        LRANGE l 9223372036854775807 -9223372036854775808
        LRANGE l -9223372036854775808 9223372036854775807
        LRANGE l x 1
        LRANGE l 0 y
        LRANGE l 1.0 2
        LRANGE nokey 0 -1
        LRANGE nokey x y
        LRANGE l 0
        LINDEX l 0
        LINDEX l 9
        LINDEX l 10
        LINDEX l -1
        LINDEX l -10
        LINDEX l -11
        LINDEX l x
        LINDEX nokey x
        LINDEX nokey 0
        LINDEX l 9223372036854775807
        LINDEX l -9223372036854775808
        LSET l 0 first
        LSET l -1 last
        LSET l 5 "a much longer element than before"
        LSET l 6 ""
        LRANGE l 0 -1
        LSET l 10 x
        LSET l -11 x
        LSET l x y
        LSET nokey 0 a
        LSET nokey x a
        LSET l 0
        "#,
    );
}

#[test]
fn insert_remove_trim() {
    differential(
        r#"
        RPUSH l a b c a b c a
        LINSERT l BEFORE b x
        LINSERT l after c y
        LINSERT l Before a first
        LRANGE l 0 -1
        LINSERT l BEFORE nopivot z
        LINSERT l middle a z
        LINSERT nokey BEFORE a z
        LINSERT nokey middle a z
        LINSERT l BEFORE a
        LREM l 1 a
        LRANGE l 0 -1
        LREM l -1 a
        LRANGE l 0 -1
        LREM l 0 c
        LRANGE l 0 -1
        LREM l 0 nothing
        LREM l x a
        LREM nokey 0 a
        LREM nokey x a
        LREM l -9223372036854775808 b
        LRANGE l 0 -1
        RPUSH t 1 2 3 4 5 6 7 8 9 10
        LTRIM t 1 -2
        LRANGE t 0 -1
        LTRIM t -3 100
        LRANGE t 0 -1
        LTRIM t 0 0
        LRANGE t 0 -1
        LTRIM t x 1
        LTRIM t 0 y
        LTRIM nokey 0 1
        LTRIM nokey x 1
        LTRIM t 1 0
        EXISTS t
        RPUSH t a b c
        LTRIM t 5 10
        EXISTS t
        RPUSH t a b c
        LTRIM t -1 -2
        EXISTS t
        RPUSH r a a a
        LREM r 0 a
        EXISTS r
        "#,
    );
}

#[test]
fn lpos_options_and_errors() {
    differential(
        r#"
        RPUSH l a b a c a d a
        LPOS l a
        LPOS l d
        LPOS l z
        LPOS l a RANK 1
        LPOS l a RANK 2
        LPOS l a RANK -1
        LPOS l a RANK -3
        LPOS l a RANK 5
        LPOS l a RANK -5
        LPOS l a COUNT 0
        LPOS l a COUNT 2
        LPOS l a COUNT 10
        LPOS l z COUNT 0
        LPOS l a RANK 2 COUNT 2
        LPOS l a RANK -2 COUNT 0
        LPOS l a COUNT 0 MAXLEN 3
        LPOS l a RANK -1 MAXLEN 1
        LPOS l a RANK -1 MAXLEN 2 COUNT 0
        LPOS l a RANK 3 MAXLEN 2
        LPOS l a MAXLEN 0
        LPOS l a rank 1 rank 3
        LPOS l a count 1 count 0
        LPOS l a RANK 0
        LPOS l a RANK x
        LPOS l a RANK -9223372036854775808
        LPOS l a RANK -9223372036854775808 COUNT 2
        LPOS l a RANK -9223372036854775808 COUNT 3 MAXLEN 3
        LPOS l a RANK -9223372036854775807
        LPOS l a RANK 9223372036854775807
        LPOS l a COUNT -1
        LPOS l a COUNT x
        LPOS l a COUNT 9223372036854775807
        LPOS l a COUNT 99999999999999999999
        LPOS l a MAXLEN -1
        LPOS l a MAXLEN x
        LPOS l a FOO
        LPOS l a RANK
        LPOS l a COUNT 1 RANK 0
        LPOS l a RANK 0 FOO
        LPOS nokey a
        LPOS nokey a COUNT 1
        LPOS nokey a RANK 0
        LPOS nokey a COUNT -1
        LPOS l
        "#,
    );
}

#[test]
fn lmove_rpoplpush_lmpop() {
    differential(
        r#"
        RPUSH l a b c d
        LMOVE l d LEFT RIGHT
        LMOVE l d right left
        LRANGE d 0 -1
        LMOVE l l LEFT RIGHT
        LRANGE l 0 -1
        LMOVE l l RIGHT RIGHT
        LMOVE l d LEFT middle
        LMOVE l d up LEFT
        LMOVE nokey d LEFT LEFT
        LMOVE nokey l LEFT LEFT
        RPOPLPUSH l d
        RPOPLPUSH l d
        EXISTS l
        RPOPLPUSH d d
        LRANGE d 0 -1
        RPOPLPUSH nokey d
        RPOPLPUSH d
        LMOVE d d LEFT
        RPUSH m1 1 2 3
        RPUSH m2 x y
        LMPOP 1 m1 LEFT
        LMPOP 2 nokey m1 RIGHT COUNT 5
        LMPOP 2 m1 m2 LEFT COUNT 1
        LMPOP 2 nokey nokey2 LEFT
        LMPOP 2 m2 m2 right count 10
        EXISTS m2
        LMPOP 0 m1 LEFT
        LMPOP -1 m1 LEFT
        LMPOP x m1 LEFT
        LMPOP 1 m1 middle
        LMPOP 2 m1 LEFT
        LMPOP 3 a b LEFT
        LMPOP 1 m1 LEFT COUNT 0
        LMPOP 1 m1 LEFT COUNT -1
        LMPOP 1 m1 LEFT COUNT x
        LMPOP 1 m1 LEFT COUNT
        LMPOP 1 m1 LEFT COUNT 1 COUNT 1
        LMPOP 1 m1 LEFT FOO
        LMPOP 1 nokey LEFT COUNT 0
        LMPOP 9223372036854775807 m1 LEFT
        LMPOP 1 m1
        "#,
    );
}

#[test]
fn wrong_type_everywhere() {
    differential(
        r#"
        SET s v
        RPUSH l a b
        LPUSH s a
        RPUSH s a
        LPUSHX s a
        RPUSHX s a
        LPOP s
        RPOP s
        LPOP s 0
        LPOP s 2
        LPOP s -1
        LLEN s
        LRANGE s 0 -1
        LRANGE s x 1
        LINDEX s 0
        LINDEX s x
        LSET s 0 a
        LSET s x a
        LINSERT s BEFORE a b
        LINSERT s middle a b
        LREM s 0 a
        LREM s x a
        LTRIM s 0 1
        LTRIM s x 1
        LPOS s a
        LPOS s a RANK 0
        LPOS s a COUNT -1
        LMOVE s l LEFT LEFT
        LMOVE l s LEFT LEFT
        LMOVE nokey s LEFT LEFT
        LMOVE s nokey LEFT middle
        RPOPLPUSH s l
        RPOPLPUSH l s
        LRANGE l 0 -1
        LMPOP 2 s l LEFT
        LMPOP 2 l s LEFT
        LMPOP 2 nokey s LEFT
        RPUSH l c d e f
        BLPOP s 0
        BLPOP l s 0
        BRPOP s l 0
        BLMOVE s l LEFT LEFT 0
        BLMOVE l s LEFT LEFT 0
        BRPOPLPUSH l s 0
        BLMPOP 0 2 s l LEFT
        GET s
        "#,
    );
}

#[test]
fn blocking_commands_argument_errors() {
    differential(
        r#"
        RPUSH l a b c d e f g h
        BLPOP l x
        BLPOP l -1
        BLPOP l nan
        BLPOP l 1.5e3
        BRPOP l 0.5
        BLPOP l
        BLMOVE l d LEFT middle 0
        BLMOVE l d LEFT LEFT x
        BLMOVE l d LEFT LEFT -1
        BLMOVE l d LEFT middle x
        BLMOVE l d RIGHT LEFT 0
        BRPOPLPUSH l d x
        BRPOPLPUSH l d -1
        BRPOPLPUSH l d 0
        BLMPOP x 1 l LEFT
        BLMPOP x 0 l LEFT
        BLMPOP -1 0 l LEFT
        BLMPOP x 1 l middle
        BLMPOP x 1 l LEFT COUNT 0
        BLMPOP x 1 l LEFT foo
        BLMPOP -1 1 l LEFT
        BLMPOP 0 1 l LEFT COUNT 2
        BLMPOP 0 2 nokey l RIGHT COUNT 10
        BLMPOP 0 1 l
        LRANGE d 0 -1
        "#,
    );
}

#[test]
fn resp3_nulls() {
    differential(
        r#"
        @any HELLO 3
        LPOP nokey
        LPOP nokey 2
        LINDEX nokey 0
        LPOS nokey a
        LMOVE nokey d LEFT LEFT
        LMPOP 1 nokey LEFT
        RPUSH l a
        LINDEX l 5
        LPOS l z
        LPOP l 1
        BLPOP nokey 0.01
        BRPOPLPUSH nokey d 0.01
        BLMPOP 0.01 1 nokey LEFT
        "#,
    );
}

// ---------------------------------------------------------------------------------------------
// Generated scripts over long lists
// ---------------------------------------------------------------------------------------------

/// An element from a small pool, so searches hit; sizes cross the varint widths and the 8 KB
/// chunk size.
fn pool_element(rng: &mut SmallRng) -> Vec<u8> {
    let (byte, len) = match rng.gen_range(0..100) {
        0..=29 => (b'a', 1),
        30..=49 => (b'b', 16),
        50..=64 => (b'c', 127),
        65..=79 => (b'd', 128),
        80..=89 => (b'e', 600),
        90..=97 => (b'f', 3000),
        _ => (b'g', 9000),
    };
    vec![byte; len]
}

fn index_arg(rng: &mut SmallRng, len: i64) -> String {
    let len = len.max(1);
    match rng.gen_range(0..10) {
        0 => rng.gen_range(-len - 3..0).to_string(),
        1 => (len + rng.gen_range(0..3)).to_string(),
        _ => rng.gen_range(0..len).to_string(),
    }
}

#[test]
fn random_operations_on_long_lists_match_redis() {
    let mut d = Differential::new();
    let mut rng = SmallRng::seed_from_u64(7);
    let keys = ["k1", "k2"];
    // Build the lists up first so they span many chunks on both sides.
    for i in 0..1500 {
        let key = keys[i % 2];
        let elem = pool_element(&mut rng);
        let cmd = if rng.gen_bool(0.5) { "RPUSH" } else { "LPUSH" };
        d.check(Compare::Exact, &[cmd.as_bytes(), key.as_bytes(), &elem]);
    }
    let mut lengths = [750i64, 750];
    let mut probe = d.reddish.raw();
    for _ in 0..1500 {
        let k = rng.gen_range(0..2);
        let key = keys[k].as_bytes().to_vec();
        let len = lengths[k];
        let elem = pool_element(&mut rng);
        let a = index_arg(&mut rng, len).into_bytes();
        let b = index_arg(&mut rng, len).into_bytes();
        let args: Vec<Vec<u8>> = match rng.gen_range(0..16) {
            0 => vec![b"RPUSH".to_vec(), key, elem],
            1 => vec![b"LPUSH".to_vec(), key, elem],
            2 => vec![b"LPOP".to_vec(), key],
            3 => vec![
                b"RPOP".to_vec(),
                key,
                rng.gen_range(0..4).to_string().into_bytes(),
            ],
            4 => vec![b"LINDEX".to_vec(), key, a],
            5 => vec![b"LRANGE".to_vec(), key, a, b],
            6 => vec![b"LSET".to_vec(), key, a, elem],
            7 => {
                let place: &[u8] = if rng.gen_bool(0.5) {
                    b"BEFORE"
                } else {
                    b"AFTER"
                };
                let pivot = pool_element(&mut rng);
                vec![b"LINSERT".to_vec(), key, place.to_vec(), pivot, elem]
            }
            8 => {
                let count = rng.gen_range(-3..4).to_string().into_bytes();
                vec![b"LREM".to_vec(), key, count, elem]
            }
            9 => {
                let start = rng.gen_range(0..3).to_string().into_bytes();
                let stop = (-1 - rng.gen_range(0..3)).to_string().into_bytes();
                vec![b"LTRIM".to_vec(), key, start, stop]
            }
            10 => {
                let rank = [1, 2, -1, -2][rng.gen_range(0..4)].to_string().into_bytes();
                vec![
                    b"LPOS".to_vec(),
                    key,
                    elem,
                    b"RANK".to_vec(),
                    rank,
                    b"COUNT".to_vec(),
                    b"3".to_vec(),
                ]
            }
            11 => {
                let other = keys[1 - k].as_bytes().to_vec();
                let (from, to): (&[u8], &[u8]) = match rng.gen_range(0..4) {
                    0 => (b"LEFT", b"LEFT"),
                    1 => (b"LEFT", b"RIGHT"),
                    2 => (b"RIGHT", b"LEFT"),
                    _ => (b"RIGHT", b"RIGHT"),
                };
                vec![b"LMOVE".to_vec(), key, other, from.to_vec(), to.to_vec()]
            }
            12 => vec![b"LLEN".to_vec(), key],
            13 => vec![
                b"LMPOP".to_vec(),
                b"2".to_vec(),
                key,
                b"k3".to_vec(),
                b"RIGHT".to_vec(),
                b"COUNT".to_vec(),
                b"2".to_vec(),
            ],
            14 => vec![
                b"LPOS".to_vec(),
                key,
                elem,
                b"MAXLEN".to_vec(),
                b"200".to_vec(),
            ],
            _ => vec![b"LRANGE".to_vec(), key, b"0".to_vec(), b"-1".to_vec()],
        };
        d.check(Compare::Exact, &args);
        for (i, key) in keys.iter().enumerate() {
            let reply = probe.cmd(&["LLEN", key]);
            lengths[i] = std::str::from_utf8(&reply[1..reply.len() - 2])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
        // Keep the lists long: refill a list that ran low.
        for (i, key) in keys.iter().enumerate() {
            if lengths[i] < 200 {
                let mut args = vec![b"RPUSH".to_vec(), key.as_bytes().to_vec()];
                for _ in 0..300 {
                    args.push(pool_element(&mut rng));
                }
                d.check(Compare::Exact, &args);
                lengths[i] += 300;
            }
        }
    }
    d.check(Compare::Exact, &["LRANGE", "k1", "0", "-1"]);
    d.check(Compare::Exact, &["LRANGE", "k2", "0", "-1"]);
}

#[test]
fn big_list_ranges_and_trims_match_redis() {
    let mut d = Differential::new();
    let mut push = vec!["RPUSH".to_string(), "big".to_string()];
    for i in 0..5000 {
        push.push(format!("element-{i:06}"));
    }
    d.check(Compare::Exact, &push);
    let mut front = vec!["LPUSH".to_string(), "big".to_string()];
    for i in 0..5000 {
        front.push(format!("head-{i:06}"));
    }
    d.check(Compare::Exact, &front);
    for (start, stop) in [
        ("0", "99"),
        ("4990", "5010"),
        ("-100", "-1"),
        ("-5001", "-4999"),
        ("9999", "10005"),
        ("0", "-1"),
    ] {
        d.check(Compare::Exact, &["LRANGE", "big", start, stop]);
    }
    for index in ["0", "4999", "5000", "-1", "-5000", "7777", "10000"] {
        d.check(Compare::Exact, &["LINDEX", "big", index]);
    }
    d.check(Compare::Exact, &["LSET", "big", "5000", "x"]);
    d.check(Compare::Exact, &["LINSERT", "big", "AFTER", "x", "y"]);
    d.check(Compare::Exact, &["LREM", "big", "0", "element-000100"]);
    d.check(Compare::Exact, &["LPOS", "big", "element-004000"]);
    d.check(
        Compare::Exact,
        &["LPOS", "big", "head-000000", "RANK", "-1"],
    );
    d.check(Compare::Exact, &["LTRIM", "big", "2500", "-2500"]);
    d.check(Compare::Exact, &["LLEN", "big"]);
    d.check(Compare::Exact, &["LRANGE", "big", "0", "-1"]);
    d.check(Compare::Exact, &["LPOP", "big", "3000"]);
    d.check(Compare::Exact, &["RPOP", "big", "3000"]);
    d.check(Compare::Exact, &["EXISTS", "big"]);
}

// ---------------------------------------------------------------------------------------------
// Blocking: each scenario runs on a real redis-server and on Reddish; replies must agree
// ---------------------------------------------------------------------------------------------

/// Time for a command sent on one connection to be processed before another connection acts
/// (generous: the test machine is shared).
const SETTLE: Duration = Duration::from_millis(150);

fn send(conn: &mut common::RawConn, args: &[&str]) {
    conn.send(&common::encode_command(args));
}

/// Runs `scenario` on both servers and asserts they produced the same replies.
#[track_caller]
fn both(scenario: fn(&Server) -> Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let redis = RedisServer::start();
    let expected = scenario(&redis);
    let reddish = Server::start();
    let actual = scenario(&reddish);
    let show = |replies: &[Vec<u8>]| -> Vec<String> {
        replies.iter().map(|r| common::escape(r)).collect()
    };
    assert_eq!(show(&actual), show(&expected), "reddish vs redis-server");
    actual
}

#[test]
fn two_clients_blocked_on_one_key_are_served_in_order() {
    let replies = both(|server| {
        let (mut c1, mut c2, mut c3) = (server.raw(), server.raw(), server.raw());
        send(&mut c1, &["BLPOP", "q", "0"]);
        sleep(SETTLE);
        send(&mut c2, &["BLPOP", "other", "q", "0"]);
        sleep(SETTLE);
        vec![
            c3.cmd(&["RPUSH", "q", "a", "b", "c"]),
            c1.read_reply(),
            c2.read_reply(),
            c3.cmd(&["LRANGE", "q", "0", "-1"]),
        ]
    });
    assert_bytes(&replies[1], b"*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_bytes(&replies[2], b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
}

#[test]
fn a_push_in_a_pipeline_serves_the_blocked_client_before_the_next_command() {
    both(|server| {
        let (mut c1, mut c2) = (server.raw(), server.raw());
        send(&mut c1, &["BRPOP", "q", "0"]);
        sleep(SETTLE);
        let mut pipeline = common::encode_command(&["LPUSH", "q", "x"]);
        pipeline.extend(common::encode_command(&["LLEN", "q"]));
        c2.send(&pipeline);
        vec![c2.read_reply(), c2.read_reply(), c1.read_reply()]
    });
}

#[test]
fn fractional_timeouts_expire_with_the_right_nulls() {
    for server in [RedisServer::start(), Server::start()] {
        let mut c = server.raw();
        for (args, reply) in [
            (&["BLPOP", "q", "0.2"][..], &b"*-1\r\n"[..]),
            (&["BRPOP", "q", "q2", "0.15"], b"*-1\r\n"),
            (&["BLMOVE", "q", "d", "LEFT", "LEFT", "0.1"], b"*-1\r\n"),
            (&["BRPOPLPUSH", "q", "d", "0.1"], b"*-1\r\n"),
            (&["BLMPOP", "0.1", "1", "q", "LEFT"], b"*-1\r\n"),
        ] {
            let start = Instant::now();
            assert_bytes(&c.cmd(args), reply);
            let waited = start.elapsed();
            assert!(
                waited >= Duration::from_millis(90) && waited < Duration::from_secs(3),
                "{args:?} waited {waited:?}"
            );
        }
        assert_bytes(&c.cmd(&["HELLO", "3"])[..1], b"%");
        assert_bytes(&c.cmd(&["BLPOP", "q", "0.05"]), b"_\r\n");
        assert_bytes(&c.cmd(&["EXISTS", "q", "d"]), b":0\r\n");
    }
}

#[test]
fn a_client_that_disconnects_while_blocked_takes_nothing() {
    both(|server| {
        let mut gone = server.raw();
        send(&mut gone, &["BLPOP", "q", "0"]);
        sleep(SETTLE);
        drop(gone);
        sleep(SETTLE);
        let (mut waiter, mut pusher) = (server.raw(), server.raw());
        send(&mut waiter, &["BLPOP", "q", "0"]);
        sleep(SETTLE);
        let mut replies = vec![pusher.cmd(&["RPUSH", "q", "x", "y"]), waiter.read_reply()];
        replies.push(pusher.cmd(&["LRANGE", "q", "0", "-1"]));
        // A blocked client that went away is not served either.
        let mut gone = server.raw();
        send(&mut gone, &["BLPOP", "empty", "0"]);
        sleep(SETTLE);
        drop(gone);
        sleep(SETTLE);
        replies.push(pusher.cmd(&["RPUSH", "empty", "z"]));
        replies.push(pusher.cmd(&["LLEN", "empty"]));
        replies
    });
}

#[test]
fn blmove_chains_hand_the_element_along() {
    let replies = both(|server| {
        let (mut c1, mut c2, mut c3, mut c4) =
            (server.raw(), server.raw(), server.raw(), server.raw());
        send(&mut c1, &["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"]);
        sleep(SETTLE);
        send(&mut c2, &["BRPOPLPUSH", "b", "c", "0"]);
        sleep(SETTLE);
        send(&mut c3, &["BLPOP", "c", "0"]);
        sleep(SETTLE);
        vec![
            c4.cmd(&["RPUSH", "a", "x"]),
            c1.read_reply(),
            c2.read_reply(),
            c3.read_reply(),
            c4.cmd(&["EXISTS", "a", "b", "c"]),
        ]
    });
    assert_bytes(&replies[3], b"*2\r\n$1\r\nc\r\n$1\r\nx\r\n");
}

#[test]
fn blmpop_and_multi_key_waits_are_served() {
    both(|server| {
        let (mut c1, mut c2, mut c3) = (server.raw(), server.raw(), server.raw());
        send(
            &mut c1,
            &["BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "5"],
        );
        sleep(SETTLE);
        send(&mut c2, &["BRPOP", "b", "a", "0"]);
        sleep(SETTLE);
        vec![
            c3.cmd(&["RPUSH", "b", "1", "2", "3"]),
            c1.read_reply(),
            c3.cmd(&["RPUSH", "a", "4", "5"]),
            c2.read_reply(),
            c3.cmd(&["LRANGE", "a", "0", "-1"]),
        ]
    });
}

#[test]
fn a_blocked_move_to_a_wrong_type_destination_gets_wrongtype() {
    both(|server| {
        let (mut c1, mut c2) = (server.raw(), server.raw());
        c2.cmd(&["SET", "dst", "string"]);
        send(&mut c1, &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
        sleep(SETTLE);
        vec![
            c2.cmd(&["RPUSH", "src", "x"]),
            c1.read_reply(),
            c2.cmd(&["LRANGE", "src", "0", "-1"]),
        ]
    });
}

#[test]
fn a_client_blocked_in_another_database_is_not_served() {
    both(|server| {
        let (mut c1, mut c2) = (server.raw(), server.raw());
        c1.cmd(&["SELECT", "1"]);
        send(&mut c1, &["BLPOP", "q", "0.5"]);
        sleep(SETTLE);
        vec![
            c2.cmd(&["RPUSH", "q", "db0"]),
            c1.read_reply(),
            c2.cmd(&["LLEN", "q"]),
        ]
    });
}
