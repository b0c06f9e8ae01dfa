//! A compiled program's kernel facts asked again, through the catalog of the kernel it is about
//! to run on: each member's place and size, each type's size, each enum constant's value (from
//! BTF), the member offsets builtins read, kernel symbol addresses, cgroup ids, the PID
//! namespace and how `comm` is padded. A program compiled elsewhere runs unchanged where every
//! fact holds; where one does not, the differences say which, recorded and found.

use std::fmt;

use crate::btf::Btf;
use crate::catalog::Catalog;
use crate::kernel_facts::{KernelFact, KernelFacts};
use crate::sema::kernel_types::{c_type, enumerator, member};
use crate::types::Ty;

/// A fact that does not hold on this kernel: as recorded, and as this kernel has it (`None`
/// when it has no such member, type or constant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub recorded: KernelFact,
    pub here: Option<KernelFact>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "- {}", self.recorded)?;
        match &self.here {
            Some(here) => write!(f, "+ {here}"),
            None => write!(f, "+ (not in this kernel)"),
        }
    }
}

impl Difference {
    /// Whether the program can be patched past this difference: a member that moved and kept
    /// its size (or a builtin's member that moved), whose offset every instruction holding it
    /// has a CO-RE relocation for (`facts` says which offsets are compiled in without one).
    pub fn movable(&self, facts: &KernelFacts) -> bool {
        match (&self.recorded, &self.here) {
            (
                KernelFact::Member { strukt, member, size, bitfield: None, .. },
                Some(KernelFact::Member { strukt: found_strukt, member: found_member, size: found_size, bitfield: None, .. }),
            ) => strukt == found_strukt && member == found_member && size == found_size && !facts.is_fixed(strukt, member),
            // A builtin's member (`ppid`'s `task_struct.real_parent`): its relocation checks the
            // member kept its size.
            (KernelFact::Offset { strukt, member, .. }, Some(KernelFact::Offset { strukt: found_strukt, member: found_member, .. })) => {
                strukt == found_strukt && member == found_member && !facts.is_fixed(strukt, member)
            }
            _ => false,
        }
    }
}

/// The facts that do not hold on the kernel `catalog` describes, in the order recorded. An
/// `Arguments` fact is not asked again (the probe's attach checks its function), nor a member
/// of an anonymous struct or union, which has no name to find it by (the member holding it
/// is asked).
pub fn differences(facts: &KernelFacts, catalog: &dyn Catalog) -> Vec<Difference> {
    facts
        .iter()
        .filter(|fact| match fact {
            KernelFact::Arguments { .. } => false,
            KernelFact::Member { strukt, .. } => !strukt.contains("(anonymous)"),
            _ => true,
        })
        .filter_map(|recorded| {
            let here = asked_again(recorded, catalog);
            (here.as_ref() != Some(recorded)).then(|| Difference { recorded: recorded.clone(), here })
        })
        .collect()
}

/// The fact as this kernel has it.
fn asked_again(fact: &KernelFact, catalog: &dyn Catalog) -> Option<KernelFact> {
    match fact {
        KernelFact::Member { .. } | KernelFact::Size { .. } | KernelFact::Enumerator { .. } => from_btf(fact, catalog.kernel_types()?),
        KernelFact::Arguments { .. } => Some(fact.clone()),
        KernelFact::Offset { strukt, member, .. } => Some(KernelFact::Offset { strukt: strukt.clone(), member: member.clone(), offset: catalog.member_offset(strukt, member)? }),
        KernelFact::Symbol { name, .. } => Some(KernelFact::Symbol { name: name.clone(), address: catalog.kernel_symbol(name).ok()? }),
        KernelFact::Cgroup { path, .. } => Some(KernelFact::Cgroup { path: path.clone(), id: catalog.cgroup_id(path).ok()? }),
        KernelFact::PidNamespace { .. } => {
            let namespace = catalog.pid_namespace();
            Some(KernelFact::PidNamespace { dev: namespace.map_or(0, |ns| ns.dev), ino: namespace.map_or(0, |ns| ns.ino) })
        }
        KernelFact::CommZeroPadded(_) => Some(KernelFact::CommZeroPadded(catalog.helper_behaviour().comm_zero_padded)),
    }
}

/// A fact of the kernel's types as its BTF has it.
fn from_btf(fact: &KernelFact, btf: &Btf) -> Option<KernelFact> {
    match fact {
        KernelFact::Member { strukt, member: name, .. } => {
            let Some(Ty::Struct(found)) = c_type(btf, strukt, false) else { return None };
            let here = member(btf, &found, name, false).ok()?;
            Some(KernelFact::Member { strukt: strukt.clone(), member: name.clone(), offset: here.offset, size: here.ty.size(), bitfield: here.bits })
        }
        KernelFact::Size { ty, .. } => Some(KernelFact::Size { ty: ty.clone(), size: c_type(btf, ty, false)?.size() }),
        KernelFact::Enumerator { name, .. } => Some(KernelFact::Enumerator { name: name.clone(), value: enumerator(btf, name)?.value }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::btf::{Writer, WrittenMember};
    use crate::catalog::testing::TypesOnly;

    /// A kernel whose `struct task` holds `pid` at `pid_at` and whose `enum state` has
    /// `RUNNING = running`.
    fn kernel(pid_at: u32, running: u64) -> TypesOnly {
        let mut writer = Writer::new(None).unwrap();
        let int = writer.int("int", 4, true, false, false).unwrap();
        let task = writer.reserve().unwrap();
        let members = [WrittenMember { name: "flags", ty: int, bit_offset: 0, bitfield_size: None }, WrittenMember { name: "pid", ty: int, bit_offset: pid_at * 8, bitfield_size: None }];
        writer.composite(task, false, "task", 16, &members).unwrap();
        writer.enumeration("state", 4, false, &[("RUNNING", running)]).unwrap();
        TypesOnly(Arc::new(Btf::parse(writer.finish()).unwrap()))
    }

    fn facts(pid_at: u32) -> KernelFacts {
        let mut facts = KernelFacts::default();
        facts.record(KernelFact::Member { strukt: "struct task".into(), member: "pid".into(), offset: pid_at, size: 4, bitfield: None });
        facts.record(KernelFact::Size { ty: "struct task".into(), size: 16 });
        facts.record(KernelFact::Enumerator { name: "RUNNING".into(), value: 0 });
        facts
    }

    #[test]
    fn facts_that_hold_make_no_difference() {
        assert_eq!(differences(&facts(4), &kernel(4, 0)), []);
    }

    #[test]
    fn a_moved_member_and_a_renumbered_constant_are_named_as_recorded_and_as_found() {
        let found = differences(&facts(4), &kernel(8, 1));
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["- struct task.pid: offset 4, 4 bytes\n+ struct task.pid: offset 8, 4 bytes", "- RUNNING: 0\n+ RUNNING: 1"]);
        let mut anonymous = KernelFacts::default();
        anonymous.record(KernelFact::Member { strukt: "union (anonymous)".into(), member: "bytes".into(), offset: 0, size: 16, bitfield: None });
        assert_eq!(differences(&anonymous, &kernel(4, 0)), []);
        let mut missing = KernelFacts::default();
        missing.record(KernelFact::Member { strukt: "struct task".into(), member: "tgid".into(), offset: 8, size: 4, bitfield: None });
        assert_eq!(differences(&missing, &kernel(4, 0))[0].to_string(), "- struct task.tgid: offset 8, 4 bytes\n+ (not in this kernel)");
    }

    #[test]
    fn only_a_moved_member_of_the_same_size_whose_offset_is_relocated_is_movable() {
        let recorded = facts(4);
        let found = differences(&recorded, &kernel(8, 1));
        assert!(found[0].movable(&recorded), "{}", found[0]);
        assert!(!found[1].movable(&recorded), "an enum constant is compiled in");
        let mut fixed = facts(4);
        fixed.fix("struct task", "pid");
        assert!(!differences(&fixed, &kernel(8, 0))[0].movable(&fixed), "an offset compiled in without a relocation");
        let mut missing = KernelFacts::default();
        missing.record(KernelFact::Member { strukt: "struct task".into(), member: "tgid".into(), offset: 8, size: 4, bitfield: None });
        assert!(!differences(&missing, &kernel(4, 0))[0].movable(&missing));
    }
}
