//! One test per verifier rule: a minimal function breaking it and the exact errors reported.

use super::{verify, Stage};
use crate::lir::helper::{KTIME_GET_NS, MAP_LOOKUP_ELEM};
use crate::lir::{AluOp, Cond, Function, Insn, Label, Mem, Operand, Reg, Size, Slot};
use crate::regalloc::testing::Builder;

fn errors(func: &Function, stage: Stage) -> Vec<String> {
    match verify(func, stage) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// `v0 = r1` followed by `body`, then `r0 = 0; exit`.
fn with_body(body: impl FnOnce(&mut Builder, Reg)) -> Function {
    let mut b = Builder::new("test");
    let ctx = b.vreg();
    b.mov(ctx, Reg::R1);
    body(&mut b, ctx);
    b.mov_imm(Reg::R0, 0).push(Insn::Exit);
    b.finish()
}

#[test]
fn a_well_formed_function_passes() {
    let func = with_body(|b, ctx| {
        let (map, value) = (b.vreg(), b.vreg());
        let skip = b.label();
        b.load_map(map, 0).mov(Reg::R1, map).mov(Reg::R2, ctx).call(MAP_LOOKUP_ELEM, 2);
        b.mov(value, Reg::R0).branch(Cond::Eq, value, Operand::Imm(0), skip).place(skip);
    });
    assert_eq!(errors(&func, Stage::Virtual), Vec::<String>::new());
}

#[test]
fn labels_are_defined_once_and_jumps_go_forward_to_them() {
    let mut b = Builder::new("labels");
    let (first, twice) = (b.label(), b.label());
    b.place(first).place(twice).jump(first).place(twice);
    b.push(Insn::Jump { target: Label(7) }).mov_imm(Reg::R0, 0).push(Insn::Exit);
    assert_eq!(
        errors(&b.finish(), Stage::Virtual),
        [
            "insn 3: label `L1` is defined more than once",
            "insn 2: jump back to `L0`; jumps may only go forward",
            "insn 4: jump to undefined label `L7`",
            "insn 4: unreachable instruction",
        ]
    );
}

#[test]
fn a_vreg_must_be_set_on_every_path() {
    let mut b = Builder::new("paths");
    let (ctx, maybe) = (b.vreg(), b.vreg());
    let join = b.label();
    b.mov(ctx, Reg::R1).branch(Cond::Eq, ctx, Operand::Imm(0), join);
    b.mov_imm(maybe, 1).place(join).mov(Reg::R0, maybe).push(Insn::Exit);
    assert_eq!(
        errors(&b.finish(), Stage::Virtual),
        ["insn 4: `v1` is read before it is set on some path"]
    );
}

#[test]
fn vregs_stay_within_the_declared_count() {
    let func = with_body(|b, _| {
        b.mov_imm(Reg::Virt(9), 1);
    });
    assert_eq!(
        errors(&func, Stage::Virtual),
        ["insn 1: `v9` is beyond the function's 1 virtual registers"]
    );
}

#[test]
fn the_frame_pointer_is_never_written_nor_read() {
    let func = with_body(|b, ctx| {
        b.mov_imm(Reg::FP, 0).load(ctx, Mem::Reg(Reg::FP, -8));
    });
    assert_eq!(
        errors(&func, Stage::Virtual),
        [
            "insn 1: `r10` is written",
            "insn 2: `r10` is read; stack memory is reached through slots"
        ]
    );
}

#[test]
fn pinned_registers_follow_the_calling_convention() {
    let func = with_body(|b, ctx| {
        b.alu(AluOp::Add, Reg::R1, Operand::Imm(1)).mov(ctx, Reg::R2);
        b.mov(Reg::Phys(6), ctx).store(Mem::Reg(ctx, 0), Reg::R0);
    });
    assert_eq!(
        errors(&func, Stage::Virtual),
        [
            "insn 1: `r1` is written by something other than a move, load or address",
            "insn 1: `r1` is read by something other than a move into a virtual register",
            "insn 3: `r6` is used before register allocation",
            "insn 4: `r0` is read by something other than a move into a virtual register",
            "insn 2: `r2` is read but holds neither the context nor a call result on every path",
            "insn 4: `r0` is read but holds neither the context nor a call result on every path",
        ]
    );
}

#[test]
fn the_context_is_gone_after_a_call() {
    let func = with_body(|b, ctx| {
        b.call(KTIME_GET_NS, 0).mov(ctx, Reg::R1);
    });
    assert_eq!(
        errors(&func, Stage::Virtual),
        ["insn 2: `r1` is read but holds neither the context nor a call result on every path"]
    );
}

#[test]
fn calls_get_exactly_their_arguments() {
    let func = with_body(|b, ctx| {
        b.mov(Reg::R1, ctx).mov(Reg::R3, ctx).call(MAP_LOOKUP_ELEM, 2).call(KTIME_GET_NS, 6);
    });
    assert_eq!(
        errors(&func, Stage::Virtual),
        [
            "insn 4: call takes 6 arguments; helpers take at most 5",
            "insn 3: call argument `r2` is not set on every path",
            "insn 3: `r3` is set but the call takes 2 arguments",
            "insn 4: call argument `r1` is not set on every path",
            "insn 4: call argument `r2` is not set on every path",
            "insn 4: call argument `r3` is not set on every path",
            "insn 4: call argument `r4` is not set on every path",
            "insn 4: call argument `r5` is not set on every path",
        ]
    );
}

#[test]
fn exit_needs_r0_and_the_end_is_not_fallen_off() {
    let mut b = Builder::new("ends");
    let (ctx, other) = (b.vreg(), b.label());
    b.mov(ctx, Reg::R1).branch(Cond::Eq, ctx, Operand::Imm(0), other).push(Insn::Exit);
    b.place(other).mov_imm(ctx, 1);
    assert_eq!(
        errors(&b.finish(), Stage::Virtual),
        [
            "insn 2: exit without setting `r0` on every path",
            "insn 4: control falls off the end of the function"
        ]
    );
    assert_eq!(
        errors(&Function::default(), Stage::Virtual),
        ["function: the function has no instructions"]
    );
}

#[test]
fn immediates_the_kernel_rejects_are_caught() {
    let func = with_body(|b, ctx| {
        b.alu(AluOp::Div, ctx, Operand::Imm(0)).alu(AluOp::Lsh, ctx, Operand::Imm(64));
        b.push(Insn::Alu32 { op: AluOp::Rsh, dst: ctx, src: Operand::Imm(32) });
    });
    assert_eq!(
        errors(&func, Stage::Virtual),
        [
            "insn 1: division by a zero immediate",
            "insn 2: shift by 64, more than the operand's bits",
            "insn 3: shift by 32, more than the operand's bits",
        ]
    );
}

#[test]
fn slot_accesses_stay_inside_their_slot() {
    let mut b = Builder::new("slots");
    let slot = b.slot(8, 8);
    let ctx = b.vreg();
    b.mov(ctx, Reg::R1).store(Mem::Slot(slot, 4), ctx);
    b.push(Insn::StoreImm { size: Size::B, mem: Mem::Slot(Slot(3), 0), imm: 0 });
    b.push(Insn::AddrOf { dst: ctx, slot, off: -1 });
    b.mov_imm(Reg::R0, 0).push(Insn::Exit);
    assert_eq!(
        errors(&b.finish(), Stage::Virtual),
        [
            "insn 1: 8 bytes at offset 4 fall outside `slot0` (8 bytes)",
            "insn 2: `slot3` is beyond the function's 1 slots",
            "insn 3: 0 bytes at offset -1 fall outside `slot0` (8 bytes)",
        ]
    );
}

#[test]
fn after_allocation_no_vreg_is_left_and_every_slot_has_a_frame_offset() {
    let mut b = Builder::new("allocated");
    let (small, big) = (b.slot(8, 8), b.slot(16, 8));
    let ctx = b.vreg();
    b.mov(ctx, Reg::R1).store(Mem::Slot(small, 0), ctx).store(Mem::Slot(big, 0), ctx);
    b.mov_imm(Reg::R0, 0).push(Insn::Exit);
    let mut func = b.finish();
    assert_eq!(
        errors(&func, Stage::Allocated),
        [
            "function: no frame offsets after register allocation",
            "insn 0: `v0` is left after register allocation",
            "insn 1: `v0` is left after register allocation",
            "insn 2: `v0` is left after register allocation",
        ]
    );
    func.frame = Some(vec![-4, -520]);
    func.insts.retain(|inst| !matches!(inst.insn, Insn::Alu64 { dst: Reg::Virt(_), .. }));
    for inst in &mut func.insts {
        if let Insn::Store { src, .. } = &mut inst.insn {
            *src = Reg::Phys(1);
        }
    }
    assert_eq!(
        errors(&func, Stage::Allocated),
        [
            "slot0: frame offset -4 does not hold 8 bytes below `r10` within 512 bytes",
            "slot0: frame offset -4 is not aligned to 8",
            "slot1: frame offset -520 does not hold 16 bytes below `r10` within 512 bytes",
        ]
    );
}

#[test]
fn after_allocation_registers_are_set_before_use_and_clobbered_by_calls() {
    let mut b = Builder::new("clobbers");
    b.mov(Reg::Phys(6), Reg::R1).call(KTIME_GET_NS, 0).mov(Reg::Phys(7), Reg::R1);
    b.mov(Reg::Phys(8), Reg::Phys(9)).mov(Reg::R0, Reg::Phys(6)).push(Insn::Exit);
    let mut func = b.finish();
    func.frame = Some(Vec::new());
    assert_eq!(
        errors(&func, Stage::Allocated),
        [
            "insn 2: `r1` is read before it is set on some path",
            "insn 3: `r9` is read before it is set on some path"
        ]
    );
}
