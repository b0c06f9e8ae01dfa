//! A loaded script: the aya object, its manifest and what is attached. Loading, the config
//! map, map access and the event source live here; running and attaching probes in `probes`.

use std::os::fd::AsFd;

use aya::maps::{Map, MapData, RingBuf};
use aya::programs::{Program, ProgramError};
use aya::{Ebpf, EbpfLoader, VerifierLogLevel};
use ferrotrace_compiler::manifest::{config_layout, Manifest, MapId, MapRole, ProgramSpec};

use crate::entry::RawEntry;
use crate::error::{chain, LoadError};
use crate::events::{EventSource, EventsError};
use crate::maps::{KernelMap, MapError};
use crate::probes::AttachedLink;
use crate::{cpus, verifier};

/// A compiled script loaded into the kernel.
pub struct Session {
    pub(crate) ebpf: Ebpf,
    pub(crate) manifest: Manifest,
    pub(crate) links: Vec<AttachedLink>,
    possible_cpus: usize,
}

impl Session {
    /// Loads the ELF's maps and every program of `manifest.programs`. With `verifier_log`, a
    /// rejection carries the verbose verifier log (register states at every instruction)
    /// instead of the plain one. aya keeps no log for programs the verifier accepts.
    pub fn load(elf: &[u8], manifest: &Manifest, verifier_log: bool) -> Result<Session, LoadError> {
        let aligned = AlignedBytes::copy_of(elf);
        let level = if verifier_log {
            VerifierLogLevel::VERBOSE | VerifierLogLevel::STATS
        } else {
            VerifierLogLevel::default()
        };
        let mut ebpf = EbpfLoader::new()
            .verifier_log_level(level)
            .load(aligned.bytes())
            .map_err(|error| LoadError::Object {
                reason: chain(&error),
            })?;
        for (index, spec) in manifest.programs.iter().enumerate() {
            load_program(&mut ebpf, index, spec)?;
        }
        Ok(Session {
            ebpf,
            manifest: manifest.clone(),
            links: Vec::new(),
            possible_cpus: cpus::possible()?.len(),
        })
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
        self.kernel_map(id, |map| map.update(&0u32.to_ne_bytes(), &value))
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

    /// Takes the ring buffer out of the session as an event source; `None` if the script has
    /// no async actions (or it was taken already).
    pub fn take_events(&mut self) -> Result<Option<EventSource>, EventsError> {
        let Some(id) = self.manifest.ringbuf() else {
            return Ok(None);
        };
        let Some(map) = self.ebpf.take_map(&self.manifest.map(id).symbol) else {
            return Ok(None);
        };
        Ok(Some(EventSource::new(RingBuf::try_from(map)?)?))
    }

    fn kernel_map<T>(
        &self,
        id: MapId,
        use_map: impl FnOnce(KernelMap<'_>) -> Result<T, MapError>,
    ) -> Result<T, MapError> {
        let spec = self
            .manifest
            .maps
            .get(id.0 as usize)
            .ok_or_else(|| MapError::Missing {
                map: format!("#{}", id.0),
            })?;
        let data = self
            .ebpf
            .map(&spec.symbol)
            .and_then(map_data)
            .ok_or_else(|| MapError::Missing {
                map: spec.symbol.clone(),
            })?;
        let name = match &spec.role {
            MapRole::User(user) => user.name.as_str(),
            _ => spec.symbol.as_str(),
        };
        use_map(KernelMap::new(
            name,
            data.fd().as_fd(),
            spec.def,
            self.possible_cpus,
        ))
    }
}

/// The map data behind the map kinds ferrotrace creates.
fn map_data(map: &Map) -> Option<&MapData> {
    match map {
        Map::Array(data)
        | Map::HashMap(data)
        | Map::PerCpuArray(data)
        | Map::PerCpuHashMap(data) => Some(data),
        Map::RingBuf(data) => Some(data),
        _ => None,
    }
}

fn load_program(ebpf: &mut Ebpf, index: usize, spec: &ProgramSpec) -> Result<(), LoadError> {
    let program = ebpf
        .program_mut(&spec.symbol)
        .ok_or_else(|| LoadError::MissingProgram {
            symbol: spec.symbol.clone(),
            probe: spec.probe_name.clone(),
        })?;
    let loaded = match program {
        Program::RawTracePoint(program) => program.load(),
        Program::TracePoint(program) => program.load(),
        Program::PerfEvent(program) => program.load(),
        _ => {
            return Err(LoadError::UnsupportedProgram {
                symbol: spec.symbol.clone(),
                probe: spec.probe_name.clone(),
            })
        }
    };
    loaded.map_err(|error| load_error(index, spec, error))
}

fn load_error(index: usize, spec: &ProgramSpec, error: ProgramError) -> LoadError {
    match error {
        ProgramError::LoadError { verifier_log, .. } => {
            let log = verifier_log.to_string();
            let rejection = verifier::parse_log(&log);
            LoadError::Verifier {
                program: index,
                insn: rejection.insn,
                reason: rejection.reason,
                log,
            }
        }
        other => LoadError::Program {
            probe: spec.probe_name.clone(),
            reason: chain(&other),
        },
    }
}

/// A copy of the object in a buffer whose start is 8-byte aligned, as `Ebpf::load` needs.
struct AlignedBytes {
    words: Vec<u64>,
    len: usize,
}

impl AlignedBytes {
    fn copy_of(bytes: &[u8]) -> AlignedBytes {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
            let mut padded = [0u8; 8];
            padded[..chunk.len()].copy_from_slice(chunk);
            *word = u64::from_ne_bytes(padded);
        }
        AlignedBytes {
            words,
            len: bytes.len(),
        }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `words` owns at least `len` initialized bytes and u8 has no alignment needs.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}
