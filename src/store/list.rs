//! List values: the structure and the operations behind the list commands.
//!
//! A list is a deque of *chunks*; each chunk is one byte buffer holding its elements packed
//! back to back, the shape of Redis's quicklist of listpacks. An element is stored as
//! `len (LEB128) | bytes | len (reversed varint)`: the leading length lets a walk go forwards,
//! the trailing one lets it go backwards, so both ends pop in O(1). A 16-byte element costs
//! 18 bytes, against ~56 for a `VecDeque<Vec<u8>>` slot plus its allocation.
//!
//! A chunk keeps free room at both ends of its buffer, so pushing at the head is as cheap as
//! pushing at the tail (no shifting of the chunk on every LPUSH). Chunks hold at most
//! [`CHUNK_BYTES`] of entries (Redis's default `list-max-listpack-size -2`, 8 KB), except a
//! chunk holding one larger element alone. Edits in the middle rewrite one chunk (bounded
//! work), splitting it when it overflows and merging it with a neighbour when it runs low, so
//! the chunks stay well filled whatever the edit pattern.
//!
//! Invariants: no chunk is empty; the counts of the chunks add up to `len`; a chunk's entries
//! lie in `buf[start..end]`.

use super::keyspace::DbMut;
use super::value::Value;
use super::{index_range, StopBeforeFirst, StoreError, StoreResult};
use crate::number::parse_i64;
use std::collections::VecDeque;

/// Most entry bytes in a chunk (a chunk may exceed it only to hold one larger element).
pub const CHUNK_BYTES: usize = 8192;
/// Smallest buffer a shrinking chunk keeps.
const MIN_CHUNK_BYTES: usize = 16;
/// A chunk this small after a removal is merged into a neighbour when both fit in one chunk.
const MERGE_BELOW: usize = CHUNK_BYTES / 4;
/// A list of one chunk gives memory back when its buffer is less than a quarter used.
const SHRINK_ABOVE: usize = 64;

/// Bytes the varint encoding of `n` takes (7 bits per byte).
fn varint_len(n: usize) -> usize {
    let mut bytes = 1;
    let mut rest = n >> 7;
    while rest > 0 {
        bytes += 1;
        rest >>= 7;
    }
    bytes
}

/// Bytes an element of `len` bytes takes in a chunk.
fn entry_size(len: usize) -> usize {
    len + 2 * varint_len(len)
}

/// Writes `elem` as an entry at `buf[at..at + entry_size]`; returns the end offset.
fn write_entry(buf: &mut [u8], at: usize, elem: &[u8]) -> usize {
    let len = elem.len();
    let width = varint_len(len);
    let mut pos = at;
    // Leading length: least significant group first, high bit = more bytes follow.
    let mut rest = len;
    for i in 0..width {
        let more = if i + 1 < width { 0x80 } else { 0 };
        buf[pos] = (rest & 0x7f) as u8 | more;
        rest >>= 7;
        pos += 1;
    }
    buf[pos..pos + len].copy_from_slice(elem);
    pos += len;
    // Trailing length: read from its last byte backwards, least significant group last in
    // memory, high bit = more bytes precede.
    let mut rest = len;
    for i in 0..width {
        let more = if i + 1 < width { 0x80 } else { 0 };
        buf[pos + width - 1 - i] = (rest & 0x7f) as u8 | more;
        rest >>= 7;
    }
    pos + width
}

/// Decodes the entry starting at `at`: (element start, element length, entry end).
fn read_forward(buf: &[u8], at: usize) -> (usize, usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut pos = at;
    loop {
        let byte = buf[pos];
        pos += 1;
        len |= ((byte & 0x7f) as usize) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let width = pos - at;
    (pos, len, pos + len + width)
}

/// Decodes the entry ending at `end`: (entry start, element start, element length).
fn read_backward(buf: &[u8], end: usize) -> (usize, usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut pos = end;
    loop {
        pos -= 1;
        let byte = buf[pos];
        len |= ((byte & 0x7f) as usize) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let width = end - pos;
    let elem_start = pos - len;
    (elem_start - width, elem_start, len)
}

/// Which end of a list or chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Front,
    Back,
}

/// One packed run of elements.
#[derive(Clone)]
struct Chunk {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    count: usize,
}

impl Chunk {
    /// An empty chunk with `cap` bytes of room on the side pushes will come from.
    fn empty(cap: usize, from: End) -> Chunk {
        let at = if from == End::Front { cap } else { 0 };
        Chunk {
            buf: vec![0u8; cap].into_boxed_slice(),
            start: at,
            end: at,
            count: 0,
        }
    }

    /// A chunk holding exactly `entries` (already encoded), `count` of them.
    fn from_entries(entries: &[u8], count: usize) -> Chunk {
        Chunk {
            buf: entries.into(),
            start: 0,
            end: entries.len(),
            count,
        }
    }

    fn used(&self) -> usize {
        self.end - self.start
    }

    fn entries(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Makes `need` bytes of room at `at`; false when the chunk is full and the caller must
    /// start a new chunk. Either the free room is re-centred (some bytes moved, bounded by the
    /// chunk size) or the buffer grows geometrically; both keep pushes O(1) amortized.
    fn reserve(&mut self, need: usize, at: End) -> bool {
        let cap = self.buf.len();
        let gap = match at {
            End::Front => self.start,
            End::Back => cap - self.end,
        };
        if gap >= need {
            return true;
        }
        let used = self.used();
        if used > 0 && used + need > CHUNK_BYTES {
            return false;
        }
        let spare = cap - used;
        if spare >= need && (cap >= CHUNK_BYTES || spare - need >= cap / 4) {
            let rest = spare - need;
            let new_start = match at {
                End::Front => cap - used - rest / 2,
                End::Back => rest / 2,
            };
            self.buf.copy_within(self.start..self.end, new_start);
            self.start = new_start;
            self.end = new_start + used;
            return true;
        }
        // Grow by a quarter (and at least 16 bytes): still O(1) amortized per push, and a
        // short list wastes at most ~20% of its buffer, as many short lists are the common case.
        let new_cap = (cap + (cap / 4).max(MIN_CHUNK_BYTES))
            .min(CHUNK_BYTES)
            .max(used + need);
        let room = new_cap - used - need;
        let new_start = match at {
            // Keep the other side's free room when it fits, for mixed pushes.
            End::Front => new_cap - used - (cap - self.end).min(room),
            End::Back => self.start.min(room),
        };
        self.relocate(new_cap, new_start);
        true
    }

    /// Moves the entries into a new buffer of `cap` bytes, starting at `new_start`.
    fn relocate(&mut self, cap: usize, new_start: usize) {
        let used = self.used();
        let mut buf = vec![0u8; cap].into_boxed_slice();
        buf[new_start..new_start + used].copy_from_slice(self.entries());
        self.buf = buf;
        self.start = new_start;
        self.end = new_start + used;
    }

    /// Gives memory back when the buffer is mostly empty. Amortized O(1) over the pops that
    /// emptied it.
    fn shrink_if_sparse(&mut self) {
        let used = self.used();
        if self.buf.len() > SHRINK_ABOVE && used * 4 < self.buf.len() {
            let cap = (used * 2).max(MIN_CHUNK_BYTES);
            self.relocate(cap, (cap - used) / 2);
        }
    }

    /// Writes an entry at the back; room must have been reserved.
    fn write_back(&mut self, elem: &[u8]) {
        self.end = write_entry(&mut self.buf, self.end, elem);
        self.count += 1;
    }

    /// Writes an entry at the front; room must have been reserved.
    fn write_front(&mut self, elem: &[u8]) {
        self.start -= entry_size(elem.len());
        write_entry(&mut self.buf, self.start, elem);
        self.count += 1;
    }

    /// Offset of the entry `k` (0-based) of this chunk, walking from the nearer end:
    /// (entry start, entry end). O(chunk).
    fn locate(&self, k: usize) -> (usize, usize) {
        if k < self.count / 2 {
            let mut pos = self.start;
            for _ in 0..k {
                pos = read_forward(&self.buf, pos).2;
            }
            (pos, read_forward(&self.buf, pos).2)
        } else {
            let mut end = self.end;
            for _ in 0..self.count - 1 - k {
                end = read_backward(&self.buf, end).0;
            }
            (read_backward(&self.buf, end).0, end)
        }
    }

    /// Drops the first `n` entries (n < count). O(n).
    fn skip_front(&mut self, n: usize) {
        for _ in 0..n {
            self.start = read_forward(&self.buf, self.start).2;
        }
        self.count -= n;
    }

    /// Drops the last `n` entries (n < count). O(n).
    fn skip_back(&mut self, n: usize) {
        for _ in 0..n {
            self.end = read_backward(&self.buf, self.end).0;
        }
        self.count -= n;
    }

    /// Removes, in place, up to `limit` entries equal to `elem` (0 = all), scanning from
    /// `from`. Returns how many went. O(chunk).
    fn remove_matching(&mut self, elem: &[u8], limit: usize, from: End) -> usize {
        let mut removed = 0;
        match from {
            End::Front => {
                let (mut read, mut write) = (self.start, self.start);
                while read < self.end {
                    let (s, len, next) = read_forward(&self.buf, read);
                    if (limit == 0 || removed < limit) && &self.buf[s..s + len] == elem {
                        removed += 1;
                    } else {
                        self.buf.copy_within(read..next, write);
                        write += next - read;
                    }
                    read = next;
                }
                self.end = write;
            }
            End::Back => {
                let (mut read, mut write) = (self.end, self.end);
                while read > self.start {
                    let (entry, s, len) = read_backward(&self.buf, read);
                    if (limit == 0 || removed < limit) && &self.buf[s..s + len] == elem {
                        removed += 1;
                    } else {
                        write -= read - entry;
                        self.buf.copy_within(entry..read, write);
                    }
                    read = entry;
                }
                self.start = write;
            }
        }
        self.count -= removed;
        removed
    }
}

/// A list value: a deque of packed chunks (see the module documentation).
#[derive(Clone, Default)]
pub struct ListValue {
    chunks: VecDeque<Chunk>,
    len: usize,
}

impl ListValue {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements. O(1).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every element. O(chunks).
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// Heap bytes held by the list (buffers and chunk table). O(chunks).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.chunks.iter().map(|c| c.buf.len()).sum::<usize>()
    }

    /// Adds `elem` at the head. O(1) amortized.
    pub fn push_front(&mut self, elem: &[u8]) {
        self.push(elem, End::Front);
    }

    /// Adds `elem` at the tail. O(1) amortized.
    pub fn push_back(&mut self, elem: &[u8]) {
        self.push(elem, End::Back);
    }

    /// Adds `elem` at `end`. O(1) amortized.
    pub fn push(&mut self, elem: &[u8], end: End) {
        let need = entry_size(elem.len());
        let edge = match end {
            End::Front => self.chunks.front_mut(),
            End::Back => self.chunks.back_mut(),
        };
        if !edge.is_some_and(|c| c.reserve(need, end)) {
            // A new list starts with just the room it needs (most lists are short), and a
            // table of one chunk; a new chunk of a list that filled one is likely to fill too,
            // so it gets the full size at once.
            let cap = if self.chunks.is_empty() {
                if self.chunks.capacity() == 0 {
                    self.chunks.reserve_exact(1);
                }
                need
            } else {
                need.max(CHUNK_BYTES)
            };
            let chunk = Chunk::empty(cap, end);
            match end {
                End::Front => self.chunks.push_front(chunk),
                End::Back => self.chunks.push_back(chunk),
            }
        }
        let edge = match end {
            End::Front => self.chunks.front_mut(),
            End::Back => self.chunks.back_mut(),
        };
        if let Some(chunk) = edge {
            match end {
                End::Front => chunk.write_front(elem),
                End::Back => chunk.write_back(elem),
            }
            self.len += 1;
        }
    }

    /// Removes the element at `end` and passes it to `take` (no copy is made unless `take`
    /// makes one). O(1) amortized.
    pub fn pop_with<R>(&mut self, end: End, take: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let single = self.chunks.len() == 1;
        let chunk = match end {
            End::Front => self.chunks.front_mut()?,
            End::Back => self.chunks.back_mut()?,
        };
        let result = match end {
            End::Front => {
                let (s, len, next) = read_forward(&chunk.buf, chunk.start);
                let result = take(&chunk.buf[s..s + len]);
                chunk.start = next;
                result
            }
            End::Back => {
                let (entry, s, len) = read_backward(&chunk.buf, chunk.end);
                let result = take(&chunk.buf[s..s + len]);
                chunk.end = entry;
                result
            }
        };
        chunk.count -= 1;
        self.len -= 1;
        if chunk.count == 0 {
            match end {
                End::Front => self.chunks.pop_front(),
                End::Back => self.chunks.pop_back(),
            };
        } else if single {
            chunk.shrink_if_sparse();
        }
        Some(result)
    }

    /// Removes and returns the element at `end`. O(1) amortized.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        self.pop_with(end, <[u8]>::to_vec)
    }

    /// Removes and returns the head. O(1) amortized.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.pop(End::Front)
    }

    /// Removes and returns the tail. O(1) amortized.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        self.pop(End::Back)
    }

    /// Chunk index, entry start and entry end of element `index` (< len). Walks the chunks
    /// from the nearer end: O(N/chunk + chunk).
    fn locate(&self, index: usize) -> Option<(usize, usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut skipped = 0;
            for (ci, chunk) in self.chunks.iter().enumerate() {
                if index < skipped + chunk.count {
                    let (s, e) = chunk.locate(index - skipped);
                    return Some((ci, s, e));
                }
                skipped += chunk.count;
            }
        } else {
            let mut before = self.len;
            for (ci, chunk) in self.chunks.iter().enumerate().rev() {
                before -= chunk.count;
                if index >= before {
                    let (s, e) = chunk.locate(index - before);
                    return Some((ci, s, e));
                }
            }
        }
        None
    }

    /// The element at `index` (0 = head). O(N/chunk + chunk).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (ci, s, _) = self.locate(index)?;
        let buf = &self.chunks.get(ci)?.buf;
        let (es, len, _) = read_forward(buf, s);
        Some(&buf[es..es + len])
    }

    /// Replaces the element at `index`; false when out of range. O(N/chunk + chunk).
    pub fn set(&mut self, index: usize, elem: &[u8]) -> bool {
        let Some((ci, s, e)) = self.locate(index) else {
            return false;
        };
        let Some(chunk) = self.chunks.get_mut(ci) else {
            return false;
        };
        if entry_size(elem.len()) == e - s {
            write_entry(&mut chunk.buf, s, elem);
            return true;
        }
        let entries = spliced(&chunk.buf[chunk.start..s], elem, &chunk.buf[e..chunk.end]);
        let count = chunk.count;
        self.replace_chunk(ci, &entries, count);
        true
    }

    /// Inserts `elem` before (or after) the first element equal to `pivot`, scanning from the
    /// head; false when there is none. O(N).
    pub fn insert(&mut self, pivot: &[u8], elem: &[u8], after: bool) -> bool {
        let mut found = None;
        'chunks: for (ci, chunk) in self.chunks.iter().enumerate() {
            let mut pos = chunk.start;
            while pos < chunk.end {
                let (s, len, next) = read_forward(&chunk.buf, pos);
                if &chunk.buf[s..s + len] == pivot {
                    found = Some((ci, if after { next } else { pos }));
                    break 'chunks;
                }
                pos = next;
            }
        }
        let Some((ci, at)) = found else {
            return false;
        };
        let Some(chunk) = self.chunks.get(ci) else {
            return false;
        };
        let entries = spliced(&chunk.buf[chunk.start..at], elem, &chunk.buf[at..chunk.end]);
        let count = chunk.count + 1;
        self.replace_chunk(ci, &entries, count);
        self.len += 1;
        true
    }

    /// Removes up to `limit` elements equal to `elem` (0 = all), the first ones met scanning
    /// from `from`. Returns how many were removed. O(N).
    pub fn remove_matching(&mut self, elem: &[u8], limit: usize, from: End) -> usize {
        let mut removed = 0;
        let order: Box<dyn Iterator<Item = &mut Chunk>> = match from {
            End::Front => Box::new(self.chunks.iter_mut()),
            End::Back => Box::new(self.chunks.iter_mut().rev()),
        };
        for chunk in order {
            let left = if limit == 0 { 0 } else { limit - removed };
            removed += chunk.remove_matching(elem, left, from);
            if limit != 0 && removed >= limit {
                break;
            }
        }
        if removed > 0 {
            self.len -= removed;
            self.compact();
        }
        removed
    }

    /// Removes the first `n` elements (all of them when `n >= len`). O(n/chunk + chunk).
    pub fn truncate_front(&mut self, n: usize) {
        self.truncate(n, End::Front);
    }

    /// Removes the last `n` elements (all of them when `n >= len`). O(n/chunk + chunk).
    pub fn truncate_back(&mut self, n: usize) {
        self.truncate(n, End::Back);
    }

    fn truncate(&mut self, n: usize, end: End) {
        if n >= self.len {
            self.clear();
            return;
        }
        let mut left = n;
        while left > 0 {
            let edge = match end {
                End::Front => self.chunks.front_mut(),
                End::Back => self.chunks.back_mut(),
            };
            let Some(chunk) = edge else { break };
            if chunk.count <= left {
                left -= chunk.count;
                match end {
                    End::Front => self.chunks.pop_front(),
                    End::Back => self.chunks.pop_back(),
                };
            } else {
                match end {
                    End::Front => chunk.skip_front(left),
                    End::Back => chunk.skip_back(left),
                }
                left = 0;
                chunk.shrink_if_sparse();
            }
        }
        self.len -= n;
    }

    /// Keeps only the elements with indices `start..=stop` (clamped; an empty range empties
    /// the list), as LTRIM. O(removed/chunk + chunk).
    pub fn retain_range(&mut self, start: usize, stop: usize) {
        if start > stop || start >= self.len {
            self.clear();
            return;
        }
        let stop = stop.min(self.len - 1);
        let tail = self.len - 1 - stop;
        self.truncate_front(start);
        self.truncate_back(tail);
    }

    /// All elements, head to tail (reversible with `.rev()`).
    pub fn iter(&self) -> Iter<'_> {
        match (self.chunks.front(), self.chunks.back()) {
            (Some(first), Some(last)) => Iter {
                chunks: &self.chunks,
                front: (0, first.start),
                back: (self.chunks.len() - 1, last.end),
                remaining: self.len,
            },
            _ => Iter::empty(&self.chunks),
        }
    }

    /// The elements with indices `start..=stop`, clamped to the list (empty when `start >
    /// stop` or `start >= len`). Finding the start is O(N/chunk + chunk); each element after
    /// that is O(1).
    pub fn range(&self, start: usize, stop: usize) -> Iter<'_> {
        if start > stop || start >= self.len {
            return Iter::empty(&self.chunks);
        }
        let stop = stop.min(self.len - 1);
        match (self.locate(start), self.locate(stop)) {
            (Some((fc, fs, _)), Some((bc, _, be))) => Iter {
                chunks: &self.chunks,
                front: (fc, fs),
                back: (bc, be),
                remaining: stop - start + 1,
            },
            _ => Iter::empty(&self.chunks),
        }
    }

    /// Replaces chunk `ci` by `entries` (encoded, `count` of them): dropped when empty, split
    /// when over [`CHUNK_BYTES`], merged with a neighbour when small. O(chunk) plus moving
    /// chunk handles, O(N/chunk) at worst.
    fn replace_chunk(&mut self, ci: usize, entries: &[u8], count: usize) {
        if count == 0 {
            self.chunks.remove(ci);
            return;
        }
        let pieces = split_entries(entries, count);
        let mut pieces = pieces.into_iter();
        if let (Some(first), Some(slot)) = (pieces.next(), self.chunks.get_mut(ci)) {
            *slot = first;
        }
        let mut at = ci;
        for piece in pieces {
            at += 1;
            self.chunks.insert(at, piece);
        }
        self.merge_small(ci);
    }

    /// Merges chunk `ci`, if small, into a neighbour it fits with. O(chunk).
    fn merge_small(&mut self, ci: usize) {
        let Some(used) = self.chunks.get(ci).map(Chunk::used) else {
            return;
        };
        if used >= MERGE_BELOW {
            return;
        }
        let fits = |other: Option<&Chunk>| other.is_some_and(|c| c.used() + used <= CHUNK_BYTES);
        let (left, right) = if ci > 0 && fits(self.chunks.get(ci - 1)) {
            (ci - 1, ci)
        } else if fits(self.chunks.get(ci + 1)) {
            (ci, ci + 1)
        } else {
            return;
        };
        if let (Some(a), Some(b)) = (self.chunks.get(left), self.chunks.get(right)) {
            let mut entries = Vec::with_capacity(a.used() + b.used());
            entries.extend_from_slice(a.entries());
            entries.extend_from_slice(b.entries());
            let merged = Chunk::from_entries(&entries, a.count + b.count);
            self.chunks[left] = merged;
            self.chunks.remove(right);
        }
    }

    /// Drops empty chunks and merges neighbours that fit in one chunk, after removals
    /// anywhere. O(N/chunk) plus the bytes of merged chunks.
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.chunks);
        let mut chunks: VecDeque<Chunk> = VecDeque::with_capacity(old.len());
        for chunk in old {
            if chunk.count == 0 {
                continue;
            }
            if let Some(last) = chunks.back_mut() {
                if last.used() + chunk.used() <= CHUNK_BYTES {
                    if !last.reserve(chunk.used(), End::Back) {
                        // Cannot happen: the two fit in one chunk; keep them apart anyway.
                        chunks.push_back(chunk);
                        continue;
                    }
                    let end = last.end;
                    last.buf[end..end + chunk.used()].copy_from_slice(chunk.entries());
                    last.end += chunk.used();
                    last.count += chunk.count;
                    continue;
                }
            }
            chunks.push_back(chunk);
        }
        if chunks.len() == 1 {
            if let Some(only) = chunks.front_mut() {
                only.shrink_if_sparse();
            }
        }
        self.chunks = chunks;
    }

    /// Checks the structure's invariants (tests only).
    #[cfg(test)]
    fn check(&self) {
        let mut total = 0;
        for chunk in &self.chunks {
            assert!(chunk.count > 0, "empty chunk");
            assert!(chunk.start <= chunk.end && chunk.end <= chunk.buf.len());
            assert!(
                chunk.count == 1 || chunk.used() <= CHUNK_BYTES,
                "oversized chunk"
            );
            let mut pos = chunk.start;
            let mut n = 0;
            while pos < chunk.end {
                pos = read_forward(&chunk.buf, pos).2;
                n += 1;
            }
            assert_eq!(pos, chunk.end);
            assert_eq!(n, chunk.count);
            total += n;
        }
        assert_eq!(total, self.len);
    }
}

/// `before` + the entry of `elem` + `after`, as one encoded run.
fn spliced(before: &[u8], elem: &[u8], after: &[u8]) -> Vec<u8> {
    let size = entry_size(elem.len());
    let mut entries = vec![0u8; before.len() + size + after.len()];
    entries[..before.len()].copy_from_slice(before);
    write_entry(&mut entries, before.len(), elem);
    entries[before.len() + size..].copy_from_slice(after);
    entries
}

/// Cuts an encoded run of `count` entries into chunks of about equal size, none over
/// [`CHUNK_BYTES`] unless it holds a single larger element. O(bytes).
fn split_entries(entries: &[u8], count: usize) -> Vec<Chunk> {
    if entries.len() <= CHUNK_BYTES || count == 1 {
        return vec![Chunk::from_entries(entries, count)];
    }
    let pieces = entries.len().div_ceil(CHUNK_BYTES);
    let target = entries.len().div_ceil(pieces);
    let mut chunks = Vec::with_capacity(pieces + 1);
    let (mut piece_start, mut piece_count, mut pos) = (0, 0, 0);
    while pos < entries.len() {
        let next = read_forward(entries, pos).2;
        let piece_len = pos - piece_start;
        if piece_count > 0 && (piece_len >= target || next - piece_start > CHUNK_BYTES) {
            chunks.push(Chunk::from_entries(&entries[piece_start..pos], piece_count));
            piece_start = pos;
            piece_count = 0;
        }
        piece_count += 1;
        pos = next;
    }
    if piece_count > 0 {
        chunks.push(Chunk::from_entries(&entries[piece_start..], piece_count));
    }
    chunks
}

/// Iterator over a list's elements, double-ended: `next` walks from the head, `next_back`
/// from the tail, each O(1).
#[derive(Clone)]
pub struct Iter<'a> {
    chunks: &'a VecDeque<Chunk>,
    /// (chunk index, offset of the next entry from the front)
    front: (usize, usize),
    /// (chunk index, offset just past the next entry from the back)
    back: (usize, usize),
    remaining: usize,
}

impl<'a> Iter<'a> {
    fn empty(chunks: &'a VecDeque<Chunk>) -> Self {
        Iter {
            chunks,
            front: (0, 0),
            back: (0, 0),
            remaining: 0,
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        let mut chunk = self.chunks.get(self.front.0)?;
        if self.front.1 >= chunk.end {
            self.front.0 += 1;
            chunk = self.chunks.get(self.front.0)?;
            self.front.1 = chunk.start;
        }
        let (s, len, next) = read_forward(&chunk.buf, self.front.1);
        self.front.1 = next;
        self.remaining -= 1;
        Some(&chunk.buf[s..s + len])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let mut chunk = self.chunks.get(self.back.0)?;
        if self.back.1 <= chunk.start {
            self.back.0 = self.back.0.checked_sub(1)?;
            chunk = self.chunks.get(self.back.0)?;
            self.back.1 = chunk.end;
        }
        let (entry, s, len) = read_backward(&chunk.buf, self.back.1);
        self.back.1 = entry;
        self.remaining -= 1;
        Some(&chunk.buf[s..s + len])
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl PartialEq for ListValue {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for ListValue {}

impl std::fmt::Debug for ListValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

impl<'e> Extend<&'e [u8]> for ListValue {
    fn extend<I: IntoIterator<Item = &'e [u8]>>(&mut self, iter: I) {
        for elem in iter {
            self.push_back(elem);
        }
    }
}

impl<'e> FromIterator<&'e [u8]> for ListValue {
    fn from_iter<I: IntoIterator<Item = &'e [u8]>>(iter: I) -> Self {
        let mut list = ListValue::new();
        list.extend(iter);
        list
    }
}

// ---- Redis's index rules and the LPOS search ----

/// What LPOS looks for besides the element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionQuery {
    /// Which match comes first (1 = the first from the head, -1 = the first from the tail);
    /// never 0.
    pub rank: i64,
    /// How many matches to report; `Some(0)` = all of them, `None` = only the first (LPOS
    /// without COUNT).
    pub count: Option<usize>,
    /// How many elements to look at from the starting end (0 = all).
    pub max_len: usize,
}

impl ListValue {
    /// The position a Redis index (negative counts from the tail) names, if inside the list.
    fn resolve_index(&self, index: i64) -> Option<usize> {
        let len = i64::try_from(self.len).ok()?;
        let index = if index < 0 { len + index } else { index };
        (0..len).contains(&index).then_some(index as usize)
    }

    /// The element at a Redis index (negative counts from the tail), as LINDEX.
    /// O(N/chunk + chunk).
    pub fn at(&self, index: i64) -> Option<&[u8]> {
        self.get(self.resolve_index(index)?)
    }

    /// Replaces the element at a Redis index, as LSET; false when out of range.
    /// O(N/chunk + chunk).
    pub fn set_at(&mut self, index: i64, elem: &[u8]) -> bool {
        self.resolve_index(index)
            .is_some_and(|index| self.set(index, elem))
    }

    /// The elements between Redis indexes `start` and `stop` (inclusive, negative from the
    /// tail), as LRANGE. O(N/chunk + chunk) to find the start, O(1) per element after.
    pub fn slice(&self, start: i64, stop: i64) -> Iter<'_> {
        match index_range(start, stop, self.len, StopBeforeFirst::Empty) {
            Some(range) => self.range(range.start, range.end - 1),
            None => Iter::empty(&self.chunks),
        }
    }

    /// Keeps only the elements between Redis indexes `start` and `stop`, as LTRIM (an empty
    /// range empties the list). O(removed/chunk + chunk).
    pub fn trim(&mut self, start: i64, stop: i64) {
        match index_range(start, stop, self.len, StopBeforeFirst::Empty) {
            Some(range) => self.retain_range(range.start, range.end - 1),
            None => self.clear(),
        }
    }

    /// LPOS: the positions (counted from the head) of the elements equal to `elem`, in the
    /// order met walking from the end `query.rank` names. O(N), or O(max_len).
    pub fn positions(&self, elem: &[u8], query: PositionQuery) -> Vec<usize> {
        let from_tail = query.rank < 0;
        // Redis negates the rank in a C long: i64::MIN stays negative, so every match counts
        // from the first one on and COUNT never stops the scan. Reproduced for exactness.
        let (skip, count) = if query.rank == i64::MIN {
            (0, query.count.map(|_| 0))
        } else {
            let skip = usize::try_from(query.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
            (skip, query.count)
        };
        let wanted = match count {
            None => 1,
            Some(0) => usize::MAX,
            Some(n) => n,
        };
        let scan_limit = match query.max_len {
            0 => self.len,
            n => n.min(self.len),
        };
        let last = self.len.saturating_sub(1);
        let walk: Box<dyn Iterator<Item = (usize, &[u8])>> = if from_tail {
            Box::new(self.iter().rev().enumerate().map(|(i, e)| (last - i, e)))
        } else {
            Box::new(self.iter().enumerate())
        };
        walk.take(scan_limit)
            .filter(|&(_, candidate)| candidate == elem)
            .skip(skip)
            .take(wanted)
            .map(|(position, _)| position)
            .collect()
    }
}

// ---- keyspace operations behind the list commands ----

/// What a pop took from one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popped {
    /// The end the elements came from.
    pub end: End,
    /// The elements, in the order they were popped.
    pub elements: Vec<Vec<u8>>,
    /// Whether the pop emptied the list (so the key was deleted).
    pub emptied: bool,
}

/// What a pop from the first non-empty of several lists did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoppedFrom<'k> {
    /// The key that served.
    pub key: &'k [u8],
    pub popped: Popped,
}

/// What LMOVE (and its blocking and RPOPLPUSH forms) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The element moved.
    pub element: Vec<u8>,
    pub from: End,
    pub to: End,
    /// Whether the move emptied the source (so its key was deleted); never for a move
    /// within one list.
    pub source_emptied: bool,
}

/// What LINSERT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// There is no list at the key.
    NoList,
    /// The list holds no element equal to the pivot.
    NoPivot,
    /// The element went in; the list's new length.
    Len(usize),
}

/// What LREM did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub count: usize,
    /// Whether the removal emptied the list (so the key was deleted).
    pub emptied: bool,
}

/// Pops up to `count` elements from `end` of `list`. O(count).
fn pop_up_to(list: &mut ListValue, end: End, count: usize) -> Popped {
    let elements = (0..count.min(list.len()))
        .filter_map(|_| list.pop(end))
        .collect();
    Popped {
        end,
        elements,
        emptied: list.is_empty(),
    }
}

impl DbMut<'_> {
    /// The list at `key`, for reading (counts a keyspace hit or miss). O(1).
    pub fn list_value(&mut self, key: &[u8]) -> StoreResult<Option<&ListValue>> {
        self.read_typed(key, Value::as_list)
    }

    /// LPUSH/RPUSH (and with `only_if_exists` LPUSHX/RPUSHX): pushes `elems` one by one at
    /// `end`, creating the list unless `only_if_exists`. Returns the new length, or `None`
    /// when nothing was pushed because there is no list. O(elements).
    pub fn list_push(
        &mut self,
        key: &[u8],
        elems: &[&[u8]],
        end: End,
        only_if_exists: bool,
    ) -> StoreResult<Option<usize>> {
        let list = if only_if_exists {
            match self.write_typed(key, Value::as_list_mut)? {
                Some(list) => list,
                None => return Ok(None),
            }
        } else {
            self.write_typed_or_create(key, Value::as_list_mut, Value::new_list)?
        };
        for elem in elems {
            list.push(elem, end);
        }
        let len = list.len();
        self.after_write(key);
        Ok(Some(len))
    }

    /// LPOP/RPOP: pops up to `count` elements from `end`, deleting a list left empty. `None`
    /// when there is no list; a count of 0 pops nothing and changes nothing. O(count).
    pub fn list_pop(&mut self, key: &[u8], end: End, count: usize) -> StoreResult<Option<Popped>> {
        let Some(list) = self.write_typed(key, Value::as_list_mut)? else {
            return Ok(None);
        };
        let popped = pop_up_to(list, end, count);
        if !popped.elements.is_empty() {
            self.after_write(key);
        }
        Ok(Some(popped))
    }

    /// LMPOP, BLPOP and friends: pops up to `count` elements from `end` of the first of
    /// `keys` (in order) that holds a list, saying which key served; `None` when none does. A
    /// key of another type met before that is WRONGTYPE. O(keys + count).
    pub fn list_pop_first<'k>(
        &mut self,
        keys: &[&'k [u8]],
        end: End,
        count: usize,
    ) -> StoreResult<Option<PoppedFrom<'k>>> {
        for &key in keys {
            let Some(list) = self.write_typed(key, Value::as_list_mut)? else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            let popped = pop_up_to(list, end, count);
            self.after_write(key);
            return Ok(Some(PoppedFrom { key, popped }));
        }
        Ok(None)
    }

    /// LMOVE/RPOPLPUSH and their blocking forms: pops one element from `from` of `src` and
    /// pushes it at `to` of `dst` (creating it). `None` (nothing changes) when `src` holds no
    /// list. Types are checked in Redis's order: the source, then the destination, before
    /// anything moves. O(1).
    pub fn list_move(
        &mut self,
        src: &[u8],
        dst: &[u8],
        from: End,
        to: End,
    ) -> StoreResult<Option<Moved>> {
        let Some(list) = self.write_typed(src, Value::as_list_mut)? else {
            return Ok(None);
        };
        if src == dst {
            // Rotated within one borrow: the list never passes through empty, so a
            // one-element list is not deleted and created again.
            let Some(element) = list.pop(from) else {
                return Ok(None);
            };
            list.push(&element, to);
            self.after_write(src);
            return Ok(Some(Moved {
                element,
                from,
                to,
                source_emptied: false,
            }));
        }
        self.write_typed(dst, Value::as_list_mut)?;
        let Some((element, source_emptied)) = self
            .write_typed(src, Value::as_list_mut)?
            .and_then(|list| list.pop(from).map(|elem| (elem, list.is_empty())))
        else {
            return Ok(None);
        };
        self.after_write(src);
        self.write_typed_or_create(dst, Value::as_list_mut, Value::new_list)?
            .push(&element, to);
        self.after_write(dst);
        Ok(Some(Moved {
            element,
            from,
            to,
            source_emptied,
        }))
    }

    /// LSET: replaces the element at the Redis index written in `index` (read only once the
    /// list is found, as Redis does). O(N/chunk + chunk).
    pub fn list_set(&mut self, key: &[u8], index: &[u8], elem: &[u8]) -> StoreResult<()> {
        let Some(list) = self.write_typed(key, Value::as_list_mut)? else {
            return Err(StoreError::NoSuchKey);
        };
        let index = parse_i64(index).ok_or(StoreError::NotInteger)?;
        if !list.set_at(index, elem) {
            return Err(StoreError::IndexOutOfRange);
        }
        self.after_write(key);
        Ok(())
    }

    /// LINSERT: inserts `elem` before (or `after`) the first element equal to `pivot`. O(N).
    pub fn list_insert(
        &mut self,
        key: &[u8],
        pivot: &[u8],
        elem: &[u8],
        after: bool,
    ) -> StoreResult<Inserted> {
        let Some(list) = self.write_typed(key, Value::as_list_mut)? else {
            return Ok(Inserted::NoList);
        };
        if !list.insert(pivot, elem, after) {
            return Ok(Inserted::NoPivot);
        }
        let len = list.len();
        self.after_write(key);
        Ok(Inserted::Len(len))
    }

    /// LREM: removes up to |count| elements equal to `elem`, from the head (count >= 0, 0 =
    /// all) or the tail (count < 0), deleting a list left empty. O(N).
    pub fn list_remove(&mut self, key: &[u8], count: i64, elem: &[u8]) -> StoreResult<Removed> {
        let Some(list) = self.write_typed(key, Value::as_list_mut)? else {
            return Ok(Removed {
                count: 0,
                emptied: false,
            });
        };
        let from = if count < 0 { End::Back } else { End::Front };
        let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let removed = Removed {
            count: list.remove_matching(elem, limit, from),
            emptied: list.is_empty(),
        };
        if removed.count > 0 {
            self.after_write(key);
        }
        Ok(removed)
    }

    /// LTRIM: keeps the elements between Redis indexes `start` and `stop`, deleting a list
    /// left empty. `None` when there is no list, else whether it was emptied.
    /// O(removed/chunk + chunk).
    pub fn list_trim(&mut self, key: &[u8], start: i64, stop: i64) -> StoreResult<Option<bool>> {
        let Some(list) = self.write_typed(key, Value::as_list_mut)? else {
            return Ok(None);
        };
        list.trim(start, stop);
        let emptied = list.is_empty();
        self.after_write(key);
        Ok(Some(emptied))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    fn list_of(items: &[&str]) -> ListValue {
        items.iter().map(|s| s.as_bytes()).collect()
    }

    fn contents(list: &ListValue) -> Vec<Vec<u8>> {
        list.iter().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn varints_round_trip_at_width_boundaries() {
        for len in [0, 1, 127, 128, 16383, 16384, 2_097_151, 2_097_152] {
            let elem = vec![b'x'; len];
            let size = entry_size(len);
            let mut buf = vec![0u8; size + 2];
            let end = write_entry(&mut buf, 1, &elem);
            assert_eq!(end, 1 + size);
            assert_eq!(read_forward(&buf, 1), (1 + varint_len(len), len, end));
            assert_eq!(read_backward(&buf, end), (1, 1 + varint_len(len), len));
        }
    }

    #[test]
    fn pushes_pops_and_reads_at_both_ends() {
        let mut list = ListValue::new();
        list.push_back(b"b");
        list.push_front(b"a");
        list.push_back(b"c");
        assert_eq!(list.len(), 3);
        assert_eq!(list.get(0), Some(&b"a"[..]));
        assert_eq!(list.get(2), Some(&b"c"[..]));
        assert_eq!(list.get(3), None);
        assert_eq!(list.iter().rev().collect::<Vec<_>>(), [b"c", b"b", b"a"]);
        assert_eq!(list.pop_back().as_deref(), Some(&b"c"[..]));
        assert_eq!(list.pop_front().as_deref(), Some(&b"a"[..]));
        assert_eq!(list.pop_front().as_deref(), Some(&b"b"[..]));
        assert_eq!(list.pop_front(), None);
        assert!(list.is_empty());
        list.check();
    }

    #[test]
    fn a_big_list_is_packed() {
        let mut list = ListValue::new();
        for i in 0..100_000u32 {
            list.push_back(format!("{i:016}").as_bytes());
        }
        list.check();
        let per_element = list.heap_bytes() as f64 / list.len() as f64;
        assert!(per_element < 19.0, "{per_element} bytes per element");
        assert_eq!(list.get(54_321), Some(format!("{:016}", 54_321).as_bytes()));
        let mut list2 = ListValue::new();
        for i in 0..100_000u32 {
            list2.push_front(format!("{i:016}").as_bytes());
        }
        let per_element = list2.heap_bytes() as f64 / list2.len() as f64;
        assert!(per_element < 19.0, "{per_element} bytes per element");
    }

    #[test]
    fn range_walks_across_chunks() {
        let elem = vec![b'z'; 3000];
        let mut list = ListValue::new();
        for _ in 0..10 {
            list.push_back(&elem);
        }
        list.push_back(b"last");
        assert!(list.chunks.len() > 3);
        assert_eq!(list.range(9, 100).count(), 2);
        assert_eq!(list.range(9, 100).next_back(), Some(&b"last"[..]));
        assert_eq!(list.range(5, 4).count(), 0);
        assert_eq!(list.range(11, 20).count(), 0);
        let mut both = list.range(2, 5);
        assert_eq!(both.len(), 4);
        both.next();
        both.next_back();
        assert_eq!(both.count(), 2);
    }

    #[test]
    fn middle_edits_split_and_merge_chunks() {
        let mut list = ListValue::new();
        for i in 0..2000u32 {
            list.push_back(format!("e{i}").as_bytes());
        }
        for _ in 0..500 {
            assert!(list.insert(b"e1000", &[b'x'; 40], false));
        }
        list.check();
        assert!(list.chunks.iter().all(|c| c.used() <= CHUNK_BYTES));
        assert_eq!(list.remove_matching(&[b'x'; 40], 0, End::Back), 500);
        list.check();
        assert!(list.chunks.len() <= 3, "{} chunks", list.chunks.len());
        assert!(list.set(5, &[b'y'; 20_000]));
        assert!(list.set(6, b"six"));
        list.check();
        assert_eq!(list.get(5).map(<[u8]>::len), Some(20_000));
        assert_eq!(list.get(6), Some(&b"six"[..]));
        assert_eq!(list.get(7), Some(&b"e7"[..]));
    }

    #[test]
    fn remove_matching_respects_limit_and_direction() {
        let mut list = list_of(&["a", "b", "a", "c", "a"]);
        assert_eq!(list.remove_matching(b"a", 2, End::Back), 2);
        assert_eq!(list, list_of(&["a", "b", "c"]));
        assert_eq!(list.remove_matching(b"zz", 0, End::Front), 0);
        assert_eq!(list.remove_matching(b"a", 0, End::Front), 1);
        assert_eq!(list, list_of(&["b", "c"]));
    }

    #[test]
    fn retain_range_trims_both_ends() {
        let mut list: ListValue = (0..1000u32)
            .map(|i| format!("{i:0100}"))
            .collect::<Vec<_>>()
            .iter()
            .map(|s| s.as_bytes())
            .collect();
        list.retain_range(100, 199);
        list.check();
        assert_eq!(list.len(), 100);
        assert_eq!(list.get(0), Some(format!("{:0100}", 100).as_bytes()));
        assert_eq!(list.get(99), Some(format!("{:0100}", 199).as_bytes()));
        list.retain_range(50, 10);
        assert!(list.is_empty());
    }

    #[test]
    fn redis_indexes_read_write_and_search() {
        let mut list = list_of(&["a", "b", "a", "c", "a"]);
        assert_eq!(list.at(-1), Some(&b"a"[..]));
        assert_eq!(list.at(5), None);
        assert!(list.set_at(-2, b"z"));
        assert!(!list.set_at(-6, b"z"));
        assert_eq!(list.slice(1, -2).collect::<Vec<_>>(), [b"b", b"a", b"z"]);
        assert_eq!(list.slice(0, -6).count(), 0);
        let query = |rank, count, max_len| PositionQuery {
            rank,
            count,
            max_len,
        };
        assert_eq!(list.positions(b"a", query(1, None, 0)), [0]);
        assert_eq!(list.positions(b"a", query(-1, Some(0), 0)), [4, 2, 0]);
        assert_eq!(list.positions(b"a", query(2, Some(1), 0)), [2]);
        assert_eq!(list.positions(b"a", query(1, Some(0), 2)), [0]);
        assert_eq!(list.positions(b"a", query(i64::MIN, Some(1), 0)), [4, 2, 0]);
        list.trim(1, -2);
        assert_eq!(contents(&list), [b"b", b"a", b"z"]);
        list.trim(3, 1);
        assert!(list.is_empty());
    }

    #[test]
    fn keyspace_operations_report_what_they_did() {
        use crate::store::Keyspace;
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        let (l, d): (&[u8], &[u8]) = (b"l", b"d");
        assert_eq!(
            db.list_push(l, &[b"a", b"b", b"c"], End::Back, true),
            Ok(None)
        );
        assert_eq!(
            db.list_push(l, &[b"a", b"b", b"c"], End::Back, false),
            Ok(Some(3))
        );
        let served = db.list_pop_first(&[d, l], End::Front, 2).unwrap().unwrap();
        assert_eq!(served.key, l);
        assert_eq!(served.popped.elements, [b"a", b"b"]);
        assert!(!served.popped.emptied);
        // A one-element list rotated onto itself is never deleted on the way.
        let moved = db.list_move(l, l, End::Front, End::Back).unwrap().unwrap();
        assert_eq!(
            (moved.element.as_slice(), moved.source_emptied),
            (&b"c"[..], false)
        );
        assert!(db.exists(l));
        let moved = db.list_move(l, d, End::Back, End::Front).unwrap().unwrap();
        assert!(moved.source_emptied);
        assert!(!db.exists(l));
        assert_eq!(db.list_move(l, d, End::Back, End::Front), Ok(None));
        assert_eq!(db.list_set(d, b"x", b"v"), Err(StoreError::NotInteger));
        assert_eq!(db.list_set(d, b"1", b"v"), Err(StoreError::IndexOutOfRange));
        assert_eq!(db.list_set(l, b"x", b"v"), Err(StoreError::NoSuchKey));
        assert_eq!(db.list_insert(d, b"c", b"x", true), Ok(Inserted::Len(2)));
        assert_eq!(db.list_insert(d, b"q", b"x", true), Ok(Inserted::NoPivot));
        let removed = db.list_remove(d, -1, b"x").unwrap();
        assert_eq!((removed.count, removed.emptied), (1, false));
        let popped = db.list_pop(d, End::Back, 0).unwrap().unwrap();
        assert!(popped.elements.is_empty());
        assert_eq!(db.list_trim(d, 1, 0), Ok(Some(true)));
        assert_eq!(db.list_trim(d, 1, 0), Ok(None));
    }

    /// An element drawn from a small pool (so searches hit), with sizes on both sides of the
    /// varint widths and of the chunk size.
    fn random_elem(rng: &mut SmallRng, small_only: bool) -> Vec<u8> {
        let pool: [(u8, usize); 8] = [
            (b'a', 0),
            (b'b', 1),
            (b'c', 5),
            (b'd', 127),
            (b'e', 128),
            (b'f', 1500),
            (b'g', CHUNK_BYTES - 2),
            (b'h', CHUNK_BYTES + 300),
        ];
        let weights = if small_only {
            [20, 20, 20, 10, 10, 0, 0, 0]
        } else {
            [20, 20, 20, 10, 10, 8, 2, 1]
        };
        let total: u32 = weights.iter().sum();
        let mut pick = rng.gen_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                let (byte, len) = pool[i];
                return vec![byte; len];
            }
            pick -= w;
        }
        Vec::new()
    }

    fn random_index(rng: &mut SmallRng, len: usize) -> usize {
        if len == 0 || rng.gen_bool(0.05) {
            len + rng.gen_range(0..3)
        } else {
            rng.gen_range(0..len)
        }
    }

    #[test]
    fn matches_a_vecdeque_model_under_random_operations() {
        let (mut widest, mut longest) = (0, 0);
        for seed in 0..12u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut list = ListValue::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            let (mut max_chunks, mut max_len) = (0, 0);
            // Grow towards a target length, so lists span many chunks, then churn around it.
            let target = [40, 400, 2000][seed as usize % 3];
            // Small elements only: hundreds per chunk, so walks inside chunks are long.
            let small_only = seed % 2 == 1;
            for step in 0..6000 {
                let op = if model.len() < target && rng.gen_bool(0.7) {
                    rng.gen_range(0..4)
                } else {
                    rng.gen_range(0..14)
                };
                match op {
                    0 | 1 => {
                        let e = random_elem(&mut rng, small_only);
                        list.push_back(&e);
                        model.push_back(e);
                    }
                    2 | 3 => {
                        let e = random_elem(&mut rng, small_only);
                        list.push_front(&e);
                        model.push_front(e);
                    }
                    4 => assert_eq!(list.pop_front(), model.pop_front()),
                    5 => assert_eq!(list.pop_back(), model.pop_back()),
                    6 => {
                        let i = random_index(&mut rng, model.len());
                        let e = random_elem(&mut rng, small_only);
                        let ok = i < model.len();
                        assert_eq!(list.set(i, &e), ok);
                        if ok {
                            model[i] = e;
                        }
                    }
                    7 => {
                        let pivot = random_elem(&mut rng, small_only);
                        let e = random_elem(&mut rng, small_only);
                        let after = rng.gen_bool(0.5);
                        let found = model.iter().position(|x| *x == pivot);
                        assert_eq!(list.insert(&pivot, &e, after), found.is_some());
                        if let Some(p) = found {
                            model.insert(if after { p + 1 } else { p }, e);
                        }
                    }
                    8 => {
                        let e = random_elem(&mut rng, small_only);
                        let limit = if rng.gen_bool(0.05) {
                            0
                        } else {
                            rng.gen_range(1..4)
                        };
                        let from = if rng.gen_bool(0.5) {
                            End::Front
                        } else {
                            End::Back
                        };
                        let mut removed = 0;
                        let mut kept = VecDeque::new();
                        let items: Vec<Vec<u8>> = match from {
                            End::Front => model.drain(..).collect(),
                            End::Back => model.drain(..).rev().collect(),
                        };
                        for x in items {
                            if x == e && (limit == 0 || removed < limit) {
                                removed += 1;
                            } else {
                                kept.push_back(x);
                            }
                        }
                        if from == End::Back {
                            kept = kept.into_iter().rev().collect();
                        }
                        model = kept;
                        assert_eq!(list.remove_matching(&e, limit, from), removed);
                    }
                    9 | 13 => {
                        let (a, b) = if rng.gen_bool(0.02) {
                            (
                                random_index(&mut rng, model.len()),
                                random_index(&mut rng, model.len()),
                            )
                        } else {
                            let len = model.len() as i64;
                            (
                                rng.gen_range(0..4),
                                (len - rng.gen_range(-2..4)).max(0) as usize,
                            )
                        };
                        list.retain_range(a, b);
                        if a > b || a >= model.len() {
                            model.clear();
                        } else {
                            let b = b.min(model.len() - 1);
                            model = model.drain(a..=b).collect();
                        }
                    }
                    10 => {
                        let i = random_index(&mut rng, model.len());
                        assert_eq!(list.get(i), model.get(i).map(|v| &v[..]));
                    }
                    11 => {
                        let a = random_index(&mut rng, model.len());
                        let b = random_index(&mut rng, model.len());
                        let got: Vec<&[u8]> = list.range(a, b).collect();
                        let want: Vec<&[u8]> = if a > b || a >= model.len() {
                            Vec::new()
                        } else {
                            model
                                .range(a..=b.min(model.len() - 1))
                                .map(|v| &v[..])
                                .collect()
                        };
                        assert_eq!(got, want);
                        let back: Vec<&[u8]> = list.range(a, b).rev().collect();
                        assert_eq!(back, want.into_iter().rev().collect::<Vec<_>>());
                    }
                    _ => {
                        let n = rng.gen_range(0..6);
                        if rng.gen_bool(0.5) {
                            list.truncate_front(n);
                            model.drain(..n.min(model.len()));
                        } else {
                            list.truncate_back(n);
                            model.truncate(model.len().saturating_sub(n));
                        }
                    }
                }
                list.check();
                max_chunks = max_chunks.max(list.chunks.len());
                max_len = max_len.max(list.len());
                assert_eq!(list.len(), model.len(), "seed {seed} step {step} op {op}");
                if step % 50 == 0 {
                    assert_eq!(contents(&list), Vec::from(model.clone()));
                }
            }
            assert_eq!(contents(&list), Vec::from(model));
            widest = widest.max(max_chunks);
            longest = longest.max(max_len);
        }
        // The operations must have reached lists of many chunks, or the test proves little.
        assert!(
            widest >= 50 && longest >= 1000,
            "{widest} chunks, {longest} elements"
        );
    }

    #[test]
    fn alternating_ends_and_queue_use_stay_bounded() {
        let mut list = ListValue::new();
        for i in 0..20_000u32 {
            let e = format!("{i:016}");
            if i % 2 == 0 {
                list.push_front(e.as_bytes());
            } else {
                list.push_back(e.as_bytes());
            }
        }
        list.check();
        let per_element = list.heap_bytes() as f64 / list.len() as f64;
        assert!(per_element < 22.0, "{per_element} bytes per element");
        // A queue: push at the tail, pop at the head; memory must not grow with throughput.
        let mut queue = ListValue::new();
        for i in 0..100_000u32 {
            queue.push_back(format!("{i:016}").as_bytes());
            if i >= 10 {
                assert!(queue.pop_front().is_some());
            }
        }
        assert_eq!(queue.len(), 10);
        assert!(queue.heap_bytes() < 1024, "{}", queue.heap_bytes());
    }
}
