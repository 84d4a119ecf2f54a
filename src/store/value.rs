//! The value stored under a key.

use super::graph::GraphValue;
use super::hash::HashValue;
use super::list::ListValue;
use super::pile::{QueueValue, StackValue};
use super::set::SetValue;
use super::stream::StreamValue;
use super::tree::TreeValue;
use super::zset::ZSetValue;
use super::ShortBytes;

// The keyspace's slots are sized for a 32-byte value; sets and hashes fit inline only while
// their handles stay at 16 bytes.
const _: () = assert!(std::mem::size_of::<Value>() == 32);
const _: () = assert!(std::mem::size_of::<SetValue>() == 16);
const _: () = assert!(std::mem::size_of::<HashValue>() == 16);

/// How OBJECT ENCODING names a string: Redis decides when the value is written (SET tries
/// `int`, INCRBYFLOAT makes `embstr`, APPEND and SETRANGE make `raw`), not from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrEncoding {
    /// Chosen from the content as SET does: `int`, `embstr` up to 44 bytes, else `raw`.
    #[default]
    Auto,
    Embstr,
    Raw,
}

/// A key's value, 32 bytes. A collection whose handle is larger than a string's is boxed, so
/// the common string case keeps keyspace slots small; sets and hashes (16-byte handles) are
/// held inline, which saves an allocation for each of the many small ones.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(ShortBytes, StrEncoding),
    List(Box<ListValue>),
    Hash(HashValue),
    Set(SetValue),
    ZSet(Box<ZSetValue>),
    Tree(Box<TreeValue>),
    Graph(Box<GraphValue>),
    Queue(Box<QueueValue>),
    Stack(Box<StackValue>),
    Stream(Box<StreamValue>),
    /// A cold key's record under `maxmemory-tiering`: the value was dropped from memory and
    /// lives only in MongoDB, which already held it; the key, its expiry and its access word
    /// stay in the keyspace. See [`ColdValue`].
    Cold(ColdValue),
}

/// What stays in memory of a cold value: its type (TYPE, SCAN TYPE and the waits of blocking
/// commands answer from it) and the epoch of its drop, so that a load read before the key was
/// deleted, written again and dropped again is not taken for the current value. 8 bytes, held
/// inline in the [`Value`] slot: a cold key costs its name plus one keyspace entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdValue {
    type_index: u8,
    pub epoch: u32,
}

/// The names [`ColdValue::type_name`] gives, indexed by `type_index`.
const COLD_TYPE_NAMES: [&str; 10] = [
    "string", "list", "hash", "set", "zset", "tree", "graph", "queue", "stack", "stream",
];

impl ColdValue {
    /// The record of a value of type `type_name` (a [`Value::type_name`]) dropped at `epoch`.
    pub fn new(type_name: &str, epoch: u32) -> Self {
        let type_index = COLD_TYPE_NAMES
            .iter()
            .position(|name| *name == type_name)
            .unwrap_or(0) as u8;
        ColdValue { type_index, epoch }
    }

    /// The type of the value MongoDB holds.
    pub fn type_name(&self) -> &'static str {
        COLD_TYPE_NAMES
            .get(usize::from(self.type_index))
            .copied()
            .unwrap_or("string")
    }
}

impl Value {
    /// Roughly how many allocations freeing this value releases, as Redis's
    /// `lazyfreeGetFreeEffort`: 1 for a string, the element count for a collection. Values
    /// above [`LAZYFREE_THRESHOLD`] are worth freeing off the reactor thread. O(1).
    pub fn free_effort(&self) -> usize {
        match self {
            Value::Str(..) => 1,
            Value::List(v) => v.len(),
            Value::Hash(v) => v.len(),
            Value::Set(v) => v.len(),
            Value::ZSet(v) => v.len(),
            Value::Tree(v) => v.len(),
            Value::Graph(v) => v.node_count() + v.edge_count(),
            Value::Queue(v) => v.len(),
            Value::Stack(v) => v.len(),
            Value::Stream(v) => v.free_effort(),
            Value::Cold(_) => 0,
        }
    }
}

/// Redis's threshold: values whose [`Value::free_effort`] is above it are freed lazily by
/// UNLINK (and the async flushes).
pub const LAZYFREE_THRESHOLD: usize = 64;

/// Generates the typed accessors `DbMut::read_typed`/`write_typed` take.
macro_rules! accessors {
    ($($variant:ident, $ty:ty, $as_ref:ident, $as_mut:ident, $new:ident;)*) => {
        impl Value {
            $(
                pub fn $as_ref(&self) -> Option<&$ty> {
                    match self {
                        Value::$variant(v) => Some(v),
                        _ => None,
                    }
                }

                pub fn $as_mut(&mut self) -> Option<&mut $ty> {
                    match self {
                        Value::$variant(v) => Some(v),
                        _ => None,
                    }
                }

                /// An empty value of this type.
                pub fn $new() -> Value {
                    Value::$variant(Default::default())
                }
            )*
        }
    };
}

accessors! {
    List, ListValue, as_list, as_list_mut, new_list;
    Hash, HashValue, as_hash, as_hash_mut, new_hash;
    Set, SetValue, as_set, as_set_mut, new_set;
    ZSet, ZSetValue, as_zset, as_zset_mut, new_zset;
    Tree, TreeValue, as_tree, as_tree_mut, new_tree;
    Graph, GraphValue, as_graph, as_graph_mut, new_graph;
    Queue, QueueValue, as_queue, as_queue_mut, new_queue;
    Stack, StackValue, as_stack, as_stack_mut, new_stack;
    Stream, StreamValue, as_stream, as_stream_mut, new_stream;
}

impl Value {
    /// The name `TYPE` replies.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(..) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Tree(_) => "tree",
            Value::Graph(_) => "graph",
            Value::Queue(_) => "queue",
            Value::Stack(_) => "stack",
            Value::Stream(_) => "stream",
            Value::Cold(cold) => cold.type_name(),
        }
    }

    /// True for a cold key's record (see [`ColdValue`]).
    #[inline]
    pub fn is_cold(&self) -> bool {
        matches!(self, Value::Cold(_))
    }

    /// The name `OBJECT ENCODING` replies, following Redis's rules for its own encodings.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s, StrEncoding::Embstr) if s.len() <= 44 => "embstr",
            Value::Str(_, StrEncoding::Embstr | StrEncoding::Raw) => "raw",
            Value::Str(s, StrEncoding::Auto) => {
                if s.len() <= 20 && crate::number::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(_) => "quicklist",
            Value::Hash(v) => v.encoding(),
            Value::Set(v) => v.encoding(),
            Value::ZSet(v) => v.encoding(),
            Value::Tree(_) => "avltree",
            Value::Graph(_) => "adjacency",
            Value::Queue(_) => "ringbuffer",
            Value::Stack(_) => "vector",
            Value::Stream(_) => "stream",
            Value::Cold(_) => "cold",
        }
    }

    /// True for a string Redis would hold as one of its shared integer objects (`int`
    /// encoded, 0 to 9999), whose OBJECT REFCOUNT it reports as `i32::MAX`. O(1).
    pub fn is_shared_integer(&self) -> bool {
        match self {
            Value::Str(s, StrEncoding::Auto) if s.len() <= 4 => {
                crate::number::parse_i64(s).is_some_and(|n| (0..10_000).contains(&n))
            }
            _ => false,
        }
    }

    /// True for a collection left with no elements (such keys are deleted, as in Redis).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(..) => false,
            Value::List(v) => v.is_empty(),
            Value::Hash(v) => v.is_empty(),
            Value::Set(v) => v.is_empty(),
            Value::ZSet(v) => v.is_empty(),
            Value::Queue(v) => v.is_empty(),
            Value::Stack(v) => v.is_empty(),
            // A tree or graph carries its settings (ordering, directedness), a stream its
            // counters and groups: they live on when empty, until DEL.
            Value::Tree(_) | Value::Graph(_) | Value::Stream(_) => false,
            Value::Cold(_) => false,
        }
    }
}
