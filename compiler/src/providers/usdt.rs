//! `usdt:binary:provider:name` and `usdt:binary:name` (`U:`): the statically defined probes a
//! binary's `.note.stapsdt` declares, wildcards included; `usdt:*:...` with `-p` searches every
//! binary the process maps. Programs read the probe's arguments where its note says they are.

use super::{glob_match, is_pattern, user_binaries, Context, Provider, ResolvedProbe, Scope};
use crate::catalog::{CatalogError, UserBinary, UsdtProbe};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const PROVIDER: Provider = Provider {
    name: "usdt",
    written: &["usdt", "U"],
    resolve,
    list,
    arguments,
    program: ProgramType::Kprobe,
    context: Context::FunctionRegisters,
    at_return: false,
    user_pointers: true,
    in_traced_task: true,
    shares_programs: true,
    section: |attach| match attach {
        Attach::Usdt { provider, name, .. } => format!("usdt/{provider}/{name}"),
        _ => "usdt".to_string(),
    },
};

fn resolve(ap: &AttachPoint, scope: &Scope<'_>) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let (binary, provider, name) = match ap.parts.as_slice() {
        [name] => (None, None, name.as_str()),
        [binary, name] => (Some(binary.as_str()), None, name.as_str()),
        [binary, provider, name] => (Some(binary.as_str()), Some(provider.as_str()), name.as_str()),
        parts => {
            return Err(Diagnostic::error("E0216", "a usdt probe is written `usdt:binary:provider:name` or `usdt:binary:name`")
                .with_primary(ap.span, format!("this has {} part(s) after the probe type", parts.len()))
                .with_help("for example `usdt:/usr/bin/python3:python:function__entry`"))
        }
    };
    if name.is_empty() {
        return Err(Diagnostic::error("E0216", "the usdt probe has no name").with_primary(ap.span, "add the probe's name"));
    }
    let pid = scope.traced_pid();
    // Among several binaries, those without the function or note are passed over.
    let several = binary.is_some_and(crate::catalog::names_several_binaries);
    let mut probes = Vec::new();
    for binary in user_binaries::resolve(ap, binary, scope, "usdt")? {
        let declared = match scope.catalog.usdt_probes(&binary) {
            Ok(declared) => declared,
            Err(_) if several => continue,
            Err(error) => return Err(unreadable(ap, &binary, &error)),
        };
        let matched: Vec<&UsdtProbe> = declared
            .iter()
            .filter(|probe| glob_match(name, &probe.name) && provider.is_none_or(|provider| glob_match(provider, &probe.provider)))
            .collect();
        if matched.is_empty() && !several {
            return Err(no_such_probe(ap, &binary, provider, name, &declared));
        }
        probes.extend(matched.into_iter().map(|probe| ResolvedProbe {
            name: format!("usdt:{}:{}:{}", binary.path, probe.provider, probe.name),
            attach: Attach::Usdt {
                binary: binary.file.clone(),
                provider: probe.provider.clone(),
                name: probe.name.clone(),
                offset: probe.file_offset,
                semaphore: probe.semaphore,
                arguments: probe.arguments.clone(),
                symbols: probe.symbols.clone(),
                pid,
            },
            format: None,
            arguments: Vec::new(),
            module_types: None,
            setup: None,
            parameters: super::UserParameters::NotRead,
        }));
    }
    if probes.is_empty() {
        let shown = provider.map(|provider| format!("{provider}:{name}")).unwrap_or_else(|| name.to_string());
        let owner = if scope.target_pid.is_some() { "of the process" } else { "on this host" };
        return Err(Diagnostic::error("E0220", format!("no binary {owner} has a usdt probe `{shown}`"))
            .with_primary(ap.span, "nothing to attach to")
            .with_note("`ferrotrace -l 'usdt:*' -p PID` lists the process's usdt probes"));
    }
    Ok(probes)
}

/// `usdt:binary:provider:name` for every USDT probe of the binaries the pattern names.
fn list(scope: &Scope<'_>, pattern: &str) -> Result<Vec<String>, CatalogError> {
    let Some(binary) = super::uprobe::listed_binary(pattern, &["usdt", "U"], scope) else { return Ok(Vec::new()) };
    let binaries = match scope.catalog.user_binaries(&binary, scope.target_pid) {
        Ok(binaries) => binaries,
        Err(CatalogError::NotFound(_)) => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut names = Vec::new();
    for binary in binaries {
        let Ok(probes) = scope.catalog.usdt_probes(&binary) else { continue };
        let mut listed: Vec<String> = probes.iter().map(|probe| format!("usdt:{}:{}:{}", binary.path, probe.provider, probe.name)).collect();
        listed.dedup();
        names.extend(listed);
    }
    Ok(names)
}

/// `arg0: int32 (-4@%eax)` for each argument of a listed probe.
fn arguments(scope: &Scope<'_>, probe: &str) -> Vec<String> {
    let Some((binary, provider, name)) = probe.strip_prefix("usdt:").and_then(split_listed) else { return Vec::new() };
    let binaries = scope.catalog.user_binaries(binary, scope.target_pid).unwrap_or_default();
    let Some(declared) = binaries.iter().find_map(|binary| scope.catalog.usdt_probes(binary).ok()) else { return Vec::new() };
    let Some(found) = declared.iter().find(|p| p.provider == provider && p.name == name) else { return Vec::new() };
    found
        .arguments
        .split_whitespace()
        .enumerate()
        .map(|(index, spec)| match crate::usdt::parse_argument(spec, &found.symbols).ok() {
            Some(argument) => format!("arg{index}: {} ({spec})", crate::usdt::argument_type(&argument)),
            None => format!("arg{index}: ({spec})"),
        })
        .collect()
}

/// `binary:provider:name`, the binary a path that holds no `:`.
fn split_listed(rest: &str) -> Option<(&str, &str, &str)> {
    let (binary_provider, name) = rest.rsplit_once(':')?;
    let (binary, provider) = binary_provider.rsplit_once(':')?;
    Some((binary, provider, name))
}

fn no_such_probe(ap: &AttachPoint, binary: &UserBinary, provider: Option<&str>, name: &str, declared: &[UsdtProbe]) -> Diagnostic {
    let shown = provider.map(|provider| format!("{provider}:{name}")).unwrap_or_else(|| name.to_string());
    let diag = if is_pattern(name) || provider.is_some_and(is_pattern) {
        Diagnostic::error("E0220", format!("no usdt probe of `{}` matches `{shown}`", binary.path))
    } else {
        Diagnostic::error("E0220", format!("`{}` has no usdt probe `{shown}`", binary.path))
    }
    .with_primary(ap.span, "not a probe its .note.stapsdt declares");
    if declared.is_empty() {
        return diag.with_note("this binary declares no usdt probes");
    }
    let names = declared.iter().map(|probe| probe.name.as_str());
    match did_you_mean(&closest(name, names)) {
        Some(help) => diag.with_help(help),
        None => diag.with_note(format!("`ferrotrace -l 'usdt:{}:*'` lists its probes", binary.path)),
    }
}

fn unreadable(ap: &AttachPoint, binary: &UserBinary, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0218", format!("cannot read the usdt probes of `{}`: {error}", binary.path)).with_primary(ap.span, "needed to resolve this probe")
}
