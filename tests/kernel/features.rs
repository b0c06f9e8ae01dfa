//! `--info` against each kernel's truth. What every feature needs (the first kernel version
//! that has it, the configuration options it depends on; `docs/kernels.md`) is read off the
//! running kernel, its release and its build configuration, and must be what ferrotrace found
//! by trying. In the kernel matrix this runs on Debian's stock 6.1 and 6.12, where the truth
//! is the whole truth; elsewhere a security policy may refuse tracing programs the
//! configuration allows, so there the features that load one are only held to "no when the
//! configuration forbids it".

use std::collections::HashMap;

use super::*;
use crate::support::kernel_config::{RunningKernel, TRUTH};

/// The matrix sets this inside its guests: the kernel is Debian's, with no security policy.
const STOCK_KERNEL_VAR: &str = "FERROTRACE_MATRIX_KERNEL";

#[test]
fn info_reports_what_the_kernel_version_and_configuration_provide() {
    if !kernel_ready() {
        return;
    }
    let Some(kernel) = RunningKernel::read_or_skip() else { return };
    let outcome = run(&["--info"]);
    assert_eq!((outcome.status.code(), outcome.stderr.as_str()), (Some(0), ""), "{}", outcome.transcript());
    let reported = entries(&outcome.stdout);
    let stock = std::env::var_os(STOCK_KERNEL_VAR).is_some();
    let mut wrong = Vec::new();
    for needs in TRUTH {
        let provided = kernel.provides(needs);
        let expected = if provided { "yes" } else { "no" };
        let Some(found) = reported.get(needs.feature) else {
            wrong.push(format!("{}: missing from --info", needs.feature));
            continue;
        };
        let may_differ = provided && needs.policy_may_refuse && !stock;
        if found != expected && !may_differ {
            wrong.push(format!("{}: --info says {found}, Linux {}.{} with this configuration has it: {expected}", needs.feature, kernel.version.0, kernel.version.1));
        }
    }
    assert_eq!(reported.get("Instruction limit").map(String::as_str), Some("1000000"), "{}", outcome.stdout);
    let known: Vec<&str> = TRUTH.iter().map(|needs| needs.feature).chain(["Instruction limit", "OS", "Arch", "version"]).collect();
    wrong.extend(reported.keys().filter(|name| !known.contains(&name.as_str())).map(|name| format!("{name}: no truth to check it against")));
    assert!(wrong.is_empty(), "on {}:\n{}\n\n{}", kernel.release, wrong.join("\n"), outcome.stdout);
}

#[test]
fn info_names_the_running_kernel_and_the_sections_in_order() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["--info"]);
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("the kernel's release");
    let headings: Vec<&str> = outcome.stdout.lines().filter(|line| !line.is_empty() && !line.starts_with(' ')).collect();
    assert_eq!(headings, ["System", "Build", "Kernel helpers", "Kernel features", "Probe types"], "{}", outcome.stdout);
    assert!(outcome.stdout.contains(&format!("  OS: Linux {} ", release.trim())), "{}", outcome.stdout);
}

/// `--info`'s `name: value` entries, two to a line.
fn entries(info: &str) -> HashMap<String, String> {
    let mut found = HashMap::new();
    for line in info.lines().filter(|line| line.starts_with("  ")) {
        let line = line.trim();
        // Two columns: split where a value is followed by spaces and the next name.
        let mut rest = line;
        while let Some((name, after)) = rest.split_once(": ") {
            let (value, next) = after.split_once("  ").map_or((after, ""), |(value, next)| (value, next.trim_start()));
            found.insert(name.to_string(), value.to_string());
            if name == "OS" {
                break; // the OS line's value has spaces of its own
            }
            rest = next;
        }
    }
    found
}

#[test]
fn two_column_entries_are_split_by_name() {
    let info = "System\n  OS: Linux 6.1.0-57-amd64 #1 SMP\n  Arch: x86_64\n\nProbe types\n  kprobe: yes                       kprobe_multi: no\n  perf_event: yes\n";
    let found = entries(info);
    assert_eq!(found["OS"], "Linux 6.1.0-57-amd64 #1 SMP");
    assert_eq!(found["kprobe"], "yes");
    assert_eq!(found["kprobe_multi"], "no");
    assert_eq!(found["perf_event"], "yes");
    assert_eq!(found.len(), 5);
}
