//! Running `begin`/`end` probes once with `BPF_PROG_TEST_RUN`, and attaching and detaching
//! every other probe: each attachment is a perf event (a tracepoint, or a software cpu-clock
//! for `interval` and `profile`) and a BPF link carrying the probe id as its cookie.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use ferrotrace_compiler::manifest::{Attach, ProgramSpec, Target};

use crate::error::AttachError;
use crate::session::Session;
use crate::sys::{self, Sampling};
use crate::tracefs::Tracefs;
use crate::cpus;

impl Session {
    /// Runs the `begin` probes once each, in manifest order.
    pub fn run_begin(&mut self) -> Result<(), AttachError> {
        self.run_once(|attach| matches!(attach, Attach::Begin))
    }

    /// Runs the `end` probes once each, in manifest order.
    pub fn run_end(&mut self) -> Result<(), AttachError> {
        self.run_once(|attach| matches!(attach, Attach::End))
    }

    /// Attaches every probe that is not `begin`/`end`. Returns the number of probes, counting
    /// `begin` and `end` as bpftrace does in `Attached N probes` (a profile probe on every CPU
    /// is one probe, a program shared by many tracepoints is one probe per tracepoint).
    pub fn attach_all(&mut self) -> Result<usize, AttachError> {
        let needs_tracefs = self.manifest.programs.iter().flat_map(|spec| &spec.targets).any(|target| {
            matches!(target.attach, Attach::Tracepoint { .. })
        });
        if needs_tracefs {
            Tracefs::find_or_mount(true)?;
        }
        let mut probes = 0;
        for (index, spec) in self.manifest.programs.iter().enumerate() {
            for target in &spec.targets {
                let links = attach_one(self.program_fd(index), spec, target)?;
                self.links.extend(links);
                probes += 1;
            }
        }
        Ok(probes)
    }

    /// Detaches everything `attach_all` attached; keeps going past a failure and reports the
    /// first one. The kernel waits out an RCU grace period as each tracepoint's last perf event
    /// closes (tens of milliseconds), so links are released from many threads at once: their
    /// waits overlap, and 360 tracepoints detach in about the time of one.
    pub fn detach_all(&mut self) -> Result<(), AttachError> {
        release_in_parallel(std::mem::take(&mut self.links));
        Ok(())
    }

    fn run_once(&mut self, wanted: impl Fn(&Attach) -> bool) -> Result<(), AttachError> {
        for (index, spec) in self.manifest.programs.iter().enumerate() {
            if spec.targets.iter().any(|target| wanted(&target.attach)) {
                sys::prog_test_run(self.program_fd(index))
                    .map_err(|error| AttachError::Run { probe: spec.probe_name.clone(), reason: error.to_string() })?;
            }
        }
        Ok(())
    }
}

fn attach_one(program: BorrowedFd<'_>, spec: &ProgramSpec, target: &Target) -> Result<Vec<OwnedFd>, AttachError> {
    let attach_error = |reason: String| AttachError::Probe { probe: spec.probe_name.clone(), reason };
    let cookie = u64::from(target.probe_id);
    match &target.attach {
        Attach::Begin | Attach::End => Ok(Vec::new()),
        Attach::Tracepoint { category, name, event_id } => {
            let link = attach_tracepoint(program, *event_id, cookie).map_err(|reason| AttachError::Probe {
                probe: match spec.targets.len() {
                    1 => spec.probe_name.clone(),
                    _ => format!("tracepoint:{category}:{name}"),
                },
                reason: tracepoint_reason(category, name, reason),
            })?;
            Ok(vec![link])
        }
        Attach::Interval { period_ns } => {
            let link = attach_cpu_clock(program, 0, Sampling::PeriodNs(*period_ns), cookie).map_err(attach_error)?;
            Ok(vec![link])
        }
        Attach::Profile { hz } => cpus::online()?
            .into_iter()
            .map(|cpu| attach_cpu_clock(program, cpu, Sampling::Hz(*hz), cookie).map_err(attach_error))
            .collect(),
    }
}

/// A software cpu-clock perf event on `cpu` and a BPF link from `program` to it.
fn attach_cpu_clock(program: BorrowedFd<'_>, cpu: u32, sampling: Sampling, cookie: u64) -> Result<OwnedFd, String> {
    let perf_event = sys::perf_event_open_cpu_clock(cpu, sampling)
        .map_err(|error| format!("software cpu-clock perf event on CPU {cpu}: {error}"))?;
    sys::link_create_perf_event(program, perf_event.as_fd(), cookie)
        .map_err(|error| format!("attaching the program to its perf event (BPF_LINK_CREATE): {error}"))
}

/// A perf event on the tracepoint and a BPF link from `program` to it, with the probe id as the
/// cookie. The link holds the perf event; dropping the link detaches.
fn attach_tracepoint(program: BorrowedFd<'_>, event_id: u32, cookie: u64) -> Result<OwnedFd, String> {
    let perf_event = sys::perf_event_open_tracepoint(event_id).map_err(|error| format!("perf_event_open: {error}"))?;
    sys::link_create_perf_event(program, perf_event.as_fd(), cookie)
        .map_err(|error| format!("attaching the program to its perf event (BPF_LINK_CREATE): {error}"))
}

/// Says plainly when the tracepoint has gone since the script was compiled.
fn tracepoint_reason(category: &str, name: &str, reason: String) -> String {
    let missing = Tracefs::find().is_some_and(|tracefs| tracefs.format(category, name).is_err());
    if missing {
        format!("the kernel has no tracepoint `{category}:{name}`")
    } else {
        reason
    }
}

/// Most links released at once; each releasing thread needs only a small stack.
const RELEASE_THREADS: usize = 512;
const RELEASE_STACK_BYTES: usize = 64 * 1024;

/// Drops every link, spread over up to `RELEASE_THREADS` threads. A thread that cannot be
/// started leaves its share to this one.
fn release_in_parallel(links: Vec<OwnedFd>) {
    if links.len() <= 1 {
        return drop(links);
    }
    let per_thread = links.len().div_ceil(RELEASE_THREADS);
    let mut shares: Vec<Vec<OwnedFd>> = Vec::new();
    let mut links = links.into_iter().peekable();
    while links.peek().is_some() {
        shares.push(links.by_ref().take(per_thread).collect());
    }
    std::thread::scope(|scope| {
        for share in shares {
            let builder = std::thread::Builder::new().name("detach".into()).stack_size(RELEASE_STACK_BYTES);
            // On failure the closure, and the share it owns, is dropped here: released inline.
            let _ = builder.spawn_scoped(scope, move || drop(share));
        }
    });
}
