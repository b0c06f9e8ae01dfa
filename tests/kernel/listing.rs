//! `-l`: the probes listed are the kernel's own.

use super::*;

#[test]
fn list_matches_the_kernels_tracepoints() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["-l", "tracepoint:syscalls:sys_enter_open*"]);
    let names = syscall_tracepoints("sys_enter_open");
    assert!(names.iter().any(|name| name == "sys_enter_openat"), "{names:?}");
    let expected: String = names.iter().map(|name| format!("tracepoint:syscalls:{name}\n")).collect();
    outcome.assert_exact(0, &expected, "");
}

#[test]
fn list_without_wildcards_matches_substrings() {
    if !kernel_ready() {
        return;
    }
    run(&["-l", "sys_enter_openat2"]).assert_exact(0, "tracepoint:syscalls:sys_enter_openat2\n", "");
}
