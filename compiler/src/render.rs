//! Renders diagnostics as text with source excerpts; the only module that knows ariadne.

use ariadne::{sources, Color, Config, IndexType, Label, Report, ReportKind};

use crate::diagnostic::{Diagnostic, Severity};
use crate::sources::SourceMap;

/// Renders every diagnostic against `source` (named `filename` in the output), in order.
pub fn render(diagnostics: &[Diagnostic], source: &str, filename: &str, color: bool) -> String {
    render_files(diagnostics, &SourceMap::single(filename, source), color)
}

/// Renders every diagnostic against the files of `map` (a script and its imports), each label
/// shown in the file its span falls in.
pub fn render_files(diagnostics: &[Diagnostic], map: &SourceMap, color: bool) -> String {
    let rendered: Vec<String> = diagnostics.iter().map(|diagnostic| render_one(diagnostic, map, color)).collect();
    rendered.join("\n")
}

fn render_one(diagnostic: &Diagnostic, map: &SourceMap, color: bool) -> String {
    let (severity, primary_color) = match diagnostic.severity {
        Severity::Error => ("error", Color::Red),
        Severity::Warning => ("warning", Color::Yellow),
    };
    // `error[E0101]: message`, rustc's header shape, rather than ariadne's `[E0101] Error:`.
    let header = format!("{severity}[{}]", diagnostic.code);
    let locate = |span: crate::span::Span| {
        let (file, local) = map.local(span);
        let index = map.files.iter().position(|candidate| std::ptr::eq(candidate, file)).unwrap_or(0);
        (FileId { index, name: file.name.clone() }, local.start as usize..local.end as usize)
    };
    let first = FileId { index: 0, name: map.files[0].name.clone() };
    let primary = diagnostic.primary_span().map_or((first, 0..0), locate);
    let config = Config::default().with_color(color).with_index_type(IndexType::Byte);
    let mut report = Report::build(ReportKind::Custom(&header, primary_color), primary)
        .with_config(config)
        .with_message(&diagnostic.message);
    // ariadne starts a new source excerpt whenever a label sits above the previous one, so
    // labels go in in source order.
    let mut labels: Vec<_> = diagnostic.labels.iter().collect();
    labels.sort_by_key(|label| label.span);
    for label in labels {
        let label_color = if label.primary { primary_color } else { Color::Blue };
        report.add_label(Label::new(locate(label.span)).with_message(&label.message).with_color(label_color));
    }
    for note in &diagnostic.notes {
        report.add_note(note);
    }
    if let Some(help) = &diagnostic.help {
        report.add_help(help);
    }
    let mut out = Vec::new();
    let files = sources(map.files.iter().enumerate().map(|(index, file)| (FileId { index, name: file.name.clone() }, file.text.clone())));
    match report.finish().write(files, &mut out) {
        Ok(()) if color => String::from_utf8_lossy(&out).into_owned(),
        Ok(()) => uncolored_header(&String::from_utf8_lossy(&out), &header),
        Err(error) => format!("{header}: {} ({error})\n", diagnostic.message),
    }
}

/// A file of the map as ariadne knows it: by its place, so that two files of one name (the
/// REPL's inputs) stay apart; shown by its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileId {
    index: usize,
    name: String,
}

impl std::fmt::Display for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// ariadne 0.6 paints a custom report kind even when color is off; this removes the escape
/// codes around `header` on the first line, leaving the echoed source untouched.
fn uncolored_header(rendered: &str, header: &str) -> String {
    let (first, rest) = rendered.split_once('\n').unwrap_or((rendered, ""));
    let Some(at) = first.find(header) else { return rendered.to_string() };
    let after = first[at + header.len()..].replacen("\u{1b}[0m", "", 1);
    format!("{header}{after}\n{rest}")
}
