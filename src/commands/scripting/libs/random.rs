//! `math.random` and `math.randomseed` as Redis has them: its own 48-bit linear congruential
//! generator (the `drand48` family), so a seeded sequence gives Redis's numbers on every
//! platform.

use mlua::{Lua, MultiValue, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// The largest value the generator returns, as Redis's `REDIS_LRAND48_MAX`.
const LRAND48_MAX: u64 = i32::MAX as u64;

/// The generator's state.
#[derive(Debug, Clone, Copy)]
pub struct Lrand48(u64);

impl Lrand48 {
    pub fn seeded(seed: i32) -> Self {
        Lrand48((((seed as u32) as u64) << 16 | 0x330E) & MASK)
    }

    /// The next value, in 0..2^31.
    pub fn next(&mut self) -> u64 {
        self.0 = (self.0.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND)) & MASK;
        self.0 >> 17
    }

    /// A number in [0, 1), as Redis's `math.random()`.
    fn fraction(&mut self) -> f64 {
        (self.next() % LRAND48_MAX) as f64 / LRAND48_MAX as f64
    }
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok()?.trim().parse().ok(),
        _ => None,
    }
}

pub fn install(lua: &Lua, globals: &Table, seed: u64) -> mlua::Result<()> {
    let state = Rc::new(Cell::new(Lrand48::seeded(seed as i32)));
    let math: Table = globals.get("math")?;
    let generator = state.clone();
    math.set(
        "random",
        lua.create_function(move |_, args: MultiValue| {
            let mut rng = generator.get();
            let r = rng.fraction();
            generator.set(rng);
            match args.len() {
                0 => Ok(r),
                1 => {
                    let upper = number(args.front())
                        .ok_or_else(|| {
                            super::super::engine::raise(
                                "bad argument #1 to 'random' (number expected)",
                            )
                        })?
                        .floor();
                    if upper < 1.0 {
                        return Err(super::super::engine::raise(
                            "bad argument #1 to 'random' (interval is empty)",
                        ));
                    }
                    Ok((r * upper).floor() + 1.0)
                }
                2 => {
                    let lower = number(args.front())
                        .ok_or_else(|| {
                            super::super::engine::raise(
                                "bad argument #1 to 'random' (number expected)",
                            )
                        })?
                        .floor();
                    let upper = number(args.get(1))
                        .ok_or_else(|| {
                            super::super::engine::raise(
                                "bad argument #2 to 'random' (number expected)",
                            )
                        })?
                        .floor();
                    if lower > upper {
                        return Err(super::super::engine::raise(
                            "bad argument #2 to 'random' (interval is empty)",
                        ));
                    }
                    Ok((r * (upper - lower + 1.0)).floor() + lower)
                }
                _ => Err(super::super::engine::raise("wrong number of arguments")),
            }
        })?,
    )?;
    math.set(
        "randomseed",
        lua.create_function(move |_, args: MultiValue| {
            let seed = number(args.front()).ok_or_else(|| {
                super::super::engine::raise("bad argument #1 to 'randomseed' (number expected)")
            })?;
            state.set(Lrand48::seeded(seed as i64 as i32));
            Ok(())
        })?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_sequence_is_redis_one() {
        // Redis 7.0: math.randomseed(1); math.random() -> 0.041630344484761
        let mut rng = Lrand48::seeded(1);
        let r = rng.fraction();
        assert_eq!(format!("{r:.15}"), "0.041630344484761");
    }
}
