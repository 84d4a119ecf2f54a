//! Request decoding: bytes -> argument spans, with no I/O and no allocation per request.
//!
//! Written by hand rather than with a general RESP crate because this is the server's hot path:
//! arguments are reported as offsets into the caller's input buffer (no copy), and a partially
//! received multibulk is resumed where it stopped instead of being parsed again from the start
//! (a 1M-argument MSET arriving in 64 KB reads would otherwise be quadratic).

use crate::number::parse_i64;
use memchr::memchr;

/// Longest inline request, and longest `*N` / `$N` header line, Redis accepts (64 KB).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Most arguments, and longest argument, a connection that still has to authenticate may send:
/// Redis's limits, so that a stranger cannot make the server allocate much by announcing a
/// huge request in a few bytes.
const UNAUTHENTICATED_MAX_ARGS: i64 = 10;
const UNAUTHENTICATED_MAX_BULK_LEN: i64 = 16 * 1024;

/// A request that cannot be decoded; the connection is answered `-ERR Protocol error: ...` and
/// closed, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("invalid bulk length")]
    InvalidBulkLength,
    #[error("unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    #[error("expected '$', got '{0}'")]
    ExpectedDollar(char),
    #[error("too big inline request")]
    InlineTooBig,
    #[error("too big mbulk count string")]
    MultibulkCountTooBig,
    #[error("too big bulk count string")]
    BulkCountTooBig,
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
}

impl ProtocolError {
    /// The full error reply line Redis sends before closing the connection.
    pub fn reply_text(&self) -> String {
        format!("ERR Protocol error: {self}")
    }
}

/// Where the arguments of the last decoded request live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSource {
    /// Spans index into the input buffer given to [`RequestDecoder::decode`].
    Input,
    /// Spans index into [`RequestDecoder::inline_bytes`] (inline requests are unescaped there).
    Inline,
}

/// Decodes requests (RESP multibulk or inline) from a connection's unconsumed input.
///
/// Between calls that return `Ok(None)` the caller must keep the undecoded bytes at the same
/// offsets relative to the slice it passes (appending is fine; dropping consumed bytes in front
/// of them is fine only when no request is in progress, see [`RequestDecoder::in_progress`]).
#[derive(Debug)]
pub struct RequestDecoder {
    max_bulk_len: usize,
    /// The connection has not authenticated yet: Redis's much lower limits apply.
    unauthenticated: bool,
    /// Arguments still expected in the multibulk being decoded (0 when none is in progress).
    pending_args: usize,
    /// Offset just past the last fully decoded part of the request in progress.
    resume_at: usize,
    spans: Vec<(usize, usize)>,
    inline: Vec<u8>,
    source: ArgSource,
}

impl RequestDecoder {
    /// A decoder enforcing Redis's `proto-max-bulk-len`.
    pub fn new(max_bulk_len: usize) -> Self {
        RequestDecoder {
            max_bulk_len,
            unauthenticated: false,
            pending_args: 0,
            resume_at: 0,
            spans: Vec::new(),
            inline: Vec::new(),
            source: ArgSource::Input,
        }
    }

    /// Changes the bulk length limit (CONFIG SET proto-max-bulk-len).
    pub fn set_max_bulk_len(&mut self, max: usize) {
        self.max_bulk_len = max;
    }

    /// Applies (or lifts) the limits for a connection that has not authenticated yet.
    #[inline]
    pub fn set_unauthenticated(&mut self, unauthenticated: bool) {
        self.unauthenticated = unauthenticated;
    }

    /// True while a multibulk request has been partly decoded.
    pub fn in_progress(&self) -> bool {
        self.pending_args > 0 || self.resume_at > 0
    }

    /// Decodes the next request at the start of `buf`.
    ///
    /// `Ok(Some(n))`: a request was decoded from the first `n` bytes; its arguments are
    /// [`Self::spans`] in [`Self::source`] (there may be none: Redis ignores empty lines and
    /// `*0`). `Ok(None)`: more bytes are needed. `Err`: the input is invalid.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        if !self.in_progress() {
            self.spans.clear();
            match buf.first() {
                None => return Ok(None),
                Some(b'*') => {}
                Some(_) => return self.decode_inline(buf),
            }
            let Some((count, next)) = read_header(buf, 1) else {
                if buf.len() > INLINE_MAX_SIZE {
                    return Err(ProtocolError::MultibulkCountTooBig);
                }
                return Ok(None);
            };
            let count = count.ok_or(ProtocolError::InvalidMultibulkLength)?;
            if count > i32::MAX as i64 {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            if self.unauthenticated && count > UNAUTHENTICATED_MAX_ARGS {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            self.source = ArgSource::Input;
            if count <= 0 {
                return Ok(Some(next));
            }
            self.pending_args = count as usize;
            // Reserve for small requests only: a bogus huge count must not allocate up front.
            self.spans.reserve(self.pending_args.min(1024));
            self.resume_at = next;
        }
        while self.pending_args > 0 {
            let at = self.resume_at;
            let Some(&first) = buf.get(at) else {
                return Ok(None);
            };
            if first != b'$' {
                return Err(ProtocolError::ExpectedDollar(first as char));
            }
            let Some((len, next)) = read_header(buf, at + 1) else {
                if buf.len() - at > INLINE_MAX_SIZE {
                    return Err(ProtocolError::BulkCountTooBig);
                }
                return Ok(None);
            };
            let len = len.ok_or(ProtocolError::InvalidBulkLength)?;
            if self.unauthenticated && len > UNAUTHENTICATED_MAX_BULK_LEN {
                return Err(ProtocolError::UnauthenticatedBulkLength);
            }
            if len < 0 || len as u64 > self.max_bulk_len as u64 {
                return Err(ProtocolError::InvalidBulkLength);
            }
            let len = len as usize;
            if buf.len() < next + len + 2 {
                return Ok(None);
            }
            self.spans.push((next, next + len));
            self.pending_args -= 1;
            self.resume_at = next + len + 2;
        }
        let consumed = self.resume_at;
        self.resume_at = 0;
        Ok(Some(consumed))
    }

    /// The bulk argument being received, as (offset of its data in `buf`, its length), when
    /// the request in progress waits for the rest of one: the network layer sizes the buffer
    /// for a big argument at once and reports what is held. `buf` is the slice last given to
    /// [`Self::decode`], possibly with more bytes appended. O(1); never called per request.
    pub fn awaited_bulk(&self, buf: &[u8]) -> Option<(usize, usize)> {
        if self.pending_args == 0 || buf.get(self.resume_at) != Some(&b'$') {
            return None;
        }
        let (len, next) = read_header(buf, self.resume_at + 1)?;
        let len = usize::try_from(len?).ok()?;
        Some((next, len))
    }

    /// Bytes of the arguments of the request in progress decoded so far (CLIENT LIST
    /// `argv-mem` of a client whose request is still arriving).
    pub fn decoded_args_len(&self) -> usize {
        if !self.in_progress() {
            return 0;
        }
        self.spans.iter().map(|&(s, e)| e - s).sum()
    }

    /// Gives back what a large request made the decoder hold (a 100,000-argument SADD leaves
    /// megabytes of spans), unless a request is in progress. For timed work, not per request.
    pub fn shrink(&mut self) {
        const KEEP_SPANS: usize = 1024;
        if self.in_progress() {
            return;
        }
        if self.spans.capacity() > KEEP_SPANS {
            self.spans = Vec::new();
        }
        if self.inline.capacity() > INLINE_MAX_SIZE {
            self.inline = Vec::new();
        }
    }

    /// Bytes the decoder holds (argument spans, unescaped inline requests).
    pub fn memory(&self) -> usize {
        self.spans.capacity() * std::mem::size_of::<(usize, usize)>() + self.inline.capacity()
    }

    /// Argument spans of the last decoded request.
    pub fn spans(&self) -> &[(usize, usize)] {
        &self.spans
    }

    /// Where the spans point.
    pub fn source(&self) -> ArgSource {
        self.source
    }

    /// The unescaped bytes of the last inline request.
    pub fn inline_bytes(&self) -> &[u8] {
        &self.inline
    }

    fn decode_inline(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let Some(newline) = memchr(b'\n', buf) else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::InlineTooBig);
            }
            return Ok(None);
        };
        let mut line = &buf[..newline];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        self.source = ArgSource::Inline;
        self.inline.clear();
        split_inline_args(line, &mut self.inline, &mut self.spans)?;
        Ok(Some(newline + 1))
    }
}

/// Reads the header line (`*N` / `$N` without its prefix) starting at `from`: its value if it
/// is a valid length, and the offset after its line end; `None` until the line is buffered.
///
/// One pass over plain decimal digits covers nearly every header; anything else (a sign,
/// leading zeros, junk, 19+ digits) takes the general path with Redis's exact rules.
#[inline]
fn read_header(buf: &[u8], from: usize) -> Option<(Option<i64>, usize)> {
    let mut value: i64 = 0;
    let mut i = from;
    while i < buf.len() && i - from < 18 {
        let b = buf[i];
        if b.is_ascii_digit() {
            value = value * 10 + i64::from(b - b'0');
            i += 1;
            continue;
        }
        if b == b'\r' && i > from && (buf[from] != b'0' || i - from == 1) {
            return (i + 1 < buf.len()).then_some((Some(value), i + 2));
        }
        break;
    }
    let next = header_line_end(buf, from)?;
    Some((parse_i64(&buf[from..next - 2]), next))
}

/// The offset just past the `\r\n` ending the header line that starts at `from`, if buffered.
/// Like Redis, the line ends at the first `\r`, which must be followed by one more byte.
fn header_line_end(buf: &[u8], from: usize) -> Option<usize> {
    // Fast path: headers of up to 3 characters are by far the most common. The first `\r`
    // ends the line even when no `\n` follows it, so that a header reads the same however
    // its bytes were split between reads.
    for at in from..from + 4 {
        match buf.get(at) {
            Some(b'\r') => return (at + 1 < buf.len()).then_some(at + 2),
            Some(_) => {}
            None => return None,
        }
    }
    let cr = memchr(b'\r', &buf[from.min(buf.len())..])? + from;
    (cr + 1 < buf.len()).then_some(cr + 2)
}

/// Splits `line` into words as Redis's `sdssplitargs` does (see [`split_inline_args`]), for
/// arguments that hold several words (REPLCONF rdb-filter-only); `None` when a quote is left
/// open.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut words = Vec::new();
    let mut spans = Vec::new();
    split_inline_args(line, &mut words, &mut spans).ok()?;
    Some(spans.iter().map(|&(s, e)| words[s..e].to_vec()).collect())
}

/// Splits an inline request line the way redis-cli and Redis do (`sdssplitargs`): whitespace
/// separated words, `"..."` with C-style and `\xHH` escapes, `'...'` with only `\'` escaped; a
/// closing quote must be followed by whitespace or the end of the line.
fn split_inline_args(
    line: &[u8],
    out: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) -> Result<(), ProtocolError> {
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(());
        }
        let start = out.len();
        // The quote the current word is inside, if any.
        let mut quote: Option<u8> = None;
        loop {
            if let Some(closing) = quote {
                let Some(&c) = line.get(i) else {
                    return Err(ProtocolError::UnbalancedQuotes);
                };
                if c == closing {
                    if line.get(i + 1).is_some_and(|&next| !is_space(next)) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                }
                let (byte, width) = if closing == b'"' {
                    double_quoted_byte(line, i)
                } else {
                    single_quoted_byte(line, i)
                };
                out.push(byte);
                i += width;
            } else {
                match line.get(i) {
                    None => break,
                    Some(&c) if is_space(c) => break,
                    Some(&c @ (b'"' | b'\'')) => {
                        quote = Some(c);
                        i += 1;
                    }
                    Some(&c) => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
        }
        spans.push((start, out.len()));
    }
}

/// The byte at `line[i]` inside `"..."` and how many input bytes it took: `\xHH` and the C
/// escapes `\n \r \t \b \a` are decoded, any other escaped byte stands for itself.
fn double_quoted_byte(line: &[u8], i: usize) -> (u8, usize) {
    match line.get(i..) {
        Some([b'\\', b'x', high, low, ..]) => {
            if let (Some(h), Some(l)) = (hex_val(*high), hex_val(*low)) {
                return (h * 16 + l, 4);
            }
            (b'x', 2)
        }
        Some([b'\\', escaped, ..]) => {
            let byte = match escaped {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 8,
                b'a' => 7,
                other => *other,
            };
            (byte, 2)
        }
        Some([c, ..]) => (*c, 1),
        _ => (0, 1),
    }
}

/// The byte at `line[i]` inside `'...'` and how many input bytes it took: only `\'` is an
/// escape.
fn single_quoted_byte(line: &[u8], i: usize) -> (u8, usize) {
    match line.get(i..) {
        Some([b'\\', b'\'', ..]) => (b'\'', 2),
        Some([c, ..]) => (*c, 1),
        _ => (0, 1),
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the request_decoder fuzz target: a header whose `\r` is followed by another
    /// `\r` ended at the second one when the whole request was buffered, and at the first
    /// (as Redis reads it) when it arrived in pieces.
    #[test]
    fn a_header_ends_at_its_first_cr_however_it_arrives() {
        let input = b"*-1\r\r\n$3\r\nx\r\n";
        let mut whole = RequestDecoder::new(1 << 20);
        assert_eq!(whole.decode(input), Ok(Some(5)));
        let mut pieces = RequestDecoder::new(1 << 20);
        let mut result = Ok(None);
        for end in 1..=input.len() {
            result = pieces.decode(&input[..end]);
            if result != Ok(None) {
                break;
            }
        }
        assert_eq!(result, Ok(Some(5)));
        let mut whole = RequestDecoder::new(1 << 20);
        // The count ends at the first `\r`, so the argument is looked for at the `\n`.
        assert_eq!(
            whole.decode(b"*1\r\r\n$1\r\nx\r\n"),
            Err(ProtocolError::ExpectedDollar('\n'))
        );
    }

    fn args_of(dec: &RequestDecoder, buf: &[u8]) -> Vec<Vec<u8>> {
        let src: &[u8] = match dec.source() {
            ArgSource::Input => buf,
            ArgSource::Inline => dec.inline_bytes(),
        };
        dec.spans()
            .iter()
            .map(|&(s, e)| src[s..e].to_vec())
            .collect()
    }

    /// Decodes every request in `input` fed in two pieces split at `split`.
    fn decode_all_split(input: &[u8], split: usize) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut dec = RequestDecoder::new(512 * 1024 * 1024);
        let mut buf: Vec<u8> = input[..split].to_vec();
        let mut fed = split;
        let mut out = Vec::new();
        loop {
            match dec.decode(&buf)? {
                Some(n) => {
                    let args = args_of(&dec, &buf);
                    if !args.is_empty() {
                        out.push(args);
                    }
                    buf.drain(..n);
                }
                None if fed < input.len() => {
                    buf.extend_from_slice(&input[fed..]);
                    fed = input.len();
                }
                None => return Ok(out),
            }
        }
    }

    fn v(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn pipelined_input_decodes_identically_at_every_split_point() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\nECHO \"a b\"\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n\r\n*0\r\n";
        let expected = vec![
            v(&["SET", "k", "hello"]),
            v(&["PING"]),
            v(&["ECHO", "a b"]),
            v(&["GET", ""]),
        ];
        for split in 0..=input.len() {
            assert_eq!(
                decode_all_split(input, split).unwrap(),
                expected,
                "split at {split}"
            );
        }
    }

    #[test]
    fn byte_by_byte_feeding_yields_the_same_requests() {
        let input = b"*2\r\n$4\r\nECHO\r\n$12\r\nhello\r\nworld\r\n";
        let mut dec = RequestDecoder::new(1 << 20);
        let mut buf = Vec::new();
        let mut got = None;
        for &b in input.iter() {
            buf.push(b);
            if let Some(n) = dec.decode(&buf).unwrap() {
                got = Some((n, args_of(&dec, &buf)));
            }
        }
        let (n, args) = got.unwrap();
        assert_eq!(n, input.len());
        assert_eq!(args, v(&["ECHO", "hello\r\nworld"]));
    }

    #[test]
    fn binary_bulk_is_taken_by_length_not_content() {
        let input = b"*2\r\n$3\r\nGET\r\n$4\r\n\0\r\n\xff\r\n";
        assert_eq!(
            decode_all_split(input, input.len()).unwrap(),
            vec![vec![b"GET".to_vec(), b"\0\r\n\xff".to_vec()]]
        );
    }

    #[test]
    fn bad_multibulk_lengths_are_errors() {
        for bad in [
            &b"*abc\r\n"[..],
            b"*-\r\n",
            b"*01\r\n",
            b"*+1\r\n",
            b"*3000000000\r\n",
            // Redis's string2ll refuses a signed zero.
            b"*-0\r\n",
        ] {
            assert_eq!(
                decode_all_split(bad, bad.len()),
                Err(ProtocolError::InvalidMultibulkLength),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn bad_bulk_headers_are_errors() {
        assert_eq!(
            decode_all_split(b"*1\r\n+PING\r\n", 11),
            Err(ProtocolError::ExpectedDollar('+'))
        );
        assert_eq!(
            decode_all_split(b"*1\r\n$x\r\n", 8),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            decode_all_split(b"*1\r\n$-1\r\n", 9),
            Err(ProtocolError::InvalidBulkLength)
        );
        let mut dec = RequestDecoder::new(10);
        assert_eq!(
            dec.decode(b"*1\r\n$11\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn negative_or_zero_multibulk_is_an_empty_request() {
        assert_eq!(
            decode_all_split(b"*-1\r\n*0\r\n*-9223372036854775808\r\n", 3).unwrap(),
            Vec::<Vec<Vec<u8>>>::new()
        );
    }

    #[test]
    fn oversized_lines_are_errors_not_unbounded_buffering() {
        let inline = vec![b'a'; INLINE_MAX_SIZE + 1];
        assert_eq!(
            decode_all_split(&inline, inline.len()),
            Err(ProtocolError::InlineTooBig)
        );
        let mut mb = b"*".to_vec();
        mb.extend(std::iter::repeat_n(b'1', INLINE_MAX_SIZE + 1));
        assert_eq!(
            decode_all_split(&mb, mb.len()),
            Err(ProtocolError::MultibulkCountTooBig)
        );
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend(std::iter::repeat_n(b'1', INLINE_MAX_SIZE + 1));
        assert_eq!(
            decode_all_split(&bulk, bulk.len()),
            Err(ProtocolError::BulkCountTooBig)
        );
    }

    #[test]
    fn huge_count_does_not_allocate_up_front() {
        let mut dec = RequestDecoder::new(1 << 20);
        assert_eq!(dec.decode(b"*2147483647\r\n").unwrap(), None);
        assert!(dec.spans.capacity() <= 1024);
    }

    #[test]
    fn inline_quoting_follows_redis() {
        let cases: &[(&[u8], Vec<Vec<u8>>)] = &[
            (
                b"set a \"hello world\"\r\n",
                v(&["set", "a", "hello world"]),
            ),
            (b"  ping  \n", v(&["ping"])),
            (
                b"echo \"a\\x41\\n\"\r\n",
                vec![b"echo".to_vec(), b"aA\n".to_vec()],
            ),
            (b"echo 'it\\'s'\r\n", v(&["echo", "it's"])),
            (b"echo \"\"\r\n", v(&["echo", ""])),
        ];
        for (input, want) in cases {
            assert_eq!(&decode_all_split(input, input.len()).unwrap()[0], want);
        }
        for bad in [&b"echo \"abc\r\n"[..], b"echo \"a\"b\r\n", b"echo 'a\r\n"] {
            assert_eq!(
                decode_all_split(bad, bad.len()),
                Err(ProtocolError::UnbalancedQuotes)
            );
        }
    }

    #[test]
    fn empty_inline_lines_are_skipped() {
        assert_eq!(
            decode_all_split(b"\r\n\n   \r\nPING\r\n", 2).unwrap(),
            vec![v(&["PING"])]
        );
    }

    #[test]
    fn unauthenticated_connections_get_redis_lower_limits() {
        let mut dec = RequestDecoder::new(512 * 1024 * 1024);
        dec.set_unauthenticated(true);
        assert_eq!(
            dec.decode(b"*100\r\n"),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut dec = RequestDecoder::new(512 * 1024 * 1024);
        dec.set_unauthenticated(true);
        assert_eq!(
            dec.decode(b"*1\r\n$100000000\r\n"),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
        let mut dec = RequestDecoder::new(512 * 1024 * 1024);
        dec.set_unauthenticated(true);
        let auth = b"*2\r\n$4\r\nAUTH\r\n$3\r\npwd\r\n";
        assert_eq!(dec.decode(auth), Ok(Some(auth.len())));
        dec.set_unauthenticated(false);
        assert_eq!(dec.decode(b"*100\r\n"), Ok(None));
    }

    #[test]
    fn error_reply_text_matches_redis() {
        assert_eq!(
            ProtocolError::InvalidMultibulkLength.reply_text(),
            "ERR Protocol error: invalid multibulk length"
        );
        assert_eq!(
            ProtocolError::ExpectedDollar('x').reply_text(),
            "ERR Protocol error: expected '$', got 'x'"
        );
    }
}
