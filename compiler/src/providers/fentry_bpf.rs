//! `fentry:bpf:[program:]function` and `fexit:bpf:...`: trampolines on a function of a loaded
//! BPF program (the program itself or one of its subprograms), as bpftrace attaches them. The
//! program is its id, `*`, or (ferrotrace's addition) its name, with wildcards; without it
//! every loaded program with a function of that name. Only programs loaded with BTF for their
//! functions (`func_info`) can be traced: the function's BTF id in the program's own BTF is what
//! the trampoline is loaded for. Probe names are `fentry:bpf:ID:function`.

use std::sync::Arc;

use super::btf_arguments::MAX_ARGUMENTS;
use super::{glob_match, is_pattern, ContextArgument, ResolvedProbe};
use crate::btf::{Btf, Signature};
use crate::catalog::{BpfProgram, Catalog, CatalogError};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::Attach;
use crate::sema::kernel_types::language_type;
use crate::syntax::ast::AttachPoint;
use crate::types::Ty;

/// The part that makes an fentry or fexit probe one on a BPF program.
pub(super) const BPF: &str = "bpf";

/// Whether `ap` is written `provider:bpf:...`.
pub(super) fn names_a_program(ap: &AttachPoint) -> bool {
    ap.parts.len() >= 2 && ap.parts[0] == BPF
}

/// The probes `fentry:bpf:[program:]function` (or fexit's) stands for, one per function of
/// each loaded program it matches.
pub(super) fn resolve(ap: &AttachPoint, catalog: &dyn Catalog, exit: bool) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let provider = if exit { "fexit" } else { "fentry" };
    let (program, function) = match &ap.parts[1..] {
        [function] => (None, function.as_str()),
        [program, function] => (Some(program.as_str()), function.as_str()),
        parts => {
            return Err(Diagnostic::error("E0250", format!("a {provider} probe on a BPF program is written `{provider}:bpf:function` or `{provider}:bpf:program:function`"))
                .with_primary(ap.span, format!("this has {} part(s) after `{provider}:bpf`", parts.len()))
                .with_help(format!("the program is its id, `*` or its name: `{provider}:bpf:123:*`; `ferrotrace -l '{provider}:bpf:*'` lists them")))
        }
    };
    let programs = catalog.bpf_programs().map_err(|error| {
        Diagnostic::error("E0254", format!("cannot list the loaded BPF programs: {error}"))
            .with_primary(ap.span, "needed to resolve this probe")
            .with_help("listing BPF programs (BPF_PROG_GET_NEXT_ID) needs CAP_SYS_ADMIN")
    })?;
    let chosen: Vec<&BpfProgram> = programs.iter().filter(|p| program.is_none_or(|written| program_matches(written, p))).collect();
    if let Some(written) = program.filter(|written| !is_pattern(written)) {
        if chosen.is_empty() {
            return Err(no_such_program(ap, provider, written, &programs));
        }
        if chosen.iter().all(|p| p.functions.is_empty()) {
            return Err(without_types(ap, provider, written));
        }
    }
    let mut probes = Vec::new();
    for candidate in &chosen {
        let names: Vec<&String> = candidate.functions.iter().filter(|name| glob_match(function, name)).collect();
        if names.is_empty() {
            continue;
        }
        let Some(btf) = catalog.bpf_program_types(candidate.id) else { continue };
        for name in names {
            let Some(signature) = btf.function(name) else { continue };
            if signature.params.len() > MAX_ARGUMENTS {
                continue;
            }
            let attach = Attach::Fentry { function: name.clone(), module: None, program: Some(candidate.id), exit };
            let mut probe = ResolvedProbe::new(attach, format!("{provider}:{BPF}:{}:{name}", candidate.id));
            probe.arguments = words(&btf, &signature, exit);
            probes.push(probe);
        }
    }
    if probes.is_empty() {
        let diag = Diagnostic::error("E0253", format!("no function of a loaded BPF program matches `{function}`"))
            .with_primary(ap.span, "no BPF function a trampoline can attach to");
        let known: Vec<&str> = chosen.iter().flat_map(|p| p.functions.iter().map(String::as_str)).collect();
        return Err(match did_you_mean(&closest(function, known.iter().copied())) {
            Some(help) if !is_pattern(function) => diag.with_help(help),
            _ => diag.with_note(format!("`ferrotrace -l '{provider}:bpf:*'` lists the functions of the loaded programs that have BTF")),
        });
    }
    Ok(probes)
}

/// Whether the written program (an id, or a name, with wildcards) is `program`.
fn program_matches(written: &str, program: &BpfProgram) -> bool {
    match written.parse::<u32>() {
        Ok(id) => id == program.id,
        Err(_) => glob_match(written, &program.name),
    }
}

/// E0251 for a program that is not loaded.
fn no_such_program(ap: &AttachPoint, provider: &str, written: &str, programs: &[BpfProgram]) -> Diagnostic {
    let what = match written.parse::<u32>() {
        Ok(id) => format!("with id {id}"),
        Err(_) => format!("named `{written}`"),
    };
    let diag = Diagnostic::error("E0251", format!("no loaded BPF program {what} to attach a {provider} probe to"))
        .with_primary(ap.span, "no such program is loaded");
    let names: Vec<&str> = programs.iter().filter(|p| !p.functions.is_empty()).map(|p| p.name.as_str()).collect();
    match did_you_mean(&closest(written, names.iter().copied())) {
        Some(help) if written.parse::<u32>().is_err() => diag.with_help(help),
        _ => diag.with_note(format!("`ferrotrace -l '{provider}:bpf:*'` lists the functions of the programs that can be traced")),
    }
}

/// E0252: a program loaded without BTF for its functions.
fn without_types(ap: &AttachPoint, provider: &str, written: &str) -> Diagnostic {
    Diagnostic::error("E0252", format!("BPF program `{written}` has no BTF for its functions: a {provider} probe cannot attach to it"))
        .with_primary(ap.span, "loaded without `func_info`")
        .with_help("only programs loaded with BTF describing their functions can be traced")
}

/// Each parameter of a BPF function as a typed word: integers keep their type; pointers and
/// everything else, whose types are the program's own BTF and not the kernel's, are `uint64`.
fn words(btf: &Btf, signature: &Signature<'_>, ret: bool) -> Vec<ContextArgument> {
    let typed = |ty| language_type(btf, ty, false).filter(|ty| matches!(ty, Ty::Int(_) | Ty::Bool)).unwrap_or(Ty::U64);
    let mut words: Vec<ContextArgument> = signature
        .params
        .iter()
        .enumerate()
        .map(|(i, param)| ContextArgument { name: if param.name.is_empty() { format!("arg{i}") } else { param.name.to_string() }, ty: typed(param.ty) })
        .collect();
    if ret {
        words.push(ContextArgument { name: "retval".to_string(), ty: typed(signature.ret) });
    }
    words
}

/// `fentry:bpf:ID:function` for every function of every loaded program with BTF.
pub(super) fn list(catalog: &dyn Catalog, provider: &str) -> Result<Vec<String>, CatalogError> {
    let programs = match catalog.bpf_programs() {
        Err(CatalogError::Unsupported(_)) => return Ok(Vec::new()),
        programs => programs?,
    };
    Ok(programs.iter().flat_map(|p| p.functions.iter().map(move |name| format!("{provider}:{BPF}:{}:{name}", p.id))).collect())
}

/// `-lv`'s lines for `fentry:bpf:ID:function`; `None` for another probe.
pub(super) fn arguments(catalog: &dyn Catalog, probe: &str, exit: bool) -> Option<Vec<String>> {
    let mut parts = probe.splitn(4, ':');
    let (_, bpf, id, function) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if bpf != BPF {
        return None;
    }
    let btf: Arc<Btf> = id.parse().ok().and_then(|id| catalog.bpf_program_types(id))?;
    let signature = btf.function(function)?;
    let mut lines: Vec<String> = signature.params.iter().map(|param| format!("{} {}", btf.type_name(param.ty), param.name)).collect();
    if exit {
        lines.push(format!("{} retval", btf.type_name(signature.ret)));
    }
    Some(lines)
}
