//! `recipe test [NAME]`: a recipe's tests in layers. First `check`'s (the header against the
//! code, it compiles here, as root it attaches), then, as root, its `test:` probes (run by
//! `--test`), then each scenario test (`scenario`): `PASS`, `SKIP` or `FAIL` a line each, a
//! failure followed by what was printed. Exit status as `check`'s: 0 when nothing failed, 1
//! when something did, 2 when the one recipe asked for was skipped, or none of its tests ran
//! here (not root, or every scenario lacked a program or condition).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Result;
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::options::CompileOptions;
use ferrotrace_compiler::syntax;

use super::check::{self, Verdict};
use super::discovery::Found;
use super::scenario::{self, Outcome};
use super::{display_name, header, variants};

/// The most lines of a failed test's output shown.
const SHOWN_LINES: usize = 40;

/// Tests recipe `name`, or every recipe.
pub fn run(name: Option<&str>, catalog: &dyn Catalog, options: &CompileOptions, out: &mut dyn Write) -> Result<u8> {
    let mut failed = false;
    let mut skipped = false;
    for found in &check::selected(name)? {
        let Some(found) = check::admitted(found, &mut failed, out)? else { continue };
        match check::verdict(found, catalog, options) {
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
        let chosen = match header::parse(&found.text) {
            Ok(header) => variants::here_of(found, header.as_ref(), catalog, options).0.and_then(|file| found.companion(file)),
            Err(_) => None,
        };
        let units = unit_tests(found, chosen.unwrap_or(&found.text), out)?;
        let scenarios = scenarios(found, out)?;
        failed |= units == Layer::Failed || scenarios == Layer::Failed;
        // A recipe none of whose tests ran here was not tested.
        skipped |= units != Layer::Passed && scenarios != Layer::Passed && (units, scenarios) != (Layer::Empty, Layer::Empty);
        out.flush()?;
    }
    Ok(check::status(failed, skipped, name.is_some()))
}

/// How a layer of a recipe's tests came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// It has no such tests.
    Empty,
    /// At least one passed, none failed.
    Passed,
    /// None ran here.
    Skipped,
    Failed,
}

/// The name `recipe run` finds a recipe by, here: its path, or its name for a built-in.
fn reference(found: &Found) -> String {
    found.path.as_ref().map_or_else(|| found.name.clone(), |_| display_name(found))
}

/// How many `test:` probes a script has.
fn test_probes(text: &str) -> usize {
    let Ok(program) = syntax::parse(text) else { return 0 };
    program.probes.iter().flat_map(|probe| &probe.attach_points).filter(|point| point.raw.starts_with("test:")).count()
}

/// Runs a checked recipe's `test:` probes, as `--test` runs them, in `text`: the file `recipe
/// run` chooses here.
fn unit_tests(found: &Found, text: &str, out: &mut dyn Write) -> Result<Layer> {
    if test_probes(text) == 0 {
        return Ok(Layer::Empty);
    }
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        writeln!(out, "SKIP {}: its test: probes run only as root", found.name)?;
        return Ok(Layer::Skipped);
    }
    let exe = std::env::current_exe()?;
    let ran = Command::new(exe).args(["--test", "recipe", "run", &reference(found)]).stdin(Stdio::null()).output()?;
    if ran.status.success() {
        writeln!(out, "PASS {}: its test: probes", found.name)?;
        return Ok(Layer::Passed);
    }
    writeln!(out, "FAIL {}: its test: probes (exit status {})", found.name, ran.status.code().map_or_else(|| "none".to_string(), |code| code.to_string()))?;
    for line in String::from_utf8_lossy(&ran.stdout).lines().chain(String::from_utf8_lossy(&ran.stderr).lines()).take(SHOWN_LINES) {
        writeln!(out, "  | {line}")?;
    }
    Ok(Layer::Failed)
}

/// Runs a checked recipe's scenario tests.
fn scenarios(found: &Found, out: &mut dyn Write) -> Result<Layer> {
    let Ok(Some(header)) = header::parse(&found.text) else { return Ok(Layer::Empty) };
    let tests = scenario::scenarios(found, &header).unwrap_or_default();
    if tests.is_empty() {
        return Ok(Layer::Empty);
    }
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        writeln!(out, "SKIP {}: its {} scenario test{} run only as root", found.name, tests.len(), if tests.len() == 1 { "" } else { "s" })?;
        return Ok(Layer::Skipped);
    }
    let columns: Vec<String> = header.columns.iter().map(|column| column.name.clone()).collect();
    let recipe = reference(found);
    let (mut failed, mut passed) = (false, false);
    for test in &tests {
        let started = Instant::now();
        match scenario::run(test, &recipe, &columns) {
            Outcome::Pass => {
                passed = true;
                writeln!(out, "PASS {}: {} ({:.1} s)", found.name, test.name, started.elapsed().as_secs_f64())?;
            }
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
    Ok(match (failed, passed) {
        (true, _) => Layer::Failed,
        (false, true) => Layer::Passed,
        (false, false) => Layer::Skipped,
    })
}
