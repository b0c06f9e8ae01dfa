//! `fentry:[module:]function` (`f:`) and `fexit:` (`fr:`): BPF trampolines on a kernel
//! function, reading its arguments typed from the kernel's BTF (`args.file`, `argN`), and at
//! exit its return value (`retval`). Cheaper than kprobes where the kernel has them.

use super::btf_arguments::{self, module_and_name, TypeSource};
use super::fentry_bpf;
use crate::btf::Family;
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
    if fentry_bpf::names_a_program(ap) {
        return fentry_bpf::resolve(ap, catalog, exit);
    }
    let provider = if exit { "fexit" } else { "fentry" };
    let (module, pattern) = module_and_name(ap, provider, "function", "vfs_read")?;
    let sources = btf_arguments::type_sources(ap, catalog, module)?;
    let mut probes = Vec::new();
    for source in &sources {
        let functions = if is_pattern(pattern) {
            traceable(catalog, source).map_err(|error| functions_error(ap, &error))?.into_iter().filter(|name| glob_match(pattern, name)).collect()
        } else {
            vec![pattern.to_string()]
        };
        for function in functions {
            let Some(signature) = source.function(&function) else {
                if is_pattern(pattern) || sources.len() > 1 {
                    continue;
                }
                return Err(no_such_function(ap, provider, &function, catalog, source));
            };
            if signature.params.len() > btf_arguments::MAX_ARGUMENTS {
                continue;
            }
            let attach = Attach::Fentry { function: function.clone(), module: source.module.clone(), program: None, exit };
            probes.push(source.probe(attach, provider, &function, &signature, exit));
        }
    }
    if probes.is_empty() {
        return Err(Diagnostic::error("E0209", format!("no kernel function matches `{pattern}`"))
            .with_primary(ap.span, "no function a trampoline can attach to")
            .with_note(format!("`ferrotrace -l '{provider}:*'` lists the functions")));
    }
    Ok(probes)
}

/// The functions of `source` that tracefs lets trampolines attach to; a module's own
/// functions in its BTF where tracefs cannot say.
fn traceable(catalog: &dyn Catalog, source: &TypeSource) -> Result<Vec<String>, CatalogError> {
    let listed = catalog.kernel_functions();
    let mut names: Vec<String> = match (&source.module, listed) {
        (module, Ok(functions)) if module.is_none() || functions.iter().any(|f| f.module == *module) => {
            functions.into_iter().filter(|f| f.module == source.module).map(|f| f.name).collect()
        }
        (Some(_), _) => source.btf.own_names(Family::Func).into_iter().map(str::to_string).collect(),
        (None, Err(error)) => return Err(error),
        (None, Ok(_)) => Vec::new(),
    };
    names.sort();
    names.dedup();
    Ok(names)
}

/// `fentry:module:function` for every traceable function the kernel's and the loaded modules'
/// types describe, then `fentry:bpf:ID:function` for the loaded BPF programs' functions.
fn list(catalog: &dyn Catalog, provider: &str) -> Result<Vec<String>, CatalogError> {
    let mut probes = Vec::new();
    for source in btf_arguments::every_type_source(catalog) {
        let functions = match traceable(catalog, &source) {
            Err(CatalogError::Unsupported(_)) => continue,
            functions => functions?,
        };
        probes.extend(functions.into_iter().filter(|name| source.function(name).is_some()).map(|name| format!("{provider}:{}:{name}", source.module_name())));
    }
    probes.extend(fentry_bpf::list(catalog, provider)?);
    Ok(probes)
}

fn arguments(catalog: &dyn Catalog, probe: &str, exit: bool) -> Vec<String> {
    if let Some(lines) = fentry_bpf::arguments(catalog, probe, exit) {
        return lines;
    }
    let Some((source, function)) = btf_arguments::listed_type_source(catalog, probe) else { return Vec::new() };
    match source.function(function) {
        Some(signature) => btf_arguments::listing(&source.btf, &signature, exit),
        None => Vec::new(),
    }
}

fn no_such_function(ap: &AttachPoint, provider: &str, function: &str, catalog: &dyn Catalog, source: &TypeSource) -> Diagnostic {
    let place = match &source.module {
        None => "kernel function".to_string(),
        Some(module) => format!("function of module `{module}`"),
    };
    let diag = Diagnostic::error("E0209", format!("no {place} `{function}` to attach a {provider} probe to"))
        .with_primary(ap.span, "not a function of the kernel's types");
    let known = traceable(catalog, source).unwrap_or_default();
    match did_you_mean(&closest(function, known.iter().map(String::as_str))) {
        Some(help) => diag.with_help(help),
        None => diag.with_note(format!("`ferrotrace -l '{provider}:*'` lists the functions")),
    }
}

fn functions_error(ap: &AttachPoint, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0205", format!("cannot read the kernel's functions: {error}")).with_primary(ap.span, "needed to resolve this probe")
}
