//! Lowering of statements: assignments, aggregations, `if`, `return` and blocks.

use super::{FnLowerer, LocalSlot};
use crate::sema::hir::{Stmt, StmtKind};

impl FnLowerer<'_> {
    pub(crate) fn stmts(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.b.span = stmt.span;
            self.stmt(stmt);
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match &stmt.kind {
            StmtKind::Expr(e) => {
                self.expr(e);
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
                self.stmts(then_body);
                if else_body.is_empty() {
                    self.b.place_label(else_label);
                } else {
                    let done = self.b.label();
                    self.b.jump(done);
                    self.b.place_label(else_label);
                    self.stmts(else_body);
                    self.b.place_label(done);
                }
            }
            StmtKind::Return => {
                let exit = self.exit;
                self.b.jump(exit);
            }
            StmtKind::Block(body) => self.stmts(body),
        }
    }
}
