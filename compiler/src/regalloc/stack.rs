//! Stack layout: each slot's lifetime, then frame offsets that let dead slots share bytes.
//!
//! A slot lives from its first mention to its last, where reading a register that may hold
//! its address counts as a mention. Addresses are followed through moves and arithmetic,
//! through argument registers up to the call that reads them, and through stack memory (a
//! spilled address, or an address stored for a helper to follow). Slots whose lifetimes do
//! not overlap may then take the same bytes.

use super::slot_sets::SlotSets;
use super::RegAllocError;
use crate::lir::operands;
use crate::lir::verify::MAX_FRAME_BYTES;
use crate::lir::{Function, Insn, Mem, Operand, Reg, Slot, SlotInfo};

/// The frame offset (negative, from `r10`) of every slot of `func`, which must still use
/// virtual registers (their lifetimes tell which slots are dead when).
pub(super) fn lay_out_frame(func: &Function) -> Result<Vec<i16>, RegAllocError> {
    let lifetimes = slot_lifetimes(func);
    let depths = first_fit(&func.slots, &lifetimes);
    let needed = depths.iter().copied().max().unwrap_or(0);
    if needed > MAX_FRAME_BYTES {
        return Err(RegAllocError::StackOverflow { needed });
    }
    // `needed` is at most 512, so every depth fits an `i16`.
    Ok(depths.iter().map(|&depth| -(depth as i16)).collect())
}

/// An inclusive range of instruction indices.
type Lifetime = (usize, usize);

fn overlap(a: Option<Lifetime>, b: Option<Lifetime>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.0 <= b.1 && b.0 <= a.1)
}

/// Each slot's lifetime, `None` for a slot nothing mentions.
fn slot_lifetimes(func: &Function) -> Vec<Option<Lifetime>> {
    let slots = func.slots.len();
    let mut flow = AddressFlow {
        in_regs: SlotSets::new(PHYS_ROWS + func.vregs as usize, slots),
        in_memory: SlotSets::new(slots, slots),
        lifetimes: vec![None; slots],
        scratch: Vec::new(),
    };
    for (index, inst) in func.insts.iter().enumerate() {
        flow.step(index, &inst.insn);
    }
    flow.lifetimes
}

/// Rows of `AddressFlow::in_regs` for `r0`..`r10`; virtual registers follow.
const PHYS_ROWS: usize = 11;

/// The row of `AddressFlow::in_regs` for `reg` (`None` for a register no rule allows).
fn reg_row(reg: Reg) -> Option<usize> {
    match reg {
        Reg::Phys(n) if usize::from(n) < PHYS_ROWS => Some(usize::from(n)),
        Reg::Phys(_) => None,
        Reg::Virt(n) => Some(PHYS_ROWS + n as usize),
    }
}

/// Which slots' addresses each register and each slot's memory may hold, in instruction order.
struct AddressFlow {
    in_regs: SlotSets,
    in_memory: SlotSets,
    lifetimes: Vec<Option<Lifetime>>,
    /// A copy of one row, for updates whose source and destination may be the same row.
    scratch: Vec<u64>,
}

impl AddressFlow {
    fn step(&mut self, index: usize, insn: &Insn) {
        if let Some(slot) = direct_slot(insn) {
            mention(&mut self.lifetimes, slot.0 as usize, index);
        }
        let call = matches!(insn, Insn::Call { .. });
        let (in_regs, in_memory, lifetimes) = (&self.in_regs, &self.in_memory, &mut self.lifetimes);
        operands::for_each_read(insn, |reg| {
            if let Some(row) = reg_row(reg) {
                in_regs.for_each(row, |slot| {
                    mention(lifetimes, slot, index);
                    // A helper may follow the addresses stored in memory it is given (the
                    // strings `bpf_seq_printf` prints).
                    if call {
                        in_memory.for_each(slot, |held| mention(lifetimes, held, index));
                    }
                });
            }
        });
        self.propagate(insn);
    }

    /// Records the addresses `insn` writes into registers and memory. A virtual register
    /// accumulates what all its writes may hold; an argument register is reset by each write
    /// and emptied by the call.
    fn propagate(&mut self, insn: &Insn) {
        self.scratch.clear();
        self.scratch.resize(self.in_regs.words, 0);
        let dst = match *insn {
            Insn::AddrOf { dst, slot, .. } => {
                SlotSets::insert_into(&mut self.scratch, slot.0 as usize);
                dst
            }
            Insn::Alu64 { dst, src: Operand::Reg(src), .. }
            | Insn::Alu32 { dst, src: Operand::Reg(src), .. } => {
                if let Some(row) = reg_row(src) {
                    self.scratch.copy_from_slice(self.in_regs.row(row));
                }
                dst
            }
            Insn::Load { dst, mem, .. } | Insn::LoadSigned { dst, mem, .. } => {
                let (in_memory, scratch) = (&self.in_memory, &mut self.scratch);
                for_each_target(&self.in_regs, mem, |slot| SlotSets::union_into(scratch, in_memory.row(slot)));
                dst
            }
            Insn::Store { mem, src, .. } => {
                if let Some(row) = reg_row(src) {
                    let (in_regs, in_memory) = (&self.in_regs, &mut self.in_memory);
                    for_each_target(in_regs, mem, |slot| in_memory.union_row(slot, in_regs.row(row)));
                }
                return;
            }
            Insn::Call { .. } => {
                (0..=5).for_each(|n| self.in_regs.clear(n));
                return;
            }
            _ => return,
        };
        let Some(row) = reg_row(dst) else { return };
        if let Reg::Phys(_) = dst {
            self.in_regs.clear(row);
        }
        self.in_regs.union_row(row, &self.scratch);
    }
}

/// Calls `visit` with every slot a memory operand may point into, given what registers hold.
fn for_each_target(in_regs: &SlotSets, mem: Mem, mut visit: impl FnMut(usize)) {
    match mem {
        Mem::Slot(slot, _) => visit(slot.0 as usize),
        Mem::Reg(base, _) => {
            if let Some(row) = reg_row(base) {
                in_regs.for_each(row, visit);
            }
        }
    }
}

fn mention(lifetimes: &mut [Option<Lifetime>], slot: usize, index: usize) {
    if let Some(lifetime) = lifetimes.get_mut(slot) {
        *lifetime = Some(match *lifetime {
            Some((first, last)) => (first.min(index), last.max(index)),
            None => (index, index),
        });
    }
}

/// The slot a memory operand or `AddrOf` names directly.
fn direct_slot(insn: &Insn) -> Option<Slot> {
    match *insn {
        Insn::AddrOf { slot, .. } => Some(slot),
        Insn::Load { mem: Mem::Slot(slot, _), .. }
        | Insn::LoadSigned { mem: Mem::Slot(slot, _), .. }
        | Insn::Store { mem: Mem::Slot(slot, _), .. }
        | Insn::StoreImm { mem: Mem::Slot(slot, _), .. } => Some(slot),
        _ => None,
    }
}

/// Each slot's depth below `r10` (its lowest byte sits at `r10 - depth`): in order of first
/// use, the smallest aligned depth whose bytes no slot with an overlapping lifetime holds.
fn first_fit(slots: &[SlotInfo], lifetimes: &[Option<Lifetime>]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&slot| (lifetimes[slot], slot));
    let mut depths = vec![0u32; slots.len()];
    let mut placed: Vec<usize> = Vec::new();
    for slot in order {
        let SlotInfo { size, align } = slots[slot];
        let (size, align) = (size.max(1), align.max(1));
        let neighbours: Vec<(u32, u32)> = placed
            .iter()
            .filter(|&&other| overlap(lifetimes[slot], lifetimes[other]))
            .map(|&other| (depths[other], slots[other].size.max(1)))
            .collect();
        let fits = |depth: u32| {
            neighbours
                .iter()
                .all(|&(other, other_size)| depth <= other - other_size || depth - size >= other)
        };
        let candidates = std::iter::once(0).chain(neighbours.iter().map(|&(other, _)| other));
        depths[slot] = candidates
            .map(|above| (above + size).next_multiple_of(align))
            .filter(|&depth| fits(depth))
            .min()
            .unwrap_or(0);
        placed.push(slot);
    }
    depths
}
