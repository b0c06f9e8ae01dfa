//! Loading a compiled object into the kernel with the bpf syscall: its maps, then its programs
//! with their map loads pointed at the new maps.
//!
//! The object is ferrotrace's own ELF (`ferrotrace_compiler::elf`), read with the `object`
//! crate: for each program of the manifest, the section under its symbol and that section's
//! `R_BPF_64_64` relocations, each naming the map an `ld_imm64` loads. Nothing here reads the
//! kernel's BTF: a fresh compile's offsets are this kernel's, so its CO-RE relocations have
//! nothing to move (a pack from another kernel is moved before, by `relocate`), and skipping it
//! keeps start-up at a few milliseconds and a few MiB (aya's loader parses all of vmlinux's BTF
//! first).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use ferrotrace_compiler::manifest::{Manifest, MapSpec, ProgramSpec, ProgramType, RuntimeSettings};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

use crate::error::LoadError;
use crate::sys::prog_type;
use crate::attach;
use crate::{func_btf, sys, verifier};

/// `BPF_PSEUDO_MAP_FD`: the `ld_imm64` source register that says "imm is a map fd".
const PSEUDO_MAP_FD: u8 = 1;
/// `BPF_PSEUDO_MAP_VALUE`: "imm is an array map's fd, the second slot's imm an offset into its
/// value"; the compiler writes it, the fd goes in as for a map.
const PSEUDO_MAP_VALUE: u8 = 2;
const INSN_SIZE: usize = 8;

/// Verifier log levels: the rejected path with statistics, or every instruction's state.
const LOG_ON_REJECTION: u32 = 1 | 4;
const LOG_VERBOSE: u32 = 2 | 4;
/// The log buffer starts here and grows (up to the kernel's limit and the script's `log_size`)
/// while the log does not fit; the kernel refuses buffers below `LOG_MIN_BYTES`.
const LOG_START_BYTES: usize = 64 * 1024;
const LOG_MIN_BYTES: usize = 128;
const LOG_MAX_BYTES: usize = 16 * 1024 * 1024;

/// Creates every map of `manifest`, indexed like `manifest.maps`.
pub(crate) fn create_maps(manifest: &Manifest) -> Result<Vec<OwnedFd>, LoadError> {
    manifest.maps.iter().map(create_map).collect()
}

/// Creates one map as `spec` defines it.
pub(crate) fn create_map(spec: &MapSpec) -> Result<OwnedFd, LoadError> {
    let def = &spec.def;
    sys::map_create(&spec.symbol, def.map_type as u32, def.key_size, def.value_size, def.max_entries, def.flags)
        .map_err(|error| LoadError::Map { map: spec.symbol.clone(), reason: error.to_string() })
}

/// Loads the programs of `elf` that `wanted` chooses by their index in `manifest.programs`,
/// each map load pointed at `maps` (indexed like `manifest.maps`); `None` for the others. A
/// verifier rejection carries the log, verbose when `verbose_log`.
pub(crate) fn load_programs(
    elf: &[u8],
    manifest: &Manifest,
    maps: &[OwnedFd],
    wanted: impl Fn(usize) -> bool,
    verbose_log: bool,
) -> Result<Vec<Option<OwnedFd>>, LoadError> {
    let file = object::File::parse(elf).map_err(|error| object_error(&error))?;
    manifest
        .programs
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            if !wanted(index) {
                return Ok(None);
            }
            let code = program_code(&file, spec, manifest, maps)?;
            load_program(index, spec, &manifest.settings, &code, verbose_log).map(Some)
        })
        .collect()
}

/// The instructions of `spec`'s program with every map load holding its map's fd.
fn program_code(file: &object::File<'_>, spec: &ProgramSpec, manifest: &Manifest, maps: &[OwnedFd]) -> Result<Vec<u8>, LoadError> {
    let (section, start, code) = program_section(file, spec)?;
    let mut code = code.to_vec();
    for (offset, relocation) in section.relocations() {
        let RelocationTarget::Symbol(target) = relocation.target() else { continue };
        let name = file.symbol_by_index(target).and_then(|symbol| symbol.name()).map_err(|error| object_error(&error))?;
        let map = manifest.maps.iter().position(|map| map.symbol == name).ok_or_else(|| LoadError::Object {
            reason: format!("program `{}` loads `{name}`, which is not a map", spec.symbol),
        })?;
        let at = (offset as usize).checked_sub(start).filter(|at| at % INSN_SIZE == 0 && at + INSN_SIZE <= code.len());
        let Some(at) = at else { continue };
        if code[at + 1] >> 4 != PSEUDO_MAP_VALUE {
            code[at + 1] = (code[at + 1] & 0x0f) | (PSEUDO_MAP_FD << 4);
        }
        code[at + 4..at + 8].copy_from_slice(&maps[map].as_raw_fd().to_ne_bytes());
    }
    Ok(code)
}

/// The instructions of `spec`'s program as the ELF holds them, before any map is filled in.
pub(crate) fn program_instructions(elf: &[u8], spec: &ProgramSpec) -> Result<Vec<u8>, LoadError> {
    let file = object::File::parse(elf).map_err(|error| object_error(&error))?;
    Ok(program_section(&file, spec)?.2.to_vec())
}

/// The section holding `spec`'s program, where in it the program starts, and its bytes.
fn program_section<'d, 'f>(file: &'f object::File<'d>, spec: &ProgramSpec) -> Result<(object::Section<'d, 'f>, usize, &'d [u8]), LoadError> {
    let missing = || LoadError::MissingProgram { symbol: spec.symbol.clone(), probe: spec.probe_name.clone() };
    let symbol = file.symbol_by_name(&spec.symbol).ok_or_else(missing)?;
    let section = symbol.section_index().and_then(|index| file.section_by_index(index).ok()).ok_or_else(missing)?;
    let start = symbol.address() as usize;
    let data = section.data().map_err(|error| object_error(&error))?;
    let code = data.get(start..start + symbol.size() as usize).ok_or_else(missing)?;
    Ok((section, start, code))
}

/// Loads one program; on rejection loads it again with a log buffer to say why.
fn load_program(index: usize, spec: &ProgramSpec, settings: &RuntimeSettings, code: &[u8], verbose_log: bool) -> Result<OwnedFd, LoadError> {
    if let Some(refusal) = attach::refusal(spec) {
        return Err(refusal);
    }
    let function = match spec.program_type {
        ProgramType::Fentry | ProgramType::Fexit => Some(attach::fentry::target(spec)?),
        ProgramType::Iter => Some(attach::iter::target(spec)?),
        _ => None,
    };
    let expected_attach_type = function.as_ref().map_or_else(|| attach::expected_attach_type(spec), |target| target.attach_type);
    let prog_type = match spec.program_type {
        ProgramType::RunOnce | ProgramType::RawTracepoint => prog_type::RAW_TRACEPOINT,
        ProgramType::Tracepoint => prog_type::TRACEPOINT,
        ProgramType::PerfEvent => prog_type::PERF_EVENT,
        ProgramType::Kprobe => prog_type::KPROBE,
        ProgramType::Fentry | ProgramType::Fexit | ProgramType::Iter => prog_type::TRACING,
    };
    let btf = func_btf::load(spec)
        .map_err(|error| LoadError::Program { probe: spec.probe_name.clone(), reason: format!("cannot load the BTF of its loop bodies: {error}") })?;
    let license = std::ffi::CString::new(settings.license.as_str()).ok();
    let program = sys::ProgLoad {
        expected_attach_type,
        attach_btf_id: function.as_ref().map_or(0, |target| target.btf_id),
        attach_btf_object: function.as_ref().and_then(|target| target.module_btf.as_ref()).map(|object| object.as_fd()),
        attach_program: function.as_ref().and_then(|target| target.program.as_ref()).map(|program| program.as_fd()),
        functions: btf.as_ref().map(|btf| (btf.fd.as_fd(), btf.records.as_slice())),
        license: license.as_deref(),
        ..sys::ProgLoad::new(prog_type, &spec.symbol, code)
    };
    let first_error = match sys::prog_load(&program, None) {
        Ok(fd) => return Ok(fd),
        Err(error) => error,
    };
    let level = if verbose_log { LOG_VERBOSE } else { LOG_ON_REJECTION };
    let mut log = vec![0u8; LOG_START_BYTES.min(settings.log_size as usize).max(LOG_MIN_BYTES)];
    loop {
        match sys::prog_load(&program, Some((&mut log, level))) {
            // Accepted the second time: report the first refusal as it was.
            Ok(_) => return Err(LoadError::Program { probe: spec.probe_name.clone(), reason: first_error.to_string() }),
            Err(error) if error.raw_os_error() == Some(libc::ENOSPC) && log.len() < LOG_MAX_BYTES.min(settings.log_size as usize) => {
                log = vec![0u8; log.len() * 4];
            }
            Err(error) => {
                let text = log_text(&log);
                if text.is_empty() {
                    return Err(LoadError::Program { probe: spec.probe_name.clone(), reason: error.to_string() });
                }
                let rejection = verifier::parse_log(&text);
                return Err(LoadError::Verifier { program: index, insn: rejection.insn, reason: rejection.reason, log: text });
            }
        }
    }
}

/// The log up to its NUL.
fn log_text(log: &[u8]) -> String {
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    String::from_utf8_lossy(&log[..end]).trim_end().to_string()
}

fn object_error(error: &object::Error) -> LoadError {
    LoadError::Object { reason: error.to_string() }
}
