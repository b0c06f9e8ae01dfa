//! The `core_relo` records of an object read back and resolved against another kernel's BTF:
//! for each, the instruction, the offset it holds and the offset the member has there. A
//! member is found by name (also inside anonymous structs and unions); it must be there, not a
//! bitfield, and of the same kind and size, or the access cannot be moved.

use thiserror::Error;

use super::{BTF_MAGIC, CORE_RELO_LEN, EXT_HEADER_LEN, FIELD_BYTE_OFFSET};
use crate::btf::{Btf, Family, Kind, TypeId};

/// One instruction to patch: in program section `section`, slot `insn`, the offset `local`
/// (compiled against) becomes `target` (this kernel's). `access` names it: `struct
/// task_struct.pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relocation {
    pub section: String,
    pub insn: usize,
    pub access: String,
    pub local: u32,
    pub target: u32,
}

/// Why the records cannot be read or an access cannot be moved to this kernel.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RelocationError {
    #[error("the object's `.BTF` or `.BTF.ext` is malformed: {0}")]
    Malformed(String),
    #[error("`{access}`: {problem} in this kernel")]
    Unmovable { access: String, problem: String },
    #[error("`{access}`: instruction {insn} of `{section}` does not hold its offset {local}")]
    Mismatch { section: String, insn: usize, access: String, local: u32 },
}

/// The relocations `ext` (a `.BTF.ext`, its types and strings in `local`) asks for, resolved
/// against `target`.
pub fn relocations(local: &[u8], ext: &[u8], target: &Btf) -> Result<Vec<Relocation>, RelocationError> {
    let malformed = |what: &str| RelocationError::Malformed(what.to_string());
    let local = Btf::parse(local.to_vec()).map_err(|e| RelocationError::Malformed(e.to_string()))?;
    let word = |at: usize| ext.get(at..at + 4).map(|b| u32::from_ne_bytes(b.try_into().expect("4 bytes")));
    if ext.get(..2).map(|b| u16::from_ne_bytes([b[0], b[1]])) != Some(BTF_MAGIC) {
        return Err(malformed("no `.BTF.ext` magic"));
    }
    let header_len = word(4).ok_or_else(|| malformed("truncated header"))? as usize;
    if header_len < EXT_HEADER_LEN {
        return Err(malformed("a header without `core_relo`"));
    }
    let (off, len) = (word(24).ok_or_else(|| malformed("truncated header"))? as usize, word(28).ok_or_else(|| malformed("truncated header"))? as usize);
    let start = header_len.checked_add(off).ok_or_else(|| malformed("`core_relo` past the end"))?;
    let records = start.checked_add(len).and_then(|end| ext.get(start..end)).ok_or_else(|| malformed("`core_relo` past the end"))?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let word = |at: usize| records.get(at..at.checked_add(4)?).map(|b| u32::from_ne_bytes(b.try_into().expect("4 bytes")));
    let record_len = word(0).ok_or_else(|| malformed("no record size"))? as usize;
    if record_len < CORE_RELO_LEN {
        return Err(malformed("`core_relo` records too short"));
    }
    let mut found = Vec::new();
    let mut at = 4;
    while at < records.len() {
        let (name, count) = (word(at).ok_or_else(|| malformed("truncated section"))?, word(at + 4).ok_or_else(|| malformed("truncated section"))?);
        let section = local.string(name).ok_or_else(|| malformed("a section name"))?.to_string();
        at += 8;
        for _ in 0..count {
            let field = |i: usize| word(at + 4 * i).ok_or_else(|| malformed("truncated record"));
            let (insn_off, root, access, kind) = (field(0)?, field(1)?, field(2)?, field(3)?);
            at += record_len;
            if kind != FIELD_BYTE_OFFSET {
                return Err(malformed(&format!("relocation kind {kind}, which ferrotrace does not write")));
            }
            if !(insn_off as usize).is_multiple_of(crate::bpf::INSN_SIZE) {
                return Err(malformed(&format!("instruction offset {insn_off} inside an instruction")));
            }
            let spelled = local.string(access).ok_or_else(|| malformed("an access string"))?;
            let (access, local_offset, target_offset) = resolve(&local, TypeId(root), spelled, target)?;
            found.push(Relocation { section: section.clone(), insn: insn_off as usize / crate::bpf::INSN_SIZE, access, local: local_offset, target: target_offset });
        }
    }
    Ok(found)
}

/// One step of an access, as the local types spell it.
enum Hop {
    /// The member of this name, found by name in the target.
    Named(String),
    /// An anonymous struct or union holding the next member: the target's may be elsewhere, or
    /// gone, so the next member is looked for by name from the last named one.
    Anonymous,
    /// An array's element.
    Element(u32),
}

/// The access `spelled` (`"0:3:1"`) from the local struct `root`: its name, its offset in the
/// local types and its offset in `target`'s.
fn resolve(local: &Btf, root: TypeId, spelled: &str, target: &Btf) -> Result<(String, u32, u32), RelocationError> {
    let malformed = |what: String| RelocationError::Malformed(what);
    let (union, root_name) = match local.kind(root) {
        Ok(Kind::Struct(c)) => (false, c.name),
        Ok(Kind::Union(c)) => (true, c.name),
        _ => return Err(malformed(format!("relocation type {} is not a struct", root.0))),
    };
    let mut name = format!("{} {root_name}", if union { "union" } else { "struct" });
    let mut indexes = spelled.split(':').map(|n| n.parse::<u32>().map_err(|_| malformed(format!("access `{spelled}`"))));
    if indexes.next().transpose()? != Some(0) {
        return Err(malformed(format!("access `{spelled}` does not start at element 0")));
    }
    let indexes: Vec<u32> = indexes.collect::<Result<_, _>>()?;
    let overflow = || malformed(format!("access `{spelled}` is past any offset"));
    // The local walk first, for the access's name; then each candidate in the target.
    let mut at = root;
    let mut local_bits = 0u64;
    let mut hops = Vec::with_capacity(indexes.len());
    for &index in &indexes {
        match local.kind(at) {
            Ok(Kind::Struct(c) | Kind::Union(c)) => {
                let member = c.members.get(index as usize).ok_or_else(|| malformed(format!("access `{spelled}` past a struct's members")))?;
                if member.name.is_empty() {
                    hops.push(Hop::Anonymous);
                } else {
                    name.push('.');
                    name.push_str(member.name);
                    hops.push(Hop::Named(member.name.to_string()));
                }
                local_bits = local_bits.checked_add(u64::from(member.bit_offset)).ok_or_else(overflow)?;
                at = local.resolve(member.ty).unwrap_or(TypeId::VOID);
            }
            Ok(Kind::Array { elem, .. }) => {
                name.push_str(&format!("[{index}]"));
                hops.push(Hop::Element(index));
                let bits = local.size_of(elem).and_then(|size| size.checked_mul(8)?.checked_mul(u64::from(index))).ok_or_else(overflow)?;
                local_bits = local_bits.checked_add(bits).ok_or_else(overflow)?;
                at = local.resolve(elem).unwrap_or(TypeId::VOID);
            }
            _ => return Err(malformed(format!("access `{spelled}` goes into a type without members"))),
        }
    }
    let local_end = at;
    let unmovable = |problem: String| RelocationError::Unmovable { access: name.clone(), problem };
    if root_name.is_empty() {
        return Err(unmovable("an anonymous struct cannot be found by name".to_string()));
    }
    let is_union = |id: TypeId| matches!(target.kind(id), Ok(Kind::Union(_)));
    let candidates: Vec<TypeId> = target.find_all(root_name, Family::StructOrUnion).into_iter().filter(|&id| is_union(id) == union).collect();
    if candidates.is_empty() {
        return Err(unmovable(format!("there is no `{}`", name.split('.').next().unwrap_or_default())));
    }
    let bytes = |bits: u64| u32::try_from(bits / 8).ok().filter(|_| bits.is_multiple_of(8));
    let local_offset = bytes(local_bits).ok_or_else(|| unmovable("the member does not start on a byte".to_string()))?;
    // Every candidate of the name that has the access must agree, as libbpf requires.
    let mut found: Option<u32> = None;
    let mut last_problem = String::new();
    for candidate in candidates {
        let offset = walk_target(target, candidate, &hops).and_then(|(bits, end)| match incompatible(local, local_end, target, end) {
            Some(problem) => Err(problem),
            None => bytes(bits).ok_or_else(|| "the member does not start on a byte".to_string()),
        });
        match (offset, found) {
            (Ok(offset), Some(known)) if offset != known => {
                return Err(unmovable(format!("the kernel has two structs of this name, with it at offsets {known} and {offset}")));
            }
            (Ok(offset), _) => found = Some(offset),
            (Err(problem), _) => last_problem = problem,
        }
    }
    found.map(|target_offset| (name.clone(), local_offset, target_offset)).ok_or_else(|| unmovable(last_problem))
}

/// The bit offset of the access in `target` from the struct `root`, and the type it reaches.
fn walk_target(target: &Btf, root: TypeId, hops: &[Hop]) -> Result<(u64, TypeId), String> {
    let mut at = root;
    let mut bits = 0u64;
    let overflow = || "an offset past any struct".to_string();
    for hop in hops {
        match hop {
            Hop::Anonymous => {}
            Hop::Named(name) => {
                let member = target.member(at, name).ok_or_else(|| format!("there is no member `{name}`"))?;
                if member.bitfield_size.is_some() {
                    return Err(format!("`{name}` is a bitfield"));
                }
                bits = bits.checked_add(u64::from(member.bit_offset)).ok_or_else(overflow)?;
                at = target.resolve(member.ty).ok_or_else(|| format!("the type of `{name}` is malformed"))?;
            }
            Hop::Element(index) => {
                let Ok(Kind::Array { elem, len, .. }) = target.kind(at) else { return Err("an array became another type".to_string()) };
                if len > 0 && *index >= len {
                    return Err(format!("the array has {len} elements, not {}", index + 1));
                }
                let size = target.size_of(elem).ok_or("an array's element has no size")?;
                bits = size.checked_mul(8).and_then(|size| size.checked_mul(u64::from(*index))).and_then(|add| bits.checked_add(add)).ok_or_else(overflow)?;
                at = target.resolve(elem).ok_or("an array's element type is malformed")?;
            }
        }
    }
    Ok((bits, at))
}

/// Why the type an access reaches in `target` cannot be read as the local one was: another
/// kind or another size.
fn incompatible(local: &Btf, local_id: TypeId, target: &Btf, target_id: TypeId) -> Option<String> {
    let class = |btf: &Btf, id: TypeId| match btf.kind(id) {
        Ok(Kind::Int { .. } | Kind::Enum { .. }) => "an integer",
        Ok(Kind::Ptr(_)) => "a pointer",
        Ok(Kind::Array { .. }) => "an array",
        Ok(Kind::Struct(_) | Kind::Union(_) | Kind::Fwd { .. }) => "a struct",
        _ => "another type",
    };
    let (was, is) = (class(local, local_id), class(target, target_id));
    if was != is {
        return Some(format!("the member was {was} and is {is}"));
    }
    let (was, is) = (local.size_of(local_id), target.size_of(target_id));
    (was != is).then(|| format!("the member was {} bytes and is {} bytes", was.unwrap_or(0), is.unwrap_or(0)))
}

impl Relocation {
    /// Writes the target offset into the instruction of `code` (the section's bytes) that
    /// holds the local one: an `add` or `mov` immediate, or a load's or store's offset.
    pub fn apply(&self, code: &mut [u8]) -> Result<(), RelocationError> {
        let mismatch = || RelocationError::Mismatch { section: self.section.clone(), insn: self.insn, access: self.access.clone(), local: self.local };
        let at = self.insn * crate::bpf::INSN_SIZE;
        let insn = code.get_mut(at..at + crate::bpf::INSN_SIZE).ok_or_else(mismatch)?;
        let opcode = insn[0];
        let class = opcode & 0x07;
        // `add` or `mov` of an immediate, 64 or 32 bits.
        let immediate_alu = matches!(class, 0x04 | 0x07) && opcode & 0x08 == 0 && matches!(opcode & 0xf0, 0x00 | 0xb0);
        let memory = matches!(class, 0x01..=0x03) && opcode & 0xe0 == 0x60;
        if immediate_alu {
            let imm = i32::from_ne_bytes(insn[4..8].try_into().expect("4 bytes"));
            let target = i32::try_from(self.target).map_err(|_| mismatch())?;
            if i64::from(imm) != i64::from(self.local) {
                return Err(mismatch());
            }
            insn[4..8].copy_from_slice(&target.to_ne_bytes());
        } else if memory {
            let off = i16::from_ne_bytes(insn[2..4].try_into().expect("2 bytes"));
            if i64::from(off) != i64::from(self.local) {
                return Err(mismatch());
            }
            let target = i16::try_from(self.target).map_err(|_| RelocationError::Unmovable {
                access: self.access.clone(),
                problem: format!("offset {} is past what a load's offset reaches", self.target),
            })?;
            insn[2..4].copy_from_slice(&target.to_ne_bytes());
        } else {
            return Err(mismatch());
        }
        Ok(())
    }
}
