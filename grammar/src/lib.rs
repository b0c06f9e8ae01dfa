//! The pest grammar of the bpftrace language and the parser pest derives from it.
//!
//! The grammar lives in `bpftrace.pest`; `Rule::file` is the entry point for a whole script.
//! This crate only recognises text: the compiler's `syntax` module builds the AST and turns
//! parse failures into diagnostics.

use pest_derive::Parser;

/// The derived parser; call `BpftraceParser::parse(Rule::file, source)` (trait `pest::Parser`).
#[derive(Parser)]
#[grammar = "bpftrace.pest"]
pub struct BpftraceParser;
