//! `uprobe:binary:function` (`u:`) and `uretprobe:` (`ur:`): functions of a userspace binary,
//! by symbol (wildcards, C++ and Rust names demangled, `+offset`) or by address (`0x1234`).
//! With `-p` or `-c` the binary may be left out (`uprobe:function`: the process's program).
//! Programs read the function's registers, and pointers point into user memory.

use super::{glob_match, is_pattern, user_binaries, user_parameters, Context, Provider, ResolvedProbe, Scope, UserParameters};
use crate::catalog::{CatalogError, UserBinary, UserFunction};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const UPROBE: Provider = Provider {
    name: "uprobe",
    written: &["uprobe", "u"],
    resolve: |ap, scope| resolve(ap, scope, false),
    list,
    arguments: user_parameters::listing,
    program: ProgramType::Kprobe,
    context: Context::FunctionRegisters,
    at_return: false,
    user_pointers: true,
    in_traced_task: true,
    shares_programs: true,
    section: |attach| match attach {
        Attach::Uprobe { function, .. } => format!("uprobe/{function}"),
        _ => "uprobe".to_string(),
    },
};

pub(super) const URETPROBE: Provider = Provider {
    name: "uretprobe",
    written: &["uretprobe", "ur"],
    resolve: |ap, scope| resolve(ap, scope, true),
    list: super::nothing_to_list,
    at_return: true,
    section: |attach| match attach {
        Attach::Uprobe { function, .. } => format!("uretprobe/{function}"),
        _ => "uretprobe".to_string(),
    },
    ..UPROBE
};

/// What the function part of a uprobe names.
enum Function<'a> {
    /// A symbol or a pattern over symbols, `offset` bytes in.
    Symbol { pattern: &'a str, offset: u64, demangled_only: bool },
    /// A virtual address of the binary.
    Address(u64),
}

/// `uprobe:[binary:][cpp:]function[+offset]` and `uretprobe:` the same way without an offset.
fn resolve(ap: &AttachPoint, scope: &Scope<'_>, retprobe: bool) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let provider = if retprobe { "uretprobe" } else { "uprobe" };
    let malformed = |message: String, label: &str| {
        Diagnostic::error("E0216", message)
            .with_primary(ap.span, label.to_string())
            .with_help(format!("for example `{provider}:/bin/bash:readline` or `{provider}:libc:malloc`"))
    };
    let (binary, language, written) = match ap.parts.as_slice() {
        [function] => (None, None, function.as_str()),
        [binary, function] => (Some(binary.as_str()), None, function.as_str()),
        [binary, language, function] => (Some(binary.as_str()), Some(language.as_str()), function.as_str()),
        parts => {
            return Err(malformed(
                format!("a {provider} is written `{provider}:binary:function`"),
                &format!("this has {} part(s) after the probe type", parts.len()),
            ))
        }
    };
    if language.is_some_and(|language| language != "cpp") {
        return Err(malformed("the language of a userspace function can only be `cpp`".into(), "write `cpp` or leave it out"));
    }
    if written.is_empty() {
        return Err(malformed(format!("the {provider} names no function"), "add the function's name"));
    }
    let function = parse_function(written, language.is_some()).map_err(|(message, label)| malformed(message, label))?;
    if retprobe && matches!(function, Function::Symbol { offset: 1.., .. }) {
        return Err(malformed("a uretprobe attaches to a function's return, not to an offset".into(), "remove the `+offset`"));
    }
    let pid = scope.traced_pid();
    // Among several binaries, those without the function or note are passed over.
    let several = binary.is_some_and(crate::catalog::names_several_binaries);
    let mut probes = Vec::new();
    for binary in user_binaries::resolve(ap, binary, scope, provider)? {
        let attach = |function: String, offset: u64| {
            let name = format!("{provider}:{}:{function}", binary.path);
            let mut probe = ResolvedProbe::new(Attach::Uprobe { binary: binary.file.clone(), function, offset, retprobe, pid }, name);
            if scope.reads_parameters {
                probe.parameters = UserParameters::Unknown { why: "the probe is at an address, not at a function's entry".to_string() };
            }
            probe
        };
        match &function {
            Function::Address(address) => {
                let offset = match scope.catalog.file_offset(&binary, *address) {
                    Ok(offset) => offset,
                    Err(_) if several => continue,
                    Err(error) => return Err(address_error(ap, &binary, *address, &error)),
                };
                probes.push(attach(written.to_string(), offset));
            }
            Function::Symbol { pattern, offset, demangled_only } => {
                let functions = match scope.catalog.user_functions(&binary) {
                    Ok(functions) => functions,
                    Err(_) if several => continue,
                    Err(error) => return Err(unreadable(ap, &binary, &error)),
                };
                let mut matched: Vec<&UserFunction> =
                    functions.iter().filter(|function| matches(pattern, function, *demangled_only)).collect();
                matched.sort_by(|a, b| a.name.cmp(&b.name));
                matched.dedup_by(|a, b| a.name == b.name);
                if matched.is_empty() && several {
                    continue;
                }
                if matched.is_empty() {
                    return Err(no_such_function(ap, provider, &binary, pattern, &functions));
                }
                for function in matched {
                    if *offset > 0 && function.size > 0 && *offset >= function.size {
                        return Err(malformed(
                            format!("`+{offset}` is past the end of `{}` ({} bytes)", function.name, function.size),
                            "an offset must be inside the function",
                        ));
                    }
                    let suffix = if *offset > 0 { format!("+{offset}") } else { String::new() };
                    let mut probe = attach(function.name.clone(), function.file_offset + offset);
                    probe.name.push_str(&suffix);
                    if scope.reads_parameters && *offset > 0 {
                        probe.parameters = UserParameters::Unknown { why: format!("the probe is {offset} bytes into the function, past its entry, where they are described") };
                    } else if scope.reads_parameters {
                        (probe.parameters, probe.module_types) = user_parameters::read(scope.catalog, &binary, &function.name);
                    }
                    probes.push(probe);
                }
            }
        }
    }
    if probes.is_empty() {
        return Err(Diagnostic::error("E0219", format!("no function matches `{written}` in the binaries of `{}`", ap.raw))
            .with_primary(ap.span, "nothing to attach to"));
    }
    Ok(probes)
}

/// A function part: `0x1234`, `name`, `name+16`, `name+0x10`, a pattern.
fn parse_function(written: &str, demangled_only: bool) -> Result<Function<'_>, (String, &'static str)> {
    if let Some(hex) = written.strip_prefix("0x").or_else(|| written.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16)
            .map(Function::Address)
            .map_err(|_| (format!("`{written}` is not an address"), "an address is written in hex, `0x1234`"));
    }
    let (pattern, offset) = match written.rsplit_once('+') {
        Some((pattern, offset)) if !pattern.is_empty() => {
            let parsed = match offset.strip_prefix("0x").or_else(|| offset.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => offset.parse().ok(),
            };
            let offset = parsed.ok_or_else(|| (format!("`{offset}` is not an offset"), "write a byte offset like `+0x10` or `+16`"))?;
            if is_pattern(pattern) {
                return Err(("a wildcard cannot have an offset".into(), "an offset needs one function"));
            }
            (pattern, offset)
        }
        _ => (written, 0),
    };
    Ok(Function::Symbol { pattern, offset, demangled_only })
}

/// Whether `function` is one `pattern` names: its symbol, or its demangled name (without the
/// argument list, unless the pattern has one).
fn matches(pattern: &str, function: &UserFunction, demangled_only: bool) -> bool {
    (!demangled_only && glob_match(pattern, &function.name))
        || function.demangled.as_deref().is_some_and(|demangled| glob_match(pattern, demangled))
}

/// `uprobe:binary:function` for every function of the binaries the pattern names (for
/// `uprobe:*:...`, or any pattern with `-p`, every binary of the process).
fn list(scope: &Scope<'_>, pattern: &str) -> Result<Vec<String>, CatalogError> {
    let Some(binary) = listed_binary(pattern, &["uprobe", "u"], scope) else { return Ok(Vec::new()) };
    let binaries = match scope.catalog.user_binaries(&binary, scope.target_pid) {
        Ok(binaries) => binaries,
        Err(CatalogError::NotFound(_)) => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut names = Vec::new();
    for binary in binaries {
        let Ok(functions) = scope.catalog.user_functions(&binary) else { continue };
        let mut functions: Vec<String> = functions.into_iter().map(|f| f.name).collect();
        functions.sort();
        functions.dedup();
        names.extend(functions.into_iter().map(|function| format!("uprobe:{}:{function}", binary.path)));
    }
    Ok(names)
}

/// The binary part of a `-l` pattern for a userspace provider written with one of `names`:
/// `uprobe:/bin/bash:*` lists `/bin/bash`, `uprobe:/usr/bin/*sh:*` every file the path
/// pattern matches. A pattern naming no binary (or `*`) lists every binary of the `-p`
/// process, and nothing without one.
pub(super) fn listed_binary(pattern: &str, names: &[&str], scope: &Scope<'_>) -> Option<String> {
    let rest = pattern.split_once(':').filter(|(provider, _)| names.contains(provider)).map(|(_, rest)| rest);
    match rest.and_then(|rest| rest.split_once(':')) {
        Some((binary, _)) if !binary.is_empty() && (!crate::catalog::names_several_binaries(binary) || binary.contains('/')) => Some(binary.to_string()),
        _ => scope.target_pid.map(|_| "*".to_string()),
    }
}

fn no_such_function(ap: &AttachPoint, provider: &str, binary: &UserBinary, pattern: &str, functions: &[UserFunction]) -> Diagnostic {
    let diag = if is_pattern(pattern) {
        Diagnostic::error("E0219", format!("no function of `{}` matches `{pattern}`", binary.path))
    } else {
        Diagnostic::error("E0219", format!("no function `{pattern}` in `{}` to attach a {provider} to", binary.path))
    }
    .with_primary(ap.span, "not a function symbol of this binary");
    let names = functions.iter().flat_map(|function| std::iter::once(function.name.as_str()).chain(function.demangled.as_deref()));
    match did_you_mean(&closest(pattern, names)) {
        Some(help) => diag.with_help(help),
        None => diag.with_note(format!("`ferrotrace -l '{provider}:{}:*'` lists its functions", binary.path)),
    }
}

fn address_error(ap: &AttachPoint, binary: &UserBinary, address: u64, error: &CatalogError) -> Diagnostic {
    match error {
        CatalogError::NotFound(_) => Diagnostic::error("E0219", format!("address {address:#x} is not in a loaded segment of `{}`", binary.path))
            .with_primary(ap.span, "no code at this address")
            .with_help("give a virtual address as `nm` or `objdump -d` show it"),
        other => unreadable(ap, binary, other),
    }
}

fn unreadable(ap: &AttachPoint, binary: &UserBinary, error: &CatalogError) -> Diagnostic {
    Diagnostic::error("E0218", format!("cannot read the symbols of `{}`: {error}", binary.path)).with_primary(ap.span, "needed to resolve this probe")
}
