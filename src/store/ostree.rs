//! `OsTree`: an order-statistics AVL tree (a sorted map that also answers
//! "what is the rank of this key" and "which key has this rank").
//!
//! Written by hand because `std::collections::BTreeMap` has neither rank nor
//! select, and both sorted sets (ZRANK, ZRANGE by index, ZCOUNT) and the TREE
//! type need them in O(log n).
//!
//! Layout: every node lives in one arena `Vec<Node>` and links are `u32`
//! indices, so a node costs its key, its value and 13 bytes of links, size and
//! height (16 after padding) instead of a separate heap block per node.
//! Removal keeps the arena dense: the detached slot is filled by the last node
//! (`Vec::swap_remove`) and the one link to that node is re-pointed. This was
//! chosen over a free list because a free list needs a "vacant" state in every
//! slot (an `Option` around the key and value, which costs memory for keys
//! without a niche), while the dense arena costs nothing per node. The price
//! is that removal reports the move ([`Removed::relocated`]) so that callers
//! holding [`NodeId`]s (the sorted set's member index) can follow it.
//!
//! Ordering: keys are ordered by `K: Ord`. A comparator type parameter was not
//! needed: the two custom orders in the crate (score-then-member, numeric TREE
//! keys) are expressed as key types with their own `Ord`, and lookups that
//! must not allocate a key (a borrowed member with a score) use the `*_by`
//! methods that take a comparison closure, like `slice::binary_search_by`.
//!
//! There are no parent links (they would cost 4 bytes per node): iterators and
//! updates keep the path from the root on a fixed-size stack instead.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::fmt;
use std::iter::FusedIterator;
use std::ops::{Bound, Range};

/// The "no node" link.
const NIL: u32 = u32::MAX;

/// The most entries a tree can hold: node indices are `u32` and `u32::MAX` is
/// reserved for "no node".
pub const MAX_LEN: usize = (u32::MAX - 1) as usize;

/// Capacity of every root-to-node path stack. An AVL tree of height `h` holds
/// at least `F(h+2) - 1` nodes (Fibonacci); `F(48) - 1 > MAX_LEN`, so a tree
/// within `MAX_LEN` has height at most 45, and every stack below holds at most
/// `height + 1` entries (the pre-order stack's bound).
const MAX_DEPTH: usize = 48;

/// Arena capacity under which removals never shrink the arena.
const SHRINK_FLOOR: usize = 64;

/// A stable handle to one entry while it stays in the tree. Insertions and
/// rotations never change it; a removal can move one other entry to the
/// removed entry's slot and reports that in [`Removed::relocated`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId(u32);

/// An entry's move from one slot to another, caused by a removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// The slot the moved entry had before the removal.
    pub from: NodeId,
    /// The slot it has now (the removed entry's old slot).
    pub to: NodeId,
}

/// What a removal took out of the tree.
#[derive(Debug)]
pub struct Removed<K, V> {
    /// The slot the removed entry had (now reused by `relocated`, if any).
    pub id: NodeId,
    /// The removed key.
    pub key: K,
    /// The removed value.
    pub value: V,
    /// The other entry moved into `id` to keep the arena dense, if any.
    pub relocated: Option<Relocation>,
}

#[derive(Clone)]
struct Node<K, V> {
    key: K,
    value: V,
    left: u32,
    right: u32,
    /// Number of nodes in the subtree rooted here (including this one).
    size: u32,
    /// Height of the subtree rooted here; a leaf has height 1.
    height: u8,
}

/// A path of node indices on the stack; see [`MAX_DEPTH`] for why it cannot
/// overflow.
#[derive(Clone)]
struct Path {
    items: [u32; MAX_DEPTH],
    len: usize,
}

impl Path {
    const fn new() -> Self {
        Path {
            items: [NIL; MAX_DEPTH],
            len: 0,
        }
    }

    fn push(&mut self, node: u32) {
        // In bounds: every caller pushes at most `height + 1 <= 46` entries
        // (see MAX_DEPTH).
        self.items[self.len] = node;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        Some(self.items[self.len])
    }

    fn last(&self) -> Option<u32> {
        self.len.checked_sub(1).map(|i| self.items[i])
    }
}

/// An order-statistics AVL tree map; see the module documentation.
#[derive(Clone)]
pub struct OsTree<K, V> {
    nodes: Vec<Node<K, V>>,
    root: u32,
}

impl<K, V> Default for OsTree<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for OsTree<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Methods that need no key comparison.
impl<K, V> OsTree<K, V> {
    /// An empty tree; allocates nothing.
    pub const fn new() -> Self {
        OsTree {
            nodes: Vec::new(),
            root: NIL,
        }
    }

    /// An empty tree with room for `capacity` entries before reallocating.
    pub fn with_capacity(capacity: usize) -> Self {
        OsTree {
            nodes: Vec::with_capacity(capacity.min(MAX_LEN)),
            root: NIL,
        }
    }

    /// Number of entries. O(1).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tree is empty. O(1).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Height of the tree: 0 when empty, 1 for a single entry. O(1).
    pub fn height(&self) -> usize {
        usize::from(self.height_of(self.root))
    }

    /// Removes every entry and releases the arena. O(n) (drops the entries).
    pub fn clear(&mut self) {
        self.nodes = Vec::new();
        self.root = NIL;
    }

    /// Bytes held by the arena itself (not counting heap data owned by keys
    /// or values). O(1).
    pub fn arena_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node<K, V>>()
    }

    /// The entry in slot `id`, if the slot is occupied. O(1).
    pub fn entry(&self, id: NodeId) -> Option<(&K, &V)> {
        self.nodes.get(id.0 as usize).map(|n| (&n.key, &n.value))
    }

    /// The key in slot `id`, if the slot is occupied. O(1).
    pub fn key_at(&self, id: NodeId) -> Option<&K> {
        self.nodes.get(id.0 as usize).map(|n| &n.key)
    }

    /// Mutable access to the value in slot `id`. O(1).
    pub fn value_at_mut(&mut self, id: NodeId) -> Option<&mut V> {
        self.nodes.get_mut(id.0 as usize).map(|n| &mut n.value)
    }

    /// Replaces the key in slot `id`, returning the old key. O(1).
    ///
    /// The new key must keep the entry's place in the order (it must sort
    /// between the same neighbours); the numeric TREE uses this to keep the
    /// latest spelling of a number. Breaking that rule corrupts lookups but
    /// not memory.
    pub fn replace_key_at(&mut self, id: NodeId, key: K) -> Option<K> {
        self.nodes
            .get_mut(id.0 as usize)
            .map(|n| std::mem::replace(&mut n.key, key))
    }

    /// The entry with the smallest key. O(log n).
    pub fn first(&self) -> Option<(&K, &V)> {
        self.select(0)
    }

    /// The entry with the largest key. O(log n).
    pub fn last(&self) -> Option<(&K, &V)> {
        self.len().checked_sub(1).and_then(|r| self.select(r))
    }

    /// The entry of rank `rank` (0-based: `select(0)` is the smallest).
    /// O(log n).
    pub fn select(&self, rank: usize) -> Option<(&K, &V)> {
        self.select_id(rank).map(|i| {
            let n = self.node(i);
            (&n.key, &n.value)
        })
    }

    /// The slot of the entry of rank `rank`. O(log n).
    pub fn select_node(&self, rank: usize) -> Option<NodeId> {
        self.select_id(rank).map(NodeId)
    }

    /// Mutable access to the value of rank `rank`. O(log n).
    pub fn select_mut(&mut self, rank: usize) -> Option<(&K, &mut V)> {
        let i = self.select_id(rank)?;
        let n = &mut self.nodes[i as usize];
        Some((&n.key, &mut n.value))
    }

    /// Number of leading entries (in key order) whose key satisfies `pred`,
    /// which must hold for a prefix of the order and fail for the rest (like
    /// `slice::partition_point`). O(log n).
    pub fn partition_point<F: FnMut(&K) -> bool>(&self, mut pred: F) -> usize {
        let mut count = 0;
        let mut cur = self.root;
        while cur != NIL {
            let n = self.node(cur);
            if pred(&n.key) {
                count += self.size_of(n.left) + 1;
                cur = n.right;
            } else {
                cur = n.left;
            }
        }
        count
    }

    /// The slot of the key for which `cmp` returns `Equal`; `cmp(key)` orders
    /// `key` against the target (as in `slice::binary_search_by`). O(log n).
    pub fn find_by<F: FnMut(&K) -> Ordering>(&self, mut cmp: F) -> Option<NodeId> {
        let mut cur = self.root;
        while cur != NIL {
            let n = self.node(cur);
            match cmp(&n.key) {
                Ordering::Equal => return Some(NodeId(cur)),
                Ordering::Less => cur = n.right,
                Ordering::Greater => cur = n.left,
            }
        }
        None
    }

    /// The entry for which `cmp` returns `Equal` (see [`Self::find_by`]).
    /// O(log n).
    pub fn get_by<F: FnMut(&K) -> Ordering>(&self, cmp: F) -> Option<(&K, &V)> {
        self.find_by(cmp).and_then(|id| self.entry(id))
    }

    /// The rank of the key for which `cmp` returns `Equal`. O(log n).
    pub fn rank_by<F: FnMut(&K) -> Ordering>(&self, mut cmp: F) -> Option<usize> {
        let mut before = 0;
        let mut cur = self.root;
        while cur != NIL {
            let n = self.node(cur);
            match cmp(&n.key) {
                Ordering::Equal => return Some(before + self.size_of(n.left)),
                Ordering::Less => {
                    before += self.size_of(n.left) + 1;
                    cur = n.right;
                }
                Ordering::Greater => cur = n.left,
            }
        }
        None
    }

    /// Iterates over all entries in key order; double-ended. O(log n) to
    /// start, O(1) amortized per item.
    pub fn iter(&self) -> Iter<'_, K, V> {
        self.iter_ranks(0..self.len())
    }

    /// Iterates forward from rank `rank` to the end. O(log n + k) for k items.
    pub fn iter_from(&self, rank: usize) -> Iter<'_, K, V> {
        self.iter_ranks(rank..self.len())
    }

    /// Iterates over the entries whose ranks are in `ranks` (clamped to the
    /// tree); double-ended, so `.rev()` walks backward from `ranks.end - 1`.
    /// Each end costs O(log n) when first used, then O(1) amortized per item.
    pub fn iter_ranks(&self, ranks: Range<usize>) -> Iter<'_, K, V> {
        let end = ranks.end.min(self.len());
        Iter {
            tree: self,
            front: Path::new(),
            back: Path::new(),
            front_ready: false,
            back_ready: false,
            start: ranks.start.min(end),
            end,
        }
    }

    /// A lazy traversal in the given order: memory is O(height) for pre-,
    /// in- and post-order and O(items read) for level order, so a
    /// `.take(limit)` never visits the whole tree.
    pub fn traverse(&self, order: TraversalOrder) -> Traversal<'_, K, V> {
        let state = match order {
            TraversalOrder::PreOrder => {
                let mut stack = Path::new();
                if self.root != NIL {
                    stack.push(self.root);
                }
                TraversalState::Pre(stack)
            }
            TraversalOrder::InOrder => {
                let mut stack = Path::new();
                self.push_left_spine(&mut stack, self.root);
                TraversalState::In(stack)
            }
            TraversalOrder::PostOrder => TraversalState::Post {
                stack: Path::new(),
                cur: self.root,
                last: NIL,
            },
            TraversalOrder::LevelOrder => {
                let mut queue = VecDeque::new();
                if self.root != NIL {
                    queue.push_back(self.root);
                }
                TraversalState::Level(queue)
            }
        };
        Traversal { tree: self, state }
    }

    /// Pushes `from` and its chain of left children.
    fn push_left_spine(&self, stack: &mut Path, from: u32) {
        let mut cur = from;
        while cur != NIL {
            stack.push(cur);
            cur = self.node(cur).left;
        }
    }

    fn node(&self, i: u32) -> &Node<K, V> {
        // Callers pass only links read from the tree (never NIL there), and
        // every link is a valid index: removals re-point the moved node's link.
        &self.nodes[i as usize]
    }

    fn node_mut(&mut self, i: u32) -> &mut Node<K, V> {
        // Same argument as `node`.
        &mut self.nodes[i as usize]
    }

    fn height_of(&self, i: u32) -> u8 {
        if i == NIL {
            0
        } else {
            self.node(i).height
        }
    }

    fn size_of(&self, i: u32) -> usize {
        if i == NIL {
            0
        } else {
            self.node(i).size as usize
        }
    }

    fn select_id(&self, rank: usize) -> Option<u32> {
        let mut r = rank;
        let mut cur = self.root;
        while cur != NIL {
            let n = self.node(cur);
            let left = self.size_of(n.left);
            match r.cmp(&left) {
                Ordering::Less => cur = n.left,
                Ordering::Equal => return Some(cur),
                Ordering::Greater => {
                    r -= left + 1;
                    cur = n.right;
                }
            }
        }
        None
    }

    /// Recomputes the cached height and size of `i` from its children.
    fn refresh(&mut self, i: u32) {
        let (l, r) = {
            let n = self.node(i);
            (n.left, n.right)
        };
        let height = 1 + self.height_of(l).max(self.height_of(r));
        // Fits in u32: the tree never holds more than MAX_LEN nodes.
        let size = (1 + self.size_of(l) + self.size_of(r)) as u32;
        let n = self.node_mut(i);
        n.height = height;
        n.size = size;
    }

    fn rotate_left(&mut self, i: u32) -> u32 {
        let r = self.node(i).right;
        let rl = self.node(r).left;
        self.node_mut(i).right = rl;
        self.node_mut(r).left = i;
        self.refresh(i);
        self.refresh(r);
        r
    }

    fn rotate_right(&mut self, i: u32) -> u32 {
        let l = self.node(i).left;
        let lr = self.node(l).right;
        self.node_mut(i).left = lr;
        self.node_mut(l).right = i;
        self.refresh(i);
        self.refresh(l);
        l
    }

    /// Restores the AVL balance at `i` (whose children are balanced and
    /// differ in height by at most 2) and returns the subtree's new root.
    fn rebalance(&mut self, i: u32) -> u32 {
        let (l, r) = {
            let n = self.node(i);
            (n.left, n.right)
        };
        let (hl, hr) = (self.height_of(l), self.height_of(r));
        if hl > hr + 1 {
            let ln = self.node(l);
            if self.height_of(ln.left) < self.height_of(ln.right) {
                let new_left = self.rotate_left(l);
                self.node_mut(i).left = new_left;
            }
            self.rotate_right(i)
        } else if hr > hl + 1 {
            let rn = self.node(r);
            if self.height_of(rn.right) < self.height_of(rn.left) {
                let new_right = self.rotate_right(r);
                self.node_mut(i).right = new_right;
            }
            self.rotate_left(i)
        } else {
            self.refresh(i);
            i
        }
    }

    /// Points the link of `parent` (or the root when `parent` is NIL) that
    /// currently points at `old` to `new`.
    fn replace_child(&mut self, parent: u32, old: u32, new: u32) {
        if parent == NIL {
            self.root = new;
        } else {
            let p = self.node_mut(parent);
            if p.left == old {
                p.left = new;
            } else {
                p.right = new;
            }
        }
    }

    /// Restores heights and balance along `path` (root first), deepest
    /// node first, after an insertion or removal below it. The callers have
    /// already corrected every size on the path, so the walk stops at the
    /// first subtree whose height did not change: nothing above can differ.
    fn retrace(&mut self, path: &Path) {
        for j in (0..path.len).rev() {
            let node = path.items[j];
            let old_height = self.node(node).height;
            let subtree_root = self.rebalance(node);
            if subtree_root != node {
                let parent = if j == 0 { NIL } else { path.items[j - 1] };
                self.replace_child(parent, node, subtree_root);
            }
            if self.node(subtree_root).height == old_height {
                break;
            }
        }
    }

    /// The node of rank `rank` and its ancestors (root first).
    fn path_to_rank(&self, rank: usize) -> Option<(Path, u32)> {
        let mut path = Path::new();
        let mut r = rank;
        let mut cur = self.root;
        while cur != NIL {
            let n = self.node(cur);
            let left = self.size_of(n.left);
            let next = match r.cmp(&left) {
                Ordering::Equal => return Some((path, cur)),
                Ordering::Less => n.left,
                Ordering::Greater => {
                    r -= left + 1;
                    n.right
                }
            };
            path.push(cur);
            cur = next;
        }
        None
    }

    /// The node for which `cmp` returns `Equal` and its ancestors.
    fn path_to_by<F: FnMut(&K) -> Ordering>(&self, mut cmp: F) -> Option<(Path, u32)> {
        let mut path = Path::new();
        let mut cur = self.root;
        while cur != NIL {
            let n = self.node(cur);
            let next = match cmp(&n.key) {
                Ordering::Equal => return Some((path, cur)),
                Ordering::Less => n.right,
                Ordering::Greater => n.left,
            };
            path.push(cur);
            cur = next;
        }
        None
    }
}

/// Methods that compare keys with `Ord`.
impl<K: Ord, V> OsTree<K, V> {
    /// Inserts `key -> value`; returns the previous value if the key was
    /// present (the stored key is then kept, as in `BTreeMap`). O(log n).
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.insert_full(key, value).1
    }

    /// Like [`Self::insert`], also returning the entry's slot. O(log n).
    ///
    /// # Panics
    /// When the tree already holds [`MAX_LEN`] entries (like `Vec`'s capacity
    /// overflow; memory runs out long before).
    pub fn insert_full(&mut self, key: K, value: V) -> (NodeId, Option<V>) {
        // Sizes are raised on the way down (the key is usually new) and
        // lowered again if it is found; then only the few levels whose
        // height changes need their siblings read (see `retrace`).
        let mut path = Path::new();
        let mut cur = self.root;
        let mut went_left = false;
        while cur != NIL {
            let ordering = key.cmp(&self.node(cur).key);
            if ordering == Ordering::Equal {
                for &ancestor in &path.items[..path.len] {
                    self.node_mut(ancestor).size -= 1;
                }
                let old = std::mem::replace(&mut self.node_mut(cur).value, value);
                return (NodeId(cur), Some(old));
            }
            let n = self.node_mut(cur);
            n.size += 1;
            path.push(cur);
            went_left = ordering == Ordering::Less;
            cur = if went_left { n.left } else { n.right };
        }
        assert!(self.nodes.len() < MAX_LEN, "OsTree capacity overflow");
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            key,
            value,
            left: NIL,
            right: NIL,
            size: 1,
            height: 1,
        });
        match path.last() {
            None => self.root = id,
            Some(parent) if went_left => self.node_mut(parent).left = id,
            Some(parent) => self.node_mut(parent).right = id,
        }
        self.retrace(&path);
        (NodeId(id), None)
    }

    /// Removes `key`, returning its entry. O(log n).
    pub fn remove<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.remove_by(|k| k.borrow().cmp(key))
            .map(|r| (r.key, r.value))
    }

    /// Removes the entry for which `cmp` returns `Equal` (see
    /// [`Self::find_by`]). O(log n).
    pub fn remove_by<F: FnMut(&K) -> Ordering>(&mut self, cmp: F) -> Option<Removed<K, V>> {
        let (path, x) = self.path_to_by(cmp)?;
        Some(self.remove_node(path, x))
    }

    /// Removes the entry of rank `rank`. O(log n).
    pub fn remove_at(&mut self, rank: usize) -> Option<Removed<K, V>> {
        let (path, x) = self.path_to_rank(rank)?;
        Some(self.remove_node(path, x))
    }

    /// Removes and returns the smallest entry. O(log n).
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        self.remove_at(0).map(|r| (r.key, r.value))
    }

    /// Removes and returns the largest entry. O(log n).
    pub fn pop_last(&mut self) -> Option<(K, V)> {
        let last = self.len().checked_sub(1)?;
        self.remove_at(last).map(|r| (r.key, r.value))
    }

    /// The value stored for `key`. O(log n).
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get_key_value(key).map(|(_, v)| v)
    }

    /// The stored key and value for `key`. O(log n).
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get_by(|k| k.borrow().cmp(key))
    }

    /// Mutable access to the value stored for `key`. O(log n).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let id = self.find_by(|k| k.borrow().cmp(key))?;
        self.value_at_mut(id)
    }

    /// Whether `key` is present. O(log n).
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find_by(|k| k.borrow().cmp(key)).is_some()
    }

    /// Number of keys strictly less than `key` (whether or not `key` is
    /// present); equals the rank of `key` when present. O(log n).
    pub fn rank<Q>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.partition_point(|k| k.borrow() < key)
    }

    /// The rank of `key` if present. O(log n).
    pub fn rank_of<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.rank_by(|k| k.borrow().cmp(key))
    }

    /// The entry with the greatest key `<= key`. O(log n).
    pub fn floor<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let count = self.partition_point(|k| k.borrow() <= key);
        count.checked_sub(1).and_then(|r| self.select(r))
    }

    /// The entry with the least key `>= key`. O(log n).
    pub fn ceil<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.select(self.partition_point(|k| k.borrow() < key))
    }

    /// The entry with the greatest key `< key` (strict floor). O(log n).
    pub fn lower<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let count = self.partition_point(|k| k.borrow() < key);
        count.checked_sub(1).and_then(|r| self.select(r))
    }

    /// The entry with the least key `> key` (strict ceiling). O(log n).
    pub fn higher<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.select(self.partition_point(|k| k.borrow() <= key))
    }

    /// The ranks of the keys between `lower` and `upper` (an empty range at
    /// `start` when none). O(log n).
    pub fn rank_range<Q>(&self, lower: Bound<&Q>, upper: Bound<&Q>) -> Range<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let start = match lower {
            Bound::Included(q) => self.partition_point(|k| k.borrow() < q),
            Bound::Excluded(q) => self.partition_point(|k| k.borrow() <= q),
            Bound::Unbounded => 0,
        };
        let end = match upper {
            Bound::Included(q) => self.partition_point(|k| k.borrow() <= q),
            Bound::Excluded(q) => self.partition_point(|k| k.borrow() < q),
            Bound::Unbounded => self.len(),
        };
        start..end.max(start)
    }

    /// Number of keys between `lower` and `upper`. O(log n).
    pub fn count_range<Q>(&self, lower: Bound<&Q>, upper: Bound<&Q>) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.rank_range(lower, upper).len()
    }

    /// Iterates over the entries between `lower` and `upper`; double-ended.
    /// O(log n + k) for k items.
    pub fn range<Q>(&self, lower: Bound<&Q>, upper: Bound<&Q>) -> Iter<'_, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.iter_ranks(self.rank_range(lower, upper))
    }

    /// Detaches node `x`, whose ancestors from the root are `path`,
    /// rebalances, and keeps the arena dense.
    fn remove_node(&mut self, mut path: Path, x: u32) -> Removed<K, V> {
        // Every ancestor loses one node.
        for &ancestor in &path.items[..path.len] {
            self.node_mut(ancestor).size -= 1;
        }
        let parent = path.last().unwrap_or(NIL);
        let (xl, xr, x_size, x_height) = {
            let n = self.node(x);
            (n.left, n.right, n.size, n.height)
        };
        if xl == NIL || xr == NIL {
            let child = if xl == NIL { xr } else { xl };
            self.replace_child(parent, x, child);
        } else {
            // Two children: the successor (leftmost node of the right
            // subtree) takes x's place in the structure; entries never move
            // between slots here, so NodeIds stay valid.
            let slot = path.len;
            path.push(x);
            let mut s = xr;
            loop {
                let n = self.node_mut(s);
                // Every node passed on the way down loses the successor.
                n.size -= 1;
                let l = n.left;
                if l == NIL {
                    break;
                }
                path.push(s);
                s = l;
            }
            if s != xr {
                // s != xr means the loop pushed s's parent last.
                let s_parent = path.last().unwrap_or(NIL);
                let s_right = self.node(s).right;
                self.node_mut(s_parent).left = s_right;
                self.node_mut(s).right = xr;
            }
            // s now stands where x stood: x's subtree minus x, and x's height
            // as the "before" value for `retrace`.
            let n = self.node_mut(s);
            n.left = xl;
            n.size = x_size - 1;
            n.height = x_height;
            path.items[slot] = s;
            self.replace_child(parent, x, s);
        }
        self.retrace(&path);

        // x is detached; move the arena's last node into its slot. The arena
        // holds x, so it is not empty.
        let last = (self.nodes.len() - 1) as u32;
        let last_parent = if x == last { NIL } else { self.parent_of(last) };
        let node = self.nodes.swap_remove(x as usize);
        let relocated = if x == last {
            None
        } else {
            self.replace_child(last_parent, last, x);
            Some(Relocation {
                from: NodeId(last),
                to: NodeId(x),
            })
        };
        self.maybe_shrink();
        Removed {
            id: NodeId(x),
            key: node.key,
            value: node.value,
            relocated,
        }
    }

    /// The node whose link points at `target` (NIL if `target` is the root).
    fn parent_of(&self, target: u32) -> u32 {
        let key = &self.node(target).key;
        let mut parent = NIL;
        let mut cur = self.root;
        while cur != target && cur != NIL {
            parent = cur;
            let n = self.node(cur);
            cur = if *key < n.key { n.left } else { n.right };
        }
        if cur == target {
            return parent;
        }
        // Only reachable with an `Ord` that is not a total order; a scan
        // still finds the link, so the arena stays consistent.
        self.nodes
            .iter()
            .position(|n| n.left == target || n.right == target)
            .map_or(NIL, |p| p as u32)
    }

    fn maybe_shrink(&mut self) {
        let cap = self.nodes.capacity();
        if cap > SHRINK_FLOOR && self.nodes.len() < cap / 4 {
            self.nodes.shrink_to(self.nodes.len() * 2);
        }
    }
}

impl<K: Ord, V> Extend<(K, V)> for OsTree<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (k, v) in entries {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for OsTree<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut tree = OsTree::new();
        tree.extend(entries);
        tree
    }
}

impl<'a, K, V> IntoIterator for &'a OsTree<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// In-order iterator over a range of ranks; see [`OsTree::iter_ranks`].
///
/// Each end keeps its own root-to-node stack, positioned lazily on first use,
/// so iterating k items from one end costs O(log n + k).
#[derive(Clone)]
pub struct Iter<'a, K, V> {
    tree: &'a OsTree<K, V>,
    /// Pending nodes for the front end: the top is the next to yield.
    front: Path,
    /// Pending nodes for the back end: the top is the next to yield.
    back: Path,
    front_ready: bool,
    back_ready: bool,
    /// Rank of the next item from the front.
    start: usize,
    /// One past the rank of the next item from the back.
    end: usize,
}

impl<'a, K, V> Iter<'a, K, V> {
    /// Positions one end's stack at its next rank (`start` for the front, `end - 1` for the
    /// back): pushes the nodes on the way at which the path turns away from the walk's
    /// direction (they come after the node in that walk), ending with the node itself.
    /// O(log n).
    fn seek(&mut self, forward: bool) {
        let tree = self.tree;
        let (stack, mut r) = if forward {
            self.front_ready = true;
            (&mut self.front, self.start)
        } else {
            self.back_ready = true;
            (&mut self.back, self.end - 1)
        };
        let mut cur = tree.root;
        while cur != NIL {
            let n = tree.node(cur);
            let left = tree.size_of(n.left);
            match r.cmp(&left) {
                Ordering::Less => {
                    if forward {
                        stack.push(cur);
                    }
                    cur = n.left;
                }
                Ordering::Equal => {
                    stack.push(cur);
                    break;
                }
                Ordering::Greater => {
                    if !forward {
                        stack.push(cur);
                    }
                    r -= left + 1;
                    cur = n.right;
                }
            }
        }
    }

    /// Yields the next item from one end: the top of its stack, after pushing the nodes
    /// that follow it in the walk's direction (the near spine of its far subtree).
    /// O(1) amortized.
    #[inline]
    fn advance(&mut self, forward: bool) -> Option<(&'a K, &'a V)> {
        if self.start >= self.end {
            return None;
        }
        let ready = if forward {
            self.front_ready
        } else {
            self.back_ready
        };
        if !ready {
            self.seek(forward);
        }
        let tree = self.tree;
        let stack = if forward {
            &mut self.front
        } else {
            &mut self.back
        };
        let n = tree.node(stack.pop()?);
        let mut cur = if forward { n.right } else { n.left };
        while cur != NIL {
            stack.push(cur);
            let below = tree.node(cur);
            cur = if forward { below.left } else { below.right };
        }
        if forward {
            self.start += 1;
        } else {
            self.end -= 1;
        }
        Some((&n.key, &n.value))
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.advance(true)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.end - self.start;
        (len, Some(len))
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.advance(false)
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}
impl<K, V> FusedIterator for Iter<'_, K, V> {}

/// The order of a [`Traversal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraversalOrder {
    /// Node, then left subtree, then right subtree.
    PreOrder,
    /// Left subtree, node, right subtree: ascending key order.
    InOrder,
    /// Left subtree, right subtree, then node.
    PostOrder,
    /// Breadth first: root, then each level left to right.
    LevelOrder,
}

/// A lazy traversal of the tree's shape; see [`OsTree::traverse`].
pub struct Traversal<'a, K, V> {
    tree: &'a OsTree<K, V>,
    state: TraversalState,
}

enum TraversalState {
    /// Nodes still to visit, next on top; at most height + 1 entries.
    Pre(Path),
    /// Nodes whose left subtree is done or in progress, next on top.
    In(Path),
    /// The path to the current node, the subtree still to descend into, and
    /// the node yielded last (to tell "back from the right child").
    Post {
        stack: Path,
        cur: u32,
        last: u32,
    },
    Level(VecDeque<u32>),
}

impl<'a, K, V> Iterator for Traversal<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let tree = self.tree;
        let i = match &mut self.state {
            TraversalState::In(stack) => {
                let i = stack.pop()?;
                tree.push_left_spine(stack, tree.node(i).right);
                i
            }
            TraversalState::Pre(stack) => {
                let i = stack.pop()?;
                let n = tree.node(i);
                if n.right != NIL {
                    stack.push(n.right);
                }
                if n.left != NIL {
                    stack.push(n.left);
                }
                i
            }
            TraversalState::Post { stack, cur, last } => loop {
                while *cur != NIL {
                    stack.push(*cur);
                    *cur = tree.node(*cur).left;
                }
                let top = stack.last()?;
                let right = tree.node(top).right;
                if right != NIL && right != *last {
                    *cur = right;
                } else {
                    stack.pop();
                    *last = top;
                    break top;
                }
            },
            TraversalState::Level(queue) => {
                let i = queue.pop_front()?;
                let n = tree.node(i);
                if n.left != NIL {
                    queue.push_back(n.left);
                }
                if n.right != NIL {
                    queue.push_back(n.right);
                }
                i
            }
        };
        let n = tree.node(i);
        Some((&n.key, &n.value))
    }
}

impl<K, V> FusedIterator for Traversal<'_, K, V> {}

#[cfg(test)]
impl<K: Ord + fmt::Debug, V> OsTree<K, V> {
    /// Panics unless every structural invariant holds: each slot reachable
    /// exactly once from the root (one parent link per node, none to the
    /// root), AVL balance, cached heights and sizes, strictly sorted in-order
    /// keys.
    pub(crate) fn assert_invariants(&self) {
        let n = self.nodes.len();
        let mut incoming = vec![0u32; n];
        for node in &self.nodes {
            for link in [node.left, node.right] {
                if link != NIL {
                    assert!((link as usize) < n, "link out of bounds");
                    incoming[link as usize] += 1;
                }
            }
        }
        if n == 0 {
            assert_eq!(self.root, NIL);
            return;
        }
        assert!((self.root as usize) < n, "root out of bounds");
        for (i, &count) in incoming.iter().enumerate() {
            let expected = u32::from(i as u32 != self.root);
            assert_eq!(count, expected, "node {i} has {count} parents");
        }
        let (size, _) = self.check_subtree(self.root);
        assert_eq!(size, n, "not every slot is reachable from the root");
        let keys: Vec<&K> = self.iter().map(|(k, _)| k).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "in-order not sorted");
    }

    /// Returns (size, height) of the subtree, checking its cached fields.
    #[cfg(test)]
    fn check_subtree(&self, i: u32) -> (usize, u8) {
        if i == NIL {
            return (0, 0);
        }
        let node = self.node(i);
        let (ls, lh) = self.check_subtree(node.left);
        let (rs, rh) = self.check_subtree(node.right);
        let balance = i16::from(lh) - i16::from(rh);
        assert!((-1..=1).contains(&balance), "unbalanced at {:?}", node.key);
        assert_eq!(node.height, 1 + lh.max(rh), "height at {:?}", node.key);
        assert_eq!(node.size as usize, 1 + ls + rs, "size at {:?}", node.key);
        if node.left != NIL {
            assert!(self.node(node.left).key < node.key);
        }
        if node.right != NIL {
            assert!(self.node(node.right).key > node.key);
        }
        (1 + ls + rs, node.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn tree_of(keys: impl IntoIterator<Item = u32>) -> OsTree<u32, u32> {
        keys.into_iter().map(|k| (k, k * 10)).collect()
    }

    fn keys<'a>(it: impl Iterator<Item = (&'a u32, &'a u32)>) -> Vec<u32> {
        it.map(|(k, _)| *k).collect()
    }

    #[test]
    fn empty_tree_answers_nothing() {
        let t: OsTree<u32, u32> = OsTree::new();
        t.assert_invariants();
        assert_eq!((t.len(), t.height()), (0, 0));
        assert!(t.is_empty() && t.first().is_none() && t.last().is_none());
        assert_eq!(t.select(0), None);
        assert_eq!((t.rank(&5), t.rank_of(&5)), (0, None));
        assert_eq!((t.floor(&5), t.ceil(&5)), (None, None));
        assert_eq!(t.count_range(Bound::Unbounded, Bound::Unbounded), 0);
        assert_eq!(t.iter().count(), 0);
        for order in ORDERS {
            assert_eq!(t.traverse(order).count(), 0);
        }
        assert_eq!(format!("{t:?}"), "{}");
    }

    #[test]
    fn insert_replaces_and_remove_returns_the_entry() {
        let mut t = OsTree::new();
        assert_eq!(t.insert(5, "a"), None);
        assert_eq!(t.insert(3, "b"), None);
        assert_eq!(t.insert(5, "c"), Some("a"));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(&5), Some(&"c"));
        *t.get_mut(&3).unwrap() = "d";
        assert_eq!(t.get_key_value(&3), Some((&3, &"d")));
        assert!(t.contains_key(&3) && !t.contains_key(&4));
        assert_eq!(t.remove(&4), None);
        assert_eq!(t.remove(&5), Some((5, "c")));
        assert_eq!(t.pop_first(), Some((3, "d")));
        assert_eq!(t.pop_last(), None);
        t.assert_invariants();
    }

    #[test]
    fn order_statistics_on_a_small_tree() {
        let t = tree_of([10, 20, 30, 40, 50]);
        assert_eq!(t.rank(&5), 0);
        assert_eq!(t.rank(&30), 2);
        assert_eq!(t.rank(&35), 3);
        assert_eq!(t.rank(&99), 5);
        assert_eq!(t.rank_of(&40), Some(3));
        assert_eq!(t.rank_of(&41), None);
        assert_eq!(t.select(0), Some((&10, &100)));
        assert_eq!(t.select(4), Some((&50, &500)));
        assert_eq!(t.select(5), None);
        assert_eq!(t.first(), Some((&10, &100)));
        assert_eq!(t.last(), Some((&50, &500)));
        assert_eq!(t.floor(&30).map(|e| *e.0), Some(30));
        assert_eq!(t.floor(&29).map(|e| *e.0), Some(20));
        assert_eq!(t.floor(&9), None);
        assert_eq!(t.ceil(&30).map(|e| *e.0), Some(30));
        assert_eq!(t.ceil(&31).map(|e| *e.0), Some(40));
        assert_eq!(t.ceil(&51), None);
        assert_eq!(t.lower(&30).map(|e| *e.0), Some(20));
        assert_eq!(t.lower(&10), None);
        assert_eq!(t.higher(&30).map(|e| *e.0), Some(40));
        assert_eq!(t.higher(&50), None);
        assert_eq!(t.partition_point(|k| *k < 25), 2);
    }

    #[test]
    fn ranges_honour_every_bound_kind() {
        let t = tree_of([10, 20, 30, 40, 50]);
        let r = |lo, hi| keys(t.range(lo, hi));
        assert_eq!(r(Bound::Included(&20), Bound::Included(&40)), [20, 30, 40]);
        assert_eq!(r(Bound::Excluded(&20), Bound::Excluded(&40)), [30]);
        assert_eq!(r(Bound::Unbounded, Bound::Excluded(&30)), [10, 20]);
        assert_eq!(r(Bound::Excluded(&30), Bound::Unbounded), [40, 50]);
        assert_eq!(
            r(Bound::Included(&40), Bound::Included(&20)),
            [] as [u32; 0]
        );
        assert_eq!(
            r(Bound::Excluded(&30), Bound::Excluded(&30)),
            [] as [u32; 0]
        );
        assert_eq!(t.count_range(Bound::Included(&15), Bound::Included(&45)), 3);
        assert_eq!(t.count_range(Bound::Unbounded, Bound::Unbounded), 5);
        let rev = keys(t.range(Bound::Included(&20), Bound::Unbounded).rev());
        assert_eq!(rev, [50, 40, 30, 20]);
    }

    #[test]
    fn iterators_walk_from_either_end_and_meet() {
        let t = tree_of(0..100);
        assert_eq!(keys(t.iter_from(95)), [95, 96, 97, 98, 99]);
        assert_eq!(keys(t.iter_ranks(0..4).rev()), [3, 2, 1, 0]);
        assert_eq!(keys(t.iter_ranks(98..200)), [98, 99]);
        assert_eq!(t.iter_ranks(150..200).count(), 0);
        let mut it = t.iter_ranks(10..15);
        assert_eq!(it.len(), 5);
        assert_eq!(it.next().map(|e| *e.0), Some(10));
        assert_eq!(it.next_back().map(|e| *e.0), Some(14));
        assert_eq!(it.next().map(|e| *e.0), Some(11));
        assert_eq!(it.next_back().map(|e| *e.0), Some(13));
        assert_eq!(it.next().map(|e| *e.0), Some(12));
        assert_eq!((it.next(), it.next_back()), (None, None));
    }

    const ORDERS: [TraversalOrder; 4] = [
        TraversalOrder::PreOrder,
        TraversalOrder::InOrder,
        TraversalOrder::PostOrder,
        TraversalOrder::LevelOrder,
    ];

    #[test]
    fn traversals_follow_the_shape() {
        // Sorted inserts of 1..=7 build the perfect tree 4 / 2 6 / 1 3 5 7.
        let t = tree_of(1..=7);
        assert_eq!(t.height(), 3);
        let walk = |o| keys(t.traverse(o));
        assert_eq!(walk(TraversalOrder::PreOrder), [4, 2, 1, 3, 6, 5, 7]);
        assert_eq!(walk(TraversalOrder::InOrder), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(walk(TraversalOrder::PostOrder), [1, 3, 2, 5, 7, 6, 4]);
        assert_eq!(walk(TraversalOrder::LevelOrder), [4, 2, 6, 1, 3, 5, 7]);
        assert_eq!(keys(t.traverse(TraversalOrder::PostOrder).take(2)), [1, 3]);
    }

    #[test]
    fn traversals_visit_every_node_once() {
        let t = tree_of((0..1000).map(|i| (i * 7919) % 1000));
        for order in ORDERS {
            let mut seen = keys(t.traverse(order));
            seen.sort_unstable();
            assert_eq!(seen, (0..1000).collect::<Vec<_>>(), "{order:?}");
        }
    }

    #[test]
    fn removal_reports_the_relocated_entry() {
        let mut t = OsTree::new();
        let ids: Vec<NodeId> = (0..10).map(|k| t.insert_full(k, ()).0).collect();
        let removed = t.remove_by(|k| k.cmp(&3)).unwrap();
        assert_eq!((removed.id, removed.key), (ids[3], 3));
        let moved = removed.relocated.unwrap();
        assert_eq!((moved.from, moved.to), (ids[9], ids[3]));
        assert_eq!(t.key_at(moved.to), Some(&9));
        assert_eq!(t.key_at(moved.from), None);
        // Removing the last slot moves nothing.
        let last = t.find_by(|k| k.cmp(&8)).unwrap();
        assert_eq!(last, ids[8]);
        assert!(t.remove_by(|k| k.cmp(&8)).unwrap().relocated.is_none());
        t.assert_invariants();
    }

    #[test]
    fn handles_and_key_replacement() {
        let mut t = tree_of([1, 2, 3]);
        let id = t.find_by(|k| k.cmp(&2)).unwrap();
        assert_eq!(t.entry(id), Some((&2, &20)));
        *t.value_at_mut(id).unwrap() = 7;
        assert_eq!(t.replace_key_at(id, 2), Some(2));
        assert_eq!(t.get(&2), Some(&7));
        assert_eq!(t.rank_by(|k| k.cmp(&3)), Some(2));
        assert_eq!(t.select_node(1), Some(id));
        *t.select_mut(0).unwrap().1 = 9;
        assert_eq!(t.get(&1), Some(&9));
    }

    #[test]
    fn clone_debug_clear_and_shrink() {
        let mut t = tree_of(0..1000);
        let copy = t.clone();
        for k in 0..990 {
            t.remove(&k);
        }
        t.assert_invariants();
        assert!(t.arena_bytes() < copy.arena_bytes() / 4);
        assert_eq!(copy.len(), 1000);
        copy.assert_invariants();
        assert_eq!(format!("{:?}", tree_of([1, 2])), "{1: 10, 2: 20}");
        t.clear();
        assert!(t.is_empty() && t.height() == 0);
        t.insert(1, 1);
        t.assert_invariants();
    }

    #[test]
    fn borrowed_lookups_work_for_boxed_keys() {
        let mut t: OsTree<Box<[u8]>, u8> = OsTree::new();
        t.insert(b"b".to_vec().into(), 1);
        t.insert(b"a".to_vec().into(), 2);
        let probe: &[u8] = b"b";
        assert_eq!(t.get(probe), Some(&1));
        assert_eq!(t.rank(probe), 1);
        assert_eq!(t.remove(probe).map(|e| e.1), Some(1));
    }

    /// Sorted inserts are the worst case for an unbalanced tree; the AVL
    /// bound is height < 1.4405 log2(n + 2).
    #[test]
    fn million_sorted_inserts_stay_balanced() {
        let started = std::time::Instant::now();
        let n: u32 = 1_000_000;
        let mut t = OsTree::with_capacity(n as usize);
        for k in 0..n {
            t.insert(k, ());
        }
        let bound = 1.45 * f64::from(n + 2).log2();
        assert!((t.height() as f64) <= bound, "height {}", t.height());
        for k in (0..n).step_by(997) {
            assert_eq!(t.rank(&k), k as usize);
            assert_eq!(t.select(k as usize).map(|e| *e.0), Some(k));
        }
        assert!(t.iter().map(|e| *e.0).eq(0..n));
        eprintln!(
            "1M sorted inserts: height {} (bound {bound:.1}), {:?}",
            t.height(),
            started.elapsed()
        );
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        RemoveAt(usize),
        Query(u16),
        Select(usize),
        Range(Bound<u16>, Bound<u16>, bool),
        Ranks(usize, usize, bool),
    }

    fn bound() -> impl Strategy<Value = Bound<u16>> {
        prop_oneof![
            (0u16..300).prop_map(Bound::Included),
            (0u16..300).prop_map(Bound::Excluded),
            Just(Bound::Unbounded),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..300, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0u16..300).prop_map(Op::Remove),
            1 => (0usize..300).prop_map(Op::RemoveAt),
            2 => (0u16..300).prop_map(Op::Query),
            1 => (0usize..300).prop_map(Op::Select),
            1 => (bound(), bound(), any::<bool>()).prop_map(|(a, b, r)| Op::Range(a, b, r)),
            1 => (0usize..300, 0usize..300, any::<bool>()).prop_map(|(a, b, r)| Op::Ranks(a, b, r)),
        ]
    }

    fn as_ref(b: &Bound<u16>) -> Bound<&u16> {
        match b {
            Bound::Included(k) => Bound::Included(k),
            Bound::Excluded(k) => Bound::Excluded(k),
            Bound::Unbounded => Bound::Unbounded,
        }
    }

    fn model_range(m: &BTreeMap<u16, u32>, lo: Bound<u16>, hi: Bound<u16>) -> Vec<(u16, u32)> {
        m.iter()
            .filter(|(k, _)| match lo {
                Bound::Included(b) => **k >= b,
                Bound::Excluded(b) => **k > b,
                Bound::Unbounded => true,
            })
            .filter(|(k, _)| match hi {
                Bound::Included(b) => **k <= b,
                Bound::Excluded(b) => **k < b,
                Bound::Unbounded => true,
            })
            .map(|(k, v)| (*k, *v))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn matches_a_btreemap(ops in prop::collection::vec(op(), 1..400)) {
            let mut t: OsTree<u16, u32> = OsTree::new();
            let mut m: BTreeMap<u16, u32> = BTreeMap::new();
            let pairs = |it: Iter<'_, u16, u32>| it.map(|(k, v)| (*k, *v)).collect::<Vec<_>>();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(t.insert(k, v), m.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(t.remove(&k), m.remove_entry(&k)),
                    Op::RemoveAt(r) => {
                        let expected = m.keys().nth(r).copied();
                        let got = t.remove_at(r).map(|e| e.key);
                        prop_assert_eq!(got, expected);
                        if let Some(k) = expected {
                            m.remove(&k);
                        }
                    }
                    Op::Query(k) => {
                        prop_assert_eq!(t.get(&k), m.get(&k));
                        prop_assert_eq!(t.rank(&k), m.range(..k).count());
                        prop_assert_eq!(t.rank_of(&k), m.contains_key(&k).then(|| m.range(..k).count()));
                        prop_assert_eq!(t.floor(&k), m.range(..=k).next_back());
                        prop_assert_eq!(t.ceil(&k), m.range(k..).next());
                        prop_assert_eq!(t.lower(&k), m.range(..k).next_back());
                        prop_assert_eq!(t.higher(&k), m.range((Bound::Excluded(k), Bound::Unbounded)).next());
                    }
                    Op::Select(r) => prop_assert_eq!(t.select(r), m.iter().nth(r)),
                    Op::Range(lo, hi, rev) => {
                        let mut expected = model_range(&m, lo, hi);
                        prop_assert_eq!(t.count_range(as_ref(&lo), as_ref(&hi)), expected.len());
                        let it = t.range(as_ref(&lo), as_ref(&hi));
                        let got = if rev {
                            expected.reverse();
                            pairs(it).into_iter().rev().collect::<Vec<_>>()
                        } else {
                            pairs(it)
                        };
                        prop_assert_eq!(got, expected);
                        if rev {
                            let back: Vec<_> = t.range(as_ref(&lo), as_ref(&hi)).rev().map(|(k, v)| (*k, *v)).collect();
                            let mut fwd = model_range(&m, lo, hi);
                            fwd.reverse();
                            prop_assert_eq!(back, fwd);
                        }
                    }
                    Op::Ranks(a, b, rev) => {
                        let all: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
                        let end = b.min(all.len());
                        let start = a.min(end);
                        let mut expected = all[start..end].to_vec();
                        let got: Vec<_> = if rev {
                            expected.reverse();
                            t.iter_ranks(a..b).rev().map(|(k, v)| (*k, *v)).collect()
                        } else {
                            pairs(t.iter_ranks(a..b))
                        };
                        prop_assert_eq!(got, expected);
                    }
                }
                t.assert_invariants();
                prop_assert_eq!(t.len(), m.len());
            }
            prop_assert!(t.iter().map(|(k, v)| (*k, *v)).eq(m.iter().map(|(k, v)| (*k, *v))));
        }
    }
}
