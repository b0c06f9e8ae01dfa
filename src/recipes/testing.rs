//! `recipe test [NAME]`: a recipe's tests in layers. First `check`'s (the header against the
//! code, it compiles here, as root it attaches), then, as root, each scenario test (`scenario`):
//! `PASS`, `SKIP` or `FAIL` a line each, a failure followed by what the recipe printed. Exit
//! status as `check`'s: 0 when nothing failed, 1 when something did, 2 when the one recipe
//! asked for was skipped.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::options::CompileOptions;

use super::check::{self, Verdict};
use super::discovery::Found;
use super::scenario::{self, Outcome};
use super::{display_name, header};

/// The most lines of a failed test's output shown.
const SHOWN_LINES: usize = 40;

/// Tests recipe `name`, or every recipe.
pub fn run(name: Option<&str>, catalog: &dyn Catalog, options: &CompileOptions, out: &mut dyn Write) -> Result<u8> {
    let mut failed = false;
    let mut skipped = false;
    for found in check::selected(name)? {
        match check::verdict(&found, catalog, options) {
            Verdict::Pass => writeln!(out, "PASS {}: checked", found.name)?,
            Verdict::Skip(why) => {
                skipped = true;
                writeln!(out, "SKIP {}: {why}", found.name)?;
                continue;
            }
            Verdict::Fail(why) => {
                failed = true;
                writeln!(out, "FAIL {}: {why}", found.name)?;
                continue;
            }
        }
        failed |= scenarios(&found, out)?;
        out.flush()?;
    }
    Ok(check::status(failed, skipped, name.is_some()))
}

/// Runs a checked recipe's scenario tests; whether one failed.
fn scenarios(found: &Found, out: &mut dyn Write) -> Result<bool> {
    let Ok(Some(header)) = header::parse(&found.text) else { return Ok(false) };
    let tests = scenario::scenarios(found, &header).unwrap_or_default();
    if tests.is_empty() {
        return Ok(false);
    }
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        writeln!(out, "SKIP {}: its {} scenario test{} run only as root", found.name, tests.len(), if tests.len() == 1 { "" } else { "s" })?;
        return Ok(false);
    }
    let columns: Vec<String> = header.columns.iter().map(|column| column.name.clone()).collect();
    let recipe = found.path.as_ref().map_or_else(|| found.name.clone(), |_| display_name(found));
    let mut failed = false;
    for test in &tests {
        let started = Instant::now();
        match scenario::run(test, &recipe, &columns) {
            Outcome::Pass => writeln!(out, "PASS {}: {} ({:.1} s)", found.name, test.name, started.elapsed().as_secs_f64())?,
            Outcome::Skip(why) => writeln!(out, "SKIP {}: {}: {why}", found.name, test.name)?,
            Outcome::Fail(why, output) => {
                failed = true;
                writeln!(out, "FAIL {}: {}: {why}", found.name, test.name)?;
                let lines: Vec<&str> = output.lines().collect();
                for line in lines.iter().take(SHOWN_LINES) {
                    writeln!(out, "  | {line}")?;
                }
                if lines.len() > SHOWN_LINES {
                    writeln!(out, "  | ... {} more lines", lines.len() - SHOWN_LINES)?;
                }
            }
        }
        out.flush()?;
    }
    Ok(failed)
}
