//! Reads of kernel and user memory through pointers (`p->field`, `*p`, `a[i]` of a C array),
//! and the same bytes seen as another type (`(uint8[8])x`).
//!
//! A read is one `probe_read` of exactly the value's bytes into zeroed stack memory, so a
//! failed read gives zeroes, as in bpftrace; except along a chain of kernel struct members
//! that starts at `curtask`. There the task comes from `bpf_get_current_task_btf`, a pointer
//! whose kernel type the verifier knows, and each member that is a pointer to a struct, or an
//! integer, is a plain load: the verifier types what it loads from such a pointer and makes
//! the load fault-safe (a bad address reads 0). `curtask->real_parent->pid` is one helper call
//! and two loads instead of three helper calls. (The verifier lets only GPL-compatible
//! programs do this; every license the `license` setting takes is one.) An iterator's context
//! members (`ctx.task`) are plain loads from the context too.

use super::builder::Arg;
use super::{FnLowerer, Value};
use crate::co_re::FieldAccess;
use crate::lir::{helper, AluOp, Cond, Insn, Mem, Operand, Reg, Size};
use crate::sema::hir::{Expr, ExprKind};
use crate::types::Ty;

impl FnLowerer<'_> {
    /// The value of type `ty` at `ptr + offset`; `member` when it is one whole member of a
    /// kernel struct. The instruction holding the offset is tagged with `field` when it names a
    /// member, and is there even when the offset is 0.
    pub(super) fn deref(&mut self, ptr: &Expr, offset: u32, user: bool, member: bool, field: Option<&FieldAccess>, ty: &Ty) -> Value {
        let field = field.filter(|field| field.reads_member());
        if let (ExprKind::Call { func: "ctx", .. }, true) = (&ptr.kind, member) {
            if let Some(loaded) = self.context_member(offset, field, ty) {
                return Value::Reg(loaded);
            }
        }
        if !user && member && matches!(ty, Ty::Int(_) | Ty::Enum(_) | Ty::Bool) {
            if let Some(loaded) = self.direct_load(ptr, offset, field, ty) {
                return Value::Reg(loaded);
            }
        }
        let base = self.expr(ptr);
        let base = self.scalar(base);
        let address = self.b.copy_reg(base);
        let add = Insn::Alu64 { op: AluOp::Add, dst: address, src: Operand::Imm(offset as i32) };
        match field {
            Some(field) => self.b.emit_relocated(add, field),
            None if offset != 0 => self.b.emit(add),
            None => {}
        }
        if let Ty::Str(len) = ty {
            // A `char` array: a string, cut at its NUL and zero-padded after it.
            return Value::Mem(self.read_str_into(address, None, user, *len));
        }
        let size = ty.size();
        let read = if user { helper::PROBE_READ_USER } else { helper::PROBE_READ_KERNEL };
        let place = self.b.alloc(size.max(8));
        self.b.zero(place, size.max(8));
        self.checked_call(read, &[Arg::Addr(place), Arg::Imm(i64::from(size)), Arg::Reg(address)]);
        if ty.is_scalar() {
            Value::Reg(self.load_scalar(place, ty))
        } else {
            Value::Mem(place)
        }
    }

    /// The integer of type `ty` at `offset` in the struct `ptr` points to, loaded directly when
    /// `ptr` is a pointer the verifier knows the kernel type of.
    fn direct_load(&mut self, ptr: &Expr, offset: u32, field: Option<&FieldAccess>, ty: &Ty) -> Option<Reg> {
        let size = Size::from_bytes(ty.size())?;
        let offset = i16::try_from(offset).ok()?;
        let base = self.typed_pointer(ptr)?;
        let dst = self.b.vreg();
        self.load(Insn::Load { size, dst, mem: Mem::Reg(base, offset) }, field);
        if let Some(int) = ty.as_int() {
            if int.signed && int.bits < 64 {
                let shift = i32::from(64 - int.bits);
                self.b.alu(AluOp::Lsh, dst, Operand::Imm(shift));
                self.b.alu(AluOp::Arsh, dst, Operand::Imm(shift));
            }
        }
        Some(dst)
    }

    /// A member of an iterator's context (`ctx.task`, `ctx.fd`): a plain load from the context,
    /// as the verifier allows. A pointer member may be null, and the verifier refuses to
    /// compute with it until a branch has tested it: the test joins both outcomes again, so
    /// a null pointer reads as zeroes like any failed read.
    fn context_member(&mut self, offset: u32, field: Option<&FieldAccess>, ty: &Ty) -> Option<Reg> {
        if !matches!(ty, Ty::Int(_) | Ty::Enum(_) | Ty::Bool | Ty::Ptr { .. }) {
            return None;
        }
        let size = Size::from_bytes(ty.size())?;
        let offset = i16::try_from(offset).ok()?;
        let dst = self.b.vreg();
        self.load(Insn::Load { size, dst, mem: Mem::Reg(self.ctx, offset) }, field);
        match ty {
            Ty::Ptr { .. } => {
                let tested = self.b.label();
                self.b.branch(Cond::Eq, dst, Operand::Imm(0), tested);
                self.b.place_label(tested);
            }
            _ => {
                if let Some(int) = ty.as_int().filter(|int| int.signed && int.bits < 64) {
                    let shift = i32::from(64 - int.bits);
                    self.b.alu(AluOp::Lsh, dst, Operand::Imm(shift));
                    self.b.alu(AluOp::Arsh, dst, Operand::Imm(shift));
                }
            }
        }
        Some(dst)
    }

    /// `e` as a pointer whose kernel type the verifier knows, when it is `curtask` or a member
    /// of such a pointer's struct that points to a struct; `None` (having emitted nothing)
    /// otherwise.
    fn typed_pointer(&mut self, e: &Expr) -> Option<Reg> {
        match &e.kind {
            ExprKind::Call { func: "curtask", .. } if matches!(e.ty, Ty::Ptr { .. }) => Some(self.b.call(helper::GET_CURRENT_TASK_BTF, &[])),
            ExprKind::Deref { ptr, offset, user: false, member: true, field } if points_to_struct(&e.ty) => {
                let offset = i16::try_from(*offset).ok()?;
                let base = self.typed_pointer(ptr)?;
                let dst = self.b.vreg();
                let field = field.as_deref().filter(|field| field.reads_member());
                self.load(Insn::Load { size: Size::DW, dst, mem: Mem::Reg(base, offset) }, field);
                Some(dst)
            }
            _ => None,
        }
    }

    /// A load whose offset is `field`'s, tagged with it when there is one.
    fn load(&mut self, load: Insn, field: Option<&FieldAccess>) {
        match field {
            Some(field) => self.b.emit_relocated(load, field),
            None => self.b.emit(load),
        }
    }
}

impl FnLowerer<'_> {
    /// The bytes of `inner` as type `to`, of the same size: an integer stored into an array's
    /// memory, or an array's memory loaded as an integer.
    pub(super) fn bitcast(&mut self, inner: &Expr, to: &Ty) -> Value {
        let value = self.expr(inner);
        match to {
            Ty::Array { .. } => {
                let reg = self.register(value);
                let place = self.b.alloc(to.size().max(8));
                self.b.store(place, to.size(), reg);
                Value::Mem(place)
            }
            _ => {
                let place = self.in_memory(value, &inner.ty, &inner.ty);
                Value::Reg(self.load_scalar(place, to))
            }
        }
    }

    /// Element `index` of an array held as a value.
    pub(super) fn array_element(&mut self, array: &Expr, index: u32, elem: &Ty) -> Value {
        let value = self.expr(array);
        let place = self.in_memory(value, &array.ty, &array.ty);
        Value::Reg(self.load_scalar(place.at(index * elem.size()), elem))
    }
}

fn points_to_struct(ty: &Ty) -> bool {
    matches!(ty, Ty::Ptr { pointee, user: false } if matches!(**pointee, Ty::Struct(_)))
}
