//! MODULE: Redis's module commands. Reddish's own types are built in and it loads no Redis
//! modules (their API is Redis's C internals), so none is ever loaded: LIST is empty, and
//! LOAD fails the way Redis fails a module it cannot load, with the reason in the log.

use crate::commands::reply::help_reply;
use crate::commands::{Args, CmdError, CmdResult, Ctx};

pub fn module_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    help_reply(
        ctx,
        "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
        ],
    );
    Ok(())
}

/// MODULE LIST: the modules loaded, none.
pub fn module_list(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

/// MODULE LOAD path [arg ...] and MODULE LOADEX path [CONFIG name value ...] [ARGS ...].
pub fn module_load(_ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let path = args.bytes()?;
    log::warn!(
        "Module {} failed to load: Reddish does not load Redis modules",
        String::from_utf8_lossy(path)
    );
    Err(CmdError::msg(
        "ERR Error loading the extension. Please check the server logs.",
    ))
}

/// MODULE UNLOAD name: no module has that name, as none is loaded.
pub fn module_unload(_ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    Err(CmdError::msg(
        "ERR Error unloading module: no such module with that name",
    ))
}
