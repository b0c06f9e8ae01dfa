//! The C definitions a script makes (`struct`, `union`, `enum`, `typedef`), as parsed by
//! `c_decl`: what is written, names unresolved, every node with its byte span in the script.

use super::ast::Ident;
use crate::span::Span;

/// One top-level C declaration: `struct s { ... };`, `enum e { A, B };`, `struct s;`,
/// `typedef unsigned int u32_t;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CDefinition {
    /// Whether it starts with `typedef`: then each declarator names a type.
    pub typedef: bool,
    pub base: CBase,
    /// The names a `typedef` declares (none for a plain struct, union or enum definition).
    pub declarators: Vec<CDeclarator>,
    /// The whole definition, its `;` included.
    pub span: Span,
}

/// The type a declaration starts from, before pointers and arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CBase {
    /// A type named by words: `unsigned long`, `u32`, `uint64`, `void`, `struct_t`. Qualifiers
    /// (`const`, `volatile`, `__user`) are left out.
    Named { words: Vec<String>, span: Span },
    /// `struct name`, `union { ... }`, `enum name { ... }`.
    Tagged(Box<CTagged>),
}

impl CBase {
    pub fn span(&self) -> Span {
        match self {
            CBase::Named { span, .. } => *span,
            CBase::Tagged(tagged) => tagged.span,
        }
    }
}

/// `struct`, `union` or `enum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CTag {
    Struct,
    Union,
    Enum,
}

impl CTag {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            CTag::Struct => "struct",
            CTag::Union => "union",
            CTag::Enum => "enum",
        }
    }
}

/// A struct, union or enum: named or not, defined here (with a body) or only named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CTagged {
    pub tag: CTag,
    pub name: Option<Ident>,
    pub body: Option<CBody>,
    /// `__attribute__((packed))` (or `__packed__`) on it.
    pub packed: bool,
    /// `__attribute__((aligned(N)))` on it: at least `N`-byte aligned.
    pub aligned: Option<u64>,
    pub span: Span,
}

/// What is between a definition's braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CBody {
    /// A struct's or union's members.
    Fields(Vec<CField>),
    /// An enum's constants, their values computed.
    Enumerators(Vec<CEnumerator>),
}

/// One member declaration: `unsigned int a, b:3;`, or an anonymous `struct { ... };`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CField {
    pub base: CBase,
    /// Empty for an anonymous struct or union member.
    pub declarators: Vec<CFieldDeclarator>,
    pub span: Span,
}

/// One member a declaration names, or an unnamed bitfield (`int :4;`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CFieldDeclarator {
    pub declarator: CDeclarator,
    /// `: width`, with the width's span.
    pub bits: Option<(u64, Span)>,
    /// `__attribute__((aligned(N)))` on the member.
    pub aligned: Option<u64>,
}

/// What is declared around a name: `*name`, `name[4][2]`, `(*name)(int)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CDeclarator {
    /// `None` for an unnamed bitfield.
    pub name: Option<Ident>,
    /// How many `*` (a function pointer counts one).
    pub pointers: u32,
    /// Array lengths, outermost first; `[]` (a flexible array) is 0.
    pub arrays: Vec<(u64, Span)>,
    /// A pointer to a function, `(*name)(...)`: laid out and read as a `void *`.
    pub function: bool,
    pub span: Span,
}

/// `NAME` or `NAME = value` in an enum, the value computed (as a canonical 64-bit value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CEnumerator {
    pub name: Ident,
    pub value: i128,
}
