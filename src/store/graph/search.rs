//! The searches over a GRAPH value: breadth- and depth-first walks, shortest paths
//! (Dijkstra), weakly connected components and topological order. Like every listing of the
//! type, each visits neighbours and breaks ties by node name, so a graph reloaded in another
//! insertion order answers identically.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use super::*;

/// Dijkstra's per-node label: cost so far, predecessor (by-name search only), and whether the
/// cost is final.
#[derive(Clone, Copy)]
struct Label {
    cost: f64,
    parent: Ix,
    state: LabelState,
}

impl Label {
    const UNSEEN: Label = Label {
        cost: f64::INFINITY,
        parent: NONE,
        state: LabelState::Unseen,
    };
}

/// Outcome of the fast shortest-path search.
pub(super) enum Search<'a> {
    Done(Option<Path<'a>>),
    /// A flat edge was met: the order among equal costs matters, so names must order the heap.
    NeedsNameOrder,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LabelState {
    Unseen,
    Queued,
    Settled,
}

/// A Dijkstra heap entry, ordered so `BinaryHeap` pops the smallest `(cost, name)` first.
struct Candidate<'a> {
    cost: f64,
    name: &'a [u8],
    node: Ix,
}

impl Ord for Candidate<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .cost
            .total_cmp(&self.cost)
            .then_with(|| other.name.cmp(self.name))
    }
}

crate::store::order_by_cmp!(Candidate<'_>);

/// Marks `index` in `seen`; true if it was not marked before. An index out of range (impossible
/// while the invariants hold) counts as already seen, so traversals stay bounded.
fn mark(seen: &mut [bool], index: Ix) -> bool {
    match seen.get_mut(index as usize) {
        Some(flag) if !*flag => {
            *flag = true;
            true
        }
        _ => false,
    }
}

impl GraphValue {
    /// Breadth-first visit from `start` along outgoing edges (any edge when undirected), each
    /// node with its depth; nodes deeper than `max_depth` are not visited. A node's unvisited
    /// neighbours are enqueued in name order. O(V + E log d).
    pub fn bfs(
        &self,
        start: &[u8],
        max_depth: Option<usize>,
    ) -> Result<Vec<(&[u8], usize)>, GraphError> {
        let start = self.require(start)?;
        let mut seen = vec![false; self.nodes.len()];
        let mut queue = VecDeque::new();
        let mut order = Vec::new();
        let mut successors = Vec::new();
        mark(&mut seen, start);
        queue.push_back((start, 0usize));
        while let Some((node, depth)) = queue.pop_front() {
            order.push((self.name(node), depth));
            if max_depth.is_some_and(|limit| depth >= limit) {
                continue;
            }
            self.sorted_successors(node, &mut successors);
            for &next in &successors {
                if mark(&mut seen, next) {
                    queue.push_back((next, depth + 1));
                }
            }
        }
        Ok(order)
    }

    /// Depth-first pre-order from `start` along outgoing edges (any edge when undirected),
    /// descending into neighbours in name order: the order a recursive DFS would give, computed
    /// without recursion. O(V + E log d) time, O(E) stack.
    pub fn dfs(&self, start: &[u8]) -> Result<Vec<&[u8]>, GraphError> {
        let start = self.require(start)?;
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![start];
        let mut order = Vec::new();
        let mut successors = Vec::new();
        while let Some(node) = stack.pop() {
            if !mark(&mut seen, node) {
                continue;
            }
            order.push(self.name(node));
            self.sorted_successors(node, &mut successors);
            // Reversed so the smallest name is popped first.
            stack.extend(
                successors
                    .iter()
                    .rev()
                    .copied()
                    .filter(|&n| !seen.get(n as usize).copied().unwrap_or(true)),
            );
        }
        Ok(order)
    }

    /// The cheapest path `from -> to` (following edge direction when directed), or None if `to`
    /// is unreachable. A node's path to itself is `[node]` at cost 0. The cost is the weights
    /// summed from `from` onwards.
    ///
    /// Ties between equally cheap paths are broken by names, never by insertion order: it is
    /// Dijkstra settling nodes in `(cost, name)` order, where each node's predecessor is, among
    /// the nodes settled before it that reach it at its final cost, the one with the smallest
    /// name. Without zero-weight edges that is simply: walking back from `to`, always the
    /// smallest-named neighbour on some cheapest path.
    ///
    /// O((V + E) log V) time, O(V) extra memory; stops once `to` is settled. With zero-weight
    /// edges (or weights below 2^-52 of a path cost) a slower search that orders its heap by
    /// name as well is needed, as the order among equal costs can then change the answer.
    pub fn shortest_path(&self, from: &[u8], to: &[u8]) -> Result<Option<Path<'_>>, GraphError> {
        let source = self.require(from)?;
        let target = self.require(to)?;
        if source == target {
            return Ok(Some((vec![self.name(source)], 0.0)));
        }
        Ok(match self.dijkstra_by_cost(source, target) {
            Search::Done(found) => found,
            Search::NeedsNameOrder => self.dijkstra_by_name(source, target),
        })
    }

    /// Connected components (weakly connected when directed), each sorted by name, listed by
    /// their smallest name. O(V log V + E).
    pub fn components(&self) -> Vec<Vec<&[u8]>> {
        let mut starts: Vec<Ix> = self.live_indices().collect();
        starts.sort_unstable_by(|&a, &b| self.name(a).cmp(self.name(b)));
        let mut seen = vec![false; self.nodes.len()];
        let mut components = Vec::new();
        let mut queue = VecDeque::new();
        // Visiting starts in name order makes each start the smallest name of its component,
        // so components come out already ordered by their smallest name.
        for start in starts {
            if !mark(&mut seen, start) {
                continue;
            }
            let mut members = Vec::new();
            queue.push_back(start);
            while let Some(node) = queue.pop_front() {
                members.push(self.name(node));
                let (out, inc) = self.lists_for(node, Direction::Both);
                for adj in out.iter().chain(inc) {
                    if mark(&mut seen, adj.node) {
                        queue.push_back(adj.node);
                    }
                }
            }
            members.sort_unstable();
            components.push(members);
        }
        components
    }

    /// A topological order of a directed graph: Kahn's algorithm taking the smallest available
    /// name first, so the result is the lexicographically smallest valid order.
    ///
    /// On a cycle, returns `GraphError::Cycle` with one actual cycle (see there), found by
    /// walking from the smallest-named unsorted node to its smallest-named unsorted
    /// predecessor until a node repeats. An undirected graph gives `GraphError::NotDirected`.
    /// O((V + E) log V).
    pub fn toposort(&self) -> Result<Vec<&[u8]>, GraphError> {
        if !self.directed {
            return Err(GraphError::NotDirected);
        }
        let mut pending: Vec<usize> = self
            .nodes
            .iter()
            .map(|slot| slot.as_ref().map_or(0, |node| node.inc.len()))
            .collect();
        let mut ready: BinaryHeap<Reverse<(&[u8], Ix)>> = self
            .live_indices()
            .filter(|&i| pending.get(i as usize) == Some(&0))
            .map(|i| Reverse((self.name(i), i)))
            .collect();
        let mut order = Vec::with_capacity(self.node_count());
        while let Some(Reverse((name, node))) = ready.pop() {
            order.push(name);
            for adj in self.out_list(node) {
                if let Some(count) = pending.get_mut(adj.node as usize) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        ready.push(Reverse((self.name(adj.node), adj.node)));
                    }
                }
            }
        }
        if order.len() == self.node_count() {
            return Ok(order);
        }
        Err(GraphError::Cycle(self.find_cycle(&pending)))
    }

    /// Dijkstra ordered by cost alone: a heap of `(cost bits, index)` touches no names, which
    /// keeps the hot loop on dense arrays. The result equals the `(cost, name)` order of
    /// `dijkstra_by_name` unless a "flat" edge (`cost + w == cost`: a zero weight, or one too
    /// small to change a large cost) links two nodes at most as costly as `to`; only then can
    /// the order among equal-cost nodes pick a different predecessor, so the search gives up
    /// on meeting one. Otherwise every predecessor candidate is strictly cheaper, hence settled
    /// in both orders, and choosing by name while walking back reproduces that rule. When the
    /// graph's weights rule flat edges out below `to`'s cost, it stops as soon as `to` settles.
    pub(super) fn dijkstra_by_cost(&self, source: Ix, target: Ix) -> Search<'_> {
        // NaN marks "not reached": no real cost is NaN, and even an overflowed one (infinity)
        // stays distinguishable from it.
        let mut costs = vec![f64::NAN; self.nodes.len()];
        let mut settled = vec![false; self.nodes.len()];
        let mut heap = BinaryHeap::new();
        if let Some(cost) = costs.get_mut(source as usize) {
            *cost = 0.0;
        }
        // Costs are never negative or NaN, and such f64 bit patterns order like the numbers.
        heap.push(Reverse((0.0f64.to_bits(), source)));
        let mut target_cost = None;
        while let Some(Reverse((bits, node))) = heap.pop() {
            let cost = f64::from_bits(bits);
            // Nodes exactly as cheap as `to` are settled too when a flat edge is possible: one
            // of them could reach `to` (or a node on its path) through it.
            if target_cost.is_some_and(|limit| cost > limit) {
                break;
            }
            match settled.get_mut(node as usize) {
                Some(done) if !*done => *done = true,
                _ => continue,
            }
            if node == target {
                target_cost = Some(cost);
                if self.flat_edges_impossible_up_to(cost) {
                    break;
                }
            }
            for adj in self.out_list(node) {
                let next = adj.node;
                let next_cost = cost + adj.weight;
                if next_cost == cost && next != node {
                    return Search::NeedsNameOrder;
                }
                // A settled node's cost is never above `next_cost`, so it is never improved.
                if let Some(known) = costs.get_mut(next as usize) {
                    if known.is_nan() || next_cost < *known {
                        *known = next_cost;
                        heap.push(Reverse((next_cost.to_bits(), next)));
                    }
                }
            }
        }
        let Some(total) = target_cost else {
            return Search::Done(None);
        };
        let settled_cost = |index: Ix| {
            let i = index as usize;
            if settled.get(i) == Some(&true) {
                costs.get(i).copied()
            } else {
                None
            }
        };
        let mut at = target;
        let mut at_cost = total;
        let mut path = vec![self.name(target)];
        // Costs strictly fall along the walk (no flat edge was met), so it ends at `source`
        // within V steps; the length bound is only a guard.
        while at != source && path.len() <= costs.len() {
            let predecessor = self
                .entering(at)
                .iter()
                // A self-loop never lies on a cheapest path, even a zero-weight one.
                .filter(|adj| adj.node != at)
                .filter_map(|adj| {
                    let cost = settled_cost(adj.node)?;
                    (cost + adj.weight == at_cost).then_some((adj.node, cost))
                })
                .min_by(|a, b| self.name(a.0).cmp(self.name(b.0)));
            match predecessor {
                Some((previous, cost)) => {
                    path.push(self.name(previous));
                    at = previous;
                    at_cost = cost;
                }
                None => return Search::NeedsNameOrder,
            }
        }
        if at != source {
            return Search::NeedsNameOrder;
        }
        path.reverse();
        Search::Done(Some((path, total)))
    }

    /// Dijkstra settling nodes in `(cost, name)` order, recording predecessors as it goes: the
    /// definition of the tie rule, used when flat edges make the order among equal costs
    /// matter. Slower than `dijkstra_by_cost`, as every heap entry carries its name.
    pub(super) fn dijkstra_by_name(&self, source: Ix, target: Ix) -> Option<Path<'_>> {
        let mut labels = vec![Label::UNSEEN; self.nodes.len()];
        let mut heap = BinaryHeap::new();
        if let Some(label) = labels.get_mut(source as usize) {
            label.cost = 0.0;
            label.state = LabelState::Queued;
        }
        heap.push(Candidate {
            cost: 0.0,
            name: self.name(source),
            node: source,
        });
        while let Some(Candidate { node, name, .. }) = heap.pop() {
            let Some(label) = labels.get_mut(node as usize) else {
                continue;
            };
            if label.state == LabelState::Settled {
                continue;
            }
            label.state = LabelState::Settled;
            let cost = label.cost;
            if node == target {
                break;
            }
            for adj in self.out_list(node) {
                let next = adj.node;
                let next_cost = cost + adj.weight;
                let Some(next_label) = labels.get_mut(next as usize) else {
                    continue;
                };
                let improves = match next_label.state {
                    LabelState::Settled => false,
                    LabelState::Unseen => true,
                    LabelState::Queued => {
                        if next_cost == next_label.cost && name < self.name(next_label.parent) {
                            // Same cost: no new heap entry, only the predecessor changes.
                            next_label.parent = node;
                        }
                        next_cost < next_label.cost
                    }
                };
                if improves {
                    next_label.cost = next_cost;
                    next_label.parent = node;
                    next_label.state = LabelState::Queued;
                    heap.push(Candidate {
                        cost: next_cost,
                        name: self.name(next),
                        node: next,
                    });
                }
            }
        }
        let end = labels.get(target as usize)?;
        if end.state != LabelState::Settled {
            return None;
        }
        let mut path = vec![self.name(target)];
        let mut at = end.parent;
        // Parents were fixed when settled and point at earlier-settled nodes, so the chain
        // ends at `source` within V steps; the length bound is only a guard.
        while at != NONE && path.len() <= labels.len() {
            path.push(self.name(at));
            if at == source {
                break;
            }
            at = labels.get(at as usize).map_or(NONE, |label| label.parent);
        }
        path.reverse();
        Some((path, end.cost))
    }

    /// One cycle among the nodes Kahn could not sort (`pending > 0`). Each of them has a
    /// predecessor among them (a sorted predecessor would have decremented its count), so
    /// walking predecessors must revisit a node within that many steps.
    fn find_cycle(&self, pending: &[usize]) -> Vec<Vec<u8>> {
        let unsorted = |i: Ix| pending.get(i as usize).is_some_and(|&count| count > 0);
        let Some(first) = self
            .live_indices()
            .filter(|&i| unsorted(i))
            .min_by(|&a, &b| self.name(a).cmp(self.name(b)))
        else {
            return Vec::new();
        };
        let mut position = vec![usize::MAX; self.nodes.len()];
        let mut walk = Vec::new();
        let mut at = first;
        loop {
            let Some(slot) = position.get_mut(at as usize) else {
                return Vec::new();
            };
            if *slot != usize::MAX {
                let start = *slot;
                // `walk` follows edges backwards; reversed it is in edge order.
                let mut cycle: Vec<Ix> = walk.get(start..).unwrap_or_default().to_vec();
                cycle.reverse();
                if let Some(smallest) = (0..cycle.len()).min_by(|&x, &y| {
                    let name_of = |k: usize| cycle.get(k).map_or(&[][..], |&i| self.name(i));
                    name_of(x).cmp(name_of(y))
                }) {
                    cycle.rotate_left(smallest);
                }
                return cycle.iter().map(|&i| self.name(i).to_vec()).collect();
            }
            *slot = walk.len();
            walk.push(at);
            let predecessor = self
                .in_list(at)
                .iter()
                .map(|adj| adj.node)
                .filter(|&i| unsorted(i))
                .min_by(|&a, &b| self.name(a).cmp(self.name(b)));
            match predecessor {
                Some(next) => at = next,
                None => return Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    #[test]
    fn bfs_in_name_order_with_depths() {
        let mut g = GraphValue::new(true);
        for (a, b) in [
            ("s", "c"),
            ("s", "a"),
            ("a", "d"),
            ("c", "b"),
            ("d", "s"),
            ("b", "e"),
        ] {
            g.add_edge(a.as_bytes(), b.as_bytes(), 1.0).unwrap();
        }
        let all = g.bfs(b"s", None).unwrap();
        let expect: Vec<(&[u8], usize)> = vec![
            (b"s", 0),
            (b"a", 1),
            (b"c", 1),
            (b"d", 2),
            (b"b", 2),
            (b"e", 3),
        ];
        assert_eq!(all, expect);
        assert_eq!(g.bfs(b"s", Some(1)).unwrap(), expect[..3].to_vec());
        assert_eq!(g.bfs(b"s", Some(0)).unwrap(), expect[..1].to_vec());
        assert_eq!(g.bfs(b"e", None).unwrap(), vec![(&b"e"[..], 0)]);
        assert!(g.bfs(b"zz", None).is_err());
    }

    #[test]
    fn dfs_is_preorder_in_name_order() {
        let mut g = GraphValue::new(false);
        for (a, b) in [("r", "b"), ("r", "a"), ("a", "c"), ("c", "b"), ("b", "d")] {
            g.add_edge(a.as_bytes(), b.as_bytes(), 1.0).unwrap();
        }
        // r -> a -> c -> b -> d (b is reached through c before r's own edge to b).
        assert_eq!(
            g.dfs(b"r").unwrap(),
            vec![&b"r"[..], b"a", b"c", b"b", b"d"]
        );
        assert!(g.dfs(b"zz").is_err());
    }

    #[test]
    fn shortest_path_basics() {
        let mut g = graph_of(true, &[("a", "b", 1.0), ("b", "c", 1.0), ("a", "c", 5.0)]);
        g.add_node(b"lonely").unwrap();
        let path = g.shortest_path(b"a", b"c").unwrap().unwrap();
        assert_eq!(path, (vec![&b"a"[..], b"b", b"c"], 2.0));
        assert_eq!(g.shortest_path(b"c", b"a").unwrap(), None);
        assert_eq!(g.shortest_path(b"a", b"lonely").unwrap(), None);
        assert_eq!(
            g.shortest_path(b"a", b"a").unwrap(),
            Some((vec![&b"a"[..]], 0.0))
        );
        assert_eq!(
            g.shortest_path(b"a", b"zz"),
            Err(GraphError::NoSuchNode(b"zz".to_vec()))
        );
        let u = undirected_triangle();
        assert_eq!(
            u.shortest_path(b"a", b"c").unwrap(),
            Some((vec![&b"a"[..], b"c"], 3.0))
        );
        // Ties: a-c (3) vs a-b-c (1 + 2) keeps predecessor a (< b) for c; the other way
        // c-a (3) ties with c-b-a (2 + 1): a's predecessor is the smaller name, b.
        assert_eq!(
            u.shortest_path(b"c", b"a").unwrap(),
            Some((vec![&b"c"[..], b"b", b"a"], 3.0))
        );
    }

    #[test]
    fn shortest_path_ties_prefer_smaller_names_in_any_insertion_order() {
        let edges = [
            ("s", "y", 1.0),
            ("s", "x", 1.0),
            ("y", "t", 1.0),
            ("x", "t", 1.0),
            ("s", "m", 0.0),
            ("m", "k", 0.0),
            ("k", "t", 2.0),
        ];
        let forward = GraphValue::from_parts(
            true,
            Vec::<&[u8]>::new(),
            edges.iter().map(|&(a, b, w)| (a, b, w)),
        )
        .unwrap();
        let backward = GraphValue::from_parts(
            true,
            Vec::<&[u8]>::new(),
            edges.iter().rev().map(|&(a, b, w)| (a, b, w)),
        )
        .unwrap();
        for g in [&forward, &backward] {
            // Three paths cost 2: via k (k < x < y) wins.
            assert_eq!(
                g.shortest_path(b"s", b"t").unwrap(),
                Some((vec![&b"s"[..], b"m", b"k", b"t"], 2.0))
            );
        }
    }

    #[test]
    fn flat_edges_use_the_name_ordered_search() {
        // t and the middle node both cost 1, and middle->t weighs 0. In (cost, name) order "t"
        // settles before "u", so only s can be t's predecessor; "a" settles before "t" and,
        // being smaller than "s", becomes it.
        for (mid, expected) in [
            (&b"u"[..], vec![&b"s"[..], b"t"]),
            (b"a", vec![b"s", b"a", b"t"]),
        ] {
            for reversed in [false, true] {
                let mut edges = vec![
                    (&b"s"[..], &b"t"[..], 1.0),
                    (b"s", mid, 1.0),
                    (mid, b"t", 0.0),
                ];
                if reversed {
                    edges.reverse();
                }
                let g = GraphValue::from_parts(true, Vec::<&[u8]>::new(), edges).unwrap();
                let source = g.index_of(b"s").unwrap();
                let target = g.index_of(b"t").unwrap();
                assert!(matches!(
                    g.dijkstra_by_cost(source, target),
                    Search::NeedsNameOrder
                ));
                assert_eq!(
                    g.shortest_path(b"s", b"t").unwrap(),
                    Some((expected.clone(), 1.0))
                );
            }
        }
        // A weight absorbed by a large cost is flat too.
        let g = graph_of(true, &[("s", "m", 1e300), ("m", "t", 1.0)]);
        let (source, target) = (g.index_of(b"s").unwrap(), g.index_of(b"t").unwrap());
        assert!(matches!(
            g.dijkstra_by_cost(source, target),
            Search::NeedsNameOrder
        ));
        assert_eq!(
            g.shortest_path(b"s", b"t").unwrap(),
            Some((vec![&b"s"[..], b"m", b"t"], 1e300))
        );
        // Zero-weight self-loops never matter, so the fast search still answers.
        let g = graph_of(true, &[("a", "b", 1.0), ("b", "b", 0.0), ("a", "a", 0.0)]);
        let (source, target) = (g.index_of(b"a").unwrap(), g.index_of(b"b").unwrap());
        assert!(matches!(
            g.dijkstra_by_cost(source, target),
            Search::Done(Some(_))
        ));
        // Deleting the zero-weight edge re-enables the fast search.
        let mut g = graph_of(false, &[("a", "b", 0.0), ("b", "c", 2.0)]);
        assert_eq!(g.zero_weight_edges, 1);
        g.add_edge(b"a", b"b", 3.0).unwrap();
        assert_eq!(g.zero_weight_edges, 0);
        let (source, target) = (g.index_of(b"a").unwrap(), g.index_of(b"c").unwrap());
        assert!(matches!(
            g.dijkstra_by_cost(source, target),
            Search::Done(Some(_))
        ));
    }

    #[test]
    fn components_are_sorted_and_weak() {
        let mut g = graph_of(true, &[("d", "b", 1.0), ("e", "b", 1.0), ("c", "a", 1.0)]);
        g.add_node(b"0").unwrap();
        assert_eq!(
            g.components(),
            vec![vec![&b"0"[..]], vec![b"a", b"c"], vec![b"b", b"d", b"e"]]
        );
        assert!(GraphValue::new(false).components().is_empty());
    }

    #[test]
    fn toposort_takes_smallest_name_first() {
        let mut g = graph_of(true, &[("c", "a", 1.0), ("b", "a", 1.0)]);
        g.add_node(b"d").unwrap();
        assert_eq!(g.toposort().unwrap(), vec![&b"b"[..], b"c", b"a", b"d"]);
        assert_eq!(
            undirected_triangle().toposort(),
            Err(GraphError::NotDirected)
        );
        assert_eq!(GraphValue::new(true).toposort(), Ok(vec![]));
    }

    #[test]
    fn toposort_reports_a_real_cycle() {
        let g = graph_of(
            true,
            &[
                ("a", "z", 1.0),
                ("z", "q", 1.0),
                ("q", "m", 1.0),
                ("m", "z", 1.0),
                ("m", "n", 1.0),
            ],
        );
        let cycle = vec![b"m".to_vec(), b"z".to_vec(), b"q".to_vec()];
        assert_eq!(g.toposort(), Err(GraphError::Cycle(cycle)));
        let mut s = GraphValue::new(true);
        s.add_edge(b"a", b"b", 1.0).unwrap();
        s.add_edge(b"b", b"b", 1.0).unwrap();
        assert_eq!(s.toposort(), Err(GraphError::Cycle(vec![b"b".to_vec()])));
    }
}
