//! Kernel objects a tracing program is handed: its context (`ctx`: an iterator's
//! `struct bpf_iter__NAME`, whose members point to the object visited, a function probe's
//! `struct pt_regs`, a perf event's `struct bpf_perf_event_data`), and the path a
//! `struct path` names (`path()`, `bpf_d_path`, which the kernel allows in iterator, fentry
//! and fexit programs).

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::btf::Family;
use crate::diagnostic::Diagnostic;
use crate::lir::{helper, Cond, Operand};
use crate::lower::builder::Arg;
use crate::lower::{FnLowerer, Value};
use crate::manifest::Attach;
use crate::providers::Context;
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::kernel_types::language_type;
use crate::sema::{Checker, ProbeCx};
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "ctx",
        signature: "struct CONTEXT * ctx",
        kind: Kind::Builtin,
        doc: "The probe's context, typed from the kernel's BTF. In an `iter:NAME` probe the \
              iterator's `struct bpf_iter__NAME`: `ctx.meta`, and pointers to the object visited \
              (`ctx.task`, `ctx.file`, `ctx.vma`, ...; `-lv` lists them), whose members are read with \
              `.`. In kprobe, kretprobe, uprobe, uretprobe and usdt probes the saved registers, \
              `struct pt_regs *` (`ctx->ip`, `ctx->sp`); in profile, interval, software, hardware and \
              watchpoint probes the sample, `struct bpf_perf_event_data *` (`ctx->regs.ip`, \
              `ctx->sample_period`, `ctx->addr`).",
        check: check_ctx,
        lower: Lowering::Inline(|f, _, _| {
            let ctx = f.context();
            Value::Reg(f.builder().copy_reg(ctx))
        }),
    },
    Function {
        name: "path",
        signature: "string path(struct path *path [, uint32 size])",
        kind: Kind::Value,
        doc: "The full path of a `struct path` (or a pointer to one), as `bpf_d_path` writes it: \
              `path(ctx.file.f_path)`. At most `size` bytes (a literal; `max_strlen` by default). The \
              kernel allows it in iter, fentry and fexit probes.",
        check: check_path,
        lower: Lowering::Inline(path),
    },
];

fn check_ctx(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    if let Some(error) = super::arguments_given(c, call) {
        return error;
    }
    let context = match (cx.attach, cx.attach.provider().context) {
        (Attach::Iter { iterator, .. }, _) => crate::providers::iterator_context(iterator),
        (_, Context::FunctionRegisters) => "pt_regs".to_string(),
        (_, Context::SampleRegisters) => "bpf_perf_event_data".to_string(),
        _ => {
            return c.error_expr(
                Diagnostic::error("E0536", format!("`{}` has no `ctx`", cx.name))
                    .with_primary(call.span, "no context to point to here")
                    .with_note("`ctx` is an iterator's context, the registers of a kprobe, uprobe or usdt probe, or a perf event's sample")
                    .with_help("other probes read their context through `args`, `argN`, `retval` and the builtins"),
                call.span,
            )
        }
    };
    let ty = cx.kernel_types().and_then(|btf| language_type(btf, btf.find(&context, Family::StructOrUnion)?, false));
    match ty {
        Some(strukt) => call_expr("ctx", Vec::new(), Ty::ptr(strukt, false), call.span),
        None => c.error_expr(
            Diagnostic::error("E0536", format!("the kernel's types have no `struct {context}`"))
                .with_primary(call.span, "the probe's context is not known")
                .with_note("contexts come from /sys/kernel/btf/vmlinux"),
            call.span,
        ),
    }
}

/// `path(p)`: HIR `path(pointer, offset)`, the `struct path` being at `pointer + offset`; the
/// result's type is the string's buffer.
fn check_path(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let span = call.span;
    let (target, size) = match call.args {
        [target] => (target, None),
        [target, size] => (target, Some(size)),
        _ => return c.arity_error(call, "a `struct path` and an optional size"),
    };
    if !matches!(cx.attach, Attach::Iter { .. } | Attach::Fentry { .. }) {
        return c.error_expr(
            Diagnostic::error("E0538", format!("`path()` calls `bpf_d_path`, which the kernel does not allow in `{}`", cx.name))
                .with_primary(span, "not allowed here")
                .with_note("the kernel allows `bpf_d_path` in iter probes, and in fentry and fexit probes of some functions"),
            span,
        );
    }
    let limit = c.max_strlen();
    let size = match size {
        None => limit,
        Some(size) => match crate::sema::fold_constant(&c.expr(size, cx)) {
            Some(n) if (1..=i128::from(limit)).contains(&n) => n as u32,
            _ => {
                return c.error_expr(
                    Diagnostic::error("E0537", format!("`path()`'s size must be an integer literal from 1 to {limit}"))
                        .with_primary(size.span, "not such a literal")
                        .with_note("`max_strlen` bounds the strings a probe holds"),
                    span,
                );
            }
        },
    };
    let e = c.expr(target, cx);
    if e.ty.is_error() {
        return e;
    }
    let is_path = |ty: &Ty| matches!(ty, Ty::Struct(strukt) if strukt.name == "struct path");
    let (pointer, offset) = match (&e.ty, e.kind) {
        (ty, ExprKind::Deref { ptr, offset, user: false, field, .. }) if is_path(ty) => {
            c.fix_offsets(field.as_deref());
            (*ptr, offset)
        }
        (Ty::Ptr { pointee, user: false }, kind) if is_path(pointee) => (Expr::new(kind, e.ty.clone(), e.span), 0),
        (ty, _) => {
            return c.error_expr(
                Diagnostic::error("E0537", format!("`path()` takes a `struct path` or a pointer to one, not `{ty}`"))
                    .with_primary(target.span, format!("this is `{ty}`"))
                    .with_help("name the struct's `struct path` member: `path(ctx.file.f_path)`"),
                span,
            );
        }
    };
    let offset = Expr::new(ExprKind::Int(u64::from(offset)), Ty::U64, span);
    call_expr("path", vec![pointer, offset], Ty::Str(size), span)
}

/// `bpf_d_path` writes the path at the start of a buffer it has also scribbled on after it, so
/// it writes into scratch space and the string is copied from there into a cleared buffer,
/// which keeps every string zero-padded after its NUL. A null pointer gives the empty string.
fn path(f: &mut FnLowerer<'_>, call: &Expr, args: &[Expr]) -> Value {
    let (Ty::Str(size), [pointer, offset]) = (&call.ty, args) else { unreachable!("checked: path(pointer, offset)") };
    let ExprKind::Int(offset) = offset.kind else { unreachable!("checked: a constant offset") };
    let pointer = f.value(pointer);
    let pointer = f.register(pointer);
    let scratch = f.builder().alloc_scratch(*size);
    f.builder().zero(scratch.at(0), 8);
    let done = f.builder().label();
    f.builder().branch(Cond::Eq, pointer, Operand::Imm(0), done);
    let address = f.builder().copy_reg(pointer);
    if offset != 0 {
        f.builder().alu(crate::lir::AluOp::Add, address, Operand::Imm(offset as i32));
    }
    f.checked_call(helper::D_PATH, &[Arg::Reg(address), Arg::Addr(scratch), Arg::Imm(i64::from(*size))]);
    f.builder().place_label(done);
    let written = f.builder().addr(scratch);
    Value::Mem(f.read_str_into(written, None, false, *size))
}
