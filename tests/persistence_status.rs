//! What persistence tells a person when MongoDB is not there, tried as a new user would: the
//! start-up log with nothing listening at the URI, and `INFO persistence` plus the log when
//! MongoDB stops while Reddish runs and comes back. The second test starts and kills a
//! SecantusDB of its own (the server scripts/test.sh installs into `target/test-env`; set
//! `SECANTUSD_BIN` to use another binary), so it needs no `MONGODB_URI`.

mod common;

use common::{free_port, unique_name, RawConn, Server};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The longest log line a persistence report may take, prefix (time, level, module) included.
const LOG_LINE_MAX: usize = 200;

/// The `name:` field of `INFO persistence`.
fn persistence_field(conn: &mut RawConn, name: &str) -> String {
    let reply = conn.cmd(&["INFO", "persistence"]);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let prefix = format!("{name}:");
    match text.lines().find_map(|line| line.strip_prefix(&prefix)) {
        Some(value) => value.to_string(),
        None => panic!("INFO persistence has no {name}: {text}"),
    }
}

/// Polls `INFO persistence` until `name` reads `want`; panics after `within`.
#[track_caller]
fn wait_for_field(conn: &mut RawConn, name: &str, want: &str, within: Duration) {
    let started = Instant::now();
    loop {
        if persistence_field(conn, name) == want {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{name} is not {want} after {within:?}"
        );
        sleep(Duration::from_millis(50));
    }
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Lines of `logs` that mention `needle`, each checked to fit in [`LOG_LINE_MAX`].
#[track_caller]
fn short_lines<'a>(logs: &'a str, needle: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains(needle)).collect();
    for line in &lines {
        assert!(
            line.chars().count() <= LOG_LINE_MAX,
            "a log line of {} characters:\n{line}",
            line.chars().count()
        );
    }
    lines
}

#[test]
fn unreachable_mongodb_at_start_up_is_logged_at_once_in_short_lines() {
    // Nothing listens on a port the kernel just handed out and took back.
    let uri = format!("mongodb://127.0.0.1:{}", free_port());
    // The binary under test, as common::Server picks it.
    let bin = match std::env::var_os("REDDISH_TEST_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_reddish")),
    };
    let mut child = Command::new(bin)
        .args(["--port", &free_port().to_string(), "--bind", "127.0.0.1"])
        .args(["--mongodb-uri", &uri])
        .env_remove("MONGODB_URI")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn reddish");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut attempts = Vec::new();
    while attempts.len() < 2 {
        match lines_rx.recv_timeout(Duration::from_secs(6)) {
            Ok(line) if line.contains("is not reachable") => {
                attempts.push((started.elapsed(), line))
            }
            Ok(_) => {}
            Err(e) => panic!("no attempt logged within 6 s ({e}); so far: {attempts:?}"),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    // Each attempt is reported as it fails, about a second apart (before, the first report
    // came after the driver's 5 s selection timeout, the second after 11 s).
    assert!(attempts[0].0 < Duration::from_secs(4), "{attempts:?}");
    assert!(attempts[1].0 < Duration::from_secs(6), "{attempts:?}");
    for (number, (_, line)) in attempts.iter().enumerate() {
        let expected = format!("MongoDB at {uri} is not reachable (attempt {})", number + 1);
        assert!(line.contains(&expected), "{line}");
        assert!(line.contains("Connection refused"), "{line}");
        assert!(!line.contains("Topology"), "{line}");
        assert!(line.chars().count() <= LOG_LINE_MAX, "{line}");
    }
}

/// A SecantusDB process of the test's own, on a fixed port so it can come back where Reddish
/// expects it. Killed and its files removed on drop.
struct Secantus {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Secantus {
    fn start() -> Secantus {
        let bin = common::secantusd_bin();
        let dir = std::env::temp_dir().join(unique_name("reddish_secantus"));
        std::fs::create_dir_all(&dir).expect("SecantusDB directory");
        // An explicit empty config: nothing from this machine's config files applies.
        std::fs::write(dir.join("secantusd.toml"), "").expect("SecantusDB config");
        let mut secantus = Secantus {
            bin,
            dir,
            port: free_port(),
            child: None,
        };
        secantus.run();
        secantus
    }

    fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.port)
    }

    /// Starts the process (again: same port, same data) and waits until it accepts.
    fn run(&mut self) {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .expect("SecantusDB log");
        let child = Command::new(&self.bin)
            .current_dir(&self.dir)
            .args(["--config", "secantusd.toml", "--host", "127.0.0.1"])
            .args(["--port", &self.port.to_string(), "--standalone"])
            .args(["--storage-path", "data"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| !matches!(c.try_wait(), Ok(None)));
            assert!(
                !exited && Instant::now() < deadline,
                "SecantusDB did not start:\n{}",
                std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: MongoDB gone without a word.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Secantus {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn mongodb_stopping_mid_run_shows_in_info_at_the_first_failed_write_and_recovery_is_logged() {
    let mut mongo = Secantus::start();
    let database = unique_name("status");
    let server = Server::start_with(&[
        "--mongodb-uri",
        &mongo.uri(),
        "--mongodb-database",
        &database,
    ]);
    let mut conn = server.raw();
    assert_eq!(conn.cmd(&["SET", "before", "1"]), b"+OK\r\n");
    conn.set_timeout(Duration::from_secs(30));
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
    conn.set_timeout(common::REPLY_TIMEOUT);
    assert_eq!(
        persistence_field(&mut conn, "mongodb_connection"),
        "connected"
    );
    assert_eq!(persistence_field(&mut conn, "mongodb_last_error"), "");
    assert_eq!(persistence_field(&mut conn, "mongodb_last_error_time"), "0");

    mongo.kill();
    let killed_at = unix_secs();
    assert_eq!(conn.cmd(&["SET", "during", "2"]), b"+OK\r\n");
    // The write is handed over within persist-interval-ms and fails within the driver's
    // selection timeout (1 s): INFO knows at once (before, the driver's 5 s selection
    // timeout passed first).
    wait_for_field(
        &mut conn,
        "mongodb_connection",
        "disconnected",
        Duration::from_secs(4),
    );
    let error = persistence_field(&mut conn, "mongodb_last_error");
    assert!(error.contains("Connection refused"), "{error}");
    assert!(error.len() <= 80 && !error.contains("Topology"), "{error}");
    let error_time: u64 = persistence_field(&mut conn, "mongodb_last_error_time")
        .parse()
        .expect("a Unix time");
    assert!(
        (killed_at..=unix_secs()).contains(&error_time),
        "{error_time}"
    );
    assert_eq!(
        persistence_field(&mut conn, "mongodb_last_flush_status"),
        "err"
    );
    let logs = server.logs();
    assert!(!short_lines(&logs, "failed, retrying").is_empty(), "{logs}");

    mongo.run();
    // The writer's backoff tops out at 5 s: the retry after that lands.
    wait_for_field(
        &mut conn,
        "mongodb_connection",
        "connected",
        Duration::from_secs(15),
    );
    wait_for_field(
        &mut conn,
        "mongodb_pending_keys",
        "0",
        Duration::from_secs(5),
    );
    wait_for_field(
        &mut conn,
        "mongodb_in_flight_keys",
        "0",
        Duration::from_secs(5),
    );
    assert_eq!(
        persistence_field(&mut conn, "mongodb_last_flush_status"),
        "ok"
    );
    // The last error stays, with its time: a reader can tell it is history.
    assert!(persistence_field(&mut conn, "mongodb_last_error").contains("Connection refused"));
    let logs = server.logs();
    let recoveries = short_lines(&logs, "writes succeed again");
    assert_eq!(recoveries.len(), 1, "{logs}");
    assert!(recoveries[0].contains(&mongo.uri()), "{}", recoveries[0]);
    conn.set_timeout(Duration::from_secs(30));
    assert_eq!(conn.cmd(&["SAVE"]), b"+OK\r\n");
}
