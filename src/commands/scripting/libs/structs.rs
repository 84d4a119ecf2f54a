//! `struct`: Roberto Ierusalimschy's binary packing library, as Redis embeds it.
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, data [, pos])` (values, then the next
//! position), `struct.size(fmt)`. Formats: `<` `>` `=` endianness, `!n` alignment, `x` a
//! padding byte, `b B h H l L T i[n] I[n]` integers, `f d` floats, `s` a zero-terminated
//! string, `c[n]` n characters (`c0` in unpack: the previous value is the length).

use super::super::engine::{lib_error, raising, success, Outcome};
use super::number;
use mlua::{Lua, MultiValue, Table, Value};

/// Largest integer size.
const MAX_INT: usize = 8;

struct Format<'f> {
    text: &'f [u8],
    at: usize,
    little: bool,
    align: usize,
}

enum Item {
    Pad,
    Int { size: usize, signed: bool },
    Float,
    Double,
    Zstring,
    Chars(usize),
    Skip,
}

impl Format<'_> {
    fn new(text: &[u8]) -> Format<'_> {
        Format {
            text,
            at: 0,
            little: cfg!(target_endian = "little"),
            align: 1,
        }
    }

    fn number(&mut self, default: usize) -> usize {
        let start = self.at;
        while self.at < self.text.len() && self.text[self.at].is_ascii_digit() {
            self.at += 1;
        }
        std::str::from_utf8(&self.text[start..self.at])
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(default)
    }

    /// The next item and its size, or an error text.
    fn next(&mut self) -> Option<Result<(Item, usize), String>> {
        let &option = self.text.get(self.at)?;
        self.at += 1;
        let int = |size: usize, signed: bool| Ok((Item::Int { size, signed }, size));
        Some(match option {
            b'b' => int(1, true),
            b'B' => int(1, false),
            b'h' => int(2, true),
            b'H' => int(2, false),
            b'l' | b'j' => int(8, true),
            b'L' | b'J' | b'T' => int(8, false),
            b'i' | b'I' => {
                let size = self.number(4);
                if size > MAX_INT {
                    return Some(Err(format!(
                        "integral size {size} is larger than limit of {MAX_INT}"
                    )));
                }
                int(size, option == b'i')
            }
            b'f' => Ok((Item::Float, 4)),
            b'd' => Ok((Item::Double, 8)),
            b'x' => Ok((Item::Pad, 1)),
            b's' => Ok((Item::Zstring, 0)),
            b'c' => {
                let size = self.number(1);
                Ok((Item::Chars(size), size))
            }
            b' ' => Ok((Item::Skip, 0)),
            b'<' => {
                self.little = true;
                Ok((Item::Skip, 0))
            }
            b'>' => {
                self.little = false;
                Ok((Item::Skip, 0))
            }
            b'=' => {
                self.little = cfg!(target_endian = "little");
                Ok((Item::Skip, 0))
            }
            b'!' => {
                let align = self.number(8);
                if !align.is_power_of_two() {
                    return Some(Err("alignment must be power of 2".into()));
                }
                self.align = align;
                Ok((Item::Skip, 0))
            }
            other => Err(format!("invalid format option '{}'", other as char)),
        })
    }

    /// Padding needed before an item of `size` at offset `len`.
    fn padding(&self, item: &Item, size: usize, len: usize) -> usize {
        let aligned = matches!(item, Item::Int { .. } | Item::Float | Item::Double);
        if !aligned || size <= 1 || self.align <= 1 {
            return 0;
        }
        let align = size.min(self.align);
        (align - (len & (align - 1))) & (align - 1)
    }
}

fn int_bytes(value: i64, size: usize, little: bool, out: &mut Vec<u8>) {
    let bytes = value.to_le_bytes();
    let mut chunk: Vec<u8> = bytes[..size.min(8)].to_vec();
    if !little {
        chunk.reverse();
    }
    out.extend_from_slice(&chunk);
}

fn pack(lua: &Lua, args: MultiValue) -> Outcome {
    let Some(Value::String(fmt)) = args.front() else {
        return lib_error(lua, "bad argument #1 to 'pack' (string expected)");
    };
    let fmt = fmt.as_bytes().to_vec();
    let mut format = Format::new(&fmt);
    let mut out = Vec::new();
    let mut arg = 1;
    while let Some(item) = format.next() {
        let (item, size) = match item {
            Ok(item) => item,
            Err(text) => return lib_error(lua, &format!("bad argument #1 to 'pack' ({text})")),
        };
        let pad = format.padding(&item, size, out.len());
        out.resize(out.len() + pad, 0);
        let value = args.get(arg);
        let missing = || {
            format!(
                "bad argument #{} to 'pack' (number expected, got no value)",
                arg + 1
            )
        };
        match item {
            Item::Skip => {}
            Item::Pad => out.push(0),
            Item::Int { size, .. } => {
                let Some(n) = number(value) else {
                    return lib_error(lua, &missing());
                };
                int_bytes(n as i64, size, format.little, &mut out);
                arg += 1;
            }
            Item::Float | Item::Double => {
                let Some(n) = number(value) else {
                    return lib_error(lua, &missing());
                };
                let mut bytes = if matches!(item, Item::Float) {
                    (n as f32).to_le_bytes().to_vec()
                } else {
                    n.to_le_bytes().to_vec()
                };
                if !format.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
                arg += 1;
            }
            Item::Zstring | Item::Chars(_) => {
                let text = match value {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(n)) => n.to_string().into_bytes(),
                    Some(Value::Number(n)) => super::format_g(*n, 14).into_bytes(),
                    _ => {
                        return lib_error(
                            lua,
                            &format!(
                                "bad argument #{} to 'pack' (string expected, got no value)",
                                arg + 1
                            ),
                        )
                    }
                };
                match item {
                    Item::Chars(size) => {
                        let size = if size == 0 { text.len() } else { size };
                        if text.len() < size {
                            return lib_error(
                                lua,
                                &format!("bad argument #{} to 'pack' (string too short)", arg + 1),
                            );
                        }
                        out.extend_from_slice(&text[..size]);
                    }
                    _ => {
                        if text.contains(&0) {
                            return lib_error(
                                lua,
                                &format!(
                                    "bad argument #{} to 'pack' (string contains zeros)",
                                    arg + 1
                                ),
                            );
                        }
                        out.extend_from_slice(&text);
                        out.push(0);
                    }
                }
                arg += 1;
            }
        }
    }
    success(lua, lua.create_string(&out)?)
}

fn unpack(lua: &Lua, args: MultiValue) -> Outcome {
    let (Some(Value::String(fmt)), Some(Value::String(data))) = (args.front(), args.get(1)) else {
        return lib_error(lua, "bad argument #2 to 'unpack' (string expected)");
    };
    let fmt = fmt.as_bytes().to_vec();
    let data = data.as_bytes().to_vec();
    let mut pos = match number(args.get(2)) {
        Some(n) if n >= 1.0 => n as usize - 1,
        Some(_) => {
            return lib_error(
                lua,
                "bad argument #3 to 'unpack' (offset must be 1 or greater)",
            )
        }
        None => 0,
    };
    let mut format = Format::new(&fmt);
    let mut results = MultiValue::new();
    let too_short = || "bad argument #2 to 'unpack' (data string too short)".to_string();
    while let Some(item) = format.next() {
        let (item, size) = match item {
            Ok(item) => item,
            Err(text) => return lib_error(lua, &format!("bad argument #1 to 'unpack' ({text})")),
        };
        pos += format.padding(&item, size, pos);
        match item {
            Item::Skip => {}
            Item::Pad => pos += 1,
            Item::Int { size, signed } => {
                let Some(bytes) = data.get(pos..pos + size) else {
                    return lib_error(lua, &too_short());
                };
                let mut value: u64 = 0;
                for i in 0..size {
                    let byte = if format.little {
                        bytes[size - 1 - i]
                    } else {
                        bytes[i]
                    };
                    value = (value << 8) | byte as u64;
                }
                let n = if signed && size < 8 && size > 0 && value >> (size * 8 - 1) & 1 == 1 {
                    (value | (!0u64 << (size * 8))) as i64 as f64
                } else if signed {
                    value as i64 as f64
                } else {
                    value as f64
                };
                results.push_back(Value::Number(n));
                pos += size;
            }
            Item::Float | Item::Double => {
                let Some(bytes) = data.get(pos..pos + size) else {
                    return lib_error(lua, &too_short());
                };
                let mut bytes = bytes.to_vec();
                if !format.little {
                    bytes.reverse();
                }
                let n = if size == 4 {
                    f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as f64
                } else {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&bytes);
                    f64::from_le_bytes(b)
                };
                results.push_back(Value::Number(n));
                pos += size;
            }
            Item::Chars(size) => {
                let size = if size == 0 {
                    match results.pop_back() {
                        Some(Value::Number(n)) => n as usize,
                        Some(Value::Integer(n)) => n as usize,
                        _ => return lib_error(lua, "format 'c0' needs a previous size"),
                    }
                } else {
                    size
                };
                let Some(bytes) = data.get(pos..pos + size) else {
                    return lib_error(lua, &too_short());
                };
                results.push_back(Value::String(lua.create_string(bytes)?));
                pos += size;
            }
            Item::Zstring => {
                let rest = data.get(pos..).unwrap_or_default();
                let Some(end) = rest.iter().position(|&b| b == 0) else {
                    return lib_error(lua, "unfinished string in data");
                };
                results.push_back(Value::String(lua.create_string(&rest[..end])?));
                pos += end + 1;
            }
        }
    }
    results.push_back(Value::Number((pos + 1) as f64));
    Ok(Ok(results))
}

fn size(lua: &Lua, args: MultiValue) -> Outcome {
    let Some(Value::String(fmt)) = args.front() else {
        return lib_error(lua, "bad argument #1 to 'size' (string expected)");
    };
    let fmt = fmt.as_bytes().to_vec();
    let mut format = Format::new(&fmt);
    let mut total = 0;
    while let Some(item) = format.next() {
        let (item, size) = match item {
            Ok(item) => item,
            Err(text) => return lib_error(lua, &format!("bad argument #1 to 'size' ({text})")),
        };
        if matches!(item, Item::Zstring) {
            return lib_error(
                lua,
                "bad argument #1 to 'size' (options 's' has no fixed size)",
            );
        }
        total += format.padding(&item, size, total) + size;
    }
    success(lua, total as f64)
}

pub fn install(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let module = lua.create_table()?;
    module.set("pack", raising(lua, pack)?)?;
    module.set("unpack", raising(lua, unpack)?)?;
    module.set("size", raising(lua, size)?)?;
    globals.set("struct", module)?;
    Ok(())
}
