//! One event as the engine replays it: which probe fired, the context the program reads, the
//! task and clock values the helpers return, and the memory its pointers point to.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What fired, and everything a program may ask about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The probe as the manifest names it: `tracepoint:syscalls:sys_enter_openat`; shared by
    /// the events of one probe, so replay tells the probe of the event before by its address.
    pub probe: Arc<str>,
    /// `bpf_ktime_get_ns()`: CLOCK_MONOTONIC, nanoseconds.
    pub time_ns: u64,
    pub cpu: u32,
    /// The process (thread group) id and the thread id.
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub gid: u32,
    /// The task's name, NUL-padded.
    pub comm: [u8; 16],
    pub cgroup: u64,
    /// `bpf_get_current_task()`: an address in `memory`, or 0.
    pub task: u64,
    pub jiffies: u64,
    /// The context as the program sees it: a tracepoint's record, a raw tracepoint's arguments.
    pub context: Vec<u8>,
    /// Recorded memory: bytes at addresses the context's pointers (or the task) point to.
    pub memory: Vec<Chunk>,
    /// Addresses whose read faulted while recording: reading them faults in replay too, as
    /// it did live, and is no shortfall of the recording.
    #[serde(default)]
    pub faulted: Vec<u64>,
    /// Return addresses, innermost first.
    pub kernel_stack: Vec<u64>,
    pub user_stack: Vec<u64>,
}

/// Bytes recorded at an address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub address: u64,
    pub bytes: Vec<u8>,
}

impl Event {
    /// The name as `comm` holds it, up to its NUL.
    pub fn set_comm(&mut self, name: &[u8]) {
        self.comm = [0; 16];
        let len = name.len().min(15);
        self.comm[..len].copy_from_slice(&name[..len]);
    }

    /// Becomes a copy of `other`, but for its probe and context (which helpers do not read:
    /// the machine keeps the context in its region), reusing the buffers it has.
    pub fn copy_from(&mut self, other: &Event) {
        self.time_ns = other.time_ns;
        self.cpu = other.cpu;
        self.pid = other.pid;
        self.tid = other.tid;
        self.uid = other.uid;
        self.gid = other.gid;
        self.comm = other.comm;
        self.cgroup = other.cgroup;
        self.task = other.task;
        self.jiffies = other.jiffies;
        // Most events hold no memory, faults or stacks, and neither did the event before.
        let bare = |event: &Event| event.memory.is_empty() && event.faulted.is_empty() && event.kernel_stack.is_empty() && event.user_stack.is_empty();
        if !(bare(self) && bare(other)) {
            self.memory.clone_from(&other.memory);
            self.faulted.clone_from(&other.faulted);
            self.kernel_stack.clone_from(&other.kernel_stack);
            self.user_stack.clone_from(&other.user_stack);
        }
    }

    /// The task and clock of this event without its context and memory: what a timer firing
    /// later on its CPU sees running. Allocates nothing.
    pub fn task_only(&self) -> Event {
        Event {
            probe: Arc::from(""),
            context: Vec::new(),
            memory: Vec::new(),
            faulted: Vec::new(),
            kernel_stack: Vec::new(),
            user_stack: Vec::new(),
            comm: self.comm,
            ..*self
        }
    }

    /// Up to `size` recorded bytes from `address`: from one chunk, stopping where it ends.
    pub fn read(&self, address: u64, size: usize) -> Option<&[u8]> {
        let chunk = self.memory.iter().find(|chunk| address >= chunk.address && address - chunk.address < chunk.bytes.len() as u64)?;
        let start = (address - chunk.address) as usize;
        Some(&chunk.bytes[start..chunk.bytes.len().min(start + size)])
    }
}

/// What holds for a whole replay: the machine the events came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clocks {
    /// `bpf_ktime_get_ns()` when the recording started: what `elapsed` counts from.
    pub start_ns: u64,
    /// CLOCK_BOOTTIME minus CLOCK_MONOTONIC.
    pub boot_minus_monotonic_ns: u64,
    /// CLOCK_TAI minus CLOCK_BOOTTIME.
    pub tai_minus_boot_ns: i64,
    /// Online CPUs.
    pub cpus: u32,
}

impl Default for Clocks {
    fn default() -> Clocks {
        Clocks { start_ns: 0, boot_minus_monotonic_ns: 0, tai_minus_boot_ns: 0, cpus: 1 }
    }
}
