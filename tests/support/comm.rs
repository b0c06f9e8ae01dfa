//! Events whose `comm` the test chooses, so that no other process on the machine can change a
//! count the test asserts: a shell started through a symlink named after the comm, or a thread
//! given that name.

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// The kernel keeps 15 bytes of a task's name.
const COMM_LEN: usize = 15;

/// A task name unique to one test.
pub struct Comm {
    name: String,
}

impl Comm {
    /// A new name: unique to this test process and this call, and short enough to be a whole
    /// comm.
    pub fn unique() -> Comm {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("ft{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        assert!(name.len() <= COMM_LEN, "comm `{name}` is longer than {COMM_LEN} bytes");
        Comm { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `sh -c script` as a process whose comm is this name (exec names a task after the
    /// file it ran: here a symlink to /bin/sh), and checks that it succeeded.
    pub fn sh(&self, script: &str) {
        let dir = std::env::temp_dir().join(format!("ferrotrace-e2e-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("cannot create the symlink directory");
        let link: PathBuf = dir.join(&self.name);
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink("/bin/sh", &link).expect("cannot symlink /bin/sh");
        let status = Command::new(&link).arg("-c").arg(script).status();
        let _ = fs::remove_file(&link);
        let _ = fs::remove_dir(&dir); // the last test out removes the directory
        let status = status.expect("cannot run the shell");
        assert!(status.success(), "`{script}` failed: {status}");
    }

    /// Opens `path` `times` times from a thread with this name: `times` `openat` calls.
    pub fn open_file(&self, path: &'static str, times: usize) {
        let worker = thread::Builder::new().name(self.name.clone()).spawn(move || {
            for _ in 0..times {
                File::open(path).unwrap_or_else(|err| panic!("cannot open {path}: {err}"));
            }
        });
        worker.expect("cannot start the named thread").join().expect("the named thread panicked");
    }

    /// Runs `work` in a thread with this name, and waits for it.
    pub fn run(&self, work: impl FnOnce() + Send + 'static) {
        let worker = thread::Builder::new().name(self.name.clone()).spawn(work);
        worker.expect("cannot start the named thread").join().expect("the named thread panicked");
    }

    /// Tries to open a file that does not exist from a thread with this name: one `openat`
    /// that fails with `ENOENT`.
    pub fn try_open_missing_file(&self) {
        let path = format!("/nonexistent/{}", self.name);
        let worker = thread::Builder::new().name(self.name.clone()).spawn(move || File::open(&path).is_err());
        let failed = worker.expect("cannot start the named thread").join().expect("the named thread panicked");
        assert!(failed, "a file under /nonexistent opened");
    }
}
