//! Types as scripts write them: names (`uint16`, `string[8]`) and `typeof(e)` in casts and
//! `let`, and the compile-time `sizeof` and `offsetof` of such a type.

use super::hir::{Expr, ExprKind};
use super::{Checker, ProbeCx};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::syntax::ast::{self, Ident, TypeSpec};
use crate::types::{tuple_layout, Ty};

/// The type named `name` (`uint16`, `bool`, `string`, `string[64]`), if it is one.
pub(super) fn named_type(name: &str, max_strlen: u32) -> Option<Ty> {
    if let Some(int) = super::expr::int_type_named(name) {
        return Some(Ty::Int(int));
    }
    match name {
        "bool" => Some(Ty::Bool),
        "string" => Some(Ty::Str(max_strlen)),
        _ => {
            // Up to 1 MiB: a value the probe can hold in its scratch memory.
            let size = name.strip_prefix("string[")?.strip_suffix(']')?.parse::<u32>().ok()?;
            (1..=1 << 20).contains(&size).then_some(Ty::Str(size))
        }
    }
}

impl Checker {
    /// The type `spec` stands for; `None` after reporting why there is none. A `typeof(e)`
    /// checks `e` but never runs it.
    pub(super) fn written_type(&mut self, spec: &TypeSpec, cx: &mut ProbeCx<'_>) -> Option<Ty> {
        match spec {
            TypeSpec::Named(name) => {
                if let Some(ty) = named_type(&name.name, self.config.max_strlen) {
                    return Some(ty);
                }
                match self.composite_type(name, cx) {
                    Ok(ty) => Some(ty),
                    Err(diag) => {
                        self.report(diag);
                        None
                    }
                }
            }
            TypeSpec::Typeof(e) => {
                if let ast::ExprKind::Ident(name) = &e.kind {
                    if let Some(ty) = named_type(name, self.config.max_strlen) {
                        return Some(ty);
                    }
                    if let Some(ty) = script_typedef(name, cx) {
                        return Some(ty);
                    }
                    if let Some(ours) = c_type_alias(name) {
                        let name = Ident { name: name.clone(), span: e.span };
                        self.report(unknown_type(&name).with_help(format!("the C type `{}` is `{ours}` here", name.name)));
                        return None;
                    }
                }
                let value = self.value_expr(e, cx);
                match value.ty {
                    Ty::Error => None,
                    Ty::Void => {
                        self.report(super::expr::value_expected(&value));
                        None
                    }
                    ty => Some(ty),
                }
            }
        }
    }

    /// A type built from a language type or a kernel one (`struct sock`, `pid_t`): an array of
    /// it (`uint8[8]`), a pointer to it (`struct sock *`, `int8 **`).
    fn composite_type(&mut self, name: &Ident, cx: &ProbeCx<'_>) -> Result<Ty, Diagnostic> {
        let text = name.name.as_str();
        let stars = text.chars().rev().take_while(|c| *c == '*' || *c == ' ').filter(|c| *c == '*').count();
        let text = text.trim_end_matches(['*', ' ']);
        let (base, len) = match text.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
            Some((base, len)) => (base, Some(len.parse::<u32>().ok().filter(|len| *len > 0).ok_or_else(|| unknown_type(name))?)),
            None => (text, None),
        };
        let kernel = ["struct ", "union ", "enum "].iter().any(|word| base.starts_with(word));
        let mut ty = if let Some(ty) = named_type(base, self.config.max_strlen) {
            ty
        } else if base == "void" && stars > 0 {
            Ty::Void
        } else if kernel || stars > 0 {
            let btf = cx.kernel_types().ok_or_else(|| super::pointers::no_kernel_types(name.span))?;
            super::kernel_types::c_type(btf, base, false).ok_or_else(|| no_kernel_type(name, base, kernel))?
        } else {
            return Err(unknown_type(name));
        };
        if let Some(len) = len {
            ty = match ty {
                Ty::Int(_) | Ty::Bool | Ty::Struct(_) | Ty::Ptr { .. } => Ty::Array { elem: Box::new(ty), len },
                _ => return Err(unknown_type(name)),
            };
        }
        for _ in 0..stars {
            ty = Ty::ptr(ty, false);
        }
        Ok(ty)
    }

    /// `sizeof(t)`: the bytes a value of type `t` takes, a `uint64` known while compiling.
    pub(super) fn size_of(&mut self, spec: &TypeSpec, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        match self.written_type(spec, cx) {
            Some(ty) => {
                if matches!(ty, Ty::Struct(_) | Ty::Array { .. }) {
                    self.kernel_facts.record(crate::kernel_facts::KernelFact::Size { ty: ty.to_string(), size: ty.size() });
                }
                Expr::new(ExprKind::Int(u64::from(ty.size())), Ty::U64, span)
            }
            None => self.error_expr_silent(span),
        }
    }

    /// `offsetof(t, a.b)`: where field `a.b` of record type `t` starts, in bytes.
    /// `container_of(ptr, struct x, a.b)`: `ptr` less the offset of `a.b` in `struct x`, as a
    /// pointer to `struct x` in the address space `ptr` points into.
    pub(super) fn container_of(&mut self, ptr: &ast::Expr, spec: &TypeSpec, path: &[Ident], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let ptr = self.expr(ptr, cx);
        let container = match self.written_type(spec, cx) {
            None => return self.error_expr_silent(span),
            Some(container @ Ty::Struct(_)) => container,
            Some(other) => {
                let diag = Diagnostic::error("E0486", format!("`container_of` needs a struct or union type, not `{other}`"))
                    .with_primary(spec.span(), "not a struct or union")
                    .with_help("name the struct that holds the member: `container_of(p, struct task_struct, tasks)`");
                return self.error_expr(diag, span);
            }
        };
        let offset = self.offset_of(spec, path, span, cx);
        if ptr.ty.is_error() || offset.ty.is_error() {
            return self.error_expr_silent(span);
        }
        let user = match &ptr.ty {
            Ty::Ptr { user, .. } => *user,
            Ty::Int(_) => false,
            _ => return self.error_expr(super::expr::operand_error("`container_of`", &ptr, "a pointer"), span),
        };
        let address = Expr::new(ptr.kind, Ty::U64, ptr.span);
        let start = self.binary(ast::BinOp::Sub, address, offset, span);
        Expr::new(start.kind, Ty::ptr(container, user), span)
    }

    pub(super) fn offset_of(&mut self, spec: &TypeSpec, path: &[Ident], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let Some(mut ty) = self.written_type(spec, cx) else { return self.error_expr_silent(span) };
        let mut offset = 0u64;
        let mut owner = spec.span();
        for field in path {
            if let Ty::Struct(strukt) = &ty {
                let Some(btf) = cx.kernel_types() else { return self.error_expr(super::pointers::no_kernel_types(span), span) };
                match super::kernel_types::member(btf, strukt, &field.name, false) {
                    Ok(member) if member.bits.is_none() => {
                        self.kernel_facts.record(crate::kernel_facts::KernelFact::Member {
                            strukt: strukt.name.clone(),
                            member: field.name.clone(),
                            offset: member.offset,
                            size: member.ty.size(),
                            bitfield: None,
                        });
                        self.kernel_facts.fix(&strukt.name, &field.name);
                        offset += u64::from(member.offset);
                        owner = field.span;
                        ty = member.ty;
                        continue;
                    }
                    Ok(_) => {
                        let diag = Diagnostic::error("E0410", format!("`{}` is a bitfield, which starts inside a byte", field.name))
                            .with_primary(field.span, "a bitfield has no byte offset");
                        return self.error_expr(diag, span);
                    }
                    Err(_) => {
                        let diag = Diagnostic::error("E0478", format!("`{}` has no member `{}`", strukt.name, field.name))
                            .with_primary(field.span, "no such member")
                            .with_secondary(owner, format!("this is `{}`", strukt.name));
                        return self.error_expr(diag, span);
                    }
                }
            }
            let Ty::Record(record) = &ty else {
                return self.error_expr(
                    Diagnostic::error("E0410", format!("`{ty}` has no fields"))
                        .with_primary(field.span, "no such field")
                        .with_secondary(owner, format!("this is `{ty}`")),
                    span,
                );
            };
            let Some(index) = record.names.iter().position(|name| *name == field.name) else {
                return self.error_expr(
                    Diagnostic::error("E0410", format!("the record has no field `{}`", field.name))
                        .with_primary(field.span, "no such field")
                        .with_secondary(owner, format!("this is `{ty}`"))
                        .with_note(format!("its fields: {}", record.names.join(", "))),
                    span,
                );
            };
            offset += u64::from(tuple_layout(&record.fields).offsets[index]);
            owner = field.span;
            ty = record.fields[index].clone();
        }
        Expr::new(ExprKind::Int(offset), Ty::U64, span)
    }
}

/// The type a `typedef` of the script's C definitions names (`sizeof(my_t)`).
fn script_typedef(name: &str, cx: &ProbeCx<'_>) -> Option<Ty> {
    let btf = cx.script_types?;
    let id = btf.find(name, crate::btf::Family::Typedef).filter(|id| btf.owns(*id))?;
    super::kernel_types::language_type(btf, id, false)
}

/// The language's name for C's `char`, `short`, `int` and `long`, which bpftrace does not take
/// as type names either.
fn c_type_alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "char" => "int8",
        "short" => "int16",
        "int" => "int32",
        "long" => "int64",
        _ => return None,
    })
}

/// E0448: a type name that is none of the language's types.
fn unknown_type(name: &Ident) -> Diagnostic {
    Diagnostic::error("E0448", format!("`{}` is not a type", name.name))
        .with_primary(name.span, "unknown type")
        .with_help("types are int8..int64, uint8..uint64, bool, string and string[N], or `typeof(expr)`")
}

/// E0475: a kernel type the kernel's types (BTF) do not have.
fn no_kernel_type(name: &Ident, base: &str, kernel: bool) -> Diagnostic {
    let diag = Diagnostic::error("E0475", format!("the kernel has no type `{base}`"))
        .with_primary(name.span, "not among the kernel's types");
    if kernel {
        diag.with_help("`ferrotrace -lv` on a probe shows the types of its arguments")
    } else {
        diag.with_help("a kernel typedef (`pid_t`) or a C name (`unsigned int`) is looked up in the kernel's types")
    }
}
