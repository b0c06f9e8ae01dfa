//! The command line without running probes: version, help, missing or unreadable scripts, and
//! compile errors rendered as diagnostics (exit status 1). Compiling needs tracefs, so the
//! diagnostic tests run only where the kernel tests can.

mod support;

use support::gate::kernel_ready;
use support::process::{run, run_with_stdin};

/// A file under the temp directory, unique to this test process, removed on drop.
struct TempScript(std::path::PathBuf);

impl TempScript {
    fn new(name: &str, bytes: &[u8]) -> TempScript {
        let path = std::env::temp_dir().join(format!("ferrotrace-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("cannot write the script");
        TempScript(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8")
    }
}

impl Drop for TempScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Compiles `program` given with `-e` and snapshots the exit code and both streams.
macro_rules! assert_compile_error {
    ($program:expr) => {
        if kernel_ready() {
            let outcome = run(&["-e", $program]);
            insta::assert_snapshot!(outcome.transcript());
        }
    };
}

#[test]
fn version_prints_name_and_version() {
    run(&["-V"]).assert_exact(0, &format!("ferrotrace v{}\n", env!("CARGO_PKG_VERSION")), "");
    run(&["--version"]).assert_exact(0, &format!("ferrotrace v{}\n", env!("CARGO_PKG_VERSION")), "");
}

#[test]
fn help_lists_every_option() {
    let outcome = run(&["-h"]);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn no_program_is_an_error_that_says_what_to_give() {
    run(&[]).assert_exact(
        1,
        "",
        "ERROR: no program given: use `-e 'PROGRAM'`, a script FILE, `-` for standard input, or `-i` for the interactive console (see --help)\n",
    );
}

#[test]
fn missing_script_file_is_an_error_naming_it() {
    let path = format!("/nonexistent/ferrotrace-{}.bt", std::process::id());
    let expected = format!("ERROR: cannot read script `{path}`: No such file or directory (os error 2)\n");
    run(&[&path]).assert_exact(1, "", &expected);
}

#[test]
fn directory_as_script_is_an_error_naming_it() {
    let dir = std::env::temp_dir();
    let path = dir.to_str().expect("temp dir is UTF-8");
    let expected = format!("ERROR: cannot read script `{path}`: Is a directory (os error 21)\n");
    run(&[path]).assert_exact(1, "", &expected);
}

#[test]
fn script_that_is_not_utf8_is_an_error() {
    let script = TempScript::new("not-utf8.bt", b"\xff\xfe begin {}");
    let expected = format!(
        "ERROR: script `{}` is not UTF-8 text: invalid utf-8 sequence of 1 bytes from index 0\n",
        script.path()
    );
    run(&[script.path()]).assert_exact(1, "", &expected);
}

#[test]
fn unknown_option_exits_1_with_usage() {
    let outcome = run(&["--bogus"]);
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn parse_error_points_at_the_token() {
    assert_compile_error!("begin { @x = 1 +; }");
}

#[test]
fn unexpected_end_of_script() {
    assert_compile_error!("begin { $x = 1 } end");
}

#[test]
fn unknown_function() {
    assert_compile_error!("begin { nosuch(1); }");
}

#[test]
fn unknown_tracepoint() {
    assert_compile_error!("tracepoint:nosuch:thing { }");
}

#[test]
fn map_with_two_kinds_of_value() {
    assert_compile_error!(r#"begin { @x = 1; @x = "s"; }"#);
}

#[test]
fn printf_argument_of_the_wrong_type() {
    assert_compile_error!(r#"begin { printf("%d\n", "str"); }"#);
}

/// One error only: `@x` is assigned here, so it must not also be reported as never assigned.
#[test]
fn unassigned_variable_is_the_only_error() {
    assert_compile_error!("begin { @x = $y; }");
}

#[test]
fn diagnostics_in_a_script_file_name_the_file() {
    if !kernel_ready() {
        return;
    }
    let script = TempScript::new("parse-error.bt", b"begin {\n  @x = 1 +;\n}\n");
    let outcome = run(&[script.path()]);
    let transcript = outcome.transcript().replace(script.path(), "SCRIPT");
    insta::assert_snapshot!(transcript);
}

#[test]
fn diagnostics_in_a_script_from_stdin_name_stdin() {
    if !kernel_ready() {
        return;
    }
    let outcome = run_with_stdin(&["-"], "begin {\n  nosuch();\n}\n");
    insta::assert_snapshot!(outcome.transcript());
}

#[test]
fn emit_elf_writes_the_object_and_runs_nothing() {
    if !kernel_ready() {
        return;
    }
    let out = TempScript::new("emit.o", b"");
    run(&["--emit-elf", out.path(), "-e", r#"begin { printf("ran\n"); }"#]).assert_exact(0, "", "");
    let elf = std::fs::read(out.path()).expect("the ELF object was written");
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(elf[18], 247, "e_machine is EM_BPF");
}

#[test]
fn emit_elf_to_an_unwritable_path_names_it() {
    if !kernel_ready() {
        return;
    }
    run(&["--emit-elf", "/nonexistent/dir/out.o", "-e", "begin { exit(); }"]).assert_exact(
        1,
        "",
        "ERROR: cannot write the ELF object to `/nonexistent/dir/out.o`: No such file or directory (os error 2)\n",
    );
}

/// The manual page is roff for section 8 and documents every long option `--help` lists.
#[test]
fn man_page_lists_every_option() {
    let page = run(&["--man"]);
    assert_eq!(page.status.code(), Some(0), "{}", page.transcript());
    assert!(page.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq") || page.stdout.contains(".TH ferrotrace 8"), "{}", page.stdout);
    let help = run(&["--help"]).stdout;
    let long_options: Vec<&str> = help.split_whitespace().filter(|word| word.starts_with("--") && word.len() > 2).map(|word| word.trim_end_matches(|c: char| !c.is_alphanumeric())).collect();
    assert!(long_options.len() > 10, "{help}");
    for option in long_options {
        let roff = option.replace('-', "\\-");
        assert!(page.stdout.contains(&roff), "the manual page lacks {option}");
    }
}

/// Completion scripts for the shells people use, each naming the options.
#[test]
fn completions_for_bash_zsh_and_fish() {
    let bash = run(&["--completions", "bash"]);
    assert!(bash.stdout.contains("complete -F _ferrotrace") && bash.stdout.contains("--output"), "{}", bash.transcript());
    let zsh = run(&["--completions", "zsh"]);
    assert!(zsh.stdout.starts_with("#compdef ferrotrace") && zsh.stdout.contains("--output"), "{}", zsh.transcript());
    let fish = run(&["--completions", "fish"]);
    assert!(fish.stdout.contains("complete -c ferrotrace") && fish.stdout.contains("-l output"), "{}", fish.transcript());
    let refused = run(&["--completions", "tcsh"]);
    assert_eq!(refused.status.code(), Some(1), "{}", refused.transcript());
}

/// `--fmt` prints a script formatted, to stdout or the `-o` file; a script that does not
/// parse is reported and exits 1.
#[test]
fn fmt_formats_a_script() {
    let path = std::env::temp_dir().join(format!("ferrotrace-cli-{}-fmt.bt", std::process::id()));
    std::fs::write(&path, "begin{printf(\"hi\\n\");exit();} // bye\n").expect("writable temp dir");
    let file = path.display().to_string();
    run(&["--fmt", &file]).assert_exact(0, "begin {\n    printf(\"hi\\n\");\n    exit();\n}  // bye\n", "");
    run_with_stdin(&["--fmt", "-"], "end { }").assert_exact(0, "end { }\n", "");
    let out = format!("{file}.out");
    run(&["--fmt", &file, "-o", &out]).assert_exact(0, "", "");
    assert_eq!(std::fs::read_to_string(&out).unwrap_or_default(), "begin {\n    printf(\"hi\\n\");\n    exit();\n}  // bye\n");
    let broken = run_with_stdin(&["--fmt", "-"], "begin { $x = ; }");
    assert_eq!(broken.status.code(), Some(1), "{}", broken.transcript());
    assert!(broken.stderr.contains("E0101"), "{}", broken.transcript());
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&out);
}

/// A value an option does not take is named with the values it does, exit 1.
#[test]
fn bad_option_values_name_the_choices() {
    for (args, named) in [
        (["-f", "xml"], "possible values: text, json"),
        (["-B", "sometimes"], "possible values: line, full, none"),
        (["--no-feature", "bogus"], "possible values: kprobe_multi, kprobe_session, uprobe_multi"),
        (["-d", "everything"], "possible values: ast, hir, lir, bpf, verifier, all"),
    ] {
        let mut all = args.to_vec();
        all.extend(["-e", "begin { exit(); }"]);
        let outcome = run(&all);
        assert_eq!(outcome.status.code(), Some(1), "{}", outcome.transcript());
        assert!(outcome.stderr.contains(&format!("invalid value '{}'", args[1])) && outcome.stderr.contains(named), "{}", outcome.transcript());
    }
}

/// A script's `getopt` options are read from its syntax before anything is compiled, so
/// `-- --help` and a wrong value need neither the kernel nor root.
#[test]
fn script_options_are_checked_before_compiling() {
    let program = r#"begin { printf("%d\n", getopt("n", 3, "how many")); }"#;
    run(&["-e", program, "--", "--help"]).assert_exact(0, "Options of stdin (give them after `--`):\n  --n  how many (default: 3)\n", "");
    run(&["-e", program, "--", "--m=1"]).assert_exact(1, "", "ERROR: unexpected script options: --m; its options are --n\n");
    let wrong = run(&["-e", program, "--", "--n=many"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(wrong.stderr.starts_with("error[E0435]: command line option `--n` expects an integer (value: `many`)"), "{}", wrong.transcript());
}

#[test]
fn recipes_print_their_parameters_without_the_kernel() {
    run(&["recipe", "run", "opensnoop", "--", "--help"]).assert_exact(0, "Options of opensnoop.bt (give them after `--`):\n  --pid  only this process (0: every process) (default: 0)\n", "");
    run(&["recipe", "run", "nosuch"]).assert_exact(1, "", "ERROR: no recipe `nosuch`; `ferrotrace recipe list` lists them\n");
    run(&["recipe", "frob"]).assert_exact(1, "", "ERROR: unknown recipe command `frob`: use `list`, `search TERM`, `show NAME`, `check [NAME]`, `test [NAME]`, `new NAME`, `run NAME [-- PARAMETERS]` or `pack NAME [-- PARAMETERS]`\n");
    run(&["recipe", "pack"]).assert_exact(1, "", "ERROR: `ferrotrace recipe pack` takes a recipe's name (`ferrotrace recipe list` lists them)\n");
}

#[test]
fn replay_without_events_or_script_says_what_to_give() {
    run(&["replay"]).assert_exact(1, "", "ERROR: replay needs the events to replay: ferrotrace replay EVENTS.jsonl SCRIPT.bt (or -e 'PROGRAM')\n");
    run(&["replay", "no-such-events.jsonl"]).assert_exact(1, "", "ERROR: no-such-events.jsonl: cannot read the events: No such file or directory (os error 2)\n");
}

#[test]
fn replay_of_unreadable_or_foreign_events_names_the_file_and_why() {
    let missing = format!("/nonexistent/ferrotrace-{}.ftrec", std::process::id());
    let expected = format!("ERROR: {missing}: cannot read the events: No such file or directory (os error 2)\n");
    run(&["replay", &missing, "-e", "begin { }"]).assert_exact(1, "", &expected);
    let binary = TempScript::new("binary.ftrec", &[0xff, 0xfe, 0x00, 0x01]);
    let expected = format!("ERROR: {}: neither a ferrotrace recording nor JSON lines (not UTF-8 text)\n", binary.path());
    run(&["replay", binary.path(), "-e", "begin { }"]).assert_exact(1, "", &expected);
    let newer = TempScript::new("newer.ftrec", b"FTREC\0\x09\0\0\0\0\0");
    let expected = format!("ERROR: {}: a recording of format version 9; this ferrotrace reads versions 1 to 2\n", newer.path());
    run(&["replay", newer.path(), "-e", "begin { }"]).assert_exact(1, "", &expected);
}

#[test]
fn replay_of_a_recording_whose_names_do_not_read_says_so() {
    let header = br#"{"ferrotrace":"0.1.0","kernel":"6.18","arch":"x86_64","clocks":{"start_ns":0,"boot_minus_monotonic_ns":0,"tai_minus_boot_ns":0,"cpus":1},"probes":[]}"#;
    let mut bytes = b"FTREC\0\x02\0".to_vec();
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(header);
    // A names frame (kind 4) that is not JSON.
    bytes.extend_from_slice(&4u32.to_le_bytes());
    bytes.extend_from_slice(b"\x04{{{");
    let recording = TempScript::new("bad-names.ftrec", &bytes);
    // Frames are read as the replay goes: `begin` has run when the bad one is reached.
    let expected = format!("Attached 1 probe\nERROR: {}: not a ferrotrace recording: its names do not read: key must be a string at line 1 column 2\n", recording.path());
    run(&["replay", recording.path(), "-e", "begin { }"]).assert_exact(1, "", &expected);
}

#[test]
fn replay_without_a_script_says_what_the_events_hold() {
    let lines = [
        r#"{"probe": "tracepoint:syscalls:sys_enter_openat", "time_ns": 1000, "pid": 42, "comm": "cat", "args": {"filename": "/etc/hostname"}}"#,
        r#"{"probe": "tracepoint:syscalls:sys_enter_close", "time_ns": 2000, "pid": 42, "cpu": 1, "comm": "cat", "args": {"fd": 3}}"#,
        r#"{"probe": "tracepoint:syscalls:sys_enter_openat", "time_ns": 1500001000, "pid": 42, "comm": "cat", "args": {"filename": "/etc/passwd"}}"#,
    ];
    let events = TempScript::new("held.jsonl", format!("{}\n", lines.join("\n")).as_bytes());
    let path = events.path();
    run(&["replay", path]).assert_exact(
        0,
        &format!("{path}: synthetic events (JSON lines), 2 CPUs\n  1  tracepoint:syscalls:sys_enter_close\n  2  tracepoint:syscalls:sys_enter_openat\n3 events over 1.500 s; none lost\n"),
        &format!("Run a script over them: ferrotrace replay {path} SCRIPT.bt (or -e 'PROGRAM')\n"),
    );
}

#[test]
fn record_without_a_file_says_how_to_give_one() {
    run(&["record", "-e", "tracepoint:syscalls:sys_enter_openat { }"]).assert_exact(
        1,
        "",
        "ERROR: record needs a file to write: ferrotrace record -o FILE.ftrec -e 'tracepoint:syscalls:sys_enter_openat { }'\n",
    );
}
