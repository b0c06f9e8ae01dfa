//! Histogram buckets: the one definition of which bucket a value falls in, shared by the BPF
//! lowering (which computes bucket indexes in the kernel) and the runtime (which labels them).
//!
//! # `hist(n, k)`, with `0 <= k <= 5`
//!
//! Let `N = 2^k`. Index 0 holds every negative value. A value `v >= 0` goes to
//!
//! ```text
//! s     = max(floor(log2(v)) - k, 0)      (take floor(log2(0)) as 0)
//! index = (s << k) + (v >> s) + 1
//! ```
//!
//! So values `0 .. 2N-1` each get their own bucket (`index = v + 1`), and above that every
//! power-of-two range `[2^p, 2^(p+1))` is split into `N` equal sub-ranges. `v` is the value as a
//! signed 64-bit integer: an unsigned value of 2^63 or more counts as negative, as in bpftrace.
//! In BPF: `v < 0` gives 0; otherwise a branch-free `floor(log2(v))` (the usual six
//! compare-and-shift steps, which give 0 for `v = 0`), `s = log2 - k` clamped at 0, two shifts
//! and two additions. Example, `k = 2`, `v = 1280`: `log2 = 10`, `s = 8`,
//! `index = (8 << 2) + (1280 >> 8) + 1 = 38`. The largest index (for `i64::MAX`) is
//! `(64 - k) << k`, so `hist_bucket_count(k) = ((64 - k) << k) + 1`.
//!
//! Bucket `i >= 1` starts at `mantissa << shift`: for `i <= 2N` that is `i - 1` (shift 0);
//! above, with `j = i - 1`, `shift = (j >> k) - 1` and `mantissa = j - (shift << k)` (which lies
//! in `N .. 2N`). It ends where bucket `i + 1` starts; the last bucket ends at 2^63.
//!
//! # `lhist(n, min, max, step)`
//!
//! With `m = (max - min) / step` (integer division): index 0 holds values below `min`; a value
//! `v >= min` goes to `1 + (min(v, max) - min) / step`. Buckets `1 ..= m` are
//! `[min + (i-1)*step, min + i*step)`, and bucket `m + 1` holds everything from `min + m*step`
//! up (including `max` and above). `lhist_bucket_count = m + 2`.

/// The largest `k` that `hist(n, k)` accepts.
pub const MAX_HIST_BITS: u8 = 5;

/// A bucket edge written as `mantissa << shift`, the form bpftrace's hist labels use (the shift
/// picks the K/M/G suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub mantissa: u64,
    pub shift: u32,
}

impl Edge {
    /// The edge as a number. Hist edges never exceed 2^63, so this fits.
    pub fn value(self) -> u64 {
        self.mantissa << self.shift
    }
}

/// The values a bucket holds, both ends inclusive; `None` means unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketBounds {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// The hist bucket of `value` for `hist(n, k)`.
pub fn hist_bucket(value: i64, k: u8) -> u64 {
    if value < 0 {
        return 0;
    }
    let v = value as u64;
    let log2 = (63 - v.leading_zeros().min(63)) as u64;
    let shift = log2.saturating_sub(u64::from(k));
    (shift << k) + (v >> shift) + 1
}

/// How many buckets `hist(n, k)` can use (indexes `0 .. count`).
pub fn hist_bucket_count(k: u8) -> u64 {
    ((64 - u64::from(k)) << k) + 1
}

/// Where hist bucket `index` starts; `None` for the negative bucket. `index` may be
/// `hist_bucket_count(k)`, which gives the end of the last bucket (2^63).
pub fn hist_bucket_start(index: u64, k: u8) -> Option<Edge> {
    let singles = 2u64 << k;
    match index {
        0 => None,
        _ if index <= singles => Some(Edge { mantissa: index - 1, shift: 0 }),
        _ => {
            let j = index - 1;
            let shift = (j >> k) - 1;
            Some(Edge { mantissa: j - (shift << k), shift: shift as u32 })
        }
    }
}

/// Where hist bucket `index` ends (exclusive): the start of the next bucket.
pub fn hist_bucket_end(index: u64, k: u8) -> Edge {
    match hist_bucket_start(index.saturating_add(1), k) {
        Some(edge) => edge,
        None => Edge { mantissa: 0, shift: 0 },
    }
}

/// The values hist bucket `index` holds (`index < hist_bucket_count(k)`).
pub fn hist_bucket_bounds(index: u64, k: u8) -> BucketBounds {
    let end = i128::from(hist_bucket_end(index, k).value());
    BucketBounds {
        min: hist_bucket_start(index, k).map(|edge| edge.value() as i64),
        max: Some((end - 1) as i64),
    }
}

/// The lhist bucket of `value` for `lhist(n, min, max, step)` (`step > 0`, `min < max`).
pub fn lhist_bucket(value: i64, min: i64, max: i64, step: i64) -> u64 {
    if value < min {
        return 0;
    }
    let clamped = i128::from(value.min(max));
    (1 + (clamped - i128::from(min)) / i128::from(step)) as u64
}

/// How many buckets `lhist(n, min, max, step)` uses (indexes `0 .. count`).
pub fn lhist_bucket_count(min: i64, max: i64, step: i64) -> u64 {
    (in_range_buckets(min, max, step) + 2) as u64
}

/// Where lhist bucket `index` starts; `None` for the bucket below `min`.
pub fn lhist_bucket_start(index: u64, min: i64, step: i64) -> Option<i64> {
    match index {
        0 => None,
        _ => Some(lhist_edge(index - 1, min, step)),
    }
}

/// Where lhist bucket `index` ends (exclusive); `None` for the last bucket, which is unbounded.
pub fn lhist_bucket_end(index: u64, min: i64, max: i64, step: i64) -> Option<i64> {
    let in_range = in_range_buckets(min, max, step) as u64;
    (index <= in_range).then(|| lhist_edge(index, min, step))
}

/// The values lhist bucket `index` holds (`index < lhist_bucket_count(..)`).
pub fn lhist_bucket_bounds(index: u64, min: i64, max: i64, step: i64) -> BucketBounds {
    BucketBounds {
        min: lhist_bucket_start(index, min, step),
        max: lhist_bucket_end(index, min, max, step).map(|end| end - 1),
    }
}

/// `m`: the number of full steps between `min` and `max`.
fn in_range_buckets(min: i64, max: i64, step: i64) -> i128 {
    (i128::from(max) - i128::from(min)) / i128::from(step)
}

/// `min + n * step`, saturating at the ends of `i64`.
fn lhist_edge(n: u64, min: i64, step: i64) -> i64 {
    let edge = i128::from(min) + i128::from(n) * i128::from(step);
    edge.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of interest, sorted.
    const EDGE_VALUES: [i64; 16] =
        [i64::MIN, -1, 0, 1, 2, 3, 4, 5, 7, 8, 9, 1023, 1024, 1025, 1 << 40, i64::MAX];

    fn bounds(min: Option<i64>, max: Option<i64>) -> BucketBounds {
        BucketBounds { min, max }
    }

    #[test]
    fn hist_k0_matches_bpftrace_buckets() {
        let expected = [0, 0, 1, 2, 3, 3, 4, 4, 4, 5, 5, 11, 12, 12, 42, 64];
        for (value, index) in EDGE_VALUES.iter().zip(expected) {
            assert_eq!(hist_bucket(*value, 0), index, "hist({value})");
        }
    }

    #[test]
    fn hist_k2_splits_each_power_of_two_in_four() {
        // k = 2: 0..=7 are singles (1..=8); then [8,10) [10,12) [12,14) [14,16) [16,20) ...
        let cases = [(7, 8), (8, 9), (9, 9), (10, 10), (15, 12), (16, 13), (19, 13), (20, 14)];
        for (value, index) in cases {
            assert_eq!(hist_bucket(value, 2), index, "hist({value}, 2)");
        }
        assert_eq!(hist_bucket(1023, 2), 36);
        assert_eq!(hist_bucket(1024, 2), 37);
    }

    #[test]
    fn every_value_lies_within_its_bucket_bounds() {
        for k in 0..=MAX_HIST_BITS {
            for value in EDGE_VALUES {
                let index = hist_bucket(value, k);
                assert!(index < hist_bucket_count(k), "k={k} value={value}");
                let b = hist_bucket_bounds(index, k);
                assert!(b.min.is_none_or(|min| min <= value), "k={k} value={value} {b:?}");
                assert!(b.max.is_none_or(|max| value <= max), "k={k} value={value} {b:?}");
            }
        }
    }

    #[test]
    fn buckets_tile_the_whole_range_without_gaps() {
        for k in 0..=MAX_HIST_BITS {
            assert_eq!(hist_bucket_bounds(0, k), bounds(None, Some(-1)));
            for index in 1..hist_bucket_count(k) {
                let b = hist_bucket_bounds(index, k);
                let previous_max = hist_bucket_bounds(index - 1, k).max;
                assert_eq!(b.min, previous_max.map(|max| max + 1), "k={k} index={index}");
                let start = b.min.unwrap_or_default();
                assert_eq!(hist_bucket(start, k), index, "k={k} start={start}");
            }
            let last = hist_bucket_count(k) - 1;
            assert_eq!(hist_bucket_bounds(last, k).max, Some(i64::MAX), "k={k}");
            assert_eq!(hist_bucket(i64::MAX, k), last, "k={k}");
        }
    }

    #[test]
    fn bucket_count_per_k() {
        let counts: Vec<u64> = (0..=MAX_HIST_BITS).map(hist_bucket_count).collect();
        assert_eq!(counts, vec![65, 127, 249, 489, 961, 1889]);
    }

    #[test]
    fn starts_keep_bpftrace_label_form() {
        assert_eq!(hist_bucket_start(3, 0), Some(Edge { mantissa: 1, shift: 1 }));
        assert_eq!(hist_bucket_start(12, 0), Some(Edge { mantissa: 1, shift: 10 }));
        // k = 2, bucket 38 holds [1280, 1536): 5 << 8.
        assert_eq!(hist_bucket_start(38, 2), Some(Edge { mantissa: 5, shift: 8 }));
        assert_eq!(hist_bucket_end(64, 0), Edge { mantissa: 1, shift: 63 });
        assert_eq!(hist_bucket_end(64, 0).value(), 1 << 63);
    }

    #[test]
    fn lhist_buckets_and_bounds() {
        let (min, max, step) = (0, 10, 2);
        let cases = [(i64::MIN, 0), (-1, 0), (0, 1), (1, 1), (2, 2), (9, 5), (10, 6), (i64::MAX, 6)];
        for (value, index) in cases {
            assert_eq!(lhist_bucket(value, min, max, step), index, "lhist({value})");
        }
        assert_eq!(lhist_bucket_count(min, max, step), 7);
        assert_eq!(lhist_bucket_bounds(0, min, max, step), bounds(None, Some(-1)));
        assert_eq!(lhist_bucket_bounds(1, min, max, step), bounds(Some(0), Some(1)));
        assert_eq!(lhist_bucket_bounds(5, min, max, step), bounds(Some(8), Some(9)));
        assert_eq!(lhist_bucket_bounds(6, min, max, step), bounds(Some(10), None));
    }

    #[test]
    fn lhist_with_uneven_range_puts_the_tail_in_the_last_bucket() {
        // m = 3: [0,3) [3,6) [6,9), then 9 and up.
        assert_eq!(lhist_bucket_count(0, 10, 3), 5);
        assert_eq!(lhist_bucket(8, 0, 10, 3), 3);
        assert_eq!(lhist_bucket(9, 0, 10, 3), 4);
        assert_eq!(lhist_bucket(10, 0, 10, 3), 4);
        assert_eq!(lhist_bucket_bounds(4, 0, 10, 3), bounds(Some(9), None));
    }

    #[test]
    fn lhist_handles_negative_ranges_and_extremes() {
        assert_eq!(lhist_bucket(-7, -10, 10, 5), 1);
        assert_eq!(lhist_bucket(-5, -10, 10, 5), 2);
        assert_eq!(lhist_bucket(i64::MIN, i64::MIN, i64::MAX, 1 << 62), 1);
        assert_eq!(lhist_bucket(i64::MAX, i64::MIN, i64::MAX, 1 << 62), 4);
        assert_eq!(lhist_bucket_count(i64::MIN, i64::MAX, 1 << 62), 5);
    }
}
