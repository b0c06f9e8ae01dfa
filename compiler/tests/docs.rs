//! Documentation generated from the compiler: `docs/stdlib.md` is the standard library
//! registry written out, and must not drift from it.

use std::path::Path;

#[test]
fn stdlib_md_is_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/stdlib.md");
    let generated = ferrotrace_compiler::stdlib::markdown();
    if std::env::var_os("FERROTRACE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("cannot write docs/stdlib.md");
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "docs/stdlib.md differs from the registry; run `FERROTRACE_UPDATE_DOCS=1 cargo test -p ferrotrace-compiler --test docs`"
    );
}
