//! Type checking of function calls: the registry (`crate::stdlib`) finds each function's
//! check; the checks of printf, print, exit, clear, zero, delete and str live here, and the
//! aggregations' as the value of a map assignment.

use super::expr::value_expected;
use super::hir::{Action, Expr, ExprKind, MapIdx};
use super::{Checker, ProbeCx};
use crate::catalog::KernelMember;
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::config::Unstable;
use crate::manifest::{MapValue, Stream, TseriesAgg, TSERIES_MAX_INTERVALS};
use crate::printf;
use crate::span::Span;
use crate::syntax::ast;
use crate::types::{IntTy, Ty};
use crate::stdlib;

impl Checker {
    /// A call `name(args)`, or a bare `name` that is a builtin: checked by its registry entry.
    pub(crate) fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        match stdlib::lookup(&name.name) {
            Some(function) => (function.check)(self, &stdlib::Call { name, args, span }, cx),
            None => self.unknown_function(name, span),
        }
    }

    /// The error for a call with the wrong number of arguments.
    pub(crate) fn arity_error(&mut self, call: &stdlib::Call<'_>, expected: &str) -> Expr {
        self.error_expr(arity(call.name, expected, call.args.len(), call.span), call.span)
    }

    /// The index of the map named by `map` (its keys, if any, are the caller's business).
    pub(crate) fn map_index(&mut self, map: &ast::MapRef) -> MapIdx {
        self.maps.index(&map.name, map.span)
    }

    /// The value kind of map `idx` as known so far (`None` before any probe gives it a value).
    pub(crate) fn map_value(&mut self, idx: MapIdx) -> Option<crate::manifest::MapValue> {
        self.maps.read(idx).value.as_ref().map(|v| v.0.clone())
    }

    /// The size of strings and buffers read from memory (`max_strlen`).
    pub(crate) fn max_strlen(&self) -> u32 {
        self.config.max_strlen
    }

    /// Notes that a probe reads kernel struct `members` (their offsets come from the catalog
    /// after checking); `span` is where.
    pub(crate) fn need_members(&mut self, members: &[KernelMember], span: Span) {
        for &member in members {
            if !self.kernel_members.iter().any(|(known, _)| *known == member) {
                self.kernel_members.push((member, span));
            }
        }
    }

    /// Notes that a probe needs the id of the cgroup at `path` (read from the catalog after
    /// checking); `span` is where.
    pub(crate) fn need_cgroup_id(&mut self, path: &str, span: Span) {
        if !self.cgroup_paths.iter().any(|(known, _)| known == path) {
            self.cgroup_paths.push((path.to_string(), span));
        }
    }

    /// Notes that a probe needs the address of kernel symbol `name` (read from the catalog after
    /// checking); `span` is where.
    pub(crate) fn need_kernel_symbol(&mut self, name: &str, span: Span) {
        if !self.kernel_symbol_names.iter().any(|(known, _)| known == name) {
            self.kernel_symbol_names.push((name.to_string(), span));
        }
    }

    /// How stacks print unless a `kstack`/`ustack` names a mode (`stack_mode`).
    pub(crate) fn stack_mode(&self) -> crate::config::StackMode {
        self.config.stack_mode
    }

    /// The pid of the command `-c` started, if there is one.
    pub(crate) fn child_pid(&self) -> Option<u32> {
        self.child_pid
    }

    /// Whether unsafe functions are refused (no `--unsafe`).
    pub(crate) fn safe_mode(&self) -> bool {
        !self.unsafe_functions
    }

    /// `None` when unsafe functions are allowed (`--unsafe`); otherwise the error for `call`.
    pub(crate) fn require_unsafe(&mut self, call: &stdlib::Call<'_>) -> Option<Expr> {
        if self.unsafe_functions {
            return None;
        }
        let name = &call.name.name;
        Some(self.error_expr(
            Diagnostic::error("E0517", format!("`{name}` is unsafe: it changes the system, not only observes it"))
                .with_primary(call.span, "needs `--unsafe`")
                .with_help("run with `--unsafe` to allow it"),
            call.span,
        ))
    }

    /// Notes that the script reads `comm`, whose lowering depends on the kernel.
    pub(crate) fn note_comm_read(&mut self) {
        self.reads_comm = true;
    }

    /// Notes that a probe reads `pid` or `tid` as seen from ferrotrace's PID namespace.
    pub(crate) fn note_namespaced_id_read(&mut self) {
        self.reads_namespaced_ids = true;
    }

    fn unknown_function(&mut self, name: &ast::Ident, span: Span) -> Expr {
        let diag = Diagnostic::error("E0305", format!("unknown function `{}`", name.name)).with_primary(name.span, "no such function");
        let diag = match did_you_mean(&closest(&name.name, stdlib::all_names())) {
            Some(help) => diag.with_help(help),
            None => diag,
        };
        self.error_expr(diag, span)
    }

    /// `printf`, `errorf` and `warnf`: a literal format and its arguments.
    pub(crate) fn printf(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span, cx: &mut ProbeCx<'_>, stream: Stream) -> Expr {
        let Some((fmt, rest)) = args.split_first() else {
            return self.error_expr(arity(name, "a format string", 0, span), span);
        };
        let ast::ExprKind::Str(format) = &fmt.kind else {
            return self.error_expr(
                Diagnostic::error("E0502", "the format of `printf` must be a string literal")
                    .with_primary(fmt.span, "not a string literal"),
                span,
            );
        };
        let values: Vec<Expr> = rest.iter().map(|a| self.action_arg(a, cx)).collect();
        let pieces = match printf::parse_format(format) {
            Ok(pieces) => pieces,
            Err(err) => {
                let at = format_span(fmt.span, err.range.clone());
                return self.error_expr(Diagnostic::error("E0503", err.message.clone()).with_primary(at, "in this format"), span);
            }
        };
        if values.iter().any(|v| v.ty.is_error()) {
            return Expr::new(ExprKind::Int(0), Ty::Error, span);
        }
        let types: Vec<Ty> = values.iter().map(|v| v.ty.clone()).collect();
        if let Err(errors) = printf::check_args(&pieces, &types) {
            for err in errors {
                let at = err.arg.and_then(|i| values.get(i)).map_or(fmt.span, |v| v.span);
                self.report(Diagnostic::error("E0504", err.message.clone()).with_primary(at, "in this printf").with_secondary(fmt.span, "the format"));
            }
            return Expr::new(ExprKind::Int(0), Ty::Error, span);
        }
        if let (Stream::Stdout, crate::manifest::Attach::Iter { .. }) = (&stream, cx.attach) {
            return match crate::seq_format::format(&pieces, &types) {
                Ok(format) => Expr::new(ExprKind::Action(Box::new(Action::SeqPrintf { format, args: values })), Ty::Void, span),
                Err(err) => {
                    let at = err.arg.and_then(|i| values.get(i)).map_or(fmt.span, |v| v.span);
                    let diag = Diagnostic::error("E0214", err.message)
                        .with_primary(at, "in this printf")
                        .with_secondary(fmt.span, "the format")
                        .with_note("an iter probe's printf writes into the iterator's output, formatted by the kernel: `%d %i %u %x %X %c %s %p`, flags `- 0 + space`, a width, `l` and `ll`")
                        .with_help("print the value with `print()`, which the runtime formats after the iteration");
                    self.error_expr(diag, span)
                }
            };
        }
        Expr::new(ExprKind::Action(Box::new(Action::Printf { format: pieces, args: values, stream })), Ty::Void, span)
    }

    /// An argument copied into a ring buffer record: stored in its storage form.
    fn action_arg(&mut self, arg: &ast::Expr, cx: &mut ProbeCx<'_>) -> Expr {
        let e = self.value_expr(arg, cx);
        let e = self.value_of(e, cx);
        if !super::expr::is_value(&e.ty) {
            return self.error_expr(value_expected(&e), arg.span);
        }
        e
    }

    pub(crate) fn print(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        match args {
            [] => self.error_expr(arity(name, "a map or a value", 0, span), span),
            [ast::Expr { kind: ast::ExprKind::Map(map), .. }, rest @ ..] if map.keys.is_empty() && rest.len() <= 2 => {
                let idx = self.maps.index(&map.name, map.span);
                let top = rest.first().map_or(Some(0), const_u64);
                let div = rest.get(1).map_or(Some(0), const_u64);
                match (top, div) {
                    (Some(top), Some(div)) => Expr::new(ExprKind::Action(Box::new(Action::PrintMap { map: idx, top, div })), Ty::Void, span),
                    _ => self.error_expr(
                        Diagnostic::error("E0505", "`print`'s `top` and `div` must be integer literals")
                            .with_primary(rest[0].span.to(rest[rest.len() - 1].span), "not a literal"),
                        span,
                    ),
                }
            }
            [value] => {
                let e = self.action_arg(value, cx);
                if e.ty.is_error() {
                    return e;
                }
                Expr::new(ExprKind::Action(Box::new(Action::PrintValue(Box::new(e)))), Ty::Void, span)
            }
            _ => self.error_expr(arity(name, "one value, or a map with optional top and div", args.len(), span), span),
        }
    }

    pub(crate) fn exit(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        if cx.loop_depth > 0 {
            return self.error_expr(Diagnostic::error("E0430", "`exit()` cannot be called inside a loop")
                .with_primary(span, "inside `for` or `while`")
                .with_help("set a variable, `break` out of the loop, and call `exit()` after it"), span);
        }
        let code = match args {
            [] => None,
            [code] => {
                let e = self.expr(code, cx);
                if !matches!(e.ty, Ty::Int(_) | Ty::Error) {
                    return self.error_expr(super::expr::operand_error("`exit`", &e, "an integer exit code"), span);
                }
                Some(Box::new(e))
            }
            _ => return self.error_expr(arity(name, "at most one exit code", args.len(), span), span),
        };
        Expr::new(ExprKind::Action(Box::new(Action::Exit(code))), Ty::Void, span)
    }

    pub(crate) fn map_action(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> Expr {
        let Some(idx) = self.map_argument(name, args, span) else {
            return Expr::new(ExprKind::Int(0), Ty::Error, span);
        };
        let action = if name.name == "clear" { Action::Clear(idx) } else { Action::Zero(idx) };
        Expr::new(ExprKind::Action(Box::new(action)), Ty::Void, span)
    }

    /// The single `@map` argument of `clear`/`zero`.
    fn map_argument(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> Option<MapIdx> {
        match args {
            [ast::Expr { kind: ast::ExprKind::Map(map), .. }] if map.keys.is_empty() => {
                Some(self.maps.index(&map.name, map.span))
            }
            [other] => {
                self.report(Diagnostic::error("E0506", format!("`{}` takes a whole map, like `{}(@name)`", name.name, name.name))
                    .with_primary(other.span, "not a map name"));
                None
            }
            _ => {
                self.report(arity(name, "one map", args.len(), span));
                None
            }
        }
    }

    pub(crate) fn delete(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let (map, key) = match args {
            [ast::Expr { kind: ast::ExprKind::Map(map), .. }] => (map.clone(), None),
            [ast::Expr { kind: ast::ExprKind::Map(map), .. }, key] if map.keys.is_empty() => (map.clone(), Some(key)),
            _ => return self.error_expr(arity(name, "a map and a key: `delete(@m, key)`", args.len(), span), span),
        };
        let map = match key {
            Some(key) => ast::MapRef { keys: flatten_tuple(key), ..map },
            None => map,
        };
        let (idx, key) = self.map_ref(&map, cx);
        Expr::new(ExprKind::Delete { map: idx, key: key.map(Box::new) }, Ty::Bool, span)
    }

    pub(crate) fn str_call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span, cx: &mut ProbeCx<'_>) -> Expr {
        let (ptr, size) = match args {
            [ptr] => (ptr, None),
            [ptr, size] => (ptr, Some(size)),
            _ => return self.error_expr(arity(name, "a pointer and an optional length", args.len(), span), span),
        };
        if let Some(text) = self.positional_text(ptr, size, span) {
            return text;
        }
        let ptr = self.expr(ptr, cx);
        let size_expr = size.map(|s| self.expr(s, cx));
        let buffer = match size_expr.as_ref().map(|s| (&s.kind, &s.ty)) {
            Some((ExprKind::Int(n), _)) => (*n).clamp(1, u64::from(self.config.max_strlen)) as u32,
            Some((_, Ty::Int(_) | Ty::Error)) | None => self.config.max_strlen,
            Some((_, ty)) => {
                let message = format!("the length of `str` must be an integer, not `{ty}`");
                return self.error_expr(Diagnostic::error("E0507", message).with_primary(size.map_or(span, |s| s.span), "not an integer"), span);
            }
        };
        let user = match &ptr.ty {
            Ty::Error => return ptr,
            Ty::Str(_) => return ptr,
            Ty::Ptr { user, .. } => *user,
            Ty::Int(_) => cx.user_pointers,
            other => {
                let message = format!("`str` reads from a pointer, not a `{other}`");
                return self.error_expr(Diagnostic::error("E0508", message).with_primary(ptr.span, "not a pointer"), span);
            }
        };
        let size = size_expr.filter(|s| !matches!(s.kind, ExprKind::Int(_))).map(Box::new);
        Expr::new(ExprKind::ReadStr { ptr: Box::new(ptr), size, user }, Ty::Str(buffer), span)
    }

    /// Checks the aggregation call on the right of `@m[k] = f(args)`; returns its map value
    /// kind and its argument.
    pub(crate) fn aggregation(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span, cx: &mut ProbeCx<'_>) -> Option<(MapValue, Option<Expr>)> {
        let want = |n: usize| if n == 0 { "no arguments".to_string() } else { format!("{n} argument(s)") };
        let expected = match name.name.as_str() {
            "count" => 0,
            "sum" | "min" | "max" | "avg" | "stats" => 1,
            "hist" if args.len() == 2 => 2,
            "hist" => 1,
            "lhist" => 4,
            "tseries" if args.len() == 4 => 4,
            "tseries" => 3,
            _ => return None,
        };
        if args.len() != expected {
            self.report(arity(name, &want(expected), args.len(), span));
            return Some((MapValue::Plain(Ty::Error), None));
        }
        let value = args.first().map(|a| self.expr(a, cx));
        let int = match value.as_ref().map(|v| &v.ty) {
            None => IntTy::U64,
            Some(Ty::Int(int)) => IntTy { bits: 64, signed: int.signed },
            Some(Ty::Error) => return Some((MapValue::Plain(Ty::Error), None)),
            Some(other) => {
                let message = format!("`{}()` aggregates integers, not `{other}`", name.name);
                self.report(Diagnostic::error("E0509", message).with_primary(args[0].span, "not an integer"));
                return Some((MapValue::Plain(Ty::Error), None));
            }
        };
        let kind = match name.name.as_str() {
            "count" => MapValue::Count,
            "sum" => MapValue::Sum(int),
            "min" => MapValue::Min(int),
            "max" => MapValue::Max(int),
            "avg" => MapValue::Avg(int),
            "stats" => MapValue::Stats(int),
            "hist" => self.hist_kind(&args[1..])?,
            "tseries" => self.tseries_kind(&args[1..], span)?,
            _ => self.lhist_kind(&args[1..], span)?,
        };
        Some((kind, value))
    }

    fn hist_kind(&mut self, rest: &[ast::Expr]) -> Option<MapValue> {
        let k = match rest.first() {
            None => 0,
            Some(arg) => match const_u64(arg).filter(|&k| k <= 5) {
                Some(k) => k as u8,
                None => {
                    self.report(Diagnostic::error("E0510", "the second argument of `hist` must be a literal from 0 to 5")
                        .with_primary(arg.span, "not 0..=5"));
                    return Some(MapValue::Plain(Ty::Error));
                }
            },
        };
        Some(MapValue::Hist { k })
    }

    fn tseries_kind(&mut self, rest: &[ast::Expr], span: Span) -> Option<MapValue> {
        let interval = rest.first().and_then(const_u64).filter(|&n| n >= 1);
        let intervals = rest.get(1).and_then(const_u64).filter(|&n| (1..=u64::from(TSERIES_MAX_INTERVALS)).contains(&n));
        let (Some(interval_ns), Some(intervals)) = (interval, intervals) else {
            self.report(
                Diagnostic::error("E0468", "`tseries` needs an interval of at least 1 ns and a number of intervals, both literals")
                    .with_primary(rest[0].span.to(rest[1].span), format!("the interval (`100ms`, `1s`) and 1 to {TSERIES_MAX_INTERVALS} intervals"))
                    .with_secondary(span, "in this tseries"),
            );
            return Some(MapValue::Plain(Ty::Error));
        };
        let agg = match rest.get(2).map(|a| &a.kind) {
            None => TseriesAgg::Last,
            Some(ast::ExprKind::Str(name)) => match name.as_slice() {
                b"avg" => TseriesAgg::Avg,
                b"max" => TseriesAgg::Max,
                b"min" => TseriesAgg::Min,
                b"sum" => TseriesAgg::Sum,
                _ => return self.bad_tseries_agg(&rest[2]),
            },
            Some(_) => return self.bad_tseries_agg(&rest[2]),
        };
        let unstable = |d: Diagnostic| {
            d.with_primary(span, "tseries is unstable in bpftrace 0.26")
                .with_help("set `config = { unstable_tseries = enable }` to use it without this")
        };
        match self.config.unstable_tseries {
            Unstable::Enable => {}
            Unstable::Warn => self.report(unstable(Diagnostic::warning("W0408", "`tseries` is an unstable feature"))),
            Unstable::Error => {
                self.report(unstable(Diagnostic::error("E0470", "`tseries` is an unstable feature, and `unstable_tseries` is `error`")));
                return Some(MapValue::Plain(Ty::Error));
            }
        }
        Some(MapValue::Tseries { interval_ns, intervals: intervals as u32, agg })
    }

    fn bad_tseries_agg(&mut self, arg: &ast::Expr) -> Option<MapValue> {
        self.report(
            Diagnostic::error("E0469", "`tseries` combines an interval's values by \"avg\", \"max\", \"min\" or \"sum\"")
                .with_primary(arg.span, "not one of them")
                .with_note("without it, an interval shows the last value written"),
        );
        Some(MapValue::Plain(Ty::Error))
    }

    fn lhist_kind(&mut self, rest: &[ast::Expr], span: Span) -> Option<MapValue> {
        let values: Vec<Option<i64>> = rest.iter().map(const_i64).collect();
        let [Some(min), Some(max), Some(step)] = values[..] else {
            self.report(Diagnostic::error("E0511", "`lhist`'s min, max and step must be integer literals")
                .with_primary(rest[0].span.to(rest[2].span), "not all literals"));
            return Some(MapValue::Plain(Ty::Error));
        };
        if step <= 0 || max <= min || (max - min) / step > 10_000 {
            self.report(Diagnostic::error("E0512", "`lhist` needs min < max, a positive step, and at most 10000 buckets")
                .with_primary(rest[0].span.to(rest[2].span), format!("min {min}, max {max}, step {step}"))
                .with_secondary(span, "in this lhist"));
            return Some(MapValue::Plain(Ty::Error));
        }
        Some(MapValue::Lhist { min, max, step })
    }
}

fn arity(name: &ast::Ident, expected: &str, got: usize, span: Span) -> Diagnostic {
    Diagnostic::error("E0513", format!("`{}` takes {expected}, but was given {got} argument(s)", name.name))
        .with_primary(span, "wrong number of arguments")
        .with_secondary(name.span, "this function")
}

/// `(a, b)` as a key of `delete(@m, (a, b))` means the keys `a, b`.
pub(crate) fn flatten_tuple(key: &ast::Expr) -> Vec<ast::Expr> {
    match &key.kind {
        ast::ExprKind::Tuple(items) => items.clone(),
        _ => vec![key.clone()],
    }
}

fn const_u64(e: &ast::Expr) -> Option<u64> {
    match e.kind {
        ast::ExprKind::Int(v) => Some(v),
        _ => None,
    }
}

fn const_i64(e: &ast::Expr) -> Option<i64> {
    match &e.kind {
        ast::ExprKind::Int(v) => i64::try_from(*v).ok(),
        ast::ExprKind::Unary { op: ast::UnaryOp::Neg, expr } => const_u64(expr).and_then(|v| 0i64.checked_sub_unsigned(v)),
        _ => None,
    }
}

/// The span of bytes `range` of a string literal's contents (approximate when escapes precede).
fn format_span(literal: Span, range: std::ops::Range<usize>) -> Span {
    let start = literal.start as usize + 1 + range.start;
    let end = (literal.start as usize + 1 + range.end).min(literal.end as usize);
    Span::new(start.min(end), end)
}
