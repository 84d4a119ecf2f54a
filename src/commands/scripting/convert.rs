//! Redis's conversion rules between replies and Lua values, both ways.
//!
//! Reply -> Lua (what `redis.call` returns): integers become numbers, bulk strings strings,
//! a null bulk or null array `false`, a status `{ok = text}`, an error `{err = text}`, an
//! array a table. In RESP3 (after `redis.setresp(3)`) also: null -> nil, booleans, a double
//! `{double = n}`, a big number `{big_number = digits}`, a map `{map = {k = v}}`, a set
//! `{set = {member = true}}`, verbatim text `{verbatim_string = {format, string}}`.
//!
//! Lua -> reply (what a script returns): numbers become integers (truncated), strings bulk
//! strings, `true` 1 and `false` a null (RESP3 booleans after `setresp(3)`), `nil` a null,
//! and a table, read without metamethods: `{err = text}` an error, `{ok = text}` a status,
//! `{double = n}`, `{big_number = s}`, `{map = t}`, `{set = t}`, `{verbatim_string = t}`,
//! else an array of its elements from 1 up to the first nil.

use crate::protocol::ReplyBuf;
use mlua::{ffi, Table, Value};
use std::ffi::c_int;

/// Deepest nesting a script's reply may have: Redis stops where its Lua stack ends, with the
/// same error in place of the deeper value.
const MAX_REPLY_DEPTH: usize = 1000;

/// A Lua number as a `redis.call` argument: C's `%.17g`, as Redis 7.0 converts it (not Lua's
/// own conversion, which keeps 14 digits): `0.1` is `0.10000000000000001`.
pub fn number_arg(n: f64) -> String {
    let mut text = String::new();
    crate::number::format_g(n, 17, &mut text);
    text
}

/// A Lua number where Redis takes it with `lua_tolstring` (`redis.sha1hex`, `redis.log`,
/// function names): Lua 5.1's own conversion, `%.14g`.
pub fn lua_tostring(n: f64) -> String {
    let mut text = String::new();
    crate::number::format_g(n, 14, &mut text);
    text
}

/// Pushes the reply at `*at` of `bytes` onto the Lua stack as one value (see the module
/// documentation), moving past it.
///
/// Written against the raw state, as `redis.call` is (see [`super::engine`]): through mlua's
/// values every string would take a registry reference of its own.
///
/// # Safety
/// `state` is the state of a running C function. A Lua error (out of memory, a reply nested
/// past the stack's limit) leaves by a long jump: the caller's frames must hold nothing to
/// drop, as this function's hold only borrowed and plain data.
pub(super) unsafe fn push_reply(state: *mut ffi::lua_State, bytes: &[u8], at: &mut usize) {
    // Room for an enclosing table, a key and a value at each level of nesting.
    ffi::luaL_checkstack(state, 3, c"reply nested too deep".as_ptr());
    let Some(&kind) = bytes.get(*at) else {
        ffi::lua_pushnil(state);
        return;
    };
    *at += 1;
    let head = line(bytes, at);
    match kind {
        b'+' => push_tagged_string(state, c"ok", head),
        b'-' => push_tagged_string(state, c"err", head),
        b':' => ffi::lua_pushnumber(state, number(head) as f64),
        b'$' | b'=' => {
            let len = number(head);
            if len < 0 {
                ffi::lua_pushboolean(state, 0);
                return;
            }
            let start = (*at).min(bytes.len());
            let end = (start + len as usize).min(bytes.len());
            let data = &bytes[start..end];
            *at = end + 2;
            if kind == b'$' {
                push_bytes(state, data);
                return;
            }
            let (format, text) = if data.len() >= 4 {
                (&data[..3], &data[4..])
            } else {
                (&data[..0], data)
            };
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_createtable(state, 0, 2);
            push_bytes(state, format);
            ffi::lua_setfield(state, -2, c"format".as_ptr());
            push_bytes(state, text);
            ffi::lua_setfield(state, -2, c"string".as_ptr());
            ffi::lua_setfield(state, -2, c"verbatim_string".as_ptr());
        }
        b'*' | b'>' | b'~' | b'%' => {
            let len = number(head);
            if len < 0 {
                ffi::lua_pushboolean(state, 0);
                return;
            }
            let size = c_int::try_from(len).unwrap_or(c_int::MAX);
            match kind {
                b'%' => {
                    ffi::lua_createtable(state, 0, 1);
                    ffi::lua_createtable(state, 0, size);
                    for _ in 0..len {
                        push_reply(state, bytes, at);
                        push_reply(state, bytes, at);
                        if ffi::lua_isnil(state, -2) != 0 {
                            ffi::lua_pop(state, 2);
                        } else {
                            ffi::lua_rawset(state, -3);
                        }
                    }
                    ffi::lua_setfield(state, -2, c"map".as_ptr());
                }
                b'~' => {
                    ffi::lua_createtable(state, 0, 1);
                    ffi::lua_createtable(state, 0, size);
                    for _ in 0..len {
                        push_reply(state, bytes, at);
                        if ffi::lua_isnil(state, -1) != 0 {
                            ffi::lua_pop(state, 1);
                        } else {
                            ffi::lua_pushboolean(state, 1);
                            ffi::lua_rawset(state, -3);
                        }
                    }
                    ffi::lua_setfield(state, -2, c"set".as_ptr());
                }
                _ => {
                    ffi::lua_createtable(state, size, 0);
                    for i in 1..=size {
                        push_reply(state, bytes, at);
                        ffi::lua_rawseti_(state, -2, i);
                    }
                }
            }
        }
        b'_' => ffi::lua_pushnil(state),
        b'#' => ffi::lua_pushboolean(state, c_int::from(head == b"t")),
        b',' => {
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_pushnumber(state, crate::number::parse_f64(head).unwrap_or(0.0));
            ffi::lua_setfield(state, -2, c"double".as_ptr());
        }
        b'(' => push_tagged_string(state, c"big_number", head),
        b'|' => {
            // An attribute describes the reply after it; scripts get only the reply.
            let len = number(head).max(0);
            for _ in 0..len * 2 {
                push_reply(state, bytes, at);
                ffi::lua_pop(state, 1);
            }
            push_reply(state, bytes, at);
        }
        _ => ffi::lua_pushnil(state),
    }
}

/// The line at `*at` (without CRLF), moving past it.
fn line<'b>(bytes: &'b [u8], at: &mut usize) -> &'b [u8] {
    let rest = &bytes[(*at).min(bytes.len())..];
    let end = memchr::memchr(b'\r', rest).unwrap_or(rest.len());
    *at += end + 2;
    &rest[..end]
}

fn number(text: &[u8]) -> i64 {
    crate::number::parse_i64(text).unwrap_or(0)
}

/// Pushes `bytes` as a Lua string.
///
/// # Safety
/// As [`push_reply`].
unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
}

/// Pushes the table `{key = text}`.
///
/// # Safety
/// As [`push_reply`].
pub(super) unsafe fn push_tagged_string(
    state: *mut ffi::lua_State,
    key: &std::ffi::CStr,
    text: &[u8],
) {
    ffi::lua_createtable(state, 0, 1);
    push_bytes(state, text);
    ffi::lua_setfield(state, -2, key.as_ptr());
}

/// The error text of a script's result when it is an error table (`{err = text}`): bytes, as
/// a Lua string may hold any.
pub fn error_of(value: &Value) -> Option<Vec<u8>> {
    let Value::Table(table) = value else {
        return None;
    };
    match table.raw_get::<Value>("err") {
        Ok(Value::String(text)) => Some(text.as_bytes().to_vec()),
        _ => None,
    }
}

/// Writes a script's result as a reply (see the module documentation). `resp3` is the
/// script's `redis.setresp`.
pub fn lua_to_reply(value: &Value, out: &mut ReplyBuf, resp3: bool) {
    write_value(value, out, resp3, 0);
}

/// A number as C's cast to `long long` gives it on x86-64: out of range (NaN and infinities
/// included) is the smallest integer, as Redis replies.
fn truncated(n: f64) -> i64 {
    // 2^63: the first double past the largest integer.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn write_value(value: &Value, out: &mut ReplyBuf, resp3: bool, depth: usize) {
    match value {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(truncated(*n)),
        Value::Boolean(b) => {
            if resp3 {
                out.boolean(*b);
            } else if *b {
                out.int(1);
            } else {
                out.null();
            }
        }
        Value::Table(table) => {
            if depth >= MAX_REPLY_DEPTH {
                out.error("ERR reached lua stack limit");
                return;
            }
            write_table(table, out, resp3, depth);
        }
        _ => out.null(),
    }
}

fn write_table(table: &Table, out: &mut ReplyBuf, resp3: bool, depth: usize) {
    let field = |name: &str| table.raw_get::<Value>(name).unwrap_or(Value::Nil);
    if let Value::String(text) = field("err") {
        out.error(text.as_bytes());
        return;
    }
    if let Value::String(text) = field("ok") {
        let text: Vec<u8> = text
            .as_bytes()
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        out.simple(&text);
        return;
    }
    match field("double") {
        Value::Number(n) => return out.double(n),
        Value::Integer(n) => return out.double(n as f64),
        _ => {}
    }
    if let Value::String(digits) = field("big_number") {
        let digits = digits.as_bytes().to_vec();
        let digits: Vec<u8> = digits
            .into_iter()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        out.bignum(&digits);
        return;
    }
    if let Value::Table(map) = field("map") {
        let pairs: Vec<(Value, Value)> =
            map.pairs::<Value, Value>().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (key, value) in &pairs {
            write_value(key, out, resp3, depth + 1);
            write_value(value, out, resp3, depth + 1);
        }
        return;
    }
    if let Value::Table(set) = field("set") {
        let members: Vec<Value> = set
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(member, _)| member)
            .collect();
        out.set(members.len());
        for member in &members {
            write_value(member, out, resp3, depth + 1);
        }
        return;
    }
    if let Value::Table(verbatim) = field("verbatim_string") {
        let text = verbatim.raw_get::<Value>("string").unwrap_or(Value::Nil);
        let format = verbatim.raw_get::<Value>("format").unwrap_or(Value::Nil);
        if let (Value::String(text), Value::String(format)) = (text, format) {
            if out.is_resp3() {
                let mut body = format.as_bytes().to_vec();
                body.truncate(3);
                body.push(b':');
                body.extend_from_slice(&text.as_bytes());
                out.raw(format!("={}\r\n", body.len()).as_bytes());
                out.raw(&body);
                out.raw(b"\r\n");
            } else {
                out.bulk(&text.as_bytes());
            }
            return;
        }
    }
    let mut elements = Vec::new();
    let mut i = 1;
    loop {
        match table.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(value) => elements.push(value),
        }
        i += 1;
    }
    out.array(elements.len());
    for element in &elements {
        write_value(element, out, resp3, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_arguments_read_as_redis_writes_them() {
        assert_eq!(number_arg(3.0), "3");
        assert_eq!(number_arg(-12.0), "-12");
        assert_eq!(number_arg(0.5), "0.5");
        assert_eq!(number_arg(1e21), "1e+21");
        assert_eq!(number_arg(0.1), "0.10000000000000001");
        assert_eq!(number_arg(-0.0), "-0");
        assert_eq!(number_arg(2f64.powi(63)), "9.2233720368547758e+18");
        assert_eq!(number_arg(1e-5), "1.0000000000000001e-05");
        assert_eq!(number_arg(-f64::NAN), "-nan");
        assert_eq!(number_arg(f64::NAN), "nan");
    }

    #[test]
    fn numbers_lua_converts_keep_fourteen_digits() {
        assert_eq!(lua_tostring(0.1 + 0.2), "0.3");
        assert_eq!(lua_tostring(1e15), "1e+15");
        assert_eq!(lua_tostring(100.0), "100");
    }
}
