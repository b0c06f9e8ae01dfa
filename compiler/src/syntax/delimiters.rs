//! A lexical pre-pass that checks strings, comments and brackets before the grammar runs.
//!
//! A PEG parser reports an unclosed `{` at the end of the script, far from its cause. This pass
//! matches `{ ( [` with their closers (skipping strings and comments) and reports the first
//! problem with the opener's span, so the grammar only ever sees balanced text.

use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::codes;

/// How many brackets may be open at once; deeper nesting is an error, not a stack overflow.
pub const MAX_NESTING: usize = 128;

/// An open bracket waiting for its closer.
#[derive(Debug, Clone, Copy)]
struct Opener {
    byte: u8,
    offset: usize,
    /// How many brackets were open around this one (0: a probe block).
    depth: usize,
}

impl Opener {
    fn span(self) -> Span {
        Span::new(self.offset, self.offset + 1)
    }

    fn closer(self) -> char {
        match self.byte {
            b'{' => '}',
            b'(' => ')',
            _ => ']',
        }
    }

    /// What the opener starts, in words: "probe block", "block", "parenthesis", "bracket".
    fn construct(self) -> &'static str {
        match (self.byte, self.depth) {
            (b'{', 0) => "probe block",
            (b'{', _) => "block",
            (b'(', _) => "parenthesis",
            _ => "bracket",
        }
    }
}

/// Checks `source` and returns the first lexical problem found, if any.
pub fn check(source: &str) -> Result<(), Diagnostic> {
    let bytes = source.as_bytes();
    let mut stack: Vec<Opener> = Vec::new();
    let mut pos = skip_shebang(bytes);
    while pos < bytes.len() {
        pos = match bytes[pos] {
            b'/' if bytes.get(pos + 1) == Some(&b'/') => skip_line(bytes, pos),
            b'/' if bytes.get(pos + 1) == Some(&b'*') => skip_block_comment(bytes, pos)?,
            b'"' => skip_string(bytes, pos)?,
            byte @ (b'{' | b'(' | b'[') => {
                if stack.len() >= MAX_NESTING {
                    return Err(too_deep(pos));
                }
                stack.push(Opener { byte, offset: pos, depth: stack.len() });
                pos + 1
            }
            byte @ (b'}' | b')' | b']') => {
                close(&mut stack, byte, pos)?;
                pos + 1
            }
            _ => pos + 1,
        };
    }
    match stack.pop() {
        Some(opener) => Err(unclosed(opener, source)),
        None => Ok(()),
    }
}

fn skip_shebang(bytes: &[u8]) -> usize {
    if bytes.starts_with(b"#!") {
        skip_line(bytes, 0)
    } else {
        0
    }
}

/// Returns the offset of the newline ending the line that `pos` is on (or the end).
fn skip_line(bytes: &[u8], pos: usize) -> usize {
    bytes[pos..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| pos + n)
}

fn skip_block_comment(bytes: &[u8], start: usize) -> Result<usize, Diagnostic> {
    let body = start + 2;
    match bytes[body..].windows(2).position(|w| w == b"*/") {
        Some(n) => Ok(body + n + 2),
        None => Err(Diagnostic::error(codes::UNCLOSED_COMMENT, "unclosed block comment")
            .with_primary(Span::new(start, body), "this comment is never closed")
            .with_help("end the comment with `*/`")),
    }
}

/// Skips a string literal starting at the `"` at `start`; strings end on their own line.
fn skip_string(bytes: &[u8], start: usize) -> Result<usize, Diagnostic> {
    let mut pos = start + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'"' => return Ok(pos + 1),
            b'\n' => break,
            b'\\' if bytes.get(pos + 1).is_some_and(|&b| b != b'\n') => pos += 2,
            _ => pos += 1,
        }
    }
    let end = if bytes.get(pos.wrapping_sub(1)) == Some(&b'\r') { pos - 1 } else { pos };
    Err(Diagnostic::error(codes::UNCLOSED_STRING, "unclosed string literal")
        .with_primary(Span::new(start, end.max(start + 1)), "this string has no closing `\"`")
        .with_help("a string literal must end with `\"` on the line where it starts"))
}

fn close(stack: &mut Vec<Opener>, byte: u8, pos: usize) -> Result<(), Diagnostic> {
    let found = char::from(byte);
    let here = Span::new(pos, pos + 1);
    match stack.pop() {
        Some(opener) if opener.closer() == found => Ok(()),
        Some(opener) => Err(Diagnostic::error(
            codes::MISMATCHED_DELIMITER,
            format!(
                "expected `{}` to close the {} opened here, found `{found}`",
                opener.closer(),
                opener.construct()
            ),
        )
        .with_primary(here, format!("expected `{}`", opener.closer()))
        .with_secondary(opener.span(), format!("this {} is still open", opener.construct()))),
        None => Err(Diagnostic::error(
            codes::MISMATCHED_DELIMITER,
            format!("unexpected `{found}`: there is nothing to close"),
        )
        .with_primary(here, "this closes nothing")),
    }
}

/// Reports `opener` as never closed, pointing at the script's last character.
fn unclosed(opener: Opener, source: &str) -> Diagnostic {
    let trimmed = source.trim_end();
    let last = trimmed.char_indices().next_back().map_or(0, |(at, _)| at);
    Diagnostic::error(
        codes::UNCLOSED_DELIMITER,
        format!("expected `{}` to close the {} opened here", opener.closer(), opener.construct()),
    )
    .with_primary(
        Span::new(last, trimmed.len()),
        format!("the script ends here, before a `{}`", opener.closer()),
    )
    .with_secondary(opener.span(), format!("this {} is never closed", opener.construct()))
}

fn too_deep(pos: usize) -> Diagnostic {
    Diagnostic::error(codes::NESTED_TOO_DEEPLY, "brackets are nested too deeply")
        .with_primary(Span::new(pos, pos + 1), format!("this is more than {MAX_NESTING} levels deep"))
        .with_help("split the expression with `$variables`")
}
