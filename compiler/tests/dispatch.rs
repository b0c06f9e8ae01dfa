//! Programs shared by many `syscalls:` tracepoints are served through `raw_syscalls` and find
//! the fired tracepoint by syscall number: which programs are dispatched, the map keys and
//! attachments the runtime gets, and the prologue's bytecode.

mod support;

use ferrotrace_compiler::bpf::disassemble;
use ferrotrace_compiler::catalog::{Catalog, CatalogError, CompatFlag, FieldKind, SyscallAbi, TracepointField, TracepointFormat};
use ferrotrace_compiler::driver::{compile, Compiled};
use ferrotrace_compiler::manifest::{Attach, MapRole, ProgramSpec, RawSyscallAttachment};
use ferrotrace_compiler::render::render;
use ferrotrace_compiler::syscalls::Arch;

/// A syscall tracepoint whose number the x86-64 table does not know (a vendor's patch).
const UNNUMBERED: &str = "vendor_call";

/// The offset of `thread_info.status` in `task_struct` on Linux 6.18 x86-64.
const COMPAT: CompatFlag = CompatFlag { offset: 16, mask: 2 };

/// The `FakeCatalog`, plus both tracepoints of every syscall the x86-64 table numbers (with a
/// plain `arg` or `ret`), one it does not, `raw_syscalls:sys_exit`, and maybe a syscall ABI.
struct SyscallCatalog {
    abi: Option<SyscallAbi>,
}

const WITH_ABI: SyscallCatalog = SyscallCatalog { abi: Some(SyscallAbi { arch: Arch::X86_64, compat: COMPAT }) };

fn field(name: &str, c_type: &str, offset: u32, size: u32, kind: FieldKind) -> TracepointField {
    TracepointField { name: name.into(), c_type: c_type.into(), offset, size, signed: true, kind }
}

impl Catalog for SyscallCatalog {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        let mut all: Vec<(String, String)> =
            support::FakeCatalog.tracepoints()?.into_iter().filter(|(category, _)| category != "syscalls").collect();
        for (name, _) in Arch::X86_64.syscalls() {
            all.push(("syscalls".into(), format!("sys_enter_{name}")));
            all.push(("syscalls".into(), format!("sys_exit_{name}")));
        }
        all.push(("syscalls".into(), format!("sys_enter_{UNNUMBERED}")));
        all.push(("raw_syscalls".into(), "sys_exit".into()));
        Ok(all)
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        let syscall_nr = field("__syscall_nr", "int", 8, 4, FieldKind::Int);
        let ret = field("ret", "long", 16, 8, FieldKind::Int);
        let (id, fields) = match (category, name) {
            ("raw_syscalls", "sys_enter") => (21, support::FakeCatalog.tracepoint_format(category, name)?.fields),
            ("raw_syscalls", "sys_exit") => (22, vec![field("id", "long", 8, 8, FieldKind::Int), ret]),
            ("syscalls", _) if let Ok(format) = support::FakeCatalog.tracepoint_format(category, name) => (1, format.fields),
            ("syscalls", exit) if exit.starts_with("sys_exit_") => (30, vec![syscall_nr, ret]),
            ("syscalls", _) => (31, vec![syscall_nr, field("arg", "unsigned long", 16, 8, FieldKind::Int)]),
            _ => return support::FakeCatalog.tracepoint_format(category, name),
        };
        Ok(TracepointFormat { id, fields })
    }

    fn syscall_abi(&self) -> Option<SyscallAbi> {
        self.abi
    }
}

fn compiled_with(catalog: &SyscallCatalog, source: &str) -> Compiled {
    compile(source, catalog).unwrap_or_else(|diagnostics| panic!("{}", render(&diagnostics, source, "script.bt", false)))
}

fn compiled(source: &str) -> Compiled {
    compiled_with(&WITH_ABI, source)
}

/// The one dispatched program.
fn dispatched(compiled: &Compiled) -> &ProgramSpec {
    let mut dispatched = compiled.manifest.programs.iter().filter(|p| p.dispatch.is_some());
    match (dispatched.next(), dispatched.next()) {
        (Some(spec), None) => spec,
        _ => panic!("not one dispatched program: {:?}", compiled.manifest.programs),
    }
}

/// Each target's probe name with its key in the dispatch map.
fn keyed_targets(compiled: &Compiled, spec: &ProgramSpec) -> Vec<(String, u32)> {
    let dispatch = spec.dispatch.as_ref().expect("a dispatched program");
    let names = spec.targets.iter().map(|target| compiled.manifest.probe_names[target.probe_id as usize].clone());
    names.zip(dispatch.keys.iter().copied()).collect()
}

fn attachment(name: &str, event_id: u32, key_base: u32) -> RawSyscallAttachment {
    RawSyscallAttachment { name: name.into(), event_id, key_base }
}

#[test]
fn a_wide_enter_wildcard_is_one_program_on_raw_syscalls_sys_enter() {
    let compiled = compiled("tracepoint:syscalls:sys_enter_* { @[probe] = count(); }");
    let spec = dispatched(&compiled);
    let dispatch = spec.dispatch.as_ref().expect("dispatched");
    assert_eq!(spec.targets.len(), Arch::X86_64.syscall_count());
    assert_eq!(dispatch.attachments, [attachment("sys_enter", 21, 0)]);
    let keyed = keyed_targets(&compiled, spec);
    assert!(keyed.contains(&("tracepoint:syscalls:sys_enter_getppid".into(), 110)), "{keyed:?}");
    assert!(keyed.contains(&("tracepoint:syscalls:sys_enter_openat".into(), 257)), "{keyed:?}");
    let map = &compiled.manifest.maps[dispatch.map.0 as usize];
    assert_eq!((map.role.clone(), map.def.max_entries, map.def.key_size, map.def.value_size), (MapRole::SyscallDispatch, 512, 4, 4));
}

#[test]
fn enter_and_exit_in_one_program_take_a_row_each_chosen_by_the_cookie() {
    let compiled = compiled("tracepoint:syscalls:sys_* { @[probe] = count(); }");
    let spec = dispatched(&compiled);
    let dispatch = spec.dispatch.as_ref().expect("dispatched");
    assert_eq!(dispatch.attachments, [attachment("sys_enter", 21, 0), attachment("sys_exit", 22, 512)]);
    let keyed = keyed_targets(&compiled, spec);
    assert!(keyed.contains(&("tracepoint:syscalls:sys_enter_close".into(), 3)), "{keyed:?}");
    assert!(keyed.contains(&("tracepoint:syscalls:sys_exit_close".into(), 512 + 3)), "{keyed:?}");
    assert!(keyed.contains(&("tracepoint:syscalls:sys_exit_openat".into(), 512 + 257)), "{keyed:?}");
    assert_eq!(compiled.manifest.maps[dispatch.map.0 as usize].def.max_entries, 1024);
}

#[test]
fn a_syscall_without_a_known_number_keeps_a_copy_attached_the_usual_way() {
    let compiled = compiled("tracepoint:syscalls:sys_enter_* { @[probe] = count(); }");
    let shapes: Vec<(bool, usize)> = compiled.manifest.programs.iter().map(|p| (p.dispatch.is_some(), p.targets.len())).collect();
    assert_eq!(shapes, [(false, 1), (true, Arch::X86_64.syscall_count())]);
    let unnumbered = format!("sys_enter_{UNNUMBERED}");
    assert!(matches!(&compiled.manifest.programs[0].targets[0].attach, Attach::Tracepoint { name, .. } if *name == unnumbered));
}

#[test]
fn a_direction_covering_under_half_the_syscalls_is_attached_one_by_one() {
    let narrow = compiled("tracepoint:syscalls:sys_exit_get* { @[probe] = count(); }");
    assert!(narrow.manifest.programs.iter().all(|p| p.dispatch.is_none()));
    let mixed = compiled("tracepoint:syscalls:sys_enter_*, tracepoint:syscalls:sys_exit_get* { @[probe] = count(); }");
    let spec = dispatched(&mixed);
    assert_eq!(spec.dispatch.as_ref().map(|d| d.attachments.clone()), Some(vec![attachment("sys_enter", 21, 0)]));
    let direct: Vec<&str> = mixed.manifest.programs.iter().filter(|p| p.dispatch.is_none()).flat_map(|p| &p.targets).map(|t| match &t.attach {
        Attach::Tracepoint { name, .. } => name.as_str(),
        _ => "",
    }).collect();
    assert!(direct.iter().all(|name| name.starts_with("sys_exit_get") || name.ends_with(UNNUMBERED)), "{direct:?}");
    assert!(direct.contains(&"sys_exit_getpid"), "{direct:?}");
}

#[test]
fn without_a_known_abi_every_tracepoint_is_attached_one_by_one() {
    let unknown_abi = compiled_with(&SyscallCatalog { abi: None }, "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }");
    assert!(unknown_abi.manifest.programs.iter().all(|p| p.dispatch.is_none()));
    assert_eq!(unknown_abi.manifest.programs[0].targets.len(), Arch::X86_64.syscall_count() + 1);
}

#[test]
fn prologue_bytecode() {
    for (name, source) in [
        ("dispatch_enter_bpf", "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }"),
        ("dispatch_enter_and_exit_bpf", "tracepoint:syscalls:sys_* /pid == 1/ { printf(\"%s\\n\", probe); }"),
    ] {
        let compiled = compiled(source);
        let mut shown = String::new();
        for (spec, program) in compiled.manifest.programs.iter().zip(&compiled.programs) {
            shown.push_str(&format!("== {} ({} slots)\n", spec.probe_name, program.insns.len()));
            let map_name = |id: ferrotrace_compiler::manifest::MapId| compiled.manifest.maps[id.0 as usize].symbol.clone();
            shown.push_str(&disassemble(program, &map_name, Some(source)));
        }
        insta::assert_snapshot!(name, format!("{source}\n---\n{shown}"));
    }
}

#[test]
fn hir_says_where_a_dispatched_program_runs() {
    let wide = compiled("tracepoint:syscalls:sys_* { @[probe] = count(); }");
    let hir = ferrotrace_compiler::sema::print::print_hir(wide.hir.as_ref().expect("compile keeps every stage"));
    assert!(hir.contains("  dispatched by syscall number from raw_syscalls:sys_enter, raw_syscalls:sys_exit\n"), "{hir}");
    let narrow = compiled("tracepoint:syscalls:sys_exit_get* { @[probe] = count(); }");
    assert!(!ferrotrace_compiler::sema::print::print_hir(narrow.hir.as_ref().expect("compile keeps every stage")).contains("dispatched"));
}
