//! LZF, the compression Redis applies to strings of more than 20 bytes in RDB files and DUMP
//! payloads.
//!
//! Written here rather than taken from a crate: the one pure-Rust LZF crate is deprecated and
//! follows an older liblzf whose match rules differ, so its output is not the bytes Redis
//! writes; byte-for-byte DUMP payloads need the compressor of liblzf 3.6 as Redis builds it
//! (16-bit hash table, the "very fast" hashing that re-seeds two positions after a match).
//! Decompression is the same in every version.

/// Hash table size (log2), as Redis builds liblzf.
const HASH_LOG: u32 = 16;
const HASH_SIZE: usize = 1 << HASH_LOG;
/// Farthest back a reference reaches.
const MAX_OFFSET: usize = 1 << 13;
/// Longest reference, in bytes.
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// Longest literal run.
const MAX_LITERAL: usize = 1 << 5;
/// Most bytes one compressed byte can expand to (a 3-byte reference of 264 bytes): bounds the
/// stated length of a compressed string before anything is allocated.
pub const MAX_EXPANSION: u64 = 88;

fn hash_index(h: u32) -> usize {
    ((h >> (24 - HASH_LOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HASH_SIZE - 1)
}

/// Compresses `input` into at most `capacity` bytes; `None` when it does not fit (Redis then
/// stores the string as it is). O(len), with a 256 KB table.
pub fn compress(input: &[u8], capacity: usize) -> Option<Vec<u8>> {
    let len = input.len();
    if len < 3 || capacity == 0 {
        return None;
    }
    // Positions are stored plus one, so 0 means "none", as liblzf rejects a reference to the
    // very first byte.
    let mut table = vec![0u32; HASH_SIZE];
    let mut out: Vec<u8> = Vec::with_capacity(capacity);
    // Index of the current literal run's length byte.
    let mut run_start = 0usize;
    out.push(0);
    let mut literals = 0usize;
    let mut pos = 0usize;
    let mut h = (u32::from(input[0]) << 8) | u32::from(input[1]);
    while pos < len - 2 {
        h = (h << 8) | u32::from(input[pos + 2]);
        let slot = hash_index(h);
        let candidate = table[slot] as usize;
        table[slot] = pos as u32 + 1;
        let matched = candidate > 1 && {
            let reference = candidate - 1;
            reference < pos
                && pos - reference - 1 < MAX_OFFSET
                && input[reference..reference + 3] == input[pos..pos + 3]
        };
        if matched {
            let reference = candidate - 1;
            let offset = pos - reference - 1;
            let max_len = (len - pos - 2).min(MAX_REF);
            // The room check of liblzf: a reference takes up to 3 bytes, plus a new run byte.
            if out.len() + 3 + 1 >= capacity
                && out.len() - usize::from(literals == 0) + 4 >= capacity
            {
                return None;
            }
            // Close the literal run (or drop its unused length byte).
            if literals == 0 {
                out.pop();
            } else {
                out[run_start] = (literals - 1) as u8;
            }
            let same = |n: usize| input[reference + n] == input[pos + n];
            // liblzf first compares up to 16 more bytes without looking at `max_len` (there
            // are at least 18 left when it is above 16), which lets a match that runs to the
            // end of the input be 2 bytes longer than `max_len`: Redis's bytes depend on it.
            let mut matched_len = 3;
            let mut open = true;
            if max_len > 16 {
                while matched_len <= 18 && same(matched_len) {
                    matched_len += 1;
                }
                open = matched_len > 18;
            }
            if open {
                while matched_len < max_len && same(matched_len) {
                    matched_len += 1;
                }
            }
            // Lengths are stored less 2.
            let stored = matched_len - 2;
            if stored < 7 {
                out.push(((offset >> 8) as u8) + ((stored as u8) << 5));
            } else {
                out.push(((offset >> 8) as u8) + (7 << 5));
                out.push((stored - 7) as u8);
            }
            out.push(offset as u8);
            run_start = out.len();
            out.push(0);
            literals = 0;
            pos += matched_len;
            if pos >= len - 2 {
                break;
            }
            // Seed the table with the two positions before the new one, as liblzf does.
            pos -= 2;
            h = (u32::from(input[pos]) << 8) | u32::from(input[pos + 1]);
            for _ in 0..2 {
                h = (h << 8) | u32::from(input[pos + 2]);
                table[hash_index(h)] = pos as u32 + 1;
                pos += 1;
            }
        } else {
            if out.len() >= capacity {
                return None;
            }
            literals += 1;
            out.push(input[pos]);
            pos += 1;
            if literals == MAX_LITERAL {
                out[run_start] = (literals - 1) as u8;
                literals = 0;
                run_start = out.len();
                out.push(0);
            }
        }
    }
    if out.len() + 3 > capacity {
        return None;
    }
    while pos < len {
        literals += 1;
        out.push(input[pos]);
        pos += 1;
        if literals == MAX_LITERAL {
            out[run_start] = (literals - 1) as u8;
            literals = 0;
            run_start = out.len();
            out.push(0);
        }
    }
    if literals == 0 {
        out.pop();
    } else {
        out[run_start] = (literals - 1) as u8;
    }
    Some(out)
}

/// Decompresses `input`, which must expand to exactly `expected` bytes. `None` on any
/// inconsistency (a reference before the start, output beyond `expected`, a cut input).
/// O(expected).
pub fn decompress(input: &[u8], expected: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(expected);
    let mut pos = 0usize;
    while pos < input.len() {
        let ctrl = usize::from(input[pos]);
        pos += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let literal = input.get(pos..pos + run)?;
            if out.len() + run > expected {
                return None;
            }
            out.extend_from_slice(literal);
            pos += run;
        } else {
            let mut run = ctrl >> 5;
            if run == 7 {
                run += usize::from(*input.get(pos)?);
                pos += 1;
            }
            run += 2;
            let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(pos)?) + 1;
            pos += 1;
            if back > out.len() || out.len() + run > expected {
                return None;
            }
            let from = out.len() - back;
            // Byte by byte: a reference may overlap the bytes it produces.
            for i in 0..run {
                let byte = out[from + i];
                out.push(byte);
            }
        }
    }
    (out.len() == expected).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_does_not_shrink() {
        let text = b"hello world hello world hello world hello world abc".repeat(20);
        let packed = compress(&text, text.len() - 4).expect("repetitive text compresses");
        assert!(packed.len() < text.len() / 4);
        assert_eq!(decompress(&packed, text.len()).as_deref(), Some(&text[..]));
        let noise: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert_eq!(compress(&noise, noise.len() - 4), None);
    }

    #[test]
    fn matches_the_bytes_redis_writes() {
        // DUMP of 85 'a's and of a repeated phrase on redis-server 7.0.15.
        let a = vec![b'a'; 85];
        assert_eq!(compress(&a, 81).unwrap(), b"\x01aa\xe0H\x00\x01aa");
        let a = vec![b'a'; 21];
        assert_eq!(compress(&a, 17).unwrap(), b"\x01aa\xe0\x0a\x00");
        let phrase = b"hello world hello world hello world hello world abc";
        assert_eq!(
            compress(phrase, phrase.len() - 4).unwrap(),
            b"\x0chello world h\xe0\x1a\x0b\x02abc"
        );
    }

    #[test]
    fn rejects_corrupt_input() {
        assert_eq!(decompress(b"\x20\x00", 3), None); // reference before the start
        assert_eq!(decompress(b"\x05ab", 6), None); // literal cut short
        assert_eq!(decompress(b"\x01ab", 3), None); // shorter than stated
        assert_eq!(decompress(b"\x00a\xe0\xff\x00", 10), None); // longer than stated
    }
}
