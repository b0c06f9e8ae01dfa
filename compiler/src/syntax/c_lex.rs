//! The tokens of a C definition: names, integers, punctuation; blanks and comments skipped.

use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::codes;

/// One token and where it is in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// A name or keyword: `struct`, `unsigned`, `comm`.
    Name(String),
    /// An integer literal's value (its `u`/`l` suffixes dropped).
    Int(u64),
    /// Punctuation or an operator: `{`, `*`, `<<`, `...`.
    Punct(&'static str),
}

impl TokenKind {
    /// How a message names it.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Name(name) => format!("`{name}`"),
            TokenKind::Int(n) => format!("`{n}`"),
            TokenKind::Punct(p) => format!("`{p}`"),
        }
    }
}

/// Punctuation, longest first.
const PUNCTUATION: &[&str] = &[
    "...", "<<", ">>", "{", "}", "(", ")", "[", "]", ";", ",", "*", ":", "=", "+", "-", "/", "%", "|", "&", "^", "~",
];

/// The tokens of `text`, which starts at byte `start` of the script.
pub(super) fn tokens(text: &str, start: usize) -> Result<Vec<Token>, Diagnostic> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &text[at..];
        let c = bytes[at];
        if c.is_ascii_whitespace() {
            at += 1;
        } else if rest.starts_with("//") {
            at += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            at += rest.find("*/").map_or(rest.len(), |end| end + 2);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            out.push(Token { kind: TokenKind::Name(rest[..len].to_string()), span: Span::new(start + at, start + at + len) });
            at += len;
        } else if c.is_ascii_digit() {
            let len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
            let span = Span::new(start + at, start + at + len);
            out.push(Token { kind: TokenKind::Int(integer(&rest[..len], span)?), span });
            at += len;
        } else if let Some(p) = PUNCTUATION.iter().find(|p| rest.starts_with(**p)) {
            out.push(Token { kind: TokenKind::Punct(p), span: Span::new(start + at, start + at + p.len()) });
            at += p.len();
        } else {
            let len = rest.chars().next().map_or(1, char::len_utf8);
            let span = Span::new(start + at, start + at + len);
            return Err(Diagnostic::error(codes::BAD_C_DEFINITION, format!("`{}` has no place in a C definition", &rest[..len]))
                .with_primary(span, "unexpected character"));
        }
    }
    Ok(out)
}

/// A C integer literal: decimal, `0x` hexadecimal or `0` octal, with `u`/`l` suffixes.
fn integer(text: &str, span: Span) -> Result<u64, Diagnostic> {
    let digits = text.trim_end_matches(['u', 'U', 'l', 'L']);
    let parsed = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16)
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8)
    } else {
        digits.parse()
    };
    parsed.map_err(|_| {
        Diagnostic::error(codes::BAD_INTEGER, format!("`{text}` is not an integer C understands"))
            .with_primary(span, "bad integer literal")
            .with_help("write a decimal, `0x` hexadecimal or `0` octal number that fits in 64 bits")
    })
}
