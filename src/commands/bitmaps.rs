//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO. They work
//! on string values (`src/store/bitmap.rs`); Redis files them under the `bitmap` group.
//!
//! Redis 7.0 checks some arguments only after looking the key up (BITCOUNT's range, BITPOS's
//! range): those are parsed first but their errors are raised in Redis's order, so a missing
//! key answers 0 whatever follows, and another type answers WRONGTYPE.

use super::args::is_keyword;
use super::table::KeyFlags;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::number::parse_i64;
use crate::store::bitmap::{BitOp, BitRange, FieldOp, FieldType, Overflow, RangeUnit};

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";
const BAD_FIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// A bit offset argument: a non-negative integer whose byte lies below `proto-max-bulk-len`.
/// With `field_bits` (BITFIELD), `#N` means the N-th field of that width; the product wraps
/// as Redis's C arithmetic does.
fn bit_offset(ctx: &Ctx, arg: &[u8], field_bits: Option<u32>) -> Result<u64, CmdError> {
    let bad = || CmdError::msg(BAD_OFFSET);
    let (digits, multiplier) = match (arg.split_first(), field_bits) {
        (Some((b'#', rest)), Some(bits)) => (rest, i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits).ok_or_else(bad)?.wrapping_mul(multiplier);
    if offset < 0 || (offset as u64 >> 3) >= ctx.server.config.proto_max_bulk_len {
        return Err(bad());
    }
    Ok(offset as u64)
}

/// An optional trailing `BYTE|BIT`.
fn range_unit(args: &mut Args) -> Result<RangeUnit, CmdError> {
    let Some(arg) = args.peek() else {
        return Ok(RangeUnit::Byte);
    };
    args.bytes()?;
    if is_keyword(arg, "bit") {
        Ok(RangeUnit::Bit)
    } else if is_keyword(arg, "byte") {
        Ok(RangeUnit::Byte)
    } else {
        Err(CmdError::Syntax)
    }
}

pub fn setbit(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let offset = bit_offset(ctx, args.bytes()?, None)?;
    let on = match parse_i64(args.bytes()?) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::msg(BAD_BIT)),
    };
    let outcome = ctx.db().set_bit(key, offset, on)?;
    if outcome.changed {
        ctx.notify(KeyspaceEvents::STRING, "setbit", key);
    }
    ctx.out.int(outcome.previous as i64);
    Ok(())
}

pub fn getbit(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let offset = bit_offset(ctx, args.bytes()?, None)?;
    let bit = ctx.db().get_bit(key, offset)?;
    ctx.out.int(bit as i64);
    Ok(())
}

/// BITCOUNT's `[start end [BYTE|BIT]]`, checked in Redis's order: both integers, then the
/// case Redis answers 0 before clamping or reading the unit (both negative, start after end;
/// clamping could otherwise turn it into the first byte), then the unit.
fn bitcount_range(args: &mut Args) -> Result<BitRange, CmdError> {
    match args.remaining() {
        0 => Ok(BitRange::ALL),
        2 | 3 => {
            let (start, end) = (args.int()?, args.int()?);
            if start < 0 && end < 0 && start > end {
                return Ok(BitRange::EMPTY);
            }
            let unit = range_unit(args)?;
            Ok(BitRange { start, end, unit })
        }
        _ => Err(CmdError::Syntax),
    }
}

pub fn bitcount(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let range = bitcount_range(args);
    let mut db = ctx.db();
    let count = match range {
        Ok(range) => db.bit_count(key, range)?,
        Err(e) if db.get_string(key)?.is_some() => return Err(e),
        Err(_) => 0,
    };
    ctx.out.int(count as i64);
    Ok(())
}

/// BITPOS's `[start [end [BYTE|BIT]]]` in Redis's order (start, unit, end), and whether an
/// end was given.
fn bitpos_range(args: &mut Args) -> Result<(BitRange, bool), CmdError> {
    let count = args.remaining();
    if count == 0 {
        return Ok((BitRange::ALL, false));
    }
    if count > 3 {
        return Err(CmdError::Syntax);
    }
    let start = args.int()?;
    let end_arg = args.peek();
    if end_arg.is_some() {
        args.bytes()?;
    }
    let unit = range_unit(args)?;
    let end = end_arg.map(super::args::int_arg).transpose()?;
    let range = BitRange {
        start,
        end: end.unwrap_or(-1),
        unit,
    };
    Ok((range, end.is_some()))
}

pub fn bitpos(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let bit = match args.int()? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
    };
    let range = bitpos_range(args);
    let mut db = ctx.db();
    let pos = match range {
        Ok((range, end_given)) => db.bit_pos(key, bit, range, end_given)?,
        Err(e) if db.get_string(key)?.is_some() => return Err(e),
        Err(_) if bit => -1,
        Err(_) => 0,
    };
    ctx.out.int(pos);
    Ok(())
}

pub fn bitop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let name = args.bytes()?;
    let op = if is_keyword(name, "and") {
        BitOp::And
    } else if is_keyword(name, "or") {
        BitOp::Or
    } else if is_keyword(name, "xor") {
        BitOp::Xor
    } else if is_keyword(name, "not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    let dest = args.bytes()?;
    let sources = args.rest();
    if op == BitOp::Not && sources.len() != 1 {
        return Err(CmdError::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let outcome = ctx.db().bit_op(op, dest, sources)?;
    if outcome.len > 0 {
        ctx.notify(KeyspaceEvents::STRING, "set", dest);
    } else if outcome.deleted {
        ctx.notify(KeyspaceEvents::GENERIC, "del", dest);
    }
    ctx.out.int(outcome.len as i64);
    Ok(())
}

/// BITFIELD's subcommands, all parsed (and every error found) before anything runs.
fn field_ops(ctx: &Ctx, args: &mut Args) -> Result<Vec<FieldOp>, CmdError> {
    #[derive(PartialEq)]
    enum Kind {
        Get,
        Set,
        IncrBy,
    }
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    while let Some(name) = args.peek() {
        args.bytes()?;
        let remaining = args.remaining();
        let kind = if is_keyword(name, "get") && remaining >= 2 {
            Kind::Get
        } else if is_keyword(name, "set") && remaining >= 3 {
            Kind::Set
        } else if is_keyword(name, "incrby") && remaining >= 3 {
            Kind::IncrBy
        } else if is_keyword(name, "overflow") && remaining >= 1 {
            let mode = args.bytes()?;
            overflow = if is_keyword(mode, "wrap") {
                Overflow::Wrap
            } else if is_keyword(mode, "sat") {
                Overflow::Sat
            } else if is_keyword(mode, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::msg("ERR Invalid OVERFLOW type specified"));
            };
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let ty = FieldType::parse(args.bytes()?).ok_or_else(|| CmdError::msg(BAD_FIELD_TYPE))?;
        let offset = bit_offset(ctx, args.bytes()?, Some(ty.bits))?;
        ops.push(match kind {
            Kind::Get => FieldOp::Get { ty, offset },
            Kind::Set => FieldOp::Set {
                ty,
                offset,
                value: args.int()?,
                overflow,
            },
            Kind::IncrBy => FieldOp::IncrBy {
                ty,
                offset,
                increment: args.int()?,
                overflow,
            },
        });
    }
    Ok(ops)
}

fn bitfield_generic(ctx: &mut Ctx, args: &mut Args, read_only: bool) -> CmdResult {
    let key = args.bytes()?;
    let ops = field_ops(ctx, args)?;
    if read_only && ops.iter().any(|op| !matches!(op, FieldOp::Get { .. })) {
        return Err(CmdError::msg(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let outcome = ctx.db().bitfield(key, &ops)?;
    ctx.out.array(outcome.replies.len());
    for reply in outcome.replies {
        match reply {
            Some(value) => ctx.out.int(value),
            None => ctx.out.null(),
        }
    }
    // After the reply, as Redis notifies.
    if outcome.changed {
        ctx.notify(KeyspaceEvents::STRING, "setbit", key);
    }
    Ok(())
}

pub fn bitfield(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

pub fn bitfield_ro(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

/// BITFIELD's key finder: read-only while every operation is a complete GET or OVERFLOW,
/// else read-write (SET, INCRBY, or anything malformed), as Redis decides it.
pub fn bitfield_keys(argv: &[&[u8]]) -> Vec<(usize, KeyFlags)> {
    let mut read_only = true;
    let mut at = 2;
    while at < argv.len() {
        let remaining = argv.len() - at - 1;
        let op = argv[at];
        if op.eq_ignore_ascii_case(b"get") && remaining >= 2 {
            at += 3;
        } else if op.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
            at += 2;
        } else {
            // SET and INCRBY write; anything else is a syntax error, taken as a write.
            read_only = false;
            break;
        }
    }
    let flags = if read_only {
        KeyFlags::RO.with(KeyFlags::ACCESS)
    } else {
        KeyFlags::RW.with(KeyFlags::ACCESS).with(KeyFlags::UPDATE)
    };
    vec![(1, flags)]
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn setbit_getbit_and_their_errors() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["setbit", "k", "7", "1"], ":0\r\n"),
            (&["setbit", "k", "7", "0"], ":1\r\n"),
            (&["getbit", "k", "6"], ":0\r\n"),
            (&["getbit", "nokey", "4294967295"], ":0\r\n"),
            (&["object", "encoding", "k"], "$3\r\nraw\r\n"),
        ]);
        for offset in ["-1", "4294967296", "01", "x", "#1"] {
            assert_eq!(
                h.text(&["setbit", "k", offset, "1"]),
                "-ERR bit offset is not an integer or out of range\r\n"
            );
        }
        for bit in ["2", "-1", "01", "x"] {
            assert_eq!(
                h.text(&["setbit", "k", "0", bit]),
                "-ERR bit is not an integer or out of range\r\n"
            );
        }
        h.text(&["lpush", "l", "a"]);
        assert!(h.text(&["setbit", "l", "0", "1"]).starts_with("-WRONGTYPE"));
    }

    #[test]
    fn bitcount_and_bitpos_check_the_key_before_the_range() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["bitcount", "nokey", "a", "b"], ":0\r\n"),
            (&["bitpos", "nokey", "1", "a"], ":-1\r\n"),
            (&["bitpos", "nokey", "0", "a"], ":0\r\n"),
        ]);
        h.text(&["set", "s", "foobar"]);
        h.assert_replies(&[
            (&["bitcount", "s"], ":26\r\n"),
            (&["bitcount", "s", "1", "1"], ":6\r\n"),
            (&["bitcount", "s", "5", "30", "BIT"], ":17\r\n"),
            (&["bitcount", "s", "-1", "-2", "nonsense"], ":0\r\n"),
            (&["bitcount", "s", "0"], "-ERR syntax error\r\n"),
            (
                &["bitcount", "s", "0", "1", "bits"],
                "-ERR syntax error\r\n",
            ),
            (&["bitpos", "s", "1"], ":1\r\n"),
            (&["bitpos", "s", "0", "2", "-1", "bit"], ":3\r\n"),
            (
                &["bitpos", "s", "1", "0", "x", "xx"],
                "-ERR syntax error\r\n",
            ),
            (
                &["bitpos", "s", "2"],
                "-ERR The bit argument must be 1 or 0.\r\n",
            ),
        ]);
    }

    #[test]
    fn bitop_and_bitfield() {
        let mut h = Harness::new();
        h.text(&["set", "a", "ab"]);
        h.assert_replies(&[
            (&["bitop", "xor", "d", "a", "a"], ":2\r\n"),
            (&["get", "d"], "$2\r\n\0\0\r\n"),
            (&["bitop", "not", "d", "a", "a"], "-ERR BITOP NOT must be called with a single source key.\r\n"),
            (&["bitop", "nand", "d", "a"], "-ERR syntax error\r\n"),
            (&["bitop", "or", "d", "x"], ":0\r\n"),
            (&["exists", "d"], ":0\r\n"),
            (&["bitfield", "f", "set", "i8", "#1", "-1", "get", "u4", "8"], "*2\r\n:0\r\n:15\r\n"),
            (&["bitfield", "f", "overflow", "fail", "incrby", "i8", "8", "-128"], "*1\r\n$-1\r\n"),
            (&["bitfield_ro", "f", "get", "i8", "8", "set", "u1", "0", "1"], "-ERR BITFIELD_RO only supports the GET subcommand\r\n"),
            (&["bitfield", "f", "get", "u64", "0"], "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n"),
            (&["bitfield", "f", "overflow", "x"], "-ERR Invalid OVERFLOW type specified\r\n"),
        ]);
    }
}
