//! Whole RDB files, as redis-server writes them (`SAVE`, `BGSAVE`): the `REDIS0010` header,
//! then opcodes (databases, expiries, LRU/LFU hints, aux fields, module aux data, function
//! libraries) and keys, the EOF opcode and the CRC-64 of everything before it.

use super::read::{skip_module_data, Reader};
use super::{write, RdbResult, RDB_VERSION};
use crate::store::stream_log::NodeLimits;
use crate::store::{EncodingLimits, Value};
use std::io::Read;

use super::{OP_FUNCTION, OP_FUNCTION2};
const OP_MODULE_AUX: u8 = 0xF7;
const OP_IDLE: u8 = 0xF8;
const OP_FREQ: u8 = 0xF9;
const OP_AUX: u8 = 0xFA;
const OP_RESIZEDB: u8 = 0xFB;
const OP_EXPIRETIME_MS: u8 = 0xFC;
const OP_EXPIRETIME: u8 = 0xFD;
const OP_SELECTDB: u8 = 0xFE;
const OP_EOF: u8 = 0xFF;

/// The newest file version read: Redis 7.2's (its new set and stream encodings are read too).
const NEWEST_FILE_VERSION: u32 = RDB_VERSION as u32 + 1;

/// One key of a file.
pub struct Entry {
    pub db: usize,
    pub key: Vec<u8>,
    pub value: Value,
    /// Absolute expiry, Unix milliseconds.
    pub expire_ms: Option<u64>,
    /// Seconds idle, when the file recorded it (LRU policies).
    pub idle_seconds: Option<u64>,
    /// The LFU counter, when the file recorded it (LFU policies).
    pub freq: Option<u8>,
}

/// Something in the file that was passed over, for the caller to report.
pub enum Skipped {
    /// An aux field (`redis-ver`, `ctime`, `used-mem`, ...).
    Aux { name: Vec<u8>, value: Vec<u8> },
    /// A module's aux data.
    ModuleAux,
    /// A function library: its code, for the caller to load.
    Function { code: Vec<u8> },
    /// A key whose value is an empty collection (Redis skips them too).
    EmptyKey { key: Vec<u8> },
}

/// Reads a whole RDB file of `total` bytes from `input`, calling `entry` for every key and
/// `skipped` for what is passed over, in file order. The file must end with the EOF opcode
/// and, from version 5 on, a CRC-64 that matches (0 means the writer did not compute one);
/// the first problem ends the read with an error naming its byte offset. `databases` bounds
/// SELECTDB. O(file size).
pub fn read_file<R: Read>(
    input: R,
    total: u64,
    databases: usize,
    limits: &EncodingLimits,
    mut entry: impl FnMut(Entry, u64) -> RdbResult<()>,
    mut skipped: impl FnMut(Skipped),
) -> RdbResult<()> {
    let mut r = Reader::new(input, total);
    r.track_checksum();
    let mut magic = [0u8; 9];
    r.exact(&mut magic)?;
    if &magic[..5] != b"REDIS" {
        return Err(super::RdbError {
            offset: 0,
            what: "not an RDB file (no REDIS signature)".into(),
        });
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|v| (1..=NEWEST_FILE_VERSION).contains(v))
        .ok_or_else(|| super::RdbError {
            offset: 5,
            what: format!(
                "unsupported RDB version '{}'",
                String::from_utf8_lossy(&magic[5..])
            ),
        })?;
    let mut db = 0usize;
    let mut expire_ms: Option<u64> = None;
    let mut idle_seconds: Option<u64> = None;
    let mut freq: Option<u8> = None;
    loop {
        let at = r.offset();
        let op = r.u8()?;
        match op {
            OP_EOF => break,
            OP_SELECTDB => {
                let index = r.length()?;
                if index >= databases as u64 {
                    return Err(super::RdbError {
                        offset: at,
                        what: format!(
                            "database {index} out of range (the server has {databases}: raise 'databases')"
                        ),
                    });
                }
                db = index as usize;
            }
            OP_RESIZEDB => {
                r.length()?;
                r.length()?;
            }
            OP_EXPIRETIME_MS => expire_ms = Some(r.u64_le()?),
            OP_EXPIRETIME => expire_ms = Some(u64::from(r.u32_le()?) * 1000),
            OP_IDLE => idle_seconds = Some(r.length()?),
            OP_FREQ => freq = Some(r.u8()?),
            OP_AUX => {
                let name = r.string()?;
                let value = r.string()?;
                skipped(Skipped::Aux { name, value });
            }
            OP_MODULE_AUX => {
                r.length()?; // module id
                r.length()?; // when opcode
                r.length()?; // when
                skip_module_data(&mut r)?;
                skipped(Skipped::ModuleAux);
            }
            OP_FUNCTION2 => {
                let code = r.string()?;
                skipped(Skipped::Function { code });
            }
            OP_FUNCTION => {
                return Err(super::RdbError {
                    offset: at,
                    what: "a function in the pre-release 7.0 format (opcode 246)".into(),
                })
            }
            ty if !super::read::is_value_type(ty) => {
                return Err(super::RdbError {
                    offset: at,
                    what: format!("unknown opcode or value type 0x{ty:02x}"),
                })
            }
            ty => {
                let key = r.string()?;
                let value = r.value_maybe_empty(ty, limits)?;
                let read = r.offset();
                if value.is_empty_collection() {
                    expire_ms = None;
                    idle_seconds = None;
                    freq = None;
                    skipped(Skipped::EmptyKey { key });
                    continue;
                }
                entry(
                    Entry {
                        db,
                        key,
                        value,
                        expire_ms: expire_ms.take(),
                        idle_seconds: idle_seconds.take(),
                        freq: freq.take(),
                    },
                    read,
                )?;
            }
        }
    }
    if version >= 5 {
        let computed = r.checksum().unwrap_or(0);
        let at = r.offset();
        let stated = r.u64_le()?;
        if stated != 0 && stated != computed {
            return Err(super::RdbError {
                offset: at,
                what: format!(
                    "wrong RDB checksum: the file states {stated:016x}, its bytes give {computed:016x}"
                ),
            });
        }
    }
    if r.remaining() > 0 {
        return Err(r.error("bytes after the end of the RDB data"));
    }
    Ok(())
}

/// Builds a whole RDB file in memory, in the order redis-server 7.0 writes one: the header,
/// aux fields, function libraries, then each database (SELECTDB, RESIZEDB, its keys), the EOF
/// opcode and the CRC-64 of everything before it. The bytes are what a SYNC from
/// `redis-cli --rdb` receives; Redis and `--import-rdb` load them.
pub struct FileWriter {
    out: Vec<u8>,
    /// Bytes before the file, left for the caller.
    room: usize,
    scratch: Vec<u8>,
    stream_limits: NodeLimits,
}

impl FileWriter {
    /// A file, with its header, that starts `room` bytes into the buffer [`Self::finish`]
    /// returns, leaving room for what the caller sends before it, so that a file as large as
    /// the data set is never copied to be framed. `stream_limits` lays out stream nodes as DUMP
    /// does.
    pub fn with_front_room(room: usize, stream_limits: NodeLimits) -> FileWriter {
        let mut out = Vec::with_capacity(room + 256);
        out.resize(room, 0);
        out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        FileWriter {
            out,
            room,
            scratch: Vec::new(),
            stream_limits,
        }
    }

    /// An aux field (`redis-ver`, `ctime`, ...). O(len).
    pub fn aux(&mut self, name: &str, value: &[u8]) {
        self.out.push(OP_AUX);
        write::string(&mut self.out, name.as_bytes());
        write::string(&mut self.out, value);
    }

    /// A function library, by its code. O(len).
    pub fn function(&mut self, code: &[u8]) {
        self.out.push(OP_FUNCTION2);
        write::string(&mut self.out, code);
    }

    /// Starts database `index`, which holds `keys` keys, `expires` of them with an expiry.
    pub fn database(&mut self, index: usize, keys: usize, expires: usize) {
        self.out.push(OP_SELECTDB);
        write::len(&mut self.out, index as u64);
        self.out.push(OP_RESIZEDB);
        write::len(&mut self.out, keys as u64);
        write::len(&mut self.out, expires as u64);
    }

    /// One key of the current database, with its absolute expiry in Unix milliseconds.
    /// O(size of the value).
    pub fn entry(&mut self, key: &[u8], value: &Value, expire_ms: Option<u64>) {
        if let Some(when) = expire_ms {
            self.out.push(OP_EXPIRETIME_MS);
            self.out.extend_from_slice(&when.to_le_bytes());
        }
        // A file puts the value's type byte before the key: the value is encoded once into the
        // scratch buffer, and its type byte goes in front of the key.
        self.scratch.clear();
        write::value(&mut self.scratch, value, self.stream_limits);
        self.out.push(self.scratch[0]);
        write::string(&mut self.out, key);
        self.out.extend_from_slice(&self.scratch[1..]);
    }

    /// Ends the file: the EOF opcode and the CRC-64. Returns the buffer, the file after the
    /// front room. O(file size).
    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(OP_EOF);
        let crc = super::CRC64.checksum(&self.out[self.room..]);
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::list::ListValue;

    #[test]
    fn a_written_file_reads_back_with_its_databases_expiries_and_functions() {
        let mut file = FileWriter::with_front_room(4, NodeLimits::default());
        file.aux("redis-ver", b"7.0.15");
        file.function(b"#!lua name=lib\nredis.register_function('f', function() end)");
        file.database(0, 1, 0);
        file.entry(
            b"s",
            &Value::Str(b"value".as_slice().into(), Default::default()),
            None,
        );
        file.database(3, 1, 1);
        let mut list = ListValue::new();
        list.push_back(b"a");
        list.push_back(b"b");
        file.entry(b"l", &Value::List(Box::new(list)), Some(1_900_000_000_000));
        let framed = file.finish();
        assert!(framed[..4].iter().all(|&b| b == 0));
        let bytes = framed[4..].to_vec();
        assert!(bytes.starts_with(b"REDIS0010"));

        let mut entries = Vec::new();
        let mut functions = Vec::new();
        let read = read_file(
            bytes.as_slice(),
            bytes.len() as u64,
            16,
            &EncodingLimits::default(),
            |entry, _| {
                entries.push((
                    entry.db,
                    entry.key,
                    entry.value.type_name(),
                    entry.expire_ms,
                ));
                Ok(())
            },
            |skipped| {
                if let Skipped::Function { code } = skipped {
                    functions.push(code);
                }
            },
        );
        assert!(read.is_ok(), "{:?}", read.err());
        assert_eq!(
            entries,
            vec![
                (0, b"s".to_vec(), "string", None),
                (3, b"l".to_vec(), "list", Some(1_900_000_000_000)),
            ]
        );
        assert_eq!(functions.len(), 1);

        // The checksum covers every byte: one changed inside the "7.0.15" of the aux field
        // leaves a well-formed file that only the checksum refuses.
        let mut damaged = bytes.clone();
        let at = bytes.windows(6).position(|w| w == b"7.0.15").unwrap();
        damaged[at + 2] = b'1';
        let read = read_file(
            damaged.as_slice(),
            damaged.len() as u64,
            16,
            &EncodingLimits::default(),
            |_, _| Ok(()),
            |_| {},
        );
        assert!(read.is_err_and(|e| e.what.contains("checksum")));
    }
}
