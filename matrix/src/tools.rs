//! The host programs the matrix runs, and running them with their errors kept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::MatrixError;

/// What the matrix runs on the host: QEMU to boot, apt and dpkg to fetch and unpack Debian's
/// packages, tar to extract them and ldd to find an executable's shared libraries.
const TOOLS: &[&str] = &["qemu-system-x86_64", "apt-get", "apt-cache", "dpkg-deb", "tar", "ldd"];

/// The tools the matrix needs that are not in `PATH`, by name.
pub fn missing_tools() -> Vec<&'static str> {
    TOOLS.iter().copied().filter(|tool| find_in_path(tool).is_none()).collect()
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(tool)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs `command` to completion and returns its output; a failure to start or a non-zero exit
/// is an error that names the command and carries its stderr.
pub(crate) fn run(command: &mut Command) -> Result<Output, MatrixError> {
    let shown = describe(command);
    let output = command.output().map_err(|source| MatrixError::Spawn { command: shown.clone(), source })?;
    succeeded(shown, output)
}

/// `output` when its command (`shown`) exited with status 0; otherwise the error that names the
/// command and carries its stderr.
pub(crate) fn succeeded(shown: String, output: Output) -> Result<Output, MatrixError> {
    if output.status.success() {
        return Ok(output);
    }
    Err(MatrixError::Command {
        command: shown,
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

/// Runs `command` and returns its standard output as text.
pub(crate) fn stdout_of(command: &mut Command) -> Result<String, MatrixError> {
    run(command).map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `program arg arg ...`, as a person would type it.
pub(crate) fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|arg| arg.to_string_lossy().into_owned()));
    words.join(" ")
}
