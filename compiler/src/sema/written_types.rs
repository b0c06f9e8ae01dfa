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
                let kernel = ["struct ", "union ", "enum "].iter().any(|word| name.name.starts_with(word));
                self.report(if kernel { kernel_type(name) } else { unknown_type(name) });
                None
            }
            TypeSpec::Typeof(e) => {
                if let ast::ExprKind::Ident(name) = &e.kind {
                    if let Some(ty) = named_type(name, self.config.max_strlen) {
                        return Some(ty);
                    }
                    if let Some(ours) = c_type_alias(name) {
                        let name = Ident { name: name.clone(), span: e.span };
                        self.report(unknown_type(&name).with_help(format!("the C type `{}` is `{ours}` here", name.name)));
                        return None;
                    }
                }
                let value = self.expr(e, cx);
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

    /// `sizeof(t)`: the bytes a value of type `t` takes, a `uint64` known while compiling.
    pub(super) fn size_of(&mut self, spec: &TypeSpec, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        match self.written_type(spec, cx) {
            Some(ty) => Expr::new(ExprKind::Int(u64::from(ty.size())), Ty::U64, span),
            None => self.error_expr_silent(span),
        }
    }

    /// `offsetof(t, a.b)`: where field `a.b` of record type `t` starts, in bytes.
    pub(super) fn offset_of(&mut self, spec: &TypeSpec, path: &[Ident], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let Some(mut ty) = self.written_type(spec, cx) else { return self.error_expr_silent(span) };
        let mut offset = 0u64;
        let mut owner = spec.span();
        for field in path {
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

/// E0475: a kernel type named in a script (`struct task_struct`), which ferrotrace cannot
/// read yet.
fn kernel_type(name: &Ident) -> Diagnostic {
    Diagnostic::error("E0475", format!("`{}` is a kernel type, which scripts cannot name yet", name.name))
        .with_primary(name.span, "unknown type")
        .with_help("kernel structs, unions and enums come with the kernel types from BTF, which scripts cannot name yet")
}
