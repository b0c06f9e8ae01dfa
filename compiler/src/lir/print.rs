//! The LIR text form shown by `ferrotrace -d lir`: one instruction per line, indexed.

use std::fmt::{self, Display, Formatter, Write};

use super::{helper, AluOp, Cond, Function, Insn, Mem, Operand, Reg, Size, Slot};
use crate::manifest::MapId;

/// Renders `func`: a header, the slot table (with frame offsets once allocated), then every
/// instruction prefixed by its index, the index `verify` errors and the encoder refer to.
pub fn print_function(func: &Function) -> String {
    let mut out = String::new();
    // Writing to a `String` cannot fail.
    let _ = write_function(&mut out, func);
    out
}

fn write_function(out: &mut String, func: &Function) -> fmt::Result {
    writeln!(out, "fn {} (vregs: {}, labels: {})", func.name, func.vregs, func.labels)?;
    for (index, info) in func.slots.iter().enumerate() {
        write!(out, "  {}: {} bytes, align {}", Slot(index as u32), info.size, info.align)?;
        match func.frame.as_ref().and_then(|frame| frame.get(index)) {
            Some(offset) => writeln!(out, ", at r10{offset:+}")?,
            None => writeln!(out)?,
        }
    }
    for (index, inst) in func.insts.iter().enumerate() {
        match &inst.insn {
            Insn::Label(label) => writeln!(out, "{index:>4}  L{}:", label.0)?,
            insn => writeln!(out, "{index:>4}      {}", InsnText(insn))?,
        }
    }
    Ok(())
}

impl Display for Reg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Reg::Virt(n) => write!(f, "v{n}"),
            Reg::Phys(n) => write!(f, "r{n}"),
        }
    }
}

impl Display for Slot {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "slot{}", self.0)
    }
}

impl Display for Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Reg(reg) => reg.fmt(f),
            Operand::Imm(imm) => imm.fmt(f),
        }
    }
}

impl Display for Mem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (base, off): (&dyn Display, i16) = match self {
            Mem::Reg(reg, off) => (reg, *off),
            Mem::Slot(slot, off) => (slot, *off),
        };
        write!(f, "({base} {} {})", if off < 0 { '-' } else { '+' }, off.unsigned_abs())
    }
}

/// A register viewed on its low 32 bits: `w3` for `r3`, `v3.w` for `v3`.
struct Low32(Reg);

impl Display for Low32 {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Reg::Virt(n) => write!(f, "v{n}.w"),
            Reg::Phys(n) => write!(f, "w{n}"),
        }
    }
}

/// An operand viewed on its low 32 bits.
struct Low32Operand(Operand);

impl Display for Low32Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Operand::Reg(reg) => Low32(reg).fmt(f),
            Operand::Imm(imm) => imm.fmt(f),
        }
    }
}

struct InsnText<'a>(&'a Insn);

impl Display for InsnText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self.0 {
            Insn::Alu64 { op, dst, src } => write_alu(f, op, &dst, &src),
            Insn::Alu32 { op, dst, src } => write_alu(f, op, &Low32(dst), &Low32Operand(src)),
            Insn::Load { size, dst, mem } => write!(f, "{dst} = *(u{} *){mem}", bits(size)),
            Insn::LoadSigned { size, dst, mem } => write!(f, "{dst} = *(s{} *){mem}", bits(size)),
            Insn::Store { size, mem, src } => write!(f, "*(u{} *){mem} = {src}", bits(size)),
            Insn::StoreImm { size, mem, imm } => write!(f, "*(u{} *){mem} = {imm}", bits(size)),
            Insn::LoadImm64 { dst, imm } => write!(f, "{dst} = {imm} ll"),
            Insn::LoadMap { dst, map } => write!(f, "{dst} = &{}", MapText(map)),
            Insn::LoadMapValue { dst, map, offset } => write!(f, "{dst} = &{}[0]+{offset}", MapText(map)),
            Insn::LoadFunc { dst, func } => write!(f, "{dst} = &func#{func}"),
            Insn::AddrOf { dst, slot, off } => {
                write!(f, "{dst} = &{slot}")?;
                if off != 0 {
                    write!(f, " {} {}", if off < 0 { '-' } else { '+' }, off.unsigned_abs())?;
                }
                Ok(())
            }
            Insn::Jump { target } => write!(f, "goto L{}", target.0),
            Insn::Branch { cond, lhs, rhs, target } => {
                write!(f, "if {lhs} {} {rhs} goto L{}", cond_symbol(cond), target.0)
            }
            Insn::Call { helper: id, args } => write_call(f, id, args),
            Insn::Exit => f.write_str("exit"),
            Insn::Label(label) => write!(f, "L{}:", label.0),
        }
    }
}

/// A map reference; maps print by id until the dump has their script names.
struct MapText(MapId);

impl Display for MapText {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "map#{}", self.0 .0)
    }
}

fn write_alu(
    f: &mut Formatter<'_>,
    op: AluOp,
    dst: &dyn Display,
    src: &dyn Display,
) -> fmt::Result {
    let symbol = match op {
        AluOp::Mov => return write!(f, "{dst} = {src}"),
        AluOp::Neg => return write!(f, "{dst} = -{dst}"),
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Arsh => "s>>=",
        AluOp::Mod => "%=",
        AluOp::Xor => "^=",
    };
    write!(f, "{dst} {symbol} {src}")
}

fn write_call(f: &mut Formatter<'_>, id: u32, args: u8) -> fmt::Result {
    match helper::name(id) {
        Some(name) => write!(f, "call {name}(")?,
        None => write!(f, "call helper#{id}(")?,
    }
    for arg in 0..usize::from(args) {
        let sep = if arg == 0 { "" } else { ", " };
        write!(f, "{sep}{}", Reg::arg(arg))?;
    }
    f.write_str(")")
}

fn cond_symbol(cond: Cond) -> &'static str {
    match cond {
        Cond::Eq => "==",
        Cond::Ne => "!=",
        Cond::Gt => ">",
        Cond::Ge => ">=",
        Cond::Lt => "<",
        Cond::Le => "<=",
        Cond::SGt => "s>",
        Cond::SGe => "s>=",
        Cond::SLt => "s<",
        Cond::SLe => "s<=",
        Cond::Set => "&",
    }
}

fn bits(size: Size) -> u32 {
    size.bytes() * 8
}

#[cfg(test)]
mod tests;
