//! CONFIG GET, SET, RESETSTAT, REWRITE.

use crate::commands::args::is_keyword;
use crate::commands::reply::help_reply;
use crate::commands::{Args, CmdError, CmdResult, Ctx};
use crate::config::{Config, ConfigError};
use std::fmt::Write as _;

pub fn config_get(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let patterns = args.rest();
    let found = ctx.server.config.get_matching(patterns);
    ctx.out.map(found.len());
    for (name, value) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

/// The value CONFIG SET gives `requirepass` is a secret.
pub fn config_set_redacted(argv: &[&[u8]], index: usize) -> bool {
    index >= 3 && index % 2 == 1 && is_keyword(argv[index - 1], "requirepass")
}

pub fn config_set(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
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
    let mut result = ctx.server.config.set_many(&refs, allow_protected);
    if result.is_ok() {
        result = apply_oom_score(&before, &ctx.server.config);
        if result.is_err() {
            // Applying failed: every parameter of the call goes back, as in Redis.
            ctx.server.config = before;
        }
    }
    match result {
        Ok(()) => {
            crate::commands::sync_store_settings(ctx.ks, &ctx.server.config);
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

pub fn config_resetstat(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let connected = ctx.server.stats.connected_clients;
    ctx.server.stats = Default::default();
    ctx.server.stats.connected_clients = connected;
    ctx.server.command_stats = Default::default();
    ctx.ks.stats = Default::default();
    ctx.out.ok();
    Ok(())
}

pub fn config_rewrite(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let Some(path) = ctx.server.config.config_file.clone() else {
        return Err(CmdError::msg(
            "ERR The server is running without a config file",
        ));
    };
    let mut text = String::from("# Written by CONFIG REWRITE\n");
    for (name, value) in ctx.server.config.get_matching(&[b"*"]) {
        // Not a replica: Redis writes no `replicaof` line, and an empty one would not load.
        if matches!(name, "replicaof" | "slaveof") && value.is_empty() {
            continue;
        }
        let _ = writeln!(
            text,
            "{name} \"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        );
    }
    std::fs::write(&path, text)
        .map_err(|e| CmdError::msg(format!("ERR Rewriting config file: {e}")))?;
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
