//! Histogram bucket indexes computed in BPF, exactly as `crate::buckets` defines them.

use super::FnLowerer;
use crate::lir::{AluOp, Cond, Operand, Reg};

impl FnLowerer<'_> {
    /// `hist(n, k)`'s bucket: 0 for negative `n`, else `(s << k) + (n >> s) + 1` with
    /// `s = max(floor(log2(n)) - k, 0)`.
    pub(crate) fn hist_bucket(&mut self, n: Reg, k: u8) -> Reg {
        let out = self.b.constant(0);
        let done = self.b.label();
        self.b.branch(Cond::SLt, n, Operand::Imm(0), done);
        let log2 = self.log2(n);
        let shift = log2;
        if k > 0 {
            let no_clamp = self.b.label();
            self.b.alu(AluOp::Sub, shift, Operand::Imm(i32::from(k)));
            self.b.branch(Cond::SGe, shift, Operand::Imm(0), no_clamp);
            self.b.set_constant(shift, 0);
            self.b.place_label(no_clamp);
        }
        let mantissa = self.b.copy_reg(n);
        self.b.alu(AluOp::Rsh, mantissa, Operand::Reg(shift));
        self.b.mov(out, shift);
        if k > 0 {
            self.b.alu(AluOp::Lsh, out, Operand::Imm(i32::from(k)));
        }
        self.b.alu(AluOp::Add, out, Operand::Reg(mantissa));
        self.b.alu(AluOp::Add, out, Operand::Imm(1));
        self.b.place_label(done);
        out
    }

    /// `floor(log2(n))` for `n >= 0` (0 for 0), by six halving steps.
    fn log2(&mut self, n: Reg) -> Reg {
        let rest = self.b.copy_reg(n);
        let log2 = self.b.constant(0);
        for step in [32, 16, 8, 4, 2, 1] {
            let skip = self.b.label();
            let high = self.b.copy_reg(rest);
            self.b.alu(AluOp::Rsh, high, Operand::Imm(step));
            self.b.branch(Cond::Eq, high, Operand::Imm(0), skip);
            self.b.mov(rest, high);
            self.b.alu(AluOp::Add, log2, Operand::Imm(step));
            self.b.place_label(skip);
        }
        log2
    }

    /// `lhist(n, min, max, step)`'s bucket: 0 below `min`, else
    /// `1 + (min(n, max) - min) / step`.
    pub(crate) fn lhist_bucket(&mut self, n: Reg, min: i64, max: i64, step: i64) -> Reg {
        let out = self.b.constant(0);
        let done = self.b.label();
        let min_reg = self.immediate_or_reg(min);
        self.b.branch(Cond::SLt, n, min_reg, done);
        let value = self.b.copy_reg(n);
        let in_range = self.b.label();
        let max_reg = self.immediate_or_reg(max);
        self.b.branch(Cond::SLe, value, max_reg, in_range);
        self.b.set_constant(value, max);
        self.b.place_label(in_range);
        let min_operand = self.immediate_or_reg(min);
        self.b.alu(AluOp::Sub, value, min_operand);
        let step_operand = self.immediate_or_reg(step);
        self.b.alu(AluOp::Div, value, step_operand);
        self.b.alu(AluOp::Add, value, Operand::Imm(1));
        self.b.mov(out, value);
        self.b.place_label(done);
        out
    }

    fn immediate_or_reg(&mut self, value: i64) -> Operand {
        match i32::try_from(value) {
            Ok(imm) => Operand::Imm(imm),
            Err(_) => Operand::Reg(self.b.constant(value)),
        }
    }
}
