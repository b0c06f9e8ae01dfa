//! Functions that act on the traced process itself (unsafe: they need `--unsafe`).

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::helper;
use crate::lower::builder::Arg;
use crate::lower::Value;
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[Function {
    name: "signal",
    signature: "void signal(const string sig | uint32 n)",
    kind: Kind::Async,
    doc: "Sends signal `sig` (`\"SIGKILL\"`, `\"KILL\"` or a number from 1 to 64) to the current \
          process (`bpf_send_signal`). In tracepoints, kprobes, kretprobes and profile probes; \
          unsafe: needs `--unsafe`.",
    check: check_signal,
    lower: Lowering::Inline(|f, _, args| {
        let value = f.value(&args[0]);
        let number = f.register(value);
        f.builder().call(helper::SEND_SIGNAL, &[Arg::Reg(number)]);
        Value::Void
    }),
}];

fn check_signal(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    if let Some(refused) = c.require_unsafe(call) {
        return refused;
    }
    if !cx.attach.provider().in_traced_task {
        return c.error_expr(
            Diagnostic::error("E0518", format!("`signal` cannot be sent from `{}`", cx.name))
                .with_primary(call.span, "no traced process here")
                .with_note("signal works in tracepoints, kprobes, kretprobes and profile probes"),
            call.span,
        );
    }
    let [arg] = call.args else { return c.arity_error(call, "a signal") };
    let number = match &arg.kind {
        ast::ExprKind::Str(name) => {
            let name = String::from_utf8_lossy(name);
            match crate::names::signal_number(&name) {
                Some(n) => Expr::new(ExprKind::Int(u64::from(n)), Ty::U64, arg.span),
                None => return bad_signal(c, arg.span, call.span, &format!("`{name}` is not a signal name")),
            }
        }
        ast::ExprKind::Int(n) if (1..=64).contains(n) => Expr::new(ExprKind::Int(*n), Ty::U64, arg.span),
        ast::ExprKind::Int(n) => return bad_signal(c, arg.span, call.span, &format!("{n} is not a signal number")),
        _ => {
            let value = c.expr(arg, cx);
            match value.ty {
                Ty::Int(_) => value,
                Ty::Error => return value,
                _ => return bad_signal(c, arg.span, call.span, &format!("{} `{}` is not a signal", value.ty.article(), value.ty)),
            }
        }
    };
    call_expr("signal", vec![number], Ty::Void, call.span)
}

fn bad_signal(c: &mut Checker, at: crate::span::Span, span: crate::span::Span, message: &str) -> Expr {
    c.error_expr(
        Diagnostic::error("E0519", format!("{message}: `signal` takes a name like \"SIGKILL\", or a number from 1 to 64"))
            .with_primary(at, "not a signal"),
        span,
    )
}
