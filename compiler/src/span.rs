//! Byte ranges into the script text, carried by every AST node, HIR node and instruction.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A half-open byte range `start..end` into the script source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const DUMMY: Span = Span { start: 0, end: 0 };

    pub fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// 1-based line number of the span's start in `source`.
    pub fn line(self, source: &str) -> usize {
        let end = (self.start as usize).min(source.len());
        source.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(span: pest::Span<'_>) -> Span {
        Span::new(span.start(), span.end())
    }
}
