//! A perf event's ring buffer mapped into memory: the kernel writes records at its head, we
//! read them and move the tail past them.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};

/// Where `data_head` and `data_tail` are in `struct perf_event_mmap_page`, the first page.
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;
/// `struct perf_event_header`: `u32 type`, `u16 misc`, `u16 size` (of the whole record).
const HEADER_SIZE: usize = 8;

/// The ring buffer of one perf event, and the event.
pub struct PerfRing {
    map: MmapRaw,
    page_size: usize,
    /// Bytes of record data after the first page: a power of two.
    data_size: usize,
    /// A record taken from the ring, reassembled when it wraps past the end.
    record: Vec<u8>,
    event: OwnedFd,
}

/// One record: its `type`, `misc` and body (the bytes after the header).
pub struct PerfRecord<'r> {
    pub kind: u32,
    pub misc: u16,
    pub body: &'r [u8],
}

impl PerfRing {
    /// Maps `data_pages` pages (a power of two) of `event`'s ring buffer.
    pub fn map(event: OwnedFd, data_pages: usize) -> io::Result<PerfRing> {
        // SAFETY: sysconf has no preconditions.
        let page_size = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).map_err(|_| io::Error::last_os_error())?;
        let data_size = data_pages * page_size;
        let map = MmapOptions::new().len(page_size + data_size).map_raw(&event)?;
        Ok(PerfRing { map, page_size, data_size, record: Vec::new(), event })
    }

    /// Hands every record waiting to `each`, then gives their space back to the kernel.
    pub fn drain(&mut self, each: &mut dyn FnMut(PerfRecord<'_>)) {
        let head = self.counter(DATA_HEAD).load(Ordering::Acquire);
        let mut tail = self.counter(DATA_TAIL).load(Ordering::Relaxed);
        while head.wrapping_sub(tail) >= HEADER_SIZE as u64 {
            self.copy_out(tail, HEADER_SIZE);
            let kind = u32::from_ne_bytes(self.record[0..4].try_into().expect("4 bytes"));
            let misc = u16::from_ne_bytes(self.record[4..6].try_into().expect("2 bytes"));
            let size = usize::from(u16::from_ne_bytes(self.record[6..8].try_into().expect("2 bytes")));
            if size < HEADER_SIZE || head.wrapping_sub(tail) < size as u64 {
                break;
            }
            self.copy_out(tail, size);
            each(PerfRecord { kind, misc, body: &self.record[HEADER_SIZE..] });
            tail = tail.wrapping_add(size as u64);
        }
        self.counter(DATA_TAIL).store(tail, Ordering::Release);
    }

    /// The event, to wait on until it has records.
    pub fn event(&self) -> BorrowedFd<'_> {
        self.event.as_fd()
    }

    /// `len` bytes of the data area from ring position `at` into `self.record`.
    fn copy_out(&mut self, at: u64, len: usize) {
        let start = (at % self.data_size as u64) as usize;
        let first = len.min(self.data_size - start);
        self.record.clear();
        // SAFETY: the mapping is `page_size + data_size` bytes long; `start + first` and
        // `len - first` are within the data area that follows the first page. The kernel does
        // not write between the tail and the head it published, which holds these bytes.
        unsafe {
            let data = self.map.as_ptr().add(self.page_size);
            self.record.extend_from_slice(std::slice::from_raw_parts(data.add(start), first));
            self.record.extend_from_slice(std::slice::from_raw_parts(data, len - first));
        }
    }

    /// The `u64` at `offset` in the first page, which the kernel and we share.
    fn counter(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: `offset` is `data_head` or `data_tail`, 8-byte aligned fields of the
        // page-aligned first page, which lives as long as `self`; the kernel accesses them
        // atomically too.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }
}
