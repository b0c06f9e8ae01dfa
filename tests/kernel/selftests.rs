//! `test:` probes run by `--test`, `bench:` probes by `--bench`, and `errorf`/`warnf`.

use super::*;

/// A file of tests as bpftrace's own self-tests are written: `assert`, `return`, loops.
const TESTS: &str = r#"#!/usr/bin/env ferrotrace
test:arithmetic { assert(1 + 1 == 2, "one plus one"); }
test:strings_compare { $s = "abc"; assert($s == "abc", "equal strings"); }
test:broken {
  printf("shown, because the test fails\n");
  assert(2 * 2 == 5, "two times two is five");
}
test:loops { $sum = 0; for ($i : 0..5) { $sum += $i; } if ($sum != 10) { return 1; } }
test:returns_one { return 1; }
begin { printf("not run by --test\n"); }
"#;

#[test]
fn test_probes_run_with_dash_dash_test_in_googletest_style() {
    if !kernel_ready() {
        return;
    }
    let outcome = run_with_stdin(&["--test", "-"], TESTS);
    let stdout = strip_durations(&outcome.stdout);
    let expected = "\
[==========] Running 5 tests.
[ RUN      ] arithmetic
[       OK ] arithmetic
[ RUN      ] strings_compare
[       OK ] strings_compare
[ RUN      ] broken
shown, because the test fails
[  FAILED  ] broken
[ RUN      ] loops
[       OK ] loops
[ RUN      ] returns_one
[  FAILED  ] returns_one
[==========] 5 tests ran.
[  PASSED  ] 3 tests.
[  FAILED  ] 2 tests, listed below:
[  FAILED  ] broken
[  FAILED  ] returns_one
";
    assert_eq!(stdout, expected, "{}", outcome.transcript());
    assert_eq!(outcome.status.code(), Some(1));
    assert_eq!(outcome.stderr, "stdin:6:3-45: ERROR: assert failed: two times two is five\n");
}

#[test]
fn test_and_bench_probes_are_not_run_otherwise() {
    if !kernel_ready() {
        return;
    }
    run_with_stdin(&["-q", "-"], TESTS).assert_exact(0, "not run by --test\n\n\n", "");
}

#[test]
fn bench_probes_report_their_average_time() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["--bench", "-e", "bench:count { @c = count(); } bench:nothing { }"]);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    assert_eq!(lines.len(), 6, "{}", outcome.transcript());
    assert_eq!(lines[1], "| BENCHMARK | NANOSECONDS |");
    for (line, name) in lines[3..5].iter().zip(["count", "nothing"]) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells[1], name);
        assert!(cells[2].parse::<u64>().is_ok_and(|ns| ns > 0), "not a time: {line}");
    }
}

#[test]
fn errorf_and_warnf_print_where_they_are_on_stderr() {
    if !kernel_ready() {
        return;
    }
    let program = "begin {\n  errorf(\"bad %d\", 1);\n  warnf(\"odd %s\", \"x\");\n  exit();\n}";
    run(&["-q", "-e", program]).assert_exact(0, "\n\n", "stdin:2:3-21: ERROR: bad 1\nstdin:3:3-22: WARNING: odd x\n");
}

/// The report without the ` (N ms)` after each result, which varies.
fn strip_durations(text: &str) -> String {
    text.lines()
        .map(|line| match (line.starts_with('['), line.rfind(" (")) {
            (true, Some(at)) if line.ends_with(" ms)") => &line[..at],
            _ => line,
        })
        .map(|line| format!("{line}\n"))
        .collect()
}
