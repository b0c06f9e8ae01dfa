//! SIGINT and SIGTERM ask ferrotrace to stop: the handler sets a flag the event loop checks.
//! The handler is installed without `SA_RESTART`, so a blocked `epoll_wait` returns `EINTR`.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT and SIGTERM handlers.
pub fn install() -> io::Result<()> {
    crate::sys::install_signal_handler(libc::SIGINT, request_stop)?;
    crate::sys::install_signal_handler(libc::SIGTERM, request_stop)
}

/// True once SIGINT or SIGTERM has arrived (since the last `reset`).
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// Forgets an earlier stop request (a REPL keeps running after Ctrl-C ends one trace).
pub fn reset() {
    STOP_REQUESTED.store(false, Ordering::SeqCst);
}
