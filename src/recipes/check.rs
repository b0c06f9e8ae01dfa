//! `recipe check [NAME]`: a recipe's header against its code and the kernel. It passes when the
//! header reads, every column the header lists is one the code prints (a word of one of its
//! strings, or a map it names), it compiles here, and, as root, it loads and attaches (then
//! detaches at once). It is skipped where this kernel or ferrotrace lacks what it needs (an
//! unknown probe, a newer ferrotrace), and fails otherwise. Exit status: 0 when every recipe
//! checked passed or was skipped, 1 when one failed, 2 when the one asked for was skipped.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::options::CompileOptions;
use ferrotrace_compiler::syntax::{self, ast};
use ferrotrace_runtime::output::Format;
use ferrotrace_runtime::run::{run as run_script, RunOptions};

use super::discovery::{self, Found};
use super::variants::{self, Here};
use super::{header, scenario};

/// How one recipe came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Skip(String),
    Fail(String),
}

/// Checks recipe `name`, or every recipe (each name once, as found first).
pub fn run(name: Option<&str>, catalog: &dyn Catalog, options: &CompileOptions, out: &mut dyn Write) -> Result<u8> {
    let recipes = selected(name)?;
    let mut failed = false;
    let mut skipped = false;
    for found in &recipes {
        let Some(found) = admitted(found, &mut failed, out)? else { continue };
        match verdict(found, catalog, options) {
            Verdict::Pass => writeln!(out, "PASS {}", found.name)?,
            Verdict::Skip(why) => {
                skipped = true;
                writeln!(out, "SKIP {}: {why}", found.name)?;
            }
            Verdict::Fail(why) => {
                failed = true;
                writeln!(out, "FAIL {}: {why}", found.name)?;
            }
        }
    }
    Ok(status(failed, skipped, name.is_some()))
}

/// The recipe named, or every recipe (each name once, as found first); a recipe refused (as
/// root, one others can write) is there with why.
pub fn selected(name: Option<&str>) -> Result<Vec<Result<Found, (String, String)>>> {
    Ok(match name {
        Some(name) => vec![Ok(discovery::find(name).map_err(anyhow::Error::msg)?)],
        None => discovery::every_first(),
    })
}

/// A recipe `selected` gave, or, for one refused, its `FAIL` line written and `failed` set.
pub fn admitted<'f>(found: &'f Result<Found, (String, String)>, failed: &mut bool, out: &mut dyn Write) -> Result<Option<&'f Found>> {
    match found {
        Ok(found) => Ok(Some(found)),
        Err((name, why)) => {
            *failed = true;
            writeln!(out, "FAIL {name}: {why}")?;
            Ok(None)
        }
    }
}

/// The exit status for recipes checked: 1 when one failed, 2 when the one asked for was
/// skipped, 0 otherwise.
pub fn status(failed: bool, skipped: bool, named: bool) -> u8 {
    match (failed, skipped && named) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    }
}

pub fn verdict(found: &Found, catalog: &dyn Catalog, options: &CompileOptions) -> Verdict {
    let header = match header::parse(&found.text) {
        Ok(Some(header)) => header,
        Ok(None) => return Verdict::Fail(format!("no header (a `{}` ... `{}` comment)", header::OPEN, header::CLOSE)),
        Err(error) => return Verdict::Fail(format!("its header: {error}")),
    };
    if header.name != found.name {
        return Verdict::Fail(format!("its header names it `{}`, but it is found as `{}`", header.name, found.name));
    }
    if let Some(needed) = super::too_new(&header) {
        return Verdict::Skip(format!("needs ferrotrace {needed} or later"));
    }
    let files = match variants::variants(found, &header) {
        Ok(files) => files,
        Err(why) => return Verdict::Fail(why),
    };
    for file in &files {
        let whose = file.file.map(|file| format!("its variant {file}: ")).unwrap_or_default();
        let program = match syntax::parse(file.text) {
            Ok(program) => program,
            Err(diagnostics) => return Verdict::Fail(format!("{whose}{}", super::first_problem(&diagnostics))),
        };
        let printed = printed_words(&program, file.text);
        let unprinted: Vec<&str> = header.columns.iter().map(|column| column.name.as_str()).filter(|name| !printed.contains(*name)).collect();
        if !unprinted.is_empty() {
            let names = unprinted.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
            return Verdict::Fail(format!("{whose}the header lists column{} {names} that the code does not print", if unprinted.len() == 1 { "" } else { "s" }));
        }
    }
    let columns: Vec<String> = header.columns.iter().map(|column| column.name.clone()).collect();
    match scenario::scenarios(found, &header) {
        Ok(tests) => {
            if let Some((test, problem)) = tests.iter().find_map(|test| Some((test, test.problem(&columns)?))) {
                return Verdict::Fail(format!("its test `{}`: {problem}", test.name));
            }
        }
        Err(why) => return Verdict::Fail(why),
    }
    let compiled = match variants::here_of(found, Some(&header), catalog, options).1 {
        Here::Runs(compiled) => compiled,
        Here::Missing(why) => return Verdict::Skip(format!("not on this kernel: {why}")),
        Here::Broken(why) => return Verdict::Fail(why),
    };
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Verdict::Pass;
    }
    let options = RunOptions { quiet: true, dry_run: true, format: Format::Text, ..RunOptions::default() };
    let (mut sink, mut errors) = (Vec::new(), Vec::new());
    match run_script(&compiled.elf, &compiled.manifest, options, None, &mut sink, &mut errors) {
        Ok(_) => Verdict::Pass,
        Err(error) => Verdict::Fail(format!("attaching: {error}")),
    }
}

/// What the code can print as a column: each word of its string literals, and the maps it
/// names (`@by_process`).
fn printed_words(program: &ast::Program, text: &str) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    program.for_each_expr(&mut |expr| {
        if let ast::ExprKind::Str(bytes) = &expr.kind {
            let literal = String::from_utf8_lossy(bytes);
            words.extend(literal.split(|c: char| c.is_whitespace() || c == '%').filter(|word| !word.is_empty()).map(str::to_string));
        }
    });
    let code = text.find(header::CLOSE).map_or(text, |at| &text[at..]);
    for (at, _) in code.match_indices('@') {
        let name: String = code[at + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        words.insert(format!("@{name}"));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_words_of_strings_or_maps_the_code_names() {
        let text = "/*---\nname = \"x\"\n---*/\nbegin { printf(\"%-6s %s\\n\", \"PID\", \"COMM\"); @by_comm[comm] = count(); }\n";
        let program = syntax::parse(text).unwrap();
        let words = printed_words(&program, text);
        for word in ["PID", "COMM", "@by_comm"] {
            assert!(words.contains(word), "{word}: {words:?}");
        }
        assert!(!words.contains("name"));
    }
}
