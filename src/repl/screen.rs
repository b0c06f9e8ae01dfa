//! Where everything the console shows goes: probe output, command results, diagnostics.
//!
//! On a terminal, the text of each flush (a batch of records, a command's result) is one
//! message for the line editor, which prints it above the prompt without breaking the line
//! being typed. A thread of its own hands the messages to the editor, which takes one at a time
//! and only while it reads a line: the console never waits for the editor, so it keeps reading
//! the ring buffer and its inputs. Text flushed while the editor is busy joins the message
//! waiting for it, so the editor draws the prompt again once per batch, not once per flush. At
//! most `QUEUED_BYTES` wait; past that, output is dropped and counted, and a line says how many
//! lines were not shown, where they would have been. Without a terminal,
//! output goes to stdout and messages to stderr.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rustyline::ExternalPrinter;

/// Output waiting for the editor, at most: a terminal shows this in a fraction of a second, so
/// what is typed is never far behind.
const QUEUED_BYTES: usize = 256 << 10;

/// A shared handle on the screen; clones write to the same place.
#[derive(Clone)]
pub struct Screen {
    inner: Rc<RefCell<Inner>>,
    /// Messages (stderr without a terminal).
    messages: bool,
}

enum Inner {
    Terminal { pending: Vec<u8>, queue: Arc<Queue>, printer: Option<JoinHandle<()>> },
    Streams,
}

/// Messages on their way to the editor.
#[derive(Default)]
struct Queue {
    state: Mutex<Queued>,
    ready: Condvar,
}

#[derive(Default)]
struct Queued {
    messages: VecDeque<String>,
    bytes: usize,
    /// Lines dropped since the last message taken.
    dropped: u64,
    closed: bool,
}

impl Screen {
    /// A screen above a line editor's prompt, fed by a thread of its own.
    pub fn terminal(mut editor: Box<dyn ExternalPrinter + Send>) -> io::Result<Screen> {
        let queue = Arc::new(Queue::default());
        let feeding = Arc::clone(&queue);
        let printer = std::thread::Builder::new().name("screen".into()).spawn(move || {
            while let Some(message) = feeding.take() {
                if editor.print(message).is_err() {
                    break;
                }
            }
        })?;
        let inner = Inner::Terminal { pending: Vec::new(), queue, printer: Some(printer) };
        Ok(Screen { inner: Rc::new(RefCell::new(inner)), messages: false })
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

    /// Waits until everything written is shown (the editor prints directly once it reads no
    /// more lines).
    pub fn close(&self) {
        let _ = self.clone().flush();
        if let Inner::Terminal { queue, printer, .. } = &mut *self.inner.borrow_mut() {
            queue.close();
            if let Some(printer) = printer.take() {
                let _ = printer.join();
            }
        }
    }
}

impl Queue {
    /// Queues `text`, or counts its lines as dropped when too much waits already; the first
    /// text queued after a drop comes after a line saying how much was dropped there.
    fn put(&self, text: String) {
        let Ok(mut state) = self.state.lock() else { return };
        if state.bytes + text.len() > QUEUED_BYTES {
            state.dropped += text.matches('\n').count().max(1) as u64;
            return;
        }
        let dropped = std::mem::take(&mut state.dropped);
        let text = match dropped {
            0 => text,
            dropped => format!("[{dropped} lines of output not shown: the terminal is slower than the probes]\n{text}"),
        };
        state.bytes += text.len();
        match state.messages.back_mut() {
            Some(waiting) => waiting.push_str(&text),
            None => state.messages.push_back(text),
        }
        self.ready.notify_one();
    }

    /// The next message; `None` once closed and empty.
    fn take(&self) -> Option<String> {
        let mut state = self.state.lock().ok()?;
        while state.messages.is_empty() && !state.closed {
            state = self.ready.wait(state).ok()?;
        }
        let message = state.messages.pop_front()?;
        state.bytes = state.bytes.saturating_sub(message.len());
        Some(message)
    }

    fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
            self.ready.notify_all();
        }
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
            Inner::Terminal { pending, queue, .. } => {
                if !pending.is_empty() {
                    queue.put(String::from_utf8_lossy(pending).into_owned());
                    pending.clear();
                }
                Ok(())
            }
            Inner::Streams if self.messages => io::stderr().flush(),
            Inner::Streams => io::stdout().flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_join_the_waiting_message_and_drops_are_said_where_they_were() {
        let queue = Queue::default();
        // Each of these lines is 2 bytes.
        queue.put("a\n".to_string());
        queue.put("b\n".repeat(QUEUED_BYTES / 2 - 1));
        assert!(queue.take().is_some_and(|first| first.starts_with("a\nb\n") && first.len() == QUEUED_BYTES));
        queue.put("c\n".repeat(QUEUED_BYTES / 4));
        queue.put("d\n".repeat(QUEUED_BYTES / 4));
        queue.put("e\nf\n".to_string());
        assert!(queue.take().is_some_and(|second| second.len() == QUEUED_BYTES));
        queue.put("g\n".to_string());
        assert_eq!(queue.take().as_deref(), Some("[2 lines of output not shown: the terminal is slower than the probes]\ng\n"));
        queue.close();
        assert_eq!(queue.take(), None);
    }
}
