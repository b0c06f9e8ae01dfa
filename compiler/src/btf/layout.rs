//! Where things are in memory: the type under typedefs and modifiers, sizes, alignments, and
//! members found by name, through anonymous structs and unions.

use super::kind::{Kind, Member};
use super::table::{self, HEAD_LEN};
use super::{Btf, TypeId, MAX_CHAIN};

/// How many structs and unions one search or alignment may open, and how deep it may nest
/// (as the chains, [`MAX_CHAIN`]): bad data whose members contain their own struct stops here
/// instead of recursing for ever.
const MAX_OPENED: usize = 4096;

impl Btf {
    /// The type under `id`'s typedefs and modifiers (`const`, `volatile`, `restrict`, type
    /// tags); `id` itself when it has none. `None` for a missing type or a chain longer than
    /// [`MAX_CHAIN`].
    pub fn resolve(&self, id: TypeId) -> Option<TypeId> {
        let mut id = id;
        for _ in 0..=MAX_CHAIN {
            if id == TypeId::VOID {
                return Some(id);
            }
            let (_, head) = self.head(id).ok()?;
            match head.kind {
                table::TYPEDEF | table::CONST | table::VOLATILE | table::RESTRICT | table::TYPE_TAG => {
                    id = TypeId(head.size_or_type)
                }
                _ => return Some(id),
            }
        }
        None
    }

    /// The size in bytes of a value of type `id`: through typedefs and modifiers; 8 for a
    /// pointer; an array's element size times its length. `None` for types without a size
    /// (`void`, functions, forward declarations) and on overflow.
    pub fn size_of(&self, id: TypeId) -> Option<u64> {
        let mut count: u64 = 1;
        let mut id = id;
        for _ in 0..=MAX_CHAIN {
            let (owner, head) = self.head(self.resolve(id)?).ok()?;
            let size = match head.kind {
                table::INT | table::STRUCT | table::UNION | table::ENUM | table::ENUM64 | table::FLOAT => {
                    head.size_or_type
                }
                table::PTR => 8,
                table::ARRAY => {
                    count = count.checked_mul(owner.word(id, head.at + HEAD_LEN + 8).ok()?.into())?;
                    id = TypeId(owner.word(id, head.at + HEAD_LEN).ok()?);
                    continue;
                }
                _ => return None,
            };
            return count.checked_mul(size.into());
        }
        None
    }

    /// The alignment in bytes of type `id` as the C compiler laid it out: a scalar's size (at
    /// most 8, 16 for a 16-byte integer), 8 for a pointer, an array's element's, a struct's
    /// largest member's, or 1 for a packed struct (one whose members or size break that).
    pub fn align_of(&self, id: TypeId) -> Option<u32> {
        let mut budget = MAX_OPENED;
        self.align_within(id, 0, &mut budget)
    }

    fn align_within(&self, id: TypeId, depth: usize, budget: &mut usize) -> Option<u32> {
        if depth > MAX_CHAIN {
            return None;
        }
        let mut id = id;
        for _ in 0..=MAX_CHAIN {
            let resolved = self.resolve(id)?;
            match self.kind(resolved).ok()? {
                Kind::Int { size, .. } => return Some(size.clamp(1, 16)),
                Kind::Enum { size, .. } | Kind::Float { size, .. } => return Some(size.clamp(1, 8)),
                Kind::Ptr(_) => return Some(8),
                Kind::Array { elem, .. } => id = elem,
                Kind::Struct(composite) | Kind::Union(composite) => {
                    *budget = budget.checked_sub(1)?;
                    let mut align = 1;
                    for member in &composite.members {
                        let member_align = self.align_within(member.ty, depth + 1, budget)?;
                        if member.bitfield_size.is_none() && member.bit_offset % (member_align * 8) != 0 {
                            return Some(1);
                        }
                        align = align.max(member_align);
                    }
                    return Some(if composite.size % align == 0 { align } else { 1 });
                }
                _ => return None,
            }
        }
        None
    }

    /// The member `name` of the struct or union `id` (through typedefs and modifiers), also
    /// when it belongs to an anonymous struct or union inside (up to [`MAX_CHAIN`] deep). Its
    /// `bit_offset` is from the start of `id`.
    pub fn member(&self, id: TypeId, name: &str) -> Option<Member<'_>> {
        if name.is_empty() {
            return None;
        }
        let mut budget = MAX_OPENED;
        self.member_within(id, name, 0, 0, &mut budget)
    }

    fn member_within(
        &self,
        id: TypeId,
        name: &str,
        start: u32,
        depth: usize,
        budget: &mut usize,
    ) -> Option<Member<'_>> {
        if depth > MAX_CHAIN {
            return None;
        }
        *budget = budget.checked_sub(1)?;
        let (Kind::Struct(composite) | Kind::Union(composite)) = self.kind(self.resolve(id)?).ok()? else {
            return None;
        };
        for member in composite.members {
            let bit_offset = start.checked_add(member.bit_offset)?;
            if member.name == name {
                return Some(Member { bit_offset, ..member });
            }
            if member.name.is_empty() {
                if let Some(found) = self.member_within(member.ty, name, bit_offset, depth + 1, budget) {
                    return Some(found);
                }
            }
        }
        None
    }
}
