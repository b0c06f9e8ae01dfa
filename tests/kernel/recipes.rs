//! Recipes (`ferrotrace recipe ...`): the built-in library listed and each found to run here,
//! one run as a recipe with its parameters, recipes found on `FERROTRACE_RECIPE_PATH` shadowing
//! built-in ones, and a recipe others can write refused as root.

use std::os::unix::fs::PermissionsExt;

use super::{kernel_ready, Comm, Tracer};
use crate::support::process::{run, run_with_env};

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
