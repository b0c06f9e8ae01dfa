//! bpftrace's JSON output (`-f json`): one object per line with a `type` and its `data`,
//! rendered from the same decoded values as the text output.
//!
//! As bpftrace writes it: `": "` and `", "` between members; a tuple is an array, a record an
//! object, a buffer an array of signed bytes; an integer a double cannot hold exactly is a
//! string; a keyed map is an object keyed by the key's text without spaces or outer
//! parentheses; histogram buckets carry inclusive `min` and `max` (the open ends leave one
//! out); `avg` and `stats` maps are of type `stats`.

use std::fmt::Write as _;
use std::io::{self, Write};

use ferrotrace_compiler::manifest::SourceLocation;

use super::printer::{HelperFailure, Level, Printer};
use super::text;
use super::value::{Histogram, MapBody, MapDump, Series, Value};

/// Writes each piece of output as one JSON line on `out`; notices stay text on `err`.
pub struct JsonPrinter<'o> {
    out: &'o mut dyn Write,
    err: &'o mut dyn Write,
}

impl<'o> JsonPrinter<'o> {
    pub fn new(out: &'o mut dyn Write, err: &'o mut dyn Write) -> JsonPrinter<'o> {
        JsonPrinter { out, err }
    }

    /// `{"type": "<kind>", "data": <data>}` and a newline.
    fn line(&mut self, kind: &str, data: &str) -> io::Result<()> {
        writeln!(self.out, "{{\"type\": \"{kind}\", \"data\": {data}}}")
    }

    fn text_line(&mut self, kind: &str, text: &[u8]) -> io::Result<()> {
        let mut data = String::new();
        string(&mut data, text);
        self.line(kind, &data)
    }
}

impl Printer for JsonPrinter<'_> {
    fn attached(&mut self, probes: usize) -> io::Result<()> {
        self.line("attached_probes", &format!("{{\"probes\": {probes}}}"))
    }

    fn printf(&mut self, text: &[u8]) -> io::Result<()> {
        self.text_line("printf", text)
    }

    /// Not a JSON line: bpftrace writes the iterator's output as it is in every format.
    fn iterator_output(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)
    }

    fn pinned(&mut self, path: &str) -> io::Result<()> {
        writeln!(self.out, "Program pinned to {path}")
    }

    fn command_output(&mut self, text: &[u8]) -> io::Result<()> {
        self.text_line("syscall", text)
    }

    fn file_contents(&mut self, text: &[u8]) -> io::Result<()> {
        self.text_line("cat", text)
    }

    fn time(&mut self, text: &[u8]) -> io::Result<()> {
        self.text_line("time", text)
    }

    fn joined(&mut self, text: &[u8]) -> io::Result<()> {
        self.text_line("join", text.strip_suffix(b"\n").unwrap_or(text))
    }

    fn value(&mut self, value: &Value) -> io::Result<()> {
        let mut data = String::new();
        json_value(&mut data, value);
        self.line("value", &data)
    }

    fn map(&mut self, map: &MapDump) -> io::Result<()> {
        let (kind, data) = map_json(map);
        self.line(kind, &data)
    }

    fn maps_at_exit(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn message(&mut self, level: Level, at: &SourceLocation, text: &str) -> io::Result<()> {
        let kind = match level {
            Level::Error => "errorf",
            Level::Warning => "warnf",
        };
        let mut msg = String::new();
        string(&mut msg, text.trim_end_matches('\n').as_bytes());
        let mut file = String::new();
        string(&mut file, at.file.as_bytes());
        writeln!(self.out, "{{\"type\": \"{kind}\", \"msg\": {msg}, \"filename\": {file}, \"line\": {}, \"col\": {}}}", at.line, at.columns.0)
    }

    /// `{"type": "helper_error", "msg": ..., "helper": ..., "retcode": N, "filename": ...,
    /// "line": N, "col": N}`; the message is the plain error text, as bpftrace writes it.
    fn helper_error(&mut self, failure: &HelperFailure, at: &SourceLocation) -> io::Result<()> {
        let (mut msg, mut helper, mut file) = (String::new(), String::new(), String::new());
        string(&mut msg, failure.error_text().as_bytes());
        string(&mut helper, failure.name().as_bytes());
        string(&mut file, at.file.as_bytes());
        writeln!(
            self.out,
            "{{\"type\": \"helper_error\", \"msg\": {msg}, \"helper\": {helper}, \"retcode\": {}, \"filename\": {file}, \"line\": {}, \"col\": {}}}",
            failure.retcode, at.line, at.columns.0
        )
    }

    fn lost(&mut self, count: u64) -> io::Result<()> {
        self.line("lost_events", &format!("{{\"events\": {count}}}"))
    }

    fn notice(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.err, "{text}")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `{"type": "test_result", "data": {"<name>": {"duration": <ns>, "passed": <bool>, "output": "..."}}}`.
pub fn test_result_line(name: &str, duration_ns: u128, passed: bool, output: &[u8]) -> String {
    let (mut name_json, mut output_json) = (String::new(), String::new());
    string(&mut name_json, name.as_bytes());
    string(&mut output_json, output);
    format!("{{\"type\": \"test_result\", \"data\": {{{name_json}: {{\"duration\": {duration_ns}, \"passed\": {passed}, \"output\": {output_json}}}}}}}")
}

/// `{"type": "benchmark_result", "data": {"<name>": {"average": <ns>, "iters": <runs>}}}`.
pub fn benchmark_result_line(name: &str, average_ns: u128, iterations: u32) -> String {
    let mut name_json = String::new();
    string(&mut name_json, name.as_bytes());
    format!("{{\"type\": \"benchmark_result\", \"data\": {{{name_json}: {{\"average\": {average_ns}, \"iters\": {iterations}}}}}}}")
}

/// The line type of `map` and its `data`: `{"@name": ...}`.
pub fn map_json(map: &MapDump) -> (&'static str, String) {
    let mut data = String::from("{");
    string(&mut data, map.name.as_bytes());
    data.push_str(": ");
    let kind = match &map.body {
        MapBody::Scalar(value) => {
            json_value(&mut data, value);
            "map"
        }
        MapBody::Keyed(entries) => {
            keyed(&mut data, entries, json_value);
            "map"
        }
        MapBody::Histogram(histogram) => {
            buckets(&mut data, histogram);
            "hist"
        }
        MapBody::KeyedHistograms(entries) => {
            keyed(&mut data, entries, buckets);
            "hist"
        }
        MapBody::Series(entries) => {
            // A keyless map has one series and no key; a keyed map a key for each.
            match entries.first() {
                Some((None, series)) => points(&mut data, series),
                _ => {
                    let keyed_series: Vec<(Value, &Series)> =
                        entries.iter().filter_map(|(key, series)| Some((key.clone()?, series))).collect();
                    keyed(&mut data, &keyed_series, |out, series| points(out, series));
                }
            }
            "tseries"
        }
    };
    data.push('}');
    (if map.averaged { "stats" } else { kind }, data)
}

/// `{"key": <value>, ...}`, each key as its text without spaces or outer parentheses.
fn keyed<T>(out: &mut String, entries: &[(Value, T)], mut write: impl FnMut(&mut String, &T)) {
    out.push('{');
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        string(out, &key_text(key));
        out.push_str(": ");
        write(out, value);
    }
    out.push('}');
}

/// A key as JSON names it: its text form with one pair of outer parentheses and every space
/// removed (`(bpftrace, 2)` is `bpftrace,2`), enums by number as JSON gives them.
fn key_text(key: &Value) -> Vec<u8> {
    let text = text::value_text(&enums_as_numbers(key));
    let inner = match text.as_slice() {
        [b'(', inner @ .., b')'] => inner,
        whole => whole,
    };
    inner.iter().copied().filter(|&b| b != b' ').collect()
}

/// `value` with every enum replaced by its number.
fn enums_as_numbers(value: &Value) -> Value {
    match value {
        Value::Enum { number, .. } => (**number).clone(),
        Value::Tuple(fields) => Value::Tuple(fields.iter().map(enums_as_numbers).collect()),
        Value::Array(elements) => Value::Array(elements.iter().map(enums_as_numbers).collect()),
        Value::Record(fields) => {
            Value::Record(fields.iter().map(|(name, field)| (name.clone(), enums_as_numbers(field))).collect())
        }
        other => other.clone(),
    }
}

/// `[{"min": 2, "max": 3, "count": 1}, ...]`.
fn buckets(out: &mut String, histogram: &Histogram) {
    out.push('[');
    for (i, row) in histogram.rows.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('{');
        if let Some(min) = row.bounds.min {
            out.push_str("\"min\": ");
            integer(out, i128::from(min));
            out.push_str(", ");
        }
        if let Some(max) = row.bounds.max {
            out.push_str("\"max\": ");
            integer(out, i128::from(max));
            out.push_str(", ");
        }
        out.push_str("\"count\": ");
        integer(out, i128::from(row.count));
        out.push('}');
    }
    out.push(']');
}

/// `[{"interval_start": "<time>", "value": 9}, ...]`: the intervals with a value, each named
/// by the local time it starts at.
fn points(out: &mut String, series: &Series) {
    out.push('[');
    let mut first = true;
    for (epoch, value) in &series.points {
        let Some(value) = value else { continue };
        if !first {
            out.push_str(", ");
        }
        first = false;
        out.push_str("{\"interval_start\": ");
        string(out, &super::clock::local_timestamp(epoch * series.interval_ns));
        out.push_str(", \"value\": ");
        integer(out, i128::from(*value));
        out.push('}');
    }
    out.push(']');
}

/// One value: numbers, strings, `true`/`false`, arrays for tuples and buffers, objects for
/// records.
pub fn json_value(out: &mut String, value: &Value) {
    match value {
        Value::Int(v) => integer(out, i128::from(*v)),
        Value::UInt(v) | Value::Pointer(v) => integer(out, i128::from(*v)),
        Value::Enum { number, .. } => json_value(out, number),
        Value::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
        Value::Str { .. } | Value::Probe(_) => string(out, &text::value_text(value)),
        Value::Buffer(bytes) => {
            out.push('[');
            for (i, byte) in bytes.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}", *byte as i8);
            }
            out.push(']');
        }
        Value::Tuple(fields) | Value::Array(fields) => {
            out.push('[');
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_value(out, field);
            }
            out.push(']');
        }
        Value::Record(fields) => {
            out.push('{');
            for (i, (name, field)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                string(out, name.as_bytes());
                out.push_str(": ");
                json_value(out, field);
            }
            out.push('}');
        }
    }
}

/// An integer as a number when a double holds it exactly, else as a string of its digits.
fn integer(out: &mut String, value: i128) {
    let exact = (value as f64) as i128 == value;
    let _ = if exact { write!(out, "{value}") } else { write!(out, "\"{value}\"") };
}

/// A JSON string of `bytes` (invalid UTF-8 replaced): `"` and `\` escaped, `\n`, `\r`, `\t`,
/// and other control characters as `\u00XX`.
fn string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::value::{BucketLabel, HistRow, LabelNumber};
    use ferrotrace_compiler::buckets::BucketBounds;

    fn render(value: &Value) -> String {
        let mut out = String::new();
        json_value(&mut out, value);
        out
    }

    #[test]
    fn integers_a_double_cannot_hold_are_strings() {
        assert_eq!(render(&Value::UInt(5)), "5");
        assert_eq!(render(&Value::Int(-7)), "-7");
        assert_eq!(render(&Value::UInt(1 << 60)), "1152921504606846976");
        assert_eq!(render(&Value::UInt(u64::MAX)), "\"18446744073709551615\"");
        assert_eq!(render(&Value::Int(i64::MAX)), "\"9223372036854775807\"");
        assert_eq!(render(&Value::UInt((1 << 53) + 1)), "\"9007199254740993\"");
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters() {
        let value = Value::Str { bytes: b"a\"b\\c\n\r\t\x01\xff".to_vec(), truncated: false };
        assert_eq!(render(&value), "\"a\\\"b\\\\c\\n\\r\\t\\u0001\u{fffd}\"");
    }

    #[test]
    fn tuples_are_arrays_records_objects_and_buffers_signed_bytes() {
        let value = Value::Tuple(vec![
            Value::UInt(1),
            Value::Record(vec![("m".into(), Value::UInt(2)), ("n".into(), Value::Bool(true))]),
            Value::Buffer(vec![104, 255]),
        ]);
        assert_eq!(render(&value), "[1, {\"m\": 2, \"n\": true}, [104, -1]]");
    }

    #[test]
    fn keyed_maps_name_entries_by_their_key_text_without_spaces() {
        let key = Value::Tuple(vec![Value::Str { bytes: b"a b".to_vec(), truncated: false }, Value::UInt(2)]);
        let map = MapDump { name: "@m".into(), body: MapBody::Keyed(vec![(key, Value::UInt(5))]), averaged: false };
        assert_eq!(map_json(&map), ("map", "{\"@m\": {\"ab,2\": 5}}".to_string()));
    }

    #[test]
    fn histograms_leave_out_the_open_bound_and_averages_are_stats() {
        let row = |min, max, count| HistRow { label: BucketLabel::Single(LabelNumber::plain(0)), bounds: BucketBounds { min, max }, count };
        let histogram = Histogram { rows: vec![row(None, Some(-1), 1), row(Some(2), Some(3), 4), row(Some(100), None, 2)] };
        let map = MapDump { name: "@h".into(), body: MapBody::Histogram(histogram), averaged: false };
        assert_eq!(
            map_json(&map),
            ("hist", "{\"@h\": [{\"max\": -1, \"count\": 1}, {\"min\": 2, \"max\": 3, \"count\": 4}, {\"min\": 100, \"count\": 2}]}".to_string())
        );
        let avg = MapDump { name: "@a".into(), body: MapBody::Scalar(Value::Int(6)), averaged: true };
        assert_eq!(map_json(&avg), ("stats", "{\"@a\": 6}".to_string()));
    }
}
