//! `begin` and `end`: programs run once with `BPF_PROG_TEST_RUN`, before the other probes
//! attach and after they detach.

use super::{no_arguments, nothing_to_list, Context, Provider, ResolvedProbe};
use crate::diagnostic::Diagnostic;
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const BEGIN: Provider = Provider {
    name: "special",
    written: &["begin"],
    resolve: |ap, _| resolve(ap, Attach::Begin, "begin"),
    list: |_, _| Ok(vec!["begin".to_string()]),
    ..RUN_ONCE
};

pub(super) const END: Provider = Provider {
    name: "special",
    written: &["end"],
    resolve: |ap, _| resolve(ap, Attach::End, "end"),
    list: |_, _| Ok(vec!["end".to_string()]),
    ..RUN_ONCE
};

/// What every provider whose programs userspace runs once shares.
pub(super) const RUN_ONCE: Provider = Provider {
    name: "special",
    written: &[],
    resolve: |ap, _| Err(takes_nothing(ap)),
    list: nothing_to_list,
    arguments: no_arguments,
    program: ProgramType::RunOnce,
    context: Context::None,
    at_return: false,
    user_pointers: false,
    in_traced_task: false,
    shares_programs: false,
    section: |attach| format!("raw_tp/{}", attach.provider().written[0]),
};

fn resolve(ap: &AttachPoint, attach: Attach, name: &str) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    if !ap.parts.is_empty() {
        return Err(takes_nothing(ap));
    }
    Ok(vec![ResolvedProbe::new(attach, name.to_string())])
}

fn takes_nothing(ap: &AttachPoint) -> Diagnostic {
    Diagnostic::error("E0201", format!("`{}` takes no arguments", ap.provider))
        .with_primary(ap.span, "remove everything after the probe name")
}
