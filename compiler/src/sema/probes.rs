//! Attach points to concrete probes: provider aliases, tracepoint wildcards expanded against the
//! kernel catalog, interval and profile rates parsed.

use crate::catalog::{Catalog, CatalogError, TracepointFormat};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::Attach;
use crate::syntax::ast::AttachPoint;

/// One probe an attach point expands to.
#[derive(Debug, Clone)]
pub struct ResolvedProbe {
    pub attach: Attach,
    /// The fully expanded name (what `probe` yields).
    pub name: String,
    /// The record layout, for tracepoints.
    pub format: Option<TracepointFormat>,
}

/// Providers ferrotrace knows of but cannot attach yet, with what to use instead.
const UNSUPPORTED_PROVIDERS: &[(&str, &str)] = &[
    ("kprobe", "use a tracepoint instead"),
    ("k", "use a tracepoint instead"),
    ("kretprobe", "use a tracepoint instead"),
    ("kr", "use a tracepoint instead"),
    ("uprobe", "not supported yet"),
    ("u", "not supported yet"),
    ("uretprobe", "not supported yet"),
    ("ur", "not supported yet"),
    ("usdt", "not supported yet"),
    ("U", "not supported yet"),
    ("fentry", "use a tracepoint instead"),
    ("f", "use a tracepoint instead"),
    ("fexit", "use a tracepoint instead"),
    ("fr", "use a tracepoint instead"),
    ("rawtracepoint", "use `tracepoint` instead"),
    ("rt", "use `tracepoint` instead"),
    ("software", "use `profile` or `interval` instead"),
    ("s", "use `profile` or `interval` instead"),
    ("hardware", "use `profile` instead"),
    ("h", "use `profile` instead"),
    ("watchpoint", "not supported yet"),
    ("iter", "not supported yet"),
];

const PROVIDERS: &[&str] = &["begin", "end", "tracepoint", "interval", "profile"];

/// Expands one attach point; on failure returns the diagnostic.
pub fn resolve(ap: &AttachPoint, catalog: &dyn Catalog) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let provider = ap.provider.as_str();
    match provider.to_ascii_lowercase().as_str() {
        "begin" | "end" if ap.parts.is_empty() => Ok(vec![special(provider)]),
        "tracepoint" | "t" => resolve_tracepoint(ap, catalog),
        "interval" | "i" => resolve_timer(ap, "interval"),
        "profile" | "p" => resolve_timer(ap, "profile"),
        "begin" | "end" => Err(Diagnostic::error("E0201", format!("`{provider}` takes no arguments"))
            .with_primary(ap.span, "remove everything after the probe name")),
        _ => Err(unknown_provider(ap)),
    }
}

fn special(provider: &str) -> ResolvedProbe {
    let begin = provider.eq_ignore_ascii_case("begin");
    ResolvedProbe {
        attach: if begin { Attach::Begin } else { Attach::End },
        name: if begin { "begin" } else { "end" }.to_string(),
        format: None,
    }
}

fn unknown_provider(ap: &AttachPoint) -> Diagnostic {
    if let Some((_, instead)) = UNSUPPORTED_PROVIDERS.iter().find(|(p, _)| *p == ap.provider) {
        return Diagnostic::error("E0202", format!("`{}` probes are not supported by ferrotrace yet", ap.provider))
            .with_primary(ap.span, "this probe type cannot be attached")
            .with_help(instead.to_string());
    }
    let diag = Diagnostic::error("E0201", format!("unknown probe type `{}`", ap.provider))
        .with_primary(ap.span, "not a probe type")
        .with_note(format!("probe types: {}", PROVIDERS.join(", ")));
    match did_you_mean(&closest(&ap.provider, PROVIDERS.iter().copied())) {
        Some(help) => diag.with_help(help),
        None => diag,
    }
}

fn resolve_tracepoint(ap: &AttachPoint, catalog: &dyn Catalog) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let [category, name] = ap.parts.as_slice() else {
        return Err(Diagnostic::error("E0203", "a tracepoint is written `tracepoint:category:name`")
            .with_primary(ap.span, format!("this has {} part(s) after the probe type", ap.parts.len()))
            .with_help("for example `tracepoint:syscalls:sys_enter_openat`"));
    };
    let is_pattern = |part: &str| part.contains(['*', '?']);
    if !is_pattern(category) && !is_pattern(name) {
        match catalog.tracepoint_format(category, name) {
            Ok(format) => return Ok(vec![tracepoint_probe(category, name, format)]),
            Err(CatalogError::NotFound(_)) => {}
            Err(error) => return Err(catalog_error(ap, &error)),
        }
    }
    let all = catalog.tracepoints().map_err(|e| catalog_error(ap, &e))?;
    let matches: Vec<&(String, String)> =
        all.iter().filter(|(c, n)| glob_match(category, c) && glob_match(name, n)).collect();
    if matches.is_empty() {
        return Err(no_such_tracepoint(ap, category, name, &all));
    }
    matches
        .into_iter()
        .map(|(c, n)| {
            let format = catalog.tracepoint_format(c, n).map_err(|e| catalog_error(ap, &e))?;
            Ok(tracepoint_probe(c, n, format))
        })
        .collect()
}

fn tracepoint_probe(category: &str, name: &str, format: TracepointFormat) -> ResolvedProbe {
    ResolvedProbe {
        attach: Attach::Tracepoint { category: category.to_string(), name: name.to_string(), event_id: format.id },
        name: format!("tracepoint:{category}:{name}"),
        format: Some(format),
    }
}

fn no_such_tracepoint(ap: &AttachPoint, category: &str, name: &str, all: &[(String, String)]) -> Diagnostic {
    let has_wildcard = |s: &str| s.contains(['*', '?']);
    let category_exists = all.iter().any(|(c, _)| glob_match(category, c));
    let diag = if has_wildcard(category) || has_wildcard(name) {
        Diagnostic::error("E0204", format!("no tracepoint matches `{category}:{name}`"))
    } else {
        Diagnostic::error("E0204", format!("unknown tracepoint `{category}:{name}`"))
    }
    .with_primary(ap.span, "no such tracepoint in this kernel");
    let candidates: Vec<&str> = if category_exists {
        all.iter().filter(|(c, _)| glob_match(category, c)).map(|(_, n)| n.as_str()).collect()
    } else {
        let mut cats: Vec<&str> = all.iter().map(|(c, _)| c.as_str()).collect();
        cats.dedup();
        cats
    };
    let wanted = if category_exists { name } else { category };
    match did_you_mean(&closest(wanted, candidates)) {
        Some(help) => diag.with_help(help),
        None => diag.with_note("`ferrotrace -l 'tracepoint:*'` lists the tracepoints"),
    }
}

fn catalog_error(ap: &AttachPoint, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0205", format!("cannot read the kernel's tracepoints: {error}"))
        .with_primary(ap.span, "needed to resolve this probe")
}

/// `interval:s:1`, `interval:ms:10`, `interval:us:N`, `interval:hz:N`, `interval:1s`,
/// `profile:hz:99`, `profile:ms:10`.
fn resolve_timer(ap: &AttachPoint, provider: &str) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let bad = |message: String| {
        Diagnostic::error("E0206", message)
            .with_primary(ap.span, "cannot read this rate")
            .with_help(format!("write it like `{provider}:s:1`, `{provider}:ms:100` or `{provider}:hz:99`"))
    };
    let (unit, count) = match ap.parts.as_slice() {
        [unit, count] => (unit.as_str(), count.as_str()),
        [combined] => split_number_unit(combined).ok_or_else(|| bad(format!("`{combined}` is not a rate")))?,
        _ => return Err(bad(format!("`{provider}` takes a unit and a count"))),
    };
    let n: u64 = count
        .replace('_', "")
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| bad(format!("`{count}` is not a positive whole number")))?;
    let period_ns = match unit {
        "s" => n.checked_mul(1_000_000_000),
        "ms" => n.checked_mul(1_000_000),
        "us" => n.checked_mul(1_000),
        "ns" => Some(n),
        "hz" => Some((1_000_000_000 / n).max(1)),
        _ => return Err(bad(format!("`{unit}` is not a unit: use s, ms, us or hz"))),
    }
    .ok_or_else(|| bad(format!("`{count}{unit}` is too long a period")))?;
    let attach = if provider == "interval" {
        Attach::Interval { period_ns }
    } else if unit == "hz" {
        Attach::Profile { hz: n }
    } else {
        Attach::Profile { hz: (1_000_000_000 / period_ns).max(1) }
    };
    Ok(vec![ResolvedProbe { attach, name: format!("{provider}:{unit}:{count}"), format: None }])
}

/// `1s` -> ("s", "1"); `100ms` -> ("ms", "100").
fn split_number_unit(text: &str) -> Option<(&str, &str)> {
    let digits = text.find(|c: char| !c.is_ascii_digit() && c != '_')?;
    if digits == 0 {
        return None;
    }
    Some((&text[digits..], &text[..digits]))
}

/// Shell-style matching with `*` (any run) and `?` (any one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                backtrack = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    pi = bp + 1;
                    ti = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("sys_enter_*", "sys_enter_openat"));
        assert!(glob_match("*", ""));
        assert!(glob_match("s?s_*_open*", "sys_enter_openat"));
        assert!(!glob_match("sys_exit_*", "sys_enter_openat"));
        assert!(glob_match("*open*", "sys_enter_openat"));
        assert!(!glob_match("open", "openat"));
    }

    #[test]
    fn number_unit_split() {
        assert_eq!(split_number_unit("1s"), Some(("s", "1")));
        assert_eq!(split_number_unit("250ms"), Some(("ms", "250")));
        assert_eq!(split_number_unit("s"), None);
    }
}
