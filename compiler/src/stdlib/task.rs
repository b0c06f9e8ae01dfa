//! The current task: its parent and its thread group's leader, read through `task_struct`
//! pointers with `bpf_probe_read_kernel` at the offsets the kernel's BTF gives, and whether it
//! was in user mode.

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::catalog::KernelMember;
use crate::lir::{helper, Reg};
use crate::lower::builder::Arg;
use crate::lower::{FnLowerer, Value};
use crate::diagnostic::Diagnostic;
use crate::pt_regs;
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx, COMM_SIZE};
use crate::syntax::ast::BinOp;
use crate::types::{IntTy, Ty};

const REAL_PARENT: KernelMember = KernelMember { strukt: "task_struct", member: "real_parent" };
const GROUP_LEADER: KernelMember = KernelMember { strukt: "task_struct", member: "group_leader" };
const TGID: KernelMember = KernelMember { strukt: "task_struct", member: "tgid" };
const PID: KernelMember = KernelMember { strukt: "task_struct", member: "pid" };
const COMM: KernelMember = KernelMember { strukt: "task_struct", member: "comm" };

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "curtask",
        signature: "struct task_struct * curtask",
        kind: Kind::Builtin,
        doc: "The current task's `struct task_struct` (from `bpf_get_current_task`); its members are \
              read with `->`, typed from the kernel's BTF. A `uint64` address where the kernel has \
              no BTF.",
        check: check_curtask,
        lower: Lowering::Inline(|f, _, _| super::helper_result(f, helper::GET_CURRENT_TASK)),
    },
    Function {
        name: "ppid",
        signature: "uint32 ppid",
        kind: Kind::Builtin,
        doc: "Process id of the current thread's parent (`real_parent->tgid`).",
        check: |c, call, _| relative(c, call, "ppid", &[REAL_PARENT, TGID], Ty::Int(IntTy::U32)),
        lower: Lowering::Inline(|f, _, _| number(f, REAL_PARENT, TGID)),
    },
    Function {
        name: "pcomm",
        signature: "string pcomm",
        kind: Kind::Builtin,
        doc: "Name of the current thread's parent (`real_parent->comm`).",
        check: |c, call, _| relative(c, call, "pcomm", &[REAL_PARENT, COMM], Ty::Str(COMM_SIZE)),
        lower: Lowering::Inline(|f, _, _| name(f, REAL_PARENT)),
    },
    Function {
        name: "leader_tid",
        signature: "uint32 leader_tid",
        kind: Kind::Builtin,
        doc: "Thread id of the current thread group's leader (`group_leader->pid`).",
        check: |c, call, _| relative(c, call, "leader_tid", &[GROUP_LEADER, PID], Ty::Int(IntTy::U32)),
        lower: Lowering::Inline(|f, _, _| number(f, GROUP_LEADER, PID)),
    },
    Function {
        name: "usermode",
        signature: "uint8 usermode",
        kind: Kind::Builtin,
        doc: "1 if the CPU was running user code when the probe fired, from the saved registers \
              (x86-64's `cs & 3 == 3`): in kprobes, kretprobes, `profile` and `interval` probes.",
        check: check_usermode,
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "leader_comm",
        signature: "string leader_comm",
        kind: Kind::Builtin,
        doc: "Name of the current thread group's leader (`group_leader->comm`).",
        check: |c, call, _| relative(c, call, "leader_comm", &[GROUP_LEADER, COMM], Ty::Str(COMM_SIZE)),
        lower: Lowering::Inline(|f, _, _| name(f, GROUP_LEADER)),
    },
];

fn check_curtask(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    if let Some(error) = super::arguments_given(c, call) {
        return error;
    }
    let task = cx.kernel_types().and_then(|btf| crate::sema::kernel_types::c_type(btf, "struct task_struct *", false));
    call_expr("curtask", Vec::new(), task.unwrap_or(Ty::U64), call.span)
}

fn check_usermode(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    if let Some(error) = super::arguments_given(c, call) {
        return error;
    }
    if !cx.attach.provider().context.has_registers() {
        return c.error_expr(
            Diagnostic::error("E0466", format!("`usermode` reads the saved registers, which `{}` does not have", cx.name))
                .with_primary(call.span, "no registers here")
                .with_note("usermode works in kprobes, kretprobes, profile and interval probes"),
            call.span,
        );
    }
    let span = call.span;
    let register = Expr::new(ExprKind::Register(pt_regs::CODE_SEGMENT), Ty::U64, span);
    let three = || Expr::new(ExprKind::Int(3), Ty::U64, span);
    let level = Expr::new(ExprKind::Binary { op: BinOp::BitAnd, lhs: Box::new(register), rhs: Box::new(three()), signed: false }, Ty::U64, span);
    let user = Expr::new(ExprKind::Binary { op: BinOp::Eq, lhs: Box::new(level), rhs: Box::new(three()), signed: false }, Ty::Bool, span);
    Expr::new(ExprKind::Cast { to: IntTy::U8, expr: Box::new(user) }, Ty::Int(IntTy::U8), span)
}

/// A builtin that reads `members` of the current task's relatives.
fn relative(c: &mut Checker, call: &Call<'_>, func: &'static str, members: &[KernelMember], ty: Ty) -> Expr {
    if let Some(error) = super::arguments_given(c, call) {
        return error;
    }
    c.need_members(members, call.span);
    call_expr(func, Vec::new(), ty, call.span)
}

/// The `task_struct *` at `link` in the current task.
fn relative_task(f: &mut FnLowerer<'_>, link: KernelMember) -> Reg {
    let task = f.builder().call(helper::GET_CURRENT_TASK, &[]);
    f.add_member_offset(task, link);
    let b = f.builder();
    let slot = b.alloc(8);
    b.store_imm(slot, 8, 0);
    f.checked_call(helper::PROBE_READ_KERNEL, &[Arg::Addr(slot), Arg::Imm(8), Arg::Reg(task)]);
    f.builder().load(slot, 8)
}

/// The 32-bit `field` of the task at `link` (0 when it cannot be read).
fn number(f: &mut FnLowerer<'_>, link: KernelMember, field: KernelMember) -> Value {
    let relative = relative_task(f, link);
    f.add_member_offset(relative, field);
    let b = f.builder();
    let slot = b.alloc(8);
    b.store_imm(slot, 8, 0);
    f.checked_call(helper::PROBE_READ_KERNEL, &[Arg::Addr(slot), Arg::Imm(4), Arg::Reg(relative)]);
    Value::Reg(f.builder().load(slot, 4))
}

/// The `comm` of the task at `link`, zero-padded after its NUL.
fn name(f: &mut FnLowerer<'_>, link: KernelMember) -> Value {
    let relative = relative_task(f, link);
    f.add_member_offset(relative, COMM);
    let b = f.builder();
    let out = b.alloc(COMM_SIZE);
    b.zero(out, COMM_SIZE);
    f.checked_call(helper::PROBE_READ_KERNEL_STR, &[Arg::Addr(out), Arg::Imm(i64::from(COMM_SIZE)), Arg::Reg(relative)]);
    Value::Mem(out)
}
