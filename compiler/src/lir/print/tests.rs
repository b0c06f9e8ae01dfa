//! The LIR text form of every instruction kind, before and after frame offsets are known.

use super::print_function;
use crate::lir::helper::MAP_LOOKUP_ELEM;
use crate::lir::{AluOp, Cond, Insn, Mem, Operand, Reg, Size};
use crate::regalloc::testing::Builder;

#[test]
fn every_instruction_kind() {
    let mut b = Builder::new("kinds");
    let slot = b.slot(16, 8);
    let (v0, v1, v2) = (b.vreg(), b.vreg(), b.vreg());
    let (skip, end) = (b.label(), b.label());
    b.mov(v0, Reg::R1).alu(AluOp::Add, v0, Operand::Imm(4)).alu(AluOp::Div, v0, Operand::Reg(v1));
    b.alu(AluOp::Arsh, v0, Operand::Imm(3)).alu(AluOp::Neg, v0, Operand::Imm(0));
    b.push(Insn::Alu32 { op: AluOp::Xor, dst: v1, src: Operand::Reg(v2) });
    b.push(Insn::Alu32 { op: AluOp::Mov, dst: Reg::R2, src: Operand::Imm(-1) });
    b.load(v2, Mem::Slot(slot, 8));
    b.push(Insn::LoadSigned { size: Size::W, dst: v2, mem: Mem::Reg(v0, -4) });
    b.store(Mem::Reg(v0, 0), v1);
    b.push(Insn::StoreImm { size: Size::H, mem: Mem::Slot(slot, 2), imm: 7 });
    b.push(Insn::LoadImm64 { dst: v1, imm: 1 << 40 }).load_map(v2, 3);
    b.addr_of(v0, slot).push(Insn::AddrOf { dst: v0, slot, off: 8 });
    b.branch(Cond::SLe, v0, Operand::Reg(v1), skip).branch(Cond::Set, v0, Operand::Imm(1), end);
    b.place(skip).call(MAP_LOOKUP_ELEM, 2).call(999, 0).jump(end);
    b.place(end).push(Insn::Exit);
    let mut func = b.finish();
    let before = print_function(&func);
    func.frame = Some(vec![-16]);
    insta::assert_snapshot!(format!("{before}\n{}", print_function(&func)));
}
