//! Names of code addresses: kernel addresses from `/proc/kallsyms`, user addresses from the ELF
//! symbol tables of the files a process maps. Nothing is read until an address is named, so a
//! script that prints no stack or symbol pays nothing.
//!
//! A user address is named through its process's mappings, which must be known after the
//! process exits. While the probes run, the kernel reports every process's executable mappings,
//! execs, forks and exits (`tracker.rs`, started by `track_processes`); a process that was
//! running before is read from `/proc/PID/maps` when the probes first announce it
//! (`remember_process`, on an `Action::Process` record), or when one of its addresses is named.
//! `processes.rs` keeps what is known of each process.
//!
//! A replay calls `use_recorded_names` first: from then on addresses are named only by what the
//! recording says (`recorded.rs`), as the machine that ran the probes named them.

mod elf;
mod kallsyms;
mod maps;
mod processes;
mod recorded;
mod tracker;

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub use kallsyms::address_of as kernel_symbol_address;
use elf::ElfSymbols;
use maps::Mapping;
use processes::Processes;
use recorded::RecordedNames;
use tracker::Tracker;

/// The kernel symbol containing `address` and the offset into it.
pub fn kernel(address: u64) -> Option<(String, u64)> {
    if let Some(recorded) = &state().recorded {
        return recorded.kernel(address);
    }
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
    state.processes.announce(pid, tracked);
}

/// The file and function at `address` in process `pid`; `None` if no file is mapped there.
pub fn user(pid: u32, address: u64) -> Option<UserFrame> {
    if let Some(recorded) = &state().recorded {
        return recorded.user(pid, address);
    }
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

/// From now on, addresses are named only as `name_recorded_kernel` and `name_recorded_user`
/// say: this machine's kernel and files are not looked at.
pub fn use_recorded_names() {
    state().recorded.get_or_insert_with(RecordedNames::default);
}

/// Kernel `address` is `offset` bytes into `name`, as recorded.
pub fn name_recorded_kernel(address: u64, name: String, offset: u64) {
    state().recorded.get_or_insert_with(RecordedNames::default).add_kernel(address, name, offset);
}

/// User `address` of process `pid` is `frame`, as recorded.
pub fn name_recorded_user(pid: u32, address: u64, frame: UserFrame) {
    state().recorded.get_or_insert_with(RecordedNames::default).add_user(pid, address, frame);
}

/// What is remembered across lookups.
#[derive(Default)]
struct State {
    processes: Processes,
    files: HashMap<PathBuf, Option<Arc<ElfSymbols>>>,
    tracker: Option<Tracker>,
    /// Names a replay's recording holds, used instead of this machine's.
    recorded: Option<RecordedNames>,
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
            self.processes.records_lost();
        }
        for event in events {
            self.processes.apply(event);
        }
    }

    /// The mapping holding `address` in process `pid`, with what processes did applied first.
    fn mapping_of(&mut self, pid: u32, address: u64) -> Option<Mapping> {
        self.catch_up();
        let tracked = self.tracker.is_some();
        self.processes.mapping_of(pid, address, tracked)
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
