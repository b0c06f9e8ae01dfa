//! Reading an aggregation in a probe: `@c > 2` where `@c = count()` combines the value every CPU
//! keeps, as printing the map does. A `bpf_loop` callback asks `bpf_map_lookup_percpu_elem` for
//! each CPU's value until it answers NULL (a CPU number past the kernel's, or a key no CPU has)
//! and folds it into an accumulator in scratch memory.

use super::builder::{Base, Place};
use super::{FnLowerer, Value};
use crate::lir::{helper, AluOp, Cond, Insn, Mem, Operand, Reg, Size};
use crate::manifest::{MapId, MapValue};
use crate::sema::hir::{self, Expr, ExprKind, MapIdx};

/// How many CPUs the loop asks about at most: the largest `NR_CPUS` of x86-64 kernels.
const MAX_CPUS: i64 = 8192;

/// Accumulator words after the key: the combined value (or count), a second sum (avg's total),
/// and whether a min/max has a value yet.
const ACC_BYTES: u32 = 24;

/// Whether `probe` runs a callback outside a loop statement: it reads an aggregation's value,
/// or calls a function that loops (`strcontains`).
pub(super) fn runs_callbacks(probe: &hir::Probe) -> bool {
    let mut found = false;
    let mut look = |e: &Expr| {
        found |= match &e.kind {
            ExprKind::AggregateRead { .. } => true,
            ExprKind::Call { func, map, .. } => crate::stdlib::runs_a_loop(func, map.is_some()),
            _ => false,
        }
    };
    probe.predicate.iter().for_each(|p| p.walk(&mut look));
    probe.body.iter().for_each(|s| s.walk_exprs(&mut look));
    found
}

impl FnLowerer<'_> {
    /// The combined value of `@map[key]` across CPUs; zero when no CPU has the key.
    pub(super) fn aggregate_read(&mut self, map: MapIdx, key: Option<&Expr>) -> Value {
        let key = self.map_key(map, key, None);
        self.aggregate_at(map, key)
    }

    /// The combined value of the entry of `map` whose kernel key is at `key`.
    pub(super) fn aggregate_at(&mut self, map: MapIdx, key: Place) -> Value {
        let kind = self.user_map(map).value.clone();
        let key_size = self.cx.maps[map.0 as usize].def.key_size;
        let area = self.b.alloc_scratch(key_size + ACC_BYTES);
        let acc = area.offset + key_size.div_ceil(8) as i32 * 8;
        self.b.copy(area, key, key_size);
        for word in 0..3 {
            self.b.store_imm(Place { offset: acc + 8 * word, ..area }, 8, 0);
        }
        let callback = self.callback(2, |body_fn, args| {
            let base = body_fn.b.scratch_base();
            let key = Place { base: Base::Ptr(base), offset: area.offset };
            let stop = body_fn.loop_exits.expect("a callback has exits").stop;
            let key_addr = body_fn.b.addr(key);
            let map_reg = body_fn.b.vreg();
            body_fn.b.emit(Insn::LoadMap { dst: map_reg, map: MapId(map.0) });
            let value = body_fn.b.call(helper::MAP_LOOKUP_PERCPU_ELEM, &[
                super::builder::Arg::Reg(map_reg),
                super::builder::Arg::Reg(key_addr),
                super::builder::Arg::Reg(args[0]),
            ]);
            body_fn.b.branch(Cond::Eq, value, Operand::Imm(0), stop);
            body_fn.fold_cpu(&kind, value, Place { base: Base::Ptr(base), offset: acc });
            true
        });
        let cpus = self.b.constant(MAX_CPUS);
        self.call_with_callback(helper::LOOP, cpus, callback);
        let acc = Place { offset: acc, ..area };
        let result = self.b.load(acc, 8);
        if let MapValue::Avg(int) = kind {
            // avg: the total over the count, zero when nothing was counted.
            let total = self.b.load(acc.at(8), 8);
            let done = self.b.label();
            let out = self.b.constant(0);
            self.b.branch(Cond::Eq, result, Operand::Imm(0), done);
            self.b.mov(out, total);
            if int.signed {
                self.b.signed_div_mod(out, Operand::Reg(result), false);
            } else {
                self.b.alu(AluOp::Div, out, Operand::Reg(result));
            }
            self.b.place_label(done);
            return Value::Reg(out);
        }
        Value::Reg(result)
    }

    /// Folds one CPU's value at `value` into the accumulator at `acc`.
    fn fold_cpu(&mut self, kind: &MapValue, value: Reg, acc: Place) {
        let add = |f: &mut FnLowerer<'_>, from: i16, to: Place| {
            let v = f.b.vreg();
            f.b.emit(Insn::Load { size: Size::DW, dst: v, mem: Mem::Reg(value, from) });
            let sum = f.b.load(to, 8);
            f.b.alu(AluOp::Add, sum, Operand::Reg(v));
            f.b.store(to, 8, sum);
        };
        match kind {
            MapValue::Count | MapValue::Sum(_) => add(self, 0, acc),
            MapValue::Avg(_) => {
                add(self, 0, acc);
                add(self, 8, acc.at(8));
            }
            MapValue::Min(int) | MapValue::Max(int) => {
                let skip = self.b.label();
                let is_set = self.b.vreg();
                self.b.emit(Insn::Load { size: Size::DW, dst: is_set, mem: Mem::Reg(value, 8) });
                self.b.branch(Cond::Eq, is_set, Operand::Imm(0), skip);
                let v = self.b.vreg();
                self.b.emit(Insn::Load { size: Size::DW, dst: v, mem: Mem::Reg(value, 0) });
                let take = self.b.label();
                let have = self.b.load(acc.at(16), 8);
                self.b.branch(Cond::Eq, have, Operand::Imm(0), take);
                let current = self.b.load(acc, 8);
                self.b.branch(super::maps::better(kind, int.signed).negate(), v, Operand::Reg(current), skip);
                self.b.place_label(take);
                self.b.store(acc, 8, v);
                self.b.store_imm(acc.at(16), 8, 1);
                self.b.place_label(skip);
            }
            other => unreachable!("sema reads only count, sum, min, max and avg values, not {other:?}"),
        }
    }
}
