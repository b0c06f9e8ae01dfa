//! Where a running script's output goes, and in which form: bpftrace's text (`-f text`, the
//! default) or its JSON lines (`-f json`, `super::json`). The runner hands each piece of output
//! to a `Printer` as decoded values, never as text, so both forms render the same model.

use std::io::{self, Write};

use ferrotrace_compiler::manifest::SourceLocation;

use super::text;
use super::{MapDump, Value};

/// The output formats `-f` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// How serious a message from the script (`errorf`, `warnf`) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// One piece of output of each kind a script makes, written as its format writes it.
pub trait Printer {
    /// `Attached N probes`, once the probes are attached.
    fn attached(&mut self, probes: usize) -> io::Result<()>;
    /// The text a `printf` formatted.
    fn printf(&mut self, text: &[u8]) -> io::Result<()>;
    /// What a `system()` command printed.
    fn command_output(&mut self, text: &[u8]) -> io::Result<()>;
    /// The contents of a file `cat()` read.
    fn file_contents(&mut self, text: &[u8]) -> io::Result<()>;
    /// The time `time()` formatted.
    fn time(&mut self, text: &[u8]) -> io::Result<()>;
    /// The strings `join()` joined.
    fn joined(&mut self, text: &[u8]) -> io::Result<()>;
    /// What an iterator's program wrote (its `printf`s, which the kernel formats): as it is,
    /// in every format, as bpftrace writes it.
    fn iterator_output(&mut self, text: &[u8]) -> io::Result<()>;
    /// An iterator pinned at `path` instead of run.
    fn pinned(&mut self, path: &str) -> io::Result<()>;
    /// `print(value)` of a value that is not a map.
    fn value(&mut self, value: &Value) -> io::Result<()>;
    /// A whole map, by `print(@m)` or at exit.
    fn map(&mut self, map: &MapDump) -> io::Result<()>;
    /// Before the maps printed at exit.
    fn maps_at_exit(&mut self) -> io::Result<()>;
    /// An `errorf` or `warnf` message, with the place in the script that made it.
    fn message(&mut self, level: Level, at: &SourceLocation, text: &str) -> io::Result<()>;
    /// With `-k`: a helper failed at a place in the script.
    fn helper_error(&mut self, failure: &HelperFailure, at: &SourceLocation) -> io::Result<()>;
    /// Records the ring buffer dropped since the last report.
    fn lost(&mut self, count: u64) -> io::Result<()>;
    /// What ferrotrace itself has to say while the script runs (a map found full, a file
    /// `cat` cannot read): always text, on standard error.
    fn notice(&mut self, text: &str) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
}

/// A helper that failed (`-k`): which one, and what it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelperFailure {
    pub helper: u32,
    pub retcode: i64,
}

impl HelperFailure {
    /// The helper's name without `bpf_`: `map_update_elem`.
    pub fn name(&self) -> String {
        ferrotrace_compiler::lir::helper::name(self.helper).map_or_else(|| format!("helper {}", self.helper), str::to_string)
    }

    /// The error the return value stands for, as the C library names it.
    pub fn error_text(&self) -> String {
        io::Error::from_raw_os_error((-self.retcode) as i32).to_string().split(" (os error").next().unwrap_or_default().to_string()
    }

    /// What went wrong, as bpftrace says it: a full map says how to make room.
    pub fn message(&self) -> String {
        match (self.helper, self.retcode) {
            (ferrotrace_compiler::lir::helper::MAP_UPDATE_ELEM, -7) => "Map full; can't update element. Try increasing max_map_keys config or manually setting the max entries in a map declaration e.g. `let @a = hash(5000)`".to_string(),
            _ => self.error_text(),
        }
    }
}

/// The printer for `format`: output to `out`, lifecycle lines and notices to `err`.
pub fn printer<'o>(format: Format, out: &'o mut dyn Write, err: &'o mut dyn Write) -> Box<dyn Printer + 'o> {
    match format {
        Format::Text => Box::new(TextPrinter { out, err }),
        Format::Json => Box::new(super::json::JsonPrinter::new(out, err)),
    }
}

/// bpftrace's text: output as the script made it on `out`, the `Attached` line, lost events
/// and messages on `err`.
pub struct TextPrinter<'o> {
    out: &'o mut dyn Write,
    err: &'o mut dyn Write,
}

impl Printer for TextPrinter<'_> {
    fn attached(&mut self, probes: usize) -> io::Result<()> {
        writeln!(self.err, "Attached {probes} probe{}", if probes == 1 { "" } else { "s" })
    }

    fn printf(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)
    }

    fn command_output(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)
    }

    fn file_contents(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)
    }

    fn time(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)
    }

    fn joined(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)
    }

    fn iterator_output(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)
    }

    fn pinned(&mut self, path: &str) -> io::Result<()> {
        writeln!(self.out, "Program pinned to {path}")
    }

    fn value(&mut self, value: &Value) -> io::Result<()> {
        let mut line = text::value_text(value);
        line.push(b'\n');
        self.out.write_all(&line)
    }

    fn map(&mut self, map: &MapDump) -> io::Result<()> {
        self.out.write_all(&text::map_text(map))
    }

    fn maps_at_exit(&mut self) -> io::Result<()> {
        self.out.write_all(b"\n\n")
    }

    fn message(&mut self, level: Level, at: &SourceLocation, text: &str) -> io::Result<()> {
        let level = match level {
            Level::Error => "ERROR",
            Level::Warning => "WARNING",
        };
        writeln!(self.err, "{at}: {level}: {}", text.trim_end_matches('\n'))
    }

    /// On the output, as bpftrace writes it, less the script line it quotes.
    fn helper_error(&mut self, failure: &HelperFailure, at: &SourceLocation) -> io::Result<()> {
        writeln!(self.out, "{at}: WARNING: {}\nAdditional Info - helper: {}, retcode: {}", failure.message(), failure.name(), failure.retcode)
    }

    fn lost(&mut self, count: u64) -> io::Result<()> {
        writeln!(self.err, "Lost {count} events")
    }

    fn notice(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.err, "{text}")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
