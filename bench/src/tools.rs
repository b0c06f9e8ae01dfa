//! The tracers under test: where their binaries are and how each is started.

use std::env;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    Ferrotrace,
    Bpftrace,
}

/// One tracer binary.
#[derive(Debug, Clone)]
pub struct Tool {
    pub kind: ToolKind,
    pub path: PathBuf,
}

impl Tool {
    pub fn name(&self) -> &'static str {
        match self.kind {
            ToolKind::Ferrotrace => "ferrotrace",
            ToolKind::Bpftrace => "bpftrace",
        }
    }

    /// The tool with no arguments yet; bpftrace gets room for many probes and programs.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.path);
        if self.kind == ToolKind::Bpftrace {
            command.env("BPFTRACE_MAX_PROBES", "100000").env("BPFTRACE_MAX_BPF_PROGS", "100000");
        }
        command
    }

    /// `TOOL -e SCRIPT`.
    pub fn run_script(&self, script: &str) -> Command {
        let mut command = self.command();
        command.arg("-e").arg(script);
        command
    }
}

/// ferrotrace, and bpftrace when there is one to compare with.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ferrotrace: Tool,
    pub bpftrace: Option<Tool>,
}

impl Tools {
    /// Finds both tools. ferrotrace defaults to the binary next to this one; bpftrace to the
    /// one in `PATH`, if any. Paths given explicitly must exist.
    pub fn find(ferrotrace: Option<PathBuf>, bpftrace: Option<PathBuf>, no_bpftrace: bool) -> Result<Tools> {
        let ferrotrace = match ferrotrace {
            Some(path) => existing(path, "--ferrotrace")?,
            None => next_to_this_binary()?,
        };
        let bpftrace = match (bpftrace, no_bpftrace) {
            (_, true) => None,
            (Some(path), false) => Some(existing(path, "--bpftrace")?),
            (None, false) => search_path("bpftrace"),
        };
        Ok(Tools {
            ferrotrace: Tool { kind: ToolKind::Ferrotrace, path: ferrotrace },
            bpftrace: bpftrace.map(|path| Tool { kind: ToolKind::Bpftrace, path }),
        })
    }

    /// The tools in the order every row runs them: ferrotrace, then bpftrace.
    pub fn each(&self) -> impl Iterator<Item = &Tool> {
        std::iter::once(&self.ferrotrace).chain(self.bpftrace.as_ref())
    }
}

fn existing(path: PathBuf, option: &str) -> Result<PathBuf> {
    if !is_executable(&path) {
        bail!("{option} {}: no executable file there", path.display());
    }
    Ok(path)
}

fn next_to_this_binary() -> Result<PathBuf> {
    let exe = env::current_exe().context("cannot find the running executable")?;
    let path = exe.with_file_name("ferrotrace");
    if !is_executable(&path) {
        bail!(
            "no ferrotrace binary at {}: run `cargo build --release` first (with the same target directory), \
             or pass --ferrotrace PATH",
            path.display()
        );
    }
    Ok(path)
}

/// The first executable `name` in the directories of `PATH`.
fn search_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
