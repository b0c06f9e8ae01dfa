//! `-l`: probes, one per line. With a pattern (or none), the probes this kernel offers,
//! glob-matched: `begin`, `end`, every tracepoint and, where the kernel has kprobes, every
//! function they attach to; with `-v`, each tracepoint's arguments under it. With a script,
//! the probes it attaches.

use std::io::{self, Write};

use ferrotrace_compiler::manifest::Manifest;
use ferrotrace_compiler::sema::glob_match;
use ferrotrace_runtime::features;
use ferrotrace_runtime::tracefs::Tracefs;

use crate::cli::Cli;

/// The pattern `-l` lists the kernel's probes by; `None` when it lists a script's instead
/// (`-e`, or a file that exists).
pub fn pattern(cli: &Cli) -> Option<String> {
    if cli.program.is_some() {
        return None;
    }
    match &cli.file {
        Some(path) if path.is_file() => None,
        Some(path) => Some(path.display().to_string()),
        None => Some("*".to_string()),
    }
}

/// Writes every probe whose full name matches `pattern` (a pattern without `*` or `?` matches
/// names that contain it), and with `verbose` each tracepoint's fields under it.
pub fn list(tracefs: &Tracefs, pattern: &str, verbose: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let pattern = if pattern.contains(['*', '?']) { pattern.to_string() } else { format!("*{pattern}*") };
    let mut names: Vec<String> = ["begin", "end"].iter().map(|s| s.to_string()).collect();
    names.extend(tracefs.tracepoints()?.into_iter().map(|(category, name)| format!("tracepoint:{category}:{name}")));
    names.extend(kprobes(tracefs)?);
    for name in names.iter().filter(|name| glob_match(&pattern, name)) {
        let mut text = format!("{name}\n");
        if let (true, Some((category, event))) = (verbose, name.strip_prefix("tracepoint:").and_then(|rest| rest.split_once(':'))) {
            for field in tracefs.format(category, event).map(|format| format.fields).unwrap_or_default() {
                text.push_str(&format!("    {} {}\n", field.c_type, field.name));
            }
        }
        if !written(out.write_all(text.as_bytes()))? {
            break;
        }
    }
    Ok(())
}

/// The probes a compiled script attaches, in script order, `begin` and `end` left out as
/// bpftrace leaves them out.
pub fn script_probes(manifest: &Manifest, out: &mut dyn Write) -> anyhow::Result<()> {
    for name in manifest.probe_names.iter().filter(|name| !matches!(name.as_str(), "begin" | "end")) {
        if !written(writeln!(out, "{name}"))? {
            break;
        }
    }
    Ok(())
}

/// Whether a write went through; `false` when the reader went away (`| head`).
fn written(result: io::Result<()>) -> anyhow::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// `kprobe:function` (`kprobe:module:function` for a module's) for every function kprobes can
/// attach to; none where the kernel has no kprobes.
fn kprobes(tracefs: &Tracefs) -> anyhow::Result<Vec<String>> {
    if !features::kprobes() {
        return Ok(Vec::new());
    }
    Ok(tracefs
        .kernel_functions()?
        .into_iter()
        .map(|function| match function.module {
            Some(module) => format!("kprobe:{module}:{}", function.name),
            None => format!("kprobe:{}", function.name),
        })
        .collect())
}
