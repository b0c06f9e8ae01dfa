//! The interactive console (`ferrotrace` on a terminal, `ferrotrace -i [FILE]`): probe blocks
//! typed at the prompt are compiled and attached while earlier ones keep running, statements run
//! once, maps are read at any moment, and the session can be saved as a script.
//!
//! A thin layer over the runtime's `Session`, the same owner of programs, maps and the ring
//! buffer a script run has: every input is compiled as the session's whole script with the
//! input after it (`book`), and the session is extended with the new programs alone
//! (`Session::extend`). The line editor (or a reader of stdin) runs on its own thread and hands
//! complete inputs over; this thread waits on the ring buffer and on those inputs together.

mod book;
mod commands;
mod complete;
mod highlight;
mod input;
mod kernel_types;
mod lines;
mod screen;
mod terminal;

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use ferrotrace_compiler::diagnostic::Diagnostic;
use ferrotrace_compiler::driver::{compile_with, Compiled, Keep};
use ferrotrace_compiler::manifest::Manifest;
use ferrotrace_compiler::options::CompileOptions;
use ferrotrace_compiler::render::render_files;
use ferrotrace_compiler::sources::SourceMap;
use ferrotrace_compiler::span::Span;
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::events::EventSource;
use ferrotrace_runtime::output::{self, Format};
use ferrotrace_runtime::probes::probes_of;
use ferrotrace_runtime::run::{follow_processes, Following, RunError, Runner};
use ferrotrace_runtime::tracefs::Tracefs;
use ferrotrace_runtime::{signals, LoadError, Session};

use book::{Book, Draft, Kind, State};
use complete::Known;
use lines::Line;
use screen::Screen;

/// How long the console waits on the ring buffer before it looks at its inputs again (an
/// input wakes the wait at once).
const WAIT: Duration = Duration::from_millis(200);

/// What the console starts with.
pub struct Start {
    pub options: CompileOptions,
    pub format: Format,
    /// The text of a script whose items are the session's first input (`-i FILE`).
    pub file: Option<String>,
}

/// Runs the console until Ctrl-D, `:quit`, `exit()` or SIGTERM; returns the exit status.
pub fn run(start: Start) -> Result<u8> {
    signals::install()?;
    let tracefs = Tracefs::find_or_mount(true)?;
    let catalog = KernelCatalog::new(tracefs);
    let mut events = EventSource::without_ring()?;
    let waker = events.waker()?;
    let known = Arc::new(Mutex::new(Known::default()));
    let color = std::env::var_os("NO_COLOR").is_none();
    let terminal = io::stdin().is_terminal() && io::stdout().is_terminal();
    let (inputs, screen) = if terminal {
        let (inputs, printer) = terminal::start(Arc::clone(&known), waker, color)?;
        (inputs, Screen::terminal(printer)?)
    } else {
        (lines::from_stdin(waker), Screen::streams())
    };
    let (mut out, mut err) = (screen.clone(), screen.messages());
    let runner = Runner::new(Arc::new(Manifest::default()), output::printer(start.format, &mut out, &mut err));
    let mut console = Console {
        catalog,
        options: start.options,
        book: Book::default(),
        session: None,
        events,
        runner,
        screen: screen.clone(),
        messages: screen.messages(),
        known,
        following: None,
        start_ns: ferrotrace_runtime::sys::monotonic_ns(),
        _run_time_stats: ferrotrace_runtime::sys::enable_run_time_stats().ok(),
        rejection: None,
        color: color && terminal,
        quit: false,
    };
    if let Some(text) = start.file {
        console.load_text(&text)?;
    }
    let served = console.serve(&inputs);
    let finished = served.and_then(|()| console.finish());
    screen.close();
    finished
}

/// The console's state: the session and everything that decodes and shows what it does.
pub struct Console<'o> {
    catalog: KernelCatalog,
    options: CompileOptions,
    book: Book,
    /// `None` until the first input reaches the kernel.
    session: Option<Session>,
    events: EventSource,
    runner: Runner<'o>,
    /// Command results (stdout without a terminal).
    screen: Screen,
    /// Diagnostics and the console's own lines (stderr without a terminal).
    messages: Screen,
    /// What completion offers, kept current here.
    known: Arc<Mutex<Known>>,
    /// Processes followed while a block takes user stacks.
    following: Option<Following>,
    /// When the session started: `elapsed` counts from it.
    start_ns: u64,
    /// The kernel counts each program's runs and run time while this is open (`:probes`).
    _run_time_stats: Option<std::os::fd::OwnedFd>,
    /// The verifier's log of the last block it refused, and that block's would-be id (`:why`).
    rejection: Option<(u32, String)>,
    /// Diagnostics in color.
    color: bool,
    /// Set by `:quit`.
    quit: bool,
}

impl Console<'_> {
    /// Acts on inputs and ring buffer records until the session ends.
    fn serve(&mut self, inputs: &lines::Inputs) -> Result<()> {
        loop {
            self.wait_for_records(WAIT)?;
            while let Some(line) = inputs.next() {
                match line {
                    Line::Input(text) => self.execute(&text)?,
                    Line::End => return Ok(()),
                }
                if self.ended() {
                    return Ok(());
                }
            }
            if self.ended() {
                return Ok(());
            }
            if signals::stop_requested() {
                if !self.screen.is_terminal() {
                    return Ok(());
                }
                signals::reset();
            }
        }
    }

    /// Whether the session is over: `:quit`, a probe's `exit()`, SIGTERM.
    fn ended(&self) -> bool {
        self.quit || self.runner.exit_code().is_some() || signals::terminated()
    }

    /// Handles the records the ring buffer has, waiting up to `timeout` for the first.
    fn wait_for_records(&mut self, timeout: Duration) -> Result<()> {
        match self.session.as_mut() {
            Some(session) => self.runner.poll(session, &mut self.events, timeout)?,
            None => {
                self.events.poll(timeout, &mut |_| {})?;
            }
        }
        Ok(())
    }

    /// Runs one complete input.
    fn execute(&mut self, text: &str) -> Result<()> {
        match input::classify(text) {
            input::Input::Empty => Ok(()),
            input::Input::Command { name, args } => {
                let result = self.command(&name, &args);
                self.messages.flush()?;
                self.screen.flush()?;
                signals::reset();
                result
            }
            input::Input::Items(text) => self.add(&text, Kind::Items),
            input::Input::Statements(text) => self.add(&text, Kind::Statements),
            input::Input::Expression(text) => match self.live_map(&text) {
                Some(id) => self.print_live_map(id),
                None => self.add(&text, Kind::Expression),
            },
        }
    }

    /// The session's map that an expression names, bare (`@opens`, `@`).
    fn live_map(&self, text: &str) -> Option<ferrotrace_compiler::manifest::MapId> {
        let name = text.trim();
        let bare = name.starts_with('@') && name[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let session = self.session.as_ref().filter(|_| bare)?;
        session.manifest().user_maps().find(|(_, _, user)| user.name == name).map(|(id, _, _)| id)
    }

    /// Prints a map as it is now, read here rather than by a probe: no record has to find room
    /// in a ring buffer that busy probes may keep full.
    fn print_live_map(&mut self, id: ferrotrace_compiler::manifest::MapId) -> Result<()> {
        let session = self.session.as_ref().expect("the map is the session's");
        self.runner.print_map(session, id, 0, 0)?;
        self.screen.flush()?;
        Ok(())
    }

    /// `-i FILE` and `:load FILE`: the file's text as one input of items (its `#!` line a
    /// comment).
    fn load_text(&mut self, text: &str) -> Result<()> {
        let body = match text.strip_prefix("#!") {
            Some(rest) => format!("//{rest}"),
            None => text.to_string(),
        };
        self.add(&body, Kind::Items)
    }

    /// Compiles the session with `typed` after it and, when that works, loads and attaches
    /// (or runs) what `typed` added. Whatever goes wrong is reported and leaves the session
    /// as it was.
    fn add(&mut self, typed: &str, kind: Kind) -> Result<()> {
        let started = Instant::now();
        let draft = self.book.draft(typed, kind);
        let mut compiled = match compile_with(&draft.text, &self.catalog, &self.options, Keep::default()) {
            Ok(compiled) => compiled,
            Err(diagnostics) => return self.report(&diagnostics, &draft.files),
        };
        let in_draft = |span: &Span| draft.range.contains(&span.start);
        let warnings: Vec<Diagnostic> = compiled.warnings.iter().filter(|warning| warning.primary_span().is_some_and(|span| in_draft(&span))).cloned().collect();
        self.report(&warnings, &draft.files)?;
        name_files(&mut compiled.manifest, &draft.files);
        if let Some(clash) = self.changed_map(&compiled.manifest, &draft) {
            return self.report(&[clash], &draft.files);
        }
        let programs = draft.programs(&compiled.manifest);
        if let Some(refusal) = self.too_many_probes(&compiled.manifest, &programs) {
            writeln!(self.messages, "ERROR: {refusal}")?;
            return Ok(self.messages.flush()?);
        }
        if let Err(error) = self.load(&compiled, &programs) {
            return self.refused(error, &compiled, &draft);
        }
        let session = self.session.as_mut().expect("loaded");
        session.write_config(self.start_ns).map_err(RunError::from)?;
        self.runner.set_manifest(session.shared_manifest());
        output::stacks::install(Box::new(output::stacks::KernelStackMaps(session.stack_maps().map_err(RunError::from)?)));
        if !self.events.has_ring() {
            if let Some(ring) = session.ring_buffer()? {
                self.events.set_ring(ring)?;
            }
        }
        if self.following.is_none() {
            self.following = follow_processes(session.manifest(), Some(&mut self.events))?;
        }
        let ran = session.run_begin_of(|index| programs.contains(&index)).and_then(|()| session.attach_where(|index, _| programs.contains(&index)));
        if ran.is_err() {
            session.detach_programs(|index| programs.contains(&index));
        }
        signals::reset();
        self.runner.poll(session, &mut self.events, Duration::ZERO)?;
        let state = match (&ran, kind) {
            (Err(_), _) => State::Failed,
            (Ok(()), Kind::Items) => State::Live,
            (Ok(()), _) => State::Ran,
        };
        let probes: usize = programs.iter().map(|&index| session.probe_count(index)).sum();
        let entry = self.book.keep(draft, programs, state);
        let (id, names) = (entry.id, entry.probe_names(session.manifest()));
        match ran {
            Err(error) => writeln!(self.messages, "ERROR: [{id}] not attached: {error}")?,
            Ok(()) if kind != Kind::Items => {}
            Ok(()) if names.is_empty() => writeln!(self.messages, "[{id}] defined")?,
            Ok(()) => {
                let elapsed = started.elapsed().as_millis();
                writeln!(self.messages, "[{id}] attached {} ({probes} probe{}, {elapsed} ms)", names.join(", "), if probes == 1 { "" } else { "s" })?;
            }
        }
        self.messages.flush()?;
        self.refresh_known();
        Ok(())
    }

    /// Why attaching `programs` of `manifest` would pass the `max_probes` limit, counting the
    /// probes attached already, if it would.
    fn too_many_probes(&self, manifest: &Manifest, programs: &[usize]) -> Option<String> {
        let count = |indices: &mut dyn Iterator<Item = &usize>| indices.map(|&index| probes_of(&manifest.programs[index])).sum::<usize>();
        let live = self.book.entries().iter().filter(|entry| entry.state == State::Live).flat_map(|entry| &entry.programs);
        let (attached, adding) = (count(&mut live.into_iter()), count(&mut programs.iter()));
        let limit = manifest.settings.max_probes as usize;
        (attached + adding > limit).then(|| {
            format!("this block attaches {adding} probes, and with the {attached} attached already that is more than the {limit} BPFTRACE_MAX_PROBES allows (`config = {{ max_probes = N }}` raises it)")
        })
    }

    /// Loads the programs `programs` of `compiled`: a new session for the first input, the
    /// session extended for the others.
    fn load(&mut self, compiled: &Compiled, programs: &[usize]) -> Result<(), LoadError> {
        let wanted = |index: usize| programs.contains(&index);
        match self.session.as_mut() {
            Some(session) => session.extend(&compiled.elf, &compiled.manifest, wanted, false),
            None => {
                let settings = &compiled.manifest.settings;
                output::set_truncation_trailer(&settings.str_trunc_trailer);
                output::stacks::set_demangling(settings.cpp_demangle);
                output::set_string_read_size(settings.max_strlen);
                let mut session = Session::load_where(&compiled.elf, &compiled.manifest, wanted, false)?;
                session.interrupt_attaching();
                self.session = Some(session);
                Ok(())
            }
        }
    }

    /// Reports why the kernel refused the draft's programs.
    fn refused(&mut self, error: LoadError, compiled: &Compiled, draft: &Draft) -> Result<()> {
        let diagnostic = match error {
            LoadError::Verifier { program, insn, reason, log } => {
                self.rejection = Some((draft.id, log));
                crate::debug::verifier_diagnostic(compiled, program, insn, &reason).with_note("`:why` shows the verifier's log")
            }
            LoadError::ProgramChanged { probe } => Diagnostic::error("E0802", format!("this input would change the program of probe `{probe}`, which is running"))
                .with_primary(draft_span(draft), "compiled with this input")
                .with_help("`:detach` the block of that probe first"),
            LoadError::MapChanged { map, was, now } => Diagnostic::error("E0801", format!("map `{map}` would change while running probes use it: it is a {was}, and would be a {now}"))
                .with_primary(map_span(draft, &map), "changed here"),
            other => {
                writeln!(self.messages, "ERROR: {other}")?;
                return Ok(self.messages.flush()?);
            }
        };
        self.report(&[diagnostic], &draft.files)
    }

    /// A user map the draft gives another type than the one the session's maps have: the
    /// running probes keep writing the old layout, so that is refused.
    fn changed_map(&self, manifest: &Manifest, draft: &Draft) -> Option<Diagnostic> {
        let session = self.session.as_ref()?;
        for (_, spec, user) in manifest.user_maps() {
            let Some((_, old_spec, old)) = session.manifest().user_maps().find(|(_, _, old)| old.name == user.name) else { continue };
            if old_spec.def == spec.def && old == user {
                continue;
            }
            let describe = commands::describe_map;
            return Some(
                Diagnostic::error("E0801", format!("this input changes the type of `{}`, which the running probes use", user.name))
                    .with_primary(map_span(draft, &user.name), format!("would make it `{}`", describe(user)))
                    .with_note(format!("it is `{}` now; running probes keep writing that", describe(old)))
                    .with_help("give the new values a map of their own name"),
            );
        }
        None
    }

    /// Renders diagnostics, in color on a terminal.
    fn report(&mut self, diagnostics: &[Diagnostic], files: &SourceMap) -> Result<()> {
        if diagnostics.is_empty() {
            return Ok(());
        }
        self.messages.write_all(render_files(diagnostics, files, self.color).as_bytes())?;
        Ok(self.messages.flush()?)
    }

    /// What completion offers: the session's maps and the attached blocks.
    fn refresh_known(&self) {
        let maps = self.session.as_ref().map(|session| session.manifest().user_maps().map(|(_, _, user)| user.name.clone()).collect()).unwrap_or_default();
        let blocks = self.book.entries().iter().filter(|entry| entry.state == State::Live && !entry.programs.is_empty()).map(|entry| entry.id).collect();
        if let Ok(mut known) = self.known.lock() {
            *known = Known { maps, blocks };
        }
    }

    /// Ends the session as a script ends: detach, run the `end` probes, print the maps.
    fn finish(mut self) -> Result<u8> {
        let Some(mut session) = self.session.take() else { return Ok(0) };
        session.detach_all()?;
        self.runner.drain_source(&mut session, &mut self.events)?;
        session.run_end()?;
        self.runner.drain_source(&mut session, &mut self.events)?;
        drop(self.following.take());
        self.events.stop_waking_on_others();
        self.runner.print_all_maps(&session)?;
        self.runner.report_total_lost()?;
        session.release_perf_events();
        Ok(self.runner.exit_code().unwrap_or(0) as u8)
    }
}

/// Names the files of the session script in the manifest, for the places runtime messages
/// (`errorf`, `-k`) point at.
fn name_files(manifest: &mut Manifest, files: &SourceMap) {
    manifest.script_name = files.files.first().map(|file| file.name.clone()).unwrap_or_default();
    manifest.imported = files.files.iter().skip(1).map(|file| (file.start, file.name.clone())).collect();
}

/// The whole typed input of a draft.
fn draft_span(draft: &Draft) -> Span {
    Span::new(draft.range.start as usize, draft.range.end as usize)
}

/// Where the draft first names `map`, or the whole draft.
fn map_span(draft: &Draft, map: &str) -> Span {
    let typed = &draft.text[draft.range.start as usize..draft.range.end as usize];
    let found = typed.match_indices(map).find(|(at, _)| !typed[at + map.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
    match found {
        Some((at, _)) => Span::new(draft.range.start as usize + at, draft.range.start as usize + at + map.len()),
        None => draft_span(draft),
    }
}
