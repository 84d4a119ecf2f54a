//! The x87 80-bit `long double` arithmetic Redis's INCRBYFLOAT and HINCRBYFLOAT use, in software.
//!
//! Written by hand because Rust has no 80-bit float and the visible result depends on it:
//! Redis parses both operands with `strtold`, adds them in 64-bit-mantissa precision and prints
//! `%.17Lf`, so `0.1 + 0.2` is `0.3` there while `f64` gives `0.30000000000000004`. Values are
//! kept exact as `mantissa * 2^exponent` and rounded (to nearest, ties to even) exactly where the
//! hardware rounds. Big integers keep it exact for any magnitude the type can hold.

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, ToPrimitive, Zero};

/// Largest binary exponent of an 80-bit extended value (beyond it: infinity).
const MAX_EXP2: i64 = 16384;
/// Smallest binary exponent kept; smaller magnitudes become zero (subnormals are not modelled).
const MIN_EXP2: i64 = -16446;

/// An 80-bit extended-precision value: `mantissa * 2^exponent` with a 64-bit mantissa.
#[derive(Debug, Clone, PartialEq)]
pub enum LongDouble {
    Finite {
        negative: bool,
        mantissa: u64,
        exponent: i64,
    },
    Infinite {
        negative: bool,
    },
}

impl LongDouble {
    fn zero() -> Self {
        LongDouble::Finite {
            negative: false,
            mantissa: 0,
            exponent: 0,
        }
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// Parses text as Redis's `string2ld`: a decimal or `0x` hexadecimal number with optional
    /// sign, fraction and exponent, or `inf`/`infinity`; no spaces; NaN refused; and, as
    /// `strtold` reports them out of range, numbers too large for the type or so small they
    /// would round to zero. Correctly rounded, as `strtold`.
    pub fn parse(text: &[u8]) -> Option<Self> {
        if text.is_empty() || text.len() > 5 * 1024 || text[0].is_ascii_whitespace() {
            return None;
        }
        let text = std::str::from_utf8(text).ok()?;
        let (negative, body) = match text.as_bytes()[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let lower = body.to_ascii_lowercase();
        if lower == "inf" || lower == "infinity" {
            return Some(LongDouble::Infinite { negative });
        }
        let (hex, lower) = match lower.strip_prefix("0x") {
            Some(rest) => (true, rest.to_string()),
            None => (false, lower),
        };
        let (radix, marker) = if hex { (16, 'p') } else { (10, 'e') };
        let (number, exponent) = match lower.split_once(marker) {
            Some((n, e)) => (n, e.parse::<i64>().ok()?),
            None => (lower.as_str(), 0),
        };
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let is_digit = |b: u8| {
            if hex {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        };
        if !int_part.bytes().chain(frac_part.bytes()).all(is_digit) {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        let value = BigUint::parse_bytes(digits.as_bytes(), radix).unwrap_or_default();
        let nonzero = !value.is_zero();
        let parsed = if hex {
            // Each hex digit after the point is four binary places.
            let exp2 = exponent.checked_sub(4 * frac_part.len() as i64)?;
            round_to_extended(negative, value, exp2, false)
        } else {
            from_decimal(
                negative,
                value,
                exponent.checked_sub(frac_part.len() as i64)?,
            )
        };
        let out_of_range = match &parsed {
            LongDouble::Infinite { .. } => true,
            LongDouble::Finite { mantissa: 0, .. } => nonzero,
            LongDouble::Finite { .. } => false,
        };
        (!out_of_range).then_some(parsed)
    }

    /// The nearest `f64` (infinite beyond its range).
    pub fn to_f64(&self) -> f64 {
        match self {
            LongDouble::Infinite { negative: true } => f64::NEG_INFINITY,
            LongDouble::Infinite { negative: false } => f64::INFINITY,
            LongDouble::Finite {
                negative,
                mantissa,
                exponent,
            } => {
                let magnitude =
                    *mantissa as f64 * 2f64.powi((*exponent).clamp(-20000, 20000) as i32);
                if *negative {
                    -magnitude
                } else {
                    magnitude
                }
            }
        }
    }

    /// C's `(long long) ceill(x * 1000.0)`, as Redis turns a timeout in seconds into
    /// milliseconds: the product rounded to 64 mantissa bits, then up to an integer;
    /// `i64::MIN` when that is beyond `long long` (what the x86 conversion gives).
    pub fn ceil_thousandfold(&self) -> i64 {
        let LongDouble::Finite {
            negative,
            mantissa,
            exponent,
        } = self
        else {
            return i64::MIN;
        };
        let product = round_to_extended(
            *negative,
            BigUint::from(*mantissa) * 1000u32,
            *exponent,
            false,
        );
        let LongDouble::Finite {
            mantissa, exponent, ..
        } = product
        else {
            return i64::MIN;
        };
        let mantissa = u128::from(mantissa);
        let (whole, fraction) = if exponent >= 0 {
            if exponent >= 64 {
                return i64::MIN;
            }
            (mantissa << exponent, false)
        } else if exponent <= -128 {
            (0, mantissa != 0)
        } else {
            let shift = (-exponent) as u32;
            (mantissa >> shift, mantissa & ((1u128 << shift) - 1) != 0)
        };
        if *negative {
            // Toward zero is up for a negative number.
            i64::try_from(whole).map_or(i64::MIN, |w| -w)
        } else {
            i64::try_from(whole + u128::from(fraction)).unwrap_or(i64::MIN)
        }
    }

    /// The sum, rounded to 64 mantissa bits as the x87 unit does.
    pub fn add(&self, other: &LongDouble) -> LongDouble {
        match (self, other) {
            (LongDouble::Infinite { negative }, _) | (_, LongDouble::Infinite { negative }) => {
                LongDouble::Infinite {
                    negative: *negative,
                }
            }
            (
                LongDouble::Finite {
                    negative: na,
                    mantissa: ma,
                    exponent: ea,
                },
                LongDouble::Finite {
                    negative: nb,
                    mantissa: mb,
                    exponent: eb,
                },
            ) => {
                let base = (*ea).min(*eb);
                let signed = |negative: bool, m: u64, e: i64| {
                    let magnitude = BigInt::from(m) << ((e - base) as usize);
                    if negative {
                        -magnitude
                    } else {
                        magnitude
                    }
                };
                let sum = signed(*na, *ma, *ea) + signed(*nb, *mb, *eb);
                round_to_extended(
                    sum.sign() == Sign::Minus,
                    sum.magnitude().clone(),
                    base,
                    false,
                )
            }
        }
    }

    /// Formats as `%.17Lf` with trailing zeros (and a trailing `.`) removed, as Redis stores it.
    pub fn to_human_string(&self) -> String {
        let (negative, mantissa, exponent) = match self {
            LongDouble::Infinite { negative } => {
                return if *negative { "-inf" } else { "inf" }.to_string()
            }
            LongDouble::Finite {
                negative,
                mantissa,
                exponent,
            } => (*negative, *mantissa, *exponent),
        };
        let scale = BigUint::from(10u32).pow(17);
        let scaled = BigUint::from(mantissa) * scale;
        let fixed = if exponent >= 0 {
            scaled << (exponent as usize)
        } else {
            shift_right_rounded(&scaled, (-exponent) as u64, false)
        };
        let mut digits = fixed.to_str_radix(10);
        if digits.len() <= 17 {
            digits = format!("{}{digits}", "0".repeat(18 - digits.len()));
        }
        let (int_part, frac_part) = digits.split_at(digits.len() - 17);
        let frac_part = frac_part.trim_end_matches('0');
        let mut text = String::with_capacity(digits.len() + 2);
        if negative {
            text.push('-');
        }
        text.push_str(int_part);
        if !frac_part.is_empty() {
            text.push('.');
            text.push_str(frac_part);
        }
        if text == "-0" {
            text = "0".to_string();
        }
        text
    }
}

/// `value * 10^exp10`, correctly rounded to an extended value.
fn from_decimal(negative: bool, value: BigUint, exp10: i64) -> LongDouble {
    if value.is_zero() {
        return LongDouble::zero();
    }
    let digits = value.bits() as i64;
    // Beyond these the result is certainly infinite or certainly below the smallest value.
    if exp10 * 10 / 3 + digits > MAX_EXP2 + 64 {
        return LongDouble::Infinite { negative };
    }
    if (exp10 + 1) * 3 + digits < MIN_EXP2 {
        return LongDouble::zero();
    }
    if exp10 >= 0 {
        let exact = value * BigUint::from(10u32).pow(exp10 as u32);
        return round_to_extended(negative, exact, 0, false);
    }
    let divisor = BigUint::from(10u32).pow((-exp10) as u32);
    // Scale the numerator so the quotient has at least 66 bits, then round with the remainder
    // as a sticky bit.
    let shift = (66 + divisor.bits() as i64 - digits).max(0) as usize;
    let numerator = value << shift;
    let quotient = &numerator / &divisor;
    let inexact = !(&numerator % &divisor).is_zero();
    round_to_extended(negative, quotient, -(shift as i64), inexact)
}

/// Rounds `magnitude * 2^exponent` to a 64-bit mantissa, ties to even; `sticky` says the true
/// value is slightly above `magnitude` (an inexact division).
fn round_to_extended(
    negative: bool,
    magnitude: BigUint,
    exponent: i64,
    sticky: bool,
) -> LongDouble {
    if magnitude.is_zero() {
        return LongDouble::zero();
    }
    let bits = magnitude.bits() as i64;
    let (mantissa, exponent) = if bits <= 64 {
        (magnitude, exponent)
    } else {
        let drop = (bits - 64) as u64;
        (
            shift_right_rounded(&magnitude, drop, sticky),
            exponent + drop as i64,
        )
    };
    // Rounding up may carry into a 65th bit.
    let (mantissa, exponent) = if mantissa.bits() > 64 {
        (mantissa >> 1u32, exponent + 1)
    } else {
        (mantissa, exponent)
    };
    let top = exponent + mantissa.bits() as i64;
    if top > MAX_EXP2 {
        return LongDouble::Infinite { negative };
    }
    if top < MIN_EXP2 {
        return LongDouble::zero();
    }
    LongDouble::Finite {
        negative,
        mantissa: mantissa.to_u64().unwrap_or(u64::MAX),
        exponent,
    }
}

/// `value >> drop`, rounded to nearest with ties to even.
fn shift_right_rounded(value: &BigUint, drop: u64, sticky: bool) -> BigUint {
    if drop == 0 {
        return value.clone();
    }
    let kept = value >> drop;
    let remainder = value - (&kept << drop);
    let half = BigUint::one() << (drop - 1);
    let round_up = remainder > half || (remainder == half && (sticky || kept.bit(0)));
    if round_up {
        kept + 1u32
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What redis-server 7.0 replies to `SET big 1` then `INCRBYFLOAT big 1e308`.
    const REDIS_1_PLUS_1E308: &str = "99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223152134749593960583597420814430196418767959100019603190778663109604507106667939153395788938914560543563061268364901618630217086589253444881623791300855757318142424510452728255046343928578048";

    fn incr(current: &str, delta: &str) -> String {
        let a = LongDouble::parse(current.as_bytes()).unwrap();
        let b = LongDouble::parse(delta.as_bytes()).unwrap();
        a.add(&b).to_human_string()
    }

    #[test]
    fn sums_match_redis_long_double_results() {
        // Expected texts are what redis-server 7.0 (x86-64) replies to INCRBYFLOAT.
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0", "1.1"), "1.1");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("3", "-3"), "0");
        assert_eq!(incr("-1.25", "0.25"), "-1");
        // 1e20 needs 67 bits, so adding 1 is lost to rounding, in Redis too.
        assert_eq!(incr("1", "1e20"), "100000000000000000000");
        assert_eq!(incr("0", "0.000000000000000001"), "0");
    }

    #[test]
    fn huge_values_print_every_digit_like_percent_lf() {
        // redis-server 7.0 replies these 308 digits to `SET big 1` + `INCRBYFLOAT big 1e308`.
        let printed = incr("1", "1e308");
        assert_eq!(printed, REDIS_1_PLUS_1E308);
        assert!(LongDouble::parse(b"1e400").unwrap().is_finite());
        // strtold reports these as out of range, and Redis refuses them.
        assert!(LongDouble::parse(b"1e5000").is_none());
        assert!(LongDouble::parse(b"1e-5000").is_none());
        assert_eq!(LongDouble::parse(b"0e-5000"), LongDouble::parse(b"0"));
    }

    #[test]
    fn parse_refuses_what_strtold_would_not_fully_consume() {
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"abc",
            b"1e",
            b".",
            b"nan",
            b"0xg",
            b"--1",
        ] {
            assert!(
                LongDouble::parse(bad).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(LongDouble::parse(b"inf").is_some());
        assert_eq!(incr("0x10", "0x1.8p1"), "19");
        assert!(LongDouble::parse(b".5").is_some());
        assert!(LongDouble::parse(b"5.").is_some());
    }
}
