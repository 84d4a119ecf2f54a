//! STACK values: last in, first out. Elements are pushed on and taken from the top.
//!
//! A vector whose end is the top: push and pop are O(1) with no per-element bookkeeping, and
//! each element is a boxed slice (16 bytes, no spare capacity) since elements are never grown.
//! Like a list, a stack left empty is deleted (see [`super::Value::is_empty_collection`]).

use super::keyspace::DbMut;
use super::value::Value;
use super::StoreResult;

/// A LIFO stack of binary-safe elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackValue {
    /// Bottom first; the last element is the top.
    items: Vec<Box<[u8]>>,
}

impl StackValue {
    /// Number of elements. O(1).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the stack holds nothing. O(1).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Puts an element on top. O(1) amortized.
    pub fn push(&mut self, item: &[u8]) {
        self.items.push(item.into());
    }

    /// Removes and returns the top element. O(1).
    pub fn pop(&mut self) -> Option<Box<[u8]>> {
        self.items.pop()
    }

    /// The top element, the next one [`Self::pop`] returns. O(1).
    pub fn peek(&self) -> Option<&[u8]> {
        self.items.last().map(|item| &**item)
    }

    /// Elements from bottom to top (for persistence: pushing them in this order rebuilds the
    /// stack). O(1) per item.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.items.iter().map(|item| &**item)
    }

    /// Approximate heap bytes held by the value, for memory accounting. O(n).
    pub fn memory_usage(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.items.iter().map(|item| item.len()).sum::<usize>()
    }
}

/// Builds a stack from elements in bottom-to-top order (the order [`StackValue::iter`] gives).
impl<T: AsRef<[u8]>> FromIterator<T> for StackValue {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        StackValue {
            items: iter.into_iter().map(|item| item.as_ref().into()).collect(),
        }
    }
}

impl DbMut<'_> {
    /// STACK.PUSH: pushes `items` in argument order (the last one ends on top), creating the
    /// stack if the key is missing. Returns the new depth. O(items).
    pub fn stack_push(&mut self, key: &[u8], items: &[&[u8]]) -> StoreResult<usize> {
        let stack = self.write_typed_or_create(key, Value::as_stack_mut, Value::new_stack)?;
        stack.items.reserve(items.len());
        for item in items {
            stack.push(item);
        }
        let len = stack.len();
        self.after_write(key);
        Ok(len)
    }

    /// STACK.POP: removes up to `count` elements from the top, top first. `None` when the key
    /// is missing; a stack emptied by the pop is deleted. O(count).
    pub fn stack_pop(&mut self, key: &[u8], count: usize) -> StoreResult<Option<Vec<Box<[u8]>>>> {
        let Some(stack) = self.write_typed(key, Value::as_stack_mut)? else {
            return Ok(None);
        };
        let keep = stack.len() - count.min(stack.len());
        let popped: Vec<Box<[u8]>> = stack.items.drain(keep..).rev().collect();
        if !popped.is_empty() {
            self.after_write(key);
        }
        Ok(Some(popped))
    }

    /// STACK.PEEK: the top element without removing it. O(1).
    pub fn stack_peek(&mut self, key: &[u8]) -> StoreResult<Option<&[u8]>> {
        Ok(self
            .read_typed(key, Value::as_stack)?
            .and_then(StackValue::peek))
    }

    /// STACK.LEN: number of elements, 0 for a missing key. O(1).
    pub fn stack_len(&mut self, key: &[u8]) -> StoreResult<usize> {
        Ok(self
            .read_typed(key, Value::as_stack)?
            .map_or(0, StackValue::len))
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
    fn last_in_first_out() {
        let mut s = StackValue::default();
        for item in [b"a", b"b", b"c"] {
            s.push(item);
        }
        assert_eq!(s.peek(), Some(&b"c"[..]));
        assert_eq!(s.pop().as_deref(), Some(&b"c"[..]));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b"]);
        let copy: StackValue = s.iter().collect();
        assert_eq!(copy, s);
        assert!(s.memory_usage() >= 2);
    }

    #[test]
    fn store_operations_create_pop_and_delete_when_empty() {
        let mut ks = Keyspace::new(1);
        let mut db = ks.db(0);
        assert_eq!(db.stack_pop(b"s", 1), Ok(None));
        assert_eq!(db.stack_push(b"s", &[b"a", b"b", b"c"]), Ok(3));
        assert_eq!(db.stack_len(b"s"), Ok(3));
        assert_eq!(db.stack_peek(b"s"), Ok(Some(&b"c"[..])));
        let popped = db.stack_pop(b"s", 2).unwrap().unwrap();
        assert_eq!(strings(&popped), vec!["c", "b"]);
        assert_eq!(db.stack_pop(b"s", 0).unwrap().map(|v| v.len()), Some(0));
        let popped = db.stack_pop(b"s", 10).unwrap().unwrap();
        assert_eq!(strings(&popped), vec!["a"]);
        assert!(!db.exists(b"s"));
        assert_eq!(db.stack_len(b"s"), Ok(0));
        db.insert(
            b"str",
            Value::Str(b"v"[..].into(), Default::default()),
            None,
        );
        assert_eq!(db.stack_push(b"str", &[b"v"]), Err(StoreError::WrongType));
        assert_eq!(db.stack_len(b"str"), Err(StoreError::WrongType));
    }
}
