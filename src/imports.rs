//! Finding what a script's `import "path";` names: relative to the importing file's directory
//! (the current directory for `-e` and standard input), then each `-I` directory in order. A
//! directory imports every `.bt` file in it, by name; an existing path of another kind is
//! refused. As bpftrace does, ferrotrace will not read imports that others can write.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ferrotrace_compiler::sources::Loader;

/// Reads imports from the file system.
pub struct FileLoader {
    /// `-I` directories, searched after the importing file's own.
    pub search: Vec<PathBuf>,
}

impl Loader for FileLoader {
    fn load(&self, importer: &str, path: &str) -> Result<Vec<(String, String)>, String> {
        let own = Path::new(importer).parent().filter(|dir| !dir.as_os_str().is_empty() && Path::new(importer).exists());
        let dirs: Vec<PathBuf> = own.map(Path::to_path_buf).into_iter().chain(self.search.iter().cloned()).collect();
        let dirs = if dirs.is_empty() || own.is_none() { [vec![PathBuf::from(".")], dirs].concat() } else { dirs };
        let found = dirs.iter().map(|dir| dir.join(path)).find(|candidate| candidate.exists());
        let Some(found) = found else {
            let checked: Vec<String> = dirs.iter().map(|dir| dir.join(path).display().to_string()).collect();
            return Err(format!("not found (checked {})", checked.join(", ")));
        };
        refuse_writable_by_others(&found)?;
        if found.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(&found)
                .map_err(|error| format!("cannot list `{}`: {error}", found.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.extension().is_some_and(|e| e == "bt"))
                .collect();
            files.sort();
            return files.iter().map(|file| read(file)).collect();
        }
        match found.extension().and_then(|e| e.to_str()) {
            Some("bt") => Ok(vec![read(&found)?]),
            _ => Err(format!("`{}` is not a script: ferrotrace imports `.bt` files and directories of them", found.display())),
        }
    }
}

fn read(path: &Path) -> Result<(String, String), String> {
    let text = fs::read_to_string(path).map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    Ok((path.display().to_string(), text))
}

/// An import that anyone may rewrite would run their code as root.
fn refuse_writable_by_others(path: &Path) -> Result<(), String> {
    for checked in [Some(path), path.parent()].into_iter().flatten() {
        let Ok(meta) = fs::metadata(checked) else { continue };
        if meta.permissions().mode() & 0o002 != 0 && !(meta.is_dir() && meta.permissions().mode() & 0o1000 != 0 && checked != path) {
            return Err(format!("`{}` can be written by anyone; refusing to import from it", checked.display()));
        }
    }
    Ok(())
}
