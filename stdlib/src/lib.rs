//! The registry of builtins and functions: each one's name, signature, documentation and the
//! version that introduced it. The compiler uses it for lookups and suggestions; docs and `-l`
//! read it too.
