//! What a line typed at the prompt is: a meta-command, script items (probe blocks, config,
//! definitions) or statements to run once; and whether it is complete yet, decided by the
//! compiler's own lexical pass (strings and comments skipped), not by counting brackets.

use ferrotrace_compiler::stdlib;
use ferrotrace_compiler::syntax::ast::ExprKind;
use ferrotrace_compiler::syntax::{self, codes, delimiters};

/// One complete input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `:name args`, the name without the `:`.
    Command { name: String, args: String },
    /// Probe blocks, a config block, macros, map declarations, C definitions.
    Items(String),
    /// Statements run once, as a `begin` block would: `printf(...)`, `@x = 1`.
    Statements(String),
    /// One expression, printed: `@opens`, `ncpus`, `1 << 20`.
    Expression(String),
    Empty,
}

/// Whether `text` is a whole input, or more lines must follow: a block or comment is still
/// open. A string cannot span lines, so an unclosed one is complete (and an error).
pub fn is_complete(text: &str) -> bool {
    if text.trim_start().starts_with(':') {
        return true;
    }
    match delimiters::check(text) {
        Err(diagnostic) => diagnostic.code != codes::UNCLOSED_DELIMITER && diagnostic.code != codes::UNCLOSED_COMMENT,
        Ok(()) => true,
    }
}

/// What a complete input is.
pub fn classify(text: &str) -> Input {
    let trimmed = text.trim();
    if trimmed.is_empty() || only_comments(trimmed) {
        return Input::Empty;
    }
    if let Some(command) = trimmed.strip_prefix(':') {
        let (name, args) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
        return Input::Command { name: name.to_string(), args: args.trim().to_string() };
    }
    if starts_with_item(trimmed) {
        return Input::Items(text.to_string());
    }
    let expression = trimmed.trim_end_matches(';').trim_end();
    match syntax::parse_expr(expression) {
        Ok(expr) if shows_a_value(&expr.kind) => Input::Expression(expression.to_string()),
        _ => Input::Statements(text.to_string()),
    }
}

/// Whether the text is nothing but comments.
fn only_comments(text: &str) -> bool {
    syntax::parse(text).is_ok_and(|program| program.probes.is_empty() && program.config.is_empty() && program.macros.is_empty() && program.map_decls.is_empty() && program.c_definitions.is_empty())
}

/// Whether an input starts the way a script's top-level item does: an attach point
/// (`provider:...`, `begin`, `end`), `config =`, `macro`, `let @map =`, a C definition, `import`.
fn starts_with_item(text: &str) -> bool {
    let word: String = text.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '*' | '?' | '/' | '.' | '-' | '+' | ',')).collect();
    let first = word.split([',', '/']).next().unwrap_or("");
    if first.contains(':') || word.contains(':') {
        return true;
    }
    let rest = text[word.len()..].trim_start();
    match first {
        "begin" | "end" | "BEGIN" | "END" => rest.starts_with('{') || rest.starts_with('/') || rest.starts_with(','),
        "config" => rest.starts_with('='),
        "macro" | "import" | "struct" | "union" | "enum" | "typedef" => true,
        "let" => rest.starts_with('@'),
        _ => false,
    }
}

/// Whether evaluating `expr` gives a value worth printing (not a call of a function that
/// returns nothing, not `@x++`).
fn shows_a_value(expr: &ExprKind) -> bool {
    match expr {
        ExprKind::IncDec { .. } => false,
        ExprKind::Call { name, .. } => !stdlib::lookup(&name.name).is_some_and(|function| function.signature.starts_with("void ")),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_block_or_comment_continues_and_a_string_does_not() {
        assert!(!is_complete("tracepoint:syscalls:sys_enter_openat {"));
        assert!(!is_complete("begin { if (1) { printf(\"}\"); }"));
        assert!(!is_complete("/* a comment"));
        assert!(is_complete("begin { printf(\"{\"); }"));
        assert!(is_complete("printf(\"unclosed"));
        assert!(is_complete(":print @m"));
        assert!(is_complete("begin { } }"));
    }

    #[test]
    fn inputs_are_told_apart_by_how_they_start() {
        assert_eq!(classify("tracepoint:syscalls:sys_enter_openat { @ = count(); }"), Input::Items("tracepoint:syscalls:sys_enter_openat { @ = count(); }".into()));
        assert!(matches!(classify("kprobe:a,kprobe:b /pid/ { }"), Input::Items(_)));
        assert!(matches!(classify("begin { printf(\"hi\\n\"); }"), Input::Items(_)));
        assert!(matches!(classify("config = { max_map_keys = 10 }"), Input::Items(_)));
        assert!(matches!(classify("let @m = hash(10);"), Input::Items(_)));
        assert!(matches!(classify("let $x = 1; print($x)"), Input::Statements(_)));
        assert_eq!(classify("@opens"), Input::Expression("@opens".into()));
        assert_eq!(classify("ncpus;"), Input::Expression("ncpus".into()));
        assert!(matches!(classify("printf(\"a:b %d\\n\", ncpus)"), Input::Statements(_)));
        assert!(matches!(classify("@x++"), Input::Statements(_)));
        assert!(matches!(classify("@x = 1"), Input::Statements(_)));
        assert_eq!(classify(":detach  2 "), Input::Command { name: "detach".into(), args: "2".into() });
        assert_eq!(classify("  // nothing\n"), Input::Empty);
    }
}
