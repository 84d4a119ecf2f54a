//! The reactor: one thread, one `mio::Poll`, every socket. Commands run inline on the store.
//!
//! A turn of the loop: poll; accept; read each readable client until it would block (or its
//! fair share is used) and run every complete command in its buffer; then, before polling
//! again, write every pending reply directly (WRITABLE interest is registered only for the
//! output a socket could not take), run timed work, and let persistence hand changes over
//! (through the one handle it installed in [`Server`]; this layer knows nothing more of it).

use super::client::{is_disconnect, Blocked, Client, InputView, ReadOutcome, Resized};
use super::listeners::{
    tcp_listener_slot, tls_listener_slot, SharedListeners, Stream, TcpListeners, UNIX_LISTENER,
};
use super::tls::TlsStream;
use crate::clock::unix_ms;
use crate::commands::blocking::{awaited_type, write_timeout_reply, BlockRequest, TimeoutReply};
use crate::commands::pubsub::append_message;
use crate::commands::{self, ClientDirectory, ClientState, ConnStats, Ctx, Server, Shutdown};
use crate::config::OutputLimit;
use crate::protocol::ReplyBuf;
use crate::store::{FastMap, Key, Keyspace};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use slab::Slab;
use socket2::{SockRef, TcpKeepalive};
use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAKER: Token = Token(usize::MAX);

/// Most commands run for one client before others get a turn.
const COMMANDS_PER_TURN: usize = 1024;
/// Most bytes read from one client before others get a turn.
const READ_BUDGET: usize = 1024 * 1024;
/// Most reply bytes held for a connection that has not authenticated (Redis closes it past this).
const UNAUTHENTICATED_OUTPUT_LIMIT: u64 = 1024;

/// Wakes the reactor from another thread.
#[derive(Clone)]
pub struct WakeHandle(Arc<Waker>);

impl WakeHandle {
    pub fn wake(&self) {
        if let Err(e) = self.0.wake() {
            log::warn!("could not wake the reactor: {e}");
        }
    }
}

/// The event loop and everything it owns.
pub struct Reactor {
    poll: Poll,
    /// The TCP listeners, shared with the handle CONFIG SET moves them through.
    tcp: Rc<RefCell<TcpListeners>>,
    #[cfg(unix)]
    unix: Option<mio::net::UnixListener>,
    /// The listeners of `tls-port` and the TLS context their connections get (`tls-port` 0:
    /// none).
    tls: Option<TlsListeners>,
    waker: Arc<Waker>,
    clients: Slab<Option<Box<Client>>>,
    ks: Keyspace,
    server: Server,
    next_client_id: u64,
    /// Clients with replies to write before the next poll.
    pending_write: Vec<usize>,
    /// Clients that stopped early (fairness) and must be served again without waiting.
    pending_input: Vec<usize>,
    stop_requested: Arc<AtomicBool>,
    rng: SmallRng,
    /// Clients blocked on each (database, key), longest-waiting first.
    waiting: FastMap<(usize, Key), VecDeque<usize>>,
    /// (deadline in Unix ms, client) of blocked clients with a timeout.
    deadlines: BTreeSet<(u64, usize)>,
    /// An accept failed with something other than WouldBlock: on Windows the listener is only
    /// re-armed by a WouldBlock, so accepting is retried from the timed work.
    accept_retry: bool,
    /// Client id -> slab token, to deliver pub/sub messages and act on CLIENT KILL.
    tokens: FastMap<u64, usize>,
    /// Clients whose next command waits for CLIENT PAUSE to end, in arrival order.
    postponed: Vec<usize>,
    /// `maxmemory-clients` in bytes as last applied (0: off, nothing is counted).
    client_memory_limit: usize,
    /// What the clients hold together, while `client_memory_limit` is on: the sum of their
    /// `accounted_memory`, kept as each one's figure changes.
    clients_memory: usize,
    /// When (unix ms) "Over client maxmemory" was last logged. Redis logs it at every event
    /// loop turn while protected clients keep the total over; busy-polling turns a thousand
    /// times after each event, so here it is logged at most once a second.
    over_client_limit_logged_ms: u64,
    /// Where the timed per-client work goes on next (a slab token).
    client_cron_cursor: usize,
    /// Gives freed heap pages back to the system from the timed work.
    free_memory: crate::process::FreeMemoryReleaser,
}

/// The TLS port's listeners and the context built from the `tls-*` settings at start-up.
struct TlsListeners {
    listeners: TcpListeners,
    config: Arc<rustls::ServerConfig>,
    /// The settings `config` was built from (see [`super::tls::settings`]).
    built_from: Vec<String>,
}

impl TlsListeners {
    /// Builds the TLS context anew when CONFIG SET changed a setting it was built from; the
    /// old one stays (and the new settings are tried again at the next connection) when the
    /// new ones do not make one.
    fn refresh(&mut self, cfg: &crate::config::Config) {
        let now = super::tls::settings(cfg);
        if self.built_from.iter().map(String::as_str).eq(now) {
            return;
        }
        match super::tls::server_config(cfg) {
            Ok(config) => {
                self.config = config;
                self.built_from = now.iter().map(|s| s.to_string()).collect();
            }
            Err(e) => log::warn!("Failed to configure TLS, the previous settings stay: {e}"),
        }
    }
}

/// A listener, as an event's token names it.
#[derive(Clone, Copy)]
enum Listener {
    Unix,
    Tcp(usize),
    Tls(usize),
}

/// The listener a token belongs to, if it is one.
#[inline]
fn listener_of(token: Token) -> Option<Listener> {
    if token == UNIX_LISTENER {
        return Some(Listener::Unix);
    }
    if let Some(slot) = tcp_listener_slot(token) {
        return Some(Listener::Tcp(slot));
    }
    tls_listener_slot(token).map(Listener::Tls)
}

/// Socket options for an accepted connection: no Nagle delay, and keepalive so idle links
/// through NAT (Windows/WSL) are not silently dropped.
fn tune_socket(stream: &TcpStream, keepalive_secs: u64) {
    let sock = SockRef::from(stream);
    if let Err(e) = sock.set_tcp_nodelay(true) {
        log::debug!("TCP_NODELAY: {e}");
    }
    if keepalive_secs > 0 {
        let period = Duration::from_secs(keepalive_secs);
        let keepalive = TcpKeepalive::new().with_time(period);
        // Like Redis: probes every third of the period once the link went idle.
        #[cfg(any(target_os = "linux", windows, target_os = "macos"))]
        let keepalive = keepalive.with_interval(Duration::from_secs((keepalive_secs / 3).max(1)));
        if let Err(e) = sock.set_tcp_keepalive(&keepalive) {
            log::debug!("TCP keepalive: {e}");
        }
    }
}

/// What `client` counts for `maxmemory-clients`: nothing while it receives an RDB snapshot,
/// as a replica counts nothing in Redis.
fn counted_client_memory(client: &Client) -> usize {
    if client.state.snapshot.sending {
        0
    } else {
        client.memory()
    }
}

/// Whether client eviction may close `client`: not under CLIENT NO-EVICT, and not while it
/// receives an RDB snapshot (Redis counts that connection as a replica, which is never
/// evicted).
fn evictable(client: &Client) -> bool {
    !client.state.no_evict && !client.state.snapshot.sending
}

impl Reactor {
    /// Binds the configured addresses and prepares the loop.
    pub fn bind(ks: Keyspace, mut server: Server) -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        if let Some(persistence) = server.persistence.as_mut() {
            let wake = WakeHandle(waker.clone());
            persistence.set_wake(Box::new(move || wake.wake()));
        }
        let cfg = &server.config;
        // The certificates are read before any port listens, as Redis configures TLS before
        // it listens anywhere.
        let tls_config = if cfg.tls_port != 0 {
            Some(super::tls::server_config(cfg).map_err(|e| {
                log::warn!("{e}");
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{e}\nFailed to configure TLS. Check logs for more info."),
                )
            })?)
        } else {
            None
        };
        let tls = if let Some(config) = tls_config {
            let listeners = TcpListeners::bind_tls(
                poll.registry().try_clone()?,
                &cfg.bind,
                cfg.tls_port,
                cfg.tcp_backlog,
            )
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "Failed listening on port {} (tls), aborting. ({e})",
                        cfg.tls_port
                    ),
                )
            })?;
            let built_from = super::tls::settings(cfg)
                .iter()
                .map(|s| s.to_string())
                .collect();
            Some(TlsListeners {
                listeners,
                config,
                built_from,
            })
        } else {
            None
        };
        // The plain port listens after the TLS port: a client (or test harness) that finds it
        // accepting finds the TLS port accepting too.
        let tcp = TcpListeners::bind(
            poll.registry().try_clone()?,
            &cfg.bind,
            cfg.port,
            cfg.tcp_backlog,
        )
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "Failed listening on port {} (tcp), aborting. ({e})",
                    cfg.port
                ),
            )
        })?;
        // The Unix socket comes after the ports, as in Redis: binding it replaces a socket file
        // left at its path, which a server that cannot take its port must not do.
        #[cfg(unix)]
        let unix = match &cfg.unixsocket {
            Some(path) => {
                let mut listener =
                    super::listeners::bind_unix(path, cfg.unixsocketperm).map_err(|e| {
                        io::Error::new(e.kind(), format!("Failed opening Unix socket: {e}"))
                    })?;
                poll.registry()
                    .register(&mut listener, UNIX_LISTENER, Interest::READABLE)?;
                Some(listener)
            }
            None => None,
        };
        let listens_on_tls = tls
            .as_ref()
            .is_some_and(|tls| !tls.listeners.local_addrs().is_empty());
        #[cfg(unix)]
        let listens_on_unix = unix.is_some();
        #[cfg(not(unix))]
        let listens_on_unix = {
            if cfg.unixsocket.is_some() {
                log::warn!("unixsocket is ignored: this system has no Unix sockets");
            }
            false
        };
        if tcp.local_addrs().is_empty() && !listens_on_unix && !listens_on_tls {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "Configured to not listen anywhere, exiting.",
            ));
        }
        server.tcp_port = cfg.port;
        let tcp = Rc::new(RefCell::new(tcp));
        server.listeners = Some(Box::new(SharedListeners(tcp.clone())));
        server.remotes = Some(Box::new(super::migrate::MigrateSockets::default()));
        let mut ks = ks;
        commands::sync_store_settings(&mut ks, &server.config);
        Ok(Reactor {
            poll,
            tcp,
            #[cfg(unix)]
            unix,
            tls,
            waker,
            clients: Slab::new(),
            ks,
            server,
            next_client_id: 1,
            pending_write: Vec::new(),
            pending_input: Vec::new(),
            stop_requested: Arc::new(AtomicBool::new(false)),
            rng: SmallRng::from_entropy(),
            waiting: FastMap::default(),
            deadlines: BTreeSet::new(),
            accept_retry: false,
            tokens: FastMap::default(),
            postponed: Vec::new(),
            client_memory_limit: 0,
            free_memory: Default::default(),
            clients_memory: 0,
            over_client_limit_logged_ms: 0,
            client_cron_cursor: 0,
        })
    }

    /// The TCP addresses listened on, the plain ones first, then the TLS ones.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        let mut addrs = self
            .tcp
            .try_borrow()
            .map(|tcp| tcp.local_addrs())
            .unwrap_or_default();
        if let Some(tls) = &self.tls {
            addrs.extend(tls.listeners.local_addrs());
        }
        addrs
    }

    /// A handle other threads use to wake the loop.
    pub fn wake_handle(&self) -> WakeHandle {
        WakeHandle(self.waker.clone())
    }

    /// A flag that stops the loop when set (signals), followed by a wake.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop_requested.clone()
    }

    /// Runs until SHUTDOWN or a stop request; then lets persistence finish.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut idle_polls: u64 = 0;
        let mut next_cron = Instant::now();
        loop {
            let busy_poll = self.server.config.busy_poll;
            let timeout = if !self.pending_input.is_empty()
                || idle_polls < busy_poll
                || self.server.eviction.is_running()
            {
                Duration::ZERO
            } else {
                let mut wait = next_cron.saturating_duration_since(Instant::now());
                if let Some(&(deadline, _)) = self.deadlines.first() {
                    // A deadline times out once the clock is past it (see `time_out_blocked`).
                    let until = Duration::from_millis((deadline + 1).saturating_sub(unix_ms()));
                    wait = wait.min(until);
                }
                if let Some(pause) = self.server.pause.filter(|_| !self.postponed.is_empty()) {
                    let until = Duration::from_millis(pause.until_ms.saturating_sub(unix_ms()));
                    wait = wait.min(until);
                }
                wait
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            if events.is_empty() {
                idle_polls = idle_polls.saturating_add(1);
            } else {
                idle_polls = 0;
            }
            self.ks.set_clock(unix_ms());
            let mut woken = false;
            for event in events.iter() {
                match event.token() {
                    WAKER => woken = true,
                    token if listener_of(token).is_some() => {
                        if let Some(listener) = listener_of(token) {
                            self.accept(listener)
                        }
                    }
                    Token(t) => {
                        if event.is_writable() {
                            self.flush_client(t);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.serve_client(t);
                        }
                    }
                }
            }
            if !self.postponed.is_empty() && self.server.pause_in_force(unix_ms()).is_none() {
                self.resume_postponed();
            }
            for token in std::mem::take(&mut self.pending_input) {
                self.serve_client(token);
            }
            self.time_out_blocked();
            if woken {
                commands::persistence::on_wake(&mut self.ks, &mut self.server);
                // Cold values read back put their waiting clients in line.
                if self.ks.has_ready() {
                    self.serve_ready_keys();
                }
            }
            if Instant::now() >= next_cron {
                // DEBUG PAUSE-CRON stops the timed work, as it stops Redis's serverCron.
                if !self.server.debug.cron_paused {
                    self.cron();
                    if self.server.shutdown_asap && self.server.shutdown.is_none() {
                        self.server.shutdown = Some(Shutdown::Save);
                    }
                }
                let hz = self.server.config.hz.clamp(1, 500);
                next_cron = Instant::now() + Duration::from_millis(1000 / hz);
            }
            if self.server.eviction.is_running() {
                commands::eviction::continue_evicting(&mut self.ks, &mut self.server);
                if !self.server.outbox.is_empty() {
                    self.deliver(None);
                }
            }
            if self.server.tracking.is_on() {
                self.tracking_before_sleep();
            }
            self.apply_client_memory_limit();
            if self.server.shutdown.is_some() {
                // No new connection once a client can see the shutdown (its connection
                // closing, below), as with Redis, which exits at once.
                self.tcp.borrow_mut().close_all();
                if let Some(tls) = self.tls.as_mut() {
                    tls.listeners.close_all();
                }
                #[cfg(unix)]
                drop(self.unix.take());
            }
            self.flush_pending();
            commands::persistence::before_sleep(&mut self.ks, &mut self.server);
            if self.stop_requested.swap(false, Ordering::Relaxed) && !self.server.shutdown_asap {
                log::info!("Received a stop signal, scheduling shutdown...");
                self.server.shutdown_asap = true;
                next_cron = Instant::now();
            }
            if let Some(mode) = self.server.shutdown {
                log::info!("User requested shutdown...");
                self.flush_pending();
                commands::persistence::shutdown(&mut self.ks, &mut self.server, mode);
                log::info!("Reddish is now ready to exit, bye bye...");
                return Ok(());
            }
        }
    }

    /// The connections, borrowed apart from the keyspace and the server state.
    fn split(&mut self) -> (Net<'_>, &mut Keyspace, &mut Server) {
        let net = Net {
            poll: &mut self.poll,
            tcp: &self.tcp,
            #[cfg(unix)]
            unix: &self.unix,
            tls: &self.tls,
            waker: &self.waker,
            clients: &mut self.clients,
            tokens: &mut self.tokens,
            next_client_id: &mut self.next_client_id,
            pending_write: &mut self.pending_write,
            pending_input: &mut self.pending_input,
            accept_retry: &mut self.accept_retry,
            client_memory_limit: self.client_memory_limit,
            clients_memory: &mut self.clients_memory,
        };
        (net, &mut self.ks, &mut self.server)
    }

    /// Accepts every pending connection of a listener (see [`Net::accept`]).
    fn accept(&mut self, listener: Listener) {
        if let (Listener::Tls(_), Some(tls)) = (listener, self.tls.as_mut()) {
            tls.refresh(&self.server.config);
        }
        let (mut net, ks, server) = self.split();
        net.accept(ks, server, listener);
    }

    /// Reads what a client sent and runs its complete commands.
    fn serve_client(&mut self, token: usize) {
        let Some(mut client) = self.clients.get_mut(token).and_then(Option::take) else {
            return;
        };
        let mut close = false;
        let runnable = client.blocked.is_none() && !client.postponed;
        match client.read_socket(READ_BUDGET, runnable) {
            Ok((outcome, bytes)) => {
                self.server.stats.total_net_input_bytes += bytes as u64;
                self.server.stats.total_reads_processed += 1;
                match outcome {
                    ReadOutcome::Drained => {}
                    ReadOutcome::Budget => self.pending_input.push(token),
                    ReadOutcome::Closed => close = true,
                }
            }
            Err(e) => {
                if is_disconnect(&e) {
                    log::debug!("client {} disconnected: {e}", client.state.addr);
                } else {
                    log::warn!("reading from client {}: {e}", client.state.addr);
                }
                close = true;
            }
        }
        // Like Redis, a client whose input took all clients over `maxmemory-clients` may be
        // closed before its command runs.
        if !close && self.client_memory_limit != 0 {
            self.account_live(&mut client);
            close = self.evict_clients(Some((token, &client)));
        }
        if !close && client.blocked.is_none() && !client.postponed {
            client.state.last_interaction_ms = self.ks.now_ms();
            // CONFIG SET proto-max-bulk-len applies to open connections too.
            client
                .decoder
                .set_max_bulk_len(self.server.config.proto_max_bulk_len as usize);
            let limit =
                usize::try_from(self.server.config.client_query_buffer_limit).unwrap_or(usize::MAX);
            if client.first_request_over(limit) {
                log::warn!(
                    "Closing client that reached max query buffer length: {}",
                    client.state.addr
                );
                self.close(token, client);
                return;
            }
            self.run_commands(token, &mut client);
            // The rest of a request that arrived in part comes sooner from a Nagle sender
            // when what arrived is acknowledged now: without it, 40 ms (see
            // Stream::quick_ack). Input left after the commands ran is such a request (or
            // more commands than one turn runs, where the ACK costs one setsockopt).
            if !client.pending_input().is_empty() {
                client.stream.quick_ack();
            }
            if client.pending_input().len() as u64 > self.server.config.client_query_buffer_limit {
                log::warn!(
                    "Closing client that reached max query buffer length: {}",
                    client.state.addr
                );
                close = true;
            }
            if !client.out.is_empty() && self.over_output_limit(&mut client) {
                client.close_asap = true;
            }
        }
        close |= client.close_asap;
        // The output limit goes first: a client it closes frees its memory without anyone
        // being evicted for it.
        if !close && self.client_memory_limit != 0 {
            self.account_live(&mut client);
            close = self.evict_clients(Some((token, &client)));
        }
        if close {
            // Replies already produced are lost with the peer; nothing else to do.
            self.close(token, client);
            return;
        }
        self.queue_write(token, &mut client);
        self.clients[token] = Some(client);
    }

    /// Schedules a client's output to be written before the loop sleeps.
    fn queue_write(&mut self, token: usize, client: &mut Client) {
        if client.has_pending_output() && !client.write_queued {
            client.write_queued = true;
            self.pending_write.push(token);
        }
    }

    fn run_commands(&mut self, token: usize, client: &mut Client) {
        let mut ran = 0;
        loop {
            if client.state.close_after_reply || self.server.shutdown.is_some() {
                return;
            }
            if ran >= COMMANDS_PER_TURN {
                if !client.pending_input().is_empty() {
                    self.pending_input.push(token);
                }
                return;
            }
            let (mut net, ks, server) = self.split();
            let mut blocked_argv = None;
            let mut postpone = false;
            let step = client.run_next(|argv, out, state, view, stream| {
                if server.pause.is_some() {
                    if commands::must_wait(server, state, argv, ks.now_ms()) {
                        postpone = true;
                        return false;
                    }
                    ks.keep_expired_keys(server.pause_in_force(ks.now_ms()).is_some());
                }
                let directory = LiveDirectory {
                    net: RefCell::new(&mut net),
                    running: view,
                    stream: RefCell::new(stream),
                };
                let mut ctx = Ctx {
                    ks,
                    server,
                    client: state,
                    clients: &directory,
                    out,
                };
                commands::execute(&mut ctx, argv);
                if let Some(request) = state.block.as_mut() {
                    blocked_argv = Some(
                        request
                            .rerun
                            .take()
                            .unwrap_or_else(|| argv.iter().map(|a| a.to_vec()).collect()),
                    );
                }
                true
            });
            match step {
                Ok(true) if postpone => {
                    client.postponed = true;
                    self.server.stats.paused_clients += 1;
                    self.postponed.push(token);
                    return;
                }
                Ok(true) => {
                    ran += 1;
                    if let Some(argv) = blocked_argv {
                        self.park(token, client, argv);
                        if !self.server.outbox.is_empty() {
                            self.deliver(Some(client));
                        }
                        return;
                    }
                    if self.ks.has_ready() {
                        self.serve_ready_keys();
                    }
                    if !self.server.outbox.is_empty() {
                        // The sender's reply goes out first (as in Redis), so a publisher
                        // waiting for it is not delayed by the fan-out writes.
                        self.queue_write(token, client);
                        self.deliver(Some(client));
                        if client.close_asap {
                            return;
                        }
                    }
                }
                Ok(false) => return,
                Err(e) => {
                    log::debug!("protocol error from {}: {e}", client.state.addr);
                    client.out.error(e.reply_text());
                    client.state.close_after_reply = true;
                    return;
                }
            }
        }
    }

    /// Parks a client whose command asked to block.
    fn park(&mut self, token: usize, client: &mut Client, argv: Vec<Vec<u8>>) {
        let Some(request) = client.state.block.take() else {
            return;
        };
        // A command waiting for cold values waits for any value (or none) to be back.
        let awaited_type = match request.on_timeout {
            TimeoutReply::ColdValue => None,
            TimeoutReply::NullArray => argv.first().and_then(|name| awaited_type(name)),
        };
        for key in &request.keys {
            self.waiting
                .entry((request.db, key.clone()))
                .or_default()
                .push_back(token);
            self.ks.add_waiter(request.db, key, awaited_type);
        }
        if let Some(deadline) = request.deadline {
            self.deadlines.insert((deadline, token));
        }
        client.blocked = Some(Blocked {
            request,
            argv,
            awaited_type,
        });
        self.server.stats.blocked_clients += 1;
    }

    /// Releases a parked client from every key it waited on.
    fn unpark(&mut self, token: usize, client: &mut Client) -> Option<Blocked> {
        let blocked = client.blocked.take()?;
        let db = blocked.request.db;
        for key in &blocked.request.keys {
            let slot = (db, key.clone());
            if let Some(queue) = self.waiting.get_mut(&slot) {
                queue.retain(|&t| t != token);
                if queue.is_empty() {
                    self.waiting.remove(&slot);
                }
            }
            self.ks.remove_waiter(db, key, blocked.awaited_type);
        }
        if let Some(deadline) = blocked.request.deadline {
            self.deadlines.remove(&(deadline, token));
        }
        self.server.stats.blocked_clients -= 1;
        Some(blocked)
    }

    /// Serves the ready keys in the order they became ready, as Redis does: for each key, the
    /// clients waiting on it for its type run their command again, longest-waiting first,
    /// taking from that key, until it is gone. Keys made ready meanwhile (a BLMOVE creating
    /// its destination) join the end of the line.
    fn serve_ready_keys(&mut self) {
        while let Some(slot) = self.ks.pop_ready() {
            let Some(queue) = self.waiting.get(&slot) else {
                continue;
            };
            let in_line: Vec<usize> = queue.iter().copied().collect();
            let (db, key) = slot;
            for token in in_line {
                let held = self.ks.db(db).lookup_write(&key).map(|v| v.type_name());
                let blocked = self
                    .clients
                    .get(token)
                    .and_then(Option::as_ref)
                    .and_then(|c| c.blocked.as_ref());
                let awaited = blocked.and_then(|b| b.awaited_type);
                let for_load =
                    blocked.is_some_and(|b| b.request.on_timeout == TimeoutReply::ColdValue);
                // XREADGROUP is told when its stream is deleted or replaced, as in Redis.
                let told_of_loss = blocked.is_some_and(|b| {
                    b.argv
                        .first()
                        .is_some_and(|name| name.eq_ignore_ascii_case(b"xreadgroup"))
                });
                match held {
                    _ if for_load => {}
                    None if told_of_loss => {}
                    None => continue,
                    Some(held) if awaited.is_some_and(|t| t != held) && !told_of_loss => continue,
                    Some(_) => {}
                }
                self.rerun_blocked(token, &key);
            }
        }
    }

    /// Runs a parked client's command again to take from `ready`, the key it is served
    /// from; it stays parked (same place, same deadline) if the command would block again.
    fn rerun_blocked(&mut self, token: usize, ready: &Key) {
        let Some(mut client) = self.clients.get_mut(token).and_then(Option::take) else {
            return;
        };
        if let Some(blocked) = client.blocked.as_ref() {
            let argv: Vec<&[u8]> = blocked.argv.iter().map(Vec::as_slice).collect();
            let directory = Directory {
                clients: &self.clients,
                tokens: &self.tokens,
                running: None,
            };
            client.state.served_key = Some(ready.clone());
            let mut ctx = Ctx {
                ks: &mut self.ks,
                server: &mut self.server,
                client: &mut client.state,
                clients: &directory,
                out: &mut client.out,
            };
            commands::execute(&mut ctx, &argv);
            client.state.served_key = None;
            match client.state.block.take() {
                None => {
                    self.unpark(token, &mut client);
                    self.queue_write(token, &mut client);
                    // Commands pipelined behind the blocking one run now.
                    self.pending_input.push(token);
                }
                Some(again) if again.on_timeout == TimeoutReply::ColdValue => {
                    self.repark_for_values(token, &mut client, again);
                }
                // A blocking command that would block again keeps its place and deadline.
                Some(_) => {}
            }
        }
        self.clients[token] = Some(client);
    }

    /// A command that waited for cold values found others cold when it ran again (dropped
    /// while it waited, or named only now): it waits for those too, and keeps waiting on the
    /// keys already back, which pins their values (the cold tier never drops a waited key),
    /// so each round brings it closer to running instead of trading one key for another.
    fn repark_for_values(&mut self, token: usize, client: &mut Client, mut again: BlockRequest) {
        let Some(before) = self.unpark(token, client) else {
            return;
        };
        for key in before.request.keys {
            if !again.keys.contains(&key) {
                again.keys.push(key);
            }
        }
        // The first deadline holds: a command does not wait longer for being re-run.
        again.deadline = before.request.deadline.or(again.deadline);
        client.state.block = Some(again);
        self.park(token, client, before.argv);
    }

    /// Answers parked clients whose deadline passed: once the clock (whole milliseconds) is
    /// past it, as Redis's `timeout < now`, so that no client waits less than its timeout.
    fn time_out_blocked(&mut self) {
        let now = unix_ms();
        while let Some(&(deadline, token)) = self.deadlines.first() {
            if deadline >= now {
                break;
            }
            self.deadlines.pop_first();
            let Some(mut client) = self.clients.get_mut(token).and_then(Option::take) else {
                continue;
            };
            if let Some(blocked) = self.unpark(token, &mut client) {
                self.write_timeout(&mut client, &blocked);
                commands::stats::record_unblocked(&mut self.server, &blocked.argv, false);
                self.queue_write(token, &mut client);
                self.pending_input.push(token);
            }
            self.clients[token] = Some(client);
        }
    }

    /// Delivers what the last command left in the outbox: pub/sub messages and MONITOR lines
    /// into the receivers' output buffers (closing a receiver over its output limit), CLIENT
    /// KILL and CLIENT UNBLOCK. `current` is the client whose command ran, which is out of the
    /// slab meanwhile.
    fn deliver(&mut self, mut current: Option<&mut Client>) {
        let mut outbox = std::mem::take(&mut self.server.outbox);
        for (id, bytes, push) in outbox.deliveries() {
            // Pushes reach a connection that asked for no replies (CLIENT REPLY OFF), as in
            // Redis 7.0.15; other messages (MONITOR lines) do not.
            // A connection sending a snapshot gets nothing more: it closes once the file is
            // out, and what was added would grow its unbounded buffer.
            let silenced = |c: &Client| {
                c.state.snapshot.sending
                    || (!push && c.state.reply_mode == commands::ReplyMode::Off)
            };
            if let Some(client) = current.as_deref_mut().filter(|c| c.state.id == id) {
                if !client.close_asap && !silenced(client) {
                    append_message(&mut client.out, bytes, push);
                    if self.over_output_limit(client) {
                        client.close_asap = true;
                    }
                }
                continue;
            }
            let Some(&token) = self.tokens.get(&id) else {
                continue;
            };
            let Some(mut client) = self.clients.get_mut(token).and_then(Option::take) else {
                continue;
            };
            if !silenced(&client) {
                append_message(&mut client.out, bytes, push);
            }
            if self.over_output_limit(&mut client) {
                self.close(token, client);
                continue;
            }
            self.account_live(&mut client);
            self.queue_write(token, &mut client);
            self.clients[token] = Some(client);
        }
        for &id in &outbox.kills {
            if let Some(&token) = self.tokens.get(&id) {
                if let Some(client) = self.clients.get_mut(token).and_then(Option::take) {
                    log::debug!("killed client {} (CLIENT KILL)", client.state.addr);
                    self.close(token, client);
                }
            }
        }
        for &(id, with_error) in &outbox.unblocks {
            self.unblock(id, with_error);
        }
        outbox.clear();
        self.server.outbox = outbox;
    }

    /// The reply of a parked command whose deadline passed: a blocking command's own, or
    /// `-TRYAGAIN` for one that waited for cold values.
    fn write_timeout(&mut self, client: &mut Client, blocked: &Blocked) {
        match blocked.request.on_timeout {
            TimeoutReply::ColdValue => {
                let text = commands::tiering::timeout_text(&self.ks, &blocked.request);
                self.server.tiering.timeouts += 1;
                commands::stats::record_error_reply(&mut self.server, &text);
                client.out.error(&text);
            }
            on_timeout => write_timeout_reply(&mut client.out, on_timeout),
        }
    }

    /// CLIENT UNBLOCK: answers a parked client as if it timed out, or with an error.
    fn unblock(&mut self, id: u64, with_error: bool) {
        let Some(&token) = self.tokens.get(&id) else {
            return;
        };
        let Some(mut client) = self.clients.get_mut(token).and_then(Option::take) else {
            return;
        };
        if let Some(blocked) = self.unpark(token, &mut client) {
            if with_error {
                let text = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
                client.out.error(text);
                commands::stats::record_error_reply(&mut self.server, text);
            } else {
                self.write_timeout(&mut client, &blocked);
            }
            commands::stats::record_unblocked(&mut self.server, &blocked.argv, true);
            self.queue_write(token, &mut client);
            self.pending_input.push(token);
        }
        self.clients[token] = Some(client);
    }

    /// Checks `client-output-buffer-limit` for the client's class (pubsub while subscribed,
    /// else normal): true once the output reaches the hard limit, or has stayed over the soft
    /// limit longer than allowed. This bounds what a reader that stopped reading can cost.
    fn over_output_limit(&self, client: &mut Client) -> bool {
        if client.state.snapshot.sending {
            // An RDB snapshot for `redis-cli --rdb`: Redis sends it outside the reply list,
            // so no output limit cuts it short.
            return false;
        }
        let config = &self.server.config;
        let limit: OutputLimit = if client.state.is_subscriber() {
            config.output_limit_pubsub
        } else {
            config.output_limit_normal
        };
        // As in Redis, the reply buffer itself does not count, only what overflows it.
        let used = client.listed_output() as u64;
        let over = if !client.state.authenticated
            && client.out.len() as u64 > UNAUTHENTICATED_OUTPUT_LIMIT
        {
            // Redis's rule: a connection that has not authenticated may not make the server
            // hold more than this for it by not reading its replies.
            true
        } else if limit.hard_bytes > 0 && used >= limit.hard_bytes {
            true
        } else if limit.soft_bytes > 0 && used >= limit.soft_bytes {
            let now = self.ks.now_ms();
            let since = *client.soft_limit_since.get_or_insert(now);
            now.saturating_sub(since) > limit.soft_seconds * 1000
        } else {
            client.soft_limit_since = None;
            false
        };
        if over {
            log::warn!(
                "Client id={} addr={} closed for overcoming of output buffer limits.",
                client.state.id,
                client.state.addr
            );
        }
        over
    }

    /// Lets clients held by CLIENT PAUSE run their commands again, in the order they stopped.
    fn resume_postponed(&mut self) {
        self.server.pause = None;
        self.ks.keep_expired_keys(false);
        for token in std::mem::take(&mut self.postponed) {
            if let Some(Some(client)) = self.clients.get_mut(token) {
                if client.postponed {
                    client.postponed = false;
                    self.server.stats.paused_clients -= 1;
                    self.pending_input.push(token);
                }
            }
        }
    }

    /// Client-side caching's work before the loop sleeps: invalidations for changes made
    /// outside commands, and the BCAST batches of this turn.
    fn tracking_before_sleep(&mut self) {
        let directory = Directory {
            clients: &self.clients,
            tokens: &self.tokens,
            running: None,
        };
        commands::tracking::before_sleep(&mut self.ks, &mut self.server, &directory);
        if !self.server.outbox.is_empty() {
            self.deliver(None);
        }
    }

    /// Writes a client's pending output; keeps WRITABLE interest only while some remains.
    fn flush_client(&mut self, token: usize) {
        let Some(mut client) = self.clients.get_mut(token).and_then(Option::take) else {
            return;
        };
        client.write_queued = false;
        client.note_reply_peak();
        match client.write_socket() {
            Ok(written) => {
                self.server.stats.total_net_output_bytes += written as u64;
                self.server.stats.total_writes_processed += 1;
                if client.state.snapshot.sending && written > 0 {
                    self.snapshot_progress(&mut client);
                }
            }
            Err(e) => {
                if is_disconnect(&e) {
                    log::debug!("client {} disconnected: {e}", client.state.addr);
                } else {
                    log::warn!("writing to client {}: {e}", client.state.addr);
                }
                self.close(token, client);
                return;
            }
        }
        let remaining = client.has_pending_output();
        if !remaining && client.state.close_after_reply {
            self.close(token, client);
            return;
        }
        if remaining != client.writable_registered {
            let interest = if remaining {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if let Err(e) =
                self.poll
                    .registry()
                    .reregister(&mut client.stream, Token(token), interest)
            {
                log::warn!("changing interest of client {}: {e}", client.state.addr);
                self.close(token, client);
                return;
            }
            client.writable_registered = remaining;
        }
        self.clients[token] = Some(client);
    }

    /// Writes every reply produced this turn, before the loop sleeps.
    fn flush_pending(&mut self) {
        for token in std::mem::take(&mut self.pending_write) {
            self.flush_client(token);
        }
    }

    fn close(&mut self, token: usize, mut client: Box<Client>) {
        self.clients_memory -= client.accounted_memory;
        self.unpark(token, &mut client);
        if client.postponed {
            self.server.stats.paused_clients -= 1;
        }
        self.tokens.remove(&client.state.id);
        commands::client_closed(&mut self.ks, &mut self.server, &mut client.state);
        client.stream.close_notify();
        let _ = self.poll.registry().deregister(&mut client.stream);
        if self.clients.contains(token) {
            self.clients.remove(token);
        }
        self.server.stats.connected_clients = self.clients.len() as u64;
        log::debug!("closed connection {}", client.state.addr);
    }

    /// A snapshot transfer moved on: its buffer's size is counted anew in the memory kept out
    /// of `maxmemory`, and the write counts as the connection's last interaction (for
    /// `repl-timeout`).
    fn snapshot_progress(&mut self, client: &mut Client) {
        let now = client.out.capacity();
        let snapshot = &mut client.state.snapshot;
        self.server.snapshot_memory =
            self.server.snapshot_memory - snapshot.queued as u64 + now as u64;
        snapshot.queued = now;
        client.state.last_interaction_ms = self.ks.now_ms();
    }

    /// Counts a client's memory anew in the total for `maxmemory-clients`, while that is on.
    /// O(1) (but for a parked command's arguments).
    fn account(&mut self, client: &mut Client) {
        if self.client_memory_limit == 0 {
            return;
        }
        let now = counted_client_memory(client);
        self.clients_memory = self.clients_memory - client.accounted_memory + now;
        client.accounted_memory = now;
    }

    /// [`Self::account`] as a client's buffers change: as in Redis, a client that may not be
    /// evicted (CLIENT NO-EVICT) is counted anew only by the clients cron, about every
    /// second, not at each read or reply. Counting it at once made a new client be evicted
    /// for the 3 MB request an old no-evict client had just left behind, when its
    /// connection closed a moment after the new one opened (Redis's `client no-evict off`
    /// test, one run in five).
    fn account_live(&mut self, client: &mut Client) {
        if !client.state.no_evict {
            self.account(client);
        }
    }

    /// Applies a changed `maxmemory-clients` (CONFIG SET): counts every client when it was
    /// turned on, forgets the counts when it was turned off; then evicts if over it. Once a
    /// reactor turn: one comparison unless the setting changed or clients are over it.
    fn apply_client_memory_limit(&mut self) {
        let limit = self.server.config.client_eviction_limit() as usize;
        if limit != self.client_memory_limit {
            let was_on = self.client_memory_limit != 0;
            self.client_memory_limit = limit;
            if limit == 0 {
                for (_, client) in self.clients.iter_mut() {
                    if let Some(client) = client {
                        client.accounted_memory = 0;
                    }
                }
                self.clients_memory = 0;
            } else if !was_on {
                let mut total = 0;
                for (_, client) in self.clients.iter_mut() {
                    if let Some(client) = client {
                        client.accounted_memory = counted_client_memory(client);
                        total += client.accounted_memory;
                    }
                }
                self.clients_memory = total;
            }
        }
        if limit != 0 && self.clients_memory > limit {
            self.evict_clients(None);
        }
    }

    /// Client eviction: while all clients together hold more than `maxmemory-clients`, closes
    /// the one holding most (those with CLIENT NO-EVICT aside). `current`, the client being
    /// served (out of the slab), is a candidate too: true means it must be closed by the
    /// caller. O(clients log clients), only when over the limit.
    fn evict_clients(&mut self, current: Option<(usize, &Client)>) -> bool {
        let limit = self.client_memory_limit;
        if limit == 0 || self.clients_memory <= limit {
            return false;
        }
        let mut candidates: Vec<(usize, usize)> = self
            .clients
            .iter()
            .filter_map(|(token, client)| {
                let client = client.as_ref()?;
                evictable(client).then_some((client.accounted_memory, token))
            })
            .collect();
        if let Some((token, client)) = current.filter(|(_, c)| evictable(c)) {
            candidates.push((client.accounted_memory, token));
        }
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        let mut total = self.clients_memory;
        let mut evict_current = false;
        for (memory, token) in candidates {
            if total <= limit {
                break;
            }
            total -= memory;
            self.server.stats.evicted_clients += 1;
            if let Some((_, client)) = current.filter(|&(t, _)| t == token) {
                log::info!(
                    "Evicting client: id={} addr={} tot-mem={memory}",
                    client.state.id,
                    client.state.addr
                );
                evict_current = true;
            } else if let Some(client) = self.clients.get_mut(token).and_then(Option::take) {
                log::info!(
                    "Evicting client: id={} addr={} tot-mem={memory}",
                    client.state.id,
                    client.state.addr
                );
                self.close(token, client);
            }
        }
        let now = self.ks.now_ms();
        // abs_diff: a clock stepped back must not silence it until it catches up.
        if total > limit && now.abs_diff(self.over_client_limit_logged_ms) >= 1000 {
            self.over_client_limit_logged_ms = now;
            log::warn!("Over client maxmemory after evicting all evictable clients");
        }
        evict_current
    }

    /// Redis's clientsCron: each call visits a share of the clients so that each is seen about
    /// once a second (all of them while there are few): query and reply buffers are resized,
    /// the output soft limit is enforced on clients that stopped reading (not only when
    /// something is written to them), and memory is counted anew.
    fn clients_cron(&mut self) {
        const MIN_VISITS: usize = 5;
        let hz = self.server.config.hz.clamp(1, 500) as usize;
        let count = self.clients.len();
        let visits = (count / hz).max(MIN_VISITS.min(count));
        let slots = self.clients.capacity();
        let now = self.ks.now_ms();
        let policy = self.server.reply_buffer_policy;
        let (mut visited, mut scanned) = (0, 0);
        while visited < visits && scanned < slots {
            let token = self.client_cron_cursor % slots;
            self.client_cron_cursor = token + 1;
            scanned += 1;
            let Some(mut client) = self.clients.get_mut(token).and_then(Option::take) else {
                continue;
            };
            visited += 1;
            client.resize_query_buffer(now, client.state.last_interaction_ms);
            // A snapshot's buffer is counted as it is written (see `snapshot_progress`) and
            // goes with the connection.
            let resized = if client.state.snapshot.sending {
                None
            } else {
                client.resize_reply_buffer(policy, now)
            };
            match resized {
                Some(Resized::Shrunk) => self.server.stats.reply_buffer_shrinks += 1,
                Some(Resized::Expanded) => self.server.stats.reply_buffer_expands += 1,
                None => {}
            }
            if !client.out.is_empty() && self.over_output_limit(&mut client) {
                self.close(token, client);
                continue;
            }
            self.account(&mut client);
            self.clients[token] = Some(client);
        }
        if self.client_memory_limit != 0 && self.clients_memory > self.client_memory_limit {
            self.evict_clients(None);
        }
    }

    /// Timed work, `hz` times a second: active expiry and idle-client timeouts.
    fn cron(&mut self) {
        let started = Instant::now();
        // Redis spends at most a quarter of a cron period on active expiry.
        let budget = Duration::from_micros(250_000 / self.server.config.hz.clamp(1, 500));
        // Like Redis, keys do not expire while writes are paused, nor after DEBUG
        // SET-ACTIVE-EXPIRE 0 (then only touching a key expires it).
        if self.server.debug.active_expire && self.server.pause_in_force(self.ks.now_ms()).is_none()
        {
            while self.ks.expire_cycle(&mut self.rng, 200) > 0 && started.elapsed() < budget {}
            let elapsed = started.elapsed();
            let usec = elapsed.as_secs() * 1_000_000 + u64::from(elapsed.subsec_micros());
            self.server.stats.expire_cycle_usec += usec;
            commands::latency::sample_if_slow(
                &mut self.server,
                commands::latency::LatencyEvent::ExpireCycle,
                usec,
            );
        }
        self.ks.shrink_sparse_tables();
        if self.server.config.active_rehashing {
            // Redis's activerehashing: a millisecond per cron run.
            self.ks
                .grow_indexes_until(Instant::now() + Duration::from_millis(1));
        }
        if self.ks.has_key_events() {
            commands::pubsub::publish_background_key_events(&mut self.ks, &mut self.server);
        }
        if self.server.tracking.is_on() {
            let directory = Directory {
                clients: &self.clients,
                tokens: &self.tokens,
                running: None,
            };
            commands::tracking::cron(&mut self.ks, &mut self.server, &directory);
        }
        if !self.server.outbox.is_empty() {
            self.deliver(None);
        }
        self.server.sample_ops(self.ks.now_ms());
        self.free_memory
            .tick(self.ks.now_ms(), (self.server.used_memory)() as u64);
        if let Some(remotes) = self.server.remotes.as_mut() {
            remotes.close_idle(self.ks.now_ms());
        }
        self.clients_cron();
        if std::mem::take(&mut self.accept_retry) {
            let slots = self
                .tcp
                .try_borrow()
                .map(|tcp| tcp.slots())
                .unwrap_or_default();
            for slot in slots {
                self.accept(Listener::Tcp(slot));
            }
            let tls_slots = self
                .tls
                .as_ref()
                .map(|tls| tls.listeners.slots())
                .unwrap_or_default();
            for slot in tls_slots {
                self.accept(Listener::Tls(slot));
            }
            self.accept(Listener::Unix);
        }
        let timeout_ms = self.server.config.timeout * 1000;
        let repl_timeout_ms = self.server.config.repl_timeout * 1000;
        if timeout_ms > 0 || self.server.snapshot_memory > 0 {
            let now = self.ks.now_ms();
            let idle: Vec<usize> = self
                .clients
                .iter()
                .filter_map(|(token, c)| {
                    let c = c.as_ref()?;
                    let silent = now.saturating_sub(c.state.last_interaction_ms);
                    let expired = if c.state.snapshot.sending {
                        // A snapshot transfer that stopped moving, as Redis's `repl-timeout`
                        // for a replica.
                        silent > repl_timeout_ms
                    } else {
                        // As Redis: clients waiting by design (blocked, subscribed,
                        // monitoring) are not idle, however long they are silent.
                        let waiting =
                            c.blocked.is_some() || c.state.is_subscriber() || c.state.monitor;
                        timeout_ms > 0 && !waiting && silent > timeout_ms
                    };
                    expired.then_some(token)
                })
                .collect();
            for token in idle {
                if let Some(client) = self.clients.get_mut(token).and_then(Option::take) {
                    if client.state.snapshot.sending {
                        log::warn!(
                            "Disconnecting timedout snapshot transfer to {}: nothing written for repl-timeout",
                            client.state.addr
                        );
                    }
                    log::debug!("closing idle client {}", client.state.addr);
                    self.close(token, client);
                }
            }
        }
    }
}

/// A connection just accepted, before it becomes a client.
struct Accepted {
    stream: Stream,
    /// The peer and local addresses as CLIENT LIST shows them.
    addr: String,
    laddr: String,
    /// The peer's IP address and port (TCP only).
    remote: Option<SocketAddr>,
}

/// What Redis 7.0 sends a connection that protected mode refuses, before closing it.
const PROTECTED_MODE_DENIED: &[u8] =
    b"-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. \
In this mode connections are only accepted from the loopback interface. \
If you want to connect from external computers to Redis you \
may adopt one of the following solutions: \
1) Just disable protected mode sending the command \
'CONFIG SET protected-mode no' from the loopback interface \
by connecting to Redis from the same host the server is \
running, however MAKE SURE Redis is not publicly accessible \
from internet if you do so. Use CONFIG REWRITE to make this \
change permanent. \
2) Alternatively you can just disable the protected mode by \
editing the Redis configuration file, and setting the protected \
mode option to 'no', and then restarting the server. \
3) If you started the server manually just for testing, restart \
it with the '--protected-mode no' option. \
4) Setup a an authentication password for the default user. \
NOTE: You only need to do one of the above things in order for \
the server to start accepting connections from the outside.\r\n";

/// The reactor's connections and what serving them needs, borrowed apart from the keyspace
/// and the server state commands work on: a script running past `busy-reply-threshold`
/// serves the other connections through it between its steps (see [`LiveDirectory`]).
struct Net<'a> {
    poll: &'a mut Poll,
    tcp: &'a Rc<RefCell<TcpListeners>>,
    #[cfg(unix)]
    unix: &'a Option<mio::net::UnixListener>,
    tls: &'a Option<TlsListeners>,
    waker: &'a Arc<Waker>,
    clients: &'a mut Slab<Option<Box<Client>>>,
    tokens: &'a mut FastMap<u64, usize>,
    next_client_id: &'a mut u64,
    pending_write: &'a mut Vec<usize>,
    pending_input: &'a mut Vec<usize>,
    accept_retry: &'a mut bool,
    client_memory_limit: usize,
    clients_memory: &'a mut usize,
}

impl Net<'_> {
    /// Takes the next pending connection of a listener. `Ok(None)` when none is waiting (or
    /// the listener is gone). A TLS connection starts its handshake when it is first read.
    fn next_connection(
        &self,
        #[cfg_attr(not(unix), allow(unused_variables))] server: &Server,
        listener: Listener,
    ) -> io::Result<Option<Accepted>> {
        let slot = match listener {
            Listener::Tcp(slot) => slot,
            Listener::Tls(slot) => {
                let Some(tls) = self.tls else {
                    return Ok(None);
                };
                let Some(accepted) = tls.listeners.accept(slot) else {
                    return Ok(None);
                };
                let (stream, peer) = accepted?;
                let laddr = stream
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                return Ok(Some(Accepted {
                    stream: Stream::Tls(Box::new(TlsStream::new(stream, &tls.config)?)),
                    addr: peer.to_string(),
                    laddr,
                    remote: Some(peer),
                }));
            }
            Listener::Unix => {
                #[cfg(unix)]
                if let Some(unix) = &self.unix {
                    let (stream, _) = unix.accept()?;
                    // Redis names both ends of a Unix socket connection by the socket's path.
                    let path = server.config.unixsocket.as_deref().unwrap_or_default();
                    let addr = format!("{path}:0");
                    return Ok(Some(Accepted {
                        stream: Stream::Unix(stream),
                        laddr: addr.clone(),
                        addr,
                        remote: None,
                    }));
                }
                return Ok(None);
            }
        };
        let Ok(tcp) = self.tcp.try_borrow() else {
            return Ok(None);
        };
        let Some(accepted) = tcp.accept(slot) else {
            return Ok(None);
        };
        let (stream, peer) = accepted?;
        let laddr = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        Ok(Some(Accepted {
            stream: Stream::Tcp(stream),
            addr: peer.to_string(),
            laddr,
            remote: Some(peer),
        }))
    }

    /// Accepts every pending connection of a listener (see [`Net::next_connection`]).
    fn accept(&mut self, ks: &Keyspace, server: &mut Server, listener: Listener) {
        loop {
            let Accepted {
                mut stream,
                addr,
                laddr,
                remote,
            } = match self.next_connection(server, listener) {
                Ok(Some(conn)) => conn,
                Ok(None) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_disconnect(&e) => continue,
                Err(e) => {
                    log::warn!("accepting a connection: {e}");
                    *self.accept_retry = true;
                    return;
                }
            };
            use std::io::Write;
            if self.clients.len() as u64 >= server.config.maxclients {
                server.stats.total_connections_received += 1;
                let _ = stream.write(b"-ERR max number of clients reached\r\n");
                server.stats.rejected_connections += 1;
                continue;
            }
            if let Some(peer) = remote.filter(|peer| protected_from(server, peer)) {
                log::debug!("refused {peer}: protected mode");
                let _ = stream.write(PROTECTED_MODE_DENIED);
                server.stats.rejected_connections += 1;
                continue;
            }
            server.stats.total_connections_received += 1;
            if let Some(tcp) = stream.tcp() {
                tune_socket(tcp, server.config.tcp_keepalive);
            }
            let entry = self.clients.vacant_entry();
            let token = entry.key();
            if let Err(e) =
                self.poll
                    .registry()
                    .register(&mut stream, Token(token), Interest::READABLE)
            {
                log::warn!("registering a connection: {e}");
                continue;
            }
            let now = ks.now_ms();
            // Redis's words: the peer's address and port unbracketed, or the socket's path.
            match remote {
                Some(peer) => log::debug!("Accepted {}:{}", peer.ip(), peer.port()),
                None => log::debug!(
                    "Accepted connection to {}",
                    server.config.unixsocket.as_deref().unwrap_or_default()
                ),
            }
            let state = ClientState {
                id: *self.next_client_id,
                addr,
                laddr,
                fd: socket_fd(&stream),
                unix_socket: remote.is_none(),
                authenticated: server.acl.new_connection_authenticated(),
                user: server.acl.default_user().into(),
                created_ms: now,
                last_interaction_ms: now,
                ..Default::default()
            };
            self.tokens.insert(*self.next_client_id, token);
            *self.next_client_id += 1;
            let max_bulk = server.config.proto_max_bulk_len as usize;
            let mut client = Box::new(Client::new(stream, state, max_bulk, now));
            if self.client_memory_limit != 0 {
                client.accounted_memory = client.memory();
                *self.clients_memory += client.accounted_memory;
            }
            entry.insert(Some(client));
            server.stats.connected_clients = self.clients.len() as u64;
        }
    }

    /// One round of Redis's `processEventsWhileBlocked`, while a script is busy: new
    /// connections are accepted, and the commands of ready connections run (all but those
    /// flagged `allow-busy` are refused with `-BUSY` by the one funnel), their replies
    /// written at once. What cannot be done now (blocked or closing clients, the script's own
    /// connection, a wake-up of the persistence thread) is left for the loop after the
    /// script.
    ///
    /// Readiness is reported once (edge-triggered), and the loop may have been given some in
    /// the same batch as the script's own command, not served yet: on the `first` round
    /// every connection is tried once.
    fn serve_while_busy(&mut self, ks: &mut Keyspace, server: &mut Server, first: bool) {
        if first {
            let tokens: Vec<usize> = self.clients.iter().map(|(token, _)| token).collect();
            for token in tokens {
                self.serve_busy_client(token, ks, server);
            }
            // A listener whose readiness came in the same batch as the script's command was
            // taken by the main loop, and edge-triggered polling does not report it again:
            // accept what waits on every listener, or those clients would wait for the script.
            let tcp_slots = self.tcp.borrow().slots();
            for slot in tcp_slots {
                self.accept(ks, server, Listener::Tcp(slot));
            }
            if let Some(tls) = self.tls {
                for slot in tls.listeners.slots() {
                    self.accept(ks, server, Listener::Tls(slot));
                }
            }
            #[cfg(unix)]
            if self.unix.is_some() {
                self.accept(ks, server, Listener::Unix);
            }
        }
        let mut events = Events::with_capacity(256);
        if self.poll.poll(&mut events, Some(Duration::ZERO)).is_err() {
            return;
        }
        for event in events.iter() {
            match event.token() {
                // The loop after the script must see it: wake it again.
                WAKER => {
                    let _ = self.waker.wake();
                }
                token if listener_of(token).is_some() => {
                    if let Some(listener) = listener_of(token) {
                        self.accept(ks, server, listener)
                    }
                }
                Token(token) => self.serve_busy_client(token, ks, server),
            }
        }
    }

    fn serve_busy_client(&mut self, token: usize, ks: &mut Keyspace, server: &mut Server) {
        let Some(slot) = self.clients.get_mut(token) else {
            return;
        };
        // The script's own connection (out of the slab while it runs), and clients that
        // cannot run commands now, are served after the script.
        let Some(client) = slot.as_mut().filter(|c| {
            c.blocked.is_none() && !c.postponed && !c.close_asap && !c.state.close_after_reply
        }) else {
            self.pending_input.push(token);
            return;
        };
        match client.read_socket(READ_BUDGET, true) {
            Ok((outcome, bytes)) => {
                server.stats.total_net_input_bytes += bytes as u64;
                match outcome {
                    ReadOutcome::Drained => {}
                    ReadOutcome::Budget => self.pending_input.push(token),
                    ReadOutcome::Closed => client.close_asap = true,
                }
            }
            Err(_) => client.close_asap = true,
        }
        for _ in 0..COMMANDS_PER_TURN {
            if client.close_asap || client.state.close_after_reply {
                break;
            }
            let step = client.run_next(|argv, out, state, _view, _stream| {
                let mut ctx = Ctx {
                    ks: &mut *ks,
                    server: &mut *server,
                    client: state,
                    clients: &commands::NoClients,
                    out,
                };
                commands::execute(&mut ctx, argv);
                true
            });
            match step {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    client.out.error(e.reply_text());
                    client.state.close_after_reply = true;
                }
            }
        }
        if !client.close_asap && client.has_pending_output() {
            match client.write_socket() {
                Ok(written) => server.stats.total_net_output_bytes += written as u64,
                Err(_) => client.close_asap = true,
            }
        }
        if client.close_asap {
            self.pending_input.push(token);
        } else if (client.has_pending_output() || client.state.close_after_reply)
            && !client.write_queued
        {
            client.write_queued = true;
            self.pending_write.push(token);
        }
    }
}

/// The directory a running command sees: the other connections, and (for a script running
/// past `busy-reply-threshold`) the means to serve them. Only that serving borrows the
/// connections mutably, between the script's steps, when no command is reading them.
struct LiveDirectory<'n, 'a> {
    net: RefCell<&'n mut Net<'a>>,
    running: InputView<'n>,
    /// The running connection's socket, for a Lua debugging session only.
    stream: RefCell<&'n mut Stream>,
}

impl ClientDirectory for LiveDirectory<'_, '_> {
    fn visit(&self, visit: &mut dyn FnMut(&ClientState, ConnStats)) {
        if let Ok(net) = self.net.try_borrow() {
            visit_clients(net.clients, visit);
        }
    }

    fn find(&self, id: u64, look: &mut dyn FnMut(&ClientState, ConnStats)) -> bool {
        self.net
            .try_borrow()
            .is_ok_and(|net| find_client(net.clients, net.tokens, id, look))
    }

    fn running(&self) -> ConnStats {
        self.running.stats()
    }

    fn serve_while_busy(&self, ks: &mut Keyspace, server: &mut Server, first: bool) {
        if let Ok(mut net) = self.net.try_borrow_mut() {
            net.serve_while_busy(ks, server, first);
        }
    }

    fn debugger_send(&self, out: &mut ReplyBuf) -> bool {
        self.stream
            .try_borrow_mut()
            .is_ok_and(|mut stream| super::debugger::send(&mut stream, out))
    }

    fn debugger_receive(&self, input: &mut Vec<u8>) -> bool {
        self.stream
            .try_borrow_mut()
            .is_ok_and(|mut stream| super::debugger::receive(&mut stream, input))
    }
}

/// Calls `visit` with every connection in the slab (the running one is out of it).
fn visit_clients(
    clients: &Slab<Option<Box<Client>>>,
    visit: &mut dyn FnMut(&ClientState, ConnStats),
) {
    for client in clients.iter().filter_map(|(_, client)| client.as_ref()) {
        visit(&client.state, client.stats());
    }
}

/// Calls `look` with the connection of id `id` if it is in the slab; tells whether it was.
fn find_client(
    clients: &Slab<Option<Box<Client>>>,
    tokens: &FastMap<u64, usize>,
    id: u64,
    look: &mut dyn FnMut(&ClientState, ConnStats),
) -> bool {
    let client = tokens
        .get(&id)
        .and_then(|&token| clients.get(token)?.as_ref());
    if let Some(client) = client {
        look(&client.state, client.stats());
    }
    client.is_some()
}

/// The other connections, as the commands see them, and the running one's query side.
struct Directory<'a> {
    clients: &'a Slab<Option<Box<Client>>>,
    tokens: &'a FastMap<u64, usize>,
    running: Option<InputView<'a>>,
}

impl ClientDirectory for Directory<'_> {
    fn visit(&self, visit: &mut dyn FnMut(&ClientState, ConnStats)) {
        visit_clients(self.clients, visit);
    }

    fn find(&self, id: u64, look: &mut dyn FnMut(&ClientState, ConnStats)) -> bool {
        find_client(self.clients, self.tokens, id, look)
    }

    fn running(&self) -> ConnStats {
        self.running.map(|view| view.stats()).unwrap_or_default()
    }
}

#[cfg(unix)]
fn socket_fd(stream: &Stream) -> i64 {
    use std::os::fd::AsRawFd;
    match stream {
        Stream::Tcp(s) => s.as_raw_fd() as i64,
        Stream::Tls(s) => s.tcp().as_raw_fd() as i64,
        Stream::Unix(s) => s.as_raw_fd() as i64,
    }
}

#[cfg(windows)]
fn socket_fd(stream: &Stream) -> i64 {
    use std::os::windows::io::AsRawSocket;
    match stream {
        Stream::Tcp(s) => s.as_raw_socket() as i64,
        Stream::Tls(s) => s.tcp().as_raw_socket() as i64,
    }
}

/// Protected mode (Redis 7.0's): while the default user is `nopass`, only this machine
/// may connect over TCP, whatever `bind` says.
fn protected_from(server: &Server, peer: &SocketAddr) -> bool {
    server.config.protected_mode && server.acl.default_is_nopass() && !peer.ip().is_loopback()
}
