//! The socket side of a Lua debugging session (SCRIPT DEBUG): while the script runs, its
//! debugger talks to the client that started it directly, holding the whole server, as Redis's
//! synchronous sessions do. The connection's socket is switched to blocking mode for each
//! exchange and back after, so the reactor finds it as it left it.

use super::listeners::Stream;
use crate::protocol::ReplyBuf;
use socket2::SockRef;
use std::io::{self, Read, Write};
use std::time::Duration;

/// How long a send may wait for the socket to take it (Redis's `connSendTimeout(5000)`).
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes read per call, as Redis's debugger reads.
const READ_CHUNK: usize = 1024;

/// The socket under `stream`.
fn socket(stream: &Stream) -> SockRef<'_> {
    match stream {
        Stream::Tcp(s) => SockRef::from(s),
        Stream::Tls(s) => SockRef::from(s.tcp()),
        #[cfg(unix)]
        Stream::Unix(s) => SockRef::from(s),
    }
}

/// Runs `exchange` with the socket in blocking mode (a send waiting at most
/// [`SEND_TIMEOUT`]), then puts it back in non-blocking mode.
fn blocking<R>(
    stream: &mut Stream,
    exchange: impl FnOnce(&mut Stream) -> io::Result<R>,
) -> io::Result<R> {
    {
        let socket = socket(stream);
        socket.set_nonblocking(false)?;
        socket.set_write_timeout(Some(SEND_TIMEOUT))?;
    }
    let result = exchange(stream);
    let socket = socket(stream);
    let restored = socket
        .set_write_timeout(None)
        .and_then(|()| socket.set_nonblocking(true));
    // A socket left blocking would stall the reactor: that is a failure of the exchange too.
    restored.and(result)
}

/// Writes all of `out` to the connection and empties it; false when the connection failed.
pub fn send(stream: &mut Stream, out: &mut ReplyBuf) -> bool {
    let sent = blocking(stream, |stream| {
        stream.send_records()?;
        while !out.is_empty() {
            match stream.write(out.bytes()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => out.consume(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // TLS: the records made from the last write.
        stream.send_records()
    });
    if sent.is_err() {
        // What was not taken would reach the client out of order later: it is dropped.
        out.truncate(0);
    }
    sent.is_ok()
}

/// Waits until the connection sends something and appends it to `input`; false when it
/// closed or failed.
pub fn receive(stream: &mut Stream, input: &mut Vec<u8>) -> bool {
    blocking(stream, |stream| {
        let mut buf = [0u8; READ_CHUNK];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    input.extend_from_slice(&buf[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })
    .unwrap_or(false)
}
