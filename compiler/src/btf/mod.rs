//! A reader of BTF, the kernel's description of its own types (`/sys/kernel/btf/vmlinux`, and
//! each module's split BTF beside it), over bytes the caller read: this crate does no IO.
//!
//! Reading is lazy so that a script that names no kernel type pays nothing and one that does
//! pays only for what it asks. [`Btf::parse`] checks the header and where the sections lie. The
//! first query by id walks the type section once to find where each record starts (the offset
//! table, 4 bytes a type); the first lookup by name in a [`Family`] hashes the names of that
//! family only, and the first enumerator lookup the enumerators. Records are decoded on demand
//! into a [`Kind`], which borrows its names from the data.
//!
//! Nothing here panics or loops on bad data: malformed records are a [`BtfError`] or `None`,
//! chains of typedefs and modifiers stop after [`MAX_CHAIN`] links, and walks into nested types
//! (anonymous members, alignment, display) stop after a fixed number of types.

mod display;
mod error;
mod functions;
mod header;
mod kind;
mod layout;
mod names;
mod table;
mod writer;
#[cfg(test)]
pub(crate) mod tests;

use std::sync::{Arc, OnceLock};

pub use error::BtfError;
pub use functions::Signature;
pub use kind::{Composite, Enumerator, Kind, Linkage, Member, Param, SectionVar};
pub use names::Family;
pub use writer::{Writer, WrittenMember};

use header::Sections;
use table::Head;

/// The longest chain of typedefs, modifiers or nested arrays followed before giving up (the
/// kernel's own limit): a cycle in bad data ends there.
pub const MAX_CHAIN: usize = 32;

/// A BTF type id. Id 0 is `void`; a split BTF's ids continue after its base's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeId(pub u32);

impl TypeId {
    /// `void`: no type, the target of `void *` and the return type of a `void` function.
    pub const VOID: TypeId = TypeId(0);
}

/// One BTF blob (vmlinux's, or a module's split on top of it), parsed as far as asked. A clone
/// copies the data and what has been built so far.
#[derive(Clone)]
pub struct Btf {
    data: Vec<u8>,
    sections: Sections,
    /// The BTF whose types and strings this one continues (vmlinux for a module).
    base: Option<Arc<Btf>>,
    /// The id of this blob's first record: 1, or the number after the base's last id.
    first_id: u32,
    /// The string offset this blob's string section starts at: 0, or where the base's ends.
    first_str: u32,
    /// Whether this blob's names hide its base's (a script's types over the kernel's), rather
    /// than the base's coming first (a module's types over vmlinux's).
    shadows: bool,
    offsets: OnceLock<Result<Vec<u32>, BtfError>>,
    names: names::Indexes,
}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Btf({} bytes, types from {})", self.data.len(), self.first_id)
    }
}

impl Btf {
    /// Takes BTF bytes, checking only the header and that the sections lie inside the data.
    pub fn parse(data: Vec<u8>) -> Result<Btf, BtfError> {
        let sections = header::sections(&data)?;
        Ok(Btf {
            data,
            sections,
            base: None,
            first_id: 1,
            first_str: 0,
            shadows: false,
            offsets: OnceLock::new(),
            names: Default::default(),
        })
    }

    /// Takes split BTF (a module's) whose ids and strings continue those of `base` (vmlinux's),
    /// so its types may refer to the base's by id. This builds the base's offset table, to know
    /// where the ids continue.
    pub fn parse_split(base: Arc<Btf>, data: Vec<u8>) -> Result<Btf, BtfError> {
        let sections = header::sections(&data)?;
        let (first_id, first_str) = base.continued_at()?;
        let names = Default::default();
        Ok(Btf { data, sections, base: Some(base), first_id, first_str, shadows: false, offsets: OnceLock::new(), names })
    }

    /// Takes split BTF as [`Btf::parse_split`] does, but whose names hide its base's: a
    /// script's own C types over the kernel's, found first by name and enum constant.
    pub fn parse_overlay(base: Arc<Btf>, data: Vec<u8>) -> Result<Btf, BtfError> {
        Ok(Btf { shadows: true, ..Btf::parse_split(base, data)? })
    }

    /// The first type id and string offset of a split BTF over this one.
    fn continued_at(&self) -> Result<(u32, u32), BtfError> {
        let strings = u32::try_from(self.sections.strings.len()).map_err(|_| BtfError::TooManyTypes)?;
        Ok((self.end_id()?, self.first_str.checked_add(strings).ok_or(BtfError::TooManyTypes)?))
    }

    /// Checks every type record's kind and that it fits in the type section (building the
    /// offset table): the first error, if any. Queries answer `None` on data that fails this.
    pub fn validate(&self) -> Result<(), BtfError> {
        self.offsets().map(|_| ())?;
        self.base.as_ref().map_or(Ok(()), |base| base.validate())
    }

    /// The type `id`, decoded. Names in it borrow from the data.
    pub fn kind(&self, id: TypeId) -> Result<Kind<'_>, BtfError> {
        if id == TypeId::VOID {
            return Ok(Kind::Void);
        }
        let (owner, head) = self.head(id)?;
        kind::decode(owner, id, head)
    }

    /// Whether `id` is a type of the blob at the bottom of this one: the kernel image's, not a
    /// module's or a script's laid over it.
    pub fn in_base(&self, id: TypeId) -> bool {
        match &self.base {
            Some(base) => base.in_base(id),
            None => self.owns(id),
        }
    }

    /// Whether `id` is one of this blob's own records, not its base's.
    pub fn owns(&self, id: TypeId) -> bool {
        id.0 >= self.first_id && self.end_id().is_ok_and(|end| id.0 < end)
    }

    /// The id after this blob's last type: where a split BTF on top of it starts.
    fn end_id(&self) -> Result<u32, BtfError> {
        let count = u32::try_from(self.offsets()?.len()).map_err(|_| BtfError::TooManyTypes)?;
        self.first_id.checked_add(count).ok_or(BtfError::TooManyTypes)
    }

    /// The offset table, built on first use.
    fn offsets(&self) -> Result<&[u32], BtfError> {
        let built = self.offsets.get_or_init(|| table::offsets(&self.data, self.sections.types.clone(), self.first_id));
        built.as_deref().map_err(Clone::clone)
    }

    /// The ids of this blob's own records (not its base's).
    fn own_ids(&self) -> impl Iterator<Item = TypeId> + '_ {
        let count = self.offsets().map_or(0, <[u32]>::len) as u32;
        (self.first_id..self.first_id.saturating_add(count)).map(TypeId)
    }

    /// The blob that holds record `id` (this one or a base) and the record's head.
    fn head(&self, id: TypeId) -> Result<(&Btf, Head), BtfError> {
        let mut owner = self;
        while id.0 < owner.first_id {
            owner = owner.base.as_deref().ok_or(BtfError::NoSuchType { id: id.0 })?;
        }
        let at = owner.offsets()?.get((id.0 - owner.first_id) as usize).ok_or(BtfError::NoSuchType { id: id.0 })?;
        let head = Head::read(&owner.data, *at as usize).ok_or(BtfError::Truncated { id: id.0 })?;
        Ok((owner, head))
    }

    /// The kind number of record `id`, read from its head alone.
    fn kind_number(&self, id: TypeId) -> Option<u8> {
        self.head(id).ok().map(|(_, head)| head.kind)
    }

    /// The word at byte `at`, for a record's tail: the offset table checked it is there.
    fn word(&self, id: TypeId, at: usize) -> Result<u32, BtfError> {
        header::word(&self.data, at).ok_or(BtfError::Truncated { id: id.0 })
    }

    /// The bytes of the string at `offset`, which may be in a base's string section.
    fn str_bytes(&self, offset: u32) -> Result<&[u8], BtfError> {
        if offset < self.first_str {
            return self.base.as_deref().ok_or(BtfError::BadString { offset })?.str_bytes(offset);
        }
        let start = self.sections.strings.start + (offset - self.first_str) as usize;
        let rest = self.data.get(start..self.sections.strings.end).ok_or(BtfError::BadString { offset })?;
        let len = rest.iter().position(|&b| b == 0).ok_or(BtfError::BadString { offset })?;
        Ok(&rest[..len])
    }

    /// The string at `offset` of the string section (an access string of `.BTF.ext`, a
    /// section's name).
    pub fn string(&self, offset: u32) -> Option<&str> {
        self.str_at(offset).ok()
    }

    /// The string at `offset`.
    fn str_at(&self, offset: u32) -> Result<&str, BtfError> {
        std::str::from_utf8(self.str_bytes(offset)?).map_err(|_| BtfError::BadString { offset })
    }
}
