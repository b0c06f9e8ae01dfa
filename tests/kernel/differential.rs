//! The differential oracle in `cargo test`: every corpus script, example and recipe, and 1,000
//! generated repeatable programs, have their `begin` and `end` programs run in the kernel and in
//! replay's engine (JIT and interpreter), and nothing they leave may differ. A longer run:
//! `FERROTRACE_ORACLE_PROGRAMS=100000 cargo test --release --test kernel -- differential::`.

#[path = "../../compiler/tests/support/xorshift.rs"]
mod xorshift;
#[path = "../../compiler/tests/support/generator.rs"]
mod generator;

use std::path::Path;

use ferrotrace_compiler::driver::{compile_with, Keep};
use ferrotrace_compiler::options::CompileOptions;
use ferrotrace_replay::backend::Backend;
use ferrotrace_replay::oracle::{compare_run_once, Verdict};
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::tracefs::Tracefs;
use generator::{well_formed_programs, Kinds};

use super::kernel_ready;

/// Generated programs compared in `cargo test`; fewer inside the kernel matrix's emulated
/// guests, where each load is many times slower (and there on the JIT alone: the interpreter
/// is the same code on every kernel).
const GENERATED: usize = 1000;
const GENERATED_IN_THE_MATRIX: usize = 40;

/// The backends compared with the kernel here.
fn backends() -> &'static [Backend] {
    match in_the_matrix() {
        true => &[Backend::Jit],
        false => &[Backend::Jit, Backend::Interpreter],
    }
}

fn in_the_matrix() -> bool {
    std::env::var_os("FERROTRACE_MATRIX_KERNEL").is_some()
}

/// What comparing a set of scripts came to.
#[derive(Default)]
struct Tally {
    same: usize,
    skipped: usize,
    differences: Vec<String>,
}

impl Tally {
    /// Compiles `source` for this kernel and compares its run-once programs on both backends.
    fn compare(&mut self, name: &str, source: &str, catalog: &KernelCatalog) {
        let Ok(compiled) = compile_with(source, catalog, &CompileOptions::default(), Keep::default()) else {
            self.skipped += 1;
            return;
        };
        for &backend in backends() {
            match compare_run_once(&compiled.elf, &compiled.manifest, backend) {
                Ok(Verdict::Same) => self.same += 1,
                Ok(Verdict::Skipped(_)) => self.skipped += 1,
                Ok(Verdict::Differs(difference)) => self.differences.push(format!("{name} ({backend:?}): {difference}\n{source}")),
                Err(error) => self.differences.push(format!("{name} ({backend:?}): {error}\n{source}")),
            }
        }
    }

    fn assert_none_differ(&self, what: &str) {
        eprintln!("{what}: {} runs alike, {} skipped, {} differ", self.same, self.skipped, self.differences.len());
        assert!(self.differences.is_empty(), "{} of the {what} differ between the kernel and replay:\n{}", self.differences.len(), self.differences.join("\n\n"));
    }
}

fn catalog() -> KernelCatalog {
    KernelCatalog::new(Tracefs::find_or_mount(true).expect("tracefs"))
}

/// The `.bt` files under `dir` of the repository, with their names.
fn scripts_in(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut scripts: Vec<(String, String)> = std::fs::read_dir(&root)
        .expect("a script directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .flat_map(|path| if path.is_dir() { std::fs::read_dir(&path).into_iter().flatten().filter_map(|entry| entry.ok().map(|entry| entry.path())).collect() } else { vec![path] })
        .filter(|path| path.extension().is_some_and(|extension| extension == "bt"))
        .map(|path| (path.display().to_string(), std::fs::read_to_string(&path).expect("a readable script")))
        .collect();
    scripts.sort();
    scripts
}

#[test]
fn the_corpus_examples_and_recipes_run_alike_in_the_kernel_and_in_replay() {
    if !kernel_ready() {
        return;
    }
    let catalog = catalog();
    let mut tally = Tally::default();
    for (name, source) in ["tests/corpus", "examples", "recipes"].into_iter().flat_map(scripts_in) {
        tally.compare(&name, &source, &catalog);
    }
    tally.assert_none_differ("corpus scripts, examples and recipes");
    assert!(tally.same >= 4, "only {} comparisons were made: the oracle stopped exercising anything", tally.same);
}

#[test]
fn generated_programs_run_alike_in_the_kernel_and_in_replay() {
    if !kernel_ready() {
        return;
    }
    let default = if in_the_matrix() { GENERATED_IN_THE_MATRIX } else { GENERATED };
    let count = std::env::var("FERROTRACE_ORACLE_PROGRAMS").ok().and_then(|count| count.parse().ok()).unwrap_or(default);
    let catalog = catalog();
    let mut tally = Tally::default();
    for (index, source) in well_formed_programs(count, Kinds::Repeatable).enumerate() {
        tally.compare(&format!("generated program {index}"), &source, &catalog);
    }
    tally.assert_none_differ("generated programs");
    let runs = count * backends().len();
    assert!(tally.same * 2 >= runs, "only {} of {runs} runs of generated programs were compared", tally.same);
}
