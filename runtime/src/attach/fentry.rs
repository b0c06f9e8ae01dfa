//! fentry and fexit: a tracing program is loaded for its function's BTF id and attach type
//! (and a module's function, for the module's BTF object; a BPF program's, for the program,
//! the id one of its own BTF), then attached by opening a raw tracepoint link on it (no name: the program says where).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use ferrotrace_compiler::btf::Family;
use ferrotrace_compiler::manifest::{Attach, ProgramSpec};

use super::BtfTarget;
use crate::error::LoadError;
use crate::sys::{self, attach_type};

/// The function `spec`'s program is loaded for.
pub(crate) fn target(spec: &ProgramSpec) -> Result<BtfTarget, LoadError> {
    let unloadable = |reason: String| LoadError::Program { probe: spec.probe_name.clone(), reason };
    let Some(Attach::Fentry { function, module, program, exit }) = spec.targets.first().map(|target| &target.attach) else {
        return Err(unloadable("an fentry program without its function".to_string()));
    };
    let attach_type = if *exit { attach_type::TRACE_FEXIT } else { attach_type::TRACE_FENTRY };
    if let Some(id) = program {
        return program_function(*id, function, attach_type).map_err(unloadable);
    }
    let btf = crate::btf::shared().ok_or_else(|| unloadable("the kernel has no BTF (/sys/kernel/btf/vmlinux)".to_string()))?;
    let Some(module) = module else {
        let id = btf.find(function, Family::Func).ok_or_else(|| unloadable(format!("the kernel's types have no function `{function}`")))?;
        return Ok(BtfTarget { attach_type, btf_id: id.0, module_btf: None, program: None });
    };
    let base = crate::btf::vmlinux().map(std::sync::Arc::new).ok_or_else(|| unloadable("the kernel has no BTF (/sys/kernel/btf/vmlinux)".to_string()))?;
    let types = crate::btf::module(base, module).ok_or_else(|| unloadable(format!("module `{module}` is not loaded, or has no BTF")))?;
    let id = types.find_own(function, Family::Func).ok_or_else(|| unloadable(format!("module `{module}`'s types have no function `{function}`")))?;
    let object = module_btf_object(module).map_err(|error| unloadable(format!("cannot find module `{module}`'s BTF object: {error}")))?;
    Ok(BtfTarget { attach_type, btf_id: id.0, module_btf: Some(object), program: None })
}

/// The function `function` of the loaded BPF program `id`: the program, and the function's
/// id in the program's BTF, which must be one its `func_info` names.
fn program_function(id: u32, function: &str, attach_type: u32) -> Result<BtfTarget, String> {
    let program = sys::prog_fd_by_id(id).map_err(|error| format!("BPF program {id} is no longer loaded: {error}"))?;
    let info = sys::prog_info(program.as_fd()).map_err(|error| format!("cannot read BPF program {id}: {error}"))?;
    let (types, _) = crate::btf::program(&info).ok_or_else(|| format!("BPF program {id} has no BTF for its functions"))?;
    let named = |record: &&sys::FuncInfo| {
        matches!(types.kind(ferrotrace_compiler::btf::TypeId(record.type_id)), Ok(ferrotrace_compiler::btf::Kind::Func { name, .. }) if name == function)
    };
    let record = info.functions.iter().find(named).ok_or_else(|| format!("BPF program {id} (`{}`) has no function `{function}`", info.name))?;
    Ok(BtfTarget { attach_type, btf_id: record.type_id, module_btf: None, program: Some(program) })
}

/// An fd of the kernel's BTF object for `module`, found among the loaded BTF objects by name.
fn module_btf_object(module: &str) -> std::io::Result<OwnedFd> {
    let mut id = 0;
    loop {
        id = sys::btf_next_id(id)?;
        // An object may go away between the two calls: skip it.
        let Ok(object) = sys::btf_fd_by_id(id) else { continue };
        if sys::kernel_btf_name(object.as_fd())?.as_deref() == Some(module) {
            return Ok(object);
        }
    }
}

/// The link attaching a loaded fentry or fexit program to its function.
pub(super) fn attach(program: BorrowedFd<'_>) -> Result<OwnedFd, String> {
    sys::raw_tracepoint_open_tracing(program).map_err(|error| format!("attaching the trampoline (BPF_RAW_TRACEPOINT_OPEN): {error}"))
}
