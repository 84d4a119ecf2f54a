//! MIGRATE's connections to other servers: plain blocking sockets with every wait bounded by
//! the command's timeout, cached by host and port as Redis caches them (see
//! [`crate::commands::migrate`] for why MIGRATE waits on the reactor's thread).

use crate::commands::migrate::{ConnectError, LinkError, RemoteLink, RemoteLinks, CACHE_IDLE_MS};
use crate::number::atoi;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Most connections kept at once (Redis's `MIGRATE_SOCKET_CACHE_ITEMS`): past it one is
/// closed to make room.
const CACHE_ITEMS: usize = 64;

/// Redis writes a transfer in chunks of this size, each within the timeout.
const WRITE_CHUNK: usize = 64 * 1024;

/// Longest reply line kept (Redis reads replies into 1 KB buffers); the rest of a longer line
/// is read and dropped.
const LINE_MAX: usize = 1024;

/// One cached connection.
struct CachedLink {
    stream: TcpStream,
    /// Bytes read past the last line returned.
    pending: Vec<u8>,
    selected_db: Option<i64>,
    last_use_ms: u64,
}

/// `timeout` from now; a timeout too large for the clock (MIGRATE takes any positive
/// integer) is as good as none.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(now)
}

/// The time left until `deadline`, or `TimedOut` when none is.
fn remaining(deadline: Instant) -> Result<Duration, LinkError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(LinkError::TimedOut)
    } else {
        Ok(left)
    }
}

fn link_error(error: &io::Error) -> LinkError {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => LinkError::TimedOut,
        _ => LinkError::Failed,
    }
}

impl RemoteLink for CachedLink {
    fn selected_db(&self) -> Option<i64> {
        self.selected_db
    }

    fn set_selected_db(&mut self, db: Option<i64>) {
        self.selected_db = db;
    }

    fn send(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), LinkError> {
        for chunk in bytes.chunks(WRITE_CHUNK) {
            let deadline = deadline_after(timeout);
            let mut written = 0;
            while written < chunk.len() {
                self.stream
                    .set_write_timeout(Some(remaining(deadline)?))
                    .map_err(|e| link_error(&e))?;
                match self.stream.write(&chunk[written..]) {
                    Ok(0) => return Err(LinkError::Failed),
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(link_error(&e)),
                }
            }
        }
        Ok(())
    }

    fn read_line(&mut self, timeout: Duration) -> Result<Vec<u8>, LinkError> {
        let deadline = deadline_after(timeout);
        let mut scanned = 0;
        loop {
            if let Some(end) = self.pending[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + end;
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                line.truncate(LINE_MAX);
                return Ok(line);
            }
            scanned = self.pending.len();
            self.stream
                .set_read_timeout(Some(remaining(deadline)?))
                .map_err(|e| link_error(&e))?;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(LinkError::Failed),
                Ok(n) => {
                    // A line longer than anything kept only needs its end found.
                    if self.pending.len() > 2 * LINE_MAX {
                        self.pending.truncate(LINE_MAX);
                        scanned = LINE_MAX;
                    }
                    self.pending.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(link_error(&e)),
            }
        }
    }
}

/// The addresses `host`:`port` names. A literal address costs nothing; a host name is looked
/// up by the system's resolver, which is not bounded by MIGRATE's timeout (Redis's is not
/// either).
fn addresses(host: &[u8], port: &[u8]) -> Vec<SocketAddr> {
    // The port is read as C's atoi reads it and cut to 16 bits, as Redis's resolver call
    // does; a negative one names no service.
    let port = atoi(port);
    if port < 0 {
        return Vec::new();
    }
    let port = port as u16;
    let Ok(host) = std::str::from_utf8(host) else {
        return Vec::new();
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![SocketAddr::new(ip, port)];
    }
    (host, port)
        .to_socket_addrs()
        .map(Iterator::collect)
        .unwrap_or_default()
}

fn connect(host: &[u8], port: &[u8], timeout: Duration) -> Result<TcpStream, ConnectError> {
    let deadline = deadline_after(timeout);
    let addresses = addresses(host, port);
    if addresses.is_empty() {
        return Err(ConnectError::NoAddress);
    }
    let mut failure = LinkError::Failed;
    for address in addresses {
        let left = remaining(deadline).map_err(ConnectError::Unreachable)?;
        match TcpStream::connect_timeout(&address, left) {
            Ok(stream) => {
                // Small commands and replies: no waiting to coalesce them.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => failure = link_error(&e),
        }
    }
    Err(ConnectError::Unreachable(failure))
}

/// MIGRATE's connection cache, keyed by `host:port` as given.
#[derive(Default)]
pub struct MigrateSockets {
    links: HashMap<Vec<u8>, CachedLink>,
}

fn cache_key(host: &[u8], port: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(host.len() + port.len() + 1);
    key.extend_from_slice(host);
    key.push(b':');
    key.extend_from_slice(port);
    key
}

impl RemoteLinks for MigrateSockets {
    fn link(
        &mut self,
        host: &[u8],
        port: &[u8],
        timeout: Duration,
        now_ms: u64,
    ) -> Result<&mut dyn RemoteLink, ConnectError> {
        let key = cache_key(host, port);
        if !self.links.contains_key(&key) {
            let stream = connect(host, port, timeout)?;
            if self.links.len() >= CACHE_ITEMS {
                if let Some(victim) = self.links.keys().next().cloned() {
                    self.links.remove(&victim);
                }
            }
            self.links.insert(
                key.clone(),
                CachedLink {
                    stream,
                    pending: Vec::new(),
                    selected_db: None,
                    last_use_ms: now_ms,
                },
            );
        }
        let link = self
            .links
            .get_mut(&key)
            .ok_or(ConnectError::Unreachable(LinkError::Failed))?;
        link.last_use_ms = now_ms;
        Ok(link)
    }

    fn close(&mut self, host: &[u8], port: &[u8]) {
        self.links.remove(&cache_key(host, port));
    }

    fn cached(&self) -> usize {
        self.links.len()
    }

    fn close_idle(&mut self, now_ms: u64) {
        if !self.links.is_empty() {
            self.links
                .retain(|_, link| now_ms.saturating_sub(link.last_use_ms) <= CACHE_IDLE_MS);
        }
    }
}
