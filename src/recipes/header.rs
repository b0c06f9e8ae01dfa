//! A recipe's header: what the code cannot say about itself (name, summary, version, license,
//! authors, tags, overhead, the columns it prints), as TOML between a `/*---` line and a
//! `---*/` line, so that the file still runs as a plain script. Parameters, probes and maps are
//! never restated here: they come from the code.

use serde::Deserialize;

pub use super::scenario::Scenario;

/// The line that opens the header, and the one that closes it.
pub const OPEN: &str = "/*---";
pub const CLOSE: &str = "---*/";

/// A recipe's header, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    /// One line: what it shows.
    pub summary: String,
    pub version: String,
    /// The oldest ferrotrace that runs it (`0.1.0`).
    #[serde(default)]
    pub ferrotrace: Option<String>,
    pub license: String,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// What running it costs, in words (`low: one event per open`).
    #[serde(default)]
    pub overhead: Option<String>,
    /// What its output's columns mean, in order.
    #[serde(default)]
    pub columns: Vec<Column>,
    /// Other files of a directory recipe to run instead where this one does not compile here,
    /// tried in order (`vfscount-syscalls.bt`).
    #[serde(default)]
    pub variants: Vec<String>,
    /// Its scenario tests.
    #[serde(default)]
    pub tests: Vec<Scenario>,
}

/// One column of a recipe's output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    pub meaning: String,
    #[serde(default)]
    pub unit: Option<String>,
}

/// Why a header cannot be read: where (1-based line in the file) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The header of a recipe's text; `Ok(None)` for a script without one.
pub fn parse(text: &str) -> Result<Option<Header>, HeaderError> {
    let lines: Vec<&str> = text.lines().collect();
    let Some((open, close)) = markers(&lines) else { return Ok(None) };
    let Some(close) = close else {
        return Err(HeaderError { line: open + 1, message: format!("the header opened here has no `{CLOSE}` line") });
    };
    if let Some(at) = lines[open + 1..close].iter().position(|line| line.contains("*/")) {
        return Err(HeaderError { line: open + 2 + at, message: "`*/` ends the comment that holds the header; a header cannot contain it".to_string() });
    }
    let body = lines[open + 1..close].join("\n");
    let header: Header = toml::from_str(&body).map_err(|error| {
        let line = error.span().map_or(open + 2, |span| open + 2 + body[..span.start].matches('\n').count());
        HeaderError { line, message: error.message().to_string() }
    })?;
    check(&header).map_err(|message| HeaderError { line: open + 2, message })?;
    Ok(Some(header))
}

/// The header's text as written (the TOML between its markers), when the text has one.
pub fn block(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (open, close) = markers(&lines)?;
    Some(lines[open + 1..close?].join("\n"))
}

/// The indexes of the opening marker's line and of the closing one's, when there is one.
fn markers(lines: &[&str]) -> Option<(usize, Option<usize>)> {
    let open = lines.iter().position(|line| line.trim_end() == OPEN)?;
    Some((open, lines[open + 1..].iter().position(|line| line.trim_end() == CLOSE).map(|at| open + 1 + at)))
}

/// What the format asks beyond its fields' types.
fn check(header: &Header) -> Result<(), String> {
    let valid_name = !header.name.is_empty() && header.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_name {
        return Err(format!("`name` must be lowercase letters, digits, `-` and `_`, not `{}`", header.name));
    }
    if header.summary.contains('\n') || header.summary.is_empty() {
        return Err("`summary` is one line".to_string());
    }
    for (field, version) in [("version", Some(&header.version)), ("ferrotrace", header.ferrotrace.as_ref())] {
        if let Some(version) = version.filter(|version| parse_version(version).is_none()) {
            return Err(format!("`{field}` is a version such as `1.2.0`, not `{version}`"));
        }
    }
    Ok(())
}

/// `MAJOR.MINOR.PATCH` as numbers.
pub fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.').map(|part| part.parse::<u64>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPE: &str = "#!/usr/bin/env ferrotrace\n/*---\nname = \"opensnoop\"\nsummary = \"files opened\"\nversion = \"1.0.0\"\nferrotrace = \"0.1.0\"\nlicense = \"Apache-2.0\"\ntags = [\"files\"]\n\n[[columns]]\nname = \"PID\"\nmeaning = \"the process\"\n---*/\nbegin { }\n";

    #[test]
    fn the_header_between_its_markers_is_read() {
        let header = parse(RECIPE).unwrap().unwrap();
        assert_eq!(header.name, "opensnoop");
        assert_eq!(header.tags, ["files"]);
        assert_eq!(header.columns, [Column { name: "PID".into(), meaning: "the process".into(), unit: None }]);
        assert_eq!(parse("begin { }\n"), Ok(None));
    }

    #[test]
    fn a_bad_header_says_where_and_what() {
        let unknown = RECIPE.replace("tags", "tagz");
        let error = parse(&unknown).unwrap_err();
        assert_eq!(error.line, 8);
        assert!(error.message.contains("unknown field `tagz`"), "{error}");
        let unclosed = RECIPE.replace("---*/\n", "");
        assert_eq!(parse(&unclosed).unwrap_err().line, 2);
        let closing = RECIPE.replace("files opened", "files */ opened");
        assert_eq!(parse(&closing).unwrap_err().line, 4);
        let version = RECIPE.replace("\"1.0.0\"", "\"one\"");
        assert_eq!(parse(&version).unwrap_err().message, "`version` is a version such as `1.2.0`, not `one`");
        assert_eq!(parse_version("1.20.3"), Some((1, 20, 3)));
        assert_eq!(parse_version("1.2"), None);
    }
}
