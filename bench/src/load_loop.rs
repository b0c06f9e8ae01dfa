//! The load generator: this very binary re-executed as `__loop N`, a process named `loop` that
//! makes N getppid system calls and exits.

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
