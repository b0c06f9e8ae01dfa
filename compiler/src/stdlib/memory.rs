//! Which memory an address is in: `kptr` and `uptr` mark it kernel or user memory, so that
//! reads through it (`str`, `*p`, `p->f`) use the matching helper.

use super::{Call, Function, Kind, Lowering};
use crate::sema::hir::Expr;
use crate::sema::{Checker, ProbeCx};
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "kptr",
        signature: "T * kptr(T * p)",
        kind: Kind::Value,
        doc: "`p`, an address or a pointer, marked as pointing into kernel memory.",
        check: |c, call, cx| mark(c, call, cx, false),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "uptr",
        signature: "T * uptr(T * p)",
        kind: Kind::Value,
        doc: "`p`, an address or a pointer, marked as pointing into the traced process's memory \
              (what `str(uptr(arg0))` reads).",
        check: |c, call, cx| mark(c, call, cx, true),
        lower: Lowering::Elsewhere,
    },
];

/// The argument, unchanged, typed as a pointer into user (or kernel) memory.
fn mark(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>, user: bool) -> Expr {
    let [arg] = call.args else { return c.arity_error(call, "an address") };
    let e = c.expr(arg, cx);
    let pointee = match e.ty {
        Ty::Error => return e,
        Ty::Ptr { ref pointee, .. } => (**pointee).clone(),
        Ty::Int(_) => Ty::Void,
        _ => return c.error_expr(crate::sema::operand_error(&format!("`{}`", call.name.name), &e, "an address or a pointer"), call.span),
    };
    Expr::new(e.kind, Ty::ptr(pointee, user), call.span)
}
