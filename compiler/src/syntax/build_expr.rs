//! Parse tree to AST for expressions: precedence climbing, prefix and postfix operators,
//! literals and maps.
//!
//! The grammar hands over each expression flat (`unary (infix_op unary)* [? expr : expr]`);
//! `climb` applies C's precedence, all binary operators associating to the left.

use std::iter::Peekable;

use ferrotrace_grammar::Rule;
use pest::iterators::{Pair, Pairs};

use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::ast::{BinOp, Expr, ExprKind, Ident, MapRef, TypeSpec, UnaryOp};
use super::build::{placeholder, Builder};
use super::codes;
use super::literal;
use super::trim;

/// The binary operator written as `text`, if it is one.
pub(super) fn binary_op(text: &str) -> Option<BinOp> {
    let op = match text {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "&" => BinOp::BitAnd,
        "|" => BinOp::BitOr,
        "^" => BinOp::BitXor,
        "<<" => BinOp::Shl,
        ">>" => BinOp::Shr,
        "&&" => BinOp::LogicalAnd,
        "||" => BinOp::LogicalOr,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        _ => return None,
    };
    Some(op)
}

/// `$name` as an identifier without the `$`.
pub(super) fn var_ident(pair: &Pair<'_, Rule>) -> Ident {
    let text = pair.as_str();
    Ident { name: text.strip_prefix('$').unwrap_or(text).to_string(), span: trim::token_span(pair) }
}

type Operands = Peekable<std::vec::IntoIter<(BinOp, Expr)>>;

impl Builder {
    /// Builds an `expr` pair: a binary chain with an optional ternary tail.
    /// A chain of n operands is n levels deep: n - 1 `Binary` nodes under a possible `Ternary`.
    pub(super) fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = trim::span(&pair);
        if pair.as_rule() == Rule::if_expr {
            return self.if_expr(pair);
        }
        if pair.as_rule() == Rule::block_expr {
            let block = pair.into_inner().next().map(|b| self.block(b));
            return block.map_or_else(|| placeholder(span), |block| Expr { kind: ExprKind::Block(block), span });
        }
        let children = pair.into_inner();
        let levels = children.clone().filter(|child| child.as_rule() == Rule::unary).count();
        self.nested_by(levels, span, |builder| builder.expr_at_depth(children, span))
            .unwrap_or_else(|| placeholder(span))
    }

    fn expr_at_depth(&mut self, children: Pairs<'_, Rule>, span: Span) -> Expr {
        let mut first = None;
        let mut rest = Vec::new();
        let mut pending_op = None;
        let mut branches = Vec::new();
        for child in children {
            match child.as_rule() {
                Rule::unary => {
                    let operand = self.unary(child);
                    match pending_op.take() {
                        Some(op) => rest.push((op, operand)),
                        None => first = Some(operand),
                    }
                }
                Rule::infix_op => pending_op = binary_op(child.as_str()),
                Rule::expr => branches.push(self.expr(child)),
                Rule::elvis => {
                    // `a ?: b` is `a ? a : b`: `a` is evaluated again when it is true.
                    let otherwise = self.first_expr(child, span);
                    let cond = climb(first.take().unwrap_or_else(|| placeholder(span)), &mut std::mem::take(&mut rest).into_iter().peekable(), 0);
                    branches = vec![cond.clone(), otherwise];
                    first = Some(cond);
                }
                _ => {}
            }
        }
        let cond = climb(first.unwrap_or_else(|| placeholder(span)), &mut rest.into_iter().peekable(), 0);
        let mut branches = branches.into_iter();
        match (branches.next(), branches.next()) {
            (Some(then_expr), Some(else_expr)) => Expr {
                kind: ExprKind::Ternary {
                    cond: Box::new(cond),
                    then_expr: Box::new(then_expr),
                    else_expr: Box::new(else_expr),
                },
                span,
            },
            _ => cond,
        }
    }

    /// Prefix operators and casts, an operand, then postfix operators; each operator nests.
    fn unary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let children = pair.clone().into_inner();
        let operators = children.len().saturating_sub(1);
        if operators == 0 {
            // A bare operand nests no deeper; its span is not needed here.
            return self.unary_at_depth(children);
        }
        let span = trim::span(&pair);
        self.nested_by(operators, span, |builder| builder.unary_at_depth(children))
            .unwrap_or_else(|| placeholder(span))
    }

    fn unary_at_depth(&mut self, children: Pairs<'_, Rule>) -> Expr {
        let mut prefixes = Vec::new();
        let mut operand = None;
        for child in children {
            match child.as_rule() {
                Rule::prefix_op | Rule::cast => prefixes.push(child),
                Rule::post_inc_dec
                | Rule::tuple_index
                | Rule::field_access
                | Rule::arrow_access
                | Rule::index => {
                    let base = operand.take().unwrap_or_else(|| placeholder(trim::span(&child)));
                    operand = Some(self.postfix(base, child));
                }
                _ => operand = Some(self.operand(child)),
            }
        }
        let end_span = prefixes.last().map(|p| trim::span(p));
        let mut expr = operand.unwrap_or_else(|| placeholder(end_span.unwrap_or_default()));
        for prefix in prefixes.into_iter().rev() {
            expr = self.prefix(prefix, expr);
        }
        expr
    }

    fn prefix(&mut self, pair: Pair<'_, Rule>, expr: Expr) -> Expr {
        let span = trim::span(&pair).to(expr.span);
        let kind = match (pair.as_rule(), pair.as_str()) {
            (Rule::cast, _) => {
                let ty = match pair.into_inner().next() {
                    Some(ty) if ty.as_rule() == Rule::typeof_type => self.typeof_type(ty),
                    Some(ty) => TypeSpec::Named(written_type(&ty)),
                    None => TypeSpec::Named(Ident { name: String::new(), span }),
                };
                ExprKind::Cast { ty, expr: Box::new(expr) }
            }
            (_, "++") => self.inc_dec(expr, trim::span(&pair), true, true),
            (_, "--") => self.inc_dec(expr, trim::span(&pair), false, true),
            (_, "-") => ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(expr) },
            (_, "!") => ExprKind::Unary { op: UnaryOp::LogicalNot, expr: Box::new(expr) },
            (_, "*") => ExprKind::Unary { op: UnaryOp::Deref, expr: Box::new(expr) },
            (_, "comptime") => ExprKind::Comptime(Box::new(expr)),
            _ => ExprKind::Unary { op: UnaryOp::BitNot, expr: Box::new(expr) },
        };
        Expr { kind, span }
    }

    fn postfix(&mut self, base: Expr, pair: Pair<'_, Rule>) -> Expr {
        let op_span = trim::span(&pair);
        let span = base.span.to(op_span);
        let kind = match pair.as_rule() {
            Rule::post_inc_dec => self.inc_dec(base, op_span, pair.as_str() == "++", false),
            Rule::tuple_index => self.tuple_index(base, pair),
            Rule::field_access | Rule::arrow_access => {
                let arrow = pair.as_rule() == Rule::arrow_access;
                let field = pair.into_inner().next().map_or_else(
                    || Ident { name: String::new(), span: op_span },
                    |name| Ident { name: name.as_str().to_string(), span: trim::token_span(&name) },
                );
                ExprKind::Field { expr: Box::new(base), field, arrow }
            }
            _ => {
                let index = self.first_expr(pair, op_span);
                ExprKind::Index { expr: Box::new(base), index: Box::new(index) }
            }
        };
        Expr { kind, span }
    }

    fn tuple_index(&mut self, base: Expr, pair: Pair<'_, Rule>) -> ExprKind {
        let digits = pair.into_inner().next();
        let index_span = digits.as_ref().map_or(base.span, |d| trim::token_span(d));
        let text = digits.as_ref().map_or("", |d| d.as_str());
        let index = text.parse::<u32>().unwrap_or_else(|_| {
            self.diagnostics.push(
                Diagnostic::error(codes::BAD_INTEGER, format!("tuple index `{text}` is too large"))
                    .with_primary(index_span, "a tuple index must fit in 32 bits"),
            );
            0
        });
        ExprKind::TupleIndex { expr: Box::new(base), index, index_span }
    }

    /// `++`/`--` on `target`, which must be a variable or a map.
    fn inc_dec(&mut self, target: Expr, op_span: Span, increment: bool, prefix: bool) -> ExprKind {
        if !matches!(target.kind, ExprKind::Var(_) | ExprKind::Map(_)) {
            let op = if increment { "++" } else { "--" };
            self.diagnostics.push(
                Diagnostic::error(codes::BAD_INC_DEC_TARGET, format!("`{op}` needs a variable or a map"))
                    .with_primary(target.span, "this is neither a `$variable` nor an `@map`")
                    .with_secondary(op_span, format!("`{op}` applied here")),
            );
        }
        ExprKind::IncDec { target: Box::new(target), increment, prefix }
    }

    /// The operand of a unary expression: a literal, name, call, map, variable or parentheses.
    fn operand(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let token = trim::token_span(&pair);
        let kind = match pair.as_rule() {
            Rule::int_lit => ExprKind::Int(self.int(&pair)),
            Rule::string_lit => ExprKind::Str(self.string(pair)),
            Rule::bool_lit => ExprKind::Bool(pair.as_str() == "true"),
            Rule::var => ExprKind::Var(var_ident(&pair).name),
            Rule::positional => match &pair.as_str()[1..] {
                "#" => ExprKind::ParamCount,
                digits => ExprKind::Positional(digits.parse().unwrap_or(u64::MAX)),
            },
            Rule::map => {
                let map = self.map_ref(pair);
                return Expr { span: map.span, kind: ExprKind::Map(map) };
            }
            Rule::name_or_call => return self.name_or_call(pair),
            Rule::parenthesized => return self.parenthesized(pair),
            Rule::record => return self.record(pair),
            Rule::sizeof_expr => {
                let span = trim::span(&pair);
                let operand = pair.into_inner().find(|c| c.as_rule() != Rule::kw_sizeof);
                return Expr { kind: ExprKind::Sizeof(self.type_operand(operand, span)), span };
            }
            Rule::offsetof_expr => {
                let span = trim::span(&pair);
                let mut parts = pair.into_inner().filter(|c| c.as_rule() != Rule::kw_offsetof);
                let ty = self.type_operand(parts.next(), span);
                let path = parts.map(|field| Ident { name: field.as_str().to_string(), span: trim::token_span(&field) }).collect();
                return Expr { kind: ExprKind::Offsetof { ty, path }, span };
            }
            Rule::container_of_expr => {
                let span = trim::span(&pair);
                let mut parts = pair.into_inner().filter(|c| c.as_rule() != Rule::kw_container_of);
                let ptr = match parts.next() {
                    Some(ptr) => self.expr(ptr),
                    None => placeholder(span),
                };
                let ty = self.type_operand(parts.next(), span);
                let path = parts.map(|field| Ident { name: field.as_str().to_string(), span: trim::token_span(&field) }).collect();
                return Expr { kind: ExprKind::ContainerOf { ptr: Box::new(ptr), ty, path }, span };
            }
            Rule::unsupported_expr => {
                let span = trim::span(&pair);
                self.unsupported(&pair);
                return placeholder(span);
            }
            _ => return placeholder(trim::span(&pair)),
        };
        Expr { kind, span: token }
    }

    /// `typeof(struct x)` or `typeof(e)`.
    pub(super) fn typeof_type(&mut self, pair: Pair<'_, Rule>) -> TypeSpec {
        let span = trim::span(&pair);
        let operand = pair.into_inner().find(|c| c.as_rule() != Rule::kw_typeof);
        self.type_operand(operand, span)
    }

    /// What `sizeof`, `offsetof` and `typeof` take: a kernel type by name (`struct x`), or an
    /// expression, of which a bare type name (`uint32`) is told apart while checking.
    fn type_operand(&mut self, operand: Option<Pair<'_, Rule>>, span: Span) -> TypeSpec {
        match operand {
            Some(pair) if pair.as_rule() == Rule::typeof_type => self.typeof_type(pair),
            Some(pair) if pair.as_rule() == Rule::struct_type => {
                let name = pair.as_str().split_whitespace().collect::<Vec<_>>().join(" ");
                TypeSpec::Named(Ident { name, span: trim::span(&pair) })
            }
            Some(pair) => TypeSpec::Typeof(Box::new(self.expr(pair))),
            None => TypeSpec::Typeof(Box::new(placeholder(span))),
        }
    }

    /// `(a)` is `a` itself; `(a, b, ...)`, `(a,)` and `()` are tuples.
    fn parenthesized(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = trim::span(&pair);
        let mut trailing_comma = false;
        let mut elements = Vec::new();
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::trailing_comma => trailing_comma = true,
                _ => elements.push(self.expr(child)),
            }
        }
        match elements.len() {
            1 if !trailing_comma => elements.pop().unwrap_or_else(|| placeholder(span)),
            _ => Expr { kind: ExprKind::Tuple(elements), span },
        }
    }

    /// `(name = value, ...)`.
    fn record(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = trim::span(&pair);
        let fields = pair
            .into_inner()
            .filter_map(|field| {
                let mut parts = field.into_inner();
                let name = parts.next()?;
                let name = Ident { name: name.as_str().to_string(), span: trim::token_span(&name) };
                Some((name, self.expr(parts.next()?)))
            })
            .collect();
        Expr { kind: ExprKind::Record(fields), span }
    }

    /// A name alone is an identifier (`comm`); with arguments it is a call (`count()`).
    fn name_or_call(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = trim::span(&pair);
        let mut children = pair.into_inner();
        let Some(ident) = children.next() else { return placeholder(span) };
        let name = Ident { name: ident.as_str().to_string(), span: trim::token_span(&ident) };
        match children.next() {
            Some(args) => {
                let args = args.into_inner().map(|arg| self.expr(arg)).collect();
                Expr { kind: ExprKind::Call { name, args }, span }
            }
            None => Expr { kind: ExprKind::Ident(name.name), span: name.span },
        }
    }

    pub(super) fn map_ref(&mut self, pair: Pair<'_, Rule>) -> MapRef {
        let span = trim::span(&pair);
        let mut name = String::new();
        let mut keys = Vec::new();
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::map_name => name = child.as_str().trim_start_matches('@').to_string(),
                _ => keys.push(self.expr(child)),
            }
        }
        MapRef { name, keys, span }
    }

    /// `if (c) { a } else { b }` as a value: `c ? { a } : { b }`.
    fn if_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = trim::span(&pair);
        let mut cond = None;
        let mut branches = Vec::new();
        for child in pair.into_inner() {
            let child_span = trim::span(&child);
            match child.as_rule() {
                Rule::expr => cond = Some(self.expr(child)),
                Rule::block => branches.push(Expr { kind: ExprKind::Block(self.block(child)), span: child_span }),
                Rule::if_expr => branches.push(self.if_expr(child)),
                _ => {}
            }
        }
        let mut branches = branches.into_iter();
        let (Some(then_expr), Some(else_expr)) = (branches.next(), branches.next()) else { return placeholder(span) };
        let cond = cond.unwrap_or_else(|| placeholder(span));
        Expr { kind: ExprKind::Ternary { cond: Box::new(cond), then_expr: Box::new(then_expr), else_expr: Box::new(else_expr) }, span }
    }

    fn first_expr(&mut self, pair: Pair<'_, Rule>, span: Span) -> Expr {
        match pair.into_inner().find(|child| child.as_rule() == Rule::expr) {
            Some(expr) => self.expr(expr),
            None => placeholder(span),
        }
    }

    pub(super) fn int(&mut self, pair: &Pair<'_, Rule>) -> u64 {
        literal::decode_int(pair.as_str()).unwrap_or_else(|error| {
            let mut diagnostic = Diagnostic::error(codes::BAD_INTEGER, error.message)
                .with_primary(trim::span(pair), "invalid integer literal");
            if let Some(help) = error.help {
                diagnostic = diagnostic.with_help(help);
            }
            self.diagnostics.push(diagnostic);
            0
        })
    }

    pub(super) fn string(&mut self, pair: Pair<'_, Rule>) -> Vec<u8> {
        let Some(body) = pair.into_inner().next() else { return Vec::new() };
        let body_start = body.as_span().start();
        literal::decode_string(body.as_str()).unwrap_or_else(|errors| {
            for error in errors {
                let span = Span::new(body_start + error.start, body_start + error.end);
                self.diagnostics.push(
                    Diagnostic::error(codes::BAD_ESCAPE, error.message)
                        .with_primary(span, "invalid escape")
                        .with_help("the escapes are `\\n`, `\\t`, `\\r`, `\\\\`, `\\\"`, `\\0nn` (octal) and `\\xnn` (hex)"),
                );
            }
            Vec::new()
        })
    }
}

/// Precedence climbing over `lhs (op rhs)*`: folds operators binding at least `min` tightly.
fn climb(mut lhs: Expr, rest: &mut Operands, min: u8) -> Expr {
    while let Some(op) = rest.peek().map(|(op, _)| *op).filter(|&op| op.precedence() >= min) {
        let Some((_, mut rhs)) = rest.next() else { break };
        while let Some(next) = rest.peek().map(|(next, _)| *next) {
            if next.precedence() <= op.precedence() {
                break;
            }
            rhs = climb(rhs, rest, op.precedence() + 1);
        }
        let span = lhs.span.to(rhs.span);
        lhs = Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span };
    }
    lhs
}

/// A type written in a cast or a `let` (`cast_type`), as one name with single spaces:
/// `struct sock *`, `uint8[8]`, `int8 **`, `pid_t *`.
pub(super) fn written_type(pair: &Pair<'_, Rule>) -> Ident {
    let mut name = String::new();
    for part in pair.clone().into_inner() {
        match part.as_rule() {
            Rule::array_len => name.push_str(&format!("[{}]", part.as_str().trim_start_matches('[').trim_end_matches(']').trim())),
            Rule::pointer => {
                name.push(' ');
                name.extend(part.as_str().chars().filter(|c| *c == '*'));
            }
            _ => name.push_str(&part.as_str().split_whitespace().collect::<Vec<_>>().join(" ")),
        }
    }
    Ident { name, span: trim::token_span(pair) }
}
