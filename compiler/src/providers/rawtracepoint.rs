//! `rawtracepoint:[module:]event` (`rt:`): a tracepoint's arguments as the kernel passes them
//! to its probes, before a record is built (cheaper than `tracepoint:`), typed from the
//! kernel's BTF (`btf_trace_<event>`): `args.prev`, or `argN` as plain words.

use super::btf_arguments::{self, module_and_name, TypeSource};
use super::{glob_match, is_pattern, Context, Provider, ResolvedProbe};
use crate::catalog::{Catalog, CatalogError};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const PROVIDER: Provider = Provider {
    name: "rawtracepoint",
    written: &["rawtracepoint", "rt"],
    resolve: |ap, scope| resolve(ap, scope.catalog),
    list: |scope, _| list(scope.catalog),
    arguments: |scope, probe| arguments(scope.catalog, probe),
    program: ProgramType::RawTracepoint,
    context: Context::ArgumentWords,
    at_return: false,
    user_pointers: false,
    in_traced_task: true,
    // A raw tracepoint's link carries no cookie before Linux 6.10: one program each.
    shares_programs: false,
    section: |attach| match attach {
        Attach::RawTracepoint { event } => format!("raw_tp/{event}"),
        _ => "raw_tp".to_string(),
    },
};

fn resolve(ap: &AttachPoint, catalog: &dyn Catalog) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let (module, event) = module_and_name(ap, "rawtracepoint", "event", "sched_switch")?;
    let sources = btf_arguments::type_sources(ap, catalog, module)?;
    let mut probes = Vec::new();
    for source in &sources {
        let events: Vec<String> = if is_pattern(event) {
            let mut all = events(catalog, source).map_err(|error| catalog_error(ap, &error))?;
            all.retain(|name| glob_match(event, name));
            all
        } else {
            vec![event.to_string()]
        };
        for name in events {
            let Some(signature) = source.btf.raw_tracepoint(&name) else {
                if sources.len() > 1 {
                    continue;
                }
                return Err(no_such_event(ap, &name, catalog, source));
            };
            probes.push(source.probe(Attach::RawTracepoint { event: name.clone() }, "rawtracepoint", &name, &signature, false));
        }
    }
    if probes.is_empty() {
        return Err(Diagnostic::error("E0204", format!("no raw tracepoint matches `{event}`"))
            .with_primary(ap.span, "no such raw tracepoint in this kernel")
            .with_note("`ferrotrace -l 'rawtracepoint:*'` lists them"));
    }
    Ok(probes)
}

/// The events with raw tracepoints: for the kernel image, the tracepoints its types describe;
/// for a module, those its own types declare (`btf_trace_<event>`).
fn events(catalog: &dyn Catalog, source: &TypeSource) -> Result<Vec<String>, CatalogError> {
    let mut names: Vec<String> = match source.module {
        None => catalog.tracepoints()?.into_iter().map(|(_, name)| name).collect(),
        Some(_) => source.btf.own_raw_tracepoints().into_iter().map(str::to_string).collect(),
    };
    names.sort();
    names.dedup();
    names.retain(|name| source.btf.raw_tracepoint(name).is_some());
    Ok(names)
}

fn list(catalog: &dyn Catalog) -> Result<Vec<String>, CatalogError> {
    let mut probes = Vec::new();
    for source in btf_arguments::every_type_source(catalog) {
        probes.extend(events(catalog, &source)?.into_iter().map(|name| format!("rawtracepoint:{}:{name}", source.module_name())));
    }
    Ok(probes)
}

fn arguments(catalog: &dyn Catalog, probe: &str) -> Vec<String> {
    let Some((source, event)) = btf_arguments::listed_type_source(catalog, probe) else { return Vec::new() };
    match source.btf.raw_tracepoint(event) {
        Some(signature) => btf_arguments::listing(&source.btf, &signature, false),
        None => Vec::new(),
    }
}

fn no_such_event(ap: &AttachPoint, event: &str, catalog: &dyn Catalog, source: &TypeSource) -> Diagnostic {
    let diag = Diagnostic::error("E0204", format!("unknown raw tracepoint `{event}`")).with_primary(ap.span, "no such raw tracepoint in this kernel");
    let known = events(catalog, source).unwrap_or_default();
    match did_you_mean(&closest(event, known.iter().map(String::as_str))) {
        Some(help) => diag.with_help(help),
        None => diag.with_note("`ferrotrace -l 'rawtracepoint:*'` lists them"),
    }
}

fn catalog_error(ap: &AttachPoint, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0205", format!("cannot read the kernel's tracepoints: {error}")).with_primary(ap.span, "needed to resolve this probe")
}
