//! printf format strings: parsed once by the compiler, checked against the argument types, and
//! carried in the manifest so that the runtime formats records without re-parsing.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::types::Ty;

/// A parsed format string: literal text and conversions, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormatPiece {
    /// Text printed as is (`%%` already turned into `%`).
    Literal(Vec<u8>),
    Spec(FormatSpec),
}

/// One `%...` conversion and the index of the argument it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatSpec {
    pub flags: FormatFlags,
    pub width: Option<u32>,
    pub precision: Option<u32>,
    pub length: LengthModifier,
    pub conversion: Conversion,
    /// Index into the printf arguments (after the format string).
    pub arg: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormatFlags {
    /// `-`
    pub left: bool,
    /// `0`
    pub zero: bool,
    /// `+`
    pub plus: bool,
    /// ` `
    pub space: bool,
    /// `#`
    pub alternate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LengthModifier {
    None,
    /// `hh`
    Char,
    /// `h`
    Short,
    /// `l`
    Long,
    /// `ll`
    LongLong,
    /// `z`
    Size,
    /// `j`
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conversion {
    /// `%d` / `%i`
    Signed,
    /// `%u`
    Unsigned,
    /// `%x`
    HexLower,
    /// `%X`
    HexUpper,
    /// `%o`
    Octal,
    /// `%s`
    Str,
    /// `%c`
    Char,
    /// `%p`
    Pointer,
    /// `%r`, `%rx`, `%rh`: a buffer.
    Buffer(BufferStyle),
}

/// How `%r` prints a buffer's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BufferStyle {
    /// `%r`: printable ASCII as is, other bytes as `\xNN`.
    Escaped,
    /// `%rx`: every byte as `\xNN`.
    Hex,
    /// `%rh`: every byte as two hex digits, separated by spaces.
    HexSpaced,
}

/// A format string problem: where it is (a byte range within the format string, without the
/// quotes) and what is wrong, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub range: Range<usize>,
    pub message: String,
}

/// A mismatch between the conversions and the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// The 0-based argument at fault (after the format string), or `None` when the problem is
    /// an argument that is missing: point at the format string then.
    pub arg: Option<usize>,
    pub message: String,
}

const CONVERSIONS_HELP: &str = "use one of %d %i %u %x %X %o %s %c %p %r %rx %rh %%";

/// Parses a printf format string (escapes already resolved) into literals and conversions.
///
/// Accepts `%[flags][width][.precision][length]conversion` with flags `- 0 + space #` in any
/// order, length modifiers `hh h l ll z j`, and `%%`. Like bpftrace, a conversion whose flags
/// and width are followed by `%` prints a plain `%`.
pub fn parse_format(format: &[u8]) -> Result<Vec<FormatPiece>, FormatError> {
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut pos = 0;
    let mut arg = 0;
    while pos < format.len() {
        if format[pos] != b'%' {
            literal.push(format[pos]);
            pos += 1;
            continue;
        }
        let (parsed, end) = SpecParser { format, start: pos, pos: pos + 1 }.parse(arg)?;
        match parsed {
            None => literal.push(b'%'),
            Some(spec) => {
                if !literal.is_empty() {
                    pieces.push(FormatPiece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(FormatPiece::Spec(spec));
                arg += 1;
            }
        }
        pos = end;
    }
    if !literal.is_empty() {
        pieces.push(FormatPiece::Literal(literal));
    }
    Ok(pieces)
}

/// Reads one `%...` conversion starting at `start` (the `%`).
struct SpecParser<'a> {
    format: &'a [u8],
    start: usize,
    pos: usize,
}

impl SpecParser<'_> {
    /// The spec (`None` for a `%` conversion) and the offset just after it.
    fn parse(mut self, arg: usize) -> Result<(Option<FormatSpec>, usize), FormatError> {
        let flags = self.flags();
        let width = self.number("width")?;
        let precision = if self.peek() == Some(b'.') {
            self.pos += 1;
            Some(self.number("precision")?.unwrap_or(0))
        } else {
            None
        };
        let length = self.length();
        let Some(byte) = self.peek() else {
            return Err(self.error("missing conversion after `%`".to_string()));
        };
        self.pos += 1;
        let conversion = match byte {
            b'%' => return Ok((None, self.pos)),
            b'd' | b'i' => Conversion::Signed,
            b'u' => Conversion::Unsigned,
            b'x' => Conversion::HexLower,
            b'X' => Conversion::HexUpper,
            b'o' => Conversion::Octal,
            b's' => Conversion::Str,
            b'c' => Conversion::Char,
            b'p' => Conversion::Pointer,
            b'r' => Conversion::Buffer(match self.peek() {
                Some(b'x') => {
                    self.pos += 1;
                    BufferStyle::Hex
                }
                Some(b'h') => {
                    self.pos += 1;
                    BufferStyle::HexSpaced
                }
                _ => BufferStyle::Escaped,
            }),
            _ => {
                let text = String::from_utf8_lossy(&self.format[self.start..self.pos]);
                let message = format!("`{text}` is not a printf conversion; {CONVERSIONS_HELP}");
                return Err(self.error(message));
            }
        };
        let spec = FormatSpec { flags, width, precision, length, conversion, arg };
        Ok((Some(spec), self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.format.get(self.pos).copied()
    }

    fn flags(&mut self) -> FormatFlags {
        let mut flags = FormatFlags::default();
        while let Some(byte) = self.peek() {
            match byte {
                b'-' => flags.left = true,
                b'0' => flags.zero = true,
                b'+' => flags.plus = true,
                b' ' => flags.space = true,
                b'#' => flags.alternate = true,
                _ => break,
            }
            self.pos += 1;
        }
        flags
    }

    /// A decimal width or precision, if present. `what` names it in errors.
    fn number(&mut self, what: &str) -> Result<Option<u32>, FormatError> {
        if self.peek() == Some(b'*') {
            self.pos += 1;
            let message = format!("`*` {what} is not supported; write the {what} as a number");
            return Err(self.error(message));
        }
        let digits_start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if digits_start == self.pos {
            return Ok(None);
        }
        let digits = &self.format[digits_start..self.pos];
        let value = std::str::from_utf8(digits).ok().and_then(|text| text.parse::<u32>().ok());
        match value {
            Some(value) if value <= MAX_WIDTH => Ok(Some(value)),
            _ => Err(self.error(format!("{what} is too large (at most {MAX_WIDTH})"))),
        }
    }

    fn length(&mut self) -> LengthModifier {
        let (modifier, len) = match (self.peek(), self.format.get(self.pos + 1).copied()) {
            (Some(b'h'), Some(b'h')) => (LengthModifier::Char, 2),
            (Some(b'h'), _) => (LengthModifier::Short, 1),
            (Some(b'l'), Some(b'l')) => (LengthModifier::LongLong, 2),
            (Some(b'l'), _) => (LengthModifier::Long, 1),
            (Some(b'z'), _) => (LengthModifier::Size, 1),
            (Some(b'j'), _) => (LengthModifier::Max, 1),
            _ => (LengthModifier::None, 0),
        };
        self.pos += len;
        modifier
    }

    fn error(&self, message: String) -> FormatError {
        FormatError { range: self.start..self.pos, message }
    }
}

/// The largest width or precision accepted: padding beyond this is surely a typo.
const MAX_WIDTH: u32 = 4096;

/// Checks the argument types against the conversions, reporting every problem.
///
/// Follows bpftrace 0.26: `%d %i %u %x %X %o %c %p` take integers, bools and pointers; `%s`
/// takes any value (an integer prints in decimal, a tuple as `(1, a)`). Arguments whose type is
/// already an error are skipped.
pub fn check_args(pieces: &[FormatPiece], args: &[Ty]) -> Result<(), Vec<ArgError>> {
    let specs: Vec<&FormatSpec> = pieces
        .iter()
        .filter_map(|piece| match piece {
            FormatPiece::Spec(spec) => Some(spec),
            FormatPiece::Literal(_) => None,
        })
        .collect();
    let mut errors = Vec::new();
    if let Some(error) = count_error(specs.len(), args.len()) {
        errors.push(error);
    }
    for spec in &specs {
        if let Some(ty) = args.get(spec.arg) {
            errors.extend(type_error(spec, ty));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn count_error(wanted: usize, given: usize) -> Option<ArgError> {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let summary = format!(
        "the format wants {wanted} {} but {given} {} given",
        plural(wanted),
        if given == 1 { "is" } else { "are" }
    );
    if given < wanted {
        Some(ArgError { arg: None, message: format!("too few arguments: {summary}") })
    } else if given > wanted {
        let message = format!("too many arguments: {summary}");
        Some(ArgError { arg: Some(wanted), message })
    } else {
        None
    }
}

fn type_error(spec: &FormatSpec, ty: &Ty) -> Option<ArgError> {
    let number = spec.arg + 1;
    let message = match ty {
        Ty::Error => return None,
        Ty::Void => format!("argument {number} has no value to print"),
        _ if spec.conversion == Conversion::Str => return None,
        Ty::Buffer(_) if matches!(spec.conversion, Conversion::Buffer(_)) => return None,
        _ if matches!(spec.conversion, Conversion::Buffer(_)) => {
            format!("`%r` prints a buffer, but argument {number} is {}; make one with `buf(...)`", describe(ty))
        }
        Ty::Int(_) | Ty::Enum(_) | Ty::Bool | Ty::Ptr { .. } => return None,
        _ => format!(
            "`%{}` needs an integer, bool or pointer, but argument {number} is {}; use `%s`",
            spec.conversion.letter(),
            describe(ty)
        ),
    };
    Some(ArgError { arg: Some(spec.arg), message })
}

/// The type with an article, for messages: `a string[16]`, `an int64`.
pub(crate) fn describe(ty: &Ty) -> String {
    match ty {
        Ty::Tuple(_) => format!("a tuple {ty}"),
        _ => format!("{} {ty}", ty.article()),
    }
}

impl Conversion {
    /// The conversion letter as written (`%i` reports as `d`).
    pub fn letter(self) -> char {
        match self {
            Conversion::Signed => 'd',
            Conversion::Unsigned => 'u',
            Conversion::HexLower => 'x',
            Conversion::HexUpper => 'X',
            Conversion::Octal => 'o',
            Conversion::Str => 's',
            Conversion::Char => 'c',
            Conversion::Buffer(_) => 'r',
            Conversion::Pointer => 'p',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::IntTy;

    fn spec(format: &str) -> FormatSpec {
        match parse_format(format.as_bytes()).expect("valid format").as_slice() {
            [FormatPiece::Spec(spec)] => *spec,
            other => panic!("expected one conversion, got {other:?}"),
        }
    }

    fn parse_error(format: &str) -> String {
        let error = parse_format(format.as_bytes()).expect_err("invalid format");
        format!("{:?}: {}", error.range, error.message)
    }

    fn check(format: &str, args: &[Ty]) -> String {
        let pieces = parse_format(format.as_bytes()).expect("valid format");
        match check_args(&pieces, args) {
            Ok(()) => "ok".to_string(),
            Err(errors) => errors
                .iter()
                .map(|e| format!("{:?}: {}", e.arg, e.message))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn splits_literals_and_numbers_arguments() {
        let pieces = parse_format(b"pid %d comm %s\n").unwrap();
        assert_eq!(pieces.len(), 5);
        assert_eq!(pieces[0], FormatPiece::Literal(b"pid ".to_vec()));
        assert!(matches!(pieces[1], FormatPiece::Spec(FormatSpec { arg: 0, .. })));
        assert_eq!(pieces[2], FormatPiece::Literal(b" comm ".to_vec()));
        assert!(matches!(pieces[3], FormatPiece::Spec(FormatSpec { arg: 1, .. })));
        assert_eq!(pieces[4], FormatPiece::Literal(b"\n".to_vec()));
    }

    #[test]
    fn percent_percent_is_literal_text() {
        let pieces = parse_format(b"100%% of %d%%").unwrap();
        assert_eq!(pieces[0], FormatPiece::Literal(b"100% of ".to_vec()));
        assert!(matches!(pieces[1], FormatPiece::Spec(FormatSpec { arg: 0, .. })));
        assert_eq!(pieces[2], FormatPiece::Literal(b"%".to_vec()));
        assert_eq!(parse_format(b"%5%").unwrap(), vec![FormatPiece::Literal(b"%".to_vec())]);
    }

    #[test]
    fn reads_flags_width_precision_and_length() {
        let s = spec("%-+ #010.3llx");
        let all = FormatFlags { left: true, zero: true, plus: true, space: true, alternate: true };
        assert_eq!(s.flags, all);
        assert_eq!(s.width, Some(10));
        assert_eq!(s.precision, Some(3));
        assert_eq!(s.length, LengthModifier::LongLong);
        assert_eq!(s.conversion, Conversion::HexLower);
        assert_eq!(spec("%08x").width, Some(8));
        assert!(spec("%08x").flags.zero);
        assert_eq!(spec("%.s").precision, Some(0));
    }

    #[test]
    fn reads_every_length_modifier() {
        let cases = [
            ("%hhd", LengthModifier::Char),
            ("%hd", LengthModifier::Short),
            ("%ld", LengthModifier::Long),
            ("%lld", LengthModifier::LongLong),
            ("%zu", LengthModifier::Size),
            ("%jd", LengthModifier::Max),
            ("%d", LengthModifier::None),
        ];
        for (format, length) in cases {
            assert_eq!(spec(format).length, length, "{format}");
        }
    }

    #[test]
    fn reads_every_conversion() {
        let cases = [
            ("%d", Conversion::Signed),
            ("%i", Conversion::Signed),
            ("%u", Conversion::Unsigned),
            ("%x", Conversion::HexLower),
            ("%X", Conversion::HexUpper),
            ("%o", Conversion::Octal),
            ("%s", Conversion::Str),
            ("%c", Conversion::Char),
            ("%p", Conversion::Pointer),
        ];
        for (format, conversion) in cases {
            assert_eq!(spec(format).conversion, conversion, "{format}");
        }
    }

    #[test]
    fn reports_bad_conversions_with_their_range() {
        insta::assert_snapshot!(
            [
                parse_error("a %q b"),
                parse_error("%-5f"),
                parse_error("%lld%"),
                parse_error("50%"),
                parse_error("%*d"),
                parse_error("%.*s"),
                parse_error("%99999999999d"),
                parse_error("%Lf"),
            ]
            .join("\n")
        );
    }

    #[test]
    fn accepts_matching_arguments() {
        let comm = Ty::Str(16);
        let args = [Ty::U64, Ty::Bool, Ty::void_ptr(false), comm, Ty::Int(IntTy::I32)];
        assert_eq!(check("%d %x %p %s %c", &args), "ok");
        let anything = [Ty::Tuple(vec![Ty::U64, Ty::Str(4)]), Ty::Probe, Ty::U64];
        assert_eq!(check("%s %s %s", &anything), "ok");
    }

    #[test]
    fn skips_arguments_that_already_failed() {
        assert_eq!(check("%d", &[Ty::Error]), "ok");
    }

    #[test]
    fn reports_count_and_type_mismatches() {
        insta::assert_snapshot!(
            [
                check("%d %d %d", &[Ty::U64, Ty::U64]),
                check("%d", &[Ty::U64, Ty::U64, Ty::U64]),
                check("no conversions", &[Ty::U64]),
                check("%d %s", &[Ty::Str(16), Ty::Void]),
                check("%x %c", &[Ty::Tuple(vec![Ty::I64]), Ty::Probe]),
                check("%d %d", &[Ty::Str(8)]),
            ]
            .join("\n---\n")
        );
    }
}
