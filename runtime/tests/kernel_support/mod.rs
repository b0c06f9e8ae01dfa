//! What the kernel tests share: the root gate, and a tiny hand-assembled BPF object (with its
//! manifest) built the way design.md says the compiler's ELF writer builds one.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod asm;

use ferrotrace_compiler::manifest::{
    Attach, BpfMapDef, BpfMapType, KeyStorage, Manifest, MapRole, MapSpec, MapValue, ProgramSpec, Target,
    UserMap,
};
use ferrotrace_compiler::span::Span;
use ferrotrace_compiler::types::Ty;
use object::write::{Object, Relocation, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};

/// True when the kernel tests can run; otherwise prints why and returns false, or fails when
/// `FERROTRACE_KERNEL_TESTS=require`.
pub fn kernel_available() -> bool {
    if ferrotrace_runtime::sys::effective_uid() == 0 {
        return true;
    }
    let why = "not running as root";
    assert!(
        std::env::var("FERROTRACE_KERNEL_TESTS").as_deref() != Ok("require"),
        "kernel tests are required but {why}"
    );
    eprintln!("skipping kernel test: {why}");
    false
}

/// One program of a test object: its symbol, ELF section, attach point and code.
pub struct TestProgram {
    pub symbol: &'static str,
    pub section: String,
    pub attach: Attach,
    pub code: asm::Code,
}

/// A map of a test object.
pub fn map(
    symbol: &str,
    map_type: BpfMapType,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    role: MapRole,
) -> MapSpec {
    let def = BpfMapDef {
        map_type,
        key_size,
        value_size,
        max_entries,
        flags: 0,
    };
    MapSpec {
        symbol: symbol.to_string(),
        def,
        role,
    }
}

/// A `count()` map named `name`.
pub fn count_role(name: &str, keyed: bool) -> MapRole {
    let key = if keyed { vec![Ty::U64] } else { Vec::new() };
    let storage = if keyed {
        KeyStorage::Packed
    } else {
        KeyStorage::Scalar
    };
    MapRole::User(UserMap {
        name: name.to_string(),
        key,
        value: MapValue::Count,
        storage,
    })
}

/// The ELF object and manifest for `maps` and `programs`.
pub fn build(maps: Vec<MapSpec>, programs: Vec<TestProgram>) -> (Vec<u8>, Manifest) {
    let mut object = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);
    // aya rejects a `maps` section without symbols, so a map-less object has none.
    let mut map_symbols = Vec::new();
    if !maps.is_empty() {
        let maps_section = object.add_section(Vec::new(), b"maps".to_vec(), SectionKind::Data);
        for spec in &maps {
            let offset = object.append_section_data(maps_section, &map_def_bytes(&spec.def), 4);
            map_symbols.push(object.add_symbol(data_symbol(
                &spec.symbol,
                maps_section,
                offset,
                20,
            )));
        }
    }
    let license = object.add_section(Vec::new(), b"license".to_vec(), SectionKind::Data);
    object.append_section_data(license, b"GPL\0", 1);

    let mut specs = Vec::new();
    for program in programs {
        let text = object.add_section(
            Vec::new(),
            program.section.as_bytes().to_vec(),
            SectionKind::Text,
        );
        let bytes = program.code.bytes();
        object.append_section_data(text, &bytes, 8);
        object.add_symbol(Symbol {
            name: program.symbol.as_bytes().to_vec(),
            value: 0,
            size: bytes.len() as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
        for (insn, map_index) in program.code.map_loads() {
            let relocation = Relocation {
                offset: insn as u64 * 8,
                symbol: map_symbols[map_index],
                addend: 0,
                flags: RelocationFlags::Elf {
                    r_type: object::elf::R_BPF_64_64,
                },
            };
            object.add_relocation(text, relocation).expect("relocation");
        }
        specs.push(ProgramSpec {
            symbol: program.symbol.to_string(),
            section: program.section,
            program_type: program.attach.provider().program,
            targets: vec![Target { attach: program.attach, probe_id: 0 }],
            dispatch: None,
            probe_name: format!("test:{}", program.symbol),
            attach_points: 1,
            span: Span::DUMMY,
            insn_spans: vec![Span::DUMMY; program.code.len()],
            callbacks: Vec::new(),
        });
    }
    let elf = object.write().expect("elf");
    (
        elf,
        Manifest {
            maps,
            programs: specs,
            actions: Vec::new(),
            probe_names: Vec::new(),
            ..Manifest::default()
        },
    )
}

fn data_symbol(name: &str, section: object::write::SectionId, offset: u64, size: u64) -> Symbol {
    Symbol {
        name: name.as_bytes().to_vec(),
        value: offset,
        size,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    }
}

fn map_def_bytes(def: &BpfMapDef) -> Vec<u8> {
    [
        def.map_type as u32,
        def.key_size,
        def.value_size,
        def.max_entries,
        def.flags,
    ]
    .iter()
    .flat_map(|field| field.to_le_bytes())
    .collect()
}
