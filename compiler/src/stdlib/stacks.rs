//! Stacks: `kstack` and `ustack`, a stack id from `bpf_get_stackid` that userspace prints as
//! the stack's frames, and `len` of one, its frames counted in the probe.

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::{helper, AluOp, Cond, Operand};
use crate::lower::builder::Arg;
use crate::lower::{FnLowerer, Value};
use crate::sema::hir::{Builtin, Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::span::Span;
use crate::types::{IntTy, StackMode, StackTy, Ty, MAX_STACK_FRAMES};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "kstack",
        signature: "kstack kstack | kstack kstack([mode, ][limit])",
        kind: Kind::Builtin,
        doc: "The kernel stack, innermost frame first, at most `limit` frames (1 to 127, the \
              default). `mode` is how it prints: `bpftrace` (the default, or the `stack_mode` \
              setting), `perf` or `raw`. The probe stores the stack in a stack map \
              (`bpf_get_stackid`) and keeps its 8-byte id, so identical stacks are one map key; \
              the frames are named from `/proc/kallsyms` when printed.",
        check: |c, call, cx| check_stack(c, call, cx, false),
        lower: Lowering::Inline(lower_stack),
    },
    Function {
        name: "ustack",
        signature: "ustack ustack | ustack ustack([mode, ][limit])",
        kind: Kind::Builtin,
        doc: "The user stack of the current thread, like `kstack`; `build_id` mode prints each \
              frame as its file's ELF build id and the offset in it. The frames are named from \
              the ELF symbol tables of the files the process had mapped, as the kernel reports \
              its mappings while the script runs (or, for a process that ran before, read when \
              the first of its stacks is taken), so a process that has exited by the time its \
              stacks print is still named. The key includes the pid, since addresses differ between processes.",
        check: |c, call, cx| check_stack(c, call, cx, true),
        lower: Lowering::Inline(lower_stack),
    },
];

/// `kstack` or `ustack` with its optional mode and limit, in that order.
fn check_stack(c: &mut Checker, call: &Call<'_>, _: &mut ProbeCx<'_>, user: bool) -> Expr {
    let name = if user { "ustack" } else { "kstack" };
    if call.args.len() > 2 {
        return c.arity_error(call, "at most a mode and a limit");
    }
    let mut mode = c.stack_mode();
    let mut limit = MAX_STACK_FRAMES;
    for (i, arg) in call.args.iter().enumerate() {
        match &arg.kind {
            ast::ExprKind::Ident(word) if i == 0 => match StackMode::from_name(word) {
                Some(named) => mode = named,
                None => return bad_mode(c, name, arg),
            },
            ast::ExprKind::Int(n) if i + 1 == call.args.len() => match u8::try_from(*n) {
                Ok(n) if (1..=MAX_STACK_FRAMES).contains(&n) => limit = n,
                _ => return bad_limit(c, name, arg),
            },
            ast::ExprKind::Int(_) => return bad_mode(c, name, arg),
            _ if i + 1 == call.args.len() => return bad_limit(c, name, arg),
            _ => return bad_mode(c, name, arg),
        }
    }
    if !user && mode == StackMode::BuildId {
        c.report(
            Diagnostic::warning("W0410", "`build_id` stack mode can only be used for `ustack`: this `kstack` prints `raw`")
                .with_primary(call.span, "kernel frames have no build id"),
        );
        mode = StackMode::Raw;
    }
    let args = match user {
        // A user stack's addresses mean something only in its process: the pid goes with it.
        true => {
            c.note_namespaced_id_read();
            vec![Expr::new(ExprKind::Builtin(Builtin::Pid), Ty::Int(IntTy::U32), call.span)]
        }
        false => Vec::new(),
    };
    call_expr(name, args, Ty::Stack(StackTy { user, mode, limit }), call.span)
}

fn bad_mode(c: &mut Checker, name: &str, arg: &ast::Expr) -> Expr {
    c.error_expr(
        Diagnostic::error("E0527", format!("`{name}` takes a stack mode: `bpftrace`, `perf`, `raw` or `build_id`"))
            .with_primary(arg.span, "not a stack mode")
            .with_help(format!("the mode comes first, then the limit: `{name}(perf, 10)`")),
        arg.span,
    )
}

fn bad_limit(c: &mut Checker, name: &str, arg: &ast::Expr) -> Expr {
    c.error_expr(
        Diagnostic::error("E0528", format!("the limit of `{name}` must be an integer literal from 1 to {MAX_STACK_FRAMES}"))
            .with_primary(arg.span, "not a frame count from 1 to 127")
            .with_note("a stack map holds at most `kernel.perf_event_max_stack` frames, 127 by default"),
        arg.span,
    )
}

/// `bpf_get_stackid(ctx, stack map, flags)`; a user stack's id gets the pid in its upper half,
/// and a process seen for the first time is announced to the runtime.
fn lower_stack(f: &mut FnLowerer<'_>, call: &Expr, args: &[Expr]) -> Value {
    let Ty::Stack(stack) = call.ty else { unreachable!("checked: a stack") };
    let map = f.stack_map(stack.limit, stack.user && stack.mode == StackMode::BuildId);
    let ctx = f.context();
    let flags = if stack.user { USER_STACK } else { 0 };
    let id = f.builder().call(helper::GET_STACKID, &[Arg::Reg(ctx), Arg::Map(map), Arg::Imm(flags)]);
    let Some(pid) = args.first() else { return Value::Reg(id) };
    let pid = f.value(pid);
    let pid = f.register(pid);
    f.announce_process(pid);
    let b = f.builder();
    let packed = b.vreg();
    b.emit(crate::lir::Insn::Alu32 { op: AluOp::Mov, dst: packed, src: Operand::Reg(id) });
    let high = b.copy_reg(pid);
    b.alu(AluOp::Lsh, high, Operand::Imm(32));
    b.alu(AluOp::Or, packed, Operand::Reg(high));
    Value::Reg(packed)
}

/// `len(stack)`: `stack` must be `kstack` or `ustack` itself, whose frames the probe can count
/// where it is; a stack kept in a variable or a map is an id whose frames only userspace reads.
pub(super) fn check_frame_count(c: &mut Checker, arg: &ast::Expr, cx: &mut ProbeCx<'_>, span: Span) -> Expr {
    let stack = c.expr(arg, cx);
    match (&stack.kind, &stack.ty) {
        (_, Ty::Error) => stack,
        (ExprKind::Call { func: "kstack" | "ustack", .. }, Ty::Stack(_)) => call_expr("len", vec![stack], Ty::I64, span),
        (_, Ty::Stack(_)) => c.error_expr(
            Diagnostic::error("E0539", "`len` counts the frames of `kstack` or `ustack` where it is called, not of a stack kept")
                .with_primary(arg.span, "a stack kept in a variable or map is an id: its frames are read only when it prints")
                .with_help("call `len(kstack)` or `len(ustack)` in the probe whose stack you want"),
            span,
        ),
        (_, other) => c.error_expr(
            Diagnostic::error("E0539", format!("`len` takes a map or a stack, not `{other}`"))
                .with_primary(arg.span, "neither a map nor a stack")
                .with_help("`len(@m)` counts a map's keys, `len(kstack)` a stack's frames"),
            span,
        ),
    }
}

/// The frames of the stack `args[0]` names, up to its limit: `bpf_get_stack` into scratch
/// memory, its byte count (negative on failure, then 0) over 8.
pub(super) fn lower_frame_count(f: &mut FnLowerer<'_>, args: &[Expr]) -> Value {
    let Some(Ty::Stack(stack)) = args.first().map(|stack| &stack.ty) else { unreachable!("checked: a stack") };
    let size = u32::from(stack.limit) * 8;
    let ctx = f.context();
    let b = f.builder();
    let frames = b.alloc_scratch(size);
    let frames = b.addr(frames);
    let flags = if stack.user { USER_STACK } else { 0 };
    let bytes = b.call(helper::GET_STACK, &[Arg::Reg(ctx), Arg::Reg(frames), Arg::Imm(i64::from(size)), Arg::Imm(flags)]);
    let counted = b.label();
    b.branch(Cond::SGe, bytes, Operand::Imm(0), counted);
    b.set_constant(bytes, 0);
    b.place_label(counted);
    b.alu(AluOp::Rsh, bytes, Operand::Imm(3));
    Value::Reg(bytes)
}

/// `BPF_F_USER_STACK`: walk the user stack, not the kernel's.
const USER_STACK: i64 = 1 << 8;
