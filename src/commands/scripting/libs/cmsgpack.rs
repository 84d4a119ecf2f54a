//! `cmsgpack`: MessagePack for scripts, as the lua-cmsgpack Redis embeds. Encoding with the
//! `rmp` crate's markers: integral numbers as the smallest integer, other numbers as a 32-bit
//! float when exact, else 64-bit; tables whose keys are exactly 1..n as arrays, other tables
//! as maps; nesting deeper than 16 as nil. `pack(...)` packs each argument in turn;
//! `unpack(s)` returns every value, `unpack_one(s, offset)` and `unpack_limit(s, n, offset)`
//! the next offset (-1 at the end) and the values read.

use super::super::engine::{lib_error, raising, Outcome};
use super::number;
use mlua::{Lua, MultiValue, Table, Value};
use rmp::encode;

/// Deepest table nesting packed; deeper tables are packed as nil, as lua-cmsgpack does.
const MAX_NESTING: usize = 16;

fn pack_value(value: &Value, depth: usize, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail: the results are ignored.
    match value {
        Value::Nil => {
            let _ = encode::write_nil(out);
        }
        Value::Boolean(b) => {
            let _ = encode::write_bool(out, *b);
        }
        Value::Integer(n) => pack_number(*n as f64, out),
        Value::Number(n) => pack_number(*n, out),
        Value::String(s) => {
            let bytes = s.as_bytes();
            let _ = encode::write_str_len(out, bytes.len() as u32);
            out.extend_from_slice(&bytes);
        }
        Value::Table(table) if depth < MAX_NESTING => pack_table(table, depth + 1, out),
        _ => {
            let _ = encode::write_nil(out);
        }
    }
}

fn pack_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && n.fract() == 0.0 && n >= i64::MIN as f64 && n < 18446744073709551616.0 {
        if n >= 0.0 {
            let _ = encode::write_uint(out, n as u64);
        } else {
            let _ = encode::write_sint(out, n as i64);
        }
    } else if (n as f32) as f64 == n || n.is_nan() {
        let _ = encode::write_f32(out, n as f32);
    } else {
        let _ = encode::write_f64(out, n);
    }
}

/// `Some(n)` when the table's keys are exactly 1..n.
fn array_length(table: &Table) -> Option<usize> {
    let mut count = 0usize;
    let mut max = 0usize;
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair.ok()?;
        let index = match key {
            Value::Integer(n) if n >= 1 => n as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => return None,
        };
        max = max.max(index);
        count += 1;
    }
    (max == count).then_some(count)
}

fn pack_table(table: &Table, depth: usize, out: &mut Vec<u8>) {
    if let Some(len) = array_length(table) {
        let _ = encode::write_array_len(out, len as u32);
        for i in 1..=len {
            let item = table.raw_get::<Value>(i).unwrap_or(Value::Nil);
            pack_value(&item, depth, out);
        }
        return;
    }
    let pairs: Vec<(Value, Value)> = table
        .pairs::<Value, Value>()
        .filter_map(Result::ok)
        .collect();
    let _ = encode::write_map_len(out, pairs.len() as u32);
    for (key, item) in &pairs {
        pack_value(key, depth, out);
        pack_value(item, depth, out);
    }
}

/// Reads one value at `*at`; `None` when the data ends early or holds an unknown marker.
fn unpack_value(lua: &Lua, data: &[u8], at: &mut usize) -> mlua::Result<Option<Value>> {
    let take = |at: &mut usize, n: usize| -> Option<&[u8]> {
        let bytes = data.get(*at..*at + n)?;
        *at += n;
        Some(bytes)
    };
    let uint = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64);
    let Some(&marker) = data.get(*at) else {
        return Ok(None);
    };
    *at += 1;
    let length = |at: &mut usize, n: usize| take(at, n).map(|b| uint(b) as usize);
    let value = match marker {
        0x00..=0x7f => Value::Number(marker as f64),
        0xe0..=0xff => Value::Number(marker as i8 as f64),
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xcc..=0xcf => {
            let size = 1 << (marker - 0xcc);
            let Some(bytes) = take(at, size) else {
                return Ok(None);
            };
            Value::Number(uint(bytes) as f64)
        }
        0xd0..=0xd3 => {
            let size = 1usize << (marker - 0xd0);
            let Some(bytes) = take(at, size) else {
                return Ok(None);
            };
            let raw = uint(bytes);
            let shift = 64 - size * 8;
            Value::Number(((raw << shift) as i64 >> shift) as f64)
        }
        0xca => {
            let Some(bytes) = take(at, 4) else {
                return Ok(None);
            };
            Value::Number(f32::from_bits(uint(bytes) as u32) as f64)
        }
        0xcb => {
            let Some(bytes) = take(at, 8) else {
                return Ok(None);
            };
            Value::Number(f64::from_bits(uint(bytes)))
        }
        0xa0..=0xbf | 0xd9 | 0xda | 0xdb | 0xc4 | 0xc5 | 0xc6 => {
            let len = match marker {
                0xa0..=0xbf => Some((marker & 0x1f) as usize),
                0xd9 | 0xc4 => length(at, 1),
                0xda | 0xc5 => length(at, 2),
                _ => length(at, 4),
            };
            let Some(bytes) = len.and_then(|len| take(at, len)) else {
                return Ok(None);
            };
            Value::String(lua.create_string(bytes)?)
        }
        0x90..=0x9f | 0xdc | 0xdd => {
            let len = match marker {
                0x90..=0x9f => Some((marker & 0x0f) as usize),
                0xdc => length(at, 2),
                _ => length(at, 4),
            };
            let Some(len) = len else { return Ok(None) };
            let table = lua.create_table_with_capacity(len.min(1 << 16), 0)?;
            for i in 1..=len {
                let Some(item) = unpack_value(lua, data, at)? else {
                    return Ok(None);
                };
                table.raw_set(i, item)?;
            }
            Value::Table(table)
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let len = match marker {
                0x80..=0x8f => Some((marker & 0x0f) as usize),
                0xde => length(at, 2),
                _ => length(at, 4),
            };
            let Some(len) = len else { return Ok(None) };
            let table = lua.create_table()?;
            for _ in 0..len {
                let Some(key) = unpack_value(lua, data, at)? else {
                    return Ok(None);
                };
                let Some(item) = unpack_value(lua, data, at)? else {
                    return Ok(None);
                };
                if key != Value::Nil {
                    table.raw_set(key, item)?;
                }
            }
            Value::Table(table)
        }
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// Reads up to `limit` values (0: all) from `offset`: the next offset (-1 at the end) and them.
fn unpack_from(lua: &Lua, data: &[u8], limit: usize, offset: usize) -> Outcome {
    let mut at = offset;
    let mut values = Vec::new();
    while at < data.len() && (limit == 0 || values.len() < limit) {
        match unpack_value(lua, data, &mut at)? {
            Some(value) => values.push(value),
            None => return lib_error(lua, "Missing bytes in input."),
        }
    }
    let next = if at >= data.len() { -1.0 } else { at as f64 };
    let mut results = MultiValue::from_iter([Value::Number(next)]);
    results.extend(values);
    Ok(Ok(results))
}

fn data_arg(args: &MultiValue) -> Option<Vec<u8>> {
    match args.front()? {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

pub fn install(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let module = lua.create_table()?;
    module.set("_NAME", "cmsgpack")?;
    module.set("_VERSION", "lua-cmsgpack 0.4.0")?;
    module.set(
        "pack",
        raising(lua, |lua, args: MultiValue| {
            if args.is_empty() {
                return lib_error(lua, "MessagePack pack needs input.");
            }
            let mut out = Vec::new();
            for value in &args {
                pack_value(value, 0, &mut out);
            }
            Ok(Ok(MultiValue::from_iter([Value::String(
                lua.create_string(&out)?,
            )])))
        })?,
    )?;
    module.set(
        "unpack",
        raising(lua, |lua, args: MultiValue| {
            let Some(data) = data_arg(&args) else {
                return lib_error(lua, "MessagePack unpack needs a string.");
            };
            match unpack_from(lua, &data, 0, 0)? {
                Ok(mut results) => {
                    results.pop_front();
                    Ok(Ok(results))
                }
                Err(e) => Ok(Err(e)),
            }
        })?,
    )?;
    module.set(
        "unpack_one",
        raising(lua, |lua, args: MultiValue| {
            let Some(data) = data_arg(&args) else {
                return lib_error(lua, "MessagePack unpack needs a string.");
            };
            let offset = number(args.get(1)).unwrap_or(0.0).max(0.0) as usize;
            unpack_from(lua, &data, 1, offset)
        })?,
    )?;
    module.set(
        "unpack_limit",
        raising(lua, |lua, args: MultiValue| {
            let Some(data) = data_arg(&args) else {
                return lib_error(lua, "MessagePack unpack needs a string.");
            };
            let limit = number(args.get(1)).unwrap_or(0.0).max(0.0) as usize;
            let offset = number(args.get(2)).unwrap_or(0.0).max(0.0) as usize;
            unpack_from(lua, &data, limit, offset)
        })?,
    )?;
    globals.set("cmsgpack", module)?;
    Ok(())
}
