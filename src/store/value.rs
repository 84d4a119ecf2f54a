//! The value stored under a key.

/// A key's value. Collection variants are boxed so the common string case keeps map slots small.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Vec<u8>),
}

impl Value {
    /// The name `TYPE` replies.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The name `OBJECT ENCODING` replies, following Redis's rules for its own encodings.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                if s.len() <= 20 && crate::store::string::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
        }
    }

    /// True for a collection left with no elements (such keys are deleted, as in Redis).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
        }
    }
}
