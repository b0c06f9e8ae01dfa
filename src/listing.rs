//! `-l [PATTERN]`: the probes this kernel offers, glob-matched, one per line: `begin`, `end`,
//! every tracepoint and, where the kernel has kprobes, every function they attach to.

use std::io::{self, Write};

use ferrotrace_compiler::sema::glob_match;
use ferrotrace_runtime::features;
use ferrotrace_runtime::tracefs::Tracefs;

/// Writes every probe whose full name matches `pattern`. A pattern without `*` or `?` matches
/// names that contain it.
pub fn list(tracefs: &Tracefs, pattern: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let pattern = if pattern.contains(['*', '?']) { pattern.to_string() } else { format!("*{pattern}*") };
    let mut names: Vec<String> = ["begin", "end"].iter().map(|s| s.to_string()).collect();
    names.extend(tracefs.tracepoints()?.into_iter().map(|(category, name)| format!("tracepoint:{category}:{name}")));
    names.extend(kprobes(tracefs)?);
    for name in names.iter().filter(|name| glob_match(&pattern, name)) {
        if let Err(err) = writeln!(out, "{name}") {
            if err.kind() == io::ErrorKind::BrokenPipe {
                break;
            }
            return Err(err.into());
        }
    }
    Ok(())
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
