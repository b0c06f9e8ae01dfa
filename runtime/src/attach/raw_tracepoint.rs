//! Raw tracepoints: the program is linked to the tracepoint by name with
//! `BPF_RAW_TRACEPOINT_OPEN`; no perf event is involved.

use std::ffi::CString;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::sys;

/// The link attaching `program` to the raw tracepoint `event`.
pub(super) fn attach(program: BorrowedFd<'_>, event: &str) -> Result<OwnedFd, String> {
    let name = CString::new(event).map_err(|_| format!("`{event}` is not a raw tracepoint name"))?;
    sys::raw_tracepoint_open(program, &name).map_err(|error| match error.raw_os_error() {
        Some(libc::ENOENT) => format!("the kernel has no raw tracepoint `{event}`"),
        _ => format!("BPF_RAW_TRACEPOINT_OPEN: {error}"),
    })
}
