//! Loads and stores: inline when the address is inside a region, after the checks
//! `Memory::slice` makes (the tag, the region number, `offset + size` against the region's
//! length, and for a store that it is writable), made here or, for r10's accesses, once on
//! entry (`frame`); anything else goes to `interp::load` or `interp::store` through a slow
//! path, which reads recorded memory or stops the run with the fault.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I16, I32, I64, I8};
use cranelift_codegen::ir::{BlockArg, Endianness, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;

use crate::memory::ADDRESS_TAG;

use super::runtime::{SlowPath, REGION_BASE, REGION_LEN, REGION_SIZE, REGION_WRITABLE};
use super::translate::Translator;

/// Where an access's bytes are, once it is allowed.
enum Place {
    /// `offset` bytes from the host address r10 stands for.
    Frame { pointer: Value, offset: i32 },
    /// `offset` bytes into the region whose table entry is at `entry`.
    Region { entry: Value, offset: Value },
}

/// A region's bytes: not trapping (the access was checked), of any alignment, little-endian
/// as `interp` reads them.
fn data_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap().with_endianness(Endianness::Little)
}

/// Loads `size` bytes at `at + offset`, zero-extended.
fn load_bytes(builder: &mut FunctionBuilder<'_>, size: u8, at: Value, offset: i32) -> Value {
    let ins = builder.ins();
    match size {
        1 => ins.uload8(I64, data_flags(), at, offset),
        2 => ins.uload16(I64, data_flags(), at, offset),
        4 => ins.uload32(data_flags(), at, offset),
        _ => ins.load(I64, data_flags(), at, offset),
    }
}

/// Stores the low `size` bytes of `value` at `at + offset`.
fn store_bytes(builder: &mut FunctionBuilder<'_>, size: u8, value: Value, at: Value, offset: i32) {
    let ins = builder.ins();
    match size {
        1 => ins.istore8(data_flags(), value, at, offset),
        2 => ins.istore16(data_flags(), value, at, offset),
        4 => ins.istore32(data_flags(), value, at, offset),
        _ => ins.store(data_flags(), value, at, offset),
    };
}

impl Translator<'_> {
    /// The `size` bytes `off` bytes from register `base`, zero-extended; the instruction is at
    /// `slot`.
    pub fn load(&mut self, base: u8, off: i16, size: u8, slot: usize) -> Value {
        self.access(base, off, size, None, slot)
    }

    /// Stores the low `size` bytes of `value` `off` bytes from register `base`; the instruction
    /// is at `slot`.
    pub fn store(&mut self, base: u8, off: i16, size: u8, value: Value, slot: usize) {
        self.access(base, off, size, Some(value), slot);
    }

    /// A store of `stored`, or a load (`None`): the value moved.
    fn access(&mut self, base: u8, off: i16, size: u8, stored: Option<Value>, slot: usize) -> Value {
        let (address, allowed, place) = self.locate(base, off, size, stored.is_some());
        let (fast, slow, join) = (self.builder.create_block(), self.builder.create_block(), self.builder.create_block());
        self.builder.set_cold_block(slow);
        self.builder.ins().brif(allowed, fast, &[], slow, &[]);

        self.builder.switch_to_block(fast);
        self.builder.seal_block(fast);
        let (at, offset) = self.host_address(place);
        let moved = match stored {
            Some(value) => {
                store_bytes(&mut self.builder, size, value, at, offset);
                self.builder.ins().jump(join, &[]);
                value
            }
            None => {
                let loaded = self.builder.append_block_param(join, I64);
                let value = load_bytes(&mut self.builder, size, at, offset);
                self.builder.ins().jump(join, &[BlockArg::Value(value)]);
                loaded
            }
        };

        self.builder.switch_to_block(slow);
        self.builder.seal_block(slow);
        let size = self.builder.ins().iconst(I64, i64::from(size));
        let slot = self.builder.ins().iconst(I64, slot as i64);
        match stored {
            Some(value) => self.call_slow_path(SlowPath::Store, &[self.env, address, size, value, slot], join),
            None => self.call_slow_path(SlowPath::Load, &[self.env, address, size, slot], join),
        }

        self.builder.switch_to_block(join);
        self.builder.seal_block(join);
        moved
    }

    /// `value`'s low `size` bytes, sign-extended (a `MEMSX` load).
    pub fn sign_extend(&mut self, value: Value, size: u8) -> Value {
        let narrow = match size {
            1 => I8,
            2 => I16,
            4 => I32,
            _ => return value,
        };
        let low = self.builder.ins().ireduce(narrow, value);
        self.builder.ins().sextend(I64, low)
    }

    /// The address `off` bytes from register `base`, whether `size` bytes there may be loaded
    /// (or stored) inline, and where they are then: from the frame checked on entry, or
    /// checked here.
    fn locate(&mut self, base: u8, off: i16, size: u8, store: bool) -> (Value, Value, Place) {
        let register = self.register(base);
        let base = self.builder.use_var(register);
        let address = self.builder.ins().iadd_imm_s(base, i64::from(off));
        if let Some(frame) = self.frame.filter(|_| register == self.register(10)) {
            let allowed = if store { frame.stores_fit } else { frame.loads_fit };
            return (address, allowed, Place::Frame { pointer: frame.pointer, offset: i32::from(off) });
        }
        let (allowed, entry, offset) = self.check(address, size, store);
        (address, allowed, Place::Region { entry, offset })
    }

    /// Whether `size` bytes at `address` lie inside a region (a writable one for a store),
    /// its table entry and the offset; without a branch: an address outside the table reads
    /// region 0's entry (the table always has one), and is refused whatever it holds.
    fn check(&mut self, address: Value, size: u8, store: bool) -> (Value, Value, Value) {
        let table_flags = MemFlagsData::trusted();
        // The tag and the region number are the top 32 bits: less the tag, a region number
        // below the count (at most 1 << 16) if and only if the tag was right.
        let high = self.builder.ins().ushr_imm_u(address, 32);
        let index = self.builder.ins().iadd_imm_s(high, -((ADDRESS_TAG << 16) as i64));
        let in_table = self.builder.ins().icmp(IntCC::UnsignedLessThan, index, self.region_count);
        let index = self.builder.ins().select(in_table, index, self.zero);
        let scaled = self.builder.ins().imul_imm_u(index, REGION_SIZE);
        let entry = self.builder.ins().iadd(self.regions, scaled);
        let len = self.builder.ins().load(I64, table_flags, entry, REGION_LEN);
        let offset = self.builder.ins().band_imm_u(address, 0xffff_ffff);
        let end = self.builder.ins().iadd_imm_u(offset, i64::from(size));
        let fits = self.builder.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, len);
        let mut allowed = self.builder.ins().band(in_table, fits);
        if store {
            let writable = self.builder.ins().load(I64, table_flags, entry, REGION_WRITABLE);
            let writable = self.builder.ins().icmp_imm_u(IntCC::NotEqual, writable, 0);
            allowed = self.builder.ins().band(allowed, writable);
        }
        (allowed, entry, offset)
    }

    /// The host address of an allowed access, and a constant offset from it.
    fn host_address(&mut self, place: Place) -> (Value, i32) {
        match place {
            Place::Frame { pointer, offset } => (pointer, offset),
            Place::Region { entry, offset } => {
                let base = self.builder.ins().load(I64, MemFlagsData::trusted(), entry, REGION_BASE);
                (self.builder.ins().iadd(base, offset), 0)
            }
        }
    }
}
