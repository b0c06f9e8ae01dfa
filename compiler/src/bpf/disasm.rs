//! The disassembler behind `ferrotrace -d bpf`: instruction slots back to the kernel verifier's
//! C-like syntax, one numbered line per instruction, with the script line above each run of
//! instructions it produced, and the struct member an instruction's CO-RE relocation names
//! after it.

use std::collections::HashMap;
use std::fmt::Write;

use super::insn::RawInsn;
use super::opcode as op;
use super::EncodedProgram;
use crate::lir::helper;
use crate::manifest::MapId;
use crate::span::Span;

/// Prints `prog` one instruction per line, numbered by slot (an `ld_imm64` takes two numbers).
/// `map_names` names the map of each map load; with `source`, each run of instructions is
/// headed by the script line it came from: `; <line text>  // line N`.
pub fn disassemble(
    prog: &EncodedProgram,
    map_names: &dyn Fn(MapId) -> String,
    source: Option<&str>,
) -> String {
    let maps: HashMap<usize, MapId> = prog.map_relocations.iter().copied().collect();
    let fields: HashMap<usize, &crate::co_re::FieldAccess> = prog.field_relocations.iter().map(|(slot, field)| (*slot, field)).collect();
    let width = prog.insns.len().saturating_sub(1).to_string().len();
    let mut out = String::new();
    let mut last_line = None;
    let mut slot = 0;
    while let Some(insn) = prog.insns.get(slot) {
        if let Some(function) = prog.function_starts.iter().position(|&start| start == slot).filter(|&f| f > 0) {
            let _ = writeln!(out, "func#{function}:");
        }
        if let Some(source) = source {
            let line = prog.spans.get(slot).copied().and_then(|span| script_line(span, source));
            if let Some((number, text)) = line.filter(|(number, _)| last_line != Some(*number)) {
                let _ = writeln!(out, "; {text}  // line {number}");
                last_line = Some(number);
            }
        }
        let text = if insn.code == op::LD_IMM64 {
            let map = maps.get(&slot).map(|&map| map_names(map));
            render_ld_imm64(insn, prog.insns.get(slot + 1), map)
        } else {
            render(insn)
        };
        let _ = match fields.get(&slot) {
            Some(field) => writeln!(out, "{slot:>width$}: ({:02x}) {text}  ; CO-RE {field}", insn.code),
            None => writeln!(out, "{slot:>width$}: ({:02x}) {text}", insn.code),
        };
        slot += if insn.code == op::LD_IMM64 { 2 } else { 1 };
    }
    out
}

/// The 1-based number and trimmed text of the script line `span` starts on; `None` for the
/// empty span at offset 0, which marks code that no script text produced.
fn script_line(span: Span, source: &str) -> Option<(usize, &str)> {
    if span == Span::DUMMY {
        return None;
    }
    let number = span.line(source);
    let text = source.lines().nth(number - 1).unwrap_or("").trim();
    Some((number, text))
}

/// One single-slot instruction in verifier syntax.
fn render(insn: &RawInsn) -> String {
    match insn.code & op::CLASS_MASK {
        op::ALU64 => render_alu(insn, 'r'),
        op::ALU => render_alu(insn, 'w'),
        op::JMP => render_jmp(insn),
        op::LDX => render_ldx(insn),
        op::STX if insn.code & op::MODE_MASK == op::MEM => {
            format!("{} = r{}", mem_operand(insn.code, insn.dst, insn.off, false), insn.src)
        }
        op::ST if insn.code & op::MODE_MASK == op::MEM => {
            format!("{} = {}", mem_operand(insn.code, insn.dst, insn.off, false), insn.imm)
        }
        _ => unknown(insn),
    }
}

fn render_ld_imm64(insn: &RawInsn, high: Option<&RawInsn>, map: Option<String>) -> String {
    match (map, high) {
        (Some(map), Some(high)) if insn.src == op::PSEUDO_MAP_VALUE => format!("r{} = map[{map}][0]+{}", insn.dst, high.imm),
        (Some(map), _) => format!("r{} = map[{map}]", insn.dst),
        (None, _) if insn.src == op::PSEUDO_FUNC => format!("r{} = func[{:+}]", insn.dst, insn.imm),
        (None, _) if insn.src == op::PSEUDO_MAP_FD => {
            format!("r{} = map[fd:{}]", insn.dst, insn.imm)
        }
        (None, Some(high)) if insn.src == op::PSEUDO_MAP_VALUE => format!("r{} = map[fd:{}][0]+{}", insn.dst, insn.imm, high.imm),
        (None, Some(high)) => {
            let value = (u64::from(high.imm as u32) << 32) | u64::from(insn.imm as u32);
            format!("r{} = {value:#x}", insn.dst)
        }
        (None, None) => format!("r{} = <ld_imm64 without its second slot>", insn.dst),
    }
}

fn render_alu(insn: &RawInsn, reg: char) -> String {
    let dst = insn.dst;
    let signed = insn.off == op::OFF_SIGNED;
    let symbol = match (insn.code & op::OP_MASK, signed) {
        (op::NEG, _) => return format!("{reg}{dst} = -{reg}{dst}"),
        (op::ADD, _) => "+=",
        (op::SUB, _) => "-=",
        (op::MUL, _) => "*=",
        (op::DIV, false) => "/=",
        (op::DIV, true) => "s/=",
        (op::OR, _) => "|=",
        (op::AND, _) => "&=",
        (op::LSH, _) => "<<=",
        (op::RSH, _) => ">>=",
        (op::MOD, false) => "%=",
        (op::MOD, true) => "s%=",
        (op::XOR, _) => "^=",
        (op::MOV, _) => "=",
        (op::ARSH, _) => "s>>=",
        _ => return unknown(insn),
    };
    if insn.code & op::SRC_MASK == op::X {
        format!("{reg}{dst} {symbol} {reg}{}", insn.src)
    } else {
        format!("{reg}{dst} {symbol} {}", insn.imm)
    }
}

fn render_jmp(insn: &RawInsn) -> String {
    let symbol = match insn.code & op::OP_MASK {
        op::JA => return format!("goto pc{:+}", insn.off),
        op::EXIT => return "exit".to_string(),
        op::CALL => return render_call(insn.imm),
        op::JEQ => "==",
        op::JNE => "!=",
        op::JGT => ">",
        op::JGE => ">=",
        op::JLT => "<",
        op::JLE => "<=",
        op::JSGT => "s>",
        op::JSGE => "s>=",
        op::JSLT => "s<",
        op::JSLE => "s<=",
        op::JSET => "&",
        _ => return unknown(insn),
    };
    let rhs = if insn.code & op::SRC_MASK == op::X {
        format!("r{}", insn.src)
    } else {
        format!("{:#x}", insn.imm as u32)
    };
    format!("if r{} {symbol} {rhs} goto pc{:+}", insn.dst, insn.off)
}

fn render_call(imm: i32) -> String {
    let name = u32::try_from(imm).ok().and_then(helper::name).unwrap_or("unknown");
    format!("call {name}#{imm}")
}

fn render_ldx(insn: &RawInsn) -> String {
    let signed = match insn.code & op::MODE_MASK {
        op::MEM => false,
        op::MEMSX => true,
        _ => return unknown(insn),
    };
    format!("r{} = {}", insn.dst, mem_operand(insn.code, insn.src, insn.off, signed))
}

/// `*(u64 *)(r10 -8)`: a memory access of the size in `code`.
fn mem_operand(code: u8, base: u8, off: i16, signed: bool) -> String {
    let bits = match code & op::SIZE_MASK {
        op::B => 8,
        op::H => 16,
        op::W => 32,
        _ => 64,
    };
    let sign = if signed { 's' } else { 'u' };
    format!("*({sign}{bits} *)(r{base} {off:+})")
}

fn unknown(insn: &RawInsn) -> String {
    format!("<unknown: dst r{} src r{} off {} imm {}>", insn.dst, insn.src, insn.off, insn.imm)
}

#[cfg(test)]
mod tests;
