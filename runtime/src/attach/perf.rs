//! Perf event probes: `interval` (a software cpu-clock event on CPU 0 every period),
//! `profile` (one on every online CPU at a rate), and `software` and `hardware` events
//! sampled every N events on every online CPU.

use std::os::fd::BorrowedFd;

use super::{link, Attached};
use crate::cpus;
use crate::error::AttachError;
use crate::sys::{self, Sampling};

pub(super) fn attach_interval(program: BorrowedFd<'_>, period_ns: u64, cookie: u64) -> Result<Attached, String> {
    attach_cpu_clock(program, 0, Sampling::PeriodNs(period_ns), cookie)
}

/// One attachment per online CPU, each of which may fail on its own.
pub(super) fn attach_profile(program: BorrowedFd<'_>, hz: u64, cookie: u64) -> Result<Vec<Result<Attached, String>>, AttachError> {
    Ok(cpus::online()?.into_iter().map(|cpu| attach_cpu_clock(program, cpu, Sampling::Hz(hz), cookie)).collect())
}

/// A software cpu-clock perf event on `cpu`, with `program` linked to it.
fn attach_cpu_clock(program: BorrowedFd<'_>, cpu: u32, sampling: Sampling, cookie: u64) -> Result<Attached, String> {
    let perf_event = sys::perf_event_open_cpu_clock(cpu, sampling)
        .map_err(|error| format!("software cpu-clock perf event on CPU {cpu}: {error}"))?;
    link(program, perf_event, cookie)
}

/// A software event or hardware counter on every online CPU, each of which may fail on its own.
pub(super) fn attach_counter(program: BorrowedFd<'_>, hardware: bool, config: u64, period: u64, cookie: u64) -> Result<Vec<Result<Attached, String>>, AttachError> {
    let kind = if hardware { "hardware counter" } else { "software event" };
    Ok(cpus::online()?
        .into_iter()
        .map(|cpu| {
            let perf_event = sys::perf_event_open_counter(hardware, config, period, cpu).map_err(|error| match error.raw_os_error() {
                Some(libc::ENOENT | libc::EOPNOTSUPP) if hardware => {
                    format!("this machine has no hardware performance counters (perf_event_open on CPU {cpu}: {error}); `software:cpu-clock:` and `profile:hz:99` sample by time instead")
                }
                _ => format!("{kind} perf event on CPU {cpu}: {error}"),
            })?;
            link(program, perf_event, cookie)
        })
        .collect())
}
