//! Whether a recipe runs here, and which of its variants runs: a directory recipe lists other
//! files (`variants = ["vfscount-syscalls.bt"]`) to run, in order, where its own file does not
//! (this kernel lacks a probe type, a probe, a tracepoint field it uses). A variant is a plain
//! script: the recipe's header is the one of its main file.

use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::diagnostic::{Diagnostic, Severity};
use ferrotrace_compiler::driver::{compile_with, Compiled, Keep};
use ferrotrace_compiler::options::CompileOptions;

use super::discovery::Found;
use super::header::Header;

/// Whether a script runs on this kernel.
pub enum Here {
    Runs(Box<Compiled>),
    /// This kernel lacks what it needs (a probe, a probe type): why.
    Missing(String),
    /// It is wrong wherever it runs: its first problem.
    Broken(String),
}

/// Compiles `text` against this kernel and asks whether the kernel can attach every probe.
pub fn here(text: &str, catalog: &dyn Catalog, options: &CompileOptions) -> Here {
    match compile_with(text, catalog, options, Keep::default()) {
        Ok(compiled) => match ferrotrace_runtime::unsupported_probes(&compiled.manifest).first() {
            Some(refusal) => Here::Missing(refusal.to_string().lines().next().unwrap_or_default().to_string()),
            None => Here::Runs(Box::new(compiled)),
        },
        Err(diagnostics) => {
            // What this kernel lacks makes the errors that follow from it moot.
            let errors: Vec<Diagnostic> = diagnostics.into_iter().filter(|d| d.severity == Severity::Error).collect();
            match errors.iter().find(|d| lacking(d.code)) {
                Some(missing) => Here::Missing(super::first_problem(std::slice::from_ref(missing))),
                None => Here::Broken(super::first_problem(&errors)),
            }
        }
    }
}

/// Whether a diagnostic says this kernel lacks something a recipe uses: a probe or probe type
/// (E02xx), a tracepoint field (E0304), a struct member (E0478). Other diagnostics are the
/// recipe's own mistakes, whatever the kernel.
fn lacking(code: &str) -> bool {
    code.starts_with("E02") || code == "E0304" || code == "E0478"
}

/// One file of a recipe, to run.
pub struct Variant<'f> {
    /// Its file name (`vfscount-syscalls.bt`); `None` for the recipe's own file.
    pub file: Option<&'f str>,
    pub text: &'f str,
}

/// The recipe's files in the order they are tried: its own, then its variants.
pub fn variants<'f>(found: &'f Found, header: &'f Header) -> Result<Vec<Variant<'f>>, String> {
    let mut all = vec![Variant { file: None, text: &found.text }];
    for file in &header.variants {
        let text = found.companion(file).ok_or_else(|| format!("its variant `{file}` is not a file of its directory"))?;
        all.push(Variant { file: Some(file), text });
    }
    Ok(all)
}

/// The first of the recipe's files that `runs` says runs here, or its own file when none does
/// (so that its own reason is the one reported). `runs` says whether the kernel has what a file
/// needs; `recipe run` then compiles the one chosen and reports its own mistakes.
pub fn choose<'f>(found: &'f Found, header: &'f Header, runs: &dyn Fn(&str) -> bool) -> Result<Variant<'f>, String> {
    let mut all = variants(found, header)?;
    if all.len() == 1 {
        return Ok(all.remove(0));
    }
    let at = all.iter().position(|variant| runs(variant.text)).unwrap_or(0);
    Ok(all.swap_remove(at))
}

/// Whether the recipe runs here, by the first of its files that does: that file and its
/// compile; or, when none does, why its own file does not. Variants are tried only where its
/// own file lacks something of this kernel's.
pub fn here_of<'f>(found: &'f Found, header: Option<&'f Header>, catalog: &dyn Catalog, options: &CompileOptions) -> (Option<&'f str>, Here) {
    let all = match header.map(|header| variants(found, header)) {
        Some(Ok(all)) => all,
        Some(Err(why)) => return (None, Here::Broken(why)),
        None => vec![Variant { file: None, text: &found.text }],
    };
    let mut own = None;
    for variant in all {
        match here(variant.text, catalog, options) {
            Here::Runs(compiled) => return (variant.file, Here::Runs(compiled)),
            // A mistake of the recipe's own file is not hidden by a variant that runs.
            broken @ Here::Broken(_) if variant.file.is_none() => return (None, broken),
            other => {
                own.get_or_insert(other);
            }
        }
    }
    (None, own.expect("a recipe has its own file"))
}
