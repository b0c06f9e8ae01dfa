//! Loads and stores at constant offsets from r10, in a function that never writes r10 (as no
//! function ferrotrace compiles does): the span of the stack they touch is checked once, on
//! entry, as the per-access check would check each of them, since a run never changes the
//! region table. Each such access is then a branch on that check and one machine load or
//! store; it goes to the slow path, as any refused access, when the check failed.

use std::ops::Range;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use ferrotrace_compiler::bpf::opcode as op;

use crate::interp;
use crate::memory::{ADDRESS_TAG, STACK_REGION};
use crate::program::{Program, Slot};

use super::runtime::{REGION_BASE, REGION_LEN, REGION_SIZE, REGION_WRITABLE};

/// The bytes around r10 a function's accesses through it touch: `lowest..end`.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    lowest: i64,
    end: i64,
    stores: bool,
}

impl Span {
    /// The span of the r10 accesses of the function at `range`, if it has some and never
    /// writes r10 (the interpreter reads r10 for any register number above 10).
    pub fn of(program: &Program, range: Range<usize>) -> Option<Span> {
        let mut span: Option<Span> = None;
        for slot in &program.slots[range] {
            let insn = match *slot {
                Slot::Op(insn) => insn,
                Slot::Wide { dst, .. } if dst >= 10 => return None,
                Slot::Wide { .. } | Slot::Tail => continue,
            };
            let class = insn.code & op::CLASS_MASK;
            let (base, store) = match class {
                op::ALU | op::ALU64 if insn.dst >= 10 => return None,
                op::LDX if insn.dst >= 10 => return None,
                op::LDX => (insn.src, false),
                op::ST | op::STX => (insn.dst, true),
                _ => continue,
            };
            if base < 10 {
                continue;
            }
            let (lowest, end) = (i64::from(insn.off), i64::from(insn.off) + i64::from(interp::size_of(insn.code)));
            span = Some(match span {
                None => Span { lowest, end, stores: store },
                Some(span) => Span { lowest: span.lowest.min(lowest), end: span.end.max(end), stores: span.stores || store },
            });
        }
        span
    }
}

/// The frame's check, made on entry.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// The host address r10 stands for; an access at `off` is `off` bytes from it.
    pub pointer: Value,
    /// Whether every load of the span may be done inline.
    pub loads_fit: Value,
    /// Whether every store of the span may be: the stack is writable too.
    pub stores_fit: Value,
}

impl Frame {
    /// Checks, from the function's entry, that `span` around `frame` (r10) lies inside the
    /// stack region of the table at `regions` (which always has its entry).
    pub fn check(builder: &mut FunctionBuilder<'_>, regions: Value, frame: Value, span: Span) -> Frame {
        let flags = MemFlagsData::trusted();
        let entry = builder.ins().iadd_imm_u(regions, i64::from(STACK_REGION) * REGION_SIZE);
        let high = builder.ins().ushr_imm_u(frame, 32);
        let in_stack = builder.ins().icmp_imm_u(IntCC::Equal, high, (ADDRESS_TAG << 16 | u64::from(STACK_REGION)) as i64);
        let offset = builder.ins().band_imm_u(frame, 0xffff_ffff);
        let lowest = builder.ins().iadd_imm_s(offset, span.lowest);
        let above_start = builder.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, lowest, 0);
        let end = builder.ins().iadd_imm_s(offset, span.end);
        let len = builder.ins().load(I64, flags, entry, REGION_LEN);
        let below_end = builder.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, len);
        let inside = builder.ins().band(above_start, below_end);
        let loads_fit = builder.ins().band(in_stack, inside);
        let stores_fit = if span.stores {
            let writable = builder.ins().load(I64, flags, entry, REGION_WRITABLE);
            let writable = builder.ins().icmp_imm_u(IntCC::NotEqual, writable, 0);
            builder.ins().band(loads_fit, writable)
        } else {
            loads_fit
        };
        let base = builder.ins().load(I64, flags, entry, REGION_BASE);
        let pointer = builder.ins().iadd(base, offset);
        Frame { pointer, loads_fit, stores_fit }
    }
}
