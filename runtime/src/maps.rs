//! Reading, clearing and zeroing a kernel map through its fd with the bpf syscall, whatever
//! its key and value layout: bytes in, `RawEntry`s out.
//!
//! Per-CPU maps hold one value per *possible* CPU, each padded by the kernel to 8 bytes; the
//! padding is stripped so every slice is exactly the value size. Arrays are read by index,
//! hashes by walking `BPF_MAP_GET_NEXT_KEY`.

use std::io;
use std::os::fd::BorrowedFd;

use ferrotrace_compiler::manifest::{BpfMapDef, BpfMapType};
use thiserror::Error;

use crate::entry::RawEntry;
use crate::sys;

#[derive(Debug, Error)]
pub enum MapError {
    #[error("`{operation}` on map `{map}` failed: {source}")]
    Syscall {
        map: String,
        operation: &'static str,
        source: io::Error,
    },
    #[error("map `{map}` is a ring buffer; its records are read as events, not as entries")]
    NotKeyed { map: String },
    #[error("no map `{map}` in the loaded object")]
    Missing { map: String },
}

/// One kernel map: its fd, its definition and how many possible CPUs a per-CPU value spans.
#[derive(Debug, Clone, Copy)]
pub struct KernelMap<'a> {
    name: &'a str,
    fd: BorrowedFd<'a>,
    def: BpfMapDef,
    possible_cpus: usize,
}

impl<'a> KernelMap<'a> {
    /// `name` is only for error messages.
    pub fn new(
        name: &'a str,
        fd: BorrowedFd<'a>,
        def: BpfMapDef,
        possible_cpus: usize,
    ) -> KernelMap<'a> {
        KernelMap {
            name,
            fd,
            def,
            possible_cpus,
        }
    }

    /// Every entry: arrays at every index, hashes in kernel iteration order.
    pub fn entries(&self) -> Result<Vec<RawEntry>, MapError> {
        let mut entries = Vec::new();
        for key in self.keys()? {
            if let Some(values) = self.lookup(&key)? {
                entries.push(RawEntry { key, values });
            }
        }
        Ok(entries)
    }

    /// Deletes every key; array entries cannot be deleted, so they are zeroed instead.
    pub fn clear(&self) -> Result<(), MapError> {
        if self.is_array() {
            return self.zero();
        }
        for key in self.keys()? {
            match sys::map_delete_elem(self.fd, &key) {
                Err(error) if error.raw_os_error() != Some(libc::ENOENT) => {
                    return Err(self.syscall_error("BPF_MAP_DELETE_ELEM", error));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Sets every value to zero, keeping the keys.
    pub fn zero(&self) -> Result<(), MapError> {
        let zeros = vec![0u8; self.value_buffer_len()];
        let flags = if self.is_array() { 0 } else { sys::BPF_EXIST };
        for key in self.keys()? {
            match sys::map_update_elem(self.fd, &key, &zeros, flags) {
                Err(error) if error.raw_os_error() != Some(libc::ENOENT) => {
                    return Err(self.syscall_error("BPF_MAP_UPDATE_ELEM", error));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes one whole value (for per-CPU maps, the same `value` on every CPU).
    pub fn update(&self, key: &[u8], value: &[u8]) -> Result<(), MapError> {
        if self.def.map_type == BpfMapType::RingBuf {
            return Err(MapError::NotKeyed {
                map: self.name.to_string(),
            });
        }
        let mut buffer = vec![0u8; self.value_buffer_len()];
        for slot in buffer.chunks_mut(self.value_stride()) {
            let len = value.len().min(slot.len());
            slot[..len].copy_from_slice(&value[..len]);
        }
        sys::map_update_elem(self.fd, key, &buffer, 0)
            .map_err(|error| self.syscall_error("BPF_MAP_UPDATE_ELEM", error))
    }

    fn keys(&self) -> Result<Vec<Vec<u8>>, MapError> {
        match self.def.map_type {
            BpfMapType::RingBuf => Err(MapError::NotKeyed {
                map: self.name.to_string(),
            }),
            BpfMapType::Array | BpfMapType::PercpuArray => Ok((0..self.def.max_entries)
                .map(|index| index.to_ne_bytes().to_vec())
                .collect()),
            BpfMapType::Hash | BpfMapType::PercpuHash | BpfMapType::LruHash | BpfMapType::LruPercpuHash | BpfMapType::StackTrace => {
                self.hash_keys()
            }
        }
    }

    fn hash_keys(&self) -> Result<Vec<Vec<u8>>, MapError> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut next = vec![0u8; self.def.key_size as usize];
        loop {
            let found = sys::map_get_next_key(self.fd, keys.last().map(Vec::as_slice), &mut next)
                .map_err(|error| self.syscall_error("BPF_MAP_GET_NEXT_KEY", error))?;
            if !found {
                return Ok(keys);
            }
            keys.push(next.clone());
        }
    }

    /// The value of `key` split per CPU, or `None` if the key vanished meanwhile.
    fn lookup(&self, key: &[u8]) -> Result<Option<Vec<Vec<u8>>>, MapError> {
        let mut buffer = vec![0u8; self.value_buffer_len()];
        match sys::map_lookup_elem(self.fd, key, &mut buffer) {
            Ok(()) => {}
            Err(error) if error.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(error) => return Err(self.syscall_error("BPF_MAP_LOOKUP_ELEM", error)),
        }
        let value_size = self.def.value_size as usize;
        let values = buffer
            .chunks(self.value_stride())
            .map(|slot| slot[..value_size].to_vec())
            .collect();
        Ok(Some(values))
    }

    fn is_array(&self) -> bool {
        matches!(
            self.def.map_type,
            BpfMapType::Array | BpfMapType::PercpuArray
        )
    }

    /// Bytes between two CPUs' copies of a value (the value itself for shared maps).
    fn value_stride(&self) -> usize {
        let size = self.def.value_size as usize;
        if self.def.map_type.is_percpu() {
            size.next_multiple_of(8)
        } else {
            size
        }
    }

    fn value_buffer_len(&self) -> usize {
        let copies = if self.def.map_type.is_percpu() {
            self.possible_cpus
        } else {
            1
        };
        self.value_stride() * copies
    }

    fn syscall_error(&self, operation: &'static str, source: io::Error) -> MapError {
        MapError::Syscall {
            map: self.name.to_string(),
            operation,
            source,
        }
    }
}
