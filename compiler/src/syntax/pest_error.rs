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

use super::{codes, trim};

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
    let rule_pos = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    if let ErrorVariant::CustomError { message } = &error.variant {
        // Only pest's own resource limits (call depth, stack) fail with a custom error.
        return Diagnostic::error(codes::NESTED_TOO_DEEPLY, "the script is nested too deeply to parse")
            .with_primary(Span::new(rule_pos, rule_pos), "the parser gave up here")
            .with_note(format!("parser: {message}"));
    }
    let (pos, expected) = expectations(error, rule_pos);
    let found = token_at(source, pos);
    let span = Span::new(pos, pos + found.len());
    let (found_words, label) = if found.is_empty() {
        ("the end of the script".to_string(), "the script ends here".to_string())
    } else {
        (format!("`{found}`"), format!("unexpected `{found}`"))
    };
    if let ([Expected::Expression], Some(operator)) = (expected.as_slice(), operator_before(source, pos)) {
        return Diagnostic::error(
            codes::UNEXPECTED_TOKEN,
            format!("expected an expression after `{operator}`"),
        )
        .with_primary(span, format!("expected an expression, found {found_words}"));
    }
    let message = format!("expected {}, found {found_words}", join(&expected));
    let diagnostic = Diagnostic::error(codes::UNEXPECTED_TOKEN, message).with_primary(span, label);
    with_hint(diagnostic, &expected, found)
}

/// Adds a hint for the common slip of two statements without a `;` between them: a `;` would
/// have been accepted and what follows looks like the start of a statement.
fn with_hint(diagnostic: Diagnostic, expected: &[Expected], found: &str) -> Diagnostic {
    let starts_statement = found.starts_with(|c: char| c == '@' || c == '$' || c.is_ascii_alphabetic());
    if starts_statement && expected.contains(&Expected::Token(";".into())) {
        diagnostic.with_help("statements are separated by `;`")
    } else {
        diagnostic
    }
}

/// Where the parse failed and what would have been accepted there, translated and deduplicated.
///
/// Pest's rule-level position stops before a literal that failed inside a rule (the `(` after
/// `if`); its token-level attempts reach further. The furthest position wins: there only the
/// literal tokens are known, at the rule position the rules tried are known too.
fn expectations(error: &Error<Rule>, rule_pos: usize) -> (usize, Vec<Expected>) {
    let mut expected = BTreeSet::new();
    let mut pos = rule_pos;
    if let Some(attempts) = error.parse_attempts() {
        let tokens: Vec<String> = attempts.expected_tokens().iter().map(ToString::to_string).collect();
        let from_tokens: BTreeSet<Expected> = tokens.iter().filter_map(|token| from_token(token)).collect();
        if attempts.max_position > rule_pos && !from_tokens.is_empty() {
            pos = attempts.max_position;
        }
        expected.extend(from_tokens);
    }
    if pos == rule_pos {
        if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
            expected.extend(positives.iter().filter_map(|&rule| from_rule(rule)));
        }
    }
    simplify(&mut expected);
    if expected.is_empty() {
        expected.insert(Expected::Statement);
    }
    (pos, expected.into_iter().collect())
}

fn from_rule(rule: Rule) -> Option<Expected> {
    let expected = match rule {
        Rule::file | Rule::probe | Rule::attach_point | Rule::unsupported | Rule::c_definition => Expected::Probe,
        Rule::expr
        | Rule::unary
        | Rule::prefix_op
        | Rule::cast
        | Rule::parenthesized
        | Rule::name_or_call
        | Rule::map
        | Rule::map_name
        | Rule::ident
        | Rule::int_lit
        | Rule::string_lit
        | Rule::bool_lit
        | Rule::unsupported_expr
        | Rule::block_expr => Expected::Expression,
        Rule::block => Expected::Token("{".into()),
        Rule::if_stmt | Rule::let_stmt | Rule::return_stmt | Rule::assign_stmt | Rule::expr_stmt => {
            Expected::Statement
        }
        Rule::var => Expected::Variable,
        Rule::field_name | Rule::tuple_digits => Expected::Name,
        Rule::cast_type => Expected::CastType,
        Rule::infix_op
        | Rule::post_inc_dec
        | Rule::tuple_index
        | Rule::field_access
        | Rule::arrow_access
        | Rule::index => Expected::Operator,
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
        // A variable, a parenthesized expression and a block expression are all expressions.
        expected.remove(&Expected::Variable);
        expected.remove(&Expected::Token("(".into()));
        expected.remove(&Expected::Token("{".into()));
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
    let line = source.get(pos..).and_then(|rest| rest.lines().next()).unwrap_or("");
    let mut chars = line.char_indices();
    let Some((_, first)) = chars.next() else { return "" };
    let end = if is_word_char(first) || first == '$' || first == '@' {
        chars.find(|&(_, c)| !is_word_char(c)).map_or(line.len(), |(at, _)| at)
    } else if first == '"' {
        line[1..].find('"').map_or(line.len(), |at| at + 2)
    } else if is_operator_char(first) {
        line.find(|c: char| !is_operator_char(c)).unwrap_or(line.len()).min(3)
    } else {
        first.len_utf8()
    };
    &line[..end]
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every operator, longest first, so the longest one a text ends with is found first.
const OPERATORS: &[&str] = &[
    "<<=", ">>=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "==", "!=", "<=", ">=", "<<", ">>", "&&",
    "||", "++", "--", "->", "+", "-", "*", "/", "%", "&", "|", "^", "<", ">", "=", "!", "~", "?", ":",
];

/// The operator that ends just before `pos` (ignoring whitespace and comments), if any.
fn operator_before(source: &str, pos: usize) -> Option<&'static str> {
    let before = trim::without_trailing_trivia(source.get(..pos)?);
    OPERATORS.iter().copied().find(|operator| before.ends_with(operator))
}

fn is_operator_char(c: char) -> bool {
    "+-*/%&|^<>=!~?:".contains(c)
}
