//! The ACL command: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, GENPASS, LOG,
//! DRYRUN, LOAD, SAVE, HELP.

use super::rules::{every_command, merge_selectors};
use super::{acl_file, categories, parse_acl_file, pubsub_default_all, Denial, User};
use crate::commands::reply::help_reply;
use crate::commands::{args, Args, CmdError, CmdResult, Ctx};
use crate::store::pubsub::Kind;

/// ACL SETUSER's rules may hold passwords: every argument after the subcommand is hidden.
pub fn setuser_redacted(_argv: &[&[u8]], index: usize) -> bool {
    index >= 2
}

fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

pub fn setuser(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let argv = args.argv();
    let name = args.bytes()?;
    if super::rules::has_spaces(name) {
        return Err(CmdError::msg(
            "ERR Usernames can't contain spaces or null characters",
        ));
    }
    let ops = merge_selectors(args.rest()).map_err(|at| {
        CmdError::msg(format!(
            "ERR Unmatched parenthesis in acl selector starting at '{}'.",
            lossy(argv.get(at + 3).copied().unwrap_or_default())
        ))
    })?;
    let pubsub_all = pubsub_default_all(&ctx.server.config);
    let old = ctx
        .server
        .acl
        .set_user(name, &ops, pubsub_all)
        .map_err(|(op, e)| {
            CmdError::msg(format!(
                "ERR Error in ACL SETUSER modifier '{}': {}",
                lossy(&op),
                e.text()
            ))
        })?;
    if let (Some(old), Some(new)) = (old, ctx.server.acl.user(name).cloned()) {
        kill_revoked_subscribers(ctx, &old, &new);
    }
    ctx.out.ok();
    Ok(())
}

/// Closes the connections of `old`'s user subscribed to a channel or pattern `new` no
/// longer allows (Redis's `ACLKillPubsubClientsIfNeeded`).
fn kill_revoked_subscribers(ctx: &mut Ctx, old: &User, new: &User) {
    let selectors = || std::iter::once(new.root()).chain(new.extra_selectors());
    if selectors().any(|s| s.has_all_channels()) {
        return;
    }
    let upcoming: Vec<Vec<u8>> = selectors()
        .flat_map(|s| s.channel_patterns().to_vec())
        .collect();
    let old_selectors = std::iter::once(old.root()).chain(old.extra_selectors());
    let mut superset = true;
    for selector in old_selectors {
        if selector.has_all_channels()
            || selector
                .channel_patterns()
                .iter()
                .any(|c| !upcoming.contains(c))
        {
            superset = false;
            break;
        }
    }
    if superset {
        return;
    }
    let uid = old.uid;
    let mut candidates = Vec::new();
    ctx.clients.visit(&mut |client, _| {
        if client.user.uid == uid && client.is_subscriber() {
            candidates.push(client.id);
        }
    });
    if ctx.client.user.uid == uid && ctx.client.is_subscriber() {
        candidates.push(ctx.client.id);
    }
    let allowed = |name: &[u8], literal: bool| {
        upcoming.iter().any(|p| {
            if literal {
                p == name
            } else {
                crate::store::glob::matches(p, name)
            }
        })
    };
    for id in candidates {
        let pubsub = &ctx.server.pubsub;
        let revoked = pubsub
            .subscriptions(id, Kind::Pattern)
            .iter()
            .any(|p| !allowed(p, true))
            || pubsub
                .subscriptions(id, Kind::Channel)
                .iter()
                .any(|c| !allowed(c, false))
            || pubsub
                .subscriptions(id, Kind::Shard)
                .iter()
                .any(|c| !allowed(c, false));
        if revoked {
            kill_client(ctx, id);
        }
    }
}

/// Closes connection `id`: another one at once, this one after its reply.
fn kill_client(ctx: &mut Ctx, id: u64) {
    if id == ctx.client.id {
        ctx.client.close_after_reply = true;
    } else {
        ctx.server.outbox.kills.push(id);
    }
}

/// Closes every connection authenticated as one of the users `uids` (deleted or replaced).
fn kill_users_clients(ctx: &mut Ctx, uids: &[u64]) {
    if uids.is_empty() {
        return;
    }
    let mut victims = Vec::new();
    ctx.clients.visit(&mut |client, _| {
        if uids.contains(&client.user.uid) {
            victims.push(client.id);
        }
    });
    ctx.server.outbox.kills.extend(victims);
    if uids.contains(&ctx.client.user.uid) {
        ctx.client.close_after_reply = true;
        // Defensive, as Redis: until it closes, the connection is nobody.
        ctx.client.authenticated = false;
    }
}

pub fn deluser(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let names = args.rest();
    if names.iter().any(|n| *n == b"default") {
        return Err(CmdError::msg("ERR The 'default' user cannot be removed"));
    }
    let mut uids = Vec::new();
    for name in names {
        if let Some(user) = ctx.server.acl.delete_user(name) {
            uids.push(user.uid);
        }
    }
    kill_users_clients(ctx, &uids);
    ctx.out.int(uids.len() as i64);
    Ok(())
}

/// One selector's `commands`, `keys` and `channels` fields.
fn describe_selector(ctx: &mut Ctx, selector: &super::Selector) {
    ctx.out.bulk(b"commands");
    ctx.out.bulk(selector.describe_commands().as_bytes());
    ctx.out.bulk(b"keys");
    ctx.out.bulk(&selector.describe_keys());
    ctx.out.bulk(b"channels");
    ctx.out.bulk(&selector.describe_channels());
}

pub fn getuser(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let name = args.bytes()?;
    let Some(user) = ctx.server.acl.user(name).cloned() else {
        ctx.out.null();
        return Ok(());
    };
    ctx.out.map(6);
    ctx.out.bulk(b"flags");
    let flags: Vec<&str> = user.flag_names().collect();
    ctx.out.set(flags.len());
    for flag in flags {
        ctx.out.bulk(flag.as_bytes());
    }
    ctx.out.bulk(b"passwords");
    ctx.out.array(user.password_hashes().len());
    for hash in user.password_hashes() {
        ctx.out.bulk(hash.as_bytes());
    }
    describe_selector(ctx, user.root());
    ctx.out.bulk(b"selectors");
    ctx.out.array(user.extra_selectors().len());
    for selector in user.extra_selectors() {
        ctx.out.map(3);
        describe_selector(ctx, selector);
    }
    Ok(())
}

pub fn list(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let lines: Vec<String> = ctx.server.acl.users().map(|u| u.describe_line()).collect();
    ctx.out.array(lines.len());
    for line in lines {
        ctx.out.bulk(line.as_bytes());
    }
    Ok(())
}

pub fn users(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let names: Vec<Vec<u8>> = ctx.server.acl.users().map(|u| u.name.clone()).collect();
    ctx.out.array(names.len());
    for name in names {
        ctx.out.bulk(&name);
    }
    Ok(())
}

pub fn whoami(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.bulk(&ctx.client.user.name);
    Ok(())
}

pub fn cat(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if args.remaining() > 1 {
        return Err(args.subcommand_syntax_error());
    }
    let Some(name) = args.peek() else {
        let names = categories();
        ctx.out.array(names.len());
        for name in names {
            ctx.out.bulk(name.as_bytes());
        }
        return Ok(());
    };
    let Some(bit) = categories()
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
    else {
        let end = name.len().min(128);
        return Err(CmdError::msg(format!(
            "ERR Unknown category '{}'",
            lossy(&name[..end])
        )));
    };
    let wanted = format!("@{}", categories()[bit]);
    let names: Vec<&str> = every_command()
        .filter(|spec| spec.acl_categories().contains(&wanted))
        .map(|spec| spec.full_name)
        .collect();
    ctx.out.array(names.len());
    for name in names {
        ctx.out.bulk(name.as_bytes());
    }
    Ok(())
}

pub fn genpass(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if args.remaining() > 1 {
        return Err(args.subcommand_syntax_error());
    }
    let bits = if args.is_empty() { 256 } else { args.int()? };
    if !(1..=4096).contains(&bits) {
        return Err(CmdError::msg(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a \
             positive number up to 4096",
        ));
    }
    let chars = (bits as usize).div_ceil(4);
    let mut password = Vec::with_capacity(chars);
    for _ in 0..chars {
        let digit = rand::Rng::gen_range(&mut rand::rngs::OsRng, 0..16u8);
        password.push(b"0123456789abcdef"[usize::from(digit)]);
    }
    ctx.out.bulk(&password);
    Ok(())
}

pub fn log(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if args.remaining() > 1 {
        return Err(args.subcommand_syntax_error());
    }
    let mut count = 10i64;
    if let Some(arg) = args.peek() {
        if args::is_keyword(arg, "reset") {
            ctx.server.acl.reset_log();
            ctx.out.ok();
            return Ok(());
        }
        count = args.int()?.max(0);
    }
    let count = (count as usize).min(ctx.server.acl.log_len());
    let now = crate::clock::unix_ms();
    let entries: Vec<super::LogEntry> = ctx.server.acl.log().take(count).cloned().collect();
    ctx.out.array(entries.len());
    for entry in entries {
        ctx.out.map(7);
        ctx.out.bulk(b"count");
        ctx.out.int(entry.count as i64);
        ctx.out.bulk(b"reason");
        ctx.out.bulk(entry.reason.as_bytes());
        ctx.out.bulk(b"context");
        ctx.out.bulk(entry.context.name().as_bytes());
        ctx.out.bulk(b"object");
        ctx.out.bulk(&entry.object);
        ctx.out.bulk(b"username");
        ctx.out.bulk(&entry.username);
        ctx.out.bulk(b"age-seconds");
        ctx.out
            .double(now.saturating_sub(entry.at_ms) as f64 / 1000.0);
        ctx.out.bulk(b"client-info");
        ctx.out.bulk(entry.client_info.as_bytes());
    }
    Ok(())
}

pub fn dryrun(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let name = args.bytes()?;
    let Some(user) = ctx.server.acl.user(name).cloned() else {
        return Err(CmdError::msg(format!(
            "ERR User '{}' not found",
            lossy(name)
        )));
    };
    let argv = args.rest();
    let not_found = || CmdError::msg(format!("ERR Command '{}' not found", lossy(argv[0])));
    let spec = super::rules::lookup_command(argv).ok_or_else(not_found)?;
    let argc = argv.len() as i64;
    let arity = i64::from(spec.arity);
    if (arity > 0 && argc != arity) || argc < -arity {
        return Err(args::wrong_arity(spec.full_name));
    }
    match user.check(spec, argv) {
        Ok(()) => ctx.out.ok(),
        Err(denial) => {
            let text = match denial {
                Denial::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    spec.full_name
                ),
                Denial::Key(at) => format!(
                    "This user has no permissions to access the '{}' key",
                    lossy(argv[at])
                ),
                Denial::Channel(at) => format!(
                    "This user has no permissions to access the '{}' channel",
                    lossy(argv[at])
                ),
                Denial::Auth => String::new(),
            };
            ctx.out.bulk(text.as_bytes());
        }
    }
    Ok(())
}

/// The ACL file's path: `aclfile` as given, under `dir` when relative (Redis works in `dir`).
fn acl_path(config: &crate::config::Config, file: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(file);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::path::Path::new(&config.dir).join(path)
}

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may \
                           want to specify users via the ACL SETUSER command and then issue a \
                           CONFIG REWRITE (assuming you have a Redis configuration file set) in \
                           order to store users in the Redis configuration.";

/// Reads the ACL file: its users, or Redis's error text (without the `ERR `).
pub fn read_acl_file(config: &crate::config::Config) -> Result<Option<Vec<User>>, String> {
    let Some(file) = acl_file(config) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(acl_path(config, file)).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{file}': {}",
            crate::process::os_error_text(&e)
        )
    })?;
    parse_acl_file(&text, file, pubsub_default_all(config)).map(Some)
}

pub fn load(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let users = match read_acl_file(&ctx.server.config) {
        Ok(Some(users)) => users,
        Ok(None) => return Err(CmdError::msg(NO_ACL_FILE)),
        Err(text) => return Err(CmdError::msg(format!("ERR {text}"))),
    };
    let replaced = ctx.server.acl.replace_users(users);
    kill_users_clients(ctx, &replaced);
    ctx.out.ok();
    Ok(())
}

pub fn save(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let Some(file) = acl_file(&ctx.server.config) else {
        return Err(CmdError::msg(NO_ACL_FILE));
    };
    let path = acl_path(&ctx.server.config, file);
    let text = super::acl_file_text(&ctx.server.acl);
    let mut temp = path.clone().into_os_string();
    temp.push(format!(".tmp-{}", std::process::id()));
    let written = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, &path));
    if let Err(e) = written {
        log::warn!("writing the ACL file for ACL SAVE: {e}");
        let _ = std::fs::remove_file(&temp);
        return Err(CmdError::msg(
            "ERR There was an error trying to save the ACLs. Please check the server logs for \
             more information",
        ));
    }
    ctx.out.ok();
    Ok(())
}

pub fn help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}

/// Installs the users of the configuration at start-up: `user` lines, or the ACL file (not
/// both, as Redis refuses), then `requirepass` when neither set the default user.
pub fn load_at_startup(server: &mut crate::commands::Server) -> Result<(), String> {
    let config = &server.config;
    if acl_file(config).is_some() && !config.users.is_empty() {
        return Err(
            "Configuring Redis with users defined in redis.conf and at the same setting \
                    an ACL file path is invalid. This setup is very likely to lead to \
                    configuration errors and security holes, please define either an ACL file \
                    or declare users directly in your redis.conf, but not both."
                .into(),
        );
    }
    let pubsub_all = pubsub_default_all(config);
    let lines = config.users.clone();
    super::load_configured_users(&mut server.acl, &lines, pubsub_all)?;
    match read_acl_file(&server.config) {
        Ok(Some(users)) => {
            server.acl.replace_users(users);
        }
        Ok(None) => {}
        Err(text) => return Err(format!("Aborting startup because of ACL errors: {text}")),
    }
    Ok(())
}
