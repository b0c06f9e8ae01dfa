//! Kernels and busybox from Debian's archive, by package name and nothing else: `apt-cache`
//! names the package and version, `apt-get download` fetches the `.deb`, and `dpkg-deb` with
//! `tar` unpacks only the files the matrix uses into the cache (the kernel, its configuration
//! and the one module the tests load). Without the archive (offline,
//! or no package lists), the newest cached copy is used.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tools::{describe, run, stdout_of, succeeded};
use crate::{cache, MatrixError, Series};

/// A kernel image ready to boot, with the facts the report and the tests need.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub series: Series,
    /// The Debian package it came from: `linux-image-6.1.0-57-amd64`.
    pub package: String,
    /// The package's Debian version: `6.1.192-3`.
    pub version: String,
    /// What `uname -r` says inside: `6.1.0-57-amd64`.
    pub release: String,
    pub vmlinuz: PathBuf,
    /// The kernel's build configuration, which Debian installs as `/boot/config-<release>`.
    pub config: PathBuf,
    /// The module the tests load to probe a module's functions (`dummy.ko`, uncompressed),
    /// when the cache entry has it.
    pub test_module: Option<PathBuf>,
}

/// The module the tests load, within `lib/modules/<release>/` (Debian may compress it).
const TEST_MODULE: &str = "kernel/drivers/net/dummy.ko";

/// Marks a cache entry as a kernel of one series, for the offline fallback.
const SERIES_FILE: &str = "series";
const VERSION_FILE: &str = "version";

/// The newest kernel of `series`: fetched on first use, from the cache afterwards.
pub fn kernel(series: Series) -> Result<Kernel, MatrixError> {
    let resolved = kernel_package(series.meta_package).and_then(|package| {
        let version = candidate_version(&package)?;
        Ok((package, version))
    });
    let dir = match resolved {
        Ok((package, version)) => cache::entry(&format!("{}+module", entry_name(&package, &version)), |scratch| {
            let module = format!("./lib/modules/*/{TEST_MODULE}*");
            fetch(&package, &version, &["--wildcards", "./boot", &module], scratch)?;
            decompress_test_module(scratch)?;
            write(scratch.join(SERIES_FILE), series.label)?;
            write(scratch.join(VERSION_FILE), &version)
        })?,
        Err(error) => newest_cached_kernel(series).ok_or(error)?,
    };
    read_kernel(series, &dir)
}

/// A static busybox from `busybox-static`.
pub fn busybox() -> Result<PathBuf, MatrixError> {
    const PACKAGE: &str = "busybox-static";
    let dir = match candidate_version(PACKAGE) {
        Ok(version) => cache::entry(&entry_name(PACKAGE, &version), |scratch| {
            fetch(PACKAGE, &version, &["./bin/busybox"], scratch)
        })?,
        Err(error) => cache::entries_starting_with(&format!("{PACKAGE}_")).into_iter().next().ok_or(error)?,
    };
    Ok(dir.join("bin/busybox"))
}

/// The kernel image package `meta_package` depends on.
fn kernel_package(meta_package: &str) -> Result<String, MatrixError> {
    let resolve_error = |reason: String| MatrixError::Resolve { meta_package: meta_package.to_string(), reason };
    let listing = stdout_of(Command::new("apt-cache").args(["depends", meta_package]))
        .map_err(|error| resolve_error(error.to_string()))?;
    listing
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends: "))
        .find(|package| package.starts_with("linux-image-"))
        .map(str::to_string)
        .ok_or_else(|| resolve_error("it depends on no `linux-image-*` package".to_string()))
}

/// The version `apt-get download` would fetch.
fn candidate_version(package: &str) -> Result<String, MatrixError> {
    let record = stdout_of(Command::new("apt-cache").args(["show", "--no-all-versions", package]))?;
    record
        .lines()
        .find_map(|line| line.strip_prefix("Version: "))
        .map(|version| version.trim().to_string())
        .ok_or_else(|| MatrixError::Package { package: package.to_string(), what: "Version".to_string() })
}

/// A cache entry's name: the package and version, with the epoch's colon replaced.
fn entry_name(package: &str, version: &str) -> String {
    format!("{package}_{}", version.replace(':', "%3a"))
}

/// Downloads `package` at `version` into `dir`, unpacks `members` of its data there and
/// removes the `.deb`.
fn fetch(package: &str, version: &str, members: &[&str], dir: &Path) -> Result<(), MatrixError> {
    run(Command::new("apt-get")
        .args(["download", "-q", "-o", "APT::Sandbox::User=root", &format!("{package}={version}")])
        .current_dir(dir))?;
    let deb = fs::read_dir(dir)
        .map_err(MatrixError::io(dir))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .ok_or_else(|| MatrixError::Package { package: package.to_string(), what: ".deb file".to_string() })?;
    unpack(&deb, members, dir)?;
    fs::remove_file(&deb).map_err(MatrixError::io(&deb))
}

/// `dpkg-deb --fsys-tarfile DEB | tar -x -C DIR MEMBERS...`
fn unpack(deb: &Path, members: &[&str], dir: &Path) -> Result<(), MatrixError> {
    let mut dpkg = Command::new("dpkg-deb");
    dpkg.arg("--fsys-tarfile").arg(deb).stdout(Stdio::piped()).stderr(Stdio::piped());
    let shown = describe(&dpkg);
    let mut dpkg = dpkg.spawn().map_err(|source| MatrixError::Spawn { command: shown.clone(), source })?;
    let tarfile = dpkg.stdout.take().expect("stdout is piped");
    let extracted = run(Command::new("tar").arg("-x").arg("-C").arg(dir).args(members).stdin(tarfile));
    let unpacked = dpkg.wait_with_output().map_err(|source| MatrixError::Spawn { command: shown.clone(), source })?;
    succeeded(shown, unpacked)?;
    extracted.map(drop)
}

fn newest_cached_kernel(series: Series) -> Option<PathBuf> {
    cache::entries_starting_with("linux-image-")
        .into_iter()
        .find(|dir| fs::read_to_string(dir.join(SERIES_FILE)).is_ok_and(|label| label == series.label))
}

fn read_kernel(series: Series, dir: &Path) -> Result<Kernel, MatrixError> {
    let boot = dir.join("boot");
    let package = dir
        .file_name()
        .and_then(|name| name.to_str()?.split('_').next())
        .unwrap_or_default()
        .to_string();
    let missing = |what: &str| MatrixError::Package { package: package.clone(), what: what.to_string() };
    let release = fs::read_dir(&boot)
        .map_err(MatrixError::io(&boot))?
        .filter_map(Result::ok)
        .find_map(|entry| entry.file_name().to_str()?.strip_prefix("vmlinuz-").map(str::to_string))
        .ok_or_else(|| missing("boot/vmlinuz-*"))?;
    let config = boot.join(format!("config-{release}"));
    if !config.is_file() {
        return Err(missing(&format!("boot/config-{release}")));
    }
    let version_file = dir.join(VERSION_FILE);
    let version = fs::read_to_string(&version_file).map_err(MatrixError::io(&version_file))?;
    let test_module = test_module(dir);
    Ok(Kernel { series, package, version, vmlinuz: boot.join(format!("vmlinuz-{release}")), release, config, test_module })
}

/// The test module under `dir`, as `lib/modules/<release>/kernel/.../dummy.ko`.
fn test_module(dir: &Path) -> Option<PathBuf> {
    let modules = dir.join("lib/modules");
    fs::read_dir(modules).ok()?.filter_map(Result::ok).map(|release| release.path().join(TEST_MODULE)).find(|path| path.is_file())
}

/// Unpacks an `xz`-compressed test module in place (busybox's `insmod` takes a plain one).
fn decompress_test_module(dir: &Path) -> Result<(), MatrixError> {
    let modules = dir.join("lib/modules");
    let Ok(releases) = fs::read_dir(&modules) else { return Ok(()) };
    for release in releases.filter_map(Result::ok) {
        let compressed = release.path().join(format!("{TEST_MODULE}.xz"));
        if compressed.is_file() {
            run(Command::new("xz").arg("-d").arg(&compressed))?;
        }
    }
    Ok(())
}

fn write(path: PathBuf, contents: &str) -> Result<(), MatrixError> {
    fs::write(&path, contents).map_err(MatrixError::io(path))
}
