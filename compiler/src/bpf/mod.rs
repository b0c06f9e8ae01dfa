//! eBPF bytecode: encoding allocated LIR into instructions, and disassembling them for people.
//!
//! `encode` turns a register-allocated `lir::Function` into an `EncodedProgram`: the instruction
//! slots, where the map relocations go, and the script span of every slot. `disassemble` prints
//! an `EncodedProgram` in the kernel verifier's syntax, annotated with the script lines.

mod disasm;
mod encode;
mod insn;
pub mod opcode;

pub use disasm::disassemble;
pub use encode::{encode, EncodeError};
pub use insn::{decode, to_bytes, DecodeError, RawInsn, INSN_SIZE};

use crate::manifest::MapId;
use crate::span::Span;

/// A program's bytecode, ready for the ELF writer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncodedProgram {
    /// The instruction slots; an `ld_imm64` takes two.
    pub insns: Vec<RawInsn>,
    /// For each map load: the index of its `ld_imm64`'s first slot, and the map.
    pub map_relocations: Vec<(usize, MapId)>,
    /// For each function address load of one encoded function: the index of its `ld_imm64`'s
    /// first slot, and the function it names; `link` resolves them.
    pub function_refs: Vec<(usize, u32)>,
    /// For each instruction holding a kernel struct member's offset: its slot, and the member
    /// (`co_re`).
    pub field_relocations: Vec<(usize, crate::co_re::FieldAccess)>,
    /// Where each function of the program starts, after `link`: `[0]` for a program without
    /// callbacks. The kernel's BTF `func_info` needs these.
    pub function_starts: Vec<usize>,
    /// The script span of every entry of `insns`.
    pub spans: Vec<Span>,
}

impl EncodedProgram {
    /// The bytecode as the kernel reads it.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(&self.insns)
    }
}

/// A function address that names no function of the program: an earlier pass broke the LIR
/// contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("function {function} loads the address of function {target}, but the program has {count}")]
pub struct LinkError {
    pub function: usize,
    pub target: u32,
    pub count: usize,
}

/// Lays a program's encoded functions end to end, the program first, and points every
/// function address load at its function (`imm` is the distance from the next slot, as the
/// kernel reads `BPF_PSEUDO_FUNC`).
pub fn link(functions: Vec<EncodedProgram>) -> Result<EncodedProgram, LinkError> {
    let count = functions.len();
    let mut starts = Vec::with_capacity(count);
    let mut at = 0;
    for function in &functions {
        starts.push(at);
        at += function.insns.len();
    }
    let mut linked = EncodedProgram { function_starts: starts.clone(), ..EncodedProgram::default() };
    for (index, mut function) in functions.into_iter().enumerate() {
        let base = starts[index];
        for &(slot, target) in &function.function_refs {
            let start = *starts.get(target as usize).ok_or(LinkError { function: index, target, count })?;
            function.insns[slot].imm = (start as i64 - (base + slot) as i64 - 1) as i32;
        }
        linked.map_relocations.extend(function.map_relocations.into_iter().map(|(slot, map)| (base + slot, map)));
        linked.field_relocations.extend(function.field_relocations.into_iter().map(|(slot, field)| (base + slot, field)));
        linked.insns.extend(function.insns);
        linked.spans.extend(function.spans);
    }
    Ok(linked)
}

