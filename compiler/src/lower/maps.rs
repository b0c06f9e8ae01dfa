//! Map access: keys packed into memory, reads that default to zero, stores, deletes, and the
//! aggregation hot path (one lookup, update in place; insert only for a new key).

use super::builder::{Arg, Place};
use super::{FnLowerer, Value};
use crate::lir::{helper, AluOp, Cond, Insn, Mem, Operand, Reg, Size};
use crate::manifest::{KeyStorage, MapId, MapRole, MapValue, TseriesAgg, UserMap};
use crate::sema::hir::{Expr, LocalId, MapIdx};
use crate::types::{tuple_layout, Ty};

/// `BPF_ANY`: insert or replace. For per-CPU maps an update from a probe only writes this CPU's
/// copy, so two CPUs inserting the same new key both keep their counts.
const BPF_ANY: i64 = 0;
/// `BPF_NOEXIST`: insert only; another CPU may have inserted the key first.
const BPF_NOEXIST: i64 = 1;

impl FnLowerer<'_> {
    pub(super) fn user_map(&self, map: MapIdx) -> &UserMap {
        match &self.cx.maps[map.0 as usize].role {
            MapRole::User(user) => user,
            _ => unreachable!("hir map indices are the first manifest maps"),
        }
    }

    /// The packed kernel key for `@map[key]`, leaving room for a trailing bucket index.
    pub(super) fn map_key(&mut self, map: MapIdx, key: Option<&Expr>, bucket: Option<Reg>) -> Place {
        let user = self.user_map(map).clone();
        let key_layout = tuple_layout(&user.key);
        match user.storage {
            KeyStorage::Scalar => {
                let size = self.cx.maps[map.0 as usize].def.key_size;
                let place = self.b.alloc(size);
                self.b.zero(place, size);
                place
            }
            KeyStorage::BucketIndex => {
                let place = self.b.alloc(4);
                if let Some(bucket) = bucket {
                    self.b.store(place, 4, bucket);
                }
                place
            }
            KeyStorage::Packed | KeyStorage::PackedWithBucket => {
                let key_ty = if user.key.len() == 1 { user.key[0].clone() } else { Ty::Tuple(user.key.clone()) };
                let key = key.expect("keyed maps are used with keys");
                let value = self.expr(key);
                let total = self.cx.maps[map.0 as usize].def.key_size;
                if user.storage == KeyStorage::Packed && total == key_ty.size() {
                    return self.materialize(value, &key.ty, &key_ty);
                }
                let place = self.b.alloc(total);
                if total > key_layout.size {
                    self.b.zero(place.at(key_layout.size), total - key_layout.size);
                }
                self.store_value(place, &key_ty, value, &key.ty);
                if let Some(bucket) = bucket {
                    self.b.store(place.at(key_layout.size.div_ceil(8) * 8), 8, bucket);
                }
                place
            }
        }
    }

    fn map_id(map: MapIdx) -> MapId {
        MapId(map.0)
    }

    /// `@map[key]` as a value; a missing entry reads as zero.
    pub(crate) fn map_read(&mut self, map: MapIdx, key: Option<&Expr>, ty: &Ty) -> Value {
        let key = self.map_key(map, key, None);
        let ptr = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(Self::map_id(map)), Arg::Addr(key)]);
        let done = self.b.label();
        if ty.is_scalar() {
            let out = self.b.constant(0);
            self.b.branch(Cond::Eq, ptr, Operand::Imm(0), done);
            let size = Size::from_bytes(ty.size()).unwrap_or(Size::DW);
            self.b.emit(Insn::Load { size, dst: out, mem: Mem::Reg(ptr, 0) });
            self.b.place_label(done);
            return Value::Reg(out);
        }
        let place = self.b.alloc(ty.size());
        self.b.zero(place, ty.size());
        self.b.branch(Cond::Eq, ptr, Operand::Imm(0), done);
        self.b.copy(place, Place { base: super::builder::Base::Ptr(ptr), offset: 0 }, ty.size());
        self.b.place_label(done);
        Value::Mem(place)
    }

    /// `find(@map, key, $local)`: one lookup; the value found goes into `local`. A 0/1 flag.
    pub(crate) fn find_into(&mut self, map: MapIdx, key: &Expr, local: LocalId) -> Value {
        let MapValue::Plain(ty) = self.user_map(map).value.clone() else { return Value::Void };
        let key = self.map_key(map, Some(key), None);
        let ptr = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(Self::map_id(map)), Arg::Addr(key)]);
        let found = self.b.flag(Cond::Ne, ptr, Operand::Imm(0));
        let missing = self.b.label();
        self.b.branch(Cond::Eq, ptr, Operand::Imm(0), missing);
        let place = Place { base: super::builder::Base::Ptr(ptr), offset: 0 };
        let value = if ty.is_scalar() { Value::Reg(self.load_scalar(place, &ty)) } else { Value::Mem(place) };
        self.assign_local(local, value, &ty);
        self.b.place_label(missing);
        Value::Reg(found)
    }

    /// `@map[key] = value` for a plain map.
    pub(crate) fn map_store(&mut self, map: MapIdx, key: Option<&Expr>, value: Value, from: &Ty) {
        let key = self.map_key(map, key, None);
        let MapValue::Plain(ty) = self.user_map(map).value.clone() else { return };
        let value = self.materialize(value, from, &ty);
        self.checked_call(helper::MAP_UPDATE_ELEM, &[Arg::Map(Self::map_id(map)), Arg::Addr(key), Arg::Addr(value), Arg::Imm(BPF_ANY)]);
    }

    pub(crate) fn delete(&mut self, map: MapIdx, key: Option<&Expr>) -> Value {
        let key = self.map_key(map, key, None);
        let result = self.b.call(helper::MAP_DELETE_ELEM, &[Arg::Map(Self::map_id(map)), Arg::Addr(key)]);
        let out = self.b.constant(1);
        let done = self.b.label();
        self.b.branch(Cond::Eq, result, Operand::Imm(0), done);
        self.b.set_constant(out, 0);
        self.b.place_label(done);
        Value::Reg(out)
    }

    /// `@map[key] = count()` and the other aggregations.
    pub(crate) fn aggregate(&mut self, map: MapIdx, key: Option<&Expr>, arg: Option<&Expr>) {
        let kind = self.user_map(map).value.clone();
        let n = arg.map(|a| {
            let v = self.expr(a);
            self.scalar(v)
        });
        if let MapValue::Tseries { interval_ns, intervals, agg } = kind {
            self.tseries(map, key, n.expect("tseries has an argument"), (interval_ns, intervals, agg));
            return;
        }
        let bucket = match &kind {
            MapValue::Hist { k } => Some(self.hist_bucket(n.expect("hist has an argument"), *k)),
            MapValue::Lhist { min, max, step } => Some(self.lhist_bucket(n.expect("lhist has an argument"), *min, *max, *step)),
            _ => None,
        };
        let key = self.map_key(map, key, bucket);
        let ptr = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(Self::map_id(map)), Arg::Addr(key)]);
        let done = self.b.label();
        if matches!(self.user_map(map).storage, KeyStorage::BucketIndex | KeyStorage::Scalar) {
            // Array slots always exist; the check only satisfies the verifier.
            self.b.branch(Cond::Eq, ptr, Operand::Imm(0), done);
            self.update_in_place(&kind, ptr, n);
        } else {
            let insert = self.b.label();
            self.b.branch(Cond::Eq, ptr, Operand::Imm(0), insert);
            self.update_in_place(&kind, ptr, n);
            self.b.jump(done);
            self.b.place_label(insert);
            let initial = self.initial_value(&kind, n);
            self.checked_call(helper::MAP_UPDATE_ELEM, &[Arg::Map(Self::map_id(map)), Arg::Addr(key), initial, Arg::Imm(BPF_ANY)]);
        }
        self.b.place_label(done);
    }

    /// Updates an existing per-CPU value at `ptr` (no atomics needed: only this CPU writes it).
    fn update_in_place(&mut self, kind: &MapValue, ptr: Reg, n: Option<Reg>) {
        let at = |off: i16| Mem::Reg(ptr, off);
        match kind {
            MapValue::Count | MapValue::Hist { .. } | MapValue::Lhist { .. } => self.add_to(at(0), Operand::Imm(1)),
            MapValue::Sum(_) => self.add_to(at(0), Operand::Reg(n.expect("sum has an argument"))),
            MapValue::Avg(_) | MapValue::Stats(_) => {
                self.add_to(at(0), Operand::Imm(1));
                self.add_to(at(8), Operand::Reg(n.expect("avg has an argument")));
            }
            MapValue::Min(int) | MapValue::Max(int) => {
                let n = n.expect("min/max have an argument");
                let current = self.b.vreg();
                self.b.emit(Insn::Load { size: Size::DW, dst: current, mem: at(0) });
                let keep = self.b.label();
                let is_set = self.b.vreg();
                self.b.emit(Insn::Load { size: Size::DW, dst: is_set, mem: at(8) });
                let store = self.b.label();
                self.b.branch(Cond::Eq, is_set, Operand::Imm(0), store);
                self.b.branch(better(kind, int.signed).negate(), n, Operand::Reg(current), keep);
                self.b.place_label(store);
                self.b.emit(Insn::Store { size: Size::DW, mem: at(0), src: n });
                self.b.emit(Insn::StoreImm { size: Size::DW, mem: at(8), imm: 1 });
                self.b.place_label(keep);
            }
            MapValue::Plain(_) | MapValue::Tseries { .. } => {}
        }
    }

    /// `@map[key] = tseries(n, interval, intervals, agg)`: the slot of the current interval
    /// (TAI time / `interval`, modulo `intervals`) restarts when it holds an older interval, then
    /// takes `n` by `agg`. A key seen first starts from the zeros map's value.
    fn tseries(&mut self, map: MapIdx, key: Option<&Expr>, n: Reg, (interval_ns, intervals, agg): (u64, u32, TseriesAgg)) {
        use crate::manifest::tseries_slot::{EPOCH, EXTRA, SIZE, VALUE};
        let now = self.b.call(helper::KTIME_GET_TAI_NS, &[]);
        let epoch = self.b.copy_reg(now);
        let interval = match i32::try_from(interval_ns) {
            Ok(imm) => Operand::Imm(imm),
            Err(_) => Operand::Reg(self.b.constant(interval_ns as i64)),
        };
        self.b.alu(AluOp::Div, epoch, interval);
        let slot_offset = self.b.copy_reg(epoch);
        self.b.alu(AluOp::Mod, slot_offset, Operand::Imm(intervals as i32));
        let done = self.b.label();
        // Bounds the offset for the verifier, which does not follow `%`.
        self.b.branch(Cond::Ge, slot_offset, Operand::Imm(intervals as i32), done);
        self.b.alu(AluOp::Mul, slot_offset, Operand::Imm(SIZE as i32));
        let key = self.map_key(map, key, None);
        let id = Self::map_id(map);
        let mut ptr = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(id), Arg::Addr(key)]);
        if !matches!(self.user_map(map).storage, KeyStorage::Scalar) {
            let merged = self.b.copy_reg(ptr);
            let found = self.b.label();
            self.b.branch(Cond::Ne, ptr, Operand::Imm(0), found);
            let zeros = self.cx.zeros();
            let zero_key = self.b.alloc(4);
            self.b.store_imm(zero_key, 4, 0);
            let zeros = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(zeros), Arg::Addr(zero_key)]);
            self.b.branch(Cond::Eq, zeros, Operand::Imm(0), done);
            self.b.call(helper::MAP_UPDATE_ELEM, &[Arg::Map(id), Arg::Addr(key), Arg::Reg(zeros), Arg::Imm(BPF_NOEXIST)]);
            let inserted = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(id), Arg::Addr(key)]);
            self.b.mov(merged, inserted);
            self.b.place_label(found);
            ptr = merged;
        }
        self.b.branch(Cond::Eq, ptr, Operand::Imm(0), done);
        let slot = self.b.copy_reg(ptr);
        self.b.alu(AluOp::Add, slot, Operand::Reg(slot_offset));
        let at = |off: u32| Mem::Reg(slot, off as i16);
        let held = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::DW, dst: held, mem: at(EPOCH) });
        let restart = self.b.label();
        self.b.branch(Cond::Ne, held, Operand::Reg(epoch), restart);
        match agg {
            TseriesAgg::Last => {
                self.b.emit(Insn::Store { size: Size::DW, mem: at(VALUE), src: n });
                self.b.emit(Insn::Store { size: Size::DW, mem: at(EXTRA), src: now });
            }
            TseriesAgg::Sum => self.add_to(at(VALUE), Operand::Reg(n)),
            TseriesAgg::Avg => {
                self.add_to(at(VALUE), Operand::Reg(n));
                self.add_to(at(EXTRA), Operand::Imm(1));
            }
            TseriesAgg::Min | TseriesAgg::Max => {
                let current = self.b.vreg();
                self.b.emit(Insn::Load { size: Size::DW, dst: current, mem: at(VALUE) });
                let keep = self.b.label();
                let better = if agg == TseriesAgg::Max { Cond::SGt } else { Cond::SLt };
                self.b.branch(better.negate(), n, Operand::Reg(current), keep);
                self.b.emit(Insn::Store { size: Size::DW, mem: at(VALUE), src: n });
                self.b.place_label(keep);
            }
        }
        self.b.jump(done);
        self.b.place_label(restart);
        self.b.emit(Insn::Store { size: Size::DW, mem: at(EPOCH), src: epoch });
        self.b.emit(Insn::Store { size: Size::DW, mem: at(VALUE), src: n });
        let extra = if agg == TseriesAgg::Last { now } else { self.b.constant(1) };
        self.b.emit(Insn::Store { size: Size::DW, mem: at(EXTRA), src: extra });
        self.b.place_label(done);
    }

    pub(super) fn add_to(&mut self, mem: Mem, amount: Operand) {
        let reg = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::DW, dst: reg, mem });
        self.b.alu(AluOp::Add, reg, amount);
        self.b.emit(Insn::Store { size: Size::DW, mem, src: reg });
    }

    /// The value stored for a key seen for the first time: a count's 1 is the config map's
    /// (one `ld_imm64`), others are written to the stack.
    fn initial_value(&mut self, kind: &MapValue, n: Option<Reg>) -> Arg {
        let n = || n.expect("the aggregation has an argument");
        let place = match kind {
            MapValue::Count | MapValue::Hist { .. } | MapValue::Lhist { .. } => return self.config_one(),
            _ => self.b.alloc(kind.size()),
        };
        match kind {
            MapValue::Sum(_) => self.b.store(place, 8, n()),
            MapValue::Avg(_) | MapValue::Stats(_) => {
                self.b.store_imm(place, 8, 1);
                self.b.store(place.at(8), 8, n());
            }
            MapValue::Min(_) | MapValue::Max(_) => {
                self.b.store(place, 8, n());
                self.b.store_imm(place.at(8), 8, 1);
            }
            // Plain and tseries values start zeroed (counts returned above).
            _ => self.b.zero(place, kind.size()),
        }
        Arg::Addr(place)
    }
}

/// How a new value beats the kept one in a `min` (less) or `max` (greater) map.
pub(super) fn better(kind: &MapValue, signed: bool) -> Cond {
    match (kind, signed) {
        (MapValue::Min(_), true) => Cond::SLt,
        (MapValue::Min(_), false) => Cond::Lt,
        (_, true) => Cond::SGt,
        (_, false) => Cond::Gt,
    }
}
