//! Integer constant expressions, evaluated while checking: a tuple's `[]` index and a literal
//! string index are chosen at compile time, so `(1, "a")[1 - 1]` works as bpftrace's does.

use crate::sema::hir::{Expr, ExprKind};
use crate::syntax::ast::{BinOp, UnaryOp};

/// The value of `e` if it is an integer computed from literals alone; `None` if it depends on
/// the probe, or overflows, or divides by zero.
pub(crate) fn constant(e: &Expr) -> Option<i128> {
    match &e.kind {
        // A negative literal is stored as its two's complement, typed signed.
        ExprKind::Int(n) if e.ty.as_int().is_some_and(|int| int.signed) => Some(i128::from(*n as i64)),
        ExprKind::Int(n) => Some(i128::from(*n)),
        ExprKind::Unary { op: UnaryOp::Neg, expr } => constant(expr)?.checked_neg(),
        ExprKind::Binary { op, lhs, rhs, .. } => {
            let (l, r) = (constant(lhs)?, constant(rhs)?);
            match op {
                BinOp::Add => l.checked_add(r),
                BinOp::Sub => l.checked_sub(r),
                BinOp::Mul => l.checked_mul(r),
                BinOp::Div => l.checked_div(r),
                BinOp::Mod => l.checked_rem(r),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;
    use crate::types::Ty;

    fn int(n: u64) -> Expr {
        Expr::new(ExprKind::Int(n), Ty::U64, Span::default())
    }

    fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::new(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs), signed: false }, Ty::U64, Span::default())
    }

    #[test]
    fn arithmetic_on_literals_folds() {
        assert_eq!(constant(&binary(BinOp::Sub, int(1), int(1))), Some(0));
        assert_eq!(constant(&binary(BinOp::Mul, int(3), binary(BinOp::Add, int(1), int(2)))), Some(9));
        let negated = Expr::new(ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(int(2)) }, Ty::I64, Span::default());
        assert_eq!(constant(&negated), Some(-2));
    }

    #[test]
    fn division_by_zero_and_runtime_values_do_not_fold() {
        assert_eq!(constant(&binary(BinOp::Div, int(1), int(0))), None);
        assert_eq!(constant(&binary(BinOp::Shl, int(1), int(2))), None);
    }
}
