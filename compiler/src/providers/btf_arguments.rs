//! The typed argument words of the probes whose context is an array of `u64`s: a raw
//! tracepoint's arguments and a kernel function's (fentry), then its return value (fexit),
//! from the kernel's types; and the diagnostics those probes share.

use std::sync::Arc;

use super::{glob_match, is_pattern, ContextArgument, ResolvedProbe};
use crate::manifest::Attach;
use crate::btf::{Btf, Signature};
use crate::catalog::Catalog;
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
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

/// The module part (`None` for the kernel image: none written, or `vmlinux`) and the name in
/// `provider:name` or `provider:module:name` (`what` it is: a function, an event); E0207 for
/// another shape, with `example` as the help's name.
pub(super) fn module_and_name<'a>(ap: &'a AttachPoint, provider: &str, what: &str, example: &str) -> Result<(Option<&'a str>, &'a str), Diagnostic> {
    match ap.parts.as_slice() {
        [name] => Ok((None, name.as_str())),
        [module, name] if module == KERNEL => Ok((None, name.as_str())),
        [module, name] => Ok((Some(module.as_str()), name.as_str())),
        parts => Err(Diagnostic::error("E0207", format!("a {provider} probe is written `{provider}:{what}` or `{provider}:module:{what}`"))
            .with_primary(ap.span, format!("this has {} part(s) after the probe type", parts.len()))
            .with_help(format!("for example `{provider}:{example}` or `{provider}:{KERNEL}:{example}`"))),
    }
}

/// Types a probe's function or event is looked up in: the kernel image's (`module` `None`) or
/// a loaded module's, split over the kernel's.
pub(super) struct TypeSource {
    pub module: Option<String>,
    pub btf: Arc<Btf>,
}

impl TypeSource {
    /// The module as probe names write it: `vmlinux` for the kernel image.
    pub fn module_name(&self) -> &str {
        self.module.as_deref().unwrap_or(KERNEL)
    }

    /// The signature of the function `name` of this source (a module's own, not the kernel's).
    pub fn function(&self, name: &str) -> Option<Signature<'_>> {
        match self.module {
            None => self.btf.function(name),
            Some(_) => self.btf.own_function(name),
        }
    }

    /// A probe `provider:module:name` attaching to `attach`, its arguments typed from
    /// `signature` (then `retval`, when `ret`), carrying a module's types for its body.
    pub fn probe(&self, attach: Attach, provider: &str, name: &str, signature: &Signature<'_>, ret: bool) -> ResolvedProbe {
        let mut probe = ResolvedProbe::new(attach, format!("{provider}:{}:{name}", self.module_name()));
        probe.arguments = words(&self.btf, signature, ret);
        probe.module_types = self.module.is_some().then(|| self.btf.clone());
        probe
    }
}

/// The kernel image's types and every loaded module's, for listings; none without BTF.
pub(super) fn every_type_source(catalog: &dyn Catalog) -> Vec<TypeSource> {
    let Some(kernel) = catalog.kernel_types() else { return Vec::new() };
    let modules = catalog.modules_with_types().into_iter().filter_map(|module| Some(TypeSource { btf: catalog.module_types(&module)?, module: Some(module) }));
    std::iter::once(TypeSource { module: None, btf: kernel.clone() }).chain(modules).collect()
}

/// The types and the name of a listed probe, `provider:module:name`, for `-lv`.
pub(super) fn listed_type_source<'a>(catalog: &dyn Catalog, probe: &'a str) -> Option<(TypeSource, &'a str)> {
    let mut parts = probe.rsplit(':');
    let (name, module) = (parts.next()?, parts.next().filter(|module| *module != KERNEL));
    let source = match module {
        None => TypeSource { module: None, btf: catalog.kernel_types()?.clone() },
        Some(module) => TypeSource { module: Some(module.to_string()), btf: catalog.module_types(module)? },
    };
    Some((source, name))
}

/// The type sources `module` names: the kernel image for `None`; every loaded module with BTF
/// (and the kernel image, for `*`) for a wildcard; the module itself otherwise. E0210 without
/// the kernel's types; E0207 for a module that is not loaded or has no BTF.
pub(super) fn type_sources(ap: &AttachPoint, catalog: &dyn Catalog, module: Option<&str>) -> Result<Vec<TypeSource>, Diagnostic> {
    let kernel = catalog.kernel_types().ok_or_else(|| needs_kernel_types(ap))?;
    let image = || TypeSource { module: None, btf: kernel.clone() };
    let of = |name: &str| catalog.module_types(name).map(|btf| TypeSource { module: Some(name.to_string()), btf });
    match module {
        None => Ok(vec![image()]),
        Some(pattern) if is_pattern(pattern) => {
            let mut sources: Vec<TypeSource> = glob_match(pattern, KERNEL).then(image).into_iter().collect();
            sources.extend(catalog.modules_with_types().iter().filter(|name| glob_match(pattern, name)).filter_map(|name| of(name)));
            Ok(sources)
        }
        Some(name) => of(name).map(|source| vec![source]).ok_or_else(|| {
            let loaded = catalog.modules_with_types();
            let diag = Diagnostic::error("E0207", format!("no loaded kernel module `{name}` with types (BTF)"))
                .with_primary(ap.span, format!("/sys/kernel/btf/{name} does not exist"));
            match did_you_mean(&closest(name, loaded.iter().map(String::as_str))) {
                Some(help) => diag.with_help(help),
                None if loaded.is_empty() => diag.with_note(format!("no module with BTF is loaded; the kernel image's are `{}:{KERNEL}:...`", ap.provider)),
                None => diag.with_note(format!("modules with BTF: {}", loaded.join(", "))),
            }
        }),
    }
}

/// E0210: a probe whose arguments come from the kernel's types, on a kernel without them.
pub(super) fn needs_kernel_types(ap: &AttachPoint) -> Diagnostic {
    Diagnostic::error("E0210", format!("`{}` probes need the kernel's types, and this kernel has no BTF", ap.provider))
        .with_primary(ap.span, "needs /sys/kernel/btf/vmlinux")
        .with_help("tracepoints (`tracepoint:`) describe their arguments without BTF")
}
