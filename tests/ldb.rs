//! The Lua debugger (`SCRIPT DEBUG YES|SYNC`) against a real redis-server 7.0: sessions driven
//! over raw connections as `redis-cli --ldb` drives them, every reply compared byte for byte
//! (and the key ones asserted exactly, so that two servers agreeing on nothing cannot pass).
//!
//! To check a test itself, run it with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test ldb`.

mod common;

use common::{assert_bytes, RawConn, RedisServer, Server};
use std::time::Duration;

/// A connection to each server.
struct Pair {
    reddish: RawConn,
    redis: RawConn,
}

impl Pair {
    fn new(reddish: &Server, redis: &Server) -> Pair {
        Pair {
            reddish: reddish.raw(),
            redis: redis.raw(),
        }
    }

    /// Sends `args` to both and returns the reply, which must be the same on both.
    #[track_caller]
    fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let theirs = self.redis.cmd(args);
        let ours = self.reddish.cmd(args);
        assert_bytes(&ours, &theirs);
        ours
    }

    /// Sends raw bytes to both and returns the next reply, the same on both.
    #[track_caller]
    fn send(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.redis.send(bytes);
        self.reddish.send(bytes);
        self.read()
    }

    /// The next reply of both, the same on both.
    #[track_caller]
    fn read(&mut self) -> Vec<u8> {
        let theirs = self.redis.read_reply();
        let ours = self.reddish.read_reply();
        assert_bytes(&ours, &theirs);
        ours
    }

    /// Both servers close the connection (as Redis does at the end of a session).
    #[track_caller]
    fn closed(&mut self) {
        assert!(self.redis.is_closed_within(Duration::from_secs(5)));
        assert!(self.reddish.is_closed_within(Duration::from_secs(5)));
    }
}

/// The debugger's log lines as Redis sends them: an array of status replies.
fn lines(lines: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", lines.len()).into_bytes();
    for line in lines {
        out.extend_from_slice(format!("+{line}\r\n").as_bytes());
    }
    out
}

const SCRIPT: &str = "local a = 1\n\
local b = {1,2,'x'}\n\
redis.debug('hi', a, b)\n\
redis.call('set','k','w')\n\
local t = {x=1}\n\
redis.breakpoint()\n\
local c = redis.call('get','k')\n\
return c\n";

#[test]
fn a_session_steps_prints_and_breaks_as_redis() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut both = Pair::new(&reddish, &redis);
    both.cmd(&["SET", "k", "v"]);
    assert_bytes(&both.cmd(&["SCRIPT", "DEBUG", "SYNC"]), b"+OK\r\n");
    let first = both.cmd(&["EVAL", SCRIPT, "1", "key1", "arg1"]);
    assert_bytes(
        &first,
        &lines(&[
            "* Stopped at 1, stop reason = step over",
            "-> 1   local a = 1",
        ]),
    );
    let help = both.cmd(&["h"]);
    assert!(help.starts_with(b"*30\r\n+Redis Lua debugger help:\r\n"));
    assert_bytes(
        &both.cmd(&["p"]),
        &lines(&["No local variables in the current context."]),
    );
    both.cmd(&["s"]);
    assert_bytes(
        &both.cmd(&["next"]),
        &lines(&[
            "* Stopped at 3, stop reason = step over",
            "-> 3   redis.debug('hi', a, b)",
        ]),
    );
    assert_bytes(
        &both.cmd(&["p"]),
        &lines(&["<value> a = 1", "<value> b = {1; 2; \"x\"}"]),
    );
    for args in [
        &["p", "a"][..],
        &["print", "KEYS"],
        &["p", "ARGV"],
        &["p", "nosuch"],
        &["l"],
        &["l", "3", "1"],
        &["list", "0"],
        &["w"],
        &["b"],
        &["b", "7", "x", "100", "-3", "-7"],
        &["t"],
        &["e", "a+1"],
        &["e", "x = 1"],
        &["e", "local z = 5"],
        &["e", "("],
        &["eval", "error('boom')"],
        &["e", "{1,{2,{3}},nil,[\"k\"]=true}"],
        &["e", "1e100"],
        &["e", "string.rep('x', 300)"],
        &["e", "redis.call('get','k')"],
        &["r", "get", "k"],
        &["r", "ping"],
        &["r", "nosuch"],
        &["r", "set", "k"],
        &["r", "lrange", "k", "0", "-1"],
        &[
            "r", "set", "k2", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
        ],
        &["redis"],
        &["m"],
        &["m", "10"],
        &["m", "0"],
        &["e", "string.rep('y', 300)"],
        &["hello", "world"],
    ] {
        both.cmd(args);
    }
    assert_bytes(
        &both.cmd(&["b", "8"]),
        &lines(&["   7   local c = redis.call('get','k')", "  #8   return c"]),
    );
    assert_bytes(
        &both.cmd(&["c"]),
        &lines(&[
            "<debug> line 3: \"hi\", 1, {1; 2; \"x\"}",
            "* Stopped at 7, stop reason = redis.breakpoint() called",
            "-> 7   local c = redis.call('get','k')",
        ]),
    );
    assert_bytes(
        &both.cmd(&["s"]),
        &lines(&[
            "<redis> get k",
            "<reply> \"w\"",
            "* Stopped at 8, stop reason = break point",
            "->#8   return c",
        ]),
    );
    assert_bytes(&both.cmd(&["c"]), &lines(&["<endsession>"]));
    assert_bytes(&both.read(), b"$1\r\nw\r\n");
    both.closed();
    // SYNC keeps what the script wrote.
    let mut after = Pair::new(&reddish, &redis);
    assert_bytes(&after.cmd(&["GET", "k"]), b"$1\r\nw\r\n");
}

#[test]
fn replies_show_in_resp3_and_long_commands_are_cut() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut both = Pair::new(&reddish, &redis);
    both.cmd(&["HSET", "h", "a", "1"]);
    both.cmd(&["ZADD", "z", "1.5", "m"]);
    both.cmd(&["SCRIPT", "DEBUG", "SYNC"]);
    both.cmd(&["EVAL", "local x = redis.pcall('incr','h')\nreturn x", "0"]);
    assert_bytes(
        &both.cmd(&["s"]),
        &lines(&[
            "<redis> incr h",
            "<error> -WRONGTYPE Operation against a key holding the wrong kind of value",
            "<reply> \"-WRONGTYPE Operation against a key holding the wrong kind of value\"",
            "* Stopped at 2, stop reason = step over",
            "-> 2   return x",
        ]),
    );
    for args in [
        &["r", "hgetall", "h"][..],
        &["r", "zrange", "z", "0", "-1", "withscores"],
        &["e", "redis.setresp(3)"],
        &["r", "hgetall", "h"],
        &["r", "zrange", "z", "0", "-1", "withscores"],
        &["r", "smembers", "nokey"],
        &["r", "get", "nokey"],
        &["e", "{{{{{{{{{{{{1}}}}}}}}}}}}"],
        &["e", "0.1"],
        &["e", "-1/0"],
        &["e", "123456789012"],
    ] {
        both.cmd(args);
    }
    assert_bytes(&both.cmd(&["c"]), &lines(&["<endsession>"]));
    both.read();
    both.closed();
}

#[test]
fn bad_debugger_input_is_answered_as_redis() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut both = Pair::new(&reddish, &redis);
    both.cmd(&["SCRIPT", "DEBUG", "SYNC"]);
    both.cmd(&["EVAL", "return 'hello'", "0"]);
    let unknown =
        lines(&["<error> Unknown Redis Lua debugger command or wrong number of arguments."]);
    for arg in ["'hello\0world'", "'hello\0'", "'\0hello'", "'\0hello\0'"] {
        assert_bytes(&both.cmd(&[arg]), &unknown);
    }
    // A hundred arguments for `redis`: the command is refused, the server stays well.
    let mut many = b"*101\r\n$5\r\nredis\r\n".to_vec();
    for _ in 0..100 {
        many.extend_from_slice(b"$4\r\ntest\r\n");
    }
    assert_bytes(
        &both.send(&many),
        &lines(&[
            "<redis> test test test test test test test test test test ... (89 more)",
            "<error> Unknown Redis command called from script",
        ]),
    );
    // Not a command array: the script ends with a protocol error.
    assert_bytes(&both.send(b"hello\r\n"), &lines(&["<endsession>"]));
    let error = both.read();
    assert!(error.starts_with(b"-ERR protocol error script: "));
    both.closed();
    let mut again = Pair::new(&reddish, &redis);
    assert_bytes(&again.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn abort_and_errors_end_the_session() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut both = Pair::new(&reddish, &redis);
    both.cmd(&["SCRIPT", "DEBUG", "SYNC"]);
    both.cmd(&["EVAL", "redis.call('set','a','1')\nreturn 1", "0"]);
    both.cmd(&["s"]);
    assert_bytes(&both.cmd(&["a"]), &lines(&["<endsession>"]));
    let error = both.read();
    assert!(error.starts_with(b"-ERR script aborted for user request script: "));
    assert!(error.ends_with(b", on @user_script:2.\r\n"));
    both.closed();

    // Refused before it runs: the session still ends with its mark.
    for (script, numkeys) in [("return 1", "x"), ("retur 1", "0"), ("return 1", "-1")] {
        let mut both = Pair::new(&reddish, &redis);
        both.cmd(&["SCRIPT", "DEBUG", "YES"]);
        assert_bytes(
            &both.cmd(&["EVAL", script, numkeys]),
            &lines(&["<endsession>"]),
        );
        both.read();
        both.closed();
    }

    // A runtime error, after a continue.
    let mut both = Pair::new(&reddish, &redis);
    both.cmd(&["SCRIPT", "DEBUG", "SYNC"]);
    both.cmd(&["EVAL", "error('x')", "0"]);
    both.cmd(&["c"]);
    both.read();
    both.closed();
}

#[test]
fn script_debug_is_refused_where_redis_refuses_it() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut both = Pair::new(&reddish, &redis);
    assert_bytes(
        &both.cmd(&["SCRIPT", "DEBUG", "maybe"]),
        b"-ERR Use SCRIPT DEBUG YES/SYNC/NO\r\n",
    );
    let mut pipeline = common::encode_command(&["PING"]);
    pipeline.extend_from_slice(&common::encode_command(&["SCRIPT", "DEBUG", "YES"]));
    assert_bytes(&both.send(&pipeline), b"+PONG\r\n");
    assert_bytes(
        &both.read(),
        b"-ERR SCRIPT DEBUG must be called outside a pipeline\r\n",
    );
    both.cmd(&["SCRIPT", "DEBUG", "SYNC"]);
    assert_bytes(
        &both.cmd(&["EVALSHA", "0123456789012345678901234567890123456789", "0"]),
        b"-ERR Please use EVAL instead of EVALSHA for debugging\r\n",
    );
    assert_bytes(
        &both.cmd(&["EVALSHA", "abc", "0"]),
        b"-NOSCRIPT No matching script. Please use EVAL.\r\n",
    );
    // SCRIPT DEBUG NO: scripts run without a session again.
    both.cmd(&["SCRIPT", "DEBUG", "NO"]);
    assert_bytes(&both.cmd(&["EVAL", "return 7", "0"]), b":7\r\n");
}

#[test]
fn a_yes_session_leaves_the_data_as_it_was() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut setup = Pair::new(&reddish, &redis);
    setup.cmd(&["SET", "k", "v"]);
    setup.cmd(&["RPUSH", "list", "a", "b"]);
    let mut both = Pair::new(&reddish, &redis);
    both.cmd(&["SCRIPT", "DEBUG", "YES"]);
    both.cmd(&[
        "EVAL",
        "redis.call('set', KEYS[1], 'w')\nredis.call('del', 'list')\nredis.call('set', 'new', '1')\nreturn redis.call('get', KEYS[1])",
        "1",
        "k",
    ]);
    assert_bytes(&both.cmd(&["c"]), &lines(&["<endsession>"]));
    assert_bytes(&both.read(), b"$1\r\nw\r\n");
    both.closed();
    assert_bytes(&setup.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert_bytes(
        &setup.cmd(&["LRANGE", "list", "0", "-1"]),
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
    assert_bytes(&setup.cmd(&["EXISTS", "new"]), b":0\r\n");
}

#[test]
fn a_script_running_past_its_time_limit_stops_for_its_client() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let mut both = Pair::new(&reddish, &redis);
    both.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
    both.cmd(&["SCRIPT", "DEBUG", "SYNC"]);
    both.cmd(&["EVAL", "local i = 0\nwhile true do i = i + 1 end", "0"]);
    assert_bytes(
        &both.cmd(&["c"]),
        &lines(&[
            "* Stopped at 2, stop reason = timeout reached, infinite loop?",
            "-> 2   while true do i = i + 1 end",
        ]),
    );
    assert_bytes(&both.cmd(&["a"]), &lines(&["<endsession>"]));
    both.read();
    both.closed();
}

#[test]
fn what_a_yes_session_undid_is_what_mongodb_keeps() {
    let Some(uri) = common::mongodb_uri() else {
        return;
    };
    let name = common::unique_name("ldb");
    let mut server = Server::start_with(&["--mongodb-uri", &uri, "--mongodb-database", &name]);
    let mut conn = server.raw();
    conn.cmd(&["SET", "k", "v"]);
    // Large enough for persistence to journal its element writes rather than rewrite it.
    let mut push = vec!["RPUSH".to_string(), "big".to_string()];
    push.extend((0..300).map(|i| i.to_string()));
    assert_bytes(&conn.cmd(&push), b":300\r\n");
    // Once written, the list's later writes are journaled.
    std::thread::sleep(Duration::from_secs(1));
    let mut debug = server.raw();
    assert_bytes(&debug.cmd(&["SCRIPT", "DEBUG", "YES"]), b"+OK\r\n");
    debug.cmd(&[
        "EVAL",
        "redis.call('set', 'k', 'w')\nredis.call('lpush', 'big', 'x')\nredis.call('set', 'new', '1')\nreturn 1",
        "0",
    ]);
    assert_bytes(&debug.cmd(&["c"]), &lines(&["<endsession>"]));
    assert_bytes(&debug.read_reply(), b":1\r\n");
    assert_bytes(&conn.cmd(&["LLEN", "big"]), b":300\r\n");
    drop(conn);
    server.restart();
    let mut conn = server.raw();
    assert_bytes(&conn.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert_bytes(&conn.cmd(&["LLEN", "big"]), b":300\r\n");
    assert_bytes(&conn.cmd(&["LINDEX", "big", "0"]), b"$1\r\n0\r\n");
    assert_bytes(&conn.cmd(&["EXISTS", "new"]), b":0\r\n");
}
