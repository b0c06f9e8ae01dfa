//! Conditions lowered to branches: comparisons, `&&`/`||` and `!` jump straight to their false
//! target without materializing a bool, and string equality compares words.

use super::builder::{alignment_limit as alignment, chunks, Place};
use super::{FnLowerer, Value};
use crate::lir::{Cond, Label, Operand};
use crate::sema::hir::{Expr, ExprKind};
use crate::syntax::ast::{BinOp, UnaryOp};
use crate::types::Ty;

impl FnLowerer<'_> {
    /// Jumps to `target` when `e` is false (zero); falls through when true.
    pub(crate) fn branch_if_false(&mut self, e: &Expr, target: Label) {
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs, signed } if op.is_comparison() => {
                let l = self.expr(lhs);
                let l = self.scalar(l);
                let r = self.operand(rhs);
                self.b.branch(comparison(*op, *signed).negate(), l, r, target);
            }
            ExprKind::Logical { and: true, lhs, rhs } => {
                self.branch_if_false(lhs, target);
                self.branch_if_false(rhs, target);
            }
            ExprKind::Logical { and: false, lhs, rhs } => {
                let taken = self.b.label();
                self.branch_if_true(lhs, taken);
                self.branch_if_false(rhs, target);
                self.b.place_label(taken);
            }
            ExprKind::Unary { op: UnaryOp::LogicalNot, expr } => self.branch_if_true(expr, target),
            ExprKind::StrEq { lhs, rhs, negate: false } => self.branch_if_strings_differ(lhs, rhs, target),
            ExprKind::StrEq { lhs, rhs, negate: true } if both_literals(lhs, rhs) => {
                if lhs.kind == rhs.kind {
                    self.always_jump(target);
                }
            }
            ExprKind::StrEq { lhs, rhs, negate: true } => {
                let differ = self.b.label();
                self.branch_if_strings_differ(lhs, rhs, differ);
                self.b.jump(target);
                self.b.place_label(differ);
            }
            ExprKind::TupleEq { lhs, rhs, common, negate: false } => self.branch_if_tuples_differ(lhs, rhs, common, target),
            ExprKind::TupleEq { lhs, rhs, common, negate: true } => {
                let differ = self.b.label();
                self.branch_if_tuples_differ(lhs, rhs, common, differ);
                self.b.jump(target);
                self.b.place_label(differ);
            }
            _ => {
                let v = self.expr(e);
                let reg = self.scalar(v);
                self.b.branch(Cond::Eq, reg, Operand::Imm(0), target);
            }
        }
    }

    /// Jumps to `target` when `e` is true; falls through when false.
    fn branch_if_true(&mut self, e: &Expr, target: Label) {
        let skip = self.b.label();
        self.branch_if_false(e, skip);
        self.b.jump(target);
        self.b.place_label(skip);
    }

    /// Jumps to `target` unless the two strings are equal. Strings are zero-padded after their
    /// NUL (an invariant of every string in memory), so equal strings have equal bytes up to
    /// the shorter size, and the longer one has a zero byte right after that.
    fn branch_if_strings_differ(&mut self, lhs: &Expr, rhs: &Expr, target: Label) {
        if both_literals(lhs, rhs) {
            if lhs.kind != rhs.kind {
                self.always_jump(target);
            }
            return;
        }
        let (literal, other) = match (&lhs.kind, &rhs.kind) {
            (ExprKind::Str(bytes), _) => (Some(bytes), rhs),
            (_, ExprKind::Str(bytes)) => (Some(bytes), lhs),
            _ => (None, rhs),
        };
        if let Some(bytes) = literal {
            let value = self.expr(other);
            let Value::Mem(place) = value else { return };
            self.compare_with_literal(place, other.ty.size(), bytes, target);
            return;
        }
        let (l, r) = (self.expr(lhs), self.expr(rhs));
        let (Value::Mem(l), Value::Mem(r)) = (l, r) else { return };
        let (ls, rs) = (lhs.ty.size(), rhs.ty.size());
        let common = ls.min(rs);
        for (offset, size) in chunks(l.offset.min(r.offset), common, alignment(l.offset, r.offset)) {
            let a = self.b.load(l.at(offset), size);
            let b = self.b.load(r.at(offset), size);
            self.b.branch(Cond::Ne, a, Operand::Reg(b), target);
        }
        if ls != rs {
            let longer = if ls > rs { l } else { r };
            let byte = self.b.load(longer.at(common), 1);
            self.b.branch(Cond::Ne, byte, Operand::Imm(0), target);
        }
    }

    /// Jumps to `target` unless the two tuples (or records) are equal. Both are laid out as
    /// `common`, whose padding and string tails are zero, so equal values have equal bytes.
    fn branch_if_tuples_differ(&mut self, lhs: &Expr, rhs: &Expr, common: &Ty, target: Label) {
        let l = self.expr(lhs);
        let l = self.materialize(l, &lhs.ty, common);
        let r = self.expr(rhs);
        let r = self.materialize(r, &rhs.ty, common);
        for (offset, size) in chunks(l.offset.min(r.offset), common.size(), alignment(l.offset, r.offset)) {
            let a = self.b.load(l.at(offset), size);
            let b = self.b.load(r.at(offset), size);
            self.b.branch(Cond::Ne, a, Operand::Reg(b), target);
        }
    }

    /// Compares the string at `place` (of `size` bytes) with a literal and its NUL.
    fn compare_with_literal(&mut self, place: Place, size: u32, bytes: &[u8], target: Label) {
        let wanted = bytes.len() as u32 + 1;
        if wanted > size {
            // The literal cannot fit: equal only if `place` is the literal's prefix cut at the
            // buffer size, which a NUL-terminated buffer never is.
            self.always_jump(target);
            return;
        }
        let mut padded = bytes.to_vec();
        padded.resize(wanted as usize, 0);
        let span = wanted.div_ceil(8) * 8;
        let compare_len = span.min(size);
        padded.resize(compare_len as usize, 0);
        for (offset, chunk) in chunks(place.offset, compare_len, 8) {
            let actual = self.b.load(place.at(offset), chunk);
            let expected = le_value(&padded[offset as usize..(offset + chunk) as usize]);
            let rhs = match i32::try_from(expected) {
                Ok(imm) if imm >= 0 => Operand::Imm(imm),
                _ => Operand::Reg(self.b.constant(expected)),
            };
            self.b.branch(Cond::Ne, actual, rhs, target);
        }
    }
}

impl FnLowerer<'_> {
    /// A jump that is always taken but, being conditional, keeps the code after it reachable
    /// for the kernel's and our verifier's control-flow checks.
    fn always_jump(&mut self, target: Label) {
        let zero = self.b.constant(0);
        self.b.branch(Cond::Eq, zero, Operand::Imm(0), target);
    }
}

/// Two string literals compare at compile time.
fn both_literals(lhs: &Expr, rhs: &Expr) -> bool {
    matches!((&lhs.kind, &rhs.kind), (ExprKind::Str(_), ExprKind::Str(_)))
}

/// The branch condition that holds when the comparison is true.
pub(crate) fn comparison(op: BinOp, signed: bool) -> Cond {
    match (op, signed) {
        (BinOp::Eq, _) => Cond::Eq,
        (BinOp::Ne, _) => Cond::Ne,
        (BinOp::Lt, false) => Cond::Lt,
        (BinOp::Le, false) => Cond::Le,
        (BinOp::Gt, false) => Cond::Gt,
        (BinOp::Ge, false) => Cond::Ge,
        (BinOp::Lt, true) => Cond::SLt,
        (BinOp::Le, true) => Cond::SLe,
        (BinOp::Gt, true) => Cond::SGt,
        _ => Cond::SGe,
    }
}

/// Little-endian bytes (1 to 8) as an integer.
fn le_value(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    i64::from_le_bytes(buf)
}
