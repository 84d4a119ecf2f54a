//! Numbers as Redis reads and writes them: the strict integer and float parsers behind every
//! numeric argument and stored value, C's `strtod` (scores, SORT weights), and the `%.17g`
//! text of a double. A leaf every layer may
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

/// Total order on numbers that are never NaN (scores, numeric TREE keys); `-0.0 == 0.0`, as
/// in Redis.
pub fn cmp_non_nan(a: f64, b: f64) -> std::cmp::Ordering {
    a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
}

/// Formats a double as C's `%.17g` (what Redis 7.0 replies for scores), with `inf`/`-inf`.
pub fn format_double(value: f64, out: &mut String) {
    format_g(value, 17, out);
}

/// Formats a double as glibc's `%.<precision>g`: `inf`, `-inf`, and `nan` or `-nan` by the
/// sign bit (a NaN computed on x86, as Lua's `0/0`, is negative).
pub fn format_g(value: f64, precision: i32, out: &mut String) {
    if value.is_nan() {
        out.push_str(if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        });
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let precision = precision.max(1);
    // `{:e}` rounds correctly to the requested digits; its exponent decides %g's style.
    let sci = format!("{:.*e}", (precision - 1) as usize, value);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..precision).contains(&exp) {
        out.push_str(trim_fraction(mantissa));
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    } else {
        let fixed = format!("{:.*}", (precision - 1 - exp) as usize, value);
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

/// The result of [`parse_float_prefix`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatPrefix {
    /// The parsed value (0.0 when nothing was parsed).
    pub value: f64,
    /// Bytes consumed, including leading white space; 0 when no number was
    /// recognized (C's `strtod` then leaves its end pointer at the start).
    pub len: usize,
    /// The literal overflowed to infinity or underflowed to zero (the two
    /// `ERANGE` cases Redis rejects in scores).
    pub out_of_range: bool,
}

/// Parses the longest prefix of `input` that C's `strtod` (glibc, "C" locale)
/// would accept: optional white space and sign, then `inf`/`infinity`,
/// `nan`/`nan(chars)`, a hex float (`0x1.8p3`) or a decimal float (`1e3`,
/// `.5`, `5.`), all case-insensitive. Decimal values are correctly rounded.
/// O(len).
pub fn parse_float_prefix(input: &[u8]) -> FloatPrefix {
    let mut i = input
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(input.len());
    let negative = take_sign(input, &mut i);
    let rest = &input[i..];
    let parsed = if starts_with_ignore_case(rest, b"infinity") {
        Some((f64::INFINITY, 8, false))
    } else if starts_with_ignore_case(rest, b"inf") {
        Some((f64::INFINITY, 3, false))
    } else if starts_with_ignore_case(rest, b"nan") {
        Some((f64::NAN, nan_len(rest), false))
    } else if rest.len() > 2
        && rest[0] == b'0'
        && (rest[1] | 0x20) == b'x'
        && (rest[2].is_ascii_hexdigit()
            || (rest[2] == b'.' && rest.get(3).is_some_and(u8::is_ascii_hexdigit)))
    {
        parse_hex_float(&rest[2..]).map(|(v, n, r)| (v, n + 2, r))
    } else {
        parse_decimal_float(rest)
    };
    match parsed {
        Some((magnitude, len, out_of_range)) => FloatPrefix {
            value: if negative { -magnitude } else { magnitude },
            len: i + len,
            out_of_range,
        },
        None => FloatPrefix {
            value: 0.0,
            len: 0,
            out_of_range: false,
        },
    }
}

/// Length of `nan` or `nan(n-char-sequence)` at the start of `s`.
fn nan_len(s: &[u8]) -> usize {
    if s.get(3) == Some(&b'(') {
        let chars = s[4..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if s.get(4 + chars) == Some(&b')') {
            return 5 + chars;
        }
    }
    3
}

/// Reads an optional `+` or `-` at `s[*at]`, stepping past it; true for `-`.
fn take_sign(s: &[u8], at: &mut usize) -> bool {
    match s.get(*at) {
        Some(b'-') => {
            *at += 1;
            true
        }
        Some(b'+') => {
            *at += 1;
            false
        }
        _ => false,
    }
}

/// C's `isspace` in the "C" locale.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ignore_case(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

/// Parses `digits[.digits][e[+-]digits]` at the start of `s`. Returns the
/// value, the bytes consumed and whether it overflowed or underflowed to
/// zero; `None` without digits.
fn parse_decimal_float(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut i = 0;
    let int_digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut nonzero = s[i..i + int_digits].iter().any(|b| *b != b'0');
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        frac_digits = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        nonzero |= s[i + 1..i + 1 + frac_digits].iter().any(|b| *b != b'0');
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    // The slice is ASCII by construction and in a form Rust's parser accepts
    // (it takes "5.", ".5" and any exponent length).
    let value: f64 = std::str::from_utf8(&s[..i]).ok()?.parse().ok()?;
    let out_of_range = value.is_infinite() || (value == 0.0 && nonzero);
    Some((value, i, out_of_range))
}

/// Parses `hexdigits[.hexdigits][p[+-]digits]` (after `0x`). Returns the
/// unsigned value, the bytes consumed and the out-of-range flag.
fn parse_hex_float(s: &[u8]) -> Option<(f64, usize, bool)> {
    // Up to 15 significant hex digits (60 bits) are kept exactly; later
    // nonzero digits only set a sticky bit, enough for correct rounding to
    // 53 bits.
    let mut mantissa: u64 = 0;
    let mut significant = 0;
    let mut sticky = false;
    let mut exponent: i64 = 0;
    let mut i = 0;
    let mut digits = 0;
    let mut seen_point = false;
    while let Some(&b) = s.get(i) {
        if b == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (b as char).to_digit(16) else {
            break;
        };
        digits += 1;
        if significant < 15 {
            if mantissa != 0 || d != 0 {
                mantissa = (mantissa << 4) | u64::from(d);
                significant += 1;
            }
            if seen_point {
                exponent -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exponent += 4;
            }
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut j = i + 1;
        let negative = take_sign(s, &mut j);
        let exp_digits = s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_digits > 0 {
            let p = s[j..j + exp_digits]
                .iter()
                .fold(0i64, |acc, b| (acc * 10 + i64::from(b - b'0')).min(1 << 20));
            exponent += if negative { -p } else { p };
            i = j + exp_digits;
        }
    }
    let nonzero = mantissa != 0 || sticky;
    let mut value = (mantissa | u64::from(sticky)) as f64;
    // Scale in steps that stay within f64's exponent range.
    let mut e = exponent.clamp(-1 << 21, 1 << 21);
    while e != 0 && value != 0.0 && value.is_finite() {
        let step = e.clamp(-1000, 1000);
        value *= 2f64.powi(step as i32);
        e -= step;
    }
    let out_of_range = value.is_infinite() || (value == 0.0 && nonzero);
    Some((value, i, out_of_range))
}

/// C's `atoi`, as Redis reads some arguments (DEBUG's 0/1 switches, COMMAND's key positions):
/// optional blanks and sign, then digits up to the first non-digit; 0 if none.
pub fn atoi(arg: &[u8]) -> i64 {
    let text = arg.trim_ascii_start();
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        value = value.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
    }
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    // Redis keeps the result in a C int.
    value as i32 as i64
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

    #[test]
    fn float_prefix_matches_strtod() {
        let p = |s: &str| {
            let r = parse_float_prefix(s.as_bytes());
            (r.value, r.len)
        };
        assert_eq!(p("  -12.5e1xyz"), (-125.0, 9));
        assert_eq!(p("infinity!"), (f64::INFINITY, 8));
        assert_eq!(p("infinit"), (f64::INFINITY, 3));
        assert_eq!(p("0x"), (0.0, 1));
        assert_eq!(p("0xg"), (0.0, 1));
        assert_eq!(p("0x1.8p+1z"), (3.0, 8));
        assert_eq!(p("1e+"), (1.0, 1));
        assert_eq!(p("-"), (0.0, 0));
        assert_eq!(p("."), (0.0, 0));
        assert_eq!(p(""), (0.0, 0));
        assert_eq!(p("0x123456789abcdef01"), (20_988_295_479_420_645_121.0, 19));
        assert_eq!(
            p("0x1234567890abcdef1234p-80"),
            (f64::from_bits(0x3fb2_3456_7890_abce), 26)
        );
        assert_eq!(parse_float_prefix(b"nan(x_1)z").len, 8);
        assert_eq!(parse_float_prefix(b"nan(x").len, 3);
        assert!(parse_float_prefix(b"1e999").out_of_range);
        assert!(parse_float_prefix(b"0.0e-999").value == 0.0);
        assert!(!parse_float_prefix(b"0.0e-999").out_of_range);
        assert!(parse_float_prefix(b"0.1e-999").out_of_range);
    }
}
