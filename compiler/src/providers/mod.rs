//! Probe providers, each one unit: how its attach points are written and expanded against the
//! kernel catalog, how `-l` lists its probes, what its programs see (their context, their
//! arguments) and what kind of BPF program they are. A new provider is a new module here and
//! one entry in `PROVIDERS`; the runtime's half (attaching) is `runtime/src/attach/`.

mod btf_arguments;
mod fentry;
mod fentry_bpf;
mod glob;
mod iter;
mod kprobe;
mod perf_counter;
mod rawtracepoint;
mod self_events;
mod selftest;
mod special;
mod timer;
mod tracepoint;
mod uprobe;
mod user_binaries;
mod user_parameters;
mod usdt;
mod watchpoint;
#[cfg(test)]
mod module_tests;
#[cfg(test)]
mod fentry_bpf_tests;

pub use glob::{glob_match, is_pattern};
pub use user_parameters::{ParameterPlace, UserParameter, UserParameters};
pub use iter::function as iterator_function;
pub(crate) use iter::{context_struct as iterator_context, refuse_company as refuse_iterator_company};

use crate::catalog::{Catalog, CatalogError, TracepointFormat};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

/// One provider: its names, its expansion and listing, and what its programs are.
pub struct Provider {
    /// bpftrace's name for it: what `probetype` yields.
    pub name: &'static str,
    /// The names an attach point may start with, first the one probe names are printed with.
    pub written: &'static [&'static str],
    /// The concrete probes one attach point stands for; a diagnostic pointing at it otherwise.
    pub resolve: fn(&AttachPoint, &Scope<'_>) -> Result<Vec<ResolvedProbe>, Diagnostic>,
    /// The probes offered, by full name, for `-l PATTERN` (userspace providers list the
    /// binaries the pattern or the process names).
    pub list: fn(&Scope<'_>, &str) -> Result<Vec<String>, CatalogError>,
    /// What `-lv` prints under one of those probes: its arguments (`const char * filename`).
    pub arguments: fn(&Scope<'_>, &str) -> Vec<String>,
    /// The kind of BPF program its probes compile to.
    pub program: ProgramType,
    /// What a program's context argument points at.
    pub context: Context,
    /// Whether its probes fire at a function's return, where `retval` is read.
    pub at_return: bool,
    /// Whether the pointers its programs see (arguments, return values) point into user memory,
    /// so that `str(arg0)` reads user memory.
    pub user_pointers: bool,
    /// Whether it fires in the task the event happened in, so that acting on the current task
    /// (`signal`) acts on the traced one.
    pub in_traced_task: bool,
    /// Whether several of its targets expanded from one probe block may share one program
    /// (the probe id then comes from the attachment's cookie).
    pub shares_programs: bool,
    /// The ELF section its programs are written to, which tells other loaders (aya, bpftool)
    /// the program type.
    pub section: fn(&Attach) -> String,
}

/// What resolving and listing probes consult: the kernel's facts, and the process the run is
/// tied to, in which userspace probes are resolved and fire.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub catalog: &'a dyn Catalog,
    /// `-p PID`: userspace probes are resolved in its mount namespace and fire only in it.
    pub target_pid: Option<u32>,
    /// `-c CMD`: the command's pid (userspace probes fire only in it) and the path of its
    /// program, the binary of a userspace probe that names none.
    pub child: Option<(u32, &'a str)>,
    /// Whether the probes being resolved name their function's parameters (`args`, or
    /// `retval` at a return), which for uprobes means reading the binary's debug info.
    pub reads_parameters: bool,
}

impl<'a> Scope<'a> {
    /// The catalog alone, for a run tied to no process.
    pub fn kernel(catalog: &'a dyn Catalog) -> Scope<'a> {
        Scope { catalog, target_pid: None, child: None, reads_parameters: false }
    }

    /// The process userspace probes fire in: `-p`'s or `-c`'s.
    pub fn traced_pid(&self) -> Option<u32> {
        self.target_pid.or(self.child.map(|(pid, _)| pid))
    }
}

/// What a program's context argument (`r1`) points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Nothing useful: a program run once with `BPF_PROG_TEST_RUN`.
    None,
    /// The tracepoint's record, laid out as its format file says.
    TracepointRecord,
    /// The probed function's saved registers (`pt_regs`): its arguments and return value.
    FunctionRegisters,
    /// `bpf_perf_event_data`, which starts with the interrupted task's registers.
    SampleRegisters,
    /// An array of `u64` words: a raw tracepoint's or a kernel function's arguments (then, for
    /// fexit, its return value), typed from the kernel's types.
    ArgumentWords,
    /// An iterator's `struct bpf_iter__NAME`: `meta`, then pointers to the object visited
    /// (null on the last call, which marks the end), read through `ctx`.
    IteratorObject,
}

impl Context {
    /// Whether the context starts with saved registers (`pt_regs`), which `usermode` reads.
    pub fn has_registers(self) -> bool {
        matches!(self, Context::FunctionRegisters | Context::SampleRegisters)
    }
}

/// One probe an attach point expands to.
#[derive(Debug, Clone)]
pub struct ResolvedProbe {
    pub attach: Attach,
    /// The fully expanded name (what `probe` yields).
    pub name: String,
    /// The record layout, for tracepoints.
    pub format: Option<TracepointFormat>,
    /// For probes whose context is an array of argument words (raw tracepoints, fentry and
    /// fexit): each word's name and type, from the kernel's types.
    pub arguments: Vec<ContextArgument>,
    /// For a probe in a kernel module: the module's types (split over the kernel's), which its
    /// arguments' types and the script's kernel types are read from.
    pub module_types: Option<std::sync::Arc<crate::btf::Btf>>,
    /// For `watchpoint:function+argN`: the uprobe that finds the address to watch.
    pub setup: Option<WatchSetup>,
    /// For a uprobe: its function's parameters, from the binary's debug info (its types are
    /// then `module_types`).
    pub parameters: UserParameters,
}

impl ResolvedProbe {
    /// A probe with no record layout and no typed arguments.
    pub fn new(attach: Attach, name: String) -> ResolvedProbe {
        ResolvedProbe { attach, name, format: None, arguments: Vec::new(), module_types: None, setup: None, parameters: UserParameters::NotRead }
    }
}

/// The uprobe a `watchpoint:function+argN` probe attaches first: where the function is called
/// it sends argument `argument` to the runtime (`Action::Watch`), which watches that address;
/// when `stop`, it stops the process first (`SIGSTOP`) so that the function's own accesses
/// are seen, and the runtime continues it once the watchpoint is attached.
#[derive(Debug, Clone)]
pub struct WatchSetup {
    /// `uprobe:BINARY:FUNCTION`.
    pub name: String,
    /// An `Attach::Uprobe` at the function's entry, in the traced process.
    pub uprobe: Attach,
    pub argument: u8,
    pub stop: bool,
}

/// One word of a context that is an array of `u64` arguments: what `args.NAME` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextArgument {
    /// Its name (`prev`); `retval` for fexit's return value, `argN` where the kernel names none.
    pub name: String,
    pub ty: crate::types::Ty,
}

/// Every provider, in the order `-l` lists them.
pub const PROVIDERS: &[&Provider] = &[
    &special::BEGIN,
    &special::END,
    &tracepoint::PROVIDER,
    &kprobe::KPROBE,
    &kprobe::KRETPROBE,
    &rawtracepoint::PROVIDER,
    &fentry::FENTRY,
    &fentry::FEXIT,
    &iter::PROVIDER,
    &uprobe::UPROBE,
    &uprobe::URETPROBE,
    &usdt::PROVIDER,
    &timer::INTERVAL,
    &timer::PROFILE,
    &perf_counter::SOFTWARE,
    &perf_counter::HARDWARE,
    &watchpoint::WATCHPOINT,
    &watchpoint::ASYNCWATCHPOINT,
    &self_events::PROVIDER,
    &selftest::TEST,
    &selftest::BENCH,
];

/// The provider an attach point names, by any of its names: exactly as written first (`u` is
/// `uprobe`, `U` is `usdt`), then without regard to case.
pub fn named(written: &str) -> Option<&'static Provider> {
    let exact = PROVIDERS.iter().copied().find(|provider| provider.written.contains(&written));
    exact.or_else(|| PROVIDERS.iter().copied().find(|provider| provider.written.iter().any(|name| name.eq_ignore_ascii_case(written))))
}

/// Expands one attach point; on failure returns the diagnostic.
pub fn resolve(ap: &AttachPoint, scope: &Scope<'_>) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    match named(&ap.provider) {
        Some(provider) => (provider.resolve)(ap, scope),
        None => Err(unknown_provider(ap)),
    }
}

impl Attach {
    /// The provider whose probe this is.
    pub fn provider(&self) -> &'static Provider {
        match self {
            Attach::Begin => &special::BEGIN,
            Attach::End => &special::END,
            Attach::Tracepoint { .. } => &tracepoint::PROVIDER,
            Attach::Kprobe { retprobe: false, .. } => &kprobe::KPROBE,
            Attach::Kprobe { retprobe: true, .. } => &kprobe::KRETPROBE,
            Attach::RawTracepoint { .. } => &rawtracepoint::PROVIDER,
            Attach::Fentry { exit: false, .. } => &fentry::FENTRY,
            Attach::Fentry { exit: true, .. } => &fentry::FEXIT,
            Attach::Uprobe { retprobe: false, .. } => &uprobe::UPROBE,
            Attach::Uprobe { retprobe: true, .. } => &uprobe::URETPROBE,
            Attach::Usdt { .. } => &usdt::PROVIDER,
            Attach::Interval { .. } => &timer::INTERVAL,
            Attach::Profile { .. } => &timer::PROFILE,
            Attach::PerfCounter { hardware: false, .. } => &perf_counter::SOFTWARE,
            Attach::PerfCounter { hardware: true, .. } => &perf_counter::HARDWARE,
            Attach::Watchpoint { asynchronous: false, .. } => &watchpoint::WATCHPOINT,
            Attach::Watchpoint { asynchronous: true, .. } => &watchpoint::ASYNCWATCHPOINT,
            Attach::SelfSignal { .. } => &self_events::PROVIDER,
            Attach::Iter { .. } => &iter::PROVIDER,
            Attach::Test { .. } => &selftest::TEST,
            Attach::Bench { .. } => &selftest::BENCH,
        }
    }

    /// Whether the program runs from userspace with `BPF_PROG_TEST_RUN` instead of attaching.
    pub fn runs_once(&self) -> bool {
        self.provider().program == ProgramType::RunOnce
    }

    /// The one process a uprobe or USDT probe is attached in (`-p`, `-c`).
    pub fn user_process(&self) -> Option<u32> {
        match self {
            Attach::Uprobe { pid, .. } | Attach::Usdt { pid, .. } => *pid,
            _ => None,
        }
    }
}

fn unknown_provider(ap: &AttachPoint) -> Diagnostic {
    let names: Vec<&str> = PROVIDERS.iter().map(|provider| provider.written[0]).collect();
    let diag = Diagnostic::error("E0201", format!("unknown probe type `{}`", ap.provider))
        .with_primary(ap.span, "not a probe type")
        .with_note(format!("probe types: {}", names.join(", ")));
    match did_you_mean(&closest(&ap.provider, names.iter().copied())) {
        Some(help) => diag.with_help(help),
        None => diag,
    }
}

/// A listing with nothing in it, for providers whose probes are not the kernel's.
fn nothing_to_list(_: &Scope<'_>, _: &str) -> Result<Vec<String>, CatalogError> {
    Ok(Vec::new())
}

/// No arguments to show under a probe.
fn no_arguments(_: &Scope<'_>, _: &str) -> Vec<String> {
    Vec::new()
}
