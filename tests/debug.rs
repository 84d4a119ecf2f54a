//! DEBUG against a real redis-server: the replies Redis's own test suite relies on (digests,
//! protocol samples, errors, POPULATE, RELOAD) byte for byte, and the switches that change how
//! the server runs (SET-ACTIVE-EXPIRE, PAUSE-CRON, SLEEP, enable-debug-command).

mod common;

use common::{assert_bytes, escape, RawConn, RedisServer, Server};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Both servers with DEBUG enabled, one connection to each.
struct Pair {
    _reddish: Server,
    _redis: Server,
    ours: RawConn,
    theirs: RawConn,
}

impl Pair {
    fn start() -> Pair {
        Self::start_with_args(&[])
    }

    /// With extra arguments for both servers.
    fn start_with_args(extra: &[&str]) -> Pair {
        let mut args = vec!["--enable-debug-command", "yes"];
        args.extend_from_slice(extra);
        let reddish = Server::start_with(&args);
        let redis = RedisServer::start_with(&args);
        let (ours, theirs) = (reddish.raw(), redis.raw());
        Pair {
            _reddish: reddish,
            _redis: redis,
            ours,
            theirs,
        }
    }

    /// Runs `args` on both and returns Reddish's reply, which must equal Redis's.
    #[track_caller]
    fn same(&mut self, args: &[&str]) -> Vec<u8> {
        let ours = self.ours.cmd(args);
        let theirs = self.theirs.cmd(args);
        assert_eq!(
            escape(&ours),
            escape(&theirs),
            "{args:?}: Reddish (left) and Redis (right) differ"
        );
        ours
    }

    /// Runs `args` on both, comparing nothing (set-up whose reply may differ).
    fn both(&mut self, args: &[&str]) {
        self.ours.cmd(args);
        self.theirs.cmd(args);
    }
}

/// A data set of every Redis type, several encodings, expiries, and two databases.
const DATA: &[&[&str]] = &[
    &["SET", "s", "hello"],
    &["SET", "n", "12345"],
    &["SET", "bin", "a\x00b\r\n"],
    &["RPUSH", "l", "a", "b", "3", ""],
    &["SADD", "ints", "1", "2", "-3"],
    &["SADD", "words", "x", "y", "1"],
    &["HSET", "h", "f", "v", "g", "2"],
    &[
        "ZADD", "z", "1.5", "a", "2", "b", "-inf", "c", "0.1", "d", "1e300", "e",
    ],
    &["EXPIRE", "s", "1000"],
    &["PEXPIRE", "z", "500000"],
    &["SELECT", "3"],
    &["SET", "s", "hello"],
    &["RPUSH", "l", "b", "a"],
    &["SELECT", "0"],
];

#[test]
fn digests_equal_redis() {
    let mut pair = Pair::start();
    assert_bytes(
        &pair.same(&["DEBUG", "DIGEST"]),
        b"+0000000000000000000000000000000000000000\r\n",
    );
    for command in DATA {
        pair.same(command);
    }
    pair.same(&["DEBUG", "DIGEST"]);
    pair.same(&[
        "DEBUG",
        "DIGEST-VALUE",
        "s",
        "n",
        "bin",
        "l",
        "ints",
        "words",
        "h",
        "z",
        "missing",
    ]);
    // Any change shows: an element, the order of a list, an expiry, a database.
    for change in [
        &["LSET", "l", "0", "b"][..],
        &["PERSIST", "z"],
        &["HSET", "h", "f", "w"],
        &["MOVE", "n", "5"],
    ] {
        let before = pair.same(&["DEBUG", "DIGEST"]);
        pair.same(change);
        assert_ne!(pair.same(&["DEBUG", "DIGEST"]), before, "{change:?}");
    }
}

#[test]
fn equal_data_has_equal_digests_whatever_the_order() {
    let server = Server::start_with(&["--enable-debug-command", "yes"]);
    let mut conn = server.raw();
    conn.cmd(&["SADD", "a", "x", "y", "z"]);
    conn.cmd(&["HSET", "h", "f1", "1", "f2", "2"]);
    conn.cmd(&["SET", "k", "v"]);
    let first = conn.cmd(&["DEBUG", "DIGEST"]);
    conn.cmd(&["FLUSHALL"]);
    conn.cmd(&["SET", "k", "v"]);
    conn.cmd(&["HSET", "h", "f2", "2", "f1", "1"]);
    conn.cmd(&["SADD", "a", "z", "x", "y"]);
    assert_bytes(&conn.cmd(&["DEBUG", "DIGEST"]), &first);
    conn.cmd(&["SADD", "copy", "y", "z", "x"]);
    let values = conn.cmd(&["DEBUG", "DIGEST-VALUE", "a", "copy"]);
    let lines: Vec<&[u8]> = values.split(|&b| b == b'\n').collect();
    assert_eq!(lines[1], lines[2], "{}", escape(&values));
}

#[test]
fn protocol_samples_equal_redis_in_resp2_and_resp3() {
    let mut pair = Pair::start();
    let kinds = [
        "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
        "verbatim", "true", "false", "bogus",
    ];
    for kind in kinds {
        pair.same(&["DEBUG", "PROTOCOL", kind]);
    }
    pair.both(&["HELLO", "3"]);
    for kind in kinds {
        if kind == "push" {
            // Two replies: the push, then the real reply.
            let ours = pair.ours.cmd(&["DEBUG", "PROTOCOL", kind]);
            let theirs = pair.theirs.cmd(&["DEBUG", "PROTOCOL", kind]);
            assert_bytes(&ours, &theirs);
            assert_bytes(&pair.ours.read_reply(), &pair.theirs.read_reply());
            continue;
        }
        pair.same(&["DEBUG", "PROTOCOL", kind]);
    }
}

#[test]
fn errors_and_simple_replies_equal_redis() {
    let mut pair = Pair::start();
    for command in [
        &["DEBUG"][..],
        &["DEBUG", "nosuch"],
        &["DEBUG", "object"],
        &["DEBUG", "object", "missing"],
        &["DEBUG", "sleep", "0"],
        &["DEBUG", "sleep", "nonsense"],
        &["DEBUG", "set-active-expire", "1"],
        &["DEBUG", "quicklist-packed-threshold", "1b"],
        &["DEBUG", "quicklist-packed-threshold", "0"],
        &["DEBUG", "quicklist-packed-threshold", "5gb"],
        &["DEBUG", "quicklist-packed-threshold", "x"],
        &["DEBUG", "replybuffer", "peak-reset-time", "never"],
        &["DEBUG", "replybuffer", "peak-reset-time", "x"],
        &["DEBUG", "replybuffer", "resizing", "1"],
        &["DEBUG", "replybuffer", "bogus", "1"],
        &["DEBUG", "pause-cron", "0"],
        &["DEBUG", "set-disable-deny-scripts", "0"],
        &["DEBUG", "error", "CUSTOM some\r\ntext"],
        &["DEBUG", "log", "a line"],
        &["DEBUG", "reload", "bogus"],
        &["DEBUG", "populate", "-1"],
        &["DEBUG", "populate", "x"],
        &["DEBUG", "htstats", "99"],
        &["DEBUG", "htstats", "0"],
        &["DEBUG", "htstats-key", "missing"],
        &["DEBUG", "listpack", "missing"],
        &["DEBUG", "change-repl-id"],
        &["SET", "str", "v"],
        &["DEBUG", "htstats-key", "str"],
        &["DEBUG", "listpack", "str"],
        &["DEBUG", "quicklist", "str"],
        &["RPUSH", "list", "a"],
        &["DEBUG", "quicklist", "list"],
        // Redis shares the integers 0..9999 (the suite reads their refcount).
        &["SET", "n", "-1"],
        &["OBJECT", "REFCOUNT", "n"],
        &["INCR", "n"],
        &["OBJECT", "REFCOUNT", "n"],
        &["SET", "n", "9999"],
        &["OBJECT", "REFCOUNT", "n"],
        &["INCR", "n"],
        &["OBJECT", "REFCOUNT", "n"],
        &["SET", "n", "12"],
        &["APPEND", "n", "3"],
        &["OBJECT", "REFCOUNT", "n"],
    ] {
        pair.same(command);
    }
}

#[test]
fn stringmatch_test_runs_the_matcher_without_crashing() {
    let server = Server::start_with(&["--enable-debug-command", "yes"]);
    let mut conn = server.raw();
    // Redis's own fuzz run can take seconds on a busy machine.
    conn.set_timeout(Duration::from_secs(60));
    assert_bytes(
        &conn.cmd(&["DEBUG", "STRINGMATCH-TEST"]),
        b"+Apparently Redis did not crash: test passed\r\n",
    );
    assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn refused_unless_enabled_as_redis_refuses_it() {
    let reddish = Server::start();
    let redis = RedisServer::start();
    let ours = reddish.raw().cmd(&["DEBUG", "HELP"]);
    assert_bytes(&ours, &redis.raw().cmd(&["DEBUG", "HELP"]));
    assert!(ours.starts_with(b"-ERR DEBUG command not allowed."));
    let local = Server::start_with(&["--enable-debug-command", "local"]);
    let help = local.raw().cmd(&["DEBUG", "HELP"]);
    assert!(help.starts_with(b"*"), "{}", escape(&help));
    assert_bytes(
        &local
            .raw()
            .cmd(&["CONFIG", "SET", "enable-debug-command", "yes"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config\r\n",
    );
}

/// Deletes the RDB file of the reference server (and of Reddish's stand-in when the tests run
/// against redis-server) when the test ends: it is written to the shared temporary directory,
/// where every redis-server started later would load it.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn populate_and_reload_equal_redis() {
    let rdb = format!("{}.rdb", common::unique_name("debug-reload"));
    let _cleanup = RemoveOnDrop(std::env::temp_dir().join(&rdb));
    let mut pair = Pair::start_with_args(&["--dbfilename", &rdb]);
    pair.same(&["SET", "key:1", "taken"]);
    pair.same(&["DEBUG", "POPULATE", "20"]);
    pair.same(&["DEBUG", "POPULATE", "5", "pre", "12"]);
    pair.same(&["DEBUG", "POPULATE", "5", "big", "100"]);
    pair.same(&["DBSIZE"]);
    pair.same(&["GET", "key:1"]);
    pair.same(&["GET", "pre:3"]);
    for command in DATA {
        pair.same(command);
    }
    let before = pair.same(&["DEBUG", "DIGEST"]);
    pair.same(&["DEBUG", "RELOAD"]);
    assert_bytes(&pair.same(&["DEBUG", "DIGEST"]), &before);
    for key in ["n", "s", "ints", "words", "h", "z", "l", "big:0"] {
        pair.same(&["OBJECT", "ENCODING", key]);
    }
    pair.same(&["TTL", "s"]);
}

/// Keys still stored (expired or not), read with DBSIZE, which does not expire them.
fn dbsize(conn: &mut RawConn) -> Vec<u8> {
    conn.cmd(&["DBSIZE"])
}

#[test]
fn set_active_expire_and_pause_cron_stop_background_expiry() {
    let mut pair = Pair::start();
    for switch in ["SET-ACTIVE-EXPIRE", "PAUSE-CRON"] {
        pair.same(&["FLUSHALL"]);
        let off = if switch == "PAUSE-CRON" { "1" } else { "0" };
        pair.same(&["DEBUG", switch, off]);
        for key in ["a", "b", "c"] {
            pair.same(&["SET", key, "v", "PX", "10"]);
        }
        sleep(Duration::from_millis(400));
        // Nothing touched them: they are still stored on both.
        assert_bytes(&dbsize(&mut pair.ours), b":3\r\n");
        assert_bytes(&dbsize(&mut pair.theirs), b":3\r\n");
        // Touching one still expires it.
        pair.same(&["GET", "a"]);
        pair.same(&["DBSIZE"]);
        let on = if off == "1" { "0" } else { "1" };
        pair.same(&["DEBUG", switch, on]);
    }
    // With active expiry back on, the background cycle deletes expired keys again.
    pair.same(&["SET", "d", "v", "PX", "10"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while dbsize(&mut pair.ours) != b":0\r\n" {
        assert!(Instant::now() < deadline, "keys never expired");
        sleep(Duration::from_millis(20));
    }
}

#[test]
fn sleep_blocks_the_whole_server() {
    let server = Server::start_with(&["--enable-debug-command", "yes"]);
    let mut sleeper = server.raw();
    let mut other = server.raw();
    let started = Instant::now();
    sleeper.send(&common::encode_command(&["DEBUG", "SLEEP", "0.3"]));
    sleep(Duration::from_millis(50));
    assert_bytes(&other.cmd(&["PING"]), b"+PONG\r\n");
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "PING answered after {:?}, during the sleep",
        started.elapsed()
    );
    assert_bytes(&sleeper.read_reply(), b"+OK\r\n");
}

#[test]
fn object_reports_the_fields_tests_read() {
    let server = Server::start_with(&["--enable-debug-command", "yes"]);
    let mut conn = server.raw();
    conn.cmd(&["SET", "n", "20000"]);
    let first = conn.cmd(&["DEBUG", "OBJECT", "n"]);
    conn.cmd(&["INCR", "n"]);
    let second = conn.cmd(&["DEBUG", "OBJECT", "n"]);
    let address = |line: &[u8]| {
        String::from_utf8_lossy(line)
            .split(' ')
            .nth(1)
            .map(str::to_string)
    };
    // INCR changes the value where it is, as the suite's "in-place" test checks.
    assert_eq!(address(&first), address(&second));
    let text = String::from_utf8_lossy(&second).into_owned();
    assert!(text.starts_with("+Value at:0x"), "{text}");
    assert!(
        text.contains(" refcount:1 encoding:int serializedlength:"),
        "{text}"
    );
    conn.cmd(&["HSET", "big", "f", &"x".repeat(1024)]);
    let text = String::from_utf8_lossy(&conn.cmd(&["DEBUG", "OBJECT", "big"])).into_owned();
    assert!(text.contains(" encoding:hashtable "), "{text}");
    // A logically expired key is still stored, and DEBUG OBJECT still sees it.
    conn.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    conn.cmd(&["SET", "gone", "v", "PX", "1"]);
    sleep(Duration::from_millis(20));
    let text = String::from_utf8_lossy(&conn.cmd(&["DEBUG", "OBJECT", "gone"])).into_owned();
    assert!(text.starts_with("+Value at:"), "{text}");
}

#[test]
fn reload_builds_values_in_the_configured_encodings() {
    let rdb = format!("{}.rdb", common::unique_name("debug-reload-limits"));
    let _cleanup = RemoveOnDrop(std::env::temp_dir().join(&rdb));
    let mut pair = Pair::start_with_args(&["--dbfilename", &rdb]);
    for (param, value) in [
        ("zset-max-ziplist-entries", "0"),
        ("hash-max-ziplist-entries", "0"),
        ("set-max-intset-entries", "1"),
    ] {
        pair.same(&["CONFIG", "SET", param, value]);
    }
    pair.both(&["ZADD", "z", "1", "a", "2", "b"]);
    pair.both(&["HSET", "h", "f", "v"]);
    pair.both(&["SADD", "s", "1", "2"]);
    pair.same(&["DEBUG", "RELOAD"]);
    for key in ["z", "h", "s"] {
        pair.same(&["OBJECT", "ENCODING", key]);
    }
    assert_bytes(
        &pair.same(&["OBJECT", "ENCODING", "z"]),
        b"$8\r\nskiplist\r\n",
    );
    // Raised limits: the same values come back compact.
    pair.same(&["CONFIG", "SET", "zset-max-ziplist-entries", "128"]);
    pair.same(&["CONFIG", "SET", "hash-max-ziplist-entries", "128"]);
    pair.same(&["CONFIG", "SET", "set-max-intset-entries", "512"]);
    pair.same(&["DEBUG", "RELOAD"]);
    for key in ["z", "h", "s"] {
        pair.same(&["OBJECT", "ENCODING", key]);
    }
    assert_bytes(
        &pair.same(&["OBJECT", "ENCODING", "s"]),
        b"$6\r\nintset\r\n",
    );
}

#[test]
fn a_stop_signal_waits_for_the_cron_and_shutdown_abort_cancels_it() {
    let args = ["--enable-debug-command", "yes"];
    let mut servers = [Server::start_with(&args), RedisServer::start_with(&args)];
    for server in &mut servers {
        let mut conn = server.raw();
        assert_bytes(
            &conn.cmd(&["SHUTDOWN", "ABORT"]),
            b"-ERR No shutdown in progress.\r\n",
        );
        for bad in [
            &["SHUTDOWN", "ABORT", "NOSAVE"][..],
            &["SHUTDOWN", "SAVE", "NOSAVE"],
        ] {
            assert_bytes(&conn.cmd(bad), b"-ERR syntax error\r\n");
        }
        assert_bytes(&conn.cmd(&["DEBUG", "PAUSE-CRON", "1"]), b"+OK\r\n");
        server.signal("TERM");
        sleep(Duration::from_millis(100));
        assert!(server.is_running(), "the shutdown waits for the cron");
        assert_bytes(&conn.cmd(&["SHUTDOWN", "ABORT"]), b"+OK\r\n");
        assert_bytes(&conn.cmd(&["DEBUG", "PAUSE-CRON", "0"]), b"+OK\r\n");
        sleep(Duration::from_millis(300));
        assert_bytes(&conn.cmd(&["PING"]), b"+PONG\r\n");
        assert!(server.is_running(), "the aborted shutdown does not happen");
        assert!(
            server.logs().contains("Shutdown manually aborted"),
            "the abort is logged as Redis logs it"
        );
        // A later signal, with the cron running, stops the server.
        server.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.is_running() && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        assert!(!server.is_running(), "a stop signal stops the server");
    }
}

#[test]
fn debug_reload_keeps_function_libraries_as_redis() {
    const LIB: &str = "#!lua name=lib\nredis.register_function('f', function() return 'one' end)";
    const LIB2: &str = "#!lua name=lib2\nredis.register_function('g', function() return 'two' end)";
    let mut reddish = Server::start_with(&["--enable-debug-command", "yes"]);
    let mut conn = reddish.raw();
    assert_eq!(conn.cmd(&["FUNCTION", "LOAD", LIB]), b"$3\r\nlib\r\n");
    assert_eq!(conn.cmd(&["DEBUG", "RELOAD"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&["FCALL", "f", "0"]), b"$3\r\none\r\n");
    // The saved library collides with the loaded one unless MERGE lets it replace it.
    assert_eq!(
        conn.cmd(&["DEBUG", "RELOAD", "NOFLUSH"]),
        b"-ERR Error trying to load the RDB dump, check server logs.\r\n"
    );
    assert_eq!(
        conn.cmd(&["DEBUG", "RELOAD", "NOFLUSH", "MERGE"]),
        b"+OK\r\n"
    );
    // NOSAVE loads what the last save kept: a library loaded since stays with NOFLUSH, and
    // goes without it.
    assert_eq!(conn.cmd(&["FUNCTION", "LOAD", LIB2]), b"$4\r\nlib2\r\n");
    assert_eq!(
        conn.cmd(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]),
        b"+OK\r\n"
    );
    assert_eq!(conn.cmd(&["FCALL", "g", "0"]), b"$3\r\ntwo\r\n");
    assert_eq!(conn.cmd(&["FCALL", "f", "0"]), b"$3\r\none\r\n");
    assert_eq!(conn.cmd(&["DEBUG", "RELOAD", "NOSAVE"]), b"+OK\r\n");
    assert_eq!(
        conn.cmd(&["FCALL", "g", "0"]),
        b"-ERR Function not found\r\n"
    );
    assert_eq!(conn.cmd(&["FCALL", "f", "0"]), b"$3\r\none\r\n");
    drop(conn);
    reddish.stop();
}

/// jemalloc's controls and report, as Redis built with jemalloc (Debian's) gives them: the
/// same replies and error texts for reads, writes, write-only and void controls, and names
/// that are not controls; jemalloc in INFO; MEMORY MALLOC-STATS is jemalloc's own report.
/// Linux builds with the `jemalloc` feature (the default) only: Windows builds use the system
/// allocator, and macOS's jemalloc has no background thread.
#[cfg(all(feature = "jemalloc", target_os = "linux"))]
#[test]
fn mallctl_and_malloc_stats_answer_as_redis_with_jemalloc() {
    let mut pair = Pair::start();
    let info = |conn: &mut RawConn| -> String {
        let text = String::from_utf8_lossy(&conn.cmd(&["INFO", "memory"])).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("mem_allocator:"))
            .unwrap_or_else(|| panic!("no mem_allocator in {text}"))
            .trim()
            .to_string()
    };
    let (ours, theirs) = (info(&mut pair.ours), info(&mut pair.theirs));
    assert_eq!(ours, "jemalloc-5.3.0");
    assert!(theirs.starts_with("jemalloc-"), "{theirs}");
    for args in [
        &["DEBUG", "MALLCTL", "arenas.page"][..],
        &["DEBUG", "MALLCTL", "no.such.control"],
        &["DEBUG", "MALLCTL"],
        &["DEBUG", "MALLCTL", "arenas.page", "notanumber"],
        // Read-only: the write is refused.
        &["DEBUG", "MALLCTL", "stats.resident", "5"],
        // A void control: neither read nor written with a value.
        &["DEBUG", "MALLCTL", "thread.tcache.flush"],
        &["DEBUG", "MALLCTL-STR", "thread.tcache.flush"],
        &["DEBUG", "MALLCTL-STR", "thread.tcache.flush", "VOID"],
        &["DEBUG", "MALLCTL-STR", "opt.thp"],
        &["DEBUG", "MALLCTL-STR", "no.such.control"],
        &["DEBUG", "MALLCTL-STR"],
    ] {
        pair.same(args);
    }
    // The version string of each build differs after its release number.
    for conn in [&mut pair.ours, &mut pair.theirs] {
        let version = conn.cmd(&["DEBUG", "MALLCTL-STR", "version"]);
        assert!(version.starts_with(b"$"), "{}", escape(&version));
        assert!(
            String::from_utf8_lossy(&version).contains("\r\n5.3."),
            "{}",
            escape(&version)
        );
        let report = conn.cmd(&["MEMORY", "MALLOC-STATS"]);
        assert!(
            String::from_utf8_lossy(&report).contains("___ Begin jemalloc statistics ___"),
            "{}",
            escape(&report[..report.len().min(200)])
        );
    }
    // Narrower controls: Redis halves the size it asks for after jemalloc has already
    // shortened it, so it answers "Invalid argument" for every control narrower than 64
    // bits; Reddish reads them (an `unsigned` and a `bool` here).
    assert_eq!(
        pair.theirs.cmd(&["DEBUG", "MALLCTL", "opt.narenas"]),
        b"-ERR Invalid argument\r\n"
    );
    let narenas = pair.ours.cmd(&["DEBUG", "MALLCTL", "opt.narenas"]);
    assert_eq!(narenas, b":1\r\n", "{}", escape(&narenas));
    let background = ["DEBUG", "MALLCTL", "background_thread"];
    assert_eq!(pair.ours.cmd(&background), b":1\r\n");
    // The rest of the options Reddish gives jemalloc (src/main.rs) are in force.
    for (option, value) in [
        ("opt.dirty_decay_ms", ":1000\r\n"),
        ("opt.tcache_max", ":4096\r\n"),
    ] {
        let reply = pair.ours.cmd(&["DEBUG", "MALLCTL", option]);
        assert_eq!(escape(&reply), escape(value.as_bytes()), "{option}");
    }
    // A value is never cut down to fit a narrower control: a bool takes 0 and 1 only.
    for value in ["256", "2", "-1"] {
        let reply = pair
            .ours
            .cmd(&["DEBUG", "MALLCTL", "background_thread", value]);
        assert_eq!(reply, b"-ERR Invalid argument\r\n", "{value}");
    }
    assert_eq!(pair.ours.cmd(&background), b":1\r\n");
    // Controls that would free memory in use, take an address, install hooks or create
    // arenas are refused, not obeyed; so is a string read of a number.
    for args in [
        &["DEBUG", "MALLCTL-STR", "arena.0.reset", "VOID"][..],
        &["DEBUG", "MALLCTL-STR", "arena.0.destroy", "VOID"],
        &["DEBUG", "MALLCTL", "arena.0.extent_hooks", "1"],
        &["DEBUG", "MALLCTL-STR", "opt.dirty_decay_ms"],
        &["DEBUG", "MALLCTL", "arenas.lookup"],
        &["DEBUG", "MALLCTL", "arenas.lookup", "1"],
        &["DEBUG", "MALLCTL-STR", "arenas.lookup", "VOID"],
        &["DEBUG", "MALLCTL", "arenas.create"],
        &["DEBUG", "MALLCTL", "arenas.create", "1"],
    ] {
        let reply = pair.ours.cmd(args);
        assert!(reply.starts_with(b"-ERR "), "{args:?}: {}", escape(&reply));
    }
    assert_eq!(pair.ours.cmd(&["PING"]), b"+PONG\r\n");
    // jemalloc-bg-thread acts: jemalloc's background thread stops and starts with it.
    for (setting, running) in [("no", b":0\r\n"), ("yes", b":1\r\n")] {
        let set = ["CONFIG", "SET", "jemalloc-bg-thread", setting];
        assert_eq!(pair.ours.cmd(&set), b"+OK\r\n");
        let state = pair.ours.cmd(&["DEBUG", "MALLCTL", "background_thread"]);
        assert_eq!(state, running, "{setting}: {}", escape(&state));
    }
}
