//! The reactor and connection handling, through real sockets against the built binary.

mod common;

use common::{assert_bytes, encode_command, RedisServer, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Reads until the peer closes; returns everything read.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("read failed before the server closed: {e}"),
        }
    }
}

#[test]
fn peers_that_reset_mid_request_are_a_normal_disconnect() {
    let server = Server::start();
    for _ in 0..50 {
        let mut stream = connect(&server);
        // Half a request, then an abortive close (RST) instead of FIN.
        stream.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk").unwrap();
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(stream);
    }
    let mut conn = server.raw();
    assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(server.warnings(), Vec::<String>::new(), "{}", server.logs());
}

#[test]
fn a_large_pipeline_in_one_write_is_answered_in_order() {
    let server = Server::start();
    let mut stream = connect(&server);
    let count = 100_000;
    let mut request = Vec::new();
    for i in 0..count {
        let value = i.to_string();
        request.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{}\r\n",
                value.len(),
                value
            )
            .as_bytes(),
        );
        request.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || stream.write_all(&request).unwrap())
    };
    let mut expected = Vec::new();
    for i in 0..count {
        let value = i.to_string();
        expected.extend_from_slice(b"+OK\r\n");
        expected.extend_from_slice(format!("${}\r\n{}\r\n", value.len(), value).as_bytes());
    }
    let mut got = vec![0u8; expected.len()];
    stream.read_exact(&mut got).unwrap();
    writer.join().unwrap();
    assert!(
        got == expected,
        "pipelined replies differ from the expected sequence"
    );
}

#[test]
fn a_pipelining_client_does_not_starve_others() {
    let server = Server::start();
    // A client that sends a long pipeline and never reads its replies.
    let mut hog = connect(&server);
    let burst: Vec<u8> = b"*1\r\n$4\r\nPING\r\n".repeat(200_000);
    let writer = std::thread::spawn(move || {
        let _ = hog.write_all(&burst);
        hog
    });
    std::thread::sleep(Duration::from_millis(50));
    let mut other = server.raw();
    let started = Instant::now();
    for _ in 0..20 {
        assert_bytes(&other.cmd(&["PING"]), b"+PONG\r\n");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "another client waited {:?}",
        started.elapsed()
    );
    drop(writer);
}

#[test]
fn accepted_sockets_get_tcp_keepalive() {
    let server = Server::start_with(&["--tcp-keepalive", "60"]);
    let _stream = connect(&server);
    std::thread::sleep(Duration::from_millis(100));
    let Ok(output) = Command::new("ss")
        .args([
            "-tno",
            "state",
            "established",
            &format!("( sport = :{} )", server.port()),
        ])
        .output()
    else {
        panic!("`ss` (iproute2) is needed for this test; scripts/test.sh installs it");
    };
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("keepalive"),
        "no keepalive timer on the server socket:\n{text}"
    );
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = Server::start_with(&["--timeout", "1"]);
    let mut stream = connect(&server);
    let started = Instant::now();
    let rest = read_to_close(&mut stream);
    assert!(rest.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

/// `timeout` closes idle clients only: one blocked, one subscribed and one monitoring wait by
/// design and stay open, on Reddish as on Redis. Each server gets the same steps.
#[test]
fn timeout_spares_blocked_subscribed_and_monitoring_clients() {
    for reference in [false, true] {
        let server = if reference {
            RedisServer::start_with(&["--timeout", "1"])
        } else {
            Server::start_with(&["--timeout", "1"])
        };
        let mut idle = server.raw();
        let mut blocked = server.raw();
        blocked.send(&encode_command(&["BLPOP", "timeout:list", "0"]));
        let mut subscriber = server.raw();
        assert_bytes(
            &subscriber.cmd(&["SUBSCRIBE", "timeout:channel"]),
            b"*3\r\n$9\r\nsubscribe\r\n$15\r\ntimeout:channel\r\n:1\r\n",
        );
        let mut monitor = server.raw();
        assert_bytes(&monitor.cmd(&["MONITOR"]), b"+OK\r\n");
        assert!(
            idle.is_closed_within(Duration::from_secs(5)),
            "reference={reference}"
        );
        // Past the idle client's close (more than a second idle), the others are still served.
        std::thread::sleep(Duration::from_millis(1500));
        let mut pusher = server.raw();
        assert_bytes(&pusher.cmd(&["RPUSH", "timeout:list", "x"]), b":1\r\n");
        assert_bytes(
            &blocked.read_reply(),
            b"*2\r\n$12\r\ntimeout:list\r\n$1\r\nx\r\n",
        );
        assert_bytes(&pusher.cmd(&["PUBLISH", "timeout:channel", "m"]), b":1\r\n");
        assert_bytes(
            &subscriber.read_reply(),
            b"*3\r\n$7\r\nmessage\r\n$15\r\ntimeout:channel\r\n$1\r\nm\r\n",
        );
        let seen = monitor.read_reply();
        assert!(
            String::from_utf8_lossy(&seen).contains("\"RPUSH\" \"timeout:list\" \"x\""),
            "reference={reference}: {}",
            String::from_utf8_lossy(&seen)
        );
    }
}

#[test]
fn connections_beyond_maxclients_are_refused_with_redis_error() {
    let server = Server::start_with(&["--maxclients", "2"]);
    let mut a = server.raw();
    // The harness's readiness probe counts as a client until the server has seen it close.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&a.cmd(&["INFO", "clients"])).contains("connected_clients:1\r\n")
    {
        assert!(
            Instant::now() < deadline,
            "the probe connection never went away"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut b = server.raw();
    assert_bytes(&a.cmd(&["PING"]), b"+PONG\r\n");
    assert_bytes(&b.cmd(&["PING"]), b"+PONG\r\n");
    let mut third = connect(&server);
    assert_eq!(
        read_to_close(&mut third),
        b"-ERR max number of clients reached\r\n"
    );
}

#[test]
fn keys_never_read_again_are_expired_actively() {
    let server = Server::start();
    let mut conn = server.raw();
    for i in 0..2000 {
        conn.cmd(&["SET", &format!("k{i}"), "v", "PX", "100"]);
    }
    conn.cmd(&["SET", "stays", "v"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // DBSIZE counts keys not yet collected, so it only drops by active expiry.
        let size = conn.cmd(&["DBSIZE"]);
        if size == b":1\r\n" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "DBSIZE still {:?}",
            String::from_utf8_lossy(&size)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let info = String::from_utf8_lossy(&conn.cmd(&["INFO", "stats"])).into_owned();
    assert!(info.contains("expired_keys:2000"), "{info}");
}

#[test]
fn oversized_bulk_lengths_are_refused_and_the_connection_closed() {
    let server = Server::start_with(&["--proto-max-bulk-len", "1mb"]);
    let mut stream = connect(&server);
    stream
        .write_all(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n")
        .unwrap();
    assert_eq!(
        read_to_close(&mut stream),
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
    // CONFIG SET applies to connections that are already open.
    let mut conn = server.raw();
    assert_bytes(
        &conn.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "4mb"]),
        b"+OK\r\n",
    );
    let big = "x".repeat(2_000_000);
    let reply = conn.cmd(&["ECHO", &big]);
    assert_eq!(reply.len(), big.len() + 12);
}

#[test]
fn shutdown_and_sigterm_exit_cleanly() {
    let mut server = Server::start();
    let mut conn = connect(&server);
    conn.write_all(b"*1\r\n$8\r\nSHUTDOWN\r\n").unwrap();
    assert!(
        read_to_close(&mut conn).is_empty(),
        "SHUTDOWN replies nothing on success"
    );
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let mut server = Server::start();
    assert!(server.terminate().success());
    assert!(server.logs().contains("ready to exit"));
}

#[test]
fn inline_and_multibulk_requests_mix_on_one_connection() {
    let server = Server::start();
    let mut stream = connect(&server);
    stream
        .write_all(b"SET greeting \"hello world\"\r\n*2\r\n$3\r\nGET\r\n$8\r\ngreeting\r\nPING\n")
        .unwrap();
    let expected = b"+OK\r\n$11\r\nhello world\r\n+PONG\r\n";
    let mut got = vec![0u8; expected.len()];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(got, expected);
}
