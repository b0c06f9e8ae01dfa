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

/// `-lv` puts each tracepoint's arguments under it, as its format file names them.
#[test]
fn verbose_listing_shows_tracepoint_arguments() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["-lv", "sys_enter_openat2"]);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    assert!(outcome.stdout.starts_with("tracepoint:syscalls:sys_enter_openat2\n    int __syscall_nr\n    int dfd\n"), "{}", outcome.transcript());
    assert!(outcome.stdout.lines().any(|line| line.starts_with("    ") && line.ends_with(" filename")), "{}", outcome.transcript());
}

/// `-l` with a script lists the probes it attaches, its wildcards expanded, without `begin`
/// and `end`.
#[test]
fn listing_a_script_shows_its_probes() {
    if !kernel_ready() {
        return;
    }
    let names = syscall_tracepoints("sys_enter_openat");
    let expected: String = names.iter().map(|name| format!("tracepoint:syscalls:{name}\n")).collect();
    run(&["-l", "-e", "begin { } tracepoint:syscalls:sys_enter_openat* { } end { }"]).assert_exact(0, &expected, "");
}
