//! One connection: its socket, input buffer, decoder, reply buffer and command-visible state.

use super::listeners::Stream;
use crate::commands::blocking::BlockRequest;
use crate::commands::{ClientState, ConnStats, ReplyBufferPolicy};
use crate::protocol::{ArgSource, ProtocolError, Protover, ReplyBuf, RequestDecoder};
use smallvec::SmallVec;
use std::io::{self, Read, Write};

/// Bytes read per `read` call at least (the buffer grows for larger requests).
const READ_CHUNK: usize = 16 * 1024;

/// An argument this big gets a query buffer sized for it as soon as its header arrives, so
/// the buffer is not doubled past it (Redis's `PROTO_MBULK_BIG_ARG`).
const BIG_ARG: usize = 32 * 1024;
/// Input buffered past this, with a complete request in it, is run before more is read.
const INPUT_SOFT_LIMIT: usize = 4 * READ_CHUNK;

/// A query buffer larger than this is trimmed to its recent peak (Redis's
/// `PROTO_RESIZE_THRESHOLD`).
const QUERY_RESIZE_THRESHOLD: usize = 32 * 1024;

/// Free query buffer space worth giving back.
const QUERY_WASTE: usize = 4 * 1024;

/// A connection idle longer than this gives its free query buffer space back.
const QUERY_IDLE_MS: u64 = 2000;

/// A new connection's reply buffer size, and the most it grows to for a busy one (Redis's
/// `PROTO_REPLY_CHUNK_BYTES`); output beyond it is what Redis keeps in its reply list.
pub const REPLY_BUFFER_MAX: usize = 16 * 1024;

/// The least a quiet connection's reply buffer shrinks to (Redis's `PROTO_REPLY_MIN_BYTES`).
const REPLY_BUFFER_MIN: usize = 1024;

/// How the reactor changed a reply buffer's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resized {
    Shrunk,
    Expanded,
}

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
    /// The most input held since the timed work last looked, with a read's room (Redis's
    /// query buffer peak): the buffer is trimmed down to it.
    input_peak: usize,
    /// The reply buffer's size (CLIENT LIST `rbs`): the output allocation kept while idle.
    reply_buffer_size: usize,
    /// The most of the reply buffer used since `reply_peak_reset_ms` (`rbp`).
    reply_buffer_peak: usize,
    reply_peak_reset_ms: u64,
    /// What this client counts for in the reactor's total for `maxmemory-clients` (0 while
    /// that is off).
    pub accounted_memory: usize,
}

/// The query side of a connection, borrowed while its command runs, for CLIENT LIST's
/// figures of the running client (computed only if asked).
#[derive(Clone, Copy)]
pub struct InputView<'a> {
    input: &'a [u8],
    start: usize,
    filled: usize,
    decoder: &'a RequestDecoder,
    reply_buffer_size: usize,
    reply_buffer_peak: usize,
}

impl InputView<'_> {
    /// Every figure but the output's.
    pub fn stats(&self) -> ConnStats {
        let pending = &self.input[self.start..self.filled];
        // Like Redis, which keeps a big argument alone in its query buffer, the header of one
        // still arriving is not counted as buffered input.
        let header = match self.decoder.awaited_bulk(pending) {
            Some((at, len)) if len >= BIG_ARG => at.min(pending.len()),
            _ => 0,
        };
        ConnStats {
            query_buffer: pending.len() - header,
            query_buffer_free: self.input.len() - self.filled,
            argv_memory: self.decoder.decoded_args_len(),
            reply_buffer_size: self.reply_buffer_size,
            reply_buffer_peak: self.reply_buffer_peak,
            memory: self.input.len() + self.decoder.memory() + std::mem::size_of::<Client>(),
            ..Default::default()
        }
    }
}

impl Client {
    pub fn new(stream: Stream, state: ClientState, max_bulk_len: usize, now_ms: u64) -> Self {
        Client {
            stream,
            input: Vec::new(),
            start: 0,
            filled: 0,
            decoder: RequestDecoder::new(max_bulk_len),
            out: ReplyBuf::with_capacity(Protover::Resp2, REPLY_BUFFER_MAX),
            state,
            writable_registered: false,
            write_queued: false,
            blocked: None,
            postponed: false,
            close_asap: false,
            soft_limit_since: None,
            input_peak: 0,
            reply_buffer_size: REPLY_BUFFER_MAX,
            // As in Redis, a new connection's buffer is not shrunk before a peak reset.
            reply_buffer_peak: REPLY_BUFFER_MAX,
            reply_peak_reset_ms: now_ms,
            accounted_memory: 0,
        }
    }

    /// The query side, for the running client's figures.
    fn input_view(&self) -> InputView<'_> {
        InputView {
            input: &self.input,
            start: self.start,
            filled: self.filled,
            decoder: &self.decoder,
            reply_buffer_size: self.reply_buffer_size,
            reply_buffer_peak: self.reply_buffer_peak,
        }
    }

    /// Figures for CLIENT LIST and INFO.
    pub fn stats(&self) -> ConnStats {
        let parked: usize = self.blocked.as_ref().map_or(0, |b| {
            b.argv.iter().map(|a| a.capacity()).sum::<usize>()
                + b.argv.capacity() * std::mem::size_of::<Vec<u8>>()
        });
        let mut stats = self.input_view().stats();
        stats.argv_memory += parked;
        stats.memory += parked;
        stats.output_bytes = self.out.len();
        stats.output_capacity = self.out.capacity();
        stats.resp = if self.out.is_resp3() { 3 } else { 2 };
        stats.blocked = self.blocked.is_some();
        stats.writable = self.writable_registered;
        stats
    }

    /// Everything this client holds (CLIENT LIST `tot-mem`), counted for `maxmemory-clients`.
    /// O(1) but for a parked command's arguments.
    pub fn memory(&self) -> usize {
        let stats = self.stats();
        stats.memory + stats.output_capacity + self.state.memory()
    }

    /// Output Redis would hold in its reply list (what `client-output-buffer-limit` limits,
    /// CLIENT LIST `omem`).
    pub fn listed_output(&self) -> usize {
        crate::commands::listed_output(self.out.len(), self.reply_buffer_size)
    }

    /// Notes how much of the reply buffer the pending output uses, before it is written.
    #[inline]
    pub fn note_reply_peak(&mut self) {
        let used = self.out.len().min(self.reply_buffer_size);
        if used > self.reply_buffer_peak {
            self.reply_buffer_peak = used;
        }
    }

    /// Timed work on the query buffer, as Redis does it: a connection idle for a while gives
    /// all free space back; a buffer much larger than its recent peak is trimmed to it. Then
    /// the peak is measured anew.
    pub fn resize_query_buffer(&mut self, now_ms: u64, last_interaction_ms: u64) {
        let held = self.filled - self.start;
        let awaited = self
            .decoder
            .awaited_bulk(self.pending_input())
            .map_or(0, |(at, len)| at + len + 2);
        if self.input.len() - self.filled > QUERY_WASTE {
            if now_ms.saturating_sub(last_interaction_ms) > QUERY_IDLE_MS {
                self.resize_input(held.max(awaited));
            } else if self.input.len() > QUERY_RESIZE_THRESHOLD
                && self.input.len() / 2 > self.input_peak
            {
                self.resize_input(held.max(self.input_peak).max(awaited));
            }
        }
        self.input_peak = held.max(awaited);
        self.decoder.shrink();
    }

    /// Moves the unconsumed input to the front and gives the buffer exactly `size` bytes
    /// (at least what it holds).
    fn resize_input(&mut self, size: usize) {
        if self.start > 0 {
            self.input.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        let size = size.max(self.filled);
        if size == 0 {
            self.input = Vec::new();
            return;
        }
        self.input.truncate(size);
        self.input.shrink_to_fit();
    }

    /// Timed work on the reply buffer, as Redis does it: shrunk when its recent peak used less
    /// than half of it, doubled (up to [`REPLY_BUFFER_MAX`]) when a busy connection filled it;
    /// the peak is measured anew every `peak_reset_ms`. An idle connection's output
    /// allocation is brought back to the buffer's size (a big reply grew it).
    pub fn resize_reply_buffer(
        &mut self,
        policy: ReplyBufferPolicy,
        now_ms: u64,
    ) -> Option<Resized> {
        if !policy.resizing {
            return None;
        }
        let size = self.reply_buffer_size;
        let mut resized = None;
        if size / 2 >= REPLY_BUFFER_MIN && self.reply_buffer_peak < size / 2 {
            self.reply_buffer_size =
                allocation_class(REPLY_BUFFER_MIN.max(self.reply_buffer_peak + 1));
            resized = Some(Resized::Shrunk);
        } else if size * 2 < REPLY_BUFFER_MAX * 2 && self.reply_buffer_peak == size {
            self.reply_buffer_size = REPLY_BUFFER_MAX.min(size * 2);
            resized = Some(Resized::Expanded);
        }
        if policy.peak_reset_ms >= 0
            && now_ms.saturating_sub(self.reply_peak_reset_ms) >= policy.peak_reset_ms as u64
        {
            self.reply_buffer_peak = self.out.len().min(self.reply_buffer_size);
            self.reply_peak_reset_ms = now_ms;
        }
        self.out.resize_capacity(self.reply_buffer_size);
        resized
    }

    /// True when the first request buffered, complete or not, holds more than `limit`
    /// bytes (`client-query-buffer-limit`). Redis checks its query buffer after each read,
    /// before running what it holds; reads here may take in a whole big argument at once, so
    /// the request is measured, not the buffer (a pipeline of small requests past the limit
    /// in total is not over it). Decodes only when more than `limit` bytes are buffered.
    pub fn first_request_over(&mut self, limit: usize) -> bool {
        let pending = &self.input[self.start..self.filled];
        if pending.len() <= limit {
            return false;
        }
        match self.decoder.decode(pending) {
            Ok(Some(consumed)) => consumed > limit,
            Ok(None) => true,
            // A malformed request gets its protocol error when it runs.
            Err(_) => false,
        }
    }

    /// Unconsumed input.
    pub fn pending_input(&self) -> &[u8] {
        &self.input[self.start..self.filled]
    }

    /// Decodes the next complete request and calls `run` with its arguments, the reply buffer,
    /// the state, a view of the query side and the socket (which only a Lua debugging session
    /// uses, to talk to its client while the request runs); the request is consumed unless
    /// `run` returns false (it must then wait, and is decoded again next time). `Ok(false)`
    /// when no complete request is buffered.
    #[inline]
    pub fn run_next(
        &mut self,
        run: impl FnOnce(&[&[u8]], &mut ReplyBuf, &mut ClientState, InputView<'_>, &mut Stream) -> bool,
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
            let view = InputView {
                input: &self.input,
                start: self.start,
                filled: self.filled,
                decoder: &self.decoder,
                reply_buffer_size: self.reply_buffer_size,
                reply_buffer_peak: self.reply_buffer_peak,
            };
            if !argv.is_empty()
                && !run(
                    &argv,
                    &mut self.out,
                    &mut self.state,
                    view,
                    &mut self.stream,
                )
            {
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

    /// Reads until the socket would block or `budget` bytes were read. With `runnable` (the
    /// client's commands can run now), it also stops once the buffer is full of complete
    /// requests (see [`Self::make_room`]). Returns the outcome and the number of bytes read.
    pub fn read_socket(
        &mut self,
        budget: usize,
        runnable: bool,
    ) -> io::Result<(ReadOutcome, usize)> {
        let mut total = 0;
        loop {
            if total >= budget {
                return Ok((ReadOutcome::Budget, total));
            }
            if !self.make_room(runnable) {
                return Ok((ReadOutcome::Budget, total));
            }
            match self.stream.read(&mut self.input[self.filled..]) {
                Ok(0) => return Ok((ReadOutcome::Closed, total)),
                Ok(n) => {
                    self.filled += n;
                    total += n;
                    // Redis's peak counts a read's room too, so a trimmed buffer keeps it.
                    let held = self.filled - self.start + READ_CHUNK;
                    if held > self.input_peak {
                        self.input_peak = held;
                    }
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
    /// False, with `stop_when_full`, when the buffer already holds [`INPUT_SOFT_LIMIT`] bytes
    /// or more and a complete request: running those first keeps a pipelining client's buffer
    /// small, as Redis's 16 KB reads do, instead of growing it to the whole read budget.
    fn make_room(&mut self, stop_when_full: bool) -> bool {
        if self.input.len() - self.filled >= READ_CHUNK / 4 {
            return true;
        }
        if self.start > 0 {
            self.input.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
            if self.input.len() - self.filled >= READ_CHUNK / 4 {
                return true;
            }
        }
        // A big argument gets its whole size at once, as Redis gives it, and no more: the
        // buffer is not doubled past it. The decoder may not have seen this request's headers
        // yet; decoding what is buffered only advances its resume point (a complete request
        // is decoded again when run).
        let pending = &self.input[..self.filled];
        let decoded = self.decoder.decode(pending);
        let grown = match (decoded, self.decoder.awaited_bulk(pending)) {
            // A big request is complete: room for what follows it only.
            (Ok(Some(consumed)), _) if consumed >= BIG_ARG => self.input.len() + READ_CHUNK,
            (Ok(None), Some((at, len))) if len >= BIG_ARG => {
                let end = at + len + 2;
                if end > self.input.len() {
                    // A fresh zeroed allocation, not a resize: its pages are committed only as
                    // the argument's bytes arrive, so a header alone (up to 512 MB announced)
                    // costs no real memory.
                    let mut sized = vec![0; end];
                    sized[..self.filled].copy_from_slice(&self.input[..self.filled]);
                    self.input = sized;
                }
                // Else there is room up to the argument's end already.
                return true;
            }
            (Ok(Some(_)), _) if stop_when_full && self.input.len() >= INPUT_SOFT_LIMIT => {
                return false
            }
            _ => (self.input.len() * 2).max(READ_CHUNK),
        };
        self.input.resize(grown, 0);
        true
    }

    /// Output not yet taken by the socket: replies, or (TLS) records made from them or by
    /// the handshake. The reactor keeps WRITABLE interest while there is some.
    #[inline]
    pub fn has_pending_output(&self) -> bool {
        !self.out.is_empty() || self.stream.has_pending_records()
    }

    /// Writes pending output until done or the socket would block. Returns the reply bytes
    /// written.
    pub fn write_socket(&mut self) -> io::Result<usize> {
        // TLS records left over from an earlier turn (or the handshake) go first.
        self.stream.send_records()?;
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
        if self.out.is_empty() && self.out.capacity() > self.reply_buffer_size {
            // Redis frees the reply blocks beyond its buffer as soon as they are written.
            // Kept until the timed resize, they would count against `maxmemory`: invalidation
            // messages sent for evicted keys would then evict more keys, and so on.
            self.out.resize_capacity(self.reply_buffer_size);
        }
        Ok(total)
    }
}

/// The size Redis's buffer of `n` bytes really has: jemalloc gives the next of its size
/// classes (four per power of two: 5120, 6144, 7168 and 8192 above 4096) and Redis uses all
/// of it (CLIENT LIST `rbs`). A buffer shrunk to exactly its peak would be filled by the next
/// reply a byte longer (an INFO whose figures grew a digit) and doubled again.
fn allocation_class(n: usize) -> usize {
    let step = (n.next_power_of_two() / 8).max(16);
    n.div_ceil(step) * step
}

/// True for errors that mean the peer went away: a normal disconnect, not a server problem.
pub fn is_disconnect(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | WriteZero | NotConnected
    ) || matches!(e.raw_os_error(), Some(10053) | Some(10054))
}

#[cfg(test)]
mod tests {
    use super::allocation_class;

    #[test]
    fn buffers_take_jemalloc_size_classes_as_redis_reports_them() {
        assert_eq!(allocation_class(1024), 1024);
        assert_eq!(allocation_class(1025), 1280);
        assert_eq!(allocation_class(4097), 5120);
        assert_eq!(allocation_class(4701), 5120);
        assert_eq!(allocation_class(8192), 8192);
        assert_eq!(allocation_class(16385), 20480);
    }
}
