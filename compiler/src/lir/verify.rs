//! The LIR verifier: checks the rules in `lir`'s module doc after lowering and after allocation.
//!
//! Structural rules (labels, slots, arity, immediates) are checked per instruction; rules about
//! values (a register is set before it is read, `r0` before `Exit`, arguments before a `Call`)
//! by a forward data flow over the control-flow graph, which is one pass in instruction order
//! because jumps only go forward.

use std::fmt::{self, Display, Formatter};

use super::operands::{self, Access};
use super::{AluOp, Function, Insn, Label, Mem, Operand, Reg, Slot};

/// The largest stack frame BPF allows, in bytes.
pub const MAX_FRAME_BYTES: u32 = 512;

/// Which rules apply: before allocation pinned registers follow the calling convention; after
/// it no virtual register is left and every slot has a frame offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Virtual,
    Allocated,
}

/// One broken rule and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct VerifyError {
    pub at: Location,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Insn(usize),
    Slot(Slot),
    Function,
}

impl Display for Location {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Location::Insn(index) => write!(f, "insn {index}"),
            Location::Slot(slot) => write!(f, "{slot}"),
            Location::Function => f.write_str("function"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the function has no instructions")]
    Empty,
    #[error("label `L{0}` is beyond the function's {1} labels")]
    LabelOutOfRange(u32, u32),
    #[error("label `L{0}` is defined more than once")]
    LabelRedefined(u32),
    #[error("jump to undefined label `L{0}`")]
    UndefinedLabel(u32),
    #[error("jump back to `L{0}`; jumps may only go forward")]
    BackwardJump(u32),
    #[error("unreachable instruction")]
    Unreachable,
    #[error("control falls off the end of the function")]
    FallsOffEnd,
    #[error("`v{0}` is beyond the function's {1} virtual registers")]
    VregOutOfRange(u32, u32),
    #[error("`v{0}` is read before it is set on some path")]
    VregUndefined(u32),
    #[error("`v{0}` is left after register allocation")]
    VregAfterAllocation(u32),
    #[error("`r{0}` is not a register")]
    NoSuchRegister(u8),
    #[error("`r10` is written")]
    FramePointerWritten,
    #[error("`r10` is read; stack memory is reached through slots")]
    FramePointerRead,
    #[error("`r{0}` is used before register allocation")]
    CalleeSavedBeforeAllocation(u8),
    #[error("`r{0}` is written by something other than a move, load or address")]
    PinnedNotPureDef(u8),
    #[error("`r{0}` is read by something other than a move into a virtual register")]
    PinnedReadOutsideMove(u8),
    #[error("`r{0}` is read but holds neither the context nor a call result on every path")]
    PinnedReadWithoutValue(u8),
    #[error("`r{0}` is read before it is set on some path")]
    RegUndefined(u8),
    #[error("call takes {0} arguments; helpers take at most 5")]
    TooManyArgs(u8),
    #[error("call argument `r{0}` is not set on every path")]
    MissingArg(u8),
    #[error("`r{0}` is set but the call takes {1} arguments")]
    UnusedArg(u8, u8),
    #[error("exit without setting `r0` on every path")]
    ExitWithoutR0,
    #[error("division by a zero immediate")]
    DivByZero,
    #[error("shift by {0}, more than the operand's bits")]
    ShiftTooFar(i32),
    #[error("`{0}` is beyond the function's {1} slots")]
    SlotOutOfRange(Slot, usize),
    #[error("{len} bytes at offset {off} fall outside `{slot}` ({size} bytes)")]
    SlotAccessOutOfBounds { slot: Slot, off: i16, len: u32, size: u32 },
    #[error("no frame offsets after register allocation")]
    NoFrame,
    #[error("{0} frame offsets for {1} slots")]
    FrameLength(usize, usize),
    #[error("frame offset {offset} does not hold {size} bytes below `r10` within 512 bytes")]
    SlotOutsideFrame { offset: i16, size: u32 },
    #[error("frame offset {offset} is not aligned to {align}")]
    SlotMisaligned { offset: i16, align: u32 },
}

/// Checks every rule of `stage` and returns all broken ones, in instruction order.
pub fn verify(func: &Function, stage: Stage) -> Result<(), Vec<VerifyError>> {
    let mut verifier = Verifier { func, stage, errors: Vec::new() };
    if func.insts.is_empty() {
        verifier.report(Location::Function, Problem::Empty);
    }
    let labels = verifier.check_labels();
    if stage == Stage::Allocated {
        verifier.check_frame();
    }
    for (index, inst) in func.insts.iter().enumerate() {
        verifier.check_insn(index, &inst.insn, &labels);
    }
    flow::check(&mut verifier, &labels);
    match verifier.errors.is_empty() {
        true => Ok(()),
        false => Err(verifier.errors),
    }
}

struct Verifier<'f> {
    func: &'f Function,
    stage: Stage,
    errors: Vec<VerifyError>,
}

impl Verifier<'_> {
    fn report(&mut self, at: Location, problem: Problem) {
        let error = VerifyError { at, problem };
        if !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }

    /// Returns each label's instruction index, reporting labels out of range or defined twice.
    fn check_labels(&mut self) -> Vec<Option<usize>> {
        let mut positions = vec![None; self.func.labels as usize];
        for (index, inst) in self.func.insts.iter().enumerate() {
            let Insn::Label(label) = inst.insn else {
                continue;
            };
            match positions.get_mut(label.0 as usize) {
                None => self.report(
                    Location::Insn(index),
                    Problem::LabelOutOfRange(label.0, self.func.labels),
                ),
                Some(Some(_)) => {
                    self.report(Location::Insn(index), Problem::LabelRedefined(label.0))
                }
                Some(slot @ None) => *slot = Some(index),
            }
        }
        positions
    }

    fn check_frame(&mut self) {
        let Some(frame) = &self.func.frame else {
            return self.report(Location::Function, Problem::NoFrame);
        };
        if frame.len() != self.func.slots.len() {
            let problem = Problem::FrameLength(frame.len(), self.func.slots.len());
            return self.report(Location::Function, problem);
        }
        for (index, (&offset, info)) in frame.iter().zip(&self.func.slots).enumerate() {
            let at = Location::Slot(Slot(index as u32));
            let depth = -i32::from(offset);
            if depth < info.size as i32 || depth > MAX_FRAME_BYTES as i32 {
                self.report(at, Problem::SlotOutsideFrame { offset, size: info.size });
            }
            if info.align != 0 && depth.rem_euclid(info.align as i32) != 0 {
                self.report(at, Problem::SlotMisaligned { offset, align: info.align });
            }
        }
    }

    fn check_insn(&mut self, index: usize, insn: &Insn, labels: &[Option<usize>]) {
        let at = Location::Insn(index);
        match *insn {
            Insn::Jump { target } | Insn::Branch { target, .. } => {
                self.check_target(index, target, labels)
            }
            Insn::Call { args, .. } if args > 5 => self.report(at, Problem::TooManyArgs(args)),
            Insn::Alu64 { op, src, .. } => self.check_immediate(at, op, src, 64),
            Insn::Alu32 { op, src, .. } => self.check_immediate(at, op, src, 32),
            Insn::AddrOf { slot, off, .. } => self.check_slot_access(at, slot, off, 0),
            _ => {}
        }
        if let Some(Mem::Slot(slot, off)) = memory_operand(insn) {
            self.check_slot_access(at, slot, off, access_bytes(insn));
        }
        operands::visit_regs(insn, |reg, access| self.check_reg(at, insn, reg, access));
    }

    fn check_target(&mut self, index: usize, target: Label, labels: &[Option<usize>]) {
        let at = Location::Insn(index);
        match labels.get(target.0 as usize).copied().flatten() {
            None => self.report(at, Problem::UndefinedLabel(target.0)),
            Some(position) if position <= index => self.report(at, Problem::BackwardJump(target.0)),
            Some(_) => {}
        }
    }

    fn check_immediate(&mut self, at: Location, op: AluOp, src: Operand, bits: i32) {
        let Operand::Imm(imm) = src else { return };
        match op {
            AluOp::Div | AluOp::Mod if imm == 0 => {
                self.report(at, Problem::DivByZero)
            }
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh if !(0..bits).contains(&imm) => {
                self.report(at, Problem::ShiftTooFar(imm))
            }
            _ => {}
        }
    }

    /// Checks that `len` bytes at `off` lie inside `slot` (`len` 0: an address, which may
    /// point one past the end).
    fn check_slot_access(&mut self, at: Location, slot: Slot, off: i16, len: u32) {
        let Some(info) = self.func.slots.get(slot.0 as usize) else {
            return self.report(at, Problem::SlotOutOfRange(slot, self.func.slots.len()));
        };
        let end = i64::from(off) + i64::from(len);
        if off < 0 || end > i64::from(info.size) {
            let problem = Problem::SlotAccessOutOfBounds { slot, off, len, size: info.size };
            self.report(at, problem);
        }
    }

    /// Rules on a register operand that do not depend on the path taken.
    fn check_reg(&mut self, at: Location, insn: &Insn, reg: Reg, access: Access) {
        match (reg, self.stage) {
            (Reg::Virt(n), Stage::Allocated) => self.report(at, Problem::VregAfterAllocation(n)),
            (Reg::Virt(n), Stage::Virtual) if n >= self.func.vregs => {
                self.report(at, Problem::VregOutOfRange(n, self.func.vregs))
            }
            (Reg::Virt(_), Stage::Virtual) => {}
            (Reg::Phys(n), _) if n > 10 => self.report(at, Problem::NoSuchRegister(n)),
            (Reg::Phys(10), _) if access.writes() => self.report(at, Problem::FramePointerWritten),
            (Reg::Phys(10), _) => self.report(at, Problem::FramePointerRead),
            (Reg::Phys(_), Stage::Allocated) => {}
            (Reg::Phys(n @ 6..=9), Stage::Virtual) => {
                self.report(at, Problem::CalleeSavedBeforeAllocation(n))
            }
            (Reg::Phys(n), Stage::Virtual) => self.check_pinned(at, insn, n, access),
        }
    }

    /// Before allocation `r0`..`r5` are written only by moves, loads and addresses, and read
    /// only by `vN = rM` moves (and implicitly by `Call` and `Exit`).
    fn check_pinned(&mut self, at: Location, insn: &Insn, n: u8, access: Access) {
        if access.writes() && !operands::is_pure_def(insn) {
            self.report(at, Problem::PinnedNotPureDef(n));
        }
        if access.reads() && !is_move_into_vreg(insn) {
            self.report(at, Problem::PinnedReadOutsideMove(n));
        }
    }
}

/// `vN = rM`: how a virtual register takes the context or a call's result.
fn is_move_into_vreg(insn: &Insn) -> bool {
    matches!(
        insn,
        Insn::Alu64 { op: AluOp::Mov, dst: Reg::Virt(_), src: Operand::Reg(Reg::Phys(_)) }
    )
}

fn memory_operand(insn: &Insn) -> Option<Mem> {
    match *insn {
        Insn::Load { mem, .. }
        | Insn::LoadSigned { mem, .. }
        | Insn::Store { mem, .. }
        | Insn::StoreImm { mem, .. } => Some(mem),
        _ => None,
    }
}

fn access_bytes(insn: &Insn) -> u32 {
    match *insn {
        Insn::Load { size, .. }
        | Insn::LoadSigned { size, .. }
        | Insn::Store { size, .. }
        | Insn::StoreImm { size, .. } => size.bytes(),
        _ => 0,
    }
}

mod flow;

#[cfg(test)]
mod tests;
