//! Reading, clearing and zeroing maps created by hand with the bpf syscall.

mod kernel_support;

use std::os::fd::{AsFd, OwnedFd};

use ferrotrace_compiler::manifest::{BpfMapDef, BpfMapType};
use ferrotrace_runtime::cpus;
use ferrotrace_runtime::entry::RawEntry;
use ferrotrace_runtime::maps::KernelMap;
use ferrotrace_runtime::sys;
use kernel_support::kernel_available;

fn create(
    map_type: BpfMapType,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> (OwnedFd, BpfMapDef) {
    let fd =
        sys::map_create("test", map_type as u32, key_size, value_size, max_entries, 0).expect("map create");
    (
        fd,
        BpfMapDef {
            map_type,
            key_size,
            value_size,
            max_entries,
            flags: 0,
        },
    )
}

fn possible_cpus() -> usize {
    cpus::possible().expect("possible cpus").len()
}

/// A 12-byte value per CPU: `[key, cpu, 0xabababab]`, each CPU's slot padded to 16 bytes.
fn per_cpu_value(key: u64, cpus: usize) -> Vec<u8> {
    let mut buffer = vec![0u8; 16 * cpus];
    for (cpu, slot) in buffer.chunks_mut(16).enumerate() {
        slot[..4].copy_from_slice(&(key as u32).to_ne_bytes());
        slot[4..8].copy_from_slice(&(cpu as u32).to_ne_bytes());
        slot[8..12].copy_from_slice(&0xabab_ababu32.to_ne_bytes());
        slot[12..].copy_from_slice(&[0xff; 4]);
    }
    buffer
}

fn sorted(mut entries: Vec<RawEntry>) -> Vec<RawEntry> {
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries
}

#[test]
fn per_cpu_hash_values_are_split_and_unpadded() {
    if !kernel_available() {
        return;
    }
    let cpus = possible_cpus();
    let (fd, def) = create(BpfMapType::PercpuHash, 8, 12, 16);
    for key in [3u64, 1, 2] {
        sys::map_update_elem(fd.as_fd(), &key.to_ne_bytes(), &per_cpu_value(key, cpus), 0)
            .expect("update");
    }
    let map = KernelMap::new("@test", fd.as_fd(), def, cpus);
    let entries = sorted(map.entries().expect("entries"));
    assert_eq!(entries.len(), 3);
    for entry in &entries {
        let key = u64::from_ne_bytes(entry.key.as_slice().try_into().expect("8-byte key"));
        assert_eq!(entry.values.len(), cpus);
        for (cpu, value) in entry.values.iter().enumerate() {
            assert_eq!(value.len(), 12);
            assert_eq!(value[..4], (key as u32).to_ne_bytes());
            assert_eq!(value[4..8], (cpu as u32).to_ne_bytes());
        }
    }
}

#[test]
fn arrays_are_read_at_every_index() {
    if !kernel_available() {
        return;
    }
    let (fd, def) = create(BpfMapType::Array, 4, 8, 4);
    sys::map_update_elem(fd.as_fd(), &2u32.to_ne_bytes(), &77u64.to_ne_bytes(), 0).expect("update");
    let map = KernelMap::new("@array", fd.as_fd(), def, possible_cpus());
    let entries = map.entries().expect("entries");
    let values: Vec<(u32, u64)> = entries
        .iter()
        .map(|entry| {
            let key = u32::from_ne_bytes(entry.key.as_slice().try_into().expect("key"));
            let value = u64::from_ne_bytes(entry.values[0].as_slice().try_into().expect("value"));
            (key, value)
        })
        .collect();
    assert_eq!(values, [(0, 0), (1, 0), (2, 77), (3, 0)]);
}

#[test]
fn clear_deletes_hash_keys_and_zeroes_arrays() {
    if !kernel_available() {
        return;
    }
    let cpus = possible_cpus();
    let (hash_fd, hash_def) = create(BpfMapType::PercpuHash, 8, 12, 16);
    sys::map_update_elem(
        hash_fd.as_fd(),
        &5u64.to_ne_bytes(),
        &per_cpu_value(5, cpus),
        0,
    )
    .expect("update");
    let hash = KernelMap::new("@hash", hash_fd.as_fd(), hash_def, cpus);
    hash.clear().expect("clear");
    assert_eq!(hash.entries().expect("entries"), []);

    let (array_fd, array_def) = create(BpfMapType::PercpuArray, 4, 8, 2);
    let array = KernelMap::new("@array", array_fd.as_fd(), array_def, cpus);
    array
        .update(&1u32.to_ne_bytes(), &9u64.to_ne_bytes())
        .expect("update");
    assert_eq!(
        array.entries().expect("entries")[1].values,
        vec![9u64.to_ne_bytes().to_vec(); cpus]
    );
    array.clear().expect("clear");
    let entries = array.entries().expect("entries");
    assert_eq!(entries.len(), 2);
    assert!(entries
        .iter()
        .all(|entry| entry.values.iter().all(|value| value == &[0u8; 8])));
}

#[test]
fn zero_keeps_keys() {
    if !kernel_available() {
        return;
    }
    let (fd, def) = create(BpfMapType::Hash, 8, 8, 16);
    for key in [1u64, 2] {
        sys::map_update_elem(fd.as_fd(), &key.to_ne_bytes(), &(key * 10).to_ne_bytes(), 0)
            .expect("update");
    }
    let map = KernelMap::new("@plain", fd.as_fd(), def, possible_cpus());
    map.zero().expect("zero");
    let entries = sorted(map.entries().expect("entries"));
    let keys: Vec<Vec<u8>> = entries.iter().map(|entry| entry.key.clone()).collect();
    assert_eq!(
        keys,
        [1u64.to_ne_bytes().to_vec(), 2u64.to_ne_bytes().to_vec()]
    );
    assert!(entries.iter().all(|entry| entry.values == [vec![0u8; 8]]));
}

#[test]
fn a_ring_buffer_has_no_entries() {
    if !kernel_available() {
        return;
    }
    let (fd, def) = create(BpfMapType::RingBuf, 0, 0, 4096);
    let map = KernelMap::new("ringbuf", fd.as_fd(), def, possible_cpus());
    let error = map.entries().expect_err("ring buffers are not keyed");
    assert_eq!(
        error.to_string(),
        "map `ringbuf` is a ring buffer; its records are read as events, not as entries"
    );
}
