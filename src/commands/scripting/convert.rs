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
use mlua::{Lua, Table, Value};

/// Deepest nesting a script's reply may have: Redis stops where its Lua stack ends, with the
/// same error in place of the deeper value.
const MAX_REPLY_DEPTH: usize = 1000;

/// A Lua number as a command argument: integral values as integers, others in the shortest
/// form that reads back the same (Redis's `fpconv_dtoa`).
pub fn number_arg(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e17 {
        return itoa::Buffer::new().format(n as i64).to_string();
    }
    if n.is_nan() {
        return "nan".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let text = format!("{n:?}");
    // Rust writes `1e21`; C's style is `1e+21`.
    match text.find('e') {
        Some(at) if !text[at + 1..].starts_with('-') => {
            format!("{}e+{}", &text[..at], &text[at + 1..])
        }
        _ => text,
    }
}

/// Reads one reply from `bytes` at `*at` into a Lua value (see the module documentation).
pub fn reply_to_lua(lua: &Lua, bytes: &[u8], at: &mut usize) -> mlua::Result<(Value, bool)> {
    let value = parse(lua, bytes, at)?;
    let failed = bytes.first() == Some(&b'-');
    Ok((value, failed))
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

fn parse(lua: &Lua, bytes: &[u8], at: &mut usize) -> mlua::Result<Value> {
    let Some(&kind) = bytes.get(*at) else {
        return Ok(Value::Nil);
    };
    *at += 1;
    let head = line(bytes, at);
    let tagged = |key: &str, value: Value| -> mlua::Result<Value> {
        let table = lua.create_table()?;
        table.raw_set(key, value)?;
        Ok(Value::Table(table))
    };
    match kind {
        b'+' => tagged("ok", Value::String(lua.create_string(head)?)),
        b'-' => tagged("err", Value::String(lua.create_string(head)?)),
        b':' => Ok(Value::Integer(number(head))),
        b'$' | b'=' => {
            let len = number(head);
            if len < 0 {
                return Ok(Value::Boolean(false));
            }
            let start = (*at).min(bytes.len());
            let end = (start + len as usize).min(bytes.len());
            let data = &bytes[start..end];
            *at = end + 2;
            if kind == b'$' {
                return Ok(Value::String(lua.create_string(data)?));
            }
            let (format, text) = if data.len() >= 4 {
                (&data[..3], &data[4..])
            } else {
                (&data[..0], data)
            };
            let verbatim = lua.create_table()?;
            verbatim.raw_set("format", lua.create_string(format)?)?;
            verbatim.raw_set("string", lua.create_string(text)?)?;
            tagged("verbatim_string", Value::Table(verbatim))
        }
        b'*' | b'>' | b'~' | b'%' => {
            let len = number(head);
            if len < 0 {
                return Ok(Value::Boolean(false));
            }
            let len = len as usize;
            let table = lua.create_table_with_capacity(if kind == b'%' { 0 } else { len }, 0)?;
            match kind {
                b'%' => {
                    for _ in 0..len {
                        let key = parse(lua, bytes, at)?;
                        let value = parse(lua, bytes, at)?;
                        if key != Value::Nil {
                            table.raw_set(key, value)?;
                        }
                    }
                    tagged("map", Value::Table(table))
                }
                b'~' => {
                    for _ in 0..len {
                        let member = parse(lua, bytes, at)?;
                        if member != Value::Nil {
                            table.raw_set(member, true)?;
                        }
                    }
                    tagged("set", Value::Table(table))
                }
                _ => {
                    for i in 1..=len {
                        let element = parse(lua, bytes, at)?;
                        table.raw_set(i, element)?;
                    }
                    Ok(Value::Table(table))
                }
            }
        }
        b'_' => Ok(Value::Nil),
        b'#' => Ok(Value::Boolean(head == b"t")),
        b',' => {
            let value = crate::number::parse_f64(head).unwrap_or(0.0);
            tagged("double", Value::Number(value))
        }
        b'(' => tagged("big_number", Value::String(lua.create_string(head)?)),
        b'|' => {
            // An attribute describes the reply after it; scripts get only the reply.
            let len = number(head).max(0);
            for _ in 0..len * 2 {
                parse(lua, bytes, at)?;
            }
            parse(lua, bytes, at)
        }
        _ => Ok(Value::Nil),
    }
}

/// The error text of a script's result when it is an error table (`{err = text}`).
pub fn error_of(value: &Value) -> Option<String> {
    let Value::Table(table) = value else {
        return None;
    };
    match table.raw_get::<Value>("err") {
        Ok(Value::String(text)) => Some(text.to_string_lossy()),
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
        out.error(&text.to_string_lossy());
        return;
    }
    if let Value::String(text) = field("ok") {
        let text = text.to_string_lossy().replace(['\r', '\n'], " ");
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
        assert_eq!(number_arg(1.5e-7), "1.5e-7");
    }
}
