//! The front end's first step: script text to AST, with parse errors as diagnostics.

pub mod ast;
