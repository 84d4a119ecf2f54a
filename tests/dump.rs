//! DUMP and RESTORE against a real redis-server 7.0: payloads of small values byte for byte,
//! round trips both ways for every type and encoding, old encodings Redis 7.0 still reads,
//! and refused payloads with Redis's exact errors.
//!
//! To check the tests themselves, run them with real Redis on both sides:
//! `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test dump`.

mod common;

use common::{assert_bytes, RedisServer, Server};
use redis::{Connection, Value};

/// Runs whitespace-separated commands, one a line.
fn run(conn: &mut Connection, script: &str) {
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        let mut cmd = redis::cmd(words.next().unwrap_or("PING"));
        for word in words {
            cmd.arg(word);
        }
        let _: Value = cmd.query(conn).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

fn dump(conn: &mut Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query(conn).expect("DUMP")
}

fn restore(conn: &mut Connection, key: &str, payload: &[u8], extra: &[&str]) -> Result<(), String> {
    redis::cmd("RESTORE")
        .arg(key)
        .arg(0)
        .arg(payload)
        .arg(extra)
        .query::<()>(conn)
        .map_err(|e| e.to_string())
}

fn query(conn: &mut Connection, args: &[&str]) -> Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(conn).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Drops the entries of a flat key/value reply whose key is in `skip`.
fn without(value: Value, skip: &[&str]) -> Value {
    match value {
        Value::Array(items) => {
            let mut out = Vec::new();
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                let drop = matches!(&k, Value::BulkString(b) if skip.iter().any(|s| s.as_bytes() == &b[..]));
                if !drop {
                    out.push(k);
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        other => other,
    }
}

/// Everything a key holds, in a form independent of encoding and iteration order.
fn contents(conn: &mut Connection, key: &str) -> String {
    let ty: String = redis::cmd("TYPE").arg(key).query(conn).expect("TYPE");
    let ttl: i64 = redis::cmd("TTL").arg(key).query(conn).expect("TTL");
    let body = match ty.as_str() {
        "string" => format!("{:?}", query(conn, &["GET", key])),
        "list" => format!("{:?}", query(conn, &["LRANGE", key, "0", "-1"])),
        "hash" => {
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
                redis::cmd("HGETALL").arg(key).query(conn).expect("HGETALL");
            pairs.sort();
            format!("{pairs:?}")
        }
        "set" => {
            let mut members: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
                .arg(key)
                .query(conn)
                .expect("SMEMBERS");
            members.sort();
            format!("{members:?}")
        }
        "zset" => format!(
            "{:?}",
            query(conn, &["ZRANGE", key, "0", "-1", "WITHSCORES"])
        ),
        "stream" => format!(
            "{:?} {:?}",
            query(conn, &["XRANGE", key, "-", "+"]),
            without(
                query(conn, &["XINFO", "STREAM", key, "FULL"]),
                &["radix-tree-keys", "radix-tree-nodes", "entries"]
            )
        ),
        other => panic!("unexpected type {other}"),
    };
    format!("{ty} ttl={ttl} {body}")
}

fn keys(conn: &mut Connection) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(conn).expect("KEYS");
    keys.sort();
    keys
}

/// Small values whose Redis encoding follows from their content: DUMP must give Redis's bytes.
const SMALL: &str = "
    SET s:short bar
    SET s:int8 -3
    SET s:int16 12345
    SET s:int32 -2000000000
    SET s:int64 1234567890123
    SET s:leading0 0123
    SET s:20 aaaaaaaaaaaaaaaaaaaa
    SET s:21 aaaaaaaaaaaaaaaaaaaaa
    SET s:compressible hello-world-hello-world-hello-world-hello-world-abc
    SET s:incompressible qwertyuiopasdfghjklzxcvbnm1234567890QWERTYUIOP
    APPEND s:appended 5
    INCRBYFLOAT s:float 1.5
    RPUSH l:small a b 1 -5 300 70000 -70000 5000000000 -9223372036854775808 9223372036854775807 12345678901234567890
    LPUSH l:pushed x y z
    SADD i:16 3 1 2 -32768 32767
    SADD i:32 1 100000 -70000
    SADD i:64 1 10000000000 -5
    HSET h:small f v n 12 neg -100 big 9999999999
    ZADD z:small 1 a 2.5 b -3 c 0.1 d 1e20 e -inf f inf g 4503599627370496 h 123456789 i
    XADD x:one 1-1 f v
    XADD x:one 1-2 f w
    XADD x:one 2-0 g 1 h 2
    XADD x:one 3-5 f 10
    XGROUP CREATE x:one grp 1-1
    XGROUP CREATE x:one other $
";

/// Values in Redis's large encodings, or shaped by their history: compared by content.
fn large_script() -> String {
    let mut s = String::new();
    s.push_str(&format!("SET s:long {}\n", "xyz".repeat(4000)));
    let noise: String = (0..3000u32)
        .map(|i| char::from(b'a' + ((i.wrapping_mul(2654435761) >> 7) % 26) as u8))
        .collect();
    s.push_str(&format!("SET s:noise {noise}\n"));
    for chunk in 0..20 {
        let items: Vec<String> = (0..100).map(|i| format!("item-{chunk}-{i}")).collect();
        s.push_str(&format!("RPUSH l:long {}\n", items.join(" ")));
    }
    s.push_str(&format!(
        "RPUSH l:huge-elements {} {} small\n",
        "p".repeat(9000),
        "q".repeat(20000)
    ));
    let fields: Vec<String> = (0..600).map(|i| format!("f{i} v{i}")).collect();
    s.push_str(&format!("HSET h:table {}\n", fields.join(" ")));
    s.push_str(&format!("HSET h:long-value a 1 b {}\n", "v".repeat(100)));
    let members: Vec<String> = (0..600).map(|i| (i * 7).to_string()).collect();
    s.push_str(&format!("SADD set:ints-table {}\n", members.join(" ")));
    s.push_str("SADD set:strings apple banana cherry 42\n");
    let scored: Vec<String> = (0..200)
        .map(|i| format!("{} m{i}", i as f64 / 3.0))
        .collect();
    s.push_str(&format!("ZADD z:skiplist {}\n", scored.join(" ")));
    s.push_str(&format!("ZADD z:long-member 1 a 2 {}\n", "m".repeat(80)));
    s.push_str("ZADD z:skip-inf -inf a inf b 0 c\n");
    s.push_str(&format!("ZADD z:skip-inf 1 {}\n", "n".repeat(70)));
    for i in 1..=300 {
        if i % 3 == 0 {
            s.push_str(&format!("XADD x:long {i}-0 other {i} more x\n"));
        } else {
            s.push_str(&format!(
                "XADD x:long {i}-0 f {i} g {}\n",
                "v".repeat(i % 50 + 1)
            ));
        }
    }
    s.push_str("XDEL x:long 5-0 100-0 101-0\n");
    s.push_str("XGROUP CREATE x:long g1 0\n");
    s.push_str("XGROUP CREATE x:long g2 $\n");
    s.push_str("XREADGROUP GROUP g1 alice COUNT 3 STREAMS x:long >\n");
    s.push_str("XREADGROUP GROUP g1 bob COUNT 2 STREAMS x:long >\n");
    s.push_str("XACK x:long g1 1-0\n");
    s.push_str("XGROUP CREATECONSUMER x:long g2 idle\n");
    s.push_str("XADD x:trimmed 1-0 a 1\nXADD x:trimmed 2-0 a 2\nXTRIM x:trimmed MAXLEN 1\n");
    s.push_str("SET s:ttl value\nPEXPIRE s:ttl 500000\n");
    s
}

#[test]
fn small_values_dump_to_the_bytes_redis_writes() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let (mut a, mut b) = (reddish.client(), redis.client());
    run(&mut a, SMALL);
    run(&mut b, SMALL);
    let mut list_script = String::new();
    // Several quicklist nodes, and several stream nodes, built by appends only.
    for i in 0..1500 {
        list_script.push_str(&format!("RPUSH l:nodes element-{i}\n"));
    }
    for i in 1..=250 {
        list_script.push_str(&format!(
            "XADD x:nodes {i}-1 field {i} f2 {}\n",
            "w".repeat(i % 30 + 1)
        ));
    }
    run(&mut a, &list_script);
    run(&mut b, &list_script);
    let names = keys(&mut b);
    assert_eq!(keys(&mut a), names);
    for key in &names {
        let ours = dump(&mut a, key).expect("key exists");
        let theirs = dump(&mut b, key).expect("key exists");
        assert_eq!(ours, theirs, "DUMP {key}");
    }
    assert_eq!(dump(&mut a, "missing"), None);
}

#[test]
fn redis_payloads_restore_with_the_same_contents_and_encodings() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let (mut a, mut b) = (reddish.client(), redis.client());
    run(&mut b, SMALL);
    run(&mut b, &large_script());
    let names = keys(&mut b);
    assert!(names.len() > 30);
    for key in &names {
        let payload = dump(&mut b, key).expect("key exists");
        restore(&mut a, key, &payload, &[]).unwrap_or_else(|e| panic!("RESTORE {key}: {e}"));
        // Redis restores under another name: the encoding a restore chooses is compared.
        let copy = format!("copy:{key}");
        restore(&mut b, &copy, &payload, &[]).expect("Redis restores its own payload");
        let ours: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(key)
            .query(&mut a)
            .unwrap();
        let theirs: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(&copy)
            .query(&mut b)
            .unwrap();
        assert_eq!(ours, theirs, "encoding of restored {key}");
        let mut want = contents(&mut b, key);
        if key == "s:ttl" {
            // RESTORE with ttl 0 makes a persistent key.
            want = want
                .replace("ttl=500", "ttl=-1")
                .replace("ttl=499", "ttl=-1");
        }
        assert_eq!(contents(&mut a, key), want, "contents of {key}");
    }
}

#[test]
fn reddish_payloads_restore_on_redis_with_the_same_contents() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let (mut a, mut b) = (reddish.client(), redis.client());
    run(&mut a, SMALL);
    run(&mut a, &large_script());
    run(&mut a, "PERSIST s:ttl");
    for key in keys(&mut a) {
        let payload = dump(&mut a, &key).expect("key exists");
        restore(&mut b, &key, &payload, &[]).unwrap_or_else(|e| panic!("Redis RESTORE {key}: {e}"));
        assert_eq!(
            contents(&mut b, &key),
            contents(&mut a, &key),
            "contents of {key}"
        );
        // And back: the same payload restores on Reddish to a value that dumps the same.
        let copy = format!("copy:{key}");
        restore(&mut a, &copy, &payload, &[]).expect("Reddish restores its own payload");
        assert_eq!(
            dump(&mut a, &copy).as_deref(),
            Some(&payload[..]),
            "re-DUMP of {key}"
        );
    }
}

#[test]
fn native_types_round_trip_and_redis_refuses_them() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let (mut a, mut b) = (reddish.client(), redis.client());
    run(
        &mut a,
        "
        TREE.SET t apple 3 banana 1 cherry 7
        GRAPH.ADDEDGE g a b WEIGHT 2.5
        GRAPH.ADDEDGE g b c
        GRAPH.ADDNODE g lonely
        QUEUE.PUSH q one two three
        STACK.PUSH st one two three
        ",
    );
    for key in ["t", "g", "q", "st"] {
        let payload = dump(&mut a, key).expect("key exists");
        let copy = format!("copy:{key}");
        restore(&mut a, &copy, &payload, &[]).expect("round trip");
        assert_eq!(
            dump(&mut a, &copy).as_deref(),
            Some(&payload[..]),
            "re-DUMP of {key}"
        );
        let ty: String = redis::cmd("TYPE").arg(&copy).query(&mut a).unwrap();
        let want: String = redis::cmd("TYPE").arg(key).query(&mut a).unwrap();
        assert_eq!(ty, want);
        let err = restore(&mut b, key, &payload, &[]).expect_err("Redis has no such type");
        assert!(err.contains("Bad data format"), "{err}");
    }
    assert_eq!(
        query(&mut a, &["QUEUE.POP", "copy:q"]),
        Value::BulkString(b"one".to_vec())
    );
    assert_eq!(
        query(&mut a, &["STACK.POP", "copy:st"]),
        Value::BulkString(b"three".to_vec())
    );
}

/// A payload around `body`: RDB version and a correct CRC-64.
fn framed(body: &[u8], version: u16) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    let crc = reddish::store::rdb::CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A ziplist of the given raw entries (each: encoding bytes and data, without prevlen).
fn ziplist(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for entry in entries {
        tail = 10 + body.len();
        let start = body.len();
        body.push(prev as u8);
        body.extend_from_slice(entry);
        prev = body.len() - start;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xFF);
    out
}

fn rdb_string(bytes: &[u8]) -> Vec<u8> {
    assert!(bytes.len() < 64);
    let mut out = vec![bytes.len() as u8];
    out.extend_from_slice(bytes);
    out
}

/// Encodings Redis 7.0 no longer writes but still reads: both servers restore them alike.
#[test]
fn old_encodings_restore_as_on_redis() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let (mut a, mut b) = (reddish.client(), redis.client());
    let entries: Vec<&[u8]> = vec![
        b"\x03abc",
        b"\xfe\x85",                             // int8 -123
        b"\xc0\x39\x30",                         // int16 12345
        b"\xd0\x00\xca\x9a\x3b",                 // int32 1000000000
        b"\xe0\x00\x00\x00\x00\x00\x00\x00\x80", // int64 min
        b"\xf0\x00\x00\x80",                     // int24 -8388608
        b"\xf1",                                 // immediate 0
        b"\xfd",                                 // immediate 12
    ];
    let zl = ziplist(&entries);
    let mut list = vec![10u8];
    list.extend_from_slice(&rdb_string_long(&zl));
    let mut quicklist = vec![14u8, 2];
    quicklist.extend_from_slice(&rdb_string_long(&zl));
    quicklist.extend_from_slice(&rdb_string_long(&ziplist(&[b"\x01z"])));
    let hash_zl = ziplist(&[b"\x01a", b"\xf2", b"\x01b", b"\x05hello"]);
    let mut hash = vec![13u8];
    hash.extend_from_slice(&rdb_string_long(&hash_zl));
    let zset_zl = ziplist(&[
        b"\x01c",
        b"\xfe\xfb",
        b"\x01b",
        b"\xf1",
        b"\x01a",
        b"\x031.5",
    ]);
    let mut zset = vec![12u8];
    zset.extend_from_slice(&rdb_string_long(&zset_zl));
    // zipmap: count, then key length, key, value length, free, value; 0xFF.
    let zipmap = b"\x02\x03foo\x03\x00bar\x01k\x02\x01vvX\xff";
    let mut zm = vec![9u8];
    zm.extend_from_slice(&rdb_string_long(zipmap));
    // Version-1 sorted set: scores as text.
    let mut zset1 = vec![3u8, 3];
    zset1.extend_from_slice(&rdb_string(b"x"));
    zset1.extend_from_slice(b"\x031.5");
    zset1.extend_from_slice(&rdb_string(b"y"));
    zset1.push(254);
    zset1.extend_from_slice(&rdb_string(b"z"));
    zset1.push(255);
    // Version-1 list: plain strings.
    let mut list1 = vec![1u8, 2];
    list1.extend_from_slice(&rdb_string(b"first"));
    list1.extend_from_slice(b"\xc0\x07");
    for (key, body) in [
        ("list-ziplist", list),
        ("quicklist", quicklist),
        ("hash-ziplist", hash),
        ("zset-ziplist", zset),
        ("hash-zipmap", zm),
        ("zset-v1", zset1),
        ("list-v1", list1),
    ] {
        let payload = framed(&body, 9);
        restore(&mut b, key, &payload, &[]).unwrap_or_else(|e| panic!("Redis RESTORE {key}: {e}"));
        restore(&mut a, key, &payload, &[]).unwrap_or_else(|e| panic!("RESTORE {key}: {e}"));
        assert_eq!(contents(&mut a, key), contents(&mut b, key), "{key}");
        let ours: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(key)
            .query(&mut a)
            .unwrap();
        let theirs: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(key)
            .query(&mut b)
            .unwrap();
        assert_eq!(ours, theirs, "encoding of {key}");
    }
}

fn rdb_string_long(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if bytes.len() < 64 {
        out.push(bytes.len() as u8);
    } else {
        out.push(0x40 | (bytes.len() >> 8) as u8);
        out.push(bytes.len() as u8);
    }
    out.extend_from_slice(bytes);
    out
}

/// Sends the same raw commands to both servers and asserts identical reply bytes.
fn same_replies(cases: &[Vec<Vec<u8>>]) {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let (mut a, mut b) = (reddish.raw(), redis.raw());
    for case in cases {
        let ours = a.cmd(case);
        let theirs = b.cmd(case);
        let shown: Vec<String> = case.iter().map(|x| common::escape(x)).collect();
        assert_eq!(
            common::escape(&ours),
            common::escape(&theirs),
            "replies to {shown:?}"
        );
    }
}

fn args(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

#[test]
fn refused_payloads_and_options_give_redis_errors() {
    let good = framed(b"\x00\x03bar", 10);
    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    let mut no_crc = framed(b"\x00\x03bar", 10);
    let n = no_crc.len();
    no_crc[n - 8..].fill(0);
    let cases = vec![
        args(&[b"SET", b"k", b"v"]),
        args(&[b"RESTORE", b"k", b"0", &good]),
        args(&[b"RESTORE", b"k", b"0", b"..."]),
        args(&[b"RESTORE", b"n", b"0", b"...", b"bogus"]),
        args(&[b"RESTORE", b"n", b"0", &good, b"IDLETIME"]),
        args(&[b"RESTORE", b"n", b"0", &good, b"IDLETIME", b"-1"]),
        args(&[b"RESTORE", b"n", b"0", &good, b"IDLETIME", b"x"]),
        args(&[b"RESTORE", b"n", b"0", &good, b"FREQ", b"256"]),
        args(&[b"RESTORE", b"n", b"0", &good, b"FREQ", b"1", b"IDLETIME", b"1"]),
        args(&[b"RESTORE", b"n", b"-1", &good]),
        args(&[b"RESTORE", b"n", b"abc", &good]),
        args(&[b"RESTORE", b"n", b"0", b"short"]),
        args(&[b"RESTORE", b"n", b"0", &bad_crc]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x00\x03bar", 11)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\xc8\x03bar", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x00\x09bar", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x00\x81\xff\xff\xff\xff\xff\xff\xff\xff", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x00\xc3\x03\x80\xff\xff\xff\xff\x00ab", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x02\x02\x01a\x01a", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x02\x00", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x04\x02\x01f\x01v\x01f\x01w", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x05\x02\x01a\x00\x00\x00\x00\x00\x00\xf0\x3f\x01a\x00\x00\x00\x00\x00\x00\x00\x40", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x10\x07\x08\x00\x00\x00\x00\x00\xff", 10)]),
        args(&[b"RESTORE", b"n", b"0", &framed(b"\x0b\x0a\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00", 10)]),
        args(&[b"EXISTS", b"n"]),
        args(&[b"RESTORE", b"n", b"0", &no_crc]),
        args(&[b"GET", b"n"]),
        args(&[b"RESTORE", b"k", b"0", &good, b"REPLACE", b"ABSTTL"]),
        args(&[b"RESTORE", b"k", b"1", &good, b"REPLACE", b"ABSTTL"]),
        args(&[b"EXISTS", b"k"]),
        args(&[b"DUMP"]),
        args(&[b"RESTORE", b"k", b"0"]),
    ];
    same_replies(&cases);
}

#[test]
fn restore_sets_ttl_idle_time_and_frequency() {
    let server = Server::start();
    let mut conn = server.client();
    run(&mut conn, "SET k v");
    let payload = dump(&mut conn, "k").unwrap();
    redis::cmd("RESTORE")
        .arg("a")
        .arg(5000)
        .arg(&payload)
        .query::<()>(&mut conn)
        .unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg("a").query(&mut conn).unwrap();
    assert!((4000..=5000).contains(&pttl), "{pttl}");
    let later = reddish::clock::unix_ms() + 100_000;
    redis::cmd("RESTORE")
        .arg("b")
        .arg(later)
        .arg(&payload)
        .arg("ABSTTL")
        .query::<()>(&mut conn)
        .unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg("b").query(&mut conn).unwrap();
    assert!((90_000..=100_000).contains(&pttl), "{pttl}");
    redis::cmd("RESTORE")
        .arg("c")
        .arg(0)
        .arg(&payload)
        .arg("IDLETIME")
        .arg(1000)
        .query::<()>(&mut conn)
        .unwrap();
    let idle: i64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("c")
        .query(&mut conn)
        .unwrap();
    assert!((1000..=1002).contains(&idle), "{idle}");
    run(&mut conn, "CONFIG SET maxmemory-policy allkeys-lfu");
    redis::cmd("RESTORE")
        .arg("d")
        .arg(0)
        .arg(&payload)
        .arg("FREQ")
        .arg(100)
        .query::<()>(&mut conn)
        .unwrap();
    let freq: i64 = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("d")
        .query(&mut conn)
        .unwrap();
    assert_eq!(freq, 100);
    // REPLACE over a key with a TTL leaves none.
    run(&mut conn, "SET e old\nEXPIRE e 100");
    redis::cmd("RESTORE")
        .arg("e")
        .arg(0)
        .arg(&payload)
        .arg("REPLACE")
        .query::<()>(&mut conn)
        .unwrap();
    let mut raw = server.raw();
    assert_bytes(&raw.cmd(&["TTL", "e"]), b":-1\r\n");
    assert_bytes(&raw.cmd(&["GET", "e"]), b"$1\r\nv\r\n");
}

/// Untrusted payloads: every prefix and many single-byte corruptions of real payloads are
/// refused or restored, never a crash.
#[test]
fn cut_and_corrupted_payloads_never_crash_the_server() {
    let server = Server::start();
    let mut conn = server.client();
    run(&mut conn, SMALL);
    run(&mut conn, "HSET h:table-ish a 1 b 2 c 3");
    let names = keys(&mut conn);
    let mut raw = server.raw();
    for key in &names {
        let payload = dump(&mut conn, key).unwrap();
        let body_len = payload.len() - 10;
        for cut in 0..body_len {
            // A cut body with a footer recomputed: only the value reader sees the damage.
            let body = payload[..cut].to_vec();
            let cut_payload = framed(&body, 10);
            let reply = raw.cmd(&[b"RESTORE".as_slice(), b"x", b"0", &cut_payload, b"REPLACE"]);
            assert!(
                reply.starts_with(b"-ERR Bad data format") || reply == b"+OK\r\n",
                "{key} cut at {cut}: {}",
                common::escape(&reply)
            );
        }
        for at in 0..body_len {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut body = payload[..body_len].to_vec();
                body[at] ^= flip;
                let bad = framed(&body, 10);
                let reply = raw.cmd(&[b"RESTORE".as_slice(), b"x", b"0", &bad, b"REPLACE"]);
                assert!(
                    reply.starts_with(b"-ERR Bad data format") || reply == b"+OK\r\n",
                    "{key} byte {at} ^ {flip}: {}",
                    common::escape(&reply)
                );
            }
        }
    }
    assert_bytes(&raw.cmd(&["PING"]), b"+PONG\r\n");
}
