//! The instruction builder for one probe program: fresh registers, labels and stack slots, helper
//! calls with their argument registers, and memory places (stack or per-CPU scratch).

use crate::lir::{AluOp, Cond, Function, Inst, Insn, Label, Mem, Operand, Reg, Size, Slot, SlotInfo};
use crate::manifest::MapId;
use crate::span::Span;

/// Copies up to this many bytes are inlined as loads and stores; bigger ones use a helper.
const INLINE_COPY_LIMIT: u32 = 128;

/// Where a value in memory starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    Slot(Slot),
    /// A pointer held in a register (the scratch base, a map value).
    Ptr(Reg),
}

/// A memory location: a base and a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub base: Base,
    pub offset: i32,
}

impl Place {
    pub fn at(self, extra: u32) -> Place {
        Place { offset: self.offset + extra as i32, ..self }
    }
}

/// A helper-call argument.
#[derive(Debug, Clone, Copy)]
pub enum Arg {
    Reg(Reg),
    Imm(i64),
    Map(MapId),
    Addr(Place),
    /// The address `offset` bytes into the single value of the array map.
    MapValue(MapId, u32),
}

pub struct Builder {
    pub func: Function,
    pub span: Span,
    /// The register holding this CPU's scratch area, once something needs it.
    scratch_base: Option<Reg>,
    /// Whether the function set `scratch_base` itself, so that no lookup is needed.
    scratch_base_given: bool,
    /// Bytes of scratch this program uses.
    pub scratch_size: u32,
    /// Values bigger than this live in the per-CPU scratch map instead of the stack
    /// (`on_stack_limit`).
    pub stack_limit: u32,
}

impl Builder {
    pub fn new(name: String) -> Builder {
        Builder {
            func: Function { name, ..Function::default() },
            span: Span::DUMMY,
            scratch_base: None,
            scratch_base_given: false,
            scratch_size: 0,
            stack_limit: crate::config::Config::default().on_stack_limit,
        }
    }

    pub fn emit(&mut self, insn: Insn) {
        self.func.insts.push(Inst { insn, span: self.span, field: None });
    }

    /// `insn`, tagged as holding the offset of `field` (see `co_re`).
    pub fn emit_relocated(&mut self, insn: Insn, field: &crate::co_re::FieldAccess) {
        self.func.insts.push(Inst { insn, span: self.span, field: Some(Box::new(field.clone())) });
    }

    pub fn vreg(&mut self) -> Reg {
        self.func.vregs += 1;
        Reg::Virt(self.func.vregs - 1)
    }

    pub fn label(&mut self) -> Label {
        self.func.labels += 1;
        Label(self.func.labels - 1)
    }

    pub fn place_label(&mut self, label: Label) {
        self.emit(Insn::Label(label));
    }

    pub fn slot(&mut self, size: u32) -> Slot {
        self.func.slots.push(SlotInfo { size: size.max(1).div_ceil(8) * 8, align: 8 });
        Slot(self.func.slots.len() as u32 - 1)
    }

    /// The register that will hold the scratch base; the lookup is emitted at entry later.
    pub fn scratch_base(&mut self) -> Reg {
        match self.scratch_base {
            Some(reg) => reg,
            None => {
                let reg = self.vreg();
                self.scratch_base = Some(reg);
                reg
            }
        }
    }

    /// The register holding the scratch base, if the function uses scratch memory and has to
    /// look the base up.
    pub fn uses_scratch(&self) -> Option<Reg> {
        self.scratch_base.filter(|_| !self.scratch_base_given)
    }

    /// Says that `reg` already holds the scratch base (a loop body gets it from its caller).
    pub fn provide_scratch_base(&mut self, reg: Reg) {
        self.scratch_base = Some(reg);
        self.scratch_base_given = true;
    }

    /// Memory for a value of `size` bytes: a stack slot, or scratch space when large.
    pub fn alloc(&mut self, size: u32) -> Place {
        if size <= self.stack_limit {
            return Place { base: Base::Slot(self.slot(size)), offset: 0 };
        }
        self.alloc_scratch(size)
    }

    /// `size` bytes of this CPU's scratch area, 8-aligned.
    pub fn alloc_scratch(&mut self, size: u32) -> Place {
        let offset = self.scratch_size.div_ceil(8) * 8;
        self.scratch_size = offset + size.div_ceil(8) * 8;
        Place { base: Base::Ptr(self.scratch_base()), offset: offset as i32 }
    }

    // ---- registers ----

    pub fn mov(&mut self, dst: Reg, src: Reg) {
        self.emit(Insn::Alu64 { op: AluOp::Mov, dst, src: Operand::Reg(src) });
    }

    /// A fresh register holding `value`.
    pub fn constant(&mut self, value: i64) -> Reg {
        let reg = self.vreg();
        self.set_constant(reg, value);
        reg
    }

    pub fn set_constant(&mut self, dst: Reg, value: i64) {
        match i32::try_from(value) {
            Ok(imm) => self.emit(Insn::Alu64 { op: AluOp::Mov, dst, src: Operand::Imm(imm) }),
            Err(_) => self.emit(Insn::LoadImm64 { dst, imm: value }),
        }
    }

    /// A fresh register holding a copy of `src`.
    pub fn copy_reg(&mut self, src: Reg) -> Reg {
        let dst = self.vreg();
        self.mov(dst, src);
        dst
    }

    pub fn alu(&mut self, op: AluOp, dst: Reg, src: Operand) {
        self.emit(Insn::Alu64 { op, dst, src });
    }

    /// `dst /= divisor` (or `%=` when `remainder`) on signed values, with unsigned instructions
    /// on the magnitudes and the sign put back: BPF's own signed division (cpu v4) needs Linux
    /// 6.6. A quotient is negative when the signs differ, a remainder takes the dividend's sign,
    /// as in C.
    pub fn signed_div_mod(&mut self, dst: Reg, divisor: Operand, remainder: bool) {
        let negate = self.constant(0);
        let dividend_positive = self.label();
        self.branch(Cond::SGe, dst, Operand::Imm(0), dividend_positive);
        self.alu(AluOp::Neg, dst, Operand::Imm(0));
        self.set_constant(negate, 1);
        self.place_label(dividend_positive);
        let divisor = match divisor {
            // Its magnitude does not fit an immediate, which the CPU sign-extends.
            Operand::Imm(i32::MIN) => {
                if !remainder {
                    self.alu(AluOp::Xor, negate, Operand::Imm(1));
                }
                Operand::Reg(self.constant(1 << 31))
            }
            Operand::Imm(imm) if imm < 0 => {
                if !remainder {
                    self.alu(AluOp::Xor, negate, Operand::Imm(1));
                }
                Operand::Imm(imm.unsigned_abs() as i32)
            }
            Operand::Imm(imm) => Operand::Imm(imm),
            Operand::Reg(reg) => {
                let magnitude = self.copy_reg(reg);
                let divisor_positive = self.label();
                self.branch(Cond::SGe, magnitude, Operand::Imm(0), divisor_positive);
                self.alu(AluOp::Neg, magnitude, Operand::Imm(0));
                if !remainder {
                    self.alu(AluOp::Xor, negate, Operand::Imm(1));
                }
                self.place_label(divisor_positive);
                Operand::Reg(magnitude)
            }
        };
        self.alu(if remainder { AluOp::Mod } else { AluOp::Div }, dst, divisor);
        let done = self.label();
        self.branch(Cond::Eq, negate, Operand::Imm(0), done);
        self.alu(AluOp::Neg, dst, Operand::Imm(0));
        self.place_label(done);
    }

    pub fn branch(&mut self, cond: Cond, lhs: Reg, rhs: Operand, target: Label) {
        self.emit(Insn::Branch { cond, lhs, rhs, target });
    }

    /// A fresh register holding 1 when `lhs cond rhs` holds, else 0.
    pub fn flag(&mut self, cond: Cond, lhs: Reg, rhs: Operand) -> Reg {
        let out = self.constant(1);
        let done = self.label();
        self.branch(cond, lhs, rhs, done);
        self.set_constant(out, 0);
        self.place_label(done);
        out
    }

    pub fn jump(&mut self, target: Label) {
        self.emit(Insn::Jump { target });
    }

    // ---- calls ----

    /// Calls `helper` with `args`; returns a fresh register holding its result.
    pub fn call(&mut self, helper: u32, args: &[Arg]) -> Reg {
        let regs: Vec<Reg> = args.iter().map(|arg| self.arg_reg(*arg)).collect();
        for (i, reg) in regs.into_iter().enumerate() {
            self.mov(Reg::arg(i), reg);
        }
        self.emit(Insn::Call { helper, args: args.len() as u8 });
        let result = self.vreg();
        self.mov(result, Reg::R0);
        result
    }

    fn arg_reg(&mut self, arg: Arg) -> Reg {
        match arg {
            Arg::Reg(reg) => reg,
            Arg::Imm(value) => self.constant(value),
            Arg::Map(map) => {
                let reg = self.vreg();
                self.emit(Insn::LoadMap { dst: reg, map });
                reg
            }
            Arg::Addr(place) => self.addr(place),
            Arg::MapValue(map, offset) => {
                let reg = self.vreg();
                self.emit(Insn::LoadMapValue { dst: reg, map, offset });
                reg
            }
        }
    }

    // ---- memory ----

    pub fn mem(&self, place: Place) -> Mem {
        let off = place.offset as i16;
        match place.base {
            Base::Slot(slot) => Mem::Slot(slot, off),
            Base::Ptr(reg) => Mem::Reg(reg, off),
        }
    }

    /// A fresh register holding the address of `place`.
    pub fn addr(&mut self, place: Place) -> Reg {
        let dst = self.vreg();
        match place.base {
            Base::Slot(slot) => self.emit(Insn::AddrOf { dst, slot, off: place.offset as i16 }),
            Base::Ptr(reg) => {
                self.mov(dst, reg);
                if place.offset != 0 {
                    self.alu(AluOp::Add, dst, Operand::Imm(place.offset));
                }
            }
        }
        dst
    }

    /// Loads `size` bytes (1, 2, 4 or 8) zero-extended into a fresh register.
    pub fn load(&mut self, place: Place, size: u32) -> Reg {
        let dst = self.vreg();
        let size = Size::from_bytes(size).unwrap_or(Size::DW);
        let mem = self.mem(place);
        self.emit(Insn::Load { size, dst, mem });
        dst
    }

    pub fn store(&mut self, place: Place, size: u32, src: Reg) {
        let size = Size::from_bytes(size).unwrap_or(Size::DW);
        let mem = self.mem(place);
        self.emit(Insn::Store { size, mem, src });
    }

    pub fn store_imm(&mut self, place: Place, size: u32, imm: i32) {
        let size = Size::from_bytes(size).unwrap_or(Size::DW);
        let mem = self.mem(place);
        self.emit(Insn::StoreImm { size, mem, imm });
    }

    /// Sets `size` bytes at `place` to zero.
    pub fn zero(&mut self, place: Place, size: u32) {
        if size <= INLINE_COPY_LIMIT {
            for (offset, chunk) in chunks(place.offset, size, 8) {
                self.store_imm(place.at(offset), chunk, 0);
            }
            return;
        }
        // bpf_probe_read_kernel zero-fills its destination when the read fails, and reading
        // address 0 always fails: one call clears any size.
        self.call(crate::lir::helper::PROBE_READ_KERNEL, &[Arg::Addr(place), Arg::Imm(i64::from(size)), Arg::Imm(0)]);
    }

    /// Copies `size` bytes from `src` to `dst`.
    pub fn copy(&mut self, dst: Place, src: Place, size: u32) {
        if size <= INLINE_COPY_LIMIT {
            for (offset, chunk) in chunks(dst.offset.min(src.offset), size, alignment_limit(dst.offset, src.offset)) {
                let tmp = self.load(src.at(offset), chunk);
                self.store(dst.at(offset), chunk, tmp);
            }
            return;
        }
        self.call(crate::lir::helper::PROBE_READ_KERNEL, &[Arg::Addr(dst), Arg::Imm(i64::from(size)), Arg::Addr(src)]);
    }
}

/// The biggest chunk that keeps two places' accesses aligned together: 8 when their offsets
/// agree modulo 8, less otherwise.
pub fn alignment_limit(a: i32, b: i32) -> u32 {
    let diff = (a - b).unsigned_abs();
    [8, 4, 2, 1].into_iter().find(|&c| diff.is_multiple_of(c)).unwrap_or(1)
}

/// Splits `size` bytes starting at byte offset `start` into chunks of at most `max` bytes
/// (8, 4, 2 or 1), each aligned to its own size: `(offset from start, chunk size)`. The kernel
/// verifier refuses misaligned stack accesses, so every copy, clear and compare goes through
/// this.
pub fn chunks(start: i32, size: u32, max: u32) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut done = 0;
    while done < size {
        let at = i64::from(start) + i64::from(done);
        let chunk = [8, 4, 2, 1]
            .into_iter()
            .find(|&c| c <= max && c <= size - done && at.rem_euclid(i64::from(c)) == 0)
            .unwrap_or(1);
        out.push((done, chunk));
        done += chunk;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_cover_exactly() {
        assert_eq!(chunks(0, 16, 8), vec![(0, 8), (8, 8)]);
        assert_eq!(chunks(0, 7, 8), vec![(0, 4), (4, 2), (6, 1)]);
        assert_eq!(chunks(0, 0, 8), vec![]);
    }

    #[test]
    fn chunks_stay_aligned() {
        assert_eq!(chunks(3, 9, 8), vec![(0, 1), (1, 4), (5, 4)]);
        assert_eq!(chunks(-45, 4, 8), vec![(0, 1), (1, 2), (3, 1)]);
        assert_eq!(chunks(0, 8, 4), vec![(0, 4), (4, 4)]);
    }
}
