//! Lowering: checked HIR to LIR, one function per probe, plus the manifest that describes the
//! maps, programs and output actions the functions refer to.
//!
//! Every expression lowers to a `Value`: a register for scalars (integers are kept as canonical
//! 64-bit values, zero- or sign-extended by type), or a memory `Place` for strings and tuples.
//! Values are read-only: an operation always writes a fresh register, so a variable's register
//! is never changed behind its back.

mod actions;
mod buckets;
pub(crate) mod builder;
mod cond;
mod dispatch;
mod expr;
mod loops;
mod memory;
mod maps;
mod percpu;
mod stmt;

use std::collections::{HashMap, HashSet};

use builder::{Arg, Builder, Place};
use dispatch::DispatchLayout;
use crate::catalog::HelperBehaviour;
use crate::lir::{helper, AluOp, Cond, Function, Insn, Mem, Operand, Reg, Size};
use crate::manifest::{
    Action, Attach, BpfMapDef, BpfMapType, KeyStorage, Manifest, MapId, MapRole, MapSpec, MapValue, ProgramSpec, UserMap,
};
use crate::sema::hir::{self, LocalId};
use crate::types::Ty;


/// How many pids the processes map remembers: one evicted is announced again when seen, which
/// costs a record, not a wrong name.
const PROCESSES_KEPT: u32 = 4096;

/// Where an iterator's context holds the object visited: the member after `meta`.
const ITERATED_OBJECT: i16 = 8;

/// The lowered program: per `manifest.programs` entry, in the same order, its LIR functions:
/// the program first, then the loop bodies it passes to helpers as callbacks.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub functions: Vec<Vec<Function>>,
    pub manifest: Manifest,
}

/// A lowered expression.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    Reg(Reg),
    Mem(Place),
    Void,
}

/// Lowers a checked program.
pub fn lower(program: &hir::Program) -> Lowered {
    let mut lowerer = Lowerer::new(program);
    let mut functions = Vec::new();
    let mut programs = Vec::new();
    let mut symbols = Symbols::default();
    for (index, probe) in program.probes.iter().enumerate() {
        let first = &probe.targets[0];
        let symbol = program_symbol(index, &program.probe_names[first.probe_id as usize], &mut symbols);
        let dispatch = probe.dispatch.as_ref().map(|hir| {
            let layout = DispatchLayout::new(hir);
            let map = lowerer.dispatch_map(index, layout.entries());
            (hir, layout, map)
        });
        let func = lowerer.lower_probe(probe, symbol.clone(), dispatch.as_ref());
        let mut program_functions = vec![func];
        program_functions.append(&mut lowerer.callbacks);
        programs.push(ProgramSpec {
            symbol,
            section: (first.attach.provider().section)(&first.attach),
            program_type: first.attach.provider().program,
            targets: probe.targets.clone(),
            dispatch: dispatch.map(|(hir, layout, map)| layout.manifest(hir, map)),
            probe_name: probe.name.clone(),
            attach_points: probe.attach_points,
            span: probe.span,
            insn_spans: Vec::new(),
            callbacks: Vec::new(),
        });
        functions.push(program_functions);
    }
    let mut manifest = lowerer.finish();
    manifest.programs = programs;
    manifest.probe_names = program.probe_names.clone();
    manifest.kernel_facts = program.kernel_facts.clone();
    manifest.params = program.params.clone();
    Lowered { functions, manifest }
}

/// Program-wide state: the manifest's maps and actions as they are discovered.
pub(crate) struct Lowerer {
    maps: Vec<MapSpec>,
    actions: Vec<Action>,
    ringbuf: Option<MapId>,
    scratch: Option<MapId>,
    config: Option<MapId>,
    lost: Option<MapId>,
    zeros: Option<MapId>,
    scratch_size: u32,
    helpers: HelperBehaviour,
    /// ferrotrace's PID namespace, when `pid` and `tid` are seen from one that is not the
    /// initial namespace.
    pid_namespace: Option<crate::catalog::PidNamespace>,
    /// The ids of the cgroups `cgroupid` names.
    cgroup_ids: crate::catalog::CgroupIds,
    /// The addresses of the kernel symbols `kaddr` names.
    kernel_symbols: crate::catalog::KernelSymbols,
    /// `-k`: check what failing helpers return.
    helper_errors: bool,
    /// Where the kernel struct members the probes read are.
    members: crate::catalog::MemberOffsets,
    /// The loop bodies of the program being lowered, as callbacks: `LoadFunc` index `i + 1`.
    callbacks: Vec<Function>,
    /// The next `for` range of the program being lowered, for its start's frame word.
    next_range: u32,
    /// The `getopt` values the config map holds after its fixed words.
    load_params: Vec<crate::manifest::LoadParam>,
    /// The script's configuration.
    settings: crate::config::Config,
}

impl Lowerer {
    fn new(program: &hir::Program) -> Lowerer {
        let mut used = Symbols::default();
        let maps = program.maps.iter().map(|decl| user_map_spec(decl, program.config.max_map_keys, &mut used)).collect();
        Lowerer {
            maps,
            actions: Vec::new(),
            ringbuf: None,
            scratch: None,
            config: None,
            lost: None,
            zeros: None,
            scratch_size: 0,
            helpers: program.helpers,
            pid_namespace: program.pid_namespace,
            cgroup_ids: program.cgroup_ids.clone(),
            kernel_symbols: program.kernel_symbols.clone(),
            helper_errors: program.helper_errors,
            members: program.members.clone(),
            callbacks: Vec::new(),
            next_range: 0,
            settings: program.config.clone(),
            load_params: program.params.clone(),
        }
    }

    fn internal_map(&mut self, symbol: &str, def: BpfMapDef, role: MapRole) -> MapId {
        self.maps.push(MapSpec { symbol: symbol.to_string(), def, role });
        MapId(self.maps.len() as u32 - 1)
    }

    fn ringbuf(&mut self) -> MapId {
        if let Some(id) = self.ringbuf {
            return id;
        }
        let bytes = self.settings.ring_buffer_bytes();
        let def = BpfMapDef { map_type: BpfMapType::RingBuf, key_size: 0, value_size: 0, max_entries: bytes, flags: 0 };
        let id = self.internal_map("ringbuf", def, MapRole::RingBuf);
        self.ringbuf = Some(id);
        id
    }

    fn scratch(&mut self) -> MapId {
        if let Some(id) = self.scratch {
            return id;
        }
        let def = BpfMapDef { map_type: BpfMapType::PercpuArray, key_size: 4, value_size: 8, max_entries: 1, flags: 0 };
        let id = self.internal_map("scratch", def, MapRole::Scratch);
        self.scratch = Some(id);
        id
    }

    fn config(&mut self) -> MapId {
        if let Some(id) = self.config {
            return id;
        }
        let size = crate::manifest::config_layout::size_with(&self.load_params);
        let def = BpfMapDef { map_type: BpfMapType::Array, key_size: 4, value_size: size, max_entries: 1, flags: 0 };
        let id = self.internal_map("config", def, MapRole::Config);
        self.config = Some(id);
        id
    }

    /// The zeros a new `tseries` key starts from, as big as the biggest `tseries` value.
    fn zeros(&mut self) -> MapId {
        if let Some(id) = self.zeros {
            return id;
        }
        let size = self.maps.iter().filter_map(|m| match &m.role {
            MapRole::User(UserMap { value: MapValue::Tseries { .. }, .. }) => Some(m.def.value_size),
            _ => None,
        });
        let def = BpfMapDef { map_type: BpfMapType::Array, key_size: 4, value_size: size.max().unwrap_or(8), max_entries: 1, flags: 0 };
        let id = self.internal_map("zeros", def, MapRole::Zeros);
        self.zeros = Some(id);
        id
    }

    /// The per-CPU count of records the ring buffer had no room for.
    fn lost(&mut self) -> MapId {
        if let Some(id) = self.lost {
            return id;
        }
        let def = BpfMapDef { map_type: BpfMapType::PercpuArray, key_size: 4, value_size: 8, max_entries: 1, flags: 0 };
        let id = self.internal_map("lost", def, MapRole::Lost);
        self.lost = Some(id);
        id
    }

    /// The stack map of stacks of `limit` frames (of build ids and offsets with `build_id`),
    /// shared by every `kstack` and `ustack` of that shape: a stack id indexes it, whichever
    /// probe took the stack.
    pub(crate) fn stack_map(&mut self, limit: u8, build_id: bool) -> MapId {
        let role = MapRole::Stacks { limit, build_id };
        if let Some(i) = self.maps.iter().position(|m| m.role == role) {
            return MapId(i as u32);
        }
        let (frame, flags) = match build_id {
            true => (crate::manifest::BUILD_ID_FRAME_SIZE, crate::manifest::STACK_BUILD_ID_FLAG),
            false => (8, 0),
        };
        let value_size = u32::from(limit) * frame;
        let entries = self.settings.max_map_keys;
        let def = BpfMapDef { map_type: BpfMapType::StackTrace, key_size: 4, value_size, max_entries: entries, flags };
        let symbol = format!("{}stack{limit}", if build_id { "b" } else { "" });
        self.internal_map(&symbol, def, role)
    }

    /// The pids whose user addresses the probes have announced to the runtime.
    pub(crate) fn processes_map(&mut self) -> MapId {
        if let Some(i) = self.maps.iter().position(|m| m.role == MapRole::Processes) {
            return MapId(i as u32);
        }
        let def = BpfMapDef { map_type: BpfMapType::LruHash, key_size: 4, value_size: 1, max_entries: PROCESSES_KEPT, flags: 0 };
        self.internal_map("processes", def, MapRole::Processes)
    }

    /// A dispatched program's syscall table: `u32` keys to `u32` probe ids plus one.
    fn dispatch_map(&mut self, program: usize, entries: u32) -> MapId {
        let def = BpfMapDef { map_type: BpfMapType::Array, key_size: 4, value_size: 4, max_entries: entries, flags: 0 };
        self.internal_map(&format!("dispatch{program}"), def, MapRole::SyscallDispatch)
    }

    fn action(&mut self, action: Action) -> u32 {
        if let Some(i) = self.actions.iter().position(|a| *a == action) {
            return i as u32;
        }
        self.actions.push(action);
        self.actions.len() as u32 - 1
    }

    fn finish(mut self) -> Manifest {
        if let Some(id) = self.scratch {
            self.maps[id.0 as usize].def.value_size = self.scratch_size.max(8);
        }
        let settings = (&self.settings).into();
        Manifest { maps: self.maps, actions: self.actions, settings, ..Manifest::default() }
    }

    fn lower_probe(
        &mut self,
        probe: &hir::Probe,
        symbol: String,
        dispatch: Option<&(&hir::SyscallDispatch, DispatchLayout, MapId)>,
    ) -> Function {
        self.next_range = 0;
        let mut f = FnLowerer::new(self, probe, symbol);
        if let Some((hir, layout, map)) = dispatch {
            f.dispatch_prologue(hir, layout, *map);
            f.prologue_len = f.b.func.insts.len();
        }
        f.lower_body();
        f.finish()
    }
}

/// Where a local variable lives.
#[derive(Debug, Clone, Copy)]
enum LocalSlot {
    Reg(Reg),
    Mem(Place),
    /// A scalar kept in memory, so that loop bodies (other functions) see it: its canonical
    /// 64-bit value, exactly what a register would hold, loaded on each read and stored on
    /// each write.
    ScalarMem(Place),
}

/// The state of lowering one function of a probe program: the program itself or a loop body.
pub(crate) struct FnLowerer<'l> {
    cx: &'l mut Lowerer,
    b: Builder,
    probe: &'l hir::Probe,
    ctx: Reg,
    locals: Vec<LocalSlot>,
    /// Where control goes to leave the probe: the program's return, or in a loop body, the
    /// code that tells the enclosing functions to return too.
    exit: crate::lir::Label,
    /// Instructions before the body: the context's copy, and a dispatched program's prologue.
    /// Per-program setup found later (the scratch lookup) goes after them.
    prologue_len: usize,
    /// In a dispatched program, the register holding the fired target's probe id.
    dispatched_probe: Option<Reg>,
    /// In a probe with loops, the memory its functions share (`loops::Frame`).
    frame: Option<loops::Frame>,
    /// In a loop body: where `continue` and `break` go.
    loop_exits: Option<loops::LoopExits>,
}

impl<'l> FnLowerer<'l> {
    fn new(cx: &'l mut Lowerer, probe: &'l hir::Probe, symbol: String) -> FnLowerer<'l> {
        let mut b = Builder::new(symbol);
        b.stack_limit = cx.settings.on_stack_limit;
        b.span = probe.span;
        let ctx = b.vreg();
        b.mov(ctx, Reg::R1);
        let exit = b.label();
        let loops = probe.body.iter().any(hir::Stmt::has_loop);
        let frame = (loops || percpu::runs_callbacks(probe)).then(|| loops::Frame::new(&mut b, probe, loops));
        let mut locals = Vec::with_capacity(probe.locals.len());
        for (i, local) in probe.locals.iter().enumerate() {
            let shared = frame.as_ref().and_then(|frame| frame.local(&mut b, i));
            locals.push(match shared {
                Some(place) if local.ty.is_scalar() => LocalSlot::ScalarMem(place),
                Some(place) => LocalSlot::Mem(place),
                None if local.ty.is_scalar() => LocalSlot::Reg(b.vreg()),
                None => LocalSlot::Mem(b.alloc(local.ty.size())),
            });
        }
        let prologue_len = b.func.insts.len();
        FnLowerer { cx, b, probe, ctx, locals, exit, prologue_len, dispatched_probe: None, frame, loop_exits: None }
    }

    fn lower_body(&mut self) {
        self.init_frame();
        self.init_locals();
        if matches!(self.probe.targets.first().map(|target| &target.attach), Some(Attach::Iter { .. })) {
            self.skip_iteration_end();
        }
        if let Some(predicate) = &self.probe.predicate {
            self.b.span = predicate.span;
            let exit = self.exit;
            self.branch_if_false(predicate, exit);
        }
        let body = &self.probe.body;
        self.stmts(body);
        self.b.span = self.probe.span;
        let exit = self.exit;
        self.b.place_label(exit);
        self.b.emit(Insn::Alu64 { op: AluOp::Mov, dst: Reg::R0, src: Operand::Imm(0) });
        self.b.emit(Insn::Exit);
    }

    /// An iterator's program runs once more after the last object, with a null object (the
    /// context's member after `meta`), to mark the end; like bpftrace, the probe skips that run.
    fn skip_iteration_end(&mut self) {
        let object = self.b.vreg();
        self.b.emit(Insn::Load { size: Size::DW, dst: object, mem: Mem::Reg(self.ctx, ITERATED_OBJECT) });
        let exit = self.exit;
        self.b.branch(Cond::Eq, object, Operand::Imm(0), exit);
    }

    /// Zeroes the locals whose first mention is not an assignment at the top of the body, so
    /// that every path reads a defined value.
    fn init_locals(&mut self) {
        for (i, local) in self.probe.locals.iter().enumerate() {
            if assigned_before_use(&self.probe.body, LocalId(i as u32)) {
                continue;
            }
            match self.locals[i] {
                LocalSlot::Reg(reg) => self.b.set_constant(reg, 0),
                LocalSlot::Mem(place) => self.b.zero(place, local.ty.size()),
                LocalSlot::ScalarMem(place) => self.b.store_imm(place, 8, 0),
            }
        }
    }

    /// Inserts the scratch-base lookup at entry if the body used scratch memory.
    fn finish(mut self) -> Function {
        if let Some(base) = self.b.uses_scratch() {
            let map = self.cx.scratch();
            let body = std::mem::take(&mut self.b.func.insts);
            let (entry, rest) = body.split_at(self.prologue_len);
            self.b.func.insts = entry.to_vec();
            self.b.span = self.probe.span;
            let key = self.b.alloc(4);
            self.b.store_imm(key, 4, 0);
            let ptr = self.b.call(helper::MAP_LOOKUP_ELEM, &[Arg::Map(map), Arg::Addr(key)]);
            let exit = self.exit;
            self.b.branch(Cond::Eq, ptr, Operand::Imm(0), exit);
            self.b.mov(base, ptr);
            self.b.func.insts.extend_from_slice(rest);
            self.cx.scratch_size = self.cx.scratch_size.max(self.b.scratch_size);
        }
        crate::lir::dce::remove_unreachable(&mut self.b.func);
        self.b.func
    }

    // ---- what the standard library's lowerings use (`crate::stdlib`) ----

    /// The instruction builder of the function being lowered.
    pub(crate) fn builder(&mut self) -> &mut Builder {
        &mut self.b
    }

    /// Lowers `e` to a value.
    pub(crate) fn value(&mut self, e: &hir::Expr) -> Value {
        self.expr(e)
    }

    /// `value` in a register (a scalar, or the first word of memory).
    pub(crate) fn register(&mut self, value: Value) -> Reg {
        self.scalar(value)
    }

    /// `value` of type `from` in memory laid out as `ty`.
    pub(crate) fn in_memory(&mut self, value: Value, from: &Ty, ty: &Ty) -> Place {
        self.materialize(value, from, ty)
    }

    /// `reg += ` where `member` is in its kernel struct (checking made sure the catalog knew),
    /// tagged for a CO-RE relocation when its struct is the kernel's.
    pub(crate) fn add_member_offset(&mut self, reg: Reg, member: crate::catalog::KernelMember) {
        let offset = self.cx.members.get(member).unwrap_or_else(|| unreachable!("checking resolved `{member}`"));
        let add = crate::lir::Insn::Alu64 { op: crate::lir::AluOp::Add, dst: reg, src: crate::lir::Operand::Imm(offset as i32) };
        match self.cx.members.access(member) {
            Some(access) => self.b.emit_relocated(add, &access),
            None => self.b.emit(add),
        }
    }

    /// The id of the cgroup at `path` (checking made sure the catalog knew).
    pub(crate) fn cgroup_id(&self, path: &str) -> u64 {
        self.cx.cgroup_ids.get(path).unwrap_or_else(|| unreachable!("checking resolved cgroup `{path}`"))
    }

    /// The address of kernel symbol `name` (checking made sure the catalog knew).
    pub(crate) fn kernel_symbol(&self, name: &str) -> u64 {
        self.cx.kernel_symbols.get(name).unwrap_or_else(|| unreachable!("checking resolved kernel symbol `{name}`"))
    }

    /// The register holding the program's context (`pt_regs`, the tracepoint record, ...).
    pub(crate) fn context(&self) -> Reg {
        self.ctx
    }

    /// The stack map of stacks of `limit` frames (see `Lowerer::stack_map`).
    pub(crate) fn stack_map(&mut self, limit: u8, build_id: bool) -> MapId {
        self.cx.stack_map(limit, build_id)
    }

    /// The size of strings read from memory (`max_strlen`).
    pub(crate) fn string_size(&self) -> u32 {
        self.cx.settings.max_strlen
    }

    /// The packed key of `@map[key]` in memory.
    pub(crate) fn key_of(&mut self, map: hir::MapIdx, key: Option<&hir::Expr>) -> Place {
        self.map_key(map, key, None)
    }

    // ---- shared helpers for the lowering modules ----

    fn scalar(&mut self, value: Value) -> Reg {
        match value {
            Value::Reg(reg) => reg,
            Value::Mem(place) => self.b.load(place, 8),
            Value::Void => self.b.constant(0),
        }
    }

    /// Loads a scalar of type `ty` from memory, extending it to a canonical 64-bit value.
    fn load_scalar(&mut self, place: Place, ty: &Ty) -> Reg {
        let size = ty.size();
        let reg = self.b.load(place, size);
        if let Some(int) = ty.as_int() {
            if int.signed && int.bits < 64 {
                let shift = i32::from(64 - int.bits);
                self.b.alu(AluOp::Lsh, reg, Operand::Imm(shift));
                self.b.alu(AluOp::Arsh, reg, Operand::Imm(shift));
            }
        }
        reg
    }

    /// Stores `value` (of type `from`) into `dst` laid out as type `to` (same kind, maybe wider).
    fn store_value(&mut self, dst: Place, to: &Ty, value: Value, from: &Ty) {
        match (to, value) {
            (Ty::Tuple(_) | Ty::Record(_), Value::Mem(src)) => {
                let Some(to_fields) = to.fields() else { return };
                let Some(from_fields) = from.fields() else { return };
                let to_layout = crate::types::tuple_layout(to_fields);
                let from_layout = crate::types::tuple_layout(from_fields);
                for (i, t) in to_fields.iter().enumerate() {
                    // A record's fields are matched by name: their order may differ.
                    let j = match (to, from) {
                        (Ty::Record(to_record), Ty::Record(from_record)) => {
                            from_record.names.iter().position(|n| *n == to_record.names[i]).unwrap_or(i)
                        }
                        _ => i,
                    };
                    let f = &from_fields[j];
                    let src_field = src.at(from_layout.offsets[j]);
                    let field_value = if f.is_scalar() { Value::Reg(self.load_scalar(src_field, f)) } else { Value::Mem(src_field) };
                    self.store_value(dst.at(to_layout.offsets[i]), t, field_value, f);
                }
                self.zero_padding(dst, to_fields);
            }
            (Ty::Str(_) | Ty::Buffer(_) | Ty::Address(_), Value::Mem(src)) => {
                // Bytes, zero after the source's end: a string's after its NUL, a buffer's
                // after its used bytes (its count says how many).
                let to_size = &to.size();
                let from_size = from.size().min(*to_size);
                self.b.copy(dst, src, from_size);
                if *to_size > from_size {
                    self.b.zero(dst.at(from_size), to_size - from_size);
                }
            }
            (_, value) => {
                let reg = self.scalar(value);
                self.b.store(dst, to.size(), reg);
            }
        }
    }

    /// Puts a value in memory laid out as `ty` (for keys, map values and records).
    fn materialize(&mut self, value: Value, from: &Ty, ty: &Ty) -> Place {
        if let (Value::Mem(place), true) = (value, from == ty) {
            return place;
        }
        let place = self.b.alloc(ty.size());
        self.store_value(place, ty, value, from);
        place
    }

    /// Clears the bytes between the fields of a tuple at `dst` and after the last one: equal
    /// tuples must have equal bytes, as map keys and in comparisons.
    fn zero_padding(&mut self, dst: Place, fields: &[Ty]) {
        let layout = crate::types::tuple_layout(fields);
        let ends = fields.iter().zip(&layout.offsets).map(|(field, offset)| offset + field.size());
        let starts = layout.offsets.iter().skip(1).copied().chain([layout.size]);
        for (end, next) in ends.zip(starts) {
            if next > end {
                self.b.zero(dst.at(end), next - end);
            }
        }
    }

    fn local_value(&mut self, id: LocalId) -> Value {
        match self.locals[id.0 as usize] {
            LocalSlot::Reg(reg) => Value::Reg(reg),
            LocalSlot::Mem(place) => Value::Mem(place),
            LocalSlot::ScalarMem(place) => Value::Reg(self.b.load(place, 8)),
        }
    }

    /// Gives local `id` the value `v` of type `from`.
    fn assign_local(&mut self, id: LocalId, v: Value, from: &Ty) {
        match self.locals[id.0 as usize] {
            LocalSlot::Reg(reg) => {
                let src = self.scalar(v);
                self.b.mov(reg, src);
            }
            LocalSlot::ScalarMem(place) => {
                let src = self.scalar(v);
                self.b.store(place, 8, src);
            }
            LocalSlot::Mem(place) => {
                let ty = self.local_ty(id);
                self.store_value(place, ty, v, from);
            }
        }
    }

    fn local_ty(&self, id: LocalId) -> &'l Ty {
        &self.probe.locals[id.0 as usize].ty
    }
}

/// Whether the first statement of `body` that mentions local `id` is a top-level assignment
/// that does not read it: then every later read sees a defined value.
fn assigned_before_use(body: &[hir::Stmt], id: LocalId) -> bool {
    match body.iter().find(|s| s.mentions_local(id)) {
        Some(hir::Stmt { kind: hir::StmtKind::AssignLocal { local, value }, .. }) => *local == id && !value.mentions_local(id),
        _ => false,
    }
}

/// The kernel map definition and manifest entry of a script map.
fn user_map_spec(decl: &hir::MapDecl, max_map_keys: u32, used: &mut Symbols) -> MapSpec {
    // `@m[(a, b)]` is `@m[a, b]`; a one-field tuple stays whole, so that the key's type comes
    // back the same from `map_key` (one field is the key itself).
    let key: Vec<Ty> = match decl.key.as_slice() {
        [Ty::Tuple(fields)] if fields.len() > 1 => fields.clone(),
        other => other.to_vec(),
    };
    let key_size = crate::types::tuple_layout(&key).size;
    let keyed = !key.is_empty();
    let (map_type, storage, key_size, max_entries) = match &decl.value {
        MapValue::Plain(_) => (BpfMapType::Hash, if keyed { KeyStorage::Packed } else { KeyStorage::Scalar }, key_size.max(8), max_map_keys),
        MapValue::Hist { k } if !keyed => (BpfMapType::PercpuArray, KeyStorage::BucketIndex, 4, crate::buckets::hist_bucket_count(*k) as u32),
        MapValue::Lhist { min, max, step } if !keyed => {
            (BpfMapType::PercpuArray, KeyStorage::BucketIndex, 4, crate::buckets::lhist_bucket_count(*min, *max, *step) as u32)
        }
        MapValue::Hist { .. } | MapValue::Lhist { .. } => {
            (BpfMapType::PercpuHash, KeyStorage::PackedWithBucket, key_size.div_ceil(8) * 8 + 8, max_map_keys * 16)
        }
        _ if keyed => (BpfMapType::PercpuHash, KeyStorage::Packed, key_size, max_map_keys),
        _ => (BpfMapType::PercpuArray, KeyStorage::Scalar, 4, 1),
    };
    let (map_type, max_entries) = match decl.declared {
        // A declaration sets a keyed map's kind and size; a bucketed histogram needs an entry per
        // key and bucket, as it does undeclared.
        Some(declared) if keyed && storage == KeyStorage::PackedWithBucket => (declared.map_type, declared.entries.saturating_mul(16)),
        Some(declared) if keyed => (declared.map_type, declared.entries),
        _ => (map_type, max_entries),
    };
    let value_size = decl.value.size();
    MapSpec {
        symbol: map_symbol(&decl.name, used),
        def: BpfMapDef { map_type, key_size, value_size, max_entries, flags: 0 },
        role: MapRole::User(UserMap { name: decl.name.clone(), key, value: decl.value.clone(), storage }),
    }
}

/// `AT_name`, shortened to the kernel's 15 bytes and made unique.
fn map_symbol(name: &str, used: &mut Symbols) -> String {
    let clean: String = name.trim_start_matches('@').chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    used.unique(&format!("AT_{clean}"))
}

/// `p<index>_<short name>`, at most 15 bytes, unique.
fn program_symbol(index: usize, probe_name: &str, used: &mut Symbols) -> String {
    let tail = probe_name.rsplit(':').next().unwrap_or(probe_name);
    let clean: String = tail.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    used.unique(&format!("p{index}_{clean}"))
}

/// Symbol names handed out so far, and for each 15-byte base the next suffix to try.
#[derive(Default)]
struct Symbols {
    used: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

impl Symbols {
    /// `wanted` cut to 15 bytes; if another symbol already has that name, the first free `_2`,
    /// `_3`, ... replaces its tail. Each base remembers where its search stopped, so a thousand
    /// maps whose names agree in their first 15 bytes cost linear time.
    fn unique(&mut self, wanted: &str) -> String {
        let base: String = wanted.chars().take(15).collect();
        if self.used.insert(base.clone()) {
            return base;
        }
        let n = self.next_suffix.entry(base.clone()).or_insert(2);
        loop {
            let suffix = format!("_{n}");
            *n += 1;
            let candidate = base.chars().take(15 - suffix.len()).collect::<String>() + &suffix;
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{map_symbol, Symbols};

    #[test]
    fn map_symbols_stay_unique_when_names_are_cut_to_15_bytes() {
        let mut used = Symbols::default();
        let names = ["@read_bytes_4", "@read_bytes_40", "@read_bytes_2", "@read_bytes_41", "@read_bytes_2_"];
        let symbols: Vec<String> = names.iter().map(|name| map_symbol(name, &mut used)).collect();
        assert_eq!(symbols, ["AT_read_bytes_4", "AT_read_bytes_2", "AT_read_bytes_3", "AT_read_bytes_5", "AT_read_bytes_6"]);
    }
}
