//! Type checking of statements: assignments (with compound operators desugared), aggregations,
//! `if`, `return` and blocks.

use super::hir::{Expr, ExprKind, Stmt, StmtKind};
use super::{Checker, ProbeCx};
use crate::diagnostic::Diagnostic;
use crate::manifest::MapValue;
use crate::span::Span;
use crate::syntax::ast;
use crate::types::Ty;

/// The largest count `unroll` takes, as in bpftrace.
const MAX_UNROLL: u64 = 100;

/// Whether evaluating `e` changes nothing: no call, no action, no `++`/`--`, no statement.
fn has_no_effect(e: &Expr) -> bool {
    let mut effect = false;
    e.walk(&mut |part| {
        effect |= matches!(
            part.kind,
            ExprKind::IncDec { .. }
                | ExprKind::Action(_)
                | ExprKind::Delete { .. }
                | ExprKind::Block { .. }
                | ExprKind::ReadStr { .. }
                // It assigns its variable.
                | ExprKind::Call { func: "find", .. }
        )
    });
    !effect
}

/// The value `for ($kv : @m)` gives `$kv.1` for a map holding `value`: a plain value, or the
/// combined value of a count, sum, min, max or avg; `None` for what has no single value.
fn entry_value(value: &MapValue) -> Option<Ty> {
    match value {
        MapValue::Plain(ty) => Some(ty.clone()),
        MapValue::Count => Some(Ty::U64),
        MapValue::Sum(int) | MapValue::Min(int) | MapValue::Max(int) | MapValue::Avg(int) => Some(Ty::Int(*int)),
        _ => None,
    }
}

/// Whether the literal `v` (signed when `signed`) is a value of `int`.
fn fits(v: u64, signed: bool, int: crate::types::IntTy) -> bool {
    let value = if signed { i128::from(v as i64) } else { i128::from(v) };
    let (min, max) = match int.signed {
        true => (-(1i128 << (int.bits - 1)), (1i128 << (int.bits - 1)) - 1),
        false => (0, (1i128 << int.bits) - 1),
    };
    (min..=max).contains(&value)
}

impl Checker {
    /// A block's statements, in a scope of their own.
    pub(crate) fn block(&mut self, block: &ast::Block, cx: &mut ProbeCx<'_>) -> Vec<Stmt> {
        cx.locals.push_scope();
        let stmts = block.stmts.iter().filter_map(|s| self.stmt(s, cx)).collect();
        cx.locals.pop_scope();
        stmts
    }

    /// `let $x[: type][ = value]`: a new variable in the innermost block; without a value it
    /// starts at zero.
    fn let_stmt(&mut self, var: &ast::Ident, ty: Option<&ast::TypeSpec>, value: Option<&ast::Expr>, span: Span, cx: &mut ProbeCx<'_>) -> Option<StmtKind> {
        let declared = match ty {
            None => None,
            Some(spec) => {
                let ty = self.written_type(spec, cx)?;
                if !matches!(ty, Ty::Int(_) | Ty::Enum(_) | Ty::Bool | Ty::Str(_)) {
                    self.report(Diagnostic::error("E0448", format!("`{ty}` is not a type a variable can be declared with"))
                        .with_primary(spec.span(), "not declarable")
                        .with_help("variables take int8..int64, uint8..uint64, bool, string and string[N]"));
                    return None;
                }
                Some(ty)
            }
        };
        let value = value.map(|v| self.value_expr(v, cx));
        let id = match cx.locals.declare(&var.name, declared.clone(), declared.is_some(), var.span) {
            Ok(id) => id,
            Err(diag) => {
                self.report(diag);
                return None;
            }
        };
        // Without a value it is zeroed at the probe's start, like any variable read before it
        // is assigned: nothing to run here.
        let value = self.value_of(value?, cx);
        if !super::expr::is_value(&value.ty) {
            self.report(super::expr::value_expected(&value));
            return None;
        }
        if value.ty.is_error() {
            return None;
        }
        let value = match declared {
            Some(to) => self.convert(value, &to, span)?,
            None => {
                if let Err(diag) = cx.locals.assign(&var.name, &value.ty, super::expr::is_flexible_literal(&value), var.span) {
                    self.report(diag);
                    return None;
                }
                value
            }
        };
        Some(StmtKind::AssignLocal { local: id, value })
    }

    /// `value` as the declared type `to`: an integer is truncated to it (a literal must fit);
    /// other types must match.
    fn convert(&mut self, value: Expr, to: &Ty, span: Span) -> Option<Expr> {
        match (&value.ty, to) {
            (Ty::Int(_) | Ty::Enum(_), Ty::Int(int)) => {
                if let ExprKind::Int(v) = value.kind {
                    if !fits(v, value.ty.as_int().is_some_and(|i| i.signed), *int) {
                        self.report(Diagnostic::error("E0449", format!("{} does not fit in `{int}`", v as i64))
                            .with_primary(value.span, format!("out of `{int}`'s range"))
                            .with_help(format!("cast it if that is meant: `({int}){}`", v as i64)));
                        return None;
                    }
                }
                Some(Expr::new(ExprKind::Cast { to: *int, expr: Box::new(value) }, to.clone(), span))
            }
            (Ty::Str(_), Ty::Str(_)) | (Ty::Bool, Ty::Bool) => Some(value),
            (from, to) if super::unify::unify(from, to).as_ref() == Some(to) => Some(value),
            _ => {
                self.report(super::expr::operand_error(&format!("{} `{to}` variable", to.article()), &value, &format!("{} `{to}`", to.article())));
                None
            }
        }
    }

    /// `{ statements; value }` as an expression: its type is the value's, or none.
    pub(crate) fn block_expr(&mut self, block: &ast::Block, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let (body, value) = match (block.has_value, block.stmts.split_last()) {
            (true, Some((ast::Stmt { kind: ast::StmtKind::Expr(value), .. }, body))) => (body, Some(value)),
            _ => (&block.stmts[..], None),
        };
        cx.locals.push_scope();
        let stmts: Vec<Stmt> = body.iter().filter_map(|s| self.stmt(s, cx)).collect();
        let value = value.map(|v| self.expr(v, cx));
        cx.locals.pop_scope();
        let ty = match &value {
            Some(v) if v.ty.is_error() => return Expr::new(ExprKind::Int(0), Ty::Error, span),
            Some(v) => v.ty.clone(),
            None => Ty::Void,
        };
        Expr::new(ExprKind::Block { stmts, value: value.map(Box::new) }, ty, span)
    }

    fn stmt(&mut self, stmt: &ast::Stmt, cx: &mut ProbeCx<'_>) -> Option<Stmt> {
        let span = stmt.span;
        let kind = match &stmt.kind {
            ast::StmtKind::Expr(e) => {
                let e = self.expr(e, cx);
                if !matches!(e.ty, Ty::Void | Ty::Error) && has_no_effect(&e) {
                    self.report(Diagnostic::warning("W0405", "this value is computed and dropped")
                        .with_primary(e.span, format!("{} `{}` nothing uses", e.ty.article(), e.ty))
                        .with_help("assign it, or write `_ = ...` to drop it on purpose"));
                }
                StmtKind::Expr(e)
            }
            ast::StmtKind::Discard(e) => StmtKind::Expr(self.expr(e, cx)),
            ast::StmtKind::AssignMap { map, op, value } => self.assign_map(map, *op, value, span, cx)?,
            ast::StmtKind::AssignVar { var, op, value } => self.assign_var(var, *op, value, span, cx)?,
            ast::StmtKind::Let { var, ty, value } => self.let_stmt(var, ty.as_ref(), value.as_ref(), span, cx)?,
            ast::StmtKind::If { cond: ast::Expr { kind: ast::ExprKind::Comptime(cond), .. }, then_block, else_block } => {
                self.comptime_if(cond, then_block, else_block.as_ref(), cx)?
            }
            ast::StmtKind::If { cond, then_block, else_block } => {
                let cond = self.expr(cond, cx);
                self.expect_condition(&cond);
                let then_body = self.block(then_block, cx);
                let else_body = else_block.as_ref().map(|b| self.block(b, cx)).unwrap_or_default();
                StmtKind::If { cond, then_body, else_body }
            }
            ast::StmtKind::Return(None) => StmtKind::Return(None),
            ast::StmtKind::Return(Some(value)) => {
                let value = self.expr(value, cx);
                if value.ty.is_error() {
                    return None;
                }
                if !matches!(value.ty, Ty::Int(_) | Ty::Bool) {
                    self.report(super::expr::operand_error("`return`", &value, "an integer"));
                    return None;
                }
                if cx.loop_depth > 0 {
                    self.report(Diagnostic::error("E0450", "`return` with a value inside a loop is not supported")
                        .with_primary(span, "inside `for` or `while`")
                        .with_help("set a variable, `break`, and return it after the loop"));
                    return None;
                }
                StmtKind::Return(Some(value))
            }
            ast::StmtKind::Block(block) => StmtKind::Block(self.block(block, cx)),
            ast::StmtKind::For { var, source, body } => self.for_loop(var, source, body, cx)?,
            ast::StmtKind::While { cond, body } => {
                self.report(Diagnostic::warning("W0401", "`while` loops are deprecated and may be removed in the future")
                    .with_primary(span, "a `while` loop")
                    .with_help("a `for` loop over a range, `for ($i : start..end) { ... }`, does the same and is bounded"));
                let cond = self.expr(cond, cx);
                self.expect_condition(&cond);
                let body = self.loop_body(body, cx);
                StmtKind::While { cond, body }
            }
            ast::StmtKind::Unroll { count, body } => self.unroll(count, body, cx)?,
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let word = if matches!(stmt.kind, ast::StmtKind::Break) { "break" } else { "continue" };
                if cx.loop_depth == 0 {
                    self.report(Diagnostic::error("E0425", format!("`{word}` outside of a loop"))
                        .with_primary(span, "not inside `for` or `while`"));
                    return None;
                }
                if word == "break" { StmtKind::Break } else { StmtKind::Continue }
            }
        };
        Some(Stmt { kind, span })
    }

    /// The body of a `for` or `while` loop, where `break` and `continue` are allowed.
    fn loop_body(&mut self, body: &ast::Block, cx: &mut ProbeCx<'_>) -> Vec<Stmt> {
        cx.loop_depth += 1;
        let body = self.block(body, cx);
        cx.loop_depth -= 1;
        body
    }

    /// A `for` loop, its variable visible in its body only.
    fn for_loop(&mut self, var: &ast::Ident, source: &ast::ForSource, body: &ast::Block, cx: &mut ProbeCx<'_>) -> Option<StmtKind> {
        cx.locals.push_scope();
        let checked = self.for_loop_in_scope(var, source, body, cx);
        cx.locals.pop_scope();
        checked
    }

    fn for_loop_in_scope(&mut self, var: &ast::Ident, source: &ast::ForSource, body: &ast::Block, cx: &mut ProbeCx<'_>) -> Option<StmtKind> {
        match source {
            ast::ForSource::Range { start, end } => {
                let start = self.expr(start, cx);
                let end = self.expr(end, cx);
                let mut bad = false;
                for bound in [&start, &end] {
                    if !matches!(bound.ty, Ty::Int(_) | Ty::Error) {
                        self.report(super::expr::operand_error("a range", bound, "integers at both ends"));
                        bad = true;
                    }
                }
                let signed = [&start, &end].iter().any(|b| matches!(b.ty, Ty::Int(int) if int.signed));
                let ty = Ty::Int(crate::types::IntTy { bits: 64, signed });
                let local = self.declare_loop_var(var, &ty, cx);
                let body = self.loop_body(body, cx);
                if bad || start.ty.is_error() || end.ty.is_error() {
                    return None;
                }
                Some(StmtKind::ForRange { var: local?, start, end, body })
            }
            ast::ForSource::Map(map) => {
                if !map.keys.is_empty() {
                    self.report(Diagnostic::error("E0426", format!("`for` walks a whole map, not `@{}[...]`", map.name))
                        .with_primary(map.span, "a map with keys")
                        .with_help(format!("write `for (${} : @{})`", var.name, map.name)));
                    return None;
                }
                let idx = self.maps.index(&map.name, map.span);
                let entry = self.maps.read(idx);
                let key = entry.key.as_ref().map(|(key, _)| key.clone());
                let value = entry.value.as_ref().map(|(value, _)| value.clone());
                let ty = match (key, value) {
                    (Some(key), Some(value)) if !key.is_empty() && entry_value(&value).is_some() => {
                        let key = if key.len() == 1 { key[0].clone() } else { Ty::Tuple(key) };
                        Ty::Tuple(vec![key, entry_value(&value).unwrap_or(Ty::Error)])
                    }
                    (Some(key), Some(_)) if key.is_empty() => {
                        self.report(Diagnostic::error("E0427", format!("`@{}` has no keys to walk", map.name))
                            .with_primary(map.span, "a map without keys holds one value")
                            .with_help(format!("read it directly: `@{}`", map.name)));
                        Ty::Error
                    }
                    (_, Some(value)) if !matches!(value, MapValue::Plain(_)) => {
                        self.report(Diagnostic::error("E0428", format!("`for` cannot walk `@{}`: a `{}()` entry has no single value", map.name, value.function_name()))
                            .with_primary(map.span, "an aggregation with no single value")
                            .with_help("walk a map of plain values or of count, sum, min, max or avg"));
                        Ty::Error
                    }
                    _ => Ty::Error,
                };
                let local = self.declare_loop_var(var, &ty, cx);
                let body = self.loop_body(body, cx);
                if ty.is_error() {
                    return None;
                }
                Some(StmtKind::ForMap { var: local?, map: idx, body })
            }
        }
    }

    /// Declares a loop's variable with its type.
    fn declare_loop_var(&mut self, var: &ast::Ident, ty: &Ty, cx: &mut ProbeCx<'_>) -> Option<super::hir::LocalId> {
        match cx.locals.declare(&var.name, Some(ty.clone()), false, var.span) {
            Ok(local) => Some(local),
            Err(diag) => {
                self.report(diag);
                None
            }
        }
    }

    /// `unroll(n) { body }`: the checked body `n` times over.
    fn unroll(&mut self, count: &ast::Expr, body: &ast::Block, cx: &mut ProbeCx<'_>) -> Option<StmtKind> {
        // A count known while compiling: a literal, a positional parameter (`unroll($1)`), a
        // `#define`d constant.
        let value = self.expr(count, cx);
        let n = match super::fold::constant(&value).and_then(|n| u64::try_from(n).ok()) {
            Some(n) if (1..=MAX_UNROLL).contains(&n) => n,
            _ => {
                if value.ty.is_error() {
                    self.block(body, cx);
                    return None;
                }
                self.report(Diagnostic::error("E0429", format!("`unroll` takes a count from 1 to {MAX_UNROLL} known while compiling"))
                    .with_primary(count.span, "not a count from 1 to 100"));
                self.block(body, cx);
                return None;
            }
        };
        let body = self.block(body, cx);
        Some(StmtKind::Block((0..n).map(|_| Stmt { kind: StmtKind::Block(body.clone()), span: count.span }).collect()))
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
        let reported = self.diags.len() + self.held_back;
        let value = match op {
            Some(_) => self.expr(value, cx),
            None => self.value_expr(value, cx),
        };
        let mut value = self.value_of(value, cx);
        if let Some(op) = op {
            if let Some(Some(aggregation)) = self.maps.read(idx).value.as_ref().map(|v| v.0.aggregation_name()) {
                self.report(Diagnostic::error("E0406", format!("`@{}` holds a `{aggregation}()` aggregation, which `{}=` cannot update", map.name, op.symbol()))
                    .with_primary(span, "updates an aggregation")
                    .with_help(format!("assign the aggregation again, e.g. `@{} = {aggregation}(...)`", map.name)));
                return None;
            }
            let current = Expr::new(ExprKind::MapRead { map: idx, key: key.clone().map(Box::new) }, self.plain_value(idx), map.span);
            value = self.binary(op, current, value, span);
        }
        if !super::expr::is_value(&value.ty) {
            self.report(super::expr::value_expected(&value));
        }
        if value.ty.size() == 0 && !value.ty.is_error() && !matches!(value.ty, Ty::Void) {
            self.report(super::expr::empty_in_a_map(&value));
            self.record_value(idx, MapValue::Plain(Ty::Error), value.span);
            return None;
        }
        if value.ty.is_error() && self.diags.len() + self.held_back == reported {
            // No error, just a map read that has no type yet: a later walk may know it.
            self.maps.assigned_untyped(idx, value.span);
            return None;
        }
        if value.ty.is_error() || !super::expr::is_value(&value.ty) {
            // Count the map as assigned so that later uses do not report it again.
            self.record_value(idx, MapValue::Plain(Ty::Error), value.span);
            return None;
        }
        let flexible = super::expr::is_flexible_literal(&value);
        let clock = crate::stdlib::clock_of(&value, &cx.locals, &mut self.maps);
        if let Err(diag) = self.maps.use_plain_value(idx, value.ty.clone(), flexible, clock, value.span) {
            self.report(diag);
        }
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
        let value = match op {
            Some(_) => self.expr(value, cx),
            None => self.value_expr(value, cx),
        };
        let mut value = self.value_of(value, cx);
        if let Some(op) = op {
            let Some(id) = cx.locals.find(&var.name) else {
                self.report(Diagnostic::error("E0303", format!("variable `${}` is used before it is assigned", var.name))
                    .with_primary(var.span, "no value yet"));
                return None;
            };
            let current = Expr::new(ExprKind::Local(id), cx.locals.read(id).clone(), var.span);
            value = self.binary(op, current, value, span);
        }
        if !super::expr::is_value(&value.ty) {
            self.report(super::expr::value_expected(&value));
        }
        if value.ty.is_error() || !super::expr::is_value(&value.ty) {
            // Declare the variable anyway so that later uses do not report it again.
            if cx.locals.find(&var.name).is_none() {
                let _ = cx.locals.assign(&var.name, &Ty::Error, false, var.span);
            }
            return None;
        }
        if let Some(id) = cx.locals.find(&var.name).filter(|&id| cx.locals.var(id).fixed) {
            let to = cx.locals.read(id);
            let value = self.convert(value, &to, span)?;
            return Some(StmtKind::AssignLocal { local: id, value });
        }
        let flexible = super::expr::is_flexible_literal(&value);
        match cx.locals.assign(&var.name, &value.ty, flexible, var.span) {
            Ok(local) => {
                let clock = crate::stdlib::clock_of(&value, &cx.locals, &mut self.maps);
                cx.locals.note_clock(local, clock);
                Some(StmtKind::AssignLocal { local, value })
            }
            Err(diag) => {
                self.report(diag);
                None
            }
        }
    }
}
