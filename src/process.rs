//! What the operating system says about this process: resident memory, CPU time, the
//! machine's memory (INFO `memory` and `cpu`, MEMORY STATS). A leaf every layer may use; each
//! figure is 0 where the platform does not tell it cheaply.

/// CPU time used, in seconds, as INFO `cpu` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// The whole process.
    pub system: f64,
    pub user: f64,
    /// Waited-for children (none here: Reddish does not fork).
    pub children_system: f64,
    pub children_user: f64,
    /// The reactor thread alone (the calling thread).
    pub main_thread_system: f64,
    pub main_thread_user: f64,
}

/// The operating system as INFO's `os` field gives it: Redis prints `uname`'s system name,
/// release and machine (`Linux 6.1.0-18-amd64 x86_64`); elsewhere the target's names.
pub fn os_description() -> String {
    #[cfg(unix)]
    {
        // SAFETY: uname fills the struct it is given; the fields are NUL-terminated.
        let mut name: libc::utsname = unsafe { std::mem::zeroed() };
        if unsafe { libc::uname(&mut name) } == 0 {
            let field = |raw: &[libc::c_char]| {
                let bytes: Vec<u8> = raw
                    .iter()
                    .take_while(|&&c| c != 0)
                    .map(|&c| c as u8)
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            };
            return format!(
                "{} {} {}",
                field(&name.sysname),
                field(&name.release),
                field(&name.machine)
            );
        }
    }
    format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
}

/// Resident set size of this process in bytes. O(1): one small read on Linux.
pub fn rss_bytes() -> u64 {
    #[cfg(target_os = "linux")]
    {
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
            if let Some(pages) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
            {
                return pages * page_size();
            }
        }
    }
    0
}

#[cfg(target_os = "linux")]
fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}

/// Makes every thread allocate from one malloc arena. glibc gives each new thread its own
/// arena, and values made on the MongoDB threads (loaded back, or serialized for a write) then
/// leave their pages in arenas whose free space `malloc_trim` cannot give back while a few
/// live chunks sit among it: with a 4 MB `maxmemory` under the cold tier, the resident size
/// grew 15-26 MB beyond the empty server's with an arena per thread, 3.5-4.5 MB with one
/// (`used_memory` grew 4 MB). The reactor's small allocations are served from glibc's
/// per-thread cache without taking the arena's lock. An arena count set in the environment
/// (`MALLOC_ARENA_MAX`, or `GLIBC_TUNABLES` naming `arena_max`) is left as set. Call before
/// any thread starts. With jemalloc (the default on Unix), glibc's malloc serves only the C
/// libraries, and jemalloc gets the same one-arena option in src/main.rs.
pub fn use_one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() || tunables.contains("arena_max") {
            return;
        }
        // SAFETY: mallopt only sets an allocator parameter; no thread has started yet.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
}

/// Gives the allocators' free pages back to the operating system: jemalloc's unused dirty
/// pages, which it would otherwise keep for seconds, and glibc's, which it keeps inside its
/// heaps (only the top of a heap shrinks by itself), so after values are dropped or deleted
/// the resident size would stay at its peak; `malloc_trim` releases every free page of every
/// arena. Returns false where there is nothing to ask.
pub fn release_free_memory() -> bool {
    let purged = crate::memory::purge();
    // glibc's heap too: with jemalloc it holds only the C libraries' allocations.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    let trimmed = unsafe { libc::malloc_trim(0) } >= 0;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let trimmed = false;
    purged || trimmed
}

/// Decides when the timed work gives free heap pages back ([`release_free_memory`]): after
/// values are dropped to MongoDB, evicted or deleted, glibc would keep the resident size at
/// its peak (jemalloc gives pages back by itself, within its decay time, and a release only
/// hastens it). At most once a second, and only when the resident size exceeds the live heap by
/// a margin ([`release_margin`]) more than it did after the last release, so memory that
/// cannot be released (pages partly in use) does not make every second pay for a trim.
#[derive(Debug, Default)]
pub struct FreeMemoryReleaser {
    last_check_ms: u64,
    /// Resident bytes beyond the live heap after the last release (or the least seen since).
    settled_gap: u64,
}

/// How much more than after the last release the resident size may exceed a live heap of
/// `live_heap` bytes by before a trim (see [`FreeMemoryReleaser`]): an eighth of the heap,
/// from 1 MB to 16 MB. A trim walks the allocator's free lists, milliseconds on a heap of
/// gigabytes and microseconds on a small one, so a small heap (a small `maxmemory`) is
/// trimmed for less: a fixed 16 MB let the resident size stay 13-17 MB over a 4 MB limit.
fn release_margin(live_heap: u64) -> u64 {
    (live_heap / 8).clamp(1 << 20, 16 << 20)
}

impl FreeMemoryReleaser {
    /// Called by the timed work with the time and the live heap bytes (`used_memory`).
    pub fn tick(&mut self, now_ms: u64, live_heap: u64) {
        if now_ms < self.last_check_ms.saturating_add(1000) {
            return;
        }
        self.last_check_ms = now_ms;
        let gap = rss_bytes().saturating_sub(live_heap);
        self.settled_gap = self.settled_gap.min(gap);
        if gap >= self.settled_gap + release_margin(live_heap) && release_free_memory() {
            self.settled_gap = rss_bytes().saturating_sub(live_heap);
        }
    }
}

/// The machine's physical memory in bytes (INFO `total_system_memory`).
pub fn total_system_memory() -> u64 {
    #[cfg(target_os = "linux")]
    {
        if let Ok(meminfo) = std::fs::read_to_string("/proc/meminfo") {
            if let Some(bytes) = kilobytes_field(&meminfo, "MemTotal:") {
                return bytes;
            }
        }
    }
    0
}

/// Anonymous transparent huge pages the process uses, in bytes (LATENCY DOCTOR warns about
/// them); 0 where the kernel does not say.
pub fn anon_huge_pages_bytes() -> u64 {
    #[cfg(target_os = "linux")]
    {
        if let Ok(rollup) = std::fs::read_to_string("/proc/self/smaps_rollup") {
            return kilobytes_field(&rollup, "AnonHugePages:").unwrap_or(0);
        }
    }
    0
}

/// The bytes a `NAME:   N kB` line of a Linux `/proc` file gives (`/proc/meminfo`,
/// `/proc/PID/status`), `None` when the line is missing or malformed.
pub fn kilobytes_field(text: &str, name: &str) -> Option<u64> {
    let kb = text.lines().find_map(|line| line.strip_prefix(name))?;
    let kb = kb
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// CPU time of the process, its children and the calling thread (call it on the reactor
/// thread for Redis's `main_thread` figures).
#[cfg(unix)]
pub fn cpu_times() -> CpuTimes {
    fn usage(who: libc::c_int) -> (f64, f64) {
        // SAFETY: getrusage fills the zeroed struct it is given and reads nothing else.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(who, &mut ru) } != 0 {
            return (0.0, 0.0);
        }
        let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        (seconds(ru.ru_stime), seconds(ru.ru_utime))
    }
    let (system, user) = usage(libc::RUSAGE_SELF);
    let (children_system, children_user) = usage(libc::RUSAGE_CHILDREN);
    #[cfg(target_os = "linux")]
    let (main_thread_system, main_thread_user) = usage(libc::RUSAGE_THREAD);
    #[cfg(not(target_os = "linux"))]
    let (main_thread_system, main_thread_user) = (system, user);
    CpuTimes {
        system,
        user,
        children_system,
        children_user,
        main_thread_system,
        main_thread_user,
    }
}

/// CPU time of the process and the calling thread, from the kernel's counters.
#[cfg(windows)]
pub fn cpu_times() -> CpuTimes {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, GetCurrentThread, GetProcessTimes, GetThreadTimes,
    };
    // FILETIME counts 100 ns ticks.
    let seconds = |t: FILETIME| {
        ((u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)) as f64 / 1e7
    };
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    let mut times = CpuTimes::default();
    // SAFETY: the pseudo-handles need no closing; the calls only fill the four FILETIMEs.
    unsafe {
        if GetProcessTimes(
            GetCurrentProcess(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        ) != 0
        {
            times.system = seconds(kernel);
            times.user = seconds(user);
        }
        if GetThreadTimes(
            GetCurrentThread(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        ) != 0
        {
            times.main_thread_system = seconds(kernel);
            times.main_thread_user = seconds(user);
        }
    }
    times
}

#[cfg(not(any(unix, windows)))]
pub fn cpu_times() -> CpuTimes {
    CpuTimes::default()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn linux_reports_memory_and_cpu() {
        assert!(rss_bytes() > 0);
        assert!(total_system_memory() >= rss_bytes());
        // Spend a little CPU so the counters move off zero.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let t = cpu_times();
        assert!(t.user + t.system > 0.0, "{t:?}");
        assert!(t.main_thread_user <= t.user + 1e-3, "{t:?}");
    }
}

/// What the process's OOM score (`/proc/self/oom_score_adj`) should be, as `oom-score-adj`
/// and `oom-score-adj-values` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomScore {
    /// Left alone: the score the process had before Reddish first changed it, if it did.
    Unmanaged,
    /// This much above (or below) that original score.
    Relative(i32),
    /// Exactly this.
    Absolute(i32),
}

/// The score the process had before Reddish first changed it, while it is changed (Redis's
/// `oom_score_adj_base`); process-wide, as the score is.
#[cfg(target_os = "linux")]
static OOM_SCORE_BASE: std::sync::Mutex<Option<i32>> = std::sync::Mutex::new(None);

/// Sets the process's OOM score as Redis's `setOOMScoreAdj` does: the original score is read
/// the first time it is changed, a relative value is added to it, the result is clamped to
/// -1000..=1000, and going back to [`OomScore::Unmanaged`] restores it. Linux only; elsewhere
/// a managed score is an error and an unmanaged one a no-op.
#[cfg(target_os = "linux")]
pub fn set_oom_score_adj(target: OomScore) -> Result<(), String> {
    const PATH: &str = "/proc/self/oom_score_adj";
    let mut base = OOM_SCORE_BASE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let value = match target {
        OomScore::Unmanaged => match base.take() {
            Some(original) => original,
            None => return Ok(()),
        },
        OomScore::Relative(offset) => original_score(&mut base)?
            .saturating_add(offset)
            .clamp(-1000, 1000),
        OomScore::Absolute(score) => {
            original_score(&mut base)?;
            score.clamp(-1000, 1000)
        }
    };
    std::fs::write(PATH, format!("{value}\n"))
        .map_err(|e| format!("Unable to write oom_score_adj: {e}"))
}

/// The score before Reddish's first change, read now if this is the first one.
#[cfg(target_os = "linux")]
fn original_score(base: &mut Option<i32>) -> Result<i32, String> {
    if let Some(original) = *base {
        return Ok(original);
    }
    let text = std::fs::read_to_string("/proc/self/oom_score_adj")
        .map_err(|e| format!("Unable to read oom_score_adj: {e}"))?;
    let original = text.trim().parse::<i32>().unwrap_or(0);
    *base = Some(original);
    Ok(original)
}

#[cfg(not(target_os = "linux"))]
pub fn set_oom_score_adj(target: OomScore) -> Result<(), String> {
    match target {
        OomScore::Unmanaged => Ok(()),
        _ => Err("oom_score_adj is only supported on Linux".into()),
    }
}

/// The system's words for an I/O error, as C's `strerror` gives them (Redis's error texts
/// carry them), without Rust's " (os error N)".
pub fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The directory `path` names, resolved against `base` when relative, as the process's
/// working directory would be after `chdir` there: Redis reports `dir` as `getcwd` gives it,
/// absolute and, on Unix, free of symbolic links.
pub fn resolve_dir(base: &std::path::Path, path: &str) -> std::io::Result<std::path::PathBuf> {
    // `chdir("")` fails so, where joining would give the base back.
    if path.is_empty() {
        // ENOENT; on Windows, ERROR_FILE_NOT_FOUND.
        return Err(std::io::Error::from_raw_os_error(2));
    }
    let joined = base.join(path);
    #[cfg(unix)]
    let resolved = std::fs::canonicalize(&joined)?;
    // canonicalize on Windows answers in the `\\?\C:\` form, which no Windows user writes.
    #[cfg(not(unix))]
    let resolved = std::path::absolute(&joined)?;
    if !std::fs::metadata(&resolved)?.is_dir() {
        return Err(std::io::Error::from_raw_os_error(NOT_A_DIRECTORY));
    }
    Ok(resolved)
}

#[cfg(unix)]
const NOT_A_DIRECTORY: i32 = libc::ENOTDIR;
// ERROR_DIRECTORY: "The directory name is invalid."
#[cfg(not(unix))]
const NOT_A_DIRECTORY: i32 = 267;

/// A moment of local time, as Redis's log lines show it (`07 Dec 2026 12:00:00.123`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millisecond: u32,
}

impl std::fmt::Display for LocalTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS[(self.month.clamp(1, 12) - 1) as usize];
        write!(
            f,
            "{:02} {month} {} {:02}:{:02}:{:02}.{:03}",
            self.day, self.year, self.hour, self.minute, self.second, self.millisecond
        )
    }
}

/// The local time now, in the machine's time zone as Redis's log takes it (`localtime`).
#[cfg(unix)]
pub fn local_time() -> LocalTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r reads the one time_t and fills the zeroed tm it is given.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&seconds, &mut tm) };
    LocalTime {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
        millisecond: now.subsec_millis(),
    }
}

/// The local time now, from the system clock in the machine's time zone.
#[cfg(windows)]
pub fn local_time() -> LocalTime {
    use windows_sys::Win32::System::SystemInformation::GetLocalTime;
    // SAFETY: GetLocalTime only fills the zeroed SYSTEMTIME it is given.
    let mut st = unsafe { std::mem::zeroed() };
    unsafe { GetLocalTime(&mut st) };
    LocalTime {
        year: i32::from(st.wYear),
        month: u32::from(st.wMonth),
        day: u32::from(st.wDay),
        hour: u32::from(st.wHour),
        minute: u32::from(st.wMinute),
        second: u32::from(st.wSecond),
        millisecond: u32::from(st.wMilliseconds),
    }
}
