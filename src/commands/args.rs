//! The argument parser handlers use: typed readers over a command's arguments with Redis's
//! error texts, so every handler checks its input the same way, and the parsers several
//! families share (SCAN cursors and options, random-member counts, arity errors).

use super::CmdError;
use crate::number::{parse_f64, parse_i64};

/// The arguments of one command after its name (and subcommand).
pub struct Args<'a> {
    argv: &'a [&'a [u8]],
    /// Index of the first argument after the name (and subcommand).
    start: usize,
    pos: usize,
}

/// A (name, value) argument pair: field and value, key and value, parameter and value.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Redis's arity error for the command (or `container|subcommand`) `full_name`.
pub fn wrong_arity(full_name: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR wrong number of arguments for '{full_name}' command"
    ))
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
pub fn is_keyword(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parses a float argument (`ERR value is not a valid float`).
pub fn float_arg(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64(arg).ok_or(CmdError::NotFloat)
}

impl<'a> Args<'a> {
    /// The arguments of `argv` from position `start`.
    pub fn new(argv: &'a [&'a [u8]], start: usize) -> Self {
        let start = start.min(argv.len());
        Args {
            argv,
            start,
            pos: start,
        }
    }

    /// The running command's full name as errors spell it (`get`, `client|kill`): the names
    /// before the arguments, lower-cased (they matched the table's lower-case names).
    pub fn command_name(&self) -> String {
        let names: Vec<String> = self.argv[..self.start]
            .iter()
            .map(|name| String::from_utf8_lossy(name).to_ascii_lowercase())
            .collect();
        names.join("|")
    }

    /// Redis's arity error for the running command, for argument counts only the handler
    /// can judge (an odd number of field/value arguments, a second optional argument).
    pub fn wrong_arity(&self) -> CmdError {
        wrong_arity(&self.command_name())
    }

    /// Redis's reply for a known subcommand called with arguments it does not take.
    pub fn subcommand_syntax_error(&self) -> CmdError {
        let container = self.argv.first().copied().unwrap_or_default();
        let sub = self.argv.get(1).copied().unwrap_or_default();
        let end = sub.len().min(128);
        CmdError::concat(&[
            b"ERR unknown subcommand or wrong number of arguments for '",
            &sub[..end],
            b"'. Try ",
            &container.to_ascii_uppercase(),
            b" HELP.",
        ])
    }

    /// Consumes every remaining argument as (name, value) pairs; an arity error for an odd
    /// count. O(arguments).
    pub fn pairs(&mut self) -> Result<Vec<Pair<'a>>, CmdError> {
        let rest = self.rest();
        if !rest.len().is_multiple_of(2) {
            return Err(self.wrong_arity());
        }
        Ok(rest.chunks_exact(2).map(|p| (p[0], p[1])).collect())
    }

    /// The whole request, command name included.
    pub fn argv(&self) -> &'a [&'a [u8]] {
        self.argv
    }

    /// Arguments not consumed yet.
    pub fn remaining(&self) -> usize {
        self.argv.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next argument without consuming it.
    pub fn peek(&self) -> Option<&'a [u8]> {
        self.argv.get(self.pos).copied()
    }

    /// Consumes and returns every remaining argument.
    pub fn rest(&mut self) -> &'a [&'a [u8]] {
        let rest = &self.argv[self.pos..];
        self.pos = self.argv.len();
        rest
    }

    /// The next argument; a syntax error if there is none.
    pub fn bytes(&mut self) -> Result<&'a [u8], CmdError> {
        let arg = self.peek().ok_or(CmdError::Syntax)?;
        self.pos += 1;
        Ok(arg)
    }

    /// The next argument as an integer.
    pub fn int(&mut self) -> Result<i64, CmdError> {
        int_arg(self.bytes()?)
    }

    /// The next argument as a float.
    pub fn float(&mut self) -> Result<f64, CmdError> {
        float_arg(self.bytes()?)
    }

    /// Consumes the next argument if it is `keyword` (case-insensitive).
    pub fn eat(&mut self, keyword: &str) -> bool {
        match self.peek() {
            Some(arg) if is_keyword(arg, keyword) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// A syntax error unless every argument was consumed.
    pub fn finish(&self) -> Result<(), CmdError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CmdError::Syntax)
        }
    }
}

/// Parses a SCAN-family cursor as Redis's `strtoul` does: leading spaces and a sign allowed
/// (`-1` wraps to the largest cursor), nothing after the digits, no overflow.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::msg("ERR invalid cursor");
    let text = std::str::from_utf8(arg).map_err(|_| invalid())?;
    let text = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let value: u64 = digits.parse().map_err(|_| invalid())?;
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// SCAN-family options: MATCH pattern, COUNT n (and TYPE t when `allow_type`).
pub struct ScanOptions<'a> {
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_name: Option<&'a [u8]>,
}

/// Reads the SCAN-family options after the cursor.
pub fn parse_scan_options<'a>(
    args: &mut Args<'a>,
    allow_type: bool,
) -> Result<ScanOptions<'a>, CmdError> {
    let mut opts = ScanOptions {
        pattern: None,
        count: 10,
        type_name: None,
    };
    while !args.is_empty() {
        if args.remaining() >= 2 && args.eat("count") {
            let count = args.int()?;
            if count < 1 {
                return Err(CmdError::Syntax);
            }
            opts.count = count as usize;
        } else if args.remaining() >= 2 && args.eat("match") {
            let pattern = args.bytes()?;
            opts.pattern = (pattern != b"*").then_some(pattern);
        } else if allow_type && args.remaining() >= 2 && args.eat("type") {
            opts.type_name = Some(args.bytes()?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(opts)
}

/// The count of HRANDFIELD/SRANDMEMBER: any integer but i64::MIN, with Redis's range text.
pub fn random_count_arg(arg: &[u8]) -> Result<i64, CmdError> {
    let count = int_arg(arg)?;
    if count == i64::MIN {
        return Err(CmdError::msg(format!(
            "ERR value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_consume_in_order_and_report_redis_errors() {
        let argv: Vec<&[u8]> = vec![b"cmd", b"12", b"nx", b"x"];
        let mut args = Args::new(&argv, 1);
        assert_eq!(args.int(), Ok(12));
        assert!(!args.eat("XX"));
        assert!(args.eat("NX"));
        assert_eq!(args.finish(), Err(CmdError::Syntax));
        assert_eq!(args.int(), Err(CmdError::NotInteger));
        assert_eq!(args.bytes(), Err(CmdError::Syntax));
    }
}
