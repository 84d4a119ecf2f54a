//! The `reddish` binary: configuration -> store -> reactor, wired together.

use reddish::clock::unix_ms;
use reddish::commands::scripting::functions;
use reddish::commands::Server;
use reddish::config::Config;
use reddish::network::Reactor;
use reddish::persistence;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

#[global_allocator]
static ALLOCATOR: reddish::memory::CountingAllocator = reddish::memory::CountingAllocator;

/// jemalloc's options (its `malloc_conf`, a C string), read before `main`:
/// - one arena for every thread (and jemalloc's own for blocks of 8 MB or more). With an
///   arena per thread, values made on the MongoDB threads
///   (loaded back, or serialized for a write) leave their pages in arenas of their own, and
///   under the cold tier with a small `maxmemory` the resident size grew 7.1 MB where the
///   limit allows 6.4 (tests/tiering.rs). The reactor's small allocations still come from its
///   own thread cache, without the arena's lock;
/// - freed pages go back to the system within about a second (jemalloc's default is ten),
///   as glibc gives back large blocks at once: a second after writing a million keys, the
///   pages of the key table's earlier sizes still held 6.8 MB (scripts/bench.sh --sections
///   memory: 80.6 bytes per key resident, 73.3 with this). The background thread
///   (`jemalloc-bg-thread`) does the purging, off the reactor;
/// - the threads' caches keep freed blocks of up to 4 KB (jemalloc's default is 32 KB).
///   Larger ones go back to the arena at once, where any thread reuses them and a purge can
///   give their pages back: with the cold tier under a 4 MB `maxmemory`, values of 8-32 KB
///   dropped to MongoDB stayed in the caches of the threads that freed them, 2 MB of them
///   (tests/tiering.rs: 6.0-6.8 MB of resident growth with 32 KB, 4.1-4.2 MB with 4 KB).
#[cfg(all(feature = "jemalloc", unix))]
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &u8 = &b"narenas:1,dirty_decay_ms:1000,tcache_max:4096\0"[0];

/// The log file, opened for each record as Redis opens it for each line: a file that
/// logrotate moved away is created anew instead of growing unseen, and a relative name follows
/// `dir` when CONFIG SET moves it.
struct LogFile {
    path: String,
}

impl LogFile {
    fn open(&self) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
    }
}

impl std::io::Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // One open per record: env_logger hands over a whole formatted record at once.
        self.open()?.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log goes where Redis puts it: standard output, or `logfile` when one is set, in
/// Redis's line shape (`pid:M 07 Dec 2026 12:00:00.123 * message`, the mark `.` for debug,
/// `-` verbose, `*` notice, `#` warning), which log collectors parse. `loglevel` sets the
/// log crate's level, so CONFIG SET can change it.
fn init_logging(config: &Config) -> Result<(), String> {
    let target = if config.logfile.is_empty() {
        env_logger::Target::Stdout
    } else {
        let file = LogFile {
            path: config.logfile.clone(),
        };
        // Redis refuses to start on a log file it cannot open.
        file.open()
            .map_err(|e| format!("Can't open the log file: {e}"))?;
        env_logger::Target::Pipe(Box::new(file))
    };
    let pid = std::process::id();
    env_logger::Builder::new()
        // Reddish's own records at every level `loglevel` lets through; the libraries'
        // (the MongoDB driver, rustls, mio) only when they warn, as Redis's log holds only
        // its own lines.
        .filter_level(log::LevelFilter::Warn)
        .filter_module("reddish", log::LevelFilter::Trace)
        .format(move |out, record| {
            use std::io::Write as _;
            let mark = match record.level() {
                log::Level::Trace => '.',
                log::Level::Debug => '-',
                log::Level::Info => '*',
                log::Level::Warn | log::Level::Error => '#',
            };
            let now = reddish::process::local_time();
            // A record of several lines is several lines of the log, each with its prefix,
            // as Redis logs them.
            for line in record.args().to_string().lines() {
                writeln!(out, "{pid}:M {now} {mark} {line}")?;
            }
            Ok(())
        })
        .target(target)
        .init();
    log::set_max_level(config.log_filter());
    reddish::memory::set_background_thread(config.jemalloc_bg_thread);
    Ok(())
}

fn main() -> ExitCode {
    reddish::process::use_one_malloc_arena();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("Usage: reddish [/path/to/reddish.conf] [--name value ...]\n\nExamples:\n  reddish --port 6380 --bind 0.0.0.0\n  reddish reddish.conf --loglevel debug");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!(
            "Reddish v={} (Redis {} compatible)",
            env!("CARGO_PKG_VERSION"),
            reddish::commands::server::REDIS_VERSION
        );
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("*** FATAL CONFIG ERROR *** {e}");
            return ExitCode::FAILURE;
        }
    };
    // Redis works in `dir`: relative file names in the configuration are found from there.
    if let Err(e) = std::env::set_current_dir(&config.dir) {
        eprintln!(
            "*** FATAL CONFIG ERROR *** can't chdir to '{}': {}",
            config.dir,
            reddish::process::os_error_text(&e)
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = init_logging(&config) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = reddish::commands::table::rename_commands(&config.rename_commands) {
        eprintln!("*** FATAL CONFIG ERROR *** {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = reddish::process::set_oom_score_adj(config.oom_score_target()) {
        log::warn!("{e}");
    }
    // Redis's `used_memory_startup` is what the server holds before it loads data: here, what
    // it holds once ready to serve, less what loading the data took.
    let before_loading = reddish::memory::allocated();
    // Everything is loaded before the server listens: no client sees a partial data set.
    let mut loaded = match persistence::load(&config) {
        Ok(loaded) => loaded,
        Err(e) => {
            log::error!("{e}");
            eprintln!("*** FATAL: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut keyspace = loaded.take_keyspace();
    let mut imported_functions = Vec::new();
    if !config.import_rdb.is_empty() {
        // Imported before persistence starts: with it on, the imported keys are the first
        // changes the writer stores; a refused file stops the server before anything is
        // served or written.
        keyspace.set_clock(unix_ms());
        let limits = config.encoding_limits();
        match reddish::import::import_rdb(&config.import_rdb, &mut keyspace, &limits) {
            Ok(summary) => imported_functions = summary.functions,
            Err(e) => {
                log::error!("{e}");
                eprintln!("*** FATAL: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let loading = reddish::memory::allocated().saturating_sub(before_loading);
    let mut server = Server::new(config, unix_ms());
    if let Err(e) = reddish::commands::acl::handlers::load_at_startup(&mut server) {
        log::error!("{e}");
        eprintln!("*** FATAL: {e}");
        return ExitCode::FAILURE;
    }
    server.used_memory = reddish::memory::allocated;
    server.round_trip = persistence::round_trip;
    match reddish::lazyfree::LazyFree::spawn() {
        Ok(lazy) => server.lazyfree = Some(lazy),
        Err(e) => {
            log::warn!("cannot start the lazyfree thread ({e}): large values are freed inline")
        }
    }
    // The stored libraries are loaded before persistence starts (they are what it holds), the
    // imported ones after (so it stores them); a library that does not load stops the server
    // as a bad key would stop Redis's load.
    let stored_functions = loaded.take_function_codes();
    if let Err(e) = functions::load_libraries(&mut server, stored_functions, true) {
        let e = e.reply_text();
        log::error!("loading the function libraries stored in MongoDB failed: {e}");
        eprintln!("*** FATAL: loading the function libraries stored in MongoDB failed: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = persistence::spawn(&mut loaded, &mut server) {
        log::error!("{e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = functions::load_libraries(&mut server, imported_functions, true) {
        let e = e.reply_text();
        log::error!("loading the function libraries of the RDB file failed: {e}");
        eprintln!("*** FATAL: loading the function libraries of the RDB file failed: {e}");
        return ExitCode::FAILURE;
    }
    let storage = match &server.persistence {
        Some(handle) => format!(
            "data is persisted to MongoDB database '{}'",
            handle.status().database
        ),
        None => "data lives in memory only (no mongodb-uri set)".to_string(),
    };
    server.startup_memory = reddish::memory::allocated().saturating_sub(loading) as u64;
    // Read before `bind` takes the server: the startup line names the socket too.
    let unix_socket = server.config.unixsocket.clone();
    let reactor = match Reactor::bind(keyspace, server) {
        Ok(reactor) => reactor,
        Err(e) => {
            // Test harnesses read this line to try another port, as Redis's does.
            log::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut addrs: Vec<String> = reactor
        .local_addrs()
        .iter()
        .map(|a| a.to_string())
        .collect();
    if cfg!(unix) {
        addrs.extend(unix_socket.map(|path| format!("unix socket {path}")));
    }
    log::info!(
        "Reddish {} (Redis {} compatible) pid={} listening on {}; {storage}",
        env!("CARGO_PKG_VERSION"),
        reddish::commands::server::REDIS_VERSION,
        std::process::id(),
        addrs.join(", ")
    );
    // Supervisors and test harnesses wait for these two lines (Redis's own test suite for
    // ` PID: <pid>`, then `Ready to accept connections`).
    log::info!(
        "Reddish {} (Redis {} compatible) started, PID: {}, port: {}",
        env!("CARGO_PKG_VERSION"),
        reddish::commands::server::REDIS_VERSION,
        std::process::id(),
        reactor.local_addrs().first().map_or(0, |a| a.port())
    );
    let stop = reactor.stop_flag();
    let wake = reactor.wake_handle();
    let signalled = AtomicBool::new(false);
    if let Err(e) = reddish::signals::install(move || {
        // A second signal while the first shutdown is still saving exits at once.
        if signalled.swap(true, Ordering::Relaxed) {
            eprintln!("Second stop signal: exiting now, without waiting for the save to finish.");
            std::process::exit(1);
        }
        stop.store(true, Ordering::Relaxed);
        wake.wake();
    }) {
        log::warn!("could not install the signal handlers: {e}");
    }
    log::info!("Ready to accept connections");
    let result = reactor.run();
    reddish::signals::mark_stopped();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("event loop failed: {e}");
            ExitCode::FAILURE
        }
    }
}
