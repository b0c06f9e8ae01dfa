//! kprobes and kretprobes on kernel functions the test's own tiny executables call: counts,
//! arguments and return values read from registers, wildcards attached with one kprobe_multi
//! link where the kernel has such links and one perf event per function where it does not, the
//! probe limit that then applies, and the refusal on a kernel without kprobes. What a
//! kernel should do comes from its version and configuration (`support::kernel_config`), never
//! from ferrotrace itself.

use super::*;
use crate::support::kernel_config::RunningKernel;
use crate::support::syscalls::{run_as, run_exiting, Abi};

const SYNC: (u32, u32) = (162, 0);
/// `getpgid(0)`: the caller's process group.
const GETPGID: (u32, u32) = (121, 0);
/// `getpriority(PRIO_PROCESS, 0)`.
const GETPRIORITY: (u32, u32) = (140, 0);

/// A wildcard over several syscall entry points kprobes can attach to on every kernel of the
/// matrix: `__x64_sys_getpeername`, `getpgid` and `getpriority` (the tiniest syscalls, such as
/// `getpid`, are not in the kernel's list of traceable functions).
const GETP_WILDCARD: &str = "kprobe:__x64_sys_getp*";
const GETP_PREFIX: &str = "__x64_sys_getp";

/// The running kernel when the kernel tests can run there and it has kprobes. Where it has none,
/// checks that running a kprobe is refused, naming what the kernel lacks and what works there
/// instead, and the test stops there.
fn kernel_with_kprobes() -> Option<RunningKernel> {
    if !kernel_ready() {
        return None;
    }
    let kernel = RunningKernel::read_or_skip()?;
    if kernel.has_feature("kprobe") {
        return Some(kernel);
    }
    let program = "kprobe:ksys_sync { @ = count(); }";
    let outcome = run(&["-e", program]);
    insta::with_settings!({ description => program, omit_expression => true }, {
        insta::assert_snapshot!("kernel_without_kprobes", outcome.transcript());
    });
    None
}

#[test]
fn kprobe_counts_the_calls_of_a_function() {
    if kernel_with_kprobes().is_none() {
        return;
    }
    let comm = Comm::unique();
    let program = format!("kprobe:ksys_sync /comm == \"{}\"/ {{ @[probe] = count(); }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    run_as(&comm, Abi::X86_64, &[SYNC, SYNC]);
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@[kprobe:ksys_sync]: 2\n", ATTACHED_1);
}

/// `exit_group(7)` calls `do_group_exit(7 << 8)`.
#[test]
fn kprobe_reads_an_argument() {
    if kernel_with_kprobes().is_none() {
        return;
    }
    let comm = Comm::unique();
    let program = format!("kprobe:do_group_exit /comm == \"{}\"/ {{ @code = arg0; }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    run_exiting(&comm, Abi::X86_64, &[], 7);
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@code: 1792\n", ATTACHED_1);
}

/// The tiny executable is in this test process's process group.
#[test]
fn kretprobe_reads_the_return_value() {
    if kernel_with_kprobes().is_none() {
        return;
    }
    let comm = Comm::unique();
    let program = format!("kretprobe:__x64_sys_getpgid /comm == \"{}\"/ {{ @pgid = retval; }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    run_as(&comm, Abi::X86_64, &[GETPGID]);
    // SAFETY: getpgrp has no preconditions and cannot fail.
    let pgid = unsafe { libc::getpgrp() };
    tracer.stop(libc::SIGINT).assert_exact(0, &format!("\n\n@pgid: {pgid}\n"), ATTACHED_1);
}

/// One program serves every function of the wildcard, its `probe` read from the cookie of the
/// one that fired. With kprobe_multi the wildcard is one link and one probe, as in bpftrace;
/// without, one kprobe per function.
#[test]
fn kprobe_wildcard_names_the_function_that_fired() {
    let Some(kernel) = kernel_with_kprobes() else { return };
    let comm = Comm::unique();
    let program = format!("{GETP_WILDCARD} /comm == \"{}\"/ {{ @[probe] = count(); }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    run_as(&comm, Abi::X86_64, &[GETPGID, GETPGID, GETPGID, GETPRIORITY, GETPRIORITY]);
    let attached = match kernel.has_feature("kprobe_multi") {
        true => ATTACHED_1.to_string(),
        false => format!("Attached {} probes\n", functions_matching(GETP_PREFIX)),
    };
    tracer.stop(libc::SIGINT).assert_exact(
        0,
        "\n\n@[kprobe:__x64_sys_getpriority]: 2\n@[kprobe:__x64_sys_getpgid]: 3\n",
        &attached,
    );
}

/// A wildcard is one probe where the kernel has kprobe_multi links (6.12), so it fits under a
/// probe limit of 2; on a kernel without them (Debian's 6.1 is built without `CONFIG_FPROBE`)
/// it is one probe per function, and ferrotrace refuses it with the documented error.
#[test]
fn a_wildcard_fits_a_small_probe_limit_only_with_kprobe_multi() {
    let Some(kernel) = kernel_with_kprobes() else { return };
    let comm = Comm::unique();
    let program = format!("{GETP_WILDCARD} /comm == \"{}\"/ {{ @[probe] = count(); }}", comm.name());
    let limit = [("BPFTRACE_MAX_PROBES", "2")];
    let functions = functions_matching(GETP_PREFIX);
    let expected = format!(
        "ERROR: the script attaches {functions} probes, more than the 2 BPFTRACE_MAX_PROBES allows: without kprobe_multi \
         links (this kernel has none, or `--no-feature kprobe_multi` refused them), `{GETP_WILDCARD}` ({functions} kprobes) \
         attach one kprobe per function where a kprobe_multi link would be one probe (see `ferrotrace --info` and \
         docs/kernels.md)\n"
    );
    if !kernel.has_feature("kprobe_multi") {
        run_with_env(&["-e", &program], &limit).assert_exact(1, "", &expected);
        return;
    }
    // Refused on the command line, the kernel's kprobe_multi links are not used.
    run_with_env(&["--no-feature", "kprobe_multi", "-e", &program], &limit).assert_exact(1, "", &expected);
    let tracer = Tracer::start_with_env(&["-e", &program], &limit);
    run_as(&comm, Abi::X86_64, &[GETPGID]);
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@[kprobe:__x64_sys_getpgid]: 1\n", ATTACHED_1);
}

/// How many functions of the kernel image tracefs lists for kprobes whose names start with
/// `prefix` (tracefs is mounted once ferrotrace has run).
fn functions_matching(prefix: &str) -> usize {
    let path = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .map(|root| std::path::Path::new(root).join("available_filter_functions"))
        .find(|path| path.exists())
        .expect("tracefs is mounted once ferrotrace has run");
    let listing = std::fs::read_to_string(&path).expect("cannot read available_filter_functions");
    let mut names: Vec<&str> = listing
        .lines()
        .filter(|line| !line.contains('['))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() > 1, "`{prefix}*` should match several functions: {names:?}");
    names.len()
}
