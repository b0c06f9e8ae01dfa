//! Names of code addresses: kernel addresses from `/proc/kallsyms`, user addresses from the ELF
//! symbol tables of the files a process maps. Nothing is read until an address is named, so a
//! script that prints no stack or symbol pays nothing.
//!
//! A process's mappings are read when the probes first announce it (`remember_process`, on an
//! `Action::Process` record), so that its addresses are still named after it exits; addresses
//! the snapshot does not cover (a library loaded later) are looked up in its live mappings.

mod elf;
mod kallsyms;
mod maps;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub use kallsyms::address_of as kernel_symbol_address;
use elf::ElfSymbols;
use maps::Mapping;

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

/// Reads and keeps process `pid`'s mappings now, while it lives.
pub fn remember_process(pid: u32) {
    if let Some(mappings) = maps::read(pid) {
        state().processes.insert(pid, Arc::new(mappings));
    }
}

/// The file and function at `address` in process `pid`; `None` if no file is mapped there.
pub fn user(pid: u32, address: u64) -> Option<UserFrame> {
    let mapping = mapping_of(pid, address)?;
    let offset = mapping.file_offset(address)?;
    let symbols = elf_symbols(&mapping.path);
    let function = symbols
        .as_deref()
        .and_then(|symbols| symbols.address_of_offset(offset))
        .and_then(|vaddr| symbols.as_deref()?.resolve(vaddr))
        .map(|(name, at)| (name.to_string(), at));
    Some(UserFrame { function, file: mapping.path })
}

/// What is remembered across lookups.
#[derive(Default)]
struct State {
    processes: HashMap<u32, Arc<Vec<Mapping>>>,
    files: HashMap<PathBuf, Option<Arc<ElfSymbols>>>,
}

fn state() -> std::sync::MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner)
}

/// The mapping holding `address` in process `pid`: from the snapshot taken when it was
/// announced, else from its live mappings (read and kept).
fn mapping_of(pid: u32, address: u64) -> Option<Mapping> {
    let remembered = state().processes.get(&pid).cloned();
    let holding = |mappings: &[Mapping]| mappings.iter().find(|m| m.file_offset(address).is_some()).cloned();
    if let Some(found) = remembered.as_deref().and_then(|mappings| holding(mappings)) {
        return Some(found);
    }
    let live = maps::read(pid)?;
    let found = holding(&live);
    state().processes.insert(pid, Arc::new(live));
    found
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
