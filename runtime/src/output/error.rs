//! Why kernel bytes could not be turned into output: a record or map entry that does not match
//! the layout the manifest promised.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OutputError {
    #[error("a `{ty}` needs {needed} bytes at offset {offset}, but only {available} are there")]
    TooShort {
        ty: String,
        offset: usize,
        needed: usize,
        available: usize,
    },

    #[error("probe index {index} is out of range: the script has {count} probes")]
    ProbeIndex { index: u64, count: usize },

    #[error("a `{ty}` value cannot be printed")]
    Unprintable { ty: String },

    #[error("map `{map}` has an entry with no value")]
    MissingValue { map: String },

    #[error("map `{map}` holds a histogram but its key has no bucket index")]
    NoBucketIndex { map: String },

    #[error("printf argument {index} is missing from the record")]
    MissingArgument { index: usize },

    #[error("map `{map}` has bucket {index}, but its histogram has only {count} buckets")]
    BucketOutOfRange { map: String, index: u64, count: u64 },
}
