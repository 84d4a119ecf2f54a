//! QUEUE.BPOP: the blocking pop of a queue, served by the shared machinery in
//! [`super::blocking`]; the other QUEUE commands are the generic pile commands in
//! [`super::piles`]. Replies as BLPOP.

use super::blocking::{block, parse_timeout, serving_keys, TimeoutReply};
use super::piles::notify_pop;
use super::{Args, CmdError, CmdResult, Ctx};
use crate::store::pile::Fifo;

/// QUEUE.BPOP key [key ...] timeout
pub fn bpop(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.rest();
    let Some((timeout, keys)) = argv.split_last() else {
        return Err(CmdError::Syntax);
    };
    let deadline = parse_timeout(timeout)?;
    let serving = serving_keys(ctx, keys);
    match ctx.db().pile_pop_first::<Fifo>(serving)? {
        Some((at, item)) => {
            ctx.out.array(2);
            let key = serving.get(at).copied().unwrap_or_default();
            ctx.out.bulk(key);
            ctx.out.bulk(&item);
            ctx.journal_as(b"QUEUE.POP", key, []);
            notify_pop(ctx, "queue.pop", key);
        }
        None => block(ctx, keys, deadline, TimeoutReply::NullArray),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn bpop_takes_from_the_first_non_empty_queue_or_blocks() {
        let mut h = Harness::new();
        h.text(&["queue.push", "q2", "x", "y"]);
        assert_eq!(
            h.text(&["queue.bpop", "q1", "q2", "0"]),
            "*2\r\n$2\r\nq2\r\n$1\r\nx\r\n"
        );
        let before = crate::clock::unix_ms();
        assert_eq!(h.text(&["queue.bpop", "q1", "1"]), "");
        let after = crate::clock::unix_ms();
        let request = h.client.block.take().expect("blocked");
        let keys: Vec<&[u8]> = request.keys.iter().map(|k| &k[..]).collect();
        assert_eq!(keys, vec![&b"q1"[..]]);
        let deadline = request.deadline.expect("a deadline");
        assert!(
            (before + 1000..=after + 1000).contains(&deadline),
            "{deadline}"
        );
    }
}
