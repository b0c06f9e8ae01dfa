//! A private temporary directory for scripts and ELF files, removed when dropped.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn create() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("ferrotrace-bench.{}", std::process::id()));
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch { dir })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
