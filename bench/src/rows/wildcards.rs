//! Row 5, wide wildcards: the whole process of attaching `tracepoint:syscalls:sys_enter_*`,
//! stopping after a millisecond and detaching again; its wall time, how long until the last map
//! line was printed (what a user waits for), and the probe count.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    let mut printed = PerTool::<Samples>::default();
    let mut probes = PerTool::<Samples>::default();
    // ferrotrace is quick: it runs twice, around bpftrace's one run.
    let order =
        std::iter::once(&bench.tools.ferrotrace).chain(bench.tools.bpftrace.as_ref()).chain([&bench.tools.ferrotrace]);
    for tool in order {
        if wall.get(tool.kind).stopped() {
            continue;
        }
        match once(tool) {
            Ok(Some(Outcome { wall_ms: ms, printed_ms, probes: count })) => {
                eprintln!("wildcards: {}: {ms:.1} ms, maps printed at {printed_ms:?} ms, {count:?} probes", tool.name());
                wall.get_mut(tool.kind).push(ms);
                match printed_ms {
                    Some(at) => printed.get_mut(tool.kind).push(at),
                    None => printed.get_mut(tool.kind).fail("no map line in the output"),
                }
                match count {
                    Some(count) => probes.get_mut(tool.kind).push(count as f64),
                    None => probes.get_mut(tool.kind).fail("no `Attached N probes` line in the output"),
                }
            }
            Ok(None) => {
                eprintln!("wildcards: {}: timed out after {} s", tool.name(), TIMEOUT.as_secs());
                wall.get_mut(tool.kind).time_out();
                printed.get_mut(tool.kind).time_out();
                probes.get_mut(tool.kind).time_out();
            }
            Err(error) => {
                eprintln!("wildcards: {} failed: {error:#}", tool.name());
                wall.get_mut(tool.kind).fail(format!("{error:#}"));
                printed.get_mut(tool.kind).fail(format!("{error:#}"));
                probes.get_mut(tool.kind).fail(format!("{error:#}"));
            }
        }
    }
    vec![
        Row::new("wide wildcards", "wall", Unit::Ms, wall.ferrotrace.cell(), wall.bpftrace.cell())
            .target(Target::RatioAtMost(0.1)),
        Row::new("wide wildcards", "until maps printed", Unit::Ms, printed.ferrotrace.cell(), printed.bpftrace.cell()),
        Row::new("wide wildcards", "probes", Unit::Count, probes.ferrotrace.cell(), probes.bpftrace.cell())
            .uncompared(),
    ]
}

/// What one run gave.
struct Outcome {
    wall_ms: f64,
    /// From the start until the last `@` line arrived on stdout.
    printed_ms: Option<f64>,
    probes: Option<u64>,
}

/// One run; `None` on timeout.
fn once(tool: &Tool) -> Result<Option<Outcome>> {
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let last_map_line: Arc<Mutex<Option<Instant>>> = Arc::default();
    let (text, last) = (Arc::clone(&stdout), Arc::clone(&last_map_line));
    let on_line = Box::new(move |line: &[u8], at: Instant| {
        if line.starts_with(b"@") {
            *last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(at);
        }
        let mut text = text.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        text.extend_from_slice(line);
        text.push(b'\n');
    });
    let mut running = Running::spawn_with_lines(tool.name(), tool.run_script(SCRIPT), on_line)?;
    let Some(finished) = running.finish(TIMEOUT)? else {
        return Ok(None);
    };
    if !finished.exit.success() {
        bail!("ended with {}; it printed:\n{}", finished.exit.describe(), shown(&running));
    }
    let stdout = String::from_utf8_lossy(&stdout.lock().unwrap_or_else(|poisoned| poisoned.into_inner())).into_owned();
    let all = format!("{stdout}{}", running.output());
    let printed = *last_map_line.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok(Some(Outcome {
        wall_ms: finished.wall.as_secs_f64() * 1e3,
        printed_ms: printed.map(|at| at.duration_since(running.started()).as_secs_f64() * 1e3),
        probes: attached_probes(&all),
    }))
}
