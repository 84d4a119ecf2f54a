//! Reply encoding: typed reply parts written straight into a connection's output buffer, in
//! RESP2 or RESP3 as the connection negotiated. Nothing is built as an intermediate tree:
//! handlers emit an aggregate header and then its elements, as Redis's `addReply*` do.

use crate::number::format_double;

/// The protocol a connection speaks (`HELLO 2` / `HELLO 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protover {
    #[default]
    Resp2,
    Resp3,
}

/// A connection's pending reply bytes and the protocol to encode them in.
#[derive(Debug, Default)]
pub struct ReplyBuf {
    /// Encoded replies; the first `sent` bytes were already written to the socket.
    bytes: Vec<u8>,
    /// Bytes at the front already written. Kept rather than removed at every write, so that a
    /// reply far larger than the socket's buffer is not moved down once per write (quadratic
    /// in its size): the written part is removed only once it is as large as what is left.
    sent: usize,
    proto: Protover,
    /// Where [`ReplyBuf::insert`] put bytes (position, length) since the last write to the
    /// socket, so that a [`Deferred`] header still lands after what was inserted ahead of it.
    /// Empty but for the rare keyspace pushes put ahead of a reply.
    insertions: Vec<(usize, usize)>,
}

/// A place reserved for an aggregate header whose length is known only after its elements
/// were written (Redis's deferred length replies).
#[derive(Debug, Clone, Copy)]
pub struct Deferred {
    at: usize,
    /// Insertions made before this one was taken (they are already counted in `at`).
    insertions: usize,
}

/// Aggregate kinds that differ between RESP2 and RESP3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Array,
    Map,
    Set,
    Push,
}

impl ReplyBuf {
    pub fn new(proto: Protover) -> Self {
        ReplyBuf {
            bytes: Vec::new(),
            sent: 0,
            proto,
            insertions: Vec::new(),
        }
    }

    /// An empty buffer with room for `capacity` bytes (a connection's reply buffer).
    pub fn with_capacity(proto: Protover, capacity: usize) -> Self {
        ReplyBuf {
            bytes: Vec::with_capacity(capacity),
            sent: 0,
            proto,
            insertions: Vec::new(),
        }
    }

    /// Bytes allocated for pending output.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Gives the buffer room for exactly `capacity` bytes when it holds no more than that
    /// (the reactor resizes idle connections' reply buffers); no-op otherwise.
    pub fn resize_capacity(&mut self, capacity: usize) {
        if self.len() > capacity || (self.sent == 0 && self.bytes.capacity() == capacity) {
            return;
        }
        self.compact();
        if self.bytes.capacity() > capacity {
            self.bytes.shrink_to(capacity);
        } else {
            self.bytes.reserve_exact(capacity - self.bytes.len());
        }
    }

    pub fn proto(&self) -> Protover {
        self.proto
    }

    pub fn set_proto(&mut self, proto: Protover) {
        self.proto = proto;
    }

    pub fn is_resp3(&self) -> bool {
        self.proto == Protover::Resp3
    }

    /// The encoded bytes not yet handed to the socket.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[self.sent..]
    }

    pub fn len(&self) -> usize {
        self.bytes.len() - self.sent
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts `bytes` at `at` (a length of this buffer, as [`ReplyBuf::len`] gave it), ahead of
    /// what was written since. O(what follows `at`).
    pub fn insert(&mut self, at: usize, bytes: &[u8]) {
        let at = at.min(self.len());
        let absolute = self.sent + at;
        self.bytes.splice(absolute..absolute, bytes.iter().copied());
        self.insertions.push((at, bytes.len()));
    }

    /// Drops everything from `len` on (used to take back a reply, e.g. CLIENT REPLY OFF).
    pub fn truncate(&mut self, len: usize) {
        self.bytes.truncate(self.sent + len);
    }

    /// Drops the first `n` bytes, already written to the socket; keeps the allocation unless it
    /// grew large, so an idle connection does not pin a burst's memory. Amortized O(n): the
    /// bytes left are moved down only when no more of them remain than were written.
    pub fn consume(&mut self, n: usize) {
        self.insertions.clear();
        if n >= self.len() {
            self.bytes.clear();
            self.sent = 0;
            if self.bytes.capacity() > 1 << 20 {
                self.bytes = Vec::new();
            }
        } else {
            self.sent += n;
            if self.sent >= self.len() {
                self.compact();
            }
        }
    }

    /// Removes the bytes already written from the front. O(bytes left).
    fn compact(&mut self) {
        if self.sent > 0 {
            self.bytes.drain(..self.sent);
            self.sent = 0;
        }
    }

    /// Appends `bytes[start..]`; when nothing is pending, takes the vector itself instead of
    /// copying it (an RDB snapshot of the whole data set).
    pub fn append_vec(&mut self, bytes: Vec<u8>, start: usize) {
        if self.is_empty() {
            self.bytes = bytes;
            self.sent = start;
        } else {
            self.bytes.extend_from_slice(&bytes[start..]);
        }
    }

    /// Appends already-encoded protocol bytes.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub fn ok(&mut self) {
        self.raw(b"+OK\r\n");
    }

    /// `+text`; the text must not contain CR or LF.
    pub fn simple(&mut self, text: impl AsRef<[u8]>) {
        self.bytes.push(b'+');
        self.bytes.extend_from_slice(text.as_ref());
        self.crlf();
    }

    /// `-text`, where `text` starts with the error code (`ERR ...`, `WRONGTYPE ...`). CR and LF
    /// are replaced by spaces, as Redis does, so an error can never break the framing.
    pub fn error(&mut self, text: impl AsRef<[u8]>) {
        self.bytes.push(b'-');
        self.bytes.extend(text.as_ref().iter().map(|&b| {
            if b == b'\r' || b == b'\n' {
                b' '
            } else {
                b
            }
        }));
        self.crlf();
    }

    pub fn int(&mut self, value: i64) {
        self.bytes.push(b':');
        self.bytes
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self.crlf();
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len());
        self.bytes.extend_from_slice(data);
        self.crlf();
    }

    /// A bulk string holding a decimal integer.
    pub fn bulk_int(&mut self, value: i64) {
        let mut digits = itoa::Buffer::new();
        self.bulk(digits.format(value).as_bytes());
    }

    /// The null bulk string (`$-1` in RESP2).
    pub fn null(&mut self) {
        if self.is_resp3() {
            self.raw(b"_\r\n");
        } else {
            self.raw(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` in RESP2), e.g. a timed-out BLPOP.
    pub fn null_array(&mut self) {
        if self.is_resp3() {
            self.raw(b"_\r\n");
        } else {
            self.raw(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, len: usize) {
        self.header(b'*', len);
    }

    /// A map of `len` pairs (a flat array of 2*len in RESP2).
    pub fn map(&mut self, len: usize) {
        self.aggregate(Aggregate::Map, len);
    }

    pub fn set(&mut self, len: usize) {
        self.aggregate(Aggregate::Set, len);
    }

    /// An out-of-band push (pub/sub messages); an array in RESP2.
    pub fn push(&mut self, len: usize) {
        self.aggregate(Aggregate::Push, len);
    }

    pub fn aggregate(&mut self, kind: Aggregate, len: usize) {
        let resp2 = self.proto == Protover::Resp2;
        let prefix = match kind {
            Aggregate::Array => b'*',
            _ if resp2 => b'*',
            Aggregate::Map => b'%',
            Aggregate::Set => b'~',
            Aggregate::Push => b'>',
        };
        let len = if resp2 && kind == Aggregate::Map {
            len * 2
        } else {
            len
        };
        self.header(prefix, len);
    }

    /// A double: a bulk string in RESP2 (`%.17g`, `inf`, `-inf`, as Redis 7.0), `,` in RESP3.
    pub fn double(&mut self, value: f64) {
        let mut text = String::new();
        format_double(value, &mut text);
        if self.is_resp3() {
            self.bytes.push(b',');
            self.bytes.extend_from_slice(text.as_bytes());
            self.crlf();
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, the integers 1/0 in RESP2.
    pub fn boolean(&mut self, value: bool) {
        if self.is_resp3() {
            self.raw(if value { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(value as i64);
        }
    }

    /// A big number given as its decimal digits: `(` in RESP3, a bulk string in RESP2.
    pub fn bignum(&mut self, digits: &[u8]) {
        if self.is_resp3() {
            self.bytes.push(b'(');
            self.bytes.extend_from_slice(digits);
            self.crlf();
        } else {
            self.bulk(digits);
        }
    }

    /// The header of an attribute map of `len` pairs, which RESP3 sends before the reply it
    /// describes. RESP2 has no attributes: the caller writes none there.
    pub fn attribute(&mut self, len: usize) {
        self.header(b'|', len);
    }

    /// Text meant for people (INFO, CLIENT LIST): verbatim `txt` in RESP3, a bulk in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.is_resp3() {
            self.header(b'=', text.len() + 4);
            self.bytes.extend_from_slice(b"txt:");
            self.bytes.extend_from_slice(text);
            self.crlf();
        } else {
            self.bulk(text);
        }
    }

    /// Reserves room for an aggregate header written later with [`Self::fill_deferred`].
    pub fn defer(&mut self) -> Deferred {
        Deferred {
            at: self.len(),
            insertions: self.insertions.len(),
        }
    }

    /// Writes the header of a deferred aggregate now that its length is known. O(bytes after it).
    pub fn fill_deferred(&mut self, deferred: Deferred, kind: Aggregate, len: usize) {
        let mut at = deferred.at;
        for &(position, inserted) in self
            .insertions
            .get(deferred.insertions..)
            .unwrap_or_default()
        {
            if position <= at {
                at += inserted;
            }
        }
        let tail = self.bytes.split_off(self.sent + at);
        self.aggregate(kind, len);
        self.bytes.extend_from_slice(&tail);
    }

    fn header(&mut self, prefix: u8, len: usize) {
        self.bytes.push(prefix);
        self.bytes
            .extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
        self.crlf();
    }

    fn crlf(&mut self) {
        self.bytes.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut r2 = ReplyBuf::new(Protover::Resp2);
        r2.map(1);
        r2.bulk(b"k");
        r2.double(1.5);
        r2.null();
        r2.boolean(true);
        assert_eq!(r2.bytes(), b"*2\r\n$1\r\nk\r\n$3\r\n1.5\r\n$-1\r\n:1\r\n");
        let mut r3 = ReplyBuf::new(Protover::Resp3);
        r3.map(1);
        r3.bulk(b"k");
        r3.double(1.5);
        r3.null();
        r3.boolean(true);
        r3.set(0);
        r3.push(1);
        assert_eq!(
            r3.bytes(),
            b"%1\r\n$1\r\nk\r\n,1.5\r\n_\r\n#t\r\n~0\r\n>1\r\n"
        );
    }

    #[test]
    fn errors_cannot_break_framing() {
        let mut r = ReplyBuf::default();
        r.error("ERR bad\r\nthing");
        assert_eq!(r.bytes(), b"-ERR bad  thing\r\n");
    }

    #[test]
    fn deferred_headers_land_before_their_elements() {
        let mut r = ReplyBuf::default();
        r.int(7);
        let at = r.defer();
        r.bulk(b"a");
        r.bulk(b"b");
        r.fill_deferred(at, Aggregate::Array, 2);
        assert_eq!(r.bytes(), b":7\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    }

    #[test]
    fn consume_keeps_unsent_tail() {
        let mut r = ReplyBuf::default();
        r.raw(b"+OK\r\n+QUEUED\r\n");
        r.consume(5);
        assert_eq!(r.bytes(), b"+QUEUED\r\n");
        r.consume(100);
        assert!(r.is_empty());
    }

    #[test]
    fn an_appended_vector_is_taken_when_nothing_is_pending() {
        let mut r = ReplyBuf::default();
        let file = b"..$3\r\nabc".to_vec();
        let at = file.as_ptr();
        r.append_vec(file, 2);
        assert_eq!(r.bytes(), b"$3\r\nabc");
        assert_eq!(r.bytes().as_ptr(), at.wrapping_add(2));
        r.append_vec(b"..+OK\r\n".to_vec(), 2);
        assert_eq!(r.bytes(), b"$3\r\nabc+OK\r\n");
    }

    #[test]
    fn partly_written_output_keeps_its_order_and_positions() {
        let mut r = ReplyBuf::default();
        let reply: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        r.raw(&reply);
        let mut written = Vec::new();
        while written.len() < 6_000 {
            let n = 7.min(r.len());
            written.extend_from_slice(&r.bytes()[..n]);
            r.consume(n);
        }
        assert_eq!(r.bytes(), &reply[written.len()..]);
        // Replies added now, taken back and deferred, land after what is left.
        let left = r.len();
        r.int(1);
        r.truncate(left);
        let at = r.defer();
        r.bulk(b"a");
        r.fill_deferred(at, Aggregate::Array, 1);
        written.extend_from_slice(r.bytes());
        let mut want = reply.clone();
        want.extend_from_slice(b"*1\r\n$1\r\na\r\n");
        assert_eq!(written, want);
    }
}
