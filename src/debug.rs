//! `-d STAGE`: each compiler stage shown for people, and kernel verifier rejections turned into
//! diagnostics on the script line that produced the failing instruction.

use std::io::{self, Write};

use ferrotrace_compiler::bpf::disassemble;
use ferrotrace_compiler::diagnostic::Diagnostic;
use ferrotrace_compiler::driver::{Compiled, Keep};
use ferrotrace_compiler::lir::print::print_function;
use ferrotrace_compiler::manifest::{MapId, MapRole};
use ferrotrace_compiler::sema::print::print_hir;
use ferrotrace_compiler::syntax::print_ast;

use crate::cli::{Cli, Stage};

/// The compiler stages `-d` will show, which the compiler must keep.
pub fn stages_to_keep(cli: &Cli) -> Keep {
    Keep { ast: cli.shows(Stage::Ast), hir: cli.shows(Stage::Hir), lir: cli.shows(Stage::Lir), bpf: cli.shows(Stage::Bpf) || cli.verbose }
}

/// Prints the stages `-d` asked for (and `stages_to_keep` had the compiler keep).
pub fn show_stages(cli: &Cli, compiled: &Compiled, source: &str, out: &mut dyn Write) -> io::Result<()> {
    if let (true, Some(ast)) = (cli.shows(Stage::Ast), &compiled.ast) {
        writeln!(out, "AST\n{}", print_ast(ast))?;
    }
    if let (true, Some(hir)) = (cli.shows(Stage::Hir), &compiled.hir) {
        writeln!(out, "HIR\n{}", print_hir(hir))?;
    }
    if cli.shows(Stage::Lir) {
        for (before, after) in compiled.lir.iter().zip(&compiled.allocated) {
            writeln!(out, "LIR (virtual registers)\n{}", print_function(before))?;
            writeln!(out, "LIR (allocated)\n{}", print_function(after))?;
        }
    }
    if cli.shows(Stage::Bpf) {
        disassemble_programs(compiled, source, |_| true, out)?;
    }
    Ok(())
}

/// Writes the instructions of the programs `wanted` chooses by index, each with the script
/// line it came from (the compile kept them: `Keep::bpf`).
pub fn disassemble_programs(compiled: &Compiled, source: &str, wanted: impl Fn(usize) -> bool, out: &mut dyn Write) -> io::Result<()> {
    let map_name = |id: MapId| map_name(compiled, id);
    for (_, (spec, program)) in compiled.manifest.programs.iter().zip(&compiled.programs).enumerate().filter(|(index, _)| wanted(*index)) {
        writeln!(out, "BPF {} ({} instructions)", spec.probe_name, program.insns.len())?;
        writeln!(out, "{}", disassemble(program, &map_name, Some(source)))?;
    }
    Ok(())
}

/// A map as people know it: `@name`, or the internal map's symbol.
fn map_name(compiled: &Compiled, id: MapId) -> String {
    match compiled.manifest.maps.get(id.0 as usize) {
        Some(spec) => match &spec.role {
            MapRole::User(user) => user.name.clone(),
            _ => spec.symbol.clone(),
        },
        None => format!("map#{}", id.0),
    }
}

/// A verifier rejection as a diagnostic on the script span of the failing instruction.
pub fn verifier_diagnostic(compiled: &Compiled, program: usize, insn: Option<usize>, reason: &str) -> Diagnostic {
    let spec = &compiled.manifest.programs[program];
    let span = insn.and_then(|i| spec.insn_spans.get(i)).copied().unwrap_or(spec.span);
    let at = insn.map(|i| format!(" at BPF instruction {i}")).unwrap_or_default();
    Diagnostic::error("E0701", format!("the kernel's verifier rejected probe `{}`: {reason}", spec.probe_name))
        .with_primary(span, format!("the instruction the kernel refused{at} comes from here"))
        .with_note("run with `-d verifier` for the whole verifier log, `-d bpf` for the instructions")
}
