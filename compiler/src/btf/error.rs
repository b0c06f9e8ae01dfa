//! What can be wrong with BTF bytes.

/// BTF bytes that this reader cannot read: a bad header, a record it does not know or that runs
/// past its section, or a reference to a type or string that is not there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtfError {
    #[error("btf data of {len} bytes is shorter than its 24-byte header")]
    TooShort { len: usize },
    #[error("btf data starts with `{magic:#06x}`, not the magic `0xeb9f`")]
    BadMagic { magic: u16 },
    #[error("btf data is of the other byte order")]
    ForeignByteOrder,
    #[error("btf version `{version}` is unknown (this reader knows version 1)")]
    UnsupportedVersion { version: u8 },
    #[error("the btf {section} section (bytes {start}..{end}) lies outside the {len} bytes of data")]
    SectionOutOfBounds { section: &'static str, start: u64, end: u64, len: usize },
    #[error("btf type `{id}` has kind `{kind}`, which this reader does not know")]
    UnknownKind { id: u32, kind: u8 },
    #[error("btf type `{id}` runs past the end of the type section")]
    Truncated { id: u32 },
    #[error("btf has more types than type ids can number")]
    TooManyTypes,
    #[error("btf has no type `{id}`")]
    NoSuchType { id: u32 },
    #[error("btf string offset `{offset}` is not the start of a NUL-terminated UTF-8 string")]
    BadString { offset: u32 },
    #[error("btf type `{id}` is malformed: {what}")]
    Malformed { id: u32, what: &'static str },
}
