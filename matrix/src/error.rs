//! What can go wrong while fetching a kernel, assembling an initramfs or booting a guest.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MatrixError {
    #[error("cannot run `{command}`: {source}")]
    Spawn { command: String, source: io::Error },
    #[error("`{command}` failed ({status}): {stderr}")]
    Command { command: String, status: String, stderr: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{executable} needs `{library}`, which this machine does not have")]
    MissingLibrary { executable: PathBuf, library: String },
    #[error("`{package}` has no `{what}`")]
    Package { package: String, what: String },
    #[error("cannot tell which kernel `{meta_package}` depends on ({reason}); run `apt-get update` and retry")]
    Resolve { meta_package: String, reason: String },
    #[error("the guest did not power off within {seconds} s; the console ends with:\n{console}")]
    Timeout { seconds: u64, console: String },
    #[error("the guest stopped before it finished `{command}`; the console ends with:\n{console}")]
    Incomplete { command: String, console: String },
}

impl MatrixError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> MatrixError {
        let path = path.into();
        move |source| MatrixError::Io { path, source }
    }
}
