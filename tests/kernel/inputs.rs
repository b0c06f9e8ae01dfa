//! Where a script comes from: a file with a shebang, or standard input.

use super::*;

#[test]
fn script_file_with_shebang_and_comments() {
    if !kernel_ready() {
        return;
    }
    let path = std::env::temp_dir().join(format!("ferrotrace-kernel-{}-hello.bt", std::process::id()));
    let source =
        "#!/usr/bin/env ferrotrace\n// a comment\nbegin {\n  /* another */\n  printf(\"from a file\\n\");\n}\n";
    std::fs::write(&path, source).expect("cannot write the script");
    let outcome = run(&[path.to_str().expect("temp paths are UTF-8")]);
    let _ = std::fs::remove_file(&path);
    outcome.assert_exact(0, "from a file\n\n\n", ATTACHED_1);
}

#[test]
fn script_from_stdin() {
    if !kernel_ready() {
        return;
    }
    run_with_stdin(&["-"], "begin { printf(\"from stdin\\n\"); exit(); }\n").assert_exact(
        0,
        "from stdin\n\n\n",
        ATTACHED_1,
    );
}
