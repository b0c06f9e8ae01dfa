//! Text rendering, byte for byte as bpftrace 0.26 prints: values, whole maps, histograms.

use std::borrow::Cow;

use ferrotrace_compiler::printf::BufferStyle;

use super::value::{BucketLabel, HistRow, Histogram, LabelNumber, MapBody, MapDump, Value};

/// Where value text goes. Plain output writes straight through; printf's `%s` goes through a
/// sink that pads the first piece to the field width and signs numbers for `%+s`, as bpftrace's
/// stream-based printf does.
pub trait TextSink {
    /// An indivisible piece of text: a string, a bracket, a separator.
    fn text(&mut self, bytes: &[u8]);
    fn signed(&mut self, value: i64);
    fn unsigned(&mut self, value: u64);
}

impl TextSink for Vec<u8> {
    fn text(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn signed(&mut self, value: i64) {
        self.extend_from_slice(value.to_string().as_bytes());
    }

    fn unsigned(&mut self, value: u64) {
        self.extend_from_slice(value.to_string().as_bytes());
    }
}

/// Writes `value` as bpftrace prints it: strings unquoted (cut strings end with `..`), tuples
/// as `(1, a)`, records as `{ .a = 1 }`, pointers in hex, probes and enums by name.
pub fn write_value(sink: &mut impl TextSink, value: &Value) {
    match value {
        Value::Int(value) => sink.signed(*value),
        Value::UInt(value) => sink.unsigned(*value),
        Value::Bool(value) => sink.text(if *value { b"true" } else { b"false" }),
        Value::Str { bytes, truncated } => {
            let mut text = bytes.clone();
            if *truncated {
                text.extend_from_slice(truncation_trailer());
            }
            sink.text(&text);
        }
        Value::Buffer(bytes) => sink.text(&buffer_text(bytes, BufferStyle::Escaped)),
        Value::Tuple(fields) => write_list(sink, fields, b"(", b", ", b")"),
        Value::Array(elements) => write_list(sink, elements, b"[", b",", b"]"),
        Value::Record(fields) => write_record(sink, fields),
        Value::Probe(name) => sink.text(name.as_bytes()),
        Value::Pointer(address) => sink.text(format!("0x{address:x}").as_bytes()),
        Value::Enum { name: Some(name), .. } => sink.text(name.as_bytes()),
        Value::Enum { name: None, number } => write_value(sink, number),
    }
}

/// `values` between `open` and `close`, `separator` between them: `(1, a)`, `[1,2,3]`.
fn write_list(sink: &mut impl TextSink, values: &[Value], open: &[u8], separator: &[u8], close: &[u8]) {
    sink.text(open);
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            sink.text(separator);
        }
        write_value(sink, value);
    }
    sink.text(close);
}

fn write_record(sink: &mut impl TextSink, fields: &[(Cow<'static, str>, Value)]) {
    if fields.is_empty() {
        sink.text(b"{}");
        return;
    }
    sink.text(b"{ ");
    for (i, (name, field)) in fields.iter().enumerate() {
        if i > 0 {
            sink.text(b", ");
        }
        sink.text(b".");
        sink.text(name.as_bytes());
        sink.text(b" = ");
        write_value(sink, field);
    }
    sink.text(b" }");
}

/// A value as plain text.
pub fn value_text(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out
}

/// A whole map: `@m: 1` for a keyless map, one `@m[key]: value` line per entry, and for
/// histograms `@m:` (or `@m[key]:`), the bucket lines and an empty line.
pub fn map_text(map: &MapDump) -> Vec<u8> {
    let mut out = Vec::new();
    let name = map.name.as_bytes();
    match &map.body {
        MapBody::Scalar(value) => {
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            write_value(&mut out, value);
            out.push(b'\n');
        }
        MapBody::Keyed(entries) => {
            for (key, value) in entries {
                write_key(&mut out, name, key);
                out.extend_from_slice(b": ");
                write_value(&mut out, value);
                out.push(b'\n');
            }
        }
        MapBody::Histogram(histogram) => {
            out.extend_from_slice(name);
            out.extend_from_slice(b":\n");
            write_histogram(&mut out, histogram);
            out.push(b'\n');
        }
        MapBody::Series(entries) => {
            for (key, series) in entries {
                match key {
                    Some(key) => write_key(&mut out, name, key),
                    None => out.extend_from_slice(name),
                }
                out.extend_from_slice(b":\n");
                out.extend_from_slice(&super::series::chart(series));
                out.push(b'\n');
            }
        }
        MapBody::KeyedHistograms(entries) => {
            for (key, histogram) in entries {
                write_key(&mut out, name, key);
                out.extend_from_slice(b":\n");
                write_histogram(&mut out, histogram);
                out.push(b'\n');
            }
        }
    }
    out
}

/// `@name[key]`, where a key that prints with outer parentheses (a tuple) loses them.
fn write_key(out: &mut Vec<u8>, name: &[u8], key: &Value) {
    let text = value_text(key);
    let inner = match text.as_slice() {
        [b'(', inner @ .., b')'] => inner,
        whole => whole,
    };
    out.extend_from_slice(name);
    out.push(b'[');
    out.extend_from_slice(inner);
    out.push(b']');
}

/// The width of a full histogram bar.
const BAR_WIDTH: usize = 52;

/// One line per row: label left-aligned in 16 columns, count right-aligned in 8, then a bar
/// scaled to the largest count.
fn write_histogram(out: &mut Vec<u8>, histogram: &Histogram) {
    let max = histogram
        .rows
        .iter()
        .map(|row| row.count)
        .max()
        .unwrap_or(0);
    for row in &histogram.rows {
        let bar = "@".repeat(bar_length(row.count, max));
        let line = format!(
            "{:<16}{:>8} |{bar:<BAR_WIDTH$}|\n",
            label_text(row),
            row.count
        );
        out.extend_from_slice(line.as_bytes());
    }
}

/// `count / max * 52` in single precision, truncated, as bpftrace computes it.
fn bar_length(count: u64, max: u64) -> usize {
    if max == 0 {
        return 0;
    }
    let length = (count as f32 / max as f32) * BAR_WIDTH as f32;
    (length as usize).min(BAR_WIDTH)
}

fn label_text(row: &HistRow) -> String {
    match row.label {
        BucketLabel::Below(upper) => format!("(..., {})", number_text(upper)),
        BucketLabel::Single(value) => format!("[{}]", number_text(value)),
        BucketLabel::Range(lower, upper) => {
            format!("[{}, {})", number_text(lower), number_text(upper))
        }
        BucketLabel::AtLeast(lower) => format!("[{}, ...)", number_text(lower)),
    }
}

fn number_text(number: LabelNumber) -> String {
    match number.suffix {
        Some(suffix) => format!("{}{suffix}", number.mantissa),
        None => number.mantissa.to_string(),
    }
}

/// A buffer's bytes as `%r` (and `print`), `%rx` or `%rh` show them.
pub fn buffer_text(bytes: &[u8], style: BufferStyle) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    for (i, &byte) in bytes.iter().enumerate() {
        match style {
            BufferStyle::Escaped if (32..=126).contains(&byte) => out.push(byte),
            BufferStyle::Escaped | BufferStyle::Hex => out.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
            BufferStyle::HexSpaced => {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(format!("{byte:02x}").as_bytes());
            }
        }
    }
    out
}

/// What follows a string cut at its size: the script's `str_trunc_trailer`, set once when it
/// starts; `..` until then.
static TRAILER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Sets the text printed after a string cut at its size (the first call wins).
pub fn set_truncation_trailer(trailer: &str) {
    let _ = TRAILER.set(trailer.as_bytes().to_vec());
}

fn truncation_trailer() -> &'static [u8] {
    TRAILER.get().map_or(b"..", Vec::as_slice)
}
