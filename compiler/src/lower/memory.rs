//! Reads of kernel and user memory through pointers (`p->field`, `*p`, `a[i]` of a C array):
//! one `probe_read` of exactly the value's bytes into zeroed stack memory, so a failed read
//! gives zeroes, as in bpftrace.

use super::builder::Arg;
use super::{FnLowerer, Value};
use crate::lir::{helper, AluOp, Operand};
use crate::sema::hir::Expr;
use crate::types::Ty;

impl FnLowerer<'_> {
    /// The value of type `ty` at `ptr + offset`.
    pub(super) fn deref(&mut self, ptr: &Expr, offset: u32, user: bool, ty: &Ty) -> Value {
        let base = self.expr(ptr);
        let base = self.scalar(base);
        let address = self.b.copy_reg(base);
        if offset != 0 {
            self.b.alu(AluOp::Add, address, Operand::Imm(offset as i32));
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
}
