//! ferrotrace's benchmarks: scripts to compile and the whole-process measurements that
//! `ferrotrace-bench` prints as one table against bpftrace.

pub mod script;
