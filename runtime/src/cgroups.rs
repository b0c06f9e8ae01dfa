//! Cgroups on this system: the id of a cgroup directory (`cgroupid`) and the paths of an id in
//! each mounted hierarchy (`cgroup_path`), as bpftrace finds them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ferrotrace_compiler::providers::glob_match;

/// The id of the cgroup whose directory is `path`: the 64-bit handle `name_to_handle_at` gives
/// for a cgroup v2 directory.
pub fn id_of(path: &str) -> Result<u64, String> {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let c_path = CString::new(path).map_err(|_| "the path holds a NUL byte".to_string())?;
    // SAFETY: an all-zero statfs is valid, and statfs fills the one it is given.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the path is NUL-terminated and `fs` is valid for writing.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut fs) } != 0 {
        return Err(format!("{path}: {}", std::io::Error::last_os_error()));
    }
    if fs.f_type as i64 != CGROUP2_SUPER_MAGIC {
        return Err(format!("{path} is not in a cgroup v2 hierarchy"));
    }
    /// `struct file_handle` with room for the 8 bytes of a cgroup's handle.
    #[repr(C)]
    struct CgroupHandle {
        handle_bytes: u32,
        handle_type: i32,
        id: u64,
    }
    let mut handle = CgroupHandle { handle_bytes: 8, handle_type: 0, id: 0 };
    let mut mount_id: libc::c_int = 0;
    // SAFETY: the path is NUL-terminated and the handle has room for the `handle_bytes` it says.
    let result = unsafe {
        libc::syscall(libc::SYS_name_to_handle_at, libc::AT_FDCWD, c_path.as_ptr(), &mut handle as *mut CgroupHandle, &mut mount_id, 0)
    };
    if result < 0 {
        return Err(format!("{path}: {}", std::io::Error::last_os_error()));
    }
    Ok(handle.id)
}

/// The paths of cgroup `id` as `hierarchy:path`, comma-separated: cgroup v2 first (named
/// `unified`), then the v1 hierarchies by name, each only when its name matches the wildcard
/// `filter` and the id is found in it. Empty when it is nowhere.
pub fn paths_of(id: u64, filter: &str) -> String {
    let (v1, v2) = hierarchy_roots();
    let mut named: Vec<(String, PathBuf)> = v2.into_iter().map(|root| ("unified".to_string(), root)).collect();
    let mut v1: Vec<(String, PathBuf)> = v1
        .into_iter()
        .map(|root| (root.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(), root))
        .collect();
    v1.sort();
    named.extend(v1);
    named
        .into_iter()
        .filter(|(name, _)| glob_match(filter, name))
        .filter_map(|(name, root)| path_in(id, &root).map(|path| format!("{name}:{path}")))
        .collect::<Vec<_>>()
        .join(",")
}

/// The mount points of the cgroup v1 and v2 hierarchies, from `/proc/mounts`.
fn hierarchy_roots() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let (mut v1, mut v2) = (Vec::new(), Vec::new());
    for line in mounts.lines() {
        let mut fields = line.split_whitespace();
        let (Some(_), Some(point), Some(kind)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let point = PathBuf::from(point);
        match kind {
            "cgroup" if point.is_dir() => v1.push(point),
            "cgroup2" if point.is_dir() => v2.push(point),
            _ => {}
        }
    }
    (v1, v2)
}

/// Where cgroup `id` is below `root` (`/` for the root itself), remembered between prints and
/// checked again before it is reused: ids are inode numbers in the hierarchy.
fn path_in(id: u64, root: &Path) -> Option<String> {
    thread_local! {
        static FOUND: RefCell<HashMap<(u64, PathBuf), PathBuf>> = RefCell::new(HashMap::new());
    }
    let key = (id, root.to_path_buf());
    let known = FOUND.with(|found| found.borrow().get(&key).cloned());
    let dir = match known.filter(|dir| std::fs::metadata(dir).is_ok_and(|meta| meta.ino() == id)) {
        Some(dir) => dir,
        None => {
            let dir = find(id, root)?;
            FOUND.with(|found| found.borrow_mut().insert(key, dir.clone()));
            dir
        }
    };
    let relative = dir.strip_prefix(root).ok()?;
    Some(format!("/{}", relative.to_string_lossy()))
}

/// The directory at or below `dir` whose inode is `id`.
fn find(id: u64, dir: &Path) -> Option<PathBuf> {
    if std::fs::metadata(dir).ok()?.ino() == id {
        return Some(dir.to_path_buf());
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            if !kind.is_dir() {
                continue;
            }
            if entry.metadata().is_ok_and(|meta| meta.ino() == id) {
                return Some(entry.path());
            }
            pending.push(entry.path());
        }
    }
    None
}
