//! Numbers printed by name: the probe keeps the number (8 bytes, cheap as a map key) and
//! userspace prints what it names, an errno's message, a signal, a syscall, a user or a time.

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::{AluOp, Cond, Operand, Reg};
use crate::lower::{FnLowerer, Value};
use crate::sema::hir::{Builtin, Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::{Symbol, TimeFormat, Ty};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "strerror",
        signature: "string strerror(int errno)",
        kind: Kind::Value,
        doc: "The kernel's message for an errno value, `Bad file number` for 9; a negative value \
              (a syscall's return) is negated first. Printed with `%s` or `print`.",
        check: |c, call, cx| named(c, call, cx, "strerror", Symbol::Errno),
        lower: Lowering::Inline(|f, _, args| {
            // One number per message, so that equal messages are one map key: |n|, and every
            // unknown errno as 0x7fff.
            let n = c_int(f, &args[0]);
            let b = f.builder();
            let positive = b.label();
            b.branch(Cond::SGe, n, Operand::Imm(0), positive);
            b.alu(AluOp::Mul, n, Operand::Imm(-1));
            b.place_label(positive);
            let (unknown, known) = (b.label(), b.label());
            b.branch(Cond::Gt, n, Operand::Imm(crate::names::LAST_ERRNO), unknown);
            for hole in crate::names::ERRNO_HOLES {
                b.branch(Cond::Eq, n, Operand::Imm(hole), unknown);
            }
            b.jump(known);
            b.place_label(unknown);
            b.set_constant(n, UNKNOWN);
            b.place_label(known);
            Value::Reg(n)
        }),
    },
    Function {
        name: "signal_name",
        signature: "string signal_name(int sig)",
        kind: Kind::Value,
        doc: "What a signal is, as `strsignal(3)` says: `Interrupt` for 2, `Real-time signal 1` for \
              35, `N/A` out of range.",
        check: |c, call, cx| named(c, call, cx, "signal_name", Symbol::Signal),
        lower: Lowering::Inline(|f, _, args| {
            // Every number out of range is one `N/A`.
            let n = c_int(f, &args[0]);
            let b = f.builder();
            let out_of_range = b.label();
            let done = b.label();
            b.branch(Cond::SLt, n, Operand::Imm(0), out_of_range);
            b.branch(Cond::Le, n, Operand::Imm(64), done);
            b.place_label(out_of_range);
            b.set_constant(n, UNKNOWN);
            b.place_label(done);
            Value::Reg(n)
        }),
    },
    Function {
        name: "syscall_name",
        signature: "string syscall_name(int nr)",
        kind: Kind::Value,
        doc: "The name of a syscall number on this architecture, `read` for 0, or `Unknown syscall`.",
        check: |c, call, cx| named(c, call, cx, "syscall_name", Symbol::Syscall),
        lower: Lowering::Inline(|f, _, args| {
            // Every number outside the table's range is one `Unknown syscall`.
            let n = c_int(f, &args[0]);
            let b = f.builder();
            let known = b.label();
            let out_of_range = b.label();
            b.branch(Cond::SLt, n, Operand::Imm(0), out_of_range);
            b.branch(Cond::Lt, n, Operand::Imm(crate::syscalls::Arch::X86_64.number_limit() as i32), known);
            b.place_label(out_of_range);
            b.set_constant(n, UNKNOWN);
            b.place_label(known);
            Value::Reg(n)
        }),
    },
    Function {
        name: "strftime",
        signature: "timestamp strftime(const string fmt, uint64 nsecs)",
        kind: Kind::Value,
        doc: "A timestamp from `nsecs` (or `nsecs(tai)`) printed as local wall-clock time by a \
              `strftime(3)` format, with `%f` for microseconds. Formatted by ferrotrace when printed.",
        check: check_strftime,
        lower: Lowering::Inline(the_number),
    },
    Function {
        name: "username",
        signature: "username username",
        kind: Kind::Builtin,
        doc: "The name of the current thread's user, looked up when printed (its uid if the user \
              has no name).",
        check: |c, call, _| {
            if let Some(error) = super::arguments_given(c, call) {
                return error;
            }
            Expr::new(ExprKind::Builtin(Builtin::Uid), Ty::Symbol(Symbol::User), call.span)
        },
        lower: Lowering::Elsewhere,
    },
];

/// The value is the number itself.
fn the_number(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    f.value(args.last().expect("checked: one number"))
}

/// Stands for every number without a name of its own.
const UNKNOWN: i64 = 0x7fff;

/// `e` as a C `int` (its low 32 bits, sign-extended), in a register of its own.
fn c_int(f: &mut FnLowerer<'_>, e: &Expr) -> Reg {
    let value = f.value(e);
    let reg = f.register(value);
    let b = f.builder();
    let n = b.copy_reg(reg);
    b.alu(AluOp::Lsh, n, Operand::Imm(32));
    b.alu(AluOp::Arsh, n, Operand::Imm(32));
    n
}

/// A call of one integer argument, typed as the number of `symbol`.
fn named(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>, func: &'static str, symbol: Symbol) -> Expr {
    let [arg] = call.args else { return c.arity_error(call, "one integer") };
    let Some(number) = integer(c, call, arg, cx) else { return c.error_expr_silent(call.span) };
    call_expr(func, vec![number], Ty::Symbol(symbol), call.span)
}

/// `arg` checked as an integer; `None` after reporting what it is instead.
fn integer(c: &mut Checker, call: &Call<'_>, arg: &ast::Expr, cx: &mut ProbeCx<'_>) -> Option<Expr> {
    let value = c.expr(arg, cx);
    match value.ty {
        Ty::Int(_) => Some(value),
        Ty::Error => None,
        _ => {
            c.report(crate::sema::operand_error(&format!("`{}`", call.name.name), &value, "an integer"));
            None
        }
    }
}

fn check_strftime(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let [format, nsecs] = call.args else { return c.arity_error(call, "a format and a timestamp") };
    let ast::ExprKind::Str(text) = &format.kind else {
        return c.error_expr(
            Diagnostic::error("E0520", "the format of `strftime` must be a string literal").with_primary(format.span, "not a literal"),
            call.span,
        );
    };
    let format = String::from_utf8_lossy(text).into_owned();
    let Some(timestamp) = integer(c, call, nsecs, cx) else { return c.error_expr_silent(call.span) };
    let tai = match super::clock_of(&timestamp, &cx.locals, c.maps_mut()) {
        Some(super::builtins::CLOCK_MONOTONIC) => {
            return c.error_expr(
                Diagnostic::error("E0521", "`strftime` cannot take a monotonic timestamp")
                    .with_primary(nsecs.span, "CLOCK_MONOTONIC has no date")
                    .with_help("use `nsecs` (boot time) or `nsecs(tai)`"),
                call.span,
            )
        }
        Some(super::builtins::CLOCK_TAI | super::builtins::CLOCK_SW_TAI) => true,
        _ => false,
    };
    call_expr("strftime", vec![timestamp], Ty::Symbol(Symbol::Time(Box::new(TimeFormat { format, tai }))), call.span)
}
