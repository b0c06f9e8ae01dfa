//! The table layout: rows as one markdown table with aligned columns, numbers in human units,
//! and the full text of any error as a numbered note under the table.

use crate::report::{Cell, Met, Row, Target, Unit};

const HEADER: [&str; 7] = ["row", "metric", "ferrotrace", "bpftrace", "ratio", "target", "met"];
/// Columns of numbers, aligned right.
const NUMERIC: [bool; 7] = [false, false, true, true, true, false, false];

/// The whole table, then the notes its error cells point to.
pub fn render(rows: &[Row]) -> String {
    let mut notes: Vec<Note> = Vec::new();
    let mut lines: Vec<[String; 7]> = vec![HEADER.map(str::to_string)];
    for row in rows {
        let ferrotrace = cell(&row.ferrotrace, row.unit, &mut notes, "ferrotrace", row);
        let bpftrace = cell(&row.bpftrace, row.unit, &mut notes, "bpftrace", row);
        let ratio = row.ratio().map_or_else(|| "-".to_string(), format_ratio);
        let met = match row.met() {
            Met::Yes => "yes",
            Met::No => "no",
            Met::Unknown => "-",
        };
        lines.push([row.row.clone(), row.metric.clone(), ferrotrace, bpftrace, ratio, target(row), met.to_string()]);
    }
    let mut widths = [0; 7];
    for line in &lines {
        for (width, text) in widths.iter_mut().zip(line) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        out.push_str(&table_line(line.iter().map(String::as_str), &widths));
        if index == 0 {
            let rule = widths.iter().zip(NUMERIC).map(|(width, right)| {
                let dashes = "-".repeat((*width).max(3));
                if right {
                    format!("{}:", &dashes[1..])
                } else {
                    dashes
                }
            });
            out.push_str(&table_line(rule.collect::<Vec<_>>().iter().map(String::as_str), &widths));
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        for (index, note) in notes.iter().enumerate() {
            let mut text = note.text.lines();
            out.push_str(&format!("[{}] {}\n", index + 1, text.next().unwrap_or_default()));
            for more in text {
                out.push_str(&format!("    {more}\n"));
            }
        }
    }
    out
}

/// `| a | b |` with every cell padded to its column's width.
fn table_line<'a>(cells: impl Iterator<Item = &'a str>, widths: &[usize; 7]) -> String {
    let padded: Vec<String> = cells
        .zip(widths.iter().zip(NUMERIC))
        .map(|(text, (width, right))| if right { format!("{text:>width$}") } else { format!("{text:<width$}") })
        .collect();
    format!("| {} |\n", padded.join(" | "))
}

/// An error's full text under the table; one per tool and message, however many cells show it.
struct Note {
    tool: &'static str,
    message: String,
    text: String,
}

/// A cell's text; an error becomes `error [n]` and its message note n.
fn cell(cell: &Cell, unit: Unit, notes: &mut Vec<Note>, tool: &'static str, row: &Row) -> String {
    match cell {
        Cell::Value(value) => format_value(*value, unit),
        Cell::NotRun => "-".to_string(),
        Cell::Timeout => "timeout".to_string(),
        Cell::Error(message) => {
            let message = message.trim();
            let seen = notes.iter().position(|note| note.tool == tool && note.message == message);
            let index = seen.unwrap_or_else(|| {
                let text = format!("{tool}, {} {}: {message}", row.row, row.metric);
                notes.push(Note { tool, message: message.to_string(), text });
                notes.len() - 1
            });
            format!("error [{}]", index + 1)
        }
    }
}

fn target(row: &Row) -> String {
    match row.target {
        Target::None => "-".to_string(),
        Target::RatioAtMost(limit) => format!("<= {limit:.1}x"),
        Target::Below(limit) => format!("< {}", format_value(limit, row.unit)),
        Target::AtMost(limit) => format!("<= {}", format_value(limit, row.unit)),
        Target::AtLeast(limit) => format!(">= {}", format_value(limit, row.unit)),
    }
}

/// A value in its unit: `12.3 ms`, `8.1 MiB`, `41.2 ns`, `25`, `200,000`, `1,234/s`, `8.3x`.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Ms => format!("{value:.1} ms"),
        Unit::MiB => format!("{value:.1} MiB"),
        Unit::NsPerEvent => format!("{value:.1} ns"),
        Unit::Insns => format!("{value:.0}"),
        Unit::Count => thousands(value),
        Unit::PerSecond => format!("{}/s", thousands(value)),
        Unit::Times => format!("{value:.1}x"),
    }
}

/// ferrotrace/bpftrace with as many decimals as small ratios need: `12.5x`, `0.45x`, `0.012x`.
pub fn format_ratio(ratio: f64) -> String {
    match ratio {
        r if r >= 10.0 => format!("{r:.1}x"),
        r if r >= 0.1 => format!("{r:.2}x"),
        r => format!("{r:.3}x"),
    }
}

/// A whole number with commas: `1,234,567`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{format_ratio, format_value, render};
    use crate::report::{Cell, Row, Target, Unit};

    #[test]
    fn values_print_in_their_units() {
        assert_eq!(format_value(12.34, Unit::Ms), "12.3 ms");
        assert_eq!(format_value(8.06, Unit::MiB), "8.1 MiB");
        assert_eq!(format_value(41.25, Unit::NsPerEvent), "41.2 ns");
        assert_eq!(format_value(25.0, Unit::Insns), "25");
        assert_eq!(format_value(200_000.0, Unit::Count), "200,000");
        assert_eq!(format_value(999.0, Unit::Count), "999");
        assert_eq!(format_value(0.0, Unit::Count), "0");
        assert_eq!(format_value(1_234_567.4, Unit::PerSecond), "1,234,567/s");
        assert_eq!(format_value(8.26, Unit::Times), "8.3x");
    }

    #[test]
    fn ratios_keep_two_significant_digits_when_small() {
        assert_eq!(format_ratio(12.46), "12.5x");
        assert_eq!(format_ratio(0.4512), "0.45x");
        assert_eq!(format_ratio(0.01234), "0.012x");
    }

    #[test]
    fn the_table_is_aligned_markdown_with_notes_for_errors() {
        let rows = [
            Row::new("startup", "wall", Unit::Ms, Cell::Value(4.0), Cell::Value(400.0))
                .target(Target::RatioAtMost(0.1)),
            Row::new(
                "cost per event",
                "hist: cost",
                Unit::NsPerEvent,
                Cell::Error("no `@h:` in\nthe output".into()),
                Cell::Value(80.0),
            )
            .target(Target::RatioAtMost(0.7)),
            Row::new(
                "cost per event",
                "hist: insns",
                Unit::Insns,
                Cell::Error("no `@h:` in\nthe output".into()),
                Cell::Value(40.0),
            )
            .target(Target::RatioAtMost(1.0)),
            Row::new("compile", "10,000 lines", Unit::Ms, Cell::Value(50.0), Cell::Timeout)
                .target(Target::Below(100.0)),
            Row::new("compile", "10k/1k", Unit::Times, Cell::Value(9.0), Cell::NotRun)
                .uncompared()
                .target(Target::Below(12.0)),
        ];
        let expected = "\
| row            | metric       | ferrotrace | bpftrace |  ratio | target     | met |
| -------------- | ------------ | ---------: | -------: | -----: | ---------- | --- |
| startup        | wall         |     4.0 ms | 400.0 ms | 0.010x | <= 0.1x    | yes |
| cost per event | hist: cost   |  error [1] |  80.0 ns |      - | <= 0.7x    | no  |
| cost per event | hist: insns  |  error [1] |       40 |      - | <= 1.0x    | no  |
| compile        | 10,000 lines |    50.0 ms |  timeout |      - | < 100.0 ms | yes |
| compile        | 10k/1k       |       9.0x |        - |      - | < 12.0x    | yes |

[1] ferrotrace, cost per event hist: cost: no `@h:` in
    the output
";
        assert_eq!(render(&rows), expected);
    }
}
