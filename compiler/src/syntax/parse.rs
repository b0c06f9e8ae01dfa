//! The parse step: script text to `ast::Program`, or every syntax error found.
//!
//! Four passes, each with a job: `preprocess` runs the `#` directives; `delimiters` checks
//! strings, comments and brackets; the pest
//! grammar recognises the text; `build` turns the parse tree into the AST, decoding literals and
//! reporting what the grammar accepts loosely (unsupported keywords, bad literals).

use std::sync::Mutex;

use ferrotrace_grammar::{BpftraceParser, Rule};
use pest::iterators::Pairs;
use pest::Parser;

use crate::diagnostic::Diagnostic;

use super::{ast, build, delimiters, pest_error, preprocess};

/// Serialises the parses that turn pest's detailed attempt tracking on, since the switch is
/// process-wide. Other parses do not take it: tracking changes their speed, not their result.
static ERROR_DETAIL: Mutex<()> = Mutex::new(());

/// Parses a whole script. On failure returns at least one diagnostic, each with a primary span.
pub fn parse(source: &str) -> Result<ast::Program, Vec<Diagnostic>> {
    let preprocessed = preprocess::preprocess(source).map_err(|diagnostic| vec![diagnostic])?;
    let source = preprocessed.text.as_str();
    delimiters::check(source).map_err(|diagnostic| vec![diagnostic])?;
    let mut file = BpftraceParser::parse(Rule::file, source).or_else(|_| parse_for_errors(source))?;
    let program =
        file.next().and_then(|pair| pair.into_inner().find(|child| child.as_rule() == Rule::program));
    let span = crate::span::Span::new(0, source.len());
    let mut program = match program {
        Some(program) => build::program(program, span)?,
        None => ast::Program {
            config: Vec::new(),
            probes: Vec::new(),
            defines: Vec::new(),
            macros: Vec::new(),
            map_decls: Vec::new(),
            c_definitions: Vec::new(),
            warnings: Vec::new(),
            span,
        },
    };
    program.defines = preprocessed.defines;
    program.warnings = preprocessed.warnings;
    Ok(program)
}

/// Parses `text` as one expression (a `#define`'s replacement), every span relative to `text`.
pub fn parse_expr(text: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
    let mut pairs = BpftraceParser::parse(Rule::expression, text).map_err(|error| vec![pest_error::translate(&error, text)])?;
    let expr = pairs.next().and_then(|pair| pair.into_inner().find(|child| child.as_rule() == Rule::expr));
    let Some(expr) = expr else { return Err(Vec::new()) };
    build::expression(expr)
}

/// Parses a script the fast parse rejected, again with pest's attempt tracking on, so the error
/// can name what was expected at the furthest point reached. Tracking more than doubles parse
/// time, which is why a script that parses never pays for it.
fn parse_for_errors(source: &str) -> Result<Pairs<'_, Rule>, Vec<Diagnostic>> {
    let _guard = ERROR_DETAIL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    pest::set_error_detail(true);
    let result = BpftraceParser::parse(Rule::file, source);
    pest::set_error_detail(false);
    result.map_err(|error| vec![pest_error::translate(&error, source)])
}
