//! ferrotrace's compiled programs run in user space: over events recorded on a real machine
//! (`ferrotrace record`) or written by hand (JSON lines), with no kernel, no BPF and no
//! privileges, printing what the live run would have printed.
//!
//! `program` reads the programs from the compiled ELF; `machine` is what they run on (memory
//! regions, `maps`, the `event`); `helpers` are the BPF helpers in Rust; `interp` runs the
//! instructions one by one and `jit` compiles them to native code with cranelift; `replay`
//! feeds events to the programs in order and their records to the runtime's printer.

pub mod backend;
pub mod catalog;
pub mod error;
pub mod event;
pub mod helpers;
pub mod interp;
pub mod jit;
pub mod key_table;
pub mod machine;
pub mod maps;
pub mod memory;
pub mod names;
pub mod oracle;
pub mod program;
pub mod recorder;
pub mod relatives;
pub mod recording;
pub mod source;
pub mod stacks;
pub mod standard_formats;
pub mod summary;
pub mod replay;
pub mod state;
pub mod synthetic;

pub use error::ReplayError;
pub use event::{Chunk, Clocks, Event};
pub use machine::Machine;
