//! `tseries` maps: each key's intervals merged over the CPUs, the window of the newest
//! intervals, and the chart bpftrace draws of it.

use std::collections::BTreeMap;

use ferrotrace_compiler::manifest::{tseries_slot, TseriesAgg};

use super::clock;
use super::decode::read_uint;
use super::value::Series;

/// What a `tseries` map was declared with.
#[derive(Debug, Clone, Copy)]
pub struct SeriesShape {
    pub interval_ns: u64,
    pub intervals: u32,
    pub agg: TseriesAgg,
}

/// One key's intervals that were written, merged over the CPUs: epoch to value.
pub fn merge_slots(cpus: &[Vec<u8>], shape: SeriesShape) -> BTreeMap<u64, i64> {
    // Per epoch: the value so far and the extra word (a count, or the last write's time).
    let mut merged: BTreeMap<u64, (i64, u64)> = BTreeMap::new();
    let size = tseries_slot::SIZE as usize;
    for cpu in cpus {
        for slot in cpu.chunks_exact(size).take(shape.intervals as usize) {
            let word = |at: u32| read_uint(&slot[at as usize..at as usize + 8]);
            let epoch = word(tseries_slot::EPOCH);
            if epoch == 0 {
                continue;
            }
            let (value, extra) = (word(tseries_slot::VALUE) as i64, word(tseries_slot::EXTRA));
            merged
                .entry(epoch)
                .and_modify(|(v, e)| match shape.agg {
                    TseriesAgg::Sum => *v = v.wrapping_add(value),
                    TseriesAgg::Avg => {
                        *v = v.wrapping_add(value);
                        *e += extra;
                    }
                    TseriesAgg::Min => *v = (*v).min(value),
                    TseriesAgg::Max => *v = (*v).max(value),
                    TseriesAgg::Last if extra > *e => (*v, *e) = (value, extra),
                    TseriesAgg::Last => {}
                })
                .or_insert((value, extra));
        }
    }
    merged
        .into_iter()
        .map(|(epoch, (value, extra))| match shape.agg {
            TseriesAgg::Avg => (epoch, value.checked_div(extra as i64).unwrap_or(0)),
            _ => (epoch, value),
        })
        .collect()
}

/// The points of one key within the window that ends at `last_epoch`: from the key's first
/// epoch in it to `last_epoch`, `None` where nothing was written.
pub fn window(points: &BTreeMap<u64, i64>, last_epoch: u64, shape: SeriesShape) -> Series {
    let start = last_epoch.saturating_sub(u64::from(shape.intervals) - 1);
    let first = points.range(start..=last_epoch).next().map_or(last_epoch, |(epoch, _)| *epoch);
    let points = (first..=last_epoch).map(|epoch| (epoch, points.get(&epoch).copied())).collect();
    Series { interval_ns: shape.interval_ns, points }
}

/// The graph's width: a column per 52nd of the value range, and its two borders.
const WIDTH: usize = 53;

/// The chart of `series`, as bpftrace draws it: the value range above and below, a row per
/// interval with its time, a `*` at its value (a `.` marks zero) and the value.
pub fn chart(series: &Series) -> Vec<u8> {
    let values: Vec<i64> = series.points.iter().filter_map(|(_, v)| *v).collect();
    let (Some(&low), Some(&high)) = (values.iter().min(), values.iter().max()) else {
        return b"<no data>\n".to_vec();
    };
    let (min, max) = if low == high { (low - 1, high + 1) } else { (low, high) };
    let (label, digits) = time_unit(series.interval_ns);
    let times: Vec<String> = series.points.iter().map(|(epoch, _)| time_text(epoch * series.interval_ns, digits)).collect();
    let time_size = times.iter().map(String::len).max().unwrap_or(label.len()).max(label.len());
    let range = format!("{}{min:<21}{max:>32}\n", " ".repeat(time_size + 1));
    let mut out = range.clone();
    out.push_str(&format!("{label:<time_size$} |{}|\n", "_".repeat(WIDTH - 2)));
    for ((_, value), time) in series.points.iter().zip(&times) {
        let mut line = vec![b' '; WIDTH];
        line[0] = b'|';
        line[WIDTH - 1] = b'|';
        if min < 0 && max > 0 {
            line[column(0, min, max)] = b'.';
        }
        let shown = match value {
            Some(v) => {
                line[column(*v, min, max)] = b'*';
                v.to_string()
            }
            None => "-".to_string(),
        };
        out.push_str(&format!("{time:<time_size$} {} {shown}\n", String::from_utf8_lossy(&line)));
    }
    out.push_str(&format!("{}v{}v\n", " ".repeat(time_size + 1), "_".repeat(WIDTH - 2)));
    out.push_str(&range);
    out.into_bytes()
}

/// The column of `value` in a graph from `min` to `max`: 0 to 52, rounded down.
fn column(value: i64, min: i64, max: i64) -> usize {
    let span = (i128::from(max) - i128::from(min)).max(1);
    let at = (i128::from(value) - i128::from(min)) * (WIDTH as i128 - 1) / span;
    at.clamp(0, WIDTH as i128 - 1) as usize
}

/// The time column's heading and how many digits of a second it shows, by the interval's unit.
fn time_unit(interval_ns: u64) -> (&'static str, u32) {
    if !interval_ns.is_multiple_of(1_000) {
        ("hh:mm:ss.ns", 9)
    } else if !interval_ns.is_multiple_of(1_000_000) {
        ("hh:mm:ss.us", 6)
    } else {
        ("hh:mm:ss.ms", 3)
    }
}

/// A TAI time as local `%H:%M:%S` and `digits` digits of its second.
fn time_text(tai_ns: u64, digits: u32) -> String {
    let clock = String::from_utf8_lossy(&clock::wall_time(tai_ns)).into_owned();
    let fraction = (tai_ns % 1_000_000_000) / 10u64.pow(9 - digits);
    format!("{clock}.{fraction:0width$}", width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: SeriesShape = SeriesShape { interval_ns: 100_000_000, intervals: 10, agg: TseriesAgg::Sum };

    fn slot(epoch: u64, value: i64, extra: u64) -> Vec<u8> {
        [epoch, value as u64, extra].iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    #[test]
    fn cpus_merge_by_epoch() {
        let cpu0 = [slot(5, 2, 1), slot(6, 3, 1)].concat();
        let cpu1 = [slot(5, 4, 1), slot(0, 0, 0)].concat();
        let merged = merge_slots(&[cpu0.clone(), cpu1.clone()], SHAPE);
        assert_eq!(merged.into_iter().collect::<Vec<_>>(), [(5, 6), (6, 3)]);
        let avg = merge_slots(&[cpu0, cpu1], SeriesShape { agg: TseriesAgg::Avg, ..SHAPE });
        assert_eq!(avg.get(&5), Some(&3));
        let last = merge_slots(&[slot(5, 2, 100), slot(5, 9, 50)], SeriesShape { agg: TseriesAgg::Last, ..SHAPE });
        assert_eq!(last.get(&5), Some(&2));
    }

    #[test]
    fn the_window_starts_at_the_keys_first_epoch_and_marks_gaps() {
        let points = BTreeMap::from([(3, 1), (12, 7), (14, 9)]);
        let series = window(&points, 15, SHAPE);
        let epochs: Vec<(u64, Option<i64>)> = series.points;
        assert_eq!(epochs, [(12, Some(7)), (13, None), (14, Some(9)), (15, None)]);
    }

    #[test]
    fn points_sit_in_their_column_and_zero_is_marked() {
        assert_eq!(column(-5, -5, 5), 0);
        assert_eq!(column(5, -5, 5), 52);
        assert_eq!(column(0, -5, 5), 26);
        let series = Series { interval_ns: 100_000_000, points: vec![(1, Some(-5)), (2, Some(5)), (3, None)] };
        let text = String::from_utf8(chart(&series)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 7, "{text}");
        assert!(lines[0].ends_with(&format!("-5{}5", " ".repeat(50))), "{text}");
        assert!(lines[1].starts_with("hh:mm:ss.ms  |___"), "{text}");
        assert!(lines[2].ends_with(&format!("*{}.{}| -5", " ".repeat(25), " ".repeat(25))), "{text}");
        assert!(lines[3].ends_with(&format!("|{}.{}* 5", " ".repeat(25), " ".repeat(25))), "{text}");
        assert!(lines[4].ends_with(" -"), "{text}");
        assert!(lines[5].contains(&format!("v{}v", "_".repeat(51))), "{text}");
    }

    #[test]
    fn one_value_sits_in_the_middle() {
        let series = Series { interval_ns: 1_000_000_000, points: vec![(1, Some(9))] };
        let text = String::from_utf8(chart(&series)).unwrap();
        assert!(text.lines().nth(2).unwrap().ends_with(&format!("|{}*{}| 9", " ".repeat(25), " ".repeat(25))), "{text}");
    }
}
