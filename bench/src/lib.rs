//! ferrotrace's benchmarks: scripts to compile and the whole-process measurements that
//! `ferrotrace-bench` prints as one table against bpftrace.
//!
//! The measurements use `process` (children with timeouts), `rusage` (`wait4`), `bpf_stats`
//! (the kernel's program counters) and `load_loop` (the getppid generator); `tools` finds the
//! tracers. `report` holds the results as data, `table` lays them out; `stats` and `parse`
//! turn runs and tool output into values.

pub mod bpf_stats;
pub mod load_loop;
pub mod parse;
pub mod process;
pub mod report;
pub mod rusage;
pub mod scratch;
pub mod script;
pub mod stats;
pub mod table;
pub mod tools;
