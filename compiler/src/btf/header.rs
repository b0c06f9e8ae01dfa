//! The BTF header: the magic, the version, and where the type and string sections lie.

use std::ops::Range;

use super::BtfError;

/// The magic number BTF starts with, in the byte order of the machine that wrote it.
const MAGIC: u16 = 0xeb9f;
/// The only BTF version there is.
const VERSION: u8 = 1;
/// The length of the header's fields this reader knows; `hdr_len` may say more.
const HEADER_LEN: usize = 24;

/// Where the type records and the strings lie in the data, as byte ranges of the whole data.
#[derive(Debug, Clone)]
pub(super) struct Sections {
    pub types: Range<usize>,
    pub strings: Range<usize>,
}

/// Checks the header of `data` and that both sections lie inside it.
pub(super) fn sections(data: &[u8]) -> Result<Sections, BtfError> {
    if data.len() < HEADER_LEN {
        return Err(BtfError::TooShort { len: data.len() });
    }
    let magic = u16::from_ne_bytes([data[0], data[1]]);
    if magic == MAGIC.swap_bytes() {
        return Err(BtfError::ForeignByteOrder);
    }
    if magic != MAGIC {
        return Err(BtfError::BadMagic { magic });
    }
    if data[2] != VERSION {
        return Err(BtfError::UnsupportedVersion { version: data[2] });
    }
    let field = |at: usize| u64::from(word(data, at).unwrap_or(0));
    let header_len = field(4);
    if header_len < HEADER_LEN as u64 || header_len > data.len() as u64 {
        let len = data.len();
        return Err(BtfError::SectionOutOfBounds { section: "header", start: 0, end: header_len, len });
    }
    let section = |name: &'static str, offset: u64, size: u64| {
        let (start, end) = (header_len + offset, header_len + offset + size);
        if end > data.len() as u64 {
            return Err(BtfError::SectionOutOfBounds { section: name, start, end, len: data.len() });
        }
        Ok(start as usize..end as usize)
    };
    Ok(Sections { types: section("type", field(8), field(12))?, strings: section("string", field(16), field(20))? })
}

/// The native-endian `u32` at byte `at` of `data`, if it is all there.
pub(super) fn word(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}
