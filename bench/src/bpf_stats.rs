//! The kernel's per-program statistics: switching them on, finding the programs a tracer
//! loaded, and reading their run time, run count and size.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use aya::programs::loaded_programs;

const STATS_SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// `BPF_PROG_TYPE_TRACEPOINT` in the kernel's `enum bpf_prog_type`.
const TRACEPOINT_PROGRAM: u32 = 5;
const PERF_EVENT_PROGRAM: u32 = 7;
/// `BPF_PROG_TYPE_KPROBE`, which uprobe programs are too.
const KPROBE_PROGRAM: u32 = 2;

/// `kernel.bpf_stats_enabled` set to 1 while this lives; the old value comes back on drop.
pub struct StatsSwitch {
    old: String,
}

impl StatsSwitch {
    pub fn enable() -> Result<StatsSwitch> {
        let old = fs::read_to_string(STATS_SYSCTL).with_context(|| format!("cannot read {STATS_SYSCTL}"))?;
        fs::write(STATS_SYSCTL, "1").with_context(|| format!("cannot write 1 to {STATS_SYSCTL}"))?;
        Ok(StatsSwitch { old: old.trim().to_string() })
    }
}

impl Drop for StatsSwitch {
    fn drop(&mut self) {
        if let Err(error) = fs::write(STATS_SYSCTL, &self.old) {
            eprintln!("warning: cannot restore {STATS_SYSCTL} to {}: {error}", self.old);
        }
    }
}

/// One program's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramStats {
    pub id: u32,
    pub run_time_ns: u64,
    pub run_count: u64,
    /// Instructions after the verifier's rewrites (`xlated_prog_len / 8`).
    pub translated_insns: u64,
}

impl ProgramStats {
    /// Nanoseconds per run between `self` and a later reading; `None` if it did not run.
    pub fn cost_since(&self, earlier: &ProgramStats) -> Option<f64> {
        let runs = self.run_count.checked_sub(earlier.run_count).filter(|runs| *runs > 0)?;
        let time = self.run_time_ns.saturating_sub(earlier.run_time_ns);
        Some(time as f64 / runs as f64)
    }
}

/// Every loaded program: its stats and its program type.
fn all_programs() -> Result<Vec<(ProgramStats, u32)>> {
    let mut programs = Vec::new();
    let mut first_error = None;
    for info in loaded_programs() {
        match info {
            Ok(info) => programs.push((
                ProgramStats {
                    id: info.id(),
                    run_time_ns: u64::try_from(info.run_time().as_nanos()).unwrap_or(u64::MAX),
                    run_count: info.run_count(),
                    translated_insns: u64::from(info.size_translated().unwrap_or(0) / 8),
                },
                info.program_type() as u32,
            )),
            // A program unloaded between listing and opening it is not an error.
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) if programs.is_empty() => Err(anyhow!("cannot list the loaded BPF programs: {error}")),
        _ => Ok(programs),
    }
}

/// The ids of every program loaded now.
pub fn program_ids() -> Result<HashSet<u32>> {
    Ok(all_programs()?.into_iter().map(|(stats, _)| stats.id).collect())
}

/// The current stats of program `id`, if it is still loaded.
pub fn read(id: u32) -> Result<Option<ProgramStats>> {
    Ok(all_programs()?.into_iter().map(|(stats, _)| stats).find(|stats| stats.id == id))
}

/// Tracepoint programs that process `pid` holds a file descriptor to and that were not loaded
/// when `before` was taken: the programs a freshly started tracer loaded, and no one else's.
pub fn new_tracepoint_programs(pid: libc::pid_t, before: &HashSet<u32>) -> Result<Vec<ProgramStats>> {
    new_programs(pid, before, TRACEPOINT_PROGRAM)
}

/// Like `new_tracepoint_programs`, for the perf-event programs of `interval` and `profile`
/// probes.
pub fn new_perf_event_programs(pid: libc::pid_t, before: &HashSet<u32>) -> Result<Vec<ProgramStats>> {
    new_programs(pid, before, PERF_EVENT_PROGRAM)
}

/// Like `new_tracepoint_programs`, for kprobe-type programs (kprobes, uprobes).
pub fn new_kprobe_programs(pid: libc::pid_t, before: &HashSet<u32>) -> Result<Vec<ProgramStats>> {
    new_programs(pid, before, KPROBE_PROGRAM)
}

fn new_programs(pid: libc::pid_t, before: &HashSet<u32>, program_type: u32) -> Result<Vec<ProgramStats>> {
    let held = programs_held_by(pid);
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let programs = all_programs()?;
    Ok(programs
        .into_iter()
        .filter(|(stats, kind)| *kind == program_type && held.contains(&stats.id) && !before.contains(&stats.id))
        .map(|(stats, _)| stats)
        .collect())
}

/// The program ids behind `pid`'s BPF program file descriptors (empty if it has exited).
fn programs_held_by(pid: libc::pid_t) -> HashSet<u32> {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let Ok(fds) = fs::read_dir(proc_dir.join("fd")) else {
        return HashSet::new();
    };
    fds.flatten()
        .filter(|fd| fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == "anon_inode:bpf-prog"))
        .filter_map(|fd| fs::read_to_string(proc_dir.join("fdinfo").join(fd.file_name())).ok())
        .filter_map(|fdinfo| fdinfo_program_id(&fdinfo))
        .collect()
}

/// The `prog_id:` field of a program fd's `/proc/PID/fdinfo/FD`.
pub fn fdinfo_program_id(fdinfo: &str) -> Option<u32> {
    fdinfo.lines().find_map(|line| line.strip_prefix("prog_id:")).and_then(|id| id.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::{fdinfo_program_id, ProgramStats};

    #[test]
    fn fdinfo_gives_the_program_id() {
        let fdinfo = "pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t2075\nprog_type:\t5\nprog_jited:\t1\n\
                      prog_tag:\t3bd5b4bb8ba3ea7b\nmemlock:\t4096\nprog_id:\t5098\nrun_time_ns:\t0\n";
        assert_eq!(fdinfo_program_id(fdinfo), Some(5098));
        assert_eq!(fdinfo_program_id("pos:\t0\nflags:\t02\n"), None);
    }

    #[test]
    fn cost_is_time_over_runs_between_two_readings() {
        let at = |run_time_ns, run_count| ProgramStats { id: 1, run_time_ns, run_count, translated_insns: 25 };
        assert_eq!(at(5_000, 100).cost_since(&at(1_000, 20)), Some(50.0));
        assert_eq!(at(5_000, 20).cost_since(&at(1_000, 20)), None);
    }
}
