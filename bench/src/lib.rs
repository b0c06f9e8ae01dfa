//! ferrotrace's benchmarks: scripts to compile and the whole-process measurements that
//! `ferrotrace-bench` prints as one table against bpftrace.
//!
//! `report` holds the results as data, `table` lays them out; `stats` and `parse` turn runs
//! and tool output into values.

pub mod parse;
pub mod report;
pub mod script;
pub mod stats;
pub mod table;
