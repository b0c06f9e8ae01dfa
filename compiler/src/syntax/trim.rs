//! Node spans without trailing trivia.
//!
//! Pest skips whitespace and comments before trying an optional or repeated element, and keeps
//! them in the rule's span when that element is absent. A node's span must end at its last token.

use ferrotrace_grammar::Rule;
use pest::iterators::Pair;

use crate::span::Span;

/// The span of `pair` with trailing whitespace and comments removed.
pub fn span(pair: &Pair<'_, Rule>) -> Span {
    let start = pair.as_span().start();
    Span::new(start, start + without_trailing_trivia(pair.as_str()).len())
}

/// The span of an atomic token (a name, a literal): pest puts no trivia inside or after one.
pub fn token_span(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.end())
}

/// `text` without trailing whitespace and comments.
pub fn without_trailing_trivia(mut text: &str) -> &str {
    loop {
        let trimmed = text.trim_end();
        let trimmed = match trimmed.strip_suffix("*/").and_then(|t| t.rfind("/*")) {
            Some(open) => &trimmed[..open],
            None => strip_line_comment(trimmed),
        };
        if trimmed.len() == text.len() {
            return text;
        }
        text = trimmed;
    }
}

/// Cuts a `//` comment off the last line, if one starts outside a string literal.
fn strip_line_comment(text: &str) -> &str {
    let line_start = text.rfind('\n').map_or(0, |n| n + 1);
    let line = &text.as_bytes()[line_start..];
    let mut in_string = false;
    let mut pos = 0;
    while pos < line.len() {
        match line[pos] {
            b'\\' if in_string => pos += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && line.get(pos + 1) == Some(&b'/') => return &text[..line_start + pos],
            _ => {}
        }
        pos += 1;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::without_trailing_trivia;

    #[test]
    fn trims_whitespace_and_comments() {
        assert_eq!(without_trailing_trivia("a + b  \n"), "a + b");
        assert_eq!(without_trailing_trivia("a /* x */ // y\n  "), "a");
        assert_eq!(without_trailing_trivia("\"//\" // c"), "\"//\"");
        assert_eq!(without_trailing_trivia("$a / $b"), "$a / $b");
    }
}
