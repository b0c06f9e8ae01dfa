//! `recipe show NAME` (`-f json` for JSON): a recipe's header, where it was found, which of its files runs
//! here and why not, its probes with their status on this kernel, its parameters (from its
//! `getopt` calls) and its tests, as text or as one JSON object.

use std::io::Write;

use anyhow::{bail, Result};
use ferrotrace_compiler::catalog::Catalog;
use ferrotrace_compiler::driver::{compile_with, Keep};
use ferrotrace_compiler::options::{CompileOptions, Params};
use ferrotrace_compiler::sema::{script_options, ScriptOption};
use ferrotrace_compiler::syntax;
use ferrotrace_runtime::LoadError;
use serde_json::json;

use super::discovery::{self, Found};
use super::header::{self, Header};
use super::variants::{self, Here};
use super::{display_name, scenario};

/// One probe, and why this kernel refuses it where it is known to.
struct Probe {
    name: String,
    refused: Option<String>,
}

/// What `show` says of a recipe.
struct Shown {
    found: Found,
    header: Header,
    /// The variant that runs here, when not the recipe's own file.
    variant: Option<String>,
    /// Why it does not run here.
    why_not: Option<String>,
    probes: Vec<Probe>,
    parameters: Vec<ScriptOption>,
    tests: Vec<String>,
}

pub fn run(name: &str, json: bool, catalog: &dyn Catalog, options: &CompileOptions, out: &mut dyn Write) -> Result<u8> {
    let found = discovery::find(name).map_err(anyhow::Error::msg)?;
    let header = match header::parse(&found.text) {
        Ok(Some(header)) => header,
        Ok(None) => bail!("`{}` has no recipe header (a `{}` ... `{}` comment)", display_name(&found), header::OPEN, header::CLOSE),
        Err(error) => bail!("recipe `{}` has a bad header: {error}", found.name),
    };
    let shown = gather(found, header, catalog, options);
    if json {
        writeln!(out, "{}", as_json(&shown))?;
    } else {
        as_text(&shown, out)?;
    }
    Ok(0)
}

fn gather(found: Found, header: Header, catalog: &dyn Catalog, options: &CompileOptions) -> Shown {
    let (variant, here) = variants::here_of(&found, Some(&header), catalog, options);
    let variant = variant.map(str::to_string);
    let (why_not, probes) = match here {
        Here::Runs(compiled) => {
            let probes = compiled.manifest.probe_names.iter().map(|name| Probe { name: name.clone(), refused: None }).collect();
            (None, probes)
        }
        Here::Missing(why) | Here::Broken(why) => {
            let probes = probes_of(&found.text, &why, catalog, options);
            (Some(why), probes)
        }
    };
    let text = variant.as_deref().and_then(|file| found.companion(file)).unwrap_or(&found.text);
    let parameters = syntax::parse(text).ok().and_then(|program| script_options(&program, &Params::default()).ok()).unwrap_or_default();
    let tests = match scenario::scenarios(&found, &header) {
        Ok(tests) => tests.into_iter().map(|test| test.name).collect(),
        Err(why) => vec![format!("(unreadable: {why})")],
    };
    Shown { found, header, variant, why_not, probes, parameters, tests }
}

/// The probes of a recipe that does not run here, each refused with why where that is known:
/// those of a probe type this kernel lacks when it compiles, else the one its compile names.
fn probes_of(text: &str, why: &str, catalog: &dyn Catalog, options: &CompileOptions) -> Vec<Probe> {
    if let Ok(compiled) = compile_with(text, catalog, options, Keep::default()) {
        let refusals = ferrotrace_runtime::unsupported_probes(&compiled.manifest);
        let refusal = |name: &str| refusals.iter().find(|refusal| matches!(refusal, LoadError::Unsupported { probe, .. } if probe == name)).map(|refusal| refusal.to_string().lines().next().unwrap_or_default().to_string());
        return compiled.manifest.probe_names.iter().map(|name| Probe { name: name.clone(), refused: refusal(name) }).collect();
    }
    let written: Vec<String> = syntax::parse(text).map(|program| program.probes.iter().flat_map(|probe| &probe.attach_points).map(|point| point.raw.clone()).collect()).unwrap_or_default();
    written.into_iter().map(|name| Probe { refused: why.contains(&format!("`{name}`")).then(|| why.to_string()), name }).collect()
}

fn as_text(shown: &Shown, out: &mut dyn Write) -> Result<()> {
    let (found, header) = (&shown.found, &shown.header);
    writeln!(out, "{} {}: {}", header.name, header.version, header.summary)?;
    writeln!(out, "from:     {} ({})", found.origin.describe(), display_name(found))?;
    if let Some(version) = &header.ferrotrace {
        writeln!(out, "needs:    ferrotrace {version} or later")?;
    }
    writeln!(out, "license:  {}", header.license)?;
    if !header.authors.is_empty() {
        writeln!(out, "authors:  {}", header.authors.join(", "))?;
    }
    if !header.tags.is_empty() {
        writeln!(out, "tags:     {}", header.tags.join(", "))?;
    }
    if let Some(overhead) = &header.overhead {
        writeln!(out, "overhead: {overhead}")?;
    }
    if !header.variants.is_empty() {
        writeln!(out, "variants: {}.bt, {}", found.name, header.variants.join(", "))?;
    }
    match (&shown.why_not, &shown.variant) {
        (Some(why), _) => writeln!(out, "runs here: no: {why}")?,
        (None, Some(file)) => writeln!(out, "runs here: yes, as its variant {file}")?,
        (None, None) => writeln!(out, "runs here: yes")?,
    }
    if !shown.probes.is_empty() {
        writeln!(out, "probes:")?;
        for probe in &shown.probes {
            match &probe.refused {
                Some(why) => writeln!(out, "  {}  (not here: {why})", probe.name)?,
                None => writeln!(out, "  {}", probe.name)?,
            }
        }
    }
    if !shown.parameters.is_empty() {
        writeln!(out, "parameters (after `--`):")?;
        for option in &shown.parameters {
            writeln!(out, "  --{:<12} {} (default: {})", option.name, option.doc.as_deref().unwrap_or(""), option.default)?;
        }
    }
    if !header.columns.is_empty() {
        writeln!(out, "columns:")?;
        for column in &header.columns {
            let unit = column.unit.as_deref().map(|unit| format!(" ({unit})")).unwrap_or_default();
            writeln!(out, "  {:<12} {}{unit}", column.name, column.meaning)?;
        }
    }
    if !shown.tests.is_empty() {
        writeln!(out, "tests:")?;
        for test in &shown.tests {
            writeln!(out, "  {test}")?;
        }
    }
    Ok(())
}

fn as_json(shown: &Shown) -> serde_json::Value {
    let (found, header) = (&shown.found, &shown.header);
    json!({
        "name": header.name,
        "summary": header.summary,
        "version": header.version,
        "ferrotrace": header.ferrotrace,
        "license": header.license,
        "authors": header.authors,
        "tags": header.tags,
        "overhead": header.overhead,
        "from": found.origin.describe(),
        "file": found.path.as_ref().map(|path| path.display().to_string()),
        "variants": header.variants,
        "runs_here": shown.why_not.is_none(),
        "why_not": shown.why_not,
        "variant": shown.variant,
        "probes": shown.probes.iter().map(|probe| json!({"probe": probe.name, "refused": probe.refused})).collect::<Vec<_>>(),
        "parameters": shown.parameters.iter().map(|option| json!({"name": option.name, "description": option.doc, "default": option.default})).collect::<Vec<_>>(),
        "columns": header.columns.iter().map(|column| json!({"name": column.name, "meaning": column.meaning, "unit": column.unit})).collect::<Vec<_>>(),
        "tests": shown.tests,
    })
}
