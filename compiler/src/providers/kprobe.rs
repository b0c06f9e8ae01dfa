//! `kprobe:function[+offset]`, `kprobe:module:function` (`k:`) and `kretprobe:` (`kr:`): kernel
//! functions tracefs says kprobes may attach to, wildcards included. Programs read the probed
//! function's registers; the probes of one block share a program.

use super::{glob_match, is_pattern, Context, Provider, ResolvedProbe, Scope};
use crate::catalog::{Catalog, CatalogError, KernelFunction};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const KPROBE: Provider = Provider {
    name: "kprobe",
    written: &["kprobe", "k"],
    resolve: |ap, scope| resolve(ap, scope.catalog, false),
    list,
    arguments: super::no_arguments,
    program: ProgramType::Kprobe,
    context: Context::FunctionRegisters,
    at_return: false,
    user_pointers: false,
    in_traced_task: true,
    shares_programs: true,
    section: |attach| match attach {
        Attach::Kprobe { function, .. } => format!("kprobe/{function}"),
        _ => "kprobe".to_string(),
    },
};

pub(super) const KRETPROBE: Provider = Provider {
    name: "kretprobe",
    written: &["kretprobe", "kr"],
    resolve: |ap, scope| resolve(ap, scope.catalog, true),
    list: super::nothing_to_list,
    at_return: true,
    section: |attach| match attach {
        Attach::Kprobe { function, .. } => format!("kretprobe/{function}"),
        _ => "kretprobe".to_string(),
    },
    ..KPROBE
};

/// `kprobe:function` (`kprobe:module:function` for a module's) for every function kprobes can
/// attach to; nothing where the kernel has no kprobes. Their kretprobes are not listed again,
/// as bpftrace does not.
fn list(scope: &Scope<'_>, _: &str) -> Result<Vec<String>, CatalogError> {
    let functions = match scope.catalog.kernel_functions() {
        Err(CatalogError::Unsupported(_)) => return Ok(Vec::new()),
        functions => functions?,
    };
    Ok(functions
        .into_iter()
        .map(|function| match function.module {
            Some(module) => format!("kprobe:{module}:{}", function.name),
            None => format!("kprobe:{}", function.name),
        })
        .collect())
}

/// `kprobe:function`, `kprobe:function+offset`, `kprobe:module:function` and the same for
/// `kretprobe` (without an offset). The function, and the module, may be wildcards; they are
/// matched against the functions the kernel lets kprobes attach to, as bpftrace does.
fn resolve(ap: &AttachPoint, catalog: &dyn Catalog, retprobe: bool) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let provider = if retprobe { "kretprobe" } else { "kprobe" };
    let malformed = |message: String, label: &str| {
        Diagnostic::error("E0207", message)
            .with_primary(ap.span, label.to_string())
            .with_help(format!("for example `{provider}:vfs_read` or `{provider}:vfs_*`"))
    };
    let (module, written) = match ap.parts.as_slice() {
        [function] => (None, function.as_str()),
        [module, function] => (Some(module.as_str()), function.as_str()),
        parts => {
            return Err(malformed(
                format!("a {provider} is written `{provider}:function` or `{provider}:module:function`"),
                &format!("this has {} part(s) after the probe type", parts.len()),
            ))
        }
    };
    let (pattern, offset) = match written.split_once('+') {
        None => (written, 0),
        Some(_) if retprobe => {
            return Err(malformed("a kretprobe attaches to a function's return, not to an offset".into(), "remove the `+offset`"))
        }
        Some((function, offset)) => match parse_offset(offset) {
            Some(offset) if !is_pattern(function) => (function, offset),
            Some(_) => return Err(malformed("a wildcard cannot have an offset".into(), "an offset needs one function")),
            None => return Err(malformed(format!("`{offset}` is not an offset"), "write a byte offset like `+0x10` or `+16`")),
        },
    };
    if pattern.is_empty() {
        return Err(malformed(format!("the {provider} names no function"), "add the kernel function's name"));
    }
    let functions = catalog.kernel_functions().map_err(|error| kernel_functions_error(ap, provider, &error))?;
    let in_module = |function: &KernelFunction| match (module, function.module.as_deref()) {
        (None, None) => true,
        (Some(wanted), Some(actual)) => glob_match(wanted, actual),
        _ => false,
    };
    let mut matches: Vec<&KernelFunction> =
        functions.iter().filter(|function| in_module(function) && glob_match(pattern, &function.name)).collect();
    matches.sort();
    matches.dedup();
    if matches.is_empty() {
        return Err(no_such_function(ap, provider, module, pattern, &functions));
    }
    let suffix = written.split_once('+').map(|(_, offset)| format!("+{offset}")).unwrap_or_default();
    Ok(matches
        .into_iter()
        .map(|function| {
            let module_part = function.module.as_deref().map(|module| format!("{module}:")).unwrap_or_default();
            let mut probe = ResolvedProbe::new(
                Attach::Kprobe { function: function.name.clone(), module: function.module.clone(), offset, retprobe },
                format!("{provider}:{module_part}{}{suffix}", function.name),
            );
            // A module's function: its casts (`(struct x *)arg0`) may name the module's types.
            probe.module_types = function.module.as_deref().and_then(|module| catalog.module_types(module));
            probe
        })
        .collect())
}

/// `0x10` or `16`.
fn parse_offset(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn kernel_functions_error(ap: &AttachPoint, provider: &str, error: &CatalogError) -> Diagnostic {
    match error {
        CatalogError::Unsupported(why) => {
            Diagnostic::error("E0208", format!("this kernel cannot attach {provider}s"))
                .with_primary(ap.span, "needs kprobes")
                .with_note(why.clone())
                .with_help("`ferrotrace --info` lists the probe types this kernel has; docs/kernels.md says what each needs")
        }
        other => Diagnostic::error("E0205", format!("cannot read the kernel's functions: {other}"))
            .with_primary(ap.span, "needed to resolve this probe"),
    }
}

fn no_such_function(
    ap: &AttachPoint,
    provider: &str,
    module: Option<&str>,
    pattern: &str,
    functions: &[KernelFunction],
) -> Diagnostic {
    let shown = module.map(|module| format!("{module}:{pattern}")).unwrap_or_else(|| pattern.to_string());
    let diag = if is_pattern(pattern) || module.is_some_and(is_pattern) {
        Diagnostic::error("E0209", format!("no kernel function matches `{shown}`"))
    } else {
        Diagnostic::error("E0209", format!("no kernel function `{shown}` to attach a {provider} to"))
    }
    .with_primary(ap.span, "not a function kprobes can attach to in this kernel");
    let in_a_module = functions.iter().find(|function| function.name == pattern && function.module.is_some() && module.is_none());
    if let Some(KernelFunction { module: Some(owner), .. }) = in_a_module {
        return diag.with_help(format!("`{pattern}` is a function of module `{owner}`: write `{provider}:{owner}:{pattern}`"));
    }
    let names = functions.iter().filter(|function| function.module.as_deref() == module).map(|function| function.name.as_str());
    match did_you_mean(&closest(pattern, names)) {
        Some(help) => diag.with_help(help),
        None => diag.with_note(format!("`ferrotrace -l '{provider}:*'` lists the functions")),
    }
}
