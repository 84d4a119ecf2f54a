//! QUEUE values: first in, first out. Elements are pushed at the tail and taken from the head.
//!
//! A ring buffer (`VecDeque`) keeps both ends O(1) with one contiguous allocation, and each
//! element is a boxed slice (16 bytes, no spare capacity) since elements are never grown.
//! Like a list, a queue left empty is deleted (see [`super::Value::is_empty_collection`]).

use super::keyspace::DbMut;
use super::value::Value;
use super::StoreResult;
use std::collections::VecDeque;

/// A FIFO queue of binary-safe elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueValue {
    items: VecDeque<Box<[u8]>>,
}

impl QueueValue {
    /// Number of elements. O(1).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the queue holds nothing. O(1).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Appends an element at the tail. O(1) amortized.
    pub fn push(&mut self, item: &[u8]) {
        self.items.push_back(item.into());
    }

    /// Removes and returns the head element. O(1).
    pub fn pop(&mut self) -> Option<Box<[u8]>> {
        self.items.pop_front()
    }

    /// The head element, the next one [`Self::pop`] returns. O(1).
    pub fn peek(&self) -> Option<&[u8]> {
        self.items.front().map(|item| &**item)
    }

    /// Elements from head to tail (for persistence and debugging). O(1) per item.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.items.iter().map(|item| &**item)
    }

    /// Approximate heap bytes held by the value, for memory accounting. O(n).
    pub fn memory_usage(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.items.iter().map(|item| item.len()).sum::<usize>()
    }
}

/// Builds a queue from elements in head-to-tail order (the order [`QueueValue::iter`] gives).
impl<T: AsRef<[u8]>> FromIterator<T> for QueueValue {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        QueueValue {
            items: iter.into_iter().map(|item| item.as_ref().into()).collect(),
        }
    }
}

impl DbMut<'_> {
    /// QUEUE.PUSH: appends `items` at the tail in argument order, creating the queue if the key
    /// is missing. Returns the new length. O(items).
    pub fn queue_push(&mut self, key: &[u8], items: &[&[u8]]) -> StoreResult<usize> {
        let queue = self.write_typed_or_create(key, Value::as_queue_mut, Value::new_queue)?;
        queue.items.reserve(items.len());
        for item in items {
            queue.push(item);
        }
        let len = queue.len();
        self.after_write(key);
        Ok(len)
    }

    /// QUEUE.POP: removes up to `count` elements from the head, oldest first. `None` when the
    /// key is missing; a queue emptied by the pop is deleted. O(count).
    pub fn queue_pop(&mut self, key: &[u8], count: usize) -> StoreResult<Option<Vec<Box<[u8]>>>> {
        let Some(queue) = self.write_typed(key, Value::as_queue_mut)? else {
            return Ok(None);
        };
        let taken = count.min(queue.len());
        let popped: Vec<Box<[u8]>> = queue.items.drain(..taken).collect();
        if !popped.is_empty() {
            self.after_write(key);
        }
        Ok(Some(popped))
    }

    /// QUEUE.BPOP's attempt: pops the head of the first of `keys` holding a queue. A key of
    /// another type met before that is WRONGTYPE, as BLPOP does. Returns the position in
    /// `keys` of the key served and the element; `None` when every key is missing.
    /// O(keys).
    pub fn queue_pop_first(&mut self, keys: &[&[u8]]) -> StoreResult<Option<(usize, Box<[u8]>)>> {
        for (at, key) in keys.iter().enumerate() {
            let Some(queue) = self.write_typed(key, Value::as_queue_mut)? else {
                continue;
            };
            // A stored queue is never empty (emptied queues are deleted), but a `None` here
            // would simply mean "try the next key".
            if let Some(item) = queue.pop() {
                self.after_write(key);
                return Ok(Some((at, item)));
            }
        }
        Ok(None)
    }

    /// QUEUE.PEEK: the head element without removing it. O(1).
    pub fn queue_peek(&mut self, key: &[u8]) -> StoreResult<Option<&[u8]>> {
        Ok(self
            .read_typed(key, Value::as_queue)?
            .and_then(QueueValue::peek))
    }

    /// QUEUE.LEN: number of elements, 0 for a missing key. O(1).
    pub fn queue_len(&mut self, key: &[u8]) -> StoreResult<usize> {
        Ok(self
            .read_typed(key, Value::as_queue)?
            .map_or(0, QueueValue::len))
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

    #[test]
    fn first_in_first_out() {
        let mut q = QueueValue::default();
        for item in [b"a", b"b", b"c"] {
            q.push(item);
        }
        assert_eq!(q.peek(), Some(&b"a"[..]));
        assert_eq!(q.pop().as_deref(), Some(&b"a"[..]));
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![&b"b"[..], b"c"]);
        let copy: QueueValue = q.iter().collect();
        assert_eq!(copy, q);
        assert!(q.memory_usage() >= 2);
    }

    #[test]
    fn store_operations_create_pop_and_delete_when_empty() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        assert_eq!(db.queue_pop(b"q", 1), Ok(None));
        assert_eq!(db.queue_push(b"q", &[b"a", b"b", b"c"]), Ok(3));
        assert_eq!(db.queue_len(b"q"), Ok(3));
        assert_eq!(db.queue_peek(b"q"), Ok(Some(&b"a"[..])));
        let popped = db.queue_pop(b"q", 2).unwrap().unwrap();
        assert_eq!(strings(&popped), vec!["a", "b"]);
        assert_eq!(db.queue_pop(b"q", 0).unwrap().map(|v| v.len()), Some(0));
        let popped = db.queue_pop(b"q", 10).unwrap().unwrap();
        assert_eq!(strings(&popped), vec!["c"]);
        assert!(!db.exists(b"q"));
        assert_eq!(db.queue_len(b"q"), Ok(0));
    }

    #[test]
    fn pop_first_serves_the_first_non_empty_key_and_reports_wrong_types() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        db.queue_push(b"q2", &[b"x"]).unwrap();
        assert_eq!(
            db.queue_pop_first(&[b"q1", b"q2"]),
            Ok(Some((1, Box::from(&b"x"[..]))))
        );
        assert_eq!(db.queue_pop_first(&[b"q1", b"q2"]), Ok(None));
        db.insert(b"s", Value::Str(b"v"[..].into(), Default::default()), None);
        assert_eq!(db.queue_pop_first(&[b"s"]), Err(StoreError::WrongType));
        assert_eq!(db.queue_push(b"s", &[b"v"]), Err(StoreError::WrongType));
    }
}
