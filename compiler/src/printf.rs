//! printf format strings: parsed once by the compiler, checked against the argument types, and
//! carried in the manifest so that the runtime formats records without re-parsing.

/// A parsed format string: literal text and conversions, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatPiece {
    /// Text printed as is (`%%` already turned into `%`).
    Literal(Vec<u8>),
    Spec(FormatSpec),
}

/// One `%...` conversion and the index of the argument it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatSpec {
    pub flags: FormatFlags,
    pub width: Option<u32>,
    pub precision: Option<u32>,
    pub length: LengthModifier,
    pub conversion: Conversion,
    /// Index into the printf arguments (after the format string).
    pub arg: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FormatFlags {
    /// `-`
    pub left: bool,
    /// `0`
    pub zero: bool,
    /// `+`
    pub plus: bool,
    /// ` `
    pub space: bool,
    /// `#`
    pub alternate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthModifier {
    None,
    /// `hh`
    Char,
    /// `h`
    Short,
    /// `l`
    Long,
    /// `ll`
    LongLong,
    /// `z`
    Size,
    /// `j`
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// `%d` / `%i`
    Signed,
    /// `%u`
    Unsigned,
    /// `%x`
    HexLower,
    /// `%X`
    HexUpper,
    /// `%o`
    Octal,
    /// `%s`
    Str,
    /// `%c`
    Char,
    /// `%p`
    Pointer,
}
