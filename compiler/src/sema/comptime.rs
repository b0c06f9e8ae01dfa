//! What is decided while compiling: `comptime e` (a value that must be constant) and
//! `if comptime (c) { } else { }`, whose branch not taken is dropped unchecked, as bpftrace's
//! library uses it to pick code by probe type.

use super::fold::{evaluate, Const};
use super::hir::{Expr, ExprKind, StmtKind};
use super::{Checker, ProbeCx};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::syntax::ast;
use crate::types::Ty;

impl Checker {
    /// `comptime e`: `e` as the literal it evaluates to.
    pub(crate) fn comptime(&mut self, inner: &ast::Expr, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let e = self.expr(inner, cx);
        if e.ty.is_error() {
            return e;
        }
        match self.constant_of(&e, "`comptime`") {
            Some(value) => literal(value, &e.ty, span),
            None => Expr::new(ExprKind::Int(0), Ty::Error, span),
        }
    }

    /// `if comptime (c) { then } else { otherwise }`: the branch `c` picks, checked alone.
    pub(crate) fn comptime_if(&mut self, cond: &ast::Expr, then_block: &ast::Block, else_block: Option<&ast::Block>, cx: &mut ProbeCx<'_>) -> Option<StmtKind> {
        let cond = self.expr(cond, cx);
        if cond.ty.is_error() {
            return None;
        }
        let taken = match self.constant_of(&cond, "`if comptime`")?.truth() {
            Some(taken) => taken,
            None => {
                self.report(Diagnostic::error("E0460", "the condition of `if comptime` is a string, not a truth value").with_primary(cond.span, "a string"));
                return None;
            }
        };
        let block = if taken { Some(then_block) } else { else_block };
        Some(StmtKind::Block(block.map(|b| self.block(b, cx)).unwrap_or_default()))
    }

    /// The value of `e` known while compiling; `None` after reporting that it is not, for
    /// `what` (the construct that needs it).
    pub(crate) fn constant_of(&mut self, e: &Expr, what: &str) -> Option<Const> {
        let value = evaluate(e);
        if value.is_none() {
            self.report(
                Diagnostic::error("E0460", format!("{what} needs a value known while compiling"))
                    .with_primary(e.span, "known only when the probe runs")
                    .with_note("literals, `probetype`, `__builtin_arch`, `__builtin_safe_mode`, the `is_*` questions and operators on them are known"),
            );
        }
        value
    }
}

/// The HIR literal of a constant `value` that an expression of type `ty` evaluated to.
fn literal(value: Const, ty: &Ty, span: Span) -> Expr {
    match value {
        Const::Int(n) => Expr::new(ExprKind::Int(n as u64), ty.clone(), span),
        Const::Bool(b) => Expr::new(ExprKind::Bool(b), Ty::Bool, span),
        Const::Str(bytes) => {
            let size = bytes.len() as u32 + 1;
            Expr::new(ExprKind::Str(bytes), Ty::Str(size), span)
        }
    }
}
