//! The Lua debugger (LDB): `SCRIPT DEBUG YES|SYNC` and the session of the client's next EVAL,
//! as Redis 7.0 has them (what `redis-cli --ldb` and `--ldb-sync-mode` drive).
//!
//! # The session
//!
//! The script runs with a Lua line hook ([`line_hook`], installed only for the session, by
//! [`super::engine::Engine::with_debugger`]). It stops at the first line, at breakpoints, after
//! `redis.breakpoint()`, after a step, and (once it ran past `busy-reply-threshold` without
//! stopping) at the next instruction count. At a stop it sends its log lines to the client as
//! an array of status replies (`<...>` lines), then reads the client's debugger commands, each
//! sent as an ordinary command array, until one resumes the script. While it waits the whole
//! server waits, as Redis's synchronous sessions do: the network layer reads and writes that
//! one connection in blocking mode ([`crate::commands::ClientDirectory::debugger_send`]).
//! When the script ends, `<endsession>` and then the script's reply go out, and the
//! connection is closed, as Redis closes it.
//!
//! `SCRIPT DEBUG YES` is, in Redis, a session in a forked child: the parent goes on serving
//! other clients, and what the script wrote vanishes with the child. Reddish does not fork: a
//! YES session runs as a SYNC one (other clients wait), and what it wrote is undone when it
//! ends ([`crate::store::Keyspace::restore_data`], from a copy taken before its first write).
//!
//! # Safety of the hook
//!
//! The hook and `redis.debug`/`redis.breakpoint` are C functions reached from Lua; they find the
//! running script through the run slot, as `redis.call` does (see [`super::engine`]), and take
//! it out of the slot while they use it, putting it back for the Lua code the debugger's `eval`
//! runs (which may call `redis.call`). A Lua error (`abort`) is raised only from the outermost
//! frame of the hook, where no Rust value lives; the Lua heap limit is lifted while the hook
//! works, so that making a Lua value cannot raise an out-of-memory error over Rust frames.

use super::engine::{self, Running, SlotCell};
use crate::commands::Ctx;
use crate::protocol::ReplyBuf;
use crate::store::DataCopy;
use mlua::ffi;
use std::cell::Cell;
use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

/// SCRIPT DEBUG's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugMode {
    /// Redis forks; Reddish undoes the script's writes when the session ends.
    Yes,
    /// The script's writes stay.
    Sync,
}

/// Most breakpoints a session keeps (Redis's `LDB_BREAKPOINTS_MAX`).
const MAX_BREAKPOINTS: usize = 64;
/// Where logged replies and values are cut by default (Redis's `LDB_MAX_LEN_DEFAULT`).
const DEFAULT_MAXLEN: usize = 256;
/// Nesting shown of a table before the rest is elided (Redis's `LUA_MINSTACK / 2`).
const MAX_VALUE_DEPTH: usize = 10;
/// Stack slots a value's description may use: a key and a value per nesting level.
const VALUE_STACK: c_int = 2 * MAX_VALUE_DEPTH as c_int + 4;
/// Most bytes of a debugger command buffered before the script is stopped with an error.
const MAX_INPUT: usize = 1 << 20;
/// Most arguments, and most bytes per argument, of a debugger command.
const MAX_COMMAND_PART: i64 = 1024;
/// Instructions between the hook's count events, which catch a script looping past its
/// time limit without reaching a stop.
pub(super) const HOOK_COUNT: c_int = 100_000;
/// Redis's text for a stop of a script that did not stop by itself in time.
const TIMEOUT_REASON: &str = "timeout reached, infinite loop?";

const HELP: &[&str] = &[
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
];

/// One debugging session: the state of Redis's `ldb` for the EVAL being debugged.
pub struct Session {
    mode: DebugMode,
    /// The script's source, by line (1-based in what the client sees).
    lines: Vec<Vec<u8>>,
    /// Lines not yet sent to the client.
    logs: Vec<Vec<u8>>,
    breakpoints: Vec<i64>,
    /// Stop at the next line whatever the breakpoints (and, meanwhile, log the script's
    /// commands and their replies).
    pub(super) step: bool,
    /// `redis.breakpoint()` was called: stop at the next line.
    lua_breakpoint: bool,
    /// The script's line the hook last saw.
    current_line: i64,
    /// What the client sent that is not yet a whole command.
    input: Vec<u8>,
    /// Where logged replies and values are cut (0: never).
    maxlen: usize,
    maxlen_hint_sent: bool,
    /// The data before the script's first write, in a YES session.
    copy: Option<DataCopy>,
    /// The Lua state, to lift its heap limit while the hook works.
    lua: Option<mlua::Lua>,
    /// `<endsession>` was queued.
    ended: bool,
}

impl Session {
    /// A session for the script `source` (the body EVAL was given).
    pub fn new(mode: DebugMode, source: &[u8]) -> Session {
        let end = source
            .iter()
            .rposition(|&b| b != b'\n' && b != b'\r')
            .map_or(0, |at| at + 1);
        let body = &source[..end];
        let lines = if body.is_empty() {
            Vec::new()
        } else {
            body.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
        };
        Session {
            mode,
            lines,
            logs: Vec::new(),
            breakpoints: Vec::new(),
            step: true,
            lua_breakpoint: false,
            current_line: 0,
            input: Vec::new(),
            maxlen: DEFAULT_MAXLEN,
            maxlen_hint_sent: false,
            copy: None,
            lua: None,
            ended: false,
        }
    }

    pub(super) fn set_lua(&mut self, lua: mlua::Lua) {
        self.lua = Some(lua);
    }

    fn log(&mut self, line: impl Into<Vec<u8>>) {
        self.logs.push(line.into());
    }

    /// Logs `line` cut at `maxlen` bytes, with a hint the first time one is cut.
    fn log_with_maxlen(&mut self, mut line: Vec<u8>) {
        let cut = self.maxlen != 0 && line.len() > self.maxlen;
        if cut {
            line.truncate(self.maxlen);
            line.extend_from_slice(b" ...");
        }
        self.log(line);
        if cut && !self.maxlen_hint_sent {
            self.maxlen_hint_sent = true;
            self.log("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.");
        }
    }

    /// Moves the pending lines into `out` as one array of status replies (CR and LF become
    /// spaces, as in Redis).
    fn drain_logs(&mut self, out: &mut ReplyBuf) {
        out.array(self.logs.len());
        for mut line in self.logs.drain(..) {
            for byte in &mut line {
                if *byte == b'\r' || *byte == b'\n' {
                    *byte = b' ';
                }
            }
            out.raw(b"+");
            out.raw(&line);
            out.raw(b"\r\n");
        }
    }

    fn source_line(&self, line: i64) -> &[u8] {
        usize::try_from(line - 1)
            .ok()
            .and_then(|at| self.lines.get(at))
            .map_or(b"<out of range source code line>", Vec::as_slice)
    }

    fn is_breakpoint(&self, line: i64) -> bool {
        self.breakpoints.contains(&line)
    }

    /// Logs source line `line` with its marks: `->` the current line, `#` a breakpoint.
    fn log_source_line(&mut self, line: i64) {
        let prefix = match (line == self.current_line, self.is_breakpoint(line)) {
            (true, true) => "->#",
            (true, false) => "-> ",
            (false, true) => "  #",
            (false, false) => "   ",
        };
        let mut text = format!("{prefix}{line:<3} ").into_bytes();
        text.extend_from_slice(self.source_line(line));
        self.log(text);
    }

    /// Logs the lines within `context` of `around` (all of them when `around` is 0).
    fn list(&mut self, around: i64, context: i64) {
        for line in 1..=self.lines.len() as i64 {
            if around != 0 && (around - line).abs() > context {
                continue;
            }
            self.log_source_line(line);
        }
    }

    /// `break`: lists, adds or removes breakpoints.
    fn break_command(&mut self, args: &[Vec<u8>]) {
        if args.is_empty() {
            if self.breakpoints.is_empty() {
                self.log("No breakpoints set. Use 'b <line>' to add one.");
            } else {
                self.log(format!("{} breakpoints set:", self.breakpoints.len()));
                for line in self.breakpoints.clone() {
                    self.log_source_line(line);
                }
            }
            return;
        }
        for arg in args {
            let Some(line) = crate::number::parse_i64(arg) else {
                let mut text = b"Invalid argument:'".to_vec();
                text.extend_from_slice(arg);
                text.push(b'\'');
                self.log(text);
                continue;
            };
            if line == 0 {
                self.breakpoints.clear();
                self.log("All breakpoints removed.");
            } else if line > 0 {
                if self.breakpoints.len() == MAX_BREAKPOINTS {
                    self.log("Too many breakpoints set.");
                } else if line <= self.lines.len() as i64 && !self.is_breakpoint(line) {
                    self.breakpoints.push(line);
                    self.list(line, 1);
                } else {
                    // Redis gives this answer for a line that already has one, too.
                    self.log("Wrong line number.");
                }
            } else if let Some(at) = self.breakpoints.iter().position(|&l| l == -line) {
                self.breakpoints.remove(at);
                self.log("Breakpoint removed.");
            } else {
                self.log("No breakpoint in the specified line.");
            }
        }
    }

    /// `maxlen [len]`: sets (at least 60, 0 for no limit) and shows where replies are cut.
    fn maxlen_command(&mut self, args: &[Vec<u8>]) {
        if let [len] = args {
            // C's atoi into an int, as Redis reads it.
            let mut len = crate::number::atoi(len) as i32;
            self.maxlen_hint_sent = true;
            if len != 0 && len <= 60 {
                len = 60;
            }
            self.maxlen = len as usize;
        }
        if self.maxlen != 0 {
            self.log(format!(
                "<value> replies are truncated at {} bytes.",
                self.maxlen as i32
            ));
        } else {
            self.log("<value> replies are unlimited.");
        }
    }

    /// `list [line] [context]`.
    fn list_command(&mut self, args: &[Vec<u8>]) {
        let mut around = self.current_line;
        let mut context = 5;
        if let Some(line) = args.first() {
            let line = crate::number::atoi(line) as i32 as i64;
            if line > 0 {
                around = line;
            }
        }
        if let Some(lines) = args.get(1) {
            context = crate::number::atoi(lines) as i32 as i64;
        }
        self.list(around, context);
    }
}

/// How a debugger command buffer parses.
enum Parsed {
    Command(Vec<Vec<u8>>),
    Incomplete,
    /// Redis ends the script with `protocol error`.
    Invalid,
}

/// Reads one command array from `input` as Redis's debugger does: forgiving of what comes
/// before the `*`, strict on sizes (1 to 1024 arguments of 1 to 1024 bytes).
fn parse_command(input: &[u8]) -> Parsed {
    if input.is_empty() {
        return Parsed::Incomplete;
    }
    let Some(star) = memchr::memchr(b'*', input) else {
        return Parsed::Invalid;
    };
    let mut at = star + 1;
    /// The number between `at` and the next CRLF, and where the text after that CRLF starts.
    fn number(input: &[u8], at: usize) -> Option<(i64, usize)> {
        let end = at + memchr::memmem::find(&input[at..], b"\r\n")?;
        Some((crate::number::atoi(&input[at..end]) as i32 as i64, end + 2))
    }
    let Some((argc, next)) = number(input, at) else {
        return Parsed::Incomplete;
    };
    if !(1..=MAX_COMMAND_PART).contains(&argc) {
        return Parsed::Invalid;
    }
    at = next;
    let mut argv = Vec::with_capacity(argc as usize);
    while (argv.len() as i64) < argc {
        match input.get(at) {
            None => return Parsed::Incomplete,
            Some(b'$') => {}
            Some(_) => return Parsed::Invalid,
        }
        let Some((len, start)) = number(input, at + 1) else {
            return Parsed::Incomplete;
        };
        if !(1..=MAX_COMMAND_PART).contains(&len) {
            return Parsed::Invalid;
        }
        let end = start + len as usize;
        if end + 2 > input.len() {
            return Parsed::Incomplete;
        }
        argv.push(input[start..end].to_vec());
        if &input[end..end + 2] != b"\r\n" {
            return Parsed::Invalid;
        }
        at = end + 2;
    }
    Parsed::Command(argv)
}

/// Appends `bytes` quoted and escaped as Redis's `sdscatrepr`.
fn push_repr(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// A Lua number as C's `%g` writes it.
fn push_number(out: &mut Vec<u8>, n: f64) {
    let text = if n.is_nan() {
        if n.is_sign_negative() { "-nan" } else { "nan" }.to_string()
    } else if n.is_infinite() {
        if n > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        super::libs::format_g(n, 6)
    };
    out.extend_from_slice(text.as_bytes());
}

/// Appends a readable form of the Lua value at stack index `index` (Redis's
/// `ldbCatStackValue`): strings quoted, tables as `{1; 2}` or `{["k"]=v}`, functions and the
/// like by address.
///
/// # Safety
/// `index` is a valid absolute index of `state`, whose stack has [`VALUE_STACK`] free slots;
/// raises no Lua error (only reads values and walks tables with `lua_next`).
unsafe fn push_value(state: *mut ffi::lua_State, index: c_int, out: &mut Vec<u8>, level: usize) {
    if level == MAX_VALUE_DEPTH {
        out.extend_from_slice(b"<max recursion level reached! Nested table?>");
        return;
    }
    match ffi::lua_type(state, index) {
        ffi::LUA_TSTRING => {
            let mut len = 0;
            let bytes = ffi::lua_tolstring(state, index, &mut len);
            push_repr(out, std::slice::from_raw_parts(bytes.cast::<u8>(), len));
        }
        ffi::LUA_TBOOLEAN => {
            let text: &[u8] = if ffi::lua_toboolean(state, index) != 0 {
                b"true"
            } else {
                b"false"
            };
            out.extend_from_slice(text);
        }
        ffi::LUA_TNUMBER => push_number(out, ffi::lua_tonumber(state, index)),
        ffi::LUA_TNIL => out.extend_from_slice(b"nil"),
        ffi::LUA_TTABLE => {
            // Both forms are made while walking; which one shows is known only at the end.
            let mut as_array = Vec::new();
            let mut as_map = Vec::new();
            let mut is_array = true;
            let mut expected = 1.0;
            ffi::lua_pushnil(state);
            while ffi::lua_next(state, index) != 0 {
                let key = ffi::lua_gettop(state) - 1;
                let value = key + 1;
                if is_array
                    && (ffi::lua_type(state, key) != ffi::LUA_TNUMBER
                        || ffi::lua_tonumber(state, key) != expected)
                {
                    is_array = false;
                }
                push_value(state, value, &mut as_array, level + 1);
                as_array.extend_from_slice(b"; ");
                as_map.push(b'[');
                push_value(state, key, &mut as_map, level + 1);
                as_map.extend_from_slice(b"]=");
                push_value(state, value, &mut as_map, level + 1);
                as_map.extend_from_slice(b"; ");
                ffi::lua_settop(state, key);
                expected += 1.0;
            }
            let shown = if is_array { as_array } else { as_map };
            out.push(b'{');
            out.extend_from_slice(&shown[..shown.len().saturating_sub(2)]);
            out.push(b'}');
        }
        kind @ (ffi::LUA_TFUNCTION
        | ffi::LUA_TUSERDATA
        | ffi::LUA_TTHREAD
        | ffi::LUA_TLIGHTUSERDATA) => {
            let name = match kind {
                ffi::LUA_TFUNCTION => "function",
                ffi::LUA_TUSERDATA => "userdata",
                ffi::LUA_TTHREAD => "thread",
                _ => "light-userdata",
            };
            let address = ffi::lua_topointer(state, index);
            out.extend_from_slice(format!("\"{name}@{address:p}\"").as_bytes());
        }
        _ => out.extend_from_slice(b"\"<unknown-lua-type>\""),
    }
}

/// A Redis reply in a readable form (Redis's `ldbRedisProtocolToHuman`), appended to `out`;
/// returns the rest of `reply` after the value, `None` for what it does not show.
fn push_reply<'r>(out: &mut Vec<u8>, reply: &'r [u8]) -> Option<&'r [u8]> {
    let (&kind, rest) = reply.split_first()?;
    let end = memchr::memmem::find(rest, b"\r\n")?;
    let line = &rest[..end];
    let mut after = &rest[end + 2..];
    let count = || crate::number::parse_i64(line).unwrap_or(0);
    match kind {
        b':' => out.extend_from_slice(line),
        b'$' => match usize::try_from(count()) {
            Ok(len) => {
                push_repr(out, after.get(..len)?);
                after = after.get(len + 2..)?;
            }
            Err(_) => out.extend_from_slice(b"NULL"),
        },
        b'+' | b'-' => push_repr(out, &reply[..end + 1]),
        b'*' | b'~' => {
            let n = count();
            if kind == b'*' && n < 0 {
                out.extend_from_slice(b"NULL");
                return Some(after);
            }
            out.extend_from_slice(if kind == b'*' { b"[" } else { b"~(" });
            for i in 0..n {
                after = push_reply(out, after)?;
                if i != n - 1 {
                    out.push(b',');
                }
            }
            out.push(if kind == b'*' { b']' } else { b')' });
        }
        b'%' => {
            let n = count();
            out.push(b'{');
            for i in 0..n {
                after = push_reply(out, after)?;
                out.extend_from_slice(b" => ");
                after = push_reply(out, after)?;
                if i != n - 1 {
                    out.push(b',');
                }
            }
            out.push(b'}');
        }
        b'_' => out.extend_from_slice(b"(null)"),
        b'#' => out.extend_from_slice(if line.first() == Some(&b't') {
            b"#true"
        } else {
            b"#false"
        }),
        b',' => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(line);
        }
        _ => return None,
    }
    Some(after)
}

/// `<redis> name arg ...` as Redis logs a script's command (the first ten words, then a
/// count of the rest that Redis makes one too small).
fn command_line(argv: &[&[u8]]) -> Vec<u8> {
    let mut line = b"<redis>".to_vec();
    for (j, arg) in argv.iter().enumerate() {
        if j == 10 {
            line.extend_from_slice(format!(" ... ({} more)", argv.len() - j - 1).as_bytes());
            break;
        }
        line.push(b' ');
        line.extend_from_slice(arg);
    }
    line
}

/// Logs a script's command that is refused before it runs (`<error> text`, in Redis's form:
/// its own messages without the `ERR ` code, others with their `-`).
pub(super) fn log_refusal(session: &mut Session, text: &str) {
    if !session.step {
        return;
    }
    let mut line = b"<error> ".to_vec();
    match text.strip_prefix("ERR ") {
        Some(message) => line.extend_from_slice(message.as_bytes()),
        None => {
            line.push(b'-');
            line.extend_from_slice(text.as_bytes());
        }
    }
    session.log(line);
}

/// Runs one command of the script being debugged, through the path of all its commands:
/// logged with its reply while stepping, and, in a YES session, the data copied before the
/// first command that may write. The reply (or the refusal as an error reply) is left in
/// the script's reply buffer.
pub(super) fn run_command(running: &mut Running, argv: &[&[u8]]) {
    let Some(session) = running.debug.as_deref_mut() else {
        return;
    };
    let logging = session.step;
    if logging {
        session.log(command_line(argv));
    }
    if session.mode == DebugMode::Yes && session.copy.is_none() {
        let may_write = crate::commands::resolve(argv).is_ok_and(|spec| {
            spec.flags.contains(crate::commands::Flags::WRITE) || spec.paused_by_write_pause()
        });
        if may_write {
            session.copy = Some(running.ctx.ks.copy_data());
        }
    }
    match engine::run_command(running, argv) {
        Ok(reply) => running.reply = reply,
        Err(text) => {
            running.reply.truncate(0);
            running.reply.error(&text);
            if let Some(session) = running.debug.as_deref_mut() {
                log_refusal(session, &text);
            }
            return;
        }
    }
    let Some(session) = running.debug.as_deref_mut() else {
        return;
    };
    if !logging {
        return;
    }
    let reply = running.reply.bytes();
    if reply.first() == Some(&b'-') {
        let end = memchr::memmem::find(reply, b"\r\n").unwrap_or(reply.len());
        let mut line = b"<error> ".to_vec();
        line.extend_from_slice(&reply[..end]);
        session.log(line);
    }
    let mut line = b"<reply> ".to_vec();
    push_reply(&mut line, reply);
    session.log_with_maxlen(line);
}

/// Sends the pending lines to the client; the session goes on either way (a failed
/// connection shows at the next read, as in Redis).
fn send_logs(running: &mut Running) {
    let ctx = &mut *running.ctx;
    let Some(session) = running.debug.as_deref_mut() else {
        return;
    };
    session.drain_logs(ctx.out);
    ctx.clients.debugger_send(ctx.out);
}

/// Ends the session before the script's reply is written: queues the last lines and
/// `<endsession>` in front of it, closes the connection after it (as Redis does), and, in a
/// YES session, undoes what the script wrote.
pub(super) fn end_session(ctx: &mut Ctx, session: &mut Session) {
    if session.ended {
        return;
    }
    session.ended = true;
    session.log("<endsession>");
    session.drain_logs(ctx.out);
    ctx.client.close_after_reply = true;
    ctx.client.lua_debug = None;
    if let Some(copy) = session.copy.take() {
        let restored = ctx.ks.restore_data(copy);
        if restored > 0 {
            // What the journal recorded of the script's writes no longer describes the values.
            if let Some(journal) = ctx.server.journal.as_mut() {
                journal.taint_all();
            }
        }
        log::warn!("Lua debugging session ended: {restored} keys it changed were restored");
    } else {
        log::warn!("Redis synchronous debugging eval session ended");
    }
}

thread_local! {
    /// The run slot of the engine whose script is being debugged (null outside a session):
    /// the hook is a plain C function and finds the running script through it.
    static HOOK_SLOT: Cell<*const SlotCell> = const { Cell::new(std::ptr::null()) };
}

/// Makes `slot` the one the hook reads (null: none).
pub(super) fn set_hook_slot(slot: *const SlotCell) {
    HOOK_SLOT.with(|cell| cell.set(slot));
}

/// What the debugger's command loop ends with.
enum Resume {
    /// The script goes on.
    Continue,
    /// The client went away: the script goes on without stops.
    Disconnected,
    /// The script is stopped with this error (`ERR <text>`).
    Raise(&'static str),
}

/// The line and count hook of a debugged script (Redis's `luaLdbLineHook`).
///
/// # Safety
/// Installed by [`super::engine::Engine::with_debugger`] only, while [`HOOK_SLOT`] names the
/// run slot. No Rust value lives in this frame: the error it raises jumps over it.
pub(super) unsafe extern "C-unwind" fn line_hook(
    state: *mut ffi::lua_State,
    ar: *mut ffi::lua_Debug,
) {
    if on_hook(state, ar) {
        ffi::lua_error(state);
    }
}

/// The hook's work; true when it left an error table on the stack to raise.
unsafe fn on_hook(state: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) -> bool {
    let slot = HOOK_SLOT.with(Cell::get);
    if slot.is_null() {
        return false;
    }
    // SAFETY: the slot lives as long as the engine, which outlives the session.
    let slot = &*slot;
    let Some(pointer) = slot.take() else {
        return false;
    };
    let pointer = pointer.cast::<Running>();
    let raise = stop_if_due(state, ar, pointer, slot);
    slot.set(Some(pointer.cast()));
    raise
}

/// Stops the script here if a step, a breakpoint or the time limit says so, and runs the
/// debugger's command loop.
///
/// # Safety
/// `pointer` is the running script, out of `slot` (see the module documentation).
unsafe fn stop_if_due(
    state: *mut ffi::lua_State,
    ar: *mut ffi::lua_Debug,
    pointer: NonNull<Running>,
    slot: &SlotCell,
) -> bool {
    let running = &mut *pointer.as_ptr();
    let limit = super::script_time_limit(&running.ctx.server.config)
        .unwrap_or(std::time::Duration::from_millis(5000));
    let elapsed = running.started.elapsed();
    let Some(session) = running.debug.as_deref_mut() else {
        return false;
    };
    if ffi::lua_getstack(state, 0, ar) == 0 || ffi::lua_getinfo(state, c"Sl".as_ptr(), ar) == 0 {
        return false;
    }
    // Only the script's own lines count, not the sandbox's.
    if !short_source(&*ar).windows(11).any(|w| w == b"user_script") {
        return false;
    }
    let line = i64::from((*ar).currentline);
    session.current_line = line;
    let at_breakpoint = session.is_breakpoint(line) || session.lua_breakpoint;
    let mut timeout = false;
    if (*ar).event == ffi::LUA_HOOKCOUNT && !session.step && !at_breakpoint {
        if elapsed < limit {
            return false;
        }
        timeout = true;
        session.step = true;
    }
    if !session.step && !at_breakpoint {
        return false;
    }
    let reason = if at_breakpoint {
        if session.lua_breakpoint {
            "redis.breakpoint() called"
        } else {
            "break point"
        }
    } else if timeout {
        TIMEOUT_REASON
    } else {
        "step over"
    };
    session.step = false;
    session.lua_breakpoint = false;
    session.log(format!("* Stopped at {line}, stop reason = {reason}"));
    session.log_source_line(line);
    let lua = session.lua.clone();
    if let Some(lua) = &lua {
        let _ = lua.set_memory_limit(0);
    }
    send_logs(running);
    let resume = command_loop(state, pointer, slot);
    let running = &mut *pointer.as_ptr();
    let raise = match resume {
        Resume::Continue => None,
        Resume::Disconnected if timeout => {
            Some("timeout during Lua debugging with client closing connection")
        }
        Resume::Disconnected => None,
        Resume::Raise(text) => Some(text),
    };
    // The time limit counts again from here, as in Redis.
    running.started = std::time::Instant::now();
    if let Some(text) = raise {
        push_error_table(state, text);
    }
    if let Some(lua) = &lua {
        let _ = lua.set_memory_limit(engine::LUA_MEMORY_LIMIT);
    }
    raise.is_some()
}

/// `ar`'s `short_src`, up to its NUL.
fn short_source(ar: &ffi::lua_Debug) -> &[u8] {
    // SAFETY: `short_src` is a C array of `c_char`, as bytes.
    let bytes: &[u8] = unsafe {
        std::slice::from_raw_parts(ar.short_src.as_ptr().cast::<u8>(), ar.short_src.len())
    };
    let end = memchr::memchr(0, bytes).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Pushes Redis's error table `{err = "ERR <text>"}`.
///
/// # Safety
/// The stack has room for two values; the heap limit is lifted (no error is raised).
unsafe fn push_error_table(state: *mut ffi::lua_State, text: &str) {
    ffi::lua_createtable(state, 0, 1);
    let message = format!("ERR {text}");
    ffi::lua_pushlstring(state, message.as_ptr().cast(), message.len());
    ffi::lua_setfield(state, -2, c"err".as_ptr());
}

/// Reads and runs debugger commands until one resumes the script (Redis's `ldbRepl`).
///
/// # Safety
/// As [`stop_if_due`]; the running script is derived anew from `pointer` after every call
/// that may use it from Lua.
unsafe fn command_loop(
    state: *mut ffi::lua_State,
    pointer: NonNull<Running>,
    slot: &SlotCell,
) -> Resume {
    loop {
        let argv = loop {
            let running = &mut *pointer.as_ptr();
            let ctx = &mut *running.ctx;
            let Some(session) = running.debug.as_deref_mut() else {
                return Resume::Continue;
            };
            match parse_command(&session.input) {
                Parsed::Command(argv) => {
                    session.input.clear();
                    break argv;
                }
                Parsed::Invalid => return Resume::Raise("protocol error"),
                Parsed::Incomplete => {}
            }
            if !ctx.clients.debugger_receive(&mut session.input) {
                session.step = false;
                session.breakpoints.clear();
                return Resume::Disconnected;
            }
            if session.input.len() > MAX_INPUT {
                session.input = Vec::new();
                return Resume::Raise("max client buffer reached");
            }
        };
        let name = argv[0].to_ascii_lowercase();
        let args = &argv[1..];
        let running = &mut *pointer.as_ptr();
        let Some(session) = running.debug.as_deref_mut() else {
            return Resume::Continue;
        };
        match name.as_slice() {
            b"h" | b"help" => {
                for line in HELP {
                    session.log(*line);
                }
            }
            b"s" | b"step" | b"n" | b"next" => {
                session.step = true;
                return Resume::Continue;
            }
            b"c" | b"continue" => return Resume::Continue,
            b"t" | b"trace" => trace(state, session),
            b"m" | b"maxlen" => session.maxlen_command(args),
            b"b" | b"break" => session.break_command(args),
            b"e" | b"eval" => eval(state, pointer, slot, args),
            b"a" | b"abort" => return Resume::Raise("script aborted for user request"),
            b"r" | b"redis" if !args.is_empty() => {
                let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                // As Redis, which runs it through `redis.call` while stepping, so that the
                // command and its reply are logged.
                session.step = true;
                run_command(running, &argv);
                if let Some(session) = running.debug.as_deref_mut() {
                    session.step = false;
                }
            }
            b"p" | b"print" => match args {
                [name] => print_variable(state, session, name),
                _ => print_locals(state, session),
            },
            b"l" | b"list" => session.list_command(args),
            b"w" | b"whole" => session.list(1, 1_000_000),
            _ => session
                .log("<error> Unknown Redis Lua debugger command or wrong number of arguments."),
        }
        send_logs(&mut *pointer.as_ptr());
    }
}

/// A zeroed activation record for `lua_getstack`.
fn activation() -> ffi::lua_Debug {
    // SAFETY: a plain C struct of integers, pointers and a char array: all zeros is valid.
    unsafe { std::mem::zeroed() }
}

/// `trace`: the script's frames, innermost first.
///
/// # Safety
/// `state` is the hooked state.
unsafe fn trace(state: *mut ffi::lua_State, session: &mut Session) {
    let mut ar = activation();
    let mut level = 0;
    while ffi::lua_getstack(state, level, &mut ar) != 0 {
        ffi::lua_getinfo(state, c"Snl".as_ptr(), &mut ar);
        if short_source(&ar).windows(11).any(|w| w == b"user_script") {
            let name = if ar.name.is_null() {
                "top level".to_string()
            } else {
                CStr::from_ptr(ar.name).to_string_lossy().into_owned()
            };
            let place = if level == 0 { "In" } else { "From" };
            session.log(format!("{place} {name}:"));
            session.log_source_line(i64::from(ar.currentline));
        }
        level += 1;
    }
    if level == 0 {
        session.log("<error> Can't retrieve Lua stack.");
    }
}

/// `print <name>`: the innermost local of that name, else the global KEYS or ARGV.
///
/// # Safety
/// `state` is the hooked state.
unsafe fn print_variable(state: *mut ffi::lua_State, session: &mut Session, name: &[u8]) {
    if ffi::lua_checkstack(state, VALUE_STACK) == 0 {
        return;
    }
    let mut ar = activation();
    let mut level = 0;
    while ffi::lua_getstack(state, level, &mut ar) != 0 {
        level += 1;
        // The sandbox's own frames hold no variable of the script.
        ffi::lua_getinfo(state, c"S".as_ptr(), &mut ar);
        if !ar.source.is_null() && CStr::from_ptr(ar.source).to_bytes() == b"=[redis]" {
            continue;
        }
        let mut index = 1;
        loop {
            let local = ffi::lua_getlocal(state, &ar, index);
            if local.is_null() {
                break;
            }
            index += 1;
            if CStr::from_ptr(local).to_bytes() == name {
                let mut line = b"<value> ".to_vec();
                push_value(state, ffi::lua_gettop(state), &mut line, 0);
                ffi::lua_settop(state, -2);
                session.log_with_maxlen(line);
                return;
            }
            ffi::lua_settop(state, -2);
        }
    }
    let global = match name {
        b"KEYS" => c"KEYS",
        b"ARGV" => c"ARGV",
        _ => {
            session.log("No such variable.");
            return;
        }
    };
    ffi::lua_getfield(state, ffi::LUA_GLOBALSINDEX, global.as_ptr());
    let mut line = b"<value> ".to_vec();
    push_value(state, ffi::lua_gettop(state), &mut line, 0);
    ffi::lua_settop(state, -2);
    session.log_with_maxlen(line);
}

/// `print`: every local of the current function.
///
/// # Safety
/// `state` is the hooked state.
unsafe fn print_locals(state: *mut ffi::lua_State, session: &mut Session) {
    if ffi::lua_checkstack(state, VALUE_STACK) == 0 {
        return;
    }
    let mut ar = activation();
    let mut shown = 0;
    if ffi::lua_getstack(state, 0, &mut ar) != 0 {
        let mut index = 1;
        loop {
            let local = ffi::lua_getlocal(state, &ar, index);
            if local.is_null() {
                break;
            }
            index += 1;
            let name = CStr::from_ptr(local).to_bytes();
            if !name.windows(12).any(|w| w == b"(*temporary)") {
                let mut line = b"<value> ".to_vec();
                line.extend_from_slice(name);
                line.extend_from_slice(b" = ");
                push_value(state, ffi::lua_gettop(state), &mut line, 0);
                session.log_with_maxlen(line);
                shown += 1;
            }
            ffi::lua_settop(state, -2);
        }
    }
    if shown == 0 {
        session.log("No local variables in the current context.");
    }
}

/// `eval <code>`: runs the code (as an expression if it is one) in a frame of its own and
/// logs what it returned or the error.
///
/// # Safety
/// As [`command_loop`]; the running script is back in its slot while the code runs (it may
/// call `redis.call`).
unsafe fn eval(
    state: *mut ffi::lua_State,
    pointer: NonNull<Running>,
    slot: &SlotCell,
    args: &[Vec<u8>],
) {
    if ffi::lua_checkstack(state, VALUE_STACK) == 0 {
        return;
    }
    let code = args.join(&b' ');
    let mut expression = b"return ".to_vec();
    expression.extend_from_slice(&code);
    let load = |text: &[u8]| {
        ffi::luaL_loadbuffer(
            state,
            text.as_ptr().cast(),
            text.len(),
            c"@ldb_eval".as_ptr(),
        ) == 0
    };
    let mut loaded = load(&expression);
    if !loaded {
        ffi::lua_settop(state, -2);
        loaded = load(&code);
    }
    if !loaded {
        let mut line = b"<error> ".to_vec();
        line.extend_from_slice(&error_text(state));
        ffi::lua_settop(state, -2);
        if let Some(session) = session_of(pointer) {
            session.log(line);
        }
        return;
    }
    let lua = session_of(pointer).and_then(|session| session.lua.clone());
    if let Some(lua) = &lua {
        let _ = lua.set_memory_limit(engine::LUA_MEMORY_LIMIT);
    }
    slot.set(Some(pointer.cast()));
    let status = ffi::lua_pcall(state, 0, 1, 0);
    slot.take();
    if let Some(lua) = &lua {
        let _ = lua.set_memory_limit(0);
    }
    let Some(session) = session_of(pointer) else {
        ffi::lua_settop(state, -2);
        return;
    };
    if status != 0 {
        let mut line = b"<error> ".to_vec();
        line.extend_from_slice(&error_text(state));
        session.log(line);
    } else {
        let mut line = b"<retval> ".to_vec();
        push_value(state, ffi::lua_gettop(state), &mut line, 0);
        session.log_with_maxlen(line);
    }
    ffi::lua_settop(state, -2);
}

/// The session of the running script `pointer`.
///
/// # Safety
/// `pointer` is the running script, and no other reference to it is in use.
unsafe fn session_of<'s>(pointer: NonNull<Running<'s, '_>>) -> Option<&'s mut Session> {
    (*pointer.as_ptr()).debug.as_deref_mut()
}

/// The text of the error on top of the stack: a string, or the message of an error table.
///
/// # Safety
/// The top of `state`'s stack is the error; no error is raised.
unsafe fn error_text(state: *mut ffi::lua_State) -> Vec<u8> {
    let string_at = |index: c_int| {
        let mut len = 0;
        let bytes = ffi::lua_tolstring(state, index, &mut len);
        std::slice::from_raw_parts(bytes.cast::<u8>(), len).to_vec()
    };
    match ffi::lua_type(state, -1) {
        ffi::LUA_TSTRING => string_at(-1),
        ffi::LUA_TTABLE => {
            ffi::lua_getfield(state, -1, c"err".as_ptr());
            let text = if ffi::lua_type(state, -1) == ffi::LUA_TSTRING {
                string_at(-1)
            } else {
                b"(error object is not a string)".to_vec()
            };
            ffi::lua_settop(state, -2);
            text
        }
        _ => b"(error object is not a string)".to_vec(),
    }
}

/// `redis.debug(...)`: logs its arguments in the session (`<debug> line N: a, b`); nothing
/// outside one.
///
/// # Safety
/// A C closure over the run slot (see [`super::engine`]).
pub(super) unsafe extern "C-unwind" fn redis_debug(state: *mut ffi::lua_State) -> c_int {
    if ffi::lua_checkstack(state, VALUE_STACK) != 0 {
        log_debug_call(state);
    }
    0
}

/// The work of [`redis_debug`], in a frame of its own (it holds Rust values; nothing here
/// raises a Lua error).
unsafe fn log_debug_call(state: *mut ffi::lua_State) {
    let slot = &*ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)).cast::<SlotCell>();
    let Some(pointer) = slot.take() else {
        return;
    };
    let running = &mut *pointer.cast::<Running>().as_ptr();
    if let Some(session) = running.debug.as_deref_mut() {
        let mut line = format!("<debug> line {}: ", session.current_line).into_bytes();
        let argc = ffi::lua_gettop(state);
        for index in 1..=argc {
            push_value(state, index, &mut line, 0);
            if index != argc {
                line.extend_from_slice(b", ");
            }
        }
        session.log(line);
    }
    slot.set(Some(pointer));
}

/// `redis.breakpoint()`: in a session, stops at the next line and returns true; false
/// outside one.
///
/// # Safety
/// A C closure over the run slot (see [`super::engine`]).
pub(super) unsafe extern "C-unwind" fn redis_breakpoint(state: *mut ffi::lua_State) -> c_int {
    let slot = &*ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)).cast::<SlotCell>();
    let mut active = false;
    if let Some(pointer) = slot.take() {
        let running = &mut *pointer.cast::<Running>().as_ptr();
        if let Some(session) = running.debug.as_deref_mut() {
            session.lua_breakpoint = true;
            active = true;
        }
        slot.set(Some(pointer));
    }
    ffi::lua_pushboolean(state, c_int::from(active));
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &[u8]) -> Option<Vec<Vec<u8>>> {
        match parse_command(input) {
            Parsed::Command(argv) => Some(argv),
            _ => None,
        }
    }

    #[test]
    fn commands_parse_as_redis_debugger_reads_them() {
        assert_eq!(parsed(b"*1\r\n$1\r\ns\r\n"), Some(vec![b"s".to_vec()]));
        assert_eq!(
            parsed(b"junk*2\r\n$1\r\np\r\n$3\r\na\0b\r\n"),
            Some(vec![b"p".to_vec(), b"a\0b".to_vec()])
        );
        assert!(matches!(parse_command(b""), Parsed::Incomplete));
        assert!(matches!(
            parse_command(b"*2\r\n$1\r\np\r\n"),
            Parsed::Incomplete
        ));
        assert!(matches!(
            parse_command(b"*1\r\n$3\r\nab"),
            Parsed::Incomplete
        ));
        assert!(matches!(parse_command(b"ping\r\n"), Parsed::Invalid));
        assert!(matches!(parse_command(b"*0\r\n"), Parsed::Invalid));
        assert!(matches!(parse_command(b"*1025\r\n"), Parsed::Invalid));
        assert!(matches!(
            parse_command(b"*1\r\n$0\r\n\r\n"),
            Parsed::Invalid
        ));
        assert!(matches!(parse_command(b"*1\r\n:1\r\n"), Parsed::Invalid));
        assert!(matches!(parse_command(b"*1\r\n$1\r\nsxx"), Parsed::Invalid));
    }

    #[test]
    fn replies_read_as_redis_shows_them() {
        let human = |reply: &[u8]| {
            let mut out = Vec::new();
            push_reply(&mut out, reply);
            String::from_utf8(out).unwrap_or_default()
        };
        assert_eq!(human(b"+PONG\r\n"), "\"+PONG\"");
        assert_eq!(human(b"$-1\r\n"), "NULL");
        assert_eq!(human(b"*2\r\n$1\r\na\r\n:5\r\n"), "[\"a\",5]");
        assert_eq!(
            human(b"%1\r\n$1\r\na\r\n,1.5\r\n"),
            "{\"a\" => (double) 1.5}"
        );
        assert_eq!(human(b"~1\r\n#t\r\n"), "~(#true)");
        assert_eq!(human(b"_\r\n"), "(null)");
    }

    #[test]
    fn values_are_quoted_as_sdscatrepr() {
        let mut out = Vec::new();
        push_repr(&mut out, b"a\"b\\\n\x01\xff");
        assert_eq!(out, b"\"a\\\"b\\\\\\n\\x01\\xff\"");
        let mut out = Vec::new();
        push_number(&mut out, 123456789012.0);
        push_number(&mut out, -0.0 / 1.0);
        assert_eq!(out, b"1.23457e+11-0");
    }

    #[test]
    fn breakpoints_and_listing_follow_redis() {
        let mut session = Session::new(DebugMode::Sync, b"local a = 1\nreturn a\n\n");
        assert_eq!(session.lines.len(), 2);
        session.current_line = 1;
        session.break_command(&[b"2".to_vec(), b"2".to_vec(), b"3".to_vec(), b"x".to_vec()]);
        session.break_command(&[b"-1".to_vec(), b"-2".to_vec()]);
        let logs: Vec<String> = session
            .logs
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        assert_eq!(
            logs,
            [
                "-> 1   local a = 1",
                "  #2   return a",
                "Wrong line number.",
                "Wrong line number.",
                "Invalid argument:'x'",
                "No breakpoint in the specified line.",
                "Breakpoint removed.",
            ]
        );
    }
}
