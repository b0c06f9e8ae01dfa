//! Register allocation on hand-built functions: verified before and after, run by the test
//! interpreter to check the meaning is kept, and snapshotted where the shape of the code matters.

use super::testing::interp::{self, Arg};
use super::testing::Builder;
use super::{allocate, spill, RegAllocError};
use crate::lir::helper::{
    GET_CURRENT_COMM, GET_PRANDOM_U32, KTIME_GET_NS, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, PROBE_READ,
};
use crate::lir::print::print_function;
use crate::lir::verify::{verify, Stage};
use crate::lir::{AluOp, Cond, Function, Insn, Mem, Operand, Reg};

/// Verifies `func`, allocates it, verifies the result and checks both give the same trace for
/// each context value.
fn allocate_checked(func: &Function, contexts: &[u64]) -> Function {
    assert_eq!(verify(func, Stage::Virtual), Ok(()), "input:\n{}", print_function(func));
    let allocated = match allocate(func.clone()) {
        Ok(allocated) => allocated,
        Err(error) => panic!("{error}\n{}", print_function(func)),
    };
    let listing = print_function(&allocated);
    assert_eq!(verify(&allocated, Stage::Allocated), Ok(()), "output:\n{listing}");
    for &ctx in contexts {
        let before = interp::run(func, ctx).expect("input runs");
        let after =
            interp::run(&allocated, ctx).unwrap_or_else(|error| panic!("{error}\n{listing}"));
        assert_eq!(before, after, "ctx {ctx}:\n{listing}");
    }
    allocated
}

fn before_and_after(func: &Function, allocated: &Function) -> String {
    format!("{}\n{}", print_function(func), print_function(allocated))
}

fn moves(func: &Function) -> usize {
    let is_move =
        |insn: &Insn| matches!(insn, Insn::Alu64 { op: AluOp::Mov, src: Operand::Reg(_), .. });
    func.insts.iter().filter(|inst| is_move(&inst.insn)).count()
}

#[test]
fn straight_line_code_needs_no_moves() {
    let mut b = Builder::new("straight");
    let (ctx, tripled, sum) = (b.vreg(), b.vreg(), b.vreg());
    b.mov(ctx, Reg::R1).mov(tripled, ctx).alu(AluOp::Mul, tripled, Operand::Imm(3));
    b.mov(sum, tripled).alu(AluOp::Add, sum, Operand::Reg(ctx)).ret(sum);
    let func = b.finish();
    let allocated = allocate_checked(&func, &[0, 7, u64::MAX]);
    insta::assert_snapshot!(before_and_after(&func, &allocated));
}

#[test]
fn values_live_across_calls_survive_them() {
    let mut b = Builder::new("across_calls");
    let (ctx, early, time, total, random) = (b.vreg(), b.vreg(), b.vreg(), b.vreg(), b.vreg());
    b.mov(ctx, Reg::R1).mov(early, ctx).alu(AluOp::Add, early, Operand::Imm(1));
    b.call(KTIME_GET_NS, 0).mov(time, Reg::R0);
    b.mov(total, early).alu(AluOp::Add, total, Operand::Reg(time));
    b.call(GET_PRANDOM_U32, 0).mov(random, Reg::R0);
    b.alu(AluOp::Add, total, Operand::Reg(random)).alu(AluOp::Add, total, Operand::Reg(ctx));
    b.ret(total);
    let func = b.finish();
    let allocated = allocate_checked(&func, &[3, 1 << 40]);
    insta::assert_snapshot!(before_and_after(&func, &allocated));
}

#[test]
fn diamond_keeps_values_defined_before_and_used_after() {
    let mut b = Builder::new("diamond");
    let (ctx, low_bit, picked, result) = (b.vreg(), b.vreg(), b.vreg(), b.vreg());
    let (odd, join) = (b.label(), b.label());
    b.mov(ctx, Reg::R1).mov(low_bit, ctx).alu(AluOp::And, low_bit, Operand::Imm(1));
    b.branch(Cond::Ne, low_bit, Operand::Imm(0), odd);
    b.mov(picked, ctx).alu(AluOp::Add, picked, Operand::Imm(100)).jump(join);
    b.place(odd).mov(picked, ctx).alu(AluOp::Mul, picked, Operand::Imm(2));
    b.place(join).mov(result, picked).alu(AluOp::Add, result, Operand::Reg(ctx)).ret(result);
    let func = b.finish();
    let allocated = allocate_checked(&func, &[4, 5]);
    insta::assert_snapshot!(before_and_after(&func, &allocated));
}

/// `@[comm] = count()` as the lowering writes it: every value moves to or from a pinned
/// register, and every such move must disappear.
fn count_by_comm() -> Function {
    let mut b = Builder::new("count_by_comm");
    let (key, increment) = (b.slot(16, 8), b.slot(8, 8));
    let (key_ptr, map, key_ptr2, value, count) = (b.vreg(), b.vreg(), b.vreg(), b.vreg(), b.vreg());
    let (map2, key_ptr3, init_ptr) = (b.vreg(), b.vreg(), b.vreg());
    let (missing, done) = (b.label(), b.label());
    b.push(Insn::StoreImm { size: crate::lir::Size::DW, mem: Mem::Slot(key, 0), imm: 0 });
    b.push(Insn::StoreImm { size: crate::lir::Size::DW, mem: Mem::Slot(key, 8), imm: 0 });
    b.addr_of(key_ptr, key).mov(Reg::R1, key_ptr).mov_imm(Reg::R2, 16).call(GET_CURRENT_COMM, 2);
    b.load_map(map, 0).addr_of(key_ptr2, key).mov(Reg::R1, map).mov(Reg::R2, key_ptr2);
    b.call(MAP_LOOKUP_ELEM, 2).mov(value, Reg::R0);
    b.branch(Cond::Eq, value, Operand::Imm(0), missing);
    b.load(count, Mem::Reg(value, 0)).alu(AluOp::Add, count, Operand::Imm(1));
    b.store(Mem::Reg(value, 0), count).jump(done);
    b.place(missing);
    b.push(Insn::StoreImm { size: crate::lir::Size::DW, mem: Mem::Slot(increment, 0), imm: 1 });
    b.load_map(map2, 0).addr_of(key_ptr3, key).addr_of(init_ptr, increment);
    b.mov(Reg::R1, map2).mov(Reg::R2, key_ptr3).mov(Reg::R3, init_ptr).mov_imm(Reg::R4, 0);
    b.call(MAP_UPDATE_ELEM, 4);
    b.place(done).mov_imm(Reg::R0, 0).push(Insn::Exit);
    b.finish()
}

#[test]
fn move_hints_leave_no_moves_in_a_lookup_then_increment() {
    let func = count_by_comm();
    // The interpreter's fake lookup returns a non-null non-stack pointer, so only run the
    // allocation checks; the stack is what the meaning test would compare.
    assert_eq!(verify(&func, Stage::Virtual), Ok(()));
    let allocated = allocate(func.clone()).expect("allocates");
    assert_eq!(verify(&allocated, Stage::Allocated), Ok(()));
    assert_eq!(moves(&allocated), 0, "{}", print_function(&allocated));
    let encoded: usize = allocated
        .insts
        .iter()
        .map(|inst| match inst.insn {
            Insn::Label(_) => 0,
            Insn::LoadMap { .. } | Insn::LoadImm64 { .. } => 2,
            _ => 1,
        })
        .sum();
    assert_eq!(encoded, 23);
    insta::assert_snapshot!(before_and_after(&func, &allocated));
}

/// `count` values derived from the context, all live at once, then summed.
fn pressure(count: i32) -> Function {
    let mut b = Builder::new("pressure");
    let ctx = b.vreg();
    b.mov(ctx, Reg::R1);
    let values: Vec<Reg> = (0..count).map(|_| b.vreg()).collect();
    for (factor, &value) in (2..).zip(&values) {
        b.mov(value, ctx).alu(AluOp::Mul, value, Operand::Imm(factor));
    }
    let sum = b.vreg();
    b.mov_imm(sum, 0);
    for (shift, &value) in (0..).zip(values.iter().rev()) {
        b.alu(AluOp::Lsh, sum, Operand::Imm(shift % 3)).alu(AluOp::Add, sum, Operand::Reg(value));
    }
    b.ret(sum);
    b.finish()
}

#[test]
fn twenty_four_live_values_spill_and_keep_their_meaning() {
    let func = pressure(24);
    let allocated = allocate_checked(&func, &[1, 12345, u64::MAX - 3]);
    assert!(allocated.slots.len() > func.slots.len(), "something was spilled");
}

#[test]
fn many_values_live_across_calls_spill() {
    let mut b = Builder::new("calls_under_pressure");
    let ctx = b.vreg();
    b.mov(ctx, Reg::R1);
    let values: Vec<Reg> = (0..10).map(|_| b.vreg()).collect();
    for (offset, &value) in (1..).zip(&values) {
        b.mov(value, ctx).alu(AluOp::Add, value, Operand::Imm(offset));
    }
    b.mov(Reg::R1, values[0]).mov(Reg::R2, values[1]).call(GET_PRANDOM_U32, 2);
    let first = b.vreg();
    b.mov(first, Reg::R0);
    b.mov(Reg::R1, values[9]).call(KTIME_GET_NS, 1);
    let sum = b.vreg();
    b.mov(sum, Reg::R0).alu(AluOp::Add, sum, Operand::Reg(first));
    for &value in &values {
        b.alu(AluOp::Xor, sum, Operand::Reg(value)).alu(AluOp::Mul, sum, Operand::Imm(3));
    }
    b.ret(sum);
    let func = b.finish();
    allocate_checked(&func, &[9, 1 << 33]);
}

#[test]
fn spilled_addresses_are_recomputed_not_stored() {
    let mut b = Builder::new("recompute");
    let slots: Vec<_> = (0..8).map(|_| b.slot(8, 8)).collect();
    let pointers: Vec<Reg> = slots.iter().map(|_| b.vreg()).collect();
    let fill = b.vreg();
    for (value, (&slot, &pointer)) in (10..).zip(slots.iter().zip(&pointers)) {
        b.mov_imm(fill, value).store(Mem::Slot(slot, 0), fill).addr_of(pointer, slot);
    }
    for &pointer in &pointers {
        b.mov(Reg::R1, pointer).mov_imm(Reg::R2, 8).call(PROBE_READ, 2);
    }
    b.mov_imm(Reg::R0, 0).push(Insn::Exit);
    let func = b.finish();
    let allocated = allocate_checked(&func, &[0]);
    assert_eq!(allocated.slots.len(), func.slots.len(), "no spill slot was needed");
    let trace = interp::run(&allocated, 0).expect("runs");
    assert_eq!(trace.calls[7].1[0], Arg::Stack(17u64.to_le_bytes()));
}

#[test]
fn spill_code_carries_the_span_of_the_instruction_it_serves() {
    let func = pressure(2);
    let mut spilled = func.clone();
    spill::spill(&mut spilled, &[1]);
    let served: Vec<_> = spilled
        .insts
        .iter()
        .filter(|inst| matches!(inst.insn, Insn::Load { .. } | Insn::Store { .. }))
        .map(|inst| inst.span.start)
        .collect();
    // v1 is written by insns 1 and 2 (`v1 = v0`, `v1 *= 2`) and read by insn 9 (`v3 += v1`).
    assert_eq!(served, [10, 20, 20, 90]);
    assert_eq!(verify(&spilled, Stage::Virtual), Ok(()));
}

#[test]
fn a_spilled_address_keeps_its_slot_alive() {
    let mut b = Builder::new("spilled_address");
    let (kept, scratch) = (b.slot(16, 8), b.slot(16, 8));
    let (ctx, pointer, value) = (b.vreg(), b.vreg(), b.vreg());
    b.mov(ctx, Reg::R1).addr_of(pointer, kept).alu(AluOp::Add, pointer, Operand::Imm(8));
    b.mov_imm(value, 42).store(Mem::Reg(pointer, 0), value);
    // Enough values live across a call to push `pointer` (two writes: not recomputable) out.
    let values: Vec<Reg> = (0..6).map(|_| b.vreg()).collect();
    for (offset, &live) in (1..).zip(&values) {
        b.mov(live, ctx).alu(AluOp::Add, live, Operand::Imm(offset));
    }
    b.call(KTIME_GET_NS, 0);
    let scratch_ptr = b.vreg();
    b.store(Mem::Slot(scratch, 0), ctx).store(Mem::Slot(scratch, 8), ctx);
    b.addr_of(scratch_ptr, scratch).mov(Reg::R1, scratch_ptr).call(KTIME_GET_NS, 1);
    let sum = b.vreg();
    b.mov_imm(sum, 0);
    for &live in &values {
        b.alu(AluOp::Add, sum, Operand::Reg(live));
    }
    b.mov(Reg::R1, pointer).call(PROBE_READ, 1);
    b.ret(sum);
    let func = b.finish();
    let allocated = allocate_checked(&func, &[5]);
    let frame = allocated.frame.as_ref().expect("frame");
    assert_ne!(frame[0], frame[1], "`kept` is reached through the spilled pointer");
}

#[test]
fn slots_with_disjoint_lifetimes_share_bytes() {
    let mut b = Builder::new("slot_reuse");
    let (first, second, whole) = (b.slot(8, 8), b.slot(8, 8), b.slot(8, 8));
    let (ctx, first_ptr, second_ptr, whole_ptr) = (b.vreg(), b.vreg(), b.vreg(), b.vreg());
    b.mov(ctx, Reg::R1).store(Mem::Slot(whole, 0), ctx).addr_of(whole_ptr, whole);
    b.store(Mem::Slot(first, 0), ctx).addr_of(first_ptr, first);
    b.mov(Reg::R1, first_ptr).call(PROBE_READ, 1);
    b.store(Mem::Slot(second, 0), ctx).addr_of(second_ptr, second);
    b.mov(Reg::R1, second_ptr).call(PROBE_READ, 1);
    b.mov(Reg::R1, whole_ptr).call(PROBE_READ, 1);
    b.mov_imm(Reg::R0, 0).push(Insn::Exit);
    let func = b.finish();
    let allocated = allocate_checked(&func, &[77]);
    let frame = allocated.frame.as_ref().expect("frame");
    assert_eq!(frame[0], frame[1], "first and second are never live together");
    assert_ne!(frame[0], frame[2], "whole's address is live throughout");
    insta::assert_snapshot!(print_function(&allocated));
}

#[test]
fn an_address_in_a_register_keeps_its_slot_alive() {
    let mut b = Builder::new("address_lifetime");
    let (first, second) = (b.slot(8, 8), b.slot(8, 8));
    let (ctx, first_ptr) = (b.vreg(), b.vreg());
    b.mov(ctx, Reg::R1).store(Mem::Slot(first, 0), ctx).addr_of(first_ptr, first);
    // `second` is first mentioned after `first`'s last direct mention, but `first_ptr` is read
    // later still.
    b.store(Mem::Slot(second, 0), ctx);
    b.mov(Reg::R1, first_ptr).call(PROBE_READ, 1);
    b.mov_imm(Reg::R0, 0).push(Insn::Exit);
    let allocated = allocate_checked(&b.finish(), &[1]);
    let frame = allocated.frame.as_ref().expect("frame");
    assert_ne!(frame[0], frame[1]);
}

fn stack_user(sizes: &[u32], overlapping: bool) -> Function {
    let mut b = Builder::new("stack_user");
    let slots: Vec<_> = sizes.iter().map(|&size| b.slot(size, 8)).collect();
    let pointers: Vec<Reg> = slots.iter().map(|_| b.vreg()).collect();
    for (&slot, &pointer) in slots.iter().zip(&pointers) {
        b.addr_of(pointer, slot);
        if !overlapping {
            b.mov(Reg::R1, pointer).call(PROBE_READ, 1);
        }
    }
    if overlapping {
        for &pointer in &pointers {
            b.mov(Reg::R1, pointer).call(PROBE_READ, 1);
        }
    }
    b.mov_imm(Reg::R0, 0).push(Insn::Exit);
    b.finish()
}

#[test]
fn a_frame_over_512_bytes_is_an_error() {
    assert_eq!(
        allocate(stack_user(&[600], false)),
        Err(RegAllocError::StackOverflow { needed: 600 })
    );
    assert_eq!(
        allocate(stack_user(&[300, 300], true)),
        Err(RegAllocError::StackOverflow { needed: 608 })
    );
    let shared = allocate(stack_user(&[300, 300], false)).expect("disjoint slots share bytes");
    assert_eq!(shared.frame, Some(vec![-304, -304]));
}
