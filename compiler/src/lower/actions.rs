//! Async actions: a record (action id, then the packed arguments) sent through the ring buffer
//! for userspace to format and act on.

use super::builder::{Arg, Place};
use super::{FnLowerer, Value};
use crate::lir::{helper, AluOp, Cond, Insn, Mem, Operand, Reg, Size};
use crate::manifest::{self, MapId, RECORD_HEADER_SIZE};
use crate::sema::hir::{Action, Expr};
use crate::sema::storage;
use crate::types::{tuple_layout, Ty};

/// Linux's `SIGSTOP` and `SIGCONT`: a watchpoint's uprobe stops its process, and continues it
/// at once if it could not tell the runtime, which would continue it.
const SIGSTOP: i64 = 19;
const SIGCONT: i64 = 18;

impl FnLowerer<'_> {
    pub(crate) fn action(&mut self, action: &Action) {
        match action {
            Action::Printf { format, args, stream } => {
                let types = args.iter().map(|a| storage(&a.ty)).collect();
                let id = self.cx.action(manifest::Action::Printf { format: format.clone(), args: types, stream: *stream });
                self.send_record(id, args);
            }
            Action::SeqPrintf { format, args } => self.seq_printf(format, args),
            Action::PrintValue(value) => {
                let id = self.cx.action(manifest::Action::PrintValue { ty: storage(&value.ty) });
                self.send_record(id, std::slice::from_ref(value));
            }
            Action::PrintMap { map, top, div } => {
                let id = self.cx.action(manifest::Action::PrintMap { map: MapId(map.0), top: *top, div: *div });
                self.send_record(id, &[]);
            }
            Action::Clear(map) => {
                let id = self.cx.action(manifest::Action::Clear { map: MapId(map.0) });
                self.send_record(id, &[]);
            }
            Action::Zero(map) => {
                let id = self.cx.action(manifest::Action::Zero { map: MapId(map.0) });
                self.send_record(id, &[]);
            }
            Action::Exit(code) => {
                let id = self.cx.action(manifest::Action::Exit);
                match code {
                    Some(code) => {
                        self.send_record(id, std::slice::from_ref(code.as_ref()));
                    }
                    None => {
                        let zero = Value::Reg(self.b.constant(0));
                        self.send_record_values(id, &[(zero, Ty::I64, Ty::I64)]);
                    }
                }
                // Like bpftrace, `exit()` also ends this probe.
                let exit = self.exit;
                self.b.jump(exit);
            }
            Action::Watch { address, probe, stop } => {
                if *stop {
                    self.b.call(helper::SEND_SIGNAL, &[Arg::Imm(SIGSTOP)]);
                }
                let id = self.cx.action(manifest::Action::Watch { probe_id: *probe, resume: *stop });
                let status = self.send_record(id, std::slice::from_ref(address.as_ref()));
                if *stop {
                    // No record, so no one to continue the process: it is not stopped at all.
                    let sent = self.b.label();
                    self.b.branch(Cond::Eq, status, Operand::Imm(0), sent);
                    self.b.call(helper::SEND_SIGNAL, &[Arg::Imm(SIGCONT)]);
                    self.b.place_label(sent);
                }
            }
        }
    }

    /// `printf` in an iterator probe: `bpf_seq_printf(ctx->meta->seq, format, data)` writes
    /// into the iterator's output. `data` holds one `u64` per argument: a number's canonical
    /// value, a string's address.
    fn seq_printf(&mut self, format: &[u8], args: &[Expr]) {
        let data = self.b.alloc(8 * args.len().max(1) as u32);
        for (index, arg) in args.iter().enumerate() {
            let value = self.expr(arg);
            let word = match &arg.ty {
                Ty::Str(_) => {
                    let place = self.materialize(value, &arg.ty, &arg.ty);
                    self.b.addr(place)
                }
                _ => self.scalar(value),
            };
            self.b.store(data.at(8 * index as u32), 8, word);
        }
        let text = self.string_constant(&format[..format.len().saturating_sub(1)], format.len() as u32);
        let meta = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::DW, dst: meta, mem: Mem::Reg(self.ctx, 0) });
        let seq = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::DW, dst: seq, mem: Mem::Reg(meta, 0) });
        let (data, size) = match args.len() {
            0 => (Arg::Imm(0), 0),
            n => (Arg::Addr(data), 8 * n as i64),
        };
        self.checked_call(helper::SEQ_PRINTF, &[Arg::Reg(seq), Arg::Addr(text), Arg::Imm(format.len() as i64), data, Arg::Imm(size)]);
    }

    /// For the standard library: sends a record of `action` with `args`.
    pub(crate) fn send(&mut self, action: manifest::Action, args: &[Expr]) {
        let id = self.cx.action(action);
        self.send_record(id, args);
    }

    /// For the standard library: outputs `size` bytes at `place` as a record of `action`,
    /// whose first 8 bytes this fills with the action's id.
    pub(crate) fn output_record(&mut self, action: manifest::Action, place: Place, size: u32) {
        let id = self.cx.action(action);
        self.b.store_imm(place, 8, id as i32);
        let ringbuf = self.cx.ringbuf();
        let status = self.b.call(helper::RINGBUF_OUTPUT, &[Arg::Map(ringbuf), Arg::Addr(place), Arg::Imm(i64::from(size)), Arg::Imm(0)]);
        self.count_lost_record(status);
    }

    /// Sends a record of action `id` with `args`; returns what `bpf_ringbuf_output` returned.
    fn send_record(&mut self, id: u32, args: &[Expr]) -> Reg {
        let values: Vec<(Value, Ty, Ty)> = args
            .iter()
            .map(|a| {
                let v = self.expr(a);
                (v, a.ty.clone(), storage(&a.ty))
            })
            .collect();
        self.send_record_values(id, &values)
    }

    /// Packs `(value, its type, record type)` triples after the action id and outputs them;
    /// returns what `bpf_ringbuf_output` returned.
    fn send_record_values(&mut self, id: u32, values: &[(Value, Ty, Ty)]) -> Reg {
        let mut fields = vec![Ty::U64];
        fields.extend(values.iter().map(|(_, _, record_ty)| record_ty.clone()));
        let layout = tuple_layout(&fields);
        debug_assert_eq!(layout.offsets[0] + 8, RECORD_HEADER_SIZE);
        let place = self.b.alloc(layout.size);
        // The verifier wants every byte handed to a helper initialized: clear the padding.
        let mut end = RECORD_HEADER_SIZE;
        for (offset, ty) in layout.offsets.iter().zip(&fields).skip(1) {
            if *offset > end {
                self.b.zero(place.at(end), offset - end);
            }
            end = offset + ty.size();
        }
        if layout.size > end {
            self.b.zero(place.at(end), layout.size - end);
        }
        self.b.store_imm(place, 8, id as i32);
        for ((value, from, to), offset) in values.iter().zip(&layout.offsets[1..]) {
            self.store_value(place.at(*offset), to, *value, from);
        }
        let ringbuf = self.cx.ringbuf();
        let status =
            self.b.call(helper::RINGBUF_OUTPUT, &[Arg::Map(ringbuf), Arg::Addr(place), Arg::Imm(i64::from(layout.size)), Arg::Imm(0)]);
        self.count_lost_record(status);
        status
    }

    /// Announces process `pid` to the runtime (`Action::Process`) the first time a probe takes
    /// one of its user addresses, so that its mappings are read while it lives: one lookup in
    /// the processes map when it is known.
    pub(crate) fn announce_process(&mut self, pid: Reg) {
        let processes = self.cx.processes_map();
        let key = self.b.alloc(4);
        self.b.store(key, 4, pid);
        let known = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(processes), Arg::Addr(key)]);
        let done = self.b.label();
        self.b.branch(Cond::Ne, known, Operand::Imm(0), done);
        // The value is one byte, 1: the first byte of the config map's constant 1.
        let seen = self.config_one();
        self.b.call(helper::MAP_UPDATE_ELEM, &[Arg::Map(processes), Arg::Addr(key), seen, Arg::Imm(0)]);
        let id = self.cx.action(manifest::Action::Process);
        self.send_record_values(id, &[(Value::Reg(pid), Ty::U64, Ty::U64)]);
        self.b.place_label(done);
    }

    /// Calls `helper`; with `-k`, a failure (a negative return) also sends a record naming the
    /// helper, the place in the script and what it returned.
    pub(crate) fn checked_call(&mut self, helper: u32, args: &[Arg]) -> Reg {
        let status = self.b.call(helper, args);
        if self.cx.helper_errors {
            let ok = self.b.label();
            self.b.branch(Cond::SGe, status, Operand::Imm(0), ok);
            let id = self.cx.action(manifest::Action::HelperError { helper, span: self.b.span });
            self.send_record_values(id, &[(Value::Reg(status), Ty::I64, Ty::I64)]);
            self.b.place_label(ok);
        }
        status
    }

    /// A record the ring buffer had no room for adds one to this CPU's count of lost records,
    /// which the runtime reports as `Lost N events`. Only a failed output takes the branch.
    fn count_lost_record(&mut self, status: Reg) {
        let done = self.b.label();
        self.b.branch(Cond::Eq, status, Operand::Imm(0), done);
        let lost = self.cx.lost();
        let key = self.b.alloc(4);
        self.b.store_imm(key, 4, 0);
        let count = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(lost), Arg::Addr(key)]);
        self.b.branch(Cond::Eq, count, Operand::Imm(0), done);
        let value = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::DW, dst: value, mem: Mem::Reg(count, 0) });
        self.b.alu(AluOp::Add, value, Operand::Imm(1));
        self.b.emit(Insn::Store { size: Size::DW, mem: Mem::Reg(count, 0), src: value });
        self.b.place_label(done);
    }
}
