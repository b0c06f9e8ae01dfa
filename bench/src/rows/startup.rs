//! Row 1, start-up: the whole process of `TOOL -e 'BEGIN { exit(); }'`, and of a script that
//! reads kernel types (`curtask->real_parent->pid`, which needs the kernel's BTF), its wall
//! time and peak RSS; one warm-up run, then the median of ten, interleaved.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::process::{Finished, Running};
use crate::report::{Row, Target, Unit};
use crate::rows::attach::shown;
use crate::rows::{Bench, PerTool};
use crate::stats::Samples;
use crate::tools::Tool;

/// The scripts started, each with the suffix of its rows' metric names.
const SCRIPTS: [(&str, &str); 2] = [
    ("", "BEGIN { exit(); }"),
    (", kernel types", r#"BEGIN { printf("%d\n", curtask->real_parent->pid); exit(); }"#),
];
const RUNS: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(bench: &Bench) -> Vec<Row> {
    SCRIPTS.iter().flat_map(|(suffix, script)| rows(bench, suffix, script)).collect()
}

fn rows(bench: &Bench, suffix: &str, script: &str) -> Vec<Row> {
    let mut wall = PerTool::<Samples>::default();
    let mut rss = PerTool::<Samples>::default();
    for run in 0..=RUNS {
        for tool in bench.tools.each() {
            if wall.get(tool.kind).stopped() {
                continue;
            }
            match once(tool, script) {
                Ok(_) if run == 0 => eprintln!("startup{suffix}: {} warm-up run done", tool.name()),
                Ok(finished) => {
                    let ms = finished.wall.as_secs_f64() * 1e3;
                    let mib = finished.exit.max_rss_kib as f64 / 1024.0;
                    eprintln!("startup{suffix}: {} run {run}/{RUNS}: {ms:.1} ms, {mib:.1} MiB", tool.name());
                    wall.get_mut(tool.kind).push(ms);
                    rss.get_mut(tool.kind).push(mib);
                }
                Err(error) => {
                    eprintln!("startup{suffix}: {} failed: {error:#}", tool.name());
                    wall.get_mut(tool.kind).fail(format!("{error:#}"));
                    rss.get_mut(tool.kind).fail(format!("{error:#}"));
                }
            }
        }
    }
    vec![
        Row::new("startup", &format!("wall{suffix}"), Unit::Ms, wall.ferrotrace.cell(), wall.bpftrace.cell())
            .target(Target::RatioAtMost(0.1)),
        Row::new("startup", &format!("peak RSS{suffix}"), Unit::MiB, rss.ferrotrace.cell(), rss.bpftrace.cell())
            .target(Target::RatioAtMost(0.2)),
    ]
}

fn once(tool: &Tool, script: &str) -> Result<Finished> {
    let mut running = Running::spawn(tool.name(), tool.run_script(script))?;
    match running.finish(TIMEOUT)? {
        None => bail!("did not exit within {} s", TIMEOUT.as_secs()),
        Some(finished) if !finished.exit.success() => {
            bail!("ended with {}; it printed:\n{}", finished.exit.describe(), shown(&running))
        }
        Some(finished) => Ok(finished),
    }
}
