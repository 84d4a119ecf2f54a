//! Real Redis tools against the server: `redis-cli` (commands, `--pipe` mass insertion) and
//! `redis-benchmark`. The tools are installed by `scripts/test.sh`; a missing tool is a panic.

mod common;

use common::{find_in_path, Server};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a tool run produced.
struct ToolOutput {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `tool args...` with `stdin` fed from a thread (so a large input cannot deadlock
/// against unread output), killing it after `timeout`.
fn run_tool(tool: &str, args: &[&str], stdin: Vec<u8>, timeout: Duration) -> ToolOutput {
    let bin = find_in_path(tool).unwrap_or_else(|| {
        panic!(
            "{tool} not found in PATH: scripts/test.sh installs it (apt-get install redis-tools)"
        )
    });
    let mut child = Command::new(&bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let (Some(mut input), Some(mut out), Some(mut err)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        panic!("{tool}: stdio pipes missing although all were requested");
    };
    let writer = thread::spawn(move || {
        // The tool may exit without reading everything; that shows in its output instead.
        let _ = input.write_all(&stdin);
    });
    let stdout_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let stderr_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{tool} {args:?} did not finish within {timeout:?}");
            }
            Err(e) => panic!("waiting for {tool}: {e}"),
        }
    };
    let _ = writer.join();
    let stdout = stdout_reader.join().unwrap_or_default();
    let stderr = stderr_reader.join().unwrap_or_default();
    ToolOutput {
        success: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `redis-cli -h 127.0.0.1 -p PORT args...`; returns stdout, asserting success.
fn cli(server: &Server, args: &[&str]) -> String {
    let port = server.port().to_string();
    let mut full = vec!["-h", "127.0.0.1", "-p", &port];
    full.extend_from_slice(args);
    let out = run_tool("redis-cli", &full, Vec::new(), Duration::from_secs(20));
    assert!(
        out.success,
        "redis-cli {args:?} failed\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

#[test]
fn redis_cli_ping_set_get() {
    let server = Server::start();
    assert_eq!(cli(&server, &["PING"]), "PONG\n");
    assert_eq!(cli(&server, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(&server, &["GET", "greeting"]), "hello world\n");
    assert_eq!(cli(&server, &["GET", "missing"]), "\n");
    assert_eq!(cli(&server, &["INCR", "counter"]), "1\n");
    assert_eq!(cli(&server, &["DBSIZE"]), "2\n");
}

#[test]
fn redis_cli_info_has_server_section() {
    let server = Server::start();
    let info = cli(&server, &["INFO"]);
    assert!(info.contains("redis_version:"), "INFO output:\n{info}");
    let info = cli(&server, &["INFO", "server"]);
    assert!(
        info.contains("redis_version:"),
        "INFO server output:\n{info}"
    );
}

#[test]
fn redis_cli_pipe_mass_insertion() {
    const COUNT: usize = 100_000;
    let server = Server::start();
    let mut input = Vec::with_capacity(COUNT * 48);
    for i in 0..COUNT {
        let key = format!("key:{i}");
        let value = format!("value:{i}");
        input.extend_from_slice(&common::encode_command(&["SET", &key, &value]));
    }
    let port = server.port().to_string();
    let out = run_tool(
        "redis-cli",
        &["-h", "127.0.0.1", "-p", &port, "--pipe"],
        input,
        Duration::from_secs(60),
    );
    assert!(
        out.success,
        "redis-cli --pipe failed\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout.contains(&format!("errors: 0, replies: {COUNT}")),
        "unexpected --pipe summary\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    let mut client = server.client();
    let size: usize = redis::cmd("DBSIZE")
        .query(&mut client)
        .unwrap_or_else(|e| panic!("DBSIZE: {e}"));
    assert_eq!(size, COUNT);
    let last: String = redis::cmd("GET")
        .arg(format!("key:{}", COUNT - 1))
        .query(&mut client)
        .unwrap_or_else(|e| panic!("GET: {e}"));
    assert_eq!(last, format!("value:{}", COUNT - 1));
}

/// Runs `redis-benchmark -q` for `tests` and asserts every expected test printed a
/// requests-per-second figure and nothing looks like an error.
fn benchmark(tests: &str, expected: &[&str]) {
    let server = Server::start();
    let port = server.port().to_string();
    let out = run_tool(
        "redis-benchmark",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-q",
            "-n",
            "2000",
            "-c",
            "50",
            "-t",
            tests,
        ],
        Vec::new(),
        Duration::from_secs(120),
    );
    let all = format!("{}\n{}", out.stdout, out.stderr);
    assert!(
        out.success,
        "redis-benchmark failed\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    // -q rewrites a progress line with '\r' before printing the final figure.
    let lines: Vec<&str> = all
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for name in expected {
        let prefix = format!("{name}: ");
        let printed = lines.iter().any(|line| {
            line.strip_prefix(&prefix).is_some_and(|rest| {
                rest.split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<f64>().ok())
                    .is_some_and(|rps| rps > 0.0)
                    && rest.contains("requests per second")
            })
        });
        assert!(printed, "no requests-per-second line for {name}\n{all}");
    }
    for line in &lines {
        let lower = line.to_ascii_lowercase();
        assert!(
            !line.contains("ERR")
                && !line.contains("Could not fetch server CONFIG")
                && !lower.contains("error"),
            "redis-benchmark reported a problem: {line}\n{all}"
        );
    }
}

#[test]
fn redis_benchmark_strings() {
    benchmark(
        "ping,set,get,incr,mset",
        &[
            "PING_INLINE",
            "PING_MBULK",
            "SET",
            "GET",
            "INCR",
            "MSET (10 keys)",
        ],
    );
}

#[test]
fn redis_benchmark_data_types() {
    benchmark(
        "lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_600",
        &[
            "LPUSH",
            "RPUSH",
            "LPOP",
            "RPOP",
            "SADD",
            "HSET",
            "SPOP",
            "ZADD",
            "ZPOPMIN",
            "LRANGE_100 (first 100 elements)",
            "LRANGE_300 (first 300 elements)",
            "LRANGE_600 (first 600 elements)",
        ],
    );
}
