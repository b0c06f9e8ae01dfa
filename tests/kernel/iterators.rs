//! Iterator probes (`iter:`): each run over the kernel's tasks, their open files and their
//! memory areas, filtered to a process the test starts itself (a shell named after a unique
//! comm, waiting on a `sleep`), so the exact output is known; pinning in a BPF filesystem and
//! reading the pinned file; the listing; and the refusals.

use std::ffi::CString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::*;

/// A shell whose comm is unique to the test, waiting on a long `sleep` (it stays, with its
/// file descriptors and its memory areas, until dropped): standard input is `stdin`, output
/// and errors go nowhere.
struct Waiting {
    comm: Comm,
    shell: Child,
    dir: PathBuf,
}

impl Waiting {
    fn start(stdin: File) -> Waiting {
        let comm = Comm::unique();
        let dir = std::env::temp_dir().join(format!("ferrotrace-iter-{}", comm.name()));
        fs::create_dir_all(&dir).expect("cannot create the symlink directory");
        let link = dir.join(comm.name());
        std::os::unix::fs::symlink("/bin/sh", &link).expect("cannot symlink /bin/sh");
        let shell = Command::new(&link)
            .args(["-c", "sleep 1000; true"])
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the shell runs");
        let waiting = Waiting { comm, shell, dir };
        waiting.wait_until_named();
        waiting
    }

    fn pid(&self) -> u32 {
        self.shell.id()
    }

    /// Waits until the shell has exec'd (its comm is the link's name) and started its `sleep`
    /// (some process's parent is the shell), so that its descriptors and memory stay as they are.
    fn wait_until_named(&self) {
        let deadline = std::time::Instant::now() + crate::support::process::deadline();
        let comm_file = format!("/proc/{}/comm", self.pid());
        while std::time::Instant::now() < deadline {
            let named = fs::read_to_string(&comm_file).is_ok_and(|comm| comm.trim_end() == self.comm.name());
            if named && has_child(self.pid()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the shell `{}` did not start its sleep", self.comm.name());
    }
}

/// Whether some process's parent is `pid` (`/proc/N/stat`, the field after the state).
fn has_child(pid: u32) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else { return false };
    entries.flatten().filter(|entry| entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))).any(|entry| {
        let stat = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after_comm.split_whitespace().nth(1).and_then(|ppid| ppid.parse::<u32>().ok()) == Some(pid)
    })
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let _ = self.shell.kill();
        let _ = self.shell.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A file whose path is known, for the shell's standard input.
fn known_file(name: &str) -> (PathBuf, File) {
    let path = std::env::temp_dir().join(format!("ferrotrace-iter-{}-{name}", std::process::id()));
    fs::write(&path, "input\n").expect("cannot write the input file");
    let file = File::open(&path).expect("cannot open the input file");
    (path, file)
}

/// `iter:task` visits every task; filtered to the shell it prints its comm and pid once (the
/// last call, whose task is null, is skipped). `begin` and `end` come with it.
#[test]
fn task_iterator_sees_a_known_process() {
    if !kernel_ready() {
        return;
    }
    let (path, stdin) = known_file("task");
    let shell = Waiting::start(stdin);
    let program = format!(
        "begin {{ printf(\"begin\\n\"); }} iter:task /ctx.task.pid == {pid}/ {{ printf(\"%s:%d\\n\", ctx.task.comm, ctx.task.pid); @tasks = count(); }} end {{ printf(\"end\\n\"); }}",
        pid = shell.pid()
    );
    let expected = format!("begin\n{}:{}\nend\n\n\n@tasks: 1\n", shell.comm.name(), shell.pid());
    run_program(&program).assert_exact(0, &expected, "Attached 3 probes\n");
    // The short name, and a run with no other probe.
    let program = format!("it:task /ctx.task.pid == {}/ {{ printf(\"%s\\n\", ctx.task.comm); }}", shell.pid());
    run_program(&program).assert_exact(0, &format!("{}\n\n\n", shell.comm.name()), ATTACHED_1);
    drop(shell);
    let _ = fs::remove_file(path);
}

/// `iter:task_file`: the shell's standard input, by its descriptor and `path()` of its file.
#[test]
fn task_file_iterator_names_a_known_descriptor() {
    if !kernel_ready() {
        return;
    }
    let (path, stdin) = known_file("file");
    let shell = Waiting::start(stdin);
    let program = format!(
        "iter:task_file /ctx.task.pid == {} && ctx.fd == 0/ {{ printf(\"%s:%d %d:%s\\n\", ctx.task.comm, ctx.task.pid, ctx.fd, path(ctx.file.f_path)); }}",
        shell.pid()
    );
    let expected = format!("{}:{} 0:{}\n\n\n", shell.comm.name(), shell.pid(), path.display());
    run_program(&program).assert_exact(0, &expected, ATTACHED_1);
    drop(shell);
    let _ = fs::remove_file(path);
}

/// `iter:task_vma`: the shell's memory areas, as `/proc/PID/maps` lists them (less the
/// `[vsyscall]` page, which is no memory area of the task's).
#[test]
fn task_vma_iterator_walks_the_memory_areas_of_a_known_process() {
    if !kernel_ready() {
        return;
    }
    let (path, stdin) = known_file("vma");
    let shell = Waiting::start(stdin);
    let program = format!("iter:task_vma /ctx.task.pid == {}/ {{ printf(\"%lx-%lx\\n\", ctx.vma.vm_start, ctx.vma.vm_end); }}", shell.pid());
    let outcome = run_program(&program);
    let maps = fs::read_to_string(format!("/proc/{}/maps", shell.pid())).expect("the shell's maps are readable");
    let ranges: String = maps
        .lines()
        .filter(|line| !line.ends_with("[vsyscall]"))
        .filter_map(|line| line.split_whitespace().next())
        .map(|range| format!("{range}\n"))
        .collect();
    outcome.assert_exact(0, &format!("{ranges}\n\n"), ATTACHED_1);
    drop(shell);
    let _ = fs::remove_file(path);
}

/// A BPF filesystem mounted for one test, unmounted (and its mount point removed, if the test
/// made it) when dropped; or the one already at `/sys/fs/bpf`.
struct Bpffs {
    dir: PathBuf,
    mounted: bool,
    created: bool,
}

impl Bpffs {
    fn mount_at(dir: &Path) -> Bpffs {
        let created = !dir.exists();
        fs::create_dir_all(dir).expect("cannot create the mount point");
        let mounted = !is_bpffs(dir);
        if mounted {
            let target = CString::new(dir.as_os_str().as_encoded_bytes()).expect("a path without NUL");
            // SAFETY: every argument is a NUL-terminated string that outlives the call.
            let status = unsafe { libc::mount(c"bpf".as_ptr(), target.as_ptr(), c"bpf".as_ptr(), 0, std::ptr::null()) };
            assert_eq!(status, 0, "cannot mount a BPF filesystem at {}: {}", dir.display(), std::io::Error::last_os_error());
        }
        Bpffs { dir: dir.to_path_buf(), mounted, created }
    }
}

impl Drop for Bpffs {
    fn drop(&mut self) {
        if self.mounted {
            let target = CString::new(self.dir.as_os_str().as_encoded_bytes()).expect("a path without NUL");
            // SAFETY: a NUL-terminated path that outlives the call.
            unsafe { libc::umount(target.as_ptr()) };
        }
        if self.created {
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

/// Whether `dir` is a BPF filesystem (`BPF_FS_MAGIC`).
fn is_bpffs(dir: &Path) -> bool {
    const BPF_FS_MAGIC: libc::c_long = 0xcafe_4a11;
    let path = CString::new(dir.as_os_str().as_encoded_bytes()).expect("a path without NUL");
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `stat` is a writable statfs.
    unsafe { libc::statfs(path.as_ptr(), &mut stat) == 0 && stat.f_type as libc::c_long == BPF_FS_MAGIC }
}

/// `iter:task:/ABSOLUTE/PATH`: the iterator is pinned instead of run, and every read of the
/// pinned file runs it.
#[test]
fn iterator_pinned_at_an_absolute_path_runs_when_read() {
    if !kernel_ready() {
        return;
    }
    let bpffs = Bpffs::mount_at(&std::env::temp_dir().join(format!("ferrotrace-bpffs-{}", std::process::id())));
    let (path, stdin) = known_file("pin");
    let shell = Waiting::start(stdin);
    let pin = bpffs.dir.join("tasks");
    let program = format!("iter:task:{} /ctx.task.pid == {}/ {{ printf(\"%s:%d\\n\", ctx.task.comm, ctx.task.pid); }}", pin.display(), shell.pid());
    run_program(&program).assert_exact(0, &format!("Program pinned to {}\n\n\n", pin.display()), ATTACHED_1);
    let line = format!("{}:{}\n", shell.comm.name(), shell.pid());
    assert_eq!(fs::read_to_string(&pin).expect("the pinned iterator reads"), line);
    assert_eq!(fs::read_to_string(&pin).expect("the pinned iterator reads again"), line);
    // Pinning again where a file is refuses, and leaves the first pin.
    run_program(&program).assert_exact(
        1,
        "",
        &format!("Attached 1 probe\nERROR: cannot attach probe `iter:task`: cannot pin the iterator at {}: a file is there already\n", pin.display()),
    );
    fs::remove_file(&pin).expect("the pin is removed");
    drop(shell);
    drop(bpffs);
    let _ = fs::remove_file(path);
}

/// `iter:task_file:NAME`: a path without a leading `/` is in `/sys/fs/bpf` (mounted for the
/// test when nothing is).
#[test]
fn iterator_pinned_at_a_relative_path_is_in_sys_fs_bpf() {
    if !kernel_ready() {
        return;
    }
    let bpffs = Bpffs::mount_at(Path::new("/sys/fs/bpf"));
    let name = format!("ferrotrace-files-{}", std::process::id());
    let (path, stdin) = known_file("relative");
    let shell = Waiting::start(stdin);
    let program = format!("iter:task_file:{name} /ctx.task.pid == {} && ctx.fd == 0/ {{ printf(\"%d %s\\n\", ctx.fd, path(ctx.file.f_path)); }}", shell.pid());
    run_program(&program).assert_exact(0, &format!("Program pinned to /sys/fs/bpf/{name}\n\n\n"), ATTACHED_1);
    let pin = bpffs.dir.join(&name);
    assert_eq!(fs::read_to_string(&pin).expect("the pinned iterator reads"), format!("0 {}\n", path.display()));
    fs::remove_file(&pin).expect("the pin is removed");
    drop(shell);
    drop(bpffs);
    let _ = fs::remove_file(path);
}

/// Pinning outside a BPF filesystem is refused with what to do.
#[test]
fn iterator_pin_outside_bpffs_is_refused() {
    if !kernel_ready() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ferrotrace-not-bpffs-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("cannot create the directory");
    let pin = dir.join("tasks");
    let outcome = run_program(&format!("iter:task:{} {{ }}", pin.display()));
    let _ = fs::remove_dir_all(&dir);
    let code = outcome.status.code();
    let first = outcome.stderr.lines().nth(1).unwrap_or_default();
    assert_eq!(code, Some(1), "{outcome:?}");
    let expected = format!("ERROR: cannot attach probe `iter:task`: cannot pin the iterator at {}: its directory is not in a BPF filesystem", pin.display());
    assert!(first.starts_with(&expected), "{outcome:?}");
}

/// `-l 'iter:*'` lists the kernel's iterators, `-lv` what `ctx` points to.
#[test]
fn iterators_are_listed_with_their_context() {
    if !kernel_ready() {
        return;
    }
    let listed = run(&["-l", "iter:*"]);
    for name in ["iter:task", "iter:task_file", "iter:task_vma"] {
        assert!(listed.stdout.lines().any(|line| line == name), "{name} is not listed:\n{}", listed.stdout);
    }
    run(&["-lv", "iter:task_file"]).assert_exact(0, "iter:task_file\n    struct task_struct * task\n    u32 fd\n    struct file * file\n", "");
}

/// An iterator runs alone: anything but `begin` and `end` beside it is refused.
#[test]
fn iterator_beside_another_probe_is_refused() {
    if !kernel_ready() {
        return;
    }
    let outcome = run_program("iter:task { } interval:s:1 { exit(); }");
    assert_eq!(outcome.status.code(), Some(1), "{outcome:?}");
    assert!(
        outcome.stderr.contains("error[E0213]: an iterator probe runs alone, and this script has another probe beside `iter:task`"),
        "{outcome:?}"
    );
}
