//! `bit`: LuaBitOp's 32-bit operations, as Redis embeds it. Numbers are taken modulo 2^32
//! (rounded to the nearest integer first) and results are signed 32-bit integers.

use super::super::engine::{lib_error, raising, success};
use super::number;
use mlua::{Lua, MultiValue, Table};

/// A number as LuaBitOp normalises it: rounded (ties to even), then its low 32 bits.
fn to_bit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    let rounded = n.round_ties_even();
    (rounded.rem_euclid(4294967296.0) as u64) as u32 as i32
}

fn args_bits(
    lua: &Lua,
    args: &MultiValue,
    name: &str,
) -> Result<Vec<i32>, mlua::Result<Result<MultiValue, mlua::Value>>> {
    let mut bits = Vec::with_capacity(args.len());
    for i in 0..args.len() {
        match number(args.get(i)) {
            Some(n) => bits.push(to_bit(n)),
            None => {
                return Err(lib_error(
                    lua,
                    &format!(
                        "bad argument #{} to '{name}' (number expected, got no value)",
                        i + 1
                    ),
                ))
            }
        }
    }
    if bits.is_empty() {
        return Err(lib_error(
            lua,
            &format!("bad argument #1 to '{name}' (number expected, got no value)"),
        ));
    }
    Ok(bits)
}

pub fn install(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let bit = lua.create_table()?;
    macro_rules! op {
        ($name:literal, |$lua:ident, $b:ident| $body:expr) => {
            bit.set(
                $name,
                raising(lua, |$lua, args: MultiValue| {
                    let $b = match args_bits($lua, &args, $name) {
                        Ok(bits) => bits,
                        Err(e) => return e,
                    };
                    success($lua, $body as f64)
                })?,
            )?;
        };
    }
    op!("tobit", |lua, b| b[0]);
    op!("bnot", |lua, b| !b[0]);
    op!("band", |lua, b| b.iter().fold(-1i32, |a, x| a & x));
    op!("bor", |lua, b| b.iter().fold(0i32, |a, x| a | x));
    op!("bxor", |lua, b| b.iter().fold(0i32, |a, x| a ^ x));
    op!("lshift", |lua, b| (b[0] as u32).wrapping_shl(shift(&b))
        as i32);
    op!("rshift", |lua, b| (b[0] as u32).wrapping_shr(shift(&b))
        as i32);
    op!("arshift", |lua, b| b[0].wrapping_shr(shift(&b)));
    op!("rol", |lua, b| (b[0] as u32).rotate_left(shift(&b)) as i32);
    op!("ror", |lua, b| (b[0] as u32).rotate_right(shift(&b)) as i32);
    op!("bswap", |lua, b| (b[0] as u32).swap_bytes() as i32);
    bit.set(
        "tohex",
        raising(lua, |lua, args: MultiValue| {
            let Some(value) = number(args.front()) else {
                return lib_error(
                    lua,
                    "bad argument #1 to 'tohex' (number expected, got no value)",
                );
            };
            let mut digits = match args.get(1) {
                Some(_) => match number(args.get(1)) {
                    Some(n) => to_bit(n) as i64,
                    None => return lib_error(lua, "bad argument #2 to 'tohex' (number expected)"),
                },
                None => 8,
            };
            let upper = digits < 0;
            if upper {
                digits = -digits;
            }
            let digits = digits.clamp(0, 8) as usize;
            let value = to_bit(value) as u32 as u64;
            let text = if upper {
                format!("{value:08X}")
            } else {
                format!("{value:08x}")
            };
            success(lua, lua.create_string(&text[8 - digits..])?)
        })?,
    )?;
    globals.set("bit", bit)?;
    Ok(())
}

/// The shift count of a shift or rotation: its second argument's low 5 bits.
fn shift(bits: &[i32]) -> u32 {
    bits.get(1).map_or(0, |&n| (n as u32) & 31)
}
