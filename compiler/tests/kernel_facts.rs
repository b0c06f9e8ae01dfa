//! The manifest names every kernel fact a compiled program depends on: each member read and
//! where it is, each kernel type measured, each enum constant, and the typed arguments of the
//! probes that read them as words. Values are this machine's kernel's (its BTF).

mod support;

use ferrotrace_compiler::driver::compile;
use ferrotrace_compiler::kernel_facts::KernelFact;

#[test]
fn members_sizes_constants_and_arguments_are_recorded_once_each() {
    let Some(btf) = support::host_btf() else {
        eprintln!("skipping: this machine has no /sys/kernel/btf/vmlinux");
        return;
    };
    let script = "rawtracepoint:sched_switch { @[args.next->pid, curtask->pid, PIDTYPE_TGID, sizeof(struct list_head)] = count(); }";
    let compiled = compile(script, &support::FakeCatalog).unwrap_or_else(|diags| panic!("{diags:?}"));
    let facts: Vec<&KernelFact> = compiled.manifest.kernel_facts.iter().collect();
    let task = btf.find("task_struct", ferrotrace_compiler::btf::Family::StructOrUnion).expect("task_struct");
    let pid = btf.member(task, "pid").and_then(|member| member.byte_offset()).expect("task_struct.pid");
    let expected = [
        KernelFact::Member { strukt: "struct task_struct".into(), member: "pid".into(), offset: pid, size: 4, bitfield: None },
        KernelFact::Enumerator { name: "PIDTYPE_TGID".into(), value: 1 },
        KernelFact::Size { ty: "struct list_head".into(), size: 16 },
    ];
    for fact in &expected {
        assert_eq!(facts.iter().filter(|known| **known == fact).count(), 1, "{fact} once in {facts:?}");
    }
    assert!(
        facts.iter().any(|fact| matches!(fact, KernelFact::Arguments { probe, types } if probe == "rawtracepoint:vmlinux:sched_switch" && types.iter().any(|t| t == "struct task_struct * next"))),
        "{facts:?}"
    );
}

#[test]
fn a_script_without_kernel_types_depends_on_none() {
    let compiled = compile("tracepoint:syscalls:sys_enter_openat { @[pid] = count(); }", &support::FakeCatalog).expect("compiles");
    assert!(compiled.manifest.kernel_facts.is_empty());
}

#[test]
fn reading_comm_depends_on_how_the_kernel_pads_it() {
    let compiled = compile("tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }", &support::FakeCatalog).expect("compiles");
    let facts: Vec<&KernelFact> = compiled.manifest.kernel_facts.iter().collect();
    assert!(matches!(facts.as_slice(), [KernelFact::CommZeroPadded(_)]), "{facts:?}");
}
