//! Row 2, cost per event: the kernel's run time per run of a tracer's program, from
//! `bpf_stats_enabled` counters around two million getppid calls, and the program's size
//! after the verifier. Eight map workloads (counts keyed by the kernel and the user stack among
//! them, and an element of a tracepoint's array field, `args->args[0]`), a kernel struct walk
//! (`curtask->real_parent->pid`), three runs each, interleaved, and
//! a substring search in a 64-byte string that only ferrotrace runs (bpftrace 0.17 has no
//! `strcontains`).

use std::collections::HashSet;

use anyhow::{bail, Context, Result};

use crate::bpf_stats;
use crate::load_loop::LoadLoop;
use crate::parse::{hist_total, map_value, stack_total, stats_count};
use crate::process::Running;
use crate::report::Row;
use crate::rows::attach::{self, shown};
use crate::rows::{cost_rows, Bench, PerTool};
use crate::stats::Samples;
use crate::tools::Tool;

const CALLS: u64 = 2_000_000;
const RUNS: usize = 3;
const LOOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A script and what its printed maps must show after the measured loop (process `pid`).
struct Workload {
    name: &'static str,
    script: &'static str,
    check: fn(output: &str, pid: u32) -> Result<()>,
    /// Only ferrotrace runs it: bpftrace 0.17 lacks what it uses.
    ferrotrace_only: bool,
    /// The most ferrotrace's cost per event may be, as a fraction of bpftrace's.
    cost_target: f64,
}

const WORKLOADS: [Workload; 10] = [
    Workload {
        name: "count_by_comm",
        script: "tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }",
        check: |output, _| at_least(map_value(output, "@[loop]"), "`@[loop]`"),
        ferrotrace_only: false,
        cost_target: 0.7,
    },
    Workload {
        name: "hist",
        script: "tracepoint:syscalls:sys_enter_getppid { @h = hist(nsecs & 0xfffff); }",
        check: |output, _| at_least(hist_total(output, "@h"), "the total of `@h`"),
        ferrotrace_only: false,
        cost_target: 0.7,
    },
    Workload {
        name: "stats_2key",
        script: "tracepoint:syscalls:sys_enter_getppid { @s[pid, comm] = stats(tid); }",
        check: |output, pid| {
            at_least(stats_count(output, &format!("@s[{pid}, loop]")), &format!("the count of `@s[{pid}, loop]`"))
        },
        ferrotrace_only: false,
        cost_target: 0.7,
    },
    Workload {
        name: "str_filter",
        script: r#"tracepoint:raw_syscalls:sys_enter /comm == "loop"/ { @[args->id] = count(); }"#,
        check: |output, _| {
            let key = format!("@[{}]", libc::SYS_getppid);
            at_least(map_value(output, &key), &format!("`{key}`"))
        },
        ferrotrace_only: false,
        cost_target: 0.7,
    },
    Workload {
        name: "array_field",
        script: r#"tracepoint:raw_syscalls:sys_enter /comm == "loop"/ { @[args->id, args->args[0] & 0] = count(); }"#,
        check: |output, _| {
            let key = format!("@[{}, 0]", libc::SYS_getppid);
            at_least(map_value(output, &key), &format!("`{key}`"))
        },
        ferrotrace_only: false,
        cost_target: 0.7,
    },
    Workload {
        name: "sum_lhist",
        script: "tracepoint:syscalls:sys_enter_getppid { @a = sum(cpu); @l = lhist(nsecs & 0xff, 0, 256, 16); }",
        check: |output, _| {
            map_value(output, "@a").context("no `@a: N` line in the output")?;
            at_least(hist_total(output, "@l"), "the total of `@l`")
        },
        ferrotrace_only: false,
        cost_target: 0.7,
    },
    Workload {
        name: "curtask_parent",
        script: "tracepoint:syscalls:sys_enter_getppid { @[curtask->real_parent->pid] = count(); }",
        check: |output, _| {
            // The load loop is this benchmark's child.
            let key = format!("@[{}]", std::process::id());
            at_least(map_value(output, &key), &format!("`{key}`"))
        },
        ferrotrace_only: false,
        cost_target: 0.5,
    },
    Workload {
        name: "strcontains_64",
        script: r#"tracepoint:syscalls:sys_enter_getppid { $h = "the quick brown fox jumps over the lazy dog, then naps in a tub"; @[strcontains($h, "naps")] = count(); }"#,
        check: |output, _| at_least(map_value(output, "@[true]"), "`@[true]`"),
        ferrotrace_only: true,
        cost_target: 0.7,
    },
    Workload {
        name: "kstack_count",
        script: "tracepoint:syscalls:sys_enter_getppid { @[kstack] = count(); }",
        check: |output, _| at_least(stack_total(output), "the total of the `@[kstack]` counts"),
        ferrotrace_only: false,
        cost_target: 0.5,
    },
    Workload {
        name: "ustack_count",
        script: "tracepoint:syscalls:sys_enter_getppid { @[ustack] = count(); }",
        check: |output, _| at_least(stack_total(output), "the total of the `@[ustack]` counts"),
        ferrotrace_only: false,
        cost_target: 0.5,
    },
];

pub fn run(bench: &Bench) -> Vec<Row> {
    let mut rows = Vec::new();
    for workload in &WORKLOADS {
        let mut cost = PerTool::<Samples>::default();
        let mut insns = PerTool::<Samples>::default();
        for run in 1..=RUNS {
            for tool in bench.tools.each().filter(|tool| !workload.ferrotrace_only || tool.name() == "ferrotrace") {
                if cost.get(tool.kind).stopped() {
                    continue;
                }
                match once(bench, tool, workload) {
                    Ok((ns, size)) => {
                        eprintln!(
                            "cost: {} {} run {run}/{RUNS}: {ns:.1} ns/event, {size} insns",
                            tool.name(),
                            workload.name
                        );
                        cost.get_mut(tool.kind).push(ns);
                        insns.get_mut(tool.kind).push(size as f64);
                    }
                    Err(error) => {
                        eprintln!("cost: {} {} failed: {error:#}", tool.name(), workload.name);
                        cost.get_mut(tool.kind).fail(format!("{error:#}"));
                        insns.get_mut(tool.kind).fail(format!("{error:#}"));
                    }
                }
            }
        }
        rows.extend(cost_rows(workload.name, &cost, &insns, workload.cost_target));
    }
    rows
}

/// One measured run: nanoseconds per event and translated instructions.
fn once(bench: &Bench, tool: &Tool, workload: &Workload) -> Result<(f64, u64)> {
    let before: HashSet<u32> = bpf_stats::program_ids()?;
    let mut tracer = Running::spawn(tool.name(), tool.run_script(workload.script))?;
    let id = attach::wait_until_running(&mut tracer, &before, &bench.load)?;
    let start = attach::read_program(&tracer, id)?;
    let mut measured = bench.load.spawn(CALLS)?;
    let pid = u32::try_from(measured.pid()).context("loop pid out of range")?;
    LoadLoop::wait(&mut measured, LOOP_TIMEOUT)?;
    let end = attach::read_program(&tracer, id)?;
    let output = attach::stop(&mut tracer)?;

    let runs = end.run_count.saturating_sub(start.run_count);
    if runs < CALLS {
        bail!("the program ran {runs} times during {CALLS} getppid calls; it printed:\n{}", shown(&tracer));
    }
    let cost = end.cost_since(&start).context("the program did not run")?;
    if let Err(error) = (workload.check)(&output, pid) {
        bail!("{error:#}; {} printed:\n{}", tool.name(), shown(&tracer));
    }
    Ok((cost, end.translated_insns))
}

/// The check that a printed value counted every measured call.
fn at_least(found: Option<u64>, what: &str) -> Result<()> {
    match found {
        None => bail!("no {what} in the output"),
        Some(value) if value < CALLS => bail!("{what} is {value}, less than the {CALLS} calls made"),
        Some(_) => Ok(()),
    }
}
