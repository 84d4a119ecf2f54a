//! RDB bytes to values: every type and encoding Redis 7.0 reads, the older ones included
//! (zipmap and ziplist hashes, ziplist lists and sorted sets, quicklists of ziplists, version-1
//! streams, string-encoded scores).
//!
//! Every length is checked against the bytes left before anything is allocated; the blobs
//! inside (listpacks, ziplists, intsets, zipmaps) are walked with bounds checks and their
//! headers must agree with what is found. A value with a repeated member or field, or left
//! empty, is refused.

use super::{lzf, RdbError, RdbResult, CRC64};
use super::{
    TYPE_GRAPH, TYPE_HASH, TYPE_HASH_LISTPACK, TYPE_HASH_ZIPLIST, TYPE_HASH_ZIPMAP, TYPE_LIST,
    TYPE_LIST_QUICKLIST, TYPE_LIST_QUICKLIST_2, TYPE_LIST_ZIPLIST, TYPE_MODULE, TYPE_MODULE_2,
    TYPE_QUEUE, TYPE_SET, TYPE_SET_INTSET, TYPE_SET_LISTPACK, TYPE_STACK, TYPE_STREAM_LISTPACKS,
    TYPE_STREAM_LISTPACKS_2, TYPE_STREAM_LISTPACKS_3, TYPE_STRING, TYPE_TREE, TYPE_ZSET,
    TYPE_ZSET_2, TYPE_ZSET_LISTPACK, TYPE_ZSET_ZIPLIST,
};
use crate::store::graph::GraphValue;
use crate::store::hash::HashValue;
use crate::store::list::ListValue;
use crate::store::pile::{QueueValue, StackValue};
use crate::store::set::SetValue;
use crate::store::stream::{Consumer, Counters, Group, Pending, StreamValue};
use crate::store::stream_log::{NodeLimits, StreamId};
use crate::store::tree::{TreeOrdering, TreeValue};
use crate::store::value::StrEncoding;
use crate::store::zset::ZSetValue;
use crate::store::{EncodingLimits, FastSet, ShortBytes, Value};
use std::io::Read;

/// Reads RDB data from any `Read`, knowing how many bytes there are in all (so that no stated
/// length beyond them is believed), tracking the offset and, when asked, the CRC-64.
pub struct Reader<R> {
    inner: R,
    offset: u64,
    total: u64,
    digest: Option<crc::Digest<'static, u64, crc::Table<16>>>,
}

/// Field/value pairs read from a blob.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A string read from RDB data: its bytes, or an integer it was stored as.
enum Text {
    Bytes(Vec<u8>),
    Int(i64),
}

impl Text {
    fn into_bytes(self) -> Vec<u8> {
        match self {
            Text::Bytes(b) => b,
            Text::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
        }
    }
}

impl<R: Read> Reader<R> {
    /// A reader of `total` bytes from `inner`.
    pub fn new(inner: R, total: u64) -> Self {
        Reader {
            inner,
            offset: 0,
            total,
            digest: None,
        }
    }

    /// Starts computing the CRC-64 of everything read from now on.
    pub fn track_checksum(&mut self) {
        self.digest = Some(CRC64.digest());
    }

    /// The CRC-64 of what was read since [`Self::track_checksum`].
    pub fn checksum(&self) -> Option<u64> {
        self.digest.clone().map(|d| d.finalize())
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> u64 {
        self.total.saturating_sub(self.offset)
    }

    /// An error at the current offset.
    pub fn error(&self, what: impl Into<String>) -> RdbError {
        RdbError {
            offset: self.offset,
            what: what.into(),
        }
    }

    pub fn exact(&mut self, buf: &mut [u8]) -> RdbResult<()> {
        if buf.len() as u64 > self.remaining() {
            return Err(self.error("unexpected end of data"));
        }
        self.inner
            .read_exact(buf)
            .map_err(|e| self.error(format!("unexpected end of data ({e})")))?;
        if let Some(d) = self.digest.as_mut() {
            d.update(buf);
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// `n` bytes, refused before allocating when fewer remain.
    pub fn bytes(&mut self, n: u64) -> RdbResult<Vec<u8>> {
        if n > self.remaining() {
            return Err(self.error(format!("length {n} beyond the end of the data")));
        }
        let mut buf = vec![0; n as usize];
        self.exact(&mut buf)?;
        Ok(buf)
    }

    pub fn u8(&mut self) -> RdbResult<u8> {
        let mut b = [0u8; 1];
        self.exact(&mut b)?;
        Ok(b[0])
    }

    pub fn u32_le(&mut self) -> RdbResult<u32> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn u64_le(&mut self) -> RdbResult<u64> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn f64_le(&mut self) -> RdbResult<f64> {
        Ok(f64::from_bits(self.u64_le()?))
    }

    /// A length, or the string encoding that follows (`Err(kind)` for `11xxxxxx`).
    fn len_or_encoding(&mut self) -> RdbResult<Result<u64, u8>> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Ok(u64::from(first & 0x3F)),
            1 => Ok((u64::from(first & 0x3F) << 8) | u64::from(self.u8()?)),
            2 => match first {
                0x80 => {
                    let mut b = [0u8; 4];
                    self.exact(&mut b)?;
                    Ok(u64::from(u32::from_be_bytes(b)))
                }
                0x81 => {
                    let mut b = [0u8; 8];
                    self.exact(&mut b)?;
                    Ok(u64::from_be_bytes(b))
                }
                _ => return Err(self.error(format!("unknown length encoding 0x{first:02x}"))),
            },
            _ => Err(first & 0x3F),
        })
    }

    /// A plain length.
    pub fn length(&mut self) -> RdbResult<u64> {
        match self.len_or_encoding()? {
            Ok(n) => Ok(n),
            Err(_) => Err(self.error("an encoded string where a length belongs")),
        }
    }

    /// A count of things that each take at least `min_bytes` bytes: refused when the data
    /// left cannot hold that many.
    fn count(&mut self, min_bytes: u64) -> RdbResult<u64> {
        let n = self.length()?;
        if n.saturating_mul(min_bytes) > self.remaining() {
            return Err(self.error(format!("count {n} beyond the end of the data")));
        }
        Ok(n)
    }

    fn text(&mut self) -> RdbResult<Text> {
        match self.len_or_encoding()? {
            Ok(n) => Ok(Text::Bytes(self.bytes(n)?)),
            Err(0) => Ok(Text::Int(i64::from(self.u8()? as i8))),
            Err(1) => {
                let mut b = [0u8; 2];
                self.exact(&mut b)?;
                Ok(Text::Int(i64::from(i16::from_le_bytes(b))))
            }
            Err(2) => Ok(Text::Int(i64::from(self.u32_le()? as i32))),
            Err(3) => {
                let packed_len = self.length()?;
                let len = self.length()?;
                if len
                    > packed_len
                        .saturating_mul(lzf::MAX_EXPANSION)
                        .saturating_add(64)
                {
                    return Err(self.error(format!(
                        "compressed string of {packed_len} bytes cannot expand to {len}"
                    )));
                }
                let packed = self.bytes(packed_len)?;
                lzf::decompress(&packed, len as usize)
                    .map(Text::Bytes)
                    .ok_or_else(|| self.error("invalid LZF-compressed string"))
            }
            Err(kind) => Err(self.error(format!("unknown string encoding {kind}"))),
        }
    }

    /// A string.
    pub fn string(&mut self) -> RdbResult<Vec<u8>> {
        Ok(self.text()?.into_bytes())
    }

    /// A score as version-1 sorted sets store it: a length byte, then the text (253 NaN,
    /// 254 +inf, 255 -inf).
    fn text_double(&mut self) -> RdbResult<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.bytes(u64::from(n))?;
                std::str::from_utf8(&text)
                    .ok()
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .ok_or_else(|| self.error("invalid score"))
            }
        }
    }

    /// The value of type `ty` (its type byte already read), built in the encodings `limits`
    /// choose, as Redis's `rdbLoadObject`.
    pub fn value(&mut self, ty: u8, limits: &EncodingLimits) -> RdbResult<Value> {
        let start = self.offset;
        let value = self.value_maybe_empty(ty, limits)?;
        if value.is_empty_collection() {
            return Err(self.error_at(start, "empty value"));
        }
        Ok(value)
    }

    /// Like [`Self::value`], but an empty collection is returned rather than refused (files
    /// may hold them: Redis skips them when it loads).
    pub fn value_maybe_empty(&mut self, ty: u8, limits: &EncodingLimits) -> RdbResult<Value> {
        let start = self.offset;
        let value = match ty {
            TYPE_STRING => {
                let bytes = self.string()?;
                Value::Str(ShortBytes::from_vec(bytes), StrEncoding::Auto)
            }
            TYPE_LIST => {
                let n = self.count(1)?;
                let mut list = ListValue::new();
                for _ in 0..n {
                    list.push_back(&self.string()?);
                }
                Value::List(Box::new(list))
            }
            TYPE_LIST_ZIPLIST => {
                let blob = self.string()?;
                let mut list = ListValue::new();
                ziplist_each(&blob, |e| {
                    list.push_back(e);
                    Ok(())
                })
                .map_err(|what| self.error_at(start, what))?;
                Value::List(Box::new(list))
            }
            TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
                let nodes = self.count(1)?;
                let mut list = ListValue::new();
                for _ in 0..nodes {
                    let container = if ty == TYPE_LIST_QUICKLIST_2 {
                        self.length()?
                    } else {
                        2
                    };
                    let blob = self.string()?;
                    let at = self.offset;
                    let result = match (ty, container) {
                        (_, 1) => {
                            list.push_back(&blob);
                            Ok(())
                        }
                        (TYPE_LIST_QUICKLIST, _) => ziplist_each(&blob, |e| {
                            list.push_back(e);
                            Ok(())
                        })
                        .map(|_| ()),
                        (_, 2) => listpack_each(&blob, |e| {
                            list.push_back(e);
                            Ok(())
                        })
                        .map(|_| ()),
                        _ => Err(format!("unknown quicklist container {container}")),
                    };
                    result.map_err(|what| self.error_at(at, what))?;
                }
                Value::List(Box::new(list))
            }
            TYPE_SET => {
                let n = self.count(1)?;
                let mut set = SetValue::default();
                for _ in 0..n {
                    let member = self.string()?;
                    self.add_member(&mut set, &member, limits)?;
                }
                Value::Set(set)
            }
            TYPE_SET_INTSET => {
                let blob = self.string()?;
                let mut set = SetValue::default();
                let members = intset_members(&blob).map_err(|what| self.error_at(start, what))?;
                let mut text = itoa::Buffer::new();
                for n in members {
                    self.add_member(&mut set, text.format(n).as_bytes(), limits)?;
                }
                Value::Set(set)
            }
            TYPE_SET_LISTPACK => {
                let blob = self.string()?;
                let mut members = Vec::new();
                listpack_each(&blob, |e| {
                    members.push(e.to_vec());
                    Ok(())
                })
                .map_err(|what| self.error_at(start, what))?;
                let mut set = SetValue::default();
                for member in members {
                    self.add_member(&mut set, &member, limits)?;
                }
                Value::Set(set)
            }
            TYPE_ZSET | TYPE_ZSET_2 => {
                let n = self.count(2)?;
                let mut entries = Vec::with_capacity(n.min(1 << 16) as usize);
                for _ in 0..n {
                    let member = self.string()?;
                    let score = if ty == TYPE_ZSET_2 {
                        self.f64_le()?
                    } else {
                        self.text_double()?
                    };
                    if score.is_nan() {
                        return Err(self.error("NaN score"));
                    }
                    entries.push((member, score));
                }
                self.zset(entries, limits, start)?
            }
            TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
                let blob = self.string()?;
                let mut flat = Vec::new();
                let walk = |e: &[u8]| {
                    flat.push(e.to_vec());
                    Ok(())
                };
                if ty == TYPE_ZSET_ZIPLIST {
                    ziplist_each(&blob, walk)
                } else {
                    listpack_each(&blob, walk)
                }
                .map_err(|what| self.error_at(start, what))?;
                if flat.len() % 2 != 0 {
                    return Err(self.error_at(start, "odd number of sorted set elements"));
                }
                let mut entries = Vec::with_capacity(flat.len() / 2);
                let mut it = flat.into_iter();
                while let (Some(member), Some(score)) = (it.next(), it.next()) {
                    let score = crate::number::parse_f64(&score)
                        .or_else(|| std::str::from_utf8(&score).ok()?.parse().ok())
                        .filter(|s: &f64| !s.is_nan())
                        .ok_or_else(|| self.error_at(start, "invalid score"))?;
                    entries.push((member, score));
                }
                self.zset(entries, limits, start)?
            }
            TYPE_HASH => {
                let n = self.count(2)?;
                let mut pairs = Vec::with_capacity(n.min(1 << 16) as usize);
                for _ in 0..n {
                    let field = self.string()?;
                    let value = self.string()?;
                    pairs.push((field, value));
                }
                self.hash(pairs, limits, start)?
            }
            TYPE_HASH_ZIPMAP => {
                let blob = self.string()?;
                let pairs = zipmap_pairs(&blob).map_err(|what| self.error_at(start, what))?;
                self.hash(pairs, limits, start)?
            }
            TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
                let blob = self.string()?;
                let mut flat = Vec::new();
                let walk = |e: &[u8]| {
                    flat.push(e.to_vec());
                    Ok(())
                };
                if ty == TYPE_HASH_ZIPLIST {
                    ziplist_each(&blob, walk)
                } else {
                    listpack_each(&blob, walk)
                }
                .map_err(|what| self.error_at(start, what))?;
                if flat.len() % 2 != 0 {
                    return Err(self.error_at(start, "odd number of hash elements"));
                }
                let mut pairs = Vec::with_capacity(flat.len() / 2);
                let mut it = flat.into_iter();
                while let (Some(field), Some(value)) = (it.next(), it.next()) {
                    pairs.push((field, value));
                }
                self.hash(pairs, limits, start)?
            }
            TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
                Value::Stream(Box::new(self.stream(ty)?))
            }
            TYPE_MODULE | TYPE_MODULE_2 => {
                let id = self.length()?;
                return Err(self.error_at(
                    start,
                    format!(
                        "a value of module type '{}' (modules are not supported)",
                        module_type_name(id)
                    ),
                ));
            }
            TYPE_TREE => {
                let ordering = match self.u8()? {
                    0 => TreeOrdering::Bytes,
                    1 => TreeOrdering::Numeric,
                    other => return Err(self.error(format!("unknown tree ordering {other}"))),
                };
                let n = self.count(2)?;
                let mut entries = Vec::with_capacity(n.min(1 << 16) as usize);
                for _ in 0..n {
                    entries.push((self.string()?, self.string()?));
                }
                let tree = TreeValue::from_entries(ordering, entries.iter().map(|(k, v)| (k, v)))
                    .map_err(|e| self.error_at(start, e.to_string()))?;
                if tree.len() as u64 != n {
                    return Err(self.error_at(start, "duplicate tree keys"));
                }
                Value::Tree(Box::new(tree))
            }
            TYPE_GRAPH => {
                let directed = match self.u8()? {
                    0 => false,
                    1 => true,
                    other => return Err(self.error(format!("unknown graph kind {other}"))),
                };
                let n = self.count(1)?;
                let mut nodes = Vec::with_capacity(n.min(1 << 16) as usize);
                for _ in 0..n {
                    nodes.push(self.string()?);
                }
                let m = self.count(10)?;
                let mut edges = Vec::with_capacity(m.min(1 << 16) as usize);
                for _ in 0..m {
                    let from = self.string()?;
                    let to = self.string()?;
                    let weight = self.f64_le()?;
                    edges.push((from, to, weight));
                }
                let graph = GraphValue::from_parts(directed, &nodes, edges)
                    .map_err(|e| self.error_at(start, e.to_string()))?;
                if graph.node_count() as u64 != n {
                    return Err(self.error_at(start, "duplicate graph nodes"));
                }
                Value::Graph(Box::new(graph))
            }
            TYPE_QUEUE | TYPE_STACK => {
                let n = self.count(1)?;
                let mut items = Vec::with_capacity(n.min(1 << 16) as usize);
                for _ in 0..n {
                    items.push(self.string()?);
                }
                if ty == TYPE_QUEUE {
                    Value::Queue(Box::new(items.iter().collect::<QueueValue>()))
                } else {
                    Value::Stack(Box::new(items.iter().collect::<StackValue>()))
                }
            }
            other => return Err(self.error_at(start, format!("unknown value type {other}"))),
        };
        Ok(value)
    }

    fn error_at(&self, offset: u64, what: impl Into<String>) -> RdbError {
        RdbError {
            offset,
            what: what.into(),
        }
    }

    fn add_member(
        &self,
        set: &mut SetValue,
        member: &[u8],
        limits: &EncodingLimits,
    ) -> RdbResult<()> {
        match set.add(member, limits.set_max_intset_entries()) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.error("duplicate set member")),
            Err(e) => Err(self.error(e.to_string())),
        }
    }

    fn zset(
        &self,
        entries: Vec<(Vec<u8>, f64)>,
        limits: &EncodingLimits,
        start: u64,
    ) -> RdbResult<Value> {
        let zset = ZSetValue::from_result(&entries, limits.zset)
            .map_err(|e| self.error_at(start, e.to_string()))?;
        if zset.len() != entries.len() {
            return Err(self.error_at(start, "duplicate sorted set member"));
        }
        Ok(Value::ZSet(Box::new(zset)))
    }

    fn hash(
        &self,
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
        limits: &EncodingLimits,
        start: u64,
    ) -> RdbResult<Value> {
        let hash = HashValue::from_pairs(pairs.iter().map(|(f, v)| (&f[..], &v[..])), limits.hash)
            .map_err(|e| self.error_at(start, e.to_string()))?;
        if hash.len() != pairs.len() {
            return Err(self.error_at(start, "duplicate hash field"));
        }
        Ok(Value::Hash(hash))
    }

    fn stream_id(&mut self) -> RdbResult<StreamId> {
        let mut raw = [0u8; 16];
        self.exact(&mut raw)?;
        Ok(id_from_key(&raw))
    }

    fn len_id(&mut self) -> RdbResult<StreamId> {
        Ok(StreamId::new(self.length()?, self.length()?))
    }

    fn stream(&mut self, ty: u8) -> RdbResult<StreamValue> {
        let mut stream = StreamValue::new();
        let nodes = self.count(2)?;
        let mut last: Option<StreamId> = None;
        let mut entries = 0u64;
        for _ in 0..nodes {
            let key = self.string()?;
            let at = self.offset;
            let master = <&[u8; 16]>::try_from(&key[..])
                .map(id_from_key)
                .map_err(|_| self.error("stream node key is not 16 bytes"))?;
            let blob = self.string()?;
            let added = stream_node_each(&blob, master, |id, pairs| {
                if last.is_some_and(|l| l >= id) {
                    return Err("stream IDs out of order".to_string());
                }
                last = Some(id);
                stream.append(id, pairs, NodeLimits::default());
                Ok(())
            })
            .map_err(|what| self.error_at(at, what))?;
            if added == 0 {
                return Err(self.error_at(at, "empty stream node"));
            }
            entries += added;
        }
        let length = self.length()?;
        if length != entries {
            return Err(self.error(format!("stream length {length} but {entries} entries")));
        }
        let last_id = self.len_id()?;
        if last.is_some_and(|l| l > last_id) {
            return Err(self.error("stream entry beyond the last ID"));
        }
        let counters = if ty >= TYPE_STREAM_LISTPACKS_2 {
            Counters {
                last_id,
                first_id: self.len_id()?,
                max_deleted_id: self.len_id()?,
                entries_added: self.length()?,
            }
        } else {
            Counters {
                last_id,
                first_id: stream
                    .entries()
                    .first()
                    .map_or(StreamId::new(0, 0), |e| e.id),
                max_deleted_id: StreamId::new(0, 0),
                entries_added: length,
            }
        };
        stream.restore_counters(counters);
        let groups = self.count(3)?;
        let mut names: FastSet<Vec<u8>> = FastSet::default();
        for _ in 0..groups {
            let name = self.string()?;
            if !names.insert(name.clone()) {
                return Err(self.error("duplicate consumer group"));
            }
            let last_id = self.len_id()?;
            let entries_read = if ty >= TYPE_STREAM_LISTPACKS_2 {
                Some(self.length()?).filter(|&n| n != u64::MAX)
            } else {
                estimated_entries_read(&counters, length, last_id)
            };
            let mut group = Group {
                last_id,
                entries_read,
                ..Group::default()
            };
            for _ in 0..self.count(26)? {
                let id = self.stream_id()?;
                let delivery_time = self.u64_le()?;
                let delivery_count = self.length()?;
                let pending = Pending {
                    consumer: Box::default(),
                    delivery_time,
                    delivery_count,
                };
                if group.pel.insert(id, pending).is_some() {
                    return Err(self.error("duplicate pending entry"));
                }
            }
            for _ in 0..self.count(10)? {
                let cname = self.string()?;
                let seen_time = self.u64_le()?;
                if ty == TYPE_STREAM_LISTPACKS_3 {
                    // Redis 7.2's active time: not kept.
                    self.u64_le()?;
                }
                let mut consumer = Consumer {
                    seen_time,
                    ..Consumer::default()
                };
                for _ in 0..self.count(16)? {
                    let id = self.stream_id()?;
                    let Some(pending) = group.pel.get_mut(&id) else {
                        return Err(self.error("consumer's pending entry not in the group"));
                    };
                    if !pending.consumer.is_empty() || !consumer.pending.insert(id) {
                        return Err(self.error("pending entry owned twice"));
                    }
                    pending.consumer = cname.clone().into();
                }
                if group.consumers.insert(cname.into(), consumer).is_some() {
                    return Err(self.error("duplicate consumer"));
                }
            }
            if group.pel.values().any(|p| p.consumer.is_empty()) {
                return Err(self.error("pending entry without a consumer"));
            }
            stream.restore_group(&name, group);
        }
        Ok(stream)
    }
}

/// Whether `ty` is a value type this reader knows (Redis's, old and new, and Reddish's own).
pub fn is_value_type(ty: u8) -> bool {
    matches!(ty, 0..=7 | 9..=21 | TYPE_TREE..=TYPE_STACK)
}

/// A group's read counter for a stream saved before Redis 7.0 kept one, estimated from its
/// last delivered ID as Redis's `streamEstimateDistanceFromFirstEverEntry` does on loading.
fn estimated_entries_read(c: &Counters, length: u64, id: StreamId) -> Option<u64> {
    if c.entries_added == 0 {
        return Some(0);
    }
    if length == 0 && id <= c.last_id {
        return Some(c.entries_added);
    }
    if id == c.last_id {
        return Some(c.entries_added);
    }
    if id > c.last_id {
        return None;
    }
    let zero = StreamId::new(0, 0);
    if c.max_deleted_id == zero || c.max_deleted_id < c.first_id {
        if id < c.first_id {
            return Some(c.entries_added - length);
        }
        if id == c.first_id {
            return Some(c.entries_added - length + 1);
        }
    }
    None
}

fn id_from_key(raw: &[u8; 16]) -> StreamId {
    let mut ms = [0u8; 8];
    let mut seq = [0u8; 8];
    ms.copy_from_slice(&raw[..8]);
    seq.copy_from_slice(&raw[8..]);
    StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
}

/// A module type's name from its 64-bit id (9 characters of 6 bits, then a 10-bit version).
fn module_type_name(id: u64) -> String {
    const CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..9)
        .map(|i| CHARSET[((id >> (64 - 6 * (i + 1))) & 63) as usize] as char)
        .collect()
}

/// Skips a module's opcode-framed data (aux data in files): opcode, value, until opcode 0.
pub fn skip_module_data<R: Read>(r: &mut Reader<R>) -> RdbResult<()> {
    loop {
        match r.length()? {
            0 => return Ok(()),
            1 | 2 => {
                r.length()?;
            }
            3 => {
                r.u32_le()?;
            }
            4 => {
                r.u64_le()?;
            }
            5 => {
                r.text()?;
            }
            other => return Err(r.error(format!("unknown module data opcode {other}"))),
        }
    }
}

/// A blob's element: its bytes, or an integer written as text into `scratch`.
fn int_text(n: i64, scratch: &mut itoa::Buffer) -> &[u8] {
    scratch.format(n).as_bytes()
}

fn slice(blob: &[u8], at: usize, n: usize) -> Result<&[u8], String> {
    at.checked_add(n)
        .and_then(|end| blob.get(at..end))
        .ok_or_else(|| "element beyond the end of its blob".to_string())
}

/// Calls `each` with every element of a listpack, in order; returns the count. Checks the
/// header's byte and element counts, every entry's back-length and the terminator.
pub fn listpack_each(
    blob: &[u8],
    mut each: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<usize, String> {
    if blob.len() < 7 {
        return Err("listpack shorter than its header".into());
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err("listpack size does not match its header".into());
    }
    let stated = u16::from_le_bytes([blob[4], blob[5]]);
    let mut pos = 6;
    let mut count = 0usize;
    let mut scratch = itoa::Buffer::new();
    while pos < blob.len() {
        let b = blob[pos];
        if b == 0xFF {
            break;
        }
        let start = pos;
        let int = |bytes: &[u8]| -> i64 {
            let mut v = [0u8; 8];
            v[..bytes.len()].copy_from_slice(bytes);
            let shift = 64 - 8 * bytes.len() as u32;
            (i64::from_le_bytes(v) << shift) >> shift
        };
        if b & 0x80 == 0 {
            pos += 1;
            each(int_text(i64::from(b & 0x7F), &mut scratch))?;
        } else if b & 0xC0 == 0x80 {
            let n = usize::from(b & 0x3F);
            each(slice(blob, pos + 1, n)?)?;
            pos += 1 + n;
        } else if b & 0xE0 == 0xC0 {
            let low = *blob.get(pos + 1).ok_or("listpack entry cut short")?;
            let raw = (u16::from(b & 0x1F) << 8) | u16::from(low);
            // 13-bit two's complement.
            let v = i64::from(raw as i16) << 51 >> 51;
            pos += 2;
            each(int_text(v, &mut scratch))?;
        } else if b & 0xF0 == 0xE0 {
            let low = *blob.get(pos + 1).ok_or("listpack entry cut short")?;
            let n = (usize::from(b & 0x0F) << 8) | usize::from(low);
            each(slice(blob, pos + 2, n)?)?;
            pos += 2 + n;
        } else {
            let width = match b {
                0xF0 => {
                    let len = slice(blob, pos + 1, 4)?;
                    let n = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
                    each(slice(blob, pos + 5, n)?)?;
                    pos += 5 + n;
                    0
                }
                0xF1 => 2,
                0xF2 => 3,
                0xF3 => 4,
                0xF4 => 8,
                _ => return Err(format!("unknown listpack encoding 0x{b:02x}")),
            };
            if width > 0 {
                let v = int(slice(blob, pos + 1, width)?);
                pos += 1 + width;
                each(int_text(v, &mut scratch))?;
            }
        }
        // The back-length: the entry's size, 7 bits a byte, most significant first.
        let size = pos - start;
        let backlen_bytes = match size {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        let back = slice(blob, pos, backlen_bytes)?;
        let mut value = 0usize;
        for (i, &byte) in back.iter().enumerate() {
            value = (value << 7) | usize::from(byte & 127);
            let continued = byte & 128 != 0;
            if continued != (i > 0) {
                return Err("listpack back-length malformed".into());
            }
        }
        if value != size {
            return Err("listpack back-length does not match its entry".into());
        }
        pos += backlen_bytes;
        count += 1;
    }
    if pos != blob.len() - 1 || blob[pos] != 0xFF {
        return Err("listpack not terminated at its end".into());
    }
    if stated != u16::MAX && usize::from(stated) != count {
        return Err("listpack element count does not match its header".into());
    }
    Ok(count)
}

/// Calls `each` with every element of a ziplist (the pre-7.0 compact encoding), in order.
fn ziplist_each(
    blob: &[u8],
    mut each: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<usize, String> {
    if blob.len() < 11 {
        return Err("ziplist shorter than its header".into());
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err("ziplist size does not match its header".into());
    }
    let stated = u16::from_le_bytes([blob[8], blob[9]]);
    let mut pos = 10;
    let mut count = 0usize;
    let mut previous = 0usize;
    let mut scratch = itoa::Buffer::new();
    while pos < blob.len() && blob[pos] != 0xFF {
        let start = pos;
        let prevlen = if blob[pos] < 254 {
            pos += 1;
            usize::from(blob[start])
        } else {
            let b = slice(blob, pos + 1, 4)?;
            pos += 5;
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        };
        if prevlen != previous {
            return Err("ziplist previous-entry length does not match".into());
        }
        let enc = *blob.get(pos).ok_or("ziplist entry cut short")?;
        match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3F);
                each(slice(blob, pos + 1, n)?)?;
                pos += 1 + n;
            }
            1 => {
                let low = *blob.get(pos + 1).ok_or("ziplist entry cut short")?;
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(low);
                each(slice(blob, pos + 2, n)?)?;
                pos += 2 + n;
            }
            2 => {
                let b = slice(blob, pos + 1, 4)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                each(slice(blob, pos + 5, n)?)?;
                pos += 5 + n;
            }
            _ => {
                let (v, width) = match enc {
                    0xC0 => {
                        let b = slice(blob, pos + 1, 2)?;
                        (i64::from(i16::from_le_bytes([b[0], b[1]])), 2)
                    }
                    0xD0 => {
                        let b = slice(blob, pos + 1, 4)?;
                        (i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])), 4)
                    }
                    0xE0 => {
                        let b = slice(blob, pos + 1, 8)?;
                        let mut v = [0u8; 8];
                        v.copy_from_slice(b);
                        (i64::from_le_bytes(v), 8)
                    }
                    0xF0 => {
                        let b = slice(blob, pos + 1, 3)?;
                        let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                        (i64::from(v), 3)
                    }
                    0xFE => {
                        let b = slice(blob, pos + 1, 1)?;
                        (i64::from(b[0] as i8), 1)
                    }
                    0xF1..=0xFD => (i64::from(enc & 0x0F) - 1, 0),
                    _ => return Err(format!("unknown ziplist encoding 0x{enc:02x}")),
                };
                pos += 1 + width;
                each(int_text(v, &mut scratch))?;
            }
        }
        previous = pos - start;
        count += 1;
    }
    if pos != blob.len() - 1 || blob[pos] != 0xFF {
        return Err("ziplist not terminated at its end".into());
    }
    if stated != u16::MAX && usize::from(stated) != count {
        return Err("ziplist element count does not match its header".into());
    }
    Ok(count)
}

/// The members of an intset: encoding width, count, then sorted little-endian integers.
fn intset_members(blob: &[u8]) -> Result<Vec<i64>, String> {
    if blob.len() < 8 {
        return Err("intset shorter than its header".into());
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("unknown intset encoding {width}"));
    }
    if count.checked_mul(width) != Some(blob.len() - 8) {
        return Err("intset size does not match its header".into());
    }
    let mut members = Vec::with_capacity(count);
    for chunk in blob[8..].chunks_exact(width) {
        let mut v = [0u8; 8];
        v[..width].copy_from_slice(chunk);
        let shift = 64 - 8 * width as u32;
        let n = (i64::from_le_bytes(v) << shift) >> shift;
        if members.last().is_some_and(|&last| last >= n) {
            return Err("intset not sorted".into());
        }
        members.push(n);
    }
    Ok(members)
}

/// The pairs of a zipmap (hashes before Redis 2.6).
fn zipmap_pairs(blob: &[u8]) -> Result<Pairs, String> {
    let mut pos = 1;
    let mut pairs = Vec::new();
    let read_len = |pos: &mut usize| -> Result<usize, String> {
        let b = *blob.get(*pos).ok_or("zipmap cut short")?;
        if b < 254 {
            *pos += 1;
            Ok(usize::from(b))
        } else if b == 254 {
            let l = slice(blob, *pos + 1, 4)?;
            *pos += 5;
            Ok(u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
        } else {
            Err("zipmap length is its terminator".into())
        }
    };
    loop {
        match blob.get(pos) {
            None => return Err("zipmap not terminated".into()),
            Some(0xFF) => break,
            Some(_) => {}
        }
        let klen = read_len(&mut pos)?;
        let key = slice(blob, pos, klen)?.to_vec();
        pos += klen;
        let vlen = read_len(&mut pos)?;
        let free = usize::from(*blob.get(pos).ok_or("zipmap cut short")?);
        pos += 1;
        let value = slice(blob, pos, vlen)?.to_vec();
        pos += vlen + free;
        pairs.push((key, value));
    }
    if pos != blob.len() - 1 {
        return Err("zipmap not terminated at its end".into());
    }
    Ok(pairs)
}

/// Calls `each` with the ID and field/value pairs of every live entry of one stream node
/// (listpack of a master entry, then entries relative to it); returns how many.
fn stream_node_each(
    blob: &[u8],
    master: StreamId,
    mut each: impl FnMut(StreamId, &[&[u8]]) -> Result<(), String>,
) -> Result<u64, String> {
    let mut elements: Vec<Vec<u8>> = Vec::new();
    listpack_each(blob, |e| {
        elements.push(e.to_vec());
        Ok(())
    })?;
    let mut it = elements.iter();
    let mut next = || it.next().ok_or_else(|| "stream node cut short".to_string());
    let int = |e: &Vec<u8>| -> Result<i64, String> {
        crate::number::parse_i64(e).ok_or_else(|| "stream node integer expected".to_string())
    };
    let count = int(next()?)?;
    let deleted = int(next()?)?;
    let master_fields_n = usize::try_from(int(next()?)?).map_err(|_| "negative field count")?;
    let mut master_fields = Vec::new();
    for _ in 0..master_fields_n {
        master_fields.push(next()?.as_slice());
    }
    if int(next()?)? != 0 {
        return Err("stream master entry not terminated".into());
    }
    let mut live = 0i64;
    let mut dead = 0i64;
    let mut pairs: Vec<&[u8]> = Vec::new();
    while let Ok(flags) = next() {
        let flags = int(flags)?;
        let ms = master.ms.wrapping_add(int(next()?)? as u64);
        let seq = master.seq.wrapping_add(int(next()?)? as u64);
        pairs.clear();
        let n;
        if flags & 2 != 0 {
            n = master_fields.len();
            for field in &master_fields {
                pairs.push(field);
                pairs.push(next()?);
            }
        } else {
            n = usize::try_from(int(next()?)?).map_err(|_| "negative field count")?;
            for _ in 0..n {
                pairs.push(next()?);
                pairs.push(next()?);
            }
        }
        let lp_count = int(next()?)?;
        let expected = if flags & 2 != 0 { n + 3 } else { 2 * n + 4 };
        if lp_count != expected as i64 {
            return Err("stream entry count field does not match".into());
        }
        if flags & 1 != 0 {
            dead += 1;
        } else {
            live += 1;
            each(StreamId::new(ms, seq), &pairs)?;
        }
    }
    if live != count || dead != deleted {
        return Err("stream node counts do not match its entries".into());
    }
    Ok(live as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements_of(blob: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        listpack_each(blob, |e| {
            out.push(e.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    /// Found by the restore_payload fuzz target: an LZF string whose packed length is near
    /// 2^64 overflowed the expansion bound (a panic where overflow is checked).
    #[test]
    fn a_huge_compressed_length_is_refused() {
        let body = b"\x09\xc3\x81\x11\x32\x00\x05\x01\xc0\x00\xff\x00\x21\xbf\xff\xff\x24\xff\xff";
        let mut payload = body.to_vec();
        payload.extend_from_slice(&super::super::RDB_VERSION.to_le_bytes());
        let crc = super::super::CRC64.checksum(&payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        let limits = crate::store::EncodingLimits::default();
        assert!(super::super::parse_payload(&payload, &limits).is_err());
    }

    #[test]
    fn listpacks_read_what_redis_writes() {
        // The listpack inside redis-server 7.0's DUMP of RPUSH l a b 1 -5 300 70000.
        let blob = b"\x1a\x00\x00\x00\x06\x00\x81a\x02\x81b\x02\x01\x01\xdf\xfb\x02\xc1,\x02\xf2p\x11\x01\x04\xff";
        let got = elements_of(blob).unwrap();
        let want: Vec<&[u8]> = vec![b"a", b"b", b"1", b"-5", b"300", b"70000"];
        assert_eq!(got, want);
        let mut cut = blob.to_vec();
        cut.truncate(20);
        assert!(elements_of(&cut).is_err());
        let mut bad_backlen = blob.to_vec();
        bad_backlen[9] = 0x05;
        assert!(elements_of(&bad_backlen).is_err());
    }

    #[test]
    fn intsets_must_be_sorted_and_sized() {
        assert_eq!(
            intset_members(b"\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00").unwrap(),
            vec![1, 2, 3]
        );
        assert!(
            intset_members(b"\x02\x00\x00\x00\x03\x00\x00\x00\x02\x00\x01\x00\x03\x00").is_err()
        );
        assert!(intset_members(b"\x02\x00\x00\x00\xff\xff\xff\x7f\x01\x00").is_err());
    }
}
