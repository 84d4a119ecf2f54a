//! Sorted-set commands against a real redis-server 7.0: differential scripts (every command,
//! its error paths, WRONGTYPE, encoding transitions, RESP3 shapes) and blocking scenarios
//! (BZPOPMIN/BZPOPMAX: two waiters, timeouts, disconnects) run on both servers.
//!
//! To check a script itself, run it with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test zsets`.

mod common;

use common::{differential, RawConn, RedisServer, Server};
use std::thread::sleep;
use std::time::{Duration, Instant};

#[test]
fn zadd_options_and_errors() {
    differential(
        r#"
        ZADD z 1 a
        ZADD z 2 b 3 c 1 a
        ZADD z NX 10 a 4 d
        ZADD z XX 10 a 5 e
        ZADD z XX CH 11 a 5 e
        ZADD z CH 11 a 12 b 6 f
        ZADD z GT 1 a
        ZADD z GT CH 20 a 1 b 7 g
        ZADD z LT CH 0 a 100 b
        ZADD z XX GT CH 50 c 1 d
        ZADD z INCR 5 a
        ZADD z INCR -5 newmember
        ZADD z NX INCR 1 a
        ZADD z XX INCR 1 nosuch
        ZADD z GT INCR -1 a
        ZADD z LT INCR -1 a
        ZADD z GT INCR 0 a
        ZADD z INCR 0 a
        ZADD z nx xx 1 a
        ZADD z NX GT 1 a
        ZADD z NX LT 1 a
        ZADD z GT LT 1 a
        ZADD z INCR 1 a 2 b
        ZADD z NX 1
        ZADD z 1 a 2
        ZADD z 1 a x b
        ZADD z nan a
        ZADD z "" a
        ZADD z " 1" a
        ZADD z "1 " a
        ZADD z 1e400 a
        ZADD z 1e-400 a
        ZADD z 0x10 hex
        ZADD z inf i -inf ni +inf pi
        ZADD z -0 negzero
        ZADD z 1.5e3 e3 .5 half 5. five
        ZRANGE z 0 -1 WITHSCORES
        ZADD z
        ZADD z 1
        ZADD newkey XX 1 a
        EXISTS newkey
        ZADD newkey XX INCR 1 a
        EXISTS newkey
        ZADD nk2 GT 1 a
        ZADD nk3 CH NX INCR 3 a
        SET str v
        ZADD str 1 a
        ZADD str XX 1 a
        ZADD str nan a
        ZCARD z
        TYPE z
        "#,
    );
}

#[test]
fn zincrby_scores_and_nan() {
    differential(
        r#"
        ZINCRBY z 1 a
        ZINCRBY z 2.5 a
        ZINCRBY z -0 newzero
        ZSCORE z newzero
        ZINCRBY z 1e308 big
        ZINCRBY z 1e308 big
        ZINCRBY z -inf big
        ZINCRBY z inf inf
        ZINCRBY z -inf inf
        ZSCORE z inf
        ZINCRBY z abc a
        ZINCRBY z nan a
        ZINCRBY z 0.1 tenth
        ZINCRBY z 0.2 tenth
        ZSCORE z tenth
        ZINCRBY z 1
        SET str v
        ZINCRBY str 1 a
        ZRANGE z 0 -1 WITHSCORES
        "#,
    );
}

#[test]
fn zrem_zcard_zscore_zmscore_zrank() {
    differential(
        r#"
        ZADD z 1 a 2 b 3 c 4 d
        ZREM z a nosuch
        ZREM z nosuch
        ZREM nokey a
        ZCARD z
        ZCARD nokey
        ZSCORE z b
        ZSCORE z nosuch
        ZSCORE nokey a
        ZMSCORE z b nosuch d
        ZMSCORE nokey a b
        ZRANK z b
        ZRANK z d
        ZRANK z nosuch
        ZRANK nokey a
        ZREVRANK z b
        ZREVRANK z d
        ZREVRANK z nosuch
        ZREM z b c d
        EXISTS z
        ZCARD z
        ZMSCORE z
        ZRANK z
        ZREM z
        SET str v
        ZREM str a
        ZCARD str
        ZSCORE str a
        ZMSCORE str a
        ZRANK str a
        ZREVRANK str a
        "#,
    );
}

#[test]
fn zrange_by_rank() {
    differential(
        r#"
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZRANGE z 0 -1
        ZRANGE z 0 -1 WITHSCORES
        ZRANGE z 1 3 withscores
        ZRANGE z -2 -1
        ZRANGE z -100 100
        ZRANGE z 3 1
        ZRANGE z 5 10
        ZRANGE z -1 -2
        ZRANGE z 0 0 REV
        ZRANGE z 0 -1 REV WITHSCORES
        ZRANGE z 1 2 REV
        ZRANGE z 0 -1 LIMIT 0 1
        ZRANGE z 0 -1 LIMIT 0 -1
        ZRANGE z 0 -1 LIMIT 5 -1
        ZRANGE z 0 -1 LIMIT 0
        ZRANGE z 0 -1 LIMIT a b
        ZRANGE z a 1
        ZRANGE z 0 1.5
        ZRANGE z 0 -1 BYFOO
        ZRANGE z 0 -1 REV REV
        ZRANGE z 0 -1 WITHSCORES WITHSCORES
        ZRANGE nokey 0 -1
        ZRANGE nokey a b
        ZREVRANGE z 0 -1
        ZREVRANGE z 0 1 WITHSCORES
        ZREVRANGE z 0 -1 REV
        ZREVRANGE z (1 3 BYSCORE
        ZREVRANGE z 3 1 BYSCORE
        ZREVRANGE z 0 -1 BYLEX
        ZREVRANGE z + - BYLEX
        ZRANGE z
        ZRANGE z 0
        SET str v
        ZRANGE str 0 -1
        ZRANGE str a b
        ZREVRANGE str 0 -1
        "#,
    );
}

#[test]
fn zrange_by_score() {
    differential(
        r#"
        ZADD z -inf ninf 1 a 2 b 2 bb 3 c 4.5 d 10 e inf pinf
        ZRANGE z -inf +inf BYSCORE
        ZRANGE z -inf +inf BYSCORE WITHSCORES
        ZRANGE z (1 3 BYSCORE
        ZRANGE z (1 (3 BYSCORE
        ZRANGE z 2 2 BYSCORE
        ZRANGE z (2 2 BYSCORE
        ZRANGE z 3 1 BYSCORE
        ZRANGE z +inf -inf BYSCORE REV
        ZRANGE z 3 1 BYSCORE REV WITHSCORES
        ZRANGE z (3 (1 BYSCORE REV
        ZRANGE z -inf +inf BYSCORE LIMIT 1 3
        ZRANGE z -inf +inf BYSCORE LIMIT 1 -1
        ZRANGE z -inf +inf BYSCORE LIMIT -1 3
        ZRANGE z -inf +inf BYSCORE LIMIT 100 3
        ZRANGE z -inf +inf BYSCORE LIMIT 0 0
        ZRANGE z +inf -inf BYSCORE REV LIMIT 2 2 WITHSCORES
        ZRANGE z -inf +inf BYSCORE LIMIT 1 2 LIMIT 0 1
        ZRANGE z 1 x BYSCORE
        ZRANGE z ( 1 BYSCORE
        ZRANGE z "" 2 BYSCORE
        ZRANGE z " 2" 3 BYSCORE
        ZRANGE z 0x2 3 BYSCORE
        ZRANGE z nan 3 BYSCORE
        ZRANGE z (nan 3 BYSCORE
        ZRANGE z 1e400 inf BYSCORE
        ZRANGE z -inf inf BYSCORE BYLEX
        ZRANGE z -inf inf BYLEX BYSCORE
        ZRANGEBYSCORE z -inf +inf
        ZRANGEBYSCORE z 2 4.5 WITHSCORES
        ZRANGEBYSCORE z 2 4.5 LIMIT 1 1
        ZRANGEBYSCORE z 2 4.5 WITHSCORES LIMIT 1 10
        ZRANGEBYSCORE z 2 4.5 REV
        ZRANGEBYSCORE z 2 4.5 BYSCORE
        ZRANGEBYSCORE z 2 4.5 LIMIT 1
        ZRANGEBYSCORE z a b
        ZREVRANGEBYSCORE z +inf -inf
        ZREVRANGEBYSCORE z 4.5 2 WITHSCORES
        ZREVRANGEBYSCORE z 4.5 2 LIMIT 1 2
        ZREVRANGEBYSCORE z 2 4.5
        ZREVRANGEBYSCORE z (4.5 (2
        ZRANGEBYSCORE nokey -inf +inf
        ZRANGEBYSCORE nokey a b
        SET str v
        ZRANGEBYSCORE str -inf +inf
        ZRANGEBYSCORE str a b
        "#,
    );
}

#[test]
fn zrange_by_lex() {
    differential(
        r#"
        ZADD z 0 a 0 b 0 c 0 d 0 e 0 foo 0 zap 0 zip 0 ALPHA 0 alpha
        ZRANGE z - + BYLEX
        ZRANGE z [b [d BYLEX
        ZRANGE z (b (d BYLEX
        ZRANGE z [b (d BYLEX
        ZRANGE z - [c BYLEX
        ZRANGE z [z + BYLEX
        ZRANGE z + - BYLEX
        ZRANGE z - - BYLEX
        ZRANGE z + + BYLEX
        ZRANGE z + - BYLEX REV
        ZRANGE z [d [b BYLEX REV
        ZRANGE z - + BYLEX LIMIT 2 3
        ZRANGE z + - BYLEX REV LIMIT 1 2
        ZRANGE z - + BYLEX LIMIT -1 2
        ZRANGE z - + BYLEX LIMIT 0 -1
        ZRANGE z - + BYLEX WITHSCORES
        ZRANGE z a b BYLEX
        ZRANGE z [a b BYLEX
        ZRANGE z "" + BYLEX
        ZRANGE z [ + BYLEX
        ZRANGE z ( + BYLEX
        ZRANGE z -a + BYLEX
        ZRANGEBYLEX z - +
        ZRANGEBYLEX z [aaa (g
        ZRANGEBYLEX z - + LIMIT 0 3
        ZRANGEBYLEX z - + WITHSCORES
        ZRANGEBYLEX z - + REV
        ZRANGEBYLEX z a +
        ZREVRANGEBYLEX z + -
        ZREVRANGEBYLEX z (g [aaa
        ZREVRANGEBYLEX z + - LIMIT 1 1
        ZREVRANGEBYLEX z - +
        ZLEXCOUNT z - +
        ZLEXCOUNT z [b [f
        ZLEXCOUNT z (b (foo
        ZLEXCOUNT z + -
        ZLEXCOUNT z b c
        ZLEXCOUNT nokey - +
        ZLEXCOUNT nokey a b
        ZADD mixed 1 b 2 a 3 d 4 c
        ZRANGEBYLEX mixed - +
        ZRANGEBYLEX mixed [b [c
        ZRANGEBYLEX mixed [a [c
        ZREVRANGEBYLEX mixed [c [a
        ZLEXCOUNT mixed [a [c
        ZRANGEBYLEX nokey - +
        SET str v
        ZRANGEBYLEX str - +
        ZLEXCOUNT str - +
        "#,
    );
}

#[test]
fn zcount_and_zrangestore() {
    differential(
        r#"
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZCOUNT z -inf +inf
        ZCOUNT z (1 3
        ZCOUNT z 3 1
        ZCOUNT z (3 (3
        ZCOUNT z x 1
        ZCOUNT nokey 1 2
        ZCOUNT nokey x 2
        ZRANGESTORE dst z 0 -1
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z 1 2 REV
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z (1 4 BYSCORE LIMIT 1 2
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z [b [d BYLEX
        ZRANGE dst 0 -1
        ZRANGESTORE dst z +inf -inf BYSCORE REV LIMIT 0 2
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst z 5 10
        EXISTS dst
        ZRANGESTORE dst z 0 -1
        ZRANGESTORE dst nokey 0 -1
        EXISTS dst
        ZRANGESTORE dst z 0 -1 WITHSCORES
        ZRANGESTORE dst z 0 -1 LIMIT 0 1
        ZRANGESTORE dst z a b BYSCORE
        ZRANGESTORE dst z 0
        SET str v
        ZRANGESTORE dst str 0 -1
        ZRANGESTORE str z 0 1
        TYPE str
        ZRANGE str 0 -1
        SET dst v EX 100
        ZRANGESTORE dst z 0 0
        TTL dst
        ZCOUNT str 0 1
        "#,
    );
}

#[test]
fn zpopmin_zpopmax() {
    differential(
        r#"
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZPOPMIN z
        ZPOPMAX z
        ZPOPMIN z 2
        ZPOPMAX z 0
        ZPOPMIN z -1
        ZPOPMIN z abc
        ZPOPMIN z 1 2
        ZPOPMIN z 10
        EXISTS z
        ZPOPMIN z
        ZPOPMAX nokey
        ZPOPMAX nokey 3
        ZPOPMAX nokey -3
        SET str v
        ZPOPMIN str
        ZPOPMIN str 0
        ZPOPMIN str -1
        ZADD z 1 a 1 b 1 c
        ZPOPMAX z 2
        ZPOPMIN z 1
        "#,
    );
}

#[test]
fn zremrange_family() {
    differential(
        r#"
        ZADD z 1 a 2 b 3 c 4 d 5 e 6 f
        ZREMRANGEBYRANK z 0 0
        ZREMRANGEBYRANK z -1 -1
        ZREMRANGEBYRANK z 5 10
        ZREMRANGEBYRANK z 2 1
        ZREMRANGEBYRANK z a 1
        ZRANGE z 0 -1
        ZREMRANGEBYSCORE z (2 3
        ZREMRANGEBYSCORE z 10 20
        ZREMRANGEBYSCORE z x 1
        ZRANGE z 0 -1
        ZADD l 0 a 0 b 0 c 0 d
        ZREMRANGEBYLEX l [b (d
        ZREMRANGEBYLEX l b d
        ZREMRANGEBYLEX l + -
        ZRANGE l 0 -1
        ZREMRANGEBYLEX l - +
        EXISTS l
        ZREMRANGEBYRANK z 0 -1
        EXISTS z
        ZREMRANGEBYRANK nokey 0 -1
        ZREMRANGEBYSCORE nokey 0 1
        ZREMRANGEBYLEX nokey - +
        ZREMRANGEBYSCORE nokey a b
        SET str v
        ZREMRANGEBYRANK str 0 -1
        ZREMRANGEBYSCORE str 0 1
        ZREMRANGEBYLEX str - +
        "#,
    );
}

#[test]
fn zunion_zinter_zdiff() {
    differential(
        r#"
        ZADD a 1 x 2 y 3 z
        ZADD b 10 y 20 z 30 w
        ZADD c 100 z
        ZUNION 2 a b
        ZUNION 2 a b WITHSCORES
        ZUNION 3 a b c WITHSCORES AGGREGATE MIN
        ZUNION 3 a b c WITHSCORES AGGREGATE MAX
        ZUNION 2 a b WEIGHTS 2 0.5 WITHSCORES
        ZUNION 2 a b WEIGHTS 2 WITHSCORES
        ZUNION 2 a b WEIGHTS 1 x
        ZUNION 2 a b AGGREGATE avg
        ZUNION 2 a b AGGREGATE
        ZUNION 2 a nokey WITHSCORES
        ZUNION 0 a
        ZUNION -1 a
        ZUNION 3 a b
        ZUNION x a
        ZUNION 1 a WITHSCORES WITHSCORES
        ZUNION 1 a weights 1 weights 2 withscores
        ZINTER 2 a b WITHSCORES
        ZINTER 3 a b c WITHSCORES
        ZINTER 2 a b WEIGHTS 1 -1 AGGREGATE MAX WITHSCORES
        ZINTER 2 a nokey
        ZINTER 2 a a WITHSCORES
        ZDIFF 2 a b
        ZDIFF 2 a b WITHSCORES
        ZDIFF 1 a WITHSCORES
        ZDIFF 3 a b c
        ZDIFF 2 nokey a
        ZDIFF 2 a b WEIGHTS 1 1
        ZDIFF 2 a b AGGREGATE SUM
        ZUNIONSTORE d 2 a b
        ZRANGE d 0 -1 WITHSCORES
        ZINTERSTORE d 2 a b WEIGHTS 2 3
        ZRANGE d 0 -1 WITHSCORES
        ZDIFFSTORE d 2 a b
        ZRANGE d 0 -1 WITHSCORES
        ZINTERSTORE d 2 a nokey
        EXISTS d
        ZUNIONSTORE d 2 a b WITHSCORES
        ZUNIONSTORE d 0 a
        ZINTERSTORE d 0 a
        ZDIFFSTORE d 0 a
        ZDIFFSTORE d 2 a
        ZUNIONSTORE a 2 a b
        ZRANGE a 0 -1 WITHSCORES
        SET str v
        ZUNION 2 a str
        ZUNION 2 str a WEIGHTS x
        ZUNIONSTORE d 2 a str
        ZINTERSTORE str 1 b
        TYPE str
        ZADD inf 1 p inf q -inf r
        ZADD ninf 1 p -inf q inf r
        ZUNION 2 inf ninf WITHSCORES
        ZUNION 2 inf ninf WEIGHTS 0 1 WITHSCORES
        ZINTER 2 inf ninf WITHSCORES
        ZINTER 2 inf ninf WEIGHTS 1 0 WITHSCORES
        ZINTER 2 inf ninf WEIGHTS 1 0 AGGREGATE MIN WITHSCORES
        ZINTER 2 inf ninf WEIGHTS 1 0 AGGREGATE MAX WITHSCORES
        ZUNION 2 inf ninf WEIGHTS -1 -1 WITHSCORES
        ZUNIONSTORE neg 1 a WEIGHTS 0
        ZRANGE neg 0 -1 WITHSCORES
        ZUNION 1 a WEIGHTS -0 WITHSCORES
        "#,
    );
}

#[test]
fn sets_as_inputs_score_one() {
    differential(
        r#"
        ZADD z 1 a 2 b 3 c
        SADD s b c d
        SADD ints 1 2 3
        ZUNION 2 z s WITHSCORES
        ZUNION 2 z s WEIGHTS 1 10 WITHSCORES
        ZUNION 2 s ints WITHSCORES AGGREGATE MAX
        ZINTER 2 z s WITHSCORES
        ZINTER 2 s z WEIGHTS 5 1 AGGREGATE MIN WITHSCORES
        ZDIFF 2 z s WITHSCORES
        ZDIFF 2 s z WITHSCORES
        ZDIFF 1 ints WITHSCORES
        ZINTERCARD 2 z s
        ZUNIONSTORE d 2 s ints
        ZRANGE d 0 -1 WITHSCORES
        OBJECT ENCODING d
        ZINTERSTORE d 2 s z WEIGHTS 2 1
        ZRANGE d 0 -1 WITHSCORES
        ZDIFFSTORE d 2 s z
        ZRANGE d 0 -1 WITHSCORES
        ZADD s 1 x
        ZRANGE s 0 -1
        ZRANGESTORE d s 0 -1
        HSET h f v
        ZUNION 2 z h
        ZINTERCARD 2 h z
        "#,
    );
}

#[test]
fn zscan_and_zrandmember() {
    differential(
        r#"
        ZADD z 1 a 2.5 b 1e20 c 123456789012345678 d -0 e inf f 0.1 g
        ZSCAN z 0
        ZSCAN z 0 COUNT 1
        ZSCAN z 0 MATCH ?
        ZSCAN z 0 MATCH [a-c]* COUNT 100
        ZSCAN z 0 COUNT 0
        ZSCAN z 0 TYPE zset
        ZSCAN z 0 MATCH
        ZSCAN z abc
        ZSCAN z -1
        ZSCAN z 18446744073709551616
        ZSCAN nokey 0
        ZSCAN nokey 0 COUNT 0
        ZSCAN nokey x
        ZRANDMEMBER z 100
        ZRANDMEMBER z 100 WITHSCORES
        ZRANDMEMBER z 7 WITHSCORES
        ZRANDMEMBER z 0
        ZRANDMEMBER z 0 WITHSCORES
        @type ZRANDMEMBER z
        @type ZRANDMEMBER z 1
        @type ZRANDMEMBER z -1 WITHSCORES
        @type ZRANDMEMBER z 3
        @type ZRANDMEMBER z -20
        ZRANDMEMBER z 1 WITHSCORE
        ZRANDMEMBER z 1 WITHSCORES x
        ZRANDMEMBER z x
        ZRANDMEMBER z -9223372036854775808
        ZRANDMEMBER z 9223372036854775807 WITHSCORES
        ZRANDMEMBER z -4611686018427387904 WITHSCORES
        ZRANDMEMBER nokey
        ZRANDMEMBER nokey 5
        ZRANDMEMBER nokey 5 WITHSCORES
        ZRANDMEMBER nokey x
        SET str v
        ZSCAN str 0
        ZSCAN str 0 COUNT 0
        ZRANDMEMBER str
        ZRANDMEMBER str 1
        "#,
    );
}

/// A sorted set past the listpack limits: scan iterates in pages (elements compared as a
/// set), -0 is kept, and the encoding never goes back.
#[test]
fn encoding_transitions_and_large_sets() {
    let mut script = String::new();
    for i in 0..128 {
        script.push_str(&format!("ZADD big {i} m{i}\n"));
    }
    script.push_str(
        "OBJECT ENCODING big\n\
         ZADD big 5 m0\n\
         OBJECT ENCODING big\n\
         ZADD big -0 extra\n\
         OBJECT ENCODING big\n\
         ZSCORE big extra\n\
         ZINCRBY big -0 extra2\n\
         ZSCORE big extra2\n\
         ZPOPMAX big 120\n\
         OBJECT ENCODING big\n\
         ZCARD big\n\
         @scan ZSCAN big 0\n\
         ZADD small 1 a\n\
         OBJECT ENCODING small\n\
         ZADD small 2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\
         OBJECT ENCODING small\n\
         ZADD small 2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n\
         OBJECT ENCODING small\n\
         ZREM small aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n\
         OBJECT ENCODING small\n\
         ZADD first 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\
         OBJECT ENCODING first\n\
         ZUNIONSTORE u 1 first\n\
         OBJECT ENCODING u\n\
         ZUNIONSTORE u2 1 small\n\
         OBJECT ENCODING u2\n\
         ZUNIONSTORE u3 1 big\n\
         OBJECT ENCODING u3\n\
         ZRANGESTORE r big 0 -1\n\
         OBJECT ENCODING r\n\
         ZUNIONSTORE negz 1 big WEIGHTS -0\n\
         OBJECT ENCODING negz\n\
         ZRANGE negz 0 2 WITHSCORES\n\
         ZUNION 1 big WEIGHTS -0 WITHSCORES\n",
    );
    for i in 0..300 {
        script.push_str(&format!("ZADD huge {} h{i}\n", i % 17));
    }
    script.push_str(
        "OBJECT ENCODING huge\n\
         @scan ZSCAN huge 0\n\
         @scan ZSCAN huge 0 COUNT 3\n\
         @scan ZSCAN huge 0 MATCH h1* COUNT 7\n\
         ZUNIONSTORE hu 2 huge big WEIGHTS 1 2\n\
         OBJECT ENCODING hu\n\
         ZRANGE hu 0 -1 WITHSCORES\n\
         ZRANGE huge 100 110 WITHSCORES\n\
         ZRANGEBYSCORE huge (3 5 LIMIT 10 5\n\
         ZREVRANGEBYSCORE huge 5 (3 LIMIT 10 5 WITHSCORES\n\
         ZCOUNT huge 3 7\n\
         ZRANK huge h150\n\
         ZREVRANK huge h150\n\
         ZREMRANGEBYRANK huge 10 200\n\
         ZRANGE huge 0 -1 WITHSCORES\n\
         OBJECT ENCODING huge\n",
    );
    differential(&script);
}

#[test]
fn resp3_shapes() {
    differential(
        r#"
        @any HELLO 3
        ZADD z 1 a 2.5 b inf c
        ZRANGE z 0 -1
        ZRANGE z 0 -1 WITHSCORES
        ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 0 2
        ZREVRANGE z 0 0 WITHSCORES
        ZSCORE z b
        ZSCORE z nosuch
        ZMSCORE z a nosuch
        ZRANK z nosuch
        ZADD z INCR 1 a
        ZADD z XX INCR 1 nosuch
        ZINCRBY z 0.5 a
        ZUNION 1 z WITHSCORES
        ZINTER 1 z
        ZDIFF 1 z WITHSCORES
        ZSCAN z 0
        ZRANDMEMBER z 10 WITHSCORES
        @type ZRANDMEMBER z -2 WITHSCORES
        ZRANDMEMBER nokey
        ZRANDMEMBER nokey 2
        ZPOPMIN z
        ZPOPMIN z 1
        ZPOPMAX z 5
        ZPOPMIN z
        ZPOPMIN nokey 2
        ZADD z 1 a 2 b
        BZPOPMIN z 0
        BZPOPMAX z 0
        ZRANGE nokey 0 -1 WITHSCORES
        "#,
    );
}

#[test]
fn bzpop_without_waiting() {
    differential(
        r#"
        ZADD z 1 a 2 b 3 c
        BZPOPMIN z 0
        BZPOPMAX z 0
        BZPOPMIN nokey z 0
        BZPOPMIN nokey 0.01
        BZPOPMIN z -1
        BZPOPMIN z abc
        BZPOPMIN z
        SET str v
        BZPOPMIN str 0
        BZPOPMIN nokey str 0
        BZPOPMIN z str 0
        EXISTS z
        "#,
    );
}

#[test]
fn zintercard_zmpop_bzmpop() {
    differential(
        r#"
        ZADD a 1 x 2 y 3 z
        ZADD b 1 y 2 z 3 w
        ZINTERCARD 2 a b
        ZINTERCARD 2 a b LIMIT 1
        ZINTERCARD 2 a b LIMIT 0
        ZINTERCARD 2 a b LIMIT 1 LIMIT 5
        ZINTERCARD 2 a b LIMIT -1
        ZINTERCARD 2 a b LIMIT x
        ZINTERCARD 2 a b LIMIT
        ZINTERCARD 0 a
        ZINTERCARD x a
        ZINTERCARD 3 a b
        ZINTERCARD 2 a b WEIGHTS 1 2
        ZINTERCARD 2 a b WITHSCORES
        ZINTERCARD 1 nokey
        ZMPOP 1 a MIN
        ZMPOP 2 nokey a MAX COUNT 5
        EXISTS a
        ZMPOP 1 b min count 2
        ZMPOP 1 b MIN COUNT 0
        ZMPOP 1 b MIN COUNT -1
        ZMPOP 1 b MIN COUNT x
        ZMPOP 1 b MIN COUNT 1 COUNT 2
        ZMPOP 1 b MIN COUNT
        ZMPOP 0 b MIN
        ZMPOP x b MIN
        ZMPOP 9223372036854775807 b MIN
        ZMPOP 1 b FOO
        ZMPOP 2 b MIN
        ZMPOP 1 nokey MIN
        ZMPOP 1 b MAX COUNT 9223372036854775807
        EXISTS b
        BZMPOP 0.01 1 nokey MIN
        ZADD c 1 p 2 q
        BZMPOP 0 1 c MAX COUNT 10
        BZMPOP -1 1 c MAX
        BZMPOP -1 0 c MAX
        BZMPOP x 1 c FOO
        BZMPOP x 1 c MIN COUNT 0
        BZMPOP x 1 c MIN
        SET str v
        ZINTERCARD 2 a str
        ZMPOP 2 nokey str MIN
        BZMPOP 0 2 nokey str MIN
        @any HELLO 3
        ZADD d 1 p 2 q
        ZMPOP 1 d MIN COUNT 2
        ZMPOP 1 d MIN
        BZMPOP 0.01 1 d MIN
        "#,
    );
}

// ---------------------------------------------------------------------------------------------
// Blocking scenarios, run on both servers and compared
// ---------------------------------------------------------------------------------------------

/// Runs `scenario` on a fresh Reddish and a fresh redis-server; the replies it collects must
/// be the same.
fn on_both(scenario: impl Fn(&Server) -> Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let expected = scenario(&redis);
    let actual = scenario(&reddish);
    let show = |replies: &[Vec<u8>]| -> Vec<String> {
        replies.iter().map(|r| common::escape(r)).collect()
    };
    assert_eq!(show(&actual), show(&expected), "reddish vs redis-server");
    actual
}

/// Sends a command without reading its reply (the client blocks).
fn send(conn: &mut RawConn, args: &[&str]) {
    conn.send(&common::encode_command(args));
}

/// Waits until `server` reports `n` blocked clients, so waiters queue in a known order.
fn wait_blocked(conn: &mut RawConn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let wanted = format!("blocked_clients:{n}\r\n");
    while Instant::now() < deadline {
        let info = conn.cmd(&["INFO", "clients"]);
        if String::from_utf8_lossy(&info).contains(&wanted) {
            return;
        }
        sleep(Duration::from_millis(5));
    }
    panic!("never saw {wanted:?}");
}

#[test]
fn two_waiters_are_served_in_arrival_order() {
    let replies = on_both(|server| {
        let mut first = server.raw();
        let mut second = server.raw();
        let mut writer = server.raw();
        send(&mut first, &["BZPOPMIN", "k1", "k2", "0"]);
        wait_blocked(&mut writer, 1);
        send(&mut second, &["BZPOPMAX", "k2", "0"]);
        wait_blocked(&mut writer, 2);
        let added = writer.cmd(&["ZADD", "k2", "1", "a", "2", "b", "3", "c"]);
        let one = first.read_reply();
        let two = second.read_reply();
        let left = writer.cmd(&["ZRANGE", "k2", "0", "-1", "WITHSCORES"]);
        vec![added, one, two, left]
    });
    assert_eq!(
        replies[1],
        b"*3\r\n$2\r\nk2\r\n$1\r\na\r\n$1\r\n1\r\n".to_vec()
    );
    assert_eq!(
        replies[2],
        b"*3\r\n$2\r\nk2\r\n$1\r\nc\r\n$1\r\n3\r\n".to_vec()
    );
}

#[test]
fn a_single_member_serves_only_the_first_waiter() {
    on_both(|server| {
        let mut first = server.raw();
        let mut second = server.raw();
        let mut writer = server.raw();
        send(&mut first, &["BZPOPMIN", "k", "0"]);
        wait_blocked(&mut writer, 1);
        send(&mut second, &["BZPOPMIN", "k", "0"]);
        wait_blocked(&mut writer, 2);
        let added = writer.cmd(&["ZADD", "k", "1", "only"]);
        let one = first.read_reply();
        let exists = writer.cmd(&["EXISTS", "k"]);
        let still_blocked = second
            .read_reply_within(Duration::from_millis(200))
            .is_err();
        let again = writer.cmd(&["ZADD", "k", "2", "next"]);
        let two = second.read_reply();
        vec![added, one, exists, vec![still_blocked as u8], again, two]
    });
}

#[test]
fn timeout_replies_null_and_resp3_null() {
    on_both(|server| {
        let mut conn = server.raw();
        let start = Instant::now();
        let timed_out = conn.cmd(&["BZPOPMIN", "nokey", "0.2"]);
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(150),
            "returned after {waited:?}"
        );
        assert!(waited < Duration::from_secs(3), "returned after {waited:?}");
        let _ = conn.cmd(&["HELLO", "3"]);
        let resp3 = conn.cmd(&["BZPOPMAX", "nokey", "0.05"]);
        let ping = conn.cmd(&["PING"]);
        vec![timed_out, resp3, ping]
    });
}

#[test]
fn a_disconnected_waiter_is_skipped() {
    on_both(|server| {
        let mut gone = server.raw();
        let mut stays = server.raw();
        let mut writer = server.raw();
        send(&mut gone, &["BZPOPMIN", "k", "0"]);
        wait_blocked(&mut writer, 1);
        send(&mut stays, &["BZPOPMIN", "k", "0"]);
        wait_blocked(&mut writer, 2);
        drop(gone);
        wait_blocked(&mut writer, 1);
        let added = writer.cmd(&["ZADD", "k", "1", "a", "2", "b"]);
        let served = stays.read_reply();
        let left = writer.cmd(&["ZRANGE", "k", "0", "-1"]);
        vec![added, served, left]
    });
}

#[test]
fn a_waited_key_rewritten_with_another_type_keeps_the_client_waiting() {
    on_both(|server| {
        let mut waiter = server.raw();
        let mut writer = server.raw();
        send(&mut waiter, &["BZPOPMIN", "k", "0"]);
        wait_blocked(&mut writer, 1);
        let set = writer.cmd(&["SET", "k", "v"]);
        let still_blocked = waiter
            .read_reply_within(Duration::from_millis(200))
            .is_err();
        let _ = writer.cmd(&["DEL", "k"]);
        let added = writer.cmd(&["ZADD", "k", "1", "a"]);
        let served = waiter.read_reply();
        vec![set, vec![still_blocked as u8], added, served]
    });
}

#[test]
fn bzmpop_waiter_gets_up_to_count_members() {
    on_both(|server| {
        let mut waiter = server.raw();
        let mut writer = server.raw();
        send(
            &mut waiter,
            &["BZMPOP", "0", "2", "k1", "k2", "MAX", "COUNT", "2"],
        );
        wait_blocked(&mut writer, 1);
        let added = writer.cmd(&["ZADD", "k2", "1", "a", "2", "b", "3", "c"]);
        let served = waiter.read_reply();
        let left = writer.cmd(&["ZRANGE", "k2", "0", "-1"]);
        vec![added, served, left]
    });
}

#[test]
fn waiters_are_woken_by_store_commands_and_pipelined_commands_follow() {
    on_both(|server| {
        let mut waiter = server.raw();
        let mut writer = server.raw();
        let mut bytes = common::encode_command(&["BZPOPMAX", "dst", "0"]);
        bytes.extend(common::encode_command(&["PING", "after"]));
        waiter.send(&bytes);
        wait_blocked(&mut writer, 1);
        let _ = writer.cmd(&["ZADD", "src", "1", "a", "2", "b"]);
        let stored = writer.cmd(&["ZUNIONSTORE", "dst", "1", "src"]);
        let served = waiter.read_reply();
        let pong = waiter.read_reply();
        vec![stored, served, pong]
    });
}

/// ZSCAN of a large sorted set hands out cursors every client can hold: below 2^53, so a
/// signed 64-bit integer (phpredis reads cursors with `atol`) and a JavaScript number keep
/// them exactly, as they keep Redis's. A full scan returns every member once, and a cursor
/// past that range (what `atol` makes of a larger one) ends the scan instead of restarting it.
#[test]
fn zscan_cursors_fit_every_client_and_cover_the_set() {
    let server = Server::start();
    let mut conn = server.raw();
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..2000 {
        // Negative, fractional and large scores, several members per score.
        let score = match i % 4 {
            0 => format!("{}", -(i as i64) * 1_000_003),
            1 => format!("{}.25", i / 3),
            2 => format!("{}e200", i),
            _ => format!("{}", i / 2),
        };
        args.push(score);
        args.push(format!("mem:{i}"));
    }
    assert_eq!(conn.cmd(&args), b":2000\r\n");
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut pages = 0;
    loop {
        let reply = String::from_utf8(conn.cmd(&["ZSCAN", "z", &cursor, "COUNT", "10"])).unwrap();
        let lines: Vec<&str> = reply.split("\r\n").collect();
        // *2, $n, cursor, *m, then member and score bulk strings.
        cursor = lines[2].to_string();
        let value: u64 = cursor.parse().expect("a decimal cursor");
        assert!(value < 1 << 53, "cursor {value}");
        for member in lines[4..].iter().skip(1).step_by(4) {
            if !member.is_empty() {
                seen.insert(member.to_string());
            }
        }
        pages += 1;
        assert!(pages < 1000, "the scan does not end");
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 2000, "every member, once");
    assert!(pages > 100, "pages of about COUNT members: {pages}");
    let reply = conn.cmd(&["ZSCAN", "z", "9223372036854775807"]);
    assert!(
        reply.starts_with(b"*2\r\n$1\r\n0\r\n*0\r\n"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
}
