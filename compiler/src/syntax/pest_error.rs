//! Turns a pest parse failure into a diagnostic in the user's words.
//!
//! Pest reports the furthest position it reached, the rules it tried there and the literal
//! tokens it expected. This module names those in plain words ("an expression", "`;`"),
//! never as grammar rule names, and names the token it found instead.

use std::collections::BTreeSet;

use ferrotrace_grammar::Rule;
use pest::error::{Error, ErrorVariant, InputLocation};

use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::codes;

/// One thing the parser would have accepted, in words; the order is the order of the message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Expected {
    Probe,
    Expression,
    Statement,
    Variable,
    Name,
    CastType,
    Operator,
    Predicate,
    Token(String),
    EndOfInput,
}

impl Expected {
    fn describe(&self) -> String {
        match self {
            Expected::Probe => "a probe such as `begin` or `tracepoint:syscalls:sys_enter_read`".into(),
            Expected::Expression => "an expression".into(),
            Expected::Statement => "a statement".into(),
            Expected::Variable => "a variable such as `$x`".into(),
            Expected::Name => "a field name".into(),
            Expected::CastType => "an integer type such as `uint32`".into(),
            Expected::Operator => "an operator".into(),
            Expected::Predicate => "a predicate `/.../`".into(),
            Expected::Token(token) => format!("`{token}`"),
            Expected::EndOfInput => "the end of the script".into(),
        }
    }
}

/// Builds the diagnostic for a failed parse of `source`.
pub fn translate(error: &Error<Rule>, source: &str) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    if let ErrorVariant::CustomError { message } = &error.variant {
        // Only pest's own resource limits (call depth, stack) fail with a custom error.
        return Diagnostic::error(codes::NESTED_TOO_DEEPLY, "the script is nested too deeply to parse")
            .with_primary(Span::new(pos, pos), "the parser gave up here")
            .with_note(format!("parser: {message}"));
    }
    let expected = expectations(error);
    let found = token_at(source, pos);
    let span = if found.is_empty() { Span::new(pos, pos) } else { Span::new(pos, pos + found.len()) };
    let (found_words, label) = if found.is_empty() {
        ("the end of the script".to_string(), "the script ends here".to_string())
    } else {
        (format!("`{found}`"), format!("unexpected `{found}`"))
    };
    if expected.contains(&Expected::Expression) {
        if let Some(operator) = operator_before(source, pos) {
            return Diagnostic::error(codes::UNEXPECTED_TOKEN, format!("expected an expression after `{operator}`"))
                .with_primary(span, format!("expected an expression, found {found_words}"));
        }
    }
    let message = format!("expected {}, found {found_words}", join(&expected));
    let diagnostic = Diagnostic::error(codes::UNEXPECTED_TOKEN, message).with_primary(span, label);
    with_hint(diagnostic, &expected)
}

/// Adds a hint for the common slip of two statements without a `;` between them.
fn with_hint(diagnostic: Diagnostic, expected: &[Expected]) -> Diagnostic {
    if expected.contains(&Expected::Token(";".into())) {
        diagnostic.with_help("statements are separated by `;`")
    } else {
        diagnostic
    }
}

/// What pest expected, translated and deduplicated.
fn expectations(error: &Error<Rule>) -> Vec<Expected> {
    let mut expected = BTreeSet::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        expected.extend(positives.iter().filter_map(|&rule| from_rule(rule)));
    }
    if let Some(attempts) = error.parse_attempts() {
        let tokens = attempts.expected_tokens().iter().map(ToString::to_string).collect::<Vec<_>>();
        expected.extend(tokens.iter().filter_map(|token| from_token(token)));
    }
    simplify(&mut expected);
    if expected.is_empty() {
        expected.insert(Expected::Statement);
    }
    expected.into_iter().collect()
}

fn from_rule(rule: Rule) -> Option<Expected> {
    let expected = match rule {
        Rule::file | Rule::probe | Rule::attach_point | Rule::unsupported => Expected::Probe,
        Rule::expr | Rule::unary | Rule::prefix_op | Rule::cast | Rule::parenthesized | Rule::call
        | Rule::map | Rule::map_name | Rule::ident | Rule::int_lit | Rule::string_lit
        | Rule::bool_lit | Rule::unsupported_expr => Expected::Expression,
        Rule::block => Expected::Token("{".into()),
        Rule::if_stmt | Rule::let_stmt | Rule::return_stmt | Rule::assign_stmt
        | Rule::expr_stmt => Expected::Statement,
        Rule::var => Expected::Variable,
        Rule::field_name | Rule::tuple_digits => Expected::Name,
        Rule::cast_type => Expected::CastType,
        Rule::infix_op | Rule::post_inc_dec | Rule::tuple_index | Rule::field_access
        | Rule::arrow_access | Rule::index => Expected::Operator,
        Rule::assign_op => Expected::Token("=".into()),
        Rule::predicate => Expected::Predicate,
        Rule::kw_else => Expected::Token("else".into()),
        Rule::EOI => Expected::EndOfInput,
        _ => return None,
    };
    Some(expected)
}

/// Structural punctuation is worth naming; operator characters are covered by their rules.
fn from_token(token: &str) -> Option<Expected> {
    match token {
        "{" | "}" | "(" | ")" | "]" | "," | ";" | ":" | "=" => Some(Expected::Token(token.to_string())),
        _ => None,
    }
}

/// Drops expectations another one already covers: `(` starts an expression, and a `:` outside
/// a ternary only continues an attach point.
fn simplify(expected: &mut BTreeSet<Expected>) {
    if expected.contains(&Expected::Expression) {
        expected.remove(&Expected::Variable);
        expected.remove(&Expected::Token("(".into()));
    }
    if !expected.contains(&Expected::Operator) {
        expected.remove(&Expected::Token(":".into()));
    }
}

/// "a", "a or b", "a, b or c".
fn join(expected: &[Expected]) -> String {
    let words: Vec<String> = expected.iter().map(Expected::describe).collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, init)) => format!("{} or {last}", init.join(", ")),
    }
}

/// The token that starts at `pos`: a word, a string, an operator or one character.
fn token_at(source: &str, pos: usize) -> &str {
    let rest = source.get(pos..).unwrap_or("");
    let Some(first) = rest.chars().next() else { return "" };
    let len = if first.is_ascii_alphanumeric() || first == '_' || first == '$' || first == '@' {
        1 + rest[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len() - 1)
    } else if first == '"' {
        rest[1..].find('"').map_or(rest.len(), |n| n + 2)
    } else {
        let operator = rest.find(|c: char| !is_operator_char(c)).unwrap_or(rest.len());
        operator.clamp(first.len_utf8(), 3)
    };
    let end = (0..=len.min(rest.len())).rev().find(|&i| rest.is_char_boundary(i)).unwrap_or(0);
    rest[..end].lines().next().unwrap_or("")
}

/// The operator that ends just before `pos` (ignoring whitespace), if there is one.
fn operator_before(source: &str, pos: usize) -> Option<&str> {
    let before = source.get(..pos)?.trim_end();
    let start = before.rfind(|c: char| !is_operator_char(c)).map_or(0, |i| i + 1);
    let operator = &before[start..];
    (!operator.is_empty() && operator.len() <= 3).then_some(operator)
}

fn is_operator_char(c: char) -> bool {
    "+-*/%&|^<>=!~?:".contains(c)
}
