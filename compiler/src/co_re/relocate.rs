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
        return Ok(Vec::new());
    }
    let (off, len) = (word(24).unwrap_or(0) as usize, word(28).unwrap_or(0) as usize);
    let records = ext.get(header_len + off..header_len + off + len).ok_or_else(|| malformed("`core_relo` past the end"))?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let word = |at: usize| records.get(at..at + 4).map(|b| u32::from_ne_bytes(b.try_into().expect("4 bytes")));
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
            let spelled = local.string(access).ok_or_else(|| malformed("an access string"))?;
            let (access, local_offset, target_offset) = resolve(&local, TypeId(root), spelled, target)?;
            found.push(Relocation { section: section.clone(), insn: insn_off as usize / crate::bpf::INSN_SIZE, access, local: local_offset, target: target_offset });
        }
    }
    Ok(found)
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
    // The local walk first, for the access's name; then each candidate in the target.
    let mut at = root;
    let mut local_bits = 0u64;
    let mut names = Vec::with_capacity(indexes.len());
    for &index in &indexes {
        match local.kind(at) {
            Ok(Kind::Struct(c) | Kind::Union(c)) => {
                let member = c.members.get(index as usize).ok_or_else(|| malformed(format!("access `{spelled}` past a struct's members")))?;
                name.push('.');
                name.push_str(member.name);
                names.push(Some(member.name.to_string()));
                local_bits += u64::from(member.bit_offset);
                at = local.resolve(member.ty).unwrap_or(TypeId::VOID);
            }
            Ok(Kind::Array { elem, .. }) => {
                name.push_str(&format!("[{index}]"));
                names.push(None);
                local_bits += u64::from(index) * 8 * local.size_of(elem).unwrap_or(0);
                at = local.resolve(elem).unwrap_or(TypeId::VOID);
            }
            _ => return Err(malformed(format!("access `{spelled}` goes into a type without members"))),
        }
    }
    let local_end = at;
    let unmovable = |problem: String| RelocationError::Unmovable { access: name.clone(), problem };
    let family_kind = |btf: &Btf, id: TypeId| matches!(btf.kind(id), Ok(Kind::Union(_)));
    let candidates: Vec<TypeId> =
        target.find_all(root_name, Family::StructOrUnion).into_iter().filter(|&id| family_kind(target, id) == union).collect();
    if candidates.is_empty() {
        return Err(unmovable(format!("there is no `{}`", name.split('.').next().unwrap_or_default())));
    }
    let mut last_problem = String::new();
    for candidate in candidates {
        match walk_target(target, candidate, &indexes, &names) {
            Ok((bits, end)) => {
                if let Some(problem) = incompatible(local, local_end, target, end) {
                    last_problem = problem;
                    continue;
                }
                let bytes = |bits: u64| u32::try_from(bits / 8).ok().filter(|_| bits.is_multiple_of(8));
                let (Some(local_offset), Some(target_offset)) = (bytes(local_bits), bytes(bits)) else {
                    return Err(unmovable("the member does not start on a byte".to_string()));
                };
                return Ok((name, local_offset, target_offset));
            }
            Err(problem) => last_problem = problem,
        }
    }
    Err(unmovable(last_problem))
}

/// The bit offset of the access in `target` from the struct `root`, and the type it reaches.
fn walk_target(target: &Btf, root: TypeId, indexes: &[u32], names: &[Option<String>]) -> Result<(u64, TypeId), String> {
    let mut at = root;
    let mut bits = 0u64;
    for (&index, name) in indexes.iter().zip(names) {
        match name {
            Some(name) => {
                let member = target.member(at, name).ok_or_else(|| format!("there is no member `{name}`"))?;
                if member.bitfield_size.is_some() {
                    return Err(format!("`{name}` is a bitfield"));
                }
                bits += u64::from(member.bit_offset);
                at = target.resolve(member.ty).ok_or_else(|| format!("the type of `{name}` is malformed"))?;
            }
            None => {
                let Ok(Kind::Array { elem, len, .. }) = target.kind(at) else { return Err("an array became another type".to_string()) };
                if len > 0 && index >= len {
                    return Err(format!("the array has {len} elements, not {}", index + 1));
                }
                bits += u64::from(index) * 8 * target.size_of(elem).ok_or("an array's element has no size")?;
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
        let immediate_alu = matches!(class, 0x04 | 0x07) && opcode & 0x08 == 0;
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
