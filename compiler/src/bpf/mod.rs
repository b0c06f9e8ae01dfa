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
    /// The script span of every entry of `insns`.
    pub spans: Vec<Span>,
}

impl EncodedProgram {
    /// The bytecode as the kernel reads it.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(&self.insns)
    }
}
