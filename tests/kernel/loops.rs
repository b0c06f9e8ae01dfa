//! Loops: `for` over ranges and maps, `while`, `unroll`, and `break`, `continue` and `return`
//! inside them, each body running as a kernel callback.

use super::*;
use support::syscalls::{run_exiting, Abi};

#[test]
fn range_runs_from_start_up_to_end() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { for ($i : 0..5) { printf("%d ", $i); } printf("\n"); exit(); }"#;
    run_program(program).assert_exact(0, "0 1 2 3 4 \n\n\n", ATTACHED_1);
}

#[test]
fn range_bounds_are_evaluated_once_and_may_be_negative() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $end = 3;
        for ($i : (-2)..$end) { $end = 0; printf("%d ", $i); }
        for ($i : 5..5) { printf("never "); }
        for ($i : 4..1) { printf("never "); }
        printf("end %d\n", $end);
        exit();
    }"#;
    run_program(program).assert_exact(0, "-2 -1 0 1 2 end 0\n\n\n", ATTACHED_1);
}

#[test]
fn break_continue_and_return_leave_the_loop_and_the_probe() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        for ($i : 0..10) {
            if ($i == 2) { continue; }
            if ($i == 5) { break; }
            printf("%d ", $i);
        }
        printf("| ");
        for ($i : 0..10) {
            for ($j : 0..10) {
                if ($j == 1) { break; }
                if ($i == 3) { return; }
                printf("%d%d ", $i, $j);
            }
        }
        printf("never\n");
    }"#;
    run(&["-q", "-e", program]).assert_exact(0, "0 1 3 4 | 00 10 20 \n\n", "");
}

#[test]
fn variables_from_before_a_loop_are_shared_with_its_body() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        $sum = 0;
        $name = "x";
        for ($i : 0..4) { for ($j : 0..$i) { $sum += $j; } $name = "y"; }
        printf("%d %s\n", $sum, $name);
        exit();
    }"#;
    run_program(program).assert_exact(0, "4 y\n\n\n", ATTACHED_1);
}

#[test]
fn map_loop_sees_every_key_and_value() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { @a[1] = 10; @a[2] = 20; for ($kv : @a) { @t = sum($kv.1); @k = sum($kv.0); } exit(); }"#;
    run(&["-q", "-e", program]).assert_exact(0, "\n\n@a[1]: 10\n@a[2]: 20\n@k: 3\n@t: 30\n", "");
}

#[test]
fn map_loop_over_tuple_keys_and_string_values() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        @m[7, "seven"] = "sieben";
        for ($kv : @m) { printf("%d %s %s\n", $kv.0.0, $kv.0.1, $kv.1); @m[$kv.0.0, $kv.0.1] = "zeven"; }
        exit();
    }"#;
    run(&["-q", "-e", program]).assert_exact(0, "7 seven sieben\n\n\n@m[7, seven]: zeven\n", "");
}

#[test]
fn while_runs_until_its_condition_fails_and_warns() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { $i = 0; while ($i < 4) { $i++; if ($i == 2) { continue; } printf("%d ", $i); } printf("\n"); exit(); }"#;
    let outcome = run(&["-q", "-e", program]);
    assert_eq!(outcome.stdout, "1 3 4 \n\n\n");
    assert!(outcome.stderr.contains("warning[W0401]"), "no deprecation warning:\n{}", outcome.transcript());
}

#[test]
fn unroll_repeats_its_body() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { $n = 1; unroll(5) { $n = $n * 2; } printf("%d\n", $n); exit(); }"#;
    run_program(program).assert_exact(0, "32\n\n\n", ATTACHED_1);
}

#[test]
fn loop_bodies_read_the_probe_context() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        r#"tracepoint:syscalls:sys_enter_close /comm == "{}"/ {{ for ($i : 0..2) {{ printf("%s %d %d\n", comm, args.fd, $i); }} exit(); }}"#,
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    run_exiting(&comm, Abi::X86_64, &[(3, 4242)], 0);
    let outcome = tracer.finish();
    let expected = format!("{0} 4242 0\n{0} 4242 1\n\n\n", comm.name());
    outcome.assert_exact(0, &expected, ATTACHED_1);
}

#[test]
fn exit_inside_a_loop_is_refused() {
    let outcome = run_program("begin { for ($i : 0..3) { exit(); } }");
    assert_eq!(outcome.status.code(), Some(1));
    assert!(outcome.stderr.contains("error[E0430]"), "{}", outcome.transcript());
}

/// A map of `count()`, `sum()`, `avg()` or `max()` is walked with each entry's value combined
/// over the CPUs, as printing it shows.
#[test]
fn map_loop_over_aggregations_sees_their_values() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        @c["a"] = count(); @c["a"] = count(); @c["b"] = count();
        @s[1] = sum(5); @s[1] = sum(7); @s[2] = sum(-2);
        @a[1] = avg(10); @a[1] = avg(20);
        @m[1] = max(3); @m[1] = max(9);
        $count = 0; $sum = 0; $avg = 0; $max = 0;
        for ($kv : @c) { $count += $kv.1; }
        for ($kv : @s) { $sum += $kv.1; }
        for ($kv : @a) { $avg += $kv.1; }
        for ($kv : @m) { $max += $kv.1; }
        printf("%d %d %d %d\n", $count, $sum, $avg, $max);
        clear(@c); clear(@s); clear(@a); clear(@m);
        exit();
    }"#;
    run_program(program).assert_exact(0, "3 10 15 9\n\n\n", ATTACHED_1);
}
