//! Running `begin`/`end` probes once with `BPF_PROG_TEST_RUN`, and attaching and detaching
//! every other probe through its provider's unit in `attach/`. A program dispatched by syscall
//! number gets its map filled and is linked to `raw_syscalls`; a watchpoint on a function's
//! argument is attached while the probes run, when its uprobe reports the address.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use ferrotrace_compiler::manifest::{Attach, ProgramSpec, SyscallDispatch};

use crate::attach::kprobe::{self as kprobes, KprobeLinks};
use crate::attach::uprobe as uprobes;
use crate::attach::watchpoint::{self, Refused, Watch};
use crate::attach::{attach_one, tracepoint};
use crate::error::AttachError;
use crate::session::Session;
use crate::sys;
use crate::tracefs::Tracefs;

impl Session {
    /// Runs the `begin` probes once each, in manifest order.
    pub fn run_begin(&mut self) -> Result<(), AttachError> {
        self.run_once(|_, attach| matches!(attach, Attach::Begin))
    }

    /// Runs the `begin` probes among the programs `wanted` chooses by index.
    pub fn run_begin_of(&mut self, wanted: impl Fn(usize) -> bool) -> Result<(), AttachError> {
        self.run_once(|index, attach| wanted(index) && matches!(attach, Attach::Begin))
    }

    /// Runs the `self:signal` probes waiting for `signal`, in manifest order.
    pub fn run_self_signal(&self, signal: u8) -> Result<(), AttachError> {
        for (index, spec) in self.manifest.programs.iter().enumerate() {
            if self.is_loaded(index) && spec.targets.iter().any(|target| target.attach == Attach::SelfSignal { signal }) {
                self.run_program(index)?;
            }
        }
        Ok(())
    }

    /// The signals `self:signal` probes wait for.
    pub fn self_signals(&self) -> Vec<u8> {
        let mut signals: Vec<u8> = self
            .manifest
            .programs
            .iter()
            .flat_map(|spec| &spec.targets)
            .filter_map(|target| match target.attach {
                Attach::SelfSignal { signal } => Some(signal),
                _ => None,
            })
            .collect();
        signals.sort_unstable();
        signals.dedup();
        signals
    }

    /// Runs the `end` probes once each, in manifest order.
    pub fn run_end(&mut self) -> Result<(), AttachError> {
        self.run_once(|_, attach| matches!(attach, Attach::End))
    }

    /// The number of probes, counted as bpftrace counts them in `Attached N probes` (see
    /// `probes_of`); an error when there are more than `max_probes`, before anything runs.
    pub fn probes_within(&self, max_probes: usize) -> Result<usize, AttachError> {
        let probes: usize = self.manifest.programs.iter().map(probes_of).sum();
        if probes > max_probes {
            return Err(too_many_probes(&self.manifest.programs, probes, max_probes));
        }
        Ok(probes)
    }

    /// How many probes program `index` stands for, as `probes_within` counts them.
    pub fn probe_count(&self, index: usize) -> usize {
        self.manifest.programs.get(index).map_or(0, probes_of)
    }

    /// Attaches every probe that is not `begin`/`end`.
    pub fn attach_all(&mut self) -> Result<(), AttachError> {
        self.attach_where(|_, _| true)
    }

    /// Attaches every loaded probe that is not `begin`/`end` whose program `wanted` chooses
    /// (by its index and spec). On an error, what this call attached is detached again.
    pub fn attach_where(&mut self, wanted: impl Fn(usize, &ProgramSpec) -> bool) -> Result<(), AttachError> {
        let manifest = std::sync::Arc::clone(&self.manifest);
        let chosen: Vec<usize> = (0..manifest.programs.len()).filter(|&index| self.is_loaded(index) && wanted(index, &manifest.programs[index])).collect();
        let needs_tracefs = chosen.iter().flat_map(|&index| &manifest.programs[index].targets).any(|target| matches!(target.attach, Attach::Tracepoint { .. }));
        if needs_tracefs {
            Tracefs::find_or_mount(true)?;
        }
        let attached = chosen.iter().try_for_each(|&index| self.attach_program(index, &manifest.programs[index]));
        if attached.is_err() {
            self.detach_programs(|index| chosen.contains(&index));
        }
        attached
    }

    /// Detaches the programs `which` chooses by index at once, and unloads them: their links
    /// and perf events are closed (from many threads) and their programs dropped.
    pub fn detach_programs(&mut self, which: impl Fn(usize) -> bool) {
        let (closing, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.links).into_iter().partition(|(index, _)| which(*index));
        self.links = kept;
        let (events, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.perf_events).into_iter().partition(|(index, _)| which(*index));
        self.perf_events = kept;
        release_in_parallel(closing.into_iter().chain(events).map(|(_, fd)| fd).collect());
        self.unload(which);
    }

    /// Attaches one loaded program at each of its targets.
    fn attach_program(&mut self, index: usize, spec: &ProgramSpec) -> Result<(), AttachError> {
        let Some(program) = self.programs.get(index).and_then(Option::as_ref).map(AsFd::as_fd) else { return Ok(()) };
        if let Some(dispatch) = &spec.dispatch {
            self.fill_dispatch_map(spec, dispatch)?;
            for attachment in &dispatch.attachments {
                let attached = tracepoint::attach_raw_syscalls(program, attachment)
                    .map_err(|reason| AttachError::Probe { probe: spec.probe_name.clone(), reason })?;
                self.links.push((index, attached.link));
                self.perf_events.extend(attached.perf_event.map(|event| (index, event)));
            }
            return Ok(());
        }
        if uprobes::multi(spec) {
            let link = uprobes::attach_multi(program, spec)
                .map_err(|reason| AttachError::Probe { probe: spec.probe_name.clone(), reason })?;
            self.links.push((index, link));
            return Ok(());
        }
        if kprobes::links(spec) == Some(KprobeLinks::Multi) {
            let link = kprobes::attach_multi(program, spec)
                .map_err(|reason| AttachError::Probe { probe: spec.probe_name.clone(), reason })?;
            self.links.push((index, link));
            return Ok(());
        }
        for target in &spec.targets {
            if self.interruptible && crate::signals::stop_requested() {
                return Err(AttachError::Interrupted);
            }
            if matches!(target.attach, Attach::Iter { .. }) {
                self.iterator_link = Some(self.links.len());
            }
            let attached = attach_one(program, spec, target)?;
            match target.attach {
                Attach::Watchpoint { address: Some(address), .. } => self.watchpoints.extend(attached.into_iter().map(|a| (address, a))),
                _ => {
                    for attached in attached {
                        self.links.push((index, attached.link));
                        self.perf_events.extend(attached.perf_event.map(|event| (index, event)));
                    }
                }
            }
        }
        Ok(())
    }

    /// The script's iterator, once attached: its link, its probe's name, and where to pin it
    /// instead of reading it.
    pub fn iterator(&self) -> Option<(BorrowedFd<'_>, &str, Option<&str>)> {
        let (_, link) = self.links.get(self.iterator_link?)?;
        self.manifest.programs.iter().flat_map(|spec| spec.targets.iter().map(move |target| (spec, target))).find_map(|(spec, target)| match &target.attach {
            Attach::Iter { pin, .. } => Some((link.as_fd(), spec.probe_name.as_str(), pin.as_deref())),
            _ => None,
        })
    }

    /// Detaches every program `attach_all` (or `watch`) attached by closing the links, from
    /// many threads: each close waits for an RCU grace period, and in parallel those waits
    /// overlap. The perf events themselves stay open until `release_perf_events`, so the output
    /// comes first.
    pub fn detach_all(&mut self) -> Result<(), AttachError> {
        self.detached = true;
        let watchpoints = std::mem::take(&mut self.watchpoints).into_iter().map(|(_, attached)| attached);
        let (links, perf_events): (Vec<_>, Vec<_>) = watchpoints.map(|attached| (attached.link, attached.perf_event)).unzip();
        self.perf_events.extend(perf_events.into_iter().flatten().map(|event| (usize::MAX, event)));
        release_in_parallel(std::mem::take(&mut self.links).into_iter().map(|(_, link)| link).chain(links).collect());
        Ok(())
    }

    /// Attaches the program of watchpoint probe `probe_id` (a `watchpoint:function+argN`) at
    /// `address`, which its uprobe reported; nothing once the probes are detached.
    pub(crate) fn watch(&mut self, probe_id: u32, address: u64) -> Result<(), Refused> {
        let Some((index, watch)) = self.deferred_watchpoint(probe_id, address).filter(|_| !self.detached) else { return Ok(()) };
        let Some(program) = self.program_fd(index) else { return Ok(()) };
        let attached = watchpoint::attach(program, watch, u64::from(probe_id))?;
        self.watchpoints.extend(attached.into_iter().map(|attached| (address, attached)));
        Ok(())
    }

    /// Detaches every watchpoint on `address` (`unwatch`); none is no error.
    pub(crate) fn unwatch(&mut self, address: u64) {
        self.watchpoints.retain(|(watched, _)| *watched != address);
    }

    /// The processes a uprobe of a watchpoint on a function's argument stops (`SIGSTOP`) until
    /// the runtime continues them.
    fn stopped_by_watchpoints(&self) -> Vec<u32> {
        let targets = self.manifest.programs.iter().flat_map(|spec| &spec.targets);
        let mut pids: Vec<u32> = targets
            .filter_map(|target| match target.attach {
                Attach::Watchpoint { address: None, asynchronous: false, pid, .. } => pid,
                _ => None,
            })
            .collect();
        pids.dedup();
        pids
    }

    /// The process watchpoint probe `probe_id` watches.
    pub(crate) fn watched_process(&self, probe_id: u32) -> Option<u32> {
        self.deferred_watchpoint(probe_id, 0).and_then(|(_, watch)| watch.pid)
    }

    /// The program of watchpoint probe `probe_id`, attached only when its address is known,
    /// and what it watches at `address`.
    fn deferred_watchpoint(&self, probe_id: u32, address: u64) -> Option<(usize, Watch)> {
        self.manifest.programs.iter().enumerate().find_map(|(index, spec)| {
            spec.targets.iter().find_map(|target| match target.attach {
                Attach::Watchpoint { address: None, length, mode, pid, .. } if target.probe_id == probe_id => {
                    Some((index, Watch { address, length, mode, pid }))
                }
                _ => None,
            })
        })
    }

    /// Closes the perf events `detach_all` left open. The kernel waits out an RCU grace period,
    /// under a kernel-wide mutex, as each tracepoint's last perf event closes (tens of
    /// milliseconds each, so seconds for a wide wildcard): this runs after the output is
    /// printed, from many threads so that the rest of each teardown overlaps.
    pub fn release_perf_events(&mut self) {
        release_in_parallel(std::mem::take(&mut self.perf_events).into_iter().map(|(_, event)| event).collect());
    }

    /// Writes each target's probe id (plus one) at its key of a dispatched program's map.
    fn fill_dispatch_map(&self, spec: &ProgramSpec, dispatch: &SyscallDispatch) -> Result<(), AttachError> {
        self.kernel_map(dispatch.map, |map| {
            spec.targets.iter().zip(&dispatch.keys).try_for_each(|(target, key)| {
                map.update(&key.to_ne_bytes(), &(target.probe_id + 1).to_ne_bytes())
            })
        })
        .map_err(|error| AttachError::Probe { probe: spec.probe_name.clone(), reason: error.to_string() })
    }

    /// Runs program `index` once with `BPF_PROG_TEST_RUN`; returns what it returned.
    pub fn run_program(&self, index: usize) -> Result<u32, AttachError> {
        let spec = &self.manifest.programs[index];
        let failed = |reason: String| AttachError::Run { probe: spec.probe_name.clone(), reason };
        let program = self.program_fd(index).ok_or_else(|| failed("its program is not loaded".to_string()))?;
        sys::prog_test_run(program).map_err(|error| failed(error.to_string()))
    }

    fn run_once(&mut self, wanted: impl Fn(usize, &Attach) -> bool) -> Result<(), AttachError> {
        for (index, spec) in self.manifest.programs.iter().enumerate() {
            let Some(program) = self.program_fd(index) else { continue };
            if spec.targets.iter().any(|target| wanted(index, &target.attach)) {
                sys::prog_test_run(program).map(drop).map_err(|error| AttachError::Run { probe: spec.probe_name.clone(), reason: error.to_string() })?;
            }
        }
        Ok(())
    }
}

impl Drop for Session {
    /// Detaches what is still attached, then continues every process a watchpoint's uprobe
    /// may have stopped after its last record was read: its run ending, nothing else would.
    fn drop(&mut self) {
        self.watchpoints.clear();
        release_in_parallel(std::mem::take(&mut self.links).into_iter().map(|(_, link)| link).collect());
        for pid in self.stopped_by_watchpoints() {
            let _ = sys::continue_process(pid);
        }
    }
}

/// How many probes `Attached N probes` counts for a program, as bpftrace counts them: each
/// target (a `begin`, a tracepoint, a profile probe on every CPU, a kprobe), except that the
/// functions one kprobe_multi or uprobe_multi link attaches count once per attach point as
/// written, and that a watchpoint on a function's argument counts as its uprobe alone.
pub fn probes_of(spec: &ProgramSpec) -> usize {
    match kprobes::links(spec) {
        Some(KprobeLinks::Multi) => spec.attach_points as usize,
        _ if uprobes::multi(spec) => spec.attach_points as usize,
        _ => spec.targets.iter().filter(|target| !matches!(target.attach, Attach::Watchpoint { address: None, .. })).count(),
    }
}

/// The error for more probes than the limit; where the kernel has no kprobe_multi links, it
/// names the kprobe wildcards that such a link would have made one probe each.
fn too_many_probes(programs: &[ProgramSpec], count: usize, limit: usize) -> AttachError {
    let one_by_one: Vec<String> = programs
        .iter()
        .filter(|spec| kprobes::one_by_one_for_want_of_multi(spec))
        .map(|spec| format!("`{}` ({} kprobes)", spec.probe_name, spec.targets.len()))
        .collect();
    AttachError::TooManyProbes { count, limit, one_by_one: (!one_by_one.is_empty()).then(|| one_by_one.join(", ")) }
}

/// Most perf events released at once; each releasing thread needs only a small stack.
const RELEASE_THREADS: usize = 512;
const RELEASE_STACK_BYTES: usize = 64 * 1024;

/// Closes every fd, spread over up to `RELEASE_THREADS` threads. A thread that cannot be
/// started leaves its share to this one.
fn release_in_parallel(fds: Vec<OwnedFd>) {
    if fds.len() <= 1 {
        return drop(fds);
    }
    let per_thread = fds.len().div_ceil(RELEASE_THREADS);
    let mut shares: Vec<Vec<OwnedFd>> = Vec::new();
    let mut fds = fds.into_iter().peekable();
    while fds.peek().is_some() {
        shares.push(fds.by_ref().take(per_thread).collect());
    }
    std::thread::scope(|scope| {
        for share in shares {
            let builder = std::thread::Builder::new().name("detach".into()).stack_size(RELEASE_STACK_BYTES);
            // On failure the closure, and the share it owns, is dropped here: released inline.
            let _ = builder.spawn_scoped(scope, move || drop(share));
        }
    });
}
