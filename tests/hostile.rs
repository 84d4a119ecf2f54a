//! Clients that misbehave on purpose: one byte a second (slowloris), thousands of connections
//! opened and dropped at once, half a command and then gone, a query buffer past
//! `client-query-buffer-limit`. The server must keep serving everyone else, promptly, and free
//! what the bad clients held.
//!
//! The query buffer limit scenario runs on a real redis-server too, so the behaviour compared
//! is Redis's: `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test hostile`
//! checks the tests themselves.

mod common;

use common::{encode_command, RawConn, RedisServer, Server};
use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

/// The `connected_clients` figure of INFO clients.
fn connected_clients(conn: &mut RawConn) -> usize {
    let info = text(&conn.cmd(&["INFO", "clients"]));
    info.lines()
        .find_map(|line| line.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connected_clients in {info}"))
}

/// Waits until the server counts `expected` clients (closing is noticed asynchronously).
#[track_caller]
fn wait_for_clients(conn: &mut RawConn, expected: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = connected_clients(conn);
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{now} clients connected, expected {expected}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// The slowest of `rounds` round trips of PING on `conn`.
fn slowest_ping(conn: &mut RawConn, rounds: usize) -> Duration {
    (0..rounds)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(conn.cmd(&["PING"]), b"+PONG\r\n");
            started.elapsed()
        })
        .max()
        .unwrap_or_default()
}

#[test]
fn slowloris_clients_are_served_and_slow_no_one_else() {
    let server = Server::start();
    // Twenty clients each sending a command one byte a second, RESP or inline.
    let mut slow = Vec::new();
    for at in 0..20 {
        let mut conn = server.raw();
        conn.set_timeout(Duration::from_secs(30));
        let bytes = if at % 2 == 0 {
            encode_command(&["PING"])
        } else {
            b"SET slow done\r\n".to_vec()
        };
        slow.push((conn, bytes));
    }
    let longest = slow.iter().map(|(_, b)| b.len()).max().unwrap_or(0);
    let mut normal = server.raw();
    let mut worst = Duration::ZERO;
    for at in 0..longest {
        for (conn, bytes) in &mut slow {
            if let Some(&byte) = bytes.get(at) {
                conn.send(&[byte]);
            }
        }
        // Meanwhile another client's commands are answered at once.
        worst = worst.max(slowest_ping(&mut normal, 20));
        thread::sleep(Duration::from_secs(1));
    }
    assert!(
        worst < Duration::from_millis(500),
        "a normal client waited {worst:?} while slow ones trickled"
    );
    for (conn, bytes) in &mut slow {
        let expected: &[u8] = if bytes.starts_with(b"*") {
            b"+PONG\r\n"
        } else {
            b"+OK\r\n"
        };
        assert_eq!(conn.read_reply(), expected);
    }
    assert_eq!(normal.cmd(&["GET", "slow"]), b"$4\r\ndone\r\n");
}

#[test]
fn five_thousand_connections_opened_and_dropped_at_once() {
    let server = Server::start();
    let mut watcher = server.raw();
    let addr = server.addr();
    // Opened from four threads at once, some with half a command in them, then all dropped.
    let openers: Vec<_> = (0..4)
        .map(|part| {
            thread::spawn(move || {
                let mut conns = Vec::new();
                for at in 0..1250 {
                    match TcpStream::connect(addr) {
                        Ok(mut conn) => {
                            if at % 3 == 0 {
                                let _ = conn.write_all(b"*2\r\n$3\r\nGET\r\n$1");
                            }
                            conns.push(conn);
                        }
                        Err(e) => panic!("connection {at} of part {part}: {e}"),
                    }
                }
                conns
            })
        })
        .collect();
    let conns: Vec<TcpStream> = openers
        .into_iter()
        .flat_map(|opener| opener.join().expect("opener thread"))
        .collect();
    assert_eq!(conns.len(), 5000);
    // The server answers while they are all open...
    assert_eq!(watcher.cmd(&["PING"]), b"+PONG\r\n");
    wait_for_clients(&mut watcher, 5001);
    drop(conns);
    // ... and after they are all gone, with none of them left counted.
    wait_for_clients(&mut watcher, 1);
    assert_eq!(watcher.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    let mut fresh = server.raw();
    assert_eq!(fresh.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
}

#[test]
fn half_a_command_then_gone_changes_nothing() {
    let server = Server::start();
    let mut watcher = server.raw();
    for cut in [
        &b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$10\r\nabc"[..],
        b"*3\r\n$3\r\nSET\r\n$4\r\nhalf",
        b"*3\r\n",
        b"SET half inline-without-newline",
        b"*1\r\n$100000\r\n",
    ] {
        let mut conn = server.raw();
        conn.send(cut);
        // MULTI state, a blocked command and half a command: all dropped with the client.
        drop(conn);
    }
    let mut blocked = server.raw();
    blocked.send(&encode_command(&["BLPOP", "never", "0"]));
    blocked.send(b"*2\r\n$3\r\nGET");
    drop(blocked);
    wait_for_clients(&mut watcher, 1);
    assert_eq!(watcher.cmd(&["EXISTS", "half"]), b":0\r\n");
    assert_eq!(watcher.cmd(&["LPUSH", "never", "x"]), b":1\r\n");
    assert_eq!(watcher.cmd(&["LLEN", "never"]), b":1\r\n");
    let info = text(&watcher.cmd(&["INFO", "clients"]));
    assert!(info.contains("blocked_clients:0\r\n"), "{info}");
}

/// What a server does with a client whose unfinished argument passes
/// `client-query-buffer-limit`: the replies of the scenario, in order.
fn query_buffer_scenario(server: &Server) -> Vec<String> {
    let mut replies = Vec::new();
    let mut admin = server.raw();
    replies.push(text(&admin.cmd(&[
        "CONFIG",
        "GET",
        "client-query-buffer-limit",
    ])));
    replies.push(text(&admin.cmd(&[
        "CONFIG",
        "SET",
        "client-query-buffer-limit",
        "1000",
    ])));
    replies.push(text(&admin.cmd(&[
        "CONFIG",
        "SET",
        "client-query-buffer-limit",
        "1mb",
    ])));
    replies.push(text(&admin.cmd(&[
        "CONFIG",
        "GET",
        "client-query-buffer-limit",
    ])));

    // Under the limit: a 900 KB argument arrives in pieces and is stored.
    let mut under = server.raw();
    let value = vec![b'u'; 900 * 1024];
    let request = encode_command(&[&b"SET"[..], b"under", &value]);
    for piece in request.chunks(64 * 1024) {
        under.send(piece);
        thread::sleep(Duration::from_millis(5));
    }
    replies.push(text(&under.read_reply()));
    replies.push(text(&admin.cmd(&["STRLEN", "under"])));

    // Over it: a 3 MB argument is cut off, the client closed, nothing stored.
    let mut over = server.raw();
    let value = vec![b'o'; 3 * 1024 * 1024];
    let request = encode_command(&[&b"SET"[..], b"over", &value]);
    // The server may close while we write: a failed write is the expected outcome too.
    let mut stream = over.try_clone_stream();
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    for piece in request.chunks(64 * 1024) {
        if stream.write_all(piece).is_err() {
            break;
        }
    }
    replies.push(format!(
        "closed: {}",
        over.is_closed_within(Duration::from_secs(5))
    ));
    replies.push(text(&admin.cmd(&["EXISTS", "over"])));
    // The others are still served, and a pipeline of small commands past the limit in total
    // is not a query buffer past it.
    let mut pipeline = Vec::new();
    for at in 0..40_000 {
        pipeline.extend_from_slice(&encode_command(&[
            "SET",
            &format!("key:{at}"),
            "0123456789abcdef0123456789abcdef",
        ]));
    }
    assert!(pipeline.len() > 2 * 1024 * 1024);
    let mut busy = server.raw();
    let mut stream = busy.try_clone_stream();
    let writer = thread::spawn(move || stream.write_all(&pipeline).is_ok());
    let mut last = Vec::new();
    for _ in 0..40_000 {
        last = busy.read_reply();
    }
    assert!(writer.join().unwrap_or(false), "the pipeline was written");
    replies.push(text(&last));
    replies.push(text(&admin.cmd(&["DBSIZE"])));
    replies
}

#[test]
fn client_query_buffer_limit_closes_as_redis_does() {
    let redis = query_buffer_scenario(&RedisServer::start());
    assert_eq!(
        redis,
        vec![
            "*2\r\n$25\r\nclient-query-buffer-limit\r\n$10\r\n1073741824\r\n".to_string(),
            "-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n".to_string(),
            "+OK\r\n".to_string(),
            "*2\r\n$25\r\nclient-query-buffer-limit\r\n$7\r\n1048576\r\n".to_string(),
            "+OK\r\n".to_string(),
            ":921600\r\n".to_string(),
            "closed: true".to_string(),
            ":0\r\n".to_string(),
            "+OK\r\n".to_string(),
            ":40001\r\n".to_string(),
        ]
    );
    let reddish = query_buffer_scenario(&Server::start());
    assert_eq!(reddish, redis);
}
