//! The typed view of one type record ([`Kind`]) and its decoding from the record's bytes.

use super::functions::Signature;
use super::header;
use super::table::{self, Head, HEAD_LEN};
use super::{Btf, BtfError, TypeId};

/// One BTF type, decoded. Names borrow from the BTF data; an anonymous type's name is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    /// Id 0: no type.
    Void,
    /// An integer of `size` bytes whose value is `bits` bits from bit `bit_offset`; `char` and
    /// `bool` say how C spells it.
    Int { name: &'a str, size: u32, bits: u8, bit_offset: u8, signed: bool, char: bool, bool: bool },
    /// A pointer to the type.
    Ptr(TypeId),
    /// `len` elements of `elem`, indexed by `index` (an integer type).
    Array { elem: TypeId, index: TypeId, len: u32 },
    /// A struct and its members.
    Struct(Composite<'a>),
    /// A union and its members (all at bit offset 0 unless the data says otherwise).
    Union(Composite<'a>),
    /// An enum of `size` bytes (BTF's `ENUM` and `ENUM64`); `signed` says how to read its values.
    Enum { name: &'a str, size: u32, signed: bool, values: Vec<Enumerator<'a>> },
    /// A struct or union declared but not defined here.
    Fwd { name: &'a str, union: bool },
    /// `typedef target name`.
    Typedef { name: &'a str, target: TypeId },
    /// `const target`.
    Const(TypeId),
    /// `volatile target`.
    Volatile(TypeId),
    /// `restrict target`.
    Restrict(TypeId),
    /// `target` with a type attribute (`__user`, `__rcu`, ...) named `name`.
    TypeTag { name: &'a str, target: TypeId },
    /// A function: its name, prototype (a `FuncProto`) and linkage.
    Func { name: &'a str, proto: TypeId, linkage: Linkage },
    /// A function's type: return type and parameters.
    FuncProto(Signature<'a>),
    /// A global variable.
    Var { name: &'a str, ty: TypeId, linkage: Linkage },
    /// A data section (`.data..percpu`, ...) and the variables in it.
    Datasec { name: &'a str, size: u32, vars: Vec<SectionVar> },
    /// A floating-point type of `size` bytes.
    Float { name: &'a str, size: u32 },
    /// A declaration attribute `name` on `target`, or on its member or parameter `component`.
    DeclTag { name: &'a str, target: TypeId, component: Option<u32> },
}

/// A struct's or union's name (empty when anonymous), size in bytes and members in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composite<'a> {
    pub name: &'a str,
    pub size: u32,
    pub members: Vec<Member<'a>>,
}

/// A member of a struct or union: its name (empty for an anonymous struct or union member), its
/// type, where it starts in bits, and its width in bits when it is a bitfield. Both BTF
/// encodings of bitfields come out the same: with the kind flag, the width and offset are in
/// the member; without it, in the member's `Int` type (whose bit offset is added here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    pub name: &'a str,
    pub ty: TypeId,
    pub bit_offset: u32,
    pub bitfield_size: Option<u8>,
}

impl Member<'_> {
    /// The byte the member starts at, when it starts on a byte boundary.
    pub fn byte_offset(&self) -> Option<u32> {
        self.bit_offset.is_multiple_of(8).then_some(self.bit_offset / 8)
    }
}

/// An enum constant: its name and its value as a canonical 64-bit value (sign-extended from the
/// enum's size when the enum is signed, zero-extended otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enumerator<'a> {
    pub name: &'a str,
    pub value: u64,
}

/// A function parameter: its name (may be empty) and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: &'a str,
    pub ty: TypeId,
}

/// A variable in a data section: the variable (a `Var`), its offset and size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionVar {
    pub var: TypeId,
    pub offset: u32,
    pub size: u32,
}

/// How a function or variable is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    Static,
    Global,
    Extern,
}

impl Linkage {
    fn of(id: TypeId, value: u32) -> Result<Linkage, BtfError> {
        match value {
            0 => Ok(Linkage::Static),
            1 => Ok(Linkage::Global),
            2 => Ok(Linkage::Extern),
            _ => Err(BtfError::Malformed { id: id.0, what: "unknown linkage" }),
        }
    }
}

/// Decodes record `id` of `btf` (the blob that holds it), whose head is `head`.
pub(super) fn decode(btf: &Btf, id: TypeId, head: Head) -> Result<Kind<'_>, BtfError> {
    let name = || btf.str_at(head.name_off);
    let target = TypeId(head.size_or_type);
    let tail = head.at + HEAD_LEN;
    let word = |index: usize| btf.word(id, tail + 4 * index);
    Ok(match head.kind {
        table::INT => {
            let encoding = word(0)?;
            Kind::Int {
                name: name()?,
                size: head.size_or_type,
                bits: encoding as u8,
                bit_offset: (encoding >> 16) as u8,
                signed: encoding & (1 << 24) != 0,
                char: encoding & (2 << 24) != 0,
                bool: encoding & (4 << 24) != 0,
            }
        }
        table::PTR => Kind::Ptr(target),
        table::ARRAY => Kind::Array { elem: TypeId(word(0)?), index: TypeId(word(1)?), len: word(2)? },
        table::STRUCT => Kind::Struct(composite(btf, id, head)?),
        table::UNION => Kind::Union(composite(btf, id, head)?),
        table::ENUM | table::ENUM64 => enumeration(btf, id, head)?,
        table::FWD => Kind::Fwd { name: name()?, union: head.kind_flag },
        table::TYPEDEF => Kind::Typedef { name: name()?, target },
        table::VOLATILE => Kind::Volatile(target),
        table::CONST => Kind::Const(target),
        table::RESTRICT => Kind::Restrict(target),
        table::TYPE_TAG => Kind::TypeTag { name: name()?, target },
        table::FUNC => Kind::Func { name: name()?, proto: target, linkage: Linkage::of(id, head.vlen as u32)? },
        table::FUNC_PROTO => Kind::FuncProto(prototype(btf, id, head)?),
        table::VAR => Kind::Var { name: name()?, ty: target, linkage: Linkage::of(id, word(0)?)? },
        table::DATASEC => {
            let var = |i: usize| {
                Ok(SectionVar { var: TypeId(word(3 * i)?), offset: word(3 * i + 1)?, size: word(3 * i + 2)? })
            };
            Kind::Datasec {
                name: name()?,
                size: head.size_or_type,
                vars: (0..head.vlen).map(var).collect::<Result<_, _>>()?,
            }
        }
        table::FLOAT => Kind::Float { name: name()?, size: head.size_or_type },
        table::DECL_TAG => {
            let component = word(0)? as i32;
            let component = match component {
                -1 => None,
                0.. => Some(component as u32),
                _ => return Err(BtfError::Malformed { id: id.0, what: "negative component index" }),
            };
            Kind::DeclTag { name: name()?, target, component }
        }
        kind => return Err(BtfError::UnknownKind { id: id.0, kind }),
    })
}

/// A struct's or union's members, bitfields in either encoding made one.
fn composite(btf: &Btf, id: TypeId, head: Head) -> Result<Composite<'_>, BtfError> {
    let tail = head.at + HEAD_LEN;
    let member = |i: usize| {
        let at = tail + 12 * i;
        let (name, ty, offset) = (btf.word(id, at)?, TypeId(btf.word(id, at + 4)?), btf.word(id, at + 8)?);
        let (bit_offset, bitfield_size) = if head.kind_flag {
            (Some(offset & 0x00ff_ffff), Some((offset >> 24) as u8).filter(|&size| size > 0))
        } else {
            int_bitfield(btf, ty)
                .map_or((Some(offset), None), |(start, bits)| (offset.checked_add(start.into()), Some(bits)))
        };
        let bit_offset = bit_offset.ok_or(BtfError::Malformed { id: id.0, what: "member offset overflows" })?;
        Ok(Member { name: btf.str_at(name)?, ty, bit_offset, bitfield_size })
    };
    let members = (0..head.vlen).map(member).collect::<Result<_, _>>()?;
    Ok(Composite { name: btf.str_at(head.name_off)?, size: head.size_or_type, members })
}

/// The bit offset and width a member of type `ty` has as a bitfield in the encoding without
/// the kind flag: an `Int` (through typedefs and modifiers) narrower than its size, or offset.
/// Only record heads are read, so a struct holding itself in bad data cannot recurse.
fn int_bitfield(btf: &Btf, ty: TypeId) -> Option<(u8, u8)> {
    let (owner, head) = btf.head(btf.resolve(ty)?).ok()?;
    if head.kind != table::INT {
        return None;
    }
    let encoding = header::word(&owner.data, head.at + HEAD_LEN)?;
    let (bits, bit_offset) = (encoding as u8, (encoding >> 16) as u8);
    (bit_offset != 0 || u32::from(bits) != head.size_or_type.saturating_mul(8)).then_some((bit_offset, bits))
}

/// An enum's constants, 32-bit (`ENUM`) or 64-bit (`ENUM64`), as canonical 64-bit values.
fn enumeration(btf: &Btf, id: TypeId, head: Head) -> Result<Kind<'_>, BtfError> {
    let (tail, signed, wide) = (head.at + HEAD_LEN, head.kind_flag, head.kind == table::ENUM64);
    let stride = if wide { 12 } else { 8 };
    let value = |i: usize| {
        let at = tail + stride * i;
        let low = btf.word(id, at + 4)?;
        let value = match (wide, signed) {
            (true, _) => u64::from(low) | u64::from(btf.word(id, at + 8)?) << 32,
            (false, true) => low as i32 as i64 as u64,
            (false, false) => u64::from(low),
        };
        Ok(Enumerator { name: btf.str_at(btf.word(id, at)?)?, value })
    };
    let values = (0..head.vlen).map(value).collect::<Result<_, _>>()?;
    Ok(Kind::Enum { name: btf.str_at(head.name_off)?, size: head.size_or_type, signed, values })
}

/// A function prototype: a last parameter of type `void` without a name marks `...`.
fn prototype(btf: &Btf, id: TypeId, head: Head) -> Result<Signature<'_>, BtfError> {
    let tail = head.at + HEAD_LEN;
    let param = |i: usize| {
        let at = tail + 8 * i;
        Ok(Param { name: btf.str_at(btf.word(id, at)?)?, ty: TypeId(btf.word(id, at + 4)?) })
    };
    let mut params: Vec<Param<'_>> = (0..head.vlen).map(param).collect::<Result<_, _>>()?;
    let variadic = params.last().is_some_and(|last| last.ty == TypeId::VOID && last.name.is_empty());
    if variadic {
        params.pop();
    }
    Ok(Signature { ret: TypeId(head.size_or_type), params, variadic })
}
