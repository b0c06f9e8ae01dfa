//! Sets of slots, one per row of a flat bit table: what `stack` tracks per register and per
//! slot's memory, without an allocation per set. Rows beyond the table read as empty and
//! ignore writes.

/// `rows` sets over slots `0..slots`, each `words` 64-bit words long.
pub(super) struct SlotSets {
    pub words: usize,
    bits: Vec<u64>,
}

impl SlotSets {
    pub fn new(rows: usize, slots: usize) -> SlotSets {
        let words = slots.div_ceil(64);
        SlotSets { words, bits: vec![0; rows * words] }
    }

    /// The words of `row`; empty for a row beyond the table.
    pub fn row(&self, row: usize) -> &[u64] {
        self.bits.get(row * self.words..(row + 1) * self.words).unwrap_or_default()
    }

    fn row_mut(&mut self, row: usize) -> &mut [u64] {
        self.bits.get_mut(row * self.words..(row + 1) * self.words).unwrap_or_default()
    }

    pub fn clear(&mut self, row: usize) {
        self.row_mut(row).fill(0);
    }

    /// Adds every slot of `other` (a row's worth of words) to `row`.
    pub fn union_row(&mut self, row: usize, other: &[u64]) {
        Self::union_into(self.row_mut(row), other);
    }

    /// Calls `visit` with each slot in `row`, in increasing order.
    pub fn for_each(&self, row: usize, mut visit: impl FnMut(usize)) {
        for (index, &word) in self.row(row).iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                visit(index * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
    }

    /// Adds `slot` to a row's worth of words.
    pub fn insert_into(words: &mut [u64], slot: usize) {
        if let Some(word) = words.get_mut(slot / 64) {
            *word |= 1 << (slot % 64);
        }
    }

    /// `words |= other`, word by word.
    pub fn union_into(words: &mut [u64], other: &[u64]) {
        for (word, other) in words.iter_mut().zip(other) {
            *word |= other;
        }
    }
}
