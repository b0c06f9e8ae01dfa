//! Encoding tests: every instruction form against its known bytes, label resolution, errors.

use super::*;
use crate::lir::{Slot, SlotInfo};

const R0: Reg = Reg::Phys(0);
const R1: Reg = Reg::Phys(1);
const R2: Reg = Reg::Phys(2);

/// A function of `insns` with one 16-byte slot at `r10 - 16`.
fn function(insns: Vec<Insn>) -> Function {
    let insts = insns
        .into_iter()
        .enumerate()
        .map(|(i, insn)| Inst { insn, span: Span::new(i * 10, i * 10 + 5), field: None })
        .collect();
    Function {
        name: "test".to_string(),
        params: 1,
        insts,
        slots: vec![SlotInfo { size: 16, align: 8 }],
        vregs: 0,
        labels: 4,
        frame: Some(vec![-16]),
    }
}

fn encode_all(insns: Vec<Insn>) -> Result<EncodedProgram, EncodeError> {
    encode(&function(insns))
}

/// The bytes of `insns` as space-separated hex, one instruction slot per `|`-separated group.
fn hex(insns: Vec<Insn>) -> String {
    let program = encode_all(insns).expect("encodes");
    program
        .insns
        .iter()
        .map(|insn| {
            insn.to_bytes().iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `r1 op= src` on 64 bits.
fn alu64(op: AluOp, src: Operand) -> Insn {
    Insn::Alu64 { op, dst: R1, src }
}

/// `w1 op= src` on 32 bits.
fn alu32(op: AluOp, src: Operand) -> Insn {
    Insn::Alu32 { op, dst: R1, src }
}

fn err(insns: Vec<Insn>) -> EncodeError {
    encode_all(insns).expect_err("must not encode")
}

#[test]
fn return_zero() {
    let insns = vec![Insn::Alu64 { op: AluOp::Mov, dst: R0, src: Operand::Imm(0) }, Insn::Exit];
    assert_eq!(hex(insns), "b7 00 00 00 00 00 00 00 | 95 00 00 00 00 00 00 00");
}

#[test]
fn alu_forms() {
    let cases = [
        (alu64(AluOp::Add, Operand::Reg(R2)), "0f 21 00 00 00 00 00 00"),
        (alu64(AluOp::Add, Operand::Imm(-8)), "07 01 00 00 f8 ff ff ff"),
        (alu64(AluOp::Sub, Operand::Reg(R2)), "1f 21 00 00 00 00 00 00"),
        (alu64(AluOp::Mul, Operand::Imm(3)), "27 01 00 00 03 00 00 00"),
        (alu64(AluOp::Div, Operand::Reg(R2)), "3f 21 00 00 00 00 00 00"),
        (alu64(AluOp::Or, Operand::Imm(1)), "47 01 00 00 01 00 00 00"),
        (alu64(AluOp::And, Operand::Imm(255)), "57 01 00 00 ff 00 00 00"),
        (alu64(AluOp::Lsh, Operand::Imm(32)), "67 01 00 00 20 00 00 00"),
        (alu64(AluOp::Rsh, Operand::Imm(32)), "77 01 00 00 20 00 00 00"),
        (alu64(AluOp::Arsh, Operand::Imm(32)), "c7 01 00 00 20 00 00 00"),
        (alu64(AluOp::Mod, Operand::Reg(R2)), "9f 21 00 00 00 00 00 00"),
        (alu64(AluOp::Xor, Operand::Reg(R2)), "af 21 00 00 00 00 00 00"),
        (alu64(AluOp::Mov, Operand::Reg(R2)), "bf 21 00 00 00 00 00 00"),
        (alu64(AluOp::Neg, Operand::Imm(0)), "87 01 00 00 00 00 00 00"),
        (alu32(AluOp::Mov, Operand::Imm(1)), "b4 01 00 00 01 00 00 00"),
        (alu32(AluOp::Add, Operand::Reg(R2)), "0c 21 00 00 00 00 00 00"),
        (alu32(AluOp::Div, Operand::Reg(R2)), "3c 21 00 00 00 00 00 00"),
    ];
    for (insn, bytes) in cases {
        assert_eq!(hex(vec![insn.clone()]), bytes, "{insn:?}");
    }
}

#[test]
fn neg_ignores_its_operand() {
    let insn = alu64(AluOp::Neg, Operand::Reg(R2));
    assert_eq!(hex(vec![insn]), "87 01 00 00 00 00 00 00");
}

#[test]
fn move_to_itself_emits_nothing_on_64_bits_only() {
    let mov64 = Insn::Alu64 { op: AluOp::Mov, dst: R1, src: Operand::Reg(R1) };
    assert_eq!(hex(vec![mov64]), "");
    // The 32-bit move zero-extends, so it does work.
    let mov32 = alu32(AluOp::Mov, Operand::Reg(R1));
    assert_eq!(hex(vec![mov32]), "bc 11 00 00 00 00 00 00");
}

#[test]
fn memory_forms() {
    let slot = |off| Mem::Slot(Slot(0), off);
    let cases = [
        (Insn::Load { size: Size::DW, dst: R1, mem: slot(8) }, "79 a1 f8 ff 00 00 00 00"),
        (Insn::Load { size: Size::B, dst: R0, mem: Mem::Reg(R1, 3) }, "71 10 03 00 00 00 00 00"),
        (Insn::Load { size: Size::H, dst: R0, mem: Mem::Reg(R1, 0) }, "69 10 00 00 00 00 00 00"),
        (Insn::Load { size: Size::W, dst: R0, mem: Mem::Reg(R1, 0) }, "61 10 00 00 00 00 00 00"),
        (
            Insn::LoadSigned { size: Size::W, dst: R0, mem: Mem::Reg(R1, 4) },
            "81 10 04 00 00 00 00 00",
        ),
        (Insn::LoadSigned { size: Size::B, dst: R0, mem: slot(0) }, "91 a0 f0 ff 00 00 00 00"),
        (Insn::Store { size: Size::B, mem: slot(15), src: R2 }, "73 2a ff ff 00 00 00 00"),
        (Insn::Store { size: Size::DW, mem: Mem::Reg(R0, 8), src: R1 }, "7b 10 08 00 00 00 00 00"),
        (Insn::StoreImm { size: Size::DW, mem: slot(0), imm: 5 }, "7a 0a f0 ff 05 00 00 00"),
        (Insn::StoreImm { size: Size::W, mem: slot(4), imm: -1 }, "62 0a f4 ff ff ff ff ff"),
    ];
    for (insn, bytes) in cases {
        assert_eq!(hex(vec![insn.clone()]), bytes, "{insn:?}");
    }
}

#[test]
fn addr_of_is_mov_then_add() {
    let insn = Insn::AddrOf { dst: R2, slot: Slot(0), off: 4 };
    assert_eq!(hex(vec![insn]), "bf a2 00 00 00 00 00 00 | 07 02 00 00 f4 ff ff ff");
}

#[test]
fn ld_imm64_splits_the_constant() {
    let insn = Insn::LoadImm64 { dst: R1, imm: 0x1_0000_0002 };
    assert_eq!(hex(vec![insn]), "18 01 00 00 02 00 00 00 | 00 00 00 00 01 00 00 00");
    let minus_one = Insn::LoadImm64 { dst: R1, imm: -1 };
    assert_eq!(hex(vec![minus_one]), "18 01 00 00 ff ff ff ff | 00 00 00 00 ff ff ff ff");
}

#[test]
fn map_load_is_a_relocated_ld_imm64() {
    let insns = vec![
        Insn::Alu64 { op: AluOp::Mov, dst: R0, src: Operand::Imm(0) },
        Insn::LoadMap { dst: R1, map: MapId(3) },
    ];
    let program = encode_all(insns.clone()).expect("encodes");
    assert_eq!(program.map_relocations, vec![(1, MapId(3))]);
    assert_eq!(
        hex(insns),
        "b7 00 00 00 00 00 00 00 | 18 11 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00"
    );
}

/// A pointer into a map's value: `BPF_PSEUDO_MAP_VALUE` in the source nibble, the offset in
/// the second slot, and a relocation for the map's fd like a map load's.
#[test]
fn map_value_load_carries_its_offset_in_the_second_slot() {
    let insns = vec![Insn::LoadMapValue { dst: R2, map: MapId(2), offset: 24 }];
    let program = encode_all(insns.clone()).expect("encodes");
    assert_eq!(program.map_relocations, vec![(0, MapId(2))]);
    assert_eq!(hex(insns), "18 22 00 00 00 00 00 00 | 00 00 00 00 18 00 00 00");
}

#[test]
fn calls_and_exit() {
    let insns =
        vec![Insn::Call { helper: crate::lir::helper::MAP_LOOKUP_ELEM, args: 2 }, Insn::Exit];
    assert_eq!(hex(insns), "85 00 00 00 01 00 00 00 | 95 00 00 00 00 00 00 00");
}

#[test]
fn branch_forms() {
    let target = Label(0);
    let cases = [
        (Cond::Eq, Operand::Imm(0), "15 00 00 00 00 00 00 00"),
        (Cond::Ne, Operand::Reg(R1), "5d 10 00 00 00 00 00 00"),
        (Cond::Gt, Operand::Imm(9), "25 00 00 00 09 00 00 00"),
        (Cond::Ge, Operand::Reg(R1), "3d 10 00 00 00 00 00 00"),
        (Cond::Lt, Operand::Imm(9), "a5 00 00 00 09 00 00 00"),
        (Cond::Le, Operand::Imm(9), "b5 00 00 00 09 00 00 00"),
        (Cond::SGt, Operand::Reg(R1), "6d 10 00 00 00 00 00 00"),
        (Cond::SGe, Operand::Imm(-1), "75 00 00 00 ff ff ff ff"),
        (Cond::SLt, Operand::Imm(0), "c5 00 00 00 00 00 00 00"),
        (Cond::SLe, Operand::Reg(R1), "dd 10 00 00 00 00 00 00"),
        (Cond::Set, Operand::Imm(4), "45 00 00 00 04 00 00 00"),
    ];
    for (cond, rhs, bytes) in cases {
        // The label directly after the branch: offset 0.
        let insns = vec![Insn::Branch { cond, lhs: R0, rhs, target }, Insn::Label(target)];
        assert_eq!(hex(insns), bytes, "{cond:?}");
    }
}

#[test]
fn forward_labels_count_ld_imm64_as_two_slots() {
    let insns = vec![
        Insn::Branch { cond: Cond::Eq, lhs: R0, rhs: Operand::Imm(0), target: Label(1) },
        Insn::LoadImm64 { dst: R1, imm: 7 },
        Insn::Jump { target: Label(2) },
        Insn::Label(Label(1)),
        Insn::LoadMap { dst: R1, map: MapId(0) },
        Insn::Label(Label(2)),
        // Elided: the label after it points at the exit.
        Insn::Alu64 { op: AluOp::Mov, dst: R1, src: Operand::Reg(R1) },
        Insn::Label(Label(3)),
        Insn::Exit,
        Insn::Jump { target: Label(3) },
    ];
    let program = encode_all(insns).expect("encodes");
    let offsets: Vec<i16> = program.insns.iter().map(|insn| insn.off).collect();
    // slots: 0 branch, 1-2 ld_imm64, 3 ja, 4-5 map load, 6 exit, 7 ja back
    assert_eq!(offsets, vec![3, 0, 0, 2, 0, 0, 0, -2]);
}

#[test]
fn one_span_per_slot() {
    let insns = vec![
        Insn::LoadImm64 { dst: R1, imm: 7 },
        Insn::Label(Label(0)),
        Insn::AddrOf { dst: R2, slot: Slot(0), off: 0 },
        Insn::Exit,
    ];
    let program = encode_all(insns).expect("encodes");
    let starts: Vec<u32> = program.spans.iter().map(|span| span.start).collect();
    assert_eq!(starts, vec![0, 0, 20, 20, 30]);
}

#[test]
fn to_bytes_round_trips_through_decode() {
    let insns = vec![
        Insn::LoadMap { dst: R1, map: MapId(0) },
        Insn::StoreImm { size: Size::W, mem: Mem::Slot(Slot(0), 0), imm: -3 },
        Insn::Branch { cond: Cond::SLt, lhs: R1, rhs: Operand::Reg(R2), target: Label(0) },
        Insn::Label(Label(0)),
        Insn::Exit,
    ];
    let program = encode_all(insns).expect("encodes");
    let decoded = crate::bpf::decode(&program.to_bytes()).expect("decodes");
    assert_eq!(decoded, program.insns);
    assert!(crate::bpf::decode(&[0; 9]).is_err());
}

#[test]
fn errors() {
    let virt = Insn::Alu64 { op: AluOp::Add, dst: Reg::Virt(4), src: Operand::Imm(1) };
    assert_eq!(err(vec![virt]), EncodeError::VirtualRegister { index: 0, vreg: 4 });

    let bad = Insn::Store { size: Size::W, mem: Mem::Reg(Reg::Phys(11), 0), src: R1 };
    assert_eq!(err(vec![Insn::Exit, bad]), EncodeError::NoSuchRegister { index: 1, reg: 11 });

    let far = Insn::Load { size: Size::B, dst: R1, mem: Mem::Slot(Slot(0), i16::MIN) };
    assert_eq!(err(vec![far]), EncodeError::OffsetOutOfRange { index: 0, offset: -32784 });

    let no_slot = Insn::AddrOf { dst: R1, slot: Slot(1), off: 0 };
    assert_eq!(err(vec![no_slot]), EncodeError::UnknownSlot { index: 0, slot: 1 });

    let dangling = Insn::Jump { target: Label(2) };
    assert_eq!(err(vec![dangling]), EncodeError::UndefinedLabel { index: 0, label: 2 });

    let twice = vec![Insn::Label(Label(1)), Insn::Exit, Insn::Label(Label(1))];
    assert_eq!(err(twice), EncodeError::DuplicateLabel { index: 2, label: 1 });

    let huge = Insn::Call { helper: u32::MAX, args: 0 };
    assert_eq!(err(vec![huge]), EncodeError::HelperOutOfRange { index: 0, helper: u32::MAX });
}

#[test]
fn jumps_beyond_sixteen_bits_are_errors() {
    let mut insns = vec![Insn::Jump { target: Label(0) }];
    insns.extend(std::iter::repeat_n(Insn::Exit, 40_000));
    insns.push(Insn::Label(Label(0)));
    assert_eq!(err(insns), EncodeError::JumpOutOfRange { index: 0, distance: 40_000 });
}

#[test]
fn unallocated_function_is_an_error() {
    let func = Function { name: "p0".to_string(), ..Function::default() };
    let error = encode(&func).expect_err("no frame");
    assert_eq!(
        error.to_string(),
        "function `p0` has no stack frame: run register allocation first"
    );
}
