//! The `ferrotrace` binary against the running kernel: real probes, events the test makes
//! itself, and the exact stdout, stderr and exit status (bpftrace 0.26's output, as
//! /work/shared/formats.md describes it). Each test skips with a notice where BPF cannot be
//! used, and fails there when `FERROTRACE_KERNEL_TESTS=require`.
//!
//! Counts stay exact on a busy machine because every probe that sees other processes filters on
//! a `comm` unique to the test (see `support::Comm`).

mod support;

use support::comm::Comm;
use support::gate::kernel_ready;
use support::process::{run, run_with_stdin, Outcome, Tracer};

const ATTACHED_1: &str = "Attached 1 probe\n";

/// Snapshots `outcome` with the program that produced it as the snapshot's description.
macro_rules! assert_transcript {
    ($program:expr, $outcome:expr) => {
        insta::with_settings!({ description => $program, omit_expression => true }, {
            insta::assert_snapshot!($outcome.transcript());
        })
    };
}

/// Runs a program given with `-e` to completion.
fn run_program(program: &str) -> Outcome {
    run(&["-e", program])
}

/// A program on the `openat` calls made under `comm` (and `extra_predicate`), with `body` as the action.
fn openat_program(comm: &Comm, extra_predicate: &str, body: &str) -> String {
    format!("tracepoint:syscalls:sys_enter_openat /comm == \"{}\"{extra_predicate}/ {{ {body} }}", comm.name())
}

/// The kernel's `syscalls` tracepoints whose names start with `prefix`, sorted, read from tracefs
/// (which the binary mounts if needed, so call this after running it).
fn syscall_tracepoints(prefix: &str) -> Vec<String> {
    let syscalls = ["/sys/kernel/tracing/events/syscalls", "/sys/kernel/debug/tracing/events/syscalls"]
        .iter()
        .map(std::path::Path::new)
        .find(|dir| dir.is_dir())
        .expect("tracefs is mounted once ferrotrace has run");
    let mut names: Vec<String> = std::fs::read_dir(syscalls)
        .expect("cannot read the syscalls tracepoints")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort();
    names
}

mod lifecycle {
    use super::*;

    #[test]
    fn printf_and_exit_in_begin() {
        if !kernel_ready() {
            return;
        }
        run_program(r#"begin { printf("hello %s %d\n", "world", 42); exit(); }"#).assert_exact(
            0,
            "hello world 42\n\n\n",
            ATTACHED_1,
        );
    }

    #[test]
    fn exit_code_is_the_exit_status() {
        if !kernel_ready() {
            return;
        }
        run_program("begin { exit(3); }").assert_exact(3, "\n\n", ATTACHED_1);
    }

    #[test]
    fn quiet_drops_the_attached_line() {
        if !kernel_ready() {
            return;
        }
        run(&["-q", "-e", r#"begin { printf("hello %s %d\n", "world", 42); exit(); }"#]).assert_exact(
            0,
            "hello world 42\n\n\n",
            "",
        );
    }

    #[test]
    fn begin_only_script_ends_after_begin() {
        if !kernel_ready() {
            return;
        }
        run_program("begin { @x = 7; }").assert_exact(0, "\n\n@x: 7\n", ATTACHED_1);
    }

    #[test]
    fn end_runs_after_exit_and_before_the_maps() {
        if !kernel_ready() {
            return;
        }
        let program = r#"begin { printf("begin\n"); @n = 1; exit(); } end { printf("end %d\n", @n); }"#;
        run_program(program).assert_exact(0, "begin\nend 1\n\n\n@n: 1\n", "Attached 2 probes\n");
    }

    #[test]
    fn printf_conversions_and_widths() {
        if !kernel_ready() {
            return;
        }
        let program = r#"begin { printf("%5d|%-5s|%x|%s|%u|%%|%05d\n", 42, "ab", 255, "end", 7, -3); }"#;
        run(&["-q", "-e", program]).assert_exact(0, "   42|ab   |ff|end|7|%|-0003\n\n\n", "");
    }

    #[test]
    fn dry_run_attaches_and_prints_nothing_else() {
        if !kernel_ready() {
            return;
        }
        run(&["--dry-run", "-e", r#"begin { printf("not run\n"); @x = 1; }"#]).assert_exact(0, "", ATTACHED_1);
        let comm = Comm::unique();
        let program = openat_program(&comm, "", "@ = count();");
        run(&["--dry-run", "-e", &program]).assert_exact(0, "", ATTACHED_1);
    }
}

mod inputs {
    use super::*;

    #[test]
    fn script_file_with_shebang_and_comments() {
        if !kernel_ready() {
            return;
        }
        let path = std::env::temp_dir().join(format!("ferrotrace-kernel-{}-hello.bt", std::process::id()));
        let source =
            "#!/usr/bin/env ferrotrace\n// a comment\nbegin {\n  /* another */\n  printf(\"from a file\\n\");\n}\n";
        std::fs::write(&path, source).expect("cannot write the script");
        let outcome = run(&[path.to_str().expect("temp paths are UTF-8")]);
        let _ = std::fs::remove_file(&path);
        outcome.assert_exact(0, "from a file\n\n\n", ATTACHED_1);
    }

    #[test]
    fn script_from_stdin() {
        if !kernel_ready() {
            return;
        }
        run_with_stdin(&["-"], "begin { printf(\"from stdin\\n\"); exit(); }\n").assert_exact(
            0,
            "from stdin\n\n\n",
            ATTACHED_1,
        );
    }
}

mod aggregations {
    use super::*;

    #[test]
    fn hist_as_in_formats_md() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @ = hist(-1); @ = hist(2); @ = hist(3); @ = hist(7); @ = hist(20); }";
        assert_transcript!(program, run_program(program));
    }

    #[test]
    fn hist_labels_use_powers_of_1024_and_keys_order_by_total() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @h[1] = hist(600); @h[1] = hist(1500); @h[1] = hist(1500); \
                       @h[2] = hist(1048576); @h[0] = hist(0); @h[0] = hist(1); @h[0] = hist(1); @h[0] = hist(1); }";
        assert_transcript!(program, run_program(program));
    }

    #[test]
    fn hist_with_sub_buckets() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @h = hist(5, 2); @h = hist(6, 2); @h = hist(6, 2); @h = hist(12, 2); }";
        assert_transcript!(program, run_program(program));
    }

    #[test]
    fn lhist_as_in_formats_md() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @ = lhist(-1, 0, 10, 2); @ = lhist(2, 0, 10, 2); @ = lhist(3, 0, 10, 2); \
                       @ = lhist(7, 0, 10, 2); @ = lhist(20, 0, 10, 2); }";
        assert_transcript!(program, run_program(program));
    }

    #[test]
    fn lhist_labels_in_k_when_the_step_is_a_multiple_of_1024() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @l = lhist(1024, 0, 8192, 2048); @l = lhist(5000, 0, 8192, 2048); @l = lhist(9000, 0, 8192, 2048); }";
        assert_transcript!(program, run_program(program));
    }

    #[test]
    fn scalar_aggregations() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @s = stats(1); @s = stats(2); @s = stats(3); @a = avg(2); @a = avg(5); \
                       @mn = min(5); @mn = min(-3); @mx = max(5); @mx = max(9); @su = sum(4); @su = sum(-10); \
                       @c = count(); @c = count(); }";
        let expected = "\n\n@a: 3\n@c: 2\n@mn: -3\n@mx: 9\n@s: { .count = 3, .average = 2, .total = 6 }\n@su: -6\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }

    #[test]
    fn keyed_avg_and_stats_order_by_average() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @a[1] = avg(10); @a[2] = avg(2); @a[2] = avg(4); \
                       @s[1] = stats(100); @s[2] = stats(1); @s[2] = stats(5); }";
        let expected = "\n\n@a[2]: 3\n@a[1]: 10\n\
                        @s[2]: { .count = 2, .average = 3, .total = 6 }\n\
                        @s[1]: { .count = 1, .average = 100, .total = 100 }\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }

    #[test]
    fn keyed_sum_and_count_order_by_signed_value() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @s[1] = sum(-4); @s[2] = sum(2); @s[3] = sum(-9); \
                       @c[7] = count(); @c[7] = count(); @c[8] = count(); @c[8] = count(); @c[8] = count(); @c[9] = count(); }";
        let expected = "\n\n@c[9]: 1\n@c[7]: 2\n@c[8]: 3\n@s[3]: -9\n@s[1]: -4\n@s[2]: 2\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }

    /// min() and max() are signed: a negative value sorts first.
    #[test]
    fn keyed_min_and_max_order_by_signed_value() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @n[1] = min(7); @n[2] = min(-7); @n[3] = min(0); \
                       @x[1] = max(3); @x[2] = max(1); @x[3] = max(-2); }";
        let expected = "\n\n@n[2]: -7\n@n[3]: 0\n@n[1]: 7\n@x[3]: -2\n@x[2]: 1\n@x[1]: 3\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }
}

mod maps {
    use super::*;

    #[test]
    fn int_values_order_by_value_and_maps_by_name() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @zz = 1; @[3] = 30; @[1] = 10; @[2] = 20; @v[1] = -1; @v[2] = -5; @v[3] = 0; \
                       @aa = 2; @b = true; }";
        let expected = "\n\n@[1]: 10\n@[2]: 20\n@[3]: 30\n@aa: 2\n@b: true\n\
                        @v[2]: -5\n@v[1]: -1\n@v[3]: 0\n@zz: 1\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }

    #[test]
    fn tuple_keys_lose_their_outer_parentheses_only() {
        if !kernel_ready() {
            return;
        }
        let program = r#"begin { @t["hi", 1] = 1; @t["hi", 2] = 5; @t["abc", 3] = 2; @n[(1, "hi"), 2] = 1; }"#;
        let expected = "\n\n@n[(1, hi), 2]: 1\n@t[hi, 1]: 1\n@t[abc, 3]: 2\n@t[hi, 2]: 5\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }

    #[test]
    fn tuple_and_string_values_order_by_key() {
        if !kernel_ready() {
            return;
        }
        let program = r#"begin { @u[2] = (0, "yyy"); @u[1] = (1, "xxx"); @s[2] = "abc"; @s[1] = "zzz"; @v = "str"; }"#;
        let expected = "\n\n@s[1]: zzz\n@s[2]: abc\n@u[1]: (1, xxx)\n@u[2]: (0, yyy)\n@v: str\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }

    /// String literals of any length as keys and values, and `print` of a short string.
    #[test]
    fn short_string_literals_as_keys_and_values() {
        if !kernel_ready() {
            return;
        }
        let program =
            r#"begin { @k["b"] = 1; @k["a"] = 5; @k["cc"] = 3; @s["k1"] = "v1"; @s["k0"] = "v"; print("s"); }"#;
        let expected = "s\n\n\n@k[b]: 1\n@k[cc]: 3\n@k[a]: 5\n@s[k0]: v\n@s[k1]: v1\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }

    #[test]
    fn comm_as_a_key_in_begin() {
        if !kernel_ready() {
            return;
        }
        run_program("begin { @[comm] = count(); }").assert_exact(0, "\n\n@[ferrotrace]: 1\n", ATTACHED_1);
    }

    #[test]
    fn print_map_top_and_div_and_values() {
        if !kernel_ready() {
            return;
        }
        let program = r#"begin { @[1] = 10; @[2] = 30; @[3] = 20; print(@); print(@, 2); print(@, 2, 10); print(5); print((1, "ab")); print("sss"); }"#;
        let expected = "@[1]: 10\n@[3]: 20\n@[2]: 30\n\
                        @[3]: 20\n@[2]: 30\n\
                        @[3]: 2\n@[2]: 3\n\
                        5\n(1, ab)\nsss\n\
                        \n\n@[1]: 10\n@[3]: 20\n@[2]: 30\n";
        run_program(program).assert_exact(0, expected, ATTACHED_1);
    }

    #[test]
    fn print_hist_map() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @h = hist(5); @h = hist(9); print(@h); clear(@h); }";
        assert_transcript!(program, run_program(program));
    }

    #[test]
    fn clear_zero_and_delete() {
        if !kernel_ready() {
            return;
        }
        let program = "begin { @a = 1; @b[1] = 2; @c = 3; @e[1] = count(); @e[2] = count(); \
                       clear(@a); zero(@c); delete(@b[1]); @d[1] = 1; @d[2] = 2; delete(@d, 1); zero(@e); }";
        run_program(program).assert_exact(0, "\n\n@c: 0\n@d[2]: 2\n@e[1]: 0\n@e[2]: 0\n", ATTACHED_1);
    }

    #[test]
    fn print_after_clear_and_zero() {
        if !kernel_ready() {
            return;
        }
        let program =
            "begin { @x = count(); @x = count(); print(@x); zero(@x); print(@x); @y[1] = 5; clear(@y); print(@y); }";
        run_program(program).assert_exact(0, "@x: 2\n@x: 0\n\n\n@x: 0\n", ATTACHED_1);
    }
}

mod tracepoints {
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
}

/// Wide `syscalls:` wildcards run as one program on `raw_syscalls` that looks the syscall number
/// up (`sema::dispatch`); these pin that it reports exactly what the tracepoints themselves do.
mod syscall_dispatch {
    use super::*;
    use support::syscalls::{run_as, Abi};

    const CLOSE_BAD_FD: (u32, u32) = (3, u32::MAX);

    #[test]
    fn every_enter_and_exit_tracepoint_counts_exactly_the_syscalls_made() {
        if !kernel_ready() {
            return;
        }
        let comm = Comm::unique();
        let program = format!(
            "tracepoint:syscalls:sys_enter_*, tracepoint:syscalls:sys_exit_* /comm == \"{}\"/ {{ @[probe] = count(); }}",
            comm.name()
        );
        let tracer = Tracer::start(&["-e", &program]);
        // getppid x3, getpid x2, close(-1), then exit_group: the executable's only syscalls.
        run_as(&comm, Abi::X86_64, &[(110, 0), (110, 0), (110, 0), (39, 0), (39, 0), CLOSE_BAD_FD]);
        let attached = syscall_tracepoints("sys_enter_").len() + syscall_tracepoints("sys_exit_").len();
        tracer.stop(libc::SIGINT).assert_exact(
            0,
            "\n\n@[tracepoint:syscalls:sys_enter_close]: 1\n\
             @[tracepoint:syscalls:sys_enter_exit_group]: 1\n\
             @[tracepoint:syscalls:sys_exit_close]: 1\n\
             @[tracepoint:syscalls:sys_exit_execve]: 1\n\
             @[tracepoint:syscalls:sys_enter_getpid]: 2\n\
             @[tracepoint:syscalls:sys_exit_getpid]: 2\n\
             @[tracepoint:syscalls:sys_enter_getppid]: 3\n\
             @[tracepoint:syscalls:sys_exit_getppid]: 3\n",
            &format!("Attached {attached} probes\n"),
        );
    }

    #[test]
    fn compat_syscalls_are_not_reported_under_the_native_numbers() {
        if !kernel_ready() {
            return;
        }
        let comm = Comm::unique();
        let name = comm.name();
        // The i386 numbers of getppid, getpid, close and exit are x86-64's semget, writev,
        // newlstat and write: `raw_syscalls` sees them, no `syscalls:` tracepoint does, and
        // the few listed in @direct are attached one by one, as the kernel filters them.
        let program = format!(
            "tracepoint:raw_syscalls:sys_enter /comm == \"{name}\"/ {{ @raw[args.id] = count(); }}
             tracepoint:syscalls:sys_enter_* /comm == \"{name}\"/ {{ @dispatched[probe] = count(); }}
             tracepoint:syscalls:sys_enter_semget, tracepoint:syscalls:sys_enter_writev,
             tracepoint:syscalls:sys_enter_newlstat, tracepoint:syscalls:sys_enter_write
             /comm == \"{name}\"/ {{ @direct[probe] = count(); }}"
        );
        let tracer = Tracer::start(&["-e", &program]);
        run_as(&comm, Abi::I386, &[(64, 0), (64, 0), (64, 0), (20, 0), (20, 0), (6, u32::MAX)]);
        let attached = 1 + syscall_tracepoints("sys_enter_").len() + 4;
        tracer.stop(libc::SIGINT).assert_exact(
            0,
            "\n\n@raw[1]: 1\n@raw[6]: 1\n@raw[20]: 2\n@raw[64]: 3\n",
            &format!("Attached {attached} probes\n"),
        );
    }
}

mod listing {
    use super::*;

    #[test]
    fn list_matches_the_kernels_tracepoints() {
        if !kernel_ready() {
            return;
        }
        let outcome = run(&["-l", "tracepoint:syscalls:sys_enter_open*"]);
        let names = syscall_tracepoints("sys_enter_open");
        assert!(names.iter().any(|name| name == "sys_enter_openat"), "{names:?}");
        let expected: String = names.iter().map(|name| format!("tracepoint:syscalls:{name}\n")).collect();
        outcome.assert_exact(0, &expected, "");
    }

    #[test]
    fn list_without_wildcards_matches_substrings() {
        if !kernel_ready() {
            return;
        }
        run(&["-l", "sys_enter_openat2"]).assert_exact(0, "tracepoint:syscalls:sys_enter_openat2\n", "");
    }
}
