//! Removes instructions no path from the entry reaches (after a `return`, an `exit()` or a
//! condition known at compile time): the kernel refuses programs with unreachable code.

use super::cfg::{label_positions, successors};
use super::Function;

/// Deletes every instruction that cannot be reached from the first one. Jumps only go forward,
/// so one pass in order sees every instruction's predecessors before the instruction.
pub fn remove_unreachable(func: &mut Function) {
    let labels = label_positions(func);
    let count = func.insts.len();
    // `reachable[count]` is falling off the end.
    let mut reachable = vec![false; count + 1];
    reachable[0] = true;
    for (index, inst) in func.insts.iter().enumerate() {
        if reachable[index] {
            for successor in successors(index, &inst.insn, &labels) {
                reachable[successor] = true;
            }
        }
    }
    if reachable[..count].iter().all(|&reached| reached) {
        return;
    }
    let mut keep = reachable.into_iter();
    func.insts.retain(|_| keep.next().unwrap_or(false));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lir::{AluOp, Inst, Insn, Label, Operand, Reg};
    use crate::span::Span;

    fn inst(insn: Insn) -> Inst {
        Inst { insn, span: Span::DUMMY, field: None }
    }

    #[test]
    fn code_after_an_unconditional_jump_goes() {
        let mov0 = Insn::Alu64 { op: AluOp::Mov, dst: Reg::R0, src: Operand::Imm(0) };
        let mut func = Function {
            insts: vec![
                inst(Insn::Jump { target: Label(0) }),
                inst(Insn::Alu64 { op: AluOp::Mov, dst: Reg::R0, src: Operand::Imm(1) }),
                inst(Insn::Label(Label(1))),
                inst(Insn::Label(Label(0))),
                inst(mov0.clone()),
                inst(Insn::Exit),
            ],
            labels: 2,
            ..Function::default()
        };
        remove_unreachable(&mut func);
        let left: Vec<Insn> = func.insts.into_iter().map(|i| i.insn).collect();
        assert_eq!(left, vec![Insn::Jump { target: Label(0) }, Insn::Label(Label(0)), mov0, Insn::Exit]);
    }
}
