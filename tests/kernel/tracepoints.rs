//! Tracepoints firing on events the test makes: filters, keys, printf, signals and lost records;
//! and the timers, `interval` and `profile`.

use super::*;

#[test]
fn count_per_comm_of_a_process_until_sigint() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = openat_program(&comm, r#" && str(args.filename) == "/etc/hostname""#, "@[comm] = count();");
    let tracer = Tracer::start(&["-e", &program]);
    comm.sh(": < /etc/hostname; : < /etc/hostname; : < /etc/hostname");
    let expected = format!("\n\n@[{}]: 3\n", comm.name());
    tracer.stop(libc::SIGINT).assert_exact(0, &expected, ATTACHED_1);
}

/// Three processes of one name are one key: `comm` is zero-padded after its NUL on every
/// kernel, though Linux 6.1's `bpf_get_current_comm` leaves those bytes as the stack had them
/// (there, each process's garbage made a key of its own).
#[test]
fn one_key_per_comm_across_processes() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let path = std::env::temp_dir().join(format!("ferrotrace-comm-key-{}", comm.name()));
    std::fs::write(&path, "").expect("cannot create the file to open");
    let path = path.to_str().expect("temp paths are UTF-8").to_string();
    let program = format!("tracepoint:syscalls:sys_enter_openat /str(args.filename) == \"{path}\"/ {{ @[comm] = count(); }}");
    let tracer = Tracer::start(&["-e", &program]);
    for _ in 0..3 {
        comm.sh(&format!(": < {path}"));
    }
    let outcome = tracer.stop(libc::SIGINT);
    let _ = std::fs::remove_file(&path);
    outcome.assert_exact(0, &format!("\n\n@[{}]: 3\n", comm.name()), ATTACHED_1);
}

#[test]
fn filename_as_key_ordered_by_count() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = openat_program(&comm, "", "@[str(args.filename)] = count();");
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 3);
    comm.open_file("/etc/passwd", 2);
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@[/etc/passwd]: 2\n@[/etc/hostname]: 3\n", ATTACHED_1);
}

#[test]
fn string_inequality_in_a_predicate() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = openat_program(&comm, r#" && str(args.filename) != "/etc/hostname""#, "@ = count();");
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 3);
    comm.open_file("/etc/passwd", 2);
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@: 2\n", ATTACHED_1);
}

#[test]
fn printf_per_event_then_exit_from_the_probe() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = openat_program(&comm, "", r#"printf("%s opened %s\n", comm, str(args.filename)); exit(4);"#);
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 1);
    let expected = format!("{} opened /etc/hostname\n\n\n", comm.name());
    tracer.finish().assert_exact(4, &expected, ATTACHED_1);
}

#[test]
fn sigterm_runs_end_and_prints_the_maps() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = openat_program(&comm, "", "@opens = count();") + r#" end { printf("end\n"); }"#;
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 2);
    tracer.stop(libc::SIGTERM).assert_exact(0, "end\n\n\n@opens: 2\n", "Attached 2 probes\n");
}

#[test]
fn sigint_with_no_events_prints_empty_maps_as_nothing() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = openat_program(&comm, "", "@[comm] = count();");
    Tracer::start(&["-e", &program]).stop(libc::SIGINT).assert_exact(0, "\n\n", ATTACHED_1);
}

#[test]
fn wildcard_probe_attaches_each_match_and_names_it() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program =
        format!("tracepoint:syscalls:sys_enter_open* /comm == \"{}\"/ {{ @[probe] = count(); }}", comm.name());
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 3);
    let attached = format!("Attached {} probes\n", syscall_tracepoints("sys_enter_open").len());
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@[tracepoint:syscalls:sys_enter_openat]: 3\n", &attached);
}

#[test]
fn records_the_ring_buffer_had_no_room_for_are_reported_lost() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    // Each record carries a 1,024-byte path, so about a thousand fill the 1 MiB ring buffer
    // while the tracer is stopped and cannot read it.
    let opens = 3000;
    let program = openat_program(&comm, "", "printf(\"%s\\n\", str(args.filename));");
    let tracer = Tracer::start(&["-e", &program]);
    tracer.signal(libc::SIGSTOP);
    comm.open_file("/etc/hostname", opens);
    tracer.signal(libc::SIGCONT);
    let outcome = tracer.stop(libc::SIGINT);
    let delivered = outcome.stdout.lines().filter(|line| *line == "/etc/hostname").count();
    let reported: Vec<usize> = outcome
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("Lost ")?.strip_suffix(" events")?.parse().ok())
        .collect();
    let lost: usize = reported.iter().sum();
    assert!(delivered > 0 && lost > 0, "{}", outcome.transcript());
    assert_eq!(delivered + lost, opens, "every record is delivered or counted lost:\n{}", outcome.transcript());
    assert!(
        outcome.stderr.ends_with(&format!("WARNING: Total lost event count: {lost}\n")),
        "{}",
        outcome.transcript()
    );
}

#[test]
fn tracepoints_sharing_a_program_name_the_one_that_fired() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_close /comm == \"{}\"/ {{ @[probe] = count(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 3);
    comm.try_open_missing_file();
    tracer.stop(libc::SIGINT).assert_exact(
        0,
        "\n\n@[tracepoint:syscalls:sys_enter_close]: 3\n@[tracepoint:syscalls:sys_enter_openat]: 4\n",
        "Attached 2 probes\n",
    );
}

#[test]
fn signed_return_value_compared_as_a_bool_key() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "tracepoint:syscalls:sys_exit_openat /comm == \"{}\"/ {{ @[args.ret < 0] = count(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 2);
    comm.try_open_missing_file();
    tracer.stop(libc::SIGINT).assert_exact(0, "\n\n@[true]: 1\n@[false]: 2\n", ATTACHED_1);
}

#[test]
fn interval_fires_until_exit() {
    if !kernel_ready() {
        return;
    }
    let program = r#"interval:ms:10 /@x < 5/ { @x++; if (@x == 5) { printf("five\n"); exit(); } }"#;
    run_program(program).assert_exact(0, "five\n\n\n@x: 5\n", ATTACHED_1);
}

/// A count without a unit is nanoseconds, for `interval` and `profile` alike.
#[test]
fn timers_with_a_bare_count_are_nanoseconds() {
    if !kernel_ready() {
        return;
    }
    let program = "profile:1000000 { @[probe] = 1; } interval:10000000 /@n < 3/ { @n++; if (@n == 3) { exit(); } }";
    run_program(program).assert_exact(0, "\n\n@[profile:ns:1000000]: 1\n@n: 3\n", "Attached 2 probes\n");
}

/// A profile probe samples every CPU; whichever CPU it sampled, it sets the same key.
#[test]
fn profile_fires_until_interval_exits() {
    if !kernel_ready() {
        return;
    }
    let program = "profile:hz:997 { @[probe] = 1; } interval:ms:300 { exit(); }";
    run_program(program).assert_exact(0, "\n\n@[profile:hz:997]: 1\n", "Attached 2 probes\n");
}

#[test]
fn integer_array_fields_read_as_arrays_that_ntop_prints() {
    if !kernel_ready() {
        return;
    }
    // A connect to a closed port of this machine: the socket goes from CLOSE to SYN_SENT.
    let port = 40000 + (std::process::id() % 20000) as u16;
    // Its connect(2), from this thread, is a `raw_syscalls` record with the address's length,
    // 16, third of its arguments.
    let script = format!(
        "tracepoint:raw_syscalls:sys_enter /tid == {} && args.id == {}/ {{ printf(\"connect %d\\n\", args.args[2]); }} \
         tracepoint:sock:inet_sock_set_state /args.dport == {port} && args.newstate == 2/ {{ printf(\"%s %s %d\\n\", ntop(args.daddr), ntop(args.daddr_v6), sizeof(args.daddr)); print(args.daddr); exit(); }}",
        // SAFETY: gettid cannot fail and touches no memory.
        unsafe { libc::gettid() },
        libc::SYS_connect
    );
    let tracer = Tracer::start(&["-e", &script]);
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    tracer.finish().assert_exact(0, "connect 16\n127.0.0.1 ::ffff:127.0.0.1 4\n[127,0,0,1]\n\n\n", "Attached 2 probes\n");
}
