//! The stacks `bpf_get_stackid` stored, kept where the runtime prints them from: the stack
//! maps live in the machine, but a stack id is turned into frames while a record prints,
//! through the runtime's installed `StackFrames`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ferrotrace_compiler::manifest::{MapRole, Manifest, BUILD_ID_FRAME_SIZE};
use ferrotrace_runtime::output::stacks::StackFrames;

/// `bpf_stack_build_id.status` of a frame whose file has no build id: only its address.
const BUILD_ID_IP_ONLY: i32 = 2;

/// A stack map's limit, whether its frames are build-id frames, and a stack's id there.
type StackKey = (u8, bool, u32);

/// Every stack stored, by its map's kind and its id.
#[derive(Debug, Clone, Default)]
pub struct StoredStacks(Arc<Mutex<HashMap<StackKey, Vec<u8>>>>);

impl StoredStacks {
    pub fn store(&self, kind: StackMapKind, id: u32, value: &[u8]) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert((kind.limit, kind.build_id, id), value.to_vec());
    }
}

impl StackFrames for StoredStacks {
    fn frames(&self, limit: u8, build_id: bool, id: u32) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).get(&(limit, build_id, id)).cloned()
    }
}

/// The id the kernel gives `frames` in a stack map of `max_entries`: their `jhash2` (as `u32`
/// words, seed 0) masked to the map's buckets, `max_entries` rounded up to a power of two.
/// The same id as live, so equal counts print in the same order and the same stacks collide.
pub fn stack_id(frames: &[u64], max_entries: u32) -> u32 {
    let words: Vec<u32> = frames.iter().flat_map(|frame| [*frame as u32, (frame >> 32) as u32]).collect();
    jhash2(&words) & (max_entries.max(1).next_power_of_two() - 1)
}

/// Bob Jenkins' lookup3 hash of 32-bit words (`hashword`), as the kernel's `jhash2` with an
/// initial value of 0.
fn jhash2(words: &[u32]) -> u32 {
    let start = 0xdead_beef_u32.wrapping_add((words.len() as u32) << 2);
    let (mut a, mut b, mut c) = (start, start, start);
    let mut rest = words;
    while rest.len() > 3 {
        a = a.wrapping_add(rest[0]);
        b = b.wrapping_add(rest[1]);
        c = c.wrapping_add(rest[2]);
        mix(&mut a, &mut b, &mut c);
        rest = &rest[3..];
    }
    if rest.is_empty() {
        return c;
    }
    if let Some(&word) = rest.get(2) {
        c = c.wrapping_add(word);
    }
    if let Some(&word) = rest.get(1) {
        b = b.wrapping_add(word);
    }
    a = a.wrapping_add(rest[0]);
    finish(a, b, c)
}

/// lookup3's reversible mix of three words.
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    for (x, y, z, r) in [(0, 2, 1, 4), (1, 0, 2, 6), (2, 1, 0, 8), (0, 2, 1, 16), (1, 0, 2, 19), (2, 1, 0, 4)] {
        let mut words = [*a, *b, *c];
        words[x] = words[x].wrapping_sub(words[y]);
        words[x] ^= words[y].rotate_left(r);
        words[y] = words[y].wrapping_add(words[z]);
        [*a, *b, *c] = words;
    }
}

/// lookup3's final mix: its last word is the hash.
fn finish(a: u32, b: u32, c: u32) -> u32 {
    let mut words = [a, b, c];
    for (x, y, r) in [(2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16), (0, 2, 4), (1, 0, 14), (2, 1, 24)] {
        words[x] ^= words[y];
        words[x] = words[x].wrapping_sub(words[y].rotate_left(r));
    }
    words[2]
}

/// What a stack map holds: up to `limit` frames, addresses or build-id frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackMapKind {
    pub limit: u8,
    pub build_id: bool,
}

impl StackMapKind {
    /// The kind of each of `manifest`'s maps that is a stack map.
    pub fn of_maps(manifest: &Manifest) -> Vec<Option<StackMapKind>> {
        let kind = |role: &MapRole| match *role {
            MapRole::Stacks { limit, build_id } => Some(StackMapKind { limit, build_id }),
            _ => None,
        };
        manifest.maps.iter().map(|spec| kind(&spec.role)).collect()
    }

    /// The map value holding `frames` (innermost first; cut at the limit). Build-id frames
    /// carry the address alone, as the kernel writes them for a file without a build id: a
    /// recording keeps addresses, not the files' build ids.
    pub fn value(self, frames: &[u64]) -> Vec<u8> {
        let frames = &frames[..frames.len().min(usize::from(self.limit))];
        let size = if self.build_id { BUILD_ID_FRAME_SIZE as usize } else { 8 };
        let mut value = vec![0u8; usize::from(self.limit) * size];
        for (at, frame) in value.chunks_exact_mut(size).zip(frames) {
            if self.build_id {
                at[..4].copy_from_slice(&BUILD_ID_IP_ONLY.to_ne_bytes());
            }
            at[size - 8..].copy_from_slice(&frame.to_ne_bytes());
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_at_the_limit_and_zero_padded() {
        let kind = StackMapKind { limit: 2, build_id: false };
        let value = kind.value(&[1, 2, 3]);
        assert_eq!(value, [1u64.to_ne_bytes(), 2u64.to_ne_bytes()].concat());
        assert_eq!(kind.value(&[7]), [7u64.to_ne_bytes(), [0; 8]].concat());
    }

    #[test]
    fn build_id_frames_hold_the_address_alone() {
        let value = StackMapKind { limit: 1, build_id: true }.value(&[0x1234]);
        assert_eq!(value.len(), 32);
        assert_eq!(&value[..4], &BUILD_ID_IP_ONLY.to_ne_bytes());
        assert_eq!(&value[24..], &0x1234u64.to_ne_bytes());
    }
}
