//! Tracepoints: a perf event on the tracepoint's id, linked to the program; and the
//! `raw_syscalls` tracepoints a program dispatched by syscall number is linked to.

use std::os::fd::BorrowedFd;

use ferrotrace_compiler::manifest::RawSyscallAttachment;

use super::{link, Attached};
use crate::sys;
use crate::tracefs::Tracefs;

/// A perf event on the tracepoint whose id is `event_id`, with `program` linked to it.
pub(super) fn attach(program: BorrowedFd<'_>, event_id: u32, cookie: u64) -> Result<Attached, String> {
    let perf_event = sys::perf_event_open_tracepoint(event_id).map_err(|error| format!("perf_event_open: {error}"))?;
    link(program, perf_event, cookie)
}

/// `raw_syscalls:sys_enter` or `sys_exit` with a dispatched program linked to it; the cookie
/// is where its direction's keys start.
pub(crate) fn attach_raw_syscalls(program: BorrowedFd<'_>, attachment: &RawSyscallAttachment) -> Result<Attached, String> {
    let perf_event = sys::perf_event_open_tracepoint(attachment.event_id)
        .map_err(|error| format!("perf_event_open on tracepoint:raw_syscalls:{}: {error}", attachment.name))?;
    link(program, perf_event, u64::from(attachment.key_base))
}

/// Says plainly when the tracepoint has gone since the script was compiled.
pub(super) fn reason(category: &str, name: &str, reason: String) -> String {
    let missing = Tracefs::find().is_some_and(|tracefs| tracefs.format(category, name).is_err());
    if missing {
        format!("the kernel has no tracepoint `{category}:{name}`")
    } else {
        reason
    }
}
