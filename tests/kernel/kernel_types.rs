//! Kernel types from BTF: members read through `curtask` and typed tracepoint pointers, user
//! memory through a syscall's struct pointer, bitfields, enum constants, `sizeof` and
//! `offsetof` of kernel structs, and what the kernel's types refuse.

use super::*;

/// `curtask` is the `struct task_struct *` of the task the probe fires in; its members and its
/// parent's are read through pointers.
#[test]
fn members_of_the_current_task_and_its_parent() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:syscalls:sys_enter_openat /curtask->comm == \"{}\" && str(args.filename) == \"/etc/hostname\"/ {{ \
           printf(\"%s %d %d %d\\n\", curtask->comm, curtask->real_parent->tgid, curtask.tgid == pid, curtask->group_leader->pid == pid); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.sh(": < /etc/hostname");
    let expected = format!("{} {} 1 1\n\n\n", comm.name(), std::process::id());
    tracer.finish().assert_exact(0, &expected, ATTACHED_1);
}

/// A syscall's `struct __kernel_timespec *` argument, typed from its format file's C type,
/// points into the caller's memory: its members are read from there.
#[test]
fn members_of_a_user_struct_a_syscall_points_to() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:syscalls:sys_enter_clock_nanosleep, tracepoint:syscalls:sys_enter_nanosleep /comm == \"{}\"/ {{ \
           printf(\"%d %d\\n\", args.rqtp->tv_sec, args.rqtp.tv_nsec); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.run(|| std::thread::sleep(std::time::Duration::new(0, 12_345)));
    tracer.finish().assert_exact(0, "0 12345\n\n\n", "Attached 2 probes\n");
}

/// Bitfields of `struct perf_event_attr` (a uapi struct: the same on every kernel), read from
/// the attributes a `perf_event_open` call passes.
#[test]
fn bitfields_of_a_user_struct() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:syscalls:sys_enter_perf_event_open /comm == \"{}\"/ {{ $a = args.attr_uptr; \
           printf(\"%d %d %d %d %d\\n\", $a->type, $a->disabled, $a->inherit, $a->exclude_kernel, $a->sample_id_all); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.run(open_a_disabled_software_event);
    tracer.finish().assert_exact(0, "1 1 0 1 0\n\n\n", ATTACHED_1);
}

/// Enum constants, sizes and offsets that every kernel's types agree on.
#[test]
fn enum_constants_sizes_and_offsets() {
    let outcome = run_program(
        "begin { printf(\"%d %d %d %d %d\\n\", PIDTYPE_TGID, BPF_MAP_TYPE_HASH, sizeof(struct list_head), \
           offsetof(struct list_head, prev), sizeof(curtask->comm)); exit(); }",
    );
    if !kernel_ready() {
        return;
    }
    outcome.assert_exact(0, "1 1 16 8 16\n\n\n", ATTACHED_1);
}

/// A value of a kernel enum prints as its constant's name (`%s`, `print`, map keys and values,
/// tuples) and computes as its number (`%d`, arithmetic); a value no constant has prints as
/// its number. JSON gives enums as numbers.
#[test]
fn enum_values_print_by_name() {
    let program = "begin { $e = PIDTYPE_PGID; printf(\"%s %d %s\\n\", PIDTYPE_TGID, PIDTYPE_TGID, (enum pid_type)9); \
                   print(($e, $e + 1)); @[PIDTYPE_SID, 1] = 1; @v = (enum pid_type)0; exit(); }";
    let text = run_program(program);
    let json = run(&["-f", "json", "-e", program]);
    if !kernel_ready() {
        return;
    }
    text.assert_exact(0, "PIDTYPE_TGID 1 9\n(PIDTYPE_PGID, 3)\n\n\n@[PIDTYPE_SID, 1]: 1\n@v: PIDTYPE_PID\n", ATTACHED_1);
    let expected = concat!(
        "{\"type\": \"attached_probes\", \"data\": {\"probes\": 1}}\n",
        "{\"type\": \"printf\", \"data\": \"PIDTYPE_TGID 1 9\\n\"}\n",
        "{\"type\": \"value\", \"data\": [2, 3]}\n",
        "{\"type\": \"map\", \"data\": {\"@\": {\"3,1\": 1}}}\n",
        "{\"type\": \"map\", \"data\": {\"@v\": 0}}\n",
    );
    json.assert_exact(0, expected, "");
}

/// A tracepoint field of an enum type (`enum hrtimer_mode mode` of `timer:hrtimer_start`) is
/// typed from the kernel's enum: a relative sleep arms its timer `HRTIMER_MODE_REL`. (Timers
/// an interrupt re-arms while the thread runs have its comm too: the predicate keeps the
/// relative ones.)
#[test]
fn an_enum_tracepoint_field_prints_by_name() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:timer:hrtimer_start /comm == \"{}\" && args.mode == HRTIMER_MODE_REL/ {{ printf(\"%s %d\\n\", args.mode, args.mode); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.run(|| std::thread::sleep(std::time::Duration::from_millis(1)));
    tracer.finish().assert_exact(0, "HRTIMER_MODE_REL 1\n\n\n", ATTACHED_1);
}

/// `container_of` steps back from a member's address to its struct: from the address of
/// `curtask`'s `sibling` list node (an integer, then a `struct list_head *`) back to `curtask`.
#[test]
fn container_of_steps_back_to_the_struct() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:syscalls:sys_enter_openat /comm == \"{}\" && str(args.filename) == \"/etc/hostname\"/ {{ \
           $node = (uint64)curtask + offsetof(struct task_struct, sibling); \
           $task = container_of($node, struct task_struct, sibling); \
           $same = container_of((struct list_head *)$node, struct task_struct, sibling.next); \
           printf(\"%d %d %s\\n\", $task == curtask, $task->pid == tid, $same->comm); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.sh(": < /etc/hostname");
    tracer.finish().assert_exact(0, &format!("1 1 {}\n\n\n", comm.name()), ATTACHED_1);
}

/// Casts make an integer a typed pointer; `p[i]` and `p + i` move by whole elements.
#[test]
fn casts_indexes_and_pointer_arithmetic() {
    if !kernel_ready() {
        return;
    }
    let outcome = run_program(
        "begin { $t = (struct task_struct *)curtask; $w = (uint64 *)$t; \
           printf(\"%d %d %d\\n\", $t->pid == tid, $w[1] == *($w + 1), *((uint8 *)$w + 8) == ($w[1] & 0xff)); exit(); }",
    );
    outcome.assert_exact(0, "1 1 1\n\n\n", ATTACHED_1);
}

/// An IPv6 address in a `u8[16]` array of a user struct, printed by `ntop` with the family
/// the struct holds; `AF_INET6` comes from the network headers a script includes.
#[test]
fn ntop_of_an_address_array_read_from_a_syscall_argument() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "#include <net/sock.h>\ntracepoint:syscalls:sys_enter_connect /comm == \"{}\"/ {{ $a = (struct sockaddr_in6 *)args.uservaddr; \
           printf(\"%d %s %s\\n\", $a->sin6_family == AF_INET6, ntop($a->sin6_family, $a->sin6_addr.in6_u.u6_addr8), ntop(AF_INET, 0x0100007f)); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.run(|| {
        let _ = std::net::TcpStream::connect_timeout(&"[::1]:9".parse().expect("an address"), std::time::Duration::from_millis(200));
    });
    tracer.finish().assert_exact(0, "1 ::1 127.0.0.1\n\n\n", ATTACHED_1);
}

/// A struct read whole is a record of its members, printed as bpftrace prints structs; so is
/// `args`, a tracepoint's fields.
#[test]
fn structs_and_args_read_whole_print_as_records() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:syscalls:sys_enter_clock_nanosleep, tracepoint:syscalls:sys_enter_nanosleep /comm == \"{name}\"/ {{ \
           print(*args.rqtp); $t = *args.rqtp; print($t.tv_nsec); }} \
         tracepoint:syscalls:sys_enter_getppid /comm == \"{name}\"/ {{ print(args); exit(); }}",
        name = comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.run(|| {
        std::thread::sleep(std::time::Duration::new(0, 12_345));
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::getppid() };
    });
    let expected = "{ .tv_sec = 0, .tv_nsec = 12345 }\n12345\n{ .__syscall_nr = 110 }\n\n\n";
    tracer.finish().assert_exact(0, expected, "Attached 3 probes\n");
}

/// An integer cast to an array of its bytes and back, as bpftrace's documentation shows.
#[test]
fn integers_cast_to_arrays_and_back() {
    if !kernel_ready() {
        return;
    }
    run_program("begin { $a = (int8[8])12345; printf(\"%x %x\\n\", $a[0], $a[1]); printf(\"%d\\n\", (uint64)$a); print($a); exit(); }")
        .assert_exact(0, "39 30\n12345\n[57,48,0,0,0,0,0,0]\n\n\n", ATTACHED_1);
}

/// `(string[N])p` reads the string a pointer points at into N bytes, as `str(p, N)` would.
#[test]
fn a_pointer_cast_to_a_string_reads_it() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = openat_program(&comm, "", "printf(\"%s %s\\n\", (string[5])args.filename, (string[64])args.filename); exit();");
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 1);
    tracer.finish().assert_exact(0, "/etc /etc/hostname\n\n\n", ATTACHED_1);
}

/// `(uint8[])x` sizes the array from the value cast.
#[test]
fn an_array_cast_without_a_size_takes_the_values() {
    if !kernel_ready() {
        return;
    }
    run_program("begin { print((uint8[])(uint32)0x01020304); print((uint16[])(uint64)0x0004000300020001); exit(); }")
        .assert_exact(0, "[4,3,2,1]\n[1,2,3,4]\n\n\n", ATTACHED_1);
}
