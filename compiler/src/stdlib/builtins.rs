//! Builtins: values of the probe's context, used bare (`pid`) or called (`pid()`).

use super::{Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::helper;
use crate::lower::Value;
use crate::sema::hir::{Builtin, Expr, ExprKind};
use crate::sema::{Checker, COMM_SIZE};
use crate::types::{IntTy, Ty};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "pid",
        signature: "uint32 pid | uint32 pid(curr_ns | init)",
        kind: Kind::Builtin,
        doc: "Process id (thread group id) of the current thread, as seen from ferrotrace's PID \
              namespace (`curr_ns`, the default; 0 for a task outside it) or from the initial one \
              (`init`).",
        check: |c, call, _| namespaced_id(c, call, Builtin::Pid, Builtin::InitPid),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "tid",
        signature: "uint32 tid | uint32 tid(curr_ns | init)",
        kind: Kind::Builtin,
        doc: "Thread id of the current thread, as seen from ferrotrace's PID namespace (`curr_ns`, \
              the default; 0 for a task outside it) or from the initial one (`init`).",
        check: |c, call, _| namespaced_id(c, call, Builtin::Tid, Builtin::InitTid),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "uid",
        signature: "uint64 uid",
        kind: Kind::Builtin,
        doc: "User id of the current thread.",
        check: |c, call, _| builtin(c, call, Builtin::Uid, Ty::U64),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "gid",
        signature: "uint64 gid",
        kind: Kind::Builtin,
        doc: "Group id of the current thread.",
        check: |c, call, _| builtin(c, call, Builtin::Gid, Ty::U64),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "comm",
        signature: "string comm",
        kind: Kind::Builtin,
        doc: "Name of the current thread (16 bytes at most).",
        check: |c, call, _| builtin(c, call, Builtin::Comm, Ty::Str(COMM_SIZE)),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "nsecs",
        signature: "uint64 nsecs | uint64 nsecs(boot | monotonic | tai | sw_tai)",
        kind: Kind::Builtin,
        doc: "Nanoseconds by a clock: `boot` (the default, CLOCK_BOOTTIME, counting suspend), \
              `monotonic` (CLOCK_MONOTONIC), `tai` (CLOCK_TAI, Linux 6.1) or `sw_tai` (the boot clock \
              plus TAI's offset from it as ferrotrace measured it at start, for older kernels).",
        check: check_nsecs,
        lower: Lowering::Inline(|f, _, args| {
            let helper = match args.first().map(|a| &a.kind) {
                Some(ExprKind::Int(CLOCK_MONOTONIC)) => helper::KTIME_GET_NS,
                Some(ExprKind::Int(CLOCK_TAI)) => helper::KTIME_GET_TAI_NS,
                Some(ExprKind::Int(CLOCK_SW_TAI)) => {
                    // The boot clock plus TAI's offset from it, measured by ferrotrace at start.
                    let offset = f.config_word(crate::manifest::config_layout::TAI_OFFSET_NS);
                    let b = f.builder();
                    let now = b.call(helper::KTIME_GET_BOOT_NS, &[]);
                    b.alu(crate::lir::AluOp::Add, now, crate::lir::Operand::Reg(offset));
                    return Value::Reg(now);
                }
                _ => helper::KTIME_GET_BOOT_NS,
            };
            super::helper_result(f, helper)
        }),
    },
    Function {
        name: "ncpus",
        signature: "uint64 ncpus",
        kind: Kind::Builtin,
        doc: "The number of online CPUs, as ferrotrace found it at start.",
        check: |c, call, _| intrinsic(c, call, "ncpus"),
        lower: Lowering::Inline(|f, _, _| crate::lower::Value::Reg(f.config_word(crate::manifest::config_layout::NCPUS))),
    },
    Function {
        name: "jiffies",
        signature: "uint64 jiffies",
        kind: Kind::Builtin,
        doc: "The kernel's jiffies counter (`bpf_jiffies64`).",
        check: |c, call, _| intrinsic(c, call, "jiffies"),
        lower: Lowering::Inline(|f, _, _| super::helper_result(f, helper::JIFFIES64)),
    },
    Function {
        name: "numaid",
        signature: "uint32 numaid",
        kind: Kind::Builtin,
        doc: "The NUMA node of the CPU running the probe.",
        check: |c, call, _| intrinsic(c, call, "numaid"),
        lower: Lowering::Inline(|f, _, _| super::helper_result(f, helper::GET_NUMA_NODE_ID)),
    },
    Function {
        name: "cgroup",
        signature: "uint64 cgroup",
        kind: Kind::Builtin,
        doc: "The id of the current thread's cgroup (v2).",
        check: |c, call, _| intrinsic(c, call, "cgroup"),
        lower: Lowering::Inline(|f, _, _| super::helper_result(f, helper::GET_CURRENT_CGROUP_ID)),
    },
    Function {
        name: "elapsed",
        signature: "uint64 elapsed",
        kind: Kind::Builtin,
        doc: "Nanoseconds since ferrotrace started.",
        check: |c, call, _| builtin(c, call, Builtin::Elapsed, Ty::U64),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "cpu",
        signature: "uint32 cpu",
        kind: Kind::Builtin,
        doc: "The CPU running the probe.",
        check: |c, call, _| builtin(c, call, Builtin::Cpu, Ty::Int(IntTy::U32)),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "rand",
        signature: "uint32 rand",
        kind: Kind::Builtin,
        doc: "A pseudo-random number.",
        check: |c, call, _| builtin(c, call, Builtin::Rand, Ty::Int(IntTy::U32)),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "probe",
        signature: "string probe",
        kind: Kind::Builtin,
        doc: "The fully expanded name of the probe that fired.",
        check: |c, call, _| match call.args {
            [] => Expr::new(ExprKind::ProbeName, Ty::Probe, call.span),
            _ => c.arity_error(call, "no arguments"),
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "args",
        signature: "struct args",
        kind: Kind::Builtin,
        doc: "The arguments of a tracepoint (its record's fields), a raw tracepoint, the function \
              of an fentry or fexit probe, or the function of a uprobe whose binary has debug info \
              (DWARF): one with `args.name`, all as a record with `args` (`print(args)` prints \
              `{ .name = value, ... }`).",
        check: |c, call, cx| match call.args {
            [] => c.args_value(call.span, cx),
            _ => c.arity_error(call, "no arguments"),
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "getopt",
        signature: "bool getopt(string name) | T getopt(string name, T default [, string description])",
        kind: Kind::Value,
        doc: "The value of the named parameter `--name` given after `--` on the command line, or \
              the default; its type is the default's (bool without one). `-- --help` lists the \
              script's options with their descriptions.",
        check: |c, call, _| c.getopt(call.name, call.args, call.span),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "cpid",
        signature: "uint32 cpid",
        kind: Kind::Builtin,
        doc: "The pid of the command `-c` started (a constant); an error without `-c`.",
        check: |c, call, _| {
            if let Some(error) = super::arguments_given(c, call) {
                return error;
            }
            match c.child_pid() {
                Some(pid) => Expr::new(ExprKind::Int(u64::from(pid)), Ty::Int(IntTy::U32), call.span),
                None => c.error_expr(
                    Diagnostic::error("E0525", "`cpid` is the pid of the command `-c` starts, and there is none")
                        .with_primary(call.span, "no `-c`")
                        .with_help("run the script with `-c 'COMMAND'`, or test `has_cpid` first"),
                    call.span,
                ),
            }
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "has_cpid",
        signature: "bool has_cpid",
        kind: Kind::Builtin,
        doc: "Whether `-c` started a command, a constant.",
        check: |c, call, _| {
            if let Some(error) = super::arguments_given(c, call) {
                return error;
            }
            Expr::new(ExprKind::Bool(c.child_pid().is_some()), Ty::Bool, call.span)
        },
        lower: Lowering::Elsewhere,
    },
];

/// `nsecs(monotonic)` and friends: the clock, as an integer argument of the call.
pub(super) const CLOCK_BOOT: u64 = 0;
pub(super) const CLOCK_MONOTONIC: u64 = 1;
pub(super) const CLOCK_TAI: u64 = 2;
pub(super) const CLOCK_SW_TAI: u64 = 3;

fn check_nsecs(c: &mut Checker, call: &Call<'_>, _: &mut crate::sema::ProbeCx<'_>) -> Expr {
    let clock = match call.args {
        [] => return builtin(c, call, Builtin::Nsecs, Ty::U64),
        [arg] => match &arg.kind {
            crate::syntax::ast::ExprKind::Ident(name) => match name.as_str() {
                "boot" => Some(CLOCK_BOOT),
                "monotonic" => Some(CLOCK_MONOTONIC),
                "tai" => Some(CLOCK_TAI),
                "sw_tai" => Some(CLOCK_SW_TAI),
                _ => None,
            },
            _ => None,
        },
        _ => return c.arity_error(call, "at most a clock"),
    };
    let Some(clock) = clock else {
        let arg = &call.args[0];
        return c.error_expr(
            Diagnostic::error("E0514", "`nsecs` takes a clock: `boot`, `monotonic`, `tai` or `sw_tai`")
                .with_primary(arg.span, "not a clock ferrotrace reads"),
            call.span,
        );
    };
    let arg = Expr::new(ExprKind::Int(clock), Ty::U64, call.args[0].span);
    super::call_expr("nsecs", vec![arg], Ty::U64, call.span)
}

/// A builtin computed by its registry entry's lowering: no arguments, `uint64`/`uint32`.
fn intrinsic(c: &mut Checker, call: &Call<'_>, name: &'static str) -> Expr {
    if let Some(error) = super::arguments_given(c, call) {
        return error;
    }
    let ty = match name {
        "numaid" => Ty::Int(IntTy::U32),
        _ => Ty::U64,
    };
    super::call_expr(name, Vec::new(), ty, call.span)
}

/// `pid` or `tid`, optionally naming the PID namespace to see it from: `curr_ns`, ferrotrace's
/// own (the default, as in bpftrace), or `init`.
fn namespaced_id(c: &mut Checker, call: &Call<'_>, current: Builtin, init: Builtin) -> Expr {
    let namespace = match call.args {
        [] => current,
        [arg] => match &arg.kind {
            crate::syntax::ast::ExprKind::Ident(name) if name == "curr_ns" => current,
            crate::syntax::ast::ExprKind::Ident(name) if name == "init" => init,
            _ => {
                return c.error_expr(
                    Diagnostic::error("E0522", format!("`{}` takes a PID namespace: `curr_ns` or `init`", call.name.name))
                        .with_primary(arg.span, "not a namespace"),
                    call.span,
                )
            }
        },
        _ => return c.arity_error(call, "at most a namespace"),
    };
    if namespace == current {
        c.note_namespaced_id_read();
    }
    Expr::new(ExprKind::Builtin(namespace), Ty::Int(IntTy::U32), call.span)
}

/// A context builtin: no arguments, one intrinsic.
fn builtin(c: &mut Checker, call: &Call<'_>, builtin: Builtin, ty: Ty) -> Expr {
    if let Some(error) = super::arguments_given(c, call) {
        return error;
    }
    if builtin == Builtin::Comm {
        c.note_comm_read();
    }
    Expr::new(ExprKind::Builtin(builtin), ty, call.span)
}

/// The clock of the timestamp `e` is, when `e` is `nsecs`, `nsecs(clock)`, or a variable or
/// map that holds only timestamps of one clock.
pub(crate) fn clock_of(e: &Expr, locals: &crate::sema::Locals, maps: &mut crate::sema::MapTable) -> Option<u64> {
    match &e.kind {
        ExprKind::Builtin(Builtin::Nsecs) => Some(CLOCK_BOOT),
        ExprKind::Call { func: "nsecs", args, .. } => match args.first().map(|a| &a.kind) {
            Some(ExprKind::Int(clock)) => Some(*clock),
            _ => Some(CLOCK_BOOT),
        },
        ExprKind::Local(id) => locals.clock(*id),
        ExprKind::MapRead { map, .. } => maps.clock(*map),
        _ => None,
    }
}
