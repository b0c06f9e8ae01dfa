//! The console row: how long a probe block typed into `ferrotrace -i` takes from Enter to its
//! `[N] attached` line, one single-tracepoint block after another in one session (each on
//! another syscall, so each is a new attachment); the median of twenty. bpftrace has no
//! console, so the row has no comparison.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};

use crate::report::{Cell, Row, Target, Unit};
use crate::rows::Bench;
use crate::stats::Samples;

/// Each block attaches to one of these `syscalls` tracepoints, in turn.
const SYSCALLS: [&str; 4] = ["getppid", "getpgrp", "getuid", "getgid"];
const BLOCKS: usize = 20;

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut samples = Samples::default();
    match typed_blocks(bench) {
        Ok(times) => times.into_iter().for_each(|ms| samples.push(ms)),
        Err(error) => {
            eprintln!("console: failed: {error:#}");
            samples.fail(format!("{error:#}"));
        }
    }
    vec![Row::new("console", "block typed to attached", Unit::Ms, samples.cell(), Cell::NotRun).target(Target::Below(20.0)).uncompared()]
}

/// Types `BLOCKS` blocks into one console; the milliseconds from each Enter to its line.
fn typed_blocks(bench: &Bench) -> Result<Vec<f64>> {
    let mut child = bench.tools.ferrotrace.command().arg("-i").stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().context("cannot start ferrotrace -i")?;
    let mut input = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
    let mut lines = BufReader::new(child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?).lines();
    let mut times = Vec::new();
    for block in 1..=BLOCKS {
        let syscall = SYSCALLS[block % SYSCALLS.len()];
        let typed = Instant::now();
        writeln!(input, "tracepoint:syscalls:sys_enter_{syscall} {{ @{syscall} = count(); }}")?;
        input.flush()?;
        let line = lines.next().ok_or_else(|| anyhow!("the console ended"))??;
        if !line.starts_with(&format!("[{block}] attached")) {
            bail!("block {block}: `{line}`");
        }
        times.push(typed.elapsed().as_secs_f64() * 1e3);
    }
    drop(input);
    child.wait()?;
    eprintln!("console: {BLOCKS} blocks attached");
    Ok(times)
}
