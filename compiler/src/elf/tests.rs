//! ELF writer tests: the object is parsed back with `object::read` and checked section by
//! section, symbol by symbol, relocation by relocation.

use std::fmt::Write;

use object::read::{File, Object, ObjectSection, ObjectSymbol, RelocationTarget};
use object::{RelocationFlags, SymbolKind};

use super::*;
use crate::bpf::RawInsn;
use crate::manifest::{BpfMapType, MapId, MapRole};
use crate::span::Span;

fn map(
    symbol: &str,
    map_type: BpfMapType,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> MapSpec {
    let def = BpfMapDef { map_type, key_size, value_size, max_entries, flags: 0 };
    MapSpec { symbol: symbol.to_string(), def, role: MapRole::Scratch }
}

fn test_maps() -> Vec<MapSpec> {
    vec![
        map("m0", BpfMapType::PercpuArray, 4, 8, 1),
        map("ringbuf", BpfMapType::RingBuf, 0, 0, 1 << 16),
    ]
}

/// `slots` filler instructions with a map load at each `(slot, map)` of `loads`, then `exit`.
fn program(slots: usize, loads: &[(usize, u32)]) -> EncodedProgram {
    let mut insns = vec![RawInsn::new(0xb7, 0, 0, 0, 0); slots];
    let mut map_relocations = Vec::new();
    for &(slot, map) in loads {
        insns[slot] = RawInsn::new(0x18, 1, 1, 0, 0);
        insns[slot + 1] = RawInsn::default();
        map_relocations.push((slot, MapId(map)));
    }
    insns.push(RawInsn::new(0x95, 0, 0, 0, 0));
    let spans = vec![Span::DUMMY; insns.len()];
    EncodedProgram { insns, map_relocations, spans, ..EncodedProgram::default() }
}

/// A readelf-like listing of everything aya looks at.
fn describe(bytes: &[u8]) -> String {
    let file = File::parse(bytes).expect("parses");
    let mut out = String::new();
    let _ = writeln!(out, "{:?} {:?} 64-bit: {}", file.architecture(), file.kind(), file.is_64());
    for section in file.sections() {
        let name = section.name().expect("section name");
        let _ = writeln!(
            out,
            "section {name:<40} {:?} size {} align {}",
            section.kind(),
            section.size(),
            section.align()
        );
        for (offset, relocation) in section.relocations() {
            let RelocationTarget::Symbol(index) = relocation.target() else {
                panic!("relocation without a symbol")
            };
            let target =
                file.symbol_by_index(index).expect("symbol").name().expect("name").to_string();
            let _ = writeln!(out, "  reloc at {offset:>3} -> {target} {:?}", relocation.flags());
        }
    }
    for symbol in file.symbols() {
        let section = symbol.section_index().and_then(|i| file.section_by_index(i).ok());
        let section = section.map_or(String::new(), |s| s.name().expect("name").to_string());
        let _ = writeln!(
            out,
            "symbol {:<8} {:?} global {} in {section} at {} size {} {:?}",
            symbol.name().expect("name"),
            symbol.kind(),
            symbol.is_global(),
            symbol.address(),
            symbol.size(),
            symbol.flags(),
        );
    }
    out
}

fn two_programs() -> Vec<u8> {
    let counter = program(4, &[(0, 0)]);
    let begin = program(6, &[(0, 1), (3, 0)]);
    let programs = [
        ElfProgram {
            symbol: "p0",
            section: "tracepoint/syscalls/sys_enter_getppid",
            code: &counter,
        },
        ElfProgram { symbol: "begin", section: "raw_tp/begin", code: &begin },
    ];
    write_object(&programs, &test_maps(), None).expect("writes")
}

#[test]
fn object_layout() {
    insta::assert_snapshot!(describe(&two_programs()));
}

#[test]
fn header_is_elf64_little_endian_bpf_relocatable() {
    let bytes = two_programs();
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(bytes[4], 2, "ELFCLASS64");
    assert_eq!(bytes[5], 1, "ELFDATA2LSB");
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 1, "ET_REL");
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 247, "EM_BPF");
}

#[test]
fn sections_hold_the_code_the_map_defs_and_the_license() {
    let counter = program(4, &[(0, 0)]);
    let programs = [ElfProgram { symbol: "p0", section: "raw_tp/begin", code: &counter }];
    let bytes = write_object(&programs, &test_maps(), None).expect("writes");
    let file = File::parse(&*bytes).expect("parses");
    let data = |name: &str| file.section_by_name(name).expect(name).data().expect("data").to_vec();

    assert_eq!(data("raw_tp/begin"), counter.to_bytes());
    assert_eq!(data("license"), b"GPL\0");
    let maps = data("maps");
    let words: Vec<u32> =
        maps.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    assert_eq!(words, vec![6, 4, 8, 1, 0, 27, 0, 0, 1 << 16, 0]);
}

#[test]
fn relocations_name_the_map_symbol_at_each_ld_imm64() {
    let bytes = two_programs();
    let file = File::parse(&*bytes).expect("parses");
    let section = file.section_by_name("raw_tp/begin").expect("section");
    let relocations: Vec<(u64, String, RelocationFlags)> = section
        .relocations()
        .map(|(offset, relocation)| {
            let RelocationTarget::Symbol(index) = relocation.target() else {
                panic!("relocation without a symbol")
            };
            let name =
                file.symbol_by_index(index).expect("symbol").name().expect("name").to_string();
            (offset, name, relocation.flags())
        })
        .collect();
    let r_type = object::elf::R_BPF_64_64;
    assert_eq!(
        relocations,
        vec![
            (0, "ringbuf".to_string(), RelocationFlags::Elf { r_type }),
            (24, "m0".to_string(), RelocationFlags::Elf { r_type }),
        ]
    );
}

#[test]
fn no_section_symbols_reach_the_maps_section() {
    // aya reads every symbol in `maps` as a map definition.
    let bytes = two_programs();
    let file = File::parse(&*bytes).expect("parses");
    let maps = file.section_by_name("maps").expect("maps").index();
    let in_maps: Vec<(String, SymbolKind)> = file
        .symbols()
        .filter(|s| s.section_index() == Some(maps))
        .map(|s| (s.name().expect("name").to_string(), s.kind()))
        .collect();
    assert_eq!(
        in_maps,
        vec![("m0".to_string(), SymbolKind::Data), ("ringbuf".to_string(), SymbolKind::Data)]
    );
}

#[test]
fn no_maps_means_no_maps_section() {
    let code = program(1, &[]);
    let programs = [ElfProgram { symbol: "p0", section: "perf_event", code: &code }];
    let bytes = write_object(&programs, &[], None).expect("writes");
    let file = File::parse(&*bytes).expect("parses");
    assert!(file.section_by_name("maps").is_none());
    assert!(file.section_by_name("perf_event").is_some());
}

#[test]
fn errors() {
    let empty = EncodedProgram::default();
    let programs = [ElfProgram { symbol: "p0", section: "perf_event", code: &empty }];
    let error = write_object(&programs, &[], None).expect_err("empty");
    assert_eq!(error.to_string(), "program `p0` has no instructions");

    let code = program(3, &[(0, 2)]);
    let programs = [ElfProgram { symbol: "p0", section: "perf_event", code: &code }];
    let error = write_object(&programs, &test_maps(), None).expect_err("unknown map");
    assert_eq!(error.to_string(), "program `p0` loads map 2, but only 2 maps are defined");

    let programs = [ElfProgram { symbol: "m0", section: "perf_event", code: &code }];
    let error = write_object(&programs, &test_maps(), None).expect_err("duplicate");
    assert_eq!(
        error.to_string(),
        "two symbols are named `m0`; program and map symbols must be unique"
    );
}
