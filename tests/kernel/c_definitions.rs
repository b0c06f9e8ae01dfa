//! C types a script defines (`struct`, `union`, `enum`, `typedef`): casts to them, members
//! and bitfields read through them, enum constants, and a definition that embeds a kernel struct
//! by value laid out as the kernel lays it out.

use super::*;

/// A syscall's `struct __kernel_timespec *` read through the script's own struct of the same
/// layout.
#[test]
fn a_struct_the_script_defines_read_through_a_cast() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "struct timespec_mine {{ long long sec; long nsec; }};\n\
         tracepoint:syscalls:sys_enter_clock_nanosleep, tracepoint:syscalls:sys_enter_nanosleep /comm == \"{}\"/ {{ \
           $ts = (struct timespec_mine *)args.rqtp; printf(\"%d %d %d\\n\", $ts->sec, $ts.nsec, sizeof(struct timespec_mine)); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.run(|| std::thread::sleep(std::time::Duration::new(0, 12_345)));
    tracer.finish().assert_exact(0, "0 12345 16\n\n\n", "Attached 2 probes\n");
}

/// The flag bitfields of `perf_event_attr`, written out by the script, and an enum constant.
#[test]
fn bitfields_and_enum_constants_the_script_defines() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "enum kind {{ HARDWARE, SOFTWARE, LAST = SOFTWARE << 4 }};\n\
         typedef struct {{ u32 type; u32 size; u64 config; u64 period; u64 sample_type; u64 read_format;\n\
           u64 disabled:1, inherit:1, pinned:1, exclusive:1, exclude_user:1, exclude_kernel:1; }} attr_t;\n\
         tracepoint:syscalls:sys_enter_perf_event_open /comm == \"{}\"/ {{ $a = (attr_t *)args.attr_uptr; \
           printf(\"%d %d %d %d %d\\n\", $a->type == SOFTWARE, $a->disabled, $a->inherit, $a->exclude_kernel, LAST); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.run(open_a_disabled_software_event);
    tracer.finish().assert_exact(0, "1 1 0 1 16\n\n\n", ATTACHED_1);
}

/// A definition that starts like `task_struct` (a kernel struct by value, then a member) reads
/// the same memory as the kernel's type, and a script's struct hides the kernel's of its name.
#[test]
fn a_kernel_struct_by_value_inside_the_scripts() {
    if !kernel_ready() {
        return;
    }
    let outcome = run_program(
        "struct task_prefix { struct thread_info thread_info; unsigned int __state; };\n\
         struct list_head { long a; long b; long c; };\n\
         begin { $t = (struct task_prefix *)curtask; \
           printf(\"%d %d %d\\n\", offsetof(struct task_prefix, __state) == offsetof(struct task_struct, __state), \
             $t->__state == curtask->__state, sizeof(struct list_head)); exit(); }",
    );
    outcome.assert_exact(0, "1 1 24\n\n\n", ATTACHED_1);
}
