//! Cgroups: `cgroupid(path)`, the id of a cgroup directory found while compiling, and
//! `cgroup_path(id [, filter])`, an id printed as the cgroup's path in each hierarchy.

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lower::{FnLowerer, Value};
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::{Symbol, Ty};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "cgroupid",
        signature: "uint64 cgroupid(const string path)",
        kind: Kind::Value,
        doc: "The id of the cgroup (v2) at `path`, read while compiling: compare it with `cgroup`.",
        check: check_cgroupid,
        lower: Lowering::Inline(|f, call, _| {
            let ExprKind::Call { args, .. } = &call.kind else { unreachable!("a call") };
            let Some(ExprKind::Str(path)) = args.first().map(|a| &a.kind) else { unreachable!("checked: a literal path") };
            let id = f.cgroup_id(&String::from_utf8_lossy(path));
            let b = f.builder();
            Value::Reg(b.constant(id as i64))
        }),
    },
    Function {
        name: "cgroup_path",
        signature: "cgroup_path cgroup_path(uint64 id [, const string filter])",
        kind: Kind::Value,
        doc: "The path of cgroup `id` in each mounted hierarchy whose name matches `filter` (a \
              wildcard; cgroup v2 is `unified`), looked up when printed: `unified:/system.slice`.",
        check: check_cgroup_path,
        lower: Lowering::Inline(the_id),
    },
];

/// The value is the cgroup id itself.
fn the_id(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    f.value(&args[0])
}

fn check_cgroupid(c: &mut Checker, call: &Call<'_>, _: &mut ProbeCx<'_>) -> Expr {
    let [path] = call.args else { return c.arity_error(call, "a path") };
    let ast::ExprKind::Str(text) = &path.kind else {
        return c.error_expr(
            Diagnostic::error("E0523", "`cgroupid` takes the cgroup's path as a string literal")
                .with_primary(path.span, "not a literal")
                .with_help("the id is read while compiling: `cgroupid(\"/sys/fs/cgroup/system.slice\")`"),
            call.span,
        );
    };
    c.need_cgroup_id(&String::from_utf8_lossy(text), path.span);
    call_expr("cgroupid", vec![Expr::new(ExprKind::Str(text.clone()), Ty::Str(text.len() as u32 + 1), path.span)], Ty::U64, call.span)
}

fn check_cgroup_path(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let (id, filter) = match call.args {
        [id] => (id, "*".to_string()),
        [id, filter] => match &filter.kind {
            ast::ExprKind::Str(text) => (id, String::from_utf8_lossy(text).into_owned()),
            _ => {
                return c.error_expr(
                    Diagnostic::error("E0523", "the filter of `cgroup_path` must be a string literal")
                        .with_primary(filter.span, "not a literal")
                        .with_help("name the hierarchies with a wildcard: `cgroup_path(cgroup, \"unified\")`"),
                    call.span,
                )
            }
        },
        _ => return c.arity_error(call, "an id and an optional filter"),
    };
    let id = c.expr(id, cx);
    match id.ty {
        Ty::Int(_) => call_expr("cgroup_path", vec![id], Ty::Symbol(Symbol::CgroupPath(Box::new(filter))), call.span),
        Ty::Error => c.error_expr_silent(call.span),
        _ => c.error_expr(crate::sema::operand_error("`cgroup_path`", &id, "an integer (a cgroup id)"), call.span),
    }
}
