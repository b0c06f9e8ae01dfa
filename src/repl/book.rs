//! The session's history: every input that reached the kernel, in order, and the one script
//! they make together. Each compile is of that script with the new input after it, so a block
//! is checked against the maps, types and config of the earlier ones exactly as in one script
//! file, and the earlier blocks come out as the same programs, with the same action and probe
//! ids, as when they were loaded (`Session::extend` checks that they do).

use std::ops::Range;

use ferrotrace_compiler::manifest::Manifest;
use ferrotrace_compiler::sources::SourceMap;

/// How an entry's text stands in the session script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Top-level items as typed: probe blocks, config, definitions.
    Items,
    /// Statements, run once as the body of a `begin` block.
    Statements,
    /// An expression, printed once: `begin { print(EXPR) }`.
    Expression,
    /// An expression whose type `:type` asks, never loaded: `begin { $__type = (EXPR); }`.
    TypeOf,
}

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Its probes are attached (or it defines something).
    Live,
    /// `:detach`ed: still compiled, so that later ids stay as they were, never loaded again.
    Detached,
    /// Loaded but refused when attaching: compiled, not loaded.
    Failed,
    /// Statements or an expression that ran.
    Ran,
}

/// One input that reached the kernel.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The number `:detach`, `:dis` and `:why` take; statements have none (0).
    pub id: u32,
    /// As typed.
    pub text: String,
    pub kind: Kind,
    pub state: State,
    /// Its programs, by index in the session's manifest.
    pub programs: Vec<usize>,
}

impl Entry {
    /// The probes it attaches, as written (`tracepoint:syscalls:sys_enter_openat`).
    pub fn probe_names(&self, manifest: &Manifest) -> Vec<String> {
        self.programs.iter().map(|&index| manifest.programs[index].probe_name.clone()).collect()
    }
}

/// The session script with a new input after the entries: its text, which entry each byte
/// came from, and where the new input is.
pub struct Draft {
    pub text: String,
    pub files: SourceMap,
    /// Where the typed text is.
    pub range: Range<u32>,
    /// Where the input is, with the `begin { ... }` around statements.
    pub whole: Range<u32>,
    pub kind: Kind,
    /// The input as typed.
    pub typed: String,
    pub id: u32,
}

impl Draft {
    /// The programs of `manifest` (a compile of this draft) that the new input made.
    pub fn programs(&self, manifest: &Manifest) -> Vec<usize> {
        programs_in(manifest, &self.whole)
    }
}

/// The inputs that reached the kernel, in order.
#[derive(Default)]
pub struct Book {
    entries: Vec<Entry>,
    /// The id the next block gets.
    next_id: u32,
}

impl Book {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with block number `id`.
    pub fn entry_mut(&mut self, id: u32) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|entry| entry.id == id && id != 0)
    }

    pub fn entry(&self, id: u32) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.id == id && id != 0)
    }

    /// The session script with `typed` after every entry.
    pub fn draft(&self, typed: &str, kind: Kind) -> Draft {
        let mut text = String::new();
        let mut files = SourceMap { files: Vec::new() };
        for entry in &self.entries {
            append(&mut text, &mut files, &entry.text, entry.kind, &name(entry.id));
        }
        let id = if kind == Kind::Items { self.next_id.max(1) } else { 0 };
        let start = text.len() as u32;
        let range = append(&mut text, &mut files, typed, kind, &name(id));
        let whole = start..text.len() as u32;
        Draft { text, files, range, whole, kind, typed: typed.to_string(), id }
    }

    /// Keeps a draft that reached the kernel as the newest entry.
    pub fn keep(&mut self, draft: Draft, programs: Vec<usize>, state: State) -> &Entry {
        if draft.id != 0 {
            self.next_id = draft.id + 1;
        }
        self.entries.push(Entry { id: draft.id, text: draft.typed, kind: draft.kind, state, programs });
        self.entries.last().expect("just pushed")
    }

    /// The live items, in order, as one script that runs as it is (`:save`).
    pub fn script(&self) -> String {
        let mut script = String::new();
        for entry in self.entries.iter().filter(|entry| entry.kind == Kind::Items && entry.state == State::Live) {
            script.push_str(entry.text.trim_end());
            script.push('\n');
        }
        script
    }
}

/// How an entry is named in diagnostics: `[3]`, or `<input>` for statements.
fn name(id: u32) -> String {
    if id == 0 {
        "<input>".to_string()
    } else {
        format!("[{id}]")
    }
}

/// Appends an entry's text as its kind stands in the script; returns where the typed text is.
fn append(text: &mut String, files: &mut SourceMap, typed: &str, kind: Kind, name: &str) -> Range<u32> {
    let wrapper = match kind {
        Kind::Items => None,
        Kind::Statements => Some(("begin {", "}")),
        Kind::Expression => Some(("begin { print(", ") }")),
        Kind::TypeOf => Some(("begin { $__type = (", "); }")),
    };
    if let Some((open, _)) = wrapper {
        files.append(text, "<prompt>", open);
    }
    files.append(text, name, typed);
    let range = files.files.last().map_or(0, |file| file.start)..text.len() as u32;
    if let Some((_, close)) = wrapper {
        files.append(text, "<prompt>", close);
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    range
}

/// The programs whose probe is written within `range` of the script.
fn programs_in(manifest: &Manifest, range: &Range<u32>) -> Vec<usize> {
    let wrapped = |start: u32| range.contains(&start);
    manifest.programs.iter().enumerate().filter(|(_, spec)| wrapped(spec.span.start)).map(|(index, _)| index).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_puts_the_input_after_every_entry_and_statements_in_a_begin_block() {
        let mut book = Book::default();
        let first = book.draft("tracepoint:a:b { @x = count(); }", Kind::Items);
        assert_eq!(first.id, 1);
        assert_eq!(&first.text[first.range.start as usize..first.range.end as usize], "tracepoint:a:b { @x = count(); }");
        book.keep(first, vec![0], State::Live);
        let statement = book.draft("@x", Kind::Expression);
        assert_eq!(statement.id, 0);
        assert_eq!(statement.text, "tracepoint:a:b { @x = count(); }\nbegin { print(\n@x\n) }\n");
        assert_eq!(statement.files.file_at(statement.range.start).name, "<input>");
        book.keep(statement, vec![1], State::Ran);
        let second = book.draft("begin { }", Kind::Items);
        assert_eq!(second.id, 2);
        assert_eq!(second.files.file_at(second.range.start).name, "[2]");
    }

    #[test]
    fn the_saved_script_holds_the_live_items_alone() {
        let mut book = Book::default();
        for (text, kind, state) in [
            ("config = { max_map_keys = 100 }", Kind::Items, State::Live),
            ("tracepoint:a:b { @x = count(); }", Kind::Items, State::Detached),
            ("@x", Kind::Expression, State::Ran),
            ("tracepoint:a:c { @y = count(); }", Kind::Items, State::Live),
        ] {
            let draft = book.draft(text, kind);
            book.keep(draft, Vec::new(), state);
        }
        assert_eq!(book.script(), "config = { max_map_keys = 100 }\ntracepoint:a:c { @y = count(); }\n");
    }
}
