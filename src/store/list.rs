//! List values: the structure and the operations behind the list commands.

/// A list value. (Placeholder shape until the list commands arrive.)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListValue {
    len: usize,
}

impl ListValue {
    /// Number of elements. O(1).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
