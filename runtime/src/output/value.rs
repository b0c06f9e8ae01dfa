//! The value model between decoding and rendering: what a map entry or an argument means,
//! independent of how it is printed (text now, JSON later).

use std::borrow::Cow;

use ferrotrace_compiler::buckets::BucketBounds;

/// One decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A signed integer of any width, sign-extended.
    Int(i64),
    /// An unsigned integer of any width.
    UInt(u64),
    Bool(bool),
    /// String bytes up to (not including) the first NUL; `truncated` when the string filled its
    /// whole buffer, which bpftrace takes to mean it was cut short.
    Str {
        bytes: Vec<u8>,
        truncated: bool,
    },
    /// The bytes of a `buf(...)`.
    Buffer(Vec<u8>),
    Tuple(Vec<Value>),
    /// The elements of a C array, printed `[1,2,3]`.
    Array(Vec<Value>),
    /// Named fields in order: a record, or a `stats()` value.
    Record(Vec<(Cow<'static, str>, Value)>),
    /// The `probe` builtin: the probe's full name.
    Probe(String),
    /// A value of a C enum: the name of its constant (`None` when no constant has the value),
    /// and the value itself, an `Int` or a `UInt`. Text prints the name, JSON and `%d` the
    /// number.
    Enum {
        name: Option<String>,
        number: Box<Value>,
    },
    Pointer(u64),
}

impl Value {
    /// The integer's two's-complement bits, for values that printf's integer conversions accept.
    pub fn integer_bits(&self) -> Option<u64> {
        match self {
            Value::Int(value) => Some(*value as u64),
            Value::UInt(value) | Value::Pointer(value) => Some(*value),
            Value::Bool(value) => Some(u64::from(*value)),
            Value::Enum { number, .. } => number.integer_bits(),
            _ => None,
        }
    }

    /// Integers divided by `div` (as `print(@m, top, div)` does), also inside tuples.
    pub fn divided(self, div: u64) -> Value {
        match self {
            Value::Int(value) => Value::Int((i128::from(value) / i128::from(div)) as i64),
            Value::UInt(value) => Value::UInt(value / div),
            Value::Tuple(fields) => {
                Value::Tuple(fields.into_iter().map(|field| field.divided(div)).collect())
            }
            Value::Array(elements) => {
                Value::Array(elements.into_iter().map(|element| element.divided(div)).collect())
            }
            Value::Record(fields) => Value::Record(
                fields
                    .into_iter()
                    .map(|(name, field)| (name, field.divided(div)))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// A map as bpftrace prints it: its name and its entries, already sorted and cut to `top`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDump {
    /// With the `@`.
    pub name: String,
    pub body: MapBody,
    /// Its values are `avg()` or `stats()` ones, which JSON output calls `stats`.
    pub averaged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapBody {
    /// A keyless map with one value.
    Scalar(Value),
    /// `(key, value)` in print order. A key of several fields is a `Value::Tuple`.
    Keyed(Vec<(Value, Value)>),
    /// A keyless `hist` / `lhist`.
    Histogram(Histogram),
    /// One histogram per key, in print order.
    KeyedHistograms(Vec<(Value, Histogram)>),
    /// A `tseries` per key (`None` for a keyless map), in print order.
    Series(Vec<(Option<Value>, Series)>),
}

/// A `tseries` key's intervals in its window, oldest first: epoch and value, `None` where
/// nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub interval_ns: u64,
    pub points: Vec<(u64, Option<i64>)>,
}

/// The printed rows of one histogram: from the first to the last non-zero bucket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Histogram {
    pub rows: Vec<HistRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistRow {
    pub label: BucketLabel,
    pub bounds: BucketBounds,
    pub count: u64,
}

/// How a bucket is labelled: `(..., 0)`, `[1]`, `[2, 4)`, `[10, ...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketLabel {
    Below(LabelNumber),
    Single(LabelNumber),
    Range(LabelNumber, LabelNumber),
    AtLeast(LabelNumber),
}

/// A number in a bucket label, possibly scaled by a power of 1024: `512`, `1K`, `4M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelNumber {
    pub mantissa: i64,
    /// `K`, `M`, `G`, `T`, `P` or `E`, when scaled.
    pub suffix: Option<char>,
}

impl LabelNumber {
    pub fn plain(value: i64) -> LabelNumber {
        LabelNumber {
            mantissa: value,
            suffix: None,
        }
    }
}
