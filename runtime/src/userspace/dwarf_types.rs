//! A function's DWARF description turned into the BTF the compiler reads types from: the
//! function, its parameters and return type, and every type they reach (base types,
//! pointers and references, typedefs, const and volatile, structs, classes and unions with
//! their members and bitfields, enums, arrays). Structs are written after the types that
//! point at them, from a worklist, so that a linked list is no deep recursion; past
//! `MAX_TYPES` records, structs are written as declarations. What cannot be described (a
//! function pointer's prototype, a Rust enum's variants) is `void` or a struct without members.

use std::collections::HashMap;
use std::sync::Arc;

use ferrotrace_compiler::btf::{Btf, BtfError, TypeId, Writer, WrittenMember, MAX_CHAIN};
use gimli::{AttributeValue, DwAt, Unit, UnitOffset};

use super::dwarf::{function_at, DebugInfo, Reader};

/// The most type records written for one function.
const MAX_TYPES: usize = 20_000;

/// BTF holding the function that starts at `address`, under the name `name`, split over
/// `base` when given. `Ok(None)` when the debug info does not describe that address.
pub(crate) fn function_types(info: &DebugInfo, address: u64, name: &str, base: Option<&Arc<Btf>>) -> Result<Option<Btf>, String> {
    let dwarf = info.dwarf();
    let malformed = |error: gimli::Error| format!("malformed debug info in `{}`: {error}", info.file.display());
    let Some((unit, offset)) = function_at(&dwarf, address).map_err(malformed)? else { return Ok(None) };
    let writer = Writer::new(base.map(|base| &**base)).map_err(btf_error)?;
    let mut converter = Converter { dwarf: &dwarf, units: vec![unit], writer, done: HashMap::new(), pending: Vec::new(), index: None, written: 0 };
    converter.function(name, offset).map_err(|error| match error {
        Failure::Dwarf(error) => malformed(error),
        Failure::Btf(error) => btf_error(error),
    })?;
    converter.finish_structs().map_err(|error| match error {
        Failure::Dwarf(error) => malformed(error),
        Failure::Btf(error) => btf_error(error),
    })?;
    let data = converter.writer.finish();
    let btf = match base {
        Some(base) => Btf::parse_split(base.clone(), data),
        None => Btf::parse(data),
    };
    btf.map(Some).map_err(btf_error)
}

fn btf_error(error: BtfError) -> String {
    format!("cannot describe the function's types: {error}")
}

/// Why a conversion stopped.
enum Failure {
    Dwarf(gimli::Error),
    Btf(BtfError),
}

impl From<gimli::Error> for Failure {
    fn from(error: gimli::Error) -> Failure {
        Failure::Dwarf(error)
    }
}

impl From<BtfError> for Failure {
    fn from(error: BtfError) -> Failure {
        Failure::Btf(error)
    }
}

/// An entry: the index of its unit in `Converter::units`, and its offset there.
type EntryRef = (usize, UnitOffset);

/// A member of a struct read from its entry, its type not converted yet.
struct PendingMember {
    name: String,
    ty: Option<EntryRef>,
    bit_offset: u32,
    bitfield_size: Option<u8>,
}

struct Converter<'d, 'a> {
    dwarf: &'d gimli::Dwarf<Reader<'a>>,
    /// The units read so far; the function's first.
    units: Vec<Unit<Reader<'a>>>,
    writer: Writer,
    /// The BTF id of each entry converted, by its offset in `.debug_info`.
    done: HashMap<usize, TypeId>,
    /// Structs and unions given an id whose members are still to write.
    pending: Vec<(TypeId, EntryRef)>,
    /// The integer type arrays are indexed by, once written.
    index: Option<TypeId>,
    written: usize,
}

impl<'a> Converter<'_, 'a> {
    /// Writes the function at `offset` of the first unit as `name`.
    fn function(&mut self, name: &str, offset: UnitOffset) -> Result<(), Failure> {
        let entry_ref = (0, offset);
        let ret = self.type_of(entry_ref)?;
        let mut params = Vec::new();
        let mut variadic = false;
        for child in self.children(entry_ref)? {
            let tag = self.units[0].entry(child.1)?.tag();
            if tag == gimli::DW_TAG_unspecified_parameters {
                variadic = true;
            } else if tag == gimli::DW_TAG_formal_parameter {
                // An out-of-line copy of an inlined function names its parameters through
                // their abstract origin.
                let described = self.reference(child, gimli::DW_AT_abstract_origin)?.unwrap_or(child);
                let name = self.name(child)?.or(self.name(described)?).unwrap_or_default();
                let ty = match self.reference(child, gimli::DW_AT_type)? {
                    Some(_) => self.type_of(child)?,
                    None => self.type_of(described)?,
                };
                params.push((name, ty));
            }
        }
        let params: Vec<(&str, TypeId)> = params.iter().map(|(name, ty)| (name.as_str(), *ty)).collect();
        let proto = self.writer.prototype(ret, &params, variadic)?;
        self.writer.function(name, proto)?;
        Ok(())
    }

    /// The type `entry`'s `DW_AT_type` names; `void` without one.
    fn type_of(&mut self, entry: EntryRef) -> Result<TypeId, Failure> {
        match self.reference(entry, gimli::DW_AT_type)? {
            Some(target) => self.convert(target, 0),
            None => Ok(TypeId::VOID),
        }
    }

    /// The BTF id of the type entry `entry`, written on first use.
    fn convert(&mut self, entry: EntryRef, depth: usize) -> Result<TypeId, Failure> {
        let key = self.global(entry);
        if let Some(id) = self.done.get(&key) {
            return Ok(*id);
        }
        if depth > MAX_CHAIN {
            return Ok(TypeId::VOID);
        }
        let tag = self.units[entry.0].entry(entry.1)?.tag();
        let name = self.name(entry)?.unwrap_or_default();
        self.written += 1;
        let id = match tag {
            gimli::DW_TAG_base_type => self.base_type(entry, &name)?,
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type | gimli::DW_TAG_rvalue_reference_type => {
                let target = self.target(entry, depth)?;
                self.writer.pointer(target)?
            }
            gimli::DW_TAG_typedef => {
                let target = self.target(entry, depth)?;
                self.writer.typedef(&name, target)?
            }
            gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type => {
                let target = self.target(entry, depth)?;
                self.writer.qualified(target, tag == gimli::DW_TAG_volatile_type)?
            }
            // Qualifiers BTF has no use for here: the type itself.
            gimli::DW_TAG_restrict_type | gimli::DW_TAG_atomic_type => self.target(entry, depth)?,
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type => {
                let union = tag == gimli::DW_TAG_union_type;
                if self.flag(entry, gimli::DW_AT_declaration)? || self.written > MAX_TYPES {
                    self.writer.forward(&name, union)?
                } else {
                    let id = self.writer.reserve()?;
                    self.pending.push((id, entry));
                    id
                }
            }
            gimli::DW_TAG_enumeration_type => self.enumeration(entry, &name)?,
            gimli::DW_TAG_array_type => self.array(entry, depth)?,
            // Function types (behind function pointers) and anything else: nothing a probe
            // reads.
            _ => TypeId::VOID,
        };
        self.done.insert(key, id);
        Ok(id)
    }

    /// The type `entry` refers to, one step further down.
    fn target(&mut self, entry: EntryRef, depth: usize) -> Result<TypeId, Failure> {
        match self.reference(entry, gimli::DW_AT_type)? {
            Some(target) => self.convert(target, depth + 1),
            None => Ok(TypeId::VOID),
        }
    }

    fn base_type(&mut self, entry: EntryRef, name: &str) -> Result<TypeId, Failure> {
        let size = self.number(entry, gimli::DW_AT_byte_size)?.unwrap_or(0) as u32;
        let encoding = match self.attr(entry, gimli::DW_AT_encoding)? {
            Some(AttributeValue::Encoding(encoding)) => encoding,
            _ => return Ok(TypeId::VOID),
        };
        Ok(match encoding {
            gimli::DW_ATE_float => self.writer.float(name, size)?,
            gimli::DW_ATE_boolean => self.writer.int(name, size, false, false, true)?,
            gimli::DW_ATE_signed_char => self.writer.int(name, size, true, size == 1, false)?,
            gimli::DW_ATE_unsigned_char => self.writer.int(name, size, false, size == 1, false)?,
            gimli::DW_ATE_signed => self.writer.int(name, size, true, false, false)?,
            gimli::DW_ATE_unsigned | gimli::DW_ATE_UTF => self.writer.int(name, size, false, false, false)?,
            _ => TypeId::VOID,
        })
    }

    fn enumeration(&mut self, entry: EntryRef, name: &str) -> Result<TypeId, Failure> {
        let size = self.number(entry, gimli::DW_AT_byte_size)?.unwrap_or(4) as u32;
        let mut values = Vec::new();
        for child in self.children(entry)? {
            if self.units[child.0].entry(child.1)?.tag() != gimli::DW_TAG_enumerator {
                continue;
            }
            let value = match self.attr(child, gimli::DW_AT_const_value)? {
                Some(AttributeValue::Sdata(value)) => value as u64,
                Some(value) => value.udata_value().unwrap_or(0),
                None => 0,
            };
            values.push((self.name(child)?.unwrap_or_default(), value));
        }
        let signed = values.iter().any(|(_, value)| (*value as i64) < 0);
        let values: Vec<(&str, u64)> = values.iter().map(|(name, value)| (name.as_str(), *value)).collect();
        Ok(self.writer.enumeration(name, size, signed, &values)?)
    }

    /// An array, of arrays for each further dimension.
    fn array(&mut self, entry: EntryRef, depth: usize) -> Result<TypeId, Failure> {
        let mut lengths = Vec::new();
        for child in self.children(entry)? {
            if self.units[child.0].entry(child.1)?.tag() != gimli::DW_TAG_subrange_type {
                continue;
            }
            let length = match (self.number(child, gimli::DW_AT_count)?, self.number(child, gimli::DW_AT_upper_bound)?) {
                (Some(count), _) => count,
                (None, Some(upper)) => upper.saturating_add(1),
                (None, None) => 0,
            };
            lengths.push(u32::try_from(length).unwrap_or(u32::MAX));
        }
        let mut ty = self.target(entry, depth)?;
        let index = match self.index {
            Some(index) => index,
            None => *self.index.insert(self.writer.int("__ARRAY_SIZE_TYPE__", 4, false, false, false)?),
        };
        for length in lengths.iter().rev() {
            ty = self.writer.array(ty, index, *length)?;
        }
        Ok(ty)
    }

    /// Writes the members of every struct given an id, and of those their members reach.
    fn finish_structs(&mut self) -> Result<(), Failure> {
        while let Some((id, entry)) = self.pending.pop() {
            let tag = self.units[entry.0].entry(entry.1)?.tag();
            let name = self.name(entry)?.unwrap_or_default();
            let size = self.number(entry, gimli::DW_AT_byte_size)?.unwrap_or(0) as u32;
            let mut members = Vec::new();
            for child in self.children(entry)? {
                if let Some(member) = self.member(child)? {
                    members.push(member);
                }
            }
            let mut written = Vec::with_capacity(members.len());
            for member in &members {
                let ty = match member.ty {
                    Some(ty) => self.convert(ty, 0)?,
                    None => TypeId::VOID,
                };
                written.push(ty);
            }
            let members: Vec<WrittenMember<'_>> = members
                .iter()
                .zip(written)
                .map(|(member, ty)| WrittenMember { name: &member.name, ty, bit_offset: member.bit_offset, bitfield_size: member.bitfield_size })
                .collect();
            self.writer.composite(id, tag == gimli::DW_TAG_union_type, &name, size, &members)?;
        }
        Ok(())
    }

    /// A data member of a struct (not a static one, a method or a nested type).
    fn member(&mut self, entry: EntryRef) -> Result<Option<PendingMember>, Failure> {
        if self.units[entry.0].entry(entry.1)?.tag() != gimli::DW_TAG_member || self.flag(entry, gimli::DW_AT_external)? {
            return Ok(None);
        }
        let byte_offset = match self.attr(entry, gimli::DW_AT_data_member_location)? {
            Some(AttributeValue::Exprloc(expression)) => plus_uconst(expression.0),
            Some(value) => value.udata_value(),
            None => Some(0),
        };
        let bits = self.number(entry, gimli::DW_AT_bit_size)?.and_then(|bits| u8::try_from(bits).ok());
        let bit_offset = match (self.number(entry, gimli::DW_AT_data_bit_offset)?, self.number(entry, gimli::DW_AT_bit_offset)?, bits) {
            (Some(offset), _, _) => Some(offset),
            // DWARF 2 and 3 count a bitfield's bits from the top of its storage unit.
            (None, Some(from_top), Some(bits)) => {
                let unit_bits = self.number(entry, gimli::DW_AT_byte_size)?.unwrap_or(0) * 8;
                byte_offset.map(|bytes| bytes * 8 + unit_bits.saturating_sub(from_top + u64::from(bits)))
            }
            _ => byte_offset.map(|bytes| bytes * 8),
        };
        let Some(bit_offset) = bit_offset.and_then(|offset| u32::try_from(offset).ok()) else { return Ok(None) };
        let ty = self.reference(entry, gimli::DW_AT_type)?;
        Ok(Some(PendingMember { name: self.name(entry)?.unwrap_or_default(), ty, bit_offset, bitfield_size: bits }))
    }

    /// The children of an entry.
    fn children(&self, entry: EntryRef) -> Result<Vec<EntryRef>, Failure> {
        let unit = &self.units[entry.0];
        let mut tree = unit.entries_tree(Some(entry.1))?;
        let mut children = tree.root()?.children();
        let mut found = Vec::new();
        while let Some(child) = children.next()? {
            found.push((entry.0, child.entry().offset()));
        }
        Ok(found)
    }

    fn attr(&self, entry: EntryRef, name: DwAt) -> Result<Option<AttributeValue<Reader<'a>>>, Failure> {
        Ok(self.units[entry.0].entry(entry.1)?.attr_value(name)?)
    }

    fn number(&self, entry: EntryRef, name: DwAt) -> Result<Option<u64>, Failure> {
        Ok(self.attr(entry, name)?.and_then(|value| value.udata_value()))
    }

    fn flag(&self, entry: EntryRef, name: DwAt) -> Result<bool, Failure> {
        Ok(matches!(self.attr(entry, name)?, Some(AttributeValue::Flag(true))))
    }

    fn name(&self, entry: EntryRef) -> Result<Option<String>, Failure> {
        let Some(value) = self.attr(entry, gimli::DW_AT_name)? else { return Ok(None) };
        let name = self.dwarf.attr_string(&self.units[entry.0], value)?;
        Ok(Some(name.to_string_lossy().into_owned()))
    }

    /// The entry attribute `name` of `entry` refers to, in its unit or another.
    fn reference(&mut self, entry: EntryRef, name: DwAt) -> Result<Option<EntryRef>, Failure> {
        match self.attr(entry, name)? {
            Some(AttributeValue::UnitRef(offset)) => Ok(Some((entry.0, offset))),
            Some(AttributeValue::DebugInfoRef(offset)) => self.unit_holding(offset),
            _ => Ok(None),
        }
    }

    /// The entry at `offset` of `.debug_info`, reading its unit when it is not read yet.
    fn unit_holding(&mut self, offset: gimli::DebugInfoOffset) -> Result<Option<EntryRef>, Failure> {
        if let Some((index, within)) = self.units.iter().enumerate().find_map(|(index, unit)| Some((index, offset.to_unit_offset(&unit.header)?))) {
            return Ok(Some((index, within)));
        }
        let mut headers = self.dwarf.units();
        while let Some(header) = headers.next()? {
            if let Some(within) = offset.to_unit_offset(&header) {
                self.units.push(self.dwarf.unit(header)?);
                return Ok(Some((self.units.len() - 1, within)));
            }
        }
        Ok(None)
    }

    /// Where an entry is in `.debug_info`: the same type from whichever unit refers to it.
    fn global(&self, entry: EntryRef) -> usize {
        entry.1.to_debug_info_offset(&self.units[entry.0].header).map_or(usize::MAX, |offset| offset.0)
    }
}

/// The offset a `DW_OP_plus_uconst N` location expression (DWARF 2's member locations) adds.
fn plus_uconst(mut expression: Reader<'_>) -> Option<u64> {
    use gimli::Reader as _;
    (expression.read_u8().ok()? == gimli::DW_OP_plus_uconst.0).then(|| expression.read_uleb128().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrotrace_compiler::btf::{Kind, Signature};
    use std::path::{Path, PathBuf};

    /// A struct of this test binary that a function of it takes a pointer to.
    #[repr(C)]
    pub struct Sample {
        id: u32,
        name: *const std::ffi::c_char,
        grid: [[u8; 3]; 2],
        next: *mut Sample,
    }

    #[no_mangle]
    #[inline(never)]
    extern "C" fn dwarf_types_sample(sample: *const Sample, scale: f64, flag: bool) -> i32 {
        std::hint::black_box(sample as i32 + scale as i32 + i32::from(flag))
    }

    /// Checks that `btf` describes function `name` with these parameters (name, type) and
    /// return type; returns its signature.
    fn assert_signature<'b>(btf: &'b Btf, name: &str, params: &[(&str, &str)], ret: &str) -> Signature<'b> {
        let signature = btf.function(name).unwrap();
        let found: Vec<(&str, String)> = signature.params.iter().map(|param| (param.name, btf.type_name(param.ty))).collect();
        let expected: Vec<(&str, String)> = params.iter().map(|(name, ty)| (*name, ty.to_string())).collect();
        assert_eq!(found, expected);
        assert_eq!(btf.type_name(signature.ret), ret);
        signature
    }

    #[test]
    #[cfg_attr(not(debug_assertions), ignore = "reads the test binary's own debug info, which only the dev profile writes")]
    fn a_function_and_the_types_it_reaches_become_btf() {
        std::hint::black_box(Sample { id: 1, name: std::ptr::null(), grid: [[0; 3]; 2], next: std::ptr::null_mut() });
        let exe = std::env::current_exe().unwrap();
        let info = DebugInfo::read(&exe).unwrap().unwrap();
        std::hint::black_box(dwarf_types_sample as *const ());
        let address = super::super::dwarf::tests::own_address("dwarf_types_sample");
        let btf = function_types(&info, address, "sample_fn", None).unwrap().unwrap();
        assert_eq!(btf.validate(), Ok(()));
        let signature = assert_signature(&btf, "sample_fn", &[("sample", "struct Sample *"), ("scale", "f64"), ("flag", "bool")], "i32");
        let Ok(Kind::Ptr(sample)) = btf.kind(signature.params[0].ty) else { panic!("not a pointer") };
        assert_eq!(btf.size_of(sample), Some(32));
        let member = |name| btf.member(sample, name).map(|member| (member.bit_offset, btf.type_name(member.ty)));
        assert_eq!(member("id"), Some((0, "u32".to_string())));
        assert_eq!(member("name"), Some((64, "i8 *".to_string())));
        assert_eq!(member("grid").map(|(offset, _)| offset), Some(128));
        assert_eq!(member("next"), Some((192, "struct Sample *".to_string())));
        assert!(function_types(&info, 1, "none", None).unwrap().is_none());
    }

    /// A program whose debug sections the linker compresses: a function taking a pointer to a
    /// struct, whose names are all in the compressed `.debug_info` and `.debug_str`.
    const COMPRESSED_SOURCE: &str = r#"
#[repr(C)]
pub struct Reading {
    pub sensor: u16,
    pub value: f32,
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn compressed_reading(reading: *const Reading, count: usize, label: *const u8) -> i64 {
    std::hint::black_box(reading as i64 + count as i64 + label as i64)
}

fn main() {
    let reading = Reading { sensor: 1, value: 2.0 };
    std::process::exit(compressed_reading(&reading, 3, std::ptr::null()) as i32 & 1);
}
"#;

    /// Runs `command`, printing why the test is skipped when it fails.
    fn ran(command: &mut std::process::Command, what: &str) -> bool {
        match command.output() {
            Ok(output) if output.status.success() => true,
            Ok(output) => {
                eprintln!("skipped: {what} failed: {}", String::from_utf8_lossy(&output.stderr));
                false
            }
            Err(error) => {
                eprintln!("skipped: {what} cannot run: {error}");
                false
            }
        }
    }

    /// `COMPRESSED_SOURCE` built in `directory` with its debug sections compressed as
    /// `compression` says: `zlib` and `zstd` by the linker (`SHF_COMPRESSED`), `zlib-gnu` by
    /// `objcopy` (GNU `.zdebug_` sections, which lld does not write). `None` when `rustc`, the
    /// linker or `objcopy` cannot.
    fn build_compressed(directory: &Path, compression: &str) -> Option<PathBuf> {
        let source = directory.join("compressed.rs");
        std::fs::write(&source, COMPRESSED_SOURCE).unwrap();
        let linked = if compression == "zlib-gnu" { "zlib" } else { compression };
        let binary = directory.join(format!("compressed-{linked}"));
        let mut rustc = std::process::Command::new("rustc");
        rustc.args(["--edition", "2021", "-C", "debuginfo=2", "-C", "opt-level=0", "-C"]);
        rustc.arg(format!("link-arg=-Wl,--compress-debug-sections={linked}")).arg("-o").arg(&binary).arg(&source);
        if !ran(&mut rustc, &format!("rustc (from PATH) linking with {linked} debug sections")) {
            return None;
        }
        if compression != "zlib-gnu" {
            return Some(binary);
        }
        let gnu = directory.join("compressed-zlib-gnu");
        let mut objcopy = std::process::Command::new("objcopy");
        objcopy.arg("--compress-debug-sections=zlib-gnu").arg(&binary).arg(&gnu);
        ran(&mut objcopy, "objcopy --compress-debug-sections=zlib-gnu").then_some(gnu)
    }

    /// Builds `COMPRESSED_SOURCE` with its debug sections compressed as `compression` says
    /// and reads its function's parameters; skipped when it cannot be built.
    fn compressed_parameters_are_read(compression: &str) {
        use object::{Object, ObjectSection, ObjectSymbol};
        let directory = std::env::temp_dir().join(format!("ferrotrace-dwarf-{}-{compression}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let Some(binary) = build_compressed(&directory, compression) else {
            std::fs::remove_dir_all(&directory).unwrap();
            return;
        };
        let data = std::fs::read(&binary).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let section = file.section_by_name(".debug_info").unwrap();
        let format = section.compressed_file_range().unwrap().format;
        let expected = if compression == "zstd" { object::CompressionFormat::Zstandard } else { object::CompressionFormat::Zlib };
        assert_eq!(format, expected, "the linker compressed `.debug_info` with {compression}");
        assert_eq!(section.name(), Ok(if compression == "zlib-gnu" { ".zdebug_info" } else { ".debug_info" }));
        let symbol = file.symbols().find(|symbol| symbol.name() == Ok("compressed_reading")).unwrap();
        let info = DebugInfo::read(&binary).unwrap().expect("the binary has debug info");
        let btf = function_types(&info, symbol.address(), "compressed_reading", None).unwrap().expect("the function is described");
        assert_eq!(btf.validate(), Ok(()));
        let signature = assert_signature(&btf, "compressed_reading", &[("reading", "struct Reading *"), ("count", "usize"), ("label", "u8 *")], "i64");
        let Ok(Kind::Ptr(reading)) = btf.kind(signature.params[0].ty) else { panic!("not a pointer") };
        let member = |name| btf.member(reading, name).map(|member| (member.bit_offset, btf.type_name(member.ty)));
        assert_eq!(member("sensor"), Some((0, "u16".to_string())));
        assert_eq!(member("value"), Some((32, "f32".to_string())));
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn parameters_are_read_from_zlib_compressed_debug_sections() {
        compressed_parameters_are_read("zlib");
        compressed_parameters_are_read("zlib-gnu");
    }

    #[test]
    fn parameters_are_read_from_zstd_compressed_debug_sections() {
        compressed_parameters_are_read("zstd");
    }
}
