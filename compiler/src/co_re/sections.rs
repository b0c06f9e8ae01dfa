//! The `.BTF` and `.BTF.ext` sections of the ELF object: the kernel structs the programs read,
//! cut down to the members they read (each at its offset in the kernel compiled against), and a
//! `core_relo` record for each tagged instruction.

use std::collections::HashMap;

use super::{FieldAccess, Step, BTF_MAGIC, CORE_RELO_LEN, EXT_HEADER_LEN, FIELD_BYTE_OFFSET};
use crate::btf::{Btf, BtfError, Kind, TypeId, Writer, WrittenMember};

/// One program's section, the slot it starts at there, and its tagged instructions: the slot
/// of each in the program, and the access whose offset it holds.
pub struct ProgramAccesses<'a> {
    pub section: &'a str,
    pub start: usize,
    pub accesses: &'a [(usize, FieldAccess)],
}

/// The two sections' bytes.
pub struct CoreSections {
    pub btf: Vec<u8>,
    pub ext: Vec<u8>,
}

/// The `.BTF` and `.BTF.ext` for `programs`, whose accesses name types of `kernel`; `None`
/// when no program reads a member through a chain.
pub fn write_sections(kernel: &Btf, programs: &[ProgramAccesses<'_>]) -> Result<Option<CoreSections>, String> {
    if programs.iter().all(|p| p.accesses.is_empty()) {
        return Ok(None);
    }
    let mut local = LocalTypes::new(kernel).map_err(|e| e.to_string())?;
    // First every member every access reads, so that each struct's members can be put in
    // offset order before any access names one by its index.
    let mut paths = Vec::new();
    for program in programs {
        for (slot, access) in program.accesses {
            paths.push((program.section, program.start + *slot, local.add(access)?));
        }
    }
    let order = local.write_composites().map_err(|e| e.to_string())?;
    let mut sections: Vec<(&str, Vec<[u32; 4]>)> = Vec::new();
    for (section, slot, path) in paths {
        let mut spelled = String::from("0");
        for hop in &path.hops {
            let index = match hop {
                Hop::Member { owner, index } => order[owner][*index],
                Hop::Element(n) => *n as usize,
            };
            spelled.push_str(&format!(":{index}"));
        }
        let access = local.writer.string(&spelled).map_err(|e| e.to_string())?;
        let insn_off = u32::try_from(slot * crate::bpf::INSN_SIZE).map_err(|_| "a program too long for `.BTF.ext`".to_string())?;
        let record = [insn_off, path.root.0, access, FIELD_BYTE_OFFSET];
        match sections.iter_mut().find(|(name, _)| *name == section) {
            Some((_, records)) => records.push(record),
            None => sections.push((section, vec![record])),
        }
    }
    let mut relos = (CORE_RELO_LEN as u32).to_ne_bytes().to_vec();
    for (section, records) in &sections {
        let name = local.writer.string(section).map_err(|e| e.to_string())?;
        relos.extend(name.to_ne_bytes());
        relos.extend((records.len() as u32).to_ne_bytes());
        relos.extend(records.iter().flatten().flat_map(|word| word.to_ne_bytes()));
    }
    let mut ext = Vec::with_capacity(EXT_HEADER_LEN + relos.len());
    ext.extend(BTF_MAGIC.to_ne_bytes());
    ext.extend([1, 0]);
    // Header length; `func_info` and `line_info` empty; `core_relo` right after the header.
    for word in [EXT_HEADER_LEN as u32, 0, 0, 0, 0, 0, relos.len() as u32] {
        ext.extend(word.to_ne_bytes());
    }
    ext.extend(relos);
    Ok(Some(CoreSections { btf: local.writer.finish(), ext }))
}

/// The members from the struct or union `id` to its member `name`: the anonymous structs and
/// unions holding it, then the member itself; each as its name (empty when anonymous), its bit
/// offset in the one before, and its type.
fn member_path(kernel: &Btf, id: TypeId, name: &str, depth: usize) -> Option<Vec<(String, u32, TypeId)>> {
    const MAX_DEPTH: usize = 8;
    let (Kind::Struct(composite) | Kind::Union(composite)) = kernel.kind(kernel.resolve(id)?).ok()? else { return None };
    if let Some(member) = composite.members.iter().find(|member| member.name == name) {
        return Some(vec![(name.to_string(), member.bit_offset, member.ty)]);
    }
    if depth == MAX_DEPTH {
        return None;
    }
    composite.members.iter().filter(|member| member.name.is_empty()).find_map(|anonymous| {
        let mut path = member_path(kernel, anonymous.ty, name, depth + 1)?;
        path.insert(0, (String::new(), anonymous.bit_offset, anonymous.ty));
        Some(path)
    })
}

/// An access in the local types: its root struct's local id and each hop.
struct LocalPath {
    root: TypeId,
    hops: Vec<Hop>,
}

enum Hop {
    /// The member at `index` among those added to the local struct `owner` (in the order added).
    Member { owner: TypeId, index: usize },
    Element(u32),
}

/// A local struct or union being collected: its members as added.
struct LocalComposite {
    union: bool,
    name: String,
    size: u32,
    members: Vec<(String, u32, TypeId)>,
}

/// The local types: each kernel type an access reaches, once.
struct LocalTypes<'k> {
    kernel: &'k Btf,
    writer: Writer,
    copied: HashMap<TypeId, TypeId>,
    composites: Vec<(TypeId, LocalComposite)>,
    /// The index type of arrays.
    index_int: TypeId,
}

impl<'k> LocalTypes<'k> {
    fn new(kernel: &'k Btf) -> Result<LocalTypes<'k>, BtfError> {
        let mut writer = Writer::new(None)?;
        let index_int = writer.int("__ARRAY_SIZE_TYPE__", 4, false, false, false)?;
        Ok(LocalTypes { kernel, writer, copied: HashMap::new(), composites: Vec::new(), index_int })
    }

    /// Adds what `access` reads; its path in local terms.
    fn add(&mut self, access: &FieldAccess) -> Result<LocalPath, String> {
        let unknown = |what: &str| format!("`{access}`: {what} is not in the kernel's types");
        let mut at = self.kernel.resolve(TypeId(access.root)).ok_or_else(|| unknown("the struct"))?;
        let root = self.copy(at).map_err(|e| e.to_string())?;
        let mut hops = Vec::with_capacity(access.steps.len());
        for step in &access.steps {
            match step {
                Step::Member { name, .. } => {
                    // Through the anonymous structs and unions holding it, each a hop of its
                    // own as clang writes them (so a union's members all stay at offset 0).
                    let path = member_path(self.kernel, at, name, 0).ok_or_else(|| unknown(&format!("member `{name}`")))?;
                    for (hop_name, bit_offset, hop_ty) in path {
                        let owner = self.copy(at).map_err(|e| e.to_string())?;
                        let ty = self.copy(hop_ty).map_err(|e| e.to_string())?;
                        let index = self.add_member(owner, &hop_name, bit_offset, ty);
                        hops.push(Hop::Member { owner, index });
                        at = self.kernel.resolve(hop_ty).ok_or_else(|| unknown(&format!("the type of `{name}`")))?;
                    }
                }
                Step::Index(n) => {
                    let Ok(Kind::Array { elem, .. }) = self.kernel.kind(at) else { return Err(unknown("an array")) };
                    hops.push(Hop::Element(*n));
                    at = self.kernel.resolve(elem).ok_or_else(|| unknown("an element type"))?;
                }
            }
        }
        Ok(LocalPath { root, hops })
    }

    fn add_member(&mut self, owner: TypeId, name: &str, bit_offset: u32, ty: TypeId) -> usize {
        let Some((_, composite)) = self.composites.iter_mut().find(|(id, _)| *id == owner) else { return 0 };
        // A named member once; an anonymous one once per place.
        let same = |(known, at, _): &(String, u32, TypeId)| known == name && (!name.is_empty() || *at == bit_offset);
        match composite.members.iter().position(same) {
            Some(index) => index,
            None => {
                composite.members.push((name.to_string(), bit_offset, ty));
                composite.members.len() - 1
            }
        }
    }

    /// The local type standing for the kernel's type `id`: the same kind, name and size; a
    /// struct with none of its members yet, a pointer to `void`.
    fn copy(&mut self, id: TypeId) -> Result<TypeId, BtfError> {
        let id = self.kernel.resolve(id).unwrap_or(TypeId::VOID);
        if let Some(local) = self.copied.get(&id) {
            return Ok(*local);
        }
        let local = match self.kernel.kind(id)? {
            Kind::Struct(composite) | Kind::Union(composite) => {
                let union = matches!(self.kernel.kind(id)?, Kind::Union(_));
                let local = self.writer.reserve()?;
                let (name, size) = (composite.name.to_string(), composite.size);
                self.composites.push((local, LocalComposite { union, name, size, members: Vec::new() }));
                local
            }
            Kind::Int { name, size, signed, char, bool, .. } => self.writer.int(name, size, signed, char, bool)?,
            Kind::Enum { name, size, signed, .. } => self.writer.enumeration(name, size, signed, &[])?,
            Kind::Ptr(_) => self.writer.pointer(TypeId::VOID)?,
            Kind::Array { elem, len, .. } => {
                let elem = self.copy(elem)?;
                self.writer.array(elem, self.index_int, len)?
            }
            Kind::Fwd { name, union } => self.writer.forward(name, union)?,
            Kind::Float { name, size } => self.writer.float(name, size)?,
            _ => TypeId::VOID,
        };
        self.copied.insert(id, local);
        Ok(local)
    }

    /// Writes every struct with its members in offset order; for each, where each member
    /// (by the order it was added) ended up.
    fn write_composites(&mut self) -> Result<HashMap<TypeId, Vec<usize>>, BtfError> {
        let mut order = HashMap::new();
        for (id, composite) in std::mem::take(&mut self.composites) {
            let mut sorted: Vec<usize> = (0..composite.members.len()).collect();
            sorted.sort_by_key(|&i| composite.members[i].1);
            let members: Vec<WrittenMember<'_>> = sorted
                .iter()
                .map(|&i| {
                    let (name, bit_offset, ty) = &composite.members[i];
                    WrittenMember { name, ty: *ty, bit_offset: *bit_offset, bitfield_size: None }
                })
                .collect();
            self.writer.composite(id, composite.union, &composite.name, composite.size, &members)?;
            let mut position = vec![0; sorted.len()];
            for (at, &added) in sorted.iter().enumerate() {
                position[added] = at;
            }
            order.insert(id, position);
        }
        Ok(order)
    }
}
