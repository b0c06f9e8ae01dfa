//! Repeated measurements of one tool: their median, or what stopped them.

use crate::report::Cell;

/// The median (the mean of the middle two for an even count); `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

/// One tool's runs of one measurement. After a failure it takes no more values: the cell shows
/// the failure, and callers skip the remaining runs (see [`Samples::stopped`]).
#[derive(Debug, Default, Clone)]
pub struct Samples {
    values: Vec<f64>,
    failure: Option<Cell>,
}

impl Samples {
    pub fn push(&mut self, value: f64) {
        if self.failure.is_none() {
            self.values.push(value);
        }
    }

    /// Records an error; the first failure is the one shown.
    pub fn fail(&mut self, message: impl Into<String>) {
        self.failure.get_or_insert(Cell::Error(message.into()));
    }

    pub fn time_out(&mut self) {
        self.failure.get_or_insert(Cell::Timeout);
    }

    /// A failure happened: run no more.
    pub fn stopped(&self) -> bool {
        self.failure.is_some()
    }

    /// The median, the failure, or `NotRun` when nothing was measured.
    pub fn cell(&self) -> Cell {
        match (&self.failure, median(&self.values)) {
            (Some(failure), _) => failure.clone(),
            (None, Some(median)) => Cell::Value(median),
            (None, None) => Cell::NotRun,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{median, Samples};
    use crate::report::Cell;

    #[test]
    fn median_of_odd_even_and_no_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn samples_show_the_first_failure() {
        let mut samples = Samples::default();
        assert_eq!(samples.cell(), Cell::NotRun);
        samples.push(2.0);
        samples.push(4.0);
        assert_eq!(samples.cell(), Cell::Value(3.0));
        samples.time_out();
        samples.fail("later");
        assert!(samples.stopped());
        assert_eq!(samples.cell(), Cell::Timeout);
    }
}
