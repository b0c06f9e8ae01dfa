//! The BPF program that records one tracepoint: it reserves an event in the ring buffer,
//! writes the task and clock values replay's helpers will return, copies the tracepoint's
//! record, the memory its pointer fields point to, the stacks and the task's relatives asked
//! for (`recording::layout`), and submits it.
//! A full ring buffer adds one to the per-CPU lost count instead. Written instruction by
//! instruction: about 20 plus 6 per pointer field, no stack but for the lost count's key.

use ferrotrace_compiler::bpf::opcode as op;
use ferrotrace_compiler::bpf::{EncodedProgram, RawInsn};
use ferrotrace_compiler::lir::helper;
use ferrotrace_compiler::manifest::MapId;
use ferrotrace_compiler::span::Span;

use crate::recording::{layout, RecordedProbe};

/// `bpf_ringbuf_reserve` and `bpf_ringbuf_submit`: the recording writes in place.
const RINGBUF_RESERVE: u32 = 131;
const RINGBUF_SUBMIT: u32 = 132;
/// `BPF_RB_NO_WAKEUP`: a submit wakes no reader (a wakeup costs more than the rest of the
/// program); the recorder reads on a timer instead.
const NO_WAKEUP: u64 = 1;
/// `BPF_F_USER_STACK`: `bpf_get_stack` takes the user stack.
const USER_STACK: i32 = 1 << 8;

/// Instructions with their map loads, built in order.
struct Assembler {
    insns: Vec<RawInsn>,
    map_relocations: Vec<(usize, MapId)>,
}

impl Assembler {
    fn emit(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.insns.push(RawInsn::new(code, dst, src, off, imm));
    }

    fn mov(&mut self, dst: u8, src: u8) {
        self.emit(op::ALU64 | op::MOV | op::X, dst, src, 0, 0);
    }

    fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.emit(op::ALU64 | op::MOV | op::K, dst, 0, 0, imm);
    }

    fn add_imm(&mut self, dst: u8, imm: i32) {
        self.emit(op::ALU64 | op::ADD | op::K, dst, 0, 0, imm);
    }

    fn call(&mut self, helper: u32) {
        self.emit(op::JMP | op::CALL, 0, 0, 0, helper as i32);
    }

    fn load_map(&mut self, dst: u8, map: MapId) {
        self.map_relocations.push((self.insns.len(), map));
        self.emit(op::LD_IMM64, dst, 0, 0, 0);
        self.emit(0, 0, 0, 0, 0);
    }

    /// `*(size *)(base + at) = src`.
    fn store(&mut self, size: u8, base: u8, at: usize, src: u8) {
        self.emit(op::STX | op::MEM | size, base, src, at as i16, 0);
    }

    /// Calls `helper` and stores its `r0` at `at` of the event (in r7).
    fn call_into(&mut self, helper: u32, size: u8, at: usize) {
        self.call(helper);
        self.store(size, 7, at, 0);
    }

    /// `r1 = r7 + at`: the event's bytes from `at`, as a helper's destination.
    fn event_at(&mut self, at: usize) {
        self.mov(1, 7);
        self.add_imm(1, at as i32);
    }
}

/// The program recording `probe` as probe number `index`, into `ring`, counting what the ring
/// cannot take in `lost`.
pub fn recording_program(index: u32, probe: &RecordedProbe, syscall: bool, ring: MapId, lost: MapId) -> EncodedProgram {
    let mut asm = Assembler { insns: Vec::new(), map_relocations: Vec::new() };
    asm.mov(6, 1);
    asm.load_map(1, ring);
    asm.mov_imm(2, probe.event_size() as i32);
    asm.mov_imm(3, 0);
    asm.call(RINGBUF_RESERVE);
    let full = asm.insns.len();
    asm.emit(op::JMP | op::JEQ | op::K, 0, 0, 0, 0);
    asm.mov(7, 0);
    asm.emit(op::ST | op::MEM | op::W, 7, 0, layout::PROBE as i16, index as i32);
    asm.call_into(helper::GET_SMP_PROCESSOR_ID, op::W, layout::CPU);
    asm.call_into(helper::GET_CURRENT_PID_TGID, op::DW, layout::PID_TGID);
    asm.call_into(helper::GET_CURRENT_UID_GID, op::DW, layout::UID_GID);
    asm.call_into(helper::KTIME_GET_NS, op::DW, layout::TIME);
    asm.call_into(helper::GET_CURRENT_CGROUP_ID, op::DW, layout::CGROUP);
    asm.call_into(helper::JIFFIES64, op::DW, layout::JIFFIES);
    asm.call_into(helper::GET_CURRENT_TASK, op::DW, layout::TASK);
    asm.event_at(layout::COMM);
    asm.mov_imm(2, 16);
    asm.call(helper::GET_CURRENT_COMM);
    asm.event_at(layout::CONTEXT);
    asm.mov_imm(2, probe.context_size as i32);
    asm.mov(3, 6);
    asm.call(helper::PROBE_READ_KERNEL);
    let mut at = layout::CONTEXT + probe.context_size as usize;
    for pointer in &probe.pointers {
        asm.emit(op::LDX | op::MEM | op::DW, 3, 6, pointer.offset as i16, 0);
        asm.event_at(at + layout::POINTER_HEADER);
        asm.mov_imm(2, pointer.bound as i32);
        let read = match (pointer.string, syscall) {
            (true, true) => helper::PROBE_READ_USER_STR,
            (true, false) => helper::PROBE_READ_KERNEL_STR,
            (false, true) => helper::PROBE_READ_USER,
            (false, false) => helper::PROBE_READ_KERNEL,
        };
        asm.call_into(read, op::DW, at);
        at += layout::POINTER_HEADER + pointer.bound as usize;
    }
    for (frames, flags) in [(probe.kernel_stack, 0), (probe.user_stack, USER_STACK)] {
        if frames == 0 {
            continue;
        }
        asm.event_at(at + layout::STACK_HEADER);
        asm.mov(2, 1);
        asm.mov(1, 6);
        asm.mov_imm(3, frames as i32 * 8);
        asm.mov_imm(4, flags);
        asm.call_into(helper::GET_STACK, op::DW, at);
        at += layout::STACK_HEADER + frames as usize * 8;
    }
    for relative in &probe.relatives {
        // The relative's pointer, then its members through it (a failed read leaves zeros).
        asm.emit(op::LDX | op::MEM | op::DW, 3, 7, layout::TASK as i16, 0);
        asm.add_imm(3, relative.link_offset as i32);
        asm.event_at(at);
        asm.mov_imm(2, 8);
        asm.call(helper::PROBE_READ_KERNEL);
        for ((_, offset, size), start) in relative.member_starts() {
            asm.emit(op::LDX | op::MEM | op::DW, 3, 7, at as i16, 0);
            asm.add_imm(3, *offset as i32);
            asm.event_at(at + start);
            asm.mov_imm(2, *size as i32);
            asm.call(helper::PROBE_READ_KERNEL);
        }
        at += relative.size();
    }
    asm.mov(1, 7);
    asm.mov_imm(2, NO_WAKEUP as i32);
    asm.call(RINGBUF_SUBMIT);
    asm.mov_imm(0, 0);
    asm.emit(op::JMP | op::EXIT, 0, 0, 0, 0);
    // The ring buffer is full: one more lost event on this CPU.
    let lost_at = asm.insns.len();
    asm.insns[full].off = (lost_at - full - 1) as i16;
    asm.emit(op::ST | op::MEM | op::W, 10, 0, -8, 0);
    asm.load_map(1, lost);
    asm.mov(2, 10);
    asm.add_imm(2, -8);
    asm.call(helper::MAP_LOOKUP_ELEM);
    asm.emit(op::JMP | op::JEQ | op::K, 0, 0, 3, 0);
    asm.emit(op::LDX | op::MEM | op::DW, 1, 0, 0, 0);
    asm.add_imm(1, 1);
    asm.store(op::DW, 0, 0, 1);
    asm.mov_imm(0, 0);
    asm.emit(op::JMP | op::EXIT, 0, 0, 0, 0);
    let spans = vec![Span::default(); asm.insns.len()];
    EncodedProgram {
        insns: asm.insns,
        map_relocations: asm.map_relocations,
        function_refs: Vec::new(),
        field_relocations: Vec::new(),
        function_starts: vec![0],
        spans,
    }
}
