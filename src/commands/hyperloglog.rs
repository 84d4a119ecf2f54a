//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST. HLLs are string values
//! in Redis's representation (`src/store/hyperloglog.rs`); `hll-sparse-max-bytes` comes from
//! the configuration.
//!
//! PFCOUNT of one key is a read that may write: when the value's cached cardinality is stale
//! it stores the new estimate in the value, as Redis does. Its row declares no journal class
//! (it is not flagged `write`), so persistence snapshots the value it changed, and MongoDB
//! holds the bytes Redis would hold.

use super::args::is_keyword;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::config::KeyspaceEvents;
use crate::store::hyperloglog::{self, DebugOp, DebugReply, HllError};

impl From<HllError> for CmdError {
    fn from(e: HllError) -> Self {
        CmdError::msg(match e {
            HllError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value"
            }
            HllError::NotHll => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            HllError::Corrupt => "INVALIDOBJ Corrupted HLL object detected",
        })
    }
}

pub fn pfadd(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let key = args.bytes()?;
    let elements = args.rest();
    let sparse_max_bytes = ctx.server.config.hll_sparse_max_bytes;
    let updated = ctx.db().pf_add(key, elements, sparse_max_bytes)?;
    if updated {
        ctx.notify(KeyspaceEvents::STRING, "pfadd", key);
    }
    ctx.out.int(i64::from(updated));
    Ok(())
}

pub fn pfcount(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let keys = args.rest();
    let card = match keys {
        [key] => ctx.db().pf_count(key)?,
        keys => ctx.db().pf_count_union(keys)?,
    };
    // As Redis replies with the unsigned estimate read as a signed one.
    ctx.out.int(card as i64);
    Ok(())
}

pub fn pfmerge(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let dest = args.bytes()?;
    let sources = args.rest();
    let sparse_max_bytes = ctx.server.config.hll_sparse_max_bytes;
    ctx.db().pf_merge(dest, sources, sparse_max_bytes)?;
    // Redis reports a merge as an add.
    ctx.notify(KeyspaceEvents::STRING, "pfadd", dest);
    ctx.out.ok();
    Ok(())
}

pub fn pfdebug(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let name = args.bytes()?;
    let key = args.bytes()?;
    let op = if is_keyword(name, "getreg") {
        DebugOp::Registers
    } else if is_keyword(name, "decode") {
        DebugOp::Decode
    } else if is_keyword(name, "encoding") {
        DebugOp::Encoding
    } else if is_keyword(name, "todense") {
        DebugOp::ToDense
    } else {
        DebugOp::Unknown
    };
    match ctx.db().pf_debug(key, op)? {
        DebugReply::NoSuchKey => {
            return Err(CmdError::msg("ERR The specified key does not exist"));
        }
        DebugReply::Registers(registers) => {
            ctx.out.array(registers.len());
            for register in registers {
                ctx.out.int(i64::from(register));
            }
        }
        DebugReply::Decoded(Some(text)) => ctx.out.bulk(text.as_bytes()),
        DebugReply::Decoded(None) => {
            return Err(CmdError::msg("ERR HLL encoding is not sparse"));
        }
        DebugReply::Encoding(name) => ctx.out.simple(name),
        DebugReply::Converted(converted) => ctx.out.int(i64::from(converted)),
        DebugReply::Unknown => {
            return Err(CmdError::concat(&[
                b"ERR Unknown PFDEBUG subcommand '",
                name,
                b"'",
            ]));
        }
    }
    Ok(())
}

pub fn pfselftest(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let sparse_max_bytes = ctx.server.config.hll_sparse_max_bytes;
    hyperloglog::self_test(&mut ctx.server.rng, sparse_max_bytes)
        .map_err(|failure| CmdError::msg(format!("ERR {failure}")))?;
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::journal::{replay, Journal};
    use crate::commands::testing::Harness;
    use crate::commands::Server;

    #[test]
    fn pfadd_replays_from_the_journal_and_pfcount_is_snapshotted() {
        let (mut live, mut copy) = (Harness::new(), Harness::new());
        live.server.journal = Some(Journal::new());
        for h in [&mut live, &mut copy] {
            h.text(&["pfadd", "h", "a", "b"]);
        }
        live.server.journal.as_mut().unwrap().watch(0, b"h");
        live.text(&["pfadd", "h", "c", "d"]);
        // Nothing changes: nothing is recorded.
        live.text(&["pfadd", "h", "c"]);
        live.text(&["pfadd", "h", "e"]);
        let mut interval = live.server.journal.as_mut().unwrap().take_interval();
        let ops = interval.take_clean(0, b"h").unwrap();
        let commands = ops.commands();
        assert_eq!(commands.len(), 2);
        let mut server = Server::new(crate::config::Config::default(), 0);
        for argv in commands {
            replay(&mut copy.ks, &mut server, 0, &argv).unwrap();
        }
        assert_eq!(live.text(&["get", "h"]), copy.text(&["get", "h"]));

        // PFCOUNT caches its estimate in the value: the key is snapshotted, not replayed.
        assert_eq!(live.text(&["pfcount", "h"]), ":5\r\n");
        let mut interval = live.server.journal.as_mut().unwrap().take_interval();
        assert!(interval.is_touched(0, b"h"));
        assert!(interval.take_clean(0, b"h").is_none());
        // With the cache valid it writes nothing.
        assert_eq!(live.text(&["pfcount", "h"]), ":5\r\n");
        let interval = live.server.journal.as_mut().unwrap().take_interval();
        assert!(!interval.is_touched(0, b"h"));
    }
}
