//! tracefs: finding (or mounting) it, listing its tracepoints and reading their formats, and the
//! kernel functions kprobes may attach to.

pub mod format;

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ferrotrace_compiler::catalog::{KernelFunction, TracepointFormat};
use thiserror::Error;

pub use format::{parse_format, FormatError};

/// Where tracefs is looked for, in order.
pub const CANDIDATES: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The command that mounts tracefs where ferrotrace looks first.
const MOUNT_HINT: &str = "mount -t tracefs nodev /sys/kernel/tracing";

#[derive(Debug, Error)]
pub enum TracefsError {
    #[error("tracefs is not mounted; mount it with `{MOUNT_HINT}` (as root)")]
    NotMounted,
    #[error(
        "tracefs is not mounted and mounting it at `{path}` failed: {source}; try `{MOUNT_HINT}`"
    )]
    Mount { path: PathBuf, source: io::Error },
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("tracepoint `{category}:{name}` not found")]
    NoSuchTracepoint { category: String, name: String },
    #[error("cannot parse `{path}`: {source}")]
    Format { path: PathBuf, source: FormatError },
}

/// A tracefs mount: the directory holding `events/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracefs {
    root: PathBuf,
}

impl Tracefs {
    /// The first candidate with an `events/` directory, if any.
    pub fn find() -> Option<Tracefs> {
        CANDIDATES
            .iter()
            .map(Path::new)
            .find(|root| root.join("events").is_dir())
            .map(|root| Tracefs {
                root: root.to_path_buf(),
            })
    }

    /// Finds tracefs, or mounts it at `/sys/kernel/tracing` when `may_mount` (the caller has
    /// checked privileges); otherwise says how to mount it.
    pub fn find_or_mount(may_mount: bool) -> Result<Tracefs, TracefsError> {
        if let Some(tracefs) = Tracefs::find() {
            return Ok(tracefs);
        }
        if !may_mount {
            return Err(TracefsError::NotMounted);
        }
        let path = PathBuf::from(CANDIDATES[0]);
        let target =
            CString::new(path.as_os_str().as_bytes()).map_err(|error| TracefsError::Mount {
                path: path.clone(),
                source: io::Error::other(error),
            })?;
        if let Err(source) = crate::sys::mount_tracefs(&target) {
            // Another ferrotrace starting at the same moment may have mounted it first: the
            // kernel then refuses a second mount there (`EBUSY`), and tracefs is there to use.
            return Tracefs::find().ok_or(TracefsError::Mount { path, source });
        }
        Tracefs::find().ok_or(TracefsError::NotMounted)
    }

    /// A tracefs rooted at `root` (which must hold `events/`).
    pub fn at(root: impl Into<PathBuf>) -> Tracefs {
        Tracefs { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every tracepoint as `(category, name)`: each `events/<cat>/<name>/` directory.
    /// Directory entry types come from `readdir`, so listing costs no `stat` per event.
    pub fn tracepoints(&self) -> Result<Vec<(String, String)>, TracefsError> {
        let events = self.root.join("events");
        let mut tracepoints = Vec::new();
        for category in subdirectories(&events)? {
            for name in subdirectories(&events.join(&category))? {
                tracepoints.push((category.clone(), name));
            }
        }
        tracepoints.sort();
        Ok(tracepoints)
    }

    /// Every kernel function ftrace (and so kprobes, kprobe_multi and fentry) can attach to:
    /// `available_filter_functions`, whose lines are `name` or `name [module]`.
    pub fn kernel_functions(&self) -> Result<Vec<KernelFunction>, TracefsError> {
        let path = self.root.join("available_filter_functions");
        let text = fs::read_to_string(&path).map_err(|source| TracefsError::Read { path, source })?;
        Ok(parse_kernel_functions(&text))
    }

    /// The parsed `format` file of one tracepoint.
    pub fn format(&self, category: &str, name: &str) -> Result<TracepointFormat, TracefsError> {
        let path = self
            .root
            .join("events")
            .join(category)
            .join(name)
            .join("format");
        let text = fs::read_to_string(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => TracefsError::NoSuchTracepoint {
                category: category.to_string(),
                name: name.to_string(),
            },
            _ => TracefsError::Read {
                path: path.clone(),
                source,
            },
        })?;
        parse_format(&text).map_err(|source| TracefsError::Format { path, source })
    }
}

/// The names of the directories directly inside `dir`.
fn subdirectories(dir: &Path) -> Result<Vec<String>, TracefsError> {
    let read_error = |source| TracefsError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        if entry.file_type().map_err(read_error)?.is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(names)
}

/// The lines of `available_filter_functions`: `name`, or `name [module]`. A name can appear
/// more than once (static functions of the same name in different files); each comes once.
fn parse_kernel_functions(text: &str) -> Vec<KernelFunction> {
    let mut functions: Vec<KernelFunction> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?.to_string();
            let module = words.next().and_then(|word| word.strip_prefix('[')?.strip_suffix(']')).map(str::to_string);
            Some(KernelFunction { name, module })
        })
        .collect();
    functions.sort();
    functions.dedup();
    functions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_functions_come_once_each_with_their_module() {
        let text = "vfs_read\nksys_sync\nvfs_read\next4_sync_fs [ext4]\n\n";
        let function = |name: &str, module: Option<&str>| KernelFunction { name: name.into(), module: module.map(Into::into) };
        assert_eq!(
            parse_kernel_functions(text),
            [function("ext4_sync_fs", Some("ext4")), function("ksys_sync", None), function("vfs_read", None)]
        );
    }
}
