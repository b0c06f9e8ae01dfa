//! CO-RE ("compile once, run everywhere") field relocations: which kernel struct member the
//! offset in an instruction stands for, so a compiled program can run on a kernel whose structs
//! are laid out differently, patched instead of compiled again.
//!
//! Sema gives every read of a kernel struct member a [`FieldAccess`]: the struct the chain
//! starts at and the members (and constant array indexes) it goes through, whose offsets add up
//! to exactly the read's offset. Lowering tags the one instruction holding that offset (a load's
//! offset, or the `add` of the offset to the struct's address, emitted even when it adds 0).
//! The ELF writer turns the tags into the standard records libbpf, aya-obj and the kernel read
//! ([`sections`]): a `.BTF` holding the accessed structs with just the members read, and a
//! `.BTF.ext` whose `core_relo` records (kind `BPF_CORE_FIELD_BYTE_OFFSET`) name an
//! instruction, the struct and the access as member indexes (`"0:3:1"`). [`relocate`] reads
//! them back and finds each access in another kernel's BTF by member names, as libbpf does.

mod relocate;
mod sections;

pub use relocate::{relocations, Relocation, RelocationError};
pub use sections::{write_sections, CoreSections, ProgramAccesses};

use std::fmt;

/// A read of a kernel struct member, as the chain of names from a struct: `struct
/// task_struct` then `se` then `vruntime`. Its offset from the struct's start is the read's
/// offset from the pointer it reads through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldAccess {
    /// The struct (or union) the chain starts at: its id in the kernel's BTF the program is
    /// compiled against, and its name as C writes it (`struct task_struct`).
    pub root: u32,
    pub root_name: String,
    pub steps: Vec<Step>,
}

/// One link of a [`FieldAccess`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// The member `name` of the struct written `owner` (found also inside its anonymous
    /// structs and unions, as C finds it).
    Member { owner: String, name: String },
    /// Element `n` of the array the chain has reached.
    Index(u32),
}

impl FieldAccess {
    /// The chain of no members: the struct itself, at offset 0.
    pub fn root(id: u32, name: &str) -> FieldAccess {
        FieldAccess { root: id, root_name: name.to_string(), steps: Vec::new() }
    }

    /// This chain, then `owner`'s member `name`.
    pub fn member(&self, owner: &str, name: &str) -> FieldAccess {
        self.then(Step::Member { owner: owner.to_string(), name: name.to_string() })
    }

    /// This chain, then element `n` of the array it reached.
    pub fn index(&self, n: u32) -> FieldAccess {
        self.then(Step::Index(n))
    }

    fn then(&self, step: Step) -> FieldAccess {
        let mut steps = self.steps.clone();
        steps.push(step);
        FieldAccess { steps, ..self.clone() }
    }

    /// Whether the chain reaches a member: only then is there an offset to relocate.
    pub fn reads_member(&self) -> bool {
        self.steps.iter().any(|step| matches!(step, Step::Member { .. }))
    }

    /// The members the chain goes through, each with the struct it belongs to.
    pub fn members(&self) -> impl Iterator<Item = (&str, &str)> {
        self.steps.iter().filter_map(|step| match step {
            Step::Member { owner, name } => Some((owner.as_str(), name.as_str())),
            Step::Index(_) => None,
        })
    }
}

impl fmt::Display for FieldAccess {
    /// `struct task_struct.se.vruntime`, `struct sock_common.skc_v6_daddr.in6_u[2]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.root_name)?;
        for step in &self.steps {
            match step {
                Step::Member { name, .. } => write!(f, ".{name}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// `BPF_CORE_FIELD_BYTE_OFFSET`: the relocation kind for a member's byte offset.
const FIELD_BYTE_OFFSET: u32 = 0;

/// The magic number both `.BTF` and `.BTF.ext` start with.
const BTF_MAGIC: u16 = 0xeb9f;

/// The `.BTF.ext` header: magic, version, flags, header length, then offset and length of the
/// `func_info`, `line_info` and `core_relo` subsections.
const EXT_HEADER_LEN: usize = 32;

/// Bytes of one `struct bpf_core_relo`: instruction offset, type id, access string, kind.
const CORE_RELO_LEN: usize = 16;

#[cfg(test)]
mod tests;
