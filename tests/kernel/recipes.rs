//! Recipes (`ferrotrace recipe ...`): the built-in library listed and each found to run here,
//! one run as a recipe with its parameters, recipes found on `FERROTRACE_RECIPE_PATH` shadowing
//! built-in ones, and a recipe others can write refused as root.

use std::os::unix::fs::PermissionsExt;

use super::{kernel_ready, Comm, Tracer};
use crate::support::process::{ferrotrace, run, run_with_env, run_with_files_over};

/// The built-in recipes, as `recipes/` holds them.
const BUILT_IN: [&str; 31] = [
    "biolatency",
    "biosnoop",
    "bitesize",
    "capable",
    "cpuwalk",
    "execsnoop",
    "exitsnoop",
    "killsnoop",
    "mountsnoop",
    "offcputime",
    "oomkill",
    "opensnoop",
    "pagefaults",
    "pidpersec",
    "profile",
    "runqlat",
    "runqlen",
    "slowsyscalls",
    "statsnoop",
    "swapin",
    "syncsnoop",
    "syscount",
    "tcpaccept",
    "tcpconnect",
    "tcpdrop",
    "tcplife",
    "tcpretrans",
    "threadsnoop",
    "vfscount",
    "vfsstat",
    "writeback",
];

/// Whether `recipe list`'s line after a recipe that does not run here gives a reason that is
/// this kernel's (a probe or probe type it lacks), not a defect of the recipe.
fn kernel_reason(why: &str) -> bool {
    let why = why.trim_start().strip_prefix("not here: ").unwrap_or("");
    why.starts_with("E02") || why.contains("this kernel")
}

#[test]
fn the_list_shows_every_built_in_recipe_running_here() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["recipe", "list"]);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{}", outcome.stdout);
    let built_in = lines.iter().filter(|line| line.split_whitespace().nth(1) == Some("built-in")).count();
    assert!(built_in >= 30, "{built_in} built-in recipes:\n{}", outcome.stdout);
    for name in BUILT_IN {
        let at = lines.iter().position(|line| line.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("{name} is not listed:\n{}", outcome.stdout));
        let fields: Vec<&str> = lines[at].split_whitespace().collect();
        assert_eq!(fields[1], "built-in", "{}", lines[at]);
        match fields[2] {
            "yes" => {}
            "no" => assert!(kernel_reason(lines[at + 1]), "{name} does not run here for a reason not the kernel's:\n{}\n{}", lines[at], lines[at + 1]),
            other => panic!("{name}: runs here `{other}`"),
        }
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
    assert!(listed.stdout.contains("\nexecsnoop     FERROTRACE_RECIPE_PATH  yes   says execsnoop\n              shadows the built-in recipe\n"), "{}", listed.stdout);
    assert!(listed.stdout.contains("\nhello         FERROTRACE_RECIPE_PATH  yes   says hello\n"), "{}", listed.stdout);
    run_with_env(&["-q", "recipe", "run", "execsnoop"], &[("FERROTRACE_RECIPE_PATH", path)]).assert_exact(0, "mine\n\n\n", "");
    run_with_env(&["-q", "recipe", "run", "hello"], &[("FERROTRACE_RECIPE_PATH", path)]).assert_exact(0, "hello\n\n\n", "");
    std::fs::set_permissions(dir.join("hello/hello.bt"), std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let refused = run_with_env(&["recipe", "run", "hello"], &[("FERROTRACE_RECIPE_PATH", path)]);
    std::fs::set_permissions(dir.join("hello/hello.bt"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(dir.join("hello/tests.toml"), "").expect("a companion");
    std::os::unix::fs::chown(dir.join("hello/tests.toml"), Some(65534), Some(65534)).expect("chown");
    let companion = run_with_env(&["recipe", "run", "hello"], &[("FERROTRACE_RECIPE_PATH", path)]);
    let every = run_with_env(&["recipe", "check"], &[("FERROTRACE_RECIPE_PATH", path)]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stderr.contains("can be written by other users than its owner (mode 666)"), "{}", refused.transcript());
    assert_eq!(companion.status.code(), Some(1));
    assert!(companion.stderr.contains("/hello/tests.toml` is owned by uid 65534, not by root"), "{}", companion.transcript());
    assert_eq!(every.status.code(), Some(1), "{}", every.transcript());
    assert!(every.stdout.contains("\nFAIL hello: refusing recipe `hello`: "), "{}", every.stdout);
}

#[test]
fn check_passes_the_built_in_recipes_and_fails_a_column_the_code_does_not_print() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["recipe", "check"]);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    let verdicts: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(verdicts.len(), BUILT_IN.len(), "{}", outcome.stdout);
    for (name, verdict) in BUILT_IN.iter().zip(verdicts) {
        let skipped = verdict.strip_prefix(&format!("SKIP {name}: not on this kernel: ")).is_some_and(|why| kernel_reason(&format!("not here: {why}")));
        assert!(verdict == format!("PASS {name}") || skipped, "{verdict}");
    }
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
    let tcp = run(&["recipe", "search", "tcp"]);
    let found: Vec<&str> = tcp.stdout.lines().map(|line| line.split_whitespace().next().unwrap_or("")).collect();
    assert_eq!(found, ["tcpaccept", "tcpconnect", "tcpdrop", "tcplife", "tcpretrans"], "{}", tcp.stdout);
    let by_probe = run(&["recipe", "search", "sched_process_exec"]);
    assert_eq!(by_probe.stdout.lines().map(|line| line.split_whitespace().next().unwrap_or("")).collect::<Vec<_>>(), ["execsnoop"]);
    let dir = std::env::temp_dir().join(format!("ferrotrace-new-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let made = ferrotrace(&["recipe", "new", "mine"]).current_dir(&dir).output().expect("ferrotrace");
    assert_eq!(String::from_utf8_lossy(&made.stdout), "wrote mine.bt; `ferrotrace recipe test mine.bt` checks and tests it\n");
    let checked = ferrotrace(&["recipe", "check", "mine.bt"]).current_dir(&dir).output().expect("ferrotrace");
    let tested = ferrotrace(&["recipe", "test", "mine.bt"]).current_dir(&dir).output().expect("ferrotrace");
    let again = ferrotrace(&["recipe", "new", "mine"]).current_dir(&dir).output().expect("ferrotrace");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!((checked.status.code(), String::from_utf8_lossy(&checked.stdout).as_ref()), (Some(0), "PASS mine\n"));
    let tested_out = String::from_utf8_lossy(&tested.stdout);
    assert_eq!(tested.status.code(), Some(0), "{tested_out}");
    assert!(tested_out.starts_with("PASS mine: checked\nPASS mine: it prints its header ("), "{tested_out}");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).starts_with("ERROR: cannot create `mine.bt`: File exists"));
}

/// `recipe test NAME` for a built-in recipe: its checks pass and some of its tests pass here;
/// or it is skipped for what this kernel lacks; or every test of it is skipped for a program or
/// condition this machine lacks (exit status 2, saying so for each).
fn recipe_passes_its_tests(name: &str) {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["recipe", "test", name]);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert!(!lines.iter().any(|line| line.starts_with("FAIL")), "{}", outcome.transcript());
    let lacking = |line: &&str| line.starts_with(&format!("SKIP {name}: ")) && (line.contains(", which is not on PATH") || line.contains("this machine does not meet"));
    let passed = |line: &&str| line.starts_with(&format!("PASS {name}: "));
    match outcome.status.code() {
        Some(0) => {
            assert_eq!(lines.first().copied(), Some(format!("PASS {name}: checked").as_str()), "{}", outcome.stdout);
            assert!(lines[1..].iter().all(|line| passed(line) || lacking(line)), "{}", outcome.stdout);
            assert!(lines[1..].iter().any(passed), "nothing of {name} was tested:\n{}", outcome.stdout);
        }
        Some(2) if lines.len() == 1 => assert!(lines[0].starts_with(&format!("SKIP {name}: not on this kernel: ")), "{}", outcome.stdout),
        Some(2) => {
            assert_eq!(lines.first().copied(), Some(format!("PASS {name}: checked").as_str()), "{}", outcome.stdout);
            assert!(lines[1..].iter().all(lacking), "{}", outcome.stdout);
        }
        _ => panic!("{}", outcome.transcript()),
    }
}

/// One test per built-in recipe, so that each runs in parallel and within the test deadline.
macro_rules! built_in_recipe_tests {
    ($($name:ident),* $(,)?) => {
        mod built_in {
            $(
                #[test]
                fn $name() {
                    super::recipe_passes_its_tests(stringify!($name));
                }
            )*

            /// The tests above are the library's.
            #[test]
            fn cover_the_library() {
                assert_eq!([$(stringify!($name)),*], super::BUILT_IN);
            }
        }
    };
}

built_in_recipe_tests!(
    biolatency, biosnoop, bitesize, capable, cpuwalk, execsnoop, exitsnoop, killsnoop, mountsnoop, offcputime, oomkill, opensnoop, pagefaults, pidpersec, profile, runqlat,
    runqlen, slowsyscalls, statsnoop, swapin, syncsnoop, syscount, tcpaccept, tcpconnect, tcpdrop, tcplife, tcpretrans, threadsnoop, vfscount, vfsstat, writeback,
);

#[test]
fn a_directory_recipe_runs_the_variant_that_runs_here_and_its_tests_run_in_layers_saying_what_failed() {
    if !kernel_ready() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ferrotrace-variants-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("hello")).expect("the recipe directory");
    let header = "/*---\nname = \"hello\"\nsummary = \"says hello\"\nversion = \"0.1.0\"\nlicense = \"MIT\"\nvariants = [\"hello-begin.bt\"]\n\n[[columns]]\nname = \"GREETING\"\nmeaning = \"m\"\n\n[[tests]]\nname = \"it greets\"\nexpect = ['^hello from begin$']\n---*/\n";
    std::fs::write(dir.join("hello/hello.bt"), format!("{header}tracepoint:nosuch:event {{ printf(\"%s\\n\", \"GREETING\"); }}\n")).expect("a recipe");
    std::fs::write(dir.join("hello/hello-begin.bt"), "begin { printf(\"%s\\n\", \"GREETING\"); printf(\"hello from begin\\n\"); exit(); }\ntest:greeting_is_short { assert(strlen(\"hello\") < 8, \"short\"); }\n").expect("a variant");
    std::fs::write(dir.join("hello/tests.toml"), "[[tests]]\nname = \"it says goodbye\"\nexpect = ['^goodbye$']\n").expect("tests");
    let path = dir.to_str().expect("a UTF-8 path");
    let env = [("FERROTRACE_RECIPE_PATH", path)];
    let ran = run_with_env(&["-q", "recipe", "run", "hello"], &env);
    let shown = run_with_env(&["recipe", "show", "hello"], &env);
    let json = run_with_env(&["-f", "json", "recipe", "show", "hello"], &env);
    let tested = run_with_env(&["recipe", "test", "hello"], &env);
    let _ = std::fs::remove_dir_all(&dir);
    ran.assert_exact(0, "GREETING\nhello from begin\n\n\n", "");
    assert!(shown.stdout.contains("\nvariants: hello.bt, hello-begin.bt\nruns here: yes, as its variant hello-begin.bt\nprobes:\n  begin\n"), "{}", shown.stdout);
    assert!(shown.stdout.ends_with("tests:\n  it greets\n  it says goodbye\n"), "{}", shown.stdout);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap_or_else(|error| panic!("{error}: {}", json.stdout));
    assert_eq!((value["variant"].as_str(), value["runs_here"].as_bool(), value["probes"][0]["probe"].as_str()), (Some("hello-begin.bt"), Some(true), Some("begin")));
    assert_eq!(tested.status.code(), Some(1), "{}", tested.transcript());
    let lines: Vec<&str> = tested.stdout.lines().collect();
    assert_eq!(lines[0], "PASS hello: checked");
    assert_eq!(lines[1], "PASS hello: its test: probes");
    assert!(lines[2].starts_with("PASS hello: it greets ("), "{}", tested.stdout);
    assert_eq!(lines[3..], ["FAIL hello: it says goodbye: no line matches `^goodbye$`", "  | GREETING", "  | hello from begin", "  | ", "  | "]);
}

/// A new directory holding one recipe, `NAME.bt`: a header with `summary`, then `code`. Each
/// call's is its own: tests running at once (both matrix kernels ask for the host's pack) must
/// not remove each other's.
fn recipe_dir(name: &str, summary: &str, code: &str) -> std::path::PathBuf {
    static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let made = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ferrotrace-{name}-{}-{made}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let header = format!("/*---\nname = \"{name}\"\nsummary = \"{summary}\"\nversion = \"0.1.0\"\nlicense = \"MIT\"\n---*/\n");
    std::fs::write(dir.join(format!("{name}.bt")), format!("{header}{code}")).expect("a recipe");
    dir
}

#[test]
fn a_pack_runs_as_its_recipe_does_and_one_whose_kernel_facts_differ_is_refused_with_the_difference() {
    if !kernel_ready() {
        return;
    }
    let code = "begin { printf(\"pid at %d of %d, mine %d\\n\", offsetof(struct task_struct, pid), sizeof(struct task_struct), curtask->pid == pid); exit(); }\n";
    let dir = recipe_dir("where", "where the kernel keeps a task's pid", code);
    let path = dir.to_str().expect("a UTF-8 path");
    let env = [("FERROTRACE_RECIPE_PATH", path)];
    let pack = dir.join("where.ftpack");
    let pack = pack.to_str().expect("a UTF-8 path");
    let packed = run_with_env(&["recipe", "pack", "where", "-o", pack], &env);
    let from_recipe = run_with_env(&["-q", "recipe", "run", "where"], &env);
    let from_pack = run(&["-q", "recipe", "run", pack]);
    let text = std::fs::read_to_string(pack).expect("the pack");
    let mut altered: serde_json::Value = serde_json::from_str(&text).expect("a pack is JSON");
    let member = altered["kernel"]["value"]["facts"].as_array_mut().expect("facts").iter_mut().find(|fact| fact["Member"]["member"] == "pid").expect("the pid member's fact");
    let offset = member["Member"]["offset"].as_u64().expect("an offset");
    member["Member"]["offset"] = (offset + 8).into();
    let moved = dir.join("moved.ftpack");
    std::fs::write(&moved, altered.to_string()).expect("the altered pack");
    let refused = run(&["recipe", "run", moved.to_str().expect("a UTF-8 path")]);
    let tampered = dir.join("tampered.ftpack");
    std::fs::write(&tampered, text.replace("pid at %d", "pid is at %d")).expect("the tampered pack");
    let tampered = run(&["recipe", "run", tampered.to_str().expect("a UTF-8 path")]);
    let other_params = run(&["recipe", "run", pack, "--", "--x=1"]);
    let unnamed = run_with_env(&["recipe", "pack", "where", "-o", dir.join("where.json").to_str().expect("a UTF-8 path")], &env);
    let for_a_command = run_with_env(&["-c", "true", "recipe", "pack", "where"], &env);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(packed.status.code(), Some(0), "{}", packed.transcript());
    assert!(packed.stdout.starts_with(&format!("wrote {pack} (")), "{}", packed.stdout);
    assert!(from_recipe.stdout.starts_with("pid at ") && from_recipe.stdout.contains(", mine 1\n"), "{}", from_recipe.transcript());
    from_pack.assert_exact(0, &from_recipe.stdout, "");
    assert_eq!(refused.status.code(), Some(1), "{}", refused.transcript());
    let difference = format!("- struct task_struct.pid: offset {}, 4 bytes\n+ struct task_struct.pid: offset {offset}, 4 bytes\n", offset + 8);
    assert!(refused.stderr.contains(&difference) && refused.stderr.ends_with("`ferrotrace recipe pack where` compiles it here\n"), "{}", refused.stderr);
    assert!(tampered.stderr.contains("was altered: its source does not match its SHA-256"), "{}", tampered.transcript());
    assert!(other_params.stderr.contains("sets no option when it loads; `--x` is compiled in (the script needs its value while compiling) or not an option of the recipe; `ferrotrace recipe pack where -- --x=1` compiles it with them\n"), "{}", other_params.transcript());
    assert_eq!(unnamed.status.code(), Some(1));
    assert!(unnamed.stderr.starts_with("ERROR: a pack's file name ends in `.ftpack` (`recipe run` knows a pack by it), not `"), "{}", unnamed.transcript());
    for_a_command.assert_exact(1, "", "ERROR: a pack is compiled for any process and to run: `recipe pack` takes no -p, -c, --test or --bench\n");
}

#[test]
fn a_packs_parameters_are_set_when_it_runs_and_positional_ones_are_kept() {
    if !kernel_ready() {
        return;
    }
    let code = "begin { printf(\"%d %d %s\\n\", getopt(\"n\", 7, \"a number\"), getopt(\"loud\"), getopt(\"word\", \"hi\")); exit(); }\n";
    let dir = recipe_dir("said", "what it was told", code);
    let env = [("FERROTRACE_RECIPE_PATH", dir.to_str().expect("a UTF-8 path"))];
    let pack = dir.join("said.ftpack");
    let pack = pack.to_str().expect("a UTF-8 path");
    let packed = run_with_env(&["recipe", "pack", "said", "-o", pack, "--", "--n=3"], &env);
    let as_packed = run(&["-q", "recipe", "run", pack]);
    let told = run(&["-q", "recipe", "run", pack, "--", "--n=42", "--loud"]);
    let not_a_number = run(&["recipe", "run", pack, "--", "--n=many"]);
    let a_string = run(&["-q", "recipe", "run", pack, "--", "--word=bye"]);
    let too_long = run(&["recipe", "run", pack, "--", &format!("--word={}", "x".repeat(64))]);
    let positional = run(&["recipe", "run", pack, "--", "5"]);
    let help = run(&["recipe", "run", pack, "--", "--help"]);
    let _ = std::fs::remove_dir_all(&dir);
    packed.assert_exact(0, &format!("wrote {pack} (0 kernel facts, 0 tracepoint layouts, --n --loud --word set when it runs); `ferrotrace recipe run {pack}` runs it\n"), "");
    assert!(as_packed.stdout.starts_with("3 0 hi\n"), "{}", as_packed.transcript());
    assert!(told.stdout.starts_with("42 1 hi\n"), "{}", told.transcript());
    assert_eq!(not_a_number.stderr, format!("ERROR: pack `{pack}` cannot take `--n`: it expects an integer (value: `many`)\n"));
    assert!(a_string.stdout.starts_with("3 0 bye\n"), "{}", a_string.transcript());
    assert_eq!(too_long.stderr, format!("ERROR: pack `{pack}` cannot take `--word`: it expects a string of at most 63 bytes (value: `{}`)\n", "x".repeat(64)));
    help.assert_exact(0, &format!("Options of {pack} (give them after `--`):\n  --n     a number (default: 3)\n  --loud  (default: false)\n  --word  (default: \"hi\")\n"), "");
    assert!(positional.stderr.contains("holds the positional parameters it was compiled with (none); `ferrotrace recipe pack said -- 5` compiles it with them"), "{}", positional.transcript());
}

/// Where the kernel matrix's guests find a pack made on the host's kernel.
pub(crate) const HOST_PACK: &str = "/packs/host.ftpack";

/// A pack of a recipe that reads `task_struct` members (its own and `ppid`'s), made on this
/// kernel: the text of the file.
pub(crate) fn pack_made_here() -> String {
    let code = "begin { printf(\"%d %d\\n\", curtask->pid == tid, ppid); exit(); }\n";
    let dir = recipe_dir("family", "whether the task's pid is mine, and my parent", code);
    let pack = dir.join("family.ftpack");
    let packed = run_with_env(&["recipe", "pack", "family", "-o", pack.to_str().expect("a UTF-8 path")], &[("FERROTRACE_RECIPE_PATH", dir.to_str().expect("a UTF-8 path"))]);
    assert_eq!(packed.status.code(), Some(0), "{}", packed.transcript());
    let text = std::fs::read_to_string(&pack).expect("the pack");
    let _ = std::fs::remove_dir_all(&dir);
    text
}

#[test]
fn a_pack_made_on_the_hosts_kernel_runs_with_its_struct_members_moved_to_this_ones() {
    if !kernel_ready() {
        return;
    }
    // In the kernel matrix the pack was made on the host's kernel; elsewhere, on this one.
    let made_here = std::env::temp_dir().join(format!("ferrotrace-family-{}.ftpack", std::process::id()));
    let pack = match std::path::Path::new(HOST_PACK).exists() {
        true => HOST_PACK.to_string(),
        false => {
            std::fs::write(&made_here, pack_made_here()).expect("the pack");
            made_here.to_str().expect("a UTF-8 path").to_string()
        }
    };
    let outcome = run(&["-q", "-v", "recipe", "run", &pack]);
    let recorded: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&pack).expect("the pack")).expect("JSON");
    let _ = std::fs::remove_file(&made_here);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    // `begin` runs in ferrotrace, whose parent is this test.
    assert_eq!(outcome.stdout.lines().next(), Some(format!("1 {}", std::process::id()).as_str()), "{}", outcome.transcript());
    let facts = recorded["kernel"]["value"]["facts"].as_array().expect("facts");
    let pid_at = facts.iter().find_map(|fact| fact["Member"]["offset"].as_u64().filter(|_| fact["Member"]["member"] == "pid")).expect("the pid fact");
    let here = ferrotrace_compiler::btf::Btf::parse(std::fs::read("/sys/kernel/btf/vmlinux").expect("BTF")).expect("BTF");
    let task = here.find("task_struct", ferrotrace_compiler::btf::Family::StructOrUnion).expect("task_struct");
    let pid_here = u64::from(here.member(task, "pid").expect("pid").bit_offset / 8);
    let moved = format!("moved struct task_struct.pid from offset {pid_at} to {pid_here} (instruction ");
    assert_eq!(outcome.stderr.contains(&moved), pid_at != pid_here, "{}", outcome.transcript());
}

/// A kernel's BTF holding only `struct task_struct`, as big as this kernel's, with `pid` and
/// `prio` where this kernel has `prio` and `pid` (`pid` as wide as `pid_size`), `real_parent`
/// and `group_leader` traded too, and `tgid` where it is: what a compile on a kernel that laid
/// the struct out otherwise would have seen.
fn swapped_task_struct(pid_size: u32) -> Vec<u8> {
    use ferrotrace_compiler::btf::{Btf, Family, Writer, WrittenMember};
    let here = Btf::parse(std::fs::read("/sys/kernel/btf/vmlinux").expect("this kernel's BTF")).expect("BTF");
    let task = here.find("task_struct", Family::StructOrUnion).expect("struct task_struct");
    let at = |name: &str| here.member(task, name).expect("a member of task_struct").bit_offset;
    let size = here.size_of(task).expect("its size") as u32;
    let mut kernel = Writer::new(None).expect("a writer");
    let int = kernel.int("int", 4, true, false, false).expect("int");
    let pid = if pid_size == 8 { kernel.int("long", 8, true, false, false).expect("long") } else { int };
    let strukt = kernel.reserve().expect("an id");
    let task = kernel.pointer(strukt).expect("a pointer");
    let member = |name, ty, bit_offset| WrittenMember { name, ty, bit_offset, bitfield_size: None };
    let members = [
        member("pid", pid, at("prio")),
        member("prio", int, at("pid")),
        member("tgid", int, at("tgid")),
        member("real_parent", task, at("group_leader")),
        member("group_leader", task, at("real_parent")),
    ];
    kernel.composite(strukt, false, "task_struct", size, &members).expect("the struct");
    kernel.finish()
}

#[test]
fn a_pack_from_a_kernel_that_laid_a_struct_out_otherwise_is_patched_or_refused_by_member_size() {
    if !kernel_ready() {
        return;
    }
    let code = "begin { printf(\"%d %d %d\\n\", curtask->pid == tid, curtask->prio, ppid); exit(); }\n";
    let dir = recipe_dir("mine", "whether the task's pid is mine, and its priority", code);
    let env = [("FERROTRACE_RECIPE_PATH", dir.to_str().expect("a UTF-8 path"))];
    let path = |name: &str| dir.join(name).to_str().expect("a UTF-8 path").to_string();
    let (swapped, wider) = (path("swapped.btf"), path("wider.btf"));
    std::fs::write(&swapped, swapped_task_struct(4)).expect("a BTF file");
    std::fs::write(&wider, swapped_task_struct(8)).expect("a BTF file");
    let pack_on = |btf: &str, pack: &str| run_with_files_over(&["recipe", "pack", "mine", "-o", pack], &env, &[(btf, "/sys/kernel/btf/vmlinux")]);
    let (moved, refused) = (path("moved.ftpack"), path("refused.ftpack"));
    let packed = [pack_on(&swapped, &moved), pack_on(&wider, &refused)];
    let from_recipe = run_with_env(&["-q", "recipe", "run", "mine"], &env);
    let from_moved = run(&["-q", "-v", "recipe", "run", &moved]);
    let from_refused = run(&["recipe", "run", &refused]);
    let _ = std::fs::remove_dir_all(&dir);
    for outcome in &packed {
        assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    }
    assert!(from_recipe.stdout.starts_with("1 "), "{}", from_recipe.transcript());
    // `begin` runs in ferrotrace, whose parent is this test (and whose group leader itself).
    let ppid = from_recipe.stdout.lines().next().and_then(|line| line.split(' ').nth(2));
    assert_eq!(ppid, Some(std::process::id().to_string().as_str()), "{}", from_recipe.transcript());
    assert_eq!(from_moved.stdout, from_recipe.stdout, "{}", from_moved.transcript());
    let here = ferrotrace_compiler::btf::Btf::parse(std::fs::read("/sys/kernel/btf/vmlinux").expect("BTF")).expect("BTF");
    let task = here.find("task_struct", ferrotrace_compiler::btf::Family::StructOrUnion).expect("task_struct");
    let (pid, prio) = (here.member(task, "pid").expect("pid").bit_offset / 8, here.member(task, "prio").expect("prio").bit_offset / 8);
    assert!(from_moved.stderr.contains(&format!("moved struct task_struct.pid from offset {prio} to {pid} (instruction ")), "{}", from_moved.transcript());
    assert!(from_moved.stderr.contains(&format!("moved struct task_struct.prio from offset {pid} to {prio} (instruction ")), "{}", from_moved.transcript());
    let (parent, leader) = (here.member(task, "real_parent").expect("real_parent").bit_offset / 8, here.member(task, "group_leader").expect("group_leader").bit_offset / 8);
    assert!(from_moved.stderr.contains(&format!("moved struct task_struct.real_parent from offset {leader} to {parent} (instruction ")), "{}", from_moved.transcript());
    assert_eq!(from_refused.status.code(), Some(1), "{}", from_refused.transcript());
    let difference = format!("- struct task_struct.pid: offset {prio}, 8 bytes\n+ struct task_struct.pid: offset {pid}, 4 bytes\n`ferrotrace recipe pack mine` compiles it here\n");
    assert!(from_refused.stderr.ends_with(&difference), "{}", from_refused.transcript());
}

#[test]
fn opensnoop_packed_prints_the_open_as_the_recipe_does() {
    if !kernel_ready() {
        return;
    }
    let pack = std::env::temp_dir().join(format!("ferrotrace-opensnoop-{}.ftpack", std::process::id()));
    let pack = pack.to_str().expect("a UTF-8 path");
    run(&["recipe", "pack", "opensnoop", "-o", pack]).assert_exact(0, &format!("wrote {pack} (1 kernel fact, 2 tracepoint layouts, --pid set when it runs); `ferrotrace recipe run {pack}` runs it\n"), "");
    let rows = |source: &str, params: &[&str]| {
        let outcome = run(&[&["-q", "-c", "cat /etc/hostname", "recipe", "run", source][..], params].concat());
        assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
        // cat's own output (the host name) shares the standard output.
        let header = outcome.stdout.lines().find(|line| line.starts_with("PID")).unwrap_or_default().to_string();
        let row = outcome.stdout.lines().find(|line| line.ends_with(" /etc/hostname")).map(|line| line.split_whitespace().skip(1).collect::<Vec<_>>().join(" "));
        (header, row)
    };
    let (from_recipe, from_pack) = (rows("opensnoop", &[]), rows(pack, &[]));
    // Set when the pack runs: only process 1's opens, and cat is not process 1.
    let (_, of_init) = rows(pack, &["--", "--pid=1"]);
    let _ = std::fs::remove_file(pack);
    assert_eq!(from_recipe, ("PID     COMM               FD ERR PATH".to_string(), Some("cat 3 0 /etc/hostname".to_string())));
    assert_eq!(from_pack, from_recipe);
    assert_eq!(of_init, None);
}
