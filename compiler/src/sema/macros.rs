//! Macros, expanded in the AST before checking: a call `name(args)` (or a bare `name` for a
//! macro without parameters) becomes a block expression holding the macro's body.
//!
//! Expansion is hygienic. A `$var` parameter and an `@map` parameter stand for the caller's
//! variable or map (by reference); an expression parameter `x` is the argument expression,
//! written in wherever `x` appears. A `$var` parameter given an expression instead of a
//! variable (`add1(41)`, which bpftrace refuses) gets its value, in a variable of the
//! expansion's own. Every other variable of the body is renamed per expansion,
//! so it can neither see nor clobber the caller's; a map the body names without receiving it is
//! an error. Macros may call macros, never themselves, even through others.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::syntax::ast::{Block, Expr, ExprKind, ForSource, Ident, MacroDef, MacroParam, MapRef, Program, Stmt, StmtKind, TypeSpec};

/// How deep expansions may nest before the script is refused (a chain, not a cycle).
const MAX_DEPTH: usize = 64;

/// `program` with every macro call expanded, the library's (`stdlib::library_macros`)
/// included; the program itself when it defines no macros and calls none of the library's.
pub(super) fn expand(program: &Program) -> Result<Cow<'_, Program>, Vec<Diagnostic>> {
    let library = crate::stdlib::library_macros();
    let library_names: Vec<&str> = library.iter().map(|m| m.name.name.as_str()).collect();
    if program.macros.is_empty() && !program.probes.iter().any(|p| mentions_any(p, &library_names)) {
        return Ok(Cow::Borrowed(program));
    }
    let mut expander = Expander { macros: HashMap::new(), diags: Vec::new(), chain: Vec::new(), expansions: 0 };
    for def in library {
        if !program.macros.iter().any(|own| own.name.name == def.name.name && same_signature(own, def)) {
            expander.macros.entry(def.name.name.as_str()).or_default().push(def);
        }
    }
    for def in &program.macros {
        let overloads = expander.macros.entry(def.name.name.as_str()).or_default();
        if let Some(same) = overloads.iter().find(|known| same_signature(known, def)) {
            expander.diags.push(
                Diagnostic::error("E0446", format!("macro `{}` is defined twice with the same parameters", def.name.name))
                    .with_primary(def.name.span, "defined again here")
                    .with_secondary(same.name.span, "first defined here"),
            );
        }
        overloads.push(def);
    }
    let top = Scope::default();
    let mut expanded = program.clone();
    expanded.macros.clear();
    for probe in &mut expanded.probes {
        probe.predicate = probe.predicate.as_ref().map(|p| expander.expr(p, &top));
        probe.body = expander.block(&probe.body, &top);
    }
    match expander.diags.is_empty() {
        true => Ok(Cow::Owned(expanded)),
        false => Err(expander.diags),
    }
}

/// Whether `probe` calls or names any of `names`.
pub(super) fn mentions_any(probe: &crate::syntax::ast::Probe, names: &[&str]) -> bool {
    fn block(b: &Block, names: &[&str]) -> bool {
        b.stmts.iter().any(|s| stmt(s, names))
    }
    fn stmt(s: &Stmt, names: &[&str]) -> bool {
        match &s.kind {
            StmtKind::Expr(e) | StmtKind::Discard(e) => expr(e, names),
            StmtKind::AssignMap { map, value, .. } => map.keys.iter().any(|k| expr(k, names)) || expr(value, names),
            StmtKind::AssignVar { value, .. } => expr(value, names),
            StmtKind::Let { value, .. } | StmtKind::Return(value) => value.as_ref().is_some_and(|v| expr(v, names)),
            StmtKind::If { cond, then_block, else_block } => {
                expr(cond, names) || block(then_block, names) || else_block.as_ref().is_some_and(|b| block(b, names))
            }
            StmtKind::Block(b) | StmtKind::While { body: b, .. } | StmtKind::Unroll { body: b, .. } => block(b, names),
            StmtKind::For { body, source, .. } => {
                block(body, names)
                    || matches!(source, ForSource::Range { start, end } if expr(start, names) || expr(end, names))
            }
            StmtKind::Break | StmtKind::Continue => false,
        }
    }
    fn expr(e: &Expr, names: &[&str]) -> bool {
        let named = match &e.kind {
            ExprKind::Call { name, .. } => names.contains(&name.name.as_str()),
            ExprKind::Ident(name) => names.contains(&name.as_str()),
            ExprKind::Block(b) => block(b, names),
            _ => false,
        };
        let mut found = named;
        e.children(&mut |child| found |= expr(child, names));
        found
    }
    probe.predicate.as_ref().is_some_and(|p| expr(p, names)) || block(&probe.body, names)
}

/// Whether two definitions take the same kinds of parameters, in the same order.
fn same_signature(a: &MacroDef, b: &MacroDef) -> bool {
    a.params.len() == b.params.len()
        && a.params.iter().zip(&b.params).all(|(x, y)| std::mem::discriminant(x) == std::mem::discriminant(y))
}

struct Expander<'p> {
    macros: HashMap<&'p str, Vec<&'p MacroDef>>,
    diags: Vec<Diagnostic>,
    /// The macros being expanded, outermost first, with where each was called.
    chain: Vec<(&'p str, Span)>,
    /// Expansions so far, to name each one's variables apart.
    expansions: u32,
}

/// What names mean inside the body being expanded; empty outside any macro.
#[derive(Default)]
struct Scope {
    /// The macro, when inside one.
    inside: Option<(String, u32)>,
    /// `$param` to the caller's variable.
    vars: HashMap<String, String>,
    /// `@param` to the caller's map.
    maps: HashMap<String, String>,
    /// `param` to the argument expression.
    exprs: HashMap<String, Expr>,
}

impl Scope {
    /// The name variable `$name` has after expansion.
    fn var(&self, name: &str) -> String {
        match (&self.inside, self.vars.get(name)) {
            (_, Some(caller)) => caller.clone(),
            (None, None) => name.to_string(),
            (Some((macro_name, n)), None) => format!("${macro_name}.{n}.{name}"),
        }
    }
}

impl<'p> Expander<'p> {
    fn block(&mut self, block: &Block, scope: &Scope) -> Block {
        Block { stmts: block.stmts.iter().map(|s| self.stmt(s, scope)).collect(), has_value: block.has_value, span: block.span }
    }

    fn ident(&self, ident: &Ident, scope: &Scope) -> Ident {
        Ident { name: scope.var(&ident.name), span: ident.span }
    }

    fn stmt(&mut self, stmt: &Stmt, scope: &Scope) -> Stmt {
        let kind = match &stmt.kind {
            StmtKind::Expr(e) => StmtKind::Expr(self.expr(e, scope)),
            StmtKind::Discard(e) => StmtKind::Discard(self.expr(e, scope)),
            StmtKind::AssignMap { map, op, value } => {
                StmtKind::AssignMap { map: self.map(map, scope), op: *op, value: self.expr(value, scope) }
            }
            StmtKind::AssignVar { var, op, value } => {
                StmtKind::AssignVar { var: self.ident(var, scope), op: *op, value: self.expr(value, scope) }
            }
            StmtKind::Let { var, ty, value } => StmtKind::Let {
                var: self.ident(var, scope),
                ty: match ty {
                    Some(TypeSpec::Typeof(of)) => Some(TypeSpec::Typeof(Box::new(self.expr(of, scope)))),
                    other => other.clone(),
                },
                value: value.as_ref().map(|v| self.expr(v, scope)),
            },
            StmtKind::If { cond, then_block, else_block } => StmtKind::If {
                cond: self.expr(cond, scope),
                then_block: self.block(then_block, scope),
                else_block: else_block.as_ref().map(|b| self.block(b, scope)),
            },
            StmtKind::Return(value) => StmtKind::Return(value.as_ref().map(|v| self.expr(v, scope))),
            StmtKind::Break => StmtKind::Break,
            StmtKind::Continue => StmtKind::Continue,
            StmtKind::Block(block) => StmtKind::Block(self.block(block, scope)),
            StmtKind::For { var, source, body } => StmtKind::For {
                var: self.ident(var, scope),
                source: match source {
                    ForSource::Map(map) => ForSource::Map(self.map(map, scope)),
                    ForSource::Range { start, end } => ForSource::Range { start: self.expr(start, scope), end: self.expr(end, scope) },
                },
                body: self.block(body, scope),
            },
            StmtKind::While { cond, body } => StmtKind::While { cond: self.expr(cond, scope), body: self.block(body, scope) },
            StmtKind::Unroll { count, body } => StmtKind::Unroll { count: self.expr(count, scope), body: self.block(body, scope) },
        };
        Stmt { kind, span: stmt.span }
    }

    /// A map reference: a map parameter becomes the caller's map; any other map named inside a
    /// macro is an error.
    fn map(&mut self, map: &MapRef, scope: &Scope) -> MapRef {
        let keys = map.keys.iter().map(|k| self.expr(k, scope)).collect();
        let name = match (&scope.inside, scope.maps.get(&map.name)) {
            (_, Some(caller)) => caller.clone(),
            (None, None) => map.name.clone(),
            (Some((macro_name, _)), None) => {
                self.diags.push(
                    Diagnostic::error("E0443", format!("macro `{macro_name}` uses `@{}`, which it was not given", map.name))
                        .with_primary(map.span, "a map from outside the macro")
                        .with_help(format!("pass the map in: `macro {macro_name}(@{}, ...)`", map.name)),
                );
                map.name.clone()
            }
        };
        MapRef { name, keys, span: map.span }
    }

    fn expr(&mut self, e: &Expr, scope: &Scope) -> Expr {
        let kind = match &e.kind {
            ExprKind::Var(name) => ExprKind::Var(scope.var(name)),
            ExprKind::Map(map) => ExprKind::Map(self.map(map, scope)),
            ExprKind::Ident(name) => {
                if let Some(arg) = scope.exprs.get(name) {
                    return arg.clone();
                }
                match self.macros.get(name.as_str()).is_some_and(|defs| defs.iter().any(|d| d.params.is_empty())) {
                    true => return self.call(&Ident { name: name.clone(), span: e.span }, &[], e.span, scope),
                    false => ExprKind::Ident(name.clone()),
                }
            }
            ExprKind::Call { name, args } if self.macros.contains_key(name.name.as_str()) => {
                return self.call(name, args, e.span, scope);
            }
            ExprKind::Call { name, args } => {
                ExprKind::Call { name: name.clone(), args: args.iter().map(|a| self.expr(a, scope)).collect() }
            }
            ExprKind::Block(block) => ExprKind::Block(self.block(block, scope)),
            _ => {
                let mut copy = e.clone();
                copy.children_mut(&mut |child| *child = self.expr(child, scope));
                return copy;
            }
        };
        Expr { kind, span: e.span }
    }

    /// Expands a call of macro `name`: its body as a block expression.
    fn call(&mut self, name: &Ident, args: &[Expr], span: Span, scope: &Scope) -> Expr {
        let placeholder = Expr { kind: ExprKind::Int(0), span };
        let args: Vec<Expr> = args.iter().map(|a| self.expr(a, scope)).collect();
        let defs = self.macros.get(name.name.as_str()).cloned().unwrap_or_default();
        let Some(def) = defs.iter().copied().find(|def| accepts(def, &args)) else {
            self.diags.push(no_matching_definition(name, &args, &defs, span));
            return placeholder;
        };
        if let Some(at) = self.chain.iter().position(|(n, _)| *n == def.name.name) {
            let names: Vec<&str> = self.chain[at..].iter().map(|(n, _)| *n).chain([def.name.name.as_str()]).collect();
            self.diags.push(
                Diagnostic::error("E0445", format!("macro `{}` calls itself: {}", def.name.name, names.join(" > ")))
                    .with_primary(span, "this call closes the cycle")
                    .with_secondary(self.chain[at].1, format!("`{}` is expanded from here", self.chain[at].0)),
            );
            return placeholder;
        }
        if self.chain.len() >= MAX_DEPTH {
            self.diags.push(
                Diagnostic::error("E0445", format!("macros nest more than {MAX_DEPTH} deep"))
                    .with_primary(span, "this call"),
            );
            return placeholder;
        }
        self.expansions += 1;
        let mut inner = Scope { inside: Some((def.name.name.clone(), self.expansions)), ..Scope::default() };
        let mut by_value = Vec::new();
        for (param, arg) in def.params.iter().zip(args) {
            match (param, arg.kind) {
                (MacroParam::Var(p), ExprKind::Var(caller)) => {
                    inner.vars.insert(p.name.clone(), caller);
                }
                (MacroParam::Var(p), kind) => {
                    let var = Ident { name: inner.var(&p.name), span: p.span };
                    let value = Expr { kind, span: arg.span };
                    by_value.push(Stmt { kind: StmtKind::AssignVar { var, op: None, value }, span: arg.span });
                }
                (MacroParam::Map(p), ExprKind::Map(caller)) => {
                    inner.maps.insert(p.name.clone(), caller.name);
                }
                (MacroParam::Expr(p), kind) => {
                    inner.exprs.insert(p.name.clone(), Expr { kind, span: arg.span });
                }
                _ => unreachable!("`accepts` checked the kinds"),
            }
        }
        self.chain.push((&def.name.name, span));
        let mut body = self.block(&def.body, &inner);
        self.chain.pop();
        if crate::stdlib::library_macros().iter().any(|library| std::ptr::eq(library, def)) {
            // The library's text is not the script's: report everything it does at the call.
            relocate_block(&mut body, span);
        }
        body.stmts.splice(0..0, by_value);
        Expr { kind: ExprKind::Block(body), span }
    }
}

/// Gives every node of `block` the span `span`.
fn relocate_block(block: &mut Block, span: Span) {
    block.span = span;
    for stmt in &mut block.stmts {
        stmt.span = span;
        let mut each = |e: &mut Expr| relocate_expr(e, span);
        match &mut stmt.kind {
            StmtKind::Expr(e) | StmtKind::Discard(e) => each(e),
            StmtKind::AssignMap { map, value, .. } => {
                map.span = span;
                map.keys.iter_mut().for_each(&mut each);
                each(value);
            }
            StmtKind::AssignVar { var, value, .. } => {
                var.span = span;
                each(value);
            }
            StmtKind::Let { var, value, .. } => {
                var.span = span;
                value.iter_mut().for_each(each);
            }
            StmtKind::Return(value) => value.iter_mut().for_each(each),
            StmtKind::If { cond, then_block, else_block } => {
                each(cond);
                relocate_block(then_block, span);
                else_block.iter_mut().for_each(|b| relocate_block(b, span));
            }
            StmtKind::Block(b) => relocate_block(b, span),
            StmtKind::While { cond, body } => {
                each(cond);
                relocate_block(body, span);
            }
            StmtKind::Unroll { count, body } => {
                each(count);
                relocate_block(body, span);
            }
            StmtKind::For { var, source, body } => {
                var.span = span;
                match source {
                    ForSource::Map(map) => map.span = span,
                    ForSource::Range { start, end } => {
                        each(start);
                        each(end);
                    }
                }
                relocate_block(body, span);
            }
            StmtKind::Break | StmtKind::Continue => {}
        }
    }
}

/// `Expr::relocate`, into block expressions too.
fn relocate_expr(e: &mut Expr, span: Span) {
    e.relocate(span);
    relocate_nested_blocks(e, span);
}

fn relocate_nested_blocks(e: &mut Expr, span: Span) {
    if let ExprKind::Block(block) = &mut e.kind {
        relocate_block(block, span);
    }
    e.children_mut(&mut |child| relocate_nested_blocks(child, span));
}

/// Whether `def` takes `args`: as many, `$var` parameters given anything but a map, `@map`
/// parameters whole maps, expression parameters anything.
fn accepts(def: &MacroDef, args: &[Expr]) -> bool {
    def.params.len() == args.len() && def.params.iter().zip(args).all(|(param, arg)| accepts_one(param, arg))
}

fn no_matching_definition(name: &Ident, args: &[Expr], defs: &[&MacroDef], span: Span) -> Diagnostic {
    let closest = defs.iter().min_by_key(|d| d.params.len().abs_diff(args.len()));
    let diag = Diagnostic::error("E0444", format!("the arguments of `{}()` match no definition of it", name.name))
        .with_primary(span, "this call");
    let Some(def) = closest else { return diag };
    if def.params.len() != args.len() {
        return diag
            .with_secondary(def.name.span, format!("takes {} argument(s), not {}", def.params.len(), args.len()));
    }
    let mismatch = def.params.iter().zip(args).find(|(param, arg)| !accepts_one(param, arg));
    match mismatch {
        Some((param, arg)) => {
            let wanted = match param {
                MacroParam::Var(p) => format!("a variable or a value for `${}`, not a map", p.name),
                MacroParam::Map(p) => format!("a whole map for `@{}`", p.name),
                MacroParam::Expr(p) => format!("an expression for `{}`", p.name),
            };
            diag.with_secondary(arg.span, format!("`{}` expects {wanted}", name.name))
                .with_secondary(param.ident().span, "this parameter")
        }
        None => diag,
    }
}

fn accepts_one(param: &MacroParam, arg: &Expr) -> bool {
    match (param, &arg.kind) {
        (MacroParam::Var(_), ExprKind::Map(_)) => false,
        (MacroParam::Var(_), _) | (MacroParam::Expr(_), _) => true,
        (MacroParam::Map(_), ExprKind::Map(map)) => map.keys.is_empty(),
        _ => false,
    }
}
