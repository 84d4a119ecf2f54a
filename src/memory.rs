//! The allocator: jemalloc (as Redis is built on Linux) or, on Windows and without the
//! `jemalloc` feature, the system's, wrapped to count live heap bytes so INFO `used_memory`
//! and `maxmemory` see the data's real size; and what the allocator itself reports (INFO's
//! `allocator_*` fields, DEBUG MALLCTL, MEMORY MALLOC-STATS).

use std::alloc::{GlobalAlloc, Layout};

#[cfg(all(feature = "jemalloc", unix))]
use tikv_jemallocator::Jemalloc as Inner;

#[cfg(not(all(feature = "jemalloc", unix)))]
use std::alloc::System as Inner;
use std::sync::atomic::{AtomicUsize, Ordering};

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// The allocator, counting. Relaxed atomics: the count is a statistic, not a fence.
pub struct CountingAllocator;

// SAFETY: every method forwards to the inner allocator with the caller's arguments unchanged and only
// adds bookkeeping on a counter.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = Inner.alloc(layout);
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Inner.dealloc(ptr, layout);
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = Inner.alloc_zeroed(layout);
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Inner.realloc(ptr, layout, new_size);
        if !new.is_null() {
            ALLOCATED.fetch_add(new_size, Ordering::Relaxed);
            ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

/// Live heap bytes, when [`CountingAllocator`] is the global allocator (0 otherwise).
pub fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// The allocator's own figures (INFO's `allocator_*` fields), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocatorStats {
    /// Bytes handed out to the program, size classes rounded up.
    pub allocated: u64,
    /// Bytes in pages that hold at least one live allocation.
    pub active: u64,
    /// Bytes the allocator keeps resident, its own metadata included.
    pub resident: u64,
}

/// The allocator's figures for INFO and MEMORY STATS. Where it keeps none (the system
/// allocator), what Redis built with libc reports: the `counted` bytes allocated, the
/// process's resident bytes (`rss`) active and resident.
pub fn allocator_figures(counted: u64, rss: u64) -> AllocatorStats {
    allocator_stats().unwrap_or(AllocatorStats {
        allocated: counted,
        active: rss,
        resident: rss,
    })
}

/// What a mallctl read or write gave back to DEBUG MALLCTL / MALLCTL-STR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mallctl<T> {
    /// The control's value (read before any write).
    Value(T),
    /// A write-only control was written.
    Written,
}

/// Why a mallctl call failed: the error number jemalloc returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MallctlError(pub i32);

impl std::fmt::Display for MallctlError {
    /// The C library's text for the error number, as Redis replies `strerror(ret)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = std::io::Error::from_raw_os_error(self.0).to_string();
        // Rust appends " (os error N)" to strerror's text.
        let text = text.split(" (os error").next().unwrap_or_default();
        f.write_str(text)
    }
}

#[cfg(all(feature = "jemalloc", unix))]
pub use self::jemalloc::*;

#[cfg(not(all(feature = "jemalloc", unix)))]
pub use self::system::*;

/// The system allocator keeps no figures of its own and has no controls.
#[cfg(not(all(feature = "jemalloc", unix)))]
mod system {
    use super::{AllocatorStats, Mallctl, MallctlError};

    /// No control has a name here: C's ENOENT, "No such file or directory".
    const ENOENT: i32 = 2;

    /// INFO `mem_allocator`, as Redis built with libc names it.
    pub fn allocator_name() -> String {
        "libc".to_string()
    }

    pub fn allocator_stats() -> Option<AllocatorStats> {
        None
    }

    pub fn has_mallctl() -> bool {
        false
    }

    pub fn mallctl_int(_name: &[u8], _new: Option<i64>) -> Result<Mallctl<i64>, MallctlError> {
        Err(MallctlError(ENOENT))
    }

    pub fn mallctl_str(_name: &[u8], _new: Option<&[u8]>) -> Result<Mallctl<String>, MallctlError> {
        Err(MallctlError(ENOENT))
    }

    pub fn malloc_stats() -> Option<String> {
        None
    }

    /// Nothing to purge here: [`crate::process::release_free_memory`] trims libc's heap.
    pub fn purge() -> bool {
        false
    }

    pub fn set_background_thread(_on: bool) {}
}

/// jemalloc, through its mallctl interface (the names and types are jemalloc 5.3's).
#[cfg(all(feature = "jemalloc", unix))]
mod jemalloc {
    use super::{AllocatorStats, Mallctl, MallctlError};
    use std::ffi::{c_char, c_void, CStr, CString};
    use tikv_jemalloc_sys as sys;

    const EINVAL: i32 = libc::EINVAL;
    const EPERM: i32 = libc::EPERM;
    const ENOENT: i32 = libc::ENOENT;

    /// `name` as the C string mallctl takes; a name with a NUL in it names nothing.
    fn c_name(name: &[u8]) -> Result<CString, MallctlError> {
        CString::new(name).map_err(|_| MallctlError(ENOENT))
    }

    /// Reads a control of type `T`.
    fn read<T: Copy + Default>(name: &CStr) -> Option<T> {
        let mut value = T::default();
        let mut size = std::mem::size_of::<T>();
        // SAFETY: `value` is a `T` of `size` bytes; jemalloc writes at most `size` bytes.
        let ret = unsafe {
            sys::mallctl(
                name.as_ptr(),
                (&mut value as *mut T).cast::<c_void>(),
                &mut size,
                std::ptr::null_mut(),
                0,
            )
        };
        (ret == 0).then_some(value)
    }

    /// Writes a control of type `T`, returning jemalloc's error number.
    fn write<T>(name: &CStr, mut value: T) -> i32 {
        // SAFETY: `value` is a `T`, and its size is passed with it.
        unsafe {
            sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                (&mut value as *mut T).cast::<c_void>(),
                std::mem::size_of::<T>(),
            )
        }
    }

    /// Writes the bytes of `value` to a control without reading it; with no value, calls a
    /// void control (`thread.tcache.flush`, `arena.<i>.purge`). Returns jemalloc's error
    /// number.
    fn write_raw(name: &CStr, value: Option<&mut [u8]>) -> i32 {
        let (newp, newlen) = match value {
            Some(bytes) => (bytes.as_mut_ptr().cast::<c_void>(), bytes.len()),
            None => (std::ptr::null_mut(), 0),
        };
        // SAFETY: jemalloc reads at most `newlen` bytes at `newp`, which the slice holds.
        unsafe {
            sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                newp,
                newlen,
            )
        }
    }

    /// INFO `mem_allocator`: `jemalloc-5.3.0`, as Redis names it.
    pub fn allocator_name() -> String {
        let version = read::<*const c_char>(c"version")
            // SAFETY: jemalloc's version is a static NUL-terminated string.
            .map(|p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
            .unwrap_or_default();
        // "5.3.0-1-g<commit>": the release is the part before the first dash.
        format!("jemalloc-{}", version.split('-').next().unwrap_or_default())
    }

    /// Fresh figures: the epoch advanced first, as Redis's cron does before reading them.
    pub fn allocator_stats() -> Option<AllocatorStats> {
        write(c"epoch", 1u64);
        let field = |name: &CStr| read::<usize>(name).map(|v| v as u64);
        Some(AllocatorStats {
            allocated: field(c"stats.allocated")?,
            active: field(c"stats.active")?,
            resident: field(c"stats.resident")?,
        })
    }

    pub fn has_mallctl() -> bool {
        true
    }

    /// Controls whose value is a C string (`const char *`) in jemalloc 5.3: only these are
    /// read or written as strings, since a string read of another control would take its
    /// number for a pointer, and an integer written to one of these would be taken for one.
    fn is_string_control(name: &[u8]) -> bool {
        const NAMES: &[&[u8]] = &[
            b"version",
            b"config.malloc_conf",
            b"opt.metadata_thp",
            b"opt.dss",
            b"opt.percpu_arena",
            b"opt.stats_print_opts",
            b"opt.stats_interval_opts",
            b"opt.junk",
            b"opt.thp",
            b"opt.prof_prefix",
            b"opt.prof_time_res",
            b"opt.zero_realloc",
            b"thread.prof.name",
            b"prof.dump",
            b"prof.prefix",
        ];
        NAMES.contains(&name)
            || (name.starts_with(b"arena.") || name.starts_with(b"stats.arenas."))
                && name.ends_with(b".dss")
    }

    /// Controls that free or repoint memory the server still uses, take a pointer (an
    /// address to look up, extent hooks), install function pointers or create arenas that
    /// can never be destroyed: any of them could crash the process or exhaust jemalloc's
    /// arenas, so they are refused.
    fn is_unsafe_control(name: &[u8]) -> bool {
        let arena_action = name.starts_with(b"arena.")
            && [&b".reset"[..], b".destroy", b".extent_hooks"]
                .iter()
                .any(|end| name.ends_with(end));
        arena_action
            || name == b"arenas.lookup"
            || name == b"arenas.create"
            || name.starts_with(b"experimental.")
            || name.starts_with(b"tcache.")
    }

    /// DEBUG MALLCTL: reads an integer control (64 bits, then 32, 16 and 8 until the size
    /// fits, as Redis tries them), or writes `new` and answers the value before; a
    /// write-only control answers [`Mallctl::Written`]. A value is written only at a size
    /// that holds it (a `bool`, the only 8-bit type, takes 0 and 1), never cut down.
    pub fn mallctl_int(name: &[u8], new: Option<i64>) -> Result<Mallctl<i64>, MallctlError> {
        if is_unsafe_control(name) {
            return Err(MallctlError(EPERM));
        }
        if is_string_control(name) && new.is_some() {
            return Err(MallctlError(EINVAL));
        }
        let c = c_name(name)?;
        for size in [8, 4, 2, 1] {
            let mut new_bytes = [0u8; 8];
            if let Some(value) = new {
                match encode(value, size) {
                    Some(bytes) => new_bytes = bytes,
                    None => continue,
                }
            }
            let (newp, newlen) = match new {
                Some(_) => (new_bytes.as_mut_ptr().cast::<c_void>(), size),
                None => (std::ptr::null_mut(), 0),
            };
            let mut old = [0u8; 8];
            let mut old_size = size;
            // SAFETY: `old` and `new_bytes` are 8-byte buffers and jemalloc is told at most
            // `size` (≤ 8) bytes of each.
            let ret = unsafe {
                sys::mallctl(
                    c.as_ptr(),
                    old.as_mut_ptr().cast::<c_void>(),
                    &mut old_size,
                    newp,
                    newlen,
                )
            };
            match ret {
                0 => return Ok(Mallctl::Value(decode(&old, size))),
                EPERM if new.is_some() => {
                    // A write-only control: written without reading.
                    match write_raw(&c, Some(&mut new_bytes[..size])) {
                        0 => return Ok(Mallctl::Written),
                        EINVAL => {}
                        other => return Err(MallctlError(other)),
                    }
                }
                EINVAL => {}
                other => return Err(MallctlError(other)),
            }
        }
        Err(MallctlError(EINVAL))
    }

    /// `value` in the first `size` bytes, as a control of that size holds it (32 and 16 bits
    /// signed or unsigned, 8 bits a `bool`), or None if it does not fit.
    fn encode(value: i64, size: usize) -> Option<[u8; 8]> {
        let mut bytes = [0u8; 8];
        match size {
            8 => bytes.copy_from_slice(&value.to_ne_bytes()),
            4 => {
                let narrow = u32::try_from(value)
                    .or_else(|_| i32::try_from(value).map(|v| v as u32))
                    .ok()?;
                bytes[..4].copy_from_slice(&narrow.to_ne_bytes());
            }
            2 => {
                let narrow = u16::try_from(value)
                    .or_else(|_| i16::try_from(value).map(|v| v as u16))
                    .ok()?;
                bytes[..2].copy_from_slice(&narrow.to_ne_bytes());
            }
            _ => bytes[0] = u8::try_from(value).ok().filter(|&b| b <= 1)?,
        }
        Some(bytes)
    }

    /// The control's value from the first `size` bytes: 64 bits signed (`ssize_t` -1 reads
    /// -1), narrower ones unsigned, as Redis reads them into a zeroed 64-bit integer.
    fn decode(bytes: &[u8; 8], size: usize) -> i64 {
        match size {
            8 => i64::from_ne_bytes(*bytes),
            4 => <[u8; 4]>::try_from(&bytes[..4]).map_or(0, u32::from_ne_bytes) as i64,
            2 => <[u8; 2]>::try_from(&bytes[..2]).map_or(0, u16::from_ne_bytes) as i64,
            _ => bytes[0] as i64,
        }
    }

    /// DEBUG MALLCTL-STR: reads a string control and, with `new`, writes it (`VOID` writes
    /// nothing, which is how void actions such as `thread.tcache.flush` are called).
    /// Answers the value before the write, or [`Mallctl::Written`] for a write-only control.
    pub fn mallctl_str(name: &[u8], new: Option<&[u8]>) -> Result<Mallctl<String>, MallctlError> {
        if is_unsafe_control(name) {
            return Err(MallctlError(EPERM));
        }
        let c = c_name(name)?;
        let mut old: *const c_char = std::ptr::null();
        let mut old_size = std::mem::size_of::<*const c_char>();
        // SAFETY: `old` is a pointer-sized slot, and its size is passed with it.
        let read_ret = unsafe {
            sys::mallctl(
                c.as_ptr(),
                (&mut old as *mut *const c_char).cast::<c_void>(),
                &mut old_size,
                std::ptr::null_mut(),
                0,
            )
        };
        let read_ret = match read_ret {
            0 if !is_string_control(name) => EINVAL,
            other => other,
        };
        if read_ret != 0 && !(read_ret == EPERM && new.is_some()) {
            return Err(MallctlError(read_ret));
        }
        // Copied before any write, which may change what the pointer points to.
        let old_value = (read_ret == 0 && !old.is_null())
            // SAFETY: a string control's value is a NUL-terminated string jemalloc keeps.
            .then(|| {
                unsafe { CStr::from_ptr(old) }
                    .to_string_lossy()
                    .into_owned()
            });
        let mut write_ret = 0;
        if let Some(new) = new {
            write_ret = if new == b"VOID" {
                write_raw(&c, None)
            } else if !is_string_control(name) {
                // Only reached when the read was refused (a void or write-only control),
                // which jemalloc refuses a value for as well: Redis's answer.
                EPERM
            } else {
                let value = c_name(new).map_err(|_| MallctlError(EINVAL))?;
                write(&c, value.as_ptr())
            };
        }
        if read_ret == 0 {
            Ok(Mallctl::Value(old_value.unwrap_or_default()))
        } else if write_ret != 0 {
            Err(MallctlError(write_ret))
        } else {
            Ok(Mallctl::Written)
        }
    }

    /// MEMORY MALLOC-STATS: jemalloc's own report.
    pub fn malloc_stats() -> Option<String> {
        unsafe extern "C" fn append(out: *mut c_void, text: *const c_char) {
            // SAFETY: `out` is the String passed below, and jemalloc passes NUL-terminated
            // text.
            let (out, text) = unsafe { (&mut *out.cast::<String>(), CStr::from_ptr(text)) };
            out.push_str(&text.to_string_lossy());
        }
        let mut out = String::new();
        // SAFETY: the callback only appends to `out`, which outlives the call.
        unsafe {
            sys::malloc_stats_print(
                Some(append),
                (&mut out as *mut String).cast::<c_void>(),
                std::ptr::null(),
            )
        };
        Some(out)
    }

    /// MEMORY PURGE and the timed release: every arena's unused dirty pages go back to the
    /// system (`arena.<MALLCTL_ARENAS_ALL>.purge`).
    pub fn purge() -> bool {
        // 4096 is MALLCTL_ARENAS_ALL.
        write_raw(c"arena.4096.purge", None) == 0
    }

    /// `jemalloc-bg-thread`: jemalloc's own thread gives freed pages back in the background.
    /// Where jemalloc has no background threads (macOS) the write fails and nothing changes,
    /// as in Redis.
    pub fn set_background_thread(on: bool) {
        write(c"background_thread", on);
    }
}
