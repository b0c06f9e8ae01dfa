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

/// The module the kernel image's functions and raw tracepoints are listed under.
pub(super) const KERNEL: &str = "vmlinux";

/// The name in `provider:name` or `provider:vmlinux:name` (`what` it is: a function, an event);
/// E0207 for another module or another shape, with `example` as the help's name.
pub(super) fn kernel_name<'a>(ap: &'a AttachPoint, provider: &str, what: &str, example: &str) -> Result<&'a str, Diagnostic> {
    match ap.parts.as_slice() {
        [name] => Ok(name.as_str()),
        [module, name] if module == KERNEL || module == "*" => Ok(name.as_str()),
        [module, _] => Err(Diagnostic::error("E0207", format!("{provider} probes in module `{module}` are not supported"))
            .with_primary(ap.span, "only the kernel image's")
            .with_help(format!("write `{provider}:{KERNEL}:{what}` or `{provider}:{what}`"))),
        parts => Err(Diagnostic::error("E0207", format!("a {provider} probe is written `{provider}:{what}` or `{provider}:{KERNEL}:{what}`"))
            .with_primary(ap.span, format!("this has {} part(s) after the probe type", parts.len()))
            .with_help(format!("for example `{provider}:{example}`"))),
    }
}

/// E0210: a probe whose arguments come from the kernel's types, on a kernel without them.
pub(super) fn needs_kernel_types(ap: &AttachPoint) -> Diagnostic {
    Diagnostic::error("E0210", format!("`{}` probes need the kernel's types, and this kernel has no BTF", ap.provider))
        .with_primary(ap.span, "needs /sys/kernel/btf/vmlinux")
        .with_help("tracepoints (`tracepoint:`) describe their arguments without BTF")
}
