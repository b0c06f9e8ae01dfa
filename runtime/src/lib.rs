//! ferrotrace's runtime: loads a compiled script into the kernel, attaches its probes, streams
//! their output and prints the maps. The only crate that makes syscalls.

pub mod entry;
pub mod output;
