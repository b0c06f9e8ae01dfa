//! A tracer's life in the event rows: start it, wait until its probe is live, stop it with
//! SIGINT and collect what it printed.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bpf_stats::{self, ProgramStats};
use crate::load_loop::LoadLoop;
use crate::parse::tail;
use crate::process::Running;

/// How long a tracer may take to load and attach.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(30);
/// getppid calls in one probing burst.
const BURST: u64 = 1_000;
/// How long a tracer may take to print its maps and exit after SIGINT.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of a tracer's output shown with an error.
const SHOWN_LINES: usize = 20;

/// Waits until the tracer has loaded a tracepoint program and that program runs: bursts of
/// getppid calls from separate loop processes until its run count grows. `before` is the set
/// of program ids loaded before the tracer started. Returns the program's id.
pub fn wait_until_running(tracer: &mut Running, before: &HashSet<u32>, load: &LoadLoop) -> Result<u32> {
    let deadline = Instant::now() + ATTACH_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(finished) = tracer.poll()? {
            bail!(
                "{} ended ({}) before its probe ran; it printed:\n{}",
                tracer.name(),
                finished.exit.describe(),
                shown(tracer)
            );
        }
        let programs = bpf_stats::new_tracepoint_programs(tracer.pid(), before)?;
        if !programs.is_empty() {
            load.run(BURST, Duration::from_secs(10)).context("the probing burst failed")?;
            if let Some(id) = first_that_ran(&programs)? {
                return Ok(id);
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "{} loaded no tracepoint program that ran within {} s (is kernel.bpf_stats_enabled 1?); it printed:\n{}",
        tracer.name(),
        ATTACH_TIMEOUT.as_secs(),
        shown(tracer)
    )
}

/// The first of `programs` whose run count grew since it was read.
fn first_that_ran(programs: &[ProgramStats]) -> Result<Option<u32>> {
    for earlier in programs {
        if bpf_stats::read(earlier.id)?.is_some_and(|now| now.run_count > earlier.run_count) {
            return Ok(Some(earlier.id));
        }
    }
    Ok(None)
}

/// The current stats of the tracer's program, which must still be loaded.
pub fn read_program(tracer: &Running, id: u32) -> Result<ProgramStats> {
    bpf_stats::read(id)?
        .with_context(|| format!("{}'s program {id} is gone; it printed:\n{}", tracer.name(), shown(tracer)))
}

/// Interrupts the tracer and waits for it to print its maps and exit successfully; returns
/// everything it printed to the collected streams.
pub fn stop(tracer: &mut Running) -> Result<String> {
    tracer.interrupt()?;
    let Some(finished) = tracer.finish(STOP_TIMEOUT)? else {
        bail!(
            "{} did not exit within {} s of SIGINT; it printed:\n{}",
            tracer.name(),
            STOP_TIMEOUT.as_secs(),
            shown(tracer)
        );
    };
    if !finished.exit.success() {
        bail!("{} ended with {} after SIGINT; it printed:\n{}", tracer.name(), finished.exit.describe(), shown(tracer));
    }
    Ok(tracer.output())
}

/// The end of what the tracer printed, for an error message.
pub fn shown(tracer: &Running) -> String {
    let output = tracer.output();
    match tail(&output, SHOWN_LINES) {
        text if text.is_empty() => "(nothing)".to_string(),
        text => text,
    }
}
