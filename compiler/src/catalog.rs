//! What the compiler needs to know about the running kernel, behind a trait: the runtime
//! implements it from tracefs and BTF, tests implement it with fixed data.

use std::fmt;

use crate::syscalls::Arch;

/// Kernel facts the compiler asks for while it resolves probes and their arguments.
pub trait Catalog {
    /// Every tracepoint as `(category, name)`.
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError>;

    /// The fields of one tracepoint's record (its tracefs `format` file).
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError>;

    /// How the kernel numbers syscalls and marks a task's compat syscalls, when known. Without
    /// it every `syscalls:` tracepoint is attached on its own.
    fn syscall_abi(&self) -> Option<SyscallAbi> {
        None
    }

    /// Every kernel function kprobes may attach to (tracefs's `available_filter_functions`).
    /// `CatalogError::Unsupported` when the kernel cannot attach kprobes at all.
    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, CatalogError> {
        Err(CatalogError::Unsupported("this catalog lists no kernel functions".to_string()))
    }

    /// How the kernel's helpers behave where kernels differ. Asked only when a script depends
    /// on it; the default assumes the least.
    fn helper_behaviour(&self) -> HelperBehaviour {
        HelperBehaviour::default()
    }

    /// The PID namespace ferrotrace runs in, when it is not the initial one. Asked only when a
    /// script reads `pid` or `tid`; the default is the initial namespace.
    fn pid_namespace(&self) -> Option<PidNamespace> {
        None
    }

    /// The id of the cgroup (v2) whose directory is `path`, or why there is none.
    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        Err(format!("cannot read cgroup ids here (asked for `{path}`)"))
    }

    /// The running kernel's types (vmlinux's BTF), read on first use: asked only when a script
    /// names a kernel type, reads through a pointer or names an identifier the language does
    /// not know (an enum constant), or defines C types of its own (which are layered over
    /// these: hence shared). `None` when the kernel has no BTF.
    fn kernel_types(&self) -> Option<&std::sync::Arc<crate::btf::Btf>> {
        None
    }

    /// The types of the loaded kernel module `module` (its BTF, split over the kernel's), read
    /// on first use; `None` when it is not loaded or has no BTF.
    fn module_types(&self, _module: &str) -> Option<std::sync::Arc<crate::btf::Btf>> {
        None
    }

    /// The loaded kernel modules that have BTF, sorted.
    fn modules_with_types(&self) -> Vec<String> {
        Vec::new()
    }

    /// The loaded BPF programs, by id, with the functions their BTF describes (`func_info`):
    /// what `fentry:bpf:...` attaches to. `Unsupported` where they cannot be listed.
    fn bpf_programs(&self) -> Result<Vec<BpfProgram>, CatalogError> {
        Err(CatalogError::Unsupported("this catalog lists no BPF programs".to_string()))
    }

    /// The types (BTF) of the loaded BPF program `id`, describing the functions its
    /// `BpfProgram::functions` name; `None` when it is gone or has none.
    fn bpf_program_types(&self, _id: u32) -> Option<std::sync::Arc<crate::btf::Btf>> {
        None
    }

    /// Where `member` is in the kernel's `struct strukt`, in bytes, from BTF; `None` when the
    /// kernel has no BTF or no such member.
    fn member_offset(&self, _strukt: &str, _member: &str) -> Option<u32> {
        None
    }

    /// The address of kernel symbol `name` (`/proc/kallsyms`), or why there is none.
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        Err(format!("cannot read kernel symbols here (asked for `{name}`)"))
    }

    /// The binaries a uprobe or USDT probe's written path names (`/bin/bash`, `./app`, a
    /// library name such as `libc`, a path with wildcards: see `names_several_binaries`), seen
    /// from the process `pid` when given: its mount namespace, the library it actually maps.
    /// `*` is every binary the process maps (without a pid, every binary any process maps).
    fn user_binaries(&self, written: &str, _pid: Option<u32>) -> Result<Vec<UserBinary>, CatalogError> {
        Err(CatalogError::NotFound(written.to_string()))
    }

    /// The executable of process `pid` (`/proc/PID/exe`), for probes that name no binary.
    fn process_executable(&self, pid: u32) -> Result<UserBinary, CatalogError> {
        Err(CatalogError::Unavailable(format!("cannot read the executable of process {pid} here")))
    }

    /// The function symbols of a binary (`.symtab` and `.dynsym`), each with where it is in
    /// the file.
    fn user_functions(&self, binary: &UserBinary) -> Result<Vec<UserFunction>, CatalogError> {
        Err(CatalogError::NotFound(binary.path.clone()))
    }

    /// Where virtual address `address` of a binary is in its file, from its program headers;
    /// for probes written as an address (`uprobe:/bin/x:0x1234`).
    fn file_offset(&self, binary: &UserBinary, address: u64) -> Result<u64, CatalogError> {
        let _ = address;
        Err(CatalogError::NotFound(binary.path.clone()))
    }

    /// The types of the function symbol `function` of a binary, from its debug info (DWARF,
    /// in the binary or in the separate debug file it names): BTF holding a function named
    /// `function` whose prototype gives its parameters' names and types and its return type,
    /// with every type they reach, split over the kernel's types when there are any. Read only
    /// when a script names the parameters. `NotFound` when there is no debug info describing it.
    fn user_function_types(&self, binary: &UserBinary, function: &str) -> Result<std::sync::Arc<crate::btf::Btf>, CatalogError> {
        let _ = function;
        Err(CatalogError::NotFound(format!("debug info of `{}`", binary.path)))
    }

    /// The USDT probes of a binary (its `.note.stapsdt` notes).
    fn usdt_probes(&self, binary: &UserBinary) -> Result<Vec<UsdtProbe>, CatalogError> {
        Err(CatalogError::NotFound(binary.path.clone()))
    }
}

/// A binary a userspace probe attaches to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserBinary {
    /// The path as probe names show it (`/usr/lib/x86_64-linux-gnu/libc.so.6`, `./app`).
    pub path: String,
    /// Where ferrotrace opens it: the same path, or through `/proc/PID/root` for a process in
    /// another mount namespace.
    pub file: String,
}

impl UserBinary {
    /// A binary opened by the path it is named by.
    pub fn at(path: &str) -> UserBinary {
        UserBinary { path: path.to_string(), file: path.to_string() }
    }
}

/// A loaded BPF program: its functions are what `fentry:bpf:ID:function` attaches to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BpfProgram {
    pub id: u32,
    /// Its name as the kernel keeps it (at most 15 bytes).
    pub name: String,
    /// Its functions as its `func_info` names them: the program itself, then its subprograms;
    /// none for a program loaded without BTF, which cannot be traced.
    pub functions: Vec<String>,
}

/// A function symbol of a userspace binary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserFunction {
    /// The symbol as the binary has it (mangled, for C++ and Rust).
    pub name: String,
    /// The demangled name without its argument list (`ns::Class::method`), when mangled.
    pub demangled: Option<String>,
    /// Where its first instruction is in the file: what a uprobe is attached at.
    pub file_offset: u64,
    /// Its size in bytes (0 when the symbol does not say).
    pub size: u64,
}

/// A USDT probe from a binary's `.note.stapsdt`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsdtProbe {
    pub provider: String,
    pub name: String,
    /// Where the probe's `nop` is in the file.
    pub file_offset: u64,
    /// Where its semaphore (a `u16` the tracer increments) is in the file, when it has one.
    pub semaphore: Option<u64>,
    /// The argument specs as the note writes them: `-4@%eax 8@-8(%rbp)`.
    pub arguments: String,
    /// The symbols its `sym(%rip)` arguments name, each with its address minus the probe's.
    pub symbols: Vec<(String, i64)>,
}

/// Whether a uprobe's or USDT probe's written binary may name several files: `*`, or a path
/// with wildcards (`*`, `?`, `[...]`), which match files as a shell's would.
pub fn names_several_binaries(written: &str) -> bool {
    written.contains(['*', '?', '['])
}

/// A member of a kernel struct that a program reads (`task_struct.real_parent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelMember {
    pub strukt: &'static str,
    pub member: &'static str,
}

impl fmt::Display for KernelMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.strukt, self.member)
    }
}

/// The offsets of the kernel struct members a script's programs read, as the catalog gave them,
/// each with its struct's id in the kernel's BTF when the offset is that BTF's (so a CO-RE
/// relocation can name it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberOffsets(Vec<(KernelMember, u32, Option<u32>)>);

impl MemberOffsets {
    pub fn insert(&mut self, member: KernelMember, offset: u32, strukt_id: Option<u32>) {
        if self.get(member).is_none() {
            self.0.push((member, offset, strukt_id));
        }
    }

    pub fn get(&self, member: KernelMember) -> Option<u32> {
        self.0.iter().find(|(known, ..)| *known == member).map(|(_, offset, _)| *offset)
    }

    /// The member as a CO-RE access from its struct, when its struct's id is known.
    pub fn access(&self, member: KernelMember) -> Option<crate::co_re::FieldAccess> {
        let (_, _, id) = self.0.iter().find(|(known, ..)| *known == member)?;
        let strukt = format!("struct {}", member.strukt);
        Some(crate::co_re::FieldAccess::root((*id)?, &strukt).member(&strukt, member.member))
    }
}

/// Numbers a script names by a string read while compiling: the ids of the cgroups `cgroupid`
/// names by path, the addresses of the kernel symbols `kaddr` names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedNumbers(Vec<(String, u64)>);

/// The ids of the cgroups a script names by path (`cgroupid`).
pub type CgroupIds = NamedNumbers;
/// The addresses of the kernel symbols a script names (`kaddr`).
pub type KernelSymbols = NamedNumbers;

impl NamedNumbers {
    pub fn insert(&mut self, path: String, id: u64) {
        if self.get(&path).is_none() {
            self.0.push((path, id));
        }
    }

    pub fn get(&self, path: &str) -> Option<u64> {
        self.0.iter().find(|(known, _)| known == path).map(|(_, id)| *id)
    }
}

/// A kernel function kprobes may attach to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelFunction {
    pub name: String,
    /// The module it belongs to; `None` for the kernel image itself.
    pub module: Option<String>,
}

/// What the kernel's helpers do that differs from kernel to kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HelperBehaviour {
    /// `bpf_get_current_comm` zero-fills its buffer past the name's NUL (Linux 6.4 and later).
    /// Before, the bytes after the NUL keep whatever the stack held, so lowering clears the
    /// buffer first: every string in memory is zero-padded, and equal names are equal keys.
    pub comm_zero_padded: bool,
}

/// A PID namespace other than the initial one, as `bpf_get_ns_current_pid_tgid` names it: the
/// device of the nsfs (the kernel's `dev_t` encoding) and the namespace's inode there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidNamespace {
    pub dev: u64,
    pub ino: u64,
}

/// What a BPF program needs to tell which native syscall a `raw_syscalls` record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallAbi {
    pub arch: Arch,
    /// How a task in a compat (32-bit) syscall is marked. `raw_syscalls` reports those under
    /// the compat table's numbers; `syscalls:` tracepoints skip them.
    pub compat: CompatFlag,
}

/// The task is in a compat syscall when the `u32` at `offset` in its `task_struct` has a bit of
/// `mask` set (x86-64: `TS_COMPAT` in `thread_info.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompatFlag {
    pub offset: u32,
    pub mask: u32,
}

/// Why the catalog could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogError {
    /// The thing asked for does not exist.
    NotFound(String),
    /// The kernel facts could not be read at all (tracefs missing, permission, ...).
    Unavailable(String),
    /// The kernel lacks what the thing asked for needs (kprobes on a kernel built without them).
    Unsupported(String),
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::NotFound(what) => write!(f, "`{what}` not found"),
            CatalogError::Unavailable(why) | CatalogError::Unsupported(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for CatalogError {}

/// A tracepoint's record layout, from its `format` file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TracepointFormat {
    /// The event id (`id` file); also the record's `common_type`.
    pub id: u32,
    /// The fields after the `common_*` header, in record order.
    pub fields: Vec<TracepointField>,
}

/// One `field:TYPE NAME; offset:N; size:N; signed:N;` line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TracepointField {
    pub name: String,
    /// The C type as written, e.g. `const char *`, `char[16]`, `__data_loc char[]`.
    pub c_type: String,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
    pub kind: FieldKind,
}

/// What a tracepoint field holds, as far as the language cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FieldKind {
    /// An integer of `size` bytes.
    Int,
    /// A pointer. In the `syscalls` category pointers point into user memory.
    Pointer,
    /// `char name[N]`: an inline string of N bytes.
    CharArray(u32),
    /// `__u8 name[N]` and other arrays of integers: N of them, each `size / N` bytes, signed as
    /// the field's `signed` says.
    IntArray(u32),
    /// `__data_loc char[] name`: a `u32` whose low 16 bits are the string's offset in the record
    /// and high 16 bits its length.
    DataLocString,
    /// Anything else (other arrays, structs): readable only as raw bytes, not supported yet.
    Other,
}

/// Catalogs for the compiler's own tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use super::{Catalog, CatalogError, TracepointFormat};
    use crate::btf::{Btf, Family};

    /// A kernel known only by its BTF: no tracepoints, its structs' members where the BTF puts
    /// them.
    pub(crate) struct TypesOnly(pub Arc<Btf>);

    impl Catalog for TypesOnly {
        fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
            Ok(Vec::new())
        }

        fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
            Err(CatalogError::NotFound(format!("{category}:{name}")))
        }

        fn kernel_types(&self) -> Option<&Arc<Btf>> {
            Some(&self.0)
        }

        fn member_offset(&self, strukt: &str, member: &str) -> Option<u32> {
            let id = self.0.find(strukt, Family::StructOrUnion)?;
            self.0.member(id, member)?.byte_offset()
        }
    }
}
