//! Recipes: ready probes people find, run and share. A recipe is one `.bt` file that still runs
//! as a plain script, with a header in a comment (`header`) for what the code cannot say; its
//! parameters are its `getopt` calls and its probes what it compiles to. `discovery` finds
//! them, `library` holds the built-in ones.
//!
//! `ferrotrace recipe list | search TERM | show NAME | check [NAME] | test [NAME] |
//! new NAME | run NAME|FILE.ftpack [-- PARAMETERS] | pack NAME [-- PARAMETERS]`.

mod check;
mod discovery;
mod header;
mod library;
pub mod pack;
/// `docs/recipes.md`, written and checked by its test alone.
#[cfg(test)]
mod reference;
mod scenario;
mod show;
mod testing;
mod variants;

use std::io::{self, Write};

use anyhow::{bail, Result};
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::options::{CompileOptions, Params};

pub use discovery::Found;

/// The word that, where a script file goes, starts a recipe command. A path (ending in `.bt`,
/// or holding a `/`) is always a script file.
pub const COMMAND: &str = "recipe";

/// A recipe to run as a script: its text, the name diagnostics call it by, its parameters,
/// and what a pack keeps of it: its name and its header.
pub struct Run {
    pub text: String,
    pub name: String,
    pub params: Params,
    pub recipe: String,
    pub header: Option<String>,
}

/// `recipe run NAME [PARAMETERS]` (or `recipe pack ...`): the recipe found, its parameters the
/// words after its name. Of a recipe with variants, the first file that `runs` says runs here.
pub fn to_run(args: &[String], runs: &dyn Fn(&str) -> bool) -> Result<Run> {
    let command = args.first().map_or("run", String::as_str);
    let Some(name) = args.get(1) else { bail!("`ferrotrace recipe {command}` takes a recipe's name (`ferrotrace recipe list` lists them)") };
    let found = discovery::find(name).map_err(anyhow::Error::msg)?;
    let params = Params::from_args(&args[2..]);
    match header::parse(&found.text) {
        Err(error) => bail!("recipe `{}` has a bad header: {error}", found.name),
        Ok(Some(header)) => {
            if let Some(needed) = too_new(&header) {
                bail!("recipe `{}` needs ferrotrace {needed} or later; this is {}", found.name, env!("CARGO_PKG_VERSION"));
            }
            let chosen = variants::choose(&found, &header, runs).map_err(|why| anyhow::anyhow!("recipe `{}`: {why}", found.name))?;
            let name = match chosen.file {
                Some(file) => format!("{} ({file})", display_name(&found)),
                None => display_name(&found),
            };
            Ok(Run { name, text: chosen.text.to_string(), params, recipe: found.name.clone(), header: header::block(&found.text) })
        }
        Ok(None) => Ok(Run { name: display_name(&found), recipe: found.name.clone(), text: found.text, params, header: None }),
    }
}

/// Whether this kernel has what a recipe's file needs, as `recipe run` decides between variants
/// (a file with a mistake of its own is run, to report it).
pub fn has_what_it_needs(text: &str, catalog: &dyn Catalog, options: &CompileOptions) -> bool {
    !matches!(variants::here(text, catalog, options), variants::Here::Missing(_))
}

/// The ferrotrace version a recipe needs, when it is later than this one.
fn too_new(header: &header::Header) -> Option<&str> {
    let needed = header.ferrotrace.as_deref()?;
    let this = header::parse_version(env!("CARGO_PKG_VERSION"))?;
    (header::parse_version(needed)? > this).then_some(needed)
}

/// The first of a compile's diagnostics as one line: `E0204: unknown tracepoint ...`.
fn first_problem(diagnostics: &[ferrotrace_compiler::diagnostic::Diagnostic]) -> String {
    diagnostics.first().map(|d| format!("{}: {}", d.code, d.message)).unwrap_or_default()
}

/// What diagnostics call a recipe: its file, or `NAME.bt` for a built-in.
fn display_name(found: &Found) -> String {
    match &found.path {
        Some(path) => path.display().to_string(),
        None => format!("{}.bt", found.name),
    }
}

/// Runs a recipe command other than `run`; `catalog` gives the kernel's facts (as root), asked
/// only once the command is known; `json` (`-f json`) asks `show` for JSON.
pub fn command<C: Catalog>(args: &[String], options: &CompileOptions, json: bool, catalog: impl FnOnce() -> Result<C>) -> Result<u8> {
    let mut out = io::stdout().lock();
    match args.first().map(String::as_str) {
        Some("list") | None => list(&catalog()?, options, &mut out),
        Some("show") => match args.get(1) {
            Some(name) => show::run(name, json, &catalog()?, options, &mut out),
            None => bail!("`ferrotrace recipe show` takes a recipe's name"),
        },
        Some("search") => match args.get(1) {
            Some(term) => search(term, &mut out),
            None => bail!("`ferrotrace recipe search` takes a word to look for"),
        },
        Some("check") => check::run(args.get(1).map(String::as_str), &catalog()?, options, &mut out),
        Some("test") => testing::run(args.get(1).map(String::as_str), &catalog()?, options, &mut out),
        Some("new") => match args.get(1) {
            Some(name) => new(name, &mut out),
            None => bail!("`ferrotrace recipe new` takes the new recipe's name"),
        },
        Some(other) => bail!("unknown recipe command `{other}`: use `list`, `search TERM`, `show NAME`, `check [NAME]`, `test [NAME]`, `new NAME`, `run NAME [-- PARAMETERS]` or `pack NAME [-- PARAMETERS]`"),
    }
}

/// Whether a recipe runs here (one of its files compiles against this kernel, which can
/// attach its probes, and this ferrotrace is new enough): `Ok` or why not.
fn recipe_runs_here(found: &Found, catalog: &dyn Catalog, options: &CompileOptions) -> Result<(), String> {
    let header = header::parse(&found.text).ok().flatten();
    if let Some(needed) = header.as_ref().and_then(too_new) {
        return Err(format!("needs ferrotrace {needed} or later"));
    }
    match variants::here_of(found, header.as_ref(), catalog, options).1 {
        variants::Here::Runs(_) => Ok(()),
        variants::Here::Missing(why) | variants::Here::Broken(why) => Err(why),
    }
}

/// `recipe list`: every recipe, whether it runs here and why not, where it comes from; a
/// recipe a nearer place shadows is listed under the one that is used.
fn list(catalog: &dyn Catalog, options: &CompileOptions, out: &mut dyn Write) -> Result<u8> {
    let all = discovery::all();
    let width = all.iter().map(|found| found.name.len()).max().unwrap_or(4).max(4);
    let from = all.iter().map(|found| found.origin.describe().len()).max().unwrap_or(4).max(4);
    writeln!(out, "{:<width$}  {:<from$}  {:<4}  SUMMARY", "NAME", "FROM", "RUNS")?;
    let mut seen: Vec<&str> = Vec::new();
    for found in &all {
        if seen.contains(&found.name.as_str()) {
            continue;
        }
        seen.push(&found.name);
        let summary = match header::parse(&found.text) {
            Ok(Some(header)) => header.summary,
            Ok(None) => "(no header)".to_string(),
            Err(error) => format!("(bad header: {error})"),
        };
        let (runs, why) = match recipe_runs_here(found, catalog, options) {
            Ok(()) => ("yes", String::new()),
            Err(why) => ("no", format!("\n{:width$}  not here: {why}", "")),
        };
        writeln!(out, "{:<width$}  {:<from$}  {runs:<4}  {summary}{why}", found.name, found.origin.describe())?;
        for shadowed in all.iter().filter(|other| other.name == found.name && !std::ptr::eq(*other, found)) {
            writeln!(out, "{:width$}  shadows the {} recipe{}", "", shadowed.origin.describe(), shadowed.path.as_ref().map(|path| format!(" at {}", path.display())).unwrap_or_default())?;
        }
    }
    Ok(0)
}

/// `recipe search TERM`: the recipes whose name, summary, tags, probes or columns hold TERM
/// (in any case), the first of each name.
fn search(term: &str, out: &mut dyn Write) -> Result<u8> {
    let term = term.to_lowercase();
    let mut seen: Vec<String> = Vec::new();
    for found in discovery::all() {
        if seen.contains(&found.name) {
            continue;
        }
        seen.push(found.name.clone());
        let Ok(Some(header)) = header::parse(&found.text) else { continue };
        let probes = ferrotrace_compiler::syntax::parse(&found.text)
            .map(|program| program.probes.iter().flat_map(|probe| &probe.attach_points).map(|point| point.raw.clone()).collect::<Vec<_>>())
            .unwrap_or_default();
        let columns = header.columns.iter().flat_map(|column| [column.name.clone(), column.meaning.clone()]);
        let haystack: Vec<String> = [header.name.clone(), header.summary.clone()].into_iter().chain(header.tags.iter().cloned()).chain(probes).chain(columns).collect();
        if haystack.iter().any(|text| text.to_lowercase().contains(&term)) {
            writeln!(out, "{:<12} {}", found.name, header.summary)?;
        }
    }
    Ok(0)
}

/// `recipe new NAME`: `NAME.bt` in the current directory, a header to fill in, a block and a
/// scenario test of it.
fn new(name: &str, out: &mut dyn Write) -> Result<u8> {
    let path = std::path::PathBuf::from(format!("{name}.bt"));
    let text = format!(
        "#!/usr/bin/env ferrotrace\n{}\nname = \"{name}\"\nsummary = \"What it shows, in one line\"\nversion = \"0.1.0\"\nferrotrace = \"{}\"\nlicense = \"Apache-2.0\"\nauthors = []\ntags = []\noverhead = \"low\"\n\n[[columns]]\nname = \"COUNT\"\nmeaning = \"what the column holds\"\n\n[[tests]]\nname = \"it prints its header\"\nlines = 1\nexpect = ['^COUNT$']\n{}\nbegin {{\n    printf(\"%s\\n\", \"COUNT\");\n}}\n",
        header::OPEN,
        env!("CARGO_PKG_VERSION"),
        header::CLOSE
    );
    if let Err(error) = header::parse(&text) {
        bail!("`{name}` cannot be a recipe's name: {}", error.message);
    }
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(file) => file,
        Err(error) => bail!("cannot create `{}`: {error}", path.display()),
    };
    file.write_all(text.as_bytes())?;
    writeln!(out, "wrote {}; `ferrotrace recipe test {}` checks and tests it", path.display(), path.display())?;
    Ok(0)
}
