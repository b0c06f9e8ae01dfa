//! The keys of a hash map: fixed-size keys in one flat array, one slot each, found through an
//! open-addressing index (linear probing, Fibonacci hashing of the key's words). A lookup is a
//! hash of a few words and a compare or two, with no allocation: the replay hot path.

/// An index entry: empty, a deleted key's place (probing goes on past it), or a slot plus one.
const EMPTY: u32 = 0;
const DELETED: u32 = u32::MAX;

#[derive(Debug)]
pub struct KeyTable {
    key_size: usize,
    max_entries: u32,
    /// Slot `s`'s key at `s * key_size`.
    keys: Vec<u8>,
    occupied: Vec<bool>,
    /// A power of two at least twice `max_entries`.
    index: Vec<u32>,
    shift: u32,
    len: u32,
    deleted: u32,
    /// Slots freed by deletes, reused first; then `fresh` upwards.
    free: Vec<u32>,
    fresh: u32,
}

impl KeyTable {
    pub fn new(key_size: usize, max_entries: u32) -> KeyTable {
        let size = (u64::from(max_entries.max(1)) * 2).next_power_of_two();
        KeyTable {
            key_size,
            max_entries,
            keys: vec![0; key_size * max_entries as usize],
            occupied: vec![false; max_entries as usize],
            index: vec![EMPTY; size as usize],
            shift: 64 - size.trailing_zeros(),
            len: 0,
            deleted: 0,
            free: Vec::new(),
            fresh: 0,
        }
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The key in `slot`.
    pub fn key(&self, slot: u32) -> &[u8] {
        let at = slot as usize * self.key_size;
        &self.keys[at..at + self.key_size]
    }

    /// The slot holding `key`: the common widths of one to four words compared as fixed
    /// arrays, so the hash and the compare have no loop.
    pub fn find(&self, key: &[u8]) -> Option<u32> {
        if key.len() != self.key_size {
            return None;
        }
        match key.len() {
            8 => self.find_words::<1>(key),
            16 => self.find_words::<2>(key),
            24 => self.find_words::<3>(key),
            32 => self.find_words::<4>(key),
            _ => self.probe(hash(key), |stored| same(stored, key)),
        }
    }

    /// `find` of a key of `N` words.
    #[inline(always)]
    fn find_words<const N: usize>(&self, key: &[u8]) -> Option<u32> {
        let wanted = words::<N>(key);
        self.probe(hash_words(&wanted), |stored| words::<N>(stored) == wanted)
    }

    /// The slot of the key whose hash is `hash`, as `matches` tells it from the others.
    #[inline(always)]
    fn probe(&self, hash: u64, matches: impl Fn(&[u8]) -> bool) -> Option<u32> {
        let mask = self.index.len() - 1;
        let mut at = self.home_of(hash);
        loop {
            match self.index[at] {
                EMPTY => return None,
                DELETED => {}
                entry if matches(self.key(entry - 1)) => return Some(entry - 1),
                _ => {}
            }
            at = (at + 1) & mask;
        }
    }

    /// A slot for `key`, which must not be in the table; `None` when every slot is taken.
    pub fn insert(&mut self, key: &[u8]) -> Option<u32> {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None if self.fresh < self.max_entries => {
                self.fresh += 1;
                self.fresh - 1
            }
            None => return None,
        };
        if self.deleted > self.index.len() as u32 / 4 {
            self.rebuild();
        }
        let at = slot as usize * self.key_size;
        self.keys[at..at + self.key_size].copy_from_slice(&key[..self.key_size]);
        self.occupied[slot as usize] = true;
        self.place(slot);
        self.len += 1;
        Some(slot)
    }

    /// Removes `key`: the slot it had.
    pub fn remove(&mut self, key: &[u8]) -> Option<u32> {
        let slot = self.find(key)?;
        self.remove_slot(slot);
        Some(slot)
    }

    /// Removes the key in `slot`.
    pub fn remove_slot(&mut self, slot: u32) {
        if !self.occupied.get(slot as usize).copied().unwrap_or(false) {
            return;
        }
        let mask = self.index.len() - 1;
        let mut at = self.home(self.key(slot));
        while self.index[at] != slot + 1 {
            at = (at + 1) & mask;
        }
        self.index[at] = DELETED;
        self.deleted += 1;
        self.occupied[slot as usize] = false;
        self.free.push(slot);
        self.len -= 1;
    }

    pub fn clear(&mut self) {
        self.index.fill(EMPTY);
        self.occupied.fill(false);
        self.free.clear();
        self.fresh = 0;
        self.len = 0;
        self.deleted = 0;
    }

    /// Every slot holding a key, in slot order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.occupied.iter().enumerate().filter(|(_, &taken)| taken).map(|(slot, _)| slot as u32)
    }

    /// Where probing for `key` starts.
    fn home(&self, key: &[u8]) -> usize {
        self.home_of(hash(key))
    }

    /// Where probing for a key of hash `hash` starts.
    fn home_of(&self, hash: u64) -> usize {
        (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Puts `slot`'s key in the index.
    fn place(&mut self, slot: u32) {
        let mask = self.index.len() - 1;
        let mut at = self.home(self.key(slot));
        while !matches!(self.index[at], EMPTY | DELETED) {
            at = (at + 1) & mask;
        }
        if self.index[at] == DELETED {
            self.deleted -= 1;
        }
        self.index[at] = slot + 1;
    }

    /// The index again without its deleted places.
    fn rebuild(&mut self) {
        self.index.fill(EMPTY);
        self.deleted = 0;
        for slot in 0..self.occupied.len() as u32 {
            if self.occupied[slot as usize] {
                self.place(slot);
            }
        }
    }
}

/// One step of the hash: `word` mixed into `hash`.
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

/// A key's words mixed into one, then its bytes past the last whole word.
fn hash(key: &[u8]) -> u64 {
    let mut words = key.chunks_exact(8);
    let hash = words.by_ref().fold(0, |hash, word| mix(hash, u64::from_ne_bytes(word.try_into().unwrap_or_default())));
    words.remainder().iter().fold(hash, |hash, &byte| mix(hash, u64::from(byte)))
}

/// `hash` of a key of whole words.
fn hash_words<const N: usize>(words: &[u64; N]) -> u64 {
    words.iter().fold(0, |hash, &word| mix(hash, word))
}

/// The first `N` words of `key`, which has at least that many.
#[inline(always)]
fn words<const N: usize>(key: &[u8]) -> [u64; N] {
    std::array::from_fn(|at| u64::from_ne_bytes(key[8 * at..8 * at + 8].try_into().unwrap_or_default()))
}

/// Two keys of one size alike, compared a word at a time (no call to `memcmp`).
fn same(a: &[u8], b: &[u8]) -> bool {
    let word = |bytes: &[u8]| u64::from_ne_bytes(bytes.try_into().unwrap_or_default());
    let (mut left, mut right) = (a.chunks_exact(8), b.chunks_exact(8));
    a.len() == b.len() && left.by_ref().zip(right.by_ref()).all(|(x, y)| word(x) == word(y)) && left.remainder().iter().eq(right.remainder())
}

#[cfg(test)]
mod tests {
    use super::KeyTable;

    #[test]
    fn keys_are_found_removed_and_their_slots_reused() {
        let mut table = KeyTable::new(12, 4);
        let key = |n: u8| [n; 12];
        assert_eq!((table.insert(&key(1)), table.insert(&key(2)), table.insert(&key(3))), (Some(0), Some(1), Some(2)));
        assert_eq!((table.find(&key(2)), table.find(&key(9))), (Some(1), None));
        assert_eq!(table.remove(&key(2)), Some(1));
        assert_eq!(table.find(&key(2)), None);
        assert_eq!(table.find(&key(3)), Some(2), "a key past a deleted place is still found");
        assert_eq!((table.insert(&key(4)), table.insert(&key(5))), (Some(1), Some(3)));
        assert_eq!(table.insert(&key(6)), None, "four slots hold four keys");
        assert_eq!(table.slots().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(table.key(1), &key(4));
        table.clear();
        assert!(table.is_empty());
        assert_eq!(table.insert(&key(7)), Some(0));
    }

    #[test]
    fn keys_of_every_width_are_found_after_inserts_and_removes() {
        // The widths `find` compares as words, and one it compares byte by byte.
        for width in [8, 12, 16, 24, 32, 40] {
            let mut table = KeyTable::new(width, 16);
            let key = |n: u8| {
                let mut key = vec![0; width];
                key[width - 1] = n;
                key[0] = n.wrapping_mul(3);
                key
            };
            for n in 0..16 {
                assert_eq!(table.insert(&key(n)), Some(u32::from(n)), "width {width}");
            }
            for n in (0..16).step_by(3) {
                assert_eq!(table.remove(&key(n)), Some(u32::from(n)), "width {width}");
            }
            for n in 0..16 {
                let expected = (n % 3 != 0).then_some(u32::from(n));
                assert_eq!(table.find(&key(n)), expected, "width {width}, key {n}");
            }
            assert_eq!(table.find(&key(99)), None);
            assert_eq!(table.find(&key(1)[..width - 1]), None, "a key of another width");
        }
    }

    #[test]
    fn many_deletes_keep_lookups_right() {
        let mut table = KeyTable::new(8, 64);
        for round in 0..1000u64 {
            let key = round.to_ne_bytes();
            let slot = table.insert(&key).expect("room");
            assert_eq!(table.find(&key), Some(slot));
            if round % 3 != 0 {
                assert_eq!(table.remove(&key), Some(slot));
            }
            if table.len() == 60 {
                table.clear();
            }
        }
    }
}
