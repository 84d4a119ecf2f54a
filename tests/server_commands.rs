//! Server commands against a real redis-server 7.0: AUTH and `requirepass`, SWAPDB, WAIT,
//! ROLE, LATENCY, SLOWLOG, MEMORY, INFO commandstats/errorstats; and password-protected
//! servers used through redis-cli and the `redis` crate.

mod common;

use common::reply::{call, items, parse, Reply};
use common::{
    assert_bytes, differential, encode_command, find_in_path, Compare, Differential, RawConn,
    RedisServer, Server, REPLY_TIMEOUT,
};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn auth_and_noauth_match_redis() {
    let mut diff = Differential::new();
    diff.run(
        r#"
        AUTH foo
        AUTH default foo
        AUTH bar foo
        AUTH a b c
        AUTH
        CONFIG GET requirepass
        @any CONFIG SET requirepass secret
        CONFIG GET requirepass
        PING
        @conn 1
        PING
        GET x
        SET x 1
        NOSUCH a
        GET
        MULTI
        SUBSCRIBE ch
        CONFIG GET requirepass
        HELLO
        HELLO 3
        HELLO 3 AUTH default wrong
        HELLO 4 AUTH default secret
        HELLO 3 SETNAME "a b" AUTH default secret
        PING
        @type HELLO 2 AUTH default secret SETNAME me
        PING
        CLIENT GETNAME
        @conn 2
        AUTH wrong
        AUTH default wrong
        PING
        AUTH secret
        PING
        RESET
        PING
        AUTH nobody secret
        PING
        AUTH default secret
        AUTH nobody secret
        PING
        @conn 3
        QUIT
        @conn 4
        ECHO x
        @conn 0
        @any CONFIG SET requirepass ""
        @conn 4
        ECHO x
        HELLO 3
        @type HELLO 3 AUTH default anything
        PING
        @conn 5
        AUTH x
        @type HELLO 3
        @conn 0
        INFO errorstats
        "#,
    );
}

#[test]
fn requirepass_from_the_command_line_and_config_file() {
    let server = Server::start_with(&["--requirepass", "s3cret"]);
    let mut conn = server.raw();
    assert_bytes(
        &conn.cmd(&["PING"]),
        b"-NOAUTH Authentication required.\r\n",
    );
    assert_bytes(&conn.cmd(&["AUTH", "s3cret"]), b"+OK\r\n");
    assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");
    assert_bytes(
        &conn.cmd(&["CONFIG", "GET", "requirepass"]),
        b"*2\r\n$11\r\nrequirepass\r\n$6\r\ns3cret\r\n",
    );

    let path = std::env::temp_dir().join(common::unique_name("requirepass.conf"));
    std::fs::write(&path, "requirepass \"with space\"\n").unwrap();
    let server = Server::start_with(&[path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    let mut conn = server.raw();
    assert_bytes(
        &conn.cmd(&["GET", "k"]),
        b"-NOAUTH Authentication required.\r\n",
    );
    assert_bytes(&conn.cmd(&["AUTH", "default", "with space"]), b"+OK\r\n");
    assert_bytes(&conn.cmd(&["GET", "k"]), b"$-1\r\n");
}

#[test]
fn redis_cli_with_a_password() {
    let cli = find_in_path("redis-cli").expect("redis-cli is installed (scripts/test.sh)");
    let server = Server::start_with(&["--requirepass", "pw"]);
    let port = server.port().to_string();
    let run = |extra: &[&str]| {
        let output = Command::new(&cli)
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(extra)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    assert_eq!(
        run(&["-a", "pw", "--no-auth-warning", "SET", "k", "v"]),
        "OK"
    );
    assert_eq!(run(&["-a", "pw", "--no-auth-warning", "GET", "k"]), "v");
    assert_eq!(
        run(&[
            "--user",
            "default",
            "--pass",
            "pw",
            "--no-auth-warning",
            "GET",
            "k"
        ]),
        "v"
    );
    assert!(
        run(&["GET", "k"]).contains("NOAUTH Authentication required."),
        "without the password"
    );
    assert!(
        run(&["-a", "bad", "--no-auth-warning", "GET", "k"]).contains("NOAUTH"),
        "a wrong password leaves the connection unauthenticated"
    );
}

#[test]
fn redis_crate_with_a_password_url() {
    let server = Server::start_with(&["--requirepass", "pw"]);
    for url in [
        format!("redis://:pw@127.0.0.1:{}/", server.port()),
        format!("redis://default:pw@127.0.0.1:{}/", server.port()),
        format!("redis://:pw@127.0.0.1:{}/?protocol=resp3", server.port()),
    ] {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_connection_with_timeout(REPLY_TIMEOUT).unwrap();
        let _: () = redis::cmd("SET")
            .arg("k")
            .arg(&url)
            .query(&mut conn)
            .unwrap();
        let got: String = redis::cmd("GET").arg("k").query(&mut conn).unwrap();
        assert_eq!(got, url);
    }
    let wrong = format!("redis://:nope@127.0.0.1:{}/", server.port());
    let client = redis::Client::open(wrong.as_str()).unwrap();
    let err = client
        .get_connection_with_timeout(REPLY_TIMEOUT)
        .err()
        .expect("a wrong password is refused");
    assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err}");
    let unauthenticated = format!("redis://127.0.0.1:{}/", server.port());
    let client = redis::Client::open(unauthenticated.as_str()).unwrap();
    let mut conn = client.get_connection_with_timeout(REPLY_TIMEOUT).unwrap();
    let err = redis::cmd("GET")
        .arg("k")
        .query::<Option<String>>(&mut conn)
        .unwrap_err();
    assert!(err.to_string().contains("Authentication required"), "{err}");
}

#[test]
fn swapdb_matches_redis() {
    differential(
        r#"
        SWAPDB 0
        SWAPDB 0 1 2
        SWAPDB a 1
        SWAPDB 0 b
        SWAPDB 0 16
        SWAPDB -1 0
        SWAPDB 0 2147483648
        SWAPDB 0 0
        SET a 1
        EXPIRE a 1000
        RPUSH l x y
        SELECT 1
        SET b 2
        SWAPDB 0 1
        GET a
        TTL a
        LRANGE l 0 -1
        EXISTS b
        SELECT 0
        GET b
        EXISTS a
        DBSIZE
        SWAPDB 1 0
        GET a
        MULTI
        SWAPDB 0 1
        GET a
        EXEC
        GET b
        # WATCH: a watched key present on either side breaks the transaction
        @conn 1
        WATCH b
        @conn 0
        SWAPDB 0 1
        @conn 1
        MULTI
        PING
        EXEC
        WATCH nothing
        @conn 0
        SWAPDB 0 1
        @conn 1
        MULTI
        PING
        EXEC
        "#,
    );
}

/// A client blocked on a key in database 0 is served when SWAPDB brings a list there.
#[test]
fn swapdb_serves_blocked_clients_like_redis() {
    let run = |server: &Server| -> Vec<Vec<u8>> {
        let mut blocked = server.raw();
        let mut other = server.raw();
        blocked.send(&encode_command(&["BLPOP", "q", "5"]));
        // BLPOP must be parked before the swap: a reply to a later command on the same
        // connection would come after it, so wait on another connection instead.
        std::thread::sleep(Duration::from_millis(200));
        let mut replies = vec![
            other.cmd(&["SELECT", "1"]),
            other.cmd(&["RPUSH", "q", "x", "y"]),
            other.cmd(&["SWAPDB", "0", "1"]),
        ];
        replies.push(blocked.read_reply());
        replies.push(other.cmd(&["LRANGE", "q", "0", "-1"]));
        replies.push(other.cmd(&["SELECT", "0"]));
        replies.push(other.cmd(&["LRANGE", "q", "0", "-1"]));
        replies
    };
    let redis = RedisServer::start();
    let reddish = Server::start();
    let expected = run(&redis);
    assert_eq!(expected[3], b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(run(&reddish), expected);
}

#[test]
fn wait_role_latency_memory_match_redis() {
    differential(
        r#"
        WAIT
        WAIT 0 0
        WAIT 1 50
        WAIT x 0
        WAIT 0 x
        WAIT x x
        WAIT 0 -1
        WAIT -1 0
        WAIT 1.5 0
        WAIT 0 9223372036854775807
        MULTI
        WAIT 1 0
        EXEC
        ROLE
        ROLE x
        LATENCY
        LATENCY LATEST
        LATENCY LATEST x
        LATENCY HISTORY command
        LATENCY HISTORY
        LATENCY RESET
        LATENCY RESET command fast-command
        LATENCY GRAPH command
        LATENCY DOCTOR
        LATENCY HELP
        LATENCY foo
        MEMORY USAGE nosuch
        MEMORY USAGE nosuch SAMPLES 0
        SET k v
        MEMORY USAGE k SAMPLES x
        MEMORY USAGE k SAMPLES -1
        MEMORY USAGE k FOO 1
        MEMORY USAGE k SAMPLES
        MEMORY USAGE
        @type MEMORY USAGE k
        MEMORY HELP
        MEMORY PURGE
        MEMORY foo
        MEMORY DOCTOR
        "#,
    );
}

#[test]
fn slowlog_matches_redis_in_shape() {
    let normalize = |reply: &[u8]| -> Reply {
        // Timestamps, durations and client ports differ between two servers.
        let (parsed, _) = parse(reply);
        let (kind, entries) = items(parsed);
        let entries = entries
            .into_iter()
            .map(|entry| {
                let (k, mut fields) = items(entry);
                assert_eq!(fields.len(), 6);
                assert!(
                    matches!(fields[1], Reply::Int(t) if t > 1_600_000_000),
                    "{fields:?}"
                );
                assert!(matches!(fields[2], Reply::Int(d) if d >= 0), "{fields:?}");
                fields[1] = Reply::Int(0);
                fields[2] = Reply::Int(0);
                match &fields[4] {
                    Reply::Bulk(addr) => assert!(addr.starts_with(b"127.0.0.1:")),
                    other => panic!("address {other:?}"),
                }
                fields[4] = Reply::Null;
                Reply::Aggregate(k, fields)
            })
            .collect();
        Reply::Aggregate(kind, entries)
    };
    let script: Vec<Vec<String>> = [
        "CONFIG SET slowlog-log-slower-than 0",
        "SLOWLOG RESET",
        "CLIENT SETNAME myname",
        "AUTH default foo",
        "HELLO 2 AUTH default foo",
        "CONFIG SET requirepass secret maxmemory 0",
        "AUTH secret",
        "CONFIG SET requirepass \"\"",
        "MULTI",
        "GET k",
        "EXEC",
        "SLOWLOG LEN",
    ]
    .iter()
    .map(|line| {
        common::split_args(line)
            .unwrap()
            .into_iter()
            .map(|a| String::from_utf8(a).unwrap())
            .collect()
    })
    .collect();
    let long = "x".repeat(200);
    let many: Vec<String> = std::iter::once("RPUSH".to_string())
        .chain(std::iter::once("l".to_string()))
        .chain((0..40).map(|i| i.to_string()))
        .collect();
    let run = |server: &Server| -> (Vec<Vec<u8>>, Vec<Reply>) {
        let mut conn = server.raw();
        let mut replies = Vec::new();
        for args in &script {
            let reply = conn.cmd(args);
            // HELLO's map carries the connection id, which differs.
            if args[0] != "HELLO" {
                replies.push(reply);
            }
        }
        replies.push(conn.cmd(&["SET", "k", long.as_str()]));
        replies.push(conn.cmd(&many));
        let mut logs = vec![normalize(&conn.cmd(&["SLOWLOG", "GET", "-1"]))];
        replies.push(conn.cmd(&["CONFIG", "SET", "slowlog-max-len", "2"]));
        replies.push(conn.cmd(&["SLOWLOG", "LEN"]));
        logs.push(normalize(&conn.cmd(&["SLOWLOG", "GET"])));
        logs.push(normalize(&conn.cmd(&["SLOWLOG", "GET", "1"])));
        replies.push(conn.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]));
        replies.push(conn.cmd(&["SLOWLOG", "RESET"]));
        replies.push(conn.cmd(&["SLOWLOG", "LEN"]));
        replies.push(conn.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-2"]));
        replies.push(conn.cmd(&["CONFIG", "SET", "slowlog-max-len", "-1"]));
        // One at a time: Redis lists CONFIG GET matches in hash order.
        replies.push(conn.cmd(&["CONFIG", "GET", "slowlog-max-len"]));
        replies.push(conn.cmd(&["CONFIG", "GET", "slowlog-log-slower-than"]));
        (replies, logs)
    };
    let redis = RedisServer::start();
    let reddish = Server::start();
    let (expected_replies, expected_log) = run(&redis);
    let (replies, log) = run(&reddish);
    assert_eq!(log, expected_log);
    for (i, (got, want)) in replies.iter().zip(&expected_replies).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(want),
            "reply {i}"
        );
    }
    assert_eq!(replies.len(), expected_replies.len());
}

#[test]
fn slowlog_commands_match_redis() {
    differential(
        r#"
        SLOWLOG
        SLOWLOG LEN x
        SLOWLOG GET x
        SLOWLOG GET -2
        SLOWLOG GET 1 2
        SLOWLOG HELP
        SLOWLOG foo
        SLOWLOG RESET
        SLOWLOG GET
        SLOWLOG GET 0
        "#,
    );
}

/// `cmdstat_<name>` -> (calls, rejected_calls, failed_calls) from INFO commandstats.
fn command_counts(info: &[u8]) -> BTreeMap<String, (u64, u64, u64)> {
    let (reply, _) = parse(info);
    let text = match reply {
        Reply::Bulk(bytes) => String::from_utf8(bytes).unwrap(),
        other => panic!("INFO gave {other:?}"),
    };
    let mut counts = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("cmdstat_")) {
        let (name, fields) = line.split_once(':').unwrap();
        let field = |key: &str| -> u64 {
            fields
                .split(',')
                .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("{key} in {line}"))
                .parse()
                .unwrap()
        };
        let usec = field("usec");
        let per_call: f64 = fields
            .split(',')
            .find_map(|f| f.strip_prefix("usec_per_call="))
            .unwrap()
            .parse()
            .unwrap();
        let calls = field("calls");
        if calls > 0 {
            assert!(
                (per_call - usec as f64 / calls as f64).abs() < 0.01,
                "{line}"
            );
        }
        counts.insert(
            name.to_string(),
            (calls, field("rejected_calls"), field("failed_calls")),
        );
    }
    counts
}

/// INFO errorstats, and the `total_error_replies:` line of INFO stats.
fn error_replies(conn: &mut RawConn) -> (String, Option<String>) {
    let errors = String::from_utf8_lossy(&conn.cmd(&["INFO", "errorstats"])).into_owned();
    let stats = String::from_utf8_lossy(&conn.cmd(&["INFO", "stats"])).into_owned();
    let total = stats
        .lines()
        .find(|l| l.starts_with("total_error_replies:"))
        .map(str::to_string);
    (errors, total)
}

#[test]
fn commandstats_and_errorstats_count_like_redis() {
    let script = [
        vec!["CONFIG", "RESETSTAT"],
        vec!["GET", "a"],
        vec!["SET", "a", "1"],
        vec!["LPUSH", "a", "x"],
        vec!["NOSUCH"],
        vec!["GET"],
        vec!["CONFIG", "NOSUCH"],
        vec!["MULTI"],
        vec!["GET", "a"],
        vec!["EXEC"],
        vec!["MULTI"],
        vec!["GET"],
        vec!["EXEC"],
        vec!["SLOWLOG", "GET", "x"],
        vec!["CONFIG", "GET", "x"],
        vec!["SORT", "a"],
        vec!["INCR", "a"],
    ];
    let run = |server: &Server| {
        let mut conn = server.raw();
        for args in &script {
            conn.cmd(args);
        }
        let commands = command_counts(&conn.cmd(&["INFO", "commandstats"]));
        let (errors, total_errors) = error_replies(&mut conn);
        let all = conn.cmd(&["INFO", "all"]);
        let all = String::from_utf8_lossy(&all).into_owned();
        assert!(
            all.contains("# Commandstats\r\ncmdstat_")
                && all.contains("# Errorstats\r\nerrorstat_"),
            "{all}"
        );
        conn.cmd(&["CONFIG", "RESETSTAT"]);
        let after = command_counts(&conn.cmd(&["INFO", "commandstats"]));
        (commands, errors, total_errors, after)
    };
    let redis = RedisServer::start();
    let reddish = Server::start();
    let expected = run(&redis);
    let got = run(&reddish);
    assert_eq!(got.0, expected.0, "commandstats");
    assert_eq!(got.1, expected.1, "errorstats");
    assert_eq!(got.2, expected.2, "total_error_replies");
    assert_eq!(got.3, expected.3, "after CONFIG RESETSTAT");
}

#[test]
fn memory_usage_grows_with_the_value() {
    let server = Server::start();
    let mut conn = server.raw();
    let usage = |conn: &mut common::RawConn, key: &str, samples: &str| -> i64 {
        match call(conn, &["MEMORY", "USAGE", key, "SAMPLES", samples]) {
            Reply::Int(n) => n,
            other => panic!("MEMORY USAGE gave {other:?}"),
        }
    };
    conn.cmd(&["SET", "s", "x"]);
    let small = usage(&mut conn, "s", "5");
    conn.cmd(&["SET", "s", &"x".repeat(10_000)]);
    let big = usage(&mut conn, "s", "5");
    assert!(big >= small + 10_000, "{small} -> {big}");
    let mut last = 0;
    for round in 1..=5 {
        for i in 0..200 {
            let member = format!("member-{round}-{i}");
            conn.cmd(&["SADD", "set", &member]);
            conn.cmd(&["HSET", "hash", &member, "some value"]);
            conn.cmd(&["RPUSH", "list", &member]);
            conn.cmd(&["ZADD", "zset", &i.to_string(), &member]);
        }
        let total: i64 = ["set", "hash", "list", "zset"]
            .iter()
            .map(|k| usage(&mut conn, k, "0"))
            .sum();
        assert!(total > last, "round {round}: {last} -> {total}");
        last = total;
    }
    // 1000 members of ~13 bytes each cannot take less than their bytes.
    assert!(usage(&mut conn, "set", "0") > 13_000);
    let sampled = usage(&mut conn, "hash", "5");
    let exact = usage(&mut conn, "hash", "0");
    assert!(
        sampled.abs_diff(exact) * 5 < exact as u64,
        "{sampled} vs {exact}"
    );
    let stats = String::from_utf8_lossy(&conn.cmd(&["MEMORY", "STATS"])).into_owned();
    assert!(stats.contains("keys.count\r\n:5\r\n"), "{stats}");
}

/// A value taken whole from a big argument (32 KB or more, read into a buffer of its own)
/// holds its own size, not that of the larger one the connection read before (Redis's
/// "trim on SET with big value", which its suite runs only under jemalloc).
#[test]
fn a_value_from_a_big_argument_holds_its_own_size() {
    let server = Server::start();
    let mut conn = server.raw();
    assert_eq!(conn.cmd(&["SET", "key", &"A".repeat(100_000)]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["SET", "key", &"A".repeat(33_000)]), b"+OK\r\n");
    match call(&mut conn, &["MEMORY", "USAGE", "key"]) {
        Reply::Int(n) => assert!((33_000..42_000).contains(&n), "MEMORY USAGE {n}"),
        other => panic!("MEMORY USAGE gave {other:?}"),
    }
}

/// INFO `used_memory`.
fn used_memory(conn: &mut RawConn) -> u64 {
    let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "memory"])).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("used_memory in {info}"))
}

/// Deleting most keys gives their table's memory back within a few cron ticks, as Redis's
/// cron resizes a dict left under a tenth full (removals alone free no table memory).
#[test]
fn deleting_most_keys_gives_the_table_memory_back() {
    let server = Server::start();
    let mut conn = server.raw();
    let empty = used_memory(&mut conn);
    let keys = 200_000;
    let mut batch = Vec::new();
    for i in 0..keys {
        batch.extend(encode_command(&["SET", &format!("key:{i:010}"), "v"]));
    }
    conn.send(&batch);
    for _ in 0..keys {
        assert_eq!(conn.read_reply(), b"+OK\r\n");
    }
    let full = used_memory(&mut conn);
    let mut batch = Vec::new();
    for i in 0..keys - 1000 {
        batch.extend(encode_command(&["DEL", &format!("key:{i:010}")]));
    }
    conn.send(&batch);
    for _ in 0..keys - 1000 {
        assert_eq!(conn.read_reply(), b":1\r\n");
    }
    // What the 1000 keys left need is a small part of what the 200,000 took.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut used = used_memory(&mut conn);
    while used > empty + (full - empty) / 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        used = used_memory(&mut conn);
    }
    assert!(
        used <= empty + (full - empty) / 10,
        "used_memory {used}: {empty} empty, {full} with {keys} keys"
    );
    assert_eq!(conn.cmd(&["DBSIZE"]), b":1000\r\n");
    assert_eq!(conn.cmd(&["GET", "key:0000199999"]), b"$1\r\nv\r\n");
}

#[test]
fn wait_replies_at_once() {
    let server = Server::start();
    let mut conn = server.raw();
    let started = Instant::now();
    assert_bytes(&conn.cmd(&["WAIT", "1", "0"]), b":0\r\n");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn resp3_replies_match_redis() {
    differential(
        r#"
        @type HELLO 3
        RPUSH l 2 1
        SORT l GET # GET nosuch_*
        SORT l BY nosort LIMIT 0 1
        ROLE
        WAIT 0 0
        LATENCY LATEST
        LATENCY DOCTOR
        MEMORY DOCTOR
        MEMORY USAGE nosuch
        SLOWLOG GET
        SLOWLOG HELP
        AUTH x
        SWAPDB 0 1
        "#,
    );
}

/// A blocked command is counted once, when it is answered: served, timed out or released by
/// CLIENT UNBLOCK (which Redis 7.0 counts as a failed call, and its ERROR form also as an
/// UNBLOCKED error reply).
#[test]
fn blocked_commands_are_counted_when_answered_like_redis() {
    let run = |server: &Server| {
        let mut control = server.raw();
        control.cmd(&["CONFIG", "RESETSTAT"]);
        let mut timed_out = server.raw();
        assert_bytes(&timed_out.cmd(&["BLPOP", "t", "0.05"]), b"*-1\r\n");
        let mut waiters = Vec::new();
        for key in ["a", "b", "served"] {
            let mut conn = server.raw();
            let id = String::from_utf8(conn.cmd(&["CLIENT", "ID"])).unwrap();
            let id = id.trim_start_matches(':').trim_end().to_string();
            conn.send(&encode_command(&["BLPOP", key, "0"]));
            waiters.push((conn, id));
        }
        let deadline = Instant::now() + REPLY_TIMEOUT;
        while !String::from_utf8_lossy(&control.cmd(&["INFO", "clients"]))
            .contains("blocked_clients:3\r\n")
        {
            assert!(Instant::now() < deadline, "the three clients never blocked");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_bytes(
            &control.cmd(&["CLIENT", "UNBLOCK", &waiters[0].1]),
            b":1\r\n",
        );
        assert_bytes(
            &control.cmd(&["CLIENT", "UNBLOCK", &waiters[1].1, "ERROR"]),
            b":1\r\n",
        );
        control.cmd(&["RPUSH", "served", "x"]);
        let replies: Vec<Vec<u8>> = waiters
            .iter_mut()
            .map(|(conn, _)| conn.read_reply())
            .collect();
        let commands = command_counts(&control.cmd(&["INFO", "commandstats"]));
        let (errors, total_errors) = error_replies(&mut control);
        (
            replies,
            commands.get("cmdstat_blpop").copied(),
            errors,
            total_errors,
        )
    };
    let redis = RedisServer::start();
    let reddish = Server::start();
    let expected = run(&redis);
    let got = run(&reddish);
    assert_eq!(
        expected.1,
        Some((4, 0, 2)),
        "redis-server's own counts changed"
    );
    for (got, expected) in got.0.iter().zip(&expected.0) {
        assert_bytes(got, expected);
    }
    assert_eq!(got.1, expected.1, "cmdstat_blpop (calls, rejected, failed)");
    assert_eq!(got.2, expected.2, "errorstats");
    assert_eq!(got.3, expected.3, "total_error_replies");
}

/// The field names of an INFO reply, section headers included, in order.
fn info_fields(info: &str) -> Vec<String> {
    info.lines()
        // The bulk header is neither a field nor a section; databases differ by content.
        .filter(|line| (line.starts_with('#') || line.contains(':')) && !line.starts_with("db"))
        .map(|line| line.split(':').next().unwrap_or_default().to_string())
        .collect()
}

/// INFO carries Redis 7.0's sections, in its order, and every field Redis prints except
/// those this list names with the reason Reddish cannot give them.
#[test]
fn info_has_redis_sections_and_fields() {
    const NOT_PROVIDED: &[&str] = &[
        // C build facts.
        "atomicvar_api",
        "gcc_version",
    ];
    let redis = common::RedisServer::start();
    let server = Server::start();
    let (mut theirs_conn, mut ours_conn) = (redis.raw(), server.raw());
    let text = |conn: &mut common::RawConn, args: &[&str]| {
        String::from_utf8_lossy(&conn.cmd(args)).replace('\r', "")
    };
    for args in [&["INFO"][..], &["INFO", "everything"], &["INFO", "all"]] {
        let theirs = info_fields(&text(&mut theirs_conn, args));
        let ours = info_fields(&text(&mut ours_conn, args));
        let headers = |fields: &[String]| -> Vec<String> {
            fields
                .iter()
                .filter(|f| f.starts_with('#'))
                .cloned()
                .collect()
        };
        assert_eq!(headers(&ours), headers(&theirs), "{args:?}");
        for field in &theirs {
            if !NOT_PROVIDED.contains(&field.as_str()) {
                assert!(ours.contains(field), "{args:?}: {field} missing");
            }
        }
    }
    // The allocator's own figures, as Redis gives them with jemalloc: pages in use hold at
    // least the bytes allocated, resident pages at least those.
    let ours = text(&mut ours_conn, &["INFO", "memory"]);
    let number = |name: &str| -> f64 {
        ours.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {ours}"))
    };
    assert!(number("allocator_allocated:") > 0.0);
    assert!(number("allocator_active:") >= number("allocator_allocated:"));
    assert!(number("allocator_resident:") >= number("allocator_active:"));
    let rss = number("allocator_resident:") / number("allocator_active:");
    assert!(
        (number("allocator_rss_ratio:") - rss).abs() < 0.01,
        "{ours}"
    );
    let frag = number("allocator_active:") / number("allocator_allocated:");
    assert!(
        (number("allocator_frag_ratio:") - frag).abs() < 0.01,
        "{ours}"
    );
    let info = text(&mut ours_conn, &["INFO", "cpu"]);
    let user: f64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_cpu_user:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_cpu_user");
    assert!(user >= 0.0, "{info}");
}

/// The `lazyfreed_objects` figure of INFO memory, once the freeing thread caught up with
/// `expected` (it frees in the background).
fn wait_lazyfreed(conn: &mut common::RawConn, expected: u64) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "memory"])).into_owned();
        let field = |name: &str| -> u64 {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} in {info}"))
        };
        let counts = (
            field("lazyfree_pending_objects:"),
            field("lazyfreed_objects:"),
        );
        if counts.1 >= expected || Instant::now() > deadline {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn unlink_and_async_flushes_free_large_values_off_the_reactor() {
    let server = Server::start();
    let mut conn = server.raw();
    let members: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let mut sadd = vec!["SADD".to_string(), "big".to_string()];
    sadd.extend(members.iter().cloned());
    for key in ["big", "big2", "big3"] {
        sadd[1] = key.to_string();
        assert_eq!(conn.cmd(&sadd), b":1000\r\n");
    }
    assert_eq!(conn.cmd(&["SET", "small", "v"]), b"+OK\r\n");
    // DEL frees where it runs; UNLINK of a small value too.
    assert_eq!(conn.cmd(&["DEL", "big3"]), b":1\r\n");
    assert_eq!(conn.cmd(&["UNLINK", "small", "missing"]), b":1\r\n");
    assert_eq!(wait_lazyfreed(&mut conn, 0), (0, 0));
    // UNLINK of a large value hands it to the freeing thread.
    assert_eq!(conn.cmd(&["UNLINK", "big"]), b":1\r\n");
    assert_eq!(conn.cmd(&["EXISTS", "big"]), b":0\r\n");
    assert_eq!(wait_lazyfreed(&mut conn, 1), (0, 1));
    // FLUSHALL ASYNC counts the keys it hands over; a plain FLUSHDB frees inline.
    assert_eq!(conn.cmd(&["SET", "a", "1"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["FLUSHALL", "ASYNC"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["DBSIZE"]), b":0\r\n");
    assert_eq!(wait_lazyfreed(&mut conn, 3), (0, 3));
    assert_eq!(conn.cmd(&["SET", "b", "1"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["FLUSHDB"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["FLUSHDB", "SYNC"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["FLUSHDB", "LAZY"]), b"-ERR syntax error\r\n");
    assert_eq!(wait_lazyfreed(&mut conn, 3), (0, 3));
}

#[test]
fn rename_command_in_the_config_file_renames_and_disables_as_redis_does() {
    let path = std::env::temp_dir().join(common::unique_name("rename-command.conf"));
    std::fs::write(
        &path,
        "rename-command flushdb badger\nrename-command DEBUG \"\"\n\
         rename-command config a-rather-long-secret-name-of-forty-bytes\n",
    )
    .unwrap();
    let config = path.to_str().unwrap();
    let servers = [
        Server::start_with(&[config]),
        RedisServer::start_with(&[config]),
    ];
    std::fs::remove_file(&path).ok();
    for server in &servers {
        let mut conn = server.raw();
        conn.cmd(&["SET", "k", "v"]);
        assert_bytes(
            &conn.cmd(&["FLUSHDB"]),
            b"-ERR unknown command 'FLUSHDB', with args beginning with: \r\n",
        );
        assert_bytes(
            &conn.cmd(&["DEBUG", "SLEEP", "0"]),
            b"-ERR unknown command 'DEBUG', with args beginning with: 'SLEEP' '0' \r\n",
        );
        assert_bytes(&conn.cmd(&["DBSIZE"]), b":1\r\n");
        assert_bytes(&conn.cmd(&["BADGER"]), b"+OK\r\n");
        assert_bytes(&conn.cmd(&["DBSIZE"]), b":0\r\n");
        assert_bytes(
            &conn.cmd(&["A-RATHER-LONG-SECRET-NAME-OF-FORTY-BYTES", "GET", "port"]),
            format!(
                "*2\r\n$4\r\nport\r\n${}\r\n{}\r\n",
                server.port().to_string().len(),
                server.port()
            )
            .as_bytes(),
        );
    }
    // Renaming a command that does not exist stops the server at start-up, as in Redis.
    let path = std::env::temp_dir().join(common::unique_name("rename-bad.conf"));
    std::fs::write(&path, "rename-command nosuchcommand other\n").unwrap();
    let bin = std::env::var_os("REDDISH_TEST_BIN")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_reddish").into());
    let output = Command::new(bin)
        .arg(&path)
        .args(["--port", "0"])
        .output()
        .expect("reddish runs");
    std::fs::remove_file(&path).ok();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("No such command in rename-command"));
}

#[test]
fn cluster_commands_are_refused_as_by_redis_without_cluster_support() {
    let mut d = Differential::new();
    d.run(
        r#"
        CLUSTER INFO
        CLUSTER KEYSLOT somekey
        CLUSTER HELP
        CLUSTER RESET HARD
        CLUSTER NODES extra
        CLUSTER NOSUCH
        CLUSTER
        READONLY
        READWRITE
        @sorted COMMAND LIST FILTERBY PATTERN cluster*
        COMMAND INFO cluster|reset cluster|keyslot
        EVAL "return redis.call('cluster', 'reset', 'hard')" 0
        EVAL "return redis.pcall('cluster', 'info')" 0
        "#,
    );
}

/// What Reddish cannot do as Redis would (follow another server, rewrite an append-only file,
/// load a Redis module) is refused with an error that says why, and the server stays a
/// writable master with its data.
#[test]
fn replicaof_bgrewriteaof_and_module_load_are_refused_with_the_reason() {
    let server = Server::start_with(&["--enable-module-command", "yes"]);
    let mut conn = server.raw();
    assert_eq!(conn.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    let refusal =
        String::from_utf8_lossy(&conn.cmd(&["REPLICAOF", "127.0.0.1", "6379"])).into_owned();
    assert!(
        refusal.starts_with("-ERR Reddish has no replication: it cannot follow 127.0.0.1:6379"),
        "{refusal}"
    );
    let refusal =
        String::from_utf8_lossy(&conn.cmd(&["SLAVEOF", "localhost", "7000"])).into_owned();
    assert!(
        refusal.contains("cannot follow localhost:7000"),
        "{refusal}"
    );
    let refusal = String::from_utf8_lossy(&conn.cmd(&["BGREWRITEAOF"])).into_owned();
    assert!(
        refusal.starts_with("-ERR Reddish writes no append only file"),
        "{refusal}"
    );
    assert_eq!(
        conn.cmd(&["MODULE", "LOAD", "/no/such/module.so"]),
        b"-ERR Error loading the extension. Please check the server logs.\r\n".to_vec()
    );
    assert_eq!(conn.cmd(&["SET", "k2", "v2"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    match call(&mut conn, &["ROLE"]) {
        Reply::Aggregate(b'*', items) => {
            assert!(matches!(items.first(), Some(Reply::Bulk(role)) if role == b"master"))
        }
        other => panic!("ROLE gave {other:?}"),
    }
    let logs = server.logs();
    assert!(
        logs.contains(
            "Module /no/such/module.so failed to load: Reddish does not load Redis modules"
        ),
        "the log says why the module did not load:\n{logs}"
    );
}

/// What CLIENT INFO's `cmd=` says after a request that was refused before it ran, and what
/// SLOWLOG keeps of a CONFIG SET of a sensitive parameter: as redis-server says them.
#[test]
fn client_cmd_after_refusals_and_redacted_slowlog_match_redis() {
    let redis_server = RedisServer::start();
    let reddish_server = Server::start();
    let mut seen = Vec::new();
    for server in [&redis_server, &reddish_server] {
        let mut conn = server.raw();
        let mut other = server.raw();
        let id = String::from_utf8_lossy(&conn.cmd(&["CLIENT", "ID"])).into_owned();
        let id = format!("id={} ", id.trim_start_matches(':').trim());
        let mut fields = Vec::new();
        for request in [
            &["NOSUCH"][..],
            &["GET"],
            &["CONFIG", "NOSUCH"],
            &["CLIENT"],
            &["PING"],
        ] {
            conn.cmd(request);
            // Seen from another connection: CLIENT INFO would report itself.
            let list = String::from_utf8_lossy(&other.cmd(&["CLIENT", "LIST"])).into_owned();
            let line = list
                .lines()
                .find(|line| line.contains(&id))
                .unwrap_or_default();
            let cmd = line.split(' ').find_map(|field| field.strip_prefix("cmd="));
            fields.push(cmd.unwrap_or_default().to_string());
        }
        conn.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        conn.cmd(&["SLOWLOG", "RESET"]);
        conn.cmd(&[
            "CONFIG",
            "SET",
            "masterauth",
            "secret1",
            "masteruser",
            "secret2",
        ]);
        let slowlog = String::from_utf8_lossy(&conn.cmd(&["SLOWLOG", "GET", "1"])).into_owned();
        assert!(!slowlog.contains("secret"), "{slowlog}");
        fields.push(slowlog.matches("(redacted)").count().to_string());
        seen.push(fields);
    }
    assert_eq!(seen[1], seen[0], "reddish beside redis");
    assert_eq!(seen[0][0], "NULL");
}

/// MEMORY STATS names Redis 7.0's fields in its order (a database's nested map included),
/// and its overhead and dataset agree with INFO's: the data set's share grows with the data.
#[test]
fn memory_stats_fields_match_redis_and_agree_with_info() {
    let redis_server = RedisServer::start();
    let reddish_server = Server::start();
    let names = |conn: &mut RawConn| -> Vec<String> {
        let (_, items) = items(call(conn, &["MEMORY", "STATS"]));
        items
            .iter()
            .step_by(2)
            .map(|name| match name {
                Reply::Bulk(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                other => panic!("a field name: {other:?}"),
            })
            .collect()
    };
    let mut theirs = redis_server.raw();
    let mut ours = reddish_server.raw();
    for conn in [&mut theirs, &mut ours] {
        conn.cmd(&["SET", "k", "v"]);
    }
    assert_eq!(names(&mut ours), names(&mut theirs));
    let info_field = |conn: &mut RawConn, name: &str| -> f64 {
        let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "memory"])).into_owned();
        info.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .and_then(|value| value.trim_end_matches('%').parse().ok())
            .unwrap_or_else(|| panic!("{name} in {info}"))
    };
    let before = info_field(&mut ours, "used_memory_dataset");
    let startup = info_field(&mut ours, "used_memory_startup");
    assert!(startup > 0.0);
    for n in 0..2000 {
        ours.cmd(&["SET", &format!("key:{n}"), &"x".repeat(100)]);
    }
    // One INFO's figures: a client buffer may differ between two.
    let info = String::from_utf8_lossy(&ours.cmd(&["INFO", "memory"])).into_owned();
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .and_then(|value| value.trim_end_matches('%').parse().ok())
            .unwrap_or_else(|| panic!("{name} in {info}"))
    };
    let after = field("used_memory_dataset");
    assert!(after > before + 200_000.0, "{before} -> {after}");
    assert_eq!(field("used_memory"), field("used_memory_overhead") + after);
    assert!(field("used_memory_dataset_perc") > 50.0, "{info}");
}

/// INFO's keyspace_hits and keyspace_misses count the reads Redis counts, command by command
/// (EXISTS, TTL, TYPE, TOUCH, OBJECT and the STORE variants of set algebra included, and
/// XREAD's two lookups per key).
#[test]
fn keyspace_hits_and_misses_count_as_in_redis() {
    let redis_server = RedisServer::start();
    let reddish_server = Server::start();
    let commands: &[&[&str]] = &[
        &["EXISTS", "nk", "k"],
        &["TTL", "nk"],
        &["PTTL", "k"],
        &["EXPIRETIME", "k"],
        &["TYPE", "nk"],
        &["TYPE", "k"],
        &["TOUCH", "nk", "k"],
        &["GETDEL", "nk"],
        &["COPY", "nk", "xx"],
        &["COPY", "k", "kk"],
        &["SINTERSTORE", "d", "s", "nk"],
        &["SUNIONSTORE", "d", "s", "nk"],
        &["SDIFFSTORE", "d", "s", "nk"],
        &["SINTER", "s", "nk"],
        &["OBJECT", "ENCODING", "k"],
        &["OBJECT", "ENCODING", "nk"],
        &["OBJECT", "FREQ", "k"],
        &["OBJECT", "IDLETIME", "k"],
        &["OBJECT", "REFCOUNT", "k"],
        &["XREAD", "STREAMS", "x", "nk", "0", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "nk", ">"],
        &["GET", "k"],
        &["MGET", "k", "nk"],
    ];
    let mut seen = Vec::new();
    for server in [&redis_server, &reddish_server] {
        let mut conn = server.raw();
        for setup in [
            &["SET", "k", "v"][..],
            &["SADD", "s", "a"],
            &["XADD", "x", "1-1", "f", "v"],
            &["XGROUP", "CREATE", "x", "g", "0"],
        ] {
            conn.cmd(setup);
        }
        let mut counts = Vec::new();
        for command in commands {
            conn.cmd(&["CONFIG", "RESETSTAT"]);
            conn.cmd(command);
            let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "stats"])).into_owned();
            let field = |name: &str| {
                info.lines()
                    .find_map(|line| line.strip_prefix(name))
                    .unwrap_or_default()
                    .to_string()
            };
            counts.push(format!(
                "{}: hits {} misses {}",
                command.join(" "),
                field("keyspace_hits:"),
                field("keyspace_misses:")
            ));
        }
        seen.push(counts);
    }
    assert_eq!(seen[1], seen[0], "reddish beside redis");
}

/// INFO keyspace's `avg_ttl` of database `db`, once it is not 0 (or 0 when `want_zero`), on
/// the server behind `conn`: the active-expiry cycle computes it a few times a second.
fn avg_ttl(conn: &mut RawConn, db: usize, want_zero: bool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "keyspace"])).into_owned();
        let prefix = format!("db{db}:");
        let value = info
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|fields| fields.split(',').find_map(|f| f.strip_prefix("avg_ttl=")))
            .map(|v| v.trim().parse::<u64>().expect("avg_ttl is a number"));
        let value = value.unwrap_or_else(|| panic!("no db{db} in {info}"));
        if (value == 0) == want_zero || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `avg_ttl` is Redis's running estimate of the time to live left to keys with an expiry: it
/// follows the keys' TTLs, goes back to 0 once no key has one, and moves with SWAPDB.
#[test]
fn info_keyspace_avg_ttl_follows_the_keys_ttls() {
    let redis = RedisServer::start();
    let server = Server::start();
    for (name, server) in [("redis", &redis), ("reddish", &server)] {
        let mut conn = server.raw();
        for i in 0..200 {
            let key = format!("k{i}");
            conn.cmd(&["SET", key.as_str(), "v", "EX", "1000"]);
        }
        conn.cmd(&["SET", "plain", "v"]);
        let ttl = avg_ttl(&mut conn, 0, false);
        assert!(
            (900_000..=1_000_000).contains(&ttl),
            "{name}: avg_ttl {ttl} for keys with 1000 s left"
        );
        // Database 1 gets keys with 100 s left; SWAPDB exchanges the estimates.
        conn.cmd(&["SELECT", "1"]);
        for i in 0..200 {
            let key = format!("k{i}");
            conn.cmd(&["SET", key.as_str(), "v", "EX", "100"]);
        }
        let ttl1 = avg_ttl(&mut conn, 1, false);
        assert!(
            (90_000..=100_000).contains(&ttl1),
            "{name}: avg_ttl {ttl1} for keys with 100 s left"
        );
        conn.cmd(&["SWAPDB", "0", "1"]);
        let swapped = avg_ttl(&mut conn, 0, false);
        assert!(
            (90_000..=100_000).contains(&swapped),
            "{name}: db0 avg_ttl {swapped} after SWAPDB"
        );
        // No key with an expiry left in database 0: back to 0.
        for i in 0..200 {
            let key = format!("k{i}");
            conn.cmd(&["SELECT", "0"]);
            conn.cmd(&["PERSIST", key.as_str()]);
        }
        assert_eq!(avg_ttl(&mut conn, 0, true), 0, "{name}");
    }
}

/// `dir` is the server's working directory, as Redis's `chdir` makes it: CONFIG SET moves it
/// (relative to where it is), refuses what is not a directory with the system's words, and
/// CONFIG GET answers the absolute path.
#[test]
fn config_set_dir_moves_the_working_directory_as_redis() {
    let mut diff = Differential::with_args(&["--enable-protected-configs", "yes"]);
    diff.run(
        r#"
        CONFIG SET dir /
        CONFIG GET dir
        CONFIG SET dir /no-such-directory-of-reddish
        CONFIG SET dir /etc/passwd
        CONFIG SET dir ""
        CONFIG SET dir tmp
        CONFIG GET dir
        CONFIG SET dir ..
        CONFIG GET dir
        "#,
    );
}

/// Relative names in the configuration are found from `dir`, as Redis finds them after its
/// `chdir`: the log file is written there; CONFIG GET gives `dir` absolute and free of `..`,
/// and CONFIG REWRITE writes it, as Redis always does.
#[test]
fn relative_files_live_in_dir_and_rewrite_records_it() {
    let root =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(common::unique_name("workdir"));
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let conf = root.join("reddish.conf");
    std::fs::write(&conf, "logfile reddish.log\n").unwrap();
    let roundabout = root.join("data/../data");
    let server = Server::start_with(&[
        conf.to_str().unwrap(),
        "--dir",
        roundabout.to_str().unwrap(),
    ]);
    let mut conn = server.raw();
    let want = std::fs::canonicalize(&data).unwrap().display().to_string();
    let reply = conn.cmd(&["CONFIG", "GET", "dir"]);
    let expected = format!("*2\r\n$3\r\ndir\r\n${}\r\n{want}\r\n", want.len());
    assert_bytes(&reply, expected.as_bytes());
    assert!(
        data.join("reddish.log").exists(),
        "the log file is not in dir"
    );
    assert!(!root.join("reddish.log").exists());
    assert_bytes(&conn.cmd(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    let rewritten = std::fs::read_to_string(&conf).unwrap();
    assert!(
        rewritten.lines().any(|l| l == format!("dir {want}")),
        "{rewritten}"
    );
    assert!(
        rewritten.lines().any(|l| l == "logfile reddish.log"),
        "{rewritten}"
    );
    std::fs::remove_dir_all(&root).ok();
}

/// The log file is opened for each record, as Redis opens it for each line: after logrotate
/// moves it away the next record starts a new file, and a relative name follows `dir`.
#[test]
fn log_file_is_reopened_for_each_record() {
    let root =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(common::unique_name("logfile"));
    let (first, second) = (root.join("first"), root.join("second"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let server = Server::start_with(&[
        "--dir",
        first.to_str().unwrap(),
        "--logfile",
        "reddish.log",
        "--enable-debug-command",
        "yes",
        "--enable-protected-configs",
        "yes",
    ]);
    let mut conn = server.raw();
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();
    std::fs::rename(first.join("reddish.log"), first.join("reddish.log.1")).unwrap();
    assert_bytes(&conn.cmd(&["DEBUG", "LOG", "after-rotation"]), b"+OK\r\n");
    let (new, moved) = (
        read(&first.join("reddish.log")),
        read(&first.join("reddish.log.1")),
    );
    assert!(new.contains("after-rotation"), "new file:\n{new}");
    assert!(!moved.contains("after-rotation"), "moved file:\n{moved}");
    let dir = second.to_str().unwrap();
    assert_bytes(&conn.cmd(&["CONFIG", "SET", "dir", dir]), b"+OK\r\n");
    assert_bytes(&conn.cmd(&["DEBUG", "LOG", "after-chdir"]), b"+OK\r\n");
    let (second_log, first_log) = (
        read(&second.join("reddish.log")),
        read(&first.join("reddish.log")),
    );
    assert!(second_log.contains("after-chdir"), "{second_log}");
    assert!(!first_log.contains("after-chdir"), "{first_log}");
    std::fs::remove_dir_all(&root).ok();
}

/// Whether `line` has Redis's log-line shape, `pid:R dd Mon yyyy hh:mm:ss.mmm mark message`,
/// with the role `R` one of `roles` and the mark one of `. - * #`.
fn is_redis_log_line(line: &str, roles: &str) -> bool {
    let fields: Vec<&str> = line.splitn(7, ' ').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let [who, day, month, year, time, mark, message] = fields[..] else {
        return false;
    };
    let Some((pid, role)) = who.split_once(':') else {
        return false;
    };
    let clock: Vec<&str> = time.split([':', '.']).collect();
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && role.len() == 1
        && roles.contains(role)
        && digits(day, 2)
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&month)
        && digits(year, 4)
        && clock.len() == 4
        && clock[..3].iter().all(|part| digits(part, 2))
        && digits(clock[3], 3)
        && [".", "-", "*", "#"].contains(&mark)
        && !message.is_empty()
}

/// The log has Redis's line shape, marks a connection accepted as `-` (verbose) as Redis
/// does, and CONFIG SET loglevel changes what is logged from the next record on.
#[test]
fn log_lines_have_redis_shape_and_loglevel_applies_at_once() {
    let redis = RedisServer::start_with(&["--loglevel", "verbose"]);
    redis.raw().cmd(&["PING"]);
    let server = Server::start_with(&["--loglevel", "verbose"]);
    let mut conn = server.raw();
    assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");
    // Both servers' own lines (the role `M`, Redis's `C` before it forks nothing) share
    // the shape; Redis's ASCII-art logo aside.
    for (who, logs) in [("redis-server", redis.logs()), ("reddish", server.logs())] {
        let lines: Vec<&str> = logs
            .lines()
            .filter(|l| {
                l.split(' ')
                    .next()
                    .is_some_and(|w| w.ends_with(":M") || w.ends_with(":C"))
            })
            .collect();
        assert!(lines.len() >= 3, "{who}:\n{logs}");
        for line in &lines {
            assert!(is_redis_log_line(line, "MC"), "{who}: {line:?}");
        }
        assert!(
            lines.iter().any(|l| l.contains(" - Accepted 127.0.0.1:")),
            "{who} logs no accepted connection at verbose level:\n{logs}"
        );
    }
    let logs = server.logs();
    assert!(
        logs.lines()
            .any(|l| l.ends_with(" * Ready to accept connections")),
        "{logs}"
    );
    let accepted = |logs: &str| logs.matches(" - Accepted ").count();
    assert_bytes(
        &conn.cmd(&["CONFIG", "SET", "loglevel", "warning"]),
        b"+OK\r\n",
    );
    let before = accepted(&server.logs());
    server.raw().cmd(&["PING"]);
    assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(accepted(&server.logs()), before, "{}", server.logs());
    assert_bytes(
        &conn.cmd(&["CONFIG", "SET", "loglevel", "verbose"]),
        b"+OK\r\n",
    );
    server.raw().cmd(&["PING"]);
    assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(accepted(&server.logs()), before + 1, "{}", server.logs());
}

/// A script's `redis.log` writes at Redis's four levels, each with its mark, and `loglevel`
/// filters them as Redis does: the same lines in both servers' logs.
#[test]
fn script_log_levels_match_redis() {
    let script = "redis.log(redis.LOG_DEBUG, 'lua-' .. ARGV[1] .. '-debug') \
                  redis.log(redis.LOG_VERBOSE, 'lua-' .. ARGV[1] .. '-verbose') \
                  redis.log(redis.LOG_NOTICE, 'lua-' .. ARGV[1] .. '-notice') \
                  redis.log(redis.LOG_WARNING, 'lua-' .. ARGV[1] .. '-warning')";
    // The mark and message of each script line, in order.
    let script_lines = |logs: String| -> Vec<String> {
        logs.lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.splitn(7, ' ').collect();
                (fields.len() == 7 && fields[6].starts_with("lua-"))
                    .then(|| format!("{} {}", fields[5], fields[6]))
            })
            .collect()
    };
    let run = |logs: &dyn Fn() -> String, conn: &mut RawConn| {
        for (level, tag) in [("notice", "a"), ("debug", "b"), ("warning", "c")] {
            assert_bytes(&conn.cmd(&["CONFIG", "SET", "loglevel", level]), b"+OK\r\n");
            assert_bytes(&conn.cmd(&["EVAL", script, "0", tag]), b"$-1\r\n");
        }
        script_lines(logs())
    };
    let redis = RedisServer::start();
    let expected = run(&|| redis.logs(), &mut redis.raw());
    let server = Server::start();
    let actual = run(&|| server.logs(), &mut server.raw());
    assert_eq!(
        expected,
        [
            "* lua-a-notice",
            "# lua-a-warning",
            ". lua-b-debug",
            "- lua-b-verbose",
            "* lua-b-notice",
            "# lua-b-warning",
            "# lua-c-warning"
        ]
    );
    assert_eq!(actual, expected);
}

/// Error and status replies are binary-safe, as in Redis: bytes a client sent (an unknown
/// command's name, a subcommand, a key in NOGROUP, a script's `error_reply`/`status_reply`)
/// come back as sent, not as U+FFFD, and INFO errorstats counts such a code by its bytes.
#[test]
fn error_replies_keep_the_bytes_clients_sent() {
    let mut diff = Differential::new();
    let steps: &[&[&[u8]]] = &[
        &[b"b\xffc", b"\xfe1"],
        &[b"CONFIG", b"S\xffT"],
        &[b"CONFIG", b"GET", b"a", b"\xff"],
        &[b"XADD", b"s", b"1-1", b"f", b"v"],
        &[
            b"XREADGROUP",
            b"GROUP",
            b"g\xff",
            b"c",
            b"STREAMS",
            b"s\xfe",
            b">",
        ],
        &[b"XPENDING", b"s", b"g\xff"],
        &[b"EXPIRE", b"s", b"10", b"\xffNX"],
        &[
            b"EVAL",
            b"return redis.status_reply('OK\xff\xfe\\r\\nyes')",
            b"0",
        ],
        &[
            b"EVAL",
            b"return redis.error_reply('\xff\xfeBAD oops')",
            b"0",
        ],
        &[b"EVAL", b"return {err='My\xff err'}", b"0"],
        &[b"EVAL", b"error('x\xffy')", b"0"],
        &[b"MULTI"],
        &[b"n\xffo"],
        &[b"EXEC"],
        &[b"INFO", b"errorstats"],
    ];
    for step in steps {
        diff.check(Compare::Exact, step);
    }
}
