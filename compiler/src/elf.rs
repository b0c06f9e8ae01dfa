//! The ELF writer: encoded programs and map definitions in, a relocatable BPF object out, in
//! the shape aya 0.14 loads.
//!
//! Layout: one executable section per section name (named after the program type, e.g.
//! `tracepoint/syscalls/sys_enter_openat`), holding its programs one after another, as clang
//! lays out several functions of one `SEC()`, each under a global `STT_FUNC` symbol over all of
//! its code; a `maps` section of 20-byte legacy `bpf_map_def`s (`type, key_size, value_size,
//! max_entries, map_flags`), each under a global `STT_OBJECT` symbol named after the map; a
//! `.rel<section>` entry of type `R_BPF_64_64` at every map load's `ld_imm64` naming the map's
//! symbol, which the loader replaces with the map's fd; `license` = `"GPL\0"`; and, when a
//! program reads kernel struct members, `.BTF` and `.BTF.ext` with their CO-RE relocations
//! (`co_re`).

use std::collections::HashSet;

use object::write::{Object, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};
use thiserror::Error;

use crate::bpf::{EncodedProgram, INSN_SIZE};
use crate::co_re::CoreSections;
use crate::manifest::{BpfMapDef, MapSpec};

/// The sections of the types the programs read and of their relocations.
pub const BTF_SECTION: &str = ".BTF";
pub const BTF_EXT_SECTION: &str = ".BTF.ext";

/// Bytes of one legacy map definition: the five `u32` fields aya requires, no more.
pub const MAP_DEF_SIZE: usize = 20;

/// The license the programs declare: the probe-read and output helpers are GPL-only.
const LICENSE: &[u8] = b"GPL\0";

/// One program to place in the object.
#[derive(Debug, Clone, Copy)]
pub struct ElfProgram<'a> {
    /// The function symbol; aya names the program after it.
    pub symbol: &'a str,
    /// The section name, which tells the loader the program type.
    pub section: &'a str,
    pub code: &'a EncodedProgram,
}

#[derive(Debug, Error)]
pub enum ElfError {
    #[error("program `{symbol}` has no instructions")]
    EmptyProgram { symbol: String },
    #[error("two symbols are named `{symbol}`; program and map symbols must be unique")]
    DuplicateSymbol { symbol: String },
    #[error("program `{symbol}` loads map {map}, but only {maps} maps are defined")]
    UnknownMap { symbol: String, map: u32, maps: usize },
    #[error("cannot write the ELF object: {0}")]
    Write(#[from] object::write::Error),
}

/// Writes `programs`, `maps` and the `core` sections as a relocatable little-endian ELF64
/// object for `EM_BPF`. A program's map relocations index `maps` by `MapId`.
pub fn write_object(programs: &[ElfProgram<'_>], maps: &[MapSpec], core: Option<&CoreSections>) -> Result<Vec<u8>, ElfError> {
    check_symbols(programs, maps)?;
    let mut object = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);
    let map_symbols = add_maps(&mut object, maps);
    let mut sections: Vec<(&str, SectionId)> = Vec::new();
    for (program, start) in programs.iter().zip(program_starts(programs)) {
        let section = match sections.iter().find(|(name, _)| *name == program.section) {
            Some((_, section)) => *section,
            None => {
                let section = object.add_section(Vec::new(), program.section.as_bytes().to_vec(), SectionKind::Text);
                sections.push((program.section, section));
                section
            }
        };
        add_program(&mut object, program, section, start, &map_symbols)?;
    }
    let license = object.add_section(Vec::new(), b"license".to_vec(), SectionKind::Data);
    object.set_section_data(license, LICENSE, 1);
    if let Some(core) = core {
        for (name, data) in [(BTF_SECTION, &core.btf), (BTF_EXT_SECTION, &core.ext)] {
            let section = object.add_section(Vec::new(), name.as_bytes().to_vec(), SectionKind::Other);
            object.set_section_data(section, data.clone(), 4);
        }
    }
    Ok(object.write()?)
}

/// Rejects empty programs and repeated symbol names (aya keys programs and maps by name).
fn check_symbols(programs: &[ElfProgram<'_>], maps: &[MapSpec]) -> Result<(), ElfError> {
    if let Some(empty) = programs.iter().find(|p| p.code.insns.is_empty()) {
        return Err(ElfError::EmptyProgram { symbol: empty.symbol.to_string() });
    }
    let mut seen = HashSet::with_capacity(programs.len() + maps.len());
    let names = programs.iter().map(|p| p.symbol).chain(maps.iter().map(|m| m.symbol.as_str()));
    for name in names {
        if !seen.insert(name) {
            return Err(ElfError::DuplicateSymbol { symbol: name.to_string() });
        }
    }
    Ok(())
}

/// Adds the `maps` section and one symbol per map; returns the symbols in `MapId` order.
fn add_maps(object: &mut Object<'_>, maps: &[MapSpec]) -> Vec<SymbolId> {
    if maps.is_empty() {
        // aya rejects a `maps` section without symbols.
        return Vec::new();
    }
    let section = object.add_section(Vec::new(), b"maps".to_vec(), SectionKind::Data);
    let mut data = Vec::with_capacity(maps.len() * MAP_DEF_SIZE);
    for map in maps {
        data.extend_from_slice(&map_def_bytes(&map.def));
    }
    object.set_section_data(section, data, 4);
    maps.iter()
        .enumerate()
        .map(|(i, map)| {
            let offset = (i * MAP_DEF_SIZE) as u64;
            let size = MAP_DEF_SIZE as u64;
            object.add_symbol(global(&map.symbol, SymbolKind::Data, section, offset, size))
        })
        .collect()
}

/// The legacy `struct bpf_map_def` prefix, little-endian.
fn map_def_bytes(def: &BpfMapDef) -> [u8; MAP_DEF_SIZE] {
    let fields = [def.map_type as u32, def.key_size, def.value_size, def.max_entries, def.flags];
    let mut bytes = [0; MAP_DEF_SIZE];
    for (chunk, field) in bytes.chunks_exact_mut(4).zip(fields) {
        chunk.copy_from_slice(&field.to_le_bytes());
    }
    bytes
}

/// Where each program starts in its section, in instruction slots: after the programs before
/// it with the same section name.
pub fn program_starts(programs: &[ElfProgram<'_>]) -> Vec<usize> {
    let mut ends: Vec<(&str, usize)> = Vec::new();
    programs
        .iter()
        .map(|program| match ends.iter_mut().find(|(name, _)| *name == program.section) {
            Some((_, end)) => {
                let start = *end;
                *end += program.code.insns.len();
                start
            }
            None => {
                ends.push((program.section, program.code.insns.len()));
                0
            }
        })
        .collect()
}

/// Adds a program's code to its section at slot `start`, its function symbol and its map
/// relocations.
fn add_program(
    object: &mut Object<'_>,
    program: &ElfProgram<'_>,
    section: SectionId,
    start: usize,
    map_symbols: &[SymbolId],
) -> Result<(), ElfError> {
    let code = program.code.to_bytes();
    let size = code.len() as u64;
    let offset = object.append_section_data(section, &code, INSN_SIZE as u64);
    debug_assert_eq!(offset, (start * INSN_SIZE) as u64, "programs are laid out as program_starts says");
    object.add_symbol(global(program.symbol, SymbolKind::Text, section, offset, size));
    for &(slot, map) in &program.code.map_relocations {
        let symbol = *map_symbols.get(map.0 as usize).ok_or_else(|| ElfError::UnknownMap {
            symbol: program.symbol.to_string(),
            map: map.0,
            maps: map_symbols.len(),
        })?;
        let relocation = Relocation {
            offset: offset + (slot * INSN_SIZE) as u64,
            symbol,
            addend: 0,
            flags: RelocationFlags::Elf { r_type: object::elf::R_BPF_64_64 },
        };
        object.add_relocation(section, relocation)?;
    }
    Ok(())
}

/// A global, default-visibility symbol defined at `value` in `section`.
fn global(name: &str, kind: SymbolKind, section: SectionId, value: u64, size: u64) -> Symbol {
    Symbol {
        name: name.as_bytes().to_vec(),
        value,
        size,
        kind,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    }
}

#[cfg(test)]
mod tests;
