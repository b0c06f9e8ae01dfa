//! Type checking of statements: assignments (with compound operators desugared), aggregations,
//! `if`, `return` and blocks.

use super::hir::{Expr, ExprKind, Stmt, StmtKind};
use super::{Checker, ProbeCx};
use crate::diagnostic::Diagnostic;
use crate::manifest::MapValue;
use crate::span::Span;
use crate::syntax::ast;
use crate::types::Ty;

impl Checker {
    pub(crate) fn block(&mut self, block: &ast::Block, cx: &mut ProbeCx<'_>) -> Vec<Stmt> {
        block.stmts.iter().filter_map(|s| self.stmt(s, cx)).collect()
    }

    fn stmt(&mut self, stmt: &ast::Stmt, cx: &mut ProbeCx<'_>) -> Option<Stmt> {
        let span = stmt.span;
        let kind = match &stmt.kind {
            ast::StmtKind::Expr(e) => StmtKind::Expr(self.expr(e, cx)),
            ast::StmtKind::AssignMap { map, op, value } => self.assign_map(map, *op, value, span, cx)?,
            ast::StmtKind::AssignVar { var, op, value } => self.assign_var(var, *op, value, span, cx)?,
            ast::StmtKind::Let { var, value: Some(value) } => self.assign_var(var, None, value, span, cx)?,
            ast::StmtKind::Let { var, value: None } => {
                self.report(Diagnostic::error("E0421", format!("`let ${}` needs a value here", var.name))
                    .with_primary(var.span, "declared without a value")
                    .with_help(format!("write `let ${} = 0;`", var.name)));
                return None;
            }
            ast::StmtKind::If { cond, then_block, else_block } => {
                let cond = self.expr(cond, cx);
                self.expect_condition(&cond);
                let then_body = self.block(then_block, cx);
                let else_body = else_block.as_ref().map(|b| self.block(b, cx)).unwrap_or_default();
                StmtKind::If { cond, then_body, else_body }
            }
            ast::StmtKind::Return => StmtKind::Return,
            ast::StmtKind::Block(block) => StmtKind::Block(self.block(block, cx)),
        };
        Some(Stmt { kind, span })
    }

    fn assign_map(&mut self, map: &ast::MapRef, op: Option<ast::BinOp>, value: &ast::Expr, span: Span, cx: &mut ProbeCx<'_>) -> Option<StmtKind> {
        if let (None, ast::ExprKind::Call { name, args }) = (op, &value.kind) {
            if let Some((kind, arg)) = self.aggregation(name, args, value.span, cx) {
                let (idx, key) = self.map_ref(map, cx);
                if kind == MapValue::Plain(Ty::Error) {
                    // Count the map as assigned so that later uses do not report it again.
                    self.record_value(idx, kind, value.span);
                    return None;
                }
                self.record_value(idx, kind, value.span);
                return Some(StmtKind::Aggregate { map: idx, key, arg });
            }
        }
        let (idx, key) = self.map_ref(map, cx);
        let mut value = self.expr(value, cx);
        if let Some(op) = op {
            if let Some(Some(aggregation)) = self.maps.read(idx).value.as_ref().map(|v| v.0.aggregation_name()) {
                self.report(Diagnostic::error("E0406", format!("the value of `@{}` cannot be read in a probe", map.name))
                    .with_primary(span, format!("`{}=` reads it, but it holds a `{aggregation}()` aggregation", op.symbol()))
                    .with_help(format!("aggregations are read when printed: `print(@{})`", map.name)));
                return None;
            }
            let current = Expr::new(ExprKind::MapRead { map: idx, key: key.clone().map(Box::new) }, self.plain_value(idx), map.span);
            value = self.binary(op, current, value, span);
        }
        if matches!(value.ty, Ty::Void) {
            self.report(super::expr::value_expected(&value));
        }
        if value.ty.is_error() || matches!(value.ty, Ty::Void) {
            // Count the map as assigned so that later uses do not report it again.
            self.record_value(idx, MapValue::Plain(Ty::Error), value.span);
            return None;
        }
        self.record_value(idx, MapValue::Plain(value.ty.clone()), value.span);
        Some(StmtKind::AssignMap { map: idx, key, value })
    }

    /// The plain value type of a map read by a compound assignment (integer if not yet known).
    fn plain_value(&mut self, idx: super::hir::MapIdx) -> Ty {
        match self.maps.read(idx).value.as_ref().map(|v| &v.0) {
            Some(MapValue::Plain(ty)) => ty.clone(),
            Some(_) => Ty::Error,
            None => Ty::I64,
        }
    }

    fn record_value(&mut self, idx: super::hir::MapIdx, kind: MapValue, span: Span) {
        if let Err(diag) = self.maps.use_value(idx, kind, span) {
            self.report(diag);
        }
    }

    fn assign_var(&mut self, var: &ast::Ident, op: Option<ast::BinOp>, value: &ast::Expr, span: Span, cx: &mut ProbeCx<'_>) -> Option<StmtKind> {
        let mut value = self.expr(value, cx);
        if let Some(op) = op {
            let Some(id) = cx.locals.find(&var.name) else {
                self.report(Diagnostic::error("E0303", format!("variable `${}` is used before it is assigned", var.name))
                    .with_primary(var.span, "no value yet"));
                return None;
            };
            let current = Expr::new(ExprKind::Local(id), cx.locals.read(id).clone(), var.span);
            value = self.binary(op, current, value, span);
        }
        if matches!(value.ty, Ty::Void) {
            self.report(super::expr::value_expected(&value));
        }
        if value.ty.is_error() || matches!(value.ty, Ty::Void) {
            // Declare the variable anyway so that later uses do not report it again.
            if cx.locals.find(&var.name).is_none() {
                let _ = cx.locals.assign(&var.name, &Ty::Error, var.span);
            }
            return None;
        }
        match cx.locals.assign(&var.name, &value.ty, var.span) {
            Ok(local) => Some(StmtKind::AssignLocal { local, value }),
            Err(diag) => {
                self.report(diag);
                None
            }
        }
    }
}
