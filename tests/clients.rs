//! Client control through real connections: CLIENT LIST / INFO / KILL / PAUSE / UNPAUSE /
//! REPLY / NO-EVICT, RESET and MONITOR, compared with a real redis-server where the replies
//! are deterministic, and `redis-cli monitor`.

mod common;

use common::{assert_bytes, differential, encode_command, RawConn, RedisServer, Server};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The value of `field=` in a CLIENT LIST / CLIENT INFO line.
fn field(line: &str, name: &str) -> String {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
        .trim_end()
        .to_string()
}

/// The CLIENT LIST lines, without the bulk framing.
fn client_lines(conn: &mut RawConn, args: &[&str]) -> Vec<String> {
    let mut command = vec!["CLIENT", "LIST"];
    command.extend_from_slice(args);
    let reply = String::from_utf8(conn.cmd(&command)).unwrap();
    let body = reply.split_once("\r\n").map(|x| x.1).unwrap_or("");
    body.lines()
        .filter(|l| l.starts_with("id="))
        .map(String::from)
        .collect()
}

fn my_id(conn: &mut RawConn) -> String {
    let reply = String::from_utf8(conn.cmd(&["CLIENT", "ID"])).unwrap();
    reply.trim_start_matches(':').trim_end().to_string()
}

#[test]
fn client_list_fields_and_flags_follow_redis() {
    let server = Server::start();
    let redis = RedisServer::start();
    for target in [&server, &redis] {
        let mut subscriber = target.raw();
        subscriber.cmd(&["SUBSCRIBE", "a", "b"]);
        subscriber.read_reply();
        subscriber.cmd(&["PSUBSCRIBE", "p*"]);
        let mut transaction = target.raw();
        transaction.cmd(&["MULTI"]);
        transaction.cmd(&["SET", "x", "1"]);
        transaction.cmd(&["SET", "y", "2"]);
        let mut monitor = target.raw();
        monitor.cmd(&["MONITOR"]);
        let mut me = target.raw();
        me.cmd(&["CLIENT", "NO-EVICT", "on"]);
        me.cmd(&["CLIENT", "SETNAME", "inspector"]);
        // A connection the start-up check opened may still be listed until the server has
        // read its close: wait for the four this test made.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut lines = client_lines(&mut me, &[]);
        while lines.len() != 4 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            lines = client_lines(&mut me, &[]);
        }
        assert_eq!(lines.len(), 4, "{lines:?}");
        let names: Vec<String> = lines
            .iter()
            .map(|l| {
                l.split(' ')
                    .map(|kv| kv.split('=').next().unwrap())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert!(
            names.iter().all(|n| n
                == "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free \
                    argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp"),
            "{names:?}"
        );
        let by_cmd = |cmd: &str| {
            lines
                .iter()
                .find(|l| field(l, "cmd") == cmd)
                .unwrap_or_else(|| panic!("no client with cmd={cmd}: {lines:?}"))
                .clone()
        };
        let sub = by_cmd("psubscribe");
        assert_eq!(
            (
                field(&sub, "flags"),
                field(&sub, "sub"),
                field(&sub, "psub")
            ),
            ("P".into(), "2".into(), "1".into())
        );
        let tx = by_cmd("set");
        assert_eq!(
            (field(&tx, "flags"), field(&tx, "multi")),
            ("x".into(), "2".into())
        );
        assert_eq!(field(&by_cmd("monitor"), "flags"), "O");
        let mine = by_cmd("client|list");
        assert_eq!(
            (
                field(&mine, "flags"),
                field(&mine, "name"),
                field(&mine, "multi")
            ),
            ("e".into(), "inspector".into(), "-1".into())
        );
        let pubsub_only = client_lines(&mut me, &["TYPE", "pubsub"]);
        assert_eq!(pubsub_only.len(), 1);
        assert_eq!(field(&pubsub_only[0], "cmd"), "psubscribe");
        assert_eq!(client_lines(&mut me, &["TYPE", "normal"]).len(), 3);
        assert_eq!(client_lines(&mut me, &["TYPE", "replica"]).len(), 0);
    }
}

#[test]
fn client_kill_errors_like_redis() {
    differential(
        "CLIENT KILL 1.2.3.4:5
         CLIENT KILL ADDR 1.2.3.4:5
         CLIENT KILL ID 999
         CLIENT KILL ID abc
         CLIENT KILL ID 0
         CLIENT KILL TYPE bogus
         CLIENT KILL TYPE master
         CLIENT KILL LADDR x SKIPME maybe
         CLIENT KILL foo bar
         CLIENT KILL foo
         CLIENT KILL ID
         CLIENT KILL USER nobody
         CLIENT KILL TYPE pubsub
         CLIENT KILL
         CLIENT PAUSE
         CLIENT PAUSE abc
         CLIENT PAUSE -1
         CLIENT PAUSE 10 bogus
         CLIENT PAUSE 10 write extra
         CLIENT UNPAUSE
         CLIENT REPLY bogus
         CLIENT NO-EVICT x
         CLIENT NO-EVICT off
         CLIENT UNBLOCK 5 bogus
         CLIENT UNBLOCK abc
         CLIENT UNBLOCK 99999
         CLIENT GETREDIR
         CLIENT HELP
         CLIENT NOSUCH
         ",
    );
}

#[test]
fn client_kill_closes_the_chosen_connections() {
    let server = Server::start();
    let mut admin = server.raw();
    let mut victim = server.raw();
    let victim_id = my_id(&mut victim);
    assert_bytes(&admin.cmd(&["CLIENT", "KILL", "ID", &victim_id]), b":1\r\n");
    assert!(victim.is_closed_within(Duration::from_secs(2)));

    let mut victim = server.raw();
    let info = String::from_utf8(victim.cmd(&["CLIENT", "INFO"])).unwrap();
    let addr = field(info.lines().nth(1).unwrap(), "addr");
    assert_bytes(&admin.cmd(&["CLIENT", "KILL", &addr]), b"+OK\r\n");
    assert!(victim.is_closed_within(Duration::from_secs(2)));
    assert_bytes(
        &admin.cmd(&["CLIENT", "KILL", &addr]),
        b"-ERR No such client\r\n",
    );

    let mut subscriber = server.raw();
    subscriber.cmd(&["SUBSCRIBE", "c"]);
    let mut bystander = server.raw();
    assert_bytes(&admin.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]), b":1\r\n");
    assert!(subscriber.is_closed_within(Duration::from_secs(2)));
    assert_bytes(
        &admin.cmd(&["PUBSUB", "NUMSUB", "c"]),
        b"*2\r\n$1\r\nc\r\n:0\r\n",
    );

    // SKIPME yes (the default) spares the caller; no spares nobody.
    assert_bytes(&admin.cmd(&["CLIENT", "KILL", "TYPE", "normal"]), b":1\r\n");
    assert!(bystander.is_closed_within(Duration::from_secs(2)));
    assert_bytes(&admin.cmd(&["PING"]), b"+PONG\r\n");
    let admin_id = my_id(&mut admin);
    assert_bytes(
        &admin.cmd(&["CLIENT", "KILL", "ID", &admin_id, "SKIPME", "no"]),
        b":1\r\n",
    );
    assert!(admin.is_closed_within(Duration::from_secs(2)));
}

#[test]
fn client_pause_write_holds_writes_but_not_reads() {
    let server = Server::start();
    let mut admin = server.raw();
    admin.cmd(&["SET", "k", "before"]);
    assert_bytes(&admin.cmd(&["CLIENT", "PAUSE", "400", "WRITE"]), b"+OK\r\n");
    let mut writer = server.raw();
    let mut reader = server.raw();
    let started = Instant::now();
    writer.send(&encode_command(&["SET", "k", "after"]));
    writer.send(&encode_command(&["GET", "k"]));
    assert_bytes(&reader.cmd(&["GET", "k"]), b"$6\r\nbefore\r\n");
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "reads are not paused"
    );
    assert_bytes(&writer.read_reply(), b"+OK\r\n");
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "the write waited: {:?}",
        started.elapsed()
    );
    assert_bytes(&writer.read_reply(), b"$5\r\nafter\r\n");
    // PUBLISH waits too, and so does an EXEC holding a write.
    admin.cmd(&["CLIENT", "PAUSE", "300", "WRITE"]);
    let started = Instant::now();
    assert_bytes(&writer.cmd(&["PUBLISH", "c", "m"]), b":0\r\n");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[test]
fn client_pause_all_holds_everything_until_unpause_or_timeout() {
    let server = Server::start();
    let mut admin = server.raw();
    assert_bytes(&admin.cmd(&["CLIENT", "PAUSE", "5000", "ALL"]), b"+OK\r\n");
    let mut other = server.raw();
    other.send(&encode_command(&["PING"]));
    assert!(
        other.read_reply_within(Duration::from_millis(300)).is_err(),
        "nothing runs during PAUSE ALL"
    );
    // The caller is paused too; its pause ends by the timeout, not by UNPAUSE (which
    // waits like any other command). Shorten it instead: a new pause never shortens one.
    let mut third = server.raw();
    third.send(&encode_command(&["CLIENT", "UNPAUSE"]));
    assert!(third.read_reply_within(Duration::from_millis(200)).is_err());

    let server = Server::start();
    let mut admin = server.raw();
    admin.cmd(&["CLIENT", "PAUSE", "300"]);
    let started = Instant::now();
    assert_bytes(&admin.cmd(&["PING"]), b"+PONG\r\n");
    assert!(started.elapsed() >= Duration::from_millis(250));
    // WRITE mode can be lifted early by UNPAUSE (reads still run).
    admin.cmd(&["CLIENT", "PAUSE", "10000", "WRITE"]);
    let mut writer = server.raw();
    writer.send(&encode_command(&["SET", "a", "1"]));
    thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    assert_bytes(&admin.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_bytes(&writer.read_reply(), b"+OK\r\n");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn client_reply_modes_like_redis() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut outputs = Vec::new();
    for server in [&reddish, &redis] {
        let mut conn = server.raw();
        let mut pipeline = Vec::new();
        for command in [
            &["CLIENT", "REPLY", "ON"][..],
            &["CLIENT", "REPLY", "SKIP"][..],
            &["SET", "a", "1"][..],
            &["GET", "a"][..],
            &["CLIENT", "REPLY", "OFF"][..],
            &["SET", "a", "2"][..],
            &["GET", "a"][..],
            &["CLIENT", "REPLY", "SKIP"][..],
            &["GET", "a"][..],
            &["CLIENT", "REPLY", "ON"][..],
            &["GET", "a"][..],
            &["CLIENT", "REPLY", "SKIP"][..],
            &["CLIENT", "REPLY", "SKIP"][..],
            &["PING"][..],
        ] {
            pipeline.extend_from_slice(&encode_command(command));
        }
        conn.send(&pipeline);
        outputs.push(conn.read_available(Duration::from_millis(300)));
    }
    assert_bytes(&outputs[0], &outputs[1]);
    // SKIP applies to the next command, even when that is another SKIP.
    assert_bytes(&outputs[0], b"+OK\r\n$1\r\n1\r\n+OK\r\n$1\r\n2\r\n");
}

#[test]
fn reset_like_redis() {
    differential(
        "SELECT 3
         SET k v
         CLIENT SETNAME named
         MULTI
         SET x y
         RESET
         EXEC
         GET k
         CLIENT GETNAME
         @any HELLO 3
         SUBSCRIBE ch
         RESET
         PING
         CONFIG GET maxmemory
         ",
    );
}

/// Reads monitor lines from `conn` until `count` arrived; the variable parts (timestamp and
/// client port) are replaced by placeholders.
fn monitor_lines(conn: &mut RawConn, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let line = String::from_utf8(conn.read_reply()).unwrap();
            let (stamp, rest) = line.split_once(' ').unwrap();
            let (secs, micros) = stamp.trim_start_matches('+').split_once('.').unwrap();
            assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{line}");
            let (client, args) = rest.split_once("] ").unwrap();
            let db = client.trim_start_matches('[').split(' ').next().unwrap();
            format!("+T [{db} ADDR] {args}")
        })
        .collect()
}

/// Runs `commands` on a fresh connection of `server` while another connection is in MONITOR
/// mode; returns that connection and the first `count` lines it was sent (see
/// [`monitor_lines`]).
fn monitored(server: &Server, commands: &[&[&str]], count: usize) -> (RawConn, Vec<String>) {
    let mut monitor = server.raw();
    assert_bytes(&monitor.cmd(&["MONITOR"]), b"+OK\r\n");
    let mut client = server.raw();
    for command in commands {
        client.cmd(command);
    }
    let lines = monitor_lines(&mut monitor, count);
    (monitor, lines)
}

/// Script commands are shown to MONITOR before anything else they do, so those that fail
/// on their own (a script that does not compile, a missing SHA or function, a bad key count)
/// are shown too, as Redis shows them; the commands a script runs follow its line.
#[test]
fn monitor_shows_script_commands_that_fail_like_redis() {
    let sha = "0123456789012345678901234567890123456789";
    let commands: &[&[&str]] = &[
        &["EVAL", "return +", "0"],
        &["EVAL", "return 1", "5"],
        &["EVALSHA", sha, "0"],
        &["FCALL", "nofn", "0"],
        &["EVAL", "#!lua flags=bad\nreturn 1", "0"],
        &["EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "k"],
        &["PING"],
    ];
    let (_, ours) = monitored(&Server::start(), commands, 8);
    let (_, theirs) = monitored(&RedisServer::start(), commands, 8);
    assert_eq!(ours, theirs);
    assert_eq!(ours[6], "+T [0 ADDR] \"set\" \"k\" \"v\"\r\n");
}

#[test]
fn monitor_streams_commands_like_redis() {
    let commands: &[&[&str]] = &[
        &["SELECT", "1"],
        &["SET", "k", "a b\x00\"c\n\\"],
        &["MULTI"],
        &["SET", "x", "1"],
        &["INCR", "x"],
        &["EXEC"],
        &["NOSUCH"],
        &["GET"],
        &["CONFIG", "GET", "hz"],
        &["HELLO", "2", "AUTH", "default", "secret", "SETNAME", "n"],
        &["CLIENT", "LIST"],
        &["PING"],
    ];
    let mut seen = Vec::new();
    for server in [&Server::start(), &RedisServer::start()] {
        let (mut monitor, mut lines) = monitored(server, commands, 8);
        // The monitor's own commands are streamed to it too, after their reply.
        monitor.send(&encode_command(&["PING"]));
        assert_bytes(&monitor.read_reply(), b"+PONG\r\n");
        lines.extend(monitor_lines(&mut monitor, 1));
        seen.push(lines);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(
        seen[0][1],
        "+T [1 ADDR] \"SET\" \"k\" \"a b\\x00\\\"c\\n\\\\\"\r\n"
    );
}

#[test]
fn redis_cli_monitor_works() {
    let server = Server::start();
    let port = server.port().to_string();
    let child = Command::new("timeout")
        .args(["2", "redis-cli", "-p", &port, "monitor"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli (scripts/test.sh installs it)");
    let mut client = server.raw();
    let deadline = Instant::now() + Duration::from_secs(2);
    // Wait for the monitor to be registered, then run a command it must show.
    while !String::from_utf8_lossy(&client.cmd(&["CLIENT", "LIST"])).contains("flags=O") {
        assert!(
            Instant::now() < deadline,
            "redis-cli monitor never connected"
        );
        thread::sleep(Duration::from_millis(20));
    }
    client.cmd(&["SET", "watched", "value"]);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("OK\n"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.ends_with(r#"] "SET" "watched" "value""#)),
        "{text}"
    );
}

#[test]
fn a_closed_monitor_or_subscriber_leaves_nothing_behind() {
    let server = Server::start();
    let mut admin = server.raw();
    {
        let mut monitor = server.raw();
        monitor.cmd(&["MONITOR"]);
        let mut sub = server.raw();
        sub.cmd(&["PSUBSCRIBE", "x*"]);
        let mut watcher = server.raw();
        watcher.cmd(&["WATCH", "k"]);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while client_lines(&mut admin, &[]).len() > 1 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(10));
    }
    assert_bytes(&admin.cmd(&["PUBSUB", "NUMPAT"]), b":0\r\n");
    assert_bytes(&admin.cmd(&["SET", "k", "v"]), b"+OK\r\n");
}

#[test]
fn client_unblock_releases_a_blocked_client() {
    let server = Server::start();
    let mut admin = server.raw();
    for (reason, expected) in [
        (None, &b"*-1\r\n"[..]),
        (Some("TIMEOUT"), &b"*-1\r\n"[..]),
        (
            Some("ERROR"),
            &b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"[..],
        ),
    ] {
        let mut waiter = server.raw();
        let id = my_id(&mut waiter);
        let command: &[&str] = if reason == Some("TIMEOUT") {
            &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]
        } else {
            &["BLPOP", "q", "0"]
        };
        waiter.send(&encode_command(command));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = client_lines(&mut admin, &["ID", &id]);
            if lines.first().is_some_and(|l| field(l, "flags") == "b") {
                break;
            }
            assert!(Instant::now() < deadline, "never blocked");
            thread::sleep(Duration::from_millis(10));
        }
        let mut unblock = vec!["CLIENT", "UNBLOCK", id.as_str()];
        unblock.extend(reason);
        assert_bytes(&admin.cmd(&unblock), b":1\r\n");
        assert_bytes(&waiter.read_reply(), expected);
        assert_bytes(&admin.cmd(&unblock), b":0\r\n");
        // The connection goes on normally.
        assert_bytes(&waiter.cmd(&["PING"]), b"+PONG\r\n");
    }
}

#[test]
fn client_pause_write_holds_a_blocked_pop_free_push() {
    let server = Server::start();
    let mut admin = server.raw();
    admin.cmd(&["CLIENT", "PAUSE", "300", "WRITE"]);
    let mut writer = server.raw();
    let started = Instant::now();
    assert_bytes(&writer.cmd(&["LPUSH", "l", "x"]), b":1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_bytes(&writer.cmd(&["LLEN", "l"]), b":1\r\n");
}

/// `expired_keys` from INFO stats.
fn expired_keys(conn: &mut RawConn) -> u64 {
    let info = String::from_utf8(conn.cmd(&["INFO", "stats"])).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("expired_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("expired_keys in INFO stats")
}

#[test]
fn expired_keys_are_hidden_but_kept_while_writes_are_paused_as_redis_does() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    for server in [&reddish, &redis] {
        let mut conn = server.raw();
        let before = expired_keys(&mut conn);
        conn.cmd(&["SET", "a", "1", "PX", "10"]);
        conn.cmd(&["SET", "b", "2", "PX", "10"]);
        assert_bytes(
            &conn.cmd(&["CLIENT", "PAUSE", "50000", "WRITE"]),
            b"+OK\r\n",
        );
        thread::sleep(Duration::from_millis(150));
        // Read as missing (lazily and after active expiry had its chances), yet not deleted:
        // deleting them would be a write.
        assert_bytes(&conn.cmd(&["GET", "a"]), b"$-1\r\n");
        assert_bytes(&conn.cmd(&["EXISTS", "a", "b"]), b":0\r\n");
        assert_bytes(&conn.cmd(&["DBSIZE"]), b":2\r\n");
        assert_eq!(expired_keys(&mut conn), before);
        assert_bytes(&conn.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
        assert_bytes(&conn.cmd(&["GET", "a"]), b"$-1\r\n");
        assert_bytes(&conn.cmd(&["GET", "b"]), b"$-1\r\n");
        assert_eq!(expired_keys(&mut conn), before + 2);
        assert_bytes(&conn.cmd(&["DBSIZE"]), b":0\r\n");
    }
}
