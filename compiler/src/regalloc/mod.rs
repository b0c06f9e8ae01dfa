//! Register allocation: turns virtual registers into `r0`..`r9` and gives slots frame offsets.
//!
//! The pipeline on one function:
//! 1. `scan`: linear scan over live intervals (`liveness`). Physical registers pinned by the
//!    calling convention (arguments, call results and clobbers, the context, the return value)
//!    are taken where they hold a value, so a value live across a call can only get `r6`..`r9`.
//!    A register moved to or from another takes that one when free, so the move disappears.
//! 2. `spill`: registers the scan could not place go to the stack; then scan again. Each round
//!    spills at least one register that existed before any spilling, so this ends.
//! 3. `stack`: slot lifetimes and first-fit frame offsets within 512 bytes.
//! 4. Rewrite every register and delete moves whose two sides became the same register.

mod liveness;
mod scan;
mod slot_sets;
mod spill;
mod stack;

use crate::lir::operands;
use crate::lir::{AluOp, Function, Insn, Operand, Reg};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegAllocError {
    #[error("the stack frame needs {needed} bytes; BPF allows 512")]
    StackOverflow { needed: u32 },
    #[error("no register is left for `v{vreg}` at insn {at}")]
    OutOfRegisters { vreg: u32, at: usize },
}

/// Allocates registers and stack for `func`, which must pass `verify(.., Stage::Virtual)`;
/// the result passes `verify(.., Stage::Allocated)`.
pub fn allocate(mut func: Function) -> Result<Function, RegAllocError> {
    let original_vregs = func.vregs;
    let assignment = loop {
        match scan::linear_scan(&func, |vreg| vreg < original_vregs)? {
            scan::Scan::Assigned(assignment) => break assignment,
            scan::Scan::Spill(spilled) => spill::spill(&mut func, &spilled),
        }
    };
    let frame = stack::lay_out_frame(&func)?;
    assign_registers(&mut func, &assignment);
    func.frame = Some(frame);
    Ok(func)
}

fn assign_registers(func: &mut Function, assignment: &[Option<u8>]) {
    for inst in &mut func.insts {
        operands::visit_regs_mut(&mut inst.insn, |reg, _| {
            if let Reg::Virt(vreg) = *reg {
                if let Some(Some(phys)) = assignment.get(vreg as usize) {
                    *reg = Reg::Phys(*phys);
                }
            }
        });
    }
    func.insts.retain(|inst| !is_self_move(&inst.insn));
}

/// `rN = rN` on 64 bits; a 32-bit one is kept, as it clears the upper half.
fn is_self_move(insn: &Insn) -> bool {
    matches!(insn, Insn::Alu64 { op: AluOp::Mov, dst, src: Operand::Reg(src) } if dst == src)
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
