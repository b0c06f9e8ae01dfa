//! A whole session on hand-assembled objects: load, config, begin/end through
//! BPF_PROG_TEST_RUN, ring buffer records, attaching tracepoint/interval/profile probes,
//! detaching, and verifier rejections.

mod kernel_support;

use std::time::{Duration, Instant};

use ferrotrace_compiler::manifest::{Attach, BpfMapType, MapId, MapRole};
use ferrotrace_runtime::tracefs::Tracefs;
use ferrotrace_runtime::{signals, LoadError, Session};
use kernel_support::asm::Code;
use kernel_support::{build, count_role, kernel_available, map, TestProgram};

fn program(symbol: &'static str, section: &str, attach: Attach, code: Code) -> TestProgram {
    TestProgram {
        symbol,
        section: section.to_string(),
        attach,
        code,
    }
}

/// The sum over CPUs of the `u64` count at index 0 of a per-CPU array.
fn total(session: &Session, id: MapId) -> u64 {
    let entries = session.map_entries(id).expect("map entries");
    entries[0]
        .values
        .iter()
        .map(|value| u64::from_ne_bytes(value.as_slice().try_into().expect("u64")))
        .sum()
}

fn begin_end_session() -> Session {
    let maps = vec![
        map(
            "m0",
            BpfMapType::PercpuArray,
            4,
            8,
            1,
            count_role("@runs", false),
        ),
        map("ringbuf", BpfMapType::RingBuf, 0, 0, 4096, MapRole::RingBuf),
        map("config", BpfMapType::Array, 4, 8, 1, MapRole::Config),
    ];
    let begin = Code::new()
        .count_in_array(0)
        .ringbuf_record(1, 7, 42)
        .return_zero();
    let end = Code::new().count_in_array(0).return_zero();
    let (elf, manifest) = build(
        maps,
        vec![
            program("begin", "raw_tp/begin", Attach::Begin, begin),
            program("end", "raw_tp/end", Attach::End, end),
        ],
    );
    Session::load(&elf, &manifest, false).expect("load")
}

/// bpftrace's default `max_probes`.
const MAX_PROBES: usize = 1024;

#[test]
fn begin_and_end_run_once_and_their_records_arrive() {
    if !kernel_available() {
        return;
    }
    let mut session = begin_end_session();
    session.write_config(123_456).expect("config");
    let config = session.map_entries(MapId(2)).expect("config entries");
    assert_eq!(config[0].values, [123_456u64.to_ne_bytes().to_vec()]);

    let mut events = session
        .events()
        .expect("events")
        .expect("a ring buffer");
    session.run_begin().expect("begin");
    assert_eq!(total(&session, MapId(0)), 1);

    let mut records = Vec::new();
    let handed = events
        .poll(Duration::from_millis(100), &mut |record| {
            records.push(record.to_vec())
        })
        .expect("poll");
    assert_eq!(handed, 1);
    let expected: Vec<u8> = [7u64.to_ne_bytes(), 42u64.to_ne_bytes()].concat();
    assert_eq!(records, [expected]);

    assert_eq!(session.probes_within(MAX_PROBES).expect("count"), 2, "begin and end count as probes");
    session.attach_all().expect("attach");
    session.detach_all().expect("detach");
    session.run_end().expect("end");
    assert_eq!(total(&session, MapId(0)), 2);
    session.zero_map(MapId(0)).expect("zero");
    assert_eq!(total(&session, MapId(0)), 0);
}

#[test]
fn an_empty_ring_buffer_times_out_with_nothing() {
    if !kernel_available() {
        return;
    }
    let session = begin_end_session();
    let mut events = session
        .events()
        .expect("events")
        .expect("a ring buffer");
    let started = Instant::now();
    let handed = events
        .poll(Duration::from_millis(50), &mut |_| {})
        .expect("poll");
    assert_eq!(handed, 0);
    assert!(started.elapsed() >= Duration::from_millis(40));
}

fn getppid_many(times: usize) {
    for _ in 0..times {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
}

#[test]
fn tracepoint_interval_and_profile_probes_fire_until_detached() {
    if !kernel_available() {
        return;
    }
    let maps = vec![
        map(
            "m0",
            BpfMapType::PercpuArray,
            4,
            8,
            1,
            count_role("@calls", false),
        ),
        map(
            "m1",
            BpfMapType::PercpuArray,
            4,
            8,
            1,
            count_role("@ticks", false),
        ),
        map(
            "m2",
            BpfMapType::PercpuArray,
            4,
            8,
            1,
            count_role("@samples", false),
        ),
    ];
    let tracefs = Tracefs::find_or_mount(true).expect("tracefs");
    let tracepoint = Attach::Tracepoint {
        category: "syscalls".into(),
        name: "sys_enter_getppid".into(),
        event_id: tracefs.format("syscalls", "sys_enter_getppid").expect("format").id,
    };
    let (elf, manifest) = build(
        maps,
        vec![
            program(
                "tp",
                "tracepoint/syscalls/sys_enter_getppid",
                tracepoint,
                Code::new().count_in_array(0).return_zero(),
            ),
            program(
                "iv",
                "perf_event",
                Attach::Interval {
                    period_ns: 1_000_000,
                },
                Code::new().count_in_array(1).return_zero(),
            ),
            program(
                "pf",
                "perf_event",
                Attach::Profile { hz: 997 },
                Code::new().count_in_array(2).return_zero(),
            ),
        ],
    );
    let mut session = Session::load(&elf, &manifest, false).expect("load");
    let refused = session.probes_within(2).expect_err("three probes, a limit of two");
    assert_eq!(refused.to_string(), "the script attaches 3 probes, more than the 2 BPFTRACE_MAX_PROBES allows");
    assert_eq!(session.probes_within(MAX_PROBES).expect("within the limit"), 3);
    session.attach_all().expect("attach");
    getppid_many(10);
    let busy_until = Instant::now() + Duration::from_millis(100);
    while Instant::now() < busy_until {
        std::hint::spin_loop();
    }
    assert!(total(&session, MapId(0)) >= 10);
    assert!(total(&session, MapId(1)) > 0, "interval never fired");
    assert!(total(&session, MapId(2)) > 0, "profile never fired");

    session.detach_all().expect("detach");
    let calls = total(&session, MapId(0));
    getppid_many(10);
    assert_eq!(total(&session, MapId(0)), calls);
}

#[test]
fn a_missing_tracepoint_is_named_in_the_error() {
    if !kernel_available() {
        return;
    }
    let maps = vec![map(
        "m0",
        BpfMapType::PercpuArray,
        4,
        8,
        1,
        count_role("@", false),
    )];
    let attach = Attach::Tracepoint {
        category: "syscalls".into(),
        name: "sys_enter_nothing".into(),
        event_id: u32::MAX,
    };
    let code = Code::new().count_in_array(0).return_zero();
    let (elf, manifest) = build(
        maps,
        vec![program(
            "tp",
            "tracepoint/syscalls/sys_enter_nothing",
            attach,
            code,
        )],
    );
    let mut session = Session::load(&elf, &manifest, false).expect("load");
    let error = session.attach_all().expect_err("no such tracepoint");
    assert_eq!(
        error.to_string(),
        "cannot attach probe `test:tp`: the kernel has no tracepoint `syscalls:sys_enter_nothing`"
    );
}

#[test]
fn a_verifier_rejection_names_program_instruction_and_reason() {
    if !kernel_available() {
        return;
    }
    let good = Code::new().return_zero();
    let bad = Code::new().mov_imm(0, 0).mov_reg(0, 2).exit();
    let (elf, manifest) = build(
        Vec::new(),
        vec![
            program("good", "raw_tp/begin", Attach::Begin, good),
            program("bad", "raw_tp/end", Attach::End, bad),
        ],
    );
    for verbose in [false, true] {
        match Session::load(&elf, &manifest, verbose) {
            Err(LoadError::Verifier {
                program,
                insn,
                reason,
                log,
            }) => {
                assert_eq!(
                    (program, insn, reason.as_str()),
                    (1, Some(1), "R2 !read_ok")
                );
                assert!(log.contains("1: (bf) r0 = r2"), "{log}");
            }
            Err(other) => panic!("expected a verifier rejection, got {other}"),
            Ok(_) => panic!("the verifier accepted a read of an uninitialized register"),
        }
    }
}

#[test]
fn a_signal_ends_the_wait_and_requests_a_stop() {
    if !kernel_available() {
        return;
    }
    let session = begin_end_session();
    let mut events = session
        .events()
        .expect("events")
        .expect("a ring buffer");
    signals::install().expect("signal handlers");
    // SAFETY: pthread_self has no preconditions.
    let waiting_thread = unsafe { libc::pthread_self() };
    let signaller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        // SAFETY: the waiting thread outlives this one: the test joins it below.
        unsafe { libc::pthread_kill(waiting_thread, libc::SIGINT) };
    });
    let started = Instant::now();
    let handed = events
        .poll(Duration::from_secs(5), &mut |_| {})
        .expect("poll");
    signaller.join().expect("signaller");
    assert_eq!(handed, 0);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "poll ignored the signal"
    );
    assert!(signals::stop_requested());
    signals::reset();
}
