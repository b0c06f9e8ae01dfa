//! Wide `syscalls:` wildcards run as one program on `raw_syscalls` that looks the syscall number
//! up (`sema::dispatch`); these pin that it reports exactly what the tracepoints themselves do.

use super::*;
use support::syscalls::{run_as, Abi};

const CLOSE_BAD_FD: (u32, u32) = (3, u32::MAX);

#[test]
fn every_enter_and_exit_tracepoint_counts_exactly_the_syscalls_made() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:syscalls:sys_enter_*, tracepoint:syscalls:sys_exit_* /comm == \"{}\"/ {{ @[probe] = count(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    // getppid x3, getpid x2, close(-1), then exit_group: the executable's only syscalls.
    run_as(&comm, Abi::X86_64, &[(110, 0), (110, 0), (110, 0), (39, 0), (39, 0), CLOSE_BAD_FD]);
    let attached = syscall_tracepoints("sys_enter_").len() + syscall_tracepoints("sys_exit_").len();
    tracer.stop(libc::SIGINT).assert_exact(
        0,
        "\n\n@[tracepoint:syscalls:sys_enter_close]: 1\n\
         @[tracepoint:syscalls:sys_enter_exit_group]: 1\n\
         @[tracepoint:syscalls:sys_exit_close]: 1\n\
         @[tracepoint:syscalls:sys_exit_execve]: 1\n\
         @[tracepoint:syscalls:sys_enter_getpid]: 2\n\
         @[tracepoint:syscalls:sys_exit_getpid]: 2\n\
         @[tracepoint:syscalls:sys_enter_getppid]: 3\n\
         @[tracepoint:syscalls:sys_exit_getppid]: 3\n",
        &format!("Attached {attached} probes\n"),
    );
}

#[test]
fn compat_syscalls_are_not_reported_under_the_native_numbers() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let name = comm.name();
    // The i386 numbers of getppid, getpid, close and exit are x86-64's semget, writev,
    // newlstat and write: `raw_syscalls` sees them, no `syscalls:` tracepoint does, and
    // the few listed in @direct are attached one by one, as the kernel filters them.
    let program = format!(
        "tracepoint:raw_syscalls:sys_enter /comm == \"{name}\"/ {{ @raw[args.id] = count(); }}
         tracepoint:syscalls:sys_enter_* /comm == \"{name}\"/ {{ @dispatched[probe] = count(); }}
         tracepoint:syscalls:sys_enter_semget, tracepoint:syscalls:sys_enter_writev,
         tracepoint:syscalls:sys_enter_newlstat, tracepoint:syscalls:sys_enter_write
         /comm == \"{name}\"/ {{ @direct[probe] = count(); }}"
    );
    let tracer = Tracer::start(&["-e", &program]);
    run_as(&comm, Abi::I386, &[(64, 0), (64, 0), (64, 0), (20, 0), (20, 0), (6, u32::MAX)]);
    let attached = 1 + syscall_tracepoints("sys_enter_").len() + 4;
    tracer.stop(libc::SIGINT).assert_exact(
        0,
        "\n\n@raw[1]: 1\n@raw[6]: 1\n@raw[20]: 2\n@raw[64]: 3\n",
        &format!("Attached {attached} probes\n"),
    );
}
