//! Flags that tie a run to a process (`-p`, `-c`) or change what is read and reported
//! (`--include`, `--no-warnings`).

use std::process::Command;

use super::*;

/// `-p` takes a live process id, as bpftrace reads one, and the run ends when that process does.
#[test]
fn pid_is_checked_and_the_run_ends_with_the_process() {
    if !kernel_ready() {
        return;
    }
    let program = "begin { exit(); }";
    run(&["-p", "abc", "-e", program]).assert_exact(1, "", "ERROR: `-p abc`: a process id is a number\n");
    run(&["-p", "999999999", "-e", program]).assert_exact(1, "", "ERROR: `-p 999999999`: process ids go from 1 to 4194304\n");
    let mut gone = Command::new("true").spawn().expect("true runs");
    let gone_pid = gone.id().to_string();
    let _ = gone.wait();
    run(&["-p", &gone_pid, "-e", program]).assert_exact(1, "", &format!("ERROR: `-p {gone_pid}`: no such process\n"));
    // The run lasts as long as the process: it ends, and the run with it, once the probes are
    // attached (an emulated guest takes a while to load them).
    let mut sleeper = Command::new("sleep").arg("1000").spawn().expect("sleep runs");
    let pid = sleeper.id().to_string();
    let tracer = Tracer::start(&["-p", &pid, "-e", "begin { @began = 1; } interval:s:100 { @ticks = 1; }"]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    tracer.finish().assert_exact(0, "\n\n@began: 1\n", "Attached 2 probes\n");
}

/// `-c` starts the command once the probes are attached (so they see it from its first
/// `execve`), `cpid` is its pid, and the run ends when it does.
#[test]
fn cmd_runs_once_the_probes_are_attached() {
    if !kernel_ready() {
        return;
    }
    let program = r#"begin { printf("%d\n", has_cpid); } tracepoint:syscalls:sys_enter_execve /pid == cpid/ { @execs = count(); }"#;
    run(&["-q", "-c", "sleep 0.1", "-e", program]).assert_exact(0, "1\n\n\n@execs: 1\n", "");
    run(&["-c", "no-such-command-here", "-e", program])
        .assert_exact(1, "", "ERROR: `-c`: `no-such-command-here` is not an executable file, nor one in PATH\n");
}

/// `--include FILE` reads the script as if it began with `#include <FILE>`; `--no-warnings`
/// silences the compiler's warnings.
#[test]
fn include_and_no_warnings() {
    if !kernel_ready() {
        return;
    }
    run(&["-q", "--include", "errno.h", "-e", "begin { print(EACCES); exit(); }"]).assert_exact(0, "13\n\n\n", "");
    let warned = "begin /1/ { exit(); }";
    let outcome = run(&["-q", "-e", warned]);
    assert!(outcome.stderr.contains("warning[W0201]"), "{}", outcome.transcript());
    run(&["-q", "--no-warnings", "-e", warned]).assert_exact(0, "\n\n", "");
    // ferrotrace's own warnings while the script runs, such as a full map, are left out too.
    let full = "config = { max_map_keys = 2 } begin { @m[1] = 1; @m[2] = 2; @m[3] = 3; exit(); }";
    assert!(run(&["-q", "-e", full]).stderr.contains("WARNING: map @m is full"));
    run(&["-q", "--no-warnings", "-e", full]).assert_exact(0, "\n\n@m[1]: 1\n@m[2]: 2\n", "");
}

/// `--probe-filter` keeps the probes whose full name matches; `begin` and `end` always run.
#[test]
fn probe_filter_keeps_the_probes_that_match() {
    if !kernel_ready() {
        return;
    }
    let program = "tracepoint:syscalls:sys_enter_open*, tracepoint:syscalls:sys_enter_close { } begin { printf(\"begin\\n\"); }";
    run(&["--dry-run", "--probe-filter", "sys_enter_(openat|close)$", "-e", program]).assert_exact(0, "", "Attached 3 probes\n");
    let refused = run(&["--probe-filter", "(", "-e", program]);
    assert_eq!(refused.status.code(), Some(1), "{}", refused.transcript());
    assert!(refused.stderr.contains("error[E0526]"), "{}", refused.transcript());
}

/// `-v` names each program with its instruction count and each map with its kind and sizes.
#[test]
fn verbose_describes_programs_and_maps() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["-v", "-e", "begin { @a[1] = count(); exit(); }"]);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    let program = outcome.stderr.lines().find(|line| line.starts_with("Program begin: ")).unwrap_or_else(|| panic!("{}", outcome.transcript()));
    let count = program.trim_start_matches("Program begin: ").trim_end_matches(" instructions");
    assert!(count.parse::<u32>().is_ok_and(|n| n > 0), "{program}");
    assert!(outcome.stderr.contains("Map @a: percpu hash, 4096 entries, key 8 bytes, value 8 bytes\n"), "{}", outcome.transcript());
    assert!(outcome.stderr.ends_with("Attached 1 probe\n"), "{}", outcome.transcript());
}

/// With `-p`, event probes run only in that process: opens by anyone else are not counted.
#[test]
fn pid_filters_the_probes_to_the_process() {
    if !kernel_ready() {
        return;
    }
    let mut shell = Command::new("sh")
        .args(["-c", "read go; read line < /etc/hostname; read line < /etc/hostname"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sh runs");
    let pid = shell.id().to_string();
    let tracer = Tracer::start(&["-p", &pid, "-e", "tracepoint:syscalls:sys_enter_openat { @opens[pid] = count(); }"]);
    // Someone else opens files too; only the shell's two opens count.
    let _ = std::fs::read_to_string("/etc/hostname");
    let _ = std::fs::read_to_string("/etc/hostname");
    use std::io::Write as _;
    let _ = shell.stdin.take().expect("stdin is piped").write_all(b"go\n");
    let _ = shell.wait();
    tracer.finish().assert_exact(0, &format!("\n\n@opens[{pid}]: 2\n"), ATTACHED_1);
}

/// A command `-c` started that is still running when the run ends is killed, not left behind.
#[test]
fn cmd_still_running_at_exit_is_ended() {
    if !kernel_ready() {
        return;
    }
    let outcome = run(&["-q", "-c", "sleep 37", "-e", r#"begin { printf("%d\n", cpid); } interval:ms:100 { exit(); }"#]);
    assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
    let pid = outcome.stdout.lines().next().unwrap_or_default().to_string();
    assert!(pid.parse::<u32>().is_ok(), "{}", outcome.transcript());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the command {pid} is still there");
}

/// Options may come after the script and its arguments, as bpftrace's getopt takes them;
/// negative numbers stay arguments, and everything after `--` is the script's.
#[test]
fn options_after_the_script_arguments() {
    if !kernel_ready() {
        return;
    }
    let dir = std::env::temp_dir();
    let script = dir.join(format!("ferrotrace-args-{}.bt", std::process::id()));
    let out = dir.join(format!("ferrotrace-args-{}.out", std::process::id()));
    std::fs::write(&script, "begin { printf(\"%d %d %d\\n\", $1, $2, getopt(\"n\", 1)); exit(); }\n").expect("writable temp dir");
    let (script_path, out_path) = (script.display().to_string(), out.display().to_string());
    run(&["-q", &script_path, "42", "-3", "-o", &out_path, "--", "--n=9"]).assert_exact(0, "", "");
    assert_eq!(std::fs::read_to_string(&out).unwrap_or_default(), "42 -3 9\n\n\n");
    let _ = std::fs::remove_file(&script);
    let _ = std::fs::remove_file(&out);
}
