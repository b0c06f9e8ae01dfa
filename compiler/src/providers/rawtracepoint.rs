//! `rawtracepoint:[vmlinux:]event` (`rt:`): a tracepoint's arguments as the kernel passes them
//! to its probes, before a record is built (cheaper than `tracepoint:`), typed from the
//! kernel's BTF (`btf_trace_<event>`): `args.prev`, or `argN` as plain words.

use super::btf_arguments::{self, kernel_name, needs_kernel_types, KERNEL};
use super::{glob_match, is_pattern, Context, Provider, ResolvedProbe};
use crate::btf::Btf;
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
    let event = kernel_name(ap, "rawtracepoint", "event", "sched_switch")?;
    let btf = catalog.kernel_types().ok_or_else(|| needs_kernel_types(ap))?;
    let events: Vec<String> = if is_pattern(event) {
        let mut all = events(catalog, btf).map_err(|error| catalog_error(ap, &error))?;
        all.retain(|name| glob_match(event, name));
        all
    } else {
        vec![event.to_string()]
    };
    let mut probes = Vec::with_capacity(events.len());
    for name in events {
        let Some(signature) = btf.raw_tracepoint(&name) else {
            return Err(no_such_event(ap, &name, catalog, btf));
        };
        let mut probe = ResolvedProbe::new(Attach::RawTracepoint { event: name.clone() }, format!("rawtracepoint:{KERNEL}:{name}"));
        probe.arguments = btf_arguments::words(btf, &signature, false);
        probes.push(probe);
    }
    if probes.is_empty() {
        return Err(Diagnostic::error("E0204", format!("no raw tracepoint matches `{event}`"))
            .with_primary(ap.span, "no such raw tracepoint in this kernel")
            .with_note("`ferrotrace -l 'rawtracepoint:*'` lists them"));
    }
    Ok(probes)
}

/// The events with raw tracepoints: the tracepoints the kernel's types describe.
fn events(catalog: &dyn Catalog, btf: &Btf) -> Result<Vec<String>, CatalogError> {
    let mut names: Vec<String> = catalog.tracepoints()?.into_iter().map(|(_, name)| name).collect();
    names.sort();
    names.dedup();
    names.retain(|name| btf.raw_tracepoint(name).is_some());
    Ok(names)
}

fn list(catalog: &dyn Catalog) -> Result<Vec<String>, CatalogError> {
    let Some(btf) = catalog.kernel_types() else { return Ok(Vec::new()) };
    Ok(events(catalog, btf)?.into_iter().map(|name| format!("rawtracepoint:{KERNEL}:{name}")).collect())
}

fn arguments(catalog: &dyn Catalog, probe: &str) -> Vec<String> {
    let event = probe.rsplit(':').next().unwrap_or_default();
    match catalog.kernel_types().and_then(|btf| Some((btf, btf.raw_tracepoint(event)?))) {
        Some((btf, signature)) => btf_arguments::listing(btf, &signature, false),
        None => Vec::new(),
    }
}

fn no_such_event(ap: &AttachPoint, event: &str, catalog: &dyn Catalog, btf: &Btf) -> Diagnostic {
    let diag = Diagnostic::error("E0204", format!("unknown raw tracepoint `{event}`")).with_primary(ap.span, "no such raw tracepoint in this kernel");
    let known = events(catalog, btf).unwrap_or_default();
    match did_you_mean(&closest(event, known.iter().map(String::as_str))) {
        Some(help) => diag.with_help(help),
        None => diag.with_note("`ferrotrace -l 'rawtracepoint:*'` lists them"),
    }
}

fn catalog_error(ap: &AttachPoint, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0205", format!("cannot read the kernel's tracepoints: {error}")).with_primary(ap.span, "needed to resolve this probe")
}
