//! Which registers an instruction reads and writes: the one place passes learn an `Insn`'s operands.

use super::{AluOp, Insn, Mem, Operand, Reg};

/// How an instruction's explicit register operand is accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    ReadWrite,
}

impl Access {
    pub fn reads(self) -> bool {
        matches!(self, Access::Read | Access::ReadWrite)
    }

    pub fn writes(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }
}

/// Calls every explicit register operand of `insn` (not a `Call`'s or `Exit`'s implicit ones),
/// in operand order, with how it is accessed; the callback may rewrite the register. A written
/// operand comes after every operand the instruction only reads.
#[inline]
pub fn visit_regs_mut(insn: &mut Insn, mut visit: impl FnMut(&mut Reg, Access)) {
    let visit_base = |mem: &mut Mem, visit: &mut dyn FnMut(&mut Reg, Access)| {
        if let Mem::Reg(base, _) = mem {
            visit(base, Access::Read);
        }
    };
    match insn {
        Insn::Alu64 { op, dst, src } | Insn::Alu32 { op, dst, src } => {
            // `Neg` ignores its source operand.
            if let (false, Operand::Reg(src)) = (*op == AluOp::Neg, src) {
                visit(src, Access::Read);
            }
            let access = if *op == AluOp::Mov { Access::Write } else { Access::ReadWrite };
            visit(dst, access);
        }
        Insn::Load { dst, mem, .. } | Insn::LoadSigned { dst, mem, .. } => {
            visit_base(mem, &mut visit);
            visit(dst, Access::Write);
        }
        Insn::Store { mem, src, .. } => {
            visit_base(mem, &mut visit);
            visit(src, Access::Read);
        }
        Insn::StoreImm { mem, .. } => visit_base(mem, &mut visit),
        Insn::LoadImm64 { dst, .. }
        | Insn::LoadMap { dst, .. }
        | Insn::LoadMapValue { dst, .. }
        | Insn::LoadFunc { dst, .. }
        | Insn::AddrOf { dst, .. } => {
            visit(dst, Access::Write)
        }
        Insn::Branch { lhs, rhs, .. } => {
            visit(lhs, Access::Read);
            if let Operand::Reg(rhs) = rhs {
                visit(rhs, Access::Read);
            }
        }
        Insn::Jump { .. } | Insn::Call { .. } | Insn::Exit | Insn::Label(_) => {}
    }
}

/// Calls every explicit register operand of `insn` with how it is accessed.
#[inline]
pub fn visit_regs(insn: &Insn, mut visit: impl FnMut(Reg, Access)) {
    let mut copy = insn.clone();
    visit_regs_mut(&mut copy, |reg, access| visit(*reg, access));
}

/// The argument registers a call reads: `r1`..`r{args}`, at most five.
pub fn call_args(args: u8) -> impl Iterator<Item = Reg> {
    (0..usize::from(args).min(5)).map(Reg::arg)
}

/// Calls every register `insn` reads, explicit or implicit (a call's arguments, `Exit`'s `r0`).
pub fn for_each_read(insn: &Insn, mut visit: impl FnMut(Reg)) {
    visit_regs(insn, |reg, access| {
        if access.reads() {
            visit(reg)
        }
    });
    match insn {
        Insn::Call { args, .. } => call_args(*args).for_each(visit),
        Insn::Exit => visit(Reg::R0),
        _ => {}
    }
}

/// Calls every register `insn` gives a value: its destination, or `r0` for a call.
pub fn for_each_write(insn: &Insn, mut visit: impl FnMut(Reg)) {
    visit_regs(insn, |reg, access| {
        if access.writes() {
            visit(reg)
        }
    });
    if let Insn::Call { .. } = insn {
        visit(Reg::R0);
    }
}

/// The registers a call leaves without a value: `r1`..`r5`.
pub fn call_clobbers() -> impl Iterator<Item = Reg> {
    (0..5).map(Reg::arg)
}

/// Whether `insn` gives its destination a value without reading it (a move, a load, an address).
pub fn is_pure_def(insn: &Insn) -> bool {
    matches!(
        insn,
        Insn::Alu64 { op: AluOp::Mov, .. }
            | Insn::Alu32 { op: AluOp::Mov, .. }
            | Insn::Load { .. }
            | Insn::LoadSigned { .. }
            | Insn::LoadImm64 { .. }
            | Insn::LoadMap { .. }
            | Insn::LoadMapValue { .. }
            | Insn::LoadFunc { .. }
            | Insn::AddrOf { .. }
    )
}
