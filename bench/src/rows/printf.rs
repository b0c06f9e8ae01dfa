//! Row 3, printf delivery: how many of 200,000 `printf` lines reach a reader of the tracer's
//! stdout, how many events the tracer says it lost, and how fast the lines come, in text and
//! as JSON lines (`-f json`).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::bpf_stats;
use crate::load_loop::LoadLoop;
use crate::parse::{json_lost_events, json_printf_pid, lost_events, lost_in_line, printf_pid};
use crate::process::Running;
use crate::report::{Row, Target, Unit};
use crate::rows::attach;
use crate::rows::{Bench, PerTool};
use crate::stats::Samples;
use crate::tools::Tool;

const CALLS: u64 = 200_000;
const SCRIPT: &str = r#"tracepoint:syscalls:sys_enter_getppid { printf("%d %s\n", pid, comm); }"#;
/// How long after the loop ends lines may still arrive.
const GRACE: Duration = Duration::from_secs(5);
const LOOP_TIMEOUT: Duration = Duration::from_secs(60);

/// What one tool delivered.
struct Delivered {
    lines: u64,
    lost: u64,
    per_second: f64,
}

/// Lines counted by pid as they arrive (the probing bursts come from other pids than the
/// measured loop), and the `Lost N events` notices.
#[derive(Default)]
struct Tally {
    lines: HashMap<u32, u64>,
    /// When each pid's `CALLS`-th line arrived.
    complete: HashMap<u32, Instant>,
    lost: u64,
}

#[derive(Default)]
struct Shared {
    tally: Mutex<Tally>,
    changed: Condvar,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn take_line(&self, line: &[u8], arrived: Instant, format: Format) {
        let mut tally = self.tally();
        let (lost, pid) = match format {
            Format::Text => (lost_in_line(&String::from_utf8_lossy(line)), printf_pid(line)),
            Format::Json => (json_lost_events(line), json_printf_pid(line)),
        };
        if let Some(lost) = lost {
            tally.lost += lost;
        } else if let Some(pid) = pid {
            let count = tally.lines.entry(pid).or_default();
            *count += 1;
            if *count == CALLS {
                tally.complete.insert(pid, arrived);
                self.changed.notify_all();
            }
        }
    }

    /// When `pid`'s last line arrived, waiting for it until `deadline`.
    fn wait_complete(&self, pid: u32, deadline: Instant) -> Option<Instant> {
        let mut tally = self.tally();
        loop {
            if let Some(arrived) = tally.complete.get(&pid) {
                return Some(*arrived);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            tally = self.changed.wait_timeout(tally, left).map(|(guard, _)| guard).unwrap_or_else(|p| p.into_inner().0);
        }
    }
}

/// How the tracer writes its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut rows = rows_for(bench, Format::Text, "printf delivery");
    rows.extend(rows_for(bench, Format::Json, "printf delivery, -f json"));
    rows
}

fn rows_for(bench: &Bench, format: Format, row: &'static str) -> Vec<Row> {
    let mut lines = PerTool::<Samples>::default();
    let mut lost = PerTool::<Samples>::default();
    let mut rate = PerTool::<Samples>::default();
    for tool in bench.tools.each() {
        match once(bench, tool, format) {
            Ok(delivered) => {
                eprintln!(
                    "{row}: {}: {} of {CALLS} lines, {} lost, {:.0} events/s",
                    tool.name(),
                    delivered.lines,
                    delivered.lost,
                    delivered.per_second
                );
                lines.get_mut(tool.kind).push(delivered.lines as f64);
                lost.get_mut(tool.kind).push(delivered.lost as f64);
                rate.get_mut(tool.kind).push(delivered.per_second);
            }
            Err(error) => {
                eprintln!("{row}: {} failed: {error:#}", tool.name());
                for samples in [&mut lines, &mut lost, &mut rate] {
                    samples.get_mut(tool.kind).fail(format!("{error:#}"));
                }
            }
        }
    }
    vec![
        Row::new(row, "lines delivered", Unit::Count, lines.ferrotrace.cell(), lines.bpftrace.cell())
            .uncompared()
            .target(Target::AtLeast(CALLS as f64)),
        Row::new(row, "lost events", Unit::Count, lost.ferrotrace.cell(), lost.bpftrace.cell())
            .uncompared()
            .target(Target::AtMost(0.0)),
        Row::new(row, "events/s", Unit::PerSecond, rate.ferrotrace.cell(), rate.bpftrace.cell()),
    ]
}

fn once(bench: &Bench, tool: &Tool, format: Format) -> Result<Delivered> {
    let shared = Arc::new(Shared::default());
    let reader = Arc::clone(&shared);
    let before = bpf_stats::program_ids()?;
    let mut command = tool.run_script(SCRIPT);
    if format == Format::Json {
        command.args(["-f", "json"]);
    }
    let mut tracer =
        Running::spawn_with_lines(tool.name(), command, Box::new(move |line, at| reader.take_line(line, at, format)))?;
    attach::wait_until_running(&mut tracer, &before, &bench.load)?;

    let mut measured = bench.load.spawn(CALLS)?;
    let started = measured.started();
    let pid = u32::try_from(measured.pid()).context("loop pid out of range")?;
    LoadLoop::wait(&mut measured, LOOP_TIMEOUT)?;
    let deadline = Instant::now() + GRACE;
    let complete = shared.wait_complete(pid, deadline);
    let stderr = attach::stop(&mut tracer)?;

    let tally = shared.tally();
    let elapsed = complete.unwrap_or(deadline).saturating_duration_since(started);
    Ok(Delivered {
        lines: tally.lines.get(&pid).copied().unwrap_or(0),
        lost: tally.lost + lost_events(&stderr),
        per_second: CALLS as f64 / elapsed.as_secs_f64().max(1e-9),
    })
}
