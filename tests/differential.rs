//! Differential tests: each script runs against Reddish and a real redis-server, and every
//! reply must be byte for byte the same (see `common::parse_script` for the syntax).
//!
//! Scripts hold no expected values: the reference server is the expectation. To check a
//! script itself, run it with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test differential`.

mod common;

use common::{differential, Differential};

// ---------------------------------------------------------------------------------------------
// Connection and server
// ---------------------------------------------------------------------------------------------

#[test]
fn ping_and_echo() {
    differential(
        r#"
        PING
        PING hello
        PING "hello world"
        PING ""
        PING a b
        ECHO hi
        ECHO ""
        ECHO "bin\x00\r\n"
        ECHO
        ECHO a b
        ping
        PiNg x
        echo Lower
        "#,
    );
}

#[test]
fn select_and_database_isolation() {
    differential(
        r#"
        SET k db0
        SELECT 1
        GET k
        SET k db1
        SET other 1
        DBSIZE
        SELECT 15
        DBSIZE
        SELECT 16
        SELECT -1
        SELECT abc
        SELECT 1.5
        SELECT ""
        SELECT
        SELECT 1 2
        SELECT 0
        GET k
        DBSIZE
        select 1
        GET k
        "#,
    );
}

#[test]
fn dbsize_flushdb_flushall() {
    differential(
        r#"
        DBSIZE
        MSET a 1 b 2 c 3
        DBSIZE
        SELECT 2
        SET x 1
        DBSIZE
        FLUSHDB
        DBSIZE
        SET x 1
        SELECT 0
        DBSIZE
        FLUSHDB SYNC
        DBSIZE
        SET a 1
        FLUSHDB ASYNC
        DBSIZE
        FLUSHDB foo
        FLUSHDB SYNC ASYNC
        DBSIZE extra
        SET a 1
        SELECT 2
        SET y 2
        FLUSHALL
        DBSIZE
        SELECT 0
        DBSIZE
        SET a 1
        FLUSHALL SYNC
        FLUSHALL ASYNC
        FLUSHALL foo
        DBSIZE
        "#,
    );
}

#[test]
fn unknown_command_and_arity_errors() {
    differential(
        r#"
        FOO
        FOO a b
        foo a b c d e
        FOO "a b" ""
        "" a
        NOSUCHCOMMAND "bin\x00ary"
        GET
        get
        GeT a b
        SET a
        SET
        MGET
        MSET a
        MSET a 1 b
        DEL
        EXISTS
        INCR
        INCRBY a
        APPEND a
        STRLEN
        GETRANGE a 0
        SETRANGE a 0
        EXPIRE a
        TTL
        TYPE
        KEYS
        RENAME a
        DBSIZE x
        "#,
    );
}

/// The replication, cluster, module and LOLWUT commands as a master without replicas, with
/// no modules loaded, answers them: Reddish is always one. (REPLICAOF host port, which Redis
/// accepts and Reddish refuses, is checked in `tests/server_commands.rs`.)
#[test]
fn replication_module_and_lolwut_commands_on_a_lone_master() {
    differential(
        r#"
        REPLICAOF NO ONE
        replicaof no one
        SLAVEOF NO ONE
        REPLICAOF NO
        REPLICAOF localhost 65536
        REPLICAOF localhost -1
        SLAVEOF localhost port
        FAILOVER
        FAILOVER ABORT
        FAILOVER abort extra
        FAILOVER TIMEOUT 0
        FAILOVER TIMEOUT -5
        FAILOVER TIMEOUT x
        FAILOVER TIMEOUT 10 TIMEOUT 10
        FAILOVER TIMEOUT
        FAILOVER TO host
        FAILOVER TO host port
        FAILOVER TO host 7000
        FAILOVER TO host 7000 FORCE
        FAILOVER TO host 7000 FORCE TIMEOUT 100
        FAILOVER FORCE FORCE
        FAILOVER TO a 1 TO b 2
        FAILOVER bogus
        ASKING
        ASKING extra
        MODULE LIST
        MODULE HELP
        MODULE help extra
        MODULE LIST extra
        MODULE LOAD /no/such/module.so
        MODULE LOADEX /no/such/module.so ARGS a
        MODULE UNLOAD nosuch
        MODULE LOAD
        MODULE UNLOAD
        MODULE FOO
        MODULE
        LOLWUT
        LOLWUT VERSION 7
        LOLWUT VERSION 1
        LOLWUT VERSION x
        LOLWUT VERSION
        LOLWUT something else
        LOLWUT VERSION 5 abc
        LOLWUT VERSION 5 10 2 x
        @type LOLWUT VERSION 5
        @type LOLWUT VERSION 5 10 2 2
        @type LOLWUT VERSION 5 0 0 0
        LOLWUT VERSION 6 x
        LOLWUT VERSION 6 10 x
        @any HELLO 3
        LOLWUT
        MODULE LIST
        "#,
    );
}

/// With `enable-module-command yes`, loading a module fails and unloading finds none, as in
/// a Redis that cannot load the file.
#[test]
fn module_commands_when_enabled() {
    common::Differential::with_args(&["--enable-module-command", "yes"]).run(
        r#"
        MODULE LOAD /no/such/module.so
        MODULE LOAD /no/such/module.so arg1 arg2
        MODULE LOADEX /no/such/module.so CONFIG a b ARGS c
        MODULE UNLOAD nosuch
        MODULE UNLOAD
        MODULE LIST
        CONFIG GET enable-module-command
        CONFIG SET enable-module-command no
        "#,
    );
}

/// Orders of checks and limits an audit against redis-server found different: GETEX looks
/// the key up before it reads the expiry, EXPIRE reads its flags before the time,
/// EXPIRETIME rounds, `proto-max-bulk-len` bounds APPEND and SETRANGE and refuses values
/// under 1 MB, a glob other than a bare `*` never matches an empty name, and a blocking
/// timeout too small for a double is still a millisecond.
#[test]
fn check_orders_and_limits_found_by_the_audit() {
    differential(
        r#"
        GETEX missing EX abc
        GETEX missing EX 0
        GETEX missing PX -2
        GETEX missing EX 9223372036854775807
        GETEX missing EX 1 PX 1
        GETEX missing BOGUS
        RPUSH lst a
        GETEX lst PX 0
        GETEX lst EX abc
        SET s v
        GETEX s EX abc
        GETEX s EX 0
        GETEX s EX 100
        TTL s
        EXPIRE k abc NX XX
        EXPIRE k abc GT LT
        EXPIRE k abc FOO
        EXPIRE k k k
        PEXPIRE k abc NX GT
        EXPIREAT k abc XX LT
        EXPIRE s abc NX
        PEXPIREAT s 4000000000600
        EXPIRETIME s
        PEXPIRETIME s
        PEXPIREAT s 4000000000499
        EXPIRETIME s
        CONFIG SET proto-max-bulk-len 1000
        CONFIG SET proto-max-bulk-len 0
        CONFIG SET proto-max-bulk-len 1048575
        CONFIG GET proto-max-bulk-len
        CONFIG SET proto-max-bulk-len 1048576
        SETRANGE x 1048575 ab
        SETRANGE x 1048575 a
        STRLEN x
        APPEND x c
        SETRANGE x 0 ""
        CONFIG SET proto-max-bulk-len 512mb
        APPEND x c
        SET "" 1
        HSET h "" v f w
        SADD st "" a
        ZADD z 1 "" 2 a
        @sorted KEYS **
        @sorted KEYS *
        @sorted KEYS ?
        KEYS ""
        HSCAN h 0 MATCH **
        @pairs HSCAN h 0 MATCH *
        SSCAN st 0 MATCH **
        ZSCAN z 0 MATCH **
        @scan SCAN 0 MATCH **
        BLPOP nokey 1e-400
        BLPOP nokey 5e-324
        BLPOP nokey 9223372036854776
        BLPOP nokey 9223372036854775.9
        BLPOP nokey inf
        "#,
    );
}

/// Server-command details an audit against redis-server found different: CONFIG GET lists
/// an exactly named parameter as typed, CONFIG SET reads its pairs and integers as Redis
/// does, COMMAND INFO answers an unknown name with a null bulk, and Lua numbers reach
/// commands as `%.17g` (and NaN with its sign).
#[test]
fn server_and_script_details_found_by_the_audit() {
    differential(
        r#"
        CONFIG GET MAXMEMORY
        CONFIG GET HZ hz
        CONFIG GET Hash-Max-Ziplist-Entries
        CONFIG SET maxmemory 1 maxmemory-policy
        CONFIG SET timeout 99999999999999999999
        CONFIG SET hz +5
        CONFIG SET hz 5
        COMMAND INFO nonexist
        COMMAND INFO get nonexist
        EVAL "return redis.call('echo', 0.1)" 0
        EVAL "return redis.call('echo', -0.0)" 0
        EVAL "return redis.call('echo', 2^63)" 0
        EVAL "return redis.call('echo', 1e-5)" 0
        EVAL "return redis.call('echo', 1e17)" 0
        EVAL "return redis.call('echo', 123)" 0
        EVAL "return redis.call('echo', 0/0)" 0
        EVAL "return redis.pcall('set', 'n', 1/3)" 0
        GET n
        EVAL "return {double=0/0}" 0
        EVAL "return redis.sha1hex(0.1 + 0.2)" 0
        EVAL "return redis.sha1hex(1e15)" 0
        @any HELLO 3
        COMMAND INFO nonexist
        EVAL "return {double=0/0}" 0
        "#,
    );
}

/// Consumer-group changes are not key modifications (a WATCH survives them), a SET with an
/// expiry already past keeps the key until expiry finds it (an `expired` event), and a write
/// over a logically expired key expires it first: as an audit against redis-server found.
#[test]
fn group_changes_past_expiries_and_expired_overwrites_match_redis() {
    differential(
        r#"
        XADD k 1-1 a 1
        XGROUP CREATE k g0 0
        @conn 1
        WATCH k
        @conn 0
        XGROUP CREATE k g $
        XGROUP CREATECONSUMER k g c9
        XREADGROUP GROUP g0 c0 STREAMS k >
        XACK k g0 1-1
        XCLAIM k g0 c1 0 1-1
        XAUTOCLAIM k g0 c1 0 0
        XSETID k 5-0
        XGROUP SETID k g 0
        XGROUP DELCONSUMER k g c9
        XGROUP DESTROY k g
        @conn 1
        MULTI
        PING
        EXEC
        WATCH k
        @conn 0
        XADD k 6-0 b 2
        @conn 1
        MULTI
        PING
        EXEC
        @conn 0
        CONFIG SET notify-keyspace-events KEA
        @conn 2
        PSUBSCRIBE __keyevent@0__:*
        @conn 0
        SET past v EXAT 1
        GET past
        SET soon old PX 20
        @sleep 60
        MSET soon 1
        SET src x
        SET dst old PX 20
        @sleep 60
        BITOP NOT dst src
        @conn 2
        @receive 11
        "#,
    );
}

/// `keymiss` events come from the reads Redis makes: EXISTS, TTL, TYPE, TOUCH, GETDEL, COPY's
/// source, set algebra's sources, XREAD's two lookups; none from OBJECT or from XGROUP CREATE
/// MKSTREAM.
#[test]
fn keymiss_events_match_redis() {
    differential(
        r#"
        CONFIG SET notify-keyspace-events Km
        @conn 1
        PSUBSCRIBE __key*__:*
        @conn 0
        OBJECT ENCODING nk
        XGROUP CREATE ns g $ MKSTREAM
        EXISTS nk
        TTL nk
        TYPE nk
        TOUCH nk
        GETDEL nk
        COPY nk x
        SINTERSTORE d nk
        XREAD STREAMS nk 0
        GET nk
        @conn 1
        @receive 10
        "#,
    );
}

#[test]
fn unknown_command_long_arguments_are_truncated() {
    let long = "x".repeat(300);
    let script = format!(
        "FOO {long} {long}\n{long}\nFOO a b c d e f g h i j k l m n o p q r s t u v w x y z \
         aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbb\n"
    );
    differential(&script);
}

#[test]
fn command_names_are_case_insensitive() {
    differential(
        r#"
        set Key Value
        GET Key
        get key
        gEt Key
        SeT Key v2 ex 100
        ttl Key
        InCr n
        iNcRbY n 10
        mSeT a 1 b 2
        mget a b Key
        DeL a
        exists a b
        "#,
    );
}

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

#[test]
fn get_set_basics_and_binary_values() {
    differential(
        r#"
        GET missing
        SET k v
        GET k
        SET k "hello world"
        GET k
        SET k ""
        GET k
        STRLEN k
        SET bin "a\x00b\r\nc\xff"
        GET bin
        STRLEN bin
        SET "key\x00with\r\nbytes" v
        GET "key\x00with\r\nbytes"
        SET k 123
        GET k
        SET k -0
        GET k
        SET k 1 2
        SET k v foo
        "#,
    );
}

#[test]
fn set_expire_options() {
    differential(
        r#"
        SET k v EX 100
        TTL k
        SET k v PX 100000
        TTL k
        SET k v EXAT 4102444800
        EXPIRETIME k
        SET k v PXAT 4102444800123
        PEXPIRETIME k
        EXPIRETIME k
        SET k v ex 100
        TTL k
        SET k v EX 0
        SET k v EX -1
        SET k v PX 0
        SET k v PX -5
        SET k v EXAT 0
        SET k v PXAT -1
        SET k v EX abc
        SET k v EX 1.5
        SET k v EX ""
        SET k v EX
        SET k v PX
        SET k v EX 9223372036854775807
        SET k v PX 9223372036854775807
        SET k v EX 9223372036854775
        SET k v EXAT 9223372036854775807
        SET k v EX 10 PX 10
        SET k v EX 10 EX 10
        SET k v EX 10 KEEPTTL
        SET k v KEEPTTL PX 5
        SET k v EXAT 1
        GET k
        EXISTS k
        SET k v PXAT 1
        EXISTS k
        GET k
        "#,
    );
}

#[test]
fn set_nx_xx_keepttl_get() {
    differential(
        r#"
        SET k v NX
        SET k v2 NX
        GET k
        SET k v3 XX
        GET k
        SET missing v XX
        GET missing
        SET k v NX XX
        SET k v XX NX
        SET k v nx
        SET k v EX 100
        SET k v2 KEEPTTL
        TTL k
        SET k v3
        TTL k
        SET k v EX 100
        SET k v2 XX KEEPTTL
        TTL k
        SET k v GET
        SET k new GET
        GET k
        SET nokey v GET
        SET k v4 NX GET
        SET k2 v NX GET
        GET k2
        SET k v5 XX GET
        SET nokey2 v XX GET
        EXISTS nokey2
        SET k v6 GET EX 100
        TTL k
        SET k v7 KEEPTTL GET
        TTL k
        SET k v GET GET
        SET k v NX NX
        SET k v KEEPTTL KEEPTTL
        "#,
    );
}

#[test]
fn setnx_setex_psetex() {
    differential(
        r#"
        SETNX k v
        SETNX k v2
        GET k
        SETNX k
        SETEX k 100 v
        TTL k
        GET k
        SETEX k 0 v
        SETEX k -10 v
        SETEX k abc v
        SETEX k 1.5 v
        SETEX k 9223372036854775807 v
        SETEX k 100
        PSETEX k 100000 v
        TTL k
        PSETEX k 0 v
        PSETEX k -1 v
        PSETEX k abc v
        PSETEX k 9223372036854775807 v
        PSETEX k
        GET k
        "#,
    );
}

#[test]
fn getset_getdel_getex() {
    differential(
        r#"
        GETSET k v
        GETSET k v2
        GET k
        SET k v EX 100
        GETSET k v3
        TTL k
        GETDEL k
        GETDEL k
        EXISTS k
        GETDEL
        GETEX missing
        GETEX missing EX 10
        SET k v
        GETEX k
        TTL k
        GETEX k EX 100
        TTL k
        GETEX k PERSIST
        TTL k
        GETEX k PX 200000
        TTL k
        GETEX k EXAT 4102444800
        EXPIRETIME k
        GETEX k PXAT 4102444800999
        PEXPIRETIME k
        GETEX k ex 300
        TTL k
        GETEX k EX 0
        GETEX k EX -1
        GETEX k PX 0
        GETEX k EX abc
        GETEX k EX
        GETEX k EX 10 PX 10
        GETEX k EX 10 PERSIST
        GETEX k PERSIST PERSIST
        GETEX k FOO
        GETEX k EX 9223372036854775807
        TTL k
        GETEX k EXAT 1
        EXISTS k
        GETEX k
        "#,
    );
}

#[test]
fn mget_mset_msetnx() {
    differential(
        r#"
        MSET a 1 b 2 c 3
        MGET a b c missing
        MGET missing
        MGET a a a
        MSET a x a y
        GET a
        MSET a
        MSET a 1 b
        MSETNX a 1 d 4
        EXISTS d
        MSETNX d 4 e 5
        MGET d e
        MSETNX f 1 f 2
        GET f
        MSETNX g
        MSETNX g 1 h
        SET k v EX 100
        MSET k v2
        TTL k
        "#,
    );
}

#[test]
fn append_and_strlen() {
    differential(
        r#"
        APPEND k hello
        APPEND k " world"
        GET k
        STRLEN k
        APPEND k ""
        STRLEN k
        APPEND bin "\x00\r\n"
        GET bin
        STRLEN bin
        STRLEN missing
        SET n 10
        APPEND n 5
        GET n
        INCR n
        SET k v EX 100
        APPEND k v
        TTL k
        APPEND k
        STRLEN a b
        "#,
    );
}

#[test]
fn incr_decr_family() {
    differential(
        r#"
        INCR n
        INCR n
        DECR n
        INCRBY n 10
        INCRBY n -20
        DECRBY n 5
        DECRBY n -5
        GET n
        DECR m
        SET n 9223372036854775806
        INCR n
        INCR n
        GET n
        SET n -9223372036854775807
        DECR n
        DECR n
        SET n 1
        INCRBY n 9223372036854775807
        SET n -1
        DECRBY n 9223372036854775807
        DECRBY n 9223372036854775808
        DECRBY n -9223372036854775808
        INCRBY n -9223372036854775808
        SET n 0
        DECRBY n -9223372036854775808
        INCRBY n abc
        INCRBY n 1.5
        INCRBY n ""
        INCRBY n 99999999999999999999
        SET s abc
        INCR s
        DECR s
        INCRBY s 1
        SET s " 1"
        INCR s
        SET s "1 "
        INCR s
        SET s +1
        INCR s
        SET s 01
        INCR s
        SET s -0
        INCR s
        SET s 1.0
        INCR s
        SET s ""
        INCR s
        SET s 99999999999999999999
        INCR s
        SET t 5 EX 100
        INCR t
        TTL t
        INCR a b
        INCRBY a
        DECRBY a 1 2
        "#,
    );
}

#[test]
fn incrbyfloat_formatting_and_errors() {
    differential(
        r#"
        SET f 10.50
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f -5
        GET f
        SET f 5.0e3
        INCRBYFLOAT f 2.0e2
        SET f 3.0e3
        INCRBYFLOAT f 0
        INCRBYFLOAT g 5.0e3
        INCRBYFLOAT g 3.0e3
        INCRBYFLOAT h 1
        INCRBYFLOAT h 1.5
        INCRBYFLOAT h -2.5
        INCRBYFLOAT h 1e20
        INCRBYFLOAT i -1.25
        INCRBYFLOAT i 0.25
        INCRBYFLOAT j 100
        OBJECT ENCODING j
        INCRBYFLOAT f abc
        INCRBYFLOAT f ""
        INCRBYFLOAT f 1.5x
        INCRBYFLOAT f inf
        INCRBYFLOAT f -inf
        INCRBYFLOAT f nan
        SET s abc
        INCRBYFLOAT s 1
        SET s inf
        INCRBYFLOAT s 1
        SET s " 1.5"
        INCRBYFLOAT s 1
        SET s 1e3
        INCRBYFLOAT s 1
        SET t 1.5 EX 100
        INCRBYFLOAT t 1
        TTL t
        INCRBYFLOAT f
        INCRBYFLOAT f 1 2
        "#,
    );
}

/// Redis computes INCRBYFLOAT in `long double` (80-bit on x86-64); f64 arithmetic shows
/// extra digits here.
#[test]
fn incrbyfloat_long_double_precision() {
    differential(
        r#"
        SET f 0.1
        INCRBYFLOAT f 0.2
        SET g 1.1
        INCRBYFLOAT g 2.2
        INCRBYFLOAT g 3.3
        INCRBYFLOAT h 0.1
        INCRBYFLOAT h 0.1
        INCRBYFLOAT h 0.1
        INCRBYFLOAT big 1e400
        INCRBYFLOAT big -1e400
        "#,
    );
}

#[test]
fn getrange_setrange() {
    differential(
        r#"
        SET k "Hello World"
        GETRANGE k 0 4
        GETRANGE k -5 -1
        GETRANGE k 0 -1
        GETRANGE k -100 -1
        GETRANGE k 0 100
        GETRANGE k 5 2
        GETRANGE k -1 -5
        GETRANGE k 100 200
        GETRANGE k -1 0
        GETRANGE k 0 0
        GETRANGE missing 0 -1
        GETRANGE k a 1
        GETRANGE k 0 b
        GETRANGE k 0 9223372036854775807
        GETRANGE k -9223372036854775808 1
        SET n 12345
        GETRANGE n 1 2
        SETRANGE k 6 Redis
        GET k
        SETRANGE k 20 "!"
        GET k
        STRLEN k
        SETRANGE p 3 abc
        GET p
        SETRANGE e 10 ""
        EXISTS e
        SETRANGE e 0 ""
        EXISTS e
        SETRANGE k 0 ""
        SETRANGE k -1 x
        SETRANGE k abc x
        SETRANGE k 536870912 x
        SETRANGE k 536870911 xy
        SETRANGE bin 2 "\x00\r\n"
        GET bin
        SET n 12345
        SETRANGE n 1 x
        GET n
        SETRANGE k 0
        GETRANGE k 0
        "#,
    );
}

#[test]
fn object_encoding_of_strings() {
    let s44 = "a".repeat(44);
    let s45 = "a".repeat(45);
    let script = format!(
        r#"
        SET i 123
        OBJECT ENCODING i
        SET i -42
        OBJECT ENCODING i
        SET i 9223372036854775807
        OBJECT ENCODING i
        SET i 12345678901234567890
        OBJECT ENCODING i
        SET i 01
        OBJECT ENCODING i
        SET i " 1"
        OBJECT ENCODING i
        SET e abc
        OBJECT ENCODING e
        SET e ""
        OBJECT ENCODING e
        SET e {s44}
        OBJECT ENCODING e
        SET r {s45}
        OBJECT ENCODING r
        SET a 1
        APPEND a 2
        OBJECT ENCODING a
        SET s abc
        SETRANGE s 0 x
        OBJECT ENCODING s
        INCR c
        OBJECT ENCODING c
        SET c 10
        INCRBY c 5
        OBJECT ENCODING c
        OBJECT ENCODING missing
        object encoding i
        OBJECT FOO i
        OBJECT
        OBJECT ENCODING
        OBJECT ENCODING a b
        "#
    );
    differential(&script);
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

#[test]
fn del_unlink_exists_type_touch() {
    differential(
        r#"
        MSET a 1 b 2 c 3
        EXISTS a
        EXISTS a b missing
        EXISTS a a a
        DEL a a
        EXISTS a
        DEL missing
        DEL b c b
        MSET a 1 b 2
        UNLINK a missing b a
        EXISTS a b
        SET k v
        TYPE k
        TYPE missing
        TOUCH k
        TOUCH k k missing
        TOUCH missing
        TOUCH
        TYPE
        TYPE a b
        UNLINK
        "#,
    );
}

#[test]
fn keys_glob_patterns() {
    differential(
        r#"
        MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 a 6 b 7 c 8 d 9 ab 10 "a*b" 11 "a?b" 12 "a[b" 13 "a\\b" 14
        @sorted KEYS *
        @sorted KEYS h?llo
        @sorted KEYS h*llo
        @sorted KEYS h[ae]llo
        @sorted KEYS h[^e]llo
        @sorted KEYS h[a-b]llo
        @sorted KEYS [a-c]
        @sorted KEYS [^a]
        @sorted KEYS [c-a]
        @sorted KEYS a\*b
        @sorted KEYS a\?b
        @sorted KEYS a\[b
        @sorted KEYS "a\\\\b"
        @sorted KEYS a*
        @sorted KEYS *b
        @sorted KEYS ?
        @sorted KEYS ??
        @sorted KEYS nomatch*
        @sorted KEYS ""
        @sorted KEYS hello
        KEYS
        KEYS a b
        "#,
    );
}

#[test]
fn keys_glob_edge_cases() {
    differential(
        r#"
        MSET a 1 "[" 2 "]" 3 "a[" 4 "*" 5 "\\" 6 "-" 7 ab 8 "a]" 9
        @sorted KEYS [
        @sorted KEYS a[
        @sorted KEYS [a
        @sorted KEYS []
        @sorted KEYS []]
        @sorted KEYS [\]]
        @sorted KEYS [a-]
        @sorted KEYS [-a]
        @sorted KEYS \
        @sorted KEYS "\\\\"
        @sorted KEYS \*
        @sorted KEYS **
        @sorted KEYS *?*
        @sorted KEYS [^]
        @sorted KEYS a[^b]
        "#,
    );
}

#[test]
fn scan_full_iteration() {
    let mut script = String::from("MSET");
    for i in 0..300 {
        script.push_str(&format!(" key:{i} {i}"));
    }
    script.push_str("\nMSET");
    for i in 0..50 {
        script.push_str(&format!(" other:{i} {i}"));
    }
    script.push_str(
        r#"
        @scan SCAN 0
        @scan SCAN 0 COUNT 1
        @scan SCAN 0 COUNT 1000
        @scan SCAN 0 MATCH key:1*
        @scan SCAN 0 MATCH other:* COUNT 7
        @scan SCAN 0 MATCH nomatch*
        @scan SCAN 0 TYPE string
        @scan SCAN 0 TYPE STRING MATCH key:2?
        @scan SCAN 0 TYPE list
        @scan SCAN 0 TYPE nosuchtype
        @scan scan 0 match *:4* count 20
        SCAN abc
        @type SCAN -1
        SCAN 0 COUNT 0
        SCAN 0 COUNT -1
        SCAN 0 COUNT abc
        SCAN 0 MATCH
        SCAN 0 FOO bar
        SCAN 0 COUNT
        SCAN
        SELECT 3
        SCAN 0
        "#,
    );
    differential(&script);
}

#[test]
fn rename_and_renamenx() {
    differential(
        r#"
        SET a 1
        RENAME a b
        GET a
        GET b
        RENAME missing x
        RENAMENX missing x
        SET c 3
        RENAME b c
        GET c
        EXISTS b
        RENAME c c
        GET c
        RENAMENX c c
        SET d 4
        RENAMENX c d
        RENAMENX c e
        MGET c d e
        SET t v EX 100
        RENAME t t2
        TTL t2
        SET t3 x
        RENAME t2 t3
        TTL t3
        RENAME a
        RENAMENX a b c
        "#,
    );
}

#[test]
fn copy_between_keys_and_databases() {
    differential(
        r#"
        SET a 1
        COPY a b
        GET b
        COPY a b
        SET a 2
        COPY a b REPLACE
        GET b
        COPY missing b
        COPY a a
        COPY a a REPLACE
        SET t v EX 100
        COPY t t2
        TTL t2
        COPY a b DB 1
        COPY a b DB 1
        COPY a b DB 1 REPLACE
        SELECT 1
        GET b
        SELECT 0
        COPY a a DB 1 REPLACE
        COPY a a DB 0
        COPY a c DB 16
        COPY a c DB -1
        COPY a c DB abc
        COPY a c DB
        COPY a c FOO
        COPY a c REPLACE REPLACE
        COPY a
        "#,
    );
}

#[test]
fn move_between_databases() {
    differential(
        r#"
        SET a 1
        MOVE a 1
        EXISTS a
        SELECT 1
        GET a
        MOVE a 0
        SELECT 0
        GET a
        SET b x
        SELECT 1
        SET b y
        SELECT 0
        MOVE b 1
        GET b
        MOVE missing 1
        MOVE a 0
        MOVE a 16
        MOVE a -1
        MOVE a abc
        SET t v EX 100
        MOVE t 2
        SELECT 2
        TTL t
        MOVE a
        "#,
    );
}

#[test]
fn expire_family_and_options() {
    differential(
        r#"
        SET k v
        EXPIRE k 100
        TTL k
        PEXPIRE k 200000
        TTL k
        EXPIREAT k 4102444800
        EXPIRETIME k
        PEXPIREAT k 4102444800123
        PEXPIRETIME k
        EXPIRETIME k
        EXPIRE missing 100
        PEXPIRE missing 100
        EXPIREAT missing 4102444800
        PEXPIREAT missing 4102444800000
        SET p v
        EXPIRE p 100 NX
        EXPIRE p 200 NX
        TTL p
        EXPIRE p 300 XX
        TTL p
        EXPIRE p 200 GT
        EXPIRE p 400 GT
        TTL p
        EXPIRE p 500 LT
        EXPIRE p 100 LT
        TTL p
        SET q v
        EXPIRE q 100 XX
        EXPIRE q 100 GT
        EXPIRE q 100 LT
        TTL q
        SET q v
        PEXPIRE q 100000 NX
        PEXPIRE q 50000 gt
        PEXPIRE q 50000 lt
        TTL q
        EXPIREAT q 4102444800 XX
        EXPIRETIME q
        PEXPIREAT q 4102444900000 GT
        PEXPIRETIME q
        EXPIRE q 100 NX XX
        EXPIRE q 100 XX NX
        EXPIRE q 100 GT LT
        EXPIRE q 100 NX GT
        EXPIRE q 100 NX LT
        EXPIRE q 100 FOO
        EXPIRE q 100 XX GT
        EXPIRE q 100 XX XX
        EXPIRE q abc
        EXPIRE q 1.5
        EXPIRE q ""
        EXPIRE q 9223372036854775807
        PEXPIRE q 9223372036854775807
        EXPIREAT q 9223372036854775807
        PEXPIREAT q 9223372036854775807
        EXPIRE q 9223372036854775
        EXPIRE q -9223372036854775808
        EXISTS q
        SET z v
        EXPIRE z 0
        EXISTS z
        SET z v
        EXPIRE z -1
        EXISTS z
        SET z v
        PEXPIRE z -100
        EXISTS z
        SET z v
        EXPIREAT z 1
        EXISTS z
        SET z v
        PEXPIREAT z 0
        EXISTS z
        EXPIRE
        EXPIRE k
        "#,
    );
}

#[test]
fn ttl_pttl_persist_expiretime() {
    differential(
        r#"
        TTL missing
        PTTL missing
        EXPIRETIME missing
        PEXPIRETIME missing
        SET k v
        TTL k
        PTTL k
        EXPIRETIME k
        PEXPIRETIME k
        PERSIST k
        PERSIST missing
        EXPIRE k 100
        TTL k
        @type PTTL k
        PERSIST k
        PERSIST k
        TTL k
        PTTL k
        SET s v PX 150
        @sleep 300
        TTL s
        EXISTS s
        GET s
        SET m v PX 100000
        TTL m
        TTL
        TTL a b
        PERSIST
        EXPIRETIME a b
        "#,
    );
}

#[test]
fn randomkey_is_type_only() {
    differential(
        r#"
        @type RANDOMKEY
        MSET a 1 b 2 c 3
        @type RANDOMKEY
        @type RANDOMKEY
        RANDOMKEY x
        SELECT 1
        RANDOMKEY
        SET only 1
        RANDOMKEY
        "#,
    );
}

/// String commands against keys holding lists, sets and hashes.
#[test]
fn string_commands_on_other_types() {
    differential(
        r#"
        LPUSH l a
        SADD s a
        HSET h f v
        TYPE l
        TYPE s
        TYPE h
        GET l
        SET l v GET
        GETSET l v
        GETDEL l
        GETEX l
        APPEND l x
        STRLEN l
        INCR l
        INCRBYFLOAT l 1
        GETRANGE l 0 1
        SETRANGE l 0 x
        MGET l s h
        @sorted KEYS *
        @scan SCAN 0 TYPE list
        @scan SCAN 0 TYPE string
        OBJECT ENCODING l
        SET l v
        TYPE l
        GET l
        "#,
    );
}

// ---------------------------------------------------------------------------------------------
// Raw protocol
// ---------------------------------------------------------------------------------------------

#[test]
fn raw_inline_commands() {
    let mut d = Differential::new();
    d.raw_case("inline ping", &[b"PING\r\n"], 1);
    d.raw_case("inline ping lf only", &[b"PING\n"], 1);
    d.raw_case(
        "inline set with quotes",
        &[b"SET a \"hello world\"\r\nGET a\r\n"],
        2,
    );
    d.raw_case(
        "inline escapes",
        &[b"SET b \"x\\x41\\n\\t\\\"y\" extra\r\nSET b \"x\\x41\\n\"\r\nGET b\r\nSET c 'it\\'s'\r\nGET c\r\n"],
        5,
    );
    d.raw_case(
        "inline spacing",
        &[b"  SET   spaced    value  \r\nGET\tspaced\r\n"],
        2,
    );
    d.raw_case("inline unknown", &[b"FOO bar baz\r\n"], 1);
    d.raw_case("inline arity", &[b"GET\r\n"], 1);
    d.raw_case("empty inline lines", &[b"\r\n\r\n\n  \r\nPING\r\n"], 1);
    d.raw_case("inline quoted empty", &[b"ECHO \"\"\r\n"], 1);
}

#[test]
fn raw_pipelining_and_split_requests() {
    let mut d = Differential::new();
    d.raw_case(
        "pipelined multibulk",
        &[b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"],
        4,
    );
    d.raw_case(
        "pipelined mixed inline and multibulk",
        &[b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO there\r\n*1\r\n$4\r\nPING\r\n"],
        4,
    );
    let request: &[u8] = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$10\r\n0123456789\r\n*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n";
    let bytes: Vec<&[u8]> = request.chunks(1).collect();
    d.raw_case("request split into single bytes", &bytes, 2);
    let chunks: Vec<&[u8]> = request.chunks(7).collect();
    d.raw_case("request split into 7-byte writes", &chunks, 2);
    d.raw_case(
        "inline split across writes",
        &[b"EC", b"HO hel", b"lo\r", b"\nPI", b"NG\r\n"],
        2,
    );
    let mut many = Vec::new();
    for i in 0..1000 {
        many.extend_from_slice(
            format!(
                "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n*1\r\n$4\r\nPING\r\n{}",
                if i % 2 == 0 { "PING\r\n" } else { "" }
            )
            .as_bytes(),
        );
    }
    d.raw_case("1000 pipelined groups", &[&many], 2500);
    d.raw_case(
        "empty multibulk is ignored",
        &[b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n"],
        1,
    );
    d.raw_case(
        "binary bulk argument",
        &[b"*3\r\n$3\r\nSET\r\n$3\r\nb\x00k\r\n$4\r\n\r\n\x00\xff\r\n*2\r\n$3\r\nGET\r\n$3\r\nb\x00k\r\n"],
        2,
    );
}

#[test]
fn raw_protocol_errors_close_the_connection() {
    let mut d = Differential::new();
    d.raw_case("invalid multibulk length", &[b"*abc\r\n"], 1);
    d.raw_case("multibulk length with sign", &[b"*+1\r\n$4\r\nPING\r\n"], 1);
    d.raw_case("invalid bulk length", &[b"*1\r\n$abc\r\n"], 1);
    d.raw_case("negative bulk length", &[b"*1\r\n$-1\r\n"], 1);
    d.raw_case("bulk length over 512MB", &[b"*1\r\n$600000000\r\n"], 1);
    d.raw_case("expected dollar", &[b"*1\r\nPING\r\n"], 1);
    d.raw_case(
        "error after a good command",
        &[b"*1\r\n$4\r\nPING\r\n*1\r\n:4\r\n"],
        2,
    );
    d.raw_case("unbalanced double quote", &[b"SET a \"hello\r\n"], 1);
    d.raw_case("unbalanced single quote", &[b"SET a 'hello\r\n"], 1);
    d.raw_case("quote not followed by space", &[b"SET a \"x\"y\r\n"], 1);
    let big_inline = vec![b'a'; 70 * 1024];
    d.raw_case("too big inline request", &[&big_inline], 1);
}

/// Redis skips the two bytes after a bulk payload without checking they are CRLF.
#[test]
fn raw_bulk_terminator_is_not_checked() {
    let mut d = Differential::new();
    d.raw_case(
        "bulk followed by two non-CRLF bytes",
        &[b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n"],
        2,
    );
}
