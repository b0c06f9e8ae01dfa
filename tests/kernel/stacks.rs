//! Stacks and symbols in the kernel: `kstack` frames checked against `/proc/kallsyms`, and the
//! user stack and `usym` of a known function of this test binary that makes a syscall itself,
//! in this process, in one that exits before the stacks are printed, and in one that execs.

use std::collections::HashMap;

use super::*;

/// A tag in `lseek`'s `whence`, so that only this file's calls are counted.
const WHENCE_KSTACK: u64 = 0x5eed_0001;
const WHENCE_USTACK: u64 = 0x5eed_0002;
const WHENCE_JSON: u64 = 0x5eed_0003;
const WHENCE_EXITED: u64 = 0x5eed_0004;
const WHENCE_LEN: u64 = 0x5eed_0005;

/// Makes syscall `nr` with arguments `a`, `b` and `c` by the `syscall` instruction itself, so
/// that the innermost user frame is this function; returns the address the syscall returns to,
/// which the kernel reports as that frame.
///
/// # Safety
/// The syscall must be one the caller may make with those arguments.
#[inline(never)]
#[no_mangle]
pub unsafe extern "C" fn ferrotrace_stack_leaf(nr: i64, a: usize, b: usize, c: usize) -> u64 {
    let return_address: u64;
    // SAFETY: the caller vouches for the syscall; it clobbers only rax, rcx and r11, all
    // declared.
    unsafe {
        std::arch::asm!(
            "lea {ra}, [rip + 2f]",
            "syscall",
            "2:",
            ra = out(reg) return_address,
            inlateout("rax") nr => _,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    return_address
}

/// `lseek(-1, <ferrotrace_stack_leaf's address>, whence)` from `ferrotrace_stack_leaf`;
/// returns the address its syscall returns to.
fn lseek_leaf(whence: u64) -> u64 {
    // SAFETY: `lseek` on fd -1 fails with EBADF and changes nothing.
    unsafe { ferrotrace_stack_leaf(libc::SYS_lseek, -1i64 as usize, leaf_address() as usize, whence as usize) }
}

/// Where `ferrotrace_stack_leaf` starts.
fn leaf_address() -> u64 {
    ferrotrace_stack_leaf as *const () as u64
}

/// `+N`: how far into `ferrotrace_stack_leaf` its syscall returns.
fn leaf_offset(return_address: u64) -> u64 {
    return_address - leaf_address()
}

fn lseek_program(whence: u64, body: &str) -> String {
    format!("tracepoint:syscalls:sys_enter_lseek /args.fd == -1 && args.whence == {whence}/ {{ {body} }}")
}

/// `body` on every `lseek` of threads named `comm`, through `raw_syscalls`: Linux 6.1 hands a
/// `syscalls:` program the user registers, so the kernel has no kernel stack to give there.
fn raw_lseek_program(comm: &Comm, body: &str) -> String {
    format!("tracepoint:raw_syscalls:sys_enter /comm == \"{}\" && args.id == {}/ {{ {body} }}", comm.name(), libc::SYS_lseek)
}

/// Every symbol of `/proc/kallsyms` by name, with its addresses.
fn kallsyms() -> HashMap<String, Vec<u64>> {
    let text = std::fs::read_to_string("/proc/kallsyms").expect("cannot read /proc/kallsyms");
    let mut symbols: HashMap<String, Vec<u64>> = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(address), Some(_), Some(name)) = (fields.next(), fields.next(), fields.next()) else { continue };
        if let Ok(address) = u64::from_str_radix(address, 16) {
            symbols.entry(name.to_string()).or_default().push(address);
        }
    }
    symbols
}

/// A kernel stack of a syscall the test makes: in perf mode every frame's address is its
/// symbol's address in `/proc/kallsyms` plus its offset; the default mode prints the same
/// frames indented 8 spaces; the outermost frames are the syscall entry. `raw_syscalls`, not
/// `syscalls:sys_enter_lseek`: Linux 6.1 hands a `syscalls:` program the user registers, so
/// the kernel has no kernel stack to give there (6.12 and later do).
#[test]
fn kstack_frames_are_kernel_functions() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = raw_lseek_program(&comm, "@perf[kstack(perf)] = count(); @plain[kstack] = count();");
    let tracer = Tracer::start(&["-e", &program]);
    let caller = std::thread::Builder::new().name(comm.name().to_string()).spawn(|| {
        for _ in 0..3 {
            lseek_leaf(WHENCE_KSTACK);
        }
    });
    caller.expect("cannot start the named thread").join().expect("the named thread panicked");
    let outcome = tracer.stop(libc::SIGINT);
    let stdout = &outcome.stdout;
    let perf_key = stdout.split("@perf[\n").nth(1).and_then(|rest| rest.split("]: 3\n").next()).unwrap_or_else(|| panic!("no `@perf[...]: 3` in:\n{stdout}"));
    let plain_key = stdout.split("@plain[\n").nth(1).and_then(|rest| rest.split("]: 3\n").next()).unwrap_or_else(|| panic!("no `@plain[...]: 3` in:\n{stdout}"));
    let symbols = kallsyms();
    let mut names = Vec::new();
    for line in perf_key.lines() {
        let (address, symbol) = line.strip_prefix('\t').and_then(|l| l.split_once(' ')).unwrap_or_else(|| panic!("not a perf frame: {line:?}"));
        let address = u64::from_str_radix(address, 16).unwrap_or_else(|_| panic!("not a hex address: {line:?}"));
        let (name, offset) = symbol.rsplit_once('+').unwrap_or_else(|| panic!("no offset: {line:?}"));
        let offset: u64 = offset.parse().unwrap_or_else(|_| panic!("not a decimal offset: {line:?}"));
        let starts = symbols.get(name).unwrap_or_else(|| panic!("`{name}` is not in /proc/kallsyms"));
        assert!(starts.iter().any(|start| start + offset == address), "{line:?}: `{name}` is not at {address:#x} - {offset}");
        names.push(format!("        {symbol}"));
    }
    assert_eq!(plain_key, format!("{}\n", names.join("\n")), "the default mode prints the perf frames' symbols");
    assert!(names.iter().any(|n| n.contains("do_syscall_64+")), "no do_syscall_64 frame in:\n{perf_key}");
    assert!(names.last().is_some_and(|n| n.trim_start().starts_with("entry_SYSCALL_64")), "not entered by the syscall entry:\n{perf_key}");
    assert_eq!(outcome.stderr, ATTACHED_1);
}

/// `len(kstack)` and `len(ustack(3))` count the frames those stacks print (each walked again
/// by `bpf_get_stack`), the user one within its limit.
#[test]
fn len_counts_the_frames_a_stack_prints() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = raw_lseek_program(&comm, r#"printf("%d %d\n%s%s", len(kstack), len(ustack(3)), kstack, ustack(3));"#);
    let tracer = Tracer::start(&["-e", &program]);
    let caller = std::thread::Builder::new().name(comm.name().to_string()).spawn(|| lseek_leaf(WHENCE_LEN));
    caller.expect("cannot start the named thread").join().expect("the named thread panicked");
    let outcome = tracer.stop(libc::SIGINT);
    let (counts, stacks) = outcome.stdout.split_once('\n').unwrap_or_else(|| panic!("{}", outcome.transcript()));
    let counts: Vec<usize> = counts.split(' ').map(|n| n.parse().unwrap_or_else(|_| panic!("{}", outcome.transcript()))).collect();
    let printed: Vec<usize> = stacks.trim_end().split("\n\n").map(|frames| frames.lines().filter(|l| !l.is_empty()).count()).collect();
    assert_eq!(counts, printed, "{}", outcome.transcript());
    assert!(counts[0] > 0 && (1..=3).contains(&counts[1]), "{}", outcome.transcript());
}

/// `ustack(1)` in this process is the function that made the syscall, at the instruction after
/// it; `usym` of its address is its name; both as a map key and printed with `%s`.
#[test]
fn ustack_and_usym_of_this_process() {
    if !kernel_ready() {
        return;
    }
    let body = r#"@[ustack(1), usym(args.offset)] = count(); printf("%s|%s\n", ustack(perf, 1), usym(args.offset));"#;
    let tracer = Tracer::start(&["-e", &lseek_program(WHENCE_USTACK, body)]);
    let offset = leaf_offset(lseek_leaf(WHENCE_USTACK));
    lseek_leaf(WHENCE_USTACK);
    let outcome = tracer.stop(libc::SIGINT);
    let exe = std::env::current_exe().expect("the test binary");
    let address = leaf_address() + offset;
    let printed = format!("\n\t{address:x} ferrotrace_stack_leaf+{offset} ({})\n|ferrotrace_stack_leaf\n", exe.display());
    let expected = format!("{printed}{printed}\n\n@[\n        ferrotrace_stack_leaf+{offset}\n, ferrotrace_stack_leaf]: 2\n");
    outcome.assert_exact(0, &expected, ATTACHED_1);
}

/// The JSON layout: a stack is a string, and as a key loses its spaces as every key does.
#[test]
fn stacks_in_json() {
    if !kernel_ready() {
        return;
    }
    let body = "@k[ustack(1)] = count(); @v = ustack(raw, 1);";
    let tracer = Tracer::start_json(&["-f", "json", "-e", &lseek_program(WHENCE_JSON, body)]);
    let return_address = lseek_leaf(WHENCE_JSON);
    let offset = leaf_offset(return_address);
    let outcome = tracer.stop(libc::SIGINT);
    let expected = format!(
        "{{\"type\": \"attached_probes\", \"data\": {{\"probes\": 1}}}}\n\
         {{\"type\": \"map\", \"data\": {{\"@k\": {{\"\\nferrotrace_stack_leaf+{offset}\\n\": 1}}}}}}\n\
         {{\"type\": \"map\", \"data\": {{\"@v\": \"\\n{return_address:x}\\n\"}}}}\n"
    );
    outcome.assert_exact(0, &expected, "");
}

/// A process that exits before ferrotrace could read `/proc` (ferrotrace is stopped while it
/// runs) still has its stacks named: the kernel reported its mappings as it made them.
#[test]
fn ustack_of_a_process_that_exited() {
    if !kernel_ready() {
        return;
    }
    let tracer = Tracer::start(&["-e", &lseek_program(WHENCE_EXITED, "@[ustack(1), usym(args.offset)] = count();")]);
    let exe = std::env::current_exe().expect("the test binary");
    tracer.signal(libc::SIGSTOP);
    let helper = std::process::Command::new(&exe)
        .args(["--ignored", "--exact", "stacks::exited_process_helper", "--nocapture", "--test-threads", "1"])
        .env(HELPER_VAR, "1")
        .output()
        .expect("cannot run the helper process");
    tracer.signal(libc::SIGCONT);
    assert!(helper.status.success(), "the helper failed: {}", String::from_utf8_lossy(&helper.stderr));
    let offset = leaf_offset(lseek_leaf(0));
    let outcome = tracer.stop(libc::SIGINT);
    let expected = format!("\n\n@[\n        ferrotrace_stack_leaf+{offset}\n, ferrotrace_stack_leaf]: 1\n");
    outcome.assert_exact(0, &expected, ATTACHED_1);
}

/// Set in the helper process `ustack_of_a_process_that_exited` starts.
const HELPER_VAR: &str = "FERROTRACE_STACK_HELPER";

/// The process of `ustack_of_a_process_that_exited`: makes the traced syscall and exits.
#[test]
#[ignore = "run by ustack_of_a_process_that_exited as its traced process"]
fn exited_process_helper() {
    if std::env::var_os(HELPER_VAR).is_none() {
        return;
    }
    lseek_leaf(WHENCE_EXITED);
}

/// Set (to the path to exec) in the helper process `ustack_taken_just_before_an_exec` starts.
const EXEC_HELPER_VAR: &str = "FERROTRACE_EXEC_HELPER";

/// The user stack of an `execve` is named from the image the process had before it, though the
/// exec was applied before the stack reached ferrotrace (stopped while the helper runs): the
/// old image is kept beside the new.
#[test]
fn ustack_taken_just_before_an_exec() {
    if !kernel_ready() {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let link = std::env::temp_dir().join(format!("ferrotrace-exec-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&exe, &link).expect("cannot symlink the test binary");
    let program = format!(r#"tracepoint:syscalls:sys_enter_execve /str(args.filename) == "{}"/ {{ @[ustack(1)] = count(); }}"#, link.display());
    let tracer = Tracer::start(&["-e", &program]);
    tracer.signal(libc::SIGSTOP);
    let helper = std::process::Command::new(&exe)
        .args(["--ignored", "--exact", "stacks::exec_helper", "--nocapture", "--test-threads", "1"])
        .env(EXEC_HELPER_VAR, &link)
        .output()
        .expect("cannot run the helper process");
    tracer.signal(libc::SIGCONT);
    let _ = std::fs::remove_file(&link);
    assert!(helper.status.success(), "the helper failed: {}", String::from_utf8_lossy(&helper.stderr));
    let offset = leaf_offset(lseek_leaf(0));
    tracer.stop(libc::SIGINT).assert_exact(0, &format!("\n\n@[\n        ferrotrace_stack_leaf+{offset}\n]: 1\n"), ATTACHED_1);
}

/// The process of `ustack_taken_just_before_an_exec`: execs the test binary again (through the
/// path the variable names), running no test, from `ferrotrace_stack_leaf`.
#[test]
#[ignore = "run by ustack_taken_just_before_an_exec as its traced process"]
fn exec_helper() {
    let Some(path) = std::env::var_os(EXEC_HELPER_VAR) else { return };
    let path = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str())).expect("a path without NUL");
    let none = std::ffi::CString::new("--exact").expect("no NUL");
    let nothing = std::ffi::CString::new("no such test").expect("no NUL");
    let argv = [path.as_ptr(), none.as_ptr(), nothing.as_ptr(), std::ptr::null()];
    // SAFETY: `path` and `argv` are NUL- and NULL-terminated and outlive the call; on success
    // the process is the test binary again, running no test.
    unsafe { ferrotrace_stack_leaf(libc::SYS_execve, path.as_ptr() as usize, argv.as_ptr() as usize, 0) };
    panic!("the execve of {path:?} returned");
}

/// `ksym` of a known address and `kaddr` of a known name agree with `/proc/kallsyms`.
#[test]
fn ksym_and_kaddr() {
    if !kernel_ready() {
        return;
    }
    let symbols = kallsyms();
    let address = symbols.get("vfs_read").and_then(|a| a.first()).copied().expect("vfs_read in /proc/kallsyms");
    let program = format!(r#"begin {{ printf("%s %s %d\n", ksym({address}), ksym(kaddr("vfs_read") + 3), kaddr("vfs_read") == {address}); exit(); }}"#);
    run(&["-q", "-e", &program]).assert_exact(0, "vfs_read vfs_read 1\n\n\n", "");
}

/// A user frame's C++-mangled name (a Rust legacy name is one) prints demangled as bpftrace
/// prints it, hash and all, in stacks and `usym`; `cpp_demangle = false` keeps it mangled.
#[test]
fn user_frames_print_demangled_names() {
    if !kernel_ready() {
        return;
    }
    let target = crate::support::target_program::path();
    let command = format!("{target} mangled 1");
    let body = r#"{ printf("%s|%s", ustack(1), usym(reg("ip"))); }"#;
    let probe = format!("uprobe:{target}:\"ferrotrace_target::mangled_work\" ");
    let mangled = run(&["-c", &command, "-e", &format!("config = {{ cpp_demangle = false }} {probe}{body}")]);
    let name = mangled.stdout.trim().rsplit('|').next().expect("a usym").to_string();
    assert!(name.starts_with("_ZN17ferrotrace_target12mangled_work17h") && name.ends_with('E'), "{}", mangled.transcript());
    mangled.assert_exact(0, &format!("\n        {name}+0\n|{name}\n\n"), ATTACHED_1);
    let hash = &name["_ZN17ferrotrace_target12mangled_work17".len()..name.len() - 1];
    let demangled = format!("ferrotrace_target::mangled_work::{hash}");
    run(&["-c", &command, "-e", &format!("{probe}{body}")]).assert_exact(0, &format!("\n        {demangled}+0\n|{demangled}\n\n"), ATTACHED_1);
}
