//! The running kernel's BTF, read from `/sys/kernel/btf/vmlinux` (and a loaded module's from
//! `/sys/kernel/btf/<module>`) for the compiler's reader (`ferrotrace_compiler::btf`), which
//! reads only what is asked of it.

use ferrotrace_compiler::btf::{Btf, Family};

/// Where the kernel publishes its BTF: its own (`vmlinux`) and each loaded module's.
const BTF_DIR: &str = "/sys/kernel/btf";

/// The kernel image's name in `BTF_DIR`.
const VMLINUX: &str = "vmlinux";

/// The running kernel's BTF, if it has any: read, and its header checked.
pub fn vmlinux() -> Option<Btf> {
    Btf::parse(std::fs::read(format!("{BTF_DIR}/{VMLINUX}")).ok()?).ok()
}

/// The BTF of the loaded module `module`, split over the kernel's `base`.
pub fn module(base: std::sync::Arc<Btf>, module: &str) -> Option<Btf> {
    if module == VMLINUX || module.contains('/') {
        return None;
    }
    Btf::parse_split(base, std::fs::read(format!("{BTF_DIR}/{module}")).ok()?).ok()
}

/// The loaded modules that have BTF, sorted.
pub fn modules() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(BTF_DIR) else { return Vec::new() };
    let mut names: Vec<String> =
        entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok()).filter(|name| name != VMLINUX).collect();
    names.sort();
    names
}

/// A loaded BPF program's BTF (its own: BTF loaded from userspace stands alone, not split over
/// the kernel's) and the names of its functions as its `func_info` gives them; `None` for a
/// program that is gone or was loaded without BTF for its functions.
pub fn program(info: &crate::sys::ProgInfo) -> Option<(Btf, Vec<String>)> {
    if info.btf_id == 0 || info.functions.is_empty() {
        return None;
    }
    let object = crate::sys::btf_fd_by_id(info.btf_id).ok()?;
    let btf = Btf::parse(crate::sys::btf_data(std::os::fd::AsFd::as_fd(&object)).ok()?).ok()?;
    let names = info
        .functions
        .iter()
        .filter_map(|record| match btf.kind(ferrotrace_compiler::btf::TypeId(record.type_id)).ok()? {
            ferrotrace_compiler::btf::Kind::Func { name, .. } => Some(name.to_string()),
            _ => None,
        })
        .collect();
    Some((btf, names))
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
