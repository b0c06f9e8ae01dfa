//! Userspace binaries for uprobes and USDT probes: which files a probe's path names
//! (`paths.rs`: paths, library names, a process's mappings and mount namespace), and what
//! is in them (`elf.rs`: function symbols, USDT notes, where an address is in the file), with
//! C++ and Rust names demangled (`demangle.rs`).

mod demangle;
pub(crate) mod elf;
pub(crate) mod paths;
