//! `ferrotrace record`: the tracepoints a script uses recorded to a file (`recording`), with
//! the formats and clocks replay needs, until SIGINT or SIGTERM.
//!
//! Each tracepoint gets its own small program (`program.rs`) writing events straight into a
//! ring buffer; the loop here copies them to the file as they come, untouched, each after the
//! names of the code addresses it holds that were not named before (`names`).

mod program;

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use ferrotrace_compiler::catalog::{Catalog, FieldKind};
use ferrotrace_compiler::elf::{write_object, ElfProgram};
use ferrotrace_compiler::manifest::{
    Attach, BpfMapDef, BpfMapType, Manifest, MapId, MapRole, MapSpec, ProgramSpec, ProgramType, Target,
};
use ferrotrace_compiler::span::Span;
use ferrotrace_runtime::session::Session;
use ferrotrace_runtime::{cpus, signals, symbolize, sys};

use crate::error::ReplayError;
use crate::event::Clocks;
use crate::names::Namer;
use crate::relatives::Relative;
use crate::recording::{Header, RecordedPointer, RecordedProbe, Writer};

/// Bytes of a string a pointer field points to that are copied (with its NUL).
pub const STRING_BOUND: u32 = 256;
/// Bytes copied from any other pointer field.
pub const RAW_BOUND: u32 = 64;
/// Room after a record's fixed fields for its `__data_loc` strings.
const DATA_LOC_ROOM: u32 = 256;
/// The ring buffer between the probes and the file: read every `READ_INTERVAL`, it holds
/// 1.6 GB/s of events.
const RING_BYTES: u32 = 16 << 20;
const READ_INTERVAL: Duration = Duration::from_millis(10);
/// Reads (each at most a ring buffer's worth) waiting to be written.
const WRITE_QUEUE: usize = 8;

/// What a recording ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub events: u64,
    pub lost: u64,
}

/// Frames of a stack taken when `record --stacks` asks for them: the kernel's default
/// `perf_event_max_stack`, what `kstack` and `ustack` take.
pub const ALL_FRAMES: u32 = 127;

/// The stacks each event takes: as many frames as the script's deepest `kstack` or `ustack`
/// (the user stack only if it names user addresses), or every frame for `all`.
fn stack_frames(manifest: &Manifest, all: bool) -> (u32, u32) {
    if all {
        return (ALL_FRAMES, ALL_FRAMES);
    }
    let deepest = manifest.maps.iter().filter_map(|map| match map.role {
        MapRole::Stacks { limit, .. } => Some(u32::from(limit)),
        _ => None,
    });
    let kernel = deepest.max().unwrap_or(0);
    let user = if manifest.maps.iter().any(|map| map.role == MapRole::Processes) { kernel } else { 0 };
    (kernel, user)
}

/// The recording's header for the tracepoints of a compiled script: every tracepoint its
/// programs attach to, with its format from `catalog`, the stacks it prints (every stack, with
/// `all_stacks`) and the task's `relatives` it reads (`relatives::read_by`). Probes replay
/// fires by itself (`begin`, `end`, `interval`, `profile`) need no recording; any other is
/// refused.
pub fn plan(manifest: &Manifest, catalog: &dyn Catalog, all_stacks: bool, relatives: &[Relative]) -> Result<Header, ReplayError> {
    let (kernel_stack, user_stack) = stack_frames(manifest, all_stacks);
    let mut probes: Vec<RecordedProbe> = Vec::new();
    for spec in &manifest.programs {
        for target in &spec.targets {
            match &target.attach {
                Attach::Tracepoint { category, name, .. } => {
                    let probe = format!("tracepoint:{category}:{name}");
                    if probes.iter().any(|known| known.name == probe) {
                        continue;
                    }
                    let format = catalog.tracepoint_format(category, name).map_err(|error| ReplayError::Input(error.to_string()))?;
                    let fixed = format.fields.iter().map(|field| field.offset + field.size).max().unwrap_or(8);
                    let room = if format.fields.iter().any(|field| field.kind == FieldKind::DataLocString) { DATA_LOC_ROOM } else { 0 };
                    let pointers = format
                        .fields
                        .iter()
                        .filter(|field| field.kind == FieldKind::Pointer && field.size == 8)
                        .map(|field| {
                            let string = field.c_type.contains("char");
                            RecordedPointer { field: field.name.clone(), offset: field.offset, string, bound: if string { STRING_BOUND } else { RAW_BOUND } }
                        })
                        .collect();
                    probes.push(RecordedProbe { name: probe, category: category.clone(), event: name.clone(), format, context_size: (fixed + room).next_multiple_of(8), pointers, kernel_stack, user_stack, relatives: relatives.to_vec() });
                }
                Attach::Begin | Attach::End | Attach::Interval { .. } | Attach::Profile { .. } => {}
                _ => {
                    return Err(ReplayError::Unsupported(format!(
                        "`{}` cannot be recorded: record takes tracepoints (begin, end, interval and profile probes need no recording)",
                        spec.probe_name
                    )))
                }
            }
        }
    }
    if probes.is_empty() {
        return Err(ReplayError::Input("the script attaches to no tracepoint: there is nothing to record".to_string()));
    }
    let boot_minus_monotonic_ns = sys::boottime_ns().saturating_sub(sys::monotonic_ns());
    let clocks = Clocks {
        start_ns: sys::monotonic_ns(),
        boot_minus_monotonic_ns,
        tai_minus_boot_ns: ferrotrace_runtime::output::tai_minus_boot_ns(),
        cpus: cpus::online().map_or(1, |online| online.len() as u32),
    };
    let uname = sys::uname()?;
    Ok(Header { ferrotrace: env!("CARGO_PKG_VERSION").to_string(), kernel: uname.release, arch: uname.machine, clocks, probes })
}

/// Loads the recording programs for `header`'s probes, attaches them, and writes their events
/// to `out` until SIGINT or SIGTERM.
///
/// This thread only empties the ring buffer; another names the events' addresses and writes
/// them, so a slow first naming (a large binary's symbols read) does not let the ring fill.
pub fn record(header: &Header, out: impl Write + Send, announce: &mut dyn FnMut(usize)) -> Result<Summary, ReplayError> {
    let (elf, manifest) = object(header)?;
    signals::install()?;
    let mut session = Session::load(&elf, &manifest, false).map_err(|error| ReplayError::Unsupported(error.to_string()))?;
    let writer = Writer::new(out, header)?;
    let mut source = session.events().map_err(|error| ReplayError::Unsupported(error.to_string()))?.ok_or_else(|| ReplayError::Unsupported("no ring buffer".into()))?;
    session.attach_all().map_err(|error| ReplayError::Unsupported(error.to_string()))?;
    // User frames are named in their process, which may have exited before its events are
    // read: follow what processes map (as a live `ustack` does) while recording.
    let follow = header.probes.iter().any(|probe| probe.user_stack > 0) && symbolize::track_processes().is_ok();
    announce(header.probes.len());
    let mut events = 0u64;
    // Bounded: a writer that cannot keep up makes the ring fill, and the kernel count what it
    // cannot take, rather than this process grow without end.
    let (batches, received) = mpsc::sync_channel::<Vec<u8>>(WRITE_QUEUE);
    let (detached, written) = std::thread::scope(|scope| {
        let writing = scope.spawn(move || write_batches(writer, header, &received));
        let mut batch = Vec::new();
        let mut detached = None;
        while detached.is_none() {
            if signals::stop_requested() {
                detached = Some(session.detach_all());
            }
            // The programs wake no one: read what came every few milliseconds.
            let read = source.drain(&mut |record: &[u8]| {
                events += 1;
                batch.extend_from_slice(&(record.len() as u32).to_le_bytes());
                batch.extend_from_slice(record);
            });
            if !batch.is_empty() && batches.send(std::mem::take(&mut batch)).is_err() {
                break;
            }
            if read == 0 && detached.is_none() {
                std::thread::sleep(READ_INTERVAL);
            }
        }
        // Hanging up ends the writing thread once it has written every batch.
        drop(batches);
        (detached, writing.join().unwrap_or_else(|_| Err(std::io::Error::other("the writing thread panicked"))))
    });
    if follow {
        symbolize::stop_tracking();
    }
    let mut writer = written?;
    if let Some(Err(error)) = detached {
        return Err(ReplayError::Unsupported(error.to_string()));
    }
    let lost = session.lost_records().map_err(|error| ReplayError::Unsupported(error.to_string()))?;
    if lost > 0 {
        writer.lost(lost)?;
    }
    writer.end(sys::monotonic_ns())?;
    session.release_perf_events();
    Ok(Summary { events, lost })
}

/// Writes each batch of records (each a `u32` length and its bytes) as it comes, until the
/// reading thread hangs up; the writer, to end the file with.
fn write_batches<W: Write>(mut writer: Writer<W>, header: &Header, batches: &mpsc::Receiver<Vec<u8>>) -> std::io::Result<Writer<W>> {
    let mut namer = Namer::default();
    for batch in batches {
        let mut rest = batch.as_slice();
        while let Some((len, after)) = rest.split_first_chunk::<4>() {
            let (record, after) = after.split_at(u32::from_le_bytes(*len) as usize);
            write_event(&mut writer, &mut namer, header, record)?;
            rest = after;
        }
    }
    Ok(writer)
}

/// Writes one event, after the names of its addresses not named before.
fn write_event(writer: &mut Writer<impl Write>, namer: &mut Namer, header: &Header, record: &[u8]) -> std::io::Result<()> {
    let index = record.get(..4).map_or(0, |bytes| u32::from_le_bytes(bytes.try_into().unwrap_or_default()));
    if let Some(probe) = header.probes.get(index as usize) {
        let names = namer.learn(probe, record);
        if !names.is_empty() {
            writer.names(&names)?;
        }
    }
    writer.event(record)
}

/// The ELF and manifest of the recording programs: one per probe, a ring buffer, a lost count.
fn object(header: &Header) -> Result<(Vec<u8>, Manifest), ReplayError> {
    let ring = MapId(0);
    let lost = MapId(1);
    let maps = vec![
        MapSpec { symbol: "ringbuf".into(), def: BpfMapDef { map_type: BpfMapType::RingBuf, key_size: 0, value_size: 0, max_entries: RING_BYTES, flags: 0 }, role: MapRole::RingBuf },
        MapSpec { symbol: "lost".into(), def: BpfMapDef { map_type: BpfMapType::PercpuArray, key_size: 4, value_size: 8, max_entries: 1, flags: 0 }, role: MapRole::Lost },
    ];
    let mut codes = Vec::new();
    let mut programs = Vec::new();
    for (index, probe) in header.probes.iter().enumerate() {
        codes.push(program::recording_program(index as u32, probe, probe.category == "syscalls", ring, lost));
        programs.push(ProgramSpec {
            symbol: format!("record{index}"),
            section: format!("tracepoint/{}/{}", probe.category, probe.event),
            program_type: ProgramType::Tracepoint,
            targets: vec![Target { attach: Attach::Tracepoint { category: probe.category.clone(), name: probe.event.clone(), event_id: probe.format.id }, probe_id: index as u32 }],
            dispatch: None,
            probe_name: probe.name.clone(),
            attach_points: 1,
            span: Span::default(),
            insn_spans: vec![Span::default(); codes[index].insns.len()],
            callbacks: Vec::new(),
        });
    }
    let elf_programs: Vec<ElfProgram<'_>> = programs.iter().zip(&codes).map(|(spec, code)| ElfProgram { symbol: &spec.symbol, section: &spec.section, code }).collect();
    let elf = write_object(&elf_programs, &maps, None).map_err(|error| ReplayError::Object(error.to_string()))?;
    let probe_names = header.probes.iter().map(|probe| probe.name.clone()).collect();
    Ok((elf, Manifest { maps, programs, probe_names, ..Manifest::default() }))
}
