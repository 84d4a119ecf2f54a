//! `math.random` and `math.randomseed` as Redis has them: its own 48-bit linear congruential
//! generator (the `drand48` family), so a seeded sequence gives Redis's numbers on every
//! platform.

use super::super::engine::{lib_error, raising, success};
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
        raising(lua, move |lua, args: MultiValue| {
            let mut rng = generator.get();
            let r = rng.fraction();
            generator.set(rng);
            let (lower, upper) = match args.len() {
                0 => return success(lua, r),
                1 => (Some(1.0), number(args.front())),
                2 => (number(args.front()), number(args.get(1))),
                _ => return lib_error(lua, "wrong number of arguments"),
            };
            let Some(lower) = lower.map(f64::floor) else {
                return lib_error(lua, "bad argument #1 to 'random' (number expected)");
            };
            let Some(upper) = upper.map(f64::floor) else {
                let at = args.len();
                return lib_error(
                    lua,
                    &format!("bad argument #{at} to 'random' (number expected)"),
                );
            };
            if lower > upper {
                let at = args.len();
                return lib_error(
                    lua,
                    &format!("bad argument #{at} to 'random' (interval is empty)"),
                );
            }
            success(lua, (r * (upper - lower + 1.0)).floor() + lower)
        })?,
    )?;
    math.set(
        "randomseed",
        raising(lua, move |lua, args: MultiValue| {
            let Some(seed) = number(args.front()) else {
                return lib_error(lua, "bad argument #1 to 'randomseed' (number expected)");
            };
            state.set(Lrand48::seeded(seed as i64 as i32));
            success(lua, Value::Nil)
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
