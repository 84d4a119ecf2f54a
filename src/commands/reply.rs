//! Reply shapes several command families write the same way.

use super::Ctx;
use crate::protocol::ReplyBuf;

/// Writes a HELP reply: a title line then the lines, as Redis's `addReplyHelp`.
pub fn help_reply(ctx: &mut Ctx, title: &str, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(title);
    for line in lines {
        ctx.out.simple(line);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// The reply to a SCAN-family command on a missing key.
pub fn empty_scan(out: &mut ReplyBuf) {
    out.array(2);
    out.bulk(b"0");
    out.array(0);
}
