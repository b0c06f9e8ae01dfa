//! The differential oracle: a script's run-once programs (`begin`, `end`) run in the kernel
//! with `BPF_PROG_TEST_RUN` and in the engine, on the same task and CPU, and everything they
//! leave compared: the ring buffer records in order, and every script map entry by entry. Any
//! difference is a bug in one of the two (or in the compiler's assumptions about the kernel);
//! `divergence::first` then finds the first instruction before which the registers differ.
//!
//! Programs whose results depend on what cannot be the same twice (the clock, random numbers,
//! kernel memory, stacks) are skipped, and say why.

use std::collections::BTreeMap;

use ferrotrace_compiler::bpf::opcode as op;
use ferrotrace_compiler::lir::helper;
use ferrotrace_compiler::manifest::{Attach, Manifest, MapId, MapRole};
use ferrotrace_runtime::entry::RawEntry;
use ferrotrace_runtime::session::Session;
use ferrotrace_runtime::{cpus, sys};

use crate::event::{Clocks, Event};
use crate::machine::Machine;
use crate::memory::{self, CONTEXT_REGION};
use crate::program::{self, Program, Slot};

mod divergence;
use crate::backend::{Backend, ProgramRunner};

/// Helpers whose results differ from one run to the next.
const UNREPEATABLE: &[u32] = &[
    helper::KTIME_GET_NS,
    helper::KTIME_GET_BOOT_NS,
    helper::KTIME_GET_TAI_NS,
    helper::JIFFIES64,
    helper::GET_PRANDOM_U32,
    helper::GET_CURRENT_TASK,
    helper::GET_CURRENT_TASK_BTF,
    helper::GET_CURRENT_CGROUP_ID,
    helper::GET_STACKID,
    helper::GET_STACK,
    helper::SEND_SIGNAL,
    helper::GET_FUNC_IP,
    helper::D_PATH,
    helper::SEQ_PRINTF,
];

/// What comparing a script's runs found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Same,
    /// Not compared, and why.
    Skipped(String),
    Differs(String),
}

/// Everything a run leaves behind.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    records: Vec<Vec<u8>>,
    /// Script maps by id: entries sorted by key, each value per CPU.
    maps: BTreeMap<u32, Vec<RawEntry>>,
}

/// Runs the `begin` and `end` programs of a compiled script in the kernel and in the engine
/// (with `backend`) and compares what they left. Root only; pins the calling thread to CPU 0.
pub fn compare_run_once(elf: &[u8], manifest: &Manifest, backend: Backend) -> Result<Verdict, String> {
    let programs = program::programs(elf, manifest).map_err(|error| error.to_string())?;
    let run_once: Vec<usize> = order(manifest);
    if run_once.is_empty() {
        return Ok(Verdict::Skipped("no begin or end program".into()));
    }
    if let Some(reason) = run_once.iter().find_map(|&index| unrepeatable(&programs[index])) {
        return Ok(Verdict::Skipped(reason));
    }
    sys::pin_to_cpu(0).map_err(|error| format!("cannot pin to CPU 0: {error}"))?;
    let start_ns = sys::monotonic_ns();
    let kernel = match in_kernel(elf, manifest, &run_once, start_ns) {
        Ok(kernel) => kernel,
        Err(refused) => return Ok(Verdict::Skipped(format!("the kernel refused it: {refused}"))),
    };
    let engine = in_engine(manifest, &programs, &run_once, start_ns, backend)?;
    for (step, (kernel, engine)) in kernel.iter().zip(&engine).enumerate() {
        if let Some(difference) = describe_difference(manifest, kernel, engine) {
            let program = run_once[step];
            let spec = &manifest.programs[program];
            let at = divergence::first(manifest, &programs, &run_once[..=step], start_ns, backend)
                .map_or_else(|why| format!("(the first differing instruction was not found: {why})"), |found| found.to_string());
            return Ok(Verdict::Differs(format!("after `{}` (program {program}): {difference}; {at}", spec.probe_name)));
        }
    }
    Ok(Verdict::Same)
}

/// The run-once programs in the order the runtime runs them: every `begin`, then every `end`.
fn order(manifest: &Manifest) -> Vec<usize> {
    let with = |wanted: fn(&Attach) -> bool| {
        manifest.programs.iter().enumerate().filter(move |(_, spec)| spec.targets.iter().any(|target| wanted(&target.attach))).map(|(index, _)| index)
    };
    with(|attach| matches!(attach, Attach::Begin)).chain(with(|attach| matches!(attach, Attach::End))).collect()
}

/// Why a program's results cannot be compared, if they cannot.
fn unrepeatable(program: &Program) -> Option<String> {
    program.slots.iter().find_map(|slot| match slot {
        Slot::Op(insn) if insn.code == op::JMP | op::CALL && UNREPEATABLE.contains(&(insn.imm as u32)) => {
            Some(format!("it calls {}, whose result differs run to run", helper::name(insn.imm as u32).unwrap_or("a helper")))
        }
        _ => None,
    })
}

/// What each of `run_once` leaves in the kernel, one outcome per program, in order.
fn in_kernel(elf: &[u8], manifest: &Manifest, run_once: &[usize], start_ns: u64) -> Result<Vec<Outcome>, String> {
    let session = Session::load(elf, manifest, false).map_err(|error| error.to_string())?;
    session.write_config(start_ns).map_err(|error| error.to_string())?;
    let mut events = session.events().map_err(|error| error.to_string())?;
    let mut outcomes = Vec::new();
    for &index in run_once {
        session.run_program(index).map_err(|error| error.to_string())?;
        let mut outcome = Outcome::default();
        if let Some(events) = events.as_mut() {
            events.drain(&mut |record| outcome.records.push(record.to_vec()));
        }
        for id in compared_maps(manifest) {
            let mut entries = session.map_entries(id).map_err(|error| error.to_string())?;
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            outcome.maps.insert(id.0, entries);
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// What each of `run_once` leaves in the engine, one outcome per program, in order.
fn in_engine(manifest: &Manifest, programs: &[Program], run_once: &[usize], start_ns: u64, backend: Backend) -> Result<Vec<Outcome>, String> {
    let mut machine = engine_machine(manifest, start_ns);
    let mut outcomes = Vec::new();
    for &index in run_once {
        run_in_engine(&mut machine, manifest, programs[index].clone(), backend)?;
        let mut outcome = Outcome { records: machine.take_records(), ..Outcome::default() };
        for id in compared_maps(manifest) {
            let mut entries = machine.maps[id.0 as usize].entries();
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            outcome.maps.insert(id.0, entries);
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// A machine as the kernel's session is after `write_config(start_ns)`.
fn engine_machine(manifest: &Manifest, start_ns: u64) -> Machine {
    let online = cpus::online().map_or(1, |online| online.len() as u32);
    Machine::new(manifest, Clocks { start_ns, cpus: online, ..Clocks::default() })
}

/// Runs `program` once on `machine` as `BPF_PROG_TEST_RUN` runs it in this thread.
fn run_in_engine(machine: &mut Machine, manifest: &Manifest, program: Program, backend: Backend) -> Result<(), String> {
    let cookie = manifest.programs[program.index].targets.first().map_or(0, |target| target.probe_id);
    let runner = ProgramRunner::new(program, backend).map_err(|error| error.to_string())?;
    machine.cookie = u64::from(cookie);
    machine.set_event(&this_thread());
    runner.run(machine, 0, [memory::address(CONTEXT_REGION, 0), 0, 0, 0, 0]).map_err(|trap| format!("the engine faulted at slot {}: {}", trap.slot, trap.fault))?;
    Ok(())
}

/// The calling thread, on CPU 0, as `BPF_PROG_TEST_RUN` runs a program in it.
fn this_thread() -> Event {
    let (pid, tid, uid, gid) = sys::thread_identity();
    let mut event = Event { pid, tid, uid, gid, cpu: 0, ..Event::default() };
    let comm = std::fs::read("/proc/thread-self/comm").unwrap_or_default();
    event.set_comm(comm.strip_suffix(b"\n").unwrap_or(&comm));
    event
}

/// The maps a script's results are in: its own (scratch memory and the rest are the
/// implementation's).
fn compared_maps(manifest: &Manifest) -> Vec<MapId> {
    manifest.maps.iter().enumerate().filter(|(_, spec)| matches!(spec.role, MapRole::User(_))).map(|(id, _)| MapId(id as u32)).collect()
}

/// The first difference between the kernel's outcome and the engine's, in words.
fn describe_difference(manifest: &Manifest, kernel: &Outcome, engine: &Outcome) -> Option<String> {
    if kernel.records.len() != engine.records.len() {
        return Some(format!("the kernel sent {} records, the engine {}", kernel.records.len(), engine.records.len()));
    }
    if let Some(at) = kernel.records.iter().zip(&engine.records).position(|(a, b)| a != b) {
        return Some(format!("record {at} differs: kernel {:02x?}, engine {:02x?}", kernel.records[at], engine.records[at]));
    }
    for (id, kernel_entries) in &kernel.maps {
        let name = match &manifest.maps[*id as usize].role {
            MapRole::User(user) => user.name.clone(),
            _ => manifest.maps[*id as usize].symbol.clone(),
        };
        let engine_entries = &engine.maps[id];
        if kernel_entries.len() != engine_entries.len() {
            return Some(format!("map {name} has {} entries in the kernel, {} in the engine", kernel_entries.len(), engine_entries.len()));
        }
        for (kernel_entry, engine_entry) in kernel_entries.iter().zip(engine_entries) {
            if kernel_entry.key != engine_entry.key || !same_values(&kernel_entry.values, &engine_entry.values) {
                return Some(format!("map {name} differs: kernel {kernel_entry:02x?}, engine {engine_entry:02x?}"));
            }
        }
    }
    None
}

/// Values per CPU alike: the kernel holds one per possible CPU, the engine one per online CPU;
/// the CPUs only the kernel has must hold zeroes.
fn same_values(kernel: &[Vec<u8>], engine: &[Vec<u8>]) -> bool {
    let shared = kernel.len().min(engine.len());
    kernel[..shared] == engine[..shared] && kernel[shared..].iter().chain(&engine[shared..]).all(|value| value.iter().all(|&byte| byte == 0))
}
