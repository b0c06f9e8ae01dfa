//! `software:event[:count]` (`s:`) and `hardware:event[:count]` (`h:`): the kernel's software
//! events and the CPU's hardware counters, sampled every `count` events on every CPU, as
//! `perf` names them. Programs see the interrupted task's registers.

use super::{no_arguments, Context, Provider, ResolvedProbe};
use crate::diagnostic::{closest, did_you_mean, Diagnostic};
use crate::manifest::{Attach, ProgramType};
use crate::syntax::ast::AttachPoint;

pub(super) const SOFTWARE: Provider = Provider {
    name: "software",
    written: &["software", "s"],
    resolve: |ap, _| resolve(ap, false),
    list: |_, _| Ok(listing("software", SOFTWARE_EVENTS)),
    arguments: no_arguments,
    program: ProgramType::PerfEvent,
    context: Context::SampleRegisters,
    at_return: false,
    user_pointers: false,
    in_traced_task: true,
    shares_programs: false,
    section: |_| "perf_event".to_string(),
};

pub(super) const HARDWARE: Provider = Provider {
    name: "hardware",
    written: &["hardware", "h"],
    resolve: |ap, _| resolve(ap, true),
    list: |_, _| Ok(listing("hardware", HARDWARE_EVENTS)),
    ..SOFTWARE
};

/// One event: its names (the first is how probes are named), the `perf_event_attr.config`
/// that selects it, and how many events make one sample when the script gives no count.
struct Event {
    names: &'static [&'static str],
    config: u64,
    default_count: u64,
}

const SOFTWARE_EVENTS: &[Event] = &[
    Event { names: &["cpu-clock", "cpu"], config: 0, default_count: 1_000_000 },
    Event { names: &["task-clock"], config: 1, default_count: 1_000_000 },
    Event { names: &["page-faults", "faults"], config: 2, default_count: 100 },
    Event { names: &["context-switches", "cs"], config: 3, default_count: 1_000 },
    Event { names: &["cpu-migrations"], config: 4, default_count: 1 },
    Event { names: &["minor-faults"], config: 5, default_count: 100 },
    Event { names: &["major-faults"], config: 6, default_count: 1 },
    Event { names: &["alignment-faults"], config: 7, default_count: 1 },
    Event { names: &["emulation-faults"], config: 8, default_count: 1 },
    Event { names: &["dummy"], config: 9, default_count: 1 },
    Event { names: &["bpf-output"], config: 10, default_count: 1 },
];

const HARDWARE_EVENTS: &[Event] = &[
    Event { names: &["cpu-cycles", "cycles"], config: 0, default_count: 1_000_000 },
    Event { names: &["instructions"], config: 1, default_count: 1_000_000 },
    Event { names: &["cache-references"], config: 2, default_count: 1_000_000 },
    Event { names: &["cache-misses"], config: 3, default_count: 1_000_000 },
    Event { names: &["branch-instructions", "branches"], config: 4, default_count: 100_000 },
    Event { names: &["branch-misses"], config: 5, default_count: 100_000 },
    Event { names: &["bus-cycles"], config: 6, default_count: 100_000 },
    Event { names: &["frontend-stalls"], config: 7, default_count: 1_000_000 },
    Event { names: &["backend-stalls"], config: 8, default_count: 1_000_000 },
    Event { names: &["ref-cycles"], config: 9, default_count: 1_000_000 },
];

fn listing(provider: &str, events: &[Event]) -> Vec<String> {
    events.iter().flat_map(|event| event.names.iter()).map(|name| format!("{provider}:{name}:")).collect()
}

fn resolve(ap: &AttachPoint, hardware: bool) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let (provider, events) = if hardware { ("hardware", HARDWARE_EVENTS) } else { ("software", SOFTWARE_EVENTS) };
    let malformed = || {
        Diagnostic::error("E0207", format!("a {provider} probe is written `{provider}:event:` or `{provider}:event:count`"))
            .with_primary(ap.span, "cannot read this probe")
            .with_help(format!("for example `{provider}:{}:100`", events[0].names[0]))
    };
    let (name, count) = match ap.parts.as_slice() {
        [name] => (name.as_str(), ""),
        [name, count] => (name.as_str(), count.as_str()),
        _ => return Err(malformed()),
    };
    let Some(event) = events.iter().find(|event| event.names.contains(&name)) else {
        let names = events.iter().flat_map(|event| event.names.iter().copied());
        let diag = Diagnostic::error("E0204", format!("`{name}` is not a {provider} event"))
            .with_primary(ap.span, format!("no such {provider} event"))
            .with_note(format!("the events: {}", events.iter().map(|event| event.names.join(" or ")).collect::<Vec<_>>().join(", ")));
        return Err(match did_you_mean(&closest(name, names)) {
            Some(help) => diag.with_help(help),
            None => diag,
        });
    };
    let period = match count {
        "" => event.default_count,
        text => parse_count(text).filter(|n| *n > 0).ok_or_else(|| {
            Diagnostic::error("E0206", format!("`{text}` is not a positive count"))
                .with_primary(ap.span, "cannot read this count")
                .with_help("write a whole number of events: `100`, `1000`, `1e6`")
        })?,
    };
    let attach = Attach::PerfCounter { hardware, config: event.config, period };
    Ok(vec![ResolvedProbe::new(attach, format!("{provider}:{name}:{period}"))])
}

/// `100`, `1_000` or `1e6`.
fn parse_count(text: &str) -> Option<u64> {
    let text = text.replace('_', "");
    match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => mantissa.parse::<u64>().ok()?.checked_mul(10u64.checked_pow(exponent.parse().ok()?)?),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts() {
        assert_eq!(parse_count("100"), Some(100));
        assert_eq!(parse_count("1e6"), Some(1_000_000));
        assert_eq!(parse_count("2_000"), Some(2000));
        assert_eq!(parse_count("x"), None);
        assert_eq!(parse_count("1e30"), None);
    }
}
