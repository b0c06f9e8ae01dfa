//! Disassembly snapshots: a real probe annotated with its script lines, and every form.

use super::*;
use crate::bpf::encode;
use crate::lir::{
    AluOp, Cond, Function, Insn, Inst, Label, Mem, Operand, Reg, Size, Slot, SlotInfo,
};

const R0: Reg = Reg::Phys(0);
const R1: Reg = Reg::Phys(1);
const R2: Reg = Reg::Phys(2);

fn map_name(map: MapId) -> String {
    ["@calls", "@bytes"]
        .get(map.0 as usize)
        .map_or_else(|| format!("@map{}", map.0), |n| n.to_string())
}

/// The span of the first occurrence of `needle` in `source`.
fn span_of(source: &str, needle: &str) -> Span {
    let start = source.find(needle).expect("needle in source");
    Span::new(start, start + needle.len())
}

fn allocated(insts: Vec<Inst>) -> Function {
    Function {
        name: "p0".to_string(),
        params: 1,
        insts,
        slots: vec![SlotInfo { size: 8, align: 8 }],
        vregs: 0,
        labels: 1,
        frame: Some(vec![-8]),
    }
}

/// `@calls = count()` the way the lowerer emits it: look up, add in place, done.
fn count_program(source: &str) -> Function {
    let stmt = span_of(source, "@calls = count()");
    let close = span_of(source, "}");
    let at = |span: Span, insn: Insn| Inst { insn, span, field: None };
    let key = Mem::Slot(Slot(0), 0);
    allocated(vec![
        at(stmt, Insn::LoadMap { dst: R1, map: MapId(0) }),
        at(stmt, Insn::StoreImm { size: Size::W, mem: key, imm: 0 }),
        at(stmt, Insn::AddrOf { dst: R2, slot: Slot(0), off: 0 }),
        at(stmt, Insn::Call { helper: crate::lir::helper::MAP_LOOKUP_ELEM, args: 2 }),
        at(stmt, Insn::Branch { cond: Cond::Eq, lhs: R0, rhs: Operand::Imm(0), target: Label(0) }),
        at(stmt, Insn::Load { size: Size::DW, dst: R1, mem: Mem::Reg(R0, 0) }),
        at(stmt, Insn::Alu64 { op: AluOp::Add, dst: R1, src: Operand::Imm(1) }),
        at(stmt, Insn::Store { size: Size::DW, mem: Mem::Reg(R0, 0), src: R1 }),
        at(close, Insn::Label(Label(0))),
        at(close, Insn::Alu64 { op: AluOp::Mov, dst: R0, src: Operand::Imm(0) }),
        at(close, Insn::Exit),
    ])
}

const COUNT_SCRIPT: &str = r#"tracepoint:syscalls:sys_enter_getppid
{
    @calls = count();
}
"#;

#[test]
fn count_probe_with_source_lines() {
    let program = encode(&count_program(COUNT_SCRIPT)).expect("encodes");
    insta::assert_snapshot!(disassemble(&program, &map_name, Some(COUNT_SCRIPT)), @r"
    ; @calls = count();  // line 3
     0: (18) r1 = map[@calls]
     2: (62) *(u32 *)(r10 -8) = 0
     3: (bf) r2 = r10
     4: (07) r2 += -8
     5: (85) call map_lookup_elem#1
     6: (15) if r0 == 0x0 goto pc+3
     7: (79) r1 = *(u64 *)(r0 +0)
     8: (07) r1 += 1
     9: (7b) *(u64 *)(r0 +0) = r1
    ; }  // line 4
    10: (b7) r0 = 0
    11: (95) exit
    ");
}

#[test]
fn count_probe_without_source() {
    let program = encode(&count_program(COUNT_SCRIPT)).expect("encodes");
    let text = disassemble(&program, &map_name, None);
    assert!(!text.contains(';'), "no source annotations without a source:\n{text}");
    assert_eq!(text.lines().count(), 11);
}

/// Every instruction form the encoder produces, in one listing.
fn every_form() -> Function {
    let slot = Mem::Slot(Slot(0), 0);
    let insns = vec![
        Insn::Alu64 { op: AluOp::Mov, dst: R1, src: Operand::Reg(R2) },
        Insn::Alu64 { op: AluOp::Sub, dst: R1, src: Operand::Imm(-3) },
        Insn::Alu64 { op: AluOp::Mul, dst: R1, src: Operand::Reg(R2) },
        Insn::Alu64 { op: AluOp::Div, dst: R1, src: Operand::Reg(R2) },
        Insn::Alu64 { op: AluOp::Mod, dst: R1, src: Operand::Imm(10) },
        Insn::Alu64 { op: AluOp::Or, dst: R1, src: Operand::Imm(1) },
        Insn::Alu64 { op: AluOp::And, dst: R1, src: Operand::Imm(0xff) },
        Insn::Alu64 { op: AluOp::Xor, dst: R1, src: Operand::Reg(R2) },
        Insn::Alu64 { op: AluOp::Lsh, dst: R1, src: Operand::Imm(3) },
        Insn::Alu64 { op: AluOp::Rsh, dst: R1, src: Operand::Imm(3) },
        Insn::Alu64 { op: AluOp::Arsh, dst: R1, src: Operand::Imm(3) },
        Insn::Alu64 { op: AluOp::Neg, dst: R1, src: Operand::Imm(0) },
        Insn::Alu32 { op: AluOp::Mov, dst: R1, src: Operand::Imm(-1) },
        Insn::Alu32 { op: AluOp::Add, dst: R1, src: Operand::Reg(R2) },
        Insn::Alu32 { op: AluOp::Neg, dst: R1, src: Operand::Imm(0) },
        Insn::LoadImm64 { dst: R2, imm: 0x1234_5678_9abc },
        Insn::LoadMap { dst: R1, map: MapId(1) },
        Insn::LoadMapValue { dst: R2, map: MapId(1), offset: 24 },
        Insn::Load { size: Size::B, dst: R0, mem: Mem::Reg(R1, 3) },
        Insn::Load { size: Size::H, dst: R0, mem: slot },
        Insn::LoadSigned { size: Size::W, dst: R0, mem: Mem::Reg(R1, -4) },
        Insn::Store { size: Size::W, mem: slot, src: R1 },
        Insn::StoreImm { size: Size::DW, mem: slot, imm: -7 },
        Insn::Branch { cond: Cond::SLt, lhs: R1, rhs: Operand::Reg(R2), target: Label(0) },
        Insn::Branch { cond: Cond::Ne, lhs: R1, rhs: Operand::Imm(-1), target: Label(0) },
        Insn::Branch { cond: Cond::Set, lhs: R1, rhs: Operand::Imm(4), target: Label(0) },
        Insn::Jump { target: Label(0) },
        Insn::Call { helper: crate::lir::helper::KTIME_GET_NS, args: 0 },
        Insn::Call { helper: 99, args: 0 },
        Insn::Label(Label(0)),
        Insn::Exit,
    ];
    allocated(insns.into_iter().map(|insn| Inst { insn, span: Span::DUMMY, field: None }).collect())
}

#[test]
fn every_form_in_verifier_syntax() {
    let program = encode(&every_form()).expect("encodes");
    // Dummy spans carry no script line, so no annotations even with a source.
    insta::assert_snapshot!(disassemble(&program, &map_name, Some(COUNT_SCRIPT)));
}

#[test]
fn raw_slots_without_relocations_still_print() {
    let program = EncodedProgram {
        insns: vec![
            RawInsn::new(0xff, 1, 2, 3, 4),
            RawInsn::new(op::ALU64 | 0xd0 | op::K, 1, 0, 0, 16),
            RawInsn::new(op::LD_IMM64, 4, op::PSEUDO_MAP_FD, 0, 7),
            RawInsn::default(),
            RawInsn::new(op::LD_IMM64, 3, 0, 0, 5),
        ],
        map_relocations: Vec::new(),
        spans: vec![Span::DUMMY; 5],
        ..EncodedProgram::default()
    };
    insta::assert_snapshot!(disassemble(&program, &map_name, None), @r"
    0: (ff) <unknown: dst r1 src r2 off 3 imm 4>
    1: (d7) <unknown: dst r1 src r0 off 0 imm 16>
    2: (18) r4 = map[fd:7]
    4: (18) r3 = <ld_imm64 without its second slot>
    ");
}
