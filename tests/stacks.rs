//! STACK commands through the real server: every command, error and reply shape (RESP2 and
//! RESP3), and the generic key commands on stacks.

mod common;

use common::{assert_bytes, Server};
use std::thread::sleep;
use std::time::Duration;

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn push_pop_peek_len_replies() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["STACK.PUSH", "s", "a", "b", "c"]), b":3\r\n");
    assert_bytes(&c.cmd(&["stack.push", "s", "d", "e"]), b":5\r\n");
    assert_bytes(&c.cmd(&["STACK.LEN", "s"]), b":5\r\n");
    assert_bytes(&c.cmd(&["STACK.PEEK", "s"]), b"$1\r\ne\r\n");
    assert_bytes(&c.cmd(&["STACK.POP", "s"]), b"$1\r\ne\r\n");
    assert_bytes(
        &c.cmd(&["STACK.POP", "s", "2"]),
        b"*2\r\n$1\r\nd\r\n$1\r\nc\r\n",
    );
    assert_bytes(&c.cmd(&["STACK.POP", "s", "0"]), b"*0\r\n");
    assert_bytes(
        &c.cmd(&["STACK.POP", "s", "10"]),
        b"*2\r\n$1\r\nb\r\n$1\r\na\r\n",
    );
    assert_bytes(&c.cmd(&["EXISTS", "s"]), b":0\r\n");
    assert_bytes(&c.cmd(&["STACK.POP", "s"]), b"$-1\r\n");
    assert_bytes(&c.cmd(&["STACK.POP", "s", "3"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["STACK.PEEK", "s"]), b"$-1\r\n");
    assert_bytes(&c.cmd(&["STACK.LEN", "s"]), b":0\r\n");
    assert_bytes(&c.cmd(&[&b"STACK.PUSH"[..], b"s", b"\xff\0"]), b":1\r\n");
    assert_bytes(&c.cmd(&["STACK.PEEK", "s"]), b"$2\r\n\xff\0\r\n");
}

#[test]
fn resp3_reply_shapes() {
    let server = Server::start();
    let mut c = server.raw();
    assert!(c.cmd(&["HELLO", "3"]).starts_with(b"%"));
    assert_bytes(&c.cmd(&["STACK.POP", "s"]), b"_\r\n");
    assert_bytes(&c.cmd(&["STACK.POP", "s", "2"]), b"_\r\n");
    assert_bytes(&c.cmd(&["STACK.PEEK", "s"]), b"_\r\n");
    assert_bytes(&c.cmd(&["STACK.PUSH", "s", "x", "y"]), b":2\r\n");
    assert_bytes(
        &c.cmd(&["STACK.POP", "s", "5"]),
        b"*2\r\n$1\r\ny\r\n$1\r\nx\r\n",
    );
}

#[test]
fn errors() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["QUEUE.PUSH", "q", "v"]), b":1\r\n");
    assert_bytes(&c.cmd(&["STACK.PUSH", "q", "x"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["STACK.POP", "q"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["STACK.POP", "q", "0"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["STACK.PEEK", "q"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["STACK.LEN", "q"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["STACK.PUSH", "s", "x"]), b":1\r\n");
    assert_bytes(&c.cmd(&["GET", "s"]), WRONGTYPE);
    let range = b"-ERR value is out of range, must be positive\r\n";
    assert_bytes(&c.cmd(&["STACK.POP", "s", "-3"]), range);
    assert_bytes(&c.cmd(&["STACK.POP", "s", "1.5"]), range);
    for (args, name) in [
        (&["STACK.PUSH", "s"][..], "stack.push"),
        (&["STACK.POP"], "stack.pop"),
        (&["STACK.POP", "s", "1", "2"], "stack.pop"),
        (&["STACK.PEEK"], "stack.peek"),
        (&["STACK.LEN", "s", "x"], "stack.len"),
    ] {
        let expected = format!("-ERR wrong number of arguments for '{name}' command\r\n");
        assert_bytes(&c.cmd(args), expected.as_bytes());
    }
}

#[test]
fn generic_key_commands_work_on_stacks() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["STACK.PUSH", "s", "a", "b"]), b":2\r\n");
    assert_bytes(&c.cmd(&["TYPE", "s"]), b"+stack\r\n");
    assert_bytes(&c.cmd(&["OBJECT", "ENCODING", "s"]), b"$6\r\nvector\r\n");
    assert_bytes(&c.cmd(&["COPY", "s", "s2"]), b":1\r\n");
    assert_bytes(&c.cmd(&["STACK.POP", "s2"]), b"$1\r\nb\r\n");
    assert_bytes(&c.cmd(&["STACK.LEN", "s"]), b":2\r\n");
    assert_bytes(&c.cmd(&["RENAME", "s", "t"]), b"+OK\r\n");
    assert_bytes(&c.cmd(&["STACK.PEEK", "t"]), b"$1\r\nb\r\n");
    assert_bytes(&c.cmd(&["SET", "plain", "v"]), b"+OK\r\n");
    let scanned = c.cmd(&["SCAN", "0", "TYPE", "stack"]);
    assert!(
        scanned == b"*2\r\n$1\r\n0\r\n*2\r\n$2\r\ns2\r\n$1\r\nt\r\n"
            || scanned == b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nt\r\n$2\r\ns2\r\n",
        "{}",
        common::escape(&scanned)
    );
    assert_bytes(&c.cmd(&["PEXPIRE", "t", "50"]), b":1\r\n");
    sleep(Duration::from_millis(80));
    assert_bytes(&c.cmd(&["STACK.LEN", "t"]), b":0\r\n");
    assert_bytes(&c.cmd(&["DEL", "s2", "t"]), b":1\r\n");
    assert_bytes(&c.cmd(&["DBSIZE"]), b":1\r\n");
}

#[test]
fn redis_crate_client_round_trip() {
    let server = Server::start();
    let mut con = server.client();
    let len: i64 = redis::cmd("STACK.PUSH")
        .arg("undo")
        .arg(&["e1", "e2", "e3"])
        .query(&mut con)
        .expect("push");
    assert_eq!(len, 3);
    let top: Option<String> = redis::cmd("STACK.PEEK")
        .arg("undo")
        .query(&mut con)
        .expect("peek");
    assert_eq!(top.as_deref(), Some("e3"));
    let popped: Vec<String> = redis::cmd("STACK.POP")
        .arg("undo")
        .arg(2)
        .query(&mut con)
        .expect("pop");
    assert_eq!(popped, vec!["e3", "e2"]);
    let depth: i64 = redis::cmd("STACK.LEN")
        .arg("undo")
        .query(&mut con)
        .expect("len");
    assert_eq!(depth, 1);
}
