//! ferrotrace's benchmarks: scripts to compile and the whole-process measurements that
//! `ferrotrace-bench` prints as one table against bpftrace.
//!
//! The measurements live in `rows` (one module per row of the table); they use `process`
//! (children with timeouts), `rusage` (`wait4`), `bpf_stats` (the kernel's program counters)
//! and `load_loop` (the getppid generator). `report` holds the results as data and `table`
//! lays them out.

pub mod bpf_stats;
pub mod load_loop;
pub mod parse;
pub mod process;
pub mod report;
pub mod rows;
pub mod rusage;
pub mod scratch;
pub mod script;
pub mod stats;
pub mod table;
pub mod tools;
