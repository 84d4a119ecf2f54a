//! Values to RDB bytes, as redis-server 7.0 writes them.
//!
//! Redis writes its in-memory encodings as they are (a listpack hash is one listpack blob, a
//! list one listpack per quicklist node); Reddish builds the same blobs from its own
//! structures, so a value whose Redis encoding follows from its content (small strings,
//! listpacks, intsets) dumps to the same bytes. Where Redis's bytes depend on history (the
//! order of a hash table, where a list's nodes were split, a stream's deleted entries) the
//! content is the same and the layout is the one a fresh build gives.

use super::lzf;
use super::{
    TYPE_GRAPH, TYPE_HASH, TYPE_HASH_LISTPACK, TYPE_LIST_QUICKLIST_2, TYPE_QUEUE, TYPE_SET,
    TYPE_SET_INTSET, TYPE_STACK, TYPE_STREAM_LISTPACKS_2, TYPE_STRING, TYPE_TREE, TYPE_ZSET_2,
    TYPE_ZSET_LISTPACK,
};
use crate::number::parse_i64;
use crate::store::set::Member;
use crate::store::stream::StreamValue;
use crate::store::stream_log::{NodeLimits, StreamId};
use crate::store::tree::TreeOrdering;
use crate::store::Value;

/// Redis's `list-max-listpack-size -2` (its default): a quicklist node's listpack stays within
/// 8 KB.
const LIST_NODE_BYTES: usize = 8192;
/// What Redis adds to an element's length when estimating whether it fits a node.
const LIST_ELEMENT_OVERHEAD: usize = 8;
/// Quicklist node container: a listpack.
const QUICKLIST_PACKED: u64 = 2;
/// Stream entry flag: the entry has the node's master fields.
const STREAM_SAME_FIELDS: i64 = 2;

/// Appends an RDB length. O(1).
pub fn len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends a string as Redis's `rdbSaveRawString`: a short decimal integer as 1, 2 or 4
/// bytes, a string of more than 20 bytes LZF-compressed when that saves at least 4 bytes,
/// else its length and bytes. O(len).
pub fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() <= 11 {
        if let Some(n) = parse_i64(bytes) {
            if integer(out, n) {
                return;
            }
        }
    }
    if bytes.len() > 20 {
        if let Some(packed) = lzf::compress(bytes, bytes.len() - 4) {
            out.push(0xC3);
            len(out, packed.len() as u64);
            len(out, bytes.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    len(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends `n` in the integer string encodings when it fits 32 bits; false otherwise.
fn integer(out: &mut Vec<u8>, n: i64) -> bool {
    if let Ok(n) = i8::try_from(n) {
        out.push(0xC0);
        out.push(n as u8);
    } else if let Ok(n) = i16::try_from(n) {
        out.push(0xC1);
        out.extend_from_slice(&n.to_le_bytes());
    } else if let Ok(n) = i32::try_from(n) {
        out.push(0xC2);
        out.extend_from_slice(&n.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Appends a millisecond time or count as Redis's `rdbSaveMillisecondTime`: 8 bytes LE.
fn millis(out: &mut Vec<u8>, ms: u64) {
    out.extend_from_slice(&ms.to_le_bytes());
}

/// A listpack being built (Redis's `listpack.c` format: total bytes u32, element count u16,
/// entries each followed by their length backwards, 0xFF).
pub struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Listpack {
    fn default() -> Self {
        Listpack::new()
    }
}

impl Listpack {
    pub fn new() -> Self {
        Listpack {
            buf: vec![0; 6],
            count: 0,
        }
    }

    /// Bytes the finished listpack will take (Redis's `lpBytes`).
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Appends an element as Redis's `lpAppend`: as an integer when the bytes are one.
    pub fn push(&mut self, element: &[u8]) {
        match (element.len() <= 20).then(|| parse_i64(element)).flatten() {
            Some(n) => self.push_int(n),
            None => self.push_str(element),
        }
    }

    /// Appends the integer `n` in its smallest encoding.
    pub fn push_int(&mut self, n: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&n) {
            self.buf.push(n as u8);
        } else if (-4096..=4095).contains(&n) {
            let v = (n as u64) & 0x1FFF;
            self.buf.push(0xC0 | (v >> 8) as u8);
            self.buf.push(v as u8);
        } else if let Ok(v) = i16::try_from(n) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&v.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&n) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&n.to_le_bytes()[..3]);
        } else if let Ok(v) = i32::try_from(n) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&v.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&n.to_le_bytes());
        }
        self.finish_entry(start);
    }

    fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.finish_entry(start);
    }

    /// Bytes an integer entry takes, its back-length included (Redis's sizes above).
    #[inline]
    pub fn int_entry_bytes(n: i64) -> usize {
        let encoded = if (0..=127).contains(&n) {
            1
        } else if (-4096..=4095).contains(&n) {
            2
        } else if i16::try_from(n).is_ok() {
            3
        } else if (-(1 << 23)..(1 << 23)).contains(&n) {
            4
        } else if i32::try_from(n).is_ok() {
            5
        } else {
            9
        };
        encoded + 1
    }

    /// Bytes `element` takes as an entry, its back-length included, as [`Listpack::push`]
    /// would write it: what a node's `lpBytes` grows by, without building the node.
    #[inline]
    pub fn entry_bytes(element: &[u8]) -> usize {
        if let Some(n) = (element.len() <= 20).then(|| parse_i64(element)).flatten() {
            return Self::int_entry_bytes(n);
        }
        let n = element.len();
        let encoded = n + if n < 64 {
            1
        } else if n < 4096 {
            2
        } else {
            5
        };
        encoded
            + match encoded {
                0..=127 => 1,
                128..=16382 => 2,
                16383..=2097150 => 3,
                2097151..=268435454 => 4,
                _ => 5,
            }
    }

    /// Appends the entry's length, written to be read backwards.
    fn finish_entry(&mut self, start: usize) {
        let l = self.buf.len() - start;
        if l <= 127 {
            self.buf.push(l as u8);
        } else if l < 16383 {
            self.buf.push((l >> 7) as u8);
            self.buf.push((l & 127) as u8 | 128);
        } else if l < 2097151 {
            self.buf.push((l >> 14) as u8);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        } else if l < 268435455 {
            self.buf.push((l >> 21) as u8);
            self.buf.push(((l >> 14) & 127) as u8 | 128);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        } else {
            self.buf.push((l >> 28) as u8);
            self.buf.push(((l >> 21) & 127) as u8 | 128);
            self.buf.push(((l >> 14) & 127) as u8 | 128);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        }
        self.count += 1;
    }

    /// The finished listpack bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// A score as Redis's `d2string` writes it into a listpack: integers within 2^52 as integers,
/// anything else as `%.17g`.
fn score_text(score: f64, out: &mut String) {
    out.clear();
    if score == 0.0 {
        out.push_str(if score.is_sign_negative() { "-0" } else { "0" });
    } else if score.is_finite()
        && score > -4_503_599_627_370_495.0
        && score < 4_503_599_627_370_496.0
        && score == (score as i64) as f64
    {
        out.push_str(itoa::Buffer::new().format(score as i64));
    } else {
        crate::number::format_double(score, out);
    }
}

/// Appends the type byte and encoding of `value`. O(size of the value).
pub fn value(out: &mut Vec<u8>, value: &Value, stream_limits: NodeLimits) {
    match value {
        Value::Str(bytes, _) => {
            out.push(TYPE_STRING);
            string(out, bytes);
        }
        // Commands that serialize a value load it first (see `commands::tiering`); a cold
        // record reaching here has no value in memory to write.
        Value::Cold(_) => {
            out.push(TYPE_STRING);
            string(out, b"");
        }
        Value::List(list) => {
            out.push(TYPE_LIST_QUICKLIST_2);
            let mut nodes: Vec<Vec<u8>> = Vec::new();
            let mut node = Listpack::new();
            for element in list.iter() {
                if node.count > 0
                    && node.bytes() + element.len() + LIST_ELEMENT_OVERHEAD > LIST_NODE_BYTES
                {
                    nodes.push(std::mem::take(&mut node).finish());
                }
                node.push(element);
            }
            if node.count > 0 {
                nodes.push(node.finish());
            }
            len(out, nodes.len() as u64);
            for node in &nodes {
                len(out, QUICKLIST_PACKED);
                string(out, node);
            }
        }
        Value::Set(set) if set.encoding() == "intset" => {
            out.push(TYPE_SET_INTSET);
            let ints: Vec<i64> = set
                .iter()
                .filter_map(|m| match m {
                    Member::Int(n) => Some(n),
                    Member::Bytes(b) => parse_i64(b),
                })
                .collect();
            let width: usize = if ints.iter().all(|&n| i16::try_from(n).is_ok()) {
                2
            } else if ints.iter().all(|&n| i32::try_from(n).is_ok()) {
                4
            } else {
                8
            };
            let mut blob = Vec::with_capacity(8 + width * ints.len());
            blob.extend_from_slice(&(width as u32).to_le_bytes());
            blob.extend_from_slice(&(ints.len() as u32).to_le_bytes());
            for n in ints {
                blob.extend_from_slice(&n.to_le_bytes()[..width]);
            }
            string(out, &blob);
        }
        Value::Set(set) => {
            out.push(TYPE_SET);
            len(out, set.len() as u64);
            for member in set.iter() {
                member.with_bytes(|bytes| string(out, bytes));
            }
        }
        Value::ZSet(zset) if zset.is_listpack() => {
            out.push(TYPE_ZSET_LISTPACK);
            let mut lp = Listpack::new();
            let mut text = String::new();
            for (member, score) in zset.set().iter() {
                lp.push(member);
                score_text(score, &mut text);
                lp.push(text.as_bytes());
            }
            string(out, &lp.finish());
        }
        Value::ZSet(zset) => {
            // From the highest score down, as Redis writes them (it loads faster that way).
            out.push(TYPE_ZSET_2);
            len(out, zset.len() as u64);
            for (member, score) in zset.set().iter().rev() {
                string(out, member);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
        Value::Hash(hash) if hash.encoding() == "listpack" => {
            out.push(TYPE_HASH_LISTPACK);
            let mut lp = Listpack::new();
            for (field, value) in hash.iter() {
                lp.push(field);
                lp.push(value);
            }
            string(out, &lp.finish());
        }
        Value::Hash(hash) => {
            out.push(TYPE_HASH);
            len(out, hash.len() as u64);
            for (field, value) in hash.iter() {
                string(out, field);
                string(out, value);
            }
        }
        Value::Stream(stream) => {
            out.push(TYPE_STREAM_LISTPACKS_2);
            stream_value(out, stream, stream_limits);
        }
        Value::Tree(tree) => {
            out.push(TYPE_TREE);
            out.push(match tree.ordering() {
                TreeOrdering::Bytes => 0,
                TreeOrdering::Numeric => 1,
            });
            len(out, tree.len() as u64);
            for (key, value) in tree.iter() {
                string(out, key);
                string(out, value);
            }
        }
        Value::Graph(graph) => {
            out.push(TYPE_GRAPH);
            out.push(u8::from(graph.is_directed()));
            len(out, graph.node_count() as u64);
            for node in graph.iter_nodes() {
                string(out, node);
            }
            let edges: Vec<_> = graph.iter_edges().collect();
            len(out, edges.len() as u64);
            for (from, to, weight) in edges {
                string(out, from);
                string(out, to);
                out.extend_from_slice(&weight.to_le_bytes());
            }
        }
        Value::Queue(queue) => {
            out.push(TYPE_QUEUE);
            len(out, queue.len() as u64);
            for item in queue.iter() {
                string(out, item);
            }
        }
        Value::Stack(stack) => {
            out.push(TYPE_STACK);
            len(out, stack.len() as u64);
            for item in stack.iter() {
                string(out, item);
            }
        }
    }
}

fn stream_id_key(id: StreamId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&id.ms.to_be_bytes());
    key[8..].copy_from_slice(&id.seq.to_be_bytes());
    key
}

/// One stream node being filled as Redis's `streamAppendItem` fills it.
struct StreamNode {
    master: StreamId,
    master_fields: Vec<Vec<u8>>,
    count: i64,
    /// The entries after the master entry's count.
    body: Listpack,
}

impl StreamNode {
    /// Redis's `lpBytes` of the node as it stands.
    fn bytes(&self) -> usize {
        // The body holds every entry except the master count, kept apart because Redis
        // rewrites it in place as the node grows.
        self.body.bytes() + Listpack::int_entry_bytes(self.count)
    }

    fn finish(self) -> ([u8; 16], Vec<u8>) {
        let mut lp = Listpack::new();
        lp.push_int(self.count);
        let mut bytes = lp.buf;
        bytes.extend_from_slice(&self.body.buf[6..]);
        let lp = Listpack {
            buf: bytes,
            count: self.body.count + 1,
        };
        (stream_id_key(self.master), lp.finish())
    }
}

fn stream_value(out: &mut Vec<u8>, stream: &StreamValue, limits: NodeLimits) {
    let mut nodes: Vec<([u8; 16], Vec<u8>)> = Vec::new();
    let mut current: Option<StreamNode> = None;
    for entry in stream.entries().iter() {
        let pairs: Vec<(&[u8], &[u8])> = entry.fields.iter().collect();
        let entry_bytes: usize = pairs.iter().map(|(f, v)| f.len() + v.len()).sum();
        let full = current.as_ref().is_some_and(|node| {
            (limits.max_bytes > 0 && (node.bytes() + entry_bytes) as u64 >= limits.max_bytes)
                || (limits.max_entries > 0 && node.count as u64 >= limits.max_entries)
        });
        if full {
            if let Some(node) = current.take() {
                nodes.push(node.finish());
            }
        }
        let node = current.get_or_insert_with(|| {
            let mut body = Listpack::new();
            body.push_int(0); // deleted entries
            body.push_int(pairs.len() as i64);
            for (field, _) in &pairs {
                body.push(field);
            }
            body.push_int(0); // end of the master entry
            StreamNode {
                master: entry.id,
                master_fields: pairs.iter().map(|(f, _)| f.to_vec()).collect(),
                count: 0,
                body,
            }
        });
        let same_fields = pairs.len() == node.master_fields.len()
            && pairs
                .iter()
                .zip(&node.master_fields)
                .all(|((f, _), m)| *f == &m[..]);
        let body = &mut node.body;
        body.push_int(if same_fields { STREAM_SAME_FIELDS } else { 0 });
        body.push_int(entry.id.ms.wrapping_sub(node.master.ms) as i64);
        body.push_int(entry.id.seq.wrapping_sub(node.master.seq) as i64);
        if same_fields {
            for (_, value) in &pairs {
                body.push(value);
            }
            body.push_int(pairs.len() as i64 + 3);
        } else {
            body.push_int(pairs.len() as i64);
            for (field, value) in &pairs {
                body.push(field);
                body.push(value);
            }
            body.push_int(2 * pairs.len() as i64 + 4);
        }
        node.count += 1;
    }
    if let Some(node) = current {
        nodes.push(node.finish());
    }
    len(out, nodes.len() as u64);
    for (key, lp) in &nodes {
        string(out, key);
        string(out, lp);
    }
    let c = stream.counters();
    len(out, stream.len());
    len(out, c.last_id.ms);
    len(out, c.last_id.seq);
    len(out, c.first_id.ms);
    len(out, c.first_id.seq);
    len(out, c.max_deleted_id.ms);
    len(out, c.max_deleted_id.seq);
    len(out, c.entries_added);
    len(out, stream.groups().len() as u64);
    for (name, group) in stream.groups() {
        string(out, name);
        len(out, group.last_id.ms);
        len(out, group.last_id.seq);
        len(out, group.entries_read.unwrap_or(u64::MAX));
        len(out, group.pel.len() as u64);
        for (id, pending) in &group.pel {
            out.extend_from_slice(&stream_id_key(*id));
            millis(out, pending.delivery_time);
            len(out, pending.delivery_count);
        }
        len(out, group.consumers.len() as u64);
        for (name, consumer) in &group.consumers {
            string(out, name);
            millis(out, consumer.seen_time);
            len(out, consumer.pending.len() as u64);
            for id in &consumer.pending {
                out.extend_from_slice(&stream_id_key(*id));
            }
        }
    }
}
