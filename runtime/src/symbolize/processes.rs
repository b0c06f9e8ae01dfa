//! What is known of each process's file mappings: kept up to date from the kernel's reports of
//! what processes map, exec, fork and exit (`tracker.rs`), and from `/proc/PID/maps` for a
//! process that ran before they started.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::maps::{self, Mapping};
use super::tracker::TaskEvent;

/// Processes that exited unannounced whose mappings are kept, for an announcement still on
/// its way through the ring buffer.
const EXITED_KEPT: usize = 1024;

/// Every process whose mappings are known, and which of them exited unannounced.
#[derive(Default)]
pub(super) struct Processes {
    by_pid: HashMap<u32, Process>,
    /// Unannounced processes that exited, oldest first: forgotten past `EXITED_KEPT`.
    exited: VecDeque<u32>,
}

/// What is known of one process's mappings.
#[derive(Default)]
struct Process {
    mappings: Arc<Vec<Mapping>>,
    /// What it had mapped before its last exec: a stack taken just before the exec is named
    /// from it after the exec was applied.
    before_exec: Arc<Vec<Mapping>>,
    /// Every mapping it has is known: followed since its exec (or from a fork of a process so
    /// followed), or read from `/proc` while the tracker followed it.
    whole: bool,
    /// The probes took one of its addresses: kept after it exits.
    announced: bool,
    exited: bool,
}

impl Process {
    /// Replaces what is known with `/proc/PID/maps`, if the process still lives; `tracked`
    /// says whether later mappings will be reported.
    fn read_live(&mut self, pid: u32, tracked: bool) -> bool {
        let Some(live) = maps::read(pid) else { return false };
        self.mappings = Arc::new(live);
        self.whole = tracked;
        true
    }

    /// The mapping holding `address`: among its mappings, else among those it had before
    /// its last exec.
    fn holding(&self, address: u64) -> Option<Mapping> {
        let holds = |m: &&Mapping| m.file_offset(address).is_some();
        self.mappings.iter().find(holds).or_else(|| self.before_exec.iter().find(holds)).cloned()
    }
}

/// Takes `start..end` out of `mappings`: what a new mapping there replaces. A mapping it covers
/// in part keeps the parts outside, as the kernel splits it.
fn cover(mappings: &mut Vec<Mapping>, start: u64, end: u64) {
    let mut kept = Vec::with_capacity(mappings.len() + 1);
    for m in mappings.drain(..) {
        if m.end <= start || end <= m.start {
            kept.push(m);
            continue;
        }
        if m.start < start {
            kept.push(Mapping { end: start, ..m.clone() });
        }
        if end < m.end {
            kept.push(Mapping { start: end, offset: m.offset + (end - m.start), ..m });
        }
    }
    *mappings = kept;
}

impl Processes {
    /// Applies one thing a process did.
    pub fn apply(&mut self, event: TaskEvent) {
        match event {
            TaskEvent::Exec { pid } => {
                let old = self.by_pid.remove(&pid).unwrap_or_default();
                let process = Process { whole: true, announced: old.announced, before_exec: old.mappings, ..Process::default() };
                self.by_pid.insert(pid, process);
            }
            TaskEvent::Map { pid, mapping } => {
                let process = self.by_pid.entry(pid).or_default();
                let mappings = Arc::make_mut(&mut process.mappings);
                cover(mappings, mapping.start, mapping.end);
                mappings.push(mapping);
            }
            TaskEvent::Cover { pid, start, end } => {
                if let Some(process) = self.by_pid.get_mut(&pid) {
                    cover(Arc::make_mut(&mut process.mappings), start, end);
                }
            }
            TaskEvent::Fork { pid, parent } => {
                let parent = self.known_or_read(parent);
                let (mappings, whole) = (parent.mappings.clone(), parent.whole);
                self.by_pid.insert(pid, Process { mappings, whole, ..Process::default() });
            }
            TaskEvent::Exit { pid } => {
                let Some(process) = self.by_pid.get_mut(&pid) else { return };
                process.exited = true;
                if !process.announced {
                    self.exited.push_back(pid);
                }
                while self.exited.len() > EXITED_KEPT {
                    let oldest = self.exited.pop_front().expect("more than EXITED_KEPT");
                    if self.by_pid.get(&oldest).is_some_and(|p| p.exited && !p.announced) {
                        self.by_pid.remove(&oldest);
                    }
                }
            }
        }
    }

    /// What is known of process `pid`; one never seen (it ran before the tracker started) is
    /// read from `/proc` first, while it likely still lives, and followed from then on.
    fn known_or_read(&mut self, pid: u32) -> &Process {
        let process = self.by_pid.entry(pid).or_default();
        if process.mappings.is_empty() && !process.whole {
            process.read_live(pid, true);
        }
        process
    }

    /// The kernel dropped records: some process's mapping may be missing, so `/proc` is
    /// looked at again where one is.
    pub fn records_lost(&mut self) {
        self.by_pid.values_mut().for_each(|p| p.whole = false);
    }

    /// Process `pid` was announced: kept after it exits, and read from `/proc` now unless its
    /// mappings are all known; `tracked` says whether later mappings will be reported.
    pub fn announce(&mut self, pid: u32, tracked: bool) {
        let process = self.by_pid.entry(pid).or_default();
        process.announced = true;
        if !process.whole {
            process.read_live(pid, tracked);
        }
    }

    /// The mapping holding `address` in process `pid`: from what is known, else (a library
    /// it loaded before the tracker started) from its live mappings.
    pub fn mapping_of(&mut self, pid: u32, address: u64, tracked: bool) -> Option<Mapping> {
        let process = self.by_pid.entry(pid).or_default();
        if let Some(found) = process.holding(address) {
            return Some(found);
        }
        if process.whole || process.exited || !process.read_live(pid, tracked) {
            return None;
        }
        process.holding(address)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn mapping(start: u64, path: &str) -> Mapping {
        Mapping { start, end: start + 0x1000, offset: 0, path: PathBuf::from(path) }
    }

    /// Pids far above any real one: a lookup never finds them in `/proc`.
    const PARENT: u32 = u32::MAX - 10;
    const CHILD: u32 = u32::MAX - 11;

    #[test]
    fn a_fork_copies_mappings_and_a_new_mapping_splits_what_it_covers() {
        let mut processes = Processes::default();
        processes.apply(TaskEvent::Exec { pid: PARENT });
        processes.apply(TaskEvent::Map { pid: PARENT, mapping: mapping(0x1000, "/bin/sh") });
        processes.apply(TaskEvent::Fork { pid: CHILD, parent: PARENT });
        assert_eq!(processes.mapping_of(CHILD, 0x1010, true), Some(mapping(0x1000, "/bin/sh")));
        processes.apply(TaskEvent::Exec { pid: CHILD });
        processes.apply(TaskEvent::Map { pid: CHILD, mapping: mapping(0x1800, "/bin/cat") });
        assert_eq!(processes.mapping_of(CHILD, 0x1810, true), Some(mapping(0x1800, "/bin/cat")), "the new image first");
        assert_eq!(processes.mapping_of(PARENT, 0x1010, true), Some(mapping(0x1000, "/bin/sh")));
        processes.apply(TaskEvent::Map { pid: PARENT, mapping: mapping(0x1800, "/lib/libc.so") });
        assert_eq!(processes.mapping_of(PARENT, 0x1010, true), Some(Mapping { end: 0x1800, ..mapping(0x1000, "/bin/sh") }));
        assert_eq!(processes.mapping_of(PARENT, 0x1810, true), Some(mapping(0x1800, "/lib/libc.so")));
        processes.apply(TaskEvent::Cover { pid: PARENT, start: 0x1000, end: 0x1400 });
        assert_eq!(processes.mapping_of(PARENT, 0x1010, true), None);
        assert_eq!(processes.mapping_of(PARENT, 0x1410, true), Some(Mapping { start: 0x1400, end: 0x1800, offset: 0x400, ..mapping(0x1000, "/bin/sh") }));
    }

    /// An address of the image a process had before its exec is named from it (a stack taken
    /// just before the exec); one exec further it is forgotten.
    #[test]
    fn an_address_mapped_before_an_exec_is_still_named() {
        let mut processes = Processes::default();
        processes.apply(TaskEvent::Exec { pid: CHILD });
        processes.apply(TaskEvent::Map { pid: CHILD, mapping: mapping(0x1000, "/bin/sh") });
        processes.apply(TaskEvent::Exec { pid: CHILD });
        processes.apply(TaskEvent::Map { pid: CHILD, mapping: mapping(0x5000, "/bin/cat") });
        assert_eq!(processes.mapping_of(CHILD, 0x1010, true), Some(mapping(0x1000, "/bin/sh")));
        assert_eq!(processes.mapping_of(CHILD, 0x5010, true), Some(mapping(0x5000, "/bin/cat")));
        processes.apply(TaskEvent::Exec { pid: CHILD });
        assert_eq!(processes.mapping_of(CHILD, 0x1010, true), None);
    }

    /// A process forked from one that ran before the tracker (this test process) starts with
    /// the parent's mappings, read from `/proc` when the fork is applied.
    #[test]
    fn a_fork_of_a_process_never_seen_reads_the_parent() {
        let mut processes = Processes::default();
        processes.apply(TaskEvent::Fork { pid: CHILD, parent: std::process::id() });
        let here = a_fork_of_a_process_never_seen_reads_the_parent as *const () as u64;
        let found = processes.mapping_of(CHILD, here, true).expect("the parent's code is mapped in the child");
        assert_eq!(found.path, std::env::current_exe().expect("the test binary"));
    }

    #[test]
    fn announced_processes_outlive_the_unannounced_that_exit_after_them() {
        let mut processes = Processes::default();
        for pid in [PARENT, CHILD] {
            processes.apply(TaskEvent::Exec { pid });
            processes.apply(TaskEvent::Map { pid, mapping: mapping(0x1000, "/bin/true") });
        }
        processes.announce(PARENT, true);
        processes.apply(TaskEvent::Exit { pid: PARENT });
        processes.apply(TaskEvent::Exit { pid: CHILD });
        assert!(processes.mapping_of(CHILD, 0x1010, true).is_some(), "an exit is kept a while for its announcement");
        for pid in 0..EXITED_KEPT as u32 {
            processes.apply(TaskEvent::Exec { pid: 1_000_000 + pid });
            processes.apply(TaskEvent::Exit { pid: 1_000_000 + pid });
        }
        assert!(!processes.by_pid.contains_key(&CHILD));
        assert_eq!(processes.mapping_of(PARENT, 0x1010, true), Some(mapping(0x1000, "/bin/true")));
    }
}
