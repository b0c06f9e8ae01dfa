//! Proves the compiler's ELF objects load into the real kernel through aya: a `raw_tp` program
//! run with `BPF_PROG_TEST_RUN` and a tracepoint program attached to `sys_enter_getppid`, each
//! counting into a per-CPU array that the test then reads back; and a compiled program's CO-RE
//! relocations applied by aya-obj.

use std::ffi::CString;
use std::path::Path;

use aya::maps::PerCpuArray;
use aya::programs::{RawTracePoint, RawTracePointRunOptions, TestRun, TracePoint};
use aya::Ebpf;
use ferrotrace_compiler::bpf::{self, EncodedProgram};
use ferrotrace_compiler::btf::{Btf, Family, Writer, WrittenMember};
use ferrotrace_compiler::catalog::{Catalog, CatalogError, TracepointFormat};
use ferrotrace_compiler::elf::{write_object, ElfProgram};
use ferrotrace_compiler::lir::{
    helper, AluOp, Cond, Function, Insn, Inst, Label, Mem, Operand, Reg, Size, Slot, SlotInfo,
};
use ferrotrace_compiler::manifest::{BpfMapDef, BpfMapType, MapId, MapRole, MapSpec};
use ferrotrace_compiler::span::Span;

/// Whether this machine can load BPF; prints why not, or fails if kernel tests are required.
fn kernel_tests_enabled() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    let reason = "not running as root, so BPF programs cannot be loaded";
    if std::env::var("FERROTRACE_KERNEL_TESTS").as_deref() == Ok("require") {
        panic!("FERROTRACE_KERNEL_TESTS=require, but {reason}");
    }
    eprintln!("skipping kernel test: {reason}");
    false
}

/// Mounts tracefs at `/sys/kernel/tracing` unless its events are already visible there.
fn ensure_tracefs() {
    if Path::new("/sys/kernel/tracing/events").exists() {
        return;
    }
    let fs = CString::new("tracefs").expect("no NUL");
    let target = CString::new("/sys/kernel/tracing").expect("no NUL");
    // SAFETY: every pointer is a valid NUL-terminated string that outlives the call.
    let status =
        unsafe { libc::mount(fs.as_ptr(), target.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
    assert_eq!(status, 0, "mount tracefs: {}", std::io::Error::last_os_error());
}

/// `map[0] += 1` on a per-CPU array, then `return 0`, already register-allocated: the key
/// lives in slot 0 at `r10 - 8`.
fn count_into(name: &str, map: MapId) -> Function {
    let key = Mem::Slot(Slot(0), 0);
    let value = Mem::Reg(Reg::R0, 0);
    let skip = Label(0);
    let insns = vec![
        Insn::LoadMap { dst: Reg::R1, map },
        Insn::StoreImm { size: Size::W, mem: key, imm: 0 },
        Insn::AddrOf { dst: Reg::R2, slot: Slot(0), off: 0 },
        Insn::Call { helper: helper::MAP_LOOKUP_ELEM, args: 2 },
        Insn::Branch { cond: Cond::Eq, lhs: Reg::R0, rhs: Operand::Imm(0), target: skip },
        Insn::Load { size: Size::DW, dst: Reg::R1, mem: value },
        Insn::Alu64 { op: AluOp::Add, dst: Reg::R1, src: Operand::Imm(1) },
        Insn::Store { size: Size::DW, mem: value, src: Reg::R1 },
        Insn::Label(skip),
        Insn::Alu64 { op: AluOp::Mov, dst: Reg::R0, src: Operand::Imm(0) },
        Insn::Exit,
    ];
    Function {
        name: name.to_string(),
        params: 1,
        insts: insns.into_iter().map(|insn| Inst { insn, span: Span::DUMMY, field: None }).collect(),
        slots: vec![SlotInfo { size: 4, align: 4 }],
        vregs: 0,
        labels: 1,
        frame: Some(vec![-8]),
    }
}

fn counter_map(symbol: &str) -> MapSpec {
    let def = BpfMapDef {
        map_type: BpfMapType::PercpuArray,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        flags: 0,
    };
    MapSpec { symbol: symbol.to_string(), def, role: MapRole::Scratch }
}

/// An object with `begin` (raw_tp, counting into `m0`) and `getppid` (tracepoint, into `m1`).
fn object() -> Vec<u8> {
    let begin: EncodedProgram = bpf::encode(&count_into("begin", MapId(0))).expect("encodes");
    let getppid = bpf::encode(&count_into("getppid", MapId(1))).expect("encodes");
    let programs = [
        ElfProgram { symbol: "begin", section: "raw_tp/begin", code: &begin },
        ElfProgram {
            symbol: "getppid",
            section: "tracepoint/syscalls/sys_enter_getppid",
            code: &getppid,
        },
    ];
    write_object(&programs, &[counter_map("m0"), counter_map("m1")], None).expect("writes")
}

/// Loads `bytes` from a 4-byte-aligned copy, as `Ebpf::load` requires.
fn load_aligned(bytes: &[u8]) -> Ebpf {
    let mut buffer = vec![0u8; bytes.len() + 3];
    let start = buffer.as_ptr().align_offset(4);
    buffer[start..start + bytes.len()].copy_from_slice(bytes);
    Ebpf::load(&buffer[start..start + bytes.len()]).expect("aya loads the object")
}

/// The sum over all CPUs of entry 0 of the per-CPU array `name`.
fn count(ebpf: &Ebpf, name: &str) -> u64 {
    let map = ebpf.map(name).expect("map exists");
    let array = PerCpuArray::<_, u64>::try_from(map).expect("a per-CPU array of u64");
    array.get(&0, 0).expect("entry 0").iter().sum()
}

#[test]
fn raw_tracepoint_counts_each_test_run() {
    if !kernel_tests_enabled() {
        return;
    }
    let mut ebpf = load_aligned(&object());
    let program: &mut RawTracePoint =
        ebpf.program_mut("begin").expect("program").try_into().expect("raw_tp");
    program.load().expect("the verifier accepts it");
    for _ in 0..3 {
        let result = program.test_run(RawTracePointRunOptions::new()).expect("test run");
        assert_eq!(result.return_value, 0);
    }
    assert_eq!(count(&ebpf, "m0"), 3);
    assert_eq!(count(&ebpf, "m1"), 0);
}

#[test]
fn tracepoint_counts_getppid_calls() {
    if !kernel_tests_enabled() {
        return;
    }
    ensure_tracefs();
    let mut ebpf = load_aligned(&object());
    let program: &mut TracePoint =
        ebpf.program_mut("getppid").expect("program").try_into().expect("tracepoint");
    program.load().expect("the verifier accepts it");
    program.attach("syscalls", "sys_enter_getppid").expect("attaches");
    assert_eq!(count(&ebpf, "m1"), 0);
    for _ in 0..5 {
        // SAFETY: getppid has no preconditions and cannot fail.
        unsafe { libc::getppid() };
    }
    // Other processes may call getppid too, so at least our five.
    let calls = count(&ebpf, "m1");
    assert!(calls >= 5, "counted {calls} getppid calls, expected at least 5");
}

/// A compile's CO-RE relocations are the standard records: compiled against a kernel whose
/// `struct task_struct` has `pid` where this one has `prio`, the object read by aya, which
/// moves the load to this kernel's `pid` before the verifier sees it, stores the running
/// thread's id.
#[test]
fn aya_applies_the_compilers_co_re_relocations() {
    if !kernel_tests_enabled() {
        return;
    }
    let compiled = ferrotrace_compiler::driver::compile("begin { @x = curtask->pid; }", &OtherLayout::new()).expect("compiles");
    let map = compiled.manifest.maps.iter().find(|map| matches!(map.role, MapRole::User(_))).expect("the map of @x").symbol.clone();
    let mut ebpf = load_aligned(&compiled.elf);
    let symbol = &compiled.manifest.programs[0].symbol;
    let program: &mut RawTracePoint = ebpf.program_mut(symbol).expect("program").try_into().expect("raw_tp");
    program.load().expect("the verifier accepts it");
    program.test_run(RawTracePointRunOptions::new()).expect("test run");
    let stored = aya::maps::HashMap::<_, u64, u64>::try_from(ebpf.map(&map).expect("the map")).expect("a hash of u64");
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() } as u64;
    assert_eq!(stored.get(&0, 0).expect("@x was stored"), tid);
}

/// This kernel's types but for `struct task_struct`, whose `pid` and `prio` trade places.
struct OtherLayout(std::sync::Arc<Btf>);

impl OtherLayout {
    fn new() -> OtherLayout {
        let here = Btf::parse(std::fs::read("/sys/kernel/btf/vmlinux").expect("this kernel's BTF")).expect("BTF");
        let task = here.find("task_struct", Family::StructOrUnion).expect("struct task_struct");
        let at = |name: &str| here.member(task, name).expect("a member of task_struct").bit_offset;
        let mut other = Writer::new(None).expect("a writer");
        let int = other.int("int", 4, true, false, false).expect("int");
        let strukt = other.reserve().expect("an id");
        let member = |name, bit_offset| WrittenMember { name, ty: int, bit_offset, bitfield_size: None };
        let size = here.size_of(task).expect("its size") as u32;
        other.composite(strukt, false, "task_struct", size, &[member("pid", at("prio")), member("prio", at("pid"))]).expect("the struct");
        OtherLayout(std::sync::Arc::new(Btf::parse(other.finish()).expect("BTF")))
    }
}

impl Catalog for OtherLayout {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        Ok(Vec::new())
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        Err(CatalogError::NotFound(format!("{category}:{name}")))
    }

    fn kernel_types(&self) -> Option<&std::sync::Arc<Btf>> {
        Some(&self.0)
    }
}
