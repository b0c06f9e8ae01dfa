//! Row 7, uprobes: a uprobe on `ferrotrace_bench_call` in this binary, called 1,000,000 times
//! by a re-executed child. Counting the calls, the wall time of those calls with the tracer
//! attached, less their time untraced, per call; for each workload (the count, and a sum of an
//! argument and a stack word), the program's own run time per call (`bpf_stats_enabled`) and
//! its size. Three runs each, interleaved.

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
use crate::rows::{cost_rows, Bench, PerTool};
use crate::stats::Samples;
use crate::tools::Tool;

const CALLS: u64 = 1_000_000;
const RUNS: usize = 3;
const CALLS_TIMEOUT: Duration = Duration::from_secs(120);
const ATTACH_TIMEOUT: Duration = Duration::from_secs(30);
/// Calls made while waiting for the tracer's probe to fire.
const BURST: u64 = 100;

/// A uprobe block on the traced function, and the check of what it printed.
struct Workload {
    name: &'static str,
    body: &'static str,
    check: fn(output: &str) -> Result<()>,
    /// The most the program's cost may be, as a fraction of bpftrace's.
    cost_target: f64,
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        name: "uprobe_count",
        body: "@ = count();",
        check: |output| match map_value(output, "@") {
            Some(counted) if counted >= CALLS => Ok(()),
            other => bail!("counted {other:?} of {CALLS} calls"),
        },
        cost_target: 0.7,
    },
    // The argument in a register and the caller's stack word above the return address (read
    // from user memory).
    Workload {
        name: "uprobe_sarg",
        body: "@ = sum(arg0 + sarg0);",
        check: |output| map_value(output, "@").map(|_| ()).context("no `@: N` line"),
        cost_target: 0.7,
    },
];

/// What one run measured.
struct Measured {
    /// Wall time added to each call.
    overhead_ns: f64,
    /// The program's run time per call (`bpf_stats_enabled`).
    cost_ns: f64,
    /// The program's size after the verifier.
    insns: u64,
}

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut rows = Vec::new();
    for workload in &WORKLOADS {
        let (mut overhead, mut cost, mut insns) = (PerTool::<Samples>::default(), PerTool::<Samples>::default(), PerTool::<Samples>::default());
        for run in 1..=RUNS {
            for tool in bench.tools.each() {
                if overhead.get(tool.kind).stopped() {
                    continue;
                }
                match once(bench, tool, workload) {
                    Ok(measured) => {
                        eprintln!(
                            "uprobe: {} {} run {run}/{RUNS}: {:.0} ns per call, program {:.1} ns, {} insns",
                            tool.name(),
                            workload.name,
                            measured.overhead_ns,
                            measured.cost_ns,
                            measured.insns
                        );
                        overhead.get_mut(tool.kind).push(measured.overhead_ns);
                        cost.get_mut(tool.kind).push(measured.cost_ns);
                        insns.get_mut(tool.kind).push(measured.insns as f64);
                    }
                    Err(error) => {
                        eprintln!("uprobe: {} {} failed: {error:#}", tool.name(), workload.name);
                        for samples in [&mut overhead, &mut cost, &mut insns] {
                            samples.get_mut(tool.kind).fail(format!("{error:#}"));
                        }
                    }
                }
            }
        }
        if workload.name == "uprobe_count" {
            rows.push(
                Row::new(
                    "uprobe",
                    "count() on a function called 1,000,000 times: overhead per call",
                    Unit::NsPerEvent,
                    overhead.ferrotrace.cell(),
                    overhead.bpftrace.cell(),
                )
                .target(Target::RatioAtMost(1.0)),
            );
        }
        rows.extend(cost_rows(workload.name, &cost, &insns, workload.cost_target));
    }
    rows
}

/// One measured run: the added nanoseconds per traced call, and the program's own cost.
fn once(bench: &Bench, tool: &Tool, workload: &Workload) -> Result<Measured> {
    let untraced = bench.load.run_calls(CALLS, CALLS_TIMEOUT)?;
    let script = format!("uprobe:{}:{TRACED_FUNCTION} {{ {} }}", bench.load.exe().display(), workload.body);
    let before: HashSet<u32> = bpf_stats::program_ids()?;
    let mut tracer = Running::spawn(tool.name(), tool.run_script(&script))?;
    let id = wait_until_firing(&mut tracer, &before, &bench.load)?;
    let start = attach::read_program(&tracer, id)?;
    let traced = bench.load.run_calls(CALLS, CALLS_TIMEOUT)?;
    let end = attach::read_program(&tracer, id)?;
    let output = attach::stop(&mut tracer)?;
    if let Err(error) = (workload.check)(&output) {
        bail!("{error:#}; {} printed:\n{}", tool.name(), shown(&tracer));
    }
    Ok(Measured {
        overhead_ns: traced.saturating_sub(untraced).as_nanos() as f64 / CALLS as f64,
        cost_ns: end.cost_since(&start).context("the program did not run")?,
        insns: end.translated_insns,
    })
}

/// Waits until the tracer's uprobe program runs on a burst of calls; returns its id.
fn wait_until_firing(tracer: &mut Running, before: &HashSet<u32>, load: &LoadLoop) -> Result<u32> {
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
                    return Ok(earlier.id);
                }
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    bail!("{} attached no uprobe that ran within {} s; it printed:\n{}", tracer.name(), ATTACH_TIMEOUT.as_secs(), shown(tracer))
}
