//! The parser of a script's C definitions (`struct`, `union`, `enum`, `typedef`): recursive
//! descent over the tokens of each definition's text, which the grammar cut out whole.
//!
//! It knows C's declaration syntax and nothing of types: which names are types and how big
//! they are is sema's business (`sema::c_types`). Enum values and array lengths are constant
//! expressions, computed here; the enum constants of earlier definitions may appear in them.

use crate::diagnostic::Diagnostic;
use crate::span::Span;

use super::ast::Ident;
use super::c_ast::{CBase, CBody, CDeclarator, CDefinition, CEnumerator, CField, CFieldDeclarator, CTag, CTagged};
use super::c_lex::{self, Token, TokenKind};
use super::codes;

/// How deep definitions and constant expressions may nest: bounded so that no input recurses
/// without end.
const MAX_DEPTH: usize = 64;

/// Words that qualify a type without changing its layout.
const QUALIFIERS: &[&str] =
    &["const", "volatile", "restrict", "__restrict", "__user", "__kernel", "__rcu", "__iomem", "__percpu", "__force"];

/// Words C builds its arithmetic types from.
const TYPE_WORDS: &[&str] = &["signed", "unsigned", "char", "short", "int", "long", "_Bool", "float", "double", "void"];

/// Parses the C definitions of one script in order, remembering their enum constants.
#[derive(Default)]
pub(super) struct CParser {
    /// The enum constants defined so far and their values.
    constants: Vec<(String, i128)>,
}

impl CParser {
    /// The definition whose text is `text`, starting at byte `start` of the script.
    pub(super) fn definition(&mut self, text: &str, start: usize) -> Result<CDefinition, Diagnostic> {
        let tokens = c_lex::tokens(text, start)?;
        let end = Span::new(start + text.len(), start + text.len());
        let mut cursor = Cursor { tokens: &tokens, at: 0, end, depth: 0, constants: &mut self.constants };
        cursor.definition(Span::new(start, start + text.len()))
    }
}

/// The state of one definition's parse: its tokens and where the parse is.
pub(super) struct Cursor<'t> {
    tokens: &'t [Token],
    at: usize,
    /// An empty span at the end of the text, for what is missing there.
    end: Span,
    depth: usize,
    pub(super) constants: &'t mut Vec<(String, i128)>,
}

impl Cursor<'_> {
    fn definition(&mut self, span: Span) -> Result<CDefinition, Diagnostic> {
        let typedef = self.eat_name("typedef");
        let base = self.specifier()?;
        let mut declarators = Vec::new();
        if !self.at_punct(";") {
            if !typedef {
                return Err(self.not_a_type(&base));
            }
            loop {
                let declarator = self.declarator()?;
                if declarator.name.is_none() {
                    return Err(expected("a name for the type", self.peek_span()));
                }
                declarators.push(declarator);
                if !self.eat_punct(",") {
                    break;
                }
            }
        } else if typedef {
            return Err(expected("a name for the type", self.peek_span()));
        } else if matches!(&base, CBase::Named { .. }) {
            return Err(self.unsupported_declaration(&base));
        }
        self.expect_punct(";", "a definition ends with `;`")?;
        if let Some(token) = self.tokens.get(self.at) {
            return Err(expected("the end of the definition", token.span));
        }
        Ok(CDefinition { typedef, base, declarators, span })
    }

    /// After a type that is not a `typedef`, where `;` should be: E0123 for a variable (a
    /// declarator then `;`, `,` or `=`), E0122 for anything else (most often a missing `;`).
    fn not_a_type(&mut self, base: &CBase) -> Diagnostic {
        let at = self.at;
        let variable = self.declarator().is_ok() && (self.at_punct(";") || self.at_punct(",") || self.at_punct("="));
        self.at = at;
        match variable {
            true => self.unsupported_declaration(base),
            false => expected("`;`", self.peek_span())
                .with_note(format!("found {}", self.found()))
                .with_help("a definition ends with `;`, as in `struct s { int x; };`"),
        }
    }

    /// E0123: a declaration of a variable or a function, which a script cannot define.
    fn unsupported_declaration(&self, base: &CBase) -> Diagnostic {
        Diagnostic::error(codes::UNSUPPORTED_C, "a C definition in a script defines types, not variables or functions")
            .with_primary(self.peek_span().to(base.span()), "declares something that is not a type")
            .with_help("end a `struct`, `union` or `enum` definition with `};`, or write `typedef` to name a type")
    }

    /// A type before its declarators: `unsigned long`, `const u32`, `struct s { ... }`.
    fn specifier(&mut self) -> Result<CBase, Diagnostic> {
        self.skip_qualifiers();
        let base = match self.peek_name() {
            Some("struct") => self.tagged(CTag::Struct)?,
            Some("union") => self.tagged(CTag::Union)?,
            Some("enum") => self.tagged(CTag::Enum)?,
            _ => self.named()?,
        };
        self.skip_qualifiers();
        Ok(base)
    }

    /// A type named by words: C's (`unsigned int`) or one name (`u32`, `pid_t`, `uint64`).
    fn named(&mut self) -> Result<CBase, Diagnostic> {
        let start = self.peek_span();
        let mut words: Vec<String> = Vec::new();
        let mut span = start;
        loop {
            self.skip_qualifiers();
            let Some(word) = self.peek_name() else { break };
            let c_word = TYPE_WORDS.contains(&word);
            if !c_word && (!words.is_empty() || is_keyword(word)) {
                break;
            }
            span = span.to(self.peek_span());
            words.push(word.to_string());
            self.at += 1;
            if !c_word {
                break;
            }
        }
        if words.is_empty() {
            return Err(expected("a type", start));
        }
        Ok(CBase::Named { words, span: Span::new(start.start as usize, span.end as usize) })
    }

    /// `struct name`, `struct name { ... }`, `union { ... }`, `enum name { ... }`, each with
    /// attributes before or after its name and after its body.
    fn tagged(&mut self, tag: CTag) -> Result<CBase, Diagnostic> {
        let start = self.peek_span();
        self.at += 1;
        let mut attributes = Attributes::default();
        self.attributes(&mut attributes)?;
        let name = match self.peek_name() {
            Some(name) if !is_keyword(name) => {
                let ident = Ident { name: name.to_string(), span: self.peek_span() };
                self.at += 1;
                Some(ident)
            }
            _ => None,
        };
        self.attributes(&mut attributes)?;
        let body = if self.at_punct("{") { Some(self.nested(start, |cursor| cursor.body(tag))?) } else { None };
        if name.is_none() && body.is_none() {
            return Err(expected(&format!("a name or `{{` after `{}`", tag.keyword()), self.peek_span()));
        }
        if body.is_some() {
            self.attributes(&mut attributes)?;
        }
        let span = start.to(self.previous_span());
        let Attributes { packed, aligned } = attributes;
        Ok(CBase::Tagged(Box::new(CTagged { tag, name, body, packed, aligned, span })))
    }

    /// `{ members }` or `{ enumerators }`.
    fn body(&mut self, tag: CTag) -> Result<CBody, Diagnostic> {
        let open = self.peek_span();
        self.at += 1;
        let body = match tag {
            CTag::Enum => CBody::Enumerators(self.enumerators(open)?),
            CTag::Struct | CTag::Union => {
                let mut fields = Vec::new();
                while !self.at_punct("}") {
                    if self.at >= self.tokens.len() {
                        return Err(expected("`}`", self.end).with_secondary(open, "this `{` is not closed"));
                    }
                    fields.push(self.field()?);
                }
                CBody::Fields(fields)
            }
        };
        self.expect_punct("}", "the members end with `}`")?;
        Ok(body)
    }

    /// One member declaration, through its `;`.
    fn field(&mut self) -> Result<CField, Diagnostic> {
        let start = self.peek_span();
        let base = self.specifier()?;
        let mut declarators = Vec::new();
        let anonymous = matches!(&base, CBase::Tagged(tagged) if tagged.name.is_none() && tagged.tag != CTag::Enum);
        if !(anonymous && self.at_punct(";")) {
            loop {
                declarators.push(self.field_declarator()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        self.expect_punct(";", "each member ends with `;`")?;
        Ok(CField { base, declarators, span: start.to(self.previous_span()) })
    }

    /// `name`, `*name[4]`, `name : 3`, `: 3`, each maybe with attributes.
    fn field_declarator(&mut self) -> Result<CFieldDeclarator, Diagnostic> {
        let declarator = if self.at_punct(":") {
            CDeclarator { name: None, pointers: 0, arrays: Vec::new(), function: false, span: self.peek_span() }
        } else {
            let declarator = self.declarator()?;
            if declarator.name.is_none() {
                return Err(expected("a member name", self.peek_span()));
            }
            declarator
        };
        let bits = match self.eat_punct(":") {
            true => {
                let start = self.peek_span();
                let width = self.constant()?;
                let span = start.to(self.previous_span());
                Some((u64::try_from(width).map_err(|_| bad_constant("a bitfield width cannot be negative", span))?, span))
            }
            false => None,
        };
        let mut attributes = Attributes::default();
        self.attributes(&mut attributes)?;
        if attributes.packed {
            return Err(unsupported_attribute("packed", self.previous_span(), "a member"));
        }
        Ok(CFieldDeclarator { declarator, bits, aligned: attributes.aligned })
    }

    /// Pointers, a name, arrays; or a pointer to a function, `(*name)(parameters)`.
    fn declarator(&mut self) -> Result<CDeclarator, Diagnostic> {
        let start = self.peek_span();
        let mut pointers = self.stars();
        let mut function = false;
        let name;
        let arrays;
        if self.eat_punct("(") {
            pointers = self.stars();
            if pointers == 0 {
                return Err(Diagnostic::error(codes::UNSUPPORTED_C, "only pointers to functions may be written in parentheses")
                    .with_primary(self.peek_span(), "expected `*`"));
            }
            name = Some(self.name()?);
            arrays = self.arrays()?;
            self.expect_punct(")", "`(*name)` closes with `)`")?;
            if !self.at_punct("(") {
                return Err(Diagnostic::error(codes::UNSUPPORTED_C, "a declarator in parentheses must be a pointer to a function")
                    .with_primary(self.peek_span(), "expected the function's parameters")
                    .with_help("write a pointer to an array as a plain pointer: `int *p`"));
            }
            self.skip_parameters()?;
            function = true;
        } else {
            name = match self.peek_name() {
                Some(word) if !is_keyword(word) => Some(self.name()?),
                _ => None,
            };
            arrays = self.arrays()?;
        }
        let span = start.to(self.previous_span());
        Ok(CDeclarator { name, pointers, arrays, function, span })
    }

    /// `*`s, each maybe followed by qualifiers (`char *const p`).
    fn stars(&mut self) -> u32 {
        let mut stars = 0;
        while self.eat_punct("*") {
            stars += 1;
            self.skip_qualifiers();
        }
        stars
    }

    /// A name, required: `Some`, or the error.
    fn name(&mut self) -> Result<Ident, Diagnostic> {
        match self.peek_name() {
            Some(word) if !is_keyword(word) => {
                let ident = Ident { name: word.to_string(), span: self.peek_span() };
                self.at += 1;
                Ok(ident)
            }
            _ => Err(expected("a name", self.peek_span())),
        }
    }

    /// `[N]...`: the lengths, `[]` being 0.
    fn arrays(&mut self) -> Result<Vec<(u64, Span)>, Diagnostic> {
        let mut arrays = Vec::new();
        while self.eat_punct("[") {
            let start = self.peek_span();
            let len = if self.at_punct("]") { 0 } else { self.constant()? };
            let span = start.to(self.previous_span());
            let len = u32::try_from(len).map_err(|_| bad_constant("an array length is from 0 to 4294967295", span))?;
            self.expect_punct("]", "an array length closes with `]`")?;
            arrays.push((u64::from(len), span));
        }
        Ok(arrays)
    }

    /// A function's parameter list, skipped: a pointer to a function is read as `void *`.
    fn skip_parameters(&mut self) -> Result<(), Diagnostic> {
        let open = self.peek_span();
        let mut depth = 0usize;
        while let Some(token) = self.tokens.get(self.at) {
            self.at += 1;
            match token.kind {
                TokenKind::Punct("(") => depth += 1,
                TokenKind::Punct(")") => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        Err(expected("`)`", self.end).with_secondary(open, "this `(` is not closed"))
    }

    /// An enum's constants, through the `}` (not eaten).
    fn enumerators(&mut self, open: Span) -> Result<Vec<CEnumerator>, Diagnostic> {
        let mut values = Vec::new();
        let mut next: i128 = 0;
        while !self.at_punct("}") {
            let name = self.name()?;
            let value = match self.eat_punct("=") {
                true => self.constant()?,
                false => next,
            };
            next = value.checked_add(1).ok_or_else(|| bad_constant("the next enum value overflows", name.span))?;
            self.constants.push((name.name.clone(), value));
            values.push(CEnumerator { name, value });
            if !self.eat_punct(",") {
                break;
            }
        }
        if values.is_empty() {
            return Err(Diagnostic::error(codes::BAD_C_DEFINITION, "an enum needs at least one constant")
                .with_primary(open.to(self.peek_span()), "no constants"));
        }
        Ok(values)
    }

    /// `__attribute__((packed, aligned(8)))` and the kernel's `__packed` and `__aligned(8)`.
    fn attributes(&mut self, into: &mut Attributes) -> Result<(), Diagnostic> {
        loop {
            match self.peek_name() {
                Some("__packed") => {
                    self.at += 1;
                    into.packed = true;
                }
                Some("__aligned") => {
                    self.at += 1;
                    into.aligned = Some(self.alignment()?);
                }
                Some("__attribute__" | "__attribute") => {
                    self.at += 1;
                    self.expect_punct("(", "an attribute list is `__attribute__((...))`")?;
                    self.expect_punct("(", "an attribute list is `__attribute__((...))`")?;
                    while !self.at_punct(")") {
                        self.attribute(into)?;
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                    self.expect_punct(")", "an attribute list is `__attribute__((...))`")?;
                    self.expect_punct(")", "an attribute list is `__attribute__((...))`")?;
                }
                _ => return Ok(()),
            }
        }
    }

    /// One attribute: `packed` or `aligned(N)` (`aligned` alone is 16, the most x86-64 needs).
    fn attribute(&mut self, into: &mut Attributes) -> Result<(), Diagnostic> {
        let span = self.peek_span();
        match self.peek_name() {
            Some("packed" | "__packed__") => {
                self.at += 1;
                into.packed = true;
            }
            Some("aligned" | "__aligned__") => {
                self.at += 1;
                into.aligned = Some(if self.at_punct("(") { self.alignment()? } else { 16 });
            }
            Some(other) => return Err(unsupported_attribute(other, span, "a type")),
            None => return Err(expected("an attribute", span)),
        }
        Ok(())
    }

    /// `(N)`, a power of two.
    fn alignment(&mut self) -> Result<u64, Diagnostic> {
        self.expect_punct("(", "an alignment is written `aligned(N)`")?;
        let start = self.peek_span();
        let value = self.constant()?;
        let span = start.to(self.previous_span());
        self.expect_punct(")", "an alignment is written `aligned(N)`")?;
        u64::try_from(value)
            .ok()
            .filter(|n| n.is_power_of_two() && *n <= 1 << 28)
            .ok_or_else(|| bad_constant("an alignment is a power of two", span))
    }

    /// Runs `parse` one level deeper, or reports the nesting past [`MAX_DEPTH`].
    pub(super) fn nested<T>(&mut self, span: Span, parse: impl FnOnce(&mut Self) -> Result<T, Diagnostic>) -> Result<T, Diagnostic> {
        if self.depth >= MAX_DEPTH {
            return Err(Diagnostic::error(codes::NESTED_TOO_DEEPLY, "the C definition is nested too deeply")
                .with_primary(span, format!("this is more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    fn skip_qualifiers(&mut self) {
        while self.peek_name().is_some_and(|word| QUALIFIERS.contains(&word)) {
            self.at += 1;
        }
    }

    pub(super) fn peek(&self) -> Option<&TokenKind> {
        self.tokens.get(self.at).map(|token| &token.kind)
    }

    fn peek_name(&self) -> Option<&str> {
        match self.peek() {
            Some(TokenKind::Name(name)) => Some(name),
            _ => None,
        }
    }

    /// The next token's span, or the end of the text.
    pub(super) fn peek_span(&self) -> Span {
        self.tokens.get(self.at).map_or(self.end, |token| token.span)
    }

    /// The last token's span.
    pub(super) fn previous_span(&self) -> Span {
        self.at.checked_sub(1).and_then(|at| self.tokens.get(at)).map_or(self.end, |token| token.span)
    }

    pub(super) fn advance(&mut self) {
        self.at += 1;
    }

    pub(super) fn at_punct(&self, punct: &str) -> bool {
        matches!(self.peek(), Some(TokenKind::Punct(p)) if *p == punct)
    }

    pub(super) fn eat_punct(&mut self, punct: &str) -> bool {
        let found = self.at_punct(punct);
        self.at += usize::from(found);
        found
    }

    fn eat_name(&mut self, name: &str) -> bool {
        let found = self.peek_name() == Some(name);
        self.at += usize::from(found);
        found
    }

    /// Eats `punct`, or reports what was found instead, with `help`.
    pub(super) fn expect_punct(&mut self, punct: &str, help: &str) -> Result<(), Diagnostic> {
        if self.eat_punct(punct) {
            return Ok(());
        }
        Err(expected(&format!("`{punct}`"), self.peek_span()).with_note(format!("found {}", self.found())).with_help(help))
    }

    /// What the next token is, for messages.
    fn found(&self) -> String {
        self.peek().map_or("the end of the definition".to_string(), TokenKind::describe)
    }
}

/// The attributes written on a type or member.
#[derive(Default)]
struct Attributes {
    packed: bool,
    aligned: Option<u64>,
}

/// Words that start a type or a definition, never a name.
fn is_keyword(word: &str) -> bool {
    matches!(word, "struct" | "union" | "enum" | "typedef" | "__attribute__" | "__attribute" | "__packed" | "__aligned")
        || TYPE_WORDS.contains(&word)
        || QUALIFIERS.contains(&word)
}

/// E0122: `what` was expected at `span`.
pub(super) fn expected(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error(codes::BAD_C_DEFINITION, format!("expected {what} in the C definition"))
        .with_primary(span, format!("expected {what} here"))
}

/// E0124: a constant that is not one C allows here.
pub(super) fn bad_constant(message: &str, span: Span) -> Diagnostic {
    Diagnostic::error(codes::BAD_C_CONSTANT, message.to_string()).with_primary(span, "this value")
}

/// E0123: an attribute other than `packed` and `aligned`, or `packed` on `what` (a member).
fn unsupported_attribute(name: &str, span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(codes::UNSUPPORTED_C, format!("the attribute `{name}` is not supported on {what}"))
        .with_primary(span, "unsupported attribute")
        .with_note("ferrotrace lays out `packed` and `aligned(N)` structs, and `aligned(N)` members")
}
