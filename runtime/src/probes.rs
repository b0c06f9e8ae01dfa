//! Running `begin`/`end` probes once with `BPF_PROG_TEST_RUN`, and attaching and detaching
//! every other probe: tracepoints by name, `interval` and `profile` as software cpu-clock
//! perf events.

use aya::programs::perf_event::{
    PerfEventConfig, PerfEventLink, PerfEventLinkId, PerfEventScope, SamplePolicy, SoftwareEvent,
};
use aya::programs::trace_point::{TracePointLink, TracePointLinkId};
use aya::programs::{
    PerfEvent, Program, ProgramError, RawTracePoint, RawTracePointRunOptions, TestRun, TracePoint,
};
use ferrotrace_compiler::manifest::{Attach, ProgramSpec};

use crate::cpus;
use crate::error::{chain, AttachError};
use crate::session::Session;
use crate::tracefs::Tracefs;

/// One attachment to undo in `detach_all`.
pub(crate) enum AttachedLink {
    TracePoint {
        program: usize,
        link: TracePointLinkId,
    },
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
    /// is one probe).
    pub fn attach_all(&mut self) -> Result<usize, AttachError> {
        let needs_tracefs = self
            .manifest
            .programs
            .iter()
            .any(|spec| matches!(spec.attach, Attach::Tracepoint { .. }));
        if needs_tracefs {
            Tracefs::find_or_mount(true)?;
        }
        for index in 0..self.manifest.programs.len() {
            let spec = self.manifest.programs[index].clone();
            let links = attach_one(&mut self.ebpf, index, &spec)?;
            self.links.extend(links);
        }
        Ok(self.manifest.programs.len())
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
            .filter(|spec| wanted(&spec.attach))
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
) -> Result<Vec<AttachedLink>, AttachError> {
    let attach_error = |reason: String| AttachError::Probe {
        probe: spec.probe_name.clone(),
        reason,
    };
    match &spec.attach {
        Attach::Begin | Attach::End => Ok(Vec::new()),
        Attach::Tracepoint { category, name } => {
            let program = program_mut::<TracePoint>(ebpf, spec).map_err(attach_error)?;
            let link = program
                .attach(category, name)
                .map_err(|error| attach_error(tracepoint_reason(category, name, &error)))?;
            Ok(vec![AttachedLink::TracePoint {
                program: index,
                link,
            }])
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

/// aya reports a missing tracepoint as a failure to read its `id` file; say it plainly.
fn tracepoint_reason(category: &str, name: &str, error: &ProgramError) -> String {
    let missing = Tracefs::find().is_some_and(|tracefs| tracefs.format(category, name).is_err());
    if missing {
        format!("the kernel has no tracepoint `{category}:{name}`")
    } else {
        chain(error)
    }
}

/// A link taken out of aya's keeping (a `TracePointLink` or `PerfEventLink`): dropping it
/// detaches the probe.
type OwnedLink = Box<dyn Send>;

/// Takes the link out of its program, so it can be dropped on another thread.
fn take_link(session: &mut Session, attached: AttachedLink) -> Result<OwnedLink, AttachError> {
    let (program, result) = match attached {
        AttachedLink::TracePoint { program, link } => {
            let spec = &session.manifest.programs[program];
            let result = program_mut::<TracePoint>(&mut session.ebpf, spec)
                .and_then(|tracepoint| tracepoint.take_link(link).map_err(|error| chain(&error)))
                .map(|link: TracePointLink| Box::new(link) as OwnedLink);
            (program, result)
        }
        AttachedLink::PerfEvent { program, link } => {
            let spec = &session.manifest.programs[program];
            let result = program_mut::<PerfEvent>(&mut session.ebpf, spec)
                .and_then(|perf_event| perf_event.take_link(link).map_err(|error| chain(&error)))
                .map(|link: PerfEventLink| Box::new(link) as OwnedLink);
            (program, result)
        }
    };
    result.map_err(|reason| AttachError::Probe {
        probe: session.manifest.programs[program].probe_name.clone(),
        reason: format!("detaching failed: {reason}"),
    })
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
