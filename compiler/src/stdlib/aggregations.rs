//! Aggregations: only valid as the value of a map assignment (`@m[k] = count()`), where
//! `sema` checks them; called anywhere else they are an error.

use super::{Call, Function, Kind, Lowering};
use crate::diagnostic::Diagnostic;
use crate::sema::hir::Expr;
use crate::sema::Checker;

pub(super) const ENTRIES: &[Function] = &[
    aggregation("count", "@m = count()", "Counts the times it runs."),
    aggregation("sum", "@m = sum(int n)", "Sums its argument."),
    aggregation("min", "@m = min(int n)", "Keeps the smallest argument."),
    aggregation("max", "@m = max(int n)", "Keeps the largest argument."),
    aggregation("avg", "@m = avg(int n)", "Averages its argument (integer division)."),
    aggregation("stats", "@m = stats(int n)", "Keeps count, average and total of its argument."),
    aggregation("hist", "@m = hist(int n [, int k])", "A power-of-two histogram; `k` (0-5) splits each power of two into 2^k buckets."),
    aggregation("lhist", "@m = lhist(int n, int min, int max, int step)", "A linear histogram from `min` to `max` in steps of `step`."),
    aggregation(
        "tseries",
        "@m = tseries(int n, int interval, int intervals [, \"avg\" | \"max\" | \"min\" | \"sum\"])",
        "A time series: `n` in each `interval` (a literal: `100ms`, `1s`) of the last `intervals`, \
         the last value written or their average, maximum, minimum or sum. Printed as a chart.",
    ),
];

const fn aggregation(name: &'static str, signature: &'static str, doc: &'static str) -> Function {
    Function { name, signature, kind: Kind::Aggregation, doc, check: outside_a_map_assignment, lower: Lowering::Elsewhere }
}

fn outside_a_map_assignment(c: &mut Checker, call: &Call<'_>, _: &mut crate::sema::ProbeCx<'_>) -> Expr {
    let name = &call.name.name;
    c.error_expr(
        Diagnostic::error("E0501", format!("`{name}()` can only be assigned to a map"))
            .with_primary(call.span, "an aggregation, not a value")
            .with_help(format!("write `@name = {name}(...)`")),
        call.span,
    )
}
