//! Loops: each loop body is a function of its own, a callback the kernel runs once per
//! iteration (`bpf_loop` for ranges and `while`, `bpf_for_each_map_elem` for maps).
//!
//! Callbacks need no backward jump, so the LIR keeps its forward-only rule and the verifier
//! never has to bound a loop: the helper does. The functions of a probe with loops share its
//! variables through the *frame*, an area of the per-CPU scratch map at one offset for every
//! function: the variables, each range's start, a dispatched program's probe id, and a flag a
//! `return` inside a loop sets so that every enclosing function returns too. The program's
//! stack holds only what cannot go in a map, the context pointer, and the scratch base; its
//! address is every callback's last argument.
//!
//! The shared values are in map memory, not on the stack, because the verifier of Linux before
//! 6.8 checks a callback once, with the caller's stack as it was at the call: a variable that
//! was a known constant there stayed one, and branches on it were removed as dead code. A load
//! from a map value is never a known constant.
//!
//! A callback returns 0 to go on with the next iteration (`continue`, the end of the body) and
//! 1 to stop (`break`, `return`, a false `while` condition).

use super::builder::{Base, Builder, Place};
use super::{FnLowerer, LocalSlot};
use crate::lir::{helper, AluOp, Cond, Insn, Label, Operand, Reg};
use crate::manifest::MapId;
use crate::sema::hir::{self, Expr, LocalId, MapIdx, Stmt, StmtKind, WHILE_ITERATIONS};
use crate::types::{tuple_layout, Ty};

/// Offsets in the stack part of the frame.
const CTX: u32 = 0;
const SCRATCH: u32 = 8;
const STACK_BYTES: u32 = 16;
/// Offsets in the shared part of the frame, in scratch memory.
const RETURNED: u32 = 0;
const PROBE_ID: u32 = 8;
const FIXED_SHARED_BYTES: u32 = 16;

/// The frame of a probe with loops, as one of its functions reaches it.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The stack part: a slot in the program, the pointer argument in a callback.
    stack: Place,
    /// Where the shared part starts in the scratch area.
    shared: i32,
    /// Each variable's offset in the shared part; empty when the variables stay in the program
    /// (a probe without loops whose callbacks only combine per-CPU values).
    locals: Vec<u32>,
    /// Offset of the first range start; one 8-byte word per `for` range in the probe.
    ranges: u32,
}

/// Where a loop body's `continue` and `break` go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopExits {
    pub next: Label,
    pub stop: Label,
}

impl Frame {
    /// Lays out the frame of `probe` in the program being built; its variables go in the frame
    /// when `share_locals`.
    pub(super) fn new(b: &mut Builder, probe: &hir::Probe, share_locals: bool) -> Frame {
        let mut size = FIXED_SHARED_BYTES;
        let locals = probe
            .locals
            .iter()
            .filter(|_| share_locals)
            .map(|local| {
                // A scalar is kept as its canonical 64-bit value.
                let bytes = if local.ty.is_scalar() { 8 } else { local.ty.size().div_ceil(8) * 8 };
                size += bytes;
                size - bytes
            })
            .collect();
        let ranges = size;
        size += 8 * count_ranges(&probe.body);
        let shared = b.alloc_scratch(size).offset;
        let stack = Place { base: Base::Slot(b.slot(STACK_BYTES)), offset: 0 };
        Frame { stack, shared, locals, ranges }
    }

    /// Where variable `index` lives, seen from the function `b` builds, if in the frame.
    pub(super) fn local(&self, b: &mut Builder, index: usize) -> Option<Place> {
        let offset = *self.locals.get(index)?;
        Some(self.word(b, offset))
    }

    /// The shared word at `offset`, seen from the function `b` builds.
    fn word(&self, b: &mut Builder, offset: u32) -> Place {
        Place { base: Base::Ptr(b.scratch_base()), offset: self.shared + offset as i32 }
    }

    /// The same frame seen from a callback that received its stack part's address in
    /// `pointer`.
    fn through(&self, pointer: Reg) -> Frame {
        Frame { stack: Place { base: Base::Ptr(pointer), offset: 0 }, ..self.clone() }
    }
}

/// How many `for` ranges `body` holds, nested ones included.
fn count_ranges(body: &[Stmt]) -> u32 {
    body.iter()
        .map(|stmt| match &stmt.kind {
            StmtKind::ForRange { body, .. } => 1 + count_ranges(body),
            StmtKind::ForMap { body, .. } | StmtKind::While { body, .. } | StmtKind::Block(body) => count_ranges(body),
            StmtKind::If { then_body, else_body, .. } => count_ranges(then_body) + count_ranges(else_body),
            _ => 0,
        })
        .sum()
}

/// Whether `body` holds a `return`, in nested loops too.
fn returns(body: &[Stmt]) -> bool {
    body.iter().any(|stmt| match &stmt.kind {
        StmtKind::Return(_) => true,
        StmtKind::ForRange { body, .. } | StmtKind::ForMap { body, .. } | StmtKind::While { body, .. } | StmtKind::Block(body) => {
            returns(body)
        }
        StmtKind::If { then_body, else_body, .. } => returns(then_body) || returns(else_body),
        _ => false,
    })
}

impl FnLowerer<'_> {
    /// At the program's entry: the frame gets the context, the scratch base, a clear return
    /// flag and, in a dispatched program, the probe id.
    pub(super) fn init_frame(&mut self) {
        let Some(frame) = self.frame.clone() else { return };
        self.b.store(frame.stack.at(CTX), 8, self.ctx);
        let scratch = self.b.scratch_base();
        self.b.store(frame.stack.at(SCRATCH), 8, scratch);
        let returned = frame.word(&mut self.b, RETURNED);
        self.b.store_imm(returned, 8, 0);
        if let Some(probe_id) = self.dispatched_probe {
            let word = frame.word(&mut self.b, PROBE_ID);
            self.b.store(word, 8, probe_id);
        }
    }

    /// `for ($var : start..end)`: `bpf_loop(end - start, body)`, no iteration when
    /// `end <= start`.
    pub(super) fn for_range(&mut self, var: LocalId, start: &Expr, end: &Expr, body: &[Stmt]) {
        let signed = self.local_ty(var).as_int().is_some_and(|int| int.signed);
        let first = self.expr(start);
        let first = self.scalar(first);
        let last = self.expr(end);
        let last = self.scalar(last);
        let frame = self.frame.clone().expect("a probe with loops has a frame");
        let word = frame.ranges + 8 * self.cx.next_range;
        self.cx.next_range += 1;
        let start_word = frame.word(&mut self.b, word);
        self.b.store(start_word, 8, first);
        let skip = self.b.label();
        self.b.branch(if signed { Cond::SLe } else { Cond::Le }, last, Operand::Reg(first), skip);
        let count = self.b.copy_reg(last);
        self.b.alu(AluOp::Sub, count, Operand::Reg(first));
        let callback = self.callback(2, |body_fn, args| {
            let start = body_fn.frame.clone().expect("callbacks see the frame").word(&mut body_fn.b, word);
            let value = body_fn.b.load(start, 8);
            body_fn.b.alu(AluOp::Add, value, Operand::Reg(args[0]));
            let ty = body_fn.local_ty(var).clone();
            body_fn.assign_local(var, super::Value::Reg(value), &ty);
            body_fn.stmts(body)
        });
        self.call_loop(helper::LOOP, count, callback, body);
        self.b.place_label(skip);
    }

    /// `for ($var : @map)`: `bpf_for_each_map_elem(map, body)`, the variable the entry's
    /// `(key, value)`.
    /// An aggregation's entry (`count()`, `sum()`, ...) takes its value summed over the CPUs, as
    /// reading `@m[k]` does: the callback only sees this CPU's.
    pub(super) fn for_map(&mut self, var: LocalId, map: MapIdx, body: &[Stmt]) {
        let aggregation = !matches!(self.user_map(map).value, crate::manifest::MapValue::Plain(_));
        let callback = self.callback(4, |body_fn, args| {
            let (key, value) = (args[1], args[2]);
            let Ty::Tuple(fields) = body_fn.local_ty(var).clone() else { unreachable!("sema types a map entry as a tuple") };
            let layout = tuple_layout(&fields);
            let place = match body_fn.locals[var.0 as usize] {
                LocalSlot::Mem(place) => place,
                other => unreachable!("a map entry is a tuple in memory, not {other:?}"),
            };
            body_fn.b.zero(place, layout.size);
            let key_place = Place { base: Base::Ptr(key), offset: 0 };
            body_fn.b.copy(place.at(layout.offsets[0]), key_place, fields[0].size());
            let value_at = place.at(layout.offsets[1]);
            if aggregation {
                let total = body_fn.aggregate_at(map, key_place);
                body_fn.store_value(value_at, &fields[1], total, &fields[1]);
            } else {
                body_fn.b.copy(value_at, Place { base: Base::Ptr(value), offset: 0 }, fields[1].size());
            }
            body_fn.stmts(body)
        });
        let map_reg = self.b.vreg();
        self.b.emit(Insn::LoadMap { dst: map_reg, map: MapId(map.0) });
        self.call_loop(helper::FOR_EACH_MAP_ELEM, map_reg, callback, body);
    }

    /// `while (cond)`: `bpf_loop(WHILE_ITERATIONS, body)`, the body stopping when `cond` is false.
    pub(super) fn while_loop(&mut self, cond: &Expr, body: &[Stmt]) {
        let callback = self.callback(2, |body_fn, _| {
            let stop = body_fn.loop_exits.expect("a loop body has exits").stop;
            body_fn.branch_if_false(cond, stop);
            body_fn.stmts(body)
        });
        let count = self.b.constant(i64::from(WHILE_ITERATIONS));
        self.call_loop(helper::LOOP, count, callback, body);
    }

    /// Calls `helper(first, callback, frame, 0)`; if the body can `return`, returns too when it
    /// did.
    fn call_loop(&mut self, helper: u32, first: Reg, callback: u32, body: &[Stmt]) {
        self.call_with_callback(helper, first, callback);
        if returns(body) {
            let frame = self.frame.clone().expect("a probe with loops has a frame");
            let word = frame.word(&mut self.b, RETURNED);
            let returned = self.b.load(word, 8);
            let exit = self.exit;
            self.b.branch(Cond::Ne, returned, Operand::Imm(0), exit);
        }
    }

    /// For the standard library (`stdlib::Lowering::WithLoop`): runs `body` as a `bpf_loop`
    /// callback `count` times; `body` gets the iteration's index and the label that stops the
    /// loop, and says whether control reaches its end (the next iteration).
    pub(crate) fn run_loop(&mut self, count: Reg, body: impl FnOnce(&mut FnLowerer<'_>, Reg, Label) -> bool) {
        let callback = self.callback(2, |body_fn, args| {
            let stop = body_fn.loop_exits.expect("a loop body has exits").stop;
            body(body_fn, args[0], stop)
        });
        self.call_with_callback(helper::LOOP, count, callback);
    }

    /// For the standard library: runs `body` as a `bpf_for_each_map_elem` callback over the
    /// entries of script map `map`; `body` says whether control reaches its end.
    pub(crate) fn run_map_loop(&mut self, map: MapIdx, body: impl FnOnce(&mut FnLowerer<'_>) -> bool) {
        let callback = self.callback(4, |body_fn, _| body(body_fn));
        let map_reg = self.b.vreg();
        self.b.emit(Insn::LoadMap { dst: map_reg, map: MapId(map.0) });
        self.call_with_callback(helper::FOR_EACH_MAP_ELEM, map_reg, callback);
    }

    /// Calls `helper(first, callback, frame, 0)`: `bpf_loop` or `bpf_for_each_map_elem`.
    pub(super) fn call_with_callback(&mut self, helper: u32, first: Reg, callback: u32) {
        use super::builder::Arg;
        let frame = self.frame.clone().expect("a function with callbacks has a frame");
        let func = self.b.vreg();
        self.b.emit(Insn::LoadFunc { dst: func, func: callback });
        self.b.call(helper, &[Arg::Reg(first), Arg::Reg(func), Arg::Addr(frame.stack), Arg::Imm(0)]);
    }

    /// Builds a loop body as a callback taking `params` arguments, the frame's address last;
    /// `body` lowers the statements given the argument registers and says whether control
    /// reaches their end. Returns the callback's function index.
    pub(super) fn callback(&mut self, params: u8, body: impl FnOnce(&mut FnLowerer<'_>, &[Reg]) -> bool) -> u32 {
        let parent_frame = self.frame.clone().expect("a probe with loops has a frame");
        let name = format!("{}_cb", self.b.func.name);
        let mut b = Builder::new(name);
        b.stack_limit = self.b.stack_limit;
        b.span = self.b.span;
        b.func.params = params;
        b.scratch_size = self.b.scratch_size;
        let args: Vec<Reg> = (0..usize::from(params))
            .map(|i| {
                let reg = b.vreg();
                b.mov(reg, Reg::arg(i));
                reg
            })
            .collect();
        let frame = parent_frame.through(args[args.len() - 1]);
        let ctx = b.load(frame.stack.at(CTX), 8);
        let scratch = b.load(frame.stack.at(SCRATCH), 8);
        b.provide_scratch_base(scratch);
        let prologue_len = b.func.insts.len();
        let dispatched_probe = self.dispatched_probe.map(|_| {
            let word = frame.word(&mut b, PROBE_ID);
            b.load(word, 8)
        });
        let exits = LoopExits { next: b.label(), stop: b.label() };
        let exit = b.label();
        let mut locals = Vec::with_capacity(frame.locals.len());
        for (i, local) in self.probe.locals.iter().enumerate() {
            let Some(place) = frame.local(&mut b, i) else { break };
            locals.push(if local.ty.is_scalar() { LocalSlot::ScalarMem(place) } else { LocalSlot::Mem(place) });
        }
        let mut body_fn = FnLowerer {
            cx: &mut *self.cx,
            b,
            probe: self.probe,
            ctx,
            locals,
            exit,
            prologue_len,
            dispatched_probe,
            frame: Some(frame.clone()),
            loop_exits: Some(exits),
        };
        if body(&mut body_fn, &args) {
            body_fn.b.jump(exits.next);
        }
        body_fn.b.span = self.b.span;
        for (label, returned) in [(exits.next, 0), (exits.stop, 1)] {
            body_fn.b.place_label(label);
            body_fn.b.emit(Insn::Alu64 { op: AluOp::Mov, dst: Reg::R0, src: Operand::Imm(returned) });
            body_fn.b.emit(Insn::Exit);
        }
        body_fn.b.place_label(exit);
        let returned = frame.word(&mut body_fn.b, RETURNED);
        body_fn.b.store_imm(returned, 8, 1);
        body_fn.b.emit(Insn::Alu64 { op: AluOp::Mov, dst: Reg::R0, src: Operand::Imm(1) });
        body_fn.b.emit(Insn::Exit);
        self.b.scratch_size = body_fn.b.scratch_size;
        let function = body_fn.finish();
        self.cx.callbacks.push(function);
        self.cx.callbacks.len() as u32
    }
}
