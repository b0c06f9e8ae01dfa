//! Iterators: a tracing program is loaded for the kernel function `bpf_iter_NAME` with the
//! attach type `BPF_TRACE_ITER`, then linked. The link runs nothing by itself: `run` opens
//! one iteration of it and reads it to its end (each read runs the program over the next
//! objects), or pins the link in bpffs, where every read of the file runs it again.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{BorrowedFd, OwnedFd};

use ferrotrace_compiler::btf::Family;
use ferrotrace_compiler::manifest::{Attach, ProgramSpec};
use ferrotrace_compiler::providers::iterator_function;

use super::BtfTarget;
use crate::error::LoadError;
use crate::sys::{self, attach_type};

/// The attach type and the BTF id of the iterator function `spec`'s program is loaded for.
pub(crate) fn target(spec: &ProgramSpec) -> Result<BtfTarget, LoadError> {
    let unloadable = |reason: String| LoadError::Program { probe: spec.probe_name.clone(), reason };
    let Some(Attach::Iter { iterator, .. }) = spec.targets.first().map(|target| &target.attach) else {
        return Err(unloadable("an iterator program without its iterator".to_string()));
    };
    let btf = crate::btf::shared().ok_or_else(|| unloadable("the kernel has no BTF (/sys/kernel/btf/vmlinux)".to_string()))?;
    let function = iterator_function(iterator);
    let id = btf.find(&function, Family::Func).ok_or_else(|| unloadable(format!("the kernel's types have no function `{function}`")))?;
    Ok(BtfTarget { attach_type: attach_type::TRACE_ITER, btf_id: id.0, module_btf: None, program: None })
}

/// The link of a loaded iterator program.
pub(super) fn attach(program: BorrowedFd<'_>) -> Result<OwnedFd, String> {
    sys::link_create_iter(program).map_err(|error| format!("linking the iterator (BPF_LINK_CREATE): {error}"))
}

/// What running an iterator link does.
pub enum Iteration<'a> {
    /// Read one iteration to its end, handing `write` each chunk the programs wrote.
    Read(&'a mut dyn FnMut(&[u8]) -> io::Result<()>),
    /// Pin the link at this path.
    Pin(&'a str),
}

/// Runs the iterator `link` as `how` says.
pub fn run(link: BorrowedFd<'_>, how: Iteration<'_>) -> Result<(), String> {
    match how {
        Iteration::Pin(path) => {
            let name = CString::new(path).map_err(|_| format!("`{path}` is not a path"))?;
            sys::obj_pin(link, &name).map_err(|error| match error.raw_os_error() {
                Some(libc::EEXIST) => format!("cannot pin the iterator at {path}: a file is there already"),
                Some(libc::ENOENT | libc::EPERM) => format!(
                    "cannot pin the iterator at {path}: its directory is not in a BPF filesystem (`mount -t bpf bpf /sys/fs/bpf` mounts the usual one): {error}"
                ),
                _ => format!("cannot pin the iterator at {path} (BPF_OBJ_PIN): {error}"),
            })
        }
        Iteration::Read(write) => {
            let iterator = sys::iter_create(link).map_err(|error| format!("cannot open the iterator (BPF_ITER_CREATE): {error}"))?;
            let mut file = File::from(iterator);
            let mut buffer = vec![0u8; 1 << 16];
            loop {
                match file.read(&mut buffer) {
                    Ok(0) => return Ok(()),
                    Ok(n) => write(&buffer[..n]).map_err(|error| format!("cannot write the iterator's output: {error}"))?,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(format!("reading the iterator failed: {error}")),
                }
            }
        }
    }
}
