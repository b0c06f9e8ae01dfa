//! Every `.bt` file under `examples/` and `tests/corpus/` must parse, check, compile and
//! disassemble; the disassembly is snapshotted and reviewed like code.

mod support;

use std::path::{Path, PathBuf};

use ferrotrace_compiler::bpf::disassemble;
use ferrotrace_compiler::driver::compile;
use ferrotrace_compiler::render::render;

fn scripts() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["examples", "tests/corpus"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("corpus directory exists") {
            let path = entry.expect("readable directory entry").path();
            if path.extension().is_some_and(|e| e == "bt") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_corpus_script_compiles_and_disassembles() {
    let files = scripts();
    assert!(files.len() >= 8, "the corpus went missing: {files:?}");
    for path in files {
        let source = std::fs::read_to_string(&path).expect("readable script");
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 file name");
        let compiled = match compile(&source, &support::FakeCatalog) {
            Ok(compiled) => compiled,
            Err(diagnostics) => panic!("{name} does not compile:\n{}", render(&diagnostics, &source, name, false)),
        };
        assert!(!compiled.elf.is_empty());
        let mut listing = String::new();
        for (spec, program) in compiled.manifest.programs.iter().zip(&compiled.programs) {
            listing.push_str(&format!("== {} ({} insns)\n", spec.probe_name, program.insns.len()));
            listing.push_str(&disassemble(program, &|m| format!("map#{}", m.0), Some(&source)));
        }
        insta::assert_snapshot!(name, listing);
    }
}
