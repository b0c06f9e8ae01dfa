//! Watchpoints on the test's own target program (`targets/ferrotrace-target`): its global
//! written a known number of times, watched at its address under `-c` (with address space
//! randomization off, so that the address is known before the program runs) and under `-p`;
//! an execute watchpoint on a function; a function's argument, from its first call (the
//! process stopped until the watchpoint is attached) or asynchronously; repeated calls; more
//! addresses than the CPU has debug registers; stacks in the handler; a kernel address (a
//! task's `personality`, found by a first run) where the kernel takes one, its refusal where it
//! does not; and an argument the CPU cannot watch. The tests run one at a time: a kernel
//! watchpoint holds a debug register of every CPU while it runs.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::*;
use crate::support::kernel_config::RunningKernel;
use crate::support::target_program;

/// Held by each test while it runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The message for each watchpoint the CPU has no debug register left for.
const OUT_OF_REGISTERS: &str = "Failed to attach watchpoint probe. You are out of watchpoint registers.\n";

/// The lock, when the kernel tests can run here and the kernel has hardware breakpoints (and
/// uprobes, which watchpoints on a function's argument need). A kernel without breakpoints
/// must refuse them, which is checked instead.
fn ready() -> Option<MutexGuard<'static, ()>> {
    if !kernel_ready() {
        return None;
    }
    let kernel = RunningKernel::read_or_skip()?;
    let lock = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    if !std::path::Path::new("/sys/bus/event_source/devices/breakpoint").exists() {
        let expected = "ERROR: cannot attach probe `watchpoint:268435456:8:w`: this kernel has no hardware breakpoints (no breakpoint PMU: \
                        it was built without CONFIG_HAVE_HW_BREAKPOINT)\nhelp: a uprobe or kprobe on the functions that access the memory \
                        sees their calls, not the accesses\n";
        run(&["-e", "watchpoint:0x10000000:8:w { }"]).assert_exact(1, "", expected);
        return None;
    }
    kernel.has_feature("uprobe").then_some(lock)
}

/// The addresses of the target's global and of its `ft_tick`, as they are in every run with
/// address space randomization off.
fn fixed_addresses() -> (String, String) {
    let output = Command::new(target_program::path()).args(["norandom", "address", "global", "0"]).output().expect("the target program runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let (global, tick) = text.trim().split_once(' ').expect("the target prints two addresses");
    (global.to_string(), tick.to_string())
}

/// `0x10` as `16`: how bpftrace writes an address in a probe's name.
fn decimal(hex: &str) -> u64 {
    u64::from_str_radix(hex.trim_start_matches("0x"), 16).expect("an address in hex")
}

/// Runs `program` with `-c` starting the target program with `args`.
fn run_on_target(program: &str, args: &str) -> Outcome {
    run(&["-e", program, "-c", &format!("{} {args}", target_program::path())])
}

/// The target program started with `args`, its standard input and output piped.
fn start_target(args: &[&str]) -> Child {
    Command::new(target_program::path()).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the target program starts")
}

/// Lets a target waiting on its standard input go on.
fn go(target: &mut Child) {
    target.stdin.as_mut().expect("a piped stdin").write_all(b"go\n").expect("the target reads its standard input");
}

#[test]
fn a_global_written_under_c_is_counted_exactly() {
    let Some(_one) = ready() else { return };
    let target = target_program::path();
    let (global, tick) = fixed_addresses();
    let expected = format!("\n\n@[watchpoint:{target}:{}:8:w]: 5\n", decimal(&global));
    run_on_target(&format!("watchpoint:{global}:8:w {{ @[probe] = count(); }}"), "norandom global 5").assert_exact(0, &expected, ATTACHED_1);
    // An execute watchpoint on a function's first instruction counts its calls.
    run_on_target(&format!("w:{tick}:8:x {{ @ = count(); }}"), "norandom count 4").assert_exact(0, "\n\n@: 4\n", ATTACHED_1);
}

/// A running process under `-p`, whose global's address it prints before it waits.
#[test]
fn a_global_of_a_running_process_under_p() {
    let Some(_one) = ready() else { return };
    let mut target = start_target(&["address", "wait", "global", "7"]);
    let mut line = String::new();
    BufReader::new(target.stdout.as_mut().expect("a piped stdout")).read_line(&mut line).expect("the target prints its addresses");
    let global = line.split_whitespace().next().expect("the global's address").to_string();
    let pid = target.id().to_string();
    let tracer = Tracer::start(&["-p", &pid, "-e", &format!("watchpoint:{global}:8:rw {{ @[probe] = count(); }}")]);
    go(&mut target);
    let _ = target.wait();
    let expected = format!("\n\n@[watchpoint:/proc/{pid}/exe:{}:8:rw]: 7\n", decimal(&global));
    tracer.finish().assert_exact(0, &expected, ATTACHED_1);
}

/// The uprobe stops the process at the function's first call until the watchpoint is attached,
/// so the write the call makes is counted; later calls with the same address add none, with
/// another address one more watchpoint. The uprobe is the one probe attached at the start.
#[test]
fn a_functions_argument_is_watched_from_the_first_call() {
    let Some(_one) = ready() else { return };
    let target = target_program::path();
    let program = "watchpoint:ft_watch+arg0:8:w { @[probe] = count(); }";
    let expected = format!("\n\n@[watchpoint:{target}:ft_watch:8:w]: 5\n");
    run_on_target(program, "watch 5").assert_exact(0, &expected, ATTACHED_1);
    let expected = format!("\n\n@[watchpoint:{target}:ft_watch:8:w]: 10\n");
    run_on_target(program, "watch-two 5").assert_exact(0, &expected, ATTACHED_1);
}

/// An asynchronous watchpoint does not stop the process: it sees the writes made once it is
/// attached, here by calls 50 ms apart. (Writes made while the run ends may be seen too: the
/// predicate keeps to the first.)
#[test]
fn an_asyncwatchpoint_sees_later_calls() {
    let Some(_one) = ready() else { return };
    let target = target_program::path();
    let program = "aw:ft_watch+arg0:8:w /@seen == 0/ { @seen = 1; printf(\"%s\\n\", probe); exit(); }";
    let expected = format!("asyncwatchpoint:{target}:ft_watch:8:w\n\n\n@seen: 1\n");
    run_on_target(program, "watch-slowly 200").assert_exact(0, &expected, ATTACHED_1);
}

/// `unwatch` in the handler detaches the watchpoint: of five writes 50 ms apart, the first
/// is counted; the function's later calls with the same address do not watch it again.
#[test]
fn unwatch_removes_the_watchpoint() {
    let Some(_one) = ready() else { return };
    let (global, _) = fixed_addresses();
    for watched in [global.as_str(), "ft_watch+arg0"] {
        let program = format!("watchpoint:{watched}:8:w {{ @ = count(); unwatch({global}); }}");
        run_on_target(&program, "norandom watch-slowly 5").assert_exact(0, "\n\n@: 1\n", ATTACHED_1);
    }
}

/// An x86-64 CPU has four debug registers: of six addresses, two are not watched, each said
/// once, and the run goes on with the other four (each written twice).
#[test]
fn more_addresses_than_debug_registers() {
    let Some(_one) = ready() else { return };
    let stderr = format!("{ATTACHED_1}{OUT_OF_REGISTERS}{OUT_OF_REGISTERS}");
    run_on_target("watchpoint:ft_watch+arg0:8:w { @ = count(); }", "watch-many 2").assert_exact(0, "\n\n@: 8\n", &stderr);
}

/// `ustack` is where the program was when it wrote: the instruction after the write in
/// `ft_watch`, 5 bytes in; `kstack` of a write made in user mode is empty.
#[test]
fn stacks_in_the_handler() {
    let Some(_one) = ready() else { return };
    run_on_target("watchpoint:ft_watch+arg0:8:w { @[ustack(1)] = count(); @k[kstack(1)] = count(); }", "watch 3")
        .assert_exact(0, "\n\n@[\n        ft_watch+5\n]: 3\n@k[\n]: 3\n", ATTACHED_1);
}

/// A kernel address: the `personality` of a waiting target's task, printed by a first run when
/// the target reads its standard input again, then watched on every CPU while the target
/// sets its personality five times. Where the kernel refuses breakpoints on its own memory
/// (a security policy may withhold the privilege they need, as on the host the tests run on),
/// the refusal says so; Debian's kernels in the matrix take them.
#[test]
fn a_kernel_address_on_every_cpu() {
    let Some(_one) = ready() else { return };
    let mut target = start_target(&["wait", "wait", "personality", "5"]);
    let pid = target.id();
    let finder = format!(
        "tracepoint:syscalls:sys_enter_read /pid == {pid}/ {{ printf(\"%lx\\n\", (uint64)curtask + offsetof(struct task_struct, personality)); exit(); }}"
    );
    let finder = Tracer::start(&["-e", &finder]);
    go(&mut target);
    let found = finder.finish();
    let address = format!("0x{}", found.stdout.lines().next().expect("the task's address"));
    let program = format!("watchpoint:{address}:4:w /pid == {pid}/ {{ @ = count(); }}");
    let dry_run = run(&["--dry-run", "-e", &program]);
    if dry_run.status.code() == Some(1) {
        assert!(std::env::var_os("FERROTRACE_MATRIX_KERNEL").is_none(), "a matrix kernel refused:\n{}", dry_run.transcript());
        go(&mut target);
        let _ = target.wait();
        let expected = format!(
            "ERROR: cannot attach probe `watchpoint:{}:4:w`: perf_event_open of a `w` watchpoint on 4 bytes at {address} in kernel memory on CPU 0: \
             Operation not permitted (os error 1): the kernel refuses breakpoints on kernel addresses here (it allows them only with \
             CAP_SYS_ADMIN, which a security policy may withhold); watchpoints in a process's memory (`-p PID`, `-c CMD`) need no such \
             privilege\n",
            decimal(&address)
        );
        return dry_run.assert_exact(1, "", &expected);
    }
    let watcher = Tracer::start(&["-e", &program]);
    go(&mut target);
    let _ = target.wait();
    watcher.stop(libc::SIGINT).assert_exact(0, "\n\n@: 5\n", ATTACHED_1);
}

/// An argument that is not an address the CPU can watch (1, for 8 bytes) ends the run,
/// naming the probe, the process and why; the process is let go on, even if the uprobe stopped
/// it again (the third call) while the run was ending.
#[test]
fn an_argument_the_cpu_cannot_watch() {
    let Some(_one) = ready() else { return };
    let mut target = start_target(&["wait", "watch", "3"]);
    let pid = target.id();
    let tracer = Tracer::start(&["-p", &pid.to_string(), "-e", "watchpoint:ft_watch+arg1:8:w { @ = count(); }"]);
    go(&mut target);
    let outcome = tracer.finish();
    let _ = target.wait();
    let expected = format!(
        "{ATTACHED_1}ERROR: cannot attach probe `watchpoint:/proc/{pid}/exe:ft_watch:1:8:w`: perf_event_open of a `w` watchpoint on 8 bytes \
         at 0x1 in process {pid}: Invalid argument (os error 22): the address must be a multiple of the length\n"
    );
    outcome.assert_exact(1, "", &expected);
}

/// `-l` lists no watchpoints, which are made from addresses (bpftrace lists none either); with
/// a script it lists the watchpoints the script attaches, not the uprobes that find their
/// addresses.
#[test]
fn listing_shows_the_watchpoints_alone() {
    let Some(_one) = ready() else { return };
    run(&["-l", "watchpoint:*"]).assert_exact(0, "", "");
    let target = target_program::path();
    let command = format!("{target} watch 1");
    let expected = format!("watchpoint:{target}:ft_watch:8:w\nasyncwatchpoint:{target}:ft_watch:1:4:w\n");
    run(&["-l", "-e", "w:ft_watch+arg0:8:w, aw:ft_watch+arg1:4:w { }", "-c", &command]).assert_exact(0, &expected, "");
}
