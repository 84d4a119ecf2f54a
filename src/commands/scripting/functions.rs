//! FUNCTION and FCALL: libraries of Lua functions, loaded with FUNCTION LOAD.
//!
//! A library's code runs once at load, in an environment that offers only
//! `redis.register_function`, `redis.log` and the constants; the functions it registers run
//! later (FCALL) with the globals of scripts, KEYS and ARGV given as arguments. Function names
//! are case-insensitive, library names not, as in Redis.

use super::engine::{failure, success, Outcome};
use super::{apply_flag, keys_and_args, lua_error_text, run_script};
use super::{CmdError, CmdResult, Ctx, ScriptFlags};
use crate::commands::{Args, Server};
use crate::store::glob;
use crate::store::rdb;
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// How long a library's code may run at load, as Redis's.
const LOAD_TIME_LIMIT: std::time::Duration = std::time::Duration::from_millis(500);

/// A registered function.
#[derive(Clone)]
pub struct LibraryFunction {
    pub name: String,
    /// In the Lua registry, as EVAL's scripts (see `Script`): a `Function` handle each would
    /// cap the functions at Lua 5.1's 8,000 stack slots.
    callback: std::rc::Rc<mlua::RegistryKey>,
    pub flags: ScriptFlags,
    pub description: Option<String>,
}

/// A loaded library.
#[derive(Clone)]
pub struct Library {
    pub name: String,
    pub code: Vec<u8>,
    pub functions: Vec<LibraryFunction>,
}

/// The loaded libraries, by name.
#[derive(Default)]
pub struct Libraries {
    libraries: BTreeMap<String, Library>,
    /// Counts changes: persistence writes the libraries when it moved since its last write.
    version: u64,
    /// The libraries' code as DEBUG RELOAD last saved it (the function section of the RDB
    /// file Redis would have written), for a later `DEBUG RELOAD NOSAVE` to load back.
    reload_saved: Vec<Vec<u8>>,
}

impl Libraries {
    /// The function named `name` (case-insensitive). O(libraries + functions).
    fn function(&self, name: &[u8]) -> Option<&LibraryFunction> {
        let name = String::from_utf8_lossy(name);
        self.libraries
            .values()
            .flat_map(|library| &library.functions)
            .find(|function| function.name.eq_ignore_ascii_case(&name))
    }

    /// The flags of the function named `name` (case-insensitive). O(libraries + functions).
    pub fn function_flags(&self, name: &[u8]) -> Option<ScriptFlags> {
        self.function(name).map(|function| function.flags)
    }

    /// The library holding a function named `name`, other than `except`.
    fn owner_of(&self, name: &str, except: &str) -> Option<&Library> {
        self.libraries
            .iter()
            .filter(|(key, _)| key.as_str() != except)
            .map(|(_, library)| library)
            .find(|library| {
                library
                    .functions
                    .iter()
                    .any(|f| f.name.eq_ignore_ascii_case(name))
            })
    }

    /// The libraries' code, in name order (what persistence and FUNCTION DUMP save).
    pub fn codes(&self) -> Vec<Vec<u8>> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }

    /// Goes up by one at every change of the libraries.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Adds `library`; with `replace` a library of the same name goes first. Refused when
    /// the name is taken (without `replace`) or one of its functions belongs to another
    /// library, with Redis's errors. O(libraries + functions).
    fn add(&mut self, library: Library, replace: bool) -> Result<(), CmdError> {
        if !replace && self.libraries.contains_key(&library.name) {
            return Err(CmdError::msg(format!(
                "ERR Library '{}' already exists",
                library.name
            )));
        }
        for function in &library.functions {
            if self.owner_of(&function.name, &library.name).is_some() {
                return Err(CmdError::msg(format!(
                    "ERR Function {} already exists",
                    function.name
                )));
            }
        }
        self.libraries.insert(library.name.clone(), library);
        self.version += 1;
        Ok(())
    }

    /// Adds every library of `others` or none, as Redis's `libraryJoin`: a library name
    /// already taken refuses all (without `replace`) or replaces that library (with it); then
    /// a function name taken by a library that stays refuses all. O(libraries + functions).
    fn join(&mut self, others: BTreeMap<String, Library>, replace: bool) -> Result<(), CmdError> {
        if !replace {
            if let Some(name) = others
                .keys()
                .find(|name| self.libraries.contains_key(*name))
            {
                return Err(CmdError::msg(format!("ERR Library {name} already exists")));
            }
        }
        for library in others.values() {
            for function in &library.functions {
                let staying = self.libraries.values().find(|existing| {
                    !others.contains_key(&existing.name)
                        && existing
                            .functions
                            .iter()
                            .any(|f| f.name.eq_ignore_ascii_case(&function.name))
                });
                if staying.is_some() {
                    return Err(CmdError::msg(format!(
                        "ERR Function {} already exists",
                        function.name
                    )));
                }
            }
        }
        self.libraries.extend(others);
        self.version += 1;
        Ok(())
    }

    /// Removes the library `name`. False if there is none.
    fn remove(&mut self, name: &str) -> bool {
        let removed = self.libraries.remove(name).is_some();
        if removed {
            self.version += 1;
        }
        removed
    }

    /// Removes every library.
    fn clear(&mut self) {
        self.libraries.clear();
        self.version += 1;
    }

    /// Replaces every library by `libraries`.
    fn replace_all(&mut self, libraries: BTreeMap<String, Library>) {
        self.libraries = libraries;
        self.version += 1;
    }

    pub fn function_count(&self) -> usize {
        self.libraries.values().map(|l| l.functions.len()).sum()
    }

    pub fn library_count(&self) -> usize {
        self.libraries.len()
    }
}

/// The functions registered by the library being loaded; `None` when no load runs.
#[derive(Default)]
struct Registering(RefCell<Option<Vec<LibraryFunction>>>);

/// True for a name Redis accepts for a library or a function: letters, digits, underscores.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// A name argument: strings, and numbers as Lua converts them.
fn name_of(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(super::convert::lua_tostring(*n as f64).into_bytes()),
        Value::Number(n) => Some(super::convert::lua_tostring(*n).into_bytes()),
        _ => None,
    }
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}`, only while FUNCTION LOAD runs.
pub(super) fn register_function(lua: &Lua, args: MultiValue) -> Outcome {
    let loading = lua
        .app_data_ref::<Registering>()
        .is_some_and(|r| r.0.borrow().is_some());
    if !loading {
        return failure(
            lua,
            "ERR redis.register_function can only be called on FUNCTION LOAD command",
        );
    }
    let (name, callback, flags, description) = match args.len() {
        2 => {
            let Some(name) = name_of(&args[0]) else {
                return failure(
                    lua,
                    "ERR first argument to redis.register_function must be a string",
                );
            };
            let Value::Function(callback) = &args[1] else {
                return failure(
                    lua,
                    "ERR second argument to redis.register_function must be a function",
                );
            };
            (name, callback.clone(), ScriptFlags::default(), None)
        }
        1 => {
            let Value::Table(named) = &args[0] else {
                return failure(
                    lua,
                    "ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
                );
            };
            match named_arguments(named) {
                Ok(parts) => parts,
                Err(text) => return failure(lua, text),
            }
        }
        _ => {
            return failure(
                lua,
                "ERR wrong number of arguments to redis.register_function",
            )
        }
    };
    if !valid_name(&name) {
        return failure(lua, BAD_NAME);
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let Some(registering) = lua.app_data_ref::<Registering>() else {
        return failure(
            lua,
            "ERR redis.register_function can only be called on FUNCTION LOAD command",
        );
    };
    let mut registered = registering.0.borrow_mut();
    let Some(functions) = registered.as_mut() else {
        return failure(
            lua,
            "ERR redis.register_function can only be called on FUNCTION LOAD command",
        );
    };
    // Case matters here (Redis lets a library have `f` and `F`), not in FCALL's lookup.
    if functions.iter().any(|f| f.name == name) {
        drop(registered);
        return failure(lua, "ERR Function already exists in the library");
    }
    let callback = match lua.create_registry_value(callback) {
        Ok(key) => std::rc::Rc::new(key),
        Err(e) => {
            drop(registered);
            return failure(lua, &format!("ERR {e}"));
        }
    };
    functions.push(LibraryFunction {
        name,
        callback,
        flags,
        description,
    });
    drop(registered);
    success(lua, Value::Nil)
}

type Named = (Vec<u8>, Function, ScriptFlags, Option<String>);

/// The named arguments of `register_function{...}`.
fn named_arguments(named: &Table) -> Result<Named, &'static str> {
    let mut name = None;
    let mut callback = None;
    let mut flags = ScriptFlags::default();
    let mut description = None;
    for pair in named.pairs::<Value, Value>() {
        let Ok((key, value)) = pair else {
            return Err("ERR unknown argument given to redis.register_function");
        };
        let key = match &key {
            Value::String(s) => s.as_bytes().to_vec(),
            _ => {
                return Err(
                    "ERR named argument key given to redis.register_function is not a string",
                )
            }
        };
        match key.as_slice() {
            b"function_name" => {
                let Some(text) = name_of(&value) else {
                    return Err("ERR function_name argument given to redis.register_function must be a string");
                };
                name = Some(text);
            }
            b"callback" => {
                let Value::Function(f) = value else {
                    return Err(
                        "ERR callback argument given to redis.register_function must be a function",
                    );
                };
                callback = Some(f);
            }
            b"description" => {
                let Some(text) = name_of(&value) else {
                    return Err("ERR description argument given to redis.register_function must be a string");
                };
                description = Some(String::from_utf8_lossy(&text).into_owned());
            }
            b"flags" => {
                let Value::Table(list) = value else {
                    return Err("ERR flags argument to redis.register_function must be a table representing function flags");
                };
                for flag in list.sequence_values::<Value>() {
                    let Ok(Value::String(flag)) = flag else {
                        return Err("ERR unknown flag given");
                    };
                    let flag = flag.to_string_lossy();
                    if apply_flag(&mut flags, &flag).is_err() {
                        return Err("ERR unknown flag given");
                    }
                }
            }
            _ => return Err("ERR unknown argument given to redis.register_function"),
        }
    }
    let Some(name) = name else {
        return Err("ERR redis.register_function must get a function name argument");
    };
    let Some(callback) = callback else {
        return Err("ERR redis.register_function must get a callback argument");
    };
    Ok((name, callback, flags, description))
}

/// Reads a library's shebang (`#!lua name=mylib`): its name and the code to compile (the
/// shebang line emptied, so line numbers stay those of the source).
fn library_header(code: &[u8]) -> Result<(String, &[u8]), CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::msg("ERR Missing library metadata"));
    }
    // Redis looks for the line's end with `strchr`: none before the code ends (or before a
    // NUL byte) is no metadata line at all.
    let searched = &code[..memchr::memchr(0, code).unwrap_or(code.len())];
    let Some(end) = memchr::memchr(b'\n', searched) else {
        return Err(CmdError::msg("ERR Invalid library metadata"));
    };
    let line = &code[2..end];
    let engine_end = memchr::memchr(b' ', line).unwrap_or(line.len());
    let engine = &line[..engine_end];
    let parts = line[engine_end..]
        .split(|&b| b == b' ')
        .filter(|p| !p.is_empty());
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(CmdError::concat(&[b"ERR Engine '", engine, b"' not found"]));
    }
    let mut name = None;
    for part in parts {
        match part.strip_prefix(b"name=") {
            Some(_) if name.is_some() => {
                return Err(CmdError::msg(
                    "ERR Invalid metadata value, name argument was given multiple times",
                ))
            }
            // A quoted name is taken without its quotes.
            Some(value) => {
                let unquoted = value
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(value);
                name = Some(unquoted)
            }
            None => {
                return Err(CmdError::concat(&[
                    b"ERR Invalid metadata value given: ",
                    part,
                ]))
            }
        }
    }
    let Some(name) = name else {
        return Err(CmdError::msg("ERR Library name was not given"));
    };
    if !valid_name(name) {
        return Err(CmdError::msg(BAD_NAME));
    }
    Ok((String::from_utf8_lossy(name).into_owned(), &code[end..]))
}

/// Compiles a library's code and runs it, collecting the functions it registers: the
/// library, not yet added anywhere.
fn build_library(server: &mut Server, code: &[u8]) -> Result<Library, CmdError> {
    let (name, body) = library_header(code)?;
    let seed = rand::Rng::gen(&mut server.rng);
    let engine = server.scripting.engine(&server.config, seed)?;
    let (chunk, loaded) = engine.compile_library(body).map_err(|e| {
        CmdError::msg(format!(
            "ERR Error compiling function: {}",
            lua_error_text(&e)
        ))
    })?;
    engine
        .lua
        .set_app_data(Registering(RefCell::new(Some(Vec::new()))));
    let outcome = engine.run_library(&chunk, &loaded, LOAD_TIME_LIMIT);
    if engine.expired() {
        engine.lua.remove_app_data::<Registering>();
        return Err(CmdError::msg(
            "ERR Error registering functions: ERR FUNCTION LOAD timeout",
        ));
    }
    let registered = engine
        .lua
        .remove_app_data::<Registering>()
        .and_then(|r| r.0.into_inner())
        .unwrap_or_default();
    match outcome {
        Err(e) => return Err(CmdError::msg(format!("ERR {}", lua_error_text(&e)))),
        Ok(Err(error)) => {
            let text = super::convert::error_of(&error).map_or_else(
                || "ERR unknown error".into(),
                |t| String::from_utf8_lossy(&t).into_owned(),
            );
            return Err(CmdError::msg(format!(
                "ERR Error registering functions: {text}"
            )));
        }
        Ok(Ok(_)) => {}
    }
    if registered.is_empty() {
        return Err(CmdError::msg("ERR No functions registered"));
    }
    Ok(Library {
        name,
        code: code.to_vec(),
        functions: registered,
    })
}

/// Loads a library into `server`: compiles and runs its code, and adds (or with `replace`,
/// replaces) it. Returns its name.
pub fn load_library(server: &mut Server, code: &[u8], replace: bool) -> Result<String, CmdError> {
    let (name, _) = library_header(code)?;
    // Library names are case-sensitive (function names are not), as in Redis; a taken name
    // is refused before the code runs.
    if !replace && server.scripting.libraries.libraries.contains_key(&name) {
        return Err(CmdError::msg(format!(
            "ERR Library '{name}' already exists"
        )));
    }
    let library = build_library(server, code)?;
    server.scripting.libraries.add(library, replace)?;
    Ok(name)
}

/// Builds every library of `codes` into a set of their own: refused, with Redis's errors,
/// when two share a name or a function name (as loading them into an empty server would).
fn build_libraries(
    server: &mut Server,
    codes: impl IntoIterator<Item = Vec<u8>>,
) -> Result<BTreeMap<String, Library>, CmdError> {
    let mut built = Libraries::default();
    for code in codes {
        let library = build_library(server, &code)?;
        built.add(library, false)?;
    }
    Ok(built.libraries)
}

/// Adds the libraries of `codes` (a start-up load, an import, DEBUG RELOAD) all or none;
/// with `replace` a library of the same name is replaced, else it refuses them.
pub fn load_libraries(
    server: &mut Server,
    codes: impl IntoIterator<Item = Vec<u8>>,
    replace: bool,
) -> Result<(), CmdError> {
    let built = build_libraries(server, codes)?;
    server.scripting.libraries.join(built, replace)
}

/// DEBUG RELOAD's part for functions: as Redis saves them in the RDB file and loads them back
/// before the keys. `save` keeps the current libraries as the file's, `flush` removes them
/// all first, `merge` lets the file's replace libraries of the same name (otherwise a name
/// already loaded fails the load).
pub fn reload_libraries(
    server: &mut Server,
    save: bool,
    flush: bool,
    merge: bool,
) -> Result<(), CmdError> {
    let libraries = &mut server.scripting.libraries;
    if save {
        libraries.reload_saved = libraries.codes();
    }
    let codes = libraries.reload_saved.clone();
    let built = build_libraries(server, codes)?;
    let libraries = &mut server.scripting.libraries;
    if flush {
        libraries.replace_all(built);
        return Ok(());
    }
    libraries.join(built, merge)
}

pub fn function_load(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let rest = args.rest();
    let Some((code, options)) = rest.split_last() else {
        return Err(args.wrong_arity());
    };
    let mut replace = false;
    for option in options {
        if option.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else {
            return Err(CmdError::concat(&[b"ERR Unknown option given: ", option]));
        }
    }
    let name = load_library(ctx.server, code, replace)?;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

pub fn function_delete(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let name = String::from_utf8_lossy(args.bytes()?).into_owned();
    if !ctx.server.scripting.libraries.remove(&name) {
        return Err(CmdError::msg("ERR Library not found"));
    }
    ctx.out.ok();
    Ok(())
}

pub fn function_flush(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if args.remaining() > 1 {
        // The subcommand as the client typed it, as Redis quotes it.
        let subcommand = args.argv().get(1).copied().unwrap_or_default();
        return Err(CmdError::concat(&[
            b"ERR unknown subcommand or wrong number of arguments for '",
            subcommand,
            b"'. Try FUNCTION HELP.",
        ]));
    }
    if let Some(mode) = args.peek() {
        if !(mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async"))
            || args.remaining() > 1
        {
            return Err(CmdError::msg(
                "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
            ));
        }
    }
    ctx.server.scripting.libraries.clear();
    ctx.out.ok();
    Ok(())
}

pub fn function_list(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    let mut pattern: Option<&[u8]> = None;
    let mut with_code = false;
    while let Some(arg) = args.peek() {
        args.bytes()?;
        if arg.eq_ignore_ascii_case(b"withcode") && !with_code {
            with_code = true;
        } else if arg.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            if args.is_empty() {
                return Err(CmdError::msg("ERR library name argument was not given"));
            }
            pattern = Some(args.bytes()?);
        } else {
            return Err(CmdError::concat(&[b"ERR Unknown argument ", arg]));
        }
    }
    let libraries: Vec<Library> = ctx
        .server
        .scripting
        .libraries
        .libraries
        .values()
        .filter(|l| pattern.is_none_or(|p| glob::matches_nocase(p, l.name.as_bytes())))
        .cloned()
        .collect();
    let out = &mut *ctx.out;
    out.array(libraries.len());
    for library in &libraries {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(library.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(library.functions.len());
        for function in &library.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(function.name.as_bytes());
            out.bulk(b"description");
            match &function.description {
                Some(text) => out.bulk(text.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            // Redis's order of the flags, whatever the order they were given in.
            let given = &function.flags;
            let flags: Vec<&str> = [
                (given.no_writes, "no-writes"),
                (given.allow_oom, "allow-oom"),
                (given.allow_stale, "allow-stale"),
                (given.no_cluster, "no-cluster"),
                (given.allow_cross_slot_keys, "allow-cross-slot-keys"),
            ]
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect();
            out.set(flags.len());
            for flag in flags {
                out.simple(flag);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&library.code);
        }
    }
    Ok(())
}

/// FUNCTION DUMP: every library as Redis's `rdbSaveFunctions` writes them (the function
/// opcode, then the code as an RDB string), sealed with the RDB version and CRC-64 as DUMP
/// payloads are. O(code).
pub fn function_dump(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let mut payload = Vec::new();
    for library in ctx.server.scripting.libraries.libraries.values() {
        payload.push(rdb::OP_FUNCTION2);
        rdb::write::string(&mut payload, &library.code);
    }
    rdb::seal_payload(&mut payload);
    ctx.out.bulk(&payload);
    Ok(())
}

/// How FUNCTION RESTORE treats the libraries already loaded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RestorePolicy {
    /// Adds the payload's libraries; a name already loaded refuses them all.
    Append,
    /// Adds them, replacing libraries of the same name.
    Replace,
    /// Removes every library first.
    Flush,
}

/// The code of every library in a FUNCTION DUMP payload, with Redis's errors.
fn payload_codes(payload: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    rdb::verify_payload(payload)
        .map_err(|_| CmdError::msg("ERR DUMP payload version or checksum are wrong"))?;
    let body_end = (payload.len() - 10) as u64;
    let mut reader = rdb::read::Reader::new(payload, payload.len() as u64);
    let mut codes = Vec::new();
    while reader.offset() < body_end {
        let opcode = reader
            .u8()
            .map_err(|_| CmdError::msg("ERR can not read data type"))?;
        if opcode == rdb::OP_FUNCTION {
            return Err(CmdError::msg("ERR Pre-GA function format not supported"));
        }
        if opcode != rdb::OP_FUNCTION2 {
            return Err(CmdError::msg("ERR given type is not a function"));
        }
        let code = reader
            .string()
            .map_err(|_| CmdError::msg("ERR Failed loading library payload"))?;
        codes.push(code);
    }
    Ok(codes)
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: the payload's libraries are all built
/// before any loaded one is touched, so a bad payload leaves the loaded libraries as they were.
pub fn function_restore(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    if args.remaining() > 2 {
        let subcommand = args.argv().get(1).copied().unwrap_or_default();
        return Err(CmdError::concat(&[
            b"ERR unknown subcommand or wrong number of arguments for '",
            subcommand,
            b"'. Try FUNCTION HELP.",
        ]));
    }
    let payload = args.bytes()?;
    let policy =
        match args.peek() {
            None => RestorePolicy::Append,
            Some(word) if word.eq_ignore_ascii_case(b"append") => RestorePolicy::Append,
            Some(word) if word.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
            Some(word) if word.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
            Some(_) => return Err(CmdError::msg(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            )),
        };
    let codes = payload_codes(payload)?;
    let built = build_libraries(ctx.server, codes)?;
    let libraries = &mut ctx.server.scripting.libraries;
    match policy {
        RestorePolicy::Flush => libraries.replace_all(built),
        RestorePolicy::Append => libraries.join(built, false)?,
        RestorePolicy::Replace => libraries.join(built, true)?,
    }
    ctx.out.ok();
    Ok(())
}

pub fn function_stats(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    let scripting = &ctx.server.scripting;
    if let Some(busy) = scripting.busy.as_ref().filter(|busy| busy.eval) {
        return Err(CmdError::msg(busy.refusal()));
    }
    let libraries = &scripting.libraries;
    let (count, functions) = (libraries.libraries.len(), libraries.function_count());
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match scripting.busy.as_ref() {
        Some(busy) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(busy.name.as_bytes());
            out.bulk(b"command");
            out.array(busy.command.len());
            for arg in &busy.command {
                out.bulk(arg);
            }
            out.bulk(b"duration_ms");
            out.int(busy.started.elapsed().as_millis() as i64);
        }
        None => out.null(),
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(count as i64);
    out.bulk(b"functions_count");
    out.int(functions as i64);
    Ok(())
}

pub fn function_kill(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    super::function_kill(ctx)
}

pub fn function_help(ctx: &mut Ctx, _args: &mut Args) -> CmdResult {
    crate::commands::reply::help_reply(
        ctx,
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

pub fn fcall(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    fcall_generic(ctx, args, false)
}

pub fn fcall_ro(ctx: &mut Ctx, args: &mut Args) -> CmdResult {
    fcall_generic(ctx, args, true)
}

fn fcall_generic(ctx: &mut Ctx, args: &mut Args, read_only: bool) -> CmdResult {
    super::before_script_command(ctx, "fcall", args.argv())?;
    let name = args.bytes()?;
    let Some(function) = ctx.server.scripting.libraries.function(name).cloned() else {
        return Err(CmdError::msg("ERR Function not found"));
    };
    let (keys, argv) = keys_and_args(args, "ERR Bad number of keys provided")?;
    if read_only && !function.flags.no_writes {
        return Err(CmdError::msg(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    let invocation = super::Invocation {
        function: &function.callback,
        is_function: true,
        flags: function.flags,
        label: &function.name,
        command: args.argv(),
        debug: None,
    };
    run_script(ctx, invocation, keys, argv)
}
