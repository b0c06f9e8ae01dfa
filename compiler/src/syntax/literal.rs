//! Decoding literal tokens: integers (bases, `_`, C and duration suffixes) and string escapes.
//!
//! The grammar matches literals loosely; this module gives each malformed one a precise error.

/// Why an integer literal was rejected, with an optional fix in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntError {
    pub message: String,
    pub help: Option<String>,
}

impl IntError {
    fn new(message: impl Into<String>) -> IntError {
        IntError { message: message.into(), help: None }
    }

    fn with_help(mut self, help: &str) -> IntError {
        self.help = Some(help.to_string());
        self
    }
}

const SUFFIX_HELP: &str = "integer suffixes are `u`, `l`, `ul`, `ll`, `ull` (ignored) and the \
                           durations `ns`, `us`, `ms`, `s`, `m`, `h`, `d`";

/// Decodes an integer literal token such as `42`, `0x1F`, `017`, `1_000`, `2e3`, `10UL`, `5ms`.
pub fn decode_int(text: &str) -> Result<u64, IntError> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return decode_hex(text, hex);
    }
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(text.len());
    let (mantissa, rest) = text.split_at(digits_end);
    let (exponent, suffix) = split_exponent(rest);
    let mut value = match exponent {
        Some(_) => digits_value(text, mantissa, 10)?,
        None if mantissa.len() > 1 && mantissa.starts_with('0') => digits_value(text, mantissa, 8)?,
        None => digits_value(text, mantissa, 10)?,
    };
    if let Some(exponent) = exponent {
        let power = u32::try_from(digits_value(text, exponent, 10)?).map_err(|_| too_large(text))?;
        value = 10u64.checked_pow(power).and_then(|p| value.checked_mul(p)).ok_or_else(|| too_large(text))?;
    }
    let scale = suffix_scale(suffix)?;
    value.checked_mul(scale).ok_or_else(|| too_large(text))
}

fn decode_hex(text: &str, hex: &str) -> Result<u64, IntError> {
    let digits_end = hex.find(|c: char| !(c.is_ascii_hexdigit() || c == '_')).unwrap_or(hex.len());
    let (digits, suffix) = hex.split_at(digits_end);
    if digits.is_empty() {
        return Err(IntError::new(format!("hexadecimal literal `{text}` has no digits")));
    }
    if !is_c_suffix(suffix) {
        return Err(unknown_suffix(suffix));
    }
    digits_value(text, digits, 16)
}

/// Splits `e<digits>` (scientific notation) off the front of what follows the mantissa.
fn split_exponent(rest: &str) -> (Option<&str>, &str) {
    let Some(after_e) = rest.strip_prefix('e').or_else(|| rest.strip_prefix('E')) else {
        return (None, rest);
    };
    let end = after_e.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(after_e.len());
    if after_e.starts_with(|c: char| c.is_ascii_digit()) {
        (Some(&after_e[..end]), &after_e[end..])
    } else {
        (None, rest)
    }
}

/// The value of `digits` (with `_` separators) in `radix`. The grammar only lets digits through,
/// so the one bad digit possible is an `8` or `9` in an octal literal.
fn digits_value(text: &str, digits: &str, radix: u32) -> Result<u64, IntError> {
    let mut value: u64 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let digit = c.to_digit(radix).ok_or_else(|| {
            IntError::new(format!("invalid digit `{c}` in an octal literal"))
                .with_help("a literal that starts with `0` is octal; remove the leading `0`")
        })?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or_else(|| too_large(text))?;
    }
    Ok(value)
}

fn too_large(text: &str) -> IntError {
    IntError::new(format!("integer literal `{text}` does not fit in 64 bits"))
}

/// The multiplier a suffix stands for: 1 for C suffixes, nanoseconds for durations.
fn suffix_scale(suffix: &str) -> Result<u64, IntError> {
    const SECOND: u64 = 1_000_000_000;
    let scale = match suffix {
        _ if is_c_suffix(suffix) => 1,
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => SECOND,
        "m" => 60 * SECOND,
        "h" => 3_600 * SECOND,
        "d" => 86_400 * SECOND,
        _ => return Err(unknown_suffix(suffix)),
    };
    Ok(scale)
}

fn is_c_suffix(suffix: &str) -> bool {
    matches!(suffix.to_ascii_lowercase().as_str(), "" | "u" | "l" | "ul" | "lu" | "ll" | "ull" | "llu")
}

fn unknown_suffix(suffix: &str) -> IntError {
    IntError::new(format!("unknown suffix `{suffix}` on an integer literal")).with_help(SUFFIX_HELP)
}

/// An invalid escape sequence: where it is (byte range within the string body) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

/// Decodes the escapes of a string literal's body (the text between the quotes).
pub fn decode_string(body: &str) -> Result<Vec<u8>, Vec<EscapeError>> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut errors = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes[pos] != b'\\' {
            out.push(bytes[pos]);
            pos += 1;
            continue;
        }
        match decode_escape(bytes, pos) {
            Ok((byte, next)) => {
                out.push(byte);
                pos = next;
            }
            Err(error) => {
                pos = error.end;
                errors.push(error);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Decodes the escape at `start` (a `\`): the byte it stands for and where the next one starts.
fn decode_escape(bytes: &[u8], start: usize) -> Result<(u8, usize), EscapeError> {
    let Some(&kind) = bytes.get(start + 1) else {
        return Err(escape_error(bytes, start, start + 1, "a string cannot end with `\\`"));
    };
    let simple = match kind {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'\\' => Some(b'\\'),
        b'"' => Some(b'"'),
        _ => None,
    };
    if let Some(byte) = simple {
        return Ok((byte, start + 2));
    }
    match kind {
        b'0'..=b'7' => numeric_escape(bytes, start, start + 1, 3, 8),
        b'x' => numeric_escape(bytes, start, start + 2, 2, 16),
        _ => {
            let end = start + 1 + utf8_len(kind);
            let shown = String::from_utf8_lossy(&bytes[start..end.min(bytes.len())]).into_owned();
            Err(escape_error(bytes, start, end, &format!("unknown escape sequence `{shown}`")))
        }
    }
}

/// `\nnn` (up to three octal digits) or `\xnn` (up to two hex digits), starting at `digits`.
fn numeric_escape(
    bytes: &[u8],
    start: usize,
    digits: usize,
    max_digits: usize,
    radix: u32,
) -> Result<(u8, usize), EscapeError> {
    let count = bytes[digits.min(bytes.len())..]
        .iter()
        .take(max_digits)
        .take_while(|&&b| char::from(b).is_digit(radix))
        .count();
    let end = digits + count;
    if count == 0 {
        return Err(escape_error(bytes, start, end, "`\\x` must be followed by hexadecimal digits"));
    }
    let text = String::from_utf8_lossy(&bytes[digits..end]).into_owned();
    match u8::try_from(u32::from_str_radix(&text, radix).unwrap_or(u32::MAX)) {
        Ok(byte) => Ok((byte, end)),
        Err(_) => Err(escape_error(bytes, start, end, "octal escape is larger than `\\377`")),
    }
}

fn escape_error(bytes: &[u8], start: usize, end: usize, message: &str) -> EscapeError {
    EscapeError { start, end: end.min(bytes.len()), message: message.to_string() }
}

/// The length of the UTF-8 sequence that starts with `first`, so errors never split a char.
fn utf8_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_int, decode_string};

    #[test]
    fn integers_at_the_edges() {
        assert_eq!(decode_int("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(decode_int("0xffff_ffff_ffff_ffffULL"), Ok(u64::MAX));
        assert!(decode_int("18446744073709551616").is_err());
        assert_eq!(decode_int("0"), Ok(0));
        assert_eq!(decode_int("00"), Ok(0));
        assert_eq!(decode_int("1e0"), Ok(1));
        assert_eq!(decode_int("1e19"), Ok(10_000_000_000_000_000_000));
        assert!(decode_int("1e20").is_err());
        assert_eq!(decode_int("213503d"), Ok(213_503 * 86_400 * 1_000_000_000));
        assert!(decode_int("213504d").is_err());
        assert_eq!(decode_int("7llu"), Ok(7));
    }

    #[test]
    fn escape_errors_point_inside_the_body() {
        let errors = decode_string(r"ab\\\q").unwrap_err();
        assert_eq!((errors[0].start, errors[0].end), (4, 6));
        assert_eq!(decode_string(r"\x4g"), Ok(vec![4, b'g']));
        assert_eq!(decode_string(r"\1234"), Ok(vec![0o123, b'4']));
    }
}
