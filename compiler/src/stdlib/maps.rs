//! Map functions: reading and changing a map from the probe.

use super::{Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::{helper, Cond, Operand};
use crate::lower::builder::Arg;
use crate::lower::Value;
use crate::manifest::{MapId, MapValue};
use crate::sema::hir::MapIdx;
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "delete",
        signature: "bool delete(@map, key) | bool delete(@map[key])",
        kind: Kind::Map,
        doc: "Deletes one key from a map; true if it was there.",
        check: |c, call, cx| c.delete(call.name, call.args, call.span, cx),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "len",
        signature: "int64 len(@map) | int64 len(kstack|ustack)",
        kind: Kind::Map,
        doc: "How many keys `@map` has: a `bpf_for_each_map_elem` walk (Linux 5.13). Of a \
              stack, `len(kstack)` or `len(ustack(perf, 5))`, how many frames the stack has \
              here, up to its limit: the probe walks it again with `bpf_get_stack`.",
        check: check_len,
        lower: Lowering::LoopsOverMap(|f, call, args| {
            let ExprKind::Call { map: Some(map), .. } = call.kind else { return super::stacks::lower_frame_count(f, args) };
            let b = f.builder();
            let counter = b.alloc_scratch(8);
            b.store_imm(counter, 8, 0);
            f.run_map_loop(map, |body| {
                let b = body.builder();
                let base = b.scratch_base();
                let at = crate::lower::builder::Place { base: crate::lower::builder::Base::Ptr(base), offset: counter.offset };
                let n = b.load(at, 8);
                b.alu(crate::lir::AluOp::Add, n, Operand::Imm(1));
                b.store(at, 8, n);
                true
            });
            Value::Reg(f.builder().load(counter, 8))
        }),
    },
    Function {
        name: "has_key",
        signature: "bool has_key(@map, key)",
        kind: Kind::Map,
        doc: "Whether `@map` has the key `key` (one lookup; the map is not changed).",
        check: check_has_key,
        lower: Lowering::Inline(|f, call, args| {
            let ExprKind::Call { map: Some(map), .. } = call.kind else { unreachable!("has_key names its map") };
            let key = f.key_of(map, args.first());
            let b = f.builder();
            let found = b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(MapId(map.0)), Arg::Addr(key)]);
            Value::Reg(b.flag(Cond::Ne, found, Operand::Imm(0)))
        }),
    },
    Function {
        name: "find",
        signature: "bool find(@map, key, $var)",
        kind: Kind::Map,
        doc: "Looks `key` up once: if `@map` has it, its value goes into `$var` (declared before, \
              `let $var;`) and the result is true; otherwise `$var` is unchanged and the result false.",
        check: check_find,
        lower: Lowering::Inline(|f, call, args| {
            let ExprKind::Call { map: Some(map), .. } = call.kind else { unreachable!("find names its map") };
            let ExprKind::Local(local) = args[1].kind else { unreachable!("find stores into a variable") };
            f.find_into(map, &args[0], local)
        }),
    },
];

fn check_len(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let [arg] = call.args else {
        return c.arity_error(call, "a map or a stack: `len(@m)`, `len(kstack)`");
    };
    let ast::Expr { kind: ast::ExprKind::Map(map), .. } = arg else {
        return super::stacks::check_frame_count(c, arg, cx, call.span);
    };
    if !map.keys.is_empty() {
        return c.error_expr(
            Diagnostic::error("E0516", "`len` takes a whole map: `len(@m)`").with_primary(map.span, "a map with keys"),
            call.span,
        );
    }
    let idx = c.map_index(map);
    Expr::new(ExprKind::Call { func: "len", map: Some(idx), args: Vec::new() }, Ty::I64, call.span)
}

fn check_has_key(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let Some((idx, key)) = map_and_key(c, call, cx, "has_key(@m, key)") else { return c.error_expr_silent(call.span) };
    Expr::new(ExprKind::Call { func: "has_key", map: Some(idx), args: vec![key] }, Ty::Bool, call.span)
}

/// The map and the key of `f(@m, key, ...)`, checked; `None` after reporting what is wrong.
/// `usage` shows the call as it should be.
fn map_and_key(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>, usage: &str) -> Option<(MapIdx, Expr)> {
    let map = match call.args.first() {
        Some(ast::Expr { kind: ast::ExprKind::Map(map), .. }) if !map.keys.is_empty() => {
            c.report(
                Diagnostic::error("E0516", format!("`{}` takes the map and the key apart: `{usage}`", call.name.name))
                    .with_primary(map.span, "a map with keys"),
            );
            return None;
        }
        Some(ast::Expr { kind: ast::ExprKind::Map(map), .. }) => map,
        _ => {
            c.arity_error(call, &format!("a map and a key: `{usage}`"));
            return None;
        }
    };
    let Some(key) = call.args.get(1) else {
        c.arity_error(call, &format!("a map and a key: `{usage}`"));
        return None;
    };
    let keyed = ast::MapRef { keys: crate::sema::calls::flatten_tuple(key), ..map.clone() };
    let (idx, key) = c.map_ref(&keyed, cx);
    Some((idx, key?))
}

fn check_find(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    const USAGE: &str = "find(@m, key, $v)";
    let [_, _, target] = call.args else { return c.arity_error(call, &format!("a map, a key and a variable: `{USAGE}`")) };
    let Some((idx, key)) = map_and_key(c, call, cx, USAGE) else { return c.error_expr_silent(call.span) };
    let ast::ExprKind::Var(name) = &target.kind else {
        return c.error_expr(
            Diagnostic::error("E0459", "`find` stores the value it finds in a `$variable`").with_primary(target.span, "not a variable"),
            call.span,
        );
    };
    let Some(local) = cx.locals.find(name) else {
        // Declared now, so that its later uses are not reported too.
        let _ = cx.locals.assign(name, &Ty::Error, false, target.span);
        return c.error_expr(
            Diagnostic::error("E0459", format!("`find` stores into `${name}`, which is not declared here"))
                .with_primary(target.span, "not declared")
                .with_help(format!("declare it first: `let ${name};`")),
            call.span,
        );
    };
    let ty = match c.map_value(idx) {
        Some(MapValue::Plain(ty)) => ty,
        None => return c.error_expr_silent(call.span),
        Some(other) => {
            let name = match &call.args[0].kind {
                ast::ExprKind::Map(map) => map.name.as_str(),
                _ => "",
            };
            return c.error_expr(
                Diagnostic::error("E0406", format!("`find` cannot read `@{name}`"))
                    .with_primary(call.args[0].span, format!("it holds a `{}()` aggregation", other.function_name()))
                    .with_help("find reads maps of plain values; read an aggregation with `@m[key]`"),
                call.span,
            )
        }
    };
    let var = cx.locals.var(local);
    if var.fixed && var.ty.as_ref() != Some(&ty) {
        // A declared type is kept, and `find` copies the value as it is in the map.
        let declared = var.ty.clone().unwrap_or(Ty::Error);
        let declared_at = var.span;
        return c.error_expr(
            Diagnostic::error("E0403", format!("`find` would store a `{ty}` in `${name}`, which is declared `{declared}`"))
                .with_primary(target.span, format!("`{ty}` values come from the map"))
                .with_secondary(declared_at, format!("declared `{declared}` here"))
                .with_help(format!("declare it without a type (`let ${name};`) or as `{ty}`")),
            call.span,
        );
    }
    if let Err(diag) = cx.locals.assign(name, &ty, false, target.span) {
        return c.error_expr(diag, call.span);
    }
    let target = Expr::new(ExprKind::Local(local), ty, target.span);
    Expr::new(ExprKind::Call { func: "find", map: Some(idx), args: vec![key, target] }, Ty::Bool, call.span)
}
