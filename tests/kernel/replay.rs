//! Record and replay: a recording made while a script ran live replays, as an unprivileged
//! user, to the bytes the live run printed, in text and JSON, stacks named as live; a script
//! whose probes the recording lacks is refused, naming them (and, without a script, what it
//! holds is said); synthetic syscall events replay
//! unprivileged, with ferrotrace's own syscall formats, which are the running kernel's.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_replay::standard_formats::StandardFormats;
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::tracefs::Tracefs;

use super::{kernel_ready, Comm, Tracer};
use crate::support::process::{ferrotrace, Outcome};

/// The uid and gid replays run as: `nobody`.
const NOBODY: u32 = 65534;

/// A directory anyone may read, for one test's recording.
fn readable_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrotrace-replay-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot create the recording directory");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("cannot open the directory to others");
    dir
}

/// What the tests record: the `openat` calls.
const OPENAT: &[&str] = &["-e", "tracepoint:syscalls:sys_enter_openat { }"];

/// Records (`record` the arguments after `-o FILE`) while `live` runs live (in `format`) and
/// `comm` opens /etc/hostname three times; returns the live run's outcome and the recording's
/// path.
fn record_beside_live_run(test: &str, record: &[&str], live: &str, format: &str, comm: &Comm) -> (Outcome, PathBuf) {
    let path = readable_dir(test).join("events.ftrec");
    let path_text = path.to_str().expect("a UTF-8 path");
    let mut args = vec!["-o", path_text, "record"];
    args.extend(record);
    let recorder = Tracer::start_until(&args, "Recording ");
    let tracer = match format {
        "json" => Tracer::start_json(&["-f", "json", "-e", live]),
        _ => Tracer::start(&["-e", live]),
    };
    comm.open_file("/etc/hostname", 3);
    let live = tracer.stop(libc::SIGINT);
    let recorded = recorder.stop(libc::SIGINT);
    assert_eq!(recorded.status.code(), Some(0), "the recording failed:\n{}", recorded.transcript());
    assert!(recorded.stderr.contains("Recorded "), "{}", recorded.transcript());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("cannot open the recording to others");
    (live, path)
}

/// `ferrotrace replay` run as `nobody`.
fn replay_as_nobody(args: &[&str]) -> Outcome {
    let mut command = ferrotrace(args);
    command.uid(NOBODY).gid(NOBODY);
    let output = command.output().expect("cannot run ferrotrace as nobody");
    Outcome { status: output.status, stdout: String::from_utf8_lossy(&output.stdout).into(), stderr: String::from_utf8_lossy(&output.stderr).into() }
}

fn cleanup(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_recording_replays_unprivileged_to_what_the_live_run_printed() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let script = format!("tracepoint:syscalls:sys_enter_openat /comm == \"{}\"/ {{ @[str(args.filename)] = count(); }}", comm.name());
    let (live, path) = record_beside_live_run("text", OPENAT, &script, "text", &comm);
    // The thread named after the comm may open more than /etc/hostname as it starts; the
    // replay must print those too, and the three opens the test made.
    let replayed = replay_as_nobody(&["replay", path.to_str().expect("UTF-8"), "-e", &script]);
    cleanup(&path);
    assert!(live.stdout.contains("\n@[/etc/hostname]: 3\n"), "the live run:\n{}", live.transcript());
    replayed.assert_exact(0, &live.stdout, "Attached 1 probe\n");
}

#[test]
fn a_recording_replays_to_the_live_runs_json() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let script = format!(
        "tracepoint:syscalls:sys_enter_openat /comm == \"{}\"/ {{ printf(\"%s %s\\n\", comm, str(args.filename)); @n[comm] = count(); }}",
        comm.name()
    );
    let (live, path) = record_beside_live_run("json", OPENAT, &script, "json", &comm);
    let replayed = replay_as_nobody(&["-f", "json", "replay", path.to_str().expect("UTF-8"), "-e", &script]);
    cleanup(&path);
    let opens = format!("{{\"type\": \"printf\", \"data\": \"{} /etc/hostname\\n\"}}", comm.name());
    assert_eq!(live.stdout.matches(&opens).count(), 3, "three printf lines of the opens:\n{}", live.transcript());
    replayed.assert_exact(0, &live.stdout, "");
}

#[test]
fn recorded_stacks_replay_named_as_the_live_run_named_them() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let script = format!(
        "tracepoint:syscalls:sys_enter_openat /comm == \"{}\"/ {{ @[kstack, ustack] = count(); @perf[ustack(perf, 3)] = count(); }}",
        comm.name()
    );
    let (live, path) = record_beside_live_run("stacks", &["--stacks", "tracepoint:syscalls:sys_enter_openat"], &script, "text", &comm);
    let replayed = replay_as_nobody(&["replay", path.to_str().expect("UTF-8"), "-e", &script]);
    cleanup(&path);
    // Linux 6.1 hands `syscalls` tracepoints the user registers: no kernel frames there.
    if kernel_version() >= (6, 12) {
        assert!(live.stdout.contains("        entry_SYSCALL_64"), "kernel frames are named live:\n{}", live.transcript());
    }
    assert!(live.stdout.contains(" (/"), "user frames name their file live:\n{}", live.transcript());
    replayed.assert_exact(0, &live.stdout, "Attached 1 probe\n");
}

#[test]
fn the_tasks_parent_and_leader_replay_as_the_script_recorded_read_them() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let script = format!(
        "tracepoint:syscalls:sys_enter_openat /comm == \"{}\"/ {{ printf(\"%d %s %d %s\\n\", ppid, pcomm, leader_tid, leader_comm); }}",
        comm.name()
    );
    // Recorded with the script itself: its reads of the relatives are what is recorded.
    let (live, path) = record_beside_live_run("relatives", &["-e", &script], &script, "text", &comm);
    let replayed = replay_as_nobody(&["replay", path.to_str().expect("UTF-8"), "-e", &script]);
    cleanup(&path);
    let parent = format!("{} ", std::os::unix::process::parent_id());
    assert!(live.stdout.lines().filter(|line| line.starts_with(&parent)).count() >= 3, "the test's parent, live:\n{}", live.transcript());
    replayed.assert_exact(0, &live.stdout, "Attached 1 probe\n");
}

#[test]
fn a_script_whose_probes_the_recording_lacks_is_refused_naming_them() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let script = format!("tracepoint:syscalls:sys_enter_openat /comm == \"{}\"/ {{ @ = count(); }}", comm.name());
    let (_, path) = record_beside_live_run("missing", OPENAT, &script, "text", &comm);
    let replayed = replay_as_nobody(&["replay", path.to_str().expect("UTF-8"), "-e", "tracepoint:syscalls:sys_enter_close { @ = count(); }"]);
    let summarized = replay_as_nobody(&["replay", path.to_str().expect("UTF-8")]);
    cleanup(&path);
    assert_eq!(replayed.status.code(), Some(1), "{}", replayed.transcript());
    assert!(replayed.stderr.contains("tracepoint:syscalls:sys_enter_close"), "{}", replayed.transcript());
    assert!(replayed.stderr.contains("tracepoint:syscalls:sys_enter_openat"), "{}", replayed.transcript());
    // Without a script, replay says what the recording holds: at least the three opens.
    let lines: Vec<&str> = summarized.stdout.lines().collect();
    assert_eq!((summarized.status.code(), lines.len()), (Some(0), 3), "{}", summarized.transcript());
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("the kernel's release");
    assert!(lines[0].contains(&format!(": recorded by ferrotrace {} on Linux {} (", env!("CARGO_PKG_VERSION"), release.trim())), "{}", summarized.transcript());
    let (count, probe) = lines[1].trim().split_once("  ").expect("a count and a probe");
    assert_eq!(probe, "tracepoint:syscalls:sys_enter_openat", "{}", summarized.transcript());
    assert!(count.parse::<u64>().expect("a count") >= 3, "{}", summarized.transcript());
    assert!(lines[2].starts_with(&format!("{count} events over ")) && lines[2].ends_with(" s; none lost"), "{}", summarized.transcript());
}

#[test]
fn record_refuses_what_it_cannot_record_naming_it() {
    if !kernel_ready() {
        return;
    }
    let path = readable_dir("refused").join("refused.ftrec");
    let path_text = path.to_str().expect("a UTF-8 path");
    let run = |program: &str| {
        let output = ferrotrace(&["-o", path_text, "-e", program, "record"]).output().expect("cannot run ferrotrace");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let nothing = run("begin { exit(); }");
    let watched = run("watchpoint:0x10000000:8:w { }");
    cleanup(&path);
    assert_eq!(nothing, (Some(1), "ERROR: the script attaches to no tracepoint: there is nothing to record\n".to_string()));
    assert_eq!(
        watched,
        (Some(1), "ERROR: `watchpoint:268435456:8:w` cannot be recorded: record takes tracepoints (begin, end, interval and profile probes need no recording)\n".to_string())
    );
}

/// The running kernel's major and minor version.
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("the kernel's release");
    let mut numbers = release.trim().split(['.', '-']).map(|part| part.parse::<u32>().unwrap_or(0));
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
}

#[test]
fn synthetic_syscall_events_replay_unprivileged_where_tracefs_cannot_be_read() {
    if !kernel_ready() {
        return;
    }
    // nobody cannot read tracefs (mode 0700): the formats are ferrotrace's own.
    let path = readable_dir("synthetic").join("reads.jsonl");
    let lines: String = [4096, 4096, 512, 64, 1]
        .iter()
        .map(|count| format!("{{\"probe\": \"tracepoint:syscalls:sys_enter_read\", \"pid\": 1, \"comm\": \"dd\", \"args\": {{\"fd\": 3, \"count\": {count}}}}}\n"))
        .collect();
    std::fs::write(&path, lines).expect("cannot write the events");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("cannot open the events to others");
    let replayed = replay_as_nobody(&["replay", path.to_str().expect("UTF-8"), "-e", "tracepoint:syscalls:sys_enter_read /comm == \"dd\"/ { @bytes = hist(args.count); }"]);
    let refused = replay_as_nobody(&["replay", path.to_str().expect("UTF-8"), "-e", "tracepoint:sched:sched_switch { @ = count(); }"]);
    let misspelled = replay_as_nobody(&["replay", path.to_str().expect("UTF-8"), "-e", "tracepoint:syscalls:sys_enter_reed { @ = count(); }"]);
    cleanup(&path);
    assert_eq!(
        (replayed.status.code(), replayed.stdout.as_str()),
        (
            Some(0),
            "\n\n@bytes:\n\
[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
[2, 4)                 0 |                                                    |\n\
[4, 8)                 0 |                                                    |\n\
[8, 16)                0 |                                                    |\n\
[16, 32)               0 |                                                    |\n\
[32, 64)               0 |                                                    |\n\
[64, 128)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
[128, 256)             0 |                                                    |\n\
[256, 512)             0 |                                                    |\n\
[512, 1K)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
[1K, 2K)               0 |                                                    |\n\
[2K, 4K)               0 |                                                    |\n\
[4K, 8K)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
\n"
        ),
        "{}",
        replayed.transcript()
    );
    assert_eq!(refused.status.code(), Some(1), "{}", refused.transcript());
    assert!(refused.stderr.contains("tracepoint:sched:sched_switch: this machine's tracefs cannot be read here"), "{}", refused.transcript());
    // A syscall the standard formats lack is unknown, and the nearest are named.
    assert_eq!(misspelled.status.code(), Some(1), "{}", misspelled.transcript());
    assert!(misspelled.stderr.contains("error[E0204]: unknown tracepoint `syscalls:sys_enter_reed`"), "{}", misspelled.transcript());
    assert!(misspelled.stderr.contains("Help: did you mean `sys_enter_read`"), "{}", misspelled.transcript());
}

#[test]
fn the_standard_syscall_formats_are_the_running_kernels() {
    if !kernel_ready() {
        return;
    }
    let live = KernelCatalog::new(Tracefs::find_or_mount(true).expect("tracefs"));
    let known: std::collections::HashSet<(String, String)> = live.tracepoints().expect("the kernel's tracepoints").into_iter().collect();
    let mut compared = 0;
    let mut differing = Vec::new();
    for (category, name) in StandardFormats.tracepoints().expect("the standard listing") {
        if !known.contains(&(category.clone(), name.clone())) {
            continue;
        }
        let standard = StandardFormats.tracepoint_format(&category, &name).expect("a standard format");
        let kernel = live.tracepoint_format(&category, &name).expect("the kernel's format");
        compared += 1;
        if standard.fields != kernel.fields {
            differing.push(format!("{category}:{name}: ferrotrace {:?}\n  kernel {:?}", standard.fields, kernel.fields));
        }
    }
    assert!(compared > 600, "only {compared} syscall tracepoints compared");
    // The table was taken from 6.18 on x86-64: there it has every syscall tracepoint the
    // kernel has, alike. Another kernel may type an argument differently, but not those of the
    // syscalls every tracing recipe starts from.
    let source_kernel = kernel_version() == (6, 18) && cfg!(target_arch = "x86_64");
    if source_kernel {
        let standard: std::collections::HashSet<(String, String)> = StandardFormats.tracepoints().expect("the standard listing").into_iter().collect();
        let mut missing: Vec<String> = known.iter().filter(|(category, _)| category == "syscalls").filter(|entry| !standard.contains(*entry)).map(|(_, name)| name.clone()).collect();
        missing.sort();
        assert!(missing.is_empty(), "the standard formats lack {missing:?}");
    } else {
        let core = ["openat", "read", "write", "close", "execve", "clone"];
        differing.retain(|difference| core.iter().any(|syscall| difference.contains(&format!("_{syscall}: "))));
    }
    assert!(differing.is_empty(), "{} formats differ:\n{}", differing.len(), differing.join("\n"));
}
