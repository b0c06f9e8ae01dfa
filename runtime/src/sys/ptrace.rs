//! The few ptrace requests that hold a started command at its entry point: seize it, wait for
//! its stops, read and write a word of its code, move its instruction pointer (x86-64's `rip`),
//! let it go.

use std::io;

/// What `waitpid` saw of a traced process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// It ran `exec` (`PTRACE_EVENT_EXEC`).
    Exec,
    /// A signal is about to be delivered to it (`SIGTRAP` for a breakpoint it hit).
    Signal(i32),
    /// Another ptrace event (a group stop); nothing to deliver.
    Event,
    /// It exited or was killed.
    Gone,
}

fn check(result: libc::c_long) -> io::Result<libc::c_long> {
    match result {
        -1 => Err(io::Error::last_os_error()),
        value => Ok(value),
    }
}

/// Traces `pid` without stopping it, stopping it at its next `exec`; it is killed if the
/// tracer exits while it is traced.
pub fn seize_until_exec(pid: u32) -> io::Result<()> {
    let options = libc::PTRACE_O_TRACEEXEC | libc::PTRACE_O_EXITKILL;
    // SAFETY: PTRACE_SEIZE takes a pid and options and touches no memory of ours.
    check(unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid as libc::pid_t, 0usize, options as usize) })?;
    Ok(())
}

/// Waits for the traced `pid`'s next stop or its end.
pub fn wait(pid: u32) -> io::Result<Stop> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid place for the kernel to write the status to.
        let waited = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::__WALL) };
        match waited {
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            -1 => return Err(io::Error::last_os_error()),
            _ => break,
        }
    }
    if !libc::WIFSTOPPED(status) {
        return Ok(Stop::Gone);
    }
    Ok(match status >> 16 {
        0 => Stop::Signal(libc::WSTOPSIG(status)),
        libc::PTRACE_EVENT_EXEC => Stop::Exec,
        _ => Stop::Event,
    })
}

/// Lets the stopped `pid` go on, delivering `signal` (0 for none).
pub fn resume(pid: u32, signal: i32) -> io::Result<()> {
    // SAFETY: PTRACE_CONT takes a pid and a signal number and touches no memory of ours.
    check(unsafe { libc::ptrace(libc::PTRACE_CONT, pid as libc::pid_t, 0usize, signal as usize) })?;
    Ok(())
}

/// Stops tracing the stopped `pid`, which goes on running.
pub fn detach(pid: u32) -> io::Result<()> {
    // SAFETY: PTRACE_DETACH takes a pid and a signal number and touches no memory of ours.
    check(unsafe { libc::ptrace(libc::PTRACE_DETACH, pid as libc::pid_t, 0usize, 0usize) })?;
    Ok(())
}

/// The word at `address` in the stopped `pid`'s memory.
pub fn peek(pid: u32, address: u64) -> io::Result<u64> {
    // PTRACE_PEEKTEXT returns the word itself, so only errno tells a failure from a word of -1.
    // SAFETY: errno is this thread's; PTRACE_PEEKTEXT reads the tracee's memory, not ours.
    unsafe { *libc::__errno_location() = 0 };
    let word = unsafe { libc::ptrace(libc::PTRACE_PEEKTEXT, pid as libc::pid_t, address as usize, 0usize) };
    match io::Error::last_os_error().raw_os_error() {
        Some(0) | None => Ok(word as u64),
        Some(_) => Err(io::Error::last_os_error()),
    }
}

/// Writes `word` at `address` in the stopped `pid`'s memory, code included.
pub fn poke(pid: u32, address: u64, word: u64) -> io::Result<()> {
    // SAFETY: PTRACE_POKETEXT writes the tracee's memory, not ours.
    check(unsafe { libc::ptrace(libc::PTRACE_POKETEXT, pid as libc::pid_t, address as usize, word as usize) })?;
    Ok(())
}

/// The stopped `pid`'s instruction pointer.
pub fn instruction_pointer(pid: u32) -> io::Result<u64> {
    Ok(registers(pid)?.rip)
}

/// Moves the stopped `pid`'s instruction pointer to `address`.
pub fn set_instruction_pointer(pid: u32, address: u64) -> io::Result<()> {
    let mut regs = registers(pid)?;
    regs.rip = address;
    // SAFETY: `regs` is a whole user_regs_struct the kernel reads.
    check(unsafe { libc::ptrace(libc::PTRACE_SETREGS, pid as libc::pid_t, 0usize, &regs as *const libc::user_regs_struct) })?;
    Ok(())
}

fn registers(pid: u32) -> io::Result<libc::user_regs_struct> {
    // SAFETY: all-zero bytes are a valid user_regs_struct (plain integers).
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes one user_regs_struct into `regs`.
    check(unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid as libc::pid_t, 0usize, &mut regs as *mut libc::user_regs_struct) })?;
    Ok(regs)
}
