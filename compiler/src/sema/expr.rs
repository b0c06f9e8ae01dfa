//! Type checking of expressions: literals, builtins, variables, maps, operators, tracepoint
//! fields.

use super::hir::{self, Expr, ExprKind};
use super::unify::{storage, unify};
use super::{Checker, ProbeCx};
use crate::catalog::{FieldKind, TracepointField};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, MapValue};
use crate::providers::Context;
use crate::span::Span;
use crate::syntax::ast::{self, BinOp, UnaryOp};
use crate::types::{IntTy, Ty};
use crate::usdt::SymbolDistances;

/// The size of `comm` strings (the kernel's TASK_COMM_LEN).
pub const COMM_SIZE: u32 = 16;

impl Checker {
    /// `e` checked, as an operand: an enum is its integer.
    pub(crate) fn expr(&mut self, e: &ast::Expr, cx: &mut ProbeCx<'_>) -> Expr {
        let mut checked = self.value_expr(e, cx);
        if matches!(checked.ty, Ty::Enum(_)) {
            checked.ty = std::mem::replace(&mut checked.ty, Ty::Error).decayed();
        }
        checked
    }

    /// `e` checked, as a value kept whole (assigned, a map key, printed): an enum stays an enum,
    /// so that it prints as the name of its constant.
    pub(crate) fn value_expr(&mut self, e: &ast::Expr, cx: &mut ProbeCx<'_>) -> Expr {
        let span = e.span;
        match &e.kind {
            ast::ExprKind::Int(v) => Expr::new(ExprKind::Int(*v), Ty::Int(literal_type(*v)), span),
            ast::ExprKind::Str(bytes) => {
                Expr::new(ExprKind::Str(bytes.clone()), Ty::Str(bytes.len() as u32 + 1), span)
            }
            ast::ExprKind::Bool(b) => Expr::new(ExprKind::Bool(*b), Ty::Bool, span),
            ast::ExprKind::Ident(name) => self.ident(name, span, cx),
            ast::ExprKind::Var(name) => self.read_local(name, span, cx),
            ast::ExprKind::Positional(n) => self.positional(*n, span),
            ast::ExprKind::ParamCount => {
                let count = self.params.positional.len() as u64;
                Expr::new(ExprKind::Int(count), Ty::Int(literal_type(count)), span)
            }
            ast::ExprKind::Map(map) => self.read_map(map, cx),
            ast::ExprKind::Call { name, args } => self.call(name, args, span, cx),
            ast::ExprKind::Unary { op, expr } => self.unary(*op, expr, span, cx),
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let lhs = self.expr(lhs, cx);
                let rhs = self.expr(rhs, cx);
                self.binary(*op, lhs, rhs, span)
            }
            ast::ExprKind::Ternary { cond, then_expr, else_expr } => self.ternary(cond, then_expr, else_expr, span, cx),
            ast::ExprKind::Tuple(items) => {
                let items: Vec<Expr> = items.iter().map(|i| self.tuple_item(i, cx)).collect();
                let ty = Ty::Tuple(items.iter().map(|i| storage(&i.ty)).collect());
                Expr::new(ExprKind::Tuple(items), ty, span)
            }
            ast::ExprKind::Record(fields) => self.record(fields, span, cx),
            ast::ExprKind::Field { expr, field, .. } => self.field(expr, field, span, cx),
            ast::ExprKind::TupleIndex { expr, index, index_span } => self.tuple_index(expr, *index, *index_span, span, cx),
            ast::ExprKind::Index { expr, index } => self.index(expr, index, span, cx),
            ast::ExprKind::IncDec { target, increment, prefix } => self.inc_dec(target, *increment, *prefix, span, cx),
            ast::ExprKind::Cast { ty, expr } => self.cast(ty, expr, span, cx),
            ast::ExprKind::Sizeof(ty) => self.size_of(ty, span, cx),
            ast::ExprKind::Offsetof { ty, path } => self.offset_of(ty, path, span, cx),
            ast::ExprKind::ContainerOf { ptr, ty, path } => self.container_of(ptr, ty, path, span, cx),
            ast::ExprKind::Block(block) => self.block_expr(block, span, cx),
            ast::ExprKind::Comptime(inner) => self.comptime(inner, span, cx),
        }
    }

    /// The placeholder of an expression whose errors are already reported.
    pub(crate) fn error_expr_silent(&mut self, span: Span) -> Expr {
        Expr::new(ExprKind::Int(0), Ty::Error, span)
    }

    pub(crate) fn error_expr(&mut self, diag: Diagnostic, span: Span) -> Expr {
        self.report(diag);
        Expr::new(ExprKind::Int(0), Ty::Error, span)
    }

    fn tuple_item(&mut self, e: &ast::Expr, cx: &mut ProbeCx<'_>) -> Expr {
        let item = self.value_expr(e, cx);
        let item = self.value_of(item, cx);
        if !item.ty.is_error() && !is_value(&item.ty) {
            return self.error_expr(value_expected(&item), e.span);
        }
        item
    }

    /// `args.name` where the context is an array of typed argument words.
    fn argument_word(&mut self, field: &ast::Ident, span: Span, cx: &ProbeCx<'_>) -> Expr {
        let provider = cx.attach.provider();
        let found = cx.arguments.iter().enumerate().find(|(_, argument)| argument.name == field.name && (provider.at_return || argument.name != "retval"));
        match found {
            Some((index, argument)) => Expr::new(ExprKind::ArgumentWord(index as u32), argument.ty.clone(), span),
            None => {
                let names: Vec<&str> = cx.arguments.iter().map(|argument| argument.name.as_str()).collect();
                let diag = Diagnostic::error("E0304", format!("`{}` has no argument `{}`", cx.name, field.name))
                    .with_primary(field.span, "unknown argument")
                    .with_note(format!("its arguments: {}", names.join(", ")));
                let diag = match did_you_mean(&closest(&field.name, names.iter().copied())) {
                    Some(help) => diag.with_help(help),
                    None => diag,
                };
                self.error_expr(diag, span)
            }
        }
    }

    /// `argN` (a word, as an `int64`) and, at a function's return, `retval` (typed) where the
    /// context is an array of argument words.
    fn word_builtin(&mut self, name: &str, span: Span, cx: &ProbeCx<'_>) -> Option<Expr> {
        if name == "retval" {
            let returned = cx.arguments.iter().enumerate().find(|(_, argument)| argument.name == "retval");
            return Some(match returned {
                Some((index, word)) if cx.attach.provider().at_return => Expr::new(ExprKind::ArgumentWord(index as u32), word.ty.clone(), span),
                _ => {
                    let diag = Diagnostic::error("E0424", format!("`retval` is only available at a function's return, not in `{}`", cx.name))
                        .with_primary(span, "no return value here")
                        .with_help("an `fexit` probe on the same function sees its return value");
                    self.error_expr(diag, span)
                }
            });
        }
        let index: usize = name.strip_prefix("arg").filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))?.parse().ok()?;
        let arguments = cx.arguments.iter().filter(|argument| argument.name != "retval").count();
        if index >= arguments {
            let diag = Diagnostic::error("E0424", format!("`{name}` is past the {arguments} arguments of `{}`", cx.name))
                .with_primary(span, "no such argument");
            return Some(self.error_expr(diag, span));
        }
        Some(Expr::new(ExprKind::ArgumentWord(index as u32), Ty::I64, span))
    }

    /// `arg0`..`argN` in a kprobe or uprobe (past `arg5` from the stack), `sargN` (the stack
    /// words above the return address) and `retval` in a kretprobe or uretprobe, if `name` is
    /// one of them: the probed function's registers. bpftrace types the arguments `int64` and
    /// the return value `uint64`. In a usdt probe, `argN` is where its note says.
    fn register(&mut self, name: &str, span: Span, cx: &ProbeCx<'_>) -> Option<Expr> {
        if let Some(word) = numbered(name, "sarg") {
            return Some(self.stack_word(name, word, span, cx));
        }
        if cx.attach.provider().context == Context::ArgumentWords {
            return self.word_builtin(name, span, cx);
        }
        let provider = cx.attach.provider();
        let index = numbered(name, "arg");
        if name != "retval" && index.is_none() {
            return None;
        }
        if let (Attach::Usdt { arguments, symbols, .. }, Some(index)) = (cx.attach, index) {
            return Some(self.usdt_argument(name, index, (arguments, symbols), span, cx));
        }
        let registers = provider.context == Context::FunctionRegisters && !matches!(cx.attach, Attach::Usdt { .. });
        let (retprobe, entry) = (registers && provider.at_return, registers && !provider.at_return);
        let (register, ty, allowed, where_) = match index {
            None => (crate::pt_regs::RETURN_VALUE, Ty::U64, retprobe, "kretprobe or uretprobe"),
            Some(index) => {
                let Some(register) = crate::pt_regs::argument(index) else {
                    if entry {
                        return Some(self.stack_word(name, index - crate::pt_regs::ARGUMENTS_IN_REGISTERS, span, cx));
                    }
                    let message = format!("`{name}` is past the arguments {}s can read", provider.name);
                    let diag = Diagnostic::error("E0424", message)
                        .with_primary(span, "not passed in a register")
                        .with_note(format!("on x86-64 the first {} arguments are passed in registers: arg0 to arg{}", crate::pt_regs::ARGUMENTS_IN_REGISTERS, crate::pt_regs::ARGUMENTS_IN_REGISTERS - 1));
                    return Some(self.error_expr(diag, span));
                };
                (register, Ty::I64, entry, "kprobe, uprobe or usdt")
            }
        };
        if !allowed {
            let diag = Diagnostic::error("E0424", format!("`{name}` is only available in {where_} probes"))
                .with_primary(span, format!("`{}` {}", cx.name, if index.is_some() { "sees no function arguments" } else { "sees no return value" }));
            let diag = if name == "retval" && entry {
                diag.with_help(format!("a {} on the same function sees its return value", provider.name.replace("probe", "retprobe")))
            } else if retprobe {
                diag.with_help("the arguments are read in a probe on the same function's entry, before it runs")
            } else {
                diag
            };
            return Some(self.error_expr(diag, span));
        }
        if index.is_none() && matches!(cx.attach, Attach::Uprobe { .. }) {
            return Some(self.typed_return(register, span, cx));
        }
        Some(Expr::new(ExprKind::Register(register), ty, span))
    }

    /// Stack word `word` above the return address at a kprobe's or uprobe's entry (`sargN`,
    /// and `argN` past the registers); E0424 elsewhere, or past any stack.
    fn stack_word(&mut self, name: &str, word: usize, span: Span, cx: &ProbeCx<'_>) -> Expr {
        let provider = cx.attach.provider();
        if provider.context == Context::FunctionRegisters && !provider.at_return && !matches!(cx.attach, Attach::Usdt { .. }) {
            if let Some(word) = stack_word(word, provider.user_pointers, span) {
                return word;
            }
            let diag = Diagnostic::error("E0424", format!("`{name}` is past any stack a function is called with"))
                .with_primary(span, "too far above the return address to read");
            return self.error_expr(diag, span);
        }
        let diag = Diagnostic::error("E0424", format!("`{name}` is only available in kprobe and uprobe probes"))
            .with_primary(span, format!("`{}` has no stack arguments to read", cx.name))
            .with_note("`sargN` is the stack word N above the return address when a function is entered");
        self.error_expr(diag, span)
    }

    /// `argN` of a usdt probe: the argument its note's spec describes (with the distances of
    /// the symbols it names), typed by its size and sign; E0221 when its spec cannot be read,
    /// E0424 past the probe's arguments.
    fn usdt_argument(&mut self, name: &str, index: usize, (specs, symbols): (&str, &SymbolDistances), span: Span, cx: &ProbeCx<'_>) -> Expr {
        let specs: Vec<&str> = specs.split_whitespace().collect();
        let Some(spec) = specs.get(index) else {
            let diag = Diagnostic::error("E0424", format!("`{name}` is past the arguments of `{}`", cx.name))
                .with_primary(span, format!("this probe has {} argument(s)", specs.len()))
                .with_note(format!("`ferrotrace -lv '{}'` lists them", cx.name));
            return self.error_expr(diag, span);
        };
        match crate::usdt::parse_argument(spec, symbols) {
            Ok(argument) => {
                let ty = Ty::Int(crate::usdt::argument_type(&argument));
                Expr::new(ExprKind::UsdtArgument(argument), ty, span)
            }
            Err(error) => {
                let diag = Diagnostic::error("E0221", format!("cannot read `{name}` of `{}`: {error}", cx.name))
                    .with_primary(span, "read from this probe's note")
                    .with_note("ferrotrace reads constants, registers, register-relative memory and symbols (x86-64)");
                self.error_expr(diag, span)
            }
        }
    }

    fn ident(&mut self, name: &str, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        if let Some(expr) = self.expand_define(name, span, cx) {
            return expr;
        }
        if let Some(expr) = self.register(name, span, cx) {
            return expr;
        }
        if crate::stdlib::lookup(name).is_some() {
            return self.call(&ast::Ident { name: name.to_string(), span }, &[], span, cx);
        }
        if let Some(constant) = cx.kernel_types().and_then(|btf| super::kernel_types::enumerator(btf, name)) {
            self.kernel_facts.record(crate::kernel_facts::KernelFact::Enumerator { name: name.to_string(), value: constant.value });
            return Expr::new(ExprKind::Int(constant.value), constant.ty, span);
        }
        let diag = Diagnostic::error("E0302", format!("unknown identifier `{name}`")).with_primary(span, "not a builtin");
        let diag = match did_you_mean(&closest(name, crate::stdlib::all_names())) {
            Some(help) => diag.with_help(help),
            None => diag.with_note("variables start with `$` and maps with `@`"),
        };
        self.error_expr(diag, span)
    }

    fn read_local(&mut self, name: &str, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        match cx.locals.find(name) {
            Some(id) => Expr::new(ExprKind::Local(id), cx.locals.read(id).clone(), span),
            None => self.error_expr(
                Diagnostic::error("E0303", format!("variable `${name}` is used before it is assigned"))
                    .with_primary(span, "no value yet")
                    .with_help(format!("assign it first, e.g. `${name} = 0;`")),
                span,
            ),
        }
    }

    /// The key of `@m[k1, k2]` as one expression (a tuple for several keys).
    pub(crate) fn map_key(&mut self, map: &ast::MapRef, cx: &mut ProbeCx<'_>) -> Option<Expr> {
        let keys: Vec<Expr> = map.keys.iter().map(|k| self.tuple_item(k, cx)).collect();
        match keys.len() {
            0 => None,
            1 => keys.into_iter().next(),
            _ => {
                let span = keys[0].span.to(keys[keys.len() - 1].span);
                let ty = Ty::Tuple(keys.iter().map(|k| storage(&k.ty)).collect());
                Some(Expr::new(ExprKind::Tuple(keys), ty, span))
            }
        }
    }

    /// Resolves `@m[keys]` and records the key type; returns the map and its key expression.
    pub(crate) fn map_ref(&mut self, map: &ast::MapRef, cx: &mut ProbeCx<'_>) -> (hir::MapIdx, Option<Expr>) {
        let idx = self.maps.index(&map.name, map.span);
        let key = self.map_key(map, cx);
        let key_tys = key.as_ref().map(|k| std::slice::from_ref(&k.ty)).unwrap_or_default();
        if let Some(empty) = key.as_ref().filter(|k| k.ty.size() == 0 && !k.ty.is_error()) {
            self.report(empty_in_a_map(empty));
            return (idx, None);
        }
        if !key_tys.iter().any(Ty::is_error) {
            if let Err(diag) = self.maps.use_key(idx, key_tys, key.as_ref().map_or(map.span, |k| k.span)) {
                self.report(diag);
            }
        }
        (idx, key)
    }

    fn read_map(&mut self, map: &ast::MapRef, cx: &mut ProbeCx<'_>) -> Expr {
        let (idx, key) = self.map_ref(map, cx);
        let ty = match self.maps.read(idx).value.as_ref().map(|v| v.0.clone()) {
            Some(MapValue::Plain(ty)) => ty,
            Some(MapValue::Count) => return aggregate_read(idx, key, Ty::U64, map.span),
            Some(MapValue::Sum(int) | MapValue::Min(int) | MapValue::Max(int) | MapValue::Avg(int)) => {
                return aggregate_read(idx, key, Ty::Int(int), map.span);
            }
            Some(other) => {
                return self.error_expr(
                    Diagnostic::error("E0406", format!("the value of `@{}` cannot be read in a probe", map.name))
                        .with_primary(map.span, format!("it holds a `{}()` aggregation", other.function_name()))
                        .with_help(format!("only count, sum, min, max and avg values can be read; print this one: `print(@{})`", map.name)),
                    map.span,
                );
            }
            None => Ty::Error,
        };
        Expr::new(ExprKind::MapRead { map: idx, key: key.map(Box::new) }, ty, map.span)
    }

    fn unary(&mut self, op: UnaryOp, inner: &ast::Expr, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        if let (UnaryOp::Neg, ast::ExprKind::Int(v)) = (op, &inner.kind) {
            return negative_literal(*v, span).unwrap_or_else(|| {
                self.error_expr(
                    Diagnostic::error("E0407", "integer literal is too small").with_primary(span, "below the smallest int64"),
                    span,
                )
            });
        }
        let e = self.expr(inner, cx);
        if e.ty.is_error() {
            return e;
        }
        let ty = match op {
            UnaryOp::Deref => return self.deref(e, span, cx),
            UnaryOp::LogicalNot => {
                self.expect_condition(&e);
                Ty::Bool
            }
            UnaryOp::Neg | UnaryOp::BitNot => match e.ty.as_int() {
                Some(int) => Ty::Int(IntTy { bits: 64, signed: int.signed || op == UnaryOp::Neg }),
                None => return self.error_expr(operand_error(op.symbol(), &e, "an integer"), span),
            },
        };
        Expr::new(ExprKind::Unary { op, expr: Box::new(e) }, ty, span)
    }

    pub(crate) fn binary(&mut self, op: BinOp, lhs: Expr, rhs: Expr, span: Span) -> Expr {
        if lhs.ty.is_error() || rhs.ty.is_error() {
            return Expr::new(ExprKind::Int(0), Ty::Error, span);
        }
        if op.is_logical() {
            self.expect_condition(&lhs);
            self.expect_condition(&rhs);
            let kind = ExprKind::Logical { and: op == BinOp::LogicalAnd, lhs: Box::new(lhs), rhs: Box::new(rhs) };
            return Expr::new(kind, Ty::Bool, span);
        }
        if let (Ty::Str(_), Ty::Str(_)) = (&lhs.ty, &rhs.ty) {
            return self.string_compare(op, lhs, rhs, span);
        }
        if lhs.ty.fields().is_some() && rhs.ty.fields().is_some() && matches!(op, BinOp::Eq | BinOp::Ne) {
            let Some(common) = unify(&lhs.ty, &rhs.ty) else {
                return self.error_expr(binary_operand_error(op, &lhs, &rhs), span);
            };
            let kind = ExprKind::TupleEq { lhs: Box::new(lhs), rhs: Box::new(rhs), common: storage(&common), negate: op == BinOp::Ne };
            return Expr::new(kind, Ty::Bool, span);
        }
        let Some(signed) = self.arith_signedness(op, &lhs, &rhs) else {
            return Expr::new(ExprKind::Int(0), Ty::Error, span);
        };
        if let Some(diag) = bad_constant_operand(op, &rhs) {
            return self.error_expr(diag, span);
        }
        let ty = if op.is_comparison() {
            Ty::Bool
        } else if matches!(lhs.ty, Ty::Ptr { .. }) && matches!(op, BinOp::Add | BinOp::Sub) && matches!(rhs.ty, Ty::Int(_)) {
            let ty = lhs.ty.clone();
            let rhs = super::pointers::scale_pointer_offset(&ty, rhs);
            return Expr::new(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs), signed }, ty, span);
        } else if matches!(lhs.ty, Ty::Ptr { .. }) {
            lhs.ty.clone()
        } else {
            // bpftrace 0.26: a difference is signed, whatever its operands (`(uint64)1 - 2` is -1).
            Ty::Int(IntTy { bits: 64, signed: signed || op == BinOp::Sub })
        };
        Expr::new(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs), signed }, ty, span)
    }

    /// Whether an integer operation is signed; reports operands that are not numbers.
    fn arith_signedness(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> Option<bool> {
        let pointer_ok = matches!(op, BinOp::Add | BinOp::Sub) || op.is_comparison();
        let numeric = |e: &Expr| match &e.ty {
            // A literal that is not negative is flexible: it takes the other side's sign.
            Ty::Int(int) => Some((int.signed, is_flexible_literal(e))),
            Ty::Bool if op.is_comparison() => Some((false, false)),
            Ty::Ptr { .. } if pointer_ok => Some((false, false)),
            _ => None,
        };
        match (numeric(lhs), numeric(rhs)) {
            (Some((ls, l_literal)), Some((rs, r_literal))) => Some(match (l_literal, r_literal) {
                (true, _) => rs,
                (_, true) => ls,
                _ => ls || rs,
            }),
            (None, _) => {
                self.report(binary_operand_error(op, lhs, rhs));
                None
            }
            (_, None) => {
                self.report(binary_operand_error(op, rhs, lhs));
                None
            }
        }
    }

    fn string_compare(&mut self, op: BinOp, lhs: Expr, rhs: Expr, span: Span) -> Expr {
        if !matches!(op, BinOp::Eq | BinOp::Ne) {
            return self.error_expr(
                Diagnostic::error("E0408", format!("strings cannot be compared with `{}`", op.symbol()))
                    .with_primary(span, "only `==` and `!=` compare strings"),
                span,
            );
        }
        let kind = ExprKind::StrEq { lhs: Box::new(lhs), rhs: Box::new(rhs), negate: op == BinOp::Ne };
        Expr::new(kind, Ty::Bool, span)
    }

    fn ternary(&mut self, cond: &ast::Expr, then_e: &ast::Expr, else_e: &ast::Expr, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let cond = self.expr(cond, cx);
        self.expect_condition(&cond);
        let then_expr = self.expr(then_e, cx);
        let else_expr = self.expr(else_e, cx);
        let ty = match unify(&then_expr.ty, &else_expr.ty) {
            Some(Ty::Int(int)) => Ty::Int(IntTy { bits: 64, signed: int.signed }),
            Some(ty) => ty,
            None => {
                return self.error_expr(
                    Diagnostic::error("E0409", "the two branches of `?:` have different types")
                        .with_primary(then_expr.span, format!("this is `{}`", then_expr.ty))
                        .with_secondary(else_expr.span, format!("this is `{}`", else_expr.ty)),
                    span,
                )
            }
        };
        let kind = ExprKind::Ternary { cond: Box::new(cond), then_expr: Box::new(then_expr), else_expr: Box::new(else_expr) };
        Expr::new(kind, ty, span)
    }

    fn field(&mut self, base: &ast::Expr, field: &ast::Ident, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        if !matches!(&base.kind, ast::ExprKind::Ident(name) if name == "args") {
            let e = self.expr(base, cx);
            if e.ty.is_error() {
                return e;
            }
            let e = match self.member_access(e, field, span, cx) {
                Ok(read) => return read,
                Err(e) => e,
            };
            if let Ty::Record(record) = &e.ty {
                let record = record.clone();
                return self.record_field(e, &record.names, &record.fields, field, span);
            }
            return self.error_expr(
                Diagnostic::error("E0410", format!("`{}` has no fields", e.ty))
                    .with_primary(field.span, "no such field")
                    .with_secondary(e.span, format!("this is `{}`", e.ty)),
                span,
            );
        }
        if cx.attach.provider().context == Context::ArgumentWords {
            return self.argument_word(field, span, cx);
        }
        if matches!(cx.attach, Attach::Uprobe { .. }) {
            return self.user_parameter(base.span, field, span, cx);
        }
        let Some(format) = cx.format else {
            return self.error_expr(
                Diagnostic::error("E0411", "`args` is only available in tracepoint, rawtracepoint, fentry, fexit and uprobe probes")
                    .with_primary(base.span, "this probe has no `args`"),
                span,
            );
        };
        let Some(tp_field) = format.fields.iter().find(|f| f.name == field.name) else {
            let names = format.fields.iter().map(|f| f.name.as_str());
            let diag = Diagnostic::error("E0304", format!("`{}` has no field `{}`", cx.name, field.name))
                .with_primary(field.span, "unknown field")
                .with_note(format!(
                    "its fields: {}",
                    format.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
                ));
            let diag = match did_you_mean(&closest(&field.name, names)) {
                Some(help) => diag.with_help(help),
                None => diag,
            };
            return self.error_expr(diag, span);
        };
        match self.tracepoint_field(tp_field, span, cx) {
            Some(read) => read,
            None => self.error_expr(
                Diagnostic::error("E0412", format!("field `{}` has type `{}`, which ferrotrace cannot read yet", tp_field.name, tp_field.c_type))
                    .with_primary(field.span, "unsupported field type"),
                span,
            ),
        }
    }

    /// A read of a tracepoint's field; `None` for a field of a type ferrotrace cannot read.
    fn tracepoint_field(&mut self, tp_field: &TracepointField, span: Span, cx: &ProbeCx<'_>) -> Option<Expr> {
        let ty = field_type(tp_field, cx.user_pointers, self.config.max_strlen)?;
        // A pointer to a struct or union is typed from the kernel's types, so that a variable
        // holding it reads its members too. Other pointers (`const char *`, mostly) stay
        // untyped until dereferenced, and need no kernel types.
        // An enum field is typed from the kernel's enum too, so that it prints by name.
        let points_to_struct = tp_field.kind == FieldKind::Pointer && ["struct ", "union "].iter().any(|word| tp_field.c_type.contains(word));
        let is_enum = tp_field.kind == FieldKind::Int && tp_field.c_type.starts_with("enum ");
        let typed = (points_to_struct || is_enum).then(|| cx.kernel_types()).flatten().and_then(|btf| super::kernel_types::c_type(btf, &tp_field.c_type, cx.user_pointers));
        let ty = match (typed, &ty) {
            (Some(typed @ Ty::Ptr { .. }), _) => typed,
            (Some(Ty::Enum(mut enumeration)), Ty::Int(int)) => {
                enumeration.int = *int;
                Ty::Enum(enumeration)
            }
            _ => ty,
        };
        Some(Expr::new(ExprKind::TracepointField(Box::new(tp_field.clone())), ty, span))
    }

    /// `args` as a value (`print(args)`, `$a = args`): a record of the tracepoint's fields (those
    /// ferrotrace can read) or of the probe's argument words.
    pub(crate) fn args_value(&mut self, span: Span, cx: &ProbeCx<'_>) -> Expr {
        if matches!(cx.attach, Attach::Uprobe { .. }) {
            return self.user_parameters_value(span, cx);
        }
        let mut names = Vec::new();
        let mut items = Vec::new();
        if cx.attach.provider().context == Context::ArgumentWords {
            for (index, argument) in cx.arguments.iter().enumerate() {
                if argument.name == "retval" {
                    continue;
                }
                names.push(argument.name.clone());
                items.push(Expr::new(ExprKind::ArgumentWord(index as u32), argument.ty.clone(), span));
            }
        } else if let Some(format) = cx.format {
            for tp_field in &format.fields {
                if let Some(read) = self.tracepoint_field(tp_field, span, cx) {
                    names.push(tp_field.name.clone());
                    items.push(read);
                }
            }
        } else {
            return self.error_expr(
                Diagnostic::error("E0411", "`args` is only available in tracepoint, rawtracepoint, fentry, fexit and uprobe probes")
                    .with_primary(span, "this probe has no `args`"),
                span,
            );
        }
        let ty = Ty::record(names, items.iter().map(|item| storage(&item.ty)).collect());
        Expr::new(ExprKind::Tuple(items), ty, span)
    }

    /// `(a = 1, b = "x")`: a record, its fields in the order written.
    fn record(&mut self, fields: &[(ast::Ident, ast::Expr)], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let mut names: Vec<String> = Vec::with_capacity(fields.len());
        for (i, (name, _)) in fields.iter().enumerate() {
            if let Some((first, _)) = fields[..i].iter().find(|(earlier, _)| earlier.name == name.name) {
                self.report(
                    Diagnostic::error("E0455", format!("the record names field `{}` twice", name.name))
                        .with_primary(name.span, "named again here")
                        .with_secondary(first.span, "first named here"),
                );
            }
            names.push(name.name.clone());
        }
        let items: Vec<Expr> = fields.iter().map(|(_, value)| self.tuple_item(value, cx)).collect();
        let ty = Ty::record(names, items.iter().map(|i| storage(&i.ty)).collect());
        Expr::new(ExprKind::Tuple(items), ty, span)
    }

    /// `record.name`.
    fn record_field(&mut self, record: Expr, names: &[String], fields: &[Ty], field: &ast::Ident, span: Span) -> Expr {
        match names.iter().position(|n| *n == field.name) {
            Some(index) => Expr::new(ExprKind::TupleIndex { expr: Box::new(record), index }, fields[index].clone(), span),
            None => {
                let diag = Diagnostic::error("E0410", format!("the record has no field `{}`", field.name))
                    .with_primary(field.span, "no such field")
                    .with_secondary(record.span, format!("this is `{}`", record.ty));
                let diag = match did_you_mean(&closest(&field.name, names.iter().map(String::as_str))) {
                    Some(help) => diag.with_help(help),
                    None => diag.with_note(format!("its fields: {}", names.join(", "))),
                };
                self.error_expr(diag, span)
            }
        }
    }

    fn tuple_index(&mut self, base: &ast::Expr, index: u32, index_span: Span, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let e = self.expr(base, cx);
        self.tuple_field(e, u64::from(index), index_span, span)
    }

    /// `base[index]`: a byte of a string, or a field of a tuple (by a constant index).
    fn index(&mut self, base: &ast::Expr, index: &ast::Expr, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let e = self.expr(base, cx);
        let i = self.expr(index, cx);
        if e.ty.is_error() || i.ty.is_error() {
            return Expr::new(ExprKind::Int(0), Ty::Error, span);
        }
        let e = match self.pointer_index(e, i.clone(), span, cx) {
            Ok(read) => return read,
            Err(e) => e,
        };
        let constant = super::fold::constant(&i);
        match (&e.ty, constant) {
            (Ty::Tuple(_), Some(n)) => match u64::try_from(n) {
                Ok(n) => self.tuple_field(e, n, i.span, span),
                Err(_) => self.out_of_bounds(n, &e, i.span, span),
            },
            (Ty::Tuple(_), None) => self.error_expr(
                Diagnostic::error("E0456", "a tuple's `[]` index must be a constant")
                    .with_primary(i.span, "not known until the probe runs")
                    .with_note("each field of a tuple may have a different type, so the field is chosen when compiling"),
                span,
            ),
            (Ty::Str(size), Some(n)) => {
                if !(0..i128::from(*size)).contains(&n) {
                    return self.out_of_bounds(n, &e, i.span, span);
                }
                let index = Expr::new(ExprKind::Int(n as u64), Ty::U64, i.span);
                Expr::new(ExprKind::StrIndex { expr: Box::new(e), index: Box::new(index) }, Ty::Int(IntTy::I8), span)
            }
            (Ty::Str(_), None) => match i.ty {
                // A computed index outside the string (negative, or past its end) reads 0.
                Ty::Int(_) => Expr::new(ExprKind::StrIndex { expr: Box::new(e), index: Box::new(i) }, Ty::Int(IntTy::I8), span),
                _ => self.error_expr(operand_error("an index", &i, "an integer"), span),
            },
            _ => {
                let diag = Diagnostic::error("E0404", format!("{} `{}` cannot be indexed with `[]`", e.ty.article(), e.ty))
                    .with_primary(e.span, "cannot index this")
                    .with_note("`[]` indexes strings, tuples and maps");
                let diag = match e.ty {
                    Ty::Ptr { .. } => diag.with_help("cast it to a pointer to what it points at: `((uint64 *)p)[i]`"),
                    _ => diag,
                };
                self.error_expr(diag, span)
            }
        }
    }

    fn out_of_bounds(&mut self, n: i128, e: &Expr, at: Span, span: Span) -> Expr {
        let (what, len) = match &e.ty {
            Ty::Str(size) => ("string", *size as usize),
            other => ("tuple", other.fields().map_or(0, <[Ty]>::len)),
        };
        self.error_expr(
            Diagnostic::error("E0457", format!("index {n} is out of bounds"))
                .with_primary(at, format!("the {what} has {len} {}", if what == "string" { "bytes" } else { "fields" }))
                .with_secondary(e.span, format!("this is `{}`", e.ty)),
            span,
        )
    }

    /// Field `index` of the tuple `e`.
    fn tuple_field(&mut self, e: Expr, index: u64, index_span: Span, span: Span) -> Expr {
        let fields = match &e.ty {
            Ty::Error => return e,
            Ty::Tuple(fields) => fields.clone(),
            other => {
                let message = format!("`.{index}` needs a tuple, but this is `{other}`");
                return self.error_expr(Diagnostic::error("E0413", message).with_primary(e.span, "not a tuple"), span);
            }
        };
        match fields.get(index as usize) {
            Some(ty) => Expr::new(ExprKind::TupleIndex { expr: Box::new(e), index: index as usize }, ty.clone(), span),
            None => self.error_expr(
                Diagnostic::error("E0414", format!("tuple index {index} is out of range"))
                    .with_primary(index_span, format!("the tuple has {} fields", fields.len())),
                span,
            ),
        }
    }

    fn inc_dec(&mut self, target: &ast::Expr, increment: bool, prefix: bool, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let target_expr = match &target.kind {
            ast::ExprKind::Var(_) => self.expr(target, cx),
            ast::ExprKind::Map(map) => {
                // `@m++` on a map never assigned creates it as an integer.
                let (idx, key) = self.map_ref(map, cx);
                if let Err(diag) = self.maps.use_value(idx, MapValue::Plain(Ty::I64), span) {
                    self.report(diag);
                }
                self.read_map_value(idx, key, map.span)
            }
            _ => {
                let op = if increment { "++" } else { "--" };
                return self.error_expr(
                    Diagnostic::error("E0415", format!("`{op}` needs a variable or a map"))
                        .with_primary(target.span, "not a variable or map"),
                    span,
                );
            }
        };
        match target_expr.ty {
            Ty::Error => target_expr,
            Ty::Int(_) | Ty::Ptr { .. } => {
                let ty = target_expr.ty.clone();
                Expr::new(ExprKind::IncDec { target: Box::new(target_expr), increment, prefix }, ty, span)
            }
            _ => self.error_expr(operand_error(if increment { "++" } else { "--" }, &target_expr, "an integer"), span),
        }
    }

    /// A read of a map whose value type is already known to be plain.
    fn read_map_value(&mut self, idx: hir::MapIdx, key: Option<Expr>, span: Span) -> Expr {
        let ty = match self.maps.read(idx).value.as_ref().map(|v| &v.0) {
            Some(MapValue::Plain(ty)) => ty.clone(),
            _ => Ty::Error,
        };
        Expr::new(ExprKind::MapRead { map: idx, key: key.map(Box::new) }, ty, span)
    }

    fn cast(&mut self, ty: &ast::TypeSpec, inner: &ast::Expr, span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        // `(uint8[])x`: an array as long as the value's bytes make, as bpftrace sizes it.
        if let ast::TypeSpec::Named(name) = ty {
            if let Some(elem) = name.name.strip_suffix("[]") {
                let e = self.expr(inner, cx);
                if e.ty.is_error() {
                    return e;
                }
                let elem_size = crate::sema::written_types::named_type(elem, self.config.max_strlen).map_or(0, |elem| elem.size());
                let len = if elem_size > 0 && e.ty.size().is_multiple_of(elem_size) { e.ty.size() / elem_size } else { 0 };
                let sized = ast::TypeSpec::Named(ast::Ident { name: format!("{elem}[{len}]"), span: name.span });
                let Some(to) = self.written_type(&sized, cx) else { return self.error_expr_silent(span) };
                return self.cast_value(to, e, ty, span);
            }
        }
        let Some(to) = self.written_type(ty, cx) else {
            // Check the operand anyway, for its own errors.
            let _ = self.expr(inner, cx);
            return self.error_expr_silent(span);
        };
        let e = self.expr(inner, cx);
        self.cast_value(to, e, ty, span)
    }

    /// `e` converted to `to`, as a cast does.
    fn cast_value(&mut self, to: Ty, e: Expr, ty: &ast::TypeSpec, span: Span) -> Expr {
        match to {
            // True when not zero (a pointer when not null).
            Ty::Bool => match &e.ty {
                Ty::Error | Ty::Bool => e,
                Ty::Int(_) | Ty::Ptr { .. } => {
                    let zero = Expr::new(ExprKind::Int(0), e.ty.clone(), e.span);
                    Expr::new(ExprKind::Binary { op: BinOp::Ne, lhs: Box::new(e), rhs: Box::new(zero), signed: false }, Ty::Bool, span)
                }
                _ => self.error_expr(operand_error("a cast to `bool`", &e, "an integer or a pointer"), span),
            },
            Ty::Int(to) => match &e.ty {
                Ty::Error => e,
                Ty::Int(_) | Ty::Bool | Ty::Ptr { .. } => Expr::new(ExprKind::Cast { to, expr: Box::new(e) }, Ty::Int(to), span),
                // An integer array of the integer's size, its bytes read as the integer.
                Ty::Array { elem, .. } if matches!(**elem, Ty::Int(_)) && e.ty.size() == to.bytes() => {
                    Expr::new(ExprKind::Bitcast(Box::new(e)), Ty::Int(to), span)
                }
                _ => self.error_expr(operand_error("a cast", &e, "an integer"), span),
            },
            // An integer as a C enum, its value printed by name: `(enum pid_type)x`.
            Ty::Enum(enumeration) => match &e.ty {
                Ty::Error => e,
                Ty::Int(_) | Ty::Bool => {
                    let int = enumeration.int;
                    Expr::new(ExprKind::Cast { to: int, expr: Box::new(e) }, Ty::Enum(enumeration), span)
                }
                _ => self.error_expr(operand_error("a cast to an enum", &e, "an integer"), span),
            },
            // An integer's bytes as an array of smaller integers, its size at most the integer's
            // (`(uint8[8])x`, as bpftrace casts an address to its bytes).
            Ty::Array { ref elem, .. } if matches!(**elem, Ty::Int(_)) && to.size() <= 8 => match &e.ty {
                Ty::Error => e,
                Ty::Int(_) => Expr::new(ExprKind::Bitcast(Box::new(e)), to, span),
                _ => self.error_expr(operand_error("a cast to an array", &e, "an integer"), span),
            },
            // A pointer is its address: the same 64 bits, typed anew. A kernel pointer stays one
            // and an integer (`arg0`) is taken to point into the kernel, as in bpftrace.
            Ty::Ptr { pointee, .. } => match &e.ty {
                Ty::Error => e,
                Ty::Int(_) | Ty::Ptr { .. } => {
                    let user = matches!(e.ty, Ty::Ptr { user: true, .. });
                    Expr::new(e.kind, Ty::Ptr { pointee, user }, span)
                }
                _ => self.error_expr(operand_error("a cast to a pointer", &e, "an integer or a pointer"), span),
            },
            // The string a pointer points at, read into a buffer of the size written:
            // `(string[64])args.filename` is `str(args.filename, 64)`.
            Ty::Str(size) if matches!(e.ty, Ty::Ptr { .. }) => {
                let user = matches!(e.ty, Ty::Ptr { user: true, .. });
                Expr::new(ExprKind::ReadStr { ptr: Box::new(e), size: None, user }, Ty::Str(size), span)
            }
            other => self.error_expr(
                Diagnostic::error("E0474", format!("cannot cast to `{other}`"))
                    .with_primary(ty.span(), format!("this is `{other}`"))
                    .with_help("a cast converts to an integer type, `bool`, an enum, a pointer, an integer array, or (from a pointer) `string[N]`"),
                span,
            ),
        }
    }

    /// Reports a condition that is not an integer, bool or pointer.
    pub(crate) fn expect_condition(&mut self, e: &Expr) {
        if !matches!(e.ty, Ty::Int(_) | Ty::Bool | Ty::Ptr { .. } | Ty::Error) {
            self.report(
                Diagnostic::error("E0417", format!("{} `{}` cannot be used as a condition", e.ty.article(), e.ty))
                    .with_primary(e.span, "not true or false")
                    .with_help(if matches!(e.ty, Ty::Str(_)) { "compare it: `x == \"text\"`" } else { "compare it with a value" }),
            );
        }
    }
}

/// The value of an aggregation map, its CPUs' values combined.
fn aggregate_read(map: hir::MapIdx, key: Option<Expr>, ty: Ty, span: Span) -> Expr {
    Expr::new(ExprKind::AggregateRead { map, key: key.map(Box::new) }, ty, span)
}

/// Whether `e` is an integer literal that is not negative: bpftrace 0.26 lets it take the sign
/// of what it meets. So is an unsigned `getopt` value read at load time, which stands for such a
/// literal (its values are never negative), so that a pack computes as the script does.
pub(crate) fn is_flexible_literal(e: &Expr) -> bool {
    match (&e.kind, &e.ty) {
        (ExprKind::Int(v), Ty::Int(int)) => !int.signed || *v as i64 >= 0,
        (ExprKind::LoadParam(_), Ty::Int(int)) => !int.signed,
        _ => false,
    }
}

/// The error for a value of no bytes (`()`) as a map key or value: kernel maps cannot hold one.
pub(crate) fn empty_in_a_map(e: &Expr) -> Diagnostic {
    Diagnostic::error("E0471", format!("a map cannot hold `{}`, which has no bytes", e.ty))
        .with_primary(e.span, "an empty value")
        .with_help("store a value, or use a keyless map: `@m = 1`")
}

/// The type of an integer literal.
pub(crate) fn literal_type(v: u64) -> IntTy {
    // bpftrace 0.26: the smallest signed type that holds it, `uint64` past the largest int64.
    match v {
        0..=0x7f => IntTy::I8,
        0x80..=0x7fff => IntTy::I16,
        0x8000..=0x7fff_ffff => IntTy::I32,
        0x8000_0000..=0x7fff_ffff_ffff_ffff => IntTy::I64,
        _ => IntTy::U64,
    }
}

/// `-v` folded into a signed literal of the smallest type, if it fits in an int64.
pub(crate) fn negative_literal(v: u64, span: Span) -> Option<Expr> {
    let value = 0i64.checked_sub_unsigned(v)?;
    let bits = if value >= i64::from(i8::MIN) {
        8
    } else if value >= i64::from(i16::MIN) {
        16
    } else if value >= i64::from(i32::MIN) {
        32
    } else {
        64
    };
    Some(Expr::new(ExprKind::Int(value as u64), Ty::Int(IntTy { bits, signed: true }), span))
}

pub(crate) fn int_type_named(name: &str) -> Option<IntTy> {
    Some(match name {
        "uint8" | "u8" | "uint8_t" => IntTy::U8,
        "uint16" | "u16" | "uint16_t" => IntTy::U16,
        "uint32" | "u32" | "uint32_t" => IntTy::U32,
        "uint64" | "u64" | "uint64_t" => IntTy::U64,
        "int8" | "s8" | "int8_t" => IntTy::I8,
        "int16" | "s16" | "int16_t" => IntTy::I16,
        "int32" | "s32" | "int32_t" => IntTy::I32,
        "int64" | "s64" | "int64_t" => IntTy::I64,
        _ => return None,
    })
}

/// The language type of a tracepoint field, if ferrotrace can read it.
fn field_type(field: &TracepointField, user_pointers: bool, max_strlen: u32) -> Option<Ty> {
    match field.kind {
        FieldKind::Int => {
            let bits = u8::try_from(field.size * 8).ok().filter(|b| matches!(b, 8 | 16 | 32 | 64))?;
            Some(Ty::Int(IntTy { bits, signed: field.signed }))
        }
        FieldKind::Pointer => Some(Ty::void_ptr(user_pointers)),
        FieldKind::CharArray(n) => Some(Ty::Str(n)),
        FieldKind::IntArray(len) => {
            let bits = u8::try_from(field.size.checked_div(len)? * 8).ok().filter(|b| matches!(b, 8 | 16 | 32 | 64))?;
            Some(Ty::Array { elem: Box::new(Ty::Int(IntTy { bits, signed: field.signed })), len })
        }
        FieldKind::DataLocString => Some(Ty::Str(max_strlen)),
        FieldKind::Other => None,
    }
}

/// Whether a value of this type can be stored, printed or used as a key.
pub(crate) fn is_value(ty: &Ty) -> bool {
    !matches!(ty, Ty::Void | Ty::Struct(_))
}

pub(crate) fn value_expected(e: &Expr) -> Diagnostic {
    match &e.ty {
        Ty::Struct(strukt) => Diagnostic::error("E0481", format!("a whole `{}` cannot be stored or printed", strukt.name))
            .with_primary(e.span, "a struct in kernel memory")
            .with_help("read its members: `s.member`, or `p->member` through a pointer"),
        _ => Diagnostic::error("E0418", "this expression has no value").with_primary(e.span, "it returns nothing"),
    }
}

pub(crate) fn operand_error(what: &str, e: &Expr, expected: &str) -> Diagnostic {
    Diagnostic::error("E0419", format!("{what} needs {expected}, but this is `{}`", e.ty))
        .with_primary(e.span, format!("this is `{}`", e.ty))
}

fn binary_operand_error(op: BinOp, bad: &Expr, other: &Expr) -> Diagnostic {
    let diag = Diagnostic::error("E0420", format!("`{}` cannot be applied to `{}` and `{}`", op.symbol(), bad.ty, other.ty))
        .with_primary(bad.span, format!("this is `{}`", bad.ty))
        .with_secondary(other.span, format!("this is `{}`", other.ty));
    if matches!(bad.ty, Ty::Str(_)) && !matches!(other.ty, Ty::Str(_)) {
        diag.with_help("a string is not a number; only `==` and `!=` compare strings, with strings")
    } else {
        diag
    }
}

/// A literal right operand the kernel would refuse: division by zero, a shift of 64 or more.
fn bad_constant_operand(op: BinOp, rhs: &Expr) -> Option<Diagnostic> {
    let ExprKind::Int(value) = rhs.kind else { return None };
    let value = value as i64;
    match op {
        BinOp::Div | BinOp::Mod if value == 0 => Some(
            Diagnostic::error("E0422", format!("`{}` by zero", op.symbol()))
                .with_primary(rhs.span, "this is zero")
                .with_help("a division by zero is refused by the kernel; divide by a non-zero value"),
        ),
        BinOp::Shl | BinOp::Shr if !(0..64).contains(&value) => Some(
            Diagnostic::error("E0423", format!("cannot shift by {value}"))
                .with_primary(rhs.span, "shifts take 0 to 63")
                .with_help("integers have 64 bits: shift by 0 to 63"),
        ),
        _ => None,
    }
}

/// `N` of a builtin named `prefix` followed by the decimal `N` (`arg3`, `sarg0`).
fn numbered(name: &str, prefix: &str) -> Option<usize> {
    name.strip_prefix(prefix).filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).and_then(|n| n.parse().ok())
}

/// Stack word `word` above the return address at a function's entry (`sargN`; `argN` past
/// the registers is word `N - 6`): on x86-64 the caller pushed it, and `sp` points to the
/// return address. Read from user memory in a uprobe and from kernel memory in a kprobe, as
/// bpftrace reads it; only at the function's first instruction is `sp` there.
pub(super) fn stack_word(word: usize, user: bool, span: Span) -> Option<Expr> {
    let offset = word.checked_add(1)?.checked_mul(8).and_then(|offset| i32::try_from(offset).ok())?;
    let sp = Expr::new(ExprKind::Register(crate::pt_regs::STACK_POINTER), Ty::ptr(Ty::I64, user), span);
    Some(Expr::new(ExprKind::Deref { ptr: Box::new(sp), offset: offset as u32, user, member: false, field: None }, Ty::I64, span))
}
