//! The probe type trials: each attaches a program that does nothing the way ferrotrace (or
//! bpftrace) would attach that probe type, to a function every kernel has and almost nothing
//! calls, and lets go at once. Attaching patches the function's code; a cold function keeps
//! the trial from slowing the rest of the machine, and from racing a CPU running that code.

use std::ffi::CStr;
use std::os::fd::AsFd;
use std::path::Path;

use super::trial::{self, returns_zero};
use super::Detected;
use crate::btf::Btf;
use crate::sys::{self, ProgLoad, Sampling};

/// A kernel function every kernel has, that probes may attach to and only `sync(2)` calls.
const TRACEABLE: &CStr = c"ksys_sync";

/// A perf event kprobe on `ksys_sync` through the kprobe PMU.
pub fn kprobe() -> Detected {
    let Some(pmu_type) = pmu_type("kprobe") else { return Detected::No };
    Detected::from_bool(sys::perf_event_open_kprobe(pmu_type, TRACEABLE, 0, false).is_ok())
}

/// One kprobe_multi link on `ksys_sync` (Linux 5.18, and only with `CONFIG_FPROBE`).
pub fn kprobe_multi() -> Detected {
    multi_kprobe_link(trial::TRACE_KPROBE_MULTI)
}

/// One kprobe_session link on `ksys_sync` (Linux 6.10, with `CONFIG_FPROBE`).
pub fn kprobe_session() -> Detected {
    multi_kprobe_link(trial::TRACE_KPROBE_SESSION)
}

fn multi_kprobe_link(attach_type: u32) -> Detected {
    let code = returns_zero();
    let program =
        ProgLoad { prog_type: trial::KPROBE, expected_attach_type: attach_type, attach_btf_id: 0, name: "ft_kmulti", insns: &code };
    let Ok(program) = trial::load(&program) else { return Detected::No };
    Detected::from_bool(sys::link_create_kprobe_multi(program.as_fd(), attach_type, &[TRACEABLE], &[0], false).is_ok())
}

/// The uprobe PMU is there.
pub fn uprobe() -> Detected {
    Detected::from_bool(pmu_type("uprobe").is_some())
}

/// A uprobe_multi link (Linux 6.6): asked to attach to `/`, a kernel that has such links
/// refuses with `EBADF` (not a regular file); one that does not refuses with `EINVAL`.
pub fn uprobe_multi() -> Detected {
    let code = returns_zero();
    let program = ProgLoad {
        prog_type: trial::KPROBE,
        expected_attach_type: trial::TRACE_UPROBE_MULTI,
        attach_btf_id: 0,
        name: "ft_umulti",
        insns: &code,
    };
    let Ok(program) = trial::load(&program) else { return Detected::No };
    let refused = sys::link_create_uprobe_multi(program.as_fd(), trial::TRACE_UPROBE_MULTI, c"/", &[0]);
    Detected::from_bool(matches!(refused, Err(error) if error.raw_os_error() == Some(libc::EBADF)))
}

/// An fentry program on `ksys_sync`, loaded and attached.
pub fn fentry() -> Detected {
    let Some(target) = TRACEABLE.to_str().ok().and_then(|name| Btf::vmlinux()?.func_id(name)) else { return Detected::No };
    let code = returns_zero();
    let program = ProgLoad {
        prog_type: trial::TRACING,
        expected_attach_type: trial::TRACE_FENTRY,
        attach_btf_id: target,
        name: "ft_fentry",
        insns: &code,
    };
    let Ok(program) = trial::load(&program) else { return Detected::No };
    Detected::from_bool(sys::raw_tracepoint_open_tracing(program.as_fd()).is_ok())
}

/// A task iterator program loads.
pub fn iter() -> Detected {
    let Some(target) = Btf::vmlinux().and_then(|btf| btf.func_id("bpf_iter_task")) else { return Detected::No };
    let code = returns_zero();
    let program = ProgLoad {
        prog_type: trial::TRACING,
        expected_attach_type: trial::TRACE_ITER,
        attach_btf_id: target,
        name: "ft_iter",
        insns: &code,
    };
    Detected::from_bool(trial::load(&program).is_ok())
}

/// A tracepoint program loads.
pub fn tracepoint() -> Detected {
    Detected::from_bool(trial::load(&ProgLoad::new(trial::TRACEPOINT, "ft_tp", &returns_zero())).is_ok())
}

/// A perf event program loads and a software clock event opens (`profile`, `interval`).
pub fn perf_event() -> Detected {
    let loaded = trial::load(&ProgLoad::new(trial::PERF_EVENT, "ft_perf", &returns_zero())).is_ok();
    Detected::from_bool(loaded && sys::perf_event_open_cpu_clock(0, Sampling::Hz(1)).is_ok())
}

/// The perf PMU `name`'s type, when the kernel has that PMU.
pub fn pmu_type(name: &str) -> Option<u32> {
    let path = Path::new("/sys/bus/event_source/devices").join(name).join("type");
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
