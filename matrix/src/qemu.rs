//! Booting a kernel under `qemu-system-x86_64` with an initramfs, under a deadline. The
//! kernel's console goes to one file and the commands' output (the second serial port) to
//! another; both are read once the guest powers off.
//!
//! Software emulation (TCG) is the default, since KVM does not work on every machine that has
//! `/dev/kvm` (`FERROTRACE_MATRIX_ACCEL=kvm` asks for it). It runs every virtual CPU of a guest
//! on one host thread, taking turns: with a thread per CPU, a CPU could run a kernel function
//! while another patched its code to attach a probe, and take the patch's breakpoint after the
//! patch was done (seen once in 6.12 as an `int3` oops in `vfs_read`). Taking turns costs a
//! quarter more time and leaves the host's other core to a second guest.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::debian::Kernel;
use crate::guest::{self, Finished, Plan};
use crate::initramfs::Initramfs;
use crate::tools::describe;
use crate::MatrixError;

/// The environment variable that picks QEMU's accelerator.
pub const ACCEL_VAR: &str = "FERROTRACE_MATRIX_ACCEL";

/// How much of the console an error shows.
const CONSOLE_TAIL_LINES: usize = 40;

/// The virtual machine a guest runs in.
#[derive(Debug, Clone)]
pub struct Machine {
    pub memory_mib: u32,
    pub cpus: u32,
    /// The guest must power off before this much time has passed.
    pub deadline: Duration,
    /// Where the initramfs and the serial logs are written.
    pub work_dir: PathBuf,
}

/// What a guest did.
#[derive(Debug)]
pub struct Booted {
    /// Each command of the plan, in order.
    pub finished: Vec<Finished>,
    /// The kernel's console, ANSI sequences removed.
    pub console: String,
    /// From starting QEMU to its exit.
    pub elapsed: Duration,
}

impl Machine {
    /// Boots `kernel` with `initramfs` plus `plan` as its `/init`, and returns once the guest
    /// has powered off having finished every command of the plan.
    pub fn run(&self, kernel: &Kernel, mut initramfs: Initramfs, plan: &Plan) -> Result<Booted, MatrixError> {
        fs::create_dir_all(&self.work_dir).map_err(MatrixError::io(&self.work_dir))?;
        let [image, console, serial] = ["cpio", "console", "serial"].map(|ext| self.work_dir.join(format!("{}.{ext}", kernel.release)));
        initramfs.bytes("/init", plan.init_script(), 0o755);
        initramfs.write(&image)?;
        for log in [&console, &serial] {
            let _ = fs::remove_file(log);
        }
        let started = Instant::now();
        let exited_in_time = self.boot(kernel, &image, &console, &serial)?;
        let elapsed = started.elapsed();
        let console_text = strip_ansi(&fs::read_to_string(&console).unwrap_or_default());
        if !exited_in_time {
            return Err(MatrixError::Timeout { seconds: self.deadline.as_secs(), console: tail(&console_text) });
        }
        let output = fs::read(&serial).map_err(MatrixError::io(&serial))?;
        let finished = guest::parse(&String::from_utf8_lossy(&output));
        let unfinished = plan.names().find(|name| !finished.iter().any(|f| f.name == *name && f.status.is_some()));
        if let Some(command) = unfinished {
            return Err(MatrixError::Incomplete { command: command.to_string(), console: tail(&console_text) });
        }
        Ok(Booted { finished, console: console_text, elapsed })
    }

    /// Runs QEMU until it exits (true) or the deadline passes (false, QEMU killed).
    fn boot(&self, kernel: &Kernel, image: &Path, console: &Path, serial: &Path) -> Result<bool, MatrixError> {
        let accel = std::env::var(ACCEL_VAR).unwrap_or_else(|_| "tcg,thread=single".to_string());
        let cpu = if accel.starts_with("kvm") { "host" } else { "max" };
        let mut qemu = Command::new("qemu-system-x86_64");
        qemu.args(["-accel", &accel, "-cpu", cpu])
            .args(["-m", &self.memory_mib.to_string(), "-smp", &self.cpus.to_string()])
            .args(["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"])
            .arg("-kernel")
            .arg(&kernel.vmlinuz)
            .arg("-initrd")
            .arg(image)
            .args(["-append", "console=ttyS0 panic=-1 loglevel=4"])
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .arg("-serial")
            .arg(format!("file:{}", serial.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = qemu.spawn().map_err(|source| MatrixError::Spawn { command: describe(&qemu), source })?;
        let deadline = Instant::now() + self.deadline;
        loop {
            if child.try_wait().map_err(|source| MatrixError::Spawn { command: describe(&qemu), source })?.is_some() {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(false);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The last lines of the console, for an error message.
fn tail(console: &str) -> String {
    let lines: Vec<&str> = console.lines().collect();
    lines[lines.len().saturating_sub(CONSOLE_TAIL_LINES)..].join("\n")
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`) and carriage returns.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_carriage_returns_are_removed() {
        assert_eq!(strip_ansi("\u{1b}[2J\u{1b}[01;01HSeaBIOS\r\nLinux\r\n"), "SeaBIOS\nLinux\n");
    }
}
