//! Which files a userspace probe's written path names, as bpftrace finds them: a path (`/`
//! in it) as it is, or with wildcards every ELF file it matches; a library name (`libc`, `libc.so.6`) from `/etc/ld.so.cache`, then the
//! standard library directories, then an executable in `PATH`. With a process (`-p`), paths are
//! seen from its mount namespace (through `/proc/PID/root`), a library name is the library it
//! maps, and `*` is every ELF file it maps.

use std::collections::BTreeSet;
use std::path::Path;

use ferrotrace_compiler::catalog::{names_several_binaries, CatalogError, UserBinary};

/// The directories searched for a library the cache does not list.
const LIBRARY_DIRS: &[&str] = &["/lib64", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"];

/// The binaries `written` names, seen from process `pid` when given.
pub(crate) fn resolve(written: &str, pid: Option<u32>) -> Result<Vec<UserBinary>, CatalogError> {
    let not_found = || CatalogError::NotFound(written.to_string());
    match pid {
        Some(pid) if written == "*" => Ok(mapped_files(pid)?.into_iter().filter(|path| is_elf(&in_process(pid, path))).map(|path| seen_from(pid, &path)).collect()),
        Some(pid) if written.contains('/') && names_several_binaries(written) => {
            let root = in_process(pid, "/");
            Ok(matching_files(&in_process(pid, written)).into_iter().map(|file| seen_from(pid, &format!("/{}", file.strip_prefix(&root).unwrap_or(&file)))).collect())
        }
        Some(pid) if written.contains('/') => {
            let binary = seen_from(pid, written);
            Path::new(&binary.file).is_file().then(|| vec![binary]).ok_or_else(not_found)
        }
        Some(pid) => {
            let mapped = mapped_files(pid)?;
            match mapped.iter().find(|path| library_matches(written, file_name(path))) {
                Some(path) => Ok(vec![seen_from(pid, path)]),
                None => resolve(written, None).map(|binaries| binaries.into_iter().map(|binary| seen_from(pid, &binary.path)).collect()),
            }
        }
        None if written == "*" => Ok(every_mapped_binary()),
        None if written.contains('/') && names_several_binaries(written) => Ok(matching_files(written).iter().map(|file| UserBinary::at(file)).collect()),
        None if written.contains('/') => Path::new(written).is_file().then(|| vec![UserBinary::at(written)]).ok_or_else(not_found),
        None => library(written).or_else(|| in_path(written)).map(|path| vec![UserBinary::at(&path)]).ok_or_else(not_found),
    }
}

/// Every ELF file some process maps, once per file (by device and inode): `uprobe:*:...` and
/// `usdt:*:...` without `-p` trace the whole host. Each is named by its path in the first
/// process (by pid) that maps it, and opened there as it is when ferrotrace sees the same file
/// at that path, so that it does not depend on that process living on; through that process's
/// root (`/proc/PID/root`) otherwise.
fn every_mapped_binary() -> Vec<UserBinary> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut pids: Vec<u32> = entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    let mut seen = BTreeSet::new();
    let mut binaries = Vec::new();
    for pid in pids {
        // A process may exit, or hide its maps, while it is read: it is passed over.
        let Ok(mapped) = mapped_files(pid) else { continue };
        for path in mapped {
            let binary = seen_from(pid, &path);
            let Ok(metadata) = std::fs::metadata(&binary.file) else { continue };
            let file = (metadata.dev(), metadata.ino());
            if !seen.insert(file) || !is_elf(&binary.file) {
                continue;
            }
            let here = std::fs::metadata(&path).is_ok_and(|ours| (ours.dev(), ours.ino()) == file);
            binaries.push(if here { UserBinary::at(&path) } else { binary });
        }
    }
    binaries
}

/// The program of process `pid`, seen from its mount namespace.
pub(crate) fn executable(pid: u32) -> Result<UserBinary, CatalogError> {
    let link = std::fs::read_link(format!("/proc/{pid}/exe"))
        .map_err(|error| CatalogError::Unavailable(format!("cannot read /proc/{pid}/exe: {error}")))?;
    Ok(seen_from(pid, &link.to_string_lossy()))
}

/// A path of process `pid`'s mount namespace, named as it is there and opened through
/// `/proc/PID/root`.
fn seen_from(pid: u32, path: &str) -> UserBinary {
    UserBinary { path: path.to_string(), file: in_process(pid, path) }
}

fn in_process(pid: u32, path: &str) -> String {
    match path.strip_prefix('/') {
        Some(absolute) => format!("/proc/{pid}/root/{absolute}"),
        None => path.to_string(),
    }
}

/// The files process `pid` maps (`/proc/PID/maps`), once each, in path order.
fn mapped_files(pid: u32) -> Result<BTreeSet<String>, CatalogError> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|error| CatalogError::Unavailable(format!("cannot read /proc/{pid}/maps: {error}")))?;
    Ok(maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.starts_with('/') && !path.ends_with("(deleted)"))
        .map(str::to_string)
        .collect())
}

/// The ELF files `pattern` matches, in path order; none for a pattern that is not one.
fn matching_files(pattern: &str) -> Vec<String> {
    let Ok(paths) = glob::glob(pattern) else { return Vec::new() };
    paths.filter_map(Result::ok).filter(|path| path.is_file()).map(|path| path.to_string_lossy().into_owned()).filter(|file| is_elf(file)).collect()
}

fn is_elf(file: &str) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(file).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"\x7fELF"
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether the library file `file` (`libc.so.6`) is the one `written` names: `libc.so.6`,
/// `libc.so`, `libc` or `c`.
fn library_matches(written: &str, file: &str) -> bool {
    let stem = written.strip_prefix("lib").unwrap_or(written);
    file == written || file.starts_with(&format!("{written}.so")) || file.starts_with(&format!("lib{stem}.so"))
}

/// The library `written` names, from the dynamic linker's cache or the standard directories.
fn library(written: &str) -> Option<String> {
    let cached = std::fs::read("/etc/ld.so.cache").ok().and_then(|cache| cache_lookup(&cache, written));
    cached.or_else(|| {
        LIBRARY_DIRS.iter().find_map(|dir| {
            let mut names: Vec<String> = std::fs::read_dir(dir).ok()?.filter_map(|entry| entry.ok()?.file_name().into_string().ok()).collect();
            names.sort();
            names.into_iter().find(|name| library_matches(written, name)).map(|name| format!("{dir}/{name}"))
        })
    })
}

/// The magic and version that start glibc's ld.so.cache format.
const CACHE_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// The header: magic and version, the number of entries, the string table's length, flags,
/// padding, the extension offset and three unused words.
const CACHE_HEADER: usize = 48;
/// An entry: flags, key and value string offsets, the OS version and the hardware caps.
const CACHE_ENTRY: usize = 24;
/// An x86-64 library for libc6 (`FLAG_ELF_LIBC6 | FLAG_X8664_LIB64`).
const CACHE_FLAGS_X86_64: i32 = 0x0303;

/// The path the cache gives for the first x86-64 library `written` names.
fn cache_lookup(cache: &[u8], written: &str) -> Option<String> {
    let start = cache.windows(CACHE_MAGIC.len()).position(|window| window == CACHE_MAGIC)?;
    let header = cache.get(start..start + CACHE_HEADER)?;
    let count = u32::from_ne_bytes(header[20..24].try_into().ok()?) as usize;
    let string = |offset: u32| {
        let bytes = cache.get(offset as usize..)?;
        let end = bytes.iter().position(|&byte| byte == 0)?;
        std::str::from_utf8(&bytes[..end]).ok()
    };
    (0..count).find_map(|index| {
        let entry = cache.get(start + CACHE_HEADER + index * CACHE_ENTRY..start + CACHE_HEADER + (index + 1) * CACHE_ENTRY)?;
        let word = |at: usize| entry[at..at + 4].try_into().ok().map(u32::from_ne_bytes);
        let (flags, key, value) = (word(0)? as i32, word(4)?, word(8)?);
        let fits = !cfg!(target_arch = "x86_64") || flags == CACHE_FLAGS_X86_64;
        (fits && library_matches(written, string(key)?)).then(|| string(value).map(str::to_string)).flatten()
    })
}

/// An executable named `written` in `PATH`.
fn in_path(written: &str) -> Option<String> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(written)).find(|path| path.is_file()).map(|path| path.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_match_as_bpftrace_matches_them() {
        assert!(library_matches("libc", "libc.so.6"));
        assert!(library_matches("c", "libc.so.6"));
        assert!(library_matches("libc.so.6", "libc.so.6"));
        assert!(!library_matches("libc", "libcrypt.so.1"));
        assert!(!library_matches("libc", "libcap.so.2"));
    }

    #[test]
    fn processes_are_seen_through_their_root() {
        let binary = seen_from(42, "/usr/bin/app");
        assert_eq!((binary.path.as_str(), binary.file.as_str()), ("/usr/bin/app", "/proc/42/root/usr/bin/app"));
    }
}
