//! Strings seen as bitmaps: the operations behind SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP and
//! BITFIELD.
//!
//! Bit 0 is the most significant bit of the first byte, as in Redis, so a bitmap reads left to
//! right, and a string reads as zero bits past its end. Writes grow the string with zero bytes
//! as far as they reach and leave it `raw` (OBJECT ENCODING), as Redis's in-place edits do.

use super::keyspace::DbMut;
use super::value::{StrEncoding, Value};
use super::{ShortBytes, StoreResult};

/// What the start and end of a BITCOUNT or BITPOS range count in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RangeUnit {
    #[default]
    Byte,
    Bit,
}

/// An inclusive `start end` range of BITCOUNT or BITPOS; negative values count from the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRange {
    pub start: i64,
    pub end: i64,
    pub unit: RangeUnit,
}

impl BitRange {
    /// The whole string.
    pub const ALL: BitRange = BitRange {
        start: 0,
        end: -1,
        unit: RangeUnit::Byte,
    };

    /// A range that selects nothing in any string.
    pub const EMPTY: BitRange = BitRange {
        start: 1,
        end: 0,
        unit: RangeUnit::Byte,
    };

    /// The inclusive bit positions this range selects in a string of `len` bytes, clamped to
    /// the string as Redis clamps them; `None` when that leaves nothing. O(1).
    pub fn resolve(self, len: usize) -> Option<(u64, u64)> {
        let bytes = i64::try_from(len).unwrap_or(i64::MAX / 8);
        let total = match self.unit {
            RangeUnit::Byte => bytes,
            RangeUnit::Bit => bytes.saturating_mul(8),
        };
        let from_end = |index: i64| {
            if index < 0 {
                total.saturating_add(index)
            } else {
                index
            }
        };
        let start = from_end(self.start).max(0);
        let end = from_end(self.end).max(0).min(total - 1);
        if start > end {
            return None;
        }
        let (start, end) = (start as u64, end as u64);
        Some(match self.unit {
            RangeUnit::Byte => (start * 8, end * 8 + 7),
            RangeUnit::Bit => (start, end),
        })
    }
}

/// BITOP's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// What BITOP did to its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitOpOutcome {
    /// Length of the result (the longest source), which is what BITOP replies.
    pub len: usize,
    /// The result was empty and the destination existed: it was deleted.
    pub deleted: bool,
}

/// What SETBIT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetBitOutcome {
    /// The bit's value before.
    pub previous: bool,
    /// The value changed (the bit flipped, or the string was created or grew): Redis reports
    /// an event and counts a write only then.
    pub changed: bool,
}

/// A BITFIELD integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType {
    pub signed: bool,
    /// Width in bits: 1..=64 signed, 1..=63 unsigned (an unsigned 64-bit value could not be
    /// replied as a RESP integer).
    pub bits: u32,
}

impl FieldType {
    /// Parses `i<bits>` / `u<bits>` as Redis does (the width stops at a NUL byte, as a C
    /// string would). `None` for anything else.
    pub fn parse(text: &[u8]) -> Option<FieldType> {
        let (&sign, rest) = text.split_first()?;
        let signed = match sign {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let width = rest.split(|&b| b == 0).next().unwrap_or_default();
        let bits = crate::number::parse_i64(width)?;
        let max = if signed { 64 } else { 63 };
        (1..=max).contains(&bits).then_some(FieldType {
            signed,
            bits: bits as u32,
        })
    }
}

/// What BITFIELD SET and INCRBY do when the result does not fit the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Keep the low bits (two's complement for signed fields).
    #[default]
    Wrap,
    /// Clamp to the field's minimum or maximum.
    Sat,
    /// Leave the field unchanged and reply nil.
    Fail,
}

/// One BITFIELD operation; `offset` is in bits (the `#N` form already multiplied out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    Get {
        ty: FieldType,
        offset: u64,
    },
    Set {
        ty: FieldType,
        offset: u64,
        value: i64,
        overflow: Overflow,
    },
    IncrBy {
        ty: FieldType,
        offset: u64,
        increment: i64,
        overflow: Overflow,
    },
}

impl FieldOp {
    /// The last bit a write reaches; `None` for GET.
    fn last_written_bit(&self) -> Option<u64> {
        match *self {
            FieldOp::Get { .. } => None,
            FieldOp::Set { ty, offset, .. } | FieldOp::IncrBy { ty, offset, .. } => {
                Some(offset + u64::from(ty.bits) - 1)
            }
        }
    }
}

/// What BITFIELD did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOutcome {
    /// One reply per operation; `None` where OVERFLOW FAIL refused a write.
    pub replies: Vec<Option<i64>>,
    /// Some write changed a value or the string grew: Redis reports an event only then.
    pub changed: bool,
}

/// The bit at `offset`; zero past the end. O(1).
pub fn bit_at(bytes: &[u8], offset: u64) -> bool {
    let Ok(byte) = usize::try_from(offset / 8) else {
        return false;
    };
    bytes
        .get(byte)
        .is_some_and(|b| (b >> (7 - offset % 8)) & 1 == 1)
}

/// Reads 8 bytes as one word (byte order does not matter to the callers).
#[inline]
fn word(chunk: &[u8]) -> u64 {
    chunk.iter().fold(0, |acc, &b| acc << 8 | u64::from(b))
}

/// Set bits in `bytes`, a word at a time. O(len).
pub fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail: u64 = words
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum();
    words.map(|w| u64::from(word(w).count_ones())).sum::<u64>() + tail
}

/// Set bits among bit positions `first..=last`, all inside `bytes`. O(last - first).
pub fn count_ones(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (first_byte, last_byte) = ((first / 8) as usize, (last / 8) as usize);
    let Some(span) = bytes.get(first_byte..=last_byte) else {
        return 0;
    };
    let before_first = span[0] & !(0xFFu8 >> (first % 8));
    let after_last = (0xFFu16 >> (last % 8 + 1)) as u8 & span[span.len() - 1];
    popcount(span) - u64::from(before_first.count_ones()) - u64::from(after_last.count_ones())
}

/// How many bytes at the start of `bytes` equal `skip`, compared a word at a time.
fn skip_run(bytes: &[u8], skip: u8) -> usize {
    let pattern = u64::from_ne_bytes([skip; 8]);
    let words = bytes
        .chunks_exact(8)
        .take_while(|w| word(w) == pattern)
        .count();
    let rest = &bytes[words * 8..];
    words * 8 + rest.iter().take_while(|&&b| b == skip).count()
}

/// The first bit position in `first..=last` (inside `bytes`) holding `bit`. Runs of bytes
/// without it are skipped a word at a time. O(last - first).
pub fn find_bit(bytes: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    let mut pos = first;
    while pos <= last {
        if pos.is_multiple_of(8) && pos + 7 <= last {
            let start = (pos / 8) as usize;
            let end = ((last + 1) / 8) as usize;
            let region = bytes.get(start..end)?;
            let skipped = skip_run(region, if bit { 0x00 } else { 0xFF });
            if let Some(&byte) = region.get(skipped) {
                let wanted = if bit { byte } else { !byte };
                return Some((start + skipped) as u64 * 8 + u64::from(wanted.leading_zeros()));
            }
            pos = end as u64 * 8;
            continue;
        }
        if bit_at(bytes, pos) == bit {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

/// BITPOS on a string: the first `bit` in `range`, or -1. Looking for a 0 without an explicit
/// end treats the string as zero-padded, so it can answer the first position past it. O(N).
pub fn bit_position(bytes: &[u8], bit: bool, range: BitRange, end_given: bool) -> i64 {
    let Some((first, last)) = range.resolve(bytes.len()) else {
        return -1;
    };
    match find_bit(bytes, bit, first, last) {
        Some(pos) => pos as i64,
        None if !bit && !end_given => (last + 1) as i64,
        None => -1,
    }
}

/// BITOP over source strings (a missing key is an empty one): a result as long as the longest
/// source, shorter sources read as zero bytes. O(total length).
pub fn combine(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        accumulate(op, &mut out, source, i == 0);
    }
    out
}

/// Folds one more source into a BITOP result (`first` starts it).
fn accumulate(op: BitOp, out: &mut Vec<u8>, source: &[u8], first: bool) {
    if first {
        out.clear();
        out.extend_from_slice(source);
        if op == BitOp::Not {
            out.iter_mut().for_each(|b| *b = !*b);
        }
        return;
    }
    if out.len() < source.len() {
        out.resize(source.len(), 0);
    }
    let (head, tail) = out.split_at_mut(source.len());
    match op {
        BitOp::And => {
            head.iter_mut().zip(source).for_each(|(o, s)| *o &= s);
            tail.fill(0);
        }
        BitOp::Or => head.iter_mut().zip(source).for_each(|(o, s)| *o |= s),
        BitOp::Xor => head.iter_mut().zip(source).for_each(|(o, s)| *o ^= s),
        // NOT takes a single source (checked by the command).
        BitOp::Not => {}
    }
}

/// The `bits`-wide unsigned field at bit `offset`; zero bits past the end. O(bits).
pub fn read_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |acc, i| acc << 1 | u64::from(bit_at(bytes, offset + i)))
}

/// The `bits`-wide two's complement field at bit `offset`. O(bits).
pub fn read_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    read_signed_bits(read_unsigned(bytes, offset, bits), bits)
}

/// Stores the low `bits` bits of `value` at bit `offset`; bits past the end are dropped (the
/// caller grows the string first). O(bits).
pub fn write_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let pos = offset + i;
        let Some(byte) = usize::try_from(pos / 8).ok().and_then(|b| bytes.get_mut(b)) else {
            return;
        };
        let mask = 1u8 << (7 - pos % 8);
        if (value >> (u64::from(bits) - 1 - i)) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// `value + increment` stored in an unsigned field of `bits` (`increment` 0 for SET, whose
/// value arrives as the two's complement bits of the argument), with Redis's overflow
/// detection; `None` when `overflow` is FAIL and the result does not fit.
pub fn unsigned_result(value: u64, increment: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_increment = max.wrapping_sub(value) as i64;
    let min_increment = value.wrapping_neg() as i64;
    let wrapped = value.wrapping_add(increment as u64) & max;
    let limit = if value > max || (increment > 0 && increment > max_increment) {
        max
    } else if increment < 0 && increment < min_increment {
        0
    } else {
        return Some(value.wrapping_add(increment as u64));
    };
    match overflow {
        Overflow::Wrap => Some(wrapped),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    }
}

/// `value + increment` stored in a signed field of `bits`, with Redis's overflow detection
/// (its conditions are kept exactly, including how SET of a far out-of-range negative value
/// counts as an overflow upwards). `None` when `overflow` is FAIL and it does not fit.
pub fn signed_result(value: i64, increment: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits >= 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_increment = (max as u64).wrapping_sub(value as u64) as i64;
    let min_increment = min.wrapping_sub(value);
    let wide = bits != 64;
    let limit = if value > max
        || (wide && increment > max_increment)
        || (value >= 0 && increment > 0 && increment > max_increment)
    {
        max
    } else if value < min
        || (wide && increment < min_increment)
        || (value < 0 && increment < 0 && increment < min_increment)
    {
        min
    } else {
        return Some(value.wrapping_add(increment));
    };
    match overflow {
        Overflow::Wrap => {
            let sum = (value as u64).wrapping_add(increment as u64);
            if bits >= 64 {
                Some(sum as i64)
            } else if sum & (1 << (bits - 1)) != 0 {
                Some((sum | (u64::MAX << bits)) as i64)
            } else {
                Some((sum & !(u64::MAX << bits)) as i64)
            }
        }
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    }
}

/// Runs one BITFIELD operation on `bytes`; returns its reply (`None`: refused by FAIL) and
/// whether it changed the field.
fn apply_field_op(bytes: &mut [u8], op: &FieldOp) -> (Option<i64>, bool) {
    match *op {
        FieldOp::Get { ty, offset } => (Some(read_field(bytes, ty, offset)), false),
        FieldOp::Set {
            ty,
            offset,
            value,
            overflow,
        } => {
            let old = read_unsigned(bytes, offset, ty.bits);
            let new = if ty.signed {
                signed_result(value, 0, ty.bits, overflow).map(|v| v as u64)
            } else {
                unsigned_result(value as u64, 0, ty.bits, overflow)
            };
            let Some(new) = new else {
                return (None, false);
            };
            write_field(bytes, offset, ty.bits, new);
            let reply = if ty.signed {
                read_signed_bits(old, ty.bits)
            } else {
                old as i64
            };
            (Some(reply), read_unsigned(bytes, offset, ty.bits) != old)
        }
        FieldOp::IncrBy {
            ty,
            offset,
            increment,
            overflow,
        } => {
            let old = read_unsigned(bytes, offset, ty.bits);
            let new = if ty.signed {
                signed_result(read_signed_bits(old, ty.bits), increment, ty.bits, overflow)
            } else {
                unsigned_result(old, increment, ty.bits, overflow).map(|v| v as i64)
            };
            let Some(new) = new else {
                return (None, false);
            };
            write_field(bytes, offset, ty.bits, new as u64);
            (Some(new), read_unsigned(bytes, offset, ty.bits) != old)
        }
    }
}

/// The value of the field of type `ty` at bit `offset`, as BITFIELD GET replies it. O(bits).
pub fn read_field(bytes: &[u8], ty: FieldType, offset: u64) -> i64 {
    if ty.signed {
        read_signed(bytes, offset, ty.bits)
    } else {
        read_unsigned(bytes, offset, ty.bits) as i64
    }
}

/// The signed value of a field's raw bits.
fn read_signed_bits(raw: u64, bits: u32) -> i64 {
    if bits < 64 && raw & (1 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// The string of a key opened for a bit write: marked `raw`, as Redis unshares it.
fn raw_string_mut(value: &mut Value) -> Option<&mut ShortBytes> {
    match value {
        Value::Str(bytes, encoding) => {
            *encoding = StrEncoding::Raw;
            Some(bytes)
        }
        _ => None,
    }
}

fn new_raw_string() -> Value {
    Value::Str(ShortBytes::new(), StrEncoding::Raw)
}

impl DbMut<'_> {
    /// The string at `key` for a bit write, created or zero-padded to at least `len` bytes;
    /// also whether it was created or grew. Does not count the write. O(growth).
    fn bit_target(&mut self, key: &[u8], len: usize) -> StoreResult<(&mut ShortBytes, bool)> {
        let bytes = self.write_typed_or_create(key, raw_string_mut, new_raw_string)?;
        let grew = bytes.len() < len;
        if grew {
            if bytes.is_empty() {
                // A fresh zeroed allocation: the pages stay untouched until written.
                *bytes = ShortBytes::from_elem(0, len);
            } else {
                bytes.resize(len, 0);
            }
        }
        Ok((bytes, grew))
    }

    /// GETBIT: the bit at `offset`, 0 past the end or for a missing key. O(1).
    pub fn get_bit(&mut self, key: &[u8], offset: u64) -> StoreResult<bool> {
        Ok(self
            .get_string(key)?
            .is_some_and(|bytes| bit_at(bytes, offset)))
    }

    /// SETBIT: sets or clears the bit at `offset`, growing the string with zero bytes to
    /// reach it. A write is counted only when something changed. O(1), plus the growth.
    pub fn set_bit(&mut self, key: &[u8], offset: u64, on: bool) -> StoreResult<SetBitOutcome> {
        let byte = usize::try_from(offset / 8).map_err(|_| super::StoreError::StringTooLong)?;
        let (bytes, grew) = self.bit_target(key, byte + 1)?;
        // In range: bit_target made the string at least `byte + 1` long.
        let slot = &mut bytes[byte];
        let mask = 1u8 << (7 - offset % 8);
        let previous = *slot & mask != 0;
        if on {
            *slot |= mask;
        } else {
            *slot &= !mask;
        }
        let changed = grew || previous != on;
        if changed {
            self.after_write(key);
        }
        Ok(SetBitOutcome { previous, changed })
    }

    /// BITCOUNT: set bits in `range` of the string at `key`; 0 for a missing key. O(N).
    pub fn bit_count(&mut self, key: &[u8], range: BitRange) -> StoreResult<u64> {
        let Some(bytes) = self.get_string(key)? else {
            return Ok(0);
        };
        Ok(range
            .resolve(bytes.len())
            .map_or(0, |(first, last)| count_ones(bytes, first, last)))
    }

    /// BITPOS: see [`bit_position`]; a missing key is all zeros (0 for a 0, -1 for a 1). O(N).
    pub fn bit_pos(
        &mut self,
        key: &[u8],
        bit: bool,
        range: BitRange,
        end_given: bool,
    ) -> StoreResult<i64> {
        match self.get_string(key)? {
            None => Ok(if bit { -1 } else { 0 }),
            Some(bytes) => Ok(bit_position(bytes, bit, range, end_given)),
        }
    }

    /// BITOP: combines the strings at `sources` into `dest` (replacing any value and expiry
    /// it had), or deletes `dest` when the result is empty. Every source is checked to be a
    /// string before anything is written. O(total length).
    pub fn bit_op(
        &mut self,
        op: BitOp,
        dest: &[u8],
        sources: &[&[u8]],
    ) -> StoreResult<BitOpOutcome> {
        let mut out = Vec::new();
        for (i, key) in sources.iter().enumerate() {
            let source = self.get_string(key)?.unwrap_or_default();
            accumulate(op, &mut out, source, i == 0);
        }
        let len = out.len();
        if len == 0 {
            let deleted = self.remove(dest);
            return Ok(BitOpOutcome { len, deleted });
        }
        self.insert(
            dest,
            Value::Str(ShortBytes::from_vec(out), StrEncoding::Raw),
            None,
        );
        Ok(BitOpOutcome {
            len,
            deleted: false,
        })
    }

    /// BITFIELD / BITFIELD_RO: runs `ops` in order. Only GETs: a read that never creates the
    /// key. With writes: the string is first created or grown to the farthest bit any write
    /// reaches (even if OVERFLOW FAIL then refuses it, as Redis does). O(ops x 64), plus the
    /// growth.
    pub fn bitfield(&mut self, key: &[u8], ops: &[FieldOp]) -> StoreResult<FieldOutcome> {
        let Some(last_bit) = ops.iter().filter_map(FieldOp::last_written_bit).max() else {
            let bytes = self.get_string(key)?.unwrap_or_default();
            let replies = ops
                .iter()
                .map(|op| match *op {
                    FieldOp::Get { ty, offset } => Some(read_field(bytes, ty, offset)),
                    _ => None,
                })
                .collect();
            return Ok(FieldOutcome {
                replies,
                changed: false,
            });
        };
        let len =
            usize::try_from(last_bit / 8 + 1).map_err(|_| super::StoreError::StringTooLong)?;
        let (bytes, grew) = self.bit_target(key, len)?;
        let mut replies = Vec::with_capacity(ops.len());
        let mut changed = false;
        for op in ops {
            let (reply, field_changed) = apply_field_op(bytes, op);
            let written = reply.is_some() && !matches!(op, FieldOp::Get { .. });
            changed |= field_changed || (grew && written);
            replies.push(reply);
        }
        if changed || grew {
            // A string created or grown only for writes OVERFLOW FAIL refused is still a new
            // value that persistence must see, though Redis reports no event for it.
            self.after_write(key);
        }
        Ok(FieldOutcome { replies, changed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Keyspace, StoreError};

    fn range(start: i64, end: i64, unit: RangeUnit) -> BitRange {
        BitRange { start, end, unit }
    }

    #[test]
    fn ranges_resolve_like_redis() {
        use RangeUnit::*;
        assert_eq!(BitRange::ALL.resolve(3), Some((0, 23)));
        assert_eq!(BitRange::ALL.resolve(0), None);
        assert_eq!(range(1, 1, Byte).resolve(3), Some((8, 15)));
        assert_eq!(range(-2, -1, Byte).resolve(3), Some((8, 23)));
        assert_eq!(range(-100, 100, Byte).resolve(3), Some((0, 23)));
        assert_eq!(range(5, 3, Byte).resolve(10), None);
        assert_eq!(range(3, 100, Byte).resolve(3), None);
        assert_eq!(range(5, -3, Bit).resolve(2), Some((5, 13)));
        assert_eq!(range(i64::MIN, i64::MAX, Bit).resolve(2), Some((0, 15)));
        assert_eq!(range(i64::MAX, i64::MIN, Byte).resolve(2), None);
        assert_eq!(BitRange::EMPTY.resolve(0), None);
        assert_eq!(BitRange::EMPTY.resolve(100), None);
    }

    #[test]
    fn counting_bits_with_partial_bytes() {
        let bytes = b"foobar";
        assert_eq!(popcount(bytes), 26);
        assert_eq!(count_ones(bytes, 0, 47), 26);
        assert_eq!(count_ones(bytes, 8, 15), 6);
        // 'f' = 0110_0110: bits 1..=2 are both set, bits 3..=4 are clear.
        assert_eq!(count_ones(bytes, 1, 2), 2);
        assert_eq!(count_ones(bytes, 3, 4), 0);
        assert_eq!(count_ones(bytes, 5, 12), 2 + 3);
        let long = vec![0xFFu8; 100];
        assert_eq!(count_ones(&long, 3, 796), 794);
    }

    #[test]
    fn finding_bits_skips_whole_words() {
        let mut bytes = vec![0u8; 40];
        assert_eq!(find_bit(&bytes, true, 0, 319), None);
        assert_eq!(find_bit(&bytes, false, 5, 319), Some(5));
        bytes[33] = 0b0001_0000;
        assert_eq!(find_bit(&bytes, true, 0, 319), Some(33 * 8 + 3));
        assert_eq!(find_bit(&bytes, true, 3, 33 * 8 + 2), None);
        let ones = vec![0xFFu8; 20];
        assert_eq!(find_bit(&ones, false, 0, 159), None);
        assert_eq!(bit_position(&ones, false, BitRange::ALL, false), 160);
        assert_eq!(bit_position(&ones, false, BitRange::ALL, true), -1);
        assert_eq!(bit_position(b"", false, BitRange::ALL, false), -1);
        let tail = [0xFF, 0xF0];
        assert_eq!(
            bit_position(&tail, false, range(0, 11, RangeUnit::Bit), true),
            -1
        );
        assert_eq!(
            bit_position(&tail, false, range(0, 12, RangeUnit::Bit), true),
            12
        );
        assert_eq!(
            bit_position(&tail, true, range(7, 15, RangeUnit::Bit), true),
            7
        );
    }

    #[test]
    fn bitop_pads_shorter_sources_with_zeros() {
        let (a, b) = (&b"\xff\x0f\xaa"[..], &b"\x0f"[..]);
        assert_eq!(combine(BitOp::And, &[a, b]), b"\x0f\x00\x00");
        assert_eq!(combine(BitOp::Or, &[b, a]), b"\xff\x0f\xaa");
        assert_eq!(combine(BitOp::Xor, &[a, b, b]), a);
        assert_eq!(combine(BitOp::Not, &[a]), b"\x00\xf0\x55");
        assert_eq!(combine(BitOp::And, &[b"", b""]), b"");
    }

    #[test]
    fn fields_read_and_write_across_bytes() {
        let mut bytes = vec![0u8; 2];
        write_field(&mut bytes, 7, 5, 23);
        assert_eq!(bytes, [0b0000_0001, 0b0111_0000]);
        assert_eq!(read_unsigned(&bytes, 7, 5), 23);
        assert_eq!(read_signed(&bytes, 7, 5), 23 - 32);
        assert_eq!(read_unsigned(&bytes, 12, 63), 0);
        let all = [0xFFu8; 8];
        assert_eq!(read_signed(&all, 0, 64), -1);
        assert_eq!(read_unsigned(&all, 0, 63), (1 << 63) - 1);
    }

    #[test]
    fn overflow_rules() {
        use Overflow::*;
        assert_eq!(unsigned_result(250, 10, 8, Wrap), Some(4));
        assert_eq!(unsigned_result(250, 10, 8, Sat), Some(255));
        assert_eq!(unsigned_result(250, 10, 8, Fail), None);
        assert_eq!(unsigned_result(5, -10, 8, Wrap), Some(251));
        assert_eq!(unsigned_result(5, -10, 8, Sat), Some(0));
        assert_eq!(unsigned_result(-1i64 as u64, 0, 8, Sat), Some(255));
        assert_eq!(unsigned_result(-1i64 as u64, 0, 8, Wrap), Some(255));
        assert_eq!(signed_result(127, 1, 8, Wrap), Some(-128));
        assert_eq!(signed_result(127, 1, 8, Sat), Some(127));
        assert_eq!(signed_result(-128, -1, 8, Wrap), Some(127));
        assert_eq!(signed_result(-128, -1, 8, Sat), Some(-128));
        assert_eq!(signed_result(-128, -1, 8, Fail), None);
        assert_eq!(signed_result(300, 0, 8, Wrap), Some(44));
        assert_eq!(signed_result(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(signed_result(i64::MAX, 1, 64, Sat), Some(i64::MAX));
        assert_eq!(signed_result(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(signed_result(i64::MIN, 0, 8, Sat), Some(127));
        assert_eq!(signed_result(-5, 3, 4, Fail), Some(-2));
    }

    #[test]
    fn field_types_parse_like_redis() {
        let ty = |t: &[u8]| FieldType::parse(t);
        assert_eq!(
            ty(b"i64"),
            Some(FieldType {
                signed: true,
                bits: 64
            })
        );
        assert_eq!(
            ty(b"u63"),
            Some(FieldType {
                signed: false,
                bits: 63
            })
        );
        assert_eq!(
            ty(b"u8\0junk"),
            Some(FieldType {
                signed: false,
                bits: 8
            })
        );
        for bad in [
            &b"u64"[..],
            b"i65",
            b"i0",
            b"U8",
            b"u08",
            b"u+8",
            b"",
            b"8",
            b"i",
        ] {
            assert_eq!(ty(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn setbit_grows_and_counts_only_changes() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        let outcome = db.set_bit(b"k", 9, true).unwrap();
        assert_eq!(
            outcome,
            SetBitOutcome {
                previous: false,
                changed: true
            }
        );
        assert_eq!(db.get_string(b"k"), Ok(Some(&b"\x00\x40"[..])));
        let writes = ks.write_count();
        let mut db = ks.db(0);
        assert!(!db.set_bit(b"k", 9, true).unwrap().changed);
        assert!(db.get_bit(b"k", 9).unwrap());
        assert!(!db.get_bit(b"k", 1 << 40).unwrap());
        assert_eq!(ks.write_count(), writes);
        let mut db = ks.db(0);
        db.insert(b"l", Value::new_list(), None);
        assert_eq!(db.set_bit(b"l", 0, true), Err(StoreError::WrongType));
        assert_eq!(db.get_bit(b"l", 0), Err(StoreError::WrongType));
    }

    #[test]
    fn bitop_stores_or_deletes_the_destination() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        db.insert(
            b"a",
            Value::Str((&b"ab"[..]).into(), StrEncoding::Auto),
            None,
        );
        db.insert(b"d", Value::new_list(), Some(u64::MAX));
        let outcome = db.bit_op(BitOp::Not, b"d", &[b"a"]).unwrap();
        assert_eq!(outcome.len, 2);
        assert_eq!(db.get_string(b"d"), Ok(Some(&b"\x9e\x9d"[..])));
        assert_eq!(db.expire_at(b"d"), None);
        let outcome = db.bit_op(BitOp::And, b"d", &[b"x", b"y"]).unwrap();
        assert_eq!(
            outcome,
            BitOpOutcome {
                len: 0,
                deleted: true
            }
        );
        assert!(!db.exists(b"d"));
        db.insert(b"l", Value::new_list(), None);
        assert_eq!(
            db.bit_op(BitOp::Or, b"d", &[b"a", b"l"]),
            Err(StoreError::WrongType)
        );
        assert!(!db.exists(b"d"));
    }

    #[test]
    fn bitfield_grows_before_running_and_fail_refuses() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        let u8t = FieldType {
            signed: false,
            bits: 8,
        };
        let get = FieldOp::Get { ty: u8t, offset: 0 };
        let outcome = db.bitfield(b"k", &[get]).unwrap();
        assert_eq!(outcome.replies, vec![Some(0)]);
        assert!(!db.exists(b"k"));
        let refused = FieldOp::IncrBy {
            ty: u8t,
            offset: 8,
            increment: 300,
            overflow: Overflow::Fail,
        };
        let outcome = db.bitfield(b"k", &[refused]).unwrap();
        assert_eq!(outcome.replies, vec![None]);
        assert!(!outcome.changed);
        assert_eq!(db.get_string(b"k"), Ok(Some(&b"\0\0"[..])));
        let set = FieldOp::Set {
            ty: u8t,
            offset: 0,
            value: 200,
            overflow: Overflow::Wrap,
        };
        let incr = FieldOp::IncrBy {
            ty: u8t,
            offset: 0,
            increment: 100,
            overflow: Overflow::Sat,
        };
        let outcome = db.bitfield(b"k", &[set, incr, get]).unwrap();
        assert_eq!(outcome.replies, vec![Some(0), Some(255), Some(255)]);
        assert!(outcome.changed);
    }
}
