//! Watchpoints: a hardware breakpoint perf event (`PERF_TYPE_BREAKPOINT`) with the program
//! linked to it, one for the traced process (and the threads it starts later) or one per
//! online CPU for a kernel address. A CPU has few debug registers (x86-64: 4), so running out
//! of them is told apart from other refusals.

use std::os::fd::BorrowedFd;

use ferrotrace_compiler::manifest::WatchMode;

use super::{link, Attached};
use crate::cpus;
use crate::sys;

/// Where and how to watch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Watch {
    pub address: u64,
    pub length: u8,
    pub mode: WatchMode,
    /// The process whose memory it is; `None`: kernel memory.
    pub pid: Option<u32>,
}

/// Why a watchpoint was not attached.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Every debug register of the CPU is taken (`ENOSPC`).
    OutOfRegisters(String),
    Other(String),
}

impl Refused {
    pub fn reason(self) -> String {
        match self {
            Refused::OutOfRegisters(reason) | Refused::Other(reason) => reason,
        }
    }
}

/// The breakpoint perf events of `watch`, each linked to `program` with `cookie`.
pub(crate) fn attach(program: BorrowedFd<'_>, watch: Watch, cookie: u64) -> Result<Vec<Attached>, Refused> {
    let cpus = match watch.pid {
        Some(_) => vec![0],
        None => cpus::online().map_err(|error| Refused::Other(error.to_string()))?,
    };
    cpus.into_iter()
        .map(|cpu| {
            let perf_event = sys::perf_event_open_breakpoint(watch.address, u64::from(watch.length), watch.mode.bp_type(), watch.pid, cpu)
                .map_err(|error| refusal(watch, cpu, &error))?;
            link(program, perf_event, cookie).map_err(Refused::Other)
        })
        .collect()
}

/// What the kernel's refusal of `watch` means.
fn refusal(watch: Watch, cpu: u32, error: &std::io::Error) -> Refused {
    let Watch { address, length, mode, pid } = watch;
    let whom = match pid {
        Some(pid) => format!("in process {pid}"),
        None => format!("in kernel memory on CPU {cpu}"),
    };
    let what = format!("perf_event_open of a `{mode}` watchpoint on {length} bytes at {address:#x} {whom}: {error}");
    match error.raw_os_error() {
        Some(libc::ENOSPC) => Refused::OutOfRegisters(format!("{what}: every debug register of the CPU is in use (x86-64 has 4)")),
        Some(libc::EPERM | libc::EACCES) if pid.is_none() => Refused::Other(format!(
            "{what}: the kernel refuses breakpoints on kernel addresses here (it allows them only with CAP_SYS_ADMIN, \
             which a security policy may withhold); watchpoints in a process's memory (`-p PID`, `-c CMD`) need no such privilege"
        )),
        Some(libc::EINVAL) if mode.execute && pid.is_none() => {
            Refused::Other(format!("{what}: the kernel watches the execution of its own code only where it could place a kprobe (CONFIG_KPROBES)"))
        }
        Some(libc::EINVAL) => Refused::Other(format!("{what}: the address must be a multiple of the length")),
        Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV) => {
            Refused::Other(format!("{what}: this kernel or CPU has no hardware breakpoints (CONFIG_HAVE_HW_BREAKPOINT)"))
        }
        Some(libc::ESRCH) => Refused::Other(format!("{what}: the process has exited")),
        _ => Refused::Other(what),
    }
}
