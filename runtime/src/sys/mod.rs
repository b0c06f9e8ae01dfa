//! Every raw system call the runtime makes, one wrapper each: the bpf commands (`bpf`), perf
//! events (`perf`) and the records their ring buffers hold (`perf_ring`), the ptrace requests that hold a `-c` command at its entry (`ptrace`), and
//! here epoll, mount, sigaction, uname, the monotonic clock and the effective user id (aya's ring buffer reader makes
//! the rest), and `kill` to continue a stopped process. Each wrapper turns `-1` into an `io::Error` and nothing
//! more, so what we ask the kernel is visible in one place.

mod bpf;
mod perf;
mod perf_ring;
pub mod ptrace;

pub use bpf::*;
pub use perf::*;
pub use perf_ring::{PerfRecord, PerfRing};

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `CLOCK_MONOTONIC` now, in nanoseconds: the clock `bpf_ktime_get_ns` reads.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer for clock_gettime.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `CLOCK_BOOTTIME` now, in nanoseconds: the clock `bpf_ktime_get_boot_ns` reads.
pub fn boottime_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer for clock_gettime.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with a constant flag.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative return of epoll_create1 is a new file descriptor we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Registers `fd` for readability on `epoll`.
pub fn epoll_add_readable(epoll: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: fd.as_raw_fd() as u64,
    };
    // SAFETY: both descriptors are open for the duration of the call; `event` is a valid struct.
    let ret = unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &mut event,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Waits up to `timeout_ms` for one readiness event; `Ok(true)` when something is ready.
/// A signal shows up as an `Interrupted` error.
pub fn epoll_wait_one(epoll: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    let mut event = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: `event` has room for the one event we ask for.
    let ret = unsafe { libc::epoll_wait(epoll.as_raw_fd(), &mut event, 1, timeout_ms) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret > 0)
    }
}

/// A non-blocking eventfd: a counter another thread adds to (`eventfd_add`) to wake a wait.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with constant flags.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative return of eventfd is a new file descriptor we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds 1 to an eventfd's counter, making it readable.
pub fn eventfd_add(fd: BorrowedFd<'_>) -> io::Result<()> {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writes the 8 bytes of `one`, which live through the call.
    let ret = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads an eventfd's counter back to 0 (nothing if it is 0 already).
pub fn eventfd_clear(fd: BorrowedFd<'_>) {
    let mut count = [0u8; 8];
    // SAFETY: reads at most 8 bytes into `count`; a non-blocking eventfd at 0 returns EAGAIN.
    let _ = unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
}

/// `mount -t tracefs nodev <target>`.
pub fn mount_tracefs(target: &CStr) -> io::Result<()> {
    // SAFETY: all strings are NUL-terminated and outlive the call; no data argument.
    let ret = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Installs `handler` for `signal` without `SA_RESTART`, so blocking calls return `EINTR`.
pub fn install_signal_handler(
    signal: libc::c_int,
    handler: extern "C" fn(libc::c_int),
) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; we then set the
    // handler to a function that only touches an atomic, which is async-signal-safe.
    let ret = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut())
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Sends `SIGCONT` to process `pid`, which continues it if it is stopped.
pub fn continue_process(pid: u32) -> io::Result<()> {
    // SAFETY: kill takes a pid and a signal number and touches no memory of ours.
    if unsafe { libc::kill(pid as libc::pid_t, libc::SIGCONT) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The effective user id.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Keeps the calling thread on CPU `cpu` (`sched_setaffinity`): a program it runs with
/// `BPF_PROG_TEST_RUN` sees that CPU.
pub fn pin_to_cpu(cpu: u32) -> io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes inside it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is checked against the set's size by CPU_SET's own bound.
    unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    // SAFETY: `set` is a live cpu_set_t of the size given.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The calling thread as BPF helpers see it: process id, thread id, user id, group id.
pub fn thread_identity() -> (u32, u32, u32, u32) {
    // SAFETY: these calls cannot fail and take no pointers.
    unsafe { (libc::getpid() as u32, libc::gettid() as u32, libc::getuid(), libc::getgid()) }
}

/// What `uname` says of the running kernel and machine.
#[derive(Debug, Clone)]
pub struct Uname {
    pub sysname: String,
    pub release: String,
    pub version: String,
    pub machine: String,
}

/// `uname(2)`.
pub fn uname() -> io::Result<Uname> {
    // SAFETY: a zeroed utsname is a valid buffer for uname to fill.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `names` is a live utsname the call writes into.
    if unsafe { libc::uname(&mut names) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let field = |chars: &[libc::c_char]| {
        let bytes: Vec<u8> = chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(Uname {
        sysname: field(&names.sysname),
        release: field(&names.release),
        version: field(&names.version),
        machine: field(&names.machine),
    })
}
