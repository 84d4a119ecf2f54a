//! Set commands against a real redis-server 7.0 (differential scripts) and the rules of the
//! random commands, which cannot be compared pick for pick.

mod common;

use common::reply::{call, items, text, Reply};
use common::{differential, RedisServer, Server};
use std::collections::HashSet;

#[test]
fn set_commands_match_redis() {
    differential(
        r#"
        SADD s
        SADD s 3 1 2 1
        SMEMBERS s
        SCARD s
        SCARD nokey
        SISMEMBER s 1
        SISMEMBER s 01
        SISMEMBER s 4
        SISMEMBER nokey 1
        SMISMEMBER s 1 4 3 x
        SMISMEMBER nokey 1 2
        SMISMEMBER s
        SREM s 1 4 x
        SREM nokey 1
        SREM s
        SMEMBERS s
        SMEMBERS nokey
        SADD t a b "c d" "" "\x00\r\n"
        @sorted SMEMBERS t
        SISMEMBER t ""
        SISMEMBER t "\x00\r\n"
        SREM t a b "c d" "" "\x00\r\n"
        EXISTS t
        # SMOVE
        SADD m1 1 2 x
        SMOVE m1 m2 1
        OBJECT ENCODING m2
        SMOVE m1 m3 x
        OBJECT ENCODING m3
        SMOVE m1 m2 nomember
        SMOVE nokey m2 1
        SMOVE m1 m1 2
        SMOVE m1 m1 nomember
        SMOVE nokey nokey 1
        SMOVE m1 m2 2
        EXISTS m1
        SMEMBERS m2
        SMOVE m2 m3 1
        @sorted SMEMBERS m3
        SMOVE m1 m2
        # SPOP and SRANDMEMBER arguments
        SPOP s x
        SPOP s -1
        SPOP s 1 2
        SPOP nokey
        SPOP nokey 2
        SPOP nokey 0
        SPOP s 0
        SPOP s 5
        EXISTS s
        SRANDMEMBER s x
        SRANDMEMBER s -9223372036854775808
        SRANDMEMBER s 1 2
        SRANDMEMBER nokey
        SRANDMEMBER nokey 3
        SRANDMEMBER nokey -3
        SADD r 5 10 15
        SRANDMEMBER r 0
        SRANDMEMBER r 3
        SRANDMEMBER r 100
        SRANDMEMBER r 9223372036854775807
        @type SRANDMEMBER r
        @type SRANDMEMBER r -5
        SPOP r 3
        EXISTS r
        # arity
        SCARD
        SADD s
        SMOVE a b
        SPOP
        SINTER
        SINTERSTORE d
        SSCAN s
        "#,
    );
}

#[test]
fn wrong_type_errors_match_redis() {
    let mut script = String::from("SET str v\nSADD set 1\n");
    for cmd in [
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SPOP str",
        "SPOP str 2",
        "SPOP str x",
        "SRANDMEMBER str",
        "SRANDMEMBER str 2",
        "SRANDMEMBER str x",
        "SMOVE str set a",
        "SMOVE set str 1",
        "SMOVE nokey str 1",
        "SMOVE set str nomember",
        "SINTER str",
        "SINTER nokey str",
        "SINTER set str",
        "SINTERCARD 2 nokey str",
        "SINTERCARD 1 str LIMIT x",
        "SUNION set str",
        "SDIFF nokey str",
        "SDIFF str nokey",
        "SINTERSTORE d nokey str",
        "SUNIONSTORE d set str",
        "SDIFFSTORE d set str",
        "SSCAN str 0",
        "SSCAN str 0 COUNT 0",
    ] {
        script.push_str(cmd);
        script.push('\n');
    }
    script.push_str("EXISTS d\nSMEMBERS set\nGET str\n");
    differential(&script);
}

#[test]
fn encoding_transitions_match_redis() {
    let ints = |from: i64, to: i64| {
        (from..=to)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let script = format!(
        r#"
        SADD i 1 2 3
        OBJECT ENCODING i
        SADD i -9223372036854775808 9223372036854775807 70000 -40000
        OBJECT ENCODING i
        SMEMBERS i
        SADD i a
        OBJECT ENCODING i
        SREM i a
        OBJECT ENCODING i
        SADD s a 1
        OBJECT ENCODING s
        SADD z 01
        OBJECT ENCODING z
        SADD p +1
        OBJECT ENCODING p
        SADD n -0
        OBJECT ENCODING n
        SADD o 9223372036854775808
        OBJECT ENCODING o
        SADD q " 1"
        OBJECT ENCODING q
        SADD full {ints512}
        OBJECT ENCODING full
        SCARD full
        SMEMBERS full
        SSCAN full 0
        SRANDMEMBER full 1000
        SADD full 512
        OBJECT ENCODING full
        SADD full 513
        OBJECT ENCODING full
        SREM full 513
        OBJECT ENCODING full
        @sorted SMEMBERS full
        @scan SSCAN full 0
        # SPOP taking most of a table rebuilds it from what is left: an intset again here
        SADD big {ints600}
        OBJECT ENCODING big
        @type SPOP big 500
        OBJECT ENCODING big
        SCARD big
        SADD keep {ints513}
        @type SPOP keep 400
        OBJECT ENCODING keep
        SCARD keep
        SADD mixed {ints100} x
        @type SPOP mixed 95
        SCARD mixed
        # results of the STORE commands are built anew
        SADD a1 {ints400}
        SADD a2 {ints_b}
        OBJECT ENCODING a2
        SUNIONSTORE u a1 a2
        OBJECT ENCODING u
        SINTERSTORE in a1 a2
        OBJECT ENCODING in
        SMEMBERS in
        SDIFFSTORE d a2 a1
        OBJECT ENCODING d
        SMEMBERS d
        SADD y 1 2 3 x
        SREM y x
        SINTERSTORE yi y y
        OBJECT ENCODING yi
        SUNIONSTORE yu y
        OBJECT ENCODING yu
        SDIFFSTORE yd y nokey
        OBJECT ENCODING yd
        SMEMBERS yd
        SMOVE y newset x
        SMOVE y newset 1
        OBJECT ENCODING newset
        "#,
        ints512 = ints(1, 512),
        ints600 = ints(1, 600),
        ints513 = ints(1, 513),
        ints100 = ints(1, 100),
        ints400 = ints(1, 400),
        ints_b = ints(200, 700),
    );
    differential(&script);
}

#[test]
fn set_algebra_matches_redis() {
    differential(
        r#"
        SADD a 1 2 3 4 5 x y
        SADD b 4 5 6 y z
        SADD c 5 y q
        SADD ints1 1 2 3 4
        SADD ints2 3 4 5
        SINTER ints1 ints2
        SUNION ints1 ints2
        SDIFF ints1 ints2
        SDIFF ints2 ints1 nokey
        @sorted SINTER a b
        @sorted SINTER a b c
        SINTER a nokey
        SINTER nokey a
        @sorted SINTER a a
        @sorted SUNION a b c
        @sorted SUNION nokey a
        SUNION nokey
        @sorted SDIFF a b
        @sorted SDIFF a b c
        SDIFF a a
        SDIFF nokey a
        @sorted SDIFF a nokey
        SINTERCARD 1 a
        SINTERCARD 3 a b c
        SINTERCARD 2 a b LIMIT 1
        SINTERCARD 2 a b LIMIT 0
        SINTERCARD 2 a b LIMIT 100
        SINTERCARD 2 a b limit 1 LIMIT 2
        SINTERCARD 2 a nokey
        SINTERCARD 0 a
        SINTERCARD -1 a
        SINTERCARD abc a
        SINTERCARD 3 a b
        SINTERCARD 1 a LIMIT -1
        SINTERCARD 1 a LIMIT abc
        SINTERCARD 1 a LIMIT
        SINTERCARD 1 a FOO 1
        SINTERCARD 1 a b
        # STORE variants replace any type and expiry; an empty result deletes
        SET dst v EX 100
        SINTERSTORE dst a b
        TTL dst
        TYPE dst
        @sorted SMEMBERS dst
        SUNIONSTORE dst a c
        @sorted SMEMBERS dst
        SDIFFSTORE dst a b c
        @sorted SMEMBERS dst
        EXPIRE dst 100
        SDIFFSTORE dst a a
        EXISTS dst
        SET dst v
        SINTERSTORE dst a nokey
        EXISTS dst
        SADD dst 1
        SUNIONSTORE dst nokey
        EXISTS dst
        SUNIONSTORE a a b
        @sorted SMEMBERS a
        SINTERSTORE a a c
        @sorted SMEMBERS a
        SDIFFSTORE c c a
        SMEMBERS c
        "#,
    );
}

#[test]
fn resp3_shapes_match_redis() {
    differential(
        r#"
        @any HELLO 3
        SADD s 3 1 2
        SMEMBERS s
        SMEMBERS nokey
        SINTER s s
        SINTER s nokey
        SUNION s nokey
        SDIFF s nokey
        SMISMEMBER s 1 9
        SRANDMEMBER s 10
        SRANDMEMBER nokey
        SRANDMEMBER nokey 2
        SPOP nokey
        SPOP nokey 2
        SPOP s 0
        @type SPOP s 1
        @any SADD s 1 2 3
        @type SRANDMEMBER s -4
        SSCAN s 0
        SSCAN nokey 0
        SPOP s 10
        "#,
    );
}

#[test]
fn scan_options_match_redis() {
    let members: Vec<String> = (0..1000).map(|i| format!("member:{i}")).collect();
    let script = format!(
        r#"
        SADD small 1 10 2 20
        SSCAN small 0
        SSCAN small 0 MATCH 1*
        SSCAN small 999 COUNT 1
        SSCAN small 0 MATCH
        SSCAN small 0 COUNT 0
        SSCAN small 0 COUNT x
        SSCAN small 0 TYPE set
        SSCAN small abc
        SSCAN nokey 0 COUNT 0
        SADD big {members}
        @scan SSCAN big 0
        @scan SSCAN big 0 COUNT 100
        @scan SSCAN big 0 MATCH member:9* COUNT 10
        @scan SSCAN big 0 match *99 count 1000
        "#,
        members = members.join(" ")
    );
    differential(&script);
}

fn members_of(reply: Reply) -> Vec<String> {
    items(reply).1.iter().map(text).collect()
}

/// Counts, distinctness and membership of SPOP and SRANDMEMBER, the same rules on both
/// servers (which checks the test against Redis too).
#[test]
fn random_member_rules_hold_on_both_servers() {
    for server in [Server::start(), RedisServer::start()] {
        let mut conn = server.raw();
        for (key, prefix, size) in [
            ("ints", "", 100usize),
            ("strs", "m", 100),
            ("bigs", "", 700),
        ] {
            let all: HashSet<String> = (0..size).map(|i| format!("{prefix}{i}")).collect();
            let mut args = vec!["SADD".to_string(), key.to_string()];
            args.extend(all.iter().cloned());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(call(&mut conn, &args), Reply::Int(size as i64));
            for resp3 in [false, true] {
                call(&mut conn, &["HELLO", if resp3 { "3" } else { "2" }]);
                for count in [1i64, 2, 50, 99, 100, 101, 699, 700, 5000, -1, -3, -1000] {
                    let expected = if count > 0 {
                        (count as usize).min(size)
                    } else {
                        count.unsigned_abs() as usize
                    };
                    let reply = call(&mut conn, &["SRANDMEMBER", key, &count.to_string()]);
                    assert!(matches!(reply, Reply::Aggregate(b'*', _)), "{reply:?}");
                    let got = members_of(reply);
                    assert_eq!(got.len(), expected, "{key} {count}");
                    assert!(got.iter().all(|m| all.contains(m)));
                    if count > 0 {
                        assert_eq!(got.iter().collect::<HashSet<_>>().len(), expected);
                    }
                }
                assert!(all.contains(&text(&call(&mut conn, &["SRANDMEMBER", key]))));
            }
            call(&mut conn, &["HELLO", "3"]);
            let mut left = all.clone();
            for count in ["1", "7", "30"] {
                let reply = call(&mut conn, &["SPOP", key, count]);
                assert!(matches!(reply, Reply::Aggregate(b'~', _)), "{reply:?}");
                for member in members_of(reply) {
                    assert!(left.remove(&member), "{member} popped twice or unknown");
                }
            }
            call(&mut conn, &["HELLO", "2"]);
            let one = text(&call(&mut conn, &["SPOP", key]));
            assert!(left.remove(&one));
            assert_eq!(
                call(&mut conn, &["SCARD", key]),
                Reply::Int(left.len() as i64)
            );
            let rest = members_of(call(&mut conn, &["SPOP", key, "100000"]));
            assert_eq!(rest.into_iter().collect::<HashSet<_>>(), left);
            assert_eq!(call(&mut conn, &["EXISTS", key]), Reply::Int(0));
        }
    }
}
