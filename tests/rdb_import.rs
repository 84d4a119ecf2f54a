//! `--import-rdb`: a real redis-server 7.0 saves every type and encoding in several databases
//! with expiries; Reddish started on that file must hold the same keys, values, encodings and
//! TTLs. Cut and corrupted copies are refused with a non-zero exit and a message naming the
//! byte offset; with MongoDB on, the imported keys are persisted.

mod common;

use common::{mongodb_uri, unique_name, RedisServer, Server};
use redis::{Connection, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

fn query(conn: &mut Connection, args: &[&str]) -> Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(conn).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// A key's type, encoding, TTL class and contents, independent of iteration order.
fn describe(conn: &mut Connection, key: &str) -> String {
    let ty: String = redis::cmd("TYPE").arg(key).query(conn).unwrap();
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(conn)
        .unwrap();
    let ttl: i64 = redis::cmd("TTL").arg(key).query(conn).unwrap();
    // Seconds left may tick between the two reads.
    let ttl = if ttl < 0 {
        ttl.to_string()
    } else {
        format!("~{}", ttl / 10)
    };
    let body = match ty.as_str() {
        "string" => format!("{:?}", query(conn, &["GET", key])),
        "list" => format!("{:?}", query(conn, &["LRANGE", key, "0", "-1"])),
        "hash" => {
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
                redis::cmd("HGETALL").arg(key).query(conn).unwrap();
            pairs.sort();
            format!("{pairs:?}")
        }
        "set" => {
            let mut members: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(key).query(conn).unwrap();
            members.sort();
            format!("{members:?}")
        }
        "zset" => format!(
            "{:?}",
            query(conn, &["ZRANGE", key, "0", "-1", "WITHSCORES"])
        ),
        "stream" => format!(
            "{:?} {:?} {:?}",
            query(conn, &["XRANGE", key, "-", "+"]),
            query(conn, &["XINFO", "GROUPS", key]),
            query(conn, &["XPENDING", key, "g"]),
        ),
        other => panic!("unexpected type {other}"),
    };
    format!("{ty}/{encoding} ttl={ttl} {body}")
}

/// Every database's keys, described.
fn snapshot(conn: &mut Connection) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for db in 0..16 {
        run(conn, &format!("SELECT {db}"));
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
        keys.sort();
        for key in keys {
            let described = describe(conn, &key);
            out.push((db, key, described));
        }
    }
    run(conn, "SELECT 0");
    out
}

fn data_script() -> String {
    let mut s = String::from(
        "
        SET s:short bar
        SET s:int 12345
        SET s:big-int 1234567890123
        SET s:compressible hello-world-hello-world-hello-world-hello-world-abc
        RPUSH l:small a b 1 -5 300 70000 5000000000
        SADD i:16 3 1 2
        SADD i:64 1 10000000000
        SADD set:strings apple banana 42
        HSET h:small f v n 12
        ZADD z:small 1 a 2.5 b -3 c -inf d
        XADD x:one 1-1 f v
        XADD x:one 1-2 f w
        XGROUP CREATE x:one g 0
        XREADGROUP GROUP g alice COUNT 1 STREAMS x:one >
        SET s:ttl value
        EXPIRE s:ttl 5000
        SET s:dies-soon value
        PEXPIRE s:dies-soon 1500
        SELECT 3
        SET db3:string three
        HSET db3:hash a 1
        EXPIRE db3:hash 9000
        SELECT 15
        ZADD db15:zset 1 x
        SELECT 0
        ",
    );
    s.push_str(&format!("SET s:long {}\n", "xyz".repeat(4000)));
    for chunk in 0..10 {
        let items: Vec<String> = (0..100).map(|i| format!("item-{chunk}-{i}")).collect();
        s.push_str(&format!("RPUSH l:long {}\n", items.join(" ")));
    }
    let fields: Vec<String> = (0..600).map(|i| format!("f{i} v{i}")).collect();
    s.push_str(&format!("HSET h:table {}\n", fields.join(" ")));
    let members: Vec<String> = (0..600).map(|i| (i * 7).to_string()).collect();
    s.push_str(&format!("SADD set:table {}\n", members.join(" ")));
    let scored: Vec<String> = (0..200)
        .map(|i| format!("{} m{i}", i as f64 / 3.0))
        .collect();
    s.push_str(&format!("ZADD z:skiplist {}\n", scored.join(" ")));
    for i in 1..=250 {
        s.push_str(&format!("XADD x:long {i}-0 f {i}\n"));
    }
    s.push_str("XDEL x:long 7-0\nXGROUP CREATE x:long g 0\nXREADGROUP GROUP g bob COUNT 5 STREAMS x:long >\n");
    s
}

/// Has a real redis-server save the data set; returns the RDB file's name (the harness puts
/// redis-server's `dir` in the temporary directory) and path.
fn saved_rdb() -> (String, PathBuf) {
    let name = format!("{}.rdb", unique_name("source"));
    let redis = RedisServer::start_with(&["--dbfilename", &name]);
    let mut conn = redis.client();
    run(&mut conn, &data_script());
    run(&mut conn, "SAVE");
    let path = std::env::temp_dir().join(&name);
    assert!(path.exists(), "redis-server saved {}", path.display());
    (name, path)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name(name));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn reddish_bin() -> PathBuf {
    match std::env::var_os("REDDISH_TEST_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_reddish")),
    }
}

/// Starts Reddish on `file` expecting it to refuse it: returns its exit code and output.
fn refused(file: &Path) -> (i32, String) {
    let mut child = Command::new(reddish_bin())
        .args(["--port", &common::free_port().to_string(), "--import-rdb"])
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            return (status.code().unwrap_or(-1), text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("Reddish did not refuse {}: it kept running", file.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn imports_every_type_database_and_expiry_that_redis_saved() {
    let (name, rdb) = saved_rdb();
    // Redis itself, loading the same file, is the reference.
    let redis = RedisServer::start_with(&["--dbfilename", &name]);
    let reddish = Server::start_with(&["--import-rdb", &rdb.to_string_lossy()]);
    let want = snapshot(&mut redis.client());
    let got = snapshot(&mut reddish.client());
    assert!(want.len() > 20, "{want:?}");
    assert!(want.iter().any(|(db, _, _)| *db == 15));
    for (ours, theirs) in got.iter().zip(&want) {
        assert_eq!(ours, theirs);
    }
    assert_eq!(got.len(), want.len());
    assert!(reddish.logs().contains("Imported"), "{}", reddish.logs());
    // Keys already expired when the file is imported are dropped.
    std::thread::sleep(Duration::from_millis(1600));
    let later = Server::start_with(&["--import-rdb", &rdb.to_string_lossy()]);
    let mut conn = later.client();
    let exists: i64 = redis::cmd("EXISTS")
        .arg("s:dies-soon")
        .query(&mut conn)
        .unwrap();
    assert_eq!(exists, 0);
    let exists: i64 = redis::cmd("EXISTS").arg("s:ttl").query(&mut conn).unwrap();
    assert_eq!(exists, 1);
    let _ = std::fs::remove_file(&rdb);
}

#[test]
fn a_config_file_line_imports_too() {
    let dir = temp_dir("rdb_import_conf");
    let (_, rdb) = saved_rdb();
    let conf = dir.join("reddish.conf");
    std::fs::write(&conf, format!("import-rdb {}\n", rdb.display())).unwrap();
    let reddish = Server::start_with(&[&conf.to_string_lossy()]);
    let mut conn = reddish.client();
    assert_eq!(
        query(&mut conn, &["GET", "s:short"]),
        Value::BulkString(b"bar".to_vec())
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&rdb);
}

#[test]
fn cut_and_corrupted_files_are_refused_with_the_offset() {
    let dir = temp_dir("rdb_import_bad");
    let (_, rdb) = saved_rdb();
    let bytes = std::fs::read(&rdb).unwrap();
    let bad = dir.join("bad.rdb");
    // Cut anywhere: header, inside a value, before the checksum, inside the checksum.
    let len = bytes.len();
    for cut in [0, 5, 9, 20, len / 3, len / 2, len - 9, len - 1] {
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        let (code, text) = refused(&bad);
        assert_ne!(code, 0, "cut at {cut}: {text}");
        assert!(
            text.contains("refused") && text.contains("byte offset"),
            "cut at {cut}: {text}"
        );
    }
    // One byte changed in the middle: the checksum no longer matches.
    let mut flipped = bytes.clone();
    flipped[len / 2] ^= 0x20;
    std::fs::write(&bad, &flipped).unwrap();
    let (code, text) = refused(&bad);
    assert_ne!(code, 0);
    assert!(text.contains("byte offset"), "{text}");
    // Without a checksum (0: not computed), a damaged value is found by the reader itself.
    let mut unchecked = bytes.clone();
    unchecked[len - 8..].fill(0);
    // The first key of database 0 follows SELECTDB 0 and RESIZEDB (two one-byte sizes here).
    let select = unchecked
        .windows(3)
        .position(|w| w == [0xFE, 0x00, 0xFB])
        .expect("SELECTDB 0 then RESIZEDB");
    let at = select + 5;
    let mut damaged = unchecked.clone();
    damaged[at] = 0xC8;
    std::fs::write(&bad, &damaged).unwrap();
    let (code, text) = refused(&bad);
    assert_ne!(code, 0);
    assert!(text.contains(&format!("byte offset {at}")), "{text}");
    // Trailing bytes after the checksum, and a file that is not an RDB at all.
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(b"junk");
    std::fs::write(&bad, &trailing).unwrap();
    assert_ne!(refused(&bad).0, 0);
    std::fs::write(&bad, b"not an rdb file at all").unwrap();
    let (code, text) = refused(&bad);
    assert_ne!(code, 0);
    assert!(text.contains("not an RDB file"), "{text}");
    let (code, text) = refused(&dir.join("missing.rdb"));
    assert_ne!(code, 0);
    assert!(text.contains("cannot open"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&rdb);
}

#[test]
fn imported_keys_are_persisted_to_mongodb() {
    let Some(uri) = mongodb_uri() else { return };
    let (_, rdb) = saved_rdb();
    let database = unique_name("import");
    let mut first = Server::start_with(&[
        "--mongodb-uri",
        &uri,
        "--mongodb-database",
        &database,
        "--import-rdb",
        &rdb.to_string_lossy(),
    ]);
    let want = snapshot(&mut first.client());
    first.terminate();
    let second = Server::start_with(&["--mongodb-uri", &uri, "--mongodb-database", &database]);
    let got = snapshot(&mut second.client());
    assert_eq!(got, want);
    let _ = std::fs::remove_file(&rdb);
}

#[test]
fn function_libraries_of_the_file_are_loaded() {
    let name = format!("{}.rdb", unique_name("functions"));
    let redis = RedisServer::start_with(&["--dbfilename", &name]);
    let mut conn = redis.client();
    query(&mut conn, &["FUNCTION", "LOAD", LIBRARY]);
    run(&mut conn, "SET k v");
    run(&mut conn, "SAVE");
    let rdb = std::env::temp_dir().join(&name);
    let reddish = Server::start_with(&["--import-rdb", &rdb.to_string_lossy()]);
    let mut conn = reddish.client();
    assert_library_loaded(&mut conn, "there");
    assert_eq!(
        query(&mut conn, &["GET", "k"]),
        Value::BulkString(b"v".to_vec())
    );
    let _ = std::fs::remove_file(&rdb);
}

/// `redis-cli ARGS...` against `server`, under a time limit; returns (success, stderr).
fn redis_cli(server: &Server, args: &[&str]) -> (bool, String) {
    let cli = common::find_in_path("redis-cli").expect("redis-cli is installed");
    let output = Command::new("timeout")
        .arg("60")
        .arg(cli)
        .args(["-h", "127.0.0.1", "-p", &server.port().to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Asserts that `LIBRARY`'s function answers on `conn`.
fn assert_library_loaded(conn: &mut Connection, who: &str) {
    assert_eq!(
        query(conn, &["FCALL", "hello", "0", who]),
        Value::BulkString(format!("hi {who}").into_bytes())
    );
}

const LIBRARY: &str =
    "#!lua name=lib\nredis.register_function('hello', function(keys, args) return 'hi ' .. args[1] end)";

#[test]
fn a_redis_cli_rdb_backup_loads_into_redis_and_back_into_reddish() {
    let source = Server::start();
    let mut conn = source.client();
    run(&mut conn, &data_script());
    // A key about to expire could be gone in one server and not yet in the other, and TTLs
    // are compared in tens of seconds: 5 s from the next ten, they read the same until then.
    run(
        &mut conn,
        "DEL s:dies-soon\nEXPIRE s:ttl 5005\nSELECT 3\nEXPIRE db3:hash 9005\nSELECT 0",
    );
    query(&mut conn, &["FUNCTION", "LOAD", LIBRARY]);
    let want = snapshot(&mut conn);
    assert!(want.len() > 20, "{want:?}");

    let name = format!("{}.rdb", unique_name("backup"));
    let file = std::env::temp_dir().join(&name);
    let (ok, stderr) = redis_cli(&source, &["--rdb", &file.to_string_lossy()]);
    assert!(ok, "redis-cli --rdb failed: {stderr}");
    assert!(
        stderr.contains("Transfer finished with success"),
        "{stderr}"
    );

    // Real Redis loads the backup as its own dump: same keys, types, encodings, TTLs, values.
    let redis = RedisServer::start_with(&["--dbfilename", &name]);
    let mut redis_conn = redis.client();
    assert_eq!(snapshot(&mut redis_conn), want);
    assert_library_loaded(&mut redis_conn, "there");

    // And so does Reddish.
    let restored = Server::start_with(&["--import-rdb", &file.to_string_lossy()]);
    let mut restored_conn = restored.client();
    assert_eq!(snapshot(&mut restored_conn), want);
    assert_library_loaded(&mut restored_conn, "there");

    // The source served the snapshot and went on serving.
    assert_eq!(
        query(&mut conn, &["GET", "s:short"]),
        Value::BulkString(b"bar".to_vec())
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn a_backup_keeps_reddish_s_own_types() {
    let source = Server::start();
    let mut conn = source.client();
    run(
        &mut conn,
        "TREE.SET t b 2\nTREE.SET t a 1\nQUEUE.PUSH q x y\nSTACK.PUSH st x y\nGRAPH.ADDEDGE g n1 n2 WEIGHT 5",
    );
    let file = std::env::temp_dir().join(format!("{}.rdb", unique_name("native")));
    let (ok, stderr) = redis_cli(&source, &["--rdb", &file.to_string_lossy()]);
    assert!(ok, "redis-cli --rdb failed: {stderr}");
    let restored = Server::start_with(&["--import-rdb", &file.to_string_lossy()]);
    let mut restored_conn = restored.client();
    for command in [
        "TREE.GET t a",
        "TREE.LEN t",
        "TREE.MIN t",
        "QUEUE.PEEK q",
        "STACK.PEEK st",
        "GRAPH.NEIGHBORS g n1",
    ] {
        let words: Vec<&str> = command.split(' ').collect();
        assert_eq!(
            query(&mut restored_conn, &words),
            query(&mut conn, &words),
            "{command}"
        );
    }
    let _ = std::fs::remove_file(&file);
}

#[test]
fn a_functions_rdb_backup_holds_the_libraries_only() {
    let source = Server::start();
    let mut conn = source.client();
    run(&mut conn, "SET k v");
    query(&mut conn, &["FUNCTION", "LOAD", LIBRARY]);
    let name = format!("{}.rdb", unique_name("functions-only"));
    let file = std::env::temp_dir().join(&name);
    let (ok, stderr) = redis_cli(&source, &["--functions-rdb", &file.to_string_lossy()]);
    assert!(ok, "redis-cli --functions-rdb failed: {stderr}");
    let redis = RedisServer::start_with(&["--dbfilename", &name]);
    let mut redis_conn = redis.client();
    assert_eq!(query(&mut redis_conn, &["DBSIZE"]), Value::Int(0));
    assert_library_loaded(&mut redis_conn, "you");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn replconf_answers_as_redis_and_a_replica_s_sync_is_refused() {
    let redis = RedisServer::start();
    let reddish = Server::start();
    let mut theirs = redis.raw();
    let mut ours = reddish.raw();
    for args in [
        &["REPLCONF"][..],
        &["REPLCONF", "rdb-only"],
        &["REPLCONF", "rdb-only", "2"],
        &["REPLCONF", "rdb-only", "x"],
        &["REPLCONF", "rdb-only", "0"],
        &["REPLCONF", "rdb-filter-only", "functions nothing"],
        &["REPLCONF", "rdb-filter-only", "\"open"],
        &["REPLCONF", "rdb-filter-only", ""],
        &["REPLCONF", "listening-port", "x"],
        &[
            "REPLCONF",
            "listening-port",
            "7000",
            "capa",
            "eof",
            "capa",
            "psync2",
        ],
        &["REPLCONF", "nosuch", "1"],
        &["PSYNC", "?"],
        &["PSYNC", "?", "0", "FAILOVER"],
        &["PSYNC", "?", "x"],
        &["MULTI"],
        &["SYNC"],
        &["DISCARD"],
    ] {
        assert_eq!(ours.cmd(args), theirs.cmd(args), "{args:?}");
    }
    // A SYNC behind replies not yet written is refused, as in Redis.
    let pipelined = [
        common::encode_command(&["PING"]),
        common::encode_command(&["SYNC"]),
    ]
    .concat();
    ours.send(&pipelined);
    theirs.send(&pipelined);
    for _ in 0..2 {
        assert_eq!(ours.read_reply(), theirs.read_reply());
    }
    // Without rdb-only, SYNC is a replica asking to follow the server: refused, link kept.
    let refused = ours.cmd(&["SYNC"]);
    assert!(
        refused.starts_with(b"-ERR Reddish has no replication"),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    assert_eq!(ours.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn psync_answers_fullresync_then_the_file_then_closes() {
    let reddish = Server::start();
    let mut conn = reddish.raw();
    assert_eq!(conn.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["REPLCONF", "rdb-only", "1"]), b"+OK\r\n");
    conn.send(&common::encode_command(&["PSYNC", "?", "-1"]));
    assert!(conn.is_closed_within(Duration::from_secs(10)));
    let got = conn.read_available(Duration::from_millis(1));
    let line_end = got
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a first line");
    let line = String::from_utf8_lossy(&got[..line_end]).into_owned();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[0], "+FULLRESYNC", "{line}");
    assert_eq!(words[1].len(), 40, "{line}");
    assert_eq!(words[2], "0", "{line}");
    let rest = &got[line_end + 2..];
    let header_end = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a bulk length");
    let length: usize = String::from_utf8_lossy(&rest[1..header_end])
        .parse()
        .expect("a length");
    assert_eq!(rest[0], b'$');
    let file = &rest[header_end + 2..];
    assert_eq!(file.len(), length);
    assert!(file.starts_with(b"REDIS0010"));
}

/// INFO field `name` of section `section`, as text.
fn info_field(conn: &mut common::RawConn, section: &str, name: &str) -> String {
    let reply = conn.cmd(&["INFO", section]);
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .to_string()
}

/// Writes `keys` keys of `value_len` bytes LZF cannot shrink (xorshift), so that a snapshot
/// is as large as the data; the commands are built before they are sent, so that a
/// connection under a short `timeout` is not left idle meanwhile.
fn load_incompressible(server: &Server, keys: usize, value_len: usize) -> common::RawConn {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut load = Vec::new();
    for i in 0..keys {
        let value: Vec<u8> = (0..value_len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let key = format!("key:{i}");
        load.extend_from_slice(&common::encode_command(&[
            b"SET".as_slice(),
            key.as_bytes(),
            &value,
        ]));
    }
    let mut conn = server.raw();
    conn.send(&load);
    for _ in 0..keys {
        assert_eq!(conn.read_reply(), b"+OK\r\n");
    }
    conn
}

/// Polls INFO stats until `sync_full` reads `want` (the snapshot was built and queued).
fn wait_for_sync_full(conn: &mut common::RawConn, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(conn, "stats", "sync_full") != want {
        assert!(Instant::now() < deadline, "sync_full never reached {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_backup_is_sent_whole_whatever_the_client_limits_and_reply_mode() {
    // Every limit a snapshot far larger than the socket buffers would run into as an
    // ordinary reply: output buffer, client eviction, idle timeout, maxmemory.
    let server = Server::start_with(&[
        "--client-output-buffer-limit",
        "normal 1mb 1mb 0",
        "--maxmemory-clients",
        "2mb",
    ]);
    let (keys, value_len) = (2_000, 10_000);
    let mut admin = load_incompressible(&server, keys, value_len);
    let used: u64 = info_field(&mut admin, "memory", "used_memory")
        .parse()
        .unwrap();
    let limit = (used + 4_000_000).to_string();
    for (name, value) in [
        ("maxmemory", limit.as_str()),
        ("maxmemory-policy", "allkeys-random"),
        ("timeout", "1"),
    ] {
        assert_eq!(admin.cmd(&["CONFIG", "SET", name, value]), b"+OK\r\n");
    }

    let mut backup = server.raw();
    backup.send(
        &[
            common::encode_command(&["CLIENT", "REPLY", "OFF"]),
            common::encode_command(&["REPLCONF", "rdb-only", "1"]),
            common::encode_command(&["SYNC"]),
        ]
        .concat(),
    );
    // The backup reads nothing for a while: past the idle timeout, while others write.
    wait_for_sync_full(&mut admin, "1");
    assert_eq!(admin.cmd(&["SET", "probe", "1"]), b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(2_200));
    assert!(backup.is_closed_within(Duration::from_secs(20)));
    let got = backup.read_available(Duration::from_millis(1));
    let header_end = got
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a bulk length");
    assert_eq!(got[0], b'$', "{}", common::escape(&got[..header_end]));
    let length: usize = String::from_utf8_lossy(&got[1..header_end])
        .parse()
        .unwrap();
    assert!(length > keys * value_len, "{length}");
    assert_eq!(got.len() - header_end - 2, length);
    assert!(got[header_end + 2..].starts_with(b"REDIS0010"));

    // The first connection went past the idle timeout meanwhile.
    let mut admin = server.raw();
    assert_eq!(
        admin.cmd(&["DBSIZE"]),
        format!(":{}\r\n", keys + 1).as_bytes()
    );
    assert_eq!(info_field(&mut admin, "stats", "evicted_keys"), "0");
    assert_eq!(info_field(&mut admin, "stats", "evicted_clients"), "0");
    assert_eq!(info_field(&mut admin, "stats", "sync_full"), "1");
    assert_eq!(
        info_field(&mut admin, "memory", "mem_not_counted_for_evict"),
        "0"
    );
}

#[test]
fn a_stalled_backup_is_closed_after_repl_timeout() {
    let server = Server::start();
    let mut admin = load_incompressible(&server, 2_000, 10_000);
    assert_eq!(
        admin.cmd(&["CONFIG", "SET", "repl-timeout", "1"]),
        b"+OK\r\n"
    );
    let mut backup = server.raw();
    assert_eq!(backup.cmd(&["REPLCONF", "rdb-only", "1"]), b"+OK\r\n");
    backup.send(&common::encode_command(&["SYNC"]));
    wait_for_sync_full(&mut admin, "1");
    let held: u64 = info_field(&mut admin, "memory", "mem_not_counted_for_evict")
        .parse()
        .unwrap();
    assert!(held > 10_000_000, "{held}");
    // Nothing is read: the socket buffers fill, the transfer stalls and is closed, and the
    // memory it held is counted again.
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&mut admin, "memory", "mem_not_counted_for_evict") != "0" {
        assert!(
            Instant::now() < deadline,
            "the stalled transfer was not closed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server
        .logs()
        .contains("Disconnecting timedout snapshot transfer"));
}
