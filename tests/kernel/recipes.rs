//! Recipes (`ferrotrace recipe ...`): the built-in library listed and each found to run here,
//! one run as a recipe with its parameters, recipes found on `FERROTRACE_RECIPE_PATH` shadowing
//! built-in ones, and a recipe others can write refused as root.

use std::os::unix::fs::PermissionsExt;

use super::{kernel_ready, Comm, Tracer};
use crate::support::process::{ferrotrace, run, run_with_env};

/// The built-in recipes, as `recipes/` holds them.
const BUILT_IN: [&str; 8] = ["execsnoop", "exitsnoop", "killsnoop", "opensnoop", "pidpersec", "runqlat", "syscount", "tcpretrans"];

#[test]
fn the_list_shows_every_built_in_recipe_running_here() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["recipe", "list"]);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{}", outcome.stdout);
    for name in BUILT_IN {
        let line = lines.iter().find(|line| line.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("{name} is not listed:\n{}", outcome.stdout));
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1..3], ["built-in", "yes"], "{line}");
    }
}

#[test]
fn opensnoop_prints_an_open_as_it_happens() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let tracer = Tracer::start(&["recipe", "run", "opensnoop"]);
    comm.open_file("/etc/hostname", 1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let outcome = tracer.stop(libc::SIGINT);
    assert!(outcome.stdout.starts_with("PID     COMM               FD ERR PATH\n"), "{}", outcome.transcript());
    let line = outcome.stdout.lines().find(|line| line.contains(comm.name())).unwrap_or_else(|| panic!("no open by {}:\n{}", comm.name(), outcome.stdout));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((fields[1], fields[3], fields[4]), (comm.name(), "0", "/etc/hostname"), "{line}");
}

#[test]
fn parameters_are_listed_and_checked_before_anything_loads() {
    if !kernel_ready() {
        return;
    }
    run(&["recipe", "run", "opensnoop", "--", "--help"]).assert_exact(0, "Options of opensnoop.bt (give them after `--`):\n  --pid  only this process (0: every process) (default: 0)\n", "");
    let wrong = run(&["recipe", "run", "opensnoop", "--", "--pid=abc"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(wrong.stderr.starts_with("error[E0435]: command line option `--pid` expects an integer (value: `abc`)"), "{}", wrong.transcript());
    run(&["recipe", "run", "opensnoop", "--", "--pdi=3"]).assert_exact(1, "", "ERROR: unexpected script options: --pdi; its options are --pid\n");
    run(&["recipe", "run", "nosuch"]).assert_exact(1, "", "ERROR: no recipe `nosuch`; `ferrotrace recipe list` lists them\n");
}

#[test]
fn a_recipe_on_the_recipe_path_shadows_the_built_in_one() {
    if !kernel_ready() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ferrotrace-recipes-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("hello")).expect("the recipe directory");
    let header = |name: &str| format!("/*---\nname = \"{name}\"\nsummary = \"says {name}\"\nversion = \"0.1.0\"\nlicense = \"Apache-2.0\"\n---*/\n");
    std::fs::write(dir.join("execsnoop.bt"), format!("{}begin {{ printf(\"mine\\n\"); exit(); }}\n", header("execsnoop"))).expect("a recipe");
    std::fs::write(dir.join("hello/hello.bt"), format!("{}begin {{ printf(\"hello\\n\"); exit(); }}\n", header("hello"))).expect("a recipe");
    let path = dir.to_str().expect("a UTF-8 path");
    let listed = run_with_env(&["recipe", "list"], &[("FERROTRACE_RECIPE_PATH", path)]);
    assert!(listed.stdout.contains("\nexecsnoop   FERROTRACE_RECIPE_PATH  yes       says execsnoop\n            shadows the built-in recipe\n"), "{}", listed.stdout);
    assert!(listed.stdout.contains("\nhello       FERROTRACE_RECIPE_PATH  yes       says hello\n"), "{}", listed.stdout);
    run_with_env(&["-q", "recipe", "run", "execsnoop"], &[("FERROTRACE_RECIPE_PATH", path)]).assert_exact(0, "mine\n\n\n", "");
    run_with_env(&["-q", "recipe", "run", "hello"], &[("FERROTRACE_RECIPE_PATH", path)]).assert_exact(0, "hello\n\n\n", "");
    std::fs::set_permissions(dir.join("hello/hello.bt"), std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let refused = run_with_env(&["recipe", "run", "hello"], &[("FERROTRACE_RECIPE_PATH", path)]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stderr.contains("can be written by other users than its owner (mode 666)"), "{}", refused.transcript());
}

#[test]
fn check_passes_the_built_in_recipes_and_fails_a_column_the_code_does_not_print() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["recipe", "check"]);
    let expected: String = BUILT_IN.iter().map(|name| format!("PASS {name}\n")).collect();
    outcome.assert_exact(0, &expected, "");
    let dir = std::env::temp_dir().join(format!("ferrotrace-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the recipe directory");
    let recipe = |name: &str, column: &str, code: &str| {
        let text = format!("/*---\nname = \"{name}\"\nsummary = \"s\"\nversion = \"0.1.0\"\nlicense = \"MIT\"\n\n[[columns]]\nname = \"{column}\"\nmeaning = \"m\"\n---*/\n{code}\n");
        std::fs::write(dir.join(format!("{name}.bt")), text).expect("a recipe");
    };
    recipe("printed", "LATENCY", "begin { printf(\"%s\\n\", \"LATENCY\"); exit(); }");
    recipe("unprinted", "LATENCY", "begin { printf(\"%s\\n\", \"DELAY\"); exit(); }");
    recipe("elsewhere", "@count", "tracepoint:nosuch:event { @count = count(); }");
    let path = dir.to_str().expect("a UTF-8 path");
    let env = [("FERROTRACE_RECIPE_PATH", path)];
    run_with_env(&["recipe", "check", "printed"], &env).assert_exact(0, "PASS printed\n", "");
    run_with_env(&["recipe", "check", "unprinted"], &env).assert_exact(1, "FAIL unprinted: the header lists column `LATENCY` that the code does not print\n", "");
    let skipped = run_with_env(&["recipe", "check", "elsewhere"], &env);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(skipped.status.code(), Some(2), "{}", skipped.transcript());
    assert!(skipped.stdout.starts_with("SKIP elsewhere: not on this kernel: E0204"), "{}", skipped.stdout);
}

#[test]
fn search_finds_by_tag_probe_or_column_and_new_writes_a_recipe_that_checks() {
    if !kernel_ready() {
        return;
    }
    run(&["recipe", "search", "tcp"]).assert_exact(0, "tcpretrans   TCP segments retransmitted, with the connection's addresses and state\n", "");
    let by_probe = run(&["recipe", "search", "sched_process_exec"]);
    assert_eq!(by_probe.stdout.lines().map(|line| line.split_whitespace().next().unwrap_or("")).collect::<Vec<_>>(), ["execsnoop"]);
    let dir = std::env::temp_dir().join(format!("ferrotrace-new-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let made = ferrotrace(&["recipe", "new", "mine"]).current_dir(&dir).output().expect("ferrotrace");
    assert_eq!(String::from_utf8_lossy(&made.stdout), "wrote mine.bt; `ferrotrace recipe check mine.bt` checks it\n");
    let checked = ferrotrace(&["recipe", "check", "mine.bt"]).current_dir(&dir).output().expect("ferrotrace");
    let again = ferrotrace(&["recipe", "new", "mine"]).current_dir(&dir).output().expect("ferrotrace");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!((checked.status.code(), String::from_utf8_lossy(&checked.stdout).as_ref()), (Some(0), "PASS mine\n"));
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).starts_with("ERROR: cannot create `mine.bt`: File exists"));
}
