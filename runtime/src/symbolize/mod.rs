//! Names of code addresses: kernel addresses from `/proc/kallsyms`, user addresses from the ELF
//! symbol tables of the files a process maps. Nothing is read until an address is named, so a
//! script that prints no stack or symbol pays nothing.
//!
//! A user address is named through its process's mappings, which must be known after the
//! process exits. While the probes run, the kernel reports every process's executable mappings,
//! execs, forks and exits (`tracker.rs`, started by `track_processes`); a process that was
//! running before is read from `/proc/PID/maps` when the probes first announce it
//! (`remember_process`, on an `Action::Process` record), or when one of its addresses is named.

mod elf;
mod kallsyms;
mod maps;
mod tracker;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub use kallsyms::address_of as kernel_symbol_address;
use elf::ElfSymbols;
use maps::Mapping;
use tracker::{TaskEvent, Tracker};

/// Processes that exited unannounced whose mappings are kept, for an announcement still on
/// its way through the ring buffer.
const EXITED_KEPT: usize = 1024;

/// The kernel symbol containing `address` and the offset into it.
pub fn kernel(address: u64) -> Option<(String, u64)> {
    kallsyms::kernel().resolve(address).map(|(name, offset)| (name.to_string(), offset))
}

/// A user address named: the function, the offset into it, and the file it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFrame {
    pub function: Option<(String, u64)>,
    pub file: PathBuf,
}

/// Starts following what processes map, exec, fork and exit, until `stop_tracking`. Returns
/// the events (duplicated) to wait on: they become readable when records wait, which
/// `catch_up` reads.
pub fn track_processes() -> io::Result<Vec<OwnedFd>> {
    let tracker = Tracker::start()?;
    let events = tracker.events().map(|fd| fd.try_clone_to_owned()).collect::<io::Result<_>>()?;
    state().tracker = Some(tracker);
    Ok(events)
}

/// Stops following processes; what was learnt is kept.
pub fn stop_tracking() {
    let mut state = state();
    state.catch_up();
    state.tracker = None;
}

/// Applies what processes did since the last look.
pub fn catch_up() {
    state().catch_up();
}

/// Process `pid` was announced by the probes: its mappings are kept after it exits, and read
/// now from `/proc` unless they are all known already.
pub fn remember_process(pid: u32) {
    let mut state = state();
    state.catch_up();
    let tracked = state.tracker.is_some();
    let process = state.processes.entry(pid).or_default();
    process.announced = true;
    if !process.whole {
        process.read_live(pid, tracked);
    }
}

/// The file and function at `address` in process `pid`; `None` if no file is mapped there.
pub fn user(pid: u32, address: u64) -> Option<UserFrame> {
    let mapping = state().mapping_of(pid, address)?;
    let offset = mapping.file_offset(address)?;
    let symbols = elf_symbols(&mapping.path);
    let function = symbols
        .as_deref()
        .and_then(|symbols| symbols.address_of_offset(offset))
        .and_then(|vaddr| symbols.as_deref()?.resolve(vaddr))
        .map(|(name, at)| (name.to_string(), at));
    Some(UserFrame { function, file: mapping.path })
}

/// What is known of one process's mappings.
#[derive(Default)]
struct Process {
    mappings: Arc<Vec<Mapping>>,
    /// Every mapping it has is known: followed since its exec (or from a fork of a process so
    /// followed), or read from `/proc` while the tracker followed it.
    whole: bool,
    /// The probes took one of its addresses: kept after it exits.
    announced: bool,
    exited: bool,
}

impl Process {
    /// Replaces what is known with `/proc/PID/maps`, if the process still lives; `tracked`
    /// says whether later mappings will be reported.
    fn read_live(&mut self, pid: u32, tracked: bool) -> bool {
        let Some(live) = maps::read(pid) else { return false };
        self.mappings = Arc::new(live);
        self.whole = tracked;
        true
    }

    fn holding(&self, address: u64) -> Option<Mapping> {
        self.mappings.iter().find(|m| m.file_offset(address).is_some()).cloned()
    }
}

/// What is remembered across lookups.
#[derive(Default)]
struct State {
    processes: HashMap<u32, Process>,
    /// Unannounced processes that exited, oldest first: forgotten past `EXITED_KEPT`.
    exited: VecDeque<u32>,
    files: HashMap<PathBuf, Option<Arc<ElfSymbols>>>,
    tracker: Option<Tracker>,
}

fn state() -> std::sync::MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn catch_up(&mut self) {
        let Some(tracker) = self.tracker.as_mut() else { return };
        let lost = tracker.lost;
        let events = tracker.take();
        if tracker.lost != lost {
            // Some process's mapping may be missing: look at `/proc` again where one is.
            self.processes.values_mut().for_each(|p| p.whole = false);
        }
        for event in events {
            self.apply(event);
        }
    }

    fn apply(&mut self, event: TaskEvent) {
        match event {
            TaskEvent::Exec { pid } => {
                let announced = self.processes.get(&pid).is_some_and(|p| p.announced);
                self.processes.insert(pid, Process { whole: true, announced, ..Process::default() });
            }
            TaskEvent::Map { pid, mapping } => {
                let process = self.processes.entry(pid).or_default();
                let mappings = Arc::make_mut(&mut process.mappings);
                mappings.retain(|m| m.end <= mapping.start || mapping.end <= m.start);
                mappings.push(mapping);
            }
            TaskEvent::Fork { pid, parent } => {
                let (mappings, whole) = self.processes.get(&parent).map_or_else(Default::default, |p| (p.mappings.clone(), p.whole));
                self.processes.insert(pid, Process { mappings, whole, ..Process::default() });
            }
            TaskEvent::Exit { pid } => {
                let Some(process) = self.processes.get_mut(&pid) else { return };
                process.exited = true;
                if !process.announced {
                    self.exited.push_back(pid);
                }
                while self.exited.len() > EXITED_KEPT {
                    let oldest = self.exited.pop_front().expect("more than EXITED_KEPT");
                    if self.processes.get(&oldest).is_some_and(|p| p.exited && !p.announced) {
                        self.processes.remove(&oldest);
                    }
                }
            }
        }
    }

    /// The mapping holding `address` in process `pid`: from what is known, else (a library
    /// it loaded before the tracker started) from its live mappings.
    fn mapping_of(&mut self, pid: u32, address: u64) -> Option<Mapping> {
        self.catch_up();
        let tracked = self.tracker.is_some();
        let process = self.processes.entry(pid).or_default();
        if let Some(found) = process.holding(address) {
            return Some(found);
        }
        if process.whole || process.exited || !process.read_live(pid, tracked) {
            return None;
        }
        process.holding(address)
    }
}

/// The symbols of the file at `path`, read once.
fn elf_symbols(path: &PathBuf) -> Option<Arc<ElfSymbols>> {
    if let Some(known) = state().files.get(path) {
        return known.clone();
    }
    let read = ElfSymbols::read(path).map(Arc::new);
    state().files.insert(path.clone(), read.clone());
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(start: u64, path: &str) -> Mapping {
        Mapping { start, end: start + 0x1000, offset: 0, path: PathBuf::from(path) }
    }

    /// Pids far above any real one: a lookup never finds them in `/proc`.
    const PARENT: u32 = u32::MAX - 10;
    const CHILD: u32 = u32::MAX - 11;

    #[test]
    fn a_fork_copies_mappings_an_exec_drops_them_and_a_new_mapping_replaces_what_it_covers() {
        let mut state = State::default();
        state.apply(TaskEvent::Exec { pid: PARENT });
        state.apply(TaskEvent::Map { pid: PARENT, mapping: mapping(0x1000, "/bin/sh") });
        state.apply(TaskEvent::Fork { pid: CHILD, parent: PARENT });
        assert_eq!(state.mapping_of(CHILD, 0x1010), Some(mapping(0x1000, "/bin/sh")));
        state.apply(TaskEvent::Exec { pid: CHILD });
        state.apply(TaskEvent::Map { pid: CHILD, mapping: mapping(0x1800, "/bin/cat") });
        assert_eq!(state.mapping_of(CHILD, 0x1010), None);
        assert_eq!(state.mapping_of(CHILD, 0x1810), Some(mapping(0x1800, "/bin/cat")));
        assert_eq!(state.mapping_of(PARENT, 0x1010), Some(mapping(0x1000, "/bin/sh")));
        state.apply(TaskEvent::Map { pid: PARENT, mapping: mapping(0x1800, "/lib/libc.so") });
        assert_eq!(state.mapping_of(PARENT, 0x1010), None);
    }

    #[test]
    fn announced_processes_outlive_the_unannounced_that_exit_after_them() {
        let mut state = State::default();
        for pid in [PARENT, CHILD] {
            state.apply(TaskEvent::Exec { pid });
            state.apply(TaskEvent::Map { pid, mapping: mapping(0x1000, "/bin/true") });
        }
        state.processes.get_mut(&PARENT).expect("followed").announced = true;
        state.apply(TaskEvent::Exit { pid: PARENT });
        state.apply(TaskEvent::Exit { pid: CHILD });
        assert!(state.mapping_of(CHILD, 0x1010).is_some(), "an exit is kept a while for its announcement");
        for pid in 0..EXITED_KEPT as u32 {
            state.apply(TaskEvent::Exec { pid: 1_000_000 + pid });
            state.apply(TaskEvent::Exit { pid: 1_000_000 + pid });
        }
        assert!(!state.processes.contains_key(&CHILD));
        assert_eq!(state.mapping_of(PARENT, 0x1010), Some(mapping(0x1000, "/bin/true")));
    }
}
