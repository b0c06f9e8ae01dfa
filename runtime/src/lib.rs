//! ferrotrace's runtime: loads a compiled script into the kernel, attaches its probes, streams
//! their output and prints the maps. The only crate that makes syscalls.

pub mod catalog;
pub mod cpus;
pub mod entry;
pub mod privileges;
pub mod signals;
pub mod sys;
pub mod tracefs;
pub mod verifier;
