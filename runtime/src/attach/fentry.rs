//! fentry and fexit: a tracing program is loaded for its function's BTF id and attach type,
//! then attached by opening a raw tracepoint link on it (no name: the program says where).

use std::os::fd::{BorrowedFd, OwnedFd};

use ferrotrace_compiler::btf::Family;
use ferrotrace_compiler::manifest::{Attach, ProgramSpec};

use crate::error::LoadError;
use crate::sys::{self, attach_type};

/// The attach type and the BTF id of the function `spec`'s program is loaded for.
pub(crate) fn target(spec: &ProgramSpec) -> Result<(u32, u32), LoadError> {
    let unloadable = |reason: String| LoadError::Program { probe: spec.probe_name.clone(), reason };
    let Some(Attach::Fentry { function, exit }) = spec.targets.first().map(|target| &target.attach) else {
        return Err(unloadable("an fentry program without its function".to_string()));
    };
    let btf = crate::btf::shared().ok_or_else(|| unloadable("the kernel has no BTF (/sys/kernel/btf/vmlinux)".to_string()))?;
    let id = btf.find(function, Family::Func).ok_or_else(|| unloadable(format!("the kernel's types have no function `{function}`")))?;
    Ok((if *exit { attach_type::TRACE_FEXIT } else { attach_type::TRACE_FENTRY }, id.0))
}

/// The link attaching a loaded fentry or fexit program to its function.
pub(super) fn attach(program: BorrowedFd<'_>) -> Result<OwnedFd, String> {
    sys::raw_tracepoint_open_tracing(program).map_err(|error| format!("attaching the trampoline (BPF_RAW_TRACEPOINT_OPEN): {error}"))
}
