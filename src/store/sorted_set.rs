//! `SortedSet`: the hand-written structure inside a sorted set value ([`super::zset`] holds
//! the value and its keyspace operations), with the parsing of scores and score/lex bounds.
//!
//! Members are binary-safe byte strings with `f64` scores, ordered by score
//! and then by member bytes, exactly as Redis orders them. Two structures hold
//! the same entries:
//! - an [`OsTree`] keyed by (score, member), for ranks and ranges, and
//! - a `hashbrown::HashTable` of the tree's [`NodeId`]s keyed by the member's
//!   hash, for O(1) member -> score lookups.
//!
//! Each member is stored once, in its tree node (inline when it has at most
//! 22 bytes): the hash table holds only a 4-byte node id and compares members
//! by looking them up in the tree. The
//! tree reports when a removal moves a node to another slot, and the table
//! follows. Invariant: the table's ids are exactly the tree's live slots.
//!
//! Scores are never NaN (inserts that would store NaN are refused), so the
//! score comparison is a total order; `-0.0` and `0.0` compare equal, as in
//! Redis. A stored `-0.0` is normalized to `0.0`, which is what Redis 7's
//! compact (listpack) encoding does for small sorted sets (`ZADD z -0 m` then
//! `ZSCORE z m` replies `0`).
//!
//! Lexicographic ranges follow Redis's listpack code (the encoding of every
//! sorted set of up to 128 members, so the one tests and small workloads
//! see): the range starts at the first member in score order that is >= min
//! and runs while members are <= max. When all scores are equal (the case
//! ZRANGEBYLEX is meant for) members are sorted and the start is found in
//! O(log n); otherwise the scan is linear, as it is in Redis.
//!
//! The module also parses scores and range bounds the way Redis does,
//! including the quirks of C's `strtod` (hex floats, `inf`, leading spaces
//! in bounds, an empty bound meaning 0).

use std::cmp::Ordering;
use std::fmt;
use std::hash::BuildHasher;
use std::ops::Range;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use rand::Rng;

use super::ostree::{self, NodeId, OsTree, Removed};
use super::{index_range, StopBeforeFirst};
use crate::number::{cmp_non_nan, is_c_space, parse_float_prefix};

/// Errors of sorted-set operations and argument parsing. `Display` gives
/// Redis's exact message; the reply is `-ERR <message>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZSetError {
    /// A score argument is not a valid float (ZADD, ZINCRBY).
    NotAFloat,
    /// An operation would store a NaN score (e.g. `+inf` plus `-inf`).
    NotANumber,
    /// A ZRANGEBYSCORE-style bound is invalid.
    InvalidScoreBound,
    /// A ZRANGEBYLEX-style bound is invalid.
    InvalidLexBound,
}

impl fmt::Display for ZSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ZSetError::NotAFloat => "value is not a valid float",
            ZSetError::NotANumber => "resulting score is not a number (NaN)",
            ZSetError::InvalidScoreBound => "min or max is not a float",
            ZSetError::InvalidLexBound => "min or max not valid string range item",
        })
    }
}

impl std::error::Error for ZSetError {}

impl From<ZSetError> for super::StoreError {
    fn from(e: ZSetError) -> Self {
        match e {
            ZSetError::NotAFloat => super::StoreError::NotFloat,
            other => super::StoreError::Invalid(other.to_string()),
        }
    }
}

/// Parses a score argument (ZADD, ZINCRBY) as Redis's `string2d` does: the
/// whole argument must be a `strtod` number with no leading white space,
/// not NaN, not overflowing to infinity and not underflowing to zero
/// (`inf`, `-inf` and hex floats are accepted). O(len).
pub fn parse_score(arg: &[u8]) -> Result<f64, ZSetError> {
    let parsed = parse_float_prefix(arg);
    if arg.is_empty()
        || is_c_space(arg[0])
        || parsed.len != arg.len()
        || parsed.out_of_range
        || parsed.value.is_nan()
    {
        return Err(ZSetError::NotAFloat);
    }
    Ok(parsed.value)
}

/// One end of a score range: `value` itself is included unless `exclusive`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBound {
    /// The boundary score (may be infinite, never NaN).
    pub value: f64,
    /// Whether `value` itself is outside the range.
    pub exclusive: bool,
}

impl ScoreBound {
    /// The bound that admits every score from below (`-inf`).
    pub const MIN: ScoreBound = ScoreBound {
        value: f64::NEG_INFINITY,
        exclusive: false,
    };
    /// The bound that admits every score from above (`+inf`).
    pub const MAX: ScoreBound = ScoreBound {
        value: f64::INFINITY,
        exclusive: false,
    };

    /// Whether `score` is on the inner side of this bound used as a minimum.
    pub fn admits_from_below(&self, score: f64) -> bool {
        if self.exclusive {
            score > self.value
        } else {
            score >= self.value
        }
    }

    /// Whether `score` is on the inner side of this bound used as a maximum.
    pub fn admits_from_above(&self, score: f64) -> bool {
        if self.exclusive {
            score < self.value
        } else {
            score <= self.value
        }
    }
}

/// Parses a ZRANGEBYSCORE-style bound as Redis's `zslParseRange` does:
/// `(x` is exclusive, anything else is `strtod`ed whole (so `-inf`, `+inf`,
/// `1e3`, `0x10`, leading white space, and even an empty string meaning 0
/// are accepted); NaN is refused. Like the C code, the argument ends at its
/// first NUL byte. O(len).
pub fn parse_score_bound(arg: &[u8]) -> Result<ScoreBound, ZSetError> {
    let c_string = arg.split(|b| *b == 0).next().unwrap_or(&[]);
    let (text, exclusive) = match c_string.split_first() {
        Some((b'(', rest)) => (rest, true),
        _ => (c_string, false),
    };
    let parsed = parse_float_prefix(text);
    // strtod's end pointer must reach the terminator; with no conversion it
    // stays at the start, so only an empty text passes that way (as 0).
    if parsed.len != text.len() || parsed.value.is_nan() {
        return Err(ZSetError::InvalidScoreBound);
    }
    Ok(ScoreBound {
        value: parsed.value,
        exclusive,
    })
}

/// One end of a lexicographic range (ZRANGEBYLEX syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`
    Inclusive(Box<[u8]>),
    /// `(member`
    Exclusive(Box<[u8]>),
}

impl LexBound {
    /// Whether `member` is on the inner side of this bound used as a minimum
    /// (Redis's `zslLexValueGteMin`; `+` as a minimum admits nothing).
    pub fn admits_from_below(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(b) => member >= &b[..],
            LexBound::Exclusive(b) => member > &b[..],
        }
    }

    /// Whether `member` is on the inner side of this bound used as a maximum
    /// (Redis's `zslLexValueLteMax`; `-` as a maximum admits nothing).
    pub fn admits_from_above(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(b) => member <= &b[..],
            LexBound::Exclusive(b) => member < &b[..],
        }
    }
}

/// Parses a ZRANGEBYLEX-style bound as Redis's `zslParseLexRangeItem` does:
/// `[x` inclusive, `(x` exclusive, `-` and `+` (a NUL byte may follow them,
/// as the C code checks only the next character). O(len).
pub fn parse_lex_bound(arg: &[u8]) -> Result<LexBound, ZSetError> {
    let alone = arg.len() == 1 || arg.get(1) == Some(&0);
    match arg.split_first() {
        Some((b'+', _)) if alone => Ok(LexBound::Max),
        Some((b'-', _)) if alone => Ok(LexBound::Min),
        Some((b'[', rest)) => Ok(LexBound::Inclusive(rest.into())),
        Some((b'(', rest)) => Ok(LexBound::Exclusive(rest.into())),
        _ => Err(ZSetError::InvalidLexBound),
    }
}

// ---------------------------------------------------------------------------
// The sorted set
// ---------------------------------------------------------------------------

/// Longest member stored inside the tree node rather than in its own heap
/// block: the largest that keeps `MemberBytes` at 24 bytes.
const INLINE_MEMBER_MAX: usize = 22;

/// A member's bytes: inline when short (typical members), boxed otherwise.
/// Inline storage saves the member's own allocation (32 bytes with glibc for
/// a 16-byte member) and a pointer chase on every comparison.
#[derive(Clone)]
enum MemberBytes {
    Inline {
        len: u8,
        bytes: [u8; INLINE_MEMBER_MAX],
    },
    Heap(Box<[u8]>),
}

impl MemberBytes {
    fn new(member: &[u8]) -> Self {
        if member.len() <= INLINE_MEMBER_MAX {
            let mut bytes = [0; INLINE_MEMBER_MAX];
            bytes[..member.len()].copy_from_slice(member);
            MemberBytes::Inline {
                // Fits: at most INLINE_MEMBER_MAX.
                len: member.len() as u8,
                bytes,
            }
        } else {
            MemberBytes::Heap(member.into())
        }
    }

    fn into_boxed(self) -> Box<[u8]> {
        match self {
            MemberBytes::Heap(b) => b,
            inline => Box::from(&*inline),
        }
    }

    /// Bytes allocated outside the node.
    fn heap_len(&self) -> usize {
        match self {
            MemberBytes::Inline { .. } => 0,
            MemberBytes::Heap(b) => b.len(),
        }
    }
}

impl std::ops::Deref for MemberBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            // `len` never exceeds INLINE_MEMBER_MAX (set only in `new`).
            MemberBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            MemberBytes::Heap(b) => b,
        }
    }
}

impl fmt::Debug for MemberBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

/// A tree key: ordered by score, then by member bytes.
#[derive(Clone, Debug)]
struct ZKey {
    score: f64,
    member: MemberBytes,
}

impl ZKey {
    /// Orders this key against (score, member) without building a key.
    fn cmp_parts(&self, score: f64, member: &[u8]) -> Ordering {
        cmp_non_nan(self.score, score).then_with(|| (*self.member).cmp(member))
    }
}

super::order_by_cmp!(ZKey);

impl Ord for ZKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_parts(other.score, &other.member)
    }
}

/// Most members a set keeps packed (see [`Packed`]), and the longest member it packs: Redis's
/// defaults for its own compact encoding (`zset-max-listpack-entries` and `-value`), where
/// scanning the members costs no more than a hash lookup and a tree walk would. Past either,
/// the set moves to the tree for good, as Redis's does to its skiplist. The form is only a
/// memory layout: what Redis reports (OBJECT ENCODING, `-0`) follows the configured limits in
/// [`super::zset`], whichever form holds the members.
const PACKED_MAX_ENTRIES: usize = 128;
const PACKED_MAX_MEMBER: usize = 64;

/// A small set packed into one buffer, as Redis's listpack packs it: a count, where each
/// entry starts, then the entries in (score, member) order, each its score and its member's
/// bytes. One allocation of about 3 bytes plus the member per entry for small integral scores
/// (11 for others), where a tree node with its index slot takes about 80: small sorted sets
/// (a leaderboard per user, a sliding window per client) are the common case. Ranks are
/// positions; a member lookup scans, as Redis's does.
///
/// Layout of `buf` (empty for an empty set): `[n: u8][n start offsets: u16 LE][entries]`, the
/// offsets counted from the first entry. An entry is `[tag: u8][score][member]`: tag 0, an
/// 8-byte `f64`; tag k in 1..=8, an integer in k little-endian bytes, sign-extended (a score
/// that is integral, within ±2^53 so the `f64` is exact, and not `-0`).
#[derive(Clone, Default)]
struct Packed {
    buf: Vec<u8>,
}

/// The bytes of an entry's score: its tag and the value's bytes.
fn encode_score(score: f64, out: &mut [u8; 9]) -> usize {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let integral =
        score.fract() == 0.0 && score.abs() <= EXACT && !(score == 0.0 && score.is_sign_negative());
    if !integral {
        out[0] = 0;
        out[1..9].copy_from_slice(&score.to_le_bytes());
        return 9;
    }
    let n = score as i64;
    // The fewest bytes whose sign extension gives `n` back.
    let width = (1..=8)
        .find(|&k| {
            let shift = 64 - 8 * k;
            (n << shift) >> shift == n
        })
        .unwrap_or(8);
    out[0] = width as u8;
    out[1..1 + width].copy_from_slice(&n.to_le_bytes()[..width]);
    1 + width
}

/// The score an entry starts with and the length of its encoding.
fn decode_score(entry: &[u8]) -> (f64, usize) {
    match entry.first().copied().unwrap_or(0) {
        0 => {
            let bytes = entry.get(1..9).and_then(|b| b.try_into().ok());
            (f64::from_le_bytes(bytes.unwrap_or([0; 8])), 9)
        }
        width => {
            let width = usize::from(width).min(8);
            let mut bytes = [0u8; 8];
            bytes[..width].copy_from_slice(&entry[1..1 + width]);
            let shift = 64 - 8 * width as u32;
            let n = (i64::from_le_bytes(bytes) << shift) >> shift;
            (n as f64, 1 + width)
        }
    }
}

impl Packed {
    fn len(&self) -> usize {
        self.buf.first().map_or(0, |&n| usize::from(n))
    }

    /// Where the entries begin in `buf`.
    fn data_start(&self) -> usize {
        1 + 2 * self.len()
    }

    /// Entry `i`'s offset from the first entry.
    fn offset(&self, i: usize) -> usize {
        usize::from(u16::from_le_bytes([
            self.buf[1 + 2 * i],
            self.buf[2 + 2 * i],
        ]))
    }

    fn set_offset(&mut self, i: usize, offset: usize) {
        self.buf[1 + 2 * i..3 + 2 * i].copy_from_slice(&(offset as u16).to_le_bytes());
    }

    /// The bytes of entry `i`: its start and end in `buf`.
    fn span(&self, i: usize) -> Range<usize> {
        let base = self.data_start();
        let end = if i + 1 < self.len() {
            base + self.offset(i + 1)
        } else {
            self.buf.len()
        };
        base + self.offset(i)..end
    }

    /// Entry `i`: its member and score.
    fn entry(&self, i: usize) -> (&[u8], f64) {
        let entry = &self.buf[self.span(i)];
        let (score, used) = decode_score(entry);
        (&entry[used..], score)
    }

    /// The rank of `member`. O(n).
    fn position(&self, member: &[u8]) -> Option<usize> {
        (0..self.len()).find(|&i| self.entry(i).0 == member)
    }

    /// The number of leading entries for which `pred` holds (entries are ordered so that
    /// it holds for a prefix). O(log n).
    fn partition_point(&self, mut pred: impl FnMut(&[u8], f64) -> bool) -> usize {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = (low + high) / 2;
            let (member, score) = self.entry(mid);
            if pred(member, score) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// Puts (`member`, `score`), absent, in its place. The buffer grows by what it takes, as
    /// a listpack does, rather than doubling. O(n).
    fn insert_new(&mut self, member: &[u8], score: f64) {
        let at =
            self.partition_point(|m, s| cmp_non_nan(s, score).then_with(|| m.cmp(member)).is_lt());
        let mut score_bytes = [0u8; 9];
        let score_len = encode_score(score, &mut score_bytes);
        let size = score_len + member.len();
        let n = self.len();
        if n == 0 {
            self.buf.clear();
            self.buf.reserve_exact(3 + size);
            self.buf.extend_from_slice(&[1, 0, 0]);
            self.buf.extend_from_slice(&score_bytes[..score_len]);
            self.buf.extend_from_slice(member);
            return;
        }
        let old_base = self.data_start();
        let old_len = self.buf.len();
        let offset = if at < n {
            self.offset(at)
        } else {
            old_len - old_base
        };
        self.buf.reserve_exact(2 + size);
        self.buf.resize(old_len + 2 + size, 0);
        // The entries after the new one move by its size and the new offset's 2 bytes; those
        // before it by the 2 bytes.
        let split = old_base + offset;
        self.buf.copy_within(split..old_len, split + 2 + size);
        self.buf.copy_within(old_base..split, old_base + 2);
        let at_bytes = split + 2;
        self.buf[at_bytes..at_bytes + score_len].copy_from_slice(&score_bytes[..score_len]);
        self.buf[at_bytes + score_len..at_bytes + size].copy_from_slice(member);
        // The offsets after `at` move up one slot, growing by the entry's size.
        self.buf.copy_within(1 + 2 * at..old_base, 3 + 2 * at);
        self.buf[0] = (n + 1) as u8;
        self.set_offset(at, offset);
        for i in at + 1..=n {
            let moved = self.offset(i) + size;
            self.set_offset(i, moved);
        }
    }

    /// Removes entry `i`; returns its member and score. O(n).
    fn remove_at(&mut self, i: usize) -> (Box<[u8]>, f64) {
        let (member, score) = self.entry(i);
        let taken = (Box::from(member), score);
        let n = self.len();
        if n == 1 {
            self.buf = Vec::new();
            return taken;
        }
        let span = self.span(i);
        let size = span.len();
        self.buf.drain(span);
        for j in i + 1..n {
            let moved = self.offset(j) - size;
            self.set_offset(j, moved);
        }
        self.buf.drain(1 + 2 * i..3 + 2 * i);
        self.buf[0] = (n - 1) as u8;
        // Memory goes back as a listpack's does when it shrinks, within a margin.
        if self.buf.capacity() > 2 * self.buf.len() + 64 {
            self.buf.shrink_to_fit();
        }
        taken
    }

    fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }
}

/// A set past the packed sizes: members in an order-statistic tree keyed by (score, member),
/// and a hash table of the tree's node ids by member.
#[derive(Clone, Default)]
struct TreeSet {
    tree: OsTree<ZKey, ()>,
    /// One entry per tree slot, hashed by the member stored in that slot.
    members: HashTable<NodeId>,
    hasher: RandomState,
}

impl TreeSet {
    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    fn find(&self, member: &[u8]) -> Option<NodeId> {
        let tree = &self.tree;
        self.members
            .find(self.hash(member), |&id| {
                tree.key_at(id).is_some_and(|k| *k.member == *member)
            })
            .copied()
    }

    /// Adds a tree node's id to the member index.
    fn index_node(&mut self, id: NodeId) {
        let Some(key) = self.tree.key_at(id) else {
            return;
        };
        let hash = self.hasher.hash_one(&*key.member);
        let (tree, hasher) = (&self.tree, &self.hasher);
        self.members.insert_unique(hash, id, |&other| {
            // Every id in the table is a live slot, so the fallback (hashing
            // an empty member) is never used.
            hasher.hash_one(tree.key_at(other).map_or(&[][..], |k| &*k.member))
        });
    }

    /// Updates the member index after a tree removal: drops the removed
    /// member's id and follows the node the tree moved into its slot.
    fn unindex(&mut self, removed: &Removed<ZKey, ()>) {
        // Ids in the table are distinct (one per live slot), so matching on
        // the id alone finds exactly the wanted entry.
        let hash = self.hash(&removed.key.member);
        if let Ok(entry) = self.members.find_entry(hash, |&id| id == removed.id) {
            entry.remove();
        }
        let moved = removed
            .relocated
            .and_then(|m| Some((m, self.tree.key_at(m.to)?)));
        if let Some((moved, key)) = moved {
            let hash = self.hasher.hash_one(&*key.member);
            if let Some(slot) = self.members.find_mut(hash, |&id| id == moved.from) {
                *slot = moved.to;
            }
        }
        let (tree, hasher) = (&self.tree, &self.hasher);
        if self.members.capacity() > 64 && self.members.len() < self.members.capacity() / 4 {
            self.members.shrink_to_fit(|&id| {
                hasher.hash_one(tree.key_at(id).map_or(&[][..], |k| &*k.member))
            });
        }
    }

    fn remove_at(&mut self, rank: usize) -> Option<(Box<[u8]>, f64)> {
        let removed = self.tree.remove_at(rank)?;
        self.unindex(&removed);
        Some((removed.key.member.into_boxed(), removed.key.score))
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member)
            .and_then(|id| self.tree.key_at(id))
            .map(|k| k.score)
    }

    fn insert_exact(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let Some(id) = self.find(member) else {
            let key = ZKey {
                score,
                member: MemberBytes::new(member),
            };
            let (id, _) = self.tree.insert_full(key, ());
            self.index_node(id);
            return None;
        };
        let old = self.tree.key_at(id).map_or(score, |k| k.score);
        if old != score {
            self.rescore(old, member, score);
        }
        Some(old)
    }

    /// Moves an existing member from score `old` to `new` (re-using its
    /// allocation). O(log n).
    fn rescore(&mut self, old: f64, member: &[u8], new: f64) {
        let Some(removed) = self.tree.remove_by(|k| k.cmp_parts(old, member)) else {
            return;
        };
        self.unindex(&removed);
        let key = ZKey {
            score: new,
            member: removed.key.member,
        };
        let (id, _) = self.tree.insert_full(key, ());
        self.index_node(id);
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.score(member)?;
        let removed = self.tree.remove_by(|k| k.cmp_parts(score, member))?;
        self.unindex(&removed);
        Some(score)
    }

    fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        self.tree.rank_by(|k| k.cmp_parts(score, member))
    }

    fn heap_bytes(&self) -> usize {
        let members: usize = self.tree.iter().map(|(k, _)| k.member.heap_len()).sum();
        std::mem::size_of::<Self>()
            + self.tree.arena_bytes()
            + self.members.capacity() * (std::mem::size_of::<NodeId>() + 1)
            + members
    }
}

/// The two forms of a set (see [`Packed`] and [`TreeSet`]).
#[derive(Clone)]
enum Form {
    Packed(Packed),
    Tree(Box<TreeSet>),
}

impl Default for Form {
    fn default() -> Self {
        Form::Packed(Packed::default())
    }
}

/// A Redis sorted set; see the module documentation.
#[derive(Clone, Default)]
pub struct SortedSet {
    form: Form,
}

impl fmt::Debug for SortedSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

impl SortedSet {
    /// An empty set; allocates nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set from (member, score) pairs, e.g. when loading from
    /// persistence; a repeated member keeps its last score. Fails (building
    /// nothing) on a NaN score. O(n log n).
    pub fn from_entries<M, I>(entries: I) -> Result<Self, ZSetError>
    where
        M: AsRef<[u8]>,
        I: IntoIterator<Item = (M, f64)>,
    {
        let mut set = SortedSet::new();
        for (member, score) in entries {
            set.insert(member.as_ref(), score)?;
        }
        Ok(set)
    }

    /// Number of members. O(1).
    pub fn len(&self) -> usize {
        match &self.form {
            Form::Packed(packed) => packed.len(),
            Form::Tree(tree) => tree.tree.len(),
        }
    }

    /// Whether the set has no members. O(1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate heap bytes used by the set (for MEMORY USAGE and
    /// eviction estimates): the packed buffers, or the tree arena, the hash
    /// table and the member allocations. O(n) for a tree.
    pub fn heap_bytes(&self) -> usize {
        match &self.form {
            Form::Packed(packed) => packed.heap_bytes(),
            Form::Tree(tree) => tree.heap_bytes(),
        }
    }

    /// True while the set is packed (see [`Packed`]).
    #[cfg(test)]
    fn is_packed(&self) -> bool {
        matches!(self.form, Form::Packed(_))
    }

    /// An empty set in the tree form, for testing that form at small sizes.
    #[cfg(test)]
    fn new_tree() -> Self {
        SortedSet {
            form: Form::Tree(Box::default()),
        }
    }

    /// The number of leading members (in ascending order) for which `pred`
    /// holds, `pred` holding for a prefix. O(log n).
    fn partition_point(&self, mut pred: impl FnMut(&[u8], f64) -> bool) -> usize {
        match &self.form {
            Form::Packed(packed) => packed.partition_point(pred),
            Form::Tree(tree) => tree.tree.partition_point(|k| pred(&k.member, k.score)),
        }
    }

    fn remove_node_at_rank(&mut self, rank: usize) -> Option<(Box<[u8]>, f64)> {
        match &mut self.form {
            Form::Packed(packed) => (rank < packed.len()).then(|| packed.remove_at(rank)),
            Form::Tree(tree) => tree.remove_at(rank),
        }
    }

    /// The score of `member`. O(1) expected (O(n) packed).
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.form {
            Form::Packed(packed) => packed.position(member).map(|i| packed.entry(i).1),
            Form::Tree(tree) => tree.score(member),
        }
    }

    /// Whether `member` is in the set. O(1) expected (O(n) packed).
    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Sets the score of `member`, adding it if absent. Returns the previous
    /// score (`None` if the member is new). As in Redis, the entry is only
    /// touched when the new score differs (`!=`, so `-0` over `0` is no
    /// change). Refuses NaN. O(log n) (O(n) packed).
    pub fn insert(&mut self, member: &[u8], score: f64) -> Result<Option<f64>, ZSetError> {
        // Adding 0.0 turns -0.0 into 0.0 (see the module documentation).
        self.insert_exact(member, score + 0.0)
    }

    /// Like [`Self::insert`] but stores `score` as given, `-0.0` included:
    /// what Redis's skiplist encoding (sets of more than 128 members or with
    /// a member over 64 bytes) does (`ZSCORE` then replies `-0`). O(log n).
    pub fn insert_exact(&mut self, member: &[u8], score: f64) -> Result<Option<f64>, ZSetError> {
        if score.is_nan() {
            return Err(ZSetError::NotANumber);
        }
        if let Form::Packed(packed) = &mut self.form {
            match packed.position(member) {
                Some(i) => {
                    let old = packed.entry(i).1;
                    if old != score {
                        packed.remove_at(i);
                        packed.insert_new(member, score);
                    }
                    return Ok(Some(old));
                }
                None if packed.len() < PACKED_MAX_ENTRIES && member.len() <= PACKED_MAX_MEMBER => {
                    packed.insert_new(member, score);
                    return Ok(None);
                }
                None => {
                    // Past the packed sizes: the set moves to the tree, for good.
                    let mut tree = Box::<TreeSet>::default();
                    for i in 0..packed.len() {
                        let (member, score) = packed.entry(i);
                        tree.insert_exact(member, score);
                    }
                    let previous = tree.insert_exact(member, score);
                    self.form = Form::Tree(tree);
                    return Ok(previous);
                }
            }
        }
        match &mut self.form {
            Form::Tree(tree) => Ok(tree.insert_exact(member, score)),
            Form::Packed(_) => Ok(None),
        }
    }

    /// Adds `delta` to the score of `member` (a new member starts from
    /// `delta` itself, as in Redis) and returns the new score, un-normalized
    /// for the reply (ZINCRBY of `-0` on a new member replies `-0`). A NaN
    /// result is refused and leaves the set unchanged. O(log n).
    pub fn incr(&mut self, member: &[u8], delta: f64) -> Result<f64, ZSetError> {
        let new = match self.score(member) {
            Some(old) => old + delta,
            None => delta,
        };
        if new.is_nan() {
            return Err(ZSetError::NotANumber);
        }
        self.insert(member, new)?;
        Ok(new)
    }

    /// Removes `member`, returning its score. O(log n) (O(n) packed).
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.form {
            Form::Packed(packed) => {
                let i = packed.position(member)?;
                Some(packed.remove_at(i).1)
            }
            Form::Tree(tree) => tree.remove(member),
        }
    }

    /// The 0-based rank of `member` in ascending order (ZRANK). O(log n)
    /// (O(n) packed).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.form {
            Form::Packed(packed) => packed.position(member),
            Form::Tree(tree) => tree.rank(member),
        }
    }

    /// The 0-based rank of `member` in descending order (ZREVRANK). O(log n).
    pub fn rev_rank(&self, member: &[u8]) -> Option<usize> {
        self.rank(member).map(|r| self.len() - 1 - r)
    }

    /// The member of ascending rank `rank` and its score. O(log n).
    pub fn select(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.form {
            Form::Packed(packed) => (rank < packed.len()).then(|| packed.entry(rank)),
            Form::Tree(tree) => tree.tree.select(rank).map(|(k, _)| (&*k.member, k.score)),
        }
    }

    /// The lowest-ranked member. O(log n).
    pub fn first(&self) -> Option<(&[u8], f64)> {
        self.select(0)
    }

    /// The highest-ranked member. O(log n).
    pub fn last(&self) -> Option<(&[u8], f64)> {
        self.len().checked_sub(1).and_then(|r| self.select(r))
    }

    /// All (member, score) pairs in ascending order; double-ended (for
    /// persistence and ZSCAN). O(log n) to start, O(1) amortized per item.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_ranks(0..self.len())
    }

    /// The pairs whose ascending ranks are in `ranks` (clamped);
    /// double-ended: `.rev()` walks down from `ranks.end - 1`. O(log n + k).
    pub fn iter_ranks(&self, ranks: Range<usize>) -> Iter<'_> {
        Iter {
            inner: self.cursor(ranks),
        }
    }

    /// A double-ended walk over the members of ascending ranks `ranks` (clamped).
    fn cursor(&self, ranks: Range<usize>) -> Cursor<'_> {
        match &self.form {
            Form::Packed(packed) => {
                let end = ranks.end.min(packed.len());
                Cursor::Packed {
                    packed,
                    ranks: ranks.start.min(end)..end,
                }
            }
            Form::Tree(tree) => Cursor::Tree(tree.tree.iter_ranks(ranks)),
        }
    }

    /// ZRANGE by index: `start`/`stop` as Redis takes them (inclusive,
    /// negative from the end); with `rev` they count from the highest score
    /// down and the items come in descending order (ZREVRANGE). O(log n + k).
    pub fn range_by_rank(&self, start: i64, stop: i64, rev: bool) -> RangeIter<'_> {
        let len = self.len();
        let (ranks, direction) = match index_range(start, stop, len, StopBeforeFirst::Empty) {
            None => (0..0, Direction::Forward),
            Some(r) if rev => (len - r.end..len - r.start, Direction::Backward),
            Some(r) => (r, Direction::Forward),
        };
        RangeIter {
            inner: self.cursor(ranks),
            direction,
            stop: Stop::Never,
            remaining: usize::MAX,
        }
    }

    /// Whether every member has the same score, so members are in byte
    /// order. O(log n).
    fn uniform_score(&self) -> bool {
        match (self.first(), self.last()) {
            (Some((_, a)), Some((_, b))) => a == b,
            _ => true,
        }
    }

    /// Ascending rank of the first member with score in range (Redis's
    /// `zslFirstInRange`). O(log n).
    fn first_in_score_range(&self, min: &ScoreBound, max: &ScoreBound) -> Option<usize> {
        let start = self.partition_point(|_, score| !min.admits_from_below(score));
        let (_, score) = self.select(start)?;
        max.admits_from_above(score).then_some(start)
    }

    /// Ascending rank of the last member with score in range. O(log n).
    fn last_in_score_range(&self, min: &ScoreBound, max: &ScoreBound) -> Option<usize> {
        let end = self.partition_point(|_, score| max.admits_from_above(score));
        let last = end.checked_sub(1)?;
        let (_, score) = self.select(last)?;
        min.admits_from_below(score).then_some(last)
    }

    /// The ascending ranks of the members with `min <= score <= max`
    /// (bounds as given). O(log n).
    pub fn score_range_ranks(&self, min: &ScoreBound, max: &ScoreBound) -> Range<usize> {
        let start = self.partition_point(|_, score| !min.admits_from_below(score));
        let end = self.partition_point(|_, score| max.admits_from_above(score));
        start..end.max(start)
    }

    /// Number of members with score in range (ZCOUNT). O(log n).
    pub fn count_by_score(&self, min: &ScoreBound, max: &ScoreBound) -> usize {
        self.score_range_ranks(min, max).len()
    }

    /// ZRANGEBYSCORE (or ZREVRANGEBYSCORE with `rev`, where the items come in
    /// descending order; `min`/`max` keep their meaning) with LIMIT `offset`
    /// and `limit` (`None` = no limit). Redis's negative LIMIT offset yields
    /// nothing and a negative count means no limit; callers map those.
    /// O(log n + k).
    pub fn range_by_score<'a>(
        &'a self,
        min: &ScoreBound,
        max: &ScoreBound,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> RangeIter<'a> {
        let (ranks, direction, stop) = if rev {
            let start = self.last_in_score_range(min, max);
            (
                back_from(start, offset),
                Direction::Backward,
                Stop::ScoreBelow(*min),
            )
        } else {
            let start = self.first_in_score_range(min, max);
            let ranks = forward_from(start, offset, self.len());
            (ranks, Direction::Forward, Stop::ScoreAbove(*max))
        };
        RangeIter {
            inner: self.cursor(ranks),
            direction,
            stop,
            remaining: limit.unwrap_or(usize::MAX),
        }
    }

    /// Removes the members with score in range (ZREMRANGEBYSCORE); returns
    /// how many. O(k log n).
    pub fn remove_range_by_score(&mut self, min: &ScoreBound, max: &ScoreBound) -> usize {
        let ranks = self.score_range_ranks(min, max);
        self.remove_ranks(ranks)
    }

    /// Removes the members of Redis-style index range `start..=stop`
    /// (ZREMRANGEBYRANK); returns how many. O(k log n).
    pub fn remove_range_by_rank(&mut self, start: i64, stop: i64) -> usize {
        match index_range(start, stop, self.len(), StopBeforeFirst::Empty) {
            Some(ranks) => self.remove_ranks(ranks),
            None => 0,
        }
    }

    fn remove_ranks(&mut self, ranks: Range<usize>) -> usize {
        let mut removed = 0;
        for _ in ranks.clone() {
            if self.remove_node_at_rank(ranks.start).is_none() {
                break;
            }
            removed += 1;
        }
        removed
    }

    /// Redis's lex range precheck (`zzlIsInLexRange` without its empty-range
    /// test, which cannot change any result): the last member must be >= min
    /// and the first <= max.
    fn lex_range_may_match(&self, min: &LexBound, max: &LexBound) -> bool {
        match (self.first(), self.last()) {
            (Some((first, _)), Some((last, _))) => {
                min.admits_from_below(last) && max.admits_from_above(first)
            }
            _ => false,
        }
    }

    /// Ascending rank of the first member of the lex range (Redis's
    /// `zzlFirstInLexRange`). O(log n) with uniform scores, else O(n).
    fn first_in_lex_range(&self, min: &LexBound, max: &LexBound) -> Option<usize> {
        if !self.lex_range_may_match(min, max) {
            return None;
        }
        let start = if self.uniform_score() {
            self.partition_point(|member, _| !min.admits_from_below(member))
        } else {
            self.iter().position(|(m, _)| min.admits_from_below(m))?
        };
        let (member, _) = self.select(start)?;
        max.admits_from_above(member).then_some(start)
    }

    /// Ascending rank of the last member of the lex range, searching from
    /// the top (Redis's `zzlLastInLexRange`). O(log n) with uniform scores,
    /// else O(n).
    fn last_in_lex_range(&self, min: &LexBound, max: &LexBound) -> Option<usize> {
        if !self.lex_range_may_match(min, max) {
            return None;
        }
        let last = if self.uniform_score() {
            self.partition_point(|member, _| max.admits_from_above(member))
                .checked_sub(1)?
        } else {
            let from_top = self
                .iter()
                .rev()
                .position(|(m, _)| max.admits_from_above(m))?;
            self.len() - 1 - from_top
        };
        let (member, _) = self.select(last)?;
        min.admits_from_below(member).then_some(last)
    }

    /// The ascending ranks of the lex range as Redis walks it forward: from
    /// the first member >= min while members are <= max (ZLEXCOUNT,
    /// ZREMRANGEBYLEX). O(log n) with uniform scores, else O(n).
    pub fn lex_range_ranks(&self, min: &LexBound, max: &LexBound) -> Range<usize> {
        let Some(start) = self.first_in_lex_range(min, max) else {
            return 0..0;
        };
        let end = if self.uniform_score() {
            self.partition_point(|member, _| max.admits_from_above(member))
        } else {
            start
                + self
                    .iter_ranks(start..self.len())
                    .take_while(|(m, _)| max.admits_from_above(m))
                    .count()
        };
        start..end.max(start)
    }

    /// Number of members in the lex range (ZLEXCOUNT). O(log n) with uniform
    /// scores, else O(n).
    pub fn count_by_lex(&self, min: &LexBound, max: &LexBound) -> usize {
        self.lex_range_ranks(min, max).len()
    }

    /// ZRANGEBYLEX (ZREVRANGEBYLEX with `rev`) with LIMIT, like
    /// [`Self::range_by_score`]. O(log n + k) with uniform scores.
    pub fn range_by_lex<'a>(
        &'a self,
        min: &'a LexBound,
        max: &'a LexBound,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> RangeIter<'a> {
        let (ranks, direction, stop) = if rev {
            let start = self.last_in_lex_range(min, max);
            (
                back_from(start, offset),
                Direction::Backward,
                Stop::LexBelow(min),
            )
        } else {
            let start = self.first_in_lex_range(min, max);
            let ranks = forward_from(start, offset, self.len());
            (ranks, Direction::Forward, Stop::LexAbove(max))
        };
        RangeIter {
            inner: self.cursor(ranks),
            direction,
            stop,
            remaining: limit.unwrap_or(usize::MAX),
        }
    }

    /// Removes the lex range (ZREMRANGEBYLEX); returns how many. O(k log n)
    /// with uniform scores.
    pub fn remove_range_by_lex(&mut self, min: &LexBound, max: &LexBound) -> usize {
        let ranks = self.lex_range_ranks(min, max);
        self.remove_ranks(ranks)
    }

    /// Removes and returns up to `count` members with the lowest scores,
    /// lowest first (ZPOPMIN). O(count log n).
    pub fn pop_min(&mut self, count: usize) -> Vec<(Box<[u8]>, f64)> {
        let n = count.min(self.len());
        (0..n).filter_map(|_| self.remove_node_at_rank(0)).collect()
    }

    /// Removes and returns up to `count` members with the highest scores,
    /// highest first (ZPOPMAX). O(count log n).
    pub fn pop_max(&mut self, count: usize) -> Vec<(Box<[u8]>, f64)> {
        let n = count.min(self.len());
        (0..n)
            .filter_map(|_| {
                let last = self.len().checked_sub(1)?;
                self.remove_node_at_rank(last)
            })
            .collect()
    }

    /// One uniformly random member (ZRANDMEMBER without count). O(log n).
    pub fn random_member<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&[u8], f64)> {
        if self.is_empty() {
            return None;
        }
        self.select(rng.gen_range(0..self.len()))
    }

    /// `count` distinct random members (ZRANDMEMBER with a positive count):
    /// the whole set in order when `count >= len`, else a uniform sample in
    /// random order. O(count log n).
    pub fn random_distinct<R: Rng + ?Sized>(&self, count: usize, rng: &mut R) -> Vec<(&[u8], f64)> {
        if count >= self.len() {
            return self.iter().collect();
        }
        rand::seq::index::sample(rng, self.len(), count)
            .into_iter()
            .filter_map(|rank| self.select(rank))
            .collect()
    }

    /// `count` random members that may repeat (ZRANDMEMBER with a negative
    /// count). O(count log n).
    pub fn random_with_repetition<R: Rng + ?Sized>(
        &self,
        count: usize,
        rng: &mut R,
    ) -> Vec<(&[u8], f64)> {
        if self.is_empty() {
            return Vec::new();
        }
        (0..count)
            .filter_map(|_| self.select(rng.gen_range(0..self.len())))
            .collect()
    }

    #[cfg(test)]
    fn assert_invariants(&self) {
        match &self.form {
            Form::Packed(packed) => {
                assert!(packed.len() <= PACKED_MAX_ENTRIES);
                let entries: Vec<_> = (0..packed.len()).map(|i| packed.entry(i)).collect();
                for pair in entries.windows(2) {
                    let order =
                        cmp_non_nan(pair[0].1, pair[1].1).then_with(|| pair[0].0.cmp(pair[1].0));
                    assert!(order.is_lt(), "packed entries out of order");
                }
                assert!(entries.iter().all(|(m, _)| m.len() <= PACKED_MAX_MEMBER));
            }
            Form::Tree(tree) => {
                tree.tree.assert_invariants();
                assert_eq!(tree.members.len(), tree.tree.len());
            }
        }
        for (member, score) in self.iter() {
            assert_eq!(self.score(member), Some(score));
            assert!(!score.is_nan());
            assert!(score != 0.0 || score.is_sign_positive(), "-0 stored");
        }
    }
}

/// Ranks for a forward walk that starts `offset` items after `start`.
fn forward_from(start: Option<usize>, offset: usize, len: usize) -> Range<usize> {
    match start.map(|s| s.saturating_add(offset)) {
        Some(s) if s < len => s..len,
        _ => 0..0,
    }
}

/// Ranks for a backward walk that starts `offset` items before `start`.
fn back_from(start: Option<usize>, offset: usize) -> Range<usize> {
    match start.and_then(|s| s.checked_sub(offset)) {
        Some(s) => 0..s + 1,
        None => 0..0,
    }
}

/// Iterator over (member, score) pairs in a rank range; see
/// [`SortedSet::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    inner: Cursor<'a>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back()
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// A walk over a rank range of either form of a set. It lives on the stack for the length of
/// one command; boxing the tree's walk (its path, hundreds of bytes) would cost an
/// allocation per range read.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum Cursor<'a> {
    Packed {
        packed: &'a Packed,
        ranks: Range<usize>,
    },
    Tree(ostree::Iter<'a, ZKey, ()>),
}

impl<'a> Iterator for Cursor<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Cursor::Packed { packed, ranks } => ranks.next().map(|i| packed.entry(i)),
            Cursor::Tree(inner) => inner.next().map(|(k, _)| (&*k.member, k.score)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Cursor::Packed { ranks, .. } => ranks.size_hint(),
            Cursor::Tree(inner) => inner.size_hint(),
        }
    }
}

impl DoubleEndedIterator for Cursor<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Cursor::Packed { packed, ranks } => ranks.next_back().map(|i| packed.entry(i)),
            Cursor::Tree(inner) => inner.next_back().map(|(k, _)| (&*k.member, k.score)),
        }
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Forward,
    Backward,
}

/// Where a range walk stops: at the first item outside the far bound.
#[derive(Clone)]
enum Stop<'a> {
    Never,
    ScoreAbove(ScoreBound),
    ScoreBelow(ScoreBound),
    LexAbove(&'a LexBound),
    LexBelow(&'a LexBound),
}

/// A range walk (ZRANGE and friends): (member, score) pairs in reply order.
#[derive(Clone)]
pub struct RangeIter<'a> {
    inner: Cursor<'a>,
    direction: Direction,
    stop: Stop<'a>,
    remaining: usize,
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let (member, score) = match self.direction {
            Direction::Forward => self.inner.next()?,
            Direction::Backward => self.inner.next_back()?,
        };
        let inside = match &self.stop {
            Stop::Never => true,
            Stop::ScoreAbove(max) => max.admits_from_above(score),
            Stop::ScoreBelow(min) => min.admits_from_below(score),
            Stop::LexAbove(max) => max.admits_from_above(member),
            Stop::LexBelow(min) => min.admits_from_below(member),
        };
        if !inside {
            self.remaining = 0;
            return None;
        }
        self.remaining -= 1;
        Some((member, score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn set_of(entries: &[(&str, f64)]) -> SortedSet {
        let set = SortedSet::from_entries(entries.iter().map(|(m, s)| (m.as_bytes(), *s))).unwrap();
        set.assert_invariants();
        set
    }

    fn names<'a>(it: impl Iterator<Item = (&'a [u8], f64)>) -> Vec<String> {
        it.map(|(m, _)| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    fn lex(arg: &str) -> LexBound {
        parse_lex_bound(arg.as_bytes()).unwrap()
    }

    fn score_bound(arg: &str) -> ScoreBound {
        parse_score_bound(arg.as_bytes()).unwrap()
    }

    #[test]
    fn scores_parse_like_redis_string2d() {
        let ok = [
            ("1", 1.0),
            ("-2.5", -2.5),
            ("1e3", 1000.0),
            ("+5", 5.0),
            ("00012", 12.0),
            ("5.", 5.0),
            (".5", 0.5),
            ("inf", f64::INFINITY),
            ("+inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("INF", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("0x10", 16.0),
            ("0x1p-1", 0.5),
            ("0X1.8P1", 3.0),
            ("0x.8", 0.5),
            ("1e-320", 1e-320),
        ];
        for (arg, value) in ok {
            assert_eq!(parse_score(arg.as_bytes()), Ok(value), "{arg:?}");
        }
        assert!(parse_score(b"-0").unwrap().is_sign_negative());
        let bad = [
            "",
            " 1",
            "1 ",
            "+",
            "-",
            "1e",
            "1e+",
            "nan",
            "nan(123)",
            "1e400",
            "1e-400",
            "0x",
            "0x1p",
            "1_0",
            "  ",
            "1\0",
            "(1",
            "[1",
            "0x1p-1080",
            "0x1p1100",
            "infinit",
        ];
        for arg in bad {
            assert_eq!(
                parse_score(arg.as_bytes()),
                Err(ZSetError::NotAFloat),
                "{arg:?}"
            );
        }
    }

    #[test]
    fn score_bounds_parse_like_zsl_parse_range() {
        let b = |s: &[u8]| parse_score_bound(s).map(|b| (b.value, b.exclusive));
        assert_eq!(b(b"1.5"), Ok((1.5, false)));
        assert_eq!(b(b"(1.5"), Ok((1.5, true)));
        assert_eq!(b(b"-inf"), Ok((f64::NEG_INFINITY, false)));
        assert_eq!(b(b"(+inf"), Ok((f64::INFINITY, true)));
        assert_eq!(b(b""), Ok((0.0, false)));
        assert_eq!(b(b"("), Ok((0.0, true)));
        assert_eq!(b(b" 1"), Ok((1.0, false)));
        assert_eq!(b(b"\t1"), Ok((1.0, false)));
        assert_eq!(b(b"1\0x"), Ok((1.0, false)));
        assert_eq!(b(b"(1\0x"), Ok((1.0, true)));
        assert_eq!(b(b"1e400"), Ok((f64::INFINITY, false)));
        assert_eq!(b(b"1e-400"), Ok((0.0, false)));
        assert_eq!(b(b"0x10"), Ok((16.0, false)));
        for bad in [
            &b"1 "[..],
            b"+",
            b"-",
            b"1e",
            b"nan",
            b"[1",
            b"((1",
            b"  ",
            b"1\t",
        ] {
            assert_eq!(b(bad), Err(ZSetError::InvalidScoreBound), "{bad:?}");
        }
    }

    #[test]
    fn lex_bounds_parse_like_redis() {
        assert_eq!(lex("-"), LexBound::Min);
        assert_eq!(lex("+"), LexBound::Max);
        assert_eq!(parse_lex_bound(b"+\0junk"), Ok(LexBound::Max));
        assert_eq!(lex("[a"), LexBound::Inclusive((*b"a").into()));
        assert_eq!(lex("("), LexBound::Exclusive(Box::new([])));
        assert_eq!(
            parse_lex_bound(b"[a\0b"),
            Ok(LexBound::Inclusive((*b"a\0b").into()))
        );
        for bad in ["", "a", "+a", "-a", "1"] {
            assert_eq!(
                parse_lex_bound(bad.as_bytes()),
                Err(ZSetError::InvalidLexBound)
            );
        }
        assert_eq!(
            ZSetError::InvalidLexBound.to_string(),
            "min or max not valid string range item"
        );
        assert_eq!(
            ZSetError::InvalidScoreBound.to_string(),
            "min or max is not a float"
        );
    }

    #[test]
    fn insert_update_remove_and_ranks() {
        let mut z = SortedSet::new();
        assert_eq!(z.insert(b"b", 2.0), Ok(None));
        assert_eq!(z.insert(b"a", 2.0), Ok(None));
        assert_eq!(z.insert(b"c", 1.0), Ok(None));
        assert_eq!(names(z.iter()), ["c", "a", "b"]);
        assert_eq!(z.insert(b"c", 3.0), Ok(Some(1.0)));
        assert_eq!(names(z.iter()), ["a", "b", "c"]);
        assert_eq!(
            (z.rank(b"b"), z.rev_rank(b"b"), z.rank(b"x")),
            (Some(1), Some(1), None)
        );
        assert_eq!(z.select(2), Some((&b"c"[..], 3.0)));
        assert_eq!(z.score(b"a"), Some(2.0));
        assert_eq!(z.remove(b"a"), Some(2.0));
        assert_eq!(z.remove(b"a"), None);
        assert_eq!(z.insert(b"x", f64::NAN), Err(ZSetError::NotANumber));
        assert_eq!(z.len(), 2);
        z.assert_invariants();
    }

    #[test]
    fn negative_zero_is_stored_as_zero_but_incr_replies_it() {
        let mut z = SortedSet::new();
        assert_eq!(z.insert(b"m", -0.0), Ok(None));
        assert!(z.score(b"m").unwrap().is_sign_positive());
        let reply = z.incr(b"n", -0.0).unwrap();
        assert!(reply == 0.0 && reply.is_sign_negative());
        assert!(z.score(b"n").unwrap().is_sign_positive());
        // -0 over 0 is "unchanged", like Redis's `score != curscore`.
        assert_eq!(z.insert(b"m", -0.0), Ok(Some(0.0)));
    }

    #[test]
    fn incr_refuses_nan_and_keeps_the_old_score() {
        let mut z = set_of(&[("a", f64::INFINITY)]);
        assert_eq!(z.incr(b"a", f64::NEG_INFINITY), Err(ZSetError::NotANumber));
        assert_eq!(z.score(b"a"), Some(f64::INFINITY));
        assert_eq!(z.incr(b"b", 2.5), Ok(2.5));
        assert_eq!(z.incr(b"b", 2.5), Ok(5.0));
        z.assert_invariants();
    }

    #[test]
    fn score_ranges_with_limits() {
        let z = set_of(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)]);
        let r = |min, max, rev, off, lim| {
            names(z.range_by_score(&score_bound(min), &score_bound(max), rev, off, lim))
        };
        assert_eq!(r("2", "4", false, 0, None), ["b", "c", "d"]);
        assert_eq!(r("(2", "(4", false, 0, None), ["c"]);
        assert_eq!(r("-inf", "+inf", false, 1, Some(2)), ["b", "c"]);
        assert_eq!(r("2", "4", true, 0, None), ["d", "c", "b"]);
        assert_eq!(r("2", "4", true, 1, Some(1)), ["c"]);
        assert_eq!(r("2", "4", false, 3, None), [] as [&str; 0]);
        assert_eq!(r("4", "2", false, 0, None), [] as [&str; 0]);
        assert_eq!(r("(3", "3", false, 0, None), [] as [&str; 0]);
        assert_eq!(z.count_by_score(&score_bound("(1"), &score_bound("5")), 4);
        assert_eq!(z.count_by_score(&ScoreBound::MIN, &ScoreBound::MAX), 5);
        assert_eq!(
            names(z.range_by_rank(0, -1, true)),
            ["e", "d", "c", "b", "a"]
        );
        assert_eq!(names(z.range_by_rank(1, 2, false)), ["b", "c"]);
        assert_eq!(names(z.range_by_rank(1, 2, true)), ["d", "c"]);
        assert_eq!(names(z.range_by_rank(7, 9, false)), [] as [&str; 0]);
    }

    #[test]
    fn lex_ranges_with_equal_scores() {
        let z = set_of(&[("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0)]);
        let r = |min, max, rev| names(z.range_by_lex(&lex(min), &lex(max), rev, 0, None));
        assert_eq!(r("-", "+", false), ["a", "b", "c", "d"]);
        assert_eq!(r("[b", "(d", false), ["b", "c"]);
        assert_eq!(r("(a", "[c", true), ["c", "b"]);
        assert_eq!(r("+", "-", false), [] as [&str; 0]);
        assert_eq!(r("-", "-", false), [] as [&str; 0]);
        assert_eq!(r("[c", "[b", false), [] as [&str; 0]);
        assert_eq!(z.count_by_lex(&lex("[aa"), &lex("+")), 3);
    }

    #[test]
    fn lex_ranges_with_mixed_scores_follow_the_listpack_walk() {
        // In score order: b(1) z(2) a(3) c(4).
        let z = set_of(&[("b", 1.0), ("z", 2.0), ("a", 3.0), ("c", 4.0)]);
        let (min, max) = (lex("[a"), lex("[c"));
        // Starts at the first member >= "a" (b) and stops at z.
        assert_eq!(names(z.range_by_lex(&min, &max, false, 0, None)), ["b"]);
        // The LIMIT offset skips without checking, then the walk resumes.
        assert_eq!(
            names(z.range_by_lex(&min, &max, false, 2, None)),
            ["a", "c"]
        );
        // Backward: from the last member <= "c" while members are >= "a".
        assert_eq!(
            names(z.range_by_lex(&min, &max, true, 0, None)),
            ["c", "a", "z", "b"]
        );
        assert_eq!(z.count_by_lex(&min, &max), 1);
        // The last member (c) is below "(c", so nothing matches at all.
        assert_eq!(z.count_by_lex(&lex("(c"), &lex("+")), 0);
    }

    #[test]
    fn removals_by_range_and_pops() {
        let entries: Vec<(String, f64)> = (0..20)
            .map(|i| (format!("m{i:02}"), f64::from(i)))
            .collect();
        let mut z =
            SortedSet::from_entries(entries.iter().map(|(m, s)| (m.as_bytes(), *s))).unwrap();
        assert_eq!(
            z.remove_range_by_score(&score_bound("(2"), &score_bound("5")),
            3
        );
        assert_eq!(z.remove_range_by_rank(-2, -1), 2);
        assert_eq!(z.remove_range_by_rank(5, 1), 0);
        let popped = z.pop_min(2);
        assert_eq!(
            popped,
            vec![((*b"m00").into(), 0.0), ((*b"m01").into(), 1.0)]
        );
        let popped = z.pop_max(1);
        assert_eq!(popped, vec![((*b"m17").into(), 17.0)]);
        assert_eq!(z.len(), 12);
        assert!(z.pop_min(100).len() == 12 && z.is_empty());
        z.assert_invariants();
        let mut z = set_of(&[("a", 0.0), ("b", 0.0), ("c", 0.0)]);
        assert_eq!(z.remove_range_by_lex(&lex("(a"), &lex("+")), 2);
        assert_eq!(names(z.iter()), ["a"]);
    }

    #[test]
    fn random_members() {
        let z = set_of(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        assert_eq!(
            names(z.random_distinct(5, &mut rng).into_iter()),
            ["a", "b", "c"]
        );
        let two = z.random_distinct(2, &mut rng);
        assert!(two.len() == 2 && two[0].0 != two[1].0);
        let many = z.random_with_repetition(50, &mut rng);
        assert_eq!(many.len(), 50);
        assert!(many.iter().all(|(m, s)| z.score(m) == Some(*s)));
        assert!(z.random_member(&mut rng).is_some());
        assert!(SortedSet::new()
            .random_with_repetition(3, &mut rng)
            .is_empty());
        assert!(SortedSet::new().random_member(&mut rng).is_none());
    }

    #[test]
    fn short_members_are_inline_and_long_ones_boxed() {
        assert_eq!(std::mem::size_of::<MemberBytes>(), 24);
        let long = vec![7u8; 100];
        let mut z = SortedSet::new();
        z.insert(&long, 1.0).unwrap();
        z.insert(&[1u8; INLINE_MEMBER_MAX], 2.0).unwrap();
        z.insert(&[2u8; INLINE_MEMBER_MAX + 1], 3.0).unwrap();
        z.insert(b"", 0.0).unwrap();
        assert_eq!(z.score(&long), Some(1.0));
        assert_eq!(z.select(0), Some((&b""[..], 0.0)));
        assert_eq!(z.pop_max(3)[0].0.len(), INLINE_MEMBER_MAX + 1);
        z.assert_invariants();
    }

    #[test]
    fn debug_and_clone() {
        let z = set_of(&[("a", 1.0)]);
        let copy = z.clone();
        assert_eq!(format!("{copy:?}"), "[(\"a\", 1.0)]");
        assert!(z.heap_bytes() > 0);
    }

    // ---- randomized comparison with a sorted-Vec model --------------------

    /// The reference: a sorted Vec, with the range walks written as literal
    /// transcriptions of Redis's listpack functions.
    #[derive(Default)]
    struct Model {
        entries: Vec<(Vec<u8>, f64)>,
    }

    impl Model {
        fn sort(&mut self) {
            self.entries
                .sort_by(|a, b| cmp_non_nan(a.1, b.1).then_with(|| a.0.cmp(&b.0)));
        }
        fn pos(&self, m: &[u8]) -> Option<usize> {
            self.entries.iter().position(|(x, _)| x == m)
        }
        fn insert(&mut self, m: &[u8], s: f64) -> Option<f64> {
            let s = s + 0.0;
            match self.pos(m) {
                Some(i) => {
                    let old = self.entries[i].1;
                    self.entries[i].1 = s;
                    self.sort();
                    Some(old)
                }
                None => {
                    self.entries.push((m.to_vec(), s));
                    self.sort();
                    None
                }
            }
        }
        fn first_in_score(&self, min: &ScoreBound, max: &ScoreBound) -> Option<usize> {
            if min.value > max.value || (min.value == max.value && (min.exclusive || max.exclusive))
            {
                return None;
            }
            let (_, tail) = self.entries.last()?;
            let (_, head) = self.entries.first()?;
            if !min.admits_from_below(*tail) || !max.admits_from_above(*head) {
                return None;
            }
            let i = self
                .entries
                .iter()
                .position(|e| min.admits_from_below(e.1))?;
            max.admits_from_above(self.entries[i].1).then_some(i)
        }
        fn last_in_score(&self, min: &ScoreBound, max: &ScoreBound) -> Option<usize> {
            self.first_in_score(min, max)?;
            let i = self
                .entries
                .iter()
                .rposition(|e| max.admits_from_above(e.1))?;
            min.admits_from_below(self.entries[i].1).then_some(i)
        }
        fn lex_in_range(&self, min: &LexBound, max: &LexBound) -> bool {
            let (Some(tail), Some(head)) = (self.entries.last(), self.entries.first()) else {
                return false;
            };
            min.admits_from_below(&tail.0) && max.admits_from_above(&head.0)
        }
        fn first_in_lex(&self, min: &LexBound, max: &LexBound) -> Option<usize> {
            if !self.lex_in_range(min, max) {
                return None;
            }
            let i = self
                .entries
                .iter()
                .position(|e| min.admits_from_below(&e.0))?;
            max.admits_from_above(&self.entries[i].0).then_some(i)
        }
        fn last_in_lex(&self, min: &LexBound, max: &LexBound) -> Option<usize> {
            if !self.lex_in_range(min, max) {
                return None;
            }
            let i = self
                .entries
                .iter()
                .rposition(|e| max.admits_from_above(&e.0))?;
            min.admits_from_below(&self.entries[i].0).then_some(i)
        }
        /// genericZrangeby*: skip `offset` from the start, then emit while
        /// the far bound admits.
        fn walk(
            &self,
            start: Option<usize>,
            rev: bool,
            offset: usize,
            limit: Option<usize>,
            inside: impl Fn(&(Vec<u8>, f64)) -> bool,
        ) -> Vec<(Vec<u8>, f64)> {
            let mut out = Vec::new();
            let Some(mut i) = start.map(|s| s as i64) else {
                return out;
            };
            let mut offset = offset;
            while offset > 0 && i >= 0 && (i as usize) < self.entries.len() {
                i += if rev { -1 } else { 1 };
                offset -= 1;
            }
            let mut limit = limit.unwrap_or(usize::MAX);
            while limit > 0 && i >= 0 && (i as usize) < self.entries.len() {
                let e = &self.entries[i as usize];
                if !inside(e) {
                    break;
                }
                out.push(e.clone());
                limit -= 1;
                i += if rev { -1 } else { 1 };
            }
            out
        }
        fn run(
            &self,
            start: Option<usize>,
            inside: impl Fn(&(Vec<u8>, f64)) -> bool,
        ) -> Range<usize> {
            match start {
                None => 0..0,
                Some(s) => s..s + self.entries[s..].iter().take_while(|e| inside(e)).count(),
            }
        }
        fn remove_run(&mut self, r: Range<usize>) -> usize {
            self.entries.drain(r.clone());
            r.len()
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Vec<u8>, f64),
        Incr(Vec<u8>, f64),
        Remove(Vec<u8>),
        Query(Vec<u8>),
        RankRange(i64, i64, bool),
        ScoreRange(ScoreBound, ScoreBound, bool, usize, Option<usize>),
        LexRange(LexBound, LexBound, bool, usize, Option<usize>),
        RemoveByScore(ScoreBound, ScoreBound),
        RemoveByLex(LexBound, LexBound),
        RemoveByRank(i64, i64),
        PopMin(usize),
        PopMax(usize),
    }

    const MEMBERS: [&[u8]; 8] = [b"", b"a", b"ab", b"b", b"b\0", b"c", b"zz", b"\xff"];
    const SCORES: [f64; 8] = [
        f64::NEG_INFINITY,
        -1.5,
        -0.0,
        0.0,
        1.0,
        2.0,
        1e300,
        f64::INFINITY,
    ];

    fn member() -> impl Strategy<Value = Vec<u8>> {
        (0..MEMBERS.len()).prop_map(|i| MEMBERS[i].to_vec())
    }
    fn score() -> impl Strategy<Value = f64> {
        (0..SCORES.len()).prop_map(|i| SCORES[i])
    }
    fn sbound() -> impl Strategy<Value = ScoreBound> {
        (score(), any::<bool>()).prop_map(|(value, exclusive)| ScoreBound { value, exclusive })
    }
    fn lbound() -> impl Strategy<Value = LexBound> {
        prop_oneof![
            Just(LexBound::Min),
            Just(LexBound::Max),
            member().prop_map(|m| LexBound::Inclusive(m.into())),
            member().prop_map(|m| LexBound::Exclusive(m.into())),
        ]
    }
    fn limit() -> impl Strategy<Value = (usize, Option<usize>)> {
        (0usize..4, prop::option::of(0usize..4))
    }
    fn op(uniform: bool) -> impl Strategy<Value = Op> {
        let sc = if uniform {
            Just(1.0).boxed()
        } else {
            score().boxed()
        };
        prop_oneof![
            6 => (member(), sc.clone()).prop_map(|(m, s)| Op::Insert(m, s)),
            1 => (member(), sc).prop_map(move |(m, s)| Op::Incr(m, if uniform { 0.0 } else { s })),
            2 => member().prop_map(Op::Remove),
            2 => member().prop_map(Op::Query),
            1 => (-10i64..10, -10i64..10, any::<bool>()).prop_map(|(a, b, r)| Op::RankRange(a, b, r)),
            2 => (sbound(), sbound(), any::<bool>(), limit()).prop_map(|(a, b, r, (o, l))| Op::ScoreRange(a, b, r, o, l)),
            2 => (lbound(), lbound(), any::<bool>(), limit()).prop_map(|(a, b, r, (o, l))| Op::LexRange(a, b, r, o, l)),
            1 => (sbound(), sbound()).prop_map(|(a, b)| Op::RemoveByScore(a, b)),
            1 => (lbound(), lbound()).prop_map(|(a, b)| Op::RemoveByLex(a, b)),
            1 => (-10i64..10, -10i64..10).prop_map(|(a, b)| Op::RemoveByRank(a, b)),
            1 => (0usize..3).prop_map(Op::PopMin),
            1 => (0usize..3).prop_map(Op::PopMax),
        ]
    }

    fn owned<'a>(it: impl Iterator<Item = (&'a [u8], f64)>) -> Vec<(Vec<u8>, f64)> {
        it.map(|(m, s)| (m.to_vec(), s)).collect()
    }

    /// Runs `ops` on a set (packed at first, or a tree from the start with `tree`) and on
    /// the model, comparing every result.
    fn check(ops: Vec<Op>, tree: bool) -> Result<(), TestCaseError> {
        let mut z = if tree {
            SortedSet::new_tree()
        } else {
            SortedSet::new()
        };
        let mut m = Model::default();
        for op in ops {
            match op {
                Op::Insert(k, s) => prop_assert_eq!(z.insert(&k, s), Ok(m.insert(&k, s))),
                Op::Incr(k, d) => {
                    let new = m.pos(&k).map_or(d, |i| m.entries[i].1 + d);
                    if new.is_nan() {
                        prop_assert_eq!(z.incr(&k, d), Err(ZSetError::NotANumber));
                    } else {
                        prop_assert_eq!(z.incr(&k, d), Ok(new));
                        m.insert(&k, new);
                    }
                }
                Op::Remove(k) => {
                    let expected = m.pos(&k).map(|i| m.entries.remove(i).1);
                    prop_assert_eq!(z.remove(&k), expected);
                }
                Op::Query(k) => {
                    let pos = m.pos(&k);
                    prop_assert_eq!(z.score(&k), pos.map(|i| m.entries[i].1));
                    prop_assert_eq!(z.rank(&k), pos);
                    prop_assert_eq!(z.rev_rank(&k), pos.map(|i| m.entries.len() - 1 - i));
                    if let Some(i) = pos {
                        prop_assert_eq!(z.select(i), Some((&m.entries[i].0[..], m.entries[i].1)));
                    }
                }
                Op::RankRange(a, b, rev) => {
                    let mut expected =
                        match index_range(a, b, m.entries.len(), StopBeforeFirst::Empty) {
                            None => Vec::new(),
                            Some(r) if rev => {
                                let mut v: Vec<_> = m.entries.iter().rev().cloned().collect();
                                v.drain(r).collect()
                            }
                            Some(r) => m.entries[r].to_vec(),
                        };
                    if rev {
                        expected.sort_by(|x, y| cmp_non_nan(y.1, x.1).then_with(|| y.0.cmp(&x.0)));
                    }
                    prop_assert_eq!(owned(z.range_by_rank(a, b, rev)), expected);
                }
                Op::ScoreRange(min, max, rev, off, lim) => {
                    let expected = if rev {
                        m.walk(m.last_in_score(&min, &max), true, off, lim, |e| {
                            min.admits_from_below(e.1)
                        })
                    } else {
                        m.walk(m.first_in_score(&min, &max), false, off, lim, |e| {
                            max.admits_from_above(e.1)
                        })
                    };
                    prop_assert_eq!(owned(z.range_by_score(&min, &max, rev, off, lim)), expected);
                    let run = m.run(m.first_in_score(&min, &max), |e| max.admits_from_above(e.1));
                    prop_assert_eq!(z.count_by_score(&min, &max), run.len());
                }
                Op::LexRange(min, max, rev, off, lim) => {
                    let expected = if rev {
                        m.walk(m.last_in_lex(&min, &max), true, off, lim, |e| {
                            min.admits_from_below(&e.0)
                        })
                    } else {
                        m.walk(m.first_in_lex(&min, &max), false, off, lim, |e| {
                            max.admits_from_above(&e.0)
                        })
                    };
                    prop_assert_eq!(owned(z.range_by_lex(&min, &max, rev, off, lim)), expected);
                    let run = m.run(m.first_in_lex(&min, &max), |e| max.admits_from_above(&e.0));
                    prop_assert_eq!(z.count_by_lex(&min, &max), run.len());
                }
                Op::RemoveByScore(min, max) => {
                    let run = m.run(m.first_in_score(&min, &max), |e| max.admits_from_above(e.1));
                    prop_assert_eq!(z.remove_range_by_score(&min, &max), m.remove_run(run));
                }
                Op::RemoveByLex(min, max) => {
                    let run = m.run(m.first_in_lex(&min, &max), |e| max.admits_from_above(&e.0));
                    prop_assert_eq!(z.remove_range_by_lex(&min, &max), m.remove_run(run));
                }
                Op::RemoveByRank(a, b) => {
                    let run =
                        index_range(a, b, m.entries.len(), StopBeforeFirst::Empty).unwrap_or(0..0);
                    prop_assert_eq!(z.remove_range_by_rank(a, b), m.remove_run(run));
                }
                Op::PopMin(n) => {
                    let n = n.min(m.entries.len());
                    let expected: Vec<_> = m
                        .entries
                        .drain(..n)
                        .map(|(k, s)| (k.into_boxed_slice(), s))
                        .collect();
                    prop_assert_eq!(z.pop_min(n), expected);
                }
                Op::PopMax(n) => {
                    let n = n.min(m.entries.len());
                    let at = m.entries.len() - n;
                    let expected: Vec<_> = m
                        .entries
                        .drain(at..)
                        .rev()
                        .map(|(k, s)| (k.into_boxed_slice(), s))
                        .collect();
                    prop_assert_eq!(z.pop_max(n), expected);
                }
            }
            z.assert_invariants();
            prop_assert_eq!(owned(z.iter()), m.entries.clone());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn matches_the_model_with_mixed_scores(ops in prop::collection::vec(op(false), 1..120)) {
            check(ops, false)?;
        }

        #[test]
        fn matches_the_model_with_equal_scores(ops in prop::collection::vec(op(true), 1..120)) {
            check(ops, false)?;
        }

        #[test]
        fn the_tree_form_matches_the_model_with_mixed_scores(ops in prop::collection::vec(op(false), 1..120)) {
            check(ops, true)?;
        }

        #[test]
        fn the_tree_form_matches_the_model_with_equal_scores(ops in prop::collection::vec(op(true), 1..120)) {
            check(ops, true)?;
        }

        #[test]
        fn bound_parsers_never_panic(arg in prop::collection::vec(any::<u8>(), 0..24)) {
            let _ = parse_score(&arg);
            let _ = parse_score_bound(&arg);
            let _ = parse_lex_bound(&arg);
        }

        #[test]
        fn decimal_scores_round_like_rust(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            prop_assert_eq!(parse_score(format!("{x:e}").as_bytes()), Ok(x));
            prop_assert_eq!(parse_score(format!("{x}").as_bytes()), Ok(x));
        }
    }

    /// A set stays packed up to 128 members of up to 64 bytes and moves to the tree, with
    /// every member and score (`-0` included), past either.
    #[test]
    fn a_set_is_packed_until_it_outgrows_redis_s_listpack_sizes() {
        let mut z = SortedSet::new();
        z.insert_exact(b"neg-zero", -0.0).unwrap();
        for i in 1..PACKED_MAX_ENTRIES {
            z.insert(format!("m{i:03}").as_bytes(), f64::from(i as u32 % 7))
                .unwrap();
        }
        assert!(z.is_packed());
        let before: Vec<(Vec<u8>, u64)> =
            z.iter().map(|(m, s)| (m.to_vec(), s.to_bits())).collect();
        // Updating a member at the limit keeps the set packed.
        assert_eq!(z.insert(b"m001", 100.0), Ok(Some(1.0)));
        assert_eq!(z.insert(b"m001", 1.0), Ok(Some(100.0)));
        assert!(z.is_packed());
        z.insert(b"one-more", 3.0).unwrap();
        assert!(!z.is_packed());
        assert_eq!(z.remove(b"one-more"), Some(3.0));
        let after: Vec<(Vec<u8>, u64)> = z.iter().map(|(m, s)| (m.to_vec(), s.to_bits())).collect();
        assert_eq!(after, before);
        assert!(z.score(b"neg-zero").is_some_and(|s| s.is_sign_negative()));

        let mut long = SortedSet::new();
        long.insert(b"short", 1.0).unwrap();
        long.insert(&[b'x'; PACKED_MAX_MEMBER], 2.0).unwrap();
        assert!(long.is_packed());
        long.insert(&[b'y'; PACKED_MAX_MEMBER + 1], 0.5).unwrap();
        assert!(!long.is_packed());
        long.assert_invariants();
        assert_eq!(long.rank(&[b'y'; PACKED_MAX_MEMBER + 1]), Some(0));
        assert_eq!(
            long.select(2).map(|(m, s)| (m.len(), s)),
            Some((PACKED_MAX_MEMBER, 2.0))
        );
    }

    /// A packed set holds 4 bytes plus its member per entry with small integral scores, 12
    /// with other scores, and one byte more.
    #[test]
    fn a_packed_set_takes_little_more_than_its_bytes() {
        let mut z = SortedSet::new();
        for i in 0..20u32 {
            z.insert(format!("member:{i:02}").as_bytes(), f64::from(i))
                .unwrap();
        }
        assert!(z.is_packed());
        let bytes = z.heap_bytes();
        assert_eq!(bytes, 1 + 20 * (2 + 2 + 9), "20 members with scores 0..20");
        let mut fractional = SortedSet::new();
        for i in 0..20u32 {
            fractional
                .insert(format!("member:{i:02}").as_bytes(), f64::from(i) + 0.5)
                .unwrap();
        }
        assert_eq!(fractional.heap_bytes(), 1 + 20 * (2 + 9 + 9));
        for i in 0..18u32 {
            z.remove(format!("member:{i:02}").as_bytes());
        }
        assert!(z.heap_bytes() < bytes / 2, "removals give memory back");
    }

    /// Scores come back from the packed form bit for bit: integers at the edges of each
    /// width and of the exact range, `-0`, fractions, infinities, the extremes.
    #[test]
    fn packed_scores_come_back_exactly() {
        let exact = 9_007_199_254_740_992.0_f64;
        let mut scores = vec![
            0.0,
            -0.0,
            0.5,
            -1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            exact,
            -exact,
            exact + 2.0,
            -(exact + 2.0),
            1e300,
        ];
        for k in 0..8 {
            let edge = 2f64.powi(8 * k + 7);
            scores.extend([edge - 1.0, edge, -edge, -edge - 1.0]);
        }
        let mut z = SortedSet::new();
        for (i, &score) in scores.iter().enumerate() {
            z.insert_exact(format!("m{i:02}").as_bytes(), score)
                .unwrap();
        }
        assert!(z.is_packed());
        let entries: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert!(entries.windows(2).all(|w| cmp_non_nan(w[0].1, w[1].1)
            .then_with(|| w[0].0.cmp(&w[1].0))
            .is_lt()));
        for (i, &score) in scores.iter().enumerate() {
            let got = z.score(format!("m{i:02}").as_bytes()).unwrap();
            assert_eq!(got.to_bits(), score.to_bits(), "score {score}");
        }
        // Removing every other member keeps the rest in place.
        for i in (0..scores.len()).step_by(2) {
            assert_eq!(
                z.remove(format!("m{i:02}").as_bytes()).map(f64::to_bits),
                Some(scores[i].to_bits())
            );
        }
        for (i, &score) in scores.iter().enumerate().skip(1).step_by(2) {
            let got = z.score(format!("m{i:02}").as_bytes()).unwrap();
            assert_eq!(got.to_bits(), score.to_bits(), "score {score}");
        }
    }

    /// Many members, to exercise relocations in a bigger tree and the hash
    /// table's growth and shrinking.
    #[test]
    fn bulk_insert_update_remove_keeps_the_index_consistent() {
        let mut z = SortedSet::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for i in 0..5000u32 {
            z.insert(
                format!("m{i}").as_bytes(),
                f64::from(rand::Rng::gen_range(&mut rng, 0..100u32)),
            )
            .unwrap();
        }
        for i in (0..5000u32).step_by(3) {
            z.insert(format!("m{i}").as_bytes(), f64::from(i)).unwrap();
        }
        for i in (0..5000u32).step_by(2) {
            assert!(z.remove(format!("m{i}").as_bytes()).is_some());
        }
        z.assert_invariants();
        assert_eq!(z.len(), 2500);
        z.pop_min(2400);
        z.assert_invariants();
        assert_eq!(z.len(), 100);
    }
}
