//! The errors a `Session` reports while loading, running and attaching programs.

use thiserror::Error;

use crate::cpus::CpuListError;
use crate::tracefs::TracefsError;

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot load the BPF object: {reason}")]
    Object { reason: String },
    #[error("cannot create map `{map}`: {reason}")]
    Map { map: String, reason: String },
    #[error("the BPF object has no program `{symbol}` (probe `{probe}`)")]
    MissingProgram { symbol: String, probe: String },
    #[error("the kernel verifier rejected program {program}{}: {reason}", at_insn(*.insn))]
    Verifier {
        program: usize,
        insn: Option<usize>,
        reason: String,
        log: String,
    },
    #[error("cannot load the program of probe `{probe}`: {reason}")]
    Program { probe: String, reason: String },
    #[error("cannot attach probe `{probe}`: {missing}\n{instead}")]
    Unsupported { probe: String, missing: String, instead: String },
    #[error(transparent)]
    Cpus(#[from] CpuListError),
    #[error("map `{map}` would change while running probes use it: it is a {was}, and would be a {now}")]
    MapChanged { map: String, was: String, now: String },
    #[error("the running program of probe `{probe}` would change")]
    ProgramChanged { probe: String },
}

fn at_insn(insn: Option<usize>) -> String {
    insn.map(|insn| format!(" at instruction {insn}"))
        .unwrap_or_default()
}

#[derive(Debug, Error)]
pub enum AttachError {
    #[error("cannot attach probe `{probe}`: {reason}")]
    Probe { probe: String, reason: String },
    #[error("cannot run probe `{probe}`: {reason}")]
    Run { probe: String, reason: String },
    #[error("attaching was interrupted (Ctrl-C)")]
    Interrupted,
    #[error(
        "the script attaches {count} probes, more than the {limit} BPFTRACE_MAX_PROBES allows{}",
        one_by_one.as_ref().map(|probes| format!(
            ": without kprobe_multi links (this kernel has none, or `--no-feature kprobe_multi` refused them), \
             {probes} attach one kprobe per function where a kprobe_multi link would be one probe \
             (see `ferrotrace --info` and docs/kernels.md)"
        )).unwrap_or_default()
    )]
    TooManyProbes { count: usize, limit: usize, one_by_one: Option<String> },
    #[error(transparent)]
    Tracefs(#[from] TracefsError),
    #[error(transparent)]
    Cpus(#[from] CpuListError),
}
