//! The stable error codes of the syntax phase; `docs/errors.md` explains each one.

/// A token the grammar does not allow at that place.
pub const UNEXPECTED_TOKEN: &str = "E0101";
/// A `{`, `(` or `[` that is never closed.
pub const UNCLOSED_DELIMITER: &str = "E0102";
/// An integer literal that is malformed or does not fit in 64 bits.
pub const BAD_INTEGER: &str = "E0103";
/// An unknown or malformed escape sequence in a string literal.
pub const BAD_ESCAPE: &str = "E0104";
/// A keyword bpftrace reserves that ferrotrace does not support yet.
pub const UNSUPPORTED_KEYWORD: &str = "E0105";
/// A string literal without its closing `"` on the same line.
pub const UNCLOSED_STRING: &str = "E0106";
/// A `/*` comment without its `*/`.
pub const UNCLOSED_COMMENT: &str = "E0107";
/// A `}`, `)` or `]` that closes nothing, or closes the wrong opener.
pub const MISMATCHED_DELIMITER: &str = "E0108";
/// `++` or `--` applied to something that is neither a variable nor a map.
pub const BAD_INC_DEC_TARGET: &str = "E0109";
/// Brackets, blocks or expressions nested deeper than the compiler accepts.
pub const NESTED_TOO_DEEPLY: &str = "E0110";
/// A second `config = { ... }` block.
pub const DUPLICATE_CONFIG: &str = "E0111";
/// A malformed or unknown preprocessor directive, or an `#if` never closed.
pub const BAD_DIRECTIVE: &str = "E0112";
/// An `#error` directive in a branch that is taken.
pub const ERROR_DIRECTIVE: &str = "E0113";
/// A C definition (`struct`, `union`, `enum`, `typedef`) that does not parse.
pub const BAD_C_DEFINITION: &str = "E0122";
/// C that a definition may not hold here: a variable, a function, an unknown attribute.
pub const UNSUPPORTED_C: &str = "E0123";
/// An enum value or array length that is not a constant integer expression.
pub const BAD_C_CONSTANT: &str = "E0124";
