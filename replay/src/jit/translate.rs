//! One function of a program as cranelift IR: the registers as variables, a block per jump
//! target, each instruction as the interpreter runs it. Jumps must go forward inside the
//! function, so by the time translation reaches a block every jump into it is known and the
//! block is sealed there.

use std::ops::Range;

use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{AbiParam, Block, BlockArg, Function, InstBuilder, MemFlagsData, SigRef, Signature, Value};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use ferrotrace_compiler::bpf::opcode as op;
use ferrotrace_compiler::bpf::RawInsn;

use crate::error::ReplayError;
use crate::interp;
use crate::memory::{FUNCTION_TAG, MAP_TAG};
use crate::program::{Program, Slot, Wide};

use super::alu::{self, Operand};
use super::frame::{Frame, Span};
use super::runtime::{SlowPath, FRAME, REGIONS, REGION_COUNT, TRAPPED};

/// The state of translating one function.
pub struct Translator<'a> {
    pub builder: FunctionBuilder<'a>,
    program: &'a Program,
    /// The function's slots.
    range: Range<usize>,
    /// The block starting at each slot of `range`, once something jumps there.
    blocks: Vec<Option<Block>>,
    /// r0..r10.
    registers: [Variable; 11],
    /// The function's env argument, and the region table and its length read from it.
    pub env: Value,
    pub regions: Value,
    pub region_count: Value,
    /// The frame's check, when the function's r10 accesses were checked on entry.
    pub frame: Option<Frame>,
    /// 0, defined on entry.
    pub zero: Value,
    /// Returns from a run a slow path stopped.
    stopped: Block,
    signatures: [Option<SigRef>; SlowPath::COUNT],
}

/// Translates function `function` of `program` into `func`, whose signature is set.
pub fn function(
    func: &mut Function,
    builder_context: &mut FunctionBuilderContext,
    program: &Program,
    function: usize,
    target: TargetFrontendConfig,
) -> Result<(), ReplayError> {
    let range = program.function_range(function);
    let mut builder = FunctionBuilder::new(func, builder_context);
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    let params = builder.block_params(entry).to_vec();
    let env = params[0];
    let flags = MemFlagsData::trusted();
    let regions = builder.ins().load(I64, flags, env, REGIONS);
    let region_count = builder.ins().load(I64, flags, env, REGION_COUNT);
    let frame = builder.ins().load(I64, flags, env, FRAME);
    let registers: [Variable; 11] = std::array::from_fn(|_| builder.declare_var(I64));
    let zero = builder.ins().iconst(I64, 0);
    for (register, &variable) in registers.iter().enumerate() {
        let value = match register {
            1..=5 => params[register],
            10 => frame,
            _ => zero,
        };
        builder.def_var(variable, value);
    }
    let frame = Span::of(program, range.clone()).map(|span| Frame::check(&mut builder, regions, frame, span));
    let stopped = builder.create_block();
    builder.set_cold_block(stopped);
    let blocks = vec![None; range.len()];
    let signatures = [None; SlowPath::COUNT];
    let mut translator = Translator { builder, program, range, blocks, registers, env, regions, region_count, frame, zero, stopped, signatures };
    translator.body()?;
    let mut builder = translator.builder;
    builder.switch_to_block(stopped);
    builder.seal_block(stopped);
    builder.ins().return_(&[zero]);
    builder.finalize(target);
    Ok(())
}

impl Translator<'_> {
    fn body(&mut self) -> Result<(), ReplayError> {
        let mut open = true;
        let mut pc = self.range.start;
        while pc < self.range.end {
            if let Some(block) = self.blocks[pc - self.range.start] {
                if open {
                    self.builder.ins().jump(block, &[]);
                }
                self.builder.switch_to_block(block);
                self.builder.seal_block(block);
                open = true;
            }
            if !open {
                pc += 1;
                continue;
            }
            match self.program.slots[pc] {
                Slot::Op(insn) => open = self.instruction(pc, insn)?,
                Slot::Wide { dst, value } => {
                    let value = self.wide(pc, value)?;
                    let register = *self.registers.get(usize::from(dst)).ok_or_else(|| self.refuse(pc, format!("an ld_imm64 into r{dst}")))?;
                    self.builder.def_var(register, value);
                    pc += 1;
                }
                Slot::Tail => return Err(self.refuse(pc, "it runs into the second slot of an ld_imm64")),
            }
            pc += 1;
        }
        if open {
            return Err(self.refuse(self.range.end, "it runs past its last instruction"));
        }
        Ok(())
    }

    /// Translates `insn` at `pc`: whether control may go on to the next slot.
    fn instruction(&mut self, pc: usize, insn: RawInsn) -> Result<bool, ReplayError> {
        if let Some(why) = interp::unsupported(&insn) {
            return Err(self.refuse(pc, format!("instruction {:#04x} is {why}, which ferrotrace never emits", insn.code)));
        }
        let dst = self.register(insn.dst);
        let src = self.register(insn.src);
        match insn.code & op::CLASS_MASK {
            op::ALU64 | op::ALU => {
                let lhs = self.builder.use_var(dst);
                let rhs = self.operand(insn);
                let value = alu::alu(&mut self.builder, &insn, lhs, rhs);
                self.builder.def_var(dst, value);
            }
            op::LDX => {
                let size = interp::size_of(insn.code);
                let value = self.load(insn.src, insn.off, size, pc);
                let value = if insn.code & op::MODE_MASK == op::MEMSX { self.sign_extend(value, size) } else { value };
                self.builder.def_var(dst, value);
            }
            op::ST | op::STX => {
                let value = match insn.code & op::CLASS_MASK {
                    op::ST => self.builder.ins().iconst(I64, i64::from(insn.imm)),
                    _ => self.builder.use_var(src),
                };
                self.store(insn.dst, insn.off, interp::size_of(insn.code), value, pc);
            }
            op::JMP | op::JMP32 => return self.jump(pc, insn),
            _ => return Err(self.refuse(pc, format!("unknown instruction {:#04x}", insn.code))),
        }
        Ok(true)
    }

    /// A jump class instruction: exit, call, or a jump.
    fn jump(&mut self, pc: usize, insn: RawInsn) -> Result<bool, ReplayError> {
        match insn.code & op::OP_MASK {
            op::EXIT => {
                let r0 = self.builder.use_var(self.registers[0]);
                self.builder.ins().return_(&[r0]);
                Ok(false)
            }
            op::CALL => {
                let r0 = self.call_helper(insn.imm as u32, pc);
                self.builder.def_var(self.registers[0], r0);
                Ok(true)
            }
            op::JA => {
                let target = self.target(pc, insn.off)?;
                self.builder.ins().jump(target, &[]);
                Ok(false)
            }
            operation => {
                let lhs = self.builder.use_var(self.register(insn.dst));
                let rhs = self.operand(insn);
                let wide = insn.code & op::CLASS_MASK == op::JMP;
                let taken = alu::condition(&mut self.builder, operation, wide, lhs, rhs).ok_or_else(|| self.refuse(pc, format!("unknown instruction {:#04x}", insn.code)))?;
                let target = self.target(pc, insn.off)?;
                let next = self.block_at(pc, pc + 1)?;
                if next == target {
                    self.builder.ins().jump(target, &[]);
                } else {
                    self.builder.ins().brif(taken, target, &[], next, &[]);
                }
                Ok(false)
            }
        }
    }

    /// Register `number`; the interpreter reads r10 for any number above.
    pub fn register(&self, number: u8) -> Variable {
        self.registers[usize::from(number.min(10))]
    }

    /// An ALU or jump instruction's second operand: `src` or the immediate.
    fn operand(&mut self, insn: RawInsn) -> Operand {
        match insn.code & op::SRC_MASK {
            op::X => Operand::Register(self.builder.use_var(self.register(insn.src))),
            _ => Operand::Immediate(insn.imm),
        }
    }

    /// The block a jump at `pc` by `off` goes to: forward, inside the function.
    fn target(&mut self, pc: usize, off: i16) -> Result<Block, ReplayError> {
        let target = pc as i64 + 1 + i64::from(off);
        if target <= pc as i64 {
            return Err(self.refuse(pc, format!("it jumps back to slot {target}")));
        }
        self.block_at(pc, target as usize)
    }

    /// The block starting at `slot`, which the instruction at `pc` goes to.
    fn block_at(&mut self, pc: usize, slot: usize) -> Result<Block, ReplayError> {
        if slot >= self.range.end {
            return Err(self.refuse(pc, format!("it goes on to slot {slot}, past the end of its function")));
        }
        if self.program.slots[slot] == Slot::Tail {
            return Err(self.refuse(pc, format!("it jumps into the middle of the ld_imm64 at slot {}", slot - 1)));
        }
        let builder = &mut self.builder;
        Ok(*self.blocks[slot - self.range.start].get_or_insert_with(|| builder.create_block()))
    }

    /// What an `ld_imm64` loads, as `interp::wide_value` defines it.
    fn wide(&mut self, pc: usize, value: Wide) -> Result<Value, ReplayError> {
        let constant = match value {
            Wide::Number(number) => number,
            Wide::Map(map) => MAP_TAG << 48 | u64::from(map),
            Wide::Function(slot) if self.program.function_at(slot).is_some() => FUNCTION_TAG << 48 | u64::from(slot),
            Wide::Function(slot) => return Err(self.refuse(pc, format!("it loads the address of slot {slot}, where no function starts"))),
            Wide::MapValue { map, offset } => {
                let map = self.builder.ins().iconst(I64, i64::from(map));
                let offset = self.builder.ins().iconst(I64, i64::from(offset));
                return Ok(self.call_returning(SlowPath::MapValue, &[self.env, map, offset]));
            }
        };
        Ok(self.builder.ins().iconst(I64, constant as i64))
    }

    /// Calls `path` and goes on in a new block: its result.
    pub(super) fn call_returning(&mut self, path: SlowPath, args: &[Value]) -> Value {
        let then = self.builder.create_block();
        let result = self.builder.append_block_param(then, I64);
        self.call_slow_path(path, args, then);
        self.builder.switch_to_block(then);
        self.builder.seal_block(then);
        result
    }

    /// Calls `path` with `args`, then goes to `then`, passing the result if `then` takes it;
    /// or, if the call stopped the run, returns.
    pub fn call_slow_path(&mut self, path: SlowPath, args: &[Value], then: Block) {
        let signature = self.signature(path);
        let callee = self.builder.ins().iconst(I64, path.address() as i64);
        let call = self.builder.ins().call_indirect(signature, callee, args);
        let result = self.builder.inst_results(call)[0];
        let trapped = self.builder.ins().load(I64, MemFlagsData::trusted(), self.env, TRAPPED);
        let passed = if self.builder.block_params(then).is_empty() { &[][..] } else { &[BlockArg::Value(result)][..] };
        self.builder.ins().brif(trapped, self.stopped, &[], then, passed);
    }

    /// The signature of `path`, imported once per function.
    fn signature(&mut self, path: SlowPath) -> SigRef {
        let index = path as usize;
        if let Some(signature) = self.signatures[index] {
            return signature;
        }
        let mut signature = Signature::new(self.builder.func.signature.call_conv);
        signature.params.extend(std::iter::repeat_n(AbiParam::new(I64), path.arity()));
        signature.returns.push(AbiParam::new(I64));
        let signature = self.builder.import_signature(signature);
        self.signatures[index] = Some(signature);
        signature
    }

    fn refuse(&self, slot: usize, why: impl std::fmt::Display) -> ReplayError {
        ReplayError::Unsupported(format!("the JIT cannot compile program {} at slot {slot}: {why}", self.program.index))
    }
}
