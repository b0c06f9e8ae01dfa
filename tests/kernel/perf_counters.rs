//! `software` events on every CPU, and `hardware` counters where the machine has a PMU (the
//! refusal, with what samples instead, where it has none, as in QEMU without one); a timer's
//! `ctx`, its sample.

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
    // Fresh pages of its own, whatever the allocator keeps: a vector's memory may be reused,
    // already faulted in.
    comm.run(|| {
        const LENGTH: usize = 64 * 4096;
        // SAFETY: a new private anonymous mapping, written page by page and unmapped before
        // anything else sees it.
        unsafe {
            let pages = libc::mmap(std::ptr::null_mut(), LENGTH, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
            assert_ne!(pages, libc::MAP_FAILED, "mmap: {}", std::io::Error::last_os_error());
            for page in (0..LENGTH).step_by(4096) {
                std::ptr::write_volatile(pages.cast::<u8>().add(page), 1);
            }
            libc::munmap(pages, LENGTH);
        }
    });
    tracer.finish().assert_exact(0, &format!("software:faults:1 {}\n\n\n@seen: 1\n", comm.name()), ATTACHED_1);
}

/// `ctx` in a timer is the perf event's sample, `struct bpf_perf_event_data *`: a 10 ms
/// interval samples every 10,000,000 ns of its clock. Once: a slow machine (QEMU) can fire the
/// timer again before `exit` stops it.
#[test]
fn ctx_of_a_timer_is_its_sample() {
    if !kernel_ready() {
        return;
    }
    let outcome = run_program("interval:ms:10 /@seen == 0/ { @seen = 1; printf(\"%d %d\\n\", ctx->sample_period, ctx->regs.ip != 0); exit(); }");
    outcome.assert_exact(0, "10000000 1\n\n\n@seen: 1\n", ATTACHED_1);
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
