//! Live ranges: each virtual register's interval, and where each physical register is taken.
//!
//! Positions are program points: instruction `i` reads its operands at `2i + 1` and writes its
//! results at `2i + 2`; point 0 is the entry, where `r1` receives the context. A value written
//! at `i` and last read at `j` occupies `[2i + 2, 2j + 1]`, so a register read for the last
//! time by `i` is free for what `i` writes, which is what lets `vB = vA` become `rN = rN`.

use crate::lir::cfg;
use crate::lir::operands;
use crate::lir::{AluOp, Function, Insn, Operand, Reg};

/// Physical registers the allocator hands out: `r0`..`r9` (`r10` is the frame pointer).
pub(super) const ALLOCATABLE: u8 = 10;

pub(super) fn read_point(index: usize) -> u32 {
    2 * index as u32 + 1
}

pub(super) fn write_point(index: usize) -> u32 {
    2 * index as u32 + 2
}

/// The instruction a program point belongs to.
pub(super) fn insn_at(point: u32) -> usize {
    point.saturating_sub(1) as usize / 2
}

/// An inclusive range of program points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Interval {
    pub start: u32,
    pub end: u32,
}

impl Interval {
    fn point(point: u32) -> Interval {
        Interval { start: point, end: point }
    }

    fn cover(&mut self, point: u32) {
        self.start = self.start.min(point);
        self.end = self.end.max(point);
    }
}

/// Each virtual register's live interval, `None` for registers the function never mentions.
///
/// With only forward jumps and every use set on every path from the entry, a virtual register
/// is live exactly from its first write to its last read in instruction order, so the interval
/// is the hull of its mentions. Once loops exist, a register live at a loop header must also
/// stay live to the loop's back-edge jump: that extension goes at the end of this function.
pub(super) fn vreg_intervals(func: &Function) -> Vec<Option<Interval>> {
    let mut intervals: Vec<Option<Interval>> = vec![None; func.vregs as usize];
    for (index, inst) in func.insts.iter().enumerate() {
        operands::visit_regs(&inst.insn, |reg, access| {
            let Reg::Virt(n) = reg else { return };
            let Some(interval) = intervals.get_mut(n as usize) else {
                return;
            };
            let mut mention = |point| match interval {
                Some(interval) => interval.cover(point),
                None => *interval = Some(Interval::point(point)),
            };
            if access.reads() {
                mention(read_point(index));
            }
            if access.writes() {
                mention(write_point(index));
            }
        });
    }
    intervals
}

/// Where each physical register is taken by the calling convention: from a pinned write (an
/// argument, `r0` for `Exit`, a call's result and clobbers, the context at entry) to its last
/// read on any path.
pub(super) struct PhysOccupancy {
    /// For each of `r0`..`r9`, the maximal runs of points where it is taken, in order.
    taken: [Vec<Interval>; ALLOCATABLE as usize],
}

impl PhysOccupancy {
    /// A backward liveness pass over `r0`..`r9`; one pass suffices because jumps only go
    /// forward (with loops it would iterate to a fixed point).
    pub(super) fn compute(func: &Function) -> PhysOccupancy {
        let labels = cfg::label_positions(func);
        let count = func.insts.len();
        let mut live_in = vec![0u16; count + 1];
        let mut taken = vec![0u16; write_point(count) as usize];
        for (index, inst) in func.insts.iter().enumerate().rev() {
            let live_out = cfg::successors(index, &inst.insn, &labels)
                .fold(0, |live, successor| live | live_in.get(successor).copied().unwrap_or(0));
            let (reads, writes) = phys_effects(&inst.insn);
            live_in[index] = reads | (live_out & !writes);
            taken[read_point(index) as usize] = live_in[index];
            taken[write_point(index) as usize] = live_out | writes;
        }
        taken[0] = live_in[0];
        PhysOccupancy { taken: runs(&taken) }
    }

    /// Whether `reg` is taken at no point of `interval`.
    pub(super) fn is_free(&self, reg: u8, interval: Interval) -> bool {
        let runs = &self.taken[usize::from(reg)];
        let first_not_before = runs.partition_point(|run| run.end < interval.start);
        runs.get(first_not_before).is_none_or(|run| run.start > interval.end)
    }
}

/// Each register's runs of consecutive points whose mask in `taken` has its bit set.
fn runs(taken: &[u16]) -> [Vec<Interval>; ALLOCATABLE as usize] {
    let mut runs: [Vec<Interval>; ALLOCATABLE as usize] = Default::default();
    let mut opened = [0u32; ALLOCATABLE as usize];
    let mut previous = 0u16;
    for (point, &mask) in taken.iter().chain([&0]).enumerate() {
        let mut changed = mask ^ previous;
        while changed != 0 {
            let reg = changed.trailing_zeros() as usize;
            changed &= changed - 1;
            match mask >> reg & 1 {
                1 => opened[reg] = point as u32,
                _ => runs[reg].push(Interval { start: opened[reg], end: point as u32 - 1 }),
            }
        }
        previous = mask;
    }
    runs
}

/// The physical registers `r0`..`r9` an instruction reads and writes, as bit masks; a call
/// writes its result and clobbers.
fn phys_effects(insn: &Insn) -> (u16, u16) {
    let bit = |reg: Reg| match reg {
        Reg::Phys(n) if n < ALLOCATABLE => 1u16 << n,
        _ => 0,
    };
    let mut reads = 0;
    let mut writes = 0;
    operands::for_each_read(insn, |reg| reads |= bit(reg));
    operands::for_each_write(insn, |reg| writes |= bit(reg));
    if let Insn::Call { .. } = insn {
        operands::call_clobbers().for_each(|reg| writes |= bit(reg));
    }
    (reads, writes)
}

/// The registers moves tie each virtual register to: the other side of every `vreg = x` and
/// `x = vreg`, in instruction order.
pub(super) struct MovePartners {
    /// `partners[starts[v]..starts[v + 1]]` are `v`'s partners.
    starts: Vec<u32>,
    partners: Vec<Reg>,
}

impl MovePartners {
    pub(super) fn compute(func: &Function) -> MovePartners {
        let vregs = func.vregs as usize;
        let ties = || {
            func.insts.iter().filter_map(|inst| match inst.insn {
                Insn::Alu64 { op: AluOp::Mov, dst, src: Operand::Reg(src) } => Some([(dst, src), (src, dst)]),
                _ => None,
            })
        };
        let slot = |reg: Reg| match reg {
            Reg::Virt(n) if (n as usize) < vregs => Some(n as usize),
            _ => None,
        };
        let mut starts = vec![0u32; vregs + 1];
        for (this, _) in ties().flatten() {
            if let Some(n) = slot(this) {
                starts[n + 1] += 1;
            }
        }
        for n in 0..vregs {
            starts[n + 1] += starts[n];
        }
        let mut filled = starts.clone();
        let mut partners = vec![Reg::FP; starts[vregs] as usize];
        for (this, other) in ties().flatten() {
            if let Some(n) = slot(this) {
                partners[filled[n] as usize] = other;
                filled[n] += 1;
            }
        }
        MovePartners { starts, partners }
    }

    pub(super) fn of(&self, vreg: u32) -> &[Reg] {
        let n = vreg as usize;
        match (self.starts.get(n), self.starts.get(n + 1)) {
            (Some(&start), Some(&end)) => &self.partners[start as usize..end as usize],
            _ => &[],
        }
    }
}
