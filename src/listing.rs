//! `-l`: probes, one per line. With a pattern (or none), the probes this kernel offers,
//! glob-matched, each provider listing its own (`begin`, `end`, every tracepoint and, where the
//! kernel has kprobes, every function they attach to); with `-v`, each probe's arguments under
//! it. With a script, the probes it attaches.

use std::io::{self, Write};

use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::manifest::Manifest;
use ferrotrace_compiler::providers::{glob_match, PROVIDERS};

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
/// names that contain it), and with `verbose` each probe's arguments under it.
pub fn list(catalog: &dyn Catalog, pattern: &str, verbose: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let pattern = if pattern.contains(['*', '?']) { pattern.to_string() } else { format!("*{pattern}*") };
    for provider in PROVIDERS {
        // `rawtracepoint:sched_switch` lists `rawtracepoint:vmlinux:sched_switch`, as it attaches it.
        let matches = |name: &&String| glob_match(&pattern, name) || glob_match(&pattern, &name.replacen(":vmlinux:", ":", 1));
        for name in (provider.list)(catalog)?.iter().filter(matches) {
            let mut text = format!("{name}\n");
            if verbose {
                for argument in (provider.arguments)(catalog, name) {
                    text.push_str(&format!("    {argument}\n"));
                }
            }
            if !written(out.write_all(text.as_bytes()))? {
                return Ok(());
            }
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
