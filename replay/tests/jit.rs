//! The JIT against the reference interpreter: the same program on the same event returns the
//! same r0 or stops with the same trap, and leaves the same maps, ring buffer records, stack
//! and shortfalls. Scripts compiled with the fake catalog, the repository's examples and
//! corpus, and hand-built programs at every ALU and jump operation's edge values; the JIT
//! refuses what it cannot run to an end. Two ignored tests measure compile time and speed
//! (`cargo test --release -p ferrotrace-replay --test jit -- --ignored --nocapture`).

#[path = "../../compiler/tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use ferrotrace_compiler::bpf::opcode as op;
use ferrotrace_compiler::bpf::RawInsn;
use ferrotrace_compiler::catalog::{Catalog, FieldKind};
use ferrotrace_compiler::driver::compile;
use ferrotrace_compiler::lir::helper;
use ferrotrace_compiler::manifest::Manifest;
use ferrotrace_replay::error::{Fault, Trap};
use ferrotrace_replay::interp::Interpreter;
use ferrotrace_replay::jit::JitProgram;
use ferrotrace_replay::memory::{self, AccessFault, CONTEXT_REGION, STACK_REGION};
use ferrotrace_replay::program::{self, Program, Slot, Wide};
use ferrotrace_replay::{Chunk, Clocks, Event, Machine, ReplayError};
use support::FakeCatalog;

/// Where the events' strings are recorded.
const STRINGS: u64 = 0x7f00_0000_0000;

/// A script's programs, interpreted on one machine and compiled on another.
struct Both {
    manifest: Manifest,
    programs: Vec<Program>,
    compiled: Vec<JitProgram>,
    interpreted: Machine,
    native: Machine,
}

impl Both {
    fn script(source: &str) -> Both {
        let compiled = compile(source, &FakeCatalog).unwrap_or_else(|diagnostics| panic!("{source} does not compile: {diagnostics:?}"));
        let programs = program::programs(&compiled.elf, &compiled.manifest).expect("the programs read back");
        Both::new(compiled.manifest, programs)
    }

    fn new(manifest: Manifest, programs: Vec<Program>) -> Both {
        let compiled = programs.iter().map(|program| JitProgram::compile(program).unwrap_or_else(|error| panic!("program {} does not compile: {error}", program.index))).collect();
        let clocks = Clocks { cpus: 2, start_ns: 1_000, ..Clocks::default() };
        Both { interpreted: Machine::new(&manifest, clocks.clone()), native: Machine::new(&manifest, clocks), manifest, programs, compiled }
    }

    /// Runs function `start` of program `index` on `event` with both engines and asserts they
    /// agree: on the result, and on everything the run left behind.
    fn run(&mut self, index: usize, start: u32, event: &Event, cookie: u64, args: [u64; 5]) -> Result<u64, Trap> {
        for machine in [&mut self.interpreted, &mut self.native] {
            machine.set_event(event);
            machine.cookie = cookie;
        }
        let expected = Interpreter { program: &self.programs[index] }.run(&mut self.interpreted, start, args);
        let got = self.compiled[index].run(&mut self.native, start, args);
        let what = format!("program {index} at slot {start} on {} (args {args:x?})", event.probe);
        assert_eq!(got, expected, "{what}: r0");
        self.assert_same_state(&what);
        got
    }

    /// Runs every program attached to the event's probe on it, as the probe's context: how
    /// many ran.
    fn fire(&mut self, event: &Event) -> usize {
        let mut runs = Vec::new();
        for (index, spec) in self.manifest.programs.iter().enumerate() {
            for target in spec.targets.iter().filter(|target| *self.manifest.probe_names[target.probe_id as usize] == *event.probe) {
                runs.push((index, u64::from(target.probe_id)));
            }
        }
        for &(index, cookie) in &runs {
            let _ = self.run(index, 0, event, cookie, [memory::address(CONTEXT_REGION, 0), 0, 0, 0, 0]);
        }
        runs.len()
    }

    fn assert_same_state(&mut self, what: &str) {
        for (map, (expected, got)) in self.interpreted.maps.iter().zip(&self.native.maps).enumerate() {
            assert_eq!(got.entries(), expected.entries(), "{what}: map {}", self.manifest.maps[map].symbol);
        }
        assert_eq!(self.native.take_records(), self.interpreted.take_records(), "{what}: records");
        assert_eq!(self.native.shortfalls, self.interpreted.shortfalls, "{what}: shortfalls");
        assert_eq!(self.native.stack_bytes(), self.interpreted.stack_bytes(), "{what}: stack");
    }
}

/// A field's value in a tracepoint record.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Int(i64),
    Str(&'a str),
}

/// An event of `probe` from task `pid` named `comm` on `cpu`, with no context.
fn event(probe: &str, pid: u32, comm: &str, cpu: u32) -> Event {
    let mut event = Event { probe: probe.into(), time_ns: 5_000 + u64::from(pid) * 77, cpu, pid, tid: pid + 1, uid: 1000, gid: 100, jiffies: 42, ..Event::default() };
    event.set_comm(comm.as_bytes());
    event
}

/// An event of the tracepoint `probe` (`tracepoint:category:name`), its record laid out by the
/// fake catalog's format with `args` at their fields: strings for pointers recorded in the
/// event's memory, `__data_loc` strings after the fixed fields.
fn tracepoint(probe: &str, pid: u32, comm: &str, cpu: u32, args: &[(&str, Arg<'_>)]) -> Event {
    let mut event = event(probe, pid, comm, cpu);
    let (category, name) = probe.strip_prefix("tracepoint:").and_then(|rest| rest.split_once(':')).expect("a tracepoint");
    let format = FakeCatalog.tracepoint_format(category, name).expect("a tracepoint of the fake catalog");
    let fixed = format.fields.iter().map(|field| (field.offset + field.size) as usize).max().unwrap_or(8).next_multiple_of(8);
    let mut record = vec![0u8; fixed];
    record[4..8].copy_from_slice(&pid.to_ne_bytes());
    for &(name, arg) in args {
        let field = format.fields.iter().find(|field| field.name == name).unwrap_or_else(|| panic!("{probe} has no field {name}"));
        let (at, size) = (field.offset as usize, field.size as usize);
        match (field.kind, arg) {
            (FieldKind::Int | FieldKind::Pointer, Arg::Int(value)) => record[at..at + size].copy_from_slice(&value.to_ne_bytes()[..size]),
            (FieldKind::IntArray(count), Arg::Int(value)) => {
                let each = size / count as usize;
                record[at..at + each].copy_from_slice(&value.to_ne_bytes()[..each]);
            }
            (FieldKind::Pointer, Arg::Str(text)) => {
                let address = STRINGS + event.memory.len() as u64 * 0x1_0000;
                event.memory.push(Chunk { address, bytes: [text.as_bytes(), &[0]].concat() });
                record[at..at + 8].copy_from_slice(&address.to_ne_bytes());
            }
            (FieldKind::CharArray(_), Arg::Str(text)) => record[at..at + text.len()].copy_from_slice(text.as_bytes()),
            (FieldKind::DataLocString, Arg::Str(text)) => {
                let location = ((text.len() as u32 + 1) << 16) | record.len() as u32;
                record[at..at + 4].copy_from_slice(&location.to_ne_bytes());
                record.extend_from_slice(text.as_bytes());
                record.push(0);
            }
            _ => panic!("{probe}: cannot put that in {name}"),
        }
    }
    event.context = record;
    event
}

fn openat(pid: u32, comm: &str, cpu: u32, args: &[(&str, Arg<'_>)]) -> Event {
    tracepoint("tracepoint:syscalls:sys_enter_openat", pid, comm, cpu, args)
}

fn read(pid: u32, comm: &str, cpu: u32, fd: i64, count: i64) -> Event {
    tracepoint("tracepoint:syscalls:sys_enter_read", pid, comm, cpu, &[("fd", Arg::Int(fd)), ("count", Arg::Int(count))])
}

#[test]
fn counts_keyed_by_comm_and_by_tuples_agree() {
    let mut both = Both::script(
        "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); @by[pid, comm] = count(); @cpu[cpu] = count(); @flags[args.flags & 3, comm] = sum(args.mode); }",
    );
    for (pid, comm, cpu, flags) in [(1, "cat", 0, 0), (2, "bash", 1, 1), (1, "cat", 1, 2), (3, "systemd", 0, 3), (1, "cat", 0, 7), (2, "bash", 0, 5)] {
        assert_eq!(both.fire(&openat(pid, comm, cpu, &[("flags", Arg::Int(flags)), ("mode", Arg::Int(flags * 10))])), 1);
    }
}

#[test]
fn histograms_and_aggregations_agree() {
    let mut both = Both::script(
        "tracepoint:syscalls:sys_enter_read { @h = hist(args.count); @h2[comm] = hist(args.count, 2); @l = lhist(args.count, 0, 1000, 100); \
         @s = sum(args.count); @mn = min((int64)args.count); @mx = max(args.count); @a = avg(args.count); @st[comm] = stats(args.count); }",
    );
    for (index, count) in [0, 1, 5, 99, 100, 999, 1000, 4096, 1 << 40, -5, i64::MAX, i64::MIN].into_iter().enumerate() {
        both.fire(&read(index as u32 % 3, ["cat", "dd"][index % 2], index as u32 % 2, 3, count));
    }
}

#[test]
fn printf_of_strings_from_recorded_memory_agrees() {
    let mut both = Both::script(
        r#"tracepoint:syscalls:sys_enter_openat { printf("%-6d %-16s %s %d\n", pid, comm, str(args.filename), args.flags); @paths[str(args.filename)] = count(); @short = str(args.filename, 4); }"#,
    );
    let long = "/very/long/path/".repeat(40);
    for filename in [Arg::Str("/etc/hostname"), Arg::Str(""), Arg::Str(&long), Arg::Int(0x5555_0000), Arg::Int(0), Arg::Str("/etc/passwd")] {
        both.fire(&openat(7, "cat", 0, &[("filename", filename), ("flags", Arg::Int(2))]));
    }
    assert!(both.native.shortfalls.unrecorded_reads > 0, "an unrecorded pointer was read");
}

#[test]
fn branches_and_ternaries_agree() {
    let mut both = Both::script(
        r#"tracepoint:syscalls:sys_enter_openat {
            if (args.flags > 100) { @big[comm] = count(); } else if (args.flags == 7) { @seven = count(); } else { @small = sum(args.flags); }
            $x = args.mode > 3 ? args.mode * 2 : args.mode - 10;
            @x[comm] = max($x);
            printf("%d %s %s\n", $x, (int64)args.dfd < 0 ? "negative" : "not negative", args.flags == 7 ? "seven" : "other");
        }"#,
    );
    for (flags, mode, dfd) in [(0, 0, -100), (7, 3, 3), (101, 4, 0), (7, 100, -1), (1 << 40, 2, i64::MIN)] {
        both.fire(&openat(4, "bash", 1, &[("flags", Arg::Int(flags)), ("mode", Arg::Int(mode)), ("dfd", Arg::Int(dfd))]));
    }
}

#[test]
fn arithmetic_with_division_by_zero_and_signed_operands_agrees() {
    let mut both = Both::script(
        r#"tracepoint:syscalls:sys_enter_openat {
            $a = (int64)args.dfd; $b = (int64)args.flags; $u = args.mode; $v = args.flags;
            printf("%d %d %d %d %d %d %d\n", $a / $b, $a % $b, $u / $v, $u % $v, $a * $b, $a - $b, $a + $b);
            printf("%d %d %d %d %d %d\n", $a >> 3, $u >> 3, $u << ($v & 63), -$a, ~$u, $a / 7);
            printf("%d %d %d %d\n", (int32)$a / (int32)$b, (uint32)$u % (uint32)$v, (int8)$a, (uint16)$u);
            @d[$a / $b, $u % $v] = count();
        }"#,
    );
    for dfd in [-100, 0, 7, i64::MIN, i64::MAX, -1] {
        for flags in [0, -1, 3, 1 << 33] {
            both.fire(&openat(1, "calc", 0, &[("dfd", Arg::Int(dfd)), ("flags", Arg::Int(flags)), ("mode", Arg::Int(dfd.wrapping_mul(3)))]));
        }
    }
}

#[test]
fn loops_run_their_callbacks_alike() {
    let mut both = Both::script(
        r#"tracepoint:syscalls:sys_enter_read {
            $i = 0; $sum = 0;
            while ($i < (int64)args.count) { $sum += $i; $i++; if ($i > 50) { break; } }
            for ($j : 0..args.fd) { @steps[$j] = count(); if ($j == 3) { continue; } @odd[$j] = sum($j); @task[$j, pid, tid, uid, cpu, comm] = max(nsecs); }
            @sum[comm] = max($sum);
        }"#,
    );
    assert!(both.programs[0].functions.len() > 1, "the loops are callbacks");
    for (fd, count) in [(0, 0), (1, 3), (5, 70), (9, -4)] {
        both.fire(&read(3, "loop", 0, fd, count));
    }
}

#[test]
fn map_iteration_agrees() {
    let mut both = Both::script(
        r#"tracepoint:syscalls:sys_enter_openat { @m[comm] = count(); @n[pid] = args.flags; }
        tracepoint:syscalls:sys_enter_read {
            for ($kv : @m) { printf("%s %d\n", $kv.0, $kv.1); }
            for ($kv : @n) { if ($kv.1 > 5) { break; } @seen[$kv.0] = $kv.1; }
        }"#,
    );
    for (pid, comm, flags) in [(1, "cat", 1), (2, "dd", 9), (3, "cat", 2), (4, "ls", 3)] {
        both.fire(&openat(pid, comm, 0, &[("flags", Arg::Int(flags))]));
        both.fire(&read(pid, comm, 1, 0, 0));
    }
}

#[test]
fn string_comparisons_agree() {
    let mut both = Both::script(
        r#"tracepoint:sched:sched_switch /args.prev_comm == "swapper/0" || args.next_comm != "idle"/ {
            @switches[args.prev_comm, args.next_pid] = count();
            if (strcontains(args.next_comm, "ferro")) { @ferro = count(); }
            if (comm == args.prev_comm) { @same[comm] = count(); }
        }"#,
    );
    let switches = [("swapper/0", "idle"), ("bash", "idle"), ("bash", "ferrotrace"), ("idle", "xferro"), ("swapper/0", "cat")];
    for (index, (prev, next)) in switches.into_iter().enumerate() {
        let args = [("prev_comm", Arg::Str(prev)), ("next_comm", Arg::Str(next)), ("next_pid", Arg::Int(index as i64)), ("prev_pid", Arg::Int(1))];
        both.fire(&tracepoint("tracepoint:sched:sched_switch", 1, ["bash", "swapper/0"][index % 2], 0, &args));
    }
}

#[test]
fn delete_clear_and_zero_agree() {
    let mut both = Both::script(
        r#"tracepoint:syscalls:sys_enter_openat {
            @start[tid] = nsecs; @names[comm] = count(); @t[pid, comm] = 1;
            if (args.flags == 1) { delete(@start, tid); delete(@names, comm); }
            if (args.flags == 2) { clear(@names); }
            if (args.flags == 3) { zero(@start); delete(@t, (pid, comm)); }
        }"#,
    );
    for (pid, flags) in [(1, 0), (2, 0), (1, 1), (3, 2), (2, 3), (4, 0), (4, 1)] {
        both.fire(&openat(pid, ["a", "b", "c"][pid as usize % 3], 0, &[("flags", Arg::Int(flags))]));
    }
}

/// A few events for a probe: laid out by its format for a tracepoint, a context of zeroes or
/// of small numbers for the others (whose pointers then read as unrecorded memory).
fn events_for(probe: &str) -> Vec<Event> {
    if let Some((category, name)) = probe.strip_prefix("tracepoint:").and_then(|rest| rest.split_once(':')) {
        let Ok(format) = FakeCatalog.tracepoint_format(category, name) else { return Vec::new() };
        return (0..3i64)
            .map(|round| {
                let args: Vec<(&str, Arg<'_>)> = format
                    .fields
                    .iter()
                    .filter_map(|field| match field.kind {
                        FieldKind::Int | FieldKind::IntArray(_) => Some((field.name.as_str(), Arg::Int(round * 1000 + 7 * i64::from(field.offset) - 30))),
                        FieldKind::Pointer if field.name == "skaddr" => None,
                        FieldKind::Pointer | FieldKind::DataLocString => Some((field.name.as_str(), Arg::Str(["/bin/true", "ferrotrace", ""][round as usize]))),
                        FieldKind::CharArray(_) => Some((field.name.as_str(), Arg::Str(["swapper/0", "idle", "ferro"][round as usize]))),
                        FieldKind::Other => None,
                    })
                    .collect();
                tracepoint(probe, 10 + round as u32, ["cat", "ferrotrace", "swapper/0"][round as usize], round as u32 % 2, &args)
            })
            .collect();
    }
    (0..3u64)
        .map(|round| {
            let mut event = event(probe, 20 + round as u32, "worker", round as u32 % 2);
            event.context = (0..32u64).flat_map(|word| (word * round % 5).to_ne_bytes()).collect();
            event
        })
        .collect()
}

#[test]
fn the_examples_and_the_corpus_agree() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut scripts: Vec<_> = ["examples", "tests/corpus"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(format!("{root}/{dir}")).expect("the directory").map(|entry| entry.expect("an entry").path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "bt"))
        .collect();
    scripts.sort();
    let mut runs = 0;
    for path in &scripts {
        let source = std::fs::read_to_string(path).expect("the script reads");
        let Ok(compiled) = compile(&source, &FakeCatalog) else { continue };
        let programs = program::programs(&compiled.elf, &compiled.manifest).expect("the programs read back");
        let mut both = Both::new(compiled.manifest, programs);
        let probes: Vec<String> = both.manifest.probe_names.clone();
        for probe in probes {
            for event in events_for(&probe) {
                runs += both.fire(&event);
            }
        }
    }
    assert!(runs > 50, "only {runs} runs");
}

// Hand-built programs.

fn op(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Slot {
    Slot::Op(RawInsn::new(code, dst, src, off, imm))
}

fn exit() -> Slot {
    op(op::JMP | op::EXIT, 0, 0, 0, 0)
}

fn mov(dst: u8, imm: i32) -> Slot {
    op(op::ALU64 | op::MOV | op::K, dst, 0, 0, imm)
}

fn wide(dst: u8, value: Wide) -> [Slot; 2] {
    [Slot::Wide { dst, value }, Slot::Tail]
}

fn call(helper: u32) -> Slot {
    op(op::JMP | op::CALL, 0, 0, 0, helper as i32)
}

/// A program of `functions`, laid end to end.
fn program(functions: Vec<Vec<Slot>>) -> Program {
    let mut slots = Vec::new();
    let mut starts = Vec::new();
    for function in functions {
        starts.push(slots.len() as u32);
        slots.extend(function);
    }
    Program { index: 0, slots, functions: starts }
}

/// Values where ALU operations and comparisons change behaviour.
const EDGES: [u64; 18] = [
    0, 1, 2, 7, 31, 32, 63, 64, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, i64::MAX as u64, i64::MIN as u64, u64::MAX, -2i64 as u64, -7i64 as u64,
    0x1234_5678_9abc_def0,
];

/// Immediates where the same happens.
const IMMEDIATES: [i32; 8] = [0, 1, -1, 7, 32, 63, i32::MIN, i32::MAX];

/// Runs every function of `program` on every pair of edge values in r1 and r2 with both
/// engines.
fn run_on_edges(program: Program) {
    let starts = program.functions.clone();
    let mut both = Both::new(Manifest::default(), vec![program]);
    let event = event("hand-built", 1, "test", 0);
    for start in starts {
        for a in EDGES {
            for b in EDGES {
                both.run(0, start, &event, 0, [a, b, 0, 0, 0]).expect("no fault");
            }
        }
    }
}

#[test]
fn every_alu_operation_agrees_on_edge_values() {
    let operations = [op::ADD, op::SUB, op::MUL, op::DIV, op::OR, op::AND, op::LSH, op::RSH, op::NEG, op::MOD, op::XOR, op::MOV, op::ARSH];
    let mut functions = Vec::new();
    for class in [op::ALU64, op::ALU] {
        for operation in operations {
            let offsets: &[i16] = match operation {
                op::DIV | op::MOD => &[0, op::OFF_SIGNED],
                op::MOV => &[0, 8, 16, 32],
                _ => &[0],
            };
            for &off in offsets {
                functions.push(vec![op(class | operation | op::X, 1, 2, off, 0), op(op::ALU64 | op::MOV | op::X, 0, 1, 0, 0), exit()]);
                for imm in IMMEDIATES {
                    functions.push(vec![op(class | operation | op::K, 1, 0, off, imm), op(op::ALU64 | op::MOV | op::X, 0, 1, 0, 0), exit()]);
                }
            }
        }
    }
    run_on_edges(program(functions));
}

#[test]
fn every_jump_condition_agrees_on_edge_values() {
    let operations = [op::JA, op::JEQ, op::JGT, op::JGE, op::JSET, op::JNE, op::JSGT, op::JSGE, op::JLT, op::JLE, op::JSLT, op::JSLE];
    let mut functions = Vec::new();
    for class in [op::JMP, op::JMP32] {
        // `JMP32 | JA` is `gotol`, which both engines refuse.
        for operation in operations.into_iter().filter(|&operation| class == op::JMP || operation != op::JA) {
            let taken = |code: u8, imm: i32| vec![op(class | operation | code, 1, 2, 2, imm), mov(0, 10), exit(), mov(0, 20), exit()];
            functions.push(taken(op::X, 0));
            functions.extend(IMMEDIATES.map(|imm| taken(op::K, imm)));
        }
    }
    run_on_edges(program(functions));
}

#[test]
fn loads_and_stores_of_every_size_agree() {
    let sizes = [op::B, op::H, op::W, op::DW];
    let mut functions = Vec::new();
    for store in sizes {
        for load in sizes {
            for mode in [op::MEM, op::MEMSX] {
                for at in [-16, -13, -10] {
                    functions.push(vec![
                        op(op::STX | op::MEM | op::DW, 10, 1, -24, 0),
                        op(op::STX | op::MEM | op::DW, 10, 1, -16, 0),
                        op(op::STX | op::MEM | op::DW, 10, 1, -8, 0),
                        op(op::STX | op::MEM | store, 10, 2, at, 0),
                        op(op::ST | op::MEM | store, 10, 0, -24, -3),
                        op(op::LDX | mode | load, 0, 10, at + 1, 0),
                        op(op::LDX | mode | load, 3, 10, -24, 0),
                        op(op::ALU64 | op::ADD | op::X, 0, 3, 0, 0),
                        exit(),
                    ]);
                }
            }
        }
    }
    run_on_edges(program(functions));
}

#[test]
fn helpers_with_fast_paths_in_native_code_agree() {
    let reading = [
        helper::GET_CURRENT_PID_TGID,
        helper::GET_CURRENT_UID_GID,
        helper::KTIME_GET_NS,
        helper::GET_SMP_PROCESSOR_ID,
        helper::GET_CURRENT_CGROUP_ID,
        helper::JIFFIES64,
        helper::GET_CURRENT_TASK,
        helper::GET_CURRENT_TASK_BTF,
        helper::GET_ATTACH_COOKIE,
    ];
    let mut functions: Vec<Vec<Slot>> = reading.iter().map(|&helper| vec![call(helper), exit()]).collect();
    // `get_current_comm` of sizes around the whole name, into the frame at offsets whose end
    // is inside it or past it, then the first word written returned.
    for size in [0, 1, 8, 15, 16, 17, 32] {
        for at in [-32, -16, -12, -8] {
            functions.push(vec![
                op(op::ALU64 | op::MOV | op::X, 1, 10, 0, 0),
                op(op::ALU64 | op::ADD | op::K, 1, 0, 0, at),
                mov(2, size),
                call(helper::GET_CURRENT_COMM),
                op(op::LDX | op::MEM | op::DW, 3, 10, -32, 0),
                op(op::ALU64 | op::ADD | op::X, 0, 3, 0, 0),
                exit(),
            ]);
        }
    }
    // Into the buffer r1 was given: the read-only context, or no region at all.
    functions.push(vec![mov(2, 16), call(helper::GET_CURRENT_COMM), exit()]);
    let starts: Vec<u32> = {
        let program = program(functions.clone());
        program.functions.clone()
    };
    let mut both = Both::new(Manifest::default(), vec![program(functions)]);
    let mut task = event("hand-built", 7, "a-fifteen-chars", 1);
    (task.cgroup, task.task) = (0x1234, 0xffff_8880_0000_1000);
    for start in starts {
        // The last: a name with no NUL, as only a damaged recording could hold.
        for comm in ["a-fifteen-chars", "cat", "", "sixteen-bytes-16"] {
            task.set_comm(comm.as_bytes());
            if comm.len() == 16 {
                task.comm.copy_from_slice(comm.as_bytes());
            }
            for r1 in [memory::address(CONTEXT_REGION, 0), 0x7f00_0000_0000] {
                let _ = both.run(0, start, &task, 0xc00c1e, [r1, 0, 0, 0, 0]);
            }
        }
    }
}

/// Runs `program`'s first function on both engines: the trap it stopped with.
fn trap_of(manifest: Manifest, program: Program, event: &Event) -> Trap {
    let mut both = Both::new(manifest, vec![program]);
    both.run(0, 0, event, 0, [memory::address(CONTEXT_REGION, 0), 0, 0, 0, 0]).expect_err("a fault")
}

#[test]
fn faults_stop_both_engines_at_the_same_slot() {
    let event = openat(1, "cat", 0, &[("flags", Arg::Int(3))]);
    let access = |slot: u32, store: bool, size: u8, address: u64, access: AccessFault| Trap { slot, fault: Fault::Access { address, size, store, access } };
    let top = memory::address(STACK_REGION, memory::FRAME_SIZE * memory::MAX_DEPTH);

    let past_the_stack = program(vec![vec![mov(0, 0), op(op::ST | op::MEM | op::DW, 10, 0, 4, 1), exit()]]);
    assert_eq!(trap_of(Manifest::default(), past_the_stack, &event), access(1, true, 8, top + 4, AccessFault::OutOfBounds { len: 4096 }));

    let below_the_stack = program(vec![vec![mov(0, 0), op(op::STX | op::MEM | op::W, 10, 0, -4100, 0), exit()]]);
    assert_eq!(trap_of(Manifest::default(), below_the_stack, &event), access(1, true, 4, top.wrapping_sub(4100), AccessFault::Unmapped));

    let beyond = memory::address(STACK_REGION, 0x1234);
    let out_of_bounds = program(vec![[wide(2, Wide::Number(beyond)).to_vec(), vec![op(op::LDX | op::MEM | op::W, 0, 2, 0, 0), exit()]].concat()]);
    assert_eq!(trap_of(Manifest::default(), out_of_bounds, &event), access(2, false, 4, beyond, AccessFault::OutOfBounds { len: 4096 }));

    let nowhere = memory::address(0x77, 8);
    let unmapped = program(vec![[wide(2, Wide::Number(nowhere)).to_vec(), vec![op(op::LDX | op::MEM | op::H, 0, 2, -8, 0), exit()]].concat()]);
    assert_eq!(trap_of(Manifest::default(), unmapped, &event), access(2, false, 2, nowhere - 8, AccessFault::Unmapped));

    let into_the_context = program(vec![vec![op(op::STX | op::MEM | op::B, 1, 1, 16, 0), exit()]]);
    let context = memory::address(CONTEXT_REGION, 16);
    assert_eq!(trap_of(Manifest::default(), into_the_context, &event), access(0, true, 1, context, AccessFault::ReadOnly));

    let not_a_map = program(vec![vec![mov(1, 5), call(helper::MAP_LOOKUP_ELEM), exit()]]);
    assert_eq!(trap_of(Manifest::default(), not_a_map, &event).slot, 1);

    // Plain memory that was not recorded reads as 0 without a fault, on both.
    let unrecorded = program(vec![[wide(2, Wide::Number(0x1234)).to_vec(), vec![op(op::LDX | op::MEM | op::DW, 0, 2, 0, 0), exit()]].concat()]);
    let mut both = Both::new(Manifest::default(), vec![unrecorded]);
    assert_eq!(both.run(0, 0, &event, 0, [0; 5]), Ok(0));
    assert_eq!(both.native.shortfalls.unrecorded_reads, 1);
}

/// A program whose callback `bpf_loop` runs `loops` times, the callback being `body`.
fn looping(loops: i32, body: Vec<Slot>) -> Program {
    let callback = 7;
    let main = [vec![mov(1, loops)], wide(2, Wide::Function(callback)).to_vec(), vec![mov(3, 0), mov(4, 0), call(helper::LOOP), exit()]].concat();
    assert_eq!(main.len(), callback as usize);
    program(vec![main, body])
}

#[test]
fn callbacks_return_fault_and_nest_alike() {
    let event = openat(1, "cat", 0, &[]);
    let counted = looping(5, vec![op(op::ALU64 | op::MOV | op::X, 0, 1, 0, 0), op(op::ALU64 | op::RSH | op::K, 0, 0, 0, 2), exit()]);
    let mut both = Both::new(Manifest::default(), vec![counted]);
    assert_eq!(both.run(0, 0, &event, 0, [0; 5]), Ok(5), "the loop stops after the callback returns 1, at index 4");

    let faulting = looping(3, vec![op(op::ST | op::MEM | op::DW, 10, 0, 1000, 1), mov(0, 0), exit()]);
    let trap = trap_of(Manifest::default(), faulting, &event);
    assert_eq!(trap.slot, 7, "the fault is in the callback");

    let recursive = looping(1, [wide(2, Wide::Function(7)).to_vec(), vec![mov(1, 1), mov(3, 0), mov(4, 0), call(helper::LOOP), exit()]].concat());
    let trap = trap_of(Manifest::default(), recursive, &event);
    assert_eq!(trap.fault, Fault::TooDeep(memory::MAX_DEPTH));
}

#[test]
fn a_function_that_is_not_compiled_is_a_bad_target() {
    let mut machine = Machine::new(&Manifest::default(), Clocks::default());
    let jit = JitProgram::compile(&program(vec![vec![mov(0, 1), exit()]])).expect("it compiles");
    assert_eq!(jit.run(&mut machine, 1, [0; 5]), Err(Trap { slot: 1, fault: Fault::BadTarget(1) }));
    assert_eq!(jit.run(&mut machine, 0, [0; 5]), Ok(1));
}

#[test]
fn the_jit_refuses_what_might_not_end_or_leaves_its_function() {
    let refused = |functions: Vec<Vec<Slot>>| match JitProgram::compile(&program(functions)) {
        Err(ReplayError::Unsupported(message)) => message,
        Err(other) => panic!("refused with {other}"),
        Ok(_) => panic!("compiled"),
    };
    let backwards = refused(vec![vec![mov(0, 0), op(op::JMP | op::JA, 0, 0, -2, 0), exit()]]);
    assert!(backwards.contains("back to slot 0"), "{backwards}");
    let to_itself = refused(vec![vec![mov(0, 0), op(op::JMP | op::JEQ | op::K, 0, 0, -1, 0), exit()]]);
    assert!(to_itself.contains("back to slot 1"), "{to_itself}");
    let out = refused(vec![vec![mov(0, 0), op(op::JMP | op::JNE | op::K, 0, 0, 1, 0), exit()], vec![exit()]]);
    assert!(out.contains("past the end of its function"), "{out}");
    let falls_off = refused(vec![vec![mov(0, 0)], vec![exit()]]);
    assert!(falls_off.contains("past its last instruction"), "{falls_off}");
    let into_a_wide = refused(vec![[vec![op(op::JMP | op::JA, 0, 0, 1, 0)], wide(0, Wide::Number(1)).to_vec(), vec![exit()]].concat()]);
    assert!(into_a_wide.contains("middle of the ld_imm64"), "{into_a_wide}");
    let unknown = refused(vec![vec![op(op::LD | op::W, 0, 0, 0, 0), exit()]]);
    assert!(unknown.contains("0x00 is a legacy packet load"), "{unknown}");
    let swap = refused(vec![vec![op(op::ALU | 0xd0, 0, 0, 0, 16), exit()]]);
    assert!(swap.contains("byte swap"), "{swap}");
    let atomic = refused(vec![vec![op(op::STX | 0xc0 | op::DW, 10, 1, -8, 0), exit()]]);
    assert!(atomic.contains("atomic"), "{atomic}");
    let gotol = refused(vec![vec![op(op::JMP32 | op::JA, 0, 0, 0, 1), exit()]]);
    assert!(gotol.contains("gotol"), "{gotol}");
    let stray_function = refused(vec![[wide(2, Wide::Function(1)).to_vec(), vec![exit()]].concat()]);
    assert!(stray_function.contains("no function starts"), "{stray_function}");

    // What never runs is not looked at.
    let dead = program(vec![vec![mov(0, 3), exit(), op(op::JMP | op::JA, 0, 0, -3, 0), op(op::LD | op::W, 0, 0, 0, 0)]]);
    let mut machine = Machine::new(&Manifest::default(), Clocks::default());
    assert_eq!(JitProgram::compile(&dead).expect("it compiles").run(&mut machine, 0, [0; 5]), Ok(3));
}

// Measurements.

/// A script of about `statements` map updates and prints, compiled.
fn large_program(statements: usize) -> Program {
    let body: String = (0..statements)
        .map(|index| match index % 3 {
            0 => format!("@c{index}[comm] = count(); "),
            1 => format!("if (args.count > {index}) {{ @s{index} = sum(args.count * {index}); }} "),
            _ => format!("printf(\"{index} %d %s\\n\", args.fd / {index}, comm); "),
        })
        .collect();
    let source = format!("tracepoint:syscalls:sys_enter_read {{ {body} }}");
    let compiled = compile(&source, &FakeCatalog).expect("it compiles");
    program::programs(&compiled.elf, &compiled.manifest).expect("the programs read back").remove(0)
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn compile_time_of_a_thousand_instructions() {
    let program = large_program(44);
    JitProgram::compile(&program).expect("it compiles");
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let start = Instant::now();
            JitProgram::compile(&program).expect("it compiles");
            start.elapsed()
        })
        .collect();
    times.sort();
    println!("{} instructions: compiled in {:?} at best, {:?} median", program.slots.len(), times[0], times[times.len() / 2]);
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn events_per_second_of_a_keyed_count() {
    let compiled = compile("tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }", &FakeCatalog).expect("it compiles");
    let program = program::programs(&compiled.elf, &compiled.manifest).expect("the programs read back").remove(0);
    let jit = JitProgram::compile(&program).expect("it compiles");
    let interpreter = Interpreter { program: &program };
    let mut machine = Machine::new(&compiled.manifest, Clocks { cpus: 2, ..Clocks::default() });
    let comms: Vec<Event> = ["cat", "bash", "systemd", "sshd"].iter().map(|comm| openat(1, comm, 0, &[])).collect();
    let context = [memory::address(CONTEXT_REGION, 0), 0, 0, 0, 0];
    let mut rate = |name: &str, events: u32, run: &mut dyn FnMut(&mut Machine)| {
        machine.set_event(&comms[0]);
        let start = Instant::now();
        for _ in 0..events {
            run(&mut machine);
        }
        let per_second = f64::from(events) / start.elapsed().as_secs_f64();
        println!("{name}: {:.1}M events/s", per_second / 1e6);
    };
    rate("jit", 20_000_000, &mut |machine| {
        jit.run(machine, 0, context).expect("it runs");
    });
    rate("interpreter", 2_000_000, &mut |machine| {
        interpreter.run(machine, 0, context).expect("it runs");
    });
    let mut next = 0;
    rate("jit, a new event each time", 5_000_000, &mut |machine| {
        next = (next + 1) % comms.len();
        machine.set_event(&comms[next]);
        jit.run(machine, 0, context).expect("it runs");
    });
}
