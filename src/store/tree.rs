//! `TreeValue`: Reddish's native ordered map type (the TREE.* commands).
//!
//! A map from binary-safe keys to binary-safe values, kept in an [`OsTree`]
//! so that besides get/set it answers min/max, floor/ceil, rank, the k-th
//! entry, range queries with LIMIT and shape traversals, each in O(log n)
//! (plus the items read).
//!
//! Two orderings, chosen when the tree is created:
//! - [`TreeOrdering::Bytes`] (default): keys ordered byte-wise, like
//!   ZRANGEBYLEX.
//! - [`TreeOrdering::Numeric`] (`TREE.CREATE key NUMERIC`): every key must be
//!   a number as Redis accepts scores (`1`, `-2.5`, `1e3`, `inf`, `0x10`;
//!   not NaN, no spaces), ordered by value. The key's original bytes are kept
//!   for replies. Keys are compared as numbers, so `1`, `1.0` and `1e0` are
//!   the same key (as are `0` and `-0`): setting one of them replaces the
//!   value and the stored spelling becomes the latest one.
//!
//! Range bounds (see [`TreeValue::parse_bound`]):
//! - byte-wise trees use ZRANGEBYLEX syntax: `[k` inclusive, `(k`
//!   exclusive, `-` and `+` for the ends;
//! - numeric trees use ZRANGEBYSCORE syntax: a bare number is inclusive,
//!   `(x` is exclusive, `-inf`/`+inf` are numbers; `[x` (inclusive) and the
//!   `-`/`+` ends are accepted too, so the byte-wise syntax also works.

use std::cmp::Ordering;
use std::fmt;
use std::iter::FusedIterator;
use std::ops::Range;

use super::keyspace::DbMut;
use super::ostree::{self, OsTree, TraversalOrder};
use super::sorted_set::{parse_lex_bound, parse_score, parse_score_bound, LexBound};
use super::value::Value;
use super::StoreResult;
use crate::number::cmp_non_nan;

/// How a tree orders its keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TreeOrdering {
    /// Byte-wise (lexicographic) order.
    #[default]
    Bytes,
    /// Keys are numbers, ordered by value.
    Numeric,
}

/// Errors of TREE operations. `Display` gives the message; the reply is
/// `-ERR <message>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeError {
    /// A key given to a NUMERIC tree is not a valid number.
    NotNumeric,
    /// A range bound for a byte-wise tree is not `[k`, `(k`, `-` or `+`.
    InvalidLexBound,
    /// A range bound for a numeric tree is not a number, `(x`, `[x`, `-` or
    /// `+`.
    InvalidNumericBound,
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TreeError::NotNumeric => "value is not a valid float",
            TreeError::InvalidLexBound => "min or max not valid string range item",
            TreeError::InvalidNumericBound => "min or max is not a float",
        })
    }
}

impl std::error::Error for TreeError {}

impl From<TreeError> for super::StoreError {
    fn from(e: TreeError) -> Self {
        match e {
            TreeError::NotNumeric => super::StoreError::NotFloat,
            other => super::StoreError::Invalid(other.to_string()),
        }
    }
}

/// A (key, value) pair as replies need it.
pub type Entry<'a> = (&'a [u8], &'a [u8]);

/// An entry taken out of a tree (TREE.POPMIN, TREE.POPMAX): key and value.
pub type OwnedEntry = (Box<[u8]>, Box<[u8]>);

/// A position to compare keys against: bytes for byte-wise trees, a number
/// for numeric trees.
#[derive(Clone, Debug, PartialEq)]
pub enum TreeProbe {
    /// A key of a byte-wise tree.
    Bytes(Box<[u8]>),
    /// A key of a numeric tree, as a number.
    Number(f64),
}

/// One end of a key range, parsed by [`TreeValue::parse_bound`].
#[derive(Clone, Debug, PartialEq)]
pub enum TreeBound {
    /// Below every key.
    Min,
    /// Above every key.
    Max,
    /// Keys from (or up to) the probe, the probe included.
    Inclusive(TreeProbe),
    /// Keys beyond the probe, the probe excluded.
    Exclusive(TreeProbe),
}

/// A stored key. In byte-wise trees `num` is 0 everywhere, so the derived
/// order is the byte order; in numeric trees numbers are unique, so it is the
/// numeric order. (One key type for both keeps a single iterator type; it
/// costs byte-wise trees 8 bytes per entry.)
#[derive(Clone, Debug)]
struct TreeKey {
    num: f64,
    bytes: Box<[u8]>,
}

super::order_by_cmp!(TreeKey);

impl Ord for TreeKey {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_non_nan(self.num, other.num).then_with(|| self.bytes.cmp(&other.bytes))
    }
}

impl TreeKey {
    /// Orders this key against a probe (a mismatched probe kind gives an
    /// arbitrary but panic-free answer).
    fn cmp_probe(&self, probe: &TreeProbe) -> Ordering {
        match probe {
            TreeProbe::Bytes(b) => (*self.bytes).cmp(b),
            TreeProbe::Number(x) => cmp_non_nan(self.num, *x),
        }
    }
}

/// A TREE value; see the module documentation.
#[derive(Clone, Default)]
pub struct TreeValue {
    ordering: TreeOrdering,
    tree: OsTree<TreeKey, Box<[u8]>>,
}

impl fmt::Debug for TreeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lossy = String::from_utf8_lossy;
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (lossy(k), lossy(v))))
            .finish()
    }
}

impl TreeValue {
    /// An empty tree with the given ordering.
    pub fn new(ordering: TreeOrdering) -> Self {
        TreeValue {
            ordering,
            tree: OsTree::new(),
        }
    }

    /// Rebuilds a tree from its entries (e.g. loaded from persistence).
    /// Fails, building nothing, if a key is not numeric in a numeric tree.
    /// O(n log n).
    pub fn from_entries<K, V, I>(ordering: TreeOrdering, entries: I) -> Result<Self, TreeError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
        I: IntoIterator<Item = (K, V)>,
    {
        let mut tree = TreeValue::new(ordering);
        for (key, value) in entries {
            let num = tree.key_number(key.as_ref())?;
            tree.set_one(num, key.as_ref(), value.as_ref());
        }
        Ok(tree)
    }

    /// The ordering chosen at creation.
    pub fn ordering(&self) -> TreeOrdering {
        self.ordering
    }

    /// Number of entries. O(1).
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether the tree is empty. O(1).
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Height of the underlying AVL tree (0 when empty). O(1).
    pub fn height(&self) -> usize {
        self.tree.height()
    }

    /// The number a key argument stands for: parsed in numeric trees (or
    /// refused), 0 in byte-wise trees.
    fn key_number(&self, key: &[u8]) -> Result<f64, TreeError> {
        match self.ordering {
            TreeOrdering::Bytes => Ok(0.0),
            TreeOrdering::Numeric => parse_score(key).map_err(|_| TreeError::NotNumeric),
        }
    }

    /// Orders stored keys against a key argument (`num` from `key_number`).
    fn comparator<'a>(&self, num: f64, key: &'a [u8]) -> impl Fn(&TreeKey) -> Ordering + 'a {
        key_comparator(self.ordering, num, key)
    }

    /// Sets one pair; returns whether the key is new. O(log n).
    fn set_one(&mut self, num: f64, key: &[u8], value: &[u8]) -> bool {
        let Some(id) = self.tree.find_by(key_comparator(self.ordering, num, key)) else {
            let key = TreeKey {
                num,
                bytes: key.into(),
            };
            self.tree.insert(key, value.into());
            return true;
        };
        let respelled = self.tree.key_at(id).is_some_and(|k| *k.bytes != *key);
        if respelled {
            // Only numeric trees find a key under another spelling; the
            // number is the same, so the key keeps its place in the order.
            let new_key = TreeKey {
                num,
                bytes: key.into(),
            };
            self.tree.replace_key_at(id, new_key);
        }
        if let Some(slot) = self.tree.value_at_mut(id) {
            *slot = value.into();
        }
        false
    }

    /// Sets every (key, value) pair, in order (a later pair for the same key
    /// wins); returns how many keys were new. All keys are validated first,
    /// so on error nothing changes. O(m log n) for m pairs.
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<usize, TreeError> {
        let nums = pairs
            .iter()
            .map(|(k, _)| self.key_number(k))
            .collect::<Result<Vec<_>, _>>()?;
        let added = pairs
            .iter()
            .zip(nums)
            .filter(|((k, v), num)| self.set_one(*num, k, v))
            .count();
        Ok(added)
    }

    /// The value of `key`. O(log n).
    pub fn get(&self, key: &[u8]) -> Result<Option<&[u8]>, TreeError> {
        let num = self.key_number(key)?;
        Ok(self
            .tree
            .get_by(self.comparator(num, key))
            .map(|(_, v)| &**v))
    }

    /// Whether `key` is present. O(log n).
    pub fn exists(&self, key: &[u8]) -> Result<bool, TreeError> {
        let num = self.key_number(key)?;
        Ok(self.tree.find_by(self.comparator(num, key)).is_some())
    }

    /// Deletes the given keys; returns how many existed. All keys are
    /// validated first, so on error nothing changes. O(m log n).
    pub fn del(&mut self, keys: &[&[u8]]) -> Result<usize, TreeError> {
        let nums = keys
            .iter()
            .map(|k| self.key_number(k))
            .collect::<Result<Vec<_>, _>>()?;
        let mut deleted = 0;
        for (key, num) in keys.iter().zip(nums) {
            let cmp = key_comparator(self.ordering, num, key);
            if self.tree.remove_by(cmp).is_some() {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// The entry with the smallest key. O(log n).
    pub fn min(&self) -> Option<(&[u8], &[u8])> {
        self.tree.first().map(entry)
    }

    /// Removes up to `count` entries from the smallest end (the largest when `largest`), in
    /// the order taken. O(k log n) for k entries.
    pub fn pop(&mut self, count: usize, largest: bool) -> Vec<OwnedEntry> {
        let mut popped = Vec::with_capacity(count.min(self.len()));
        while popped.len() < count {
            let taken = if largest {
                self.tree.pop_last()
            } else {
                self.tree.pop_first()
            };
            let Some((key, value)) = taken else {
                break;
            };
            popped.push((key.bytes, value));
        }
        popped
    }

    /// The entry with the largest key. O(log n).
    pub fn max(&self) -> Option<(&[u8], &[u8])> {
        self.tree.last().map(entry)
    }

    /// The entry with the greatest key <= `key`. O(log n).
    pub fn floor(&self, key: &[u8]) -> Result<Option<Entry<'_>>, TreeError> {
        let cmp = self.comparator(self.key_number(key)?, key);
        let count = self.tree.partition_point(|k| cmp(k) != Ordering::Greater);
        Ok(count
            .checked_sub(1)
            .and_then(|r| self.tree.select(r))
            .map(entry))
    }

    /// The entry with the least key >= `key`. O(log n).
    pub fn ceil(&self, key: &[u8]) -> Result<Option<Entry<'_>>, TreeError> {
        let cmp = self.comparator(self.key_number(key)?, key);
        let count = self.tree.partition_point(|k| cmp(k) == Ordering::Less);
        Ok(self.tree.select(count).map(entry))
    }

    /// The 0-based rank of `key` (from the largest key when `rev`), or
    /// `None` if absent. O(log n).
    pub fn rank(&self, key: &[u8], rev: bool) -> Result<Option<usize>, TreeError> {
        let cmp = self.comparator(self.key_number(key)?, key);
        let rank = self.tree.rank_by(cmp);
        Ok(rank.map(|r| if rev { self.len() - 1 - r } else { r }))
    }

    /// The entry at `index` in key order; negative indexes count from the
    /// end (-1 is the largest key), as Redis list and sorted-set indexes do.
    /// O(log n).
    pub fn at(&self, index: i64) -> Option<(&[u8], &[u8])> {
        let len = i64::try_from(self.len()).ok()?;
        let index = if index < 0 { len + index } else { index };
        let index = usize::try_from(index).ok()?;
        self.tree.select(index).map(entry)
    }

    /// Parses a range bound for this tree's ordering (see the module
    /// documentation for the syntax). O(len).
    pub fn parse_bound(&self, arg: &[u8]) -> Result<TreeBound, TreeError> {
        parse_tree_bound(arg, self.ordering)
    }

    /// The ranks of the keys between `min` and `max`. O(log n).
    fn bound_ranks(&self, min: &TreeBound, max: &TreeBound) -> Range<usize> {
        let start = match min {
            TreeBound::Min => 0,
            TreeBound::Max => self.len(),
            TreeBound::Inclusive(p) => self.tree.partition_point(|k| k.cmp_probe(p).is_lt()),
            TreeBound::Exclusive(p) => self.tree.partition_point(|k| k.cmp_probe(p).is_le()),
        };
        let end = match max {
            TreeBound::Min => 0,
            TreeBound::Max => self.len(),
            TreeBound::Inclusive(p) => self.tree.partition_point(|k| k.cmp_probe(p).is_le()),
            TreeBound::Exclusive(p) => self.tree.partition_point(|k| k.cmp_probe(p).is_lt()),
        };
        start..end.max(start)
    }

    /// Number of keys between `min` and `max`. O(log n).
    pub fn count(&self, min: &TreeBound, max: &TreeBound) -> usize {
        self.bound_ranks(min, max).len()
    }

    /// The entries with keys between `min` and `max`, ascending (descending
    /// from `max` when `rev`), skipping `offset` of them and yielding at most
    /// `limit` (`None`: no limit). O(log n + k).
    pub fn range(
        &self,
        min: &TreeBound,
        max: &TreeBound,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Entries<'_> {
        let all = self.bound_ranks(min, max);
        let skip = offset.min(all.len());
        let take = (all.len() - skip).min(limit.unwrap_or(usize::MAX));
        let ranks = if rev {
            all.end - skip - take..all.end - skip
        } else {
            all.start + skip..all.start + skip + take
        };
        Entries {
            inner: self.tree.iter_ranks(ranks),
            rev,
        }
    }

    /// All entries in key order (for persistence, TREE.RANGE - +). O(n).
    pub fn iter(&self) -> Entries<'_> {
        Entries {
            inner: self.tree.iter(),
            rev: false,
        }
    }

    /// A lazy walk over the tree's shape in `order`; take only what is
    /// needed (`.take(limit)`): nothing beyond is visited. O(height) memory
    /// (O(items read) for level order), O(1) amortized per item.
    pub fn traverse(&self, order: TraversalOrder) -> Walk<'_> {
        Walk {
            inner: self.tree.traverse(order),
        }
    }
}

/// Parses a range bound for a tree of the given ordering; see
/// [`TreeValue::parse_bound`].
pub fn parse_tree_bound(arg: &[u8], ordering: TreeOrdering) -> Result<TreeBound, TreeError> {
    match ordering {
        TreeOrdering::Bytes => match parse_lex_bound(arg) {
            Ok(LexBound::Min) => Ok(TreeBound::Min),
            Ok(LexBound::Max) => Ok(TreeBound::Max),
            Ok(LexBound::Inclusive(b)) => Ok(TreeBound::Inclusive(TreeProbe::Bytes(b))),
            Ok(LexBound::Exclusive(b)) => Ok(TreeBound::Exclusive(TreeProbe::Bytes(b))),
            Err(_) => Err(TreeError::InvalidLexBound),
        },
        TreeOrdering::Numeric => {
            let invalid = |_| TreeError::InvalidNumericBound;
            match arg {
                b"-" => Ok(TreeBound::Min),
                b"+" => Ok(TreeBound::Max),
                [b'[', rest @ ..] => {
                    let bound = parse_score_bound(rest).map_err(invalid)?;
                    if bound.exclusive {
                        return Err(TreeError::InvalidNumericBound);
                    }
                    Ok(TreeBound::Inclusive(TreeProbe::Number(bound.value)))
                }
                _ => {
                    let bound = parse_score_bound(arg).map_err(invalid)?;
                    let probe = TreeProbe::Number(bound.value);
                    Ok(if bound.exclusive {
                        TreeBound::Exclusive(probe)
                    } else {
                        TreeBound::Inclusive(probe)
                    })
                }
            }
        }
    }
}

/// See `TreeValue::comparator`; a free function so that the closure does not
/// borrow the tree (which the caller may be mutating).
fn key_comparator(
    ordering: TreeOrdering,
    num: f64,
    key: &[u8],
) -> impl Fn(&TreeKey) -> Ordering + '_ {
    move |k: &TreeKey| match ordering {
        TreeOrdering::Numeric => cmp_non_nan(k.num, num),
        TreeOrdering::Bytes => (*k.bytes).cmp(key),
    }
}

// The argument type is the tree iterators' item type.
#[allow(clippy::borrowed_box)]
fn entry<'a>((k, v): (&'a TreeKey, &'a Box<[u8]>)) -> Entry<'a> {
    (&k.bytes, v)
}

/// (key, value) pairs of a tree in key order (reversed for a reversed
/// range); exact-size.
#[derive(Clone)]
pub struct Entries<'a> {
    inner: ostree::Iter<'a, TreeKey, Box<[u8]>>,
    rev: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rev {
            self.inner.next_back().map(entry)
        } else {
            self.inner.next().map(entry)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Entries<'_> {}
impl FusedIterator for Entries<'_> {}

/// (key, value) pairs in a traversal order; see [`TreeValue::traverse`].
pub struct Walk<'a> {
    inner: ostree::Traversal<'a, TreeKey, Box<[u8]>>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(entry)
    }
}

impl FusedIterator for Walk<'_> {}

/// Trees are equal when they have the same ordering and the same entries (key spellings
/// included), however they were built. O(n).
impl PartialEq for TreeValue {
    fn eq(&self, other: &Self) -> bool {
        self.ordering == other.ordering && self.len() == other.len() && self.iter().eq(other.iter())
    }
}

// ---- keyspace operations behind the TREE commands ----
//
// A missing key reads as an empty tree. TREE.SET creates a byte-wise tree on first use; a
// tree left without entries stays (it carries its ordering) until DEL.

impl DbMut<'_> {
    /// The tree at `key` for reading, `None` when missing. O(1).
    fn tree_read(&mut self, key: &[u8]) -> StoreResult<Option<&TreeValue>> {
        self.read_typed(key, Value::as_tree)
    }

    /// Runs a lookup on the tree at `key`; `None` when the key is missing. O(1) + the lookup.
    fn tree_query<'a, T>(
        &'a mut self,
        key: &[u8],
        query: impl FnOnce(&'a TreeValue) -> Result<Option<T>, TreeError>,
    ) -> StoreResult<Option<T>> {
        match self.tree_read(key)? {
            Some(tree) => Ok(query(tree)?),
            None => Ok(None),
        }
    }

    /// TREE.CREATE: stores an empty tree at `key`; false (nothing changes) if the key exists,
    /// whatever its type. O(1).
    pub fn tree_create(&mut self, key: &[u8], ordering: TreeOrdering) -> StoreResult<bool> {
        if self.exists(key) {
            return Ok(false);
        }
        self.insert(key, Value::Tree(Box::new(TreeValue::new(ordering))), None);
        Ok(true)
    }

    /// TREE.SET: sets every pair (a later pair for the same key wins), creating a byte-wise
    /// tree when the key is missing; returns how many keys were new. In a numeric tree a key
    /// that is not a number refuses the whole command. O(m log n).
    pub fn tree_set(&mut self, key: &[u8], pairs: &[(&[u8], &[u8])]) -> StoreResult<usize> {
        let tree = self.write_typed_or_create(key, Value::as_tree_mut, Value::new_tree)?;
        let added = tree.set(pairs)?;
        self.after_write(key);
        Ok(added)
    }

    /// TREE.GET: the value of `k`. O(log n).
    pub fn tree_get(&mut self, key: &[u8], k: &[u8]) -> StoreResult<Option<&[u8]>> {
        self.tree_query(key, |tree| tree.get(k))
    }

    /// TREE.DEL: deletes the given keys; returns how many existed. O(m log n).
    pub fn tree_del(&mut self, key: &[u8], keys: &[&[u8]]) -> StoreResult<usize> {
        let Some(tree) = self.write_typed(key, Value::as_tree_mut)? else {
            return Ok(0);
        };
        let deleted = tree.del(keys)?;
        if deleted > 0 {
            self.after_write(key);
        }
        Ok(deleted)
    }

    /// TREE.POPMIN (TREE.POPMAX when `largest`): removes and returns up to `count` entries
    /// from one end; the tree stays when emptied. O(k log n).
    pub fn tree_pop(
        &mut self,
        key: &[u8],
        count: usize,
        largest: bool,
    ) -> StoreResult<Vec<OwnedEntry>> {
        let Some(tree) = self.write_typed(key, Value::as_tree_mut)? else {
            return Ok(Vec::new());
        };
        let popped = tree.pop(count, largest);
        if !popped.is_empty() {
            self.after_write(key);
        }
        Ok(popped)
    }

    /// TREE.EXISTS: whether `k` is present. O(log n).
    pub fn tree_exists(&mut self, key: &[u8], k: &[u8]) -> StoreResult<bool> {
        Ok(self.tree_query(key, |tree| tree.exists(k).map(Some))? == Some(true))
    }

    /// TREE.LEN: number of entries, 0 for a missing key. O(1).
    pub fn tree_len(&mut self, key: &[u8]) -> StoreResult<usize> {
        Ok(self.tree_read(key)?.map_or(0, TreeValue::len))
    }

    /// TREE.HEIGHT: height of the AVL tree (0 when empty or missing). O(1).
    pub fn tree_height(&mut self, key: &[u8]) -> StoreResult<usize> {
        Ok(self.tree_read(key)?.map_or(0, TreeValue::height))
    }

    /// TREE.MIN (or TREE.MAX when `largest`): the entry with the smallest (largest) key.
    /// O(log n).
    pub fn tree_extreme(&mut self, key: &[u8], largest: bool) -> StoreResult<Option<Entry<'_>>> {
        self.tree_query(key, |tree| {
            Ok(if largest { tree.max() } else { tree.min() })
        })
    }

    /// TREE.FLOOR (or TREE.CEIL when `ceil`): the entry with the greatest key <= `k` (the
    /// least key >= `k`). O(log n).
    pub fn tree_nearest(
        &mut self,
        key: &[u8],
        k: &[u8],
        ceil: bool,
    ) -> StoreResult<Option<Entry<'_>>> {
        self.tree_query(key, |tree| if ceil { tree.ceil(k) } else { tree.floor(k) })
    }

    /// TREE.RANK: the 0-based position of `k` in key order (from the largest key when
    /// `rev`). O(log n).
    pub fn tree_rank(&mut self, key: &[u8], k: &[u8], rev: bool) -> StoreResult<Option<usize>> {
        self.tree_query(key, |tree| tree.rank(k, rev))
    }

    /// TREE.AT: the entry at `index` in key order, negative counting from the end.
    /// O(log n).
    pub fn tree_at(&mut self, key: &[u8], index: i64) -> StoreResult<Option<Entry<'_>>> {
        self.tree_query(key, |tree| Ok(tree.at(index)))
    }

    /// TREE.RANGE: the entries between two bounds (parsed for the tree's ordering), see
    /// [`TreeValue::range`]. `None` for a missing key, whose bounds are not checked: without
    /// a tree there is no ordering to read them by. O(log n + k).
    pub fn tree_range(
        &mut self,
        key: &[u8],
        min: &[u8],
        max: &[u8],
        rev: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> StoreResult<Option<Entries<'_>>> {
        self.tree_query(key, |tree| {
            let (min, max) = (tree.parse_bound(min)?, tree.parse_bound(max)?);
            Ok(Some(tree.range(&min, &max, rev, offset, limit)))
        })
    }

    /// TREE.TRAVERSE: up to `limit` entries in a walk of the tree's shape. O(k) for k
    /// entries returned (plus O(height) to start).
    pub fn tree_traverse(
        &mut self,
        key: &[u8],
        order: TraversalOrder,
        limit: Option<usize>,
    ) -> StoreResult<Vec<Entry<'_>>> {
        let walked = self.tree_query(key, |tree| {
            Ok(Some(
                tree.traverse(order)
                    .take(limit.unwrap_or(usize::MAX))
                    .collect::<Vec<_>>(),
            ))
        })?;
        Ok(walked.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn keys<'a>(it: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Vec<String> {
        it.map(|(k, _)| s(k)).collect()
    }

    fn tree(ordering: TreeOrdering, keys: &[&str]) -> TreeValue {
        let mut t = TreeValue::new(ordering);
        let pairs: Vec<(&[u8], &[u8])> =
            keys.iter().map(|k| (k.as_bytes(), k.as_bytes())).collect();
        assert_eq!(t.set(&pairs), Ok(keys.len()));
        t
    }

    #[test]
    fn byte_wise_tree_basics() {
        let mut t = tree(TreeOrdering::Bytes, &["b", "a", "d", "c"]);
        assert_eq!(keys(t.iter()), ["a", "b", "c", "d"]);
        assert_eq!(t.set(&[(b"a", b"A"), (b"e", b"E")]), Ok(1));
        assert_eq!(t.get(b"a"), Ok(Some(&b"A"[..])));
        assert_eq!(t.get(b"zz"), Ok(None));
        assert_eq!((t.exists(b"e"), t.exists(b"f")), (Ok(true), Ok(false)));
        assert_eq!(t.del(&[b"e", b"f", b"e"]), Ok(1));
        assert_eq!(t.len(), 4);
        assert_eq!(t.min(), Some((&b"a"[..], &b"A"[..])));
        assert_eq!(t.max().map(|e| s(e.0)), Some("d".into()));
        assert_eq!(t.floor(b"bb").unwrap().map(|e| s(e.0)), Some("b".into()));
        assert_eq!(t.floor(b"0").unwrap(), None);
        assert_eq!(t.ceil(b"bb").unwrap().map(|e| s(e.0)), Some("c".into()));
        assert_eq!(t.ceil(b"e").unwrap(), None);
        assert_eq!(t.rank(b"c", false), Ok(Some(2)));
        assert_eq!(t.rank(b"c", true), Ok(Some(1)));
        assert_eq!(t.rank(b"cc", false), Ok(None));
        assert_eq!(t.at(0).map(|e| s(e.0)), Some("a".into()));
        assert_eq!(t.at(-1).map(|e| s(e.0)), Some("d".into()));
        assert_eq!((t.at(4), t.at(-5)), (None, None));
        assert_eq!(t.ordering(), TreeOrdering::Bytes);
        t.tree.assert_invariants();
    }

    #[test]
    fn pops_take_from_either_end_in_order() {
        let mut t = tree(TreeOrdering::Bytes, &["b", "a", "d", "c"]);
        let popped = |p: Vec<OwnedEntry>| -> Vec<String> { p.iter().map(|(k, _)| s(k)).collect() };
        assert_eq!(popped(t.pop(2, false)), ["a", "b"]);
        assert_eq!(popped(t.pop(1, true)), ["d"]);
        assert_eq!(popped(t.pop(0, true)), Vec::<String>::new());
        assert_eq!(popped(t.pop(5, true)), ["c"]);
        assert_eq!(t.len(), 0);
        t.tree.assert_invariants();
    }

    #[test]
    fn byte_wise_ranges_use_lex_syntax() {
        let t = tree(TreeOrdering::Bytes, &["a", "b", "c", "d", "e"]);
        let b = |arg: &str| t.parse_bound(arg.as_bytes()).unwrap();
        let r = |min, max, rev, off, lim| keys(t.range(&b(min), &b(max), rev, off, lim));
        assert_eq!(r("-", "+", false, 0, None), ["a", "b", "c", "d", "e"]);
        assert_eq!(r("[b", "(d", false, 0, None), ["b", "c"]);
        assert_eq!(r("(b", "+", true, 0, None), ["e", "d", "c"]);
        assert_eq!(r("-", "+", false, 1, Some(2)), ["b", "c"]);
        assert_eq!(r("-", "+", true, 1, Some(2)), ["d", "c"]);
        assert_eq!(r("-", "+", false, 9, None), [] as [&str; 0]);
        assert_eq!(r("+", "-", false, 0, None), [] as [&str; 0]);
        assert_eq!(r("[c", "[b", false, 0, None), [] as [&str; 0]);
        assert_eq!(t.count(&b("(a"), &b("[d")), 3);
        assert_eq!(t.range(&b("-"), &b("+"), false, 1, Some(2)).len(), 2);
        for bad in ["", "a", "+x", "1"] {
            assert_eq!(
                t.parse_bound(bad.as_bytes()),
                Err(TreeError::InvalidLexBound)
            );
        }
        assert_eq!(
            TreeError::InvalidLexBound.to_string(),
            "min or max not valid string range item"
        );
    }

    #[test]
    fn numeric_tree_orders_by_value_and_keeps_spelling() {
        let mut t = tree(
            TreeOrdering::Numeric,
            &["10", "9", "-2.5", "1e3", "inf", "-inf", "0x10"],
        );
        assert_eq!(
            keys(t.iter()),
            ["-inf", "-2.5", "9", "10", "0x10", "1e3", "inf"]
        );
        // Same number, new spelling: not a new key; the spelling is replaced.
        assert_eq!(t.set(&[(b"10.0", b"ten"), (b"16", b"sixteen")]), Ok(0));
        assert_eq!(
            keys(t.iter()),
            ["-inf", "-2.5", "9", "10.0", "16", "1e3", "inf"]
        );
        assert_eq!(t.get(b"1e1"), Ok(Some(&b"ten"[..])));
        assert_eq!(t.set(&[(b"-0", b"z")]), Ok(1));
        assert_eq!(t.exists(b"0"), Ok(true));
        assert_eq!(t.floor(b"12").unwrap().map(|e| s(e.0)), Some("10.0".into()));
        assert_eq!(t.ceil(b"12").unwrap().map(|e| s(e.0)), Some("16".into()));
        assert_eq!(t.rank(b"9.0", false), Ok(Some(3)));
        assert_eq!(t.del(&[b"0.0", b"1000"]), Ok(2));
        assert_eq!(t.len(), 6);
        t.tree.assert_invariants();
    }

    #[test]
    fn numeric_tree_refuses_non_numbers_atomically() {
        let mut t = tree(TreeOrdering::Numeric, &["1"]);
        let bad: [&[u8]; 6] = [b"abc", b"nan", b"", b" 1", b"1e400", b"1\0"];
        for key in bad {
            assert_eq!(
                t.set(&[(b"2", b"x"), (key, b"y")]),
                Err(TreeError::NotNumeric)
            );
            assert_eq!(t.get(key), Err(TreeError::NotNumeric));
            assert_eq!(t.del(&[b"1", key]), Err(TreeError::NotNumeric));
            assert_eq!(t.floor(key), Err(TreeError::NotNumeric));
            assert_eq!(t.rank(key, false), Err(TreeError::NotNumeric));
        }
        assert_eq!(keys(t.iter()), ["1"]);
        assert!(TreeValue::from_entries(TreeOrdering::Numeric, [("x", "y")]).is_err());
        type StoreError = super::super::StoreError;
        assert_eq!(
            StoreError::from(TreeError::NotNumeric),
            StoreError::NotFloat
        );
    }

    #[test]
    fn numeric_ranges_use_score_syntax() {
        let t = tree(
            TreeOrdering::Numeric,
            &["1", "1.5", "2", "3", "-inf", "inf"],
        );
        let b = |arg: &str| t.parse_bound(arg.as_bytes()).unwrap();
        let r = |min, max| keys(t.range(&b(min), &b(max), false, 0, None));
        assert_eq!(r("1.5", "3"), ["1.5", "2", "3"]);
        assert_eq!(r("[1.5", "(3"), ["1.5", "2"]);
        assert_eq!(r("(1", "(2"), ["1.5"]);
        assert_eq!(r("-inf", "1"), ["-inf", "1"]);
        assert_eq!(r("(-inf", "1"), ["1"]);
        assert_eq!(r("-", "+"), ["-inf", "1", "1.5", "2", "3", "inf"]);
        assert_eq!(r("3", "+inf"), ["3", "inf"]);
        assert_eq!(t.count(&b("0"), &b("2")), 3);
        for bad in ["abc", "[(1", "nan", "1 ", "-x"] {
            assert_eq!(
                t.parse_bound(bad.as_bytes()),
                Err(TreeError::InvalidNumericBound),
                "{bad}"
            );
        }
    }

    #[test]
    fn traversals_and_height() {
        let names: Vec<String> = (1..=7).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let t = tree(TreeOrdering::Numeric, &refs);
        assert_eq!(t.height(), 3);
        for (order, expected) in [
            (
                TraversalOrder::PreOrder,
                ["4", "2", "1", "3", "6", "5", "7"],
            ),
            (TraversalOrder::InOrder, ["1", "2", "3", "4", "5", "6", "7"]),
            (
                TraversalOrder::PostOrder,
                ["1", "3", "2", "5", "7", "6", "4"],
            ),
            (
                TraversalOrder::LevelOrder,
                ["4", "2", "6", "1", "3", "5", "7"],
            ),
        ] {
            assert_eq!(keys(t.traverse(order)), expected, "{order:?}");
        }
        assert_eq!(
            keys(t.traverse(TraversalOrder::LevelOrder).take(3)),
            ["4", "2", "6"]
        );
        assert_eq!(TreeValue::new(TreeOrdering::Bytes).height(), 0);
    }

    #[test]
    fn persistence_round_trip() {
        let mut t = TreeValue::new(TreeOrdering::Numeric);
        t.set(&[(b"2", b"b\0"), (b"1.0", b""), (b"-3", b"c")])
            .unwrap();
        let copy = TreeValue::from_entries(t.ordering(), t.iter()).unwrap();
        assert!(copy.iter().eq(t.iter()));
        assert_eq!(format!("{copy:?}"), r#"{"-3": "c", "1.0": "", "2": "b\0"}"#);
        let bytes = TreeValue::from_entries(TreeOrdering::default(), [(b"k", b"v")]).unwrap();
        assert_eq!(bytes.get(b"k"), Ok(Some(&b"v"[..])));
    }

    // ---- randomized comparison with a sorted-Vec model --------------------

    const KEYS: [&str; 12] = [
        "1", "1.0", "-0", "0", "2.5", "1e3", "-inf", "inf", "0x10", "16", "abc", "b",
    ];
    const BOUNDS: [&str; 14] = [
        "-", "+", "[1", "(1", "1", "(0", "-inf", "+inf", "[b", "(abc", "[", "(2.5", "16", "(16",
    ];

    #[derive(Clone, Debug)]
    enum Op {
        Set(Vec<(usize, u8)>),
        Del(Vec<usize>),
        Query(usize),
        At(i64),
        Range(usize, usize, bool, usize, Option<usize>),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0..KEYS.len();
        prop_oneof![
            4 => prop::collection::vec((key.clone(), any::<u8>()), 1..4).prop_map(Op::Set),
            2 => prop::collection::vec(key.clone(), 1..3).prop_map(Op::Del),
            2 => key.prop_map(Op::Query),
            1 => (-8i64..8).prop_map(Op::At),
            2 => (0..BOUNDS.len(), 0..BOUNDS.len(), any::<bool>(), 0usize..3, prop::option::of(0usize..4))
                .prop_map(|(a, b, r, o, l)| Op::Range(a, b, r, o, l)),
        ]
    }

    /// The model: entries sorted by the tree's order, as (order key, stored
    /// spelling, value); in byte-wise trees the order key is unused.
    struct Model {
        ordering: TreeOrdering,
        entries: Vec<(f64, Vec<u8>, Vec<u8>)>,
    }

    impl Model {
        fn num(&self, key: &[u8]) -> Option<f64> {
            match self.ordering {
                TreeOrdering::Bytes => Some(0.0),
                TreeOrdering::Numeric => parse_score(key).ok(),
            }
        }
        fn cmp(&self, e: &(f64, Vec<u8>, Vec<u8>), num: f64, key: &[u8]) -> Ordering {
            match self.ordering {
                TreeOrdering::Bytes => e.1.as_slice().cmp(key),
                TreeOrdering::Numeric => cmp_non_nan(e.0, num),
            }
        }
        fn pos(&self, key: &[u8]) -> Option<usize> {
            let num = self.num(key)?;
            self.entries
                .iter()
                .position(|e| self.cmp(e, num, key).is_eq())
        }
        fn in_bound(&self, e: &(f64, Vec<u8>, Vec<u8>), b: &TreeBound, lower: bool) -> bool {
            let c = |p: &TreeProbe| match p {
                TreeProbe::Bytes(x) => e.1.as_slice().cmp(x),
                TreeProbe::Number(x) => cmp_non_nan(e.0, *x),
            };
            match (b, lower) {
                (TreeBound::Min, lower) => lower,
                (TreeBound::Max, lower) => !lower,
                (TreeBound::Inclusive(p), true) => c(p).is_ge(),
                (TreeBound::Exclusive(p), true) => c(p).is_gt(),
                (TreeBound::Inclusive(p), false) => c(p).is_le(),
                (TreeBound::Exclusive(p), false) => c(p).is_lt(),
            }
        }
    }

    fn check(ordering: TreeOrdering, ops: Vec<Op>) -> Result<(), TestCaseError> {
        let mut t = TreeValue::new(ordering);
        let mut m = Model {
            ordering,
            entries: Vec::new(),
        };
        for op in ops {
            match op {
                Op::Set(pairs) => {
                    let values: Vec<[u8; 1]> = pairs.iter().map(|p| [p.1]).collect();
                    let args: Vec<(&[u8], &[u8])> = pairs
                        .iter()
                        .zip(&values)
                        .map(|(p, v)| (KEYS[p.0].as_bytes(), &v[..]))
                        .collect();
                    if args.iter().any(|(k, _)| m.num(k).is_none()) {
                        prop_assert_eq!(t.set(&args), Err(TreeError::NotNumeric));
                    } else {
                        let mut added = 0;
                        for (k, v) in &args {
                            match m.pos(k) {
                                Some(i) => m.entries[i] = (m.entries[i].0, k.to_vec(), v.to_vec()),
                                None => {
                                    added += 1;
                                    m.entries.push((
                                        m.num(k).unwrap_or(0.0),
                                        k.to_vec(),
                                        v.to_vec(),
                                    ));
                                }
                            }
                        }
                        match ordering {
                            TreeOrdering::Bytes => m.entries.sort_by(|a, b| a.1.cmp(&b.1)),
                            TreeOrdering::Numeric => {
                                m.entries.sort_by(|a, b| cmp_non_nan(a.0, b.0))
                            }
                        }
                        prop_assert_eq!(t.set(&args), Ok(added));
                    }
                }
                Op::Del(ks) => {
                    let args: Vec<&[u8]> = ks.iter().map(|i| KEYS[*i].as_bytes()).collect();
                    if args.iter().any(|k| m.num(k).is_none()) {
                        prop_assert_eq!(t.del(&args), Err(TreeError::NotNumeric));
                    } else {
                        let mut deleted = 0;
                        for k in &args {
                            if let Some(i) = m.pos(k) {
                                m.entries.remove(i);
                                deleted += 1;
                            }
                        }
                        prop_assert_eq!(t.del(&args), Ok(deleted));
                    }
                }
                Op::Query(i) => {
                    let key = KEYS[i].as_bytes();
                    let Some(num) = m.num(key) else {
                        prop_assert_eq!(t.get(key), Err(TreeError::NotNumeric));
                        continue;
                    };
                    let pos = m.pos(key);
                    let e = |i: usize| (m.entries[i].1.as_slice(), m.entries[i].2.as_slice());
                    prop_assert_eq!(t.get(key), Ok(pos.map(|i| e(i).1)));
                    prop_assert_eq!(t.rank(key, false), Ok(pos));
                    let floor = m.entries.iter().rposition(|x| m.cmp(x, num, key).is_le());
                    let ceil = m.entries.iter().position(|x| m.cmp(x, num, key).is_ge());
                    prop_assert_eq!(t.floor(key), Ok(floor.map(e)));
                    prop_assert_eq!(t.ceil(key), Ok(ceil.map(e)));
                }
                Op::At(i) => {
                    let n = m.entries.len() as i64;
                    let idx = if i < 0 { n + i } else { i };
                    let expected = (0..n).contains(&idx).then(|| {
                        let e = &m.entries[idx as usize];
                        (e.1.as_slice(), e.2.as_slice())
                    });
                    prop_assert_eq!(t.at(i), expected);
                }
                Op::Range(a, b, rev, off, lim) => {
                    let (Ok(min), Ok(max)) = (
                        t.parse_bound(BOUNDS[a].as_bytes()),
                        t.parse_bound(BOUNDS[b].as_bytes()),
                    ) else {
                        continue;
                    };
                    let mut inside: Vec<(&[u8], &[u8])> = m
                        .entries
                        .iter()
                        .filter(|e| m.in_bound(e, &min, true) && m.in_bound(e, &max, false))
                        .map(|e| (e.1.as_slice(), e.2.as_slice()))
                        .collect();
                    prop_assert_eq!(t.count(&min, &max), inside.len());
                    if rev {
                        inside.reverse();
                    }
                    let expected: Vec<_> = inside
                        .into_iter()
                        .skip(off)
                        .take(lim.unwrap_or(usize::MAX))
                        .collect();
                    prop_assert_eq!(
                        t.range(&min, &max, rev, off, lim).collect::<Vec<_>>(),
                        expected
                    );
                }
            }
            t.tree.assert_invariants();
            let got: Vec<(&[u8], &[u8])> = t.iter().collect();
            let expected: Vec<(&[u8], &[u8])> = m
                .entries
                .iter()
                .map(|e| (e.1.as_slice(), e.2.as_slice()))
                .collect();
            prop_assert_eq!(got, expected);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn byte_wise_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
            check(TreeOrdering::Bytes, ops)?;
        }

        #[test]
        fn numeric_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
            check(TreeOrdering::Numeric, ops)?;
        }

        #[test]
        fn bound_parsing_never_panics(arg in prop::collection::vec(any::<u8>(), 0..16)) {
            let _ = parse_tree_bound(&arg, TreeOrdering::Bytes);
            let _ = parse_tree_bound(&arg, TreeOrdering::Numeric);
        }
    }
}
