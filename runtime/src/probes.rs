//! Running `begin`/`end` probes once with `BPF_PROG_TEST_RUN`, and attaching and detaching
//! every other probe: tracepoints through a perf event and a BPF link carrying the probe id as
//! its cookie, `interval` and `profile` as software cpu-clock perf events.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use aya::programs::perf_event::{
    PerfEventConfig, PerfEventLink, PerfEventLinkId, PerfEventScope, SamplePolicy, SoftwareEvent,
};
use aya::programs::{
    PerfEvent, Program, ProgramError, RawTracePoint, RawTracePointRunOptions, TestRun, TracePoint,
};
use ferrotrace_compiler::manifest::{Attach, ProgramSpec, Target};

use crate::error::{chain, AttachError};
use crate::session::Session;
use crate::tracefs::Tracefs;
use crate::{cpus, sys};

/// One attachment to undo in `detach_all`.
pub(crate) enum AttachedLink {
    /// A BPF link of our own making (tracepoints): closing it detaches.
    Fd(OwnedFd),
    PerfEvent {
        program: usize,
        link: PerfEventLinkId,
    },
}

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
        for index in 0..self.manifest.programs.len() {
            let spec = self.manifest.programs[index].clone();
            for target in &spec.targets {
                let links = attach_one(&mut self.ebpf, index, &spec, target)?;
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
        let mut first_error = None;
        let mut owned = Vec::new();
        for attached in std::mem::take(&mut self.links) {
            match take_link(self, attached) {
                Ok(link) => owned.push(link),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        release_in_parallel(owned);
        first_error.map_or(Ok(()), Err)
    }

    fn run_once(&mut self, wanted: impl Fn(&Attach) -> bool) -> Result<(), AttachError> {
        for spec in self
            .manifest
            .programs
            .iter()
            .filter(|spec| spec.targets.iter().any(|target| wanted(&target.attach)))
        {
            let run_error = |reason: String| AttachError::Run {
                probe: spec.probe_name.clone(),
                reason,
            };
            let program = program_mut::<RawTracePoint>(&mut self.ebpf, spec).map_err(run_error)?;
            program
                .test_run(RawTracePointRunOptions::new())
                .map_err(|error| run_error(chain(&error)))?;
        }
        Ok(())
    }
}

fn attach_one(
    ebpf: &mut aya::Ebpf,
    index: usize,
    spec: &ProgramSpec,
    target: &Target,
) -> Result<Vec<AttachedLink>, AttachError> {
    let attach_error = |reason: String| AttachError::Probe {
        probe: spec.probe_name.clone(),
        reason,
    };
    match &target.attach {
        Attach::Begin | Attach::End => Ok(Vec::new()),
        Attach::Tracepoint { category, name, event_id } => {
            let program = program_mut::<TracePoint>(ebpf, spec).map_err(attach_error)?;
            let program_fd = program.fd().map_err(|error| attach_error(chain(&error)))?;
            let link = attach_tracepoint(program_fd.as_fd(), *event_id, target.probe_id)
                .map_err(|reason| AttachError::Probe {
                    probe: match spec.targets.len() {
                        1 => spec.probe_name.clone(),
                        _ => format!("tracepoint:{category}:{name}"),
                    },
                    reason: tracepoint_reason(category, name, reason),
                })?;
            Ok(vec![AttachedLink::Fd(link)])
        }
        Attach::Interval { period_ns } => {
            let program = program_mut::<PerfEvent>(ebpf, spec).map_err(attach_error)?;
            let link = attach_cpu_clock(program, 0, SamplePolicy::Period(*period_ns))
                .map_err(attach_error)?;
            Ok(vec![AttachedLink::PerfEvent {
                program: index,
                link,
            }])
        }
        Attach::Profile { hz } => {
            let program = program_mut::<PerfEvent>(ebpf, spec).map_err(attach_error)?;
            let mut links = Vec::new();
            for cpu in cpus::online()? {
                let link = attach_cpu_clock(program, cpu, SamplePolicy::Frequency(*hz))
                    .map_err(attach_error)?;
                links.push(AttachedLink::PerfEvent {
                    program: index,
                    link,
                });
            }
            Ok(links)
        }
    }
}

fn attach_cpu_clock(
    program: &mut PerfEvent,
    cpu: u32,
    policy: SamplePolicy,
) -> Result<PerfEventLinkId, String> {
    let config = PerfEventConfig::Software(SoftwareEvent::CpuClock);
    program
        .attach(
            config,
            PerfEventScope::AllProcessesOneCpu { cpu },
            policy,
            false,
        )
        .map_err(|error| {
            format!(
                "software cpu-clock perf event on CPU {cpu}: {}",
                chain(&error)
            )
        })
}

/// A perf event on the tracepoint and a BPF link from `program` to it, with the probe id as the
/// cookie. The link holds the perf event; dropping the link detaches.
fn attach_tracepoint(program: BorrowedFd<'_>, event_id: u32, probe_id: u32) -> Result<OwnedFd, String> {
    let perf_event = sys::perf_event_open_tracepoint(event_id).map_err(|error| format!("perf_event_open: {error}"))?;
    sys::link_create_perf_event(program, perf_event.as_fd(), u64::from(probe_id))
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

/// A link taken out of aya's keeping (a `PerfEventLink`) or a link fd of our own: dropping it
/// detaches the probe.
type OwnedLink = Box<dyn Send>;

/// Takes the link out of its program, so it can be dropped on another thread.
fn take_link(session: &mut Session, attached: AttachedLink) -> Result<OwnedLink, AttachError> {
    match attached {
        AttachedLink::Fd(fd) => Ok(Box::new(fd)),
        AttachedLink::PerfEvent { program, link } => {
            let spec = &session.manifest.programs[program];
            program_mut::<PerfEvent>(&mut session.ebpf, spec)
                .and_then(|perf_event| perf_event.take_link(link).map_err(|error| chain(&error)))
                .map(|link: PerfEventLink| Box::new(link) as OwnedLink)
                .map_err(|reason| AttachError::Probe {
                    probe: spec.probe_name.clone(),
                    reason: format!("detaching failed: {reason}"),
                })
        }
    }
}

/// Most links released at once; each releasing thread needs only a small stack.
const RELEASE_THREADS: usize = 512;
const RELEASE_STACK_BYTES: usize = 64 * 1024;

/// Drops every link, spread over up to `RELEASE_THREADS` threads. A thread that cannot be
/// started leaves its share to this one.
fn release_in_parallel(links: Vec<OwnedLink>) {
    if links.len() <= 1 {
        return drop(links);
    }
    let per_thread = links.len().div_ceil(RELEASE_THREADS);
    let mut shares: Vec<Vec<OwnedLink>> = Vec::new();
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

/// The loaded program of `spec` as the aya type its probe needs.
fn program_mut<'a, T>(ebpf: &'a mut aya::Ebpf, spec: &ProgramSpec) -> Result<&'a mut T, String>
where
    &'a mut T: TryFrom<&'a mut Program, Error = ProgramError>,
{
    let program = ebpf
        .program_mut(&spec.symbol)
        .ok_or_else(|| format!("the BPF object has no program `{}`", spec.symbol))?;
    <&mut T>::try_from(program)
        .map_err(|error| format!("program `{}`: {}", spec.symbol, chain(&error)))
}
