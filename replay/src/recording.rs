//! The recording file (`.ftrec`): what `ferrotrace record` captured, as `replay` reads it.
//!
//! ```text
//! magic   "FTREC\0" and a u16 version (2; version 1 had no stacks), little-endian
//! header  u32 length, then JSON: the ferrotrace and kernel that recorded, the clocks, and for
//!         each probe its tracepoint format, the pointer fields whose memory was copied, the
//!         stack frames taken and the task's relatives copied (`relatives`)
//! frames  u32 length, u8 kind, payload; kind 1 an event as the recording program wrote it
//!         (`layout`), kind 2 the events lost so far (u64), kind 3 the end (u64 time), kind 4
//!         JSON names of code addresses (`names::Names`), before the first event holding them
//! ```
//!
//! Events are kept as the kernel wrote them, so recording costs one copy per event; a
//! truncated file (a recorder killed mid-write) replays up to its last whole frame.

use std::io::{self, Read, Write};
use std::sync::Arc;

use ferrotrace_compiler::catalog::TracepointFormat;
use serde::{Deserialize, Serialize};

use crate::error::ReplayError;
use crate::event::{Chunk, Clocks, Event};
use crate::names::Names;
use crate::relatives::Relative;

pub const MAGIC: &[u8; 6] = b"FTREC\0";
pub const VERSION: u16 = 2;
/// The oldest version this ferrotrace reads.
const OLDEST_VERSION: u16 = 1;
const FRAME_EVENT: u8 = 1;
const FRAME_LOST: u8 = 2;
const FRAME_END: u8 = 3;
const FRAME_NAMES: u8 = 4;

/// What the recording says of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The ferrotrace that recorded.
    pub ferrotrace: String,
    /// `uname -r` and `uname -m` of the recording machine.
    pub kernel: String,
    pub arch: String,
    pub clocks: Clocks,
    /// The recorded probes; an event's first word is its index here.
    pub probes: Vec<RecordedProbe>,
}

/// One recorded tracepoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedProbe {
    /// `tracepoint:CATEGORY:NAME`.
    pub name: String,
    pub category: String,
    pub event: String,
    pub format: TracepointFormat,
    /// The record bytes copied: the fixed fields, and room for `__data_loc` strings.
    pub context_size: u32,
    /// The pointer fields whose memory was copied, in record order.
    pub pointers: Vec<RecordedPointer>,
    /// Kernel and user stack frames taken per event (0: none).
    #[serde(default)]
    pub kernel_stack: u32,
    #[serde(default)]
    pub user_stack: u32,
    /// The task's relatives copied into each event (`ppid`, `pcomm`, ...), after the stacks.
    #[serde(default)]
    pub relatives: Vec<Relative>,
}

/// A pointer field and the memory copied from where it pointed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedPointer {
    pub field: String,
    /// The field's offset in the tracepoint record.
    pub offset: u32,
    /// A NUL-terminated string (`char *`), or raw bytes.
    pub string: bool,
    /// Bytes copied at most.
    pub bound: u32,
}

/// Where the recording program writes each part of an event.
pub mod layout {
    /// `u32` probe index, `u32` CPU.
    pub const PROBE: usize = 0;
    pub const CPU: usize = 4;
    /// `u64` each: `bpf_get_current_pid_tgid`, `_uid_gid`, `ktime_get_ns`, the cgroup id,
    /// `jiffies64`, `get_current_task`.
    pub const PID_TGID: usize = 8;
    pub const UID_GID: usize = 16;
    pub const TIME: usize = 24;
    pub const CGROUP: usize = 32;
    pub const JIFFIES: usize = 40;
    pub const TASK: usize = 48;
    /// 16 bytes.
    pub const COMM: usize = 56;
    /// The record copy.
    pub const CONTEXT: usize = 72;
    /// Each pointer's copy after the context: an `i64` the read returned, then `bound` bytes.
    pub const POINTER_HEADER: usize = 8;
    /// After the pointers, the kernel stack then the user stack, each taken: the `i64`
    /// `bpf_get_stack` returned (bytes written, or an error), then room for the frames.
    pub const STACK_HEADER: usize = 8;

    /// Where pointer `index`'s copy starts, for a context of `context_size` and the bounds of
    /// the pointers before it.
    pub fn pointer_start(context_size: u32, bounds_before: impl Iterator<Item = u32>) -> usize {
        CONTEXT + context_size as usize + bounds_before.map(|bound| POINTER_HEADER + bound as usize).sum::<usize>()
    }
}

impl Header {
    /// The recording kernel's `task_struct` member offsets of the relatives recorded.
    pub fn task_members(&self) -> Vec<(String, u32)> {
        let relatives: Vec<Relative> = self.probes.iter().flat_map(|probe| probe.relatives.iter().cloned()).collect();
        crate::relatives::member_offsets(&relatives)
    }
}

impl RecordedProbe {
    /// The bytes of one event of this probe.
    pub fn event_size(&self) -> usize {
        self.relatives_start() + self.relatives.iter().map(Relative::size).sum::<usize>()
    }

    /// Where the relatives' copies are, after the stacks.
    pub fn relatives_start(&self) -> usize {
        self.user_stack_start() + Self::stack_size(self.user_stack)
    }

    /// Where the kernel stack's header is, after the pointers' copies.
    pub fn kernel_stack_start(&self) -> usize {
        layout::pointer_start(self.context_size, self.pointers.iter().map(|pointer| pointer.bound))
    }

    /// Where the user stack's header is, after the kernel stack.
    pub fn user_stack_start(&self) -> usize {
        self.kernel_stack_start() + Self::stack_size(self.kernel_stack)
    }

    fn stack_size(frames: u32) -> usize {
        match frames {
            0 => 0,
            frames => layout::STACK_HEADER + frames as usize * 8,
        }
    }
}

/// Writes a recording as events arrive.
pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, header: &Header) -> io::Result<Writer<W>> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        let json = serde_json::to_vec(header).map_err(io::Error::other)?;
        out.write_all(&(json.len() as u32).to_le_bytes())?;
        out.write_all(&json)?;
        Ok(Writer { out })
    }

    /// One event as the recording program wrote it.
    pub fn event(&mut self, record: &[u8]) -> io::Result<()> {
        self.frame(FRAME_EVENT, record)
    }

    pub fn lost(&mut self, count: u64) -> io::Result<()> {
        self.frame(FRAME_LOST, &count.to_le_bytes())
    }

    /// Names of code addresses the events after hold.
    pub fn names(&mut self, names: &Names) -> io::Result<()> {
        let json = serde_json::to_vec(names).map_err(io::Error::other)?;
        self.frame(FRAME_NAMES, &json)
    }

    pub fn end(&mut self, time_ns: u64) -> io::Result<()> {
        self.frame(FRAME_END, &time_ns.to_le_bytes())?;
        self.out.flush()
    }

    fn frame(&mut self, kind: u8, payload: &[u8]) -> io::Result<()> {
        self.out.write_all(&(payload.len() as u32 + 1).to_le_bytes())?;
        self.out.write_all(&[kind])?;
        self.out.write_all(payload)
    }
}

/// A recording read whole.
#[derive(Debug, Clone)]
pub struct Recording {
    pub header: Header,
    pub events: Vec<Event>,
    /// Events the kernel could not hand over while recording.
    pub lost: u64,
    /// When recording stopped, if the file says.
    pub end_ns: Option<u64>,
    /// The names of code addresses the events hold.
    pub names: Names,
}

/// Whether `bytes` start like a recording.
pub fn is_recording(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Reads a whole recording into memory.
pub fn read(input: impl Read) -> Result<Recording, ReplayError> {
    let mut reader = Reader::new(input)?;
    let mut events = Vec::new();
    let mut names = Names::default();
    while let Some(event) = reader.next_event()? {
        names.extend(reader.take_names());
        events.push(event);
    }
    names.extend(reader.take_names());
    Ok(Recording { header: reader.header.clone(), events, lost: reader.lost, end_ns: reader.end_ns, names })
}

/// A recording read an event at a time.
pub struct Reader<R: Read> {
    input: R,
    header: Header,
    lost: u64,
    end_ns: Option<u64>,
    /// Names read since they were last taken.
    names: Names,
    /// Each probe's name, shared by its events.
    probe_names: Vec<Arc<str>>,
    frame: Vec<u8>,
}

impl<R: Read> Reader<R> {
    /// Reads the magic, the version and the header.
    pub fn new(mut input: R) -> Result<Reader<R>, ReplayError> {
        let bad = |what: &str| ReplayError::Input(format!("not a ferrotrace recording: {what}"));
        let mut start = [0u8; 12];
        input.read_exact(&mut start).map_err(|_| bad("it is shorter than a header"))?;
        if !is_recording(&start) {
            return Err(bad("it does not start with FTREC"));
        }
        let version = u16::from_le_bytes([start[6], start[7]]);
        if !(OLDEST_VERSION..=VERSION).contains(&version) {
            return Err(ReplayError::Input(format!(
                "a recording of format version {version}; this ferrotrace reads versions {OLDEST_VERSION} to {VERSION}"
            )));
        }
        let mut header = vec![0u8; u32::from_le_bytes([start[8], start[9], start[10], start[11]]) as usize];
        input.read_exact(&mut header).map_err(|_| bad("its header is cut short"))?;
        let header: Header = serde_json::from_slice(&header).map_err(|error| bad(&format!("its header does not read: {error}")))?;
        let probe_names = header.probes.iter().map(|probe| Arc::from(probe.name.as_str())).collect();
        Ok(Reader { input, header, lost: 0, end_ns: None, names: Names::default(), probe_names, frame: Vec::new() })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Events the recording lost, once the frames saying so were read.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// When recording stopped, once its end was read.
    pub fn end_ns(&self) -> Option<u64> {
        self.end_ns
    }

    /// The names read since the last call: those of the event just read, and any before it.
    pub fn take_names(&mut self) -> Names {
        std::mem::take(&mut self.names)
    }

    /// The next event; `None` at the end, or where a recorder killed mid-write cut a frame.
    pub fn next_event(&mut self) -> Result<Option<Event>, ReplayError> {
        loop {
            let mut len = [0u8; 4];
            if self.input.read_exact(&mut len).is_err() {
                return Ok(None);
            }
            self.frame.resize(u32::from_le_bytes(len) as usize, 0);
            if self.frame.is_empty() || self.input.read_exact(&mut self.frame).is_err() {
                return Ok(None);
            }
            let (kind, payload) = (self.frame[0], &self.frame[1..]);
            let word = payload.get(..8).map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default()));
            match kind {
                FRAME_EVENT => return event(&self.header, &self.probe_names, payload).map(Some),
                FRAME_LOST => self.lost = word.unwrap_or(self.lost),
                FRAME_END => self.end_ns = word,
                FRAME_NAMES => {
                    let names: Names = serde_json::from_slice(payload)
                        .map_err(|error| ReplayError::Input(format!("not a ferrotrace recording: its names do not read: {error}")))?;
                    self.names.extend(names);
                }
                other => return Err(ReplayError::Input(format!("not a ferrotrace recording: a frame of unknown kind {other}"))),
            }
        }
    }
}

/// An event from the bytes the recording program wrote; `probe_names` are the header's probes'
/// names, shared by their events.
fn event(header: &Header, probe_names: &[Arc<str>], record: &[u8]) -> Result<Event, ReplayError> {
    let short = || ReplayError::Input("a recorded event is shorter than its probe's layout".to_string());
    let u32_at = |at: usize| record.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default())).ok_or_else(short);
    let u64_at = |at: usize| record.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())).ok_or_else(short);
    let index = u32_at(layout::PROBE)? as usize;
    let probe = header.probes.get(index).ok_or_else(|| ReplayError::Input(format!("an event of probe {index}, which the header does not list")))?;
    if record.len() < probe.event_size() {
        return Err(short());
    }
    let pid_tgid = u64_at(layout::PID_TGID)?;
    let uid_gid = u64_at(layout::UID_GID)?;
    let context_end = layout::CONTEXT + probe.context_size as usize;
    let context = record[layout::CONTEXT..context_end].to_vec();
    let mut memory = Vec::new();
    let mut faulted = Vec::new();
    let mut at = context_end;
    for pointer in &probe.pointers {
        let returned = u64_at(at)? as i64;
        let copy = &record[at + layout::POINTER_HEADER..at + layout::POINTER_HEADER + pointer.bound as usize];
        let address = context.get(pointer.offset as usize..pointer.offset as usize + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
        let kept = match pointer.string {
            true if returned > 0 => Some(&copy[..(returned as usize).min(copy.len())]),
            false if returned == 0 => Some(copy),
            _ => None,
        };
        match kept {
            _ if address == 0 => {}
            Some(bytes) => memory.push(Chunk { address, bytes: bytes.to_vec() }),
            None => faulted.push(address),
        }
        at += layout::POINTER_HEADER + pointer.bound as usize;
    }
    let mut comm = [0u8; 16];
    comm.copy_from_slice(&record[layout::COMM..layout::COMM + 16]);
    let task = u64_at(layout::TASK)?;
    let mut at = probe.relatives_start();
    for relative in &probe.relatives {
        relative.chunks(task, &record[at..at + relative.size()], &mut memory);
        at += relative.size();
    }
    let kernel_stack = stack(record, probe.kernel_stack_start(), probe.kernel_stack);
    let user_stack = stack(record, probe.user_stack_start(), probe.user_stack);
    Ok(Event {
        probe: Arc::clone(&probe_names[index]),
        time_ns: u64_at(layout::TIME)?,
        cpu: u32_at(layout::CPU)?,
        pid: (pid_tgid >> 32) as u32,
        tid: pid_tgid as u32,
        uid: uid_gid as u32,
        gid: (uid_gid >> 32) as u32,
        comm,
        cgroup: u64_at(layout::CGROUP)?,
        task,
        jiffies: u64_at(layout::JIFFIES)?,
        context,
        memory,
        faulted,
        kernel_stack,
        user_stack,
    })
}

/// The frames of a stack taken at `at` with room for `frames`: as many as `bpf_get_stack` wrote.
pub(crate) fn stack(record: &[u8], at: usize, frames: u32) -> Vec<u64> {
    if frames == 0 {
        return Vec::new();
    }
    let written = record.get(at..at + 8).and_then(|bytes| bytes.try_into().ok()).map_or(0, i64::from_le_bytes);
    let bytes = (written.max(0) as usize).min(frames as usize * 8);
    let start = at + layout::STACK_HEADER;
    record.get(start..start + bytes).unwrap_or_default().chunks_exact(8).map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default())).collect()
}
