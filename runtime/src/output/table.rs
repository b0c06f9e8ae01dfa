//! A whole map as bpftrace prints it: decodes keys, merges CPUs, groups histogram buckets by
//! key, orders the entries and applies `print(@m, top, div)`.
//!
//! Order (bpftrace 0.26): integer-valued maps by value, `avg`/`stats` by average, histograms by
//! the sum of their buckets, everything else by key; ties keep key order. `top` keeps the last
//! `top` entries of that order.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use ferrotrace_compiler::manifest::{KeyStorage, MapValue, UserMap};
use ferrotrace_compiler::types::{align_up, tuple_layout, Ty};

use super::decode::{decode, decode_fields, read_uint};
use super::error::OutputError;
use super::histogram::{build_histogram, HistogramKind};
use super::merge::{bucket_count, merge_cpus, Merged};
use super::series::{merge_slots, window, SeriesShape};
use super::value::{MapBody, MapDump, Value};
use crate::entry::RawEntry;

/// The printable form of `map`, or `None` when bpftrace would print nothing for it (no
/// entries, or a keyless histogram with no counts). `top` 0 keeps every entry; `div` 0 is 1.
pub fn dump_map(
    map: &UserMap,
    entries: &[RawEntry],
    top: u64,
    div: u64,
    probe_names: &[String],
) -> Result<Option<MapDump>, OutputError> {
    let div = div.max(1);
    if let MapValue::Tseries { interval_ns, intervals, agg } = map.value {
        let shape = SeriesShape { interval_ns, intervals, agg };
        let body = dump_series(map, shape, entries, top, probe_names)?;
        return Ok(body.map(|body| MapDump { name: map.name.clone(), body, averaged: false }));
    }
    let body = match histogram_kind(&map.value) {
        Some(kind) => dump_histograms(map, kind, entries, top, div, probe_names)?,
        None => dump_values(map, entries, top, div, probe_names)?,
    };
    let averaged = matches!(map.value, MapValue::Avg(_) | MapValue::Stats(_));
    Ok(body.map(|body| MapDump { name: map.name.clone(), body, averaged }))
}

fn histogram_kind(value: &MapValue) -> Option<HistogramKind> {
    match *value {
        MapValue::Hist { k } => Some(HistogramKind::Log2 { k }),
        MapValue::Lhist { min, max, step } => Some(HistogramKind::Linear { min, max, step }),
        _ => None,
    }
}

/// One entry on its way to the page: the raw key (for ordering), then its merged value.
struct Row<'a, T> {
    key: &'a [u8],
    value: T,
}

fn dump_values(
    map: &UserMap,
    entries: &[RawEntry],
    top: u64,
    div: u64,
    probe_names: &[String],
) -> Result<Option<MapBody>, OutputError> {
    let mut rows = entries
        .iter()
        .map(|entry| {
            let value = merge_cpus(&map.name, &map.value, &entry.values, probe_names)?;
            Ok(Row {
                key: entry.key.as_slice(),
                value,
            })
        })
        .collect::<Result<Vec<Row<Merged>>, OutputError>>()?;
    order_by_key(&map.key, &mut rows);
    rows.sort_by_key(|row| row.value.sort_key());
    let rows = keep_top(rows, top);
    if map.key.is_empty() {
        let last = rows.into_iter().last();
        return Ok(last.map(|row| MapBody::Scalar(row.value.into_value(&map.value, div))));
    }
    let keyed = rows
        .into_iter()
        .map(|row| {
            Ok((
                decode_key(&map.key, row.key, probe_names)?,
                row.value.into_value(&map.value, div),
            ))
        })
        .collect::<Result<Vec<_>, OutputError>>()?;
    Ok((!keyed.is_empty()).then_some(MapBody::Keyed(keyed)))
}

/// Every key's series in the window of the newest interval any key has, keys ordered by their
/// newest interval.
fn dump_series(
    map: &UserMap,
    shape: SeriesShape,
    entries: &[RawEntry],
    top: u64,
    probe_names: &[String],
) -> Result<Option<MapBody>, OutputError> {
    let mut rows: Vec<Row<BTreeMap<u64, i64>>> = entries
        .iter()
        .map(|entry| Row { key: entry.key.as_slice(), value: merge_slots(&entry.values, shape) })
        .filter(|row| !row.value.is_empty())
        .collect();
    let Some(last_epoch) = rows.iter().filter_map(|row| row.value.keys().next_back()).max().copied() else {
        return Ok(None);
    };
    order_by_key(&map.key, &mut rows);
    rows.sort_by_key(|row| row.value.keys().next_back().copied());
    let rows = keep_top(rows, top);
    let series = rows
        .into_iter()
        .map(|row| {
            let key = match map.key.is_empty() {
                true => None,
                false => Some(decode_key(&map.key, row.key, probe_names)?),
            };
            Ok((key, window(&row.value, last_epoch, shape)))
        })
        .collect::<Result<Vec<_>, OutputError>>()?;
    Ok(Some(MapBody::Series(series)))
}

fn dump_histograms(
    map: &UserMap,
    kind: HistogramKind,
    entries: &[RawEntry],
    top: u64,
    div: u64,
    probe_names: &[String],
) -> Result<Option<MapBody>, OutputError> {
    let groups = group_buckets(map, kind, entries)?;
    let mut rows: Vec<Row<Vec<u64>>> = groups
        .into_iter()
        .map(|(key, counts)| Row { key, value: counts })
        .collect();
    order_by_key(&map.key, &mut rows);
    rows.sort_by_key(|row| {
        row.value
            .iter()
            .fold(0u64, |sum, count| sum.wrapping_add(*count))
    });
    let rows = keep_top(rows, top);
    if map.key.is_empty() {
        let histogram = rows
            .last()
            .map(|row| build_histogram(kind, &row.value, div));
        return Ok(histogram
            .filter(|h| !h.rows.is_empty())
            .map(MapBody::Histogram));
    }
    let keyed = rows
        .into_iter()
        .map(|row| {
            Ok((
                decode_key(&map.key, row.key, probe_names)?,
                build_histogram(kind, &row.value, div),
            ))
        })
        .collect::<Result<Vec<_>, OutputError>>()?;
    Ok((!keyed.is_empty()).then_some(MapBody::KeyedHistograms(keyed)))
}

/// Bucket counts (merged over CPUs, indexed by bucket) per raw user key.
fn group_buckets<'a>(
    map: &UserMap,
    kind: HistogramKind,
    entries: &'a [RawEntry],
) -> Result<BTreeMap<&'a [u8], Vec<u64>>, OutputError> {
    let count = kind.bucket_count();
    let mut groups: BTreeMap<&[u8], Vec<u64>> = BTreeMap::new();
    for entry in entries {
        let (key, index) = split_bucket_key(map, &entry.key)?;
        if index >= count {
            return Err(OutputError::BucketOutOfRange {
                map: map.name.clone(),
                index,
                count,
            });
        }
        let bucket_count = bucket_count(&map.name, &entry.values)?;
        let counts = groups.entry(key).or_insert_with(|| vec![0; count as usize]);
        counts[index as usize] = counts[index as usize].wrapping_add(bucket_count);
    }
    Ok(groups)
}

/// Splits a histogram map's kernel key into the user key and the bucket index.
fn split_bucket_key<'a>(map: &UserMap, key: &'a [u8]) -> Result<(&'a [u8], u64), OutputError> {
    let too_short = |offset: usize, needed: usize| OutputError::TooShort {
        ty: format!("{} key", map.name),
        offset,
        needed,
        available: key.len().saturating_sub(offset),
    };
    match map.storage {
        KeyStorage::BucketIndex => {
            let index = key.get(..4).ok_or_else(|| too_short(0, 4))?;
            Ok((&[], read_uint(index)))
        }
        KeyStorage::PackedWithBucket => {
            let size = tuple_layout(&map.key).size;
            let offset = align_up(size, 8) as usize;
            let index = key
                .get(offset..offset + 8)
                .ok_or_else(|| too_short(offset, 8))?;
            Ok((&key[..size as usize], read_uint(index)))
        }
        KeyStorage::Scalar | KeyStorage::Packed => Err(OutputError::NoBucketIndex {
            map: map.name.clone(),
        }),
    }
}

fn decode_key(key: &[Ty], bytes: &[u8], probe_names: &[String]) -> Result<Value, OutputError> {
    match key {
        [single] => decode(single, bytes, probe_names),
        fields => Ok(Value::Tuple(decode_fields(fields, bytes, probe_names)?)),
    }
}

/// Orders rows by key the way bpftrace does: integer fields as signed numbers of their width,
/// string fields bytewise, other fields not at all (raw key bytes break those ties).
fn order_by_key<T>(key: &[Ty], rows: &mut [Row<'_, T>]) {
    let fields = match key {
        [Ty::Tuple(inner)] => inner.as_slice(),
        fields => fields,
    };
    let offsets = tuple_layout(fields).offsets;
    rows.sort_by(|a, b| {
        let by_field = fields
            .iter()
            .zip(&offsets)
            .map(|(field, offset)| compare_field(field, *offset as usize, a.key, b.key));
        by_field
            .fold(Ordering::Equal, Ordering::then)
            .then_with(|| a.key.cmp(b.key))
    });
}

fn compare_field(field: &Ty, offset: usize, a: &[u8], b: &[u8]) -> Ordering {
    let size = field.size() as usize;
    let (Some(a), Some(b)) = (a.get(offset..offset + size), b.get(offset..offset + size)) else {
        return Ordering::Equal;
    };
    match field {
        Ty::Int(int) => {
            let unused = 64 - u32::from(int.bits);
            let signed = |bytes: &[u8]| ((read_uint(bytes) << unused) as i64) >> unused;
            signed(a).cmp(&signed(b))
        }
        Ty::Str(_) => a.cmp(b),
        _ => Ordering::Equal,
    }
}

fn keep_top<T>(mut rows: Vec<T>, top: u64) -> Vec<T> {
    let keep = usize::try_from(top).unwrap_or(usize::MAX);
    if top > 0 && rows.len() > keep {
        rows.drain(..rows.len() - keep);
    }
    rows
}
