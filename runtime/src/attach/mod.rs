//! Attaching a program to its targets, one module per provider: a tracepoint's perf event, a
//! timer's cpu-clock events, a kprobe's perf event or kprobe_multi link, a uprobe's (or USDT
//! probe's) perf event or uprobe_multi link, an iterator's link, a watchpoint's breakpoint
//! events. Every attachment is a
//! BPF link carrying the probe id as its cookie, owned by a file descriptor.

pub(crate) mod fentry;
pub mod iter;
pub(crate) mod kprobe;
mod perf;
mod raw_tracepoint;
mod support;
pub(crate) mod tracepoint;
pub(crate) mod uprobe;
pub(crate) mod watchpoint;

pub(crate) use support::refusal;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use ferrotrace_compiler::manifest::{Attach, ProgramSpec, Target};

use crate::error::AttachError;
use crate::sys;

/// What a tracing program (fentry, fexit, an iterator) is loaded for: its attach type, the
/// BTF id of its kernel function, and for a module's function the module's BTF object, which
/// that id counts in; for a BPF program's function (`fentry:bpf:`) the program, in whose own
/// BTF it counts.
pub(crate) struct BtfTarget {
    pub attach_type: u32,
    pub btf_id: u32,
    pub module_btf: Option<OwnedFd>,
    pub program: Option<OwnedFd>,
}

/// One attachment: a BPF link from a program to what it attaches to, and the perf event it
/// goes through, if any, which ferrotrace keeps open so that detaching (closing the link)
/// does not wait for the perf event's teardown.
pub(crate) struct Attached {
    pub link: OwnedFd,
    pub perf_event: Option<OwnedFd>,
}

/// Attaches `program` to one target of `spec`: nothing for the probes userspace runs once.
pub(crate) fn attach_one(program: BorrowedFd<'_>, spec: &ProgramSpec, target: &Target) -> Result<Vec<Attached>, AttachError> {
    let probe_error = |reason: String| AttachError::Probe { probe: spec.probe_name.clone(), reason };
    let cookie = u64::from(target.probe_id);
    match &target.attach {
        Attach::Begin | Attach::End | Attach::SelfSignal { .. } | Attach::Test { .. } | Attach::Bench { .. } => Ok(Vec::new()),
        Attach::Tracepoint { category, name, event_id } => {
            let attached = tracepoint::attach(program, *event_id, cookie).map_err(|reason| AttachError::Probe {
                probe: match spec.targets.len() {
                    1 => spec.probe_name.clone(),
                    _ => format!("tracepoint:{category}:{name}"),
                },
                reason: tracepoint::reason(category, name, reason),
            })?;
            Ok(vec![attached])
        }
        Attach::Interval { period_ns } => Ok(vec![perf::attach_interval(program, *period_ns, cookie).map_err(probe_error)?]),
        Attach::Profile { hz } => perf::attach_profile(program, *hz, cookie)?.into_iter().map(|attached| attached.map_err(probe_error)).collect(),
        Attach::PerfCounter { hardware, config, period } => perf::attach_counter(program, *hardware, *config, *period, cookie)?
            .into_iter()
            .map(|attached| attached.map_err(probe_error))
            .collect(),
        Attach::Watchpoint { address: Some(address), length, mode, pid, .. } => {
            let watch = watchpoint::Watch { address: *address, length: *length, mode: *mode, pid: *pid };
            watchpoint::attach(program, watch, cookie).map_err(|refused| probe_error(refused.reason()))
        }
        // Attached when its uprobe reports the address (`Session::watch`).
        Attach::Watchpoint { address: None, .. } => Ok(Vec::new()),
        Attach::RawTracepoint { event } => {
            let link = raw_tracepoint::attach(program, event).map_err(probe_error)?;
            Ok(vec![Attached { link, perf_event: None }])
        }
        Attach::Fentry { .. } => Ok(vec![Attached { link: fentry::attach(program).map_err(probe_error)?, perf_event: None }]),
        Attach::Iter { .. } => Ok(vec![Attached { link: iter::attach(program).map_err(probe_error)?, perf_event: None }]),
        Attach::Kprobe { function, module, offset, retprobe } => {
            let attached = kprobe::open(function, module.as_deref(), *offset, *retprobe)
                .and_then(|perf_event| link(program, perf_event, cookie))
                .map_err(probe_error)?;
            Ok(vec![attached])
        }
        Attach::Uprobe { .. } | Attach::Usdt { .. } => {
            let place = uprobe::Place::of(&target.attach).ok_or_else(|| probe_error("not a uprobe".into()))?;
            let attached = uprobe::open(place).and_then(|perf_event| link(program, perf_event, cookie)).map_err(|reason| AttachError::Probe {
                probe: match spec.targets.len() {
                    1 => spec.probe_name.clone(),
                    _ => target_name(spec, target),
                },
                reason,
            })?;
            Ok(vec![attached])
        }
    }
}

/// The attach type `spec`'s program is loaded for: multi-link programs must say so.
pub(crate) fn expected_attach_type(spec: &ProgramSpec) -> u32 {
    uprobe::expected_attach_type(spec).unwrap_or_else(|| kprobe::expected_attach_type(spec))
}

/// A target's own probe name, from the manifest's names.
fn target_name(spec: &ProgramSpec, target: &Target) -> String {
    match &target.attach {
        Attach::Uprobe { binary, function, .. } => format!("{}:{binary}:{function}", spec.probe_name.split(':').next().unwrap_or("uprobe")),
        Attach::Usdt { binary, provider, name, .. } => format!("usdt:{binary}:{provider}:{name}"),
        _ => spec.probe_name.clone(),
    }
}

/// Links `program` to `perf_event` with `cookie`.
fn link(program: BorrowedFd<'_>, perf_event: OwnedFd, cookie: u64) -> Result<Attached, String> {
    let link = sys::link_create_perf_event(program, perf_event.as_fd(), cookie)
        .map_err(|error| format!("attaching the program to its perf event (BPF_LINK_CREATE): {error}"))?;
    Ok(Attached { link, perf_event: Some(perf_event) })
}
