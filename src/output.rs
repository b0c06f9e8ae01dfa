//! Where a script's output goes: standard output or the `-o` file, buffered as `-B` asks.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::Buffering;

/// Bytes of output held between writes.
const BUFFER_BYTES: usize = 64 * 1024;

/// The script's output stream. By default it is written after each batch of events (the
/// runner flushes then); `-B line` writes at each newline, `-B none` at once, and `-B full`
/// only when the buffer fills and at exit.
pub struct Output {
    inner: BufWriter<Box<dyn Write>>,
    buffering: Option<Buffering>,
}

impl Output {
    /// Standard output, or `path` created (or truncated).
    pub fn open(path: Option<&Path>, buffering: Option<Buffering>) -> Result<Output> {
        let sink: Box<dyn Write> = match path {
            Some(path) => Box::new(File::create(path).with_context(|| format!("cannot open the output file `{}`", path.display()))?),
            None => Box::new(io::stdout()),
        };
        Ok(Output { inner: BufWriter::with_capacity(BUFFER_BYTES, sink), buffering })
    }

    /// Writes out whatever is held: the run is over.
    pub fn finish(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(buf)?;
        match self.buffering {
            Some(Buffering::None) => self.inner.flush()?,
            Some(Buffering::Line) if buf.contains(&b'\n') => self.inner.flush()?,
            _ => {}
        }
        Ok(buf.len())
    }

    /// The end of a batch of events: written out, except with `-B full`.
    fn flush(&mut self) -> io::Result<()> {
        match self.buffering {
            Some(Buffering::Full) => Ok(()),
            _ => self.inner.flush(),
        }
    }
}
