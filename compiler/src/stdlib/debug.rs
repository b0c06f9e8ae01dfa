//! `debugf`: a line written to the kernel's trace buffer by `bpf_trace_printk`, for debugging
//! a probe where ferrotrace's own output cannot reach (read `/sys/kernel/tracing/trace_pipe`).

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::helper;
use crate::lower::builder::Arg;
use crate::lower::{FnLowerer, Value};
use crate::printf::{parse_format, Conversion, FormatPiece};
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[Function {
    name: "debugf",
    signature: "void debugf(const string fmt, args...)",
    kind: Kind::Async,
    doc: "Writes a line to the kernel's trace buffer (`/sys/kernel/tracing/trace_pipe`) with \
          `bpf_trace_printk`, in the probe itself. At most 3 conversions, each `%d`, `%u`, `%x`, \
          `%p` or `%s`. Slow and shared by every tracer: for debugging, not for production.",
    check: check_debugf,
    lower: Lowering::Inline(debugf),
}];

/// The most arguments `bpf_trace_printk` takes.
const MAX_ARGS: usize = 3;

fn check_debugf(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let Some((format, rest)) = call.args.split_first() else { return c.arity_error(call, "a format string") };
    let ast::ExprKind::Str(text) = &format.kind else {
        return c.error_expr(
            Diagnostic::error("E0502", "the format of `debugf` must be a string literal").with_primary(format.span, "not a string literal"),
            call.span,
        );
    };
    let bad = |message: String| Diagnostic::error("E0463", message).with_primary(format.span, "in this format");
    let pieces = match parse_format(text) {
        Ok(pieces) => pieces,
        Err(err) => return c.error_expr(bad(err.message), call.span),
    };
    let mut kernel_format = Vec::new();
    let mut conversions = Vec::new();
    for piece in &pieces {
        match piece {
            FormatPiece::Literal(bytes) => {
                for &byte in bytes {
                    kernel_format.extend_from_slice(if byte == b'%' { b"%%" } else { std::slice::from_ref(&byte) });
                }
            }
            FormatPiece::Spec(spec) => {
                let kernel = match spec.conversion {
                    Conversion::Signed => "%lld",
                    Conversion::Unsigned => "%llu",
                    Conversion::HexLower => "%llx",
                    Conversion::Pointer => "%p",
                    Conversion::Str => "%s",
                    other => return c.error_expr(bad(format!("`debugf` cannot print `%{}`: it takes %d, %u, %x, %p and %s", other.letter())), call.span),
                };
                kernel_format.extend_from_slice(kernel.as_bytes());
                conversions.push(spec.conversion);
            }
        }
    }
    if conversions.len() > MAX_ARGS {
        return c.error_expr(bad(format!("`debugf` prints at most {MAX_ARGS} values, and this format has {}", conversions.len())), call.span);
    }
    if rest.len() != conversions.len() {
        return c.arity_error(call, &format!("a format and {} values", conversions.len()));
    }
    let mut args = Vec::with_capacity(rest.len() + 1);
    let format_size = kernel_format.len() as u32 + 1;
    args.push(Expr::new(ExprKind::Str(kernel_format), Ty::Str(format_size), format.span));
    for (arg, conversion) in rest.iter().zip(conversions) {
        let value = c.expr(arg, cx);
        let fits = match (&value.ty, conversion) {
            (Ty::Error, _) => return value,
            (Ty::Str(_), Conversion::Str) => true,
            (Ty::Int(_) | Ty::Bool | Ty::Ptr { .. }, Conversion::Signed | Conversion::Unsigned | Conversion::HexLower | Conversion::Pointer) => true,
            _ => false,
        };
        if !fits {
            let wanted = if conversion == Conversion::Str { "a string" } else { "an integer" };
            return c.error_expr(crate::sema::operand_error(&format!("`%{}` of `debugf`", conversion.letter()), &value, wanted), call.span);
        }
        args.push(value);
    }
    c.report(
        Diagnostic::warning("W0407", "`debugf` is for debugging, not for production")
            .with_primary(call.span, "writes to the kernel's trace buffer")
            .with_note("bpf_trace_printk is slow, and every program on the machine shares its buffer; see bpf-helpers(7)"),
    );
    call_expr("debugf", args, Ty::Void, call.span)
}

/// The format on the stack, then `bpf_trace_printk(format, size, values...)`: integers by value,
/// strings by address.
fn debugf(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    let mut call_args = Vec::with_capacity(args.len() + 1);
    for (i, arg) in args.iter().enumerate() {
        let value = f.value(arg);
        if arg.ty.is_scalar() {
            call_args.push(Arg::Reg(f.register(value)));
            continue;
        }
        let place = f.in_memory(value, &arg.ty, &arg.ty);
        call_args.push(Arg::Addr(place));
        if i == 0 {
            call_args.push(Arg::Imm(i64::from(arg.ty.size())));
        }
    }
    f.builder().call(helper::TRACE_PRINTK, &call_args);
    Value::Void
}
