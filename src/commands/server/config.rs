//! CONFIG GET, SET, RESETSTAT, REWRITE.

use crate::commands::args::is_keyword;
use crate::commands::reply::help_reply;
use crate::commands::{Args, CmdError, CmdResult, Ctx};
use crate::config::{Config, ConfigError};

pub fn config_get(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let patterns = args.rest();
    let found = ctx.server.config.get_matching(patterns);
    ctx.out.map(found.len());
    for (name, value) in found {
        // A parameter first named exactly (no glob characters) is listed as it was typed,
        // as Redis lists it: `CONFIG GET MAXMEMORY` answers `MAXMEMORY`.
        let first = patterns.iter().find(|pat| {
            pat.eq_ignore_ascii_case(name.as_bytes())
                || crate::store::glob::matches_nocase(pat, name.as_bytes())
        });
        let shown = match first {
            Some(pat) if !pat.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) => pat,
            _ => name.as_bytes(),
        };
        ctx.out.bulk(shown);
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

/// The values CONFIG SET gives Redis's sensitive parameters (`requirepass`, `masterauth`,
/// `masteruser`) are secrets.
pub fn config_set_redacted(argv: &[&[u8]], index: usize) -> bool {
    index >= 3
        && index % 2 == 1
        && ["requirepass", "masterauth", "masteruser"]
            .iter()
            .any(|name| is_keyword(argv[index - 1], name))
}

pub fn config_set(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    // Redis answers an odd count of arguments (past the arity check) with a syntax error.
    if !args.remaining().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(String, String)> = args
        .pairs()?
        .into_iter()
        .map(|(name, value)| {
            (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let allow_protected = ctx
        .server
        .config
        .enable_protected_configs
        .allows(&ctx.client.addr);
    let before = ctx.server.config.clone();
    let result = ctx
        .server
        .config
        .set_many(&refs, allow_protected)
        .and_then(|()| {
            // Applying may still fail; then every parameter of the call goes back, as in Redis.
            apply_oom_score(&before, &ctx.server.config)
                .and_then(|()| apply_dir(&before, &ctx.server.config))
                .and_then(|()| apply_listeners(ctx, &before, &refs))
                .inspect_err(|_| {
                    // What was already applied goes back with the parameters: the OOM score.
                    let _ = apply_oom_score(&ctx.server.config, &before);
                    let _ = apply_dir(&ctx.server.config, &before);
                    ctx.server.config = before.clone();
                })
        });
    match result {
        Ok(()) => {
            if before.requirepass != ctx.server.config.requirepass {
                let password = ctx.server.config.requirepass.clone();
                ctx.server
                    .acl
                    .set_default_password(password.as_deref().map(str::as_bytes));
            }
            if before.loglevel != ctx.server.config.loglevel {
                log::set_max_level(ctx.server.config.log_filter());
            }
            if before.jemalloc_bg_thread != ctx.server.config.jemalloc_bg_thread {
                crate::memory::set_background_thread(ctx.server.config.jemalloc_bg_thread);
            }
            crate::commands::sync_store_settings(ctx.ks, &ctx.server.config);
            ctx.server
                .eviction
                .set_policy(&ctx.server.config.maxmemory_policy);
            if before.maxmemory != ctx.server.config.maxmemory {
                crate::commands::eviction::after_maxmemory_set(ctx.ks, ctx.server);
            }
            ctx.out.ok();
            Ok(())
        }
        Err((_, e @ ConfigError::Unknown(_))) => Err(CmdError::msg(format!("ERR {e}"))),
        Err((name, e)) => Err(CmdError::msg(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
        ))),
    }
}

/// Sets the process's OOM score when `oom-score-adj` or its values changed (Redis's
/// `updateOOMScoreAdj` apply step); an error names `oom-score-adj`.
fn apply_oom_score(before: &Config, after: &Config) -> Result<(), (String, ConfigError)> {
    if before.oom_score_adj == after.oom_score_adj
        && before.oom_score_adj_values == after.oom_score_adj_values
    {
        return Ok(());
    }
    crate::process::set_oom_score_adj(after.oom_score_target()).map_err(|e| {
        log::warn!("{e}");
        (
            "oom-score-adj".to_string(),
            ConfigError::Invalid("Failed to set current oom_score_adj. Check server logs.".into()),
        )
    })
}

/// Moves the process's working directory when `dir` changed (Redis's `chdir`).
fn apply_dir(before: &Config, after: &Config) -> Result<(), (String, ConfigError)> {
    if before.dir == after.dir {
        return Ok(());
    }
    std::env::set_current_dir(&after.dir).map_err(|e| {
        (
            "dir".to_string(),
            ConfigError::Invalid(crate::process::os_error_text(&e)),
        )
    })
}

/// Moves the TCP listeners when `bind` or `port` changed (Redis's apply step for them): the
/// old ones keep listening if the new ones cannot. The error names whichever of the two the
/// call gave first, with Redis's words for it.
fn apply_listeners(
    ctx: &mut Ctx,
    before: &Config,
    pairs: &[(&str, &str)],
) -> Result<(), (String, ConfigError)> {
    let after = &ctx.server.config;
    if before.bind == after.bind && before.port == after.port {
        return Ok(());
    }
    let Some(listeners) = ctx.server.listeners.as_mut() else {
        ctx.server.tcp_port = after.port;
        return Ok(());
    };
    match listeners.listen(&after.bind, after.port, after.tcp_backlog) {
        Ok(()) => {
            ctx.server.tcp_port = after.port;
            Ok(())
        }
        Err(reason) => {
            log::warn!("CONFIG SET bind/port: {reason}");
            let port_changed = before.port != after.port;
            let port_first = pairs
                .iter()
                .find(|(name, _)| {
                    name.eq_ignore_ascii_case("bind")
                        || (port_changed && name.eq_ignore_ascii_case("port"))
                })
                .is_some_and(|(name, _)| name.eq_ignore_ascii_case("port"));
            Err(if port_first {
                (
                    "port".into(),
                    ConfigError::Invalid(
                        "Unable to listen on this port. Check server logs.".into(),
                    ),
                )
            } else {
                (
                    "bind".into(),
                    ConfigError::Invalid("Failed to bind to specified addresses.".into()),
                )
            })
        }
    }
}

pub fn config_resetstat(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let connected = ctx.server.stats.connected_clients;
    ctx.server.stats = Default::default();
    ctx.server.stats.connected_clients = connected;
    ctx.server.command_stats = Default::default();
    ctx.ks.stats = Default::default();
    if let Some(lazyfree) = &ctx.server.lazyfree {
        lazyfree.reset_freed();
    }
    ctx.server.eviction.reset_stats();
    ctx.out.ok();
    Ok(())
}

pub fn config_rewrite(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    rewrite_config_file(ctx, false)
}

/// The `user` lines of a rewritten file, as Redis writes them: with an `aclfile` none (the
/// users live there); otherwise one per user, taking the places of the old lines, the rest
/// appended.
fn rewrite_user_lines(
    text: &str,
    acl: &crate::commands::acl::Acl,
    config: &crate::config::Config,
) -> String {
    let mut users: std::collections::VecDeque<String> =
        if crate::commands::acl::acl_file(config).is_some() {
            Default::default()
        } else {
            acl.users().map(|u| u.describe_line()).collect()
        };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let is_user = line
            .split_whitespace()
            .next()
            .is_some_and(|word| word.eq_ignore_ascii_case("user"));
        if !is_user {
            out.push_str(line);
            out.push('\n');
        } else if let Some(user) = users.pop_front() {
            out.push_str(&user);
            out.push('\n');
        }
    }
    for user in users {
        out.push_str(&user);
        out.push('\n');
    }
    out
}

/// Rewrites the config file by Redis's rules; `every_parameter` writes defaults too (DEBUG
/// CONFIG-REWRITE-FORCE-ALL).
pub fn rewrite_config_file(ctx: &mut Ctx, every_parameter: bool) -> CmdResult {
    let Some(path) = ctx.server.config.config_file.clone() else {
        return Err(CmdError::msg(
            "ERR The server is running without a config file",
        ));
    };
    let failed = |e: std::io::Error| CmdError::msg(format!("ERR Rewriting config file: {e}"));
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        // Redis writes a new file when the old one is gone.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(failed(e)),
    };
    let text = if every_parameter {
        ctx.server.config.rewrite_every_parameter(&old)
    } else {
        ctx.server.config.rewrite(&old)
    };
    let text = rewrite_user_lines(&text, &ctx.server.acl, &ctx.server.config);
    // Written beside and renamed over, so a crash never leaves half a file.
    let temp = format!("{path}.rewrite.{}", std::process::id());
    std::fs::write(&temp, text)
        .and_then(|()| std::fs::rename(&temp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            failed(e)
        })?;
    ctx.out.ok();
    Ok(())
}

pub fn config_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn config_get_set_errors_match_redis() {
        let mut h = Harness::new();
        h.assert_replies(&[
            (&["config", "set", "maxmemory", "abc"], "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"),
            (&["config", "set", "foo", "1"], "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"),
            (&["config", "set", "maxmemory", "10mb"], "+OK\r\n"),
            (&["config", "get", "maxmemory"], "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"),
            (&["config", "get", "save", "appendonly"], "*4\r\n$4\r\nsave\r\n$23\r\n3600 1 300 100 60 10000\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"),
            (&["config", "set", "maxmemory", "1", "hz", "5", "maxmemory", "2"], "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter\r\n"),
            (&["config", "set", "hash-max-ziplist-entries", "1", "HASH-MAX-ZIPLIST-ENTRIES", "2"], "-ERR CONFIG SET failed (possibly related to argument 'HASH-MAX-ZIPLIST-ENTRIES') - duplicate parameter\r\n"),
            (&["config", "set", "hz", "5", "daemonize", "yes", "nosuch", "1"], "-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config\r\n"),
            (&["config", "set", "dir", "/tmp"], "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n"),
            (&["config", "set", "maxmemory", "1", "hash-max-ziplist-value", "x"], "-ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-value') - argument must be a memory value\r\n"),
            (&["config", "get", "maxmemory", "hz"], "*4\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n$2\r\nhz\r\n$2\r\n10\r\n"),
        ]);
    }
}
