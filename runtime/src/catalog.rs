//! The compiler's `Catalog` answered from the running kernel's tracefs (BTF for the syscall
//! ABI, trials for kprobes and how helpers pad, `/proc/self/ns/pid` for the PID namespace,
//! userspace binaries' ELF files for uprobes and USDT probes),
//! remembering what it read: a script naming the same tracepoint a thousand times reads its
//! format once, and the listing (a `readdir` of every category) is read at most once per
//! compile.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use std::rc::Rc;

use ferrotrace_compiler::btf::{Btf, Family};
use ferrotrace_compiler::catalog::{
    Catalog, CatalogError, CompatFlag, HelperBehaviour, KernelFunction, PidNamespace, SyscallAbi, TracepointFormat, UsdtProbe,
    UserBinary, UserFunction,
};
use ferrotrace_compiler::syscalls::Arch;

use crate::userspace::elf::ElfInfo;
use crate::userspace::paths;
use crate::{btf, features};

use crate::tracefs::{Tracefs, TracefsError};

/// Kernel facts for the compiler, read from tracefs on first use.
#[derive(Debug, Clone)]
pub struct KernelCatalog {
    tracefs: Tracefs,
    listing: OnceCell<Vec<(String, String)>>,
    formats: RefCell<HashMap<(String, String), TracepointFormat>>,
    syscall_abi: OnceCell<Option<SyscallAbi>>,
    kernel_functions: OnceCell<Result<Vec<KernelFunction>, CatalogError>>,
    btf: OnceCell<Option<Arc<Btf>>>,
    /// The modules' BTF read so far, by module name.
    module_btf: RefCell<HashMap<String, Option<Arc<Btf>>>>,
    /// The userspace binaries read so far, by the path they were opened at.
    binaries: RefCell<HashMap<String, Rc<ElfInfo>>>,
}

impl KernelCatalog {
    pub fn new(tracefs: Tracefs) -> KernelCatalog {
        KernelCatalog {
            tracefs,
            listing: OnceCell::new(),
            formats: RefCell::new(HashMap::new()),
            syscall_abi: OnceCell::new(),
            kernel_functions: OnceCell::new(),
            btf: OnceCell::new(),
            module_btf: RefCell::new(HashMap::new()),
            binaries: RefCell::new(HashMap::new()),
        }
    }

    /// What `binary` holds, read once (again, when its functions are asked for after its USDT
    /// probes alone were read).
    fn binary(&self, binary: &UserBinary, with_functions: bool) -> Result<Rc<ElfInfo>, CatalogError> {
        if let Some(info) = self.binaries.borrow().get(&binary.file).filter(|info| info.has_functions || !with_functions) {
            return Ok(info.clone());
        }
        let info = Rc::new(ElfInfo::read(&binary.file, with_functions).map_err(CatalogError::Unavailable)?);
        self.binaries.borrow_mut().insert(binary.file.clone(), info.clone());
        Ok(info)
    }
}

impl Catalog for KernelCatalog {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        if let Some(listing) = self.listing.get() {
            return Ok(listing.clone());
        }
        let listing = self.tracefs.tracepoints().map_err(to_catalog_error)?;
        Ok(self.listing.get_or_init(|| listing).clone())
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        let key = (category.to_string(), name.to_string());
        if let Some(format) = self.formats.borrow().get(&key) {
            return Ok(format.clone());
        }
        if [category, name].iter().any(|part| part.is_empty() || part.contains('/') || *part == "..") {
            return Err(CatalogError::NotFound(format!("tracepoint:{category}:{name}")));
        }
        let format = self.tracefs.format(category, name).map_err(to_catalog_error)?;
        self.formats.borrow_mut().insert(key, format.clone());
        Ok(format)
    }

    fn syscall_abi(&self) -> Option<SyscallAbi> {
        *self.syscall_abi.get_or_init(|| self.host_syscall_abi())
    }

    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, CatalogError> {
        // Read whether or not this kernel can attach kprobes or trampolines: a script compiles
        // (`--emit-elf`) for a kernel that can, and the runtime refuses to attach, naming what
        // is missing, where it cannot.
        self.kernel_functions
            .get_or_init(|| match self.tracefs.kernel_functions() {
                Ok(functions) => Ok(functions),
                // Where tracefs will not list them (a kernel without dynamic ftrace, or one
                // whose tracefs refuses to), the functions of the kernel's types stand in.
                Err(error) => match self.btf() {
                    Some(btf) => Ok(btf_functions(btf)),
                    None => Err(CatalogError::Unsupported(format!("the kernel lists no functions to probe: {error}, and it has no BTF"))),
                },
            })
            .clone()
    }

    fn helper_behaviour(&self) -> HelperBehaviour {
        HelperBehaviour { comm_zero_padded: features::comm_zero_padded() }
    }

    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        crate::cgroups::id_of(path)
    }

    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        crate::symbolize::kernel_symbol_address(name)
    }

    fn pid_namespace(&self) -> Option<PidNamespace> {
        own_pid_namespace()
    }

    fn member_offset(&self, strukt: &str, member: &str) -> Option<u32> {
        btf::member_offset(self.btf()?, strukt, member)
    }

    fn kernel_types(&self) -> Option<&Arc<Btf>> {
        self.btf.get_or_init(|| btf::vmlinux().map(Arc::new)).as_ref()
    }

    fn module_types(&self, module: &str) -> Option<Arc<Btf>> {
        if let Some(known) = self.module_btf.borrow().get(module) {
            return known.clone();
        }
        let read = btf::module(self.kernel_types()?.clone(), module).map(Arc::new);
        self.module_btf.borrow_mut().insert(module.to_string(), read.clone());
        read
    }

    fn modules_with_types(&self) -> Vec<String> {
        btf::modules()
    }

    fn user_binaries(&self, written: &str, pid: Option<u32>) -> Result<Vec<UserBinary>, CatalogError> {
        paths::resolve(written, pid)
    }

    fn process_executable(&self, pid: u32) -> Result<UserBinary, CatalogError> {
        paths::executable(pid)
    }

    fn user_functions(&self, binary: &UserBinary) -> Result<Vec<UserFunction>, CatalogError> {
        Ok(self.binary(binary, true)?.functions.clone())
    }

    fn file_offset(&self, binary: &UserBinary, address: u64) -> Result<u64, CatalogError> {
        self.binary(binary, false)?.file_offset(address).ok_or_else(|| CatalogError::NotFound(format!("{address:#x}")))
    }

    fn usdt_probes(&self, binary: &UserBinary) -> Result<Vec<UsdtProbe>, CatalogError> {
        Ok(self.binary(binary, false)?.usdt.clone())
    }
}

impl KernelCatalog {
    /// The kernel's BTF, read on first use.
    fn btf(&self) -> Option<&Btf> {
        self.kernel_types().map(|btf| &**btf)
    }

    /// The running kernel's syscall ABI: the syscall table of the architecture ferrotrace was
    /// built for, and where BTF says a task's compat mark is. Unknown without BTF.
    fn host_syscall_abi(&self) -> Option<SyscallAbi> {
        if !cfg!(target_arch = "x86_64") {
            return None;
        }
        let btf = self.btf()?;
        let offset = btf::member_offset(btf, "task_struct", "thread_info")? + btf::member_offset(btf, "thread_info", "status")?;
        Some(SyscallAbi { arch: Arch::X86_64, compat: CompatFlag { offset, mask: X86_64_TS_COMPAT } })
    }
}

/// x86-64's mark of a task in a 32-bit syscall: `TS_COMPAT` in `thread_info.status`.
const X86_64_TS_COMPAT: u32 = 0x0002;

/// The kernel image's functions, as its BTF names them, sorted and each once.
fn btf_functions(btf: &Btf) -> Vec<KernelFunction> {
    let mut names = btf.names(Family::Func);
    names.sort_unstable();
    names.dedup();
    names.into_iter().map(|name| KernelFunction { name: name.to_string(), module: None }).collect()
}

fn to_catalog_error(error: TracefsError) -> CatalogError {
    match error {
        TracefsError::NoSuchTracepoint { category, name } => {
            CatalogError::NotFound(format!("tracepoint:{category}:{name}"))
        }
        other => CatalogError::Unavailable(other.to_string()),
    }
}

/// The inode of the initial PID namespace (`PROC_PID_INIT_INO`), the same on every kernel.
const INITIAL_PID_NAMESPACE_INODE: u64 = 0xEFFF_FFFC;

/// ferrotrace's PID namespace when it is not the initial one, named as the kernel's
/// `bpf_get_ns_current_pid_tgid` compares it: the nsfs device in the kernel's own `dev_t`
/// encoding (major in the top 12 bits, minor in the low 20) and the namespace's inode.
fn own_pid_namespace() -> Option<PidNamespace> {
    use std::os::unix::fs::MetadataExt;
    let link = std::fs::metadata("/proc/self/ns/pid").ok()?;
    if link.ino() == INITIAL_PID_NAMESPACE_INODE {
        return None;
    }
    let (major, minor) = (libc::major(link.dev()), libc::minor(link.dev()));
    Some(PidNamespace { dev: (u64::from(major) << 20) | u64::from(minor), ino: link.ino() })
}
