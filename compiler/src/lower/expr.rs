//! Lowering of expressions to values: constants, builtins, variables, map reads, tracepoint
//! fields, string reads, operators, tuples and casts.

use super::builder::{chunks, Arg, Place};
use super::{FnLowerer, LocalSlot, Value};
use crate::catalog::{FieldKind, TracepointField};
use crate::lir::{helper, AluOp, Cond, Insn, Mem, Operand, Reg, Size};
use crate::sema::hir::{Builtin, Expr, ExprKind};
use crate::syntax::ast::{BinOp, UnaryOp};
use crate::types::{tuple_layout, IntTy, Ty};
use crate::usdt::{UsdtArgument, UsdtLocation};

impl FnLowerer<'_> {
    pub(crate) fn expr(&mut self, e: &Expr) -> Value {
        let saved = std::mem::replace(&mut self.b.span, e.span);
        let value = self.expr_inner(e);
        self.b.span = saved;
        value
    }

    fn expr_inner(&mut self, e: &Expr) -> Value {
        match &e.kind {
            ExprKind::Int(v) => Value::Reg(self.b.constant(*v as i64)),
            ExprKind::Bool(b) => Value::Reg(self.b.constant(i64::from(*b))),
            ExprKind::Str(bytes) => Value::Mem(self.string_constant(bytes, e.ty.size())),
            ExprKind::Builtin(builtin) => self.builtin(*builtin),
            ExprKind::ProbeName => Value::Reg(self.probe_value()),
            ExprKind::Local(id) => self.local_value(*id),
            ExprKind::MapRead { map, key } => self.map_read(*map, key.as_deref(), &e.ty),
            ExprKind::AggregateRead { map, key } => self.aggregate_read(*map, key.as_deref()),
            ExprKind::TracepointField(field) => self.tracepoint_field(field),
            ExprKind::Register(register) => {
                let dst = self.b.vreg();
                self.b.emit(Insn::Load { size: Size::DW, dst, mem: Mem::Reg(self.ctx, register.offset as i16) });
                Value::Reg(dst)
            }
            ExprKind::LoadParam(index) => self.load_param(*index as usize),
            ExprKind::ArgumentWord(index) => {
                let dst = self.b.vreg();
                self.b.emit(Insn::Load { size: Size::DW, dst, mem: Mem::Reg(self.ctx, (index * 8) as i16) });
                Value::Reg(dst)
            }
            ExprKind::UsdtArgument(argument) => Value::Reg(self.usdt_argument(argument)),
            ExprKind::ReadStr { ptr, size, user } => self.read_str(ptr, size.as_deref(), *user, e.ty.size()),
            ExprKind::Deref { ptr, offset, user, member, field } => self.deref(ptr, *offset, *user, *member, field.as_deref(), &e.ty),
            ExprKind::Unary { op, expr } => self.unary(*op, expr),
            ExprKind::Binary { op, lhs, rhs, signed } if !op.is_comparison() => self.arith(*op, lhs, rhs, *signed),
            ExprKind::Binary { .. } | ExprKind::Logical { .. } | ExprKind::StrEq { .. } | ExprKind::TupleEq { .. } => {
                self.boolean(e)
            }
            ExprKind::Ternary { cond, then_expr, else_expr } => self.ternary(cond, then_expr, else_expr, &e.ty),
            ExprKind::Tuple(items) => self.tuple(items, &e.ty),
            ExprKind::TupleIndex { expr, index } => self.tuple_index(expr, *index),
            ExprKind::StrIndex { expr, index } => self.str_index(expr, index),
            ExprKind::Cast { to, expr } => self.cast(*to, expr),
            ExprKind::Bitcast(inner) => self.bitcast(inner, &e.ty),
            ExprKind::ArrayElement { expr, index } => self.array_element(expr, *index, &e.ty),
            ExprKind::IncDec { target, increment, prefix } => self.inc_dec(target, *increment, *prefix),
            ExprKind::Action(action) => {
                self.action(action);
                Value::Void
            }
            ExprKind::Delete { map, key } => self.delete(*map, key.as_deref()),
            ExprKind::Call { func, args, .. } => {
                let lower = crate::stdlib::lookup(func).and_then(|f| f.lower.function());
                let lower = lower.unwrap_or_else(|| unreachable!("`{func}` builds a call with no lowering"));
                lower(self, e, args)
            }
            ExprKind::Block { stmts, value } => {
                if !self.stmts(stmts) {
                    return Value::Void;
                }
                value.as_deref().map_or(Value::Void, |v| self.expr(v))
            }
        }
    }

    /// A zero-padded string constant in memory.
    pub(super) fn string_constant(&mut self, bytes: &[u8], size: u32) -> Place {
        let place = self.b.alloc(size);
        let mut padded = bytes.to_vec();
        padded.resize(size as usize, 0);
        for (offset, chunk) in chunks(place.offset, size, 4) {
            let mut word = [0u8; 4];
            word[..chunk as usize].copy_from_slice(&padded[offset as usize..(offset + chunk) as usize]);
            self.b.store_imm(place.at(offset), chunk, i32::from_le_bytes(word));
        }
        place
    }

    fn builtin(&mut self, builtin: Builtin) -> Value {
        let reg = match builtin {
            Builtin::Pid | Builtin::Tid if self.cx.pid_namespace.is_some() => {
                return self.namespaced_id(builtin == Builtin::Pid);
            }
            Builtin::Pid | Builtin::Tid | Builtin::InitPid | Builtin::InitTid => {
                let id = self.b.call(helper::GET_CURRENT_PID_TGID, &[]);
                self.high_or_low(id, matches!(builtin, Builtin::Pid | Builtin::InitPid))
            }
            Builtin::Uid | Builtin::Gid => {
                let id = self.b.call(helper::GET_CURRENT_UID_GID, &[]);
                self.high_or_low(id, builtin == Builtin::Gid)
            }
            Builtin::Comm => {
                let size = crate::sema::COMM_SIZE;
                let place = self.b.alloc(size);
                if !self.cx.helpers.comm_zero_padded {
                    self.b.zero(place, size);
                }
                self.b.call(helper::GET_CURRENT_COMM, &[Arg::Addr(place), Arg::Imm(i64::from(size))]);
                return Value::Mem(place);
            }
            Builtin::Nsecs => self.b.call(helper::KTIME_GET_BOOT_NS, &[]),
            Builtin::Elapsed => self.elapsed(),
            Builtin::Cpu => self.b.call(helper::GET_SMP_PROCESSOR_ID, &[]),
            Builtin::Rand => self.b.call(helper::GET_PRANDOM_U32, &[]),
        };
        Value::Reg(reg)
    }

    /// The upper or lower 32 bits of `reg` in a fresh register.
    /// The current task's process id (`pid`) or thread id as seen from ferrotrace's PID
    /// namespace, which is not the initial one: 0 for a task outside it.
    fn namespaced_id(&mut self, pid: bool) -> Value {
        let Some(namespace) = self.cx.pid_namespace else { unreachable!("asked only with a namespace") };
        // `struct bpf_pidns_info { u32 pid; u32 tgid; }`, zeroed by the helper when it fails.
        let info = self.b.alloc(8);
        self.b.call(
            helper::GET_NS_CURRENT_PID_TGID,
            &[Arg::Imm(namespace.dev as i64), Arg::Imm(namespace.ino as i64), Arg::Addr(info), Arg::Imm(8)],
        );
        Value::Reg(self.b.load(info.at(if pid { 4 } else { 0 }), 4))
    }

    fn high_or_low(&mut self, reg: Reg, high: bool) -> Reg {
        let out = self.b.vreg();
        if high {
            self.b.mov(out, reg);
            self.b.alu(AluOp::Rsh, out, Operand::Imm(32));
        } else {
            self.b.emit(Insn::Alu32 { op: AluOp::Mov, dst: out, src: Operand::Reg(reg) });
        }
        out
    }

    /// `ktime_get_ns() - start`, the start time coming from the config map.
    fn elapsed(&mut self) -> Reg {
        let now = self.b.call(helper::KTIME_GET_NS, &[]);
        let start = self.config_word(crate::manifest::config_layout::START_NS);
        let out = self.b.copy_reg(now);
        self.b.alu(AluOp::Sub, out, Operand::Reg(start));
        out
    }

    /// The `u64` at `offset` of the config map's value, which the runtime fills before any
    /// probe runs: read in place (`Insn::LoadMapValue`), without a lookup.
    pub(crate) fn config_word(&mut self, offset: u32) -> Reg {
        let config = self.cx.config();
        let ptr = self.b.vreg();
        self.b.emit(Insn::LoadMapValue { dst: ptr, map: config, offset });
        let out = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::DW, dst: out, mem: Mem::Reg(ptr, 0) });
        out
    }

    /// The value of `getopt` option `params[index]`, read from its place in the config value: a
    /// word, or a string copied out.
    fn load_param(&mut self, index: usize) -> Value {
        let (kind, offset) = {
            let param = &self.cx.load_params[index];
            (param.kind, param.offset)
        };
        match kind {
            crate::manifest::LoadParamKind::Str { .. } => {
                let config = self.cx.config();
                let ptr = self.b.vreg();
                self.b.emit(Insn::LoadMapValue { dst: ptr, map: config, offset });
                let place = self.b.alloc(kind.size());
                self.b.copy(place, crate::lower::builder::Place { base: crate::lower::builder::Base::Ptr(ptr), offset: 0 }, kind.size());
                Value::Mem(place)
            }
            _ => Value::Reg(self.config_word(offset)),
        }
    }

    /// The address of the config map's `u64` holding 1: the value a count's first event
    /// stores (and a new pid's byte in the processes map), without writing it to the stack.
    pub(crate) fn config_one(&mut self) -> Arg {
        Arg::MapValue(self.cx.config(), crate::manifest::config_layout::ONE)
    }

    /// The `probe` value, an index into the probe names: a constant in a program with one
    /// target; in a program shared by tracepoints, the attachment's cookie, which the runtime
    /// sets to the probe id; in a dispatched program, what its prologue found.
    fn probe_value(&mut self) -> Reg {
        if let Some(probe_id) = self.dispatched_probe {
            return probe_id;
        }
        match self.probe.targets.as_slice() {
            [only] => self.b.constant(i64::from(only.probe_id)),
            _ => self.b.call(helper::GET_ATTACH_COOKIE, &[Arg::Reg(self.ctx)]),
        }
    }

    fn tracepoint_field(&mut self, field: &TracepointField) -> Value {
        let offset = field.offset as i16;
        match field.kind {
            FieldKind::Int | FieldKind::Pointer | FieldKind::Other => {
                let dst = self.b.vreg();
                let size = Size::from_bytes(field.size).unwrap_or(Size::DW);
                self.b.emit(Insn::Load { size, dst, mem: Mem::Reg(self.ctx, offset) });
                if field.kind == FieldKind::Int && field.signed && field.size < 8 {
                    let shift = 64 - 8 * field.size as i32;
                    self.b.alu(AluOp::Lsh, dst, Operand::Imm(shift));
                    self.b.alu(AluOp::Arsh, dst, Operand::Imm(shift));
                }
                Value::Reg(dst)
            }
            FieldKind::CharArray(len) => {
                let src = self.b.copy_reg(self.ctx);
                self.b.alu(AluOp::Add, src, Operand::Imm(field.offset as i32));
                Value::Mem(self.read_str_into(src, None, false, len))
            }
            FieldKind::IntArray(_) => {
                // The record is kernel memory the helper copies from, whatever its alignment.
                let src = self.b.copy_reg(self.ctx);
                self.b.alu(AluOp::Add, src, Operand::Imm(field.offset as i32));
                let place = self.b.alloc(field.size.max(8));
                self.b.zero(place, field.size.max(8));
                self.checked_call(helper::PROBE_READ_KERNEL, &[Arg::Addr(place), Arg::Imm(i64::from(field.size)), Arg::Reg(src)]);
                Value::Mem(place)
            }
            FieldKind::DataLocString => {
                let loc = self.b.vreg();
                self.b.emit(Insn::Load { size: Size::W, dst: loc, mem: Mem::Reg(self.ctx, offset) });
                self.b.alu(AluOp::And, loc, Operand::Imm(0xffff));
                let src = self.b.copy_reg(self.ctx);
                self.b.alu(AluOp::Add, src, Operand::Reg(loc));
                Value::Mem(self.read_str_into(src, None, false, self.cx.settings.max_strlen))
            }
        }
    }

    fn read_str(&mut self, ptr: &Expr, size: Option<&Expr>, user: bool, buffer: u32) -> Value {
        let src = self.expr(ptr);
        let src = self.scalar(src);
        let limit = size.map(|s| {
            let v = self.expr(s);
            self.scalar(v)
        });
        Value::Mem(self.read_str_into(src, limit, user, buffer))
    }

    /// Reads a NUL-terminated string from `src` into a zeroed buffer of `buffer` bytes, at most
    /// `limit` bytes (clamped to the buffer) when given.
    pub(crate) fn read_str_into(&mut self, src: Reg, limit: Option<Reg>, user: bool, buffer: u32) -> Place {
        let place = self.b.alloc(buffer);
        self.b.zero(place, buffer);
        let size = match limit {
            None => Arg::Imm(i64::from(buffer)),
            Some(limit) => {
                let clamped = self.b.copy_reg(limit);
                let ok = self.b.label();
                self.b.branch(Cond::Le, clamped, Operand::Imm(buffer as i32), ok);
                self.b.set_constant(clamped, i64::from(buffer));
                self.b.place_label(ok);
                Arg::Reg(clamped)
            }
        };
        let helper = if user { helper::PROBE_READ_USER_STR } else { helper::PROBE_READ_KERNEL_STR };
        self.checked_call(helper, &[Arg::Addr(place), size, Arg::Reg(src)]);
        place
    }

    fn unary(&mut self, op: UnaryOp, inner: &Expr) -> Value {
        let v = self.expr(inner);
        let src = self.scalar(v);
        let out = self.b.copy_reg(src);
        match op {
            UnaryOp::Neg => self.b.alu(AluOp::Neg, out, Operand::Imm(0)),
            UnaryOp::BitNot => self.b.alu(AluOp::Xor, out, Operand::Imm(-1)),
            UnaryOp::Deref => unreachable!("sema turns `*p` into a `Deref`"),
            UnaryOp::LogicalNot => {
                let done = self.b.label();
                self.b.set_constant(out, 1);
                self.b.branch(Cond::Eq, src, Operand::Imm(0), done);
                self.b.set_constant(out, 0);
                self.b.place_label(done);
            }
        }
        Value::Reg(out)
    }

    fn arith(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, signed: bool) -> Value {
        let l = self.expr(lhs);
        let l = self.scalar(l);
        let r = self.operand(rhs);
        let out = self.b.copy_reg(l);
        if signed && matches!(op, BinOp::Div | BinOp::Mod) {
            self.b.signed_div_mod(out, r, op == BinOp::Mod);
            return Value::Reg(out);
        }
        let alu = match op {
            BinOp::Add => AluOp::Add,
            BinOp::Sub => AluOp::Sub,
            BinOp::Mul => AluOp::Mul,
            BinOp::Div => AluOp::Div,
            BinOp::Mod => AluOp::Mod,
            BinOp::BitAnd => AluOp::And,
            BinOp::BitOr => AluOp::Or,
            BinOp::BitXor => AluOp::Xor,
            BinOp::Shl => AluOp::Lsh,
            BinOp::Shr if signed => AluOp::Arsh,
            _ => AluOp::Rsh,
        };
        self.b.alu(alu, out, r);
        Value::Reg(out)
    }

    /// An expression as an ALU operand: an immediate when it is a small constant.
    pub(crate) fn operand(&mut self, e: &Expr) -> Operand {
        if let ExprKind::Int(v) = e.kind {
            if let Ok(imm) = i32::try_from(v as i64) {
                if e.ty.as_int().is_some_and(|i| i.signed) || imm >= 0 {
                    return Operand::Imm(imm);
                }
            }
        }
        let v = self.expr(e);
        Operand::Reg(self.scalar(v))
    }

    /// A comparison or logical expression as a 0/1 register.
    fn boolean(&mut self, e: &Expr) -> Value {
        let out = self.b.vreg();
        let false_label = self.b.label();
        let done = self.b.label();
        self.branch_if_false(e, false_label);
        self.b.set_constant(out, 1);
        self.b.jump(done);
        self.b.place_label(false_label);
        self.b.set_constant(out, 0);
        self.b.place_label(done);
        Value::Reg(out)
    }

    fn ternary(&mut self, cond: &Expr, then_expr: &Expr, else_expr: &Expr, ty: &Ty) -> Value {
        let else_label = self.b.label();
        let done = self.b.label();
        if ty.is_scalar() {
            let out = self.b.vreg();
            self.branch_if_false(cond, else_label);
            let t = self.expr(then_expr);
            let t = self.scalar(t);
            self.b.mov(out, t);
            self.b.jump(done);
            self.b.place_label(else_label);
            let f = self.expr(else_expr);
            let f = self.scalar(f);
            self.b.mov(out, f);
            self.b.place_label(done);
            return Value::Reg(out);
        }
        let place = self.b.alloc(ty.size());
        self.branch_if_false(cond, else_label);
        let t = self.expr(then_expr);
        self.store_value(place, ty, t, &then_expr.ty);
        self.b.jump(done);
        self.b.place_label(else_label);
        let f = self.expr(else_expr);
        self.store_value(place, ty, f, &else_expr.ty);
        self.b.place_label(done);
        Value::Mem(place)
    }

    fn tuple(&mut self, items: &[Expr], ty: &Ty) -> Value {
        let Some(fields) = ty.fields() else { return Value::Void };
        let layout = tuple_layout(fields);
        let place = self.b.alloc(layout.size);
        for ((item, field), offset) in items.iter().zip(fields).zip(&layout.offsets) {
            let v = self.expr(item);
            self.store_value(place.at(*offset), field, v, &item.ty);
        }
        self.zero_padding(place, fields);
        Value::Mem(place)
    }

    fn tuple_index(&mut self, tuple: &Expr, index: usize) -> Value {
        let Some(fields) = tuple.ty.fields() else { return Value::Void };
        let Value::Mem(place) = self.expr(tuple) else { return Value::Void };
        let field_place = place.at(tuple_layout(fields).offsets[index]);
        let field = &fields[index];
        if field.is_scalar() {
            Value::Reg(self.load_scalar(field_place, field))
        } else {
            Value::Mem(field_place)
        }
    }

    /// A byte of a string, sign-extended as bpftrace's `int8`.
    fn str_index(&mut self, string: &Expr, index: &Expr) -> Value {
        let size = string.ty.size();
        let Value::Mem(place) = self.expr(string) else { return Value::Void };
        let byte = if let ExprKind::Int(n) = index.kind {
            self.b.load(place.at(n as u32), 1)
        } else {
            let i = self.expr(index);
            let i = self.scalar(i);
            let byte = self.b.constant(0);
            let past_the_end = self.b.label();
            // Unsigned: a negative index is a huge one, past the end too.
            self.b.branch(Cond::Ge, i, Operand::Imm(size as i32), past_the_end);
            let address = self.b.addr(place);
            self.b.alu(AluOp::Add, address, Operand::Reg(i));
            self.b.emit(Insn::Load { size: Size::B, dst: byte, mem: Mem::Reg(address, 0) });
            self.b.place_label(past_the_end);
            byte
        };
        self.b.alu(AluOp::Lsh, byte, Operand::Imm(56));
        self.b.alu(AluOp::Arsh, byte, Operand::Imm(56));
        Value::Reg(byte)
    }

    /// A usdt argument where its spec says it is: a constant, a register of the context's
    /// `pt_regs`, or user memory addressed by registers; truncated to its size and extended by
    /// its sign.
    fn usdt_argument(&mut self, argument: &UsdtArgument) -> Reg {
        let register = |lowerer: &mut Self, offset: u32| {
            let dst = lowerer.b.vreg();
            lowerer.b.emit(Insn::Load { size: Size::DW, dst, mem: Mem::Reg(lowerer.ctx, offset as i16) });
            dst
        };
        let value = match &argument.location {
            UsdtLocation::Constant(constant) => self.b.constant(*constant),
            UsdtLocation::Register { offset, high_byte } => {
                let value = register(self, *offset);
                if *high_byte {
                    self.b.alu(AluOp::Rsh, value, Operand::Imm(8));
                }
                value
            }
            UsdtLocation::Memory { base, index, displacement } => {
                let address = register(self, *base);
                if let Some((index, scale)) = index {
                    let scaled = register(self, *index);
                    self.b.alu(AluOp::Mul, scaled, Operand::Imm(i32::from(*scale)));
                    self.b.alu(AluOp::Add, address, Operand::Reg(scaled));
                }
                self.user_word(address, *displacement, argument.size)
            }
            UsdtLocation::FromProbe { distance } => {
                let address = register(self, crate::pt_regs::INSTRUCTION_POINTER.offset);
                self.user_word(address, *distance, argument.size)
            }
        };
        if argument.size < 8 {
            let shift = 64 - 8 * i32::from(argument.size);
            self.b.alu(AluOp::Lsh, value, Operand::Imm(shift));
            self.b.alu(if argument.signed { AluOp::Arsh } else { AluOp::Rsh }, value, Operand::Imm(shift));
        }
        value
    }

    /// `size` bytes of user memory at `address + displacement`, in the low bytes of a zeroed
    /// word.
    fn user_word(&mut self, address: Reg, displacement: i64, size: u8) -> Reg {
        match i32::try_from(displacement) {
            Ok(small) => self.b.alu(AluOp::Add, address, Operand::Imm(small)),
            Err(_) => {
                let large = self.b.constant(displacement);
                self.b.alu(AluOp::Add, address, Operand::Reg(large));
            }
        }
        let place = self.b.alloc(8);
        self.b.zero(place, 8);
        self.checked_call(helper::PROBE_READ_USER, &[Arg::Addr(place), Arg::Imm(i64::from(size)), Arg::Reg(address)]);
        self.b.load(place, 8)
    }

    fn cast(&mut self, to: IntTy, inner: &Expr) -> Value {
        let v = self.expr(inner);
        let src = self.scalar(v);
        let out = self.b.copy_reg(src);
        if to.bits < 64 {
            let shift = i32::from(64 - to.bits);
            self.b.alu(AluOp::Lsh, out, Operand::Imm(shift));
            self.b.alu(if to.signed { AluOp::Arsh } else { AluOp::Rsh }, out, Operand::Imm(shift));
        }
        Value::Reg(out)
    }

    fn inc_dec(&mut self, target: &Expr, increment: bool, prefix: bool) -> Value {
        let delta = if increment { 1 } else { -1 };
        match &target.kind {
            ExprKind::Local(id) => match self.locals[id.0 as usize] {
                LocalSlot::Reg(reg) => {
                    let old = self.b.copy_reg(reg);
                    self.b.alu(AluOp::Add, reg, Operand::Imm(delta));
                    Value::Reg(if prefix { self.b.copy_reg(reg) } else { old })
                }
                LocalSlot::ScalarMem(_) => {
                    let old = self.local_value(*id);
                    let old = self.scalar(old);
                    let new = self.b.copy_reg(old);
                    self.b.alu(AluOp::Add, new, Operand::Imm(delta));
                    self.assign_local(*id, Value::Reg(new), &target.ty);
                    Value::Reg(if prefix { new } else { old })
                }
                LocalSlot::Mem(_) => Value::Void,
            },
            ExprKind::MapRead { map, key } => {
                let old = self.map_read(*map, key.as_deref(), &target.ty);
                let old = self.scalar(old);
                let new = self.b.copy_reg(old);
                self.b.alu(AluOp::Add, new, Operand::Imm(delta));
                self.map_store(*map, key.as_deref(), Value::Reg(new), &target.ty);
                Value::Reg(if prefix { new } else { old })
            }
            _ => Value::Void,
        }
    }
}
