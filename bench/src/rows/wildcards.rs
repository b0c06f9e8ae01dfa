//! Row 5, wide wildcards: the whole process of attaching `tracepoint:syscalls:sys_enter_*`,
//! stopping after a millisecond and detaching again; its wall time and the probe count.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::parse::attached_probes;
use crate::process::Running;
use crate::report::{Row, Target, Unit};
use crate::rows::attach::shown;
use crate::rows::{Bench, PerTool};
use crate::stats::Samples;
use crate::tools::Tool;

const SCRIPT: &str = "tracepoint:syscalls:sys_enter_* { @[probe] = count(); } interval:ms:1 { exit(); }";
const TIMEOUT: Duration = Duration::from_secs(300);

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut wall = PerTool::<Samples>::default();
    let mut probes = PerTool::<Samples>::default();
    // ferrotrace is quick: it runs twice, around bpftrace's one run.
    let order =
        std::iter::once(&bench.tools.ferrotrace).chain(bench.tools.bpftrace.as_ref()).chain([&bench.tools.ferrotrace]);
    for tool in order {
        if wall.get(tool.kind).stopped() {
            continue;
        }
        match once(tool) {
            Ok(Some((ms, count))) => {
                eprintln!("wildcards: {}: {ms:.1} ms, {count:?} probes", tool.name());
                wall.get_mut(tool.kind).push(ms);
                match count {
                    Some(count) => probes.get_mut(tool.kind).push(count as f64),
                    None => probes.get_mut(tool.kind).fail("no `Attached N probes` line in the output"),
                }
            }
            Ok(None) => {
                eprintln!("wildcards: {}: timed out after {} s", tool.name(), TIMEOUT.as_secs());
                wall.get_mut(tool.kind).time_out();
                probes.get_mut(tool.kind).time_out();
            }
            Err(error) => {
                eprintln!("wildcards: {} failed: {error:#}", tool.name());
                wall.get_mut(tool.kind).fail(format!("{error:#}"));
                probes.get_mut(tool.kind).fail(format!("{error:#}"));
            }
        }
    }
    vec![
        Row::new("wide wildcards", "wall", Unit::Ms, wall.ferrotrace.cell(), wall.bpftrace.cell())
            .target(Target::RatioAtMost(0.1)),
        Row::new("wide wildcards", "probes", Unit::Count, probes.ferrotrace.cell(), probes.bpftrace.cell())
            .uncompared(),
    ]
}

/// Wall time in ms and the probe count of one run; `None` on timeout.
fn once(tool: &Tool) -> Result<Option<(f64, Option<u64>)>> {
    let mut running = Running::spawn(tool.name(), tool.run_script(SCRIPT))?;
    let Some(finished) = running.finish(TIMEOUT)? else {
        return Ok(None);
    };
    if !finished.exit.success() {
        bail!("ended with {}; it printed:\n{}", finished.exit.describe(), shown(&running));
    }
    Ok(Some((finished.wall.as_secs_f64() * 1e3, attached_probes(&running.output()))))
}
