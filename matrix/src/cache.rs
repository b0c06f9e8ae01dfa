//! Where fetched kernels and busybox are kept between runs: `$FERROTRACE_MATRIX_CACHE`, else
//! `$XDG_CACHE_HOME/ferrotrace/matrix`, else `~/.cache/ferrotrace/matrix`. Each package
//! version unpacks into a directory of its own, written under a temporary name of its own (two
//! tests of one process may fill the same entry at once) and renamed when complete, so an
//! interrupted or concurrent fetch never leaves a half-filled entry behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::MatrixError;

/// The environment variable that moves the cache.
pub const CACHE_VAR: &str = "FERROTRACE_MATRIX_CACHE";

/// The cache's root directory (not created).
pub fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_VAR) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("ferrotrace").join("matrix")
}

/// The directory of one unpacked package version, filled by `fill` the first time it is asked
/// for. `fill` gets an empty scratch directory, which becomes the entry once `fill` succeeds.
pub fn entry(name: &str, fill: impl FnOnce(&Path) -> Result<(), MatrixError>) -> Result<PathBuf, MatrixError> {
    let root = root();
    let done = root.join(name);
    if done.is_dir() {
        return Ok(done);
    }
    fs::create_dir_all(&root).map_err(MatrixError::io(&root))?;
    static FILLS: AtomicUsize = AtomicUsize::new(0);
    let fill_id = FILLS.fetch_add(1, Ordering::Relaxed);
    let scratch = root.join(format!(".{name}.{}.{fill_id}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(MatrixError::io(&scratch))?;
    let filled = fill(&scratch);
    if let Err(error) = filled {
        let _ = fs::remove_dir_all(&scratch);
        return Err(error);
    }
    match fs::rename(&scratch, &done) {
        Ok(()) => Ok(done),
        // Another run filled it first: keep theirs.
        Err(_) if done.is_dir() => {
            let _ = fs::remove_dir_all(&scratch);
            Ok(done)
        }
        Err(source) => Err(MatrixError::Io { path: done, source }),
    }
}

/// Every complete entry whose name starts with `prefix`, newest first by modification time.
pub fn entries_starting_with(prefix: &str) -> Vec<PathBuf> {
    let Ok(dir) = fs::read_dir(root()) else { return Vec::new() };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = dir
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    found.into_iter().map(|(_, path)| path).collect()
}
