//! The process a run is tied to: one given by `-p PID`, or the command `-c` starts, held
//! paused until the probes are attached. Either way the run ends when the process does. A
//! command can also be held at its program's entry point, once the dynamic loader is done with
//! it, for probes that must attach to the process as it will run (USDT semaphores).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use thiserror::Error;

use crate::sys::ptrace::{self, Stop};

/// The largest pid Linux gives (`PID_MAX_LIMIT` on 64-bit kernels).
const PID_MAX: u64 = 4_194_304;

/// The descriptor a held command's shell reads its go-ahead from.
const GATE_FD: i32 = 3;

#[derive(Debug, Error)]
pub enum TargetError {
    #[error("`-p {0}`: a process id is a number")]
    NotANumber(String),
    #[error("`-p {0}`: process ids go from 1 to {PID_MAX}")]
    OutOfRange(String),
    #[error("`-p {pid}`: {reason}")]
    NoProcess { pid: u32, reason: String },
    #[error("`-c` was given an empty command")]
    EmptyCommand,
    #[error("`-c`: `{0}` is not an executable file, nor one in PATH")]
    NotFound(String),
    #[error("cannot run `{command}`: {source}")]
    Spawn { command: String, source: io::Error },
}

/// A process the run watches, and for `-c` the child it holds paused.
pub struct TracedProcess {
    pid: u32,
    /// Readable once the process has exited.
    pidfd: OwnedFd,
    /// The started command, and the pipe its `exec` waits on until `start`.
    child: Option<(Child, Option<OwnedFd>)>,
    /// The program the command runs, as found in `PATH`.
    program: Option<PathBuf>,
    /// Stopped under ptrace at its entry point (`run_to_entry`), until `start`.
    held: bool,
}

impl TracedProcess {
    /// The running process `-p` names: a pid as bpftrace reads one (decimal, `0x` hex, `_`
    /// between digits), in range, and alive.
    pub fn existing(text: &str) -> Result<TracedProcess, TargetError> {
        let pid = parse_pid(text)?;
        let pidfd = pidfd_open(pid).map_err(|error| TargetError::NoProcess { pid, reason: describe(&error) })?;
        Ok(TracedProcess { pid, pidfd, child: None, program: None, held: false })
    }

    /// Starts `command` (split at blanks, the program found in `PATH`), held until `start`:
    /// a shell waits for a line on a pipe, then `exec`s the command in its place (so the pid
    /// stays); it never runs the command if the tracer ends first.
    pub fn spawn(command: &str) -> Result<TracedProcess, TargetError> {
        let mut words = command.split_whitespace();
        let name = words.next().ok_or(TargetError::EmptyCommand)?;
        let program = find_program(name).ok_or_else(|| TargetError::NotFound(name.to_string()))?;
        let spawn_error = |source| TargetError::Spawn { command: command.to_string(), source };
        let (gate, release) = pipe().map_err(spawn_error)?;
        let gate_fd = gate.as_raw_fd();
        let mut builder = Command::new("/bin/sh");
        builder.args(["-c", "read -r _ <&3 || exit 127; exec 3<&-; exec \"$@\"", "sh"]).arg(&program).args(words);
        // SAFETY: between fork and exec the closure only calls prctl, dup2 and fcntl, which are
        // async-signal-safe.
        unsafe {
            builder.pre_exec(move || {
                // The command dies with ferrotrace, however ferrotrace ends.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // dup2 onto itself would keep close-on-exec: clear it instead.
                let result = match gate_fd == GATE_FD {
                    true => libc::fcntl(GATE_FD, libc::F_SETFD, 0),
                    false => libc::dup2(gate_fd, GATE_FD),
                };
                match result {
                    -1 => Err(io::Error::last_os_error()),
                    _ => Ok(()),
                }
            });
        }
        let child = builder.spawn().map_err(spawn_error)?;
        drop(gate);
        let pid = child.id();
        let pidfd = pidfd_open(pid).map_err(spawn_error)?;
        Ok(TracedProcess { pid, pidfd, child: Some((child, Some(release))), program: Some(program), held: false })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The program a `-c` command runs (`None` for a `-p` process).
    pub fn program(&self) -> Option<&Path> {
        self.program.as_deref()
    }

    /// Whether this is a command `-c` started that has not been let run yet.
    pub fn waiting(&self) -> bool {
        matches!(&self.child, Some((_, Some(_))))
    }

    /// Lets a command `-c` started run as far as its program's entry point and holds it there:
    /// its `exec` is done and the dynamic loader has mapped its libraries and made its RELRO
    /// pages read-only, so a uprobe attached now finds the mappings the program will use. A
    /// command that ends (or whose `exec` fails) before then is simply gone; one whose entry
    /// already holds a breakpoint (a uprobe there) runs on unheld. Nothing for a `-p` process.
    pub fn run_to_entry(&mut self) -> io::Result<()> {
        let Some(gate) = self.child.as_mut().and_then(|(_, release)| release.take()) else { return Ok(()) };
        let pid = self.pid;
        ptrace::seize_until_exec(pid)?;
        open_gate(gate)?;
        if !run_until(pid, |stop| stop == Stop::Exec)? {
            return Ok(());
        }
        let entry = entry_point(pid)?;
        let original = ptrace::peek(pid, entry)?;
        if original & 0xff == u64::from(BREAKPOINT) {
            return ptrace::detach(pid);
        }
        ptrace::poke(pid, entry, original & !0xff | u64::from(BREAKPOINT))?;
        ptrace::resume(pid, 0)?;
        let at_breakpoint = |stop| stop == Stop::Signal(libc::SIGTRAP) && ptrace::instruction_pointer(pid).is_ok_and(|ip| ip == entry + 1);
        if !run_until(pid, at_breakpoint)? {
            return Ok(());
        }
        ptrace::poke(pid, entry, original)?;
        ptrace::set_instruction_pointer(pid, entry)?;
        self.held = true;
        Ok(())
    }

    /// Lets a command `-c` started run, from its start or from its entry point where
    /// `run_to_entry` holds it (nothing for a `-p` process).
    pub fn start(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.held) {
            return ptrace::detach(self.pid);
        }
        if let Some(gate) = self.child.as_mut().and_then(|(_, release)| release.take()) {
            open_gate(gate)?;
        }
        Ok(())
    }

    /// Whether the process has exited.
    pub fn exited(&self) -> bool {
        let mut poll = libc::pollfd { fd: self.pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, no waiting.
        let ready = unsafe { libc::poll(&mut poll, 1, 0) };
        ready > 0 && poll.revents & libc::POLLIN != 0
    }
}

impl Drop for TracedProcess {
    /// A command that was never started ends without running (its shell reads end of file);
    /// one still running when the run ends is killed, as bpftrace kills it; either is reaped.
    fn drop(&mut self) {
        if let Some((child, release)) = &mut self.child {
            release.take();
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// x86-64's `int3`, the one-byte breakpoint instruction.
const BREAKPOINT: u8 = 0xcc;

/// Writes the line a held command's shell waits for, then closes the pipe.
fn open_gate(gate: OwnedFd) -> io::Result<()> {
    // SAFETY: one byte from a valid buffer to a descriptor we own.
    let written = unsafe { libc::write(gate.as_raw_fd(), b"\n".as_ptr().cast(), 1) };
    match written {
        1 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Continues the traced `pid` through its stops, delivering the signals meant for it, until a
/// stop `wanted` says is the one: true there, false if the process ended first.
fn run_until(pid: u32, wanted: impl Fn(Stop) -> bool) -> io::Result<bool> {
    loop {
        let stop = ptrace::wait(pid)?;
        if wanted(stop) {
            return Ok(true);
        }
        match stop {
            Stop::Gone => return Ok(false),
            Stop::Signal(signal) => ptrace::resume(pid, signal)?,
            Stop::Exec | Stop::Event => ptrace::resume(pid, 0)?,
        }
    }
}

/// The entry point of the program process `pid` runs (`AT_ENTRY` of its auxiliary vector).
fn entry_point(pid: u32) -> io::Result<u64> {
    const AT_ENTRY: u64 = 9;
    let auxv = std::fs::read(format!("/proc/{pid}/auxv"))?;
    let words: Vec<u64> = auxv.chunks_exact(8).map(|word| u64::from_ne_bytes(word.try_into().expect("chunks of 8"))).collect();
    words
        .chunks_exact(2)
        .find(|pair| pair[0] == AT_ENTRY)
        .map(|pair| pair[1])
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("process {pid} has no AT_ENTRY in its auxiliary vector")))
}

/// `name` as `exec` finds it: a path when it has a `/`, else the first executable file of that
/// name in `PATH`.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &std::path::Path| path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0);
    if name.contains('/') {
        let path = std::path::PathBuf::from(name);
        return executable(&path).then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|path| executable(path))
}

fn parse_pid(text: &str) -> Result<u32, TargetError> {
    let digits = text.replace('_', "");
    let value = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    }
    .map_err(|_| TargetError::NotANumber(text.to_string()))?;
    match value {
        1..=PID_MAX => Ok(value as u32),
        _ => Err(TargetError::OutOfRange(text.to_string())),
    }
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this descriptor, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A pipe whose ends are closed on `exec`: (read end, write end).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `no such process` rather than `No such process (os error 3)`.
fn describe(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::ESRCH) => "no such process".to_string(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_read_as_bpftrace_reads_them() {
        assert_eq!(parse_pid("42").ok(), Some(42));
        assert_eq!(parse_pid("0x10").ok(), Some(16));
        assert_eq!(parse_pid("1_000").ok(), Some(1000));
        assert!(matches!(parse_pid("abc"), Err(TargetError::NotANumber(_))));
        assert!(matches!(parse_pid("0"), Err(TargetError::OutOfRange(_))));
        assert!(matches!(parse_pid("999999999"), Err(TargetError::OutOfRange(_))));
    }
}
