//! The verifier's forward data flow: what every register must hold at each instruction.
//!
//! The state at an instruction is the meet over all paths reaching it, so a register counts as
//! set only if it is set on every path. Jumps only go forward, so visiting instructions in
//! order sees every predecessor first.

use super::{Location, Problem, Stage, Verifier};
use crate::lir::{cfg, operands};
use crate::lir::{Insn, Reg};

/// What a physical register holds on every path reaching a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Nothing,
    /// `r1` (and a callback's other parameters) at entry.
    Context,
    /// `r1`..`r5` set for the next call.
    Argument,
    /// `r0` after a call.
    CallResult,
    /// `r0` set for `Exit`.
    ReturnValue,
    /// Some value, when the paths disagree on which (and every value after allocation).
    Value,
}

impl Held {
    fn meet(self, other: Held) -> Held {
        match (self, other) {
            (a, b) if a == b => a,
            (Held::Nothing, _) | (_, Held::Nothing) => Held::Nothing,
            _ => Held::Value,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    /// Bit `n` is set when `vn` is set on every path.
    vregs: Vec<u64>,
    phys: [Held; 11],
}

impl State {
    fn entry(vregs: u32, params: u8) -> State {
        let mut phys = [Held::Nothing; 11];
        for param in phys.iter_mut().skip(1).take(usize::from(params.min(5))) {
            *param = Held::Context;
        }
        phys[10] = Held::Value;
        State { vregs: vec![0; (vregs as usize).div_ceil(64)], phys }
    }

    fn meet(&mut self, other: &State) {
        for (mine, theirs) in self.vregs.iter_mut().zip(&other.vregs) {
            *mine &= theirs;
        }
        for (mine, theirs) in self.phys.iter_mut().zip(other.phys) {
            *mine = mine.meet(theirs);
        }
    }

    fn has_vreg(&self, n: u32) -> bool {
        self.vregs.get(n as usize / 64).is_some_and(|word| word & (1 << (n % 64)) != 0)
    }

    fn set_vreg(&mut self, n: u32) {
        if let Some(word) = self.vregs.get_mut(n as usize / 64) {
            *word |= 1 << (n % 64);
        }
    }

    fn held(&self, n: u8) -> Held {
        self.phys.get(usize::from(n)).copied().unwrap_or(Held::Nothing)
    }

    fn set_phys(&mut self, n: u8, held: Held) {
        if let Some(slot) = self.phys.get_mut(usize::from(n)) {
            *slot = held;
        }
    }
}

/// Runs the data flow over `verifier`'s function, reporting unset reads, missing arguments,
/// `Exit` without `r0`, unreachable instructions and falling off the end.
pub(super) fn check(verifier: &mut Verifier<'_>, labels: &[Option<usize>]) {
    let func = verifier.func;
    // The state falling through to the next instruction, `None` after a jump or an exit; jumps
    // leave theirs with their target, the nearest last, to meet the fall-through there.
    let mut current = Some(State::entry(func.vregs, func.params));
    let mut jumped: Vec<(usize, State)> = Vec::new();
    let mut previous_reachable = true;
    for (index, inst) in func.insts.iter().enumerate() {
        while let Some((_, state)) = jumped.pop_if(|(target, _)| *target == index) {
            flow_into(&mut current, state);
        }
        let Some(state) = current.as_mut() else {
            if previous_reachable && !matches!(inst.insn, Insn::Label(_)) {
                verifier.report(Location::Insn(index), Problem::Unreachable);
                previous_reachable = false;
            }
            continue;
        };
        previous_reachable = true;
        verifier.transfer(index, &inst.insn, state);
        let mut falls_through = false;
        for successor in cfg::successors(index, &inst.insn, labels) {
            if successor == index + 1 {
                falls_through = true;
            } else {
                let at = jumped.partition_point(|(target, _)| *target > successor);
                jumped.insert(at, (successor, state.clone()));
            }
        }
        if !falls_through {
            current = None;
        }
    }
    if current.is_some() && !func.insts.is_empty() {
        verifier.report(Location::Insn(func.insts.len() - 1), Problem::FallsOffEnd);
    }
}

/// Joins `state` into what reaches an instruction from its other predecessors.
fn flow_into(incoming: &mut Option<State>, state: State) {
    match incoming {
        Some(existing) => existing.meet(&state),
        empty @ None => *empty = Some(state),
    }
}

impl Verifier<'_> {
    /// Checks `insn`'s reads against `state`, then applies its writes. One visit does both:
    /// an instruction's written operand comes after all the operands it reads, and `Call` and
    /// `Exit` have none.
    fn transfer(&mut self, index: usize, insn: &Insn, state: &mut State) {
        let at = Location::Insn(index);
        match *insn {
            Insn::Call { args, .. } => self.check_call(at, args, state),
            Insn::Exit if !self.holds_return_value(state) => {
                self.report(at, Problem::ExitWithoutR0)
            }
            _ => {}
        }
        operands::visit_regs(insn, |reg, access| {
            if access.reads() {
                self.check_read(at, reg, state);
            }
            if access.writes() {
                self.apply_write(reg, state);
            }
        });
    }

    fn check_read(&mut self, at: Location, reg: Reg, state: &State) {
        match (reg, self.stage) {
            (Reg::Virt(n), Stage::Virtual) if n < self.func.vregs && !state.has_vreg(n) => {
                self.report(at, Problem::VregUndefined(n))
            }
            (Reg::Virt(_), _) | (Reg::Phys(10..), _) => {}
            (Reg::Phys(n), Stage::Virtual) => {
                if !matches!(state.held(n), Held::Context | Held::CallResult) {
                    self.report(at, Problem::PinnedReadWithoutValue(n));
                }
            }
            (Reg::Phys(n), Stage::Allocated) => {
                if state.held(n) == Held::Nothing {
                    self.report(at, Problem::RegUndefined(n));
                }
            }
        }
    }

    /// A call reads `r1`..`r{args}`, then leaves `r1`..`r5` empty and its result in `r0`.
    fn check_call(&mut self, at: Location, args: u8, state: &mut State) {
        for (index, reg) in operands::call_clobbers().enumerate() {
            let Reg::Phys(n) = reg else { continue };
            let held = state.held(n);
            let is_set = match self.stage {
                Stage::Virtual => held == Held::Argument,
                Stage::Allocated => held != Held::Nothing,
            };
            let is_arg = index < usize::from(args);
            if is_arg && !is_set {
                self.report(at, Problem::MissingArg(n));
            }
            if !is_arg && held == Held::Argument {
                self.report(at, Problem::UnusedArg(n, args));
            }
            state.set_phys(n, Held::Nothing);
        }
        let result = match self.stage {
            Stage::Virtual => Held::CallResult,
            Stage::Allocated => Held::Value,
        };
        state.set_phys(0, result);
    }

    fn holds_return_value(&self, state: &State) -> bool {
        match self.stage {
            Stage::Virtual => state.held(0) == Held::ReturnValue,
            Stage::Allocated => state.held(0) != Held::Nothing,
        }
    }

    fn apply_write(&self, reg: Reg, state: &mut State) {
        match (reg, self.stage) {
            (Reg::Virt(n), _) => state.set_vreg(n),
            (Reg::Phys(0), Stage::Virtual) => state.set_phys(0, Held::ReturnValue),
            (Reg::Phys(n @ 1..=5), Stage::Virtual) => state.set_phys(n, Held::Argument),
            (Reg::Phys(n @ ..=9), _) => state.set_phys(n, Held::Value),
            (Reg::Phys(_), _) => {}
        }
    }
}
