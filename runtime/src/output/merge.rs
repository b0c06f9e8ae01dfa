//! Per-CPU merging: folds the per-CPU copies of one map value into one, by the function that
//! made the map (`count` and `sum` add, `min`/`max` pick among the CPUs that saw a value, `avg`
//! and `stats` add counts and totals, histogram buckets add).

use ferrotrace_compiler::manifest::MapValue;
use ferrotrace_compiler::types::IntTy;

use super::decode::{decode, read_uint};
use super::error::OutputError;
use super::value::Value;

/// One map value after merging its CPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// `@m = expr`: the value as stored.
    Plain(Value),
    /// `count()` / `sum()`, or one histogram bucket's count.
    Total(Value),
    /// `min()` / `max()`: 0 when no CPU saw a value.
    Extreme(Value),
    /// `avg()` / `stats()`: the total as two's-complement bits of the given signedness.
    Mean {
        count: u64,
        total: u64,
        signed: bool,
    },
}

impl Merged {
    /// What bpftrace orders entries by, or `None` to order them by key.
    ///
    /// Integers, `min` and `max` order by value, signed or unsigned as typed; `avg`/`stats` by
    /// average.
    pub fn sort_key(&self) -> Option<i128> {
        match self {
            Merged::Plain(value) | Merged::Total(value) | Merged::Extreme(value) => integer(value),
            Merged::Mean {
                count,
                total,
                signed,
            } => integer(&average(*count, *total, *signed)),
        }
    }

    /// The value to print, with integers divided by `div` the way `print(@m, top, div)` does
    /// (for `stats` only the average is divided). `stats` becomes a record.
    pub fn into_value(self, map_value: &MapValue, div: u64) -> Value {
        match self {
            Merged::Mean {
                count,
                total,
                signed,
            } => {
                let average = average(count, total, signed).divided(div);
                match map_value {
                    MapValue::Stats(_) => Value::Record(vec![
                        // bpftrace keeps a signed `stats` count as `int64`.
                        ("count".into(), typed(signed, count)),
                        ("average".into(), average),
                        ("total".into(), typed(signed, total)),
                    ]),
                    _ => average,
                }
            }
            Merged::Plain(value) | Merged::Total(value) | Merged::Extreme(value) => {
                value.divided(div)
            }
        }
    }
}

/// `total / count` with the total's signedness, truncating toward zero; 0 before the first
/// value.
fn average(count: u64, total: u64, signed: bool) -> Value {
    match (count, signed) {
        (0, _) => typed(signed, 0),
        (_, true) => Value::Int((total as i64).wrapping_div(count as i64)),
        (_, false) => Value::UInt(total / count),
    }
}

fn integer(value: &Value) -> Option<i128> {
    match value {
        Value::Int(value) => Some(i128::from(*value)),
        Value::UInt(value) => Some(i128::from(*value)),
        _ => None,
    }
}

/// Merges the per-CPU values of one entry of map `map` (named for errors).
pub fn merge_cpus(
    map: &str,
    map_value: &MapValue,
    cpus: &[Vec<u8>],
    probe_names: &[String],
) -> Result<Merged, OutputError> {
    let reader = CpuReader { map, cpus };
    match map_value {
        MapValue::Plain(ty) => {
            let first = cpus
                .first()
                .ok_or_else(|| OutputError::MissingValue { map: map.into() })?;
            Ok(Merged::Plain(decode(ty, first, probe_names)?))
        }
        MapValue::Count => Ok(Merged::Total(Value::UInt(reader.sum(0)?))),
        MapValue::Sum(int) => Ok(Merged::Total(typed(int.signed, reader.sum(0)?))),
        MapValue::Min(int) => Ok(Merged::Extreme(reader.extreme(*int, Extreme::Min)?)),
        MapValue::Max(int) => Ok(Merged::Extreme(reader.extreme(*int, Extreme::Max)?)),
        MapValue::Avg(int) | MapValue::Stats(int) => {
            let (count, total) = (reader.sum(0)?, reader.sum(8)?);
            Ok(Merged::Mean {
                count,
                total,
                signed: int.signed,
            })
        }
        MapValue::Hist { .. } | MapValue::Lhist { .. } => {
            Ok(Merged::Total(Value::UInt(bucket_count(map, cpus)?)))
        }
        // Printed by `series`, never merged as one value.
        MapValue::Tseries { .. } => Err(OutputError::Unprintable { ty: "tseries".into() }),
    }
}

/// One histogram bucket's count, summed over CPUs.
pub fn bucket_count(map: &str, cpus: &[Vec<u8>]) -> Result<u64, OutputError> {
    CpuReader { map, cpus }.sum(0)
}

/// A 64-bit aggregate's bits as a value of the aggregated integer's signedness.
fn typed(signed: bool, bits: u64) -> Value {
    if signed {
        Value::Int(bits as i64)
    } else {
        Value::UInt(bits)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Extreme {
    Min,
    Max,
}

/// Reads 64-bit fields out of every CPU's copy of one value.
struct CpuReader<'a> {
    map: &'a str,
    cpus: &'a [Vec<u8>],
}

impl CpuReader<'_> {
    fn field(&self, cpu: &[u8], offset: usize) -> Result<u64, OutputError> {
        let bytes = cpu
            .get(offset..offset + 8)
            .ok_or_else(|| OutputError::TooShort {
                ty: format!("{} value", self.map),
                offset,
                needed: 8,
                available: cpu.len().saturating_sub(offset),
            })?;
        Ok(read_uint(bytes))
    }

    /// The wrapping sum over CPUs of the `u64` at `offset` (two's complement: also right for
    /// signed totals).
    fn sum(&self, offset: usize) -> Result<u64, OutputError> {
        self.cpus.iter().try_fold(0u64, |sum, cpu| {
            Ok(sum.wrapping_add(self.field(cpu, offset)?))
        })
    }

    /// The least or greatest value among the CPUs whose `set` word (at offset 8) is nonzero.
    fn extreme(&self, int: IntTy, which: Extreme) -> Result<Value, OutputError> {
        let mut best: Option<i128> = None;
        for cpu in self.cpus {
            if self.field(cpu, 8)? == 0 {
                continue;
            }
            let bits = self.field(cpu, 0)?;
            let value = if int.signed {
                i128::from(bits as i64)
            } else {
                i128::from(bits)
            };
            best = Some(match (best, which) {
                (Some(best), Extreme::Min) => best.min(value),
                (Some(best), Extreme::Max) => best.max(value),
                (None, _) => value,
            });
        }
        Ok(typed(int.signed, best.unwrap_or(0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    fn merge(map_value: &MapValue, cpus: &[Vec<u8>]) -> Merged {
        merge_cpus("@m", map_value, cpus, &[]).expect("well-formed value")
    }

    #[test]
    fn counts_and_sums_add_across_cpus() {
        let cpus = [cpu(&[2]), cpu(&[0]), cpu(&[5])];
        assert_eq!(
            merge(&MapValue::Count, &cpus),
            Merged::Total(Value::UInt(7))
        );
        let signed = [cpu(&[(-10i64) as u64]), cpu(&[3])];
        assert_eq!(
            merge(&MapValue::Sum(IntTy::I64), &signed),
            Merged::Total(Value::Int(-7))
        );
    }

    #[test]
    fn min_and_max_ignore_cpus_that_saw_nothing() {
        let cpus = [
            cpu(&[0, 0]),
            cpu(&[(-4i64) as u64, 1]),
            cpu(&[9, 1]),
            cpu(&[100, 0]),
        ];
        assert_eq!(
            merge(&MapValue::Min(IntTy::I64), &cpus),
            Merged::Extreme(Value::Int(-4))
        );
        assert_eq!(
            merge(&MapValue::Max(IntTy::I64), &cpus),
            Merged::Extreme(Value::Int(9))
        );
        let unsigned_max = merge(&MapValue::Max(IntTy::U64), &cpus);
        assert_eq!(unsigned_max, Merged::Extreme(Value::UInt((-4i64) as u64)));
        let unset = [cpu(&[7, 0])];
        assert_eq!(
            merge(&MapValue::Min(IntTy::U64), &unset),
            Merged::Extreme(Value::UInt(0))
        );
    }

    #[test]
    fn avg_and_stats_add_counts_and_totals() {
        let cpus = [cpu(&[2, 4]), cpu(&[1, 2])];
        let avg = merge(&MapValue::Avg(IntTy::U64), &cpus);
        assert_eq!(
            avg.clone().into_value(&MapValue::Avg(IntTy::U64), 1),
            Value::UInt(2)
        );
        let stats = avg.into_value(&MapValue::Stats(IntTy::U64), 1);
        let expected = Value::Record(vec![
            ("count".into(), Value::UInt(3)),
            ("average".into(), Value::UInt(2)),
            ("total".into(), Value::UInt(6)),
        ]);
        assert_eq!(stats, expected);
    }

    #[test]
    fn signed_average_truncates_toward_zero_and_is_zero_when_empty() {
        let negative = merge(&MapValue::Avg(IntTy::I64), &[cpu(&[2, (-7i64) as u64])]);
        assert_eq!(negative.sort_key(), Some(-3));
        let empty = merge(&MapValue::Avg(IntTy::I64), &[cpu(&[0, 0])]);
        assert_eq!(
            empty.into_value(&MapValue::Avg(IntTy::I64), 1),
            Value::Int(0)
        );
    }

    #[test]
    fn div_applies_to_the_average_only() {
        let stats = merge(&MapValue::Stats(IntTy::U64), &[cpu(&[2, 10])]);
        let divided = stats.into_value(&MapValue::Stats(IntTy::U64), 5);
        let expected = Value::Record(vec![
            ("count".into(), Value::UInt(2)),
            ("average".into(), Value::UInt(1)),
            ("total".into(), Value::UInt(10)),
        ]);
        assert_eq!(divided, expected);
    }

    #[test]
    fn short_cpu_values_are_errors() {
        let result = merge_cpus("@m", &MapValue::Min(IntTy::U64), &[cpu(&[1])], &[]);
        assert!(matches!(
            result,
            Err(OutputError::TooShort { offset: 8, .. })
        ));
        let missing = merge_cpus(
            "@m",
            &MapValue::Plain(ferrotrace_compiler::types::Ty::U64),
            &[],
            &[],
        );
        assert_eq!(
            missing,
            Err(OutputError::MissingValue {
                map: "@m".to_string()
            })
        );
    }
}
