//! The request decoder on arbitrary bytes, fed whole and in pieces as a socket would deliver
//! them: both ways must decode the same requests and stop at the same error, every argument
//! span must lie inside what was given, and nothing may panic. The first input byte picks
//! the piece size and whether the connection is unauthenticated (Redis's lower limits).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reddish::protocol::{ArgSource, RequestDecoder};

/// Largest bulk argument accepted (small, so limits are reached by short inputs too).
const MAX_BULK_LEN: usize = 1 << 16;

/// What decoding gave: the requests' arguments, then the error that stopped it, if any.
#[derive(Debug, PartialEq)]
struct Decoded {
    requests: Vec<Vec<Vec<u8>>>,
    error: Option<String>,
}

/// Decodes `input` given `piece` bytes at a time (0: all at once).
fn decode(input: &[u8], piece: usize, unauthenticated: bool) -> Decoded {
    let mut decoder = RequestDecoder::new(MAX_BULK_LEN);
    decoder.set_unauthenticated(unauthenticated);
    let mut buffer: Vec<u8> = Vec::new();
    let mut consumed = 0;
    let mut fed = 0;
    let mut decoded = Decoded {
        requests: Vec::new(),
        error: None,
    };
    loop {
        let window = &buffer[consumed..];
        match decoder.decode(window) {
            Ok(Some(used)) => {
                assert!(used > 0 && used <= window.len(), "consumed {used} of {}", window.len());
                let source: &[u8] = match decoder.source() {
                    ArgSource::Input => window,
                    ArgSource::Inline => decoder.inline_bytes(),
                };
                let args = decoder
                    .spans()
                    .iter()
                    .map(|&(start, end)| {
                        assert!(start <= end && end <= source.len(), "span {start}..{end}");
                        source[start..end].to_vec()
                    })
                    .collect();
                decoded.requests.push(args);
                consumed += used;
            }
            Ok(None) => {
                if fed == input.len() {
                    return decoded;
                }
                let take = if piece == 0 { input.len() - fed } else { piece.min(input.len() - fed) };
                buffer.extend_from_slice(&input[fed..fed + take]);
                fed += take;
            }
            Err(error) => {
                decoded.error = Some(error.reply_text());
                return decoded;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let piece = usize::from(control & 0x1f) + 1;
    let unauthenticated = control & 0x80 != 0;
    let whole = decode(input, 0, unauthenticated);
    let pieces = decode(input, piece, unauthenticated);
    assert_eq!(whole, pieces, "piece size {piece}");
});
