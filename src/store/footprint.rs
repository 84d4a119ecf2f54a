//! Estimates of the memory a key and its value occupy, for MEMORY USAGE.
//!
//! Not Redis's figures (its allocator and encodings differ) but ours, computed from our own
//! structures:
//! - the key's slot in its database: the key and value headers, the stored hash and the index
//!   entry, plus the key's bytes when they do not fit inline;
//! - strings: their heap buffer when not inline;
//! - lists: the packed chunks (exact, O(chunks));
//! - sorted sets, queues, stacks and graphs: their own byte counts (a walk of the value);
//! - hashes, sets and trees: entries × (the entry's fixed size in our table or tree + the
//!   average heap bytes of the entries sampled), where the first `samples` entries in
//!   iteration order are measured (0 = all of them), as Redis samples nested values.

use super::hash::HashValue;
use super::keyspace::Key;
use super::posmap::{Slot, BUCKET_BYTES};
use super::set::{Member, SetValue};
use super::tree::TreeValue;
use super::value::Value;
use std::mem::size_of;

/// A pair slot of a hash table: two length bytes and 37 inline bytes, or a length and a
/// boxed buffer (see `hash.rs`), plus its `u32` index slot and control byte.
const HASH_ENTRY: usize = 40 + 5;
/// Pairs whose field and value together exceed this are boxed.
const HASH_PAIR_INLINE: usize = 37;
/// A set member slot (22 inline bytes, or a boxed buffer) plus its index slot.
const SET_ENTRY: usize = 24 + 5;
/// Members longer than this are boxed.
const SET_MEMBER_INLINE: usize = 22;
/// A tree node: numeric key, boxed key bytes, boxed value, two child links, size, height.
const TREE_NODE: usize = 8 + 16 + 16 + 4 + 4 + 4 + 1;

/// Estimated bytes held by `key` and `value` together. `samples` bounds how many entries of a
/// hash, set or tree are measured (0 = all). O(samples) for those; see the module
/// documentation for the other types.
pub fn usage(key: &[u8], value: &Value, samples: usize) -> usize {
    let inline_key = size_of::<Key>() - size_of::<usize>();
    let key_heap = if key.len() > inline_key { key.len() } else { 0 };
    slot_usage() + key_heap + value_usage(value, samples)
}

/// Estimated bytes of a key's slot in its database: all that a key whose bytes and value
/// fit inline holds.
pub const fn slot_usage() -> usize {
    size_of::<Slot<Value>>() + BUCKET_BYTES
}

/// Estimated bytes held by a value beyond its slot in the database.
pub fn value_usage(value: &Value, samples: usize) -> usize {
    match value {
        Value::Str(bytes, _) => {
            if bytes.spilled() {
                bytes.capacity()
            } else {
                0
            }
        }
        Value::List(list) => size_of_val(&**list) + list.heap_bytes(),
        Value::ZSet(zset) => size_of_val(&**zset) + zset.heap_bytes(),
        Value::Queue(queue) => size_of_val(&**queue) + queue.memory_usage(),
        Value::Stack(stack) => size_of_val(&**stack) + stack.memory_usage(),
        Value::Graph(graph) => size_of_val(&**graph) + graph.memory_usage(),
        Value::Hash(hash) => hash_usage(hash, samples),
        Value::Set(set) => set_usage(set, samples),
        Value::Tree(tree) => size_of_val(&**tree) + tree_usage(tree, samples),
        Value::Stream(stream) => size_of_val(&**stream) + stream.memory_usage(),
        Value::Cold(_) => 0,
    }
}

/// `len` entries from the per-entry bytes of those sampled: the average, extrapolated.
fn extrapolate(len: usize, sampled: impl Iterator<Item = usize>, samples: usize) -> usize {
    let take = if samples == 0 { len } else { samples.min(len) };
    if take == 0 {
        return 0;
    }
    let total: usize = sampled.take(take).sum();
    ((total as f64 / take as f64) * len as f64).round() as usize
}

fn hash_usage(hash: &HashValue, samples: usize) -> usize {
    if hash.encoding() == "listpack" {
        // One buffer: a four-byte count, then a length before each field and value (one
        // byte for the short ones a listpack usually holds).
        return 4 + extrapolate(
            hash.len(),
            hash.iter().map(|(f, v)| 2 + f.len() + v.len()),
            samples,
        );
    }
    let entries = hash.iter().map(|(f, v)| {
        let bytes = f.len() + v.len();
        HASH_ENTRY + if bytes > HASH_PAIR_INLINE { bytes } else { 0 }
    });
    extrapolate(hash.len(), entries, samples)
}

fn set_usage(set: &SetValue, samples: usize) -> usize {
    if set.encoding() == "intset" {
        // Packed integers, all of the width the widest needs (2, 4 or 8 bytes).
        let widest = set
            .iter()
            .take(if samples == 0 { usize::MAX } else { samples })
            .map(|member| match member {
                Member::Int(v) if i16::try_from(v).is_ok() => 2,
                Member::Int(v) if i32::try_from(v).is_ok() => 4,
                _ => 8,
            })
            .max()
            .unwrap_or(0);
        return set.len() * widest;
    }
    let entries = set.iter().map(|member| {
        let len = member.with_bytes(|b| b.len());
        SET_ENTRY + if len > SET_MEMBER_INLINE { len } else { 0 }
    });
    extrapolate(set.len(), entries, samples)
}

fn tree_usage(tree: &TreeValue, samples: usize) -> usize {
    let entries = tree.iter().map(|(k, v)| TREE_NODE + k.len() + v.len());
    extrapolate(tree.len(), entries, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_grows_with_the_value() {
        let small = Value::Str(b"x".as_slice().into(), Default::default());
        let big = Value::Str(vec![b'x'; 1000].as_slice().into(), Default::default());
        assert!(usage(b"k", &big, 5) >= usage(b"k", &small, 5) + 1000);
        assert!(usage(&[b'k'; 100], &small, 5) >= usage(b"k", &small, 5) + 100);

        let mut hash = HashValue::default();
        let mut last = value_usage(&Value::Hash(hash.clone()), 0);
        for i in 0..1000 {
            hash.set(
                format!("field{i}").as_bytes(),
                &[b'v'; 50],
                crate::store::EncodingLimits::DEFAULT.hash,
            )
            .unwrap();
            if i % 100 == 99 {
                let now = value_usage(&Value::Hash(hash.clone()), 0);
                assert!(now > last, "{now} <= {last} at {i}");
                last = now;
            }
        }
        // Sampling extrapolates from a few entries of a uniform hash.
        let all = value_usage(&Value::Hash(hash.clone()), 0);
        let sampled = value_usage(&Value::Hash(hash), 5);
        assert!(sampled.abs_diff(all) * 10 < all, "{sampled} vs {all}");
    }

    #[test]
    fn sets_count_their_encoding() {
        let ints = SetValue::from_members(
            [&b"1"[..], b"2", b"3"],
            crate::store::EncodingLimits::DEFAULT.set_max_intset_entries(),
        )
        .unwrap();
        assert_eq!(set_usage(&ints, 0), 6);
        let wide = SetValue::from_members(
            [&b"1"[..], b"100000"],
            crate::store::EncodingLimits::DEFAULT.set_max_intset_entries(),
        )
        .unwrap();
        assert_eq!(set_usage(&wide, 0), 8);
        let words = SetValue::from_members(
            [&b"a"[..], &[b'b'; 30]],
            crate::store::EncodingLimits::DEFAULT.set_max_intset_entries(),
        )
        .unwrap();
        assert_eq!(set_usage(&words, 0), 2 * SET_ENTRY + 30);
    }
}
