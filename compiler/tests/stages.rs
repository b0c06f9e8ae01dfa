//! Snapshot tests of each compiler stage for small scripts: the checked HIR, the LIR before and
//! after register allocation, and the disassembled bytecode. Each snapshot starts with the script.

mod support;

use ferrotrace_compiler::bpf::disassemble;
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::driver::{compile, Compiled};
use ferrotrace_compiler::lir::print::print_function;
use ferrotrace_compiler::manifest::{MapId, MapRole};
use ferrotrace_compiler::render::render;
use ferrotrace_compiler::sema::print::print_hir;

fn compiled(source: &str) -> Compiled {
    compiled_for(source, &support::FakeCatalog)
}

fn compiled_for(source: &str, catalog: &dyn Catalog) -> Compiled {
    match compile(source, catalog) {
        Ok(compiled) => compiled,
        Err(diagnostics) => panic!("{}", render(&diagnostics, source, "script.bt", false)),
    }
}

/// A map as `-d bpf` names it: `@name` for script maps, the symbol for internal ones.
fn map_name(compiled: &Compiled, id: MapId) -> String {
    match compiled.manifest.maps.get(id.0 as usize).map(|spec| (&spec.role, &spec.symbol)) {
        Some((MapRole::User(user), _)) => user.name.clone(),
        Some((_, symbol)) => symbol.clone(),
        None => format!("map#{}", id.0),
    }
}

fn disassembly(compiled: &Compiled, source: &str) -> String {
    let mut out = String::new();
    for (spec, program) in compiled.manifest.programs.iter().zip(&compiled.programs) {
        out.push_str(&format!("== {} ({} slots)\n", spec.probe_name, program.insns.len()));
        out.push_str(&disassemble(program, &|id| map_name(compiled, id), Some(source)));
    }
    out
}

/// Defines a test snapshotting `$show(&compiled, source)` under the test's name.
macro_rules! stage_test {
    ($name:ident, $source:expr, $show:expr) => {
        #[test]
        fn $name() {
            let source: &str = $source;
            let compiled = compiled(source);
            let shown: String = $show(&compiled, source);
            insta::assert_snapshot!(stringify!($name), format!("{source}\n---\n{shown}"));
        }
    };
}

/// `hir!(name, source)`: the checked program, every expression with its type.
macro_rules! hir {
    ($name:ident, $source:expr) => {
        stage_test!($name, $source, |c: &Compiled, _: &str| print_hir(c.hir.as_ref().expect("compile keeps every stage")));
    };
}

/// `lir!(name, source)`: each probe's LIR as lowered, in virtual registers.
macro_rules! lir {
    ($name:ident, $source:expr) => {
        stage_test!($name, $source, |c: &Compiled, _: &str| c.lir.iter().map(print_function).collect::<Vec<_>>().join("\n"));
    };
}

/// `allocated!(name, source)`: each probe's LIR after register allocation.
macro_rules! allocated {
    ($name:ident, $source:expr) => {
        stage_test!($name, $source, |c: &Compiled, _: &str| c.allocated.iter().map(print_function).collect::<Vec<_>>().join("\n"));
    };
}

/// `bpf!(name, source)`: each probe's bytecode, disassembled with the script lines.
macro_rules! bpf {
    ($name:ident, $source:expr) => {
        stage_test!($name, $source, disassembly);
    };
}

const KEYED_COUNT: &str = "tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }";
const HIST: &str = "tracepoint:syscalls:sys_enter_read { @bytes = hist(args.count); }";
const LHIST: &str = "tracepoint:syscalls:sys_enter_read { @fds = lhist(args.fd, 0, 100, 10); }";
const STRING_COMPARE: &str = "tracepoint:syscalls:sys_enter_getppid /comm == \"sh\"/ { @sh = count(); }";
const PRINTF: &str = "tracepoint:syscalls:sys_enter_openat { printf(\"%s opened %s (%d)\\n\", comm, str(args.filename), args.flags); }";
const TERNARY: &str = "tracepoint:syscalls:sys_exit_openat { @ok[args.ret < 0 ? \"failed\" : \"opened\"] = count(); $fd = args.ret >= 0 ? args.ret : -1; print($fd); }";
const TUPLE: &str = "begin { $t = (pid, comm, 7); @last = $t; printf(\"%d %s\\n\", $t.0, $t.1); }";
const BRANCH_LOCALS: &str = "tracepoint:syscalls:sys_enter_read { let $size; let $n; if (args.count > 4096) { $size = \"big\"; $n = 2; } else { $size = \"small\"; $n = 1; } @sizes[$size] = sum($n); }";

const SHARED: &str = "tracepoint:syscalls:sys_enter_open* { @[probe] = count(); }";
const KPROBE_ARGS: &str = "kprobe:vfs_read /arg2 > 4096/ { @[comm] = sum(arg2); }";
const KRETPROBE: &str = "kretprobe:vfs_read { @bytes = hist(retval); }";
const SHARED_KPROBES: &str = "kprobe:vfs_read* { @[probe] = count(); }";
const NOT_SHARED: &str = "tracepoint:syscalls:sys_enter_open* { @[args.flags] = count(); }";

const USDT_SYMBOLS: &str = r#"usdt:/usr/bin/app:rip { printf("%lu %d\n", arg0, arg1); }"#;
const ITERATOR: &str = "iter:task_file /ctx.fd == 0/ { printf(\"%s:%d %d:%s\\n\", ctx.task.comm, ctx.task.pid, ctx.fd, path(ctx.file.f_path)); }";

// ---- An iterator: its context read by plain loads, printf by `bpf_seq_printf` ----

hir!(iterator_hir, ITERATOR);
bpf!(iterator_bpf, ITERATOR);

// ---- A usdt probe's `sym(%rip)` arguments: read at the symbol's distance from the probe's ip ----

hir!(usdt_symbol_arguments_hir, USDT_SYMBOLS);
bpf!(usdt_symbol_arguments_bpf, USDT_SYMBOLS);

// ---- Arguments past the registers: stack words above the return address (kernel memory) ----

bpf!(kprobe_stack_arguments_bpf, "kprobe:vfs_read { @ = sum(arg6 + sarg1); }");

// ---- The hot path: a count keyed by comm ----

hir!(keyed_count_hir, KEYED_COUNT);
lir!(keyed_count_lir, KEYED_COUNT);
allocated!(keyed_count_allocated, KEYED_COUNT);
bpf!(keyed_count_bpf, KEYED_COUNT);

/// The per-event cost of `@[comm] = count()` is what every syscall pays; bpftrace's LLVM output
/// is about 30 instructions, and ours must not be worse.
#[test]
fn keyed_count_encodes_to_fewer_than_31_slots() {
    let compiled = compiled(KEYED_COUNT);
    let [program] = compiled.programs.as_slice() else { panic!("one probe, one program") };
    assert!(program.insns.len() < 31, "{} slots:\n{}", program.insns.len(), disassembly(&compiled, KEYED_COUNT));
}

/// On Linux 6.1 `bpf_get_current_comm` leaves the bytes after the name as they were, so the
/// buffer is cleared first: two stores more, and equal names stay equal keys.
#[test]
fn keyed_count_on_6_1_clears_the_comm_buffer_bpf() {
    let compiled = compiled_for(KEYED_COUNT, &support::Linux61Catalog);
    insta::assert_snapshot!(format!("{KEYED_COUNT}\n---\n{}", disassembly(&compiled, KEYED_COUNT)));
}

// ---- Tracepoints sharing one program ----

// Both `open` tracepoints check to the same body: one program, whose `probe` is its cookie.
hir!(shared_program_hir, SHARED);
bpf!(shared_program_bpf, SHARED);
// `flags` sits at different offsets in the two records: one program each.
hir!(differing_args_are_not_shared_hir, NOT_SHARED);

// ---- kprobes: registers read from pt_regs, and wildcards sharing one program ----

/// A watchpoint on a function's argument: its own program, and the uprobe's that reports the
/// argument after stopping the process.
#[test]
fn watchpoint_setup_hir_and_bpf() {
    let source = "watchpoint:handle_request+arg1:8:w { @ = count(); }";
    let compiled = compiled_for_a_command(source);
    let hir = print_hir(compiled.hir.as_ref().expect("compile keeps every stage"));
    insta::assert_snapshot!("watchpoint_setup_hir_and_bpf", format!("{source}\n---\n{hir}\n---\n{}", disassembly(&compiled, source)));
}

/// Under `-c` a uprobe and a uretprobe on the command's program run only in its process, by
/// their own predicate too: some kernels let a uretprobe fire in every process.
#[test]
fn command_uprobes_check_the_command_pid() {
    let source = "uprobe:handle_request { @calls = count(); } uretprobe:handle_request /retval > 0/ { @ok = count(); }";
    let hir = print_hir(compiled_for_a_command(source).hir.as_ref().expect("compile keeps every stage"));
    insta::assert_snapshot!("command_uprobes_check_the_command_pid", format!("{source}\n---\n{hir}"));
}

/// `source` compiled, every stage kept, as under `-c` with the fake catalog's program as the
/// command, pid 42.
fn compiled_for_a_command(source: &str) -> ferrotrace_compiler::driver::Compiled {
    use ferrotrace_compiler::driver::{compile_with, Keep};
    use ferrotrace_compiler::options::CompileOptions;
    let options = CompileOptions { child_pid: Some(42), child_program: Some(support::APP.to_string()), ..CompileOptions::default() };
    compile_with(source, &support::FakeCatalog, &options, Keep::ALL)
        .unwrap_or_else(|diagnostics| panic!("{}", render(&diagnostics, source, "script.bt", false)))
}

hir!(kprobe_args_hir, KPROBE_ARGS);
bpf!(kprobe_args_bpf, KPROBE_ARGS);
bpf!(kretprobe_bpf, KRETPROBE);
hir!(shared_kprobes_hir, SHARED_KPROBES);
// `vfs_read` is named twice and attached once.
hir!(kprobe_named_twice_is_attached_once_hir, "kprobe:vfs_read, kprobe:vfs_* { @[probe] = count(); }");
bpf!(shared_kprobes_bpf, SHARED_KPROBES);

// ---- Histograms: the bucket computations ----

hir!(hist_hir, HIST);
lir!(hist_lir, HIST);
allocated!(hist_allocated, HIST);
bpf!(hist_bpf, HIST);
lir!(lhist_lir, LHIST);
bpf!(lhist_bpf, LHIST);

// ---- Strings compared with a literal ----

hir!(string_compare_hir, STRING_COMPARE);
lir!(string_compare_lir, STRING_COMPARE);
bpf!(string_compare_bpf, STRING_COMPARE);

// ---- printf records ----

hir!(printf_hir, PRINTF);
lir!(printf_lir, PRINTF);
allocated!(printf_allocated, PRINTF);
bpf!(printf_bpf, PRINTF);

// ---- Ternaries, tuples, locals assigned in branches ----

hir!(ternary_hir, TERNARY);
lir!(ternary_lir, TERNARY);
bpf!(ternary_bpf, TERNARY);
hir!(tuple_hir, TUPLE);
lir!(tuple_lir, TUPLE);
bpf!(tuple_bpf, TUPLE);
hir!(branch_locals_hir, BRANCH_LOCALS);
lir!(branch_locals_lir, BRANCH_LOCALS);
allocated!(branch_locals_allocated, BRANCH_LOCALS);
bpf!(branch_locals_bpf, BRANCH_LOCALS);

// ---- Stacks: a stack id from `bpf_get_stackid`, the frames read when printed ----

const KSTACK_COUNT: &str = "tracepoint:syscalls:sys_enter_getppid { @[kstack] = count(); }";
const USTACK_COUNT: &str = "tracepoint:syscalls:sys_enter_getppid { @[ustack(perf, 5)] = count(); }";
const SYMBOLS: &str = "kprobe:vfs_read { printf(\"%s %s %s\\n\", func, ksym(reg(\"ip\")), usym(reg(\"ip\"))); }";

hir!(kstack_count_hir, KSTACK_COUNT);
bpf!(kstack_count_bpf, KSTACK_COUNT);
bpf!(stack_lengths_bpf, "kprobe:vfs_read { @[len(kstack), len(ustack(perf, 5))] = count(); }");
bpf!(ustack_count_bpf, USTACK_COUNT);
hir!(symbols_hir, SYMBOLS);

/// `@[kstack] = count()` is the stack id plus the keyed count: bpftrace 0.26 copies up to 127
/// frames into scratch memory, hashes them in a loop and stores them in a hash map per event.
#[test]
fn kstack_count_encodes_to_fewer_than_31_slots() {
    let compiled = compiled(KSTACK_COUNT);
    let [program] = compiled.programs.as_slice() else { panic!("one probe, one program") };
    assert!(program.insns.len() < 31, "{} slots:\n{}", program.insns.len(), disassembly(&compiled, KSTACK_COUNT));
}

/// Every `kstack` and `ustack` of one limit shares one stack map, sized by `max_map_keys`.
#[test]
fn stacks_of_one_limit_share_a_stack_map() {
    let compiled = compiled("tracepoint:syscalls:sys_enter_read { @a[kstack(5)] = count(); @b[ustack(raw, 5)] = count(); @c[kstack] = count(); }");
    let stacks: Vec<(u8, u32)> = compiled
        .manifest
        .maps
        .iter()
        .filter_map(|m| match m.role {
            MapRole::Stacks { limit, build_id: false } => Some((limit, m.def.value_size)),
            _ => None,
        })
        .collect();
    assert_eq!(stacks, vec![(5, 40), (127, 1016)]);
}

// A uprobe's parameters by name, from the binary's debug info: registers narrowed to their
// types, pointers into user memory.
hir!(uprobe_parameters_by_name, "uprobe:/usr/bin/app:handle_request { printf(\"%d %s %d\\n\", args.fd, str(args.req->path), args.req->flags); @[args.d] = count(); }");
hir!(uprobe_parameter_on_the_stack, "uprobe:/usr/bin/app:handle_request { print(args.e); }");
hir!(uretprobe_return_typed_from_debug_info, "uretprobe:/usr/bin/app:handle_reply { print(retval); } uretprobe:/usr/bin/app:main { print(retval); }");
bpf!(uprobe_narrow_parameter, "uprobe:/usr/bin/app:handle_request { print(args.fd); }");
