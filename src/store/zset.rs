//! Sorted sets in the keyspace: [`ZSetValue`] (the value stored under a key: a [`SortedSet`]
//! plus the encoding Redis would report for it) and the [`DbMut`] operations behind the Z*
//! commands.
//!
//! Encoding: Redis 7.0 keeps a sorted set in a compact `listpack` while it has at most
//! `zset-max-listpack-entries` members, none longer than `zset-max-listpack-value` bytes
//! ([`PackLimits`], 128 and 64 by default), and
//! converts it to a `skiplist` for good when an insertion breaks either limit (it never
//! converts back, not even when members are removed). Results stored by ZUNIONSTORE,
//! ZRANGESTORE and friends start compact when they fit. Only OBJECT ENCODING, ZSCAN and one
//! score detail can tell the two apart, and this module reproduces all three:
//! - a compact set stores `-0` as `0`, a skiplist keeps `-0` (`ZSCORE` replies `-0`);
//! - ZSCAN returns a compact set whole in one reply (cursor 0), with integral scores printed
//!   as integers, as Redis's listpack stores them.
//!
//! ZSCAN of a skiplist-encoded set walks the members in (score, member) order. The cursor
//! names the score of the next member to return, to 40 bits of mantissa: scores are mapped to
//! `u64` in order and cut to their top 52 bits (a "band" of scores within about one part in
//! 10^12 of each other), plus one, so that cursors stay below 2^53 ([`score_to_cursor`]).
//! Clients read cursors as signed 64-bit integers (phpredis) or as JavaScript numbers (node-redis 4),
//! and Redis's own cursors, table indexes, never come near those limits. A page never ends
//! between two members of one band, so resuming at "the first member with score >= the
//! band's lowest" neither repeats nor skips anything. Every member present for the whole scan
//! with an unchanged score is returned (a member whose score changes during the scan may be
//! missed or returned twice); a set whose members all share one score comes back in one page.

use std::cmp::Ordering;

use rand::Rng;

use super::keyspace::DbMut;
use super::limits::{PackLimits, LISTPACK_MAX_BYTES};
use super::sorted_set::{LexBound, RangeIter, ScoreBound, SortedSet, ZSetError};
use super::value::Value;
use super::{FastMap, StoreError, StoreResult};

/// An owned (member, score) pair.
pub type Entry = (Box<[u8]>, f64);

/// The value of a sorted-set key; see the module documentation.
#[derive(Clone, Default)]
pub struct ZSetValue {
    set: SortedSet,
    /// Converted to Redis's `skiplist` encoding (never reverts).
    skiplist: bool,
}

impl std::fmt::Debug for ZSetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:?}", self.encoding(), self.set)
    }
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.skiplist == other.skiplist
            && self.len() == other.len()
            && self
                .set
                .iter()
                .zip(other.set.iter())
                .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits())
    }
}

/// What ZADD did to one member (Redis's `zsetAdd` out flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddResult {
    /// The member was new.
    Added(f64),
    /// The member's score changed.
    Updated(f64),
    /// The member was processed but its score stayed the same.
    Unchanged(f64),
    /// A condition (NX, XX, GT, LT) left the member alone.
    Skipped,
}

/// ZADD's conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    /// Add the score to the current one instead of replacing it.
    pub incr: bool,
}

/// The counts ZADD replies from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ZAddOutcome {
    pub added: usize,
    pub updated: usize,
    /// Members not skipped by a condition.
    pub processed: usize,
    /// The last processed member's new score (the INCR reply).
    pub score: f64,
}

impl ZSetValue {
    /// An empty, compact set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the value a command stores as its result (ZUNIONSTORE, ZRANGESTORE, ...), or
    /// a value loaded from persistence: compact when it fits, as Redis's
    /// `zsetConvertToListpackIfNeeded` and its RDB loading decide; a repeated member keeps
    /// its last score. Fails on a NaN score. O(n log n).
    pub fn from_result<M: AsRef<[u8]>>(
        entries: &[(M, f64)],
        limits: PackLimits,
    ) -> Result<Self, ZSetError> {
        let total: usize = entries.iter().map(|(m, _)| m.as_ref().len()).sum();
        let fits = entries.len() <= limits.max_entries
            && entries
                .iter()
                .all(|(m, _)| m.as_ref().len() <= limits.max_value)
            && total <= LISTPACK_MAX_BYTES;
        let mut set = SortedSet::new();
        for (member, score) in entries {
            if fits {
                set.insert(member.as_ref(), *score)?;
            } else {
                set.insert_exact(member.as_ref(), *score)?;
            }
        }
        Ok(ZSetValue {
            set,
            skiplist: !fits,
        })
    }

    /// The members and scores.
    pub fn set(&self) -> &SortedSet {
        &self.set
    }

    /// Number of members. O(1).
    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Approximate heap bytes held (MEMORY USAGE, eviction estimates). O(n).
    pub fn heap_bytes(&self) -> usize {
        self.set.heap_bytes()
    }

    /// Whether Redis would hold this set as a listpack.
    pub fn is_listpack(&self) -> bool {
        !self.skiplist
    }

    /// The name OBJECT ENCODING replies.
    pub fn encoding(&self) -> &'static str {
        if self.skiplist {
            "skiplist"
        } else {
            "listpack"
        }
    }

    /// Sets `member`'s score, converting the encoding first when a new member breaks the
    /// listpack `limits` (as Redis does before inserting). O(log n).
    pub fn insert(
        &mut self,
        member: &[u8],
        score: f64,
        limits: PackLimits,
    ) -> Result<Option<f64>, ZSetError> {
        if !self.skiplist
            && (member.len() > limits.max_value
                || (self.set.len() >= limits.max_entries && !self.set.contains(member)))
        {
            self.skiplist = true;
        }
        if self.skiplist {
            self.set.insert_exact(member, score)
        } else {
            self.set.insert(member, score)
        }
    }

    /// ZADD's per-member step (Redis's `zsetAdd`): applies `flags` to `member` with `score`
    /// (the increment under INCR). Errors only when INCR would make NaN. O(log n).
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: ZAddFlags,
        limits: PackLimits,
    ) -> Result<AddResult, ZSetError> {
        match self.set.score(member) {
            Some(current) => {
                if flags.nx {
                    return Ok(AddResult::Skipped);
                }
                let new = if flags.incr { current + score } else { score };
                if new.is_nan() {
                    return Err(ZSetError::NotANumber);
                }
                if (flags.lt && new >= current) || (flags.gt && new <= current) {
                    return Ok(AddResult::Skipped);
                }
                if new == current {
                    return Ok(AddResult::Unchanged(new));
                }
                self.insert(member, new, limits)?;
                Ok(AddResult::Updated(new))
            }
            None if flags.xx => Ok(AddResult::Skipped),
            None => {
                self.insert(member, score, limits)?;
                Ok(AddResult::Added(score))
            }
        }
    }

    /// Removes `member`, returning its score. O(log n).
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        self.set.remove(member)
    }

    /// Removes the members a ZREMRANGEBY* range selects; returns how many. O(k log n).
    pub fn remove_range(&mut self, range: &ZRange) -> usize {
        match range {
            ZRange::Rank { start, stop } => self.set.remove_range_by_rank(*start, *stop),
            ZRange::Score { min, max } => self.set.remove_range_by_score(min, max),
            ZRange::Lex { min, max } => self.set.remove_range_by_lex(min, max),
        }
    }

    /// Removes up to `count` members from the low (or, with `max`, the high) end, in that
    /// order. O(count log n).
    pub fn pop(&mut self, max: bool, count: usize) -> Vec<(Box<[u8]>, f64)> {
        if max {
            self.set.pop_max(count)
        } else {
            self.set.pop_min(count)
        }
    }

    /// The text ZSCAN gives for a score: Redis's listpack stores integral scores (within
    /// +-2^62) as integers and returns them so; otherwise `%.17g`.
    pub fn scan_score_text(&self, score: f64, out: &mut String) {
        const LIMIT: f64 = 4_611_686_018_427_387_904.0; // 2^62
        if !self.skiplist && (-LIMIT..=LIMIT).contains(&score) && score.trunc() == score {
            // In range and integral, so the conversion is exact.
            out.push_str(itoa::Buffer::new().format(score as i64));
        } else {
            crate::number::format_double(score, out);
        }
    }

    /// One ZSCAN step: the members to return and the next cursor (0 = done). A listpack set
    /// is returned whole; a skiplist set in pages of about `count` (see the module
    /// documentation). O(log n + page).
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(&[u8], f64)>) {
        if !self.skiplist {
            return (0, self.set.iter().collect());
        }
        let start = if cursor == 0 {
            0
        } else {
            let min = ScoreBound {
                value: cursor_to_score(cursor),
                exclusive: false,
            };
            self.set.score_range_ranks(&min, &ScoreBound::MAX).start
        };
        let mut page: Vec<(&[u8], f64)> = Vec::with_capacity(count.min(self.len()));
        let mut items = self.set.iter_ranks(start..self.len());
        for (member, score) in items.by_ref() {
            if page.len() >= count.max(1)
                && page
                    .last()
                    .is_some_and(|&(_, last)| score_to_cursor(last) != score_to_cursor(score))
            {
                return (score_to_cursor(score), page);
            }
            page.push((member, score));
        }
        (0, page)
    }

    /// A uniformly random member (ZRANDMEMBER without a count). O(log n).
    pub fn random_member<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&[u8], f64)> {
        self.set.random_member(rng)
    }
}

/// Bits of a score's order-preserving image dropped from a cursor (see the module
/// documentation): what is left, plus one, stays below 2^53.
const CURSOR_DROPPED_BITS: u32 = 12;

/// Maps a score to a ZSCAN cursor, preserving order (`-0` as `0`; neighbouring scores may
/// share a cursor, see the module documentation); between 1 and 2^52, never 0, which means
/// "start" and "done".
pub fn score_to_cursor(score: f64) -> u64 {
    let bits = (score + 0.0).to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    };
    (ordered >> CURSOR_DROPPED_BITS) + 1
}

/// The lowest score that maps to `cursor` ([`score_to_cursor`]). A cursor no score maps to
/// decodes to NaN, which no member has, so the scan ends.
pub fn cursor_to_score(cursor: u64) -> f64 {
    let Some(ordered) = cursor
        .checked_sub(1)
        .filter(|band| *band < 1 << (64 - CURSOR_DROPPED_BITS))
        .map(|band| band << CURSOR_DROPPED_BITS)
    else {
        return f64::NAN;
    };
    if ordered >> 63 == 1 {
        f64::from_bits(ordered & !(1 << 63))
    } else {
        let score = f64::from_bits(!ordered);
        // The band of -inf also holds NaN images, lower than -inf: it starts at -inf.
        if score.is_nan()
            && ordered
                >= (!f64::NEG_INFINITY.to_bits()) >> CURSOR_DROPPED_BITS << CURSOR_DROPPED_BITS
        {
            f64::NEG_INFINITY
        } else {
            score
        }
    }
}

/// Which members a ZRANGE-style command selects, before LIMIT and direction.
#[derive(Debug, Clone, PartialEq)]
pub enum ZRange {
    /// Indexes as given (inclusive, negative from the end).
    Rank {
        start: i64,
        stop: i64,
    },
    Score {
        min: ScoreBound,
        max: ScoreBound,
    },
    Lex {
        min: LexBound,
        max: LexBound,
    },
}

/// A complete ZRANGE request: range, direction and LIMIT as Redis takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct ZRangeSpec {
    pub range: ZRange,
    /// Descending order (REV, ZREVRANGE*); score and lex bounds keep their meaning.
    pub rev: bool,
    /// LIMIT offset: negative selects nothing, as in Redis.
    pub offset: i64,
    /// LIMIT count: negative means no limit, as in Redis.
    pub limit: i64,
}

impl ZRangeSpec {
    /// The selected (member, score) pairs of `set`, in reply order. O(log n + k), lex ranges
    /// over mixed scores O(n) (see [`SortedSet::range_by_lex`]).
    pub fn iter<'a>(&'a self, set: &'a SortedSet) -> RangeIter<'a> {
        let offset = usize::try_from(self.offset).ok();
        let limit = match (offset, usize::try_from(self.limit)) {
            (None, _) => Some(0),
            (Some(_), Ok(limit)) => Some(limit),
            (Some(_), Err(_)) => None,
        };
        let offset = offset.unwrap_or(0);
        match &self.range {
            ZRange::Rank { start, stop } => set.range_by_rank(*start, *stop, self.rev),
            ZRange::Score { min, max } => set.range_by_score(min, max, self.rev, offset, limit),
            ZRange::Lex { min, max } => set.range_by_lex(min, max, self.rev, offset, limit),
        }
    }
}

/// ZUNION / ZINTER / ZDIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How ZUNION and ZINTER combine the scores of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregate {
    #[default]
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`: a NaN sum (`inf + -inf`) becomes 0; MIN and MAX keep
    /// the current value when the new one is NaN.
    fn apply(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *target {
                    *target = value;
                }
            }
            Aggregate::Max => {
                if value > *target {
                    *target = value;
                }
            }
        }
    }
}

/// Orders (member, score) pairs as a sorted set does: by score, then member bytes.
pub fn cmp_entries(a: &(Box<[u8]>, f64), b: &(Box<[u8]>, f64)) -> Ordering {
    a.1.partial_cmp(&b.1)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.0.cmp(&b.0))
}

/// One input of ZUNION and friends, classified before any is read.
#[derive(Clone, Copy)]
struct Input<'k> {
    key: &'k [u8],
    len: usize,
    weight: f64,
}

impl DbMut<'_> {
    /// The sorted set at `key` for reading (counts a hit or miss). O(1).
    pub fn zset(&mut self, key: &[u8]) -> StoreResult<Option<&ZSetValue>> {
        self.read_typed(key, Value::as_zset)
    }

    /// Checks that `key` can be an input of ZUNION and friends (missing, a sorted set or a
    /// set); WRONGTYPE otherwise. O(1).
    pub fn zset_input_type_check(&mut self, key: &[u8]) -> StoreResult<()> {
        match self.lookup_write(key) {
            None | Some(Value::ZSet(_) | Value::Set(_)) => Ok(()),
            Some(_) => Err(StoreError::WrongType),
        }
    }

    /// Records a change to the sorted set at `key`, or drops a set created for nothing.
    fn zset_written(&mut self, key: &[u8], changed: bool) {
        if changed {
            self.after_write(key);
        } else {
            self.remove_if_empty(key);
        }
    }

    /// ZADD / ZINCRBY: applies `flags` to each (score, member) in order. Without XX a missing
    /// key is created. O(k log n).
    pub fn zadd(
        &mut self,
        key: &[u8],
        flags: ZAddFlags,
        pairs: &[(f64, &[u8])],
    ) -> StoreResult<ZAddOutcome> {
        let mut outcome = ZAddOutcome::default();
        if flags.xx && !self.exists(key) {
            return Ok(outcome);
        }
        let limits = self.limits.zset;
        let zset = self.write_typed_or_create(key, Value::as_zset_mut, Value::new_zset)?;
        let mut failed = None;
        for &(score, member) in pairs {
            match zset.add(member, score, flags, limits) {
                Ok(AddResult::Added(s)) => {
                    outcome.added += 1;
                    outcome.processed += 1;
                    outcome.score = s;
                }
                Ok(AddResult::Updated(s)) => {
                    outcome.updated += 1;
                    outcome.processed += 1;
                    outcome.score = s;
                }
                Ok(AddResult::Unchanged(s)) => {
                    outcome.processed += 1;
                    outcome.score = s;
                }
                Ok(AddResult::Skipped) => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        self.zset_written(key, outcome.added + outcome.updated > 0);
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(outcome),
        }
    }

    /// ZREM: removes `members`; returns how many were there. O(k log n).
    pub fn zrem(&mut self, key: &[u8], members: &[&[u8]]) -> StoreResult<usize> {
        let Some(zset) = self.write_typed(key, Value::as_zset_mut)? else {
            return Ok(0);
        };
        let removed = members.iter().filter(|m| zset.remove(m).is_some()).count();
        self.zset_written(key, removed > 0);
        Ok(removed)
    }

    /// ZREMRANGEBYRANK / BYSCORE / BYLEX: returns how many members were removed. O(k log n).
    pub fn zremrange(&mut self, key: &[u8], range: &ZRange) -> StoreResult<usize> {
        let Some(zset) = self.write_typed(key, Value::as_zset_mut)? else {
            return Ok(0);
        };
        let removed = zset.remove_range(range);
        self.zset_written(key, removed > 0);
        Ok(removed)
    }

    /// ZPOPMIN / ZPOPMAX / BZPOP*: pops up to `count` members from the first of `keys` that
    /// holds a sorted set, returning its index and the members (none for a count of 0);
    /// `None` when no key exists. WRONGTYPE stops at the first key of another type, as in
    /// Redis. O(keys + count log n).
    pub fn zpop(
        &mut self,
        keys: &[&[u8]],
        max: bool,
        count: usize,
    ) -> StoreResult<Option<(usize, Vec<Entry>)>> {
        for (index, key) in keys.iter().enumerate() {
            let popped = match self.write_typed(key, Value::as_zset_mut)? {
                None => continue,
                Some(zset) if zset.is_empty() => continue,
                Some(zset) => zset.pop(max, count),
            };
            self.zset_written(key, !popped.is_empty());
            return Ok(Some((index, popped)));
        }
        Ok(None)
    }

    /// ZRANGESTORE: stores the range `spec` of `src` at `dst` (deleting `dst` when empty);
    /// returns the number of members stored. O(log n + k log k).
    pub fn zrangestore(&mut self, dst: &[u8], src: &[u8], spec: &ZRangeSpec) -> StoreResult<usize> {
        let entries: Vec<(Box<[u8]>, f64)> = match self.zset(src)? {
            None => Vec::new(),
            Some(zset) => spec
                .iter(zset.set())
                .map(|(m, s)| (Box::from(m), s))
                .collect(),
        };
        self.store_zset(dst, &entries)
    }

    /// Stores `entries` at `dst` as a new sorted set replacing any value (and expiry), or
    /// deletes `dst` when there are none. Returns the stored length.
    pub(super) fn store_zset(
        &mut self,
        dst: &[u8],
        entries: &[(Box<[u8]>, f64)],
    ) -> StoreResult<usize> {
        if entries.is_empty() {
            self.remove(dst);
            return Ok(0);
        }
        let value = ZSetValue::from_result(entries, self.limits.zset)?;
        let len = value.len();
        self.insert(dst, Value::ZSet(Box::new(value)), None);
        Ok(len)
    }

    /// ZUNION / ZINTER / ZDIFF over `keys` (sorted sets, or sets with every score 1; missing
    /// keys are empty) with `weights` (one per key, or empty for all 1): the result in
    /// sorted-set order. Inputs are combined smallest first, as Redis does, so sums round
    /// the same. O(total input size + result log result).
    pub fn zsetop(
        &mut self,
        op: SetOp,
        keys: &[&[u8]],
        weights: &[f64],
        aggregate: Aggregate,
    ) -> StoreResult<Vec<(Box<[u8]>, f64)>> {
        let mut inputs = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let len = match self.lookup_read(key) {
                None => 0,
                Some(Value::ZSet(z)) => z.len(),
                Some(Value::Set(s)) => s.len(),
                Some(_) => return Err(StoreError::WrongType),
            };
            inputs.push(Input {
                key,
                len,
                weight: weights.get(i).copied().unwrap_or(1.0),
            });
        }
        let mut result = match op {
            SetOp::Union => {
                inputs.sort_by_key(|input| input.len);
                self.zunion(&inputs, aggregate)
            }
            SetOp::Inter => {
                inputs.sort_by_key(|input| input.len);
                self.zinter(&inputs, aggregate)
            }
            SetOp::Diff => self.zdiff(&inputs),
        };
        result.sort_unstable_by(cmp_entries);
        Ok(result)
    }

    /// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE: [`Self::zsetop`], stored at `dst` (deleted
    /// when the result is empty). Returns the stored length.
    pub fn zsetop_store(
        &mut self,
        dst: &[u8],
        op: SetOp,
        keys: &[&[u8]],
        weights: &[f64],
        aggregate: Aggregate,
    ) -> StoreResult<usize> {
        let result = self.zsetop(op, keys, weights, aggregate)?;
        self.store_zset(dst, &result)
    }

    /// Calls `visit` with every (member, score) of an input (a set's members score 1).
    fn for_each_input_member(&mut self, key: &[u8], mut visit: impl FnMut(&[u8], f64)) {
        match self.lookup_write(key) {
            Some(Value::ZSet(z)) => {
                for (member, score) in z.set().iter() {
                    visit(member, score);
                }
            }
            Some(Value::Set(s)) => {
                for member in s.iter() {
                    member.with_bytes(|bytes| visit(bytes, 1.0));
                }
            }
            _ => {}
        }
    }

    /// The score of `member` in an input (1 for a set member).
    fn input_score(&mut self, key: &[u8], member: &[u8]) -> Option<f64> {
        match self.lookup_write(key) {
            Some(Value::ZSet(z)) => z.set().score(member),
            Some(Value::Set(s)) => s.contains(member).then_some(1.0),
            _ => None,
        }
    }

    fn zunion(&mut self, inputs: &[Input], aggregate: Aggregate) -> Vec<(Box<[u8]>, f64)> {
        let mut acc: FastMap<Box<[u8]>, f64> = FastMap::default();
        acc.reserve(inputs.last().map_or(0, |i| i.len));
        for input in inputs {
            self.for_each_input_member(input.key, |member, score| {
                let mut value = input.weight * score;
                if value.is_nan() {
                    value = 0.0;
                }
                match acc.get_mut(member) {
                    Some(total) => aggregate.apply(total, value),
                    None => {
                        acc.insert(member.into(), value);
                    }
                }
            });
        }
        acc.into_iter().collect()
    }

    fn zinter(&mut self, inputs: &[Input], aggregate: Aggregate) -> Vec<(Box<[u8]>, f64)> {
        let Some(first) = inputs.first() else {
            return Vec::new();
        };
        let mut candidates = Vec::with_capacity(first.len);
        self.for_each_input_member(first.key, |member, score| {
            let mut value = first.weight * score;
            if value.is_nan() {
                value = 0.0;
            }
            candidates.push((Box::<[u8]>::from(member), value));
        });
        for input in &inputs[1..] {
            if candidates.is_empty() {
                break;
            }
            candidates.retain_mut(
                |(member, total)| match self.input_score(input.key, member) {
                    Some(score) => {
                        aggregate.apply(total, score * input.weight);
                        true
                    }
                    None => false,
                },
            );
        }
        candidates
    }

    fn zdiff(&mut self, inputs: &[Input]) -> Vec<(Box<[u8]>, f64)> {
        let Some(first) = inputs.first() else {
            return Vec::new();
        };
        let mut candidates = Vec::with_capacity(first.len);
        self.for_each_input_member(first.key, |member, score| {
            candidates.push((Box::<[u8]>::from(member), score));
        });
        for input in &inputs[1..] {
            if candidates.is_empty() {
                break;
            }
            if input.len > 0 {
                candidates.retain(|(member, _)| self.input_score(input.key, member).is_none());
            }
        }
        candidates
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EncodingLimits;

    const L: PackLimits = EncodingLimits::DEFAULT.zset;

    #[test]
    fn configured_limits_decide_the_encoding() {
        let none = PackLimits {
            max_entries: 0,
            max_value: 64,
        };
        let mut z = ZSetValue::new();
        z.insert(b"a", 1.0, none).unwrap();
        assert_eq!(z.encoding(), "skiplist");
        let one = PackLimits {
            max_entries: 1,
            max_value: 64,
        };
        let stored = ZSetValue::from_result(&[(m("a"), 1.0)], one).unwrap();
        assert_eq!(stored.encoding(), "listpack");
        let stored = ZSetValue::from_result(&[(m("a"), 1.0), (m("b"), 2.0)], one).unwrap();
        assert_eq!(stored.encoding(), "skiplist");
        let short = PackLimits {
            max_entries: 128,
            max_value: 3,
        };
        let mut z = ZSetValue::new();
        z.insert(b"abc", 1.0, short).unwrap();
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"abcd", 1.0, short).unwrap();
        assert_eq!(z.encoding(), "skiplist");
    }
    use crate::store::Keyspace;

    fn m(s: &str) -> Box<[u8]> {
        s.as_bytes().into()
    }

    #[test]
    fn encoding_converts_once_and_never_back() {
        let mut z = ZSetValue::new();
        for i in 0..L.max_entries {
            z.insert(format!("m{i}").as_bytes(), i as f64, L).unwrap();
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"m0", 5.0, L).unwrap();
        assert_eq!(z.encoding(), "listpack", "an update adds no member");
        z.insert(b"extra", 1.0, L).unwrap();
        assert_eq!(z.encoding(), "skiplist");
        z.pop(false, 100);
        assert_eq!(z.encoding(), "skiplist");

        let mut long = ZSetValue::new();
        long.insert(&[b'x'; L.max_value], 1.0, L).unwrap();
        assert_eq!(long.encoding(), "listpack");
        long.insert(&[b'y'; L.max_value + 1], 1.0, L).unwrap();
        assert_eq!(long.encoding(), "skiplist");
    }

    #[test]
    fn negative_zero_survives_only_in_skiplists() {
        let mut z = ZSetValue::new();
        z.insert(b"a", -0.0, L).unwrap();
        assert!(z.set().score(b"a").unwrap().is_sign_positive());
        z.insert(&[b'x'; 65], 1.0, L).unwrap();
        z.insert(b"b", -0.0, L).unwrap();
        assert!(z.set().score(b"b").unwrap().is_sign_negative());
        let stored = ZSetValue::from_result(&[(m("a"), -0.0)], L).unwrap();
        assert!(stored.set().score(b"a").unwrap().is_sign_positive());
    }

    #[test]
    fn add_follows_zset_add_flags() {
        let mut z = ZSetValue::new();
        let f = ZAddFlags::default();
        assert_eq!(z.add(b"a", 1.0, f, L), Ok(AddResult::Added(1.0)));
        assert_eq!(z.add(b"a", 1.0, f, L), Ok(AddResult::Unchanged(1.0)));
        let gt = ZAddFlags { gt: true, ..f };
        assert_eq!(z.add(b"a", 0.5, gt, L), Ok(AddResult::Skipped));
        assert_eq!(z.add(b"a", 2.0, gt, L), Ok(AddResult::Updated(2.0)));
        let incr = ZAddFlags { incr: true, ..f };
        assert_eq!(z.add(b"a", 3.0, incr, L), Ok(AddResult::Updated(5.0)));
        z.insert(b"i", f64::INFINITY, L).unwrap();
        assert_eq!(
            z.add(b"i", f64::NEG_INFINITY, incr, L),
            Err(ZSetError::NotANumber)
        );
        let xx = ZAddFlags { xx: true, ..f };
        assert_eq!(z.add(b"new", 1.0, xx, L), Ok(AddResult::Skipped));
        let nx = ZAddFlags { nx: true, ..f };
        assert_eq!(z.add(b"a", 9.0, nx, L), Ok(AddResult::Skipped));
    }

    #[test]
    fn cursor_mapping_preserves_order_and_round_trips() {
        let scores = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -1e-300,
            0.0,
            1e-300,
            1.0,
            1e300,
            f64::INFINITY,
        ];
        for pair in scores.windows(2) {
            assert!(score_to_cursor(pair[0]) < score_to_cursor(pair[1]));
        }
        for s in scores {
            let cursor = score_to_cursor(s);
            // Within what clients can hold: a signed 64-bit integer, a JavaScript number.
            assert!((1..=1 << 52).contains(&cursor), "{s}: {cursor}");
            // A cursor resumes at the lowest score of its band, never above the score.
            let resumed = cursor_to_score(cursor);
            assert!(resumed <= s, "{s} resumes at {resumed}");
            assert_eq!(score_to_cursor(resumed), cursor);
        }
        // Integers a ZSCAN client may make of a cursor it cannot hold end the scan.
        assert!(cursor_to_score(i64::MAX as u64).is_nan());
        assert!(cursor_to_score((1 << 52) + 2).is_nan());
        assert_eq!(score_to_cursor(-0.0), score_to_cursor(0.0));
    }

    #[test]
    fn skiplist_scan_returns_every_stable_member_despite_changes() {
        let mut z = ZSetValue::new();
        for i in 0..1000 {
            // Groups of equal scores, so pages must extend over ties.
            z.insert(format!("m{i}").as_bytes(), (i / 7) as f64, L)
                .unwrap();
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let (next, page) = z.scan(cursor, 10);
            seen.extend(page.iter().map(|(m, _)| m.to_vec()));
            // Remove odd members (never the even ones) and add new ones between steps.
            z.remove(format!("m{}", round * 2 + 1).as_bytes());
            z.insert(format!("new{round}").as_bytes(), -1.0, L).unwrap();
            round += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..1000).step_by(2) {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
        }
        assert!(round < 200, "pages of about 10 members: {round} steps");
        // A cursor no score maps to ends the scan without a panic.
        assert_eq!(z.scan(0xFFF8_0000_0000_0000, 10), (0, Vec::new()));
    }

    #[test]
    fn listpack_scan_is_whole_with_integer_scores() {
        let mut z = ZSetValue::new();
        z.insert(b"a", 123456789012345678.0, L).unwrap();
        z.insert(b"b", 1e20, L).unwrap();
        let (cursor, page) = z.scan(0, 1);
        assert_eq!((cursor, page.len()), (0, 2));
        let mut text = String::new();
        z.scan_score_text(123456789012345678.0, &mut text);
        assert_eq!(text, "123456789012345680");
        text.clear();
        z.scan_score_text(1e20, &mut text);
        assert_eq!(text, "1e+20");
    }

    #[test]
    fn set_operations_aggregate_like_redis() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        let f = ZAddFlags::default();
        db.zadd(b"a", f, &[(1.0, b"x"), (2.0, b"y"), (f64::INFINITY, b"z")])
            .unwrap();
        db.zadd(b"b", f, &[(10.0, b"y"), (f64::NEG_INFINITY, b"z")])
            .unwrap();
        let union = db
            .zsetop(SetOp::Union, &[b"a", b"b", b"nokey"], &[], Aggregate::Sum)
            .unwrap();
        assert_eq!(union, vec![(m("z"), 0.0), (m("x"), 1.0), (m("y"), 12.0)]);
        let inter = db
            .zsetop(SetOp::Inter, &[b"a", b"b"], &[2.0, 1.0], Aggregate::Max)
            .unwrap();
        assert_eq!(inter, vec![(m("y"), 10.0), (m("z"), f64::INFINITY)]);
        let diff = db
            .zsetop(SetOp::Diff, &[b"a", b"b"], &[], Aggregate::Sum)
            .unwrap();
        assert_eq!(diff, vec![(m("x"), 1.0)]);
        assert_eq!(
            db.zsetop_store(b"d", SetOp::Inter, &[b"a", b"nokey"], &[], Aggregate::Sum),
            Ok(0)
        );
        assert!(!db.exists(b"d"));
        let set = crate::store::set::SetValue::from_members([&b"y"[..], b"q"], 512).unwrap();
        db.set(b"plain", Value::Set(set), false);
        let with_set = db
            .zsetop(SetOp::Union, &[b"a", b"plain"], &[1.0, 3.0], Aggregate::Sum)
            .unwrap();
        assert_eq!(
            with_set,
            vec![
                (m("x"), 1.0),
                (m("q"), 3.0),
                (m("y"), 5.0),
                (m("z"), f64::INFINITY)
            ]
        );
        db.set(
            b"s",
            Value::Str(b"v".as_slice().into(), Default::default()),
            false,
        );
        assert_eq!(
            db.zsetop(SetOp::Union, &[b"a", b"s"], &[], Aggregate::Sum),
            Err(StoreError::WrongType)
        );
    }

    #[test]
    fn emptied_sets_are_deleted_and_xx_creates_nothing() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        let xx = ZAddFlags {
            xx: true,
            ..Default::default()
        };
        assert_eq!(db.zadd(b"k", xx, &[(1.0, b"a")]).unwrap().added, 0);
        assert!(!db.exists(b"k"));
        db.zadd(b"k", ZAddFlags::default(), &[(1.0, b"a"), (2.0, b"b")])
            .unwrap();
        assert_eq!(db.zrem(b"k", &[b"a", b"zz"]), Ok(1));
        let popped = db.zpop(&[b"nokey", b"k"], true, 5).unwrap();
        assert_eq!(popped, Some((1, vec![(m("b"), 2.0)])));
        assert!(!db.exists(b"k"));
        assert_eq!(db.zpop(&[b"k"], false, 1), Ok(None));
    }
}
