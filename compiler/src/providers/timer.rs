//! `interval:` (`i:`) and `profile:` (`p:`): software cpu-clock perf events, on one CPU every
//! period or on every CPU at a rate. Programs see the interrupted task's registers.

use super::{no_arguments, nothing_to_list, Context, Provider, ResolvedProbe};
use crate::diagnostic::Diagnostic;
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const INTERVAL: Provider = Provider {
    name: "interval",
    written: &["interval", "i"],
    resolve: |ap, _| resolve(ap, "interval"),
    list: nothing_to_list,
    arguments: no_arguments,
    program: ProgramType::PerfEvent,
    context: Context::SampleRegisters,
    at_return: false,
    user_pointers: false,
    in_traced_task: false,
    shares_programs: false,
    section: |_| "perf_event".to_string(),
};

pub(super) const PROFILE: Provider =
    Provider { name: "profile", written: &["profile", "p"], resolve: |ap, _| resolve(ap, "profile"), in_traced_task: true, ..INTERVAL };

/// `interval:s:1`, `interval:ms:10`, `interval:us:N`, `interval:hz:N`, `interval:1s`,
/// `interval:N` (nanoseconds), `profile:hz:99`, `profile:ms:10`.
fn resolve(ap: &AttachPoint, provider: &str) -> Result<Vec<ResolvedProbe>, Diagnostic> {
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
    Ok(vec![ResolvedProbe::new(attach, format!("{provider}:{unit}:{count}"))])
}

/// `1s` -> ("s", "1"); `100ms` -> ("ms", "100").
fn split_number_unit(text: &str) -> Option<(&str, &str)> {
    let digits = text.find(|c: char| !c.is_ascii_digit() && c != '_')?;
    if digits == 0 {
        return None;
    }
    Some((&text[digits..], &text[..digits]))
}

#[cfg(test)]
mod tests {
    use super::split_number_unit;

    #[test]
    fn number_unit_split() {
        assert_eq!(split_number_unit("1s"), Some(("s", "1")));
        assert_eq!(split_number_unit("250ms"), Some(("ms", "250")));
        assert_eq!(split_number_unit("s"), None);
    }
}
