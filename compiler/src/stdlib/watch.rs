//! `unwatch(addr)`: the watchpoints on an address removed, by the runtime when it reads the
//! record.

use super::{call_expr, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lower::Value;
use crate::manifest::Action;
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[Function {
    name: "unwatch",
    signature: "void unwatch(void * addr)",
    kind: Kind::Async,
    doc: "Removes every watchpoint on `addr`, of any probe, when the record is handled; an address \
          nothing watches is ignored, as in bpftrace. A watchpoint on a function's argument stays \
          removed when the function is called with that address again.",
    check: |c, call, cx| {
        let [addr] = call.args else { return c.arity_error(call, "an address") };
        let value = c.expr(addr, cx);
        match value.ty {
            Ty::Int(_) | Ty::Ptr { .. } => call_expr("unwatch", vec![value], Ty::Void, call.span),
            Ty::Error => value,
            _ => c.error_expr(
                Diagnostic::error("E0419", format!("`unwatch` needs an address, but this is `{}`", value.ty))
                    .with_primary(addr.span, format!("this is `{}`", value.ty)),
                call.span,
            ),
        }
    },
    lower: Lowering::Inline(|f, _, args| {
        f.send(Action::Unwatch, args);
        Value::Void
    }),
}];
