//! The guest's root file system, written as a `newc` cpio archive the kernel unpacks into its
//! rootfs: files copied from the host (executables with the shared libraries `ldd` lists, at
//! the same paths), files made from bytes, and every parent directory they need.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cpio::newc::{self, ModeFileType};

use crate::tools::{describe, succeeded};
use crate::MatrixError;

/// An initramfs being assembled; nothing is read from the host until [`Initramfs::write`].
#[derive(Debug, Default)]
pub struct Initramfs {
    /// By absolute guest path. Sorted, so a directory is always written before what it holds.
    nodes: BTreeMap<String, Node>,
}

#[derive(Debug)]
enum Node {
    Directory,
    HostFile { path: PathBuf, mode: u32 },
    Bytes { contents: Vec<u8>, mode: u32 },
}

impl Initramfs {
    pub fn new() -> Initramfs {
        Initramfs::default()
    }

    /// An empty directory at `guest` (its parents too).
    pub fn dir(&mut self, guest: &str) -> &mut Initramfs {
        self.insert(guest, Node::Directory)
    }

    /// `contents` as a file at `guest` with permission bits `mode`.
    pub fn bytes(&mut self, guest: &str, contents: impl Into<Vec<u8>>, mode: u32) -> &mut Initramfs {
        self.insert(guest, Node::Bytes { contents: contents.into(), mode })
    }

    /// The host file `host` (symlinks followed) at `guest`, with its permission bits.
    pub fn file(&mut self, guest: &str, host: &Path) -> Result<&mut Initramfs, MatrixError> {
        let meta = fs::metadata(host).map_err(MatrixError::io(host))?;
        Ok(self.insert(guest, Node::HostFile { path: host.to_path_buf(), mode: meta.permissions().mode() & 0o7777 }))
    }

    /// The executable `host` at `guest`, and every shared library it loads at the path the host
    /// loads it from.
    pub fn executable(&mut self, guest: &str, host: &Path) -> Result<&mut Initramfs, MatrixError> {
        self.file(guest, host)?;
        for library in shared_libraries(host)? {
            let guest_path = library.to_string_lossy().into_owned();
            self.file(&guest_path, &library)?;
        }
        Ok(self)
    }

    /// The host directory `host`, with everything in it, at `guest`.
    pub fn tree(&mut self, guest: &str, host: &Path) -> Result<&mut Initramfs, MatrixError> {
        self.dir(guest);
        for entry in fs::read_dir(host).map_err(MatrixError::io(host))? {
            let entry = entry.map_err(MatrixError::io(host))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = format!("{}/{name}", guest.trim_end_matches('/'));
            if entry.file_type().map_err(MatrixError::io(entry.path()))?.is_dir() {
                self.tree(&child, &entry.path())?;
            } else {
                self.file(&child, &entry.path())?;
            }
        }
        Ok(self)
    }

    /// Writes the archive to `path`.
    pub fn write(&self, path: &Path) -> Result<(), MatrixError> {
        let file = File::create(path).map_err(MatrixError::io(path))?;
        self.write_to(BufWriter::new(file)).map_err(MatrixError::io(path))
    }

    fn write_to<W: Write>(&self, mut out: W) -> io::Result<()> {
        for (inode, (guest, node)) in self.nodes.iter().enumerate() {
            let name = guest.trim_start_matches('/');
            let header = newc::Builder::new(name).ino(inode as u32 + 1);
            out = match node {
                Node::Directory => entry(header.mode(0o755).set_mode_file_type(ModeFileType::Directory), &[], out)?,
                Node::Bytes { contents, mode } => {
                    entry(header.mode(*mode).set_mode_file_type(ModeFileType::Regular), contents, out)?
                }
                Node::HostFile { path, mode } => {
                    let contents = fs::read(path)?;
                    entry(header.mode(*mode).set_mode_file_type(ModeFileType::Regular), &contents, out)?
                }
            };
        }
        newc::trailer(out)?.flush()
    }

    fn insert(&mut self, guest: &str, node: Node) -> &mut Initramfs {
        let guest = normalize(guest);
        let mut parent = Path::new(&guest).parent();
        while let Some(dir) = parent.filter(|dir| *dir != Path::new("/")) {
            self.nodes.entry(dir.to_string_lossy().into_owned()).or_insert(Node::Directory);
            parent = dir.parent();
        }
        self.nodes.insert(guest, node);
        self
    }
}

/// `guest` as an absolute path without a trailing slash.
fn normalize(guest: &str) -> String {
    format!("/{}", guest.trim_matches('/'))
}

fn entry<W: Write>(header: newc::Builder, contents: &[u8], out: W) -> io::Result<W> {
    let size = u32::try_from(contents.len()).map_err(|_| io::Error::other("a file over 4 GiB"))?;
    let mut writer = header.write(out, size);
    writer.write_all(contents)?;
    writer.finish()
}

/// The shared libraries (the dynamic loader included) `ldd` says `executable` loads, as the
/// paths the host resolves them to. None for a static executable.
fn shared_libraries(executable: &Path) -> Result<Vec<PathBuf>, MatrixError> {
    let mut ldd = Command::new("ldd");
    ldd.arg(executable);
    let output = ldd.output().map_err(|source| MatrixError::Spawn { command: describe(&ldd), source })?;
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if said.contains("not a dynamic executable") || said.contains("statically linked") {
        return Ok(Vec::new());
    }
    let output = succeeded(describe(&ldd), output)?;
    let listing = String::from_utf8_lossy(&output.stdout);
    if let Some(line) = listing.lines().find(|line| line.contains("=> not found")) {
        let library = line.split("=>").next().unwrap_or_default().trim().to_string();
        return Err(MatrixError::MissingLibrary { executable: executable.to_path_buf(), library });
    }
    Ok(parse_ldd(&listing))
}

/// The absolute paths in `ldd` output: `name => /path (0x...)` and `/path (0x...)` lines. The
/// vDSO has no path and is skipped.
fn parse_ldd(listing: &str) -> Vec<PathBuf> {
    listing
        .lines()
        .filter_map(|line| {
            let resolved = line.split_once("=>").map_or(line, |(_, right)| right).trim();
            let path = resolved.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_lines_give_the_loaded_paths_and_skip_the_vdso() {
        let listing = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                       \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f12)\n\
                       \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f34)\n\
                       \t/lib64/ld-linux-x86-64.so.2 (0x00007f56)\n";
        assert_eq!(
            parse_ldd(listing),
            ["/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
                .map(PathBuf::from)
        );
    }

    #[test]
    fn archive_lists_parents_before_children_and_ends_with_the_trailer() {
        let mut initramfs = Initramfs::new();
        initramfs.bytes("/etc/hostname", "matrix\n", 0o644).bytes("/bin/hello", "#!/bin/sh\n", 0o755).dir("tmp");
        let mut archive = Vec::new();
        initramfs.write_to(&mut archive).unwrap();
        let mut names = Vec::new();
        let mut rest = archive.as_slice();
        loop {
            let reader = newc::Reader::new(rest).unwrap();
            if reader.entry().is_trailer() {
                break;
            }
            names.push((reader.entry().name().to_string(), reader.entry().mode() & 0o170000, reader.entry().file_size()));
            rest = reader.finish().unwrap();
        }
        assert_eq!(
            names,
            [
                ("bin".to_string(), 0o040000, 0),
                ("bin/hello".to_string(), 0o100000, 10),
                ("etc".to_string(), 0o040000, 0),
                ("etc/hostname".to_string(), 0o100000, 7),
                ("tmp".to_string(), 0o040000, 0),
            ]
        );
    }
}
