//! Every aggregation's printed form, the order of its keys, and its value read in a probe.

use super::*;
use support::syscalls::{run_exiting, Abi};

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

#[test]
fn aggregations_read_in_a_probe_combine_every_cpu() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin {
        @c = count(); @c = count();
        @s = sum(5); @s = sum(-7);
        @mn = min(4); @mn = min(-3);
        @mx = max(9);
        @a = avg(10); @a = avg(20);
        @k["x"] = count();
        printf("%d %d %d %d %d %d %d\n", @c, @s, @mn, @mx, @a, @k["x"], @k["y"]);
        exit();
    }"#;
    let maps = "@a: 15\n@c: 2\n@k[x]: 1\n@mn: -3\n@mx: 9\n@s: -2\n";
    run(&["-q", "-e", program]).assert_exact(0, &format!("2 -2 -3 9 15 1 0\n\n\n{maps}"), "");
}

#[test]
fn a_count_read_in_its_own_probe_sees_the_events_of_every_cpu() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        r#"tracepoint:syscalls:sys_enter_getppid /comm == "{}"/ {{ @c = count(); if (@c > 2) {{ printf("%d\n", @c); exit(); }} }}"#,
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    run_exiting(&comm, Abi::X86_64, &[(110, 0); 5], 0);
    let outcome = tracer.finish();
    assert_eq!(outcome.stdout.lines().next(), Some("3"), "{}", outcome.transcript());
}

/// `tseries` keeps a value per interval and prints a chart of them: here one hour-long
/// interval, the last value written to `@last` and the smallest to `@low`.
#[test]
fn tseries_charts_the_values_of_each_interval() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { @last = tseries(3, 1h, 4); @last = tseries(5, 1h, 4); @low = tseries(-5, 1h, 4, "min"); @low = tseries(7, 1h, 4, "min"); exit(); }"#;
    let outcome = run_program(program);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    let margin = " ".repeat(13);
    let centre = format!("|{}*{}|", " ".repeat(25), " ".repeat(25));
    let chart = |name: &str, value: i64| {
        let range = format!("{margin}{:<21}{:>32}", value - 1, value + 1);
        let ruler = "_".repeat(51);
        format!("{name}:\n{range}\nhh:mm:ss.ms  |{ruler}|\nHH:MM:SS.000 {centre} {value}\n{margin}v{ruler}v\n{range}\n\n")
    };
    // The interval starts on the hour, in the local time zone: its clock is the part that varies.
    let is_clock = |text: &str| text.len() == 8 && text.bytes().enumerate().all(|(i, b)| if i % 3 == 2 { b == b':' } else { b.is_ascii_digit() });
    let stdout: String = outcome
        .stdout
        .lines()
        .map(|line| match (line.get(..8), line.get(8..)) {
            (Some(clock), Some(rest)) if is_clock(clock) && rest.starts_with(".000 ") => format!("HH:MM:SS{rest}\n"),
            _ => format!("{line}\n"),
        })
        .collect();
    assert_eq!(stdout, format!("\n\n{}{}", chart("@last", 5), chart("@low", -5)), "{}", outcome.transcript());
}
