//! Probes whose arguments come from the kernel's BTF: raw tracepoints everywhere, fentry and
//! fexit where the kernel attaches trampolines (the matrix's Debian kernels), and elsewhere
//! the refusal that names what is missing and what works instead. kprobes compile to an ELF
//! on a kernel without them.

use super::*;
use crate::support::kernel_config::RunningKernel;
use crate::support::syscalls::{run_as, run_exiting, Abi};

const SYNC: (u32, u32) = (162, 0);
/// `getpriority(PRIO_PROCESS, 0)`: the raw syscall returns `20 - nice`, 20 for a task at nice 0.
const GETPRIORITY: (u32, u32) = (140, 0);

/// A raw tracepoint's arguments typed from BTF: the task that execs and its old pid.
#[test]
fn rawtracepoint_arguments_are_typed_from_btf() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "rawtracepoint:sched_process_exec /args.p->comm == \"{}\"/ {{ printf(\"%s %s %d %d\\n\", probe, args.p->comm, args.old_pid == pid, arg1 == args.old_pid); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.sh("true");
    let expected = format!("rawtracepoint:vmlinux:sched_process_exec {} 1 1\n\n\n", comm.name());
    tracer.finish().assert_exact(0, &expected, ATTACHED_1);
}

#[test]
fn rawtracepoint_listing_shows_its_arguments() {
    if !kernel_ready() {
        return;
    }
    run(&["-lv", "rawtracepoint:sched_process_exec"]).assert_exact(
        0,
        "rawtracepoint:vmlinux:sched_process_exec\n    struct task_struct * p\n    pid_t old_pid\n    struct linux_binprm * bprm\n",
        "",
    );
}

/// Whether this kernel attaches fentry programs, as `--info` finds by trying. Debian's kernels
/// (the matrix's) must: they are built for it and no policy refuses it.
fn kernel_attaches_fentry() -> Option<bool> {
    if !kernel_ready() {
        return None;
    }
    let info = run(&["--info"]);
    let attaches = info.stdout.contains("fentry: yes");
    let kernel = RunningKernel::read_or_skip()?;
    if kernel.release.ends_with("-amd64") && kernel.has_feature("fentry") {
        assert!(attaches, "Debian's {} should attach fentry programs:\n{}", kernel.release, info.stdout);
    }
    Some(attaches)
}

#[test]
fn fentry_counts_the_calls_of_a_function() {
    let Some(attaches) = kernel_attaches_fentry() else { return };
    let comm = Comm::unique();
    let program = format!("fentry:ksys_sync /comm == \"{}\"/ {{ @[probe] = count(); }}", comm.name());
    if !attaches {
        let expected = "ERROR: cannot attach probe `fentry:vmlinux:ksys_sync`: this kernel refuses fentry and fexit programs \
             (it has no BPF trampolines for them, or refuses to attach them)\nhelp: `tracepoint:syscalls:sys_enter_sync` traces the \
             syscall `ksys_sync` serves; tracepoints and raw tracepoints work on this kernel (`ferrotrace -l 'tracepoint:*'`, \
             `ferrotrace -l 'rawtracepoint:*'`); `ferrotrace --info` lists what it has\n";
        run(&["-e", &program]).assert_exact(1, "", expected);
        return;
    }
    let tracer = Tracer::start(&["-e", &program]);
    run_as(&comm, Abi::X86_64, &[SYNC, SYNC]);
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@[fentry:vmlinux:ksys_sync]: 2\n", ATTACHED_1);
}

/// `exit_group(7)` calls `do_group_exit(7 << 8)`: its argument by name and as `arg0`, and the
/// function's name.
#[test]
fn fentry_reads_arguments_by_name() {
    let Some(true) = kernel_attaches_fentry() else { return };
    let comm = Comm::unique();
    let program = format!("fentry:do_group_exit /comm == \"{}\"/ {{ @code = args.exit_code; @word = arg0; @function = func; }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    run_exiting(&comm, Abi::X86_64, &[], 7);
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@code: 1792\n@function: do_group_exit\n@word: 1792\n", ATTACHED_1);
}

#[test]
fn fexit_reads_the_return_value_into_a_histogram() {
    let Some(true) = kernel_attaches_fentry() else { return };
    let comm = Comm::unique();
    let program = format!("fexit:__x64_sys_getpriority /comm == \"{}\"/ {{ @ = hist(retval); }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    run_as(&comm, Abi::X86_64, &[GETPRIORITY, GETPRIORITY]);
    let expected = "\n\n@:\n[16, 32)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n";
    tracer.stop(libc::SIGINT).assert_exact(0, expected, ATTACHED_1);
}

/// A loaded module's function: `fentry:dummy:set_multicast_list` fires when the dummy
/// module's device comes up, its `struct net_device *` argument typed from the module's BTF,
/// and the listing names the module's functions. The matrix's guests carry `dummy.ko` for this;
/// elsewhere (this development VM has no modules) it is skipped with a notice.
#[test]
fn fentry_on_a_module_function() {
    let Some(true) = kernel_attaches_fentry() else { return };
    let module = std::path::Path::new(crate::support::TEST_MODULE);
    if !module.exists() {
        eprintln!("notice: {} is not here: the module function test runs in the kernel matrix", module.display());
        return;
    }
    if !std::path::Path::new("/sys/kernel/btf/dummy").exists() {
        let loaded = std::process::Command::new("insmod").arg(module).status().expect("cannot run insmod");
        assert!(loaded.success(), "insmod {} failed", module.display());
    }
    let listing = run(&["-l", "fentry:dummy:*"]);
    assert!(listing.stdout.lines().any(|line| line == "fentry:dummy:set_multicast_list"), "{}", listing.transcript());
    let tracer = Tracer::start(&["-e", "fentry:dummy:set_multicast_list { printf(\"%s %s\\n\", probe, args.dev->name); exit(); }"]);
    let up = std::process::Command::new("ip").args(["link", "set", "dummy0", "up"]).status().expect("cannot run ip");
    assert!(up.success(), "ip link set dummy0 up failed");
    let outcome = tracer.finish();
    // The device's rx mode may be set more than once before `exit()` takes hold.
    let first = outcome.stdout.lines().next().unwrap_or_default();
    assert_eq!((outcome.status.code(), first, outcome.stderr.as_str()), (Some(0), "fentry:dummy:set_multicast_list dummy0", ATTACHED_1), "{}", outcome.transcript());
}

/// `getppid()`: the syscall the traced program's tracepoint sees.
const GETPPID: (u32, u32) = (110, 0);

/// The functions of loaded BPF programs named `function`, as `fentry:bpf:ID:function`.
fn bpf_functions_named(function: &str) -> Vec<String> {
    let listing = run(&["-l", &format!("fentry:bpf:*:{function}")]);
    listing.stdout.lines().filter(|line| line.ends_with(&format!(":{function}"))).map(str::to_string).collect()
}

/// fentry on a BPF program's function: a ferrotrace whose `getppid` tracepoint has a loop
/// (ferrotrace gives its programs BTF for their functions, which tracing them needs, only when
/// they have loop bodies) is traced by a second one, `fentry:bpf:ID:p0_sys_enter_ge`, the id
/// found in the listing. Where the kernel refuses trampolines, the refusal; the probe compiles
/// to an ELF everywhere.
#[test]
fn fentry_on_a_bpf_programs_function() {
    let Some(attaches) = kernel_attaches_fentry() else { return };
    let function = "p0_sys_enter_ge";
    let before = bpf_functions_named(function);
    let target = Tracer::start(&["-e", "tracepoint:syscalls:sys_enter_getppid { @m[1] = 1; for ($kv : @m) { @n = count(); } }"]);
    let listed = bpf_functions_named(function);
    let new: Vec<&String> = listed.iter().filter(|probe| !before.contains(probe)).collect();
    // Listed by id: the newest is the target's, should another program of that name be loaded.
    let Some(probe) = new.last().copied().or(listed.last()).cloned() else { panic!("the target's function is not listed:\n{listed:?}") };
    let comm = Comm::unique();
    let program = format!("{probe} /comm == \"{}\"/ {{ @[probe] = count(); }}", comm.name());
    let elf = std::env::temp_dir().join(format!("ferrotrace-bpf-{}.o", std::process::id()));
    let elf_path = elf.to_str().expect("temp paths are UTF-8");
    run(&["--emit-elf", elf_path, "-e", &program]).assert_exact(0, "", "");
    assert_eq!(&std::fs::read(&elf).expect("the object file was written")[..4], b"\x7fELF");
    let _ = std::fs::remove_file(&elf);
    if !attaches {
        let expected = format!(
            "ERROR: cannot attach probe `{probe}`: this kernel refuses fentry and fexit programs (it has no BPF trampolines for them, \
             or refuses to attach them)\nhelp: `ferrotrace --info` lists what this kernel has\n"
        );
        run(&["-e", &program]).assert_exact(1, "", &expected);
        drop(target.stop(libc::SIGINT));
        return;
    }
    let tracer = Tracer::start(&["-e", &program]);
    run_as(&comm, Abi::X86_64, &[GETPPID, GETPPID]);
    let outcome = tracer.stop(libc::SIGINT);
    drop(target.stop(libc::SIGINT));
    outcome.assert_exact(0, &format!("\n\n@[{probe}]: 2\n"), ATTACHED_1);
}

/// On any kernel, kprobes and fentry compile to an object file: whether they attach is the
/// running kernel's business.
#[test]
fn function_probes_compile_to_an_elf_everywhere() {
    if !kernel_ready() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ferrotrace-elf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot create the output directory");
    for (name, program) in [("k.o", "kprobe:vfs_read { @ = count(); }"), ("f.o", "fexit:vfs_read { @ = hist(retval); }")] {
        let path = dir.join(name);
        let path = path.to_str().expect("temp paths are UTF-8");
        run(&["--emit-elf", path, "-e", program]).assert_exact(0, "", "");
        let elf = std::fs::read(path).expect("the object file was written");
        assert_eq!(&elf[..4], b"\x7fELF", "{program} wrote no ELF");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file of 100 bytes, read whole three times by a thread named `comm`: three `vfs_read`
/// calls returning 100 (and none returning anything else under that name).
fn read_a_file_three_times(comm: &Comm) {
    let path = std::env::temp_dir().join(format!("ferrotrace-vfs-read-{}", comm.name()));
    std::fs::write(&path, [b'x'; 100]).expect("cannot write the file to read");
    let reading = path.clone();
    comm.run(move || {
        use std::io::Read;
        for _ in 0..3 {
            let mut file = std::fs::File::open(&reading).expect("cannot open the file");
            let mut buffer = [0u8; 100];
            file.read_exact(&mut buffer).expect("cannot read the file");
        }
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn fentry_counts_reads_by_comm() {
    let Some(true) = kernel_attaches_fentry() else { return };
    let comm = Comm::unique();
    let program = format!("fentry:vfs_read /comm == \"{}\"/ {{ @[comm] = count(); }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    read_a_file_three_times(&comm);
    tracer.stop(libc::SIGINT).assert_exact(0, &format!("\n\n@[{}]: 3\n", comm.name()), ATTACHED_1);
}

#[test]
fn kretprobe_histogram_of_read_sizes() {
    if !kernel_ready() {
        return;
    }
    let Some(kernel) = RunningKernel::read_or_skip() else { return };
    if !kernel.has_feature("kprobe") {
        return;
    }
    let comm = Comm::unique();
    let program = format!("kretprobe:vfs_read /comm == \"{}\"/ {{ @ = hist(retval); }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    read_a_file_three_times(&comm);
    let expected = "\n\n@:\n[64, 128)              3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n";
    tracer.stop(libc::SIGINT).assert_exact(0, expected, ATTACHED_1);
}
