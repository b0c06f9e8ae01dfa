//! Output: turns map entries and ring buffer records into what bpftrace 0.26 prints.
//!
//! Two steps: `decode`/`merge`/`table` turn kernel bytes into the value model of `value`, and a
//! `printer::Printer` writes that model as text (`text`) or as JSON lines (`json`). `printf`
//! formats printf records, `clock` the time of `time()` records.
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
mod json;
mod outside;
mod merge;
mod printer;
mod printf;
mod series;
pub mod stacks;
mod symbols;
mod table;
mod text;
mod value;

#[cfg(test)]
mod tests;

use ferrotrace_compiler::types::Ty;


pub use clock::{tai_minus_boot_ns, wall_clock};
pub use error::OutputError;
pub use joined::joined;
pub use outside::{command_output, file_contents};
pub use json::{benchmark_result_line, test_result_line};
pub use printer::{printer, Format, HelperFailure, Level, Printer};
pub use printf::render_printf;
pub use table::dump_map;
pub use decode::set_string_read_size;
pub use text::set_truncation_trailer;
pub use value::{BucketLabel, HistRow, Histogram, LabelNumber, MapBody, MapDump, Value};

/// The value of a `print(value)` record of type `ty`.
pub fn decode_value(ty: &Ty, bytes: &[u8], probe_names: &[String]) -> Result<Value, OutputError> {
    decode::decode(ty, bytes, probe_names)
}
