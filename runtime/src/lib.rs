//! ferrotrace's runtime: loads a compiled script into the kernel, attaches its probes, streams
//! their output and prints the maps. The only crate that makes syscalls.

mod btf;
mod attach;
pub mod cgroups;
pub mod catalog;
pub mod cpus;
pub mod entry;
pub mod error;
pub mod events;
pub mod features;
mod func_btf;

mod loader;
pub mod maps;
pub mod output;
pub mod privileges;
pub mod relocate;
pub mod probes;
pub mod run;
pub mod script_state;
pub mod session;
pub mod signals;
pub mod suite;
pub mod symbolize;
pub mod target;
pub mod sys;
pub mod tracefs;
mod userspace;
pub mod verifier;

pub use error::{AttachError, LoadError};
pub use session::Session;

/// The probes of a compiled script that this kernel cannot attach (a probe type it lacks), each
/// with why; found without loading anything.
pub fn unsupported_probes(manifest: &ferrotrace_compiler::manifest::Manifest) -> Vec<LoadError> {
    manifest.programs.iter().filter_map(attach::refusal).collect()
}
