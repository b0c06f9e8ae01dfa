//! The function symbols of an ELF file (with `object`), and where its loaded segments sit, to
//! name user addresses. A stripped file's symbols come from its debug file, found by build id or
//! `.gnu_debuglink` under `/usr/lib/debug`, as gdb looks for them.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};

/// How many symbols before an address are tried for one that spans it (a function's local
/// labels and aliases start inside or at it).
const NESTED_SYMBOLS: usize = 16;

/// The function symbols of one file, sorted by address, and its loaded segments.
#[derive(Debug, Default)]
pub struct ElfSymbols {
    /// `(address, size, name)` in the file's virtual addresses.
    functions: Vec<(u64, u64, String)>,
    /// `(file offset, file size, virtual address)` of each loaded segment.
    segments: Vec<(u64, u64, u64)>,
}

impl ElfSymbols {
    /// Reads `path`'s symbols; `None` if it is not a readable ELF file.
    pub fn read(path: &Path) -> Option<ElfSymbols> {
        let data = std::fs::read(path).ok()?;
        let file = object::File::parse(&*data).ok()?;
        let segments = file
            .segments()
            .map(|segment| {
                let (offset, size) = segment.file_range();
                (offset, size, segment.address())
            })
            .collect();
        let mut functions = functions(&file);
        if !has_symbol_table(&file) {
            if let Some(debug) = debug_file(path, &file).and_then(|debug| std::fs::read(debug).ok()) {
                if let Ok(debug) = object::File::parse(&*debug) {
                    functions.extend(self::functions(&debug));
                }
            }
        }
        functions.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        functions.dedup_by(|later, earlier| later.0 == earlier.0);
        Some(ElfSymbols { functions, segments })
    }

    /// The virtual address that file offset `offset` is loaded at.
    pub fn address_of_offset(&self, offset: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(start, size, _)| (*start..start + size).contains(&offset))
            .map(|(start, _, address)| offset - start + address)
    }

    /// The function containing virtual address `address` and how far into it it is: the
    /// nearest symbol at or before it whose size reaches it (a symbol of size 0 names nothing),
    /// as bcc's symbol cache decides.
    pub fn resolve(&self, address: u64) -> Option<(&str, u64)> {
        let after = self.functions.partition_point(|(start, _, _)| *start <= address);
        self.functions[..after]
            .iter()
            .rev()
            .take(NESTED_SYMBOLS)
            .find(|(start, size, _)| address - start < *size)
            .map(|(start, _, name)| (name.as_str(), address - start))
    }
}

/// The named function symbols of `file`'s symbol table and dynamic symbol table.
fn functions(file: &object::File<'_>) -> Vec<(u64, u64, String)> {
    file.symbols()
        .chain(file.dynamic_symbols())
        .filter(|symbol| symbol.kind() == SymbolKind::Text && symbol.address() != 0)
        .filter_map(|symbol| Some((symbol.address(), symbol.size(), symbol.name().ok()?.to_string())))
        .filter(|(_, _, name)| !name.is_empty())
        .collect()
}

fn has_symbol_table(file: &object::File<'_>) -> bool {
    file.symbols().any(|symbol| symbol.kind() == SymbolKind::Text)
}

/// Where the separate debug file of a stripped `path` is: `/usr/lib/debug/.build-id/xx/rest.debug`
/// by build id, else the `.gnu_debuglink` name beside it, in `.debug/` beside it, or under
/// `/usr/lib/debug` at its directory.
fn debug_file(path: &Path, file: &object::File<'_>) -> Option<PathBuf> {
    let root = Path::new("/usr/lib/debug");
    let mut candidates = Vec::new();
    if let Ok(Some(id)) = file.build_id() {
        if let Some((first, rest)) = id.split_first() {
            let rest: String = rest.iter().map(|b| format!("{b:02x}")).collect();
            candidates.push(root.join(".build-id").join(format!("{first:02x}")).join(format!("{rest}.debug")));
        }
    }
    if let Ok(Some((name, _crc))) = file.gnu_debuglink() {
        let name = String::from_utf8_lossy(name).into_owned();
        let dir = path.parent().unwrap_or(Path::new("/"));
        candidates.push(dir.join(&name));
        candidates.push(dir.join(".debug").join(&name));
        candidates.push(root.join(dir.strip_prefix("/").unwrap_or(dir)).join(&name));
    }
    candidates.into_iter().find(|candidate| candidate != path && candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test binary has a symbol table: one of its own functions names itself.
    #[test]
    fn the_running_binary_names_its_functions() {
        let exe = std::env::current_exe().expect("the test binary");
        let symbols = ElfSymbols::read(&exe).expect("an ELF file");
        let address = the_running_binary_names_its_functions as *const () as u64;
        let maps = super::super::maps::read(std::process::id()).expect("own maps");
        let mapping = maps.iter().find(|m| m.file_offset(address).is_some()).expect("mapped");
        let offset = mapping.file_offset(address).expect("in the mapping");
        let vaddr = symbols.address_of_offset(offset).expect("in a segment");
        let (name, at) = symbols.resolve(vaddr).expect("a symbol");
        assert!(name.contains("the_running_binary_names_its_functions"), "{name}");
        assert_eq!(at, 0);
    }
}
