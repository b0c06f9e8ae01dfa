//! `ferrotrace replay EVENTS SCRIPT` (or `-e PROGRAM`): the script compiled as usual, then run
//! in user space over recorded or synthetic events, printing what the live run would have. No
//! privileges and no BPF are needed; the engine is `ferrotrace-replay`.

use std::io;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::diagnostic::Diagnostic;
use ferrotrace_compiler::driver::{compile_with, Keep};
use ferrotrace_compiler::options::{CompileOptions, Params};
use ferrotrace_compiler::sources::{self, SourceMap};
use ferrotrace_replay::catalog::ReplayCatalog;
use ferrotrace_replay::backend::Backend;
use ferrotrace_replay::replay::Replay;
use ferrotrace_replay::{recording, synthetic, Clocks, ReplayError};
use ferrotrace_compiler::catalog::TracepointFormat;
use std::collections::BTreeMap;
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::output::{self as printing, Format};
use ferrotrace_runtime::run::Runner;
use ferrotrace_runtime::tracefs::Tracefs;

use crate::cli::{Cli, OutputFormat};
use crate::output::Output;

/// The first word of the command line that makes it a replay.
pub const COMMAND: &str = "replay";

/// Runs `ferrotrace replay ...`: `args` are the words after `replay`.
pub fn command(cli: &Cli, args: &[String]) -> Result<u8> {
    let Some(events_path) = args.first() else {
        bail!("replay needs the events to replay: ferrotrace replay EVENTS.jsonl SCRIPT.bt (or -e 'PROGRAM')");
    };
    let (name, source, params) = match &cli.program {
        Some(program) => ("stdin".to_string(), program.clone(), &args[1..]),
        None => {
            let Some(script) = args.get(1) else { bail!("replay needs a script to run: a file after the events, or -e 'PROGRAM'") };
            let source = std::fs::read_to_string(script).with_context(|| format!("cannot read script `{script}`"))?;
            (script.clone(), source, &args[2..])
        }
    };
    let bytes = std::fs::read(events_path).with_context(|| format!("cannot read events `{events_path}`"))?;
    let live = Tracefs::find_or_mount(ferrotrace_runtime::privileges::check().is_ok()).ok().map(KernelCatalog::new);
    let no_tracefs = NoTracefs;
    let inner: &dyn Catalog = match &live {
        Some(catalog) => catalog,
        None => &no_tracefs,
    };
    let input = read_events(events_path, &bytes, inner)?;
    let catalog = match input.formats.clone() {
        Some(formats) => ReplayCatalog::recorded(inner, formats),
        None => ReplayCatalog::live(inner),
    };
    let (clocks, events) = (input.clocks, input.events);
    let mut probes: Vec<String> = events.iter().map(|event| event.probe.clone()).chain(input.probes).collect();
    probes.sort();
    probes.dedup();

    let loader = crate::imports::FileLoader { search: cli.include_dirs.clone() };
    let (source, files) = match sources::assemble(&name, &source, &loader) {
        Ok(assembled) => assembled,
        Err(failure) => {
            let (diagnostic, files) = *failure;
            crate::report_in(&[diagnostic], &files);
            return Ok(1);
        }
    };
    let options = CompileOptions { params: Params::from_args(params), env: crate::config_environment(cli.no_warnings)?, ..CompileOptions::default() };
    let mut compiled = match compile_with(&source, &catalog, &options, Keep::default()) {
        Ok(compiled) => compiled,
        Err(mut diagnostics) => {
            if input.formats.is_some() {
                diagnostics = diagnostics.into_iter().map(|diagnostic| in_the_recording(diagnostic, &probes)).collect();
            }
            crate::report_in(&diagnostics, &files);
            return Ok(1);
        }
    };
    if !cli.no_warnings {
        crate::report_in(&compiled.warnings, &files);
    }
    compiled.manifest.script_name = name;
    let manifest = Arc::new(compiled.manifest);
    let backend = if cli.interpret { Backend::Interpreter } else { Backend::Jit };
    let mut replay = match Replay::new(&compiled.elf, Arc::clone(&manifest), clocks, &probes, backend) {
        Ok(replay) => replay,
        Err(error) => return Err(describe(error, &files)),
    };
    let format = match cli.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    printing::set_truncation_trailer(&manifest.settings.str_trunc_trailer);
    printing::set_string_read_size(manifest.settings.max_strlen);
    let mut stdout = Output::open(cli.output.as_deref(), cli.buffering)?;
    let mut stderr = io::stderr();
    let code = {
        let mut runner = Runner::new(Arc::clone(&manifest), printing::printer(format, &mut stdout, &mut stderr));
        runner.set_warnings(!cli.no_warnings);
        if !cli.quiet {
            runner.attached(manifest.programs.iter().map(|spec| spec.targets.len()).sum())?;
        }
        let outcome = run(&mut replay, &mut runner, events, input.end_ns);
        if let Err(error) = outcome {
            return Err(describe(error, &files));
        }
        if input.lost > 0 && !cli.no_warnings {
            runner.notice(&format!("WARNING: the recording lost {} events: the live run saw more than this replay", input.lost))?;
        }
        let shortfalls = replay.machine().shortfalls;
        if shortfalls.unrecorded_reads > 0 && !cli.no_warnings {
            runner.notice(&format!("WARNING: {} reads of memory the events did not record read as zeroes", shortfalls.unrecorded_reads))?;
        }
        if shortfalls.signals > 0 && !cli.no_warnings {
            runner.notice(&format!("WARNING: {} signal() calls were not sent: replay signals no process", shortfalls.signals))?;
        }
        runner.exit_code().unwrap_or(0)
    };
    stdout.finish()?;
    Ok(code as u8)
}

/// `begin`, every event in order, `end` and the maps.
fn run(replay: &mut Replay, runner: &mut Runner<'_>, events: Vec<ferrotrace_replay::Event>, end_ns: Option<u64>) -> Result<(), ReplayError> {
    replay.begin(runner)?;
    let mut last = end_ns.unwrap_or(0);
    for event in events {
        last = last.max(event.time_ns);
        if !replay.event(runner, event)? {
            break;
        }
    }
    if runner.exit_code().is_none() {
        replay.fire_timers(runner, last)?;
    }
    replay.end(runner)
}

/// A tracepoint the compile could not find, said of the recording it was looked for in.
fn in_the_recording(mut diagnostic: Diagnostic, recorded: &[String]) -> Diagnostic {
    if diagnostic.code != "E0204" || !diagnostic.message.contains("tracepoint") {
        return diagnostic;
    }
    let probe = diagnostic.message.split('`').nth(1).unwrap_or_default().to_string();
    diagnostic.message = format!("the recording holds no tracepoint `{probe}`");
    for label in diagnostic.labels.iter_mut().filter(|label| label.primary) {
        label.message = "not recorded".to_string();
    }
    let listed: Vec<String> = recorded.iter().map(|name| format!("`{name}`")).collect();
    diagnostic.notes = vec![format!("replay compiles against the recorded tracepoints: {}", listed.join(", "))];
    let wanted: Vec<String> = recorded.iter().cloned().chain([format!("tracepoint:{probe}")]).collect();
    diagnostic.help = Some(format!("record it too: ferrotrace record -o FILE.ftrec {}", wanted.join(" ")));
    diagnostic
}

/// A replay error as the user reads it: a fault points at the script line that faulted.
fn describe(error: ReplayError, files: &SourceMap) -> anyhow::Error {
    match error {
        ReplayError::Fault { probe, span, fault } => {
            let diagnostic = Diagnostic::error("E1001", format!("`{probe}` faulted in replay: {fault}")).with_primary(span, "this faulted");
            crate::report_in(&[diagnostic], files);
            anyhow::anyhow!("the replay stopped at that fault")
        }
        other => other.into(),
    }
}

/// The events to replay and what they were taken with.
struct Input {
    events: Vec<ferrotrace_replay::Event>,
    clocks: Clocks,
    /// The probes recorded, events or not.
    probes: Vec<String>,
    /// The recorded tracepoints' formats: the kernel the script compiles against.
    formats: Option<BTreeMap<(String, String), TracepointFormat>>,
    lost: u64,
    end_ns: Option<u64>,
}

/// A recording (`ferrotrace record`), or JSON lines laid out with this machine's formats.
fn read_events(path: &str, bytes: &[u8], live: &dyn Catalog) -> Result<Input> {
    if recording::is_recording(bytes) {
        let recording = recording::read(bytes).map_err(|error| anyhow::anyhow!("{path}: {error}"))?;
        let header = recording.header;
        let formats = header.probes.iter().map(|probe| ((probe.category.clone(), probe.event.clone()), probe.format.clone())).collect();
        return Ok(Input {
            events: recording.events,
            clocks: header.clocks,
            probes: header.probes.into_iter().map(|probe| probe.name).collect(),
            formats: Some(formats),
            lost: recording.lost,
            end_ns: recording.end_ns,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{path}: neither a ferrotrace recording nor JSON lines (not UTF-8 text)"))?;
    let mut format = |category: &str, event: &str| live.tracepoint_format(category, event).map_err(|error| error.to_string());
    let events = synthetic::parse(text, 0, &mut format).map_err(|error| anyhow::anyhow!("{path}: {error}"))?;
    let clocks = Clocks { cpus: events.iter().map(|event| event.cpu + 1).max().unwrap_or(1), ..Clocks::default() };
    Ok(Input { events, clocks, probes: Vec::new(), formats: None, lost: 0, end_ns: None })
}

/// The catalog where this machine's tracefs cannot be read: no tracepoints.
struct NoTracefs;

impl Catalog for NoTracefs {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, ferrotrace_compiler::catalog::CatalogError> {
        Ok(Vec::new())
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<ferrotrace_compiler::catalog::TracepointFormat, ferrotrace_compiler::catalog::CatalogError> {
        Err(ferrotrace_compiler::catalog::CatalogError::Unavailable(format!(
            "tracepoint:{category}:{name}: this machine's tracefs cannot be read here, and the events do not carry the tracepoint's format"
        )))
    }
}
