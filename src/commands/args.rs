//! The argument parser handlers use: typed `next_*` readers over a command's arguments with
//! Redis's error texts, so every handler checks its input the same way.

use super::CmdError;
use crate::number::{parse_f64, parse_i64};

/// The arguments of one command after its name (and subcommand).
pub struct Args<'a> {
    argv: &'a [&'a [u8]],
    pos: usize,
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
        Args {
            argv,
            pos: start.min(argv.len()),
        }
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
