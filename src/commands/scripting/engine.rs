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
use smallvec::SmallVec;
use std::cell::Cell;
use std::ffi::c_int;
use std::ptr::NonNull;
use std::rc::Rc;

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
pub(super) const LUA_MEMORY_LIMIT: usize = 1 << 30;

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
/// Shared: `redis.call` and `redis.pcall` hold its address (see [`redis_call`]).
#[derive(Default)]
pub(super) struct RunSlot(Rc<SlotCell>);

pub(super) type SlotCell = Cell<Option<NonNull<()>>>;

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
    /// The debugging session this run is part of (SCRIPT DEBUG), if any.
    pub debug: Option<&'r mut super::ldb::Session>,
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
    /// Shares of the state's app data, reached directly on each run (a lookup in the app data
    /// costs a hashing each time).
    watchdog: Rc<Watchdog>,
    slot: Rc<SlotCell>,
    /// The state's main thread, where scripts run (the Lua debugger hooks it).
    main_state: *mut ffi::lua_State,
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
        let slot = Rc::new(SlotCell::default());
        lua.set_app_data(RunSlot(slot.clone()));
        let watchdog = Rc::new(Watchdog::default());
        lua.set_app_data(watchdog.clone());
        // Past its deadline (busy-reply-threshold) a script is busy: between its steps the
        // other clients are served (see `super::while_busy`) until it ends or is killed. A
        // library being loaded, which has no running script, is stopped at its deadline.
        lua.set_hook(
            mlua::HookTriggers::new().every_nth_instruction(CHECK_EVERY),
            |lua, debug| {
                let past_deadline = lua.app_data_ref::<Rc<Watchdog>>().is_some_and(|watchdog| {
                    watchdog
                        .deadline
                        .get()
                        .is_some_and(|at| std::time::Instant::now() >= at)
                });
                if !past_deadline || with_running(lua, super::while_busy) == Some(true) {
                    return Ok(mlua::VmState::Continue);
                }
                if let Some(watchdog) = lua.app_data_ref::<Rc<Watchdog>>() {
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
        redis.set("call", slot_closure(&lua, redis_call, &slot)?)?;
        redis.set("pcall", slot_closure(&lua, redis_pcall, &slot)?)?;
        redis.set("debug", slot_closure(&lua, super::ldb::redis_debug, &slot)?)?;
        redis.set(
            "breakpoint",
            slot_closure(&lua, super::ldb::redis_breakpoint, &slot)?,
        )?;
        let deprecated = config
            .inert
            .get("lua-enable-deprecated-api")
            .is_some_and(|v| v == "yes");
        redis.set("__deprecated", deprecated)?;
        redis.set(
            "__expired",
            lua.create_function(|lua, ()| {
                Ok(lua
                    .app_data_ref::<Rc<Watchdog>>()
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
        let main_state = Cell::new(std::ptr::null_mut());
        // SAFETY: only reads the state's address.
        unsafe { lua.exec_raw::<()>((), |state| main_state.set(state))? };
        Ok(Engine {
            lua,
            real_globals: globals,
            run_script,
            run_function,
            library_env,
            watchdog,
            slot,
            main_state: main_state.get(),
        })
    }

    /// Runs `run` (a script's run) with the Lua debugger's hook in place of the usual one
    /// (see [`super::ldb`]); the usual one is back after.
    pub(super) fn with_debugger<R>(&self, run: impl FnOnce() -> R) -> R {
        let state = self.main_state;
        // SAFETY: the main state lives as long as `self.lua`; setting and reading its hook
        // allocates nothing and raises nothing.
        let (hook, mask, count) = unsafe {
            let saved = (
                ffi::lua_gethook(state),
                ffi::lua_gethookmask(state),
                ffi::lua_gethookcount(state),
            );
            ffi::lua_sethook(
                state,
                Some(super::ldb::line_hook),
                ffi::LUA_MASKLINE | ffi::LUA_MASKCOUNT,
                super::ldb::HOOK_COUNT,
            );
            saved
        };
        super::ldb::set_hook_slot(Rc::as_ptr(&self.slot));
        let result = run();
        super::ldb::set_hook_slot(std::ptr::null());
        // SAFETY: as above.
        unsafe { ffi::lua_sethook(state, hook, mask, count) };
        result
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
        self.arm(Some(std::time::Instant::now() + limit));
        let outcome = self.limited(|| self.run_script.call(chunk));
        self.disarm();
        let (ok, value): (bool, Value) = outcome?;
        loaded.call::<()>(())?;
        Ok(if ok { Ok(value) } else { Err(value) })
    }

    /// Runs `function` with KEYS and ARGV made of `keys` and `args`: as an EVAL chunk
    /// (`is_function` false: they become globals) or as a function's callback (called with
    /// them), lending `running` to the callbacks. Returns what the script returned or the
    /// error table it raised (`Err`), both as Lua values.
    pub(super) fn run(
        &self,
        running: &mut Running,
        function: &mlua::RegistryKey,
        is_function: bool,
        (keys, args): (&[&[u8]], &[&[u8]]),
        limit: Option<std::time::Duration>,
    ) -> mlua::Result<Result<Value, Value>> {
        // The deadline counts from the run's start, already read.
        self.arm(limit.map(|limit| running.started + limit));
        self.slot
            .set(Some(NonNull::from(&mut *running).cast::<()>()));
        /// Clears the slot on every way out of the call, unwinding included.
        struct Clear<'s>(&'s SlotCell);
        impl Drop for Clear<'_> {
            fn drop(&mut self) {
                self.0.set(None);
            }
        }
        let _clear = Clear(&self.slot);
        let runner = if is_function {
            &self.run_function
        } else {
            &self.run_script
        };
        let outcome = self.limited(|| {
            // One protected call makes KEYS and ARGV and runs the script, against the raw
            // state: through mlua's values every string would take a registry reference of
            // its own, and each step its own protected call (together, a third of an
            // EVALSHA's time).
            // The script comes straight from the registry by its reference, not as an mlua
            // handle, which would cost a reference of its own on every run.
            let script = function.id();
            // SAFETY: the stack holds the runner and the real globals; the script, read from
            // the registry where its key keeps it, goes between them. The closure checks room
            // for what it pushes (the script, two tables, a name, an element), holds only
            // borrowed data (a Lua error, out of memory, leaves it by a long jump and drops
            // nothing), and leaves the runner's two results.
            unsafe {
                self.lua.exec_raw((runner, &self.real_globals), |state| {
                    ffi::luaL_checkstack(state, 5, c"KEYS and ARGV".as_ptr());
                    ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, script as _);
                    ffi::lua_insert(state, 2);
                    if is_function {
                        // A function has no KEYS or ARGV globals (Redis runs functions in a
                        // Lua state of their own): an EVAL's are taken away first.
                        for name in [c"KEYS", c"ARGV"] {
                            ffi::lua_pushstring(state, name.as_ptr());
                            ffi::lua_pushnil(state);
                            ffi::lua_rawset(state, 3);
                        }
                        ffi::lua_settop(state, 2);
                        push_strings(state, keys);
                        push_strings(state, args);
                        ffi::lua_call(state, 3, 2);
                    } else {
                        for (name, list) in [(c"KEYS", keys), (c"ARGV", args)] {
                            ffi::lua_pushstring(state, name.as_ptr());
                            push_strings(state, list);
                            ffi::lua_rawset(state, 3);
                        }
                        ffi::lua_settop(state, 2);
                        ffi::lua_call(state, 1, 2);
                    }
                })
            }
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
        self.watchdog.deadline.set(None);
    }

    /// Sets the deadline of what runs next (`None`: none), and forgets an expiry.
    fn arm(&self, deadline: Option<std::time::Instant>) {
        let watchdog = &self.watchdog;
        watchdog.deadline.set(deadline);
        watchdog.expired.set(false);
        if watchdog.stopped_at.borrow().is_some() {
            watchdog.stopped_at.replace(None);
        }
    }

    /// Where the last run was stopped (killed, or the server shutting down), if it was.
    pub fn stopped_at(&self) -> Option<String> {
        let watchdog = &self.watchdog;
        if !watchdog.expired.get() {
            return None;
        }
        watchdog.stopped_at.borrow().clone()
    }

    /// True if the last run was stopped at its deadline.
    pub fn expired(&self) -> bool {
        self.watchdog.expired.get()
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

/// Pushes a table of `items` as Lua strings (KEYS, ARGV).
///
/// # Safety
/// As [`convert::push_reply`]; one more stack slot than the table is needed.
unsafe fn push_strings(state: *mut ffi::lua_State, items: &[&[u8]]) {
    ffi::lua_createtable(state, c_int::try_from(items.len()).unwrap_or(c_int::MAX), 0);
    for (index, item) in (1..).zip(items) {
        ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
        ffi::lua_rawseti_(state, -2, index);
    }
}

/// A C closure of `function` over the address of the run slot, which lives as long as the
/// Lua state (it is the state's app data, and `slot` a share of it).
fn slot_closure(
    lua: &Lua,
    function: ffi::lua_CFunction,
    slot: &Rc<SlotCell>,
) -> mlua::Result<Function> {
    let address = Rc::as_ptr(slot).cast_mut().cast::<std::ffi::c_void>();
    // SAFETY: pushes one light userdata and the closure over it on a stack the call checked
    // for room.
    unsafe {
        lua.exec_raw((), |state| {
            ffi::lua_pushlightuserdata(state, address);
            ffi::lua_pushcclosure(state, function, 1);
        })
    }
}

/// `redis.call`: runs one command through the server's one path ([`crate::commands::call`])
/// and returns its reply as a Lua value, raising it when it is an error (`{err = text}`).
///
/// A C function rather than an mlua callback, as Redis's own is: mlua's callback machinery
/// (its argument and result conversions, a registry reference per string) was a third of
/// an EVALSHA of a one-command script, and it cannot take Redis's thousands of arguments.
unsafe extern "C-unwind" fn redis_call(state: *mut ffi::lua_State) -> c_int {
    if command_on_stack(state) {
        1
    } else {
        ffi::lua_error(state)
    }
}

/// `redis.pcall`: as `redis.call`, but returns the error table instead of raising it.
unsafe extern "C-unwind" fn redis_pcall(state: *mut ffi::lua_State) -> c_int {
    command_on_stack(state);
    1
}

/// Runs the command whose arguments are on the stack and pushes its reply as a Lua value.
/// False when that value is an error table.
///
/// # Safety
/// Called only by [`redis_call`] and [`redis_pcall`], whose upvalue 1 is the run slot (see
/// [`slot_closure`]). Making Lua values may raise an error (out of memory past the heap
/// limit), a long jump over these frames: by then the Rust values of the command are dropped
/// and the running script is back in its slot, and only borrowed data remains.
unsafe fn command_on_stack(state: *mut ffi::lua_State) -> bool {
    let slot = &*ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)).cast::<SlotCell>();
    let Some(pointer) = slot.take() else {
        convert::push_tagged_string(
            state,
            c"err",
            b"ERR redis.call is not available outside a running script",
        );
        return false;
    };
    // SAFETY: as in `with_running`: the pointer comes from `Engine::run`'s exclusive borrow,
    // unused by anyone else until this call returns; out of the slot, no re-entrant call
    // can make a second reference.
    let running = &mut *pointer.cast::<Running>().as_ptr();
    let counted = run_from_stack(state, running);
    // The arguments are done with: their slots go to the reply (thousands of arguments may
    // fill the C stack's limit).
    ffi::lua_settop(state, 0);
    let reply: *const ReplyBuf = &running.reply;
    slot.set(Some(pointer));
    // SAFETY: nothing runs between here and the end of the push that could reach the
    // running script (no Lua code runs while values are made), so its reply stays as is.
    let bytes = (*reply).bytes();
    convert::push_reply(state, bytes, &mut 0);
    let failed = bytes.first() == Some(&b'-');
    if failed && counted {
        // As Redis marks it: the error is in the statistics already, so a script returning
        // or raising this table does not count it again.
        ffi::lua_pushboolean(state, 1);
        ffi::lua_setfield(state, -2, COUNTED_ERROR_FIELD.as_ptr());
    }
    !failed
}

/// The field Redis sets in the error tables of `redis.call` and `redis.pcall` whose error was
/// counted when the command failed or was refused.
pub(super) const COUNTED_ERROR_FIELD: &std::ffi::CStr = c"ignore_error_stats_update";

/// Reads the command's arguments off the stack (strings, and numbers written as Redis writes
/// them) and runs it: its reply, or why it was refused as an error reply, is left in the
/// script's reply buffer. False when an error there is not in the statistics (bad arguments
/// of the call itself, as Redis leaves those out).
///
/// # Safety
/// `state` is the state of the running C function; it raises no Lua error (only reads the
/// stack), so Rust values may live here.
unsafe fn run_from_stack(state: *mut ffi::lua_State, running: &mut Running) -> bool {
    let argc = ffi::lua_gettop(state).max(0);
    let refused = |running: &mut Running, text: &str| {
        running.reply.truncate(0);
        running.reply.error(text);
        if let Some(session) = running.debug.as_deref_mut() {
            super::ldb::log_refusal(session, text);
        }
    };
    if argc == 0 {
        refused(
            running,
            "ERR Please specify at least one argument for this redis lib call",
        );
        return false;
    }
    // Numbers are written out first, so that the argument list can borrow them.
    let mut numbers: SmallVec<[String; 2]> = SmallVec::new();
    for index in 1..=argc {
        match ffi::lua_type(state, index) {
            ffi::LUA_TSTRING => {}
            ffi::LUA_TNUMBER => {
                numbers.push(convert::number_arg(ffi::lua_tonumber(state, index)));
            }
            _ => {
                refused(
                    running,
                    "ERR Lua redis lib command arguments must be strings or integers",
                );
                return false;
            }
        }
    }
    let mut written = numbers.iter();
    let mut argv: SmallVec<[&[u8]; 8]> = SmallVec::with_capacity(argc as usize);
    for index in 1..=argc {
        if ffi::lua_type(state, index) == ffi::LUA_TSTRING {
            let mut len = 0;
            let bytes = ffi::lua_tolstring(state, index, &mut len);
            // SAFETY: a string on the stack (an argument of this call) stays there, and its
            // bytes with it, until the call returns.
            argv.push(std::slice::from_raw_parts(bytes.cast::<u8>(), len));
        } else if let Some(number) = written.next() {
            argv.push(number.as_bytes());
        }
    }
    if running.debug.is_some() {
        super::ldb::run_command(running, &argv);
        return true;
    }
    match run_command(running, &argv) {
        Ok(reply) => running.reply = reply,
        Err(text) => refused(running, &text),
    }
    true
}

/// Runs one command for a script: the checks Redis makes before a script's command, then
/// [`crate::commands::call`]. Returns the reply buffer or the refusal's error text.
pub(super) fn run_command(running: &mut Running, argv: &[&[u8]]) -> Result<ReplyBuf, String> {
    let result = check_and_call(running, argv);
    if let Err(text) = &result {
        // Counted as Redis's scriptCall counts a refusal: an error reply, and a rejected call
        // of the command when it names one.
        let server = &mut *running.ctx.server;
        if let Some(spec) = crate::commands::named_spec(argv) {
            server.command_stats.record_rejection(spec);
        }
        crate::commands::stats::record_error_reply(server, text);
    }
    result
}

/// The checks Redis makes before a script's command, then [`crate::commands::call`]: the
/// reply buffer, or the refusal's error text.
fn check_and_call(running: &mut Running, argv: &[&[u8]]) -> Result<ReplyBuf, String> {
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
    // As Redis, a read that may still write (PFCOUNT caching its estimate) or that publishes
    // counts as a write.
    if spec.paused_by_write_pause() && running.flags.no_writes {
        return Err("ERR Write commands are not allowed from read-only scripts.".into());
    }
    let server = &running.ctx.server;
    if spec.flags.contains(Flags::DENYOOM)
        && !running.flags.allow_oom
        && crate::commands::eviction::over_limit(running.ctx.ks, server)
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

/// What C's `(int)lua_tonumber` gives for an argument: numbers truncated, numeric strings
/// read (decimal or `0x` hex, spaces around allowed), anything else 0.
fn lua_tonumber_int(value: Option<&Value>) -> i64 {
    match value {
        Some(Value::Integer(n)) => *n,
        Some(Value::Number(n)) => *n as i64,
        Some(Value::String(s)) => {
            let bytes = s.as_bytes();
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim();
            match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(hex) => i64::from_str_radix(hex, 16).unwrap_or(0),
                None => text.parse::<f64>().map_or(0, |n| n as i64),
            }
        }
        _ => 0,
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
                Value::Integer(n) => convert::lua_tostring(*n as f64).into_bytes(),
                Value::Number(n) => convert::lua_tostring(*n).into_bytes(),
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
                    Value::Integer(n) => message.push_str(&convert::lua_tostring(*n as f64)),
                    Value::Number(n) => message.push_str(&convert::lua_tostring(*n)),
                    _ => {}
                }
            }
            // redis.LOG_DEBUG, LOG_VERBOSE, LOG_NOTICE and LOG_WARNING: Redis's four levels,
            // which `loglevel` filters as it filters the server's own records.
            match level {
                0 => log::trace!("{message}"),
                1 => log::debug!("{message}"),
                2 => log::info!("{message}"),
                3 => log::warn!("{message}"),
                _ => return failure(lua, "ERR Invalid debug level."),
            }
            success(lua, Value::Nil)
        })?,
    )?;
    redis.set(
        "setresp",
        raising(lua, |lua, args| {
            // Redis counts the arguments, then reads the one as a number (nil reads as 0).
            if args.len() != 1 {
                return failure(lua, "ERR redis.setresp() requires one argument.");
            }
            let version = lua_tonumber_int(args.front());
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
            if args.len() != 1 {
                return failure(lua, "ERR redis.set_repl() requires one argument.");
            }
            let flags = lua_tonumber_int(args.front());
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
                    // mlua gives integral Lua numbers as integers; both are doubles in Lua.
                    Value::Integer(n) => owned.push(convert::number_arg(*n as f64).into_bytes()),
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
