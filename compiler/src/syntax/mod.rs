//! The front end's first step: script text to AST, with parse errors as diagnostics.

pub mod ast;
mod build;
mod build_expr;
pub mod c_ast;
mod c_const;
mod c_decl;
mod c_lex;
pub mod codes;
pub mod delimiters;
pub mod format;
pub mod literal;
mod parse;
mod pest_error;
pub mod preprocess;
mod trim;
pub mod print;

pub use parse::{parse, parse_expr};
pub use print::print_ast;
