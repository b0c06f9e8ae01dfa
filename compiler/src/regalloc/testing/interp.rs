//! A LIR interpreter, so tests can check that allocation keeps a function's meaning.
//!
//! It runs a function before or after allocation with fake helpers and records what can be
//! observed: every call's arguments (a stack pointer as the 8 bytes it points at, since the
//! address itself depends on the frame layout) and the return value. Reading a register that
//! holds nothing (never set, or clobbered by a call) is an error, not a garbage value.

use std::collections::HashMap;

use crate::lir::{helper, AluOp, Cond, Function, Insn, Mem, Operand, Reg, Size};

/// `r10`'s value; the stack is the `STACK_BYTES` below it.
const FRAME_TOP: u64 = 0x1_0000_0000;
const STACK_BYTES: u64 = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Value(u64),
    /// A pointer into the stack, shown as the 8 bytes there.
    Stack([u8; 8]),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trace {
    pub calls: Vec<(u32, Vec<Arg>)>,
    pub returned: u64,
}

/// Runs `func` with `ctx` in `r1`.
pub(crate) fn run(func: &Function, ctx: u64) -> Result<Trace, String> {
    let frame = func.frame.clone().unwrap_or_else(|| disjoint_frame(func));
    let mut machine = Machine {
        regs: HashMap::from([(Reg::R1, ctx), (Reg::FP, FRAME_TOP)]),
        stack: vec![0; STACK_BYTES as usize],
        frame,
        calls: Vec::new(),
    };
    let labels = crate::lir::cfg::label_positions(func);
    let mut pc = 0;
    for _ in 0..100_000 {
        let inst = func.insts.get(pc).ok_or(format!("fell off the end at {pc}"))?;
        pc = match inst.insn {
            Insn::Exit => {
                let returned = machine.get(Reg::R0)?;
                return Ok(Trace { calls: machine.calls, returned });
            }
            Insn::Jump { target } => labels[target.0 as usize].ok_or("no label")?,
            Insn::Branch { cond, lhs, rhs, target } => {
                let (lhs, rhs) = (machine.get(lhs)?, machine.operand(rhs)?);
                match holds(cond, lhs, rhs) {
                    true => labels[target.0 as usize].ok_or("no label")?,
                    false => pc + 1,
                }
            }
            ref insn => {
                machine.step(insn)?;
                pc + 1
            }
        };
    }
    Err("too many steps".to_string())
}

/// Frame offsets for an unallocated function: every slot its own bytes.
fn disjoint_frame(func: &Function) -> Vec<i16> {
    let mut depth = 0u32;
    let offsets = func.slots.iter().map(|info| {
        depth = (depth + info.size).next_multiple_of(info.align.max(1));
        -(depth as i16)
    });
    offsets.collect()
}

struct Machine {
    regs: HashMap<Reg, u64>,
    stack: Vec<u8>,
    frame: Vec<i16>,
    calls: Vec<(u32, Vec<Arg>)>,
}

impl Machine {
    fn get(&self, reg: Reg) -> Result<u64, String> {
        self.regs.get(&reg).copied().ok_or(format!("{reg} read while empty"))
    }

    fn operand(&self, operand: Operand) -> Result<u64, String> {
        match operand {
            Operand::Reg(reg) => self.get(reg),
            Operand::Imm(imm) => Ok(imm as i64 as u64),
        }
    }

    fn step(&mut self, insn: &Insn) -> Result<(), String> {
        match *insn {
            Insn::Alu64 { op, dst, src } => {
                let (a, b) = (self.dst_value(op, dst)?, self.operand(src)?);
                self.regs.insert(dst, alu(op, a, b));
            }
            Insn::Alu32 { op, dst, src } => {
                let (a, b) = (self.dst_value(op, dst)?, self.operand(src)?);
                self.regs.insert(dst, alu32(op, a, b));
            }
            Insn::Load { size, dst, mem } => {
                let value = self.read(self.address(mem)?, size.bytes())?;
                self.regs.insert(dst, value);
            }
            Insn::LoadSigned { size, dst, mem } => {
                let value = self.read(self.address(mem)?, size.bytes())?;
                let shift = 64 - 8 * size.bytes();
                self.regs.insert(dst, ((value << shift) as i64 >> shift) as u64);
            }
            Insn::Store { size, mem, src } => {
                self.write(self.address(mem)?, size, self.get(src)?)?
            }
            Insn::StoreImm { size, mem, imm } => {
                self.write(self.address(mem)?, size, imm as i64 as u64)?
            }
            Insn::LoadImm64 { dst, imm } => {
                self.regs.insert(dst, imm as u64);
            }
            Insn::LoadMap { dst, map } => {
                self.regs.insert(dst, 0xaa00_0000 + u64::from(map.0));
            }
            Insn::LoadMapValue { dst, map, offset } => {
                self.regs.insert(dst, 0xab00_0000 + (u64::from(map.0) << 16) + u64::from(offset));
            }
            Insn::LoadFunc { dst, func } => {
                self.regs.insert(dst, 0xfc00_0000 + u64::from(func));
            }
            Insn::AddrOf { dst, slot, off } => {
                let base = self.address(Mem::Slot(slot, off))?;
                self.regs.insert(dst, base);
            }
            Insn::Call { helper, args } => self.call(helper, args)?,
            Insn::Label(_) => {}
            Insn::Exit | Insn::Jump { .. } | Insn::Branch { .. } => unreachable!("handled by run"),
        }
        Ok(())
    }

    /// The destination's value as an input: `Mov` does not read it.
    fn dst_value(&self, op: AluOp, dst: Reg) -> Result<u64, String> {
        match op {
            AluOp::Mov => Ok(0),
            _ => self.get(dst),
        }
    }

    fn address(&self, mem: Mem) -> Result<u64, String> {
        Ok(match mem {
            Mem::Reg(base, off) => self.get(base)?.wrapping_add(off as i64 as u64),
            Mem::Slot(slot, off) => {
                let offset = *self.frame.get(slot.0 as usize).ok_or("no such slot")?;
                FRAME_TOP.wrapping_add((i64::from(offset) + i64::from(off)) as u64)
            }
        })
    }

    fn index(&self, address: u64, len: u32) -> Result<usize, String> {
        let start = address.wrapping_sub(FRAME_TOP - STACK_BYTES);
        match start + u64::from(len) <= STACK_BYTES {
            true => Ok(start as usize),
            false => Err(format!("access outside the stack at {address:#x}")),
        }
    }

    fn read(&self, address: u64, len: u32) -> Result<u64, String> {
        let start = self.index(address, len)?;
        let mut bytes = [0u8; 8];
        bytes[..len as usize].copy_from_slice(&self.stack[start..start + len as usize]);
        Ok(u64::from_le_bytes(bytes))
    }

    fn write(&mut self, address: u64, size: Size, value: u64) -> Result<(), String> {
        let start = self.index(address, size.bytes())?;
        let len = size.bytes() as usize;
        self.stack[start..start + len].copy_from_slice(&value.to_le_bytes()[..len]);
        Ok(())
    }

    /// Fake helpers: `get_current_comm` fills its buffer, every helper returns a mix of its
    /// id and arguments, and `r1`..`r5` are emptied.
    fn call(&mut self, id: u32, args: u8) -> Result<(), String> {
        let values: Vec<u64> =
            (0..usize::from(args)).map(|i| self.get(Reg::arg(i))).collect::<Result<_, _>>()?;
        if id == helper::GET_CURRENT_COMM {
            for (i, byte) in b"ferrotrace".iter().enumerate() {
                self.write(values[0] + i as u64, Size::B, u64::from(*byte))?;
            }
        }
        let shown = values.iter().map(|&value| match self.read(value, 8) {
            Ok(bytes) => Arg::Stack(bytes.to_le_bytes()),
            Err(_) => Arg::Value(value),
        });
        let shown: Vec<Arg> = shown.collect();
        let mix = shown.iter().fold(u64::from(id), |mix, arg| {
            let part = match arg {
                Arg::Value(value) => *value,
                Arg::Stack(bytes) => u64::from_le_bytes(*bytes),
            };
            mix.wrapping_mul(31).wrapping_add(part)
        });
        self.calls.push((id, shown));
        for i in 0..5 {
            self.regs.remove(&Reg::arg(i));
        }
        self.regs.insert(Reg::R0, mix);
        Ok(())
    }
}

fn alu(op: AluOp, a: u64, b: u64) -> u64 {
    match op {
        AluOp::Add => a.wrapping_add(b),
        AluOp::Sub => a.wrapping_sub(b),
        AluOp::Mul => a.wrapping_mul(b),
        AluOp::Div => a.checked_div(b).unwrap_or(0),
        AluOp::Or => a | b,
        AluOp::And => a & b,
        AluOp::Lsh => a.wrapping_shl(b as u32),
        AluOp::Rsh => a.wrapping_shr(b as u32),
        AluOp::Arsh => (a as i64).wrapping_shr(b as u32) as u64,
        AluOp::Mod => a.checked_rem(b).unwrap_or(a),
        AluOp::Xor => a ^ b,
        AluOp::Mov => b,
        AluOp::Neg => a.wrapping_neg(),
    }
}

fn alu32(op: AluOp, a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    let result = match op {
        AluOp::Arsh => (a as i32).wrapping_shr(b) as u32,
        _ => alu(op, u64::from(a), u64::from(b)) as u32,
    };
    u64::from(result)
}

fn holds(cond: Cond, a: u64, b: u64) -> bool {
    let (sa, sb) = (a as i64, b as i64);
    match cond {
        Cond::Eq => a == b,
        Cond::Ne => a != b,
        Cond::Gt => a > b,
        Cond::Ge => a >= b,
        Cond::Lt => a < b,
        Cond::Le => a <= b,
        Cond::SGt => sa > sb,
        Cond::SGe => sa >= sb,
        Cond::SLt => sa < sb,
        Cond::SLe => sa <= sb,
        Cond::Set => a & b != 0,
    }
}
