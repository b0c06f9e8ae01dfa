//! Addresses and the names of what is there: `ksym`, `usym`, `kaddr`, `uaddr`, `func` and
//! `reg`. The probe keeps the address; userspace names it when printing.

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::helper;
use crate::lower::builder::Arg;
use crate::lower::{FnLowerer, Value};
use crate::manifest::Attach;
use crate::sema::hir::{Builtin, Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::{AddressKind, IntTy, Symbol, Ty};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "ksym",
        signature: "ksym ksym(uint64 addr)",
        kind: Kind::Value,
        doc: "The name of the kernel function or object at `addr`, from `/proc/kallsyms` when \
              printed (the address in hex when none is there). Printed with `%s` or `print`.",
        check: |c, call, cx| {
            let Some(addr) = address(c, call, cx) else { return c.error_expr_silent(call.span) };
            call_expr("ksym", vec![addr], Ty::Symbol(Symbol::KernelSymbol), call.span)
        },
        lower: Lowering::Inline(|f, _, args| f.value(&args[0])),
    },
    Function {
        name: "usym",
        signature: "usym usym(uint64 addr)",
        kind: Kind::Value,
        doc: "The name of the function at user address `addr` in the current process, from the \
              ELF symbol tables of the files it maps, read when the process is first seen (the \
              address in hex when none is there). The probe keeps the address and the pid.",
        check: |c, call, cx| {
            let Some(addr) = address(c, call, cx) else { return c.error_expr_silent(call.span) };
            c.note_namespaced_id_read();
            let pid = Expr::new(ExprKind::Builtin(Builtin::Pid), Ty::Int(IntTy::U32), call.span);
            call_expr("usym", vec![addr, pid], Ty::Address(AddressKind::UserSymbol), call.span)
        },
        lower: Lowering::Inline(lower_usym),
    },
    Function {
        name: "kaddr",
        signature: "uint64 kaddr(const string name)",
        kind: Kind::Value,
        doc: "The address of kernel symbol `name`, read from `/proc/kallsyms` while compiling.",
        check: check_kaddr,
        lower: Lowering::Inline(|f, call, _| {
            let ExprKind::Call { args, .. } = &call.kind else { unreachable!("a call") };
            let Some(ExprKind::Str(name)) = args.first().map(|a| &a.kind) else { unreachable!("checked: a literal name") };
            let address = f.kernel_symbol(&String::from_utf8_lossy(name));
            Value::Reg(f.builder().constant(address as i64))
        }),
    },
    Function {
        name: "uaddr",
        signature: "uint64 *uaddr(const string name)",
        kind: Kind::Value,
        doc: "The address of symbol `name` in the binary a uprobe or USDT probe attaches to. \
              ferrotrace has no uprobes yet, so every use is refused (E0529).",
        check: |c, call, _| {
            c.error_expr(
                Diagnostic::error("E0529", "`uaddr` needs a uprobe or USDT probe, which ferrotrace does not have yet")
                    .with_primary(call.span, "no binary to look the symbol up in")
                    .with_note("`uaddr` names a symbol of the binary the probe attaches to"),
                call.span,
            )
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "func",
        signature: "ksym func",
        kind: Kind::Builtin,
        doc: "The kernel function a kprobe or kretprobe fired in, printed by name: the \
              instruction pointer in a kprobe, `bpf_get_func_ip` in a kretprobe. In a uprobe or \
              uretprobe, the name of the function it is attached to, a string.",
        check: check_func,
        lower: Lowering::Inline(|f, call, _| {
            let ExprKind::Call { args, .. } = &call.kind else { unreachable!("a call") };
            if args.is_empty() {
                let ctx = f.context();
                return Value::Reg(f.builder().call(helper::GET_FUNC_IP, &[Arg::Reg(ctx)]));
            }
            f.value(&args[0])
        }),
    },
    Function {
        name: "reg",
        signature: "uint64 reg(const string name)",
        kind: Kind::Value,
        doc: "The register `name` (`ip`, `sp`, `ax`, `di`, ...: x86-64's `struct pt_regs`) where a \
              kprobe fired or a `profile` or `interval` sample interrupted the CPU.",
        check: check_reg,
        lower: Lowering::Elsewhere,
    },
];

/// The one integer argument of `ksym`/`usym`; `None` after reporting.
fn address(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Option<Expr> {
    let [arg] = call.args else {
        c.arity_error(call, "an address");
        return None;
    };
    let value = c.expr(arg, cx);
    match value.ty {
        Ty::Int(_) | Ty::Ptr { .. } => Some(value),
        Ty::Error => None,
        _ => {
            c.report(
                Diagnostic::error("E0419", format!("`{}` needs an address, but this is `{}`", call.name.name, value.ty))
                    .with_primary(arg.span, format!("this is `{}`", value.ty)),
            );
            None
        }
    }
}

/// A 16-byte `usym`: the address, then the pid.
fn lower_usym(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    let addr = f.value(&args[0]);
    let addr = f.register(addr);
    let pid = f.value(&args[1]);
    let pid = f.register(pid);
    f.announce_process(pid);
    let b = f.builder();
    let place = b.alloc(16);
    b.store(place, 8, addr);
    b.store(place.at(8), 8, pid);
    Value::Mem(place)
}

fn check_kaddr(c: &mut Checker, call: &Call<'_>, _: &mut ProbeCx<'_>) -> Expr {
    let [name] = call.args else { return c.arity_error(call, "a symbol name") };
    let ast::ExprKind::Str(text) = &name.kind else {
        return c.error_expr(
            Diagnostic::error("E0530", "`kaddr` takes the symbol's name as a string literal")
                .with_primary(name.span, "not a literal")
                .with_help("the address is read while compiling: `kaddr(\"avenrun\")`"),
            call.span,
        );
    };
    c.need_kernel_symbol(&String::from_utf8_lossy(text), name.span);
    let literal = Expr::new(ExprKind::Str(text.clone()), Ty::Str(text.len() as u32 + 1), name.span);
    call_expr("kaddr", vec![literal], Ty::U64, call.span)
}

fn check_func(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    if let Some(error) = super::arguments_given(c, call) {
        return error;
    }
    let ty = Ty::Symbol(Symbol::KernelSymbol);
    match cx.attach {
        // At a kretprobe the instruction pointer is in the caller, and an fentry or fexit
        // program has no registers: the helper knows the function.
        Attach::Kprobe { retprobe: true, .. } | Attach::Fentry { .. } => call_expr("func", Vec::new(), ty, call.span),
        Attach::Kprobe { .. } => {
            let ip = Expr::new(ExprKind::Register(crate::pt_regs::INSTRUCTION_POINTER), Ty::U64, call.span);
            call_expr("func", vec![ip], ty, call.span)
        }
        // Each uprobe's program knows its function: a constant (so a block using `func` gets a
        // program per function).
        Attach::Uprobe { function, .. } => {
            Expr::new(ExprKind::Str(function.as_bytes().to_vec()), Ty::Str(function.len() as u32 + 1), call.span)
        }
        _ => c.error_expr(
            Diagnostic::error("E0531", format!("`func` is only available in kprobes, kretprobes, fentry, fexit, uprobes and uretprobes, not in `{}`", cx.name))
                .with_primary(call.span, "no traced function here"),
            call.span,
        ),
    }
}

fn check_reg(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let [name] = call.args else { return c.arity_error(call, "a register name") };
    let registers = cx.attach.provider().context.has_registers();
    if !registers {
        return c.error_expr(
            Diagnostic::error("E0532", format!("`reg` is only available in kprobes, `profile` and `interval` probes, not in `{}`", cx.name))
                .with_primary(call.span, "no registers here")
                .with_note("a tracepoint's context is its record, not the CPU's registers"),
            call.span,
        );
    }
    let register = match &name.kind {
        ast::ExprKind::Str(text) => crate::pt_regs::named(&String::from_utf8_lossy(text)),
        _ => None,
    };
    match register {
        Some(register) => Expr::new(ExprKind::Register(register), Ty::U64, call.span),
        None => c.error_expr(
            Diagnostic::error("E0533", "`reg` takes a register name as a string literal")
                .with_primary(name.span, "not a register")
                .with_note(format!("the x86-64 registers are {}", crate::pt_regs::register_names())),
            call.span,
        ),
    }
}
