//! A script's C definitions made types: laid out (`c_layout`) and written as BTF, layered over
//! the kernel's BTF as an overlay whose names hide the kernel's. Everything that reads kernel
//! types (`kernel_types`, `pointers`, `written_types`) then sees the script's types and the
//! kernel's in one id space; without kernel BTF the script's stand alone.
//!
//! Names resolve as C does, in order: a type is used by value only once defined; a pointer may
//! name a struct defined later in the script (every named struct, union and enum is given its
//! id before any is laid out), or the kernel's, or one never defined (a forward declaration).

use std::collections::HashMap;
use std::sync::Arc;

use super::c_layout::{self, Packing, Slot};
use crate::btf::{Btf, Family, Kind, TypeId, Writer, WrittenMember};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::syntax::ast::Ident;
use crate::syntax::c_ast::{CBase, CBody, CDeclarator, CDefinition, CField, CFieldDeclarator, CTag, CTagged};

/// The script's types over the kernel's, or `None` when it defines none. Reads the kernel's
/// BTF only for a script with definitions. Errors go to `diags`; the types that could be
/// laid out are still returned, so that uses of them report nothing more.
pub(super) fn build(definitions: &[CDefinition], kernel: Option<&Arc<Btf>>, diags: &mut Vec<Diagnostic>) -> Option<Btf> {
    let first = definitions.first()?;
    let written = Writer::new(kernel.map(|btf| &**btf)).map_err(|error| error.to_string()).and_then(|writer| {
        let mut types = Types::new(writer, kernel.map(|btf| &**btf));
        types.declare_tags(definitions);
        for definition in definitions {
            types.definition(definition);
        }
        diags.append(&mut types.diags);
        let data = types.writer.finish();
        let btf = match kernel {
            Some(kernel) => Btf::parse_overlay(Arc::clone(kernel), data),
            None => Btf::parse(data),
        };
        btf.map_err(|error| error.to_string())
    });
    match written {
        Ok(btf) => Some(btf),
        Err(why) => {
            diags.push(
                Diagnostic::error("E0901", "the script's C definitions could not be made into types")
                    .with_primary(first.span, "here")
                    .with_note(why),
            );
            None
        }
    }
}

/// A type as far as layout cares: its id and, once complete, its size and alignment.
#[derive(Debug, Clone, Copy)]
struct Typed {
    id: TypeId,
    /// `(size, align)` in bytes; `None` for `void`, a declared struct, or one being defined.
    layout: Option<(u64, u64)>,
    /// An integer or enum, which a bitfield may be.
    integer: bool,
}

/// A struct, union or enum tag the script names.
struct Tag {
    id: TypeId,
    /// Where it is defined, when it is.
    defined: Option<Span>,
}

/// The types written so far and what they are named.
struct Types<'k> {
    writer: Writer,
    kernel: Option<&'k Btf>,
    tags: HashMap<String, Tag>,
    typedefs: HashMap<String, (Typed, Span)>,
    /// The layout of each of the script's complete types.
    layouts: HashMap<TypeId, Typed>,
    /// Integer and float records by name, pointers by target: each written once.
    numbers: HashMap<String, Typed>,
    pointers: HashMap<TypeId, TypeId>,
    /// Enum constants and where they are defined.
    constants: HashMap<String, Span>,
    diags: Vec<Diagnostic>,
}

impl<'k> Types<'k> {
    fn new(writer: Writer, kernel: Option<&'k Btf>) -> Types<'k> {
        Types {
            writer,
            kernel,
            tags: HashMap::new(),
            typedefs: HashMap::new(),
            layouts: HashMap::new(),
            numbers: HashMap::new(),
            pointers: HashMap::new(),
            constants: HashMap::new(),
            diags: Vec::new(),
        }
    }

    /// Gives every named struct, union and enum the script defines its id, nested ones too;
    /// E0482 for a name defined twice.
    fn declare_tags(&mut self, definitions: &[CDefinition]) {
        // Popped in source order: the first definition of a name is the one that stands.
        let mut stack: Vec<&CBase> = definitions.iter().rev().map(|definition| &definition.base).collect();
        while let Some(base) = stack.pop() {
            let CBase::Tagged(tagged) = base else { continue };
            let Some(body) = &tagged.body else { continue };
            if let CBody::Fields(fields) = body {
                stack.extend(fields.iter().rev().map(|field| &field.base));
            }
            let Some(name) = &tagged.name else { continue };
            if let Some(first) = self.tags.get(&name.name).and_then(|tag| tag.defined) {
                self.diags.push(defined_twice(&format!("{} {}", tagged.tag.keyword(), name.name), name.span, first));
                continue;
            }
            match tagged.tag {
                CTag::Enum => {
                    // Enums are written whole once their values are known; until then, nothing.
                    self.tags.insert(name.name.clone(), Tag { id: TypeId::VOID, defined: Some(name.span) });
                }
                _ => match self.writer.reserve() {
                    Ok(id) => {
                        self.tags.insert(name.name.clone(), Tag { id, defined: Some(name.span) });
                    }
                    Err(error) => self.diags.push(internal(&error.to_string(), name.span)),
                },
            }
        }
    }

    fn definition(&mut self, definition: &CDefinition) {
        let Some(base) = self.base(&definition.base) else { return };
        for declarator in &definition.declarators {
            let Some(name) = &declarator.name else { continue };
            let Some(target) = self.declared(base, declarator) else { continue };
            if let Some((_, first)) = self.typedefs.get(&name.name) {
                self.diags.push(defined_twice(&name.name, name.span, *first));
                continue;
            }
            match self.writer.typedef(&name.name, target.id) {
                Ok(id) => {
                    let typed = Typed { id, ..target };
                    self.layouts.insert(id, typed);
                    self.typedefs.insert(name.name.clone(), (typed, name.span));
                }
                Err(error) => self.diags.push(internal(&error.to_string(), name.span)),
            }
        }
    }

    /// The type a declaration starts from; `None` after reporting why there is none.
    fn base(&mut self, base: &CBase) -> Option<Typed> {
        match base {
            CBase::Named { words, span } => self.named(words, *span),
            CBase::Tagged(tagged) => match &tagged.body {
                Some(CBody::Fields(fields)) => self.composite(tagged, fields),
                Some(CBody::Enumerators(values)) => self.enumeration(tagged, values),
                None => self.tag_named(tagged),
            },
        }
    }

    /// A type named by words: C's arithmetic types, the language's integers, a typedef of the
    /// script's or of the kernel's.
    fn named(&mut self, words: &[String], span: Span) -> Option<Typed> {
        if let [word] = words {
            if let Some(int) = super::expr::int_type_named(word) {
                return self.number(&int.to_string(), u64::from(int.bits / 8), Number::Int { signed: int.signed, char: false });
            }
            if let Some((typed, _)) = self.typedefs.get(word.as_str()) {
                return Some(*typed);
            }
        }
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        if let Some((name, size, number)) = c_arithmetic(&words) {
            return match number {
                Number::Void => Some(Typed { id: TypeId::VOID, layout: None, integer: false }),
                number => self.number(name, size, number),
            };
        }
        let name = words.join(" ");
        if let Some(typed) = self.kernel_type(&name, Family::Typedef) {
            return Some(typed);
        }
        self.diags.push(self.not_a_type(&name, span));
        None
    }

    /// An integer or float record named `name`, written once.
    fn number(&mut self, name: &str, size: u64, number: Number) -> Option<Typed> {
        if let Some(typed) = self.numbers.get(name) {
            return Some(*typed);
        }
        let size32 = size as u32;
        let written = match number {
            Number::Int { signed, char } => self.writer.int(name, size32, signed, char, false),
            Number::Bool => self.writer.int(name, size32, false, false, true),
            Number::Float | Number::Void => self.writer.float(name, size32),
        };
        let id = written.ok()?;
        let typed = Typed { id, layout: Some((size, size)), integer: !matches!(number, Number::Float | Number::Void) };
        self.numbers.insert(name.to_string(), typed);
        self.layouts.insert(id, typed);
        Some(typed)
    }

    /// A kernel type of `family` named `name`, with its layout.
    fn kernel_type(&self, name: &str, family: Family) -> Option<Typed> {
        let kernel = self.kernel?;
        let id = kernel.find(name, family)?;
        let layout = kernel.size_of(id).zip(kernel.align_of(id).map(u64::from));
        let integer = matches!(kernel.resolve(id).and_then(|id| kernel.kind(id).ok()), Some(Kind::Int { .. } | Kind::Enum { .. }));
        Some(Typed { id, layout, integer })
    }

    /// `struct name` without a body: the script's, else the kernel's, else a declaration.
    fn tag_named(&mut self, tagged: &CTagged) -> Option<Typed> {
        let name = tagged.name.as_ref()?;
        if let Some(tag) = self.tags.get(&name.name) {
            if tag.id == TypeId::VOID {
                // An enum used before its definition: C allows only a pointer to it.
                return Some(Typed { id: TypeId::VOID, layout: None, integer: false });
            }
            return Some(self.layouts.get(&tag.id).copied().unwrap_or(Typed { id: tag.id, layout: None, integer: false }));
        }
        let family = if tagged.tag == CTag::Enum { Family::Enum } else { Family::StructOrUnion };
        if let Some(typed) = self.kernel_type(&name.name, family) {
            return Some(typed);
        }
        if tagged.tag == CTag::Enum {
            self.diags.push(self.not_a_type(&format!("enum {}", name.name), name.span));
            return None;
        }
        let id = self.writer.forward(&name.name, tagged.tag == CTag::Union).ok()?;
        self.tags.insert(name.name.clone(), Tag { id, defined: None });
        Some(Typed { id, layout: None, integer: false })
    }

    /// A struct or union with members: laid out and written.
    fn composite(&mut self, tagged: &CTagged, fields: &[CField]) -> Option<Typed> {
        let id = match &tagged.name {
            // A second definition of the name was reported; the first stands.
            Some(name) => self.tags.get(&name.name).filter(|tag| tag.defined == Some(name.span)).map(|tag| tag.id)?,
            None => self.writer.reserve().ok()?,
        };
        let mut members: Vec<(String, Typed, Option<u8>, Option<u64>)> = Vec::new();
        let mut names: HashMap<&str, Span> = HashMap::new();
        for field in fields {
            let Some(base) = self.base(&field.base) else { continue };
            if field.declarators.is_empty() {
                self.anonymous_member(base, field.span, &mut members);
                continue;
            }
            for declarator in &field.declarators {
                if let Some(name) = &declarator.declarator.name {
                    if let Some(first) = names.insert(&name.name, name.span) {
                        self.diags.push(member_twice(name, first));
                        continue;
                    }
                }
                if let Some(member) = self.member(base, declarator) {
                    members.push(member);
                }
            }
        }
        let slots: Vec<Slot> = members
            .iter()
            .map(|(name, typed, bits, aligned)| {
                let (size, align) = typed.layout.unwrap_or((0, 1));
                Slot { size, align, bits: *bits, named: !name.is_empty(), aligned: *aligned }
            })
            .collect();
        let packing = Packing { union: tagged.tag == CTag::Union, packed: tagged.packed, aligned: tagged.aligned };
        let Some(layout) = c_layout::lay_out(&slots, packing).filter(|layout| layout.size <= u64::from(u32::MAX)) else {
            self.diags.push(too_big(tagged.span));
            return None;
        };
        let written: Vec<WrittenMember<'_>> = members
            .iter()
            .zip(&layout.offsets)
            .map(|((name, typed, bits, _), offset)| WrittenMember {
                name,
                ty: typed.id,
                bit_offset: *offset as u32,
                bitfield_size: *bits,
            })
            .collect();
        if layout.offsets.last().is_some_and(|offset| *offset > u64::from(u32::MAX)) {
            self.diags.push(too_big(tagged.span));
            return None;
        }
        let name = tagged.name.as_ref().map_or("", |name| name.name.as_str());
        if let Err(error) = self.writer.composite(id, tagged.tag == CTag::Union, name, layout.size as u32, &written) {
            self.diags.push(too_big(tagged.span).with_note(error.to_string()));
            return None;
        }
        let typed = Typed { id, layout: Some((layout.size, layout.align)), integer: false };
        self.layouts.insert(id, typed);
        Some(typed)
    }

    /// An anonymous struct or union member (`union { int a; long b; };`): its members are the
    /// outer struct's. Anything else without a name is E0122.
    fn anonymous_member(&mut self, base: Typed, span: Span, members: &mut Vec<(String, Typed, Option<u8>, Option<u64>)>) {
        match base.layout {
            Some(_) => members.push((String::new(), base, None, None)),
            None => self.diags.push(incomplete("an anonymous member", span)),
        }
    }

    /// One member: its name, type, bitfield width and alignment attribute; `None` after
    /// reporting what is wrong with it.
    fn member(&mut self, base: Typed, declarator: &CFieldDeclarator) -> Option<(String, Typed, Option<u8>, Option<u64>)> {
        let decl = &declarator.declarator;
        let name = decl.name.as_ref().map_or(String::new(), |name| name.name.clone());
        let typed = self.declared(base, decl)?;
        let bits = match declarator.bits {
            None => None,
            Some((width, span)) => Some(self.bitfield(typed, decl, width, span)?),
        };
        if typed.layout.is_none() {
            let what = decl.name.as_ref().map_or("a member".to_string(), |name| format!("member `{}`", name.name));
            self.diags.push(incomplete(&what, decl.span));
            return None;
        }
        Some((name, typed, bits, declarator.aligned))
    }

    /// E0484 unless `typed` may be a bitfield of `width` bits.
    fn bitfield(&mut self, typed: Typed, decl: &CDeclarator, width: u64, span: Span) -> Option<u8> {
        let size = typed.layout.map_or(0, |(size, _)| size);
        let problem = if !typed.integer || decl.pointers > 0 || !decl.arrays.is_empty() || decl.function {
            Some("a bitfield is an integer or an enum".to_string())
        } else if width > size * 8 {
            Some(format!("the bitfield is wider than its type's {} bits", size * 8))
        } else if width == 0 && decl.name.is_some() {
            Some("a bitfield of width 0 cannot have a name".to_string())
        } else {
            None
        };
        match problem {
            Some(problem) => {
                self.diags.push(
                    Diagnostic::error("E0484", problem)
                        .with_primary(span, "this width")
                        .with_secondary(decl.span, "this member"),
                );
                None
            }
            None => Some(width as u8),
        }
    }

    /// `base` with the declarator's pointers and arrays applied (a pointer to a function is
    /// a `void *`); `None` after reporting an array of an incomplete type or one too big.
    fn declared(&mut self, base: Typed, decl: &CDeclarator) -> Option<Typed> {
        let mut typed = if decl.function { Typed { id: TypeId::VOID, layout: None, integer: false } } else { base };
        for _ in 0..decl.pointers {
            typed = self.pointer(typed.id)?;
        }
        for &(len, span) in decl.arrays.iter().rev() {
            let Some((size, align)) = typed.layout else {
                self.diags.push(incomplete("an array's element", span));
                return None;
            };
            let Some(total) = size.checked_mul(len).filter(|total| *total <= u64::from(u32::MAX)) else {
                self.diags.push(too_big(span));
                return None;
            };
            let index = self.number("unsigned int", 4, Number::Int { signed: false, char: false })?.id;
            let id = self.writer.array(typed.id, index, len as u32).ok()?;
            typed = Typed { id, layout: Some((total, align)), integer: false };
            self.layouts.insert(id, typed);
        }
        Some(typed)
    }

    /// A pointer to `target`, written once.
    fn pointer(&mut self, target: TypeId) -> Option<Typed> {
        let id = match self.pointers.get(&target) {
            Some(id) => *id,
            None => {
                let id = self.writer.pointer(target).ok()?;
                self.pointers.insert(target, id);
                id
            }
        };
        Some(Typed { id, layout: Some((8, 8)), integer: false })
    }

    /// An enum: 4 bytes when its values fit in `int` or `unsigned int`, else 8.
    fn enumeration(&mut self, tagged: &CTagged, values: &[crate::syntax::c_ast::CEnumerator]) -> Option<Typed> {
        for value in values {
            if let Some(first) = self.constants.insert(value.name.name.clone(), value.name.span) {
                self.diags.push(defined_twice(&value.name.name, value.name.span, first));
            }
        }
        let signed = values.iter().any(|value| value.value < 0);
        let fits = |range: std::ops::RangeInclusive<i128>| values.iter().all(|value| range.contains(&value.value));
        let size = if fits(i128::from(i32::MIN)..=i128::from(u32::MAX >> u32::from(signed))) { 4 } else { 8 };
        if signed && !fits(i128::from(i64::MIN)..=i128::from(i64::MAX)) {
            self.diags.push(
                Diagnostic::error("E0124", "the enum's values do not fit one 64-bit integer type")
                    .with_primary(tagged.span, "negative values and values above 2^63 - 1"),
            );
            return None;
        }
        let canonical: Vec<(&str, u64)> = values.iter().map(|value| (value.name.name.as_str(), value.value as u64)).collect();
        let name = tagged.name.as_ref().map_or("", |name| name.name.as_str());
        let id = self.writer.enumeration(name, size, signed, &canonical).ok()?;
        if let Some(tag) = tagged.name.as_ref().and_then(|name| self.tags.get_mut(&name.name)) {
            tag.id = id;
        }
        let typed = Typed { id, layout: Some((u64::from(size), u64::from(size))), integer: true };
        self.layouts.insert(id, typed);
        Some(typed)
    }

    /// E0475: a name that is no type of the script, the language or the kernel.
    fn not_a_type(&self, name: &str, span: Span) -> Diagnostic {
        let diag = Diagnostic::error("E0475", format!("the kernel has no type `{name}`"))
            .with_primary(span, "not a type of the script, the language or the kernel");
        match self.kernel {
            Some(_) => diag.with_help("define it before this definition, or check its spelling"),
            None => diag.with_note("the kernel has no BTF (/sys/kernel/btf/vmlinux), so only the script's and C's types are known"),
        }
    }
}

/// What kind of number a C type is.
#[derive(Debug, Clone, Copy)]
enum Number {
    Int { signed: bool, char: bool },
    Bool,
    Float,
    Void,
}

/// C's arithmetic types by their words (`unsigned long int`, `char`, `_Bool`, `double`):
/// the canonical name, the size and the kind; `None` for words that are no such type.
fn c_arithmetic(words: &[&str]) -> Option<(&'static str, u64, Number)> {
    let count = |word: &str| words.iter().filter(|w| **w == word).count();
    let (signed, unsigned) = (count("signed"), count("unsigned"));
    let (char, short, int, long) = (count("char"), count("short"), count("int"), count("long"));
    let others = words.len() - signed - unsigned - char - short - int - long;
    if signed + unsigned > 1 || int > 1 {
        return None;
    }
    let int_type = |name_signed, name_unsigned, size| {
        let signed = unsigned == 0;
        Some((if signed { name_signed } else { name_unsigned }, size, Number::Int { signed, char: false }))
    };
    match (char, short, long, others) {
        (0, 0, 0, 1) if signed + unsigned + int == 0 => match words[0] {
            "void" => Some(("void", 0, Number::Void)),
            "_Bool" | "bool" => Some(("_Bool", 1, Number::Bool)),
            "float" => Some(("float", 4, Number::Float)),
            "double" => Some(("double", 8, Number::Float)),
            _ => None,
        },
        (0, 0, 1, 1) if words.contains(&"double") && signed + unsigned + int == 0 => Some(("long double", 16, Number::Float)),
        (1, 0, 0, 0) if int == 0 => Some(match (signed, unsigned) {
            (0, 0) => ("char", 1, Number::Int { signed: true, char: true }),
            (1, _) => ("signed char", 1, Number::Int { signed: true, char: true }),
            _ => ("unsigned char", 1, Number::Int { signed: false, char: true }),
        }),
        (0, 1, 0, 0) => int_type("short", "unsigned short", 2),
        (0, 0, 1, 0) => int_type("long", "unsigned long", 8),
        (0, 0, 2, 0) => int_type("long long", "unsigned long long", 8),
        (0, 0, 0, 0) if signed + unsigned + int > 0 => int_type("int", "unsigned int", 4),
        _ => None,
    }
}

/// E0482: a type or enum constant the script defines twice.
fn defined_twice(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0482", format!("`{name}` is defined twice"))
        .with_primary(span, "defined again here")
        .with_secondary(first, "first defined here")
}

/// E0485: a member named twice in one struct or union.
fn member_twice(name: &Ident, first: Span) -> Diagnostic {
    Diagnostic::error("E0485", format!("two members are named `{}`", name.name))
        .with_primary(name.span, "named again here")
        .with_secondary(first, "first here")
}

/// E0483: a member, array element or anonymous member whose type has no known size.
fn incomplete(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0483", format!("{what} has a type whose size is not known"))
        .with_primary(span, "incomplete type")
        .with_note("a struct is usable by value only after its definition (not inside itself); `void` and a struct only declared have no size")
        .with_help("use a pointer to it, or define it first")
}

/// E0483: a type past 4 GiB (BTF's limit), or whose offsets overflow.
fn too_big(span: Span) -> Diagnostic {
    Diagnostic::error("E0483", "the type is too big")
        .with_primary(span, "its size or a member's offset does not fit")
        .with_note("a type is at most 4 GiB, and a struct with bitfields 2 MiB")
}

/// E0901: the BTF writer refused what it was given.
fn internal(why: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0901", "the script's C definitions could not be made into types").with_primary(span, "here").with_note(why.to_string())
}
