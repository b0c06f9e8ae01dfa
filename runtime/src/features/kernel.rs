//! The verifier's instruction limit, the kernel's BTF and batched map reads.

use std::os::fd::AsFd;

use ferrotrace_compiler::manifest::BpfMapType;

use super::trial::Asm;
use super::Detected;
use crate::sys::{self, prog_type, ProgLoad};

/// The limit the verifier states in its log (`processed 2 insns (limit 1000000) ...`) for a
/// two-instruction program it accepted.
pub fn instruction_limit() -> Detected {
    let code = Asm::new().ld_imm64(0, 0).exit().bytes();
    let mut log = vec![0u8; 4096];
    let loaded = sys::prog_load(&ProgLoad::new(prog_type::TRACEPOINT, "ft_limit", &code), Some((&mut log, 1)));
    let text = String::from_utf8_lossy(&log);
    let limit = loaded.ok().and_then(|_| {
        let after = text.split("(limit ").nth(1)?;
        after.split(')').next()?.trim().parse().ok()
    });
    Detected::Number(limit.unwrap_or(-1))
}

/// The kernel describes its own types in BTF.
pub fn btf() -> Detected {
    Detected::from_bool(crate::btf::vmlinux().is_some())
}

/// `BPF_MAP_LOOKUP_BATCH` works on a hash map.
pub fn map_batch() -> Detected {
    let Ok(map) = sys::map_create("ft_batch", BpfMapType::Hash as u32, 4, 4, 1, 0) else { return Detected::No };
    Detected::from_bool(sys::map_lookup_batch_u32(map.as_fd()).is_ok())
}
