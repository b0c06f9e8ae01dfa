//! `#define NAME value` at its uses: a bare identifier that names an object-like define is
//! its replacement text, read as an expression and reported where the name is written.

use super::hir::Expr;
use super::{Checker, ProbeCx};
use crate::diagnostic::Diagnostic;
use crate::span::Span;

impl Checker {
    /// The expansion of `name` if it is a `#define`, checked; `None` when it is not one.
    pub(crate) fn expand_define(&mut self, name: &str, span: Span, cx: &mut ProbeCx<'_>) -> Option<Expr> {
        let define = self.defines.iter().find(|d| d.name == name)?.clone();
        let Some(text) = define.value else {
            return Some(self.error_expr(
                Diagnostic::error("E0440", format!("`{name}` is a function-like `#define`, which ferrotrace does not expand"))
                    .with_primary(span, "defined with parameters")
                    .with_help("write a `macro` instead: `macro name(x) { ... }`"),
                span,
            ));
        };
        if let Some(at) = self.expanding.iter().position(|n| n == name) {
            let chain: Vec<&str> = self.expanding[at..].iter().map(String::as_str).chain([name]).collect();
            return Some(self.error_expr(
                Diagnostic::error("E0441", format!("`#define {name}` expands to itself: {}", chain.join(" -> ")))
                    .with_primary(span, "used here"),
                span,
            ));
        }
        let mut parsed = match crate::syntax::parse_expr(&text) {
            Ok(expr) => expr,
            Err(_) => {
                let diag = Diagnostic::error("E0442", format!("`{name}` expands to `{text}`, which is not an expression"))
                    .with_primary(span, "used here");
                let diag = match define.value_span == Span::DUMMY {
                    true => diag,
                    false => diag.with_secondary(define.value_span, "defined here"),
                };
                return Some(self.error_expr(diag, span));
            }
        };
        parsed.relocate(span);
        self.expanding.push(name.to_string());
        let checked = self.expr(&parsed, cx);
        self.expanding.pop();
        Some(checked)
    }
}
