//! The reader on this machine's kernel BTF: facts every kernel of the last years has. Each test
//! skips with a notice when `/sys/kernel/btf/vmlinux` is missing.

use std::time::Instant;

use crate::btf::{Btf, Family, Kind, TypeId};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn vmlinux() -> Option<Btf> {
    match std::fs::read(VMLINUX) {
        Ok(data) => Some(Btf::parse(data).expect("the kernel's BTF parses")),
        Err(error) => {
            eprintln!("skipped: cannot read {VMLINUX} ({error})");
            None
        }
    }
}

/// The type of member `path` (`a.b.c`) of struct `strukt`, written as C does.
fn member_type(btf: &Btf, strukt: &str, member: &str) -> String {
    let id = btf.find(strukt, Family::StructOrUnion).unwrap_or_else(|| panic!("struct {strukt}"));
    let member = btf.member(id, member).unwrap_or_else(|| panic!("{strukt}.{member}"));
    btf.type_name(member.ty)
}

#[test]
fn task_struct_and_sk_buff_members() {
    let Some(btf) = vmlinux() else { return };
    assert_eq!(member_type(&btf, "task_struct", "real_parent"), "struct task_struct *");
    assert_eq!(member_type(&btf, "task_struct", "comm"), "char[16]");
    assert_eq!(member_type(&btf, "task_struct", "pid"), "pid_t");
    assert_eq!(member_type(&btf, "sk_buff", "len"), "unsigned int");
    // `next` and `dev` are in anonymous unions and structs of `sk_buff`.
    assert_eq!(member_type(&btf, "sk_buff", "next"), "struct sk_buff *");
    assert_eq!(member_type(&btf, "sk_buff", "dev"), "struct net_device *");
    let task = btf.find("task_struct", Family::StructOrUnion).unwrap();
    let pid = btf.member(task, "pid").unwrap();
    assert_eq!(btf.size_of(pid.ty), Some(4));
    assert!(matches!(btf.kind(btf.resolve(pid.ty).unwrap()), Ok(Kind::Int { signed: true, bits: 32, .. })));
    let comm = btf.member(task, "comm").unwrap();
    assert_eq!(btf.size_of(comm.ty), Some(16));
    assert_eq!(btf.align_of(task), Some(8), "BTF has no alignment attributes: the largest member's");
    let thread_info = btf.member(task, "thread_info").unwrap();
    assert_eq!(thread_info.byte_offset(), Some(0), "thread_info is first in task_struct on x86-64");
}

#[test]
fn enumerators_and_functions() {
    let Some(btf) = vmlinux() else { return };
    let (pid_type, pid) = btf.enumerator("PIDTYPE_PID").unwrap();
    assert_eq!(pid.value, 0);
    assert_eq!(btf.type_name(pid_type), "enum pid_type");
    assert_eq!(btf.enumerator_name(pid_type, 1), Some("PIDTYPE_TGID"));
    assert_eq!(btf.enumerator("BPF_MAP_TYPE_HASH").map(|(_, e)| e.value), Some(1));
    assert_eq!(btf.enumerator("NO_SUCH_ENUMERATOR_ANYWHERE"), None);

    let args = btf.raw_tracepoint("sched_switch").unwrap();
    let args: Vec<(&str, String)> = args.params.iter().map(|p| (p.name, btf.type_name(p.ty))).collect();
    let expected = [
        ("preempt", "bool"),
        ("prev", "struct task_struct *"),
        ("next", "struct task_struct *"),
        ("prev_state", "unsigned int"),
    ];
    assert_eq!(args, expected.map(|(name, ty)| (name, ty.to_string())));

    let vfs_read = btf.function("vfs_read").unwrap();
    let params: Vec<&str> = vfs_read.params.iter().map(|p| p.name).collect();
    assert_eq!(params, ["file", "buf", "count", "pos"]);
    assert_eq!(btf.type_name(vfs_read.ret), "ssize_t");
    assert_eq!(btf.type_name(vfs_read.params[0].ty), "struct file *");
    assert!(btf.find("ksys_sync", Family::Func).is_some());
}

/// Every type decodes and has a name, and the chains under typedefs end.
#[test]
fn every_type_decodes() {
    let Some(btf) = vmlinux() else { return };
    btf.validate().unwrap();
    let count = btf.own_ids().count();
    assert!(count > 10_000, "{count} types");
    for id in btf.own_ids() {
        let kind = btf.kind(id).unwrap_or_else(|error| panic!("type {}: {error}", id.0));
        if !matches!(kind, Kind::Func { .. } | Kind::FuncProto(_) | Kind::DeclTag { .. } | Kind::Datasec { .. }) {
            assert!(btf.resolve(id).is_some(), "type {}", id.0);
        }
    }
    assert!(btf.kind(TypeId(count as u32 + 1)).is_err());
}

/// What each step costs on the kernel's BTF. Run in release to see real numbers:
/// `cargo test --release -p ferrotrace-compiler btf::tests::vmlinux::timings -- --ignored --nocapture`
#[test]
#[ignore = "prints timings; run in release with --nocapture"]
fn timings() {
    let start = Instant::now();
    let Ok(data) = std::fs::read(VMLINUX) else { return eprintln!("skipped: no {VMLINUX}") };
    let read = start.elapsed();
    let mut step = Instant::now();
    let mut lap = || {
        let elapsed = step.elapsed();
        step = Instant::now();
        elapsed
    };
    let btf = Btf::parse(data).unwrap();
    let parse = lap();
    btf.validate().unwrap();
    let table = lap();
    let task = btf.find("task_struct", Family::StructOrUnion).unwrap();
    let struct_index = lap();
    let sk_buff = btf.find("sk_buff", Family::StructOrUnion).unwrap();
    let second = lap();
    let member = btf.member(task, "real_parent").unwrap();
    let parent = btf.type_name(member.ty);
    let anonymous = btf.member(sk_buff, "dev").unwrap();
    let members = lap();
    btf.find("vfs_read", Family::Func).unwrap();
    let func_index = lap();
    btf.enumerator("PIDTYPE_PID").unwrap();
    let enumerator_index = lap();
    eprintln!("read {} bytes: {read:?}", btf.data.len());
    eprintln!("parse (header): {parse:?}");
    eprintln!("offset table ({} types): {table:?}", btf.own_ids().count());
    eprintln!("struct/union name index + find task_struct: {struct_index:?}");
    eprintln!("second struct lookup (sk_buff): {second:?}");
    eprintln!("members task_struct.real_parent ({parent}) + sk_buff.dev at {}: {members:?}", anonymous.bit_offset / 8);
    eprintln!("func name index + find vfs_read: {func_index:?}");
    eprintln!("enumerator index + PIDTYPE_PID: {enumerator_index:?}");
}
