//! The running kernel's BTF, read from `/sys/kernel/btf/vmlinux` for the compiler's reader
//! (`ferrotrace_compiler::btf`), which reads only what is asked of it.

use ferrotrace_compiler::btf::{Btf, Family};

/// Where the kernel publishes its own BTF.
const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The running kernel's BTF, if it has any: read, and its header checked.
pub fn vmlinux() -> Option<Btf> {
    Btf::parse(std::fs::read(VMLINUX).ok()?).ok()
}

/// The running kernel's BTF, read once per process for the loader (fentry's target ids).
pub fn shared() -> Option<&'static Btf> {
    static SHARED: std::sync::OnceLock<Option<Btf>> = std::sync::OnceLock::new();
    SHARED.get_or_init(vmlinux).as_ref()
}

/// The byte offset of `member` in `struct strukt` (also inside its anonymous structs and
/// unions), if the struct has such a member that does not start inside a byte.
pub fn member_offset(btf: &Btf, strukt: &str, member: &str) -> Option<u32> {
    btf.member(btf.find(strukt, Family::StructOrUnion)?, member)?.byte_offset()
}
