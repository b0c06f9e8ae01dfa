//! The encoder: register-allocated LIR in, eBPF instruction slots out.
//!
//! Each LIR instruction becomes one slot, except `LoadImm64`/`LoadMap`/`LoadFunc` (two slots, `ld_imm64`),
//! `AddrOf` (a `mov` and an `add`), `Label` (none) and a 64-bit `mov` of a register to itself
//! (none). Jumps are encoded with a zero offset first and patched once every label's slot is
//! known, so an offset counts the slots in between, `ld_imm64` as two.

use thiserror::Error;

use super::insn::RawInsn;
use super::opcode as op;
use super::EncodedProgram;
use crate::lir::{AluOp, Cond, Function, Insn, Inst, Label, Mem, Operand, Reg, Size};
use crate::manifest::MapId;
use crate::span::Span;

/// Why a function could not be encoded. These mean an earlier pass broke the LIR contract;
/// `index` is the offending instruction's position in `Function::insts`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("function `{function}` has no stack frame: run register allocation first")]
    MissingFrame { function: String },
    #[error("instruction {index} still uses virtual register `v{vreg}`")]
    VirtualRegister { index: usize, vreg: u32 },
    #[error("instruction {index} uses `r{reg}`, but eBPF has only r0..r10")]
    NoSuchRegister { index: usize, reg: u8 },
    #[error("instruction {index} uses slot `s{slot}`, which has no frame offset")]
    UnknownSlot { index: usize, slot: u32 },
    #[error("instruction {index} addresses `r10 {offset:+}`, outside the 16-bit offset range")]
    OffsetOutOfRange { index: usize, offset: i64 },
    #[error("instruction {index} calls helper {helper}, which is not a valid helper id")]
    HelperOutOfRange { index: usize, helper: u32 },
    #[error("label `L{label}` is defined twice (again at instruction {index})")]
    DuplicateLabel { index: usize, label: u32 },
    #[error("instruction {index} jumps to label `L{label}`, which is never defined")]
    UndefinedLabel { index: usize, label: u32 },
    #[error("instruction {index} jumps {distance} slots, farther than a 16-bit offset reaches")]
    JumpOutOfRange { index: usize, distance: i64 },
}

/// Encodes a register-allocated function (every `Reg` physical, `frame` set).
pub fn encode(func: &Function) -> Result<EncodedProgram, EncodeError> {
    let frame = func
        .frame
        .as_deref()
        .ok_or_else(|| EncodeError::MissingFrame { function: func.name.clone() })?;
    let mut encoder = Encoder { frame, label_slots: vec![None; func.labels as usize], ..Encoder::default() };
    // Most instructions take one slot; `ld_imm64` and `AddrOf` take two, labels none.
    encoder.program.insns.reserve(func.insts.len());
    encoder.program.spans.reserve(func.insts.len());
    for (index, inst) in func.insts.iter().enumerate() {
        encoder.encode_inst(index, inst)?;
    }
    encoder.finish()
}

/// A jump slot waiting for its label's position.
struct PendingJump {
    slot: usize,
    target: Label,
    index: usize,
}

#[derive(Default)]
struct Encoder<'f> {
    frame: &'f [i16],
    program: EncodedProgram,
    /// Each label's slot, indexed by label.
    label_slots: Vec<Option<usize>>,
    jumps: Vec<PendingJump>,
}

impl Encoder<'_> {
    fn encode_inst(&mut self, index: usize, inst: &Inst) -> Result<(), EncodeError> {
        let span = inst.span;
        if let Some(field) = &inst.field {
            // A tagged load or `add` is one slot: this one.
            self.program.field_relocations.push((self.program.insns.len(), (**field).clone()));
        }
        match inst.insn {
            Insn::Alu64 { op: AluOp::Mov, dst, src: Operand::Reg(src) } if dst == src => {}
            Insn::Alu64 { op, dst, src } => self.alu(index, span, op::ALU64, op, dst, src)?,
            Insn::Alu32 { op, dst, src } => self.alu(index, span, op::ALU, op, dst, src)?,
            Insn::Load { size, dst, mem } => self.load(index, span, op::MEM, size, dst, mem)?,
            Insn::LoadSigned { size, dst, mem } => {
                self.load(index, span, op::MEMSX, size, dst, mem)?
            }
            Insn::Store { size, mem, src } => {
                let (base, off) = self.mem(index, mem)?;
                let src = phys(index, src)?;
                self.emit(
                    span,
                    RawInsn::new(op::STX | op::MEM | size_bits(size), base, src, off, 0),
                );
            }
            Insn::StoreImm { size, mem, imm } => {
                let (base, off) = self.mem(index, mem)?;
                self.emit(
                    span,
                    RawInsn::new(op::ST | op::MEM | size_bits(size), base, 0, off, imm),
                );
            }
            Insn::LoadImm64 { dst, imm } => self.ld_imm64(span, phys(index, dst)?, 0, imm),
            Insn::LoadMap { dst, map } => self.load_map(index, span, dst, map)?,
            Insn::LoadMapValue { dst, map, offset } => {
                let dst = phys(index, dst)?;
                self.program.map_relocations.push((self.program.insns.len(), map));
                self.ld_imm64(span, dst, op::PSEUDO_MAP_VALUE, i64::from(offset) << 32);
            }
            Insn::LoadFunc { dst, func } => {
                self.program.function_refs.push((self.program.insns.len(), func));
                self.ld_imm64(span, phys(index, dst)?, op::PSEUDO_FUNC, 0);
            }
            Insn::AddrOf { dst, slot, off } => self.addr_of(index, span, dst, slot.0, off)?,
            Insn::Jump { target } => self.jump(index, span, op::JA, 0, Operand::Imm(0), target)?,
            Insn::Branch { cond, lhs, rhs, target } => {
                let lhs = phys(index, lhs)?;
                self.jump(index, span, cond_bits(cond), lhs, rhs, target)?
            }
            Insn::Call { helper, .. } => {
                let imm = i32::try_from(helper)
                    .map_err(|_| EncodeError::HelperOutOfRange { index, helper })?;
                self.emit(span, RawInsn::new(op::JMP | op::CALL, 0, 0, 0, imm));
            }
            Insn::Exit => self.emit(span, RawInsn::new(op::JMP | op::EXIT, 0, 0, 0, 0)),
            Insn::Label(label) => {
                let at = label.0 as usize;
                if at >= self.label_slots.len() {
                    self.label_slots.resize(at + 1, None);
                }
                if self.label_slots[at].replace(self.program.insns.len()).is_some() {
                    return Err(EncodeError::DuplicateLabel { index, label: label.0 });
                }
            }
        }
        Ok(())
    }

    fn emit(&mut self, span: Span, insn: RawInsn) {
        self.program.insns.push(insn);
        self.program.spans.push(span);
    }

    fn alu(
        &mut self,
        index: usize,
        span: Span,
        class: u8,
        alu: AluOp,
        dst: Reg,
        src: Operand,
    ) -> Result<(), EncodeError> {
        let dst = phys(index, dst)?;
        let operation = alu_bits(alu);
        let insn = match (alu, src) {
            // `neg` takes no operand; the verifier rejects anything in the source fields.
            (AluOp::Neg, _) => RawInsn::new(class | operation | op::K, dst, 0, 0, 0),
            (_, Operand::Imm(imm)) => RawInsn::new(class | operation | op::K, dst, 0, 0, imm),
            (_, Operand::Reg(src)) => {
                RawInsn::new(class | operation | op::X, dst, phys(index, src)?, 0, 0)
            }
        };
        self.emit(span, insn);
        Ok(())
    }

    fn load(
        &mut self,
        index: usize,
        span: Span,
        mode: u8,
        size: Size,
        dst: Reg,
        mem: Mem,
    ) -> Result<(), EncodeError> {
        let dst = phys(index, dst)?;
        let (base, off) = self.mem(index, mem)?;
        self.emit(span, RawInsn::new(op::LDX | mode | size_bits(size), dst, base, off, 0));
        Ok(())
    }

    fn ld_imm64(&mut self, span: Span, dst: u8, src: u8, imm: i64) {
        // The low 32 bits go in the first slot, the high 32 bits in the second.
        let low = imm as i32;
        let high = (imm >> 32) as i32;
        self.emit(span, RawInsn::new(op::LD_IMM64, dst, src, 0, low));
        self.emit(span, RawInsn::new(0, 0, 0, 0, high));
    }

    fn load_map(
        &mut self,
        index: usize,
        span: Span,
        dst: Reg,
        map: MapId,
    ) -> Result<(), EncodeError> {
        let dst = phys(index, dst)?;
        self.program.map_relocations.push((self.program.insns.len(), map));
        self.ld_imm64(span, dst, op::PSEUDO_MAP_FD, 0);
        Ok(())
    }

    fn addr_of(
        &mut self,
        index: usize,
        span: Span,
        dst: Reg,
        slot: u32,
        off: i16,
    ) -> Result<(), EncodeError> {
        let dst = phys(index, dst)?;
        let offset = self.slot_offset(index, slot, off)?;
        self.emit(span, RawInsn::new(op::ALU64 | op::MOV | op::X, dst, op::FRAME_POINTER, 0, 0));
        if offset != 0 {
            self.emit(span, RawInsn::new(op::ALU64 | op::ADD | op::K, dst, 0, 0, offset.into()));
        }
        Ok(())
    }

    fn jump(
        &mut self,
        index: usize,
        span: Span,
        operation: u8,
        lhs: u8,
        rhs: Operand,
        target: Label,
    ) -> Result<(), EncodeError> {
        let insn = match rhs {
            Operand::Imm(imm) => RawInsn::new(op::JMP | operation | op::K, lhs, 0, 0, imm),
            Operand::Reg(rhs) => {
                RawInsn::new(op::JMP | operation | op::X, lhs, phys(index, rhs)?, 0, 0)
            }
        };
        self.jumps.push(PendingJump { slot: self.program.insns.len(), target, index });
        self.emit(span, insn);
        Ok(())
    }

    /// The base register and offset of a memory operand.
    fn mem(&self, index: usize, mem: Mem) -> Result<(u8, i16), EncodeError> {
        match mem {
            Mem::Reg(base, off) => Ok((phys(index, base)?, off)),
            Mem::Slot(slot, off) => Ok((op::FRAME_POINTER, self.slot_offset(index, slot.0, off)?)),
        }
    }

    /// `frame[slot] + off`: the slot's byte at `off` as an offset from r10.
    fn slot_offset(&self, index: usize, slot: u32, off: i16) -> Result<i16, EncodeError> {
        let base = self.frame.get(slot as usize).ok_or(EncodeError::UnknownSlot { index, slot })?;
        let offset = i64::from(*base) + i64::from(off);
        i16::try_from(offset).map_err(|_| EncodeError::OffsetOutOfRange { index, offset })
    }

    /// Patches every jump's offset now that all labels have slots.
    fn finish(mut self) -> Result<EncodedProgram, EncodeError> {
        for jump in &self.jumps {
            let target = self
                .label_slots
                .get(jump.target.0 as usize)
                .copied()
                .flatten()
                .ok_or(EncodeError::UndefinedLabel { index: jump.index, label: jump.target.0 })?;
            let distance = target as i64 - (jump.slot as i64 + 1);
            let off = i16::try_from(distance)
                .map_err(|_| EncodeError::JumpOutOfRange { index: jump.index, distance })?;
            self.program.insns[jump.slot].off = off;
        }
        Ok(self.program)
    }
}

/// The hardware register number of an allocated register.
fn phys(index: usize, reg: Reg) -> Result<u8, EncodeError> {
    match reg {
        Reg::Phys(reg) if reg <= op::FRAME_POINTER => Ok(reg),
        Reg::Phys(reg) => Err(EncodeError::NoSuchRegister { index, reg }),
        Reg::Virt(vreg) => Err(EncodeError::VirtualRegister { index, vreg }),
    }
}

fn size_bits(size: Size) -> u8 {
    match size {
        Size::B => op::B,
        Size::H => op::H,
        Size::W => op::W,
        Size::DW => op::DW,
    }
}

/// The operation bits of an ALU op. Signed division is built from unsigned instructions
/// (`Builder::signed_div_mod`): BPF's own (cpu v4) needs Linux 6.6.
fn alu_bits(alu: AluOp) -> u8 {
    match alu {
        AluOp::Add => op::ADD,
        AluOp::Sub => op::SUB,
        AluOp::Mul => op::MUL,
        AluOp::Div => op::DIV,
        AluOp::Or => op::OR,
        AluOp::And => op::AND,
        AluOp::Lsh => op::LSH,
        AluOp::Rsh => op::RSH,
        AluOp::Arsh => op::ARSH,
        AluOp::Mod => op::MOD,
        AluOp::Xor => op::XOR,
        AluOp::Mov => op::MOV,
        AluOp::Neg => op::NEG,
    }
}

fn cond_bits(cond: Cond) -> u8 {
    match cond {
        Cond::Eq => op::JEQ,
        Cond::Ne => op::JNE,
        Cond::Gt => op::JGT,
        Cond::Ge => op::JGE,
        Cond::Lt => op::JLT,
        Cond::Le => op::JLE,
        Cond::SGt => op::JSGT,
        Cond::SGe => op::JSGE,
        Cond::SLt => op::JSLT,
        Cond::SLe => op::JSLE,
        Cond::Set => op::JSET,
    }
}

#[cfg(test)]
mod tests;
