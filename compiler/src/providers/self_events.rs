//! `self:signal:SIGUSR1`: a program ferrotrace runs itself (`BPF_PROG_TEST_RUN`) each time its
//! own process receives the signal, as bpftrace's `self` probes do.

use super::special::RUN_ONCE;
use super::{Provider, ResolvedProbe};
use crate::diagnostic::Diagnostic;
use crate::manifest::Attach;
use crate::syntax::ast::AttachPoint;

pub(super) const PROVIDER: Provider = Provider {
    name: "self",
    written: &["self"],
    resolve,
    list: |_, _| Ok(SIGNALS.iter().map(|signal| format!("self:signal:{signal}")).collect()),
    section: |_| "raw_tp/self".to_string(),
    ..RUN_ONCE
};

/// The signals a `self:signal` probe may wait for: those ferrotrace does not act on itself
/// (SIGINT and SIGTERM stop it).
const SIGNALS: &[&str] = &["SIGUSR1", "SIGUSR2"];

fn resolve(ap: &AttachPoint, _: &super::Scope<'_>) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let ["signal", name] = ap.parts.iter().map(String::as_str).collect::<Vec<_>>()[..] else {
        return Err(Diagnostic::error("E0207", "a self probe is written `self:signal:SIGUSR1`")
            .with_primary(ap.span, "cannot read this probe")
            .with_help("`self:signal:SIGUSR1` runs each time ferrotrace receives SIGUSR1"));
    };
    let full = if name.starts_with("SIG") { name.to_string() } else { format!("SIG{name}") };
    if !SIGNALS.contains(&full.as_str()) {
        return Err(Diagnostic::error("E0204", format!("`{name}` is not a signal a self probe can wait for"))
            .with_primary(ap.span, "not SIGUSR1 or SIGUSR2")
            .with_note("SIGINT and SIGTERM stop ferrotrace; the others keep their usual meaning"));
    }
    let signal = crate::names::signal_number(&full).unwrap_or_default();
    Ok(vec![ResolvedProbe::new(Attach::SelfSignal { signal }, format!("self:signal:{full}"))])
}
