//! `test:NAME` and `bench:NAME`: programs `--test` runs once and `--bench` runs many times
//! with `BPF_PROG_TEST_RUN`.

use super::special::RUN_ONCE;
use super::{Provider, ResolvedProbe};
use crate::diagnostic::Diagnostic;
use crate::manifest::Attach;
use crate::syntax::ast::AttachPoint;

pub(super) const TEST: Provider = Provider { name: "test", written: &["test"], resolve, ..RUN_ONCE };

pub(super) const BENCH: Provider = Provider { name: "bench", written: &["bench"], resolve, ..RUN_ONCE };

fn resolve(ap: &AttachPoint, _: &super::Scope<'_>) -> Result<Vec<ResolvedProbe>, Diagnostic> {
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
    Ok(vec![ResolvedProbe::new(attach, format!("{kind}:{name}"))])
}
