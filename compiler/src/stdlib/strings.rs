//! Strings and buffers.

use super::{call_expr, Call, Function, Kind};
use crate::diagnostic::Diagnostic;
use crate::lir::{helper, AluOp, Cond, Operand};
use crate::lower::builder::{chunks, Arg};
use crate::lower::{FnLowerer, Value};
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::types::{IntTy, Ty};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "str",
        signature: "string str(char *data [, uint32 length])",
        kind: Kind::Value,
        doc: "Reads a NUL-terminated string from kernel or user memory. `str($1)` is the text of a \
              positional parameter as given.",
        check: |c, call, cx| c.str_call(call.name, call.args, call.span, cx),
        lower: None,
    },
    Function {
        name: "strlen",
        signature: "uint64 strlen(string s)",
        kind: Kind::Value,
        doc: "The length of `s`: its bytes before the first NUL.",
        check: |c, call, cx| {
            let Some(s) = strings(c, call, cx, 1) else { return c.error_expr_silent(call.span) };
            call_expr("strlen", s, Ty::U64, call.span)
        },
        lower: Some(strlen),
    },
    Function {
        name: "strncmp",
        signature: "uint64 strncmp(string s1, string s2, uint64 n)",
        kind: Kind::Value,
        doc: "0 when the first `n` bytes of `s1` and `s2` (up to a NUL) are the same, 1 otherwise; \
              `n` is an integer literal.",
        check: check_strncmp,
        lower: Some(strncmp),
    },
    Function {
        name: "bswap",
        signature: "uintN bswap(intN n)",
        kind: Kind::Value,
        doc: "`n` with its bytes in the reverse order, as an unsigned integer of the same width \
              (8-bit values are unchanged).",
        check: |c, call, cx| {
            let [arg] = call.args else { return c.arity_error(call, "one integer") };
            let value = c.expr(arg, cx);
            match value.ty {
                Ty::Int(int) => call_expr("bswap", vec![value], Ty::Int(IntTy { bits: int.bits, signed: false }), call.span),
                Ty::Error => value,
                _ => c.error_expr(crate::sema::operand_error("`bswap`", &value, "an integer"), call.span),
            }
        },
        lower: Some(bswap),
    },
];

/// Checks that `call` has `count` string arguments; `None` after reporting what is wrong.
fn strings(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>, count: usize) -> Option<Vec<Expr>> {
    if call.args.len() != count {
        let expected = if count == 1 { "one string".to_string() } else { format!("{count} strings") };
        c.arity_error(call, &expected);
        return None;
    }
    let args: Vec<Expr> = call.args.iter().map(|a| c.expr(a, cx)).collect();
    let mut ok = true;
    for arg in &args {
        match arg.ty {
            Ty::Str(_) => {}
            Ty::Error => ok = false,
            _ => {
                c.report(crate::sema::operand_error(&format!("`{}`", call.name.name), arg, "a string"));
                ok = false;
            }
        }
    }
    ok.then_some(args)
}

fn check_strncmp(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let [_, _, n] = call.args else { return c.arity_error(call, "two strings and a length") };
    let crate::syntax::ast::ExprKind::Int(length) = n.kind else {
        return c.error_expr(
            Diagnostic::error("E0515", "the length of `strncmp` must be an integer literal").with_primary(n.span, "not a literal"),
            call.span,
        );
    };
    let inner = Call { name: call.name, args: &call.args[..2], span: call.span };
    let Some(mut args) = strings(c, &inner, cx, 2) else { return c.error_expr_silent(call.span) };
    args.push(Expr::new(ExprKind::Int(length), Ty::U64, n.span));
    call_expr("strncmp", args, Ty::U64, call.span)
}

/// `bpf_probe_read_kernel_str` copies the string and returns its length with the NUL.
fn strlen(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    let s = &args[0];
    let size = s.ty.size();
    let value = f.value(s);
    let src = f.in_memory(value, &s.ty, &s.ty);
    let b = f.builder();
    let copy = b.alloc(size);
    let src = b.addr(src);
    let copied = b.call(helper::PROBE_READ_KERNEL_STR, &[Arg::Addr(copy), Arg::Imm(i64::from(size)), Arg::Reg(src)]);
    let out = b.constant(0);
    let done = b.label();
    b.branch(Cond::SLe, copied, Operand::Imm(0), done);
    b.mov(out, copied);
    b.alu(AluOp::Sub, out, Operand::Imm(1));
    b.place_label(done);
    Value::Reg(out)
}

/// Both strings zero-extended to the compared length, then compared word by word (bytes after
/// a NUL are zero in both, so whole words compare as C's `strncmp` would).
fn strncmp(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    let ExprKind::Int(n) = args[2].kind else { unreachable!("the length is a literal") };
    let length = u32::try_from(n).unwrap_or(u32::MAX).min(args[0].ty.size().max(args[1].ty.size()));
    let compared = Ty::Str(length.max(1));
    let places: Vec<_> = args[..2]
        .iter()
        .map(|s| {
            let value = f.value(s);
            f.in_memory(value, &s.ty, &compared)
        })
        .collect();
    let b = f.builder();
    let out = b.constant(1);
    let differ = b.label();
    for (offset, size) in chunks(0, length, 8) {
        let left = b.load(places[0].at(offset), size);
        let right = b.load(places[1].at(offset), size);
        b.branch(Cond::Ne, left, Operand::Reg(right), differ);
    }
    b.set_constant(out, 0);
    b.place_label(differ);
    Value::Reg(out)
}

/// The bytes of the value, reversed: each byte shifted to its mirrored place.
fn bswap(f: &mut FnLowerer<'_>, call: &Expr, args: &[Expr]) -> Value {
    let value = f.value(&args[0]);
    let n = f.register(value);
    let bytes = call.ty.size();
    let b = f.builder();
    let out = b.constant(0);
    for i in 0..bytes {
        let byte = b.copy_reg(n);
        if i > 0 {
            b.alu(AluOp::Rsh, byte, Operand::Imm(8 * i as i32));
        }
        b.alu(AluOp::And, byte, Operand::Imm(0xff));
        let to = 8 * (bytes - 1 - i) as i32;
        if to > 0 {
            b.alu(AluOp::Lsh, byte, Operand::Imm(to));
        }
        b.alu(AluOp::Or, out, Operand::Reg(byte));
    }
    Value::Reg(out)
}
