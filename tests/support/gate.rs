//! Whether this machine can run the kernel tests: root, and a kernel that lets us create a BPF
//! map; and the kernel matrix: QEMU and Debian's package tools. A test that cannot run says why
//! and passes, unless `FERROTRACE_KERNEL_TESTS=require`.

use std::io::{self, Write};

/// The environment variable that turns a skip into a failure.
const REQUIRE_VAR: &str = "FERROTRACE_KERNEL_TESTS";

/// True when the kernel tests can run. Otherwise prints `skipping kernel test: <why>` and
/// returns false, or panics when the tests are required.
pub fn kernel_ready() -> bool {
    let Some(why) = unavailable_reason() else { return true };
    skip_unless_required(&why);
    false
}

/// Says why a kernel test cannot run and lets it pass, or fails it when the kernel tests are
/// required.
pub fn skip_unless_required(why: &str) {
    assert!(
        std::env::var(REQUIRE_VAR).as_deref() != Ok("require"),
        "kernel tests are required ({REQUIRE_VAR}=require) but {why}"
    );
    eprintln!("skipping kernel test: {why}");
}

/// The environment variable that skips the kernel matrix on purpose.
const MATRIX_VAR: &str = "FERROTRACE_MATRIX";

/// True when the kernel matrix can run: the tools it needs are installed and
/// `FERROTRACE_MATRIX=skip` is not set. Otherwise says why on stderr (past the test harness's
/// capture, so the notice shows in a passing run) and returns false, or panics when the kernel
/// tests are required and the tools are missing.
pub fn matrix_ready() -> bool {
    let why = if std::env::var(MATRIX_VAR).as_deref() == Ok("skip") {
        format!("{MATRIX_VAR}=skip")
    } else {
        let missing = ferrotrace_matrix::missing_tools();
        if missing.is_empty() {
            return true;
        }
        let why = format!("{} not installed (see docs/kernels.md)", missing.join(", "));
        assert!(
            std::env::var(REQUIRE_VAR).as_deref() != Ok("require"),
            "the kernel matrix is required ({REQUIRE_VAR}=require) but {why}"
        );
        why
    };
    let _ = io::stderr().write_all(format!("skipping the kernel matrix: {why}\n").as_bytes());
    false
}

fn unavailable_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root".to_string());
    }
    create_probe_map().err().map(|err| format!("cannot create a BPF map: {err}"))
}

/// Creates (and closes) a one-entry BPF array map: proof the bpf syscall works here.
fn create_probe_map() -> io::Result<()> {
    const BPF_MAP_CREATE: libc::c_long = 0;
    const BPF_MAP_TYPE_ARRAY: u32 = 2;
    // bpf_attr for BPF_MAP_CREATE: map_type, key_size, value_size, max_entries, then zeroes.
    let mut attr = [0u32; 32];
    attr[..4].copy_from_slice(&[BPF_MAP_TYPE_ARRAY, 4, 8, 1]);
    // SAFETY: `attr` is a valid, zero-padded bpf_attr of the size we pass.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_MAP_CREATE, attr.as_ptr(), size_of_val(&attr)) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a descriptor the kernel just gave us and nothing else owns.
    unsafe { libc::close(fd as libc::c_int) };
    Ok(())
}
