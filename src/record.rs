//! `ferrotrace record -o FILE` with a script (`-e`, a file) or probes: the tracepoints the
//! script uses recorded until SIGINT, for `ferrotrace replay` to run scripts over later,
//! anywhere (with `--stacks`, every event's stacks too).

use std::io::{self, BufWriter, Write};

use anyhow::{bail, Context, Result};
use ferrotrace_compiler::driver::{compile_with, Keep};
use ferrotrace_compiler::options::CompileOptions;
use ferrotrace_compiler::sources::SourceMap;
use ferrotrace_replay::{recorder, relatives};
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::privileges;
use ferrotrace_runtime::tracefs::Tracefs;

use crate::cli::Cli;

/// The first word of the command line that makes it a recording.
pub const COMMAND: &str = "record";

/// Runs `ferrotrace record ...`: `args` are the words after `record`.
pub fn command(cli: &Cli, args: &[String]) -> Result<u8> {
    let Some(path) = &cli.output else {
        bail!("record needs a file to write: ferrotrace record -o FILE.ftrec -e 'tracepoint:syscalls:sys_enter_openat {{ }}'");
    };
    let (name, source) = match (&cli.program, args) {
        (Some(program), []) => ("stdin".to_string(), program.clone()),
        (Some(_), [extra, ..]) => bail!("record takes a script or probes, not both: `{extra}` after -e"),
        (None, [file]) if file.ends_with(".bt") || file.contains('/') => {
            (file.clone(), std::fs::read_to_string(file).with_context(|| format!("cannot read script `{file}`"))?)
        }
        (None, []) => bail!("record needs what to record: a script file, -e 'PROGRAM', or probes such as tracepoint:syscalls:sys_enter_openat"),
        (None, probes) => ("stdin".to_string(), format!("{} {{ }}", probes.join(", "))),
    };
    privileges::check()?;
    let catalog = KernelCatalog::new(Tracefs::find_or_mount(true)?);
    let options = CompileOptions { env: crate::config_environment(true)?, ..CompileOptions::default() };
    // The encoded programs say which of the task's relatives the script reads.
    let compiled = match compile_with(&source, &catalog, &options, Keep { bpf: true, ..Keep::default() }) {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            crate::report_in(&diagnostics, &SourceMap::single(&name, &source));
            return Ok(1);
        }
    };
    let header = recorder::plan(&compiled.manifest, &catalog, cli.stacks, &relatives::read_by(&compiled.programs, &catalog))?;
    let file = std::fs::File::create(path).with_context(|| format!("cannot create `{}`", path.display()))?;
    let quiet = cli.quiet;
    let summary = recorder::record(&header, BufWriter::with_capacity(1 << 20, file), &mut |probes| {
        if !quiet {
            eprintln!("Recording {probes} probes to {}... Hit Ctrl-C to end.", path.display());
        }
    })?;
    if !quiet {
        let mut err = io::stderr();
        writeln!(err, "Recorded {} events to {}", summary.events, path.display())?;
        if summary.lost > 0 {
            writeln!(err, "WARNING: {} events were lost: the recording could not keep up", summary.lost)?;
        }
    }
    Ok(0)
}
