//! The probe type trials: each attaches a program that does nothing the way ferrotrace (or
//! bpftrace) would attach that probe type, to a function every kernel has and almost nothing
//! calls, and lets go at once. Attaching patches the function's code; a cold function keeps
//! the trial from slowing the rest of the machine, and from racing a CPU running that code.

use std::ffi::CStr;
use std::os::fd::AsFd;
use std::path::Path;

use ferrotrace_compiler::btf::Family;

use super::trial;
use super::Detected;
use crate::sys::{self, attach_type, prog_type, Sampling};

/// A kernel function every kernel has, that probes may attach to and only `sync(2)` calls.
const TRACEABLE: &CStr = c"ksys_sync";

/// A perf event kprobe on `ksys_sync` through the kprobe PMU.
pub fn kprobe() -> Detected {
    let Some(pmu_type) = super::kprobe_pmu() else { return Detected::No };
    Detected::from_bool(sys::perf_event_open_kprobe(pmu_type, TRACEABLE, 0, false).is_ok())
}

/// One kprobe_multi link on `ksys_sync` (Linux 5.18, and only with `CONFIG_FPROBE`).
pub fn kprobe_multi() -> Detected {
    multi_kprobe_link(attach_type::TRACE_KPROBE_MULTI)
}

/// One kprobe_session link on `ksys_sync` (Linux 6.10, with `CONFIG_FPROBE`).
pub fn kprobe_session() -> Detected {
    multi_kprobe_link(attach_type::TRACE_KPROBE_SESSION)
}

fn multi_kprobe_link(attach_type: u32) -> Detected {
    let Ok(program) = trial::load_returning_zero(prog_type::KPROBE, attach_type, 0, "ft_kmulti") else { return Detected::No };
    Detected::from_bool(sys::link_create_kprobe_multi(program.as_fd(), attach_type, &[TRACEABLE], &[0], false).is_ok())
}

/// The uprobe PMU is there.
pub fn uprobe() -> Detected {
    Detected::from_bool(pmu_type("uprobe").is_some())
}

/// A uprobe_multi link (Linux 6.6): asked to attach to `/`, a kernel that has such links
/// refuses with `EBADF` (not a regular file); one that does not refuses with `EINVAL`.
pub fn uprobe_multi() -> Detected {
    let loaded = trial::load_returning_zero(prog_type::KPROBE, attach_type::TRACE_UPROBE_MULTI, 0, "ft_umulti");
    let Ok(program) = loaded else { return Detected::No };
    let trial = sys::UprobeMulti { path: c"/", offsets: &[0], cookies: &[0], ref_ctr_offsets: None, retprobe: false, pid: None };
    let refused = sys::link_create_uprobe_multi(program.as_fd(), &trial);
    Detected::from_bool(matches!(refused, Err(error) if error.raw_os_error() == Some(libc::EBADF)))
}

/// An fentry program on `ksys_sync`, loaded and attached.
pub fn fentry() -> Detected {
    let Some(target) = TRACEABLE.to_str().ok().and_then(function_id) else { return Detected::No };
    let loaded = trial::load_returning_zero(prog_type::TRACING, attach_type::TRACE_FENTRY, target, "ft_fentry");
    let Ok(program) = loaded else { return Detected::No };
    Detected::from_bool(sys::raw_tracepoint_open_tracing(program.as_fd()).is_ok())
}

/// A task iterator program loads.
pub fn iter() -> Detected {
    let Some(target) = function_id("bpf_iter_task") else { return Detected::No };
    Detected::from_bool(trial::load_returning_zero(prog_type::TRACING, attach_type::TRACE_ITER, target, "ft_iter").is_ok())
}

/// The BTF id of the kernel function `name`, which a tracing program names to attach to it.
pub(super) fn function_id(name: &str) -> Option<u32> {
    crate::btf::vmlinux()?.find(name, Family::Func).map(|id| id.0)
}

/// A tracepoint program loads.
pub fn tracepoint() -> Detected {
    Detected::from_bool(trial::load_returning_zero(prog_type::TRACEPOINT, 0, 0, "ft_tp").is_ok())
}

/// A perf event program loads and a software clock event opens (`profile`, `interval`).
pub fn perf_event() -> Detected {
    let loaded = trial::load_returning_zero(prog_type::PERF_EVENT, 0, 0, "ft_perf").is_ok();
    Detected::from_bool(loaded && sys::perf_event_open_cpu_clock(0, Sampling::Hz(1)).is_ok())
}

/// The perf PMU `name`'s type, when the kernel has that PMU.
pub(super) fn pmu_type(name: &str) -> Option<u32> {
    let path = Path::new("/sys/bus/event_source/devices").join(name).join("type");
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The first `config` bit of PMU `name`'s format `field` (`config:32-63` is 32).
pub(super) fn pmu_format_bit(name: &str, field: &str) -> Option<u32> {
    let path = Path::new("/sys/bus/event_source/devices").join(name).join("format").join(field);
    let text = std::fs::read_to_string(path).ok()?;
    text.trim().strip_prefix("config:")?.split('-').next()?.parse().ok()
}
