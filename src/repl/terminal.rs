//! The line editor on a terminal (rustyline), on its own thread, reading the next line while
//! the console runs the last (its output comes above the prompt); Ctrl-C clears the line and
//! stops what the console runs (`signals::interrupt`). History kept in
//! `$XDG_STATE_HOME/ferrotrace/history` with multi-line entries whole, completion
//! (`complete`), the signature of the function being called as a hint, syntax highlighting
//! (`highlight`), and Enter taking the input only once the lexer says it is complete.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context as _, Result};
use ferrotrace_compiler::providers::Scope;
use ferrotrace_compiler::stdlib;
use ferrotrace_runtime::catalog::KernelCatalog;
use ferrotrace_runtime::events::Waker;
use ferrotrace_runtime::signals;
use ferrotrace_runtime::tracefs::Tracefs;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, Context, Editor, ExternalPrinter, Helper};

use super::complete::{self, Known};
use super::input::is_complete;
use super::lines::{Inputs, Line};

const PROMPT: &str = "ferrotrace> ";
/// Entries the history keeps.
const HISTORY_SIZE: usize = 10_000;

/// Starts the editor's thread; returns its inputs and the printer that writes above its prompt.
pub fn start(known: Arc<Mutex<Known>>, waker: Waker, color: bool) -> Result<(Inputs, Box<dyn ExternalPrinter + Send>)> {
    let (sender, lines) = mpsc::channel();
    let (give_printer, printer) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("line editor".into())
        .spawn(move || {
            let mut editor = match editor(known, color) {
                Ok(editor) => editor,
                Err(error) => return drop(give_printer.send(Err(error))),
            };
            let printer = editor.create_external_printer().map_err(|error| anyhow!("cannot print above the prompt: {error}"));
            if give_printer.send(printer.map(|printer| Box::new(printer) as Box<dyn ExternalPrinter + Send>)).is_err() {
                return;
            }
            let history = history_file();
            if let Some(path) = &history {
                let _ = editor.load_history(path);
            }
            loop {
                match editor.readline(PROMPT) {
                    Ok(text) => {
                        if !text.trim().is_empty() {
                            let _ = editor.add_history_entry(text.as_str());
                            if let Some(path) = &history {
                                let _ = editor.append_history(path);
                            }
                        }
                        if sender.send(Line::Input(text)).is_err() {
                            return;
                        }
                        waker.wake();
                    }
                    // The line is cleared; what the console runs (`:watch`, an attach) stops.
                    Err(ReadlineError::Interrupted) => signals::interrupt(),
                    Err(_) => break,
                }
            }
            let _ = sender.send(Line::End);
            waker.wake();
        })
        .context("cannot start the line editor")?;
    let printer = printer.recv().map_err(|_| anyhow!("the line editor stopped"))??;
    Ok((Inputs::new(lines), printer))
}

fn editor(known: Arc<Mutex<Known>>, color: bool) -> Result<Editor<Assist, DefaultHistory>> {
    let config = Config::builder()
        .max_history_size(HISTORY_SIZE)?
        .history_ignore_dups(true)?
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .build();
    let mut editor = Editor::with_config(config).context("cannot start the line editor")?;
    let catalog = KernelCatalog::new(Tracefs::find_or_mount(true)?);
    editor.set_helper(Some(Assist { known, catalog, color }));
    Ok(editor)
}

/// `$XDG_STATE_HOME/ferrotrace/history` (`~/.local/state/...` without it), its directory made.
fn history_file() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME").filter(|dir| !dir.is_empty()).map(PathBuf::from);
    let state = state.or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))?;
    let dir = state.join("ferrotrace");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// Everything the editor asks about the text being typed.
struct Assist {
    known: Arc<Mutex<Known>>,
    catalog: KernelCatalog,
    color: bool,
}

impl Helper for Assist {}

impl Completer for Assist {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let known = self.known.lock().map(|known| known.clone()).unwrap_or_default();
        let (start, candidates) = complete::complete(line, pos, &known, &Scope::kernel(&self.catalog));
        let pairs = candidates.into_iter().map(|candidate| Pair { display: candidate.clone(), replacement: candidate }).collect();
        Ok((start, pairs))
    }
}

impl Hinter for Assist {
    type Hint = String;

    /// The signature of the function whose call the cursor is in, after an opening `(`.
    fn hint(&self, line: &str, pos: usize, _: &Context<'_>) -> Option<String> {
        let before = line.get(..pos)?;
        let name_end = before.strip_suffix('(').map(str::len)?;
        let start = before[..name_end].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |at| at + 1);
        let function = stdlib::lookup(&before[start..name_end])?;
        Some(format!("  {}", function.signature))
    }
}

impl Highlighter for Assist {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(super::highlight::paint(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.color && kind != CmdKind::MoveCursor
    }
}

impl Validator for Assist {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) { ValidationResult::Valid(None) } else { ValidationResult::Incomplete })
    }
}
