//! The whole pipeline on one screen: parse, check, lower, verify, allocate, encode, write ELF.

use crate::bpf::{self, EncodedProgram};
use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::elf::{self, ElfProgram};
use crate::lir::verify::{verify, Stage};
use crate::lir::Function;
use crate::manifest::{Callback, Manifest, ProgramSpec};
use crate::options::CompileOptions;
use crate::sema::hir;
use crate::syntax::ast;
use crate::{co_re, lower, regalloc, sema, syntax};

/// Everything compiling a script produced: the object to load and the stages kept for `-d`.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Each present if `Keep` asked for it.
    pub ast: Option<ast::Program>,
    pub hir: Option<hir::Program>,
    /// LIR as lowered, before register allocation (empty unless kept).
    pub lir: Vec<Function>,
    /// LIR after register allocation (empty unless kept).
    pub allocated: Vec<Function>,
    /// The encoded programs (empty unless kept; the ELF holds their code).
    pub programs: Vec<EncodedProgram>,
    pub manifest: Manifest,
    /// The relocatable BPF ELF object.
    pub elf: Vec<u8>,
    pub warnings: Vec<Diagnostic>,
    /// The named parameters the script declares with `getopt`.
    pub options: Vec<sema::ScriptOption>,
}

/// Which intermediate stages to keep in `Compiled`. The others are dropped as soon as the next
/// stage is built: a 10,000-line script then compiles in half the memory, and the kernel's
/// zeroing of fresh pages was a fifth of its compile time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    pub ast: bool,
    pub hir: bool,
    /// The LIR before and after register allocation.
    pub lir: bool,
    /// The encoded programs.
    pub bpf: bool,
}

impl Keep {
    pub const ALL: Keep = Keep { ast: true, hir: true, lir: true, bpf: true };
}

/// Compiles `source` with kernel facts from `catalog`, keeping every stage.
pub fn compile(source: &str, catalog: &dyn Catalog) -> Result<Compiled, Vec<Diagnostic>> {
    compile_keeping(source, catalog, Keep::ALL)
}

/// Compiles `source` without parameters, keeping the stages `keep` asks for.
pub fn compile_keeping(source: &str, catalog: &dyn Catalog, keep: Keep) -> Result<Compiled, Vec<Diagnostic>> {
    compile_with(source, catalog, &CompileOptions::default(), keep)
}

/// Compiles `source` with its parameters and settings, keeping the stages `keep` asks for.
pub fn compile_with(source: &str, catalog: &dyn Catalog, options: &CompileOptions, keep: Keep) -> Result<Compiled, Vec<Diagnostic>> {
    let ast = syntax::parse(source)?;
    let (hir, warnings) = sema::check_with(&ast, catalog, options)?;
    let script_options = hir.options.clone();
    let ast = keep.ast.then_some(ast);
    let lowered = lower::lower(&hir);
    let hir = keep.hir.then_some(hir);
    let mut manifest = lowered.manifest;
    manifest.line_starts = std::iter::once(0).chain(source.match_indices('\n').map(|(at, _)| at as u32 + 1)).collect();
    let mut lir = Vec::new();
    let mut allocated = Vec::new();
    let mut programs = Vec::with_capacity(lowered.functions.len());
    for (functions, spec) in lowered.functions.into_iter().zip(&mut manifest.programs) {
        let mut encoded = Vec::with_capacity(functions.len());
        let mut params = Vec::with_capacity(functions.len());
        for func in functions {
            params.push(func.params);
            let done = allocate(func, spec, keep.lir.then_some(&mut lir))?;
            encoded.push(bpf::encode(&done).map_err(|e| vec![internal(spec, "encoding failed", e.to_string())])?);
            if keep.lir {
                allocated.push(done);
            }
        }
        let linked = bpf::link(encoded).map_err(|e| vec![internal(spec, "linking loop bodies failed", e.to_string())])?;
        spec.insn_spans = linked.spans.clone();
        spec.callbacks = linked.function_starts[1..]
            .iter()
            .zip(&params[1..])
            .map(|(&start, &params)| Callback { insn: start as u32, params })
            .collect();
        programs.push(linked);
    }
    let elf_programs: Vec<ElfProgram<'_>> = manifest
        .programs
        .iter()
        .zip(&programs)
        .map(|(spec, code)| ElfProgram { symbol: &spec.symbol, section: &spec.section, code })
        .collect();
    let core = relocation_sections(&elf_programs, catalog)?;
    let elf = elf::write_object(&elf_programs, &manifest.maps, core.as_ref()).map_err(|e| {
        vec![Diagnostic::error("E0901", format!("internal compiler error: writing the ELF object failed: {e}"))]
    })?;
    if !keep.bpf {
        programs = Vec::new();
    }
    Ok(Compiled { ast, hir, lir, allocated, programs, manifest, elf, warnings, options: script_options })
}

/// The `.BTF` and `.BTF.ext` sections naming the kernel struct members the programs read.
fn relocation_sections(programs: &[ElfProgram<'_>], catalog: &dyn Catalog) -> Result<Option<co_re::CoreSections>, Vec<Diagnostic>> {
    // Only a program that reads a kernel struct's member needs the kernel's types here.
    if programs.iter().all(|program| program.code.field_relocations.is_empty()) {
        return Ok(None);
    }
    let Some(kernel) = catalog.kernel_types() else { return Ok(None) };
    let accesses: Vec<co_re::ProgramAccesses<'_>> = programs
        .iter()
        .zip(elf::program_starts(programs))
        .map(|(program, start)| co_re::ProgramAccesses { section: program.section, start, accesses: &program.code.field_relocations })
        .collect();
    co_re::write_sections(kernel, &accesses)
        .map_err(|e| vec![Diagnostic::error("E0901", format!("internal compiler error: writing the CO-RE relocations failed: {e}"))])
}

/// Whether compiles check the LIR rules before and after allocation: in debug builds, which
/// every test runs, so a lowering bug fails its test. Release builds leave a miscompiled
/// program to the kernel's verifier, whose rejection is still reported at the script line, and
/// spend the time (a twentieth of a big script's compile) on compiling.
const VERIFY_LIR: bool = cfg!(debug_assertions);

/// Verifies one lowered function, allocates its registers and verifies the result; keeps the
/// lowered form in `kept` when asked.
fn allocate(func: Function, spec: &ProgramSpec, kept: Option<&mut Vec<Function>>) -> Result<Function, Vec<Diagnostic>> {
    if !VERIFY_LIR {
        if let Some(kept) = kept {
            kept.push(func.clone());
        }
        return regalloc::allocate(func).map_err(|e| allocation_error(e, spec));
    }
    if let Err(errors) = verify(&func, Stage::Virtual) {
        return Err(vec![internal(spec, "lowering produced invalid LIR", join(&errors))]);
    }
    if let Some(kept) = kept {
        kept.push(func.clone());
    }
    let done = regalloc::allocate(func).map_err(|e| allocation_error(e, spec))?;
    if let Err(errors) = verify(&done, Stage::Allocated) {
        return Err(vec![internal(spec, "register allocation produced invalid LIR", join(&errors))]);
    }
    Ok(done)
}

fn allocation_error(error: regalloc::RegAllocError, spec: &ProgramSpec) -> Vec<Diagnostic> {
    match error {
        regalloc::RegAllocError::StackOverflow { needed } => vec![Diagnostic::error(
            "E0601",
            format!("this probe needs {needed} bytes of BPF stack; the kernel allows 512"),
        )
        .with_primary(spec.span, "too much stack")
        .with_help("split the work across fewer large strings or tuples in one probe")],
        other => vec![internal(spec, "register allocation failed", other.to_string())],
    }
}

/// An internal compiler error while compiling `spec`'s probe.
fn internal(spec: &ProgramSpec, what: &str, detail: String) -> Diagnostic {
    Diagnostic::error("E0901", format!("internal compiler error: {what}"))
        .with_primary(spec.span, "while compiling this probe")
        .with_note(detail)
        .with_note("please report this with the script that caused it")
}

fn join(errors: &[impl std::fmt::Display]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}
