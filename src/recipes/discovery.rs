//! Where recipes are found, first match wins: an explicit path; the directories of
//! `FERROTRACE_RECIPE_PATH`; the nearest `.ferrotrace/recipes/` walking up from the current
//! directory; the user's `ferrotrace/recipes` config directory (the invoking user's under
//! `sudo`); the system directories; and the built-ins embedded in the binary. A recipe is
//! `NAME.bt` or `NAME/NAME.bt` in a directory, the
//! latter with companion files (variants, `tests.toml`, `README.md`). Running as root, a recipe file or directory that
//! others can write is refused.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::library::BUILT_IN;

/// Where a recipe was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Given by its path.
    Path,
    /// A directory of `FERROTRACE_RECIPE_PATH`.
    RecipePath,
    /// The project's `.ferrotrace/recipes/`.
    Project,
    /// The user's config directory.
    User,
    /// A system directory.
    System,
    /// Embedded in the binary.
    BuiltIn,
}

impl Origin {
    pub fn describe(&self) -> &'static str {
        match self {
            Origin::Path => "path",
            Origin::RecipePath => "FERROTRACE_RECIPE_PATH",
            Origin::Project => "project",
            Origin::User => "user",
            Origin::System => "system",
            Origin::BuiltIn => "built-in",
        }
    }
}

/// One recipe found: its name, where it came from, its file (none for a built-in) and text.
#[derive(Debug, Clone)]
pub struct Found {
    pub name: String,
    pub origin: Origin,
    pub path: Option<PathBuf>,
    pub text: String,
    /// The other files of a directory recipe (its variants, `tests.toml`, `README.md`), by
    /// file name, in name order.
    pub companions: Vec<(String, String)>,
}

impl Found {
    /// The text of the companion file `file`.
    pub fn companion(&self, file: &str) -> Option<&str> {
        self.companions.iter().find(|(name, _)| name == file).map(|(_, text)| text.as_str())
    }
}

/// The other files beside a recipe's file when it is the directory form (`NAME/NAME.bt`).
fn companions_of(file: &Path, name: &str) -> Vec<(String, String)> {
    let Some(dir) = file.parent().filter(|dir| dir.file_name().is_some_and(|dir| dir == name)) else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut companions: Vec<(String, String)> = entries
        .flatten()
        .filter(|entry| entry.path() != file && entry.path().is_file())
        .filter_map(|entry| Some((entry.file_name().to_str()?.to_string(), std::fs::read_to_string(entry.path()).ok()?)))
        .collect();
    companions.sort();
    companions
}

/// The system's recipe directories.
const SYSTEM_DIRS: [&str; 2] = ["/etc/ferrotrace/recipes", "/usr/share/ferrotrace/recipes"];

/// The directories searched, in order, each with its origin.
pub fn directories() -> Vec<(Origin, PathBuf)> {
    let mut dirs = Vec::new();
    if let Some(path) = std::env::var_os("FERROTRACE_RECIPE_PATH") {
        dirs.extend(std::env::split_paths(&path).filter(|dir| !dir.as_os_str().is_empty()).map(|dir| (Origin::RecipePath, dir)));
    }
    if let Some(project) = std::env::current_dir().ok().and_then(|cwd| cwd.ancestors().map(|dir| dir.join(".ferrotrace/recipes")).find(|dir| dir.is_dir())) {
        dirs.push((Origin::Project, project));
    }
    if let Some(config) = user_config_dir() {
        dirs.push((Origin::User, config.join("ferrotrace/recipes")));
    }
    dirs.extend(SYSTEM_DIRS.iter().map(|dir| (Origin::System, PathBuf::from(dir))));
    dirs
}

/// `$XDG_CONFIG_HOME`, or `~/.config`; under `sudo`, the invoking user's `~/.config`.
fn user_config_dir() -> Option<PathBuf> {
    if let Some(user) = std::env::var("SUDO_USER").ok().filter(|user| !user.is_empty() && user != "root") {
        return home_of(&user).map(|home| home.join(".config"));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()).map(PathBuf::from);
    config.or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
}

/// A user's home directory, from `/etc/passwd`.
fn home_of(user: &str) -> Option<PathBuf> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().map(|line| line.split(':').collect::<Vec<_>>()).find(|fields| fields.first() == Some(&user)).and_then(|fields| fields.get(5).map(PathBuf::from))
}

/// Every recipe of every place, in search order: a name found twice is found first where it
/// is used, the later ones shadowed.
pub fn all() -> Vec<Found> {
    let mut found = Vec::new();
    for (origin, dir) in directories() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<(String, PathBuf)> = entries.flatten().filter_map(|entry| recipe_in(&entry.path())).collect();
        names.sort();
        for (name, path) in names {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let companions = companions_of(&path, &name);
                found.push(Found { name, origin: origin.clone(), path: Some(path), text, companions });
            }
        }
    }
    found.extend(BUILT_IN.iter().map(|recipe| Found {
        name: recipe.name.to_string(),
        origin: Origin::BuiltIn,
        path: None,
        text: recipe.text.to_string(),
        companions: recipe.companions.iter().map(|(file, text)| (file.to_string(), text.to_string())).collect(),
    }));
    found
}

/// The recipe a directory entry is: `NAME.bt`, or a directory `NAME` holding `NAME.bt`.
fn recipe_in(path: &Path) -> Option<(String, PathBuf)> {
    if path.is_dir() {
        let name = path.file_name()?.to_str()?.to_string();
        let file = path.join(format!("{name}.bt"));
        return file.is_file().then_some((name, file));
    }
    let name = path.file_name()?.to_str()?.strip_suffix(".bt")?.to_string();
    Some((name, path.to_path_buf()))
}

/// The recipe named `name` (first match), or the file at `name` when it is a path (ends in
/// `.bt` or holds a `/`).
pub fn find(name: &str) -> Result<Found, String> {
    if name.ends_with(".bt") || name.contains('/') {
        let text = std::fs::read_to_string(name).map_err(|error| format!("cannot read recipe `{name}`: {error}"))?;
        let stem = Path::new(name).file_stem().and_then(|stem| stem.to_str()).unwrap_or(name).to_string();
        let companions = companions_of(Path::new(name), &stem);
        let found = Found { name: stem, origin: Origin::Path, path: Some(PathBuf::from(name)), text, companions };
        return refuse_if_others_can_write(found);
    }
    let recipes = all();
    match recipes.into_iter().find(|recipe| recipe.name == name) {
        Some(found) => refuse_if_others_can_write(found),
        None => Err(format!("no recipe `{name}`; `ferrotrace recipe list` lists them")),
    }
}

/// As root, a recipe that another user could have written is not run: its file, each of its
/// companion files, and every directory above them.
fn refuse_if_others_can_write(found: Found) -> Result<Found, String> {
    let Some(path) = found.path.as_ref() else { return Ok(found) };
    let dir = path.parent().filter(|_| !found.companions.is_empty());
    let files = std::iter::once(path.clone()).chain(found.companions.iter().filter_map(|(file, _)| Some(dir?.join(file))));
    for file in files {
        if let Err(why) = trusted(&file) {
            return Err(format!("refusing recipe `{}`: {why}; as root only recipes that only root (or the user sudo runs for) can change are run", found.name));
        }
    }
    Ok(found)
}

/// As root, whether the file at `path` can be trusted: it and every directory above it are
/// owned by root (or by the user `sudo` runs ferrotrace for) and writable by no one else, a
/// sticky directory such as `/tmp` excepted. `Err` names the first place that is not.
pub fn trusted(path: &Path) -> Result<(), String> {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let sudo_uid = std::env::var("SUDO_UID").ok().and_then(|uid| uid.parse::<u32>().ok());
    let real = std::fs::canonicalize(path).map_err(|error| format!("cannot resolve `{}`: {error}", path.display()))?;
    for place in real.ancestors() {
        let metadata = std::fs::metadata(place).map_err(|error| format!("cannot read `{}`: {error}", place.display()))?;
        if metadata.uid() != 0 && Some(metadata.uid()) != sudo_uid {
            return Err(format!("`{}` is owned by uid {}, not by root", place.display(), metadata.uid()));
        }
        let sticky_dir = metadata.is_dir() && metadata.mode() & 0o1000 != 0;
        if metadata.mode() & 0o022 != 0 && !sticky_dir {
            return Err(format!("`{}` can be written by other users than its owner (mode {:o})", place.display(), metadata.mode() & 0o7777));
        }
    }
    Ok(())
}

/// Every recipe found, each name once as found first, each checked as `find` checks it: the
/// ones refused, with why.
pub fn every_first() -> Vec<Result<Found, (String, String)>> {
    let mut seen = std::collections::BTreeSet::new();
    all().into_iter().filter(|found| seen.insert(found.name.clone())).map(|found| {
        let name = found.name.clone();
        refuse_if_others_can_write(found).map_err(|why| (name, why))
    }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipe_is_a_bt_file_or_a_directory_of_its_name() {
        let dir = std::env::temp_dir().join(format!("ferrotrace-recipes-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("big")).unwrap();
        std::fs::write(dir.join("small.bt"), "begin { }").unwrap();
        std::fs::write(dir.join("big/big.bt"), "begin { }").unwrap();
        std::fs::write(dir.join("big/tests.toml"), "").unwrap();
        std::fs::write(dir.join("notes.txt"), "").unwrap();
        assert_eq!(recipe_in(&dir.join("small.bt")), Some(("small".to_string(), dir.join("small.bt"))));
        assert_eq!(recipe_in(&dir.join("big")), Some(("big".to_string(), dir.join("big/big.bt"))));
        assert_eq!(recipe_in(&dir.join("notes.txt")), None);
        let companions: Vec<String> = companions_of(&dir.join("big/big.bt"), "big").into_iter().map(|(file, _)| file).collect();
        assert_eq!(companions, ["tests.toml"]);
        assert!(companions_of(&dir.join("small.bt"), "small").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
