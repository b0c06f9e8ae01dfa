//! Where a script comes from (a file with a shebang, standard input) and the parameters given
//! after it: positional (`$1`, `$#`, `str($1)`) and named (`getopt`).

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

#[test]
fn positional_parameters_after_a_program() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { printf("%s %d %d\n", str($1), $2, $#); exit(); }"#;
    run(&["-e", program, "hello", "7"]).assert_exact(0, "hello 7 2\n\n\n", ATTACHED_1);
}

#[test]
fn positional_parameters_fold_to_numbers_or_text_and_name_probes() {
    if !kernel_ready() {
        return;
    }
    let path = std::env::temp_dir().join(format!("ferrotrace-kernel-{}-params.bt", std::process::id()));
    let source = "interval:ms:$1 { printf(\"%d %s %s %d|%s|%d\\n\", $1 * 2, $2, str($2 + 2), $3, str($4), $4); exit(); }\n";
    std::fs::write(&path, source).expect("cannot write the script");
    let outcome = run(&["-q", path.to_str().expect("temp paths are UTF-8"), "20", "words", "-3"]);
    let _ = std::fs::remove_file(&path);
    // A slow machine may fire the interval again before `exit()` takes effect: look at the first.
    assert_eq!(outcome.stdout.lines().next(), Some("40 words rds -3||0"), "{}", outcome.transcript());
    assert!(outcome.stderr.contains("warning[W0402]"), "{}", outcome.transcript());
}

#[test]
fn getopt_reads_named_parameters_after_the_separator() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { printf("%d %s %d %d\n", getopt("n", 3), getopt("who", "me"), getopt("v"), getopt("neg", -1)); exit(); }"#;
    run(&["-q", "-e", program, "--", "--n=9", "--v"]).assert_exact(0, "9 me 1 -1\n\n\n", "");
    run(&["-q", "-e", program]).assert_exact(0, "3 me 0 -1\n\n\n", "");
}

#[test]
fn a_scripts_options_are_listed_by_help_and_checked() {
    let program = r#"begin { printf("%d\n", getopt("n", 3, "how many")); exit(); }"#;
    run(&["-e", program, "--", "--help"]).assert_exact(
        0,
        "Options of stdin (give them after `--`):\n  --n  how many (default: 3)\n",
        "",
    );
    let unknown = run(&["-e", program, "--", "--m=1"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(unknown.stderr, "ERROR: unexpected script options: --m; its options are --n\n");
    let wrong = run(&["-e", program, "--", "--n=many"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(wrong.stderr.contains("error[E0435]: command line option `--n` expects an integer (value: `many`)"), "{}", wrong.transcript());
}

#[test]
fn preprocessor_lines_bpftrace_tools_carry() {
    if !kernel_ready() {
        return;
    }
    let source = "#!/usr/bin/env ferrotrace\n#include <linux/sched.h>\n#ifndef BPFTRACE_HAVE_BTF\n#include <linux/socket.h>\n#error no BTF\n#else\n#define HAVE 1\n#endif\n#define BASE 40\n#define ANSWER (BASE + 2)\n#define GREETING \"hi\"\nbegin { printf(\"%s %d %d\\n\", GREETING, ANSWER, HAVE); exit(); }\n";
    run_with_stdin(&["-q", "-"], source).assert_exact(0, "hi 42 1\n\n\n", "");
}

#[test]
fn imports_bring_macros_and_probes_from_other_files() {
    if !kernel_ready() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ferrotrace-imports-{}", std::process::id()));
    let lib = dir.join("lib");
    std::fs::create_dir_all(&lib).expect("cannot make the import directory");
    let write = |path: &std::path::Path, text: &str| std::fs::write(path, text).expect("cannot write a script");
    write(&lib.join("helpers.bt"), "#!/usr/bin/env ferrotrace\nmacro twice(x) { x * 2 }\nbegin { printf(\"helpers first\\n\"); }\n");
    write(&lib.join("more.bt"), "import \"helpers.bt\";\nmacro thrice(x) { x * 3 }\n");
    write(&dir.join("main.bt"), "import \"lib/more.bt\";\nbegin { printf(\"%d %d\\n\", twice(21), thrice(2)); exit(); }\n");
    write(&dir.join("from_dir.bt"), "import \"lib\";\nbegin { printf(\"%d\\n\", thrice(3)); exit(); }\n");
    write(&dir.join("searched.bt"), "import \"helpers.bt\";\nbegin { printf(\"%d\\n\", twice(4)); exit(); }\n");
    write(&dir.join("missing.bt"), "import \"lib/none.bt\";\nbegin { }\n");
    write(&lib.join("loop_a.bt"), "import \"loop_b.bt\";\n");
    write(&lib.join("loop_b.bt"), "import \"loop_a.bt\";\n");
    write(&dir.join("cycle.bt"), "import \"lib/loop_a.bt\";\nbegin { }\n");
    let other = dir.join("other");
    std::fs::create_dir_all(&other).expect("cannot make the second import directory");
    write(&other.join("noisy.bt"), "\n\nbegin { errorf(\"from the import\"); }\n");
    write(&dir.join("noisy_main.bt"), "import \"other/noisy.bt\";\nbegin { exit(); }\n");
    let path = |name: &str| dir.join(name).display().to_string();
    let main = run(&["-q", &path("main.bt")]);
    let from_dir = run(&["-q", &path("from_dir.bt")]);
    let searched = run(&["-q", "-I", &lib.display().to_string(), &path("searched.bt")]);
    let missing = run(&["-q", &path("missing.bt")]);
    let cycle = run(&["-q", &path("cycle.bt")]);
    let noisy = run(&["-q", &path("noisy_main.bt")]);
    let _ = std::fs::remove_dir_all(&dir);
    main.assert_exact(0, "helpers first\n42 6\n\n\n", "");
    from_dir.assert_exact(0, "helpers first\n9\n\n\n", "");
    searched.assert_exact(0, "helpers first\n8\n\n\n", "");
    assert!(missing.stderr.contains("error[E0120]: cannot import `lib/none.bt`"), "{}", missing.transcript());
    assert!(cycle.stderr.contains("error[E0121]: imports form a cycle"), "{}", cycle.transcript());
    assert!(cycle.stderr.contains("loop_b.bt"), "{}", cycle.transcript());
    // A runtime error names the imported file it is written in, and its line there.
    let noisy_at = format!("{}:3:9-33: ERROR: from the import\n", other.join("noisy.bt").display());
    noisy.assert_exact(0, "\n\n", &noisy_at);
}
