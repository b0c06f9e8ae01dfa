//! What the running kernel can do, found by trying it, never by its version: each feature is a
//! trial (load a tiny program, create a map, open a link) that the kernel accepts or refuses.
//! `ferrotrace --info` prints them all; the compiler asks for the one fact it needs (whether
//! `bpf_get_current_comm` zero-pads) only when a script reads `comm`. `docs/kernels.md` says
//! which kernel version and configuration brings each feature.

mod helpers;
mod kernel;
mod probe_types;
mod trial;

use std::sync::OnceLock;

/// Where a feature is listed in `--info`, in bpftrace's section order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Helpers,
    Kernel,
    ProbeTypes,
}

impl Section {
    pub const ALL: [Section; 3] = [Section::Helpers, Section::Kernel, Section::ProbeTypes];

    pub fn title(self) -> &'static str {
        match self {
            Section::Helpers => "Kernel helpers",
            Section::Kernel => "Kernel features",
            Section::ProbeTypes => "Probe types",
        }
    }
}

/// What a trial found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Yes,
    No,
    /// A number the kernel reported (the verifier's instruction limit), `-1` when it did not.
    Number(i64),
}

impl Detected {
    fn from_bool(yes: bool) -> Detected {
        if yes {
            Detected::Yes
        } else {
            Detected::No
        }
    }
}

impl std::fmt::Display for Detected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Detected::Yes => f.write_str("yes"),
            Detected::No => f.write_str("no"),
            Detected::Number(n) => write!(f, "{n}"),
        }
    }
}

/// One feature: where it is listed, its name there, and its trial.
pub struct Feature {
    pub section: Section,
    pub name: &'static str,
    detect: fn() -> Detected,
}

impl Feature {
    /// Runs the trial now.
    pub fn detect(&self) -> Detected {
        (self.detect)()
    }
}

/// Every feature ferrotrace reports: bpftrace 0.26's `--info` entries, and the ones
/// ferrotrace's own probes and output depend on.
pub const FEATURES: &[Feature] = &[
    Feature { section: Section::Helpers, name: "dpath", detect: helpers::dpath },
    Feature { section: Section::Helpers, name: "get_tai_ns", detect: helpers::get_tai_ns },
    Feature { section: Section::Helpers, name: "get_func_ip", detect: helpers::get_func_ip },
    Feature { section: Section::Helpers, name: "lookup_percpu_elem", detect: helpers::lookup_percpu_elem },
    Feature { section: Section::Helpers, name: "comm zero-padded", detect: helpers::comm_padding },
    Feature { section: Section::Kernel, name: "Instruction limit", detect: kernel::instruction_limit },
    Feature { section: Section::Kernel, name: "btf", detect: kernel::btf },
    Feature { section: Section::Kernel, name: "map batch", detect: kernel::map_batch },
    Feature { section: Section::ProbeTypes, name: "kprobe", detect: probe_types::kprobe },
    Feature { section: Section::ProbeTypes, name: "kprobe_multi", detect: probe_types::kprobe_multi },
    Feature { section: Section::ProbeTypes, name: "kprobe_session", detect: probe_types::kprobe_session },
    Feature { section: Section::ProbeTypes, name: "uprobe", detect: probe_types::uprobe },
    Feature { section: Section::ProbeTypes, name: "uprobe_multi", detect: probe_types::uprobe_multi },
    Feature { section: Section::ProbeTypes, name: "fentry", detect: probe_types::fentry },
    Feature { section: Section::ProbeTypes, name: "iter", detect: probe_types::iter },
    Feature { section: Section::ProbeTypes, name: "tracepoint", detect: probe_types::tracepoint },
    Feature { section: Section::ProbeTypes, name: "perf_event", detect: probe_types::perf_event },
];

/// Whether `bpf_get_current_comm` zero-fills its buffer past the name's NUL (Linux 6.4 and
/// later do; 6.1 leaves the bytes as they were). Tried once per process.
pub fn comm_zero_padded() -> bool {
    static PADDED: OnceLock<bool> = OnceLock::new();
    *PADDED.get_or_init(|| helpers::comm_padding() == Detected::Yes)
}

/// The kprobe PMU's perf event type, when the kernel has one. Read once per process.
pub fn kprobe_pmu() -> Option<u32> {
    static PMU: OnceLock<Option<u32>> = OnceLock::new();
    *PMU.get_or_init(|| probe_types::pmu_type("kprobe"))
}

/// Whether the kernel has hardware breakpoints (the `breakpoint` PMU), which watchpoints are.
pub fn breakpoints() -> bool {
    static PMU: OnceLock<bool> = OnceLock::new();
    *PMU.get_or_init(|| probe_types::pmu_type("breakpoint").is_some())
}

/// Whether the kernel can attach kprobes. Tried once per process.
pub fn kprobes() -> bool {
    static KPROBES: OnceLock<bool> = OnceLock::new();
    *KPROBES.get_or_init(|| probe_types::kprobe() == Detected::Yes)
}

/// Whether the kernel loads and attaches fentry and fexit programs (BPF trampolines). Tried
/// once per process.
pub fn fentry() -> bool {
    static FENTRY: OnceLock<bool> = OnceLock::new();
    *FENTRY.get_or_init(|| probe_types::fentry() == Detected::Yes)
}

/// Whether the kernel loads iterator programs (one for `bpf_iter_task`). Tried once per
/// process.
pub fn iterators() -> bool {
    static ITERATORS: OnceLock<bool> = OnceLock::new();
    *ITERATORS.get_or_init(|| probe_types::iter() == Detected::Yes)
}

/// Set by `--no-feature kprobe_multi`: attach kprobes one perf event per function.
static KPROBE_MULTI_REFUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stops ferrotrace from using kprobe_multi links even where the kernel has them.
pub fn refuse_kprobe_multi() {
    KPROBE_MULTI_REFUSED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether one kprobe_multi link can attach a program to many kernel functions at once, and
/// may. Tried once per process.
pub fn kprobe_multi() -> bool {
    static MULTI: OnceLock<bool> = OnceLock::new();
    !KPROBE_MULTI_REFUSED.load(std::sync::atomic::Ordering::Relaxed) && *MULTI.get_or_init(|| probe_types::kprobe_multi() == Detected::Yes)
}

/// The uprobe PMU: its perf event type and the `config` bits of its formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UprobePmu {
    pub kind: u32,
    /// The `config` bit that makes a uprobe a uretprobe (`format/retprobe`, `config:0`).
    pub retprobe_bit: u32,
    /// Where in `config` the semaphore's file offset goes (`format/ref_ctr_offset`,
    /// `config:32-63`); `None` on kernels before 4.20, which cannot increment semaphores.
    pub ref_ctr_shift: Option<u32>,
}

/// The uprobe PMU, when the kernel has one. Read once per process.
pub fn uprobe_pmu() -> Option<UprobePmu> {
    static PMU: OnceLock<Option<UprobePmu>> = OnceLock::new();
    *PMU.get_or_init(|| {
        let kind = probe_types::pmu_type("uprobe")?;
        let retprobe_bit = probe_types::pmu_format_bit("uprobe", "retprobe").unwrap_or(0);
        Some(UprobePmu { kind, retprobe_bit, ref_ctr_shift: probe_types::pmu_format_bit("uprobe", "ref_ctr_offset") })
    })
}

/// Set by `--no-feature uprobe_multi`: attach uprobes one perf event per function.
static UPROBE_MULTI_REFUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stops ferrotrace from using uprobe_multi links even where the kernel has them.
pub fn refuse_uprobe_multi() {
    UPROBE_MULTI_REFUSED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether one uprobe_multi link can attach a program to many places of a binary at once, and
/// may. Tried once per process.
pub fn uprobe_multi() -> bool {
    static MULTI: OnceLock<bool> = OnceLock::new();
    !UPROBE_MULTI_REFUSED.load(std::sync::atomic::Ordering::Relaxed) && *MULTI.get_or_init(|| probe_types::uprobe_multi() == Detected::Yes)
}
