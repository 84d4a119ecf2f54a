//! RESP3 after `HELLO 3`: reply shapes compared with a real redis-server, HELLO itself, and
//! `redis-cli -3`.

mod common;

use common::{assert_bytes, differential, Differential, RedisServer, Server};
use std::process::Command;

/// HELLO's reply with the connection id (which differs between servers) blanked.
fn hello_without_id(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply).into_owned();
    let mut parts: Vec<&str> = text.split("\r\n").collect();
    if let Some(at) = parts.iter().position(|p| *p == "id") {
        parts[at + 1] = ":<id>";
    }
    parts.join("\r\n")
}

#[test]
fn hello_replies_like_redis() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    for args in [
        &["HELLO"][..],
        &["HELLO", "3"][..],
        &["HELLO", "2"][..],
        &["HELLO", "3", "SETNAME", "app"][..],
        &["HELLO", "3", "AUTH", "default", "anything"][..],
        &["HELLO", "4"][..],
        &["HELLO", "x"][..],
        &["HELLO", "3", "AUTH", "nobody", "pw"][..],
        &["HELLO", "3", "SETNAME", "bad name"][..],
        &["HELLO", "3", "BOGUS"][..],
    ] {
        let ours = hello_without_id(&reddish.raw().cmd(args));
        let theirs = hello_without_id(&redis.raw().cmd(args));
        assert_eq!(ours, theirs, "{args:?}");
    }
}

#[test]
fn replies_after_hello_3_like_redis() {
    differential(
        "@any HELLO 3
         SET k v
         GET k
         GET nokey
         MGET k nokey
         SET n 10
         INCRBYFLOAT n 1.5
         SET k v GET
         SET k2 v NX GET
         GETEX k PERSIST
         GETDEL nokey
         EXPIRE k 100
         TTL k
         PERSIST k
         TTL nokey
         EXISTS k nokey
         TYPE k
         TYPE nokey
         @sorted KEYS *
         @scan SCAN 0
         @type RANDOMKEY
         OBJECT ENCODING n
         OBJECT ENCODING nokey
         CONFIG GET maxmemory
         CONFIG GET notify-keyspace-events
         CONFIG SET notify-keyspace-events KEA
         CONFIG GET notify-keyspace-events
         @type INFO server
         @type CLIENT LIST
         @type CLIENT INFO
         @type TIME
         CLIENT GETNAME
         CLIENT SETNAME me
         CLIENT GETNAME
         CLIENT REPLY ON
         ECHO hi
         PING
         PING x
         DBSIZE
         PUBSUB NUMSUB a b
         PUBSUB CHANNELS
         PUBSUB NUMPAT
         MULTI
         SET a 1
         GET a
         GET nokey
         EXEC
         WATCH k
         @conn 1
         SET k changed
         @conn 0
         MULTI
         EXEC
         UNWATCH
         DISCARD
         @type COMMAND INFO get nosuchcommand
         OBJECT NOSUCH
         DEL k n a
         RESET
         GET nokey
         ",
    );
}

#[test]
fn verbatim_and_map_shapes() {
    let server = Server::start();
    let mut conn = server.raw();
    conn.cmd(&["HELLO", "3"]);
    let info = conn.cmd(&["INFO", "server"]);
    assert!(info.starts_with(b"="), "INFO is verbatim text");
    assert!(
        String::from_utf8_lossy(&info).contains("\r\ntxt:# Server\r\n"),
        "{}",
        String::from_utf8_lossy(&info)
    );
    let list = conn.cmd(&["CLIENT", "LIST"]);
    assert!(list.starts_with(b"=") && String::from_utf8_lossy(&list).contains("txt:id="));
    assert_bytes(
        &conn.cmd(&["CONFIG", "GET", "databases"]),
        b"%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n",
    );
    assert_bytes(conn.cmd(&["HELLO", "2"]).split_at(4).0, b"*14\r");
    assert_bytes(
        &conn.cmd(&["CONFIG", "GET", "databases"]),
        b"*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n",
    );
}

/// `redis-cli -3` output for a few commands, from both servers.
#[test]
fn redis_cli_dash_3_works_as_with_redis() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let run = |server: &Server, args: &[&str]| {
        let port = server.port().to_string();
        let mut all = vec!["5", "redis-cli", "-3", "-p", port.as_str()];
        all.extend_from_slice(args);
        let out = Command::new("timeout")
            .args(&all)
            .output()
            .expect("redis-cli (scripts/test.sh installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for args in [
        &["SET", "k", "v"][..],
        &["GET", "k"][..],
        &["GET", "missing"][..],
        &["CONFIG", "GET", "maxmemory"][..],
        &["INCRBYFLOAT", "f", "2.5"][..],
        &["EXISTS", "k"][..],
        &["PUBSUB", "NUMSUB", "x"][..],
    ] {
        assert_eq!(
            run(&reddish, args),
            run(&redis, args),
            "redis-cli -3 {args:?}"
        );
    }
    let hello = run(&reddish, &["HELLO", "3"]);
    assert!(hello.contains("proto") && hello.contains('3'), "{hello}");
}

#[test]
fn null_transaction_reply_is_resp3_null() {
    let mut both = Differential::new();
    both.run(
        "@any HELLO 3
         WATCH w
         @conn 1
         SET w 1
         @conn 0
         MULTI
         PING
         EXEC
         ",
    );
}
