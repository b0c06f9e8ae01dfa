//! Uprobes, uretprobes and USDT probes: a program's places in one binary with one uprobe_multi
//! link where the kernel has such links, otherwise one uprobe perf event each, linked with the
//! probe id as its cookie either way; only in the traced process when there is one (`-p`, `-c`).
//! A USDT probe's semaphore is incremented by the kernel while the probe is attached (its file
//! offset is the uprobe's `ref_ctr_offset`). The loader and the attacher both ask `multi`.

use std::ffi::CString;
use std::os::fd::{BorrowedFd, OwnedFd};

use ferrotrace_compiler::manifest::{Attach, ProgramSpec};

use crate::features;
use crate::sys::{self, attach_type};

/// Where a uprobe goes: a place in a file, at entry or return, counting a semaphore, for one
/// process or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place<'a> {
    pub binary: &'a str,
    pub offset: u64,
    pub retprobe: bool,
    pub semaphore: Option<u64>,
    pub pid: Option<u32>,
}

impl<'a> Place<'a> {
    /// The place of a uprobe or USDT target.
    pub fn of(attach: &'a Attach) -> Option<Place<'a>> {
        match attach {
            Attach::Uprobe { binary, offset, retprobe, pid, .. } => Some(Place { binary, offset: *offset, retprobe: *retprobe, semaphore: None, pid: *pid }),
            Attach::Usdt { binary, offset, semaphore, pid, .. } => Some(Place { binary, offset: *offset, retprobe: false, semaphore: *semaphore, pid: *pid }),
            _ => None,
        }
    }
}

/// Whether `spec`'s program counts a USDT probe's semaphore. Attached before a command's
/// `exec`, the kernel counts it in the first writable mapping of its file page, which the
/// dynamic loader may later make read-only (lld puts the RELRO segment's last page over the
/// first of `.data`): such a program attaches once the command reaches its entry point.
pub(crate) fn counts_semaphores(spec: &ProgramSpec) -> bool {
    spec.targets.iter().any(|target| matches!(target.attach, Attach::Usdt { semaphore: Some(_), .. }))
}

/// Whether `spec`'s targets are attached with one uprobe_multi link: several places of one
/// binary, all entries or all returns, for the same process, on a kernel with such links.
pub(crate) fn multi(spec: &ProgramSpec) -> bool {
    let places: Option<Vec<Place<'_>>> = spec.targets.iter().map(|target| Place::of(&target.attach)).collect();
    let Some(places) = places.filter(|places| places.len() > 1) else { return false };
    let first = places[0];
    places.iter().all(|place| place.binary == first.binary && place.retprobe == first.retprobe && place.pid == first.pid) && features::uprobe_multi()
}

/// The attach type `spec`'s program is loaded for: uprobe_multi programs must say so.
pub(crate) fn expected_attach_type(spec: &ProgramSpec) -> Option<u32> {
    multi(spec).then_some(attach_type::TRACE_UPROBE_MULTI)
}

/// One uprobe_multi link attaching `program` to every target of `spec`, each with its probe id
/// as the cookie.
pub(crate) fn attach_multi(program: BorrowedFd<'_>, spec: &ProgramSpec) -> Result<OwnedFd, String> {
    let places: Vec<(Place<'_>, u64)> =
        spec.targets.iter().filter_map(|target| Some((Place::of(&target.attach)?, u64::from(target.probe_id)))).collect();
    let first = places.first().ok_or("no uprobe to attach")?.0;
    let path = c_path(first.binary)?;
    let offsets: Vec<u64> = places.iter().map(|(place, _)| place.offset).collect();
    let cookies: Vec<u64> = places.iter().map(|(_, cookie)| *cookie).collect();
    let semaphores: Vec<u64> = places.iter().map(|(place, _)| place.semaphore.unwrap_or(0)).collect();
    let with_semaphores = semaphores.iter().any(|&offset| offset != 0);
    let multi = sys::UprobeMulti {
        path: &path,
        offsets: &offsets,
        cookies: &cookies,
        ref_ctr_offsets: with_semaphores.then_some(semaphores.as_slice()),
        retprobe: first.retprobe,
        pid: first.pid,
    };
    sys::link_create_uprobe_multi(program, &multi)
        .map_err(|error| format!("attaching one uprobe_multi link to {} places in `{}`: {error}", offsets.len(), first.binary))
}

/// A uprobe perf event at `place`.
pub(crate) fn open(place: Place<'_>) -> Result<OwnedFd, String> {
    let pmu = features::uprobe_pmu().ok_or("this kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe): uprobes need CONFIG_UPROBE_EVENTS")?;
    let mut config = if place.retprobe { 1u64 << pmu.retprobe_bit } else { 0 };
    if let Some(semaphore) = place.semaphore {
        let shift = pmu.ref_ctr_shift.ok_or("this kernel cannot count a USDT probe's semaphore (`ref_ctr_offset`, Linux 4.20)")?;
        config |= semaphore << shift;
    }
    sys::perf_event_open_uprobe(pmu.kind, &c_path(place.binary)?, place.offset, config, place.pid).map_err(|error| {
        let whom = place.pid.map(|pid| format!(" in process {pid}")).unwrap_or_default();
        format!("perf_event_open of a uprobe at offset {:#x} of `{}`{whom}: {error}", place.offset, place.binary)
    })
}

fn c_path(path: &str) -> Result<CString, String> {
    CString::new(path).map_err(|_| format!("`{path}` is not a path"))
}
