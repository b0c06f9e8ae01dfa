//! Output and control: functions that send a record to userspace, which prints or acts on it.

use super::{Function, Kind, Lowering};
use crate::manifest::Stream;
use crate::sema::hir::{Expr, ExprKind};
use crate::types::Ty;

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "printf",
        signature: "void printf(const string fmt, args...)",
        kind: Kind::Async,
        doc: "Formats and prints its arguments; the formatting happens in userspace.",
        check: |c, call, cx| c.printf(call.name, call.args, call.span, cx, Stream::Stdout),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "errorf",
        signature: "void errorf(const string fmt, args...)",
        kind: Kind::Async,
        doc: "Prints a runtime error on standard error, `SCRIPT:LINE:COL-COL: ERROR: text`, and goes \
              on; a `test:` probe that calls it fails.",
        check: |c, call, cx| c.printf(call.name, call.args, call.span, cx, Stream::Error(call.span)),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "assert",
        signature: "void assert(bool cond, string msg)",
        kind: Kind::Async,
        doc: "When `cond` is false: `errorf(\"assert failed: %s\", msg)` and `exit(1)`. A macro of the \
              library written in the language (`compiler/src/stdlib/library.bt`).",
        check: |c, call, _| c.arity_error(call, "a condition and a message"),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "warnf",
        signature: "void warnf(const string fmt, args...)",
        kind: Kind::Async,
        doc: "Prints a warning on standard error, `SCRIPT:LINE:COL-COL: WARNING: text`.",
        check: |c, call, cx| c.printf(call.name, call.args, call.span, cx, Stream::Warning(call.span)),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "print",
        signature: "void print(@map [, top [, div]]) | void print(value)",
        kind: Kind::Async,
        doc: "Prints a map, or a value, with the default formatting of its type.",
        check: |c, call, cx| c.print(call.name, call.args, call.span, cx),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "exit",
        signature: "void exit([int code])",
        kind: Kind::Async,
        doc: "Stops tracing: runs the end probes, prints the maps and exits with `code`.",
        check: |c, call, cx| c.exit(call.name, call.args, call.span, cx),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "time",
        signature: "void time([const string fmt])",
        kind: Kind::Async,
        doc: "Prints the wall-clock time when the record is handled, by `strftime(3)` (`fmt` \
              defaults to `\"%H:%M:%S\\n\"`).",
        check: |c, call, _| {
            let format = match call.args {
                [] => "%H:%M:%S\n".as_bytes().to_vec(),
                [crate::syntax::ast::Expr { kind: crate::syntax::ast::ExprKind::Str(format), .. }] => format.clone(),
                [other] => {
                    return c.error_expr(
                        crate::diagnostic::Diagnostic::error("E0502", "the format of `time` must be a string literal")
                            .with_primary(other.span, "not a string literal"),
                        call.span,
                    )
                }
                _ => return c.arity_error(call, "an optional format"),
            };
            let format = Expr::new(ExprKind::Str(format.clone()), Ty::Str(format.len() as u32 + 1), call.span);
            super::call_expr("time", vec![format], Ty::Void, call.span)
        },
        lower: Lowering::Inline(|f, _, args| {
            let ExprKind::Str(format) = &args[0].kind else { unreachable!("time's format is a literal") };
            f.send(crate::manifest::Action::Time { format: String::from_utf8_lossy(format).into_owned() }, &[]);
            crate::lower::Value::Void
        }),
    },
    Function {
        name: "system",
        signature: "void system(const string fmt, args...)",
        kind: Kind::Async,
        doc: "Runs the formatted command with `sh -c` when the record is handled and prints its \
              output; tracing waits for it. Unsafe: needs `--unsafe`.",
        check: |c, call, cx| match c.require_unsafe(call) {
            Some(refused) => refused,
            None => c.printf(call.name, call.args, call.span, cx, Stream::Command),
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "cat",
        signature: "void cat(const string fmt, args...)",
        kind: Kind::Async,
        doc: "Prints the contents of the file the format names (at most `max_cat_bytes`) when the \
              record is handled.",
        check: |c, call, cx| c.printf(call.name, call.args, call.span, cx, Stream::File),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "join",
        signature: "void join(char *argv[] [, const string sep])",
        kind: Kind::Async,
        doc: "Prints the strings of a NULL-terminated array of string pointers (a `char **`, like \
              `args.argv`) on one line, separated by `sep` (a space by default): at most 16 \
              strings of `max_strlen` bytes.",
        check: check_join,
        lower: Lowering::Inline(lower_join),
    },
    Function {
        name: "clear",
        signature: "void clear(@map)",
        kind: Kind::Async,
        doc: "Deletes every entry of a map.",
        check: |c, call, _| c.map_action(call.name, call.args, call.span),
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "zero",
        signature: "void zero(@map)",
        kind: Kind::Async,
        doc: "Sets every value of a map to zero, keeping its keys.",
        check: |c, call, _| c.map_action(call.name, call.args, call.span),
        lower: Lowering::Elsewhere,
    },
];

/// How many strings `join` reads at most, as bpftrace.
const JOIN_STRINGS: u32 = 16;

fn check_join(c: &mut crate::sema::Checker, call: &super::Call<'_>, cx: &mut crate::sema::ProbeCx<'_>) -> Expr {
    let (array, separator) = match call.args {
        [array] => (array, b" ".to_vec()),
        [array, crate::syntax::ast::Expr { kind: crate::syntax::ast::ExprKind::Str(sep), .. }] => (array, sep.clone()),
        [_, other] => {
            return c.error_expr(
                crate::diagnostic::Diagnostic::error("E0502", "the separator of `join` must be a string literal")
                    .with_primary(other.span, "not a string literal"),
                call.span,
            )
        }
        _ => return c.arity_error(call, "an array of strings and an optional separator"),
    };
    let array = c.expr(array, cx);
    match array.ty {
        Ty::Ptr { .. } | Ty::Int(_) => {}
        Ty::Error => return array,
        _ => return c.error_expr(crate::sema::operand_error("`join`", &array, "a pointer to string pointers"), call.span),
    }
    let separator = Expr::new(ExprKind::Str(separator.clone()), Ty::Str(separator.len() as u32 + 1), call.span);
    super::call_expr("join", vec![array, separator], Ty::Void, call.span)
}

/// Reads up to `JOIN_STRINGS` pointers from the array, and the string each points to, into one
/// record in scratch memory: a count, then the strings.
fn lower_join(f: &mut crate::lower::FnLowerer<'_>, _: &Expr, args: &[Expr]) -> crate::lower::Value {
    use crate::lir::{helper, Cond, Operand};
    use crate::lower::builder::Arg;
    let user = matches!(args[0].ty, Ty::Ptr { user: true, .. });
    let (read, read_str) = match user {
        true => (helper::PROBE_READ_USER, helper::PROBE_READ_USER_STR),
        false => (helper::PROBE_READ_KERNEL, helper::PROBE_READ_KERNEL_STR),
    };
    let ExprKind::Str(separator) = &args[1].kind else { unreachable!("the separator is a literal") };
    let size = f.string_size();
    let value = f.value(&args[0]);
    let array = f.register(value);
    let b = f.builder();
    let total = 16 + JOIN_STRINGS * size;
    let record = b.alloc_scratch(total);
    b.zero(record, total);
    let pointer = b.alloc(8);
    let done = b.label();
    for i in 0..JOIN_STRINGS {
        let at = b.copy_reg(array);
        b.alu(crate::lir::AluOp::Add, at, Operand::Imm(8 * i as i32));
        let status = b.call(read, &[Arg::Addr(pointer), Arg::Imm(8), Arg::Reg(at)]);
        b.branch(Cond::Ne, status, Operand::Imm(0), done);
        let string = b.load(pointer, 8);
        b.branch(Cond::Eq, string, Operand::Imm(0), done);
        b.call(read_str, &[Arg::Addr(record.at(16 + i * size)), Arg::Imm(i64::from(size)), Arg::Reg(string)]);
        b.store_imm(record.at(8), 8, i as i32 + 1);
    }
    b.place_label(done);
    let action = crate::manifest::Action::Join { separator: String::from_utf8_lossy(separator).into_owned(), strings: JOIN_STRINGS, size };
    f.output_record(action, record, total);
    crate::lower::Value::Void
}
