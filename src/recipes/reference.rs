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
variants = ["opensnoop-old.bt"]    # optional, directory form only: see below

[[columns]]                        # what the output's columns mean, in order (optional)
name = "PID"
meaning = "the process that opened the file"
unit = "ms"                        # optional

[[tests]]                          # scenario tests (optional, repeatable): see below
name = "cat's open of /etc/hostname is printed"
command = "cat /etc/hostname"
[[tests.rows]]
COMM = "cat"
PATH = "/etc/hostname"
---*/
```

An unknown key, a missing one, a name or version of the wrong form is an error naming the line.
A recipe whose `ferrotrace` is later than the running ferrotrace is listed as not running here
and is not run. The header is inside a comment, so it cannot hold `*/`.

## The directory form and kernel variants

A bigger recipe is a directory `NAME/` holding `NAME.bt` (with the header) and companion files:
a `README.md`, a `tests.toml` with more `[[tests]]` tables, and variants. A variant is a plain
script (no header: the main file's holds for it) that does the same job on kernels where
`NAME.bt` does not run: it lacks a probe type (no kprobes), a probe, or a tracepoint field. The
header lists them in `variants`; `recipe run` runs the first of `NAME.bt` and its variants, in
that order, that compiles against this kernel and whose probe types this kernel can attach.
`recipe show` says which one that is. `recipe check` holds every variant to the header's columns.

## Tests

A recipe is tested in layers by `recipe test`: the checks of `recipe check` (its header against
its code; it compiles here; as root, it attaches, or is skipped where this kernel lacks a probe);
its `test:` probes, unit tests of its own logic run with `BPF_PROG_TEST_RUN` as `--test` runs
them (a `macro` the probes use, tested with `assert`); then its scenario tests.

Each `[[tests]]` table runs the recipe (as `recipe run`, with this ferrotrace binary) and holds
its output to what the table expects:

| key | what it does |
|---|---|
| `name` | what the test shows, in one line (required) |
| `command` | shell text started once the probes are attached (as `-c`, from a script file, its standard output discarded); the recipe stops when it ends and prints its maps |
| `params` | the recipe's parameters, `{ pid = 1 }`, given as `--pid=1` |
| `format` | `"text"` (the default) or `"json"` (`-f json`) |
| `needs` | programs the command runs; the test is skipped where one is not on `PATH` |
| `requires` | a shell condition the machine must meet (`"test -e /sys/block/vda"`); the test is skipped where it fails |
| `lines` | stop the recipe (SIGINT) once it has printed this many lines |
| `seconds` | stop the recipe (SIGINT) this many seconds after its probes are attached |
| `expect` | regular expressions each of which some line matches |
| `reject` | regular expressions no line matches |
| `[[tests.rows]]` | some row of the table under the line whose words are the header's column names has every column given matching its regular expression whole (a row is split on whitespace into as many fields as there are columns, the last taking the rest) |
| `[[tests.json]]` | some JSON line has every field given (a dotted path, `data.@usecs`) equal to its value; a string is a regular expression the field's text matches whole |

The `Attached N probes` line (JSON's `attached_probes`) is not part of the output the
expectations see. A test fails when ferrotrace exits with an error, when it has not ended 30 s after it started
(or 10 s after SIGINT), or when an expectation does not hold; the failure shows what the recipe
printed. `cargo test` runs every built-in recipe's tests in its kernel tests, on this machine's
kernel and on the kernel matrix's.

## Packs

`recipe pack NAME [-o FILE.ftpack]` compiles the recipe (the variant that runs here) and writes
one JSON file, `NAME.ftpack`, of parts each with the SHA-256 of its JSON text: `kernel` (the
architecture, the release it was packed on, and every kernel fact the compile used: each BTF
member's offset and size, each type's size, each enum constant's value, the member offsets
builtins such as `ppid` read, the addresses `kaddr` took, the ids `cgroupid` took, the PID
namespace, whether the kernel zero-pads `comm`, and the field layout of every tracepoint it
attaches to), `header`, `source` (the script compiled), `manifest` and `program` (the BPF ELF
object, in base64), beside the parameters it was compiled with and the ferrotrace that made it.
A pack is compiled for any process: `recipe pack` takes no `-p`, `-c`, `--test` or `--bench`.

`recipe run FILE.ftpack` compiles nothing. Before any BPF system call it refuses a pack made by
another ferrotrace version and asks each fact again of this kernel (BTF, kallsyms, cgroupfs,
tracefs). A struct member that moved and kept its size is moved with it: the object carries
the standard CO-RE relocations (`.BTF` and `.BTF.ext`, as clang writes them), one for every
instruction holding a member's offset, and each is patched to this kernel's offset, found by
member name (`-v` prints each move). Any other difference refuses the pack, with each
difference as `-` the recorded fact and `+` this kernel's, and the command that compiles the
recipe here: a member that vanished or changed size, a member whose offset is compiled in
where no relocation names it (`offsetof`, a bitfield, an array element at a computed index),
a type's size, an enum's value, a tracepoint's layout:

```
ERROR: pack `where.ftpack` was compiled on 6.18.44 for kernel facts this kernel does not have:
- struct task_struct.pid: offset 2512, 4 bytes
+ struct task_struct.pid: offset 2504, 4 bytes
`ferrotrace recipe pack where` compiles it here
```

Then it checks every part against its hash (a part changed by accident or by hand is refused,
named, with the facts it records that this kernel does not have) and runs the program;
tracepoint ids are looked up again when it attaches. The hashes are in the file itself, so they
are no signature: as root, a pack is run only when no one but root (or the user `sudo` runs
for) can write it or a directory above it, as a recipe. A pack that runs shell commands
(`system`) needs `--unsafe` again.

A pack's `getopt` parameters are set when it runs: `recipe run FILE.ftpack -- --pid=42` (the
programs read them from the config map, which the runtime fills before any probe runs;
`recipe pack` names them, `recipe run FILE.ftpack -- --help` lists them). Those it was packed
with (`recipe pack NAME -- --pid=7`) are its defaults. A string parameter has room for 63 bytes, or for the one it was packed with if that
is longer. Positional parameters, and the options a script needs while compiling (`if
comptime`, a map's size), are compiled in: the pack keeps them and refuses other values, naming
the ones it can set (`recipe pack` says when a script's options are all compiled in). A value set when the pack runs is checked as
its option's kind (an integer in range, a boolean), not against each use: stored in a narrower
variable it is cut, as any value read while the probes run would be.

## Where recipes are found

First match wins; `recipe list` shows which one shadows which:

1. a path: a name ending in `.bt` or holding a `/` is always a file;
2. each directory of `FERROTRACE_RECIPE_PATH` (separated by `:`);
3. the nearest `.ferrotrace/recipes/` walking up from the current directory;
4. the user's `$XDG_CONFIG_HOME/ferrotrace/recipes` (`~/.config/ferrotrace/recipes`; under
   `sudo`, the invoking user's);
5. `/etc/ferrotrace/recipes`, then `/usr/share/ferrotrace/recipes`;
6. the built-in recipes below, embedded in the binary.

In a directory, a recipe is `NAME.bt` or `NAME/NAME.bt` (the directory form). Running as root, a
recipe is refused when its file, one of its companion files, or a directory above them is owned
by another user than root (or the user `sudo` runs for) or can be written by other users than
its owner (a sticky directory such as `/tmp` excepted).

## Commands

| command | what it does |
|---|---|
| `ferrotrace recipe list` | every recipe: where it comes from, whether it compiles against this kernel (and the first reason when not), its summary |
| `ferrotrace recipe search TERM` | the recipes whose name, summary, tags, probes or columns hold TERM, in any case |
| `ferrotrace recipe show NAME` | the header, which of its files runs here or why none does, its probes (each one this kernel refuses says why), its parameters from its `getopt` calls, its columns and tests; `ferrotrace -f json recipe show NAME` gives the same as one JSON object |
| `ferrotrace recipe check [NAME]` | the header against the code (every column listed must be printed: a word of one of its strings, or a map it names) and the kernel (it compiles and, as root, attaches); `PASS`, `SKIP` (a probe this kernel lacks, a newer ferrotrace needed) or `FAIL` with the reason; exit status 0 when all pass or are skipped, 1 when one fails, 2 when the one named is skipped |
| `ferrotrace recipe test [NAME]` | `check`, then, as root, its `test:` probes (as `--test` runs them) and each scenario test: `PASS`, `SKIP` (a program or condition missing) or `FAIL` with the reason and what was printed; exit status as `check`'s |
| `ferrotrace recipe new NAME` | writes `NAME.bt` in the current directory: a header to fill in, a block and a scenario test of it, which pass `test` |
| `ferrotrace recipe run NAME [-- --PARAM=VALUE ...]` | runs it as a script; its parameters are checked before anything is compiled; `-- --help` prints them |
| `ferrotrace recipe pack NAME [-o FILE] [-- --PARAM=VALUE ...]` | compiles it here and writes the pack `NAME.ftpack` (below) |
| `ferrotrace recipe run FILE.ftpack` | runs a pack, with no compiling, where the kernel facts it was compiled for hold |
"#;

/// The whole page.
pub fn markdown() -> String {
    let mut page = String::from(PREAMBLE);
    page.push_str("\n## Built-in recipes\n");
    for recipe in BUILT_IN {
        let (name, text) = (recipe.name, recipe.text);
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
        if !header.variants.is_empty() {
            let _ = writeln!(page, "- variants, where `{name}.bt` does not run: {}", header.variants.iter().map(|file| format!("`{file}`")).collect::<Vec<_>>().join(", "));
        }
        if !header.tests.is_empty() {
            let _ = writeln!(page, "- tests: {}", header.tests.iter().map(|test| test.name.as_str()).collect::<Vec<_>>().join("; "));
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
