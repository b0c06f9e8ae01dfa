//! `-l`: probes, one per line. With a pattern (or none), the probes this kernel offers,
//! glob-matched, each provider listing its own (`begin`, `end`, every tracepoint and, where the
//! kernel has kprobes, every function they attach to; the functions and USDT probes of a binary
//! a `uprobe:PATH:...` or `usdt:PATH:...` pattern names, or with `-p` of every binary the
//! process maps); with `-v`, each probe's arguments under it. With a script, the probes it
//! attaches.

use std::io::{self, Write};

use ferrotrace_compiler::manifest::Manifest;
use ferrotrace_compiler::providers::{glob_match, named, Scope, PROVIDERS};

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
/// names that contain it; a provider's short name, `u:`, stands for its full one), and with
/// `verbose` each probe's arguments under it. Userspace probes are listed for the binary the
/// pattern names, or with `-p` for every binary of the process.
pub fn list(scope: &Scope<'_>, pattern: &str, verbose: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let pattern = full_provider_name(pattern);
    let pattern = if pattern.contains(['*', '?']) { pattern } else { format!("*{pattern}*") };
    for provider in PROVIDERS {
        // `rawtracepoint:sched_switch` lists `rawtracepoint:vmlinux:sched_switch`, as it attaches it.
        let matches = |name: &&String| glob_match(&pattern, name) || glob_match(&pattern, &name.replacen(":vmlinux:", ":", 1));
        for name in (provider.list)(scope, &pattern)?.iter().filter(matches) {
            let mut text = format!("{name}\n");
            if verbose {
                for argument in (provider.arguments)(scope, name) {
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

/// `pattern` with a provider's short name at its start replaced by the full one: `u:/bin/sh:*`
/// is `uprobe:/bin/sh:*`.
fn full_provider_name(pattern: &str) -> String {
    match pattern.split_once(':') {
        Some((written, rest)) => match named(written) {
            Some(provider) => format!("{}:{rest}", provider.name),
            None => pattern.to_string(),
        },
        None => pattern.to_string(),
    }
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
