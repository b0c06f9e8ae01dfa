//! What processes map, exec, fork and exit, as the kernel reports it on every CPU (the records
//! `perf record` keeps for the same reason): a process that starts and exits between two looks
//! at `/proc` still has its mappings known.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use crate::sys::{self, PerfRecord, PerfRing};

use super::maps::Mapping;

/// Pages of records each CPU's ring holds: some two hundred execs' worth (a fork, an exec, a
/// dozen mappings and an exit each), read at least every 100 ms and woken at a quarter full.
const RING_PAGES: usize = 64;
/// The reader is woken once this many bytes wait on a CPU: a quarter of its ring.
const WAKE_AT: u32 = (RING_PAGES * 4096 / 4) as u32;

const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_COMM: u32 = 3;
const PERF_RECORD_EXIT: u32 = 4;
const PERF_RECORD_FORK: u32 = 7;
const PERF_RECORD_MMAP2: u32 = 10;
/// `PERF_RECORD_MISC_COMM_EXEC`: the comm changed because the process exec'ed.
const MISC_COMM_EXEC: u16 = 1 << 13;

/// One thing a process did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TaskEvent {
    /// `pid` exec'ed: its old mappings are gone.
    Exec { pid: u32 },
    /// `pid` mapped a file executable.
    Map { pid: u32, mapping: Mapping },
    /// `pid` mapped executable memory of no file (`//anon`, `[vdso]`) over `start..end`.
    Cover { pid: u32, start: u64, end: u64 },
    /// Process `pid` was forked from `parent`, with a copy of its mappings.
    Fork { pid: u32, parent: u32 },
    /// Process `pid` (its last thread) exited.
    Exit { pid: u32 },
}

/// The per-CPU rings and the records read from them but not yet handed out.
pub(super) struct Tracker {
    rings: Vec<PerfRing>,
    /// Records later than the last hand-out's start, kept for the next: a CPU read earlier may
    /// still get records older than them.
    pending: Vec<(u64, TaskEvent)>,
    /// Records the kernel dropped for want of ring space.
    pub lost: u64,
}

impl Tracker {
    /// Starts the reports on every online CPU.
    pub fn start() -> io::Result<Tracker> {
        let cpus = crate::cpus::online().map_err(|error| io::Error::other(error.to_string()))?;
        let rings = cpus
            .into_iter()
            .map(|cpu| PerfRing::map(sys::perf_event_open_task_records(cpu, WAKE_AT)?, RING_PAGES))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Tracker { rings, pending: Vec::new(), lost: 0 })
    }

    /// The events to wait on for records.
    pub fn events(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.rings.iter().map(PerfRing::event)
    }

    /// What happened up to now that was not handed out before, in the order it happened.
    pub fn take(&mut self) -> Vec<TaskEvent> {
        let now = sys::monotonic_ns();
        let mut read = std::mem::take(&mut self.pending);
        for ring in &mut self.rings {
            ring.drain(&mut |record| match parse(&record) {
                Parsed::Event(time, event) => read.push((time, event)),
                Parsed::Lost(count) => self.lost += count,
                Parsed::Other => {}
            });
        }
        read.sort_by_key(|(time, _)| *time);
        let later = read.partition_point(|(time, _)| *time <= now);
        self.pending = read.split_off(later);
        read.into_iter().map(|(_, event)| event).collect()
    }
}

/// What one record says.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Event(u64, TaskEvent),
    Lost(u64),
    Other,
}

/// A record's meaning. Every record ends in its time (the `sample_id` of `PERF_SAMPLE_TIME`).
fn parse(record: &PerfRecord<'_>) -> Parsed {
    let body = record.body;
    let u32_at = |at: usize| body.get(at..at + 4).map(|b| u32::from_ne_bytes(b.try_into().expect("4 bytes")));
    let u64_at = |at: usize| body.get(at..at + 8).map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")));
    let Some(time) = body.len().checked_sub(8).and_then(u64_at) else { return Parsed::Other };
    let event = match record.kind {
        PERF_RECORD_LOST => return u64_at(8).map_or(Parsed::Other, Parsed::Lost),
        PERF_RECORD_COMM if record.misc & MISC_COMM_EXEC != 0 => u32_at(0).map(|pid| TaskEvent::Exec { pid }),
        // `pid, ppid, tid, ptid`: a new thread of a process is not a new process.
        PERF_RECORD_FORK => match (u32_at(0), u32_at(4)) {
            (Some(pid), Some(parent)) if pid != parent => Some(TaskEvent::Fork { pid, parent }),
            _ => None,
        },
        PERF_RECORD_EXIT => match (u32_at(0), u32_at(8)) {
            (Some(pid), Some(tid)) if pid == tid => Some(TaskEvent::Exit { pid }),
            _ => None,
        },
        // `pid, tid, addr, len, pgoff` (bytes), the file's identity (24 bytes), `prot, flags`,
        // then the path, NUL-terminated.
        PERF_RECORD_MMAP2 => u32_at(0).and_then(|pid| mapped(pid, body)),
        _ => None,
    };
    event.map_or(Parsed::Other, |event| Parsed::Event(time, event))
}

/// What an `MMAP2` record's body says process `pid` mapped: a file, or memory of none.
fn mapped(pid: u32, body: &[u8]) -> Option<TaskEvent> {
    let u64_at = |at: usize| body.get(at..at + 8).map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")));
    let (start, len, offset) = (u64_at(8)?, u64_at(16)?, u64_at(24)?);
    let end = start.checked_add(len)?;
    let path = body.get(64..)?;
    let path = std::str::from_utf8(&path[..path.iter().position(|&b| b == 0)?]).ok()?;
    // Memory of no file is `//anon`, `[vdso]` and the like.
    if !path.starts_with('/') || path.starts_with("//") {
        return Some(TaskEvent::Cover { pid, start, end });
    }
    let path = PathBuf::from(path.strip_suffix(" (deleted)").unwrap_or(path));
    Some(TaskEvent::Map { pid, mapping: Mapping { start, end, offset, path } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, misc: u16, fields: &[u8], time: u64) -> (u32, u16, Vec<u8>) {
        let mut body = fields.to_vec();
        body.extend_from_slice(&time.to_ne_bytes());
        (kind, misc, body)
    }

    fn parsed((kind, misc, body): &(u32, u16, Vec<u8>)) -> Parsed {
        parse(&PerfRecord { kind: *kind, misc: *misc, body })
    }

    fn words(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn an_executable_mapping_names_its_file_and_offset() {
        let mut fields = words(&[42, 43]);
        for value in [0x5000_u64, 0x2000, 0x1000] {
            fields.extend_from_slice(&value.to_ne_bytes());
        }
        fields.extend_from_slice(&[0; 24]);
        fields.extend_from_slice(&words(&[5, 2]));
        fields.extend_from_slice(b"/usr/bin/cat (deleted)\0\0");
        let expected = Mapping { start: 0x5000, end: 0x7000, offset: 0x1000, path: PathBuf::from("/usr/bin/cat") };
        assert_eq!(parsed(&record(PERF_RECORD_MMAP2, 0, &fields, 7)), Parsed::Event(7, TaskEvent::Map { pid: 42, mapping: expected }));
        let anonymous = [&fields[..64], b"//anon\0\0"].concat();
        assert_eq!(parsed(&record(PERF_RECORD_MMAP2, 0, &anonymous, 7)), Parsed::Event(7, TaskEvent::Cover { pid: 42, start: 0x5000, end: 0x7000 }));
    }

    #[test]
    fn forks_and_exits_of_threads_are_not_of_processes() {
        let fork = |pid, parent| record(PERF_RECORD_FORK, 0, &[words(&[pid, parent, pid, parent]), vec![0; 8]].concat(), 9);
        assert_eq!(parsed(&fork(50, 40)), Parsed::Event(9, TaskEvent::Fork { pid: 50, parent: 40 }));
        assert_eq!(parsed(&fork(40, 40)), Parsed::Other);
        let exit = |pid, tid| record(PERF_RECORD_EXIT, 0, &[words(&[pid, 1, tid, 1]), vec![0; 8]].concat(), 9);
        assert_eq!(parsed(&exit(50, 50)), Parsed::Event(9, TaskEvent::Exit { pid: 50 }));
        assert_eq!(parsed(&exit(50, 51)), Parsed::Other);
    }

    #[test]
    fn only_a_comm_change_by_exec_is_an_exec() {
        let comm = |misc| record(PERF_RECORD_COMM, misc, &[words(&[60, 60]), b"cat\0\0\0\0\0".to_vec()].concat(), 3);
        assert_eq!(parsed(&comm(MISC_COMM_EXEC)), Parsed::Event(3, TaskEvent::Exec { pid: 60 }));
        assert_eq!(parsed(&comm(0)), Parsed::Other);
        let lost = record(PERF_RECORD_LOST, 0, &[1_u64.to_ne_bytes(), 12_u64.to_ne_bytes()].concat(), 3);
        assert_eq!(parsed(&lost), Parsed::Lost(12));
    }
}
