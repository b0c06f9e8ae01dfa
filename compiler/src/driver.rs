//! The whole pipeline on one screen: parse, check, lower, verify, allocate, encode, write ELF.

use crate::bpf::{self, EncodedProgram};
use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::elf::{self, ElfProgram};
use crate::lir::verify::{verify, Stage};
use crate::lir::Function;
use crate::manifest::Manifest;
use crate::sema::hir;
use crate::syntax::ast;
use crate::{lower, regalloc, sema, syntax};

/// Everything compiling a script produced: the object to load and, for `-d`, every stage.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub ast: ast::Program,
    pub hir: hir::Program,
    /// LIR as lowered, before register allocation.
    pub lir: Vec<Function>,
    /// LIR after register allocation.
    pub allocated: Vec<Function>,
    pub programs: Vec<EncodedProgram>,
    pub manifest: Manifest,
    /// The relocatable BPF ELF object.
    pub elf: Vec<u8>,
    pub warnings: Vec<Diagnostic>,
}

/// Compiles `source` with kernel facts from `catalog`.
pub fn compile(source: &str, catalog: &dyn Catalog) -> Result<Compiled, Vec<Diagnostic>> {
    let ast = syntax::parse(source)?;
    let (hir, warnings) = sema::check(&ast, catalog)?;
    let lowered = lower::lower(&hir);
    let mut manifest = lowered.manifest;
    let mut allocated = Vec::with_capacity(lowered.functions.len());
    let mut programs = Vec::with_capacity(lowered.functions.len());
    for (func, spec) in lowered.functions.iter().zip(&mut manifest.programs) {
        let internal = |what: &str, detail: String| {
            Diagnostic::error("E0901", format!("internal compiler error: {what}"))
                .with_primary(spec.span, "while compiling this probe")
                .with_note(detail)
                .with_note("please report this with the script that caused it")
        };
        if let Err(errors) = verify(func, Stage::Virtual) {
            return Err(vec![internal("lowering produced invalid LIR", join(&errors))]);
        }
        let done = regalloc::allocate(func.clone()).map_err(|e| match e {
            regalloc::RegAllocError::StackOverflow { needed } => vec![Diagnostic::error(
                "E0601",
                format!("this probe needs {needed} bytes of BPF stack; the kernel allows 512"),
            )
            .with_primary(spec.span, "too much stack")
            .with_help("split the work across fewer large strings or tuples in one probe")],
            other => vec![internal("register allocation failed", other.to_string())],
        })?;
        if let Err(errors) = verify(&done, Stage::Allocated) {
            return Err(vec![internal("register allocation produced invalid LIR", join(&errors))]);
        }
        let encoded = bpf::encode(&done).map_err(|e| vec![internal("encoding failed", e.to_string())])?;
        spec.insn_spans = encoded.spans.clone();
        allocated.push(done);
        programs.push(encoded);
    }
    let elf_programs: Vec<ElfProgram<'_>> = manifest
        .programs
        .iter()
        .zip(&programs)
        .map(|(spec, code)| ElfProgram { symbol: &spec.symbol, section: &spec.section, code })
        .collect();
    let elf = elf::write_object(&elf_programs, &manifest.maps).map_err(|e| {
        vec![Diagnostic::error("E0901", format!("internal compiler error: writing the ELF object failed: {e}"))]
    })?;
    Ok(Compiled { ast, hir, lir: lowered.functions, allocated, programs, manifest, elf, warnings })
}

fn join(errors: &[impl std::fmt::Display]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}
