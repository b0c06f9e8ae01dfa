//! Kernel structs as `:type struct NAME` shows them and completion after `->` offers their
//! members: read from the kernel's BTF through the catalog.

use ferrotrace_compiler::btf::{Btf, Family, Kind, TypeId};

/// The members of `struct NAME` (or `union NAME`): name, type as C writes it, byte offset.
pub fn members(btf: &Btf, name: &str) -> Option<Vec<(String, String, u32)>> {
    let id = btf.find(name, Family::StructOrUnion)?;
    let mut out = Vec::new();
    collect(btf, id, 0, &mut out);
    Some(out)
}

/// The members of the composite `id`, those of anonymous struct and union members inlined.
fn collect(btf: &Btf, id: TypeId, base_bits: u32, out: &mut Vec<(String, String, u32)>) {
    let composite = match btf.kind(id) {
        Ok(Kind::Struct(composite) | Kind::Union(composite)) => composite,
        _ => return,
    };
    for member in &composite.members {
        let bits = base_bits + member.bit_offset;
        if member.name.is_empty() {
            if let Some(inner) = btf.resolve(member.ty) {
                collect(btf, inner, bits, out);
            }
            continue;
        }
        out.push((member.name.to_string(), btf.type_name(member.ty), bits / 8));
    }
}

/// `struct NAME { ... }` written out with each member's offset, as `:type struct NAME` prints it.
pub fn describe(btf: &Btf, name: &str) -> Option<String> {
    let members = members(btf, name)?;
    let mut text = format!("struct {name} {{\n");
    for (member, ty, offset) in members {
        text.push_str(&format!("    {ty} {member};  // offset {offset}\n"));
    }
    text.push_str("}\n");
    Some(text)
}
