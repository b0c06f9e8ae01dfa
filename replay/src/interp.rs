//! The reference interpreter: one instruction at a time, every memory access checked. The JIT
//! must agree with it on every program; tests and the differential harness compare them.

use ferrotrace_compiler::bpf::opcode as op;
use ferrotrace_compiler::bpf::RawInsn;

use crate::error::{Fault, Trap};
use crate::helpers;
use crate::machine::{Exec, Machine, Stop};
use crate::memory::{Memory, FUNCTION_TAG, MAP_TAG};
use crate::program::{Program, Slot, Wide};

/// Runs one program's functions.
pub struct Interpreter<'p> {
    pub program: &'p Program,
}

impl Exec for Interpreter<'_> {
    fn call(&self, machine: &mut Machine, slot: u32, args: [u64; 5]) -> Result<u64, Stop> {
        self.run(machine, slot, args).map_err(Stop::Deeper)
    }
}

impl Interpreter<'_> {
    /// Runs the function starting at `start` with `args` in r1..r5: its r0.
    pub fn run(&self, machine: &mut Machine, start: u32, args: [u64; 5]) -> Result<u64, Trap> {
        let frame = machine.enter().map_err(|fault| Trap { slot: start, fault })?;
        let result = self.execute(machine, start as usize, args, frame);
        machine.leave();
        result
    }

    fn execute(&self, machine: &mut Machine, start: usize, args: [u64; 5], frame: u64) -> Result<u64, Trap> {
        let mut regs = [0u64; 11];
        regs[1..6].copy_from_slice(&args);
        regs[10] = frame;
        let slots = &self.program.slots;
        let mut pc = start;
        loop {
            let trap = |fault| Trap { slot: pc as u32, fault };
            let insn = match slots.get(pc) {
                Some(Slot::Op(insn)) => *insn,
                Some(Slot::Wide { dst, .. }) if *dst > 10 => return Err(trap(Fault::BadInstruction { code: op::LD_IMM64 })),
                Some(Slot::Wide { dst, value }) => {
                    regs[usize::from(*dst)] = wide_value(machine, *value);
                    pc += 2;
                    continue;
                }
                Some(Slot::Tail) | None => return Err(trap(Fault::BadTarget(pc as i64))),
            };
            if let Some(why) = unsupported(&insn) {
                return Err(trap(Fault::Unsupported { code: insn.code, why }));
            }
            let (dst, src) = (usize::from(insn.dst).min(10), usize::from(insn.src).min(10));
            match insn.code & op::CLASS_MASK {
                op::ALU64 | op::ALU => regs[dst] = alu(&insn, regs[dst], regs[src]),
                op::LDX => {
                    let size = size_of(insn.code);
                    let address = regs[src].wrapping_add(insn.off as u64);
                    let value = load(machine, address, size).map_err(trap)?;
                    regs[dst] = if insn.code & op::MODE_MASK == op::MEMSX { sign_extend(value, size) } else { value };
                }
                op::ST | op::STX => {
                    let value = if insn.code & op::CLASS_MASK == op::ST { insn.imm as i64 as u64 } else { regs[src] };
                    let address = regs[dst].wrapping_add(insn.off as u64);
                    store(&mut machine.memory, address, size_of(insn.code), value).map_err(trap)?;
                }
                op::JMP | op::JMP32 => match insn.code & op::OP_MASK {
                    op::EXIT => return Ok(regs[0]),
                    op::CALL => {
                        let args = [regs[1], regs[2], regs[3], regs[4], regs[5]];
                        regs[0] = helpers::call(machine, self, insn.imm as u32, args).map_err(|stop| stop.at(pc as u32))?;
                    }
                    _ => {
                        let rhs = if insn.code & op::SRC_MASK == op::X { regs[src] } else { insn.imm as i64 as u64 };
                        let wide = insn.code & op::CLASS_MASK == op::JMP;
                        if condition(insn.code & op::OP_MASK, regs[dst], rhs, wide).ok_or_else(|| trap(Fault::BadInstruction { code: insn.code }))? {
                            let target = pc as i64 + 1 + i64::from(insn.off);
                            if target <= pc as i64 || target as usize >= slots.len() {
                                return Err(trap(Fault::BadTarget(target)));
                            }
                            pc = target as usize;
                            continue;
                        }
                    }
                },
                _ => return Err(trap(Fault::BadInstruction { code: insn.code })),
            }
            pc += 1;
        }
    }
}

/// Why the engine does not run `insn`, if it does not: instructions ferrotrace never emits
/// (byte swaps, atomics, `gotol`, calls to BPF functions), which both backends refuse rather
/// than run as something else.
pub fn unsupported(insn: &RawInsn) -> Option<&'static str> {
    const END: u8 = 0xd0;
    let mode = insn.code & op::MODE_MASK;
    match insn.code & op::CLASS_MASK {
        op::ALU | op::ALU64 if insn.code & op::OP_MASK >= END => Some("a byte swap or an unknown ALU operation"),
        op::LDX if mode != op::MEM && mode != op::MEMSX => Some("a load of another mode than memory"),
        op::ST | op::STX if mode != op::MEM => Some("an atomic or another store mode"),
        op::JMP32 if insn.code & op::OP_MASK == op::JA => Some("a 32-bit-offset jump (gotol)"),
        op::JMP if insn.code & op::OP_MASK == op::CALL && insn.src != 0 => Some("a call of a BPF function"),
        op::LD => Some("a legacy packet load"),
        _ => None,
    }
}

/// What an `ld_imm64` puts in its register.
pub fn wide_value(machine: &Machine, value: Wide) -> u64 {
    match value {
        Wide::Number(number) => number,
        Wide::Map(map) => MAP_TAG << 48 | u64::from(map),
        Wide::MapValue { map, offset } => machine.maps.get(map as usize).map_or(0, |map| map.value_address(0, 0)).wrapping_add(u64::from(offset)),
        Wide::Function(slot) => FUNCTION_TAG << 48 | u64::from(slot),
    }
}

/// The bytes a load or store class instruction moves.
pub fn size_of(code: u8) -> u8 {
    match code & op::SIZE_MASK {
        op::B => 1,
        op::H => 2,
        op::W => 4,
        _ => 8,
    }
}

fn sign_extend(value: u64, size: u8) -> u64 {
    let shift = 64 - u32::from(size) * 8;
    (((value << shift) as i64) >> shift) as u64
}

/// A load: from a region, checked; any other address is a load through a kernel pointer the
/// verifier trusted (a BTF-typed task), read from recorded memory or, as a faulting one is, 0.
pub fn load(machine: &mut Machine, address: u64, size: u8) -> Result<u64, Fault> {
    if Memory::is_region(address) {
        let bytes = machine.memory.slice(address, u64::from(size)).map_err(|access| Fault::Access { address, size, store: false, access })?;
        return Ok(little_endian(bytes));
    }
    match machine.event.read(address, usize::from(size)).filter(|bytes| bytes.len() == usize::from(size)) {
        Some(bytes) => Ok(little_endian(bytes)),
        None => {
            machine.shortfalls.unrecorded_reads += 1;
            Ok(0)
        }
    }
}

/// A store: only into a writable region.
pub fn store(memory: &mut Memory, address: u64, size: u8, value: u64) -> Result<(), Fault> {
    let bytes = memory.slice_mut(address, u64::from(size)).map_err(|access| Fault::Access { address, size, store: true, access })?;
    bytes.copy_from_slice(&value.to_le_bytes()[..usize::from(size)]);
    Ok(())
}

fn little_endian(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// One ALU instruction's result, as BPF defines it: division by zero gives 0, remainder by
/// zero keeps the dividend, shifts take their amount modulo the width, 32-bit operations
/// zero-extend.
pub fn alu(insn: &RawInsn, dst: u64, src: u64) -> u64 {
    let wide = insn.code & op::CLASS_MASK == op::ALU64;
    let rhs = if insn.code & op::SRC_MASK == op::X { src } else { insn.imm as i64 as u64 };
    let signed = insn.off == op::OFF_SIGNED;
    if wide {
        match insn.code & op::OP_MASK {
            op::ADD => dst.wrapping_add(rhs),
            op::SUB => dst.wrapping_sub(rhs),
            op::MUL => dst.wrapping_mul(rhs),
            op::DIV if rhs == 0 => 0,
            op::DIV if signed => (dst as i64).wrapping_div(rhs as i64) as u64,
            op::DIV => dst / rhs,
            op::MOD if rhs == 0 => dst,
            op::MOD if signed => (dst as i64).wrapping_rem(rhs as i64) as u64,
            op::MOD => dst % rhs,
            op::OR => dst | rhs,
            op::AND => dst & rhs,
            op::XOR => dst ^ rhs,
            op::LSH => dst << (rhs & 63),
            op::RSH => dst >> (rhs & 63),
            op::ARSH => ((dst as i64) >> (rhs & 63)) as u64,
            op::NEG => (dst as i64).wrapping_neg() as u64,
            op::MOV if insn.off == 8 || insn.off == 16 || insn.off == 32 => sign_extend(rhs, (insn.off / 8) as u8),
            _ => rhs,
        }
    } else {
        let (dst, rhs) = (dst as u32, rhs as u32);
        u64::from(match insn.code & op::OP_MASK {
            op::ADD => dst.wrapping_add(rhs),
            op::SUB => dst.wrapping_sub(rhs),
            op::MUL => dst.wrapping_mul(rhs),
            op::DIV if rhs == 0 => 0,
            op::DIV if signed => (dst as i32).wrapping_div(rhs as i32) as u32,
            op::DIV => dst / rhs,
            op::MOD if rhs == 0 => dst,
            op::MOD if signed => (dst as i32).wrapping_rem(rhs as i32) as u32,
            op::MOD => dst % rhs,
            op::OR => dst | rhs,
            op::AND => dst & rhs,
            op::XOR => dst ^ rhs,
            op::LSH => dst << (rhs & 31),
            op::RSH => dst >> (rhs & 31),
            op::ARSH => ((dst as i32) >> (rhs & 31)) as u32,
            op::NEG => (dst as i32).wrapping_neg() as u32,
            op::MOV if insn.off == 8 || insn.off == 16 => sign_extend(u64::from(rhs), (insn.off / 8) as u8) as u32,
            _ => rhs,
        })
    }
}

/// Whether a conditional jump is taken; `None` for an operation that is not one.
pub fn condition(operation: u8, lhs: u64, rhs: u64, wide: bool) -> Option<bool> {
    let (lhs, rhs) = if wide { (lhs, rhs) } else { (u64::from(lhs as u32), u64::from(rhs as u32)) };
    let (slhs, srhs) = if wide { (lhs as i64, rhs as i64) } else { (i64::from(lhs as u32 as i32), i64::from(rhs as u32 as i32)) };
    Some(match operation {
        op::JA => true,
        op::JEQ => lhs == rhs,
        op::JNE => lhs != rhs,
        op::JGT => lhs > rhs,
        op::JGE => lhs >= rhs,
        op::JLT => lhs < rhs,
        op::JLE => lhs <= rhs,
        op::JSET => lhs & rhs != 0,
        op::JSGT => slhs > srhs,
        op::JSGE => slhs >= srhs,
        op::JSLT => slhs < srhs,
        op::JSLE => slhs <= srhs,
        _ => return None,
    })
}
