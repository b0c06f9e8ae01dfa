//! `-l [PATTERN]`: the probes this kernel offers, glob-matched, one per line.

use std::io::{self, Write};

use ferrotrace_compiler::sema::glob_match;
use ferrotrace_runtime::tracefs::Tracefs;

/// Writes every probe whose full name matches `pattern`. A pattern without `*` or `?` matches
/// names that contain it.
pub fn list(tracefs: &Tracefs, pattern: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let pattern = if pattern.contains(['*', '?']) { pattern.to_string() } else { format!("*{pattern}*") };
    let mut names: Vec<String> = ["begin", "end"].iter().map(|s| s.to_string()).collect();
    names.extend(tracefs.tracepoints()?.into_iter().map(|(category, name)| format!("tracepoint:{category}:{name}")));
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
