//! Pub/Sub through real connections: replies and messages byte for byte against a real
//! redis-server, many subscribers and patterns, message order, keyspace notifications,
//! redis-cli's subscribe modes, and output buffer limits for subscribers that stop reading.

mod common;

use common::{assert_bytes, encode_command, escape, split_args, RawConn, RedisServer, Server};
use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// One step of a multi-connection session: on connection `conn`, send `command` (nothing
/// when empty) and read `replies` replies (messages count as replies). A command starting
/// with `~` is sent without the `~` and its replies are read but not compared (HELLO's id);
/// `@sleep MS` waits.
type Step<'a> = (usize, &'a str, usize);

/// Runs `steps` against a fresh Reddish and a fresh redis-server and panics at the first
/// reply that differs. Replies are read with a timeout, so a missing message fails too.
#[track_caller]
fn same_as_redis(steps: &[Step]) {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut ours: Vec<RawConn> = Vec::new();
    let mut theirs: Vec<RawConn> = Vec::new();
    for (index, &(conn, command, replies)) in steps.iter().enumerate() {
        while ours.len() <= conn {
            ours.push(reddish.raw());
            theirs.push(redis.raw());
        }
        if let Some(ms) = command.strip_prefix("@sleep ") {
            thread::sleep(Duration::from_millis(ms.parse().expect("@sleep ms")));
            continue;
        }
        let compare = !command.starts_with('~');
        let command = command.trim_start_matches('~');
        if !command.is_empty() {
            let args = split_args(command).expect("bad step");
            ours[conn].send(&encode_command(&args));
            theirs[conn].send(&encode_command(&args));
        }
        for n in 0..replies {
            let expected = theirs[conn]
                .read_reply_within(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("redis-server, step {index} ({command}): {e}"));
            let actual = ours[conn]
                .read_reply_within(Duration::from_secs(5))
                .unwrap_or_else(|e| format!("<{e}>").into_bytes());
            assert!(
                !compare || expected == actual,
                "step {index} (conn {conn}: {command}), reply {n}:\n  redis:   {}\n  reddish: {}",
                escape(&expected),
                escape(&actual)
            );
        }
    }
    // Nothing more may be pending on either side.
    for (conn, (ours, theirs)) in ours.iter_mut().zip(theirs.iter_mut()).enumerate() {
        let extra_ours = ours.read_available(Duration::from_millis(50));
        let extra_theirs = theirs.read_available(Duration::from_millis(50));
        assert!(
            extra_ours == extra_theirs,
            "conn {conn} leftovers differ: redis {} reddish {}",
            escape(&extra_theirs),
            escape(&extra_ours)
        );
    }
}

#[test]
fn subscribe_publish_unsubscribe_like_redis() {
    same_as_redis(&[
        (0, "SUBSCRIBE a b", 2),
        (0, "GET x", 1),
        (0, "PING", 1),
        (0, "PING hi", 1),
        (0, "PING a b", 1),
        (1, "PUBLISH a hello", 1),
        (1, "PUBLISH b \"bin\\x00\\r\\n\"", 1),
        (1, "PUBLISH c nobody", 1),
        (0, "", 2),
        (0, "UNSUBSCRIBE a", 1),
        (1, "PUBLISH a gone", 1),
        (1, "PUBSUB CHANNELS", 1),
        (1, "PUBSUB NUMSUB a b c", 1),
        (1, "PUBSUB NUMPAT", 1),
        (0, "UNSUBSCRIBE", 1),
        (0, "UNSUBSCRIBE", 1),
        (0, "UNSUBSCRIBE x y", 2),
        (0, "GET x", 1),
        (0, "SUBSCRIBE", 1),
        (0, "PUBLISH a", 1),
        (0, "PUBSUB", 1),
        (0, "PUBSUB foo", 1),
        (0, "PUBSUB CHANNELS a b", 1),
        (0, "PUBSUB NUMPAT x", 1),
        (0, "PUBSUB NUMSUB", 1),
        (0, "PUBSUB HELP", 1),
    ]);
}

#[test]
fn patterns_like_redis() {
    same_as_redis(&[
        (0, "PSUBSCRIBE news.* h?llo [ab]c", 3),
        (0, "SUBSCRIBE news.it", 1),
        (1, "PUBLISH news.it x", 1),
        (0, "", 2),
        (1, "PUBLISH hello y", 1),
        (1, "PUBLISH hallo z", 1),
        (1, "PUBLISH bc w", 1),
        (1, "PUBLISH dc none", 1),
        (0, "", 3),
        (1, "PUBSUB NUMPAT", 1),
        (1, "PUBSUB CHANNELS news*", 1),
        (0, "PUNSUBSCRIBE h?llo nosuch", 2),
        (0, "PUNSUBSCRIBE news.*", 1),
        (0, "PUNSUBSCRIBE", 1),
        (0, "PUNSUBSCRIBE", 1),
        (0, "UNSUBSCRIBE", 1),
        (0, "PING", 1),
    ]);
}

#[test]
fn shard_channels_like_redis() {
    same_as_redis(&[
        (0, "SSUBSCRIBE s1", 1),
        (0, "SUBSCRIBE s1", 1),
        (1, "SPUBLISH s1 m", 1),
        (0, "", 1),
        (1, "PUBLISH s1 n", 1),
        (0, "", 1),
        (1, "PUBSUB SHARDCHANNELS", 1),
        (1, "PUBSUB SHARDNUMSUB s1 s2", 1),
        (0, "SUNSUBSCRIBE", 1),
        (0, "SUNSUBSCRIBE", 1),
        (0, "UNSUBSCRIBE", 1),
    ]);
}

#[test]
fn resp3_subscribers_get_pushes_like_redis() {
    same_as_redis(&[
        (0, "~HELLO 3", 1),
        (0, "SUBSCRIBE a", 1),
        (0, "PSUBSCRIBE *", 1),
        (0, "GET x", 1),
        (0, "PING", 1),
        (1, "PUBLISH a hi", 1),
        (0, "", 2),
        (0, "PUBLISH a self", 3),
        (0, "UNSUBSCRIBE", 1),
        (0, "PUNSUBSCRIBE", 1),
        (0, "UNSUBSCRIBE", 1),
        (0, "RESET", 1),
        (0, "SUBSCRIBE a", 1),
        (0, "GET x", 1),
    ]);
}

/// Under CLIENT REPLY OFF (and SKIP) subscription confirmations and messages still arrive,
/// in RESP2 and RESP3, while ordinary replies do not.
#[test]
fn pubsub_pushes_pass_client_reply_off_like_redis() {
    for hello in ["~HELLO 2", "~HELLO 3"] {
        same_as_redis(&[
            (0, hello, 1),
            (0, "CLIENT REPLY OFF", 0),
            (0, "SUBSCRIBE channel", 1),
            (0, "PSUBSCRIBE ch*", 1),
            (0, "PING", 0),
            (1, "PUBLISH channel hello", 1),
            (0, "", 2),
            (0, "UNSUBSCRIBE channel", 1),
            (0, "PUNSUBSCRIBE ch*", 1),
            (0, "CLIENT REPLY SKIP", 0),
            (0, "PING", 0),
            (0, "CLIENT REPLY ON", 1),
            (0, "CLIENT REPLY SKIP", 0),
            (0, "SUBSCRIBE other", 1),
            (0, "PING", 1),
        ]);
    }
}

#[test]
fn subscriptions_inside_multi_like_redis() {
    same_as_redis(&[
        (0, "MULTI", 1),
        (0, "SUBSCRIBE ch", 1),
        (0, "SET k v", 1),
        (0, "EXEC", 1),
        (0, "GET k", 1),
        (0, "EXEC", 1),
        (0, "RESET", 1),
        (0, "GET k", 1),
    ]);
}

#[test]
fn keyspace_notifications_like_redis() {
    same_as_redis(&[
        (0, "CONFIG SET notify-keyspace-events KEA", 1),
        (0, "CONFIG GET notify-keyspace-events", 1),
        (1, "PSUBSCRIBE __key*__:*", 1),
        (0, "SET k v", 1),
        (1, "", 2),
        (0, "SET k v2 EX 100", 1),
        (1, "", 4),
        (0, "SETNX k x", 1),
        (0, "APPEND k x", 1),
        (0, "INCR n", 1),
        (0, "INCRBYFLOAT n 1.5", 1),
        (0, "SETRANGE k 0 zz", 1),
        (0, "GETSET k a", 1),
        (0, "GETDEL k", 1),
        (1, "", 12),
        (0, "MSET a 1 b 2", 1),
        (0, "MSETNX c 1 d 2", 1),
        (0, "MSETNX c 1 e 2", 1),
        (1, "", 8),
        (0, "EXPIRE a 100", 1),
        (0, "PERSIST a", 1),
        (0, "PERSIST a", 1),
        (0, "EXPIRE a -1", 1),
        (1, "", 6),
        (0, "RENAME b bb", 1),
        (0, "RENAME bb bb", 1),
        (0, "COPY bb cc", 1),
        (0, "MOVE cc 3", 1),
        (0, "DEL bb nosuch", 1),
        (1, "", 12),
        (0, "SET e v PX 1", 1),
        (1, "", 4),
        (0, "@sleep 20", 0),
        (0, "GET e", 1),
        (1, "", 2),
        (0, "CONFIG SET notify-keyspace-events Em", 1),
        (0, "GET missing", 1),
        (0, "MGET m1 m2", 1),
        (1, "", 3),
        (0, "CONFIG SET notify-keyspace-events Kn$", 1),
        (0, "SET fresh v", 1),
        (0, "SET fresh w", 1),
        (1, "", 3),
        (0, "CONFIG SET notify-keyspace-events Kg", 1),
        (0, "SET quiet v", 1),
        (0, "DEL quiet", 1),
        (1, "", 1),
        (0, "CONFIG SET notify-keyspace-events ''", 1),
        (0, "SET silent v", 1),
        (0, "CONFIG SET notify-keyspace-events q", 1),
    ]);
}

#[test]
fn keys_expired_by_the_active_cycle_are_notified() {
    let server = Server::start_with(&["--notify-keyspace-events", "Ex", "--hz", "50"]);
    let mut sub = server.raw();
    sub.cmd(&["SUBSCRIBE", "__keyevent@0__:expired"]);
    let mut writer = server.raw();
    for key in ["a", "b", "c"] {
        writer.cmd(&["SET", key, "v", "PX", "30"]);
    }
    // Nobody reads the keys again: only the timed expiry cycle can find them.
    let mut expired = Vec::new();
    for _ in 0..3 {
        let reply = String::from_utf8(sub.read_reply()).unwrap();
        assert!(reply.starts_with("*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n"));
        expired.push(reply.split("\r\n").nth(6).unwrap().to_string());
    }
    expired.sort();
    assert_eq!(expired, ["a", "b", "c"]);
    assert_bytes(&writer.cmd(&["DBSIZE"]), b":0\r\n");
}

#[test]
fn many_subscribers_and_patterns_receive_everything_in_order() {
    const SUBSCRIBERS: usize = 20;
    const PATTERNS: usize = 10;
    const MESSAGES: usize = 300;
    let server = Server::start();
    let mut channel_subs: Vec<RawConn> = (0..SUBSCRIBERS).map(|_| server.raw()).collect();
    let mut pattern_subs: Vec<RawConn> = (0..PATTERNS).map(|_| server.raw()).collect();
    for sub in &mut channel_subs {
        assert_bytes(
            &sub.cmd(&["SUBSCRIBE", "news"]),
            b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
        );
    }
    for sub in &mut pattern_subs {
        assert_bytes(
            &sub.cmd(&["PSUBSCRIBE", "n*"]),
            b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n",
        );
    }
    let mut publisher = server.raw();
    assert_bytes(
        &publisher.cmd(&["PUBSUB", "NUMSUB", "news"]),
        b"*2\r\n$4\r\nnews\r\n:20\r\n",
    );
    assert_bytes(&publisher.cmd(&["PUBSUB", "NUMPAT"]), b":1\r\n");
    // Pipelined, so messages are produced faster than the subscribers drain them.
    let mut batch = Vec::new();
    for i in 0..MESSAGES {
        batch.extend_from_slice(&encode_command(&["PUBLISH", "news", &format!("m{i}")]));
    }
    publisher.send(&batch);
    for _ in 0..MESSAGES {
        assert_bytes(&publisher.read_reply(), b":30\r\n");
    }
    for sub in &mut channel_subs {
        for i in 0..MESSAGES {
            let body = format!("m{i}");
            let expected = format!(
                "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n${}\r\n{body}\r\n",
                body.len()
            );
            assert_bytes(&sub.read_reply(), expected.as_bytes());
        }
    }
    for sub in &mut pattern_subs {
        for i in 0..MESSAGES {
            let body = format!("m{i}");
            let expected = format!(
                "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n${}\r\n{body}\r\n",
                body.len()
            );
            assert_bytes(&sub.read_reply(), expected.as_bytes());
        }
    }
    // A closed subscriber stops counting.
    drop(channel_subs.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = publisher.cmd(&["PUBLISH", "news", "x"]);
        if reply == b":29\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "still {}", escape(&reply));
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn unsubscribe_all_replies_once_per_subscription() {
    let server = Server::start();
    let mut sub = server.raw();
    sub.send(&encode_command(&["SUBSCRIBE", "c1", "c2", "c3"]));
    sub.send(&encode_command(&["PSUBSCRIBE", "p1", "p2"]));
    for _ in 0..5 {
        sub.read_reply();
    }
    sub.send(&encode_command(&["UNSUBSCRIBE"]));
    let mut names = Vec::new();
    let mut counts = Vec::new();
    for _ in 0..3 {
        let reply = String::from_utf8(sub.read_reply()).unwrap();
        let lines: Vec<&str> = reply.split("\r\n").collect();
        assert_eq!(lines[2], "unsubscribe", "{reply}");
        names.push(lines[4].to_string());
        counts.push(lines[5].to_string());
    }
    names.sort();
    assert_eq!(names, ["c1", "c2", "c3"]);
    assert_eq!(counts, [":4", ":3", ":2"]);
    sub.send(&encode_command(&["PUNSUBSCRIBE"]));
    for expected in [":1", ":0"] {
        let reply = String::from_utf8(sub.read_reply()).unwrap();
        assert!(reply.ends_with(&format!("{expected}\r\n")), "{reply}");
    }
    assert_bytes(
        &sub.cmd(&["PUNSUBSCRIBE"]),
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n",
    );
    assert_bytes(&sub.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn one_publish_gives_message_then_pmessage_in_order() {
    let server = Server::start();
    let mut sub = server.raw();
    sub.send(&encode_command(&["SUBSCRIBE", "ch"]));
    sub.send(&encode_command(&["PSUBSCRIBE", "c*"]));
    sub.read_reply();
    sub.read_reply();
    let mut publisher = server.raw();
    for i in 0..50 {
        assert_bytes(
            &publisher.cmd(&["PUBLISH", "ch", &i.to_string()]),
            b":2\r\n",
        );
    }
    for i in 0..50 {
        let body = i.to_string();
        let message = format!(
            "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n${}\r\n{body}\r\n",
            body.len()
        );
        assert_bytes(&sub.read_reply(), message.as_bytes());
        let pmessage = format!(
            "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n${}\r\n{body}\r\n",
            body.len()
        );
        assert_bytes(&sub.read_reply(), pmessage.as_bytes());
    }
}

/// Resident memory of a process in bytes (Linux).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    reddish::process::kilobytes_field(&status, "VmRSS:").unwrap_or(0)
}

/// Publishes `count` messages of `size` bytes on `channel`, 16 per write; returns the highest
/// server RSS seen and the replies.
fn publish_many(
    server: &Server,
    publisher: &mut RawConn,
    channel: &str,
    count: usize,
    size: usize,
) -> (u64, Vec<Vec<u8>>) {
    let payload = vec![b'x'; size];
    let one = encode_command(&[b"PUBLISH".as_slice(), channel.as_bytes(), &payload]);
    let mut peak = 0;
    let mut replies = Vec::new();
    let mut sent = 0;
    while sent < count {
        let batch = 16.min(count - sent);
        publisher.send(&one.repeat(batch));
        for _ in 0..batch {
            replies.push(publisher.read_reply());
        }
        sent += batch;
        peak = peak.max(rss_bytes(server.pid()));
    }
    (peak, replies)
}

#[test]
fn a_subscriber_that_never_reads_is_dropped_at_the_hard_limit() {
    // Redis's default: pubsub 32mb hard, 8mb for 60 s soft.
    let server = Server::start();
    let mut stalled = server.raw();
    assert_bytes(
        &stalled.cmd(&["SUBSCRIBE", "firehose"]),
        b"*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n",
    );
    let mut publisher = server.raw();
    assert_bytes(
        &publisher.cmd(&["CONFIG", "GET", "client-output-buffer-limit"]),
        b"*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n",
    );
    let baseline = rss_bytes(server.pid());
    // 128 MB offered to a subscriber that reads nothing.
    let (peak, replies) = publish_many(&server, &mut publisher, "firehose", 2048, 64 * 1024);
    let delivered = replies.iter().filter(|r| r.as_slice() == b":1\r\n").count();
    assert!(
        replies[delivered..]
            .iter()
            .all(|r| r.as_slice() == b":0\r\n"),
        "once dropped, never counted again"
    );
    assert!(
        (400..1000).contains(&delivered),
        "dropped after ~32 MB (plus what the socket buffers took): {delivered} messages of 64 KB"
    );
    assert_bytes(
        &publisher.cmd(&["PUBSUB", "NUMSUB", "firehose"]),
        b"*2\r\n$8\r\nfirehose\r\n:0\r\n",
    );
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "stalled subscriber: dropped after {delivered} messages of 64 KB; server RSS baseline {} MB, peak {} MB",
        baseline >> 20,
        peak >> 20
    );
    assert!(
        growth < 64 << 20,
        "server RSS grew by {} MB (baseline {} MB, peak {} MB) for 128 MB published",
        growth >> 20,
        baseline >> 20,
        peak >> 20
    );
    // The dropped subscriber sees its connection closed once it drains what was sent.
    stalled.set_timeout(Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stalled.is_closed_within(Duration::from_millis(200)) {
        stalled.read_available(Duration::from_millis(1));
        assert!(
            Instant::now() < deadline,
            "stalled subscriber not disconnected"
        );
    }
}

#[test]
fn a_reading_subscriber_gets_everything_past_the_limit() {
    let server = Server::start_with(&["--client-output-buffer-limit", "pubsub 1mb 0 0"]);
    let mut reader = server.raw();
    reader.cmd(&["SUBSCRIBE", "steady"]);
    let expected_total = 400usize;
    let reading = thread::spawn(move || {
        let mut got = 0;
        while got < expected_total {
            let reply = reader.read_reply();
            assert!(reply.starts_with(b"*3\r\n$7\r\nmessage\r\n"));
            got += 1;
        }
        got
    });
    let mut publisher = server.raw();
    // 400 x 16 KB = 6.4 MB in total, more than the limit, but never 1 MB unread at once
    // because every batch waits for its replies.
    let payload = vec![b'y'; 16 * 1024];
    for _ in 0..100 {
        let one = encode_command(&[b"PUBLISH".as_slice(), b"steady", &payload]);
        publisher.send(&one.repeat(4));
        for _ in 0..4 {
            assert_bytes(&publisher.read_reply(), b":1\r\n");
        }
        thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(reading.join().unwrap(), expected_total);
}

#[test]
fn the_soft_limit_drops_a_subscriber_that_stays_over_it() {
    let server = Server::start_with(&["--client-output-buffer-limit", "pubsub 0 1mb 1"]);
    let mut stalled = server.raw();
    stalled.cmd(&["SUBSCRIBE", "s"]);
    let mut publisher = server.raw();
    let (_, replies) = publish_many(&server, &mut publisher, "s", 256, 32 * 1024);
    assert!(
        replies.iter().all(|r| r.as_slice() == b":1\r\n"),
        "over the soft limit but not for long yet"
    );
    // As in Redis, a timer drops it once the time is over, with nothing more published.
    thread::sleep(Duration::from_millis(2100));
    assert_bytes(&publisher.cmd(&["PUBLISH", "s", "late"]), b":0\r\n");
    assert_bytes(
        &publisher.cmd(&["PUBSUB", "NUMSUB", "s"]),
        b"*2\r\n$1\r\ns\r\n:0\r\n",
    );
}

#[test]
fn a_pipelining_client_that_never_reads_is_dropped_at_the_normal_limit() {
    let server = Server::start_with(&["--client-output-buffer-limit", "normal 4mb 0 0"]);
    let mut setup = server.raw();
    let value = vec![b'v'; 100 * 1024];
    assert_bytes(&setup.cmd(&[b"SET".as_slice(), b"big", &value]), b"+OK\r\n");
    let baseline = rss_bytes(server.pid());
    let mut greedy = server.raw();
    // 2000 GETs of 100 KB = 200 MB of replies, never read.
    let requests = encode_command(&["GET", "big"]).repeat(2000);
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    greedy.send(&requests);
    while Instant::now() < deadline {
        peak = peak.max(rss_bytes(server.pid()));
        let list = setup.cmd(&["CLIENT", "LIST"]);
        if String::from_utf8_lossy(&list).matches("id=").count() == 1 {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let list = String::from_utf8_lossy(&setup.cmd(&["CLIENT", "LIST"])).into_owned();
    assert_eq!(list.matches("id=").count(), 1, "{list}");
    assert!(
        peak.saturating_sub(baseline) < 64 << 20,
        "RSS grew by {} MB",
        peak.saturating_sub(baseline) >> 20
    );
}

// ---------------------------------------------------------------------------------------------
// redis-cli
// ---------------------------------------------------------------------------------------------

/// Runs `redis-cli -p PORT args...` for `seconds` (killed by `timeout`), publishing `messages`
/// on `channel` from another connection once it is subscribed; returns its output.
fn cli_listen(server: &Server, args: &[&str], channel: &str, messages: &[&str]) -> String {
    let port = server.port().to_string();
    let mut cli_args = vec!["2", "redis-cli", "-p", &port];
    cli_args.extend_from_slice(args);
    let child = Command::new("timeout")
        .args(&cli_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("timeout/redis-cli must be installed (scripts/test.sh)");
    let mut publisher = server.raw();
    let deadline = Instant::now() + Duration::from_secs(2);
    // Wait until the subscription exists, so no message is published before it.
    loop {
        let numsub = publisher.cmd(&["PUBSUB", "NUMPAT"]);
        let channels = publisher.cmd(&["PUBSUB", "NUMSUB", channel]);
        if numsub != b":0\r\n" || !channels.ends_with(b":0\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "redis-cli did not subscribe");
        thread::sleep(Duration::from_millis(20));
    }
    for message in messages {
        publisher.cmd(&["PUBLISH", channel, message]);
    }
    let output = child.wait_with_output().expect("redis-cli output");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

#[test]
fn redis_cli_subscribe_and_psubscribe_work_as_with_redis() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    for args in [
        &["subscribe", "ch1"][..],
        &["psubscribe", "ch*"][..],
        &["-3", "subscribe", "ch1"][..],
    ] {
        let ours = cli_listen(&reddish, args, "ch1", &["hello", "world"]);
        let theirs = cli_listen(&redis, args, "ch1", &["hello", "world"]);
        assert_eq!(ours, theirs, "redis-cli {args:?}");
        assert!(ours.contains("hello") && ours.contains("world"), "{ours}");
    }
}

#[test]
fn the_redis_crate_pubsub_api_works() {
    let server = Server::start();
    let mut sub_conn = server.client();
    let mut publisher = server.client();
    let mut pubsub = sub_conn.as_pubsub();
    pubsub.subscribe("orders").unwrap();
    pubsub.psubscribe("order*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("orders")
        .arg("42")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(receivers, 2);
    let first = pubsub.get_message().unwrap();
    assert_eq!(first.get_channel_name(), "orders");
    assert_eq!(first.get_payload::<String>().unwrap(), "42");
    assert!(!first.from_pattern());
    let second = pubsub.get_message().unwrap();
    assert_eq!(second.get_pattern::<String>().unwrap(), "order*");
    assert_eq!(second.get_payload::<i64>().unwrap(), 42);
    pubsub.unsubscribe("orders").unwrap();
    pubsub.punsubscribe("order*").unwrap();
}

#[test]
fn redis_cli_publish_reports_receivers() {
    let server = Server::start();
    let mut sub = server.raw();
    sub.cmd(&["SUBSCRIBE", "x"]);
    let mut cli = Command::new("timeout")
        .args(["5", "redis-cli", "-p", &server.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli");
    cli.stdin
        .take()
        .unwrap()
        .write_all(b"PUBLISH x one\nPUBLISH y two\n")
        .unwrap();
    let out = cli.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n0\n");
    assert_bytes(
        &sub.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$3\r\none\r\n",
    );
}
