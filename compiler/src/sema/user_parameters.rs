//! A uprobe's parameters by name: `args.NAME` reads the register the parameter is passed in
//! (or its stack word, past the sixth), narrowed to its type; `args` alone is a record of them all; a uretprobe's `retval` is typed
//! as the function returns it. Each from the debug info the probe was resolved with.

use super::hir::{Expr, ExprKind};
use super::unify::storage;
use super::{Checker, ProbeCx};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::Attach;
use crate::providers::{ParameterPlace, UserParameter, UserParameters};
use crate::pt_regs::Register;
use crate::span::Span;
use crate::syntax::ast;
use crate::types::{IntTy, Ty};

impl Checker {
    /// `args.NAME` in a uprobe.
    pub(super) fn user_parameter(&mut self, args: Span, field: &ast::Ident, span: Span, cx: &ProbeCx<'_>) -> Expr {
        let parameters = match self.known_parameters(args, cx) {
            Ok(parameters) => parameters,
            Err(diag) => return self.error_expr(diag, span),
        };
        let Some(parameter) = parameters.iter().find(|parameter| parameter.name == field.name) else {
            let names: Vec<&str> = parameters.iter().map(|parameter| parameter.name.as_str()).collect();
            let diag = Diagnostic::error("E0241", format!("`{}` has no parameter `{}`", cx.name, field.name)).with_primary(field.span, "not a parameter of the function");
            let diag = match did_you_mean(&closest(&field.name, names.iter().copied())) {
                Some(help) => diag.with_help(help),
                None if names.is_empty() => diag.with_note("its debug info lists no parameters"),
                None => diag.with_note(format!("its parameters: {}", names.join(", "))),
            };
            return self.error_expr(diag, span);
        };
        match self.parameter_read(parameter, field.span, cx, span) {
            Ok(read) => read,
            Err(diag) => self.error_expr(diag, span),
        }
    }

    /// `args` as a value in a uprobe: a record of every parameter.
    pub(super) fn user_parameters_value(&mut self, span: Span, cx: &ProbeCx<'_>) -> Expr {
        let parameters = match self.known_parameters(span, cx) {
            Ok(parameters) => parameters,
            Err(diag) => return self.error_expr(diag, span),
        };
        let mut items = Vec::with_capacity(parameters.len());
        for parameter in parameters {
            match self.parameter_read(parameter, span, cx, span) {
                Ok(read) => items.push(read),
                Err(diag) => return self.error_expr(diag, span),
            }
        }
        let names = parameters.iter().map(|parameter| parameter.name.clone()).collect();
        let ty = Ty::record(names, items.iter().map(|item| storage(&item.ty)).collect());
        Expr::new(ExprKind::Tuple(items), ty, span)
    }

    /// `retval` at a uretprobe, typed as the function returns it when its debug info says.
    pub(super) fn typed_return(&self, register: Register, span: Span, cx: &ProbeCx<'_>) -> Expr {
        match cx.parameters {
            UserParameters::Known { retval: Some(ty), .. } => narrowed(Expr::new(ExprKind::Register(register), Ty::U64, span), ty.clone()),
            _ => Expr::new(ExprKind::Register(register), Ty::U64, span),
        }
    }

    /// The parameters of a uprobe's function; E0243 at a uretprobe, E0240 without debug info.
    fn known_parameters<'a>(&self, args: Span, cx: &ProbeCx<'a>) -> Result<&'a [UserParameter], Diagnostic> {
        if matches!(cx.attach, Attach::Uprobe { retprobe: true, .. }) {
            return Err(Diagnostic::error("E0243", "`args` is not available at a function's return")
                .with_primary(args, format!("`{}` fires when the function returns, when its parameters are gone", cx.name))
                .with_help("read them in a uprobe on the same function and keep them in a map keyed by `tid`"));
        }
        match cx.parameters {
            UserParameters::Known { parameters, .. } => Ok(parameters),
            UserParameters::Unknown { why } => {
                let diag = Diagnostic::error("E0240", format!("the parameters of `{}` are not known", cx.name))
                    .with_primary(args, "named from the function's debug info (DWARF)")
                    .with_note(why.clone());
                Err(diag.with_help("`arg0`..`arg5` read the registers the first six arguments are passed in"))
            }
            UserParameters::NotRead => Err(Diagnostic::error("E0240", format!("the parameters of `{}` were not read", cx.name)).with_primary(args, "here")),
        }
    }

    /// A read of one parameter, from its register or its stack word; E0242 when it is in
    /// neither.
    fn parameter_read(&self, parameter: &UserParameter, at: Span, cx: &ProbeCx<'_>, span: Span) -> Result<Expr, Diagnostic> {
        let unreadable = |why: &str| {
            Diagnostic::error("E0242", format!("parameter `{}` of `{}` cannot be read", parameter.name, cx.name))
                .with_primary(at, why.to_string())
                .with_note("a uprobe reads integer and pointer parameters from their registers, and from the stack past the sixth")
        };
        let read = match &parameter.place {
            Ok(ParameterPlace::Register(register)) => Expr::new(ExprKind::Register(*register), Ty::U64, span),
            Ok(ParameterPlace::Stack(word)) => super::expr::stack_word(*word, true, span).ok_or_else(|| unreadable("too far up the stack to read"))?,
            Err(why) => return Err(unreadable(why)),
        };
        Ok(narrowed(read, parameter.ty.clone()))
    }
}

/// A parameter's word read as `ty`: an integer narrower than the word keeps only its own
/// bits, as the calling convention leaves the rest undefined.
fn narrowed(read: Expr, ty: Ty) -> Expr {
    let span = read.span;
    let int = match &ty {
        Ty::Int(int) => Some(*int),
        Ty::Enum(enumeration) => Some(enumeration.int),
        Ty::Bool => Some(IntTy { bits: 8, signed: false }),
        _ => None,
    };
    match int {
        Some(to) if to.bits < 64 => Expr::new(ExprKind::Cast { to, expr: Box::new(read) }, ty, span),
        _ => Expr { ty, ..read },
    }
}
