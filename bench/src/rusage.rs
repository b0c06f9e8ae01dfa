//! Reaping a child with `wait4`: how it ended and its peak resident set size.

use std::io;

/// How a child ended, as `wait4` reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The raw wait status (`WIFEXITED` and friends decode it).
    pub status: i32,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
}

impl Exit {
    /// Exited normally with code 0.
    pub fn success(&self) -> bool {
        libc::WIFEXITED(self.status) && libc::WEXITSTATUS(self.status) == 0
    }

    /// `exit code 1`, `killed by signal 9`, for messages.
    pub fn describe(&self) -> String {
        if libc::WIFEXITED(self.status) {
            format!("exit code {}", libc::WEXITSTATUS(self.status))
        } else if libc::WIFSIGNALED(self.status) {
            format!("killed by signal {}", libc::WTERMSIG(self.status))
        } else {
            format!("wait status {:#x}", self.status)
        }
    }
}

/// Blocks until the child `pid` ends and reaps it, retrying when a signal interrupts the wait.
pub fn wait4(pid: libc::pid_t) -> io::Result<Exit> {
    let mut status = 0;
    // SAFETY: `rusage` is plain old data; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok(Exit { status, max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0) });
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Exit;

    #[test]
    fn statuses_are_described_in_words() {
        let exit = |status| Exit { status, max_rss_kib: 0 };
        assert!(exit(0).success());
        assert_eq!(exit(0).describe(), "exit code 0");
        assert!(!exit(1 << 8).success());
        assert_eq!(exit(1 << 8).describe(), "exit code 1");
        assert!(!exit(9).success());
        assert_eq!(exit(9).describe(), "killed by signal 9");
    }
}
