//! The program uprobe and USDT tests trace (`targets/ferrotrace-target`): built once per test
//! run with cargo into the tests' own target directory, and found at that path inside the
//! kernel matrix's guests, whose initramfs holds it there (the guests have no cargo).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The target program's path, built on first use (outside the matrix's guests).
pub fn path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("target-program");
        let binary = target_dir.join("debug").join("ferrotrace-target");
        if std::env::var_os("FERROTRACE_MATRIX_KERNEL").is_none() {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("targets/ferrotrace-target/Cargo.toml");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "--manifest-path"])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&target_dir)
                .status()
                .expect("cannot run cargo to build the target program");
            assert!(status.success(), "building the target program failed");
        }
        binary.to_str().expect("the target program's path is UTF-8").to_string()
    })
}
