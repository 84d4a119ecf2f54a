//! MIGRATE against a real redis-server 7.0: the same scenarios run with Redis on both sides
//! and with Reddish as the source, the target, or both, and their replies compared byte for
//! byte; then what only a listener of our own can provoke (a target that never answers, one
//! that is not there), the connection cache and the key finder.
//!
//! To check the tests themselves, run them with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test migrate`.

mod common;

use common::{RawConn, RedisServer, Server};
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

/// Every reply of one MIGRATE scenario, from `source` to `target`, in order.
fn scenario(source: &Server, target: &Server) -> Vec<String> {
    let mut src = source.raw();
    let mut dst = target.raw();
    let host = "127.0.0.1".to_string();
    let port = target.port().to_string();
    let mut replies = Vec::new();
    let mut record = |reply: Vec<u8>| replies.push(text(&reply));
    let migrate = |src: &mut RawConn, rest: &[&str]| {
        let mut args = vec!["MIGRATE", host.as_str(), port.as_str()];
        args.extend_from_slice(rest);
        src.cmd(&args)
    };

    // Every type, one with an expiry, moved to database 9.
    src.cmd(&["SET", "string", "hello"]);
    src.cmd(&["SET", "counter", "12345"]);
    src.cmd(&["PEXPIRE", "counter", "100000"]);
    src.cmd(&["RPUSH", "list", "a", "b", "c", "1", "2"]);
    src.cmd(&["SADD", "set", "x", "y", "z"]);
    src.cmd(&["SADD", "intset", "1", "2", "3"]);
    src.cmd(&["HSET", "hash", "f1", "v1", "f2", "v2"]);
    src.cmd(&["ZADD", "zset", "1", "one", "2.5", "two"]);
    src.cmd(&["XADD", "stream", "1-1", "field", "value"]);
    let big = "v".repeat(200_000);
    src.cmd(&["SET", "big", big.as_str()]);
    record(migrate(&mut src, &["string", "9", "5000"]));
    record(migrate(
        &mut src,
        &[
            "", "9", "5000", "KEYS", "counter", "list", "set", "intset", "hash", "zset", "stream",
            "big", "missing",
        ],
    ));
    for key in [
        "string", "counter", "list", "set", "intset", "hash", "zset", "stream", "big",
    ] {
        record(src.cmd(&["EXISTS", key]));
    }
    dst.cmd(&["SELECT", "9"]);
    record(dst.cmd(&["GET", "string"]));
    record(dst.cmd(&["GET", "counter"]));
    let pttl = text(&dst.cmd(&["PTTL", "counter"]));
    let pttl: i64 = pttl.trim_start_matches(':').trim().parse().unwrap_or(-9);
    assert!(
        (90_000..=100_000).contains(&pttl),
        "the expiry travels with the key: {pttl}"
    );
    record(dst.cmd(&["LRANGE", "list", "0", "-1"]));
    record(dst.cmd(&["SMEMBERS", "intset"]));
    record(dst.cmd(&["SCARD", "set"]));
    record(dst.cmd(&["HGETALL", "hash"]));
    record(dst.cmd(&["ZRANGE", "zset", "0", "-1", "WITHSCORES"]));
    record(dst.cmd(&["XRANGE", "stream", "-", "+"]));
    record(dst.cmd(&["STRLEN", "big"]));

    // Nothing to move.
    record(migrate(&mut src, &["missing", "9", "5000"]));
    record(migrate(&mut src, &["", "9", "5000", "KEYS", "m1", "m2"]));

    // COPY leaves the key; a second copy meets the existing key; REPLACE overwrites it.
    src.cmd(&["SET", "kept", "v1"]);
    record(migrate(&mut src, &["kept", "9", "5000", "COPY"]));
    record(src.cmd(&["GET", "kept"]));
    src.cmd(&["SET", "kept", "v2"]);
    record(migrate(&mut src, &["kept", "9", "5000", "COPY"]));
    record(src.cmd(&["GET", "kept"]));
    record(dst.cmd(&["GET", "kept"]));
    record(migrate(&mut src, &["kept", "9", "5000", "COPY", "REPLACE"]));
    record(dst.cmd(&["GET", "kept"]));
    record(migrate(&mut src, &["kept", "9", "5000", "REPLACE"]));
    record(src.cmd(&["EXISTS", "kept"]));

    // Among several keys, those the target refuses stay; the others move.
    src.cmd(&["SET", "k1", "a"]);
    src.cmd(&["SET", "k2", "b"]);
    dst.cmd(&["SET", "k2", "already"]);
    record(migrate(&mut src, &["", "9", "5000", "KEYS", "k1", "k2"]));
    record(src.cmd(&["EXISTS", "k1", "k2"]));
    record(dst.cmd(&["MGET", "k1", "k2"]));

    // Another database on the same cached connection.
    src.cmd(&["SET", "elsewhere", "v"]);
    record(migrate(&mut src, &["elsewhere", "3", "5000"]));
    dst.cmd(&["SELECT", "3"]);
    record(dst.cmd(&["GET", "elsewhere"]));

    // Authentication on the target: right and wrong passwords, AUTH2 with a user.
    dst.cmd(&["ACL", "SETUSER", "mover", "on", ">secret", "~*", "+@all"]);
    dst.cmd(&["CONFIG", "SET", "requirepass", "foobar"]);
    src.cmd(&["SET", "authed", "v"]);
    record(migrate(
        &mut src,
        &["authed", "9", "5000", "AUTH", "foobar"],
    ));
    src.cmd(&["SET", "authed", "v"]);
    record(migrate(&mut src, &["authed", "9", "5000", "AUTH", "wrong"]));
    record(src.cmd(&["EXISTS", "authed"]));
    record(migrate(
        &mut src,
        &["authed", "9", "5000", "REPLACE", "AUTH2", "mover", "secret"],
    ));
    record(src.cmd(&["EXISTS", "authed"]));
    dst.cmd(&["AUTH", "foobar"]);
    dst.cmd(&["CONFIG", "SET", "requirepass", ""]);

    // Argument errors, found before any connection.
    for args in [
        vec!["k", "9", "5000", "KEYS", "a"],
        vec!["k", "9", "5000", "BOGUS"],
        vec!["k", "9", "5000", "AUTH"],
        vec!["k", "9", "5000", "AUTH2", "user"],
        vec!["k", "nine", "5000"],
        vec!["k", "9", "soon"],
        vec!["k", "nine", "soon", "COPY"],
    ] {
        record(migrate(&mut src, &args));
    }
    record(src.cmd(&["MIGRATE", "127.0.0.1", "1", "k", "9"]));
    replies
}

#[track_caller]
fn assert_same(expected: &[String], actual: &[String], what: &str) {
    assert_eq!(expected.len(), actual.len(), "{what}: number of replies");
    for (at, (want, got)) in expected.iter().zip(actual).enumerate() {
        assert_eq!(want, got, "{what}: reply {at}");
    }
}

#[test]
fn migrate_between_reddish_and_redis_as_redis_does() {
    let reference = scenario(&RedisServer::start(), &RedisServer::start());
    // The transcript Redis itself gives, where it says the most.
    assert_eq!(reference[0], "+OK\r\n");
    assert_eq!(reference[1], "+OK\r\n");
    let after_exists = 2 + 9;
    assert_eq!(reference[after_exists], "$5\r\nhello\r\n");
    assert!(reference.contains(&"+NOKEY\r\n".to_string()));
    assert!(reference.contains(
        &"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
            .to_string()
    ));
    assert!(reference.contains(
        &"-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.\r\n"
            .to_string()
    ));
    assert!(reference.contains(
        &"-ERR When using MIGRATE KEYS option, the key argument must be set to the empty string\r\n"
            .to_string()
    ));
    assert_eq!(
        reference.last().map(String::as_str),
        Some("-ERR wrong number of arguments for 'migrate' command\r\n")
    );

    let both = scenario(&Server::start(), &Server::start());
    assert_same(&reference, &both, "Reddish to Reddish");
    let to_redis = scenario(&Server::start(), &RedisServer::start());
    assert_same(&reference, &to_redis, "Reddish to redis-server");
    let from_redis = scenario(&RedisServer::start(), &Server::start());
    assert_same(&reference, &from_redis, "redis-server to Reddish");
}

/// A port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}

#[test]
fn migrate_to_nowhere_and_to_a_silent_target_reports_ioerr_within_the_timeout() {
    let server = Server::start();
    let mut conn = server.raw();
    conn.cmd(&["SET", "key", "value"]);
    // Redis's blocking connect reports a refused connection as made, so the refusal shows
    // when it writes; only a host that names no address fails "connecting".
    let port = closed_port().to_string();
    assert_eq!(
        text(&conn.cmd(&["MIGRATE", "127.0.0.1", &port, "key", "0", "500"])),
        "-IOERR error or timeout writing to target instance\r\n"
    );
    // The largest timeout there is, which no clock can add.
    assert_eq!(
        text(&conn.cmd(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "key",
            "0",
            "9223372036854775807"
        ])),
        "-IOERR error or timeout writing to target instance\r\n"
    );
    assert_eq!(
        text(&conn.cmd(&["MIGRATE", "no.such.host.invalid", "1", "key", "0", "500"])),
        "-IOERR error or timeout connecting to the client\r\n"
    );

    // A listener that accepts (the kernel does it) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("address").port().to_string();
    let started = Instant::now();
    let reply = conn.cmd(&["MIGRATE", "127.0.0.1", &silent_port, "key", "0", "500"]);
    let took = started.elapsed();
    assert_eq!(
        text(&reply),
        "-IOERR error or timeout reading to target instance\r\n"
    );
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(2500),
        "MIGRATE waited {took:?} for a 500 ms timeout"
    );
    // The key stays, the failed connection is not kept, the server serves on.
    assert_eq!(text(&conn.cmd(&["GET", "key"])), "$5\r\nvalue\r\n");
    let info = text(&conn.cmd(&["INFO", "stats"]));
    assert!(info.contains("migrate_cached_sockets:0\r\n"), "{info}");
    drop(silent);
}

#[test]
fn migrate_keeps_its_connection_and_closes_it_when_idle() {
    let source = Server::start();
    let target = Server::start();
    let mut conn = source.raw();
    let port = target.port().to_string();
    let info = text(&conn.cmd(&["INFO", "stats"]));
    assert!(info.contains("migrate_cached_sockets:0\r\n"), "{info}");
    conn.cmd(&["SET", "key", "value"]);
    assert_eq!(
        text(&conn.cmd(&["MIGRATE", "127.0.0.1", &port, "key", "0", "1000"])),
        "+OK\r\n"
    );
    let info = text(&conn.cmd(&["INFO", "stats"]));
    assert!(info.contains("migrate_cached_sockets:1\r\n"), "{info}");
    // The target counts one client for us besides its own test connection.
    let mut target_conn = target.raw();
    let clients = text(&target_conn.cmd(&["CLIENT", "LIST"]));
    assert_eq!(clients.matches("cmd=restore").count(), 1, "{clients}");
    // Closed after 10 s unused, as Redis does.
    std::thread::sleep(Duration::from_millis(11_500));
    let info = text(&conn.cmd(&["INFO", "stats"]));
    assert!(info.contains("migrate_cached_sockets:0\r\n"), "{info}");
    // And reopened when needed, after a restart of the target too.
    conn.cmd(&["SET", "key", "again"]);
    assert_eq!(
        text(&conn.cmd(&["MIGRATE", "127.0.0.1", &port, "key", "0", "1000", "REPLACE"])),
        "+OK\r\n"
    );
    assert_eq!(text(&target_conn.cmd(&["GET", "key"])), "$5\r\nagain\r\n");
}

#[test]
fn migrate_retries_once_on_a_cached_connection_the_target_closed() {
    let source = Server::start();
    let target = Server::start();
    let mut conn = source.raw();
    let mut target_conn = target.raw();
    let port = target.port().to_string();
    conn.cmd(&["SET", "a", "1"]);
    assert_eq!(
        text(&conn.cmd(&["MIGRATE", "127.0.0.1", &port, "a", "0", "1000"])),
        "+OK\r\n"
    );
    // The target drops our cached connection: the next MIGRATE reconnects by itself.
    target_conn.cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
    conn.cmd(&["SET", "b", "2"]);
    assert_eq!(
        text(&conn.cmd(&["MIGRATE", "127.0.0.1", &port, "b", "0", "1000"])),
        "+OK\r\n"
    );
    assert_eq!(
        text(&target_conn.cmd(&["MGET", "a", "b"])),
        "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
}

#[test]
fn migrate_keys_and_flags_match_redis() {
    let redis = RedisServer::start();
    let reddish = Server::start();
    let mut redis = redis.raw();
    let mut reddish = reddish.raw();
    for args in [
        vec![
            "COMMAND",
            "GETKEYSANDFLAGS",
            "MIGRATE",
            "h",
            "p",
            "key",
            "0",
            "500",
        ],
        vec![
            "COMMAND",
            "GETKEYSANDFLAGS",
            "MIGRATE",
            "h",
            "p",
            "",
            "0",
            "500",
            "KEYS",
            "a",
            "b",
        ],
        vec![
            "COMMAND",
            "GETKEYSANDFLAGS",
            "MIGRATE",
            "h",
            "p",
            "",
            "0",
            "500",
            "AUTH",
            "KEYS",
            "KEYS",
            "rw",
        ],
        vec![
            "COMMAND",
            "GETKEYSANDFLAGS",
            "MIGRATE",
            "h",
            "p",
            "",
            "0",
            "500",
            "AUTH2",
            "KEYS",
            "x",
            "KEYS",
            "rw",
        ],
        vec![
            "COMMAND", "GETKEYS", "MIGRATE", "h", "p", "k", "0", "500", "KEYS", "a",
        ],
    ] {
        assert_eq!(
            text(&reddish.cmd(&args)),
            text(&redis.cmd(&args)),
            "{args:?}"
        );
    }
}

#[test]
fn migrate_hides_passwords_from_the_slowlog() {
    let server = Server::start();
    let mut conn = server.raw();
    conn.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    conn.cmd(&["SET", "k", "v"]);
    let port = closed_port().to_string();
    conn.cmd(&[
        "MIGRATE",
        "127.0.0.1",
        &port,
        "k",
        "0",
        "100",
        "AUTH2",
        "user",
        "hidden",
    ]);
    let log = text(&conn.cmd(&["SLOWLOG", "GET", "1"]));
    assert!(!log.contains("hidden"), "{log}");
    assert!(!log.contains("user"), "{log}");
    assert!(log.contains("(redacted)"), "{log}");
}
