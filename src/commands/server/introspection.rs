//! COMMAND and its subcommands: the command table as COMMAND INFO, DOCS, LIST and GETKEYS
//! show it.

use crate::commands::reply::help_reply;
use crate::commands::table::{
    BeginSearch, CommandSpec, FindKeys, Flags, KeyFlags, KeySpec, COMMANDS,
};
use crate::commands::{Args, CmdError, CmdResult, Ctx};
use crate::protocol::ReplyBuf;

fn command_info_entry(ctx: &mut Ctx, spec: &CommandSpec) {
    ctx.out.array(10);
    ctx.out.bulk(spec.full_name.as_bytes());
    ctx.out.int(spec.arity as i64);
    let flags: Vec<&str> = spec.flags.names().collect();
    ctx.out.set(flags.len());
    for flag in flags {
        ctx.out.simple(flag);
    }
    ctx.out.int(spec.first_key as i64);
    ctx.out.int(spec.last_key as i64);
    ctx.out.int(spec.key_step as i64);
    let cats = spec.acl_categories();
    ctx.out.set(cats.len());
    for cat in cats {
        ctx.out.simple(&cat);
    }
    // Tips, key specifications and subcommands are sets in RESP3, as Redis 7.0 sends them.
    ctx.out.set(spec.tips.len());
    for tip in spec.tips {
        ctx.out.bulk(tip.as_bytes());
    }
    ctx.out.set(spec.key_specs.len());
    for key_spec in spec.key_specs {
        key_spec_entry(ctx.out, key_spec);
    }
    ctx.out.set(spec.subcommands.len());
    for sub in spec.subcommands {
        command_info_entry(ctx, sub);
    }
}

/// A set of key-spec flag names (COMMAND INFO, COMMAND GETKEYSANDFLAGS).
fn key_flags_reply(out: &mut ReplyBuf, flags: KeyFlags) {
    let names: Vec<&str> = flags.names().collect();
    out.set(names.len());
    for name in names {
        out.simple(name);
    }
}

/// One key specification in COMMAND INFO: a map of notes (if any), flags, begin_search and
/// find_keys, each search a map of its type and its parameters.
fn key_spec_entry(out: &mut ReplyBuf, spec: &KeySpec) {
    out.map(3 + usize::from(!spec.notes.is_empty()));
    if !spec.notes.is_empty() {
        out.bulk(b"notes");
        out.bulk(spec.notes.as_bytes());
    }
    out.bulk(b"flags");
    key_flags_reply(out, spec.flags);
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match spec.begin {
        BeginSearch::Index(index) => search_spec(out, b"index", &[("index", index)]),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(start_from as i64);
        }
        BeginSearch::Unknown => search_spec(out, b"unknown", &[]),
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match spec.find {
        FindKeys::Range {
            last_key,
            step,
            limit,
        } => search_spec(
            out,
            b"range",
            &[("lastkey", last_key), ("keystep", step), ("limit", limit)],
        ),
        FindKeys::KeyNum {
            num_index,
            first_key,
            step,
        } => search_spec(
            out,
            b"keynum",
            &[
                ("keynumidx", num_index),
                ("firstkey", first_key),
                ("keystep", step),
            ],
        ),
        FindKeys::Unknown => search_spec(out, b"unknown", &[]),
    }
}

/// The rest of a search map in COMMAND INFO: its type, then its integer parameters.
fn search_spec(out: &mut ReplyBuf, kind: &[u8], params: &[(&str, i32)]) {
    out.bulk(kind);
    out.bulk(b"spec");
    out.map(params.len());
    for (name, value) in params {
        out.bulk(name.as_bytes());
        out.int(i64::from(*value));
    }
}

fn command_docs_entry(ctx: &mut Ctx, spec: &CommandSpec) {
    let has_subs = !spec.subcommands.is_empty();
    let mut args = crate::commands::docs::parse_syntax(spec.syntax);
    crate::commands::docs::link_key_specs(&mut args, spec.key_specs.len());
    ctx.out
        .map(4 + usize::from(has_subs) + usize::from(!args.is_empty()));
    ctx.out.bulk(b"summary");
    ctx.out.bulk(spec.summary.as_bytes());
    ctx.out.bulk(b"since");
    ctx.out.bulk(b"1.0.0");
    ctx.out.bulk(b"group");
    ctx.out.bulk(spec.group.as_bytes());
    ctx.out.bulk(b"complexity");
    ctx.out.bulk(spec.complexity.as_bytes());
    if !args.is_empty() {
        ctx.out.bulk(b"arguments");
        crate::commands::docs::write_args(ctx.out, &args);
    }
    if has_subs {
        ctx.out.bulk(b"subcommands");
        ctx.out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            ctx.out.bulk(sub.full_name.as_bytes());
            command_docs_entry(ctx, sub);
        }
    }
}

/// The commands named in `names` (or all), unknown names skipped or kept as `None`.
fn named_specs(names: &[&[u8]]) -> Vec<Option<&'static CommandSpec>> {
    if names.is_empty() {
        return COMMANDS.iter().map(Some).collect();
    }
    names
        .iter()
        .map(|name| {
            let text = String::from_utf8_lossy(name).to_ascii_lowercase();
            match text.split_once('|') {
                Some((parent, sub)) => crate::commands::lookup(parent.as_bytes())
                    .and_then(|p| p.subcommand(sub.as_bytes())),
                None => crate::commands::lookup(name),
            }
        })
        .collect()
}

pub fn command(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.array(COMMANDS.len());
    for spec in COMMANDS {
        command_info_entry(ctx, spec);
    }
    Ok(())
}

pub fn command_count(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.int(COMMANDS.len() as i64);
    Ok(())
}

pub fn command_info(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let specs = named_specs(args.rest());
    ctx.out.array(specs.len());
    for spec in specs {
        match spec {
            Some(spec) => command_info_entry(ctx, spec),
            // Redis answers an unknown name with a null bulk (`$-1` in RESP2).
            None => ctx.out.null(),
        }
    }
    Ok(())
}

pub fn command_docs(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let specs: Vec<&CommandSpec> = named_specs(args.rest()).into_iter().flatten().collect();
    ctx.out.map(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.full_name.as_bytes());
        command_docs_entry(ctx, spec);
    }
    Ok(())
}

pub fn command_list(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mut pattern: Option<&[u8]> = None;
    let mut category: Option<String> = None;
    if !args.is_empty() {
        if !args.eat("filterby") || args.remaining() != 2 {
            return Err(CmdError::Syntax);
        }
        if args.eat("pattern") {
            pattern = Some(args.bytes()?);
        } else if args.eat("aclcat") {
            category = Some(format!(
                "@{}",
                String::from_utf8_lossy(args.bytes()?).to_ascii_lowercase()
            ));
        } else if args.eat("module") {
            args.bytes()?;
            ctx.out.array(0);
            return Ok(());
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut names = Vec::new();
    for spec in COMMANDS {
        for candidate in std::iter::once(spec).chain(spec.subcommands.iter()) {
            let keep = pattern.is_none_or(|p| {
                crate::store::glob::matches_nocase(p, candidate.full_name.as_bytes())
            }) && category
                .as_ref()
                .is_none_or(|c| candidate.acl_categories().contains(c));
            if keep {
                names.push(candidate.full_name);
            }
        }
    }
    ctx.out.array(names.len());
    for name in names {
        ctx.out.bulk(name.as_bytes());
    }
    Ok(())
}

/// The command COMMAND GETKEYS asks about, found as Redis's `lookupCommand` does: the
/// subcommand when the command has subcommands and more than its name is given.
fn getkeys_target(argv: &[&[u8]]) -> Option<&'static CommandSpec> {
    let spec = crate::commands::lookup(argv.first()?)?;
    match argv.get(1) {
        Some(sub) if !spec.subcommands.is_empty() => spec.subcommand(sub),
        _ => Some(spec),
    }
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS, with Redis 7.0's checks in its order.
fn getkeys_reply(ctx: &mut Ctx, args: &mut Args, with_flags: bool) -> CmdResult {
    let argv = args.rest();
    let spec =
        getkeys_target(argv).ok_or_else(|| CmdError::msg("ERR Invalid command specified"))?;
    if !spec.has_keys() {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    let argc = argv.len() as i64;
    let arity = spec.arity as i64;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys = spec.keys_with_flags(argv);
    if keys.is_empty() && !spec.flags.contains(Flags::NO_MANDATORY_KEYS) {
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    ctx.out.array(keys.len());
    for (at, flags) in keys {
        let key = argv.get(at).copied().unwrap_or_default();
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(key);
            key_flags_reply(ctx.out, flags);
        } else {
            ctx.out.bulk(key);
        }
    }
    Ok(())
}

pub fn command_getkeys(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    getkeys_reply(ctx, args, false)
}

pub fn command_getkeysandflags(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    getkeys_reply(ctx, args, true)
}

pub fn command_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testing::Harness;

    #[test]
    fn command_introspection_comes_from_the_table() {
        let mut h = Harness::new();
        let count = h.text(&["command", "count"]);
        assert_eq!(
            count,
            format!(":{}\r\n", crate::commands::table::COMMANDS.len())
        );
        let info = h.text(&["command", "info", "get", "nosuch"]);
        assert!(
            info.starts_with("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n"),
            "{info}"
        );
        assert!(info.ends_with("$-1\r\n"));
        assert_eq!(
            h.text(&["command", "getkeys", "mset", "a", "1", "b", "2"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            h.text(&["command", "getkeysandflags", "zunionstore", "d", "1", "a"]),
            "*2\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n\
             *2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n"
        );
        for (args, error) in [
            (
                &["command", "getkeys", "nosuch", "a"][..],
                "Invalid command specified",
            ),
            (
                &["command", "getkeys", "client", "nosuch"],
                "Invalid command specified",
            ),
            (
                &["command", "getkeys", "ping", "a"],
                "The command has no key arguments",
            ),
            (
                &["command", "getkeys", "get", "a", "b"],
                "Invalid number of arguments specified for command",
            ),
            (
                &["command", "getkeys", "zunion", "0", "a"],
                "Invalid arguments specified for command",
            ),
        ] {
            assert_eq!(h.text(args), format!("-ERR {error}\r\n"), "{args:?}");
        }
        let docs = h.text(&["command", "docs", "set"]);
        assert!(
            docs.contains("summary") && docs.contains("$5\r\ntoken\r\n$2\r\nEX\r\n"),
            "{docs}"
        );
    }
}
