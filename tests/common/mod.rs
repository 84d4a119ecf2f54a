//! Shared harness for the integration tests: start servers, talk to them, compare them.
//!
//! Use it from a test file with `mod common;` and then:
//!
//! - [`Server::start`] / [`Server::start_with`]: the built `reddish` binary on an ephemeral
//!   loopback port, ready to accept connections. Dropping the `Server` kills the process.
//! - [`RedisServer::start`]: a real `redis-server` with the same [`Server`] interface, as the
//!   reference for behaviour (installed by `scripts/test.sh`; a missing one is a panic, never a
//!   silent skip).
//! - [`Server::client`] gives a `redis::Connection` (a real client library);
//!   [`Server::raw`] gives a [`RawConn`] that sends bytes and returns the exact bytes of each
//!   reply, for asserting replies byte for byte.
//! - [`Server::kill`] (SIGKILL), [`Server::terminate`] / [`Server::stop`] (SIGTERM, wait for
//!   exit) and [`Server::restart`] (same binary, same arguments) for persistence tests.
//! - [`differential`] runs a script against a fresh Reddish and a fresh real redis-server and
//!   panics on the first reply that differs. Script syntax: see [`parse_script`].
//!
//! ```text
//! mod common;
//! use common::{assert_bytes, differential, Server};
//!
//! #[test]
//! fn set_then_get() {
//!     let server = Server::start();
//!     let mut conn = server.raw();
//!     assert_bytes(&conn.cmd(&["SET", "k", "v"]), b"+OK\r\n");
//!     assert_bytes(&conn.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
//! }
//!
//! #[test]
//! fn same_as_redis() {
//!     differential("SET k v\nGET k\n@sorted KEYS *");
//! }
//! ```
//!
//! Persistence: servers never inherit `MONGODB_URI` (tests stay independent of each other);
//! a persistence test passes it explicitly, with a database of its own:
//!
//! ```text
//! let Some(uri) = mongodb_uri() else { return }; // only when skipped on purpose
//! Server::start_with(&["--mongodb-uri", &uri, "--mongodb-database", &unique_name("t")]);
//! ```
//!
//! Environment:
//! - `MONGODB_URI`: the MongoDB-compatible server for persistence tests (`scripts/test.sh`
//!   starts SecantusDB and sets it); read with [`mongodb_uri`]. Without it those tests fail.
//! - `REDDISH_SKIP_PERSISTENCE=<reason>`: with `MONGODB_URI` unset, the tests that need
//!   MongoDB pass without running and print `SKIPPED <test>: ...` with the reason.
//! - `REDDISH_TEST_PYTHON`: the Python with the client libraries from PyPI (redis-py) that
//!   tests run against Reddish (`scripts/test.sh` sets it to its venv's); read with
//!   [`test_python`]. Without it those tests fail, unless `REDDISH_SKIP_CLIENT_LIBRARIES` is
//!   set to the reason.
//! - `REDDISH_TEST_BIN`: run this binary instead of the built `reddish`. For example
//!   `REDDISH_TEST_BIN=$(command -v redis-server) cargo test --release --test differential`
//!   checks that a test passes against real Redis, i.e. that the test itself is right. When
//!   the binary is a `redis-server`, persistence is switched off for it as for [`RedisServer`].
//! - `REDIS_SERVER_BIN`: the reference `redis-server` (default: `redis-server` from `PATH`).
//! - `REDDISH_DIFF_TRACE=1`: print every differential command with both replies.
#![allow(dead_code)]

pub mod reply;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a server may take from spawn to accepting connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after SIGTERM before the test fails.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a [`RawConn`] waits for one reply before the test fails.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Spawn attempts on fresh ports when the child exits early (e.g. its port was taken).
const START_ATTEMPTS: usize = 5;

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// A server process on 127.0.0.1 owned by the test; killed when dropped.
///
/// Its stdout and stderr go to a log file (not a pipe, which would block a chatty server once
/// full); [`Server::logs`] reads it and every harness panic about the server includes it.
pub struct Server {
    bin: PathBuf,
    /// Arguments before `--port N --bind 127.0.0.1` (a config file, if any, must come first).
    args: Vec<String>,
    port: u16,
    child: Option<Child>,
    log_path: PathBuf,
}

/// Constructors for a real `redis-server`, the reference implementation.
pub struct RedisServer;

impl RedisServer {
    /// A real redis-server with persistence off, on an ephemeral loopback port.
    #[track_caller]
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// Like [`RedisServer::start`] with extra redis-server arguments.
    #[track_caller]
    pub fn start_with(args: &[&str]) -> Server {
        let bin = redis_server_bin();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Server::launch(bin, args)
    }
}

impl Server {
    /// The Reddish binary under test with default settings.
    #[track_caller]
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// The Reddish binary under test with extra arguments, e.g.
    /// `Server::start_with(&["--loglevel", "debug"])`.
    #[track_caller]
    pub fn start_with(args: &[&str]) -> Server {
        let bin = match std::env::var_os("REDDISH_TEST_BIN") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => PathBuf::from(env!("CARGO_BIN_EXE_reddish")),
        };
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Server::launch(bin, args)
    }

    #[track_caller]
    fn launch(bin: PathBuf, args: Vec<String>) -> Server {
        let mut server = Server {
            bin,
            args,
            port: 0,
            child: None,
            log_path: new_log_path(),
        };
        server.spawn_ready(None);
        server
    }

    /// The TCP port the server listens on (may change across [`Server::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The process id of the running server.
    #[track_caller]
    pub fn pid(&self) -> u32 {
        match &self.child {
            Some(child) => child.id(),
            None => panic!("server is not running"),
        }
    }

    /// A `redis` crate connection with a read timeout, so a missing reply fails the test.
    #[track_caller]
    pub fn client(&self) -> redis::Connection {
        let url = format!("redis://127.0.0.1:{}/", self.port);
        let connect = || -> redis::RedisResult<redis::Connection> {
            let client = redis::Client::open(url.as_str())?;
            let conn = client.get_connection_with_timeout(REPLY_TIMEOUT)?;
            conn.set_read_timeout(Some(REPLY_TIMEOUT))?;
            conn.set_write_timeout(Some(REPLY_TIMEOUT))?;
            Ok(conn)
        };
        match connect() {
            Ok(conn) => conn,
            Err(e) => panic!(
                "redis client cannot connect to {url}: {e}\n{}",
                self.log_tail()
            ),
        }
    }

    /// A raw TCP connection for byte-exact protocol tests.
    #[track_caller]
    pub fn raw(&self) -> RawConn {
        match RawConn::connect(self.addr()) {
            Ok(conn) => conn,
            Err(e) => panic!(
                "cannot connect to {}: {e}\n{}",
                self.addr(),
                self.log_tail()
            ),
        }
    }

    /// Everything the server wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The log lines at warning level: Redis's line shape, `pid:M 07 Dec 2026 12:00:00.123 #
    /// message`, marks them `#`.
    pub fn warnings(&self) -> Vec<String> {
        self.logs()
            .lines()
            .filter(|line| line.split_whitespace().nth(5) == Some("#"))
            .map(str::to_string)
            .collect()
    }

    /// Whether the process is still alive (reaps it if it exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends a signal by name (`"TERM"`, `"INT"`, `"HUP"`, ...) without waiting.
    #[track_caller]
    pub fn signal(&self, name: &str) {
        let pid = self.pid().to_string();
        // The shell's builtin kill: a kill binary is not on every minimal system.
        let status = Command::new("sh")
            .args(["-c", "kill -s \"$0\" \"$1\"", name, &pid])
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!("kill -s {name} {pid} failed: {other:?}"),
        }
    }

    /// SIGKILL (no chance to flush anything) and reap. Returns the exit status.
    #[track_caller]
    pub fn kill(&mut self) -> ExitStatus {
        let Some(mut child) = self.child.take() else {
            panic!("kill(): server is not running");
        };
        // An error here only means the process already exited; wait() below reaps it either way.
        let _ = child.kill();
        match child.wait() {
            Ok(status) => status,
            Err(e) => panic!("waiting for killed server: {e}"),
        }
    }

    /// SIGTERM and wait (bounded by [`EXIT_TIMEOUT`]) for a graceful exit.
    #[track_caller]
    pub fn terminate(&mut self) -> ExitStatus {
        let Some(mut child) = self.child.take() else {
            panic!("terminate(): server is not running");
        };
        if let Ok(Some(status)) = child.try_wait() {
            return status; // already gone, e.g. after SHUTDOWN
        }
        // Failure means it exited in between; the wait below collects its status either way.
        let _ = Command::new("sh")
            .args(["-c", "kill -s TERM \"$0\"", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "server did not exit within {EXIT_TIMEOUT:?} after SIGTERM\n{}",
                        self.log_tail()
                    );
                }
                Err(e) => panic!("waiting for server: {e}"),
            }
        }
    }

    /// Graceful stop: the same as [`Server::terminate`].
    #[track_caller]
    pub fn stop(&mut self) -> ExitStatus {
        self.terminate()
    }

    /// Starts the same binary with the same arguments again, on the same port if it is still
    /// free (otherwise a new one: read [`Server::port`] again). Terminates it first if running.
    /// The log file is appended to, so [`Server::logs`] covers every run.
    #[track_caller]
    pub fn restart(&mut self) {
        if self.is_running() {
            self.terminate();
        }
        self.child = None;
        let port = self.port;
        self.spawn_ready(Some(port));
    }

    /// Spawns the child and waits until it accepts connections, retrying on new ports when
    /// the child exits early.
    #[track_caller]
    fn spawn_ready(&mut self, preferred_port: Option<u16>) {
        let mut port = preferred_port;
        for _ in 0..START_ATTEMPTS {
            let chosen = match port.take() {
                Some(p) => p,
                None => free_port(),
            };
            let mut child = self.spawn(chosen);
            match wait_ready(&mut child, chosen) {
                Ready::Yes => {
                    self.port = chosen;
                    self.child = Some(child);
                    return;
                }
                Ready::Exited => continue,
                Ready::TimedOut => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "{} did not accept connections on port {chosen} within {START_TIMEOUT:?}\n{}",
                        self.bin.display(),
                        self.log_tail()
                    );
                }
            }
        }
        panic!(
            "{} {:?} exited before accepting connections ({START_ATTEMPTS} attempts)\n{}",
            self.bin.display(),
            self.args,
            self.log_tail()
        );
    }

    fn spawn(&self, port: u16) -> Child {
        let log = match File::options()
            .create(true)
            .append(true)
            .open(&self.log_path)
        {
            Ok(f) => f,
            Err(e) => panic!("cannot open {}: {e}", self.log_path.display()),
        };
        let log_err = match log.try_clone() {
            Ok(f) => f,
            Err(e) => panic!("cannot clone log file handle: {e}"),
        };
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.args);
        if is_redis_server(&self.bin) {
            // Keep the reference free of side effects: no dump.rdb/AOF in the working directory.
            cmd.args(["--save", "", "--appendonly", "no", "--dir"]);
            cmd.arg(std::env::temp_dir());
        }
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
        cmd.env_remove("MONGODB_URI");
        cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);
        match cmd.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot spawn {}: {e}", self.bin.display()),
        }
    }

    fn log_tail(&self) -> String {
        let logs = self.logs();
        let start = logs.len().saturating_sub(8000);
        let start = (start..logs.len())
            .find(|&i| logs.is_char_boundary(i))
            .unwrap_or(logs.len());
        format!(
            "--- server output ({}) ---\n{}\n--- end of server output ---",
            self.bin.display(),
            &logs[start..]
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("server log kept at {}", self.log_path.display());
        } else {
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

enum Ready {
    Yes,
    Exited,
    TimedOut,
}

/// Ready means: the child is alive, owns a listening socket on `port` (checked through /proc
/// where available, so another process that grabbed the port is not mistaken for ours) and a
/// TCP connect succeeds.
fn wait_ready(child: &mut Child, port: u16) -> Ready {
    let deadline = Instant::now() + START_TIMEOUT;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return Ready::Exited;
        }
        if listens_on(child.id(), port) != Some(false)
            && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        {
            return Ready::Yes;
        }
        sleep(Duration::from_millis(10));
    }
    Ready::TimedOut
}

/// Whether process `pid` has a socket listening on 127.0.0.1:`port` or 0.0.0.0:`port`.
/// `None` when /proc cannot tell (not Linux).
pub fn listens_on(pid: u32, port: u16) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let wanted = [
        format!("0100007F:{port:04X}"),
        format!("00000000:{port:04X}"),
    ];
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is field 1, state field 3 (0A = LISTEN), inode field 9.
            let listening = fields.get(3) == Some(&"0A");
            let ours = fields.get(1).is_some_and(|a| wanted.iter().any(|w| w == a));
            if listening && ours {
                fields.get(9).map(|s| format!("socket:[{s}]"))
            } else {
                None
            }
        })
        .collect();
    let owned = fds.flatten().any(|entry| {
        std::fs::read_link(entry.path())
            .map(|target| inodes.iter().any(|i| Path::new(i) == target))
            .unwrap_or(false)
    });
    Some(owned)
}

/// The environment variable that skips the tests needing MongoDB; its value says why.
pub const SKIP_PERSISTENCE: &str = "REDDISH_SKIP_PERSISTENCE";

/// The MongoDB URI for a test that needs MongoDB, or `None` when the run skips such tests on
/// purpose (`REDDISH_SKIP_PERSISTENCE=<reason>`, with `MONGODB_URI` unset). With neither
/// variable set it panics: a persistence test that did not run must not pass as if it had.
///
/// A skip is written straight to stderr, not through `eprintln!`, so that it shows in the
/// test output although the harness captures what passing tests print.
#[track_caller]
pub fn mongodb_uri() -> Option<String> {
    if let Some(uri) = non_empty_env("MONGODB_URI") {
        return Some(uri);
    }
    let Some(reason) = non_empty_env(SKIP_PERSISTENCE) else {
        panic!(
            "MONGODB_URI is not set: this test needs a MongoDB-compatible server \
             (scripts/test.sh starts SecantusDB and sets it). To skip the tests that need one, \
             set {SKIP_PERSISTENCE} to the reason."
        );
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a persistence test");
    // Nothing useful is left to do if stderr itself is gone.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {SKIP_PERSISTENCE}={reason} (MONGODB_URI is not set)"
    );
    None
}

/// Set to a reason, skips the tests that drive Reddish through real client libraries when
/// `REDDISH_TEST_PYTHON` is unset.
pub const SKIP_CLIENT_LIBRARIES: &str = "REDDISH_SKIP_CLIENT_LIBRARIES";

/// The Python with the client libraries (redis-py) that tests run: `REDDISH_TEST_PYTHON`,
/// which `scripts/test.sh` sets to its venv's. Unset, the test fails, unless skipped on
/// purpose (`REDDISH_SKIP_CLIENT_LIBRARIES=<reason>`: `None`, and the reason is printed).
pub fn test_python() -> Option<PathBuf> {
    if let Some(python) = non_empty_env("REDDISH_TEST_PYTHON") {
        return Some(PathBuf::from(python));
    }
    let Some(reason) = non_empty_env(SKIP_CLIENT_LIBRARIES) else {
        panic!(
            "REDDISH_TEST_PYTHON is not set: this test runs a client library from PyPI \
             (scripts/test.sh installs it in its venv and sets the variable). To skip the tests \
             that need one, set {SKIP_CLIENT_LIBRARIES} to the reason."
        );
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a client-library test");
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {SKIP_CLIENT_LIBRARIES}={reason} (REDDISH_TEST_PYTHON is not set)"
    );
    None
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A name no other test (or earlier run) uses, e.g. for a per-test MongoDB database.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A port that was free a moment ago (the kernel's choice for port 0).
pub fn free_port() -> u16 {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("cannot bind an ephemeral port on 127.0.0.1: {e}"),
    }
}

fn new_log_path() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("reddish-test-{}-{n}.log", std::process::id()))
}

fn is_redis_server(bin: &Path) -> bool {
    bin.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("redis-server"))
}

fn redis_server_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("REDIS_SERVER_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    find_in_path("redis-server").unwrap_or_else(|| {
        panic!(
            "redis-server not found in PATH: the differential tests need a real Redis 7. \
             scripts/test.sh installs it (apt-get install redis-server redis-tools), \
             or set REDIS_SERVER_BIN"
        )
    })
}

/// The SecantusDB server for tests that start their own: `SECANTUSD_BIN`, else the venv
/// scripts/test.sh makes, else `secantusd-py` on the PATH.
pub fn secantusd_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("SECANTUSD_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-env/bin/secantusd-py");
    if venv.exists() {
        return venv;
    }
    match find_in_path("secantusd-py") {
        Some(path) => path,
        None => panic!(
            "no SecantusDB: run scripts/test.sh once (it installs it into target/test-env) \
             or set SECANTUSD_BIN to a secantusd-py binary"
        ),
    }
}

/// A SecantusDB of the test's own (for outages: it can be stopped and started again on the
/// same port and storage), stopped when dropped.
pub struct SecantusDb {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl SecantusDb {
    /// Starts SecantusDB on `port` (0: any) with its data in `dir`; returns once it listens.
    pub fn start(dir: &PathBuf, port: u16) -> SecantusDb {
        use std::io::BufRead;
        std::fs::create_dir_all(dir).expect("data directory");
        let config = dir.join("secantusd.toml");
        std::fs::write(&config, "").expect("config file");
        let mut child = Command::new(secantusd_bin())
            .arg("--config")
            .arg(&config)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--standalone",
            ])
            .arg("--storage-path")
            .arg(dir.join("data"))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start secantusd-py");
        let Some(stderr) = child.stderr.take() else {
            panic!("no stderr pipe")
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let port = rest
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.trim().parse::<u16>().ok());
                    let _ = tx.send(port);
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(port)) => port,
            other => {
                let _ = child.kill();
                panic!("SecantusDB did not start: {other:?}");
            }
        };
        SecantusDb {
            child,
            port,
            dir: dir.clone(),
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.kill();
        let port = self.port;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // The port may still be held for a moment after the kill.
            let attempt = std::panic::catch_unwind(|| SecantusDb::start(&self.dir, port));
            match attempt {
                Ok(fresh) => {
                    *self = fresh;
                    return;
                }
                Err(_) if Instant::now() < deadline => sleep(Duration::from_millis(300)),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    }
}

impl Drop for SecantusDb {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The first executable called `name` in `PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

// ---------------------------------------------------------------------------------------------
// Raw connections
// ---------------------------------------------------------------------------------------------

/// A raw TCP connection: send any bytes, read back the exact bytes of each reply.
pub struct RawConn {
    stream: TcpStream,
    /// Bytes received but not yet returned.
    pending: Vec<u8>,
    timeout: Duration,
}

impl RawConn {
    /// Connects with TCP_NODELAY and the default [`REPLY_TIMEOUT`].
    pub fn connect(addr: SocketAddr) -> std::io::Result<RawConn> {
        let stream = TcpStream::connect_timeout(&addr, REPLY_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        Ok(RawConn {
            stream,
            pending: Vec::new(),
            timeout: REPLY_TIMEOUT,
        })
    }

    /// Changes how long [`RawConn::read_reply`] waits (e.g. longer for blocking commands).
    /// A second handle on the same socket, for writing from another thread while this one
    /// reads.
    pub fn try_clone_stream(&self) -> TcpStream {
        self.stream.try_clone().expect("clone the socket")
    }

    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Writes all of `bytes`.
    #[track_caller]
    pub fn send(&mut self, bytes: &[u8]) {
        if let Err(e) = self.stream.write_all(bytes) {
            panic!("send of {} failed: {e}", escape(bytes));
        }
    }

    /// Sends one command as a RESP2 multibulk and returns the exact bytes of its reply.
    /// `conn.cmd(&["SET", "k", "v"])`, `conn.cmd(&[b"SET".as_slice(), b"k\0", b"v"])`.
    #[track_caller]
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(&encode_command(args));
        self.read_reply()
    }

    /// The exact bytes of the next complete reply (RESP2 or RESP3, nested aggregates, an
    /// attribute together with the reply it annotates). Panics after the timeout, on EOF or
    /// on bytes that are not RESP.
    #[track_caller]
    pub fn read_reply(&mut self) -> Vec<u8> {
        match self.read_reply_within(self.timeout) {
            Ok(reply) => reply,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`RawConn::read_reply`] but reports failure instead of panicking.
    pub fn read_reply_within(&mut self, timeout: Duration) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match reply_len(&self.pending) {
                Ok(Some(len)) => return Ok(self.pending.drain(..len).collect()),
                Ok(None) => {}
                Err(e) => return Err(format!("not RESP: {e}; received {}", escape(&self.pending))),
            }
            match self.fill(deadline) {
                Fill::Data => {}
                Fill::Timeout => {
                    return Err(format!(
                        "no complete reply within {timeout:?}; received {}",
                        escape(&self.pending)
                    ))
                }
                Fill::Closed => {
                    return Err(format!(
                        "connection closed before a complete reply; received {}",
                        escape(&self.pending)
                    ))
                }
            }
        }
    }

    /// Everything that arrives within `timeout` (stops early when the peer closes).
    pub fn read_available(&mut self, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        while let Fill::Data = self.fill(deadline) {}
        std::mem::take(&mut self.pending)
    }

    /// Whether the server closes the connection within `timeout`. Bytes received meanwhile
    /// stay available to the next read.
    pub fn is_closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self.fill(deadline) {
                Fill::Data => {}
                Fill::Closed => return true,
                Fill::Timeout => return false,
            }
        }
    }

    /// Reads once into `pending`, waiting at most until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Fill {
        let now = Instant::now();
        if now >= deadline {
            return Fill::Timeout;
        }
        // A zero read timeout means "block forever" to std, so keep it at least 1 ms.
        let wait = (deadline - now).max(Duration::from_millis(1));
        if self.stream.set_read_timeout(Some(wait)).is_err() {
            return Fill::Closed;
        }
        let mut buf = [0u8; 65536];
        match self.stream.read(&mut buf) {
            Ok(0) => Fill::Closed,
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Fill::Data
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Fill::Timeout
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Fill::Data,
            Err(_) => Fill::Closed,
        }
    }
}

enum Fill {
    Data,
    Timeout,
    Closed,
}

/// RESP2 multibulk encoding of one command.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Length of the first complete RESP2/RESP3 reply in `buf`: `Ok(None)` if more bytes are
/// needed, `Err` if the bytes are not RESP. An attribute (`|`) counts together with the reply
/// that follows it.
pub fn reply_len(buf: &[u8]) -> Result<Option<usize>, String> {
    reply_end(buf, 0)
}

fn reply_end(buf: &[u8], pos: usize) -> Result<Option<usize>, String> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(line_end) = find_crlf(buf, pos + 1) else {
        return Ok(None);
    };
    let line = &buf[pos + 1..line_end];
    let after_line = line_end + 2;
    match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Ok(Some(after_line)),
        b'$' | b'!' | b'=' => {
            let len = parse_len(line)?;
            if len < 0 {
                return if len == -1 && kind == b'$' {
                    Ok(Some(after_line))
                } else {
                    Err(format!("bad length {len} at byte {pos}"))
                };
            }
            let end = after_line + len as usize + 2;
            if buf.len() < end {
                return Ok(None);
            }
            if &buf[end - 2..end] != b"\r\n" {
                return Err(format!("bulk at byte {pos} not terminated by CRLF"));
            }
            Ok(Some(end))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let count = parse_len(line)?;
            if count < 0 {
                return if count == -1 && kind == b'*' {
                    Ok(Some(after_line))
                } else {
                    Err(format!("bad count {count} at byte {pos}"))
                };
            }
            let elements = if matches!(kind, b'%' | b'|') {
                count as usize * 2
            } else {
                count as usize
            };
            let mut next = after_line;
            for _ in 0..elements {
                match reply_end(buf, next)? {
                    Some(end) => next = end,
                    None => return Ok(None),
                }
            }
            if kind == b'|' {
                // The attribute annotates the reply that follows: both form one unit.
                return reply_end(buf, next);
            }
            Ok(Some(next))
        }
        other => Err(format!(
            "unknown type byte {} at byte {pos}",
            escape(&[other])
        )),
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

fn parse_len(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("bad length line {}", escape(line)))
}

/// Bytes as a readable string: printable ASCII as is, `\r \n \t \" \\` escaped, others `\xHH`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Asserts two byte strings are equal, showing both escaped.
#[track_caller]
pub fn assert_bytes(actual: &[u8], expected: &[u8]) {
    if actual != expected {
        panic!(
            "bytes differ\n  actual:   {}\n  expected: {}",
            escape(actual),
            escape(expected)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Differential testing
// ---------------------------------------------------------------------------------------------

/// How the replies of one step are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Byte for byte.
    Exact,
    /// The top-level aggregate as a sorted multiset of its elements (KEYS, SMEMBERS).
    Sorted,
    /// The top-level aggregate as a sorted multiset of (field, value) pairs (HGETALL).
    Pairs,
    /// Only the RESP type byte (TIME, RANDOMKEY, PTTL).
    TypeOnly,
    /// Full cursor iteration; compares the sets of returned elements (pairs for HSCAN and
    /// ZSCAN), never cursors. The step's cursor argument is where the loop starts.
    Scan,
    /// Run on both servers, compare nothing (set-up whose reply legitimately differs).
    Ignore,
}

/// One line of a differential script.
#[derive(Clone, Debug)]
pub enum Step {
    /// Send `args` on connection `conn` of each server and compare the replies.
    Command {
        args: Vec<Vec<u8>>,
        compare: Compare,
        conn: usize,
        line: usize,
    },
    /// Read one more reply (a pub/sub message) on connection `conn` of each server without
    /// sending anything, and compare.
    Receive { conn: usize, line: usize },
    /// Wait (e.g. for keys to expire).
    Sleep(Duration),
}

/// Parses a differential script. One command per line, arguments split like `redis-cli` does:
///
/// ```text
/// # comment; blank lines are skipped
/// SET key "hello world"          double quotes: \" \\ \n \r \t \xHH escapes
/// SET bin "a\x00b\r\n"           binary-safe
/// SET k 'single quoted'          no escapes except \'
/// SET empty ""                   an empty argument
/// @sorted KEYS *                 compare as a sorted multiset of elements
/// @pairs HGETALL h               ... of (field, value) pairs
/// @type RANDOMKEY                compare only the reply type
/// @scan SCAN 0 MATCH k* COUNT 5  iterate to the end, compare the set of elements
/// @any CONFIG SET x y            compare nothing
/// @conn 2                        following commands use connection 2 (default 0)
/// @sleep 120                     wait 120 ms
/// @receive                       read one pushed message on this connection, compare it
/// @receive 3                     ... three of them
/// ```
///
/// Panics on a malformed script (it is a bug in the test).
pub fn parse_script(script: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut conn = 0;
    for (index, raw_line) in script.lines().enumerate() {
        let line_no = index + 1;
        let mut line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut compare = Compare::Exact;
        if let Some(rest) = line.strip_prefix('@') {
            let (directive, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let rest = rest.trim();
            compare = match directive {
                "sorted" => Compare::Sorted,
                "pairs" => Compare::Pairs,
                "type" => Compare::TypeOnly,
                "scan" => Compare::Scan,
                "any" => Compare::Ignore,
                "conn" | "sleep" => {
                    let n: u64 = rest.parse().unwrap_or_else(|_| {
                        panic!("script line {line_no}: @{directive} needs a number: {raw_line}")
                    });
                    if directive == "conn" {
                        conn = n as usize;
                    } else {
                        steps.push(Step::Sleep(Duration::from_millis(n)));
                    }
                    continue;
                }
                "receive" => {
                    // `@receive N` reads N messages, one by one.
                    let count: usize = if rest.is_empty() {
                        1
                    } else {
                        rest.parse().unwrap_or_else(|_| {
                            panic!("script line {line_no}: @receive takes a count: {raw_line}")
                        })
                    };
                    for _ in 0..count {
                        steps.push(Step::Receive {
                            conn,
                            line: line_no,
                        });
                    }
                    continue;
                }
                other => panic!("script line {line_no}: unknown directive @{other}"),
            };
            line = rest;
        }
        let args =
            split_args(line).unwrap_or_else(|e| panic!("script line {line_no}: {e}: {raw_line}"));
        if args.is_empty() {
            panic!("script line {line_no}: no command: {raw_line}");
        }
        steps.push(Step::Command {
            args,
            compare,
            conn,
            line: line_no,
        });
    }
    steps
}

/// Splits a line into arguments with redis-cli quoting rules.
pub fn split_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let bytes = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let mut arg = Vec::new();
        match bytes[i] {
            b'"' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err("unbalanced double quote".into()),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            let esc = bytes.get(i + 1).copied();
                            let hex = bytes
                                .get(i + 2..i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u8::from_str_radix(h, 16).ok());
                            match (esc, hex) {
                                (Some(b'x'), Some(value)) => {
                                    arg.push(value);
                                    i += 4;
                                    continue;
                                }
                                (Some(b'n'), _) => arg.push(b'\n'),
                                (Some(b'r'), _) => arg.push(b'\r'),
                                (Some(b't'), _) => arg.push(b'\t'),
                                (Some(b'b'), _) => arg.push(8),
                                (Some(b'a'), _) => arg.push(7),
                                (Some(c), _) => arg.push(c),
                                (None, _) => return Err("unbalanced double quote".into()),
                            }
                            i += 2;
                        }
                        Some(&c) => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                if bytes.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    return Err("closing quote must be followed by a space".into());
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err("unbalanced single quote".into()),
                        Some(b'\'') => break,
                        Some(b'\\') if bytes.get(i + 1) == Some(&b'\'') => {
                            arg.push(b'\'');
                            i += 2;
                        }
                        Some(&c) => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                if bytes.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    return Err("closing quote must be followed by a space".into());
                }
            }
            _ => {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    arg.push(bytes[i]);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
    Ok(args)
}

/// Runs `script` (see [`parse_script`]) against a fresh Reddish and a fresh real
/// redis-server; panics at the first reply that differs.
#[track_caller]
pub fn differential(script: &str) {
    Differential::new().run(script);
}

/// A Reddish and a real redis-server side by side, with lazily opened connections to each.
pub struct Differential {
    pub reddish: Server,
    pub redis: Server,
    reddish_conns: Vec<Option<RawConn>>,
    redis_conns: Vec<Option<RawConn>>,
    /// Recent commands, shown on a mismatch for context.
    history: Vec<String>,
}

/// Which side of a comparison.
#[derive(Clone, Copy)]
enum Side {
    Reddish,
    Redis,
}

impl Default for Differential {
    fn default() -> Self {
        Self::new()
    }
}

impl Differential {
    /// Both servers with default settings.
    pub fn new() -> Differential {
        Self::with_reddish_args(&[])
    }

    /// Reddish started with `args`; the reference redis-server with defaults.
    pub fn with_reddish_args(args: &[&str]) -> Differential {
        Differential {
            reddish: Server::start_with(args),
            redis: RedisServer::start(),
            reddish_conns: Vec::new(),
            redis_conns: Vec::new(),
            history: Vec::new(),
        }
    }

    /// Both servers started with the same `args`.
    pub fn with_args(args: &[&str]) -> Differential {
        Differential {
            reddish: Server::start_with(args),
            redis: RedisServer::start_with(args),
            reddish_conns: Vec::new(),
            redis_conns: Vec::new(),
            history: Vec::new(),
        }
    }

    /// Runs a script (see [`parse_script`]); panics at the first difference.
    #[track_caller]
    pub fn run(&mut self, script: &str) {
        for step in parse_script(script) {
            self.run_step(&step);
        }
    }

    /// Runs parsed or generated steps; panics at the first difference.
    #[track_caller]
    pub fn run_steps(&mut self, steps: &[Step]) {
        for step in steps {
            self.run_step(step);
        }
    }

    /// Sends one command to both servers (connection 0) and compares the replies.
    #[track_caller]
    pub fn check<A: AsRef<[u8]>>(&mut self, compare: Compare, args: &[A]) {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_ref().to_vec()).collect();
        self.run_step(&Step::Command {
            args,
            compare,
            conn: 0,
            line: 0,
        });
    }

    #[track_caller]
    fn run_step(&mut self, step: &Step) {
        let no_args = Vec::new();
        let (args, compare, conn, line) = match step {
            Step::Sleep(duration) => {
                sleep(*duration);
                return;
            }
            Step::Receive { conn, line } => (&no_args, Compare::Exact, *conn, *line),
            Step::Command {
                args,
                compare,
                conn,
                line,
            } => (args, *compare, *conn, *line),
        };
        let shown = if args.is_empty() {
            "@receive".to_string()
        } else {
            show_command(args)
        };
        self.history.push(if line > 0 {
            format!("line {line}: {shown}")
        } else {
            shown.clone()
        });
        let expected = self.reply_set(Side::Redis, conn, args, compare);
        let expected = match expected {
            Ok(reply) => reply,
            Err(e) => panic!(
                "the reference redis-server gave no usable reply to {shown}: {e}\n\
                 (the script is wrong, or REDDISH_TEST_BIN points at something broken)"
            ),
        };
        let actual = self.reply_set(Side::Reddish, conn, args, compare);
        let actual = match actual {
            Ok(reply) => reply,
            Err(e) => format!("<{e}>").into_bytes(),
        };
        if std::env::var_os("REDDISH_DIFF_TRACE").is_some() {
            eprintln!(
                "{shown}\n    redis:   {}\n    reddish: {}",
                escape(&expected),
                escape(&actual)
            );
        }
        if compare == Compare::Ignore {
            return;
        }
        let (expected_cmp, actual_cmp) = match compare {
            Compare::TypeOnly => (
                expected[..1].to_vec(),
                actual.get(..1).unwrap_or(b"").to_vec(),
            ),
            _ => (expected.clone(), actual.clone()),
        };
        if expected_cmp != actual_cmp {
            let start = self.history.len().saturating_sub(8);
            panic!(
                "differential mismatch{}: {shown}\n  compare: {compare:?}\n  redis:   {}\n  reddish: {}\n\
                 recent commands (connection {conn}):\n    {}\n{}",
                if line > 0 { format!(" at script line {line}") } else { String::new() },
                escape(&expected),
                escape(&actual),
                self.history[start..].join("\n    "),
                self.reddish.log_tail()
            );
        }
    }

    /// The reply of one side, normalised for `compare` (sorted, or a scan's element set).
    fn reply_set(
        &mut self,
        side: Side,
        conn: usize,
        args: &[Vec<u8>],
        compare: Compare,
    ) -> Result<Vec<u8>, String> {
        let conn = self.conn(side, conn);
        if compare == Compare::Scan {
            return scan_all(conn, args);
        }
        // No arguments: a @receive step, which only reads what the server pushed.
        if !args.is_empty() {
            conn.send(&encode_command(args));
        }
        let reply = conn.read_reply_within(REPLY_TIMEOUT)?;
        Ok(match compare {
            Compare::Sorted => sort_aggregate(&reply, 1),
            Compare::Pairs => sort_aggregate(&reply, 2),
            _ => reply,
        })
    }

    /// Restarts Reddish (what it persisted is loaded again); the next commands use new
    /// connections to it.
    pub fn restart_reddish(&mut self) {
        self.reddish_conns.clear();
        self.reddish.restart();
    }

    fn conn(&mut self, side: Side, index: usize) -> &mut RawConn {
        let (server, conns) = match side {
            Side::Reddish => (&self.reddish, &mut self.reddish_conns),
            Side::Redis => (&self.redis, &mut self.redis_conns),
        };
        if conns.len() <= index {
            conns.resize_with(index + 1, || None);
        }
        conns[index].get_or_insert_with(|| server.raw())
    }

    /// A raw-protocol case: opens a new connection to each server, writes `chunks` one write
    /// each (a short pause between them so they arrive separately), reads `replies` complete
    /// replies, then checks both servers agree on any further bytes and on whether the
    /// connection gets closed.
    #[track_caller]
    pub fn raw_case(&mut self, name: &str, chunks: &[&[u8]], replies: usize) {
        let (redis, reddish) = std::thread::scope(|scope| {
            let redis = scope.spawn(|| RawOutcome::collect(&self.redis, chunks, replies));
            let reddish = RawOutcome::collect(&self.reddish, chunks, replies);
            (redis.join(), reddish)
        });
        let redis = match redis {
            Ok(outcome) => outcome,
            Err(_) => panic!("raw case {name}: talking to redis-server panicked"),
        };
        if let Some(e) = &redis.error {
            panic!("raw case {name}: the reference redis-server: {e} (the case is wrong)");
        }
        if redis != reddish {
            let sent: Vec<String> = chunks.iter().map(|c| escape(c)).collect();
            panic!(
                "raw case {name} differs\n  sent:    [{}]\n  redis:   {redis}\n  reddish: {reddish}\n{}",
                sent.join(", "),
                self.reddish.log_tail()
            );
        }
    }
}

/// What one server did in a raw-protocol case.
#[derive(PartialEq, Eq)]
struct RawOutcome {
    replies: Vec<Vec<u8>>,
    /// Why fewer replies than expected arrived.
    error: Option<String>,
    /// Bytes after the expected replies.
    extra: Vec<u8>,
    closed: bool,
}

impl RawOutcome {
    #[track_caller]
    fn collect(server: &Server, chunks: &[&[u8]], replies: usize) -> RawOutcome {
        let mut conn = server.raw();
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 {
                sleep(Duration::from_millis(2));
            }
            // The server may close early (protocol error); later writes may then fail, which
            // is part of what is compared, not a harness error.
            let _ = conn.stream.write_all(chunk);
        }
        let mut outcome = RawOutcome {
            replies: Vec::new(),
            error: None,
            extra: Vec::new(),
            closed: false,
        };
        for _ in 0..replies {
            match conn.read_reply_within(REPLY_TIMEOUT) {
                Ok(reply) => outcome.replies.push(reply),
                Err(e) => {
                    outcome.error = Some(e);
                    break;
                }
            }
        }
        outcome.closed = conn.is_closed_within(Duration::from_millis(100));
        outcome.extra = std::mem::take(&mut conn.pending);
        outcome
    }
}

impl std::fmt::Display for RawOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let replies: Vec<String> = self.replies.iter().map(|b| escape(b)).collect();
        write!(f, "replies [{}]", replies.join(", "))?;
        if let Some(e) = &self.error {
            write!(f, " <{e}>")?;
        }
        write!(
            f,
            " then extra bytes {}, connection {}",
            escape(&self.extra),
            if self.closed { "closed" } else { "open" }
        )
    }
}

/// Iterates a SCAN-family command from the cursor in `args` until the cursor is 0 again;
/// returns the sorted, de-duplicated elements (pairs for HSCAN/ZSCAN) as one RESP array. A
/// reply that is not a scan page (an error) is returned as is.
fn scan_all(conn: &mut RawConn, args: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let is_key_scan = args
        .first()
        .is_some_and(|c| c.eq_ignore_ascii_case(b"scan"));
    let cursor_at = if is_key_scan { 1 } else { 2 };
    let paired = args
        .first()
        .is_some_and(|c| c.eq_ignore_ascii_case(b"hscan") || c.eq_ignore_ascii_case(b"zscan"));
    if args.len() <= cursor_at {
        conn.send(&encode_command(args));
        return conn.read_reply_within(REPLY_TIMEOUT);
    }
    let mut args = args.to_vec();
    let mut items: Vec<Vec<u8>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    for _ in 0..1_000_000 {
        conn.send(&encode_command(&args));
        let reply = conn.read_reply_within(REPLY_TIMEOUT)?;
        let Some(page) = split_aggregate(&reply) else {
            return Ok(reply);
        };
        let (cursor, elements) = match page.elements.as_slice() {
            [cursor, elements] if page.header.starts_with(b"*2\r\n") => (*cursor, *elements),
            _ => return Ok(reply),
        };
        let Some(list) = split_aggregate(elements) else {
            return Ok(reply);
        };
        let width = if paired { 2 } else { 1 };
        for item in list.elements.chunks(width) {
            items.push(item.concat());
        }
        let Some(next) = bulk_payload(cursor) else {
            return Ok(reply);
        };
        if next == b"0" {
            items.sort();
            items.dedup();
            let count = items.len() * width;
            let mut out = format!("*{count}\r\n").into_bytes();
            for item in &items {
                out.extend_from_slice(item);
            }
            return Ok(out);
        }
        if Instant::now() > deadline {
            return Err("scan did not finish within 20 s".into());
        }
        args[cursor_at] = next.to_vec();
    }
    Err("scan did not finish within 1,000,000 calls".into())
}

/// An aggregate reply cut into its header line and its elements (each complete reply bytes).
struct Aggregate<'a> {
    header: &'a [u8],
    elements: Vec<&'a [u8]>,
}

fn split_aggregate(reply: &[u8]) -> Option<Aggregate<'_>> {
    if !matches!(reply.first(), Some(b'*' | b'~' | b'%' | b'>')) {
        return None;
    }
    let header_end = find_crlf(reply, 1)? + 2;
    let mut elements = Vec::new();
    let mut pos = header_end;
    while pos < reply.len() {
        let end = reply_end(reply, pos).ok()??;
        elements.push(&reply[pos..end]);
        pos = end;
    }
    Some(Aggregate {
        header: &reply[..header_end],
        elements,
    })
}

fn bulk_payload(reply: &[u8]) -> Option<&[u8]> {
    if reply.first() != Some(&b'$') {
        return None;
    }
    let start = find_crlf(reply, 1)? + 2;
    reply.get(start..reply.len().checked_sub(2)?)
}

/// The reply with its top-level elements sorted in groups of `width`; other replies as is.
fn sort_aggregate(reply: &[u8], width: usize) -> Vec<u8> {
    let Some(aggregate) = split_aggregate(reply) else {
        return reply.to_vec();
    };
    let mut groups: Vec<Vec<u8>> = aggregate
        .elements
        .chunks(width)
        .map(|g| g.concat())
        .collect();
    groups.sort();
    let mut out = aggregate.header.to_vec();
    for group in groups {
        out.extend_from_slice(&group);
    }
    out
}

/// A command as redis-cli would print it, for messages.
fn show_command(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.iter()
                    .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
            if plain {
                String::from_utf8_lossy(a).into_owned()
            } else {
                escape(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
