//! What the runtime needs besides the bytecode: maps, programs, output actions and the
//! instruction-to-span tables. The ELF object plus this manifest is a complete compiled script.

use serde::{Deserialize, Serialize};

use crate::printf::FormatPiece;
use crate::span::Span;
use crate::types::{IntTy, Ty};

/// Index into `Manifest::maps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MapId(pub u32);

/// Index into `Manifest::actions`; the first 8 bytes of every ring buffer record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionId(pub u32);

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub maps: Vec<MapSpec>,
    pub programs: Vec<ProgramSpec>,
    pub actions: Vec<Action>,
    /// The names the `probe` builtin's values index, e.g. `tracepoint:syscalls:sys_enter_openat`.
    pub probe_names: Vec<String>,
    /// How the script's configuration asks the runtime to behave.
    pub settings: RuntimeSettings,
    /// Where each line of the script starts, to name the line and column of a span.
    pub line_starts: Vec<u32>,
    /// What runtime messages call the script (`stdin`, or its file name); set by the caller.
    pub script_name: String,
    /// The files the script imports, by where each starts in the compiled text; set by the
    /// caller. Runtime messages name the file a span is in, and its line there.
    pub imported: Vec<(u32, String)>,
    /// What the programs take for granted about the kernel they were compiled for.
    pub kernel_facts: crate::kernel_facts::KernelFacts,
    /// The `getopt` options whose values the probes read from the config map, set when the
    /// object loads (`CompileOptions::params_at_load`); empty when they are compiled in.
    pub params: Vec<LoadParam>,
}

/// The configuration keys the runtime acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeSettings {
    /// Print every map at exit (`print_maps_on_exit`).
    pub print_maps_on_exit: bool,
    /// Refuse to attach more probes than this (`max_probes`).
    pub max_probes: u32,
    /// The license the programs are loaded under (`license`).
    pub license: String,
    /// Bytes of verifier log kept for a rejected program (`log_size`).
    pub log_size: u32,
    /// Bytes `cat` prints at most (`max_cat_bytes`).
    pub max_cat_bytes: u32,
    /// Printed after a string cut at its size (`str_trunc_trailer`).
    pub str_trunc_trailer: String,
    /// The size of the strings `str()` reads (`max_strlen`): one that fills it up to its NUL
    /// was cut there.
    pub max_strlen: u32,
    /// Whether user frames and `usym` print C++ names demangled (`cpp_demangle`).
    pub cpp_demangle: bool,
}

impl Default for RuntimeSettings {
    fn default() -> RuntimeSettings {
        RuntimeSettings::from(&crate::config::Config::default())
    }
}

impl From<&crate::config::Config> for RuntimeSettings {
    fn from(config: &crate::config::Config) -> RuntimeSettings {
        RuntimeSettings {
            print_maps_on_exit: config.print_maps_on_exit,
            max_probes: config.max_probes,
            license: config.license.clone(),
            log_size: config.log_size,
            max_cat_bytes: config.max_cat_bytes,
            str_trunc_trailer: config.str_trunc_trailer.clone(),
            max_strlen: config.max_strlen,
            cpp_demangle: config.cpp_demangle,
        }
    }
}

/// A place in a script's files: 1-based line and first and last columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub file: String,
    pub line: u32,
    pub columns: (u32, u32),
}

/// `FILE:LINE:COL-COL`, as bpftrace names a place in a message.
impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}-{}", self.file, self.line, self.columns.0, self.columns.1)
    }
}

impl Manifest {
    /// Where `span` is in the file it comes from (the script or an import it made), for
    /// messages the runtime prints.
    pub fn locate(&self, span: Span) -> SourceLocation {
        let line_of = |offset: u32| self.line_starts.partition_point(|&start| start <= offset).max(1);
        let line = line_of(span.start);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let columns = (span.start - start + 1, span.end.max(span.start + 1) - start);
        let script = if self.script_name.is_empty() { "stdin" } else { self.script_name.as_str() };
        match self.imported.iter().rev().find(|(file_start, _)| *file_start <= span.start) {
            Some((file_start, name)) => SourceLocation { file: name.clone(), line: (line - line_of(*file_start) + 1) as u32, columns },
            None => SourceLocation { file: script.to_string(), line: line as u32, columns },
        }
    }

    pub fn map(&self, id: MapId) -> &MapSpec {
        &self.maps[id.0 as usize]
    }

    /// The ring buffer every async action goes through, if the script has any.
    pub fn ringbuf(&self) -> Option<MapId> {
        self.find_role(|role| matches!(role, MapRole::RingBuf))
    }

    /// The per-CPU count of ring buffer records lost, if the script sends any.
    pub fn lost(&self) -> Option<MapId> {
        self.find_role(|role| matches!(role, MapRole::Lost))
    }

    /// The one-entry array holding runtime facts the programs read (start time).
    pub fn config(&self) -> Option<MapId> {
        self.find_role(|role| matches!(role, MapRole::Config))
    }

    fn find_role(&self, pred: impl Fn(&MapRole) -> bool) -> Option<MapId> {
        self.maps.iter().position(|m| pred(&m.role)).map(|i| MapId(i as u32))
    }

    /// The user-visible maps (`@name`), in manifest order.
    pub fn user_maps(&self) -> impl Iterator<Item = (MapId, &MapSpec, &UserMap)> {
        self.maps.iter().enumerate().filter_map(|(i, m)| match &m.role {
            MapRole::User(user) => Some((MapId(i as u32), m, user)),
            _ => None,
        })
    }
}

/// The kernel map types ferrotrace creates (values are `bpf_map_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u32)]
pub enum BpfMapType {
    Hash = 1,
    Array = 2,
    PercpuHash = 5,
    PercpuArray = 6,
    StackTrace = 7,
    LruHash = 9,
    LruPercpuHash = 10,
    RingBuf = 27,
}

impl BpfMapType {
    pub fn is_percpu(self) -> bool {
        matches!(self, BpfMapType::PercpuHash | BpfMapType::PercpuArray | BpfMapType::LruPercpuHash)
    }

    /// Whether the map is keyed by hashing, and refuses new keys when full (LRU maps evict).
    pub fn refuses_when_full(self) -> bool {
        matches!(self, BpfMapType::Hash | BpfMapType::PercpuHash)
    }
}

/// The `bpf_map_def` written into the ELF `maps` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfMapDef {
    pub map_type: BpfMapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapSpec {
    /// The ELF symbol (short, unique): `m0`, `ringbuf`, ...
    pub symbol: String,
    pub def: BpfMapDef,
    pub role: MapRole,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapRole {
    /// A script map such as `@name[key]`.
    User(UserMap),
    /// The ring buffer of async actions (printf, print, exit, ...).
    RingBuf,
    /// Per-CPU scratch memory for values too big for the stack.
    Scratch,
    /// A one-entry `Array` of `ConfigValue` the runtime fills before `begin` runs.
    Config,
    /// A one-entry `PercpuArray` of `u64`: records the ring buffer had no room for.
    Lost,
    /// A dispatched program's syscall table (`SyscallDispatch`), filled in before attaching.
    SyscallDispatch,
    /// A one-entry `Array` never written: the zeros a new `tseries` key starts from.
    Zeros,
    /// A `StackTrace` map the probes' `kstack`/`ustack` of one limit store their stacks in
    /// (`bpf_get_stackid`), read when the stacks are printed. With `build_id`, its frames are
    /// `bpf_stack_build_id` entries (`BPF_F_STACK_BUILD_ID`), not addresses.
    Stacks { limit: u8, build_id: bool },
    /// An `LruHash` of the pids whose user addresses the probes took (`ustack`, `usym`): a pid
    /// missing from it is added and announced with `Action::Process`.
    Processes,
}

/// `BPF_F_STACK_BUILD_ID`: a stack map whose frames are build ids and offsets.
pub const STACK_BUILD_ID_FLAG: u32 = 1 << 5;
/// The size of one `struct bpf_stack_build_id`: `s32` status, 20-byte build id, `u64` offset
/// or address.
pub const BUILD_ID_FRAME_SIZE: u32 = 32;

/// A `getopt` option read from the config map: its name, kind, and value at `offset` in the
/// config value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadParam {
    pub name: String,
    pub kind: LoadParamKind,
    pub offset: u32,
    /// The bytes of its place (`kind.size()` of them): an integer as a canonical 64-bit value,
    /// a boolean as 0 or 1, a string NUL-padded.
    pub value: Vec<u8>,
}

/// What a `LoadParam` holds, from its option's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoadParamKind {
    Int { signed: bool },
    Bool,
    /// A string of up to `capacity` bytes with its NUL.
    Str { capacity: u32 },
}

impl LoadParamKind {
    /// The bytes its place in the config value takes, a multiple of 8.
    pub fn size(self) -> u32 {
        match self {
            LoadParamKind::Str { capacity } => capacity.next_multiple_of(8),
            LoadParamKind::Int { .. } | LoadParamKind::Bool => 8,
        }
    }
}

/// The layout of the config map's single value. Offsets are fixed: programs read them.
pub mod config_layout {
    /// `u64`: `bpf_ktime_get_ns()` when ferrotrace started; `elapsed` subtracts it.
    pub const START_NS: u32 = 0;
    /// `u64`: the number of online CPUs (`ncpus`).
    pub const NCPUS: u32 = 8;
    /// `i64`: CLOCK_TAI minus CLOCK_BOOTTIME when ferrotrace started; `nsecs(sw_tai)` adds it
    /// to the boot clock.
    pub const TAI_OFFSET_NS: u32 = 16;
    /// `u64`: 1, the value a count stores for a key's first event (read in place).
    pub const ONE: u32 = 24;
    /// The size without parameters: `manifest.params` follow, each at its offset.
    pub const SIZE: u32 = 32;

    /// The size of the value holding `params` too.
    pub fn size_with(params: &[super::LoadParam]) -> u32 {
        params.last().map_or(SIZE, |param| param.offset + param.kind.size())
    }
}

/// A script map: its name, key and value types, and how they sit in the kernel map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMap {
    /// With the `@`: `@`, `@bytes`.
    pub name: String,
    /// The key fields (empty for a keyless map); several fields print as a tuple.
    pub key: Vec<Ty>,
    pub value: MapValue,
    pub storage: KeyStorage,
}

/// How a script key becomes the kernel map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStorage {
    /// A keyless map: one entry at the all-zero key (`u32` 0 for arrays).
    Scalar,
    /// The key fields packed as a tuple (`types::tuple_layout`).
    Packed,
    /// hist/lhist with a key: the packed key, then the bucket index as a `u64` at the next
    /// 8-aligned offset.
    PackedWithBucket,
    /// Keyless hist/lhist: an array whose `u32` index is the bucket.
    BucketIndex,
}

/// What a map's value holds and how its per-CPU copies merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapValue {
    /// `@m = expr`: the value as typed.
    Plain(Ty),
    /// `count()`: `u64`; CPUs add.
    Count,
    /// `sum(n)`: one 64-bit integer of this signedness; CPUs add.
    Sum(IntTy),
    /// `min(n)` / `max(n)`: `{ value: i64|u64, set: u64 }`; merge over the CPUs with `set != 0`.
    Min(IntTy),
    Max(IntTy),
    /// `avg(n)` / `stats(n)`: `{ count: u64, total: i64|u64 }`; CPUs add both.
    Avg(IntTy),
    Stats(IntTy),
    /// `hist(n, k)`: each entry is one bucket's `u64` count (see `buckets`).
    Hist { k: u8 },
    /// `lhist(n, min, max, step)`: each entry is one bucket's `u64` count (see `buckets`).
    Lhist { min: i64, max: i64, step: i64 },
    /// `tseries(n, interval, intervals[, agg])`: `intervals` slots of `TseriesSlot`, slot
    /// `epoch % intervals` holding the interval `epoch` (TAI nanoseconds / `interval_ns`).
    Tseries { interval_ns: u64, intervals: u32, agg: TseriesAgg },
}

/// How a `tseries` combines the values written in one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TseriesAgg {
    /// The last value written (bpftrace's default).
    Last,
    Sum,
    Min,
    Max,
    Avg,
}

impl TseriesAgg {
    pub fn name(self) -> &'static str {
        match self {
            TseriesAgg::Last => "last",
            TseriesAgg::Sum => "sum",
            TseriesAgg::Min => "min",
            TseriesAgg::Max => "max",
            TseriesAgg::Avg => "avg",
        }
    }
}

/// One interval of a `tseries` value: `u64` epoch (0: never written), `i64` value, and `u64`
/// extra: the count of values for `avg`, the TAI time of the last write for `last`.
pub mod tseries_slot {
    pub const EPOCH: u32 = 0;
    pub const VALUE: u32 = 8;
    pub const EXTRA: u32 = 16;
    pub const SIZE: u32 = 24;
}

/// The most intervals a `tseries` keeps: one CPU's value of a per-CPU map is at most 32 KiB.
pub const TSERIES_MAX_INTERVALS: u32 = 32 * 1024 / tseries_slot::SIZE - 1;

impl MapValue {
    /// Bytes of one CPU's value in the kernel map.
    pub fn size(&self) -> u32 {
        match self {
            MapValue::Plain(ty) => ty.size(),
            MapValue::Count | MapValue::Sum(_) | MapValue::Hist { .. } | MapValue::Lhist { .. } => 8,
            MapValue::Min(_) | MapValue::Max(_) | MapValue::Avg(_) | MapValue::Stats(_) => 16,
            MapValue::Tseries { intervals, .. } => intervals * tseries_slot::SIZE,
        }
    }

    /// The function that made it, as a user would write it (`count`, `hist`, ...).
    pub fn function_name(&self) -> &'static str {
        match self {
            MapValue::Plain(_) => "assignment",
            MapValue::Count => "count",
            MapValue::Sum(_) => "sum",
            MapValue::Min(_) => "min",
            MapValue::Max(_) => "max",
            MapValue::Avg(_) => "avg",
            MapValue::Stats(_) => "stats",
            MapValue::Hist { .. } => "hist",
            MapValue::Lhist { .. } => "lhist",
            MapValue::Tseries { .. } => "tseries",
        }
    }

    /// The aggregation function's name, or `None` for a plain value.
    pub fn aggregation_name(&self) -> Option<&'static str> {
        match self {
            MapValue::Plain(_) => None,
            other => Some(other.function_name()),
        }
    }

    pub fn is_histogram(&self) -> bool {
        matches!(self, MapValue::Hist { .. } | MapValue::Lhist { .. })
    }
}

/// One loaded BPF program: which ELF function it is and where it attaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSpec {
    /// The ELF symbol (at most 15 bytes): aya names the program after it.
    pub symbol: String,
    /// The ELF section, which tells aya the program type: `tracepoint/syscalls/sys_enter_openat`,
    /// `raw_tp/begin`, `perf_event`.
    pub section: String,
    /// The kind of BPF program the kernel loads it as.
    pub program_type: ProgramType,
    /// Where the program attaches: one target, or many tracepoints sharing one program.
    pub targets: Vec<Target>,
    /// Set when the targets are `syscalls:` tracepoints served through `raw_syscalls`: the
    /// program is attached there, not to each target.
    pub dispatch: Option<SyscallDispatch>,
    /// The probe as a user names it, e.g. `tracepoint:syscalls:sys_enter_openat`; for a shared
    /// program, the attach points as written, e.g. `tracepoint:syscalls:sys_enter_*`.
    pub probe_name: String,
    /// How many attach points, as written, the targets come from: what `Attached N probes`
    /// counts when one link attaches all the targets (a kprobe_multi link), as bpftrace does.
    pub attach_points: u32,
    /// The span of the attach point in the script.
    pub span: Span,
    /// For every BPF instruction (by index; an `ld_imm64` takes two), the script span it came from.
    pub insn_spans: Vec<Span>,
    /// The functions after the program's own code, in order: loop bodies it passes to
    /// `bpf_loop` or `bpf_for_each_map_elem`. The loader describes them to the kernel in BTF.
    pub callbacks: Vec<Callback>,
}

/// A function of a program that the program passes to a helper as a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// The instruction where it starts.
    pub insn: u32,
    /// How many arguments the helper passes it (`r1`..).
    pub params: u8,
}

/// The kind of BPF program a probe compiles to, which decides its context and helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProgramType {
    /// Run from userspace with `BPF_PROG_TEST_RUN` (`begin`, `end`, `test`, `bench`): loaded as
    /// a raw tracepoint program, the one type that runs with no attachment.
    RunOnce,
    Tracepoint,
    /// Attached to a perf event (timers, software and hardware events).
    PerfEvent,
    /// kprobes and kretprobes, and uprobes.
    Kprobe,
    RawTracepoint,
    /// A tracing program loaded for a kernel function's entry.
    Fentry,
    /// A tracing program loaded for a kernel function's return.
    Fexit,
    /// A tracing program loaded for an iterator (`BPF_TRACE_ITER`): run once per kernel object
    /// while userspace reads the iterator.
    Iter,
}

/// One place a program attaches, and the probe it stands for there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub attach: Attach,
    /// Index into `Manifest::probe_names`. A program shared by several tracepoints receives it
    /// as the attachment's BPF cookie, which is how its `probe` builtin knows which one fired.
    pub probe_id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attach {
    /// Run once with `BPF_PROG_TEST_RUN` before the others attach; `order` is its place among
    /// the `begin` probes.
    Begin,
    /// Run once with `BPF_PROG_TEST_RUN` after the others detach.
    End,
    /// `event_id` is the tracepoint's id in tracefs, which its records carry as `common_type`.
    Tracepoint { category: String, name: String, event_id: u32 },
    /// A software cpu-clock perf event on one CPU firing every `period_ns`.
    Interval { period_ns: u64 },
    /// A software cpu-clock perf event on every CPU at `hz` samples a second.
    Profile { hz: u64 },
    /// A software event (or, when `hardware`, a CPU counter) on every CPU, sampled every
    /// `period` events; `config` selects it (`perf_event_attr.config`).
    PerfCounter { hardware: bool, config: u64, period: u64 },
    /// A kprobe on a kernel function (of `module`, or of the kernel image), `offset` bytes into
    /// it; a kretprobe on its return when `retprobe`.
    Kprobe { function: String, module: Option<String>, offset: u64, retprobe: bool },
    /// A raw tracepoint (`BPF_RAW_TRACEPOINT_OPEN` by name): the tracepoint's arguments as
    /// the kernel passes them to its probes, before any record is built.
    RawTracepoint { event: String },
    /// fentry (or, when `exit`, fexit) on a kernel function: a tracing program loaded for the
    /// function's BTF id, reading its arguments (and return value) as words. With `program`,
    /// the function is one of the loaded BPF program of that id (`fentry:bpf:ID:function`),
    /// its BTF id one of the program's own BTF.
    Fentry { function: String, module: Option<String>, program: Option<u32>, exit: bool },
    /// `self:signal:SIGUSR1`: run with `BPF_PROG_TEST_RUN` each time ferrotrace receives
    /// `signal`.
    SelfSignal { signal: u8 },
    /// A uprobe `offset` bytes into the file `binary` (a uretprobe on the function there
    /// when `retprobe`), firing only in process `pid` when given. `function` is the symbol (or
    /// address) as the probe names it.
    Uprobe { binary: String, function: String, offset: u64, retprobe: bool, pid: Option<u32> },
    /// A USDT probe: a uprobe on the probe's `nop` at `offset` in `binary`, incrementing the
    /// `u16` semaphore at file offset `semaphore` while attached; `arguments` are the note's
    /// argument specs (`-4@%eax 8@-8(%rbp)`, each read by `usdt::parse_argument`), `symbols` the
    /// distances from the probe of the symbols they name (`sym(%rip)`).
    Usdt {
        binary: String,
        provider: String,
        name: String,
        offset: u64,
        semaphore: Option<u64>,
        arguments: String,
        symbols: Vec<(String, i64)>,
        pid: Option<u32>,
    },
    /// A BPF iterator over the kernel's objects of kind `iterator` (`task`, `task_file`,
    /// `task_vma`, ...): a tracing program loaded for the kernel function `bpf_iter_<iterator>`
    /// and linked; the runtime reads the iterator to its end, or pins the link at `pin`.
    Iter { iterator: String, pin: Option<String> },
    /// `watchpoint:` (or `asyncwatchpoint:`): a hardware breakpoint on `length` bytes at
    /// `address`, firing on the accesses `mode` names, in process `pid` (and the threads it
    /// starts), or in kernel memory on every CPU without one. `address` is `None` for
    /// `watchpoint:function+argN`: a uprobe on the function reports the argument
    /// (`Action::Watch`) and the runtime attaches the watchpoint then.
    Watchpoint { address: Option<u64>, length: u8, mode: WatchMode, pid: Option<u32>, asynchronous: bool },
    /// `test:NAME`: run once with `BPF_PROG_TEST_RUN` by `--test`; it passes when it returns 0.
    Test { name: String },
    /// `bench:NAME`: run many times with `BPF_PROG_TEST_RUN` by `--bench`, which reports the
    /// average time of one run.
    Bench { name: String },
}

/// The accesses a watchpoint fires on: any of read, write and execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WatchMode {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl WatchMode {
    /// `perf_event_attr.bp_type`: `HW_BREAKPOINT_R` (1), `_W` (2) and `_X` (4) or'ed.
    pub fn bp_type(self) -> u32 {
        u32::from(self.read) | u32::from(self.write) << 1 | u32::from(self.execute) << 2
    }
}

/// `r`, `w`, `x` in that order: `rw` however the script wrote it, as bpftrace names it.
impl std::fmt::Display for WatchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (set, letter) in [(self.read, "r"), (self.write, "w"), (self.execute, "x")] {
            if set {
                f.write_str(letter)?;
            }
        }
        Ok(())
    }
}

/// How a program serving many `syscalls:` tracepoints is attached: to `raw_syscalls:sys_enter`
/// and/or `sys_exit`. It adds the attachment's cookie to the record's syscall number and looks
/// the sum up in `map`, an `Array` of `u32` holding the fired target's probe id plus one (zero:
/// no target, so the program returns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallDispatch {
    pub map: MapId,
    /// For each of the program's targets, in order: its key in `map`.
    pub keys: Vec<u32>,
    pub attachments: Vec<RawSyscallAttachment>,
}

/// One `raw_syscalls` tracepoint a dispatched program is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawSyscallAttachment {
    /// `sys_enter` or `sys_exit`.
    pub name: String,
    pub event_id: u32,
    /// The attachment's cookie: the key of syscall number 0 in its direction's rows.
    pub key_base: u32,
}

/// What a ring buffer record with this action id asks userspace to do.
///
/// A record is the action id as a `u64`, then the action's arguments packed as a tuple
/// (`types::tuple_layout`) starting at offset 8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// `printf(fmt, args...)` (and `errorf`, `warnf`): the parsed format, the argument types,
    /// and where the text goes.
    Printf { format: Vec<FormatPiece>, args: Vec<Ty>, stream: Stream },
    /// `print(value)`: one argument of this type, printed on its own line.
    PrintValue { ty: Ty },
    /// `print(@map, top, div)`: print one map now (`top`/`div` 0 mean all / undivided).
    PrintMap { map: MapId, top: u64, div: u64 },
    /// `clear(@map)`: delete every entry.
    Clear { map: MapId },
    /// `zero(@map)`: set every value to zero, keeping the keys.
    Zero { map: MapId },
    /// `exit(code)`: one `i64` argument, the exit status. Stops tracing.
    Exit,
    /// `time(fmt)`: no arguments; the runtime prints its wall-clock time by `strftime(3)`.
    Time { format: String },
    /// `join(argv, sep)`: a `u64` count, then `strings` strings of `size` bytes; the runtime
    /// prints the first `count` joined by `separator`, and a newline.
    Join { separator: String, strings: u32, size: u32 },
    /// `-k`: helper `helper` failed at `span`; one `i64` argument, what it returned.
    HelperError { helper: u32, span: Span },
    /// A probe took user addresses of a process for the first time: one `u64` argument, its
    /// pid. The runtime reads the process's mappings now, so that its addresses can still be
    /// named after it exits.
    Process,
    /// The uprobe of a `watchpoint:function+argN` probe saw the function called: one `u64`
    /// argument, the address to watch. The runtime attaches the watchpoint program of probe
    /// `probe_id` there (once per address), then, when `resume`, continues the traced process,
    /// which the uprobe stopped (`SIGSTOP`) so that no access is missed.
    Watch { probe_id: u32, resume: bool },
    /// `unwatch(addr)`: one `u64` argument; the runtime detaches every watchpoint on it.
    Unwatch,
}

impl Action {
    /// The types of the record's arguments after the 8-byte action id.
    pub fn arg_types(&self) -> Vec<Ty> {
        match self {
            Action::Printf { args, .. } => args.clone(),
            Action::PrintValue { ty } => vec![ty.clone()],
            Action::Exit | Action::HelperError { .. } => vec![Ty::I64],
            Action::Process | Action::Watch { .. } | Action::Unwatch => vec![Ty::U64],
            Action::PrintMap { .. } | Action::Clear { .. } | Action::Zero { .. } | Action::Time { .. } => Vec::new(),
            Action::Join { strings, size, .. } => {
                std::iter::once(Ty::U64).chain(std::iter::repeat_n(Ty::Str(*size), *strings as usize)).collect()
            }
        }
    }
}

/// Where formatted text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stream {
    /// The script's output (`printf`).
    Stdout,
    /// Standard error as `SCRIPT:LINE:COL-COL: ERROR: text` (`errorf`): a runtime error, which
    /// fails a `test:` probe.
    Error(Span),
    /// Standard error as `SCRIPT:LINE:COL-COL: WARNING: text` (`warnf`).
    Warning(Span),
    /// A shell command whose output is printed (`system`, with `--unsafe`).
    Command,
    /// A file whose contents are printed (`cat`), at most `max_cat_bytes`.
    File,
}

/// Size of the action id that starts every ring buffer record.
pub const RECORD_HEADER_SIZE: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, CatalogError, FieldKind, TracepointField, TracepointFormat};
    use crate::driver::{compile_with, Keep};
    use crate::options::CompileOptions;

    /// A kernel with one tracepoint, `syscalls:sys_enter_openat`.
    struct OpenatCatalog;

    impl Catalog for OpenatCatalog {
        fn tracepoints(&self) -> Result<Vec<(String, String)>, CatalogError> {
            Ok(vec![("syscalls".to_string(), "sys_enter_openat".to_string())])
        }

        fn tracepoint_format(&self, category: &str, name: &str) -> Result<TracepointFormat, CatalogError> {
            if (category, name) != ("syscalls", "sys_enter_openat") {
                return Err(CatalogError::NotFound(format!("{category}:{name}")));
            }
            let field = |name: &str, c_type: &str, offset: u32, size: u32, signed: bool, kind: FieldKind| TracepointField {
                name: name.into(),
                c_type: c_type.into(),
                offset,
                size,
                signed,
                kind,
            };
            Ok(TracepointFormat {
                id: 614,
                fields: vec![
                    field("__syscall_nr", "int", 8, 4, true, FieldKind::Int),
                    field("dfd", "int", 16, 8, false, FieldKind::Int),
                    field("filename", "const char *", 24, 8, false, FieldKind::Pointer),
                    field("flags", "int", 32, 8, false, FieldKind::Int),
                    field("mode", "umode_t", 40, 8, false, FieldKind::Int),
                ],
            })
        }
    }

    /// A compiled script's manifest written as JSON reads back as the same manifest, so that
    /// a compiled program can be stored and loaded later.
    #[test]
    fn manifest_round_trips_through_json() {
        let source = r#"
            begin { printf("tracing %s\n", "openat"); }
            tracepoint:syscalls:sys_enter_openat {
                @opens[comm, pid] = count();
                @flags = hist(args.flags);
                @last[tid] = str(args.filename);
                printf("%d %s %x\n", pid, str(args.filename), args.flags);
                if (args.flags == 12345) { errorf("odd flags %d", args.flags); }
            }
            end { print(@opens); clear(@last); }
        "#;
        let compiled = compile_with(source, &OpenatCatalog, &CompileOptions::default(), Keep::default())
            .unwrap_or_else(|diags| panic!("{diags:?}"));
        let mut manifest = compiled.manifest;
        manifest.script_name = "openat.bt".to_string();
        manifest.imported = vec![(7, "lib.bt".to_string())];
        assert!(manifest.user_maps().any(|(_, _, user)| user.value.is_histogram()));
        assert!(manifest.actions.iter().any(|action| matches!(action, Action::Printf { .. })));
        assert!(manifest.programs.iter().any(|program| program.targets.iter().any(|t| matches!(t.attach, Attach::Tracepoint { .. }))));

        let json = serde_json::to_string(&manifest).expect("the manifest serializes");
        let read: Manifest = serde_json::from_str(&json).expect("the manifest deserializes");
        assert_eq!(read, manifest);
        assert_eq!(serde_json::to_string(&read).expect("the manifest serializes again"), json);
    }
}
