//! Scripts replayed over synthetic JSON-lines events print exactly what a live run over those
//! events prints: histograms, printf lines, `exit()`, `end`, timers fired by the events' clock;
//! bad lines are refused naming the line and the field; a recording reads back as written.

#[path = "../../compiler/tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::driver::compile;
use ferrotrace_replay::names::{KernelName, Names};
use ferrotrace_replay::relatives::Relative;
use ferrotrace_replay::recording::{self, Header, RecordedPointer, RecordedProbe, Writer};
use ferrotrace_replay::backend::Backend;
use ferrotrace_replay::replay::Replay;
use ferrotrace_replay::standard_formats::StandardFormats;
use ferrotrace_replay::{synthetic, Clocks, Event};
use ferrotrace_runtime::output::{printer, Format};
use ferrotrace_runtime::run::Runner;
use support::FakeCatalog;

/// The events of `lines`, laid out with the fake kernel's formats.
fn events(lines: &str) -> Vec<Event> {
    events_in(&FakeCatalog, lines)
}

/// The events of `lines`, laid out with `catalog`'s formats.
fn events_in(catalog: &dyn Catalog, lines: &str) -> Vec<Event> {
    let mut format = |category: &str, name: &str| catalog.tracepoint_format(category, name).map_err(|error| error.to_string());
    synthetic::parse(lines, 0, &mut format).expect("the lines parse")
}

/// What `script` prints over `events` (stdout, stderr), as `replay` runs it.
fn replay(script: &str, events: Vec<Event>, backend: Backend) -> (String, String) {
    replay_in(&FakeCatalog, script, events, backend)
}

/// `replay` with the script compiled against `catalog`.
fn replay_in(catalog: &dyn Catalog, script: &str, events: Vec<Event>, backend: Backend) -> (String, String) {
    let compiled = compile(script, catalog).unwrap_or_else(|diagnostics| panic!("{script} does not compile: {diagnostics:?}"));
    let manifest = Arc::new(compiled.manifest);
    let mut probes: Vec<String> = events.iter().map(|event| event.probe.to_string()).collect();
    probes.dedup();
    let clocks = Clocks { cpus: 2, ..Clocks::default() };
    let mut replay = Replay::new(&compiled.elf, Arc::clone(&manifest), clocks, &probes, backend).expect("the script replays");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    {
        let mut runner = Runner::new(Arc::clone(&manifest), printer(Format::Text, &mut out, &mut err));
        replay.begin(&mut runner).expect("begin runs");
        let last = events.last().map_or(0, |event| event.time_ns);
        for event in events {
            if !replay.event(&mut runner, &event).expect("the event replays") {
                break;
            }
        }
        if runner.exit_code().is_none() {
            replay.fire_timers(&mut runner, last).expect("the timers fire");
        }
        replay.end(&mut runner).expect("end runs");
    }
    (String::from_utf8(out).expect("UTF-8"), String::from_utf8(err).expect("UTF-8"))
}

#[test]
fn syscall_events_replay_with_the_standard_formats_where_no_tracefs_is() {
    let lines = r#"
{"probe": "tracepoint:syscalls:sys_enter_openat", "pid": 42, "comm": "cat", "args": {"dfd": -100, "filename": "/etc/hostname", "flags": 0}}
{"probe": "tracepoint:syscalls:sys_exit_openat", "pid": 42, "comm": "cat", "args": {"ret": 3}}
{"probe": "tracepoint:syscalls:sys_enter_openat", "pid": 42, "comm": "cat", "args": {"dfd": -100, "filename": "/etc/passwd", "flags": 524288}}
{"probe": "tracepoint:syscalls:sys_exit_openat", "pid": 42, "comm": "cat", "args": {"ret": -2}}
"#;
    let script = r#"tracepoint:syscalls:sys_enter_openat { printf("%s %d %d\n", str(args.filename), (int32)args.dfd, args.flags); }
tracepoint:syscalls:sys_exit_openat { @ret[args.ret] = count(); }"#;
    for backend in [Backend::Interpreter, Backend::Jit] {
        let (out, err) = replay_in(&StandardFormats, script, events_in(&StandardFormats, lines), backend);
        assert_eq!(out, "/etc/hostname -100 0\n/etc/passwd -100 524288\n\n\n@ret[-2]: 1\n@ret[3]: 1\n", "{backend:?}");
        assert_eq!(err, "");
    }
}

const OPENS: &str = r#"
{"probe": "tracepoint:syscalls:sys_enter_openat", "pid": 42, "comm": "cat", "args": {"filename": "/etc/hostname", "flags": 0}}
{"probe": "t:syscalls:sys_enter_openat", "pid": 42, "comm": "cat", "args": {"filename": "/etc/passwd", "flags": 524288}}
# a comment line
{"probe": "tracepoint:syscalls:sys_enter_openat", "pid": 7, "tid": 8, "comm": "bash", "cpu": 1, "args": {"filename": "/etc/hostname", "flags": 2}}
"#;

#[test]
fn a_histogram_of_synthetic_events_prints_exactly() {
    let lines: String = [1, 2, 3, 3, 9, 17, 17, 17, 100, 1000]
        .iter()
        .map(|count| format!("{{\"probe\": \"tracepoint:syscalls:sys_enter_read\", \"pid\": 1, \"comm\": \"dd\", \"args\": {{\"fd\": 3, \"count\": {count}}}}}\n"))
        .collect();
    let (out, err) = replay("tracepoint:syscalls:sys_enter_read { @bytes = hist(args.count); @l = lhist(args.count, 0, 20, 5); }", events(&lines), Backend::Interpreter);
    assert_eq!(
        out,
        "\n\n@bytes:\n\
[1]                    1 |@@@@@@@@@@@@@@@@@                                   |\n\
[2, 4)                 3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
[4, 8)                 0 |                                                    |\n\
[8, 16)                1 |@@@@@@@@@@@@@@@@@                                   |\n\
[16, 32)               3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
[32, 64)               0 |                                                    |\n\
[64, 128)              1 |@@@@@@@@@@@@@@@@@                                   |\n\
[128, 256)             0 |                                                    |\n\
[256, 512)             0 |                                                    |\n\
[512, 1K)              1 |@@@@@@@@@@@@@@@@@                                   |\n\
\n\
@l:\n\
[0, 5)                 4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
[5, 10)                1 |@@@@@@@@@@@@@                                       |\n\
[10, 15)               0 |                                                    |\n\
[15, 20)               3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@             |\n\
[20, ...)              2 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\n"
    );
    assert_eq!(err, "");
}

#[test]
fn printf_strings_and_builtins_come_from_the_events() {
    let script = r#"tracepoint:syscalls:sys_enter_openat { printf("%d %d %s %s %d %x\n", pid, tid, comm, str(args.filename), cpu, args.flags); @[comm, str(args.filename)] = count(); }"#;
    let (out, _) = replay(script, events(OPENS), Backend::Interpreter);
    assert_eq!(
        out,
        "42 42 cat /etc/hostname 0 0\n42 42 cat /etc/passwd 0 80000\n7 8 bash /etc/hostname 1 2\n\n\n\
@[bash, /etc/hostname]: 1\n@[cat, /etc/hostname]: 1\n@[cat, /etc/passwd]: 1\n"
    );
}

#[test]
fn begin_runs_first_exit_stops_the_events_and_end_runs_last() {
    let script = r#"BEGIN { printf("start\n"); } tracepoint:syscalls:sys_enter_openat { @opens = count(); if (pid == 7) { exit(); } } END { printf("end after %d\n", @opens); }"#;
    let lines = format!("{OPENS}{OPENS}");
    let (out, _) = replay(script, events(&lines), Backend::Interpreter);
    assert_eq!(out, "start\nend after 3\n\n\n@opens: 3\n");
}

#[test]
fn interval_probes_fire_by_the_events_clock() {
    let lines: String = (0..6).map(|at| format!("{{\"probe\": \"tracepoint:syscalls:sys_enter_getppid\", \"time_ns\": {}}}\n", at * 25_000_000)).collect();
    let script = "tracepoint:syscalls:sys_enter_getppid { @calls = count(); } interval:ms:40 { @ticks = count(); printf(\"tick at %d calls\\n\", @calls); }";
    let (out, _) = replay(script, events(&lines), Backend::Interpreter);
    assert_eq!(out, "tick at 2 calls\ntick at 4 calls\ntick at 5 calls\n\n\n@calls: 6\n@ticks: 3\n");
}

#[test]
fn a_bad_line_is_refused_naming_it_and_the_field() {
    let mut format = |category: &str, name: &str| FakeCatalog.tracepoint_format(category, name).map_err(|error| error.to_string());
    let unknown = "{\"probe\": \"tracepoint:syscalls:sys_enter_openat\"}\n{\"probe\": \"tracepoint:syscalls:sys_enter_openat\", \"args\": {\"path\": \"/x\"}}";
    let error = synthetic::parse(unknown, 0, &mut format).expect_err("no field `path`").to_string();
    assert_eq!(error, "line 2: the tracepoint has no field `path`; its fields are __syscall_nr, dfd, filename, flags, mode");
    let wrong = "{\"probe\": \"tracepoint:syscalls:sys_enter_openat\", \"args\": {\"flags\": \"rw\"}}";
    let error = synthetic::parse(wrong, 0, &mut format).expect_err("flags is an integer").to_string();
    assert_eq!(error, "line 1: `flags` (int): \"rw\" is not an integer");
    let typo = "{\"probe\": \"tracepoint:syscalls:sys_enter_openat\", \"command\": \"cat\"}";
    let error = synthetic::parse(typo, 0, &mut format).expect_err("no key `command`").to_string();
    assert!(error.starts_with("line 1: unknown field `command`"), "{error}");
}

#[test]
fn stacks_print_with_the_names_the_recording_gave_and_unnamed_frames_as_addresses() {
    let lines = r#"{"probe": "tracepoint:syscalls:sys_enter_openat", "kstack": [18446744071578845204, 18446744071578845220], "ustack": [4198400]}"#;
    let names = Names { kernel: vec![KernelName { address: 18446744071578845204, symbol: "do_sys_openat2".into(), offset: 20 }], user: Vec::new() };
    let script = "tracepoint:syscalls:sys_enter_openat { @k[kstack] = count(); @u[ustack(raw)] = count(); }";
    // The names a recording holds; replay names no address with this machine's kernel.
    names.publish();
    let (out, _) = replay(script, events(lines), Backend::Jit);
    assert_eq!(out, "\n\n@k[\n        do_sys_openat2+20\n        0xffffffff81000024\n]: 1\n@u[\n401000\n]: 1\n");
}

#[test]
fn a_recording_reads_back_as_it_was_written() {
    let format = FakeCatalog.tracepoint_format("syscalls", "sys_enter_openat").expect("the fake kernel has openat");
    let pointer = RecordedPointer { field: "filename".into(), offset: 24, string: true, bound: 16 };
    let probe = RecordedProbe {
        name: "tracepoint:syscalls:sys_enter_openat".into(),
        category: "syscalls".into(),
        event: "sys_enter_openat".into(),
        format,
        context_size: 48,
        pointers: vec![pointer],
        kernel_stack: 3,
        user_stack: 2,
        relatives: vec![Relative { link: "real_parent".into(), link_offset: 100, members: vec![("tgid".into(), 20, 4), ("comm".into(), 40, 16)] }],
    };
    let header = Header { ferrotrace: "0.1.0".into(), kernel: "6.18".into(), arch: "x86_64".into(), clocks: Clocks { start_ns: 5, cpus: 2, ..Clocks::default() }, probes: vec![probe] };
    // The bytes the recording program writes: probe, CPU, pid/tid, uid/gid, time, cgroup,
    // jiffies, task, comm, the record, then the string read's result and bytes.
    let mut record = vec![0u8; header.probes[0].event_size()];
    record[4..8].copy_from_slice(&1u32.to_le_bytes());
    record[8..16].copy_from_slice(&(42u64 << 32 | 43).to_le_bytes());
    record[16..24].copy_from_slice(&(100u64 << 32 | 1000).to_le_bytes());
    record[24..32].copy_from_slice(&77u64.to_le_bytes());
    record[56..59].copy_from_slice(b"cat");
    record[72 + 24..72 + 32].copy_from_slice(&0x7fff_0000u64.to_le_bytes());
    record[72 + 48..72 + 56].copy_from_slice(&5i64.to_le_bytes());
    record[72 + 56..72 + 61].copy_from_slice(b"/etc\0");
    // The stacks: `bpf_get_stack`'s result in bytes, then the frames (room for 3 and 2).
    let kernel = header.probes[0].kernel_stack_start();
    record[kernel..kernel + 8].copy_from_slice(&16i64.to_le_bytes());
    record[kernel + 8..kernel + 16].copy_from_slice(&0xffff_ffff_8100_0010u64.to_le_bytes());
    record[kernel + 16..kernel + 24].copy_from_slice(&0xffff_ffff_8100_0020u64.to_le_bytes());
    let user = header.probes[0].user_stack_start();
    assert_eq!(user, kernel + 8 + 3 * 8);
    record[user..user + 8].copy_from_slice(&(-14i64).to_le_bytes());
    // The task pointer, then the relative: its pointer, its tgid, its comm.
    record[48..56].copy_from_slice(&0xffff_8880_0000_1000u64.to_le_bytes());
    let relative = header.probes[0].relatives_start();
    record[relative..relative + 8].copy_from_slice(&0xffff_8880_0000_2000u64.to_le_bytes());
    record[relative + 8..relative + 12].copy_from_slice(&7u32.to_le_bytes());
    record[relative + 16..relative + 20].copy_from_slice(b"bash");
    let names = Names { kernel: vec![KernelName { address: 0xffff_ffff_8100_0010, symbol: "do_one".into(), offset: 16 }], user: Vec::new() };
    let mut bytes = Vec::new();
    let mut writer = Writer::new(&mut bytes, &header).expect("the header writes");
    writer.names(&names).expect("the names write");
    writer.event(&record).expect("the event writes");
    writer.lost(3).expect("the lost count writes");
    writer.end(99).expect("the end writes");
    let read = recording::read(&bytes[..]).expect("the recording reads");
    assert_eq!(read.header, header);
    assert_eq!((read.lost, read.end_ns, read.events.len()), (3, Some(99), 1));
    let event = &read.events[0];
    assert_eq!((event.pid, event.tid, event.uid, event.gid, event.cpu, event.time_ns), (42, 43, 1000, 100, 1, 77));
    assert_eq!(&event.comm[..4], b"cat\0");
    assert_eq!(event.read(0x7fff_0000, 64), Some(&b"/etc\0"[..]));
    assert_eq!(event.kernel_stack, [0xffff_ffff_8100_0010, 0xffff_ffff_8100_0020]);
    assert!(event.user_stack.is_empty(), "a stack the kernel could not take (-EFAULT) holds no frames");
    assert_eq!(read.names, names);
    assert_eq!(event.read(0xffff_8880_0000_1000 + 100, 8), Some(&0xffff_8880_0000_2000u64.to_le_bytes()[..]), "the parent's pointer in the task");
    assert_eq!(event.read(0xffff_8880_0000_2000 + 20, 4), Some(&7u32.to_le_bytes()[..]), "the parent's tgid");
    assert_eq!(event.read(0xffff_8880_0000_2000 + 40, 16), Some(&b"bash\0\0\0\0\0\0\0\0\0\0\0\0"[..]), "the parent's comm");
    assert_eq!(read.header.task_members(), [("comm".to_string(), 40), ("real_parent".to_string(), 100), ("tgid".to_string(), 20)]);
    let cut = &bytes[..bytes.len() - 5];
    assert_eq!(recording::read(cut).expect("a cut recording reads to its last whole frame").events.len(), 1);
    let mut newer = bytes.clone();
    newer[6] = 9;
    assert_eq!(recording::read(&newer[..]).expect_err("version 9").to_string(), "a recording of format version 9; this ferrotrace reads versions 1 to 2");
}
