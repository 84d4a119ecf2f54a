//! HyperLogLog commands against a real redis-server 7.0: the same replies, and the same bytes
//! from GET after the same commands (sparse and dense values, promotions, merges, the cached
//! cardinality), corrupted values and wrong types with Redis's errors, values moved from Redis
//! by GET/SET, and a persistence round trip of the cache PFCOUNT writes.
//!
//! To check a script itself, run it with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test hyperloglog`.

mod common;

use common::{differential, mongodb_uri, unique_name, Compare, Differential, Server};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// `PFADD key` of `count` elements named `prefix` and a number, `per_command` at a time.
fn pfadds(key: &str, prefix: &str, count: usize, per_command: usize) -> Vec<Vec<String>> {
    (0..count)
        .collect::<Vec<_>>()
        .chunks(per_command)
        .map(|chunk| {
            let mut args = vec!["PFADD".to_string(), key.to_string()];
            args.extend(chunk.iter().map(|i| format!("{prefix}{i}")));
            args
        })
        .collect()
}

#[test]
fn small_hlls_reply_and_encode_as_redis() {
    differential(
        r#"
        PFADD hll
        GET hll
        PFCOUNT hll
        GET hll
        PFADD hll a b c
        GET hll
        PFADD hll a b c
        PFADD hll ""
        PFCOUNT hll
        GET hll
        GETRANGE hll 15 15
        PFADD hll a
        GETRANGE hll 15 15
        PFADD hll 1 2 3
        GETRANGE hll 15 15
        PFCOUNT hll
        PFDEBUG ENCODING hll
        PFDEBUG DECODE hll
        TYPE hll
        OBJECT ENCODING hll
        STRLEN hll
        PFCOUNT missing
        EXISTS missing
        PFCOUNT missing hll
        EXISTS missing
        PFADD
        PFCOUNT
        PFMERGE
        PFDEBUG ENCODING
        PFDEBUG ENCODING hll extra
        PFADD bin "\x00\xff\r\n" "a\x00b" "\x80"
        GET bin
        PFCOUNT bin
        "#,
    );
}

#[test]
fn many_elements_sparse_then_dense_byte_for_byte() {
    let mut d = Differential::new();
    for (step, args) in pfadds("hll", "element:", 20_000, 100).iter().enumerate() {
        d.check(Compare::Exact, args);
        if step % 5 == 0 {
            d.check(Compare::Exact, &["GET", "hll"]);
            d.check(Compare::Exact, &["PFCOUNT", "hll"]);
            d.check(Compare::Exact, &["GET", "hll"]);
            d.check(Compare::Exact, &["PFDEBUG", "ENCODING", "hll"]);
        }
    }
    d.check(Compare::Exact, &["GET", "hll"]);
    d.check(Compare::Exact, &["PFCOUNT", "hll"]);
    d.check(Compare::Exact, &["PFDEBUG", "GETREG", "hll"]);
    // One element at a time, in several single-element commands, then many in one.
    for i in 0..300 {
        d.check(Compare::Exact, &["PFADD", "one", &format!("{i}")]);
    }
    d.check(Compare::Exact, &["GET", "one"]);
    d.check(Compare::Exact, &["PFCOUNT", "one"]);
    let big: Vec<String> = std::iter::once("PFADD".to_string())
        .chain(std::iter::once("big".to_string()))
        .chain((0..5000).map(|i| format!("{i}")))
        .collect();
    d.check(Compare::Exact, &big);
    d.check(Compare::Exact, &["GET", "big"]);
    d.check(Compare::Exact, &["PFCOUNT", "big"]);
}

#[test]
fn hll_sparse_max_bytes_decides_promotion() {
    let mut d = Differential::new();
    d.run(
        r#"
        CONFIG GET hll-sparse-max-bytes
        CONFIG SET hll-sparse-max-bytes 1kb
        CONFIG GET hll-sparse-max-bytes
        CONFIG SET hll-sparse-max-bytes -1
        CONFIG SET hll-sparse-max-bytes abc
        CONFIG GET hll-sparse-max-bytes
        "#,
    );
    for limit in ["0", "100", "500", "20000"] {
        d.check(
            Compare::Exact,
            &["CONFIG", "SET", "hll-sparse-max-bytes", limit],
        );
        let key = format!("hll:{limit}");
        for args in pfadds(&key, "x", 3000, 37) {
            d.check(Compare::Exact, &args);
            d.check(Compare::Exact, &["PFDEBUG", "ENCODING", &key]);
        }
        d.check(Compare::Exact, &["GET", &key]);
        d.check(Compare::Exact, &["PFCOUNT", &key]);
    }
}

#[test]
fn pfmerge_and_pfcount_of_several_keys() {
    let mut d = Differential::new();
    for args in pfadds("a", "a", 200, 50)
        .into_iter()
        .chain(pfadds("b", "b", 300, 50))
        .chain(pfadds("dense", "d", 5000, 500))
    {
        d.check(Compare::Exact, &args);
    }
    d.run(
        r#"
        PFDEBUG ENCODING dense
        PFCOUNT a b
        PFCOUNT a b missing
        PFCOUNT a dense b
        GET a
        PFMERGE m a b
        GET m
        PFDEBUG ENCODING m
        PFCOUNT m
        PFMERGE m
        GET m
        PFMERGE m2 a dense
        PFDEBUG ENCODING m2
        GET m2
        PFCOUNT m2
        PFMERGE a dense
        PFDEBUG ENCODING a
        GET a
        PFMERGE empty
        GET empty
        PFMERGE empty2 missing1 missing2
        GET empty2
        PFCOUNT empty2
        PFMERGE b b
        GET b
        SET s1 foo
        PFMERGE s1 a
        PFMERGE a s1
        PFCOUNT a s1
        PFCOUNT s1 a
        GET a
        "#,
    );
    // A sparse destination that the merged registers push past the sparse limit.
    d.check(
        Compare::Exact,
        &["CONFIG", "SET", "hll-sparse-max-bytes", "200"],
    );
    for args in pfadds("c", "c", 40, 40)
        .into_iter()
        .chain(pfadds("e", "e", 40, 40))
    {
        d.check(Compare::Exact, &args);
    }
    d.run(
        r#"
        PFDEBUG ENCODING c
        PFMERGE c e b
        PFDEBUG ENCODING c
        GET c
        PFCOUNT c
        "#,
    );
}

#[test]
fn wrong_types_and_invalid_strings() {
    differential(
        r#"
        SET foo bar
        PFADD foo 1
        PFCOUNT foo
        PFMERGE bar foo
        PFMERGE foo bar
        PFDEBUG ENCODING foo
        LPUSH list a
        PFADD list a
        PFCOUNT list
        PFCOUNT list foo
        PFMERGE list
        PFDEBUG GETREG list
        SET num 12345678901234567890
        PFCOUNT num
        SET short HYLL
        PFCOUNT short
        SET magic "HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
        PFCOUNT magic
        SET enc "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
        PFCOUNT enc
        PFADD enc a
        SET densebad "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
        PFCOUNT densebad
        PFADD densebad a
        SET hdr "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"
        PFCOUNT hdr
        PFADD hdr a
        PFDEBUG DECODE hdr
        PFDEBUG GETREG hdr
        PFDEBUG TODENSE hdr
        GET hdr
        "#,
    );
}

#[test]
fn corrupted_sparse_values_are_detected() {
    differential(
        r#"
        PFADD hll a b c
        APPEND hll hello
        PFCOUNT hll
        PFCOUNT hll hll
        PFDEBUG DECODE hll
        PFDEBUG GETREG hll
        PFADD hll d e f
        GET hll
        DEL hll
        PFADD hll a b c
        SETRANGE hll 0 0123
        PFCOUNT hll
        DEL hll
        PFADD hll a b c
        SETRANGE hll 4 x
        PFCOUNT hll
        DEL hll
        PFADD hll a b c
        SETRANGE hll 4 "\x00"
        PFCOUNT hll
        SET cached "HYLL\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x7f"
        PFCOUNT cached
        PFCOUNT cached cached
        PFADD cached z
        GET cached
        SET cut "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f"
        PFCOUNT cut
        PFDEBUG DECODE cut
        PFADD cut a b c d
        GET cut
        PFDEBUG TODENSE cut
        SET runs "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\x7f\xff\xff"
        PFCOUNT runs
        PFCOUNT runs runs
        PFDEBUG GETREG runs
        PFMERGE dest runs
        EXISTS dest
        "#,
    );
}

#[test]
fn randomly_corrupted_values_give_the_same_replies() {
    let mut d = Differential::new();
    let mut rng = SmallRng::seed_from_u64(17);
    for round in 0..150 {
        d.check(Compare::Exact, &["DEL", "hll"]);
        let count = rng.gen_range(0..3000);
        for args in pfadds("hll", &format!("{round}:"), count, 500) {
            d.check(Compare::Exact, &args);
        }
        d.check(Compare::Exact, &["PFDEBUG", "ENCODING", "hll"]);
        for _ in 0..rng.gen_range(1..=5) {
            let len = if count > 700 { 12304 } else { 30 + count / 3 };
            let at = rng.gen_range(0..len).to_string();
            let byte = [rng.gen::<u8>()];
            d.check(
                Compare::Exact,
                &[&b"SETRANGE"[..], &b"hll"[..], at.as_bytes(), &byte[..]],
            );
        }
        d.check(Compare::Exact, &["PFCOUNT", "hll"]);
        d.check(Compare::Exact, &["PFCOUNT", "hll", "hll"]);
        d.check(Compare::Exact, &["PFADD", "hll", "p", "q", "r", "s", "t"]);
        d.check(Compare::Exact, &["GET", "hll"]);
        d.check(Compare::Exact, &["PFMERGE", "copy", "hll"]);
        d.check(Compare::Exact, &["GET", "copy"]);
        d.check(Compare::Exact, &["DEL", "copy"]);
    }
}

#[test]
fn a_value_moved_from_redis_counts_the_same() {
    let mut d = Differential::new();
    for args in pfadds("sparse", "s", 500, 100)
        .into_iter()
        .chain(pfadds("dense", "d", 8000, 1000))
    {
        d.check(Compare::Exact, &args);
    }
    d.check(Compare::Exact, &["PFCOUNT", "sparse"]);
    // The bytes Redis holds, set into Reddish (and into Redis again: the same script).
    let mut redis = d.redis.raw();
    for key in ["sparse", "dense"] {
        let reply = redis.cmd(&["GET", key]);
        let start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
        let value = reply[start..reply.len() - 2].to_vec();
        let copy = format!("{key}:copy");
        d.check(Compare::Exact, &[&b"SET"[..], copy.as_bytes(), &value[..]]);
        d.check(Compare::Exact, &["PFCOUNT", &copy]);
        d.check(Compare::Exact, &["PFCOUNT", &copy, key]);
        d.check(
            Compare::Exact,
            &["PFADD", &copy, "more", "elements", "here"],
        );
        d.check(Compare::Exact, &["PFCOUNT", &copy]);
        d.check(Compare::Exact, &["GET", &copy]);
        d.check(Compare::Exact, &["OBJECT", "ENCODING", &copy]);
    }
}

#[test]
fn pfdebug_and_pfselftest() {
    let mut d = Differential::new();
    for args in pfadds("h", "h", 100, 100) {
        d.check(Compare::Exact, &args);
    }
    d.run(
        r#"
        PFDEBUG ENCODING h
        PFDEBUG DECODE h
        PFDEBUG getreg h
        PFDEBUG ENCODING h
        PFDEBUG DECODE h
        GET h
        PFDEBUG TODENSE h
        PFADD h2 x
        PFDEBUG TODENSE h2
        PFDEBUG TODENSE h2
        GET h2
        PFDEBUG NOSUCH h2
        PFDEBUG NOSUCH missing
        PFDEBUG ENCODING missing
        PFDEBUG "bad\r\nname" h2
        SET str abc
        PFDEBUG ENCODING str
        PFSELFTEST
        PFSELFTEST extra
        "#,
    );
}

#[test]
fn pfadd_and_pfmerge_notify_as_pfadd() {
    let mut d = Differential::new();
    d.run(
        r#"
        CONFIG SET notify-keyspace-events KEA
        @conn 1
        PSUBSCRIBE __keyevent@0__:*
        @conn 0
        PFADD h a
        PFADD h a
        PFMERGE m h
        PFCOUNT h
        SET done 1
        @conn 1
        "#,
    );
    for _ in 0..4 {
        d.run(
            r#"
            @conn 1
            PING
            "#,
        );
    }
}

#[test]
fn pfcount_cache_survives_a_restart() {
    let Some(uri) = mongodb_uri() else {
        return;
    };
    let name = unique_name("hll");
    let mut server = Server::start_with(&["--mongodb-uri", &uri, "--mongodb-database", &name]);
    let mut conn = server.raw();
    for args in pfadds("sparse", "s", 300, 100)
        .into_iter()
        .chain(pfadds("dense", "d", 9000, 1000))
    {
        assert_eq!(conn.cmd(&args), b":1\r\n");
    }
    assert_eq!(
        conn.cmd(&["GETRANGE", "dense", "15", "15"]),
        b"$1\r\n\x80\r\n"
    );
    let sparse = conn.cmd(&["PFCOUNT", "sparse"]);
    let dense = conn.cmd(&["PFCOUNT", "dense"]);
    // The estimate is now cached in the values: a valid cache.
    assert_eq!(
        conn.cmd(&["GETRANGE", "dense", "15", "15"]),
        b"$1\r\n\x00\r\n"
    );
    let before = [conn.cmd(&["GET", "sparse"]), conn.cmd(&["GET", "dense"])];
    drop(conn);
    server.restart();
    let mut conn = server.raw();
    let after = [conn.cmd(&["GET", "sparse"]), conn.cmd(&["GET", "dense"])];
    assert!(before == after, "values differ after the restart");
    assert_eq!(conn.cmd(&["PFCOUNT", "sparse"]), sparse);
    assert_eq!(conn.cmd(&["PFCOUNT", "dense"]), dense);
    drop(conn);
    server.stop();
}

#[test]
fn pfcount_counts_as_a_write_for_pauses_and_read_only_scripts() {
    differential(
        r#"
        PFADD h a b c
        EVAL_RO "return redis.call('pfcount', KEYS[1])" 1 h
        EVAL "return redis.call('pfcount', KEYS[1])" 1 h
        EVAL_RO "return redis.call('pfcount', KEYS[1])" 1 h
        "#,
    );
    // CLIENT PAUSE WRITE holds PFCOUNT back (it may write the cache), as Redis does.
    let server = Server::start();
    let mut admin = server.raw();
    let mut reader = server.raw();
    assert_eq!(admin.cmd(&["PFADD", "h", "a"]), b":1\r\n");
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]),
        b"+OK\r\n"
    );
    reader.send(&common::encode_command(&["PFCOUNT", "h"]));
    assert!(reader
        .read_reply_within(std::time::Duration::from_millis(300))
        .is_err());
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_eq!(reader.read_reply(), b":1\r\n");
}
