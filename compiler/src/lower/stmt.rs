//! Lowering of statements: assignments, aggregations, `if`, `return`, blocks, and the control
//! flow of loops (their bodies are in `loops`).

use super::FnLowerer;
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
                if matches!(&e.kind, ExprKind::Action(action) if matches!(**action, Action::Exit(_))) {
                    return false;
                }
            }
            StmtKind::AssignLocal { local, value } => {
                let v = self.expr(value);
                self.assign_local(*local, v, &value.ty);
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
            StmtKind::Return(None) => {
                let exit = self.exit;
                self.b.jump(exit);
                return false;
            }
            StmtKind::Return(Some(value)) => {
                // Sema allows a value only outside loops: this is the program itself.
                let v = self.expr(value);
                let v = self.scalar(v);
                self.b.emit(crate::lir::Insn::Alu64 { op: crate::lir::AluOp::Mov, dst: crate::lir::Reg::R0, src: crate::lir::Operand::Reg(v) });
                self.b.emit(crate::lir::Insn::Exit);
                return false;
            }
            StmtKind::Block(body) => return self.stmts(body),
            StmtKind::ForRange { var, start, end, body } => self.for_range(*var, start, end, body),
            StmtKind::ForMap { var, map, body } => self.for_map(*var, *map, body),
            StmtKind::While { cond, body } => self.while_loop(cond, body),
            StmtKind::Break | StmtKind::Continue => {
                let exits = self.loop_exits.expect("sema allows `break` and `continue` only in loops");
                let target = if matches!(stmt.kind, StmtKind::Break) { exits.stop } else { exits.next };
                self.b.jump(target);
                return false;
            }
        }
        true
    }
}
