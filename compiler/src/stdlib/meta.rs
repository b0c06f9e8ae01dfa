//! What the compiler knows about the script itself, as constants (`probetype`,
//! `__builtin_arch`, `__builtin_safe_mode`), and the checks that stop compiling (`fail`,
//! `static_assert`, `assert_str`).

use super::{Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "probetype",
        signature: "string probetype",
        kind: Kind::Builtin,
        doc: "The provider of the probe being compiled, a constant: `tracepoint`, `kprobe`, \
              `kretprobe`, `interval`, `profile`, `test`, `bench`, or `special` for `begin` and `end`.",
        check: |c, call, cx| {
            if let Some(error) = super::arguments_given(c, call) {
                return error;
            }
            string(cx.attach.provider().name, call.span)
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "__builtin_arch",
        signature: "string __builtin_arch",
        kind: Kind::Builtin,
        doc: "The architecture ferrotrace runs on, a constant: `x86_64`.",
        check: |c, call, _| {
            if let Some(error) = super::arguments_given(c, call) {
                return error;
            }
            string(std::env::consts::ARCH, call.span)
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "__builtin_safe_mode",
        signature: "bool __builtin_safe_mode",
        kind: Kind::Builtin,
        doc: "Whether unsafe functions are refused (no `--unsafe`), a constant.",
        check: |c, call, _| {
            if let Some(error) = super::arguments_given(c, call) {
                return error;
            }
            Expr::new(ExprKind::Bool(c.safe_mode()), Ty::Bool, call.span)
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "fail",
        signature: "void fail(const string fmt, args...)",
        kind: Kind::Async,
        doc: "Stops compiling with the formatted message, where the call is not in a branch \
              `if comptime` dropped. Every argument is a literal.",
        check: check_fail,
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "assert_str",
        signature: "void assert_str(value)",
        kind: Kind::Async,
        doc: "Stops compiling unless `value` is string-like (a string, or a pointer a string can be \
              read from); for macros that take strings.",
        check: |c, call, cx| {
            let [arg] = call.args else { return c.arity_error(call, "a value") };
            let value = c.expr(arg, cx);
            match value.ty {
                Ty::Str(_) | Ty::Ptr { .. } | Ty::Error => nothing(call.span),
                _ => c.error_expr(
                    Diagnostic::error("E0472", format!("string-like values are strings or pointers, not {} `{}`", value.ty.article(), value.ty))
                        .with_primary(arg.span, "not string-like"),
                    call.span,
                ),
            }
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "static_assert",
        signature: "void static_assert(bool cond, const string msg)",
        kind: Kind::Async,
        doc: "Stops compiling with `msg` when `cond`, which must be known while compiling, is false.",
        check: check_static_assert,
        lower: Lowering::Elsewhere,
    },
];

fn string(text: &str, span: crate::span::Span) -> Expr {
    Expr::new(ExprKind::Str(text.as_bytes().to_vec()), Ty::Str(text.len() as u32 + 1), span)
}

/// No code: what a compile-time check leaves when it passes.
fn nothing(span: crate::span::Span) -> Expr {
    Expr::new(ExprKind::Block { stmts: Vec::new(), value: None }, Ty::Void, span)
}

fn check_fail(c: &mut Checker, call: &Call<'_>, _: &mut ProbeCx<'_>) -> Expr {
    let Some((format, args)) = call.args.split_first() else { return c.arity_error(call, "a format string") };
    let ast::ExprKind::Str(format) = &format.kind else {
        return c.error_expr(
            Diagnostic::error("E0461", "the format of `fail` must be a string literal").with_primary(format.span, "not a literal"),
            call.span,
        );
    };
    let mut texts = Vec::with_capacity(args.len());
    for arg in args {
        match &arg.kind {
            ast::ExprKind::Str(text) => texts.push(String::from_utf8_lossy(text).into_owned()),
            ast::ExprKind::Int(n) => texts.push(n.to_string()),
            ast::ExprKind::Bool(b) => texts.push(b.to_string()),
            _ => {
                return c.error_expr(
                    Diagnostic::error("E0461", "the arguments of `fail` must be literals").with_primary(arg.span, "not a literal"),
                    call.span,
                )
            }
        }
    }
    let message = substitute(&String::from_utf8_lossy(format), &texts);
    c.error_expr(Diagnostic::error("E0462", message).with_primary(call.span, "`fail` reached while compiling"), call.span)
}

fn check_static_assert(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let [cond, message] = call.args else { return c.arity_error(call, "a condition and a message") };
    let ast::ExprKind::Str(message) = &message.kind else {
        return c.error_expr(
            Diagnostic::error("E0461", "the message of `static_assert` must be a string literal").with_primary(message.span, "not a literal"),
            call.span,
        );
    };
    let cond = c.expr(cond, cx);
    if cond.ty.is_error() {
        return cond;
    }
    match c.constant_of(&cond, "`static_assert`").map(|value| value.truth()) {
        Some(Some(true)) => nothing(call.span),
        Some(Some(false)) => c.error_expr(
            Diagnostic::error("E0462", String::from_utf8_lossy(message).into_owned()).with_primary(cond.span, "this is false"),
            call.span,
        ),
        Some(None) => c.error_expr(
            Diagnostic::error("E0460", "the condition of `static_assert` is a string, not a truth value").with_primary(cond.span, "a string"),
            call.span,
        ),
        None => c.error_expr_silent(call.span),
    }
}

/// `format` with each conversion (`%d`, `%s`, ...) replaced by the next of `args`, and `%%` by `%`.
fn substitute(format: &str, args: &[String]) -> String {
    let mut out = String::with_capacity(format.len());
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // Flags, width and length modifiers up to the conversion letter.
        while chars.next_if(|c| !c.is_ascii_alphabetic() || matches!(c, 'h' | 'l' | 'z' | 'j')).is_some() {}
        chars.next();
        out.push_str(args.next().map_or("", String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::substitute;

    #[test]
    fn conversions_take_the_arguments_in_order() {
        let args = ["x".to_string(), "42".to_string()];
        assert_eq!(substitute("bad %s: %-5lld 100%%", &args), "bad x: 42 100%");
    }
}
