//! The GRAPH value: named nodes joined by weighted edges, directed or undirected.
//!
//! Every order this module reports is defined by node name bytes, never by insertion order or
//! by hash seeds, so a graph reloaded from the database in another order answers identically.
//!
//! # Storage
//! Nodes live in slots of a vector (`u32` index; freed slots are reused) and are found by name
//! through a `hashbrown::HashTable` that stores only the slot index, so each name is kept once.
//! Each node owns two adjacency vectors of `(neighbour index, weight)`. A directed edge `a -> b`
//! sits in `a.out` and `b.inc`; an undirected edge sits in the `out` vectors of both ends (once
//! for a self-loop). An edge map `(source, target) -> positions in those two vectors` makes
//! lookup, weight update and removal O(1): removal `swap_remove`s both entries and repairs the
//! position recorded for the entry that moved into the hole.
//!
//! # Why not petgraph
//! `StableGraph` keeps edges in singly linked lists, so removing an edge walks the lists of both
//! endpoints: O(degree), which makes deleting the leaves of a hub quadratic. Its algorithms
//! (`Bfs`, `Dfs`, `dijkstra`, `toposort`, `connected_components`) visit neighbours in list order,
//! which depends on insertion order, and `dijkstra` returns no paths, so none of them could give
//! the name-ordered, reload-stable answers required here; they are written by hand instead
//! (in `graph/search.rs`).
//! Contiguous per-node vectors also make the Dijkstra edge scan sequential in memory.
//!
//! # Degree and self-loops
//! `degree(node, d)` always equals `neighbors(node, d).len()`. In a directed graph a self-loop
//! `a -> a` counts once in `Out`, once in `In`, twice in `Both`. In an undirected graph it is
//! one incident edge and counts once.

use std::fmt;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::{HashMap, HashTable};

use super::keyspace::DbMut;
use super::value::Value;
use super::{StoreError, StoreResult};

mod search;

/// Weight given to an edge added without one.
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// Slot index of a node.
type Ix = u32;

/// Marks "no node" in per-query arrays; `insert_node` never hands out this index.
const NONE: Ix = Ix::MAX;

/// Why a graph operation was refused. Every refusal but `TooLarge` leaves the graph unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum GraphError {
    /// The named node does not exist.
    NoSuchNode(Vec<u8>),
    /// A weight below zero: shortest paths use Dijkstra, which needs non-negative weights.
    NegativeWeight,
    /// A NaN or infinite weight.
    NonFiniteWeight,
    /// The directed graph has a cycle: its nodes in edge order (the last one links back to the
    /// first), starting from the smallest name.
    Cycle(Vec<Vec<u8>>),
    /// The operation is defined only for directed graphs.
    NotDirected,
    /// More than `u32::MAX - 1` nodes, or one node with more than `u32::MAX - 1` edges.
    TooLarge,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::NoSuchNode(name) => {
                write!(f, "no such node '{}'", String::from_utf8_lossy(name))
            }
            GraphError::NegativeWeight => f.write_str("edge weight must not be negative"),
            GraphError::NonFiniteWeight => f.write_str("edge weight must be a finite number"),
            GraphError::Cycle(_) => f.write_str("graph contains a cycle"),
            GraphError::NotDirected => f.write_str("operation requires a directed graph"),
            GraphError::TooLarge => f.write_str("graph is too large"),
        }
    }
}

impl std::error::Error for GraphError {}

/// Which edges of a node to consider. In an undirected graph all three mean the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Edges leaving the node.
    Out,
    /// Edges entering the node.
    In,
    /// Both: in a directed graph, one entry per edge, so a neighbour linked both ways appears
    /// twice (its outgoing edge first).
    Both,
}

/// One adjacency entry. Packed to 12 bytes: adjacency dominates the memory of large graphs, and
/// fields are only ever copied out, never borrowed.
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct Adj {
    node: Ix,
    weight: f64,
}

/// Where an edge's two adjacency entries are: `at_source` in the source's `out`, `at_target`
/// in the target's `inc` (directed) or `out` (undirected; equal to `at_source` for a self-loop).
#[derive(Debug, Clone, Copy)]
struct EdgePos {
    at_source: u32,
    at_target: u32,
}

/// Which endpoint's vector an adjacency entry lives in.
#[derive(Clone, Copy)]
enum Side {
    Source,
    Target,
}

#[derive(Debug, Clone)]
struct Node {
    name: Box<[u8]>,
    out: Vec<Adj>,
    /// Entering edges of a directed graph; always empty when undirected.
    inc: Vec<Adj>,
}

/// A graph of named nodes and weighted edges.
///
/// Invariants: `names` holds exactly the indices of the `Some` slots of `nodes`, `free` exactly
/// the `None` ones; every index in `edges` and in adjacency vectors names a live slot; for each
/// key of `edges` the recorded positions hold entries pointing at the other endpoint. Edge keys
/// are `(from, to)` when directed and `(min, max)` of the two indices when undirected.
#[derive(Debug, Clone)]
pub struct GraphValue {
    directed: bool,
    nodes: Vec<Option<Node>>,
    free: Vec<Ix>,
    names: HashTable<Ix>,
    hasher: RandomState,
    edges: HashMap<(Ix, Ix), EdgePos, RandomState>,
    /// Edges of weight zero; with `smallest_weight` it tells whether a shortest-path search
    /// can meet a flat edge (see `dijkstra_by_cost`).
    zero_weight_edges: usize,
    /// A lower bound of the positive weights stored: the smallest stored since the graph last
    /// had no edges (deleting edges never raises it).
    smallest_weight: f64,
}

/// Graphs are equal when they have the same directedness, nodes and weighted edges, however
/// they were built. O(V + E) expected.
impl PartialEq for GraphValue {
    fn eq(&self, other: &Self) -> bool {
        self.directed == other.directed
            && self.node_count() == other.node_count()
            && self.edge_count() == other.edge_count()
            && self.iter_nodes().all(|name| other.contains_node(name))
            && self
                .iter_edges()
                .all(|(from, to, weight)| other.edge_weight(from, to) == Some(weight))
    }
}

/// Path nodes from source to target, and the path's total weight.
pub type Path<'a> = (Vec<&'a [u8]>, f64);

/// An edge as listings report it: `(from, to, weight)`.
pub type Edge<'a> = (&'a [u8], &'a [u8], f64);

/// Rejects weights Dijkstra cannot use; folds `-0.0` into `0.0` so it never prints as "-0".
fn check_weight(weight: f64) -> Result<f64, GraphError> {
    if !weight.is_finite() {
        Err(GraphError::NonFiniteWeight)
    } else if weight < 0.0 {
        Err(GraphError::NegativeWeight)
    } else {
        Ok(weight + 0.0)
    }
}

fn slot_name(nodes: &[Option<Node>], index: Ix) -> &[u8] {
    match nodes.get(index as usize) {
        Some(Some(node)) => &node.name,
        _ => &[],
    }
}

/// A directed graph: the default, as `GRAPH.CREATE` without `UNDIRECTED` makes.
impl Default for GraphValue {
    fn default() -> Self {
        GraphValue::new(true)
    }
}

impl GraphValue {
    /// An empty graph; `directed` is fixed for the value's life. O(1).
    pub fn new(directed: bool) -> Self {
        GraphValue {
            directed,
            nodes: Vec::new(),
            free: Vec::new(),
            names: HashTable::new(),
            hasher: RandomState::default(),
            edges: HashMap::with_hasher(RandomState::default()),
            zero_weight_edges: 0,
            smallest_weight: f64::INFINITY,
        }
    }

    /// Builds a graph from persisted parts (e.g. `iter_nodes` and `iter_edges` of another
    /// graph, in any order). Edge endpoints missing from `nodes` are created; a repeated edge
    /// keeps its last weight. O(V + E) expected.
    pub fn from_parts<N, E, A, B>(directed: bool, nodes: N, edges: E) -> Result<Self, GraphError>
    where
        N: IntoIterator,
        N::Item: AsRef<[u8]>,
        E: IntoIterator<Item = (A, B, f64)>,
        A: AsRef<[u8]>,
        B: AsRef<[u8]>,
    {
        let mut graph = GraphValue::new(directed);
        for name in nodes {
            graph.add_node(name.as_ref())?;
        }
        for (from, to, weight) in edges {
            graph.add_edge(from.as_ref(), to.as_ref(), weight)?;
        }
        Ok(graph)
    }

    /// Whether edges have a direction. O(1).
    pub fn is_directed(&self) -> bool {
        self.directed
    }

    /// Number of nodes. O(1).
    pub fn node_count(&self) -> usize {
        self.names.len()
    }

    /// True when the graph has no nodes (hence no edges). O(1).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Number of edges, each undirected edge counted once. O(1).
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// Whether the node exists. O(1) expected (plus the name comparison).
    pub fn contains_node(&self, name: &[u8]) -> bool {
        self.index_of(name).is_some()
    }

    /// Adds a node; false if it already existed. O(1) amortized.
    pub fn add_node(&mut self, name: &[u8]) -> Result<bool, GraphError> {
        if self.index_of(name).is_some() {
            return Ok(false);
        }
        self.insert_node(name).map(|_| true)
    }

    /// Removes a node and every edge touching it; false if it did not exist. Other nodes keep
    /// their identity. O(degree) amortized.
    pub fn del_node(&mut self, name: &[u8]) -> bool {
        let Some(index) = self.index_of(name) else {
            return false;
        };
        // Each pass removes the last entry of the node's vector (the edge map records exactly
        // that position), so the loops end after `degree` passes; the fallback `pop` keeps them
        // finite even if the map disagreed.
        while let Some(adj) = self.node(index).and_then(|node| node.out.last().copied()) {
            let key = self.edge_key(index, adj.node);
            match self.edges.remove(&key) {
                Some(pos) => self.unlink(key, pos),
                None => {
                    if let Some(node) = self.node_mut(index) {
                        node.out.pop();
                    }
                }
            }
        }
        while let Some(adj) = self.node(index).and_then(|node| node.inc.last().copied()) {
            let key = (adj.node, index);
            match self.edges.remove(&key) {
                Some(pos) => self.unlink(key, pos),
                None => {
                    if let Some(node) = self.node_mut(index) {
                        node.inc.pop();
                    }
                }
            }
        }
        let hash = self.hasher.hash_one(name);
        let nodes = &self.nodes;
        if let Ok(entry) = self
            .names
            .find_entry(hash, |&i| slot_name(nodes, i) == name)
        {
            entry.remove();
        }
        if let Some(slot) = self.nodes.get_mut(index as usize) {
            *slot = None;
            self.free.push(index);
        }
        true
    }

    /// Adds the edge `from -> to` (or `from -- to` when undirected), creating missing nodes, or
    /// updates its weight if it exists. Returns true if the edge is new. A bad weight is refused
    /// before anything changes. O(1) amortized.
    pub fn add_edge(&mut self, from: &[u8], to: &[u8], weight: f64) -> Result<bool, GraphError> {
        let weight = check_weight(weight)?;
        let a = self.index_or_insert(from)?;
        let b = self.index_or_insert(to)?;
        let key = self.edge_key(a, b);
        if let Some(pos) = self.edges.get(&key).copied() {
            if let Some(old) = self.weight_at(key, pos) {
                self.forget_weight(old);
            }
            self.note_weight(weight);
            self.set_weight(key, pos, weight);
            return Ok(false);
        }
        let (source, target) = key;
        let at_source = self.next_position(source, Side::Source)?;
        let at_target = if !self.directed && source == target {
            at_source
        } else {
            self.next_position(target, Side::Target)?
        };
        if let Some(list) = self.list_mut(source, Side::Source) {
            list.push(Adj {
                node: target,
                weight,
            });
        }
        if self.directed || source != target {
            if let Some(list) = self.list_mut(target, Side::Target) {
                list.push(Adj {
                    node: source,
                    weight,
                });
            }
        }
        self.note_weight(weight);
        self.edges.insert(
            key,
            EdgePos {
                at_source,
                at_target,
            },
        );
        Ok(true)
    }

    /// Removes the edge; false if it (or either node) did not exist. Nodes stay. O(1) expected.
    pub fn del_edge(&mut self, from: &[u8], to: &[u8]) -> bool {
        let Some(key) = self.existing_key(from, to) else {
            return false;
        };
        match self.edges.remove(&key) {
            Some(pos) => {
                self.unlink(key, pos);
                true
            }
            None => false,
        }
    }

    /// Whether the edge exists (either orientation when undirected). O(1) expected.
    pub fn has_edge(&self, from: &[u8], to: &[u8]) -> bool {
        self.edge_weight(from, to).is_some()
    }

    /// The edge's weight, or None if it does not exist. O(1) expected.
    pub fn edge_weight(&self, from: &[u8], to: &[u8]) -> Option<f64> {
        let key = self.existing_key(from, to)?;
        let pos = self.edges.get(&key)?;
        self.weight_at(key, *pos)
    }

    /// The node's neighbours with the weights of the connecting edges, sorted by name (stable:
    /// for `Both` in a directed graph a name's outgoing edge comes before its entering one).
    /// O(d log d) for d entries.
    pub fn neighbors(
        &self,
        name: &[u8],
        direction: Direction,
    ) -> Result<Vec<(&[u8], f64)>, GraphError> {
        let index = self.require(name)?;
        let (out, inc) = self.lists_for(index, direction);
        let mut found: Vec<(&[u8], f64)> = out
            .iter()
            .chain(inc)
            .map(|adj| (self.name(adj.node), adj.weight))
            .collect();
        found.sort_by(|a, b| a.0.cmp(b.0));
        Ok(found)
    }

    /// Number of entries `neighbors` would return (see the module note on self-loops). O(1).
    pub fn degree(&self, name: &[u8], direction: Direction) -> Result<usize, GraphError> {
        let index = self.require(name)?;
        let (out, inc) = self.lists_for(index, direction);
        Ok(out.len() + inc.len())
    }

    /// All node names, sorted by bytes. O(V log V).
    pub fn nodes(&self) -> Vec<&[u8]> {
        let mut names: Vec<&[u8]> = self.iter_nodes().collect();
        names.sort_unstable();
        names
    }

    /// All edges as `(from, to, weight)` sorted by `(from, to)`; an undirected edge appears
    /// once, written with the smaller name first. O(E log E).
    pub fn edges(&self) -> Vec<(&[u8], &[u8], f64)> {
        let directed = self.directed;
        let mut all: Vec<(&[u8], &[u8], f64)> = self
            .iter_edges()
            .map(|(a, b, w)| {
                if directed || a <= b {
                    (a, b, w)
                } else {
                    (b, a, w)
                }
            })
            .collect();
        all.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
        all
    }

    /// Node names in storage order (unspecified, for persistence). O(1) per item.
    pub fn iter_nodes(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.nodes.iter().flatten().map(|node| &*node.name)
    }

    /// Edges as `(from, to, weight)` in storage order (unspecified, for persistence); each
    /// undirected edge once. O(1) per item amortized.
    pub fn iter_edges(&self) -> impl Iterator<Item = (&[u8], &[u8], f64)> + '_ {
        let directed = self.directed;
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| slot.as_ref().map(|node| (i, node)))
            .flat_map(move |(i, node)| {
                node.out
                    .iter()
                    .filter(move |adj| directed || i <= adj.node as usize)
                    .map(move |adj| (&*node.name, self.name(adj.node), adj.weight))
            })
    }

    /// Approximate heap bytes held by the value, for memory accounting. O(V).
    pub fn memory_usage(&self) -> usize {
        let adj = std::mem::size_of::<Adj>();
        let per_nodes: usize = self
            .nodes
            .iter()
            .flatten()
            .map(|node| node.name.len() + (node.out.capacity() + node.inc.capacity()) * adj)
            .sum();
        per_nodes
            + self.nodes.capacity() * std::mem::size_of::<Option<Node>>()
            + self.free.capacity() * std::mem::size_of::<Ix>()
            + self.names.capacity() * (std::mem::size_of::<Ix>() + 1)
            + self.edges.capacity() * (std::mem::size_of::<((Ix, Ix), EdgePos)>() + 1)
    }

    // ---- internals ----

    fn index_of(&self, name: &[u8]) -> Option<Ix> {
        let nodes = &self.nodes;
        self.names
            .find(self.hasher.hash_one(name), |&i| slot_name(nodes, i) == name)
            .copied()
    }

    fn require(&self, name: &[u8]) -> Result<Ix, GraphError> {
        self.index_of(name)
            .ok_or_else(|| GraphError::NoSuchNode(name.to_vec()))
    }

    fn index_or_insert(&mut self, name: &[u8]) -> Result<Ix, GraphError> {
        match self.index_of(name) {
            Some(index) => Ok(index),
            None => self.insert_node(name),
        }
    }

    /// Stores a node known to be absent.
    fn insert_node(&mut self, name: &[u8]) -> Result<Ix, GraphError> {
        let node = Node {
            name: name.into(),
            out: Vec::new(),
            inc: Vec::new(),
        };
        let free_slot = self
            .free
            .pop()
            .filter(|&index| (index as usize) < self.nodes.len());
        let index = match free_slot {
            Some(index) => {
                if let Some(slot) = self.nodes.get_mut(index as usize) {
                    *slot = Some(node);
                }
                index
            }
            None => {
                let index = Ix::try_from(self.nodes.len())
                    .ok()
                    .filter(|&i| i != NONE)
                    .ok_or(GraphError::TooLarge)?;
                self.nodes.push(Some(node));
                index
            }
        };
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        self.names
            .insert_unique(hasher.hash_one(name), index, |&i| {
                hasher.hash_one(slot_name(nodes, i))
            });
        Ok(index)
    }

    fn node(&self, index: Ix) -> Option<&Node> {
        self.nodes.get(index as usize)?.as_ref()
    }

    fn node_mut(&mut self, index: Ix) -> Option<&mut Node> {
        self.nodes.get_mut(index as usize)?.as_mut()
    }

    fn name(&self, index: Ix) -> &[u8] {
        slot_name(&self.nodes, index)
    }

    fn out_list(&self, index: Ix) -> &[Adj] {
        self.node(index).map_or(&[], |node| &node.out)
    }

    fn in_list(&self, index: Ix) -> &[Adj] {
        self.node(index).map_or(&[], |node| &node.inc)
    }

    /// Edges arriving at a node, as `(other end, weight)`: `inc` when directed, else `out`.
    fn entering(&self, index: Ix) -> &[Adj] {
        if self.directed {
            self.in_list(index)
        } else {
            self.out_list(index)
        }
    }

    /// The adjacency vectors making up `direction` for a node: `(out, inc)` with either empty.
    fn lists_for(&self, index: Ix, direction: Direction) -> (&[Adj], &[Adj]) {
        if !self.directed {
            return (self.out_list(index), &[]);
        }
        match direction {
            Direction::Out => (self.out_list(index), &[]),
            Direction::In => (&[], self.in_list(index)),
            Direction::Both => (self.out_list(index), self.in_list(index)),
        }
    }

    fn live_indices(&self) -> impl Iterator<Item = Ix> + '_ {
        // Every slot index fits in `Ix`: `insert_node` refuses to grow past it.
        (0..self.nodes.len() as Ix).filter(|&i| self.node(i).is_some())
    }

    /// Fills `into` with the nodes reachable by one forward edge, sorted by name.
    fn sorted_successors(&self, index: Ix, into: &mut Vec<Ix>) {
        into.clear();
        into.extend(self.out_list(index).iter().map(|adj| adj.node));
        into.sort_unstable_by(|&a, &b| self.name(a).cmp(self.name(b)));
    }

    fn edge_key(&self, a: Ix, b: Ix) -> (Ix, Ix) {
        if self.directed || a <= b {
            (a, b)
        } else {
            (b, a)
        }
    }

    fn existing_key(&self, from: &[u8], to: &[u8]) -> Option<(Ix, Ix)> {
        Some(self.edge_key(self.index_of(from)?, self.index_of(to)?))
    }

    fn list_mut(&mut self, index: Ix, side: Side) -> Option<&mut Vec<Adj>> {
        let directed = self.directed;
        let node = self.node_mut(index)?;
        match side {
            Side::Target if directed => Some(&mut node.inc),
            _ => Some(&mut node.out),
        }
    }

    /// The position the next entry pushed on that vector will get.
    fn next_position(&mut self, index: Ix, side: Side) -> Result<u32, GraphError> {
        let len = self.list_mut(index, side).map_or(0, |list| list.len());
        u32::try_from(len)
            .ok()
            .filter(|&p| p != u32::MAX)
            .ok_or(GraphError::TooLarge)
    }

    fn weight_at(&self, (source, _): (Ix, Ix), pos: EdgePos) -> Option<f64> {
        Some(self.out_list(source).get(pos.at_source as usize)?.weight)
    }

    fn note_weight(&mut self, weight: f64) {
        if weight == 0.0 {
            self.zero_weight_edges += 1;
        } else {
            self.smallest_weight = self.smallest_weight.min(weight);
        }
    }

    fn forget_weight(&mut self, weight: f64) {
        if weight == 0.0 {
            self.zero_weight_edges = self.zero_weight_edges.saturating_sub(1);
        }
        if self.edges.is_empty() {
            self.smallest_weight = f64::INFINITY;
        }
    }

    /// True if no edge leaving a node of cost at most `cost` can be flat: a positive `w` with
    /// `c + w == c` needs `w <= ulp(c) / 2 <= c * 2^-53`. The product is exact or rounds up.
    fn flat_edges_impossible_up_to(&self, cost: f64) -> bool {
        self.zero_weight_edges == 0 && cost < self.smallest_weight * 4_503_599_627_370_496.0
    }

    fn set_weight(&mut self, (source, target): (Ix, Ix), pos: EdgePos, weight: f64) {
        if let Some(adj) = self
            .list_mut(source, Side::Source)
            .and_then(|list| list.get_mut(pos.at_source as usize))
        {
            adj.weight = weight;
        }
        if let Some(adj) = self
            .list_mut(target, Side::Target)
            .and_then(|list| list.get_mut(pos.at_target as usize))
        {
            adj.weight = weight;
        }
    }

    /// Drops both adjacency entries of an edge already removed from `edges`.
    fn unlink(&mut self, (source, target): (Ix, Ix), pos: EdgePos) {
        if let Some(old) = self.weight_at((source, target), pos) {
            self.forget_weight(old);
        }
        self.remove_entry(source, Side::Source, pos.at_source);
        if self.directed || source != target {
            self.remove_entry(target, Side::Target, pos.at_target);
        }
    }

    /// `swap_remove`s one adjacency entry and records the new position of the entry moved into
    /// its place.
    fn remove_entry(&mut self, owner: Ix, side: Side, position: u32) {
        let directed = self.directed;
        let Some(list) = self.list_mut(owner, side) else {
            return;
        };
        let at = position as usize;
        if at >= list.len() {
            return;
        }
        list.swap_remove(at);
        // Halving once a quarter full keeps removals amortized O(1) and memory proportional.
        if list.len() < list.capacity() / 4 {
            list.shrink_to(list.capacity() / 2);
        }
        let Some(moved) = list.get(at).copied() else {
            return;
        };
        let other = moved.node;
        // Which endpoint of the moved edge `owner` is decides which position to repair.
        let (key, owner_is_source) = match side {
            Side::Source if directed => ((owner, other), true),
            Side::Target if directed => ((other, owner), false),
            _ => (self.edge_key(owner, other), owner <= other),
        };
        if let Some(entry) = self.edges.get_mut(&key) {
            if !directed && owner == other {
                entry.at_source = position;
                entry.at_target = position;
            } else if owner_is_source {
                entry.at_source = position;
            } else {
                entry.at_target = position;
            }
        }
    }
}

// ---- keyspace operations behind the GRAPH commands ----
//
// A missing key reads as an empty graph: queries naming a node report it missing, listings
// are empty. Writes other than GRAPH.CREATE create a directed graph on first use; a graph
// left without nodes stays (it carries its directedness) until DEL.

/// The error text of a refused graph operation (the reply adds `ERR `). Node names are cut at
/// 128 bytes, as Redis cuts names it quotes in errors.
fn graph_error(error: GraphError) -> StoreError {
    fn shown(name: &[u8]) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&name[..name.len().min(128)])
    }
    StoreError::Invalid(match error {
        GraphError::NoSuchNode(name) => format!("no such node '{}'", shown(&name)),
        GraphError::Cycle(nodes) => {
            let mut text = String::from("graph contains a cycle:");
            for name in nodes.iter().chain(nodes.first()) {
                if text.ends_with(':') {
                    text.push(' ');
                } else {
                    text.push_str(" -> ");
                }
                text.push_str(&shown(name));
            }
            text
        }
        other => other.to_string(),
    })
}

impl DbMut<'_> {
    /// Applies a change to the graph at `key`, creating a directed graph when the key is
    /// missing. The new graph is stored only if the change succeeded, so a refused first write
    /// leaves no key behind. `changed` tells from the result whether to record a write.
    fn graph_write<T>(
        &mut self,
        key: &[u8],
        change: impl FnOnce(&mut GraphValue) -> Result<T, GraphError>,
        changed: impl Fn(&T) -> bool,
    ) -> StoreResult<T> {
        match self.write_typed(key, Value::as_graph_mut)? {
            Some(graph) => {
                let result = change(graph).map_err(graph_error)?;
                if changed(&result) {
                    self.after_write(key);
                }
                Ok(result)
            }
            None => {
                let mut graph = GraphValue::default();
                let result = change(&mut graph).map_err(graph_error)?;
                self.insert(key, Value::Graph(Box::new(graph)), None);
                Ok(result)
            }
        }
    }

    /// The graph at `key` for reading, `None` when missing. O(1).
    fn graph_read(&mut self, key: &[u8]) -> StoreResult<Option<&GraphValue>> {
        self.read_typed(key, Value::as_graph)
    }

    /// The graph at `key`, or the error naming `node` (missing from a missing graph). O(1).
    fn graph_with_node(&mut self, key: &[u8], node: &[u8]) -> StoreResult<&GraphValue> {
        self.graph_read(key)?
            .ok_or_else(|| graph_error(GraphError::NoSuchNode(node.to_vec())))
    }

    /// GRAPH.CREATE: stores an empty graph at `key`; false (nothing changes) if the key exists,
    /// whatever its type. O(1).
    pub fn graph_create(&mut self, key: &[u8], directed: bool) -> StoreResult<bool> {
        if self.exists(key) {
            return Ok(false);
        }
        self.insert(key, Value::Graph(Box::new(GraphValue::new(directed))), None);
        Ok(true)
    }

    /// GRAPH.ADDNODE: adds the nodes not present yet; returns how many were added.
    /// O(names) amortized.
    pub fn graph_add_nodes(&mut self, key: &[u8], names: &[&[u8]]) -> StoreResult<usize> {
        self.graph_write(
            key,
            |graph| {
                let mut added = 0;
                for name in names {
                    added += usize::from(graph.add_node(name)?);
                }
                Ok(added)
            },
            |&added| added > 0,
        )
    }

    /// GRAPH.DELNODE: removes the nodes present and every edge touching them; returns how
    /// many nodes were removed. O(sum of their degrees) amortized.
    pub fn graph_del_nodes(&mut self, key: &[u8], names: &[&[u8]]) -> StoreResult<usize> {
        self.remove_each(key, Value::as_graph_mut, names, GraphValue::del_node)
    }

    /// GRAPH.ADDEDGE: adds the edge (creating missing nodes, and the graph) or updates its
    /// weight; true if the edge is new. A weight Dijkstra cannot use is refused before
    /// anything changes. O(1) amortized.
    pub fn graph_add_edge(
        &mut self,
        key: &[u8],
        from: &[u8],
        to: &[u8],
        weight: f64,
    ) -> StoreResult<bool> {
        self.graph_write(key, |graph| graph.add_edge(from, to, weight), |_| true)
    }

    /// GRAPH.DELEDGE: removes the edge; false if it did not exist. Nodes stay. O(1) expected.
    pub fn graph_del_edge(&mut self, key: &[u8], from: &[u8], to: &[u8]) -> StoreResult<bool> {
        let Some(graph) = self.write_typed(key, Value::as_graph_mut)? else {
            return Ok(false);
        };
        let removed = graph.del_edge(from, to);
        if removed {
            self.after_write(key);
        }
        Ok(removed)
    }

    /// GRAPH.HASEDGE: whether the edge exists. O(1) expected.
    pub fn graph_has_edge(&mut self, key: &[u8], from: &[u8], to: &[u8]) -> StoreResult<bool> {
        Ok(self
            .graph_read(key)?
            .is_some_and(|graph| graph.has_edge(from, to)))
    }

    /// GRAPH.NEIGHBORS: see [`GraphValue::neighbors`]. O(d log d).
    pub fn graph_neighbors(
        &mut self,
        key: &[u8],
        node: &[u8],
        direction: Direction,
    ) -> StoreResult<Vec<(&[u8], f64)>> {
        self.graph_with_node(key, node)?
            .neighbors(node, direction)
            .map_err(graph_error)
    }

    /// GRAPH.DEGREE: see [`GraphValue::degree`]. O(1).
    pub fn graph_degree(
        &mut self,
        key: &[u8],
        node: &[u8],
        direction: Direction,
    ) -> StoreResult<usize> {
        self.graph_with_node(key, node)?
            .degree(node, direction)
            .map_err(graph_error)
    }

    /// GRAPH.NODES: every node name, sorted. O(V log V).
    pub fn graph_nodes(&mut self, key: &[u8]) -> StoreResult<Vec<&[u8]>> {
        Ok(self
            .graph_read(key)?
            .map(GraphValue::nodes)
            .unwrap_or_default())
    }

    /// GRAPH.EDGES: every edge, sorted (see [`GraphValue::edges`]). O(E log E).
    pub fn graph_edges(&mut self, key: &[u8]) -> StoreResult<Vec<Edge<'_>>> {
        Ok(self
            .graph_read(key)?
            .map(GraphValue::edges)
            .unwrap_or_default())
    }

    /// GRAPH.BFS: see [`GraphValue::bfs`]. O(V + E log d).
    pub fn graph_bfs(
        &mut self,
        key: &[u8],
        start: &[u8],
        max_depth: Option<usize>,
    ) -> StoreResult<Vec<(&[u8], usize)>> {
        self.graph_with_node(key, start)?
            .bfs(start, max_depth)
            .map_err(graph_error)
    }

    /// GRAPH.DFS: see [`GraphValue::dfs`]. O(V + E log d).
    pub fn graph_dfs(&mut self, key: &[u8], start: &[u8]) -> StoreResult<Vec<&[u8]>> {
        self.graph_with_node(key, start)?
            .dfs(start)
            .map_err(graph_error)
    }

    /// GRAPH.SHORTESTPATH: see [`GraphValue::shortest_path`]; `None` when unreachable.
    /// O((V + E) log V).
    pub fn graph_shortest_path(
        &mut self,
        key: &[u8],
        from: &[u8],
        to: &[u8],
    ) -> StoreResult<Option<Path<'_>>> {
        self.graph_with_node(key, from)?
            .shortest_path(from, to)
            .map_err(graph_error)
    }

    /// GRAPH.COMPONENTS: see [`GraphValue::components`]. O(V log V + E).
    pub fn graph_components(&mut self, key: &[u8]) -> StoreResult<Vec<Vec<&[u8]>>> {
        Ok(self
            .graph_read(key)?
            .map(GraphValue::components)
            .unwrap_or_default())
    }

    /// GRAPH.TOPOSORT: see [`GraphValue::toposort`]; a missing key sorts as an empty directed
    /// graph. O((V + E) log V).
    pub fn graph_toposort(&mut self, key: &[u8]) -> StoreResult<Vec<&[u8]>> {
        match self.graph_read(key)? {
            Some(graph) => graph.toposort().map_err(graph_error),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::search::Search;
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Reverse;
    use std::collections::{BTreeMap, BTreeSet};
    use std::collections::{BinaryHeap, VecDeque};

    /// Checks the structural invariants stated on `GraphValue`.
    pub(super) fn check_invariants(g: &GraphValue) {
        let live: Vec<Ix> = g.live_indices().collect();
        assert_eq!(live.len(), g.names.len());
        assert_eq!(live.len() + g.free.len(), g.nodes.len());
        for &i in &g.free {
            assert!(g.node(i).is_none());
        }
        for &i in &live {
            assert_eq!(g.index_of(g.name(i)), Some(i));
            if !g.directed {
                assert!(g.in_list(i).is_empty());
            }
        }
        for (&(s, t), pos) in &g.edges {
            if !g.directed {
                assert!(s <= t);
            }
            let a = g.out_list(s)[pos.at_source as usize];
            assert_eq!(a.node, t);
            let b = if g.directed {
                g.in_list(t)[pos.at_target as usize]
            } else {
                g.out_list(t)[pos.at_target as usize]
            };
            assert_eq!(b.node, s);
            assert_eq!({ a.weight }, { b.weight });
        }
        let entries: usize = live
            .iter()
            .map(|&i| g.out_list(i).len() + g.in_list(i).len())
            .sum();
        let zero = g
            .edges
            .iter()
            .filter(|&(&key, &pos)| g.weight_at(key, pos) == Some(0.0))
            .count();
        assert_eq!(zero, g.zero_weight_edges);
        for (&key, &pos) in &g.edges {
            let weight = g.weight_at(key, pos).unwrap();
            assert!(weight == 0.0 || weight >= g.smallest_weight);
        }
        let self_loops = g.edges.keys().filter(|(s, t)| s == t).count();
        let expected = if g.directed {
            2 * g.edges.len()
        } else {
            2 * g.edges.len() - self_loops
        };
        assert_eq!(entries, expected);
    }

    /// A graph with these edges (and their end nodes).
    pub(super) fn graph_of(directed: bool, edges: &[(&str, &str, f64)]) -> GraphValue {
        let mut g = GraphValue::new(directed);
        for (from, to, weight) in edges {
            let added = g.add_edge(from.as_bytes(), to.as_bytes(), *weight);
            assert!(added.is_ok(), "{from} -> {to}: {added:?}");
        }
        g
    }

    pub(super) fn undirected_triangle() -> GraphValue {
        graph_of(false, &[("a", "b", 1.0), ("b", "c", 2.0), ("c", "a", 3.0)])
    }

    #[test]
    fn add_node_reports_new() {
        let mut g = GraphValue::new(true);
        assert_eq!(g.add_node(b"x"), Ok(true));
        assert_eq!(g.add_node(b"x"), Ok(false));
        assert_eq!(g.add_node(b""), Ok(true));
        assert_eq!(g.node_count(), 2);
        assert!(g.contains_node(b""));
        assert!(!g.contains_node(b"y"));
    }

    #[test]
    fn del_node_removes_its_edges_and_keeps_others() {
        let mut g = graph_of(
            true,
            &[
                ("a", "b", 1.0),
                ("b", "c", 2.0),
                ("c", "b", 3.0),
                ("b", "b", 4.0),
                ("a", "c", 5.0),
            ],
        );
        assert!(g.del_node(b"b"));
        assert!(!g.del_node(b"b"));
        check_invariants(&g);
        assert_eq!(g.node_count(), 2);
        assert_eq!(g.edge_count(), 1);
        assert_eq!(g.edge_weight(b"a", b"c"), Some(5.0));
        // The freed slot is reused without disturbing the surviving nodes.
        g.add_edge(b"d", b"a", 6.0).unwrap();
        check_invariants(&g);
        assert_eq!(g.nodes(), vec![&b"a"[..], b"c", b"d"]);
        assert_eq!(g.edge_weight(b"d", b"a"), Some(6.0));
        assert_eq!(g.edge_weight(b"a", b"c"), Some(5.0));
    }

    #[test]
    fn add_edge_creates_nodes_and_updates_weight() {
        let mut g = GraphValue::new(true);
        assert_eq!(g.add_edge(b"a", b"b", DEFAULT_WEIGHT), Ok(true));
        assert_eq!(g.node_count(), 2);
        assert_eq!(g.add_edge(b"a", b"b", 7.5), Ok(false));
        assert_eq!(g.edge_count(), 1);
        assert_eq!(g.edge_weight(b"a", b"b"), Some(7.5));
        assert_eq!(
            g.neighbors(b"b", Direction::In).unwrap(),
            vec![(&b"a"[..], 7.5)]
        );
        assert_eq!(g.edge_weight(b"b", b"a"), None);
        check_invariants(&g);
    }

    #[test]
    fn bad_weights_are_refused_without_changes() {
        let mut g = GraphValue::new(false);
        assert_eq!(
            g.add_edge(b"a", b"b", -1.0),
            Err(GraphError::NegativeWeight)
        );
        assert_eq!(
            g.add_edge(b"a", b"b", f64::NAN),
            Err(GraphError::NonFiniteWeight)
        );
        assert_eq!(
            g.add_edge(b"a", b"b", f64::INFINITY),
            Err(GraphError::NonFiniteWeight)
        );
        assert_eq!(
            g.add_edge(b"a", b"b", f64::NEG_INFINITY),
            Err(GraphError::NonFiniteWeight)
        );
        assert_eq!(g.node_count(), 0);
        g.add_edge(b"a", b"b", 2.0).unwrap();
        assert_eq!(
            g.add_edge(b"a", b"b", -0.5),
            Err(GraphError::NegativeWeight)
        );
        assert_eq!(g.edge_weight(b"a", b"b"), Some(2.0));
        g.add_edge(b"a", b"b", -0.0).unwrap();
        let weight = g.edge_weight(b"a", b"b").unwrap();
        assert!(weight == 0.0 && weight.is_sign_positive());
    }

    #[test]
    fn undirected_edges_are_symmetric() {
        let mut g = undirected_triangle();
        assert!(g.has_edge(b"b", b"a") && g.has_edge(b"a", b"b"));
        assert_eq!(g.edge_weight(b"a", b"c"), Some(3.0));
        assert_eq!(g.add_edge(b"b", b"a", 9.0), Ok(false));
        assert_eq!(g.edge_weight(b"a", b"b"), Some(9.0));
        assert!(g.del_edge(b"b", b"a"));
        assert!(!g.has_edge(b"a", b"b"));
        assert!(!g.del_edge(b"a", b"b"));
        assert!(!g.del_edge(b"a", b"zz"));
        assert_eq!(g.edge_count(), 2);
        check_invariants(&g);
    }

    #[test]
    fn directed_edges_have_a_direction() {
        let mut g = GraphValue::new(true);
        g.add_edge(b"a", b"b", 1.0).unwrap();
        assert!(g.has_edge(b"a", b"b"));
        assert!(!g.has_edge(b"b", b"a"));
        assert!(!g.del_edge(b"b", b"a"));
        assert_eq!(g.add_edge(b"b", b"a", 2.0), Ok(true));
        assert_eq!(g.edge_count(), 2);
        assert!(g.del_edge(b"a", b"b"));
        assert_eq!(g.edge_weight(b"b", b"a"), Some(2.0));
        check_invariants(&g);
    }

    #[test]
    fn neighbors_and_degree_directed() {
        let g = graph_of(
            true,
            &[
                ("x", "c", 1.0),
                ("x", "a", 2.0),
                ("a", "x", 3.0),
                ("b", "x", 4.0),
                ("x", "x", 5.0),
            ],
        );
        let out = g.neighbors(b"x", Direction::Out).unwrap();
        assert_eq!(out, vec![(&b"a"[..], 2.0), (b"c", 1.0), (b"x", 5.0)]);
        let inc = g.neighbors(b"x", Direction::In).unwrap();
        assert_eq!(inc, vec![(&b"a"[..], 3.0), (b"b", 4.0), (b"x", 5.0)]);
        let both = g.neighbors(b"x", Direction::Both).unwrap();
        assert_eq!(
            both,
            vec![
                (&b"a"[..], 2.0),
                (b"a", 3.0),
                (b"b", 4.0),
                (b"c", 1.0),
                (b"x", 5.0),
                (b"x", 5.0)
            ]
        );
        assert_eq!(g.degree(b"x", Direction::Out), Ok(3));
        assert_eq!(g.degree(b"x", Direction::In), Ok(3));
        assert_eq!(g.degree(b"x", Direction::Both), Ok(6));
        assert_eq!(
            g.degree(b"nope", Direction::Out),
            Err(GraphError::NoSuchNode(b"nope".to_vec()))
        );
        assert!(g.neighbors(b"nope", Direction::In).is_err());
    }

    #[test]
    fn neighbors_and_degree_undirected() {
        let mut g = undirected_triangle();
        g.add_edge(b"a", b"a", 0.5).unwrap();
        for direction in [Direction::Out, Direction::In, Direction::Both] {
            assert_eq!(
                g.neighbors(b"a", direction).unwrap(),
                vec![(&b"a"[..], 0.5), (b"b", 1.0), (b"c", 3.0)]
            );
            assert_eq!(g.degree(b"a", direction), Ok(3));
            assert_eq!(g.degree(b"b", direction), Ok(2));
        }
        assert_eq!(g.edge_count(), 4);
        check_invariants(&g);
    }

    #[test]
    fn nodes_and_edges_are_sorted() {
        let mut g = undirected_triangle();
        g.add_node(b"0").unwrap();
        assert_eq!(g.nodes(), vec![&b"0"[..], b"a", b"b", b"c"]);
        assert_eq!(
            g.edges(),
            vec![
                (&b"a"[..], &b"b"[..], 1.0),
                (b"a", b"c", 3.0),
                (b"b", b"c", 2.0)
            ]
        );
        assert_eq!(g.iter_edges().count(), 3);
        assert_eq!(g.iter_nodes().count(), 4);
        let mut d = GraphValue::new(true);
        d.add_edge(b"b", b"a", 1.0).unwrap();
        d.add_edge(b"a", b"b", 2.0).unwrap();
        assert_eq!(
            d.edges(),
            vec![(&b"a"[..], &b"b"[..], 2.0), (b"b", b"a", 1.0)]
        );
    }

    #[test]
    fn binary_names() {
        let mut g = GraphValue::new(true);
        g.add_edge(b"\x00\xff", b"\xff", 1.0).unwrap();
        g.add_edge(b"\xff", b"", 1.0).unwrap();
        assert_eq!(g.nodes(), vec![&b""[..], b"\x00\xff", b"\xff"]);
        let path = g.shortest_path(b"\x00\xff", b"").unwrap().unwrap();
        assert_eq!(path, (vec![&b"\x00\xff"[..], b"\xff", b""], 2.0));
    }

    #[test]
    fn from_parts_round_trip() {
        let mut g = graph_of(false, &[("a", "b", 2.0), ("c", "b", 3.0)]);
        g.add_node(b"solo").unwrap();
        let nodes: Vec<Vec<u8>> = g.iter_nodes().map(<[u8]>::to_vec).collect();
        let edges: Vec<(Vec<u8>, Vec<u8>, f64)> = g
            .iter_edges()
            .map(|(a, b, w)| (a.to_vec(), b.to_vec(), w))
            .collect();
        let copy =
            GraphValue::from_parts(false, nodes.iter().rev(), edges.into_iter().rev()).unwrap();
        assert!(!copy.is_directed());
        assert_eq!(copy.nodes(), g.nodes());
        assert_eq!(copy.edges(), g.edges());
        assert_eq!(copy, g);
        let mut changed = copy.clone();
        changed.add_edge(b"b", b"a", 2.5).unwrap();
        assert_ne!(changed, g);
        let mut directed = GraphValue::new(true);
        directed.add_edge(b"a", b"b", 2.0).unwrap();
        directed.add_edge(b"c", b"b", 3.0).unwrap();
        directed.add_node(b"solo").unwrap();
        assert_ne!(directed, g);
        assert!(GraphValue::new(true).is_empty() && !g.is_empty());
        assert_eq!(
            GraphValue::from_parts(true, [b"a"], [(b"a", b"b", -1.0)]).err(),
            Some(GraphError::NegativeWeight)
        );
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            GraphError::NoSuchNode(b"x".to_vec()).to_string(),
            "no such node 'x'"
        );
        assert_eq!(
            GraphError::NegativeWeight.to_string(),
            "edge weight must not be negative"
        );
        assert_eq!(
            GraphError::Cycle(vec![]).to_string(),
            "graph contains a cycle"
        );
    }

    #[test]
    fn memory_usage_grows_with_content() {
        let mut g = GraphValue::new(true);
        let empty = g.memory_usage();
        g.add_edge(b"a", b"b", 1.0).unwrap();
        assert!(g.memory_usage() > empty);
    }

    // ---- randomized comparison with a plain model ----

    const NAMES: [&[u8]; 7] = [b"", b"\x00", b"\xff", b"a", b"b", b"ab", b"B"];

    #[derive(Debug, Clone)]
    enum Op {
        AddNode(usize),
        DelNode(usize),
        AddEdge(usize, usize, u8),
        DelEdge(usize, usize),
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        let n = NAMES.len();
        prop_oneof![
            1 => (0..n).prop_map(Op::AddNode),
            1 => (0..n).prop_map(Op::DelNode),
            5 => (0..n, 0..n, 0u8..5).prop_map(|(a, b, w)| Op::AddEdge(a, b, w)),
            2 => (0..n, 0..n).prop_map(|(a, b)| Op::DelEdge(a, b)),
        ]
    }

    type ModelKey = (Vec<u8>, Vec<u8>);

    /// Nodes and edges in ordered maps; undirected edges keyed with the smaller name first.
    struct Model {
        directed: bool,
        nodes: BTreeSet<Vec<u8>>,
        edges: BTreeMap<ModelKey, f64>,
    }

    impl Model {
        fn key(&self, a: &[u8], b: &[u8]) -> ModelKey {
            if self.directed || a <= b {
                (a.to_vec(), b.to_vec())
            } else {
                (b.to_vec(), a.to_vec())
            }
        }

        fn apply(&mut self, op: &Op) {
            match *op {
                Op::AddNode(a) => {
                    self.nodes.insert(NAMES[a].to_vec());
                }
                Op::DelNode(a) => {
                    self.nodes.remove(NAMES[a]);
                    self.edges
                        .retain(|(x, y), _| x != NAMES[a] && y != NAMES[a]);
                }
                Op::AddEdge(a, b, w) => {
                    self.nodes.insert(NAMES[a].to_vec());
                    self.nodes.insert(NAMES[b].to_vec());
                    let key = self.key(NAMES[a], NAMES[b]);
                    self.edges.insert(key, f64::from(w));
                }
                Op::DelEdge(a, b) => {
                    let key = self.key(NAMES[a], NAMES[b]);
                    self.edges.remove(&key);
                }
            }
        }

        /// `(neighbour, weight)` along outgoing edges (any edge when undirected), by name.
        fn successors(&self, a: &[u8]) -> Vec<(Vec<u8>, f64)> {
            let mut found = Vec::new();
            for ((x, y), &w) in &self.edges {
                if x == a {
                    found.push((y.clone(), w));
                } else if !self.directed && y == a {
                    found.push((x.clone(), w));
                }
            }
            found.sort_by(|p, q| p.0.cmp(&q.0));
            found
        }

        fn predecessors(&self, a: &[u8]) -> Vec<(Vec<u8>, f64)> {
            let mut found: Vec<(Vec<u8>, f64)> = self
                .edges
                .iter()
                .filter(|((_, y), _)| y == a)
                .map(|((x, _), &w)| (x.clone(), w))
                .collect();
            found.sort_by(|p, q| p.0.cmp(&q.0));
            found
        }

        fn bfs(&self, start: &[u8]) -> Vec<(Vec<u8>, usize)> {
            let mut seen = BTreeSet::from([start.to_vec()]);
            let mut queue = VecDeque::from([(start.to_vec(), 0)]);
            let mut order = Vec::new();
            while let Some((a, d)) = queue.pop_front() {
                for (b, _) in self.successors(&a) {
                    if seen.insert(b.clone()) {
                        queue.push_back((b, d + 1));
                    }
                }
                order.push((a, d));
            }
            order
        }

        fn dfs(&self, a: &[u8], seen: &mut BTreeSet<Vec<u8>>, order: &mut Vec<Vec<u8>>) {
            if !seen.insert(a.to_vec()) {
                return;
            }
            order.push(a.to_vec());
            for (b, _) in self.successors(a) {
                self.dfs(&b, seen, order);
            }
        }

        /// All-pairs cheapest costs (Floyd-Warshall); integer weights keep sums exact.
        fn costs(&self) -> BTreeMap<ModelKey, f64> {
            let names: Vec<&Vec<u8>> = self.nodes.iter().collect();
            let mut dist = BTreeMap::new();
            for a in &names {
                dist.insert(((*a).clone(), (*a).clone()), 0.0);
                for (b, w) in self.successors(a) {
                    let entry = dist.entry(((*a).clone(), b)).or_insert(f64::INFINITY);
                    *entry = f64::min(*entry, w);
                }
            }
            for k in &names {
                for i in &names {
                    for j in &names {
                        let via = dist.get(&((*i).clone(), (*k).clone())).copied();
                        let rest = dist.get(&((*k).clone(), (*j).clone())).copied();
                        if let (Some(x), Some(y)) = (via, rest) {
                            let entry = dist
                                .entry(((*i).clone(), (*j).clone()))
                                .or_insert(f64::INFINITY);
                            *entry = f64::min(*entry, x + y);
                        }
                    }
                }
            }
            dist
        }
    }

    fn owned(list: &[(&[u8], f64)]) -> Vec<(Vec<u8>, f64)> {
        list.iter().map(|&(n, w)| (n.to_vec(), w)).collect()
    }

    fn compare_structure(g: &GraphValue, m: &Model) {
        check_invariants(g);
        assert_eq!(g.node_count(), m.nodes.len());
        assert_eq!(g.edge_count(), m.edges.len());
        let nodes: Vec<Vec<u8>> = g.nodes().into_iter().map(<[u8]>::to_vec).collect();
        assert_eq!(nodes, m.nodes.iter().cloned().collect::<Vec<_>>());
        let edges: Vec<(ModelKey, f64)> = g
            .edges()
            .into_iter()
            .map(|(a, b, w)| ((a.to_vec(), b.to_vec()), w))
            .collect();
        assert_eq!(edges, m.edges.clone().into_iter().collect::<Vec<_>>());
        for a in NAMES {
            for b in NAMES {
                let weight = m.edges.get(&m.key(a, b)).copied();
                assert_eq!(g.edge_weight(a, b), weight);
                assert_eq!(g.has_edge(a, b), weight.is_some());
                if !m.directed {
                    assert_eq!(g.edge_weight(b, a), g.edge_weight(a, b));
                }
            }
            if !m.nodes.contains(a) {
                assert!(g.neighbors(a, Direction::Out).is_err());
                continue;
            }
            let out = owned(&g.neighbors(a, Direction::Out).unwrap());
            let inc = owned(&g.neighbors(a, Direction::In).unwrap());
            let both = owned(&g.neighbors(a, Direction::Both).unwrap());
            assert_eq!(out, m.successors(a));
            if m.directed {
                assert_eq!(inc, m.predecessors(a));
                let mut merged = out.clone();
                merged.extend(inc.iter().cloned());
                merged.sort_by(|p, q| p.0.cmp(&q.0));
                assert_eq!(both, merged);
                // b in out(a) iff a in in(b).
                for (b, w) in &out {
                    let back = owned(&g.neighbors(b, Direction::In).unwrap());
                    assert!(back.contains(&(a.to_vec(), *w)));
                }
            } else {
                assert_eq!(inc, out);
                assert_eq!(both, out);
            }
            for (direction, list) in [
                (Direction::Out, &out),
                (Direction::In, &inc),
                (Direction::Both, &both),
            ] {
                assert_eq!(g.degree(a, direction), Ok(list.len()));
            }
        }
    }

    fn compare_algorithms(g: &GraphValue, m: &Model) {
        let costs = m.costs();
        for a in &m.nodes {
            let bfs: Vec<(Vec<u8>, usize)> = g
                .bfs(a, None)
                .unwrap()
                .into_iter()
                .map(|(n, d)| (n.to_vec(), d))
                .collect();
            assert_eq!(bfs, m.bfs(a));
            let limited = g.bfs(a, Some(1)).unwrap();
            assert_eq!(limited.len(), bfs.iter().filter(|(_, d)| *d <= 1).count());
            let mut order = Vec::new();
            m.dfs(a, &mut BTreeSet::new(), &mut order);
            let dfs: Vec<Vec<u8>> = g.dfs(a).unwrap().into_iter().map(<[u8]>::to_vec).collect();
            assert_eq!(dfs, order);
            for b in &m.nodes {
                let expected = costs.get(&(a.clone(), b.clone())).copied();
                match g.shortest_path(a, b).unwrap() {
                    None => assert_eq!(expected, None),
                    Some((path, cost)) => {
                        assert_eq!(Some(cost), expected);
                        assert_eq!(path.first().copied(), Some(&a[..]));
                        assert_eq!(path.last().copied(), Some(&b[..]));
                        let mut sum = 0.0;
                        for pair in path.windows(2) {
                            sum += g.edge_weight(pair[0], pair[1]).unwrap();
                        }
                        assert_eq!(sum, cost);
                    }
                }
                // The fast search, when it answers, must agree with the tie rule's definition.
                let (x, y) = (g.index_of(a).unwrap(), g.index_of(b).unwrap());
                if x != y {
                    if let Search::Done(fast) = g.dijkstra_by_cost(x, y) {
                        assert_eq!(fast, g.dijkstra_by_name(x, y));
                    }
                }
            }
        }
        // Components: two names share one iff connected ignoring direction.
        let components = g.components();
        let smallest: Vec<&[u8]> = components.iter().map(|c| c[0]).collect();
        assert!(smallest.windows(2).all(|w| w[0] < w[1]));
        let mut component_of = BTreeMap::new();
        for (i, c) in components.iter().enumerate() {
            assert!(c.windows(2).all(|w| w[0] < w[1]));
            for n in c {
                assert!(component_of.insert(n.to_vec(), i).is_none());
            }
        }
        assert_eq!(component_of.len(), m.nodes.len());
        for (x, y) in m.edges.keys() {
            assert_eq!(component_of[x], component_of[y]);
        }
        for c in &components {
            // Each component is connected: a weak BFS from its first member reaches all of it.
            let mut reach = BTreeSet::from([c[0].to_vec()]);
            let mut queue = vec![c[0].to_vec()];
            while let Some(x) = queue.pop() {
                for (y, _) in m.successors(&x).into_iter().chain(m.predecessors(&x)) {
                    if reach.insert(y.clone()) {
                        queue.push(y);
                    }
                }
            }
            assert_eq!(reach.len(), c.len());
        }
        match g.toposort() {
            Err(GraphError::NotDirected) => assert!(!m.directed),
            Ok(order) => {
                assert!(m.directed);
                assert_eq!(order.len(), m.nodes.len());
                let rank: BTreeMap<&[u8], usize> =
                    order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
                for (x, y) in m.edges.keys() {
                    assert!(rank[&x[..]] < rank[&y[..]]);
                }
            }
            Err(GraphError::Cycle(cycle)) => {
                assert!(m.directed && !cycle.is_empty());
                let distinct: BTreeSet<&Vec<u8>> = cycle.iter().collect();
                assert_eq!(distinct.len(), cycle.len());
                assert_eq!(distinct.first(), cycle.first().as_ref());
                for i in 0..cycle.len() {
                    let next = &cycle[(i + 1) % cycle.len()];
                    assert!(m.edges.contains_key(&(cycle[i].clone(), next.clone())));
                }
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    /// Everything a reply could show, to compare graphs built in different orders.
    fn answers(g: &GraphValue) -> String {
        let mut out = format!("{:?}{:?}{:?}", g.nodes(), g.edges(), g.components());
        out += &format!("{:?}", g.toposort());
        for a in g.nodes() {
            out += &format!("{:?}{:?}", g.bfs(a, None), g.dfs(a));
            for d in [Direction::Out, Direction::In, Direction::Both] {
                out += &format!("{:?}", g.neighbors(a, d));
            }
            for b in g.nodes() {
                out += &format!("{:?}", g.shortest_path(a, b));
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_operations_match_model(
            directed in any::<bool>(),
            ops in proptest::collection::vec(op_strategy(), 1..60),
        ) {
            let mut g = GraphValue::new(directed);
            let mut m = Model { directed, nodes: BTreeSet::new(), edges: BTreeMap::new() };
            for op in &ops {
                let expected_new = match *op {
                    Op::AddNode(a) => !m.nodes.contains(NAMES[a]),
                    Op::DelNode(a) => m.nodes.contains(NAMES[a]),
                    Op::AddEdge(a, b, _) | Op::DelEdge(a, b) => {
                        let present = m.edges.contains_key(&m.key(NAMES[a], NAMES[b]));
                        matches!(op, Op::AddEdge(..)) != present
                    }
                };
                let reported = match *op {
                    Op::AddNode(a) => g.add_node(NAMES[a]).unwrap(),
                    Op::DelNode(a) => g.del_node(NAMES[a]),
                    Op::AddEdge(a, b, w) => g.add_edge(NAMES[a], NAMES[b], f64::from(w)).unwrap(),
                    Op::DelEdge(a, b) => g.del_edge(NAMES[a], NAMES[b]),
                };
                prop_assert_eq!(reported, expected_new);
                m.apply(op);
                compare_structure(&g, &m);
            }
            compare_algorithms(&g, &m);
            // Reloading in another order must not change a single answer.
            let nodes: Vec<&[u8]> = g.iter_nodes().collect();
            let edges: Vec<(&[u8], &[u8], f64)> = g.iter_edges().collect();
            let reloaded = GraphValue::from_parts(
                directed,
                nodes.iter().rev(),
                edges.iter().rev().map(|&(a, b, w)| if directed { (a, b, w) } else { (b, a, w) }),
            ).unwrap();
            check_invariants(&reloaded);
            prop_assert!(reloaded == g);
            prop_assert_eq!(answers(&reloaded), answers(&g));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Small positive integer weights give many equal-cost paths but no flat edge: the fast
        /// search must always answer, and exactly as the name-ordered definition does.
        #[test]
        fn fast_search_matches_name_ordered_definition(
            directed in any::<bool>(),
            edges in proptest::collection::vec((0usize..10, 0usize..10, 1u8..3), 0..40),
        ) {
            let names: Vec<Vec<u8>> = (0..10).map(|i| vec![b'a' + (i * 7 % 10) as u8]).collect();
            let g = GraphValue::from_parts(
                directed,
                names.iter(),
                edges.iter().map(|&(a, b, w)| (&names[a], &names[b], f64::from(w))),
            ).unwrap();
            for x in g.live_indices() {
                for y in g.live_indices().filter(|&y| y != x) {
                    match g.dijkstra_by_cost(x, y) {
                        Search::Done(fast) => prop_assert_eq!(fast, g.dijkstra_by_name(x, y)),
                        Search::NeedsNameOrder => prop_assert!(false, "flat edge reported"),
                    }
                }
            }
        }
    }

    // ---- a large graph against a plain Dijkstra ----

    /// splitmix64: a fixed-seed generator so the large test is reproducible.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn reference_dijkstra(adjacency: &[Vec<(usize, f64)>], from: usize, to: usize) -> Option<f64> {
        let mut dist = vec![f64::INFINITY; adjacency.len()];
        let mut heap = BinaryHeap::new();
        dist[from] = 0.0;
        heap.push(Reverse((0u64, from)));
        // Non-negative f64 bit patterns order like the numbers.
        while let Some(Reverse((bits, u))) = heap.pop() {
            let d = f64::from_bits(bits);
            if d > dist[u] {
                continue;
            }
            if u == to {
                return Some(d);
            }
            for &(v, w) in &adjacency[u] {
                let nd = d + w;
                if nd < dist[v] {
                    dist[v] = nd;
                    heap.push(Reverse((nd.to_bits(), v)));
                }
            }
        }
        None
    }

    #[test]
    fn large_random_graph_shortest_paths() {
        // Debug builds are ~20x slower; a smaller graph keeps them at a few seconds.
        let (node_total, edge_total) = if cfg!(debug_assertions) {
            (20_000, 200_000)
        } else {
            (100_000, 1_000_000)
        };
        let started = std::time::Instant::now();
        let mut rng = Rng(0x5eed);
        let names: Vec<Vec<u8>> = (0..node_total)
            .map(|i| format!("n{i}").into_bytes())
            .collect();
        let mut g = GraphValue::new(true);
        let mut weights = std::collections::HashMap::new();
        for _ in 0..edge_total {
            let (a, b) = (rng.below(node_total), rng.below(node_total));
            let w = (rng.below(10_000) as f64) / 100.0 + 0.5;
            g.add_edge(&names[a], &names[b], w).unwrap();
            weights.insert((a, b), w);
        }
        let mut adjacency = vec![Vec::new(); node_total];
        for (&(a, b), &w) in &weights {
            adjacency[a].push((b, w));
        }
        assert_eq!(g.edge_count(), weights.len());
        let built = started.elapsed();
        let queries = 10;
        let mut ours = std::time::Duration::ZERO;
        let mut found = 0;
        for _ in 0..queries {
            let (a, b) = (rng.below(node_total), rng.below(node_total));
            let t = std::time::Instant::now();
            let result = g.shortest_path(&names[a], &names[b]).unwrap();
            ours += t.elapsed();
            let expected = reference_dijkstra(&adjacency, a, b);
            assert_eq!(result.as_ref().map(|r| r.1), expected);
            if let Some((path, cost)) = result {
                found += 1;
                let mut sum = 0.0;
                for pair in path.windows(2) {
                    sum += g.edge_weight(pair[0], pair[1]).unwrap();
                }
                assert_eq!(sum, cost);
            }
        }
        eprintln!(
            "large graph: {node_total} nodes, {} edges, built in {built:?}; \
             {queries} shortest paths ({found} reachable): {:?} per query; total {:?}",
            g.edge_count(),
            ours / queries,
            started.elapsed()
        );
    }
}
