//! Hash commands against a real redis-server 7.0 (differential scripts) and the rules of the
//! random commands, which cannot be compared pick for pick.

mod common;

use common::reply::{call, items, text, Reply};
use common::{differential, Differential, RedisServer, Server};
use std::collections::{HashMap, HashSet};

#[test]
fn hash_commands_match_redis() {
    differential(
        r#"
        HSET h
        HSET h a
        HSET h a 1 b
        HSET h a 1 b 2
        HSET h a x c 3
        HMSET h a
        HMSET h d 4 e "five five"
        HGET h a
        HGET h nofield
        HGET nokey a
        HMGET h a nofield e
        HMGET nokey a b
        HGETALL h
        HKEYS h
        HVALS h
        HLEN h
        HLEN nokey
        HEXISTS h a
        HEXISTS h nofield
        HEXISTS nokey a
        HSTRLEN h e
        HSTRLEN h nofield
        HSTRLEN nokey a
        HSETNX h a y
        HSETNX h f 6
        HSETNX newkey f 6
        HGETALL newkey
        HDEL h a nofield b
        HDEL h
        HDEL nokey a
        HGETALL h
        HDEL h c d e f
        EXISTS h
        HGETALL h
        HKEYS nokey
        HVALS nokey
        HGETALL nokey
        HSET bin "a\x00b" "\r\n" "" empty
        HGETALL bin
        HGET bin ""
        HSTRLEN bin "a\x00b"
        # counters
        HINCRBY c n 5
        HINCRBY c n -7
        HINCRBY c n x
        HINCRBY c n 9223372036854775807
        HINCRBY c n -9223372036854775807
        HINCRBY c n -9223372036854775808
        HSET c s abc
        HINCRBY c s 1
        HINCRBYFLOAT c s 1
        HINCRBYFLOAT c f 1.5
        HINCRBYFLOAT c f 0.25
        HINCRBYFLOAT c f 5.0e3
        HINCRBYFLOAT c f -5001.75
        HINCRBYFLOAT c f 10.5
        HINCRBYFLOAT c g 1.1
        HINCRBYFLOAT c f inf
        HINCRBYFLOAT c f -inf
        HINCRBYFLOAT c f nan
        HINCRBYFLOAT c f abc
        HINCRBYFLOAT c f ""
        HINCRBYFLOAT nokey2 f inf
        EXISTS nokey2
        HSET c big 1.7976931348623157e308
        HINCRBYFLOAT c big 1.7976931348623157e308
        HINCRBY c big 1
        HINCRBYFLOAT c big 1e4940
        HINCRBYFLOAT c big 1e-5000
        HINCRBYFLOAT c big 0e-5000
        HINCRBYFLOAT c big -INF
        HSET c over 1e4940
        HINCRBYFLOAT c over 1
        HSET c under 1e-5000
        HINCRBYFLOAT c under 1
        HINCRBYFLOAT c huge 1e400
        HINCRBYFLOAT c g 2.2
        HINCRBYFLOAT c h 5000
        HINCRBYFLOAT c h 0.1
        HINCRBYFLOAT c h " 1"
        HINCRBYFLOAT c h 1e
        HINCRBYFLOAT c h .5
        HINCRBYFLOAT c h -.5e1
        HINCRBYFLOAT c h +1
        HINCRBYFLOAT c h Infinity
        HSET c e "1 "
        HINCRBYFLOAT c e 1
        HSET c e 1e2
        HINCRBYFLOAT c e 1
        HINCRBY c e 1
        HINCRBYFLOAT c n 2
        @pairs HGETALL c
        # arity
        HGET h
        HLEN
        HINCRBY c n
        HSCAN h
        HRANDFIELD
        "#,
    );
}

#[test]
fn wrong_type_errors_match_redis() {
    let mut script = String::from("SET s v\n");
    for cmd in [
        "HSET s a 1",
        "HSETNX s a 1",
        "HMSET s a 1",
        "HGET s a",
        "HMGET s a",
        "HDEL s a",
        "HEXISTS s a",
        "HLEN s",
        "HKEYS s",
        "HVALS s",
        "HGETALL s",
        "HINCRBY s a 1",
        "HINCRBY s a x",
        "HINCRBYFLOAT s a 1",
        "HINCRBYFLOAT s a x",
        "HINCRBYFLOAT s a inf",
        "HSTRLEN s a",
        "HRANDFIELD s",
        "HRANDFIELD s 2",
        "HRANDFIELD s x",
        "HRANDFIELD s 2 WITHVALUES",
        "HSCAN s 0",
        "HSCAN s x",
        "HSCAN s 0 COUNT 0",
    ] {
        script.push_str(cmd);
        script.push('\n');
    }
    script.push_str("GET s\nTYPE s\n");
    differential(&script);
}

#[test]
fn encoding_transitions_match_redis() {
    let v64 = "v".repeat(64);
    let v65 = "v".repeat(65);
    // hash-max-listpack-entries is 512 in Redis 7.0.
    let fields512: Vec<String> = (0..512).map(|i| format!("f{i} {i}")).collect();
    let script = format!(
        r#"
        HSET h a 1
        OBJECT ENCODING h
        HSET h {v64} {v64}
        OBJECT ENCODING h
        HSET h a {v65}
        OBJECT ENCODING h
        HDEL h a {v64}
        OBJECT ENCODING h
        HSET k {v65} 1
        OBJECT ENCODING k
        HSET n a 1
        HSETNX n a {v65}
        OBJECT ENCODING n
        HSETNX n b {v65}
        OBJECT ENCODING n
        HSET i a 1
        HINCRBY i {v65} 1
        OBJECT ENCODING i
        HSET j a 1
        HINCRBYFLOAT j {v65} 1.5
        OBJECT ENCODING j
        HMSET m a 1 b {v65}
        OBJECT ENCODING m
        HSET big {fields}
        OBJECT ENCODING big
        HLEN big
        HGETALL big
        HSCAN big 0
        HRANDFIELD big 600 WITHVALUES
        HSET big f0 replaced
        OBJECT ENCODING big
        HSET big one more
        OBJECT ENCODING big
        HLEN big
        HDEL big one f0 f1 f2
        OBJECT ENCODING big
        @pairs HGETALL big
        @sorted HKEYS big
        @sorted HVALS big
        @scan HSCAN big 0
        @scan HSCAN big 0 COUNT 7
        @scan HSCAN big 0 MATCH f1* COUNT 3
        @pairs HRANDFIELD big 600 WITHVALUES
        @sorted HRANDFIELD big 600
        HGET big f100
        HMGET big f3 f4 nofield
        "#,
        fields = fields512.join(" "),
    );
    differential(&script);
}

#[test]
fn resp3_shapes_match_redis() {
    differential(
        r#"
        @any HELLO 3
        HSET h a 1 b 2 c 3
        HGETALL h
        HGETALL nokey
        HKEYS h
        HVALS h
        HMGET h a nofield
        HGET h nofield
        HRANDFIELD nokey
        HRANDFIELD nokey 3
        HRANDFIELD nokey 3 WITHVALUES
        HRANDFIELD h 0
        HRANDFIELD h 3
        HRANDFIELD h 10 WITHVALUES
        @type HRANDFIELD h -2 WITHVALUES
        @type HRANDFIELD h
        HSCAN h 0
        HSCAN nokey 0
        HINCRBYFLOAT h f 2.5
        "#,
    );
}

#[test]
fn scan_options_match_redis() {
    let fields: Vec<String> = (0..1000).map(|i| format!("field:{i} {i}")).collect();
    let script = format!(
        r#"
        HSET small a 1 b 2 ab 3
        HSCAN small 0
        HSCAN small 0 MATCH a*
        HSCAN small 12345 COUNT 1
        HSCAN small 0 MATCH
        HSCAN small 0 COUNT
        HSCAN small 0 COUNT 0
        HSCAN small 0 COUNT -1
        HSCAN small 0 COUNT x
        HSCAN small 0 TYPE hash
        HSCAN small 0 NOVALUES
        HSCAN small -1
        HSCAN small 18446744073709551615
        HSCAN small 18446744073709551616
        HSCAN small +5
        HSCAN small abc
        HSCAN nokey 0 COUNT 0
        HSET big {fields}
        @scan HSCAN big 0
        @scan HSCAN big 0 COUNT 100
        @scan HSCAN big 0 MATCH field:9* COUNT 10
        @scan HSCAN big 0 match *99 count 1000
        "#,
        fields = fields.join(" ")
    );
    differential(&script);
}

#[test]
fn expired_and_overwritten_keys_behave_like_redis() {
    let mut diff = Differential::new();
    diff.run(
        r#"
        HSET h a 1
        PEXPIRE h 50
        @sleep 120
        HGET h a
        HSET h b 2
        HGETALL h
        TTL h
        SET h str
        HGET h a
        DEL h
        HSETNX h a 1
        TYPE h
        "#,
    );
}

/// Counts, distinctness and membership of HRANDFIELD, the same rules on both servers (which
/// checks the test against Redis too).
#[test]
fn hrandfield_rules_hold_on_both_servers() {
    for server in [Server::start(), RedisServer::start()] {
        let mut conn = server.raw();
        for (key, size) in [("small", 5usize), ("large", 600)] {
            let mut model = HashMap::new();
            let mut args = vec!["HSET".to_string(), key.to_string()];
            for i in 0..size {
                let (f, v) = (format!("f{i}"), format!("v{i}"));
                args.push(f.clone());
                args.push(v.clone());
                model.insert(f, v);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(call(&mut conn, &args), Reply::Int(size as i64));
            for resp3 in [false, true] {
                call(&mut conn, &["HELLO", if resp3 { "3" } else { "2" }]);
                for count in [1i64, 2, 4, 5, 6, 599, 600, 601, -1, -5, -1000] {
                    let expected = if count > 0 {
                        (count as usize).min(size)
                    } else {
                        count.unsigned_abs() as usize
                    };
                    let n = count.to_string();
                    let (kind, fields) = items(call(&mut conn, &["HRANDFIELD", key, &n]));
                    assert_eq!(kind, b'*');
                    assert_eq!(fields.len(), expected, "{key} {count}");
                    let names: Vec<String> = fields.iter().map(text).collect();
                    assert!(names.iter().all(|f| model.contains_key(f)));
                    if count > 0 {
                        assert_eq!(names.iter().collect::<HashSet<_>>().len(), expected);
                    }
                    let (kind, pairs) =
                        items(call(&mut conn, &["HRANDFIELD", key, &n, "WITHVALUES"]));
                    assert_eq!(kind, b'*');
                    let pairs: Vec<(String, String)> = if resp3 {
                        pairs
                            .into_iter()
                            .map(|p| match items(p) {
                                (b'*', pair) if pair.len() == 2 => (text(&pair[0]), text(&pair[1])),
                                other => panic!("not a pair: {other:?}"),
                            })
                            .collect()
                    } else {
                        pairs
                            .chunks(2)
                            .map(|p| (text(&p[0]), text(&p[1])))
                            .collect()
                    };
                    assert_eq!(pairs.len(), expected);
                    for (f, v) in &pairs {
                        assert_eq!(model.get(f), Some(v));
                    }
                    if count > 0 {
                        let distinct: HashSet<_> = pairs.iter().map(|p| &p.0).collect();
                        assert_eq!(distinct.len(), expected);
                    }
                }
                let one = call(&mut conn, &["HRANDFIELD", key]);
                assert!(model.contains_key(&text(&one)));
            }
            call(&mut conn, &["HELLO", "2"]);
        }
        // Over many draws a negative count reaches every field of a small hash.
        let (_, picks) = items(call(&mut conn, &["HRANDFIELD", "small", "-500"]));
        let seen: HashSet<String> = picks.iter().map(text).collect();
        assert_eq!(seen.len(), 5);
    }
}
