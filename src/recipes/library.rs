//! The built-in recipes, embedded in the binary: a recipe is never ahead of the binary that
//! runs it. Their sources are `recipes/*.bt` at the root of the repository.

/// One built-in recipe: its name, its text and, for the directory form, its other files.
pub struct BuiltIn {
    pub name: &'static str,
    pub text: &'static str,
    pub companions: &'static [(&'static str, &'static str)],
}

/// `recipes/NAME.bt`; or `recipes/NAME/NAME.bt` with the files given beside it.
macro_rules! recipe {
    ($name:literal) => {
        BuiltIn { name: $name, text: include_str!(concat!("../../recipes/", $name, ".bt")), companions: &[] }
    };
    ($name:literal, [$($file:literal),*]) => {
        BuiltIn {
            name: $name,
            text: include_str!(concat!("../../recipes/", $name, "/", $name, ".bt")),
            companions: &[$(($file, include_str!(concat!("../../recipes/", $name, "/", $file)))),*],
        }
    };
}

/// Every built-in recipe, by name.
pub const BUILT_IN: &[BuiltIn] = &[
    recipe!("biolatency"),
    recipe!("biosnoop"),
    recipe!("bitesize", ["README.md", "bitesize-issuer.bt"]),
    recipe!("capable", ["README.md", "capable-kprobe.bt"]),
    recipe!("cpuwalk"),
    recipe!("execsnoop"),
    recipe!("exitsnoop"),
    recipe!("killsnoop"),
    recipe!("mountsnoop"),
    recipe!("offcputime"),
    recipe!("oomkill", ["README.md", "oomkill-pid.bt"]),
    recipe!("opensnoop"),
    recipe!("pagefaults"),
    recipe!("pidpersec"),
    recipe!("profile"),
    recipe!("runqlat"),
    recipe!("runqlen"),
    recipe!("slowsyscalls"),
    recipe!("statsnoop"),
    recipe!("swapin"),
    recipe!("syncsnoop"),
    recipe!("syscount"),
    recipe!("tcpaccept"),
    recipe!("tcpconnect"),
    recipe!("tcpdrop"),
    recipe!("tcplife"),
    recipe!("tcpretrans"),
    recipe!("threadsnoop"),
    recipe!("vfscount", ["README.md", "vfscount-syscalls.bt"]),
    recipe!("vfsstat"),
    recipe!("writeback"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every recipe of `recipes/` is built in with every file of its directory, under the name
    /// its header gives, in name order.
    #[test]
    fn every_recipe_file_is_built_in_under_its_header_name() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes");
        let mut recipes: Vec<(String, Vec<String>)> = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let file = entry.file_name().to_str().unwrap().to_string();
            if entry.path().is_dir() {
                let mut files: Vec<String> = std::fs::read_dir(entry.path()).unwrap().flatten().map(|entry| entry.file_name().to_str().unwrap().to_string()).filter(|name| *name != format!("{file}.bt")).collect();
                files.sort();
                recipes.push((file, files));
            } else if let Some(name) = file.strip_suffix(".bt") {
                recipes.push((name.to_string(), Vec::new()));
            }
        }
        recipes.sort();
        let built_in: Vec<(String, Vec<String>)> = BUILT_IN.iter().map(|recipe| (recipe.name.to_string(), recipe.companions.iter().map(|(file, _)| file.to_string()).collect())).collect();
        assert_eq!(built_in, recipes);
        for recipe in BUILT_IN {
            let header = super::super::header::parse(recipe.text).unwrap_or_else(|error| panic!("{}: {error}", recipe.name)).unwrap_or_else(|| panic!("{} has no header", recipe.name));
            assert_eq!(header.name, recipe.name);
        }
    }
}
