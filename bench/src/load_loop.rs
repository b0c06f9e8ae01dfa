//! The load generators: this very binary re-executed as `__loop N`, a process named `loop` that
//! makes N getppid system calls and exits, or as `__calls N`, which calls the function
//! `ferrotrace_bench_call` N times for uprobes to trace.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::process::Running;

/// The hidden subcommand that runs the loop.
pub const SUBCOMMAND: &str = "__loop";

/// The process name the loop takes, which the scripts filter on.
pub const COMM: &str = "loop";

/// The loop itself, run in the re-executed child: take the name `loop`, then make `calls`
/// getppid calls.
pub fn run(calls: u64) -> io::Result<()> {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    if unsafe { libc::prctl(libc::PR_SET_NAME, c"loop".as_ptr(), 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for _ in 0..calls {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    Ok(())
}

/// The hidden subcommand that calls the traced function.
pub const CALLS_SUBCOMMAND: &str = "__calls";

/// The function the uprobe row traces, by this symbol in this binary.
pub const TRACED_FUNCTION: &str = "ferrotrace_bench_call";

/// Called `calls` times by `__calls`: a uprobe's trap is most of what each call then costs.
#[no_mangle]
#[inline(never)]
pub extern "C" fn ferrotrace_bench_call(n: u64) -> u64 {
    std::hint::black_box(n)
}

/// The calls themselves, run in the re-executed child.
pub fn run_calls(calls: u64) {
    for i in 0..calls {
        ferrotrace_bench_call(i);
    }
}

/// Starts loops by re-executing the running binary.
pub struct LoadLoop {
    exe: PathBuf,
}

impl LoadLoop {
    pub fn current() -> Result<LoadLoop> {
        let exe = std::env::current_exe().context("cannot find the running executable to re-execute as the loop")?;
        Ok(LoadLoop { exe })
    }

    /// Starts a loop of `calls` getppid calls without waiting for it.
    pub fn spawn(&self, calls: u64) -> Result<Running> {
        let mut command = Command::new(&self.exe);
        command.arg(SUBCOMMAND).arg(calls.to_string());
        Running::spawn(COMM, command)
    }

    /// The binary that holds the traced function.
    pub fn exe(&self) -> &std::path::Path {
        &self.exe
    }

    /// Runs `calls` calls of the traced function to their end; their wall time.
    pub fn run_calls(&self, calls: u64, timeout: Duration) -> Result<Duration> {
        let mut command = Command::new(&self.exe);
        command.arg(CALLS_SUBCOMMAND).arg(calls.to_string());
        let mut running = Running::spawn("calls", command)?;
        Self::wait(&mut running, timeout)
    }

    /// Runs a loop of `calls` getppid calls to its end; its wall time.
    pub fn run(&self, calls: u64, timeout: Duration) -> Result<Duration> {
        let mut running = self.spawn(calls)?;
        Self::wait(&mut running, timeout)
    }

    /// Waits for a loop started with [`LoadLoop::spawn`] and checks that it succeeded.
    pub fn wait(running: &mut Running, timeout: Duration) -> Result<Duration> {
        let Some(finished) = running.finish(timeout)? else {
            bail!("the load loop did not finish within {} s", timeout.as_secs());
        };
        if !finished.exit.success() {
            bail!("the load loop failed ({}): {}", finished.exit.describe(), running.output().trim());
        }
        Ok(finished.wall)
    }
}
