//! Parse tree to AST for probes and statements; expressions are in `build_expr`.
//!
//! The builder keeps going after an error so one run reports every problem it can find: a bad
//! construct becomes a placeholder node plus a diagnostic, and any diagnostic fails the parse.

use ferrotrace_grammar::Rule;
use pest::iterators::Pair;

use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::ast::{
    AttachPoint, Block, ConfigItem, Expr, ExprKind, ForSource, MacroDef, MacroParam, MapDeclaration, Probe, Program, Stmt, StmtKind,
};
use crate::config::ConfigValue;
use super::codes;
use super::trim;

/// Builds the AST from the `program` pair, or returns the diagnostics found on the way.
pub fn program(pair: Pair<'_, Rule>, span: Span) -> Result<Program, Vec<Diagnostic>> {
    let mut builder = Builder::default();
    let mut probes = Vec::new();
    let mut config: Option<(Vec<ConfigItem>, Span)> = None;
    let mut macros = Vec::new();
    let mut map_decls = Vec::new();
    let mut c_definitions = Vec::new();
    for child in pair.into_inner() {
        match child.as_rule() {
            Rule::c_definition => {
                match builder.c_parser.definition(child.as_str(), child.as_span().start()) {
                    Ok(definition) => c_definitions.push(definition),
                    Err(diagnostic) => builder.diagnostics.push(diagnostic),
                }
            }
            Rule::probe => probes.push(builder.probe(child)),
            Rule::macro_def => macros.push(builder.macro_def(child)),
            Rule::map_decl => map_decls.push(builder.map_decl(child)),
            Rule::unsupported => builder.unsupported(&child),
            Rule::config_block => {
                let block_span = trim::span(&child);
                let items = builder.config_block(child);
                match &config {
                    Some((_, first)) => builder.diagnostics.push(
                        Diagnostic::error(codes::DUPLICATE_CONFIG, "a script has one `config` block")
                            .with_primary(block_span, "a second config block")
                            .with_secondary(*first, "the first one")
                            .with_help("put every key in one block"),
                    ),
                    None => config = Some((items, block_span)),
                }
            }
            _ => {}
        }
    }
    if builder.diagnostics.is_empty() {
        let config = config.map(|(items, _)| items).unwrap_or_default();
        Ok(Program { config, probes, defines: Vec::new(), macros, map_decls, c_definitions, warnings: Vec::new(), span })
    } else {
        Err(builder.diagnostics)
    }
}

/// Builds one expression from an `expr` pair, or returns the diagnostics found on the way.
pub fn expression(pair: Pair<'_, Rule>) -> Result<Expr, Vec<Diagnostic>> {
    let mut builder = Builder::default();
    let expr = builder.expr(pair);
    match builder.diagnostics.is_empty() {
        true => Ok(expr),
        false => Err(builder.diagnostics),
    }
}

/// How deep the AST may be. Operator chains and `else if` chains nest without brackets, and
/// every consumer of the AST recurses over it, so its depth is bounded here.
const MAX_DEPTH: usize = 200;

/// Collects diagnostics while it builds AST nodes.
#[derive(Default)]
pub(super) struct Builder {
    pub(super) diagnostics: Vec<Diagnostic>,
    /// How many `expr` and `block` nodes enclose the one being built.
    depth: usize,
    /// The parser of the script's C definitions, which remembers their enum constants.
    c_parser: super::c_decl::CParser,
}

impl Builder {
    /// Runs `build` one level deeper, or reports the nesting and returns `None` past the limit.
    pub(super) fn nested<T>(&mut self, span: Span, build: impl FnOnce(&mut Builder) -> T) -> Option<T> {
        self.nested_by(1, span, build)
    }

    /// Runs `build` `levels` deeper: a chain of `levels` operators nests that many AST nodes.
    pub(super) fn nested_by<T>(
        &mut self,
        levels: usize,
        span: Span,
        build: impl FnOnce(&mut Builder) -> T,
    ) -> Option<T> {
        if self.depth + levels > MAX_DEPTH {
            if !self.diagnostics.iter().any(|d| d.code == codes::NESTED_TOO_DEEPLY) {
                self.diagnostics.push(
                    Diagnostic::error(codes::NESTED_TOO_DEEPLY, "the script is nested too deeply")
                        .with_primary(span, format!("this is more than {MAX_DEPTH} levels deep"))
                        .with_help("split long chains of operators or `else if` with `$variables`"),
                );
            }
            return None;
        }
        self.depth += levels;
        let built = build(self);
        self.depth -= levels;
        Some(built)
    }

    /// The `key = value` items of a config block.
    fn config_block(&mut self, pair: Pair<'_, Rule>) -> Vec<ConfigItem> {
        let mut items = Vec::new();
        for item in pair.into_inner().filter(|c| c.as_rule() == Rule::config_item) {
            let mut parts = item.into_inner();
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else { continue };
            let key = super::ast::Ident { name: key.as_str().to_string(), span: trim::span(&key) };
            let value_span = trim::span(&value);
            let value = match value.as_rule() {
                Rule::int_lit => ConfigValue::Int(self.int(&value)),
                Rule::bool_lit => ConfigValue::Bool(value.as_str() == "true"),
                Rule::string_lit => ConfigValue::Text(String::from_utf8_lossy(&self.string(value)).into_owned()),
                _ => ConfigValue::Text(value.as_str().to_string()),
            };
            items.push(ConfigItem { key, value, value_span });
        }
        items
    }

    fn probe(&mut self, pair: Pair<'_, Rule>) -> Probe {
        let span = trim::span(&pair);
        let mut probe = Probe { attach_points: Vec::new(), predicate: None, body: empty_block(span), span };
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::attach_point => probe.attach_points.push(attach_point(&child)),
                Rule::predicate => probe.predicate = Some(self.wrapped_expr(child)),
                Rule::block => probe.body = self.block(child),
                _ => {}
            }
        }
        probe
    }

    pub(super) fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let span = trim::span(&pair);
        let mut has_value = false;
        let stmts = self.nested(span, |builder| {
            pair.into_inner()
                .filter_map(|child| {
                    has_value = child.as_rule() == Rule::block_value;
                    builder.statement(child)
                })
                .collect()
        });
        Block { stmts: stmts.unwrap_or_default(), has_value, span }
    }

    /// `let @name = kind(size);`
    fn map_decl(&mut self, pair: Pair<'_, Rule>) -> MapDeclaration {
        let span = trim::span(&pair);
        let mut name = String::new();
        let mut kind = super::ast::Ident { name: String::new(), span };
        let mut size = 0;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::map_name => name = child.as_str()[1..].to_string(),
                Rule::ident => kind = super::ast::Ident { name: child.as_str().to_string(), span: trim::span(&child) },
                Rule::int_lit => size = self.int(&child),
                _ => {}
            }
        }
        MapDeclaration { name, kind, size, span }
    }

    /// `macro name(params) { body }`
    fn macro_def(&mut self, pair: Pair<'_, Rule>) -> MacroDef {
        let span = trim::span(&pair);
        let mut name = None;
        let mut params = Vec::new();
        let mut body = None;
        for child in pair.into_inner() {
            let ident = |text: &str| super::ast::Ident { name: text.to_string(), span: trim::span(&child) };
            match child.as_rule() {
                Rule::ident if name.is_none() => name = Some(ident(child.as_str())),
                Rule::ident => params.push(MacroParam::Expr(ident(child.as_str()))),
                Rule::var => params.push(MacroParam::Var(ident(&child.as_str()[1..]))),
                Rule::map_name => params.push(MacroParam::Map(ident(&child.as_str()[1..]))),
                Rule::block => body = Some(self.block(child)),
                _ => {}
            }
        }
        MacroDef {
            name: name.unwrap_or_else(|| super::ast::Ident { name: String::new(), span }),
            params,
            body: body.unwrap_or_else(|| empty_block(span)),
            span,
        }
    }

    /// Builds one statement; `None` for a construct that was reported instead.
    fn statement(&mut self, pair: Pair<'_, Rule>) -> Option<Stmt> {
        let span = trim::span(&pair);
        let kind = match pair.as_rule() {
            Rule::if_stmt => self.if_stmt(pair),
            Rule::block => StmtKind::Block(self.block(pair)),
            Rule::let_stmt => self.let_stmt(pair),
            Rule::return_stmt => StmtKind::Return(pair.into_inner().find(|c| c.as_rule() == Rule::expr).map(|e| self.expr(e))),
            Rule::break_stmt => StmtKind::Break,
            Rule::continue_stmt => StmtKind::Continue,
            Rule::for_stmt => self.for_stmt(pair),
            Rule::while_stmt | Rule::unroll_stmt => self.loop_stmt(pair),
            Rule::assign_stmt => self.assign_stmt(pair),
            Rule::expr_stmt | Rule::block_value => StmtKind::Expr(self.wrapped_expr(pair)),
            Rule::unsupported => {
                self.unsupported(&pair);
                return None;
            }
            _ => return None,
        };
        Some(Stmt { kind, span })
    }

    fn if_stmt(&mut self, pair: Pair<'_, Rule>) -> StmtKind {
        let span = trim::span(&pair);
        let mut cond = None;
        let mut comptime = None;
        let mut then_block = None;
        let mut else_block = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::if_comptime => comptime = Some(trim::span(&child)),
                Rule::expr => {
                    let expr = self.expr(child);
                    cond = Some(match comptime {
                        Some(at) => Expr { span: at.to(expr.span), kind: ExprKind::Comptime(Box::new(expr)) },
                        None => expr,
                    });
                }
                Rule::block if then_block.is_none() => then_block = Some(self.block(child)),
                Rule::block => else_block = Some(self.block(child)),
                Rule::if_stmt => {
                    let child_span = trim::span(&child);
                    let kind = self.nested(child_span, |builder| builder.if_stmt(child));
                    let stmts = kind.map(|kind| Stmt { kind, span: child_span }).into_iter().collect();
                    else_block = Some(Block { stmts, has_value: false, span: child_span });
                }
                _ => {}
            }
        }
        StmtKind::If {
            cond: cond.unwrap_or_else(|| placeholder(span)),
            then_block: then_block.unwrap_or_else(|| empty_block(span)),
            else_block,
        }
    }

    fn for_stmt(&mut self, pair: Pair<'_, Rule>) -> StmtKind {
        let span = trim::span(&pair);
        let mut var = None;
        let mut source = None;
        let mut body = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::var => var = Some(super::build_expr::var_ident(&child)),
                Rule::map => source = Some(ForSource::Map(self.map_ref(child))),
                Rule::for_range => {
                    let mut ends = child.into_inner().filter(|c| c.as_rule() == Rule::expr).map(|e| self.expr(e));
                    let start = ends.next().unwrap_or_else(|| placeholder(span));
                    let end = ends.next().unwrap_or_else(|| placeholder(span));
                    source = Some(ForSource::Range { start, end });
                }
                Rule::block => body = Some(self.block(child)),
                _ => {}
            }
        }
        StmtKind::For {
            var: var.unwrap_or_else(|| super::ast::Ident { name: String::new(), span }),
            source: source.unwrap_or_else(|| ForSource::Range { start: placeholder(span), end: placeholder(span) }),
            body: body.unwrap_or_else(|| empty_block(span)),
        }
    }

    /// `while (cond) { }` and `unroll(count) { }`: a parenthesized expression and a block.
    fn loop_stmt(&mut self, pair: Pair<'_, Rule>) -> StmtKind {
        let span = trim::span(&pair);
        let unroll = pair.as_rule() == Rule::unroll_stmt;
        let mut head = None;
        let mut body = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::expr => head = Some(self.expr(child)),
                Rule::block => body = Some(self.block(child)),
                _ => {}
            }
        }
        let head = head.unwrap_or_else(|| placeholder(span));
        let body = body.unwrap_or_else(|| empty_block(span));
        match unroll {
            true => StmtKind::Unroll { count: head, body },
            false => StmtKind::While { cond: head, body },
        }
    }

    fn let_stmt(&mut self, pair: Pair<'_, Rule>) -> StmtKind {
        let span = trim::span(&pair);
        let mut var = None;
        let mut ty = None;
        let mut value = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::var => var = Some(super::build_expr::var_ident(&child)),
                Rule::cast_type => ty = Some(super::ast::TypeSpec::Named(super::build_expr::written_type(&child))),
                Rule::type_name => {
                    ty = Some(super::ast::TypeSpec::Named(super::ast::Ident { name: child.as_str().to_string(), span: trim::span(&child) }))
                }
                Rule::typeof_type => ty = Some(self.typeof_type(child)),
                Rule::expr | Rule::block_expr | Rule::if_expr => value = Some(self.expr(child)),
                _ => {}
            }
        }
        let var = var.unwrap_or_else(|| super::ast::Ident { name: String::new(), span });
        StmtKind::Let { var, ty, value }
    }

    fn assign_stmt(&mut self, pair: Pair<'_, Rule>) -> StmtKind {
        let span = trim::span(&pair);
        let mut target = None;
        let mut op = None;
        let mut value = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::map | Rule::var | Rule::discard => target = Some(child),
                Rule::assign_op => op = compound_op(child.as_str()),
                Rule::expr | Rule::block_expr | Rule::if_expr => value = Some(self.expr(child)),
                _ => {}
            }
        }
        let value = value.unwrap_or_else(|| placeholder(span));
        match target {
            Some(target) if target.as_rule() == Rule::map => {
                StmtKind::AssignMap { map: self.map_ref(target), op, value }
            }
            Some(target) if target.as_rule() == Rule::discard => StmtKind::Discard(value),
            Some(target) => StmtKind::AssignVar { var: super::build_expr::var_ident(&target), op, value },
            None => StmtKind::Expr(value),
        }
    }

    /// The single `expr` inside `pair` (a predicate or an expression statement).
    fn wrapped_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = trim::span(&pair);
        match pair.into_inner().find(|child| child.as_rule() == Rule::expr) {
            Some(expr) => self.expr(expr),
            None => placeholder(span),
        }
    }

    /// Reports a reserved keyword ferrotrace does not support yet.
    pub(super) fn unsupported(&mut self, pair: &Pair<'_, Rule>) {
        let keyword = pair.clone().into_inner().find(|c| c.as_rule() == Rule::unsupported_keyword);
        let Some(keyword) = keyword else { return };
        let word = keyword.as_str();
        let diagnostic =
            Diagnostic::error(codes::UNSUPPORTED_KEYWORD, format!("`{word}` is not supported yet"))
                .with_primary(
                    trim::span(&keyword),
                    format!("`{word}` is a bpftrace keyword ferrotrace cannot compile yet"),
                );
        self.diagnostics.push(with_keyword_help(diagnostic, word));
    }
}

fn with_keyword_help(diagnostic: Diagnostic, word: &str) -> Diagnostic {
    match word {
        "sizeof" | "offsetof" => diagnostic.with_help("write the size or offset as an integer"),
        _ => diagnostic,
    }
}

fn attach_point(pair: &Pair<'_, Rule>) -> AttachPoint {
    let raw = pair.as_str();
    let (provider, parts) = super::ast::split_attach_point(raw);
    AttachPoint { provider, parts, raw: raw.to_string(), span: trim::span(pair) }
}

/// The operator of a compound assignment (`+=` is `Add`); `None` for plain `=`.
fn compound_op(text: &str) -> Option<super::ast::BinOp> {
    text.strip_suffix('=').and_then(super::build_expr::binary_op)
}

fn empty_block(span: Span) -> Block {
    Block { stmts: Vec::new(), has_value: false, span }
}

/// Stands in for an expression that could not be built; a diagnostic was already recorded.
pub(super) fn placeholder(span: Span) -> Expr {
    Expr { kind: ExprKind::Int(0), span }
}
