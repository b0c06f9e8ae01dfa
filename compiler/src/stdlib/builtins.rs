//! Builtins: values of the probe's context, used bare (`pid`) or called (`pid()`).

use super::{Call, Function, Kind};
use crate::sema::hir::{Builtin, Expr, ExprKind};
use crate::sema::{Checker, COMM_SIZE};
use crate::types::{IntTy, Ty};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "pid",
        signature: "uint32 pid",
        kind: Kind::Builtin,
        doc: "Process id (thread group id) of the current thread.",
        check: |c, call, _| builtin(c, call, Builtin::Pid, Ty::Int(IntTy::U32)),
        lower: None,
    },
    Function {
        name: "tid",
        signature: "uint32 tid",
        kind: Kind::Builtin,
        doc: "Thread id of the current thread.",
        check: |c, call, _| builtin(c, call, Builtin::Tid, Ty::Int(IntTy::U32)),
        lower: None,
    },
    Function {
        name: "uid",
        signature: "uint64 uid",
        kind: Kind::Builtin,
        doc: "User id of the current thread.",
        check: |c, call, _| builtin(c, call, Builtin::Uid, Ty::U64),
        lower: None,
    },
    Function {
        name: "gid",
        signature: "uint64 gid",
        kind: Kind::Builtin,
        doc: "Group id of the current thread.",
        check: |c, call, _| builtin(c, call, Builtin::Gid, Ty::U64),
        lower: None,
    },
    Function {
        name: "comm",
        signature: "string comm",
        kind: Kind::Builtin,
        doc: "Name of the current thread (16 bytes at most).",
        check: |c, call, _| builtin(c, call, Builtin::Comm, Ty::Str(COMM_SIZE)),
        lower: None,
    },
    Function {
        name: "nsecs",
        signature: "uint64 nsecs",
        kind: Kind::Builtin,
        doc: "Nanoseconds since boot, including suspend (CLOCK_BOOTTIME).",
        check: |c, call, _| builtin(c, call, Builtin::Nsecs, Ty::U64),
        lower: None,
    },
    Function {
        name: "elapsed",
        signature: "uint64 elapsed",
        kind: Kind::Builtin,
        doc: "Nanoseconds since ferrotrace started.",
        check: |c, call, _| builtin(c, call, Builtin::Elapsed, Ty::U64),
        lower: None,
    },
    Function {
        name: "cpu",
        signature: "uint32 cpu",
        kind: Kind::Builtin,
        doc: "The CPU running the probe.",
        check: |c, call, _| builtin(c, call, Builtin::Cpu, Ty::Int(IntTy::U32)),
        lower: None,
    },
    Function {
        name: "rand",
        signature: "uint32 rand",
        kind: Kind::Builtin,
        doc: "A pseudo-random number.",
        check: |c, call, _| builtin(c, call, Builtin::Rand, Ty::Int(IntTy::U32)),
        lower: None,
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
        lower: None,
    },
    Function {
        name: "args",
        signature: "struct args",
        kind: Kind::Builtin,
        doc: "The arguments of a tracepoint: `args.field` or `args->field`.",
        check: |c, call, _| c.args_without_field(call.span),
        lower: None,
    },
    Function {
        name: "getopt",
        signature: "bool getopt(string name) | T getopt(string name, T default [, string description])",
        kind: Kind::Value,
        doc: "The value of the named parameter `--name` given after `--` on the command line, or \
              the default; its type is the default's (bool without one). `-- --help` lists the \
              script's options with their descriptions.",
        check: |c, call, _| c.getopt(call.name, call.args, call.span),
        lower: None,
    },
];

/// A context builtin: no arguments, one intrinsic.
fn builtin(c: &mut Checker, call: &Call<'_>, builtin: Builtin, ty: Ty) -> Expr {
    if !call.args.is_empty() {
        return c.arity_error(call, "no arguments");
    }
    if builtin == Builtin::Comm {
        c.note_comm_read();
    }
    Expr::new(ExprKind::Builtin(builtin), ty, call.span)
}
