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
    BpfProgram, Catalog, CatalogError, CompatFlag, HelperBehaviour, KernelFunction, PidNamespace, SyscallAbi, TracepointFormat, UsdtProbe,
    UserBinary, UserFunction,
};
use ferrotrace_compiler::syscalls::Arch;

use crate::userspace::dwarf::DebugInfo;
use crate::userspace::dwarf_types::function_types;
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
    /// The debug info of the binaries whose functions' parameters were asked for, by path.
    debug_info: RefCell<HashMap<String, Rc<ReadDebugInfo>>>,
    /// The loaded BPF programs, listed once, and the BTF of those that have it, by id.
    bpf_programs: OnceCell<Result<Vec<BpfProgram>, CatalogError>>,
    program_btf: RefCell<HashMap<u32, Arc<Btf>>>,
}

/// A binary's debug info as reading it went: none found, or why it could not be read.
type ReadDebugInfo = Result<Option<DebugInfo>, String>;

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
            debug_info: RefCell::new(HashMap::new()),
            bpf_programs: OnceCell::new(),
            program_btf: RefCell::new(HashMap::new()),
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

    fn bpf_programs(&self) -> Result<Vec<BpfProgram>, CatalogError> {
        self.bpf_programs.get_or_init(|| self.read_bpf_programs()).clone()
    }

    fn bpf_program_types(&self, id: u32) -> Option<Arc<Btf>> {
        self.bpf_programs().ok()?;
        self.program_btf.borrow().get(&id).cloned()
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

    fn user_function_types(&self, binary: &UserBinary, function: &str) -> Result<Arc<Btf>, CatalogError> {
        let info = self.binary(binary, true)?;
        let symbol = info.functions.iter().find(|known| known.name == function).ok_or_else(|| CatalogError::NotFound(function.to_string()))?;
        let address = info.address(symbol.file_offset).ok_or_else(|| CatalogError::NotFound(function.to_string()))?;
        let debug = self.debug_info(binary);
        let debug = match &*debug {
            Ok(Some(debug)) => debug,
            Ok(None) => return Err(CatalogError::NotFound(format!("debug info (DWARF) in `{}` or a separate debug file", binary.path))),
            Err(error) => return Err(CatalogError::Unavailable(error.clone())),
        };
        match function_types(debug, address, function, self.kernel_types()) {
            Ok(Some(btf)) => Ok(Arc::new(btf)),
            Ok(None) => Err(CatalogError::NotFound(format!("`{function}` in the debug info of `{}`", binary.path))),
            Err(error) => Err(CatalogError::Unavailable(error)),
        }
    }
}

impl KernelCatalog {
    /// Every loaded BPF program, with the functions its BTF names; their BTF kept for
    /// `bpf_program_types`. A program that goes away while it is read is left out.
    fn read_bpf_programs(&self) -> Result<Vec<BpfProgram>, CatalogError> {
        let unavailable = |error: std::io::Error| CatalogError::Unavailable(format!("cannot list the loaded BPF programs (BPF_PROG_GET_NEXT_ID): {error}"));
        let mut programs = Vec::new();
        let mut id = 0;
        loop {
            id = match crate::sys::prog_next_id(id) {
                Ok(next) => next,
                Err(error) if error.raw_os_error() == Some(libc::ENOENT) => break,
                Err(error) => return Err(unavailable(error)),
            };
            let Ok(fd) = crate::sys::prog_fd_by_id(id) else { continue };
            let Ok(info) = crate::sys::prog_info(std::os::fd::AsFd::as_fd(&fd)) else { continue };
            let functions = match btf::program(&info) {
                Some((types, functions)) => {
                    self.program_btf.borrow_mut().insert(id, Arc::new(types));
                    functions
                }
                None => Vec::new(),
            };
            programs.push(BpfProgram { id, name: info.name, functions });
        }
        Ok(programs)
    }

    /// The debug info of `binary`, read once.
    fn debug_info(&self, binary: &UserBinary) -> Rc<ReadDebugInfo> {
        if let Some(known) = self.debug_info.borrow().get(&binary.file) {
            return known.clone();
        }
        let read = Rc::new(DebugInfo::read(std::path::Path::new(&binary.file)));
        self.debug_info.borrow_mut().insert(binary.file.clone(), read.clone());
        read
    }

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
