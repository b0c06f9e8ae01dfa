//! SIGINT and SIGTERM ask ferrotrace to stop: the handler sets a flag the event loop checks.
//! SIGUSR1 and SIGUSR2, when a `self:signal` probe waits for them, are counted for the event
//! loop to run those probes. The handlers are installed without `SA_RESTART`, so a blocked
//! `epoll_wait` returns `EINTR`.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);
/// Set by SIGTERM alone: the REPL takes SIGINT as "cancel this", SIGTERM as "end".
static TERMINATED: AtomicBool = AtomicBool::new(false);

/// SIGUSR1 and SIGUSR2 received and not yet taken.
static USR1: AtomicU32 = AtomicU32::new(0);
static USR2: AtomicU32 = AtomicU32::new(0);

extern "C" fn count_signal(signal: libc::c_int) {
    match signal {
        libc::SIGUSR1 => USR1.fetch_add(1, Ordering::SeqCst),
        _ => USR2.fetch_add(1, Ordering::SeqCst),
    };
}

/// Counts `signal` (SIGUSR1 or SIGUSR2) for `take_received` instead of letting it end the
/// process.
pub fn count(signal: u8) -> io::Result<()> {
    crate::sys::install_signal_handler(libc::c_int::from(signal), count_signal)
}

/// The signals (SIGUSR1, SIGUSR2) received since the last call, once per arrival.
pub fn take_received() -> Vec<u8> {
    let mut received = Vec::new();
    for (signal, counter) in [(libc::SIGUSR1, &USR1), (libc::SIGUSR2, &USR2)] {
        let times = counter.swap(0, Ordering::SeqCst);
        received.extend(std::iter::repeat_n(signal as u8, times as usize));
    }
    received
}

extern "C" fn request_stop(signal: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
    if signal == libc::SIGTERM {
        TERMINATED.store(true, Ordering::SeqCst);
    }
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

/// Asks what runs to stop, as SIGINT does (the console's Ctrl-C, read as a key).
pub fn interrupt() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// True once SIGTERM has arrived.
pub fn terminated() -> bool {
    TERMINATED.load(Ordering::SeqCst)
}

/// Forgets an earlier stop request (a REPL keeps running after Ctrl-C ends one trace).
pub fn reset() {
    STOP_REQUESTED.store(false, Ordering::SeqCst);
}
