//! Keyspace notifications of the collection commands: for a fixed script per family, the
//! events a `PSUBSCRIBE __key*__:*` client receives from Reddish must be exactly those a real
//! redis-server 7.0.15 sends (names, classes, order, and none when nothing changed); the
//! native types, which Redis lacks, are checked against their documented events.

mod common;

use common::{encode_command, escape, split_args, RawConn, RedisServer, Server};
use std::thread;
use std::time::Duration;

/// Channel published after a script: the subscriber reads events up to its message, so
/// every event the script caused has arrived by then (one connection delivers in order).
const END_CHANNEL: &str = "__keyspace@0__:end-of-script";

/// A server under test with a command connection, a subscriber and a connection for
/// blocking commands.
struct Session {
    _server: Server,
    conn: RawConn,
    blocked: RawConn,
    sub: RawConn,
}

impl Session {
    fn new(server: Server) -> Session {
        let mut conn = server.raw();
        let blocked = server.raw();
        let mut sub = server.raw();
        assert_eq!(
            conn.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
            b"+OK\r\n"
        );
        sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        Session {
            _server: server,
            conn,
            blocked,
            sub,
        }
    }

    /// Runs one script line and returns the replies it read, as text. Syntax: `CMD ...`
    /// sends on the command connection and reads its reply; `~CMD ...` does so but returns
    /// no reply (random or otherwise incomparable); `&CMD ...` sends on the blocking
    /// connection without reading; `<` reads the blocking connection's reply;
    /// `@sleep MS` waits.
    fn step(&mut self, line: &str) -> Option<String> {
        if let Some(ms) = line.strip_prefix("@sleep ") {
            thread::sleep(Duration::from_millis(ms.parse().expect("@sleep ms")));
            return None;
        }
        if line == "<" {
            return Some(escape(&self.blocked.read_reply()));
        }
        if let Some(command) = line.strip_prefix('&') {
            let args = split_args(command).expect("bad script line");
            self.blocked.send(&encode_command(&args));
            return None;
        }
        let (compare, command) = match line.strip_prefix('~') {
            Some(command) => (false, command),
            None => (true, line),
        };
        let args = split_args(command).expect("bad script line");
        let reply = escape(&self.conn.cmd(&args));
        compare.then_some(reply)
    }

    /// The events received so far, up to the end marker, as `channel payload` lines.
    fn events(&mut self) -> Vec<String> {
        self.conn.cmd(&["PUBLISH", END_CHANNEL, "x"]);
        let mut events = Vec::new();
        loop {
            let message = self.sub.read_reply();
            let parts = pmessage_parts(&message);
            if parts.first().map(String::as_str) == Some(END_CHANNEL) {
                return events;
            }
            events.push(parts.join(" "));
        }
    }
}

/// The channel and payload of a RESP2 `pmessage` push: `*4 pmessage pattern channel payload`.
fn pmessage_parts(message: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(message);
    let lines: Vec<&str> = text.split("\r\n").collect();
    // *4, $8, pmessage, $n, pattern, $n, channel, $n, payload
    assert!(
        lines.len() >= 9 && lines[2] == "pmessage",
        "not a pmessage: {}",
        escape(message)
    );
    vec![lines[6].to_string(), lines[8].to_string()]
}

/// Runs `script` (one step per line, see [`Session::step`]) on a fresh Reddish and a fresh
/// redis-server and panics unless the replies and the received events are the same.
#[track_caller]
fn same_events_as_redis(script: &str) {
    let mut ours = Session::new(Server::start());
    let mut theirs = Session::new(RedisServer::start());
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let expected = theirs.step(line);
        let actual = ours.step(line);
        assert_eq!(actual, expected, "reply to {line}");
    }
    let expected = theirs.events();
    let actual = ours.events();
    assert_eq!(
        actual, expected,
        "events:\n  reddish: {actual:#?}\n  redis: {expected:#?}"
    );
}

/// Runs `script` on Reddish and returns the keyevent notifications as `event key` lines.
fn reddish_keyevents(script: &str) -> Vec<String> {
    let mut session = Session::new(Server::start());
    for line in script.lines().map(str::trim) {
        if !line.is_empty() && !line.starts_with('#') {
            session.step(line);
        }
    }
    session
        .events()
        .into_iter()
        .filter_map(|event| {
            let (channel, key) = event.split_once(' ')?;
            let name = channel.strip_prefix("__keyevent@0__:")?;
            Some(format!("{name} {key}"))
        })
        .collect()
}

#[test]
fn list_events_like_redis() {
    same_events_as_redis(
        "LPUSH l a b c
        RPUSH l d e
        LPUSHX l x
        RPUSHX l y
        LPUSHX nolist x
        LPOP l
        RPOP l 2
        LPOP l 0
        LPOP nolist
        RPOP nolist 3
        LINSERT l BEFORE b z
        LINSERT l AFTER nopivot z
        LINSERT nolist AFTER a z
        LSET l 0 first
        LSET l 99 x
        LREM l 0 nomatch
        LREM l 1 z
        LTRIM l 0 -1
        LTRIM nolist 0 1
        LRANGE l 0 -1
        RPUSH src 1 2
        LMOVE src dst LEFT RIGHT
        RPOPLPUSH src dst
        RPOPLPUSH src dst
        LMOVE dst dst RIGHT LEFT
        LMOVE nolist dst LEFT LEFT
        LMPOP 2 nolist dst RIGHT COUNT 5
        RPUSH b1 x y
        BLPOP nolist b1 1
        BRPOP b1 1
        RPUSH b2 x
        BLMOVE b2 b3 LEFT LEFT 1
        BLMPOP 1 1 b3 LEFT COUNT 2
        RPUSH r x y
        LREM r 0 x
        LREM r 0 y
        RPUSH t 1 2 3
        LTRIM t 5 10
        SET s v
        LPUSH s x
        LPOP s
        RPUSH ok 1
        LMOVE ok s LEFT LEFT
        SELECT 1
        RPUSH other 1
        LPOP other
        SELECT 0",
    );
}

#[test]
fn blocked_list_clients_are_served_with_redis_events() {
    same_events_as_redis(
        "&BLPOP waited 5
        @sleep 100
        RPUSH waited a
        <
        &BLMOVE wsrc wdst RIGHT LEFT 5
        @sleep 100
        LPUSH wsrc x y
        <
        LRANGE wdst 0 -1
        &BZPOPMIN wz 5
        @sleep 100
        ZADD wz 1 a
        <
        &BLMPOP 5 1 wm RIGHT COUNT 3
        @sleep 100
        RPUSH wm a b
        <",
    );
}

#[test]
fn hash_events_like_redis() {
    same_events_as_redis(
        "HSET h a 1 b 2
        HSET h a 1
        HMSET h c 3
        HSETNX h a 9
        HSETNX h d 4
        HINCRBY h n 5
        HINCRBYFLOAT h f 1.5
        HINCRBY h a notanumber
        HINCRBY h a x
        HDEL h nofield
        HDEL nohash a
        HDEL h a b
        HDEL h c d n f
        EXISTS h
        SET str v
        HSET str a 1",
    );
}

#[test]
fn set_events_like_redis() {
    same_events_as_redis(
        "SADD s a b c
        SADD s a
        SREM s nomember
        SREM noset a
        SREM s a
        SMOVE s t b
        SMOVE s t nomember
        SMOVE s s c
        SADD t c
        SMOVE s t c
        EXISTS s
        SADD p 1 2 3 4
        ~SPOP p
        ~SPOP p 2
        SPOP p 0
        SPOP noset
        ~SPOP p 10
        SADD x 1 2
        SADD y 2 3
        SINTERSTORE i x y
        SUNIONSTORE u x y
        SDIFFSTORE d x y
        SINTERSTORE i x nokey
        SINTERSTORE i x nokey
        SDIFFSTORE d x x
        SUNIONSTORE fresh nokey
        SINTER x y
        SINTERCARD 2 x y
        SET str v
        SADD str a
        SMOVE x str 1
        SMOVE str x 1",
    );
}

#[test]
fn sorted_set_events_like_redis() {
    same_events_as_redis(
        "ZADD z 1 a 2 b 3 c
        ZADD z 1 a
        ZADD z XX 5 nomember
        ZADD z NX 9 a
        ZADD z CH 7 a
        ZADD z INCR 1 b
        ZADD z GT 0 b
        ZINCRBY z 2 c
        ZINCRBY z 0 c
        ZREM z nomember
        ZREM z a
        ZADD z 4 d 5 e 6 f
        ZREMRANGEBYSCORE z 100 200
        ZREMRANGEBYSCORE z 4 4
        ZREMRANGEBYRANK z 0 0
        ZREMRANGEBYLEX z [e [e
        ZREMRANGEBYLEX z [x [y
        ZPOPMIN z
        ZPOPMAX z 0
        ZPOPMAX z 5
        ZPOPMIN noz
        ZADD p 1 a 2 b 3 c
        BZPOPMIN noz p 1
        BZPOPMAX p 1
        ZMPOP 1 p MIN COUNT 5
        ZADD p 1 a
        BZMPOP 1 1 p MAX
        ZADD x 1 a 2 b
        ZADD y 2 b 3 c
        ZUNIONSTORE u 2 x y
        ZINTERSTORE i 2 x y
        ZDIFFSTORE d 2 x y
        ZRANGESTORE r x 0 -1
        ZINTERSTORE i 2 x nokey
        ZINTERSTORE i 2 x nokey
        ZDIFFSTORE d 2 x x
        ZRANGESTORE r x 10 20
        ZRANGESTORE fresh nokey 0 -1
        ZUNION 2 x y
        ZRANGE x 0 -1
        ZRANDMEMBER nokey
        ZADD x NX INCR 1 a
        ZADD x XX INCR 1 nomember
        SET str v
        ZADD str 1 a",
    );
}

#[test]
fn geo_events_like_redis() {
    same_events_as_redis(
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD g 13.361389 38.115556 Palermo
        GEOADD g XX 1 2 nomember
        GEOADD g NX CH 1 2 Palermo
        GEOADD g CH 13 38 Palermo
        GEOADD g 200 100 bad
        GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCHSTORE s g FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCHSTORE s g FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        GEOSEARCHSTORE s g FROMLONLAT 0 0 BYRADIUS 1 km
        GEOSEARCHSTORE s g FROMLONLAT 0 0 BYRADIUS 1 km
        GEORADIUS g 15 37 200 km STORE r
        GEORADIUSBYMEMBER g Palermo 200 km STOREDIST r
        GEORADIUS nokey 15 37 200 km STORE r
        GEORADIUS nokey 15 37 200 km STORE r
        GEOSEARCHSTORE t nokey FROMMEMBER x BYBOX 1 1 km",
    );
}

#[test]
fn tree_and_graph_events() {
    let events = reddish_keyevents(
        "TREE.CREATE t
        TREE.CREATE t
        TREE.SET t a 1 b 2
        TREE.SET t a 1
        TREE.DEL t nokey
        TREE.DEL t a b
        TREE.GET t a
        GRAPH.CREATE g
        GRAPH.ADDNODE g x y
        GRAPH.ADDNODE g x
        GRAPH.ADDEDGE g x y
        GRAPH.ADDEDGE g x y WEIGHT 2
        GRAPH.DELEDGE g x y
        GRAPH.DELEDGE g x y
        GRAPH.DELNODE g nonode
        GRAPH.DELNODE g x y
        GRAPH.NODES g",
    );
    assert_eq!(
        events,
        [
            "tree.create t",
            "tree.set t",
            "tree.set t",
            "tree.del t",
            "graph.create g",
            "graph.addnode g",
            "graph.addedge g",
            "graph.addedge g",
            "graph.deledge g",
            "graph.delnode g",
        ]
    );
}

#[test]
fn queue_and_stack_events() {
    let events = reddish_keyevents(
        "QUEUE.PUSH q a b c
        QUEUE.POP q
        QUEUE.POP q 0
        QUEUE.POP q 5
        QUEUE.POP q
        QUEUE.PUSH bq x
        QUEUE.BPOP noq bq 1
        QUEUE.PEEK bq
        &QUEUE.BPOP wq 5
        @sleep 100
        QUEUE.PUSH wq w
        <
        STACK.PUSH s a b
        STACK.POP s
        STACK.POP s 1
        STACK.POP s
        STACK.POP s 3",
    );
    assert_eq!(
        events,
        [
            "queue.push q",
            "queue.pop q",
            "queue.pop q",
            "del q",
            "queue.push bq",
            "queue.pop bq",
            "del bq",
            "queue.push wq",
            "queue.pop wq",
            "del wq",
            "stack.push s",
            "stack.pop s",
            "stack.pop s",
            "del s",
        ]
    );
}

#[test]
fn native_types_use_the_module_class() {
    let server = Server::start();
    let mut conn = server.raw();
    let mut sub = server.raw();
    conn.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Eg$lshz"]);
    sub.cmd(&[
        "SUBSCRIBE",
        "__keyevent@0__:queue.push",
        "__keyevent@0__:del",
    ]);
    sub.read_reply();
    conn.cmd(&["QUEUE.PUSH", "q", "a"]);
    conn.cmd(&["DEL", "q"]);
    let first = escape(&sub.read_reply());
    assert!(first.contains("__keyevent@0__:del"), "{first}");
    conn.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ed"]);
    conn.cmd(&["QUEUE.PUSH", "q", "a"]);
    let second = escape(&sub.read_reply());
    assert!(second.contains("__keyevent@0__:queue.push"), "{second}");
}

/// What a RESP3 connection subscribed to its own keyspace events receives for each command:
/// the frames up to a `PING` sent after it, pushes and the reply in their order. A `~` line
/// compares only that order (its reply is random).
fn own_events_around_replies(server: Server, classes: &str, script: &str) -> Vec<String> {
    let mut conn = server.raw();
    conn.cmd(&["HELLO", "3"]);
    conn.cmd(&["CONFIG", "SET", "notify-keyspace-events", classes]);
    conn.cmd(&["PSUBSCRIBE", "__keyevent@*"]);
    let mut seen = Vec::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (exact, command) = match line.strip_prefix('~') {
            Some(command) => (false, command),
            None => (true, line),
        };
        let mut bytes = encode_command(&split_args(command).expect("bad script line"));
        bytes.extend(encode_command(&["PING", "end-of-command"]));
        conn.send(&bytes);
        let mut frames = Vec::new();
        loop {
            let frame = conn.read_reply();
            if frame == b"$14\r\nend-of-command\r\n" {
                break;
            }
            frames.push(match (exact, frame.first()) {
                (true, _) => escape(&frame),
                (false, Some(b'>')) => "push".to_string(),
                (false, _) => "reply".to_string(),
            });
        }
        seen.push(format!("{line}: {}", frames.join(" | ")));
    }
    seen
}

/// A RESP3 client subscribed to its own keyspace events gets each push before or after the
/// reply as Redis sends it (Redis's handlers notify some events before replying and some
/// after). Where Redis writes a push inside an aggregate reply (ZPOPMIN, XREADGROUP...),
/// which RESP3 forbids, Reddish sends it after the reply; those commands are not listed.
#[test]
fn a_resp3_client_gets_its_own_events_around_replies_as_redis_orders_them() {
    let script = "SET k v
        SET k v2 GET
        SET k3 v NX GET
        GETSET k v3
        GETDEL k
        SETEX k3 100 v
        GETEX k3 EX 200
        GETEX k3 PERSIST
        SET e 1
        GETEX e PX 0
        BITFIELD bf SET u8 0 200
        SET c 1
        EXPIRE c 100
        PEXPIRE c 100000
        EXPIREAT c 99999999999
        PEXPIREAT c 99999999999999
        PERSIST c
        EXPIRE c 0
        RPUSH l a b c d e f
        LINSERT l BEFORE b z
        LREM l 1 z
        LTRIM l 0 4
        RPOPLPUSH l l2
        LMOVE l l2 LEFT RIGHT
        BLMOVE l l3 LEFT LEFT 1
        BRPOPLPUSH l l3 1
        LMOVE l3 l3 LEFT LEFT
        HSET h a 1 b 2
        HDEL h a
        HDEL h b
        SADD s a b c
        SREM s a
        SMOVE s s2 b
        SPOP s
        SADD p a b c d
        ~SPOP p 2
        ~SPOP p 10
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZREM z a
        ZREMRANGEBYSCORE z 0 2
        ZREMRANGEBYRANK z 0 0
        ZREMRANGEBYLEX z [d [d
        ZREMRANGEBYSCORE z -inf +inf
        GEOADD g 13.36 38.11 P
        GEOSEARCHSTORE gs g FROMLONLAT 13 38 BYRADIUS 200 km
        GEORADIUS g 13 38 200 km STORE gr
        GEOSEARCHSTORE gs g FROMLONLAT 0 0 BYRADIUS 1 km
        XADD st 1-1 f v
        XADD st 2-1 f v
        XTRIM st MAXLEN 1
        XGROUP CREATE st g 0
        XGROUP CREATECONSUMER st g c
        XGROUP DELCONSUMER st g c";
    let expected = own_events_around_replies(RedisServer::start(), "KEA", script);
    let actual = own_events_around_replies(Server::start(), "KEA", script);
    for (actual, expected) in actual.iter().zip(&expected) {
        assert_eq!(actual, expected);
    }
    assert_eq!(actual.len(), expected.len());
}

/// The events a key's lookup causes (`expired` for a key found past its time, `keymiss`, and
/// `new` when a write creates the key) come before the reply, as Redis sends them during the
/// lookup, whether or not the command then notifies its own event before replying.
#[test]
fn a_resp3_client_gets_its_lookup_events_before_the_reply_as_in_redis() {
    let script = "DEBUG SET-ACTIVE-EXPIRE 0
        SET k1 v PX 1
        SET k2 v PX 1
        SET k3 v PX 1
        SET k4 v PX 1
        DEBUG SLEEP 0.01
        GET k1
        GETDEL k2
        LPUSH k3 a
        SADD k4 m
        GET nokey
        STRLEN nokey
        RPUSH newlist a
        HSET newhash f v
        ZADD newzset 1 m
        INCR newcounter";
    let args = ["--enable-debug-command", "yes"];
    let expected = own_events_around_replies(RedisServer::start_with(&args), "KEAmn", script);
    let actual = own_events_around_replies(Server::start_with(&args), "KEAmn", script);
    for (actual, expected) in actual.iter().zip(&expected) {
        assert_eq!(actual, expected);
    }
    assert_eq!(actual.len(), expected.len());
}
