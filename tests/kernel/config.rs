//! A script's `config = { ... }` block and the `BPFTRACE_<KEY>` environment variables, which
//! win over it.

use super::*;

#[test]
fn print_maps_on_exit_false_prints_no_map() {
    if !kernel_ready() {
        return;
    }
    let program = "config = { print_maps_on_exit = false } begin { @a = 1; exit(); }";
    run_program(program).assert_exact(0, "", ATTACHED_1);
}

#[test]
fn the_environment_wins_over_the_config_block() {
    if !kernel_ready() {
        return;
    }
    let program = "config = { print_maps_on_exit = false } begin { @a = 1; exit(); }";
    run_with_env(&["-e", program], &[("BPFTRACE_PRINT_MAPS_ON_EXIT", "true")]).assert_exact(0, "\n\n@a: 1\n", ATTACHED_1);
    let refused = run_with_env(&["-e", program], &[("BPFTRACE_PRINT_MAPS_ON_EXIT", "maybe")]);
    refused.assert_exact(1, "", "ERROR: BPFTRACE_PRINT_MAPS_ON_EXIT=maybe: `print_maps_on_exit` takes true, false, 1 or 0\n");
}

/// `max_strlen` sizes what `str()` reads, and a read cut there ends with `str_trunc_trailer`
/// (`..` by default), as bpftrace marks it; a shorter explicit size is not marked.
#[test]
fn max_strlen_sizes_the_strings_str_reads() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let body = r#"printf("%s|%s\n", str(args.filename), str(args.filename, 3)); exit();"#;
    let program = format!("config = {{ MAX_STRLEN = 5 }} {}", openat_program(&comm, "", body));
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 1);
    tracer.finish().assert_exact(0, "/etc..|/e\n\n\n", ATTACHED_1);
    let program = format!("config = {{ max_strlen = 5; str_trunc_trailer = \"~\" }} {}", openat_program(&comm, "", body));
    let tracer = Tracer::start(&["-e", &program]);
    comm.open_file("/etc/hostname", 1);
    tracer.finish().assert_exact(0, "/etc~|/e\n\n\n", ATTACHED_1);
}

#[test]
fn max_map_keys_bounds_maps_without_a_declaration() {
    if !kernel_ready() {
        return;
    }
    let program = "config = { max_map_keys = 2 } begin { @m[1] = 1; @m[2] = 2; @m[3] = 3; @c[1] = count(); @c[2] = count(); @c[3] = count(); exit(); }";
    let warnings = "WARNING: map @c is full (2 entries): keys added after it filled were dropped. Raise max_map_keys or declare the map bigger, e.g. `let @c = percpuhash(4);`\n\
                    WARNING: map @m is full (2 entries): keys added after it filled were dropped. Raise max_map_keys or declare the map bigger, e.g. `let @m = hash(4);`\n";
    run(&["-q", "-e", program]).assert_exact(0, "\n\n@c[1]: 1\n@c[2]: 1\n@m[1]: 1\n@m[2]: 2\n", warnings);
}

#[test]
fn missing_probes_warn_skips_what_this_kernel_lacks() {
    if !kernel_ready() {
        return;
    }
    let program = "config = { missing_probes = warn } tracepoint:nope:nothing { } begin { printf(\"ran\\n\"); exit(); }";
    let outcome = run(&["-q", "-e", program]);
    assert_eq!(outcome.stdout, "ran\n\n\n", "{}", outcome.transcript());
    assert!(outcome.stderr.contains("warning[E0204]"), "{}", outcome.transcript());
    let ignored = run(&["-q", "-e", &program.replace("warn", "ignore")]);
    ignored.assert_exact(0, "ran\n\n\n", "");
}

#[test]
fn declared_maps_take_their_kind_and_size() {
    if !kernel_ready() {
        return;
    }
    let program = "let @recent = lruhash(2); let @per_cpu = percpuhash(10); begin { @recent[1] = 1; @recent[2] = 2; @recent[3] = 3; @per_cpu[7] = count(); exit(); }";
    let outcome = run(&["-q", "-e", program]);
    // The least recently used keys made room for the last one; how many an insert evicts
    // depends on the kernel (its LRU lists are per CPU), but never more than the map holds.
    let recent: Vec<&str> = outcome.stdout.lines().filter(|line| line.starts_with("@recent")).collect();
    assert!(recent.contains(&"@recent[3]: 3") && recent.len() <= 2, "{}", outcome.transcript());
    assert!(outcome.stdout.contains("@per_cpu[7]: 1\n"), "{}", outcome.transcript());
    assert_eq!((outcome.status.code(), outcome.stderr.as_str()), (Some(0), ""));
}
