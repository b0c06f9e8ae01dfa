//! Lowering of statements: assignments, aggregations, `if`, `return` and blocks.

use super::{FnLowerer, LocalSlot};
use crate::sema::hir::{Action, ExprKind, Stmt, StmtKind};

impl FnLowerer<'_> {
    /// Lowers `body`; returns whether control can reach its end. Statements after a `return`
    /// or `exit()` are never reached and are not emitted (the kernel refuses unreachable code).
    pub(crate) fn stmts(&mut self, body: &[Stmt]) -> bool {
        for stmt in body {
            self.b.span = stmt.span;
            if !self.stmt(stmt) {
                return false;
            }
        }
        true
    }

    /// Lowers one statement; returns whether control can go on after it.
    fn stmt(&mut self, stmt: &Stmt) -> bool {
        match &stmt.kind {
            StmtKind::Expr(e) => {
                self.expr(e);
                if matches!(e.kind, ExprKind::Action(Action::Exit(_))) {
                    return false;
                }
            }
            StmtKind::AssignLocal { local, value } => {
                let v = self.expr(value);
                match self.locals[local.0 as usize] {
                    LocalSlot::Reg(reg) => {
                        let src = self.scalar(v);
                        self.b.mov(reg, src);
                    }
                    LocalSlot::Mem(place) => {
                        let ty = self.local_ty(*local);
                        self.store_value(place, ty, v, &value.ty);
                    }
                }
            }
            StmtKind::AssignMap { map, key, value } => {
                let v = self.expr(value);
                self.map_store(*map, key.as_ref(), v, &value.ty);
            }
            StmtKind::Aggregate { map, key, arg } => self.aggregate(*map, key.as_ref(), arg.as_ref()),
            StmtKind::If { cond, then_body, else_body } => {
                let else_label = self.b.label();
                self.branch_if_false(cond, else_label);
                let then_goes_on = self.stmts(then_body);
                if else_body.is_empty() {
                    self.b.place_label(else_label);
                    return true;
                }
                let done = self.b.label();
                if then_goes_on {
                    self.b.jump(done);
                }
                self.b.place_label(else_label);
                let else_goes_on = self.stmts(else_body);
                self.b.place_label(done);
                return then_goes_on || else_goes_on;
            }
            StmtKind::Return => {
                let exit = self.exit;
                self.b.jump(exit);
                return false;
            }
            StmtKind::Block(body) => return self.stmts(body),
        }
        true
    }
}
