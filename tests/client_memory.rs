//! Per-client memory through real connections: CLIENT LIST / CLIENT INFO buffer figures,
//! query buffers given back, client eviction (`maxmemory-clients`, CLIENT NO-EVICT, INFO
//! `evicted_clients`) and the output soft limit on a client that stopped reading. Each test
//! runs the same steps against Reddish and a real redis-server.

mod common;

use common::{differential, RawConn, RedisServer, Server};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The value of `name=` in a CLIENT LIST / CLIENT INFO line.
fn field(line: &str, name: &str) -> Option<u64> {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.trim_end().parse().ok())
}

/// The CLIENT LIST line of the client named `name`, if connected.
fn line_of(conn: &mut RawConn, name: &str) -> Option<String> {
    let reply = String::from_utf8(conn.cmd(&["CLIENT", "LIST"])).unwrap();
    reply
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .map(String::from)
}

/// Waits until the line of client `name` satisfies `ready`; panics after 5 s.
#[track_caller]
fn wait_for_line(conn: &mut RawConn, name: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let line = line_of(conn, name);
        match line {
            Some(line) if ready(&line) => return line,
            _ if Instant::now() > deadline => panic!("client {name} never got there: {line:?}"),
            _ => sleep(Duration::from_millis(10)),
        }
    }
}

/// An INFO field, as a number.
fn info_field(conn: &mut RawConn, section: &str, name: &str) -> u64 {
    let info = String::from_utf8(conn.cmd(&["INFO", section])).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO {section}"))
}

/// A connection named `name`.
fn named(server: &Server, name: &str) -> RawConn {
    let mut conn = server.raw();
    assert_eq!(conn.cmd(&["CLIENT", "SETNAME", name]), b"+OK\r\n");
    conn
}

fn both() -> [Server; 2] {
    [Server::start(), RedisServer::start()]
}

#[test]
fn client_info_counts_the_running_command_and_the_reply_buffer() {
    for server in both() {
        let mut conn = server.raw();
        let line = String::from_utf8(conn.cmd(&["CLIENT", "INFO"])).unwrap();
        // The request itself is still in the query buffer; its arguments are `argv-mem`.
        assert_eq!(field(&line, "qbuf"), Some(26), "{line}");
        assert_eq!(field(&line, "argv-mem"), Some(10), "{line}");
        assert_eq!(field(&line, "rbs"), Some(16384), "{line}");
        assert_eq!(field(&line, "multi-mem"), Some(0), "{line}");
        assert_eq!(field(&line, "omem"), Some(0), "{line}");
        let total = field(&line, "tot-mem").unwrap();
        let buffers = field(&line, "qbuf").unwrap() + field(&line, "qbuf-free").unwrap();
        assert!(total > buffers + 16384, "{line}");
        conn.cmd(&["CLIENT", "SETNAME", "tx"]);
        conn.cmd(&["MULTI"]);
        conn.cmd(&["SET", "k", &"v".repeat(1000)]);
        let mut other = server.raw();
        let line = line_of(&mut other, "tx").expect("the transaction's client");
        let multi_mem = field(&line, "multi-mem").unwrap();
        assert!((1000..4000).contains(&multi_mem), "{line}");
    }
}

#[test]
fn a_big_argument_still_arriving_counts_only_its_bytes() {
    for server in both() {
        let mut sender = named(&server, "sender");
        let mut observer = server.raw();
        sender.send(b"*1\r\n$100000\r\n");
        sender.send(&[b'x'; 50_000]);
        let line = wait_for_line(&mut observer, "sender", |l| {
            field(l, "qbuf") == Some(50_000)
        });
        // The buffer was sized for the whole argument at once.
        let held = field(&line, "qbuf").unwrap() + field(&line, "qbuf-free").unwrap();
        assert!((100_000..150_000).contains(&held), "{line}");
        assert!(field(&line, "tot-mem").unwrap() >= 100_000, "{line}");
    }
}

#[test]
fn an_idle_client_gives_its_query_buffer_back() {
    for server in both() {
        let mut big = named(&server, "big");
        let value = "A".repeat(400_000);
        assert_eq!(big.cmd(&["SET", "x", &value]), b"+OK\r\n");
        let mut observer = server.raw();
        let line = line_of(&mut observer, "big").unwrap();
        assert!(field(&line, "qbuf-free").unwrap() > 32768, "{line}");
        let deadline = Instant::now() + Duration::from_secs(6);
        let line = loop {
            let line = line_of(&mut observer, "big").unwrap();
            if field(&line, "qbuf-free") == Some(0) || Instant::now() > deadline {
                break line;
            }
            sleep(Duration::from_millis(100));
        };
        assert_eq!(field(&line, "qbuf"), Some(0), "{line}");
        assert_eq!(field(&line, "qbuf-free"), Some(0), "{line}");
    }
}

#[test]
fn maxmemory_clients_evicts_the_biggest_client_only() {
    for server in both() {
        let mut control = named(&server, "control");
        assert_eq!(
            control.cmd(&["CONFIG", "SET", "maxmemory-clients", "1mb"]),
            b"+OK\r\n"
        );
        let mut small = named(&server, "small");
        let mut big = named(&server, "big");
        // Its buffer is sized for the whole argument as soon as the header arrives.
        big.send(b"*2\r\n$2000000\r\n");
        big.send(&[b'v'; 100_000]);
        assert!(big.is_closed_within(Duration::from_secs(5)));
        assert_eq!(small.cmd(&["PING"]), b"+PONG\r\n");
        assert!(line_of(&mut control, "big").is_none());
        assert_eq!(info_field(&mut control, "stats", "evicted_clients"), 1);
    }
}

/// Two clients protected by CLIENT NO-EVICT, "control" and "big", under a `maxmemory-clients`
/// of 200 KB that "big" alone exceeds: it holds 300 KB of a 400 KB request. Returns both
/// connections and big's CLIENT LIST line.
fn protected_clients_over_the_limit(server: &Server) -> (RawConn, RawConn, String) {
    let mut control = named(server, "control");
    control.cmd(&["CLIENT", "NO-EVICT", "on"]);
    let mut big = named(server, "big");
    assert_eq!(big.cmd(&["CLIENT", "NO-EVICT", "on"]), b"+OK\r\n");
    control.cmd(&["CONFIG", "SET", "maxmemory-clients", "200kb"]);
    big.send(b"*2\r\n$400000\r\n");
    big.send(&[b'v'; 300_000]);
    let line = wait_for_line(&mut control, "big", |l| field(l, "qbuf") == Some(300_000));
    (control, big, line)
}

#[test]
fn no_evict_protects_a_client_over_the_limit() {
    for server in both() {
        let (mut control, _big, line) = protected_clients_over_the_limit(&server);
        assert!(field(&line, "tot-mem").unwrap() > 400_000, "{line}");
        assert!(line.contains(" flags=e "), "{line}");
        // Any client without the protection goes instead, however little it holds.
        let mut unprotected = server.raw();
        unprotected.send(b"PING\r\n");
        assert!(unprotected.is_closed_within(Duration::from_secs(5)));
        assert!(line_of(&mut control, "big").is_some());
    }
}

/// While protected clients alone hold more than `maxmemory-clients`, Redis's warning is
/// logged, but not at every turn of the loop: busy-polling turns it a thousand times after
/// each event, which made thousands of lines a second. Reddish only: Redis logs it at each
/// turn of its loop, which sleeps between events.
#[test]
fn over_the_client_limit_with_nobody_to_evict_is_logged_once_a_second() {
    const WARNING: &str = "Over client maxmemory after evicting all evictable clients";
    let server = Server::start();
    let (mut control, _big, _) = protected_clients_over_the_limit(&server);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.logs().contains(WARNING) {
        assert!(Instant::now() < deadline, "no warning:\n{}", server.logs());
        sleep(Duration::from_millis(20));
    }
    let first = Instant::now();
    // Events keep the loop turning: a command every 10 ms for 2 s.
    while first.elapsed() < Duration::from_secs(2) {
        assert_eq!(control.cmd(&["PING"]), b"+PONG\r\n");
        sleep(Duration::from_millis(10));
    }
    let logged = server.logs().matches(WARNING).count();
    let most = first.elapsed().as_secs() as usize + 2;
    assert!(
        (2..=most).contains(&logged),
        "{logged} warnings in {:?}",
        first.elapsed()
    );
}

/// A no-evict client's memory is counted anew by the clients cron only, not as its buffers
/// change: with the cron paused, its big request leaves the limit unreached, and others are
/// served; once the cron runs, it is counted and the unprotected client goes.
#[test]
fn a_no_evict_client_is_counted_by_the_cron_only() {
    for server in [
        Server::start_with(&["--enable-debug-command", "yes"]),
        RedisServer::start_with(&["--enable-debug-command", "yes"]),
    ] {
        let mut control = named(&server, "control");
        control.cmd(&["CLIENT", "NO-EVICT", "on"]);
        let mut big = named(&server, "big");
        assert_eq!(big.cmd(&["CLIENT", "NO-EVICT", "on"]), b"+OK\r\n");
        control.cmd(&["CONFIG", "SET", "maxmemory-clients", "200kb"]);
        assert_eq!(control.cmd(&["DEBUG", "PAUSE-CRON", "1"]), b"+OK\r\n");
        big.send(b"*2\r\n$400000\r\n");
        big.send(&[b'v'; 300_000]);
        wait_for_line(&mut control, "big", |l| field(l, "qbuf") == Some(300_000));
        let mut unprotected = named(&server, "unprotected");
        assert_eq!(unprotected.cmd(&["PING"]), b"+PONG\r\n");
        assert_eq!(control.cmd(&["DEBUG", "PAUSE-CRON", "0"]), b"+OK\r\n");
        unprotected.send(b"PING\r\n");
        let _ = unprotected.read_reply_within(Duration::from_millis(100));
        assert!(unprotected.is_closed_within(Duration::from_secs(5)));
        assert_eq!(info_field(&mut control, "stats", "evicted_clients"), 1);
    }
}

#[test]
fn lowering_maxmemory_clients_evicts_at_once() {
    for server in both() {
        let mut control = named(&server, "control");
        control.cmd(&["CLIENT", "NO-EVICT", "on"]);
        let mut holders: Vec<RawConn> = (0..4)
            .map(|i| {
                let mut conn = named(&server, &format!("holder{i}"));
                conn.send(b"*2\r\n$300000\r\n");
                conn.send(&[b'v'; 300_000]);
                conn
            })
            .collect();
        for i in 0..4 {
            wait_for_line(&mut control, &format!("holder{i}"), |l| {
                field(l, "qbuf") == Some(300_000)
            });
        }
        // Room for one holder: the three biggest go, the smallest (any) stays.
        control.cmd(&["CONFIG", "SET", "maxmemory-clients", "500kb"]);
        let remaining = (0..4)
            .filter(|i| line_of(&mut control, &format!("holder{i}")).is_some())
            .count();
        assert_eq!(remaining, 1);
        let mut closed = 0;
        for holder in &mut holders {
            if holder.is_closed_within(Duration::from_millis(200)) {
                closed += 1;
            }
        }
        assert_eq!(closed, 4 - remaining);
    }
}

#[test]
fn maxmemory_clients_takes_bytes_or_a_percentage() {
    differential(
        "CONFIG SET maxmemory-clients 200%\n\
         CONFIG SET maxmemory-clients abc\n\
         CONFIG SET maxmemory-clients 10%\n\
         CONFIG GET maxmemory-clients\n\
         CONFIG SET maxmemory-clients 2mb\n\
         CONFIG GET maxmemory-clients\n\
         CONFIG SET maxmemory-clients 0\n\
         CONFIG GET maxmemory-clients",
    );
}

#[test]
fn the_soft_output_limit_closes_a_reader_that_went_quiet() {
    for server in both() {
        let mut control = server.raw();
        control.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 100000 1",
        ]);
        let mut reader = named(&server, "reader");
        reader.cmd(&["SUBSCRIBE", "news"]);
        let message = "x".repeat(1000);
        // Enough to stay over the soft limit whatever the socket buffers take, sent at once:
        // after this nothing is written to the reader, only the timer can close it.
        let started = Instant::now();
        for _ in 0..20 {
            let mut pipeline = Vec::new();
            for _ in 0..500 {
                pipeline.extend(common::encode_command(&["PUBLISH", "news", &message]));
            }
            control.send(&pipeline);
            for _ in 0..500 {
                control.read_reply();
            }
            if line_of(&mut control, "reader").is_none() {
                break;
            }
        }
        // The reader must not read meanwhile: that would bring it back under the limit.
        let deadline = Instant::now() + Duration::from_secs(5);
        while line_of(&mut control, "reader").is_some() {
            assert!(Instant::now() < deadline, "the reader is still connected");
            sleep(Duration::from_millis(50));
        }
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert!(reader.is_closed_within(Duration::from_secs(5)));
    }
}

#[test]
fn reply_buffers_shrink_when_quiet_and_grow_back_when_busy() {
    for server in both() {
        let mut control = server.raw();
        let value = "x".repeat(40_000);
        assert_eq!(control.cmd(&["SET", "big", &value]), b"+OK\r\n");
        let mut quiet = named(&server, "quiet");
        // The peak is measured anew every 5 s; a connection that used little of its buffer
        // then gets the smallest one.
        let deadline = Instant::now() + Duration::from_secs(9);
        wait_until(&mut control, "quiet", deadline, |l| {
            field(l, "rbs") == Some(1024)
        });
        assert!(info_field(&mut control, "stats", "reply_buffer_shrinks") >= 1);
        // Filled at each look, it doubles back to 16 KB, and no further.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert_eq!(quiet.cmd(&["GET", "big"]).len(), 40_000 + 10);
            let line = line_of(&mut control, "quiet").unwrap();
            if field(&line, "rbs") == Some(16384) {
                break;
            }
            assert!(Instant::now() < deadline, "did not grow back: {line}");
            sleep(Duration::from_millis(50));
        }
        assert!(info_field(&mut control, "stats", "reply_buffer_expands") >= 4);
    }
}

/// Waits until the line of client `name` satisfies `ready`; panics at `deadline`.
#[track_caller]
fn wait_until(conn: &mut RawConn, name: &str, deadline: Instant, ready: impl Fn(&str) -> bool) {
    loop {
        let line = line_of(conn, name).expect("the client is connected");
        if ready(&line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "client {name} never got there: {line}"
        );
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_long_pipeline_is_run_as_it_is_read_not_buffered_whole() {
    for server in both() {
        let mut conn = server.raw();
        // About 5 MB of SETs in one burst, no reply read until all are sent: the server must
        // run what it has read before reading more, as Redis does (16 KB reads), so the query
        // buffer stays small however far behind the server falls.
        let mut burst = Vec::new();
        for i in 0..10_000 {
            burst.extend(common::encode_command(&[
                "SET",
                &format!("key:{i}"),
                &"A".repeat(500),
            ]));
        }
        let mut writer = conn.try_clone_stream();
        let sender = std::thread::spawn(move || {
            use std::io::Write;
            writer.write_all(&burst).unwrap();
        });
        for _ in 0..10_000 {
            assert_eq!(conn.read_reply(), b"+OK\r\n");
        }
        sender.join().unwrap();
        let line = String::from_utf8(conn.cmd(&["CLIENT", "INFO"])).unwrap();
        let held = field(&line, "qbuf").unwrap() + field(&line, "qbuf-free").unwrap();
        assert!(held <= 128 * 1024, "{line}");
    }
}
