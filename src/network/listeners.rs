//! The listening sockets: one TCP listener per `bind` address at `port`, which CONFIG SET can
//! move at run time, the same for TLS at `tls-port`, and the Unix socket (`unixsocket`); and
//! the stream type of the connections they accept.

use super::tls::TlsStream;
use crate::commands::Listeners;
use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use slab::Slab;
use socket2::{Domain, Protocol, Socket, Type};
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;

/// The Unix socket listener's token, just below the waker's.
pub const UNIX_LISTENER: Token = Token(usize::MAX - 1);
/// TCP listener tokens count down from here, one per slot of [`TcpListeners`].
const TCP_LISTENER_BASE: usize = usize::MAX - 2;
/// Tokens reserved for TCP listeners: far more than the 16 addresses `bind` takes, twice over
/// while CONFIG SET holds the old and the new ones.
const TCP_LISTENER_TOKENS: usize = 1024;
/// TLS listener tokens count down from here, below the TCP ones.
const TLS_LISTENER_BASE: usize = TCP_LISTENER_BASE - TCP_LISTENER_TOKENS;

/// The slot of the TCP listener a token belongs to, if it is one.
pub fn tcp_listener_slot(token: Token) -> Option<usize> {
    let slot = TCP_LISTENER_BASE.checked_sub(token.0)?;
    (slot < TCP_LISTENER_TOKENS).then_some(slot)
}

/// The slot of the TLS listener a token belongs to, if it is one.
pub fn tls_listener_slot(token: Token) -> Option<usize> {
    let slot = TLS_LISTENER_BASE.checked_sub(token.0)?;
    (slot < TCP_LISTENER_TOKENS).then_some(slot)
}

/// A connection's socket: TCP, TLS over TCP, or a Unix socket.
pub enum Stream {
    Tcp(TcpStream),
    /// Boxed: a TLS session is large, and plain connections should not pay for its size.
    Tls(Box<TlsStream>),
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
}

impl Stream {
    /// The TCP stream, if this is one (under TLS or not).
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Tcp(s) => Some(s),
            Stream::Tls(s) => Some(s.tcp()),
            #[cfg(unix)]
            Stream::Unix(_) => None,
        }
    }

    /// Acknowledges what was received at once rather than after Linux's delayed-ACK timer
    /// (up to 40 ms). A sender with Nagle's algorithm on (the default socket; Redis's TCL
    /// harness, many scripts) that writes a request in pieces holds the rest until that ACK
    /// comes: each such request would wait 40 ms, a big value arrive in 40 ms steps, and a
    /// FIN after the last step. A Linux socket option: not done elsewhere.
    pub fn quick_ack(&self) {
        #[cfg(target_os = "linux")]
        if let Some(tcp) = self.tcp() {
            if let Err(e) = socket2::SockRef::from(tcp).set_tcp_quickack(true) {
                log::debug!("TCP_QUICKACK: {e}");
            }
        }
    }

    /// TLS records made but not yet taken by the socket: the connection has output pending
    /// even when its reply buffer is empty.
    #[inline]
    pub fn has_pending_records(&self) -> bool {
        match self {
            Stream::Tls(s) => s.has_pending_records(),
            _ => false,
        }
    }

    /// Sends pending TLS records until the socket would block (nothing to do for the others).
    #[inline]
    pub fn send_records(&mut self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => s.send_records(),
            _ => Ok(()),
        }
    }

    /// Ends a TLS session politely before the socket closes.
    pub fn close_notify(&mut self) {
        if let Stream::Tls(s) = self {
            s.close_notify();
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            #[cfg(unix)]
            Stream::Unix(s) => s.flush(),
        }
    }
}

impl Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(registry, token, interests),
            Stream::Tls(s) => s.tcp_mut().register(registry, token, interests),
            #[cfg(unix)]
            Stream::Unix(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(registry, token, interests),
            Stream::Tls(s) => s.tcp_mut().reregister(registry, token, interests),
            #[cfg(unix)]
            Stream::Unix(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(registry),
            Stream::Tls(s) => s.tcp_mut().deregister(registry),
            #[cfg(unix)]
            Stream::Unix(s) => s.deregister(registry),
        }
    }
}

/// One listening socket with the options every Reddish listener gets.
fn bind_listener(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // On Windows SO_REUSEADDR lets another process steal the port; only Unix needs it (to
    // rebind while old connections sit in TIME_WAIT).
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Resolves `bind` words at `port`: `*` is every IPv4 address, `::*` every IPv6 one, a `-`
/// prefix marks an address that may be missing on this machine (true in the pair).
fn resolve_binds(binds: &[String], port: u16) -> io::Result<Vec<(SocketAddr, bool)>> {
    let mut out = Vec::new();
    for bind in binds {
        let optional = bind.starts_with('-');
        let host = match bind.trim_start_matches('-') {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        match (host, port).to_socket_addrs() {
            Ok(mut addrs) => out.extend(addrs.next().map(|a| (a, optional))),
            Err(e) if optional => log::warn!("skipping bind address {bind}: {e}"),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("bind address {bind}: {e}"),
                ))
            }
        }
    }
    Ok(out)
}

/// Whether a failed bind means this machine lacks the address or its family, which Redis
/// skips (always for a missing family; for a missing address only when marked `-`).
fn skippable(e: &io::Error, optional: bool) -> bool {
    #[cfg(unix)]
    {
        let missing_family = [
            libc::ENOPROTOOPT,
            libc::EPROTONOSUPPORT,
            libc::ESOCKTNOSUPPORT,
            libc::EPFNOSUPPORT,
            libc::EAFNOSUPPORT,
        ];
        if e.raw_os_error()
            .is_some_and(|code| missing_family.contains(&code))
        {
            return true;
        }
    }
    // WSAEAFNOSUPPORT: no IPv6 on this Windows machine.
    #[cfg(windows)]
    if e.raw_os_error() == Some(10047) {
        return true;
    }
    optional && e.kind() == io::ErrorKind::AddrNotAvailable
}

/// Binds every address in `addrs`, all or nothing: the first failure that [`skippable`] does
/// not excuse closes those already bound and is returned with its address.
fn bind_all(addrs: &[(SocketAddr, bool)], backlog: i32) -> io::Result<Vec<TcpListener>> {
    let mut bound = Vec::with_capacity(addrs.len());
    for &(addr, optional) in addrs {
        match bind_listener(addr, backlog) {
            Ok(listener) => bound.push(listener),
            Err(e) if skippable(&e, optional) => {
                log::warn!("Could not create server TCP listening socket {addr}: {e}")
            }
            Err(e) => {
                log::warn!("Could not create server TCP listening socket {addr}: {e}");
                return Err(e);
            }
        }
    }
    Ok(bound)
}

/// The TCP listeners of one port (plain or TLS), each registered under the token of its slot.
pub struct TcpListeners {
    listeners: Slab<TcpListener>,
    registry: Registry,
    /// The token of slot 0; the others count down from it.
    token_base: usize,
}

impl TcpListeners {
    /// Binds `binds` at `port` for start-up (no listener when `port` is 0 or `binds` empty).
    pub fn bind(registry: Registry, binds: &[String], port: u16, backlog: i32) -> io::Result<Self> {
        Self::bind_at(registry, binds, port, backlog, TCP_LISTENER_BASE)
    }

    /// Like [`TcpListeners::bind`], for the TLS port (tokens of [`tls_listener_slot`]).
    pub fn bind_tls(
        registry: Registry,
        binds: &[String],
        port: u16,
        backlog: i32,
    ) -> io::Result<Self> {
        Self::bind_at(registry, binds, port, backlog, TLS_LISTENER_BASE)
    }

    fn bind_at(
        registry: Registry,
        binds: &[String],
        port: u16,
        backlog: i32,
        token_base: usize,
    ) -> io::Result<Self> {
        let mut set = TcpListeners {
            listeners: Slab::new(),
            registry,
            token_base,
        };
        if port != 0 {
            for listener in bind_all(&resolve_binds(binds, port)?, backlog)? {
                set.add(listener)?;
            }
        }
        Ok(set)
    }

    fn add(&mut self, mut listener: TcpListener) -> io::Result<()> {
        let entry = self.listeners.vacant_entry();
        if entry.key() >= TCP_LISTENER_TOKENS {
            return Err(io::Error::other("too many TCP listeners"));
        }
        let token = Token(self.token_base - entry.key());
        self.registry
            .register(&mut listener, token, Interest::READABLE)?;
        entry.insert(listener);
        Ok(())
    }

    fn remove(&mut self, slot: usize) -> Option<SocketAddr> {
        let mut listener = self.listeners.try_remove(slot)?;
        let _ = self.registry.deregister(&mut listener);
        listener.local_addr().ok()
    }

    /// Registers every listener of `bound`; on a failure, removes the ones just added.
    fn add_all(&mut self, bound: Vec<TcpListener>) -> io::Result<()> {
        let before: Vec<usize> = self.listeners.iter().map(|(slot, _)| slot).collect();
        for listener in bound {
            if let Err(e) = self.add(listener) {
                let added: Vec<usize> = self
                    .listeners
                    .iter()
                    .map(|(slot, _)| slot)
                    .filter(|slot| !before.contains(slot))
                    .collect();
                for slot in added {
                    self.remove(slot);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// The addresses listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(_, l)| l.local_addr().ok())
            .collect()
    }

    /// Stops listening on every address (shutting down).
    pub fn close_all(&mut self) {
        for slot in self.slots() {
            self.remove(slot);
        }
    }

    /// The slots in use.
    pub fn slots(&self) -> Vec<usize> {
        self.listeners.iter().map(|(slot, _)| slot).collect()
    }

    /// Accepts one connection on the listener of `slot`; `None` if the slot is gone.
    pub fn accept(&self, slot: usize) -> Option<io::Result<(TcpStream, SocketAddr)>> {
        self.listeners.get(slot).map(TcpListener::accept)
    }

    /// CONFIG SET bind/port. A listener already on a wanted address stays (binding that
    /// address again would fail); the others are bound while the old ones still listen, and
    /// the old ones close only once all are bound. When an old listener on the same port is
    /// in the way (a wildcard and a specific address overlap), the old ones close first and
    /// are bound again if the new ones still fail, as Redis does.
    fn relisten(&mut self, binds: &[String], port: u16, backlog: i32) -> io::Result<()> {
        let wanted = if port == 0 {
            Vec::new()
        } else {
            resolve_binds(binds, port)?
        };
        let held: Vec<(usize, SocketAddr)> = self
            .listeners
            .iter()
            .filter_map(|(slot, l)| Some((slot, l.local_addr().ok()?)))
            .collect();
        let is_held = |addr: &SocketAddr| held.iter().any(|(_, a)| a == addr);
        let fresh: Vec<(SocketAddr, bool)> = wanted
            .iter()
            .copied()
            .filter(|(addr, _)| !is_held(addr))
            .collect();
        let retired: Vec<(usize, SocketAddr)> = held
            .iter()
            .copied()
            .filter(|(_, addr)| !wanted.iter().any(|(a, _)| a == addr))
            .collect();
        let bound = match bind_all(&fresh, backlog) {
            Ok(bound) => bound,
            Err(e)
                if e.kind() == io::ErrorKind::AddrInUse
                    && retired.iter().any(|(_, a)| a.port() == port) =>
            {
                for &(slot, _) in &retired {
                    self.remove(slot);
                }
                match bind_all(&fresh, backlog) {
                    Ok(bound) => {
                        return self.add_all(bound);
                    }
                    Err(e) => {
                        let old: Vec<(SocketAddr, bool)> =
                            retired.iter().map(|&(_, addr)| (addr, false)).collect();
                        match bind_all(&old, backlog).and_then(|old| self.add_all(old)) {
                            Ok(()) => {}
                            Err(again) => {
                                log::warn!("could not listen on the old addresses again: {again}")
                            }
                        }
                        return Err(e);
                    }
                }
            }
            Err(e) => return Err(e),
        };
        self.add_all(bound)?;
        for (slot, _) in retired {
            self.remove(slot);
        }
        Ok(())
    }
}

/// The handle the commands reach the TCP listeners through; the reactor holds the same set.
pub struct SharedListeners(pub Rc<RefCell<TcpListeners>>);

impl Listeners for SharedListeners {
    fn listen(&mut self, binds: &[String], port: u16, backlog: i32) -> Result<(), String> {
        let mut set = self
            .0
            .try_borrow_mut()
            .map_err(|_| "the listeners are in use".to_string())?;
        set.relisten(binds, port, backlog)
            .map_err(|e| crate::process::os_error_text(&e))
    }
}

/// Listens on the Unix socket at `path`, replacing a stale socket file left there, with the
/// permission bits `perm` (0: as the umask makes them).
#[cfg(unix)]
pub fn bind_unix(path: &str, perm: u32) -> io::Result<mio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        std::fs::remove_file(path)?;
    }
    let listener = mio::net::UnixListener::bind(path)?;
    if perm != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    Ok(listener)
}
