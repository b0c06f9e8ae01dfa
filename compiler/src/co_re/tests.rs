//! A script compiled against one small kernel and its relocations resolved against others: a
//! moved member is found by name, a resized or vanished one is refused, and the patch lands in
//! the instruction that held the offset.

use std::sync::Arc;

use object::{Object, ObjectSection};

use super::{relocations, Relocation, RelocationError};
use crate::btf::{Btf, TypeId, Writer, WrittenMember};
use crate::catalog::testing::TypesOnly;
use crate::elf::{BTF_EXT_SECTION, BTF_SECTION};

/// Where a kernel puts `struct task`'s members, in bytes, and how big `pid` is.
struct Layout {
    pid: u32,
    pid_size: u32,
    se: u32,
    vruntime: u32,
    comm: u32,
    /// The anonymous union holding `node`.
    union: u32,
    counts: u32,
}

const COMPILED: Layout = Layout { pid: 4, pid_size: 4, se: 8, vruntime: 8, comm: 24, union: 32, counts: 56 };

/// `struct task { int flags; int pid; struct sched se; char comm[8]; union { long node; };
/// struct task *parent; int counts[2]; }`, laid out as `layout` says.
fn kernel(layout: &Layout) -> Arc<Btf> {
    let mut w = Writer::new(None).unwrap();
    let int = w.int("int", 4, true, false, false).unwrap();
    let long = w.int("long", 8, true, false, false).unwrap();
    let char_ = w.int("char", 1, true, true, false).unwrap();
    let comm = w.array(char_, int, 8).unwrap();
    let counts = w.array(int, int, 2).unwrap();
    // `union { long whole; struct { int lo; int hi; }; }`
    let halves = w.reserve().unwrap();
    w.composite(halves, false, "", 8, &[WrittenMember { name: "lo", ty: int, bit_offset: 0, bitfield_size: None }, WrittenMember { name: "hi", ty: int, bit_offset: 32, bitfield_size: None }]).unwrap();
    let word = w.reserve().unwrap();
    w.composite(word, true, "word", 8, &[WrittenMember { name: "whole", ty: long, bit_offset: 0, bitfield_size: None }, WrittenMember { name: "", ty: halves, bit_offset: 0, bitfield_size: None }]).unwrap();
    let sched = w.reserve().unwrap();
    let member = |name, ty, at: u32| WrittenMember { name, ty, bit_offset: at * 8, bitfield_size: None };
    w.composite(sched, false, "sched", 16, &[member("weight", long, 0), member("vruntime", long, layout.vruntime)]).unwrap();
    let node = w.reserve().unwrap();
    w.composite(node, true, "", 8, &[member("node", long, 0)]).unwrap();
    let task = w.reserve().unwrap();
    let pointer = w.pointer(task).unwrap();
    let pid_ty = if layout.pid_size == 8 { long } else { int };
    let members = [
        member("flags", int, 0),
        member("pid", pid_ty, layout.pid),
        member("se", sched, layout.se),
        member("comm", comm, layout.comm),
        member("", node, layout.union),
        member("parent", pointer, 48),
        member("counts", counts, layout.counts),
        member("word", word, 64),
        WrittenMember { name: "state", ty: int, bit_offset: 72 * 8 + 3, bitfield_size: Some(2) },
    ];
    w.composite(task, false, "task", 80, &members).unwrap();
    // What `ppid` reads: the parent's `tgid`.
    let task_struct = w.reserve().unwrap();
    let parent = w.pointer(task_struct).unwrap();
    w.composite(task_struct, false, "task_struct", 32, &[member("tgid", int, layout.pid), member("real_parent", parent, layout.se)]).unwrap();
    Arc::new(Btf::parse(w.finish()).unwrap())
}

const SCRIPT: &str = "BEGIN { $t = (struct task *)0; print(($t->pid, $t->se.vruntime, $t->comm, $t->node, $t->parent->pid, $t->counts[1])); }";

/// The script compiled against `COMPILED`: its object's program section and CO-RE sections.
fn compiled(script: &str) -> (crate::driver::Compiled, Vec<u8>, Vec<u8>, Vec<u8>) {
    let compiled = crate::driver::compile(script, &TypesOnly(kernel(&COMPILED))).unwrap_or_else(|e| panic!("{e:?}"));
    let file = object::File::parse(&*compiled.elf).unwrap();
    let section = |name: &str| file.section_by_name(name).map(|s| s.data().unwrap().to_vec()).unwrap_or_default();
    let code = section(&compiled.manifest.programs[0].section);
    let (btf, ext) = (section(BTF_SECTION), section(BTF_EXT_SECTION));
    (compiled, code, btf, ext)
}

fn moved(compiled: &[u8], ext: &[u8], target: &Layout) -> Result<Vec<(String, u32, u32)>, RelocationError> {
    let found = relocations(compiled, ext, &kernel(target))?;
    Ok(found.into_iter().map(|r: Relocation| (r.access, r.local, r.target)).collect())
}

#[test]
fn each_member_read_is_named_by_its_chain_and_found_again_where_it_moved() {
    let (_, _, btf, ext) = compiled(SCRIPT);
    let target = Layout { pid: 12, pid_size: 4, se: 16, vruntime: 0, comm: 40, union: 8, counts: 32 };
    let mut found = moved(&btf, &ext, &target).unwrap();
    found.sort();
    let expected = [
        ("struct task.comm", 24, 40),
        ("struct task.counts[1]", 60, 36),
        ("struct task.node", 32, 8),
        ("struct task.parent", 48, 48),
        ("struct task.pid", 4, 12),
        ("struct task.pid", 4, 12),
        ("struct task.se.vruntime", 16, 16),
    ];
    let expected: Vec<(String, u32, u32)> = expected.iter().map(|(a, l, t)| (a.to_string(), *l, *t)).collect();
    assert_eq!(found, expected);
    // The same kernel moves nothing.
    assert!(moved(&btf, &ext, &COMPILED).unwrap().iter().all(|(_, local, target)| local == target));
}

/// The program section's bytes and the relocations of `script`, compiled against `COMPILED`, to
/// `target`.
fn relocated(script: &str, target: &Layout) -> (Vec<u8>, Vec<Relocation>) {
    let (_, code, btf, ext) = compiled(script);
    (code, relocations(&btf, &ext, &kernel(target)).unwrap())
}

#[test]
fn a_member_inside_an_anonymous_struct_of_a_union_keeps_the_union_at_offset_zero() {
    let (compiled, _, btf, ext) = compiled("BEGIN { $t = (struct task *)0; print($t->word.hi); }");
    assert!(!compiled.manifest.kernel_facts.is_fixed("union word", "hi"));
    let local = Btf::parse(btf.clone()).unwrap();
    let union = local.find("word", crate::btf::Family::StructOrUnion).unwrap();
    let Ok(crate::btf::Kind::Union(word)) = local.kind(union) else { panic!("a union") };
    assert!(word.members.iter().all(|member| member.bit_offset == 0), "{word:?}");
    assert_eq!(moved(&btf, &ext, &COMPILED).unwrap(), [("struct task.word.hi".to_string(), 68, 68)]);
}

#[test]
fn programs_that_share_a_section_name_are_relocated_each_in_its_own_place() {
    let script = "BEGIN { print(((struct task *)0)->pid); } BEGIN { print(((struct task *)0)->counts[1]); }";
    let (mut code, found) = relocated(script, &Layout { pid: 12, counts: 40, ..COMPILED });
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].section, found[1].section, "both `BEGIN` programs are in one section");
    assert!(found[1].insn > found[0].insn, "the second program's instruction is after the first program: {found:?}");
    for relocation in &found {
        relocation.apply(&mut code).unwrap();
    }
}

#[test]
fn a_bitfield_fixes_the_members_that_lead_to_it() {
    let (bitfield, _, _, ext) = compiled("BEGIN { $t = (struct task *)0; print($t->state); }");
    assert!(bitfield.manifest.kernel_facts.is_fixed("struct task", "state"));
    assert!(ext.is_empty(), "nothing to relocate");
    let (whole, ..) = compiled("BEGIN { $p = (struct task *)0; print($p->parent->se.vruntime); print(*$p); }");
    assert!(whole.manifest.kernel_facts.is_fixed("struct task", "state"), "a struct read whole reads its bitfields");
    assert!(!whole.manifest.kernel_facts.is_fixed("struct sched", "vruntime"));
}

#[test]
fn the_members_a_builtin_reads_are_relocated_too() {
    let (compiled, _, btf, ext) = compiled("BEGIN { print(ppid); }");
    let target = Layout { pid: 12, se: 16, ..COMPILED };
    let mut found = moved(&btf, &ext, &target).unwrap();
    found.sort();
    assert_eq!(found, [("struct task_struct.real_parent".to_string(), 8, 16), ("struct task_struct.tgid".to_string(), 4, 12)]);
    assert!(!compiled.manifest.kernel_facts.is_fixed("task_struct", "real_parent"));
}

#[test]
fn a_member_that_changed_size_or_vanished_cannot_be_moved() {
    let (_, _, btf, ext) = compiled("BEGIN { $t = (struct task *)0; print($t->pid); }");
    let wider = Layout { pid_size: 8, pid: 8, ..COMPILED };
    let error = moved(&btf, &ext, &wider).unwrap_err();
    assert_eq!(error.to_string(), "`struct task.pid`: the member was 4 bytes and is 8 bytes in this kernel");
    let mut w = Writer::new(None).unwrap();
    let int = w.int("int", 4, true, false, false).unwrap();
    let task = w.reserve().unwrap();
    w.composite(task, false, "task", 8, &[WrittenMember { name: "tgid", ty: int, bit_offset: 0, bitfield_size: None }]).unwrap();
    let without_pid = Btf::parse(w.finish()).unwrap();
    let error = relocations(&btf, &ext, &without_pid).unwrap_err();
    assert_eq!(error.to_string(), "`struct task.pid`: there is no member `pid` in this kernel");
}

#[test]
fn applying_a_relocation_rewrites_the_offset_the_instruction_held() {
    let (_, mut code, btf, ext) = compiled("BEGIN { $t = (struct task *)0; print($t->pid); }");
    let target = Layout { pid: 20, ..COMPILED };
    let found = relocations(&btf, &ext, &kernel(&target)).unwrap();
    assert_eq!(found.len(), 1);
    let at = found[0].insn * crate::bpf::INSN_SIZE;
    let imm = |code: &[u8]| i32::from_ne_bytes(code[at + 4..at + 8].try_into().unwrap());
    assert_eq!(imm(&code), 4, "the `add` holds the compiled offset");
    found[0].apply(&mut code).unwrap();
    assert_eq!(imm(&code), 20);
    // Applied twice, the instruction no longer holds the compiled offset: refused.
    assert!(matches!(found[0].apply(&mut code), Err(RelocationError::Mismatch { .. })));
}

#[test]
fn offsets_compiled_in_without_a_relocation_are_recorded_as_fixed() {
    let (compiled, ..) = compiled("BEGIN { print((offsetof(struct task, pid), ((struct task *)0)->flags)); }");
    let facts = &compiled.manifest.kernel_facts;
    assert!(facts.is_fixed("struct task", "pid"));
    assert!(!facts.is_fixed("struct task", "flags"));
    let (compiled, _, _, ext) = compiled_with_index();
    assert!(compiled.manifest.kernel_facts.is_fixed("struct task", "counts"), "a computed index leaves the array's offset fixed");
    assert!(!compiled.manifest.kernel_facts.is_fixed("struct task", "pid"));
    assert!(!ext.is_empty());
}

fn compiled_with_index() -> (crate::driver::Compiled, Vec<u8>, Vec<u8>, Vec<u8>) {
    compiled("BEGIN { $i = 1; $t = (struct task *)0; print(($t->counts[$i], $t->pid)); }")
}

#[test]
fn a_script_reading_no_member_has_no_relocation_sections() {
    let (_, _, btf, ext) = compiled("BEGIN { print(1); }");
    assert!(btf.is_empty() && ext.is_empty());
    let root = kernel(&COMPILED);
    assert!(root.in_base(TypeId(1)));
}
