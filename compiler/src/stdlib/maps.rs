//! Map functions: reading and changing a map from the probe.

use super::{Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::{helper, Cond, Operand};
use crate::lower::builder::Arg;
use crate::lower::Value;
use crate::manifest::MapId;
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
        signature: "int64 len(@map)",
        kind: Kind::Map,
        doc: "How many keys `@map` has: a `bpf_for_each_map_elem` walk (Linux 5.13).",
        check: check_len,
        lower: Lowering::WithLoop(|f, call, _| {
            let ExprKind::Call { map: Some(map), .. } = call.kind else { unreachable!("len names its map") };
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
];

fn check_len(c: &mut Checker, call: &Call<'_>, _: &mut ProbeCx<'_>) -> Expr {
    let [ast::Expr { kind: ast::ExprKind::Map(map), .. }] = call.args else {
        return c.arity_error(call, "a map: `len(@m)`");
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
    if let [ast::Expr { kind: ast::ExprKind::Map(map), .. }] = call.args {
        if !map.keys.is_empty() {
            return c.error_expr(
                Diagnostic::error("E0516", "`has_key` takes the map and the key apart: `has_key(@m, key)`")
                    .with_primary(map.span, "a map with keys"),
                call.span,
            );
        }
    }
    let [ast::Expr { kind: ast::ExprKind::Map(map), .. }, key] = call.args else {
        return c.arity_error(call, "a map and a key: `has_key(@m, key)`");
    };
    if !map.keys.is_empty() {
        return c.error_expr(
            Diagnostic::error("E0516", "`has_key` takes the map and the key apart: `has_key(@m, key)`")
                .with_primary(map.span, "a map with keys"),
            call.span,
        );
    }
    let keyed = ast::MapRef { keys: crate::sema::calls::flatten_tuple(key), ..map.clone() };
    let (idx, key) = c.map_ref(&keyed, cx);
    let args = key.into_iter().collect();
    Expr::new(ExprKind::Call { func: "has_key", map: Some(idx), args }, Ty::Bool, call.span)
}
