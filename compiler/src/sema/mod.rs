//! Semantic analysis: resolves probes, names and types, turning the AST into checked HIR.
//!
//! Checking records every error and carries on with `Ty::Error` in place of the bad type, so
//! one run reports all problems. The script is checked again until the map types settle (a map
//! may be read in one probe and assigned in a later one); the first check that saw only final
//! map types is the result. Each probe is checked against its final local variable types.

pub(crate) mod calls;
mod c_layout;
mod c_types;
mod comptime;
mod declarations;
mod defines;
mod dispatch;
mod expr;
mod fold;
pub(crate) use fold::constant as fold_constant;
pub mod hir;
mod locals;
mod macros;
mod params;
mod pointers;
pub(crate) mod kernel_types;
pub mod print;
mod settings;
mod stmt;
mod tables;
mod unify;
mod user_parameters;
mod watchpoints;
mod written_types;

pub use expr::COMM_SIZE;
pub(crate) use expr::operand_error;
pub use params::{load_param_value, script_options, ScriptOption};
pub use unify::storage;

use std::collections::HashMap;
use std::sync::Arc;

use crate::btf::Btf;
use crate::catalog::{Catalog, CgroupIds, HelperBehaviour, KernelSymbols, KernelMember, MemberOffsets, TracepointFormat, PidNamespace};
use crate::diagnostic::Diagnostic;
use crate::manifest::{Attach, MapValue, Target};
use crate::config::{Config, MissingProbes};
use crate::syntax::preprocess::Define;
use crate::options::{CompileOptions, Params};
use crate::span::Span;
use crate::syntax::ast;
use crate::types::Ty;
use hir::MapDecl;
use crate::providers::{self, ResolvedProbe};
pub(crate) use locals::Locals;
pub(crate) use tables::MapTable;

/// Checks `program` against the kernel facts in `catalog`, with no parameters.
///
/// Returns the HIR and any warnings, or every diagnostic when there is an error.
pub fn check(program: &ast::Program, catalog: &dyn Catalog) -> Result<(hir::Program, Vec<Diagnostic>), Vec<Diagnostic>> {
    check_with(program, catalog, &CompileOptions::default())
}

/// Checks `program` against the kernel facts in `catalog` and the script's `options`.
pub fn check_with(
    program: &ast::Program,
    catalog: &dyn Catalog,
    options: &CompileOptions,
) -> Result<(hir::Program, Vec<Diagnostic>), Vec<Diagnostic>> {
    let program = &*macros::expand(program)?;
    let mut diags = program.warnings.clone();
    let config = settings::resolve(&program.config, &options.env, &mut diags);
    let filter = probe_filter(options.probe_filter.as_deref())?;
    // The script's types are read only for a script with C definitions of its own.
    let kernel = if program.c_definitions.is_empty() { None } else { catalog.kernel_types() };
    let script_types = c_types::build(&program.c_definitions, kernel, &mut diags).map(Arc::new);
    let mut expanded = expand_probes(program, catalog, script_types, options, config.missing_probes, filter.as_ref(), &mut diags);
    if let Some(imports_start) = options.imports_start {
        // Imported files' `begin` and `end` probes first; the sort is stable.
        expanded.sort_by_key(|probe| matches!(probe.resolved.attach, Attach::Begin | Attach::End) && probe.span.start < imports_start);
    }
    diags.extend(providers::refuse_iterator_company(expanded.iter().map(|probe| (&probe.resolved.attach, probe.span))));
    let (checked, mut checker) = check_probes(&expanded, options, &config, &program.defines);
    let helpers = if checker.reads_comm { catalog.helper_behaviour() } else { HelperBehaviour::default() };
    let pid_namespace = if checker.reads_namespaced_ids { catalog.pid_namespace() } else { None };
    let members = resolve_members(&checker.kernel_members, catalog, &mut diags);
    let cgroup_ids = resolve_cgroup_ids(&checker.cgroup_paths, catalog, &mut diags);
    let kernel_symbols = resolve_kernel_symbols(&checker.kernel_symbol_names, catalog, &mut diags);
    let probe_names = expanded.iter().map(|probe| probe.resolved.name.clone()).collect();
    let mut probes = dispatch::plan(share_programs(checked, &expanded), catalog);
    probes.extend(watchpoints::setup_probes(&expanded));
    diags.append(&mut checker.diags);
    let helper_errors = options.helper_errors;
    let options = std::mem::take(&mut checker.script_options);
    let params = std::mem::take(&mut checker.load_params);
    let mut kernel_facts = std::mem::take(&mut checker.kernel_facts);
    record_catalog_facts(&mut kernel_facts, &checker, &members, &cgroup_ids, &kernel_symbols, helpers, pid_namespace);
    for probe in &expanded {
        if !probe.resolved.arguments.is_empty() {
            let types = probe.resolved.arguments.iter().map(|argument| format!("{} {}", argument.ty, argument.name)).collect();
            kernel_facts.record(crate::kernel_facts::KernelFact::Arguments { probe: probe.resolved.name.clone(), types });
        }
    }
    let mut maps = checker.finish_maps(&mut diags);
    declarations::apply(&program.map_decls, &mut maps, &mut diags);
    dedup(&mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    if probes.len() > config.max_bpf_progs as usize {
        diags.push(settings::too_many_programs(probes.len(), &config, program));
        return Err(diags);
    }
    Ok((
        hir::Program { probes, maps, probe_names, helpers, pid_namespace, members, cgroup_ids, kernel_symbols, helper_errors, options, params, config, kernel_facts },
        diags,
    ))
}

/// The offsets of the kernel struct members the probes read, from the catalog; an error at the
/// first use of each one the kernel does not describe.
fn resolve_members(needed: &[(KernelMember, Span)], catalog: &dyn Catalog, diags: &mut Vec<Diagnostic>) -> MemberOffsets {
    let mut offsets = MemberOffsets::default();
    for &(member, span) in needed {
        match catalog.member_offset(member.strukt, member.member) {
            Some(offset) => offsets.insert(member, offset, struct_id(catalog, member, offset)),
            None => diags.push(
                Diagnostic::error("E0465", format!("the kernel's BTF does not describe `{member}`"))
                    .with_primary(span, "needs it")
                    .with_note("ferrotrace reads kernel structs with the offsets in /sys/kernel/btf/vmlinux, and this kernel has no such member (or no BTF)"),
            ),
        }
    }
    offsets
}

/// The id of `member`'s struct in the kernel's BTF, when the BTF puts the member at `offset`.
fn struct_id(catalog: &dyn Catalog, member: KernelMember, offset: u32) -> Option<u32> {
    let btf = catalog.kernel_types()?;
    let id = btf.find(member.strukt, crate::btf::Family::StructOrUnion)?;
    let found = btf.member(id, member.member)?;
    (found.bitfield_size.is_none() && found.byte_offset() == Some(offset)).then_some(id.0)
}

/// Records the facts the catalog gave beyond BTF: member offsets builtins read, cgroup ids,
/// kernel symbol addresses, the PID namespace and how `comm` is padded, where a program uses
/// them.
fn record_catalog_facts(
    facts: &mut crate::kernel_facts::KernelFacts,
    checker: &Checker,
    members: &MemberOffsets,
    cgroup_ids: &CgroupIds,
    kernel_symbols: &KernelSymbols,
    helpers: HelperBehaviour,
    pid_namespace: Option<PidNamespace>,
) {
    use crate::kernel_facts::KernelFact;
    for (member, _) in &checker.kernel_members {
        if let Some(offset) = members.get(*member) {
            facts.record(KernelFact::Offset { strukt: member.strukt.to_string(), member: member.member.to_string(), offset });
            if members.access(*member).is_none() {
                facts.fix(member.strukt, member.member);
            }
        }
    }
    for (path, _) in &checker.cgroup_paths {
        if let Some(id) = cgroup_ids.get(path) {
            facts.record(KernelFact::Cgroup { path: path.clone(), id });
        }
    }
    for (name, _) in &checker.kernel_symbol_names {
        if let Some(address) = kernel_symbols.get(name) {
            facts.record(KernelFact::Symbol { name: name.clone(), address });
        }
    }
    if let Some(namespace) = pid_namespace {
        facts.record(KernelFact::PidNamespace { dev: namespace.dev, ino: namespace.ino });
    }
    if checker.reads_comm {
        facts.record(KernelFact::CommZeroPadded(helpers.comm_zero_padded));
    }
}

/// The id of each cgroup path `cgroupid` names; E0524 for one the catalog cannot read.
fn resolve_cgroup_ids(needed: &[(String, Span)], catalog: &dyn Catalog, diags: &mut Vec<Diagnostic>) -> CgroupIds {
    let mut ids = CgroupIds::default();
    for (path, span) in needed {
        match catalog.cgroup_id(path) {
            Ok(id) => ids.insert(path.clone(), id),
            Err(why) => diags.push(
                Diagnostic::error("E0524", format!("cannot read the id of cgroup `{path}`"))
                    .with_primary(*span, "no cgroup id")
                    .with_note(why)
                    .with_help("name a directory of the cgroup v2 hierarchy, such as `/sys/fs/cgroup/system.slice`"),
            ),
        }
    }
    ids
}

/// The address of each kernel symbol `kaddr` names; E0534 for one the kernel does not have.
fn resolve_kernel_symbols(needed: &[(String, Span)], catalog: &dyn Catalog, diags: &mut Vec<Diagnostic>) -> KernelSymbols {
    let mut addresses = KernelSymbols::default();
    for (name, span) in needed {
        match catalog.kernel_symbol(name) {
            Ok(address) => addresses.insert(name.clone(), address),
            Err(why) => diags.push(
                Diagnostic::error("E0534", format!("no kernel symbol `{name}`"))
                    .with_primary(*span, "not in /proc/kallsyms")
                    .with_note(why),
            ),
        }
    }
    addresses
}

/// The checked probes, with tracepoints that can share a program folded together.
fn share_programs(checked: Vec<hir::Probe>, expanded: &[ExpandedProbe<'_>]) -> Vec<hir::Probe> {
    let mut shared = SharedPrograms::default();
    let mut probes = Vec::with_capacity(checked.len());
    for (probe, expanded) in checked.into_iter().zip(expanded) {
        shared.add(&mut probes, probe, expanded);
    }
    probes
}

/// Folds tracepoints (or kprobes, or kretprobes) of one probe block into one program when their
/// checked predicate, body and variables are identical: a wildcard over 360 syscalls whose body
/// reads no differing `args` field loads and verifies one program, attached 360 times. Its
/// `probe` builtin reads the attachment's BPF cookie (the probe id) to tell which one fired.
#[derive(Default)]
struct SharedPrograms {
    /// For each probe block (by address) and kind of attachment, its shareable programs so far.
    /// Programs are shared only between probes of one provider (one program type, attached
    /// the same way), which its name keys.
    by_block: HashMap<(*const ast::Probe, &'static str), Vec<Shareable>>,
}

/// A tracepoint program later tracepoints of its block may join.
struct Shareable {
    /// Index into the probe list.
    index: usize,
    /// The attach points, as written, whose tracepoints it serves.
    written: Vec<String>,
}

impl SharedPrograms {
    fn add(&mut self, probes: &mut Vec<hir::Probe>, checked: hir::Probe, expanded: &ExpandedProbe<'_>) {
        let provider = expanded.resolved.attach.provider();
        if !provider.shares_programs {
            probes.push(checked);
            return;
        }
        let block: *const ast::Probe = expanded.block;
        let candidates = self.by_block.entry((block, provider.name)).or_default();
        match candidates.iter_mut().find(|candidate| same_program(&probes[candidate.index], &checked)) {
            Some(shared) => {
                if !shared.written.contains(&expanded.written) {
                    shared.written.push(expanded.written.clone());
                }
                let program = &mut probes[shared.index];
                // A function or tracepoint two attach points name (`kprobe:vfs_read, kprobe:vfs_*`)
                // is attached once, with the first probe id: a kprobe_multi link refuses a
                // repeated symbol, and two perf events would count every call twice.
                for target in checked.targets {
                    if !program.targets.iter().any(|known| known.attach == target.attach) {
                        program.targets.push(target);
                    }
                }
                program.name = shared.written.join(", ");
                program.attach_points = shared.written.len() as u32;
            }
            None => {
                candidates.push(Shareable { index: probes.len(), written: vec![expanded.written.clone()] });
                probes.push(checked);
            }
        }
    }
}

/// Whether two checked tracepoint probes compile to the same program.
fn same_program(a: &hir::Probe, b: &hir::Probe) -> bool {
    a.predicate == b.predicate && a.body == b.body && a.locals == b.locals && a.user_pointers == b.user_pointers
}

/// A probe block's body paired with one concrete probe it attaches to.
struct ExpandedProbe<'a> {
    block: &'a ast::Probe,
    resolved: ResolvedProbe,
    span: Span,
    /// The attach point as written, e.g. `tracepoint:syscalls:sys_enter_*`.
    written: String,
    /// Where the kernel's types come from.
    catalog: &'a dyn Catalog,
    /// The script's C definitions layered over the kernel's types (and the probe's module's),
    /// when it has any.
    script_types: Option<Arc<Btf>>,
}

/// The script's C definitions laid over a module's types (`module`), built once per module
/// (`built` keeps them). Their errors were reported when they were laid over the kernel's.
fn module_script_types(program: &ast::Program, module: &Arc<Btf>, built: &mut Vec<(Arc<Btf>, Option<Arc<Btf>>)>) -> Option<Arc<Btf>> {
    if let Some((_, types)) = built.iter().find(|(base, _)| Arc::ptr_eq(base, module)) {
        return types.clone();
    }
    let types = c_types::build(&program.c_definitions, Some(module), &mut Vec::new()).map(Arc::new);
    built.push((module.clone(), types.clone()));
    types
}

fn expand_probes<'a>(
    program: &'a ast::Program,
    catalog: &'a dyn Catalog,
    script_types: Option<Arc<Btf>>,
    options: &CompileOptions,
    missing: MissingProbes,
    filter: Option<&regex::Regex>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ExpandedProbe<'a>> {
    let (params, mode) = (&options.params, options.mode);
    let child = options.child_pid.zip(options.child_program.as_deref());
    let kernel_scope = providers::Scope { catalog, target_pid: options.target_pid, child, reads_parameters: false };
    let selected = |r: &ResolvedProbe| {
        mode.runs(&r.attach) && (matches!(r.attach, Attach::Begin | Attach::End) || filter.is_none_or(|f| f.is_match(&r.name)))
    };
    let mut out = Vec::new();
    let mut over_modules = Vec::new();
    for block in &program.probes {
        // A uprobe reads its binary's debug info only when its block names the parameters.
        let scope = providers::Scope { reads_parameters: macros::mentions_any(block, &["args", "retval"]), ..kernel_scope };
        for written in &block.attach_points {
            // `interval:s:$1`: positional parameters are text in attach points.
            let substituted = written.raw.contains('$').then(|| substitute_params(written, params));
            let ap = substituted.as_ref().unwrap_or(written);
            match providers::resolve(ap, &scope) {
                Ok(resolved) => out.extend(resolved.into_iter().filter(selected).map(|resolved| {
                    let script_types = match &resolved.module_types {
                        Some(module) if script_types.is_some() => module_script_types(program, module, &mut over_modules),
                        _ => script_types.clone(),
                    };
                    ExpandedProbe { block, resolved, span: ap.span, written: ap.raw.clone(), catalog, script_types }
                })),
                Err(diag) => diags.extend(settings::missing_probe(diag, missing)),
            }
        }
    }
    // begin probes run in script order, then end probes; the order of others does not matter,
    // but keep script order for readable output.
    out
}

/// The `--probe-filter` expression compiled; E0526 when it is not a regular expression.
fn probe_filter(pattern: Option<&str>) -> Result<Option<regex::Regex>, Vec<Diagnostic>> {
    let Some(pattern) = pattern else { return Ok(None) };
    regex::Regex::new(pattern).map(Some).map_err(|error| {
        vec![Diagnostic::error("E0526", format!("`--probe-filter {pattern}` is not a regular expression"))
            .with_note(error.to_string())
            .with_help("probes are named as `-l` lists them: `--probe-filter 'sys_enter_(open|close)'`")]
    })
}

/// The attach point with its `$N` and `$#` replaced by the parameters' text.
fn substitute_params(ap: &ast::AttachPoint, params: &Params) -> ast::AttachPoint {
    let raw = params.substitute(&ap.raw);
    let (provider, parts) = ast::split_attach_point(&raw);
    ast::AttachPoint { provider, parts, raw, span: ap.span }
}

/// How many times `check_probes` walks the script to settle the map types before it reports
/// against whatever they are then.
const MAX_SWEEPS: usize = 4;

/// Checks every probe, walking the script until the map types settle: a map may be read in one
/// probe and assigned in a later one. A walk that consulted each map's types only after their
/// last change saw the final types, so its HIR and diagnostics are the result; the earlier
/// walks' are dropped.
fn check_probes(expanded: &[ExpandedProbe<'_>], options: &CompileOptions, config: &Config, defines: &[Define]) -> (Vec<hir::Probe>, Checker) {
    let mut checker = Checker {
        maps: MapTable::default(),
        diags: Vec::new(),
        quiet: false,
        held_back: 0,
        reads_comm: false,
        reads_namespaced_ids: false,
        params: options.params.clone(),
        params_at_load: options.params_at_load,
        load_params: Vec::new(),
        script_options: Vec::new(),
        config: config.clone(),
        defines: defines.to_vec(),
        expanding: Vec::new(),
        unsafe_functions: options.unsafe_functions,
        child_pid: options.child_pid,
        target_pid: options.target_pid,
        kernel_members: Vec::new(),
        kernel_facts: Default::default(),
        cgroup_paths: Vec::new(),
        kernel_symbol_names: Vec::new(),
    };
    for _ in 0..MAX_SWEEPS {
        checker.maps.begin_walk();
        let probes = checker.sweep(expanded);
        if checker.maps.settled() && !checker.maps.default_self_assigned() {
            checker.report_map_sign_mismatches();
            return (probes, checker);
        }
    }
    let probes = checker.sweep(expanded);
    checker.report_map_sign_mismatches();
    (probes, checker)
}

/// W0409: `name`, a variable or a map, holds a `uint64` and a signed value, so it becomes an
/// `int64` in which large unsigned values turn negative.
fn sign_mismatch(name: &str, span: Span, earlier: Span, before: &Ty, after: &Ty) -> Diagnostic {
    Diagnostic::warning("W0409", format!("`{name}` holds `{before}` and then `{after}`: it becomes an `int64`"))
        .with_primary(span, format!("this is `{after}`"))
        .with_secondary(earlier, format!("here it is `{before}`"))
        .with_help("cast one of them so that both have the same sign")
}

fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = Vec::new();
    diags.retain(|d| {
        let key = (d.code, d.message.clone(), d.primary_span());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
}

/// The state of checking: maps across the script, diagnostics, and whether to report them.
pub(crate) struct Checker {
    maps: MapTable,
    diags: Vec<Diagnostic>,
    /// While settling a probe's local types, errors are not reported (checking the probe with
    /// those types reports them), only counted in `held_back`.
    quiet: bool,
    held_back: usize,
    /// Some probe reads `comm`, whose lowering depends on how the kernel pads it.
    reads_comm: bool,
    /// Some probe reads `pid` or `tid` as seen from ferrotrace's PID namespace.
    reads_namespaced_ids: bool,
    /// The script's command-line parameters.
    params: Params,
    /// The named parameters `getopt` declares, in order of first use.
    script_options: Vec<params::ScriptOption>,
    /// `getopt`'s integers and booleans are read from the config map (`CompileOptions::params_at_load`).
    params_at_load: bool,
    /// Those read so, in the order of their config words.
    load_params: Vec<crate::manifest::LoadParam>,
    /// The script's configuration, the environment applied.
    config: Config,
    /// The script's `#define`s (a few; a scan beats hashing every identifier).
    defines: Vec<Define>,
    /// The `#define`s being expanded, innermost last, to stop a name that expands to itself.
    expanding: Vec<String>,
    /// `--unsafe` was given.
    unsafe_functions: bool,
    /// The process `-c` started, paused until the probes are attached.
    child_pid: Option<u32>,
    /// `-p PID`: event probes run only in this process.
    target_pid: Option<u32>,
    /// The kernel struct members the probes read, each with the first place that needs it.
    kernel_members: Vec<(KernelMember, Span)>,
    /// What the probes take for granted about the kernel's types, as they are checked.
    pub(crate) kernel_facts: crate::kernel_facts::KernelFacts,
    /// The cgroup paths `cgroupid` names, and where; their ids are read after checking.
    cgroup_paths: Vec<(String, Span)>,
    /// The kernel symbols `kaddr` names, with the first place each is named.
    kernel_symbol_names: Vec<(String, Span)>,
}

/// What the checker knows about the probe being checked.
pub(crate) struct ProbeCx<'a> {
    /// The expanded probe's name, e.g. `tracepoint:syscalls:sys_enter_openat`.
    pub name: &'a str,
    /// Where it attaches.
    pub attach: &'a Attach,
    pub format: Option<&'a TracepointFormat>,
    pub user_pointers: bool,
    pub locals: Locals,
    /// How many `for` and `while` loops enclose the statement being checked.
    pub loop_depth: u32,
    /// The kernel facts, its types among them.
    pub catalog: &'a dyn Catalog,
    /// The typed words of a context that is an array of arguments (raw tracepoints, fentry).
    pub arguments: &'a [crate::providers::ContextArgument],
    /// The script's own C types layered over the kernel's, when it defines any.
    pub script_types: Option<&'a Btf>,
    /// For a probe in a kernel module, the module's types over the kernel's; for a uprobe whose
    /// parameters were read, its function's types from the binary's debug info.
    pub module_types: Option<&'a Btf>,
    /// A uprobe's parameters, when its block names them.
    pub parameters: &'a crate::providers::UserParameters,
}

impl<'a> ProbeCx<'a> {
    /// The types a script names: its own C definitions over the kernel's (and, in a module's
    /// probe, the module's), or those alone (the kernel's read on first use) when it defines
    /// none.
    pub fn kernel_types(&self) -> Option<&'a Btf> {
        self.script_types.or(self.module_types).or_else(|| self.catalog.kernel_types().map(|btf| &**btf))
    }
}

impl Checker {
    pub(crate) fn report(&mut self, diag: Diagnostic) {
        match self.quiet {
            true => self.held_back += 1,
            false => self.diags.push(diag),
        }
    }

    /// Checks every probe once, keeping only this walk's diagnostics.
    /// The script's maps, for library functions that follow what a map holds.
    pub(crate) fn maps_mut(&mut self) -> &mut MapTable {
        &mut self.maps
    }

    /// Warns about each map given both a `uint64` and a signed value, as bpftrace does.
    fn report_map_sign_mismatches(&mut self) {
        let mismatches: Vec<_> = self
            .maps
            .entries
            .iter()
            .filter_map(|entry| {
                let first_value = entry.value.as_ref().map_or(entry.first_use, |(_, span)| *span);
                entry.sign_mismatch.clone().map(|m| (entry.name.clone(), first_value, m))
            })
            .collect();
        for (name, first_use, (span, before, after)) in mismatches {
            self.report(sign_mismatch(&name, span, first_use, &before, &after));
        }
    }

    fn sweep(&mut self, expanded: &[ExpandedProbe<'_>]) -> Vec<hir::Probe> {
        self.diags.clear();
        self.script_options.clear();
        self.load_params.clear();
        let mut probes = Vec::with_capacity(expanded.len());
        for (probe_id, probe) in expanded.iter().enumerate() {
            probes.push(self.check_probe(probe, probe_id as u32));
        }
        probes
    }

    /// Checks a probe against its variables' final types. A quiet walk learns them first. When
    /// that walk found nothing to report and every variable and map it read already had its
    /// final type, walking again knowing them would give the same HIR and change nothing, so the
    /// first walk is the result.
    fn check_probe(&mut self, probe: &ExpandedProbe<'_>, probe_id: u32) -> hir::Probe {
        let quiet = std::mem::replace(&mut self.quiet, true);
        let held_back = self.held_back;
        self.maps.begin_probe();
        let mut cx = self.probe_cx(probe, Locals::default());
        let (predicate, body) = self.check_body(probe.block, &mut cx);
        self.quiet = quiet;
        if self.held_back == held_back && cx.locals.settled() && !self.maps.changed_after_consulted() {
            return self.finish_probe(probe, cx, predicate, body, probe_id);
        }
        let mut cx = self.probe_cx(probe, cx.locals);
        let (predicate, body) = self.check_body(probe.block, &mut cx);
        self.finish_probe(probe, cx, predicate, body, probe_id)
    }

    fn probe_cx<'a>(&self, probe: &'a ExpandedProbe<'_>, mut locals: Locals) -> ProbeCx<'a> {
        locals.restart();
        let syscall = matches!(&probe.resolved.attach, Attach::Tracepoint { category, .. } if category == "syscalls");
        let user_pointers = syscall || probe.resolved.attach.provider().user_pointers;
        ProbeCx {
            name: &probe.resolved.name,
            attach: &probe.resolved.attach,
            format: probe.resolved.format.as_ref(),
            user_pointers,
            locals,
            loop_depth: 0,
            catalog: probe.catalog,
            arguments: &probe.resolved.arguments,
            script_types: probe.script_types.as_deref(),
            module_types: probe.resolved.module_types.as_deref(),
            parameters: &probe.resolved.parameters,
        }
    }

    fn check_body(&mut self, block: &ast::Probe, cx: &mut ProbeCx<'_>) -> (Option<hir::Expr>, Vec<hir::Stmt>) {
        // The predicate runs before the body: no variable has a value yet.
        let body_locals = std::mem::take(&mut cx.locals);
        let predicate = block.predicate.as_ref().map(|p| {
            let e = self.expr(p, cx);
            self.expect_condition(&e);
            e
        });
        cx.locals = body_locals;
        let body = self.block(&block.body, cx);
        (predicate, body)
    }

    /// The HIR probe from a checked body; warns about a predicate on `begin`/`end`.
    fn finish_probe(
        &mut self,
        probe: &ExpandedProbe<'_>,
        cx: ProbeCx<'_>,
        predicate: Option<hir::Expr>,
        body: Vec<hir::Stmt>,
        probe_id: u32,
    ) -> hir::Probe {
        for var in &cx.locals.vars {
            if let Some((span, before, after)) = &var.sign_mismatch {
                self.report(sign_mismatch(&format!("${}", var.name), *span, var.span, before, after));
            }
        }
        if matches!(probe.resolved.attach, Attach::Begin | Attach::End) && predicate.is_some() {
            let span = probe.block.predicate.as_ref().map_or(probe.span, |p| p.span);
            self.report(Diagnostic::warning("W0201", "a predicate on `begin`/`end` is checked once, when the probe runs")
                .with_primary(span, "checked once"));
        }
        let predicate = self.only_the_target_process(&probe.resolved.attach, probe.span, predicate);
        hir::Probe {
            targets: vec![Target { attach: probe.resolved.attach.clone(), probe_id }],
            name: probe.resolved.name.clone(),
            attach_points: 1,
            span: probe.span,
            predicate,
            body,
            locals: cx.locals.vars.iter().map(|v| hir::Local { name: v.name.clone(), ty: v.ty.clone().unwrap_or(Ty::I64) }).collect(),
            user_pointers: cx.user_pointers,
            dispatch: None,
        }
    }

    /// With `-p PID`, a probe that fires for events (not `begin`, `end`, `test:`, `bench:`)
    /// runs only in that process: `pid == PID` before its own predicate. Not an iterator,
    /// which runs in ferrotrace's own task (bpftrace does not filter it either). A uprobe or
    /// USDT probe attached in one process (`-c`'s command too) checks it as well: the kernel's
    /// own filter lets a uretprobe fire in other processes on some kernels (Debian's 6.1 and
    /// 6.12 in the kernel matrix).
    fn only_the_target_process(&mut self, attach: &Attach, span: Span, predicate: Option<hir::Expr>) -> Option<hir::Expr> {
        let filtered = !attach.runs_once() && !matches!(attach, Attach::Iter { .. });
        let Some(target) = self.target_pid.filter(|_| filtered).or(attach.user_process()) else { return predicate };
        self.note_namespaced_id_read();
        let pid = hir::Expr::new(hir::ExprKind::Builtin(hir::Builtin::Pid), Ty::Int(crate::types::IntTy::U32), span);
        let target = hir::Expr::new(hir::ExprKind::Int(u64::from(target)), Ty::Int(crate::types::IntTy::U32), span);
        let filter = hir::Expr::new(hir::ExprKind::Binary { op: crate::syntax::ast::BinOp::Eq, lhs: Box::new(pid), rhs: Box::new(target), signed: false }, Ty::Bool, span);
        Some(match predicate {
            Some(own) => hir::Expr::new(hir::ExprKind::Logical { and: true, lhs: Box::new(filter), rhs: Box::new(own) }, Ty::Bool, span),
            None => filter,
        })
    }

    /// The final map declarations; a map that is read but never stored to is an error.
    fn finish_maps(self, diags: &mut Vec<Diagnostic>) -> Vec<MapDecl> {
        self.maps
            .entries
            .into_iter()
            .map(|entry| {
                let value = match entry.value {
                    Some((value, _)) => value,
                    None => {
                        diags.push(
                            Diagnostic::error("E0301", format!("map `{}` is used but never assigned", entry.name))
                                .with_primary(entry.first_use, "no probe stores a value in this map")
                                .with_help(format!("assign it somewhere, e.g. `{} = count()`", entry.name)),
                        );
                        MapValue::Plain(Ty::Error)
                    }
                };
                let key = entry.key.map(|k| k.0).unwrap_or_default();
                MapDecl { name: entry.name, key, value, span: entry.first_use, declared: None }
            })
            .collect()
    }
}
