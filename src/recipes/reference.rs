//! `docs/recipes.md`: the recipe format, where recipes are found, the commands, then every
//! built-in recipe from its header and its code (probes as written, `getopt` parameters), so
//! the page cannot drift from the library. A test compares the page with this.

use std::fmt::Write;

use ferrotrace_compiler::options::Params;
use ferrotrace_compiler::sema::script_options;
use ferrotrace_compiler::syntax;

use super::header;
use super::library::BUILT_IN;

const PREAMBLE: &str = r#"# Recipes

Generated from the built-in recipes (`recipes/*.bt`) by `src/recipes/reference.rs`; do not edit
by hand. A test compares this page with the library:
`FERROTRACE_UPDATE_DOCS=1 cargo test --bin ferrotrace recipes` writes it again.

A recipe is a ready probe: one `.bt` file that runs as a plain script (`ferrotrace FILE`) and
also carries, in a comment, what its code cannot say. Its parameters are its `getopt` calls,
with their descriptions; its probes, maps and the kernel features it needs come from compiling
it and are never restated.

## The header

TOML between a line `/*---` and a line `---*/`, anywhere before the code (after the `#!` line):

```
#!/usr/bin/env ferrotrace
/*---
name = "opensnoop"                 # lowercase letters, digits, `-`, `_`
summary = "Files opened ..."        # one line
version = "1.0.0"                  # the recipe's own version
ferrotrace = "0.1.0"               # the oldest ferrotrace that runs it (optional)
license = "Apache-2.0"
authors = ["..."]                  # optional
tags = ["files", "syscalls"]       # optional
overhead = "low: two events per open"   # optional, in words

[[columns]]                        # what the output's columns mean, in order (optional)
name = "PID"
meaning = "the process that opened the file"
unit = "ms"                        # optional
---*/
```

An unknown key, a missing one, a name or version of the wrong form is an error naming the line.
A recipe whose `ferrotrace` is later than the running ferrotrace is listed as not running here
and is not run.

## Where recipes are found

First match wins; `recipe list` shows which one shadows which:

1. a path: a name ending in `.bt` or holding a `/` is always a file;
2. each directory of `FERROTRACE_RECIPE_PATH` (separated by `:`);
3. the nearest `.ferrotrace/recipes/` walking up from the current directory;
4. the user's `$XDG_CONFIG_HOME/ferrotrace/recipes` (`~/.config/ferrotrace/recipes`; under
   `sudo`, the invoking user's);
5. `/etc/ferrotrace/recipes`, then `/usr/share/ferrotrace/recipes`;
6. the built-in recipes below, embedded in the binary.

In a directory, a recipe is `NAME.bt` or `NAME/NAME.bt`. Running as root, a recipe file or a
directory holding it that users other than its owner can write is refused.

## Commands

| command | what it does |
|---|---|
| `ferrotrace recipe list` | every recipe: where it comes from, whether it compiles against this kernel (and the first reason when not), its summary |
| `ferrotrace recipe search TERM` | the recipes whose name, summary, tags, probes or columns hold TERM, in any case |
| `ferrotrace recipe show NAME` | the header, whether it runs here, its probes and parameters from compiling it, its columns |
| `ferrotrace recipe check [NAME]` | the header against the code (every column listed must be printed: a word of one of its strings, or a map it names) and the kernel (it compiles and, as root, attaches); `PASS`, `SKIP` (a probe this kernel lacks, a newer ferrotrace needed) or `FAIL` with the reason; exit status 0 when all pass or are skipped, 1 when one fails, 2 when the one named is skipped |
| `ferrotrace recipe new NAME` | writes `NAME.bt` in the current directory: a header to fill in and a block that passes `check` |
| `ferrotrace recipe run NAME [-- --PARAM=VALUE ...]` | runs it as a script; its parameters are checked before anything is compiled; `-- --help` prints them |
"#;

/// The whole page.
pub fn markdown() -> String {
    let mut page = String::from(PREAMBLE);
    page.push_str("\n## Built-in recipes\n");
    for (name, text) in BUILT_IN {
        let Ok(Some(header)) = header::parse(text) else {
            let _ = write!(page, "\n### {name}\n\n(its header does not parse)\n");
            continue;
        };
        let _ = write!(page, "\n### {}\n\n{}.\n\n", header.name, header.summary.trim_end_matches('.'));
        let _ = writeln!(page, "- version {}, {}", header.version, header.license);
        if !header.tags.is_empty() {
            let _ = writeln!(page, "- tags: {}", header.tags.join(", "));
        }
        if let Some(overhead) = &header.overhead {
            let _ = writeln!(page, "- overhead: {overhead}");
        }
        if let Ok(program) = syntax::parse(text) {
            let probes: Vec<String> = program.probes.iter().flat_map(|probe| &probe.attach_points).map(|point| format!("`{}`", point.raw)).collect();
            let _ = writeln!(page, "- probes: {}", probes.join(", "));
            for option in script_options(&program, &Params::default()).unwrap_or_default() {
                let _ = writeln!(page, "- parameter `--{}`: {} (default: {})", option.name, option.doc.as_deref().unwrap_or("no description"), option.default);
            }
        }
        if !header.columns.is_empty() {
            page.push_str("\n| column | meaning | unit |\n|---|---|---|\n");
            for column in &header.columns {
                let _ = writeln!(page, "| `{}` | {} | {} |", column.name, column.meaning, column.unit.as_deref().unwrap_or(""));
            }
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn recipes_md_is_the_library() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/recipes.md");
        let generated = super::markdown();
        if std::env::var_os("FERROTRACE_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &generated).expect("cannot write docs/recipes.md");
            return;
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(written == generated, "docs/recipes.md differs from the library; run `FERROTRACE_UPDATE_DOCS=1 cargo test --bin ferrotrace recipes`");
    }
}
