//! `tracepoint:category:name` (`t:`): the kernel's static tracepoints, from tracefs. Programs
//! read the event's record; one program may serve every tracepoint of a block.

use super::{glob_match, is_pattern, Context, Provider, ResolvedProbe, Scope};
use crate::catalog::{CatalogError, TracepointFormat};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const PROVIDER: Provider = Provider {
    name: "tracepoint",
    written: &["tracepoint", "t"],
    resolve,
    list,
    arguments,
    program: ProgramType::Tracepoint,
    context: Context::TracepointRecord,
    at_return: false,
    user_pointers: false,
    in_traced_task: true,
    shares_programs: true,
    section: |attach| match attach {
        Attach::Tracepoint { category, name, .. } => format!("tracepoint/{category}/{name}"),
        _ => "tracepoint".to_string(),
    },
};

/// Every tracepoint.
fn list(scope: &Scope<'_>, _: &str) -> Result<Vec<String>, CatalogError> {
    Ok(scope.catalog.tracepoints()?.into_iter().map(|(category, name)| format!("tracepoint:{category}:{name}")).collect())
}

/// The fields of the tracepoint's record.
fn arguments(scope: &Scope<'_>, probe: &str) -> Vec<String> {
    let Some((category, name)) = probe.strip_prefix("tracepoint:").and_then(|rest| rest.split_once(':')) else {
        return Vec::new();
    };
    let fields = scope.catalog.tracepoint_format(category, name).map(|format| format.fields).unwrap_or_default();
    fields.into_iter().map(|field| format!("{} {}", field.c_type, field.name)).collect()
}

fn resolve(ap: &AttachPoint, scope: &Scope<'_>) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let catalog = scope.catalog;
    let [category, name] = ap.parts.as_slice() else {
        return Err(Diagnostic::error("E0203", "a tracepoint is written `tracepoint:category:name`")
            .with_primary(ap.span, format!("this has {} part(s) after the probe type", ap.parts.len()))
            .with_help("for example `tracepoint:syscalls:sys_enter_openat`"));
    };
    if !is_pattern(category) && !is_pattern(name) {
        match catalog.tracepoint_format(category, name) {
            Ok(format) => return Ok(vec![tracepoint_probe(category, name, format)]),
            Err(CatalogError::NotFound(_)) => {}
            Err(error) => return Err(catalog_error(ap, &error)),
        }
    }
    let all = catalog.tracepoints().map_err(|e| catalog_error(ap, &e))?;
    let matches: Vec<&(String, String)> =
        all.iter().filter(|(c, n)| glob_match(category, c) && glob_match(name, n)).collect();
    if matches.is_empty() {
        return Err(no_such_tracepoint(ap, category, name, &all));
    }
    matches
        .into_iter()
        .map(|(c, n)| {
            let format = catalog.tracepoint_format(c, n).map_err(|e| catalog_error(ap, &e))?;
            Ok(tracepoint_probe(c, n, format))
        })
        .collect()
}

fn tracepoint_probe(category: &str, name: &str, format: TracepointFormat) -> ResolvedProbe {
    ResolvedProbe {
        attach: Attach::Tracepoint { category: category.to_string(), name: name.to_string(), event_id: format.id },
        name: format!("tracepoint:{category}:{name}"),
        format: Some(format),
        arguments: Vec::new(),
        module_types: None,
        setup: None,
        parameters: super::UserParameters::NotRead,
    }
}

fn no_such_tracepoint(ap: &AttachPoint, category: &str, name: &str, all: &[(String, String)]) -> Diagnostic {
    let has_wildcard = |s: &str| s.contains(['*', '?']);
    let category_exists = all.iter().any(|(c, _)| glob_match(category, c));
    let diag = if has_wildcard(category) || has_wildcard(name) {
        Diagnostic::error("E0204", format!("no tracepoint matches `{category}:{name}`"))
    } else {
        Diagnostic::error("E0204", format!("unknown tracepoint `{category}:{name}`"))
    }
    .with_primary(ap.span, "no such tracepoint in this kernel");
    let candidates: Vec<&str> = if category_exists {
        all.iter().filter(|(c, _)| glob_match(category, c)).map(|(_, n)| n.as_str()).collect()
    } else {
        let mut cats: Vec<&str> = all.iter().map(|(c, _)| c.as_str()).collect();
        cats.dedup();
        cats
    };
    let wanted = if category_exists { name } else { category };
    match did_you_mean(&closest(wanted, candidates)) {
        Some(help) => diag.with_help(help),
        None => diag.with_note("`ferrotrace -l 'tracepoint:*'` lists the tracepoints"),
    }
}

fn catalog_error(ap: &AttachPoint, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0205", format!("cannot read the kernel's tracepoints: {error}"))
        .with_primary(ap.span, "needed to resolve this probe")
}
