//! The memory a program may touch, and the addresses it sees for it.
//!
//! A program never holds a host pointer. Every place it may load from or store to is a
//! *region* (its stack, its context, each map's values on each CPU, the keys a callback is
//! handed), and the address of byte `offset` of region `r` is `ADDRESS_TAG << 48 | r << 32 |
//! offset`: a non-canonical x86-64 address, so it is never a recorded kernel or user address
//! either. A load or store checks the tag, the region number and `offset + size` against the
//! region's length (and, for a store, that the region is writable) before touching a byte, in
//! the interpreter and in the JIT's code alike. Any other address is recorded memory, which
//! only the `probe_read` helpers (and plain loads through a recorded kernel pointer) read, by
//! copying from the event.

/// The top 16 bits of every region address.
pub const ADDRESS_TAG: u64 = 0x0bf0;
/// The top 16 bits of a map reference (`ld_imm64` of a map); the low bits are its index.
pub const MAP_TAG: u64 = 0x0bf1;
/// The top 16 bits of a function reference (`ld_imm64` of a callback); the low bits are its slot.
pub const FUNCTION_TAG: u64 = 0x0bf2;

/// Region numbers that never change.
pub const NO_REGION: u32 = 0;
pub const STACK_REGION: u32 = 1;
pub const CONTEXT_REGION: u32 = 2;
/// Keys and values a helper hands a callback, one frame's worth per call depth.
pub const HANDOFF_REGION: u32 = 3;
/// Regions from here on are map values.
pub const FIRST_MAP_REGION: u32 = 4;

/// The stack of one function: what the kernel gives each BPF frame.
pub const FRAME_SIZE: u32 = 512;
/// Nested calls (a callback of a callback) the engine allows.
pub const MAX_DEPTH: u32 = 8;

/// One region as generated code reads it: `#[repr(C)]`, 24 bytes.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct Region {
    pub base: *mut u8,
    pub len: u64,
    /// 1 when stores are allowed.
    pub writable: u64,
}

impl Region {
    pub const NONE: Region = Region { base: std::ptr::null_mut(), len: 0, writable: 0 };
}

/// The address of `offset` in region `region`.
pub fn address(region: u32, offset: u32) -> u64 {
    ADDRESS_TAG << 48 | u64::from(region) << 32 | u64::from(offset)
}

/// The region and offset an address names, if it is a region address.
pub fn split(address: u64) -> Option<(u32, u32)> {
    (address >> 48 == ADDRESS_TAG).then_some((((address >> 32) & 0xffff) as u32, address as u32))
}

/// Why a memory access was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessFault {
    /// Not a region address, and no recorded memory there.
    Unmapped,
    /// Past the end of its region.
    OutOfBounds { len: u64 },
    /// A store into a read-only region (the context).
    ReadOnly,
}

/// Zeroed bytes that a region points at: owned here, reached by generated code through the
/// region table's raw pointer, and by Rust only through short-lived slices made from that same
/// pointer, so no long-lived reference ever aliases what the program writes.
#[derive(Debug)]
pub struct Slab {
    base: *mut u8,
    len: usize,
}

// SAFETY: a slab is plain owned memory; the machine that holds it runs on one thread at a time.
unsafe impl Send for Slab {}

impl Slab {
    pub fn zeroed(len: usize) -> Slab {
        let bytes: Box<[u8]> = vec![0u8; len].into_boxed_slice();
        let len = bytes.len();
        Slab { base: Box::into_raw(bytes).cast::<u8>(), len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `base` is this slab's live allocation of `len` bytes.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` keeps other Rust borrows away meanwhile.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len) }
    }

    /// The region of these bytes.
    pub fn region(&self, writable: bool) -> Region {
        Region { base: self.base, len: self.len as u64, writable: u64::from(writable) }
    }
}

impl Drop for Slab {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` came from `Box::into_raw` of a boxed slice of `len` bytes.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.base, self.len)) });
    }
}

/// The region table.
#[derive(Debug)]
pub struct Memory {
    regions: Vec<Region>,
}

// SAFETY: the table only points into buffers the `Machine` owns and keeps alive and unmoved
// while it exists; the machine is used from one thread at a time.
unsafe impl Send for Memory {}

impl Memory {
    pub fn new() -> Memory {
        Memory { regions: vec![Region::NONE; FIRST_MAP_REGION as usize] }
    }

    /// Points region `region` at `slab`, which must outlive the region's use.
    pub fn set(&mut self, region: u32, slab: &Slab, writable: bool) {
        let index = region as usize;
        if self.regions.len() <= index {
            self.regions.resize(index + 1, Region::NONE);
        }
        self.regions[index] = slab.region(writable);
    }

    /// Points region `region` at the first `len` bytes of `slab`, read-only.
    pub fn set_prefix(&mut self, region: u32, slab: &Slab, len: usize) {
        self.set(region, slab, false);
        self.regions[region as usize].len = len.min(slab.len()) as u64;
    }

    /// The next free region number.
    pub fn next_region(&self) -> u32 {
        self.regions.len() as u32
    }

    /// The table, for generated code.
    pub fn table(&self) -> *const Region {
        self.regions.as_ptr()
    }

    /// How many regions the table holds.
    pub fn count(&self) -> usize {
        self.regions.len()
    }

    /// `size` bytes at region address `address`, checked.
    pub fn slice(&self, address: u64, size: u64) -> Result<&[u8], AccessFault> {
        let (base, _) = self.checked(address, size, false)?;
        // SAFETY: `checked` proved `size` bytes from `base` lie inside a live region.
        Ok(unsafe { std::slice::from_raw_parts(base, size as usize) })
    }

    /// `size` writable bytes at region address `address`, checked.
    pub fn slice_mut(&mut self, address: u64, size: u64) -> Result<&mut [u8], AccessFault> {
        let (base, _) = self.checked(address, size, true)?;
        // SAFETY: as in `slice`, and the region is writable and not borrowed elsewhere.
        Ok(unsafe { std::slice::from_raw_parts_mut(base, size as usize) })
    }

    /// Whether `address` is a region address.
    pub fn is_region(address: u64) -> bool {
        split(address).is_some()
    }

    fn checked(&self, address: u64, size: u64, store: bool) -> Result<(*mut u8, u64), AccessFault> {
        let (region, offset) = split(address).ok_or(AccessFault::Unmapped)?;
        let entry = self.regions.get(region as usize).filter(|entry| !entry.base.is_null()).ok_or(AccessFault::Unmapped)?;
        if u64::from(offset) + size > entry.len {
            return Err(AccessFault::OutOfBounds { len: entry.len });
        }
        if store && entry.writable == 0 {
            return Err(AccessFault::ReadOnly);
        }
        // SAFETY: the offset is within the region, checked just above.
        Ok((unsafe { entry.base.add(offset as usize) }, entry.len))
    }
}

impl Default for Memory {
    fn default() -> Memory {
        Memory::new()
    }
}
