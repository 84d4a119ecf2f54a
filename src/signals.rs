//! Stop requests from the operating system: SIGINT/SIGTERM on Unix; Ctrl-C, Ctrl-Break and
//! closing the console (or logoff/system shutdown) on Windows. Each asks the reactor to stop
//! through a callback; the server then shuts down as for SHUTDOWN, saving pending changes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Set once the server finished shutting down, so a Windows console-close handler may return
/// (Windows ends the process as soon as that handler returns).
static STOPPED: AtomicBool = AtomicBool::new(false);

type StopCallback = Box<dyn Fn() + Send + Sync>;
static ON_STOP: OnceLock<StopCallback> = OnceLock::new();

/// Installs the handlers; `on_stop` runs on a signal thread and must only request the stop.
pub fn install(on_stop: impl Fn() + Send + Sync + 'static) -> Result<(), String> {
    if ON_STOP.set(Box::new(on_stop)).is_err() {
        return Err("signal handlers already installed".into());
    }
    ctrlc::set_handler(request_stop).map_err(|e| e.to_string())?;
    #[cfg(windows)]
    windows::install_close_handler()?;
    Ok(())
}

fn request_stop() {
    if let Some(on_stop) = ON_STOP.get() {
        on_stop();
    }
}

/// Called by `main` after the server stopped.
pub fn mark_stopped() {
    STOPPED.store(true, Ordering::SeqCst);
}

#[cfg(windows)]
mod windows {
    use super::{request_stop, STOPPED};
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    use windows_sys::Win32::Foundation::{BOOL, FALSE, TRUE};
    use windows_sys::Win32::System::Console::{
        SetConsoleCtrlHandler, CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT,
    };

    /// Windows allows a close handler about 5 s (20 s at system shutdown) before it kills the
    /// process; stay below that.
    const CLOSE_GRACE: Duration = Duration::from_millis(4500);

    unsafe extern "system" fn on_console_event(event: u32) -> BOOL {
        match event {
            CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT => {
                request_stop();
                let started = Instant::now();
                while !STOPPED.load(Ordering::SeqCst) && started.elapsed() < CLOSE_GRACE {
                    std::thread::sleep(Duration::from_millis(20));
                }
                TRUE
            }
            // Ctrl-C and Ctrl-Break go on to the `ctrlc` handler.
            _ => FALSE,
        }
    }

    pub fn install_close_handler() -> Result<(), String> {
        // SAFETY: registers a handler function with the signature Windows expects; it only
        // touches atomics and the stop callback.
        let ok = unsafe { SetConsoleCtrlHandler(Some(on_console_event), TRUE) };
        if ok == 0 {
            return Err("SetConsoleCtrlHandler failed".into());
        }
        Ok(())
    }
}
