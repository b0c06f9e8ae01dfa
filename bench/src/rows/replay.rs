//! The replay row: getppid events recorded for real from the load loop, replayed in process
//! through `@[comm] = count()` on the JIT until 10,000,000 have run (events per second on one
//! core), against the interpreter; the JIT's compile time of a program of about 1,000
//! instructions; and what recording costs in the kernel per event, beside a `printf` of the
//! same fields. bpftrace has no replay, so the rows have no comparison.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ferrotrace_compiler::driver::{compile_with, Keep};
use ferrotrace_compiler::options::CompileOptions;
use ferrotrace_replay::backend::Backend;
use ferrotrace_replay::catalog::ReplayCatalog;
use ferrotrace_replay::jit::JitProgram;
use ferrotrace_replay::recording::{self, Recording};
use ferrotrace_replay::replay::Replay;
use ferrotrace_replay::{program, Event};
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::output::{printer, Format};
use ferrotrace_runtime::run::Runner;
use ferrotrace_runtime::tracefs::Tracefs;

use crate::bpf_stats;
use crate::load_loop;
use crate::rows::attach;
use crate::process::Running;
use crate::report::{Cell, Row, Target, Unit};
use crate::rows::Bench;
use crate::stats::Samples;

/// getppid calls recorded, and events replayed in all.
const RECORDED: u64 = 200_000;
const REPLAYED: u64 = 10_000_000;
const SCRIPT: &str = "tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }";
const TIMEOUT: Duration = Duration::from_secs(60);
/// Statements of the program the JIT's compile time is measured on: about 1,000 instructions.
const STATEMENTS: usize = 25;

/// A `printf` of what a recorded getppid event holds: the task, the clock, the CPU, the cgroup,
/// `jiffies`, the task pointer and the record's one field.
const PRINTF_OF_THE_SAME: &str = r#"tracepoint:syscalls:sys_enter_getppid { printf("%d %d %d %d %d %d %d %d %d %s %d\n", pid, tid, uid, gid, nsecs, cpu, cgroup, jiffies, curtask, comm, args.__syscall_nr); }"#;

pub fn run(bench: &Bench) -> Vec<Row> {
    let (mut jit, mut interpreted, mut compile) = (Samples::default(), Samples::default(), Samples::default());
    let (mut record_cost, mut printf_cost) = (Samples::default(), Samples::default());
    match record(bench) {
        Ok((recording, cost)) => {
            record_cost.push(cost);
            for (backend, samples) in [(Backend::Jit, &mut jit), (Backend::Interpreter, &mut interpreted)] {
                match events_per_second(&recording, backend) {
                    Ok(rate) => samples.push(rate),
                    Err(error) => samples.fail(format!("{error:#}")),
                }
            }
        }
        Err(error) => {
            eprintln!("replay: failed: {error:#}");
            for samples in [&mut jit, &mut interpreted, &mut record_cost] {
                samples.fail(format!("{error:#}"));
            }
        }
    }
    match printf_cost_per_event(bench) {
        Ok(cost) => printf_cost.push(cost),
        Err(error) => printf_cost.fail(format!("{error:#}")),
    }
    match compile_times() {
        Ok((insns, times)) => {
            eprintln!("replay: the JIT compiled {insns} instructions");
            times.into_iter().for_each(|ms| compile.push(ms));
        }
        Err(error) => compile.fail(format!("{error:#}")),
    }
    vec![
        Row::new("replay", "10M getppid events, JIT", Unit::PerSecond, jit.cell(), Cell::NotRun).uncompared().target(Target::AtLeast(20e6)),
        Row::new("replay", "10M getppid events, interpreter", Unit::PerSecond, interpreted.cell(), Cell::NotRun).uncompared(),
        Row::new("replay", "JIT compile, ~1,000 insns", Unit::Ms, compile.cell(), Cell::NotRun).uncompared().target(Target::Below(5.0)),
        Row::new("replay", "record: kernel cost", Unit::NsPerEvent, record_cost.cell(), Cell::NotRun).uncompared(),
        Row::new("replay", "printf of the same fields: kernel cost", Unit::NsPerEvent, printf_cost.cell(), Cell::NotRun).uncompared(),
    ]
}

/// The load loop's getppid calls, recorded by `ferrotrace record`, and the recording program's
/// kernel time per event meanwhile.
fn record(bench: &Bench) -> Result<(Recording, f64)> {
    let path = bench.scratch.path("getppid.ftrec");
    let mut command = bench.tools.ferrotrace.command();
    command.arg("-o").arg(&path).args(["-e", "tracepoint:syscalls:sys_enter_getppid { }", "record"]);
    let cost = kernel_cost(bench, "ferrotrace record", command)?;
    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut recording = recording::read(std::io::BufReader::new(file))?;
    recording.events.retain(|event| event.comm.starts_with(load_loop::COMM.as_bytes()) && event.comm[load_loop::COMM.len()] == 0);
    eprintln!("replay: recorded {} getppid calls of the loop at {cost:.0} ns each", recording.events.len());
    // The loop's calls, and the burst that found the recording program running.
    if (recording.events.len() as u64) < RECORDED {
        bail!("{} of the load loop's {RECORDED} calls were recorded", recording.events.len());
    }
    Ok((recording, cost))
}

/// The kernel time per event of `PRINTF_OF_THE_SAME`.
fn printf_cost_per_event(bench: &Bench) -> Result<f64> {
    let command = bench.tools.ferrotrace.run_script(PRINTF_OF_THE_SAME);
    kernel_cost(bench, "ferrotrace printf", command)
}

/// Runs `command` (a tracer of getppid), makes the load loop's calls, stops it: the kernel
/// time per run of its program meanwhile.
fn kernel_cost(bench: &Bench, name: &str, command: std::process::Command) -> Result<f64> {
    let before = bpf_stats::program_ids()?;
    let mut tracer = Running::spawn(name, command)?;
    let id = attach::wait_until_running(&mut tracer, &before, &bench.load)?;
    let start = bpf_stats::read(id)?.ok_or_else(|| anyhow!("{name}'s program went away"))?;
    bench.load.run(RECORDED, TIMEOUT)?;
    let end = bpf_stats::read(id)?.ok_or_else(|| anyhow!("{name}'s program went away"))?;
    attach::stop(&mut tracer)?;
    end.cost_since(&start).ok_or_else(|| anyhow!("{name}'s program did not run"))
}

/// Replays `recording` over and over until `REPLAYED` events have run: events per second.
fn events_per_second(recording: &Recording, backend: Backend) -> Result<f64> {
    let catalog = KernelCatalog::new(Tracefs::find_or_mount(true)?);
    let formats = recording.header.probes.iter().map(|probe| ((probe.category.clone(), probe.event.clone()), probe.format.clone())).collect();
    let catalog = ReplayCatalog::recorded(&catalog, formats, recording.header.task_members());
    let compiled = compile_with(SCRIPT, &catalog, &CompileOptions::default(), Keep::default()).map_err(|_| anyhow!("`{SCRIPT}` does not compile"))?;
    let manifest = Arc::new(compiled.manifest);
    let probes: Vec<String> = recording.header.probes.iter().map(|probe| probe.name.clone()).collect();
    let mut replay = Replay::new(&compiled.elf, Arc::clone(&manifest), recording.header.clocks.clone(), &probes, backend)?;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut runner = Runner::new(Arc::clone(&manifest), printer(Format::Text, &mut out, &mut err));
    let events: &[Event] = &recording.events;
    let started = Instant::now();
    let mut replayed = 0;
    while replayed < REPLAYED {
        for event in events.iter().take((REPLAYED - replayed) as usize) {
            replay.event(&mut runner, event)?;
        }
        replayed += events.len().min((REPLAYED - replayed) as usize) as u64;
    }
    let elapsed = started.elapsed().as_secs_f64();
    replay.end(&mut runner)?;
    drop(runner);
    let printed = String::from_utf8_lossy(&out);
    if !printed.contains(&format!("@[loop]: {REPLAYED}")) {
        bail!("the replay printed {printed:?}, not {REPLAYED} events of `loop`");
    }
    Ok(REPLAYED as f64 / elapsed)
}

/// The JIT's compile time of one program of about 1,000 instructions, twenty times: its size
/// and the milliseconds of each.
fn compile_times() -> Result<(usize, Vec<f64>)> {
    let body: String = (0..STATEMENTS).map(|at| format!("@m{at}[pid, {at}] = count(); if (tid > {at}) {{ @s{at} = sum(tid * {at}); }} ")).collect();
    let script = format!("begin {{ {body} }}");
    let catalog = KernelCatalog::new(Tracefs::find_or_mount(true)?);
    let compiled = compile_with(&script, &catalog, &CompileOptions::default(), Keep::default()).map_err(|_| anyhow!("the generated program does not compile"))?;
    let programs = program::programs(&compiled.elf, &compiled.manifest)?;
    let program = programs.first().ok_or_else(|| anyhow!("no program"))?;
    let times = (0..20)
        .map(|_| {
            let started = Instant::now();
            JitProgram::compile(program).map(|_| started.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<Vec<f64>, _>>()?;
    Ok((program.slots.len(), times))
}
