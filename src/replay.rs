//! `ferrotrace replay EVENTS SCRIPT` (or `-e PROGRAM`): the script compiled as usual, then run
//! in user space over recorded or synthetic events, printing what the live run would have. No
//! privileges and no BPF are needed; the engine is `ferrotrace-replay`.

use std::io::{self, Write};
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
use ferrotrace_replay::source::Source;
use ferrotrace_replay::standard_formats::StandardFormats;
use ferrotrace_replay::summary::Summary;
use ferrotrace_replay::ReplayError;
use std::path::Path;
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
    let script = match &cli.program {
        Some(program) => Some(("stdin".to_string(), program.clone(), &args[1..])),
        None => match args.get(1) {
            Some(script) => {
                let source = std::fs::read_to_string(script).with_context(|| format!("cannot read script `{script}`"))?;
                Some((script.clone(), source, &args[2..]))
            }
            None => None,
        },
    };
    let live = Tracefs::find_or_mount(ferrotrace_runtime::privileges::check().is_ok()).ok().map(KernelCatalog::new);
    // Where tracefs cannot be read, synthetic events of the syscall tracepoints still replay
    // (`ReplayCatalog::live` gives their standard formats).
    let inner: &dyn Catalog = match &live {
        Some(catalog) => catalog,
        None => &StandardFormats,
    };
    let mut events = Source::open(Path::new(events_path), &ReplayCatalog::live(inner)).map_err(|error| anyhow::anyhow!("{events_path}: {error}"))?;
    let Some((name, source, params)) = script else {
        return summarize(cli, events_path, &mut events);
    };
    let catalog = match events.formats.clone() {
        Some(formats) => ReplayCatalog::recorded(inner, formats, events.task_members.clone()),
        None => ReplayCatalog::live(inner),
    };
    let probes = events.probes.clone();

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
            if events.formats.is_some() {
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
    let mut replay = match Replay::new(&compiled.elf, Arc::clone(&manifest), events.clocks.clone(), &probes, backend) {
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
        let outcome = run(&mut replay, &mut runner, &mut events, events_path);
        if let Err(error) = outcome {
            return Err(describe(error, &files));
        }
        if events.lost() > 0 && !cli.no_warnings {
            runner.notice(&format!("WARNING: the recording lost {} events: the live run saw more than this replay", events.lost()))?;
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

/// Without a script: what the events hold, and how to run one over them.
fn summarize(cli: &Cli, path: &str, events: &mut Source) -> Result<u8> {
    let summary = Summary::of(events).map_err(|error| anyhow::anyhow!("{path}: {error}"))?;
    let mut stdout = Output::open(cli.output.as_deref(), cli.buffering)?;
    write!(stdout, "{path}: {summary}")?;
    stdout.finish()?;
    eprintln!("Run a script over them: ferrotrace replay {path} SCRIPT.bt (or -e 'PROGRAM')");
    Ok(0)
}

/// `begin`, every event of `source` (read from `path`) in order, `end` and the maps.
fn run(replay: &mut Replay, runner: &mut Runner<'_>, source: &mut Source, path: &str) -> Result<(), ReplayError> {
    replay.begin(runner)?;
    let mut last = 0;
    // What goes wrong reading the events names their file, as it does before the first.
    let in_file = |error: ReplayError| ReplayError::Input(format!("{path}: {error}"));
    while let Some(event) = source.next_event().map_err(in_file)? {
        last = last.max(event.time_ns);
        if !replay.event(runner, &event)? {
            break;
        }
    }
    last = last.max(source.end_ns().unwrap_or(0));
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
