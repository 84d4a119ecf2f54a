//! Numbers as Redis reads and writes them: the strict integer and float parsers behind every
//! numeric argument and stored value, and the `%.17g` text of a double. A leaf every layer may
//! use (the protocol frames lengths and doubles with it, the store reads stored numbers with
//! it), so neither has to reach into the other.

use std::fmt::Write;

/// Parses an integer exactly as Redis's `string2ll`: optional `-`, no `+`, no spaces, no
/// leading zeros (so no `-0`), within i64. O(len).
pub fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match digits {
        [] => return None,
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            None
        } else {
            Some((value as i64).wrapping_neg())
        }
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses a float as Redis's `string2d`/`string2ld`: no surrounding spaces, not NaN. O(len).
pub fn parse_f64(text: &[u8]) -> Option<f64> {
    if text.is_empty() || text.len() > 5 * 1024 || text[0].is_ascii_whitespace() {
        return None;
    }
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    (!value.is_nan()).then_some(value)
}

/// Formats a double as C's `%.17g` (what Redis 7.0 replies for scores), with `inf`/`-inf`.
pub fn format_double(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("nan");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "inf" } else { "-inf" });
        return;
    }
    const PRECISION: i32 = 17;
    // `{:e}` rounds correctly to the requested digits; its exponent decides %g's style.
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, value);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..PRECISION).contains(&exp) {
        out.push_str(trim_fraction(mantissa));
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    } else {
        let fixed = format!("{:.*}", (PRECISION - 1 - exp) as usize, value);
        out.push_str(trim_fraction(&fixed));
    }
}

/// `%g` drops the zeros ending a fraction, and the point when nothing is left after it.
fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g17(v: f64) -> String {
        let mut s = String::new();
        format_double(v, &mut s);
        s
    }

    #[test]
    fn parse_i64_is_as_strict_as_redis() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1.0",
            b"abc",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn parse_f64_refuses_spaces_and_nan() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        for bad in [&b""[..], b" 1", b"nan", b"1x"] {
            assert_eq!(parse_f64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn doubles_print_like_c_percent_17g() {
        // Expected texts are what redis-server 7.0 replies for these ZSCOREs.
        assert_eq!(g17(1.1), "1.1000000000000001");
        assert_eq!(g17(0.1), "0.10000000000000001");
        assert_eq!(g17(3.0), "3");
        assert_eq!(g17(1e20), "1e+20");
        assert_eq!(g17(1e300), "1.0000000000000001e+300");
        assert_eq!(g17(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(g17(0.000001), "9.9999999999999995e-07");
        assert_eq!(g17(0.0), "0");
        assert_eq!(g17(-2.5), "-2.5");
        assert_eq!(g17(f64::INFINITY), "inf");
        assert_eq!(g17(f64::NEG_INFINITY), "-inf");
        assert_eq!(g17(1e16), "10000000000000000");
        assert_eq!(g17(0.0001), "0.0001");
    }
}
