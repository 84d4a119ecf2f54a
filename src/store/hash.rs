//! Hash values: the structure and the operations behind the hash commands.

/// A hash value. (Placeholder shape until the hash commands arrive.)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HashValue {
    len: usize,
}

impl HashValue {
    /// Number of elements. O(1).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
