//! The entries of a stream, kept as Redis keeps them: in nodes of up to
//! `stream-node-max-entries` entries (or `stream-node-max-bytes` bytes), each node one packed
//! buffer, the nodes in a B-tree keyed by the ID of their first ("master") entry.
//!
//! Inside a node an entry is: a flags byte, its ID as deltas from the master ID (two varints),
//! then its fields. An entry whose field names are those of the master entry (the usual case:
//! every event of a stream has the same shape) stores only its values, so a small entry costs a
//! few bytes beyond its values. A deleted entry is only flagged; the node goes when its last live
//! entry does. Seeking is O(log nodes) plus a scan of one node, as in Redis; the node layout
//! also gives `MAXLEN ~`/`MINID ~` their exact Redis meaning (only whole nodes are trimmed).

use super::rdb::write::Listpack;
use std::collections::btree_map::{self, BTreeMap};
use std::fmt;

/// A stream entry ID: milliseconds and sequence number, ordered as a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next ID, `None` past the largest. O(1).
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| StreamId { ms, seq: 0 }),
        }
    }

    /// The previous ID, `None` before the smallest. O(1).
    pub fn prev(self) -> Option<StreamId> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self
                .ms
                .checked_sub(1)
                .map(|ms| StreamId { ms, seq: u64::MAX }),
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// `ms-seq` as bytes (for replies and the journal).
    pub fn to_bytes(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

const DELETED: u8 = 1;
const SAME_FIELDS: u8 = 2;

fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// Reads a varint at `*at`, advancing it; 0 past the end (a node is only written here, so
/// it is always well formed).
fn get_varint(buf: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    while let Some(&byte) = buf.get(*at) {
        *at += 1;
        if shift < 64 {
            value |= u64::from(byte & 0x7f) << shift;
        }
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    value
}

/// Reads a length-prefixed byte string at `*at`, advancing it.
fn get_bytes<'a>(buf: &'a [u8], at: &mut usize) -> &'a [u8] {
    let len = get_varint(buf, at) as usize;
    let start = (*at).min(buf.len());
    let end = start.saturating_add(len).min(buf.len());
    *at = end;
    &buf[start..end]
}

/// One node: entries packed in `buf`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Node {
    buf: Vec<u8>,
    /// Entries in the node, deleted ones included (Redis's node fill counts them too).
    count: u32,
    /// Entries not deleted.
    live: u32,
    /// ID of the last entry written (deleted or not), as Redis reads a node's edge.
    last: StreamId,
    /// Number of fields of the master entry, and where its field pairs are in `buf`.
    master_fields: u32,
    master_pairs: (u32, u32),
    /// The bytes of the listpack Redis's `streamAppendItem` would have built for these
    /// entries, less the master entry's live and deleted counts (which Redis rewrites in
    /// place): with them, [`Node::redis_bytes`] decides where a node ends as Redis does, so
    /// XINFO's node count and XTRIM `~` follow Redis's.
    listpack_rest: u32,
}

/// The fields of one entry: the values, and the names either inline or those of its node's
/// master entry.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    /// The master entry's pairs when this entry shares its names.
    names: Option<&'a [u8]>,
    data: &'a [u8],
    count: usize,
}

impl<'a> Fields<'a> {
    /// Number of field/value pairs.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The pairs, in the order they were added. O(1) per pair.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let (names, data, count) = (self.names, self.data, self.count);
        let (mut name_at, mut data_at) = (0usize, 0usize);
        (0..count).map(move |_| match names {
            Some(names) => {
                let name = get_bytes(names, &mut name_at);
                get_bytes(names, &mut name_at);
                (name, get_bytes(data, &mut data_at))
            }
            None => {
                let name = get_bytes(data, &mut data_at);
                (name, get_bytes(data, &mut data_at))
            }
        })
    }
}

impl fmt::Debug for Fields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One live entry as read from the log.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub id: StreamId,
    pub fields: Fields<'a>,
}

/// A decoded entry header: where it is, its ID, whether deleted, and where the next begins.
struct Decoded<'a> {
    flags_at: usize,
    id: StreamId,
    deleted: bool,
    fields: Fields<'a>,
    next: usize,
}

impl Node {
    fn master_names(&self) -> &[u8] {
        let (start, end) = self.master_pairs;
        self.buf
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// Decodes the entry at `at`. O(fields).
    fn decode(&self, master: StreamId, at: usize) -> Decoded<'_> {
        let buf = &self.buf;
        let flags_at = at;
        let flags = buf.get(at).copied().unwrap_or(DELETED);
        let mut at = at + 1;
        let ms_delta = get_varint(buf, &mut at);
        let seq_field = get_varint(buf, &mut at);
        let ms = master.ms.wrapping_add(ms_delta);
        let seq = if ms_delta == 0 {
            master.seq.wrapping_add(seq_field)
        } else {
            seq_field
        };
        let (names, count) = if flags & SAME_FIELDS != 0 {
            (Some(self.master_names()), self.master_fields as usize)
        } else {
            (None, get_varint(buf, &mut at) as usize)
        };
        let start = at;
        let per_field = if names.is_some() { 1 } else { 2 };
        for _ in 0..count * per_field {
            get_bytes(buf, &mut at);
        }
        Decoded {
            flags_at,
            id: StreamId { ms, seq },
            deleted: flags & DELETED != 0,
            fields: Fields {
                names,
                data: &buf[start.min(buf.len())..at.min(buf.len())],
                count,
            },
            next: at,
        }
    }

    /// Offsets of every entry, deleted or not, oldest first. O(node).
    fn offsets(&self, master: StreamId) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.count as usize);
        let mut at = 0;
        while at < self.buf.len() {
            out.push(at);
            at = self.decode(master, at).next;
        }
        out
    }

    /// Redis's `lpBytes` of the node (see [`Node::listpack_rest`]).
    fn redis_bytes(&self) -> u64 {
        let int = |n: u32| Listpack::int_entry_bytes(i64::from(n)) as u64;
        u64::from(self.listpack_rest) + int(self.live) + int(self.count - self.live)
    }

    /// What an entry adds to [`Node::listpack_rest`]: Redis's `streamAppendItem` writes the
    /// master entry (fields, then a 0) with a node's first entry, and each entry as flags, the
    /// two ID differences, the field count and names unless they are the master's, the
    /// values, and its element count.
    fn listpack_growth(&self, master: StreamId, id: StreamId, pairs: &[&[u8]], same: bool) -> u64 {
        let int = |n: i64| Listpack::int_entry_bytes(n) as u64;
        let element = |e: &[u8]| Listpack::entry_bytes(e) as u64;
        let fields = (pairs.len() / 2) as i64;
        let names = || {
            pairs
                .chunks_exact(2)
                .map(|pair| element(pair[0]))
                .sum::<u64>()
        };
        let values: u64 = pairs.chunks_exact(2).map(|pair| element(pair[1])).sum();
        // Redis's first entry of a node has the master's fields, by construction.
        let same = same || self.count == 0;
        let mut bytes = int(if same { 2 } else { 0 })
            + int(id.ms.wrapping_sub(master.ms) as i64)
            + int(id.seq.wrapping_sub(master.seq) as i64)
            + values;
        let mut elements = fields + 3;
        if !same {
            bytes += int(fields) + names();
            elements += fields + 1;
        }
        bytes += int(elements);
        if self.count == 0 {
            // The listpack's header and end, then the master entry past its two counts.
            bytes += 7 + int(fields) + names() + int(0);
        }
        bytes
    }

    /// Appends an entry; `pairs` alternate names and values.
    fn push(&mut self, master: StreamId, id: StreamId, pairs: &[&[u8]]) {
        let fields = pairs.len() / 2;
        let same = self.count > 0 && self.master_fields as usize == fields && {
            let mut at = 0;
            let names = self.master_names();
            pairs.chunks_exact(2).all(|pair| {
                let name = get_bytes(names, &mut at);
                get_bytes(names, &mut at);
                name == pair[0]
            })
        };
        let growth = self.listpack_growth(master, id, pairs, same);
        self.listpack_rest =
            u32::try_from(u64::from(self.listpack_rest) + growth).unwrap_or(u32::MAX);
        self.buf.push(if same { SAME_FIELDS } else { 0 });
        let ms_delta = id.ms - master.ms;
        put_varint(&mut self.buf, ms_delta);
        put_varint(
            &mut self.buf,
            if ms_delta == 0 {
                id.seq - master.seq
            } else {
                id.seq
            },
        );
        if same {
            for pair in pairs.chunks_exact(2) {
                put_varint(&mut self.buf, pair[1].len() as u64);
                self.buf.extend_from_slice(pair[1]);
            }
        } else {
            put_varint(&mut self.buf, fields as u64);
            let start = self.buf.len();
            for item in pairs {
                put_varint(&mut self.buf, item.len() as u64);
                self.buf.extend_from_slice(item);
            }
            if self.count == 0 {
                self.master_fields = fields as u32;
                self.master_pairs = (start as u32, self.buf.len() as u32);
            }
        }
        self.count += 1;
        self.live += 1;
        self.last = id;
    }
}

/// How many entries and bytes a node takes before a new one starts (`stream-node-max-entries`,
/// `stream-node-max-bytes`; 0 = no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_entries: u64,
    pub max_bytes: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_entries: 100,
            max_bytes: 4096,
        }
    }
}

/// How trimming picks what goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimTo {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries with IDs below this one.
    MinId(StreamId),
}

/// The entries of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryLog {
    nodes: BTreeMap<StreamId, Node>,
    len: u64,
}

impl EntryLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Live entries. O(1).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of nodes (XINFO's radix-tree-keys). O(1).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Appends an entry whose ID is above every ID in the log; `pairs` alternate names and
    /// values. O(log nodes + entry).
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], limits: NodeLimits) {
        // Redis's rule: a new node once the tail's listpack plus the entry's field and value
        // bytes reach `stream-node-max-bytes` (0, or more than a listpack may hold: 1 GB), or
        // once the tail holds `stream-node-max-entries` entries, deleted ones included.
        const LISTPACK_MAX_SIZE: u64 = 1 << 30;
        let max_bytes = match limits.max_bytes {
            0 => LISTPACK_MAX_SIZE,
            n => n.min(LISTPACK_MAX_SIZE),
        };
        let entry_bytes: u64 = pairs.iter().map(|p| p.len() as u64).sum();
        let fits = self.nodes.last_key_value().is_some_and(|(_, node)| {
            node.redis_bytes() + entry_bytes < max_bytes
                && (limits.max_entries == 0 || u64::from(node.count) < limits.max_entries)
        });
        if fits {
            if let Some(mut tail) = self.nodes.last_entry() {
                let master = *tail.key();
                tail.get_mut().push(master, id, pairs);
                self.len += 1;
                return;
            }
        }
        // The tail is full and takes no more entries: give back what its buffer grew beyond
        // its contents (a doubling buffer is a third empty on average), once per node.
        if let Some(mut tail) = self.nodes.last_entry() {
            tail.get_mut().buf.shrink_to_fit();
        }
        let mut node = Node::default();
        node.push(id, id, pairs);
        self.nodes.insert(id, node);
        self.len += 1;
    }

    /// The live entries with IDs from `start` to `end` inclusive, ascending, or descending when
    /// `rev`. O(log nodes) to start, then O(1) amortized per entry (a node is scanned once).
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        let from = self
            .nodes
            .range(..=start)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(start);
        let nodes = if start > end {
            self.nodes.range(StreamId::MAX..StreamId::MAX)
        } else {
            self.nodes.range(from.min(start)..=end)
        };
        Range {
            nodes,
            start,
            end,
            rev,
            node: None,
            at: 0,
            offsets: Vec::new(),
            done: start > end,
        }
    }

    /// The live entry `id`, if present. O(log nodes + node).
    pub fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        self.range(id, id, false).next()
    }

    /// The first live entry. O(node).
    pub fn first(&self) -> Option<Entry<'_>> {
        self.range(StreamId::MIN, StreamId::MAX, false).next()
    }

    /// The last live entry. O(node).
    pub fn last(&self) -> Option<Entry<'_>> {
        self.range(StreamId::MIN, StreamId::MAX, true).next()
    }

    /// Deletes the live entry `id`; false if there is none. A node left with no live entry is
    /// dropped. O(log nodes + node).
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        if node.last < id {
            return false;
        }
        let mut at = 0;
        while at < node.buf.len() {
            let entry = node.decode(master, at);
            if entry.deleted {
                at = entry.next;
                continue;
            }
            if entry.id > id {
                return false;
            }
            if entry.id == id {
                let flags_at = entry.flags_at;
                node.buf[flags_at] |= DELETED;
                node.live -= 1;
                self.len -= 1;
                if node.live == 0 {
                    self.nodes.remove(&master);
                }
                return true;
            }
            at = entry.next;
        }
        false
    }

    /// Trims from the oldest entries as Redis's `streamTrim` does: whole nodes while they can
    /// go; then, unless `approx`, entries of the next node one by one. `limit` (0 = none)
    /// bounds how many entries go. Returns how many went. O(nodes removed + one node).
    pub fn trim(&mut self, to: TrimTo, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some(mut first) = self.nodes.first_entry() {
            if let TrimTo::MaxLen(max) = to {
                if self.len <= max {
                    break;
                }
            }
            let entries = u64::from(first.get().live);
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match to {
                TrimTo::MaxLen(max) => self.len - entries >= max,
                TrimTo::MinId(min) => first.get().last < min,
            };
            if remove_node {
                first.remove();
                self.len -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let master = *first.key();
            let node = first.get_mut();
            let mut at = 0;
            while at < node.buf.len() {
                let entry = node.decode(master, at);
                let (flags_at, next, id, was_deleted) =
                    (entry.flags_at, entry.next, entry.id, entry.deleted);
                if !was_deleted {
                    let stop = match to {
                        TrimTo::MaxLen(max) => self.len <= max,
                        TrimTo::MinId(min) => id >= min,
                    };
                    if stop {
                        break;
                    }
                    node.buf[flags_at] |= DELETED;
                    node.live -= 1;
                    self.len -= 1;
                    deleted += 1;
                }
                at = next;
            }
            if node.live == 0 {
                first.remove();
            }
            break;
        }
        deleted
    }

    /// Bytes held by the nodes (buffers and tree slots). O(nodes).
    pub fn memory_usage(&self) -> usize {
        self.nodes
            .values()
            .map(|node| node.buf.capacity() + std::mem::size_of::<Node>() + 16)
            .sum()
    }

    /// Every live entry, oldest first.
    pub fn iter(&self) -> Range<'_> {
        self.range(StreamId::MIN, StreamId::MAX, false)
    }
}

/// Entries of an ID range (see [`EntryLog::range`]).
pub struct Range<'a> {
    nodes: btree_map::Range<'a, StreamId, Node>,
    start: StreamId,
    end: StreamId,
    rev: bool,
    node: Option<(StreamId, &'a Node)>,
    /// Forward: offset of the next entry in the node. Backward: entries left in `offsets`.
    at: usize,
    offsets: Vec<usize>,
    done: bool,
}

impl<'a> Iterator for Range<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        while !self.done {
            let Some((master, node)) = self.node else {
                let next = if self.rev {
                    self.nodes.next_back()
                } else {
                    self.nodes.next()
                };
                match next {
                    Some((&master, node)) => {
                        self.node = Some((master, node));
                        if self.rev {
                            self.offsets = node.offsets(master);
                            self.at = self.offsets.len();
                        } else {
                            self.at = 0;
                        }
                    }
                    None => self.done = true,
                }
                continue;
            };
            let at = if self.rev {
                if self.at == 0 {
                    self.node = None;
                    continue;
                }
                self.at -= 1;
                self.offsets[self.at]
            } else {
                if self.at >= node.buf.len() {
                    self.node = None;
                    continue;
                }
                self.at
            };
            let entry = node.decode(master, at);
            if !self.rev {
                self.at = entry.next;
            }
            // Deleted entries are skipped before the bounds are checked, as Redis does: after
            // XSETID a deleted entry may have a higher ID than a later one.
            if entry.deleted {
                continue;
            }
            if entry.id > self.end {
                if !self.rev {
                    self.done = true;
                }
                continue;
            }
            if entry.id < self.start {
                if self.rev {
                    self.done = true;
                }
                continue;
            }
            return Some(Entry {
                id: entry.id,
                fields: entry.fields,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn ids(range: Range) -> Vec<(u64, u64)> {
        range.map(|e| (e.id.ms, e.id.seq)).collect()
    }

    fn log_of(n: u64, limits: NodeLimits) -> EntryLog {
        let mut log = EntryLog::new();
        for i in 1..=n {
            let value = i.to_string();
            log.append(id(i, 0), &[b"f", value.as_bytes()], limits);
        }
        log
    }

    #[test]
    fn entries_read_back_in_both_directions_across_nodes() {
        let limits = NodeLimits {
            max_entries: 3,
            max_bytes: 0,
        };
        let mut log = log_of(10, limits);
        log.append(id(10, 5), &[b"other", b"x", b"g", b"y"], limits);
        assert_eq!(log.node_count(), 4);
        assert_eq!(log.len(), 11);
        assert_eq!(
            ids(log.range(id(3, 0), id(6, 0), false)),
            [(3, 0), (4, 0), (5, 0), (6, 0)]
        );
        assert_eq!(
            ids(log.range(id(3, 1), id(6, 0), true)),
            [(6, 0), (5, 0), (4, 0)]
        );
        assert_eq!(ids(log.range(id(10, 1), StreamId::MAX, false)), [(10, 5)]);
        let last = log.last().unwrap();
        let fields: Vec<_> = last.fields.iter().collect();
        assert_eq!(fields, [(&b"other"[..], &b"x"[..]), (b"g", b"y")]);
        let fourth = log.get(id(4, 0)).unwrap();
        assert_eq!(
            fourth.fields.iter().collect::<Vec<_>>(),
            [(&b"f"[..], &b"4"[..])]
        );
        assert!(log.range(id(5, 0), id(4, 0), false).next().is_none());
    }

    #[test]
    fn deletes_flag_entries_and_drop_emptied_nodes() {
        let limits = NodeLimits {
            max_entries: 2,
            max_bytes: 0,
        };
        let mut log = log_of(4, limits);
        assert!(log.delete(id(1, 0)));
        assert!(!log.delete(id(1, 0)));
        assert!(!log.delete(id(9, 0)));
        assert_eq!(log.node_count(), 2);
        assert!(log.delete(id(2, 0)));
        assert_eq!(log.node_count(), 1);
        assert_eq!(ids(log.iter()), [(3, 0), (4, 0)]);
        assert_eq!(log.first().unwrap().id, id(3, 0));
    }

    #[test]
    fn approximate_trims_remove_whole_nodes_only() {
        let limits = NodeLimits {
            max_entries: 10,
            max_bytes: 0,
        };
        let mut log = log_of(35, limits);
        assert_eq!(log.trim(TrimTo::MaxLen(20), true, 0), 10);
        assert_eq!(log.len(), 25);
        assert_eq!(log.trim(TrimTo::MaxLen(20), false, 0), 5);
        assert_eq!(log.first().unwrap().id, id(16, 0));
        assert_eq!(log.trim(TrimTo::MinId(id(33, 0)), true, 0), 15);
        assert_eq!(log.trim(TrimTo::MinId(id(33, 0)), false, 0), 2);
        assert_eq!(ids(log.iter()), [(33, 0), (34, 0), (35, 0)]);
        let mut log = log_of(35, limits);
        assert_eq!(log.trim(TrimTo::MaxLen(0), true, 15), 10);
    }
}
