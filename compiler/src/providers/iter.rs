//! `iter:NAME[:PIN]` (`it:`): BPF iterators. The program runs once for each kernel object of
//! the iterator's kind while userspace reads the iterator, seeing it through `ctx`, a
//! `struct bpf_iter__NAME`. The kernel's BTF says which iterators exist: each has that context
//! struct and a function `bpf_iter_NAME`, whose BTF id the program is loaded for. With a pin
//! path the runtime pins the iterator in bpffs instead of reading it, and every read of the
//! pinned file runs it again. An iterator probe runs alone: `begin` and `end` may come with
//! it, nothing else.

use super::btf_arguments::needs_kernel_types;
use super::{is_pattern, Context, Provider, ResolvedProbe};
use crate::btf::{Btf, Family};
use crate::catalog::Catalog;
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::span::Span;
use crate::syntax::ast::AttachPoint;

pub(super) const PROVIDER: Provider = Provider {
    name: "iter",
    written: &["iter", "it"],
    resolve: |ap, scope| resolve(ap, scope.catalog),
    list: |scope, _| Ok(scope.catalog.kernel_types().map(|btf| iterators(btf).into_iter().map(|name| format!("iter:{name}")).collect()).unwrap_or_default()),
    arguments: |scope, probe| arguments(scope.catalog, probe),
    program: ProgramType::Iter,
    context: Context::IteratorObject,
    at_return: false,
    user_pointers: false,
    // It runs in the task reading the iterator: ferrotrace's own.
    in_traced_task: false,
    shares_programs: false,
    section: |attach| match attach {
        Attach::Iter { iterator, .. } => format!("iter/{iterator}"),
        _ => "iter".to_string(),
    },
};

/// Where a pin path without a leading `/` is put: the BPF filesystem's usual mount.
const BPFFS: &str = "/sys/fs/bpf";

/// The prefix of an iterator's context struct (`struct bpf_iter__task`).
const CONTEXT_PREFIX: &str = "bpf_iter__";
/// The prefix of the function an iterator program is loaded for (`bpf_iter_task`).
const FUNCTION_PREFIX: &str = "bpf_iter_";

fn resolve(ap: &AttachPoint, catalog: &dyn Catalog) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let (name, pin) = match ap.parts.as_slice() {
        [name] => (name, None),
        [name, pin] => (name, Some(pin)),
        parts => {
            return Err(Diagnostic::error("E0211", "an iter probe is written `iter:NAME` or `iter:NAME:PIN`")
                .with_primary(ap.span, format!("this has {} part(s) after the probe type", parts.len()))
                .with_help("for example `iter:task`, or `iter:task:tasks` to pin it at /sys/fs/bpf/tasks"));
        }
    };
    if name.is_empty() || pin.is_some_and(String::is_empty) {
        return Err(Diagnostic::error("E0211", "an iter probe names its iterator, and a pin path when it has one")
            .with_primary(ap.span, "an empty part")
            .with_help("for example `iter:task`, or `iter:task:tasks` to pin it at /sys/fs/bpf/tasks"));
    }
    if is_pattern(name) || pin.is_some_and(|pin| is_pattern(pin)) {
        return Err(Diagnostic::error("E0211", "iter probes take no wildcards")
            .with_primary(ap.span, "one iterator, named in full")
            .with_note("`ferrotrace -l 'iter:*'` lists the iterators"));
    }
    let btf = catalog.kernel_types().ok_or_else(|| needs_kernel_types(ap))?;
    let known = iterators(btf);
    if !known.iter().any(|known| known == name) {
        let diag = Diagnostic::error("E0212", format!("no iterator `{name}` in this kernel"))
            .with_primary(ap.span, format!("the kernel's types have no `struct {CONTEXT_PREFIX}{name}`"));
        return Err(match did_you_mean(&closest(name, known.iter().map(String::as_str))) {
            Some(help) => diag.with_help(help),
            None => diag.with_note("`ferrotrace -l 'iter:*'` lists the iterators"),
        });
    }
    let pin = pin.map(|pin| if pin.starts_with('/') { pin.clone() } else { format!("{BPFFS}/{pin}") });
    Ok(vec![ResolvedProbe::new(Attach::Iter { iterator: name.clone(), pin }, format!("iter:{name}"))])
}

/// The iterators the kernel's types describe, sorted: each has a context struct
/// `bpf_iter__NAME` and a function `bpf_iter_NAME` to load a program for.
pub(crate) fn iterators(btf: &Btf) -> Vec<String> {
    let mut names: Vec<String> = btf
        .names(Family::StructOrUnion)
        .into_iter()
        .filter_map(|name| name.strip_prefix(CONTEXT_PREFIX))
        // `bpf_iter__task___safe_trusted` and the like are the verifier's notes, not iterators.
        .filter(|name| !name.is_empty() && !name.contains("___"))
        .filter(|name| btf.find(&format!("{FUNCTION_PREFIX}{name}"), Family::Func).is_some())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The name of the struct `ctx` points to in iterator `name`'s programs.
pub(crate) fn context_struct(name: &str) -> String {
    format!("{CONTEXT_PREFIX}{name}")
}

/// The name of the function an iterator `name`'s program is loaded for.
pub fn function(name: &str) -> String {
    format!("{FUNCTION_PREFIX}{name}")
}

/// `-lv`'s lines under `iter:NAME`: the context's members after `meta`, as the iterator's
/// function declares them (`struct task_struct * task`).
fn arguments(catalog: &dyn Catalog, probe: &str) -> Vec<String> {
    let name = probe.rsplit(':').next().unwrap_or_default();
    let Some(btf) = catalog.kernel_types() else { return Vec::new() };
    match btf.function(&function(name)) {
        Some(signature) => signature.params.iter().skip(1).map(|param| format!("{} {}", btf.type_name(param.ty), param.name)).collect(),
        None => Vec::new(),
    }
}

/// E0213 for each probe that comes with an iterator probe: an iterator runs alone, with only
/// `begin` and `end` beside it. `probes` are every expanded probe's attach and span.
pub(crate) fn refuse_company<'a>(probes: impl Iterator<Item = (&'a Attach, Span)> + Clone) -> Vec<Diagnostic> {
    let Some((first, first_span)) = probes.clone().find(|(attach, _)| matches!(attach, Attach::Iter { .. })) else { return Vec::new() };
    let Attach::Iter { iterator, .. } = first else { return Vec::new() };
    let mut diags = Vec::new();
    for (attach, span) in probes {
        if std::ptr::eq(attach, first) {
            continue;
        }
        let company = match attach {
            Attach::Begin | Attach::End => continue,
            Attach::Iter { .. } => "another iterator probe",
            _ => "another probe",
        };
        let diag = Diagnostic::error("E0213", format!("an iterator probe runs alone, and this script has {company} beside `iter:{iterator}`"))
            .with_primary(span, company)
            .with_secondary(first_span, "the iterator probe")
            .with_note("ferrotrace runs an iterator once and ends; only `begin` and `end` probes may come with it")
            .with_help("put this probe in a script of its own");
        diags.push(diag);
    }
    diags
}
