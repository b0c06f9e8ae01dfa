//! A script's life from load to exit: run `begin`, attach, stream the ring buffer until
//! `exit()` or a signal (or run the iterator once), detach, run `end`, print the maps, close
//! the perf events, return the exit status.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use ferrotrace_compiler::manifest::{Action, KeyStorage, Manifest, MapId, MapRole, Stream, UserMap, RECORD_HEADER_SIZE};

use crate::entry::RawEntry;
use thiserror::Error;

use crate::attach::iter::{self, Iteration};
use crate::attach::uprobe::counts_semaphores;
use crate::attach::watchpoint::Refused;
use crate::error::{AttachError, LoadError};
use crate::events::{EventSource, EventsError};
use crate::maps::MapError;
use crate::output::{self, Format, Level, OutputError, Printer};
use crate::script_state::ScriptState;
use crate::session::Session;
use crate::signals;
use crate::target::TracedProcess;

/// How long one wait on the ring buffer lasts before the stop flag is checked again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// No `Attached N probes` line.
    pub quiet: bool,
    /// Load and attach, then stop without running anything.
    pub dry_run: bool,
    /// Ask the kernel for its verifier log.
    pub verifier_log: bool,
    /// Text or JSON lines.
    pub format: Format,
    /// `--no-warnings`: ferrotrace's own `WARNING:` lines are left out.
    pub no_warnings: bool,
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error("cannot read a map: {0}")]
    Map(#[from] MapError),
    #[error(transparent)]
    Events(#[from] EventsError),
    #[error("cannot format output: {0}")]
    Output(#[from] OutputError),
    #[error("cannot write output: {0}")]
    Io(#[from] io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(io::Error),
    #[error("cannot start the command: {0}")]
    Target(io::Error),
    #[error("cannot continue process {pid}, stopped while its watchpoint was attached: {source}")]
    Resume { pid: u32, source: io::Error },
}

/// Runs a compiled script, writing its output to `out` and lifecycle messages to `err`. With a
/// `target` (`-p`, `-c`), a command `-c` started is let run once the probes are attached, and
/// the run ends when the process does. Returns the exit status: the code given to `exit()`,
/// or 0.
pub fn run(
    elf: &[u8],
    manifest: &Manifest,
    options: RunOptions,
    mut target: Option<&mut TracedProcess>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, RunError> {
    signals::install().map_err(RunError::Signals)?;
    crate::output::set_truncation_trailer(&manifest.settings.str_trunc_trailer);
    crate::output::stacks::set_demangling(manifest.settings.cpp_demangle);
    crate::output::set_string_read_size(manifest.settings.max_strlen);
    let mut session = Session::load(elf, manifest, options.verifier_log)?;
    let probes = session.probes_within(manifest.settings.max_probes as usize)?;
    session.write_config(crate::sys::monotonic_ns())?;
    let mut events = session.events()?;
    output::stacks::install(Box::new(output::stacks::KernelStackMaps(session.stack_maps()?)));
    let mut runner = Runner::new(session.shared_manifest(), output::printer(options.format, out, err));
    runner.warnings = !options.no_warnings;
    if options.dry_run {
        session.attach_all()?;
        if !options.quiet {
            runner.printer.attached(probes)?;
        }
        session.detach_all()?;
        session.release_perf_events();
        return Ok(0);
    }
    for signal in session.self_signals() {
        signals::count(signal).map_err(RunError::Signals)?;
    }
    let following = follow_processes(manifest, events.as_mut())?;
    session.run_begin()?;
    attach(&mut session, target.as_deref_mut())?;
    if !options.quiet {
        runner.printer.attached(probes)?;
    }
    if let Some(target) = target.as_deref_mut() {
        target.start().map_err(RunError::Target)?;
    }
    runner.drain(&mut session, &mut events)?;
    if session.iterator().is_some() {
        runner.iterate(&session)?;
    } else if runner.exit_code.is_none() && (has_event_probes(manifest) || target.is_some()) {
        runner.stream(&mut session, &mut events, target.as_deref())?;
    }
    session.detach_all()?;
    runner.drain(&mut session, &mut events)?;
    session.run_end()?;
    runner.drain(&mut session, &mut events)?;
    drop(following);
    if let Some(events) = events.as_mut() {
        events.stop_waking_on_others();
    }
    runner.print_all_maps(&session)?;
    runner.report_total_lost()?;
    session.release_perf_events();
    Ok(runner.exit_code.unwrap_or(0))
}

/// When the probes announce processes whose user addresses they take (`ustack`, `usym`),
/// follows what every process maps until the returned guard is dropped, so that one that exits
/// before it is printed still has its addresses named (`symbolize`). Where the kernel refuses
/// that, the mappings of an announced process are read from `/proc` alone, and one that exits
/// at once may print addresses.
pub fn follow_processes(manifest: &Manifest, events: Option<&mut EventSource>) -> Result<Option<Following>, RunError> {
    let announces = manifest.maps.iter().any(|map| map.role == MapRole::Processes);
    let (true, Some(events)) = (announces, events) else { return Ok(None) };
    let Ok(followed) = crate::symbolize::track_processes() else { return Ok(None) };
    let following = Following;
    for event in followed {
        events.wake_on(event)?;
    }
    Ok(Some(following))
}

/// Processes are followed until this is dropped, on every way out of a run.
pub struct Following;

impl Drop for Following {
    fn drop(&mut self) {
        crate::symbolize::stop_tracking();
    }
}

/// Attaches every probe. A command `-c` started and not yet let run is first run to its entry
/// point when a probe counts a USDT semaphore, and that probe attached there (see
/// `counts_semaphores`).
fn attach(session: &mut Session, target: Option<&mut TracedProcess>) -> Result<(), RunError> {
    let held = target.filter(|target| target.waiting() && session.manifest().programs.iter().any(counts_semaphores));
    let Some(target) = held else { return Ok(session.attach_all()?) };
    session.attach_where(|_, spec| !counts_semaphores(spec))?;
    target.run_to_entry().map_err(RunError::Target)?;
    Ok(session.attach_where(|_, spec| counts_semaphores(spec))?)
}

/// Whether anything but `begin`/`end` runs (a probe that attaches, or one waiting for a
/// signal): otherwise the script ends after `begin`.
fn has_event_probes(manifest: &Manifest) -> bool {
    manifest.programs.iter().flat_map(|p| &p.targets).any(|t| !t.attach.runs_once() || matches!(t.attach, ferrotrace_compiler::manifest::Attach::SelfSignal { .. }))
}

/// Acts on ring buffer records while the probes run.
pub struct Runner<'o> {
    /// What the records' action ids index: the session's manifest (the newest, in the REPL).
    manifest: Arc<Manifest>,
    /// Where the output goes, as text or JSON.
    pub(crate) printer: Box<dyn Printer + 'o>,
    /// Lost records already reported.
    lost_reported: u64,
    /// Set by an `exit()` record.
    pub(crate) exit_code: Option<i32>,
    /// Maps `clear()`ed since they were last written are not printed at exit.
    cleared: HashSet<MapId>,
    /// Maps found full and reported.
    full_reported: HashSet<MapId>,
    /// `errorf` records seen.
    pub(crate) errors: u32,
    /// The addresses each watchpoint probe on a function's argument was attached at.
    watched: HashSet<(u32, u64)>,
    /// ferrotrace's own `WARNING:` lines are printed (no `--no-warnings`).
    warnings: bool,
}

impl<'o> Runner<'o> {
    pub fn new(manifest: Arc<Manifest>, printer: Box<dyn Printer + 'o>) -> Runner<'o> {
        Runner {
            manifest,
            printer,
            exit_code: None,
            cleared: HashSet::new(),
            full_reported: HashSet::new(),
            lost_reported: 0,
            errors: 0,
            warnings: true,
            watched: HashSet::new(),
        }
    }
}

impl Runner<'_> {
    /// Decodes later records with `manifest`, a session's after it grew (`Session::extend`).
    pub fn set_manifest(&mut self, manifest: Arc<Manifest>) {
        self.manifest = manifest;
    }

    /// Says the probes are attached: `Attached N probes`, or its JSON line.
    pub fn attached(&mut self, probes: usize) -> io::Result<()> {
        self.printer.attached(probes)
    }

    /// Leaves ferrotrace's own `WARNING:` lines out (`--no-warnings`) or in.
    pub fn set_warnings(&mut self, on: bool) {
        self.warnings = on;
    }

    /// A ferrotrace notice on stderr (text), or its JSON line.
    pub fn notice(&mut self, text: &str) -> io::Result<()> {
        self.printer.notice(text)
    }

    /// The code an `exit()` record gave, once one came.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// At the end of a run: the records lost over the whole run, if any were.
    pub fn report_total_lost(&mut self) -> Result<(), RunError> {
        if self.lost_reported > 0 {
            self.warn(&format!("Total lost event count: {}", self.lost_reported))?;
        }
        Ok(self.printer.flush()?)
    }

    /// Handles the records `source` has, waiting up to `timeout` for the first; then names
    /// what processes did meanwhile, flushes the output and reports lost records.
    pub fn poll(&mut self, session: &mut Session, source: &mut EventSource, timeout: Duration) -> Result<(), RunError> {
        let mut failure = None;
        source.poll(timeout, &mut |record| {
            if failure.is_none() {
                failure = self.handle(session, record).err();
            }
        })?;
        if let Some(error) = failure {
            return Err(error);
        }
        crate::symbolize::catch_up();
        self.printer.flush()?;
        self.report_lost(session)
    }

    /// Streams records until `exit()`, SIGINT/SIGTERM, or the end of the `target` process.
    fn stream(&mut self, session: &mut Session, events: &mut Option<EventSource>, target: Option<&TracedProcess>) -> Result<(), RunError> {
        while self.exit_code.is_none() && !signals::stop_requested() && !target.is_some_and(TracedProcess::exited) {
            match events {
                Some(source) => self.poll(session, source, POLL_INTERVAL)?,
                None => std::thread::sleep(POLL_INTERVAL),
            }
            for signal in signals::take_received() {
                session.run_self_signal(signal)?;
                self.drain(session, events)?;
            }
        }
        Ok(())
    }

    /// Runs the script's iterator once, writing what its programs print, or pins it; then the
    /// script ends as after `exit()`.
    fn iterate(&mut self, session: &Session) -> Result<(), RunError> {
        let Some((link, probe, pin)) = session.iterator() else { return Ok(()) };
        let failed = |reason| RunError::Attach(AttachError::Probe { probe: probe.to_string(), reason });
        match pin {
            Some(path) => {
                iter::run(link, Iteration::Pin(path)).map_err(failed)?;
                self.printer.pinned(path)?;
            }
            None => {
                let printer = &mut self.printer;
                iter::run(link, Iteration::Read(&mut |chunk| printer.iterator_output(chunk))).map_err(failed)?;
            }
        }
        self.printer.flush()?;
        Ok(())
    }

    /// Handles every record already in the ring buffer.
    pub fn drain(&mut self, session: &mut Session, events: &mut Option<EventSource>) -> Result<(), RunError> {
        match events {
            Some(source) => self.drain_source(session, source),
            None => Ok(()),
        }
    }

    /// Handles every record already in `source`.
    pub fn drain_source(&mut self, session: &mut Session, source: &mut EventSource) -> Result<(), RunError> {
        let mut failure = None;
        source.drain(&mut |record| {
            if failure.is_none() {
                failure = self.handle(session, record).err();
            }
        });
        self.printer.flush()?;
        failure.map_or(Ok(()), Err)?;
        self.report_lost(session)
    }

    /// Reports records lost since the last report as `Lost N events`.
    pub fn report_lost(&mut self, state: &dyn ScriptState) -> Result<(), RunError> {
        let lost = state.lost_records()?;
        if lost > self.lost_reported {
            self.printer.lost(lost - self.lost_reported)?;
            self.lost_reported = lost;
        }
        Ok(())
    }

    /// Acts on one ring buffer record: prints it, or changes the maps or probes it names.
    pub fn handle(&mut self, state: &mut dyn ScriptState, record: &[u8]) -> Result<(), RunError> {
        let header = RECORD_HEADER_SIZE as usize;
        let Some(id) = record.get(..header).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))) else {
            return Ok(());
        };
        let Some(action) = self.manifest.actions.get(id as usize) else { return Ok(()) };
        let args = &record[header..];
        let names = &self.manifest.probe_names;
        match action {
            Action::Printf { format, args: types, stream } => {
                let text = output::render_printf(format, types, args, names)?;
                match stream {
                    Stream::Stdout => self.printer.printf(&text)?,
                    Stream::Command => self.printer.command_output(&crate::output::command_output(&text))?,
                    Stream::File => {
                        let limit = self.manifest.settings.max_cat_bytes as usize;
                        match crate::output::file_contents(&text, limit) {
                            Ok(contents) => self.printer.file_contents(&contents)?,
                            Err(error) => self.printer.notice(&format!("ERROR: cat: cannot read `{}`: {error}", String::from_utf8_lossy(&text)))?,
                        }
                    }
                    Stream::Error(span) | Stream::Warning(span) => {
                        let level = if matches!(stream, Stream::Error(_)) { Level::Error } else { Level::Warning };
                        self.errors += u32::from(level == Level::Error);
                        self.printer.message(level, &self.manifest.locate(*span), &String::from_utf8_lossy(&text))?;
                    }
                }
            }
            Action::PrintValue { ty } => self.printer.value(&output::decode_value(ty, args, names)?)?,
            Action::PrintMap { map, top, div } => self.print_map(state, *map, *top, *div)?,
            Action::Clear { map } => {
                state.clear_map(*map)?;
                self.cleared.insert(*map);
            }
            Action::Zero { map } => state.zero_map(*map)?,
            Action::Time { format } => self.printer.time(&crate::output::wall_clock(format))?,
            Action::Join { separator, strings, size } => {
                self.printer.joined(&crate::output::joined(args, separator, *strings, *size))?;
            }
            Action::HelperError { helper, span } => {
                let failure = output::HelperFailure { helper: *helper, retcode: first_i64(args) };
                self.printer.helper_error(&failure, &self.manifest.locate(*span))?;
            }
            Action::Process => crate::symbolize::remember_process(first_i64(args) as u32),
            Action::Watch { probe_id, resume } => {
                if let Some(session) = state.live_session() {
                    self.watch(session, *probe_id, first_i64(args) as u64, *resume)?;
                }
            }
            Action::Unwatch => {
                if let Some(session) = state.live_session() {
                    session.unwatch(first_i64(args) as u64);
                }
            }
            Action::Exit => {
                if self.exit_code.is_none() {
                    self.exit_code = Some(first_i64(args) as i32);
                }
            }
        }
        Ok(())
    }

    /// A watchpoint's uprobe reported `address`: attaches the watchpoint there unless this
    /// probe watches it already, then continues the process the uprobe stopped, attached or
    /// not. Out of debug registers, the run goes on without it, as bpftrace's does.
    fn watch(&mut self, session: &mut Session, probe_id: u32, address: u64, resume: bool) -> Result<(), RunError> {
        let attached = match self.watched.insert((probe_id, address)) {
            true => session.watch(probe_id, address),
            false => Ok(()),
        };
        if let Some(pid) = session.watched_process(probe_id).filter(|_| resume) {
            match crate::sys::continue_process(pid) {
                Err(error) if error.raw_os_error() != Some(libc::ESRCH) => return Err(RunError::Resume { pid, source: error }),
                _ => {}
            }
        }
        match attached {
            Ok(()) => Ok(()),
            Err(Refused::OutOfRegisters(_)) => Ok(self.printer.notice("Failed to attach watchpoint probe. You are out of watchpoint registers.")?),
            Err(Refused::Other(reason)) => {
                let probe = self.manifest.probe_names.get(probe_id as usize).cloned().unwrap_or_default();
                Err(AttachError::Probe { probe, reason }.into())
            }
        }
    }

    /// `WARNING: text` on stderr, unless `--no-warnings` said otherwise.
    fn warn(&mut self, text: &str) -> io::Result<()> {
        if self.warnings {
            self.printer.notice(&format!("WARNING: {text}"))?;
        }
        Ok(())
    }

    pub fn print_map(&mut self, state: &dyn ScriptState, id: MapId, top: u64, div: u64) -> Result<(), RunError> {
        let manifest = Arc::clone(&self.manifest);
        let Some(user) = manifest.user_maps().find(|(map_id, _, _)| *map_id == id).map(|(_, _, u)| u) else {
            return Ok(());
        };
        let entries = state.map_entries(id)?;
        self.warn_if_full(id, &user.name, entries.len())?;
        self.print_entries_of(user, &entries, top, div)
    }

    /// Prints `entries` as map `user`'s (`:watch` prints differences of two readings).
    pub fn print_entries(&mut self, user: &UserMap, entries: &[RawEntry]) -> Result<(), RunError> {
        self.print_entries_of(user, entries, 0, 0)
    }

    fn print_entries_of(&mut self, user: &UserMap, entries: &[RawEntry], top: u64, div: u64) -> Result<(), RunError> {
        if let Some(dump) = output::dump_map(user, entries, top, div, &self.manifest.probe_names)? {
            self.printer.map(&dump)?;
        }
        Ok(())
    }

    /// Warns, once per map, when a map that refuses new keys once full has as many entries as
    /// it can hold: inserts of new keys were (or will be) dropped. Noticed where the map is read,
    /// so the probes pay nothing for it.
    fn warn_if_full(&mut self, id: MapId, name: &str, entries: usize) -> Result<(), RunError> {
        let def = self.manifest.map(id).def;
        let user_entries = match self.manifest.map(id).role {
            MapRole::User(ref user) if user.storage == KeyStorage::PackedWithBucket => return Ok(()),
            _ => entries,
        };
        if !def.map_type.refuses_when_full() || user_entries < def.max_entries as usize || !self.full_reported.insert(id) {
            return Ok(());
        }
        let kind = if def.map_type.is_percpu() { "percpuhash" } else { "hash" };
        self.warn(&format!(
            "map {name} is full ({} entries): keys added after it filled were dropped. Raise max_map_keys or declare the map bigger, e.g. `let {name} = {kind}({});`",
            def.max_entries,
            u64::from(def.max_entries) * 2
        ))?;
        Ok(())
    }

    /// The end-of-run dump: two newlines, then every map by name; nothing when the script's
    /// `print_maps_on_exit` is false.
    pub fn print_all_maps(&mut self, state: &dyn ScriptState) -> Result<(), RunError> {
        if !self.manifest.settings.print_maps_on_exit {
            self.printer.flush()?;
            return Ok(());
        }
        let manifest = Arc::clone(&self.manifest);
        let mut maps: Vec<(MapId, &str)> = manifest
            .user_maps()
            .filter(|(id, _, _)| !self.cleared.contains(id))
            .map(|(id, _, user)| (id, user.name.as_str()))
            .collect();
        maps.sort_by(|a, b| a.1.cmp(b.1));
        self.printer.maps_at_exit()?;
        for (id, _) in maps {
            self.print_map(state, id, 0, 0)?;
        }
        self.printer.flush()?;
        Ok(())
    }
}

/// A record's first argument as the `i64` it is (0 if the record is short).
fn first_i64(args: &[u8]) -> i64 {
    args.get(..8).map_or(0, |b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}
