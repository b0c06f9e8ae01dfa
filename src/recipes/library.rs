//! The built-in recipes, embedded in the binary: a recipe is never ahead of the binary that
//! runs it. Their sources are `recipes/*.bt` at the root of the repository.

/// Each built-in recipe's name and text, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("execsnoop", include_str!("../../recipes/execsnoop.bt")),
    ("exitsnoop", include_str!("../../recipes/exitsnoop.bt")),
    ("killsnoop", include_str!("../../recipes/killsnoop.bt")),
    ("opensnoop", include_str!("../../recipes/opensnoop.bt")),
    ("pidpersec", include_str!("../../recipes/pidpersec.bt")),
    ("runqlat", include_str!("../../recipes/runqlat.bt")),
    ("syscount", include_str!("../../recipes/syscount.bt")),
    ("tcpretrans", include_str!("../../recipes/tcpretrans.bt")),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of `recipes/` is built in, under the name its header gives, in name order.
    #[test]
    fn every_recipe_file_is_built_in_under_its_header_name() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes");
        let mut files: Vec<String> = std::fs::read_dir(dir).unwrap().flatten().filter_map(|entry| entry.file_name().to_str()?.strip_suffix(".bt").map(str::to_string)).collect();
        files.sort();
        let names: Vec<&str> = BUILT_IN.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, files);
        for (name, text) in BUILT_IN {
            let header = super::super::header::parse(text).unwrap_or_else(|error| panic!("{name}: {error}")).unwrap_or_else(|| panic!("{name} has no header"));
            assert_eq!(header.name, *name);
        }
    }
}
