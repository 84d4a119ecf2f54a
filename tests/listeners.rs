//! The listeners: CONFIG SET port/bind at run time, protected mode, the Unix socket and the
//! `bind` line of CONFIG REWRITE, each run against Reddish and a real redis-server alike.

mod common;

use common::{assert_bytes, escape, free_port, RawConn, RedisServer, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// Reddish and the reference, started with the same arguments.
fn both(args: &[&str]) -> [(&'static str, Server); 2] {
    [
        ("reddish", Server::start_with(args)),
        ("redis", RedisServer::start_with(args)),
    ]
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Whether nothing listens at `addr` any more.
fn refused(addr: SocketAddr) -> bool {
    matches!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused
    )
}

fn ping(addr: SocketAddr) -> Vec<u8> {
    match RawConn::connect(addr) {
        Ok(mut conn) => conn.cmd(&["PING"]),
        Err(e) => panic!("cannot connect to {addr}: {e}"),
    }
}

fn bulk_pair(name: &str, value: &str) -> Vec<u8> {
    format!(
        "*2\r\n${}\r\n{name}\r\n${}\r\n{value}\r\n",
        name.len(),
        value.len()
    )
    .into_bytes()
}

#[test]
fn config_set_port_moves_the_listener_and_keeps_open_connections() {
    for (name, server) in both(&[]) {
        let mut conn = server.raw();
        let new_port = free_port();
        assert_bytes(
            &conn.cmd(&["CONFIG", "SET", "port", &new_port.to_string()]),
            b"+OK\r\n",
        );
        assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");
        assert_bytes(&ping(local(new_port)), b"+PONG\r\n");
        assert!(refused(server.addr()), "{name}: the old port still listens");

        // A port another socket holds: refused, and the server stays where it was.
        let holder = TcpListener::bind(local(0)).expect("bind a port to hold");
        let busy = holder.local_addr().expect("held address").port();
        assert_bytes(
            &conn.cmd(&["CONFIG", "SET", "port", &busy.to_string()]),
            b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n",
        );
        assert_bytes(
            &conn.cmd(&["CONFIG", "GET", "port"]),
            &bulk_pair("port", &new_port.to_string()),
        );
        assert_bytes(&ping(local(new_port)), b"+PONG\r\n");
    }
}

#[test]
fn config_set_bind_rebinds_refuses_bad_addresses_and_can_stop_listening() {
    for (name, server) in both(&[]) {
        let mut conn = server.raw();
        assert_bytes(
            &conn.cmd(&["CONFIG", "SET", "bind", "999.999.999.999"]),
            b"-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n",
        );
        assert_bytes(&ping(server.addr()), b"+PONG\r\n");

        // From 127.0.0.1 to every address on the same port: the wildcard overlaps the old one.
        assert_bytes(&conn.cmd(&["CONFIG", "SET", "bind", "* -::*"]), b"+OK\r\n");
        assert_bytes(
            &conn.cmd(&["CONFIG", "GET", "bind"]),
            &bulk_pair("bind", "* -::*"),
        );
        assert_bytes(&ping(server.addr()), b"+PONG\r\n");
        assert_bytes(&conn.cmd(&["CONFIG", "SET", "bind", "*"]), b"+OK\r\n");
        assert_bytes(&ping(server.addr()), b"+PONG\r\n");

        assert_bytes(&conn.cmd(&["CONFIG", "SET", "bind", ""]), b"+OK\r\n");
        assert_bytes(
            &conn.cmd(&["CONFIG", "GET", "bind"]),
            &bulk_pair("bind", ""),
        );
        assert!(
            refused(server.addr()),
            "{name}: still listening with bind \"\""
        );
        assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");

        assert_bytes(
            &conn.cmd(&["CONFIG", "SET", "bind", "127.0.0.1"]),
            b"+OK\r\n",
        );
        assert_bytes(&ping(server.addr()), b"+PONG\r\n");
        assert_bytes(
            &conn.cmd(&["CONFIG", "SET", "bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"]),
            b"-ERR CONFIG SET failed (possibly related to argument 'bind') - Too many bind addresses specified.\r\n",
        );
    }
}

#[test]
fn defaults_of_the_listener_parameters_are_redis_defaults() {
    for (_, server) in both(&[]) {
        let mut conn = server.raw();
        for (param, value) in [
            ("protected-mode", "yes"),
            ("unixsocket", ""),
            ("unixsocketperm", "0"),
        ] {
            assert_bytes(
                &conn.cmd(&["CONFIG", "GET", param]),
                &bulk_pair(param, value),
            );
        }
    }
}

/// This machine's first non-loopback address (`hostname -I`, as Redis's own test finds it).
fn non_loopback_addr() -> Option<IpAddr> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|word| word.parse::<IpAddr>().ok())
        .find(|ip| !ip.is_loopback())
}

/// What a connection from `ip` receives before the server closes it (within 5 s).
fn received_until_close(ip: IpAddr, port: u16, send: &[u8]) -> Vec<u8> {
    let mut stream =
        match TcpStream::connect_timeout(&SocketAddr::new(ip, port), Duration::from_secs(5)) {
            Ok(stream) => stream,
            Err(e) => panic!("cannot connect to {ip}:{port}: {e}"),
        };
    let _ = stream.write_all(send);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

#[test]
fn protected_mode_refuses_other_machines_until_a_password_or_protected_mode_no() {
    let Some(ip) = non_loopback_addr() else {
        println!("SKIPPED protected mode: this machine has no non-loopback address");
        return;
    };
    let mut denied = None;
    for (name, server) in both(&[]) {
        let mut conn = server.raw();
        assert_bytes(&conn.cmd(&["CONFIG", "SET", "bind", "*"]), b"+OK\r\n");
        let refused_text = received_until_close(ip, server.port(), b"PING\r\n");
        assert!(
            refused_text.starts_with(b"-DENIED Redis is running in protected mode"),
            "{name}: {}",
            escape(&refused_text)
        );
        match &denied {
            None => denied = Some(refused_text),
            Some(first) => assert_bytes(&refused_text, first),
        }

        assert_bytes(
            &conn.cmd(&["CONFIG", "SET", "requirepass", "secret"]),
            b"+OK\r\n",
        );
        let mut remote = match RawConn::connect(SocketAddr::new(ip, server.port())) {
            Ok(remote) => remote,
            Err(e) => panic!("{name}: cannot connect from {ip}: {e}"),
        };
        assert_bytes(&remote.cmd(&["AUTH", "secret"]), b"+OK\r\n");
        assert_bytes(&remote.cmd(&["PING"]), b"+PONG\r\n");

        assert_bytes(&conn.cmd(&["CONFIG", "SET", "requirepass", ""]), b"+OK\r\n");
        let again = received_until_close(ip, server.port(), b"PING\r\n");
        assert!(again.starts_with(b"-DENIED"), "{name}: {}", escape(&again));
        // A connection made before stays.
        assert_bytes(&remote.cmd(&["PING"]), b"+PONG\r\n");

        assert_bytes(
            &conn.cmd(&["CONFIG", "SET", "protected-mode", "no"]),
            b"+OK\r\n",
        );
        assert_bytes(&ping(SocketAddr::new(ip, server.port())), b"+PONG\r\n");
    }
}

#[cfg(unix)]
#[test]
fn the_unix_socket_serves_clients_with_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixStream;
    let dir = std::env::temp_dir().join(common::unique_name("reddish-unix"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut lines = Vec::new();
    for (i, label) in ["reddish", "redis"].into_iter().enumerate() {
        let path = dir.join(format!("s{i}"));
        let path_text = path.to_string_lossy().into_owned();
        let args = [
            "--unixsocket",
            path_text.as_str(),
            "--unixsocketperm",
            "700",
        ];
        let server = if label == "reddish" {
            Server::start_with(&args)
        } else {
            RedisServer::start_with(&args)
        };
        // The TCP port accepts as soon as it listens, which may be just before the socket
        // file is made (for both servers): wait for the file.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let metadata = loop {
            match std::fs::metadata(&path) {
                Ok(metadata) => break metadata,
                Err(e) if std::time::Instant::now() > deadline => {
                    panic!("{label}: no socket file: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        let mode = metadata.permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{label}");
        let mut stream = UnixStream::connect(&path).expect("connect to the Unix socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream
            .write_all(b"PING\r\nCONFIG GET unixsocketperm\r\nCLIENT INFO\r\n")
            .expect("send");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(b"resp=2\n\r\n") {
            let n = stream.read(&mut buf).expect("read");
            assert!(n > 0, "{label}: closed after {}", escape(&got));
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got).into_owned();
        assert!(
            text.starts_with("+PONG\r\n*2\r\n$14\r\nunixsocketperm\r\n$3\r\n700\r\n"),
            "{label}: {text}"
        );
        let addr = format!("addr={path_text}:0 laddr={path_text}:0 ");
        assert!(text.contains(&addr), "{label}: {text}");
        let flags = text
            .split(' ')
            .find(|field| field.starts_with("flags="))
            .map(String::from);
        lines.push(flags);
        drop(server);
    }
    assert_eq!(
        lines[0], lines[1],
        "CLIENT INFO flags of a Unix socket client"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_rewrite_writes_bind_only_when_it_is_not_the_default() {
    let dir = std::env::temp_dir().join(common::unique_name("reddish-rewrite"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut outcomes = Vec::new();
    for label in ["reddish", "redis"] {
        let file = dir.join(format!("{label}.conf"));
        std::fs::write(&file, "# kept comment\nmaxmemory 2mb\n").expect("write the config");
        let file_text = file.to_string_lossy().into_owned();
        let server = if label == "reddish" {
            Server::start_with(&[file_text.as_str()])
        } else {
            RedisServer::start_with(&[file_text.as_str()])
        };
        let mut conn = server.raw();
        let bind_lines = |conn: &mut RawConn, value: &str| {
            assert_bytes(&conn.cmd(&["CONFIG", "SET", "bind", value]), b"+OK\r\n");
            assert_bytes(&conn.cmd(&["CONFIG", "REWRITE"]), b"+OK\r\n");
            let text = std::fs::read_to_string(&file).expect("read the rewritten config");
            let lines: Vec<String> = text
                .lines()
                .filter(|line| line.starts_with("bind"))
                .map(String::from)
                .collect();
            (text, lines)
        };
        let (text, default_lines) = bind_lines(&mut conn, "* -::*");
        assert!(text.starts_with("# kept comment\n"), "{label}: {text}");
        assert!(text.contains("maxmemory 2"), "{label}: {text}");
        let (_, empty_lines) = bind_lines(&mut conn, "");
        let (_, local_lines) = bind_lines(&mut conn, "127.0.0.1");
        outcomes.push((default_lines, empty_lines, local_lines));
        // The file loads again.
        drop(server);
        let mut again = if label == "reddish" {
            Server::start_with(&[file_text.as_str()])
        } else {
            RedisServer::start_with(&[file_text.as_str()])
        };
        assert_bytes(
            &again.raw().cmd(&["CONFIG", "GET", "maxmemory"]),
            &bulk_pair("maxmemory", "2097152"),
        );
        assert!(again.is_running(), "{label}");
    }
    assert_eq!(outcomes[0], outcomes[1]);
    assert_eq!(outcomes[0].0, Vec::<String>::new());
    assert_eq!(outcomes[0].1, vec!["bind \"\"".to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
}
