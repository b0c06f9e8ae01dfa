//! Child processes with deadlines: start one with its output captured, interrupt it, wait for
//! it with a timeout, and never leave one running behind.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::rusage::{self, Exit};

/// What a line handler gets: one stdout line without its newline, and when it was read.
pub type LineHandler = Box<dyn FnMut(&[u8], Instant) + Send>;

/// A child that has ended: how, and its wall time from just before `spawn` until `wait4`.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    pub exit: Exit,
    pub wall: Duration,
}

/// A running child. A thread reaps it with `wait4` (for its rusage); other threads drain its
/// stdout and stderr so it never blocks on a full pipe. Dropping it kills the child.
pub struct Running {
    name: String,
    pid: libc::pid_t,
    started: Instant,
    waiter: Receiver<io::Result<(Exit, Instant)>>,
    finished: Option<Finished>,
    reaped: bool,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Starts `command` with stdin empty and stdout and stderr collected together.
    pub fn spawn(name: &str, command: Command) -> Result<Running> {
        Self::start(name, command, None)
    }

    /// Starts `command`, giving each stdout line to `on_line` as it arrives; stderr is collected.
    pub fn spawn_with_lines(name: &str, command: Command, on_line: LineHandler) -> Result<Running> {
        Self::start(name, command, Some(on_line))
    }

    fn start(name: &str, mut command: Command, on_line: Option<LineHandler>) -> Result<Running> {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let program = command.get_program().to_string_lossy().into_owned();
        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("cannot start {name} (`{program}`)"))?;
        match Self::watch(name, &mut child, started, on_line) {
            Ok(running) => Ok(running),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(error)
            }
        }
    }

    /// Sets up the threads around a fresh child; std's `Child` is dropped without waiting, as
    /// the waiter thread reaps it.
    fn watch(name: &str, child: &mut Child, started: Instant, on_line: Option<LineHandler>) -> Result<Running> {
        let pid = libc::pid_t::try_from(child.id()).context("child process id out of range")?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(match on_line {
                Some(handler) => read_lines(stdout, handler)?,
                None => collect(stdout, Arc::clone(&output))?,
            });
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(collect(stderr, Arc::clone(&output))?);
        }
        let (sender, waiter) = mpsc::channel();
        thread::Builder::new()
            .name(format!("wait {pid}"))
            .spawn(move || {
                let result = rusage::wait4(pid).map(|exit| (exit, Instant::now()));
                let _ = sender.send(result);
            })
            .context("cannot start a thread to wait for a child")?;
        Ok(Running { name: name.to_string(), pid, started, waiter, finished: None, reaped: false, output, readers })
    }

    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// When `spawn` was called.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The child's end if it has ended, without blocking.
    pub fn poll(&mut self) -> Result<Option<Finished>> {
        if self.finished.is_some() || self.reaped {
            return Ok(self.finished);
        }
        match self.waiter.try_recv() {
            Ok(result) => self.settle(result).map(Some),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => self.lost(),
        }
    }

    /// Waits up to `timeout` for the child to end; `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<Finished>> {
        if self.finished.is_some() || self.reaped {
            return Ok(self.finished);
        }
        match self.waiter.recv_timeout(timeout) {
            Ok(result) => self.settle(result).map(Some),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => self.lost(),
        }
    }

    /// Waits up to `timeout` for the child to end, then kills it: `None` means it timed out.
    pub fn finish(&mut self, timeout: Duration) -> Result<Option<Finished>> {
        if let Some(finished) = self.wait_timeout(timeout)? {
            return Ok(Some(finished));
        }
        self.kill_and_reap();
        Ok(None)
    }

    /// Sends SIGINT (a tracer prints its maps and exits), unless the child has ended.
    pub fn interrupt(&mut self) -> Result<()> {
        if self.poll()?.is_none() {
            self.signal(libc::SIGINT).with_context(|| format!("cannot interrupt {}", self.name))?;
        }
        Ok(())
    }

    /// Everything the child has written so far to the collected streams, as text.
    pub fn output(&self) -> String {
        let bytes = self.output.lock().map(|bytes| bytes.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn settle(&mut self, result: io::Result<(Exit, Instant)>) -> Result<Finished> {
        self.reaped = true;
        let (exit, ended) = result.with_context(|| format!("cannot wait for {} (pid {})", self.name, self.pid))?;
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let finished = Finished { exit, wall: ended.saturating_duration_since(self.started) };
        self.finished = Some(finished);
        Ok(finished)
    }

    fn lost<T>(&mut self) -> Result<T> {
        self.reaped = true;
        bail!("lost track of {} (pid {}): its waiter thread ended without a result", self.name, self.pid)
    }

    fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        // SAFETY: kill has no memory effects; the pid is our unreaped child, so it is not reused.
        if unsafe { libc::kill(self.pid, signal) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn kill_and_reap(&mut self) {
        if self.reaped {
            return;
        }
        let _ = self.signal(libc::SIGKILL);
        let result = self.waiter.recv().unwrap_or_else(|_| Err(io::Error::other("waiter thread gone")));
        let _ = self.settle(result);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// A thread that appends everything `stream` yields to `output`.
fn collect(mut stream: impl Read + Send + 'static, output: Arc<Mutex<Vec<u8>>>) -> Result<JoinHandle<()>> {
    let reader = move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n @ 1..) = stream.read(&mut chunk) {
            if let Ok(mut output) = output.lock() {
                output.extend_from_slice(&chunk[..n]);
            }
        }
    };
    thread::Builder::new()
        .name("collect output".into())
        .spawn(reader)
        .map_err(|error| anyhow!("cannot start a reader thread: {error}"))
}

/// A thread that hands each line of `stream` to `handler`.
fn read_lines(stream: impl Read + Send + 'static, mut handler: LineHandler) -> Result<JoinHandle<()>> {
    let reader = move || {
        let mut lines = BufReader::with_capacity(1 << 16, stream);
        let mut line = Vec::with_capacity(256);
        loop {
            line.clear();
            match lines.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let arrived = Instant::now();
                    let text = line.strip_suffix(b"\n").unwrap_or(&line);
                    handler(text, arrived);
                }
            }
        }
    };
    thread::Builder::new()
        .name("read lines".into())
        .spawn(reader)
        .map_err(|error| anyhow!("cannot start a reader thread: {error}"))
}
