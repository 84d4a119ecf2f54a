//! Set values: the structure and the operations behind the set commands.

/// A set value. (Placeholder shape until the set commands arrive.)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetValue {
    len: usize,
}

impl SetValue {
    /// Number of elements. O(1).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
