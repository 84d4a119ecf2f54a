//! One connection: its socket, input buffer, decoder, reply buffer and command-visible state.

use super::listeners::Stream;
use crate::commands::blocking::BlockRequest;
use crate::commands::ClientState;
use crate::protocol::{ArgSource, ProtocolError, Protover, ReplyBuf, RequestDecoder};
use smallvec::SmallVec;
use std::io::{self, Read, Write};

/// Bytes read per `read` call at least (the buffer grows for larger requests).
const READ_CHUNK: usize = 16 * 1024;

/// Redis's `client-query-buffer-limit`: a client whose pending input exceeds it is closed.
pub const QUERY_BUFFER_LIMIT: usize = 1024 * 1024 * 1024;

/// Outcome of draining a socket.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The socket has no more bytes for now.
    Drained,
    /// Stopped early to be fair to other clients; more may be waiting.
    Budget,
    /// The peer closed its side (or reset the connection).
    Closed,
}

/// A client parked by a blocking command: what it waits for and the command to run again.
pub struct Blocked {
    pub request: BlockRequest,
    pub argv: Vec<Vec<u8>>,
    /// The type a key must hold for the command to be worth running again.
    pub awaited_type: Option<&'static str>,
}

pub struct Client {
    pub stream: Stream,
    /// Always fully initialized so reads need no zeroing; `start..filled` is unconsumed input.
    input: Vec<u8>,
    start: usize,
    filled: usize,
    pub decoder: RequestDecoder,
    pub out: ReplyBuf,
    pub state: ClientState,
    /// WRITABLE interest is registered (only while output remains).
    pub writable_registered: bool,
    /// Queued in the reactor's pending-write list this turn.
    pub write_queued: bool,
    /// Set while a blocking command waits; no further input is run meanwhile.
    pub blocked: Option<Blocked>,
    /// Waiting for CLIENT PAUSE to end before its next command runs.
    pub postponed: bool,
    /// Over its output buffer limit: closed as soon as the reactor gets hold of it, its
    /// pending output dropped.
    pub close_asap: bool,
    /// Unix ms since when the output has been over the soft limit.
    pub soft_limit_since: Option<u64>,
}

impl Client {
    pub fn new(stream: Stream, state: ClientState, max_bulk_len: usize) -> Self {
        Client {
            stream,
            input: Vec::new(),
            start: 0,
            filled: 0,
            decoder: RequestDecoder::new(max_bulk_len),
            out: ReplyBuf::new(Protover::Resp2),
            state,
            writable_registered: false,
            write_queued: false,
            blocked: None,
            postponed: false,
            close_asap: false,
            soft_limit_since: None,
        }
    }

    /// Unconsumed input.
    pub fn pending_input(&self) -> &[u8] {
        &self.input[self.start..self.filled]
    }

    /// Input buffer figures for CLIENT LIST (qbuf, qbuf-free).
    pub fn query_buffer_stats(&self) -> (usize, usize) {
        (self.filled - self.start, self.input.len() - self.filled)
    }

    /// Decodes the next complete request and calls `run` with its arguments, the reply buffer
    /// and the state; the request is consumed unless `run` returns false (it must then wait,
    /// and is decoded again next time). `Ok(false)` when no complete request is buffered.
    #[inline]
    pub fn run_next(
        &mut self,
        run: impl FnOnce(&[&[u8]], &mut ReplyBuf, &mut ClientState) -> bool,
    ) -> Result<bool, ProtocolError> {
        let consumed = {
            self.decoder.set_unauthenticated(!self.state.authenticated);
            let pending = &self.input[self.start..self.filled];
            let Some(consumed) = self.decoder.decode(pending)? else {
                return Ok(false);
            };
            let base: &[u8] = match self.decoder.source() {
                ArgSource::Input => pending,
                ArgSource::Inline => self.decoder.inline_bytes(),
            };
            let argv: SmallVec<[&[u8]; 8]> = self
                .decoder
                .spans()
                .iter()
                .map(|&(s, e)| &base[s..e])
                .collect();
            if !argv.is_empty() && !run(&argv, &mut self.out, &mut self.state) {
                return Ok(true);
            }
            consumed
        };
        self.consume_input(consumed);
        Ok(true)
    }

    /// Marks `n` bytes of input as consumed.
    fn consume_input(&mut self, n: usize) {
        self.start = (self.start + n).min(self.filled);
        if self.start == self.filled && !self.decoder.in_progress() {
            self.start = 0;
            self.filled = 0;
            // Give back a buffer a large request grew, once it is no longer needed.
            if self.input.len() > 4 * READ_CHUNK * 16 {
                self.input = Vec::new();
            }
        }
    }

    /// Reads until the socket would block or `budget` bytes were read. Returns the outcome and
    /// the number of bytes read.
    pub fn read_socket(&mut self, budget: usize) -> io::Result<(ReadOutcome, usize)> {
        let mut total = 0;
        loop {
            if total >= budget {
                return Ok((ReadOutcome::Budget, total));
            }
            self.make_room();
            match self.stream.read(&mut self.input[self.filled..]) {
                Ok(0) => return Ok((ReadOutcome::Closed, total)),
                Ok(n) => {
                    self.filled += n;
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok((ReadOutcome::Drained, total))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Ensures free space after `filled`, compacting consumed bytes away first when that is
    /// allowed (the decoder keeps offsets relative to `start`, so moving data is safe).
    fn make_room(&mut self) {
        if self.input.len() - self.filled >= READ_CHUNK / 4 {
            return;
        }
        if self.start > 0 {
            self.input.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
            if self.input.len() - self.filled >= READ_CHUNK / 4 {
                return;
            }
        }
        let grown = (self.input.len() * 2).max(READ_CHUNK);
        self.input.resize(grown, 0);
    }

    /// Writes pending output until done or the socket would block. Returns bytes written.
    pub fn write_socket(&mut self) -> io::Result<usize> {
        let mut total = 0;
        while !self.out.is_empty() {
            match self.stream.write(self.out.bytes()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.out.consume(n);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }
}

/// True for errors that mean the peer went away: a normal disconnect, not a server problem.
pub fn is_disconnect(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | WriteZero | NotConnected
    ) || matches!(e.raw_os_error(), Some(10053) | Some(10054))
}
