//! Questions about a value's type, answered while compiling: each call is a `bool` constant.

use super::{Call, Function, Kind, Lowering};
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "is_integer",
        signature: "bool is_integer(value)",
        kind: Kind::Value,
        doc: "Whether `value` is an integer, signed or not.",
        check: |c, call, cx| ask(c, call, cx, |_, ty| matches!(ty, Ty::Int(_))),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "is_unsigned_integer",
        signature: "bool is_unsigned_integer(value)",
        kind: Kind::Value,
        doc: "Whether `value` is an unsigned integer.",
        check: |c, call, cx| ask(c, call, cx, |_, ty| matches!(ty, Ty::Int(int) if !int.signed)),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "is_str",
        signature: "bool is_str(value)",
        kind: Kind::Value,
        doc: "Whether `value` is a string.",
        check: |c, call, cx| ask(c, call, cx, |_, ty| matches!(ty, Ty::Str(_))),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "is_ptr",
        signature: "bool is_ptr(value)",
        kind: Kind::Value,
        doc: "Whether `value` is a pointer.",
        check: |c, call, cx| ask(c, call, cx, |_, ty| matches!(ty, Ty::Ptr { .. })),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "is_array",
        signature: "bool is_array(value)",
        kind: Kind::Value,
        doc: "Whether `value` is a C array (a kernel struct's `int x[4]`; a `char` array is a string).",
        check: |c, call, cx| ask(c, call, cx, |_, ty| matches!(ty, Ty::Array { .. })),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "is_literal",
        signature: "bool is_literal(value)",
        kind: Kind::Value,
        doc: "Whether `value` is written as a literal.",
        check: |c, call, cx| {
            ask(c, call, cx, |arg, _| matches!(arg.kind, ast::ExprKind::Int(_) | ast::ExprKind::Str(_) | ast::ExprKind::Bool(_)))
        },
        lower: Lowering::Elsewhere,
    },
];

/// The answer of `question` about the call's one argument, as a `bool` constant.
fn ask(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>, question: fn(&ast::Expr, &Ty) -> bool) -> Expr {
    let [arg] = call.args else { return c.arity_error(call, "one value") };
    let value = c.expr(arg, cx);
    if value.ty.is_error() {
        return value;
    }
    Expr::new(ExprKind::Bool(question(arg, &value.ty)), Ty::Bool, call.span)
}
