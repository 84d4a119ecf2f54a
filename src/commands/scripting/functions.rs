//! FUNCTION and FCALL: libraries of Lua functions, loaded with FUNCTION LOAD.

/// The loaded libraries.
#[derive(Default)]
pub struct Libraries {}
