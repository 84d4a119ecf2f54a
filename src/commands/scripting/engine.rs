//! The Lua state: one per server, made on first use, with Redis's `redis` API, libraries and
//! sandbox; and the bridge that runs a script while its `redis.call`s reach the server.
//!
//! # How a script reaches the server
//!
//! A script runs inside a command handler, which holds `&mut Ctx`; `redis.call` is a Rust
//! function the Lua state calls back, and needs that same `&mut Ctx`. The callbacks are made
//! once (they live in the Lua state for the server's life), so they cannot borrow the handler's
//! context. Instead [`run`] lends it for the duration of one Lua call: it puts a pointer to the
//! [`Running`] script (which holds the `&mut Ctx`) in the state's [`RunSlot`], calls Lua, and
//! clears the slot before returning, on every path (a guard clears it on unwinding too).
//!
//! This is sound because:
//! - the pointer is only set while [`run`] holds the exclusive borrow it was made from, and
//!   [`run`] does not touch the `Running` itself until Lua returns;
//! - Lua calls back on the same thread, only during that call;
//! - a callback *takes* the pointer out of the slot while it uses it and puts it back after,
//!   so a callback reached again from inside (a command that would run a script: those are
//!   refused by their `noscript` flag anyway) finds the slot empty and fails instead of
//!   making a second `&mut`.

use super::convert;
use super::libs;
use super::ScriptFlags;
use crate::commands::table::Flags;
use crate::commands::{resolve, ClientState, Ctx};
use crate::config::Config;
use crate::protocol::{Protover, ReplyBuf};
use mlua::chunk::ChunkMode;
use mlua::{ffi, Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use std::cell::Cell;
use std::ffi::c_int;
use std::ptr::NonNull;

/// The sandbox, in Lua: see its header.
const SANDBOX: &str = include_str!("sandbox.lua");

/// How often (in Lua VM instructions) a running script checks its deadline, and, past it,
/// serves the other clients (about a millisecond of a tight loop, as Redis's hook).
const CHECK_EVERY: u32 = 100_000;

/// Most memory the Lua heap may use while Lua code runs: past it an allocation fails with
/// Lua's `not enough memory` error, which the script's caller gets as its error reply.
///
/// The limit is set only while Lua code runs (see [`Engine::limited`]) and lifted while Rust
/// code builds Lua values (arguments, `redis.call` replies): with a limit set, mlua guards
/// every value it makes with a protected call (an allocation failing would otherwise unwind
/// through Rust), which costs EVALSHA of a one-command script half its speed.
const LUA_MEMORY_LIMIT: usize = 1 << 30;

/// Lifts the Lua heap limit while Rust code makes Lua values (see [`LUA_MEMORY_LIMIT`]), and
/// puts the previous one back when dropped.
pub(super) struct Unlimited<'l> {
    lua: &'l Lua,
    previous: usize,
}

impl<'l> Unlimited<'l> {
    pub(super) fn new(lua: &'l Lua) -> Self {
        let previous = lua.set_memory_limit(0).unwrap_or(0);
        Unlimited { lua, previous }
    }
}

impl Drop for Unlimited<'_> {
    fn drop(&mut self) {
        let _ = self.lua.set_memory_limit(self.previous);
    }
}

/// When the running script turns busy (or a library load must stop), and whether it was
/// stopped.
#[derive(Default)]
struct Watchdog {
    deadline: Cell<Option<std::time::Instant>>,
    expired: Cell<bool>,
    /// Where the script was stopped (`@user_script:1`), for its error reply.
    stopped_at: std::cell::RefCell<Option<String>>,
}

/// Where [`run`] lends the running script to the callbacks (see the module documentation).
#[derive(Default)]
pub(super) struct RunSlot(Cell<Option<NonNull<()>>>);

/// A script being run: what its `redis.call`s need.
pub(super) struct Running<'r, 'c> {
    pub ctx: &'r mut Ctx<'c>,
    /// The client the script's commands run as: the caller's database at the start, its own
    /// SELECTs, never blocking.
    pub client: ClientState,
    /// `redis.setresp(3)` was called: commands reply in RESP3 and booleans go out as such.
    pub resp3: bool,
    pub flags: ScriptFlags,
    /// Run by EVAL, not FCALL.
    pub eval: bool,
    /// The SHA1 or the function's name.
    pub label: &'r str,
    /// The command that runs it.
    pub command: &'r [&'r [u8]],
    pub started: std::time::Instant,
    /// The script wrote: it can no longer be killed.
    pub wrote: bool,
    /// The script ran a read-only command: a tracking caller tracks its keys.
    pub read: bool,
    /// A reply buffer reused by the script's commands.
    pub reply: ReplyBuf,
}

/// The Lua state and what runs in it.
pub struct Engine {
    pub lua: Lua,
    /// The real globals, where KEYS and ARGV are put (scripts see a read-only view).
    real_globals: Table,
    /// `xpcall`s a script chunk with Redis's error handler: returns ok and the result or the
    /// error table.
    run_script: Function,
    /// The same for a function's callback, called with KEYS and ARGV.
    run_function: Function,
    /// Makes a library's environment: returns it and the function that ends its loading.
    library_env: Function,
}

/// What a primitive gives back: its results, or the error to raise, either Redis's table
/// `{err = text}` (raised as is, as Redis raises its API's errors) or a string (placed first,
/// as `luaL_error` places its errors).
pub(super) type Outcome = mlua::Result<Result<MultiValue, Value>>;

/// A primitive's failure as Redis's API fails: the table `{err = text}`.
pub(super) fn failure(lua: &Lua, text: &str) -> Outcome {
    let table = lua.create_table()?;
    table.raw_set("err", text)?;
    Ok(Err(Value::Table(table)))
}

/// A library function's failure: a string, placed where the script called it.
pub(super) fn lib_error(lua: &Lua, text: &str) -> Outcome {
    Ok(Err(Value::String(lua.create_string(text)?)))
}

/// A primitive's success with one result.
pub(super) fn success(lua: &Lua, value: impl mlua::IntoLua) -> Outcome {
    Ok(Ok(MultiValue::from_iter([value.into_lua(lua)?])))
}

/// Calls the primitive in upvalue 1 with this call's arguments; it returns its error (nil for
/// none) then its results. Raises the error, else returns the results. A C function, so that
/// Lua keeps the calling script's frame (a Lua wrapper could be tail-called, losing the line
/// errors report), and so that what is raised is a Lua value, not a Rust error object.
unsafe extern "C-unwind" fn raise_or_return(state: *mut ffi::lua_State) -> c_int {
    // No Rust value with a destructor lives in this frame: Lua's errors may jump over it.
    let argc = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, argc, ffi::LUA_MULTRET);
    match ffi::lua_type(state, 1) {
        ffi::LUA_TNIL => {
            ffi::lua_remove(state, 1);
            ffi::lua_gettop(state)
        }
        ffi::LUA_TSTRING => {
            ffi::lua_settop(state, 1);
            ffi::luaL_where(state, 1);
            ffi::lua_insert(state, 1);
            ffi::lua_concat(state, 2);
            ffi::lua_error(state)
        }
        _ => {
            ffi::lua_settop(state, 1);
            ffi::lua_error(state)
        }
    }
}

/// Like [`raise_or_return`], but returns the error instead of raising it (`redis.pcall`).
unsafe extern "C-unwind" fn error_or_return(state: *mut ffi::lua_State) -> c_int {
    let argc = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, argc, ffi::LUA_MULTRET);
    if ffi::lua_type(state, 1) == ffi::LUA_TNIL {
        ffi::lua_remove(state, 1);
        ffi::lua_gettop(state)
    } else {
        ffi::lua_settop(state, 1);
        1
    }
}

/// A Lua function calling `primitive` (error first, then results) through `trampoline`.
fn wrap(lua: &Lua, primitive: Function, trampoline: ffi::lua_CFunction) -> mlua::Result<Function> {
    // SAFETY: pushes one C closure over the one value given (the primitive) on a stack the
    // call checked for room; the trampolines only use the Lua API on their own frame.
    unsafe {
        lua.exec_raw(primitive, |state| {
            ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// The primitive of `f` in the error-first convention of the trampolines.
fn error_first<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> Outcome + 'static,
{
    lua.create_function(move |lua, args: MultiValue| {
        Ok(match f(lua, args)? {
            Ok(mut results) => {
                results.push_front(Value::Nil);
                results
            }
            Err(error) => MultiValue::from_iter([error]),
        })
    })
}

/// A Lua function that raises the errors `f` returns, as Redis's API and libraries do.
pub(super) fn raising<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> Outcome + 'static,
{
    wrap(lua, error_first(lua, f)?, raise_or_return)
}

impl Engine {
    /// Makes the Lua state with Redis's libraries and sandbox. `seed` seeds `math.random`.
    pub fn new(config: &Config, seed: u64) -> mlua::Result<Engine> {
        // SAFETY: the debug library is loaded only for the error handler, which keeps a
        // private reference to `debug.getinfo`; the sandbox removes `debug` from what scripts
        // can reach. Chunks are always loaded as text, never as bytecode.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        lua.set_app_data(RunSlot::default());
        lua.set_app_data(Watchdog::default());
        // Past its deadline (busy-reply-threshold) a script is busy: between its steps the
        // other clients are served (see `super::while_busy`) until it ends or is killed. A
        // library being loaded, which has no running script, is stopped at its deadline.
        lua.set_hook(
            mlua::HookTriggers::new().every_nth_instruction(CHECK_EVERY),
            |lua, debug| {
                let past_deadline = lua.app_data_ref::<Watchdog>().is_some_and(|watchdog| {
                    watchdog
                        .deadline
                        .get()
                        .is_some_and(|at| std::time::Instant::now() >= at)
                });
                if !past_deadline || with_running(lua, super::while_busy) == Some(true) {
                    return Ok(mlua::VmState::Continue);
                }
                if let Some(watchdog) = lua.app_data_ref::<Watchdog>() {
                    watchdog.expired.set(true);
                    let mut stopped_at = watchdog.stopped_at.borrow_mut();
                    if stopped_at.is_none() {
                        let source = debug.source();
                        let name = source.source.as_deref().unwrap_or("?");
                        *stopped_at = Some(format!("{name}:{}", debug.current_line().unwrap_or(0)));
                    }
                }
                // pcall and xpcall raise it again (see the sandbox): the script cannot go on.
                Err(mlua::Error::runtime(
                    "Script killed by user with SCRIPT KILL...",
                ))
            },
        )?;
        let globals = lua.globals();
        let redis = lua.create_table()?;
        let command = error_first(&lua, command)?;
        redis.set("call", wrap(&lua, command.clone(), raise_or_return)?)?;
        redis.set("pcall", wrap(&lua, command, error_or_return)?)?;
        let deprecated = config
            .inert
            .get("lua-enable-deprecated-api")
            .is_some_and(|v| v == "yes");
        redis.set("__deprecated", deprecated)?;
        redis.set(
            "__expired",
            lua.create_function(|lua, ()| {
                Ok(lua
                    .app_data_ref::<Watchdog>()
                    .is_some_and(|watchdog| watchdog.expired.get()))
            })?,
        )?;
        redis.set(
            "__register_function",
            raising(&lua, super::functions::register_function)?,
        )?;
        install_redis_api(&lua, &redis)?;
        globals.set("redis", redis)?;
        libs::install(&lua, &globals, seed)?;
        let (view, run_script, run_function, library_env): (Table, Function, Function, Function) =
            lua.load(SANDBOX)
                .set_name("=[redis]")
                .set_mode(ChunkMode::Text)
                .call(())?;
        lua.set_globals(view.clone())?;
        Ok(Engine {
            lua,
            real_globals: globals,
            run_script,
            run_function,
            library_env,
        })
    }

    /// Compiles a script body as a chunk named `name` (`@user_script`).
    pub fn compile(&self, body: &[u8], name: &str) -> mlua::Result<Function> {
        self.lua
            .load(body)
            .set_name(name)
            .set_mode(ChunkMode::Text)
            .into_function()
    }

    /// Compiles a library's code (FUNCTION LOAD) in an environment of its own that offers
    /// only the loading API: the code, and the function that ends its loading (after it, the
    /// library's functions see the globals of scripts).
    pub fn compile_library(&self, body: &[u8]) -> mlua::Result<(Function, Function)> {
        let (env, loaded): (Table, Function) = self.library_env.call(())?;
        let chunk = self
            .lua
            .load(body)
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .set_environment(env)
            .into_function()?;
        Ok((chunk, loaded))
    }

    /// Runs a library's code compiled by [`Self::compile_library`]: what it returned, or
    /// the error table it raised.
    pub fn run_library(
        &self,
        chunk: &Function,
        loaded: &Function,
        limit: std::time::Duration,
    ) -> mlua::Result<Result<Value, Value>> {
        self.arm(Some(limit));
        let outcome = self.limited(|| self.run_script.call(chunk));
        self.disarm();
        let (ok, value): (bool, Value) = outcome?;
        loaded.call::<()>(())?;
        Ok(if ok { Ok(value) } else { Err(value) })
    }

    /// KEYS and ARGV of a run as Lua tables of strings. Written against the raw state, in
    /// one protected call, because through mlua's values every string would take a
    /// registry reference of its own: that was a tenth of an EVALSHA's time.
    pub fn string_tables(&self, keys: &[&[u8]], args: &[&[u8]]) -> mlua::Result<(Table, Table)> {
        let (keys_len, args_len) = (
            i32::try_from(keys.len()).unwrap_or(i32::MAX),
            i32::try_from(args.len()).unwrap_or(i32::MAX),
        );
        // SAFETY: `exec_raw` runs the closure inside a protected call with room for three
        // more stack slots, which is what it uses at most: the two tables and one string,
        // which `lua_rawseti` pops into its table at once. The closure holds only borrowed
        // data, so a Lua error (out of memory) leaving it by a long jump drops nothing. The
        // two tables it leaves on the stack are its results.
        unsafe {
            self.lua.exec_raw((), |state| {
                for (list, len) in [(keys, keys_len), (args, args_len)] {
                    ffi::lua_createtable(state, len, 0);
                    for (i, item) in (1..).zip(list.iter()) {
                        ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
                        ffi::lua_rawseti(state, -2, i);
                    }
                }
            })
        }
    }

    /// Sets a global directly in the real globals (KEYS, ARGV), past the read-only view.
    pub fn set_real_global(&self, name: &str, value: impl mlua::IntoLua) -> mlua::Result<()> {
        self.real_globals.raw_set(name, value)
    }

    /// Runs `function` as an EVAL chunk (`keys_args` None) or a function's callback with
    /// KEYS and ARGV, lending `running` to the callbacks. Returns what the script returned
    /// or the error table it raised (`Err`), both as Lua values.
    pub(super) fn run(
        &self,
        running: &mut Running,
        function: &Function,
        keys_args: Option<(Table, Table)>,
        limit: Option<std::time::Duration>,
    ) -> mlua::Result<Result<Value, Value>> {
        self.arm(limit);
        let slot = self
            .lua
            .app_data_ref::<RunSlot>()
            .ok_or_else(|| mlua::Error::runtime("scripting state lost its slot"))?;
        slot.0.set(Some(NonNull::from(&mut *running).cast::<()>()));
        drop(slot);
        /// Clears the slot on every way out of the call, unwinding included.
        struct Clear<'l>(&'l Lua);
        impl Drop for Clear<'_> {
            fn drop(&mut self) {
                if let Some(slot) = self.0.app_data_ref::<RunSlot>() {
                    slot.0.set(None);
                }
            }
        }
        let _clear = Clear(&self.lua);
        let outcome = self.limited(|| match keys_args {
            None => self.run_script.call(function),
            Some((keys, args)) => self.run_function.call((function, keys, args)),
        });
        self.disarm();
        let (ok, value): (bool, Value) = outcome?;
        Ok(if ok { Ok(value) } else { Err(value) })
    }

    /// Runs `f` (a call into Lua) with the Lua heap limited to [`LUA_MEMORY_LIMIT`].
    fn limited<R>(&self, f: impl FnOnce() -> R) -> R {
        let _ = self.lua.set_memory_limit(LUA_MEMORY_LIMIT);
        let result = f();
        let _ = self.lua.set_memory_limit(0);
        result
    }

    /// Clears the deadline (an expiry stays known until the next run).
    fn disarm(&self) {
        if let Some(watchdog) = self.lua.app_data_ref::<Watchdog>() {
            watchdog.deadline.set(None);
        }
    }

    /// Sets the deadline of what runs next (`None`: none), and forgets an expiry.
    fn arm(&self, limit: Option<std::time::Duration>) {
        if let Some(watchdog) = self.lua.app_data_ref::<Watchdog>() {
            watchdog
                .deadline
                .set(limit.map(|limit| std::time::Instant::now() + limit));
            watchdog.expired.set(false);
            watchdog.stopped_at.replace(None);
        }
    }

    /// Where the last run was stopped (killed, or the server shutting down), if it was.
    pub fn stopped_at(&self) -> Option<String> {
        let watchdog = self.lua.app_data_ref::<Watchdog>()?;
        let place = watchdog.stopped_at.borrow().clone();
        place.filter(|_| watchdog.expired.get())
    }

    /// True if the last run was stopped at its deadline.
    pub fn expired(&self) -> bool {
        self.lua
            .app_data_ref::<Watchdog>()
            .is_some_and(|watchdog| watchdog.expired.get())
    }
}

/// Borrows the running script out of the slot for `f` (see the module documentation).
fn with_running<R>(lua: &Lua, f: impl FnOnce(&mut Running) -> R) -> Option<R> {
    let slot = lua.app_data_ref::<RunSlot>()?;
    let pointer = slot.0.take()?;
    drop(slot);
    // SAFETY: the pointer was made by `Engine::run` from a `&mut Running` that stays
    // borrowed, and unused by anyone else, until the Lua call returns, which is after this
    // callback returns; taking it out of the slot keeps a re-entrant callback from making a
    // second reference.
    let running = unsafe { &mut *pointer.cast::<Running>().as_ptr() };
    let result = f(running);
    if let Some(slot) = lua.app_data_ref::<RunSlot>() {
        slot.0.set(Some(pointer));
    }
    Some(result)
}

/// The primitive under `redis.call` and `redis.pcall`: runs one command through the server's
/// one path ([`crate::commands::call`]) and returns its reply as a Lua value, and whether it
/// is an error (an error is a table `{err = ...}`).
fn command(lua: &Lua, args: MultiValue) -> Outcome {
    if args.is_empty() {
        return failure(
            lua,
            "ERR Please specify at least one argument for this redis lib call",
        );
    }
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for arg in &args {
        match arg {
            Value::String(s) => argv.push(s.as_bytes().to_vec()),
            Value::Integer(n) => argv.push(itoa::Buffer::new().format(*n).as_bytes().to_vec()),
            Value::Number(n) => argv.push(convert::number_arg(*n).into_bytes()),
            _ => {
                return failure(
                    lua,
                    "ERR Lua redis lib command arguments must be strings or integers",
                )
            }
        }
    }
    let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    // The command runs, and its reply becomes Lua values, in Rust.
    let _unlimited = Unlimited::new(lua);
    let outcome = with_running(lua, |running| run_command(running, &argv));
    match outcome {
        None => failure(
            lua,
            "ERR redis.call is not available outside a running script",
        ),
        Some(Err(text)) => failure(lua, &text),
        Some(Ok(reply)) => {
            let mut at = 0;
            let result = convert::reply_to_lua(lua, reply.bytes(), &mut at);
            with_running(lua, |running| {
                running.reply = reply;
            });
            let (value, failed) = result?;
            if failed {
                Ok(Err(value))
            } else {
                Ok(Ok(MultiValue::from_iter([value])))
            }
        }
    }
}

/// Runs one command for a script: the checks Redis makes before a script's command, then
/// [`crate::commands::call`]. Returns the reply buffer or the refusal's error text.
fn run_command(running: &mut Running, argv: &[&[u8]]) -> Result<ReplyBuf, String> {
    let spec = match resolve(argv) {
        Ok(spec) => spec,
        Err(_) if crate::commands::lookup(argv[0]).is_none() => {
            return Err("ERR Unknown Redis command called from script".into())
        }
        Err(e) => {
            let text = e.reply_text();
            if text.starts_with("ERR wrong number of arguments") {
                return Err("ERR Wrong number of args calling Redis command from script".into());
            }
            return Err(text.into_owned());
        }
    };
    // DEBUG SET-DISABLE-DENY-SCRIPTS lets scripts run them (Redis's tests use it).
    if spec.flags.contains(Flags::NOSCRIPT) && !running.ctx.server.debug.disable_deny_scripts {
        return Err("ERR This Redis command is not allowed from script".into());
    }
    if !running.client.acl_unrestricted {
        let user = running.client.user.clone();
        if let Some(text) = crate::commands::acl::script_refusal(running.ctx, &user, spec, argv) {
            return Err(text.into());
        }
    }
    let writes = spec.flags.contains(Flags::WRITE);
    // As Redis, a read that may still write (PFCOUNT caching its estimate) counts as a write.
    if (writes || spec.flags.contains(Flags::MAY_REPLICATE)) && running.flags.no_writes {
        return Err("ERR Write commands are not allowed from read-only scripts.".into());
    }
    let server = &running.ctx.server;
    if spec.flags.contains(Flags::DENYOOM)
        && !running.flags.allow_oom
        && server.config.maxmemory != 0
        && crate::commands::eviction::counted_memory(server) > server.config.maxmemory
    {
        return Err("OOM command not allowed when used memory > 'maxmemory'.".into());
    }
    running.wrote |= writes;
    running.read |= spec.flags.contains(Flags::READONLY);
    let mut reply = std::mem::take(&mut running.reply);
    reply.truncate(0);
    reply.set_proto(if running.resp3 {
        Protover::Resp3
    } else {
        Protover::Resp2
    });
    let ctx = &mut *running.ctx;
    let mut sub = Ctx {
        ks: &mut *ctx.ks,
        server: &mut *ctx.server,
        client: &mut running.client,
        clients: ctx.clients,
        out: &mut reply,
    };
    // Keys the script declared were loaded before it started; an undeclared cold one cannot
    // be waited for inside it.
    if sub.ks.cold_keys(sub.client.db) != 0 {
        if let Some(text) = crate::commands::tiering::script_refusal(&mut sub, spec, argv) {
            return Err(text);
        }
    }
    crate::commands::call(&mut sub, spec, argv);
    Ok(reply)
}

/// A number argument of the API (Lua numbers only, as `lua_isnumber`... without strings).
fn number_of(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Integer(n) => Some(*n),
        Value::Number(n) => Some(*n as i64),
        _ => None,
    }
}

/// The `redis` table's functions and constants besides `call`/`pcall` and those written in
/// Lua by the sandbox. Their errors are Redis's: tables raised without a place in the text.
fn install_redis_api(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    redis.set(
        "sha1hex",
        raising(lua, |lua, args| {
            if args.len() != 1 {
                return failure(lua, "ERR wrong number of arguments");
            }
            let text = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(n) => n.to_string().into_bytes(),
                Value::Number(n) => convert::number_arg(*n).into_bytes(),
                _ => Vec::new(),
            };
            let digest = sha1_smol::Sha1::from(&text).digest().to_string();
            success(lua, lua.create_string(digest)?)
        })?,
    )?;
    redis.set(
        "log",
        raising(lua, |lua, args| {
            if args.len() < 2 {
                return failure(lua, "ERR redis.log() requires two arguments or more.");
            }
            let Some(level) = number_of(args.front()) else {
                return failure(lua, "ERR First argument must be a number (log level).");
            };
            let mut message = String::new();
            for (i, part) in args.iter().skip(1).enumerate() {
                if i > 0 {
                    message.push(' ');
                }
                match part {
                    Value::String(s) => message.push_str(&s.to_string_lossy()),
                    Value::Integer(n) => message.push_str(&n.to_string()),
                    Value::Number(n) => message.push_str(&convert::number_arg(*n)),
                    _ => {}
                }
            }
            match level {
                0 => log::debug!("{message}"),
                1 | 2 => log::info!("{message}"),
                3 => log::warn!("{message}"),
                _ => return failure(lua, "ERR Invalid debug level."),
            }
            success(lua, Value::Nil)
        })?,
    )?;
    redis.set(
        "setresp",
        raising(lua, |lua, args| {
            let version = match number_of(args.front()) {
                Some(n) if args.len() == 1 => n,
                _ => return failure(lua, "ERR redis.setresp() requires one argument."),
            };
            if version != 2 && version != 3 {
                return failure(lua, "ERR RESP version must be 2 or 3.");
            }
            with_running(lua, |running| running.resp3 = version == 3);
            success(lua, Value::Nil)
        })?,
    )?;
    redis.set(
        "set_repl",
        raising(lua, |lua, args| {
            let flags = match number_of(args.front()) {
                Some(n) if args.len() == 1 => n,
                _ => return failure(lua, "ERR redis.set_repl() requires one argument."),
            };
            if !(0..=3).contains(&flags) {
                return failure(
                    lua,
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                );
            }
            success(lua, Value::Nil)
        })?,
    )?;
    redis.set(
        "replicate_commands",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    redis.set(
        "breakpoint",
        lua.create_function(|_, _: MultiValue| Ok(false))?,
    )?;
    redis.set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    redis.set(
        "acl_check_cmd",
        raising(lua, |lua, args| {
            if args.is_empty() {
                return failure(
                    lua,
                    "ERR Please specify at least one argument for this redis lib call",
                );
            }
            let mut owned: Vec<Vec<u8>> = Vec::with_capacity(args.len());
            for arg in &args {
                match arg {
                    Value::String(s) => owned.push(s.as_bytes().to_vec()),
                    Value::Integer(n) => {
                        owned.push(itoa::Buffer::new().format(*n).as_bytes().to_vec())
                    }
                    Value::Number(n) => owned.push(convert::number_arg(*n).into_bytes()),
                    _ => {
                        return failure(
                            lua,
                            "ERR Lua redis lib command arguments must be strings or integers",
                        )
                    }
                }
            }
            let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            let Some(spec) = crate::commands::acl::lookup_command(&argv) else {
                return failure(lua, "ERR Invalid command passed to redis.acl_check_cmd()");
            };
            let allowed = with_running(lua, |running| {
                running.client.user.check(spec, &argv).is_ok()
            });
            success(lua, allowed.unwrap_or(true))
        })?,
    )?;
    for (name, value) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.set(name, value)?;
    }
    let version = crate::commands::server::REDIS_VERSION;
    redis.set("REDIS_VERSION", version)?;
    let mut number = 0i64;
    for part in version.split('.') {
        number = number * 256 + part.parse::<i64>().unwrap_or(0);
    }
    redis.set("REDIS_VERSION_NUM", number)?;
    Ok(())
}
