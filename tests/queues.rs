//! QUEUE commands through the real server: every command, error and reply shape (RESP2 and
//! RESP3), the generic key commands on queues, and blocking QUEUE.BPOP.

mod common;

use common::{assert_bytes, RawConn, Server};
use std::thread::sleep;
use std::time::{Duration, Instant};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// Switches a raw connection to RESP3.
fn resp3(conn: &mut RawConn) {
    let reply = conn.cmd(&["HELLO", "3"]);
    assert!(reply.starts_with(b"%"), "HELLO 3 answered {reply:?}");
}

/// Waits (bounded) until the server reports `count` blocked clients.
fn wait_blocked(conn: &mut RawConn, count: usize) {
    let wanted = format!("blocked_clients:{count}\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = conn.cmd(&["INFO", "clients"]);
        if String::from_utf8_lossy(&info).contains(&wanted) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {wanted:?}");
        sleep(Duration::from_millis(5));
    }
}

#[test]
fn push_pop_peek_len_replies() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["QUEUE.PUSH", "q", "a", "b", "c"]), b":3\r\n");
    assert_bytes(&c.cmd(&["queue.push", "q", "d", "e"]), b":5\r\n");
    assert_bytes(&c.cmd(&["QUEUE.LEN", "q"]), b":5\r\n");
    assert_bytes(&c.cmd(&["QUEUE.PEEK", "q"]), b"$1\r\na\r\n");
    assert_bytes(&c.cmd(&["QUEUE.POP", "q"]), b"$1\r\na\r\n");
    assert_bytes(
        &c.cmd(&["QUEUE.POP", "q", "2"]),
        b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
    );
    assert_bytes(&c.cmd(&["QUEUE.POP", "q", "0"]), b"*0\r\n");
    assert_bytes(
        &c.cmd(&["QUEUE.POP", "q", "10"]),
        b"*2\r\n$1\r\nd\r\n$1\r\ne\r\n",
    );
    // Emptied: the key is gone, as a list's would be.
    assert_bytes(&c.cmd(&["EXISTS", "q"]), b":0\r\n");
    assert_bytes(&c.cmd(&["QUEUE.POP", "q"]), b"$-1\r\n");
    assert_bytes(&c.cmd(&["QUEUE.POP", "q", "3"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["QUEUE.POP", "q", "0"]), b"*-1\r\n");
    assert_bytes(&c.cmd(&["QUEUE.PEEK", "q"]), b"$-1\r\n");
    assert_bytes(&c.cmd(&["QUEUE.LEN", "q"]), b":0\r\n");
    // Binary-safe elements.
    assert_bytes(
        &c.cmd(&[&b"QUEUE.PUSH"[..], b"q", b"a\0\r\nb", b""]),
        b":2\r\n",
    );
    assert_bytes(&c.cmd(&["QUEUE.POP", "q"]), b"$5\r\na\0\r\nb\r\n");
    assert_bytes(&c.cmd(&["QUEUE.POP", "q"]), b"$0\r\n\r\n");
}

#[test]
fn resp3_reply_shapes() {
    let server = Server::start();
    let mut c = server.raw();
    resp3(&mut c);
    assert_bytes(&c.cmd(&["QUEUE.POP", "q"]), b"_\r\n");
    assert_bytes(&c.cmd(&["QUEUE.POP", "q", "2"]), b"_\r\n");
    assert_bytes(&c.cmd(&["QUEUE.PEEK", "q"]), b"_\r\n");
    assert_bytes(&c.cmd(&["QUEUE.PUSH", "q", "x"]), b":1\r\n");
    assert_bytes(&c.cmd(&["QUEUE.POP", "q", "2"]), b"*1\r\n$1\r\nx\r\n");
    assert_bytes(&c.cmd(&["QUEUE.BPOP", "q", "0.01"]), b"_\r\n");
}

#[test]
fn errors() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["SET", "s", "v"]), b"+OK\r\n");
    assert_bytes(&c.cmd(&["QUEUE.PUSH", "s", "x"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["QUEUE.POP", "s"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["QUEUE.POP", "s", "0"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["QUEUE.PEEK", "s"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["QUEUE.LEN", "s"]), WRONGTYPE);
    assert_bytes(&c.cmd(&["QUEUE.BPOP", "s", "0"]), WRONGTYPE);
    // A wrong type after a queue with data is never looked at, as BLPOP does.
    assert_bytes(&c.cmd(&["QUEUE.PUSH", "q", "x"]), b":1\r\n");
    assert_bytes(
        &c.cmd(&["QUEUE.BPOP", "q", "s", "0"]),
        b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n",
    );
    assert_bytes(&c.cmd(&["STACK.PUSH", "st", "x"]), b":1\r\n");
    assert_bytes(&c.cmd(&["QUEUE.LEN", "st"]), WRONGTYPE);
    let range = b"-ERR value is out of range, must be positive\r\n";
    assert_bytes(&c.cmd(&["QUEUE.POP", "q", "-1"]), range);
    assert_bytes(&c.cmd(&["QUEUE.POP", "q", "one"]), range);
    for (args, name) in [
        (&["QUEUE.PUSH", "q"][..], "queue.push"),
        (&["QUEUE.POP"], "queue.pop"),
        (&["QUEUE.POP", "q", "1", "2"], "queue.pop"),
        (&["QUEUE.PEEK"], "queue.peek"),
        (&["QUEUE.PEEK", "q", "x"], "queue.peek"),
        (&["QUEUE.LEN"], "queue.len"),
        (&["QUEUE.BPOP", "q"], "queue.bpop"),
    ] {
        let expected = format!("-ERR wrong number of arguments for '{name}' command\r\n");
        assert_bytes(&c.cmd(args), expected.as_bytes());
    }
    assert_bytes(
        &c.cmd(&["QUEUE.BPOP", "q", "soon"]),
        b"-ERR timeout is not a float or out of range\r\n",
    );
    assert_bytes(
        &c.cmd(&["QUEUE.BPOP", "q", "-1"]),
        b"-ERR timeout is negative\r\n",
    );
}

#[test]
fn generic_key_commands_work_on_queues() {
    let server = Server::start();
    let mut c = server.raw();
    assert_bytes(&c.cmd(&["QUEUE.PUSH", "q", "a", "b"]), b":2\r\n");
    assert_bytes(&c.cmd(&["TYPE", "q"]), b"+queue\r\n");
    assert_bytes(
        &c.cmd(&["OBJECT", "ENCODING", "q"]),
        b"$10\r\nringbuffer\r\n",
    );
    assert_bytes(&c.cmd(&["EXISTS", "q"]), b":1\r\n");
    assert_bytes(&c.cmd(&["COPY", "q", "q2"]), b":1\r\n");
    assert_bytes(&c.cmd(&["QUEUE.POP", "q2"]), b"$1\r\na\r\n");
    assert_bytes(&c.cmd(&["QUEUE.LEN", "q"]), b":2\r\n");
    assert_bytes(&c.cmd(&["RENAME", "q", "r"]), b"+OK\r\n");
    assert_bytes(&c.cmd(&["QUEUE.PEEK", "r"]), b"$1\r\na\r\n");
    assert_bytes(&c.cmd(&["SET", "plain", "v"]), b"+OK\r\n");
    // SCAN's order is unspecified: either order of the two queues.
    let scanned = c.cmd(&["SCAN", "0", "TYPE", "queue"]);
    assert!(
        scanned == b"*2\r\n$1\r\n0\r\n*2\r\n$2\r\nq2\r\n$1\r\nr\r\n"
            || scanned == b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nr\r\n$2\r\nq2\r\n",
        "{}",
        common::escape(&scanned)
    );
    assert_bytes(&c.cmd(&["PEXPIRE", "r", "50"]), b":1\r\n");
    sleep(Duration::from_millis(80));
    assert_bytes(&c.cmd(&["QUEUE.LEN", "r"]), b":0\r\n");
    assert_bytes(&c.cmd(&["EXISTS", "r"]), b":0\r\n");
    assert_bytes(&c.cmd(&["DEL", "q2"]), b":1\r\n");
    assert_bytes(&c.cmd(&["DBSIZE"]), b":1\r\n");
}

#[test]
fn writes_are_counted_only_when_something_changes() {
    let server = Server::start();
    let mut c = server.raw();
    let changes = |c: &mut RawConn| -> u64 {
        let info = String::from_utf8_lossy(&c.cmd(&["INFO", "persistence"])).into_owned();
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(u64::MAX)
    };
    let start = changes(&mut c);
    c.cmd(&["QUEUE.PUSH", "q", "a"]);
    c.cmd(&["QUEUE.POP", "q", "0"]);
    c.cmd(&["QUEUE.POP", "missing"]);
    c.cmd(&["QUEUE.PEEK", "q"]);
    assert_eq!(changes(&mut c), start + 1);
    c.cmd(&["QUEUE.POP", "q"]);
    assert_eq!(changes(&mut c), start + 2);
}

#[test]
fn redis_crate_client_round_trip() {
    let server = Server::start();
    let mut con = server.client();
    let len: i64 = redis::cmd("QUEUE.PUSH")
        .arg("jobs")
        .arg(&["j1", "j2", "j3"])
        .query(&mut con)
        .expect("push");
    assert_eq!(len, 3);
    let head: Option<String> = redis::cmd("QUEUE.PEEK")
        .arg("jobs")
        .query(&mut con)
        .expect("peek");
    assert_eq!(head.as_deref(), Some("j1"));
    let one: Option<String> = redis::cmd("QUEUE.POP")
        .arg("jobs")
        .query(&mut con)
        .expect("pop");
    assert_eq!(one.as_deref(), Some("j1"));
    let many: Vec<String> = redis::cmd("QUEUE.POP")
        .arg("jobs")
        .arg(5)
        .query(&mut con)
        .expect("pop count");
    assert_eq!(many, vec!["j2", "j3"]);
    let none: Option<Vec<String>> = redis::cmd("QUEUE.POP")
        .arg("jobs")
        .arg(5)
        .query(&mut con)
        .expect("pop missing");
    assert_eq!(none, None);
    let err = redis::cmd("QUEUE.POP")
        .arg("jobs")
        .arg(-1)
        .query::<redis::Value>(&mut con)
        .expect_err("negative count");
    assert!(err
        .to_string()
        .contains("value is out of range, must be positive"));
    let timed_out: Option<(String, String)> = redis::cmd("QUEUE.BPOP")
        .arg("jobs")
        .arg(0.05)
        .query(&mut con)
        .expect("bpop timeout");
    assert_eq!(timed_out, None);
}

#[test]
fn bpop_is_served_when_a_queue_gets_data() {
    let server = Server::start();
    let mut waiter = server.raw();
    let mut other = server.raw();
    waiter.send(&common::encode_command(&["QUEUE.BPOP", "q1", "q2", "5"]));
    wait_blocked(&mut other, 1);
    // A write to another key does not serve it.
    assert_bytes(&other.cmd(&["QUEUE.PUSH", "elsewhere", "x"]), b":1\r\n");
    assert_bytes(
        &other.cmd(&["QUEUE.PUSH", "q2", "first", "second"]),
        b":2\r\n",
    );
    assert_bytes(&waiter.read_reply(), b"*2\r\n$2\r\nq2\r\n$5\r\nfirst\r\n");
    assert_bytes(&other.cmd(&["QUEUE.LEN", "q2"]), b":1\r\n");
    // Commands pipelined behind the blocked one run once it is served.
    let mut pipeline = common::encode_command(&["QUEUE.BPOP", "q1", "0"]);
    pipeline.extend(common::encode_command(&["QUEUE.LEN", "q1"]));
    waiter.send(&pipeline);
    wait_blocked(&mut other, 1);
    assert_bytes(&other.cmd(&["QUEUE.PUSH", "q1", "x"]), b":1\r\n");
    assert_bytes(&waiter.read_reply(), b"*2\r\n$2\r\nq1\r\n$1\r\nx\r\n");
    assert_bytes(&waiter.read_reply(), b":0\r\n");
    assert_bytes(&other.cmd(&["EXISTS", "q1"]), b":0\r\n");
}

#[test]
fn bpop_waiters_are_served_longest_waiting_first() {
    let server = Server::start();
    let mut first = server.raw();
    let mut second = server.raw();
    let mut third = server.raw();
    let mut pusher = server.raw();
    first.send(&common::encode_command(&["QUEUE.BPOP", "q", "5"]));
    wait_blocked(&mut pusher, 1);
    second.send(&common::encode_command(&["QUEUE.BPOP", "q", "5"]));
    wait_blocked(&mut pusher, 2);
    third.send(&common::encode_command(&["QUEUE.BPOP", "q", "5"]));
    wait_blocked(&mut pusher, 3);
    // One push of two elements serves the first two waiters, in order.
    assert_bytes(&pusher.cmd(&["QUEUE.PUSH", "q", "a", "b"]), b":2\r\n");
    assert_bytes(&first.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_bytes(&second.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    wait_blocked(&mut pusher, 1);
    assert_bytes(&pusher.cmd(&["QUEUE.PUSH", "q", "c"]), b":1\r\n");
    assert_bytes(&third.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\nc\r\n");
    assert_bytes(&pusher.cmd(&["EXISTS", "q"]), b":0\r\n");
}

#[test]
fn bpop_times_out_with_a_null_array() {
    let server = Server::start();
    let mut c = server.raw();
    let started = Instant::now();
    assert_bytes(&c.cmd(&["QUEUE.BPOP", "q", "0.2"]), b"*-1\r\n");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(190),
        "returned after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "returned after {waited:?}");
    // Data present: no waiting at all.
    c.cmd(&["QUEUE.PUSH", "q", "x"]);
    assert_bytes(
        &c.cmd(&["QUEUE.BPOP", "q", "0"]),
        b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n",
    );
}

#[test]
fn bpop_keeps_waiting_while_the_key_holds_another_type() {
    let server = Server::start();
    let mut waiter = server.raw();
    let mut other = server.raw();
    waiter.send(b"*3\r\n$10\r\nQUEUE.BPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    wait_blocked(&mut other, 1);
    // Redis keeps a client waiting when its key is rewritten with another type.
    assert_bytes(&other.cmd(&["SET", "q", "x"]), b"+OK\r\n");
    assert!(waiter.read_available(Duration::from_millis(200)).is_empty());
    wait_blocked(&mut other, 1);
    assert_bytes(&other.cmd(&["DEL", "q"]), b":1\r\n");
    assert_bytes(&other.cmd(&["QUEUE.PUSH", "q", "v"]), b":1\r\n");
    assert_bytes(&waiter.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n");
}
