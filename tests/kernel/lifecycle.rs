//! A script's life: begin, exit codes, end, `-q` and `--dry-run`.

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

/// More probes than `BPFTRACE_MAX_PROBES` allows: refused before `begin` runs.
#[test]
fn probe_limit_is_checked_before_begin_runs() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { printf("begun\n"); } tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_close { }"#;
    run_with_env(&["-e", program], &[("BPFTRACE_MAX_PROBES", "2")]).assert_exact(
        1,
        "",
        "ERROR: the script attaches 3 probes, more than the 2 BPFTRACE_MAX_PROBES allows\n",
    );
}

#[test]
fn probe_limit_that_is_not_a_number_is_refused() {
    if !kernel_ready() {
        return;
    }
    run_with_env(&["-e", "begin { exit(); }"], &[("BPFTRACE_MAX_PROBES", "lots")]).assert_exact(
        1,
        "",
        "ERROR: BPFTRACE_MAX_PROBES=lots: `max_probes` takes a number, not `lots`\n",
    );
}

#[test]
fn macros_expand_hygienically() {
    if !kernel_ready() {
        return;
    }
    run(&["-q", "-e", r#"macro add1($x) { $x + 1 } begin { printf("%d\n", add1(41)); exit(); }"#]).assert_exact(0, "42\n\n\n", "");
    let program = r#"
        macro one() { 1 }
        macro add_one(x) { x + 1 }
        macro bump($a, @b) { $a += 1; @b += 1; }
        macro thrice(x) { x; x; x; }
        macro twice_plus_one(x) { add_one(x * 2) }
        macro local() { $a = 100; $a }
        begin {
            $a = 10; @b = 5;
            bump($a, @b);
            thrice({ printf("hi") });
            printf("\n%d %d %d %d %d %d %d\n", one, one(), add_one($a), add_one(1 + 1), twice_plus_one(3), local(), $a);
            exit();
        }"#;
    run(&["-q", "-e", program]).assert_exact(0, "hihihi\n1 1 12 3 7 100 11\n\n\n@b: 6\n", "");
}

#[test]
fn block_expressions_have_the_value_of_their_last_expression() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { $x = { let $b = 2; $b * 21 }; printf("%d\n", $x); exit(); }"#;
    run(&["-q", "-e", program]).assert_exact(0, "42\n\n\n", "");
}

#[test]
fn elvis_if_expressions_discards_and_typed_variables() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $a = 0; $b = 5;
        printf("%d %d\n", $a ?: 7, $b ?: 7);
        $x = if ($b > 9) { 10 } else if ($b > 1) { 20 } else { 30 };
        _ = $x + 1;
        let $u: uint8 = 250;
        $u = $u + 10;
        let $z;
        if ($b > 1) { let $scoped = 1; $z = $scoped + 1; } else { let $scoped = 2; $z = $scoped; }
        printf("%d %d %d\n", $x, $u, $z);
        exit();
    }"#;
    run(&["-q", "-e", program]).assert_exact(0, "7 5\n20 4 2\n\n\n", "");
}

/// Every example, and the corpus script of the whole language (loops, macros, callbacks),
/// passes this kernel's verifier and attaches.
#[test]
fn examples_and_the_language_corpus_load_and_attach() {
    if !kernel_ready() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut scripts: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("examples"))
        .expect("examples exist")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "bt"))
        .collect();
    scripts.push(root.join("tests/corpus/language.bt"));
    for script in scripts {
        let outcome = run(&["--dry-run", script.to_str().expect("paths are UTF-8")]);
        assert_eq!(outcome.status.code(), Some(0), "{}:\n{}", script.display(), outcome.transcript());
        assert!(outcome.stderr.starts_with("Attached "), "{}:\n{}", script.display(), outcome.transcript());
    }
}

/// `self:signal:SIGUSR1` runs each time ferrotrace receives the signal; other probes go on.
#[test]
fn self_signal_probes_run_on_each_signal() {
    if !kernel_ready() {
        return;
    }
    let program = "self:signal:SIGUSR1 { @n = count(); printf(\"signal %d\\n\", (uint64)@n); if (@n == 2) { exit(); } }";
    let tracer = Tracer::start(&["-e", program]);
    tracer.signal(libc::SIGUSR1);
    std::thread::sleep(std::time::Duration::from_millis(100));
    tracer.signal(libc::SIGUSR1);
    tracer.finish().assert_exact(0, "signal 1\nsignal 2\n\n\n@n: 2\n", ATTACHED_1);
}

#[test]
fn a_reader_that_goes_away_stops_the_script_quietly() {
    if !kernel_ready() {
        return;
    }
    let mut child = crate::support::process::ferrotrace(&["-e", "interval:ms:1 { printf(\"tick\\n\"); }"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ferrotrace starts");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).expect("a line");
    // `| head -1`: the reader takes one line and closes the pipe.
    drop(stdout);
    let until = std::time::Instant::now() + crate::support::process::deadline();
    while child.try_wait().expect("ferrotrace can be waited for").is_none() {
        if std::time::Instant::now() > until {
            let _ = child.kill();
            panic!("ferrotrace kept running after its reader went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("ferrotrace ends");
    assert_eq!(first, "tick\n");
    assert_eq!((output.status.code(), String::from_utf8_lossy(&output.stderr).as_ref()), (Some(0), ATTACHED_1));
}
