//! String values: the operations behind GET, SET, INCR, APPEND, GETRANGE and friends.

use super::keyspace::DbMut;
use super::long_double::LongDouble;
use super::value::{StrEncoding, Value};
use super::{exact_bytes, index_range, ShortBytes, StopBeforeFirst, StoreError, StoreResult};
use crate::number::parse_i64;

/// SET's NX / XX condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetCondition {
    #[default]
    Always,
    IfAbsent,
    IfPresent,
}

/// What SET does besides storing the value.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetOptions {
    pub condition: SetCondition,
    /// Absolute expiry in Unix ms.
    pub expire_at: Option<u64>,
    pub keep_ttl: bool,
    /// Return the previous value (SET ... GET); a non-string previous value is WRONGTYPE.
    pub get: bool,
}

/// What SET did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    pub written: bool,
    /// The previous value, when [`SetOptions::get`] was asked.
    pub previous: Option<Vec<u8>>,
}

/// How GETEX changes the expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryChange {
    Keep,
    Persist,
    At(u64),
}

/// What LCS computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LcsQuery {
    /// The common subsequence itself.
    Sequence,
    /// Only its length (LEN).
    Len,
    /// The matching runs and the length (IDX); runs shorter than `min_match_len` are left out.
    Idx { min_match_len: u64 },
}

/// One run of consecutive matching bytes found by LCS IDX: its inclusive ranges in the first
/// and the second string, and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (u32, u32),
    pub b: (u32, u32),
    pub len: u32,
}

/// LCS's answer to an [`LcsQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LcsResult {
    Sequence(Vec<u8>),
    Len(u32),
    /// Runs from the end of the strings backwards, as Redis lists them.
    Idx {
        matches: Vec<LcsMatch>,
        len: u32,
    },
}

/// The longest common subsequence of `a` and `b` by the classic dynamic programming table,
/// walked back exactly as Redis walks it, so ties pick the same subsequence and runs. The
/// table is refused, with Redis's error, when it would take more than `max_table_bytes` (its
/// `proto-max-bulk-len`). LEN needs two table rows only. O(len(a) x len(b)) time; memory
/// O(len(a) x len(b)), or O(min(len(a), len(b))) for LEN.
pub fn lcs(a: &[u8], b: &[u8], query: LcsQuery, max_table_bytes: u64) -> StoreResult<LcsResult> {
    let too_long = |len: usize| len as u64 >= u64::from(u32::MAX - 1);
    if too_long(a.len()) || too_long(b.len()) {
        return Err(StoreError::Invalid("String too long for LCS".into()));
    }
    let width = b.len() + 1;
    let cells = (a.len() as u64 + 1) * width as u64;
    if cells.saturating_mul(4) > max_table_bytes {
        return Err(StoreError::Invalid(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len".into(),
        ));
    }
    let no_memory = || {
        StoreError::Invalid(
            "Insufficient memory, failed allocating transient memory for LCS".into(),
        )
    };
    if query == LcsQuery::Len {
        // The length is symmetric: rows as wide as the shorter string.
        let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
        let mut rows: Vec<u32> = Vec::new();
        rows.try_reserve_exact(2 * (short.len() + 1))
            .map_err(|_| no_memory())?;
        rows.resize(2 * (short.len() + 1), 0);
        let (mut prev, mut cur) = rows.split_at_mut(short.len() + 1);
        for &byte in long {
            lcs_row(byte, short, prev, cur);
            std::mem::swap(&mut prev, &mut cur);
        }
        return Ok(LcsResult::Len(prev[short.len()]));
    }
    let cells = usize::try_from(cells).map_err(|_| no_memory())?;
    let mut table: Vec<u32> = Vec::new();
    table.try_reserve_exact(cells).map_err(|_| no_memory())?;
    table.resize(cells, 0);
    for (i, &ai) in a.iter().enumerate() {
        let (done, rest) = table.split_at_mut((i + 1) * width);
        lcs_row(ai, b, &done[i * width..], &mut rest[..width]);
    }
    let at = |i: usize, j: usize| table[i * width + j];
    let total = at(a.len(), b.len());
    let mut sequence = vec![0u8; total as usize];
    let mut left = total as usize;
    let mut matches = Vec::new();
    // The run being extended backwards: (a start, a end, b start, b end).
    let mut run: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            // Every diagonal step is one byte of the subsequence, `total` of them in all.
            left = left.saturating_sub(1);
            if let Some(slot) = sequence.get_mut(left) {
                *slot = a[i - 1];
            }
            run = match run {
                None => Some((i - 1, i - 1, j - 1, j - 1)),
                Some((a_start, a_end, b_start, b_end)) if a_start == i && b_start == j => {
                    Some((a_start - 1, a_end, b_start - 1, b_end))
                }
                other => {
                    emit = true;
                    other
                }
            };
            if run.is_some_and(|(a_start, _, b_start, _)| a_start == 0 || b_start == 0) {
                emit = true;
            }
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let (Some((a_start, a_end, b_start, b_end)), LcsQuery::Idx { min_match_len }) =
                (run.take(), query)
            {
                let len = (a_end - a_start + 1) as u32;
                if min_match_len == 0 || u64::from(len) >= min_match_len {
                    matches.push(LcsMatch {
                        a: (a_start as u32, a_end as u32),
                        b: (b_start as u32, b_end as u32),
                        len,
                    });
                }
            }
        }
    }
    Ok(match query {
        LcsQuery::Idx { .. } => LcsResult::Idx {
            matches,
            len: total,
        },
        _ => LcsResult::Sequence(sequence),
    })
}

/// One row of the LCS table: `cur[j]` for the prefix of `a` ending in `ai`, from the row
/// before it.
#[inline]
fn lcs_row(ai: u8, b: &[u8], prev: &[u32], cur: &mut [u32]) {
    cur[0] = 0;
    for (j, &bj) in b.iter().enumerate() {
        cur[j + 1] = if ai == bj {
            prev[j] + 1
        } else {
            prev[j + 1].max(cur[j])
        };
    }
}

impl DbMut<'_> {
    /// The string at `key`. O(1).
    pub fn get_string(&mut self, key: &[u8]) -> StoreResult<Option<&[u8]>> {
        match self.lookup_read(key) {
            None => Ok(None),
            Some(Value::Str(s, _)) => Ok(Some(s)),
            Some(_) => Err(StoreError::WrongType),
        }
    }

    fn string_mut(&mut self, key: &[u8]) -> StoreResult<Option<&mut ShortBytes>> {
        match self.lookup_write(key) {
            None => Ok(None),
            Some(Value::Str(s, _)) => Ok(Some(s)),
            Some(_) => Err(StoreError::WrongType),
        }
    }

    /// SET with its options. O(len(value)).
    pub fn set_string(
        &mut self,
        key: &[u8],
        value: &[u8],
        opts: SetOptions,
    ) -> StoreResult<SetOutcome> {
        let previous = if opts.get {
            self.string_mut(key)?.map(|s| s.to_vec())
        } else {
            None
        };
        let exists = self.exists(key);
        let allowed = match opts.condition {
            SetCondition::Always => true,
            SetCondition::IfAbsent => !exists,
            SetCondition::IfPresent => exists,
        };
        if !allowed {
            return Ok(SetOutcome {
                written: false,
                previous,
            });
        }
        let ttl = match (opts.expire_at, opts.keep_ttl) {
            (Some(at), _) => Some(at),
            (None, true) => self.expire_at(key),
            (None, false) => None,
        };
        // Reuse the old allocation when it fits snugly: no allocation per overwrite.
        match self.lookup_write(key) {
            Some(Value::Str(old, encoding))
                if old.capacity() >= value.len() && old.capacity() <= value.len() * 2 + 16 =>
            {
                old.clear();
                old.extend_from_slice(value);
                *encoding = StrEncoding::Auto;
                self.replace_ttl(key, ttl);
                self.modified(key);
            }
            _ => {
                // A time already past is kept, as Redis keeps it: the key is there until
                // expiry finds it (an `expired` event, `expired_keys`), not deleted by the SET.
                let now = self.now_ms();
                let live_ttl = ttl.filter(|&at| at > now);
                self.insert(
                    key,
                    Value::Str(exact_bytes(value), StrEncoding::Auto),
                    live_ttl,
                );
                if ttl != live_ttl {
                    self.replace_ttl(key, ttl);
                }
            }
        }
        Ok(SetOutcome {
            written: true,
            previous,
        })
    }

    /// GETDEL. O(1).
    pub fn get_del(&mut self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let value = self.string_mut(key)?.map(|s| std::mem::take(s).into_vec());
        if value.is_some() {
            self.remove(key);
        }
        Ok(value)
    }

    /// GETEX: the value, with its expiry changed. O(1).
    pub fn get_ex(&mut self, key: &[u8], change: ExpiryChange) -> StoreResult<Option<Vec<u8>>> {
        let Some(value) = self.get_string(key)?.map(<[u8]>::to_vec) else {
            return Ok(None);
        };
        match change {
            ExpiryChange::Keep => {}
            ExpiryChange::Persist => {
                self.persist(key);
            }
            ExpiryChange::At(when) => {
                self.set_expire(key, when);
            }
        }
        Ok(Some(value))
    }

    /// APPEND; returns the new length, refused past `max_len` bytes (`proto-max-bulk-len`).
    /// Amortized O(len(data)).
    pub fn append(&mut self, key: &[u8], data: &[u8], max_len: usize) -> StoreResult<usize> {
        match self.string_mut(key)? {
            Some(s) => {
                if s.len() + data.len() > max_len {
                    return Err(StoreError::StringTooLong);
                }
                s.extend_from_slice(data);
                let len = s.len();
                self.mark_raw(key);
                self.modified(key);
                Ok(len)
            }
            None => {
                // A new key takes its value as SET would encode it.
                let ttl = self.expire_at(key);
                self.insert(key, Value::Str(exact_bytes(data), StrEncoding::Auto), ttl);
                Ok(data.len())
            }
        }
    }

    /// STRLEN. O(1).
    pub fn strlen(&mut self, key: &[u8]) -> StoreResult<usize> {
        Ok(self.get_string(key)?.map_or(0, <[u8]>::len))
    }

    /// INCRBY/DECRBY/INCR/DECR; a missing key counts as 0. O(1).
    pub fn incr_by(&mut self, key: &[u8], delta: i64) -> StoreResult<i64> {
        let current = match self.string_mut(key)? {
            Some(s) => parse_i64(s).ok_or(StoreError::NotInteger)?,
            None => 0,
        };
        let next = current.checked_add(delta).ok_or(StoreError::Overflow)?;
        self.store_number(
            key,
            itoa::Buffer::new().format(next).as_bytes(),
            StrEncoding::Auto,
        );
        Ok(next)
    }

    /// INCRBYFLOAT in Redis's `long double` precision; returns the stored text. The key's type
    /// and value are checked before the increment is parsed, in Redis's order. O(1).
    pub fn incr_by_float(&mut self, key: &[u8], delta: &[u8]) -> StoreResult<String> {
        let current = match self.string_mut(key)? {
            Some(s) => LongDouble::parse(s).ok_or(StoreError::NotFloat)?,
            None => LongDouble::parse(b"0").ok_or(StoreError::NotFloat)?,
        };
        let delta = LongDouble::parse(delta).ok_or(StoreError::NotFloat)?;
        let next = current.add(&delta);
        if !next.is_finite() {
            return Err(StoreError::NanOrInfinity);
        }
        let text = next.to_human_string();
        self.store_number(key, text.as_bytes(), StrEncoding::Embstr);
        Ok(text)
    }

    /// Replaces a string's content in place, keeping its expiry.
    fn store_number(&mut self, key: &[u8], text: &[u8], encoding: StrEncoding) {
        match self.lookup_write(key) {
            Some(Value::Str(s, enc)) => {
                s.clear();
                s.extend_from_slice(text);
                *enc = encoding;
                self.modified(key);
            }
            _ => self.insert(key, Value::Str(exact_bytes(text), encoding), None),
        }
    }

    /// Records that a string was edited in place (APPEND, SETRANGE): Redis makes it `raw`.
    fn mark_raw(&mut self, key: &[u8]) {
        if let Some(Value::Str(_, encoding)) = self.lookup_write(key) {
            *encoding = StrEncoding::Raw;
        }
    }

    /// GETRANGE with Redis's index rules, which differ from LRANGE's: a negative end reaching
    /// before the first byte clamps to it. O(len(result)).
    pub fn get_range(&mut self, key: &[u8], start: i64, end: i64) -> StoreResult<Vec<u8>> {
        let Some(s) = self.get_string(key)? else {
            return Ok(Vec::new());
        };
        Ok(index_range(start, end, s.len(), StopBeforeFirst::First)
            .and_then(|bytes| s.get(bytes))
            .map_or_else(Vec::new, <[u8]>::to_vec))
    }

    /// SETRANGE: overwrite from `offset`, zero-padding; returns the new length, refused past
    /// `max_len` bytes (`proto-max-bulk-len`). A missing key with empty `data` is left
    /// missing. O(offset + len(data)) when growing.
    pub fn set_range(
        &mut self,
        key: &[u8],
        offset: usize,
        data: &[u8],
        max_len: usize,
    ) -> StoreResult<usize> {
        let end = offset
            .checked_add(data.len())
            .filter(|&e| e <= max_len)
            .ok_or(StoreError::StringTooLong)?;
        match self.string_mut(key)? {
            Some(s) => {
                if data.is_empty() {
                    return Ok(s.len());
                }
                if s.len() < end {
                    s.resize(end, 0);
                }
                s[offset..end].copy_from_slice(data);
                let len = s.len();
                self.mark_raw(key);
                self.modified(key);
                Ok(len)
            }
            None => {
                if data.is_empty() {
                    return Ok(0);
                }
                let mut s = ShortBytes::from_elem(0, end);
                s[offset..].copy_from_slice(data);
                self.insert(key, Value::Str(s, StrEncoding::Raw), None);
                Ok(end)
            }
        }
    }

    /// LCS of the strings at two keys (a missing key is an empty string); `WrongType` when
    /// either holds another type, found after looking both up. See [`lcs`].
    pub fn lcs(
        &mut self,
        key_a: &[u8],
        key_b: &[u8],
        query: LcsQuery,
        max_table_bytes: u64,
    ) -> StoreResult<LcsResult> {
        let a = self
            .get_string(key_a)
            .map(|s| s.unwrap_or_default().to_vec());
        let b = self.get_string(key_b)?.unwrap_or_default();
        lcs(&a?, b, query, max_table_bytes)
    }

    /// MSET / MSETNX: stores every pair (all or nothing when `only_if_none_exist`); returns
    /// whether they were stored. O(total length).
    pub fn mset(&mut self, pairs: &[(&[u8], &[u8])], only_if_none_exist: bool) -> bool {
        if only_if_none_exist && pairs.iter().any(|(k, _)| self.exists(k)) {
            return false;
        }
        for (key, value) in pairs {
            self.insert(key, Value::Str(exact_bytes(value), StrEncoding::Auto), None);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Keyspace, MAX_STRING_LEN};

    #[test]
    fn set_conditions_and_get_option() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        let nx = SetOptions {
            condition: SetCondition::IfAbsent,
            get: true,
            ..Default::default()
        };
        assert_eq!(
            db.set_string(b"k", b"1", nx),
            Ok(SetOutcome {
                written: true,
                previous: None
            })
        );
        assert_eq!(
            db.set_string(b"k", b"2", nx),
            Ok(SetOutcome {
                written: false,
                previous: Some(b"1".to_vec())
            })
        );
        assert_eq!(db.get_string(b"k"), Ok(Some(&b"1"[..])));
    }

    #[test]
    fn new_values_take_no_spare_capacity() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        let value = vec![b'x'; 9000];
        db.set_string(b"set", &value, SetOptions::default())
            .unwrap();
        db.mset(&[(&b"mset"[..], &value[..])], false);
        for key in [&b"set"[..], b"mset"] {
            assert_eq!(db.string_mut(key).unwrap().unwrap().capacity(), 9000);
        }
    }

    #[test]
    fn incr_overflow_and_type_errors() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        assert_eq!(db.incr_by(b"n", 5), Ok(5));
        assert_eq!(db.incr_by(b"n", i64::MAX), Err(StoreError::Overflow));
        db.set_string(b"s", b"abc", SetOptions::default()).unwrap();
        assert_eq!(db.incr_by(b"s", 1), Err(StoreError::NotInteger));
        assert_eq!(db.incr_by_float(b"f", b"1.5").as_deref(), Ok("1.5"));
        assert_eq!(
            db.incr_by_float(b"f", b"inf"),
            Err(StoreError::NanOrInfinity)
        );
    }

    #[test]
    fn lcs_finds_redis_runs() {
        let max = MAX_STRING_LEN as u64;
        let (a, b) = (&b"ohmytext"[..], &b"mynewtext"[..]);
        assert_eq!(
            lcs(a, b, LcsQuery::Sequence, max),
            Ok(LcsResult::Sequence(b"mytext".to_vec()))
        );
        assert_eq!(lcs(a, b, LcsQuery::Len, max), Ok(LcsResult::Len(6)));
        assert_eq!(lcs(b, a, LcsQuery::Len, max), Ok(LcsResult::Len(6)));
        let run = |a: (u32, u32), b: (u32, u32), len| LcsMatch { a, b, len };
        assert_eq!(
            lcs(a, b, LcsQuery::Idx { min_match_len: 0 }, max),
            Ok(LcsResult::Idx {
                matches: vec![run((4, 7), (5, 8), 4), run((2, 3), (0, 1), 2)],
                len: 6
            })
        );
        assert_eq!(
            lcs(a, b, LcsQuery::Idx { min_match_len: 3 }, max),
            Ok(LcsResult::Idx {
                matches: vec![run((4, 7), (5, 8), 4)],
                len: 6
            })
        );
        assert_eq!(lcs(b"", b"abc", LcsQuery::Len, max), Ok(LcsResult::Len(0)));
        assert!(matches!(
            lcs(&[0; 200], &[0; 200], LcsQuery::Len, 1000),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn setrange_pads_with_zero_bytes() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        assert_eq!(db.set_range(b"k", 3, b"ab", MAX_STRING_LEN), Ok(5));
        assert_eq!(db.get_string(b"k"), Ok(Some(&b"\0\0\0ab"[..])));
        assert_eq!(db.set_range(b"missing", 0, b"", MAX_STRING_LEN), Ok(0));
        assert!(!db.exists(b"missing"));
        assert_eq!(
            db.set_range(b"k", MAX_STRING_LEN, b"x", MAX_STRING_LEN),
            Err(StoreError::StringTooLong)
        );
    }
}
