//! Key introspection (OBJECT IDLETIME/FREQ/REFCOUNT, TOUCH), the WATCH and keyspace cases of
//! Redis's own suite it shares code with, compared with a real redis-server.

mod common;
use common::{assert_bytes, differential, Server};
use std::thread::sleep;
use std::time::Duration;

#[test]
fn object_subcommands_reply_as_redis() {
    differential(
        "SET s bar
         OBJECT IDLETIME s
         OBJECT IDLETIME missing
         OBJECT FREQ s
         OBJECT FREQ missing
         OBJECT IDLETIME
         OBJECT FOO s
         OBJECT HELP
         CONFIG SET maxmemory-policy allkeys-lfu
         SET hot v
         OBJECT FREQ hot
         GET hot
         OBJECT FREQ hot
         OBJECT IDLETIME hot
         OBJECT IDLETIME missing
         CONFIG SET maxmemory-policy noeviction
         COMMAND GETKEYS object freq k
         COMMAND GETKEYS object idletime k",
    );
}

/// Under LFU a key starts at Redis's `LFU_INIT_VAL` (5) however it was created, and one
/// access takes it to 6 for certain (the first increment's chance is 1): the commands that
/// look a key up for writing count one access, EXPIRE and PERSIST included, whatever their
/// condition decides; TTL, EXPIRETIME, TYPE and OBJECT count none.
#[test]
fn lfu_counts_creation_and_write_lookups_as_redis() {
    differential(
        "CONFIG SET maxmemory-policy allkeys-lfu
         HSET h f v
         OBJECT FREQ h
         SADD s m
         OBJECT FREQ s
         RPUSH l a
         OBJECT FREQ l
         LPUSH l2 a
         OBJECT FREQ l2
         ZADD z 1 m
         OBJECT FREQ z
         XADD x 1-1 f v
         OBJECT FREQ x
         SET k v
         OBJECT FREQ k
         TTL k
         PTTL k
         EXPIRETIME k
         TYPE k
         OBJECT FREQ k
         EXPIRE k 100
         OBJECT FREQ k
         SET k2 v
         EXPIRE k2 100 XX
         OBJECT FREQ k2
         SET k3 v
         PEXPIREAT k3 99999999999999 GT
         OBJECT FREQ k3
         SET k4 v
         PERSIST k4
         OBJECT FREQ k4
         SET k5 v EX 100
         PERSIST k5
         OBJECT FREQ k5
         HSET h2 a b
         HSET h2 c d
         OBJECT FREQ h2",
    );
}

#[test]
fn small_integers_report_the_shared_refcount_as_redis() {
    differential(
        "SET a 1
         OBJECT REFCOUNT a
         SET a 9999
         OBJECT REFCOUNT a
         INCR a
         OBJECT REFCOUNT a
         SET a -1
         INCR a
         OBJECT REFCOUNT a
         SET a 01
         OBJECT REFCOUNT a
         APPEND a 2
         OBJECT REFCOUNT a
         RPUSH l 1
         OBJECT REFCOUNT l
         OBJECT REFCOUNT missing
         CONFIG SET maxmemory 1073741824
         CONFIG SET maxmemory-policy allkeys-random
         SET b 1
         OBJECT REFCOUNT b
         CONFIG SET maxmemory-policy allkeys-lru
         SET c 1
         OBJECT REFCOUNT c
         CONFIG SET maxmemory 0",
    );
}

#[test]
fn reads_writes_and_touch_reset_idle_time_but_type_ttl_exists_do_not() {
    let server = Server::start();
    let mut conn = server.raw();
    for key in ["read", "write", "touched", "looked"] {
        // Not an integer: Redis would share the value between keys, access time included.
        assert_bytes(&conn.cmd(&["SET", key, "x"]), b"+OK\r\n");
    }
    sleep(Duration::from_millis(2100));
    conn.cmd(&["GET", "read"]);
    conn.cmd(&["APPEND", "write", "y"]);
    assert_bytes(&conn.cmd(&["TOUCH", "touched", "missing"]), b":1\r\n");
    conn.cmd(&["TYPE", "looked"]);
    conn.cmd(&["TTL", "looked"]);
    conn.cmd(&["EXISTS", "looked"]);
    conn.cmd(&["OBJECT", "ENCODING", "looked"]);
    for key in ["read", "write", "touched"] {
        assert_bytes(&conn.cmd(&["OBJECT", "IDLETIME", key]), b":0\r\n");
    }
    let idle = conn.cmd(&["OBJECT", "IDLETIME", "looked"]);
    assert!(idle == b":2\r\n" || idle == b":3\r\n", "{idle:?}");
}

#[test]
fn lfu_counter_grows_with_accesses() {
    let server = Server::start_with(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut conn = server.raw();
    conn.cmd(&["SET", "hot", "1"]);
    conn.cmd(&["SET", "cold", "1"]);
    assert_bytes(&conn.cmd(&["OBJECT", "FREQ", "cold"]), b":5\r\n");
    for _ in 0..200 {
        conn.cmd(&["GET", "hot"]);
    }
    let reply = String::from_utf8(conn.cmd(&["OBJECT", "FREQ", "hot"])).unwrap();
    let freq: u32 = reply.trim_start_matches(':').trim().parse().unwrap();
    // Redis's counter with lfu-log-factor 10 reaches about 10-11 after 100-200 hits.
    assert!((8..=16).contains(&freq), "{freq}");
}

#[test]
fn smove_to_a_set_that_has_the_member_does_not_break_watch() {
    differential(
        "SADD src a b
         SADD dst a
         WATCH dst
         MULTI
         SADD dst c
         @conn 1
         SMOVE src dst a
         @conn 0
         EXEC
         SCARD dst
         SMEMBERS src
         WATCH dst
         MULTI
         SADD dst d
         @conn 1
         SMOVE src dst b
         @conn 0
         EXEC",
    );
}

#[test]
fn keys_with_too_deeply_nested_stars_matches_nothing() {
    let long_key = "a".repeat(50_000);
    let pattern = "*?".repeat(50_000);
    differential(&format!(
        "SET {long_key} 1
         KEYS {pattern}
         KEYS *a
         SET {k1000} 1
         @sorted KEYS {p1000}
         @sorted KEYS {p1001}",
        k1000 = "b".repeat(1001),
        p1000 = "*b".repeat(1000),
        p1001 = "*b".repeat(1001),
    ));
}

#[test]
fn move_updates_both_databases_counts() {
    differential(
        "SELECT 9
         SET mykey foobar
         SET other 1
         MOVE mykey 10
         EXISTS mykey
         DBSIZE
         SELECT 10
         GET mykey
         DBSIZE
         INFO keyspace",
    );
}

#[test]
fn over_maxmemory_transactions_are_refused_as_in_redis() {
    differential(
        "MULTI
         SET foo1 bar1
         @conn 1
         CONFIG SET maxmemory 1
         @conn 0
         LPUSH mylist myvalue
         @conn 1
         CONFIG SET maxmemory 0
         @conn 0
         SET foo2 bar2
         EXEC
         EXISTS foo1 foo2
         @conn 1
         CONFIG SET maxmemory 1
         @conn 0
         GET foo1
         SET x 1
         MULTI
         SET x 1
         DISCARD
         PING
         @conn 1
         CONFIG SET maxmemory 0
         @conn 0
         SET x value
         MULTI
         GET x
         PING
         @conn 1
         CONFIG SET maxmemory 1
         @conn 0
         EXEC
         @conn 1
         CONFIG SET maxmemory 0
         @conn 0
         MULTI
         SET x 1
         GET x
         @conn 1
         CONFIG SET maxmemory 1
         @conn 0
         EXEC
         @conn 1
         CONFIG SET maxmemory 0
         @conn 0
         INFO errorstats",
    );
}
