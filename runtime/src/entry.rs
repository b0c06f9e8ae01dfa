//! One map entry as read from the kernel, before decoding: the contract between map reading and
//! output rendering.

/// A kernel map entry: its key bytes, and its value bytes once per CPU for per-CPU maps (each
/// slice exactly the map's value size) or once for shared maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub key: Vec<u8>,
    pub values: Vec<Vec<u8>>,
}
