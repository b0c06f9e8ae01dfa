//! ALU instructions and jump conditions as cranelift IR, as `interp::alu` and
//! `interp::condition` define them: division by zero gives 0, remainder by zero keeps the
//! dividend, signed division wraps, shifts take their amount modulo the width, 32-bit
//! operations zero-extend. Cranelift's division traps on what BPF defines, so each is guarded.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I16, I32, I64, I8};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use ferrotrace_compiler::bpf::opcode as op;
use ferrotrace_compiler::bpf::RawInsn;

/// An instruction's second operand: the `src` register's value, or its immediate (known here,
/// so a division by it needs no guard).
#[derive(Debug, Clone, Copy)]
pub enum Operand {
    Register(Value),
    Immediate(i32),
}

/// The value `dst` holds after ALU instruction `insn`.
pub fn alu(builder: &mut FunctionBuilder<'_>, insn: &RawInsn, dst: Value, rhs: Operand) -> Value {
    if insn.code & op::CLASS_MASK == op::ALU64 {
        return operation(builder, insn, I64, dst, rhs);
    }
    let dst = builder.ins().ireduce(I32, dst);
    let rhs = match rhs {
        Operand::Register(value) => Operand::Register(builder.ins().ireduce(I32, value)),
        immediate => immediate,
    };
    let result = operation(builder, insn, I32, dst, rhs);
    builder.ins().uextend(I64, result)
}

/// `insn`'s operation in `ty` (I64 or I32) on `dst` and `rhs`.
fn operation(builder: &mut FunctionBuilder<'_>, insn: &RawInsn, ty: Type, dst: Value, rhs: Operand) -> Value {
    let signed = insn.off == op::OFF_SIGNED;
    let operation = insn.code & op::OP_MASK;
    match (operation, rhs) {
        (op::DIV | op::MOD, Operand::Immediate(imm)) => return divide_by_constant(builder, operation, signed, ty, dst, imm),
        (op::DIV | op::MOD, Operand::Register(rhs)) => return divide(builder, operation, signed, ty, dst, rhs),
        (op::NEG, _) => return builder.ins().ineg(dst),
        _ => {}
    }
    let rhs = match rhs {
        Operand::Register(value) => value,
        Operand::Immediate(imm) => constant(builder, ty, i64::from(imm)),
    };
    let ins = builder.ins();
    match operation {
        op::ADD => ins.iadd(dst, rhs),
        op::SUB => ins.isub(dst, rhs),
        op::MUL => ins.imul(dst, rhs),
        op::OR => ins.bor(dst, rhs),
        op::AND => ins.band(dst, rhs),
        op::XOR => ins.bxor(dst, rhs),
        // Cranelift's shifts take their amount modulo the width, as BPF's do.
        op::LSH => ins.ishl(dst, rhs),
        op::RSH => ins.ushr(dst, rhs),
        op::ARSH => ins.sshr(dst, rhs),
        op::MOV => match (insn.off, ty) {
            (8, _) => sign_extend_low(builder, ty, rhs, I8),
            (16, _) => sign_extend_low(builder, ty, rhs, I16),
            (32, I64) => sign_extend_low(builder, ty, rhs, I32),
            _ => rhs,
        },
        // What is left (`mov`, and what is no operation) moves `rhs`, as the interpreter does.
        _ => rhs,
    }
}

/// `value`'s low `narrow` bits, sign-extended to `ty`.
fn sign_extend_low(builder: &mut FunctionBuilder<'_>, ty: Type, value: Value, narrow: Type) -> Value {
    let low = builder.ins().ireduce(narrow, value);
    builder.ins().sextend(ty, low)
}

/// Division or remainder by the immediate `imm`, taken in `ty` (sign-extended to 64 bits,
/// or as its 32 bits).
fn divide_by_constant(builder: &mut FunctionBuilder<'_>, operation: u8, signed: bool, ty: Type, dst: Value, imm: i32) -> Value {
    match (operation, imm, signed) {
        (op::DIV, 0, _) => constant(builder, ty, 0),
        (op::MOD, 0, _) => dst,
        // `i64::MIN / -1` wraps to itself and `i64::MIN % -1` is 0; cranelift would trap.
        (op::DIV, -1, true) => builder.ins().ineg(dst),
        (op::MOD, -1, true) => constant(builder, ty, 0),
        _ => {
            let rhs = constant(builder, ty, i64::from(imm));
            let ins = builder.ins();
            match (operation, signed) {
                (op::DIV, true) => ins.sdiv(dst, rhs),
                (op::DIV, false) => ins.udiv(dst, rhs),
                (_, true) => ins.srem(dst, rhs),
                (_, false) => ins.urem(dst, rhs),
            }
        }
    }
}

/// Division or remainder by a register, guarded: by 0 it gives 0 (the remainder `dst`), and
/// signed by -1 it wraps.
fn divide(builder: &mut FunctionBuilder<'_>, operation: u8, signed: bool, ty: Type, dst: Value, rhs: Value) -> Value {
    let zero = constant(builder, ty, 0);
    let one = constant(builder, ty, 1);
    let by_zero = builder.ins().icmp(IntCC::Equal, rhs, zero);
    let by_minus_one = signed.then(|| {
        let minus_one = constant(builder, ty, -1);
        builder.ins().icmp(IntCC::Equal, rhs, minus_one)
    });
    let unsafe_divisor = match by_minus_one {
        Some(by_minus_one) => builder.ins().bor(by_zero, by_minus_one),
        None => by_zero,
    };
    let divisor = builder.ins().select(unsafe_divisor, one, rhs);
    let result = match (operation, by_minus_one) {
        (op::DIV, Some(by_minus_one)) => {
            let quotient = builder.ins().sdiv(dst, divisor);
            let wrapped = builder.ins().ineg(dst);
            builder.ins().select(by_minus_one, wrapped, quotient)
        }
        (op::DIV, None) => builder.ins().udiv(dst, divisor),
        (_, Some(by_minus_one)) => {
            let remainder = builder.ins().srem(dst, divisor);
            builder.ins().select(by_minus_one, zero, remainder)
        }
        (_, None) => builder.ins().urem(dst, divisor),
    };
    let at_zero = if operation == op::DIV { zero } else { dst };
    builder.ins().select(by_zero, at_zero, result)
}

/// The integer constant `value` in `ty`, its bits above the width cleared as cranelift wants.
pub fn constant(builder: &mut FunctionBuilder<'_>, ty: Type, value: i64) -> Value {
    let bits = ty.bits();
    let masked = if bits < 64 { value & ((1i64 << bits) - 1) } else { value };
    builder.ins().iconst(ty, masked)
}

/// A conditional jump's comparison, by its operation; `None` for one that is not a jump.
pub fn condition(builder: &mut FunctionBuilder<'_>, operation: u8, wide: bool, lhs: Value, rhs: Operand) -> Option<Value> {
    let ty = if wide { I64 } else { I32 };
    let (lhs, rhs) = match (wide, rhs) {
        (true, Operand::Register(rhs)) => (lhs, rhs),
        (false, Operand::Register(rhs)) => (builder.ins().ireduce(I32, lhs), builder.ins().ireduce(I32, rhs)),
        (_, Operand::Immediate(imm)) => {
            let lhs = if wide { lhs } else { builder.ins().ireduce(I32, lhs) };
            (lhs, constant(builder, ty, i64::from(imm)))
        }
    };
    let cc = match operation {
        op::JEQ => IntCC::Equal,
        op::JNE => IntCC::NotEqual,
        op::JGT => IntCC::UnsignedGreaterThan,
        op::JGE => IntCC::UnsignedGreaterThanOrEqual,
        op::JLT => IntCC::UnsignedLessThan,
        op::JLE => IntCC::UnsignedLessThanOrEqual,
        op::JSGT => IntCC::SignedGreaterThan,
        op::JSGE => IntCC::SignedGreaterThanOrEqual,
        op::JSLT => IntCC::SignedLessThan,
        op::JSLE => IntCC::SignedLessThanOrEqual,
        op::JSET => {
            let common = builder.ins().band(lhs, rhs);
            return Some(builder.ins().icmp_imm_u(IntCC::NotEqual, common, 0));
        }
        _ => return None,
    };
    Some(builder.ins().icmp(cc, lhs, rhs))
}
