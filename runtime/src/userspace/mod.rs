//! Userspace binaries for uprobes and USDT probes: which files a probe's path names
//! (`paths.rs`: paths, library names, a process's mappings and mount namespace), and what
//! is in them (`elf.rs`: function symbols, USDT notes, where an address is in the file), with
//! C++ and Rust names demangled (`demangle.rs`), and what their debug info says of a
//! function's parameters (`dwarf.rs` finds it, `dwarf_types.rs` turns its types into BTF).

pub(crate) mod demangle;
pub(crate) mod dwarf;
pub(crate) mod dwarf_types;
pub(crate) mod elf;
pub(crate) mod paths;
