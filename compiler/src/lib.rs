//! ferrotrace's compiler: bpftrace script text in, a BPF ELF object and its manifest out.
//!
//! The pipeline (see `docs/architecture.md`): `syntax` parses to an AST, `sema` checks it into
//! HIR, `lower` turns HIR into LIR, `regalloc` assigns registers and stack, `bpf` encodes, and
//! `elf` writes the object. This crate does no IO; kernel facts come through `catalog::Catalog`.

pub mod bpf;
pub mod btf;
pub mod buckets;
pub mod catalog;
pub mod co_re;
pub mod config;
pub mod diagnostic;
pub mod driver;
pub mod elf;
pub mod kernel_facts;
pub mod lir;
pub mod lower;
pub mod manifest;
pub mod names;
pub mod options;
pub mod printf;
pub mod seq_format;
pub mod providers;
pub mod recheck;
pub mod pt_regs;
pub mod regalloc;
pub mod render;
pub mod sema;
pub mod sources;
pub mod span;
pub mod stdlib;
pub mod syntax;
pub mod syscalls;
pub mod types;
pub mod usdt;
