//! Syntax highlighting of the line being typed: comments, strings, numbers, `@maps`,
//! `$variables`, keywords and the names of the standard library, as ANSI colors. One pass over
//! the text; anything it does not know is left as typed.

use ferrotrace_compiler::stdlib;

const COMMENT: &str = "2";
const STRING: &str = "32";
const NUMBER: &str = "36";
const MAP: &str = "33";
const VARIABLE: &str = "35";
const KEYWORD: &str = "1;34";
const FUNCTION: &str = "34";
const COMMAND: &str = "1";

const KEYWORDS: &[&str] = &["if", "else", "for", "while", "unroll", "return", "break", "continue", "let", "config", "macro", "import", "begin", "end", "BEGIN", "END"];

/// `line` with ANSI color around each token it knows.
pub fn paint(line: &str) -> String {
    if line.trim_start().starts_with(':') {
        return colored(COMMAND, line);
    }
    let mut out = String::with_capacity(line.len() * 2);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        let (len, color) = if rest.starts_with("//") {
            (rest.find('\n').unwrap_or(rest.len()), Some(COMMENT))
        } else if rest.starts_with("/*") {
            (rest.find("*/").map_or(rest.len(), |at| at + 2), Some(COMMENT))
        } else if c == '"' {
            (string_length(rest), Some(STRING))
        } else if c.is_ascii_digit() {
            (word_length(rest), Some(NUMBER))
        } else if c == '@' || c == '$' {
            (1 + word_length(&rest[1..]), Some(if c == '@' { MAP } else { VARIABLE }))
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = word_length(rest);
            let word = &rest[..len];
            let color = if KEYWORDS.contains(&word) {
                Some(KEYWORD)
            } else if stdlib::lookup(word).is_some() {
                Some(FUNCTION)
            } else {
                None
            };
            (len, color)
        } else {
            (c.len_utf8(), None)
        };
        let (token, after) = rest.split_at(len.max(c.len_utf8()));
        match color {
            Some(color) => out.push_str(&colored(color, token)),
            None => out.push_str(token),
        }
        rest = after;
    }
    out
}

fn colored(color: &str, text: &str) -> String {
    format!("\x1b[{color}m{text}\x1b[0m")
}

fn word_length(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len())
}

/// A string literal's length, its closing quote included (to the line's end when unclosed).
fn string_length(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut at = 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            b'\n' => return at,
            _ => at += 1,
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_painted_and_the_text_is_kept() {
        let line = "begin { @x[\"a\\\"b\"] = count(); $y = 10; } // done";
        let painted = paint(line);
        let mut plain = String::new();
        let mut rest = painted.as_str();
        while let Some(at) = rest.find('\x1b') {
            plain.push_str(&rest[..at]);
            rest = &rest[at + rest[at..].find('m').unwrap_or(0) + 1..];
        }
        plain.push_str(rest);
        assert_eq!(plain, line);
        assert!(painted.contains("\x1b[33m@x\x1b[0m"));
        assert!(painted.contains("\x1b[32m\"a\\\"b\"\x1b[0m"));
        assert!(painted.contains("\x1b[34mcount\x1b[0m"));
        assert!(painted.contains("\x1b[2m// done\x1b[0m"));
    }
}
