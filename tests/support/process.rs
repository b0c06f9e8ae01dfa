//! Running the `ferrotrace` binary: to completion, or in the background until a signal, always
//! under a deadline so a broken run fails the test instead of hanging it.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long one run may take before the test kills it and fails, unless
/// `FERROTRACE_TEST_DEADLINE_SECS` says otherwise (the kernel matrix gives emulated guests more).
pub fn deadline() -> Duration {
    const DEFAULT_SECS: u64 = 30;
    let secs = std::env::var("FERROTRACE_TEST_DEADLINE_SECS").ok().and_then(|secs| secs.parse().ok());
    Duration::from_secs(secs.unwrap_or(DEFAULT_SECS))
}

/// A command for the binary under test, with color off and no input.
pub fn ferrotrace(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrotrace"));
    command.args(args).env("NO_COLOR", "1").env_remove("RUST_BACKTRACE").stdin(Stdio::null());
    command
}

/// Runs the binary to completion.
pub fn run(args: &[&str]) -> Outcome {
    run_with_stdin(args, "")
}

/// Runs the binary to completion with `input` on its standard input.
pub fn run_with_stdin(args: &[&str], input: &str) -> Outcome {
    run_command(ferrotrace(args), input)
}

/// Runs the binary to completion with the environment variables `env` set.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut command = ferrotrace(args);
    command.envs(env.iter().copied());
    run_command(command, "")
}

/// Runs the binary to completion as the first process of a new PID namespace (`unshare -p -f`,
/// from util-linux or busybox), where it is pid 1.
pub fn run_in_new_pid_namespace(args: &[&str]) -> Outcome {
    let mut command = Command::new("unshare");
    command.args(["-p", "-f", env!("CARGO_BIN_EXE_ferrotrace")]).args(args).env("NO_COLOR", "1").env_remove("RUST_BACKTRACE");
    run_command(command, "")
}

/// Runs the binary to completion in a mount namespace of its own where each file `from` of
/// `binds` is bind-mounted over the file `over` (a kernel's BTF over this one's, for a compile).
pub fn run_with_files_over(args: &[&str], env: &[(&str, &str)], binds: &[(&str, &str)]) -> Outcome {
    use std::ffi::CString;
    use std::os::unix::process::CommandExt;
    let mut command = ferrotrace(args);
    command.envs(env.iter().copied());
    let binds: Vec<(CString, CString)> =
        binds.iter().map(|(from, over)| (CString::new(*from).expect("no NUL"), CString::new(*over).expect("no NUL"))).collect();
    let root = CString::new("/").expect("no NUL");
    // SAFETY: between fork and exec the closure only makes system calls on memory made before
    // the fork (no allocation).
    unsafe {
        command.pre_exec(move || {
            let failed = |status: libc::c_int| if status == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) };
            failed(libc::unshare(libc::CLONE_NEWNS))?;
            failed(libc::mount(std::ptr::null(), root.as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()))?;
            for (from, over) in &binds {
                failed(libc::mount(from.as_ptr(), over.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()))?;
            }
            Ok(())
        });
    }
    run_command(command, "")
}

fn run_command(mut command: Command, input: &str) -> Outcome {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("cannot start the ferrotrace binary");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.as_bytes()).expect("cannot write the script to stdin");
    drop(stdin);
    let stdout = read_in_background(child.stdout.take().expect("stdout is piped"));
    let stderr = read_in_background(child.stderr.take().expect("stderr is piped"));
    let status = wait_until_deadline(&mut child);
    Outcome { status, stdout: join_reader(stdout), stderr: join_reader(stderr) }
}

/// What a finished run gave.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts the exit code, stdout and stderr all at once, so a failure shows all three.
    pub fn assert_exact(&self, code: i32, stdout: &str, stderr: &str) {
        assert_eq!(
            (self.status.code(), self.stdout.as_str(), self.stderr.as_str()),
            (Some(code), stdout, stderr),
            "(exit code, stdout, stderr) differ"
        );
    }

    /// The exit status and both streams as one text for a snapshot. Each stream ends with an
    /// `--- end` line, so its trailing newlines are part of what is compared.
    pub fn transcript(&self) -> String {
        let mut text = match self.status.code() {
            Some(code) => format!("exit code: {code}\n"),
            None => format!("exit: {}\n", self.status),
        };
        for (name, stream) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let _ = write!(text, "--- {name}\n{stream}");
            if !stream.is_empty() && !stream.ends_with('\n') {
                text.push_str("\n[no newline at end]\n");
            }
        }
        text.push_str("--- end\n");
        text
    }
}

/// A ferrotrace running in the background, its stdout and stderr read line by line as they
/// come.
pub struct Tracer {
    child: Child,
    stdout: Lines,
    stderr: Lines,
    finished: bool,
}

/// One stream of the binary: lines as they are read, and what was read so far.
struct Lines {
    receiver: Receiver<String>,
    seen: String,
}

/// Which stream a line is awaited on.
#[derive(Clone, Copy, Debug)]
enum StreamName {
    Stdout,
    Stderr,
}

impl Tracer {
    /// Starts the binary and returns once it says `Attached N probe(s)` on stderr.
    pub fn start(args: &[&str]) -> Tracer {
        Tracer::start_with_env(args, &[])
    }

    /// `start` with the environment variables `env` set.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Tracer {
        let mut tracer = Tracer::spawn(args, env);
        tracer.wait_for_stderr_line("Attached ");
        tracer
    }

    /// Starts the binary and returns once a stderr line starts with `prefix`.
    pub fn start_until(args: &[&str], prefix: &str) -> Tracer {
        let mut tracer = Tracer::spawn(args, &[]);
        tracer.wait_for_stderr_line(prefix);
        tracer
    }

    /// Starts the binary with `-f json` among `args` and returns once its `attached_probes`
    /// line is on stdout.
    pub fn start_json(args: &[&str]) -> Tracer {
        let mut tracer = Tracer::spawn(args, &[]);
        tracer.wait_for_line(StreamName::Stdout, "{\"type\": \"attached_probes\"");
        tracer
    }

    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Tracer {
        let mut command = ferrotrace(args);
        command.envs(env.iter().copied());
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("cannot start the ferrotrace binary");
        let stdout = Lines::read(child.stdout.take().expect("stdout is piped"));
        let stderr = Lines::read(child.stderr.take().expect("stderr is piped"));
        Tracer { child, stdout, stderr, finished: false }
    }

    /// Waits until a stderr line starts with `prefix`; fails if the binary exits or the
    /// deadline passes first.
    pub fn wait_for_stderr_line(&mut self, prefix: &str) {
        self.wait_for_line(StreamName::Stderr, prefix);
    }

    fn wait_for_line(&mut self, stream: StreamName, prefix: &str) {
        let lines = match stream {
            StreamName::Stdout => &mut self.stdout,
            StreamName::Stderr => &mut self.stderr,
        };
        let until = Instant::now() + deadline();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match lines.receiver.recv_timeout(left) {
                Ok(line) => {
                    let found = line.starts_with(prefix);
                    lines.seen.push_str(&line);
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {stream:?} line starting with {prefix:?} within {:?}; so far:\n{}", deadline(), lines.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let outcome = self.finish_in_place();
                    panic!("ferrotrace ended before printing {prefix:?}:\n{}", outcome.transcript())
                }
            }
        }
    }

    /// Sends `signal` to the running binary.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill has no memory preconditions; `pid` is our own child, not yet reaped.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "cannot send signal {signal} to ferrotrace: {}", std::io::Error::last_os_error());
    }

    /// Sends `signal`, then waits for the binary to exit.
    pub fn stop(self, signal: libc::c_int) -> Outcome {
        self.signal(signal);
        self.finish()
    }

    /// Waits for the binary to exit on its own and returns what it gave.
    pub fn finish(mut self) -> Outcome {
        self.finish_in_place()
    }

    fn finish_in_place(&mut self) -> Outcome {
        let status = wait_until_deadline(&mut self.child);
        self.finished = true;
        Outcome { status, stdout: self.stdout.rest(), stderr: self.stderr.rest() }
    }
}

impl Drop for Tracer {
    /// A failing test must not leave its tracer running.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `ferrotrace -i` with its standard input piped: statements typed in, lines awaited on stdout
/// and stderr as they come.
pub struct Console {
    child: Child,
    input: Option<std::process::ChildStdin>,
    stdout: Lines,
    stderr: Lines,
}

impl Console {
    pub fn start(args: &[&str]) -> Console {
        let mut command = ferrotrace(&["-i"]);
        command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("cannot start the ferrotrace binary");
        let input = child.stdin.take();
        let stdout = Lines::read(child.stdout.take().expect("stdout is piped"));
        let stderr = Lines::read(child.stderr.take().expect("stderr is piped"));
        Console { child, input, stdout, stderr }
    }

    /// Types `text` and a newline.
    pub fn type_line(&mut self, text: &str) {
        let input = self.input.as_mut().expect("input is open");
        input.write_all(format!("{text}\n").as_bytes()).expect("cannot type into the console");
        input.flush().expect("cannot type into the console");
    }

    /// Waits for a stdout line starting with `prefix`; returns it.
    pub fn wait_for_stdout_line(&mut self, prefix: &str) -> String {
        next_line_starting(&mut self.stdout, "stdout", prefix)
    }

    /// Waits for a stderr line starting with `prefix`; returns it.
    pub fn wait_for_stderr_line(&mut self, prefix: &str) -> String {
        next_line_starting(&mut self.stderr, "stderr", prefix)
    }

    /// Waits for the console to exit on its own (`exit()`, `:quit`), its input still open.
    pub fn wait_for_exit(mut self) -> Outcome {
        let status = wait_until_deadline(&mut self.child);
        drop(self.input.take());
        Outcome { status, stdout: self.stdout.rest(), stderr: self.stderr.rest() }
    }

    /// Ends the input (as Ctrl-D does) and waits for the console to exit.
    pub fn finish(mut self) -> Outcome {
        drop(self.input.take());
        let status = wait_until_deadline(&mut self.child);
        Outcome { status, stdout: self.stdout.rest(), stderr: self.stderr.rest() }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next line of `lines` starting with `prefix` (the lines before it are kept as seen).
fn next_line_starting(lines: &mut Lines, stream: &str, prefix: &str) -> String {
    let until = Instant::now() + deadline();
    loop {
        match lines.receiver.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                lines.seen.push_str(&line);
                if line.starts_with(prefix) {
                    return line;
                }
            }
            Err(_) => panic!("no {stream} line starting with {prefix:?} within {:?}; so far:\n{}", deadline(), lines.seen),
        }
    }
}

impl Lines {
    /// Reads `stream` on a thread of its own, a line at a time; the channel closes at EOF.
    fn read<R: Read + Send + 'static>(stream: R) -> Lines {
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if sender.send(line).is_err() => break,
                    Ok(_) => {}
                }
            }
        });
        Lines { receiver, seen: String::new() }
    }

    /// Everything the stream gave, once it has closed.
    fn rest(&mut self) -> String {
        while let Ok(line) = self.receiver.recv() {
            self.seen.push_str(&line);
        }
        std::mem::take(&mut self.seen)
    }
}

fn read_in_background<R: Read + Send + 'static>(mut stream: R) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join_reader(reader: JoinHandle<String>) -> String {
    reader.join().expect("the output reader thread panicked")
}

/// Waits for `child` to exit; kills it and fails the test once the deadline passes.
fn wait_until_deadline(child: &mut Child) -> ExitStatus {
    let until = Instant::now() + deadline();
    loop {
        if let Some(status) = child.try_wait().expect("cannot wait for ferrotrace") {
            return status;
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ferrotrace did not exit within {:?}; killed it", deadline());
        }
        thread::sleep(Duration::from_millis(5));
    }
}
