//! The typed argument words of the probes whose context is an array of `u64`s: a raw
//! tracepoint's arguments and a kernel function's (fentry), then its return value (fexit),
//! from the kernel's types; and the diagnostics those probes share.

use super::ContextArgument;
use crate::btf::{Btf, Signature};
use crate::diagnostic::Diagnostic;
use crate::sema::kernel_types::language_type;
use crate::syntax::ast::AttachPoint;
use crate::types::Ty;

/// The most arguments a BPF program may read of a kernel function (`MAX_BPF_FUNC_ARGS`).
pub(super) const MAX_ARGUMENTS: usize = 12;

/// Each parameter of `signature` as a named, typed word (`argN` where the kernel gives no
/// name; a `uint64` where its type is one a probe cannot hold); then `retval`, when `ret`.
pub(super) fn words(btf: &Btf, signature: &Signature<'_>, ret: bool) -> Vec<ContextArgument> {
    let typed = |ty| language_type(btf, ty, false).filter(Ty::is_scalar).unwrap_or(Ty::U64);
    let mut words: Vec<ContextArgument> = signature
        .params
        .iter()
        .enumerate()
        .map(|(i, param)| ContextArgument {
            name: if param.name.is_empty() { format!("arg{i}") } else { param.name.to_string() },
            ty: typed(param.ty),
        })
        .collect();
    if ret {
        words.push(ContextArgument { name: "retval".to_string(), ty: typed(signature.ret) });
    }
    words
}

/// `-lv`'s lines for a signature: `struct task_struct * prev`.
pub(super) fn listing(btf: &Btf, signature: &Signature<'_>, ret: bool) -> Vec<String> {
    let mut lines: Vec<String> = signature.params.iter().map(|param| format!("{} {}", btf.type_name(param.ty), param.name)).collect();
    if ret {
        lines.push(format!("{} retval", btf.type_name(signature.ret)));
    }
    lines
}

/// E0210: a probe whose arguments come from the kernel's types, on a kernel without them.
pub(super) fn needs_kernel_types(ap: &AttachPoint) -> Diagnostic {
    Diagnostic::error("E0210", format!("`{}` probes need the kernel's types, and this kernel has no BTF", ap.provider))
        .with_primary(ap.span, "needs /sys/kernel/btf/vmlinux")
        .with_help("tracepoints (`tracepoint:`) describe their arguments without BTF")
}
