//! A loaded script: its maps and programs (file descriptors), its manifest and what is
//! attached. Loading lives in `loader`, running and attaching probes in `probes`; map access and
//! the event source live here.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use aya::maps::{Map, MapData, RingBuf};
use ferrotrace_compiler::manifest::{config_layout, Manifest, MapId, MapRole, MapSpec};

use crate::attach::Attached;
use crate::entry::RawEntry;
use crate::error::LoadError;
use crate::events::{EventSource, EventsError};
use crate::maps::{KernelMap, MapError};
use crate::{cpus, loader};

/// A compiled script loaded into the kernel. A script run loads it whole; the REPL extends it
/// with each block typed (`extend`), the maps shared by name, and detaches blocks one by one.
pub struct Session {
    /// Indexed by `MapId`.
    maps: Vec<OwnedFd>,
    /// Indexed like `manifest.programs`; `None` for a program not loaded (or detached).
    pub(crate) programs: Vec<Option<OwnedFd>>,
    pub(crate) manifest: Arc<Manifest>,
    /// The object the programs were loaded from, to check that a later compile of the same
    /// blocks (`extend`) produced the same programs.
    elf: Vec<u8>,
    /// Every attachment's BPF link, with the index of its program: closing one detaches it.
    pub(crate) links: Vec<(usize, OwnedFd)>,
    /// The perf events the links attach to, with the index of their program, closed last (see
    /// `release_perf_events`).
    pub(crate) perf_events: Vec<(usize, OwnedFd)>,
    /// Where in `links` the script's iterator link is, once attached.
    pub(crate) iterator_link: Option<usize>,
    /// The watchpoints attached, each with the address it watches, for `unwatch`.
    pub(crate) watchpoints: Vec<(u64, Attached)>,
    /// Set once the probes are detached: a watchpoint reported later is not attached.
    pub(crate) detached: bool,
    /// SIGINT stops an attach in its tracks (the console's Ctrl-C; a script run attaches all,
    /// then stops).
    pub(crate) interruptible: bool,
    possible_cpus: usize,
}

impl Session {
    /// Creates the ELF's maps and loads every program of `manifest.programs`. With
    /// `verifier_log`, a rejection carries the verbose verifier log (register states at every
    /// instruction) instead of the plain one.
    pub fn load(elf: &[u8], manifest: &Manifest, verifier_log: bool) -> Result<Session, LoadError> {
        Session::load_where(elf, manifest, |_| true, verifier_log)
    }

    /// Creates the ELF's maps and loads the programs `wanted` chooses by their index in
    /// `manifest.programs`.
    pub fn load_where(elf: &[u8], manifest: &Manifest, wanted: impl Fn(usize) -> bool, verifier_log: bool) -> Result<Session, LoadError> {
        let maps = loader::create_maps(manifest)?;
        let programs = loader::load_programs(elf, manifest, &maps, wanted, verifier_log)?;
        Ok(Session {
            maps,
            programs,
            manifest: Arc::new(manifest.clone()),
            elf: elf.to_vec(),
            links: Vec::new(),
            perf_events: Vec::new(),
            iterator_link: None,
            watchpoints: Vec::new(),
            detached: false,
            interruptible: false,
            possible_cpus: cpus::possible()?.len(),
        })
    }

    /// Moves the session to `manifest`, a compile of the same script with more after it:
    /// every program loaded now must come out of `elf` unchanged at its index, every map it
    /// keeps is kept (a user map by name, the others by symbol) when its definition and role are
    /// unchanged, and the programs `wanted` chooses among the new ones are loaded. A map whose
    /// definition changed is an error, except the per-program scratch, zeros and dispatch
    /// maps, which the new programs get fresh while the running ones keep theirs. On any
    /// error the session is as it was.
    pub fn extend(&mut self, elf: &[u8], manifest: &Manifest, wanted: impl Fn(usize) -> bool, verifier_log: bool) -> Result<(), LoadError> {
        for index in (0..self.programs.len()).filter(|&index| self.is_loaded(index)) {
            let old = &self.manifest.programs[index];
            let unchanged = manifest.programs.get(index).is_some_and(|new| {
                new.symbol == old.symbol && new.targets == old.targets && loader::program_instructions(elf, new).ok() == loader::program_instructions(&self.elf, old).ok()
            });
            if !unchanged {
                return Err(LoadError::ProgramChanged { probe: old.probe_name.clone() });
            }
        }
        let mut maps = Vec::with_capacity(manifest.maps.len());
        for spec in &manifest.maps {
            let kept = self.manifest.maps.iter().position(|old| same_map(old, spec));
            let fd = match kept {
                Some(old) if self.manifest.maps[old] == *spec => self.maps[old].try_clone().map_err(|error| LoadError::Map { map: spec.symbol.clone(), reason: error.to_string() })?,
                Some(old) if !private_to_programs(&spec.role) => {
                    return Err(LoadError::MapChanged { map: map_name(spec).to_string(), was: describe_map(&self.manifest.maps[old]), now: describe_map(spec) });
                }
                _ => loader::create_map(spec)?,
            };
            maps.push(fd);
        }
        let already = self.programs.len();
        let mut programs = loader::load_programs(elf, manifest, &maps, |index| index >= already && wanted(index), verifier_log)?;
        for (index, loaded) in self.programs.drain(..).enumerate() {
            programs[index] = loaded;
        }
        self.programs = programs;
        self.maps = maps;
        self.manifest = Arc::new(manifest.clone());
        self.elf = elf.to_vec();
        Ok(())
    }

    /// Drops the programs `which` chooses by index (their links must be closed already).
    pub(crate) fn unload(&mut self, which: impl Fn(usize) -> bool) {
        for (index, program) in self.programs.iter_mut().enumerate() {
            if which(index) {
                *program = None;
            }
        }
    }

    /// From now on, SIGINT (`signals::stop_requested`) stops an attach: `attach_where` then
    /// detaches what it attached and returns `AttachError::Interrupted`.
    pub fn interrupt_attaching(&mut self) {
        self.interruptible = true;
    }

    /// Whether program `index` is loaded.
    pub fn is_loaded(&self, index: usize) -> bool {
        self.programs.get(index).is_some_and(Option::is_some)
    }

    /// How often loaded program `index` ran and for how long (counted while
    /// `sys::enable_run_time_stats` is on); `None` for a program not loaded.
    pub fn program_stats(&self, index: usize) -> Option<crate::sys::ProgStats> {
        crate::sys::prog_stats(self.program_fd(index)?).ok()
    }

    /// The loaded program of the manifest's program `index`.
    pub(crate) fn program_fd(&self, index: usize) -> Option<BorrowedFd<'_>> {
        self.programs.get(index)?.as_ref().map(AsFd::as_fd)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest, shared: what a `Runner` decodes records with.
    pub fn shared_manifest(&self) -> Arc<Manifest> {
        Arc::clone(&self.manifest)
    }

    /// Stores the start time, and the values of the `getopt` options read at load time, in the
    /// config map, if the script has one.
    pub fn write_config(&self, start_ns: u64) -> Result<(), MapError> {
        let Some(id) = self.manifest.config() else {
            return Ok(());
        };
        let mut value = vec![0u8; config_layout::size_with(&self.manifest.params) as usize];
        for param in &self.manifest.params {
            let at = param.offset as usize;
            value[at..at + param.value.len()].copy_from_slice(&param.value);
        }
        let start = config_layout::START_NS as usize;
        value[start..start + 8].copy_from_slice(&start_ns.to_ne_bytes());
        let ncpus = config_layout::NCPUS as usize;
        let online = crate::cpus::online().map_or(1, |cpus| cpus.len()) as u64;
        value[ncpus..ncpus + 8].copy_from_slice(&online.to_ne_bytes());
        let one = config_layout::ONE as usize;
        value[one..one + 8].copy_from_slice(&1u64.to_ne_bytes());
        let tai = config_layout::TAI_OFFSET_NS as usize;
        value[tai..tai + 8].copy_from_slice(&crate::output::clock::tai_minus_boot_ns().to_ne_bytes());
        self.kernel_map(id, |map| map.update(&0u32.to_ne_bytes(), &value))
    }

    /// The script's stack maps, for printing stacks: each one's limit, whether its frames are
    /// build ids, and a descriptor of it.
    pub fn stack_maps(&self) -> Result<Vec<(u8, bool, OwnedFd)>, MapError> {
        let mut stack_maps = Vec::new();
        for (spec, fd) in self.manifest.maps.iter().zip(&self.maps) {
            if let MapRole::Stacks { limit, build_id } = &spec.role {
                let copy = fd.try_clone().map_err(|source| MapError::Syscall { map: spec.symbol.clone(), operation: "F_DUPFD_CLOEXEC", source })?;
                stack_maps.push((*limit, *build_id, copy));
            }
        }
        Ok(stack_maps)
    }

    /// Every entry of a map, values split per possible CPU for per-CPU maps.
    pub fn map_entries(&self, id: MapId) -> Result<Vec<RawEntry>, MapError> {
        self.kernel_map(id, |map| map.entries())
    }

    /// Deletes every entry (zeroes every value of an array).
    pub fn clear_map(&self, id: MapId) -> Result<(), MapError> {
        self.kernel_map(id, |map| map.clear())
    }

    /// Zeroes every value, keeping the keys.
    pub fn zero_map(&self, id: MapId) -> Result<(), MapError> {
        self.kernel_map(id, |map| map.zero())
    }

    /// How many ring buffer records the programs have lost so far (the ring buffer was full),
    /// summed over CPUs; 0 for a script that sends none.
    pub fn lost_records(&self) -> Result<u64, MapError> {
        let Some(id) = self.manifest.lost() else {
            return Ok(0);
        };
        let entries = self.map_entries(id)?;
        let per_cpu = entries.iter().flat_map(|entry| &entry.values);
        Ok(per_cpu.filter_map(|value| Some(u64::from_ne_bytes(value.get(..8)?.try_into().ok()?))).sum())
    }

    /// The ring buffer as an event source; `None` if the script has no async actions.
    pub fn events(&self) -> Result<Option<EventSource>, EventsError> {
        self.ring_buffer()?.map(EventSource::new).transpose()
    }

    /// The ring buffer, to read; `None` if the script has no async actions.
    pub fn ring_buffer(&self) -> Result<Option<RingBuf<MapData>>, EventsError> {
        let Some(id) = self.manifest.ringbuf() else {
            return Ok(None);
        };
        let fd = self.maps[id.0 as usize].try_clone().map_err(|source| EventsError::Wait { operation: "F_DUPFD_CLOEXEC", source })?;
        let map = Map::RingBuf(MapData::from_fd(fd)?);
        Ok(Some(RingBuf::try_from(map)?))
    }

    pub(crate) fn kernel_map<T>(&self, id: MapId, use_map: impl FnOnce(KernelMap<'_>) -> Result<T, MapError>) -> Result<T, MapError> {
        let spec = self.manifest.maps.get(id.0 as usize).ok_or_else(|| MapError::Missing { map: format!("#{}", id.0) })?;
        let fd = self.maps.get(id.0 as usize).ok_or_else(|| MapError::Missing { map: spec.symbol.clone() })?;
        use_map(KernelMap::new(map_name(spec), fd.as_fd(), spec.def, self.possible_cpus))
    }
}

/// Whether `new` is the map `old` was, in a later compile of the same script: a user map by
/// its name, any other by its symbol.
fn same_map(old: &MapSpec, new: &MapSpec) -> bool {
    match (&old.role, &new.role) {
        (MapRole::User(old), MapRole::User(new)) => old.name == new.name,
        (MapRole::User(_), _) | (_, MapRole::User(_)) => false,
        _ => old.symbol == new.symbol,
    }
}

/// Maps only the programs that use them read, sized for those programs: the programs of a
/// later compile may get their own.
fn private_to_programs(role: &MapRole) -> bool {
    matches!(role, MapRole::Scratch | MapRole::Zeros | MapRole::SyscallDispatch)
}

/// A user map's name (`@opens`), or an internal map's symbol.
fn map_name(spec: &MapSpec) -> &str {
    match &spec.role {
        MapRole::User(user) => user.name.as_str(),
        _ => spec.symbol.as_str(),
    }
}

/// A map's kind and sizes as an error message says them.
fn describe_map(spec: &MapSpec) -> String {
    let def = &spec.def;
    format!("{:?} of {} entries, {}-byte keys, {}-byte values", def.map_type, def.max_entries, def.key_size, def.value_size)
}
