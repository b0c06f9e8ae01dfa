//! Where a replay's events come from: a recording, read one frame at a time, or JSON lines
//! laid out with the formats of the catalog given (the machine's, or the standard syscall
//! formats).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use ferrotrace_compiler::catalog::{Catalog, TracepointFormat};

use crate::error::ReplayError;
use crate::event::{Clocks, Event};
use crate::recording::{self, Reader, MAGIC};
use crate::synthetic;

/// A stream of events and what they were taken with.
pub struct Source {
    events: Events,
    pub clocks: Clocks,
    /// Every probe the events may hold: the recorded ones, or those the lines name.
    pub probes: Vec<String>,
    /// The recorded tracepoints' formats, the kernel a script compiles against; `None` for
    /// JSON lines, which use this machine's.
    pub formats: Option<BTreeMap<(String, String), TracepointFormat>>,
    /// The recording kernel's `task_struct` member offsets for the relatives recorded.
    pub task_members: Vec<(String, u32)>,
    /// Where the events came from: `recorded by ferrotrace 0.1.0 on Linux 6.18.0 (x86_64)`.
    pub origin: String,
}

enum Events {
    Recording(Box<Reader<BufReader<File>>>),
    Lines(std::vec::IntoIter<Event>),
}

impl Source {
    /// Opens `path`: a recording if it starts as one, JSON lines otherwise (laid out with
    /// `live`'s formats).
    pub fn open(path: &Path, live: &dyn Catalog) -> Result<Source, ReplayError> {
        let unreadable = |error: std::io::Error| ReplayError::Input(format!("cannot read the events: {error}"));
        let mut file = File::open(path).map_err(unreadable)?;
        let mut start = [0u8; MAGIC.len()];
        let read = file.read(&mut start).map_err(unreadable)?;
        let file = File::open(path).map_err(unreadable)?;
        if recording::is_recording(&start[..read]) {
            let reader = Reader::new(BufReader::with_capacity(1 << 20, file))?;
            let header = reader.header();
            let formats = header.probes.iter().map(|probe| ((probe.category.clone(), probe.event.clone()), probe.format.clone())).collect();
            let probes = header.probes.iter().map(|probe| probe.name.clone()).collect();
            let task_members = header.task_members();
            let origin = format!("recorded by ferrotrace {} on Linux {} ({})", header.ferrotrace, header.kernel, header.arch);
            return Ok(Source { clocks: header.clocks.clone(), probes, formats: Some(formats), task_members, origin, events: Events::Recording(Box::new(reader)) });
        }
        let text = std::fs::read_to_string(path).map_err(|_| ReplayError::Input("neither a ferrotrace recording nor JSON lines (not UTF-8 text)".into()))?;
        let mut format = |category: &str, event: &str| live.tracepoint_format(category, event).map_err(|error| error.to_string());
        let events = synthetic::parse(&text, 0, &mut format)?;
        let clocks = Clocks { cpus: events.iter().map(|event| event.cpu + 1).max().unwrap_or(1), ..Clocks::default() };
        let mut probes: Vec<String> = events.iter().map(|event| event.probe.to_string()).collect();
        probes.sort();
        probes.dedup();
        let origin = "synthetic events (JSON lines)".to_string();
        Ok(Source { clocks, probes, formats: None, task_members: Vec::new(), origin, events: Events::Lines(events.into_iter()) })
    }

    /// The next event, in order; `None` after the last. The names of the code addresses it
    /// holds are published to the runtime first.
    pub fn next_event(&mut self) -> Result<Option<Event>, ReplayError> {
        match &mut self.events {
            Events::Recording(reader) => {
                let event = reader.next_event()?;
                reader.take_names().publish();
                Ok(event)
            }
            Events::Lines(events) => Ok(events.next()),
        }
    }

    /// Events the recording lost, once all were read.
    pub fn lost(&self) -> u64 {
        match &self.events {
            Events::Recording(reader) => reader.lost(),
            Events::Lines(_) => 0,
        }
    }

    /// When recording stopped, once all events were read.
    pub fn end_ns(&self) -> Option<u64> {
        match &self.events {
            Events::Recording(reader) => reader.end_ns(),
            Events::Lines(_) => None,
        }
    }
}
