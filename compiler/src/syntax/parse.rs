//! The parse step: script text to `ast::Program`, or every syntax error found.
//!
//! Three passes, each with a job: `delimiters` checks strings, comments and brackets; the pest
//! grammar recognises the text; `build` turns the parse tree into the AST, decoding literals and
//! reporting what the grammar accepts loosely (unsupported keywords, bad literals).

use ferrotrace_grammar::{BpftraceParser, Rule};
use pest::Parser;

use crate::diagnostic::Diagnostic;

use super::{ast, build, delimiters, pest_error};

/// Parses a whole script. On failure returns at least one diagnostic, each with a primary span.
pub fn parse(source: &str) -> Result<ast::Program, Vec<Diagnostic>> {
    delimiters::check(source).map_err(|diagnostic| vec![diagnostic])?;
    pest::set_error_detail(true);
    let mut file = BpftraceParser::parse(Rule::file, source)
        .map_err(|error| vec![pest_error::translate(&error, source)])?;
    let program =
        file.next().and_then(|pair| pair.into_inner().find(|child| child.as_rule() == Rule::program));
    let span = crate::span::Span::new(0, source.len());
    match program {
        Some(program) => build::program(program, span),
        None => Ok(ast::Program { probes: Vec::new(), span }),
    }
}
