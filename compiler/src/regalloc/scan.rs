//! Linear scan: gives each virtual register a physical one, or picks registers to spill.

use super::liveness::{self, Interval, MovePartners, PhysOccupancy, ALLOCATABLE};
use super::RegAllocError;
use crate::lir::{Function, Reg};

/// What one scan decided.
pub(super) enum Scan {
    /// Every mentioned virtual register's physical register, indexed by vreg.
    Assigned(Vec<Option<u8>>),
    /// These virtual registers found no register; spill them and scan again.
    Spill(Vec<u32>),
}

/// Registers tried when no move partner decides: caller-saved first, keeping `r6`..`r9` for
/// values live across calls (those cannot take `r0`..`r5`, which calls clobber). `r1` and `r2`
/// come last among the caller-saved because most calls take them as arguments.
const PREFERENCE: [u8; ALLOCATABLE as usize] = [0, 5, 4, 3, 2, 1, 6, 7, 8, 9];

/// Assigns registers in order of interval start; `spillable` says which registers may be
/// spilled (not the short-lived ones earlier spills created).
pub(super) fn linear_scan(
    func: &Function,
    spillable: impl Fn(u32) -> bool,
) -> Result<Scan, RegAllocError> {
    let mut scanner = Scanner {
        intervals: liveness::vreg_intervals(func),
        occupancy: PhysOccupancy::compute(func),
        partners: MovePartners::compute(func),
        assigned: vec![None; func.vregs as usize],
        active: Vec::new(),
        spilled: Vec::new(),
    };
    let mut order: Vec<(Interval, u32)> = (0..func.vregs)
        .filter_map(|vreg| Some((scanner.intervals[vreg as usize]?, vreg)))
        .collect();
    order.sort_by_key(|&(interval, vreg)| (interval.start, vreg));
    for (interval, vreg) in order {
        scanner.expire(interval.start);
        if !scanner.try_assign(vreg, interval) {
            scanner.spill_one(vreg, interval, &spillable)?;
        }
    }
    Ok(match scanner.spilled.is_empty() {
        true => Scan::Assigned(scanner.assigned),
        false => Scan::Spill(scanner.spilled),
    })
}

struct Scanner {
    intervals: Vec<Option<Interval>>,
    occupancy: PhysOccupancy,
    partners: MovePartners,
    assigned: Vec<Option<u8>>,
    /// Virtual registers holding a physical one at the current point.
    active: Vec<u32>,
    spilled: Vec<u32>,
}

impl Scanner {
    fn interval(&self, vreg: u32) -> Interval {
        self.intervals[vreg as usize].unwrap_or(Interval { start: 0, end: 0 })
    }

    fn expire(&mut self, point: u32) {
        let intervals = &self.intervals;
        self.active.retain(|&vreg| intervals[vreg as usize].is_some_and(|live| live.end >= point));
    }

    /// Gives `vreg` a free register, preferring its move partners'; false if none is free.
    fn try_assign(&mut self, vreg: u32, interval: Interval) -> bool {
        let busy: u16 = self
            .active
            .iter()
            .filter_map(|&other| self.assigned[other as usize])
            .fold(0, |busy, reg| busy | 1 << reg);
        let free = |reg: u8| busy & (1 << reg) == 0 && self.occupancy.is_free(reg, interval);
        let chosen = self.hinted(vreg).chain(PREFERENCE).find(|&reg| free(reg));
        if let Some(reg) = chosen {
            self.assigned[vreg as usize] = Some(reg);
            self.active.push(vreg);
        }
        chosen.is_some()
    }

    /// The registers of `vreg`'s move partners that are known: physical ones, and virtual ones
    /// already assigned. Taking one turns the move into `rN = rN`, which is deleted.
    fn hinted(&self, vreg: u32) -> impl Iterator<Item = u8> + '_ {
        self.partners.of(vreg).iter().filter_map(|partner| match *partner {
            Reg::Phys(n) if n < ALLOCATABLE => Some(n),
            Reg::Phys(_) => None,
            Reg::Virt(other) => self.assigned.get(other as usize).copied().flatten(),
        })
    }

    /// No register is free for `vreg`: spills whichever of `vreg` and the active registers
    /// whose register `vreg` could use lives longest, giving that register to `vreg`.
    fn spill_one(
        &mut self,
        vreg: u32,
        interval: Interval,
        spillable: &impl Fn(u32) -> bool,
    ) -> Result<(), RegAllocError> {
        let usable = |other: u32| {
            self.assigned[other as usize].is_some_and(|reg| self.occupancy.is_free(reg, interval))
        };
        let victim = self
            .active
            .iter()
            .copied()
            .filter(|&other| spillable(other) && usable(other))
            .chain(spillable(vreg).then_some(vreg))
            .max_by_key(|&candidate| (self.interval(candidate).end, candidate == vreg));
        let Some(victim) = victim else {
            let at = liveness::insn_at(interval.start);
            return Err(RegAllocError::OutOfRegisters { vreg, at });
        };
        self.spilled.push(victim);
        if victim != vreg {
            self.assigned[vreg as usize] = self.assigned[victim as usize].take();
            self.active.retain(|&other| other != victim);
            self.active.push(vreg);
        }
        Ok(())
    }
}
