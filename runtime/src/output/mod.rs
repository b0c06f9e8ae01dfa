//! Output: turns map entries and ring buffer records into the text bpftrace 0.26 prints.
//!
//! Pure functions over bytes, in two steps: `decode`/`merge`/`table` turn kernel bytes into the
//! value model of `value`, and `text` renders that model (a JSON renderer would be a sibling of
//! `text`). `printf` formats printf records, `clock` the time of `time()` records.
//!
//! What bpftrace 0.26 prints around maps (its `TextOutput::map` and the exit path in
//! `BPFtrace::run`): at exit it prints `"\n\n"`, then each map with no separator of its own; a
//! keyless map is one line `@m: 1`, a keyed map one line per entry, and a histogram is `@m:`
//! (or `@m[key]:` per key), its bucket lines, then one empty line. `print(@m)` prints the same.

pub(crate) mod clock;
mod decode;
mod error;
mod histogram;
mod joined;
mod outside;
mod merge;
mod printf;
mod series;
mod symbols;
mod table;
mod text;
mod value;

#[cfg(test)]
mod tests;

use ferrotrace_compiler::manifest::UserMap;
use ferrotrace_compiler::types::Ty;

use crate::entry::RawEntry;

pub use clock::wall_clock;
pub use error::OutputError;
pub use joined::joined;
pub use outside::{command_output, file_contents};
pub use printf::render_printf;
pub use table::dump_map;
pub use decode::set_string_read_size;
pub use text::set_truncation_trailer;
pub use value::{BucketLabel, HistRow, Histogram, LabelNumber, MapBody, MapDump, Value};

/// Renders a whole user map for end-of-run printing or `print(@m, top, div)` in text mode,
/// exactly as bpftrace 0.26 prints it, including the empty line after a histogram. Empty for
/// a map bpftrace would not print (no entries). `top` 0 prints every entry; `div` 0 means 1.
pub fn render_map_text(
    map: &UserMap,
    entries: &[RawEntry],
    top: u64,
    div: u64,
    probe_names: &[String],
) -> Result<Vec<u8>, OutputError> {
    let dump = dump_map(map, entries, top, div, probe_names)?;
    Ok(dump.as_ref().map(text::map_text).unwrap_or_default())
}

/// `print(value)` of a non-map value: the value as map printing shows it, then a newline.
pub fn render_print_value(
    ty: &Ty,
    bytes: &[u8],
    probe_names: &[String],
) -> Result<Vec<u8>, OutputError> {
    let value = decode::decode(ty, bytes, probe_names)?;
    let mut out = text::value_text(&value);
    out.push(b'\n');
    Ok(out)
}
