//! One raw eBPF instruction and its 8-byte wire form (little-endian).

use thiserror::Error;

/// Bytes in one instruction slot; an `ld_imm64` takes two slots.
pub const INSN_SIZE: usize = 8;

/// One eBPF instruction slot, field for field as in `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawInsn {
    pub code: u8,
    /// Destination register, 0..=10 (the low nibble of byte 1).
    pub dst: u8,
    /// Source register, or a pseudo-source tag such as `PSEUDO_MAP_FD` (the high nibble).
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl RawInsn {
    pub fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn { code, dst, src, off, imm }
    }

    /// The little-endian wire form: `code`, `src << 4 | dst`, `off`, `imm`.
    pub fn to_bytes(self) -> [u8; INSN_SIZE] {
        let mut bytes = [0; INSN_SIZE];
        bytes[0] = self.code;
        bytes[1] = (self.src << 4) | (self.dst & 0x0f);
        bytes[2..4].copy_from_slice(&self.off.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.imm.to_le_bytes());
        bytes
    }

    pub fn from_bytes(bytes: [u8; INSN_SIZE]) -> RawInsn {
        RawInsn {
            code: bytes[0],
            dst: bytes[1] & 0x0f,
            src: bytes[1] >> 4,
            off: i16::from_le_bytes([bytes[2], bytes[3]]),
            imm: i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("bytecode is {len} bytes long, not a multiple of {INSN_SIZE}")]
    TrailingBytes { len: usize },
}

/// Splits bytecode into instruction slots.
pub fn decode(bytes: &[u8]) -> Result<Vec<RawInsn>, DecodeError> {
    let chunks = bytes.chunks_exact(INSN_SIZE);
    if !chunks.remainder().is_empty() {
        return Err(DecodeError::TrailingBytes { len: bytes.len() });
    }
    Ok(chunks
        .map(|chunk| {
            let mut slot = [0; INSN_SIZE];
            slot.copy_from_slice(chunk);
            RawInsn::from_bytes(slot)
        })
        .collect())
}

/// The wire form of a sequence of instruction slots.
pub fn to_bytes(insns: &[RawInsn]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(insns.len() * INSN_SIZE);
    for insn in insns {
        bytes.extend_from_slice(&insn.to_bytes());
    }
    bytes
}
