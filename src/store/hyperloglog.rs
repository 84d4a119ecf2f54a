//! HyperLogLog values: the operations behind PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST,
//! on Redis 7.0's representation byte for byte, so a value moved between Redis and Reddish as
//! a string (GET/SET) counts the same on both.
//!
//! An HLL is an ordinary string value. Its 16-byte header is `HYLL`, the encoding (0 dense, 1
//! sparse), three unused bytes and the cached cardinality: 8 bytes little-endian whose top bit
//! (the last byte's) marks it stale. The 16384 registers follow, in one of two encodings:
//! - dense: 6 bits each, packed from the least significant bit of each byte (12288 bytes);
//! - sparse: run-length opcodes, `00xxxxxx` (ZERO: 1 to 64 registers at 0), `01xxxxxx
//!   yyyyyyyy` (XZERO: 1 to 16384 registers at 0) and `1vvvvvxx` (VAL: 1 to 4 registers at a
//!   value from 1 to 32). A sparse HLL becomes dense for good when a register needs more than
//!   32 or the value would grow past `hll-sparse-max-bytes`.
//!
//! An element sets register `h & 16383` of its 64-bit MurmurHash64A `h` (Redis's seed) to the
//! position of the lowest set bit of `h >> 14` (from 1), if that is higher. The estimate is
//! Ertl's improved raw estimator on the histogram of register values, as Redis 7.0 computes it.
//!
//! Values come from clients (SET), so every walk is checked: a corrupt value gives an error,
//! never a panic, and nothing is allocated from a length read out of it.

use super::keyspace::DbMut;
use super::value::{StrEncoding, Value};
use super::ShortBytes;
use smallvec::SmallVec;

/// Bits of the hash that choose the register.
const P: u32 = 14;
/// Bits of the hash left to count zeros in.
const Q: usize = 64 - P as usize;
/// Registers of every HLL.
pub const REGISTERS: usize = 1 << P;
const HEADER_LEN: usize = 16;
/// Bytes of the dense registers: 16384 of 6 bits.
const DENSE_REGISTER_BYTES: usize = REGISTERS * 6 / 8;
/// Length of every dense HLL value.
pub const DENSE_LEN: usize = HEADER_LEN + DENSE_REGISTER_BYTES;
/// Position of the encoding byte in the header.
const ENCODING_AT: usize = 4;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// Position of the cached cardinality in the header.
const CARD_AT: usize = 8;
/// Set in the last byte of the cached cardinality while the cache is stale.
const STALE_BIT: u8 = 0x80;
const REGISTER_MAX: u8 = 63;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
/// The seed of Redis's element hash.
const SEED: u64 = 0xadc8_3b19;
/// 1 / (2 ln 2), the estimator's constant as m grows.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The dense registers of a value.
type DenseRegisters = [u8; DENSE_REGISTER_BYTES];

/// Why an HLL operation failed; each is one of Redis's error replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HllError {
    /// The key holds a value of another type.
    WrongType,
    /// A string without a valid HLL header (or a dense one of the wrong length).
    NotHll,
    /// The registers do not decode (a sparse value whose runs do not cover 16384 registers).
    Corrupt,
}

/// What PFDEBUG was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugOp {
    /// GETREG: every register (making a sparse value dense first).
    Registers,
    /// DECODE: the sparse opcodes as text.
    Decode,
    /// ENCODING: `sparse` or `dense`.
    Encoding,
    /// TODENSE: makes a sparse value dense.
    ToDense,
    /// Anything else: answered only once the key is found to hold an HLL, as in Redis.
    Unknown,
}

/// PFDEBUG's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugReply {
    NoSuchKey,
    Registers(Vec<u8>),
    /// The opcodes as `z:len`, `Z:len` and `v:value,len`, space-separated; `None` for a dense
    /// value.
    Decoded(Option<String>),
    Encoding(&'static str),
    /// Whether TODENSE converted the value.
    Converted(bool),
    Unknown,
}

/// MurmurHash64A, the 64-bit MurmurHash2 Redis hashes elements with: words are read little
/// endian whatever the machine, as Redis's endian-neutral version does. O(len).
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let (words, tail) = data.as_chunks::<8>();
    for word in words {
        let mut k = u64::from_le_bytes(*word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element sets and the value it offers it (1 to 51). O(len).
fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The guard bit bounds the count at Q + 1.
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------------------------
// Dense registers
// ---------------------------------------------------------------------------------------------

/// Register `index` (masked into range): 6 bits from byte `6 * index / 8` on, the next byte
/// read as 0 past the end (Redis reads the string's terminator there). O(1).
fn dense_get(registers: &DenseRegisters, index: usize) -> u8 {
    let bit = (index & (REGISTERS - 1)) * 6;
    let (byte, shift) = (bit / 8, bit % 8);
    let low = u16::from(registers[byte]);
    let high = registers.get(byte + 1).map_or(0, |&b| u16::from(b));
    (((low | (high << 8)) >> shift) as u8) & REGISTER_MAX
}

/// Sets register `index` (masked into range) to `value` (6 bits). O(1).
fn dense_set(registers: &mut DenseRegisters, index: usize, value: u8) {
    let bit = (index & (REGISTERS - 1)) * 6;
    let (byte, shift) = (bit / 8, bit % 8);
    let mask = u16::from(REGISTER_MAX) << shift;
    let bits = u16::from(value & REGISTER_MAX) << shift;
    registers[byte] = (registers[byte] & !(mask as u8)) | bits as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next = (*next & !((mask >> 8) as u8)) | (bits >> 8) as u8;
    }
}

/// Raises register `index` to `count`; true if it was lower. O(1).
fn dense_raise(registers: &mut DenseRegisters, index: usize, count: u8) -> bool {
    if count > dense_get(registers, index) {
        dense_set(registers, index, count);
        true
    } else {
        false
    }
}

/// The four registers packed in three bytes.
fn unpack([a, b, c]: [u8; 3]) -> [u8; 4] {
    [
        a & REGISTER_MAX,
        ((a >> 6) | (b << 2)) & REGISTER_MAX,
        ((b >> 4) | (c << 4)) & REGISTER_MAX,
        c >> 2,
    ]
}

/// Every register in groups of four, in order. O(1) per register.
fn dense_groups(registers: &DenseRegisters) -> impl Iterator<Item = [u8; 4]> + '_ {
    registers
        .as_chunks::<3>()
        .0
        .iter()
        .map(|&bytes| unpack(bytes))
}

/// Every register in order. O(1) per register.
fn dense_values(registers: &DenseRegisters) -> impl Iterator<Item = u8> + '_ {
    dense_groups(registers).flatten()
}

fn dense_registers(hll: &[u8]) -> Option<&DenseRegisters> {
    hll.get(HEADER_LEN..)?.try_into().ok()
}

fn dense_registers_mut(hll: &mut [u8]) -> Option<&mut DenseRegisters> {
    hll.get_mut(HEADER_LEN..)?.try_into().ok()
}

// ---------------------------------------------------------------------------------------------
// Sparse opcodes
// ---------------------------------------------------------------------------------------------

/// One sparse opcode: the registers it covers, its length in bytes, and their value (0 for
/// ZERO and XZERO).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Op {
    span: usize,
    width: usize,
    value: u8,
}

fn is_xzero(byte: u8) -> bool {
    byte & 0xc0 == 0x40
}

fn is_zero(byte: u8) -> bool {
    byte & 0xc0 == 0
}

fn is_val(byte: u8) -> bool {
    byte & 0x80 != 0
}

fn val_value(byte: u8) -> u8 {
    ((byte >> 2) & 0x1f) + 1
}

fn val_len(byte: u8) -> usize {
    usize::from(byte & 3) + 1
}

/// The VAL opcode for `len` (1 to 4) registers at `value` (1 to 32).
fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

/// Appends the ZERO or XZERO opcode for `len` (1 to 16384) registers at 0, as Redis picks.
fn push_zeros(seq: &mut SmallVec<[u8; 5]>, len: usize) {
    if len > ZERO_MAX_LEN {
        let l = len - 1;
        seq.push(0x40 | (l >> 8) as u8);
        seq.push(l as u8);
    } else {
        seq.push(len as u8 - 1);
    }
}

/// The opcode at `at` in `bytes`, if any; the second byte of an XZERO cut short by the end
/// reads as 0, as Redis reads the string's terminator there.
fn op_at(bytes: &[u8], at: usize) -> Option<Op> {
    let byte = *bytes.get(at)?;
    Some(if is_zero(byte) {
        Op {
            span: usize::from(byte & 0x3f) + 1,
            width: 1,
            value: 0,
        }
    } else if is_xzero(byte) {
        let low = bytes.get(at + 1).copied().unwrap_or(0);
        Op {
            span: ((usize::from(byte & 0x3f) << 8) | usize::from(low)) + 1,
            width: 2,
            value: 0,
        }
    } else {
        Op {
            span: val_len(byte),
            width: 1,
            value: val_value(byte),
        }
    })
}

/// Calls `run(first register, registers, value)` for each opcode of `ops` (a sparse value's
/// registers). False when they do not cover exactly 16384 registers: the walk stops at the
/// first run that would pass the end, as Redis's does. O(len).
fn for_each_run(ops: &[u8], mut run: impl FnMut(usize, usize, u8)) -> bool {
    let (mut at, mut first) = (0, 0);
    while let Some(op) = op_at(ops, at) {
        if first + op.span > REGISTERS {
            return false;
        }
        run(first, op.span, op.value);
        first += op.span;
        at += op.width;
    }
    first == REGISTERS
}

/// The dense form of a sparse HLL: same header (cache included), every register set. O(len +
/// 16384).
fn sparse_to_dense(hll: &[u8]) -> Result<ShortBytes, HllError> {
    let mut dense = ShortBytes::from_elem(0, DENSE_LEN);
    let (Some(header), Some(ops)) = (hll.get(..HEADER_LEN), hll.get(HEADER_LEN..)) else {
        return Err(HllError::Corrupt);
    };
    dense[..HEADER_LEN].copy_from_slice(header);
    dense[ENCODING_AT] = DENSE;
    let registers = dense_registers_mut(&mut dense).ok_or(HllError::Corrupt)?;
    let valid = for_each_run(ops, |first, len, value| {
        if value > 0 {
            for index in first..first + len {
                dense_set(registers, index, value);
            }
        }
    });
    if valid {
        Ok(dense)
    } else {
        Err(HllError::Corrupt)
    }
}

/// Raises register `index` of the sparse HLL `hll` to `count` in place, as Redis's
/// `hllSparseSet`: the opcode covering it is split (an XZERO into at most XZERO VAL XZERO),
/// adjacent equal VALs are merged, and the value becomes dense when `count` is above 32 or the
/// value would grow past `max_bytes`. True if the register was lower. O(len).
fn sparse_raise(
    hll: &mut ShortBytes,
    index: usize,
    count: u8,
    max_bytes: u64,
) -> Result<bool, HllError> {
    if count > VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    let end = hll.len();
    // The opcode covering `index`, the one before it, and the first register it covers.
    let (mut at, mut prev, mut first) = (HEADER_LEN, None, 0);
    let op = loop {
        let Some(op) = op_at(hll, at) else {
            return Err(HllError::Corrupt);
        };
        if index < first + op.span {
            break op;
        }
        prev = Some(at);
        at += op.width;
        first += op.span;
    };
    if op.value > 0 {
        if op.value >= count {
            return Ok(false);
        }
        if op.span == 1 {
            hll[at] = val_op(count, 1);
            merge_values(hll, prev.unwrap_or(HEADER_LEN));
            return Ok(true);
        }
    } else if op.width == 1 && op.span == 1 {
        hll[at] = val_op(count, 1);
        merge_values(hll, prev.unwrap_or(HEADER_LEN));
        return Ok(true);
    }
    let last = first + op.span - 1;
    let mut seq: SmallVec<[u8; 5]> = SmallVec::new();
    if op.value == 0 {
        if index != first {
            push_zeros(&mut seq, index - first);
        }
        seq.push(val_op(count, 1));
        if index != last {
            push_zeros(&mut seq, last - index);
        }
    } else {
        if index != first {
            seq.push(val_op(op.value, index - first));
        }
        seq.push(val_op(count, 1));
        if index != last {
            seq.push(val_op(op.value, last - index));
        }
    }
    // At least `at + 1`: the opcode starts before the end.
    let new_len = end + seq.len() - op.width;
    if seq.len() > op.width && new_len as u64 > max_bytes {
        return promote(hll, index, count);
    }
    hll.drain(at..(at + op.width).min(end));
    hll.insert_from_slice(at, &seq);
    // An XZERO cut short by the end counted a byte that was not there: Redis's length
    // arithmetic drops the last byte written.
    hll.truncate(new_len);
    merge_values(hll, prev.unwrap_or(HEADER_LEN));
    Ok(true)
}

/// After an update: merges adjacent VAL opcodes of the same value (up to 4 registers) among
/// the five opcodes from `from`, and marks the cache stale. O(len) for the moves.
fn merge_values(hll: &mut ShortBytes, from: usize) {
    let (mut at, mut scans) = (from, 5);
    while at < hll.len() && scans > 0 {
        scans -= 1;
        let byte = hll[at];
        if is_xzero(byte) {
            at += 2;
            continue;
        }
        if is_zero(byte) {
            at += 1;
            continue;
        }
        if let Some(&next) = hll.get(at + 1) {
            let len = val_len(byte) + val_len(next);
            if is_val(next) && val_value(byte) == val_value(next) && len <= VAL_MAX_LEN {
                hll[at + 1] = val_op(val_value(byte), len);
                hll.remove(at);
                continue;
            }
        }
        at += 1;
    }
    invalidate_cache(hll);
}

/// Makes a sparse HLL dense, then raises register `index` to `count`.
fn promote(hll: &mut ShortBytes, index: usize, count: u8) -> Result<bool, HllError> {
    *hll = sparse_to_dense(hll)?;
    let registers = dense_registers_mut(hll).ok_or(HllError::Corrupt)?;
    Ok(dense_raise(registers, index, count))
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// A new empty HLL, as Redis creates it: sparse, one XZERO covering every register, a cached
/// cardinality of 0.
pub fn new_hll() -> ShortBytes {
    let mut hll = ShortBytes::from_elem(0, HEADER_LEN + 2);
    hll[..4].copy_from_slice(b"HYLL");
    hll[ENCODING_AT] = SPARSE;
    let mut seq = SmallVec::new();
    push_zeros(&mut seq, XZERO_MAX_LEN);
    hll[HEADER_LEN..].copy_from_slice(&seq);
    hll
}

/// Checks that `bytes` hold an HLL as Redis does before using one: the magic, a known
/// encoding, and the exact length of a dense one (the sparse opcodes are checked as they are
/// walked). O(1).
fn check(bytes: &[u8]) -> Result<(), HllError> {
    let valid = bytes.len() >= HEADER_LEN
        && bytes.starts_with(b"HYLL")
        && match bytes[ENCODING_AT] {
            DENSE => bytes.len() == DENSE_LEN,
            SPARSE => true,
            _ => false,
        };
    if valid {
        Ok(())
    } else {
        Err(HllError::NotHll)
    }
}

fn is_sparse(hll: &[u8]) -> bool {
    hll.get(ENCODING_AT) == Some(&SPARSE)
}

/// The HLL held by a value, checked.
fn hll_of(value: &Value) -> Result<&[u8], HllError> {
    match value {
        Value::Str(bytes, _) => check(bytes).map(|()| &bytes[..]),
        _ => Err(HllError::WrongType),
    }
}

/// The HLL held by a value opened for a write, checked and left `raw` (OBJECT ENCODING), as
/// Redis unshares it.
fn hll_of_mut(value: &mut Value) -> Result<&mut ShortBytes, HllError> {
    match value {
        Value::Str(bytes, encoding) => {
            check(bytes)?;
            *encoding = StrEncoding::Raw;
            Ok(bytes)
        }
        _ => Err(HllError::WrongType),
    }
}

fn invalidate_cache(hll: &mut [u8]) {
    if let Some(byte) = hll.get_mut(CARD_AT + 7) {
        *byte |= STALE_BIT;
    }
}

/// The cached cardinality, unless stale.
fn cached_cardinality(hll: &[u8]) -> Option<u64> {
    let card: [u8; 8] = hll.get(CARD_AT..CARD_AT + 8)?.try_into().ok()?;
    (card[7] & STALE_BIT == 0).then(|| u64::from_le_bytes(card))
}

fn cache_cardinality(hll: &mut [u8], card: u64) {
    if let Some(slot) = hll.get_mut(CARD_AT..CARD_AT + 8) {
        slot.copy_from_slice(&card.to_le_bytes());
    }
}

/// Adds one element to a checked HLL; true if a register rose. O(1) dense, O(len) sparse.
pub fn add(hll: &mut ShortBytes, element: &[u8], sparse_max_bytes: u64) -> Result<bool, HllError> {
    let (index, count) = pattern(element);
    match hll.get(ENCODING_AT) {
        Some(&DENSE) => dense_registers_mut(hll)
            .map(|registers| dense_raise(registers, index, count))
            .ok_or(HllError::Corrupt),
        Some(&SPARSE) => sparse_raise(hll, index, count, sparse_max_bytes),
        _ => Err(HllError::Corrupt),
    }
}

/// How many registers hold each value (0 to 63).
type Histogram = [u32; 64];

fn dense_histogram(registers: &DenseRegisters) -> Histogram {
    let mut histogram = [0; 64];
    for group in dense_groups(registers) {
        for value in group {
            histogram[usize::from(value)] += 1;
        }
    }
    histogram
}

/// The estimate from a register histogram: Ertl's improved raw estimator ("New cardinality
/// estimation algorithms for HyperLogLog sketches", arXiv:1702.01284), computed in Redis's
/// order of operations so the digits match; rounded as C's `llroundl`, whose overflow value
/// Redis then reports. O(1).
fn estimate(histogram: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histogram[Q + 1])) / m);
    for &count in histogram[1..=Q].iter().rev() {
        z += f64::from(count);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    let rounded = (ALPHA_INF * m * m / z).round();
    // `i64::MAX as f64` is 2^63: the first value `llroundl` cannot return.
    if rounded.is_nan() || rounded.abs() >= i64::MAX as f64 {
        1 << 63
    } else {
        rounded as i64 as u64
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// The cardinality a checked HLL estimates (ignoring its cache). O(16384) dense, O(len)
/// sparse.
pub fn count(hll: &[u8]) -> Result<u64, HllError> {
    let histogram = if is_sparse(hll) {
        let mut histogram = [0; 64];
        let ops = hll.get(HEADER_LEN..).unwrap_or_default();
        let valid = for_each_run(ops, |_, len, value| {
            histogram[usize::from(value)] += len as u32;
        });
        if !valid {
            return Err(HllError::Corrupt);
        }
        histogram
    } else {
        dense_histogram(dense_registers(hll).ok_or(HllError::Corrupt)?)
    };
    Ok(estimate(&histogram))
}

/// Raises each of `max` to the matching register of a checked HLL. O(16384 + len).
pub fn merge_registers(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), HllError> {
    if !is_sparse(hll) {
        let registers = dense_registers(hll).ok_or(HllError::Corrupt)?;
        // Four registers at a time: the loop the compiler vectorizes.
        for (slots, group) in max
            .as_chunks_mut::<4>()
            .0
            .iter_mut()
            .zip(dense_groups(registers))
        {
            for (slot, value) in slots.iter_mut().zip(group) {
                *slot = (*slot).max(value);
            }
        }
        return Ok(());
    }
    let ops = hll.get(HEADER_LEN..).unwrap_or_default();
    let valid = for_each_run(ops, |first, len, value| {
        if let Some(slots) = max.get_mut(first..first + len) {
            for slot in slots {
                *slot = (*slot).max(value);
            }
        }
    });
    if valid {
        Ok(())
    } else {
        Err(HllError::Corrupt)
    }
}

/// The cardinality of registers held one per byte (the union PFCOUNT computes). O(16384).
pub fn count_registers(registers: &[u8; REGISTERS]) -> u64 {
    let mut histogram = [0; 64];
    for word in registers.as_chunks::<8>().0 {
        // Empty stretches are common in small sets: eight zero registers at once.
        if *word == [0; 8] {
            histogram[0] += 8;
            continue;
        }
        for &value in word {
            histogram[usize::from(value & REGISTER_MAX)] += 1;
        }
    }
    estimate(&histogram)
}

/// PFMERGE's write: the checked HLL `hll` (dense first when `dense`) gets every register of
/// `max` that is higher, one by one as Redis sets them (so a sparse value may become dense on
/// the way), and a stale cache. O(16384 x len) at worst for a sparse value.
fn store_registers(
    hll: &mut ShortBytes,
    max: &[u8; REGISTERS],
    dense: bool,
    sparse_max_bytes: u64,
) -> Result<(), HllError> {
    if dense && is_sparse(hll) {
        *hll = sparse_to_dense(hll)?;
    }
    for (index, &value) in max.iter().enumerate() {
        if value == 0 {
            continue;
        }
        if is_sparse(hll) {
            // A checked value decodes, so this cannot fail; Redis ignores the result too.
            let _ = sparse_raise(hll, index, value, sparse_max_bytes);
        } else if let Some(registers) = dense_registers_mut(hll) {
            dense_raise(registers, index, value);
        }
    }
    invalidate_cache(hll);
    Ok(())
}

/// PFDEBUG DECODE's text for the sparse opcodes.
fn decode(ops: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut at = 0;
    while let Some(op) = op_at(ops, at) {
        parts.push(match (op.value, op.width) {
            (0, 1) => format!("z:{}", op.span),
            (0, _) => format!("Z:{}", op.span),
            (value, _) => format!("v:{value},{}", op.span),
        });
        at += op.width;
    }
    parts.join(" ")
}

/// PFSELFTEST: checks that dense registers keep what is written to them (1000 rounds of
/// random values), then adds 10 million distinct elements to a dense and a sparse HLL side by
/// side, and at 1, 10, 100... elements checks that the sparse one is still sparse while small,
/// that both estimate the same, and that the error is within 6 standard errors. Redis's own
/// check, with its error texts. About a second.
pub fn self_test(rng: &mut impl rand::Rng, sparse_max_bytes: u64) -> Result<(), String> {
    let mut registers: Box<DenseRegisters> = Box::new([0; DENSE_REGISTER_BYTES]);
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (index, slot) in expected.iter_mut().enumerate() {
            *slot = rng.gen::<u8>() & REGISTER_MAX;
            dense_set(&mut registers, index, *slot);
        }
        for (index, &want) in expected.iter().enumerate() {
            let got = dense_get(&registers, index);
            if got != want {
                return Err(format!(
                    "TESTFAILED Register {index} should be {want} but is {got}"
                ));
            }
        }
    }

    let mut dense = ShortBytes::from_elem(0, DENSE_LEN);
    let mut sparse = new_hll();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed: u64 = rng.gen();
    for j in 1..=10_000_000u64 {
        let element = (j ^ seed).to_le_bytes();
        let (index, rank) = pattern(&element);
        if let Some(registers) = dense_registers_mut(&mut dense) {
            dense_raise(registers, index, rank);
        }
        add(&mut sparse, &element, sparse_max_bytes).map_err(|_| "TESTFAILED sparse add")?;
        if j != checkpoint {
            continue;
        }
        if j < sparse_max_bytes / 2 && !is_sparse(&sparse) {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let estimated = count(&dense).map_err(|_| "TESTFAILED dense count")?;
        if count(&sparse).ok() != Some(estimated) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let error = checkpoint.abs_diff(estimated);
        let max_error = if j == 10 {
            1
        } else {
            (relative_error * 6.0 * checkpoint as f64).ceil() as u64
        };
        if error > max_error {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{error}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Keyspace operations
// ---------------------------------------------------------------------------------------------

impl DbMut<'_> {
    /// PFADD: adds `elements` to the HLL at `key`, creating it (sparse) if missing; true if
    /// the key was created or a register rose, and then the cache is stale. A corrupt value
    /// fails at the first element that needs its registers decoded; what earlier elements
    /// changed stays, as in Redis. O(elements) dense, O(elements x len) sparse.
    pub fn pf_add(
        &mut self,
        key: &[u8],
        elements: &[&[u8]],
        sparse_max_bytes: u64,
    ) -> Result<bool, HllError> {
        let Some(value) = self.lookup_write(key) else {
            let mut hll = new_hll();
            for element in elements {
                add(&mut hll, element, sparse_max_bytes)?;
            }
            invalidate_cache(&mut hll);
            self.insert(key, Value::Str(hll, StrEncoding::Raw), None);
            return Ok(true);
        };
        let hll = hll_of_mut(value)?;
        let mut updated = false;
        let mut failure = None;
        for element in elements {
            match add(hll, element, sparse_max_bytes) {
                Ok(raised) => updated |= raised,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if updated && failure.is_none() {
            invalidate_cache(hll);
        }
        if updated {
            self.after_write(key);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(updated),
        }
    }

    /// PFCOUNT of one key: the cached cardinality, or the estimate, which is then cached in
    /// the value (a write, as in Redis); 0 for a missing key. O(1) cached, else as [`count`].
    pub fn pf_count(&mut self, key: &[u8]) -> Result<u64, HllError> {
        let Some(value) = self.lookup_read(key) else {
            return Ok(0);
        };
        let hll = hll_of(value)?;
        let raw = matches!(value, Value::Str(_, StrEncoding::Raw));
        let cached = cached_cardinality(hll);
        if let (Some(card), true) = (cached, raw) {
            return Ok(card);
        }
        let card = match cached {
            Some(card) => card,
            None => count(hll)?,
        };
        // Redis unshares the string (leaving it `raw`) before it reads the cache.
        if let Some(value) = self.lookup_write(key) {
            let hll = hll_of_mut(value)?;
            if cached.is_none() {
                cache_cardinality(hll, card);
                self.modified(key);
            }
        }
        Ok(card)
    }

    /// PFCOUNT of several keys: the cardinality of their union, without changing them
    /// (missing keys count as empty). O(keys x 16384).
    pub fn pf_count_union(&mut self, keys: &[&[u8]]) -> Result<u64, HllError> {
        let mut max = Box::new([0u8; REGISTERS]);
        for key in keys {
            if let Some(value) = self.lookup_read(key) {
                merge_registers(&mut max, hll_of(value)?)?;
            }
        }
        Ok(count_registers(&max))
    }

    /// PFMERGE: the union of `dest` and `sources` stored in `dest` (created if missing), dense
    /// if any of them is, with a stale cache; every value is checked before `dest` changes.
    /// O(keys x 16384), plus the sparse updates.
    pub fn pf_merge(
        &mut self,
        dest: &[u8],
        sources: &[&[u8]],
        sparse_max_bytes: u64,
    ) -> Result<(), HllError> {
        let mut max = Box::new([0u8; REGISTERS]);
        let mut dense = false;
        for key in std::iter::once(&dest).chain(sources) {
            if let Some(value) = self.lookup_read(key) {
                let hll = hll_of(value)?;
                dense |= !is_sparse(hll);
                merge_registers(&mut max, hll)?;
            }
        }
        match self.lookup_write(dest) {
            Some(value) => {
                let hll = hll_of_mut(value)?;
                store_registers(hll, &max, dense, sparse_max_bytes)?;
                self.after_write(dest);
            }
            None => {
                let mut hll = new_hll();
                store_registers(&mut hll, &max, dense, sparse_max_bytes)?;
                self.insert(dest, Value::Str(hll, StrEncoding::Raw), None);
            }
        }
        Ok(())
    }

    /// PFDEBUG: `op` on the HLL at `key`. GETREG and TODENSE make a sparse value dense (a
    /// write). O(16384 + len).
    pub fn pf_debug(&mut self, key: &[u8], op: DebugOp) -> Result<DebugReply, HllError> {
        let Some(value) = self.lookup_write(key) else {
            return Ok(DebugReply::NoSuchKey);
        };
        let hll = hll_of_mut(value)?;
        let converts = matches!(op, DebugOp::Registers | DebugOp::ToDense) && is_sparse(hll);
        if converts {
            *hll = sparse_to_dense(hll)?;
        }
        let reply = match op {
            DebugOp::Registers => {
                let registers = dense_registers(hll).ok_or(HllError::Corrupt)?;
                DebugReply::Registers(dense_values(registers).collect())
            }
            DebugOp::Decode => DebugReply::Decoded(
                is_sparse(hll).then(|| decode(hll.get(HEADER_LEN..).unwrap_or_default())),
            ),
            DebugOp::Encoding => {
                DebugReply::Encoding(if is_sparse(hll) { "sparse" } else { "dense" })
            }
            DebugOp::ToDense => DebugReply::Converted(converts),
            DebugOp::Unknown => DebugReply::Unknown,
        };
        if converts {
            self.after_write(key);
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Keyspace;
    use rand::SeedableRng;

    /// An HLL with `elements` added one by one, as PFADD builds it.
    fn built(elements: impl IntoIterator<Item = String>, max_bytes: u64) -> ShortBytes {
        let mut hll = new_hll();
        for element in elements {
            add(&mut hll, element.as_bytes(), max_bytes).unwrap();
        }
        hll
    }

    fn registers_of(hll: &[u8]) -> Vec<u8> {
        let mut max = [0u8; REGISTERS];
        merge_registers(&mut max, hll).unwrap();
        max.to_vec()
    }

    #[test]
    fn murmur_matches_the_reference_digits() {
        // MurmurHash64A with Redis's seed, as Redis 7.0's own function computes these (empty,
        // tail only, one word and a tail, two words and a tail).
        for (input, hash) in [
            ("", 15627466953755236146),
            ("a", 6039968161137406375),
            ("foo", 16592960565925911732),
            ("hello world", 12184977182547125431),
            ("0123456789abcdef01234", 783454380422443139),
        ] {
            assert_eq!(murmur64a(input.as_bytes(), SEED), hash, "{input:?}");
        }
    }

    #[test]
    fn a_new_hll_is_one_xzero_with_a_valid_zero_cache() {
        let hll = new_hll();
        assert_eq!(
            &hll[..],
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
        );
        assert_eq!(cached_cardinality(&hll), Some(0));
        assert_eq!(count(&hll), Ok(0));
        assert_eq!(decode(&hll[HEADER_LEN..]), "Z:16384");
    }

    #[test]
    fn dense_registers_pack_six_bits_each() {
        let mut registers = [0u8; DENSE_REGISTER_BYTES];
        for index in 0..REGISTERS {
            dense_set(&mut registers, index, (index % 64) as u8);
        }
        for index in 0..REGISTERS {
            assert_eq!(dense_get(&registers, index), (index % 64) as u8);
        }
        let values: Vec<u8> = dense_values(&registers).collect();
        assert_eq!(values.len(), REGISTERS);
        assert!(values.iter().enumerate().all(|(i, &v)| v == (i % 64) as u8));
        // Register 1 is bits 6..12: the top two bits of byte 0 and the low four of byte 1.
        let mut registers = [0u8; DENSE_REGISTER_BYTES];
        dense_set(&mut registers, 1, 63);
        assert_eq!(&registers[..3], &[0xc0, 0x0f, 0x00]);
        dense_set(&mut registers, REGISTERS - 1, 63);
        assert_eq!(registers[DENSE_REGISTER_BYTES - 1], 0xfc);
    }

    #[test]
    fn sparse_updates_split_and_merge_opcodes() {
        let mut hll = new_hll();
        assert_eq!(sparse_raise(&mut hll, 100, 3, 3000), Ok(true));
        assert_eq!(decode(&hll[HEADER_LEN..]), "Z:100 v:3,1 Z:16283");
        assert_eq!(sparse_raise(&mut hll, 100, 2, 3000), Ok(false));
        assert_eq!(sparse_raise(&mut hll, 101, 3, 3000), Ok(true));
        assert_eq!(decode(&hll[HEADER_LEN..]), "Z:100 v:3,2 Z:16282");
        assert_eq!(sparse_raise(&mut hll, 0, 1, 3000), Ok(true));
        assert_eq!(decode(&hll[HEADER_LEN..]), "v:1,1 Z:99 v:3,2 Z:16282");
        assert_eq!(sparse_raise(&mut hll, 16383, 32, 3000), Ok(true));
        assert_eq!(
            decode(&hll[HEADER_LEN..]),
            "v:1,1 Z:99 v:3,2 Z:16281 v:32,1"
        );
        // A new VAL next to an equal one merges with it; raising the middle of a VAL run
        // splits it in three.
        assert_eq!(sparse_raise(&mut hll, 102, 3, 3000), Ok(true));
        assert_eq!(
            decode(&hll[HEADER_LEN..]),
            "v:1,1 Z:99 v:3,3 Z:16280 v:32,1"
        );
        assert_eq!(sparse_raise(&mut hll, 101, 5, 3000), Ok(true));
        assert_eq!(
            decode(&hll[HEADER_LEN..]),
            "v:1,1 Z:99 v:3,1 v:5,1 v:3,1 Z:16280 v:32,1"
        );
        // Short zero runs take one byte.
        assert_eq!(sparse_raise(&mut hll, 50, 2, 3000), Ok(true));
        assert_eq!(
            decode(&hll[HEADER_LEN..]),
            "v:1,1 z:49 v:2,1 z:49 v:3,1 v:5,1 v:3,1 Z:16280 v:32,1"
        );
        assert_eq!(hll[CARD_AT + 7] & STALE_BIT, STALE_BIT);
        // A count above 32 makes it dense.
        assert_eq!(sparse_raise(&mut hll, 7, 33, 3000), Ok(true));
        assert_eq!(hll.len(), DENSE_LEN);
        let registers = dense_registers(&hll).unwrap();
        assert_eq!(dense_get(registers, 7), 33);
        assert_eq!(dense_get(registers, 101), 5);
        assert_eq!(dense_get(registers, 16383), 32);
    }

    #[test]
    fn sparse_and_dense_agree_and_promotion_follows_the_limit() {
        let elements = || (0..2000).map(|i| format!("element:{i}"));
        let sparse = built(elements(), 1_000_000);
        assert!(is_sparse(&sparse));
        let mut dense = ShortBytes::from_elem(0, DENSE_LEN);
        dense[..4].copy_from_slice(b"HYLL");
        for element in elements() {
            add(&mut dense, element.as_bytes(), 3000).unwrap();
        }
        assert_eq!(registers_of(&sparse), registers_of(&dense));
        assert_eq!(count(&sparse), count(&dense));
        let estimate = count(&dense).unwrap();
        assert!(estimate.abs_diff(2000) < 40, "{estimate}");
        let promoted = built(elements(), 3000);
        assert!(!is_sparse(&promoted));
        assert_eq!(registers_of(&promoted), registers_of(&dense));
    }

    #[test]
    fn corrupt_sparse_values_are_errors() {
        let mut hll = new_hll();
        hll.extend_from_slice(b"hello");
        assert_eq!(count(&hll), Err(HllError::Corrupt));
        let mut max = [0u8; REGISTERS];
        assert_eq!(merge_registers(&mut max, &hll), Err(HllError::Corrupt));
        // Short of the registers: the update cannot find its opcode.
        let mut short = new_hll();
        short.truncate(HEADER_LEN);
        short.push(0x3f);
        assert_eq!(count(&short), Err(HllError::Corrupt));
        assert_eq!(
            sparse_raise(&mut short, 1000, 1, 3000),
            Err(HllError::Corrupt)
        );
        assert_eq!(sparse_to_dense(&short), Err(HllError::Corrupt));
        // Runs adding up to far more than 16384 do not overflow anything.
        let mut long = new_hll();
        long.truncate(HEADER_LEN);
        for _ in 0..200_000 {
            long.extend_from_slice(&[0x7f, 0xff]);
        }
        long.push(0xff);
        assert_eq!(count(&long), Err(HllError::Corrupt));
        // A truncated XZERO at the end reads its missing byte as 0.
        let mut cut = new_hll();
        cut.truncate(HEADER_LEN + 1);
        assert_eq!(op_at(&cut, HEADER_LEN).map(|op| op.span), Some(0x3f00 + 1));
        assert_eq!(count(&cut), Err(HllError::Corrupt));
        assert_eq!(
            check(b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0"),
            Err(HllError::NotHll)
        );
        assert_eq!(
            check(b"HYLL\x00\0\0\0\0\0\0\0\0\0\0\0"),
            Err(HllError::NotHll)
        );
        assert_eq!(check(b"HYL"), Err(HllError::NotHll));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for round in 0..2000 {
            let mut hll = built((0..round % 300).map(|i| format!("{round}:{i}")), 3000);
            for _ in 0..1 + round % 5 {
                let at = rand::Rng::gen_range(&mut rng, 0..hll.len());
                hll[at] = rand::Rng::gen(&mut rng);
            }
            if check(&hll).is_err() {
                continue;
            }
            let _ = count(&hll);
            let mut max = [0u8; REGISTERS];
            let _ = merge_registers(&mut max, &hll);
            for i in 0..20 {
                let _ = add(&mut hll, format!("x{i}").as_bytes(), 3000);
            }
            let _ = decode(hll.get(HEADER_LEN..).unwrap_or_default());
        }
    }

    #[test]
    fn the_estimator_handles_its_extremes() {
        let mut histogram = [0u32; 64];
        histogram[0] = REGISTERS as u32;
        assert_eq!(estimate(&histogram), 0);
        let mut histogram = [0u32; 64];
        histogram[Q + 1] = REGISTERS as u32;
        assert_eq!(estimate(&histogram), 1 << 63);
    }

    #[test]
    fn self_test_passes() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        assert_eq!(self_test(&mut rng, 3000), Ok(()));
    }

    #[test]
    fn keyspace_operations_keep_the_cache_and_types() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        assert_eq!(db.pf_add(b"h", &[b"a", b"b", b"c"], 3000), Ok(true));
        assert_eq!(db.pf_add(b"h", &[b"a"], 3000), Ok(false));
        assert_eq!(db.pf_count(b"h"), Ok(3));
        let Some(Value::Str(bytes, _)) = db.lookup_read(b"h") else {
            panic!("not a string")
        };
        assert_eq!(cached_cardinality(bytes), Some(3));
        assert_eq!(db.pf_count(b"missing"), Ok(0));
        assert_eq!(db.pf_add(b"g", &[b"c", b"d"], 3000), Ok(true));
        assert_eq!(db.pf_count_union(&[b"h", b"g", b"none"]), Ok(4));
        assert_eq!(db.pf_merge(b"u", &[b"h", b"g"], 3000), Ok(()));
        assert_eq!(db.pf_count(b"u"), Ok(4));
        assert_eq!(
            db.pf_debug(b"u", DebugOp::Encoding),
            Ok(DebugReply::Encoding("sparse"))
        );
        assert_eq!(
            db.pf_debug(b"u", DebugOp::ToDense),
            Ok(DebugReply::Converted(true))
        );
        assert_eq!(
            db.pf_debug(b"u", DebugOp::Decode),
            Ok(DebugReply::Decoded(None))
        );
        assert_eq!(db.pf_count(b"u"), Ok(4));
        assert_eq!(
            db.pf_debug(b"nope", DebugOp::Encoding),
            Ok(DebugReply::NoSuchKey)
        );
        db.insert(
            b"s",
            Value::Str(ShortBytes::from_slice(b"bar"), StrEncoding::Auto),
            None,
        );
        assert_eq!(db.pf_add(b"s", &[b"x"], 3000), Err(HllError::NotHll));
        assert_eq!(db.pf_count_union(&[b"h", b"s"]), Err(HllError::NotHll));
        assert_eq!(db.pf_merge(b"s", &[b"h"], 3000), Err(HllError::NotHll));
    }
}
