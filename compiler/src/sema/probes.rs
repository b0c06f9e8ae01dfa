//! Attach points to concrete probes: provider aliases, tracepoint and kernel function wildcards
//! expanded against the kernel catalog, interval and profile rates parsed.

use crate::catalog::{Catalog, CatalogError, KernelFunction, TracepointFormat};
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
    ("uprobe", "not supported yet"),
    ("u", "not supported yet"),
    ("uretprobe", "not supported yet"),
    ("ur", "not supported yet"),
    ("usdt", "not supported yet"),
    ("U", "not supported yet"),
    ("fentry", "use `kprobe` instead"),
    ("f", "use `kprobe` instead"),
    ("fexit", "use `kretprobe` instead"),
    ("fr", "use `kretprobe` instead"),
    ("rawtracepoint", "use `tracepoint` instead"),
    ("rt", "use `tracepoint` instead"),
    ("software", "use `profile` or `interval` instead"),
    ("s", "use `profile` or `interval` instead"),
    ("hardware", "use `profile` instead"),
    ("h", "use `profile` instead"),
    ("watchpoint", "not supported yet"),
    ("iter", "not supported yet"),
];

const PROVIDERS: &[&str] = &["begin", "end", "tracepoint", "kprobe", "kretprobe", "interval", "profile", "test", "bench"];

/// Expands one attach point; on failure returns the diagnostic.
pub fn resolve(ap: &AttachPoint, catalog: &dyn Catalog) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let provider = ap.provider.as_str();
    match provider.to_ascii_lowercase().as_str() {
        "begin" | "end" if ap.parts.is_empty() => Ok(vec![special(provider)]),
        "tracepoint" | "t" => resolve_tracepoint(ap, catalog),
        "kprobe" | "k" => resolve_kprobe(ap, catalog, false),
        "kretprobe" | "kr" => resolve_kprobe(ap, catalog, true),
        "interval" | "i" => resolve_timer(ap, "interval"),
        "profile" | "p" => resolve_timer(ap, "profile"),
        "test" | "bench" => resolve_self_test(ap),
        "begin" | "end" => Err(Diagnostic::error("E0201", format!("`{provider}` takes no arguments"))
            .with_primary(ap.span, "remove everything after the probe name")),
        _ => Err(unknown_provider(ap)),
    }
}

/// `test:NAME` and `bench:NAME`.
fn resolve_self_test(ap: &AttachPoint) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let kind = ap.provider.to_ascii_lowercase();
    let [name] = ap.parts.as_slice() else {
        return Err(Diagnostic::error("E0207", format!("a {kind} probe is written `{kind}:NAME`"))
            .with_primary(ap.span, "one name after the colon"));
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Diagnostic::error("E0207", format!("`{name}` is not a {kind} name"))
            .with_primary(ap.span, "names are letters, digits and `_`"));
    }
    let attach = match kind.as_str() {
        "test" => Attach::Test { name: name.clone() },
        _ => Attach::Bench { name: name.clone() },
    };
    Ok(vec![ResolvedProbe { attach, name: format!("{kind}:{name}"), format: None }])
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

/// `kprobe:function`, `kprobe:function+offset`, `kprobe:module:function` and the same for
/// `kretprobe` (without an offset). The function, and the module, may be wildcards; they are
/// matched against the functions the kernel lets kprobes attach to, as bpftrace does.
fn resolve_kprobe(ap: &AttachPoint, catalog: &dyn Catalog, retprobe: bool) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let provider = if retprobe { "kretprobe" } else { "kprobe" };
    let malformed = |message: String, label: &str| {
        Diagnostic::error("E0207", message)
            .with_primary(ap.span, label.to_string())
            .with_help(format!("for example `{provider}:vfs_read` or `{provider}:vfs_*`"))
    };
    let (module, written) = match ap.parts.as_slice() {
        [function] => (None, function.as_str()),
        [module, function] => (Some(module.as_str()), function.as_str()),
        parts => {
            return Err(malformed(
                format!("a {provider} is written `{provider}:function` or `{provider}:module:function`"),
                &format!("this has {} part(s) after the probe type", parts.len()),
            ))
        }
    };
    let (pattern, offset) = match written.split_once('+') {
        None => (written, 0),
        Some(_) if retprobe => {
            return Err(malformed("a kretprobe attaches to a function's return, not to an offset".into(), "remove the `+offset`"))
        }
        Some((function, offset)) => match parse_offset(offset) {
            Some(offset) if !is_pattern(function) => (function, offset),
            Some(_) => return Err(malformed("a wildcard cannot have an offset".into(), "an offset needs one function")),
            None => return Err(malformed(format!("`{offset}` is not an offset"), "write a byte offset like `+0x10` or `+16`")),
        },
    };
    if pattern.is_empty() {
        return Err(malformed(format!("the {provider} names no function"), "add the kernel function's name"));
    }
    let functions = catalog.kernel_functions().map_err(|error| kernel_functions_error(ap, provider, &error))?;
    let in_module = |function: &KernelFunction| match (module, function.module.as_deref()) {
        (None, None) => true,
        (Some(wanted), Some(actual)) => glob_match(wanted, actual),
        _ => false,
    };
    let mut matches: Vec<&KernelFunction> =
        functions.iter().filter(|function| in_module(function) && glob_match(pattern, &function.name)).collect();
    matches.sort();
    matches.dedup();
    if matches.is_empty() {
        return Err(no_such_function(ap, provider, module, pattern, &functions));
    }
    let suffix = written.split_once('+').map(|(_, offset)| format!("+{offset}")).unwrap_or_default();
    Ok(matches
        .into_iter()
        .map(|function| {
            let module_part = function.module.as_deref().map(|module| format!("{module}:")).unwrap_or_default();
            ResolvedProbe {
                attach: Attach::Kprobe { function: function.name.clone(), module: function.module.clone(), offset, retprobe },
                name: format!("{provider}:{module_part}{}{suffix}", function.name),
                format: None,
            }
        })
        .collect())
}

fn is_pattern(part: &str) -> bool {
    part.contains(['*', '?'])
}

/// `0x10` or `16`.
fn parse_offset(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn kernel_functions_error(ap: &AttachPoint, provider: &str, error: &CatalogError) -> Diagnostic {
    match error {
        CatalogError::Unsupported(why) => {
            Diagnostic::error("E0208", format!("this kernel cannot attach {provider}s"))
                .with_primary(ap.span, "needs kprobes")
                .with_note(why.clone())
                .with_help("`ferrotrace --info` lists the probe types this kernel has; docs/kernels.md says what each needs")
        }
        other => Diagnostic::error("E0205", format!("cannot read the kernel's functions: {other}"))
            .with_primary(ap.span, "needed to resolve this probe"),
    }
}

fn no_such_function(
    ap: &AttachPoint,
    provider: &str,
    module: Option<&str>,
    pattern: &str,
    functions: &[KernelFunction],
) -> Diagnostic {
    let shown = module.map(|module| format!("{module}:{pattern}")).unwrap_or_else(|| pattern.to_string());
    let diag = if is_pattern(pattern) || module.is_some_and(is_pattern) {
        Diagnostic::error("E0209", format!("no kernel function matches `{shown}`"))
    } else {
        Diagnostic::error("E0209", format!("no kernel function `{shown}` to attach a {provider} to"))
    }
    .with_primary(ap.span, "not a function kprobes can attach to in this kernel");
    let in_a_module = functions.iter().find(|function| function.name == pattern && function.module.is_some() && module.is_none());
    if let Some(KernelFunction { module: Some(owner), .. }) = in_a_module {
        return diag.with_help(format!("`{pattern}` is a function of module `{owner}`: write `{provider}:{owner}:{pattern}`"));
    }
    let names = functions.iter().filter(|function| function.module.as_deref() == module).map(|function| function.name.as_str());
    match did_you_mean(&closest(pattern, names)) {
        Some(help) => diag.with_help(help),
        None => diag.with_note(format!("`ferrotrace -l '{provider}:*'` lists the functions")),
    }
}

/// `interval:s:1`, `interval:ms:10`, `interval:us:N`, `interval:hz:N`, `interval:1s`,
/// `interval:N` (nanoseconds), `profile:hz:99`, `profile:ms:10`.
fn resolve_timer(ap: &AttachPoint, provider: &str) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let bad = |message: String| {
        Diagnostic::error("E0206", message)
            .with_primary(ap.span, "cannot read this rate")
            .with_help(format!("write it like `{provider}:s:1`, `{provider}:ms:100` or `{provider}:hz:99`"))
    };
    let (unit, count) = match ap.parts.as_slice() {
        [unit, count] => (unit.as_str(), count.as_str()),
        // A count without a unit is nanoseconds, as in bpftrace.
        [count] if !count.is_empty() && count.chars().all(|c| c.is_ascii_digit() || c == '_') => ("ns", count.as_str()),
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
