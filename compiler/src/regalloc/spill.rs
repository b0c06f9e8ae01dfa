//! Spill code: moves virtual registers that found no physical register out to the stack.
//!
//! A spilled register lives in a fresh 8-byte slot: every write goes through a new short-lived
//! register stored to the slot right after, every read through one loaded right before. A
//! register written once by an instruction that needs no inputs (an address, a map, a
//! constant) is not stored at all but recomputed before each read.

use std::collections::{HashMap, HashSet};

use crate::lir::operands;
use crate::lir::{AluOp, Function, Insn, Inst, Mem, Operand, Reg, Size, Slot, SlotInfo};

/// Where a spilled register's value comes back from.
#[derive(Debug, Clone)]
enum Home {
    Slot(Slot),
    /// The single defining instruction, at this index, repeated before each read.
    Recompute(usize, Insn),
}

/// Rewrites `func` so that none of `spilled` is live across more than one instruction.
pub(super) fn spill(func: &mut Function, spilled: &[u32]) {
    let homes = choose_homes(func, spilled);
    let dropped: HashSet<usize> = homes
        .values()
        .filter_map(|home| match home {
            Home::Recompute(index, _) => Some(*index),
            Home::Slot(_) => None,
        })
        .collect();
    let mut rewriter = Rewriter { next_vreg: func.vregs, insts: Vec::new() };
    for (index, inst) in std::mem::take(&mut func.insts).into_iter().enumerate() {
        if !dropped.contains(&index) {
            rewriter.rewrite(inst, &homes);
        }
    }
    func.insts = rewriter.insts;
    func.vregs = rewriter.next_vreg;
}

fn choose_homes(func: &mut Function, spilled: &[u32]) -> HashMap<u32, Home> {
    let mut homes = HashMap::new();
    for &vreg in spilled {
        let home = match single_recomputable_def(func, vreg) {
            Some((index, insn)) => Home::Recompute(index, insn),
            None => {
                func.slots.push(SlotInfo { size: 8, align: 8 });
                Home::Slot(Slot(func.slots.len() as u32 - 1))
            }
        };
        homes.insert(vreg, home);
    }
    homes
}

/// The instruction writing `vreg`, if it is the only one and needs no register input.
fn single_recomputable_def(func: &Function, vreg: u32) -> Option<(usize, Insn)> {
    let mut defs = func.insts.iter().enumerate().filter(|(_, inst)| {
        let mut writes = false;
        operands::for_each_write(&inst.insn, |reg| writes |= reg == Reg::Virt(vreg));
        writes
    });
    let (index, def) = defs.next()?;
    let recomputable = matches!(
        def.insn,
        Insn::AddrOf { .. }
            | Insn::LoadMap { .. }
            | Insn::LoadMapValue { .. }
            | Insn::LoadFunc { .. }
            | Insn::LoadImm64 { .. }
            | Insn::Alu64 { op: AluOp::Mov, src: Operand::Imm(_), .. }
    );
    (recomputable && defs.next().is_none()).then(|| (index, def.insn.clone()))
}

struct Rewriter {
    next_vreg: u32,
    insts: Vec<Inst>,
}

/// One spilled register's stand-in within one instruction.
struct StandIn {
    temp: Reg,
    home: Home,
    read: bool,
    written: bool,
}

impl Rewriter {
    /// Emits `inst` with each spilled register replaced by a fresh one, preceded by its
    /// reloads and followed by its stores.
    fn rewrite(&mut self, mut inst: Inst, homes: &HashMap<u32, Home>) {
        let mut stand_ins: Vec<(u32, StandIn)> = Vec::new();
        operands::visit_regs_mut(&mut inst.insn, |reg, access| {
            let Reg::Virt(vreg) = *reg else { return };
            let Some(home) = homes.get(&vreg) else { return };
            let position = match stand_ins.iter().position(|(spilled, _)| *spilled == vreg) {
                Some(position) => position,
                None => {
                    let temp = Reg::Virt(self.next_vreg);
                    self.next_vreg += 1;
                    let stand_in =
                        StandIn { temp, home: home.clone(), read: false, written: false };
                    stand_ins.push((vreg, stand_in));
                    stand_ins.len() - 1
                }
            };
            let stand_in = &mut stand_ins[position].1;
            stand_in.read |= access.reads();
            stand_in.written |= access.writes();
            *reg = stand_in.temp;
        });
        let span = inst.span;
        for (_, stand_in) in stand_ins.iter().filter(|(_, stand_in)| stand_in.read) {
            let insn = reload(stand_in.temp, &stand_in.home);
            self.insts.push(Inst { insn, span, field: None });
        }
        self.insts.push(inst);
        for (_, stand_in) in &stand_ins {
            // A recomputed register has one write, the one `spill` drops.
            if let (true, Home::Slot(slot)) = (stand_in.written, &stand_in.home) {
                let insn =
                    Insn::Store { size: Size::DW, mem: Mem::Slot(*slot, 0), src: stand_in.temp };
                self.insts.push(Inst { insn, span, field: None });
            }
        }
    }
}

fn reload(temp: Reg, home: &Home) -> Insn {
    match home {
        Home::Slot(slot) => Insn::Load { size: Size::DW, dst: temp, mem: Mem::Slot(*slot, 0) },
        Home::Recompute(_, def) => {
            let mut insn = def.clone();
            operands::visit_regs_mut(&mut insn, |reg, _| *reg = temp);
            insn
        }
    }
}
