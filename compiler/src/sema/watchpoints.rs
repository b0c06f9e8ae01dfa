//! The uprobe behind each `watchpoint:function+argN` probe: a program of its own, with no
//! script body, that reports the argument to the runtime (`hir::Action::Watch`), stopping the
//! process first unless the watchpoint is asynchronous. It is named after the uprobe in
//! messages, but it is no probe of the script's: its target carries the watchpoint's probe id,
//! and `-l` and `probe` know only the watchpoint.

use super::hir::{self, Action, Expr, ExprKind, Stmt, StmtKind};
use super::ExpandedProbe;
use crate::manifest::Target;
use crate::types::Ty;

/// A setup probe for each expanded watchpoint (by probe id) that watches a function's argument.
pub(super) fn setup_probes(expanded: &[ExpandedProbe<'_>]) -> Vec<hir::Probe> {
    let mut probes = Vec::new();
    for (watchpoint, probe) in expanded.iter().enumerate() {
        let Some(setup) = &probe.resolved.setup else { continue };
        let Some(register) = crate::pt_regs::argument(usize::from(setup.argument)) else { continue };
        let span = probe.span;
        let address = Expr::new(ExprKind::Register(register), Ty::U64, span);
        let watch = Action::Watch { address: Box::new(address), probe: watchpoint as u32, stop: setup.stop };
        let report = Expr::new(ExprKind::Action(Box::new(watch)), Ty::Void, span);
        probes.push(hir::Probe {
            targets: vec![Target { attach: setup.uprobe.clone(), probe_id: watchpoint as u32 }],
            name: setup.name.clone(),
            attach_points: 1,
            span,
            predicate: None,
            body: vec![Stmt { kind: StmtKind::Expr(report), span }],
            locals: Vec::new(),
            user_pointers: true,
            dispatch: None,
        });
    }
    probes
}
