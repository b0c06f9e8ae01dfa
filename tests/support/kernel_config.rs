//! What the running kernel should be able to do, known independently of what ferrotrace
//! detects: its release, version and build configuration, and what each feature of `--info`
//! needs of them (the table `docs/kernels.md` shows).

use std::collections::HashMap;
use std::process::Command;

/// What a feature needs: a kernel version, configuration options set to `y`, and whether a
/// security policy can refuse it anyway.
pub struct Needs {
    pub feature: &'static str,
    pub since: (u32, u32),
    pub config: &'static [&'static str],
    pub policy_may_refuse: bool,
}

const fn needs(feature: &'static str, since: (u32, u32), config: &'static [&'static str]) -> Needs {
    Needs { feature, since, config, policy_may_refuse: false }
}

/// Features that load a tracing program (fentry, an iterator).
const fn tracing(feature: &'static str, since: (u32, u32), config: &'static [&'static str]) -> Needs {
    Needs { feature, since, config, policy_may_refuse: true }
}

pub const TRUTH: &[Needs] = &[
    tracing("dpath", (5, 10), &["CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"]),
    needs("get_tai_ns", (6, 1), &["CONFIG_BPF_EVENTS"]),
    needs("get_func_ip", (5, 15), &["CONFIG_BPF_EVENTS"]),
    needs("lookup_percpu_elem", (5, 19), &["CONFIG_BPF_EVENTS"]),
    needs("comm zero-padded", (6, 4), &[]),
    needs("btf", (5, 4), &["CONFIG_DEBUG_INFO_BTF"]),
    needs("map batch", (5, 6), &[]),
    needs("kprobe", (4, 17), &["CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"]),
    needs("kprobe_multi", (5, 18), &["CONFIG_KPROBES", "CONFIG_FPROBE"]),
    needs("kprobe_session", (6, 10), &["CONFIG_KPROBES", "CONFIG_FPROBE"]),
    needs("uprobe", (4, 17), &["CONFIG_UPROBE_EVENTS"]),
    needs("uprobe_multi", (6, 6), &["CONFIG_UPROBES"]),
    tracing("fentry", (5, 5), &["CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"]),
    tracing("iter", (5, 8), &["CONFIG_DEBUG_INFO_BTF"]),
    needs("tracepoint", (4, 7), &["CONFIG_BPF_EVENTS"]),
    needs("perf_event", (4, 9), &["CONFIG_BPF_EVENTS", "CONFIG_PERF_EVENTS"]),
];

/// The running kernel's version and build configuration.
pub struct RunningKernel {
    pub release: String,
    pub version: (u32, u32),
    config: HashMap<String, String>,
}

impl RunningKernel {
    /// The running kernel; `None` (the test skips, or fails when kernel tests are required)
    /// when its configuration is in neither `/boot/config-<release>` (where Debian installs it)
    /// nor `/proc/config.gz`.
    pub fn read_or_skip() -> Option<RunningKernel> {
        let kernel = RunningKernel::read();
        if kernel.is_none() {
            super::gate::skip_unless_required("the kernel's build configuration is in neither /proc/config.gz nor /boot");
        }
        kernel
    }

    fn read() -> Option<RunningKernel> {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?.trim().to_string();
        let mut numbers = release.split(|c: char| !c.is_ascii_digit()).filter_map(|part| part.parse().ok());
        let version = (numbers.next()?, numbers.next()?);
        let text = std::fs::read_to_string(format!("/boot/config-{release}")).ok().or_else(|| {
            let output = Command::new("gzip").args(["-dc", "/proc/config.gz"]).output().ok()?;
            output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
        })?;
        let config = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Some(RunningKernel { release, version, config })
    }

    /// Whether `option` is built in (`=y`).
    pub fn has(&self, option: &str) -> bool {
        self.config.get(option).is_some_and(|value| value == "y")
    }

    /// Whether the kernel's version and configuration provide what `needs` says.
    pub fn provides(&self, needs: &Needs) -> bool {
        self.version >= needs.since && needs.config.iter().all(|option| self.has(option))
    }

    /// Whether the kernel provides the `--info` feature `name`.
    pub fn has_feature(&self, name: &str) -> bool {
        let needs = TRUTH.iter().find(|needs| needs.feature == name).unwrap_or_else(|| panic!("no truth for `{name}`"));
        self.provides(needs)
    }
}

