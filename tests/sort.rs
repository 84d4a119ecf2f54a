//! SORT and SORT_RO against a real redis-server 7.0: every option, the three source types,
//! weights and GETs through strings and hash fields, STORE, errors, and keyspace events.

mod common;

use common::{differential, escape, split_args, RedisServer, Server};

#[test]
fn sort_lists_match_redis() {
    differential(
        r#"
        RPUSH n 3 1 2 10 1.5 -inf "" " 7" 0x10 1e2 -0 +5
        SORT n
        SORT n ASC
        SORT n DESC
        SORT n DESC ASC
        SORT n ALPHA
        SORT n ALPHA DESC
        SORT n LIMIT 0 3
        SORT n LIMIT 2 4
        SORT n LIMIT -1 2
        SORT n LIMIT 2 -1
        SORT n LIMIT 2 -5
        SORT n LIMIT 10 2
        SORT n LIMIT 100 2
        SORT n LIMIT 0 0
        SORT n DESC LIMIT 1 3
        SORT n LIMIT 9223372036854775807 9223372036854775807
        SORT n LIMIT 0 1 LIMIT 3 2
        SORT_RO n
        SORT_RO n DESC LIMIT 1 2
        SORT nosuch
        SORT nosuch LIMIT 0 5 DESC
        SORT nosuch BY nosort
        RPUSH words banana Apple cherry apple "" "a\x00b" "a\x00a" zebra 10 9
        SORT words
        SORT words ALPHA
        SORT words ALPHA DESC
        SORT words ALPHA LIMIT 2 3
        SORT words BY nosort
        SORT words BY nosort DESC
        SORT words BY nosort LIMIT 2 3
        SORT words BY nosort DESC LIMIT 2 3
        SORT words BY nosort LIMIT 20 3
        SORT words BY nosort LIMIT -5 3
        SORT words BY nosort ALPHA
        SORT words BY nosort GET #
        SORT words BY nosort BY w_*
        RPUSH bad 1 2 nan
        SORT bad
        SORT bad ALPHA
        SORT bad BY nosort
        RPUSH huge 1 1e400
        SORT huge
        RPUSH tiny 1 1e-400
        SORT tiny
        "#,
    );
}

#[test]
fn sort_by_and_get_patterns_match_redis() {
    differential(
        r#"
        RPUSH ids 3 1 2 10 4
        MSET w_3 30 w_1 10 w_2 20 w_10 5 w_4 x
        SORT ids BY w_*
        MSET w_4 0.5
        SORT ids BY w_*
        SORT ids BY w_* DESC
        SORT ids BY w_* LIMIT 1 2
        SORT ids BY w_* GET #
        SORT ids BY w_* GET # GET w_*
        SORT ids BY w_* GET w_* GET # GET nosuch_*
        SORT ids GET w_*
        SORT ids GET nostar
        SORT ids GET #
        SORT ids GET
        SORT ids BY
        SORT ids BY nosort GET w_* GET #
        SORT ids BY w_* ALPHA
        SORT ids BY w_* ALPHA DESC
        DEL w_3
        SORT ids BY w_*
        SORT ids BY w_* ALPHA
        SORT ids BY w_* GET w_*
        HSET h_1 f 100 g b
        HSET h_2 f 50 g a
        HSET h_3 f 75 g c
        HSET h_10 f 1 g d
        SORT ids BY h_*->f
        SORT ids BY h_*->f DESC GET # GET h_*->g GET h_*->f GET h_*->nofield
        SORT ids BY h_*->g ALPHA GET h_*->g
        SORT ids BY h_*-> GET h_*->
        SORT ids GET h_*->f GET w_*->f
        SET h_4 notahash
        SORT ids BY h_*->f GET h_*->f
        SORT ids BY w_*->f
        SET pre_3_post 3
        SET pre_1_post 1
        SORT ids BY pre_*_post GET pre_*_post
        SORT ids BY *->f
        SORT ids BY a->b*
        RPUSH bin "a\x00" "a" "a\x00\x01"
        SORT bin ALPHA
        SORT bin ALPHA STORE binout
        LRANGE binout 0 -1
        SORT bin BY nosort
        "#,
    );
}

#[test]
fn sort_sets_and_sorted_sets_match_redis() {
    differential(
        r#"
        SADD ints 5 3 4 -1 100
        SORT ints
        SORT ints DESC LIMIT 1 2
        SORT ints BY nosort
        SORT ints BY nosort DESC
        SORT ints BY nosort LIMIT 1 2
        SADD words b a c "b b"
        SORT words ALPHA
        @sorted SORT words BY nosort
        SORT words BY nosort STORE out
        LRANGE out 0 -1
        SORT words BY nosort DESC STORE out
        LRANGE out 0 -1
        SORT words BY nosort LIMIT 1 2 STORE out
        LRANGE out 0 -1
        SORT words
        ZADD z 1 c 2 a 3 b 3 d
        SORT z ALPHA
        SORT z ALPHA DESC
        SORT z BY nosort
        SORT z BY nosort DESC
        SORT z BY nosort LIMIT 1 2
        SORT z BY nosort DESC LIMIT 0 3
        SORT z BY nosort DESC LIMIT 3 10
        SORT z BY nosort LIMIT 5 1
        SORT z BY nosort STORE out
        LRANGE out 0 -1
        ZADD zn 1 10 2 9 3 8
        SORT zn
        SORT zn BY nosort GET # GET w_*
        SORT_RO zn BY nosort DESC
        "#,
    );
}

#[test]
fn sort_store_and_errors_match_redis() {
    differential(
        r#"
        RPUSH l 3 1 2
        SORT l STORE dst
        TYPE dst
        LRANGE dst 0 -1
        OBJECT ENCODING dst
        SET dst old
        EXPIRE dst 100
        SORT l DESC STORE dst
        TTL dst
        LRANGE dst 0 -1
        SORT l GET nosuch_* GET # STORE dst
        LRANGE dst 0 -1
        SORT l STORE dst LIMIT 5 1
        EXISTS dst
        SORT l STORE dst LIMIT 5 1
        SORT nosuch STORE dst
        SORT l STORE a STORE b
        EXISTS a
        LRANGE b 0 -1
        SORT l STORE l
        LRANGE l 0 -1
        SORT l STORE
        SORT_RO l STORE dst
        SORT l LIMIT
        SORT l LIMIT 1
        SORT l LIMIT a 1
        SORT l LIMIT 1 b
        SORT l LIMIT 1 1.5
        SORT l GET
        SORT l BY
        SORT l foo
        SORT l ASC foo
        SET s x
        SORT s
        SORT s ALPHA
        SORT s STORE dst
        SORT s LIMIT x y
        SORT s nope
        HSET h f v
        SORT h
        SORT
        SORT_RO
        RPUSH bad a b
        SORT bad STORE dst
        SORT bad LIMIT 0 0
        SORT bad BY nosort STORE dst
        LRANGE dst 0 -1
        "#,
    );
}

/// The keyspace events a script causes (`sortstore` on the destination, `del` when an empty
/// result deletes it), and whether a WATCH on the destination breaks, as Redis does.
#[test]
fn sort_store_events_and_watch_match_redis() {
    let run = |server: &Server| -> Vec<Vec<u8>> {
        let mut conn = server.raw();
        let mut sub = server.raw();
        let mut watcher = server.raw();
        let mut out = vec![conn.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"])];
        sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        for line in [
            "RPUSH l 2 1",
            "SORT l STORE dst",
            "SORT nosuch STORE dst",
            "SORT nosuch STORE dst",
            "SET w x",
            "SORT l STORE w",
            "PUBLISH __keyspace@0__:end x",
        ] {
            out.push(conn.cmd(&split_args(line).unwrap()));
        }
        loop {
            let message = sub.read_reply();
            let done = message.ends_with(b"__keyspace@0__:end\r\n$1\r\nx\r\n");
            out.push(message);
            if done || out.len() > 100 {
                break;
            }
        }
        out.push(watcher.cmd(&["WATCH", "w"]));
        out.push(conn.cmd(&["SORT", "l", "DESC", "STORE", "w"]));
        out.push(watcher.cmd(&["MULTI"]));
        out.push(watcher.cmd(&["PING"]));
        out.push(watcher.cmd(&["EXEC"]));
        out
    };
    let expected = run(&RedisServer::start());
    let got = run(&Server::start());
    assert_eq!(
        got.iter().map(|r| escape(r)).collect::<Vec<_>>(),
        expected.iter().map(|r| escape(r)).collect::<Vec<_>>()
    );
}
