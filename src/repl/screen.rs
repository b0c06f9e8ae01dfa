//! Where everything the console shows goes: probe output, command results, diagnostics.
//!
//! On a terminal, the text of each flush (a batch of records, a command's result) is one
//! message for the line editor, which prints it above the prompt without breaking the line
//! being typed. A thread of its own hands the messages to the editor, which takes one at a time
//! and only while it reads a line: the console never waits for the editor, so it keeps reading
//! the ring buffer and its inputs. Text flushed while the editor is busy joins the message
//! waiting for it, so the editor draws the prompt again once per batch, not once per flush. At
//! most `QUEUED_BYTES` wait: a flush waits for room (so probes that print faster than the
//! terminal shows are slowed to it, and the ring buffer's losses are counted as in a script
//! run), but not for long; what finds no room by then is dropped and counted, and a line says
//! how many lines were not shown, where they would have been. Without a terminal,
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
    /// The feeding thread is handing a message to the editor.
    handing: bool,
    closed: bool,
}

/// How long a flush waits for room in the queue. The editor takes messages only while it reads a
/// line, which it does but for a moment after each Enter; past this (the editor gone, or
/// stuck), output is dropped rather than stopping the console.
const ROOM_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// How long `close` waits for a message being handed to the editor. rustyline's printer blocks
/// for good when its one-message channel is full and the editor stopped reading lines just
/// before taking it; that message is then lost.
const HANDING_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

impl Screen {
    /// A screen above a line editor's prompt, fed by a thread of its own.
    pub fn terminal(mut editor: Box<dyn ExternalPrinter + Send>) -> io::Result<Screen> {
        let queue = Arc::new(Queue::default());
        let feeding = Arc::clone(&queue);
        let printer = std::thread::Builder::new().name("screen".into()).spawn(move || {
            while let Some(message) = feeding.take() {
                let printed = editor.print(message);
                feeding.handed();
                if printed.is_err() {
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

    /// Once the editor reads no more lines: shows what waits, written to stdout here (the
    /// editor would only do the same, and its printer may be blocked for good), after the
    /// message being handed to the editor, if that ends in time.
    pub fn close(&self) {
        let _ = self.clone().flush();
        if let Inner::Terminal { queue, printer, .. } = &mut *self.inner.borrow_mut() {
            let rest = queue.close();
            let mut stdout = io::stdout().lock();
            for message in rest {
                let _ = stdout.write_all(message.as_bytes());
            }
            let _ = stdout.flush();
            // A blocked feeding thread is left to end with the process.
            drop(printer.take());
        }
    }
}

impl Queue {
    /// Queues `text` once there is room for it, waiting up to `ROOM_WAIT` (a flood is then
    /// slowed to what the terminal shows, and the ring buffer counts what it cannot hold);
    /// counts its lines as dropped when there is none by then. The first text queued after a
    /// drop comes after a line saying how much was dropped there.
    fn put(&self, text: String) {
        let Ok(state) = self.state.lock() else { return };
        let full = |state: &mut Queued| state.bytes > 0 && state.bytes + text.len() > QUEUED_BYTES;
        let Ok((mut state, _)) = self.ready.wait_timeout_while(state, ROOM_WAIT, full) else { return };
        if full(&mut state) {
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

    /// The next message; `None` once closed.
    fn take(&self) -> Option<String> {
        let mut state = self.state.lock().ok()?;
        while state.messages.is_empty() && !state.closed {
            state = self.ready.wait(state).ok()?;
        }
        if state.closed {
            return None;
        }
        let message = state.messages.pop_front()?;
        state.bytes = state.bytes.saturating_sub(message.len());
        state.handing = true;
        self.ready.notify_all();
        Some(message)
    }

    /// The message taken last is handed over.
    fn handed(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.handing = false;
            self.ready.notify_all();
        }
    }

    /// Closes the queue once the message being handed over is (or `HANDING_WAIT` has passed);
    /// returns what still waits.
    fn close(&self) -> Vec<String> {
        let Ok(state) = self.state.lock() else { return Vec::new() };
        let Ok((mut state, _)) = self.ready.wait_timeout_while(state, HANDING_WAIT, |state| state.handing) else { return Vec::new() };
        state.closed = true;
        self.ready.notify_all();
        state.messages.drain(..).collect()
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
        queue.handed();
        assert_eq!(queue.take().as_deref(), Some("[2 lines of output not shown: the terminal is slower than the probes]\ng\n"));
        queue.handed();
        queue.put("h\n".to_string());
        assert_eq!(queue.close(), vec!["h\n".to_string()]);
        assert_eq!(queue.take(), None);
    }
}
