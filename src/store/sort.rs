//! SORT: the elements of a list, set or sorted set, ordered by themselves or by values found
//! through key patterns, with Redis 7.0's rules.
//!
//! - Numeric order (the default) reads each weight as C's `strtod` does (leading spaces, hex,
//!   `inf`; the whole text up to a NUL byte must be the number; an empty text is 0) and fails
//!   with "One or more scores can't be converted into double" otherwise; equal weights fall
//!   back to comparing the elements' bytes, so the order is total.
//! - `ALPHA` compares bytes. Without `STORE` Redis compares with `strcoll`, which in the C
//!   locale compares the bytes up to the first NUL: so does this.
//! - A weight pattern without `*` means "do not sort": lists and sorted sets keep their own
//!   order (reversed by `DESC`), and `LIMIT` takes a slice of it.
//! - The sort is stable: elements with equal weights keep their order (glibc's `qsort`, which
//!   Redis uses, is a stable merge sort; with `BY` and `LIMIT` Redis uses a partial quicksort,
//!   whose order among equal `ALPHA` weights is its own).

use super::keyspace::DbMut;
use super::value::Value;
use super::{Key, ShortBytes, StoreError, StoreResult};
use crate::number::parse_float_prefix;
use std::cmp::Ordering;

/// What SORT was asked to do (its parsed options).
#[derive(Debug, Clone, Default)]
pub struct SortSpec<'a> {
    /// `BY` pattern, the last one given.
    pub by: Option<&'a [u8]>,
    /// Some `BY` pattern had no `*`: keep the value's own order.
    pub dont_sort: bool,
    /// `LIMIT offset count`: Redis's defaults are 0 and -1 (everything).
    pub limit_start: i64,
    pub limit_count: i64,
    /// `GET` patterns, in order.
    pub gets: Vec<&'a [u8]>,
    pub desc: bool,
    pub alpha: bool,
    /// The result goes to a key (`STORE`): comparisons are binary and a set is always sorted.
    pub storing: bool,
    /// A script sorts: a set is always sorted too.
    pub in_script: bool,
}

impl SortSpec<'_> {
    /// Options with Redis's defaults.
    pub fn new() -> Self {
        SortSpec {
            limit_count: -1,
            ..Default::default()
        }
    }
}

/// The error SORT gives when a weight is not a number.
pub fn not_double() -> StoreError {
    StoreError::Invalid("One or more scores can't be converted into double".into())
}

/// One element being sorted, with what it is compared by.
struct Item {
    elem: ShortBytes,
    score: f64,
    /// The `BY` value under `ALPHA` (`None`: the weight key is missing, which sorts first).
    weight: Option<Vec<u8>>,
}

/// The bytes C string functions see: up to the first NUL.
fn c_str(bytes: &[u8]) -> &[u8] {
    &bytes[..memchr::memchr(0, bytes).unwrap_or(bytes.len())]
}

/// A weight read as SORT reads it (see the module documentation). O(len).
pub fn sort_score(bytes: &[u8]) -> Option<f64> {
    let text = c_str(bytes);
    let parsed = parse_float_prefix(text);
    (parsed.len == text.len() && !parsed.out_of_range && !parsed.value.is_nan())
        .then_some(parsed.value)
}

/// Where a pattern leads: the key name built from it, and the hash field when it has one.
/// `None` for a pattern without `*`, which names no key (Redis gives nil for it).
fn pattern_target(pattern: &[u8], subst: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    // Redis finds `*` and `->` with C string functions, which stop at a NUL byte.
    let text = c_str(pattern);
    let star = memchr::memchr(b'*', text)?;
    let arrow = memchr::memmem::find(&text[star + 1..], b"->").map(|at| star + 1 + at);
    let field_at = arrow.filter(|&at| at + 2 < text.len());
    let (postfix_end, field) = match field_at {
        Some(at) => (at, Some(pattern[at + 2..].to_vec())),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..postfix_end]);
    Some((key, field))
}

impl DbMut<'_> {
    /// The value SORT's `BY`/`GET` `pattern` gives for element `subst`: the element itself
    /// for `#`; else the string at the key the pattern names with `*` replaced by the element,
    /// or with `key->field` that field of the hash at `key`. `None` when there is no such
    /// string, hash or field. Counts a keyspace hit or miss. A cold key (its value in
    /// MongoDB only) reads as `None` and is added to `cold`. O(1) + O(pattern).
    pub fn sort_lookup(
        &mut self,
        pattern: &[u8],
        subst: &[u8],
        cold: &mut Vec<Key>,
    ) -> Option<Vec<u8>> {
        if c_str(pattern) == b"#" && !pattern.is_empty() {
            return Some(subst.to_vec());
        }
        let (key, field) = pattern_target(pattern, subst)?;
        match (self.lookup_read(&key)?, field) {
            (Value::Hash(hash), Some(field)) => hash.get(&field).map(<[u8]>::to_vec),
            (Value::Str(bytes, _), None) => Some(bytes.to_vec()),
            (Value::Cold(_), _) => {
                cold.push(Key::from(&key[..]));
                None
            }
            _ => None,
        }
    }

    /// Runs SORT on the list, set or sorted set at `key` (a missing key is an empty list):
    /// the values to reply or store, in order; `None` stands for a `GET` that found nothing.
    /// WRONGTYPE for other types. O(N log N) for N elements (O(M) for the M elements a
    /// `LIMIT` selects when not sorting a list or sorted set), plus a key lookup per element
    /// and pattern. The cold keys its patterns read (see [`Self::sort_lookup`]) are put in
    /// `cold`, each once: when there are any, the rows are not the answer.
    pub fn sort(
        &mut self,
        key: &[u8],
        spec: &SortSpec,
        cold: &mut Vec<Key>,
    ) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut spec = spec.clone();
        let (len, is_set) = match self.lookup_read(key) {
            None => (0, false),
            Some(Value::List(list)) => (list.len(), false),
            Some(Value::Set(set)) => (set.len(), true),
            Some(Value::ZSet(zset)) => (zset.len(), false),
            Some(_) => return Err(StoreError::WrongType),
        };
        // Replication and scripts need a set's order to be the same everywhere.
        if spec.dont_sort && is_set && (spec.storing || spec.in_script) {
            spec.dont_sort = false;
            spec.alpha = true;
            spec.by = None;
        }
        let (mut start, mut end) = limit_range(spec.limit_start, spec.limit_count, len);
        let mut items = self.sort_items(key, &spec, &mut start, &mut end);
        if !spec.dont_sort {
            self.weigh(&mut items, &spec, cold)?;
            if !cold.is_empty() {
                cold.sort_unstable();
                cold.dedup();
                return Ok(Vec::new());
            }
            items.sort_by(|a, b| compare(a, b, &spec));
        }
        let mut rows = Vec::new();
        if end < start {
            return Ok(rows);
        }
        let selected = items.get(start as usize..=end as usize).unwrap_or_default();
        rows.reserve(selected.len() * spec.gets.len().max(1));
        for item in selected {
            if spec.gets.is_empty() {
                rows.push(Some(item.elem.to_vec()));
            }
            for pattern in &spec.gets {
                rows.push(self.sort_lookup(pattern, &item.elem, cold));
            }
        }
        cold.sort_unstable();
        cold.dedup();
        Ok(rows)
    }

    /// The elements to sort. Without sorting, a list or sorted set gives only the `LIMIT`
    /// range, in its order or reversed, and the range is moved to cover them all.
    fn sort_items(
        &mut self,
        key: &[u8],
        spec: &SortSpec,
        start: &mut i64,
        end: &mut i64,
    ) -> Vec<Item> {
        let item = |elem: &[u8]| Item {
            elem: ShortBytes::from_slice(elem),
            score: 0.0,
            weight: None,
        };
        let Some(value) = self.lookup_write(key) else {
            return Vec::new();
        };
        // Only lists and sorted sets have an order of their own to take a slice of.
        let ordered_len = match value {
            Value::List(list) => Some(list.len()),
            Value::ZSet(zset) => Some(zset.len()),
            _ => None,
        };
        let len = ordered_len.unwrap_or(0);
        let ranged =
            ordered_len.is_some() && spec.dont_sort && (*start != 0 || *end != len as i64 - 1);
        // The window of the value's own order to load: all of it, or the LIMIT range.
        let (from, to) = if ranged {
            if *end < *start {
                (1, 0)
            } else if spec.desc {
                (len - 1 - *end as usize, len - 1 - *start as usize)
            } else {
                (*start as usize, *end as usize)
            }
        } else {
            (0, len.wrapping_sub(1))
        };
        let mut items: Vec<Item> = match value {
            Value::List(list) if from <= to && len > 0 => list.range(from, to).map(item).collect(),
            Value::ZSet(zset) if from <= to && len > 0 => zset
                .set()
                .iter_ranks(from..to + 1)
                .map(|(member, _)| item(member))
                .collect(),
            Value::Set(set) => set.iter().map(|m| m.with_bytes(item)).collect(),
            _ => Vec::new(),
        };
        if spec.dont_sort && spec.desc && !matches!(value, Value::Set(_)) {
            items.reverse();
        }
        if ranged {
            *end -= *start;
            *start = 0;
        }
        items
    }

    /// Fills in what each element is compared by.
    fn weigh(
        &mut self,
        items: &mut [Item],
        spec: &SortSpec,
        cold: &mut Vec<Key>,
    ) -> StoreResult<()> {
        for item in items {
            let found;
            let by_value: &[u8] = match spec.by {
                Some(pattern) => match self.sort_lookup(pattern, &item.elem, cold) {
                    Some(value) => {
                        found = value;
                        &found
                    }
                    // A missing weight is 0, or sorts first under ALPHA.
                    None => continue,
                },
                None => &item.elem,
            };
            if spec.alpha {
                if spec.by.is_some() {
                    item.weight = Some(by_value.to_vec());
                }
            } else {
                item.score = sort_score(by_value).ok_or_else(not_double)?;
            }
        }
        Ok(())
    }
}

/// The `LIMIT` window as Redis computes it: `(start, end)` inclusive positions among `len`
/// elements, empty when `end < start`.
fn limit_range(limit_start: i64, limit_count: i64, len: usize) -> (i64, i64) {
    let len = len as i64;
    let mut start = limit_start.clamp(0, len);
    let count = limit_count.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    (start, end.min(len - 1))
}

fn compare(a: &Item, b: &Item, spec: &SortSpec) -> Ordering {
    let order = if !spec.alpha {
        if a.score > b.score {
            Ordering::Greater
        } else if a.score < b.score {
            Ordering::Less
        } else {
            a.elem.as_slice().cmp(b.elem.as_slice())
        }
    } else if spec.by.is_some() {
        match (&a.weight, &b.weight) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) if spec.storing => x.cmp(y),
            (Some(x), Some(y)) => c_str(x).cmp(c_str(y)),
        }
    } else if spec.storing {
        a.elem.as_slice().cmp(b.elem.as_slice())
    } else {
        c_str(&a.elem).cmp(c_str(&b.elem))
    };
    if spec.desc {
        order.reverse()
    } else {
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Keyspace;

    fn rows(values: &[&str]) -> Vec<Option<Vec<u8>>> {
        values
            .iter()
            .map(|v| (*v != "nil").then(|| v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn scores_read_like_strtod() {
        assert_eq!(sort_score(b"1.5"), Some(1.5));
        assert_eq!(sort_score(b" 2"), Some(2.0));
        assert_eq!(sort_score(b"0x10"), Some(16.0));
        assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"3\0junk"), Some(3.0));
        assert_eq!(sort_score(b"2 "), None);
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"1e400"), None);
        assert_eq!(sort_score(b"b"), None);
    }

    #[test]
    fn limit_window_matches_redis() {
        assert_eq!(limit_range(0, -1, 5), (0, 4));
        assert_eq!(limit_range(-1, 2, 5), (0, 1));
        assert_eq!(limit_range(2, -7, 5), (2, 4));
        assert_eq!(limit_range(10, 2, 5), (4, 3));
        assert_eq!(limit_range(1, 0, 5), (1, 0));
        assert_eq!(limit_range(0, -1, 0), (-1, -2));
        assert_eq!(limit_range(i64::MAX, i64::MAX, 3), (2, 1));
    }

    #[test]
    fn patterns_name_keys_and_hash_fields() {
        assert_eq!(pattern_target(b"w_*", b"3"), Some((b"w_3".to_vec(), None)));
        assert_eq!(
            pattern_target(b"h_*->f", b"3"),
            Some((b"h_3".to_vec(), Some(b"f".to_vec())))
        );
        assert_eq!(
            pattern_target(b"h_*->", b"3"),
            Some((b"h_3->".to_vec(), None))
        );
        assert_eq!(
            pattern_target(b"a->b*", b"3"),
            Some((b"a->b3".to_vec(), None))
        );
        assert_eq!(pattern_target(b"nosort", b"3"), None);
    }

    #[test]
    fn sorts_by_value_weight_and_hash_field() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        let mut list = crate::store::list::ListValue::new();
        for e in ["3", "1", "2", "10"] {
            list.push_back(e.as_bytes());
        }
        db.insert(b"l", Value::List(Box::new(list)), None);
        for (k, v) in [("w_3", "30"), ("w_1", "10"), ("w_10", "5")] {
            db.insert(
                k.as_bytes(),
                Value::Str(v.as_bytes().into(), Default::default()),
                None,
            );
        }
        let mut spec = SortSpec::new();
        assert_eq!(
            db.sort(b"l", &spec, &mut Vec::new()),
            Ok(rows(&["1", "2", "3", "10"]))
        );
        spec.alpha = true;
        assert_eq!(
            db.sort(b"l", &spec, &mut Vec::new()),
            Ok(rows(&["1", "10", "2", "3"]))
        );
        let mut spec = SortSpec::new();
        spec.by = Some(b"w_*");
        spec.gets = vec![b"#", b"w_*"];
        assert_eq!(
            db.sort(b"l", &spec, &mut Vec::new()),
            Ok(rows(&["2", "nil", "10", "5", "1", "10", "3", "30"]))
        );
        let mut spec = SortSpec::new();
        spec.by = Some(b"nosort");
        spec.dont_sort = true;
        spec.desc = true;
        spec.limit_start = 1;
        spec.limit_count = 2;
        assert_eq!(db.sort(b"l", &spec, &mut Vec::new()), Ok(rows(&["2", "1"])));
        db.insert(
            b"s",
            Value::Str(b"x".as_slice().into(), Default::default()),
            None,
        );
        assert_eq!(
            db.sort(b"s", &SortSpec::new(), &mut Vec::new()),
            Err(StoreError::WrongType)
        );
        db.insert(
            b"bad",
            Value::List(Box::new({
                let mut l = crate::store::list::ListValue::new();
                l.push_back(b"x");
                l
            })),
            None,
        );
        assert_eq!(
            db.sort(b"bad", &SortSpec::new(), &mut Vec::new()),
            Err(not_double())
        );
        assert_eq!(
            db.sort(b"missing", &SortSpec::new(), &mut Vec::new()),
            Ok(vec![])
        );
    }
}
