//! Where everything the REPL shows goes: probe output, command results, diagnostics. On a
//! terminal, text is collected and handed to the line editor in one piece per flush (a batch of
//! records, a command's result), which prints it above the prompt without breaking the line
//! being typed; the editor takes one batch at a time, so probes that print faster than the
//! terminal shows fill the ring buffer and the kernel's count of lost records says how many
//! were dropped. Without a terminal, output goes to stdout and messages to stderr.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use rustyline::ExternalPrinter;

/// A shared handle on the screen; clones write to the same place.
#[derive(Clone)]
pub struct Screen {
    inner: Rc<RefCell<Inner>>,
    /// Messages (stderr without a terminal).
    messages: bool,
}

enum Inner {
    Terminal { printer: Box<dyn ExternalPrinter>, pending: Vec<u8> },
    Streams,
}

impl Screen {
    /// A screen above a line editor's prompt.
    pub fn terminal(printer: Box<dyn ExternalPrinter>) -> Screen {
        Screen { inner: Rc::new(RefCell::new(Inner::Terminal { printer, pending: Vec::new() })), messages: false }
    }

    /// stdout and stderr.
    pub fn streams() -> Screen {
        Screen { inner: Rc::new(RefCell::new(Inner::Streams)), messages: false }
    }

    /// A handle that writes messages: to stderr without a terminal.
    pub fn messages(&self) -> Screen {
        Screen { inner: Rc::clone(&self.inner), messages: true }
    }

    /// Whether it prints above a line editor's prompt.
    pub fn is_terminal(&self) -> bool {
        matches!(*self.inner.borrow(), Inner::Terminal { .. })
    }
}

impl Write for Screen {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut *self.inner.borrow_mut() {
            Inner::Terminal { pending, .. } => {
                pending.extend_from_slice(bytes);
                Ok(bytes.len())
            }
            Inner::Streams if self.messages => io::stderr().write(bytes),
            Inner::Streams => io::stdout().write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut *self.inner.borrow_mut() {
            Inner::Terminal { printer, pending } => {
                if pending.is_empty() {
                    return Ok(());
                }
                let text = String::from_utf8_lossy(pending).into_owned();
                pending.clear();
                printer.print(text).map_err(io::Error::other)
            }
            Inner::Streams if self.messages => io::stderr().flush(),
            Inner::Streams => io::stdout().flush(),
        }
    }
}
