//! `--test` and `--bench`: a script's `test:` probes run once each and are reported in the
//! style of googletest (a test passes when it returns 0, reports no `errorf` and calls no
//! `exit()` with a code other than 0; a failing test's output is shown), and its `bench:`
//! probes run many times each, their average time in a table. Both run from userspace with
//! `BPF_PROG_TEST_RUN`, in script order. With `-f json` each result is a JSON line.

use std::io::Write;
use std::time::{Duration, Instant};

use ferrotrace_compiler::manifest::{Attach, Manifest};

use crate::output::{self, Format};
use crate::run::{RunError, Runner};
use crate::session::Session;

/// How long each benchmark runs for, at least, and how often at least.
const BENCH_TIME: Duration = Duration::from_millis(200);
const BENCH_MIN_RUNS: u32 = 100;

/// Runs the `test:` probes; returns the exit status: 1 when one failed.
pub fn run_tests(elf: &[u8], manifest: &Manifest, format: Format, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> Result<i32, RunError> {
    let mut session = Session::load(elf, manifest, false)?;
    let mut events = session.events()?;
    let tests = named_programs(manifest, |attach| match attach {
        Attach::Test { name } => Some(name.as_str()),
        _ => None,
    });
    let paint = |text: &str, code: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() };
    let (green, red) = ("32", "31");
    let json = format == Format::Json;
    if !json {
        writeln!(out, "{} Running {}.", paint("[==========]", green), count(tests.len(), "test"))?;
    }
    let mut failed = Vec::new();
    for (index, name) in &tests {
        if !json {
            writeln!(out, "{} {name}", paint("[ RUN      ]", green))?;
        }
        let started = Instant::now();
        let mut captured = Vec::new();
        let mut runner = Runner::new(session.shared_manifest(), output::printer(Format::Text, &mut captured, err));
        let returned = session.run_program(*index)?;
        runner.drain(&mut session, &mut events)?;
        let (exit_code, errors) = (runner.exit_code, runner.errors);
        drop(runner);
        let passed = returned == 0 && errors == 0 && exit_code.is_none_or(|code| code == 0);
        if json {
            writeln!(out, "{}", output::test_result_line(name, started.elapsed().as_nanos(), passed, &captured))?;
            if !passed {
                failed.push(*name);
            }
            continue;
        }
        let elapsed = started.elapsed().as_millis();
        if passed {
            writeln!(out, "{} {name} ({elapsed} ms)", paint("[       OK ]", green))?;
        } else {
            for line in String::from_utf8_lossy(&captured).lines().filter(|l| !l.is_empty()) {
                writeln!(out, "{line}")?;
            }
            writeln!(out, "{} {name} ({elapsed} ms)", paint("[  FAILED  ]", red))?;
            failed.push(*name);
        }
    }
    if json {
        out.flush()?;
        return Ok(i32::from(!failed.is_empty()));
    }
    writeln!(out, "{} {} ran.", paint("[==========]", green), count(tests.len(), "test"))?;
    writeln!(out, "{} {}.", paint("[  PASSED  ]", green), count(tests.len() - failed.len(), "test"))?;
    if !failed.is_empty() {
        writeln!(out, "{} {}, listed below:", paint("[  FAILED  ]", red), count(failed.len(), "test"))?;
        for name in &failed {
            writeln!(out, "{} {name}", paint("[  FAILED  ]", red))?;
        }
    }
    out.flush()?;
    Ok(i32::from(!failed.is_empty()))
}

/// Runs the `bench:` probes and prints the average time of one run of each.
pub fn run_benches(elf: &[u8], manifest: &Manifest, format: Format, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, RunError> {
    let mut session = Session::load(elf, manifest, false)?;
    let mut events = session.events()?;
    let benches = named_programs(manifest, |attach| match attach {
        Attach::Bench { name } => Some(name.as_str()),
        _ => None,
    });
    let mut rows = Vec::with_capacity(benches.len());
    for (index, name) in &benches {
        let started = Instant::now();
        let mut runs = 0u32;
        while runs < BENCH_MIN_RUNS || started.elapsed() < BENCH_TIME {
            session.run_program(*index)?;
            runs += 1;
            if runs.is_multiple_of(64) {
                // Output the bench makes is not shown; keep the ring buffer from filling.
                let mut sink = std::io::sink();
                Runner::new(session.shared_manifest(), output::printer(Format::Text, &mut sink, err)).drain(&mut session, &mut events)?;
            }
        }
        let average = started.elapsed().as_nanos() / u128::from(runs);
        if format == Format::Json {
            writeln!(out, "{}", output::benchmark_result_line(name, average, runs))?;
        }
        rows.push((name.to_string(), average.to_string()));
    }
    if format == Format::Text {
        write_table(out, ("BENCHMARK", "NANOSECONDS"), &rows)?;
    }
    out.flush()?;
    Ok(0)
}

/// The programs whose target `name_of` names, with that name, in script order.
fn named_programs<'m>(manifest: &'m Manifest, name_of: impl Fn(&'m Attach) -> Option<&'m str>) -> Vec<(usize, &'m str)> {
    manifest
        .programs
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| spec.targets.first().and_then(|target| name_of(&target.attach)).map(|name| (index, name)))
        .collect()
}

/// "1 test", "3 tests".
fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// A two-column table with a header, framed as bpftrace frames its benchmark table.
fn write_table(out: &mut dyn Write, header: (&str, &str), rows: &[(String, String)]) -> std::io::Result<()> {
    let left = rows.iter().map(|r| r.0.len()).chain([header.0.len()]).max().unwrap_or(0);
    let right = rows.iter().map(|r| r.1.len()).chain([header.1.len()]).max().unwrap_or(0);
    let rule = format!("+{}+{}+", "-".repeat(left + 2), "-".repeat(right + 2));
    writeln!(out, "{rule}")?;
    writeln!(out, "| {:left$} | {:right$} |", header.0, header.1)?;
    writeln!(out, "{rule}")?;
    for (name, value) in rows {
        writeln!(out, "| {name:left$} | {value:right$} |")?;
    }
    writeln!(out, "{rule}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_table_is_framed_and_aligned() {
        let mut out = Vec::new();
        write_table(&mut out, ("BENCHMARK", "NANOSECONDS"), &[("count".into(), "40".into()), ("my_loop".into(), "124".into())]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "+-----------+-------------+\n| BENCHMARK | NANOSECONDS |\n+-----------+-------------+\n| count     | 40          |\n| my_loop   | 124         |\n+-----------+-------------+\n"
        );
    }
}
