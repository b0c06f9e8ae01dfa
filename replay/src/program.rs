//! A compiled program as the engine runs it: its instruction slots from the ELF, each
//! `ld_imm64` resolved to what it loads (a number, a map, a place in a map's value, a
//! function of the program), and where its functions start.

use ferrotrace_compiler::bpf::opcode::{self, PSEUDO_FUNC, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE};
use ferrotrace_compiler::bpf::{RawInsn, INSN_SIZE};
use ferrotrace_compiler::manifest::{Manifest, ProgramSpec};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

use crate::error::ReplayError;

/// One instruction slot. The second slot of an `ld_imm64` is kept (as `Slot::Wide`'s tail) so
/// jump offsets and span indexes stay slot numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Any instruction but an `ld_imm64`.
    Op(RawInsn),
    /// An `ld_imm64` into `dst` of `value`.
    Wide { dst: u8, value: Wide },
    /// The second half of the `ld_imm64` before it; never executed.
    Tail,
}

/// What an `ld_imm64` loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wide {
    Number(u64),
    /// A map, as a helper's map argument (index into `manifest.maps`).
    Map(u32),
    /// `offset` bytes into the value of the one-entry array map `map`.
    MapValue { map: u32, offset: u32 },
    /// The function of this program starting at this slot.
    Function(u32),
}

/// A program ready to run: slots, and the slot each of its functions starts at (the program's
/// own code first, then its callbacks).
#[derive(Debug, Clone)]
pub struct Program {
    /// Index into `manifest.programs`.
    pub index: usize,
    pub slots: Vec<Slot>,
    pub functions: Vec<u32>,
}

impl Program {
    /// The function starting at `slot`, by its index in `functions`.
    pub fn function_at(&self, slot: u32) -> Option<usize> {
        self.functions.iter().position(|&start| start == slot)
    }

    /// The slots of function `function`: from its start to the next function's.
    pub fn function_range(&self, function: usize) -> std::ops::Range<usize> {
        let start = self.functions[function] as usize;
        let end = self.functions.get(function + 1).map_or(self.slots.len(), |&next| next as usize);
        start..end
    }
}

/// Every program of `manifest` read from `elf`, indexed like `manifest.programs`.
pub fn programs(elf: &[u8], manifest: &Manifest) -> Result<Vec<Program>, ReplayError> {
    let file = object::File::parse(elf).map_err(|error| ReplayError::Object(error.to_string()))?;
    manifest.programs.iter().enumerate().map(|(index, spec)| program(&file, index, spec, manifest)).collect()
}

fn program(file: &object::File<'_>, index: usize, spec: &ProgramSpec, manifest: &Manifest) -> Result<Program, ReplayError> {
    let missing = || ReplayError::Object(format!("no code for program `{}` ({})", spec.symbol, spec.probe_name));
    let symbol = file.symbol_by_name(&spec.symbol).ok_or_else(missing)?;
    let section = symbol.section_index().and_then(|at| file.section_by_index(at).ok()).ok_or_else(missing)?;
    let start = symbol.address() as usize;
    let data = section.data().map_err(|error| ReplayError::Object(error.to_string()))?;
    let code = data.get(start..start + symbol.size() as usize).ok_or_else(missing)?;
    let insns = ferrotrace_compiler::bpf::decode(code).map_err(|error| ReplayError::Object(error.to_string()))?;
    let mut maps = vec![None; insns.len()];
    for (offset, relocation) in section.relocations() {
        let RelocationTarget::Symbol(target) = relocation.target() else { continue };
        let name = file.symbol_by_index(target).and_then(|symbol| symbol.name()).map_err(|error| ReplayError::Object(error.to_string()))?;
        let Some(map) = manifest.maps.iter().position(|map| map.symbol == name) else {
            return Err(ReplayError::Object(format!("program `{}` loads `{name}`, which is not a map", spec.symbol)));
        };
        let Some(at) = (offset as usize).checked_sub(start).filter(|at| at % INSN_SIZE == 0) else { continue };
        if let Some(slot) = maps.get_mut(at / INSN_SIZE) {
            *slot = Some(map as u32);
        }
    }
    let mut slots = Vec::with_capacity(insns.len());
    let mut at = 0;
    while at < insns.len() {
        let insn = insns[at];
        if insn.code != opcode::LD_IMM64 {
            slots.push(Slot::Op(insn));
            at += 1;
            continue;
        }
        let tail = insns.get(at + 1).ok_or_else(|| ReplayError::Object(format!("program `{}` ends inside an ld_imm64", spec.symbol)))?;
        let value = match insn.src {
            PSEUDO_MAP_FD | PSEUDO_MAP_VALUE | 0 if maps[at].is_some() => {
                let map = maps[at].unwrap_or_default();
                match insn.src {
                    PSEUDO_MAP_VALUE => Wide::MapValue { map, offset: tail.imm as u32 },
                    _ => Wide::Map(map),
                }
            }
            PSEUDO_FUNC => Wide::Function((at as i64 + 1 + i64::from(insn.imm)) as u32),
            0 => Wide::Number(u64::from(insn.imm as u32) | u64::from(tail.imm as u32) << 32),
            other => return Err(ReplayError::Object(format!("program `{}` has an ld_imm64 of unknown kind {other} at {at}", spec.symbol))),
        };
        slots.push(Slot::Wide { dst: insn.dst, value });
        slots.push(Slot::Tail);
        at += 2;
    }
    let functions = std::iter::once(0).chain(spec.callbacks.iter().map(|callback| callback.insn)).collect();
    Ok(Program { index, slots, functions })
}
