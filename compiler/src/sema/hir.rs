//! HIR: the checked program. Names are resolved to ids, sugar is gone (compound assignments,
//! attach-point aliases, wildcards), and every expression has a concrete type.
//!
//! A `hir::Program` is only built by `sema::check`, and only when checking found no error; that
//! is the proof lowering relies on: no `Ty::Error` and no unresolved name reaches it.

use crate::catalog::{CgroupIds, CompatFlag, HelperBehaviour, PidNamespace, TracepointField};
use crate::manifest::{MapValue, Target};
use crate::pt_regs::Register;
use crate::span::Span;
use crate::syntax::ast::{BinOp, UnaryOp};
use crate::types::{IntTy, Ty};

/// Index into `Program::maps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MapIdx(pub u32);

/// Index into `Probe::locals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalId(pub u32);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// One probe per attach point after wildcard expansion, in script order, except that
    /// tracepoints of one block whose checked bodies are identical share one probe.
    pub probes: Vec<Probe>,
    pub maps: Vec<MapDecl>,
    /// Names of the probes, indexed by `Probe::probe_id` (what the `probe` builtin yields).
    pub probe_names: Vec<String>,
    /// How the kernel's helpers behave, as far as the program's lowering depends on it.
    pub helpers: HelperBehaviour,
    /// ferrotrace's PID namespace when it is not the initial one and the script reads `pid` or
    /// `tid` in it.
    pub pid_namespace: Option<PidNamespace>,
    /// The ids of the cgroups `cgroupid` names.
    pub cgroup_ids: CgroupIds,
    /// The addresses of the kernel symbols `kaddr` names.
    pub kernel_symbols: crate::catalog::KernelSymbols,
    /// `-k`: report helpers that fail.
    pub helper_errors: bool,
    /// Where the kernel struct members the probes read are.
    pub members: crate::catalog::MemberOffsets,
    /// What the probes take for granted about the kernel's types.
    pub kernel_facts: crate::kernel_facts::KernelFacts,
    /// The named parameters the script declares with `getopt`.
    pub options: Vec<super::ScriptOption>,
    /// The options read from the config map as the probes run (`ExprKind::LoadParam`).
    pub params: Vec<crate::manifest::LoadParam>,
    /// The script's configuration, the environment applied.
    pub config: crate::config::Config,
}

/// A script map with its final key and value types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDecl {
    /// With the `@`.
    pub name: String,
    /// Key fields; empty for a keyless map. Integers are stored as 64 bits.
    pub key: Vec<Ty>,
    pub value: MapValue,
    /// Where the map is first used, for messages.
    pub span: Span,
    /// The kind and size a `let @m = kind(n);` gave it.
    pub declared: Option<DeclaredMap>,
}

/// A map's declaration: its kernel map type and entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredMap {
    pub map_type: crate::manifest::BpfMapType,
    pub entries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Where the probe attaches: one target, or several tracepoints that share this program
    /// because their checked bodies came out identical.
    pub targets: Vec<Target>,
    /// The probe's name for messages and listings: the probe's own name, or for shared
    /// tracepoints the attach points as written.
    pub name: String,
    /// How many attach points, as written, the targets come from.
    pub attach_points: u32,
    /// The (first) attach point in the script.
    pub span: Span,
    pub predicate: Option<Expr>,
    pub body: Vec<Stmt>,
    /// The probe's `$variables` with their final types.
    pub locals: Vec<Local>,
    /// Whether the probe's context is a tracepoint record whose pointers are user addresses.
    pub user_pointers: bool,
    /// Set when the targets are `syscalls:` tracepoints served through `raw_syscalls`.
    pub dispatch: Option<SyscallDispatch>,
}

/// How a program serving many `syscalls:` tracepoints runs: attached to `raw_syscalls:sys_enter`
/// and/or `sys_exit`, it looks the record's syscall number up to find which target fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallDispatch {
    /// For each of the probe's targets, in order: its syscall number and direction.
    pub syscalls: Vec<(u32, SyscallDirection)>,
    /// The `raw_syscalls:sys_enter` event id, when some target is a `sys_enter_` tracepoint.
    pub enter_event: Option<u32>,
    /// The `raw_syscalls:sys_exit` event id, when some target is a `sys_exit_` tracepoint.
    pub exit_event: Option<u32>,
    /// Native syscall numbers are below this; records with others are not for any target.
    pub number_limit: u32,
    /// How to recognise a compat syscall, which no `syscalls:` tracepoint reports.
    pub compat: CompatFlag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallDirection {
    Enter,
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub name: String,
    pub ty: Ty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    /// An expression evaluated for its effect.
    Expr(Expr),
    /// `$x = value` (value already has the local's type or converts to it).
    AssignLocal { local: LocalId, value: Expr },
    /// `@m[key] = value` for a plain map.
    AssignMap { map: MapIdx, key: Option<Expr>, value: Expr },
    /// `@m[key] = count()` and the other aggregations; `arg` is the aggregated value.
    Aggregate { map: MapIdx, key: Option<Expr>, arg: Option<Expr> },
    If { cond: Expr, then_body: Vec<Stmt>, else_body: Vec<Stmt> },
    /// `return [value]`: the probe ends, its program returning `value` (0 without one).
    Return(Option<Expr>),
    Block(Vec<Stmt>),
    /// `for ($var : start..end)`: `var` takes each value from `start` up to `end`, exclusive.
    ForRange { var: LocalId, start: Expr, end: Expr, body: Vec<Stmt> },
    /// `for ($var : @map)`: `var` is each `(key, value)` of the map, in the kernel's order.
    ForMap { var: LocalId, map: MapIdx, body: Vec<Stmt> },
    /// `while (cond)`: at most `WHILE_ITERATIONS` times.
    While { cond: Expr, body: Vec<Stmt> },
    /// `break` out of, or `continue` with, the innermost loop.
    Break,
    Continue,
}

/// How often a `while` loop may run at most: `bpf_loop`'s limit (`BPF_MAX_LOOPS`).
pub const WHILE_ITERATIONS: u32 = 1 << 23;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub span: Span,
}

/// The context-free builtins (`pid`, `comm`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `pid` and `tid`: as seen from ferrotrace's PID namespace (`curr_ns`, the default).
    Pid,
    Tid,
    /// `pid(init)` and `tid(init)`: as seen from the initial PID namespace.
    InitPid,
    InitTid,
    Uid,
    Gid,
    Comm,
    /// `nsecs`: boot-time nanoseconds (bpftrace's default clock).
    Nsecs,
    /// Nanoseconds since ferrotrace started.
    Elapsed,
    Cpu,
    Rand,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// An integer constant, as its 64-bit two's complement bits.
    Int(u64),
    /// A string constant (no NUL; the type's size leaves room for it).
    Str(Vec<u8>),
    Bool(bool),
    Builtin(Builtin),
    /// The `probe` builtin: which of the program's targets fired.
    ProbeName,
    Local(LocalId),
    /// `@m[key]` read as a value; a missing key reads as zero.
    MapRead { map: MapIdx, key: Option<Box<Expr>> },
    /// The value of a `count()`, `sum()`, `min()`, `max()` or `avg()` map read in a probe: its
    /// per-CPU values combined, as printing the map would.
    AggregateRead { map: MapIdx, key: Option<Box<Expr>> },
    /// The value of `getopt` option `params[index]`, read from the config map where the
    /// runtime put it when the object loaded.
    LoadParam(u32),
    /// `args.field` of a tracepoint record.
    /// Boxed: a field description is big next to the other kinds.
    TracepointField(Box<TracepointField>),
    /// `arg0`..`arg5` or `retval` of a kprobe: a 64-bit register read from its `pt_regs`.
    Register(Register),
    /// Word `N` of a context that is an array of `u64` arguments (a raw tracepoint's, or an
    /// fentry or fexit probe's, whose last word is the return value): `args.name`, `argN`.
    ArgumentWord(u32),
    /// The value of the expression's type at `ptr + offset` in kernel (or, when `user`, the
    /// traced process's) memory: a pointer's field (`p->f`), `*p`, an array element. Reads that
    /// fail give zeroes. A struct (`Ty::Struct`) is never read whole: it is only a place whose
    /// fields are read. `member` when the read is exactly one member of a kernel struct (not a
    /// bitfield's bytes, not an array element): such a read through a pointer whose kernel type
    /// the verifier knows may be a plain load. `field`, when `offset` is exactly a chain of
    /// kernel struct members from the struct `ptr` points to: the instruction holding the
    /// offset is tagged with it, so that a pack can be moved to another kernel (`co_re`).
    Deref { ptr: Box<Expr>, offset: u32, user: bool, member: bool, field: Option<Box<crate::co_re::FieldAccess>> },
    /// `argN` of a usdt probe: a register, a constant or user memory, as its note says.
    UsdtArgument(crate::usdt::UsdtArgument),
    /// `str(ptr[, size])`: read a NUL-terminated string; the result's type says the buffer size.
    ReadStr { ptr: Box<Expr>, size: Option<Box<Expr>>, user: bool },
    Unary { op: UnaryOp, expr: Box<Expr> },
    /// Integer arithmetic, bitwise ops and comparisons; `signed` picks the signed instruction
    /// (division, remainder, right shift, ordering).
    Binary { op: BinOp, lhs: Box<Expr>, rhs: Box<Expr>, signed: bool },
    /// `&&` / `||`, short-circuiting.
    Logical { and: bool, lhs: Box<Expr>, rhs: Box<Expr> },
    /// `==` / `!=` on strings.
    StrEq { lhs: Box<Expr>, rhs: Box<Expr>, negate: bool },
    /// `==` / `!=` on tuples or records, both compared as `common`: field by field, records by
    /// name.
    TupleEq { lhs: Box<Expr>, rhs: Box<Expr>, common: Ty, negate: bool },
    Ternary { cond: Box<Expr>, then_expr: Box<Expr>, else_expr: Box<Expr> },
    /// A tuple, or a record: its type says which, and its items are in the type's field order.
    Tuple(Vec<Expr>),
    TupleIndex { expr: Box<Expr>, index: usize },
    /// `s[i]`: the byte of a string at an unsigned index (a constant one is in bounds; a
    /// computed one past the end reads 0).
    StrIndex { expr: Box<Expr>, index: Box<Expr> },
    /// An integer cast: truncate to `to` and re-extend by its signedness.
    Cast { to: IntTy, expr: Box<Expr> },
    /// The same bytes as another type of the same size: an integer as an array of smaller
    /// integers (`(uint8[8])x`) or such an array as an integer; the expression's type says which.
    Bitcast(Box<Expr>),
    /// Element `index` (a constant, in bounds) of an array held as a value (in a variable, a
    /// map, a cast's result), as opposed to one in kernel memory (a `Deref`).
    ArrayElement { expr: Box<Expr>, index: u32 },
    /// `$x++`, `--@m[k]`, ...: `target` is a `Local` or `MapRead`.
    IncDec { target: Box<Expr>, increment: bool, prefix: bool },
    /// An action sent to userspace through the ring buffer.
    /// Boxed: the biggest kind, and rare next to operators and reads.
    Action(Box<Action>),
    /// `delete(@m, key)`: true if the key existed.
    Delete { map: MapIdx, key: Option<Box<Expr>> },
    /// `{ statements; value }`: the statements run, then the value (none: `Ty::Void`).
    Block { stmts: Vec<Stmt>, value: Option<Box<Expr>> },
    /// A call of the standard library function named `func`, lowered by its registry entry;
    /// `map` is the map a map function works on.
    Call { func: &'static str, map: Option<MapIdx>, args: Vec<Expr> },
}

/// Async actions, each matching a `manifest::Action`; and `printf` in an iterator probe, which
/// the kernel formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Printf { format: Vec<crate::printf::FormatPiece>, args: Vec<Expr>, stream: crate::manifest::Stream },
    /// `printf` in an iterator probe: `bpf_seq_printf` writes it into the iterator's output,
    /// which whoever reads the iterator gets (ferrotrace, or a reader of its pinned file).
    /// `format` is the kernel's format string, NUL-terminated.
    SeqPrintf { format: Vec<u8>, args: Vec<Expr> },
    PrintValue(Box<Expr>),
    PrintMap { map: MapIdx, top: u64, div: u64 },
    Clear(MapIdx),
    Zero(MapIdx),
    Exit(Option<Box<Expr>>),
    /// The uprobe of a `watchpoint:function+argN` probe: report `address` so that the runtime
    /// attaches the watchpoint of probe `probe` there, stopping the process first when `stop`.
    Watch { address: Box<Expr>, probe: u32, stop: bool },
}

impl Expr {
    pub fn new(kind: ExprKind, ty: Ty, span: Span) -> Expr {
        Expr { kind, ty, span }
    }
}

impl Expr {
    /// Calls `f` on this expression and every expression inside it.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        let mut each = |e: &Expr| e.walk(f);
        match &self.kind {
            ExprKind::Int(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Builtin(_)
            | ExprKind::ProbeName
            | ExprKind::Local(_)
            | ExprKind::TracepointField(_)
            | ExprKind::Register(_)
            | ExprKind::ArgumentWord(_)
            | ExprKind::LoadParam(_)
            | ExprKind::UsdtArgument(_) => {}
            ExprKind::MapRead { key, .. } | ExprKind::AggregateRead { key, .. } | ExprKind::Delete { key, .. } => {
                key.iter().for_each(|k| each(k))
            }
            ExprKind::ReadStr { ptr, size, .. } => {
                each(ptr);
                size.iter().for_each(|s| each(s));
            }
            ExprKind::Unary { expr, .. }
            | ExprKind::TupleIndex { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::Bitcast(expr)
            | ExprKind::ArrayElement { expr, .. }
            | ExprKind::Deref { ptr: expr, .. } => each(expr),
            ExprKind::IncDec { target, .. } => each(target),
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Logical { lhs, rhs, .. } | ExprKind::StrEq { lhs, rhs, .. }
            | ExprKind::TupleEq { lhs, rhs, .. }
            | ExprKind::StrIndex { expr: lhs, index: rhs } => {
                each(lhs);
                each(rhs);
            }
            ExprKind::Ternary { cond, then_expr, else_expr } => {
                each(cond);
                each(then_expr);
                each(else_expr);
            }
            ExprKind::Tuple(items) | ExprKind::Call { args: items, .. } => items.iter().for_each(each),
            ExprKind::Block { stmts, value } => {
                stmts.iter().for_each(|s| s.walk_exprs(&mut *f));
                value.iter().for_each(|v| v.walk(&mut *f));
            }
            ExprKind::Action(action) => match &**action {
                Action::Printf { args, .. } | Action::SeqPrintf { args, .. } => args.iter().for_each(each),
                Action::PrintValue(e) | Action::Watch { address: e, .. } => each(e),
                Action::Exit(code) => code.iter().for_each(|c| each(c)),
                Action::PrintMap { .. } | Action::Clear(_) | Action::Zero(_) => {}
            },
        }
    }

    /// Whether this expression reads local `id`.
    pub fn mentions_local(&self, id: LocalId) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e.kind, ExprKind::Local(l) if l == id));
        found
    }
}

impl Stmt {
    /// Calls `f` on every expression in this statement and the statements nested in it.
    pub fn walk_exprs(&self, f: &mut impl FnMut(&Expr)) {
        let mut each = |e: &Expr| e.walk(f);
        match &self.kind {
            StmtKind::Expr(e) => each(e),
            StmtKind::AssignLocal { value, .. } => each(value),
            StmtKind::AssignMap { key, value, .. } => {
                key.iter().for_each(&mut each);
                each(value);
            }
            StmtKind::Aggregate { key, arg, .. } => key.iter().chain(arg).for_each(each),
            StmtKind::If { cond, then_body, else_body } => {
                each(cond);
                then_body.iter().chain(else_body).for_each(|s| s.walk_exprs(f));
            }
            StmtKind::Return(value) => value.iter().for_each(each),
            StmtKind::Break | StmtKind::Continue => {}
            StmtKind::Block(body) | StmtKind::ForMap { body, .. } => body.iter().for_each(|s| s.walk_exprs(f)),
            StmtKind::ForRange { start, end, body, .. } => {
                each(start);
                each(end);
                body.iter().for_each(|s| s.walk_exprs(f));
            }
            StmtKind::While { cond, body } => {
                each(cond);
                body.iter().for_each(|s| s.walk_exprs(f));
            }
        }
    }

    /// Whether this statement (or anything nested in it) reads or writes local `id`.
    pub fn mentions_local(&self, id: LocalId) -> bool {
        let mut found = self.assigns_local(id);
        self.walk_exprs(&mut |e| found |= matches!(e.kind, ExprKind::Local(l) if l == id));
        found
    }

    /// Whether this statement or one nested in it gives local `id` a value.
    fn assigns_local(&self, id: LocalId) -> bool {
        match &self.kind {
            StmtKind::AssignLocal { local, .. } => *local == id,
            StmtKind::ForRange { var, body, .. } | StmtKind::ForMap { var, body, .. } => {
                *var == id || body.iter().any(|s| s.assigns_local(id))
            }
            StmtKind::If { then_body, else_body, .. } => then_body.iter().chain(else_body).any(|s| s.assigns_local(id)),
            StmtKind::Block(body) | StmtKind::While { body, .. } => body.iter().any(|s| s.assigns_local(id)),
            _ => false,
        }
    }

    /// Whether this statement is or holds a loop (in a block expression too).
    pub fn has_loop(&self) -> bool {
        match &self.kind {
            StmtKind::ForRange { .. } | StmtKind::ForMap { .. } | StmtKind::While { .. } => return true,
            StmtKind::If { then_body, else_body, .. } if then_body.iter().chain(else_body).any(Stmt::has_loop) => return true,
            StmtKind::Block(body) if body.iter().any(Stmt::has_loop) => return true,
            _ => {}
        }
        // Block expressions are rare: look for one only in this statement's own expressions.
        let mut in_expr = false;
        self.own_exprs(&mut |e| {
            e.walk(&mut |part| {
                if let ExprKind::Block { stmts, .. } = &part.kind {
                    in_expr |= stmts.iter().any(Stmt::has_loop);
                }
            })
        });
        in_expr
    }

    /// Calls `f` on the expressions of this statement itself, not of statements nested in it.
    fn own_exprs(&self, f: &mut impl FnMut(&Expr)) {
        match &self.kind {
            StmtKind::Expr(e) | StmtKind::AssignLocal { value: e, .. } => f(e),
            StmtKind::AssignMap { key, value, .. } => {
                key.iter().for_each(&mut *f);
                f(value);
            }
            StmtKind::Aggregate { key, arg, .. } => key.iter().chain(arg).for_each(f),
            StmtKind::If { cond, .. } | StmtKind::While { cond, .. } => f(cond),
            StmtKind::ForRange { start, end, .. } => {
                f(start);
                f(end);
            }
            StmtKind::Return(value) => value.iter().for_each(f),
            StmtKind::Block(_) | StmtKind::ForMap { .. } | StmtKind::Break | StmtKind::Continue => {}
        }
    }
}
