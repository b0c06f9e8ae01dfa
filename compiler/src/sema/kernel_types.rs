//! The kernel's C types (BTF) as the language's types: integers, enums (with their constants), `char`
//! arrays as strings, other arrays, pointers to what they point at, structs and unions by
//! name. Conversion is shallow: a struct's members are looked up only when a script names one.

use crate::btf::{Btf, Family, Kind, TypeId, MAX_CHAIN};
use crate::types::{EnumTy, IntTy, StructRef, Ty};

/// The language type of the kernel type `id`, memory being kernel memory or, when `user`, the
/// traced process's (what the pointers in it point into). `None` for a type a probe cannot
/// hold: floating point, a function, or bad data.
pub(crate) fn language_type(btf: &Btf, id: TypeId, user: bool) -> Option<Ty> {
    language_type_within(btf, id, user, 0)
}

fn language_type_within(btf: &Btf, id: TypeId, user: bool, depth: usize) -> Option<Ty> {
    if depth > MAX_CHAIN {
        return None;
    }
    let id = btf.resolve(id)?;
    Some(match btf.kind(id).ok()? {
        Kind::Void => Ty::Void,
        Kind::Int { bool: true, size: 1, .. } => Ty::Bool,
        Kind::Int { size, signed, .. } => Ty::Int(int_of(size, signed)?),
        Kind::Enum { name, size, signed, values } => Ty::Enum(Box::new(EnumTy {
            name: c_name("enum", name),
            int: int_of(size, signed)?,
            constants: values.into_iter().map(|constant| (constant.name.to_owned(), constant.value)).collect(),
        })),
        Kind::Ptr(target) => {
            // A pointer to a function, or to anything else a probe cannot hold, is a `void *`.
            let pointee = language_type_within(btf, target, user, depth + 1).unwrap_or(Ty::Void);
            Ty::ptr(pointee, user)
        }
        Kind::Array { elem, len, .. } => match language_type_within(btf, elem, user, depth + 1)? {
            Ty::Int(IntTy { bits: 8, .. }) if is_char(btf, elem) => Ty::Str(len),
            elem => Ty::Array { elem: Box::new(elem), len },
        },
        Kind::Struct(composite) => Ty::Struct(Box::new(StructRef { name: c_name("struct", composite.name), size: composite.size, id: id.0 })),
        Kind::Union(composite) => Ty::Struct(Box::new(StructRef { name: c_name("union", composite.name), size: composite.size, id: id.0 })),
        // A declaration: the definition, when the kernel has one under that name.
        Kind::Fwd { name, union } => match btf.find(name, Family::StructOrUnion) {
            Some(defined) if defined != id => return language_type_within(btf, defined, user, depth + 1),
            _ => Ty::Struct(Box::new(StructRef { name: c_name(if union { "union" } else { "struct" }, name), size: 0, id: id.0 })),
        },
        _ => return None,
    })
}

/// `struct name`, or `struct (anonymous)`.
fn c_name(keyword: &str, name: &str) -> String {
    match name {
        "" => format!("{keyword} (anonymous)"),
        name => format!("{keyword} {name}"),
    }
}

fn int_of(size: u32, signed: bool) -> Option<IntTy> {
    let bits = u8::try_from(size.checked_mul(8)?).ok().filter(|bits| matches!(bits, 8 | 16 | 32 | 64))?;
    Some(IntTy { bits, signed })
}

/// Whether `id` is C's plain `char`, whose arrays are strings; arrays of `unsigned char`,
/// `u8` and `__u8` are arrays of numbers (an IPv6 address), as in bpftrace. Kernel BTF does
/// not always flag `char` as such, so its name counts too.
fn is_char(btf: &Btf, id: TypeId) -> bool {
    let kind = btf.resolve(id).and_then(|id| btf.kind(id).ok());
    matches!(kind, Some(Kind::Int { name: "char" | "signed char", .. }))
}

/// The kernel type a C declaration names, as tracefs format files and scripts write them:
/// `struct sk_buff *`, `const char *`, `unsigned int`, `pid_t`, `enum pid_type`. `None` when
/// the kernel has no such type.
pub(crate) fn c_type(btf: &Btf, written: &str, user: bool) -> Option<Ty> {
    let stars = written.chars().filter(|c| *c == '*').count();
    let base: Vec<&str> = written
        .trim_end_matches(|c: char| c == '*' || c.is_whitespace())
        .split_whitespace()
        .filter(|word| !matches!(*word, "const" | "volatile" | "__user" | "__rcu" | "*"))
        .collect();
    let mut ty = match base.as_slice() {
        ["struct" | "union", name] => language_type(btf, btf.find(name, Family::StructOrUnion)?, user)?,
        ["enum", name] => language_type(btf, btf.find(name, Family::Enum)?, user)?,
        ["void"] => Ty::Void,
        words => {
            // A typedef or a C number type; and, as bpftrace takes them, a struct or union
            // named without its keyword (`(file *)arg0`).
            let name = words.join(" ");
            let id = btf
                .find(&name, Family::Typedef)
                .or_else(|| btf.find(&name, Family::Number))
                .or_else(|| (words.len() == 1).then(|| btf.find(&name, Family::StructOrUnion)).flatten())?;
            language_type(btf, id, user)?
        }
    };
    for _ in 0..stars {
        ty = Ty::ptr(ty, user);
    }
    Some(ty)
}

/// An enum constant of the kernel (`PIDTYPE_PID`): its value and the type of its enum.
pub(crate) struct Enumerator {
    pub value: u64,
    pub ty: Ty,
}

/// The kernel's enum constant `name`, if it has one.
pub(crate) fn enumerator(btf: &Btf, name: &str) -> Option<Enumerator> {
    let (owner, found) = btf.enumerator(name)?;
    Some(Enumerator { value: found.value, ty: language_type(btf, owner, false)? })
}

/// A member of a kernel struct as a probe reads it.
pub(crate) struct KernelMember {
    /// Its language type.
    pub ty: Ty,
    /// The byte its value (for a bitfield: the bytes holding it) starts at.
    pub offset: u32,
    /// For a bitfield: its first bit within the bytes read, and its width.
    pub bits: Option<(u8, u8)>,
}

/// The member `name` of `strukt` (also inside anonymous structs and unions), as `user` memory
/// or kernel memory. `Err` with the member names when there is no such member, or with a
/// reason when its type is one a probe cannot hold.
pub(crate) fn member(btf: &Btf, strukt: &StructRef, name: &str, user: bool) -> Result<KernelMember, MemberError> {
    let Some(found) = btf.member(TypeId(strukt.id), name) else {
        return Err(MemberError::Missing(member_names(btf, strukt)));
    };
    let Some(ty) = language_type(btf, found.ty, user) else {
        return Err(MemberError::Unreadable(btf.type_name(found.ty)));
    };
    match found.bitfield_size {
        None => Ok(KernelMember { ty, offset: found.bit_offset / 8, bits: None }),
        Some(width) => {
            // Read the fewest whole bytes (1, 2, 4 or 8) that hold the field.
            let first_bit = (found.bit_offset % 8) as u8;
            let bytes = (u32::from(first_bit) + u32::from(width)).div_ceil(8).next_power_of_two();
            let signed = matches!(ty, Ty::Int(IntTy { signed: true, .. }));
            let storage = int_of(bytes, signed).ok_or_else(|| MemberError::Unreadable(btf.type_name(found.ty)))?;
            Ok(KernelMember { ty: Ty::Int(storage), offset: found.bit_offset / 8, bits: Some((first_bit, width)) })
        }
    }
}

/// Why a member cannot be read.
pub(crate) enum MemberError {
    /// No such member; the struct's members, for the message.
    Missing(Vec<String>),
    /// Its C type (named), which a probe cannot hold.
    Unreadable(String),
}

/// The names of `strukt`'s members, anonymous members' own included.
pub(crate) fn member_names(btf: &Btf, strukt: &StructRef) -> Vec<String> {
    let mut names = Vec::new();
    collect_member_names(btf, TypeId(strukt.id), &mut names, 0);
    names
}

fn collect_member_names(btf: &Btf, id: TypeId, names: &mut Vec<String>, depth: usize) {
    let Some(Kind::Struct(composite) | Kind::Union(composite)) = btf.resolve(id).and_then(|id| btf.kind(id).ok()) else { return };
    for member in composite.members {
        match member.name {
            "" if depth < MAX_CHAIN => collect_member_names(btf, member.ty, names, depth + 1),
            "" => {}
            name => names.push(name.to_string()),
        }
    }
}
