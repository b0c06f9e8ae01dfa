//! The kernel matrix: every other test of this binary, run again inside each kernel of
//! `ferrotrace_matrix::SERIES` (Debian's 6.1 and 6.12) under QEMU, with the same assertions
//! and so the same exact output as on the host. The guest's initramfs holds this test binary
//! and the `ferrotrace` binary at their host paths (and the program the uprobe tests trace), the snapshots, a shell for the tests'
//! helper processes and the kernel's config at `/boot/config-<release>`, as Debian installs
//! it. Each kernel's version and every test's result are printed whether the run passes or not.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ferrotrace_matrix::debian::{self, Kernel};
use ferrotrace_matrix::guest::Plan;
use ferrotrace_matrix::initramfs::Initramfs;
use ferrotrace_matrix::qemu::Machine;

use crate::support::gate::matrix_ready;

/// How long a test run may take inside the guest, where emulation makes everything slower.
const GUEST_TEST_DEADLINE_SECS: &str = "240";

/// How long a whole guest may run: boot, every test, power off.
const GUEST_DEADLINE: Duration = Duration::from_secs(22 * 60);

#[test]
fn linux_6_1() {
    run_series("6.1");
}

#[test]
fn linux_6_12() {
    run_series("6.12");
}

fn run_series(label: &str) {
    if !matrix_ready() {
        return;
    }
    let series = ferrotrace_matrix::series(label).expect("the matrix has this series");
    let kernel = debian::kernel(series).unwrap_or_else(|error| panic!("cannot fetch the {label} kernel: {error}"));
    let test_binary = std::env::current_exe().expect("the test binary knows its path");
    let test_binary = test_binary.to_str().expect("the test binary's path is UTF-8");
    let mut plan = Plan::new();
    plan.env("FERROTRACE_KERNEL_TESTS", "require")
        .env("FERROTRACE_MATRIX_KERNEL", label)
        .env("FERROTRACE_TEST_DEADLINE_SECS", GUEST_TEST_DEADLINE_SECS)
        .env("INSTA_UPDATE", "no")
        .env("INSTA_WORKSPACE_ROOT", env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .command("release", &["uname", "-r"])
        .command("info", &[env!("CARGO_BIN_EXE_ferrotrace"), "--info"])
        .command("tests", &guest_tests(test_binary).iter().map(String::as_str).collect::<Vec<_>>());
    let machine = Machine {
        memory_mib: 2048,
        cpus: 2,
        deadline: GUEST_DEADLINE,
        work_dir: Path::new(env!("CARGO_TARGET_TMPDIR")).join("matrix"),
    };
    let initramfs = initramfs(&kernel, Path::new(test_binary));
    let booted = machine
        .run(&kernel, initramfs, &plan)
        .unwrap_or_else(|error| panic!("the {label} guest ({}) failed: {error}", kernel.package));
    let [release, info, tests] = [&booted.finished[0], &booted.finished[1], &booted.finished[2]];
    let results = TestResults::parse(&tests.output);
    let report = results.report(&kernel, release.output.trim(), &info.output, booted.elapsed);
    // Past the harness's capture: the versions and results show in a passing run too.
    let _ = std::io::stderr().write_all(report.as_bytes());
    assert_eq!(release.output.trim(), kernel.release, "the guest runs another kernel than the one fetched");
    assert!(
        tests.status == Some(0) && results.failed.is_empty() && !results.passed.is_empty(),
        "the kernel tests failed in {} (exit status {:?}):\n{}\n--- the kernel's console:\n{}",
        kernel.release,
        tests.status,
        tests.output,
        booted.console
    );
}

/// The guest's test command: every test but the matrix's, or those whose names hold
/// `$FERROTRACE_MATRIX_TESTS` (`recipes::`), for a quicker run while working on some.
fn guest_tests(test_binary: &str) -> Vec<String> {
    let mut argv: Vec<String> = [test_binary, "--skip", "matrix::", "--test-threads", "2"].map(String::from).to_vec();
    argv.extend(std::env::var("FERROTRACE_MATRIX_TESTS").ok().filter(|filter| !filter.is_empty()));
    argv
}

/// The guest's root file system for the tests.
fn initramfs(kernel: &Kernel, test_binary: &Path) -> Initramfs {
    let busybox = debian::busybox().unwrap_or_else(|error| panic!("cannot fetch busybox: {error}"));
    let mut initramfs = Initramfs::new();
    for dir in ["/proc", "/sys", "/dev", "/tmp", "/root"] {
        initramfs.dir(dir);
    }
    initramfs
        .bytes("/etc/hostname", "matrix\n", 0o644)
        .bytes("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)
        // A pack made on the host's kernel, which each guest's runs with its members moved.
        .bytes(crate::recipes::HOST_PACK, crate::recipes::pack_made_here(), 0o644);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let snapshots = root.join("tests/kernel/snapshots");
    // Scripts some tests load from the checkout (the differential oracle all of them).
    let examples = root.join("examples");
    let corpus = root.join("tests/corpus");
    let recipes = root.join("recipes");
    let added = initramfs
        .executable("/bin/busybox", &busybox)
        // The tests start processes through symlinks to /bin/sh named after a comm, which
        // busybox would take for an applet name: the host's own shell goes in instead.
        .and_then(|initramfs| initramfs.executable("/bin/sh", Path::new("/bin/sh")))
        .and_then(|initramfs| initramfs.executable(path_str(test_binary), test_binary))
        .and_then(|initramfs| {
            let ferrotrace = env!("CARGO_BIN_EXE_ferrotrace");
            initramfs.executable(ferrotrace, Path::new(ferrotrace))
        })
        // The program the uprobe and USDT tests trace, built on the host, at its host path.
        .and_then(|initramfs| {
            let target = crate::support::target_program::path();
            initramfs.executable(target, Path::new(target))
        })
        .and_then(|initramfs| initramfs.tree(path_str(&snapshots), &snapshots))
        .and_then(|initramfs| initramfs.tree(path_str(&examples), &examples))
        .and_then(|initramfs| initramfs.tree(path_str(&corpus), &corpus))
        .and_then(|initramfs| initramfs.tree(path_str(&recipes), &recipes))
        .and_then(|initramfs| initramfs.file(&format!("/boot/config-{}", kernel.release), &kernel.config));
    if let Err(error) = added {
        panic!("cannot assemble the initramfs: {error}");
    }
    if let Some(module) = &kernel.test_module {
        if let Err(error) = initramfs.file(crate::support::TEST_MODULE, module) {
            panic!("cannot add the test module to the initramfs: {error}");
        }
    }
    initramfs
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("the paths in the initramfs are UTF-8")
}

/// Each test's result, from libtest's `test NAME ... ok` lines.
struct TestResults {
    passed: Vec<String>,
    failed: Vec<String>,
    ignored: Vec<String>,
}

impl TestResults {
    fn parse(output: &str) -> TestResults {
        let mut results = TestResults { passed: Vec::new(), failed: Vec::new(), ignored: Vec::new() };
        for line in output.lines() {
            let Some((name, result)) = line.strip_prefix("test ").and_then(|rest| rest.split_once(" ... ")) else {
                continue;
            };
            let list = match result.trim() {
                "ok" => &mut results.passed,
                "FAILED" => &mut results.failed,
                "ignored" => &mut results.ignored,
                _ => continue,
            };
            list.push(name.to_string());
        }
        results
    }

    /// The kernel, what `ferrotrace --info` found in it, and each test's result.
    fn report(&self, kernel: &Kernel, release: &str, info: &str, elapsed: Duration) -> String {
        let mut lines = vec![format!(
            "kernel matrix {} ({}): {} {}, uname -r {release}, booted and tested in {:.1} s",
            kernel.series.label,
            kernel.series.why,
            kernel.package,
            kernel.version,
            elapsed.as_secs_f64()
        )];
        let features = info.lines().skip_while(|line| *line != "Kernel helpers").filter(|line| !line.is_empty());
        lines.extend(features.map(|line| format!("  {line}")));
        let mut all: Vec<(&str, &str)> = Vec::new();
        all.extend(self.passed.iter().map(|name| ("ok", name.as_str())));
        all.extend(self.failed.iter().map(|name| ("FAILED", name.as_str())));
        all.extend(self.ignored.iter().map(|name| ("ignored", name.as_str())));
        all.sort_by_key(|(_, name)| *name);
        lines.extend(all.iter().map(|(result, name)| format!("  {result:<7} {name}")));
        lines.push(format!(
            "  {} passed, {} failed, {} ignored in {}\n",
            self.passed.len(),
            self.failed.len(),
            self.ignored.len(),
            kernel.release
        ));
        lines.join("\n")
    }
}
