//! A script's named parameters on the command line: `-- --help` lists the ones it declares
//! with `getopt`, and an option it does not declare is refused before anything is loaded.

use std::io::{self, Write};

use anyhow::{bail, Result};
use ferrotrace_compiler::options::Params;
use ferrotrace_compiler::sema::ScriptOption;

/// Acts on `-- --help` (prints the options, then the script stops with `Some(0)`) and refuses
/// named parameters the script does not declare; `None` lets the script run.
pub fn check(declared: &[ScriptOption], params: &Params, script: &str) -> Result<Option<u8>> {
    if params.named.iter().any(|p| p.name == "help") {
        print_help(declared, script, &mut io::stdout().lock())?;
        return Ok(Some(0));
    }
    let unknown: Vec<String> =
        params.named.iter().filter(|p| !declared.iter().any(|o| o.name == p.name)).map(|p| format!("--{}", p.name)).collect();
    if unknown.is_empty() {
        return Ok(None);
    }
    let expected = match declared {
        [] => "the script declares no options (`getopt(\"name\", default)` declares one)".to_string(),
        _ => format!("its options are {}", declared.iter().map(|o| format!("--{}", o.name)).collect::<Vec<_>>().join(", ")),
    };
    bail!("unexpected script options: {}; {expected}", unknown.join(", "))
}

/// The options table: name, default and description.
fn print_help(declared: &[ScriptOption], script: &str, out: &mut impl Write) -> Result<()> {
    if declared.is_empty() {
        writeln!(out, "{script} takes no options")?;
        return Ok(());
    }
    writeln!(out, "Options of {script} (give them after `--`):")?;
    let width = declared.iter().map(|o| o.name.len()).max().unwrap_or(0);
    for option in declared {
        let doc = option.doc.as_deref().map(|d| format!("{d} ")).unwrap_or_default();
        writeln!(out, "  --{:width$}  {doc}(default: {})", option.name, option.default)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(name: &str, default: &str, doc: Option<&str>) -> ScriptOption {
        ScriptOption { name: name.into(), default: default.into(), doc: doc.map(Into::into) }
    }

    #[test]
    fn help_lists_names_defaults_and_descriptions() {
        let mut out = Vec::new();
        print_help(&[option("n", "3", Some("how many")), option("verbose", "false", None)], "top.bt", &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Options of top.bt (give them after `--`):\n  --n        how many (default: 3)\n  --verbose  (default: false)\n"
        );
    }

    #[test]
    fn undeclared_options_are_refused() {
        let params = Params::from_args(&["--n=2", "--x"]);
        let error = check(&[option("n", "3", None)], &params, "s.bt").unwrap_err();
        assert_eq!(error.to_string(), "unexpected script options: --x; its options are --n");
        assert_eq!(check(&[option("n", "3", None)], &Params::from_args(&["--n=2"]), "s.bt").unwrap(), None);
    }
}
