//! printf rendering, byte for byte as bpftrace 0.26 does it.
//!
//! bpftrace formats each conversion with a C++ output stream, not with C's printf, and that
//! shows in the output; this module copies it:
//! - without a length modifier, `%d %i` print the low 32 bits as signed and `%u %x %X %o` as
//!   unsigned (`%ld`, `%lld`, `%zd`, `%jd` print all 64 bits; `%hd`/`%hhd` 16 and 8);
//! - width pads with spaces on the left, or on the right under `-`; under `0` (without `-`)
//!   it pads with zeros after the sign and base prefix, as C does (`%05d` of -42 is `-0042`);
//! - precision and the space flag are read but ignored (they only matter for floating point);
//! - `#` prefixes `0x`/`0X`/`0` to non-zero hex and octal numbers; `+` signs `%d` and `%s`
//!   integers;
//! - `%p` prints `0x` and lowercase hex, and a null pointer as `0`;
//! - `%s` prints any value as map printing does, with the width applied to its first piece.

use ferrotrace_compiler::printf::{Conversion, FormatPiece, FormatSpec, LengthModifier};
use ferrotrace_compiler::types::Ty;

use super::decode::decode_fields;
use super::error::OutputError;
use super::text::{buffer_text, value_text, write_value, TextSink};
use super::value::Value;

/// Formats one printf record: `args` are the record's bytes after the 8-byte action id,
/// holding `arg_types` packed as a tuple.
pub fn render_printf(
    pieces: &[FormatPiece],
    arg_types: &[Ty],
    args: &[u8],
    probe_names: &[String],
) -> Result<Vec<u8>, OutputError> {
    let values = decode_fields(arg_types, args, probe_names)?;
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            FormatPiece::Literal(text) => out.extend_from_slice(text),
            FormatPiece::Spec(spec) => {
                let value = values
                    .get(spec.arg)
                    .ok_or(OutputError::MissingArgument { index: spec.arg })?;
                out.extend(format_spec(spec, value));
            }
        }
    }
    Ok(out)
}

fn format_spec(spec: &FormatSpec, value: &Value) -> Vec<u8> {
    let mut field = Field::new(spec);
    if spec.conversion == Conversion::Str {
        write_value(&mut field, value);
        return field.out;
    }
    if let (Conversion::Buffer(style), Value::Buffer(bytes)) = (spec.conversion, value) {
        field.text(&buffer_text(bytes, style));
        return field.out;
    }
    let Some(bits) = value.integer_bits() else {
        // bpftrace's own marker for a value it cannot format as a number.
        let mut out = b"!{invalid integer conversion: ".to_vec();
        out.extend(value_text(value));
        out.push(b'}');
        return out;
    };
    match spec.conversion {
        Conversion::Signed => field.signed(signed_cast(bits, spec.length)),
        Conversion::Unsigned | Conversion::HexLower | Conversion::HexUpper | Conversion::Octal => {
            field.unsigned(unsigned_cast(bits, spec.length))
        }
        Conversion::Char => field.text(&[bits as u8]),
        Conversion::Pointer => field.pointer(bits),
        Conversion::Str | Conversion::Buffer(_) => {}
    }
    field.out
}

/// The value as the C type the length modifier names (`int` when there is none).
fn signed_cast(bits: u64, length: LengthModifier) -> i64 {
    match length {
        LengthModifier::None => i64::from(bits as u32 as i32),
        LengthModifier::Char => i64::from(bits as u8 as i8),
        LengthModifier::Short => i64::from(bits as u16 as i16),
        LengthModifier::Long
        | LengthModifier::LongLong
        | LengthModifier::Size
        | LengthModifier::Max => bits as i64,
    }
}

/// The value as the unsigned C type the length modifier names (`unsigned int` when none).
fn unsigned_cast(bits: u64, length: LengthModifier) -> u64 {
    match length {
        LengthModifier::None => u64::from(bits as u32),
        LengthModifier::Char => u64::from(bits as u8),
        LengthModifier::Short => u64::from(bits as u16),
        LengthModifier::Long
        | LengthModifier::LongLong
        | LengthModifier::Size
        | LengthModifier::Max => bits,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    Decimal,
    Octal,
    Hex { upper: bool },
}

/// One conversion's output with the stream state bpftrace sets up for it.
struct Field {
    out: Vec<u8>,
    /// Applies to the next piece of text only, as a stream's width does.
    width: usize,
    fill: u8,
    left: bool,
    plus: bool,
    show_base: bool,
    base: Base,
}

impl Field {
    fn new(spec: &FormatSpec) -> Field {
        let base = match spec.conversion {
            Conversion::Octal => Base::Octal,
            Conversion::HexLower => Base::Hex { upper: false },
            Conversion::HexUpper => Base::Hex { upper: true },
            _ => Base::Decimal,
        };
        Field {
            out: Vec::new(),
            width: spec.width.unwrap_or(0) as usize,
            fill: if spec.flags.zero { b'0' } else { b' ' },
            left: spec.flags.left,
            plus: spec.flags.plus,
            show_base: spec.flags.alternate,
            base,
        }
    }

    /// Hex with a `0x` prefix, or `0` for null: how a C++ stream prints a `void *`.
    fn pointer(&mut self, address: u64) {
        let text = if address == 0 {
            "0".to_string()
        } else {
            format!("0x{address:x}")
        };
        self.text(text.as_bytes());
    }
}

impl TextSink for Field {
    fn text(&mut self, bytes: &[u8]) {
        let padding = self.width.saturating_sub(bytes.len());
        if self.fill == b'0' && !self.left {
            // As in C: zeros go after the sign and the `0x` prefix, never before them.
            let prefix = numeric_prefix_len(bytes);
            self.out.extend_from_slice(&bytes[..prefix]);
            self.out.extend(std::iter::repeat_n(b'0', padding));
            self.out.extend_from_slice(&bytes[prefix..]);
            self.width = 0;
            return;
        }
        let fill = std::iter::repeat_n(b' ', padding);
        if self.left {
            self.out.extend_from_slice(bytes);
            self.out.extend(fill);
        } else {
            self.out.extend(fill);
            self.out.extend_from_slice(bytes);
        }
        self.width = 0;
    }

    /// Signed numbers only ever print in decimal here: `%o %x %X` go through `unsigned`.
    fn signed(&mut self, value: i64) {
        let sign = if self.plus && value >= 0 { "+" } else { "" };
        self.text(format!("{sign}{value}").as_bytes());
    }

    fn unsigned(&mut self, value: u64) {
        let text = match (self.base, self.show_base && value != 0) {
            (Base::Decimal, _) => value.to_string(),
            (Base::Octal, false) => format!("{value:o}"),
            (Base::Octal, true) => format!("0{value:o}"),
            (Base::Hex { upper: false }, false) => format!("{value:x}"),
            (Base::Hex { upper: false }, true) => format!("0x{value:x}"),
            (Base::Hex { upper: true }, false) => format!("{value:X}"),
            (Base::Hex { upper: true }, true) => format!("0X{value:X}"),
        };
        self.text(text.as_bytes());
    }
}

/// The length of a number's sign and base prefix (`-`, `+`, `0x`, `0X`), which zero padding
/// goes after.
fn numeric_prefix_len(bytes: &[u8]) -> usize {
    let sign = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let rest = &bytes[sign..];
    if rest.len() > 2 && rest[0] == b'0' && matches!(rest[1], b'x' | b'X') {
        sign + 2
    } else {
        sign
    }
}
