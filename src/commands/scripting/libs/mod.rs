//! The libraries Redis gives scripts besides Lua's own: `cjson`, `cmsgpack`, `bit`, `struct`,
//! and Redis's `math.random`. Written on well-kept crates with Redis's behaviour.

mod random;

use mlua::{Lua, Table};

/// Puts the libraries in `globals` and replaces `math.random`/`math.randomseed`.
pub fn install(lua: &Lua, globals: &Table, seed: u64) -> mlua::Result<()> {
    random::install(lua, globals, seed)?;
    Ok(())
}
