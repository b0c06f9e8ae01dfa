//! Test support for LIR passes: a builder for hand-written functions and an interpreter.

pub(crate) mod interp;

use crate::lir::{
    AluOp, Cond, Function, Insn, Inst, Label, Mem, Operand, Reg, Size, Slot, SlotInfo,
};
use crate::manifest::MapId;
use crate::span::Span;

/// Builds a `Function` one instruction at a time; instruction `i` gets span `10i..10i+1`, so
/// tests can see which instruction inserted code serves.
pub(crate) struct Builder {
    func: Function,
}

impl Builder {
    pub(crate) fn new(name: &str) -> Builder {
        Builder { func: Function { name: name.to_string(), ..Function::default() } }
    }

    pub(crate) fn vreg(&mut self) -> Reg {
        self.func.vregs += 1;
        Reg::Virt(self.func.vregs - 1)
    }

    pub(crate) fn label(&mut self) -> Label {
        self.func.labels += 1;
        Label(self.func.labels - 1)
    }

    pub(crate) fn slot(&mut self, size: u32, align: u32) -> Slot {
        self.func.slots.push(SlotInfo { size, align });
        Slot(self.func.slots.len() as u32 - 1)
    }

    pub(crate) fn push(&mut self, insn: Insn) -> &mut Builder {
        let at = 10 * self.func.insts.len();
        self.func.insts.push(Inst { insn, span: Span::new(at, at + 1), field: None });
        self
    }

    pub(crate) fn mov(&mut self, dst: Reg, src: Reg) -> &mut Builder {
        self.alu(AluOp::Mov, dst, Operand::Reg(src))
    }

    pub(crate) fn mov_imm(&mut self, dst: Reg, imm: i32) -> &mut Builder {
        self.alu(AluOp::Mov, dst, Operand::Imm(imm))
    }

    pub(crate) fn alu(&mut self, op: AluOp, dst: Reg, src: Operand) -> &mut Builder {
        self.push(Insn::Alu64 { op, dst, src })
    }

    pub(crate) fn load(&mut self, dst: Reg, mem: Mem) -> &mut Builder {
        self.push(Insn::Load { size: Size::DW, dst, mem })
    }

    pub(crate) fn store(&mut self, mem: Mem, src: Reg) -> &mut Builder {
        self.push(Insn::Store { size: Size::DW, mem, src })
    }

    pub(crate) fn addr_of(&mut self, dst: Reg, slot: Slot) -> &mut Builder {
        self.push(Insn::AddrOf { dst, slot, off: 0 })
    }

    pub(crate) fn load_map(&mut self, dst: Reg, map: u32) -> &mut Builder {
        self.push(Insn::LoadMap { dst, map: MapId(map) })
    }

    pub(crate) fn call(&mut self, helper: u32, args: u8) -> &mut Builder {
        self.push(Insn::Call { helper, args })
    }

    pub(crate) fn branch(
        &mut self,
        cond: Cond,
        lhs: Reg,
        rhs: Operand,
        target: Label,
    ) -> &mut Builder {
        self.push(Insn::Branch { cond, lhs, rhs, target })
    }

    pub(crate) fn jump(&mut self, target: Label) -> &mut Builder {
        self.push(Insn::Jump { target })
    }

    pub(crate) fn place(&mut self, label: Label) -> &mut Builder {
        self.push(Insn::Label(label))
    }

    /// `r0 = value; exit`
    pub(crate) fn ret(&mut self, value: Reg) -> &mut Builder {
        self.mov(Reg::R0, value).push(Insn::Exit)
    }

    pub(crate) fn finish(&self) -> Function {
        self.func.clone()
    }
}
