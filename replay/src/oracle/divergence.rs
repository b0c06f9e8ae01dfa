//! Where a program first goes another way in the kernel than in the engine. For each slot of
//! the program in turn, a copy of it branches from that slot (instead of running it) to an epilogue that stores every
//! register defined there into a map; both run the copy (after the programs that ran before
//! it), and the first slot before which a register holding a number differs is where the two
//! parted. Registers holding addresses are left out: the kernel's and the engine's never agree.
//! Programs with callbacks are not searched (moving code across functions would break them).

use std::fmt;

use ferrotrace_compiler::bpf::opcode::{self as op, PSEUDO_FUNC, PSEUDO_MAP_VALUE};
use ferrotrace_compiler::bpf::{EncodedProgram, RawInsn};
use ferrotrace_compiler::elf::{write_object, ElfProgram};
use ferrotrace_compiler::lir::helper;
use ferrotrace_compiler::manifest::{BpfMapDef, BpfMapType, Manifest, MapId, MapRole, MapSpec};
use ferrotrace_runtime::session::Session;

use super::{engine_machine, run_in_engine};
use crate::backend::Backend;
use crate::program::{Program, Slot, Wide};

/// Registers r0..r9, then a mask of those stored.
const DUMP_SIZE: u32 = 11 * 8;
/// Where the epilogue keeps the registers on the stack, and the map key.
const SPILL_BASE: i16 = -8;
const KEY_AT: i16 = -96;

/// The first slot before which the registers differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    pub slot: usize,
    /// Where the script wrote the instruction at `slot`.
    pub at: String,
    pub register: usize,
    pub kernel: u64,
    pub engine: u64,
    /// The last instruction before `slot` that writes the register, and its place.
    pub writer: Option<(usize, String)>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the first instruction to see a difference is slot {} ({}): r{} is {:#x} in the kernel, {:#x} in the engine", self.slot, self.at, self.register, self.kernel, self.engine)?;
        if let Some((slot, at)) = &self.writer {
            write!(f, "; it was last written by slot {slot} ({at})")?;
        }
        Ok(())
    }
}

/// Finds where the last program of `run` first differs, the programs before it run first.
pub(super) fn first(manifest: &Manifest, programs: &[Program], run: &[usize], start_ns: u64, backend: Backend) -> Result<Divergence, String> {
    let (&target, before) = run.split_last().ok_or("no program")?;
    let program = &programs[target];
    if program.functions.len() > 1 {
        return Err("the program has callbacks".into());
    }
    let mut manifest = manifest.clone();
    let dump = MapId(manifest.maps.len() as u32);
    manifest.maps.push(MapSpec {
        symbol: "ftdump".into(),
        def: BpfMapDef { map_type: BpfMapType::Array, key_size: 4, value_size: DUMP_SIZE, max_entries: 1, flags: 0 },
        role: MapRole::Scratch,
    });
    let defined = defined_registers(program);
    for (slot, registers) in defined.iter().enumerate() {
        let Some(registers) = *registers else { continue };
        let patched = Program { index: target, slots: stop_at(program, slot, registers, dump.0), functions: vec![0] };
        let mut all: Vec<Program> = programs.to_vec();
        all[target] = patched.clone();
        let Ok(kernel) = dump_in_kernel(&manifest, &all, before, target, dump, start_ns) else { continue };
        let engine = dump_in_engine(&manifest, &all, before, patched, dump, start_ns, backend)?;
        let numbers = |value: u64| value >> 48 < crate::memory::ADDRESS_TAG || value >> 48 > crate::memory::FUNCTION_TAG;
        let differing = (0..10).find(|&register| registers & 1 << register != 0 && kernel[register] != engine[register] && numbers(engine[register]));
        if let Some(register) = differing {
            let spec = &manifest.programs[target];
            let place = |slot: usize| spec.insn_spans.get(slot).map_or_else(String::new, |span| manifest.locate(*span).to_string());
            let writer = (0..slot).rev().find(|&before| writes(&program.slots[before], register)).map(|writer| (writer, place(writer)));
            return Ok(Divergence { slot, at: place(slot), register, kernel: kernel[register], engine: engine[register], writer });
        }
    }
    Err("every register agreed before every instruction".into())
}

/// For each slot of the program's one function that runs, the registers surely defined
/// before it (a bit per register), as the kernel's verifier would see them; `None` where no
/// path arrives. Jumps go forward, so one pass in order sees every way into a slot first.
fn defined_registers(program: &Program) -> Vec<Option<u16>> {
    let mut before: Vec<Option<u16>> = vec![None; program.slots.len() + 1];
    before[0] = Some(1 << 1 | 1 << 10);
    for slot in 0..program.slots.len() {
        let Some(defined) = before[slot] else { continue };
        let (after, fallthrough, target) = match program.slots[slot] {
            Slot::Op(insn) => transfer(slot, insn, defined),
            Slot::Wide { dst, .. } => (defined | 1 << dst, Some(slot + 2), None),
            Slot::Tail => continue,
        };
        let last = before.len();
        for next in [fallthrough, target].into_iter().flatten().filter(|&next| next < last) {
            before[next] = Some(before[next].map_or(after, |known| known & after));
        }
    }
    before.truncate(program.slots.len());
    before
}

/// The registers defined after `insn`, and where control goes: on, and a jump's target.
fn transfer(slot: usize, insn: RawInsn, defined: u16) -> (u16, Option<usize>, Option<usize>) {
    let target = (slot as i64 + 1 + i64::from(insn.off)) as usize;
    match insn.code & op::CLASS_MASK {
        op::ALU | op::ALU64 | op::LDX => (defined | 1 << insn.dst, Some(slot + 1), None),
        op::JMP | op::JMP32 => match insn.code & op::OP_MASK {
            op::EXIT => (defined, None, None),
            op::CALL => ((defined & !0b11_1110) | 1, Some(slot + 1), None),
            op::JA => (defined, None, Some(target)),
            _ => (defined, Some(slot + 1), Some(target)),
        },
        _ => (defined, Some(slot + 1), None),
    }
}

/// Whether the instruction in `slot` writes `register`.
fn writes(slot: &Slot, register: usize) -> bool {
    match slot {
        Slot::Op(insn) => match insn.code & op::CLASS_MASK {
            op::ALU | op::ALU64 | op::LDX => usize::from(insn.dst) == register,
            op::JMP if insn.code & op::OP_MASK == op::CALL => register <= 5,
            _ => false,
        },
        Slot::Wide { dst, .. } => usize::from(*dst) == register,
        Slot::Tail => false,
    }
}

/// The program with `slot` replaced by a jump to an epilogue storing `registers` in map `dump`.
fn stop_at(program: &Program, slot: usize, registers: u16, dump: u32) -> Vec<Slot> {
    let mut slots = program.slots.clone();
    let end = slots.len();
    // `if r10 != 0`: always taken, but a jump the verifier's static pass sees both ways, so
    // the code after it is not refused as unreachable.
    let jump = RawInsn::new(op::JMP | op::JNE | op::K, 10, 0, (end - slot - 1) as i16, 0);
    match slots[slot] {
        Slot::Wide { .. } => {
            slots[slot] = Slot::Op(jump);
            slots[slot + 1] = Slot::Op(RawInsn::new(op::JMP | op::JA, 0, 0, 0, 0));
        }
        _ => slots[slot] = Slot::Op(jump),
    }
    let stored: Vec<u8> = (0..10u8).filter(|&register| registers & 1 << register != 0).collect();
    let insn = |code: u8, dst: u8, src: u8, off: i16, imm: i32| Slot::Op(RawInsn::new(code, dst, src, off, imm));
    for &register in &stored {
        slots.push(insn(op::STX | op::MEM | op::DW, 10, register, SPILL_BASE - 8 * i16::from(register), 0));
    }
    slots.push(insn(op::ST | op::MEM | op::W, 10, 0, KEY_AT, 0));
    slots.push(Slot::Wide { dst: 1, value: Wide::Map(dump) });
    slots.push(Slot::Tail);
    slots.push(insn(op::ALU64 | op::MOV | op::X, 2, 10, 0, 0));
    slots.push(insn(op::ALU64 | op::ADD | op::K, 2, 0, 0, i32::from(KEY_AT)));
    slots.push(insn(op::JMP | op::CALL, 0, 0, 0, helper::MAP_LOOKUP_ELEM as i32));
    let copies = stored.len() * 2 + 2;
    slots.push(insn(op::JMP | op::JEQ | op::K, 0, 0, copies as i16, 0));
    for &register in &stored {
        slots.push(insn(op::LDX | op::MEM | op::DW, 1, 10, SPILL_BASE - 8 * i16::from(register), 0));
        slots.push(insn(op::STX | op::MEM | op::DW, 0, 1, 8 * i16::from(register), 0));
    }
    slots.push(insn(op::ALU64 | op::MOV | op::K, 1, 0, 0, i32::from(registers)));
    slots.push(insn(op::STX | op::MEM | op::DW, 0, 1, 80, 0));
    slots.push(insn(op::ALU64 | op::MOV | op::K, 0, 0, 0, 0));
    slots.push(insn(op::JMP | op::EXIT, 0, 0, 0, 0));
    slots
}

/// The kernel's dump: the programs of `before` run, then `target`.
fn dump_in_kernel(manifest: &Manifest, programs: &[Program], before: &[usize], target: usize, dump: MapId, start_ns: u64) -> Result<[u64; 11], String> {
    let encoded: Vec<EncodedProgram> = programs.iter().map(encode).collect();
    let elf_programs: Vec<ElfProgram<'_>> =
        manifest.programs.iter().zip(&encoded).map(|(spec, code)| ElfProgram { symbol: &spec.symbol, section: &spec.section, code }).collect();
    let elf = write_object(&elf_programs, &manifest.maps, None).map_err(|error| error.to_string())?;
    let mut manifest = manifest.clone();
    for (spec, code) in manifest.programs.iter_mut().zip(&encoded) {
        spec.insn_spans.resize(code.insns.len(), spec.span);
    }
    let wanted: Vec<usize> = before.iter().copied().chain([target]).collect();
    let session = Session::load_where(&elf, &manifest, |index| wanted.contains(&index), false).map_err(|error| error.to_string())?;
    session.write_config(start_ns).map_err(|error| error.to_string())?;
    for &index in &wanted {
        session.run_program(index).map_err(|error| error.to_string())?;
    }
    let entries = session.map_entries(dump).map_err(|error| error.to_string())?;
    Ok(words(entries.first().and_then(|entry| entry.values.first()).map_or(&[][..], Vec::as_slice)))
}

/// The engine's dump, the same way.
fn dump_in_engine(manifest: &Manifest, programs: &[Program], before: &[usize], target: Program, dump: MapId, start_ns: u64, backend: Backend) -> Result<[u64; 11], String> {
    let mut machine = engine_machine(manifest, start_ns);
    for &index in before {
        run_in_engine(&mut machine, manifest, programs[index].clone(), backend)?;
    }
    run_in_engine(&mut machine, manifest, target, backend)?;
    let entries = machine.maps[dump.0 as usize].entries();
    Ok(words(entries.first().and_then(|entry| entry.values.first()).map_or(&[][..], Vec::as_slice)))
}

fn words(bytes: &[u8]) -> [u64; 11] {
    let mut words = [0u64; 11];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *word = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
    }
    words
}

/// A program's slots as instructions again, with its map loads to relocate.
fn encode(program: &Program) -> EncodedProgram {
    let mut insns = Vec::with_capacity(program.slots.len());
    let mut map_relocations = Vec::new();
    for (at, slot) in program.slots.iter().enumerate() {
        match *slot {
            Slot::Op(insn) => insns.push(insn),
            Slot::Tail => {}
            Slot::Wide { dst, value } => {
                let (src, low, high) = match value {
                    Wide::Number(number) => (0, number as u32 as i32, (number >> 32) as u32 as i32),
                    Wide::Map(map) => {
                        map_relocations.push((at, MapId(map)));
                        (0, 0, 0)
                    }
                    Wide::MapValue { map, offset } => {
                        map_relocations.push((at, MapId(map)));
                        (PSEUDO_MAP_VALUE, 0, offset as i32)
                    }
                    Wide::Function(target) => (PSEUDO_FUNC, (i64::from(target) - at as i64 - 1) as i32, 0),
                };
                insns.push(RawInsn::new(op::LD_IMM64, dst, src, 0, low));
                insns.push(RawInsn::new(0, 0, 0, 0, high));
            }
        }
    }
    let spans = vec![Default::default(); insns.len()];
    let function_starts = program.functions.iter().map(|&start| start as usize).collect();
    EncodedProgram { insns, map_relocations, function_refs: Vec::new(), field_relocations: Vec::new(), function_starts, spans }
}
