//! Row 4, compile: the whole process of `TOOL --emit-elf OUT SCRIPT` on generated scripts of
//! 100, 1,000 and 10,000 lines, how the time grows from 1,000 to 10,000 lines, and 10,000 lines
//! written with macros and loops (ferrotrace alone: bpftrace 0.17 has neither).

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::process::Running;
use crate::report::{Cell, Row, Target, Unit};
use crate::rows::attach::shown;
use crate::rows::{Bench, PerTool};
use crate::script::{generate, generate_modern};
use crate::stats::Samples;
use crate::tools::Tool;

/// Script sizes in lines and how many timed runs each gets.
const SIZES: [(usize, usize); 3] = [(100, 5), (1_000, 5), (10_000, 3)];
const TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut by_size = Vec::new();
    for (lines, runs) in SIZES {
        let times = time_size(bench, lines, runs);
        let mut row = Row::new(
            "compile",
            &format!("{} lines", thousands(lines)),
            Unit::Ms,
            times.ferrotrace.cell(),
            times.bpftrace.cell(),
        );
        if lines == 10_000 {
            row = row.target(Target::Below(100.0));
        }
        rows.push(row);
        by_size.push(times);
    }
    let modern = time_script(bench, "modern-10000", &generate_modern(10_000), 3, true);
    rows.push(
        Row::new("compile", "10,000 lines, macros and loops", Unit::Ms, modern.ferrotrace.cell(), modern.bpftrace.cell())
            .target(Target::Below(100.0)),
    );
    let (thousand, ten_thousand) = (&by_size[1], &by_size[2]);
    rows.push(
        Row::new(
            "compile",
            "10k/1k time",
            Unit::Times,
            growth(&ten_thousand.ferrotrace.cell(), &thousand.ferrotrace.cell()),
            growth(&ten_thousand.bpftrace.cell(), &thousand.bpftrace.cell()),
        )
        .uncompared()
        .target(Target::Below(12.0)),
    );
    rows
}

/// `runs` timed compiles of a `lines`-line script by each tool, interleaved; a tool that timed
/// out on this size is not run on it again.
fn time_size(bench: &Bench, lines: usize, runs: usize) -> PerTool<Samples> {
    time_script(bench, &format!("generated-{lines}"), &generate(lines), runs, false)
}

/// `runs` timed compiles of `text` by each tool (by ferrotrace alone when `ferrotrace_only`),
/// interleaved.
fn time_script(bench: &Bench, name: &str, text: &str, runs: usize, ferrotrace_only: bool) -> PerTool<Samples> {
    let mut times = PerTool::<Samples>::default();
    let script = bench.scratch.path(&format!("{name}.bt"));
    if let Err(error) = fs::write(&script, text) {
        for tool in bench.tools.each() {
            times.get_mut(tool.kind).fail(format!("cannot write {}: {error}", script.display()));
        }
        return times;
    }
    for run in 1..=runs {
        for tool in bench.tools.each().filter(|tool| !ferrotrace_only || tool.name() == "ferrotrace") {
            let samples = times.get_mut(tool.kind);
            if samples.stopped() {
                continue;
            }
            let elf = bench.scratch.path(&format!("{}-{name}.o", tool.name()));
            match once(tool, &script, &elf) {
                Ok(Some(ms)) => {
                    eprintln!("compile: {} {name} run {run}/{runs}: {ms:.1} ms", tool.name());
                    samples.push(ms);
                }
                Ok(None) => {
                    eprintln!("compile: {} {name}: timed out after {} s", tool.name(), TIMEOUT.as_secs());
                    samples.time_out();
                }
                Err(error) => {
                    eprintln!("compile: {} {name} failed: {error:#}", tool.name());
                    samples.fail(format!("{error:#}"));
                }
            }
        }
    }
    times
}

/// The wall time in ms of one compile, `None` on timeout; the ELF must be written.
fn once(tool: &Tool, script: &Path, elf: &Path) -> Result<Option<f64>> {
    let _ = fs::remove_file(elf);
    let mut command = tool.command();
    command.arg("--emit-elf").arg(elf).arg(script);
    let mut running = Running::spawn(tool.name(), command)?;
    let Some(finished) = running.finish(TIMEOUT)? else {
        return Ok(None);
    };
    if !finished.exit.success() {
        bail!("ended with {}; it printed:\n{}", finished.exit.describe(), shown(&running));
    }
    let size = fs::metadata(elf).map(|meta| meta.len()).with_context(|| format!("wrote no {}", elf.display()))?;
    if size == 0 {
        bail!("wrote an empty {}", elf.display());
    }
    Ok(Some(finished.wall.as_secs_f64() * 1e3))
}

/// The 10k time over the 1k time; a failure of either shows as the growth's failure.
fn growth(ten_thousand: &Cell, thousand: &Cell) -> Cell {
    match (ten_thousand, thousand) {
        (Cell::Value(big), Cell::Value(small)) if *small > 0.0 => Cell::Value(big / small),
        (Cell::Error(error), _) | (_, Cell::Error(error)) => Cell::Error(error.clone()),
        (Cell::Timeout, _) | (_, Cell::Timeout) => Cell::Timeout,
        _ => Cell::NotRun,
    }
}

fn thousands(lines: usize) -> String {
    crate::table::format_value(lines as f64, Unit::Count)
}
