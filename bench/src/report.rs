//! The results as data: one row per metric with each tool's value, the ratio
//! ferrotrace/bpftrace, the target and whether ferrotrace meets it. No layout here.

/// What a value measures, which decides how it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ms,
    MiB,
    NsPerEvent,
    Insns,
    /// A plain count (lines, events, probes).
    Count,
    PerSecond,
    /// A ratio of one tool's own values, such as 10k-line time over 1k-line time.
    Times,
}

/// One tool's result for one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Value(f64),
    /// The tool was not run (bpftrace absent, or a metric only one tool has).
    NotRun,
    Timeout,
    Error(String),
}

impl Cell {
    pub fn value(&self) -> Option<f64> {
        match self {
            Cell::Value(value) => Some(*value),
            _ => None,
        }
    }
}

/// What ferrotrace should reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    None,
    /// ferrotrace / bpftrace <= x.
    RatioAtMost(f64),
    /// ferrotrace's value < x.
    Below(f64),
    /// ferrotrace's value <= x.
    AtMost(f64),
    /// ferrotrace's value >= x.
    AtLeast(f64),
}

/// Whether a target is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Met {
    Yes,
    No,
    /// No target, or nothing to judge by (bpftrace not run for a ratio target).
    Unknown,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub row: String,
    pub metric: String,
    pub unit: Unit,
    pub ferrotrace: Cell,
    pub bpftrace: Cell,
    /// Whether ferrotrace/bpftrace means something for this metric.
    pub compare: bool,
    pub target: Target,
}

impl Row {
    /// A compared row without a target.
    pub fn new(row: &str, metric: &str, unit: Unit, ferrotrace: Cell, bpftrace: Cell) -> Row {
        Row {
            row: row.to_string(),
            metric: metric.to_string(),
            unit,
            ferrotrace,
            bpftrace,
            compare: true,
            target: Target::None,
        }
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = target;
        self
    }

    /// The ratio column stays empty: the two values are not meant to be divided.
    pub fn uncompared(mut self) -> Row {
        self.compare = false;
        self
    }

    /// ferrotrace / bpftrace, when both have a value and bpftrace's is not zero.
    pub fn ratio(&self) -> Option<f64> {
        let (ferrotrace, bpftrace) = (self.ferrotrace.value()?, self.bpftrace.value()?);
        (self.compare && bpftrace != 0.0).then(|| ferrotrace / bpftrace)
    }

    pub fn met(&self) -> Met {
        let judge = |ok: bool| if ok { Met::Yes } else { Met::No };
        let ferrotrace = match &self.ferrotrace {
            Cell::Value(value) => *value,
            Cell::NotRun => return Met::Unknown,
            Cell::Timeout | Cell::Error(_) if self.target != Target::None => return Met::No,
            Cell::Timeout | Cell::Error(_) => return Met::Unknown,
        };
        match self.target {
            Target::None => Met::Unknown,
            Target::RatioAtMost(limit) => match (&self.bpftrace, self.ratio()) {
                (_, Some(ratio)) => judge(ratio <= limit),
                // bpftrace timing out where ferrotrace finished is a win; an error tells nothing.
                (Cell::Timeout, None) => Met::Yes,
                _ => Met::Unknown,
            },
            Target::Below(limit) => judge(ferrotrace < limit),
            Target::AtMost(limit) => judge(ferrotrace <= limit),
            Target::AtLeast(limit) => judge(ferrotrace >= limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Cell, Met, Row, Target, Unit};

    fn row(ferrotrace: Cell, bpftrace: Cell, target: Target) -> Row {
        Row::new("startup", "wall", Unit::Ms, ferrotrace, bpftrace).target(target)
    }

    #[test]
    fn ratio_targets_compare_ferrotrace_to_bpftrace() {
        let met = row(Cell::Value(5.0), Cell::Value(100.0), Target::RatioAtMost(0.1));
        assert_eq!(met.ratio(), Some(0.05));
        assert_eq!(met.met(), Met::Yes);
        let missed = row(Cell::Value(20.0), Cell::Value(100.0), Target::RatioAtMost(0.1));
        assert_eq!(missed.met(), Met::No);
        let edge = row(Cell::Value(10.0), Cell::Value(100.0), Target::RatioAtMost(0.1));
        assert_eq!(edge.met(), Met::Yes);
    }

    #[test]
    fn without_bpftrace_a_ratio_target_cannot_be_judged() {
        let alone = row(Cell::Value(5.0), Cell::NotRun, Target::RatioAtMost(0.1));
        assert_eq!(alone.ratio(), None);
        assert_eq!(alone.met(), Met::Unknown);
        let bpftrace_timed_out = row(Cell::Value(5.0), Cell::Timeout, Target::RatioAtMost(0.1));
        assert_eq!(bpftrace_timed_out.met(), Met::Yes);
        let bpftrace_failed = row(Cell::Value(5.0), Cell::Error("no bpftrace".into()), Target::RatioAtMost(0.1));
        assert_eq!(bpftrace_failed.met(), Met::Unknown);
        let zero = row(Cell::Value(5.0), Cell::Value(0.0), Target::RatioAtMost(0.1));
        assert_eq!(zero.ratio(), None);
    }

    #[test]
    fn a_failed_ferrotrace_misses_its_target() {
        let failed = row(Cell::Error("boom".into()), Cell::Value(100.0), Target::RatioAtMost(0.1));
        assert_eq!(failed.met(), Met::No);
        assert_eq!(row(Cell::Timeout, Cell::NotRun, Target::Below(100.0)).met(), Met::No);
        assert_eq!(row(Cell::Error("boom".into()), Cell::NotRun, Target::None).met(), Met::Unknown);
    }

    #[test]
    fn value_targets_look_at_ferrotrace_alone() {
        assert_eq!(row(Cell::Value(99.9), Cell::NotRun, Target::Below(100.0)).met(), Met::Yes);
        assert_eq!(row(Cell::Value(100.0), Cell::NotRun, Target::Below(100.0)).met(), Met::No);
        assert_eq!(row(Cell::Value(0.0), Cell::Value(7.0), Target::AtMost(0.0)).met(), Met::Yes);
        assert_eq!(row(Cell::Value(199_999.0), Cell::NotRun, Target::AtLeast(200_000.0)).met(), Met::No);
        assert_eq!(row(Cell::Value(1.0), Cell::Value(2.0), Target::None).met(), Met::Unknown);
    }

    #[test]
    fn uncompared_rows_have_no_ratio() {
        let probes = Row::new("wide wildcards", "probes", Unit::Count, Cell::Value(300.0), Cell::Value(300.0));
        assert_eq!(probes.ratio(), Some(1.0));
        assert_eq!(probes.uncompared().ratio(), None);
    }
}
