//! Row 7, uprobe overhead: a uprobe counting `ferrotrace_bench_call` in this binary, called
//! 1,000,000 times by a re-executed child; the wall time of those calls with the tracer
//! attached, less their time untraced, per call. Three runs each, interleaved.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bpf_stats;
use crate::load_loop::{LoadLoop, TRACED_FUNCTION};
use crate::parse::map_value;
use crate::process::Running;
use crate::report::{Row, Target, Unit};
use crate::rows::attach::{self, shown};
use crate::rows::{Bench, PerTool};
use crate::stats::Samples;
use crate::tools::Tool;

const CALLS: u64 = 1_000_000;
const RUNS: usize = 3;
const CALLS_TIMEOUT: Duration = Duration::from_secs(120);
const ATTACH_TIMEOUT: Duration = Duration::from_secs(30);
/// Calls made while waiting for the tracer's probe to fire.
const BURST: u64 = 100;

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut overhead = PerTool::<Samples>::default();
    for run in 1..=RUNS {
        for tool in bench.tools.each() {
            if overhead.get(tool.kind).stopped() {
                continue;
            }
            match once(bench, tool) {
                Ok(ns) => {
                    eprintln!("uprobe: {} run {run}/{RUNS}: {ns:.0} ns per call", tool.name());
                    overhead.get_mut(tool.kind).push(ns);
                }
                Err(error) => {
                    eprintln!("uprobe: {} failed: {error:#}", tool.name());
                    overhead.get_mut(tool.kind).fail(format!("{error:#}"));
                }
            }
        }
    }
    vec![Row::new(
        "uprobe",
        "count() on a function called 1,000,000 times: overhead per call",
        Unit::NsPerEvent,
        overhead.ferrotrace.cell(),
        overhead.bpftrace.cell(),
    )
    .target(Target::RatioAtMost(1.0))]
}

/// One measured run: the added nanoseconds per traced call.
fn once(bench: &Bench, tool: &Tool) -> Result<f64> {
    let untraced = bench.load.run_calls(CALLS, CALLS_TIMEOUT)?;
    let script = format!("uprobe:{}:{TRACED_FUNCTION} {{ @ = count(); }}", bench.load.exe().display());
    let before: HashSet<u32> = bpf_stats::program_ids()?;
    let mut tracer = Running::spawn(tool.name(), tool.run_script(&script))?;
    wait_until_firing(&mut tracer, &before, &bench.load)?;
    let traced = bench.load.run_calls(CALLS, CALLS_TIMEOUT)?;
    let output = attach::stop(&mut tracer)?;
    match map_value(&output, "@") {
        Some(counted) if counted >= CALLS => {}
        other => bail!("{} counted {other:?} of {CALLS} calls; it printed:\n{}", tool.name(), shown(&tracer)),
    }
    Ok(traced.saturating_sub(untraced).as_nanos() as f64 / CALLS as f64)
}

/// Waits until the tracer's uprobe program runs on a burst of calls.
fn wait_until_firing(tracer: &mut Running, before: &HashSet<u32>, load: &LoadLoop) -> Result<()> {
    let deadline = Instant::now() + ATTACH_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(finished) = tracer.poll()? {
            bail!("{} ended ({}) before its probe ran; it printed:\n{}", tracer.name(), finished.exit.describe(), shown(tracer));
        }
        let programs = bpf_stats::new_kprobe_programs(tracer.pid(), before)?;
        if !programs.is_empty() {
            load.run_calls(BURST, Duration::from_secs(10)).context("the probing burst failed")?;
            for earlier in &programs {
                if bpf_stats::read(earlier.id)?.is_some_and(|now| now.run_count > earlier.run_count) {
                    return Ok(());
                }
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    bail!("{} attached no uprobe that ran within {} s; it printed:\n{}", tracer.name(), ATTACH_TIMEOUT.as_secs(), shown(tracer))
}
