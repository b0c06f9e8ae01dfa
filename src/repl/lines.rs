//! Complete inputs handed from the thread that reads them (the line editor, or a reader of
//! stdin) to the console's thread, which wakes for each one.

use std::io::BufRead;
use std::sync::mpsc::{self, Receiver, TryRecvError};

use ferrotrace_runtime::events::Waker;

use super::input::is_complete;

/// What the reading thread hands over.
pub enum Line {
    /// One complete input.
    Input(String),
    /// The input ended (Ctrl-D, end of stdin).
    End,
}

/// The console's end of the reading thread.
pub struct Inputs {
    lines: Receiver<Line>,
}

impl Inputs {
    pub fn new(lines: Receiver<Line>) -> Inputs {
        Inputs { lines }
    }

    /// The next input, if one is waiting; `End` once the reader is gone.
    pub fn next(&self) -> Option<Line> {
        match self.lines.try_recv() {
            Ok(line) => Some(line),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Line::End),
        }
    }
}

/// Reads inputs from stdin, line by line, each complete input (a block may take several lines)
/// handed over as it completes.
pub fn from_stdin(waker: Waker) -> Inputs {
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut pending = String::new();
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            pending.push_str(&line);
            pending.push('\n');
            if is_complete(&pending) {
                if sender.send(Line::Input(std::mem::take(&mut pending))).is_err() {
                    return;
                }
                waker.wake();
            }
        }
        if !pending.trim().is_empty() {
            let _ = sender.send(Line::Input(pending));
        }
        let _ = sender.send(Line::End);
        waker.wake();
    });
    Inputs::new(lines)
}
