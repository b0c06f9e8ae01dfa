//! The formatter (`ferrotrace --fmt`): a script rewritten in one layout, comments kept.
//!
//! The script is parsed and printed again: one statement per line, four spaces per block, a
//! space around binary operators and after commas, parentheses only where precedence needs
//! them, one blank line between top-level items and at most one where the script had some.
//! C definitions (`struct s { ... };`) are kept as written.
//! Literals, attach points and config values keep their spelling (`0x10`, `1ms`). Comments,
//! preprocessor lines, `import` lines and the `#!` line are kept where they were: above the
//! statement or item they precede, or at the end of its line; one inside an expression moves
//! above its statement. The result is parsed again and must give the same program, and
//! formatting it again changes nothing.

use std::fmt::Write;

use super::ast::{
    BinOp, Block, ConfigItem, Expr, ExprKind, ForSource, MacroDef, MacroParam, MapDeclaration, MapRef, Probe, Program, Stmt,
    StmtKind, TypeSpec, UnaryOp,
};
use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// Four spaces per block level.
const INDENT: &str = "    ";

/// `source` formatted; the parse errors, or why it cannot be formatted, otherwise.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let trivia = scan_trivia(source);
    let program = super::parse(&without_imports(source, &trivia))?;
    if let Some(line) = dropped_code_line(source, &trivia) {
        return Err(vec![Diagnostic::error("E0114", "the formatter cannot keep code in a `#if` branch that is not taken")
            .with_primary(line, "left out by the preprocessor")
            .with_help("format the script with the branch taken, or move the condition into the script's logic")]);
    }
    let mut formatter = Formatter { source, trivia: &trivia, next: 0, out: String::new(), last_end: 0, refused: None };
    formatter.program(&program);
    if let Some(refused) = formatter.refused {
        return Err(vec![refused]);
    }
    let formatted = formatter.out;
    let reparsed = super::parse(&without_imports(&formatted, &scan_trivia(&formatted))).map_err(|_| vec![changed_meaning()])?;
    if shape(&reparsed) != shape(&program) {
        return Err(vec![changed_meaning()]);
    }
    Ok(formatted)
}

fn changed_meaning() -> Diagnostic {
    Diagnostic::error("E0115", "the formatter would change what the script means, so it left it alone")
        .with_note("this is a bug in ferrotrace's formatter; the script itself is fine")
}

/// The program without its spans, to compare two parses of differently laid out text.
fn shape(program: &Program) -> String {
    let printed = super::print::print_ast(program);
    printed.lines().map(|line| line.rsplit_once(" @").map_or(line, |(text, _)| text)).collect::<Vec<_>>().join("\n")
}

/// `source` with its top-level `import` lines blanked: the grammar reads them only where the
/// files are assembled, and the formatter keeps them as written.
fn without_imports(source: &str, trivia: &[Trivia]) -> String {
    let mut text = source.to_string();
    for span in trivia.iter().map(|t| t.span).filter(|span| source[span.start as usize..].starts_with("import")) {
        let (start, end) = (span.start as usize, span.end as usize);
        text.replace_range(start..end, &" ".repeat(end - start));
    }
    text
}

/// Code (anything outside comments and directive lines) on a line the preprocessor blanked: it
/// sits in a `#if` branch not taken, which the parsed program does not have.
fn dropped_code_line(source: &str, trivia: &[Trivia]) -> Option<Span> {
    let preprocessed = super::preprocess::preprocess(source).ok()?.text;
    let mut offset = 0;
    for (original, kept) in source.split_inclusive('\n').zip(preprocessed.split_inclusive('\n')) {
        if kept.trim().is_empty() && !original.trim().is_empty() {
            let code = original.char_indices().any(|(at, c)| {
                let at = (offset + at) as u32;
                !c.is_whitespace() && !trivia.iter().any(|t| t.span.start <= at && at < t.span.end)
            });
            if code {
                return Some(Span::new(offset, offset + original.trim_end().len()));
            }
        }
        offset += original.len();
    }
    None
}

/// Text the grammar skips but the formatter keeps: a comment, a preprocessor or `#!` line, or
/// an `import` line.
struct Trivia {
    span: Span,
    /// Nothing but blanks before it on its line.
    own_line: bool,
}

/// Every comment, directive line and `import` line of `source`, in order.
fn scan_trivia(source: &str) -> Vec<Trivia> {
    let bytes = source.as_bytes();
    let mut trivia = Vec::new();
    let mut at = 0;
    // Nothing but blanks since the start of the line.
    let mut line_start = true;
    while at < bytes.len() {
        let own_line = line_start;
        let rest = &source[at..];
        if own_line && (rest.starts_with('#') || rest.starts_with("import ") || rest.starts_with("import\"")) {
            let end = directive_end(source, at);
            trivia.push(Trivia { span: Span::new(at, end), own_line: true });
            at = end;
            continue;
        }
        match bytes[at] {
            b'"' => at = string_end(bytes, at),
            b'/' if rest.starts_with("//") => {
                let end = rest.find('\n').map_or(bytes.len(), |n| at + n);
                trivia.push(Trivia { span: Span::new(at, end), own_line });
                at = end;
            }
            b'/' if rest.starts_with("/*") => {
                let end = rest.find("*/").map_or(bytes.len(), |n| at + n + 2);
                trivia.push(Trivia { span: Span::new(at, end), own_line });
                at = end;
            }
            _ => {
                if bytes[at] == b'\n' {
                    line_start = true;
                } else if !bytes[at].is_ascii_whitespace() {
                    line_start = false;
                }
                at += 1;
                continue;
            }
        }
        line_start = false;
    }
    trivia
}

/// The end of a directive line at `at`, continuation lines (`\` at the end) included.
fn directive_end(source: &str, mut at: usize) -> usize {
    loop {
        let end = source[at..].find('\n').map_or(source.len(), |n| at + n);
        if !source[at..end].trim_end().ends_with('\\') || end == source.len() {
            return end;
        }
        at = end + 1;
    }
}

/// Just past the string literal starting at `at`.
fn string_end(bytes: &[u8], mut at: usize) -> usize {
    at += 1;
    while at < bytes.len() && bytes[at] != b'"' && bytes[at] != b'\n' {
        at += if bytes[at] == b'\\' { 2 } else { 1 };
    }
    (at + 1).min(bytes.len())
}

struct Formatter<'a> {
    source: &'a str,
    trivia: &'a [Trivia],
    /// The first trivia not written yet.
    next: usize,
    out: String,
    /// Where the last thing written ends in the source, to keep a blank line that followed it.
    last_end: usize,
    /// Why the script cannot be formatted without changing it, once found.
    refused: Option<Diagnostic>,
}

/// A top-level item in source order.
enum Item<'a> {
    Config(&'a [ConfigItem], Span),
    MapDecl(&'a MapDeclaration),
    Macro(&'a MacroDef),
    /// A C definition, kept as written.
    CDefinition(Span),
    Probe(&'a Probe),
}

impl<'a> Formatter<'a> {
    fn text(&self, span: Span) -> &'a str {
        &self.source[span.start as usize..span.end as usize]
    }

    fn program(&mut self, program: &Program) {
        let mut items: Vec<(u32, Item<'_>)> = Vec::new();
        if let (Some(first), Some(last)) = (program.config.first(), program.config.last()) {
            let span = first.key.span.to(last.value_span);
            items.push((span.start, Item::Config(&program.config, span)));
        }
        items.extend(program.map_decls.iter().map(|decl| (decl.span.start, Item::MapDecl(decl))));
        items.extend(program.macros.iter().map(|def| (def.span.start, Item::Macro(def))));
        items.extend(program.c_definitions.iter().map(|def| (def.span.start, Item::CDefinition(def.span))));
        items.extend(program.probes.iter().map(|probe| (probe.span.start, Item::Probe(probe))));
        items.sort_by_key(|(start, _)| *start);
        let mut first = true;
        for (start, item) in &items {
            self.trivia_before(*start, 0, !first);
            if !first && !self.out.ends_with("\n\n") && !self.ends_with_own_trivia() {
                self.out.push('\n');
            }
            first = false;
            match item {
                Item::Config(config, span) => self.config(config, *span),
                Item::MapDecl(decl) => {
                    let _ = writeln!(self.out, "let @{} = {}({});", decl.name, decl.kind.name, self.text_after_paren(decl));
                    self.last_end = decl.span.end as usize;
                }
                Item::Macro(def) => self.macro_def(def),
                Item::CDefinition(span) => self.c_definition(*span),
                Item::Probe(probe) => self.probe(probe),
            }
        }
        self.trivia_before(self.source.len() as u32, 0, true);
    }

    /// A C definition, as written: its comments stay inside it.
    fn c_definition(&mut self, span: Span) {
        let _ = writeln!(self.out, "{}", self.text(span).trim_end());
        while self.trivia.get(self.next).is_some_and(|trivia| trivia.span.start < span.end) {
            self.next += 1;
        }
        self.last_end = span.end as usize;
        self.trailing_trivia(span.end);
    }

    /// Whether the output's last line is trivia written just above what comes next.
    fn ends_with_own_trivia(&self) -> bool {
        self.next > 0 && self.trivia[self.next - 1].span.end as usize == self.last_end && !self.out.ends_with("\n\n")
    }

    /// The size of a map declaration as written (`100`, `1_000`); a comment inside the
    /// parentheses is written on its own line, so the number alone then.
    fn text_after_paren(&self, decl: &MapDeclaration) -> String {
        let text = self.text(decl.span);
        let inner = text.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map_or("", |(size, _)| size).trim();
        match inner.contains("//") || inner.contains("/*") {
            true => decl.size.to_string(),
            false => inner.to_string(),
        }
    }

    /// Writes the trivia that starts before `limit`, each on a line of its own at `depth`,
    /// keeping a blank line before one where the script had one (when `blank_ok`).
    fn trivia_before(&mut self, limit: u32, depth: usize, blank_ok: bool) {
        while let Some(trivia) = self.trivia.get(self.next).filter(|t| t.span.start < limit) {
            let span = trivia.span;
            if blank_ok && self.blank_line_before(span.start) && !self.out.is_empty() && !self.out.ends_with("\n\n") {
                self.out.push('\n');
            }
            let text = self.text(span).trim_end().to_string();
            let directive = text.starts_with('#') || text.starts_with("import");
            let indent = if directive { String::new() } else { INDENT.repeat(depth) };
            let _ = writeln!(self.out, "{indent}{text}");
            self.last_end = span.end as usize;
            self.next += 1;
        }
    }

    /// Trivia that follows `end` on the same line, appended to the line just written.
    fn trailing_trivia(&mut self, end: u32) {
        while let Some(trivia) = self.trivia.get(self.next).filter(|t| !t.own_line && t.span.start >= end) {
            let between = &self.source[end as usize..trivia.span.start as usize];
            if between.contains('\n') || !between.trim().is_empty() && !between.trim().chars().all(|c| c == ';') {
                break;
            }
            let text = self.text(trivia.span).trim_end().to_string();
            if self.out.ends_with('\n') {
                self.out.pop();
            }
            let _ = writeln!(self.out, "  {text}");
            self.last_end = trivia.span.end as usize;
            self.next += 1;
        }
    }

    /// Whether the source has an empty line between the last thing written and `start`.
    fn blank_line_before(&self, start: u32) -> bool {
        let between = &self.source[self.last_end.min(start as usize)..start as usize];
        between.split('\n').skip(1).collect::<Vec<_>>().len() >= 2 && between.lines().skip(1).any(|line| line.trim().is_empty())
    }

    fn config(&mut self, items: &[ConfigItem], span: Span) {
        self.out.push_str("config = {\n");
        for item in items {
            self.trivia_before(item.key.span.start, 1, true);
            let _ = writeln!(self.out, "{INDENT}{} = {};", item.key.name, self.text(item.value_span));
            self.last_end = item.value_span.end as usize;
            self.trailing_trivia(item.value_span.end);
        }
        // The block's `}`: the first one after the last item that is not in a comment.
        let in_trivia = |at: u32| self.trivia.iter().any(|t| t.span.start <= at && at < t.span.end);
        let close = self.source[span.end as usize..]
            .match_indices('}')
            .map(|(n, _)| span.end + n as u32)
            .find(|&at| !in_trivia(at))
            .unwrap_or(span.end);
        self.trivia_before(close, 1, true);
        self.out.push_str("}\n");
        self.last_end = close as usize + 1;
        self.trailing_trivia(close + 1);
    }

    fn macro_def(&mut self, def: &MacroDef) {
        let params: Vec<String> = def
            .params
            .iter()
            .map(|param| match param {
                MacroParam::Var(name) => format!("${}", name.name),
                MacroParam::Map(name) => format!("@{}", name.name),
                MacroParam::Expr(name) => name.name.clone(),
            })
            .collect();
        let _ = write!(self.out, "macro {}({}) ", def.name.name, params.join(", "));
        self.block(&def.body, 0);
        self.out.push('\n');
        self.trailing_trivia(def.span.end);
    }

    fn probe(&mut self, probe: &Probe) {
        let points: Vec<&str> = probe.attach_points.iter().map(|ap| ap.raw.as_str()).collect();
        self.out.push_str(&points.join(", "));
        if let Some(predicate) = &probe.predicate {
            let _ = write!(self.out, " /{}/", self.expr(predicate, 0));
        }
        self.out.push(' ');
        self.block(&probe.body, 0);
        self.out.push('\n');
        self.trailing_trivia(probe.span.end);
    }

    /// `{`, the statements one per line at `depth + 1`, `}` (no newline after it).
    fn block(&mut self, block: &Block, depth: usize) {
        if block.stmts.is_empty() && !self.trivia_inside(block.span) {
            self.out.push_str("{ }");
            self.last_end = block.span.end as usize;
            return;
        }
        self.out.push_str("{\n");
        self.last_end = block.span.start as usize + 1;
        for (i, stmt) in block.stmts.iter().enumerate() {
            let value = block.has_value && i + 1 == block.stmts.len();
            self.stmt(stmt, depth + 1, value);
        }
        self.trivia_before(block.span.end.saturating_sub(1), depth + 1, true);
        let _ = write!(self.out, "{}}}", INDENT.repeat(depth));
        self.last_end = block.span.end as usize;
    }

    fn trivia_inside(&self, span: Span) -> bool {
        self.trivia.get(self.next).is_some_and(|t| t.span.start >= span.start && t.span.end <= span.end)
    }

    fn stmt(&mut self, stmt: &Stmt, depth: usize, value: bool) {
        // Trivia inside a simple statement moves above it; inside a compound one, only what
        // precedes its first block does.
        let head_end = match &stmt.kind {
            StmtKind::If { then_block: body, .. } | StmtKind::For { body, .. } | StmtKind::While { body, .. } | StmtKind::Unroll { body, .. } | StmtKind::Block(body) => body.span.start,
            _ => stmt.span.end,
        };
        let inside = self.trivia[self.next..].iter().take_while(|t| t.span.start < head_end).find(|t| t.span.start > stmt.span.start);
        if let Some(directive) = inside.filter(|t| self.text(t.span).starts_with('#')) {
            self.refused.get_or_insert(
                Diagnostic::error("E0114", "the formatter cannot keep a preprocessor line inside a statement")
                    .with_primary(directive.span, "moving it above the statement would change what it governs")
                    .with_help("put the whole statement inside the `#if`, or the condition around whole statements"),
            );
        }
        self.trivia_before(head_end, depth, true);
        if self.blank_line_before(stmt.span.start) && !self.out.ends_with("{\n") && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
        let indent = INDENT.repeat(depth);
        self.out.push_str(&indent);
        let end = match &stmt.kind {
            StmtKind::Expr(e) => self.simple(&self.expr(e, 0), value),
            StmtKind::Discard(e) => self.simple(&format!("_ = {}", self.expr(e, 0)), value),
            StmtKind::AssignMap { map, op, value: v } => {
                let text = format!("{} {}= {}", self.map(map), op.map_or("", BinOp::symbol), self.value(v));
                self.simple(&text, false)
            }
            StmtKind::AssignVar { var, op, value: v } => {
                let text = format!("${} {}= {}", var.name, op.map_or("", BinOp::symbol), self.value(v));
                self.simple(&text, false)
            }
            StmtKind::Let { var, ty, value: v } => {
                let mut text = format!("let ${}", var.name);
                if let Some(ty) = ty {
                    let _ = write!(text, ": {}", self.type_spec(ty));
                }
                if let Some(v) = v {
                    let _ = write!(text, " = {}", self.value(v));
                }
                self.simple(&text, false)
            }
            StmtKind::Return(v) => {
                let text = v.as_ref().map_or("return".to_string(), |v| format!("return {}", self.expr(v, 0)));
                self.simple(&text, false)
            }
            StmtKind::Break => self.simple("break", false),
            StmtKind::Continue => self.simple("continue", false),
            StmtKind::Block(block) => {
                self.block(block, depth);
                self.out.push('\n');
                block.span.end
            }
            StmtKind::If { .. } => {
                self.if_chain(stmt, depth);
                self.out.push('\n');
                stmt.span.end
            }
            StmtKind::For { var, source, body } => {
                let walked = match source {
                    ForSource::Map(map) => self.map(map),
                    ForSource::Range { start, end } => format!("{}..{}", self.expr(start, PREFIX), self.expr(end, PREFIX)),
                };
                let _ = write!(self.out, "for (${} : {walked}) ", var.name);
                self.block(body, depth);
                self.out.push('\n');
                stmt.span.end
            }
            StmtKind::While { cond, body } => {
                let _ = write!(self.out, "while ({}) ", self.expr(cond, 0));
                self.block(body, depth);
                self.out.push('\n');
                stmt.span.end
            }
            StmtKind::Unroll { count, body } => {
                let _ = write!(self.out, "unroll({}) ", self.expr(count, 0));
                self.block(body, depth);
                self.out.push('\n');
                stmt.span.end
            }
        };
        self.last_end = end.max(stmt.span.end) as usize;
        self.trailing_trivia(self.last_end as u32);
    }

    /// A statement on one line: `text;` (no `;` after a block's value).
    fn simple(&mut self, text: &str, value: bool) -> u32 {
        self.out.push_str(text);
        self.out.push_str(if value { "\n" } else { ";\n" });
        0
    }

    /// `if (...) { } else if (...) { } else { }`.
    fn if_chain(&mut self, stmt: &Stmt, depth: usize) {
        let StmtKind::If { cond, then_block, else_block } = &stmt.kind else { return };
        match &cond.kind {
            ExprKind::Comptime(inner) if self.text(stmt.span).trim_start_matches("if").trim_start().starts_with("comptime") => {
                let _ = write!(self.out, "if comptime ({}) ", self.expr(inner, 0));
            }
            _ => {
                let _ = write!(self.out, "if ({}) ", self.expr(cond, 0));
            }
        }
        self.block(then_block, depth);
        let Some(else_block) = else_block else { return };
        match else_block.stmts.as_slice() {
            [only @ Stmt { kind: StmtKind::If { .. }, .. }] if self.text(else_block.span).trim_start().starts_with("if") => {
                self.out.push_str(" else ");
                self.if_chain(only, depth);
            }
            _ => {
                self.out.push_str(" else ");
                self.block(else_block, depth);
            }
        }
    }

    fn map(&self, map: &MapRef) -> String {
        if map.keys.is_empty() {
            return format!("@{}", map.name);
        }
        let keys: Vec<String> = map.keys.iter().map(|key| self.expr(key, 0)).collect();
        format!("@{}[{}]", map.name, keys.join(", "))
    }

    fn type_spec(&self, ty: &TypeSpec) -> String {
        match ty {
            TypeSpec::Named(name) => name.name.clone(),
            TypeSpec::Typeof(e) => format!("typeof({})", self.expr(e, 0)),
        }
    }

    /// The operand of `sizeof`/`offsetof`: a kernel type by name, or an expression.
    fn type_operand(&self, ty: &TypeSpec) -> String {
        match ty {
            TypeSpec::Named(name) => name.name.clone(),
            TypeSpec::Typeof(e) => self.expr(e, 0),
        }
    }

    /// A value on the right of `=` or in a `let`: block and `if` expressions stay multi-line.
    fn value(&self, e: &Expr) -> String {
        self.expr(e, 0)
    }

    /// `e` with parentheses if it binds less tightly than `min`.
    fn expr(&self, e: &Expr, min: u8) -> String {
        let (text, own) = self.expr_text(e);
        if own < min {
            format!("({text})")
        } else {
            text
        }
    }

    /// `e` and how tightly it binds.
    fn expr_text(&self, e: &Expr) -> (String, u8) {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Str(_) | ExprKind::Bool(_) => (self.text(e.span).to_string(), PRIMARY),
            ExprKind::Ident(name) => (name.clone(), PRIMARY),
            ExprKind::Var(name) => (format!("${name}"), PRIMARY),
            ExprKind::Positional(n) => (format!("${n}"), PRIMARY),
            ExprKind::ParamCount => ("$#".to_string(), PRIMARY),
            ExprKind::Map(map) => (self.map(map), PRIMARY),
            ExprKind::Call { name, args } => {
                let bare = !self.text(e.span).trim_end().ends_with(')');
                if bare && args.is_empty() {
                    return (name.name.clone(), PRIMARY);
                }
                let args: Vec<String> = args.iter().map(|a| self.expr(a, 0)).collect();
                (format!("{}({})", name.name, args.join(", ")), PRIMARY)
            }
            ExprKind::Unary { op, expr } => {
                let symbol = op.symbol();
                // `-(-x)` must not become `--x`, a decrement.
                let operand = self.expr(expr, PREFIX);
                match operand.starts_with('-') && *op == UnaryOp::Neg {
                    true => (format!("{symbol}({operand})"), PREFIX),
                    false => (format!("{symbol}{operand}"), PREFIX),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let own = op.precedence();
                (format!("{} {} {}", self.expr(lhs, own), op.symbol(), self.expr(rhs, own + 1)), own)
            }
            ExprKind::Ternary { cond, then_expr, else_expr } => {
                if starts_with_if(self.text(e.span)) {
                    return (self.if_expr(cond, then_expr, else_expr), TERNARY);
                }
                let cond_text = self.expr(cond, TERNARY + 1);
                if then_expr.span == cond.span && then_expr == cond {
                    return (format!("{cond_text} ?: {}", self.expr(else_expr, TERNARY)), TERNARY);
                }
                (format!("{cond_text} ? {} : {}", self.expr(then_expr, TERNARY + 1), self.expr(else_expr, TERNARY)), TERNARY)
            }
            ExprKind::Tuple(elements) => {
                let parts: Vec<String> = elements.iter().map(|el| self.expr(el, 0)).collect();
                let text = match parts.as_slice() {
                    [only] => format!("({only},)"),
                    _ => format!("({})", parts.join(", ")),
                };
                (text, PRIMARY)
            }
            ExprKind::Record(fields) => {
                let parts: Vec<String> = fields.iter().map(|(name, value)| format!("{} = {}", name.name, self.expr(value, 0))).collect();
                (format!("({})", parts.join(", ")), PRIMARY)
            }
            ExprKind::Field { expr, field, arrow } => (format!("{}{}{}", self.expr(expr, POSTFIX), if *arrow { "->" } else { "." }, field.name), POSTFIX),
            ExprKind::TupleIndex { expr, index, .. } => (format!("{}.{index}", self.expr(expr, POSTFIX)), POSTFIX),
            ExprKind::Index { expr, index } => (format!("{}[{}]", self.expr(expr, POSTFIX), self.expr(index, 0)), POSTFIX),
            ExprKind::IncDec { target, increment, prefix } => {
                let op = if *increment { "++" } else { "--" };
                let target = self.expr(target, POSTFIX);
                if *prefix {
                    (format!("{op}{target}"), PREFIX)
                } else {
                    (format!("{target}{op}"), POSTFIX)
                }
            }
            ExprKind::Cast { ty, expr } => {
                let ty = match ty {
                    // A kernel type by value reaches a cast only written as `typeof(struct x)`;
                    // a pointer to one is written as it is (`(struct x *)`).
                    TypeSpec::Named(name) if name.name.contains(' ') && !name.name.ends_with('*') => format!("typeof({})", name.name),
                    TypeSpec::Named(name) => name.name.clone(),
                    TypeSpec::Typeof(of) => format!("typeof({})", self.expr(of, 0)),
                };
                (format!("({ty}){}", self.expr(expr, PREFIX)), PREFIX)
            }
            ExprKind::Sizeof(ty) => (format!("sizeof({})", self.type_operand(ty)), PRIMARY),
            ExprKind::Offsetof { ty, path } => {
                let path: Vec<&str> = path.iter().map(|field| field.name.as_str()).collect();
                (format!("offsetof({}, {})", self.type_operand(ty), path.join(".")), PRIMARY)
            }
            ExprKind::ContainerOf { ptr, ty, path } => {
                let path: Vec<&str> = path.iter().map(|field| field.name.as_str()).collect();
                (format!("container_of({}, {}, {})", self.expr(ptr, 0), self.type_operand(ty), path.join(".")), PRIMARY)
            }
            ExprKind::Comptime(inner) => (format!("comptime {}", self.expr(inner, PREFIX)), PREFIX),
            ExprKind::Block(block) => (self.block_expr(block), PRIMARY),
        }
    }

    /// `if (c) { a } else { b }` as a value, on one line when its branches are single values.
    fn if_expr(&self, cond: &Expr, then_expr: &Expr, else_expr: &Expr) -> String {
        let branch = |e: &Expr| match &e.kind {
            ExprKind::Block(block) => self.block_expr(block),
            _ => self.expr(e, 0),
        };
        let else_text = match &else_expr.kind {
            ExprKind::Ternary { cond: c, then_expr: t, else_expr: e } if starts_with_if(self.text(else_expr.span)) => self.if_expr(c, t, e),
            _ => branch(else_expr),
        };
        format!("if ({}) {} else {else_text}", self.expr(cond, 0), branch(then_expr))
    }

    /// A block expression on one line: `{ let $b = 1; $b }`.
    fn block_expr(&self, block: &Block) -> String {
        let mut parts = Vec::new();
        for (i, stmt) in block.stmts.iter().enumerate() {
            let last_value = block.has_value && i + 1 == block.stmts.len();
            let mut inner = Formatter { source: self.source, trivia: &[], next: 0, out: String::new(), last_end: stmt.span.start as usize, refused: None };
            inner.stmt(stmt, 0, last_value);
            parts.push(inner.out.trim().replace('\n', " "));
        }
        if parts.is_empty() {
            return "{ }".to_string();
        }
        format!("{{ {} }}", parts.join(" "))
    }
}

/// Whether `text` begins with the keyword `if` (an `if` expression), not a name like `iface`.
fn starts_with_if(text: &str) -> bool {
    text.strip_prefix("if").is_some_and(|rest| rest.starts_with(|c: char| c == '(' || c.is_whitespace()))
}

/// How tightly each kind of expression binds, loosest first; binary operators take their
/// own precedence, 1 to 10, between the ternary and prefix operators.
const TERNARY: u8 = 0;
const PREFIX: u8 = 11;
const POSTFIX: u8 = 12;
const PRIMARY: u8 = 13;
