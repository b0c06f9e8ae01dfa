//! Row 6, a map walk: the kernel's run time of an `interval` probe that walks a 10,000-key map
//! with `for ($kv : @m)`, per walk and per key, from `bpf_stats_enabled` counters over the
//! probe's runs in two seconds. Only ferrotrace runs it: bpftrace 0.17 has no `for` over maps.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bpf_stats::{self, ProgramStats};
use crate::parse::map_value;
use crate::process::Running;
use crate::report::{Row, Unit};
use crate::rows::attach::{self, shown};
use crate::rows::{Bench, PerTool};
use crate::stats::Samples;

const KEYS: u64 = 10_000;
const RUNS: usize = 3;
const MEASURED: Duration = Duration::from_secs(2);
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Fills the map once, then walks it every 20 ms, summing its values.
const SCRIPT: &str = "let @m = hash(10000);
begin { for ($i : 0..10000) { @m[$i] = $i; } }
interval:ms:20 { $t = 0; for ($kv : @m) { $t += $kv.1; } @total = $t; @walks = count(); }";

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut per_walk = PerTool::<Samples>::default();
    let mut per_key = PerTool::<Samples>::default();
    for run in 1..=RUNS {
        match once(bench) {
            Ok(ns) => {
                eprintln!("map walk: ferrotrace run {run}/{RUNS}: {ns:.0} ns per walk of {KEYS} keys");
                per_walk.ferrotrace.push(ns);
                per_key.ferrotrace.push(ns / KEYS as f64);
            }
            Err(error) => {
                eprintln!("map walk: ferrotrace failed: {error:#}");
                per_walk.ferrotrace.fail(format!("{error:#}"));
                per_key.ferrotrace.fail(format!("{error:#}"));
                break;
            }
        }
    }
    vec![
        Row::new("map walk", "for over 10,000 keys: per walk", Unit::NsPerEvent, per_walk.ferrotrace.cell(), per_walk.bpftrace.cell()),
        Row::new("map walk", "for over 10,000 keys: per key", Unit::NsPerEvent, per_key.ferrotrace.cell(), per_key.bpftrace.cell()),
    ]
}

/// One measured run: nanoseconds per walk.
fn once(bench: &Bench) -> Result<f64> {
    let before: HashSet<u32> = bpf_stats::program_ids()?;
    let tool = &bench.tools.ferrotrace;
    let mut tracer = Running::spawn(tool.name(), tool.run_script(SCRIPT))?;
    let start = wait_for_a_walk(&mut tracer, &before)?;
    thread::sleep(MEASURED);
    let end = attach::read_program(&tracer, start.id)?;
    let output = attach::stop(&mut tracer)?;
    let expected = KEYS * (KEYS - 1) / 2;
    match map_value(&output, "@total") {
        Some(total) if total == expected => {}
        other => bail!("`@total` is {other:?}, not {expected}; ferrotrace printed:\n{}", shown(&tracer)),
    }
    end.cost_since(&start).context("the interval probe did not run while measured")
}

/// The interval probe's counters once it has run at least once.
fn wait_for_a_walk(tracer: &mut Running, before: &HashSet<u32>) -> Result<ProgramStats> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(finished) = tracer.poll()? {
            bail!("ferrotrace ended ({}) before its probe ran; it printed:\n{}", finished.exit.describe(), shown(tracer));
        }
        let programs = bpf_stats::new_perf_event_programs(tracer.pid(), before)?;
        if let Some(program) = programs.into_iter().find(|program| program.run_count > 0) {
            return Ok(program);
        }
        thread::sleep(Duration::from_millis(20));
    }
    bail!("ferrotrace's interval probe did not run within {} s; it printed:\n{}", START_TIMEOUT.as_secs(), shown(tracer))
}
