//! The script's configuration as sema applies it: the config block's keys checked and set
//! (the environment over them), attach points that match nothing under `missing_probes`, and
//! the `max_bpf_progs` limit.

use crate::config::{Config, ConfigError, MissingProbes};
use crate::diagnostic::Diagnostic;
use crate::syntax::ast;

/// The configuration: defaults, then the script's items, then the environment.
pub(super) fn resolve(items: &[ast::ConfigItem], env: &[(String, String)], diags: &mut Vec<Diagnostic>) -> Config {
    let mut config = Config::default();
    for item in items {
        match config.set(&item.key.name, &item.value, false) {
            Ok(None) => {}
            Ok(Some(warning)) => diags.push(Diagnostic::warning("W0403", warning).with_primary(item.key.span, "this key")),
            Err(error) => diags.push(config_error(&error, item)),
        }
    }
    // Checked by the caller before compiling: a bad value here was already reported.
    let _ = config.apply_environment(env);
    config
}

fn config_error(error: &ConfigError, item: &ast::ConfigItem) -> Diagnostic {
    match error {
        ConfigError::UnknownKey { suggestion, .. } => {
            let diag = Diagnostic::error("E0436", error.to_string()).with_primary(item.key.span, "unknown key");
            match suggestion {
                Some(key) => diag.with_help(format!("did you mean `{key}`?")),
                None => diag.with_note("docs/compatibility.md lists every configuration key"),
            }
        }
        ConfigError::BadValue { .. } => {
            Diagnostic::error("E0437", error.to_string()).with_primary(item.value_span, "not a value this key takes")
        }
        ConfigError::EnvironmentOnly { .. } => {
            Diagnostic::error("E0438", error.to_string()).with_primary(item.key.span, "set it in the environment")
        }
    }
}

/// An attach point that failed to resolve, under `missing_probes`: an error as it is when the
/// key is `error` or when the attach point is malformed; a warning or nothing when it only
/// matches nothing on this kernel.
pub(super) fn missing_probe(diag: Diagnostic, missing: MissingProbes) -> Option<Diagnostic> {
    // E0204: no such tracepoint; E0209: no such kernel function.
    let matches_nothing = matches!(diag.code, "E0204" | "E0209");
    match (missing, matches_nothing) {
        (MissingProbes::Error, _) | (_, false) => Some(diag),
        (MissingProbes::Warn, true) => Some(Diagnostic { severity: crate::diagnostic::Severity::Warning, ..diag }),
        (MissingProbes::Ignore, true) => None,
    }
}

/// More programs than `max_bpf_progs` allows.
pub(super) fn too_many_programs(count: usize, config: &Config, program: &ast::Program) -> Diagnostic {
    let span = program.probes.first().map_or(program.span, |p| p.span);
    Diagnostic::error("E0439", format!("the script needs {count} BPF programs, more than `max_bpf_progs` ({})", config.max_bpf_progs))
        .with_primary(span, "from these probes")
        .with_help(format!("raise the limit: `config = {{ max_bpf_progs = {count} }}` or BPFTRACE_MAX_BPF_PROGS={count}"))
}
