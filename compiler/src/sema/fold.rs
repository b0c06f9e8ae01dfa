//! Constant expressions, evaluated while checking: a tuple's `[]` index and a constant string
//! index (`(1, "a")[1 - 1]`), `comptime e`, `if comptime (c)` and `static_assert`.

use crate::sema::hir::{Expr, ExprKind};
use crate::syntax::ast::{BinOp, UnaryOp};

/// A value known while compiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Const {
    Int(i128),
    Bool(bool),
    Str(Vec<u8>),
}

impl Const {
    /// As a condition: a non-zero integer or `true`.
    pub(crate) fn truth(&self) -> Option<bool> {
        match self {
            Const::Int(n) => Some(*n != 0),
            Const::Bool(b) => Some(*b),
            Const::Str(_) => None,
        }
    }
}

/// The value of `e` if it is an integer computed from literals alone; `None` if it depends on
/// the probe, or overflows, or divides by zero.
pub(crate) fn constant(e: &Expr) -> Option<i128> {
    match evaluate(e)? {
        Const::Int(n) => Some(n),
        _ => None,
    }
}

/// The value of `e` if literals alone decide it (`comptime`, `static_assert`, `if comptime`).
pub(crate) fn evaluate(e: &Expr) -> Option<Const> {
    Some(match &e.kind {
        // A negative literal is stored as its two's complement, typed signed.
        ExprKind::Int(n) if e.ty.as_int().is_some_and(|int| int.signed) => Const::Int(i128::from(*n as i64)),
        ExprKind::Int(n) => Const::Int(i128::from(*n)),
        ExprKind::Bool(b) => Const::Bool(*b),
        ExprKind::Str(bytes) => Const::Str(bytes.clone()),
        ExprKind::Unary { op, expr } => match (op, evaluate(expr)?) {
            (UnaryOp::Neg, Const::Int(n)) => Const::Int(n.checked_neg()?),
            (UnaryOp::BitNot, Const::Int(n)) => Const::Int(i128::from(!(n as i64))),
            (UnaryOp::LogicalNot, value) => Const::Bool(!value.truth()?),
            _ => return None,
        },
        ExprKind::Binary { op, lhs, rhs, signed } => {
            let (Const::Int(l), Const::Int(r)) = (evaluate(lhs)?, evaluate(rhs)?) else { return None };
            // As the probe computes: on 64 bits, compared with the operation's signedness.
            let (l, r) = (wrap(l, *signed), wrap(r, *signed));
            let result = match op {
                BinOp::Add => l.checked_add(r)?,
                BinOp::Sub => l.checked_sub(r)?,
                BinOp::Mul => l.checked_mul(r)?,
                BinOp::Div => l.checked_div(r)?,
                BinOp::Mod => l.checked_rem(r)?,
                BinOp::BitAnd => l & r,
                BinOp::BitOr => l | r,
                BinOp::BitXor => l ^ r,
                BinOp::Eq => return Some(Const::Bool(l == r)),
                BinOp::Ne => return Some(Const::Bool(l != r)),
                BinOp::Lt => return Some(Const::Bool(l < r)),
                BinOp::Le => return Some(Const::Bool(l <= r)),
                BinOp::Gt => return Some(Const::Bool(l > r)),
                BinOp::Ge => return Some(Const::Bool(l >= r)),
                _ => return None,
            };
            Const::Int(wrap(result, e.ty.as_int().is_some_and(|int| int.signed)))
        }
        ExprKind::Logical { and, lhs, rhs } => {
            let l = evaluate(lhs)?.truth()?;
            // Short-circuits as the probe would: the right side need not be constant.
            if l != *and {
                return Some(Const::Bool(l));
            }
            Const::Bool(evaluate(rhs)?.truth()?)
        }
        ExprKind::StrEq { lhs, rhs, negate } => {
            let (Const::Str(l), Const::Str(r)) = (evaluate(lhs)?, evaluate(rhs)?) else { return None };
            Const::Bool((l == r) != *negate)
        }
        ExprKind::Ternary { cond, then_expr, else_expr } => {
            evaluate(if evaluate(cond)?.truth()? { then_expr } else { else_expr })?
        }
        _ => return None,
    })
}

/// `value`'s low 64 bits, read as signed or not.
fn wrap(value: i128, signed: bool) -> i128 {
    match signed {
        true => i128::from(value as i64),
        false => i128::from(value as u64),
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
    fn comparisons_and_logic_fold_to_bools() {
        let str_lit = |text: &str| Expr::new(ExprKind::Str(text.as_bytes().to_vec()), Ty::Str(text.len() as u32 + 1), Span::default());
        let same = Expr::new(ExprKind::StrEq { lhs: Box::new(str_lit("kprobe")), rhs: Box::new(str_lit("kprobe")), negate: false }, Ty::Bool, Span::default());
        assert_eq!(evaluate(&same), Some(Const::Bool(true)));
        assert_eq!(evaluate(&binary(BinOp::Lt, int(1), int(2))), Some(Const::Bool(true)));
        let probe = Expr::new(ExprKind::ProbeName, Ty::Probe, Span::default());
        let short = Expr::new(ExprKind::Logical { and: true, lhs: Box::new(binary(BinOp::Gt, int(1), int(2))), rhs: Box::new(probe.clone()) }, Ty::Bool, Span::default());
        assert_eq!(evaluate(&short), Some(Const::Bool(false)));
        let runtime = Expr::new(ExprKind::Logical { and: true, lhs: Box::new(int(1)), rhs: Box::new(probe) }, Ty::Bool, Span::default());
        assert_eq!(evaluate(&runtime), None);
    }

    #[test]
    fn division_by_zero_and_runtime_values_do_not_fold() {
        assert_eq!(constant(&binary(BinOp::Div, int(1), int(0))), None);
        assert_eq!(constant(&binary(BinOp::Shl, int(1), int(2))), None);
    }
}
