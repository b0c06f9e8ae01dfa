//! The script's maps in user space, laid out as the kernel's: the same key and value bytes, one
//! value per CPU for per-CPU maps, so the runtime's decoding reads them unchanged.
//!
//! Each map keeps its values in one zeroed slab per CPU copy (`max_entries` values, allocated
//! once and never moved), and each slab is one memory region: a lookup hands the program the
//! region address of its value. Hashes find a key's slot through a `KeyTable`; arrays are
//! indexed. The ring buffer is not here: its records go straight to the machine's output.

use ferrotrace_compiler::manifest::{BpfMapDef, BpfMapType, MapSpec};
use ferrotrace_runtime::entry::RawEntry;

use crate::key_table::KeyTable;
use crate::memory::{self, Memory, Slab};

/// `-E2BIG`: a full hash refuses a new key.
const E2BIG: i64 = -7;
/// `-ENOENT`: no such key.
const ENOENT: i64 = -2;
/// `-EINVAL`: an array entry cannot be deleted, an index is out of range.
const EINVAL: i64 = -22;
/// `BPF_NOEXIST` and `BPF_EXIST` update flags.
const NOEXIST: u64 = 1;
const EXIST: u64 = 2;

/// One map.
#[derive(Debug)]
pub struct Map {
    pub def: BpfMapDef,
    /// One slab per CPU copy: `max_entries * value_size` bytes each.
    slabs: Vec<Slab>,
    /// The region of the first slab; a per-CPU map's CPU `c` is `region + c`.
    region: u32,
    keys: Keys,
}

/// How a map finds a key's slot.
#[derive(Debug)]
enum Keys {
    /// The key is the slot (a `u32` index).
    Array,
    /// Hashes and stack maps: the keys and their slots, and for LRU maps when each slot was
    /// last used.
    Hash { table: KeyTable, used: Vec<u64>, clock: u64 },
    /// The ring buffer: no values.
    Ring,
}

impl Map {
    /// A map as `spec` defines it, with `cpus` copies of a per-CPU value, its slabs registered
    /// in `memory` from its next free region on.
    pub fn new(spec: &MapSpec, cpus: u32, memory: &mut Memory) -> Map {
        let def = spec.def;
        let keys = match def.map_type {
            BpfMapType::Array | BpfMapType::PercpuArray => Keys::Array,
            BpfMapType::RingBuf => Keys::Ring,
            BpfMapType::Hash | BpfMapType::PercpuHash | BpfMapType::StackTrace => {
                Keys::Hash { table: KeyTable::new(def.key_size as usize, def.max_entries), used: Vec::new(), clock: 0 }
            }
            BpfMapType::LruHash | BpfMapType::LruPercpuHash => {
                Keys::Hash { table: KeyTable::new(def.key_size as usize, def.max_entries), used: vec![0; def.max_entries as usize], clock: 0 }
            }
        };
        let copies = match (&keys, def.map_type.is_percpu()) {
            (Keys::Ring, _) => 0,
            (_, true) => cpus,
            (_, false) => 1,
        };
        let size = def.max_entries as usize * def.value_size as usize;
        let region = memory.next_region();
        let slabs: Vec<Slab> = (0..copies).map(|_| Slab::zeroed(size)).collect();
        for (copy, slab) in slabs.iter().enumerate() {
            memory.set(region + copy as u32, slab, true);
        }
        Map { def, slabs, region, keys }
    }

    fn value_size(&self) -> usize {
        self.def.value_size as usize
    }

    /// The slab a program on `cpu` sees.
    fn copy_of(&self, cpu: u32) -> usize {
        if self.slabs.len() > 1 {
            (cpu as usize).min(self.slabs.len() - 1)
        } else {
            0
        }
    }

    /// The slot holding `key`, if any; an LRU map marks it used.
    fn slot(&mut self, key: &[u8]) -> Option<u32> {
        let slot = self.find(key)?;
        if let Keys::Hash { used, clock, .. } = &mut self.keys {
            if let Some(last_use) = used.get_mut(slot as usize) {
                *clock += 1;
                *last_use = *clock;
            }
        }
        Some(slot)
    }

    /// The slot holding `key`, if any, without marking it used.
    fn find(&self, key: &[u8]) -> Option<u32> {
        match &self.keys {
            Keys::Array => {
                let index = u32::from_ne_bytes(key.get(..4)?.try_into().ok()?);
                (index < self.def.max_entries).then_some(index)
            }
            Keys::Hash { table, .. } => table.find(key.get(..self.def.key_size as usize)?),
            Keys::Ring => None,
        }
    }

    /// Whether looking a key up changes the map (an LRU map's record of use).
    pub fn lookup_changes(&self) -> bool {
        matches!(self.def.map_type, BpfMapType::LruHash | BpfMapType::LruPercpuHash)
    }

    /// `bpf_map_lookup_elem` on `cpu` in a map whose lookups change nothing: the region address
    /// of `key`'s value, or 0.
    pub fn peek(&self, cpu: u32, key: &[u8]) -> u64 {
        match self.find(key) {
            Some(slot) => memory::address(self.region + self.copy_of(cpu) as u32, slot * self.def.value_size),
            None => 0,
        }
    }

    /// `bpf_map_lookup_elem` on `cpu`: the region address of `key`'s value, or 0.
    pub fn lookup(&mut self, cpu: u32, key: &[u8]) -> u64 {
        let copy = self.copy_of(cpu);
        self.lookup_copy(copy, key)
    }

    /// `bpf_map_lookup_percpu_elem`: the value of `key` on `cpu`, or 0 past the last CPU.
    pub fn lookup_on(&mut self, cpu: u32, key: &[u8]) -> u64 {
        if cpu as usize >= self.slabs.len() {
            return 0;
        }
        self.lookup_copy(cpu as usize, key)
    }

    fn lookup_copy(&mut self, copy: usize, key: &[u8]) -> u64 {
        match self.slot(key) {
            Some(slot) => memory::address(self.region + copy as u32, slot * self.def.value_size),
            None => 0,
        }
    }

    /// `bpf_map_update_elem` on `cpu`: 0, or a negative errno.
    pub fn update(&mut self, cpu: u32, key: &[u8], value: &[u8], flags: u64) -> i64 {
        let existing = self.slot(key);
        let slot = match (existing, flags) {
            (Some(_), NOEXIST) => return -17,
            (None, EXIST) => return ENOENT,
            (Some(slot), _) => slot,
            (None, _) => match self.insert(key) {
                Ok(slot) => slot,
                Err(error) => return error,
            },
        };
        let copy = self.copy_of(cpu);
        let size = self.value_size();
        let at = slot as usize * size;
        self.slabs[copy].bytes_mut()[at..at + size].copy_from_slice(&value[..size]);
        0
    }

    /// A new key's slot, its values zeroed on every CPU; evicts the least recently used key of
    /// a full LRU map.
    fn insert(&mut self, key: &[u8]) -> Result<u32, i64> {
        let size = self.value_size();
        let Keys::Hash { table, used, clock } = &mut self.keys else {
            return Err(EINVAL);
        };
        let slot = match table.insert(key) {
            Some(slot) => slot,
            None if !used.is_empty() => {
                let victim = (0..used.len()).min_by_key(|&slot| used[slot]).unwrap_or(0) as u32;
                table.remove_slot(victim);
                table.insert(key).ok_or(E2BIG)?
            }
            None => return Err(E2BIG),
        };
        if let Some(last_use) = used.get_mut(slot as usize) {
            *clock += 1;
            *last_use = *clock;
        }
        for slab in &mut self.slabs {
            slab.bytes_mut()[slot as usize * size..(slot as usize + 1) * size].fill(0);
        }
        Ok(slot)
    }

    /// `bpf_map_delete_elem`: 0, or a negative errno.
    pub fn delete(&mut self, key: &[u8]) -> i64 {
        let Keys::Hash { table, .. } = &mut self.keys else {
            return EINVAL;
        };
        match table.remove(&key[..self.def.key_size as usize]) {
            Some(_) => 0,
            None => ENOENT,
        }
    }

    /// Every key in slot order, with its slot.
    pub fn keys(&self) -> Vec<(Vec<u8>, u32)> {
        match &self.keys {
            Keys::Array => (0..self.def.max_entries).map(|index| (index.to_ne_bytes().to_vec(), index)).collect(),
            Keys::Hash { table, .. } => table.slots().map(|slot| (table.key(slot).to_vec(), slot)).collect(),
            Keys::Ring => Vec::new(),
        }
    }

    /// The region address of `slot`'s value on `cpu`.
    pub fn value_address(&self, cpu: u32, slot: u32) -> u64 {
        memory::address(self.region + self.copy_of(cpu) as u32, slot * self.def.value_size)
    }

    /// Every entry as the runtime reads a kernel map's.
    pub fn entries(&self) -> Vec<RawEntry> {
        let size = self.value_size();
        self.keys()
            .into_iter()
            .map(|(key, slot)| {
                let at = slot as usize * size;
                let values = self.slabs.iter().map(|slab| slab.bytes()[at..at + size].to_vec()).collect();
                RawEntry { key, values }
            })
            .collect()
    }

    /// Deletes every key (zeroes an array).
    pub fn clear(&mut self) {
        if let Keys::Hash { table, used, .. } = &mut self.keys {
            table.clear();
            used.fill(0);
        }
        self.zero();
    }

    /// Zeroes every value.
    pub fn zero(&mut self) {
        for slab in &mut self.slabs {
            slab.bytes_mut().fill(0);
        }
    }

    /// Writes `value` at `key` of every CPU copy (how the runtime fills the config and
    /// dispatch maps).
    pub fn fill(&mut self, key: &[u8], value: &[u8]) -> i64 {
        let copies = self.slabs.len() as u32;
        (0..copies).map(|cpu| self.update(cpu, key, value, 0)).find(|&result| result != 0).unwrap_or(0)
    }
}
