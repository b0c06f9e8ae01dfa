//! Renders diagnostics as text with source excerpts; the only module that knows ariadne.

use ariadne::{Color, Config, IndexType, Label, Report, ReportKind, Source};

use crate::diagnostic::{Diagnostic, Severity};

/// Renders every diagnostic against `source` (named `filename` in the output), in order.
pub fn render(diagnostics: &[Diagnostic], source: &str, filename: &str, color: bool) -> String {
    let rendered: Vec<String> =
        diagnostics.iter().map(|diagnostic| render_one(diagnostic, source, filename, color)).collect();
    rendered.join("\n")
}

fn render_one(diagnostic: &Diagnostic, source: &str, filename: &str, color: bool) -> String {
    let (severity, primary_color) = match diagnostic.severity {
        Severity::Error => ("error", Color::Red),
        Severity::Warning => ("warning", Color::Yellow),
    };
    // `error[E0101]: message`, rustc's header shape, rather than ariadne's `[E0101] Error:`.
    let header = format!("{severity}[{}]", diagnostic.code);
    let clamp = |span: crate::span::Span| {
        let end = (span.end as usize).min(source.len());
        (span.start as usize).min(end)..end
    };
    let primary = diagnostic.primary_span().map_or(0..0, clamp);
    let config = Config::default().with_color(color).with_index_type(IndexType::Byte);
    let mut report = Report::build(ReportKind::Custom(&header, primary_color), (filename, primary))
        .with_config(config)
        .with_message(&diagnostic.message);
    // ariadne starts a new source excerpt whenever a label sits above the previous one, so
    // labels go in in source order.
    let mut labels: Vec<_> = diagnostic.labels.iter().collect();
    labels.sort_by_key(|label| label.span);
    for label in labels {
        let label_color = if label.primary { primary_color } else { Color::Blue };
        report.add_label(
            Label::new((filename, clamp(label.span))).with_message(&label.message).with_color(label_color),
        );
    }
    for note in &diagnostic.notes {
        report.add_note(note);
    }
    if let Some(help) = &diagnostic.help {
        report.add_help(help);
    }
    let mut out = Vec::new();
    match report.finish().write((filename, Source::from(source)), &mut out) {
        Ok(()) if color => String::from_utf8_lossy(&out).into_owned(),
        Ok(()) => uncolored_header(&String::from_utf8_lossy(&out), &header),
        Err(error) => format!("{header}: {} ({error})\n", diagnostic.message),
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
