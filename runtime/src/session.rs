//! A loaded script: its maps and programs (file descriptors), its manifest and what is
//! attached. Loading lives in `loader`, running and attaching probes in `probes`; map access and
//! the event source live here.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use aya::maps::{Map, MapData, RingBuf};
use ferrotrace_compiler::manifest::{config_layout, Manifest, MapId, MapRole};

use crate::attach::Attached;
use crate::entry::RawEntry;
use crate::error::LoadError;
use crate::events::{EventSource, EventsError};
use crate::maps::{KernelMap, MapError};
use crate::{cpus, loader};

/// A compiled script loaded into the kernel.
pub struct Session {
    /// Indexed by `MapId`; the ring buffer's slot is `None` once taken as the event source.
    maps: Vec<Option<OwnedFd>>,
    /// Indexed like `manifest.programs`.
    programs: Vec<OwnedFd>,
    pub(crate) manifest: Manifest,
    /// Every attachment's BPF link: closing one detaches its program.
    pub(crate) links: Vec<OwnedFd>,
    /// The perf events the links attach to, closed last (see `release_perf_events`).
    pub(crate) perf_events: Vec<OwnedFd>,
    /// Where in `links` the script's iterator link is, once attached.
    pub(crate) iterator_link: Option<usize>,
    /// The watchpoints attached, each with the address it watches, for `unwatch`.
    pub(crate) watchpoints: Vec<(u64, Attached)>,
    /// Set once the probes are detached: a watchpoint reported later is not attached.
    pub(crate) detached: bool,
    possible_cpus: usize,
}

impl Session {
    /// Creates the ELF's maps and loads every program of `manifest.programs`. With
    /// `verifier_log`, a rejection carries the verbose verifier log (register states at every
    /// instruction) instead of the plain one.
    pub fn load(elf: &[u8], manifest: &Manifest, verifier_log: bool) -> Result<Session, LoadError> {
        let loaded = loader::load(elf, manifest, verifier_log)?;
        Ok(Session {
            maps: loaded.maps.into_iter().map(Some).collect(),
            programs: loaded.programs,
            manifest: manifest.clone(),
            links: Vec::new(),
            perf_events: Vec::new(),
            iterator_link: None,
            watchpoints: Vec::new(),
            detached: false,
            possible_cpus: cpus::possible()?.len(),
        })
    }

    /// The loaded program of the manifest's program `index`.
    pub(crate) fn program_fd(&self, index: usize) -> BorrowedFd<'_> {
        self.programs[index].as_fd()
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Stores the start time in the config map, if the script has one.
    pub fn write_config(&self, start_ns: u64) -> Result<(), MapError> {
        let Some(id) = self.manifest.config() else {
            return Ok(());
        };
        let mut value = vec![0u8; config_layout::SIZE as usize];
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
            if let (MapRole::Stacks { limit, build_id }, Some(fd)) = (&spec.role, fd) {
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

    /// Takes the ring buffer out of the session as an event source; `None` if the script has
    /// no async actions (or it was taken already).
    pub fn take_events(&mut self) -> Result<Option<EventSource>, EventsError> {
        let Some(id) = self.manifest.ringbuf() else {
            return Ok(None);
        };
        let Some(fd) = self.maps.get_mut(id.0 as usize).and_then(Option::take) else {
            return Ok(None);
        };
        let map = Map::RingBuf(MapData::from_fd(fd)?);
        Ok(Some(EventSource::new(RingBuf::try_from(map)?)?))
    }

    pub(crate) fn kernel_map<T>(&self, id: MapId, use_map: impl FnOnce(KernelMap<'_>) -> Result<T, MapError>) -> Result<T, MapError> {
        let spec = self.manifest.maps.get(id.0 as usize).ok_or_else(|| MapError::Missing { map: format!("#{}", id.0) })?;
        let fd = self
            .maps
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| MapError::Missing { map: spec.symbol.clone() })?;
        let name = match &spec.role {
            MapRole::User(user) => user.name.as_str(),
            _ => spec.symbol.as_str(),
        };
        use_map(KernelMap::new(name, fd.as_fd(), spec.def, self.possible_cpus))
    }
}
