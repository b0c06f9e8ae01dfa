//! A replay: the script's `begin` programs, then each event in order (the timers of
//! `interval` and `profile` probes fired by the events' clock), then `end`, each program's
//! ring buffer records handed to the runtime's `Runner` as soon as it returns, and the maps
//! printed at the end, as a live run prints them. Creating a replay makes the runtime print
//! stacks from its machine and name addresses only as the events name them.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use ferrotrace_compiler::manifest::{Attach, Manifest};
use ferrotrace_runtime::run::Runner;

use crate::error::{ReplayError, Trap};
use crate::event::{Clocks, Event};
use crate::backend::{Backend, ProgramRunner};
use crate::machine::Machine;
use crate::memory::{self, CONTEXT_REGION};
use crate::program;

/// `struct bpf_perf_event_data`: `pt_regs`, `sample_period`, `addr`.
const PERF_EVENT_CONTEXT: usize = 168 + 8 + 8;
/// A `raw_syscalls` record: the common header, `long id`, then six `unsigned long` arguments
/// (or, leaving, `long ret`).
const RAW_SYSCALL_RECORD: usize = 8 + 8 + 6 * 8;

/// A program to run when a probe fires.
#[derive(Debug, Clone, Copy)]
struct Route {
    program: usize,
    /// What `bpf_get_attach_cookie` returns.
    cookie: u64,
    /// The program is attached to `raw_syscalls` and dispatches by syscall number: its
    /// context is the `raw_syscalls` record made from the syscall's.
    raw_syscalls: bool,
}

/// A timer probe's program and when it fires next.
#[derive(Debug, Clone)]
struct Timer {
    program: usize,
    cookie: u64,
    period_ns: u64,
    /// Fires on every CPU (`profile`), or on the first (`interval`).
    every_cpu: bool,
    next_ns: u64,
}

/// A script's programs over one stream of events.
pub struct Replay {
    manifest: Arc<Manifest>,
    programs: Vec<ProgramRunner>,
    machine: Machine,
    routes: HashMap<String, Rc<[Route]>>,
    /// The routes of the probe of the event before: most events are of the probe before.
    last_routes: Option<(Arc<str>, Rc<[Route]>)>,
    timers: Vec<Timer>,
    /// The task last seen on each CPU: what a timer interrupts.
    running: HashMap<u32, Event>,
    events: u64,
}

impl Replay {
    /// The compiled `elf` and `manifest` ready to replay events of `recorded` probes taken
    /// with `clocks`; an error naming every probe of the script the events cannot have.
    pub fn new(elf: &[u8], manifest: Arc<Manifest>, clocks: Clocks, recorded: &[String], backend: Backend) -> Result<Replay, ReplayError> {
        let programs = program::programs(elf, &manifest)?.into_iter().map(|program| ProgramRunner::new(program, backend)).collect::<Result<Vec<_>, _>>()?;
        let mut routes: HashMap<String, Vec<Route>> = HashMap::new();
        let mut timers = Vec::new();
        let mut missing = Vec::new();
        for (index, spec) in manifest.programs.iter().enumerate() {
            let mut covered = false;
            for target in &spec.targets {
                let cookie = u64::from(target.probe_id);
                match &target.attach {
                    Attach::Begin | Attach::End | Attach::Test { .. } | Attach::Bench { .. } => covered = true,
                    Attach::Interval { period_ns } => {
                        timers.push(Timer { program: index, cookie, period_ns: *period_ns, every_cpu: false, next_ns: clocks.start_ns + period_ns });
                        covered = true;
                    }
                    Attach::Profile { hz } => {
                        let period_ns = 1_000_000_000 / (*hz).max(1);
                        timers.push(Timer { program: index, cookie, period_ns, every_cpu: true, next_ns: clocks.start_ns + period_ns });
                        covered = true;
                    }
                    Attach::Tracepoint { .. } | Attach::RawTracepoint { .. } => {
                        let name = &manifest.probe_names[target.probe_id as usize];
                        if recorded.iter().any(|probe| probe == name) {
                            covered = true;
                        }
                        let route = match &spec.dispatch {
                            Some(dispatch) => {
                                let direction = if name.contains(":sys_exit_") { "sys_exit" } else { "sys_enter" };
                                let base = dispatch.attachments.iter().find(|attachment| attachment.name == direction).map_or(0, |attachment| attachment.key_base);
                                Route { program: index, cookie: u64::from(base), raw_syscalls: true }
                            }
                            None => Route { program: index, cookie, raw_syscalls: false },
                        };
                        routes.entry(name.clone()).or_default().push(route);
                    }
                    other => {
                        return Err(ReplayError::Unsupported(format!(
                            "`{}` cannot be replayed: replay runs tracepoints, raw tracepoints, interval, profile, begin and end probes ({})",
                            spec.probe_name,
                            describe(other)
                        )))
                    }
                }
            }
            if !covered {
                missing.push(spec.probe_name.clone());
            }
        }
        if !missing.is_empty() {
            return Err(ReplayError::Input(format!(
                "the events hold nothing of {}: they recorded {}",
                quoted(&missing),
                if recorded.is_empty() { "no probe".to_string() } else { quoted(recorded) }
            )));
        }
        let machine = Machine::new(&manifest, clocks);
        // Stacks print from the machine's stack maps, named as the recording named them.
        ferrotrace_runtime::output::stacks::install(Box::new(machine.stored_stacks.clone()));
        ferrotrace_runtime::symbolize::use_recorded_names();
        let routes = routes.into_iter().map(|(probe, routes)| (probe, Rc::from(routes))).collect();
        Ok(Replay { manifest, programs, machine, routes, last_routes: None, timers, running: HashMap::new(), events: 0 })
    }

    /// Runs the `begin` programs, as ferrotrace's own process.
    pub fn begin(&mut self, runner: &mut Runner<'_>) -> Result<(), ReplayError> {
        self.run_once(runner, |attach| matches!(attach, Attach::Begin))
    }

    /// Runs the `end` programs, then prints the maps.
    pub fn end(&mut self, runner: &mut Runner<'_>) -> Result<(), ReplayError> {
        self.run_once(runner, |attach| matches!(attach, Attach::End))?;
        runner.print_all_maps(&self.machine)?;
        Ok(())
    }

    /// Replays one event: the timers due before it, then every program of its probe. False
    /// once a program called `exit()`: the run is over.
    pub fn event(&mut self, runner: &mut Runner<'_>, event: &Event) -> Result<bool, ReplayError> {
        if !self.timers.is_empty() {
            self.fire_timers(runner, event.time_ns)?;
            if runner.exit_code().is_some() {
                return Ok(false);
            }
            self.running.insert(event.cpu, event.task_only());
        }
        self.events += 1;
        let routes = match &self.last_routes {
            // Events of one probe share its name: most often the same as the event before's.
            Some((probe, routes)) if Arc::ptr_eq(probe, &event.probe) || *probe == event.probe => Rc::clone(routes),
            _ => {
                let Some(routes) = self.routes.get(&*event.probe) else { return Ok(true) };
                self.last_routes = Some((Arc::clone(&event.probe), Rc::clone(routes)));
                Rc::clone(routes)
            }
        };
        self.machine.set_event(event);
        for route in routes.iter() {
            if route.raw_syscalls {
                self.machine.set_context(&raw_syscall_record(&event.context));
            }
            self.machine.cookie = route.cookie;
            self.run_program(runner, route.program)?;
            if runner.exit_code().is_some() {
                return Ok(false);
            }
            if route.raw_syscalls {
                self.machine.set_context(&event.context);
            }
        }
        Ok(true)
    }

    /// Fires the timers due up to `time_ns`, oldest first.
    pub fn fire_timers(&mut self, runner: &mut Runner<'_>, time_ns: u64) -> Result<(), ReplayError> {
        if self.timers.is_empty() {
            return Ok(());
        }
        while let Some(index) = (0..self.timers.len()).filter(|&at| self.timers[at].next_ns <= time_ns).min_by_key(|&at| self.timers[at].next_ns) {
            let timer = self.timers[index].clone();
            self.timers[index].next_ns += timer.period_ns;
            let cpus = if timer.every_cpu { self.machine.clocks.cpus.max(1) } else { 1 };
            for cpu in 0..cpus {
                let mut event = self.running.get(&cpu).map(Event::task_only).unwrap_or_default();
                event.cpu = cpu;
                event.time_ns = timer.next_ns;
                event.context = vec![0; PERF_EVENT_CONTEXT];
                self.machine.cookie = timer.cookie;
                self.machine.set_event(&event);
                self.run_program(runner, timer.program)?;
                if runner.exit_code().is_some() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// How many events were replayed.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The machine, for what it counted.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    fn run_once(&mut self, runner: &mut Runner<'_>, wanted: impl Fn(&Attach) -> bool) -> Result<(), ReplayError> {
        for index in 0..self.manifest.programs.len() {
            let spec = &self.manifest.programs[index];
            let Some(target) = spec.targets.iter().find(|target| wanted(&target.attach)) else { continue };
            let mut event = Event { time_ns: self.machine.clocks.start_ns, pid: std::process::id(), tid: std::process::id(), ..Event::default() };
            event.set_comm(b"ferrotrace");
            self.machine.cookie = u64::from(target.probe_id);
            self.machine.set_event(&event);
            self.run_program(runner, index)?;
        }
        Ok(())
    }

    /// Runs program `index` on the machine's event, then hands its records to `runner`.
    fn run_program(&mut self, runner: &mut Runner<'_>, index: usize) -> Result<(), ReplayError> {
        let context = memory::address(CONTEXT_REGION, 0);
        let result = self.programs[index].run(&mut self.machine, 0, [context, 0, 0, 0, 0]);
        if let Err(trap) = result {
            return Err(self.fault(index, trap));
        }
        if !self.machine.records.is_empty() {
            for record in self.machine.take_records() {
                runner.handle(&mut self.machine, &record)?;
            }
        }
        Ok(())
    }

    fn fault(&self, index: usize, trap: Trap) -> ReplayError {
        let spec = &self.manifest.programs[index];
        let span = spec.insn_spans.get(trap.slot as usize).copied().unwrap_or(spec.span);
        ReplayError::Fault { probe: spec.probe_name.clone(), span, fault: trap.fault }
    }
}

/// The `raw_syscalls` record of a `syscalls` one: the same header, the syscall number
/// widened from `int` to `long`, the arguments (or return value) where they were.
fn raw_syscall_record(record: &[u8]) -> Vec<u8> {
    let mut raw = vec![0u8; RAW_SYSCALL_RECORD.max(record.len())];
    raw[..record.len()].copy_from_slice(record);
    if record.len() >= 12 {
        let number = i32::from_ne_bytes(record[8..12].try_into().unwrap_or_default());
        raw[8..16].copy_from_slice(&i64::from(number).to_ne_bytes());
    }
    raw
}

fn describe(attach: &Attach) -> &'static str {
    match attach {
        Attach::Kprobe { .. } => "a kprobe's registers are not recorded",
        Attach::Uprobe { .. } | Attach::Usdt { .. } => "a uprobe's registers are not recorded",
        Attach::Fentry { .. } => "fentry arguments are not recorded",
        Attach::Iter { .. } => "an iterator walks live kernel objects",
        Attach::Watchpoint { .. } => "a watchpoint needs the live process",
        Attach::SelfSignal { .. } => "it waits for a signal to the live ferrotrace",
        Attach::PerfCounter { .. } => "counter events are not recorded",
        _ => "not recorded",
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}
