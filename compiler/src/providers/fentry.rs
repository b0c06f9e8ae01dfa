//! `fentry:[module:]function` (`f:`) and `fexit:` (`fr:`): BPF trampolines on a kernel
//! function, reading its arguments typed from the kernel's BTF (`args.file`, `argN`), and at
//! exit its return value (`retval`). Cheaper than kprobes where the kernel has them.

use super::btf_arguments::{self, kernel_name, needs_kernel_types, KERNEL};
use super::{glob_match, is_pattern, Context, Provider, ResolvedProbe};
use crate::catalog::{Catalog, CatalogError};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const FENTRY: Provider = Provider {
    name: "fentry",
    written: &["fentry", "f"],
    resolve: |ap, scope| resolve(ap, scope.catalog, false),
    list: |scope, _| list(scope.catalog, "fentry"),
    arguments: |scope, probe| arguments(scope.catalog, probe, false),
    program: ProgramType::Fentry,
    context: Context::ArgumentWords,
    at_return: false,
    user_pointers: false,
    in_traced_task: true,
    // Each program is loaded for one function's BTF id.
    shares_programs: false,
    section: |attach| match attach {
        Attach::Fentry { function, .. } => format!("fentry/{function}"),
        _ => "fentry".to_string(),
    },
};

pub(super) const FEXIT: Provider = Provider {
    name: "fexit",
    written: &["fexit", "fr"],
    resolve: |ap, scope| resolve(ap, scope.catalog, true),
    list: |scope, _| list(scope.catalog, "fexit"),
    arguments: |scope, probe| arguments(scope.catalog, probe, true),
    program: ProgramType::Fexit,
    at_return: true,
    section: |attach| match attach {
        Attach::Fentry { function, .. } => format!("fexit/{function}"),
        _ => "fexit".to_string(),
    },
    ..FENTRY
};

fn resolve(ap: &AttachPoint, catalog: &dyn Catalog, exit: bool) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let provider = if exit { "fexit" } else { "fentry" };
    let pattern = kernel_name(ap, provider, "function", "vfs_read")?;
    let btf = catalog.kernel_types().ok_or_else(|| needs_kernel_types(ap))?;
    let functions = if is_pattern(pattern) {
        traceable(catalog).map_err(|error| functions_error(ap, &error))?.into_iter().filter(|name| glob_match(pattern, name)).collect()
    } else {
        vec![pattern.to_string()]
    };
    let mut probes = Vec::new();
    for function in functions {
        let Some(signature) = btf.function(&function) else {
            if is_pattern(pattern) {
                continue;
            }
            return Err(no_such_function(ap, provider, &function, catalog));
        };
        if signature.params.len() > btf_arguments::MAX_ARGUMENTS {
            continue;
        }
        let mut probe = ResolvedProbe::new(Attach::Fentry { function: function.clone(), exit }, format!("{provider}:{KERNEL}:{function}"));
        probe.arguments = btf_arguments::words(btf, &signature, exit);
        probes.push(probe);
    }
    if probes.is_empty() {
        return Err(Diagnostic::error("E0209", format!("no kernel function matches `{pattern}`"))
            .with_primary(ap.span, "no function a trampoline can attach to")
            .with_note(format!("`ferrotrace -l '{provider}:*'` lists the functions")));
    }
    Ok(probes)
}

/// The kernel image's functions that tracefs lets trampolines attach to.
fn traceable(catalog: &dyn Catalog) -> Result<Vec<String>, CatalogError> {
    let mut names: Vec<String> = catalog.kernel_functions()?.into_iter().filter(|f| f.module.is_none()).map(|f| f.name).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// `fentry:vmlinux:function` for every traceable function the kernel's types describe.
fn list(catalog: &dyn Catalog, provider: &str) -> Result<Vec<String>, CatalogError> {
    let Some(btf) = catalog.kernel_types() else { return Ok(Vec::new()) };
    let functions = match traceable(catalog) {
        Err(CatalogError::Unsupported(_)) => return Ok(Vec::new()),
        functions => functions?,
    };
    Ok(functions.into_iter().filter(|name| btf.function(name).is_some()).map(|name| format!("{provider}:{KERNEL}:{name}")).collect())
}

fn arguments(catalog: &dyn Catalog, probe: &str, exit: bool) -> Vec<String> {
    let function = probe.rsplit(':').next().unwrap_or_default();
    match catalog.kernel_types().and_then(|btf| Some((btf, btf.function(function)?))) {
        Some((btf, signature)) => btf_arguments::listing(btf, &signature, exit),
        None => Vec::new(),
    }
}

fn no_such_function(ap: &AttachPoint, provider: &str, function: &str, catalog: &dyn Catalog) -> Diagnostic {
    let diag = Diagnostic::error("E0209", format!("no kernel function `{function}` to attach a {provider} probe to"))
        .with_primary(ap.span, "not a function of the kernel's types");
    let known = traceable(catalog).unwrap_or_default();
    match did_you_mean(&closest(function, known.iter().map(String::as_str))) {
        Some(help) => diag.with_help(help),
        None => diag.with_note(format!("`ferrotrace -l '{provider}:*'` lists the functions")),
    }
}

fn functions_error(ap: &AttachPoint, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0205", format!("cannot read the kernel's functions: {error}")).with_primary(ap.span, "needed to resolve this probe")
}
