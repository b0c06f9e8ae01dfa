//! A fixed kernel catalog for compiler tests: a few real tracepoint layouts and the helper
//! behaviour of Linux 6.18, and the same kernel as 6.1's helpers behave. Kernel types are this
//! machine's (`/sys/kernel/btf/vmlinux`): the tests of scripts that name them need a kernel
//! with BTF, as every kernel ferrotrace supports has.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::{Arc, OnceLock};

use ferrotrace_compiler::btf::{Btf, Writer, WrittenMember};
use ferrotrace_compiler::catalog::{
    Catalog, CatalogError, FieldKind, HelperBehaviour, KernelFunction, TracepointField, TracepointFormat, UsdtProbe,
    UserBinary, UserFunction,
};

/// The one userspace binary `FakeCatalog` knows, also found as the library `libapp`.
pub const APP: &str = "/usr/bin/app";

/// A file `FakeCatalog` finds but cannot read as a binary.
pub const BROKEN: &str = "/usr/lib/broken.so";

pub struct FakeCatalog;

/// This machine's kernel types, read once.
pub fn host_btf() -> Option<&'static Arc<Btf>> {
    static BTF: OnceLock<Option<Arc<Btf>>> = OnceLock::new();
    BTF.get_or_init(|| Btf::parse(std::fs::read("/sys/kernel/btf/vmlinux").ok()?).ok().map(Arc::new)).as_ref()
}

/// `FakeCatalog` with Linux 6.1's helpers: `bpf_get_current_comm` does not zero-pad.
pub struct Linux61Catalog;

impl Catalog for Linux61Catalog {
    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        FakeCatalog.tracepoints()
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        FakeCatalog.tracepoint_format(category, name)
    }

    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, CatalogError> {
        FakeCatalog.kernel_functions()
    }

    fn helper_behaviour(&self) -> HelperBehaviour {
        HelperBehaviour { comm_zero_padded: false }
    }

    fn kernel_types(&self) -> Option<&Arc<Btf>> {
        host_btf()
    }
}

fn field(name: &str, c_type: &str, offset: u32, size: u32, signed: bool, kind: FieldKind) -> TracepointField {
    TracepointField { name: name.into(), c_type: c_type.into(), offset, size, signed, kind }
}

const TRACEPOINTS: &[(&str, &str)] = &[
    ("syscalls", "sys_enter_openat"),
    ("syscalls", "sys_enter_open"),
    ("syscalls", "sys_enter_getppid"),
    ("syscalls", "sys_exit_openat"),
    ("syscalls", "sys_enter_read"),
    ("raw_syscalls", "sys_enter"),
    ("sched", "sched_process_exec"),
    ("sched", "sched_switch"),
    ("sched", "sched_wakeup"),
    ("sched", "sched_wakeup_new"),
    ("sock", "inet_sock_set_state"),
    ("ipi", "ipi_raise"),
];

/// The loaded BPF programs: 42, `handler`, whose BTF describes `int handle_request(int fd)`,
/// and 43, `plain`, loaded without BTF.
fn bpf_program_btf() -> &'static Arc<Btf> {
    static BTF: OnceLock<Arc<Btf>> = OnceLock::new();
    BTF.get_or_init(|| {
        let mut writer = Writer::new(None).expect("a BTF writer");
        let int = writer.int("int", 4, true, false, false).expect("int");
        let proto = writer.prototype(int, &[("fd", int)], false).expect("a prototype");
        writer.function("handle_request", proto).expect("a function");
        Arc::new(Btf::parse(writer.finish()).expect("the program's BTF parses"))
    })
}

impl Catalog for FakeCatalog {
    fn bpf_programs(&self) -> Result<Vec<ferrotrace_compiler::catalog::BpfProgram>, CatalogError> {
        use ferrotrace_compiler::catalog::BpfProgram;
        Ok(vec![
            BpfProgram { id: 42, name: "handler".to_string(), functions: vec!["handle_request".to_string()] },
            BpfProgram { id: 43, name: "plain".to_string(), functions: Vec::new() },
        ])
    }

    fn bpf_program_types(&self, id: u32) -> Option<Arc<Btf>> {
        (id == 42).then(|| bpf_program_btf().clone())
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
        Ok(TRACEPOINTS.iter().map(|(c, n)| (c.to_string(), n.to_string())).collect())
    }

    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, CatalogError> {
        let function = |name: &str, module: Option<&str>| KernelFunction { name: name.into(), module: module.map(Into::into) };
        Ok(vec![
            function("do_nanosleep", None),
            function("ksys_sync", None),
            function("vfs_read", None),
            function("vfs_readv", None),
            function("vfs_write", None),
            function("ext4_sync_fs", Some("ext4")),
        ])
    }

    fn helper_behaviour(&self) -> HelperBehaviour {
        HelperBehaviour { comm_zero_padded: true }
    }

    fn kernel_types(&self) -> Option<&Arc<Btf>> {
        host_btf()
    }

    fn user_binaries(&self, written: &str, _pid: Option<u32>) -> Result<Vec<UserBinary>, CatalogError> {
        match written {
            APP | "libapp" | "*" => Ok(vec![UserBinary::at(APP)]),
            BROKEN => Ok(vec![UserBinary::at(BROKEN)]),
            _ => Err(CatalogError::NotFound(written.to_string())),
        }
    }

    fn process_executable(&self, _pid: u32) -> Result<UserBinary, CatalogError> {
        Ok(UserBinary::at(APP))
    }

    fn user_functions(&self, binary: &UserBinary) -> Result<Vec<UserFunction>, CatalogError> {
        if binary.path == BROKEN {
            return Err(CatalogError::Unavailable(format!("`{BROKEN}` is not a 64-bit ELF file")));
        }
        let function = |name: &str, demangled: Option<&str>, file_offset: u64| UserFunction {
            name: name.into(),
            demangled: demangled.map(Into::into),
            file_offset,
            size: 32,
        };
        Ok(vec![
            function("main", None, 0x1000),
            function("handle_request", None, 0x1100),
            function("handle_reply", None, 0x1200),
            function("_ZN6server5startEv", Some("server::start"), 0x1300),
        ])
    }

    fn user_function_types(&self, binary: &UserBinary, function: &str) -> Result<Arc<Btf>, CatalogError> {
        match (binary.path.as_str(), function) {
            (APP, "handle_request" | "handle_reply") => Ok(app_types().clone()),
            _ => Err(CatalogError::NotFound(format!("debug info (DWARF) in `{}` or a separate debug file", binary.path))),
        }
    }

    fn file_offset(&self, _binary: &UserBinary, address: u64) -> Result<u64, CatalogError> {
        (0x401000..0x402000).contains(&address).then(|| address - 0x400000).ok_or_else(|| CatalogError::NotFound(format!("{address:#x}")))
    }

    fn usdt_probes(&self, _binary: &UserBinary) -> Result<Vec<UsdtProbe>, CatalogError> {
        let probe = |name: &str, semaphore: Option<u64>, arguments: &str| UsdtProbe {
            provider: "app".into(),
            name: name.into(),
            file_offset: 0x1400,
            semaphore,
            arguments: arguments.into(),
            symbols: vec![("counter".into(), 0x2c00)],
        };
        Ok(vec![probe("request__start", None, "-4@%eax 8@-8(%rbp) -4@$5"), probe("query", Some(0x3000), "8@%rdi"), probe("odd", None, "4@%xmm0"), probe("rip", None, "8@counter(%rip) -4@counter+8(%rip) 4@lost(%rip)")])
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
        let syscall_nr = field("__syscall_nr", "int", 8, 4, true, FieldKind::Int);
        let fields = match (category, name) {
            ("syscalls", "sys_enter_openat") => vec![
                syscall_nr,
                field("dfd", "int", 16, 8, false, FieldKind::Int),
                field("filename", "const char *", 24, 8, false, FieldKind::Pointer),
                field("flags", "int", 32, 8, false, FieldKind::Int),
                field("mode", "umode_t", 40, 8, false, FieldKind::Int),
            ],
            ("syscalls", "sys_enter_open") => vec![
                syscall_nr,
                field("filename", "const char *", 16, 8, false, FieldKind::Pointer),
                field("flags", "int", 24, 8, false, FieldKind::Int),
                field("mode", "umode_t", 32, 8, false, FieldKind::Int),
            ],
            ("syscalls", "sys_enter_getppid") => vec![syscall_nr],
            ("syscalls", "sys_enter_read") => vec![
                syscall_nr,
                field("fd", "unsigned int", 16, 8, false, FieldKind::Int),
                field("buf", "char *", 24, 8, false, FieldKind::Pointer),
                field("count", "size_t", 32, 8, false, FieldKind::Int),
            ],
            ("syscalls", "sys_exit_openat") => vec![syscall_nr, field("ret", "long", 16, 8, true, FieldKind::Int)],
            ("raw_syscalls", "sys_enter") => vec![
                field("id", "long", 8, 8, true, FieldKind::Int),
                field("args", "unsigned long[6]", 16, 48, false, FieldKind::IntArray(6)),
            ],
            ("ipi", "ipi_raise") => vec![
                field("target_cpus", "__data_loc unsigned long[]", 8, 4, false, FieldKind::Other),
                field("reason", "const char *", 16, 8, false, FieldKind::Pointer),
            ],
            ("sched", "sched_process_exec") => vec![
                field("filename", "__data_loc char[]", 8, 4, false, FieldKind::DataLocString),
                field("pid", "pid_t", 12, 4, true, FieldKind::Int),
                field("old_pid", "pid_t", 16, 4, true, FieldKind::Int),
            ],
            ("sched", "sched_switch") => vec![
                field("prev_comm", "char[16]", 8, 16, false, FieldKind::CharArray(16)),
                field("prev_pid", "pid_t", 24, 4, true, FieldKind::Int),
                field("prev_prio", "int", 28, 4, true, FieldKind::Int),
                field("prev_state", "long", 32, 8, true, FieldKind::Int),
                field("next_comm", "char[16]", 40, 16, false, FieldKind::CharArray(16)),
                field("next_pid", "pid_t", 56, 4, true, FieldKind::Int),
                field("next_prio", "int", 60, 4, true, FieldKind::Int),
            ],
            ("sched", "sched_wakeup" | "sched_wakeup_new") => vec![
                field("comm", "char[16]", 8, 16, false, FieldKind::CharArray(16)),
                field("pid", "pid_t", 24, 4, true, FieldKind::Int),
                field("prio", "int", 28, 4, true, FieldKind::Int),
                field("target_cpu", "int", 32, 4, true, FieldKind::Int),
            ],
            ("sock", "inet_sock_set_state") => vec![
                field("skaddr", "const void *", 8, 8, false, FieldKind::Pointer),
                field("oldstate", "int", 16, 4, true, FieldKind::Int),
                field("newstate", "int", 20, 4, true, FieldKind::Int),
                field("sport", "__u16", 24, 2, false, FieldKind::Int),
                field("dport", "__u16", 26, 2, false, FieldKind::Int),
                field("family", "__u16", 28, 2, false, FieldKind::Int),
                field("protocol", "__u16", 30, 2, false, FieldKind::Int),
            ],
            _ => return Err(CatalogError::NotFound(format!("tracepoint:{category}:{name}"))),
        };
        Ok(TracepointFormat { id: 1, fields })
    }
}

/// The debug info of `APP`'s functions, as BTF: `int handle_request(struct request *req, int fd,
/// double timeout, long a, long b, long c, long d, long e)` (`timeout` in a vector register, `e`
/// on the stack) and `enum state handle_reply(struct request r, int after)` (a struct by value),
/// where `struct request { int id; const char *path; unsigned int flags:3; }`.
pub fn app_types() -> &'static Arc<Btf> {
    static TYPES: OnceLock<Arc<Btf>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut w = Writer::new(None).unwrap();
        let int = w.int("int", 4, true, false, false).unwrap();
        let uint = w.int("unsigned int", 4, false, false, false).unwrap();
        let long = w.int("long", 8, true, false, false).unwrap();
        let double = w.float("double", 8).unwrap();
        let char = w.int("char", 1, true, true, false).unwrap();
        let constant = w.qualified(char, false).unwrap();
        let string = w.pointer(constant).unwrap();
        let request = w.reserve().unwrap();
        let member = |name, ty, bit_offset, bitfield_size| WrittenMember { name, ty, bit_offset, bitfield_size };
        let members = [member("id", int, 0, None), member("path", string, 64, None), member("flags", uint, 128, Some(3))];
        w.composite(request, false, "request", 24, &members).unwrap();
        let pointer = w.pointer(request).unwrap();
        let params = [("req", pointer), ("fd", int), ("timeout", double), ("a", long), ("b", long), ("c", long), ("d", long), ("e", long)];
        let proto = w.prototype(int, &params, false).unwrap();
        w.function("handle_request", proto).unwrap();
        let state = w.enumeration("state", 4, false, &[("IDLE", 0), ("BUSY", 1)]).unwrap();
        let proto = w.prototype(state, &[("r", request), ("after", int)], false).unwrap();
        w.function("handle_reply", proto).unwrap();
        Arc::new(Btf::parse(w.finish()).unwrap())
    })
}
