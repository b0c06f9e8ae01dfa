//! `software` events on every CPU, and `hardware` counters where the machine has a PMU (the
//! refusal, with what samples instead, where it has none, as in QEMU without one).

use super::*;

/// The page faults of a thread the test names fire the probe in that thread (counted as one
/// probe, however many CPUs it is attached on, as bpftrace counts).
#[test]
fn software_page_faults_fire_in_the_faulting_task() {
    if !kernel_ready() {
        return;
    }
    let comm = Comm::unique();
    let program = format!(
        "software:faults:1 /comm == \"{}\" && @seen == 0/ {{ @seen = 1; printf(\"%s %s\\n\", probe, comm); exit(); }}",
        comm.name()
    );
    let tracer = Tracer::start(&["-e", &program]);
    comm.run(|| {
        let pages = vec![1u8; 64 * 4096];
        assert_eq!(pages.iter().step_by(4096).map(|&b| u32::from(b)).sum::<u32>(), 64);
    });
    tracer.finish().assert_exact(0, &format!("software:faults:1 {}\n\n\n@seen: 1\n", comm.name()), ATTACHED_1);
}

#[test]
fn hardware_counters_need_a_pmu() {
    if !kernel_ready() {
        return;
    }
    if std::path::Path::new("/sys/bus/event_source/devices/cpu").exists() {
        let outcome = run_program("hardware:instructions:1000000 { @ = count(); } interval:ms:100 { exit(); }");
        assert_eq!(outcome.status.code(), Some(0), "{}", outcome.transcript());
        return;
    }
    run_program("hardware:cycles: { @ = count(); }").assert_exact(
        1,
        "",
        "ERROR: cannot attach probe `hardware:cycles:1000000`: this machine has no hardware performance counters \
         (perf_event_open on CPU 0: No such file or directory (os error 2)); `software:cpu-clock:` and `profile:hz:99` \
         sample by time instead\n",
    );
}
