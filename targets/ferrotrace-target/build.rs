//! Links the program with its USDT semaphores at the start of its writable data
//! (`semaphores-first.ld`), on the file page its RELRO segment ends on.

fn main() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("semaphores-first.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
}
