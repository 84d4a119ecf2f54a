//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT; FUNCTION and FCALL in
//! [`functions`].
//!
//! One Lua 5.1 state per server ([`engine::Engine`], made on first use), sandboxed as Redis 7.0
//! sandboxes its own. A script's `redis.call`s run through [`crate::commands::call`], the path
//! every client command takes, so their effects reach persistence (in the batch of the EVAL,
//! as the script runs inside one command), keyspace notifications, WATCH, blocked clients and
//! MONITOR exactly as if a client had sent them.

mod convert;
mod engine;
pub mod functions;
mod ldb;
mod libs;

use super::{Args, CmdError, CmdResult, CommandSpec, Ctx};
use crate::commands::ClientState;
use crate::store::FastMap;
use engine::{Engine, Running};
pub use ldb::DebugMode;
use mlua::Value;

/// The flags a script declares in its shebang (`#!lua flags=no-writes,allow-oom`), or a
/// function in `register_function`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// Refuses write commands (and is allowed where writes are not, as EVAL_RO).
    pub no_writes: bool,
    /// May run commands that use memory over `maxmemory`.
    pub allow_oom: bool,
    /// Flags that change nothing here (no replicas to be stale, no cluster), kept because
    /// FUNCTION LIST shows them as given.
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
    /// The script had a shebang (Redis applies the newer rules to such scripts).
    pub shebang: bool,
}

/// A compiled EVAL script.
struct Script {
    /// Held in the Lua registry, not as a `Function`: each live mlua handle takes a slot of a
    /// Lua 5.1 stack limited to 8,000, which a cache of that many scripts would exhaust.
    function: mlua::RegistryKey,
    flags: ScriptFlags,
}

/// The scripting state of a server: the Lua state (made on first use) and the scripts.
#[derive(Default)]
pub struct Scripting {
    engine: Option<Engine>,
    /// EVAL's script cache, by lower-case SHA1 of the body.
    /// Shared so that a run holds its script without cloning its Lua handle.
    scripts: FastMap<[u8; 40], std::rc::Rc<Script>>,
    /// The function libraries (FUNCTION LOAD).
    pub libraries: functions::Libraries,
    /// The script running past `busy-reply-threshold`, while other clients are served
    /// between its steps.
    pub busy: Option<BusyScript>,
}

/// A script running past `busy-reply-threshold`: other clients are served between its steps
/// and refused with `-BUSY`, but for the commands flagged `allow-busy` (SCRIPT KILL,
/// FUNCTION KILL, SHUTDOWN NOSAVE ...).
#[derive(Debug)]
pub struct BusyScript {
    /// Run by EVAL (SCRIPT KILL stops it) rather than FCALL (FUNCTION KILL does).
    pub eval: bool,
    /// The function's name, or the script's SHA1.
    pub name: String,
    /// The command that runs it, for FUNCTION STATS.
    pub command: Vec<Vec<u8>>,
    pub started: std::time::Instant,
    /// It wrote: it can no longer be killed.
    pub wrote: bool,
    /// SCRIPT KILL or FUNCTION KILL asked it to stop.
    pub killed: bool,
}

impl BusyScript {
    /// What a refused command gets.
    pub fn refusal(&self) -> &'static str {
        if self.eval {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        }
    }
}

const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// Called between a script's steps once it ran past `busy-reply-threshold`: notes it as
/// busy (logged once, as Redis does), serves the other clients once, and tells whether it
/// may go on: not killed, and no SHUTDOWN NOSAVE.
fn while_busy(running: &mut Running) -> bool {
    let ctx = &mut *running.ctx;
    let first = ctx.server.scripting.busy.is_none();
    let busy = ctx.server.scripting.busy.get_or_insert_with(|| {
        log::warn!(
            "Slow script detected: still in execution after {} milliseconds. You can try \
             killing the script using the {} command. Script name is: {}.",
            running.started.elapsed().as_millis(),
            if running.eval {
                "SCRIPT KILL"
            } else {
                "FUNCTION KILL"
            },
            running.label
        );
        BusyScript {
            eval: running.eval,
            name: running.label.to_owned(),
            command: running.command.iter().map(|arg| arg.to_vec()).collect(),
            started: running.started,
            wrote: false,
            killed: false,
        }
    });
    busy.wrote = running.wrote;
    if !busy.killed && ctx.server.shutdown.is_none() {
        ctx.clients.serve_while_busy(ctx.ks, ctx.server, first);
    }
    let killed = ctx.server.scripting.busy.as_ref().is_some_and(|b| b.killed);
    !killed && ctx.server.shutdown.is_none()
}

/// SCRIPT KILL (`eval`) and FUNCTION KILL: Redis's checks, in its order.
fn kill_busy_script(ctx: &mut Ctx, eval: bool) -> CmdResult {
    let Some(busy) = ctx.server.scripting.busy.as_mut() else {
        return Err(CmdError::msg("NOTBUSY No scripts in execution right now."));
    };
    if busy.wrote {
        return Err(CmdError::msg(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. \
             You can either wait the script termination or kill the server in a hard way using \
             the SHUTDOWN NOSAVE command.",
        ));
    }
    if eval != busy.eval {
        return Err(CmdError::msg(busy.refusal()));
    }
    busy.killed = true;
    ctx.out.ok();
    Ok(())
}

impl Scripting {
    /// Scripts in EVAL's cache (INFO's `number_of_cached_scripts`).
    pub fn cached_scripts(&self) -> usize {
        self.scripts.len()
    }

    /// The Lua state, made now if this is the first script.
    fn engine(&mut self, config: &crate::config::Config, seed: u64) -> Result<&Engine, CmdError> {
        if self.engine.is_none() {
            let engine = Engine::new(config, seed)
                .map_err(|e| CmdError::msg(format!("ERR Failed to start Lua: {e}")))?;
            self.engine = Some(engine);
        }
        self.engine
            .as_ref()
            .ok_or_else(|| CmdError::msg("ERR Lua is not available"))
    }
}

/// SHA1 of `body` as 40 lower-case hex digits.
fn sha1_hex(body: &[u8]) -> [u8; 40] {
    let digest = sha1_smol::Sha1::from(body).digest().bytes();
    let mut hex = [0u8; 40];
    for (i, byte) in digest.iter().enumerate() {
        hex[i * 2] = HEX[(byte >> 4) as usize];
        hex[i * 2 + 1] = HEX[(byte & 15) as usize];
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `sha` lower-cased, if it has the length of one.
fn sha_key(sha: &[u8]) -> Option<[u8; 40]> {
    let mut key: [u8; 40] = sha.try_into().ok()?;
    key.make_ascii_lowercase();
    Some(key)
}

/// Reads an EVAL shebang (`#!lua flags=...` on the first line): the flags, and the body to
/// compile (the shebang line emptied, so line numbers stay those of the source).
fn shebang(source: &[u8]) -> Result<(ScriptFlags, &[u8]), CmdError> {
    if !source.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), source));
    }
    let Some(end) = memchr::memchr(b'\n', source) else {
        return Err(CmdError::msg("ERR Invalid script shebang"));
    };
    let line = String::from_utf8_lossy(&source[..end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or_default();
    if engine != "#!lua" {
        return Err(CmdError::msg(format!(
            "ERR Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut flags = ScriptFlags {
        shebang: true,
        ..Default::default()
    };
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(CmdError::msg(format!(
                "ERR Unknown lua shebang option: {part}"
            )));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            apply_flag(&mut flags, flag).map_err(|_| {
                CmdError::msg(format!("ERR Unexpected flag in script shebang: {flag}"))
            })?;
        }
    }
    Ok((flags, &source[end..]))
}

/// Whether a script-running command (`argv`, of `spec`: EVAL, EVALSHA, FCALL) may write, as
/// Redis's `evalGetCommandFlags` and `fcallGetCommandFlags` tell CLIENT PAUSE WRITE and MULTI:
/// a script with flags may write unless they say `no-writes`; one without a shebang, or one
/// not found, may write.
pub fn may_write(server: &crate::commands::Server, spec: &CommandSpec, argv: &[&[u8]]) -> bool {
    match declared_flags(server, spec.name, argv) {
        Some(flags) => !flags.no_writes,
        None => true,
    }
}

/// The flags a script-running request declares, as Redis reads them before the command runs
/// (its `evalGetCommandFlags`): the function's, the cached script's for EVALSHA, the shebang's
/// for EVAL. `None` when nothing is declared (a script without a shebang runs as Redis 6's
/// did) or the script is not known.
fn declared_flags(
    server: &crate::commands::Server,
    command: &str,
    argv: &[&[u8]],
) -> Option<ScriptFlags> {
    let &source = argv.get(1)?;
    match command.trim_end_matches("_ro") {
        "fcall" => server.scripting.libraries.function_flags(source),
        "evalsha" => sha_key(source)
            .and_then(|sha| server.scripting.scripts.get(&sha))
            .map(|script| script.flags)
            .filter(|flags| flags.shebang),
        _ => shebang(source)
            .ok()
            .map(|(flags, _)| flags)
            .filter(|flags| flags.shebang),
    }
}

/// What Redis does before a script-running command's own work: the `maxmemory` refusal of a
/// script whose flags do not allow it (taken before the command runs, so MONITOR does not see
/// it), then MONITOR's line, ahead of the commands the script runs and of any error of its
/// own (a script that does not compile, a missing function...). `command` is the table's
/// name of the command running (`eval`, `evalsha`, `fcall`), whatever name the client used
/// (`rename-command`).
pub(super) fn before_script_command(ctx: &mut Ctx, command: &str, argv: &[&[u8]]) -> CmdResult {
    if let Some(flags) = declared_flags(ctx.server, command, argv) {
        refuse_out_of_memory(ctx, &flags)?;
    }
    show_to_monitors(ctx, argv);
    Ok(())
}

/// Sets the flag named `name`; `Err` for a name Redis does not know.
fn apply_flag(flags: &mut ScriptFlags, name: &str) -> Result<(), ()> {
    match name {
        "no-writes" => flags.no_writes = true,
        "allow-oom" => flags.allow_oom = true,
        "allow-stale" => flags.allow_stale = true,
        "no-cluster" => flags.no_cluster = true,
        "allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
        _ => return Err(()),
    }
    Ok(())
}

/// Some arguments of a command.
type Arguments<'a> = &'a [&'a [u8]];

/// The keys and arguments after a script (`numkeys key... arg...`), checked as Redis does.
fn keys_and_args<'a>(
    args: &mut Args<'a>,
    not_a_number: &'static str,
) -> Result<(Arguments<'a>, Arguments<'a>), CmdError> {
    let numkeys = args.int().map_err(|_| CmdError::msg(not_a_number))?;
    let rest = args.rest();
    if numkeys > rest.len() as i64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CmdError::msg("ERR Number of keys can't be negative"));
    }
    Ok(rest.split_at(numkeys as usize))
}

/// Compiles an EVAL body into the cache (if it is not there) and returns its SHA1.
fn load_script(ctx: &mut Ctx, source: &[u8]) -> Result<[u8; 40], CmdError> {
    let sha = sha1_hex(source);
    if ctx.server.scripting.scripts.contains_key(&sha) {
        return Ok(sha);
    }
    let (flags, body) = shebang(source)?;
    let seed = rand::Rng::gen(&mut ctx.server.rng);
    let engine = ctx.server.scripting.engine(&ctx.server.config, seed)?;
    let function = engine
        .compile(body, "@user_script")
        .and_then(|function| engine.lua.create_registry_value(function))
        .map_err(|e| {
            CmdError::msg(format!(
                "ERR Error compiling script (new function): {}",
                lua_error_text(&e)
            ))
        })?;
    ctx.server
        .scripting
        .scripts
        .insert(sha, std::rc::Rc::new(Script { function, flags }));
    Ok(sha)
}

/// The message of a Lua error, without mlua's decoration.
fn lua_error_text(error: &mlua::Error) -> String {
    match error {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(message) | mlua::Error::MemoryError(message) => message.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_error_text(cause),
        mlua::Error::ExternalError(e) => e.to_string(),
        other => other.to_string(),
    }
}

pub fn eval(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

pub fn evalsha(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

pub fn eval_ro(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

pub fn evalsha_ro(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

fn eval_generic(ctx: &mut Ctx, args: &mut Args, by_sha: bool, read_only: bool) -> CmdResult {
    before_script_command(ctx, if by_sha { "evalsha" } else { "eval" }, args.argv())?;
    let source = args.bytes()?;
    if let Some(mode) = ctx.client.lua_debug.filter(|_| !ctx.client.in_multi) {
        if by_sha {
            let text = if source.len() == 40 {
                "ERR Please use EVAL instead of EVALSHA for debugging"
            } else {
                "NOSCRIPT No matching script. Please use EVAL."
            };
            return Err(CmdError::msg(text));
        }
        return eval_debugged(ctx, args, source, mode, read_only);
    }
    let (keys, argv) = keys_and_args(args, "ERR value is not an integer or out of range")?;
    let sha = if by_sha {
        sha_key(source)
            .filter(|sha| ctx.server.scripting.scripts.contains_key(sha))
            .ok_or_else(|| CmdError::msg("NOSCRIPT No matching script. Please use EVAL."))?
    } else {
        load_script(ctx, source)?
    };
    run_cached(ctx, args.argv(), &sha, (keys, argv), read_only, None)
}

/// Runs the cached script `sha` for EVAL/EVALSHA `command` (in a debugging session when
/// `debug` is given): Redis's checks of its flags, MONITOR, then the run.
fn run_cached(
    ctx: &mut Ctx,
    command: &[&[u8]],
    sha: &[u8; 40],
    (keys, argv): (&[&[u8]], &[&[u8]]),
    read_only: bool,
    debug: Option<&mut ldb::Session>,
) -> CmdResult {
    let Some(script) = ctx.server.scripting.scripts.get(sha).cloned() else {
        return Err(CmdError::msg(
            "NOSCRIPT No matching script. Please use EVAL.",
        ));
    };
    let mut flags = script.flags;
    flags.no_writes |= read_only;
    // A cached script's key is 40 lowercase hex digits, so this never falls back (and costs
    // no allocation on every EVALSHA).
    let label = std::str::from_utf8(sha).unwrap_or("?");
    let invocation = Invocation {
        function: &script.function,
        is_function: false,
        flags,
        label,
        command,
        debug,
    };
    run_script(ctx, invocation, keys, argv)
}

/// EVAL of a client that asked for SCRIPT DEBUG YES or SYNC: the script runs in a debugging
/// session (see [`ldb`]) that ends, whatever happens, with `<endsession>` before the reply
/// and the connection closed after it, as in Redis.
fn eval_debugged(
    ctx: &mut Ctx,
    args: &mut Args,
    source: &[u8],
    mode: DebugMode,
    read_only: bool,
) -> CmdResult {
    log::warn!(
        "{}",
        match mode {
            DebugMode::Sync => "Redis synchronous debugging eval session started",
            DebugMode::Yes => "Lua debugging session started (its changes are undone at its end)",
        }
    );
    let mut session = ldb::Session::new(mode, source);
    let result = (|| {
        let (keys, argv) = keys_and_args(args, "ERR value is not an integer or out of range")?;
        let sha = load_script(ctx, source)?;
        run_cached(
            ctx,
            args.argv(),
            &sha,
            (keys, argv),
            read_only,
            Some(&mut session),
        )
    })();
    // The run ended the session before its reply; an EVAL refused before running ends it here.
    ldb::end_session(ctx, &mut session);
    result
}

/// Redis's rule for scripts that declare flags (a shebang, or any function): over
/// `maxmemory` (once eviction has done what it can), only one flagged `allow-oom` or
/// `no-writes` may start.
pub(super) fn refuse_out_of_memory(ctx: &Ctx, flags: &ScriptFlags) -> CmdResult {
    if flags.allow_oom
        || flags.no_writes
        || !crate::commands::eviction::over_limit(ctx.ks, ctx.server)
    {
        return Ok(());
    }
    Err(CmdError::msg(
        "OOM command not allowed when used memory > 'maxmemory'.",
    ))
}

/// Feeds a script-running command to MONITOR before the commands it runs (its row is
/// `skip_monitor`, so [`crate::commands::call`] does not feed it after).
fn show_to_monitors(ctx: &mut Ctx, argv: &[&[u8]]) {
    if ctx.server.monitors.is_empty() {
        return;
    }
    if let Some(spec) = argv.first().and_then(|name| crate::commands::lookup(name)) {
        crate::commands::server::admin::feed_monitors(ctx, spec, argv);
    }
}

/// What runs: an EVAL chunk or a function's callback, and how it was called.
pub(super) struct Invocation<'a> {
    /// The script or callback, where the Lua registry keeps it.
    pub function: &'a mlua::RegistryKey,
    /// A function's callback (called with KEYS and ARGV), not an EVAL chunk.
    pub is_function: bool,
    pub flags: ScriptFlags,
    /// The SHA1 or the function's name, as errors and FUNCTION STATS name it.
    pub label: &'a str,
    /// The command that runs it.
    pub command: &'a [&'a [u8]],
    /// The debugging session it runs in (EVAL after SCRIPT DEBUG YES or SYNC).
    pub debug: Option<&'a mut ldb::Session>,
}

/// Runs a compiled script with its KEYS and ARGV, and writes its result or error as the
/// reply.
fn run_script(ctx: &mut Ctx, invocation: Invocation, keys: &[&[u8]], argv: &[&[u8]]) -> CmdResult {
    let Invocation {
        function,
        is_function,
        flags,
        label,
        command,
        debug,
    } = invocation;
    let seed = rand::Rng::gen(&mut ctx.server.rng);
    let failed = |e: mlua::Error| CmdError::msg(format!("ERR {}", lua_error_text(&e)));
    // A debugged script stops at its time limit for its client (see `ldb`) rather than
    // turning busy.
    let limit = script_time_limit(&ctx.server.config).filter(|_| debug.is_none());
    ctx.server
        .scripting
        .engine(&ctx.server.config, seed)
        .map(drop)?;
    if ctx.client.acl_epoch != ctx.server.acl.epoch() {
        crate::commands::acl::refresh_client(&ctx.server.acl, ctx.client);
    }
    let mut running = Running {
        client: ClientState {
            id: u64::MAX,
            db: ctx.client.db,
            authenticated: true,
            // The script's commands are checked as its caller's.
            user: ctx.client.user.clone(),
            acl_epoch: ctx.client.acl_epoch,
            acl_unrestricted: ctx.client.acl_unrestricted,
            in_multi: true,
            in_script: true,
            // MONITOR shows "lua" for a script's commands (see `in_script`).
            addr: String::new(),
            ..Default::default()
        },
        ctx,
        resp3: false,
        flags,
        eval: !is_function,
        label,
        command,
        started: std::time::Instant::now(),
        wrote: false,
        read: false,
        reply: crate::protocol::ReplyBuf::default(),
        debug,
    };
    // The engine exists: it was made above; its handle is cheap to clone (one state).
    let outcome = {
        let Some(engine) = running.ctx.server.scripting.engine.take() else {
            return Err(CmdError::msg("ERR Lua is not available"));
        };
        let outcome = if running.debug.is_none() {
            engine.run(&mut running, function, is_function, (keys, argv), limit)
        } else {
            if let Some(session) = running.debug.as_deref_mut() {
                session.set_lua(engine.lua.clone());
            }
            engine.with_debugger(|| {
                engine.run(&mut running, function, is_function, (keys, argv), limit)
            })
        };
        let stopped_at = engine.stopped_at();
        running.ctx.server.scripting.engine = Some(engine);
        running.ctx.server.scripting.busy = None;
        if let Some(place) = stopped_at {
            // SHUTDOWN NOSAVE ended it: as Redis, which exits there, the caller gets no reply.
            if running.ctx.server.shutdown.is_some() {
                return Ok(());
            }
            // Stopped by SCRIPT KILL or FUNCTION KILL; Redis names SCRIPT KILL in both.
            return Err(CmdError::msg(format!(
                "ERR Script killed by user with SCRIPT KILL... script: {label}, on {place}."
            )));
        }
        outcome
    };
    let resp3 = running.resp3;
    let read = running.read;
    let debug = running.debug.take();
    let ctx = running.ctx;
    if let Some(session) = debug {
        // `<endsession>` goes out before the script's reply.
        ldb::end_session(ctx, session);
    }
    if read && ctx.server.tracking.is_on() {
        crate::commands::tracking::remember_script_keys(ctx, keys);
    }
    match outcome {
        Err(e) => Err(failed(e)),
        Ok(Ok(value)) => {
            if let Some(text) = convert::error_of(&value) {
                return Err(script_error(&value, text));
            }
            convert::lua_to_reply(&value, ctx.out, resp3);
            Ok(())
        }
        Ok(Err(error)) => Err(script_error(&error, script_error_text(&error, label))),
    }
}

/// A script's error reply: not counted again when it is the error of a command the script
/// called (`redis.call`/`redis.pcall` marked its table so), as in Redis.
fn script_error(table: &Value, text: Vec<u8>) -> CmdError {
    let counted = match table {
        Value::Table(table) => {
            let field = engine::COUNTED_ERROR_FIELD.to_str().unwrap_or_default();
            matches!(table.raw_get::<Value>(field), Ok(Value::Boolean(true)))
        }
        _ => false,
    };
    if counted {
        CmdError::Counted(text)
    } else {
        CmdError::Bytes(text)
    }
}

/// How long a script may run before it is stopped: `busy-reply-threshold` (`lua-time-limit`),
/// 0 for no limit.
fn script_time_limit(config: &crate::config::Config) -> Option<std::time::Duration> {
    let ms: u64 = config
        .inert
        .get("busy-reply-threshold")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    (ms > 0).then(|| std::time::Duration::from_millis(ms))
}

/// The reply text of an error a script raised: its message and, when known, where it was
/// raised, in Redis's words (`ERR ... script: <sha>, on @user_script:1.`).
fn script_error_text(error: &Value, label: &str) -> Vec<u8> {
    let Value::Table(table) = error else {
        return b"ERR unknown error".to_vec();
    };
    let mut text = match table.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.as_bytes().to_vec(),
        _ => return b"ERR unknown error".to_vec(),
    };
    let source = table.raw_get::<Value>("source").ok();
    let line = table.raw_get::<Value>("line").ok();
    match (source, line) {
        (Some(Value::String(source)), Some(line @ (Value::Integer(_) | Value::Number(_)))) => {
            let line = match line {
                Value::Integer(n) => n,
                Value::Number(n) => n as i64,
                _ => 0,
            };
            text.extend_from_slice(format!(" script: {label}, on ").as_bytes());
            text.extend_from_slice(&source.as_bytes());
            text.extend_from_slice(format!(":{line}.").as_bytes());
            text
        }
        _ => text,
    }
}

pub fn script_load(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let source = args.bytes()?;
    let sha = load_script(ctx, source)?;
    ctx.out.bulk(&sha);
    Ok(())
}

pub fn script_exists(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let shas = args.rest();
    ctx.out.array(shas.len());
    for sha in shas {
        let found = sha_key(sha).is_some_and(|sha| ctx.server.scripting.scripts.contains_key(&sha));
        ctx.out.int(found as i64);
    }
    Ok(())
}

pub fn script_flush(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if let Some(mode) = args.peek() {
        if !(mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async"))
            || args.remaining() > 1
        {
            return Err(CmdError::msg(
                "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
            ));
        }
    }
    ctx.server.scripting.scripts.clear();
    ctx.out.ok();
    Ok(())
}

pub fn script_kill(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    kill_busy_script(ctx, true)
}

pub(super) fn function_kill(ctx: &mut Ctx) -> CmdResult {
    kill_busy_script(ctx, false)
}

/// SCRIPT DEBUG YES|SYNC|NO: whether this client's next EVAL runs in a debugging session
/// (see [`ldb`]).
pub fn script_debug(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mode = args.bytes()?;
    // The session's lines go straight to the client: replies still waiting would mix in.
    if !ctx.out.is_empty() {
        return Err(CmdError::msg(
            "ERR SCRIPT DEBUG must be called outside a pipeline",
        ));
    }
    ctx.client.lua_debug = if mode.eq_ignore_ascii_case(b"no") {
        None
    } else if mode.eq_ignore_ascii_case(b"yes") {
        Some(DebugMode::Yes)
    } else if mode.eq_ignore_ascii_case(b"sync") {
        Some(DebugMode::Sync)
    } else {
        return Err(CmdError::msg("ERR Use SCRIPT DEBUG YES/SYNC/NO"));
    };
    ctx.out.ok();
    Ok(())
}

pub fn script_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    super::reply::help_reply(
        ctx,
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}
