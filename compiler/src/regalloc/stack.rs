//! Stack layout: each slot's lifetime, then frame offsets that let dead slots share bytes.
//!
//! A slot lives from its first mention to its last, where reading a register that may hold
//! its address counts as a mention. Addresses are followed through moves and arithmetic,
//! through argument registers up to the call that reads them, and through stack memory (a
//! spilled address). Slots whose lifetimes do not overlap may then take the same bytes.

use std::collections::{BTreeSet, HashMap};

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
    let mut flow = AddressFlow { lifetimes: vec![None; func.slots.len()], ..Default::default() };
    for (index, inst) in func.insts.iter().enumerate() {
        flow.step(index, &inst.insn);
    }
    flow.lifetimes
}

/// Which slots' addresses each register and each slot's memory may hold, in instruction order.
#[derive(Default)]
struct AddressFlow {
    in_regs: HashMap<Reg, BTreeSet<Slot>>,
    in_memory: HashMap<Slot, BTreeSet<Slot>>,
    lifetimes: Vec<Option<Lifetime>>,
}

impl AddressFlow {
    fn step(&mut self, index: usize, insn: &Insn) {
        let mut mentioned: BTreeSet<Slot> = direct_slot(insn).into_iter().collect();
        operands::for_each_read(insn, |reg| mentioned.extend(self.held_by(reg)));
        for slot in mentioned {
            self.mention(slot, index);
        }
        self.propagate(insn);
    }

    fn held_by(&self, reg: Reg) -> BTreeSet<Slot> {
        self.in_regs.get(&reg).cloned().unwrap_or_default()
    }

    /// The slots a memory operand may point into.
    fn targets(&self, mem: Mem) -> BTreeSet<Slot> {
        match mem {
            Mem::Slot(slot, _) => BTreeSet::from([slot]),
            Mem::Reg(base, _) => self.held_by(base),
        }
    }

    fn mention(&mut self, slot: Slot, index: usize) {
        if let Some(lifetime) = self.lifetimes.get_mut(slot.0 as usize) {
            *lifetime = Some(match *lifetime {
                Some((first, last)) => (first.min(index), last.max(index)),
                None => (index, index),
            });
        }
    }

    /// Records the addresses `insn` writes into registers and memory. A virtual register
    /// accumulates what all its writes may hold; an argument register is reset by each write
    /// and emptied by the call.
    fn propagate(&mut self, insn: &Insn) {
        let (dst, addresses) = match *insn {
            Insn::AddrOf { dst, slot, .. } => (dst, BTreeSet::from([slot])),
            Insn::Alu64 { dst, src: Operand::Reg(src), .. }
            | Insn::Alu32 { dst, src: Operand::Reg(src), .. } => (dst, self.held_by(src)),
            Insn::Load { dst, mem, .. } | Insn::LoadSigned { dst, mem, .. } => {
                let stored = self.targets(mem).into_iter().flat_map(|slot| self.stored_in(slot));
                (dst, stored.collect())
            }
            Insn::Store { mem, src, .. } => {
                let addresses = self.held_by(src);
                for slot in self.targets(mem) {
                    self.in_memory.entry(slot).or_default().extend(addresses.iter().copied());
                }
                return;
            }
            Insn::Call { .. } => {
                self.in_regs.retain(|reg, _| !matches!(reg, Reg::Phys(0..=5)));
                return;
            }
            _ => return,
        };
        let held = self.in_regs.entry(dst).or_default();
        if let Reg::Phys(_) = dst {
            held.clear();
        }
        held.extend(addresses);
    }

    fn stored_in(&self, slot: Slot) -> BTreeSet<Slot> {
        self.in_memory.get(&slot).cloned().unwrap_or_default()
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
