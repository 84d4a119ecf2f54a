//! Encoding thresholds and CONFIG SET's rules, compared with a real redis-server: every
//! OBJECT ENCODING and CONFIG reply must be byte for byte Redis 7.0's.

mod common;

use common::differential;

#[test]
fn hash_encoding_follows_its_parameters() {
    differential(
        r#"
        CONFIG SET hash-max-ziplist-entries 2
        HSET h a 1 b 2
        OBJECT ENCODING h
        HSET h c 3
        OBJECT ENCODING h
        HDEL h a b
        OBJECT ENCODING h
        CONFIG SET hash-max-listpack-entries 512 hash-max-listpack-value 8
        HSET small f 12345678
        OBJECT ENCODING small
        HSET big f 123456789
        OBJECT ENCODING big
        HSET early a 1 b 123456789 c 3
        OBJECT ENCODING early
        HINCRBYFLOAT fl tmp 0.000005
        OBJECT ENCODING fl
        HINCRBYFLOAT fl tmp 0.0000005
        OBJECT ENCODING fl
        HSETNX nx abcdefghi 1
        OBJECT ENCODING nx
        CONFIG SET hash-max-listpack-value 100000 hash-max-listpack-entries 0
        HSET zero a 1
        OBJECT ENCODING zero
        CONFIG SET hash-max-listpack-entries 10
        HSET long f "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        OBJECT ENCODING long
        @pairs HGETALL long
        COPY long long2
        OBJECT ENCODING long2
        "#,
    );
}

#[test]
fn set_and_zset_encodings_follow_their_parameters() {
    differential(
        r#"
        CONFIG SET set-max-intset-entries 2
        SADD s 1 2
        OBJECT ENCODING s
        SADD s 3
        OBJECT ENCODING s
        SREM s 3
        OBJECT ENCODING s
        SADD a 1 2 3
        SINTERSTORE dst a s
        OBJECT ENCODING dst
        SUNIONSTORE dst a s
        OBJECT ENCODING dst
        CONFIG SET set-max-intset-entries 0
        SADD zero 1
        OBJECT ENCODING zero
        CONFIG SET set-max-intset-entries 512
        CONFIG SET zset-max-ziplist-entries 2 zset-max-ziplist-value 3
        ZADD z 1 a 2 b
        OBJECT ENCODING z
        ZADD z 3 c
        OBJECT ENCODING z
        ZADD long 1 abcd
        OBJECT ENCODING long
        ZADD z2 1 abc
        OBJECT ENCODING z2
        ZRANGESTORE r1 z 0 0
        OBJECT ENCODING r1
        ZRANGESTORE r2 z 0 -1
        OBJECT ENCODING r2
        ZUNIONSTORE u 1 z2
        OBJECT ENCODING u
        CONFIG SET zset-max-listpack-entries 0
        ZADD zero 1 a
        OBJECT ENCODING zero
        ZRANGESTORE r3 z2 0 -1
        OBJECT ENCODING r3
        "#,
    );
}

#[test]
fn config_set_checks_names_then_values_all_or_nothing() {
    differential(
        r#"
        CONFIG SET maxmemory 10000001 maxmemory 10000002
        CONFIG SET hash-max-listpack-entries 1 hash-max-ziplist-entries 2
        CONFIG GET hash-max-listpack-entries
        CONFIG SET hash-max-ziplist-entries 1 HASH-MAX-ZIPLIST-ENTRIES 2
        CONFIG SET hz 11 daemonize yes nosuchparameter 1
        CONFIG SET hz 11 nosuchparameter 1 daemonize yes
        CONFIG SET dir /tmp
        CONFIG SET maxmemory 10000001 hash-max-ziplist-value abc
        CONFIG GET maxmemory
        CONFIG SET maxmemory 10000001 maxmemory-clients 200% client-query-buffer-limit invalid
        CONFIG SET maxmemory-clients 10%
        CONFIG GET maxmemory-clients
        CONFIG SET maxmemory-clients 1mb
        CONFIG GET maxmemory-clients
        CONFIG SET maxmemory-clients x
        CONFIG GET maxmemory
        CONFIG SET shutdown-on-sigterm "nosave force now"
        CONFIG GET shutdown-on-sigterm
        CONFIG SET shutdown-on-sigterm "save nosave"
        CONFIG SET shutdown-on-sigterm ""
        CONFIG SET shutdown-on-sigterm maybe
        CONFIG SET shutdown-on-sigint default
        CONFIG GET shutdown-on-sigint
        CONFIG SET oom-score-adj-values "-2001 0 0"
        CONFIG SET oom-score-adj-values "1 2"
        CONFIG SET oom-score-adj-values "0 200 800"
        CONFIG GET oom-score-adj-values
        CONFIG SET save "0 1"
        CONFIG SET save "100 10 200"
        CONFIG SET save "3600 1 300 100"
        CONFIG GET save
        CONFIG SET save ""
        CONFIG GET save
        CONFIG GET key-load-delay
        CONFIG GET key-load-dela?
        CONFIG SET key-load-delay 5
        CONFIG GET key-load-delay
        CONFIG GET zset-max-ziplist-value
        CONFIG SET zset-max-listpack-value 2kb
        CONFIG GET zset-max-ziplist-value
        CONFIG SET set-max-intset-entries -1
        CONFIG SET activedefrag yes
        CONFIG SET activedefrag no
        CONFIG SET activedefrag maybe
        CONFIG SET hz 12 activedefrag yes
        CONFIG GET activedefrag
        CONFIG GET hz
        "#,
    );
}
