//! Type records as stored: the kind numbers, the 12-byte record head every type starts with,
//! the bytes each kind has after it, and the per-id offset table found in one walk.

use std::ops::Range;

use super::header::word;
use super::BtfError;

pub(super) const INT: u8 = 1;
pub(super) const PTR: u8 = 2;
pub(super) const ARRAY: u8 = 3;
pub(super) const STRUCT: u8 = 4;
pub(super) const UNION: u8 = 5;
pub(super) const ENUM: u8 = 6;
pub(super) const FWD: u8 = 7;
pub(super) const TYPEDEF: u8 = 8;
pub(super) const VOLATILE: u8 = 9;
pub(super) const CONST: u8 = 10;
pub(super) const RESTRICT: u8 = 11;
pub(super) const FUNC: u8 = 12;
pub(super) const FUNC_PROTO: u8 = 13;
pub(super) const VAR: u8 = 14;
pub(super) const DATASEC: u8 = 15;
pub(super) const FLOAT: u8 = 16;
pub(super) const DECL_TAG: u8 = 17;
pub(super) const TYPE_TAG: u8 = 18;
pub(super) const ENUM64: u8 = 19;

/// `name_off`, `info`, then `size` or `type`: the head of every type record.
pub(super) const HEAD_LEN: usize = 12;

/// The head of one type record, decoded.
#[derive(Debug, Clone, Copy)]
pub(super) struct Head {
    /// Where the record starts in the data; what follows the head starts at `at + HEAD_LEN`.
    pub at: usize,
    pub name_off: u32,
    pub kind: u8,
    /// The number of members, enumerators, parameters or variables (a function's linkage).
    pub vlen: usize,
    pub kind_flag: bool,
    /// The size of the type, or the id of the type it refers to, by kind.
    pub size_or_type: u32,
}

impl Head {
    /// The head of the record at byte `at` of `data`, if its 12 bytes are there.
    pub fn read(data: &[u8], at: usize) -> Option<Head> {
        let info = word(data, at + 4)?;
        Some(Head {
            at,
            name_off: word(data, at)?,
            kind: ((info >> 24) & 0x1f) as u8,
            vlen: (info & 0xffff) as usize,
            kind_flag: info >> 31 == 1,
            size_or_type: word(data, at + 8)?,
        })
    }
}

/// The bytes after the head of a record of `kind` with `vlen` entries; `None` for a kind this
/// reader does not know.
fn tail_len(kind: u8, vlen: usize) -> Option<usize> {
    Some(match kind {
        PTR | FWD | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC | FLOAT | TYPE_TAG => 0,
        INT | VAR | DECL_TAG => 4,
        ARRAY => 12,
        STRUCT | UNION | DATASEC | ENUM64 => vlen * 12,
        ENUM | FUNC_PROTO => vlen * 8,
        _ => return None,
    })
}

/// Where each record of the type section `types` starts, the first being type `first_id`: one
/// walk that checks every record's kind and that it fits in the section.
pub(super) fn offsets(data: &[u8], types: Range<usize>, first_id: u32) -> Result<Vec<u32>, BtfError> {
    let mut offsets = Vec::with_capacity(types.len() / 20);
    let mut at = types.start;
    while at < types.end {
        let id =
            u32::try_from(offsets.len()).ok().and_then(|n| n.checked_add(first_id)).ok_or(BtfError::TooManyTypes)?;
        let head = Head::read(data, at).filter(|_| at + HEAD_LEN <= types.end).ok_or(BtfError::Truncated { id })?;
        let tail = tail_len(head.kind, head.vlen).ok_or(BtfError::UnknownKind { id, kind: head.kind })?;
        let next = at + HEAD_LEN + tail;
        if next > types.end {
            return Err(BtfError::Truncated { id });
        }
        offsets.push(u32::try_from(at).map_err(|_| BtfError::TooManyTypes)?);
        at = next;
    }
    Ok(offsets)
}
