//! The AST as an indented tree for people (`ferrotrace -d ast`): one node per line, spans as
//! `@start..end`.

use std::fmt::Write;

use super::ast::{Block, Expr, ExprKind, ForSource, MapRef, Probe, Program, Stmt, StmtKind, TypeSpec};
use super::c_ast::{CBase, CBody, CDeclarator, CDefinition};
use crate::span::Span;

/// Renders `program` as an indented tree, one node per line.
pub fn print_ast(program: &Program) -> String {
    let mut printer = Printer::default();
    printer.line(0, "program", program.span);
    for item in &program.config {
        let text = format!("config {} = {:?}", item.key.name, item.value);
        printer.line(1, &text, item.key.span.to(item.value_span));
    }
    for decl in &program.map_decls {
        printer.line(1, &format!("let @{} = {}({})", decl.name, decl.kind.name, decl.size), decl.span);
    }
    for def in &program.macros {
        let params: Vec<String> = def
            .params
            .iter()
            .map(|p| match p {
                super::ast::MacroParam::Var(i) => format!("${}", i.name),
                super::ast::MacroParam::Map(i) => format!("@{}", i.name),
                super::ast::MacroParam::Expr(i) => i.name.clone(),
            })
            .collect();
        printer.line(1, &format!("macro {}({})", def.name.name, params.join(", ")), def.span);
        printer.block(2, "body", &def.body);
    }
    for definition in &program.c_definitions {
        printer.c_definition(1, definition);
    }
    for probe in &program.probes {
        printer.probe(1, probe);
    }
    printer.out
}

#[derive(Default)]
struct Printer {
    out: String,
}

impl Printer {
    fn c_definition(&mut self, depth: usize, definition: &CDefinition) {
        self.line(depth, if definition.typedef { "c typedef" } else { "c definition" }, definition.span);
        self.c_base(depth + 1, &definition.base);
        for declarator in &definition.declarators {
            self.line(depth + 1, &format!("name {}", c_declarator(declarator)), declarator.span);
        }
    }

    fn c_base(&mut self, depth: usize, base: &CBase) {
        let CBase::Tagged(tagged) = base else {
            let CBase::Named { words, span } = base else { return };
            self.line(depth, &format!("type {}", words.join(" ")), *span);
            return;
        };
        let name = tagged.name.as_ref().map_or("(anonymous)", |name| name.name.as_str());
        let mut text = format!("{} {name}", tagged.tag.keyword());
        if tagged.packed {
            text.push_str(" packed");
        }
        if let Some(aligned) = tagged.aligned {
            let _ = write!(text, " aligned({aligned})");
        }
        self.line(depth, &text, tagged.span);
        match &tagged.body {
            Some(CBody::Fields(fields)) => {
                for field in fields {
                    self.line(depth + 1, "member", field.span);
                    self.c_base(depth + 2, &field.base);
                    for declarator in &field.declarators {
                        let mut text = format!("name {}", c_declarator(&declarator.declarator));
                        if let Some((bits, _)) = declarator.bits {
                            let _ = write!(text, " : {bits}");
                        }
                        if let Some(aligned) = declarator.aligned {
                            let _ = write!(text, " aligned({aligned})");
                        }
                        self.line(depth + 2, &text, declarator.declarator.span);
                    }
                }
            }
            Some(CBody::Enumerators(values)) => {
                for value in values {
                    self.line(depth + 1, &format!("{} = {}", value.name.name, value.value), value.name.span);
                }
            }
            None => {}
        }
    }

    fn line(&mut self, depth: usize, text: &str, span: Span) {
        let _ = writeln!(self.out, "{:indent$}{text} @{}..{}", "", span.start, span.end, indent = depth * 2);
    }

    fn probe(&mut self, depth: usize, probe: &Probe) {
        self.line(depth, "probe", probe.span);
        for attach in &probe.attach_points {
            let parts: Vec<String> = attach.parts.iter().map(|p| format!("{p:?}")).collect();
            let text = format!(
                "attach {:?} provider={:?} parts=[{}]",
                attach.raw,
                attach.provider,
                parts.join(", ")
            );
            self.line(depth + 1, &text, attach.span);
        }
        if let Some(predicate) = &probe.predicate {
            self.line(depth + 1, "predicate", predicate.span);
            self.expr(depth + 2, predicate);
        }
        self.block(depth + 1, "body", &probe.body);
    }

    fn block(&mut self, depth: usize, label: &str, block: &Block) {
        let label = if block.has_value { format!("{label} (with value)") } else { label.to_string() };
        self.line(depth, &label, block.span);
        for stmt in &block.stmts {
            self.stmt(depth + 1, stmt);
        }
    }

    fn stmt(&mut self, depth: usize, stmt: &Stmt) {
        match &stmt.kind {
            StmtKind::Expr(expr) => {
                self.line(depth, "expr-stmt", stmt.span);
                self.expr(depth + 1, expr);
            }
            StmtKind::Discard(expr) => {
                self.line(depth, "discard", stmt.span);
                self.expr(depth + 1, expr);
            }
            StmtKind::AssignMap { map, op, value } => {
                self.line(depth, &format!("assign {}=", op.map_or("", |op| op.symbol())), stmt.span);
                self.map(depth + 1, map);
                self.expr(depth + 1, value);
            }
            StmtKind::AssignVar { var, op, value } => {
                let text = format!("assign {}= ${}", op.map_or("", |op| op.symbol()), var.name);
                self.line(depth, &text, stmt.span);
                self.expr(depth + 1, value);
            }
            StmtKind::Let { var, ty, value } => {
                let shown = ty.as_ref().map(|t| format!(": {t}")).unwrap_or_default();
                self.line(depth, &format!("let ${}{shown}", var.name), stmt.span);
                if let Some(TypeSpec::Typeof(of)) = ty {
                    self.expr(depth + 1, of);
                }
                if let Some(value) = value {
                    self.expr(depth + 1, value);
                }
            }
            StmtKind::If { cond, then_block, else_block } => {
                self.line(depth, "if", stmt.span);
                self.expr(depth + 1, cond);
                self.block(depth + 1, "then", then_block);
                if let Some(else_block) = else_block {
                    self.block(depth + 1, "else", else_block);
                }
            }
            StmtKind::Return(value) => {
                self.line(depth, "return", stmt.span);
                if let Some(value) = value {
                    self.expr(depth + 1, value);
                }
            }
            StmtKind::Block(block) => self.block(depth, "block", block),
            StmtKind::For { var, source, body } => {
                self.line(depth, &format!("for ${}", var.name), stmt.span);
                match source {
                    ForSource::Map(map) => self.map(depth + 1, map),
                    ForSource::Range { start, end } => {
                        self.line(depth + 1, "range", start.span.to(end.span));
                        self.expr(depth + 2, start);
                        self.expr(depth + 2, end);
                    }
                }
                self.block(depth + 1, "body", body);
            }
            StmtKind::While { cond, body } => {
                self.line(depth, "while", stmt.span);
                self.expr(depth + 1, cond);
                self.block(depth + 1, "body", body);
            }
            StmtKind::Unroll { count, body } => {
                self.line(depth, "unroll", stmt.span);
                self.expr(depth + 1, count);
                self.block(depth + 1, "body", body);
            }
            StmtKind::Break => self.line(depth, "break", stmt.span),
            StmtKind::Continue => self.line(depth, "continue", stmt.span),
        }
    }

    fn map(&mut self, depth: usize, map: &MapRef) {
        self.line(depth, &format!("map @{}", map.name), map.span);
        for key in &map.keys {
            self.expr(depth + 1, key);
        }
    }

    fn expr(&mut self, depth: usize, expr: &Expr) {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Block(block) => self.block(depth, "block-expr", block),
            ExprKind::Int(value) => self.line(depth, &format!("int {value}"), span),
            ExprKind::Str(bytes) => {
                self.line(depth, &format!("str \"{}\"", bytes.escape_ascii()), span);
            }
            ExprKind::Bool(value) => self.line(depth, &format!("bool {value}"), span),
            ExprKind::Ident(name) => self.line(depth, &format!("ident {name}"), span),
            ExprKind::Var(name) => self.line(depth, &format!("var ${name}"), span),
            ExprKind::Positional(n) => self.line(depth, &format!("param ${n}"), span),
            ExprKind::ParamCount => self.line(depth, "param $#", span),
            ExprKind::Map(map) => self.map(depth, map),
            ExprKind::Call { name, args } => self.children(depth, &format!("call {}", name.name), span, args),
            ExprKind::Unary { op, expr } => self.nested(depth, &format!("unary {}", op.symbol()), span, expr),
            ExprKind::Binary { op, lhs, rhs } => {
                self.line(depth, &format!("binary {}", op.symbol()), span);
                self.expr(depth + 1, lhs);
                self.expr(depth + 1, rhs);
            }
            ExprKind::Ternary { cond, then_expr, else_expr } => {
                self.line(depth, "ternary", span);
                for child in [cond, then_expr, else_expr] {
                    self.expr(depth + 1, child);
                }
            }
            ExprKind::Tuple(elements) => self.children(depth, "tuple", span, elements),
            ExprKind::Comptime(expr) => self.nested(depth, "comptime", span, expr),
            ExprKind::Record(fields) => {
                self.line(depth, "record", span);
                for (name, value) in fields {
                    self.nested(depth + 1, &format!("field {}", name.name), name.span, value);
                }
            }
            ExprKind::Field { expr, field, arrow } => {
                let text = format!("field {}{}", if *arrow { "->" } else { "." }, field.name);
                self.nested(depth, &text, span, expr);
            }
            ExprKind::TupleIndex { expr, index, .. } => {
                self.nested(depth, &format!("tuple-index .{index}"), span, expr)
            }
            ExprKind::Index { expr, index } => {
                self.line(depth, "index", span);
                self.expr(depth + 1, expr);
                self.expr(depth + 1, index);
            }
            ExprKind::IncDec { target, increment, prefix } => {
                let op = if *increment { "++" } else { "--" };
                let text = if *prefix { format!("pre {op}") } else { format!("post {op}") };
                self.nested(depth, &text, span, target);
            }
            ExprKind::Cast { ty, expr } => {
                self.line(depth, &format!("cast ({ty})"), span);
                self.type_operand(depth + 1, ty);
                self.expr(depth + 1, expr);
            }
            ExprKind::Sizeof(ty) => {
                self.line(depth, &format!("sizeof ({ty})"), span);
                self.type_operand(depth + 1, ty);
            }
            ExprKind::Offsetof { ty, path } => {
                let path: Vec<&str> = path.iter().map(|field| field.name.as_str()).collect();
                self.line(depth, &format!("offsetof ({ty}) {}", path.join(".")), span);
                self.type_operand(depth + 1, ty);
            }
            ExprKind::ContainerOf { ptr, ty, path } => {
                let path: Vec<&str> = path.iter().map(|field| field.name.as_str()).collect();
                self.line(depth, &format!("container_of ({ty}) {}", path.join(".")), span);
                self.expr(depth + 1, ptr);
                self.type_operand(depth + 1, ty);
            }
        }
    }

    /// The expression a `typeof` takes the type of, if the type is written that way.
    fn type_operand(&mut self, depth: usize, ty: &TypeSpec) {
        if let TypeSpec::Typeof(of) = ty {
            self.expr(depth, of);
        }
    }

    fn nested(&mut self, depth: usize, text: &str, span: Span, child: &Expr) {
        self.line(depth, text, span);
        self.expr(depth + 1, child);
    }

    fn children(&mut self, depth: usize, text: &str, span: Span, children: &[Expr]) {
        self.line(depth, text, span);
        for child in children {
            self.expr(depth + 1, child);
        }
    }
}

/// A declarator as C writes it around its name: `*p`, `a[4][2]`, `(*f)()`.
fn c_declarator(declarator: &CDeclarator) -> String {
    let name = declarator.name.as_ref().map_or("(unnamed)", |name| name.name.as_str());
    let stars = "*".repeat(declarator.pointers as usize);
    let arrays: String = declarator.arrays.iter().map(|(len, _)| format!("[{len}]")).collect();
    match declarator.function {
        true => format!("({stars}{name}{arrays})()"),
        false => format!("{stars}{name}{arrays}"),
    }
}
