//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET.

use super::{client::valid_client_name, REDIS_VERSION};
use crate::commands::args::is_keyword;
use crate::commands::{acl, pubsub, transactions, Args, CmdError, CmdResult, Ctx, ReplyMode};
use crate::protocol::Protover;

pub fn ping(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if ctx.client.is_subscriber() && !ctx.out.is_resp3() {
        // RESP2 subscribers can only receive arrays, so PING answers in one.
        if args.remaining() > 1 {
            return Err(args.wrong_arity());
        }
        let message = if args.is_empty() {
            &b""[..]
        } else {
            args.bytes()?
        };
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(message);
        return Ok(());
    }
    match args.remaining() {
        0 => ctx.out.simple("PONG"),
        1 => ctx.out.bulk(args.bytes()?),
        _ => return Err(args.wrong_arity()),
    }
    Ok(())
}

pub fn echo(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let message = args.bytes()?;
    ctx.out.bulk(message);
    Ok(())
}

pub fn quit(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.client.close_after_reply = true;
    ctx.out.ok();
    Ok(())
}

pub fn select(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let index = args.int()?;
    if index < 0 || index as usize >= ctx.ks.db_count() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.client.db = index as usize;
    ctx.out.ok();
    Ok(())
}

/// Checks credentials against the ACL users (Redis's `ACLAuthenticateUser`): on success the
/// connection runs as that user; a failure is logged (ACL LOG, reason `auth`) and leaves the
/// connection as it was.
fn authenticate(ctx: &mut Ctx, command: &[u8], user: &[u8], password: &[u8]) -> CmdResult {
    match ctx.server.acl.check_credentials(user, password) {
        Some(found) => {
            acl::set_client_user(&ctx.server.acl, ctx.client, found);
            ctx.client.authenticated = true;
            Ok(())
        }
        None => {
            acl::log_failed_auth(ctx, command, user);
            Err(CmdError::msg(
                "WRONGPASS invalid username-password pair or user is disabled.",
            ))
        }
    }
}

/// AUTH's arguments are all secrets.
pub fn auth_redacted(_argv: &[&[u8]], index: usize) -> bool {
    index >= 1
}

pub fn auth(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if args.remaining() > 2 {
        return Err(CmdError::Syntax);
    }
    let (user, password) = if args.remaining() == 1 {
        if ctx.server.acl.default_is_nopass() {
            return Err(CmdError::msg(
                "ERR AUTH <password> called without any password configured for the default \
                 user. Are you sure your configuration is correct?",
            ));
        }
        (&b"default"[..], args.bytes()?)
    } else {
        (args.bytes()?, args.bytes()?)
    };
    let command = args.argv()[0];
    authenticate(ctx, command, user, password)?;
    ctx.out.ok();
    Ok(())
}

/// HELLO's AUTH user name and password are secrets: the options are walked as HELLO parses
/// them (after the protocol version).
pub fn hello_redacted(argv: &[&[u8]], index: usize) -> bool {
    let mut at = 2;
    while at < argv.len() {
        let more = argv.len() - 1 - at;
        if is_keyword(argv[at], "auth") && more >= 2 {
            if index == at + 1 || index == at + 2 {
                return true;
            }
            at += 3;
        } else if is_keyword(argv[at], "setname") && more >= 1 {
            at += 2;
        } else {
            break;
        }
    }
    false
}

pub fn hello(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mut proto = ctx.out.proto();
    if let Some(version) = args.peek() {
        args.bytes()?;
        let version = crate::commands::args::int_arg(version)
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        proto = match version {
            2 => Protover::Resp2,
            3 => Protover::Resp3,
            _ => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
        };
    }
    let mut name = None;
    let mut credentials = None;
    while !args.is_empty() {
        if args.remaining() >= 3 && args.eat("auth") {
            credentials = Some((args.bytes()?, args.bytes()?));
        } else if args.remaining() >= 2 && args.eat("setname") {
            let candidate = args.bytes()?;
            if !valid_client_name(candidate) {
                return Err(CmdError::msg(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            name = Some(candidate);
        } else {
            return Err(CmdError::concat(&[
                b"ERR Syntax error in HELLO option '",
                args.peek().unwrap_or_default(),
                b"'",
            ]));
        }
    }
    if let Some((user, password)) = credentials {
        let command = args.argv()[0];
        authenticate(ctx, command, user, password)?;
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
             the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = name {
        ctx.client.name = (!name.is_empty()).then(|| name.to_vec());
    }
    ctx.out.set_proto(proto);
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(if proto == Protover::Resp3 { 3 } else { 2 });
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
}

pub fn reset(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    transactions::discard_state(ctx);
    pubsub::unsubscribe_all_silently(ctx);
    if ctx.client.monitor {
        let me = ctx.client.id;
        ctx.server.monitors.retain(|&id| id != me);
        ctx.client.monitor = false;
    }
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.no_evict = false;
    ctx.server.tracking.turn_off(ctx.ks, ctx.client.id);
    ctx.client.tracking_prefix_memory = 0;
    ctx.client.db = 0;
    ctx.client.name = None;
    let default = ctx.server.acl.default_user();
    acl::set_client_user(&ctx.server.acl, ctx.client, default);
    ctx.client.authenticated = ctx.server.acl.new_connection_authenticated();
    ctx.out.set_proto(Protover::Resp2);
    ctx.out.simple("RESET");
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn hello_negotiates_and_refuses_unknown_versions() {
        let mut h = Harness::new();
        assert_eq!(
            h.text(&["hello", "4"]),
            "-NOPROTO unsupported protocol version\r\n"
        );
        assert_eq!(
            h.text(&["hello", "x"]),
            "-ERR Protocol version is not an integer or out of range\r\n"
        );
        let reply = h.text(&["hello", "2", "SETNAME", "me"]);
        assert!(
            reply.starts_with("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
            "{reply}"
        );
        assert_eq!(h.text(&["client", "getname"]), "$2\r\nme\r\n");
    }
}
