//! What an events file holds, for `ferrotrace replay FILE` without a script: where it came from,
//! each probe's events, the time they span, the CPUs they ran on and what the recording lost,
//! so whoever is handed a recording knows which questions it can answer.

use std::fmt;

use crate::error::ReplayError;
use crate::source::Source;

/// The counts of one pass over a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `recorded by ...`, or what the lines are.
    pub origin: String,
    /// Every probe the events may hold, in the source's order, and how many they hold.
    pub probes: Vec<(String, u64)>,
    /// The first event's time and the last's (or when recording stopped), nanoseconds.
    pub span_ns: Option<(u64, u64)>,
    pub cpus: u32,
    pub lost: u64,
}

impl Summary {
    /// Reads every event of `source`.
    pub fn of(source: &mut Source) -> Result<Summary, ReplayError> {
        let mut probes: Vec<(String, u64)> = source.probes.iter().map(|probe| (probe.clone(), 0)).collect();
        let mut span: Option<(u64, u64)> = None;
        while let Some(event) = source.next_event()? {
            match probes.iter_mut().find(|(probe, _)| *probe == *event.probe) {
                Some((_, count)) => *count += 1,
                None => probes.push((event.probe.to_string(), 1)),
            }
            span = Some(span.map_or((event.time_ns, event.time_ns), |(first, last)| (first.min(event.time_ns), last.max(event.time_ns))));
        }
        if let (Some((first, last)), Some(end)) = (span, source.end_ns()) {
            span = Some((first, last.max(end)));
        }
        Ok(Summary { origin: source.origin.clone(), probes, span_ns: span, cpus: source.clocks.cpus, lost: source.lost() })
    }

    fn events(&self) -> u64 {
        self.probes.iter().map(|(_, count)| count).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpus = if self.cpus == 1 { "1 CPU".to_string() } else { format!("{} CPUs", self.cpus) };
        writeln!(f, "{}, {cpus}", self.origin)?;
        let width = self.probes.iter().map(|(_, count)| count.to_string().len()).max().unwrap_or(1);
        for (probe, count) in &self.probes {
            writeln!(f, "  {count:>width$}  {probe}")?;
        }
        let events = match self.events() {
            1 => "1 event".to_string(),
            count => format!("{count} events"),
        };
        let span = match self.span_ns {
            Some((first, last)) => format!(" over {:.3} s", (last - first) as f64 / 1e9),
            None => String::new(),
        };
        let lost = match self.lost {
            0 => "none lost".to_string(),
            count => format!("{count} lost"),
        };
        writeln!(f, "{events}{span}; {lost}")
    }
}

#[cfg(test)]
mod tests {
    use super::Summary;

    #[test]
    fn a_summary_counts_each_probe_and_says_what_was_lost() {
        let summary = Summary {
            origin: "recorded by ferrotrace 0.1.0 on Linux 6.18.0 (x86_64)".into(),
            probes: vec![("tracepoint:syscalls:sys_enter_openat".into(), 1204), ("tracepoint:sched:sched_switch".into(), 7)],
            span_ns: Some((1_000_000_000, 4_201_000_000)),
            cpus: 2,
            lost: 3,
        };
        assert_eq!(
            summary.to_string(),
            "recorded by ferrotrace 0.1.0 on Linux 6.18.0 (x86_64), 2 CPUs\n  1204  tracepoint:syscalls:sys_enter_openat\n     7  tracepoint:sched:sched_switch\n1211 events over 3.201 s; 3 lost\n"
        );
        let empty = Summary { origin: "synthetic events (JSON lines)".into(), probes: Vec::new(), span_ns: None, cpus: 1, lost: 0 };
        assert_eq!(empty.to_string(), "synthetic events (JSON lines), 1 CPU\n0 events; none lost\n");
    }
}
