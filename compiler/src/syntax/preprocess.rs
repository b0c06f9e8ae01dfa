//! The C preprocessor lines bpftrace scripts carry, handled without a C compiler: `#include`
//! (types come from BTF, so a header is not read; `<errno.h>`, `<signal.h>` and
//! `<sys/syscall.h>` define their constants), `#define NAME value` (expanded where `NAME`
//! is used as a bare identifier), `#undef`, and `#if`/`#ifdef`/`#ifndef`/`#elif`/`#else`/
//! `#endif` with `BPFTRACE_HAVE_BTF` defined.
//!
//! The pass blanks every directive line and every line of a branch not taken, keeping the
//! newlines, so the text the grammar sees has the same length and every span still points into
//! the script as written.

use super::codes;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// Names defined before the script's first line.
const PREDEFINED: &[(&str, &str)] = &[("BPFTRACE_HAVE_BTF", "1")];

/// A `#define NAME value` the script made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Define {
    pub name: String,
    /// The replacement text, trimmed; `None` for a function-like macro, which is not expanded.
    pub value: Option<String>,
    /// Where the replacement text starts in the script (the `#define` itself when predefined).
    pub value_span: Span,
}

/// The script with its directives blanked out, and what they said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preprocessed {
    pub text: String,
    /// Every name defined at the end of the script, the predefined ones included.
    pub defines: Vec<Define>,
    pub warnings: Vec<Diagnostic>,
}

/// One open `#if` group.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// The directive that opened it, for an unclosed-group error.
    opened: Span,
    /// Whether the lines of the branch being read are kept.
    active: bool,
    /// Whether some branch of this group was taken already (the others are then skipped).
    taken: bool,
    /// Whether the enclosing group is active.
    parent_active: bool,
    seen_else: bool,
}

/// Runs the directives of `source`; an error for a malformed directive or an unclosed `#if`.
pub fn preprocess(source: &str) -> Result<Preprocessed, Diagnostic> {
    let mut defines: Vec<Define> = PREDEFINED
        .iter()
        .map(|(name, value)| Define { name: name.to_string(), value: Some(value.to_string()), value_span: Span::DUMMY })
        .collect();
    let mut warnings = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut text = String::with_capacity(source.len());
    let mut offset = 0;
    let mut lines = source.split_inclusive('\n').peekable();
    let mut first = true;
    // Whether a `/* */` comment is open at the start of the line: a `#` there is comment text.
    let mut in_comment = false;
    while let Some(mut line) = lines.next() {
        let start = offset;
        let mut logical = line.to_string();
        // A directive continues on the next line after a trailing backslash.
        let is_directive = !in_comment && line.trim_start().starts_with('#') && !(first && line.starts_with("#!"));
        if !is_directive {
            in_comment = comment_open_after(line, in_comment);
        }
        let mut consumed = line.len();
        while is_directive && logical.trim_end_matches(['\n', '\r']).ends_with('\\') {
            let Some(next) = lines.next() else { break };
            logical = format!("{}{}", logical.trim_end_matches(['\n', '\r']).trim_end_matches('\\'), next);
            consumed += next.len();
            line = next;
        }
        let _ = line;
        first = false;
        offset += consumed;
        let active = groups.last().is_none_or(|g| g.active);
        let span = Span::new(start, start + logical.trim_end().len().min(consumed));
        if is_directive {
            directive(&logical, start, span, active, &mut groups, &mut defines, &mut warnings)?;
            blank(&source[start..start + consumed], &mut text);
        } else if active {
            text.push_str(&source[start..start + consumed]);
        } else {
            blank(&source[start..start + consumed], &mut text);
        }
    }
    if let Some(group) = groups.last() {
        return Err(Diagnostic::error(codes::BAD_DIRECTIVE, "`#if` without `#endif`")
            .with_primary(group.opened, "this group is never closed")
            .with_help("end it with `#endif`"));
    }
    Ok(Preprocessed { text, defines, warnings })
}

/// Whether a `/* */` comment is still open after `line`, given whether one was open before it:
/// `//` comments and string literals are skipped over.
fn comment_open_after(line: &str, mut open: bool) -> bool {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        match (open, in_string, bytes[i], bytes.get(i + 1)) {
            (true, _, b'*', Some(b'/')) => {
                open = false;
                i += 1;
            }
            (true, ..) => {}
            (false, true, b'\\', _) => i += 1,
            (false, true, b'"', _) => in_string = false,
            (false, true, ..) => {}
            (false, false, b'"', _) => in_string = true,
            (false, false, b'/', Some(b'/')) => return false,
            (false, false, b'/', Some(b'*')) => {
                open = true;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    open
}

/// A space for every byte of `part`, keeping its line breaks, so that every span into the
/// blanked text is the same span in the script (a character of several bytes included).
fn blank(part: &str, text: &mut String) {
    text.extend(part.chars().flat_map(|c| {
        let kept = if c == '\n' || c == '\r' { c } else { ' ' };
        std::iter::repeat_n(kept, if kept == ' ' { c.len_utf8() } else { 1 })
    }));
}

fn directive(
    line: &str,
    start: usize,
    span: Span,
    active: bool,
    groups: &mut Vec<Group>,
    defines: &mut Vec<Define>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(), Diagnostic> {
    let hash = line.find('#').unwrap_or(0);
    let body = strip_comment(&line[hash + 1..]);
    let body = body.trim();
    let (word, rest) = body.split_once(|c: char| c.is_whitespace() || c == '(' || c == '<' || c == '"').map_or((body, ""), |(w, _)| (w, &body[w.len()..]));
    let rest = rest.trim();
    let malformed = |message: String| Diagnostic::error(codes::BAD_DIRECTIVE, message).with_primary(span, "this directive");
    match word {
        "if" | "ifdef" | "ifndef" => {
            let condition = match word {
                "ifdef" => is_defined(defines, rest),
                "ifndef" => !is_defined(defines, rest),
                _ => evaluate(rest, defines).map_err(|why| malformed(format!("cannot evaluate `#if {rest}`: {why}")))? != 0,
            };
            let parent_active = active;
            groups.push(Group { opened: span, active: parent_active && condition, taken: condition, parent_active, seen_else: false });
        }
        "elif" | "else" => {
            let Some(group) = groups.last_mut() else { return Err(malformed(format!("`#{word}` without `#if`"))) };
            if group.seen_else {
                return Err(malformed(format!("`#{word}` after `#else`")));
            }
            let condition = match word {
                "else" => {
                    group.seen_else = true;
                    true
                }
                _ if group.taken || !group.parent_active => false,
                _ => evaluate(rest, defines).map_err(|why| malformed(format!("cannot evaluate `#elif {rest}`: {why}")))? != 0,
            };
            group.active = group.parent_active && !group.taken && condition;
            group.taken |= condition;
        }
        "endif" => {
            if groups.pop().is_none() {
                return Err(malformed("`#endif` without `#if`".to_string()));
            }
        }
        _ if !active => {}
        "define" => {
            let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let name = &rest[..name_len];
            if name.is_empty() {
                return Err(malformed("`#define` needs a name".to_string()));
            }
            let after = &rest[name_len..];
            let value = (!after.starts_with('(')).then(|| after.trim().to_string());
            let value_at = start + line.find(after.trim()).unwrap_or(0);
            defines.retain(|d| d.name != name);
            let value_span = Span::new(value_at, value_at + after.trim().len());
            defines.push(Define { name: name.to_string(), value, value_span });
        }
        "undef" => defines.retain(|d| d.name != rest),
        "include" | "include_next" => {
            let system_header = rest.strip_prefix('<').and_then(|r| r.strip_suffix('>'));
            if let Some(constants) = system_header.and_then(crate::names::header_constants) {
                for (name, value) in constants {
                    if !defines.iter().any(|d| d.name == name) {
                        defines.push(Define { name, value: Some(value), value_span: Span::DUMMY });
                    }
                }
            }
            if rest.starts_with('"') {
                warnings.push(
                    Diagnostic::warning("W0404", format!("`#include {rest}` is not read"))
                        .with_primary(span, "this header")
                        .with_note("ferrotrace takes kernel types from BTF; a header's own types and macros are not known")
                        .with_help("define what the script needs from it with `#define` or a struct in the script"),
                );
            }
        }
        "error" => return Err(Diagnostic::error(codes::ERROR_DIRECTIVE, format!("#error {rest}")).with_primary(span, "`#error` in a branch that is taken")),
        "pragma" | "line" | "warning" | "" => {}
        other => {
            return Err(malformed(format!("unknown preprocessor directive `#{other}`"))
                .with_help("the directives are #include, #define, #undef, #if, #ifdef, #ifndef, #elif, #else and #endif"))
        }
    }
    Ok(())
}

/// `text` without a trailing `//` or `/* */` comment (outside string literals).
fn strip_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && matches!(bytes.get(i + 1), Some(b'/' | b'*')) => return &text[..i],
            _ => {}
        }
        i += 1;
    }
    text
}

fn is_defined(defines: &[Define], name: &str) -> bool {
    defines.iter().any(|d| d.name == name.trim())
}

/// Evaluates an `#if` condition: integers, names (their value, or 0), `defined NAME`,
/// `defined(NAME)`, `!`, `&&`, `||`, comparisons, `+`, `-` and parentheses.
fn evaluate(text: &str, defines: &[Define]) -> Result<i64, String> {
    let tokens = tokenize(text)?;
    let mut parser = Condition { tokens: &tokens, at: 0, defines, depth: 0 };
    let value = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(value),
        Some(extra) => Err(format!("unexpected `{extra}`")),
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["&&", "||", "==", "!=", "<=", ">="].contains(&two.as_str()) {
                tokens.push(two);
                i += 2;
            } else if "()!<>+-".contains(c) {
                tokens.push(c.to_string());
                i += 1;
            } else {
                return Err(format!("`{c}` is not supported in conditions"));
            }
        }
    }
    Ok(tokens)
}

struct Condition<'a> {
    tokens: &'a [String],
    at: usize,
    defines: &'a [Define],
    /// How deep name expansion goes, against a name defined as itself.
    depth: usize,
}

impl Condition<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn eat(&mut self, token: &str) -> bool {
        let found = self.peek() == Some(token);
        self.at += usize::from(found);
        found
    }

    fn or(&mut self) -> Result<i64, String> {
        let mut value = self.and()?;
        while self.eat("||") {
            let rhs = self.and()?;
            value = i64::from(value != 0 || rhs != 0);
        }
        Ok(value)
    }

    fn and(&mut self) -> Result<i64, String> {
        let mut value = self.compare()?;
        while self.eat("&&") {
            let rhs = self.compare()?;
            value = i64::from(value != 0 && rhs != 0);
        }
        Ok(value)
    }

    fn compare(&mut self) -> Result<i64, String> {
        let lhs = self.sum()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(op) {
                let rhs = self.sum()?;
                return Ok(i64::from(match op {
                    "==" => lhs == rhs,
                    "!=" => lhs != rhs,
                    "<=" => lhs <= rhs,
                    ">=" => lhs >= rhs,
                    "<" => lhs < rhs,
                    _ => lhs > rhs,
                }));
            }
        }
        Ok(lhs)
    }

    fn sum(&mut self) -> Result<i64, String> {
        let mut value = self.unary()?;
        loop {
            if self.eat("+") {
                value = value.wrapping_add(self.unary()?);
            } else if self.eat("-") {
                value = value.wrapping_sub(self.unary()?);
            } else {
                return Ok(value);
            }
        }
    }

    fn unary(&mut self) -> Result<i64, String> {
        if self.eat("!") {
            return Ok(i64::from(self.unary()? == 0));
        }
        if self.eat("-") {
            return Ok(self.unary()?.wrapping_neg());
        }
        if self.eat("(") {
            let value = self.or()?;
            return match self.eat(")") {
                true => Ok(value),
                false => Err("a `(` is not closed".to_string()),
            };
        }
        let Some(token) = self.peek().map(str::to_string) else { return Err("a value is missing".to_string()) };
        self.at += 1;
        if token == "defined" {
            let parenthesized = self.eat("(");
            let name = self.peek().ok_or("`defined` needs a name")?.to_string();
            self.at += 1;
            if parenthesized && !self.eat(")") {
                return Err("`defined(` is not closed".to_string());
            }
            return Ok(i64::from(is_defined(self.defines, &name)));
        }
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            let digits = token.trim_end_matches(['u', 'U', 'l', 'L']);
            return crate::syntax::literal::decode_int(digits).map(|v| v as i64).map_err(|e| e.message);
        }
        // A name: its value if it is a defined number, else 0 (as in C).
        let value = self.defines.iter().find(|d| d.name == token).and_then(|d| d.value.clone());
        match value {
            Some(text) if self.depth < 16 && !text.is_empty() => {
                let inner = tokenize(&text)?;
                let mut nested = Condition { tokens: &inner, at: 0, defines: self.defines, depth: self.depth + 1 };
                nested.or()
            }
            _ => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(source: &str) -> String {
        preprocess(source).expect("preprocesses").text
    }

    #[test]
    fn directives_are_blanked_and_lengths_kept() {
        let source = "#include <linux/sched.h>\n#define N 3\nbegin { }\n";
        let out = kept(source);
        assert_eq!(out.len(), source.len());
        assert_eq!(out.trim(), "begin { }");
    }

    #[test]
    fn conditionals_keep_the_branch_taken() {
        let source = "#ifndef BPFTRACE_HAVE_BTF\n#include <linux/socket.h>\nA\n#else\nB\n#endif\n#if defined(X) || 1 > 0\nC\n#elif 1\nD\n#endif\n";
        let out = kept(source);
        assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["B", "C"]);
    }

    #[test]
    fn defines_are_collected_with_their_values() {
        let out = preprocess("#define RED \"\\033[31m\" // red\n#define F(x) x\n#define LONG 1 + \\\n  2\n#define URL \"http://x\"\n").unwrap();
        let values: Vec<(&str, Option<&str>)> = out.defines.iter().map(|d| (d.name.as_str(), d.value.as_deref())).collect();
        assert_eq!(values, [("BPFTRACE_HAVE_BTF", Some("1")), ("RED", Some("\"\\033[31m\"")), ("F", None), ("LONG", Some("1 +   2")), ("URL", Some("\"http://x\""))]);
    }

    #[test]
    fn unclosed_and_unknown_directives_are_errors() {
        assert_eq!(preprocess("#if 1\nbegin { }\n").unwrap_err().code, "E0112");
        assert_eq!(preprocess("#frobnicate\n").unwrap_err().code, "E0112");
        assert_eq!(preprocess("#if 0\n#error no\n#endif\n#error yes\n").unwrap_err().code, "E0113");
    }

    #[test]
    fn a_hash_inside_a_block_comment_is_comment_text() {
        let source = "/*\n # need this\n */\nbegin { exit(); } /* a\n#if 0 */\n";
        assert_eq!(kept(source), source);
        assert_eq!(kept("\"/*\"\n#define X 1\n"), format!("\"/*\"\n{}\n", " ".repeat("#define X 1".len())));
    }

    #[test]
    fn a_shebang_is_not_a_directive() {
        assert_eq!(kept("#!/usr/bin/env ferrotrace\nbegin { }"), "#!/usr/bin/env ferrotrace\nbegin { }");
    }
}
