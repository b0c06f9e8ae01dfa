//! Network addresses: `ntop` (an IPv4 or IPv6 address printed as text), `pton` (text to the
//! address's bytes, while compiling) and `macaddr` (six bytes printed `AA:BB:CC:DD:EE:FF`).

use std::net::IpAddr;

use super::{call_expr, Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::lir::helper;
use crate::lower::builder::Arg;
use crate::lower::{FnLowerer, Value};
use crate::sema::hir::{Expr, ExprKind};
use crate::sema::{Checker, ProbeCx};
use crate::syntax::ast;
use crate::types::{AddressKind, Ty, BUFFER_HEADER};

pub(super) const ENTRIES: &[Function] = &[
    Function {
        name: "ntop",
        signature: "inet ntop([int64 af,] int | buffer | int8[4|16] addr)",
        kind: Kind::Value,
        doc: "An IP address printed as text (`127.0.0.1`, `::1`): an integer is an IPv4 address as \
              the kernel keeps it (network order in memory), a buffer or an array of 4 or 16 bytes an \
              IPv4 or IPv6 one; `af` (`AF_INET` 2, `AF_INET6` 10, or a family read in the probe) \
              says which.",
        check: check_ntop,
        lower: Lowering::Inline(ntop),
    },
    Function {
        name: "pton",
        signature: "buffer pton(const string address)",
        kind: Kind::Value,
        doc: "The bytes of an IPv4 (`\"127.0.0.1\"`, 4 bytes) or IPv6 (`\"::1\"`, 16 bytes) address \
              literal, in network order: a buffer, made while compiling.",
        check: check_pton,
        lower: Lowering::Inline(pton),
    },
    Function {
        name: "macaddr",
        signature: "macaddr macaddr(buffer | void *mac)",
        kind: Kind::Value,
        doc: "A MAC address, printed `AA:BB:CC:DD:EE:FF`: the first 6 bytes of a buffer, or of kernel \
              or user memory at a pointer.",
        check: check_macaddr,
        lower: Lowering::Inline(macaddr),
    },
];

fn bad(c: &mut Checker, call: &Call<'_>, at: &ast::Expr, message: String) -> Expr {
    c.error_expr(Diagnostic::error("E0473", message).with_primary(at.span, "not an address"), call.span)
}

fn check_ntop(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let (family, address) = match call.args {
        [address] => (None, address),
        [family, address] => (Some(family), address),
        _ => return c.arity_error(call, "an address, after an optional family"),
    };
    // The family: a constant (`AF_INET`, `10`), checked here, or a value the probe computes
    // (`$sk->__sk_common.skc_family`), stored with the address for the printer to read.
    let family = match family {
        None => None,
        Some(written) => {
            let value = c.expr(written, cx);
            match (crate::sema::fold_constant(&value), &value.ty) {
                (_, Ty::Error) => return value,
                (Some(n), _) if n == i128::from(AddressKind::AF_INET) || n == i128::from(AddressKind::AF_INET6) => {
                    Some(Expr::new(ExprKind::Int(n as u64), Ty::U64, value.span))
                }
                (None, Ty::Int(_)) => Some(value),
                _ => return bad(c, call, written, "the family of `ntop` is `AF_INET` (2) or `AF_INET6` (10)".into()),
            }
        }
    };
    let value = c.expr(address, cx);
    let constant = family.as_ref().and_then(|f| match f.kind {
        ExprKind::Int(n) => Some(n as u32),
        _ => None,
    });
    let bytes = match &value.ty {
        Ty::Error => return value,
        Ty::Int(_) => Some(4),
        Ty::Buffer(size @ (4 | 16)) => Some(*size),
        Ty::Array { elem, len } if matches!(**elem, Ty::Int(_)) && matches!(elem.size() * len, 4 | 16) => Some(elem.size() * len),
        _ => None,
    };
    let family = match (bytes, constant, family) {
        (Some(4), None | Some(AddressKind::AF_INET), None) => Expr::new(ExprKind::Int(u64::from(AddressKind::AF_INET)), Ty::U64, call.span),
        (Some(16), None | Some(AddressKind::AF_INET6), None) => Expr::new(ExprKind::Int(u64::from(AddressKind::AF_INET6)), Ty::U64, call.span),
        (Some(4), Some(AddressKind::AF_INET), Some(family)) | (Some(16), Some(AddressKind::AF_INET6), Some(family)) => family,
        // A family known only when the probe runs: a 16-byte address holds either kind.
        (Some(_), None, Some(family)) => family,
        (_, _, _) => {
            let ty = &value.ty;
            let message = format!("`ntop` prints an integer (IPv4) or 4 or 16 bytes (a buffer or an array) of the family given, not {} `{ty}`", ty.article());
            return bad(c, call, address, message);
        }
    };
    call_expr("ntop", vec![family, value], Ty::Address(AddressKind::Inet), call.span)
}

/// The family word, then the address's bytes.
fn ntop(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    let out = f.builder().alloc(AddressKind::Inet.size());
    f.builder().zero(out, AddressKind::Inet.size());
    match args[0].kind {
        ExprKind::Int(family) => f.builder().store_imm(out, 4, family as i32),
        _ => {
            let family = f.value(&args[0]);
            let family = f.register(family);
            f.builder().store(out, 4, family);
        }
    }
    let address = &args[1];
    let value = f.value(address);
    match &address.ty {
        Ty::Buffer(size) => {
            let place = f.in_memory(value, &address.ty, &address.ty);
            f.builder().copy(out.at(4), place.at(BUFFER_HEADER), *size);
        }
        Ty::Array { .. } => {
            let place = f.in_memory(value, &address.ty, &address.ty);
            f.builder().copy(out.at(4), place, address.ty.size());
        }
        _ => {
            let reg = f.register(value);
            f.builder().store(out.at(4), 4, reg);
        }
    }
    Value::Mem(out)
}

fn check_pton(c: &mut Checker, call: &Call<'_>, _: &mut ProbeCx<'_>) -> Expr {
    let [text] = call.args else { return c.arity_error(call, "an address literal") };
    let ast::ExprKind::Str(bytes) = &text.kind else {
        return bad(c, call, text, "`pton` takes an address as a string literal".into());
    };
    let written = String::from_utf8_lossy(bytes);
    let octets = match written.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.octets().to_vec(),
        Ok(IpAddr::V6(v6)) => v6.octets().to_vec(),
        Err(_) => return bad(c, call, text, format!("`{written}` is not an IPv4 or IPv6 address")),
    };
    let size = octets.len() as u32;
    let octets = Expr::new(ExprKind::Str(octets), Ty::Str(size + 1), text.span);
    call_expr("pton", vec![octets], Ty::Buffer(size), call.span)
}

/// The count, then the bytes, stored as constants.
fn pton(f: &mut FnLowerer<'_>, call: &Expr, args: &[Expr]) -> Value {
    let ExprKind::Str(octets) = &args[0].kind else { unreachable!("pton's bytes are a constant") };
    let b = f.builder();
    let out = b.alloc(call.ty.size());
    b.store_imm(out, BUFFER_HEADER, octets.len() as i32);
    for (i, octet) in octets.iter().enumerate() {
        b.store_imm(out.at(BUFFER_HEADER + i as u32), 1, i32::from(*octet));
    }
    Value::Mem(out)
}

fn check_macaddr(c: &mut Checker, call: &Call<'_>, cx: &mut ProbeCx<'_>) -> Expr {
    let [address] = call.args else { return c.arity_error(call, "a buffer or a pointer") };
    if let ast::ExprKind::Str(_) = address.kind {
        return bad(c, call, address, "`macaddr` reads bytes from a buffer or a pointer, not a string literal".into());
    }
    let value = c.expr(address, cx);
    match value.ty {
        Ty::Error => value,
        Ty::Buffer(size) if size >= 6 => call_expr("macaddr", vec![value], Ty::Address(AddressKind::Mac), call.span),
        Ty::Ptr { .. } | Ty::Int(_) => call_expr("macaddr", vec![value], Ty::Address(AddressKind::Mac), call.span),
        ref ty => {
            let message = format!("`macaddr` reads 6 bytes from a buffer of at least 6 or a pointer, not {} `{ty}`", ty.article());
            bad(c, call, address, message)
        }
    }
}

/// Six bytes from the buffer, or read from memory at the pointer.
fn macaddr(f: &mut FnLowerer<'_>, _: &Expr, args: &[Expr]) -> Value {
    let address = &args[0];
    let value = f.value(address);
    let size = AddressKind::Mac.size();
    let out = f.builder().alloc(size);
    f.builder().zero(out, size);
    match address.ty {
        Ty::Buffer(_) => {
            let place = f.in_memory(value, &address.ty, &address.ty);
            f.builder().copy(out, place.at(BUFFER_HEADER), size);
        }
        _ => {
            let source = f.register(value);
            let read = if matches!(address.ty, Ty::Ptr { user: true, .. }) { helper::PROBE_READ_USER } else { helper::PROBE_READ_KERNEL };
            f.checked_call(read, &[Arg::Addr(out), Arg::Imm(i64::from(size)), Arg::Reg(source)]);
        }
    }
    Value::Mem(out)
}
