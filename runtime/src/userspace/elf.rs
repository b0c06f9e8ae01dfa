//! What a userspace ELF binary holds for probes, read with `object`: its function symbols
//! (`.symtab` and `.dynsym`), its USDT probes (`.note.stapsdt`, with the addresses of the symbols
//! their arguments name) and its loadable segments, which turn a virtual address into the file
//! offset the kernel attaches a uprobe at.

use ferrotrace_compiler::catalog::{UsdtProbe, UserFunction};
use ferrotrace_compiler::usdt::rip_symbols;
use object::elf::{PT_LOAD, SHT_NOTE};
use object::read::elf::{ElfFile64, ProgramHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, ReadCache, ReadRef, SymbolKind};

/// The note type of a USDT probe, under the name `stapsdt`.
const NT_STAPSDT: u32 = 3;

/// What ferrotrace reads of one binary.
#[derive(Debug, Clone, Default)]
pub(crate) struct ElfInfo {
    pub functions: Vec<UserFunction>,
    /// Whether `functions` was read (it is left empty when only the USDT probes were asked for).
    pub has_functions: bool,
    pub usdt: Vec<UsdtProbe>,
    /// `(virtual address, size in the file, file offset)` of each loadable segment.
    segments: Vec<(u64, u64, u64)>,
}

impl ElfInfo {
    /// Reads the binary at `path`: its functions only when `with_functions` (a symbol table
    /// can be megabytes; `usdt:*` reads the notes of every binary on the host). Only the parts
    /// of the file read are loaded.
    pub fn read(path: &str, with_functions: bool) -> Result<ElfInfo, String> {
        let opened = std::fs::File::open(path).map_err(|error| format!("cannot read `{path}`: {error}"))?;
        let data = ReadCache::new(opened);
        let file = ElfFile64::<Endianness, _>::parse(&data).map_err(|error| format!("`{path}` is not a 64-bit ELF file: {error}"))?;
        let endian = file.endian();
        let segments = file
            .elf_program_headers()
            .iter()
            .filter(|header| header.p_type(endian) == PT_LOAD)
            .map(|header| (header.p_vaddr(endian), header.p_filesz(endian), header.p_offset(endian)))
            .collect();
        let mut info = ElfInfo { segments, ..ElfInfo::default() };
        if with_functions {
            info.functions = functions(&file, &info);
            info.has_functions = true;
        }
        info.usdt = usdt_probes(&file, &data, &info);
        Ok(info)
    }

    /// Where virtual address `address` is in the file, when a loadable segment holds it.
    pub fn file_offset(&self, address: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(start, size, _)| (*start..start.saturating_add(*size)).contains(&address))
            .map(|(start, _, offset)| address - start + offset)
    }

    /// The virtual address of file offset `offset`, when a loadable segment holds it: where a
    /// function symbol's debug info describes it.
    pub fn address(&self, offset: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(_, size, start)| (*start..start.saturating_add(*size)).contains(&offset))
            .map(|(address, _, start)| offset - start + address)
    }
}

/// Every defined function symbol of both symbol tables, once per name.
fn functions<'data, R: ReadRef<'data>>(file: &ElfFile64<'data, Endianness, R>, info: &ElfInfo) -> Vec<UserFunction> {
    let mut functions: Vec<UserFunction> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|symbol| symbol.kind() == SymbolKind::Text && symbol.is_definition() && symbol.address() != 0)
        .filter_map(|symbol| {
            let name = symbol.name().ok().filter(|name| !name.is_empty())?;
            // `malloc@@GLIBC_2.2.5` in some tables: the version is not part of the name.
            let name = name.split('@').next().unwrap_or(name);
            Some(UserFunction {
                name: name.to_string(),
                demangled: super::demangle::demangle(name),
                file_offset: info.file_offset(symbol.address())?,
                size: symbol.size(),
            })
        })
        .collect();
    functions.sort();
    functions.dedup_by(|a, b| a.name == b.name);
    functions
}

/// The USDT probes of `.note.stapsdt`, their addresses moved as far as the binary was since
/// the notes were written (prelinking: the `.stapsdt.base` section's address against the
/// note's base), with the distances of the symbols their `sym(%rip)` arguments name.
fn usdt_probes<'data, R: ReadRef<'data>>(file: &ElfFile64<'data, Endianness, R>, data: R, info: &ElfInfo) -> Vec<UsdtProbe> {
    let endian = file.endian();
    let base_address = file.section_by_name(".stapsdt.base").map(|section| section.address());
    let mut probes = Vec::new();
    let sections = file.elf_section_table();
    for section in sections.iter() {
        if section.sh_type(endian) != SHT_NOTE || sections.section_name(endian, section).ok() != Some(&b".note.stapsdt"[..]) {
            continue;
        }
        let Ok(Some(mut notes)) = section.notes(endian, data) else { continue };
        while let Ok(Some(note)) = notes.next() {
            if note.name() != b"stapsdt" || note.n_type(endian) != object::elf::NoteType(NT_STAPSDT) {
                continue;
            }
            if let Some(probe) = usdt_probe(note.desc(), base_address, info) {
                probes.push(probe);
            }
        }
    }
    let named: Vec<&str> = probes.iter().flat_map(|(_, probe)| rip_symbols(&probe.arguments)).collect();
    let addresses = if named.is_empty() { Vec::new() } else { symbol_addresses(file, &named) };
    probes
        .into_iter()
        .map(|(site, mut probe)| {
            let distance = |name: &str| addresses.iter().find(|(known, _)| *known == name).map(|(_, address)| address.wrapping_sub(site) as i64);
            probe.symbols = rip_symbols(&probe.arguments).into_iter().filter_map(|name| Some((name.to_string(), distance(name)?))).collect();
            probe
        })
        .collect()
}

/// The addresses of the defined symbols of both symbol tables named in `names`.
fn symbol_addresses<'data, R: ReadRef<'data>>(file: &ElfFile64<'data, Endianness, R>, names: &[&str]) -> Vec<(String, u64)> {
    file.symbols()
        .chain(file.dynamic_symbols())
        .filter(|symbol| symbol.is_definition() && symbol.address() != 0)
        .filter_map(|symbol| {
            let name = symbol.name().ok()?;
            let name = name.split('@').next().unwrap_or(name);
            names.contains(&name).then(|| (name.to_string(), symbol.address()))
        })
        .collect()
}

/// One note's description: `pc`, `base`, `semaphore` (8 bytes each), then the provider, the
/// name and the argument specs, each NUL-terminated. With the probe's address in the binary.
fn usdt_probe(desc: &[u8], base_address: Option<u64>, info: &ElfInfo) -> Option<(u64, UsdtProbe)> {
    let word = |at: usize| desc.get(at..at + 8).map(|bytes| u64::from_le_bytes(bytes.try_into().unwrap_or_default()));
    let (pc, base, semaphore) = (word(0)?, word(8)?, word(16)?);
    let mut strings = desc.get(24..)?.split(|&byte| byte == 0).map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    let (provider, name, arguments) = (strings.next()?, strings.next()?, strings.next().unwrap_or_default());
    let moved = |address: u64| match base_address {
        Some(actual) if base != 0 => address.wrapping_add(actual).wrapping_sub(base),
        _ => address,
    };
    let site = moved(pc);
    let probe = UsdtProbe {
        provider,
        name,
        file_offset: info.file_offset(site)?,
        semaphore: (semaphore != 0).then(|| info.file_offset(moved(semaphore))).flatten(),
        arguments,
        symbols: Vec::new(),
    };
    Some((site, probe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_map_through_loadable_segments() {
        let info = ElfInfo { segments: vec![(0x1000, 0x500, 0x1000), (0x3000, 0x100, 0x2000)], ..ElfInfo::default() };
        assert_eq!(info.file_offset(0x1234), Some(0x1234));
        assert_eq!(info.file_offset(0x3010), Some(0x2010));
        assert_eq!(info.file_offset(0x2000), None);
        assert_eq!(info.address(0x2010), Some(0x3010));
        assert_eq!(info.address(0x5000), None);
    }

    #[test]
    fn a_note_reads_as_a_probe() {
        let info = ElfInfo { segments: vec![(0x1000, 0x1000, 0), (0x4000, 0x100, 0x3000)], ..ElfInfo::default() };
        let mut desc = Vec::new();
        for word in [0x1010u64, 0x500, 0x4008] {
            desc.extend_from_slice(&word.to_le_bytes());
        }
        desc.extend_from_slice(b"app\0start\0-4@%eax 8@-8(%rbp)\0");
        let (site, probe) = usdt_probe(&desc, Some(0x500), &info).unwrap();
        assert_eq!(site, 0x1010);
        assert_eq!((probe.provider.as_str(), probe.name.as_str()), ("app", "start"));
        assert_eq!((probe.file_offset, probe.semaphore), (0x10, Some(0x3008)));
        assert_eq!(probe.arguments, "-4@%eax 8@-8(%rbp)");
    }
}
