//! Control flow of a LIR function: where labels sit and where each instruction may go next.

use super::{Function, Insn};

/// Each label's instruction index (`None` if undefined); a label defined twice keeps its first.
pub fn label_positions(func: &Function) -> Vec<Option<usize>> {
    let mut positions = vec![None; func.labels as usize];
    for (index, inst) in func.insts.iter().enumerate() {
        if let Insn::Label(label) = inst.insn {
            if let Some(slot @ None) = positions.get_mut(label.0 as usize) {
                *slot = Some(index);
            }
        }
    }
    positions
}

/// The instructions control may reach after the one at `index` (`insts.len()` means falling
/// off the end), the fall-through first. Jumps to undefined labels or backwards are left out:
/// `verify` reports them.
pub fn successors(index: usize, insn: &Insn, labels: &[Option<usize>]) -> impl Iterator<Item = usize> {
    let forward = |label: super::Label| {
        labels.get(label.0 as usize).copied().flatten().filter(|&position| position > index)
    };
    let next = Some(index + 1);
    let pair = match *insn {
        Insn::Exit => [None, None],
        Insn::Jump { target } => [forward(target), None],
        Insn::Branch { target, .. } => [next, forward(target)],
        _ => [next, None],
    };
    pair.into_iter().flatten()
}
