//! Kprobes and kretprobes: all of a program's kernel functions with one kprobe_multi link
//! where the kernel has such links, otherwise one kprobe perf event each, linked with the
//! probe id as its cookie either way. The loader and the attacher both ask `links`, so a
//! program is loaded for the links it gets.

use std::ffi::CString;
use std::os::fd::{BorrowedFd, OwnedFd};

use ferrotrace_compiler::manifest::{Attach, ProgramSpec};

use crate::features;
use crate::sys::{self, attach_type};

/// How a kprobe program's targets are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KprobeLinks {
    /// One kprobe_multi link for every target.
    Multi,
    /// A kprobe perf event and a link for each target.
    OneByOne,
}

/// How `spec`'s targets are attached, when they are kprobes. Several kernel functions share a
/// kprobe_multi link when the kernel has them; a function of a module, or an offset into one,
/// takes a perf event of its own, as does a lone function.
pub(crate) fn links(spec: &ProgramSpec) -> Option<KprobeLinks> {
    let multi = fits_one_link(spec)? && features::kprobe_multi();
    Some(if multi { KprobeLinks::Multi } else { KprobeLinks::OneByOne })
}

/// Whether `spec`'s kprobes are attached one by one only because the kernel has no
/// kprobe_multi links.
pub(crate) fn one_by_one_for_want_of_multi(spec: &ProgramSpec) -> bool {
    fits_one_link(spec) == Some(true) && !features::kprobe_multi()
}

/// Whether `spec`'s targets, when they are kprobes, are plain functions of the kernel image,
/// more than one: what one kprobe_multi link can attach.
fn fits_one_link(spec: &ProgramSpec) -> Option<bool> {
    let mut plain = true;
    for target in &spec.targets {
        let Attach::Kprobe { module, offset, .. } = &target.attach else { return None };
        plain &= module.is_none() && *offset == 0;
    }
    Some(plain && spec.targets.len() > 1)
}

/// The attach type `spec`'s program is loaded for: kprobe_multi programs must say so.
pub(crate) fn expected_attach_type(spec: &ProgramSpec) -> u32 {
    match links(spec) {
        Some(KprobeLinks::Multi) => attach_type::TRACE_KPROBE_MULTI,
        _ => 0,
    }
}

/// One kprobe_multi link attaching `program` to every target of `spec`, each with its probe id
/// as the cookie.
pub(crate) fn attach_multi(program: BorrowedFd<'_>, spec: &ProgramSpec) -> Result<OwnedFd, String> {
    let mut names = Vec::with_capacity(spec.targets.len());
    let mut cookies = Vec::with_capacity(spec.targets.len());
    let mut retprobe = false;
    for target in &spec.targets {
        if let Attach::Kprobe { function, retprobe: ret, .. } = &target.attach {
            names.push(c_name(function)?);
            cookies.push(u64::from(target.probe_id));
            retprobe = *ret;
        }
    }
    let symbols: Vec<&std::ffi::CStr> = names.iter().map(CString::as_c_str).collect();
    sys::link_create_kprobe_multi(program, attach_type::TRACE_KPROBE_MULTI, &symbols, &cookies, retprobe)
        .map_err(|error| format!("attaching one kprobe_multi link to {} functions: {error}", symbols.len()))
}

/// A kprobe perf event on one function: `module:function` for a module's.
pub(crate) fn open(function: &str, module: Option<&str>, offset: u64, retprobe: bool) -> Result<OwnedFd, String> {
    let pmu_type = features::kprobe_pmu().ok_or("this kernel has no kprobe PMU")?;
    let name = match module {
        Some(module) => format!("{module}:{function}"),
        None => function.to_string(),
    };
    sys::perf_event_open_kprobe(pmu_type, &c_name(&name)?, offset, retprobe)
        .map_err(|error| format!("perf_event_open of a kprobe on `{name}`: {error}"))
}

fn c_name(name: &str) -> Result<CString, String> {
    CString::new(name).map_err(|_| format!("`{name}` is not a function name"))
}
