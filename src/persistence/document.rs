//! What a key looks like in MongoDB: Value <-> BSON.
//!
//! # Collections
//! - `keys`: one document per key: `{_id: Binary(db u32 BE ++ key), db, key: Binary, type,
//!   exp?: Int64 (absolute Unix ms), gen: Int64, hdr?: {type settings}, items?: [...],
//!   chunks: Int32, nops: Int32, bytes: Int64, v: 1}`. A value whose items fit in
//!   [`INLINE_BYTES`] keeps them in `items`; a larger one is spread over `chunks` documents of
//!   generation `gen`.
//! - `chunks`: `{_id: Int64(gen << 20 | i), db, items: [...]}`, `i` from 0 to `chunks - 1`.
//! - `ops`: `{_id: Int64(gen << 20 | s), db, ops: [[Binary arg, ...], ...]}`: the operation log
//!   of generation `gen`, `s` from 0 to `nops - 1`, replayed in order on top of the items.
//!
//! A generation number is never reused, so a new snapshot is written next to the old one and
//! becomes current in one step (the `keys` document's update), and the old generation's chunks
//! and operations are deleted by an `_id` range afterwards.
//!
//! # Items
//! Every type encodes its value as a flat stream of items (`Binary`, `Double`, `Int64`) plus
//! an optional header of settings; [`ItemWriter`] cuts the stream into chunks and splits any
//! byte string longer than [`PIECE_BYTES`] into a `{big: Int64(len)}` marker followed by pieces,
//! so neither a value nor a single element is limited by the 16 MB document size. Each type's
//! piece below is a pair of small functions: `encode_<type>` and `decode_<type>`.

use crate::store::graph::GraphValue;
use crate::store::hash::HashValue;
use crate::store::list::ListValue;
use crate::store::set::SetValue;
use crate::store::stream::{Consumer, Counters, Group, Pending, StreamId, StreamValue};
use crate::store::stream_log::NodeLimits;
use crate::store::tree::{TreeOrdering, TreeValue};
use crate::store::value::StrEncoding;
use crate::store::zset::ZSetValue;
use crate::store::{EncodingLimits, ShortBytes, Value};
use mongodb::bson::raw::{RawArray, RawBsonRef, RawDocument};
use mongodb::bson::spec::BinarySubtype;
use std::borrow::Cow;

/// Largest byte string stored as one BSON element; longer ones are split into pieces.
pub const PIECE_BYTES: usize = 1024 * 1024;
/// Largest `items` array of one chunk document (well under MongoDB's 16 MB limit).
pub const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// Items up to this size stay inline in the key's document.
pub const INLINE_BYTES: usize = 1024 * 1024;
/// Largest key persisted: its document also holds the key and up to [`INLINE_BYTES`] of items.
pub const MAX_KEY_BYTES: usize = 8 * 1024 * 1024;
/// Bits of a chunk or operation `_id` that number the documents of one generation.
pub const SEQ_BITS: u32 = 20;
/// Documents one generation may have in `chunks` or `ops`.
pub const MAX_SEQ: u64 = 1 << SEQ_BITS;
/// Format version written in every key document.
pub const FORMAT_VERSION: i32 = 1;

/// Why a document could not be read back into a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocError {
    #[error("field '{0}' is missing or has the wrong BSON type")]
    Field(&'static str),
    #[error("the item stream ended early")]
    Truncated,
    #[error("unexpected BSON element in the item stream")]
    Item,
    #[error("unknown value type '{0}'")]
    UnknownType(String),
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("malformed BSON: {0}")]
    Bson(String),
}

impl From<mongodb::bson::raw::Error> for DocError {
    fn from(e: mongodb::bson::raw::Error) -> Self {
        DocError::Bson(e.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal BSON writer: documents are built in one buffer without intermediate allocations,
// which matters when a batch holds thousands of keys or a value holds millions of elements.
// ---------------------------------------------------------------------------------------------

const T_DOUBLE: u8 = 0x01;
const T_STRING: u8 = 0x02;
const T_DOC: u8 = 0x03;
const T_ARRAY: u8 = 0x04;
const T_BINARY: u8 = 0x05;
const T_BOOL: u8 = 0x08;
const T_INT32: u8 = 0x10;
const T_INT64: u8 = 0x12;

/// Builds one BSON document. Fields are named; inside an array opened with
/// [`Bson::begin_array`] pass `None` as the name and the index is supplied.
#[derive(Debug, Clone)]
pub struct Bson {
    buf: Vec<u8>,
    /// Start offset and next array index of each open document, outermost first.
    open: Vec<(usize, u32)>,
}

impl Default for Bson {
    fn default() -> Self {
        Self::new()
    }
}

impl Bson {
    /// An empty document.
    pub fn new() -> Self {
        Bson {
            buf: vec![0, 0, 0, 0],
            open: vec![(0, 0)],
        }
    }

    /// Bytes written so far (the finished size is this plus one per open document).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() <= 4
    }

    fn head(&mut self, ty: u8, name: Option<&str>) {
        self.buf.push(ty);
        match name {
            Some(name) => self.buf.extend_from_slice(name.as_bytes()),
            None => {
                let index = match self.open.last_mut() {
                    Some((_, next)) => {
                        let index = *next;
                        *next += 1;
                        index
                    }
                    None => 0,
                };
                let mut digits = itoa::Buffer::new();
                self.buf.extend_from_slice(digits.format(index).as_bytes());
            }
        }
        self.buf.push(0);
    }

    pub fn binary(&mut self, name: Option<&str>, bytes: &[u8]) -> &mut Self {
        self.head(T_BINARY, name);
        self.buf
            .extend_from_slice(&(bytes.len() as i32).to_le_bytes());
        self.buf.push(0);
        self.buf.extend_from_slice(bytes);
        self
    }

    /// A fixed-size element: its type, name and little-endian bytes.
    fn scalar(&mut self, ty: u8, name: Option<&str>, le_bytes: &[u8]) -> &mut Self {
        self.head(ty, name);
        self.buf.extend_from_slice(le_bytes);
        self
    }

    pub fn i64(&mut self, name: Option<&str>, value: i64) -> &mut Self {
        self.scalar(T_INT64, name, &value.to_le_bytes())
    }

    pub fn i32(&mut self, name: Option<&str>, value: i32) -> &mut Self {
        self.scalar(T_INT32, name, &value.to_le_bytes())
    }

    pub fn f64(&mut self, name: Option<&str>, value: f64) -> &mut Self {
        self.scalar(T_DOUBLE, name, &value.to_le_bytes())
    }

    pub fn bool(&mut self, name: Option<&str>, value: bool) -> &mut Self {
        self.scalar(T_BOOL, name, &[value as u8])
    }

    /// A UTF-8 string (names, never user data: user data is always Binary).
    pub fn str(&mut self, name: Option<&str>, value: &str) -> &mut Self {
        self.head(T_STRING, name);
        self.buf
            .extend_from_slice(&(value.len() as i32 + 1).to_le_bytes());
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(0);
        self
    }

    /// Appends a finished document (from [`Bson::finish`]) as an embedded document.
    pub fn doc(&mut self, name: Option<&str>, doc: &[u8]) -> &mut Self {
        self.head(T_DOC, name);
        self.buf.extend_from_slice(doc);
        self
    }

    /// Appends a finished document whose keys are "0", "1", ... as an array.
    pub fn array(&mut self, name: Option<&str>, array: &[u8]) -> &mut Self {
        self.head(T_ARRAY, name);
        self.buf.extend_from_slice(array);
        self
    }

    pub fn begin_doc(&mut self, name: Option<&str>) -> &mut Self {
        self.head(T_DOC, name);
        self.open.push((self.buf.len(), 0));
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        self
    }

    pub fn begin_array(&mut self, name: Option<&str>) -> &mut Self {
        self.head(T_ARRAY, name);
        self.open.push((self.buf.len(), 0));
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        self
    }

    /// Closes the innermost document or array opened with `begin_*`.
    pub fn end(&mut self) -> &mut Self {
        if self.open.len() > 1 {
            if let Some((start, _)) = self.open.pop() {
                self.close_at(start);
            }
        }
        self
    }

    fn close_at(&mut self, start: usize) {
        self.buf.push(0);
        let size = (self.buf.len() - start) as i32;
        self.buf[start..start + 4].copy_from_slice(&size.to_le_bytes());
    }

    /// Closes every open document and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        while self.open.len() > 1 {
            self.end();
        }
        self.close_at(0);
        self.buf
    }
}

/// Size of a BSON element holding `payload` bytes under an array index of up to 7 digits.
fn element_size(payload: usize) -> usize {
    1 + 8 + payload
}

// ---------------------------------------------------------------------------------------------
// Item streams
// ---------------------------------------------------------------------------------------------

/// Writes a value's item stream, cutting it into chunk arrays of at most [`CHUNK_BYTES`].
#[derive(Debug, Default)]
pub struct ItemWriter {
    done: Vec<Vec<u8>>,
    current: Bson,
    items: u64,
    total: usize,
}

impl ItemWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn make_room(&mut self, payload: usize) {
        if !self.current.is_empty() && self.current.len() + element_size(payload) > CHUNK_BYTES {
            let full = std::mem::take(&mut self.current);
            self.done.push(full.finish());
        }
        self.total += element_size(payload);
        self.items += 1;
    }

    /// A byte string of any length. O(len).
    pub fn bytes(&mut self, bytes: &[u8]) {
        if bytes.len() <= PIECE_BYTES {
            self.make_room(bytes.len() + 5);
            self.current.binary(None, bytes);
            return;
        }
        self.make_room(20);
        let mut marker = Bson::new();
        marker.i64(Some("big"), bytes.len() as i64);
        self.current.doc(None, &marker.finish());
        for piece in bytes.chunks(PIECE_BYTES) {
            self.make_room(piece.len() + 5);
            self.current.binary(None, piece);
        }
    }

    pub fn f64(&mut self, value: f64) {
        self.make_room(8);
        self.current.f64(None, value);
    }

    pub fn i64(&mut self, value: i64) {
        self.make_room(8);
        self.current.i64(None, value);
    }

    /// The chunk arrays (each a BSON document with keys "0", "1", ...), and the stream's
    /// total size in bytes.
    pub fn finish(mut self) -> (Vec<Vec<u8>>, usize) {
        if !self.current.is_empty() || self.done.is_empty() {
            self.done.push(self.current.finish());
        }
        (self.done, self.total)
    }
}

/// Reads an item stream back from its arrays (the inline `items`, or each chunk's, in order).
pub struct ItemReader<'a> {
    arrays: Vec<&'a RawArray>,
    next_array: usize,
    iter: Option<mongodb::bson::raw::RawArrayIter<'a>>,
    peeked: Option<Result<RawBsonRef<'a>, DocError>>,
}

impl<'a> ItemReader<'a> {
    pub fn new(arrays: Vec<&'a RawArray>) -> Self {
        ItemReader {
            arrays,
            next_array: 0,
            iter: None,
            peeked: None,
        }
    }

    fn fetch(&mut self) -> Option<Result<RawBsonRef<'a>, DocError>> {
        loop {
            if let Some(iter) = self.iter.as_mut() {
                if let Some(item) = iter.next() {
                    return Some(item.map_err(DocError::from));
                }
            }
            let array = self.arrays.get(self.next_array)?;
            self.next_array += 1;
            self.iter = Some(array.into_iter());
        }
    }

    fn required(&mut self) -> Result<RawBsonRef<'a>, DocError> {
        let next = match self.peeked.take() {
            Some(peeked) => Some(peeked),
            None => self.fetch(),
        };
        next.unwrap_or(Err(DocError::Truncated))
    }

    /// True when no item is left. Consumes nothing.
    pub fn at_end(&mut self) -> bool {
        if self.peeked.is_none() {
            self.peeked = self.fetch();
        }
        self.peeked.is_none()
    }

    /// The next byte string, reassembled from pieces when it was split.
    pub fn bytes(&mut self) -> Result<Cow<'a, [u8]>, DocError> {
        match self.required()? {
            RawBsonRef::Binary(binary) => Ok(Cow::Borrowed(binary.bytes)),
            RawBsonRef::Document(marker) => {
                let len = marker.get_i64("big").map_err(|_| DocError::Item)?;
                let len = usize::try_from(len).map_err(|_| DocError::Item)?;
                let mut whole = Vec::with_capacity(len.min(crate::store::MAX_STRING_LEN));
                while whole.len() < len {
                    match self.required()? {
                        RawBsonRef::Binary(piece) => whole.extend_from_slice(piece.bytes),
                        _ => return Err(DocError::Item),
                    }
                }
                if whole.len() != len {
                    return Err(DocError::Item);
                }
                Ok(Cow::Owned(whole))
            }
            _ => Err(DocError::Item),
        }
    }

    pub fn f64(&mut self) -> Result<f64, DocError> {
        match self.required()? {
            RawBsonRef::Double(value) => Ok(value),
            _ => Err(DocError::Item),
        }
    }

    pub fn i64(&mut self) -> Result<i64, DocError> {
        match self.required()? {
            RawBsonRef::Int64(value) => Ok(value),
            _ => Err(DocError::Item),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Per-type encodings. Each takes the simplest view of its type: an iterator of elements (or
// pairs) to encode, and the elements in stream order to build the value from.
// ---------------------------------------------------------------------------------------------

/// A value ready to be written: its type name, header of settings (a BSON document, if the
/// type has settings), and item stream cut into chunk arrays.
#[derive(Debug)]
pub struct Encoded {
    pub type_name: &'static str,
    pub header: Option<Vec<u8>>,
    pub chunks: Vec<Vec<u8>>,
    /// Total size of the item stream in bytes.
    pub bytes: usize,
}

/// Strings: one item, the bytes. (OBJECT ENCODING is chosen again from the content on load,
/// as Redis does when it loads an RDB file.)
pub fn encode_string(value: &[u8], w: &mut ItemWriter) {
    w.bytes(value);
}

pub fn decode_string(r: &mut ItemReader) -> Result<Value, DocError> {
    let bytes = match r.bytes()? {
        Cow::Owned(whole) => ShortBytes::from_vec(whole),
        Cow::Borrowed(slice) => ShortBytes::from_slice(slice),
    };
    Ok(Value::Str(bytes, StrEncoding::Auto))
}

/// Lists, queues and stacks: the elements in order, head first.
pub fn encode_sequence<'a>(elements: impl IntoIterator<Item = &'a [u8]>, w: &mut ItemWriter) {
    for element in elements {
        w.bytes(element);
    }
}

pub fn decode_sequence(r: &mut ItemReader) -> Result<Vec<Vec<u8>>, DocError> {
    let mut out = Vec::new();
    while !r.at_end() {
        out.push(r.bytes()?.into_owned());
    }
    Ok(out)
}

/// Sets: the members, in any order.
pub fn encode_members<'a>(members: impl IntoIterator<Item = &'a [u8]>, w: &mut ItemWriter) {
    encode_sequence(members, w);
}

pub fn decode_members(r: &mut ItemReader) -> Result<Vec<Vec<u8>>, DocError> {
    decode_sequence(r)
}

/// Hashes (and any map of byte strings): field, value, field, value...
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>, w: &mut ItemWriter) {
    for (field, value) in pairs {
        w.bytes(field);
        w.bytes(value);
    }
}

pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

pub fn decode_pairs(r: &mut ItemReader) -> Result<Pairs, DocError> {
    let mut out = Vec::new();
    while !r.at_end() {
        let field = r.bytes()?.into_owned();
        let value = r.bytes()?.into_owned();
        out.push((field, value));
    }
    Ok(out)
}

/// A hash built in the encoding `limits` give its size, as Redis encodes what it loads.
pub fn decode_hash(r: &mut ItemReader, limits: &EncodingLimits) -> Result<Value, DocError> {
    let pairs = decode_pairs(r)?;
    HashValue::from_pairs(pairs.iter().map(|(f, v)| (&f[..], &v[..])), limits.hash)
        .map(Value::Hash)
        .map_err(|e| DocError::Invalid(e.to_string()))
}

pub fn decode_set(r: &mut ItemReader, limits: &EncodingLimits) -> Result<Value, DocError> {
    let members = decode_members(r)?;
    SetValue::from_members(
        members.iter().map(|m| &m[..]),
        limits.set_max_intset_entries(),
    )
    .map(Value::Set)
    .map_err(|e| DocError::Invalid(e.to_string()))
}

/// Sorted sets: member, score (a Double, exact), member, score...
pub fn encode_scored<'a>(entries: impl IntoIterator<Item = (&'a [u8], f64)>, w: &mut ItemWriter) {
    for (member, score) in entries {
        w.bytes(member);
        w.f64(score);
    }
}

pub fn decode_scored(r: &mut ItemReader) -> Result<Vec<(Vec<u8>, f64)>, DocError> {
    let mut out = Vec::new();
    while !r.at_end() {
        let member = r.bytes()?.into_owned();
        let score = r.f64()?;
        out.push((member, score));
    }
    Ok(out)
}

/// Graphs: header `{directed}`; items: node count, node names, then (from, to, weight) per
/// edge (each undirected edge once).
pub fn encode_graph(graph: &GraphValue, w: &mut ItemWriter) -> Vec<u8> {
    w.i64(graph.node_count() as i64);
    encode_sequence(graph.iter_nodes(), w);
    for (from, to, weight) in graph.iter_edges() {
        w.bytes(from);
        w.bytes(to);
        w.f64(weight);
    }
    let mut header = Bson::new();
    header.bool(Some("directed"), graph.is_directed());
    header.finish()
}

pub fn decode_graph(header: Option<&RawDocument>, r: &mut ItemReader) -> Result<Value, DocError> {
    let directed = header
        .and_then(|h| h.get_bool("directed").ok())
        .ok_or(DocError::Field("hdr.directed"))?;
    let count = usize::try_from(r.i64()?).map_err(|_| DocError::Item)?;
    let mut nodes = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        nodes.push(r.bytes()?.into_owned());
    }
    let mut edges = Vec::new();
    while !r.at_end() {
        let from = r.bytes()?.into_owned();
        let to = r.bytes()?.into_owned();
        let weight = r.f64()?;
        edges.push((from, to, weight));
    }
    GraphValue::from_parts(directed, nodes, edges)
        .map(|g| Value::Graph(Box::new(g)))
        .map_err(|e| DocError::Invalid(e.to_string()))
}

/// Trees: header `{ordering: "bytes"|"numeric"}`; items: key, value, ... in key order.
pub fn encode_tree(tree: &TreeValue, w: &mut ItemWriter) -> Vec<u8> {
    encode_pairs(tree.iter(), w);
    let mut header = Bson::new();
    header.str(
        Some("ordering"),
        match tree.ordering() {
            TreeOrdering::Bytes => "bytes",
            TreeOrdering::Numeric => "numeric",
        },
    );
    header.finish()
}

pub fn decode_tree(header: Option<&RawDocument>, r: &mut ItemReader) -> Result<Value, DocError> {
    let ordering = match header.and_then(|h| h.get_str("ordering").ok()) {
        Some("bytes") => TreeOrdering::Bytes,
        Some("numeric") => TreeOrdering::Numeric,
        _ => return Err(DocError::Field("hdr.ordering")),
    };
    let entries = decode_pairs(r)?;
    TreeValue::from_entries(ordering, entries)
        .map(|t| Value::Tree(Box::new(t)))
        .map_err(|e| DocError::Invalid(e.to_string()))
}

/// Streams: items `last-id`, `first-id`, `max-deleted-id`, `entries-added`, the entry count,
/// then per entry its ID, field count and pairs; then the group count, and per group its name,
/// last ID, entries read (`-1` unknown), consumers (count, then name and seen time each) and
/// PEL (count, then ID, consumer, delivery time and count each). Numbers and IDs are text.
pub fn encode_stream(stream: &StreamValue, w: &mut ItemWriter) {
    let text = |w: &mut ItemWriter, t: &dyn std::fmt::Display| w.bytes(t.to_string().as_bytes());
    let c = stream.counters();
    text(w, &c.last_id);
    text(w, &c.first_id);
    text(w, &c.max_deleted_id);
    text(w, &c.entries_added);
    text(w, &stream.len());
    for entry in stream.entries().iter() {
        text(w, &entry.id);
        text(w, &entry.fields.len());
        for (field, value) in entry.fields.iter() {
            w.bytes(field);
            w.bytes(value);
        }
    }
    text(w, &stream.groups().len());
    for (name, group) in stream.groups() {
        w.bytes(name);
        text(w, &group.last_id);
        match group.entries_read {
            Some(n) => text(w, &n),
            None => w.bytes(b"-1"),
        }
        text(w, &group.consumers.len());
        for (cname, consumer) in &group.consumers {
            w.bytes(cname);
            text(w, &consumer.seen_time);
        }
        text(w, &group.pel.len());
        for (id, pending) in &group.pel {
            text(w, id);
            w.bytes(&pending.consumer);
            text(w, &pending.delivery_time);
            text(w, &pending.delivery_count);
        }
    }
}

fn parse_stream_id(bytes: &[u8]) -> Result<StreamId, DocError> {
    let bad = || DocError::Invalid("stream ID".to_string());
    let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
    let (ms, seq) = text.split_once('-').ok_or_else(bad)?;
    Ok(StreamId::new(
        ms.parse().map_err(|_| bad())?,
        seq.parse().map_err(|_| bad())?,
    ))
}

fn parse_count(bytes: &[u8]) -> Result<u64, DocError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| DocError::Invalid("stream number".to_string()))
}

pub fn decode_stream(r: &mut ItemReader) -> Result<Value, DocError> {
    let mut next = || -> Result<Vec<u8>, DocError> {
        if r.at_end() {
            return Err(DocError::Truncated);
        }
        Ok(r.bytes()?.into_owned())
    };
    let counters = Counters {
        last_id: parse_stream_id(&next()?)?,
        first_id: parse_stream_id(&next()?)?,
        max_deleted_id: parse_stream_id(&next()?)?,
        entries_added: parse_count(&next()?)?,
    };
    let mut stream = StreamValue::new();
    let entries = parse_count(&next()?)?;
    let mut previous: Option<StreamId> = None;
    for _ in 0..entries {
        let id = parse_stream_id(&next()?)?;
        if previous.is_some_and(|p| p >= id) {
            return Err(DocError::Invalid("stream IDs out of order".to_string()));
        }
        previous = Some(id);
        let fields = parse_count(&next()?)?;
        let mut pairs = Vec::new();
        for _ in 0..fields * 2 {
            pairs.push(next()?);
        }
        let pairs: Vec<&[u8]> = pairs.iter().map(Vec::as_slice).collect();
        stream.append(id, &pairs, NodeLimits::default());
    }
    stream.restore_counters(counters);
    let groups = parse_count(&next()?)?;
    for _ in 0..groups {
        let name = next()?;
        let last_id = parse_stream_id(&next()?)?;
        let entries_read = match next()?.as_slice() {
            b"-1" => None,
            n => Some(parse_count(n)?),
        };
        let mut group = Group {
            last_id,
            entries_read,
            ..Group::default()
        };
        for _ in 0..parse_count(&next()?)? {
            let cname = next()?;
            let seen_time = parse_count(&next()?)?;
            group.consumers.insert(
                cname.into(),
                Consumer {
                    seen_time,
                    ..Consumer::default()
                },
            );
        }
        for _ in 0..parse_count(&next()?)? {
            let id = parse_stream_id(&next()?)?;
            let consumer = next()?;
            let delivery_time = parse_count(&next()?)?;
            let delivery_count = parse_count(&next()?)?;
            if let Some(c) = group.consumers.get_mut(&consumer[..]) {
                c.pending.insert(id);
            }
            group.pel.insert(
                id,
                Pending {
                    consumer: consumer.into(),
                    delivery_time,
                    delivery_count,
                },
            );
        }
        stream.restore_group(&name, group);
    }
    Ok(Value::Stream(Box::new(stream)))
}

/// Encodes any value.
pub fn encode_value(value: &Value) -> Encoded {
    let mut w = ItemWriter::new();
    let mut header = None;
    let type_name = value.type_name();
    match value {
        Value::Str(bytes, _) => encode_string(bytes, &mut w),
        // Never encoded: the writer writes only a cold key's expiry (its value is MongoDB's
        // already); an empty string stands here so that no input can make this fail.
        Value::Cold(_) => encode_string(b"", &mut w),
        Value::Graph(graph) => header = Some(encode_graph(graph, &mut w)),
        Value::Tree(tree) => header = Some(encode_tree(tree, &mut w)),
        Value::Queue(queue) => encode_sequence(queue.iter(), &mut w),
        Value::Stack(stack) => encode_sequence(stack.iter(), &mut w),
        Value::Hash(hash) => encode_pairs(hash.iter(), &mut w),
        Value::Set(set) => {
            for member in set.iter() {
                member.with_bytes(|bytes| w.bytes(bytes));
            }
        }
        Value::List(list) => encode_sequence(list.iter(), &mut w),
        Value::ZSet(zset) => encode_scored(zset.set().iter(), &mut w),
        Value::Stream(stream) => encode_stream(stream, &mut w),
    }
    let (chunks, bytes) = w.finish();
    Encoded {
        type_name,
        header,
        chunks,
        bytes,
    }
}

/// Builds a value of `type_name` from its header and item stream, in the encodings `limits`
/// choose (the configured thresholds, as when Redis loads its RDB).
pub fn decode_value(
    type_name: &str,
    header: Option<&RawDocument>,
    r: &mut ItemReader,
    limits: &EncodingLimits,
) -> Result<Value, DocError> {
    match type_name {
        "string" => decode_string(r),
        "graph" => decode_graph(header, r),
        "tree" => decode_tree(header, r),
        "queue" => Ok(Value::Queue(Box::new(
            decode_sequence(r)?.into_iter().collect(),
        ))),
        "stack" => Ok(Value::Stack(Box::new(
            decode_sequence(r)?.into_iter().collect(),
        ))),
        "hash" => decode_hash(r, limits),
        "set" => decode_set(r, limits),
        "list" => {
            let elements = decode_sequence(r)?;
            Ok(Value::List(Box::new(
                elements.iter().map(|e| &e[..]).collect::<ListValue>(),
            )))
        }
        "zset" => {
            let entries = decode_scored(r)?;
            ZSetValue::from_result(&entries, limits.zset)
                .map(|z| Value::ZSet(Box::new(z)))
                .map_err(|e| DocError::Invalid(e.to_string()))
        }
        "stream" => decode_stream(r),
        other => Err(DocError::UnknownType(other.to_string())),
    }
}

/// Whether a value is large enough that small changes should be appended to an operation log
/// rather than rewrite it. O(1).
pub fn is_large(value: &Value) -> bool {
    const LARGE_BYTES: usize = 64 * 1024;
    const LARGE_ELEMENTS: usize = 256;
    match value {
        Value::Str(bytes, _) => bytes.len() >= LARGE_BYTES,
        Value::List(v) => v.len() >= LARGE_ELEMENTS,
        Value::Hash(v) => v.len() >= LARGE_ELEMENTS,
        Value::Set(v) => v.len() >= LARGE_ELEMENTS,
        Value::ZSet(v) => v.len() >= LARGE_ELEMENTS,
        Value::Graph(g) => g.node_count() + g.edge_count() >= LARGE_ELEMENTS,
        Value::Tree(v) => v.len() >= LARGE_ELEMENTS,
        Value::Queue(v) => v.len() >= LARGE_ELEMENTS,
        Value::Stack(v) => v.len() >= LARGE_ELEMENTS,
        Value::Stream(v) => v.len() >= LARGE_ELEMENTS as u64,
        Value::Cold(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Documents and write statements
// ---------------------------------------------------------------------------------------------

/// The `_id` of a key's document: the database (u32, big-endian) then the key bytes.
pub fn key_id(db: usize, key: &[u8]) -> Vec<u8> {
    let mut id = Vec::with_capacity(key.len() + 4);
    id.extend_from_slice(&(db as u32).to_be_bytes());
    id.extend_from_slice(key);
    id
}

/// `_id` of document `seq` of generation `gen` in `chunks` or `ops`.
pub fn seq_id(gen: i64, seq: u64) -> i64 {
    (gen << SEQ_BITS) | (seq as i64 & (MAX_SEQ as i64 - 1))
}

/// The generation an `_id` of `chunks` or `ops` belongs to.
pub fn gen_of(id: i64) -> i64 {
    id >> SEQ_BITS
}

/// The fields of a key's document other than its items.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta<'a> {
    pub db: usize,
    pub key: &'a [u8],
    pub type_name: &'a str,
    /// Absolute expiry, Unix ms.
    pub exp: Option<u64>,
    /// 0 for an inline value without an operation log.
    pub gen: i64,
    pub chunks: u32,
    pub nops: u32,
    /// Size of the item stream.
    pub bytes: u64,
}

/// A key's full document; `items` is the inline array when the value is not chunked.
pub fn key_document(meta: &Meta, header: Option<&[u8]>, items: Option<&[u8]>) -> Vec<u8> {
    let mut doc = Bson::new();
    doc.binary(Some("_id"), &key_id(meta.db, meta.key))
        .i32(Some("db"), meta.db as i32)
        .binary(Some("key"), meta.key)
        .str(Some("type"), meta.type_name);
    if let Some(exp) = meta.exp {
        doc.i64(Some("exp"), exp as i64);
    }
    doc.i64(Some("gen"), meta.gen)
        .i32(Some("chunks"), meta.chunks as i32)
        .i32(Some("nops"), meta.nops as i32)
        .i64(Some("bytes"), meta.bytes as i64)
        .i32(Some("v"), FORMAT_VERSION);
    if let Some(header) = header {
        doc.doc(Some("hdr"), header);
    }
    if let Some(items) = items {
        doc.array(Some("items"), items);
    }
    doc.finish()
}

/// A chunk document.
pub fn chunk_document(db: usize, gen: i64, index: u64, items: &[u8]) -> Vec<u8> {
    let mut doc = Bson::new();
    doc.i64(Some("_id"), seq_id(gen, index))
        .i32(Some("db"), db as i32)
        .array(Some("items"), items);
    doc.finish()
}

/// Operation-log documents for `commands`, starting at sequence `first`, each under
/// [`CHUNK_BYTES`]. Returns the documents and the total size of the commands.
pub fn op_documents(
    db: usize,
    gen: i64,
    first: u64,
    commands: &[Vec<&[u8]>],
) -> (Vec<Vec<u8>>, usize) {
    let mut docs = Vec::new();
    let mut total = 0;
    let mut doc: Option<Bson> = None;
    for argv in commands {
        let size: usize = argv.iter().map(|a| a.len() + 16).sum::<usize>() + 16;
        total += size;
        if doc.as_ref().is_some_and(|d| d.len() + size > CHUNK_BYTES) {
            if let Some(full) = doc.take() {
                docs.push(full.finish());
            }
        }
        let current = doc.get_or_insert_with(|| {
            let mut d = Bson::new();
            d.i64(Some("_id"), seq_id(gen, first + docs.len() as u64))
                .i32(Some("db"), db as i32)
                .begin_array(Some("ops"));
            d
        });
        current.begin_array(None);
        for arg in argv {
            current.binary(None, arg);
        }
        current.end();
    }
    if let Some(last) = doc {
        docs.push(last.finish());
    }
    (docs, total)
}

/// Statement `{q: {_id}, u: document, upsert: true}` for an `update` command.
pub fn upsert_statement(id: IdRef, document: &[u8]) -> Vec<u8> {
    let mut stmt = Bson::new();
    stmt.begin_doc(Some("q"));
    id.write(&mut stmt);
    stmt.end();
    stmt.doc(Some("u"), document).bool(Some("upsert"), true);
    stmt.finish()
}

/// Statement updating only the operation count and expiry of a key's document.
pub fn log_meta_statement(db: usize, key: &[u8], nops: u32, exp: Option<u64>) -> Vec<u8> {
    let mut stmt = Bson::new();
    stmt.begin_doc(Some("q"))
        .binary(Some("_id"), &key_id(db, key))
        .end();
    stmt.begin_doc(Some("u")).begin_doc(Some("$set"));
    stmt.i32(Some("nops"), nops as i32);
    if let Some(exp) = exp {
        stmt.i64(Some("exp"), exp as i64);
    }
    stmt.end();
    if exp.is_none() {
        stmt.begin_doc(Some("$unset")).str(Some("exp"), "").end();
    }
    stmt.end();
    stmt.finish()
}

/// Statement updating only the expiry of a key's document (a cold key: its value is in
/// MongoDB already, only its expiry changed in memory).
pub fn expiry_statement(db: usize, key: &[u8], exp: Option<u64>) -> Vec<u8> {
    let mut stmt = Bson::new();
    stmt.begin_doc(Some("q"))
        .binary(Some("_id"), &key_id(db, key))
        .end();
    stmt.begin_doc(Some("u"));
    match exp {
        Some(exp) => {
            stmt.begin_doc(Some("$set"))
                .i64(Some("exp"), exp as i64)
                .end();
        }
        None => {
            stmt.begin_doc(Some("$unset")).str(Some("exp"), "").end();
        }
    }
    stmt.end();
    stmt.finish()
}

/// What the writer needs to move a stored key (RENAME of a cold key): not a statement
/// MongoDB runs, but the writer's instruction `{db, from, to}` (key names), which it turns
/// into statements by reading `from`'s document ([`moved_key_document`]).
pub fn move_instruction(db: usize, from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut doc = Bson::new();
    doc.i32(Some("db"), db as i32)
        .binary(Some("from"), from)
        .binary(Some("to"), to);
    doc.finish()
}

/// A move read back: (database, from, to).
pub fn parse_move_instruction(doc: &RawDocument) -> Result<(usize, &[u8], &[u8]), DocError> {
    let db = doc.get_i32("db").map_err(|_| DocError::Field("db"))?;
    let from = doc
        .get_binary("from")
        .map_err(|_| DocError::Field("from"))?;
    let to = doc.get_binary("to").map_err(|_| DocError::Field("to"))?;
    Ok((
        usize::try_from(db).map_err(|_| DocError::Field("db"))?,
        from.bytes,
        to.bytes,
    ))
}

/// Key document `stored` as stored under name `to` instead: the same value (inline items, or
/// the generation its chunks and operation log belong to, which name no key) and expiry.
pub fn moved_key_document(stored: &RawDocument, to: &[u8]) -> Result<Vec<u8>, DocError> {
    let parsed = parse_key_document(stored)?;
    let meta = Meta {
        key: to,
        ..parsed.meta
    };
    Ok(key_document(
        &meta,
        parsed.header.map(RawDocument::as_bytes),
        parsed.items.map(RawArray::as_bytes),
    ))
}

/// An `_id` value in a statement.
#[derive(Debug, Clone, Copy)]
pub enum IdRef<'a> {
    Binary(&'a [u8]),
    Int(i64),
}

impl IdRef<'_> {
    fn write(self, doc: &mut Bson) {
        match self {
            IdRef::Binary(bytes) => doc.binary(Some("_id"), bytes),
            IdRef::Int(value) => doc.i64(Some("_id"), value),
        };
    }
}

/// The `_id` of the one document of the `functions` collection.
pub const FUNCTIONS_ID: &str = "libraries";

/// Statement replacing the function libraries' document with `codes` (every library's code,
/// whole: the libraries change rarely and are small, as Redis writes them whole in its RDB).
pub fn functions_statement(codes: &[Vec<u8>]) -> Vec<u8> {
    let mut doc = Bson::new();
    doc.str(Some("_id"), FUNCTIONS_ID)
        .begin_array(Some("codes"));
    for code in codes {
        doc.binary(None, code);
    }
    doc.end();
    let doc = doc.finish();
    let mut stmt = Bson::new();
    stmt.begin_doc(Some("q"))
        .str(Some("_id"), FUNCTIONS_ID)
        .end();
    stmt.doc(Some("u"), &doc).bool(Some("upsert"), true);
    stmt.finish()
}

/// The library codes of the `functions` document built by [`functions_statement`].
pub fn function_codes(doc: &RawDocument) -> Result<Vec<Vec<u8>>, DocError> {
    let mut codes = Vec::new();
    for item in doc
        .get_array("codes")
        .map_err(|_| DocError::Field("codes"))?
    {
        let RawBsonRef::Binary(code) = item? else {
            return Err(DocError::Field("codes"));
        };
        codes.push(code.bytes.to_vec());
    }
    Ok(codes)
}

/// Statement `{q: {_id}, limit: 1}` for a `delete` command.
pub fn delete_statement(id: IdRef) -> Vec<u8> {
    let mut stmt = Bson::new();
    stmt.begin_doc(Some("q"));
    id.write(&mut stmt);
    stmt.end();
    stmt.i32(Some("limit"), 1);
    stmt.finish()
}

/// Statement deleting every document of generation `gen` (`chunks` or `ops`).
pub fn delete_generation_statement(gen: i64) -> Vec<u8> {
    let mut stmt = Bson::new();
    stmt.begin_doc(Some("q"))
        .begin_doc(Some("_id"))
        .i64(Some("$gte"), seq_id(gen, 0))
        .i64(Some("$lt"), seq_id(gen + 1, 0))
        .end()
        .end();
    stmt.i32(Some("limit"), 0);
    stmt.finish()
}

/// Statement deleting every document of database `db` (`None`: of every database).
pub fn delete_db_statement(db: Option<usize>) -> Vec<u8> {
    let mut stmt = Bson::new();
    stmt.begin_doc(Some("q"));
    if let Some(db) = db {
        stmt.i32(Some("db"), db as i32);
    }
    stmt.end();
    stmt.i32(Some("limit"), 0);
    stmt.finish()
}

/// A key's document as read back.
#[derive(Debug)]
pub struct StoredKey<'a> {
    pub meta: Meta<'a>,
    pub header: Option<&'a RawDocument>,
    pub items: Option<&'a RawArray>,
}

/// Reads a key's document.
pub fn parse_key_document(doc: &RawDocument) -> Result<StoredKey<'_>, DocError> {
    let db = doc.get_i32("db").map_err(|_| DocError::Field("db"))?;
    let key = doc
        .get_binary("key")
        .map_err(|_| DocError::Field("key"))?
        .bytes;
    let type_name = doc.get_str("type").map_err(|_| DocError::Field("type"))?;
    let exp = match doc.get("exp")? {
        Some(RawBsonRef::Int64(v)) => Some(v.max(0) as u64),
        None => None,
        Some(_) => return Err(DocError::Field("exp")),
    };
    let int = |name: &'static str| -> Result<i64, DocError> {
        match doc.get(name)? {
            Some(RawBsonRef::Int32(v)) => Ok(v as i64),
            Some(RawBsonRef::Int64(v)) => Ok(v),
            None => Ok(0),
            Some(_) => Err(DocError::Field(name)),
        }
    };
    let header = match doc.get("hdr")? {
        Some(RawBsonRef::Document(h)) => Some(h),
        None => None,
        Some(_) => return Err(DocError::Field("hdr")),
    };
    let items = match doc.get("items")? {
        Some(RawBsonRef::Array(a)) => Some(a),
        None => None,
        Some(_) => return Err(DocError::Field("items")),
    };
    Ok(StoredKey {
        meta: Meta {
            db: usize::try_from(db).map_err(|_| DocError::Field("db"))?,
            key,
            type_name,
            exp,
            gen: int("gen")?,
            chunks: u32::try_from(int("chunks")?).map_err(|_| DocError::Field("chunks"))?,
            nops: u32::try_from(int("nops")?).map_err(|_| DocError::Field("nops"))?,
            bytes: u64::try_from(int("bytes")?).map_err(|_| DocError::Field("bytes"))?,
        },
        header,
        items,
    })
}

/// The value and the logged commands start-up reads back for one key.
pub type StoredValue = (Value, Vec<Vec<Vec<u8>>>);

/// What start-up makes of one key's documents, given as BSON documents back to back: the key
/// document, then its `chunks` chunk documents and its `nops` operation-log documents. The
/// value, with the logged commands to replay on it; an error for damaged documents, never a
/// panic (the stored_documents fuzz target feeds it any bytes).
pub fn decode_stored(bytes: &[u8], limits: &EncodingLimits) -> Result<StoredValue, DocError> {
    let mut docs = Vec::new();
    let mut rest = bytes;
    while let Some(prefix) = rest.first_chunk::<4>() {
        let len = usize::try_from(i32::from_le_bytes(*prefix))
            .ok()
            .filter(|&len| len <= rest.len())
            .ok_or(DocError::Truncated)?;
        docs.push(RawDocument::from_bytes(&rest[..len])?);
        rest = &rest[len..];
    }
    let (key, others) = docs.split_first().ok_or(DocError::Truncated)?;
    let stored = parse_key_document(key)?;
    let chunks = stored.meta.chunks as usize;
    let nops = stored.meta.nops as usize;
    if others.len() < chunks.saturating_add(nops) {
        return Err(DocError::Truncated);
    }
    let arrays = if chunks == 0 {
        vec![stored.items.ok_or(DocError::Field("items"))?]
    } else {
        others[..chunks]
            .iter()
            .map(|chunk| chunk_items(chunk))
            .collect::<Result<Vec<_>, _>>()?
    };
    let value = decode_value(
        stored.meta.type_name,
        stored.header,
        &mut ItemReader::new(arrays),
        limits,
    )?;
    let mut ops = Vec::new();
    for doc in &others[chunks..chunks + nops] {
        for argv in op_commands(doc)? {
            ops.push(argv.iter().map(|arg| arg.to_vec()).collect());
        }
    }
    Ok((value, ops))
}

/// The `items` array of a chunk document.
pub fn chunk_items(doc: &RawDocument) -> Result<&RawArray, DocError> {
    doc.get_array("items").map_err(|_| DocError::Field("items"))
}

/// The commands of an operation-log document.
pub fn op_commands(doc: &RawDocument) -> Result<Vec<Vec<&[u8]>>, DocError> {
    let ops = doc.get_array("ops").map_err(|_| DocError::Field("ops"))?;
    let mut out = Vec::new();
    for op in ops {
        let RawBsonRef::Array(args) = op? else {
            return Err(DocError::Field("ops"));
        };
        let mut argv = Vec::new();
        for arg in args {
            match arg? {
                RawBsonRef::Binary(b) if b.subtype == BinarySubtype::Generic => argv.push(b.bytes),
                _ => return Err(DocError::Field("ops")),
            }
        }
        out.push(argv);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, Bson as B, Document, RawDocumentBuf};

    fn raw(bytes: Vec<u8>) -> RawDocumentBuf {
        RawDocumentBuf::from_bytes(bytes).expect("valid BSON")
    }

    #[test]
    fn writer_matches_the_bson_crate() {
        let mut d = Bson::new();
        d.binary(Some("b"), b"\x00\xff")
            .i64(Some("l"), -5)
            .i32(Some("i"), 7)
            .f64(Some("f"), 1.5)
            .bool(Some("t"), true)
            .str(Some("s"), "hé");
        d.begin_array(Some("a")).i32(None, 1).str(None, "x").end();
        d.begin_doc(Some("o")).i32(Some("k"), 2).end();
        let ours = raw(d.finish()).to_document().unwrap();
        let expected = doc! {
            "b": B::Binary(mongodb::bson::Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 255] }),
            "l": -5i64, "i": 7i32, "f": 1.5, "t": true, "s": "hé",
            "a": [1i32, "x"], "o": { "k": 2i32 },
        };
        assert_eq!(ours, expected);
    }

    /// Writes a stream and wraps each chunk in a chunk document, as the database holds it.
    fn stream_round_trip(write: impl FnOnce(&mut ItemWriter)) -> (Vec<RawDocumentBuf>, usize) {
        let mut w = ItemWriter::new();
        write(&mut w);
        let (chunks, bytes) = w.finish();
        let docs = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                assert!(
                    chunk.len() <= CHUNK_BYTES + 64,
                    "chunk of {} bytes",
                    chunk.len()
                );
                raw(chunk_document(0, 1, i as u64, chunk))
            })
            .collect();
        (docs, bytes)
    }

    fn reader(chunks: &[RawDocumentBuf]) -> ItemReader<'_> {
        ItemReader::new(chunks.iter().map(|c| chunk_items(c).unwrap()).collect())
    }

    #[test]
    fn huge_elements_are_split_and_reassembled() {
        let big: Vec<u8> = (0..(PIECE_BYTES * 9 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let (chunks, bytes) = stream_round_trip(|w| {
            w.bytes(b"small");
            w.bytes(&big);
            w.f64(-0.0);
            w.i64(42);
        });
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        assert!(bytes > big.len());
        let mut r = reader(&chunks);
        assert_eq!(&*r.bytes().unwrap(), b"small");
        assert_eq!(&*r.bytes().unwrap(), &big[..]);
        assert_eq!(r.f64().unwrap().to_bits(), (-0.0f64).to_bits());
        assert_eq!(r.i64().unwrap(), 42);
        assert!(r.at_end());
        assert_eq!(r.bytes(), Err(DocError::Truncated));
    }

    #[test]
    fn empty_stream_has_one_empty_chunk() {
        let (chunks, bytes) = stream_round_trip(|_| {});
        assert_eq!(chunks.len(), 1);
        assert_eq!(bytes, 0);
        assert!(reader(&chunks).at_end());
    }

    #[test]
    fn sequence_pairs_and_scores_round_trip() {
        let elements: Vec<Vec<u8>> = vec![b"".to_vec(), b"\x00\r\n".to_vec(), vec![7; 3000]];
        let (chunks, _) =
            stream_round_trip(|w| encode_sequence(elements.iter().map(|e| &e[..]), w));
        assert_eq!(decode_sequence(&mut reader(&chunks)).unwrap(), elements);

        let pairs: Pairs = vec![(b"f".to_vec(), b"v".to_vec()), (b"".to_vec(), vec![0; 10])];
        let (chunks, _) =
            stream_round_trip(|w| encode_pairs(pairs.iter().map(|(f, v)| (&f[..], &v[..])), w));
        assert_eq!(decode_pairs(&mut reader(&chunks)).unwrap(), pairs);

        let scored = vec![
            (b"a".to_vec(), f64::NEG_INFINITY),
            (b"b".to_vec(), 0.1 + 0.2),
        ];
        let (chunks, _) =
            stream_round_trip(|w| encode_scored(scored.iter().map(|(m, s)| (&m[..], *s)), w));
        assert_eq!(decode_scored(&mut reader(&chunks)).unwrap(), scored);
    }

    #[test]
    fn a_moved_key_document_keeps_everything_but_its_name() {
        let meta = Meta {
            db: 3,
            key: b"old",
            type_name: "hash",
            exp: Some(123_456),
            gen: 9,
            chunks: 2,
            nops: 4,
            bytes: 77,
        };
        let mut header = Bson::new();
        header.i32(Some("n"), 5);
        let header = header.finish();
        let stored = raw(key_document(&meta, Some(&header), None));
        let moved = raw(moved_key_document(&stored, b"new").unwrap());
        let parsed = parse_key_document(&moved).unwrap();
        assert_eq!(
            parsed.meta,
            Meta {
                key: b"new",
                ..meta.clone()
            }
        );
        assert_eq!(parsed.header.map(RawDocument::as_bytes), Some(&header[..]));
        assert_eq!(
            moved.get_binary("_id").unwrap().bytes,
            &key_id(3, b"new")[..]
        );
        let inline = raw(key_document(&Meta { gen: 0, ..meta }, None, Some(&header)));
        let moved = raw(moved_key_document(&inline, b"new").unwrap());
        let parsed = parse_key_document(&moved).unwrap();
        assert_eq!(parsed.items.map(RawArray::as_bytes), Some(&header[..]));
        let instruction = raw(move_instruction(2, b"from", b"to"));
        assert_eq!(
            parse_move_instruction(&instruction).unwrap(),
            (2, &b"from"[..], &b"to"[..])
        );
    }

    #[test]
    fn values_round_trip_through_a_key_document() {
        let mut graph = GraphValue::new(false);
        graph.add_edge(b"a", b"b", 2.5).unwrap();
        graph.add_edge(b"b", b"b", 0.0).unwrap();
        graph.add_node(b"lonely\x00").unwrap();
        let values = vec![
            Value::Str(ShortBytes::from_slice(b"bin\x00\xff"), StrEncoding::Raw),
            Value::Str(ShortBytes::new(), StrEncoding::Auto),
            Value::Str(ShortBytes::from_vec(vec![9; 100]), StrEncoding::Auto),
            Value::Graph(Box::new(graph)),
            Value::Graph(Box::new(GraphValue::new(true))),
            Value::Tree(Box::new(
                TreeValue::from_entries(TreeOrdering::Numeric, [("-1.5", "a"), ("10", "\x00")])
                    .unwrap(),
            )),
            Value::Tree(Box::new(TreeValue::new(TreeOrdering::Bytes))),
            Value::Queue(Box::new(["first", "", "last\r\n"].into_iter().collect())),
            Value::Stack(Box::new(["bottom", "top"].into_iter().collect())),
            Value::Hash(
                HashValue::from_pairs(
                    [
                        (&b"f"[..], &b"v"[..]),
                        (b"\x00", b""),
                        (b"big", &[7u8; 300][..]),
                    ],
                    EncodingLimits::DEFAULT.hash,
                )
                .unwrap(),
            ),
            Value::Set(
                SetValue::from_members(
                    [&b"1"[..], b"-5", b"100"],
                    EncodingLimits::DEFAULT.set_max_intset_entries(),
                )
                .unwrap(),
            ),
            Value::Set(
                SetValue::from_members(
                    [&b"a"[..], b"", b"\xff\x00"],
                    EncodingLimits::DEFAULT.set_max_intset_entries(),
                )
                .unwrap(),
            ),
        ];
        for value in values {
            let encoded = encode_value(&value);
            assert_eq!(encoded.chunks.len(), 1);
            let meta = Meta {
                db: 3,
                key: b"k\x00ey",
                type_name: encoded.type_name,
                exp: Some(1234),
                gen: 0,
                chunks: 0,
                nops: 0,
                bytes: encoded.bytes as u64,
            };
            let doc = raw(key_document(
                &meta,
                encoded.header.as_deref(),
                Some(&encoded.chunks[0]),
            ));
            let stored = parse_key_document(&doc).unwrap();
            assert_eq!(stored.meta, meta);
            let items = stored.items.unwrap();
            let back = decode_value(
                stored.meta.type_name,
                stored.header,
                &mut ItemReader::new(vec![items]),
                &EncodingLimits::DEFAULT,
            )
            .unwrap();
            let expected = match value {
                Value::Str(bytes, _) => Value::Str(bytes, StrEncoding::Auto),
                other => other,
            };
            assert_eq!(back, expected);
        }
    }

    #[test]
    fn op_documents_split_and_parse() {
        let big = vec![b'x'; CHUNK_BYTES / 3];
        let commands: Vec<Vec<&[u8]>> = (0..5)
            .map(|_| vec![&b"append"[..], b"k", &big[..]])
            .collect();
        let (docs, total) = op_documents(2, 9, 4, &commands);
        assert!(docs.len() >= 2);
        assert!(total >= big.len() * 5);
        let mut seen = 0;
        for (i, bytes) in docs.into_iter().enumerate() {
            let doc = raw(bytes);
            assert_eq!(doc.get_i64("_id").unwrap(), seq_id(9, 4 + i as u64));
            assert_eq!(gen_of(doc.get_i64("_id").unwrap()), 9);
            for argv in op_commands(&doc).unwrap() {
                assert_eq!(argv, commands[seen]);
                seen += 1;
            }
        }
        assert_eq!(seen, 5);
    }

    #[test]
    fn statements_have_the_expected_shape() {
        let stmt: Document = raw(log_meta_statement(1, b"k", 3, None))
            .to_document()
            .unwrap();
        assert_eq!(
            stmt.get_document("u")
                .unwrap()
                .get_document("$set")
                .unwrap()
                .get_i32("nops"),
            Ok(3)
        );
        assert!(stmt.get_document("u").unwrap().contains_key("$unset"));
        let del: Document = raw(delete_generation_statement(5)).to_document().unwrap();
        let range = del.get_document("q").unwrap().get_document("_id").unwrap();
        assert_eq!(range.get_i64("$gte"), Ok(5 << SEQ_BITS));
        assert_eq!(range.get_i64("$lt"), Ok(6 << SEQ_BITS));
        let all: Document = raw(delete_db_statement(None)).to_document().unwrap();
        assert!(all.get_document("q").unwrap().is_empty());
    }
}
