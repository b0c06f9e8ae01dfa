//! Strings and buffers.

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::{helper, AluOp, Cond, Insn, Mem, Operand, Size};
use crate::lower::builder::{chunks, Arg, Base, Place};
use crate::lower::{FnLowerer, Value};
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::types::{IntTy, Ty, BUFFER_HEADER};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "str",
        signature: "string str(char *data [, uint32 length])",
        kind: Kind::Value,
        doc: "Reads a NUL-terminated string from kernel or user memory. `str($1)` is the text of a \
              positional parameter as given.",
        check: |c, call, cx| c.str_call(call.name, call.args, call.span, cx),
        lower: Lowering::Elsewhere,
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
        lower: Lowering::Inline(strlen),
    },
    Function {
        name: "strncmp",
        signature: "uint64 strncmp(string s1, string s2, uint64 n)",
        kind: Kind::Value,
        doc: "0 when the first `n` bytes of `s1` and `s2` (up to a NUL) are the same, 1 otherwise; \
              `n` is an integer literal.",
        check: check_strncmp,
        lower: Lowering::Inline(strncmp),
    },
    Function {
        name: "memcmp",
        signature: "int32 memcmp(string left, string right, uint64 count)",
        kind: Kind::Value,
        doc: "Compares the first `count` bytes (an integer literal) as signed chars: 0 when they are \
              the same, else the difference of the first two that differ.",
        check: check_memcmp,
        lower: Lowering::Inline(memcmp),
    },
    Function {
        name: "strcontains",
        signature: "bool strcontains(string haystack, string needle)",
        kind: Kind::Value,
        doc: "Whether `needle` occurs in `haystack`. A `bpf_loop` over the haystack's positions \
              (Linux 5.17); a literal needle is compared as constants.",
        check: |c, call, cx| {
            let Some(args) = strings(c, call, cx, 2) else { return c.error_expr_silent(call.span) };
            call_expr("strcontains", args, Ty::Bool, call.span)
        },
        lower: Lowering::WithLoop(|f, _, args| search(f, args, false)),
    },
    Function {
        name: "strstr",
        signature: "int64 strstr(string haystack, string needle)",
        kind: Kind::Value,
        doc: "Where `needle` first occurs in `haystack`, as a byte index, or -1.",
        check: |c, call, cx| {
            let Some(args) = strings(c, call, cx, 2) else { return c.error_expr_silent(call.span) };
            call_expr("strstr", args, Ty::I64, call.span)
        },
        lower: Lowering::WithLoop(|f, _, args| search(f, args, true)),
    },
    Function {
        name: "strcap",
        signature: "int64 strcap(string s)",
        kind: Kind::Value,
        doc: "The capacity of `s`: the bytes its buffer holds, the NUL included (a constant).",
        check: |c, call, cx| {
            let Some(s) = strings(c, call, cx, 1) else { return c.error_expr_silent(call.span) };
            Expr::new(ExprKind::Int(u64::from(s[0].ty.size())), Ty::I64, call.span)
        },
        lower: Lowering::Elsewhere,
    },
    Function {
        name: "str_concat",
        signature: "string str_concat(string s1, string s2)",
        kind: Kind::Value,
        doc: "`s1` followed by `s2`, in a string as big as both.",
        check: |c, call, cx| {
            let Some(args) = strings(c, call, cx, 2) else { return c.error_expr_silent(call.span) };
            let size = args[0].ty.size() + args[1].ty.size() - 1;
            call_expr("str_concat", args, Ty::Str(size), call.span)
        },
        lower: Lowering::Inline(concat),
    },
    Function {
        name: "buf",
        signature: "buffer buf(string | void *data, int64 length)",
        kind: Kind::Value,
        doc: "`length` bytes of `data` (a string, or kernel or user memory at a pointer or address), \
              at most `max_strlen`. Printed by `%r` (printable bytes as they are, others as `\\xNN`), \
              `%rx` (every byte `\\xNN`) or `%rh` (hex digits separated by spaces).",
        check: check_buf,
        lower: Lowering::Inline(buffer),
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
        lower: Lowering::Inline(bswap),
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
    two_strings_and_a_literal(c, call, cx, "strncmp", ("E0515", "length"), Ty::U64)
}

fn check_memcmp(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    two_strings_and_a_literal(c, call, cx, "memcmp", ("E0467", "count"), Ty::Int(IntTy::I32))
}

/// `func(s1, s2, n)` with `n` an integer literal (`strncmp`, `memcmp`); `literal` is the code
/// and the name of `n` for the error when it is not one.
fn two_strings_and_a_literal(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>, func: &'static str, literal: (&'static str, &str), ty: Ty) -> Expr {
    let (code, what) = literal;
    let [_, _, n] = call.args else { return c.arity_error(call, &format!("two strings and a {what}")) };
    let crate::syntax::ast::ExprKind::Int(count) = n.kind else {
        return c.error_expr(
            Diagnostic::error(code, format!("the {what} of `{func}` must be an integer literal")).with_primary(n.span, "not a literal"),
            call.span,
        );
    };
    let inner = Call { name: call.name, args: &call.args[..2], span: call.span };
    let Some(mut args) = strings(c, &inner, cx, 2) else { return c.error_expr_silent(call.span) };
    args.push(Expr::new(ExprKind::Int(count), Ty::U64, n.span));
    call_expr(func, args, ty, call.span)
}

/// Both arguments of a comparison, in memory as they are.
fn both_in_memory(f: &mut FnLowerer<'_>, args: &[Expr]) -> [Place; 2] {
    [&args[0], &args[1]].map(|s| {
        let value = f.value(s);
        f.in_memory(value, &s.ty, &s.ty)
    })
}

/// Word by word; at the first word that differs, its bytes one by one from the lowest address
/// (the lowest bits: BPF is little-endian here) until two differ.
fn memcmp(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    let ExprKind::Int(n) = args[2].kind else { unreachable!("the count is a literal") };
    let length = u32::try_from(n).unwrap_or(u32::MAX).min(args[0].ty.size()).min(args[1].ty.size());
    let places = both_in_memory(f, args);
    let b = f.builder();
    let out = b.constant(0);
    let (left, right) = (b.constant(0), b.constant(0));
    let differ = b.label();
    let done = b.label();
    for (offset, size) in chunks(places[0].offset.min(places[1].offset), length, crate::lower::builder::alignment_limit(places[0].offset, places[1].offset)) {
        let l = b.load(places[0].at(offset), size);
        let r = b.load(places[1].at(offset), size);
        let next = b.label();
        b.branch(Cond::Eq, l, Operand::Reg(r), next);
        b.mov(left, l);
        b.mov(right, r);
        b.jump(differ);
        b.place_label(next);
    }
    b.jump(done);
    b.place_label(differ);
    for _ in 0..8 {
        let (l, r) = (b.copy_reg(left), b.copy_reg(right));
        for byte in [l, r] {
            b.alu(AluOp::Lsh, byte, Operand::Imm(56));
            b.alu(AluOp::Arsh, byte, Operand::Imm(56));
        }
        let same = b.label();
        b.branch(Cond::Eq, l, Operand::Reg(r), same);
        b.mov(out, l);
        b.alu(AluOp::Sub, out, Operand::Reg(r));
        b.jump(done);
        b.place_label(same);
        b.alu(AluOp::Rsh, left, Operand::Imm(8));
        b.alu(AluOp::Rsh, right, Operand::Imm(8));
    }
    b.place_label(done);
    Value::Reg(out)
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

fn check_buf(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let [data, length] = call.args else {
        if let [data] = call.args {
            return c.error_expr(
                Diagnostic::error("E0464", "`buf` needs the number of bytes to read")
                    .with_primary(data.span, "read how many bytes?")
                    .with_help("give a length: `buf(data, 16)`"),
                call.span,
            );
        }
        return c.arity_error(call, "data and a length");
    };
    let data = c.expr(data, cx);
    let length = c.expr(length, cx);
    if data.ty.is_error() || length.ty.is_error() {
        return c.error_expr_silent(call.span);
    }
    let limit = match data.ty {
        Ty::Str(size) => size,
        Ty::Ptr { .. } | Ty::Int(_) => c.max_strlen(),
        _ => return c.error_expr(crate::sema::operand_error("`buf`", &data, "a string, a pointer or an address"), call.span),
    }
    .min(c.max_strlen());
    let capacity = match (crate::sema::fold_constant(&length), &length.ty) {
        (Some(n), _) if n < 0 => {
            return c.error_expr(
                Diagnostic::error("E0464", format!("`buf` cannot read {n} bytes")).with_primary(length.span, "a negative length"),
                call.span,
            )
        }
        (Some(n), _) => u32::try_from(n).unwrap_or(u32::MAX).min(limit),
        (None, Ty::Int(_)) => limit,
        (None, _) => return c.error_expr(crate::sema::operand_error("the length of `buf`", &length, "an integer"), call.span),
    };
    call_expr("buf", vec![data, length], Ty::Buffer(capacity), call.span)
}

/// `length` bytes (clamped to the buffer) read by `bpf_probe_read_*` after the count.
fn buffer(f: &mut FnLowerer<'_>, call: &Expr, args: &[Expr]) -> Value {
    let Ty::Buffer(capacity) = call.ty else { unreachable!("buf is typed a buffer") };
    let (data, length) = (&args[0], &args[1]);
    let value = f.value(data);
    let (source, read) = match data.ty {
        Ty::Str(_) => {
            let place = f.in_memory(value, &data.ty, &data.ty);
            (f.builder().addr(place), helper::PROBE_READ_KERNEL)
        }
        Ty::Ptr { user: true, .. } => (f.register(value), helper::PROBE_READ_USER),
        _ => (f.register(value), helper::PROBE_READ_KERNEL),
    };
    let value = f.value(length);
    let length = f.register(value);
    let b = f.builder();
    let n = b.copy_reg(length);
    let not_negative = b.label();
    b.branch(Cond::SGe, n, Operand::Imm(0), not_negative);
    b.set_constant(n, 0);
    b.place_label(not_negative);
    let fits = b.label();
    b.branch(Cond::Le, n, Operand::Imm(capacity as i32), fits);
    b.set_constant(n, i64::from(capacity));
    b.place_label(fits);
    let out = b.alloc(call.ty.size());
    b.zero(out, call.ty.size());
    b.store(out, BUFFER_HEADER, n);
    let bytes = out.at(BUFFER_HEADER);
    f.checked_call(read, &[Arg::Addr(bytes), Arg::Reg(n), Arg::Reg(source)]);
    Value::Mem(out)
}

/// The first string copied into a zeroed buffer by `bpf_probe_read_kernel_str`, whose result
/// (its length with the NUL) says where the second one is copied to.
fn concat(f: &mut FnLowerer<'_>, call: &Expr, args: &[Expr]) -> Value {
    let (first, second) = (&args[0], &args[1]);
    let (first_size, second_size) = (first.ty.size(), second.ty.size());
    let value = f.value(first);
    let first_place = f.in_memory(value, &first.ty, &first.ty);
    let value = f.value(second);
    let second_place = f.in_memory(value, &second.ty, &second.ty);
    let b = f.builder();
    let out = b.alloc(call.ty.size());
    b.zero(out, call.ty.size());
    let src = b.addr(first_place);
    let copied = b.call(helper::PROBE_READ_KERNEL_STR, &[Arg::Addr(out), Arg::Imm(i64::from(first_size)), Arg::Reg(src)]);
    let done = b.label();
    // The length with its NUL, from 1 to the buffer's size: the bounds the verifier needs too.
    b.branch(Cond::SLe, copied, Operand::Imm(0), done);
    b.branch(Cond::SGt, copied, Operand::Imm(first_size as i32), done);
    let length = b.copy_reg(copied);
    b.alu(AluOp::Sub, length, Operand::Imm(1));
    let end = b.addr(out);
    b.alu(AluOp::Add, end, Operand::Reg(length));
    let src = b.addr(second_place);
    b.call(helper::PROBE_READ_KERNEL_STR, &[Arg::Reg(end), Arg::Imm(i64::from(second_size)), Arg::Reg(src)]);
    b.place_label(done);
    Value::Mem(out)
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

/// `strstr`, and `strcontains` (`found` as a bool): the haystack copied to scratch memory padded
/// with zeros to a power of two (so a masked position keeps every read in bounds), then a
/// `bpf_loop` over its positions compares the needle at each and stops at the first match or
/// at the haystack's end.
fn search(f: &mut FnLowerer<'_>, args: &[Expr], index: bool) -> Value {
    let (haystack, needle) = (&args[0], &args[1]);
    let size = haystack.ty.size();
    let span = size.next_power_of_two();
    let literal = match &needle.kind {
        ExprKind::Str(bytes) => Some(bytes.clone()),
        _ => None,
    };
    let needle_size = needle.ty.size();
    let value = f.value(haystack);
    let haystack_place = f.in_memory(value, &haystack.ty, &haystack.ty);
    let needle_place = match literal {
        Some(_) => None,
        None => {
            let value = f.value(needle);
            Some(f.in_memory(value, &needle.ty, &needle.ty))
        }
    };
    let b = f.builder();
    let padded = span + needle_size.div_ceil(8) * 8;
    let area = b.alloc_scratch(padded + needle_size.div_ceil(8) * 8 + 8);
    let needle_at = area.at(padded);
    let result_at = needle_at.at(needle_size.div_ceil(8) * 8);
    b.zero(area, padded);
    b.copy(area, haystack_place, size);
    if let Some(place) = needle_place {
        b.copy(needle_at, place, needle_size);
    }
    b.store_imm(result_at, 8, -1);
    let count = b.constant(i64::from(size));
    f.run_loop(count, |body, i, stop| {
        let b = body.builder();
        let base = b.scratch_base();
        let position = b.copy_reg(i);
        b.alu(AluOp::And, position, Operand::Imm(span as i32 - 1));
        let at = b.copy_reg(base);
        b.alu(AluOp::Add, at, Operand::Imm(area.offset));
        b.alu(AluOp::Add, at, Operand::Reg(position));
        let found = b.label();
        let next = b.label();
        let bytes = needle_size - 1;
        for j in 0..bytes {
            let want = match &literal {
                Some(text) => match text.get(j as usize) {
                    Some(&byte) => Operand::Imm(i32::from(byte)),
                    None => break,
                },
                None => {
                    let byte = b.load(Place { base: Base::Ptr(base), offset: needle_at.offset + j as i32 }, 1);
                    b.branch(Cond::Eq, byte, Operand::Imm(0), found);
                    Operand::Reg(byte)
                }
            };
            let have = b.vreg();
            b.emit(Insn::Load { size: Size::B, dst: have, mem: Mem::Reg(at, j as i16) });
            if j == 0 {
                // The haystack ends here: no later position can match a non-empty needle.
                b.branch(Cond::Eq, have, Operand::Imm(0), stop);
            }
            b.branch(Cond::Ne, have, want, next);
        }
        b.place_label(found);
        b.store(Place { base: Base::Ptr(base), offset: result_at.offset }, 8, position);
        b.jump(stop);
        b.place_label(next);
        true
    });
    let b = f.builder();
    let result = b.load(result_at, 8);
    if index {
        return Value::Reg(result);
    }
    Value::Reg(b.flag(Cond::SGe, result, Operand::Imm(0)))
}
