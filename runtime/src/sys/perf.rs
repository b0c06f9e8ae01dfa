//! `perf_event_open`: tracepoint, software and hardware events, breakpoints, kprobes and
//! uprobes, and the event that reports what processes map, exec, fork and exit.

use std::ffi::CStr;
use std::io;
use std::mem::size_of;
use std::os::fd::{FromRawFd, OwnedFd};

/// `struct perf_event_attr` up to `clockid` (`PERF_ATTR_SIZE_VER3`, which every supported
/// kernel takes).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    /// `wakeup_events`, or with `PERF_ATTR_FLAG_WATERMARK` `wakeup_watermark` (bytes).
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_TYPE_BREAKPOINT: u32 = 5;
/// `perf_event_attr.inherit`: threads and processes the task starts later are counted too.
const PERF_ATTR_FLAG_INHERIT: u64 = 1 << 1;
/// `HW_BREAKPOINT_X`: an execute breakpoint, whose length x86-64 requires to be a `long`'s.
const HW_BREAKPOINT_X: u32 = 4;
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
/// `perf_event_attr.freq`: `sample_period` is a frequency in Hz.
const PERF_ATTR_FLAG_FREQ: u64 = 1 << 10;
const PERF_SAMPLE_RAW: u64 = 1 << 10;
const PERF_COUNT_SW_DUMMY: u64 = 9;
const PERF_SAMPLE_TIME: u64 = 1 << 2;
/// The `perf_event_attr` flags of an event that reports what processes do: executable
/// mappings (`mmap`, `mmap2`: `PERF_RECORD_MMAP2`), execs (`comm`, `comm_exec`), forks and exits
/// (`task`); every record ends in the fields `sample_type` selects (`sample_id_all`), times
/// are `clockid`'s (`use_clockid`), and the fd polls readable once `wakeup_events` bytes
/// wait (`watermark`).
const PERF_ATTR_FLAGS_TASK_RECORDS: u64 =
    1 << 8 | 1 << 9 | 1 << 13 | 1 << 14 | 1 << 18 | 1 << 23 | 1 << 24 | 1 << 25;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// A perf event on tracepoint `event_id` (its tracefs `id`), for any process, bound to CPU 0:
/// a BPF program attached to it runs wherever the tracepoint fires.
pub fn perf_event_open_tracepoint(event_id: u32) -> io::Result<OwnedFd> {
    let attr = PerfEventAttr {
        kind: PERF_TYPE_TRACEPOINT,
        config: u64::from(event_id),
        sample_period: 1,
        sample_type: PERF_SAMPLE_RAW,
        wakeup_events: 1,
        ..Default::default()
    };
    perf_event_open(attr, -1, 0)
}

/// How often a cpu-clock perf event fires.
#[derive(Debug, Clone, Copy)]
pub enum Sampling {
    /// Every this many nanoseconds of CPU clock.
    PeriodNs(u64),
    /// This many times a second.
    Hz(u64),
}

/// A software cpu-clock perf event on `cpu` for any process.
pub fn perf_event_open_cpu_clock(cpu: u32, sampling: Sampling) -> io::Result<OwnedFd> {
    let (sample_period, flags) = match sampling {
        Sampling::PeriodNs(ns) => (ns, 0),
        Sampling::Hz(hz) => (hz, PERF_ATTR_FLAG_FREQ),
    };
    let attr = PerfEventAttr { kind: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, sample_period, flags, ..Default::default() };
    perf_event_open(attr, -1, cpu as i32)
}

/// A software event (or, when `hardware`, a CPU counter) selected by `config` on `cpu`, for
/// any process, sampled every `period` events.
pub fn perf_event_open_counter(hardware: bool, config: u64, period: u64, cpu: u32) -> io::Result<OwnedFd> {
    let kind = if hardware { PERF_TYPE_HARDWARE } else { PERF_TYPE_SOFTWARE };
    let attr = PerfEventAttr { kind, config, sample_period: period, ..Default::default() };
    perf_event_open(attr, -1, cpu as i32)
}

/// A hardware breakpoint (`PERF_TYPE_BREAKPOINT`) on `length` bytes at `address`, firing on
/// every access of `bp_type` (`HW_BREAKPOINT_R`/`_W`/`_X` or'ed): in process `pid` and the
/// threads it starts afterwards (on any CPU), or, without one, on `cpu` for any task.
pub fn perf_event_open_breakpoint(address: u64, length: u64, bp_type: u32, pid: Option<u32>, cpu: u32) -> io::Result<OwnedFd> {
    let attr = PerfEventAttr {
        kind: PERF_TYPE_BREAKPOINT,
        sample_period: 1,
        wakeup_events: 1,
        flags: if pid.is_some() { PERF_ATTR_FLAG_INHERIT } else { 0 },
        bp_type,
        // `bp_addr` and `bp_len`.
        config1: address,
        config2: if bp_type & HW_BREAKPOINT_X != 0 { size_of::<libc::c_long>() as u64 } else { length },
        ..Default::default()
    };
    match pid {
        Some(pid) => perf_event_open(attr, pid as i32, -1),
        None => perf_event_open(attr, -1, cpu as i32),
    }
}

/// An event on `cpu` that counts nothing and reports, for every process, each executable
/// mapping, exec, fork and exit there, each record ending in its `CLOCK_MONOTONIC` time; its
/// fd polls readable once `watermark` bytes of records wait.
pub fn perf_event_open_task_records(cpu: u32, watermark: u32) -> io::Result<OwnedFd> {
    let attr = PerfEventAttr {
        kind: PERF_TYPE_SOFTWARE,
        config: PERF_COUNT_SW_DUMMY,
        sample_type: PERF_SAMPLE_TIME,
        flags: PERF_ATTR_FLAGS_TASK_RECORDS,
        wakeup_events: watermark,
        clockid: libc::CLOCK_MONOTONIC,
        ..Default::default()
    };
    perf_event_open(attr, -1, cpu as i32)
}

/// Opens a perf event for process `pid` (-1: any) on `cpu` (-1: any).
fn perf_event_open(mut attr: PerfEventAttr, pid: i32, cpu: i32) -> io::Result<OwnedFd> {
    attr.size = size_of::<PerfEventAttr>() as u32;
    // SAFETY: `attr` is a valid `perf_event_attr` prefix whose `size` says how much the kernel
    // may read; no pointers are passed.
    let fd = unsafe {
        libc::syscall(libc::SYS_perf_event_open, &attr as *const PerfEventAttr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC)
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative return of perf_event_open is a new file descriptor we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}


/// A kprobe (or kretprobe) perf event `offset` bytes into the kernel function `function`
/// (`module:function` for a module's), through the kprobe PMU whose type is `pmu_type`
/// (`/sys/bus/event_source/devices/kprobe/type`), on CPU 0 for any process: a BPF program
/// attached to it runs wherever the function is called.
pub fn perf_event_open_kprobe(pmu_type: u32, function: &CStr, offset: u64, retprobe: bool) -> io::Result<OwnedFd> {
    let attr = PerfEventAttr {
        kind: pmu_type,
        // The PMU's `retprobe` format is `config:0`.
        config: u64::from(retprobe),
        sample_period: 1,
        wakeup_events: 1,
        // `kprobe_func` and `probe_offset`.
        config1: function.as_ptr() as u64,
        config2: offset,
        ..Default::default()
    };
    perf_event_open(attr, -1, 0)
}

/// A uprobe perf event `offset` bytes into the file at `path`, through the uprobe PMU whose
/// type is `pmu_type`; `config` holds the retprobe bit and the semaphore's offset as the PMU's
/// formats place them. For process `pid` only when given (on any CPU), else for every process
/// (on CPU 0: a BPF program attached to it runs wherever the place is reached).
pub fn perf_event_open_uprobe(pmu_type: u32, path: &CStr, offset: u64, config: u64, pid: Option<u32>) -> io::Result<OwnedFd> {
    let attr = PerfEventAttr {
        kind: pmu_type,
        config,
        sample_period: 1,
        wakeup_events: 1,
        // `uprobe_path` and `probe_offset`.
        config1: path.as_ptr() as u64,
        config2: offset,
        ..Default::default()
    };
    match pid {
        Some(pid) => perf_event_open(attr, pid as i32, -1),
        None => perf_event_open(attr, -1, 0),
    }
}
