//! The `ferrotrace` binary against the running kernel: real probes, events the test makes
//! itself, and the exact stdout, stderr and exit status (bpftrace 0.26's output, as
//! /work/shared/formats.md describes it). Each test skips with a notice where BPF cannot be
//! used, and fails there when `FERROTRACE_KERNEL_TESTS=require`.
//!
//! Counts stay exact on a busy machine because every probe that sees other processes filters on
//! a `comm` unique to the test (see `support::Comm`).

#[path = "../support/mod.rs"]
mod support;

use support::comm::Comm;
use support::gate::kernel_ready;
use support::process::{run, run_in_new_pid_namespace, run_with_env, run_with_stdin, Outcome, Tracer};

const ATTACHED_1: &str = "Attached 1 probe\n";

/// Snapshots `outcome` with the program that produced it as the snapshot's description.
macro_rules! assert_transcript {
    ($program:expr, $outcome:expr) => {
        insta::with_settings!({ description => $program, omit_expression => true }, {
            insta::assert_snapshot!($outcome.transcript());
        })
    };
}

/// Runs a program given with `-e` to completion.
fn run_program(program: &str) -> Outcome {
    run(&["-e", program])
}

/// A program on the `openat` calls made under `comm` (and `extra_predicate`), with `body` as the action.
fn openat_program(comm: &Comm, extra_predicate: &str, body: &str) -> String {
    format!("tracepoint:syscalls:sys_enter_openat /comm == \"{}\"{extra_predicate}/ {{ {body} }}", comm.name())
}

/// `perf_event_open` of a software event (type 1) whose flag word has `disabled` (bit 0) and
/// `exclude_kernel` (bit 5) set, `inherit` (bit 1) not: attributes whose bitfields tests read
/// back from the call's user memory. The event is closed again if the kernel opened it.
fn open_a_disabled_software_event() {
    // type and size, config, sample_period, sample_type, read_format, then the flag word.
    let mut attr = [0u64; 16];
    attr[0] = 1 | (128 << 32);
    attr[5] = 1 | (1 << 5);
    // SAFETY: `attr` is a 128-byte perf_event_attr that outlives the call.
    let fd = unsafe { libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), 0, -1, -1, 0) };
    if fd >= 0 {
        // SAFETY: the kernel returned this descriptor to us and nothing else holds it.
        unsafe { libc::close(fd as i32) };
    }
}

/// The kernel's `syscalls` tracepoints whose names start with `prefix`, sorted, read from tracefs
/// (which the binary mounts if needed, so call this after running it).
fn syscall_tracepoints(prefix: &str) -> Vec<String> {
    let syscalls = ["/sys/kernel/tracing/events/syscalls", "/sys/kernel/debug/tracing/events/syscalls"]
        .iter()
        .map(std::path::Path::new)
        .find(|dir| dir.is_dir())
        .expect("tracefs is mounted once ferrotrace has run");
    let mut names: Vec<String> = std::fs::read_dir(syscalls)
        .expect("cannot read the syscalls tracepoints")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort();
    names
}

mod lifecycle;
mod inputs;
mod kprobes;
mod aggregations;
mod config;
mod differential;
mod features;
mod maps;
mod values;
mod matrix;
mod tracepoints;
mod syscall_dispatch;
mod listing;
mod loops;
mod selftests;
mod stdlib;
mod output;
mod stacks;
mod command_line;
mod kernel_types;
mod c_definitions;
mod btf_probes;
mod perf_counters;
mod uprobes;
mod iterators;
mod watchpoints;
mod repl;
mod recipes;
mod replay;
