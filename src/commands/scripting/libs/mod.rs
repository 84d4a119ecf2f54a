//! The libraries Redis gives scripts besides Lua's own: `cjson`, `cmsgpack`, `bit`, `struct`,
//! and Redis's `math.random`. Written on well-kept crates with Redis's behaviour.

mod bit;
mod cjson;
mod cmsgpack;
mod random;
mod structs;

use mlua::{Lua, Table, Value};

/// Puts the libraries in `globals` and replaces `math.random`/`math.randomseed`.
pub fn install(lua: &Lua, globals: &Table, seed: u64) -> mlua::Result<()> {
    random::install(lua, globals, seed)?;
    cjson::install(lua, globals)?;
    cmsgpack::install(lua, globals)?;
    bit::install(lua, globals)?;
    structs::install(lua, globals)?;
    Ok(())
}

/// A number argument as Lua reads one (numbers, and strings holding a number).
fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => {
            let text = s.to_str().ok()?;
            let text = text.trim();
            match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(hex) => i64::from_str_radix(hex, 16).ok().map(|n| n as f64),
                None => text.parse().ok(),
            }
        }
        _ => None,
    }
}

/// `n` as C's `printf("%.<precision>g")` writes it (finite numbers).
pub fn format_g(n: f64, precision: usize) -> String {
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let precision = precision.max(1);
    let scientific = format!("{:.*e}", precision - 1, n);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if exponent < -4 || exponent >= precision as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs());
    }
    let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
    trim_fraction(&format!("{n:.decimals$}")).to_string()
}

/// Drops trailing zeros of a fraction, and its point when nothing is left after it.
fn trim_fraction(text: &str) -> &str {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn format_g_is_c_printf() {
        assert_eq!(format_g(1.5, 14), "1.5");
        assert_eq!(format_g(1e20, 14), "1e+20");
        assert_eq!(format_g(0.1, 14), "0.1");
        assert_eq!(format_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(format_g(100.0, 14), "100");
        assert_eq!(format_g(-0.0, 14), "-0");
        assert_eq!(format_g(9007199254740992.0, 14), "9.007199254741e+15");
        assert_eq!(format_g(0.0003, 14), "0.0003");
        assert_eq!(format_g(0.00001, 14), "1e-05");
        assert_eq!(format_g(-5000.0, 14), "-5000");
        assert_eq!(format_g(123456.0, 3), "1.23e+05");
    }
}
