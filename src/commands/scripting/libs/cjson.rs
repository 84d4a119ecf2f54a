//! `cjson`: JSON for scripts, behaving as the lua-cjson 2.1 Redis embeds. Decoding is
//! serde_json's; encoding follows lua-cjson's rules: numbers as C's `%.14g`, `/` escaped,
//! tables whose keys are all positive integers as arrays (refused when too sparse), other
//! tables as objects, the empty table as `{}`, `cjson.null` as `null`.

use super::super::engine::{lib_error, raising, success};
use super::format_g;
use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

/// The settings scripts change with `cjson.encode_max_depth` and the like.
#[derive(Debug, Clone, Copy)]
struct Settings {
    encode_max_depth: i64,
    decode_max_depth: i64,
    encode_invalid_numbers: bool,
    decode_invalid_numbers: bool,
    keep_buffer: bool,
    precision: usize,
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: false,
            decode_invalid_numbers: true,
            keep_buffer: true,
            precision: 14,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
        }
    }
}

/// `cjson.null`: the light userdata NULL, as lua-cjson's.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn int_arg(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Integer(n) => Some(*n),
        Value::Number(n) => Some(*n as i64),
        Value::String(s) => s.to_str().ok()?.trim().parse().ok(),
        _ => None,
    }
}

fn bool_arg(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Boolean(b) => Some(*b),
        Value::String(s) => match s.as_bytes().as_ref() {
            b"on" => Some(true),
            b"off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub fn install(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let settings = Rc::new(Cell::new(Settings::default()));
    let cjson = lua.create_table()?;
    cjson.set("_NAME", "cjson")?;
    cjson.set("_VERSION", "2.1.0")?;
    cjson.set("null", null())?;
    let shared = settings.clone();
    cjson.set(
        "encode",
        raising(lua, move |lua, args: MultiValue| {
            if args.len() != 1 {
                return lib_error(lua, "bad argument #1 to '?' (expected 1 argument)");
            }
            let mut out = Vec::new();
            match encode(&args[0], &shared.get(), 0, &mut out) {
                Ok(()) => success(lua, lua.create_string(&out)?),
                Err(text) => lib_error(lua, &text),
            }
        })?,
    )?;
    let shared = settings.clone();
    cjson.set(
        "decode",
        raising(lua, move |lua, args: MultiValue| {
            let text = match args.front() {
                Some(Value::String(s)) if args.len() == 1 => s.as_bytes().to_vec(),
                Some(Value::Integer(n)) if args.len() == 1 => n.to_string().into_bytes(),
                Some(Value::Number(n)) if args.len() == 1 => format_g(*n, 14).into_bytes(),
                _ => return lib_error(lua, "bad argument #1 to '?' (expected 1 argument)"),
            };
            let parsed: serde_json::Value = match serde_json::from_slice(&text) {
                Ok(parsed) => parsed,
                Err(e) => return lib_error(lua, &decode_error(&e, &text)),
            };
            let max = shared.get().decode_max_depth;
            let depth = depth_of(&parsed);
            if depth as i64 > max {
                return lib_error(
                    lua,
                    &format!(
                        "Found too many nested data structures ({}) at character 1",
                        max + 1
                    ),
                );
            }
            success(lua, to_lua(lua, &parsed)?)
        })?,
    )?;
    macro_rules! setting {
        ($name:literal, |$lua:ident, $s:ident, $args:ident| $apply:block, |$r:ident| $report:expr) => {{
            let shared = settings.clone();
            cjson.set(
                $name,
                raising(lua, move |$lua, $args: MultiValue| {
                    let mut $s = shared.get();
                    $apply
                    shared.set($s);
                    let $r = $s;
                    success($lua, $report)
                })?,
            )?;
        }};
    }
    setting!(
        "encode_max_depth",
        |lua, s, args| {
            if let Some(n) = int_arg(args.front()) {
                if n < 1 {
                    return lib_error(
                        lua,
                        "bad argument #1 to '?' (expected integer between 1 and 2147483647)",
                    );
                }
                s.encode_max_depth = n;
            }
        },
        |s| s.encode_max_depth
    );
    setting!(
        "decode_max_depth",
        |lua, s, args| {
            if let Some(n) = int_arg(args.front()) {
                if n < 1 {
                    return lib_error(
                        lua,
                        "bad argument #1 to '?' (expected integer between 1 and 2147483647)",
                    );
                }
                s.decode_max_depth = n;
            }
        },
        |s| s.decode_max_depth
    );
    setting!(
        "encode_invalid_numbers",
        |lua, s, args| {
            if let Some(on) = bool_arg(args.front()) {
                s.encode_invalid_numbers = on;
            }
        },
        |s| s.encode_invalid_numbers
    );
    setting!(
        "decode_invalid_numbers",
        |lua, s, args| {
            if let Some(on) = bool_arg(args.front()) {
                s.decode_invalid_numbers = on;
            }
        },
        |s| s.decode_invalid_numbers
    );
    setting!(
        "encode_keep_buffer",
        |lua, s, args| {
            if let Some(on) = bool_arg(args.front()) {
                s.keep_buffer = on;
            }
        },
        |s| s.keep_buffer
    );
    setting!(
        "encode_number_precision",
        |lua, s, args| {
            if let Some(n) = int_arg(args.front()) {
                if !(1..=14).contains(&n) {
                    return lib_error(
                        lua,
                        "bad argument #1 to '?' (expected integer between 1 and 14)",
                    );
                }
                s.precision = n as usize;
            }
        },
        |s| s.precision as i64
    );
    let shared = settings.clone();
    cjson.set(
        "encode_sparse_array",
        raising(lua, move |_, args: MultiValue| {
            let mut s = shared.get();
            if let Some(on) = bool_arg(args.front()) {
                s.sparse_convert = on;
            }
            if let Some(ratio) = int_arg(args.get(1)) {
                s.sparse_ratio = ratio.max(0);
            }
            if let Some(safe) = int_arg(args.get(2)) {
                s.sparse_safe = safe.max(0);
            }
            shared.set(s);
            Ok(Ok(MultiValue::from_iter([
                Value::Boolean(s.sparse_convert),
                Value::Integer(s.sparse_ratio),
                Value::Integer(s.sparse_safe),
            ])))
        })?,
    )?;
    let module = cjson.clone();
    cjson.set(
        "new",
        lua.create_function(move |_, _: MultiValue| Ok(module.clone()))?,
    )?;
    globals.set("cjson", cjson)?;
    Ok(())
}

/// lua-cjson's wording for a document it cannot read.
fn decode_error(error: &serde_json::Error, text: &[u8]) -> String {
    // serde_json counts lines and columns; lua-cjson counts characters from 1.
    let mut at = 0;
    let mut line = 1;
    for (i, &b) in text.iter().enumerate() {
        if line == error.line() {
            at = i + error.column();
            break;
        }
        if b == b'\n' {
            line += 1;
        }
    }
    let at = at.max(1);
    if error.is_eof() {
        format!("Expected value but found T_END at character {at}")
    } else {
        format!("Expected value but found invalid token at character {at}")
    }
}

/// Nesting depth of a document (a scalar is 0).
fn depth_of(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(depth_of).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(depth_of).max().unwrap_or(0),
        _ => 0,
    }
}

fn to_lua(lua: &Lua, value: &serde_json::Value) -> mlua::Result<Value> {
    Ok(match value {
        serde_json::Value::Null => null(),
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(lua.create_string(s)?),
        serde_json::Value::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
        serde_json::Value::Object(map) => {
            let table = lua.create_table_with_capacity(0, map.len())?;
            for (key, item) in map {
                table.raw_set(lua.create_string(key)?, to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
    })
}

/// The name lua-cjson gives a Lua type in its errors.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

fn encode_number(n: f64, settings: &Settings, out: &mut Vec<u8>) -> Result<(), String> {
    if !n.is_finite() {
        if !settings.encode_invalid_numbers {
            return Err("Cannot serialise number: must not be NaN or Inf".into());
        }
        let text = if n.is_nan() {
            "nan"
        } else if n > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        out.extend_from_slice(text.as_bytes());
        return Ok(());
    }
    out.extend_from_slice(format_g(n, settings.precision).as_bytes());
    Ok(())
}

fn encode_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// The length of `table` as an array (its largest key), `None` when it has a key that is
/// not a positive integer, or `Err` when it is too sparse to encode as one.
fn array_length(table: &Table, settings: &Settings) -> Result<Option<i64>, String> {
    let mut max = 0i64;
    let mut items = 0i64;
    for pair in table.pairs::<Value, Value>() {
        let Ok((key, _)) = pair else {
            return Ok(None);
        };
        let index = match key {
            Value::Integer(n) if n >= 1 => n,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as i64,
            _ => return Ok(None),
        };
        max = max.max(index);
        items += 1;
    }
    if settings.sparse_ratio > 0
        && max > items * settings.sparse_ratio
        && max > settings.sparse_safe
    {
        if !settings.sparse_convert {
            return Err("Cannot serialise table: excessively sparse array".into());
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode(value: &Value, settings: &Settings, depth: i64, out: &mut Vec<u8>) -> Result<(), String> {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => encode_number(*n as f64, settings, out)?,
        Value::Number(n) => encode_number(*n, settings, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(table) => {
            let depth = depth + 1;
            if depth > settings.encode_max_depth {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_length(table, settings)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item = table.raw_get::<Value>(i).unwrap_or(Value::Nil);
                        encode(&item, settings, depth, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in table.pairs::<Value, Value>() {
                        let Ok((key, item)) = pair else { continue };
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &key {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Integer(n) => encode_string(
                                format_g(*n as f64, settings.precision).as_bytes(),
                                out,
                            ),
                            Value::Number(n) => {
                                encode_string(format_g(*n, settings.precision).as_bytes(), out)
                            }
                            other => {
                                return Err(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    type_name(other)
                                ))
                            }
                        }
                        out.push(b':');
                        encode(&item, settings, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                type_name(other)
            ))
        }
    }
    Ok(())
}
