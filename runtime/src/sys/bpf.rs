//! The `bpf` system call: maps, programs, links and test runs.

use std::ffi::CStr;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `bpf_attr` for `BPF_MAP_CREATE` (the leading fields we use).
#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; OBJ_NAME_LEN],
}

/// `BPF_OBJ_NAME_LEN`: names of maps and programs, NUL included.
const OBJ_NAME_LEN: usize = 16;

/// `bpf_attr` for `BPF_PROG_LOAD`, up to `core_relo_cnt` so that no padding is left for the
/// kernel to read as a field.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; OBJ_NAME_LEN],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    /// Also `attach_btf_obj_fd`: the BTF object (a module's) `attach_btf_id` is an id of.
    attach_prog_fd: u32,
    core_relo_cnt: u32,
}

/// A program for `BPF_PROG_LOAD`: its type, and for the types that need them the attach type
/// it will be attached with and the BTF id of the kernel function it attaches to.
#[derive(Debug, Clone, Copy)]
pub struct ProgLoad<'a> {
    pub prog_type: u32,
    pub expected_attach_type: u32,
    pub attach_btf_id: u32,
    /// The module BTF object `attach_btf_id` counts in; `None` for the kernel image's.
    pub attach_btf_object: Option<BorrowedFd<'a>>,
    /// The loaded program `attach_btf_id` is a function of, in its own BTF (`fentry:bpf:`);
    /// passed as `attach_prog_fd`, in place of a module's BTF object.
    pub attach_program: Option<BorrowedFd<'a>>,
    pub name: &'a str,
    /// 8-byte instructions.
    pub insns: &'a [u8],
    /// For a program with callbacks: the BTF describing its functions, and one
    /// `bpf_func_info` record (instruction, BTF type id) per function.
    pub functions: Option<(BorrowedFd<'a>, &'a [FuncInfo])>,
    /// The license, NUL-terminated; `None` for GPL.
    pub license: Option<&'a CStr>,
}

/// `struct bpf_func_info`: where a function of a program starts and its `BTF_KIND_FUNC` type.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    pub insn_off: u32,
    pub type_id: u32,
}

impl<'a> ProgLoad<'a> {
    /// A program of `prog_type` that needs no attach type.
    pub fn new(prog_type: u32, name: &'a str, insns: &'a [u8]) -> ProgLoad<'a> {
        ProgLoad { prog_type, expected_attach_type: 0, attach_btf_id: 0, attach_btf_object: None, attach_program: None, name, insns, functions: None, license: None }
    }
}

/// `bpf_attr` for `BPF_BTF_LOAD`, up to a field that leaves no padding: a kernel that does not
/// know a field requires its bytes to be zero, and padding bytes are not.
#[repr(C)]
#[derive(Default)]
struct BtfLoadAttr {
    btf: u64,
    btf_log_buf: u64,
    btf_size: u32,
    btf_log_size: u32,
    btf_log_level: u32,
    /// Written by kernels since 6.4; must stay zero for older ones.
    btf_log_true_size: u32,
}

/// `bpf_attr` for `BPF_PROG_TEST_RUN` (the leading fields we use).
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
}

/// `bpf_attr` for the `BPF_MAP_*_ELEM` and `BPF_MAP_GET_NEXT_KEY` commands.
#[repr(C)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    /// `value` for lookup/update, `next_key` for get-next-key.
    value_or_next_key: u64,
    flags: u64,
}

/// `BPF_EXIST`: update only a key that is already there.
pub const BPF_EXIST: u64 = 2;

/// `bpf_attr` for `BPF_LINK_CREATE` of a perf event link.
#[repr(C)]
struct PerfLinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    bpf_cookie: u64,
}

/// `enum bpf_prog_type` values of the programs the runtime loads.
pub mod prog_type {
    pub const KPROBE: u32 = 2;
    pub const TRACEPOINT: u32 = 5;
    pub const PERF_EVENT: u32 = 7;
    pub const RAW_TRACEPOINT: u32 = 17;
    pub const TRACING: u32 = 26;
}

/// `enum bpf_attach_type` values the runtime loads or links programs with.
pub mod attach_type {
    pub const TRACE_FENTRY: u32 = 24;
    pub const TRACE_FEXIT: u32 = 25;
    pub const TRACE_ITER: u32 = 28;
    pub const PERF_EVENT: u32 = 41;
    pub const TRACE_KPROBE_MULTI: u32 = 42;
    pub const TRACE_UPROBE_MULTI: u32 = 48;
    pub const TRACE_KPROBE_SESSION: u32 = 56;
}

// `enum bpf_cmd` values (uapi/linux/bpf.h); libc does not define them.
const BPF_MAP_CREATE: libc::c_int = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_int = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_int = 2;
const BPF_MAP_DELETE_ELEM: libc::c_int = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_int = 4;
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_OBJ_PIN: libc::c_int = 6;
const BPF_PROG_TEST_RUN: libc::c_int = 10;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_int = 17;
const BPF_BTF_LOAD: libc::c_int = 18;
const BPF_MAP_LOOKUP_BATCH: libc::c_int = 24;
const BPF_LINK_CREATE: libc::c_int = 28;
const BPF_PROG_GET_NEXT_ID: libc::c_int = 11;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_int = 15;
const BPF_BTF_GET_FD_BY_ID: libc::c_int = 19;
const BPF_BTF_GET_NEXT_ID: libc::c_int = 23;
const BPF_ITER_CREATE: libc::c_int = 33;
const BPF_ENABLE_STATS: libc::c_int = 32;

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, properly sized `bpf_attr` prefix for `cmd`; the kernel reads
    // (and for lookups writes through) only the pointers stored in it, which the callers keep
    // alive and sized for the map.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            size_of::<T>(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `bpf(cmd, attr)` for a command that creates an object and returns its new file descriptor.
fn bpf_fd<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<OwnedFd> {
    let fd = bpf(cmd, attr)?;
    // SAFETY: a non-negative return of a bpf command that creates a map, program or link is a
    // new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn elem_attr(fd: BorrowedFd<'_>, key: *const u8, value: *const u8, flags: u64) -> MapElemAttr {
    MapElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        _pad: 0,
        key: key as u64,
        value_or_next_key: value as u64,
        flags,
    }
}

/// `BPF_MAP_CREATE` without BTF, named `name` (cut to 15 bytes).
pub fn map_create(
    name: &str,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
) -> io::Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries,
        map_flags,
        map_name: object_name(name),
        ..Default::default()
    };
    bpf_fd(BPF_MAP_CREATE, &mut attr)
}

/// `name` as a NUL-terminated `BPF_OBJ_NAME_LEN` array; the kernel allows `[A-Za-z0-9_.]`.
fn object_name(name: &str) -> [u8; OBJ_NAME_LEN] {
    let mut out = [0u8; OBJ_NAME_LEN];
    let allowed = name.bytes().filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.');
    for (slot, byte) in out.iter_mut().zip(allowed.take(OBJ_NAME_LEN - 1)) {
        *slot = byte;
    }
    out
}

/// `BPF_PROG_LOAD` of `program` under the GPL. With a `log` buffer the verifier writes its log
/// there at `log_level` (1 = the path it rejected, 2 = every instruction, `| 4` statistics).
pub fn prog_load(program: &ProgLoad<'_>, log: Option<(&mut [u8], u32)>) -> io::Result<OwnedFd> {
    const GPL: &CStr = c"GPL";
    let (log_buf, log_size, log_level) = match log {
        Some((buf, level)) => (buf.as_mut_ptr() as u64, buf.len() as u32, level),
        None => (0, 0, 0),
    };
    let mut attr = ProgLoadAttr {
        prog_type: program.prog_type,
        insn_cnt: (program.insns.len() / 8) as u32,
        insns: program.insns.as_ptr() as u64,
        license: program.license.unwrap_or(GPL).as_ptr() as u64,
        log_level,
        log_size,
        log_buf,
        prog_name: object_name(program.name),
        expected_attach_type: program.expected_attach_type,
        attach_btf_id: program.attach_btf_id,
        attach_prog_fd: program.attach_program.or(program.attach_btf_object).map_or(0, |object| object.as_raw_fd() as u32),
        ..Default::default()
    };
    if let Some((btf, records)) = program.functions {
        attr.prog_btf_fd = btf.as_raw_fd() as u32;
        attr.func_info_rec_size = size_of::<FuncInfo>() as u32;
        attr.func_info = records.as_ptr() as u64;
        attr.func_info_cnt = records.len() as u32;
    }
    bpf_fd(BPF_PROG_LOAD, &mut attr)
}

/// `BPF_BTF_LOAD` of a BTF blob (header, types, strings). With a `log` buffer the kernel
/// writes why it refused the blob there.
pub fn btf_load(btf: &[u8], log: Option<&mut [u8]>) -> io::Result<OwnedFd> {
    let mut attr = BtfLoadAttr { btf: btf.as_ptr() as u64, btf_size: btf.len() as u32, ..Default::default() };
    if let Some(log) = log {
        attr.btf_log_buf = log.as_mut_ptr() as u64;
        attr.btf_log_size = log.len() as u32;
        attr.btf_log_level = 1;
    }
    bpf_fd(BPF_BTF_LOAD, &mut attr)
}

/// `BPF_PROG_TEST_RUN` of a raw tracepoint program once, with no context arguments; returns
/// what the program returned. (Raw tracepoint programs take no `repeat`: a benchmark calls
/// this in a loop.)
pub fn prog_test_run(program: BorrowedFd<'_>) -> io::Result<u32> {
    let mut attr = TestRunAttr { prog_fd: program.as_raw_fd() as u32, ..Default::default() };
    bpf(BPF_PROG_TEST_RUN, &mut attr)?;
    Ok(attr.retval)
}

/// `BPF_MAP_LOOKUP_ELEM`; `value` must hold the map's whole value (all CPUs for per-CPU maps).
pub fn map_lookup_elem(fd: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> io::Result<()> {
    let mut attr = elem_attr(fd, key.as_ptr(), value.as_mut_ptr(), 0);
    bpf(BPF_MAP_LOOKUP_ELEM, &mut attr).map(drop)
}

/// `BPF_MAP_UPDATE_ELEM` with `flags` (`0` = any, `BPF_EXIST`).
pub fn map_update_elem(fd: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
    let mut attr = elem_attr(fd, key.as_ptr(), value.as_ptr(), flags);
    bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
}

/// `BPF_MAP_DELETE_ELEM`.
pub fn map_delete_elem(fd: BorrowedFd<'_>, key: &[u8]) -> io::Result<()> {
    let mut attr = elem_attr(fd, key.as_ptr(), std::ptr::null(), 0);
    bpf(BPF_MAP_DELETE_ELEM, &mut attr).map(drop)
}

/// `BPF_MAP_GET_NEXT_KEY`: the key after `key`, or the first key when `key` is `None`.
/// `Ok(false)` when there is no next key.
pub fn map_get_next_key(
    fd: BorrowedFd<'_>,
    key: Option<&[u8]>,
    next: &mut [u8],
) -> io::Result<bool> {
    let key_ptr = key.map_or(std::ptr::null(), <[u8]>::as_ptr);
    let mut attr = elem_attr(fd, key_ptr, next.as_mut_ptr(), 0);
    match bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
        Ok(_) => Ok(true),
        Err(error) if error.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(error) => Err(error),
    }
}

/// `BPF_LINK_CREATE` attaching `program` to `perf_event` with a BPF cookie, which the program
/// reads with `bpf_get_attach_cookie`. The link keeps the perf event open; closing the link
/// detaches.
pub fn link_create_perf_event(program: BorrowedFd<'_>, perf_event: BorrowedFd<'_>, cookie: u64) -> io::Result<OwnedFd> {
    let mut attr = PerfLinkCreateAttr {
        prog_fd: program.as_raw_fd() as u32,
        target_fd: perf_event.as_raw_fd() as u32,
        attach_type: attach_type::PERF_EVENT,
        flags: 0,
        bpf_cookie: cookie,
    };
    bpf_fd(BPF_LINK_CREATE, &mut attr)
}


/// `bpf_attr` for `BPF_LINK_CREATE` of a kprobe_multi link (Linux 5.18).
#[repr(C)]
struct KprobeMultiLinkAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    kprobe_flags: u32,
    cnt: u32,
    syms: u64,
    addrs: u64,
    cookies: u64,
}

/// `BPF_F_KPROBE_MULTI_RETURN`: the link's probes fire on the functions' returns.
const KPROBE_MULTI_RETURN: u32 = 1;

/// `BPF_LINK_CREATE` attaching a kprobe program to every kernel function in `symbols` at
/// once (or to their returns, with `retprobe`), with `attach_type` `BPF_TRACE_KPROBE_MULTI` or
/// `BPF_TRACE_KPROBE_SESSION`. `cookies[i]` is what `bpf_get_attach_cookie` gives the
/// program when `symbols[i]` fired; the two are the same length.
pub fn link_create_kprobe_multi(
    program: BorrowedFd<'_>,
    attach_type: u32,
    symbols: &[&CStr],
    cookies: &[u64],
    retprobe: bool,
) -> io::Result<OwnedFd> {
    assert_eq!(symbols.len(), cookies.len(), "a cookie for every symbol");
    let pointers: Vec<u64> = symbols.iter().map(|symbol| symbol.as_ptr() as u64).collect();
    let mut attr = KprobeMultiLinkAttr {
        prog_fd: program.as_raw_fd() as u32,
        target_fd: 0,
        attach_type,
        flags: 0,
        kprobe_flags: if retprobe { KPROBE_MULTI_RETURN } else { 0 },
        cnt: pointers.len() as u32,
        syms: pointers.as_ptr() as u64,
        addrs: 0,
        cookies: cookies.as_ptr() as u64,
    };
    bpf_fd(BPF_LINK_CREATE, &mut attr)
}

/// `bpf_attr` for `BPF_LINK_CREATE` of a uprobe_multi link (Linux 6.6).
#[repr(C)]
struct UprobeMultiLinkAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    path: u64,
    offsets: u64,
    ref_ctr_offsets: u64,
    cookies: u64,
    cnt: u32,
    uprobe_flags: u32,
    pid: u32,
    _pad: u32,
}

/// `BPF_F_UPROBE_MULTI_RETURN`: the link's uprobes are uretprobes.
const UPROBE_MULTI_RETURN: u32 = 1;

/// What one uprobe_multi link attaches: places in one file, each with its cookie and, for a
/// USDT probe with a semaphore, the semaphore's file offset; only in process `pid` when given.
pub struct UprobeMulti<'a> {
    pub path: &'a CStr,
    pub offsets: &'a [u64],
    pub cookies: &'a [u64],
    pub ref_ctr_offsets: Option<&'a [u64]>,
    pub retprobe: bool,
    pub pid: Option<u32>,
}

/// `BPF_LINK_CREATE` of a uprobe_multi link (`BPF_TRACE_UPROBE_MULTI`, Linux 6.6) for a
/// kprobe-type program.
pub fn link_create_uprobe_multi(program: BorrowedFd<'_>, multi: &UprobeMulti<'_>) -> io::Result<OwnedFd> {
    let mut attr = UprobeMultiLinkAttr {
        prog_fd: program.as_raw_fd() as u32,
        target_fd: 0,
        attach_type: attach_type::TRACE_UPROBE_MULTI,
        flags: 0,
        path: multi.path.as_ptr() as u64,
        offsets: multi.offsets.as_ptr() as u64,
        ref_ctr_offsets: multi.ref_ctr_offsets.map_or(0, |offsets| offsets.as_ptr() as u64),
        cookies: multi.cookies.as_ptr() as u64,
        cnt: multi.offsets.len() as u32,
        uprobe_flags: if multi.retprobe { UPROBE_MULTI_RETURN } else { 0 },
        pid: multi.pid.unwrap_or(0),
        _pad: 0,
    };
    bpf_fd(BPF_LINK_CREATE, &mut attr)
}

/// `bpf_attr` for `BPF_RAW_TRACEPOINT_OPEN`.
#[repr(C)]
struct RawTracepointOpenAttr {
    name: u64,
    prog_fd: u32,
    _pad: u32,
}

/// `BPF_RAW_TRACEPOINT_OPEN` of a tracing program (fentry, fexit) at the function it was loaded
/// for: the link that attaches it.
pub fn raw_tracepoint_open_tracing(program: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut attr = RawTracepointOpenAttr { name: 0, prog_fd: program.as_raw_fd() as u32, _pad: 0 };
    bpf_fd(BPF_RAW_TRACEPOINT_OPEN, &mut attr)
}

/// `BPF_RAW_TRACEPOINT_OPEN` of a raw tracepoint program at the raw tracepoint `name`: the
/// link that attaches it.
pub fn raw_tracepoint_open(program: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    let mut attr = RawTracepointOpenAttr { name: name.as_ptr() as u64, prog_fd: program.as_raw_fd() as u32, _pad: 0 };
    bpf_fd(BPF_RAW_TRACEPOINT_OPEN, &mut attr)
}

/// `bpf_attr` for `BPF_LINK_CREATE` of an iterator link, with no `bpf_iter_link_info`.
#[repr(C)]
struct IterLinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    iter_info: u64,
    iter_info_len: u32,
    _pad: u32,
}

/// `BPF_LINK_CREATE` of an iterator program (loaded for `bpf_iter_NAME`): the link that
/// `iter_create` opens iterators of, or that is pinned to be read as a file.
pub fn link_create_iter(program: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut attr = IterLinkCreateAttr {
        prog_fd: program.as_raw_fd() as u32,
        target_fd: 0,
        attach_type: attach_type::TRACE_ITER,
        flags: 0,
        iter_info: 0,
        iter_info_len: 0,
        _pad: 0,
    };
    bpf_fd(BPF_LINK_CREATE, &mut attr)
}

/// `bpf_attr` for `BPF_ITER_CREATE`.
#[repr(C)]
struct IterCreateAttr {
    link_fd: u32,
    flags: u32,
}

/// `BPF_ITER_CREATE`: one run of the iterator `link`, read as a file (each read runs the
/// program over the next objects; end of file after the last).
pub fn iter_create(link: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut attr = IterCreateAttr { link_fd: link.as_raw_fd() as u32, flags: 0 };
    bpf_fd(BPF_ITER_CREATE, &mut attr)
}

/// `bpf_attr` for `BPF_OBJ_PIN`.
#[repr(C)]
struct ObjPinAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

/// `BPF_OBJ_PIN` of `object` (a link, a map, a program) at `path` in a BPF filesystem.
pub fn obj_pin(object: BorrowedFd<'_>, path: &CStr) -> io::Result<()> {
    let mut attr = ObjPinAttr { pathname: path.as_ptr() as u64, bpf_fd: object.as_raw_fd() as u32, file_flags: 0 };
    bpf(BPF_OBJ_PIN, &mut attr).map(drop)
}

/// `bpf_attr` for the `BPF_MAP_*_BATCH` commands.
#[repr(C)]
struct MapBatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// `BPF_MAP_LOOKUP_BATCH` of up to one element of a map whose keys and values are `u32`s.
/// `Ok` whether or not the map had an element (an empty map answers `ENOENT`).
pub fn map_lookup_batch_u32(map: BorrowedFd<'_>) -> io::Result<()> {
    let (mut out_batch, mut key, mut value) = (0u32, 0u32, 0u32);
    let mut attr = MapBatchAttr {
        in_batch: 0,
        out_batch: &mut out_batch as *mut u32 as u64,
        keys: &mut key as *mut u32 as u64,
        values: &mut value as *mut u32 as u64,
        count: 1,
        map_fd: map.as_raw_fd() as u32,
        elem_flags: 0,
        flags: 0,
    };
    match bpf(BPF_MAP_LOOKUP_BATCH, &mut attr) {
        Err(error) if error.raw_os_error() != Some(libc::ENOENT) => Err(error),
        _ => Ok(()),
    }
}

/// `bpf_attr` for `BPF_BTF_GET_NEXT_ID` and `BPF_BTF_GET_FD_BY_ID`.
#[repr(C)]
#[derive(Default)]
struct IdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

/// `bpf_attr` for `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `struct bpf_btf_info`.
#[repr(C)]
#[derive(Default)]
struct BtfInfo {
    btf: u64,
    btf_size: u32,
    id: u32,
    name: u64,
    name_len: u32,
    kernel_btf: u32,
}

/// The id of the loaded BTF object after `id` (`BPF_BTF_GET_NEXT_ID`); `ENOENT` after the last.
pub fn btf_next_id(id: u32) -> io::Result<u32> {
    let mut attr = IdAttr { id, ..Default::default() };
    bpf(BPF_BTF_GET_NEXT_ID, &mut attr)?;
    Ok(attr.next_id)
}

/// An fd of the BTF object `id` (`BPF_BTF_GET_FD_BY_ID`).
pub fn btf_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = IdAttr { id, ..Default::default() };
    bpf_fd(BPF_BTF_GET_FD_BY_ID, &mut attr)
}

/// The name of a kernel BTF object (`vmlinux`, a module's name); `None` for BTF a program
/// loaded.
pub fn kernel_btf_name(btf: BorrowedFd<'_>) -> io::Result<Option<String>> {
    let mut name = [0u8; 64];
    let mut info = BtfInfo { name: name.as_mut_ptr() as u64, name_len: name.len() as u32, ..Default::default() };
    let mut attr = InfoAttr { bpf_fd: btf.as_raw_fd() as u32, info_len: size_of::<BtfInfo>() as u32, info: &mut info as *mut BtfInfo as u64 };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    if info.kernel_btf == 0 {
        return Ok(None);
    }
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(Some(String::from_utf8_lossy(&name[..end]).into_owned()))
}

/// `struct bpf_prog_info` up to `nr_line_info`: the fields before the ones read are only
/// layout (the kernel writes at most `info_len` bytes).
#[repr(C)]
#[derive(Default)]
struct ProgInfoAttr {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; OBJ_NAME_LEN],
    ifindex: u32,
    gpl_compatible: u32,
    netns_dev: u64,
    netns_ino: u64,
    nr_jited_ksyms: u32,
    nr_jited_func_lens: u32,
    jited_ksyms: u64,
    jited_func_lens: u64,
    btf_id: u32,
    func_info_rec_size: u32,
    func_info: u64,
    nr_func_info: u32,
    nr_line_info: u32,
    line_info: u64,
    jited_line_info: u64,
    nr_jited_line_info: u32,
    line_info_rec_size: u32,
    jited_line_info_rec_size: u32,
    nr_prog_tags: u32,
    prog_tags: u64,
    run_time_ns: u64,
    run_cnt: u64,
    recursion_misses: u64,
    verified_insns: u32,
}

/// What `fentry:bpf:` needs of a loaded program: its name, the id of its BTF (0 for none) and
/// its functions (`func_info`: where each starts, its `BTF_KIND_FUNC` in that BTF).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgInfo {
    pub name: String,
    pub btf_id: u32,
    pub functions: Vec<FuncInfo>,
}

/// The id of the loaded program after `id` (`BPF_PROG_GET_NEXT_ID`); `ENOENT` after the last.
pub fn prog_next_id(id: u32) -> io::Result<u32> {
    let mut attr = IdAttr { id, ..Default::default() };
    bpf(BPF_PROG_GET_NEXT_ID, &mut attr)?;
    Ok(attr.next_id)
}

/// An fd of the loaded program `id` (`BPF_PROG_GET_FD_BY_ID`).
pub fn prog_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = IdAttr { id, ..Default::default() };
    bpf_fd(BPF_PROG_GET_FD_BY_ID, &mut attr)
}

/// A loaded program's name, BTF id and `func_info` records (`BPF_OBJ_GET_INFO_BY_FD`, twice:
/// the count, then the records).
pub fn prog_info(program: BorrowedFd<'_>) -> io::Result<ProgInfo> {
    let query = |info: &mut ProgInfoAttr| {
        let mut attr = InfoAttr { bpf_fd: program.as_raw_fd() as u32, info_len: size_of::<ProgInfoAttr>() as u32, info: info as *mut ProgInfoAttr as u64 };
        bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).map(drop)
    };
    let mut info = ProgInfoAttr::default();
    query(&mut info)?;
    let count = info.nr_func_info as usize;
    let mut functions = vec![FuncInfo { insn_off: 0, type_id: 0 }; count];
    if count > 0 {
        info = ProgInfoAttr {
            func_info_rec_size: size_of::<FuncInfo>() as u32,
            func_info: functions.as_mut_ptr() as u64,
            nr_func_info: count as u32,
            ..Default::default()
        };
        query(&mut info)?;
        functions.truncate((info.nr_func_info as usize).min(count));
    }
    let end = info.name.iter().position(|&b| b == 0).unwrap_or(OBJ_NAME_LEN);
    Ok(ProgInfo { name: String::from_utf8_lossy(&info.name[..end]).into_owned(), btf_id: info.btf_id, functions })
}

/// How often a loaded program ran and for how long (counted while statistics are on:
/// `enable_run_time_stats`), and its size after the verifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgStats {
    pub run_count: u64,
    pub run_time_ns: u64,
    /// Instructions after the verifier's rewrites.
    pub translated_insns: u32,
    /// Instructions the verifier processed (0 before Linux 5.16).
    pub verified_insns: u32,
}

/// A loaded program's run statistics (`BPF_OBJ_GET_INFO_BY_FD`).
pub fn prog_stats(program: BorrowedFd<'_>) -> io::Result<ProgStats> {
    let mut info = ProgInfoAttr::default();
    let mut attr = InfoAttr { bpf_fd: program.as_raw_fd() as u32, info_len: size_of::<ProgInfoAttr>() as u32, info: &mut info as *mut ProgInfoAttr as u64 };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    Ok(ProgStats { run_count: info.run_cnt, run_time_ns: info.run_time_ns, translated_insns: info.xlated_prog_len / 8, verified_insns: info.verified_insns })
}

/// Turns on the kernel's per-program run statistics until the returned fd is closed
/// (`BPF_ENABLE_STATS` with `BPF_STATS_RUN_TIME`).
pub fn enable_run_time_stats() -> io::Result<OwnedFd> {
    let mut attr: u32 = 0;
    bpf_fd(BPF_ENABLE_STATS, &mut attr)
}

/// The raw BTF (header, types, strings) of a loaded BTF object, as it was loaded.
pub fn btf_data(btf: BorrowedFd<'_>) -> io::Result<Vec<u8>> {
    let query = |info: &mut BtfInfo| {
        let mut attr = InfoAttr { bpf_fd: btf.as_raw_fd() as u32, info_len: size_of::<BtfInfo>() as u32, info: info as *mut BtfInfo as u64 };
        bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).map(drop)
    };
    let mut info = BtfInfo::default();
    query(&mut info)?;
    let mut data = vec![0u8; info.btf_size as usize];
    info = BtfInfo { btf: data.as_mut_ptr() as u64, btf_size: data.len() as u32, ..Default::default() };
    query(&mut info)?;
    data.truncate(info.btf_size as usize);
    Ok(data)
}
