//! Row 1, start-up: the whole process of `TOOL -e 'BEGIN { exit(); }'`, its wall time and peak
//! RSS; one warm-up run, then the median of ten, interleaved.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::process::{Finished, Running};
use crate::report::{Row, Target, Unit};
use crate::rows::attach::shown;
use crate::rows::{Bench, PerTool};
use crate::stats::Samples;
use crate::tools::Tool;

const SCRIPT: &str = "BEGIN { exit(); }";
const RUNS: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut wall = PerTool::<Samples>::default();
    let mut rss = PerTool::<Samples>::default();
    for run in 0..=RUNS {
        for tool in bench.tools.each() {
            if wall.get(tool.kind).stopped() {
                continue;
            }
            match once(tool) {
                Ok(_) if run == 0 => eprintln!("startup: {} warm-up run done", tool.name()),
                Ok(finished) => {
                    let ms = finished.wall.as_secs_f64() * 1e3;
                    let mib = finished.exit.max_rss_kib as f64 / 1024.0;
                    eprintln!("startup: {} run {run}/{RUNS}: {ms:.1} ms, {mib:.1} MiB", tool.name());
                    wall.get_mut(tool.kind).push(ms);
                    rss.get_mut(tool.kind).push(mib);
                }
                Err(error) => {
                    eprintln!("startup: {} failed: {error:#}", tool.name());
                    wall.get_mut(tool.kind).fail(format!("{error:#}"));
                    rss.get_mut(tool.kind).fail(format!("{error:#}"));
                }
            }
        }
    }
    vec![
        Row::new("startup", "wall", Unit::Ms, wall.ferrotrace.cell(), wall.bpftrace.cell())
            .target(Target::RatioAtMost(0.1)),
        Row::new("startup", "peak RSS", Unit::MiB, rss.ferrotrace.cell(), rss.bpftrace.cell())
            .target(Target::RatioAtMost(0.2)),
    ]
}

fn once(tool: &Tool) -> Result<Finished> {
    let mut running = Running::spawn(tool.name(), tool.run_script(SCRIPT))?;
    match running.finish(TIMEOUT)? {
        None => bail!("did not exit within {} s", TIMEOUT.as_secs()),
        Some(finished) if !finished.exit.success() => {
            bail!("ended with {}; it printed:\n{}", finished.exit.describe(), shown(&running))
        }
        Some(finished) => Ok(finished),
    }
}
