//! A binary's debug info (DWARF), for uprobes that name a function's parameters: found in the
//! binary itself or in the separate debug file it names (by build id, or by `.gnu_debuglink`
//! under `/usr/lib/debug`), only its type-describing sections loaded, and a function found by
//! its address (through `.debug_aranges`, else each unit's ranges) rather than by indexing
//! every name, so that one function costs one unit's walk. The file is mapped, not read: a
//! section stored as is is read in place (only the pages walked are loaded), and one stored
//! compressed (`SHF_COMPRESSED` with zlib or zstd, or a GNU `.zdebug_` section) is inflated
//! into memory of its own.

use std::ops::Range;
use std::path::{Path, PathBuf};

use gimli::{DwarfSections, EndianSlice, RunTimeEndian, SectionId};
use memmap2::Mmap;
use object::{CompressionFormat, Object, ObjectSection};

/// The reader the DWARF is walked with: its sections, loaded.
pub(crate) type Reader<'a> = EndianSlice<'a, RunTimeEndian>;

/// The sections that describe units, entries and types, and the line tables, whose headers
/// gimli reads with each unit; the others (locations, call frames, macros) are not read.
const SECTIONS: [SectionId; 10] = [
    SectionId::DebugAbbrev,
    SectionId::DebugInfo,
    SectionId::DebugStr,
    SectionId::DebugLineStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugAddr,
    SectionId::DebugRanges,
    SectionId::DebugRngLists,
    SectionId::DebugAranges,
    SectionId::DebugLine,
];

/// Where the distributions put separate debug files.
const DEBUG_ROOT: &str = "/usr/lib/debug";

/// The largest section inflated: a compressed section's header says its size, and memory for
/// it is taken before inflating, so a malformed header is not trusted with more.
const MAX_INFLATED: u64 = 4 << 30;

/// The loaded DWARF sections of one binary.
pub(crate) struct DebugInfo {
    /// The file they were read from, mapped.
    map: Mmap,
    sections: DwarfSections<Section>,
    endian: RunTimeEndian,
    /// The file they were read from (the binary, or its separate debug file).
    pub file: PathBuf,
}

/// Where a section's bytes are.
enum Section {
    /// In the mapped file, stored as is (empty for a section the file lacks).
    Mapped(Range<usize>),
    /// Inflated from a compressed section.
    Inflated(Vec<u8>),
}

impl std::fmt::Debug for DebugInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DebugInfo({})", self.file.display())
    }
}

impl DebugInfo {
    /// The debug info of the binary at `path`: its own, else its separate debug file's. `None`
    /// when neither has any.
    pub fn read(path: &Path) -> Result<Option<DebugInfo>, String> {
        let map = open(path)?;
        let file = parse(&map, path)?;
        if has_debug_info(&file) {
            let (sections, endian) = load(&file, &map, path)?;
            return Ok(Some(DebugInfo { map, sections, endian, file: path.to_path_buf() }));
        }
        for candidate in separate_files(&file, path) {
            let Ok(map) = open(&candidate) else { continue };
            let Ok(debug) = parse(&map, &candidate) else { continue };
            if has_debug_info(&debug) {
                let (sections, endian) = load(&debug, &map, &candidate)?;
                return Ok(Some(DebugInfo { map, sections, endian, file: candidate }));
            }
        }
        Ok(None)
    }

    /// The sections as gimli walks them.
    pub fn dwarf(&self) -> gimli::Dwarf<Reader<'_>> {
        self.sections.borrow(|section| {
            let bytes = match section {
                Section::Mapped(range) => &self.map[range.clone()],
                Section::Inflated(bytes) => bytes,
            };
            EndianSlice::new(bytes, self.endian)
        })
    }
}

/// The unit holding the code at `address`, and the offset of its subprogram that starts there;
/// `None` when no unit describes that address.
pub(crate) fn function_at<'a>(dwarf: &gimli::Dwarf<Reader<'a>>, address: u64) -> gimli::Result<Option<(gimli::Unit<Reader<'a>>, gimli::UnitOffset)>> {
    for unit in units_covering(dwarf, address)? {
        let mut entries = unit.entries();
        let mut found = None;
        while let Some((_, entry)) = entries.next_dfs()? {
            if entry.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let Some(low) = entry.attr_value(gimli::DW_AT_low_pc)? else { continue };
            if dwarf.attr_address(&unit, low)? == Some(address) {
                found = Some(entry.offset());
                break;
            }
        }
        if let Some(offset) = found {
            return Ok(Some((unit, offset)));
        }
    }
    Ok(None)
}

/// The units whose code covers `address`: from `.debug_aranges` when it says, else every unit
/// whose ranges hold it.
fn units_covering<'a>(dwarf: &gimli::Dwarf<Reader<'a>>, address: u64) -> gimli::Result<Vec<gimli::Unit<Reader<'a>>>> {
    let mut offsets = Vec::new();
    let mut headers = dwarf.debug_aranges.headers();
    while let Some(header) = headers.next()? {
        let mut entries = header.entries();
        while let Some(entry) = entries.next()? {
            if (entry.address()..entry.address().saturating_add(entry.length())).contains(&address) {
                offsets.push(header.debug_info_offset());
                break;
            }
        }
    }
    if !offsets.is_empty() {
        return offsets.into_iter().map(|offset| dwarf.unit(dwarf.debug_info.header_from_offset(offset)?)).collect();
    }
    let mut units = Vec::new();
    let mut headers = dwarf.units();
    while let Some(header) = headers.next()? {
        let unit = dwarf.unit(header)?;
        let mut ranges = dwarf.unit_ranges(&unit)?;
        while let Some(range) = ranges.next()? {
            if (range.begin..range.end).contains(&address) {
                units.push(unit);
                break;
            }
        }
    }
    Ok(units)
}

/// The file at `path`, mapped read-only.
fn open(path: &Path) -> Result<Mmap, String> {
    let cannot = |error: std::io::Error| format!("cannot read `{}`: {error}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    // SAFETY: the map is only read, as bytes that may hold anything, and ferrotrace never
    // writes the file. Another process writing it in place while it is mapped would change
    // the bytes under the reader (debug info that reads as malformed), and truncating it would
    // fault, as for debuggers and symbolizers, which map it alike; builds and package managers
    // replace a binary by renaming a new file over it, which leaves the mapped one whole.
    unsafe { Mmap::map(&file) }.map_err(cannot)
}

fn parse<'a>(data: &'a [u8], path: &Path) -> Result<object::File<'a>, String> {
    object::File::parse(data).map_err(|error| format!("`{}` is not an ELF file: {error}", path.display()))
}

fn has_debug_info(file: &object::File<'_>) -> bool {
    file.section_by_name(".debug_info").is_some_and(|section| section.size() > 0)
}

/// Where the type-describing sections of `file` (mapped as `map`) are, compressed ones
/// inflated, and the file's byte order.
fn load(file: &object::File<'_>, map: &[u8], path: &Path) -> Result<(DwarfSections<Section>, RunTimeEndian), String> {
    let sections = DwarfSections::load(|id| -> Result<Section, String> {
        if !SECTIONS.contains(&id) {
            return Ok(Section::Mapped(0..0));
        }
        let Some(section) = file.section_by_name(id.name()) else { return Ok(Section::Mapped(0..0)) };
        let cannot = |error: String| format!("cannot read {} of `{}`: {error}", id.name(), path.display());
        let range = section.compressed_file_range().map_err(|error| cannot(error.to_string()))?;
        if range.format != CompressionFormat::None {
            if range.uncompressed_size > MAX_INFLATED {
                return Err(cannot(format!("it says it inflates to {} bytes", range.uncompressed_size)));
            }
            let data = section.uncompressed_data().map_err(|error| cannot(error.to_string()))?;
            return Ok(Section::Inflated(data.into_owned()));
        }
        let start = usize::try_from(range.offset).ok();
        let end = start.zip(usize::try_from(range.compressed_size).ok()).and_then(|(start, size)| start.checked_add(size));
        match start.zip(end) {
            Some((start, end)) if end <= map.len() => Ok(Section::Mapped(start..end)),
            _ => Err(cannot("it lies past the end of the file".to_string())),
        }
    })?;
    let endian = if file.is_little_endian() { RunTimeEndian::Little } else { RunTimeEndian::Big };
    Ok((sections, endian))
}

/// Where the separate debug file of `file` (at `path`) may be, in the order gdb looks:
/// `/usr/lib/debug/.build-id/ab/cdef.debug`, then the `.gnu_debuglink` name beside the binary,
/// in `.debug/` beside it and under `/usr/lib/debug/` with the binary's directory, then
/// `/usr/lib/debug/PATH.debug`.
fn separate_files(file: &object::File<'_>, path: &Path) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(Some(id)) = file.build_id() {
        if let Some((first, rest)) = id.split_first() {
            let rest: String = rest.iter().map(|byte| format!("{byte:02x}")).collect();
            candidates.push(Path::new(DEBUG_ROOT).join(".build-id").join(format!("{first:02x}")).join(format!("{rest}.debug")));
        }
    }
    let directory = path.parent().unwrap_or(Path::new("/"));
    if let Ok(Some((name, _))) = file.gnu_debuglink() {
        if let Ok(name) = std::str::from_utf8(name) {
            candidates.push(directory.join(name));
            candidates.push(directory.join(".debug").join(name));
            candidates.push(under_debug_root(directory).join(name));
        }
    }
    let mut beside = under_debug_root(path).into_os_string();
    beside.push(".debug");
    candidates.push(beside.into());
    candidates.retain(|candidate| candidate != path);
    candidates
}

/// `path` under `/usr/lib/debug`.
fn under_debug_root(path: &Path) -> PathBuf {
    Path::new(DEBUG_ROOT).join(path.strip_prefix("/").unwrap_or(path))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A function of this test binary, which is built with debug info.
    #[no_mangle]
    #[inline(never)]
    extern "C" fn dwarf_test_function(count: u32, name: *const std::ffi::c_char) -> u64 {
        std::hint::black_box(count as u64 + name as u64)
    }

    #[test]
    #[cfg_attr(not(debug_assertions), ignore = "reads the test binary's own debug info, which only the dev profile writes")]
    fn a_function_is_found_by_its_address() {
        let exe = std::env::current_exe().unwrap();
        let info = DebugInfo::read(&exe).unwrap().expect("the tests are built with debug info");
        let dwarf = info.dwarf();
        std::hint::black_box(dwarf_test_function as *const ());
        let address = own_address("dwarf_test_function");
        let (unit, offset) = function_at(&dwarf, address).unwrap().expect("the function is described");
        let entry = unit.entry(offset).unwrap();
        let name = dwarf.attr_string(&unit, entry.attr_value(gimli::DW_AT_name).unwrap().unwrap()).unwrap();
        assert_eq!(name.to_string_lossy(), "dwarf_test_function");
        assert!(function_at(&dwarf, 1).unwrap().is_none());
    }

    #[test]
    fn separate_debug_files_are_looked_for_where_distributions_put_them() {
        let exe = std::env::current_exe().unwrap();
        let data = open(&exe).unwrap();
        let file = parse(&data, &exe).unwrap();
        let candidates = separate_files(&file, Path::new("/usr/bin/app"));
        assert_eq!(candidates.last().unwrap(), Path::new("/usr/lib/debug/usr/bin/app.debug"));
        assert!(open(Path::new("/nonexistent")).is_err());
    }

    /// The address of the function symbol `name` of this test binary.
    pub(crate) fn own_address(name: &str) -> u64 {
        use object::ObjectSymbol;
        let exe = std::env::current_exe().unwrap();
        let data = open(&exe).unwrap();
        let file = parse(&data, &exe).unwrap();
        let symbol = file.symbols().find(|symbol| symbol.name() == Ok(name));
        symbol.map(|symbol| symbol.address()).expect("the function has a symbol")
    }
}
