//! Kernel memory through pointers: `*p`, `p->field`, `s.field` on a struct in memory, `p[i]`
//! and `a[i]` on C arrays, and pointer arithmetic scaled by what a pointer points at. Each
//! read is a `Deref` of the value's bytes; a struct is a place whose fields are read, never
//! a value read whole.

use super::hir::{Expr, ExprKind};
use super::kernel_types::{self, MemberError};
use super::{Checker, ProbeCx};
use crate::catalog::{FieldKind, TracepointField};
use crate::co_re::FieldAccess;
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::kernel_facts::KernelFact;
use crate::span::Span;
use crate::syntax::ast::{BinOp, Ident};
use crate::types::{IntTy, StructRef, Ty};

impl Checker {
    /// `*e`: the value `e` points at.
    pub(super) fn deref(&mut self, e: Expr, span: Span, cx: &ProbeCx<'_>) -> Expr {
        let Some((pointee, user)) = self.pointee(&e, cx) else {
            let diag = Diagnostic::error("E0476", format!("`*` needs a pointer to a known type, but this is `{}`", e.ty))
                .with_primary(e.span, format!("this is `{}`", e.ty))
                .with_help("cast it to the pointer it is: `*(uint32 *)addr`");
            return self.error_expr(diag, span);
        };
        let field = self.chain_start(&pointee, cx);
        self.place(e, 0, user, pointee, field, span)
    }

    /// `base.field` or `base->field` (the same in bpftrace 0.26: `.` reads through a pointer
    /// and `->` is its older spelling), where `base` is a struct in memory or a pointer to
    /// one. `Err(base)` when it is neither, for the caller's own handling.
    pub(super) fn member_access(&mut self, base: Expr, field: &Ident, span: Span, cx: &ProbeCx<'_>) -> Result<Expr, Expr> {
        let (strukt, ptr, offset, user, chain) = match (&base.ty, &base.kind) {
            (Ty::Struct(strukt), ExprKind::Deref { ptr, offset, user, field, .. }) => {
                (strukt.clone(), (**ptr).clone(), *offset, *user, field.as_deref().cloned())
            }
            (Ty::Ptr { .. }, _) => match self.pointee(&base, cx) {
                Some((pointee @ Ty::Struct(_), user)) => {
                    let chain = self.chain_start(&pointee, cx);
                    let Ty::Struct(strukt) = pointee else { unreachable!("matched as a struct") };
                    (strukt, base, 0, user, chain)
                }
                _ => return Err(base),
            },
            _ => return Err(base),
        };
        let place = Place { ptr, offset, user, chain };
        Ok(self.struct_member(&strukt, place, field, span, cx))
    }

    /// `e` as a value that can be stored or printed: a struct in memory becomes a record of
    /// its members (nested structs as records, members of a type a probe cannot hold left
    /// out), read one by one, as bpftrace prints a struct: `{ .a = 1, .b = ... }`. Anything
    /// else is already a value.
    pub(super) fn value_of(&mut self, e: Expr, cx: &ProbeCx<'_>) -> Expr {
        let mut budget = MAX_STRUCT_MEMBERS;
        let (name, span) = match &e.ty {
            Ty::Struct(strukt) => (strukt.name.clone(), e.span),
            _ => return e,
        };
        match self.struct_value(e, cx, &mut budget) {
            Some(value) => value,
            None => {
                let diag = Diagnostic::error("E0481", format!("`{name}` has too many members to read whole"))
                    .with_primary(span, format!("more than {MAX_STRUCT_MEMBERS} members, nested ones included"))
                    .with_help("read the members you need: `s.member`, or `p->member` through a pointer");
                self.error_expr(diag, span)
            }
        }
    }

    /// `e` with its structs read into records; `None` when that takes more than `budget` reads.
    fn struct_value(&mut self, e: Expr, cx: &ProbeCx<'_>, budget: &mut usize) -> Option<Expr> {
        let (Ty::Struct(strukt), ExprKind::Deref { ptr, offset, user, .. }) = (&e.ty, &e.kind) else { return Some(e) };
        let (strukt, ptr, offset, user, span) = (strukt.clone(), (**ptr).clone(), *offset, *user, e.span);
        let Some(btf) = cx.kernel_types() else { return Some(self.error_expr(no_kernel_types(span), span)) };
        if strukt.size == 0 {
            return Some(self.error_expr(only_declared(&strukt, span), span));
        }
        let chain = match &e.kind {
            ExprKind::Deref { field, .. } => field.as_deref().cloned(),
            _ => None,
        };
        let mut names = Vec::new();
        let mut items = Vec::new();
        for name in kernel_types::member_names(btf, &strukt) {
            let readable = kernel_types::member(btf, &strukt, &name, user).is_ok_and(|member| match &member.ty {
                Ty::Array { elem, .. } => elem.is_scalar(),
                _ => true,
            });
            if !readable {
                continue;
            }
            *budget = budget.checked_sub(1)?;
            let field = Ident { name: name.clone(), span };
            let place = Place { ptr: ptr.clone(), offset, user, chain: chain.clone() };
            let read = self.struct_member(&strukt, place, &field, span, cx);
            let read = self.struct_value(read, cx, budget)?;
            if read.ty.is_error() {
                return Some(read);
            }
            names.push(name);
            items.push(read);
        }
        let ty = Ty::record(names, items.iter().map(|item| super::unify::storage(&item.ty)).collect());
        Some(Expr::new(ExprKind::Tuple(items), ty, span))
    }

    /// The member `field` of `strukt`, which is in memory at `place`.
    fn struct_member(&mut self, strukt: &StructRef, place: Place, field: &Ident, span: Span, cx: &ProbeCx<'_>) -> Expr {
        let Place { ptr, offset, user, chain } = place;
        let Some(btf) = cx.kernel_types() else { return self.error_expr(no_kernel_types(span), span) };
        if strukt.size == 0 {
            return self.error_expr(only_declared(strukt, ptr.span), span);
        }
        let member = match kernel_types::member(btf, strukt, &field.name, user) {
            Ok(member) => member,
            Err(MemberError::Missing(names)) => {
                let diag = Diagnostic::error("E0478", format!("`{}` has no member `{}`", strukt.name, field.name))
                    .with_primary(field.span, "no such member")
                    .with_secondary(ptr.span, format!("this points to a `{}`", strukt.name));
                let diag = match did_you_mean(&closest(&field.name, names.iter().map(String::as_str))) {
                    Some(help) => diag.with_help(help),
                    None => diag,
                };
                return self.error_expr(diag, span);
            }
            Err(MemberError::Unreadable(c_type)) => {
                let diag = Diagnostic::error("E0479", format!("member `{}` is a `{c_type}`, which a probe cannot hold", field.name))
                    .with_primary(field.span, "a type probes cannot hold")
                    .with_note("probes hold integers, pointers, strings, arrays and structs: not floating point");
                return self.error_expr(diag, span);
            }
        };
        self.kernel_facts.record(KernelFact::Member {
            strukt: strukt.name.clone(),
            member: field.name.clone(),
            offset: member.offset,
            size: member.ty.size(),
            bitfield: member.bits,
        });
        let chain = match (chain, member.bits) {
            (Some(chain), None) => Some(chain.member(&strukt.name, &field.name)),
            // A bitfield's bytes, or a place whose offset no chain names: the offsets that lead
            // here are compiled in too.
            (chain, _) => {
                self.fix_offsets(chain.as_ref());
                self.kernel_facts.fix(&strukt.name, &field.name);
                None
            }
        };
        let offset = offset.saturating_add(member.offset);
        let read = self.place(ptr, offset, user, member.ty.clone(), chain, span);
        match member.bits {
            None => match read.kind {
                ExprKind::Deref { ptr, offset, user, field, .. } => Expr::new(ExprKind::Deref { ptr, offset, user, member: true, field }, read.ty, read.span),
                _ => read,
            },
            Some((first_bit, width)) => bitfield(read, first_bit, width, span),
        }
    }

    /// `base[index]` where `base` is a pointer or a C array in memory; `Err(base)` otherwise.
    pub(super) fn pointer_index(&mut self, base: Expr, index: Expr, span: Span, cx: &ProbeCx<'_>) -> Result<Expr, Expr> {
        let (elem, ptr, offset, user, len, chain) = match (&base.ty, &base.kind) {
            (Ty::Array { elem, len }, ExprKind::Deref { ptr, offset, user, field, .. }) => {
                ((**elem).clone(), (**ptr).clone(), *offset, *user, Some(*len), field.as_deref().cloned())
            }
            (Ty::Array { elem, len }, _) => return Ok(self.array_value_element(base.clone(), (**elem).clone(), *len, index, span)),
            (Ty::Ptr { .. }, _) => match self.pointee(&base, cx) {
                Some((Ty::Void, _)) | None => return Err(base),
                Some((pointee, user)) => (pointee, base, 0, user, None, None),
            },
            _ => return Err(base),
        };
        if !matches!(index.ty, Ty::Int(_)) {
            return Ok(self.error_expr(super::expr::operand_error("an index", &index, "an integer"), span));
        }
        let size = elem.size();
        if let Some(n) = super::fold::constant(&index) {
            if let Some(len) = len.filter(|len| !(0..i128::from(*len)).contains(&n)) {
                let diag = Diagnostic::error("E0457", format!("index {n} is out of bounds"))
                    .with_primary(index.span, format!("the array has {len} elements"));
                return Ok(self.error_expr(diag, span));
            }
            let at = u32::try_from(n).ok().and_then(|n| n.checked_mul(size)).and_then(|n| n.checked_add(offset));
            if let Some(at) = at {
                let chain = match (len, chain) {
                    (Some(_), Some(chain)) => Some(chain.index(n as u32)),
                    (Some(_), None) => None,
                    (None, _) if at == 0 => self.chain_start(&elem, cx),
                    (None, _) => None,
                };
                return Ok(self.place(ptr, at, user, elem, chain, span));
            }
        }
        // The element's address is computed, so its offset holds only the array's: an offset
        // no relocation names.
        self.fix_offsets(chain.as_ref());
        let scaled = scale(index, size);
        let address = Expr::new(ExprKind::Binary { op: BinOp::Add, lhs: Box::new(ptr), rhs: Box::new(scaled), signed: false }, Ty::U64, span);
        let chain = if offset == 0 { self.chain_start(&elem, cx) } else { None };
        Ok(self.place(address, offset, user, elem, chain, span))
    }

    /// `a[i]` of an array held as a value: a constant index in bounds.
    fn array_value_element(&mut self, array: Expr, elem: Ty, len: u32, index: Expr, span: Span) -> Expr {
        match super::fold::constant(&index) {
            Some(n) if (0..i128::from(len)).contains(&n) => match &array.kind {
                // An element of a tracepoint's integer array is a field of its own: one load
                // from the record, not a copy of the whole array.
                ExprKind::TracepointField(field) if matches!(field.kind, FieldKind::IntArray(_)) => {
                    let size = elem.size();
                    let element = TracepointField {
                        name: format!("{}[{n}]", field.name),
                        c_type: field.c_type.split('[').next().unwrap_or_default().trim().to_string(),
                        offset: field.offset + n as u32 * size,
                        size,
                        signed: field.signed,
                        kind: FieldKind::Int,
                    };
                    Expr::new(ExprKind::TracepointField(Box::new(element)), elem, span)
                }
                _ => Expr::new(ExprKind::ArrayElement { expr: Box::new(array), index: n as u32 }, elem, span),
            },
            Some(n) => {
                let diag = Diagnostic::error("E0457", format!("index {n} is out of bounds")).with_primary(index.span, format!("the array has {len} elements"));
                self.error_expr(diag, span)
            }
            None => {
                let diag = Diagnostic::error("E0456", "an array held in a variable is indexed by a constant")
                    .with_primary(index.span, "not known until the probe runs")
                    .with_help("index the array where it is in kernel memory (`p->a[i]`), which takes any index");
                self.error_expr(diag, span)
            }
        }
    }

    /// What `e`, a pointer, points at and whether into user memory. A tracepoint's pointer
    /// field is typed from the C type its format file gives, through the kernel's types.
    pub(super) fn pointee(&mut self, e: &Expr, cx: &ProbeCx<'_>) -> Option<(Ty, bool)> {
        let Ty::Ptr { pointee, user } = &e.ty else { return None };
        if !matches!(**pointee, Ty::Void) {
            return Some(((**pointee).clone(), *user));
        }
        let ExprKind::TracepointField(field) = &e.kind else { return None };
        match kernel_types::c_type(cx.kernel_types()?, &field.c_type, *user)? {
            Ty::Ptr { pointee, .. } if !matches!(*pointee, Ty::Void) => Some((*pointee, *user)),
            _ => None,
        }
    }

    /// A read of a `ty` at `ptr + offset`, or the place of a struct there; `chain` when
    /// `offset` is exactly that chain of members from the struct `ptr` points to.
    fn place(&mut self, ptr: Expr, offset: u32, user: bool, ty: Ty, chain: Option<FieldAccess>, span: Span) -> Expr {
        if let Ty::Struct(strukt) = &ty {
            if strukt.size == 0 {
                return self.error_expr(only_declared(strukt, span), span);
            }
        }
        Expr::new(ExprKind::Deref { ptr: Box::new(ptr), offset, user, member: false, field: chain.map(Box::new) }, ty, span)
    }

    /// The chain of no members from `ty`, when it is a struct of the kernel image's own types:
    /// where a chain of members a relocation can name starts. A struct the script defines, a
    /// module's, or a user program's (its debug information's types, in a uprobe) has no
    /// relocations.
    fn chain_start(&self, ty: &Ty, cx: &ProbeCx<'_>) -> Option<FieldAccess> {
        let Ty::Struct(strukt) = ty else { return None };
        // A struct without a name cannot be found again in another kernel.
        if cx.module_types.is_some() || strukt.name.contains("(anonymous)") {
            return None;
        }
        let btf = cx.kernel_types()?;
        btf.in_base(crate::btf::TypeId(strukt.id)).then(|| FieldAccess::root(strukt.id, &strukt.name))
    }

    /// Records that the offsets of `chain`'s members are compiled in where no relocation names
    /// them: a pack whose kernel moved one of them must be compiled again.
    pub(crate) fn fix_offsets(&mut self, chain: Option<&FieldAccess>) {
        for (owner, member) in chain.into_iter().flat_map(FieldAccess::members) {
            self.kernel_facts.fix(owner, member);
        }
    }
}

/// Where a struct is in memory: at `ptr + offset`, and the chain of members `offset` is.
struct Place {
    ptr: Expr,
    offset: u32,
    user: bool,
    chain: Option<FieldAccess>,
}

/// The most members (nested ones included) a struct read whole may have: each is one read.
const MAX_STRUCT_MEMBERS: usize = 64;

/// `p + n` and `p - n` move by `n` of what `p` points at, as in C (bytes for a `void *`).
pub(super) fn scale_pointer_offset(ptr: &Ty, offset: Expr) -> Expr {
    match ptr {
        Ty::Ptr { pointee, .. } if pointee.size() > 1 => scale(offset, pointee.size()),
        _ => offset,
    }
}

/// `e * size`, folded when `e` is a constant.
fn scale(e: Expr, size: u32) -> Expr {
    if size == 1 {
        return e;
    }
    let span = e.span;
    if let ExprKind::Int(n) = e.kind {
        return Expr::new(ExprKind::Int(n.wrapping_mul(u64::from(size))), Ty::U64, span);
    }
    let size = Expr::new(ExprKind::Int(u64::from(size)), Ty::U64, span);
    Expr::new(ExprKind::Binary { op: BinOp::Mul, lhs: Box::new(e), rhs: Box::new(size), signed: false }, Ty::U64, span)
}

/// The `width` bits from `first_bit` of `read`, an integer holding a bitfield: shifted up to
/// the top of the register and back down, which also extends a signed field's sign.
fn bitfield(read: Expr, first_bit: u8, width: u8, span: Span) -> Expr {
    let signed = matches!(read.ty, Ty::Int(IntTy { signed: true, .. }));
    let ty = Ty::Int(IntTy { bits: if width <= 32 { 32 } else { 64 }, signed });
    let shift = |e: Expr, op: BinOp, by: u8, ty: Ty| {
        let amount = Expr::new(ExprKind::Int(u64::from(by)), Ty::U64, span);
        Expr::new(ExprKind::Binary { op, lhs: Box::new(e), rhs: Box::new(amount), signed }, ty, span)
    };
    let raised = shift(read, BinOp::Shl, 64 - first_bit - width, Ty::Int(IntTy { bits: 64, signed }));
    shift(raised, BinOp::Shr, 64 - width, ty)
}

/// E0479: a struct the kernel's types declare but do not define.
fn only_declared(strukt: &StructRef, span: Span) -> Diagnostic {
    Diagnostic::error("E0479", format!("`{}` is only declared in the kernel's types, with no members", strukt.name))
        .with_primary(span, "its layout is not known")
        .with_note("the kernel's BTF describes a struct only where the kernel's own code defines it")
}

/// E0480: a script reads kernel memory by type, and the kernel has no BTF.
pub(super) fn no_kernel_types(span: Span) -> Diagnostic {
    Diagnostic::error("E0480", "this needs the kernel's types, and the kernel has no BTF")
        .with_primary(span, "needs kernel types")
        .with_note("kernel types come from /sys/kernel/btf/vmlinux, which kernels built with CONFIG_DEBUG_INFO_BTF have")
}
