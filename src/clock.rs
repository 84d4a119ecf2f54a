//! The wall clock, shared by every layer that stamps or compares times (the reactor's turns,
//! persistence's lag and LASTSAVE, start-up). A leaf module: it depends on nothing internal.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current Unix time in milliseconds; 0 if the system clock reads before 1970, so a badly set
/// clock gives odd figures rather than a panic.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Current Unix time in microseconds (INFO's `server_time_usec`); 0 before 1970.
pub fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
