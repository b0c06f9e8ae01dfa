//! tracefs: finding (or mounting) it, listing its tracepoints and reading their formats.

pub mod format;

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ferrotrace_compiler::catalog::TracepointFormat;
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
