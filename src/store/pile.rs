//! QUEUE and STACK values: elements pushed at one end, taken from the other end (a queue:
//! first in, first out) or from the same end (a stack: last in, first out).
//!
//! Both keep their elements in push order in a `VecDeque`, so both ends are O(1) with one
//! contiguous allocation; a stack only ever touches the back, so its buffer never wraps and is
//! laid out like a vector. Each element is a boxed slice (16 bytes, no spare capacity) since
//! elements are never grown. Which end a pop takes from is the only difference, carried by
//! the type parameter, so one implementation serves both types. Like a list, a pile left empty
//! is deleted (see [`super::Value::is_empty_collection`]).

use super::keyspace::DbMut;
use super::value::Value;
use super::StoreResult;
use std::collections::VecDeque;
use std::marker::PhantomData;

/// Which end a pile is taken from, and where the type lives in [`Value`].
pub trait TakeOrder: std::fmt::Debug + Clone + Eq + Default + 'static {
    /// True when pops take the oldest element (a queue), false for the newest (a stack).
    const OLDEST_FIRST: bool;
    fn get(value: &Value) -> Option<&Pile<Self>>;
    fn get_mut(value: &mut Value) -> Option<&mut Pile<Self>>;
    fn create() -> Value;
}

/// First in, first out: QUEUE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fifo;

/// Last in, first out: STACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifo;

impl TakeOrder for Fifo {
    const OLDEST_FIRST: bool = true;
    fn get(value: &Value) -> Option<&Pile<Self>> {
        value.as_queue()
    }
    fn get_mut(value: &mut Value) -> Option<&mut Pile<Self>> {
        value.as_queue_mut()
    }
    fn create() -> Value {
        Value::new_queue()
    }
}

impl TakeOrder for Lifo {
    const OLDEST_FIRST: bool = false;
    fn get(value: &Value) -> Option<&Pile<Self>> {
        value.as_stack()
    }
    fn get_mut(value: &mut Value) -> Option<&mut Pile<Self>> {
        value.as_stack_mut()
    }
    fn create() -> Value {
        Value::new_stack()
    }
}

/// Binary-safe elements in push order, taken in the order `O` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pile<O> {
    items: VecDeque<Box<[u8]>>,
    order: PhantomData<O>,
}

/// A FIFO queue.
pub type QueueValue = Pile<Fifo>;
/// A LIFO stack.
pub type StackValue = Pile<Lifo>;

impl<O> Default for Pile<O> {
    fn default() -> Self {
        Pile {
            items: VecDeque::new(),
            order: PhantomData,
        }
    }
}

impl<O: TakeOrder> Pile<O> {
    /// Number of elements. O(1).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the pile holds nothing. O(1).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds an element (at the tail of a queue, on top of a stack). O(1) amortized.
    pub fn push(&mut self, item: &[u8]) {
        self.items.push_back(item.into());
    }

    /// Removes and returns the next element. O(1).
    pub fn pop(&mut self) -> Option<Box<[u8]>> {
        if O::OLDEST_FIRST {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        }
    }

    /// The element [`Self::pop`] returns next. O(1).
    pub fn peek(&self) -> Option<&[u8]> {
        let next = if O::OLDEST_FIRST {
            self.items.front()
        } else {
            self.items.back()
        };
        next.map(|item| &**item)
    }

    /// Removes up to `count` elements, in the order pops would return them. O(count).
    pub fn take(&mut self, count: usize) -> Vec<Box<[u8]>> {
        let count = count.min(self.items.len());
        if O::OLDEST_FIRST {
            self.items.drain(..count).collect()
        } else {
            let keep = self.items.len() - count;
            self.items.drain(keep..).rev().collect()
        }
    }

    /// Elements in push order (for persistence: pushing them in this order rebuilds the
    /// pile). O(1) per item.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.items.iter().map(|item| &**item)
    }

    /// Approximate heap bytes held by the value, for memory accounting. O(n).
    pub fn memory_usage(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.items.iter().map(|item| item.len()).sum::<usize>()
    }
}

/// Builds a pile from elements in push order (the order [`Pile::iter`] gives).
impl<O, T: AsRef<[u8]>> FromIterator<T> for Pile<O> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Pile {
            items: iter.into_iter().map(|item| item.as_ref().into()).collect(),
            order: PhantomData,
        }
    }
}

impl DbMut<'_> {
    /// QUEUE.PUSH / STACK.PUSH: pushes `items` in argument order, creating the pile if the key
    /// is missing. Returns the new length. O(items).
    pub fn pile_push<O: TakeOrder>(&mut self, key: &[u8], items: &[&[u8]]) -> StoreResult<usize> {
        let pile = self.write_typed_or_create(key, O::get_mut, O::create)?;
        pile.items.reserve(items.len());
        for item in items {
            pile.push(item);
        }
        let len = pile.len();
        self.after_write(key);
        Ok(len)
    }

    /// QUEUE.POP / STACK.POP: removes up to `count` elements, in pop order. `None` when the
    /// key is missing; a pile emptied by the pop is deleted. O(count).
    pub fn pile_pop<O: TakeOrder>(
        &mut self,
        key: &[u8],
        count: usize,
    ) -> StoreResult<Option<Vec<Box<[u8]>>>> {
        let Some(pile) = self.write_typed(key, O::get_mut)? else {
            return Ok(None);
        };
        let popped = pile.take(count);
        if !popped.is_empty() {
            self.after_write(key);
        }
        Ok(Some(popped))
    }

    /// A blocking pop's attempt: pops one element from the first of `keys` holding a pile of
    /// this type. A key of another type met before that is WRONGTYPE, as BLPOP does. Returns
    /// the position in `keys` of the key served and the element; `None` when every key is
    /// missing. O(keys).
    pub fn pile_pop_first<O: TakeOrder>(
        &mut self,
        keys: &[&[u8]],
    ) -> StoreResult<Option<(usize, Box<[u8]>)>> {
        for (at, key) in keys.iter().enumerate() {
            let Some(pile) = self.write_typed(key, O::get_mut)? else {
                continue;
            };
            // A stored pile is never empty (emptied piles are deleted), but a `None` here
            // would simply mean "try the next key".
            if let Some(item) = pile.pop() {
                self.after_write(key);
                return Ok(Some((at, item)));
            }
        }
        Ok(None)
    }

    /// QUEUE.PEEK / STACK.PEEK: the next element without removing it. O(1).
    pub fn pile_peek<O: TakeOrder>(&mut self, key: &[u8]) -> StoreResult<Option<&[u8]>> {
        Ok(self.read_typed(key, O::get)?.and_then(Pile::peek))
    }

    /// QUEUE.LEN / STACK.LEN: number of elements, 0 for a missing key. O(1).
    pub fn pile_len<O: TakeOrder>(&mut self, key: &[u8]) -> StoreResult<usize> {
        Ok(self.read_typed(key, O::get)?.map_or(0, Pile::len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Keyspace, StoreError};

    fn strings(items: &[Box<[u8]>]) -> Vec<&str> {
        items
            .iter()
            .map(|i| std::str::from_utf8(i).unwrap_or("?"))
            .collect()
    }

    /// Pushes a, b, c and checks what the pile gives back: `order` is the pop order.
    fn check_order<O: TakeOrder>(order: [&str; 3]) {
        let mut pile = Pile::<O>::default();
        for item in [b"a", b"b", b"c"] {
            pile.push(item);
        }
        assert_eq!(pile.peek(), Some(order[0].as_bytes()));
        assert_eq!(pile.pop().as_deref(), Some(order[0].as_bytes()));
        assert_eq!(strings(&pile.take(5)), order[1..].to_vec());
        let mut pile = Pile::<O>::default();
        for item in [b"a", b"b", b"c"] {
            pile.push(item);
        }
        assert_eq!(pile.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b", b"c"]);
        let copy: Pile<O> = pile.iter().collect();
        assert_eq!(copy, pile);
        assert!(pile.memory_usage() >= 3);
    }

    #[test]
    fn queues_are_fifo_and_stacks_lifo() {
        check_order::<Fifo>(["a", "b", "c"]);
        check_order::<Lifo>(["c", "b", "a"]);
    }

    fn check_store_operations<O: TakeOrder>(order: [&str; 3]) {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        assert_eq!(db.pile_pop::<O>(b"p", 1), Ok(None));
        assert_eq!(db.pile_push::<O>(b"p", &[b"a", b"b", b"c"]), Ok(3));
        assert_eq!(db.pile_len::<O>(b"p"), Ok(3));
        assert_eq!(db.pile_peek::<O>(b"p"), Ok(Some(order[0].as_bytes())));
        let popped = db.pile_pop::<O>(b"p", 2).unwrap().unwrap();
        assert_eq!(strings(&popped), order[..2].to_vec());
        assert_eq!(db.pile_pop::<O>(b"p", 0).unwrap().map(|v| v.len()), Some(0));
        let popped = db.pile_pop::<O>(b"p", 10).unwrap().unwrap();
        assert_eq!(strings(&popped), vec![order[2]]);
        assert!(!db.exists(b"p"));
        assert_eq!(db.pile_len::<O>(b"p"), Ok(0));
        db.insert(b"s", Value::Str(b"v"[..].into(), Default::default()), None);
        assert_eq!(db.pile_push::<O>(b"s", &[b"v"]), Err(StoreError::WrongType));
        assert_eq!(db.pile_len::<O>(b"s"), Err(StoreError::WrongType));
    }

    #[test]
    fn store_operations_create_pop_and_delete_when_empty() {
        check_store_operations::<Fifo>(["a", "b", "c"]);
        check_store_operations::<Lifo>(["c", "b", "a"]);
    }

    #[test]
    fn a_queue_is_not_a_stack() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        db.pile_push::<Fifo>(b"q", &[b"x"]).unwrap();
        assert_eq!(db.pile_len::<Lifo>(b"q"), Err(StoreError::WrongType));
        assert_eq!(db.pile_len::<Fifo>(b"q"), Ok(1));
    }

    #[test]
    fn pop_first_serves_the_first_non_empty_key_and_reports_wrong_types() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        db.pile_push::<Fifo>(b"q2", &[b"x"]).unwrap();
        assert_eq!(
            db.pile_pop_first::<Fifo>(&[b"q1", b"q2"]),
            Ok(Some((1, Box::from(&b"x"[..]))))
        );
        assert_eq!(db.pile_pop_first::<Fifo>(&[b"q1", b"q2"]), Ok(None));
        db.insert(b"s", Value::Str(b"v"[..].into(), Default::default()), None);
        assert_eq!(
            db.pile_pop_first::<Fifo>(&[b"s"]),
            Err(StoreError::WrongType)
        );
    }
}
