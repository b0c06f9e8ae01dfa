//! Bucket counts to printable histograms: picks the rows bpftrace prints (first to last
//! non-zero bucket) and labels them the way bpftrace does, K/M suffixes included.

use ferrotrace_compiler::buckets::{self, Edge};

use super::value::{BucketLabel, HistRow, Histogram, LabelNumber};

/// Which histogram function made the counts, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistogramKind {
    /// `hist(n, k)`.
    Log2 { k: u8 },
    /// `lhist(n, min, max, step)`.
    Linear { min: i64, max: i64, step: i64 },
}

impl HistogramKind {
    pub fn bucket_count(self) -> u64 {
        match self {
            HistogramKind::Log2 { k } => buckets::hist_bucket_count(k),
            HistogramKind::Linear { min, max, step } => buckets::lhist_bucket_count(min, max, step),
        }
    }

    fn row(self, index: u64, count: u64) -> HistRow {
        match self {
            HistogramKind::Log2 { k } => HistRow {
                label: log2_label(index, k),
                bounds: buckets::hist_bucket_bounds(index, k),
                count,
            },
            HistogramKind::Linear { min, max, step } => HistRow {
                label: linear_label(index, min, max, step),
                bounds: buckets::lhist_bucket_bounds(index, min, max, step),
                count,
            },
        }
    }
}

/// The rows of one histogram from its counts by bucket index. `hist` counts are divided by
/// `div`; like bpftrace, `lhist` ignores `div`, and the rows printed are chosen before
/// dividing. All-zero counts give no rows.
pub fn build_histogram(kind: HistogramKind, counts: &[u64], div: u64) -> Histogram {
    let first = counts.iter().position(|&count| count > 0);
    let last = counts.iter().rposition(|&count| count > 0);
    let (Some(first), Some(last)) = (first, last) else {
        return Histogram::default();
    };
    let div = match kind {
        HistogramKind::Log2 { .. } => div.max(1),
        HistogramKind::Linear { .. } => 1,
    };
    let rows = (first..=last)
        .map(|index| kind.row(index as u64, counts[index] / div))
        .collect();
    Histogram { rows }
}

fn log2_label(index: u64, k: u8) -> BucketLabel {
    match buckets::hist_bucket_start(index, k) {
        None => BucketLabel::Below(LabelNumber::plain(0)),
        Some(start) if index <= 2 << k => BucketLabel::Single(log2_number(start)),
        Some(start) => BucketLabel::Range(
            log2_number(start),
            log2_number(buckets::hist_bucket_end(index, k)),
        ),
    }
}

/// bpftrace writes a hist edge `m << s` as `m << (s % 10)` with the suffix for `1024^(s / 10)`.
fn log2_number(edge: Edge) -> LabelNumber {
    const SUFFIXES: [Option<char>; 7] = [
        None,
        Some('K'),
        Some('M'),
        Some('G'),
        Some('T'),
        Some('P'),
        Some('E'),
    ];
    LabelNumber {
        mantissa: (edge.mantissa << (edge.shift % 10)) as i64,
        suffix: SUFFIXES.get((edge.shift / 10) as usize).copied().flatten(),
    }
}

fn linear_label(index: u64, min: i64, max: i64, step: i64) -> BucketLabel {
    let number = |value| linear_number(value, step);
    let start = buckets::lhist_bucket_start(index, min, step);
    match (start, buckets::lhist_bucket_end(index, min, max, step)) {
        (None, _) => BucketLabel::Below(number(min)),
        (Some(start), None) => BucketLabel::AtLeast(number(start)),
        // bpftrace prints a one-value bucket as `[n]` when its labels are plain numbers.
        (Some(start), Some(_)) if step == 1 => BucketLabel::Single(number(start)),
        (Some(start), Some(end)) => BucketLabel::Range(number(start), number(end)),
    }
}

/// lhist labels use K/M only when `step` is a multiple of 1024, and then only for exact
/// multiples.
fn linear_number(value: i64, step: i64) -> LabelNumber {
    const KILO: i64 = 1024;
    const MEGA: i64 = 1024 * 1024;
    let scaled = |mantissa, suffix| LabelNumber {
        mantissa,
        suffix: Some(suffix),
    };
    if step % KILO != 0 || value == 0 {
        LabelNumber::plain(value)
    } else if value % MEGA == 0 {
        scaled(value / MEGA, 'M')
    } else if value % KILO == 0 {
        scaled(value / KILO, 'K')
    } else {
        LabelNumber::plain(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(mantissa: i64, suffix: Option<char>) -> LabelNumber {
        LabelNumber { mantissa, suffix }
    }

    fn labels(kind: HistogramKind, indexes: &[u64]) -> Vec<BucketLabel> {
        indexes
            .iter()
            .map(|&index| kind.row(index, 0).label)
            .collect()
    }

    #[test]
    fn log2_labels_scale_by_1024() {
        let got = labels(HistogramKind::Log2 { k: 0 }, &[0, 1, 2, 3, 11, 12, 22, 64]);
        let expected = vec![
            BucketLabel::Below(number(0, None)),
            BucketLabel::Single(number(0, None)),
            BucketLabel::Single(number(1, None)),
            BucketLabel::Range(number(2, None), number(4, None)),
            BucketLabel::Range(number(512, None), number(1, Some('K'))),
            BucketLabel::Range(number(1, Some('K')), number(2, Some('K'))),
            BucketLabel::Range(number(1, Some('M')), number(2, Some('M'))),
            BucketLabel::Range(number(4, Some('E')), number(8, Some('E'))),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn log2_labels_with_sub_buckets() {
        // k = 2: 0..=7 are single values, then quarters of each power of two.
        let got = labels(HistogramKind::Log2 { k: 2 }, &[8, 9, 12, 37, 38]);
        let expected = vec![
            BucketLabel::Single(number(7, None)),
            BucketLabel::Range(number(8, None), number(10, None)),
            BucketLabel::Range(number(14, None), number(16, None)),
            // bpftrace scales by the shift, not the value: 4 << 8 prints as 1024, not 1K.
            BucketLabel::Range(number(1024, None), number(1280, None)),
            BucketLabel::Range(number(1280, None), number(1536, None)),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn linear_labels_use_suffixes_only_for_kilo_steps() {
        let plain = HistogramKind::Linear {
            min: 0,
            max: 10,
            step: 2,
        };
        let expected = vec![
            BucketLabel::Below(number(0, None)),
            BucketLabel::Range(number(0, None), number(2, None)),
            BucketLabel::AtLeast(number(10, None)),
        ];
        assert_eq!(labels(plain, &[0, 1, 6]), expected);
        let kilo = HistogramKind::Linear {
            min: 0,
            max: 2 << 20,
            step: 1 << 19,
        };
        let expected = vec![
            BucketLabel::Range(number(0, None), number(512, Some('K'))),
            BucketLabel::Range(number(512, Some('K')), number(1, Some('M'))),
            BucketLabel::AtLeast(number(2, Some('M'))),
        ];
        assert_eq!(labels(kilo, &[1, 2, 5]), expected);
    }

    #[test]
    fn linear_step_one_buckets_are_single_values() {
        let kind = HistogramKind::Linear {
            min: 5,
            max: 8,
            step: 1,
        };
        let expected = vec![
            BucketLabel::Below(number(5, None)),
            BucketLabel::Single(number(5, None)),
            BucketLabel::AtLeast(number(8, None)),
        ];
        assert_eq!(labels(kind, &[0, 1, 4]), expected);
    }

    #[test]
    fn rows_run_from_first_to_last_nonzero_bucket() {
        let counts = [0, 0, 3, 0, 4, 0, 0];
        let histogram = build_histogram(HistogramKind::Log2 { k: 0 }, &counts, 2);
        let rows: Vec<u64> = histogram.rows.iter().map(|row| row.count).collect();
        assert_eq!(rows, vec![1, 0, 2]);
        let linear = HistogramKind::Linear {
            min: 0,
            max: 10,
            step: 2,
        };
        let undivided = build_histogram(linear, &counts, 2);
        assert_eq!(
            undivided
                .rows
                .iter()
                .map(|row| row.count)
                .collect::<Vec<_>>(),
            vec![3, 0, 4]
        );
        assert!(build_histogram(linear, &[0; 7], 1).rows.is_empty());
    }
}
